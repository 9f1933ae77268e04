// SPDX-License-Identifier: GPL-2.0
/*
 * tcpclose stuck: sockets sitting in a close state, oldest first, with the
 * processes that hold them.  The module's live table knows since when; the
 * kernel's sock_diag list also has sockets the table does not, whose age
 * is only known to exceed the module's uptime when the module tracks their
 * state, its table had room and nothing was missed; else it is unknown.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "commands.h"
#include "device.h"
#include "sockets.h"
#include "stuck.h"

static const char stuck_help[] =
"Usage: tcpclose stuck [OPTIONS]\n"
"List sockets stuck in a close state, oldest first, with their owners.\n"
"\n"
"  -s, --state LIST      states to report (default CLOSE_WAIT), e.g.\n"
"                        CLOSE_WAIT,FIN_WAIT2,LAST_ACK\n"
"  -m, --min-age AGE     only sockets at least this old (default 60s;\n"
"                        units s, m, h, d)\n"
"  -k, --known-only      leave out sockets of unknown age (listed and\n"
"                        counted by default)\n"
"  -p, --port PORT       local or remote port\n"
"  -a, --addr ADDR       local or remote address\n"
"  -P, --pid PID         sockets held by process PID\n"
"  -c, --comm NAME       sockets held by a process of this name\n"
"  -U, --unit NAME       sockets held by a process of this service: a unit\n"
"                        (NAME or NAME.service) or a container (docker:ID),\n"
"                        as the SERVICE column shows it\n"
"  -C, --cgroup PATH     sockets held by a process in cgroup PATH or below\n"
"  -n, --netns INODE     network namespace (inode of /proc/PID/ns/net)\n"
"  -S, --sort KEY        age (default), unread or pid\n"
"  -t, --top N           list only the first N sockets\n"
"  -g, --group-by LIST   summaries, in this order, by: service, process,\n"
"                        peer (address), lport (local port); default\n"
"                        service,process\n"
"  -u, --summary-only    only the summaries, not the sockets\n"
"  -j, --json            one JSON document (see tcpclose(8)); with\n"
"                        --interval, one a line\n"
"  -f, --fail-if N       exit 3 when N or more sockets are reported\n"
"  -i, --interval TIME   report again every TIME (at least 0.1s; e.g. 5,\n"
"                        2s, 1m) until interrupted (exit 0)\n"
"      --count N         with --interval: stop after N reports\n"
"  -h, --help            this help\n"
"\n"
"AGE \">=T\": in the state since before the module was loaded T ago.\n"
"AGE \"?\": unknown (the reason is given below the list); such sockets\n"
"count towards --fail-if unless --known-only.\n"
"SERVICE \"?\": the holder's cgroup could not be read; \"-\": no holder.\n";

enum age_kind { AGE_EXACT, AGE_AT_LEAST, AGE_UNKNOWN };

static const char *const kind_names[] = {
	[AGE_EXACT] = "exact", [AGE_AT_LEAST] = "at_least",
	[AGE_UNKNOWN] = "unknown",
};

/* Why a socket that sock_diag lists is not in the live table. */
enum why {
	WHY_NONE,
	WHY_NO_MODULE,		/* no module: no table at all */
	WHY_NOT_TRACKED,	/* its state is not one the module records */
	WHY_TABLE_FULL,		/* the table overflowed for its class */
	WHY_MISSED,		/* probe hits missed, or entries expired */
	WHY_BEFORE_LOAD,	/* so it was in the state before the load */
	WHY_MAX
};

static const char *const why_names[WHY_MAX] = {
	[WHY_NONE] = "", [WHY_NO_MODULE] = "no module",
	[WHY_NOT_TRACKED] = "not tracked", [WHY_TABLE_FULL] = "table full",
	[WHY_MISSED] = "events missed", [WHY_BEFORE_LOAD] = "before load",
};

static const char *const why_help[WHY_MAX] = {
	[WHY_NO_MODULE] = "the module is not loaded",
	[WHY_NOT_TRACKED] = "the module does not record this state (module parameter states)",
	[WHY_TABLE_FULL] = "the live table overflowed (module parameter table_size)",
	[WHY_MISSED] = "the module missed events or aged out entries (tcpclose stats)",
	[WHY_BEFORE_LOAD] = "in the state since before the module was loaded, and the module's age is below --min-age",
};

/* A socket of the join, its age as far as it is known, its holders. */
struct row {
	struct close_sock s;	/* s.age_ns: the module's uptime for AT_LEAST */
	enum age_kind kind;
	enum why why;
	struct tc_holders h;
};

struct stuck {
	const struct stuck_opts *o;
	const struct stuck_input *in;
	uint64_t uptime;
	struct row *rows;
	int nrows;
	int unknown[WHY_MAX];		/* listed with an unknown age */
	int hidden;			/* unknown, left out by --known-only */
	int unknown_service;		/* listed, a holder's service unknown */
};

static const char *const group_names[GROUP_MAX] = {
	[GROUP_SERVICE] = "service", [GROUP_PROCESS] = "process",
	[GROUP_PEER] = "peer", [GROUP_LPORT] = "lport",
};

/* "peer,service": each key once, in the order given. */
static int parse_groups(const char *list, struct stuck_opts *o)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int k, rc = 0;

	if (!copy)
		return -1;
	o->ngroups = 0;
	for (tok = strtok_r(copy, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < GROUP_MAX && strcmp(tok, group_names[k]); k++)
			;
		for (int i = 0; i < o->ngroups && k < GROUP_MAX; i++)
			if (o->group[i] == (enum group_key)k)
				k = GROUP_MAX;		/* twice */
		if (k == GROUP_MAX)
			rc = -1;
		else
			o->group[o->ngroups++] = k;
	}
	free(copy);
	return rc || !o->ngroups ? -1 : 0;
}

