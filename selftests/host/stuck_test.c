// SPDX-License-Identifier: GPL-2.0
/*
 * The stuck report on made-up inputs: a table, a sock_diag list, module
 * counters and a fixture /proc.  Ages are only "older than the load" when
 * that is known, unknown ones carry their reason and count for --fail-if
 * unless --known-only; every holder of a shared socket is named; filters,
 * --sort, --top, --summary-only; columns fit IPv6; and the owner thread
 * of watch rescans /proc without the caller waiting for it.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "device.h"
#include "stuck.h"
#include "fakeproc.h"
#include "../tap.h"

#define S	1000000000ULL
#define CTR	"/system.slice/docker-4f1c2a9e8b7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615243a.scope"

static struct tcpclose_stats st;
static struct tcpclose_sock table[4];
static struct diag_sock diag[8];
static struct owner_map owners;
static int ntable, ndiag;
static char out[16384];

static void endpoints(uint8_t *sa, uint8_t *da, int family, const char *l,
		      const char *r)
{
	inet_pton(family, l, sa);
	inet_pton(family, r, da);
}

/* A socket sock_diag lists; in_table: the module also has it. */
static void sock(uint64_t cookie, int state, int tw, uint64_t ino,
		 uint32_t unread, int in_table)
{
	struct diag_sock *d = &diag[ndiag++];

	*d = (struct diag_sock){ .cookie = cookie, .ino = ino,
		.rqueue = unread, .family = AF_INET, .state = state,
		.timewait = tw, .sport = 8080, .dport = 40000 + cookie,
		.netns = 7, .netns_cookie = 1 };
	endpoints(d->saddr, d->daddr, AF_INET, "10.0.0.1", "10.0.0.2");
	if (!in_table)
		return;
	table[ntable++] = (struct tcpclose_sock){ .cookie = cookie,
		.since_ns = 950 * S, .ino = ino, .netns = 7,
		.family = AF_INET, .state = state, .timewait = tw,
		.sport = d->sport, .dport = d->dport, .rx_queue = unread };
	memcpy(table[ntable - 1].saddr, d->saddr, 16);
	memcpy(table[ntable - 1].daddr, d->daddr, 16);
}

/*
 * Cookie 1: in the table, 50 s old.  Cookie 2: CLOSE_WAIT, only in
 * sock_diag, shared by pids 10 and 11.  Cookie 3: ESTABLISHED, only in
 * sock_diag.  Cookie 4: a timewait socket, only in sock_diag, no owner.
 * The module was loaded 100 s ago and records its default states.
 */
static void reset(void)
{
	st = (struct tcpclose_stats){ .version = TCPCLOSE_ABI_VERSION,
		.load_ns = 900 * S, .state_mask = TCPCLOSE_DEFAULT_STATES };
	ntable = ndiag = 0;
	sock(1, TCPCLOSE_CLOSE_WAIT, 0, 701, 5, 1);
	sock(2, TCPCLOSE_CLOSE_WAIT, 0, 700, 100, 0);
	sock(3, TCPCLOSE_ESTABLISHED, 0, 702, 0, 0);
	sock(4, TCPCLOSE_TIME_WAIT, 1, 0, 0, 0);
}

static struct stuck_opts opts(const char *states, uint64_t min_age, int json)
{
	struct stuck_opts o;

	stuck_opts_init(&o);
	o.mask = tc_state_mask_parse(states);
	o.min_age = min_age;
	o.json = json;
	return o;
}

/* The report into out[]; returns its exit status. */
static int report(const struct stuck_opts *o, int module)
{
	struct stuck_input in = {
		.st = module ? &st : NULL, .table = table,
		.nt = module ? ntable : 0,
		.diag = diag, .nd = ndiag, .owners = &owners,
		.now = 1000 * S,
	};
	FILE *f = fmemopen(out, sizeof(out), "w");
	int rc = stuck_report(f, o, &in);

	fclose(f);
	return rc;
}

