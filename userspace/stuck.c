// SPDX-License-Identifier: GPL-2.0
/*
 * tcpclose stuck: sockets sitting in a close state, oldest first, with the
 * process that holds them.  The module's live table knows since when; the
 * kernel's sock_diag list adds sockets that were stuck before the module
 * was loaded (their age is only known to exceed the module's uptime).
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "commands.h"
#include "decode.h"
#include "device.h"
#include "diag.h"
#include "owner.h"

static const char stuck_help[] =
"Usage: tcpclose stuck [OPTIONS]\n"
"List sockets stuck in a close state, oldest first, with their owner.\n"
"\n"
"  -s, --state LIST      states to report (default CLOSE_WAIT), e.g.\n"
"                        CLOSE_WAIT,FIN_WAIT2,LAST_ACK\n"
"  -m, --min-age AGE     only sockets at least this old (default 60s;\n"
"                        units s, m, h, d)\n"
"  -j, --json            one JSON document (see tcpclose(8))\n"
"  -f, --fail-if N       exit 3 when N or more sockets are reported\n"
"  -h, --help            this help\n"
"\n"
"A socket already in the state when the module was loaded has an age of\n"
"at least the module's uptime, shown as \">=AGE\".\n";

struct row {
	uint64_t cookie, ino, age_ns;
	int age_known;
	uint32_t netns, unread;
	uint8_t family, state;
	uint16_t sport, dport;
	const uint8_t *saddr, *daddr;
	const struct tc_owner *owner;
};

struct stuck {
	uint32_t mask;
	uint64_t min_age, now, uptime;
	int json, fail_if;
	struct row *rows;
	int nrows, older_unknown;
	uint32_t my_netns;
	struct owner_map owners;
};

static int parse(int argc, char **argv, struct stuck *s)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "min-age", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "fail-if", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned long long n;
	int c;

	s->mask = TCPCLOSE_STATE_BIT(TCPCLOSE_CLOSE_WAIT);
	s->min_age = 60ULL * 1000000000ULL;
	while ((c = getopt_long(argc, argv, "s:m:jf:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			s->mask = tc_state_mask_parse(optarg);
			if (!s->mask)
				return usage_error("stuck", "unknown state in '%s'", optarg);
			break;
		case 'm':
			if (tc_parse_duration(optarg, &s->min_age))
				return usage_error("stuck", "bad age '%s' (try 90s, 5m, 2h)", optarg);
			break;
		case 'j':
			s->json = 1;
			break;
		case 'f':
			if (tc_parse_uint(optarg, 1, INT_MAX, &n))
				return usage_error("stuck", "bad --fail-if count '%s'", optarg);
			s->fail_if = n;
			break;
		case 'h':
			fputs(stuck_help, stdout);
			exit(EXIT_OK);
		default:
			return usage_error("stuck", "see 'tcpclose stuck --help'");
		}
	}
	if (optind < argc)
		return usage_error("stuck", "unexpected argument '%s'", argv[optind]);
	return 0;
}

static void add_row(struct stuck *s, const struct row *r)
{
	if (r->age_ns < s->min_age) {
		if (!r->age_known)
			s->older_unknown++;
		return;
	}
	s->rows[s->nrows] = *r;
	s->rows[s->nrows].owner = owner_find(&s->owners, r->ino);
	s->nrows++;
}

/*
 * Both lists are sorted by cookie and searched by bisection: a busy host
 * has tens of thousands of timewait sockets in the table.
 */
