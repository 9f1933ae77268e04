// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the tcpclose reader: parsing, formatting, decoding of a
 * fixed record stream against golden files, owner resolution on a fixture
 * /proc tree.
 * TCPCLOSE_UPDATE_GOLDEN=1 rewrites the golden files.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "decode.h"
#include "owner.h"
#include "fakeproc.h"
#include "golden.h"


static void parsing(void)
{
	uint64_t ns = 0;
	unsigned long long v = 0;
	int ok;

	tap_check(tc_state_parse("CLOSE_WAIT") == 8 &&
		  tc_state_parse("close-wait") == 8 &&
		  tc_state_parse("closewait") == 8 &&
		  tc_state_parse("8") == 8 && tc_state_parse("bogus") < 0 &&
		  tc_state_parse("99") < 0 && tc_state_parse("") < 0,
		  "state names parse loosely, bad ones are refused");
	tap_check(tc_state_mask_parse("CLOSE_WAIT,last_ack") ==
		  ((1U << 8) | (1U << 9)) &&
		  tc_state_mask_parse("CLOSE_WAIT,nope") == 0,
		  "state lists parse into masks");
	ok = !tc_parse_duration("90", &ns) && ns == 90000000000ULL;
	ok &= !tc_parse_duration("5m", &ns) && ns == 300000000000ULL;
	ok &= !tc_parse_duration("1.5s", &ns) && ns == 1500000000ULL;
	ok &= !tc_parse_duration("2h", &ns) && ns == 7200000000000ULL;
	ok &= !tc_parse_duration("10ms", &ns) && ns == 10000000ULL;
	ok &= tc_parse_duration("5x", &ns) && tc_parse_duration("-1", &ns) &&
	      tc_parse_duration("", &ns);
	ok &= tc_parse_duration("inf", &ns) && tc_parse_duration("nan", &ns) &&
	      tc_parse_duration("1e30h", &ns);
	tap_check(ok, "durations parse with units, bad ones are refused");
	ok = !tc_parse_uint("65535", 1, 65535, &v) && v == 65535;
	ok &= !tc_parse_uint("1", 1, 65535, &v) && v == 1;
	ok &= tc_parse_uint("65536", 1, 65535, &v) &&
	      tc_parse_uint("0", 1, 65535, &v) &&
	      tc_parse_uint("-1", 1, 65535, &v) &&
	      tc_parse_uint(" 5", 1, 65535, &v) &&
	      tc_parse_uint("5x", 1, 65535, &v) &&
	      tc_parse_uint("", 1, 65535, &v) &&
	      tc_parse_uint("99999999999999999999999", 1, ~0ULL, &v);
	tap_check(ok, "integers parse within their range, others are refused");
}

static int fmt_is(uint64_t ns, const char *want)
{
	char buf[32];

	tc_format_duration(buf, sizeof(buf), ns);
	if (strcmp(buf, want))
		tap_info("duration %llu: '%s', want '%s'",
			 (unsigned long long)ns, buf, want);
	return !strcmp(buf, want);
}

/* Did the hand-written formatter write what printf wrote into want? */
static int same(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want))
		tap_info("%s: '%s', printf: '%s'", what, got, want);
	return !strcmp(got, want);
}