static int says(const char *what)
{
	if (!strstr(out, what))
		tap_info("no \"%s\" in:\n%s", what, out);
	return strstr(out, what) != NULL;
}

static int lacks(const char *what)
{
	if (strstr(out, what))
		tap_info("\"%s\" in:\n%s", what, out);
	return !strstr(out, what);
}

static void ages(void)
{
	struct stuck_opts o = opts("CLOSE_WAIT", 60 * S, 0);

	reset();
	o.fail_if = 1;
	tap_check(report(&o, 1) == EXIT_THRESHOLD && says(">=1m40s") &&
		  lacks(":40001") && lacks("?"),
		  "untracked CLOSE_WAIT with nothing missed: older than the load (>=uptime)");
	o.min_age = 200 * S;
	tap_check(report(&o, 1) == EXIT_THRESHOLD && says("CLOSE_WAIT   ?") &&
		  says("1 socket: in the state since before the module was loaded"),
		  "--min-age above the uptime: age unknown, still counted by --fail-if");
	o.known_only = 1;
	tap_check(report(&o, 1) == EXIT_OK &&
		  says("no sockets known to be stuck") &&
		  says("1 more socket of unknown age not listed (--known-only)"),
		  "--known-only: left out, said so, not counted");
	o = opts("CLOSE_WAIT", 60 * S, 1);
	st.table_overflow = 3;
	tap_check(report(&o, 1) == EXIT_OK &&
		  says("\"age_ns\":null,\"age\":\"unknown\",\"age_known\":false,\"age_reason\":\"table full\",\"cookie\":2,") &&
		  says("\"count\":1,\"unknown_age\":1,"),
		  "the table overflowed: age unknown, reason \"table full\"");
	o.json = 0;
	report(&o, 1);
	tap_check(says("warning: the live table overflowed: 3 full"),
		  "the overflow is said in the human report");
	st.table_overflow = 0;
	st.tw_overflow = 1;
	o = opts("CLOSE_WAIT,TIME_WAIT", 0, 1);
	report(&o, 1);
	tap_check(says("\"age_reason\":\"before load\",\"cookie\":2,") &&
		  says("\"age_reason\":\"table full\",\"cookie\":4,"),
		  "timewait overflow: only timewait sockets are of unknown age");
	st.tw_overflow = 0;
	o = opts("ESTABLISHED", 0, 1);
	report(&o, 1);
	tap_check(says("\"age_reason\":\"not tracked\",\"cookie\":3,"),
		  "a state the module does not record: \"not tracked\", not older than load");
	st.missed = 1;
	o = opts("CLOSE_WAIT", 0, 1);
	report(&o, 1);
	tap_check(says("\"age_reason\":\"events missed\",\"cookie\":2,"),
		  "missed probe hits: \"events missed\"");
	o.fail_if = 2;
	tap_check(report(&o, 0) == EXIT_THRESHOLD && says("\"module\":null") &&
		  says("\"age_reason\":\"no module\",\"cookie\":1,") &&
		  says("\"age_reason\":\"no module\",\"cookie\":2,") &&
		  says("\"count\":2,\"unknown_age\":2,"),
		  "without the module: every age unknown (\"no module\"), counted");
}

