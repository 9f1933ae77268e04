// SPDX-License-Identifier: GPL-2.0
/*
 * TIME_WAIT ended early by reuse of its 4-tuple:
 *  - a SYN from the same client port reaches the server's TIME_WAIT
 *    socket (the server closed first), which yields to the new connection;
 *  - a local connect() from the port of the client's TIME_WAIT socket
 *    (tcp_tw_reuse, on by default for loopback) takes it over.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "lib.h"

/* One connection; the side given first closes first.  Returns its cookie. */
static uint64_t close_pair(int fd, struct evlist *l, int first, int second)
{
	uint64_t cookie = sock_cookie(first);
	uint64_t other = sock_cookie(second);

	close(first);
	tc_wait_for(fd, l, other, TCPCLOSE_ESTABLISHED, TCPCLOSE_CLOSE_WAIT,
		    5000);
	drain(second);
	close(second);
	/* FIN_WAIT2 > TIME_WAIT, or FIN_WAIT1 > TIME_WAIT on a FIN+ACK */
	tc_wait_for(fd, l, cookie, -1, TCPCLOSE_TIME_WAIT, 5000);
	return cookie;
}

/*
 * One connection whose first closer ends in TIME_WAIT; then a new
 * connection from the same client port must end that TIME_WAIT as reuse.
 */
static void reuse_case(int fd, int lfd, int port, int server_first,
		       const char *who, const char *how)
{
	struct evlist l = { 0 };
	uint64_t cookie;
	int cfd, sfd, cport, i;

	cfd = tcp_connect(AF_INET, "127.0.0.1", port);
	sfd = tcp_accept(lfd);
	cport = local_port(cfd);
	cookie = server_first ? close_pair(fd, &l, sfd, cfd) :
				close_pair(fd, &l, cfd, sfd);
	tap_check(ev_find(&l, cookie, -1, TCPCLOSE_TIME_WAIT) >= 0,
		  "%s socket in TIME_WAIT", who);
	sleep_ms(1100);		/* tcp_tw_reuse wants a second to pass */
	cfd = tcp_connect_from(AF_INET, "127.0.0.1", port, cport);
	i = tc_wait_for(fd, &l, cookie, TCPCLOSE_TIME_WAIT, TCPCLOSE_CLOSE,
			5000);
	tap_check(cfd >= 0 && i >= 0 &&
		  l.ev[i].reason == TCPCLOSE_REASON_REUSE,
		  "%s ended TIME_WAIT, reason reuse", how);
	if (cfd >= 0 && server_first)
		close(tcp_accept(lfd));
	ev_dump(&l, cookie);
	free(l.ev);
}

int main(void)
{
	int fd, lfd, port = 0;

	tap_plan(4);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	/* Server closes first: a SYN from the same client port hits it. */
	reuse_case(fd, lfd, port, 1, "server", "a SYN for the same 4-tuple");
	/* Client closes first: connect() from its port takes the tuple. */
	reuse_case(fd, lfd, port, 0, "client", "connect() from the same port");
	return tap_finish();
}