static void printf_time(char *buf, size_t len, uint64_t real, int iso,
			int utc)
{
	time_t secs = real / 1000000000ULL;
	struct tm tm;
	char t[32], all[64];

	if (utc)
		gmtime_r(&secs, &tm);
	else
		localtime_r(&secs, &tm);
	strftime(t, sizeof(t), iso ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
	snprintf(all, sizeof(all), "%s.%06lu%s", t,
		 (unsigned long)(real % 1000000000ULL / 1000), utc ? "Z" : "");
	snprintf(buf, len, "%s", all);
}

/*
 * watch formats records without printf (it was most of its time); the
 * printf formats they replaced are the reference, edge values and short
 * buffers included, and the time's cached second must not go stale.
 */
static int like_printf(void)
{
	static const uint8_t v4[][4] = {
		{ 0, 0, 0, 0 }, { 255, 255, 255, 255 }, { 1, 20, 100, 7 },
	};
	static const uint16_t ports[] = { 0, 9, 80, 65535 };
	static const uint64_t ns[] = { 0, 999, 1000, 999999, 1000000,
				       999999999 };
	static const uint64_t times[] = {
		1700000000000000000ULL, 1700000000000005000ULL,
		1700000000999999999ULL, 1700000001123456789ULL,
		1700000000000000000ULL, 86399999999999ULL,
	};
	char got[64], want[64];
	uint8_t a[16] = { 0 }, v6[16];
	int ok = 1;

	inet_pton(AF_INET6, "2001:db8::1", v6);

	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
		for (size_t j = 0; j < sizeof(ports) / sizeof(ports[0]); j++) {
			memcpy(a, v4[i], 4);
			tc_format_endpoint(got, sizeof(got), AF_INET, a, ports[j]);
			snprintf(want, sizeof(want), "%u.%u.%u.%u:%u", a[0],
				 a[1], a[2], a[3], ports[j]);
			ok &= same("endpoint", got, want);
		}
	for (size_t len = 1; len < 30; len++) {
		tc_format_endpoint(got, len, AF_INET, a, 65535);
		snprintf(want, len, "1.20.100.7:65535");
		ok &= same("endpoint cut", got, want);
		tc_format_endpoint(got, len, AF_INET6, v6, 443);
		snprintf(want, len, "[2001:db8::1]:443");
		ok &= same("IPv6 endpoint cut", got, want);
		tc_format_duration(got, len, 999999);
		snprintf(want, len, "999us");
		ok &= same("duration cut", got, want);
		tc_format_duration(got, len, 250000000);
		snprintf(want, len, "250ms");
		ok &= same("duration cut", got, want);
		tc_format_wallclock(got, len, times[3], 1, 1);
		printf_time(want, len, times[3], 1, 1);
		ok &= same("time cut", got, want);
	}
	/* No room at all: nothing written. */
	strcpy(got, "untouched");
	tc_format_endpoint(got, 0, AF_INET, a, 80);
	tc_format_duration(got, 0, 5000);
	tc_format_wallclock(got, 0, times[0], 0, 0);
	ok &= same("len 0", got, "untouched");
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		tc_format_duration(got, sizeof(got), ns[i]);
		snprintf(want, sizeof(want), ns[i] < 1000000 ? "%luus" : "%lums",
			 (unsigned long)(ns[i] < 1000000 ? ns[i] / 1000
							 : ns[i] / 1000000));
		ok &= same("duration", got, want);
	}
	/* Local and UTC, each iso or not, alternating within one second. */
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		for (int k = 0; k < 4; k++) {
			tc_format_wallclock(got, sizeof(got), times[i], k & 1,
					    k >> 1);
			printf_time(want, sizeof(want), times[i], k & 1, k >> 1);
			ok &= same("time", got, want);
		}
	return ok;
}

static struct tcpclose_event sample(int i);

/* tc_print_event()'s line as its fprintf() wrote it (no note: no flags). */
static void printf_event(FILE *f, const struct tcpclose_event *ev,
			 const struct tc_event_cols *c)
{
	char when[40], local[64], remote[64], trans[40], was[24];

	tc_format_wallclock(when, sizeof(when), ev->ts_ns, 0, 1);
	tc_format_endpoint(local, sizeof(local), ev->family, ev->saddr,
			   ev->sport);
	tc_format_endpoint(remote, sizeof(remote), ev->family, ev->daddr,
			   ev->dport);
	snprintf(trans, sizeof(trans), "%s>%s", tc_state_name(ev->oldstate),
		 tc_state_name(ev->newstate));
	if (ev->flags & TCPCLOSE_F_DUR_KNOWN)
		tc_format_duration(was, sizeof(was), ev->prev_state_ns);
	else
		snprintf(was, sizeof(was), "-");
	fprintf(f, "%-16s %-10u %-*s %-*s %-24s %9s %7u %7u \n", when,
		ev->netns, c->local, local, c->remote, remote, trans, was,
		ev->rx_queue, tc_unacked(ev));
}

