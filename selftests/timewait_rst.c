// SPDX-License-Identifier: GPL-2.0
/*
 * A timewait socket ended early by an RST: the client closes first and
 * becomes a FIN_WAIT2 minisocket; the server closes with unread data, so
 * its kernel sends an RST instead of a FIN, which kills the minisocket.
 */
#include <fcntl.h>
#include <unistd.h>
#include "lib.h"

int main(void)
{
	struct evlist l = { 0 };
	struct tcpclose_sock *tab;
	uint64_t ccookie, total;
	int fd, lfd, port = 0, i, n;
	struct tc_pair p;

	tap_plan(3);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	tap_check(handoff_pair(fd, &l, lfd, port, "unread", &p) == 1,
		  "client handed to a FIN_WAIT2 timewait socket");
	ccookie = p.cc;
	close(p.sfd);
	i = tc_wait_for(fd, &l, ccookie, TCPCLOSE_FIN_WAIT2, TCPCLOSE_CLOSE,
			5000);
	tap_check(i >= 0 && l.ev[i].reason == TCPCLOSE_REASON_RST &&
		  (l.ev[i].flags & TCPCLOSE_F_TIMEWAIT) &&
		  !(l.ev[i].flags & TCPCLOSE_F_HANDOFF),
		  "timewait socket FIN_WAIT2>CLOSE, reason rst");
	n = tc_dump_table(fd, &tab, &total);
	tap_check(!table_find(tab, n, ccookie), "it left the live table");
	ev_dump(&l, ccookie);
	return tap_finish();
}
