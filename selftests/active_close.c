// SPDX-License-Identifier: GPL-2.0
/*
 * The active closer's whole story for one cookie, including the part no
 * tracepoint sees: ESTABLISHED > FIN_WAIT1 > FIN_WAIT2, handoff to the
 * timewait socket, FIN_WAIT2 > TIME_WAIT on the peer's FIN, and the end of
 * TIME_WAIT after 2MSL (60 s).  The passive side: CLOSE_WAIT > LAST_ACK >
 * CLOSE.
 */
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "lib.h"

static int ports_right(const struct evlist *l, uint64_t cookie, int sport,
		       int dport)
{
	int n = 0;

	for (int i = 0; i < l->n; i++) {
		if (l->ev[i].cookie != cookie)
			continue;
		n++;
		if (l->ev[i].sport != sport || l->ev[i].dport != dport) {
			tap_info("cookie %llu: ports %u>%u, want %d>%d",
				 (unsigned long long)cookie, l->ev[i].sport,
				 l->ev[i].dport, sport, dport);
			return 0;
		}
	}
	return n > 0;
}

/* Records of @cookie with every one of @flags. */
static int count_flagged(const struct evlist *l, uint64_t cookie,
			 uint32_t flags)
{
	int n = 0;

	for (int i = 0; i < l->n; i++)
		n += l->ev[i].cookie == cookie &&
		     (l->ev[i].flags & flags) == flags;
	return n;
}

/*
 * Both sides shut down before they close: close() then sets the state the
 * socket is already in (FIN_WAIT2, CLOSE), which the tracepoint reports
 * as FIN_WAIT2 > FIN_WAIT2.  That is no transition, and must not read as
 * a second handoff.
 */
static void shutdown_first(int fd, int lfd, int port)
{
	struct evlist l = { 0 };
	uint64_t cc, sc;
	int cfd, sfd;
	char story[512];

	cfd = tcp_connect(AF_INET, "127.0.0.1", port);
	sfd = tcp_accept(lfd);
	cc = sock_cookie(cfd);
	sc = sock_cookie(sfd);
	shutdown(cfd, SHUT_WR);
	tc_wait_for(fd, &l, cc, TCPCLOSE_FIN_WAIT1, TCPCLOSE_FIN_WAIT2, 5000);
	close(cfd);
	tc_wait_for(fd, &l, cc, TCPCLOSE_FIN_WAIT2, TCPCLOSE_FIN_WAIT2, 5000);
	drain(sfd);
	shutdown(sfd, SHUT_WR);
	tc_wait_for(fd, &l, cc, TCPCLOSE_FIN_WAIT2, TCPCLOSE_TIME_WAIT, 5000);
	tc_wait_for(fd, &l, sc, TCPCLOSE_LAST_ACK, TCPCLOSE_CLOSE, 5000);
	close(sfd);
	tc_collect(fd, &l, 200);
	ev_story(&l, cc, story, sizeof(story));
	tap_info("shut down, then closed: client story: %s", story);
	tap_check(!strcmp(story, "ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2 FIN_WAIT2>FIN_WAIT2 FIN_WAIT2>TIME_WAIT") &&
		  count_flagged(&l, cc, TCPCLOSE_F_HANDOFF) == 1,
		  "shutdown() then close(): one handoff, no FIN_WAIT2>FIN_WAIT2 from close() itself");
	ev_story(&l, sc, story, sizeof(story));
	tap_info("shut down, then closed: server story: %s", story);
	tap_check(!strcmp(story, "ESTABLISHED>CLOSE_WAIT CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSE"),
		  "the server's shutdown() then close(): the passive close only");
}

