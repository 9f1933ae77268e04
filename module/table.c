// SPDX-License-Identifier: GPL-2.0
/*
 * The live table: every socket now in a close state, keyed by cookie, with
 * the time it entered that state.  It answers "how long has this socket
 * been in CLOSE_WAIT?", which no kernel interface does.
 *
 * Two classes of entries, each with its own pool allocated at load time
 * (the traced path never allocates): full sockets (table_size) and
 * timewait sockets (tw_table_size).  A host with a hundred thousand
 * sockets in TIME_WAIT fills only the second pool, so full sockets - the
 * CLOSE_WAIT leaks this tool exists for - are still tracked.  When a pool
 * is empty the socket is not tracked, and its class's overflow counter
 * counts it once, when it enters the class.  A full socket and a timewait
 * socket may share a cookie (a connect() after connect(AF_UNSPEC) keeps the
 * struct sock); the class keeps their entries apart.
 *
 * Locks are raw spinlocks taken with interrupts off: the hooks run in
 * process, softirq and kprobe context, also on PREEMPT_RT.  They are leaf
 * locks: only the handoff writes its record with one held (see
 * tc_table_lock()), and the record path takes no lock.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/log2.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include <linux/workqueue.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <net/tcp.h>
#include "tcpclose.h"

enum { TC_FULL, TC_TW, TC_CLASSES };

struct tc_entry {
	struct hlist_node node;
	struct tcpclose_sock s;
	u8 class;
};

struct tc_pool {
	struct tc_entry *entries;
	struct hlist_head free;
	raw_spinlock_t lock;
	unsigned int capacity;
	atomic64_t overflow;
};

/*
 * Entries in use, per class: per-CPU counters, a CPU's going negative when
 * it released more than it took, summed for the stats.  A locked add on a
 * shared word per insert and release was a tenth of a table update.
 */
static DEFINE_PER_CPU(long[TC_CLASSES], tc_counts);

static struct tc_pool tc_pools[TC_CLASSES];
/* A bucket's lock beside its list: one cache line, not two pages apart. */
struct tc_chain {
	raw_spinlock_t lock;
	struct hlist_head head;
};

static struct tc_chain *tc_chains;
static unsigned int tc_bits;
static atomic64_t tc_expired = ATOMIC64_INIT(0);

/*
 * A timewait socket lasts TCP_TIMEWAIT_LEN in TIME_WAIT, at most
 * TCP_FIN_TIMEOUT_MAX in FIN_WAIT2; an entry older than that in its state
 * (tw_max_age, 130 s by default) lost its end (a missed kprobe) and is
 * aged out by a work that runs every 10 s, or every tw_max_age if less.
 */
#define TC_TW_MAX_NS	((u64)tc_tw_max_age * NSEC_PER_SEC)
#define TC_AGE_PERIOD	(min(10U, tc_tw_max_age) * HZ)
static void tc_age(struct work_struct *work);
static DECLARE_DELAYED_WORK(tc_age_work, tc_age);

size_t tc_table_entry_size(void)
{
	return sizeof(struct tc_entry);
}

static int tc_pool_init(struct tc_pool *p, unsigned int capacity)
{
	unsigned int i;

	raw_spin_lock_init(&p->lock);
	INIT_HLIST_HEAD(&p->free);
	p->capacity = capacity;
	atomic64_set(&p->overflow, 0);
	if (!capacity)
		return 0;
	p->entries = kvcalloc(capacity, sizeof(*p->entries),
			      GFP_KERNEL | __GFP_NOWARN);
	if (!p->entries)
		return -ENOMEM;
	for (i = 0; i < capacity; i++)
		hlist_add_head(&p->entries[i].node, &p->free);
	return 0;
}

int tc_table_init(void)
{
	unsigned int i, nbuckets, total = tc_table_max + tc_tw_table_max;

	tc_bits = max(ilog2(roundup_pow_of_two(total)) - 1, 4);
	nbuckets = 1U << tc_bits;
	tc_chains = kvcalloc(nbuckets, sizeof(*tc_chains),
			     GFP_KERNEL | __GFP_NOWARN);
	if (!tc_chains ||
	    tc_pool_init(&tc_pools[TC_FULL], tc_table_max) ||
	    tc_pool_init(&tc_pools[TC_TW], tc_tw_table_max)) {
		tc_table_exit();
		return -ENOMEM;
	}
	for (i = 0; i < nbuckets; i++) {
		INIT_HLIST_HEAD(&tc_chains[i].head);
		raw_spin_lock_init(&tc_chains[i].lock);
	}
	schedule_delayed_work(&tc_age_work, TC_AGE_PERIOD);
	return 0;
}

