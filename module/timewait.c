// SPDX-License-Identifier: GPL-2.0
/*
 * The timewait minisocket, which no tracepoint sees.
 *
 * When an actively closed connection reaches FIN_WAIT2 (orphaned) or
 * TIME_WAIT, tcp_time_wait() copies it into a small inet_timewait_sock and
 * the full socket goes to CLOSE: the tracepoint then reports
 * "FIN_WAIT2 -> CLOSE" although the connection lives on.  The minisocket
 * later moves from FIN_WAIT2 to TIME_WAIT in tcp_timewait_state_process()
 * and dies in inet_twsk_kill() on expiry, RST or reuse.  Kprobes on those
 * functions tell the real story; the cookie, which the timewait socket
 * inherits, joins its events to the full socket's.
 *
 * The handoff is reported by the probe on the first __inet_twsk_schedule(),
 * which runs before the timewait socket is visible to the network (6.1:
 * before inet_twsk_hashdance(); 6.12: inside the hashdance, under the
 * ehash lock, a few instructions after the socket's refcount makes it
 * findable).  Its record is therefore committed before any segment can
 * reach the timewait socket on another CPU, and the live table entry moves
 * to the timewait class in the same step: no rollback, no duplicate.  The
 * full socket's CLOSE that follows is silenced through a handoff note.
 *
 * A kill's reason comes from its context, never from a clock: in a task,
 * tcp_abort() (abort.c marks it) or else connect() taking the 4-tuple (a
 * kernel thread: a namespace's purge); in softirq, the timer (a probe on
 * tw_timer_handler() marks the socket it is about to kill) or else the
 * segment that this CPU is processing for that socket, whose RST or SYN a
 * per-CPU note carries from tcp_timewait_state_process().  A packet-path
 * kill always runs on the CPU that processes its segment, right after the
 * note, so a note left by an earlier segment that did not kill is always
 * replaced first; a kill in a task or by the timer never reads the note.
 * The note and the mark hold the socket's address only to compare it,
 * never to dereference it.
 */
#include <linux/kernel.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/inet_timewait_sock.h>
#include "tcpclose.h"

/* What the last segment told about a timewait socket, on this CPU. */
struct tc_tw_note {
	const void *sk;		/* compared, never dereferenced */
	u8 substate;		/* on entry to tcp_timewait_state_process() */
	u8 reason;
};

static DEFINE_PER_CPU(struct tc_tw_note, tc_tw_note);
/* The timewait socket whose timer is killing it on this CPU. */
static DEFINE_PER_CPU(const void *, tc_tw_expiring);

#ifdef TCPCLOSE_FAULT_INJECT
/*
 * Selftest builds only: stall the handoff, after the timewait socket is
 * visible on 6.12, a third before taking the bucket lock, a third with it
 * held before reading the substate and a third after, so that the peer's
 * FIN can reach the socket in each window.
 */
static unsigned int tc_handoff_delay_us;
module_param_named(handoff_delay_us, tc_handoff_delay_us, uint, 0644);
MODULE_PARM_DESC(handoff_delay_us, "selftest build: stall each handoff");

static void tc_fault_delay(void)
{
	unsigned int us = READ_ONCE(tc_handoff_delay_us) / 3;

	mdelay(us / 1000);
	udelay(us % 1000);
}

/*
 * Reschedules that found the timer not armed: before the handoff (left to
 * it) and after it (reported after it).  The race, seen.
 */
static int tc_early_rearms, tc_late_rearms;
module_param_named(early_rearms, tc_early_rearms, int, 0444);
MODULE_PARM_DESC(early_rearms, "selftest build: reschedules before the handoff");
module_param_named(late_rearms, tc_late_rearms, int, 0444);
MODULE_PARM_DESC(late_rearms, "selftest build: reschedules after the handoff, timer not armed");

static void tc_fault_count(bool early)
{
	if (early)
		tc_early_rearms++;
	else
		tc_late_rearms++;
}
#else
static void tc_fault_delay(void)
{
}

static void tc_fault_count(bool early)
{
}
#endif

static bool tc_tw_is_tcp(const struct inet_timewait_sock *tw)
{
	return !strncmp(tw->tw_prot->name, "TCP", 3);
}

static struct inet_timewait_sock *tc_arg_tw(struct pt_regs *regs)
{
	return (struct inet_timewait_sock *)regs_get_kernel_argument(regs, 0);
}

static void tc_note(const struct inet_timewait_sock *tw, u8 reason)
{
	struct tc_tw_note *n = this_cpu_ptr(&tc_tw_note);

	n->sk = tw;
	n->substate = tw->tw_substate;
	n->reason = reason;
}

/* The note is about @sk: the segment being processed on this CPU. */
static bool tc_note_valid(const struct tc_tw_note *n, const void *sk)
{
	return n->sk == sk;
}

