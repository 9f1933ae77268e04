// SPDX-License-Identifier: GPL-2.0
/*
 * Bench builds only (make bench-path, TCPCLOSE_PATH_BENCH=1; never
 * shipped): what each step of the record path costs, by itself.
 *
 * `make bench` measures the whole: connections per second with and
 * without the module.  Under TCG a window's rate varies by 5-10 %, which
 * hides any one step of the hot path.  Here each step runs in a tight
 * loop on a real TCP socket (never connected), timed by the clock around
 * the loop, the steps interleaved round by round; the median and min-max
 * of the rounds are printed.  The numbers say where the time goes and
 * which change is worth trying; `make bench` says whether it paid.
 *
 * Writing N to /sys/module/tcpclose/parameters/path_bench runs N rounds
 * (1..99) and prints one line per step ("tcpclose: path: ...").  The
 * module must be loaded without readers attached, and the table is left
 * as it was (every socket the loops enter, they remove).
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/timex.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include "tcpclose.h"

#define TC_PB_ITERS	20000
#define TC_PB_CHUNK	1000
#define TC_PB_MAX_ROUNDS 99

struct tc_pb_ctx {
	struct sock *sk;
	u64 cookie;
	struct tcpclose_event ev;
};

struct tc_pb_step {
	const char *name;
	const char *what;
	void (*run)(struct tc_pb_ctx *c);
	void (*after)(struct tc_pb_ctx *c);	/* leaves the table as it was */
};

static u64 tc_pb_word;
static DEFINE_RAW_SPINLOCK(tc_pb_lock);

static noinline void tc_pb_loop(struct tc_pb_ctx *c)
{
	barrier();
}

static void tc_pb_clock(struct tc_pb_ctx *c)
{
	c->ev.ts_ns = ktime_get_ns();
}

static void tc_pb_irqsave(struct tc_pb_ctx *c)
{
	unsigned long flags;

	local_irq_save(flags);
	local_irq_restore(flags);
}

static void tc_pb_rawlock(struct tc_pb_ctx *c)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&tc_pb_lock, flags);
	raw_spin_unlock_irqrestore(&tc_pb_lock, flags);
}

static void tc_pb_cmpxchg(struct tc_pb_ctx *c)
{
	cmpxchg(&tc_pb_word, c->cookie, c->cookie + 1);
	tc_pb_word = c->cookie;
}

static void tc_pb_memset(struct tc_pb_ctx *c)
{
	memset(&c->ev, 0, sizeof(c->ev));
	barrier();
}

static void tc_pb_event_init(struct tc_pb_ctx *c)
{
	tc_event_init(&c->ev, true);
}

static void tc_pb_cookie(struct tc_pb_ctx *c)
{
	c->ev.cookie = tc_sock_cookie(c->sk);
}

static void tc_pb_fill(struct tc_pb_ctx *c)
{
	tc_fill_sock(&c->ev, c->sk);
}

static void tc_pb_takes(struct tc_pb_ctx *c)
{
	if (tc_handoff_take(c->cookie) || tc_abort_take(c->sk))
		pr_warn_once("path: a handoff or abort note for the bench socket\n");
}

/* Enter CLOSE_WAIT, leave to CLOSE: two updates. */
static void tc_pb_table(struct tc_pb_ctx *c)
{
	struct tc_table_info old;

	c->ev.cookie = c->cookie;
	tc_table_update(&c->ev, TCP_CLOSE_WAIT, false, true, &old);
	tc_table_update(&c->ev, TCP_CLOSE, false, false, &old);
}

/* The socket stays in CLOSE_WAIT: one update of its entry. */
static void tc_pb_table_set(struct tc_pb_ctx *c)
{
	struct tc_table_info old;

	c->ev.cookie = c->cookie;
	tc_table_update(&c->ev, TCP_CLOSE_WAIT, false, true, &old);
}

static void tc_pb_table_out(struct tc_pb_ctx *c)
{
	struct tc_table_info old;

	c->ev.cookie = c->cookie;
	tc_table_update(&c->ev, TCP_CLOSE, false, false, &old);
}

static void tc_pb_hist(struct tc_pb_ctx *c)
{
	c->ev.oldstate = TCP_CLOSE_WAIT;
	c->ev.newstate = TCP_LAST_ACK;
	c->ev.prev_state_ns = 1000;
	c->ev.flags = TCPCLOSE_F_DUR_KNOWN;
	tc_hist_note(sock_net(c->sk), &c->ev);
}

static void tc_pb_emit(struct tc_pb_ctx *c)
{
	tc_emit(&c->ev);
}

static void tc_pb_open(struct tc_pb_ctx *c)
{
	tc_record_transition(c->sk, TCP_SYN_SENT, TCP_ESTABLISHED, 0);
}

