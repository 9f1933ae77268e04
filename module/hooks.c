// SPDX-License-Identifier: GPL-2.0
/*
 * State changes of full TCP sockets: the sock:inet_sock_set_state
 * tracepoint, or a kprobe on tcp_set_state() where the tracepoint is
 * missing (or when hook=kprobe asks for it).
 *
 * A kprobe can miss a hit (ftrace-based kprobes skip one that fires while
 * another kprobe runs on the CPU; the kernel counts it in nmissed): a
 * socket whose CLOSE was missed would stay in the live table forever.
 * With the kprobe, the tcp:tcp_destroy_sock tracepoint is the backstop: a
 * full socket destroyed while the table still holds it is reported as
 * closed, late.  A tracepoint does not miss, so with it the backstop would
 * only cost a table lookup per socket.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/kprobes.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include "tcpclose.h"

static struct tracepoint *tc_tp;
static struct tracepoint *tc_destroy_tp;
static bool tc_kprobe_on;

#ifdef TCPCLOSE_FAULT_INJECT
/*
 * Selftest builds only (make ... TCPCLOSE_FAULT_INJECT=1): the kprobe
 * skips the next fail_close hits on a transition to CLOSE as the kernel
 * skips a missed one, so that the backstop can be shown to work.
 */
static atomic_t tc_fail_close = ATOMIC_INIT(0);
module_param_named(fail_close, tc_fail_close.counter, int, 0644);
MODULE_PARM_DESC(fail_close, "selftest build: miss this many CLOSE hits");

static bool tc_fault_missed(struct kprobe *p, int newstate)
{
	if (newstate != TCP_CLOSE || atomic_dec_if_positive(&tc_fail_close) < 0)
		return false;
	p->nmissed++;
	return true;
}
#else
static bool tc_fault_missed(struct kprobe *p, int newstate)
{
	return false;
}
#endif

/*
 * A FIN that arrives together with the ACK of ours takes a FIN_WAIT1
 * socket through FIN_WAIT2 to TIME_WAIT within one segment.  The
 * FIN_WAIT1 > FIN_WAIT2 record is held back so that the handoff can
 * report the transition as it happened on the wire: FIN_WAIT1 > TIME_WAIT.
 * Process context (a socket's backlog) may migrate between the two, so
 * only softirq processing is merged.
 */
static bool tc_fin_ack_first_half(struct sock *sk, int oldstate,
				  int newstate)
{
	return oldstate == TCP_FIN_WAIT1 && newstate == TCP_FIN_WAIT2 &&
	       in_serving_softirq() && tc_segment_has_fin(sk);
}

/*
 * Called by the handoff (timewait.c), in the same segment.  Not when the
 * states= mask takes FIN_WAIT1 > FIN_WAIT2 but not FIN_WAIT1 > TIME_WAIT
 * (FIN_WAIT2 only): the held record then goes out as it is.
 */
void tc_fin_ack_merge(struct tcpclose_event *ev)
{
	struct tcpclose_event first;

	if (ev->newstate != TCP_TIME_WAIT ||
	    !tc_state_wanted(TCP_FIN_WAIT1, TCP_TIME_WAIT) ||
	    !tc_take_held(ev->cookie, &first))
		return;
	ev->oldstate = first.oldstate;
	ev->prev_state_ns = first.prev_state_ns;
	ev->flags &= ~TCPCLOSE_F_DUR_KNOWN;
	ev->flags |= TCPCLOSE_F_FINACK | (first.flags & TCPCLOSE_F_DUR_KNOWN);
}

/*
 * Only close states are tracked or (by default) recorded: the open path
 * (SYN_SENT, SYN_RECV, ESTABLISHED, LISTEN) half of every connection's
 * transitions leaves before any work is done.
 */
static bool tc_transition_wanted(int oldstate, int newstate)
{
	return tc_state_tracked(oldstate) || tc_state_tracked(newstate) ||
	       tc_state_wanted(oldstate, newstate);
}

/*
 * A full socket going to CLOSE right after tcp_time_wait() handed it to a
 * timewait socket is not the end of the connection: the timewait probe
 * has reported the handoff already (timewait.c), so this CLOSE is silent.
 */
void tc_record_transition(struct sock *sk, int oldstate, int newstate,
			  u32 flags)
{
	struct tc_table_info old;
	struct tcpclose_event ev;
	u64 cookie;
	bool hold, rec;
	TC_PB_DECLARE_TIMER(TC_PB_OPEN);

	if (sk->sk_protocol != IPPROTO_TCP)
		return;
	tc_count_seen();
	/*
	 * close() after shutdown() sets the state it is in (FIN_WAIT2 stays
	 * FIN_WAIT2, LAST_ACK stays LAST_ACK): no transition.  Recorded as
	 * one, FIN_WAIT2 > FIN_WAIT2 read as a second timewait handoff, with
	 * a "time in the state" for a state that had not ended.
	 */
	if (oldstate == newstate || !tc_transition_wanted(oldstate, newstate))
		return;
	TC_PB_HOOK(TC_PB_CLOSE);
	TC_PB_PART(TC_PB_P_FILTER);
	cookie = tc_sock_cookie(sk);
	/* Before the record is begun: one CLOSE in each active close. */
	if (newstate == TCP_CLOSE && tc_handoff_take(cookie))
		return;
	TC_PB_PART(TC_PB_P_COOKIE);
	rec = tc_recording(oldstate, newstate);
	tc_event_init(&ev, rec);
	TC_PB_PART(TC_PB_P_INIT);
	ev.flags |= flags;
	ev.cookie = cookie;
	if (newstate == TCP_CLOSE && tc_abort_take(sk))
		ev.reason = TCPCLOSE_REASON_KILLED;
	tc_fill_sock(&ev, sk);
	ev.oldstate = oldstate;
	ev.newstate = newstate;
	hold = rec && tc_fin_ack_first_half(sk, oldstate, newstate);
	TC_PB_PART(TC_PB_P_FILL);
	tc_table_update(&ev, newstate, false, !tc_state_tracked(oldstate), &old);
	TC_PB_PART(TC_PB_P_TABLE);
	tc_event_duration(&ev, &old, sock_net(sk));
	TC_PB_PART(TC_PB_P_HIST);
	if (!rec)
		return;
	if (hold)
		tc_hold(&ev);
	else
		tc_emit(&ev);
	TC_PB_PART(TC_PB_P_EMIT);
}

