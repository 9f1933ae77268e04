/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stuck report, apart from where its inputs come from, so that host
 * tests can feed it a made-up table, sock_diag list and /proc.
 */
#ifndef TCPCLOSE_STUCK_H
#define TCPCLOSE_STUCK_H

#include <stdio.h>
#include "decode.h"
#include "diag.h"
#include "owner.h"

enum stuck_sort { SORT_AGE, SORT_UNREAD, SORT_PID };

/* What a summary counts sockets by (--group-by). */
enum group_key { GROUP_SERVICE, GROUP_PROCESS, GROUP_PEER, GROUP_LPORT,
		 GROUP_MAX };

struct stuck_opts {
	uint32_t mask;			/* states to report */
	uint64_t min_age;
	int json, fail_if, known_only, summary_only;
	enum stuck_sort sort;
	long top;			/* sockets listed; 0: all */
	struct tc_sock_filter f;
	const char *comm;		/* NULL: any */
	const char *unit;		/* a service name; NULL: any */
	const char *cgroup;		/* a cgroup path prefix; NULL: any */
	enum group_key group[GROUP_MAX];	/* summaries, in order */
	int ngroups;
	uint64_t interval_ns;		/* 0: one report */
	long count;			/* reports with --interval; 0: no end */
};

struct stuck_input {
	const struct tcpclose_stats *st;	/* NULL: no module */
	struct tcpclose_sock *table;		/* dumped after diag */
	int nt;
	struct diag_sock *diag;
	int nd;
	const struct owner_map *owners;
	uint64_t now;				/* CLOCK_MONOTONIC */
	uint64_t real_ns;			/* now, CLOCK_REALTIME; 0: unknown */
	int netns_missed;			/* namespaces not entered */
};

/* The defaults: CLOSE_WAIT, 60 s, summaries by service and process. */
void stuck_opts_init(struct stuck_opts *o);
/* Prints the report on f; returns the exit status (EXIT_THRESHOLD...). */
int stuck_report(FILE *f, const struct stuck_opts *o,
		 const struct stuck_input *in);

#endif
