// SPDX-License-Identifier: GPL-2.0
/*
 * The record stream: one ring per possible CPU, written by the hooks and
 * read, merged by timestamp, through /dev/tcpclose.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/percpu.h>
#include <linux/irq_work.h>
#include <linux/wait.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/socket.h>
#include <linux/poll.h>
#include "tcpclose.h"
#include "ring.h"

struct tc_cpu {
	struct tc_ring ring;
	u64 seen;
	/* A record held back for a moment; see tc_hold(). */
	struct tcpclose_event held;
	bool holding;
};

static struct tc_cpu __percpu *tc_cpus;
static atomic64_t tc_delivered = ATOMIC64_INIT(0);
static atomic64_t tc_filtered = ATOMIC64_INIT(0);
DECLARE_WAIT_QUEUE_HEAD(tc_read_wq);

/*
 * The traced path must not take the wait-queue lock nor wake anybody: it
 * may run inside the scheduler's or the network stack's own locks.  It
 * queues an irq_work instead, and only while a reader sleeps or polls.
 */
static struct irq_work tc_wake_work;
static atomic_t tc_sleepers = ATOMIC_INIT(0);	/* readers in read() */
static bool tc_polled;				/* the owner polls */
static bool tc_dying;

static void tc_wake(struct irq_work *work)
{
	wake_up_interruptible_all(&tc_read_wq);
}

int tc_stream_init(void)
{
	struct tc_slot *slots;
	int cpu;

	init_irq_work(&tc_wake_work, tc_wake);
	tc_cpus = alloc_percpu(struct tc_cpu);
	if (!tc_cpus)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		slots = kvcalloc(tc_ring_slots, sizeof(*slots), GFP_KERNEL);
		if (!slots) {
			tc_stream_exit();
			return -ENOMEM;
		}
		tc_ring_init(&per_cpu_ptr(tc_cpus, cpu)->ring, slots,
			     tc_ring_slots);
	}
	return 0;
}

void tc_stream_exit(void)
{
	int cpu;

	if (!tc_cpus)
		return;
	irq_work_sync(&tc_wake_work);
	for_each_possible_cpu(cpu)
		kvfree(per_cpu_ptr(tc_cpus, cpu)->ring.slots);
	free_percpu(tc_cpus);
	tc_cpus = NULL;
}

void tc_count_seen(void)
{
	this_cpu_inc(tc_cpus->seen);
}

/*
 * Hooks run with preemption disabled (tracepoint and kprobe handlers), so
 * this CPU's ring stays ours between reserve and commit.
 */
static void tc_write(const struct tcpclose_event *ev)
{
	struct tcpclose_event *slot;
	u64 pos;

	slot = tc_ring_reserve(&this_cpu_ptr(tc_cpus)->ring, &pos);
	if (!slot)
		return;
	*slot = *ev;
	tc_ring_commit(&this_cpu_ptr(tc_cpus)->ring, pos);
	/* Pairs with the barrier in tc_stream_wait() before it sleeps. */
	smp_mb();
	if (atomic_read(&tc_sleepers) || READ_ONCE(tc_polled))
		irq_work_queue(&tc_wake_work);
}

/*
 * A record held back on this CPU; see tc_hold().  The hooks run in process
 * context too, where a softirq on the same CPU can interrupt them, so the
 * (rare) held record is handled with interrupts off.
 */
void tc_flush_held(void)
{
	struct tc_cpu *c = this_cpu_ptr(tc_cpus);
	unsigned long flags;

	if (!READ_ONCE(c->holding))
		return;
	local_irq_save(flags);
	if (c->holding) {
		c->holding = false;
		tc_write(&c->held);
	}
	local_irq_restore(flags);
}

void tc_emit(const struct tcpclose_event *ev)
{
	tc_flush_held();
	tc_write(ev);
}

/*
 * Hold one record back on this CPU, so that the next hook can merge it
 * with its own (FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT within one segment).
 * Whatever is recorded next on this CPU, or the end of the segment,
 * releases it first, so order is kept and nothing is lost.
 */
void tc_hold(const struct tcpclose_event *ev)
{
	struct tc_cpu *c = this_cpu_ptr(tc_cpus);
	unsigned long flags;

	tc_flush_held();
	local_irq_save(flags);
	c->held = *ev;
	c->holding = true;
	local_irq_restore(flags);
}

bool tc_take_held(u64 cookie, struct tcpclose_event *out)
{
	struct tc_cpu *c = this_cpu_ptr(tc_cpus);
	unsigned long flags;
	bool taken = false;

	if (!READ_ONCE(c->holding))
		return false;
	local_irq_save(flags);
	if (c->holding && c->held.cookie == cookie) {
		*out = c->held;
		c->holding = false;
		taken = true;
	}
	local_irq_restore(flags);
	return taken;
}