static int cmp_cookie(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int diag_by_cookie(const void *a, const void *b)
{
	return cmp_cookie(((const struct diag_sock *)a)->cookie,
			  ((const struct diag_sock *)b)->cookie);
}

static int table_by_cookie(const void *a, const void *b)
{
	return cmp_cookie(((const struct tcpclose_sock *)a)->cookie,
			  ((const struct tcpclose_sock *)b)->cookie);
}

static const struct diag_sock *diag_find(const struct diag_sock *d, int n,
					 uint64_t cookie)
{
	struct diag_sock key = { .cookie = cookie };

	return n ? bsearch(&key, d, n, sizeof(*d), diag_by_cookie) : NULL;
}

static const struct tcpclose_sock *table_find(const struct tcpclose_sock *t,
					      int n, uint64_t cookie)
{
	struct tcpclose_sock key = { .cookie = cookie };

	return n ? bsearch(&key, t, n, sizeof(*t), table_by_cookie) : NULL;
}

/* Table entries have an age; sock_diag gives live queues and the rest. */
static void merge(struct stuck *s, struct tcpclose_sock *t, int nt,
		  struct diag_sock *d, int nd)
{
	if (nt)
		qsort(t, nt, sizeof(*t), table_by_cookie);
	if (nd)
		qsort(d, nd, sizeof(*d), diag_by_cookie);
	for (int i = 0; i < nt; i++) {
		const struct diag_sock *live = diag_find(d, nd, t[i].cookie);
		struct row r = {
			.cookie = t[i].cookie, .ino = t[i].ino,
			.age_ns = s->now - t[i].since_ns, .age_known = 1,
			.netns = t[i].netns, .unread = t[i].rx_queue,
			.family = t[i].family, .state = t[i].state,
			.sport = t[i].sport, .dport = t[i].dport,
			.saddr = t[i].saddr, .daddr = t[i].daddr,
		};

		if (!(s->mask & TCPCLOSE_STATE_BIT(t[i].state)))
			continue;
		if (live) {
			r.unread = live->rqueue;
			r.ino = r.ino ? r.ino : live->ino;
		}
		add_row(s, &r);
	}
	for (int i = 0; i < nd; i++) {
		struct row r = {
			.cookie = d[i].cookie, .ino = d[i].ino,
			.age_ns = s->uptime, .age_known = 0,
			.netns = s->my_netns, .unread = d[i].rqueue,
			.family = d[i].family, .state = d[i].state,
			.sport = d[i].sport, .dport = d[i].dport,
			.saddr = d[i].saddr, .daddr = d[i].daddr,
		};

		if (!table_find(t, nt, d[i].cookie))
			add_row(s, &r);
	}
}

static int by_age(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->age_known != y->age_known)
		return x->age_known - y->age_known;	/* unknown: oldest */
	return x->age_ns < y->age_ns ? 1 : x->age_ns > y->age_ns ? -1 : 0;
}

static void age_text(char *buf, size_t len, const struct row *r)
{
	char d[32];

	tc_format_duration(d, sizeof(d), r->age_ns);
	snprintf(buf, len, "%s%s", r->age_known ? "" : ">=", d);
}

/* Rows are sorted oldest first, so a process's first row is its oldest. */
struct summary {
	int pid;
	const char *comm;
	uint8_t state;
	int count;
	uint64_t unread;
	const struct row *oldest;
};

static int summarise(const struct stuck *s, struct summary *out)
{
	int n = 0, j;

	for (int i = 0; i < s->nrows; i++) {
		const struct row *r = &s->rows[i];
		int pid = r->owner ? r->owner->pid : 0;

		for (j = 0; j < n; j++)
			if (out[j].pid == pid && out[j].state == r->state)
				break;
		if (j == n) {
			out[n++] = (struct summary){ .pid = pid, .state = r->state,
				.comm = r->owner ? r->owner->comm : "(no process)",
				.oldest = r };
		}
		out[j].count++;
		out[j].unread += r->unread;
	}
	return n;
}

static void print_human(const struct stuck *s, const struct summary *sum,
			int nsum)
{
	char age[40], l[64], r[64];

	if (!s->nrows)
		printf("no sockets stuck\n");
	else
		printf("%-11s %9s %7s %-15s %4s %-23s %-23s %8s %s\n", "STATE",
		       "AGE", "PID", "COMM", "FD", "LOCAL", "REMOTE", "UNREAD",
		       "NETNS");
	for (int i = 0; i < s->nrows; i++) {
		const struct row *w = &s->rows[i];

		age_text(age, sizeof(age), w);
		tc_format_endpoint(l, sizeof(l), w->family, w->saddr, w->sport);
		tc_format_endpoint(r, sizeof(r), w->family, w->daddr, w->dport);
		if (w->owner)
			printf("%-11s %9s %7d %-15s %4d ", tc_state_name(w->state),
			       age, w->owner->pid, w->owner->comm, w->owner->fd);
		else
			printf("%-11s %9s %7s %-15s %4s ", tc_state_name(w->state),
			       age, "-", "-", "-");
		printf("%-23s %-23s %8u %u\n", l, r, w->unread, w->netns);
	}
	if (nsum)
		printf("\nby process:\n");
	for (int i = 0; i < nsum; i++) {
		age_text(age, sizeof(age), sum[i].oldest);
		printf("  %7d %-15s %d socket%s in %s, oldest %s, %llu bytes unread\n",
		       sum[i].pid, sum[i].comm, sum[i].count,
		       sum[i].count == 1 ? "" : "s", tc_state_name(sum[i].state),
		       age, (unsigned long long)sum[i].unread);
	}
	if (s->older_unknown) {
		tc_format_duration(age, sizeof(age), s->uptime);
		printf("\n%d more socket%s in these states since before tcpclose was loaded %s ago; their age is unknown until --min-age is reached\n",
		       s->older_unknown, s->older_unknown == 1 ? "" : "s", age);
	}
}

