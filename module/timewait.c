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
 * The handoff is noted in the live table under the cookie, for the full
 * socket's CLOSE that follows.  A per-CPU note carries what the packet and
 * timer paths know (substate before, RST, SYN, expiry) to the probes that
 * run next in the same softirq; it holds the timewait socket's address
 * only to compare it, never to dereference it.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/inet_timewait_sock.h>
#include "tcpclose.h"

/* What the last probe knew about a timewait socket about to change. */
struct tc_tw_note {
	const struct inet_timewait_sock *tw;
	u8 substate;		/* on entry to tcp_timewait_state_process() */
	u8 reason;
};

static DEFINE_PER_CPU(struct tc_tw_note, tc_tw_note);

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

	n->tw = tw;
	n->substate = tw->tw_substate;
	n->reason = reason;
}

static void tc_tw_fill(struct tcpclose_event *ev,
		       struct inet_timewait_sock *tw)
{
	tc_event_init(ev);
	ev->flags |= TCPCLOSE_F_TIMEWAIT;
	ev->cookie = tc_tw_cookie(tw);
	tc_fill_common(ev, &tw->__tw_common, tw->tw_sport);
	ev->tw_substate = tw->tw_substate;
}

/* Record one transition of a timewait socket, keeping the table in step. */
static void tc_tw_event(struct inet_timewait_sock *tw, u8 oldstate,
			u8 newstate, u8 reason)
{
	struct tc_table_info old;
	struct tcpclose_event ev;

	tc_count_seen();
	tc_tw_fill(&ev, tw);
	ev.oldstate = oldstate;
	ev.newstate = newstate;
	ev.reason = reason;
	tc_table_update(&ev, newstate, true, &old);
	tc_event_duration(&ev, &old);
	if (tc_state_wanted(oldstate, newstate))
		tc_emit(&ev);
}

/* inet_twsk_alloc() copies the cookie only if it exists already. */
static int tc_time_wait_pre(struct kprobe *p, struct pt_regs *regs)
{
	tc_sock_cookie((struct sock *)regs_get_kernel_argument(regs, 0));
	return 0;
}

/*
 * First scheduling: the handoff succeeded (tcp_time_wait() calls it before
 * tcp_done()).  Rescheduling from tcp_timewait_state_process(): the
 * minisocket may just have taken the peer's FIN, FIN_WAIT2 -> TIME_WAIT.
 */
static int tc_schedule_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = tc_arg_tw(regs);
	bool rearm = regs_get_kernel_argument(regs, 2) & 1;
	struct tc_tw_note *n = this_cpu_ptr(&tc_tw_note);
	struct tcpclose_event ev;

	if (!tc_tw_is_tcp(tw))
		return 0;
	if (!rearm) {
		tc_tw_fill(&ev, tw);
		tc_table_note_handoff(&ev, tw->tw_substate);
		return 0;
	}
	if (n->tw == tw && n->substate != tw->tw_substate)
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

	if (!tc_tw_is_tcp(tw))
		return 0;
	th = (const struct tcphdr *)regs_get_kernel_argument(regs, 2);
	if (th->rst)
		reason = TCPCLOSE_REASON_RST;
	else if (th->syn)
		reason = TCPCLOSE_REASON_REUSE;
	tc_note(tw, reason);
	return 0;
}

static int tc_timer_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct timer_list *t = (struct timer_list *)
		regs_get_kernel_argument(regs, 0);

	tc_note(container_of(t, struct inet_timewait_sock, tw_timer),
		TCPCLOSE_REASON_EXPIRED);
	return 0;
}

static int tc_kill_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = tc_arg_tw(regs);
	struct tc_tw_note *n = this_cpu_ptr(&tc_tw_note);
	/* e.g. inet_twsk_purge() when a network namespace goes away */
	u8 reason = TCPCLOSE_REASON_OTHER;

	if (!tc_tw_is_tcp(tw))
		return 0;
	if (n->tw == tw && n->reason) {
		reason = n->reason;
		n->tw = NULL;
	} else if (in_task() && !(current->flags & PF_KTHREAD)) {
		/* Not the packet path nor the timer: connect() took the tuple. */
		reason = TCPCLOSE_REASON_REUSE;
	}
	tc_tw_event(tw, tw->tw_substate, TCP_CLOSE, reason);
	return 0;
}

static struct kprobe tc_tw_kps[] = {
	{ .symbol_name = "tcp_time_wait", .pre_handler = tc_time_wait_pre },
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

bool tc_timewait_active(void)
{
	return tc_tw_on;
}
