/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sockets in close states, joined from the two places that know them:
 * the module's live table (since when) and the kernel's sock_diag list
 * (live receive queues, and sockets older than the module, whose age is
 * unknown).  stuck and metrics both ask here: one join, one set of rules.
 */
#ifndef TCPCLOSE_SOCKETS_H
#define TCPCLOSE_SOCKETS_H

#include <stdint.h>
#include <linux/tcpclose.h>
#include "diag.h"

struct close_sock {
	uint64_t cookie, ino;
	uint64_t age_ns;	/* time in its state, when age_known */
	int age_known;		/* 1: in the table; 0: sock_diag's alone */
	uint32_t unread;	/* bytes received, not read by the owner */
	uint8_t family, state;
	uint8_t timewait;	/* a timewait socket (TIME_WAIT, FIN_WAIT2) */
	uint16_t sport, dport;
	uint8_t saddr[16], daddr[16];
	uint32_t netns;		/* namespace inode */
	uint64_t netns_cookie;	/* 0 when unknown */
};

/*
 * Joins the table (@t, may be empty) and sock_diag (@d) on the socket
 * cookie, keeping the states of @mask; both arrays are sorted in place.
 * A socket in both takes its age, state and namespace from the table and
 * its queue (and inode, if the table has none) from sock_diag.  Returns the number of sockets in *out (malloc'ed), or -1.
 */
int close_sock_join(struct tcpclose_sock *t, int nt, struct diag_sock *d,
		    int nd, uint32_t mask, uint64_t now_ns,
		    struct close_sock **out);

#endif
