// SPDX-License-Identifier: GPL-2.0
/*
 * The record path: what the hooks hand over is counted, held back for a
 * moment where a merge may follow (FIN+ACK), and fanned out to the
 * readers' streams (reader.c).
 */
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/irqflags.h>
#include "tcpclose.h"

struct tc_cpu {
	/* A record held back for a moment; see tc_hold(). */
	struct tcpclose_event held;
	bool holding;
};

static DEFINE_PER_CPU(struct tc_cpu, tc_cpu);
DEFINE_PER_CPU(u64, tc_seen);

/*
 * A record held back on this CPU; see tc_hold().  The hooks run in process
 * context too, where a softirq on the same CPU can interrupt them, so the
 * (rare) held record is handled with interrupts off.
 */
void tc_flush_held(void)
{
	struct tc_cpu *c = this_cpu_ptr(&tc_cpu);
	unsigned long flags;

	if (!READ_ONCE(c->holding))
		return;
	local_irq_save(flags);
	if (c->holding) {
		c->holding = false;
		tc_readers_write(&c->held);
	}
	local_irq_restore(flags);
}

void tc_emit(const struct tcpclose_event *ev)
{
	tc_flush_held();
	if (READ_ONCE(tc_nr_readers))
		tc_readers_write(ev);
}

/*
 * Hold one record back on this CPU, so that the next hook can merge it
 * with its own (FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT within one segment).
 * Whatever is recorded next on this CPU, or the end of the segment,
 * releases it first, so order is kept and nothing is lost.
 */
void tc_hold(const struct tcpclose_event *ev)
{
	struct tc_cpu *c = this_cpu_ptr(&tc_cpu);
	unsigned long flags;

	tc_flush_held();
	local_irq_save(flags);
	c->held = *ev;
	c->holding = true;
	local_irq_restore(flags);
}

bool tc_take_held(u64 cookie, struct tcpclose_event *out)
{
	struct tc_cpu *c = this_cpu_ptr(&tc_cpu);
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

/* Host-wide hook hits: the sum, and per CPU into @cpu[0..nr). */
u64 tc_stream_seen(struct tcpclose_cpu_stats *cpu, u32 nr)
{
	u64 sum = 0, seen;
	int i;

	for_each_possible_cpu(i) {
		seen = READ_ONCE(per_cpu(tc_seen, i));
		sum += seen;
		if (cpu && i < nr)
			cpu[i].seen = seen;
	}
	return sum;
}
