// SPDX-License-Identifier: GPL-2.0
/*
 * Per-reader streams.  Every open file of /dev/tcpclose that reads (or
 * polls) gets a stream of its own: one ring per possible CPU, its own
 * position, filter, counters and wait queue.  The record path writes each
 * record into the rings of every stream that may see it, on the CPU it
 * runs on, so that readers never consume, delay or drop each other's
 * records, and a reader in a network namespace receives only that
 * namespace's records (the initial namespace sees all).
 *
 * The stream list is RCU-protected: the record path walks it without a
 * lock; a stream leaves it, and its rings are freed, only after a grace
 * period, by which time no hook still writes to it.
 *
 * Waking readers.  The record path may run inside the network stack's own
 * locks, so it never wakes anybody itself.  A reader going to sleep (or
 * polling) sets `waiting`; the first record after that clears it and
 * queues a lazy irq_work, which wakes the reader from the next timer tick
 * (no self-interrupt).  One wakeup per sleep, not one per record: the
 * wakeup path was the whole cost of an attached reader.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/irq_work.h>
#include <linux/wait.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/nsproxy.h>
#include <linux/pid_namespace.h>
#include <linux/uaccess.h>
#include <linux/socket.h>
#include <net/net_namespace.h>
#include "tcpclose.h"
#include "ring.h"

struct tc_filter_rcu {
	struct tcpclose_filter f;
	struct rcu_head rcu;
};

struct tc_reader {
	struct list_head node;		/* in tc_readers once started */
	struct tc_ring **rings;		/* by CPU id; NULL: not possible */
	u64 netns_cookie;		/* the opener's namespace */
	bool all_netns;			/* opened in the initial namespace */
	struct pid_namespace *pidns;	/* NULL: the initial one */
	struct tc_filter_rcu __rcu *filter;	/* NULL: everything */
	struct tcpclose_filter filter_copy;	/* for GET_FILTER */
	bool started;
	int waiting;			/* sleeping or polling: wake me */
	atomic64_t delivered;
	struct irq_work wake;
	wait_queue_head_t wq;
	struct mutex lock;		/* serialises this file's readers */
};

static LIST_HEAD(tc_readers);
static DEFINE_SPINLOCK(tc_readers_lock);
/*
 * Streams in the list.  Without one the record path skips the list and
 * its RCU section (tc_emit()).  Counted before a stream joins and after
 * it left, so a hook that could find a stream sees it non-zero.  Not a
 * static key: it would patch code when the first stream starts and the
 * last ends, for no measurable gain over one load.  The FIN+ACK kretprobe
 * is armed then (tc_segment_get()), because it costs measurably.
 */
unsigned int tc_nr_readers;
static bool tc_dying;

static void tc_reader_wake(struct irq_work *work)
{
	struct tc_reader *r = container_of(work, struct tc_reader, wake);
	TC_PB_DECLARE_TIMER(TC_PB_WAKE);

	wake_up_interruptible_all(&r->wq);
}

struct tc_reader *tc_reader_open(void)
{
	struct net *net = current->nsproxy->net_ns;
	struct pid_namespace *pidns = task_active_pid_ns(current);
	struct tc_reader *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return NULL;
	r->netns_cookie = net->net_cookie;
	r->all_netns = net_eq(net, &init_net);
	if (pidns != &init_pid_ns)
		r->pidns = get_pid_ns(pidns);
	r->filter_copy.size = sizeof(r->filter_copy);
	r->wake = IRQ_WORK_INIT_LAZY(tc_reader_wake);
	init_waitqueue_head(&r->wq);
	mutex_init(&r->lock);
	atomic64_set(&r->delivered, 0);
	return r;
}

static void tc_reader_free_rings(struct tc_reader *r)
{
	int cpu;

	if (!r->rings)
		return;
	for_each_possible_cpu(cpu) {
		if (!r->rings[cpu])
			continue;
		kvfree(r->rings[cpu]->slots);
		kfree(r->rings[cpu]);
	}
	kfree(r->rings);
	r->rings = NULL;
}

/* Each CPU's ring on that CPU's memory node. */
static int tc_reader_alloc_rings(struct tc_reader *r)
{
	struct tc_slot *slots;
	struct tc_ring *ring;
	int cpu, node;

	r->rings = kcalloc(nr_cpu_ids, sizeof(*r->rings), GFP_KERNEL);
	if (!r->rings)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		node = cpu_to_node(cpu);
		ring = kzalloc_node(sizeof(*ring), GFP_KERNEL, node);
		slots = kvmalloc_node(array_size(tc_ring_slots, sizeof(*slots)),
				      GFP_KERNEL | __GFP_NOWARN, node);
		if (!ring || !slots) {
			kfree(ring);
			kvfree(slots);
			tc_reader_free_rings(r);
			return -ENOMEM;
		}
		tc_ring_init(ring, slots, tc_ring_slots);
		r->rings[cpu] = ring;
	}
	return 0;
}

