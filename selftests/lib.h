/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the VM selftests. */
#ifndef TCPCLOSE_SELFTEST_LIB_H
#define TCPCLOSE_SELFTEST_LIB_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <linux/tcpclose.h>
#include "tap.h"
#include "../userspace/decode.h"

struct evlist {
	struct tcpclose_event *ev;
	int n, cap;
};

/* Opens the device and starts the file's stream. */
int tc_open(int flags);
/* Opens it for ioctls only: no stream until the first read or poll. */
int tc_open_lazy(int flags);
void tc_get_stats(int fd, struct tcpclose_stats *st);
/* Read what is there, waiting up to timeout_ms for the first record. */
int tc_collect(int fd, struct evlist *l, int timeout_ms);
/* Read until a cookie's transition old->new (old < 0: any) arrives; its
 * index or -1.
 */
int tc_wait_for(int fd, struct evlist *l, uint64_t cookie, int old, int new,
		int timeout_ms);
int ev_find(const struct evlist *l, uint64_t cookie, int old, int new);
/* The transitions of one connection, as "FIN_WAIT1>FIN_WAIT2 ...". */
void ev_story(const struct evlist *l, uint64_t cookie, char *buf, size_t len);
void ev_dump(const struct evlist *l, uint64_t cookie);
int tc_dump_table(int fd, struct tcpclose_sock **out, uint64_t *total);
const struct tcpclose_sock *table_find(const struct tcpclose_sock *t, int n,
				       uint64_t cookie);

uint64_t sock_cookie(int fd);
/*
 * The client (cfd) shuts down first, closes in FIN_WAIT2 and is handed
 * to a timewait socket; the server (sfd) closes once that is seen.  Waits
 * for the timewait socket's FIN_WAIT2 > TIME_WAIT and returns the
 * client's cookie.
 */
uint64_t orphan_close(int fd, struct evlist *l, int cfd, int sfd);
/* A loopback connection: the server's end, both cookies, client port. */
struct tc_pair {
	int sfd, cport;
	uint64_t cc, sc;
};
/*
 * Connect to 127.0.0.1:@port (listener @lfd), write @unread (or nothing)
 * from the client, close() it in ESTABLISHED and wait for its orphan's
 * handoff to a timewait socket in FIN_WAIT2.  If the ACK of its FIN was
 * taken from the backlog as close() returned, the kernel shows a full
 * socket in FIN_WAIT2 on its keepalive timer until the peer's FIN
 * (lib.c): that pair is closed out and another tried, three in all.
 * Returns 1 when handed over, 0 when the third was not either, -1 when
 * neither (the handoff record missing without the kernel's word).
 */
int handoff_pair(int fd, struct evlist *l, int lfd, int port,
		 const char *unread, struct tc_pair *p);
/* A sockaddr for a textual IPv4 or IPv6 address; returns its length. */
socklen_t make_addr(struct sockaddr_storage *ss, int family,
		    const char *addr, int port);
/* A listener on addr (port 0: any); its port in *port. */
int tcp_listen(int family, const char *addr, int *port);
int tcp_connect(int family, const char *addr, int port);
int tcp_connect_from(int family, const char *addr, int port, int lport);
int tcp_accept(int lfd);
void xwrite(int fd, const void *buf, size_t len);
size_t drain(int fd);
void sleep_ms(int ms);
/*
 * Stop (stop = 1) or resume the n processes making connections, with
 * 100 ms after stopping for the segments in flight.  The first stream's
 * start and the last one's end arm and disarm a kprobe: patching its call
 * site while a segment runs through it trips qemu's multi-threaded TCG
 * (Documentation/selftests.rst), so tests do it with their traffic
 * paused.  Fewer segments, not none: the kernel's timers still retransmit
 * over a lossy link.
 */
void hold_traffic(const pid_t *pids, int n, int stop);
uint64_t mono_ns(void);
/* iproute2's NAME where the VM keeps it (busybox's lacks netns, netem). */
const char *tool(const char *name);
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Enter the network namespace /run/netns/NAME (NULL: the initial one). */
void enter_netns(const char *name);

/*
 * n loopback connections whose server closes as soon as it reads EOF, so
 * that its FIN may ride with the ACK of the client's; the clients' cookies
 * into c[0..n), their records from fd into l.
 */
void close_fin_ack(int fd, struct evlist *l, uint64_t *c, int n);

/* The local port of a connected or bound socket. */
int local_port(int fd);
/* Joins thread t if it ends within ms; 1 when it did. */
int joined_within(pthread_t t, int ms);

/* The reader in the VM. */
#define READER "/tests/tcpclose"
/* Runs a shell command, its stdout into out (shown as TAP comments). */
int run_capture(const char *cmd, char *out, size_t len);
/* Occurrences of needle in hay. */
int count_of(const char *hay, const char *needle);

#define SEC_NS 1000000000ULL

#endif
