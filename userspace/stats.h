/* SPDX-License-Identifier: GPL-2.0 */
/* The printers of tcpclose stats, for host tests to feed made-up counters. */
#ifndef TCPCLOSE_STATS_H
#define TCPCLOSE_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <linux/tcpclose.h>

void stats_print_human(FILE *f, const struct tcpclose_stats *st,
		       const struct tcpclose_cpu_stats *cpu, uint64_t uptime);
void stats_print_json(FILE *f, const struct tcpclose_stats *st,
		      const struct tcpclose_cpu_stats *cpu, uint64_t uptime);

#endif