static void tc_pb_passive(struct tc_pb_ctx *c)
{
	tc_record_transition(c->sk, TCP_ESTABLISHED, TCP_CLOSE_WAIT, 0);
	tc_record_transition(c->sk, TCP_CLOSE_WAIT, TCP_LAST_ACK, 0);
	tc_record_transition(c->sk, TCP_LAST_ACK, TCP_CLOSE, 0);
}

/*
 * tc_record_transition() rebuilt from its parts, each of which @skip can
 * leave out: what the whole costs without it.  Only for the passive close
 * of the bench socket (no handoff, no hold).
 */
enum {
	TC_PB_INIT = 1,
	TC_PB_FILL = 2,
	TC_PB_TABLE = 4,
	TC_PB_HIST = 8,
	TC_PB_EMIT = 16,
};

static void tc_pb_transition(struct tc_pb_ctx *c, int oldstate, int newstate,
			     int skip)
{
	bool rec = tc_recording(oldstate, newstate);
	struct tc_table_info old = {};
	struct tcpclose_event ev;
	u64 cookie;

	tc_count_seen();
	cookie = tc_sock_cookie(c->sk);
	if (newstate == TCP_CLOSE && tc_handoff_take(cookie))
		return;
	/* As tc_record_transition(): no reader, no record built. */
	if (skip & TC_PB_INIT)
		ev = c->ev;
	else
		tc_event_init(&ev, rec);
	ev.cookie = cookie;
	if (newstate == TCP_CLOSE && tc_abort_take(c->sk))
		ev.reason = TCPCLOSE_REASON_KILLED;
	if (!(skip & TC_PB_FILL))
		tc_fill_sock(&ev, c->sk);
	ev.oldstate = oldstate;
	ev.newstate = newstate;
	if (!(skip & TC_PB_TABLE))
		tc_table_update(&ev, newstate, false,
				!tc_state_tracked(oldstate), &old);
	if (!(skip & TC_PB_HIST))
		tc_event_duration(&ev, &old, sock_net(c->sk));
	if (!(skip & TC_PB_EMIT) && rec)
		tc_emit(&ev);
}

static void tc_pb_manual(struct tc_pb_ctx *c, int skip)
{
	tc_pb_transition(c, TCP_ESTABLISHED, TCP_CLOSE_WAIT, skip);
	tc_pb_transition(c, TCP_CLOSE_WAIT, TCP_LAST_ACK, skip);
	tc_pb_transition(c, TCP_LAST_ACK, TCP_CLOSE, skip);
}

static void tc_pb_manual_all(struct tc_pb_ctx *c)
{
	tc_pb_manual(c, 0);
}

static void tc_pb_manual_noinit(struct tc_pb_ctx *c)
{
	tc_pb_manual(c, TC_PB_INIT);
}

static void tc_pb_manual_nofill(struct tc_pb_ctx *c)
{
	tc_pb_manual(c, TC_PB_FILL);
}

static void tc_pb_manual_notable(struct tc_pb_ctx *c)
{
	tc_pb_manual(c, TC_PB_TABLE);
}

static void tc_pb_manual_nohist(struct tc_pb_ctx *c)
{
	tc_pb_manual(c, TC_PB_HIST);
}

static void tc_pb_manual_noemit(struct tc_pb_ctx *c)
{
	tc_pb_manual(c, TC_PB_EMIT);
}

static void tc_pb_manual_none(struct tc_pb_ctx *c)
{
	tc_pb_manual(c, TC_PB_INIT | TC_PB_FILL | TC_PB_TABLE | TC_PB_HIST |
		     TC_PB_EMIT);
}

static const struct tc_pb_step tc_pb_steps[] = {
	{ "loop", "an empty call: the loop itself", tc_pb_loop },
	{ "clock", "ktime_get_ns()", tc_pb_clock },
	{ "irqsave", "local_irq_save + restore", tc_pb_irqsave },
	{ "rawlock", "raw_spin_lock_irqsave + unlock", tc_pb_rawlock },
	{ "cmpxchg", "one locked cmpxchg", tc_pb_cmpxchg },
	{ "memset", "memset of one record", tc_pb_memset },
	{ "event_init", "tc_event_init (header, clock, task)", tc_pb_event_init },
	{ "cookie", "tc_sock_cookie", tc_pb_cookie },
	{ "fill_sock", "tc_fill_sock", tc_pb_fill },
	{ "takes", "handoff and abort lookups (misses)", tc_pb_takes },
	{ "table", "live table: enter + leave (2 updates)", tc_pb_table },
	{ "table-set", "live table: one update of an entry", tc_pb_table_set,
	  tc_pb_table_out },
	{ "table-miss", "live table: leaving, not in it", tc_pb_table_out },
	{ "hist", "tc_hist_note, host + namespace", tc_pb_hist },
	{ "emit", "tc_emit with no reader", tc_pb_emit },
	{ "open", "one open-path transition (filtered)", tc_pb_open },
	{ "passive", "EST>CW, CW>LA, LA>CLOSE (3 transitions)", tc_pb_passive },
	{ "p-rebuilt", "passive, rebuilt from the parts", tc_pb_manual_all },
	{ "p-noinit", "rebuilt, without tc_event_init", tc_pb_manual_noinit },
	{ "p-nofill", "rebuilt, without tc_fill_sock", tc_pb_manual_nofill },
	{ "p-notable", "rebuilt, without the table", tc_pb_manual_notable },
	{ "p-nohist", "rebuilt, without duration + histograms", tc_pb_manual_nohist },
	{ "p-noemit", "rebuilt, without tc_emit", tc_pb_manual_noemit },
	{ "p-none", "rebuilt, with none of those", tc_pb_manual_none },
};

