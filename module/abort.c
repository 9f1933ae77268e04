// SPDX-License-Identifier: GPL-2.0
/*
 * ss -K (SOCK_DESTROY through sock_diag, or a BPF program) ends a socket
 * in tcp_abort(): a full socket goes to CLOSE through tcp_done(), a
 * timewait socket dies in inet_twsk_kill(), both within the call and in
 * the calling context.  A kretprobe records (socket, task) for as long as
 * the call lasts, so that exactly those ends read "killed": whatever CPU
 * the task runs on by then (lock_sock() may sleep and migrate), however
 * slow the kernel is, and never another context's end of the same socket
 * meanwhile (the owner processing its backlog, a timer) nor a later socket
 * that reuses the memory.  With every slot busy the end carries no
 * reason: unknown, never wrong.  tcp_abort() is rare: the connection path
 * pays one atomic read, at a CLOSE or a timewait kill.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/sched.h>
#include <net/sock.h>
#include "tcpclose.h"

#define TC_ABORT_SLOTS	16

struct tc_abort_slot {
	struct task_struct *task;	/* claimed with cmpxchg; compared only */
	const void *sk;			/* compared only */
};

static struct tc_abort_slot tc_aborts[TC_ABORT_SLOTS];
static atomic_t tc_aborts_busy = ATOMIC_INIT(0);

static int tc_abort_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	int *slot = (int *)ri->data, i;

	if (tc_probes_empty())
		return 1;
	*slot = -1;
	for (i = 0; i < TC_ABORT_SLOTS; i++) {
		if (cmpxchg(&tc_aborts[i].task, NULL, current))
			continue;
		WRITE_ONCE(tc_aborts[i].sk,
			   (const void *)regs_get_kernel_argument(regs, 0));
		atomic_inc(&tc_aborts_busy);
		*slot = i;
		break;
	}
	return 0;
}

static int tc_abort_return(struct kretprobe_instance *ri,
			   struct pt_regs *regs)
{
	int slot = *(int *)ri->data;

	if (slot < 0)
		return 0;
	WRITE_ONCE(tc_aborts[slot].sk, NULL);
	atomic_dec(&tc_aborts_busy);
	/* sk is cleared before another task can claim the slot. */
	smp_store_release(&tc_aborts[slot].task, NULL);
	return 0;
}

static struct kretprobe tc_abort_krp = {
	.kp.symbol_name = "tcp_abort",
	.entry_handler = tc_abort_entry,
	.handler = tc_abort_return,
	.data_size = sizeof(int),
};

static bool tc_abort_on;

/*
 * Whether the current context is tcp_abort() ending @sk (full or
 * timewait).  Only the calling task's own slot can match, and it changes
 * only in that task's own entry and return.
 */
bool tc_abort_take(const void *sk)
{
	int i;

	if (!atomic_read(&tc_aborts_busy))
		return false;
	for (i = 0; i < TC_ABORT_SLOTS; i++)
		if (READ_ONCE(tc_aborts[i].task) == current &&
		    READ_ONCE(tc_aborts[i].sk) == sk)
			return true;
	return false;
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