/* tc_print_event_json()'s line as its fprintf() calls wrote it. */
static void printf_json(FILE *f, const struct tcpclose_event *ev)
{
	char when[40], a[64];

	tc_format_wallclock(when, sizeof(when), ev->ts_ns, 1, 1);
	fprintf(f, "{\"schema\":%d,\"type\":\"transition\",\"time\":\"%s\",\"ts_ns\":%llu,\"cookie\":%llu,",
		TC_JSON_SCHEMA, when, (unsigned long long)ev->ts_ns,
		(unsigned long long)ev->cookie);
	fprintf(f, "\"netns\":%u,\"netns_cookie\":%llu,\"family\":\"%s\",",
		ev->netns, (unsigned long long)ev->netns_cookie,
		ev->family == AF_INET ? "inet" : "inet6");
	tc_format_endpoint(a, sizeof(a), ev->family, ev->saddr, ev->sport);
	fprintf(f, "\"local\":\"%s\"", a);
	tc_format_endpoint(a, sizeof(a), ev->family, ev->daddr, ev->dport);
	fprintf(f, ",\"remote\":\"%s\"", a);
	fprintf(f, ",\"old\":\"%s\",\"new\":\"%s\",",
		tc_state_name(ev->oldstate), tc_state_name(ev->newstate));
	if (ev->flags & TCPCLOSE_F_DUR_KNOWN)
		fprintf(f, "\"old_state_ns\":%llu",
			(unsigned long long)ev->prev_state_ns);
	else
		fprintf(f, "\"old_state_ns\":null");
	fprintf(f, ",\"timewait\":%s,\"handoff\":%s,\"finack\":%s,\"late\":%s",
		ev->flags & TCPCLOSE_F_TIMEWAIT ? "true" : "false",
		ev->flags & TCPCLOSE_F_HANDOFF ? "true" : "false",
		ev->flags & TCPCLOSE_F_FINACK ? "true" : "false",
		ev->flags & TCPCLOSE_F_LATE ? "true" : "false");
	if (ev->reason)
		fprintf(f, ",\"reason\":\"%s\"", tc_reason_name(ev->reason));
	else
		fprintf(f, ",\"reason\":null");
	fprintf(f, ",\"unread\":%u,\"unacked\":%u,\"inode\":%llu,\"cpu\":%u",
		ev->rx_queue, tc_unacked(ev), (unsigned long long)ev->ino,
		ev->cpu);
	if (!(ev->flags & TCPCLOSE_F_PROCESS)) {
		fputs(",\"context\":null", f);
	} else {
		if (ev->pid)
			fprintf(f, ",\"context\":{\"pid\":%u,\"tid\":%u,\"comm\":",
				ev->pid, ev->tid);
		else
			fputs(",\"context\":{\"pid\":null,\"tid\":null,\"comm\":", f);
		tc_json_strn(f, ev->comm, sizeof(ev->comm));
		fputc('}', f);
	}
	fputs(",\"owners\":null}\n", f);
}

/*
 * Whole lines, text and JSON, against the fprintf() calls they replaced:
 * short and long numbers (netns 1 pads to 10, u32 and u64 maxima),
 * IPv6, grown columns, every flag, a reason, a context with and without
 * a pid.
 */
