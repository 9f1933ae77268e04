// SPDX-License-Identifier: GPL-2.0
/*
 * How long sockets stay in each close state, without a reader: log2
 * histograms of the time spent in CLOSE_WAIT, LAST_ACK, FIN_WAIT1,
 * FIN_WAIT2, CLOSING and TIME_WAIT (a row per end reason), counted on
 * every transition out of the state whose duration the live table knows.
 * A transition of unknown duration is counted in its row's `unknown`,
 * never in a bucket; one out of a close state that itself is unknown (a
 * handoff of an untracked socket straight to TIME_WAIT) in a row of its
 * own.
 *
 * Counters are per CPU, updated with interrupts off (one short section for
 * both sets, cheaper than an irq-safe operation per counter), which is
 * safe on every kernel, PREEMPT_RT included: no lock, no atomic shared
 * with another CPU, nothing to drop.  Two sets
 * are kept: the host's, for the whole module's life, and each network
 * namespace's (pernet storage), which a reader in that namespace gets.
 * The host's is not the sum of the namespaces' at read time: namespaces
 * come and go, and what happened in one that is gone still counts.
 *
 * Sums of nanoseconds are 128 bits: a busy host's TIME_WAIT sockets add
 * up to 2^64 ns within hours.
 */
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/tcp_states.h>
#include "tcpclose.h"

enum {
	TC_ROW_CLOSE_WAIT,
	TC_ROW_LAST_ACK,
	TC_ROW_FIN_WAIT1,
	TC_ROW_FIN_WAIT2,
	TC_ROW_CLOSING,
	TC_ROW_TIME_WAIT,	/* + reason - 1, for each end reason */
	TC_HIST_ROWS = TC_ROW_TIME_WAIT + TCPCLOSE_REASON_MAX - 1,
	/* In the ABI only: the row of the unknown state. */
	TC_HIST_ABI_ROWS
};

struct tc_hist_row {
	u64 buckets[TCPCLOSE_HIST_BUCKETS];
	u64 sum_lo;
	u64 sum_hi;
	u64 unknown;
	seqcount_t carry;	/* around a carry: sum_hi and sum_lo change */
};

/* One CPU's counters. */
struct tc_hist {
	struct tc_hist_row rows[TC_HIST_ROWS];
	u64 unknown_state;
};

struct tc_hist_net {
	/* What the hooks count into; NULL before init and once dying. */
	struct tc_hist __percpu *live;
	/* Owned: freed at exit; NULL if it could not be allocated. */
	struct tc_hist __percpu *mem;
	u64 since_ns;
};

static unsigned int tc_hist_id;
static struct tc_hist __percpu *tc_hist_host;

static int tc_hist_row_of(u8 state, u8 reason)
{
	switch (state) {
	case TCP_CLOSE_WAIT:
		return TC_ROW_CLOSE_WAIT;
	case TCP_LAST_ACK:
		return TC_ROW_LAST_ACK;
	case TCP_FIN_WAIT1:
		return TC_ROW_FIN_WAIT1;
	case TCP_FIN_WAIT2:
		return TC_ROW_FIN_WAIT2;
	case TCP_CLOSING:
		return TC_ROW_CLOSING;
	case TCP_TIME_WAIT:
		/* Every kill names a reason; "other" is the catch-all. */
		if (reason == TCPCLOSE_REASON_NONE ||
		    reason >= TCPCLOSE_REASON_MAX)
			reason = TCPCLOSE_REASON_OTHER;
		return TC_ROW_TIME_WAIT + reason - 1;
	default:
		return -1;
	}
}

/* Bucket i holds (2^(SHIFT+i-1), 2^(SHIFT+i)] ns: see the uapi header. */
static unsigned int tc_hist_bucket(u64 ns)
{
	unsigned int i = ns ? fls64((ns - 1) >> TCPCLOSE_HIST_SHIFT) : 0;

	return min(i, TCPCLOSE_HIST_BUCKETS - 1U);
}

/*
 * The sum is 128 bits in two words: a carry changes both, inside the row's
 * sequence, so that a reader never takes one word without the other.
 * Called with interrupts off (tc_hist_note()).
 */
static void tc_hist_add_sum(struct tc_hist_row *r, u64 ns)
{
	if (r->sum_lo + ns < r->sum_lo) {
		/* raw_: zeroed per-CPU memory, no lockdep map to use */
		raw_write_seqcount_begin(&r->carry);
		WRITE_ONCE(r->sum_hi, r->sum_hi + 1);
		WRITE_ONCE(r->sum_lo, r->sum_lo + ns);
		raw_write_seqcount_end(&r->carry);
	} else {
		WRITE_ONCE(r->sum_lo, r->sum_lo + ns);
	}
}