static void tc_tw_fill(struct tcpclose_event *ev,
		       struct inet_timewait_sock *tw, bool rec)
{
	tc_event_init(ev, rec);
	ev->flags |= TCPCLOSE_F_TIMEWAIT;
	ev->cookie = tc_tw_cookie(tw);
	tc_fill_common(ev, &tw->__tw_common, tw->tw_sport);
	ev->tw_substate = tw->tw_substate;
}

/* Record one transition of a timewait socket, keeping the table in step. */
static void tc_tw_event(struct inet_timewait_sock *tw, u8 oldstate,
			u8 newstate, u8 reason)
{
	bool rec = tc_recording(oldstate, newstate);
	struct tc_table_info old;
	struct tcpclose_event ev;

	tc_count_seen();
	tc_tw_fill(&ev, tw, rec);
	ev.oldstate = oldstate;
	ev.newstate = newstate;
	ev.reason = reason;
	tc_table_update(&ev, newstate, true, false, &old);
	tc_event_duration(&ev, &old, twsk_net(tw));
	if (rec)
		tc_emit(&ev);
}

/*
 * The handoff: a full socket in FIN_WAIT2 or CLOSING (or FIN_WAIT1 within a
 * FIN+ACK segment) now lives on as this timewait socket.  The timewait
 * socket does not know the full socket's state; the live table does, else
 * it is FIN_WAIT2 for a FIN_WAIT2 substate and unknown (0) otherwise.
 * Inode and unread bytes are the full socket's at its last transition.
 */
static void tc_tw_handoff(struct inet_timewait_sock *tw)
{
	struct tc_table_info old;
	/* The states are known only under the lock: the mask is asked there. */
	bool readers = READ_ONCE(tc_nr_readers);
	struct tcpclose_event ev;
	unsigned long flags;

	tc_count_seen();
	tc_tw_fill(&ev, tw, readers);
	ev.flags |= TCPCLOSE_F_HANDOFF;
	tc_fault_delay();
	flags = tc_table_lock(ev.cookie);
	tc_fault_delay();
	/* Under the lock: see tc_schedule_pre(). */
	ev.newstate = READ_ONCE(tw->tw_substate);
	ev.tw_substate = ev.newstate;
	tc_fault_delay();
	tc_table_handoff(&ev, &old);
	tc_handoff_note(ev.cookie);
	ev.oldstate = old.state;
	if (!ev.oldstate && ev.newstate == TCP_FIN_WAIT2)
		ev.oldstate = TCP_FIN_WAIT2;
	ev.ino = old.ino;
	ev.rx_queue = old.rx_queue;
	tc_event_duration(&ev, &old, twsk_net(tw));
	if (readers) {
		tc_fin_ack_merge(&ev);
		if (tc_state_wanted(ev.oldstate, ev.newstate))
			tc_emit(&ev);
	}
	tc_table_unlock(ev.cookie, flags);
}

/*
 * A reschedule found the timer not armed: on 6.12, the timewait socket may
 * be published but its handoff not reported yet.  Under the bucket lock the
 * handoff is either not begun (no entry, no note: it will read the new
 * substate itself), or done: then it read the substate before this CPU
 * changed it (its entry is in the old state: report the transition after
 * it) or after (its entry is in the new state: nothing left to report).
 * Sets *done; returns whether this transition is still to be reported.
 */
static bool tc_rearm_to_report(struct inet_timewait_sock *tw, bool *done)
{
	u64 cookie = tc_tw_cookie(tw);
	unsigned long flags;
	bool report;
	u8 state;

	flags = tc_table_lock(cookie);
	state = tc_table_timewait_state(cookie);
	if (state) {
		*done = true;
		report = state != READ_ONCE(tw->tw_substate);
	} else {
		/* An untracked socket (pool full): its note only. */
		*done = report = tc_handoff_noted(cookie);
	}
	tc_table_unlock(cookie, flags);
	return report;
}

/*
 * First scheduling: the handoff.  Rescheduling from
 * tcp_timewait_state_process(): the minisocket may just have taken the
 * peer's FIN, FIN_WAIT2 -> TIME_WAIT.
 *
 * On 6.12 the timewait socket is published in the ehash before its first
 * scheduling (inet_twsk_hashdance_schedule()) arms its timer, so another
 * CPU can find it, take the peer's FIN and reschedule it before or while
 * the handoff is reported.  Its timer is not armed yet then, and the
 * table's bucket lock decides (tc_rearm_to_report()): a handoff not begun,
 * or done after this CPU changed the substate, reports it itself (one
 * FIN_WAIT2 > TIME_WAIT handoff); a handoff done before is followed by
 * this transition; never both, never neither, in order.  (A kill cannot
 * overtake the handoff: inet_twsk_deschedule_put() waits for the ehash
 * lock.)
 */