static void tc_tp_probe(void *data, const struct sock *sk, const int oldstate,
			const int newstate)
{
	if (tc_probes_empty())
		return;
	/* The cookie is generated on first use, hence the cast. */
	tc_record_transition((struct sock *)sk, oldstate, newstate, 0);
}

static int tc_set_state_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	int state = (int)regs_get_kernel_argument(regs, 1);

	if (tc_probes_empty() || tc_fault_missed(p, state))
		return 0;
	tc_record_transition(sk, READ_ONCE(sk->sk_state), state,
			     TCPCLOSE_F_KPROBE);
	return 0;
}

static struct kprobe tc_set_state_kp = {
	.symbol_name = "tcp_set_state",
	.pre_handler = tc_set_state_pre,
};

/*
 * The backstop: a full socket destroyed while the live table holds it in
 * a close state.  A socket without a cookie was never seen by a hook.
 */
static void tc_destroy_probe(void *data, struct sock *sk)
{
	u64 cookie = atomic64_read(&sk->sk_cookie);
	struct tc_table_info old;
	struct tcpclose_event ev;
	TC_PB_DECLARE_TIMER(TC_PB_DESTROY);

	if (tc_probes_empty() || !cookie || sk->sk_protocol != IPPROTO_TCP ||
	    !tc_table_destroyed(cookie, &old))
		return;
	tc_event_init(&ev, true);
	ev.flags |= TCPCLOSE_F_LATE;
	ev.cookie = cookie;
	tc_fill_sock(&ev, sk);
	ev.oldstate = old.state;
	ev.newstate = TCP_CLOSE;
	/* The CLOSE came earlier: a duration to here would be false. */
	tc_hist_note(sock_net(sk), &ev);
	if (tc_state_wanted(ev.oldstate, ev.newstate))
		tc_emit(&ev);
}

struct tc_tp_lookup {
	const char *name;
	struct tracepoint *tp;
};

static void tc_find_tp(struct tracepoint *tp, void *priv)
{
	struct tc_tp_lookup *l = priv;

	if (!strcmp(tp->name, l->name))
		l->tp = tp;
}

/* Not exported to modules by name: look them up. */
static struct tracepoint *tc_lookup_tp(const char *name)
{
	struct tc_tp_lookup l = { .name = name };

	for_each_kernel_tracepoint(tc_find_tp, &l);
	return l.tp;
}

/* Returns once @probe runs no more: nothing it uses may go before. */
static void tc_detach_tp(struct tracepoint **tp, void *probe)
{
	if (!*tp)
		return;
	tracepoint_probe_unregister(*tp, probe, NULL);
	tracepoint_synchronize_unregister();
	*tp = NULL;
}

static int tc_attach_tracepoint(void)
{
	struct tracepoint *tp = tc_lookup_tp("inet_sock_set_state");
	int err;

	if (!tp)
		return -ENOENT;
	err = tracepoint_probe_register(tp, tc_tp_probe, NULL);
	if (!err)
		tc_tp = tp;
	return err;
}

static int tc_attach_kprobe(void)
{
	struct tracepoint *tp = tc_lookup_tp("tcp_destroy_sock");
	int err;

	if (!tp) {
		pr_err("no tracepoint tcp_destroy_sock for the kprobe's backstop\n");
		return -ENOENT;
	}
	err = tracepoint_probe_register(tp, tc_destroy_probe, NULL);
	if (err)
		return err;
	tc_destroy_tp = tp;
	err = register_kprobe(&tc_set_state_kp);
	if (err) {
		tc_detach_tp(&tc_destroy_tp, tc_destroy_probe);
		return err;
	}
	tc_kprobe_on = true;
	return 0;
}

int tc_hooks_init(void)
{
	int err;

	if (!strcmp(tc_hook_mode, "kprobe"))
		return tc_attach_kprobe();
	err = tc_attach_tracepoint();
	if (!err || !strcmp(tc_hook_mode, "tracepoint"))
		return err;
	if (strcmp(tc_hook_mode, "auto"))
		return -EINVAL;
	pr_info("tracepoint inet_sock_set_state unavailable (%d), using a kprobe on tcp_set_state\n",
		err);
	return tc_attach_kprobe();
}

/* Returns once no probe is running any more. */
void tc_hooks_exit(void)
{
	tc_detach_tp(&tc_tp, tc_tp_probe);
	/* The backstop first: CLOSEs after it are not missed, just unseen. */
	tc_detach_tp(&tc_destroy_tp, tc_destroy_probe);
	if (tc_kprobe_on) {
		unregister_kprobe(&tc_set_state_kp);
		tc_kprobe_on = false;
	}
}

unsigned long tc_hooks_missed(void)
{
	return tc_kprobe_on ? tc_set_state_kp.nmissed : 0;
}

u32 tc_hooks_active(void)
{
	return (tc_tp ? TCPCLOSE_HOOK_TRACEPOINT : 0) |
	       (tc_kprobe_on ? TCPCLOSE_HOOK_KPROBE : 0);
}
