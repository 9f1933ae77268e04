// SPDX-License-Identifier: GPL-2.0
/*
 * The backstop for a missed CLOSE (module/hooks.c): with the tcp_set_state
 * kprobe, a hit the kernel skips (nmissed) would leave the socket in the
 * live table forever.  The fault-injection build skips the next CLOSE hits
 * as the kernel would; the tcp:tcp_destroy_sock tracepoint must then
 * report the end, late, remove the entry and count it.  A normal close
 * must not trip the backstop.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "lib.h"

#define FAIL_CLOSE "/sys/module/tcpclose/parameters/fail_close"

/*
 * A passive close: the server's LAST_ACK > CLOSE, and its cookie.  The
 * client's full socket goes to CLOSE first, at its handoff; then, when
 * @arm, the next CLOSE (the server's) is to be missed.
 */
static uint64_t passive_close(int fd, struct evlist *l, int lfd, int port,
			      int arm)
{
	int cfd = tcp_connect(AF_INET, "127.0.0.1", port);
	int sfd = tcp_accept(lfd);
	uint64_t scookie = sock_cookie(sfd), ccookie = sock_cookie(cfd);

	close(cfd);
	tc_wait_for(fd, l, scookie, TCPCLOSE_ESTABLISHED, TCPCLOSE_CLOSE_WAIT,
		    5000);
	tc_wait_for(fd, l, ccookie, TCPCLOSE_FIN_WAIT2, TCPCLOSE_FIN_WAIT2,
		    5000);
	if (arm && sh("echo 1 >" FAIL_CLOSE))
		tap_bail("cannot set fail_close");
	drain(sfd);
	close(sfd);
	tc_wait_for(fd, l, scookie, TCPCLOSE_LAST_ACK, TCPCLOSE_CLOSE, 5000);
	return scookie;
}

int main(void)
{
	struct tcpclose_stats before, after;
	struct evlist l = { 0 };
	struct tcpclose_sock *tab;
	uint64_t c, total;
	int fd, lfd, port = 0, i, n;

	tap_plan(5);
	if (access(FAIL_CLOSE, W_OK))
		tap_bail("not the fault-injection build (no %s)", FAIL_CLOSE);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);

	tc_get_stats(fd, &before);
	c = passive_close(fd, &l, lfd, port, 0);
	i = ev_find(&l, c, TCPCLOSE_LAST_ACK, TCPCLOSE_CLOSE);
	tc_get_stats(fd, &after);
	tap_check(i >= 0 && !(l.ev[i].flags & TCPCLOSE_F_LATE) &&
		  after.expired == before.expired,
		  "a normal close: LAST_ACK>CLOSE on time, nothing for the backstop");

	before = after;
	c = passive_close(fd, &l, lfd, port, 1);
	i = ev_find(&l, c, TCPCLOSE_LAST_ACK, TCPCLOSE_CLOSE);
	tc_get_stats(fd, &after);
	tap_check(i >= 0 && (l.ev[i].flags & TCPCLOSE_F_LATE) &&
		  !(l.ev[i].flags & TCPCLOSE_F_DUR_KNOWN),
		  "a missed CLOSE: LAST_ACK>CLOSE reported late, at destruction");
	n = tc_dump_table(fd, &tab, &total);
	tap_check(!table_find(tab, n, c), "the entry left the live table");
	tap_check(after.missed == before.missed + 1,
		  "the miss is counted in missed (%llu -> %llu)",
		  (unsigned long long)before.missed,
		  (unsigned long long)after.missed);
	tap_check(after.expired == before.expired + 1,
		  "the late end is counted in expired (%llu -> %llu)",
		  (unsigned long long)before.expired,
		  (unsigned long long)after.expired);
	ev_dump(&l, c);
	free(tab);
	return tap_finish();
}
