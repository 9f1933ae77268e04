// SPDX-License-Identifier: GPL-2.0
/*
 * A timewait entry whose end was never seen (a kprobe the kernel skipped)
 * must not stay in the live table forever.  Loaded with tw_max_age=2, a
 * real TIME_WAIT socket's entry stands in for one: it is aged out after
 * two seconds and counted in `expired`, while full sockets, which may
 * rightly wait forever in CLOSE_WAIT, stay.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "lib.h"

int main(void)
{
	const struct tcpclose_sock *s;
	struct tcpclose_sock *tab;
	struct tcpclose_stats st;
	struct evlist l = { 0 };
	uint64_t total, tw, cw;
	int fd, lfd, port = 0, c, a, c2, a2, n;

	tap_plan(4);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	c = tcp_connect(AF_INET, "127.0.0.1", port);
	a = tcp_accept(lfd);
	tw = orphan_close(fd, &l, c, a);
	/* A leak beside it: the peer closed, we never do. */
	c2 = tcp_connect(AF_INET, "127.0.0.1", port);
	a2 = tcp_accept(lfd);
	cw = sock_cookie(a2);
	close(c2);
	sleep_ms(300);
	n = tc_dump_table(fd, &tab, &total);
	s = table_find(tab, n, tw);
	tap_check(s && s->timewait && s->state == TCPCLOSE_TIME_WAIT,
		  "the connection is in the table in TIME_WAIT");
	free(tab);
	sleep_ms(5000);
	n = tc_dump_table(fd, &tab, &total);
	tc_get_stats(fd, &st);
	tap_check(!table_find(tab, n, tw) && st.expired >= 1,
		  "after tw_max_age its entry is aged out and counted (%llu expired)",
		  (unsigned long long)st.expired);
	s = table_find(tab, n, cw);
	tap_check(s && s->state == TCPCLOSE_CLOSE_WAIT,
		  "a full socket in CLOSE_WAIT is never aged out");
	free(tab);
	close(a2);
	l.n = 0;
	tap_check(tc_wait_for(fd, &l, cw, TCPCLOSE_CLOSE_WAIT,
			      TCPCLOSE_LAST_ACK, 3000) >= 0,
		  "and its close is still reported");
	return tap_finish();
}
