// SPDX-License-Identifier: GPL-2.0
/*
 * IPv6 and v4-mapped IPv6: the same close story, with the right family,
 * addresses and the v4-mapped flag.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "lib.h"

static void one(int fd, const char *listen_addr, const char *conn_addr,
		int mapped)
{
	struct evlist l = { 0 };
	uint8_t want[16];
	uint64_t c;
	int lfd, cfd, sfd, port = 0, i;

	lfd = tcp_listen(AF_INET6, listen_addr, &port);
	cfd = tcp_connect(AF_INET6, conn_addr, port);
	sfd = tcp_accept(lfd);
	c = orphan_close(fd, &l, cfd, sfd);
	i = ev_find(&l, c, TCPCLOSE_FIN_WAIT2, TCPCLOSE_TIME_WAIT);
	inet_pton(AF_INET6, conn_addr, want);
	tap_check(i >= 0 && l.ev[i].family == AF_INET6 &&
		  !memcmp(l.ev[i].daddr, want, 16) && l.ev[i].dport == port &&
		  !!(l.ev[i].flags & TCPCLOSE_F_V4MAPPED) == mapped,
		  "%s: timewait FIN_WAIT2>TIME_WAIT with AF_INET6 addresses%s",
		  conn_addr, mapped ? ", flagged v4-mapped" : "");
	i = ev_find(&l, c, TCPCLOSE_ESTABLISHED, TCPCLOSE_FIN_WAIT1);
	tap_check(i >= 0 && !memcmp(l.ev[i].saddr, want, 16),
		  "%s: full socket ESTABLISHED>FIN_WAIT1 with local address",
		  conn_addr);
	close(lfd);
	free(l.ev);
}

int main(void)
{
	int fd;

	tap_plan(4);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	one(fd, "::1", "::1", 0);
	one(fd, "::", "::ffff:127.0.0.1", 1);
	return tap_finish();
}