/* A cgroup path: absolute; a trailing '/' is dropped ("/" stays). */
static int parse_cgroup(char *path, struct stuck_opts *o)
{
	size_t n = strlen(path);

	if (path[0] != '/')
		return -1;
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	o->cgroup = path;
	return 0;
}

static int parse_sort(const char *s, enum stuck_sort *sort)
{
	if (!strcmp(s, "age"))
		*sort = SORT_AGE;
	else if (!strcmp(s, "unread"))
		*sort = SORT_UNREAD;
	else if (!strcmp(s, "pid"))
		*sort = SORT_PID;
	else
		return -1;
	return 0;
}

/* Long options without a letter. */
enum { OPT_COUNT = 256 };

/* As watch(1): a tighter loop would mostly rescan /proc. */
#define MIN_INTERVAL_NS	100000000ULL

/*
 * A threshold over a stream of reports would need rules of its own (the
 * first report? every one?): --fail-if is for one report, from cron or a
 * timer.
 */
static int check_interval(const struct stuck_opts *o)
{
	if (o->interval_ns && o->fail_if)
		return usage_error("stuck", "--fail-if is for one report: drop --interval, or --fail-if");
	if (o->count && !o->interval_ns)
		return usage_error("stuck", "--count goes with --interval");
	return 0;
}

void stuck_opts_init(struct stuck_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mask = TCPCLOSE_STATE_BIT(TCPCLOSE_CLOSE_WAIT);
	o->min_age = 60ULL * 1000000000ULL;
	o->group[o->ngroups++] = GROUP_SERVICE;
	o->group[o->ngroups++] = GROUP_PROCESS;
}

/* --interval and --count; returns as take_filter(). */
static int take_repeat(int c, char *arg, struct stuck_opts *o)
{
	unsigned long long n;

	if (c == 'i') {
		if (tc_parse_duration(arg, &o->interval_ns) ||
		    o->interval_ns < MIN_INTERVAL_NS)
			return usage_error("stuck", "bad --interval '%s' (at least 0.1 s: try 5, 2s, 1m)", arg);
		return 0;
	}
	if (c == OPT_COUNT) {
		if (tc_parse_uint(arg, 1, LONG_MAX, &n))
			return usage_error("stuck", "bad --count '%s'", arg);
		o->count = n;
		return 0;
	}
	return -1;
}

/*
 * The options that choose sockets: 0 when taken, EXIT_USAGE after saying
 * why for a bad value, -1 when c is not one of them.
 */
static int take_filter(int c, char *arg, struct stuck_opts *o)
{
	switch (c) {
	case 's':
		o->mask = tc_state_mask_parse(arg);
		if (!o->mask)
			return usage_error("stuck", "unknown state in '%s'", arg);
		return 0;
	case 'm':
		if (tc_parse_duration(arg, &o->min_age))
			return usage_error("stuck", "bad age '%s' (try 90s, 5m, 2h)", arg);
		return 0;
	case 'k':
		o->known_only = 1;
		return 0;
	case 'c':
		o->comm = arg;
		return 0;
	case 'U':
		o->unit = arg;
		return 0;
	case 'C':
		if (parse_cgroup(arg, o))
			return usage_error("stuck", "bad cgroup '%s' (a path from /, e.g. /system.slice)", arg);
		return 0;
	}
	return tc_filter_option("stuck", c, arg, &o->f);
}

/* The options that shape the report; returns as take_filter(). */
static int take_output(int c, char *arg, struct stuck_opts *o)
{
	unsigned long long n;

	switch (c) {
	case 'S':
		if (parse_sort(arg, &o->sort))
			return usage_error("stuck", "bad sort key '%s' (age, unread or pid)", arg);
		return 0;
	case 't':
		if (tc_parse_uint(arg, 1, LONG_MAX, &n))
			return usage_error("stuck", "bad --top count '%s'", arg);
		o->top = n;
		return 0;
	case 'g':
		if (parse_groups(arg, o))
			return usage_error("stuck", "bad --group-by '%s' (service, process, peer, lport; each once)", arg);
		return 0;
	case 'u':
		o->summary_only = 1;
		return 0;
	case 'j':
		o->json = 1;
		return 0;
	case 'f':
		if (tc_parse_uint(arg, 1, INT_MAX, &n))
			return usage_error("stuck", "bad --fail-if count '%s'", arg);
		o->fail_if = n;
		return 0;
	}
	return take_repeat(c, arg, o);
}

