// SPDX-License-Identifier: GPL-2.0
/*
 * The state-duration histograms (TCPCLOSE_IOC_HIST), read through the
 * ioctl only, no stream.  Loaded with table_size=16.
 *  - In a child network namespace, servers close 150 ms after the peer's
 *    FIN: each CLOSE_WAIT lands in (134 ms, 268 ms], in that namespace's
 *    histograms and the host's; LAST_ACK, FIN_WAIT1 and FIN_WAIT2 count
 *    once per connection.
 *  - In the initial namespace, 600 ms: (537 ms, 1.07 s] there, and not in
 *    the child's, whose 150 ms are not in the initial namespace's either.
 *  - A TIME_WAIT taken over by a connect() 1.5 s later: the row of reason
 *    reuse, (1.07 s, 2.15 s].
 *  - 24 CLOSE_WAIT sockets at once with 16 table slots: those the table
 *    could not hold count as unknown, in no bucket; none is lost.
 *  - The child namespace deleted: its TIME_WAIT sockets end as "other"
 *    in the host's histograms, and its own are gone (ENOENT).
 *  - Every errno of the ioctl, and its scoping.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "lib.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define ROOM	16
#define NS	"tch"
#define N	4	/* connections of 150 ms in CLOSE_WAIT, child */
#define M	3	/* of 600 ms, initial namespace */
#define K	24	/* at once, past the 16 table slots */
#define NONE	(-1)	/* a row without reason */

/* Bucket i holds (2^(9+i), 2^(10+i)] ns. */
#define B150MS	18	/* (134 ms, 268 ms] */
#define B600MS	20	/* (537 ms, 1.07 s] */
#define B1500MS	21	/* (1.07 s, 2.15 s] */

struct hview {
	struct tcpclose_hist h;
	struct tcpclose_hist_row rows[ROOM];
	int n;
};

/* 0, or the errno of the ioctl. */
static int get_hist(int fd, uint64_t cookie, struct hview *v)
{
	memset(v, 0, sizeof(*v));
	v->h.size = sizeof(v->h);
	v->h.row_size = sizeof(v->rows[0]);
	v->h.netns_cookie = cookie;
	v->h.nr_rows = ROOM;
	v->h.rows_ptr = (uintptr_t)v->rows;
	if (ioctl(fd, TCPCLOSE_IOC_HIST, &v->h))
		return errno;
	v->n = v->h.nr_rows < ROOM ? v->h.nr_rows : ROOM;
	return 0;
}

static void hist(int fd, uint64_t cookie, struct hview *v)
{
	int err = get_hist(fd, cookie, v);

	if (err)
		tap_bail("TCPCLOSE_IOC_HIST (cookie %llu): %s",
			 (unsigned long long)cookie, strerror(err));
}

static const struct tcpclose_hist_row *row(const struct hview *v, int state,
					   int reason)
{
	static const struct tcpclose_hist_row zero;

	for (int i = 0; i < v->n; i++)
		if (v->rows[i].state == state &&
		    (reason == NONE || v->rows[i].reason == reason))
			return &v->rows[i];
	return &zero;
}

/* Differences between two readings of one row. */
static long long d_count(const struct hview *a, const struct hview *b,
			 int state, int reason)
{
	return row(b, state, reason)->count - row(a, state, reason)->count;
}

static long long d_unknown(const struct hview *a, const struct hview *b,
			   int state, int reason)
{
	return row(b, state, reason)->unknown - row(a, state, reason)->unknown;
}

static long long d_bucket(const struct hview *a, const struct hview *b,
			  int state, int reason, int i)
{
	return row(b, state, reason)->buckets[i] -
	       row(a, state, reason)->buckets[i];
}

/* In nanoseconds; the test's sums are far below 2^64. */
static double d_sum(const struct hview *a, const struct hview *b, int state,
		    int reason)
{
	return (double)(row(b, state, reason)->sum_ns -
			row(a, state, reason)->sum_ns);
}

