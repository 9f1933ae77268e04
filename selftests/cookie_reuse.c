// SPDX-License-Identifier: GPL-2.0
/*
 * One struct sock, two connections, one cookie.  A client half-closes, the
 * server closes: the client is handed to a timewait socket (which inherits
 * the cookie) while the struct sock stays with its owner in CLOSE.  The
 * owner connects again (connect(AF_UNSPEC), then connect() to another
 * server): same struct sock, same cookie, while the old timewait socket
 * lives on.  The new connection reaches CLOSE_WAIT, then a third socket
 * takes the old 4-tuple over (tcp_tw_reuse on loopback), which kills the
 * old timewait socket: that end must remove the old connection's entry
 * only, never the new one's, and reads as reason "reuse".
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "lib.h"

static int reconnect(int fd, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	if (connect(fd, &unspec, sizeof(unspec)))
		return -1;
	return connect(fd, (struct sockaddr *)&a, sizeof(a));
}

int main(void)
{
	const struct tcpclose_sock *s;
	struct tcpclose_sock *tab;
	struct evlist l = { 0 };
	uint64_t c, total;
	int fd, lfd, lfd2, port = 0, port2 = 0, cfd, sfd, sfd2, t, lport;
	int i, n;

	tap_plan(5);
	sh("echo 2 > /proc/sys/net/ipv4/tcp_tw_reuse");
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	lfd2 = tcp_listen(AF_INET, "127.0.0.1", &port2);
	cfd = tcp_connect(AF_INET, "127.0.0.1", port);
	sfd = tcp_accept(lfd);
	c = sock_cookie(cfd);
	lport = local_port(cfd);
	/* Half-close, then the server's FIN: TIME_WAIT, owner still there. */
	shutdown(cfd, SHUT_WR);
	drain(sfd);
	sleep_ms(100);
	close(sfd);
	i = tc_wait_for(fd, &l, c, -1, TCPCLOSE_TIME_WAIT, 3000);
	tap_check(i >= 0 && (l.ev[i].flags & TCPCLOSE_F_HANDOFF),
		  "the half-closed client is handed to a timewait socket");

	/* The same struct sock connects again elsewhere: same cookie. */
	if (reconnect(cfd, port2))
		tap_bail("reconnect: %m");
	sfd2 = tcp_accept(lfd2);
	close(sfd2);
	sleep_ms(300);
	n = tc_dump_table(fd, &tab, &total);
	s = table_find(tab, n, c);
	tap_check(sock_cookie(cfd) == c && s && !s->timewait &&
		  s->state == TCPCLOSE_CLOSE_WAIT,
		  "the new connection keeps cookie %llu and is tracked in CLOSE_WAIT",
		  (unsigned long long)c);
	free(tab);

	/* Another socket takes the old tuple: the old timewait socket dies. */
	sleep_ms(1100);
	t = tcp_connect_from(AF_INET, "127.0.0.1", port, lport);
	tap_check(t >= 0, "the old 4-tuple is taken over from TIME_WAIT");
	i = tc_wait_for(fd, &l, c, TCPCLOSE_TIME_WAIT, TCPCLOSE_CLOSE, 3000);
	tap_check(i >= 0 && (l.ev[i].flags & TCPCLOSE_F_TIMEWAIT) &&
		  l.ev[i].reason == TCPCLOSE_REASON_REUSE,
		  "the old timewait socket ends, reason %s",
		  i >= 0 ? tc_reason_name(l.ev[i].reason) : "none");
	sleep_ms(200);
	n = tc_dump_table(fd, &tab, &total);
	s = table_find(tab, n, c);
	tap_check(s && !s->timewait && s->state == TCPCLOSE_CLOSE_WAIT,
		  "the new connection's CLOSE_WAIT entry outlives the old connection's end");
	if (!s)
		ev_dump(&l, c);
	free(tab);
	close(cfd);
	return tap_finish();
}
