// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "lib.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

int tc_open_lazy(int flags)
{
	int fd = open(TCPCLOSE_DEVICE, flags);

	if (fd < 0)
		tap_bail("open %s: %s", TCPCLOSE_DEVICE, strerror(errno));
	return fd;
}

/* A file's stream starts at its first poll() or read(): start it now. */
int tc_open(int flags)
{
	struct pollfd p = { .fd = tc_open_lazy(flags), .events = POLLIN };

	if (poll(&p, 1, 0) < 0 || (p.revents & POLLERR))
		tap_bail("starting the stream failed (poll revents %#x)",
			 p.revents);
	return p.fd;
}

void tc_get_stats(int fd, struct tcpclose_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (ioctl(fd, TCPCLOSE_IOC_STATS, st))
		tap_bail("TCPCLOSE_IOC_STATS: %s", strerror(errno));
}

static void ev_push(struct evlist *l, const struct tcpclose_event *ev)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->ev = realloc(l->ev, l->cap * sizeof(*ev));
		if (!l->ev)
			tap_bail("out of memory");
	}
	l->ev[l->n++] = *ev;
}

int tc_collect(int fd, struct evlist *l, int timeout_ms)
{
	struct tcpclose_event buf[64];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int got = 0;
	ssize_t n;

	if (poll(&p, 1, timeout_ms) < 0)
		tap_bail("poll: %s", strerror(errno));
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			tap_bail("read: %s", strerror(errno));
		if (n == 0 || n % sizeof(buf[0]))
			tap_bail("read returned %zd bytes", n);
		for (int i = 0; i < n / (ssize_t)sizeof(buf[0]); i++)
			ev_push(l, &buf[i]);
		got += n / sizeof(buf[0]);
	}
	return got;
}

int ev_find(const struct evlist *l, uint64_t cookie, int old, int new)
{
	for (int i = 0; i < l->n; i++)
		if (l->ev[i].cookie == cookie &&
		    (old < 0 || l->ev[i].oldstate == old) &&
		    l->ev[i].newstate == new)
			return i;
	return -1;
}

int tc_wait_for(int fd, struct evlist *l, uint64_t cookie, int old, int new,
		int timeout_ms)
{
	uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
	int i;

	for (;;) {
		i = ev_find(l, cookie, old, new);
		if (i >= 0 || mono_ns() > end)
			return i;
		tc_collect(fd, l, 100);
	}
}

void ev_story(const struct evlist *l, uint64_t cookie, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < l->n && off < len; i++) {
		const struct tcpclose_event *e = &l->ev[i];

		if (e->cookie != cookie)
			continue;
		off += snprintf(buf + off, len - off, "%s%s>%s", off ? " " : "",
				tc_state_name(e->oldstate),
				tc_state_name(e->newstate));
	}
}

void ev_dump(const struct evlist *l, uint64_t cookie)
{
	for (int i = 0; i < l->n; i++) {
		const struct tcpclose_event *e = &l->ev[i];
		char was[32];

		if (cookie && e->cookie != cookie)
			continue;
		tc_format_duration(was, sizeof(was), e->prev_state_ns);
		tap_info("  cookie %llu %s>%s flags %#x sub %u reason %s was %s rx %u tx %u ino %llu",
			 (unsigned long long)e->cookie,
			 tc_state_name(e->oldstate), tc_state_name(e->newstate),
			 e->flags, e->tw_substate, tc_reason_name(e->reason),
			 e->flags & TCPCLOSE_F_DUR_KNOWN ? was : "?",
			 e->rx_queue, e->tx_queue, (unsigned long long)e->ino);
	}
}

int tc_dump_table(int fd, struct tcpclose_sock **out, uint64_t *total)
{
	struct tcpclose_dump d = { .size = sizeof(d), .count = 4096 };

	*out = calloc(d.count, sizeof(**out));
	d.entries_ptr = (uintptr_t)*out;
	if (ioctl(fd, TCPCLOSE_IOC_DUMP, &d))
		tap_bail("TCPCLOSE_IOC_DUMP: %s", strerror(errno));
	*total = d.total;
	return d.count;
}

