/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's own list of TCP sockets (sock_diag / INET_DIAG netlink), for
 * sockets that were already in a state before the module saw them, and for
 * live receive queues.  Covers the caller's network namespace.
 */
#ifndef TCPCLOSE_DIAG_H
#define TCPCLOSE_DIAG_H

#include <stdint.h>

struct diag_sock {
	uint64_t cookie;
	uint64_t ino;
	uint32_t uid;
	uint32_t rqueue;	/* unread bytes (FIN not counted) */
	uint32_t wqueue;
	uint8_t family;
	uint8_t state;
	uint8_t timewait;	/* a timewait socket (TIME_WAIT, FIN_WAIT2) */
	uint16_t sport, dport;
	uint8_t saddr[16], daddr[16];
};

/* All TCP sockets in the states of state_mask; *out is malloc'ed. */
int diag_dump(uint32_t state_mask, struct diag_sock **out);

#endif
