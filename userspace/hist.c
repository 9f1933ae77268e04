// SPDX-License-Identifier: GPL-2.0
/* The state-duration histograms, drawn for people and for programs. */
#include <string.h>
#include "decode.h"
#include "hist.h"

#define NS_PER_SEC	1000000000ULL
#define BAR_WIDTH	40

uint64_t hist_le_ns(unsigned int i)
{
	if (i >= TCPCLOSE_HIST_BUCKETS - 1)
		return 0;
	return 1ULL << (TCPCLOSE_HIST_SHIFT + i);
}

unsigned __int128 hist_sum_ns(const struct tcpclose_hist_row *r)
{
	return (unsigned __int128)r->sum_ns_hi << 64 | r->sum_ns;
}

void hist_format_u128(char *buf, size_t len, unsigned __int128 v)
{
	char digits[40];
	size_t n = 0, i = 0;

	do {
		digits[n++] = '0' + (int)(v % 10);
		v /= 10;
	} while (v);
	while (n && i + 1 < len)
		buf[i++] = digits[--n];
	if (len)
		buf[i] = '\0';
}

void hist_format_seconds(char *buf, size_t len, unsigned __int128 ns)
{
	char s[40];

	hist_format_u128(s, sizeof(s), ns / NS_PER_SEC);
	snprintf(buf, len, "%s.%09llu", s,
		 (unsigned long long)(ns % NS_PER_SEC));
}

/* v in a unit, with three significant digits. */
static void sig3(char *buf, size_t len, double v, const char *unit)
{
	snprintf(buf, len, v < 10 ? "%.2f%s" : v < 100 ? "%.1f%s" : "%.0f%s",
		 v, unit);
}

void hist_format_bound(char *buf, size_t len, uint64_t ns)
{
	double s = ns / 1e9;

	if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		sig3(buf, len, ns / 1e3, "us");
	else if (ns < NS_PER_SEC)
		sig3(buf, len, ns / 1e6, "ms");
	else if (s < 100)
		sig3(buf, len, s, "s");
	else if (s < 6000)
		sig3(buf, len, s / 60, "m");
	else if (s < 360000)
		sig3(buf, len, s / 3600, "h");
	else
		sig3(buf, len, s / 86400, "d");
}

void hist_row_name(char *buf, size_t len, const struct tcpclose_hist_row *r)
{
	if (!r->state)
		snprintf(buf, len, "unknown state");
	else if (r->state == TCPCLOSE_TIME_WAIT)
		snprintf(buf, len, "TIME_WAIT (%s)", tc_reason_name(r->reason));
	else
		snprintf(buf, len, "%s", tc_state_name(r->state));
}

/* A duration that may not fit 64 bits: beyond, whole days. */
static void format_total(char *buf, size_t len, unsigned __int128 ns)
{
	char d[40];

	if (ns <= UINT64_MAX) {
		tc_format_duration(buf, len, (uint64_t)ns);
		return;
	}
	hist_format_u128(d, sizeof(d), ns / (86400 * NS_PER_SEC));
	snprintf(buf, len, "%sd", d);
}

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

static void human_summary(FILE *f, const struct tcpclose_hist_row *r)
{
	char name[64], mean[48], sum[48];

	hist_row_name(name, sizeof(name), r);
	if (!r->count && !r->unknown) {
		fprintf(f, "%s: none\n", name);
		return;
	}
	fprintf(f, "%s: ", name);
	if (r->count) {
		format_total(sum, sizeof(sum), hist_sum_ns(r));
		format_total(mean, sizeof(mean), hist_sum_ns(r) / r->count);
		fprintf(f, "%llu left the state, mean %s, sum %s",
			ull(r->count), mean, sum);
	}
	if (r->unknown)
		fprintf(f, r->count ? "; %llu more, time unknown (not drawn)" :
			"%llu left the state, time unknown (not drawn)",
			ull(r->unknown));
	fputc('\n', f);
}