const struct tcpclose_sock *table_find(const struct tcpclose_sock *t, int n,
				       uint64_t cookie)
{
	for (int i = 0; i < n; i++)
		if (t[i].cookie == cookie)
			return &t[i];
	return NULL;
}

uint64_t sock_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len))
		tap_bail("SO_COOKIE: %s", strerror(errno));
	return c;
}

uint64_t orphan_close(int fd, struct evlist *l, int cfd, int sfd)
{
	uint64_t c = sock_cookie(cfd);

	/*
	 * In FIN_WAIT2 before close(), so that close() hands the socket to
	 * timewait itself.  Closed in FIN_WAIT1, an orphan whose FIN's ACK
	 * is taken from the backlog while close() still owns the socket
	 * waits in FIN_WAIT2 on a 60 s timer instead (the "Bad case" of
	 * tcp_rcv_state_process()), until the server's FIN: the debug lane
	 * once waited 5 s for a handoff that was not coming.
	 */
	shutdown(cfd, SHUT_WR);
	tc_wait_for(fd, l, c, TCPCLOSE_FIN_WAIT1, TCPCLOSE_FIN_WAIT2, 5000);
	close(cfd);
	tc_wait_for(fd, l, c, TCPCLOSE_FIN_WAIT2, TCPCLOSE_FIN_WAIT2, 5000);
	close(sfd);
	tc_wait_for(fd, l, c, TCPCLOSE_FIN_WAIT2, TCPCLOSE_TIME_WAIT, 5000);
	return c;
}

/*
 * The kernel's own view of the IPv4 socket bound to local @port: whether
 * it is a full socket in FIN_WAIT2 (st 05) on its keepalive timer (tr 2);
 * a timewait socket in that substate shows tr 3.
 */
static int full_fin_wait2(int port)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	unsigned int lport, st, tr;
	char line[512];
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %x",
			   &lport, &st, &tr) == 3 &&
		    (int)lport == port && st == 5 && tr == 2)
			found = 1;
	fclose(f);
	return found;
}

/*
 * close() the client @cfd (cookie @c, local port @cport); see
 * handoff_pair() in lib.h.
 */
static int close_for_handoff(int fd, struct evlist *l, int cfd, uint64_t c,
			     int cport)
{
	int i;

	/*
	 * The ACK of the FIN normally comes in softirq, where the orphan in
	 * FIN_WAIT1 hands itself over on the spot.  Every ACK that comes
	 * while close() owns the socket waits in its backlog: one taken by
	 * __tcp_close()'s own drain still ends in a handoff from the task,
	 * but one that comes after it, taken by release_sock() as close()
	 * returns, leaves the orphan a full socket in FIN_WAIT2 on its
	 * keepalive timer (the "Bad case" of tcp_rcv_state_process()) until
	 * the peer's FIN: a true story, but not a handoff in FIN_WAIT2.  The
	 * debug lane met it once (CI, active_close).  Only when the kernel
	 * shows that socket (/proc/net/tcp) is it that case: a handoff
	 * record lost would fail.
	 */
	close(cfd);
	i = tc_wait_for(fd, l, c, TCPCLOSE_FIN_WAIT1, TCPCLOSE_FIN_WAIT2,
			5000);
	if (tc_wait_for(fd, l, c, TCPCLOSE_FIN_WAIT2, TCPCLOSE_FIN_WAIT2,
			5000) >= 0)
		return 1;
	if (i < 0 || !(l->ev[i].flags & TCPCLOSE_F_PROCESS) ||
	    !full_fin_wait2(cport))
		return -1;
	tap_info("cookie %llu: the ACK of its FIN was taken from the backlog as close() returned: a full socket in FIN_WAIT2 on its keepalive timer (/proc/net/tcp), no handoff until the peer's FIN; another connection",
		 (unsigned long long)c);
	return 0;
}