static int lines_like_printf(void)
{
	static const struct tc_event_cols cols[] = {
		TC_EVENT_COLS_INIT, { 31, 47 }, { 63, 63 },
	};
	char *got = NULL, *want = NULL;
	size_t got_len, want_len;
	FILE *g = open_memstream(&got, &got_len);
	FILE *w = open_memstream(&want, &want_len);
	int ok;

	for (int i = 0; i < 12; i++) {
		struct tcpclose_event ev = sample(i);

		ev.netns = i % 3 == 0 ? 1 : i % 3 == 1 ? 4026531840U : ~0U;
		ev.rx_queue = i & 1 ? ~0U : (uint32_t)i;
		ev.tx_queue = i & 2 ? ~0U : 0;
		ev.oldstate = 1 + i % 11;
		ev.newstate = 1 + (i + 3) % 11;
		ev.cookie = i & 4 ? ~0ULL : (uint64_t)i;
		ev.ino = i & 8 ? ~0ULL : 0;
		ev.netns_cookie = ~0ULL - i;
		ev.cpu = i;
		ev.ts_ns = 1700000000000000000ULL + i * 123456789ULL;
		ev.prev_state_ns = i * 98765432100ULL;
		ev.reason = i % 4 ? i % 4 : 0;
		ev.pid = i & 2 ? 0 : 4000 + i;
		ev.tid = ev.pid + 1;
		memcpy(ev.comm, "svc\tname", 9);
		if (i & 1) {
			ev.family = AF_INET6;
			inet_pton(AF_INET6, "2001:db8:ffff:ffff:ffff:ffff:ffff:1",
				  ev.saddr);
			inet_pton(AF_INET6, "::1", ev.daddr);
		}
		/* The text line has no note without flags. */
		tc_print_event(g, &ev, NULL, 0, 1, &cols[i % 3]);
		printf_event(w, &ev, &cols[i % 3]);
		ev.flags = i << 8 & (TCPCLOSE_F_DUR_KNOWN | TCPCLOSE_F_TIMEWAIT |
				     TCPCLOSE_F_HANDOFF | TCPCLOSE_F_FINACK |
				     TCPCLOSE_F_LATE | TCPCLOSE_F_PROCESS);
		ev.flags |= i & 1 ? TCPCLOSE_F_PROCESS : 0;
		ev.flags |= i & 2 ? TCPCLOSE_F_DUR_KNOWN : 0;
		tc_print_event_json(g, &ev, NULL, 0);
		printf_json(w, &ev);
	}
	fclose(g);
	fclose(w);
	ok = same("lines", got, want);
	free(got);
	free(want);
	return ok;
}

static void formatting(void)
{
	uint8_t a[16] = { 0 };
	struct tc_addr_filter f;
	char buf[64];
	int ok;

	ok = fmt_is(850000, "850us") & fmt_is(12000000, "12ms") &
	     fmt_is(59980000000ULL, "59.98s") & fmt_is(185000000000ULL, "3m05s") &
	     fmt_is(11520000000000ULL, "3h12m") &
	     fmt_is(187200000000000ULL, "2d04h");
	tap_check(ok, "durations are formatted for people");
	inet_pton(AF_INET, "10.1.2.3", a);
	tc_format_endpoint(buf, sizeof(buf), AF_INET, a, 80);
	ok = !strcmp(buf, "10.1.2.3:80");
	inet_pton(AF_INET6, "::ffff:10.1.2.3", a);
	tc_format_endpoint(buf, sizeof(buf), AF_INET6, a, 443);
	ok &= !strcmp(buf, "[::ffff:10.1.2.3]:443");
	tap_check(ok, "endpoints: IPv4 and bracketed IPv6");
	tap_check(like_printf(), "endpoints, durations and times as printf would write them, cut alike");
	tap_check(lines_like_printf(), "whole text and JSON lines as the fprintf() calls they replaced wrote them");
	ok = !tc_addr_filter_parse(&f, "10.1.2.3") &&
	     tc_addr_match(&f, AF_INET6, a, a) &&
	     tc_addr_filter_parse(&f, "10.1.2") < 0;
	tap_check(ok, "an IPv4 address filter matches v4-mapped sockets");
}

static struct tcpclose_event sample(int i)
{
	struct tcpclose_event ev = {
		.size = sizeof(ev), .version = TCPCLOSE_ABI_VERSION,
		.family = AF_INET, .cpu = 1, .netns = 4026531840U,
		.ts_ns = 1000000000ULL * (100 + i), .cookie = 4242,
		.sport = 40000, .dport = 80,
	};

	inet_pton(AF_INET, "127.0.0.1", ev.saddr);
	inet_pton(AF_INET, "127.0.0.2", ev.daddr);
	return ev;
}