static int parse(int argc, char **argv, struct stuck_opts *o)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "min-age", required_argument, NULL, 'm' },
		{ "known-only", no_argument, NULL, 'k' },
		{ "port", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'a' },
		{ "pid", required_argument, NULL, 'P' },
		{ "comm", required_argument, NULL, 'c' },
		{ "unit", required_argument, NULL, 'U' },
		{ "cgroup", required_argument, NULL, 'C' },
		{ "group-by", required_argument, NULL, 'g' },
		{ "netns", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 'S' },
		{ "top", required_argument, NULL, 't' },
		{ "summary-only", no_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "fail-if", required_argument, NULL, 'f' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, rc;

	stuck_opts_init(o);
	while ((c = getopt_long(argc, argv, "s:m:kp:a:P:c:U:C:g:n:S:t:ujf:i:h",
				opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(stuck_help, stdout);
			return -1;
		}
		rc = take_output(c, optarg, o);
		if (rc < 0)
			rc = take_filter(c, optarg, o);
		if (rc < 0)
			return usage_error("stuck", "see 'tcpclose stuck --help'");
		if (rc)
			return rc;
	}
	if (optind < argc)
		return usage_error("stuck", "unexpected argument '%s'", argv[optind]);
	return check_interval(o);
}

static int known(const struct service *svc)
{
	return svc && svc->kind != SVC_UNKNOWN;
}

/* As systemctl takes it: "nginx" is "nginx.service". */
static int unit_is(const struct service *svc, const char *unit)
{
	size_t n = strlen(unit);

	if (!known(svc))
		return 0;
	return !strcmp(svc->name, unit) ||
	       (!strncmp(svc->name, unit, n) &&
		!strcmp(svc->name + n, ".service"));
}

/* At or below path, by whole components: /a matches /a/b, not /ab. */
static int cgroup_under(const struct service *svc, const char *path)
{
	size_t n = strlen(path);

	if (!known(svc) || strncmp(svc->path, path, n))
		return 0;
	return path[n - 1] == '/' || !svc->path[n] || svc->path[n] == '/';
}

/* One holder must match every holder filter: pid, comm, unit, cgroup. */
static int held_by(const struct tc_holders *h, const struct stuck_opts *o)
{
	for (size_t i = 0; i < h->n; i++) {
		const struct tc_owner *w = &h->o[i];

		if ((!o->f.pid || w->pid == o->f.pid) &&
		    (!o->comm || !strcmp(w->comm, o->comm)) &&
		    (!o->unit || unit_is(w->svc, o->unit)) &&
		    (!o->cgroup || cgroup_under(w->svc, o->cgroup)))
			return 1;
	}
	return 0;
}

static int filtered_out(const struct stuck_opts *o, const struct row *r)
{
	const struct tc_sock_filter *f = &o->f;
	const struct close_sock *x = &r->s;

	if (f->port && x->sport != f->port && x->dport != f->port)
		return 1;
	if (!tc_addr_match(&f->addr, x->family, x->saddr, x->daddr))
		return 1;
	if (f->netns && x->netns != f->netns)
		return 1;
	return (f->pid || o->comm || o->unit || o->cgroup) &&
	       !held_by(&r->h, o);
}

/* Lists r; one with a holder of unknown service is counted for a note. */
static void keep(struct stuck *s, const struct row *r)
{
	for (size_t i = 0; i < r->h.n; i++)
		if (!known(r->h.o[i].svc)) {
			s->unknown_service++;
			break;
		}
	s->rows[s->nrows++] = *r;
}

/*
 * Keeps a socket known to be at least --min-age old, and one of unknown
 * age unless --known-only: an alert must not miss a socket for want of
 * knowing its age.
 */
static void add_row(struct stuck *s, struct row *r)
{
	const struct stuck_opts *o = s->o;

	owner_find(s->in->owners, r->s.ino, &r->h);
	if (filtered_out(o, r))
		return;
	if (r->kind != AGE_UNKNOWN && r->s.age_ns >= o->min_age) {
		keep(s, r);
		return;
	}
	if (r->kind == AGE_EXACT)
		return;
	/* Before the load, but the load is more recent than --min-age. */
	if (r->kind == AGE_AT_LEAST)
		r->kind = AGE_UNKNOWN;
	if (o->known_only) {
		s->hidden++;
		return;
	}
	s->unknown[r->why]++;
	keep(s, r);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/*
 * sock_diag was dumped before the table, so a socket it lists that was
 * recorded entering its state is in the table.  One that is not entered
 * it before the module was loaded, unless the module could have missed it.
 */
static enum why why_untracked(const struct tcpclose_stats *st,
			      const struct close_sock *x)
{
	if (!st)
		return WHY_NO_MODULE;
	if (!(st->state_mask & TCPCLOSE_STATE_BIT(x->state)))
		return WHY_NOT_TRACKED;
	if (x->timewait ? st->tw_overflow : st->table_overflow)
		return WHY_TABLE_FULL;
	if (st->missed || st->expired)
		return WHY_MISSED;
	return WHY_BEFORE_LOAD;
}

/* A socket of the join, in the table (exact age) or not (see why). */
static void add_sock(struct stuck *s, const struct close_sock *x)
{
	struct row r = { .s = *x, .kind = AGE_EXACT };

	if (!x->age_known) {
		r.kind = AGE_UNKNOWN;
		r.why = why_untracked(s->in->st, x);
		if (r.why == WHY_BEFORE_LOAD) {
			r.kind = AGE_AT_LEAST;
			r.s.age_ns = s->uptime;
		}
	}
	add_row(s, &r);
}

static int first_pid(const struct row *r)
{
	return r->h.n ? r->h.o[0].pid : INT_MAX;	/* no owner: last */
}

/* Unknown ages first (they may be the oldest), then oldest first. */
static int by_age(const struct row *x, const struct row *y)
{
	if (x->kind != y->kind)
		return y->kind - x->kind;
	return -cmp_u64(x->s.age_ns, y->s.age_ns);
}

static int by_key(const void *a, const void *b, void *key)
{
	const struct row *x = a, *y = b;
	enum stuck_sort sort_key = *(const enum stuck_sort *)key;
	int c = 0;

	if (sort_key == SORT_UNREAD)
		c = -cmp_u64(x->s.unread, y->s.unread);
	else if (sort_key == SORT_PID)
		c = cmp_u64(first_pid(x), first_pid(y));
	if (!c)
		c = by_age(x, y);
	return c ? c : cmp_u64(x->s.cookie, y->s.cookie);
}

static void age_text(char *buf, size_t len, const struct row *r)
{
	char d[32];

	if (r->kind == AGE_UNKNOWN) {
		snprintf(buf, len, "?");
		return;
	}
	tc_format_duration(d, sizeof(d), r->s.age_ns);
	snprintf(buf, len, "%s%s", r->kind == AGE_AT_LEAST ? ">=" : "", d);
}

/*
 * The summaries: sockets counted per key (service, process, peer address
 * or local port) and state.  A socket held by several processes counts for
 * each of them, and for each of their services, once however many
 * descriptors.  Sorting (key, row) items keeps it O(n log n).
 */
enum { SVC_RANK_KNOWN, SVC_RANK_UNKNOWN, SVC_RANK_NONE };

struct item {
	long num;		/* pid (INT_MAX: none), port, family, rank */
	const char *name;	/* comm, or a known service's name */
	const uint8_t *addr;	/* the peer's address */
	const struct service *svc;	/* for its kind; not compared */
	uint8_t state;
	int row;
};

struct summary {
	struct item key;
	int count;
	uint64_t unread;
	const struct row *oldest;
};

static int key_cmp(const struct item *x, const struct item *y)
{
	int c;

	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	if (x->name != y->name) {
		if (!x->name || !y->name)
			return x->name ? -1 : 1;
		c = strcmp(x->name, y->name);
		if (c)
			return c;
	}
	if (x->addr && y->addr) {
		c = memcmp(x->addr, y->addr, 16);
		if (c)
			return c;
	}
	return x->state - y->state;
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = key_cmp(x, y);

	return c ? c : x->row - y->row;
}

/* Oldest first, as the list; then by key. */
static int summary_cmp(const void *a, const void *b)
{
	const struct summary *x = a, *y = b;
	int c = by_age(x->oldest, y->oldest);

	return c ? c : key_cmp(&x->key, &y->key);
}

static struct item holder_item(enum group_key by, const struct tc_owner *w)
{
	if (by == GROUP_PROCESS)
		return (struct item){ .num = w->pid, .name = w->comm };
	if (!known(w->svc))
		return (struct item){ .num = SVC_RANK_UNKNOWN };
	return (struct item){ .num = SVC_RANK_KNOWN, .name = w->svc->name,
			      .svc = w->svc };
}

/* The items of row i into it[]; at most max(1, holders). */
static size_t row_items(const struct stuck *s, int i, enum group_key by,
			struct item *it)
{
	const struct row *r = &s->rows[i];
	size_t n = 0;

	if (by == GROUP_PEER)
		it[n++] = (struct item){ .num = r->s.family,
					 .addr = r->s.daddr };
	else if (by == GROUP_LPORT)
		it[n++] = (struct item){ .num = r->s.sport };
	else if (!r->h.n)
		it[n++] = (struct item){ .num = by == GROUP_PROCESS ?
					 INT_MAX : SVC_RANK_NONE };
	else
		for (size_t j = 0; j < r->h.n; j++)
			it[n++] = holder_item(by, &r->h.o[j]);
	for (size_t j = 0; j < n; j++) {
		it[j].state = r->s.state;
		it[j].row = i;
	}
	return n;
}

static struct item *group_items(const struct stuck *s, enum group_key by,
				size_t *n)
{
	struct item *it;
	size_t k = 0;

	for (int i = 0; i < s->nrows; i++)
		k += s->rows[i].h.n ? s->rows[i].h.n : 1;
	it = calloc(k + 1, sizeof(*it));
	if (!it)
		return NULL;
	*n = 0;
	for (int i = 0; i < s->nrows; i++)
		*n += row_items(s, i, by, it + *n);
	qsort(it, *n, sizeof(*it), item_cmp);
	return it;
}

/* Returns the number of summaries in *out (malloc'ed), or -1. */
static int summarise(const struct stuck *s, enum group_key by,
		     struct summary **out)
{
	struct summary *sum, *g = NULL;
	struct item *it;
	size_t n;
	int ns = 0;

	it = group_items(s, by, &n);
	sum = it ? calloc(n + 1, sizeof(*sum)) : NULL;
	if (!sum) {
		free(it);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &s->rows[it[i].row];

		if (i && !item_cmp(&it[i - 1], &it[i]))
			continue;	/* one key, two descriptors */
		if (!g || key_cmp(&g->key, &it[i])) {
			g = &sum[ns++];
			*g = (struct summary){ .key = it[i], .oldest = r };
		}
		g->count++;
		g->unread += r->s.unread;
		if (by_age(r, g->oldest) < 0)
			g->oldest = r;
	}
	qsort(sum, ns, sizeof(*sum), summary_cmp);
	free(it);
	*out = sum;
	return ns;
}

/* Every summary asked for, in the order of --group-by. */
struct summaries {
	struct summary *sum[GROUP_MAX];
	int n[GROUP_MAX];
};

static void summaries_free(struct summaries *g)
{
	for (int k = 0; k < GROUP_MAX; k++)
		free(g->sum[k]);
}

static int summarise_all(const struct stuck *s, struct summaries *g)
{
	memset(g, 0, sizeof(*g));
	for (int i = 0; i < s->o->ngroups; i++) {
		enum group_key by = s->o->group[i];

		g->n[by] = summarise(s, by, &g->sum[by]);
		if (g->n[by] < 0) {
			summaries_free(g);
			return -1;
		}
	}
	return 0;
}

static long listed(const struct stuck *s)
{
	if (s->o->summary_only)
		return 0;
	return s->o->top && s->o->top < s->nrows ? s->o->top : s->nrows;
}

static int max(int a, int b)
{
	return a > b ? a : b;
}

/*
 * Columns of terminal text: escaped text is printable UTF-8, so every
 * byte but a continuation byte starts a character.
 */
static int text_width(const char *t)
{
	int n = 0;

	for (; *t; t++)
		n += ((unsigned char)*t & 0xc0) != 0x80;
	return n;
}

static void print_padded(FILE *f, const char *t, int width)
{
	fputs(t, f);
	fprintf(f, "%*s", max(0, width - text_width(t)), "");
}

/* A service as the SERVICE column and the summary show it, escaped. */
#define SVC_TEXT_MAX	(4 * SVC_NAME_MAX + 1)

static void service_text(char *buf, size_t len, const struct service *svc)
{
	if (known(svc))
		tc_escape(buf, len, svc->name, sizeof(svc->name));
	else
		snprintf(buf, len, "?");
}

static int same_service(const struct service *a, const struct service *b)
{
	if (!known(a) || !known(b))
		return known(a) == known(b);
	return !strcmp(a->name, b->name);
}

/*
 * The SERVICE cell: each holder's service once, in holder order; "?" for
 * one whose cgroup could not be read, "-" when no process holds it.
 * NULL when out of memory.
 */
static char *service_cell(const struct tc_holders *h)
{
	char buf[SVC_TEXT_MAX], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int shown = 0;

	if (!f)
		return NULL;
	if (!h->n)
		fputc('-', f);
	for (size_t i = 0; i < h->n; i++) {
		size_t j = 0;

		while (j < i && !same_service(h->o[j].svc, h->o[i].svc))
			j++;
		if (j < i)
			continue;
		service_text(buf, sizeof(buf), h->o[i].svc);
		fprintf(f, "%s%s", shown++ ? "," : "", buf);
	}
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

struct widths {
	int state, age, unread, local, remote, netns, service;
};

/* Columns as wide as their widest cell: IPv6 endpoints vary a lot. */
static void measure(const struct stuck *s, char *const *svc,
		    struct widths *w)
{
	char buf[64];

	*w = (struct widths){ 5, 3, 6, 5, 6, 5, 7 };
	for (long i = 0; i < listed(s); i++) {
		const struct row *r = &s->rows[i];
		const struct close_sock *x = &r->s;

		w->state = max(w->state, strlen(tc_state_name(x->state)));
		age_text(buf, sizeof(buf), r);
		w->age = max(w->age, strlen(buf));
		w->unread = max(w->unread, snprintf(buf, sizeof(buf), "%u",
						    x->unread));
		tc_format_endpoint(buf, sizeof(buf), x->family, x->saddr,
				   x->sport);
		w->local = max(w->local, strlen(buf));
		tc_format_endpoint(buf, sizeof(buf), x->family, x->daddr,
				   x->dport);
		w->remote = max(w->remote, strlen(buf));
		w->netns = max(w->netns, snprintf(buf, sizeof(buf), "%u",
						  x->netns));
		w->service = max(w->service, text_width(svc[i]));
	}
}

static void print_row(FILE *f, const struct row *row, const char *svc,
		      const struct widths *w)
{
	const struct close_sock *x = &row->s;
	char age[40], l[64], r[64];

	age_text(age, sizeof(age), row);
	tc_format_endpoint(l, sizeof(l), x->family, x->saddr, x->sport);
	tc_format_endpoint(r, sizeof(r), x->family, x->daddr, x->dport);
	fprintf(f, "%-*s %*s %*u %-*s %-*s %-*u ", w->state,
		tc_state_name(x->state), w->age, age, w->unread, x->unread,
		w->local, l, w->remote, r, w->netns, x->netns);
	print_padded(f, svc, w->service);
	fputc(' ', f);
	tc_print_holders(f, &row->h);
	fputc('\n', f);
}

static int print_rows(FILE *f, const struct stuck *s)
{
	char **svc = calloc(listed(s) + 1, sizeof(*svc));
	struct widths w;
	long i;
	int rc = 0;

	for (i = 0; svc && i < listed(s) && !rc; i++)
		rc = !(svc[i] = service_cell(&s->rows[i].h));
	if (!svc || rc) {
		for (long j = 0; svc && j < i; j++)
			free(svc[j]);
		free(svc);
		return -1;
	}
	measure(s, svc, &w);
	fprintf(f, "%-*s %*s %*s %-*s %-*s %-*s %-*s %s\n", w.state, "STATE",
		w.age, "AGE", w.unread, "UNREAD", w.local, "LOCAL", w.remote,
		"REMOTE", w.netns, "NETNS", w.service, "SERVICE", "OWNERS");
	for (i = 0; i < listed(s); i++) {
		print_row(f, &s->rows[i], svc[i], &w);
		free(svc[i]);
	}
	free(svc);
	if (listed(s) < s->nrows && !s->o->summary_only)
		fprintf(f, "(%ld more not listed: --top)\n",
			s->nrows - listed(s));
	return 0;
}

static const char *const group_titles[GROUP_MAX] = {
	[GROUP_SERVICE] = "by service (a socket held in several services counts for each):",
	[GROUP_PROCESS] = "by process (a shared socket counts for each holder):",
	[GROUP_PEER] = "by peer address:",
	[GROUP_LPORT] = "by local port:",
};

/* The key of a summary line, escaped; at most SVC_TEXT_MAX + 8 bytes. */
static void key_text(char *buf, size_t len, enum group_key by,
		     const struct item *k)
{
	char t[SVC_TEXT_MAX];

	if (by == GROUP_PROCESS && k->num == INT_MAX) {
		snprintf(buf, len, "%7s -", "-");
	} else if (by == GROUP_PROCESS) {
		tc_escape(t, sizeof(t), k->name, strlen(k->name));
		snprintf(buf, len, "%7ld %s", k->num, t);
	} else if (by == GROUP_SERVICE) {
		if (k->num == SVC_RANK_KNOWN)
			tc_escape(buf, len, k->name, strlen(k->name));
		else
			snprintf(buf, len, k->num == SVC_RANK_NONE ? "-" : "?");
	} else if (by == GROUP_PEER) {
		inet_ntop(k->num, k->addr, buf, len);
	} else {
		snprintf(buf, len, "%ld", k->num);
	}
}

static void print_group(FILE *f, enum group_key by,
			const struct summary *sum, int n)
{
	char key[SVC_TEXT_MAX + 16], age[40];
	int width = 0;

	for (int i = 0; i < n; i++) {
		key_text(key, sizeof(key), by, &sum[i].key);
		width = max(width, text_width(key));
	}
	fprintf(f, "%s\n", group_titles[by]);
	for (int i = 0; i < n; i++) {
		const struct summary *k = &sum[i];

		key_text(key, sizeof(key), by, &k->key);
		age_text(age, sizeof(age), k->oldest);
		fputs("  ", f);
		print_padded(f, key, width);
		fprintf(f, " %d socket%s in %s, oldest %s, %llu bytes unread\n",
			k->count, k->count == 1 ? "" : "s",
			tc_state_name(k->key.state), age,
			(unsigned long long)k->unread);
	}
}

static void print_summaries(FILE *f, const struct stuck *s,
			    const struct summaries *g)
{
	int shown = 0;

	for (int i = 0; i < s->o->ngroups; i++) {
		enum group_key by = s->o->group[i];

		if (!g->n[by])
			continue;
		/* A blank line after the list, and between summaries. */
		if (!s->o->summary_only || shown++)
			fputc('\n', f);
		print_group(f, by, g->sum[by], g->n[by]);
	}
}

static void print_notes(FILE *f, const struct stuck *s)
{
	const struct tcpclose_stats *st = s->in->st;
	int unknown = 0;

	for (int i = 0; i < WHY_MAX; i++)
		unknown += s->unknown[i];
	if (!s->nrows)
		fprintf(f, s->hidden ? "no sockets known to be stuck\n" :
			"no sockets stuck\n");
	if (unknown)
		fprintf(f, "\nage \"?\": unknown, counted as stuck (--known-only leaves them out):\n");
	for (int i = 0; i < WHY_MAX; i++)
		if (s->unknown[i])
			fprintf(f, "  %d socket%s: %s\n", s->unknown[i],
				s->unknown[i] == 1 ? "" : "s", why_help[i]);
	if (s->hidden)
		fprintf(f, "%d more socket%s of unknown age not listed (--known-only)\n",
			s->hidden, s->hidden == 1 ? "" : "s");
	if (s->unknown_service)
		fprintf(f, "service \"?\": the cgroup of a holder of %d socket%s could not be read (it exited, or /proc is not ours to read)\n",
			s->unknown_service, s->unknown_service == 1 ? "" : "s");
	if (st && (st->table_overflow || st->tw_overflow))
		fprintf(f, "warning: the live table overflowed: %llu full and %llu timewait sockets were not tracked (module parameter table_size)\n",
			(unsigned long long)st->table_overflow,
			(unsigned long long)st->tw_overflow);
}

static int print_human(FILE *f, const struct stuck *s,
		       const struct summaries *g)
{
	if (listed(s) && print_rows(f, s))
		return -1;
	print_summaries(f, s, g);
	print_notes(f, s);
	return 0;
}

static void json_age(FILE *f, const char *name, const struct row *r)
{
	if (r->kind == AGE_UNKNOWN)
		fprintf(f, "\"%s_ns\":null", name);
	else
		fprintf(f, "\"%s_ns\":%llu", name,
			(unsigned long long)r->s.age_ns);
	fprintf(f, ",\"%s\":\"%s\"", name, kind_names[r->kind]);
}

/* Owners last: a socket's scalar fields come before any nested object. */
static void json_row(FILE *f, const struct row *r)
{
	const struct close_sock *w = &r->s;
	char a[64];

	fprintf(f, "{\"state\":\"%s\",", tc_state_name(w->state));
	json_age(f, "age", r);
	fprintf(f, ",\"age_known\":%s", r->kind == AGE_EXACT ? "true" : "false");
	if (r->why)
		fprintf(f, ",\"age_reason\":\"%s\"", why_names[r->why]);
	else
		fprintf(f, ",\"age_reason\":null");
	fprintf(f, ",\"cookie\":%llu,", (unsigned long long)w->cookie);
	tc_format_endpoint(a, sizeof(a), w->family, w->saddr, w->sport);
	fprintf(f, "\"local\":\"%s\"", a);
	tc_format_endpoint(a, sizeof(a), w->family, w->daddr, w->dport);
	fprintf(f, ",\"remote\":\"%s\",\"unread\":%u,\"netns\":%u,", a,
		w->unread, w->netns);
	if (w->netns_cookie)
		fprintf(f, "\"netns_cookie\":%llu,",
			(unsigned long long)w->netns_cookie);
	else
		fprintf(f, "\"netns_cookie\":null,");
	fprintf(f, "\"inode\":%llu,\"owners\":", (unsigned long long)w->ino);
	tc_print_holders_json(f, &r->h);
	fputc('}', f);
}

/* The key's fields of one summary object, after its opening brace. */
static void json_key(FILE *f, enum group_key by, const struct item *k)
{
	char a[INET6_ADDRSTRLEN];

	if (by == GROUP_PROCESS && k->num == INT_MAX) {
		fputs("\"pid\":null,\"comm\":null", f);
	} else if (by == GROUP_PROCESS) {
		fprintf(f, "\"pid\":%ld,\"comm\":", k->num);
		tc_json_string(f, k->name);
	} else if (by == GROUP_SERVICE && k->num == SVC_RANK_KNOWN) {
		fputs("\"service\":", f);
		tc_json_string(f, k->name);
		fprintf(f, ",\"service_kind\":\"%s\"",
			svc_kind_name(k->svc->kind));
	} else if (by == GROUP_SERVICE) {
		fprintf(f, "\"service\":null,\"service_kind\":\"%s\"",
			k->num == SVC_RANK_NONE ? "none" : "unknown");
	} else if (by == GROUP_PEER) {
		inet_ntop(k->num, k->addr, a, sizeof(a));
		fprintf(f, "\"peer\":\"%s\"", a);
	} else {
		fprintf(f, "\"port\":%ld", k->num);
	}
}

static const char *const group_json[GROUP_MAX] = {
	[GROUP_SERVICE] = "services", [GROUP_PROCESS] = "processes",
	[GROUP_PEER] = "peers", [GROUP_LPORT] = "local_ports",
};

/* Every summary's key, in a fixed order; null when not asked for. */
static void json_group(FILE *f, const struct stuck *s,
		       const struct summaries *g, enum group_key by)
{
	int asked = 0;

	for (int i = 0; i < s->o->ngroups; i++)
		asked |= s->o->group[i] == by;
	fprintf(f, ",\"%s\":", group_json[by]);
	if (!asked) {
		fputs("null", f);
		return;
	}
	fputc('[', f);
	for (int i = 0; i < g->n[by]; i++) {
		const struct summary *k = &g->sum[by][i];

		fputs(i ? ",{" : "{", f);
		json_key(f, by, &k->key);
		fprintf(f, ",\"state\":\"%s\",\"count\":%d,",
			tc_state_name(k->key.state), k->count);
		json_age(f, "oldest_age", k->oldest);
		fprintf(f, ",\"unread\":%llu}", (unsigned long long)k->unread);
	}
	fputc(']', f);
}

static void json_module(FILE *f, const struct stuck *s)
{
	const struct tcpclose_stats *st = s->in->st;

	if (!st) {
		fprintf(f, "\"module\":null,");
		return;
	}
	fprintf(f, "\"module\":{\"uptime_ns\":%llu,\"table_overflow\":%llu,\"tw_overflow\":%llu,\"missed\":%llu,\"expired\":%llu},",
		(unsigned long long)s->uptime,
		(unsigned long long)st->table_overflow,
		(unsigned long long)st->tw_overflow,
		(unsigned long long)st->missed,
		(unsigned long long)st->expired);
}

static void json_sockets(FILE *f, const struct stuck *s)
{
	if (s->o->summary_only) {
		fprintf(f, "\"sockets\":null,");
		return;
	}
	fprintf(f, "\"sockets\":[");
	for (long i = 0; i < listed(s); i++) {
		fputs(i ? "," : "", f);
		json_row(f, &s->rows[i]);
	}
	fprintf(f, "],");
}

/* When the sockets were listed, in UTC, as watch's times. */
static void json_time(FILE *f, uint64_t real_ns)
{
	char t[48];

	if (!real_ns) {
		fputs("\"time\":null,", f);
		return;
	}
	tc_format_wallclock(t, sizeof(t), real_ns, 1, 1);
	fprintf(f, "\"time\":\"%s\",", t);
}

static void print_json(FILE *f, const struct stuck *s,
		       const struct summaries *g)
{
	int unknown = 0;

	for (int i = 0; i < WHY_MAX; i++)
		unknown += s->unknown[i];
	fprintf(f, "{\"schema\":%d,", TC_JSON_SCHEMA);
	json_time(f, s->in->real_ns);
	fprintf(f, "\"min_age_ns\":%llu,", (unsigned long long)s->o->min_age);
	json_module(f, s);
	fprintf(f, "\"count\":%d,\"unknown_age\":%d,\"unknown_age_not_listed\":%d,\"netns_not_entered\":%d,\"unknown_service\":%d,",
		s->nrows, unknown, s->hidden, s->in->netns_missed,
		s->unknown_service);
	json_sockets(f, s);
	fputs("\"group_by\":[", f);
	for (int i = 0; i < s->o->ngroups; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", group_names[s->o->group[i]]);
	fputc(']', f);
	json_group(f, s, g, GROUP_SERVICE);
	json_group(f, s, g, GROUP_PROCESS);
	json_group(f, s, g, GROUP_PEER);
	json_group(f, s, g, GROUP_LPORT);
	fprintf(f, "}\n");
}

int stuck_report(FILE *f, const struct stuck_opts *o,
		 const struct stuck_input *in)
{
	struct stuck s = { .o = o, .in = in };
	struct close_sock *socks = NULL;
	struct summaries g;
	int n, rc = 0;

	if (in->st && in->now > in->st->load_ns)
		s.uptime = in->now - in->st->load_ns;
	n = close_sock_join(in->table, in->nt, in->diag, in->nd, o->mask,
			    in->now, &socks);
	s.rows = n < 0 ? NULL : calloc(n + 1, sizeof(*s.rows));
	if (!s.rows) {
		free(socks);
		return EXIT_ERROR;
	}
	for (int i = 0; i < n; i++)
		add_sock(&s, &socks[i]);
	free(socks);
	qsort_r(s.rows, s.nrows, sizeof(*s.rows), by_key, (void *)&o->sort);
	if (summarise_all(&s, &g)) {
		free(s.rows);
		return EXIT_ERROR;
	}
	if (o->json)
		print_json(f, &s, &g);
	else
		rc = print_human(f, &s, &g);
	summaries_free(&g);
	free(s.rows);
	if (rc)
		return EXIT_ERROR;
	return o->fail_if && s.nrows >= o->fail_if ? EXIT_THRESHOLD : EXIT_OK;
}

/*
 * What gather() warned of, so that --interval says it again only when it
 * changes rather than once a report.
 */
struct said {
	int no_module;
	int netns_missed;
};

static void warn_module(struct said *said, int no_module)
{
	if (no_module && !said->no_module)
		fprintf(stderr, "tcpclose: %s not found (module not loaded): listing through sock_diag only, ages unknown\n",
			TCPCLOSE_DEVICE);
	said->no_module = no_module;
}

static void warn_netns(struct said *said, int missed)
{
	if (missed && missed != said->netns_missed)
		fprintf(stderr, "tcpclose: %d network namespace%s could not be entered (CAP_SYS_ADMIN is needed): sockets there are listed only if the module has them\n",
			missed, missed == 1 ? "" : "s");
	said->netns_missed = missed;
}

/*
 * sock_diag first, then the table: a socket sock_diag lists was in its
 * state before the table dump, so if the module recorded it, it is there.
 */
static int gather(struct stuck_input *in, struct tcpclose_stats *st,
		  uint32_t mask, struct said *said)
{
	int fd = -1, no_module;

	no_module = access(TCPCLOSE_DEVICE, F_OK) && errno == ENOENT;
	warn_module(said, no_module);
	if (!no_module) {
		fd = dev_open(O_RDONLY | O_NONBLOCK);
		if (fd < 0 || dev_stats(fd, st, NULL))
			goto fail;
		in->st = st;
	}
	in->nd = diag_dump_all(mask, "/proc", &in->diag, &in->netns_missed);
	if (in->nd < 0) {
		fprintf(stderr, "tcpclose: sock_diag: %m (is tcp_diag available?): cannot list sockets\n");
		goto fail;
	}
	warn_netns(said, in->netns_missed);
	if (fd >= 0) {
		in->nt = dev_dump(fd, &in->table);
		if (in->nt < 0)
			goto fail;
		close(fd);
	}
	in->now = mono_now_ns();
	in->real_ns = in->now + mono_to_real_ns();
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One report, on a map that each report rescans. */
static int report_once(const struct stuck_opts *o, struct owner_map *owners,
		       struct said *said)
{
	struct stuck_input in = { 0 };
	struct tcpclose_stats st;
	int rc = EXIT_ERROR;

	if (!gather(&in, &st, o->mask, said)) {
		owner_scan(owners);
		in.owners = owners;
		rc = stuck_report(stdout, o, &in);
	}
	free(in.table);
	free(in.diag);
	return rc;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* Without SA_RESTART: the sleep between reports ends at once. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Sleeps until @until (CLOCK_MONOTONIC), or a signal to stop. */
static void pause_until(uint64_t until)
{
	struct timespec ts = {
		.tv_sec = until / 1000000000ULL,
		.tv_nsec = until % 1000000000ULL,
	};

	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
					NULL) == EINTR)
		;
}

/* Human reports are told apart by a line with the time. */
static void print_banner(const struct stuck_opts *o, int n)
{
	char t[48], every[32];

	tc_format_wallclock(t, sizeof(t), mono_now_ns() + mono_to_real_ns(),
			    1, 0);
	tc_format_duration(every, sizeof(every), o->interval_ns);
	printf("%s--- %s, every %s ---\n", n ? "\n" : "", t, every);
}

/*
 * Reports every --interval, each from a fresh scan, until --count, SIGINT
 * or SIGTERM (exit 0), or an error (exit 1).  Output is flushed after each
 * report, so that a reader sees it whole, and a write error (a full disk)
 * ends the loop with status 1 rather than spinning on.  A report slower
 * than the interval is followed by the next at once.
 */
static int report_loop(const struct stuck_opts *o, struct owner_map *owners)
{
	struct said said = { 0 };
	uint64_t next = mono_now_ns(), now;
	int rc;

	stop = 0;
	catch_signals();
	for (long n = 0; !stop && (!o->count || n < o->count); n++) {
		if (n)
			pause_until(next);
		if (stop)
			break;
		/* On a fixed grid, so as not to drift; a late report moves it. */
		now = mono_now_ns();
		next += o->interval_ns;
		if (next <= now)
			next = now + o->interval_ns;
		if (!o->json)
			print_banner(o, n);
		rc = report_once(o, owners, &said);
		if (rc == EXIT_ERROR || tc_flush_stdout())
			return EXIT_ERROR;
	}
	return EXIT_OK;
}

int cmd_stuck(int argc, char **argv)
{
	struct owner_map owners;
	struct said said = { 0 };
	struct stuck_opts o;
	int rc;

	rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	owner_init(&owners, "/proc");
	if (o.interval_ns)
		rc = report_loop(&o, &owners);
	else
		rc = report_once(&o, &owners, &said);
	owner_free(&owners);
	return rc;
}