void tc_table_exit(void)
{
	int i;

	cancel_delayed_work_sync(&tc_age_work);
	for (i = 0; i < TC_CLASSES; i++) {
		kvfree(tc_pools[i].entries);
		tc_pools[i].entries = NULL;
	}
	kvfree(tc_chains);
	tc_chains = NULL;
}

/*
 * The cookie's low bits, not a hash of it: cookies come from the kernel's
 * counter (sock_gen_cookie(), in per-CPU runs), so the sockets alive at
 * one time have cookies close together.  Their buckets then lie close
 * together too, a few cache lines and pages instead of one each, which is
 * most of what a table update costs in a real connection (cold memory).
 * The low bits of a counter spread as evenly as any hash, and no one
 * chooses a cookie.
 */
static unsigned int tc_bucket(u64 cookie)
{
	return cookie & ((1U << tc_bits) - 1);
}

static struct tc_entry *tc_find(unsigned int b, u64 cookie, int class)
{
	struct tc_entry *e;

	hlist_for_each_entry(e, &tc_chains[b].head, node)
		if (e->s.cookie == cookie && e->class == class)
			return e;
	return NULL;
}

static struct tc_entry *tc_alloc(int class)
{
	struct tc_pool *p = &tc_pools[class];
	struct tc_entry *e = NULL;

	raw_spin_lock(&p->lock);
	if (!hlist_empty(&p->free)) {
		e = hlist_entry(p->free.first, struct tc_entry, node);
		hlist_del(&e->node);
	}
	raw_spin_unlock(&p->lock);
	return e;
}

static void tc_release(struct tc_entry *e)
{
	struct tc_pool *p = &tc_pools[e->class];

	hlist_del(&e->node);
	raw_spin_lock(&p->lock);
	hlist_add_head(&e->node, &p->free);
	raw_spin_unlock(&p->lock);
	this_cpu_dec(tc_counts[e->class]);
}

static void tc_info(const struct tc_entry *e, struct tc_table_info *info)
{
	info->state = e ? e->s.state : 0;
	info->since_ns = e ? e->s.since_ns : 0;
	info->ino = e ? e->s.ino : 0;
	info->rx_queue = e ? e->s.rx_queue : 0;
}

/*
 * What changes while a socket stays in the table.  Its address does not
 * (the entry goes at CLOSE, before any reconnect; see tc_table_update()
 * for a CLOSE that was missed), so an update writes only this.
 */
static void tc_set(struct tc_entry *e, const struct tcpclose_event *ev,
		   u8 state)
{
	if (e->s.state != state)
		e->s.since_ns = ev->ts_ns;
	e->s.state = state;
	/* 0 once orphaned: the old inode number may name another socket. */
	e->s.ino = ev->ino;
	e->s.rx_queue = ev->rx_queue;
}

/*
 * A new entry, or one left by an earlier connection of the same socket
 * (same cookie): all anew, its time in the state too.
 */
static void tc_set_all(struct tc_entry *e, const struct tcpclose_event *ev,
		       u8 state)
{
	tc_set(e, ev, state);
	e->s.since_ns = ev->ts_ns;
	e->s.timewait = e->class == TC_TW;
	e->s.cookie = ev->cookie;
	e->s.netns = ev->netns;
	e->s.netns_cookie = ev->netns_cookie;
	e->s.family = ev->family;
	e->s.sport = ev->sport;
	e->s.dport = ev->dport;
	memcpy(e->s.saddr, ev->saddr, sizeof(e->s.saddr));
	memcpy(e->s.daddr, ev->daddr, sizeof(e->s.daddr));
}

/*
 * A new entry of @class in bucket @b, or NULL when its pool is empty;
 * counted as an overflow when the socket is @entering the class (once
 * per socket, not per event).
 */
static struct tc_entry *tc_insert(unsigned int b, int class,
				  const struct tcpclose_event *ev, u8 state,
				  bool entering)
{
	struct tc_entry *e = tc_alloc(class);

	if (!e) {
		if (entering)
			atomic64_inc(&tc_pools[class].overflow);
		return NULL;
	}
	memset(&e->s, 0, sizeof(e->s));
	e->class = class;
	tc_set_all(e, ev, state);
	hlist_add_head(&e->node, &tc_chains[b].head);
	this_cpu_inc(tc_counts[class]);
	return e;
}

/*
 * Move the socket of @ev to @state, reporting in @old what it was before.
 * A state outside the close states removes the socket.
 */
