/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sockets in close states, joined from the two places that know them:
 * the module's live table (since when) and the kernel's sock_diag list
 * (live receive queues, and sockets older than the module, whose age is
 * unknown).  A command that needs both asks here rather than joining again.
 */
#ifndef TCPCLOSE_SOCKETS_H
#define TCPCLOSE_SOCKETS_H

#include <stdint.h>
#include <linux/tcpclose.h>
#include "diag.h"

struct close_sock {
	uint64_t cookie, ino;
	uint64_t age_ns;	/* time in its state, when age_known */
	int age_known;		/* 0: in the state since before the module */
	uint32_t unread;	/* bytes received, not read by the owner */
	uint8_t family, state;
	uint16_t sport, dport;
};

/*
 * Joins the table (@t, may be empty) and sock_diag (@d) on the socket
 * cookie, keeping the states of @mask; both arrays are sorted in place.
 * A socket in both takes its age from the table and its queue and inode
 * from sock_diag.  Returns the number of sockets in *out (malloc'ed), or -1.
 */
int close_sock_join(struct tcpclose_sock *t, int nt, struct diag_sock *d,
		    int nd, uint32_t mask, uint64_t now_ns,
		    struct close_sock **out);

#endif
