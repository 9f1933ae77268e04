// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include "sockets.h"

static int cookie_order(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int table_order(const void *a, const void *b)
{
	return cookie_order(((const struct tcpclose_sock *)a)->cookie,
			    ((const struct tcpclose_sock *)b)->cookie);
}

static int diag_order(const void *a, const void *b)
{
	return cookie_order(((const struct diag_sock *)a)->cookie,
			    ((const struct diag_sock *)b)->cookie);
}

static struct close_sock from_table(const struct tcpclose_sock *t,
				    uint64_t now_ns)
{
	struct close_sock s = {
		.cookie = t->cookie, .ino = t->ino,
		/* An entry stamped after our clock read is zero seconds old. */
		.age_ns = now_ns > t->since_ns ? now_ns - t->since_ns : 0,
		.age_known = 1, .unread = t->rx_queue,
		.family = t->family, .state = t->state,
		.timewait = t->timewait, .sport = t->sport, .dport = t->dport,
		.netns = t->netns, .netns_cookie = t->netns_cookie,
	};

	memcpy(s.saddr, t->saddr, sizeof(s.saddr));
	memcpy(s.daddr, t->daddr, sizeof(s.daddr));
	return s;
}

static struct close_sock from_diag(const struct diag_sock *d)
{
	struct close_sock s = {
		.cookie = d->cookie, .ino = d->ino, .unread = d->rqueue,
		.family = d->family, .state = d->state,
		.timewait = d->timewait, .sport = d->sport, .dport = d->dport,
		.netns = d->netns, .netns_cookie = d->netns_cookie,
	};

	memcpy(s.saddr, d->saddr, sizeof(s.saddr));
	memcpy(s.daddr, d->daddr, sizeof(s.daddr));
	return s;
}

/* Both sorted by cookie: one walk pairs them, as a merge does. */
int close_sock_join(struct tcpclose_sock *t, int nt, struct diag_sock *d,
		    int nd, uint32_t mask, uint64_t now_ns,
		    struct close_sock **out)
{
	struct close_sock *v = calloc(nt + nd + 1, sizeof(*v));
	int i = 0, j = 0, n = 0;

	if (!v)
		return -1;
	if (nt)
		qsort(t, nt, sizeof(*t), table_order);
	if (nd)
		qsort(d, nd, sizeof(*d), diag_order);
	while (i < nt || j < nd) {
		int c = i == nt ? 1 : j == nd ? -1 :
			cookie_order(t[i].cookie, d[j].cookie);
		struct close_sock s;

		if (c < 0) {
			s = from_table(&t[i++], now_ns);
		} else if (c > 0) {
			s = from_diag(&d[j++]);
		} else {
			s = from_table(&t[i++], now_ns);
			s.unread = d[j].rqueue;
			s.ino = s.ino ? s.ino : d[j].ino;
			j++;
		}
		if (mask & TCPCLOSE_STATE_BIT(s.state))
			v[n++] = s;
	}
	*out = v;
	return n;
}