#define TC_PB_STEPS ARRAY_SIZE(tc_pb_steps)

/* ns per iteration of one step; preemption off as in a hook. */
static u64 tc_pb_time(const struct tc_pb_step *s, struct tc_pb_ctx *c)
{
	u64 t0, ns = 0;
	int i, j;

	for (i = 0; i < TC_PB_ITERS; i += TC_PB_CHUNK) {
		preempt_disable();
		t0 = ktime_get_ns();
		for (j = 0; j < TC_PB_CHUNK; j++)
			s->run(c);
		ns += ktime_get_ns() - t0;
		preempt_enable();
		cond_resched();
	}
	if (s->after)
		s->after(c);
	return ns / TC_PB_ITERS;
}

static int tc_pb_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void tc_pb_print(u64 (*ns)[TC_PB_MAX_ROUNDS], int rounds)
{
	unsigned int i;

	for (i = 0; i < TC_PB_STEPS; i++) {
		sort(ns[i], rounds, sizeof(u64), tc_pb_cmp, NULL);
		pr_info("path: step=%s ns=%llu min=%llu max=%llu rounds=%d iters=%d what=\"%s\"\n",
			tc_pb_steps[i].name, ns[i][rounds / 2], ns[i][0],
			ns[i][rounds - 1], rounds, TC_PB_ITERS,
			tc_pb_steps[i].what);
	}
}

static int tc_pb_run(int rounds)
{
	u64 (*ns)[TC_PB_MAX_ROUNDS];
	struct tc_pb_ctx c = {};
	struct socket *sock;
	unsigned int i, k;
	int r, err;

	err = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &sock);
	if (err)
		return err;
	ns = kcalloc(TC_PB_STEPS, sizeof(*ns), GFP_KERNEL);
	if (!ns) {
		sock_release(sock);
		return -ENOMEM;
	}
	c.sk = sock->sk;
	c.cookie = tc_sock_cookie(c.sk);
	/* Rotated each round: no step always runs after the same one. */
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < TC_PB_STEPS; k++) {
			i = (k + r) % TC_PB_STEPS;
			ns[i][r] = tc_pb_time(&tc_pb_steps[i], &c);
		}
	}
	tc_pb_print(ns, rounds);
	kfree(ns);
	sock_release(sock);
	return 0;
}

static int tc_pb_set(const char *val, const struct kernel_param *kp)
{
	int rounds, err = kstrtoint(val, 0, &rounds);

	if (err)
		return err;
	if (rounds < 1 || rounds > TC_PB_MAX_ROUNDS)
		return -EINVAL;
	return tc_pb_run(rounds);
}

static const struct kernel_param_ops tc_pb_ops = {
	.set = tc_pb_set,
};

module_param_cb(path_bench, &tc_pb_ops, NULL, 0200);
MODULE_PARM_DESC(path_bench, "bench build: time each step of the record path for N rounds");

/*
 * The hooks timed under real connections (TC_PB_DECLARE_TIMER in tcpclose.h):
 * per CPU, per hook its hits and cycles, per part of a close transition
 * its cycles.  Cycles (rdtsc), not ktime_get_ns(): on a VM with an
 * emulated hpet a clock read costs more than some of the parts.  A hook
 * interrupted by another counts the other's time too (rare: softirq
 * work on a process's transition).
 */
struct tc_pb_count {
	/* [TC_PB_HOOKS]: the timer's own calibration, not printed */
	u64 hits[TC_PB_HOOKS + 1];
	u64 cycles[TC_PB_HOOKS + 1];
	u64 part[TC_PB_PARTS];
};

static DEFINE_PER_CPU(struct tc_pb_count, tc_pb_count);
static u64 tc_pb_reset_ns, tc_pb_reset_cycles;
/* From the first write to path_hooks: the step loops run untimed. */
static bool tc_pb_timing;