static void show(const char *what, const struct hview *a,
		 const struct hview *b, int state, int reason)
{
	const struct tcpclose_hist_row *r = row(b, state, reason);
	char buf[1024] = "";
	size_t off = 0;

	for (int i = 0; i < TCPCLOSE_HIST_BUCKETS && off < sizeof(buf) - 32; i++)
		if (d_bucket(a, b, state, reason, i))
			off += snprintf(buf + off, sizeof(buf) - off, " b%d:%lld",
					i, d_bucket(a, b, state, reason, i));
	tap_info("%s %s/%s: count +%lld unknown +%lld sum +%.1f ms;%s", what,
		 tc_state_name(state), r->reason ? tc_reason_name(r->reason) : "-",
		 d_count(a, b, state, reason), d_unknown(a, b, state, reason),
		 d_sum(a, b, state, reason) / 1e6, off ? buf : " no bucket");
}

/*
 * Reads until the row has counted @want more transitions (known or not)
 * than in @a, for up to @ms: what the hooks count after a close() may
 * come a moment later (a softirq, a namespace's cleanup work).
 */
static void wait_count(int fd, uint64_t cookie, const struct hview *a,
		       struct hview *b, int state, int reason, long long want,
		       int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		hist(fd, cookie, b);
		if (d_count(a, b, state, reason) +
		    d_unknown(a, b, state, reason) >= want)
			return;
		sleep_ms(10);
	}
}

static uint64_t netns_cookie_of(int sock)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(sock, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len))
		tap_bail("SO_NETNS_COOKIE: %s", strerror(errno));
	return c;
}

/* @k connections in the current namespace; returns the listener. */
static int pairs(int k, int *c, int *s, int *port)
{
	int lfd;

	*port = 0;
	lfd = tcp_listen(AF_INET, "127.0.0.1", port);
	for (int i = 0; i < k; i++) {
		c[i] = tcp_connect(AF_INET, "127.0.0.1", *port);
		s[i] = tcp_accept(lfd);
	}
	return lfd;
}

/* The peer's FIN has been processed: the socket is in CLOSE_WAIT. */
static void wait_eof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char c;

	if (poll(&p, 1, 5000) != 1 || recv(fd, &c, 1, MSG_DONTWAIT) != 0)
		tap_bail("no FIN from the peer");
}

/* The clients close; @ms after every server saw it, the servers close. */
static void close_after(int k, int *c, int *s, int ms)
{
	for (int i = 0; i < k; i++)
		close(c[i]);
	for (int i = 0; i < k; i++)
		wait_eof(s[i]);
	sleep_ms(ms);
	for (int i = 0; i < k; i++)
		close(s[i]);
}