static int tc_reader_join(struct tc_reader *r)
{
	int err = 0;

	spin_lock(&tc_readers_lock);
	if (tc_nr_readers >= tc_max_readers) {
		err = -EBUSY;
	} else {
		WRITE_ONCE(tc_nr_readers, tc_nr_readers + 1);
		list_add_tail_rcu(&r->node, &tc_readers);
	}
	spin_unlock(&tc_readers_lock);
	return err;
}

/* The stream starts at the file's first read() or poll(). */
static int tc_reader_start(struct tc_reader *r)
{
	int err = 0;

	/* Pairs with the release below: the rings are complete. */
	if (smp_load_acquire(&r->started))
		return 0;
	mutex_lock(&r->lock);
	if (!r->started) {
		err = tc_reader_alloc_rings(r);
		if (!err) {
			tc_segment_get();
			err = tc_reader_join(r);
			if (err)
				tc_segment_put();
		}
		if (err)
			tc_reader_free_rings(r);
		else	/* Pairs with smp_load_acquire() above and in stats. */
			smp_store_release(&r->started, true);
	}
	mutex_unlock(&r->lock);
	return err;
}

void tc_reader_release(struct tc_reader *r)
{
	if (r->started) {
		spin_lock(&tc_readers_lock);
		list_del_rcu(&r->node);
		WRITE_ONCE(tc_nr_readers, tc_nr_readers - 1);
		spin_unlock(&tc_readers_lock);
		/* No hook writes to this stream any more after this. */
		synchronize_rcu();
		irq_work_sync(&r->wake);
		tc_reader_free_rings(r);
		tc_segment_put();
	}
	kfree(rcu_access_pointer(r->filter));
	if (r->pidns)
		put_pid_ns(r->pidns);
	kfree(r);
}

