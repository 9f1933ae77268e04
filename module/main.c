// SPDX-License-Identifier: GPL-2.0
/*
 * tcpclose: shows how TCP connections close, and finds the sockets that
 * never do.  Module parameters, load and unload.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/log2.h>
#include <linux/timekeeping.h>
#include <linux/mm.h>
#include <linux/bits.h>
#include <net/tcp.h>
#include "tcpclose.h"
#include "ring.h"

#ifndef TCPCLOSE_VERSION
#define TCPCLOSE_VERSION "0.1"
#endif

unsigned int tc_ring_slots = 4096;
module_param_named(ring_size, tc_ring_slots, uint, 0444);
MODULE_PARM_DESC(ring_size,
		 "Records per CPU ring, a power of two from 16 to 1048576 (default 4096)");

unsigned int tc_table_max = 65536;
module_param_named(table_size, tc_table_max, uint, 0444);
MODULE_PARM_DESC(table_size,
		 "Full sockets (CLOSE_WAIT, LAST_ACK, FIN_WAIT1/2, CLOSING) the live table can track, 16 to 16777216 (default 65536)");

unsigned int tc_tw_table_max = 65536;
module_param_named(tw_table_size, tc_tw_table_max, uint, 0444);
MODULE_PARM_DESC(tw_table_size,
		 "Timewait sockets (FIN_WAIT2, TIME_WAIT) the live table can track, 0 to 16777216 (default 65536)");

unsigned int tc_tw_max_age = TCP_FIN_TIMEOUT_MAX / HZ + 10;
module_param_named(tw_max_age, tc_tw_max_age, uint, 0444);
MODULE_PARM_DESC(tw_max_age,
		 "Seconds after which a timewait entry whose end was not seen is dropped, 1 to 3600 (default 130, past any timewait timer; lower only to test)");

unsigned int tc_max_readers = 8;
module_param_named(max_readers, tc_max_readers, uint, 0444);
MODULE_PARM_DESC(max_readers,
		 "Streams that may be open at once, 1 to 64 (default 8); each costs ring_size x 136 bytes per possible CPU");

/* Bits of real TCP states only, and at least one. */
#define TC_VALID_STATES	(GENMASK(TCPCLOSE_MAX_STATES - 1, 1))

static int tc_states_set(const char *val, const struct kernel_param *kp)
{
	unsigned int mask;
	int err = kstrtouint(val, 0, &mask);

	if (err)
		return err;
	if (!mask || mask & ~TC_VALID_STATES) {
		pr_err("states=%#x: must be a non-zero mask of TCP state bits within %#lx\n",
		       mask, TC_VALID_STATES);
		return -EINVAL;
	}
	WRITE_ONCE(tc_state_mask, mask);
	return 0;
}

static const struct kernel_param_ops tc_states_ops = {
	.set = tc_states_set,
	.get = param_get_uint,
};

unsigned int tc_state_mask = TCPCLOSE_DEFAULT_STATES;
module_param_cb(states, &tc_states_ops, &tc_state_mask, 0644);
MODULE_PARM_DESC(states,
		 "Bit mask of TCP states (bit N = state N): transitions into or out of them are recorded (default: FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE_WAIT, LAST_ACK, CLOSING)");

char *tc_hook_mode = "auto";
module_param_named(hook, tc_hook_mode, charp, 0444);
MODULE_PARM_DESC(hook,
		 "State-change hook: auto (tracepoint, else kprobe), tracepoint or kprobe");

bool tc_timewait_enabled = true;
module_param_named(timewait, tc_timewait_enabled, bool, 0444);
MODULE_PARM_DESC(timewait,
		 "Follow timewait sockets with kprobes: FIN_WAIT2/TIME_WAIT after handoff and their end (default Y)");

u64 tc_load_ns;

/*
 * Refuse, with a message rather than an allocation failure's stack trace,
 * sizes that would take more than a quarter of memory: the table at load,
 * every stream's rings once max_readers readers are open.
 */