/* From the first bucket that counted to the last, as bcc draws them. */
static void human_buckets(FILE *f, const struct tcpclose_hist_row *r)
{
	int first = -1, last = -1;
	uint64_t max = 0;
	char lo[16], hi[16], bar[BAR_WIDTH + 1];

	for (int i = 0; i < TCPCLOSE_HIST_BUCKETS; i++) {
		if (!r->buckets[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (r->buckets[i] > max)
			max = r->buckets[i];
	}
	if (first < 0)
		return;
	fprintf(f, "%20s : %-8s %s\n", "duration", "count", "distribution");
	for (int i = first; i <= last; i++) {
		int stars = (int)((unsigned __int128)r->buckets[i] * BAR_WIDTH / max);

		if (i)
			hist_format_bound(lo, sizeof(lo), hist_le_ns(i - 1));
		else
			snprintf(lo, sizeof(lo), "0");
		if (hist_le_ns(i))
			hist_format_bound(hi, sizeof(hi), hist_le_ns(i));
		else
			snprintf(hi, sizeof(hi), "inf");
		memset(bar, '*', stars);
		bar[stars] = '\0';
		fprintf(f, "%8s -> %-8s : %-8llu |%-*s|\n", lo, hi,
			ull(r->buckets[i]), BAR_WIDTH, bar);
	}
}

void hist_print_human(FILE *f, const struct tcpclose_hist *h,
		      const struct tcpclose_hist_row *rows, uint32_t n,
		      uint64_t counting_ns)
{
	char since[32];

	tc_format_duration(since, sizeof(since), counting_ns);
	if (h->scope == TCPCLOSE_SCOPE_NETNS)
		fprintf(f, "Time spent in each close state, network namespace %llu (cookie), counted for %s:\n",
			ull(h->netns_cookie), since);
	else
		fprintf(f, "Time spent in each close state, all network namespaces, counted for %s:\n",
			since);
	for (uint32_t i = 0; i < n; i++) {
		/* The row of the unknown state is worth a line only if used. */
		if (!rows[i].state && !rows[i].unknown)
			continue;
		fputc('\n', f);
		human_summary(f, &rows[i]);
		human_buckets(f, &rows[i]);
	}
}

static void json_row(FILE *f, const struct tcpclose_hist_row *r)
{
	char sum[40];

	hist_format_u128(sum, sizeof(sum), hist_sum_ns(r));
	fprintf(f, "{\"state\":\"%s\",\"reason\":", tc_state_name(r->state));
	if (r->state == TCPCLOSE_TIME_WAIT)
		fprintf(f, "\"%s\"", tc_reason_name(r->reason));
	else
		fputs("null", f);
	fprintf(f, ",\"count\":%llu,\"sum_ns\":%s,\"unknown\":%llu,\"buckets\":[",
		ull(r->count), sum, ull(r->unknown));
	for (int i = 0; i < TCPCLOSE_HIST_BUCKETS; i++)
		fprintf(f, "%s%llu", i ? "," : "", ull(r->buckets[i]));
	fputs("]}", f);
}

void hist_print_json(FILE *f, const struct tcpclose_hist *h,
		     const struct tcpclose_hist_row *rows, uint32_t n,
		     uint64_t counting_ns)
{
	fprintf(f, "{\"schema\":%d,\"abi_version\":%u,\"scope\":\"%s\",\"netns_cookie\":",
		TC_JSON_SCHEMA, h->version,
		h->scope == TCPCLOSE_SCOPE_NETNS ? "netns" : "host");
	if (h->scope == TCPCLOSE_SCOPE_NETNS)
		fprintf(f, "%llu", ull(h->netns_cookie));
	else
		fputs("null", f);
	fprintf(f, ",\"counting_ns\":%llu,\"bucket_le_ns\":[", ull(counting_ns));
	for (int i = 0; i < TCPCLOSE_HIST_BUCKETS; i++) {
		if (hist_le_ns(i))
			fprintf(f, "%s%llu", i ? "," : "", ull(hist_le_ns(i)));
		else
			fprintf(f, "%snull", i ? "," : "");
	}
	fputs("],\"histograms\":[", f);
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		json_row(f, &rows[i]);
	}
	fputs("]}\n", f);
}