/* The active close as the module records it, a kill and a late CLOSE. */
static int stream(struct tcpclose_event *ev)
{
	static const uint8_t t[][5] = {	/* old, new, substate, reason, tw */
		{ 1, 4, 0, 0, 0 }, { 4, 5, 0, 0, 0 }, { 5, 5, 5, 0, 3 },
		{ 5, 6, 6, 0, 1 }, { 6, 7, 6, 1, 1 }, { 1, 8, 0, 0, 0 },
		{ 8, 7, 0, 5, 0 }, { 9, 7, 0, 0, 4 },
	};
	int n = sizeof(t) / sizeof(t[0]);

	for (int i = 0; i < n; i++) {
		ev[i] = sample(i);
		ev[i].oldstate = t[i][0];
		ev[i].newstate = t[i][1];
		ev[i].tw_substate = t[i][2];
		ev[i].reason = t[i][3];
		ev[i].flags = (t[i][4] & 1 ? TCPCLOSE_F_TIMEWAIT : 0) |
			      (t[i][4] & 2 ? TCPCLOSE_F_HANDOFF : 0) |
			      (t[i][4] & 4 ? TCPCLOSE_F_LATE : 0);
		if (i && !(t[i][4] & 4)) {
			ev[i].flags |= TCPCLOSE_F_DUR_KNOWN;
			ev[i].prev_state_ns = 1000000ULL * i * i * i * 100;
		}
	}
	ev[0].flags |= TCPCLOSE_F_PROCESS;
	ev[0].pid = ev[0].tid = 321;
	strcpy(ev[0].comm, "curl \"x\"");
	ev[5].rx_queue = 100;
	ev[5].ino = 777;
	return n;
}

static void decoding(void)
{
	struct tcpclose_event ev[8];
	struct tc_owner owner = { .ino = 777, .pid = 55, .fd = 7,
				  .comm = "server" };
	struct tc_holders h = { &owner, 1 };
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int n = stream(ev);

	f = open_memstream(&text, &len);
	tc_print_event_header(f, NULL);
	for (int i = 0; i < n; i++)
		tc_print_event(f, &ev[i], i == 5 ? &h : NULL, 0, 1, NULL);
	fclose(f);
	tap_check(golden("events.txt", text), "human output matches golden");
	free(text);
	f = open_memstream(&text, &len);
	for (int i = 0; i < n; i++)
		tc_print_event_json(f, &ev[i], i == 5 ? &h : NULL, 0);
	fclose(f);
	tap_check(golden("events.jsonl", text), "JSON output matches golden");
	free(text);
}

/* What watch --json and stuck --json say of the holders found above. */
static void holders_json(const struct tc_holders *h)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int ok;

	tc_print_holders_json(f, h);
	fclose(f);
	ok = !strcmp(text, "[{\"pid\":99,\"fd\":8,\"comm\":\"?\",\"service\":null,\"service_kind\":\"unknown\",\"cgroup\":null},"
		     "{\"pid\":123,\"fd\":3,\"comm\":\"leaky\",\"service\":\"leaky.service\",\"service_kind\":\"unit\",\"cgroup\":\"/system.slice/leaky.service\"}]");
	if (!ok)
		tap_info("got %s", text);
	tap_check(ok, "JSON owners carry service, its kind and the cgroup path; null when unknown");
	free(text);
}

/* Where "what" starts in the line at line, or -1. */
static long col_in_line(const char *line, const char *what)
{
	const char *end = strchr(line, '\n'), *p = strstr(line, what);

	return p && (!end || p < end) ? p - line : -1;
}

/*
 * As watch prints: IPv4, a long IPv6 endpoint, IPv4 again, a longer one.
 * Every line's TRANSITION starts where its header's does: the columns
 * grow for a wider endpoint and stay grown, under a header printed again;
 * in steps of 8, so the longest IPv6 endpoint needs no third header.
 */
