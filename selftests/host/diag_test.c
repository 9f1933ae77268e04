// SPDX-License-Identifier: GPL-2.0
/*
 * The sock_diag path against this machine's kernel, and what it does
 * when the netlink socket misbehaves: send() and recvmsg() are wrapped
 * (--wrap=send,--wrap=recvmsg) to inject EINTR, a truncated datagram, a
 * stale answer to another request, a message of the wrong type or
 * length.  Sockets must never be lost silently.  And a socket stuck in
 * another network namespace is found, tagged with its namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "diag.h"
#include "../tap.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

ssize_t __real_send(int fd, const void *buf, size_t len, int flags);
ssize_t __real_recvmsg(int fd, struct msghdr *m, int flags);

enum fault { NONE, EINTRS, TRUNC, STALE, BAD_TYPE, SHORT };
static enum fault fault;
static int calls;

ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
	if (fault == EINTRS && calls++ % 2 == 0) {
		errno = EINTR;
		return -1;
	}
	return __real_send(fd, buf, len, flags);
}

/* One made-up message into m: seq, type and length as the fault says. */
static ssize_t forge(struct msghdr *m)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_msg d;
	} *f = m->msg_iov[0].iov_base;
	struct sockaddr_nl *from = m->msg_name;

	memset(f, 0, sizeof(*f));
	f->h.nlmsg_len = fault == SHORT ? NLMSG_LENGTH(8) : sizeof(*f);
	f->h.nlmsg_type = fault == BAD_TYPE ? NLMSG_NOOP : SOCK_DIAG_BY_FAMILY;
	f->h.nlmsg_seq = fault == STALE ? 99 : 1;
	f->d.idiag_family = AF_INET;
	f->d.idiag_state = 8;
	f->d.id.idiag_cookie[0] = 0xdead;
	memset(from, 0, sizeof(*from));
	from->nl_family = AF_NETLINK;
	m->msg_flags = 0;
	return NLMSG_ALIGN(f->h.nlmsg_len);
}

ssize_t __wrap_recvmsg(int fd, struct msghdr *m, int flags)
{
	ssize_t n;

	switch (fault) {
	case EINTRS:
		if (calls++ % 2 == 0) {
			errno = EINTR;
			return -1;
		}
		break;
	case TRUNC:
		n = __real_recvmsg(fd, m, flags);
		if (n > 0)
			m->msg_flags |= MSG_TRUNC;
		return n;
	case NONE:
		break;
	default:
		if (!calls++)
			return forge(m);
	}
	return __real_recvmsg(fd, m, flags);
}

static int tcp_pair(int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&a, len) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		return -1;
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*c, (struct sockaddr *)&a, len))
		return -1;
	*s = accept(l, NULL, NULL);
	close(l);
	return *s < 0 ? -1 : 0;
}


static uint64_t cookie;

/* A CLOSE_WAIT socket with 100 unread bytes; its fd. */
static int leak(struct stat *st)
{
	socklen_t len = sizeof(cookie);
	char data[100] = { 0 };
	int c, s;

	if (tcp_pair(&c, &s) || write(c, data, sizeof(data)) != sizeof(data))
		tap_bail("loopback TCP pair");
	close(c);
	usleep(100000);
	getsockopt(s, SOL_SOCKET, SO_COOKIE, &cookie, &len);
	fstat(s, st);
	return s;
}

/* diag_dump() under @f: -1 with errno, or whether cookie was found. */
static int dump(enum fault f, const struct stat *st, uint64_t *other)
{
	struct diag_sock *d = NULL;
	int n, found = 0;

	fault = f;
	calls = 0;
	n = diag_dump(1U << 8, &d);
	fault = NONE;
	if (n < 0)
		return -1;
	*other = 0;
	for (int i = 0; i < n; i++) {
		if (d[i].cookie == cookie)
			found = d[i].state == 8 && d[i].rqueue == 100 &&
				d[i].ino == st->st_ino && d[i].dport &&
				d[i].family == AF_INET;
		if (d[i].cookie == 0xdead)
			*other = d[i].cookie;
	}
	free(d);
	return found;
}

/* In a new network namespace with lo up; 0, or -1 if not allowed. */
static int own_namespace(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		return -1;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		return -1;
	close(fd);
	return 0;
}

/* A child leaks a CLOSE_WAIT socket in a namespace of its own. */
static void other_namespace(void)
{
	struct stat st, self_before, self_after, nsst;
	struct diag_sock *d = NULL;
	int pfd[2], n, missed = -1, found = 0;
	char path[64];
	pid_t kid;

	if (pipe(pfd))
		tap_bail("pipe");
	kid = fork();
	if (!kid) {
		close(pfd[0]);
		cookie = 0;
		if (!own_namespace())
			leak(&st);
		if (write(pfd[1], &cookie, sizeof(cookie)) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &cookie, sizeof(cookie)) != sizeof(cookie) || !cookie) {
		tap_skip("cannot make a network namespace here (not root?)");
		tap_skip("namespace restored");
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", kid);
	stat(path, &nsst);
	stat("/proc/self/ns/net", &self_before);
	n = diag_dump_all(1U << 8, "/proc", &d, &missed);
	stat("/proc/self/ns/net", &self_after);
	for (int i = 0; i < n; i++)
		if (d[i].cookie == cookie)
			found = d[i].netns == (uint32_t)nsst.st_ino &&
				d[i].rqueue == 100 && d[i].netns_cookie;
	tap_check(found && missed == 0,
		  "diag_dump_all: a socket in another namespace, tagged with it");
	tap_check(self_before.st_ino == self_after.st_ino,
		  "and we are back in our own namespace");
	free(d);
out:
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	close(pfd[0]);
}

int main(void)
{
	struct stat st;
	uint64_t forged = 0;
	int s;

	tap_plan(8);
	s = leak(&st);
	tap_check(dump(NONE, &st, &forged) == 1,
		  "sock_diag on this kernel: our CLOSE_WAIT socket by cookie, 100 unread bytes (FIN not counted), inode");
	tap_check(dump(EINTRS, &st, &forged) == 1 && calls > 2,
		  "EINTR on send() and recvmsg() is retried");
	tap_check(dump(TRUNC, &st, &forged) == -1 && errno == EMSGSIZE,
		  "a truncated datagram (MSG_TRUNC) is an error, not a short list");
	tap_check(dump(STALE, &st, &forged) == 1 && !forged,
		  "an answer with another sequence number is ignored");
	tap_check(dump(BAD_TYPE, &st, &forged) == -1 && errno == EPROTO,
		  "a message of another type is an error");
	tap_check(dump(SHORT, &st, &forged) == -1 && errno == EPROTO,
		  "a message too short for inet_diag_msg is an error");
	close(s);
	other_namespace();
	return tap_finish();
}