static void holders(void)
{
	struct stuck_opts o = opts("CLOSE_WAIT,TIME_WAIT", 0, 0);

	reset();
	report(&o, 1);
	tap_check(says("server[10] fd 3, worker[11] fd 4") &&
		  says("     10 server 2 sockets in CLOSE_WAIT") &&
		  says("     11 worker 1 socket in CLOSE_WAIT") &&
		  says("      - -      1 socket in TIME_WAIT"),
		  "a shared socket names every holder; two fds of one process count once");
	o.json = 1;
	report(&o, 1);
	tap_check(says("\"cookie\":2,") &&
		  says("\"owners\":[{\"pid\":10,\"fd\":3,\"comm\":\"server\",\"service\":\"app.service\",\"service_kind\":\"unit\",\"cgroup\":\"/system.slice/app.service\"},"
		       "{\"pid\":11,\"fd\":4,\"comm\":\"worker\",\"service\":\"docker:4f1c2a9e8b7d\",\"service_kind\":\"container\",\"cgroup\":\"" CTR "\"}]") &&
		  says("\"inode\":0,\"owners\":null}") &&
		  says("{\"pid\":null,\"comm\":null,\"state\":\"TIME_WAIT\""),
		  "JSON: owners listed, null when none, in sockets and processes alike");
}

static void slicing(void)
{
	struct stuck_opts o = opts("CLOSE_WAIT", 0, 0);

	reset();
	o.f.pid = 11;
	report(&o, 1);
	tap_check(says("worker[11]") && lacks(":40001"),
		  "--pid: sockets that process holds");
	o = opts("CLOSE_WAIT", 0, 1);
	o.comm = "server";
	o.f.port = 40001;
	report(&o, 1);
	tap_check(says("\"count\":1,") && says("\"cookie\":1,"),
		  "--comm and --port together");
	o = opts("CLOSE_WAIT", 0, 1);
	tc_addr_filter_parse(&o.f.addr, "10.0.0.3");
	o.f.netns = 7;
	report(&o, 1);
	tap_check(says("\"count\":0,"), "--addr of nobody: nothing");
	o = opts("CLOSE_WAIT", 0, 0);
	o.sort = SORT_UNREAD;
	o.top = 1;
	o.fail_if = 2;
	tap_check(report(&o, 1) == EXIT_THRESHOLD && says("    100 10.0.0.1") &&
		  lacks("      5 10.0.0.1") && says("(1 more not listed: --top)") &&
		  says("server 2 sockets"),
		  "--sort unread --top 1: the most unread first; summary and --fail-if see all");
	o.summary_only = 1;
	report(&o, 1);
	tap_check(lacks("STATE") && says("by process"),
		  "--summary-only: no socket lines");
}

/* The column where the first line holding @what has it; -1 if none. */
static long column(const char *what)
{
	const char *p = strstr(out, what), *bol;

	if (!p)
		return -1;
	for (bol = p; bol > out && bol[-1] != '\n'; bol--)
		;
	return p - bol;
}

/*
 * Pid 10 (server) is in app.service, pid 11 (worker) in a Docker
 * container; they share cookie 2.  Cookie 1 is server's alone, cookie 4
 * (TIME_WAIT) nobody's.
 */
static void services(const char *root)
{
	struct stuck_opts o = opts("CLOSE_WAIT,TIME_WAIT", 0, 0);
	char path[256];

	reset();
	report(&o, 1);
	tap_check(says(" 7     app.service,docker:4f1c2a9e8b7d server[10] fd 3, worker[11] fd 4\n") &&
		  says(" 7     app.service                     server[10] fd 5") &&
		  says(" 7     -                               -\n") &&
		  column("SERVICE") == column("app.service,docker"),
		  "SERVICE column: every holder's service once, \"-\" without holder, aligned");
	tap_check(says("by service (a socket held in several services counts for each):\n"
		       "  app.service         2 sockets in CLOSE_WAIT, oldest >=1m40s, 105 bytes unread\n"
		       "  docker:4f1c2a9e8b7d 1 socket in CLOSE_WAIT, oldest >=1m40s, 100 bytes unread\n"
		       "  -                   1 socket in TIME_WAIT") &&
		  strstr(out, "by service") < strstr(out, "by process"),
		  "summary by service, then by process (the default): a socket shared by two services counts for each");
	/* Worker's cgroup file gone: it exited, or is not ours to read. */
	snprintf(path, sizeof(path), "%s/11/cgroup", root);
	unlink(path);
	owner_scan(&owners);
	report(&o, 1);
	tap_check(says(" app.service,? ") && says("\n  ?           1 socket in CLOSE_WAIT") &&
		  says("service \"?\": the cgroup of a holder of 1 socket could not be read") &&
		  lacks("docker"),
		  "a cgroup that cannot be read: service \"?\", said below, never guessed");
	o.json = 1;
	report(&o, 1);
	tap_check(says("\"unknown_service\":1,") &&
		  says("{\"service\":null,\"service_kind\":\"unknown\",\"state\":\"CLOSE_WAIT\",\"count\":1,") &&
		  says("{\"service\":null,\"service_kind\":\"none\",\"state\":\"TIME_WAIT\",\"count\":1,") &&
		  says("{\"service\":\"app.service\",\"service_kind\":\"unit\",\"state\":\"CLOSE_WAIT\",\"count\":2,") &&
		  says("\"group_by\":[\"service\",\"process\"],\"services\":[") &&
		  says("\"peers\":null,\"local_ports\":null}"),
		  "JSON: services with their kind, null and \"unknown\" or \"none\"; summaries not asked for are null");
	proc_cgroup(root, 11, CTR);
	owner_scan(&owners);
}

