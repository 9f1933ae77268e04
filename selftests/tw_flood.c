// SPDX-License-Identifier: GPL-2.0
/*
 * A TIME_WAIT flood must not blind the module.  Loaded with
 * table_size=64 tw_table_size=64 (the flood is scaled to what TCG drives:
 * 160 server-closes-first connections fill the timewait budget 2.5 times):
 * a service leaking CLOSE_WAIT is still fully tracked with true ages,
 * active closes still read as handoffs, and each class's overflow counts
 * sockets, once each.
 */
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include "lib.h"

#define FLOOD	160
#define LEAK	20
/*
 * The peer of a CLOSE_WAIT socket is in FIN_WAIT2, often as a full socket
 * (the ACK of its FIN met it owned by the closing task): room for both.
 */
#define FULL	64
#define TW	64
/* CLOSE_WAIT sockets beyond the leak: LEAK + EXTRA > FULL. */
#define EXTRA	60

/* The server closes first: its side goes to TIME_WAIT. */
static void flood(int lfd, int port)
{
	char buf[16];
	int c, s, i;

	for (i = 0; i < FLOOD; i++) {
		c = tcp_connect(AF_INET, "127.0.0.1", port);
		s = tcp_accept(lfd);
		close(s);
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
}

static int handoffs(const struct evlist *l, uint64_t cookie)
{
	int n = 0;

	for (int i = 0; i < l->n; i++)
		if (l->ev[i].cookie == cookie &&
		    (l->ev[i].flags & TCPCLOSE_F_HANDOFF))
			n++;
	return n;
}

int main(void)
{
	struct tcpclose_stats st;
	struct tcpclose_sock *tab;
	struct evlist l = { 0 };
	uint64_t total, leaked[LEAK], before, c;
	int fd, lfd, port = 0, srv[LEAK], cli[LEAK], i, n, tracked = 0;
	int good_age = 0, extra[2 * EXTRA], ok;

	tap_plan(7);
	/*
	 * Opened in the initial namespace, which sees the host-wide counters;
	 * the connections run in a namespace of their own, with no other
	 * test's sockets.
	 */
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	if (unshare(CLONE_NEWNET) || sh("%s link set lo up", tool("ip")))
		tap_bail("cannot enter a fresh network namespace");
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	flood(lfd, port);
	while (tc_collect(fd, &l, 200) > 0)
		;
	tc_get_stats(fd, &st);
	tap_info("after the flood: full entries %llu, tw entries %llu/%llu, tw overflow %llu, full overflow %llu",
		 (unsigned long long)st.table_entries,
		 (unsigned long long)st.tw_entries,
		 (unsigned long long)st.tw_capacity,
		 (unsigned long long)st.tw_overflow,
		 (unsigned long long)st.table_overflow);
	tap_check(st.tw_entries == TW && st.tw_overflow == FLOOD - TW &&
		  st.table_overflow == 0,
		  "the flood fills the timewait budget only; %d sockets counted once each",
		  FLOOD - TW);

	/* A leaking service: the peer closes, the application never does. */
	before = mono_ns();
	for (i = 0; i < LEAK; i++) {
		srv[i] = tcp_connect(AF_INET, "127.0.0.1", port);
		cli[i] = tcp_accept(lfd);
		leaked[i] = sock_cookie(srv[i]);
		close(cli[i]);
	}
	sleep_ms(1500);
	n = tc_dump_table(fd, &tab, &total);
	for (i = 0; i < LEAK; i++) {
		const struct tcpclose_sock *s = table_find(tab, n, leaked[i]);

		tracked += s && s->state == TCPCLOSE_CLOSE_WAIT;
		good_age += s && s->since_ns >= before &&
			    s->since_ns <= before + 1500 * 1000000ULL;
	}
	tap_check(tracked == LEAK, "all %d CLOSE_WAIT sockets tracked (%d)",
		  LEAK, tracked);
	tap_check(good_age == LEAK, "with their true ages (%d)", good_age);
	free(tab);

	/* Active closes still read as handoffs, never as a final close. */
	l.n = 0;
	i = tcp_connect(AF_INET, "127.0.0.1", port);
	n = tcp_accept(lfd);
	c = orphan_close(fd, &l, i, n);
	ok = handoffs(&l, c) == 1 &&
	     ev_find(&l, c, TCPCLOSE_FIN_WAIT2, TCPCLOSE_CLOSE) < 0 &&
	     ev_find(&l, c, TCPCLOSE_FIN_WAIT2, TCPCLOSE_TIME_WAIT) >= 0;
	if (!ok)
		ev_dump(&l, c);
	tap_check(ok, "with the timewait budget full, an active close is still a handoff");

	/*
	 * The full-socket class overflows on its own.  Each socket that could
	 * not enter is counted once: at least the CLOSE_WAIT sockets missing
	 * from the table, at most the 2 * EXTRA sockets that entered close states,
	 * and their later transitions count nothing again.
	 */
	for (i = 0; i < EXTRA; i++) {
		extra[2 * i] = tcp_connect(AF_INET, "127.0.0.1", port);
		extra[2 * i + 1] = tcp_accept(lfd);
		close(extra[2 * i + 1]);
	}
	sleep_ms(1000);
	tc_get_stats(fd, &st);
	before = st.table_overflow;
	n = tc_dump_table(fd, &tab, &total);
	for (i = 0, tracked = 0; i < EXTRA; i++)
		tracked += table_find(tab, n, sock_cookie(extra[2 * i])) != NULL;
	free(tab);
	tap_check(st.table_entries <= FULL &&
		  before >= (uint64_t)(EXTRA - tracked) && before <= 2 * EXTRA &&
		  tracked < EXTRA,
		  "full-socket class overflows on its own: %llu sockets not tracked, %d CLOSE_WAIT of %d missing",
		  (unsigned long long)before, EXTRA - tracked, EXTRA);
	for (i = 0; i < EXTRA; i++) {
		drain(extra[2 * i]);
		close(extra[2 * i]);
	}
	for (i = 0; i < LEAK; i++)
		close(srv[i]);
	sleep_ms(1000);
	tc_get_stats(fd, &st);
	tap_check(st.table_overflow == before,
		  "closing untracked sockets counts nothing again (%llu, was %llu)",
		  (unsigned long long)st.table_overflow,
		  (unsigned long long)before);
	tap_check(st.table_entries == 0 && st.missed == 0,
		  "every full socket left the table (%llu); no probe missed (%llu)",
		  (unsigned long long)st.table_entries,
		  (unsigned long long)st.missed);
	return tap_finish();
}