static void json_row(const struct row *w)
{
	char a[64];

	printf("{\"state\":\"%s\",\"age_ns\":%llu,\"age_known\":%s,\"cookie\":%llu,",
	       tc_state_name(w->state), (unsigned long long)w->age_ns,
	       w->age_known ? "true" : "false", (unsigned long long)w->cookie);
	if (w->owner) {
		printf("\"pid\":%d,\"fd\":%d,\"comm\":", w->owner->pid, w->owner->fd);
		tc_json_string(stdout, w->owner->comm);
	} else {
		printf("\"pid\":null,\"fd\":null,\"comm\":null");
	}
	tc_format_endpoint(a, sizeof(a), w->family, w->saddr, w->sport);
	printf(",\"local\":");
	tc_json_string(stdout, a);
	tc_format_endpoint(a, sizeof(a), w->family, w->daddr, w->dport);
	printf(",\"remote\":");
	tc_json_string(stdout, a);
	printf(",\"unread\":%u,\"netns\":%u,\"inode\":%llu}", w->unread,
	       w->netns, (unsigned long long)w->ino);
}

static void print_json(const struct stuck *s, const struct summary *sum,
		       int nsum)
{
	printf("{\"min_age_ns\":%llu,\"module_uptime_ns\":%llu,\"sockets\":[",
	       (unsigned long long)s->min_age, (unsigned long long)s->uptime);
	for (int i = 0; i < s->nrows; i++) {
		printf(i ? "," : "");
		json_row(&s->rows[i]);
	}
	printf("],\"processes\":[");
	for (int i = 0; i < nsum; i++) {
		printf("%s{\"pid\":", i ? "," : "");
		printf(sum[i].pid ? "%d" : "null", sum[i].pid);
		printf(",\"comm\":");
		tc_json_string(stdout, sum[i].comm);
		printf(",\"state\":\"%s\",\"count\":%d,\"oldest_age_ns\":%llu,\"unread\":%llu}",
		       tc_state_name(sum[i].state), sum[i].count,
		       (unsigned long long)sum[i].oldest->age_ns,
		       (unsigned long long)sum[i].unread);
	}
	printf("],\"unknown_age_not_listed\":%d}\n", s->older_unknown);
}

static uint32_t own_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint32_t)st.st_ino;
}

int cmd_stuck(int argc, char **argv)
{
	struct stuck s = { 0 };
	struct tcpclose_sock *t = NULL;
	struct diag_sock *d = NULL;
	struct tcpclose_stats st;
	struct summary *sum;
	int fd, nt, nd, nsum, rc;

	rc = parse(argc, argv, &s);
	if (rc)
		return rc;
	fd = dev_open(O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return EXIT_ERROR;
	if (dev_stats(fd, &st, NULL) || (nt = dev_dump(fd, &t)) < 0) {
		close(fd);
		return EXIT_ERROR;
	}
	close(fd);
	nd = diag_dump(s.mask, &d);
	if (nd < 0) {
		fprintf(stderr, "tcpclose: sock_diag unavailable (%m; is inet_diag/tcp_diag loaded?): sockets older than the module are not listed\n");
		nd = 0;
	}
	s.now = mono_now_ns();
	s.uptime = s.now - st.load_ns;
	s.my_netns = own_netns();
	owner_init(&s.owners, "/proc");
	owner_scan(&s.owners);
	s.rows = calloc(nt + nd + 1, sizeof(*s.rows));
	sum = calloc(nt + nd + 1, sizeof(*sum));
	if (!s.rows || !sum)
		return EXIT_ERROR;
	merge(&s, t, nt, d, nd);
	qsort(s.rows, s.nrows, sizeof(*s.rows), by_age);
	nsum = summarise(&s, sum);
	if (s.json)
		print_json(&s, sum, nsum);
	else
		print_human(&s, sum, nsum);
	rc = s.fail_if && s.nrows >= s.fail_if ? EXIT_THRESHOLD : EXIT_OK;
	free(sum);
	free(s.rows);
	free(t);
	free(d);
	owner_free(&s.owners);
	return rc;
}
