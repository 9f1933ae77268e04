// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of `tcpclose metrics` below the command: the join of the live
 * table with sock_diag (stuck's too), the Prometheus text for synthetic sockets and
 * counters (checked line by line and by Prometheus' own promtool, when
 * installed), the state-duration histograms of made-up rows (cumulative
 * buckets, exact sums past 2^64 ns), label escaping, and the atomic
 * textfile.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "prom.h"
#include "sockets.h"
#include "fakehist.h"
#include "../tap.h"

#define CW	TCPCLOSE_CLOSE_WAIT
#define TW	TCPCLOSE_TIME_WAIT
#define SEC	1000000000ULL

/* What stuck needs besides: namespace, addresses, the timewait class. */
static void join_fields(void)
{
	struct tcpclose_sock t = { .cookie = 1, .state = CW, .netns = 7,
				   .netns_cookie = 70, .family = 2,
				   .sport = 80, .dport = 5000,
				   .saddr = { 10, 0, 0, 1 },
				   .daddr = { 10, 0, 0, 2 } };
	struct diag_sock d[] = {
		{ .cookie = 1, .state = CW, .netns = 99, .ino = 4,
		  .saddr = { 9 } },
		{ .cookie = 2, .state = TW, .timewait = 1, .netns = 8,
		  .netns_cookie = 80, .family = 10, .sport = 443,
		  .daddr = { 0x20, 0x01, 0x0d, 0xb8 } },
	};
	struct close_sock *v = NULL;
	int n = close_sock_join(&t, 1, d, 2, TCPCLOSE_STATE_BIT(CW) |
				TCPCLOSE_STATE_BIT(TW), 0, &v);
	int ok = n == 2;

	ok = ok && v[0].netns == 7 && v[0].netns_cookie == 70 &&
	     v[0].saddr[0] == 10 && v[0].daddr[3] == 2 && v[0].sport == 80 &&
	     v[0].dport == 5000 && v[0].ino == 4 && !v[0].timewait;
	ok = ok && v[1].netns == 8 && v[1].netns_cookie == 80 &&
	     v[1].timewait && v[1].family == 10 && v[1].sport == 443 &&
	     v[1].daddr[1] == 0x01 && !v[1].age_known;
	tap_check(ok, "join: namespace and addresses from the table when it has the socket, else from sock_diag; the timewait class kept");
	free(v);
}

static void join(void)
{
	struct tcpclose_sock t[] = {
		{ .cookie = 30, .since_ns = 100 * SEC, .ino = 7, .state = CW,
		  .rx_queue = 1 },
		{ .cookie = 10, .since_ns = 40 * SEC, .ino = 5, .state = CW,
		  .rx_queue = 2 },
		{ .cookie = 20, .since_ns = 200 * SEC, .state = TW },
		/* Stamped after our clock read: zero, not 2^64 - 1 ns. */
		{ .cookie = 50, .since_ns = 301 * SEC, .state = CW },
	};
	struct diag_sock d[] = {
		{ .cookie = 40, .ino = 9, .state = CW, .rqueue = 11 },
		{ .cookie = 10, .ino = 5, .state = CW, .rqueue = 99 },
		{ .cookie = 60, .state = TW },
	};
	uint32_t mask = TCPCLOSE_STATE_BIT(CW);
	struct close_sock *v = NULL;
	int n = close_sock_join(t, 4, d, 3, mask, 300 * SEC, &v);
	int ok = n == 4;

	/* In cookie order: 10 (both), 30 (table), 40 (diag), 50 (table). */
	ok = ok && v[0].cookie == 10 && v[0].age_known &&
	     v[0].age_ns == 260 * SEC && v[0].unread == 99;
	ok = ok && v[1].cookie == 30 && v[1].age_ns == 200 * SEC &&
	     v[1].unread == 1 && v[1].ino == 7;
	ok = ok && v[2].cookie == 40 && !v[2].age_known && v[2].unread == 11 &&
	     v[2].ino == 9;
	ok = ok && v[3].cookie == 50 && v[3].age_known && v[3].age_ns == 0;
	tap_check(ok, "join: table ages, sock_diag queues, diag-only sockets of unknown age, states outside the mask dropped");
	free(v);
	join_fields();
	n = close_sock_join(NULL, 0, NULL, 0, mask, 0, &v);
	tap_check(n == 0, "join: nothing in, nothing out");
	free(v);
}

static struct prom_sock socks[] = {
	{ CW, 1, 90 * SEC + 5, 10, 100, 8080, "nginx.service", "nginx" },
	{ CW, 1, 30 * SEC, 5, 101, 8080, "nginx.service", "nginx" },
	{ CW, 0, 0, 7, 101, 8080, "nginx.service", "nginx" },
	{ CW, 0, 0, 0, 200, 9000, "docker:4f1c2a9e8b7d", "java" },
	{ TW, 1, 2 * SEC, 0, 0, 443, "", "" },
	{ TW, 1, 3 * SEC, 0, 0, 443, "", "" },
	{ CW, 1, SEC, 0, 300, 1, "odd\"unit\\", "a\nb\xff" },
};

static struct tcpclose_stats host_stats = {
	.scope = TCPCLOSE_SCOPE_HOST, .seen = 1234, .table_entries = 4,
	.table_capacity = 65536, .table_overflow = 2, .tw_entries = 2,
	.tw_capacity = 65536, .missed = 1, .expired = 3, .readers = 1,
	.max_readers = 8,
};

static char *render(struct prom_input *in)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f || prom_write(f, in) || fclose(f))
		tap_bail("cannot render metrics");
	return buf;
}