static const char *const tc_pb_hook_names[TC_PB_HOOKS] = {
	[TC_PB_OPEN] = "open", [TC_PB_CLOSE] = "close",
	[TC_PB_DESTROY] = "destroy", [TC_PB_TW_SCHEDULE] = "tw_schedule",
	[TC_PB_TW_PROCESS] = "tw_process", [TC_PB_TW_TIMER] = "tw_timer",
	[TC_PB_TW_KILL] = "tw_kill", [TC_PB_RCV_ENTRY] = "rcv_entry",
	[TC_PB_RCV_RETURN] = "rcv_return", [TC_PB_READ] = "read",
	[TC_PB_READ_REC] = "read_rec", [TC_PB_POLL] = "poll",
	[TC_PB_WAKE] = "wake",
};

static const char *const tc_pb_part_names[TC_PB_PARTS] = {
	[TC_PB_P_FILTER] = "filter", [TC_PB_P_COOKIE] = "cookie",
	[TC_PB_P_INIT] = "init", [TC_PB_P_FILL] = "fill",
	[TC_PB_P_TABLE] = "table", [TC_PB_P_HIST] = "hist",
	[TC_PB_P_EMIT] = "emit",
};

u64 tc_pb_now(void)
{
	return READ_ONCE(tc_pb_timing) ? get_cycles() : 0;
}

void tc_pb_part(struct tc_pb_timer *t, enum tc_pb_part part)
{
	u64 now;

	if (!t->t0)
		return;
	now = get_cycles();
	this_cpu_add(tc_pb_count.part[part], now - (t->last ?: t->t0));
	t->last = now;
}

void tc_pb_timer_end(struct tc_pb_timer *t)
{
	if (!t->t0)
		return;
	this_cpu_inc(tc_pb_count.hits[t->hook]);
	this_cpu_add(tc_pb_count.cycles[t->hook], get_cycles() - t->t0);
}

/* What one timer costs, in cycles: its two reads and two adds. */
static u64 tc_pb_timer_cost(void)
{
	u64 t0 = get_cycles();
	int i;

	for (i = 0; i < 1000; i++) {
		struct tc_pb_timer t = { .t0 = tc_pb_now(),
					 .hook = TC_PB_HOOKS };

		tc_pb_timer_end(&t);
	}
	return (get_cycles() - t0) / 1000;
}

static int tc_pb_hooks_reset(const char *val, const struct kernel_param *kp)
{
	int cpu;

	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(&tc_pb_count, cpu), 0,
		       sizeof(struct tc_pb_count));
	tc_pb_reset_ns = ktime_get_ns();
	tc_pb_reset_cycles = get_cycles();
	WRITE_ONCE(tc_pb_timing, true);
	return 0;
}

static void tc_pb_sum(struct tc_pb_count *sum)
{
	int cpu, i;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct tc_pb_count *c = per_cpu_ptr(&tc_pb_count, cpu);

		for (i = 0; i < TC_PB_HOOKS; i++) {
			sum->hits[i] += c->hits[i];
			sum->cycles[i] += c->cycles[i];
		}
		for (i = 0; i < TC_PB_PARTS; i++)
			sum->part[i] += c->part[i];
	}
}

/*
 * Since the last reset: the cycles' rate against the clock (so cycles
 * can be read as ns), one timer's own cost, then each hook and part.
 */
static int tc_pb_hooks_get(char *buf, const struct kernel_param *kp)
{
	u64 cyc = get_cycles() - tc_pb_reset_cycles;
	u64 ns = ktime_get_ns() - tc_pb_reset_ns;
	struct tc_pb_count sum;
	int i, n;

	tc_pb_sum(&sum);
	n = sysfs_emit(buf, "calib cycles=%llu ns=%llu timer=%llu\n", cyc, ns,
		       tc_pb_timer_cost());
	for (i = 0; i < TC_PB_HOOKS; i++)
		n += sysfs_emit_at(buf, n, "hook %s hits=%llu cycles=%llu\n",
				   tc_pb_hook_names[i], sum.hits[i],
				   sum.cycles[i]);
	for (i = 0; i < TC_PB_PARTS; i++)
		n += sysfs_emit_at(buf, n, "part %s cycles=%llu\n",
				   tc_pb_part_names[i], sum.part[i]);
	return n;
}

static const struct kernel_param_ops tc_pb_hooks_ops = {
	.set = tc_pb_hooks_reset,
	.get = tc_pb_hooks_get,
};

module_param_cb(path_hooks, &tc_pb_hooks_ops, NULL, 0600);
MODULE_PARM_DESC(path_hooks, "bench build: time in each hook since the last write (read to see)");