void tc_table_update(const struct tcpclose_event *ev, u8 state,
		     bool timewait, bool entering, struct tc_table_info *old)
{
	unsigned int b = tc_bucket(ev->cookie);
	int class = timewait ? TC_TW : TC_FULL;
	struct tc_entry *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&tc_chains[b].lock, flags);
	e = tc_find(b, ev->cookie, class);
	tc_info(e, old);
	if (!tc_state_tracked(state)) {
		if (e)
			tc_release(e);
	} else if (e && entering) {
		/*
		 * Left over: a socket entering the close states was not in
		 * them, so its CLOSE was missed (a kprobe skipped it) before a
		 * reconnect (connect(AF_UNSPEC), then connect()).
		 */
		tc_set_all(e, ev, state);
	} else if (e) {
		tc_set(e, ev, state);
	} else {
		tc_insert(b, class, ev, state, entering);
	}
	raw_spin_unlock_irqrestore(&tc_chains[b].lock, flags);
}

/*
 * The handoff holds @cookie's bucket lock from reading the timewait
 * socket's substate until its record is written (timewait.c), so that a
 * reschedule racing with it on another CPU (6.12) is ordered before or
 * after it as a whole.  A leaf lock still: the record path takes none.
 */
unsigned long tc_table_lock(u64 cookie) __acquires(tc_chains)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&tc_chains[tc_bucket(cookie)].lock, flags);
	return flags;
}

void tc_table_unlock(u64 cookie, unsigned long flags) __releases(tc_chains)
{
	raw_spin_unlock_irqrestore(&tc_chains[tc_bucket(cookie)].lock, flags);
}

/* With the bucket lock held: @cookie's timewait entry's state, or 0. */
u8 tc_table_timewait_state(u64 cookie)
{
	struct tc_entry *e = tc_find(tc_bucket(cookie), cookie, TC_TW);

	return e ? e->s.state : 0;
}

/*
 * With the bucket lock held (tc_table_lock()): the full socket of @ev was
 * just handed to a timewait socket; move its entry to the timewait class
 * in one step, so that the timewait socket's first segment finds it.
 */
void tc_table_handoff(const struct tcpclose_event *ev,
		      struct tc_table_info *old)
{
	unsigned int b = tc_bucket(ev->cookie);
	struct tc_entry *e;

	lockdep_assert_held(&tc_chains[b].lock);
	e = tc_find(b, ev->cookie, TC_FULL);
	tc_info(e, old);
	if (e)
		tc_release(e);
	e = tc_find(b, ev->cookie, TC_TW);
	if (e)
		tc_set_all(e, ev, ev->newstate);
	else
		tc_insert(b, TC_TW, ev, ev->newstate, true);
}

/*
 * A full socket is being destroyed while the table still holds it in a
 * close state: its CLOSE was missed.  Drop the entry, report in @old what
 * it was, count it with the aged-out entries.  Returns whether it was there.
 */
bool tc_table_destroyed(u64 cookie, struct tc_table_info *old)
{
	unsigned int b = tc_bucket(cookie);
	struct tc_entry *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&tc_chains[b].lock, flags);
	e = tc_find(b, cookie, TC_FULL);
	tc_info(e, old);
	if (e) {
		tc_release(e);
		atomic64_inc(&tc_expired);
	}
	raw_spin_unlock_irqrestore(&tc_chains[b].lock, flags);
	return e != NULL;
}

/*
 * Handoffs in progress: the timewait probe reported the handoff; the full
 * socket's CLOSE that follows (in the same call chain, perhaps on another
 * CPU after a migration) must not read as the end of the connection.  A
 * small array of cookies, independent of the pools, claimed with cmpxchg:
 * a note lives for microseconds, so four places from its slot are plenty; if
 * all four are taken, the oldest-placed is overwritten.
 */
#define TC_HANDOFF_SLOTS	1024
#define TC_HANDOFF_WAYS		4
static u64 tc_handoffs[TC_HANDOFF_SLOTS];

/* The low bits, as for the table's buckets (tc_bucket()). */
static unsigned int tc_handoff_slot(u64 cookie)
{
	return cookie & (TC_HANDOFF_SLOTS - 1);
}

void tc_handoff_note(u64 cookie)
{
	unsigned int h = tc_handoff_slot(cookie), i;

	for (i = 0; i < TC_HANDOFF_WAYS; i++)
		if (!cmpxchg(&tc_handoffs[(h + i) % TC_HANDOFF_SLOTS], 0,
			     cookie))
			return;
	WRITE_ONCE(tc_handoffs[h], cookie);
}

/* The handoff of @cookie was reported and its CLOSE has not come yet. */
bool tc_handoff_noted(u64 cookie)
{
	unsigned int h = tc_handoff_slot(cookie), i;

	for (i = 0; i < TC_HANDOFF_WAYS; i++)
		if (READ_ONCE(tc_handoffs[(h + i) % TC_HANDOFF_SLOTS]) == cookie)
			return true;
	return false;
}

bool tc_handoff_take(u64 cookie)
{
	unsigned int h = tc_handoff_slot(cookie), i;
	u64 *slot;

	for (i = 0; i < TC_HANDOFF_WAYS; i++) {
		slot = &tc_handoffs[(h + i) % TC_HANDOFF_SLOTS];
		if (READ_ONCE(*slot) == cookie && cmpxchg(slot, cookie, 0) == cookie)
			return true;
	}
	return false;
}