int handoff_pair(int fd, struct evlist *l, int lfd, int port,
		 const char *unread, struct tc_pair *p)
{
	int cfd, handed = -1;

	for (int try = 0; try < 3; try++) {
		if (try)
			close(p->sfd);
		cfd = tcp_connect(AF_INET, "127.0.0.1", port);
		p->sfd = tcp_accept(lfd);
		p->cc = sock_cookie(cfd);
		p->sc = sock_cookie(p->sfd);
		p->cport = local_port(cfd);
		if (unread)
			xwrite(cfd, unread, strlen(unread));
		handed = close_for_handoff(fd, l, cfd, p->cc, p->cport);
		if (handed)
			break;
	}
	return handed;
}

socklen_t make_addr(struct sockaddr_storage *ss, int family,
		    const char *addr, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s->sin_addr);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	inet_pton(AF_INET6, addr, &s6->sin6_addr);
	return sizeof(*s6);
}

static int tcp_socket(int family)
{
	int one = 1, fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		tap_bail("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return fd;
}

int tcp_listen(int family, const char *addr, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, family, addr, *port);
	int fd = tcp_socket(family);

	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128))
		tap_bail("bind/listen %s: %s", addr, strerror(errno));
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int tcp_connect_from(int family, const char *addr, int port, int lport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = tcp_socket(family);

	if (lport) {
		len = make_addr(&ss, family, family == AF_INET ? "0.0.0.0" :
				"::", lport);
		if (bind(fd, (struct sockaddr *)&ss, len))
			tap_bail("bind port %d: %s", lport, strerror(errno));
	}
	len = make_addr(&ss, family, addr, port);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int tcp_connect(int family, const char *addr, int port)
{
	int fd = tcp_connect_from(family, addr, port, 0);

	if (fd < 0)
		tap_bail("connect %s:%d: %s", addr, port, strerror(errno));
	return fd;
}

int tcp_accept(int lfd)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		tap_bail("accept: %s", strerror(errno));
	return fd;
}

void xwrite(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		tap_bail("write: %s", strerror(errno));
}

size_t drain(int fd)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += n;
	return total;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void hold_traffic(const pid_t *pids, int n, int stop)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)	/* never 0: the whole process group */
			kill(pids[i], stop ? SIGSTOP : SIGCONT);
	if (stop)
		sleep_ms(100);
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * SEC_NS + ts.tv_nsec;
}

const char *tool(const char *name)
{
	static char path[2][64];
	static int i;
	char *p = path[i++ % 2];

	snprintf(p, sizeof(path[0]), "/iproute2/%s", name);
	return access(p, X_OK) ? name : p;
}

int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		tap_info("command failed (%d): %s", rc, cmd);
	return rc;
}

void enter_netns(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), name ? "/run/netns/%s" : "/proc/1/ns/net",
		 name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		tap_bail("setns %s: %s", path, strerror(errno));
	close(fd);
}

int run_capture(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	char *copy;
	size_t n;
	int st;

	if (!p)
		tap_bail("popen %s", cmd);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	tap_info("$ %s (exit %d)", cmd, WEXITSTATUS(st));
	copy = strdup(out);
	for (char *l = strtok(copy, "\n"); l; l = strtok(NULL, "\n"))
		tap_info("  %s", l);
	free(copy);
	return WEXITSTATUS(st);
}

int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

int local_port(int fd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	return ntohs(a.ss_family == AF_INET6 ?
		     ((struct sockaddr_in6 *)&a)->sin6_port :
		     ((struct sockaddr_in *)&a)->sin_port);
}

int joined_within(pthread_t t, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

void close_fin_ack(int fd, struct evlist *l, uint64_t *c, int n)
{
	int lfd, cfd, sfd, port = 0, i;
	char buf[16];

	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	for (i = 0; i < n; i++) {
		cfd = tcp_connect(AF_INET, "127.0.0.1", port);
		sfd = tcp_accept(lfd);
		c[i] = sock_cookie(cfd);
		close(cfd);
		while (read(sfd, buf, sizeof(buf)) > 0)
			;
		close(sfd);	/* at once: FIN rides with the ACK */
		sleep_ms(200);
		tc_collect(fd, l, 100);
	}
	close(lfd);
}