static int has(const char *text, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\n", line);
	if (strstr(text, want))
		return 1;
	tap_info("missing: %s", line);
	return 0;
}

static int promtool_ok(const char *text, const char *tag)
{
	char cmd[128], log[64];
	FILE *p;
	int rc;

	snprintf(log, sizeof(log), "/tmp/tcpclose-promtool-%d.log", getpid());
	snprintf(cmd, sizeof(cmd), "promtool check metrics >%s 2>&1", log);
	p = popen(cmd, "w");
	if (!p)
		return 0;
	fputs(text, p);
	rc = pclose(p);
	if (rc) {
		tap_info("promtool on %s:", tag);
		snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s", log);
		if (system(cmd))
			tap_info("(no promtool output)");
	}
	unlink(log);
	return rc == 0;
}

static int have_promtool(void)
{
	return !system("command -v promtool >/dev/null 2>&1");
}

static void format(void)
{
	struct prom_input in = {
		.st = &host_stats, .uptime_ns = 3600 * SEC + 5, .diag_ok = 1,
		.socks = socks, .nsocks = 7,
	};
	char *t = render(&in);
	int ok;

	ok = has(t, "tcpclose_sockets{state=\"CLOSE_WAIT\",service=\"nginx.service\",comm=\"nginx\"} 3");
	ok &= has(t, "tcpclose_sockets{state=\"CLOSE_WAIT\",service=\"docker:4f1c2a9e8b7d\",comm=\"java\"} 1");
	ok &= has(t, "tcpclose_sockets{state=\"TIME_WAIT\",service=\"\",comm=\"\"} 2");
	tap_check(ok, "sockets counted per state, service and command");
	ok = has(t, "tcpclose_oldest_socket_age_seconds{state=\"CLOSE_WAIT\",service=\"nginx.service\"} 90.000000005");
	ok &= has(t, "tcpclose_sockets_age_unknown{state=\"CLOSE_WAIT\",service=\"nginx.service\"} 1");
	ok &= has(t, "tcpclose_sockets_age_unknown{state=\"CLOSE_WAIT\",service=\"docker:4f1c2a9e8b7d\"} 1");
	ok &= !strstr(t, "tcpclose_oldest_socket_age_seconds{state=\"CLOSE_WAIT\",service=\"docker:");
	tap_check(ok, "oldest age from known ages only; unknown ages counted, never invented");
	ok = has(t, "tcpclose_unread_bytes{state=\"CLOSE_WAIT\",service=\"nginx.service\"} 22");
	ok &= has(t, "tcpclose_module_uptime_seconds 3600.000000005");
	ok &= has(t, "tcpclose_events_seen_total 1234");
	ok &= has(t, "tcpclose_table_overflow_total{table=\"full\"} 2");
	ok &= has(t, "tcpclose_table_sockets{table=\"timewait\"} 2");
	ok &= has(t, "tcpclose_probes_missed_total 1");
	ok &= has(t, "tcpclose_readers_max 8");
	ok &= has(t, "tcpclose_module_loaded 1");
	tap_check(ok, "unread bytes summed, module counters exported");
	ok = has(t, "tcpclose_sockets{state=\"CLOSE_WAIT\",service=\"odd\\\"unit\\\\\",comm=\"a\\nb?\"} 1");
	tap_check(ok, "label values escaped: quote, backslash, newline; invalid UTF-8 replaced");
	ok = !strstr(t, "pid=") && !strstr(t, "port=");
	tap_check(ok, "no pid or port labels by default");
	if (!have_promtool())
		tap_skip("promtool not installed");
	else
		tap_check(promtool_ok(t, "the full output"),
			  "promtool check metrics accepts the output");
	free(t);
}