bool tc_stream_empty(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		if (tc_ring_peek(&per_cpu_ptr(tc_cpus, cpu)->ring))
			return false;
	return true;
}

/*
 * The oldest record over all rings.  The rings are scanned twice: a record
 * of one connection committed on CPU A happens-before the next record of
 * that connection on CPU B (the socket lock orders them), so once the first
 * scan has seen B's record, the second scan is certain to see A's, and the
 * older one wins.  This keeps each connection's events in order.
 */
static struct tc_ring *tc_oldest(void)
{
	const struct tcpclose_event *ev;
	struct tc_ring *best = NULL;
	u64 best_ts = U64_MAX;
	int cpu, pass;

	for (pass = 0; pass < 2; pass++) {
		best = NULL;
		best_ts = U64_MAX;
		for_each_possible_cpu(cpu) {
			struct tc_ring *r = &per_cpu_ptr(tc_cpus, cpu)->ring;

			ev = tc_ring_peek(r);
			if (ev && ev->ts_ns < best_ts) {
				best = r;
				best_ts = ev->ts_ns;
			}
		}
		if (!best)
			return NULL;
	}
	return best;
}

static bool tc_filter_match(const struct tcpclose_event *ev,
			    const struct tcpclose_filter *f, u32 reader_netns)
{
	if (reader_netns && ev->netns != reader_netns)
		return false;
	if (f->netns && ev->netns != f->netns)
		return false;
	if (f->family && ev->family != f->family)
		return false;
	if (f->port && ev->sport != f->port && ev->dport != f->port)
		return false;
	if (f->state_mask && !(f->state_mask & BIT(ev->oldstate)) &&
	    !(f->state_mask & BIT(ev->newstate)))
		return false;
	return true;
}

/*
 * Copy out as many whole records as fit.  A record leaves its ring only
 * after copy_to_user() succeeded, so a bad buffer loses nothing.  The
 * caller serialises readers.
 */
ssize_t tc_stream_copy(char __user *buf, size_t count,
		       const struct tcpclose_filter *filter, u32 reader_netns)
{
	const struct tcpclose_event *ev;
	struct tc_ring *r;
	size_t done = 0;

	while (count - done >= sizeof(*ev)) {
		r = tc_oldest();
		if (!r)
			break;
		ev = tc_ring_peek(r);
		if (!tc_filter_match(ev, filter, reader_netns)) {
			tc_ring_consume(r);
			atomic64_inc(&tc_filtered);
			continue;
		}
		if (copy_to_user(buf + done, ev, sizeof(*ev)))
			return done ? done : -EFAULT;
		tc_ring_consume(r);
		atomic64_inc(&tc_delivered);
		done += sizeof(*ev);
		if (need_resched())
			break;
	}
	return done;
}

bool tc_stream_dying(void)
{
	return READ_ONCE(tc_dying);
}

/* Sleep until a record arrives or the module goes away. */
int tc_stream_wait(void)
{
	int err;

	atomic_inc(&tc_sleepers);
	/* Pairs with smp_mb() in tc_write(). */
	smp_mb__after_atomic();
	err = wait_event_interruptible(tc_read_wq, !tc_stream_empty() ||
				       READ_ONCE(tc_dying));
	atomic_dec(&tc_sleepers);
	return err;
}

/* Wake sleeping readers for good: they return end-of-file. */
void tc_stream_shutdown(void)
{
	WRITE_ONCE(tc_dying, true);
	wake_up_interruptible_all(&tc_read_wq);
}

void tc_stream_stats(struct tcpclose_stats *st, struct tcpclose_cpu_stats *cpu,
		     u32 nr_cpu)
{
	int i;

	for_each_possible_cpu(i) {
		struct tc_cpu *c = per_cpu_ptr(tc_cpus, i);
		u64 seen = READ_ONCE(c->seen);
		u64 rec = READ_ONCE(c->ring.recorded);
		u64 drop = READ_ONCE(c->ring.dropped);

		st->seen += seen;
		st->recorded += rec;
		st->dropped += drop;
		if (cpu && i < nr_cpu) {
			cpu[i].seen = seen;
			cpu[i].recorded = rec;
			cpu[i].dropped = drop;
		}
	}
	st->delivered = atomic64_read(&tc_delivered);
	st->filtered = atomic64_read(&tc_filtered);
	st->ring_size = tc_ring_slots;
}

/* The stream's owner has gone: no need to wake pollers any more. */
void tc_stream_unowned(void)
{
	WRITE_ONCE(tc_polled, false);
}

__poll_t tc_stream_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &tc_read_wq, wait);
	WRITE_ONCE(tc_polled, true);
	/* Pairs with smp_mb() in tc_write(). */
	smp_mb();
	if (READ_ONCE(tc_dying))
		return EPOLLIN | EPOLLRDNORM | EPOLLHUP;
	return tc_stream_empty() ? 0 : EPOLLIN | EPOLLRDNORM;
}
