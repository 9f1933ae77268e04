// SPDX-License-Identifier: GPL-2.0
/*
 * The segment that tcp_rcv_state_process() is working on: whether it
 * carries a FIN tells a FIN_WAIT1 > FIN_WAIT2 transition that TIME_WAIT
 * follows within the same segment (see hooks.c).  A kretprobe marks the
 * end of the segment, where a record held back for merging is released.
 *
 * Only a record is ever merged, so the kretprobe is armed only while a
 * reader's stream exists (tc_segment_get()/put()): a host that keeps the
 * module loaded for its table and histograms does not pay, on every
 * handshake and close segment, for the costliest of its hooks (the
 * bench's no-reader rate, Documentation/admin-guide.rst).  Arming patches
 * the function's ftrace site, which sleeps: done when the first stream
 * starts and the last one ends, in process context.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <net/sock.h>
#include <net/tcp.h>
#include "tcpclose.h"

/* This CPU's segment with a FIN at a FIN_WAIT1 socket, in softirq. */
static DEFINE_PER_CPU(const struct sock *, tc_segment_sk);
static bool tc_segment_on;
/* Streams that want the kretprobe armed; arming and disarming under it. */
static DEFINE_MUTEX(tc_segment_lock);
static unsigned int tc_segment_users;

/* The pointer is compared only, never dereferenced. */
bool tc_segment_has_fin(const struct sock *sk)
{
	return __this_cpu_read(tc_segment_sk) == sk;
}

/*
 * Only a segment with a FIN that reaches a FIN_WAIT1 socket can take it
 * through FIN_WAIT2 to TIME_WAIT within the segment, and only softirq
 * processing is merged (hooks.c).  Every other segment (some five per
 * connection: both SYNs, the handshake's ACK, the last ACK) returns 1,
 * which spares it the return probe: the costliest part of a kretprobe.
 * in_serving_softirq(), not !in_task(): a kprobe that traps (int3, not
 * ftrace) runs as an NMI to in_task().
 */
static int tc_rcv_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	struct sk_buff *skb = (struct sk_buff *)regs_get_kernel_argument(regs, 1);
	TC_PB_DECLARE_TIMER(TC_PB_RCV_ENTRY);

	if (tc_probes_empty() || !in_serving_softirq() ||
	    READ_ONCE(sk->sk_state) != TCP_FIN_WAIT1 ||
	    !tcp_hdr(skb)->fin) {
		__this_cpu_write(tc_segment_sk, NULL);
		return 1;
	}
	__this_cpu_write(tc_segment_sk, sk);
	return 0;
}

static int tc_rcv_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	TC_PB_DECLARE_TIMER(TC_PB_RCV_RETURN);

	__this_cpu_write(tc_segment_sk, NULL);
	tc_flush_held();
	return 0;
}

static struct kretprobe tc_rcv_krp = {
	.kp.symbol_name = "tcp_rcv_state_process",
	.entry_handler = tc_rcv_entry,
	.handler = tc_rcv_return,
};

/*
 * Without it, FIN+ACK reads FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT: not fatal.
 * Registered disarmed: the first stream arms it.
 */
void tc_segment_init(void)
{
	int err;

	if (!tc_timewait_enabled)
		return;
	tc_rcv_krp.maxactive = max_t(int, 16, 2 * num_possible_cpus());
	tc_rcv_krp.kp.flags = KPROBE_FLAG_DISABLED;
	err = register_kretprobe(&tc_rcv_krp);
	if (err)
		pr_warn("no kretprobe on tcp_rcv_state_process (%d): FIN+ACK shows as FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT\n",
			err);
	tc_segment_on = !err;
}

/*
 * enable_kretprobe() says 0 and leaves the probe disarmed while every
 * kprobe is (debug/kprobes/enabled is 0); the kernel then re-arms only
 * the probes not marked disabled, not this one.
 */
static void tc_segment_arm(void)
{
	int err = enable_kretprobe(&tc_rcv_krp);

	if (err)
		pr_warn_ratelimited("cannot arm the kretprobe on tcp_rcv_state_process (%d): FIN+ACK shows as FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT until a later stream arms it\n",
				    err);
	else if (kprobe_disabled(&tc_rcv_krp.kp))
		pr_warn_ratelimited("kprobes are disarmed (debug/kprobes/enabled): FIN+ACK shows as FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT until a later stream arms the kretprobe\n");
}

/*
 * A stream starts (before it joins the readers, so that a segment after
 * its first record is seen whole).  A segment already in
 * tcp_rcv_state_process() when the probe is armed has no note: its
 * FIN+ACK, if any, shows as two records.  Every stream that finds the
 * probe disarmed tries again: a failure does not last until all close.
 */
void tc_segment_get(void)
{
	mutex_lock(&tc_segment_lock);
	tc_segment_users++;
	if (tc_segment_on && kprobe_disabled(&tc_rcv_krp.kp))
		tc_segment_arm();
	mutex_unlock(&tc_segment_lock);
}

/*
 * A stream ended (after it left the readers).  Segments under way finish
 * their return probe disarmed or not: their held record is released.
 */
void tc_segment_put(void)
{
	mutex_lock(&tc_segment_lock);
	if (!--tc_segment_users && tc_segment_on)
		disable_kretprobe(&tc_rcv_krp);
	mutex_unlock(&tc_segment_lock);
}

/*
 * For STATS: whether FIN+ACKs are merged now (TCPCLOSE_HOOK_FINACK), and
 * whether a stream wants them to be (TCPCLOSE_HOOK_FINACK_WANTED), under
 * the lock that arms and disarms: a stream starting or ending between two
 * separate looks would read as a failure to arm.
 */
u32 tc_segment_hooks(void)
{
	u32 hooks = 0;

	mutex_lock(&tc_segment_lock);
	if (tc_segment_on && !kprobe_disabled(&tc_rcv_krp.kp))
		hooks |= TCPCLOSE_HOOK_FINACK;
	if (tc_segment_users)
		hooks |= TCPCLOSE_HOOK_FINACK_WANTED;
	mutex_unlock(&tc_segment_lock);
	return hooks;
}

unsigned long tc_segment_missed(void)
{
	return tc_segment_on ? tc_rcv_krp.kp.nmissed + tc_rcv_krp.nmissed : 0;
}

void tc_segment_exit(void)
{
	if (tc_segment_on)
		unregister_kretprobe(&tc_rcv_krp);
	tc_segment_on = false;
}