/* The JSON count of sockets, or -1. */
static int count(void)
{
	const char *p = strstr(out, "\"count\":");

	return p ? atoi(p + 8) : -1;
}

static void service_filters(void)
{
	static const struct {
		const char *unit, *cgroup;
		int n;
	} cases[] = {
		{ "app.service", NULL, 2 }, { "app", NULL, 2 },
		{ "docker:4f1c2a9e8b7d", NULL, 1 }, { "app.scope", NULL, 0 },
		{ "ap", NULL, 0 }, { NULL, "/system.slice", 2 },
		{ NULL, "/system.slice/app.service", 2 }, { NULL, "/system", 0 },
		{ NULL, "/", 2 }, { "app", "/system.slice/docker-", 0 },
	};
	struct stuck_opts o = opts("CLOSE_WAIT,TIME_WAIT", 0, 1);
	int ok = 1;

	reset();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o.unit = cases[i].unit;
		o.cgroup = cases[i].cgroup;
		report(&o, 1);
		if (count() != cases[i].n) {
			tap_info("--unit %s --cgroup %s: %d, not %d",
				 o.unit, o.cgroup, count(), cases[i].n);
			ok = 0;
		}
	}
	tap_check(ok, "--unit (NAME or NAME.service) and --cgroup (whole path components); no holder, no match");
	o.unit = NULL;
	o.cgroup = "/system.slice/app.service";
	o.f.pid = 11;
	report(&o, 1);
	tap_check(count() == 0, "one holder must match --pid and --cgroup together");
}