static int tc_schedule_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = tc_arg_tw(regs);
	bool rearm = regs_get_kernel_argument(regs, 2) & 1;
	struct tc_tw_note *n = this_cpu_ptr(&tc_tw_note);
	TC_PB_DECLARE_TIMER(TC_PB_TW_SCHEDULE);

	if (tc_probes_empty() || !tc_tw_is_tcp(tw))
		return 0;
	if (!rearm) {
		tc_tw_handoff(tw);
		return 0;
	}
	if (!timer_pending(&tw->tw_timer)) {
		bool done, report = tc_rearm_to_report(tw, &done);

		tc_fault_count(!done);
		if (!report) {
			n->substate = tw->tw_substate;
			return 0;
		}
	}
	if (tc_note_valid(n, tw) && n->substate != tw->tw_substate)
		tc_tw_event(tw, n->substate, tw->tw_substate,
			    TCPCLOSE_REASON_NONE);
	n->substate = tw->tw_substate;
	return 0;
}

static int tc_state_process_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = tc_arg_tw(regs);
	const struct tcphdr *th;
	u8 reason = TCPCLOSE_REASON_NONE;
	TC_PB_DECLARE_TIMER(TC_PB_TW_PROCESS);

	if (tc_probes_empty() || !tc_tw_is_tcp(tw))
		return 0;
	th = (const struct tcphdr *)regs_get_kernel_argument(regs, 2);
	if (th->rst)
		reason = TCPCLOSE_REASON_RST;
	else if (th->syn)
		reason = TCPCLOSE_REASON_REUSE;
	tc_note(tw, reason);
	return 0;
}

/* The timer is about to kill this timewait socket: expiry. */
static int tc_timer_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct timer_list *t = (struct timer_list *)regs_get_kernel_argument(regs, 0);
	TC_PB_DECLARE_TIMER(TC_PB_TW_TIMER);

	if (tc_probes_empty())
		return 0;
	this_cpu_write(tc_tw_expiring,
		       container_of(t, struct inet_timewait_sock, tw_timer));
	return 0;
}

/* Why @tw is being killed; see the top of this file. */
static u8 tc_kill_reason(const struct inet_timewait_sock *tw)
{
	struct tc_tw_note *n = this_cpu_ptr(&tc_tw_note);

	if (tc_abort_take(tw))
		return TCPCLOSE_REASON_KILLED;
	if (in_task())
		/* connect() took the 4-tuple; a kthread: a namespace's purge */
		return current->flags & PF_KTHREAD ? TCPCLOSE_REASON_OTHER :
						     TCPCLOSE_REASON_REUSE;
	if (this_cpu_read(tc_tw_expiring) == tw) {
		this_cpu_write(tc_tw_expiring, NULL);
		return TCPCLOSE_REASON_EXPIRED;
	}
	if (tc_note_valid(n, tw) && n->reason) {
		n->sk = NULL;
		return n->reason;
	}
	/* e.g. data after our FIN: our RST (TCP_TW_RST) */
	return TCPCLOSE_REASON_OTHER;
}

static int tc_kill_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = tc_arg_tw(regs);
	TC_PB_DECLARE_TIMER(TC_PB_TW_KILL);

	if (tc_probes_empty() || !tc_tw_is_tcp(tw))
		return 0;
	tc_tw_event(tw, tw->tw_substate, TCP_CLOSE, tc_kill_reason(tw));
	return 0;
}

static struct kprobe tc_tw_kps[] = {
	{ .symbol_name = "__inet_twsk_schedule",
	  .pre_handler = tc_schedule_pre },
	{ .symbol_name = "tcp_timewait_state_process",
	  .pre_handler = tc_state_process_pre },
	{ .symbol_name = "tw_timer_handler", .pre_handler = tc_timer_pre },
	{ .symbol_name = "inet_twsk_kill", .pre_handler = tc_kill_pre },
};

static struct kprobe *tc_tw_kp_ptrs[ARRAY_SIZE(tc_tw_kps)];
static bool tc_tw_on;

int tc_timewait_init(void)
{
	int i, err;

	if (!tc_timewait_enabled)
		return 0;
	for (i = 0; i < ARRAY_SIZE(tc_tw_kps); i++)
		tc_tw_kp_ptrs[i] = &tc_tw_kps[i];
	err = register_kprobes(tc_tw_kp_ptrs, ARRAY_SIZE(tc_tw_kps));
	if (err) {
		pr_err("cannot probe the timewait path (%d); load with timewait=0 to run without it\n",
		       err);
		return err;
	}
	tc_tw_on = true;
	return 0;
}

/* unregister_kprobes() waits for running handlers to finish. */
void tc_timewait_exit(void)
{
	if (!tc_tw_on)
		return;
	unregister_kprobes(tc_tw_kp_ptrs, ARRAY_SIZE(tc_tw_kps));
	tc_tw_on = false;
}

unsigned long tc_timewait_missed(void)
{
	unsigned long sum = 0;
	int i;

	for (i = 0; tc_tw_on && i < ARRAY_SIZE(tc_tw_kps); i++)
		sum += tc_tw_kps[i].nmissed;
	return sum;
}

bool tc_timewait_active(void)
{
	return tc_tw_on;
}
