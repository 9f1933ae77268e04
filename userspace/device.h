/* SPDX-License-Identifier: GPL-2.0 */
/* Talking to /dev/tcpclose, with errors a user can act on. */
#ifndef TCPCLOSE_DEVICE_H
#define TCPCLOSE_DEVICE_H

#include <stdint.h>
#include <linux/tcpclose.h>

/* Exit codes of the tcpclose command. */
#define EXIT_OK		0
#define EXIT_ERROR	1	/* device, permission, ABI, system errors */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_THRESHOLD	3	/* stuck --fail-if reached */

/* Opens the device and checks the ABI; prints why and returns -1. */
int dev_open(int flags);
int dev_stats(int fd, struct tcpclose_stats *st,
	      struct tcpclose_cpu_stats **cpu);
/* The live table; *out is malloc'ed.  Returns entries or -1. */
int dev_dump(int fd, struct tcpclose_sock **out);
int dev_set_filter(int fd, const struct tcpclose_filter *f);
/*
 * The state-duration histograms of network namespace @netns_cookie (0:
 * the opener's scope, all namespaces in the initial one); *rows is
 * malloc'ed.  Returns the rows, or -1 with errno set after saying why.
 */
int dev_hist(int fd, uint64_t netns_cookie, struct tcpclose_hist *h,
	     struct tcpclose_hist_row **rows);
uint64_t mono_now_ns(void);
/* Add to a CLOCK_MONOTONIC time to get CLOCK_REALTIME. */
uint64_t mono_to_real_ns(void);

#endif
