/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's state-duration histograms (TCPCLOSE_IOC_HIST): bucket
 * bounds, 128-bit sums, and the drawings of `tcpclose stats --histogram`,
 * human (log2 buckets with bars, as bcc's histogram tools) and JSON.
 * Separate from the device so that host tests can feed made-up rows.
 */
#ifndef TCPCLOSE_HIST_H
#define TCPCLOSE_HIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/tcpclose.h>

/* Inclusive upper bound of bucket i in ns; 0 for the last, unbounded. */
uint64_t hist_le_ns(unsigned int i);
/* A row's sum of nanoseconds, 128 bits wide. */
unsigned __int128 hist_sum_ns(const struct tcpclose_hist_row *r);
/* Decimal digits of v. */
void hist_format_u128(char *buf, size_t len, unsigned __int128 v);
/* Nanoseconds as exact seconds: "3600.000000005", "0.000001024". */
void hist_format_seconds(char *buf, size_t len, unsigned __int128 ns);
/* A bucket bound, 3 significant digits: "1.02us", "268ms", "18.3m". */
void hist_format_bound(char *buf, size_t len, uint64_t ns);
/* "CLOSE_WAIT", "TIME_WAIT, expired", "unknown state". */
void hist_row_name(char *buf, size_t len, const struct tcpclose_hist_row *r);

/* @counting_ns: how long the module has been counting (now - since_ns). */
void hist_print_human(FILE *f, const struct tcpclose_hist *h,
		      const struct tcpclose_hist_row *rows, uint32_t n,
		      uint64_t counting_ns);
void hist_print_json(FILE *f, const struct tcpclose_hist *h,
		     const struct tcpclose_hist_row *rows, uint32_t n,
		     uint64_t counting_ns);

#endif