static int rows_labelled(const struct hview *v)
{
	static const int want[][2] = {
		{ TCPCLOSE_CLOSE_WAIT, 0 }, { TCPCLOSE_LAST_ACK, 0 },
		{ TCPCLOSE_FIN_WAIT1, 0 }, { TCPCLOSE_FIN_WAIT2, 0 },
		{ TCPCLOSE_CLOSING, 0 },
		{ TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_EXPIRED },
		{ TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_RST },
		{ TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_REUSE },
		{ TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_OTHER },
		{ TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_KILLED },
		{ 0, 0 },
	};
	int n = sizeof(want) / sizeof(want[0]);

	if (v->n != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (v->rows[i].state != want[i][0] ||
		    v->rows[i].reason != want[i][1] ||
		    (!v->rows[i].state && v->rows[i].count))
			return 0;
	return 1;
}

static void bad_input(int fd)
{
	struct hview v;
	struct tcpclose_hist h = { .size = sizeof(h),
				   .row_size = sizeof(v.rows[0]) };
	int e1, e2, e3, e4;

	h.size--;
	e1 = ioctl(fd, TCPCLOSE_IOC_HIST, &h) ? errno : 0;
	h.size++;
	h.row_size--;
	e2 = ioctl(fd, TCPCLOSE_IOC_HIST, &h) ? errno : 0;
	tap_check(e1 == EINVAL && e2 == EINVAL,
		  "a wrong size or row size: EINVAL (%d, %d)", e1, e2);
	h.row_size++;
	h.nr_rows = ROOM;
	e1 = ioctl(fd, TCPCLOSE_IOC_HIST, &h) ? errno : 0;
	h.rows_ptr = 1;
	e2 = ioctl(fd, TCPCLOSE_IOC_HIST, &h) ? errno : 0;
	e3 = ioctl(fd, TCPCLOSE_IOC_HIST, (void *)1) ? errno : 0;
	h.nr_rows = 0;
	e4 = ioctl(fd, TCPCLOSE_IOC_HIST, &h) ? errno : 0;
	tap_check(e1 == EFAULT && e2 == EFAULT && e3 == EFAULT && !e4 &&
		  h.nr_rows == 11 && h.version == TCPCLOSE_ABI_VERSION,
		  "bad pointers: EFAULT; no room: the number of rows alone (%u)",
		  h.nr_rows);
	hist(fd, 0, &v);
	tap_check(rows_labelled(&v),
		  "11 rows: five states, TIME_WAIT per end reason, the unknown state");
}

static void scoping(int hfd, int cfd, uint64_t init_ns, uint64_t child_ns)
{
	struct hview v;
	int ok, e1, e2;

	hist(hfd, 0, &v);
	ok = v.h.scope == TCPCLOSE_SCOPE_HOST && v.h.netns_cookie == 0;
	hist(hfd, child_ns, &v);
	ok &= v.h.scope == TCPCLOSE_SCOPE_NETNS && v.h.netns_cookie == child_ns;
	hist(hfd, init_ns, &v);
	ok &= v.h.scope == TCPCLOSE_SCOPE_NETNS && v.h.netns_cookie == init_ns;
	e1 = get_hist(hfd, ~0ULL, &v);
	tap_check(ok && e1 == ENOENT,
		  "initial namespace: the host's, or any namespace by cookie; an unknown cookie ENOENT");
	hist(cfd, 0, &v);
	ok = v.h.scope == TCPCLOSE_SCOPE_NETNS && v.h.netns_cookie == child_ns;
	hist(cfd, child_ns, &v);
	ok &= v.h.scope == TCPCLOSE_SCOPE_NETNS;
	e1 = get_hist(cfd, init_ns, &v);
	e2 = get_hist(cfd, ~0ULL, &v);
	tap_check(ok && e1 == EPERM && e2 == EPERM,
		  "child namespace: its own only; another cookie EPERM (%d, %d)",
		  e1, e2);
}

/* N connections in the child, CLOSE_WAIT for 150 ms. */
static void child_150ms(int hfd, int cfd, struct hview *c1)
{
	struct hview c0, h0, h1;
	int c[N], s[N], lfd, port;
	double fin_wait;
	int ok;

	hist(cfd, 0, &c0);
	hist(hfd, 0, &h0);
	enter_netns(NS);
	lfd = pairs(N, c, s, &port);
	enter_netns(NULL);
	close_after(N, c, s, 150);
	close(lfd);
	wait_count(cfd, 0, &c0, c1, TCPCLOSE_LAST_ACK, NONE, N, 5000);
	wait_count(cfd, 0, &c0, c1, TCPCLOSE_FIN_WAIT2, NONE, N, 5000);
	hist(hfd, 0, &h1);
	show("child", &c0, c1, TCPCLOSE_CLOSE_WAIT, NONE);
	ok = d_count(&c0, c1, TCPCLOSE_CLOSE_WAIT, NONE) == N &&
	     d_bucket(&c0, c1, TCPCLOSE_CLOSE_WAIT, NONE, B150MS) == N &&
	     !d_unknown(&c0, c1, TCPCLOSE_CLOSE_WAIT, NONE) &&
	     d_sum(&c0, c1, TCPCLOSE_CLOSE_WAIT, NONE) >= N * 150e6 &&
	     d_sum(&c0, c1, TCPCLOSE_CLOSE_WAIT, NONE) <= N * 268435456.0;
	tap_check(ok, "CLOSE_WAIT of 150 ms, %d times: all in (134 ms, 268 ms], the sum in range", N);
	show("child", &c0, c1, TCPCLOSE_LAST_ACK, NONE);
	show("child", &c0, c1, TCPCLOSE_FIN_WAIT1, NONE);
	show("child", &c0, c1, TCPCLOSE_FIN_WAIT2, NONE);
	fin_wait = d_sum(&c0, c1, TCPCLOSE_FIN_WAIT1, NONE) +
		   d_sum(&c0, c1, TCPCLOSE_FIN_WAIT2, NONE);
	ok = d_count(&c0, c1, TCPCLOSE_LAST_ACK, NONE) == N &&
	     d_count(&c0, c1, TCPCLOSE_FIN_WAIT1, NONE) == N &&
	     d_count(&c0, c1, TCPCLOSE_FIN_WAIT2, NONE) == N &&
	     fin_wait >= N * 149e6 &&
	     !d_count(&c0, c1, 0, NONE) && !d_unknown(&c0, c1, 0, NONE);
	tap_check(ok, "LAST_ACK, FIN_WAIT1, FIN_WAIT2 once per connection; the client's FIN_WAIT1 + FIN_WAIT2 (%.0f ms) cover the server's wait",
		  fin_wait / 1e6);
	show("host", &h0, &h1, TCPCLOSE_CLOSE_WAIT, NONE);
	tap_check(d_bucket(&h0, &h1, TCPCLOSE_CLOSE_WAIT, NONE, B150MS) >= N &&
		  d_count(&h0, &h1, TCPCLOSE_LAST_ACK, NONE) >= N,
		  "the host's histograms have them too");
}

/* M connections in the initial namespace, CLOSE_WAIT for 600 ms. */
static void init_600ms(int hfd, int cfd, uint64_t init_ns,
		       const struct hview *c1)
{
	struct hview i0, i1, h0, h1, c2;
	int c[M], s[M], lfd, port, ok;

	hist(hfd, init_ns, &i0);
	hist(hfd, 0, &h0);
	lfd = pairs(M, c, s, &port);
	close_after(M, c, s, 600);
	close(lfd);
	wait_count(hfd, init_ns, &i0, &i1, TCPCLOSE_LAST_ACK, NONE, M, 5000);
	hist(hfd, 0, &h1);
	hist(cfd, 0, &c2);
	show("initial", &i0, &i1, TCPCLOSE_CLOSE_WAIT, NONE);
	ok = d_bucket(&i0, &i1, TCPCLOSE_CLOSE_WAIT, NONE, B600MS) == M &&
	     !d_bucket(&i0, &i1, TCPCLOSE_CLOSE_WAIT, NONE, B150MS) &&
	     row(&i1, TCPCLOSE_CLOSE_WAIT, NONE)->buckets[B150MS] == 0 &&
	     !d_count(c1, &c2, TCPCLOSE_CLOSE_WAIT, NONE) &&
	     row(&c2, TCPCLOSE_CLOSE_WAIT, NONE)->buckets[B600MS] == 0;
	tap_check(ok, "CLOSE_WAIT of 600 ms in the initial namespace: (537 ms, 1.07 s] there, not in the child's; the child's 150 ms not there");
	tap_check(d_bucket(&h0, &h1, TCPCLOSE_CLOSE_WAIT, NONE, B600MS) >= M &&
		  row(&h1, TCPCLOSE_CLOSE_WAIT, NONE)->buckets[B150MS] >= N,
		  "the host's have both namespaces'");
}

/*
 * In the child: the client closes first and ends in TIME_WAIT; 1.5 s
 * later a connect() from its port takes the 4-tuple over.  The new
 * connection is closed client first: one more TIME_WAIT in the child.
 */
static void reuse_1500ms(int cfd)
{
	struct hview c0, c1, c2;
	int c, s, lfd, port, cport, ok;

	hist(cfd, 0, &c0);
	enter_netns(NS);
	lfd = pairs(1, &c, &s, &port);
	cport = local_port(c);
	close_after(1, &c, &s, 0);
	/* FIN_WAIT2 left: the client is in TIME_WAIT from now on. */
	wait_count(cfd, 0, &c0, &c1, TCPCLOSE_FIN_WAIT2, NONE, 1, 5000);
	sleep_ms(1500);
	c = tcp_connect_from(AF_INET, "127.0.0.1", port, cport);
	wait_count(cfd, 0, &c0, &c2, TCPCLOSE_TIME_WAIT,
		   TCPCLOSE_REASON_REUSE, 1, 5000);
	show("child", &c0, &c2, TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_REUSE);
	ok = c >= 0 &&
	     d_count(&c0, &c2, TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_REUSE) == 1 &&
	     d_bucket(&c0, &c2, TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_REUSE,
		      B1500MS) == 1 &&
	     !d_count(&c0, &c2, TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_EXPIRED);
	tap_check(ok, "TIME_WAIT taken over by connect() after 1.5 s: the reuse row, (1.07 s, 2.15 s]");
	if (c >= 0) {
		s = tcp_accept(lfd);
		close_after(1, &c, &s, 0);
	}
	close(lfd);
	enter_netns(NULL);
}

/* K CLOSE_WAIT sockets at once in the child, with 16 table slots. */
static void overflow(int hfd, int cfd)
{
	struct hview c0, c1;
	struct tcpclose_stats st;
	int c[K], s[K], lfd, port;
	long long known, unknown;

	hist(cfd, 0, &c0);
	enter_netns(NS);
	lfd = pairs(K, c, s, &port);
	enter_netns(NULL);
	close_after(K, c, s, 50);
	close(lfd);
	wait_count(cfd, 0, &c0, &c1, TCPCLOSE_CLOSE_WAIT, NONE, K, 5000);
	show("child", &c0, &c1, TCPCLOSE_CLOSE_WAIT, NONE);
	tc_get_stats(hfd, &st);
	known = d_count(&c0, &c1, TCPCLOSE_CLOSE_WAIT, NONE);
	unknown = d_unknown(&c0, &c1, TCPCLOSE_CLOSE_WAIT, NONE);
	tap_check(known + unknown == K && unknown >= K - 16 &&
		  st.table_overflow > 0,
		  "%d CLOSE_WAIT at once, 16 slots: %lld known + %lld unknown (in no bucket), table overflow %llu",
		  K, known, unknown, (unsigned long long)st.table_overflow);
}

/* The child namespace goes: its TIME_WAIT sockets are purged. */
static void teardown(int hfd, int cfd, uint64_t child_ns)
{
	/* Phases 1, 3 (the new connection) and 4 left clients there. */
	const long long tw = N + 1 + K;
	struct hview h0, h1, v;
	long long ended;
	int e1 = 0, e2 = 0;

	hist(hfd, 0, &h0);
	sh("%s netns del %s", tool("ip"), NS);
	wait_count(hfd, 0, &h0, &h1, TCPCLOSE_TIME_WAIT,
		   TCPCLOSE_REASON_OTHER, tw, 30000);
	show("host", &h0, &h1, TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_OTHER);
	ended = d_count(&h0, &h1, TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_OTHER) +
		d_unknown(&h0, &h1, TCPCLOSE_TIME_WAIT, TCPCLOSE_REASON_OTHER);
	tap_check(ended >= tw,
		  "the child namespace deleted: its %lld TIME_WAIT sockets end as other in the host's histograms (%lld)",
		  tw, ended);
	/* Its exit has run once its timewait sockets are gone. */
	for (int i = 0; i < 100; i++) {
		e1 = get_hist(cfd, 0, &v);
		e2 = get_hist(hfd, child_ns, &v);
		if (e1 == ENOENT && e2 == ENOENT)
			break;
		sleep_ms(50);
	}
	tap_check(e1 == ENOENT && e2 == ENOENT,
		  "its histograms are gone: ENOENT for its own file and by cookie (%d, %d)",
		  e1, e2);
}

int main(void)
{
	struct hview c1;
	uint64_t init_ns, child_ns;
	int hfd, cfd, sock;

	tap_plan(14);
	if (sh("%s netns add %s && %s -n %s link set lo up", tool("ip"), NS,
	       tool("ip"), NS))
		tap_bail("cannot create namespace " NS);
	hfd = tc_open_lazy(O_RDONLY);
	enter_netns(NS);
	cfd = tc_open_lazy(O_RDONLY);
	sock = socket(AF_INET, SOCK_STREAM, 0);
	child_ns = netns_cookie_of(sock);
	close(sock);
	enter_netns(NULL);
	sock = socket(AF_INET, SOCK_STREAM, 0);
	init_ns = netns_cookie_of(sock);
	close(sock);

	bad_input(hfd);
	scoping(hfd, cfd, init_ns, child_ns);
	child_150ms(hfd, cfd, &c1);
	init_600ms(hfd, cfd, init_ns, &c1);
	reuse_1500ms(cfd);
	overflow(hfd, cfd);
	teardown(hfd, cfd, child_ns);
	close(cfd);
	close(hfd);
	return tap_finish();
}
