/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus text exposition format (version 0.0.4) for tcpclose
 * metrics, and the atomic textfile that node_exporter's textfile collector
 * reads.  Formatting is separate from gathering so that host tests can feed
 * it synthetic sockets and check the text with promtool.
 */
#ifndef TCPCLOSE_PROM_H
#define TCPCLOSE_PROM_H

#include <stdint.h>
#include <stdio.h>
#include <linux/tcpclose.h>

/* Optional labels; each multiplies the series count (tcpclose(8)). */
#define PROM_LABEL_PID	(1U << 0)	/* owning process id */
#define PROM_LABEL_PORT	(1U << 1)	/* local port */

/* One socket, attributed. */
struct prom_sock {
	uint8_t state;
	int age_known;
	uint64_t age_ns;
	uint64_t unread;
	int pid;		/* 0: no process holds it */
	uint16_t port;		/* local port */
	const char *service;	/* "" when unknown or unowned */
	const char *comm;	/* likewise */
};

struct prom_input {
	/* NULL when the module is not loaded. */
	const struct tcpclose_stats *st;
	uint64_t uptime_ns;	/* of the module */
	int diag_ok;		/* sock_diag answered */
	struct prom_sock *socks;	/* sorted in place */
	int nsocks;
	unsigned int labels;	/* PROM_LABEL_* */
	/* The module's state-duration histograms; NULL: none read. */
	const struct tcpclose_hist_row *hist;
	int nhist;
};

/* "pid,port" into PROM_LABEL_* bits; -1 if a name is unknown. */
int prom_labels_parse(const char *list, unsigned int *labels);
/* A label value, escaped as the format requires; invalid UTF-8 as '?'. */
void prom_label_value(FILE *f, const char *s);
/* Every metric family; returns 0, or -1 if writing failed. */
int prom_write(FILE *f, struct prom_input *in);
/*
 * Writes DIR/NAME atomically: a temporary file in DIR that the collector
 * ignores (its name does not end in .prom), flushed to disk, renamed over
 * NAME.  Returns 0, or -1 with errno set and nothing left behind.
 */
int prom_textfile(const char *dir, const char *name, struct prom_input *in);

#endif
