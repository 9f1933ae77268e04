// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/tcpclose.h>
#include "diag.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

struct sockvec {
	struct diag_sock *v;
	int n, cap;
};

static int push(struct sockvec *s, const struct inet_diag_msg *m)
{
	struct diag_sock *d;

	if (s->n == s->cap) {
		int cap = s->cap ? 2 * s->cap : 256;

		d = realloc(s->v, cap * sizeof(*d));
		if (!d)
			return -1;
		s->v = d;
		s->cap = cap;
	}
	d = &s->v[s->n++];
	memset(d, 0, sizeof(*d));
	d->cookie = m->id.idiag_cookie[0] |
		    (uint64_t)m->id.idiag_cookie[1] << 32;
	d->ino = m->idiag_inode;
	d->uid = m->idiag_uid;
	d->family = m->idiag_family;
	d->state = m->idiag_state;
	d->sport = ntohs(m->id.idiag_sport);
	d->dport = ntohs(m->id.idiag_dport);
	memcpy(d->saddr, m->id.idiag_src, 16);
	memcpy(d->daddr, m->id.idiag_dst, 16);
	/* Timewait sockets: the TIME_WAIT timer (3), no inode. */
	d->timewait = m->idiag_state == TCPCLOSE_TIME_WAIT ||
		      m->idiag_timer == 3;
	d->rqueue = m->idiag_rqueue;
	d->wqueue = m->idiag_wqueue;
	/* A FIN still queued counts as one "byte" in rqueue; it is not data. */
	if (d->rqueue && (d->state == TCPCLOSE_CLOSE_WAIT ||
			  d->state == TCPCLOSE_LAST_ACK ||
			  d->state == TCPCLOSE_CLOSING))
		d->rqueue--;
	return 0;
}

static int request(int fd, int family, uint32_t states, uint32_t seq)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {
			.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = seq,
		},
		.req = {
			.sdiag_family = family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = states,
		},
	};
	ssize_t n;

	do
		n = send(fd, &msg, sizeof(msg), 0);
	while (n < 0 && errno == EINTR);
	if (n >= 0 && n != sizeof(msg))
		errno = EIO;
	return n == sizeof(msg) ? 0 : -1;
}

/* One message of the dump; 1 at its end, 0 for more, -1 on error. */
static int message(const struct nlmsghdr *h, uint32_t seq, struct sockvec *s)
{
	if (h->nlmsg_seq != seq)
		return 0;	/* a stale answer to an earlier request */
	if (h->nlmsg_type == NLMSG_DONE)
		return 1;
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(h);

		errno = h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) ? EPROTO :
			-e->error;
		return -1;
	}
	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
		errno = EPROTO;
		return -1;
	}
	return push(s, NLMSG_DATA(h));
}

/* Reads one family's dump; 1 when done, 0 for more, -1 on error. */
static int receive(int fd, uint32_t seq, struct sockvec *s)
{
	static char buf[32768] __attribute__((aligned(8)));
	struct sockaddr_nl from;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	struct nlmsghdr *h;
	ssize_t n;
	int rc = 0;

	do
		n = recvmsg(fd, &mh, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	/* A cut message would lose sockets silently. */
	if (mh.msg_flags & MSG_TRUNC) {
		errno = EMSGSIZE;
		return -1;
	}
	if (from.nl_pid != 0)
		return 0;	/* not from the kernel */
	for (h = (struct nlmsghdr *)buf; rc == 0 && NLMSG_OK(h, n);
	     h = NLMSG_NEXT(h, n))
		rc = message(h, seq, s);
	return rc;
}

int diag_dump(uint32_t state_mask, struct diag_sock **out)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct sockvec s = { 0 };
	int fd, rc = 0, err;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < 2 && rc >= 0; i++) {
		rc = request(fd, families[i], state_mask, i + 1);
		while (rc == 0)
			rc = receive(fd, i + 1, &s);
	}
	err = errno;
	close(fd);
	if (rc < 0) {
		free(s.v);
		errno = err;
		return -1;
	}
	*out = s.v;
	return s.n;
}

uint32_t diag_own_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint32_t)st.st_ino;
}

uint64_t diag_own_netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(fd);
	return cookie;
}

/* A namespace, and a process through which to enter it. */
struct ns_pid {
	uint64_t ino;
	int pid;
};

static int by_ns(const void *a, const void *b)
{
	const struct ns_pid *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* One process per network namespace other than ours; *n of them. */
static struct ns_pid *namespaces(const char *root, uint64_t own, size_t *n)
{
	struct ns_pid *v = NULL, *bigger;
	size_t cap = 0, k = 0;
	char path[300];
	struct dirent *d;
	struct stat st;
	DIR *dir = opendir(root);

	*n = 0;
	while (dir && (d = readdir(dir))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%s/ns/net", root, d->d_name);
		if (stat(path, &st) || st.st_ino == own)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			bigger = realloc(v, cap * sizeof(*v));
			if (!bigger)
				break;
			v = bigger;
		}
		v[(*n)++] = (struct ns_pid){ st.st_ino, atoi(d->d_name) };
	}
	if (dir)
		closedir(dir);
	if (!*n)
		return v;
	qsort(v, *n, sizeof(*v), by_ns);
	for (size_t i = 1; i < *n; i++)
		if (v[i].ino != v[k].ino)
			v[++k] = v[i];
	*n = k + 1;
	return v;
}

/* Appends the dump of the current namespace, tagged, to *all. */
static int dump_here(uint32_t mask, uint32_t ino, struct diag_sock **all,
		     int *n)
{
	uint64_t cookie = diag_own_netns_cookie();
	struct diag_sock *d = NULL, *more;
	int k = diag_dump(mask, &d);

	if (k < 0)
		return -1;
	more = realloc(*all, (*n + k + 1) * sizeof(*more));
	if (!more) {
		free(d);
		return -1;
	}
	for (int i = 0; i < k; i++) {
		d[i].netns = ino;
		d[i].netns_cookie = cookie;
	}
	memcpy(more + *n, d, k * sizeof(*d));
	free(d);
	*all = more;
	*n += k;
	return 0;
}

/* Enters the namespace of @pid; 0, or -1 when it cannot (gone, EPERM). */
static int enter(const char *root, int pid)
{
	char path[300];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%d/ns/net", root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

int diag_dump_all(uint32_t state_mask, const char *proc_root,
		  struct diag_sock **out, int *missed)
{
	uint32_t own = diag_own_netns();
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct diag_sock *all = NULL;
	struct ns_pid *ns;
	size_t nns;
	int n = 0, rc;

	*missed = 0;
	rc = dump_here(state_mask, own, &all, &n);
	ns = rc || self < 0 ? NULL : namespaces(proc_root, own, &nns);
	for (size_t i = 0; ns && i < nns && !rc; i++) {
		if (enter(proc_root, ns[i].pid)) {
			(*missed)++;
			continue;
		}
		rc = dump_here(state_mask, ns[i].ino, &all, &n);
		/* Never go on in another namespace than the caller's. */
		if (setns(self, CLONE_NEWNET)) {
			errno = ENOTRECOVERABLE;
			rc = -1;
		}
	}
	free(ns);
	if (self >= 0)
		close(self);
	if (rc) {
		free(all);
		return -1;
	}
	*out = all;
	return n;
}