/* Timewait entries whose end was missed; full sockets may wait forever. */
static void tc_age_bucket(unsigned int b, u64 now)
{
	struct hlist_node *tmp;
	struct tc_entry *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&tc_chains[b].lock, flags);
	hlist_for_each_entry_safe(e, tmp, &tc_chains[b].head, node) {
		/* since_ns may be newer than now: updated during the scan. */
		if (e->class == TC_TW && e->s.since_ns < now &&
		    now - e->s.since_ns > TC_TW_MAX_NS) {
			tc_release(e);
			atomic64_inc(&tc_expired);
		}
	}
	raw_spin_unlock_irqrestore(&tc_chains[b].lock, flags);
}

static void tc_age(struct work_struct *work)
{
	u64 now = ktime_get_ns();
	unsigned int b;

	for (b = 0; b < (1U << tc_bits); b++) {
		tc_age_bucket(b, now);
		cond_resched();
	}
	schedule_delayed_work(&tc_age_work, TC_AGE_PERIOD);
}

/*
 * Copy the entries of bucket @b matching @netns (0: all) whose index among
 * them is in [@skip, @skip + @room) into @buf; *@matched counts all the
 * matching entries.  Returns how many were copied.
 */
static unsigned int tc_dump_bucket(unsigned int b, u64 netns,
				   unsigned int skip, struct tcpclose_sock *buf,
				   unsigned int room, unsigned int *matched)
{
	unsigned int n = 0, i = 0;
	struct tc_entry *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&tc_chains[b].lock, flags);
	hlist_for_each_entry(e, &tc_chains[b].head, node) {
		if (netns && e->s.netns_cookie != netns)
			continue;
		if (i >= skip && n < room)
			buf[n++] = e->s;
		i++;
	}
	raw_spin_unlock_irqrestore(&tc_chains[b].lock, flags);
	*matched = i;
	return n;
}

#define TC_DUMP_CHUNK	64

/*
 * Copy up to @room entries of namespace @netns (0: all) to @out, in
 * chunks through a small buffer (never one allocation the size of the
 * table, never copy_to_user() under a lock); count them all in @total.
 * Returns the entries copied.
 */
int tc_table_dump(struct tcpclose_sock __user *out, u32 room, u64 netns,
		  u64 *total)
{
	unsigned int b, skip, matched, n, want, done = 0;
	struct tcpclose_sock *buf;
	int err = 0;

	buf = kmalloc_array(TC_DUMP_CHUNK, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	*total = 0;
	for (b = 0; b < (1U << tc_bits) && !err; b++) {
		skip = 0;
		do {
			want = min_t(u32, room - done, TC_DUMP_CHUNK);
			n = tc_dump_bucket(b, netns, skip, buf, want, &matched);
			if (n && copy_to_user(out + done, buf, n * sizeof(*buf))) {
				err = -EFAULT;
				break;
			}
			done += n;
			skip += n;
		} while (n && n == want && skip < matched);
		*total += matched;
		cond_resched();
	}
	kfree(buf);
	return err ? err : done;
}

static void tc_count_netns(u64 netns, u64 *full, u64 *tw)
{
	struct tc_entry *e;
	unsigned long flags;
	unsigned int b;

	*full = 0;
	*tw = 0;
	for (b = 0; b < (1U << tc_bits); b++) {
		raw_spin_lock_irqsave(&tc_chains[b].lock, flags);
		hlist_for_each_entry(e, &tc_chains[b].head, node)
			if (e->s.netns_cookie == netns)
				(*(e->class == TC_TW ? tw : full))++;
		raw_spin_unlock_irqrestore(&tc_chains[b].lock, flags);
		cond_resched();
	}
}

/* Never below 0: a CPU's release may be summed before another's insert. */
static u64 tc_count(int class)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu(tc_counts, cpu)[class]);
	return max(sum, 0L);
}

/* Overflow and expiry are host-wide: reported in the host scope only. */
void tc_table_stats(struct tcpclose_stats *st, u64 netns)
{
	st->table_capacity = tc_pools[TC_FULL].capacity;
	st->tw_capacity = tc_pools[TC_TW].capacity;
	if (netns) {
		tc_count_netns(netns, &st->table_entries, &st->tw_entries);
		return;
	}
	st->table_entries = tc_count(TC_FULL);
	st->tw_entries = tc_count(TC_TW);
	st->table_overflow = atomic64_read(&tc_pools[TC_FULL].overflow);
	st->tw_overflow = atomic64_read(&tc_pools[TC_TW].overflow);
	st->expired = atomic64_read(&tc_expired);
}
