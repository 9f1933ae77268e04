// SPDX-License-Identifier: GPL-2.0
/*
 * The live table: every socket now in a close state, keyed by cookie, with
 * the time it entered that state.  It answers "how long has this socket
 * been in CLOSE_WAIT?", which no kernel interface does.
 *
 * Entries come from a pool allocated at load time, so the traced path never
 * allocates memory; when the pool is empty the socket is not tracked and an
 * overflow is counted.  Locks are raw spinlocks taken with interrupts off:
 * the hooks run in process, softirq and kprobe context, also on PREEMPT_RT.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include "tcpclose.h"

struct tc_entry {
	struct hlist_node node;
	struct tcpclose_sock s;
	/* Substate of a new timewait socket, until the full socket's CLOSE. */
	u8 handoff;
};

static struct tc_entry *tc_pool;
static HLIST_HEAD(tc_free);
static DEFINE_RAW_SPINLOCK(tc_pool_lock);
static struct hlist_head *tc_buckets;
static raw_spinlock_t *tc_locks;
static unsigned int tc_bits;
static unsigned int tc_capacity;
static atomic64_t tc_count = ATOMIC64_INIT(0);
static atomic64_t tc_overflow = ATOMIC64_INIT(0);

#define TC_CLOSE_STATES (TCPCLOSE_DEFAULT_STATES)

bool tc_state_tracked(int state)
{
	return state < 32 && (TC_CLOSE_STATES & BIT(state));
}

int tc_table_init(unsigned int max)
{
	unsigned int i, nbuckets;

	tc_capacity = max;
	tc_bits = max(ilog2(roundup_pow_of_two(max)) - 1, 4);
	nbuckets = 1U << tc_bits;
	tc_pool = kvcalloc(max, sizeof(*tc_pool), GFP_KERNEL);
	tc_buckets = kvcalloc(nbuckets, sizeof(*tc_buckets), GFP_KERNEL);
	tc_locks = kvcalloc(nbuckets, sizeof(*tc_locks), GFP_KERNEL);
	if (!tc_pool || !tc_buckets || !tc_locks) {
		tc_table_exit();
		return -ENOMEM;
	}
	for (i = 0; i < nbuckets; i++) {
		INIT_HLIST_HEAD(&tc_buckets[i]);
		raw_spin_lock_init(&tc_locks[i]);
	}
	for (i = 0; i < max; i++)
		hlist_add_head(&tc_pool[i].node, &tc_free);
	return 0;
}

void tc_table_exit(void)
{
	kvfree(tc_locks);
	kvfree(tc_buckets);
	kvfree(tc_pool);
	tc_locks = NULL;
	tc_buckets = NULL;
	tc_pool = NULL;
	INIT_HLIST_HEAD(&tc_free);
}

static struct tc_entry *tc_find(unsigned int b, u64 cookie)
{
	struct tc_entry *e;

	hlist_for_each_entry(e, &tc_buckets[b], node)
		if (e->s.cookie == cookie)
			return e;
	return NULL;
}

static struct tc_entry *tc_alloc(void)
{
	struct tc_entry *e = NULL;

	raw_spin_lock(&tc_pool_lock);
	if (!hlist_empty(&tc_free)) {
		e = hlist_entry(tc_free.first, struct tc_entry, node);
		hlist_del(&e->node);
	}
	raw_spin_unlock(&tc_pool_lock);
	return e;
}

static void tc_release(struct tc_entry *e)
{
	hlist_del(&e->node);
	raw_spin_lock(&tc_pool_lock);
	hlist_add_head(&e->node, &tc_free);
	raw_spin_unlock(&tc_pool_lock);
	atomic64_dec(&tc_count);
}

static void tc_info(const struct tc_entry *e, struct tc_table_info *info)
{
	info->state = e ? e->s.state : 0;
	info->since_ns = e ? e->s.since_ns : 0;
	info->timewait = e ? e->s.timewait : false;
}

static void tc_set(struct tc_entry *e, const struct tcpclose_event *ev,
		   u8 state, bool timewait)
{
	if (e->s.state != state)
		e->s.since_ns = ev->ts_ns;
	e->s.state = state;
	e->s.timewait = timewait;
	e->s.cookie = ev->cookie;
	/* 0 once orphaned: the old inode number may name another socket. */
	e->s.ino = ev->ino;
	e->s.netns = ev->netns;
	e->s.family = ev->family;
	e->s.sport = ev->sport;
	e->s.dport = ev->dport;
	e->s.rx_queue = ev->rx_queue;
	memcpy(e->s.saddr, ev->saddr, sizeof(e->s.saddr));
	memcpy(e->s.daddr, ev->daddr, sizeof(e->s.daddr));
}

