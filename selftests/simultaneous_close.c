// SPDX-License-Identifier: GPL-2.0
/*
 * Simultaneous close across a real network path: two network namespaces
 * joined by a veth pair with 50 ms netem delay each way, so that both FINs
 * are in flight at once.  Both sides go FIN_WAIT1 > CLOSING > TIME_WAIT.
 * Also: a file opened inside a namespace sees only that namespace, and
 * tcpclose stuck reports each namespace's sockets with their netns.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib.h"

static int setup(void)
{
	const char *ip = tool("ip"), *tc = tool("tc");

	return sh("%s netns add tca && %s netns add tcb", ip, ip) ||
	       sh("%s link add va netns tca type veth peer name vb netns tcb",
		  ip) ||
	       sh("%s -n tca addr add 10.77.0.1/24 dev va", ip) ||
	       sh("%s -n tcb addr add 10.77.0.2/24 dev vb", ip) ||
	       sh("%s -n tca link set va up && %s -n tcb link set vb up", ip,
		  ip) ||
	       sh("%s -n tca link set lo up && %s -n tcb link set lo up", ip,
		  ip) ||
	       sh("%s -n tca qdisc add dev va root netem delay 50ms", tc) ||
	       sh("%s -n tcb qdisc add dev vb root netem delay 50ms", tc);
}

static int closing_story(const struct evlist *l, uint64_t cookie)
{
	char story[256];

	ev_story(l, cookie, story, sizeof(story));
	tap_info("story of %llu: %s", (unsigned long long)cookie, story);
	return !strcmp(story, "ESTABLISHED>FIN_WAIT1 FIN_WAIT1>CLOSING CLOSING>TIME_WAIT");
}

static int only_netns(const struct evlist *l, uint32_t netns)
{
	for (int i = 0; i < l->n; i++)
		if (l->ev[i].netns != netns)
			return 0;
	return 1;
}

/* Connect from namespace B to A's listener: @a is A's end, @b is B's. */
static void cross_pair(int lfd, int port, int *a, int *b)
{
	enter_netns("tcb");
	*b = tcp_connect(AF_INET, "10.77.0.1", port);
	enter_netns(NULL);
	*a = tcp_accept(lfd);
}

/* The "netns" value of the JSON object that holds @cookie, or 0. */
static unsigned long netns_of(const char *out, uint64_t cookie)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\"cookie\":%llu,",
		 (unsigned long long)cookie);
	p = strstr(out, want);
	p = p ? strstr(p, "\"netns\":") : NULL;
	return p ? strtoul(p + strlen("\"netns\":"), NULL, 10) : 0;
}

/* `tcpclose stuck` lists both TIME_WAIT sockets, each with its namespace. */
static void stuck_in_namespaces(uint64_t ca, uint32_t na, uint64_t cb,
				uint32_t nb)
{
	char out[16384];
	FILE *p = popen("/tests/tcpclose stuck --state TIME_WAIT --min-age 0 --json", "r");
	size_t n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;

	out[n] = '\0';
	if (p)
		pclose(p);
	tap_info("stuck --state TIME_WAIT: %s", out);
	tap_check(netns_of(out, ca) == na && netns_of(out, cb) == nb,
		  "tcpclose stuck shows each namespace's TIME_WAIT socket with its netns");
}

int main(void)
{
	struct evlist l = { 0 };
	struct tcpclose_sock *tab;
	uint64_t ca, cb, total;
	int fd, nsfd, lfd, a, b, port = 0, n, i, only_a = 1;
	struct stat nsa, nsb;

	tap_plan(7);
	if (setup())
		tap_bail("cannot build the veth/netem namespaces");
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	enter_netns("tca");
	lfd = tcp_listen(AF_INET, "10.77.0.1", &port);
	nsfd = tc_open(O_RDONLY | O_NONBLOCK);
	cross_pair(lfd, port, &a, &b);
	ca = sock_cookie(a);
	cb = sock_cookie(b);
	stat("/run/netns/tca", &nsa);
	stat("/run/netns/tcb", &nsb);

	close(a);
	close(b);
	tc_wait_for(fd, &l, ca, TCPCLOSE_CLOSING, TCPCLOSE_TIME_WAIT, 5000);
	tc_wait_for(fd, &l, cb, TCPCLOSE_CLOSING, TCPCLOSE_TIME_WAIT, 5000);
	tap_check(closing_story(&l, ca), "side A: FIN_WAIT1>CLOSING>TIME_WAIT");
	tap_check(closing_story(&l, cb), "side B: FIN_WAIT1>CLOSING>TIME_WAIT");
	i = ev_find(&l, ca, TCPCLOSE_CLOSING, TCPCLOSE_TIME_WAIT);
	tap_check(i >= 0 && (l.ev[i].flags & TCPCLOSE_F_HANDOFF) &&
		  l.ev[i].netns == nsa.st_ino,
		  "CLOSING>TIME_WAIT is a timewait handoff in namespace %llu",
		  (unsigned long long)nsa.st_ino);

	n = tc_dump_table(nsfd, &tab, &total);
	for (i = 0; i < n; i++)
		if (tab[i].netns != nsa.st_ino)
			only_a = 0;
	tap_check(n >= 1 && only_a && table_find(tab, n, ca) &&
		  !table_find(tab, n, cb),
		  "a file opened in namespace A dumps A's sockets only (%d)", n);
	free(tab);
	n = tc_dump_table(fd, &tab, &total);
	tap_check(table_find(tab, n, ca) && table_find(tab, n, cb),
		  "the initial namespace sees both");
	ev_dump(&l, 0);
	stuck_in_namespaces(ca, nsa.st_ino, cb, nsb.st_ino);

	/* The stream too: a reader in A reads A's records only. */
	close(fd);
	cross_pair(lfd, port, &a, &b);
	ca = sock_cookie(a);
	cb = sock_cookie(b);
	close(b);
	free(l.ev);
	memset(&l, 0, sizeof(l));
	i = tc_wait_for(nsfd, &l, ca, TCPCLOSE_ESTABLISHED,
			TCPCLOSE_CLOSE_WAIT, 5000);
	sleep_ms(500);
	tc_collect(nsfd, &l, 200);
	tap_check(i >= 0 && ev_find(&l, cb, -1, TCPCLOSE_FIN_WAIT1) < 0 &&
		  only_netns(&l, nsa.st_ino),
		  "a reader opened in A reads A's records only (%d), not B's FIN_WAIT1",
		  l.n);
	close(a);
	/*
	 * The last stream ends (and disarms a kprobe) after the last
	 * segment across the delayed link, not while it arrives (lib.h).
	 */
	tc_wait_for(nsfd, &l, ca, TCPCLOSE_LAST_ACK, TCPCLOSE_CLOSE, 5000);
	close(nsfd);
	return tap_finish();
}