/* Summaries by peer address and local port, keys aligned. */
static void groups(void)
{
	struct stuck_opts o = opts("CLOSE_WAIT,TIME_WAIT", 0, 0);

	reset();
	diag[0].family = diag[1].family = AF_INET6;
	endpoints(diag[1].saddr, diag[1].daddr, AF_INET6, "2001:db8::1",
		  "2001:db8::ffff:2");
	memcpy(diag[0].daddr, diag[1].daddr, 16);
	memcpy(table[0].daddr, diag[1].daddr, 16);
	table[0].family = AF_INET6;
	diag[1].sport = 9090;
	o.group[0] = GROUP_PEER;
	o.group[1] = GROUP_LPORT;
	o.summary_only = 1;
	report(&o, 1);
	tap_check(!strncmp(out, "by peer address:\n", 17) &&
		  says("by peer address:\n"
		       "  10.0.0.2         1 socket in TIME_WAIT, oldest >=1m40s, 0 bytes unread\n"
		       "  2001:db8::ffff:2 2 sockets in CLOSE_WAIT, oldest >=1m40s, 105 bytes unread\n") &&
		  says("\n\nby local port:\n  8080 1 socket in TIME_WAIT, oldest >=1m40s, 0 bytes unread\n"
		       "  9090 1 socket in CLOSE_WAIT, oldest >=1m40s, 100 bytes unread\n"
		       "  8080 1 socket in CLOSE_WAIT, oldest 50.00s, 5 bytes unread\n") &&
		  lacks("by process") && lacks("by service"),
		  "--group-by peer,lport: by peer address (IPv6 aligned with IPv4), then by local port, nothing else");
	o.json = 1;
	report(&o, 1);
	tap_check(says("\"group_by\":[\"peer\",\"lport\"],\"services\":null,\"processes\":null,\"peers\":[{\"peer\":\"10.0.0.2\",\"state\":\"TIME_WAIT\",\"count\":1,") &&
		  says("{\"peer\":\"2001:db8::ffff:2\",\"state\":\"CLOSE_WAIT\",\"count\":2,") &&
		  says("\"local_ports\":[{\"port\":8080,\"state\":\"TIME_WAIT\",\"count\":1,") &&
		  says("{\"port\":9090,\"state\":\"CLOSE_WAIT\",\"count\":1,"),
		  "JSON: peers and local_ports");
}

/* Every line's NETNS column starts where the header's does. */
static void widths(void)
{
	struct stuck_opts o = opts("CLOSE_WAIT", 0, 0);
	const char *h, *line;
	long col;
	int ok = 1;

	reset();
	diag[1].family = AF_INET6;
	endpoints(diag[1].saddr, diag[1].daddr, AF_INET6,
		  "2001:db8:1234:5678:9abc:def0:1234:5678",
		  "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	report(&o, 1);
	h = strstr(out, "NETNS");
	col = h - out;
	for (line = strchr(out, '\n') + 1; *line && *line != '\n';
	     line = strchr(line, '\n') + 1)
		ok &= !strncmp(line + col, "7 ", 2);
	tap_check(h && ok && says("[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:40002 7"),
		  "IPv6 endpoints: columns widened to fit, never cut");
}

static void resolver(const char *root)
{
	struct owner_resolver r;
	struct tc_holders h;
	int found = 0;

	if (resolver_start(&r, root, 10000000ULL))
		tap_bail("resolver_start");
	resolver_lock(&r);
	resolver_find(&r, 700, &h);
	tap_check(h.n == 2, "owner thread: first scan done at start");
	proc_socket(root, 12, "late", 5, 703);
	resolver_find(&r, 703, &h);
	resolver_unlock(&r);
	tap_check(h.n == 0, "a miss does not wait for a rescan");
	for (int i = 0; i < 200 && !found; i++) {
		usleep(10000);
		resolver_lock(&r);
		resolver_find(&r, 703, &h);
		found = h.n == 1 && h.o[0].pid == 12;
		resolver_unlock(&r);
	}
	tap_check(found, "the thread's rescan finds it");
	resolver_stop(&r);
}

int main(void)
{
	char root[] = "/tmp/tcpclose-procXXXXXX", rm[64];

	tap_plan(28);
	if (!mkdtemp(root))
		tap_bail("mkdtemp");
	proc_socket(root, 10, "server", 3, 700);
	proc_socket(root, 11, "worker", 4, 700);
	proc_socket(root, 10, "server", 5, 701);
	proc_socket(root, 10, "server", 6, 701);	/* dup() of the same */
	proc_cgroup(root, 10, "/system.slice/app.service");
	proc_cgroup(root, 11, CTR);		/* moved after the fork */
	owner_init(&owners, root);
	owner_scan(&owners);
	ages();
	holders();
	slicing();
	services(root);
	service_filters();
	groups();
	widths();
	resolver(root);
	owner_free(&owners);
	snprintf(rm, sizeof(rm), "rm -rf %s", root);
	if (system(rm))
		tap_info("could not remove %s", root);
	return tap_finish();
}