static void ipv6_columns(void)
{
	static const char *const remote[] = {
		NULL, "2001:db8::1", NULL, "2001:db8:1234:5678:9abc:def0:1234:5678",
		NULL, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	struct tc_event_cols c = TC_EVENT_COLS_INIT;
	const char *line, *header = NULL;
	char *text = NULL;
	size_t len = 0;
	int headers = 0, ok = 1;
	FILE *f = open_memstream(&text, &len);

	tc_print_event_header(f, &c);
	for (int i = 0; i < 6; i++) {
		struct tcpclose_event ev = sample(i);

		ev.oldstate = TCPCLOSE_ESTABLISHED;
		ev.newstate = TCPCLOSE_CLOSE_WAIT;
		if (remote[i]) {
			ev.family = AF_INET6;
			inet_pton(AF_INET6, "2001:db8::abcd", ev.saddr);
			inet_pton(AF_INET6, remote[i], ev.daddr);
		}
		if (tc_event_cols_fit(&c, &ev))
			tc_print_event_header(f, &c);
		tc_print_event(f, &ev, NULL, 0, 1, &c);
	}
	fclose(f);
	for (line = text; *line; line = strchr(line, '\n') + 1) {
		if (!strncmp(line, "TIME ", 5)) {
			header = line;
			headers++;
		} else {
			ok &= col_in_line(line, "ESTABLISHED>") ==
			      col_in_line(header, "TRANSITION");
		}
	}
	if (!ok || headers != 2)
		tap_info("%d headers:\n%s", headers, text);
	tap_check(ok && headers == 2 && strstr(text, "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:80 "),
		  "watch: IPv6 endpoints widen their columns, under a new header, never cut; later IPv4 lines stay aligned");
	free(text);
}

static void owners(void)
{
	char root[] = "/tmp/tcpclose-procXXXXXX", p[256];
	struct tc_holders h;
	struct owner_map m;
	int ok;

	mkdtemp(root);
	proc_fd(root, 123, 3, "socket:[555]");
	proc_fd(root, 123, 4, "pipe:[9]");
	proc_comm(root, 123, "leaky");
	proc_cgroup(root, 123, "/system.slice/leaky.service");
	proc_fd(root, 99, 8, "socket:[555]");
	snprintf(p, sizeof(p), "%s/7", root);	/* vanished: no fd dir */
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/self", root);
	mkdir(p, 0755);

	owner_init(&m, root);
	ok = owner_scan(&m) == 0;
	owner_find(&m, 555, &h);
	ok &= h.n == 2 && h.o[0].pid == 99 && h.o[0].fd == 8 &&
	      !strcmp(h.o[0].comm, "?") && h.o[1].pid == 123 &&
	      h.o[1].fd == 3 && !strcmp(h.o[1].comm, "leaky");
	owner_find(&m, 9, &h);
	ok &= !h.n;
	owner_find(&m, 556, &h);
	ok &= !h.n;
	tap_check(ok, "fixture /proc: a shared socket inode to every holder, lowest pid first; pipes, vanished pids ignored");
	owner_find(&m, 555, &h);
	ok = h.n == 2 && h.o[1].svc && h.o[1].svc->kind == SVC_UNIT &&
	     !strcmp(h.o[1].svc->name, "leaky.service") &&
	     !strcmp(h.o[1].svc->path, "/system.slice/leaky.service") &&
	     h.o[0].svc && h.o[0].svc->kind == SVC_UNKNOWN;
	tap_check(ok, "the scan names each holder's service; no cgroup file: unknown");
	holders_json(&h);
	snprintf(p, sizeof(p), "rm -rf %s/99", root);
	system(p);
	owner_scan(&m);
	owner_find(&m, 555, &h);
	tap_check(h.n == 1 && h.o[0].pid == 123 && h.o[0].fd == 3,
		  "after a process exits its socket is held by the other");
	owner_free(&m);
	snprintf(p, sizeof(p), "rm -rf %s", root);
	system(p);
}

int main(void)
{
	tap_plan(16);
	parsing();
	formatting();
	decoding();
	ipv6_columns();
	owners();
	return tap_finish();
}
