// SPDX-License-Identifier: GPL-2.0
/*
 * The passive closer: a socket left in CLOSE_WAIT stays in the live table
 * with its age and unread bytes; closing it later gives CLOSE_WAIT >
 * LAST_ACK > CLOSE with the time it was stuck.  Closing with unread data
 * sends an RST instead: CLOSE_WAIT > CLOSE.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib.h"

int main(void)
{
	struct evlist l = { 0 };
	struct tcpclose_sock *tab;
	const struct tcpclose_sock *s;
	uint64_t scookie, rcookie, total;
	int fd, lfd, cfd, sfd, rcfd, rsfd, port = 0, i, n;
	char data[100] = { 1 };
	struct stat st;

	tap_plan(9);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	cfd = tcp_connect(AF_INET, "127.0.0.1", port);
	sfd = tcp_accept(lfd);
	scookie = sock_cookie(sfd);
	fstat(sfd, &st);

	xwrite(cfd, data, sizeof(data));
	close(cfd);
	i = tc_wait_for(fd, &l, scookie, TCPCLOSE_ESTABLISHED,
			TCPCLOSE_CLOSE_WAIT, 5000);
	tap_check(i >= 0 && l.ev[i].rx_queue == sizeof(data) &&
		  l.ev[i].ino == st.st_ino && !(l.ev[i].flags & TCPCLOSE_F_PROCESS),
		  "ESTABLISHED>CLOSE_WAIT in softirq, 100 bytes unread (not 101), inode %llu",
		  i >= 0 ? (unsigned long long)l.ev[i].ino : 0ULL);

	sleep_ms(2500);
	n = tc_dump_table(fd, &tab, &total);
	s = table_find(tab, n, scookie);
	tap_check(s && s->state == TCPCLOSE_CLOSE_WAIT && !s->timewait &&
		  s->rx_queue == sizeof(data) && s->ino == st.st_ino,
		  "live table: CLOSE_WAIT, 100 bytes unread, right inode");
	tap_check(s && mono_ns() - s->since_ns >= 2500000000ULL &&
		  mono_ns() - s->since_ns < 10 * SEC_NS,
		  "live table: age %.2fs >= 2.5s", s ? (mono_ns() - s->since_ns) / 1e9 : 0);
	tap_check(total >= 1 && total == (uint64_t)n, "dump counts what it returns");
	free(tab);

	tap_check(drain(sfd) == sizeof(data), "server reads its 100 bytes");
	close(sfd);
	i = tc_wait_for(fd, &l, scookie, TCPCLOSE_CLOSE_WAIT,
			TCPCLOSE_LAST_ACK, 5000);
	tap_check(i >= 0 && (l.ev[i].flags & TCPCLOSE_F_DUR_KNOWN) &&
		  l.ev[i].prev_state_ns >= 2500000000ULL &&
		  (l.ev[i].flags & TCPCLOSE_F_PROCESS) &&
		  l.ev[i].pid == (uint32_t)getpid(),
		  "CLOSE_WAIT>LAST_ACK by our close(), after %.2fs in CLOSE_WAIT",
		  i >= 0 ? l.ev[i].prev_state_ns / 1e9 : 0);
	tap_check(tc_wait_for(fd, &l, scookie, TCPCLOSE_LAST_ACK,
			      TCPCLOSE_CLOSE, 5000) >= 0, "LAST_ACK>CLOSE");
	n = tc_dump_table(fd, &tab, &total);
	tap_check(!table_find(tab, n, scookie), "closed socket left the table");
	free(tab);

	/* Unread data at close(): the kernel resets instead of closing. */
	rcfd = tcp_connect(AF_INET, "127.0.0.1", port);
	rsfd = tcp_accept(lfd);
	rcookie = sock_cookie(rsfd);
	xwrite(rcfd, data, sizeof(data));
	close(rcfd);
	tc_wait_for(fd, &l, rcookie, TCPCLOSE_ESTABLISHED, TCPCLOSE_CLOSE_WAIT,
		    5000);
	close(rsfd);
	tap_check(tc_wait_for(fd, &l, rcookie, TCPCLOSE_CLOSE_WAIT,
			      TCPCLOSE_CLOSE, 5000) >= 0 &&
		  ev_find(&l, rcookie, TCPCLOSE_CLOSE_WAIT,
			  TCPCLOSE_LAST_ACK) < 0,
		  "close() with unread data: CLOSE_WAIT>CLOSE (RST), no LAST_ACK");
	return tap_finish();
}