int main(void)
{
	struct evlist l = { 0 };
	struct tcpclose_sock *tab;
	uint64_t ccookie, scookie, total;
	int fd, lfd, sfd, port = 0, cport, i, n;
	struct tc_pair p;
	char story[512];
	const struct tcpclose_event *e;

	tap_plan(17);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	/* Closed in ESTABLISHED: the handoff inside the ACK's segment. */
	handoff_pair(fd, &l, lfd, port, NULL, &p);
	sfd = p.sfd;
	ccookie = p.cc;
	scookie = p.sc;
	cport = p.cport;

	i = tc_wait_for(fd, &l, scookie, TCPCLOSE_ESTABLISHED,
			TCPCLOSE_CLOSE_WAIT, 5000);
	tap_check(i >= 0, "server ESTABLISHED>CLOSE_WAIT");
	i = tc_wait_for(fd, &l, ccookie, TCPCLOSE_ESTABLISHED,
			TCPCLOSE_FIN_WAIT1, 5000);
	e = i >= 0 ? &l.ev[i] : NULL;
	tap_check(e && (e->flags & TCPCLOSE_F_PROCESS) &&
		  e->pid == (uint32_t)getpid() && e->sport != port &&
		  e->dport == port && !memcmp(e->daddr, "\x7f\0\0\1", 4),
		  "client ESTABLISHED>FIN_WAIT1 from close() in our process, with addresses");
	tap_check(tc_wait_for(fd, &l, ccookie, TCPCLOSE_FIN_WAIT1,
			      TCPCLOSE_FIN_WAIT2, 5000) >= 0,
		  "client FIN_WAIT1>FIN_WAIT2");
	i = tc_wait_for(fd, &l, ccookie, TCPCLOSE_FIN_WAIT2,
			TCPCLOSE_FIN_WAIT2, 5000);
	tap_check(i >= 0 && (l.ev[i].flags & TCPCLOSE_F_HANDOFF) &&
		  (l.ev[i].flags & TCPCLOSE_F_TIMEWAIT),
		  "orphaned client handed to a timewait socket in FIN_WAIT2");

	sleep_ms(300);
	tap_check(drain(sfd) == 0, "server read EOF");
	close(sfd);
	i = tc_wait_for(fd, &l, ccookie, TCPCLOSE_FIN_WAIT2,
			TCPCLOSE_TIME_WAIT, 5000);
	tap_check(i >= 0 && (l.ev[i].flags & TCPCLOSE_F_TIMEWAIT) &&
		  !(l.ev[i].flags & TCPCLOSE_F_HANDOFF) &&
		  (l.ev[i].flags & TCPCLOSE_F_DUR_KNOWN) &&
		  l.ev[i].prev_state_ns >= 250000000ULL,
		  "timewait socket FIN_WAIT2>TIME_WAIT on the peer's FIN, after >= 250ms in FIN_WAIT2");
	tap_check(tc_wait_for(fd, &l, scookie, TCPCLOSE_LAST_ACK,
			      TCPCLOSE_CLOSE, 5000) >= 0 &&
		  ev_find(&l, scookie, TCPCLOSE_CLOSE_WAIT,
			  TCPCLOSE_LAST_ACK) >= 0,
		  "server CLOSE_WAIT>LAST_ACK>CLOSE");

	n = tc_dump_table(fd, &tab, &total);
	{
		const struct tcpclose_sock *s = table_find(tab, n, ccookie);

		tap_check(s && s->state == TCPCLOSE_TIME_WAIT && s->timewait &&
			  s->ino == 0,
			  "live table holds the client in TIME_WAIT, no stale inode");
		tap_check(!table_find(tab, n, scookie),
			  "closed server socket left the live table");
	}
	free(tab);

	shutdown_first(fd, lfd, port);
	tap_info("waiting out TIME_WAIT (60 s)");
	i = tc_wait_for(fd, &l, ccookie, TCPCLOSE_TIME_WAIT, TCPCLOSE_CLOSE,
			75000);
	e = i >= 0 ? &l.ev[i] : NULL;
	tap_check(e && e->reason == TCPCLOSE_REASON_EXPIRED &&
		  (e->flags & TCPCLOSE_F_DUR_KNOWN) &&
		  e->prev_state_ns > 58 * SEC_NS &&
		  e->prev_state_ns < 65 * SEC_NS,
		  "TIME_WAIT>CLOSE expired after ~60s (%.2fs)",
		  e ? e->prev_state_ns / 1e9 : 0);

	ev_story(&l, ccookie, story, sizeof(story));
	tap_info("client story: %s", story);
	tap_check(!strcmp(story, "ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2 FIN_WAIT2>FIN_WAIT2 FIN_WAIT2>TIME_WAIT TIME_WAIT>CLOSE"),
		  "client story is exactly the four-way close, no FIN_WAIT2>CLOSE lie");
	ev_story(&l, scookie, story, sizeof(story));
	tap_info("server story: %s", story);
	tap_check(!strcmp(story, "ESTABLISHED>CLOSE_WAIT CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSE"),
		  "server story is exactly the passive close");

	n = tc_dump_table(fd, &tab, &total);
	tap_check(!table_find(tab, n, ccookie),
		  "expired timewait socket left the live table");
	tap_check(ports_right(&l, ccookie, cport, port) &&
		  ports_right(&l, scookie, port, cport),
		  "every record of both sockets has the right ports, also on the way to CLOSE");
	if (!tap_check(1, "done"))
		return 1;
	ev_dump(&l, 0);
	return tap_finish();
}
