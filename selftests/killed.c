// SPDX-License-Identifier: GPL-2.0
/*
 * ss -K (SOCK_DESTROY through sock_diag, i.e. tcp_abort()) ends sockets
 * with the reason "killed", not "reuse" nor nothing:
 *  - a server stuck in CLOSE_WAIT, the leak an SRE kills by hand;
 *  - a client's timewait socket in TIME_WAIT.
 * ss runs pinned to one CPU, so that tcp_abort() and the CLOSE that
 * follows run on the same CPU (across a migration the reason is unknown,
 * never wrong).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "lib.h"

static void kill_close_wait(int fd, int lfd, int port)
{
	struct evlist l = { 0 };
	struct tcpclose_sock *tab;
	uint64_t scookie, total;
	int cfd, sfd, i, n, rc, err = 0;
	socklen_t len = sizeof(err);

	cfd = tcp_connect(AF_INET, "127.0.0.1", port);
	sfd = tcp_accept(lfd);
	scookie = sock_cookie(sfd);
	close(cfd);
	tc_wait_for(fd, &l, scookie, TCPCLOSE_ESTABLISHED,
		    TCPCLOSE_CLOSE_WAIT, 5000);
	rc = sh("taskset -c 0 %s -K -t state close-wait '( sport = :%d )' >/dev/null",
		tool("ss"), port);
	i = tc_wait_for(fd, &l, scookie, TCPCLOSE_CLOSE_WAIT, TCPCLOSE_CLOSE,
			5000);
	tap_check(rc == 0 && i >= 0 &&
		  l.ev[i].reason == TCPCLOSE_REASON_KILLED &&
		  !(l.ev[i].flags & TCPCLOSE_F_TIMEWAIT),
		  "ss -K on a CLOSE_WAIT socket: CLOSE_WAIT>CLOSE, reason killed (ss rc %d, reason %d)",
		  rc, i >= 0 ? l.ev[i].reason : -1);
	/* The application learns it (SO_ERROR; read() gives the EOF first). */
	rc = getsockopt(sfd, SOL_SOCKET, SO_ERROR, &err, &len);
	tap_check(rc == 0 && err == ECONNABORTED,
		  "the owner's socket has the error ECONNABORTED (%d)", err);
	n = tc_dump_table(fd, &tab, &total);
	tap_check(!table_find(tab, n, scookie), "it left the live table");
	ev_dump(&l, scookie);
	free(tab);
	free(l.ev);
	close(sfd);
}

static void kill_time_wait(int fd, int lfd, int port)
{
	struct evlist l = { 0 };
	uint64_t ccookie;
	int cfd, sfd, cport, i, rc;

	cfd = tcp_connect(AF_INET, "127.0.0.1", port);
	sfd = tcp_accept(lfd);
	cport = local_port(cfd);
	ccookie = orphan_close(fd, &l, cfd, sfd);
	rc = sh("taskset -c 0 %s -K -t state time-wait '( sport = :%d )' >/dev/null",
		tool("ss"), cport);
	i = tc_wait_for(fd, &l, ccookie, TCPCLOSE_TIME_WAIT, TCPCLOSE_CLOSE,
			5000);
	tap_check(rc == 0 && i >= 0 &&
		  l.ev[i].reason == TCPCLOSE_REASON_KILLED &&
		  (l.ev[i].flags & TCPCLOSE_F_TIMEWAIT),
		  "ss -K on a TIME_WAIT socket: TIME_WAIT>CLOSE, reason killed (ss rc %d, reason %d)",
		  rc, i >= 0 ? l.ev[i].reason : -1);
	tap_check(sh("%s -H -t state time-wait '( sport = :%d )' | grep -q .",
		     tool("ss"), cport) != 0,
		  "ss lists it no more");
	ev_dump(&l, ccookie);
	free(l.ev);
}

int main(void)
{
	int fd, lfd, port = 0;

	tap_plan(5);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	kill_close_wait(fd, lfd, port);
	kill_time_wait(fd, lfd, port);
	return tap_finish();
}