static bool tc_filter_match(const struct tcpclose_event *ev,
			    const struct tcpclose_filter *f)
{
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

/* Pids as the reader's pid namespace sees them: 0 when it cannot. */
static void tc_reader_pids(const struct tc_reader *r,
			   struct tcpclose_event *slot)
{
	if (!r->pidns || !(slot->flags & TCPCLOSE_F_PROCESS))
		return;
	slot->pid = task_tgid_nr_ns(current, r->pidns);
	slot->tid = task_pid_nr_ns(current, r->pidns);
}

/* Pairs with the barrier in tc_reader_arm(). */
static void tc_reader_kick(struct tc_reader *r)
{
	/* The record's commit before the load of waiting. */
	smp_mb();
	if (READ_ONCE(r->waiting) && xchg(&r->waiting, 0))
		irq_work_queue(&r->wake);
}

/* Hooks run with preemption disabled: this CPU's ring stays ours. */
static void tc_reader_write(struct tc_reader *r, const struct tcpclose_event *ev)
{
	struct tc_ring *ring = r->rings[smp_processor_id()];
	const struct tc_filter_rcu *f;
	struct tcpclose_event *slot;
	u64 pos;

	if (!r->all_netns && ev->netns_cookie != r->netns_cookie)
		return;
	f = rcu_dereference(r->filter);
	if (f && !tc_filter_match(ev, &f->f)) {
		tc_ring_count(&ring->filtered);
		return;
	}
	slot = tc_ring_reserve(ring, &pos);
	if (!slot)
		return;
	*slot = *ev;
	tc_reader_pids(r, slot);
	tc_ring_commit(ring, pos);
	tc_reader_kick(r);
}

void tc_readers_write(const struct tcpclose_event *ev)
{
	struct tc_reader *r;

	rcu_read_lock();
	list_for_each_entry_rcu(r, &tc_readers, node)
		tc_reader_write(r, ev);
	rcu_read_unlock();
}

/* The ring with the oldest record, or NULL (also while one is in flight). */
static struct tc_ring *tc_reader_oldest(struct tc_reader *r)
{
	bool in_flight;

	return tc_rings_oldest(r->rings, nr_cpu_ids, &in_flight);
}

/*
 * Copy out as many whole records as fit.  A record leaves its ring only
 * after copy_to_user() succeeded, so a bad buffer loses nothing.  Filters
 * apply when records are written, so every record here is delivered: the
 * loop is bounded by the buffer, and yields to the scheduler.
 */
static ssize_t tc_reader_copy(struct tc_reader *r, char __user *buf,
			      size_t count)
{
	const size_t size = sizeof(struct tcpclose_event);
	struct tc_ring *ring;
	size_t done = 0;
	TC_PB_DECLARE_TIMER(TC_PB_READ);

	while (count - done >= size) {
		TC_PB_DECLARE_TIMER(TC_PB_READ_REC);

		ring = tc_reader_oldest(r);
		if (!ring)
			break;
		if (copy_to_user(buf + done, tc_ring_peek(ring), size))
			return done ? done : -EFAULT;
		tc_ring_consume(ring);
		done += size;
		if (need_resched())
			break;
	}
	atomic64_add(done / size, &r->delivered);
	return done;
}

static bool tc_reader_ready(struct tc_reader *r)
{
	/* Unserialised (poll, waiters): ready is all it asks, not order. */
	return READ_ONCE(tc_dying) || tc_rings_ready(r->rings, nr_cpu_ids);
}

/* Ask for a wakeup, then look: a record committed meanwhile is seen. */
static bool tc_reader_arm(struct tc_reader *r)
{
	WRITE_ONCE(r->waiting, 1);
	/* Pairs with smp_mb() in tc_reader_kick(). */
	smp_mb();
	return tc_reader_ready(r);
}

/*
 * Several tasks may wait on one file.  waiting is never cleared here: a
 * task that found records must not take the wakeup away from one still
 * asleep (the next record's writer clears it, one spare wakeup at worst);
 * and a task woken after another re-armed looks for records itself.
 */
static int tc_reader_wait(struct tc_reader *r)
{
	int err;

	while (!tc_reader_arm(r)) {
		err = wait_event_interruptible(r->wq, !READ_ONCE(r->waiting) ||
					       tc_reader_ready(r));
		if (err)
			return err;
	}
	return 0;
}

ssize_t tc_reader_read(struct tc_reader *r, char __user *buf, size_t count,
		       bool nonblock)
{
	ssize_t n;
	int err;

	if (count < sizeof(struct tcpclose_event))
		return -EINVAL;
	err = tc_reader_start(r);
	if (err)
		return err;
	for (;;) {
		if (mutex_lock_interruptible(&r->lock))
			return -ERESTARTSYS;
		n = tc_reader_copy(r, buf, count);
		mutex_unlock(&r->lock);
		if (n)
			return n;
		if (READ_ONCE(tc_dying))
			return 0;
		if (nonblock)
			return -EAGAIN;
		err = tc_reader_wait(r);
		if (err)
			return err;
	}
}

__poll_t tc_reader_poll(struct tc_reader *r, struct file *file,
			poll_table *wait)
{
	TC_PB_DECLARE_TIMER(TC_PB_POLL);

	if (tc_reader_start(r))
		return EPOLLERR;
	poll_wait(file, &r->wq, wait);
	/* waiting stays set: see tc_reader_wait() */
	if (!tc_reader_arm(r))
		return 0;
	if (READ_ONCE(tc_dying))
		return EPOLLIN | EPOLLRDNORM | EPOLLHUP;
	return EPOLLIN | EPOLLRDNORM;
}

/* Applies to records written from now on. */
int tc_reader_set_filter(struct tc_reader *r, const struct tcpclose_filter *f)
{
	struct tc_filter_rcu *nf = NULL, *old;

	/* An all-zero filter matches everything: keep the fast path. */
	if (f->state_mask || f->port || f->family || f->netns) {
		/* Never fall back to "everything" behind GET_FILTER's back. */
		nf = kmalloc(sizeof(*nf), GFP_KERNEL);
		if (!nf)
			return -ENOMEM;
		nf->f = *f;
	}
	mutex_lock(&r->lock);
	r->filter_copy = *f;
	old = rcu_replace_pointer(r->filter, nf, lockdep_is_held(&r->lock));
	mutex_unlock(&r->lock);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

void tc_reader_get_filter(struct tc_reader *r, struct tcpclose_filter *f)
{
	mutex_lock(&r->lock);
	*f = r->filter_copy;
	mutex_unlock(&r->lock);
}

u64 tc_reader_netns(const struct tc_reader *r)
{
	return r->all_netns ? 0 : r->netns_cookie;
}

/* This file's stream: its own counters, per CPU into @cpu[0..nr). */
void tc_reader_stats(struct tc_reader *r, struct tcpclose_stats *st,
		     struct tcpclose_cpu_stats *cpu, u32 nr)
{
	struct tc_reader *o;
	struct tc_ring *ring;
	u64 recorded, dropped;
	int i;

	st->netns_cookie = r->netns_cookie;
	st->delivered = atomic64_read(&r->delivered);
	st->ring_size = tc_ring_slots;
	st->max_readers = tc_max_readers;
	/* Pairs with tc_reader_start(): the rings are there. */
	st->streaming = smp_load_acquire(&r->started);
	for (i = 0; st->streaming && i < nr_cpu_ids; i++) {
		ring = r->rings[i];
		if (!ring)
			continue;
		/* Read once: the per-CPU values add up to the totals. */
		recorded = READ_ONCE(ring->head);
		dropped = READ_ONCE(ring->dropped);
		st->recorded += recorded;
		st->dropped += dropped;
		st->filtered += READ_ONCE(ring->filtered);
		if (cpu && i < nr) {
			cpu[i].recorded = recorded;
			cpu[i].dropped = dropped;
		}
	}
	rcu_read_lock();
	list_for_each_entry_rcu(o, &tc_readers, node)
		if (r->all_netns || o->netns_cookie == r->netns_cookie)
			st->readers++;
	rcu_read_unlock();
}

/* Wake sleeping readers for good: they return end-of-file. */
void tc_readers_shutdown(void)
{
	struct tc_reader *r;

	WRITE_ONCE(tc_dying, true);
	rcu_read_lock();
	list_for_each_entry_rcu(r, &tc_readers, node)
		wake_up_interruptible_all(&r->wq);
	rcu_read_unlock();
}