/*
 * Into row @row (-1: the unknown state) of this CPU's @h, bucket @bucket
 * (-1: duration unknown).  Interrupts are off: the __this_cpu forms.
 */
static void tc_hist_count(struct tc_hist __percpu *h, int row, int bucket,
			  const struct tcpclose_event *ev)
{
	if (row < 0) {
		__this_cpu_inc(h->unknown_state);
	} else if (bucket < 0) {
		__this_cpu_inc(h->rows[row].unknown);
	} else {
		__this_cpu_inc(h->rows[row].buckets[bucket]);
		tc_hist_add_sum(this_cpu_ptr(&h->rows[row]), ev->prev_state_ns);
	}
}

/*
 * Called for every transition the hooks see, with @net the socket's
 * namespace.  Only transitions out of a close state count: a handoff in
 * FIN_WAIT2 is none, and neither is the open path.  Both sets (the host's,
 * the namespace's) in one section with interrupts off: a hook in process
 * context can be interrupted by one in softirq on the same CPU.
 */
void tc_hist_note(const struct net *net, const struct tcpclose_event *ev)
{
	struct tc_hist __percpu *h;
	struct tc_hist_net *hn;
	unsigned long flags;
	int row, bucket = -1;

	if (ev->oldstate == ev->newstate)
		return;
	if (tc_state_tracked(ev->oldstate))
		row = tc_hist_row_of(ev->oldstate, ev->reason);
	else if (!ev->oldstate && (ev->flags & TCPCLOSE_F_HANDOFF))
		row = -1;
	else
		return;
	if (ev->flags & TCPCLOSE_F_DUR_KNOWN)
		bucket = tc_hist_bucket(ev->prev_state_ns);
	hn = net_generic(net, tc_hist_id);
	local_irq_save(flags);
	/*
	 * With interrupts off this is an RCU read-side section (as is every
	 * hook, run with preemption off): the grace period between pre_exit
	 * and exit waits for it before the counters are freed.
	 */
	h = hn ? READ_ONCE(hn->live) : NULL;
	tc_hist_count(tc_hist_host, row, bucket, ev);
	if (h)
		tc_hist_count(h, row, bucket, ev);
	local_irq_restore(flags);
}

/* Both words of a row's sum, outside any carry (tc_hist_add_sum()). */
static void tc_hist_read_sum(const struct tc_hist_row *c, u64 *lo, u64 *hi)
{
	unsigned int seq;

	do {
		seq = raw_read_seqcount_begin(&c->carry);
		*hi = READ_ONCE(c->sum_hi);
		*lo = READ_ONCE(c->sum_lo);
	} while (read_seqcount_retry(&c->carry, seq));
}

static void tc_hist_fold_row(const struct tc_hist_row *c,
			     struct tcpclose_hist_row *o)
{
	unsigned int b;
	u64 v, lo, hi;

	for (b = 0; b < TCPCLOSE_HIST_BUCKETS; b++) {
		v = READ_ONCE(c->buckets[b]);
		o->buckets[b] += v;
		o->count += v;
	}
	tc_hist_read_sum(c, &lo, &hi);
	o->sum_ns += lo;
	o->sum_ns_hi += hi + (o->sum_ns < lo);
	o->unknown += READ_ONCE(c->unknown);
}

/* Every CPU's counters of @h added into @rows[TC_HIST_ABI_ROWS]. */
static void tc_hist_fold(struct tc_hist __percpu *h,
			 struct tcpclose_hist_row *rows)
{
	const struct tc_hist *c;
	unsigned int r;
	int cpu;

	for_each_possible_cpu(cpu) {
		c = per_cpu_ptr(h, cpu);
		for (r = 0; r < TC_HIST_ROWS; r++)
			tc_hist_fold_row(&c->rows[r], &rows[r]);
		rows[TC_HIST_ROWS].unknown += READ_ONCE(c->unknown_state);
	}
}

static void tc_hist_label(struct tcpclose_hist_row *rows)
{
	static const u8 states[] = {
		[TC_ROW_CLOSE_WAIT] = TCP_CLOSE_WAIT,
		[TC_ROW_LAST_ACK] = TCP_LAST_ACK,
		[TC_ROW_FIN_WAIT1] = TCP_FIN_WAIT1,
		[TC_ROW_FIN_WAIT2] = TCP_FIN_WAIT2,
		[TC_ROW_CLOSING] = TCP_CLOSING,
	};
	unsigned int r;

	for (r = 0; r < TC_ROW_TIME_WAIT; r++)
		rows[r].state = states[r];
	for (r = TC_ROW_TIME_WAIT; r < TC_HIST_ROWS; r++) {
		rows[r].state = TCP_TIME_WAIT;
		rows[r].reason = r - TC_ROW_TIME_WAIT + 1;
	}
}