/* A new entry in bucket @b, or NULL (counted) when the pool is empty. */
static struct tc_entry *tc_insert(unsigned int b,
				  const struct tcpclose_event *ev, u8 state,
				  bool timewait)
{
	struct tc_entry *e = tc_alloc();

	if (!e) {
		atomic64_inc(&tc_overflow);
		return NULL;
	}
	memset(&e->s, 0, sizeof(e->s));
	e->handoff = 0;
	tc_set(e, ev, state, timewait);
	hlist_add_head(&e->node, &tc_buckets[b]);
	atomic64_inc(&tc_count);
	return e;
}

/*
 * Move the socket of @ev to @state, reporting in @old what it was before.
 * A state outside the close states removes the socket.
 */
void tc_table_update(const struct tcpclose_event *ev, u8 state,
		     bool timewait, struct tc_table_info *old)
{
	unsigned int b = hash_64(ev->cookie, tc_bits);
	struct tc_entry *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&tc_locks[b], flags);
	e = tc_find(b, ev->cookie);
	tc_info(e, old);
	if (!tc_state_tracked(state)) {
		if (e)
			tc_release(e);
		goto out;
	}
	if (e)
		tc_set(e, ev, state, timewait);
	else
		tc_insert(b, ev, state, timewait);
out:
	raw_spin_unlock_irqrestore(&tc_locks[b], flags);
}

/*
 * The connection of @ev (a timewait socket) was just handed over; the full
 * socket's CLOSE follows and must not read as the end of the connection.
 * Keyed by cookie, so it holds even if the task migrates in between.
 */
void tc_table_note_handoff(const struct tcpclose_event *ev, u8 substate)
{
	unsigned int b = hash_64(ev->cookie, tc_bits);
	struct tc_entry *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&tc_locks[b], flags);
	e = tc_find(b, ev->cookie);
	/* Not seen before: its state so far is unknown (0). */
	if (!e)
		e = tc_insert(b, ev, 0, true);
	if (e)
		e->handoff = substate;
	raw_spin_unlock_irqrestore(&tc_locks[b], flags);
}

bool tc_table_take_handoff(u64 cookie, u8 *substate)
{
	unsigned int b = hash_64(cookie, tc_bits);
	struct tc_entry *e;
	unsigned long flags;
	bool found = false;

	raw_spin_lock_irqsave(&tc_locks[b], flags);
	e = tc_find(b, cookie);
	if (e && e->handoff) {
		*substate = e->handoff;
		e->handoff = 0;
		found = true;
	}
	raw_spin_unlock_irqrestore(&tc_locks[b], flags);
	return found;
}

void tc_table_remove(u64 cookie, struct tc_table_info *old)
{
	unsigned int b = hash_64(cookie, tc_bits);
	struct tc_entry *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&tc_locks[b], flags);
	e = tc_find(b, cookie);
	tc_info(e, old);
	if (e)
		tc_release(e);
	raw_spin_unlock_irqrestore(&tc_locks[b], flags);
}

/* Copy up to @room entries of namespace @netns (0: all); count them all. */
int tc_table_dump(struct tcpclose_sock *out, u32 room, u32 netns, u64 *total)
{
	unsigned int b, n = 0;
	struct tc_entry *e;
	unsigned long flags;

	*total = 0;
	for (b = 0; b < (1U << tc_bits); b++) {
		raw_spin_lock_irqsave(&tc_locks[b], flags);
		hlist_for_each_entry(e, &tc_buckets[b], node) {
			if (netns && e->s.netns != netns)
				continue;
			(*total)++;
			if (n < room)
				out[n++] = e->s;
		}
		raw_spin_unlock_irqrestore(&tc_locks[b], flags);
		cond_resched();
	}
	return n;
}

void tc_table_stats(struct tcpclose_stats *st)
{
	st->table_entries = atomic64_read(&tc_count);
	st->table_capacity = tc_capacity;
	st->table_overflow = atomic64_read(&tc_overflow);
}