static void variants(void)
{
	struct tcpclose_stats netns = host_stats;
	struct prom_input in = { .diag_ok = 1, .socks = socks, .nsocks = 7 };
	char *t;
	int ok;

	t = render(&in);
	ok = has(t, "tcpclose_module_loaded 0") &&
	     !strstr(t, "\ntcpclose_module_uptime_seconds ") &&
	     !strstr(t, "_total ") && !strstr(t, "_total{");
	tap_check(ok, "without the module: loaded 0, no module counters");
	if (have_promtool())
		tap_check(promtool_ok(t, "no module"), "promtool accepts the output without the module");
	else
		tap_skip("promtool not installed");
	free(t);
	netns.scope = TCPCLOSE_SCOPE_NETNS;
	in.st = &netns;
	t = render(&in);
	ok = has(t, "tcpclose_table_sockets{table=\"full\"} 4") &&
	     !strstr(t, "tcpclose_events_seen_total") &&
	     !strstr(t, "tcpclose_probes_missed_total");
	tap_check(ok, "in a network namespace: host-wide counters omitted, not zero");
	free(t);
	in.labels = PROM_LABEL_PID | PROM_LABEL_PORT;
	t = render(&in);
	ok = has(t, "tcpclose_sockets{state=\"CLOSE_WAIT\",service=\"nginx.service\",comm=\"nginx\",pid=\"101\",port=\"8080\"} 2");
	ok &= has(t, "tcpclose_sockets{state=\"TIME_WAIT\",service=\"\",comm=\"\",pid=\"\",port=\"443\"} 2");
	ok &= has(t, "tcpclose_oldest_socket_age_seconds{state=\"CLOSE_WAIT\",service=\"nginx.service\",pid=\"100\",port=\"8080\"} 90.000000005");
	tap_check(ok, "--labels pid,port: split per process and local port");
	free(t);
}

/*
 * Every histogram's buckets, in order: le grows, counts never fall, and
 * +Inf is its _count.  Returns the histograms seen, -1 on a fault.
 */
static int cumulative(const char *t)
{
	static const char b[] = "tcpclose_state_duration_seconds_bucket{";
	char key[256] = "", k[256], count[320];
	unsigned long long prev = 0, v;
	int rows = 0, inf = 0;
	const char *p, *le;

	for (p = strstr(t, b); p; p = strstr(p + 1, b)) {
		le = strstr(p, ",le=\"");
		if (!le || sscanf(strchr(le, '}') + 1, "%llu", &v) != 1)
			return -1;
		snprintf(k, sizeof(k), "%.*s", (int)(le - p), p);
		if (strcmp(k, key)) {
			if (rows && !inf)
				return -1;
			snprintf(key, sizeof(key), "%s", k);
			rows++;
			prev = 0;
			inf = 0;
		}
		if (inf || v < prev)
			return -1;
		inf = !strncmp(le, ",le=\"+Inf\"}", 11);
		prev = v;
		snprintf(count, sizeof(count),
			 "\ntcpclose_state_duration_seconds_count{%s} %llu\n",
			 k + strlen(b), v);
		if (inf && !strstr(t, count))
			return -1;
	}
	return rows && inf ? rows : -1;
}

static int occurs(const char *t, const char *s)
{
	int n = 0;

	for (const char *p = strstr(t, s); p; p = strstr(p + 1, s))
		n++;
	return n;
}