/*
 * One namespace's histograms, found by cookie among the live ones.  RCU
 * keeps it (its exit comes after a grace period) while it is summed.
 */
static int tc_hist_fold_netns(u64 cookie, struct tcpclose_hist_row *rows,
			      u64 *since_ns)
{
	struct tc_hist_net *hn = NULL;
	struct tc_hist __percpu *h;
	struct net *net;
	int err = -ENOENT;

	rcu_read_lock();
	for_each_net_rcu(net) {
		if (net->net_cookie == cookie) {
			hn = net_generic(net, tc_hist_id);
			break;
		}
	}
	h = hn ? READ_ONCE(hn->live) : NULL;
	if (h) {
		tc_hist_fold(h, rows);
		*since_ns = hn->since_ns;
		err = 0;
	} else if (hn) {
		/* No memory when it was created, or it is going away. */
		err = -ENODATA;
	}
	rcu_read_unlock();
	return err;
}

/*
 * The histograms of namespace @netns (0: the host's) into @out, at most
 * @room rows; *@nr_rows is set to the rows there are.
 */
int tc_hist_copy(u64 netns, struct tcpclose_hist_row __user *out, u32 room,
		 u32 *nr_rows, u64 *since_ns)
{
	struct tcpclose_hist_row *rows;
	int err = 0;

	rows = kcalloc(TC_HIST_ABI_ROWS, sizeof(*rows), GFP_KERNEL);
	if (!rows)
		return -ENOMEM;
	if (netns) {
		err = tc_hist_fold_netns(netns, rows, since_ns);
	} else {
		tc_hist_fold(tc_hist_host, rows);
		*since_ns = tc_load_ns;
	}
	tc_hist_label(rows);
	room = min_t(u32, room, TC_HIST_ABI_ROWS);
	if (!err && room && copy_to_user(out, rows, room * sizeof(*rows)))
		err = -EFAULT;
	*nr_rows = TC_HIST_ABI_ROWS;
	kfree(rows);
	return err;
}

/*
 * A namespace whose counters cannot be allocated is still created (this
 * module must not make containers fail): it has no histograms of its
 * own, and the host's count it as any other.
 */
static int __net_init tc_hist_net_init(struct net *net)
{
	struct tc_hist_net *hn = net_generic(net, tc_hist_id);

	hn->since_ns = ktime_get_ns();
	/* Charged to whoever creates the namespace (memory cgroup). */
	hn->mem = alloc_percpu_gfp(struct tc_hist,
				   GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	WRITE_ONCE(hn->live, hn->mem);
	return 0;
}

/*
 * Sockets of a dying namespace still change state after this (its
 * timewait sockets are purged by TCP's exit, which runs after ours):
 * from here on they count in the host's histograms only.
 */
static void __net_exit tc_hist_net_pre_exit(struct net *net)
{
	struct tc_hist_net *hn = net_generic(net, tc_hist_id);

	WRITE_ONCE(hn->live, NULL);
}

/* After the grace period that follows pre_exit: no hook holds it. */
static void __net_exit tc_hist_net_exit(struct net *net)
{
	struct tc_hist_net *hn = net_generic(net, tc_hist_id);

	free_percpu(hn->mem);
	hn->mem = NULL;
}

static struct pernet_operations tc_hist_net_ops = {
	.init = tc_hist_net_init,
	.pre_exit = tc_hist_net_pre_exit,
	.exit = tc_hist_net_exit,
	.id = &tc_hist_id,
	.size = sizeof(struct tc_hist_net),
};

/* Before the hooks: they count into what this sets up. */
int tc_hist_init(void)
{
	int err;

	tc_hist_host = alloc_percpu(struct tc_hist);
	if (!tc_hist_host)
		return -ENOMEM;
	err = register_pernet_subsys(&tc_hist_net_ops);
	if (err) {
		free_percpu(tc_hist_host);
		tc_hist_host = NULL;
	}
	return err;
}

/* After the hooks are gone: nothing counts any more. */
void tc_hist_exit(void)
{
	unregister_pernet_subsys(&tc_hist_net_ops);
	free_percpu(tc_hist_host);
	tc_hist_host = NULL;
}