static int __init tc_check_memory(void)
{
	u64 ram = (u64)totalram_pages() << PAGE_SHIFT;
	u64 table = ((u64)tc_table_max + tc_tw_table_max) * tc_table_entry_size();
	u64 rings = (u64)num_possible_cpus() * tc_ring_slots *
		    sizeof(struct tc_slot) * tc_max_readers;

	if (table + rings > ram / 4) {
		pr_err("table (%llu MiB) and %u streams' rings (%llu MiB) exceed a quarter of memory (%llu MiB): lower table_size, tw_table_size, ring_size or max_readers\n",
		       table >> 20, tc_max_readers, rings >> 20, ram >> 22);
		return -EINVAL;
	}
	return 0;
}

static int __init tc_check_params(void)
{
	if (!is_power_of_2(tc_ring_slots) || tc_ring_slots < 16 ||
	    tc_ring_slots > (1U << 20)) {
		pr_err("ring_size=%u: must be a power of two from 16 to 1048576\n",
		       tc_ring_slots);
		return -EINVAL;
	}
	if (tc_table_max < 16 || tc_table_max > (1U << 24) ||
	    tc_tw_table_max > (1U << 24)) {
		pr_err("table_size=%u tw_table_size=%u: must be from 16 (0 for tw_table_size) to 16777216\n",
		       tc_table_max, tc_tw_table_max);
		return -EINVAL;
	}
	if (tc_tw_max_age < 1 || tc_tw_max_age > 3600) {
		pr_err("tw_max_age=%u: must be from 1 to 3600\n", tc_tw_max_age);
		return -EINVAL;
	}
	if (tc_max_readers < 1 || tc_max_readers > 64) {
		pr_err("max_readers=%u: must be from 1 to 64\n", tc_max_readers);
		return -EINVAL;
	}
	if (strcmp(tc_hook_mode, "auto") && strcmp(tc_hook_mode, "kprobe") &&
	    strcmp(tc_hook_mode, "tracepoint")) {
		pr_err("hook=%s: must be auto, tracepoint or kprobe\n",
		       tc_hook_mode);
		return -EINVAL;
	}
	return tc_check_memory();
}

static int __init tc_init(void)
{
	int err;

	err = tc_check_params();
	if (err)
		return err;
	tc_load_ns = ktime_get_ns();
	err = tc_table_init();
	if (err)
		return err;
	err = tc_hist_init();
	if (err)
		goto out_table;
	err = tc_timewait_init();
	if (err)
		goto out_hist;
	tc_segment_init();
	tc_abort_init();
	err = tc_hooks_init();
	if (err) {
		pr_err("cannot attach a state-change hook (hook=%s): %d\n",
		       tc_hook_mode, err);
		goto out_timewait;
	}
	err = tc_dev_init();
	if (err)
		goto out_hooks;
	pr_info("version %s loaded: ring %u records/CPU per stream, up to %u streams, table %u + %u timewait sockets\n",
		TCPCLOSE_VERSION, tc_ring_slots, tc_max_readers, tc_table_max,
		tc_tw_table_max);
	return 0;

out_hooks:
	tc_hooks_exit();
out_timewait:
	tc_abort_exit();
	tc_segment_exit();
	tc_timewait_exit();
out_hist:
	tc_hist_exit();
out_table:
	tc_table_exit();
	return err;
}

static void __exit tc_exit(void)
{
	tc_dev_exit();
	tc_hooks_exit();
	tc_abort_exit();
	tc_segment_exit();
	tc_timewait_exit();
	/* The hooks are gone: nothing counts into the histograms any more. */
	tc_hist_exit();
	tc_table_exit();
	pr_info("unloaded\n");
}

module_init(tc_init);
module_exit(tc_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("The tcpclose authors");
MODULE_DESCRIPTION("Trace TCP connection close states and find sockets stuck in them");
MODULE_VERSION(TCPCLOSE_VERSION);
