/* SPDX-License-Identifier: GPL-2.0 */
/* Decoding /dev/tcpclose records: names, addresses, durations, output. */
#ifndef TCPCLOSE_DECODE_H
#define TCPCLOSE_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/tcpclose.h>
#include "text.h"

const char *tc_state_name(unsigned int state);
/* "CLOSE_WAIT", "close-wait", "closewait" or a number; -1 if unknown. */
int tc_state_parse(const char *name);
/* A comma-separated list of state names into a bit mask; 0 on error. */
uint32_t tc_state_mask_parse(const char *list);
const char *tc_reason_name(unsigned int reason);
/* "10.0.0.1:80", "[::1]:80"; v4-mapped IPv6 as "[::ffff:10.0.0.1]:80". */
void tc_format_endpoint(char *buf, size_t len, int family,
			const uint8_t addr[16], uint16_t port);
/* "850us", "12ms", "59.98s", "3m05s", "3h12m", "2d04h" */
void tc_format_duration(char *buf, size_t len, uint64_t ns);

struct service;

/* A process holding a descriptor to socket inode ino. */
struct tc_owner {
	uint64_t ino;
	int pid;
	int fd;
	char comm[64];
	const struct service *svc;	/* its cgroup's; NULL: not known */
};

/* Every holder of one socket (a fork without CLOEXEC shares it): n at o. */
struct tc_holders {
	const struct tc_owner *o;
	size_t n;
};

/* "nginx[100] fd 5, nginx[101] fd 5", names escaped; "-" when none. */
void tc_print_holders(FILE *f, const struct tc_holders *h);
/*
 * [{"pid":100,"fd":5,"comm":"nginx","service":"nginx.service",
 *   "service_kind":"unit","cgroup":"/system.slice/nginx.service"},...],
 * or null when none; service and cgroup null when not known.
 */
void tc_print_holders_json(FILE *f, const struct tc_holders *h);
/* ,"service":...,"service_kind":...,"cgroup":... of one owner. */
void tc_print_service_json(FILE *f, const struct service *svc);

/*
 * Unacknowledged data bytes of a record: tx_queue without our FIN, which
 * unread bytes (rx_queue) never count either.  See tcpclose(8).
 */
uint32_t tc_unacked(const struct tcpclose_event *ev);

/*
 * "12:00:05.123456", or with iso "2026-11-26T12:00:05.123456"; with utc
 * the time in UTC, marked "Z", else local time.
 */
void tc_format_wallclock(char *buf, size_t len, uint64_t real_ns, int iso,
			 int utc);
/*
 * The endpoint columns of human watch output.  They start wide enough
 * for IPv4 and only grow: a stream cannot know its widest endpoint in
 * advance, and columns that shrank back would not line up either.
 */
struct tc_event_cols {
	int local, remote;
};
#define TC_EVENT_COLS_INIT	{ 23, 23 }
/* Widths tc_print_event() takes, 0 to this (an endpoint is at most 53). */
#define TC_EVENT_COL_MAX	64
/* Widens c for ev's endpoints; 1 when it did (print the header again). */
int tc_event_cols_fit(struct tc_event_cols *c, const struct tcpclose_event *ev);

/* c NULL: the initial widths.  utc: in UTC, marked "Z"; else local time. */
void tc_print_event_header(FILE *f, const struct tc_event_cols *c);
void tc_print_event(FILE *f, const struct tcpclose_event *ev,
		    const struct tc_holders *h, uint64_t mono_to_real_ns,
		    int utc, const struct tc_event_cols *c);
void tc_print_event_json(FILE *f, const struct tcpclose_event *ev,
			 const struct tc_holders *h,
			 uint64_t mono_to_real_ns);

/*
 * Steps through a read() buffer by each record's own size, as the ABI
 * asks: a record larger than this reader's (fields appended later) is
 * decoded by the prefix it knows.  Returns 1 with the record in *ev and
 * *off past it, 0 at the end, -1 with why in err for a record it cannot
 * decode (another ABI version, shorter than known, cut).
 */
int tc_next_record(const void *buf, size_t len, size_t *off,
		   struct tcpclose_event *ev, char *err, size_t errlen);

/* JSON documents and lines carry this; it changes with their layout. */
#define TC_JSON_SCHEMA	2

/* "90", "90s", "5m", "2h", "1d", "1.5s" into nanoseconds; -1 if invalid. */
int tc_parse_duration(const char *s, uint64_t *ns);
/* A decimal integer within [min, max] into @v; -1 if invalid or outside. */
int tc_parse_uint(const char *s, unsigned long long min,
		  unsigned long long max, unsigned long long *v);
/* Matches an event or socket address against a textual IPv4/IPv6 one. */
struct tc_addr_filter {
	int family;		/* 0: no filter */
	uint8_t addr[16];
};
int tc_addr_filter_parse(struct tc_addr_filter *f, const char *text);
int tc_addr_match(const struct tc_addr_filter *f, int family,
		  const uint8_t *a, const uint8_t *b);

/* The socket filters of watch and stuck: -p, -a, -P, -n; 0: any. */
struct tc_sock_filter {
	uint16_t port;
	struct tc_addr_filter addr;
	int pid;
	uint32_t netns;
};

/*
 * Takes option c (with arg) of command cmd if it is a filter: 0 when
 * taken, EXIT_USAGE after saying why for a bad value, -1 when c is not
 * a filter option.
 */
int tc_filter_option(const char *cmd, int c, const char *arg,
		     struct tc_sock_filter *f);
#endif
