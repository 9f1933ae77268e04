// SPDX-License-Identifier: GPL-2.0
/*
 * ss -K (SOCK_DESTROY through sock_diag, or a BPF program) ends a socket
 * in tcp_abort(): a full socket goes to CLOSE through tcp_done(), a
 * timewait socket dies in inet_twsk_kill(), both within the call.  A
 * kretprobe marks, per CPU, the socket that tcp_abort() is working on for
 * exactly as long as the call lasts, so that those ends read "killed"
 * however slow the kernel is (a time bound would not hold on a debug
 * kernel), and never a later end of a socket that reuses the memory.
 * If the task migrates inside the call (lock_sock() may sleep), the end
 * runs on another CPU and carries no reason: unknown, never wrong.
 * tcp_abort() is rare: the probe costs nothing on the connection path.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <net/sock.h>
#include "tcpclose.h"

/* The socket tcp_abort() is working on, per CPU; compared only. */
static DEFINE_PER_CPU(const void *, tc_aborting);

struct tc_abort_call {
	const void *sk;
	int cpu;
};

static int tc_abort_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tc_abort_call *call = (struct tc_abort_call *)ri->data;

	call->sk = (const void *)regs_get_kernel_argument(regs, 0);
	call->cpu = smp_processor_id();
	this_cpu_write(tc_aborting, call->sk);
	return 0;
}

/* Cleared on the CPU of entry, where it was set, if still this call's. */
static int tc_abort_return(struct kretprobe_instance *ri,
			   struct pt_regs *regs)
{
	struct tc_abort_call *call = (struct tc_abort_call *)ri->data;

	cmpxchg(per_cpu_ptr(&tc_aborting, call->cpu), call->sk, NULL);
	return 0;
}

static struct kretprobe tc_abort_krp = {
	.kp.symbol_name = "tcp_abort",
	.entry_handler = tc_abort_entry,
	.handler = tc_abort_return,
	.data_size = sizeof(struct tc_abort_call),
};

static bool tc_abort_on;

/* Whether tcp_abort() is ending @sk (full or timewait) on this CPU now. */
bool tc_abort_take(const void *sk)
{
	return tc_abort_on && this_cpu_read(tc_aborting) == sk;
}

/* Without it, ss -K reads as no reason (full) or reuse (timewait). */
void tc_abort_init(void)
{
	int err;

	tc_abort_krp.maxactive = max_t(int, 8, num_possible_cpus());
	err = register_kretprobe(&tc_abort_krp);
	if (err)
		pr_warn("no kretprobe on tcp_abort (%d): ss -K kills carry no reason\n",
			err);
	tc_abort_on = !err;
}

void tc_abort_exit(void)
{
	if (tc_abort_on)
		unregister_kretprobe(&tc_abort_krp);
	tc_abort_on = false;
}

unsigned long tc_abort_missed(void)
{
	return tc_abort_on ? tc_abort_krp.kp.nmissed + tc_abort_krp.nmissed : 0;
}