static void histograms(void)
{
	struct tcpclose_hist_row rows[FAKE_ROWS];
	struct tcpclose_hist h;
	struct prom_input in = {
		.st = &host_stats, .uptime_ns = 3600 * SEC, .diag_ok = 1,
		.hist = rows, .nhist = FAKE_ROWS,
	};
	char *t;
	int ok;

	fake_hist(&h, rows);
	t = render(&in);
	ok = has(t, "# TYPE tcpclose_state_duration_seconds histogram");
	ok &= has(t, "tcpclose_state_duration_seconds_bucket{state=\"CLOSE_WAIT\",le=\"0.067108864\"} 0");
	ok &= has(t, "tcpclose_state_duration_seconds_bucket{state=\"CLOSE_WAIT\",le=\"0.268435456\"} 5");
	ok &= has(t, "tcpclose_state_duration_seconds_bucket{state=\"CLOSE_WAIT\",le=\"1.073741824\"} 6");
	ok &= has(t, "tcpclose_state_duration_seconds_bucket{state=\"CLOSE_WAIT\",le=\"70368.744177664\"} 7");
	ok &= has(t, "tcpclose_state_duration_seconds_bucket{state=\"CLOSE_WAIT\",le=\"+Inf\"} 7");
	ok &= has(t, "tcpclose_state_duration_seconds_sum{state=\"CLOSE_WAIT\"} 601.050000007");
	ok &= has(t, "tcpclose_state_duration_seconds_count{state=\"CLOSE_WAIT\"} 7");
	ok &= has(t, "tcpclose_state_duration_seconds_bucket{state=\"FIN_WAIT2\",le=\"0.000001024\"} 2");
	tap_check(ok, "histogram: cumulative buckets in seconds, exact le, +Inf, sum and count");
	ok = cumulative(t) == FAKE_ROWS - 1 &&
	     occurs(t, "seconds_bucket{state=\"LAST_ACK\",") == 20 &&
	     !strstr(t, "seconds_bucket{state=\"UNKNOWN\"");
	tap_check(ok, "every state's buckets grow to +Inf = count, 20 per state; none for the unknown state");
	ok = has(t, "tcpclose_state_duration_seconds_bucket{state=\"TIME_WAIT\",reason=\"expired\",le=\"68.719476736\"} 400000000");
	ok &= has(t, "tcpclose_state_duration_seconds_sum{state=\"TIME_WAIT\",reason=\"expired\"} 24000000000.000000000");
	ok &= has(t, "tcpclose_state_duration_seconds_count{state=\"TIME_WAIT\",reason=\"reuse\"} 2");
	tap_check(ok, "TIME_WAIT per end reason; a sum past 2^64 ns exact");
	ok = has(t, "# TYPE tcpclose_state_duration_unknown_total counter");
	ok &= has(t, "tcpclose_state_duration_unknown_total{state=\"CLOSE_WAIT\"} 2");
	ok &= has(t, "tcpclose_state_duration_unknown_total{state=\"TIME_WAIT\",reason=\"rst\"} 1");
	ok &= has(t, "tcpclose_state_duration_unknown_total{state=\"UNKNOWN\"} 1");
	ok &= has(t, "tcpclose_state_duration_unknown_total{state=\"CLOSING\"} 0");
	tap_check(ok, "unknown durations counted apart, every row, the unknown state too");
	if (have_promtool())
		tap_check(promtool_ok(t, "the histograms"),
			  "promtool accepts the histograms");
	else
		tap_skip("promtool not installed");
	free(t);
}

static void labels_option(void)
{
	unsigned int l = 0;
	int ok = !prom_labels_parse("pid", &l) && l == PROM_LABEL_PID;

	ok &= !prom_labels_parse("port,pid", &l) &&
	      l == (PROM_LABEL_PID | PROM_LABEL_PORT);
	ok &= prom_labels_parse("pid,cookie", &l) == -1 &&
	      prom_labels_parse("", &l) == -1;
	tap_check(ok, "--labels accepts pid and port only");
}

/* The text promtool must reject: shows that its check can fail. */
static void promtool_rejects(void)
{
	static const char bad[] =
		"# HELP tcpclose_events_seen TCP state changes.\n"
		"# TYPE tcpclose_events_seen counter\n"
		"tcpclose_events_seen 1\n";

	if (!have_promtool()) {
		tap_skip("promtool not installed");
		return;
	}
	tap_info("promtool is expected to complain below");
	tap_check(!promtool_ok(bad, "a counter without _total"),
		  "promtool rejects a counter without _total");
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.' || strlen(e->d_name) > 2;
	if (d)
		closedir(d);
	return n - (d ? 0 : 1);
}

static void textfile(void)
{
	char dir[] = "/tmp/tcpclose-prom-XXXXXX", path[128], *want, buf[8192];
	struct prom_input in = { .diag_ok = 1, .socks = socks, .nsocks = 7 };
	struct stat st;
	size_t n = 0;
	FILE *f;
	int ok;

	if (!mkdtemp(dir))
		tap_bail("mkdtemp");
	snprintf(path, sizeof(path), "%s/tcpclose.prom", dir);
	f = fopen(path, "w");
	if (f) {
		fputs("stale\n", f);
		fclose(f);
	}
	want = render(&in);
	ok = !prom_textfile(dir, "tcpclose.prom", &in);
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	ok = ok && !strcmp(buf, want) && !stat(path, &st) &&
	     (st.st_mode & 0777) == 0644 && entries(dir) == 1;
	tap_check(ok, "textfile replaced whole, readable by node_exporter, no temporary left");
	ok = prom_textfile("/nonexistent-tcpclose", "tcpclose.prom", &in) == -1 &&
	     errno == ENOENT;
	tap_check(ok, "textfile into a missing directory fails with ENOENT");
	unlink(path);
	rmdir(dir);
	free(want);
}

int main(void)
{
	tap_plan(22);
	join();
	format();
	variants();
	histograms();
	labels_option();
	promtool_rejects();
	textfile();
	return tap_finish();
}
