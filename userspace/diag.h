/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's own list of TCP sockets (sock_diag / INET_DIAG netlink), for
 * sockets that were already in a state before the module saw them, and for
 * live receive queues.  A netlink socket sees its own network namespace;
 * diag_dump_all() enters the others.
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
	uint32_t netns;		/* namespace inode, set by diag_dump_all() */
	uint64_t netns_cookie;	/* its cookie, 0 when unknown */
};

/* All TCP sockets in the states of state_mask; *out is malloc'ed. */
int diag_dump(uint32_t state_mask, struct diag_sock **out);

/*
 * The same in every network namespace that has a process, entered
 * through PROC/PID/ns/net as ip-netns and lsns users expect (needs
 * CAP_SYS_ADMIN for the others); *missed counts namespaces that could not
 * be entered.  Returns sockets, or -1 (the caller's namespace is
 * restored first; if it cannot be, -1 with errno ENOTRECOVERABLE).
 */
int diag_dump_all(uint32_t state_mask, const char *proc_root,
		  struct diag_sock **out, int *missed);
/* The caller's network namespace: inode, and cookie (0 before 5.14). */
uint32_t diag_own_netns(void);
uint64_t diag_own_netns_cookie(void);

#endif
