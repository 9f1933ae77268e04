// SPDX-License-Identifier: GPL-2.0
/* tcpclose stats: what the module saw, delivered and dropped. */
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "decode.h"
#include "device.h"
#include "hist.h"
#include "stats.h"

static const char stats_help[] =
"Usage: tcpclose stats [OPTIONS]\n"
"Counters of the tcpclose module: events seen and missed, readers, the\n"
"live table's fill and overflow (full and timewait sockets), per CPU;\n"
"ABI version, hooks and recorded states.\n"
"\n"
"  -H, --histogram       the time sockets spent in each close state instead:\n"
"                        log2 histograms, per state (TIME_WAIT per end\n"
"                        reason), since the module was loaded\n"
"      --netns-cookie N  with --histogram, in the initial network namespace:\n"
"                        only the namespace of cookie N (default: all)\n"
"  -j, --json            one JSON document (see tcpclose(8))\n"
"  -h, --help            this help\n"
"\n"
"Recorded, delivered, filtered and dropped records are counted per reader\n"
"(each open file has its own stream); this command's own stream never\n"
"starts, so it shows none.  'tcpclose watch' reports its drops itself.\n"
"In a network namespace other than the initial one, host-wide counters\n"
"(seen, missed, expired) read 0, and histograms are that namespace's.\n";

static void mask_names(char *buf, size_t len, uint32_t mask)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int s = 1; s < TCPCLOSE_MAX_STATES && off < len; s++)
		if (mask & TCPCLOSE_STATE_BIT(s))
			off += snprintf(buf + off, len - off, "%s%s",
					off ? "," : "", tc_state_name(s));
}

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

static void human_stream(FILE *f, const struct tcpclose_stats *st)
{
	if (!st->streaming) {
		fprintf(f, "this stream      not started (counted per reader)\n");
		return;
	}
	fprintf(f, "recorded         %llu\n", ull(st->recorded));
	fprintf(f, "delivered        %llu\n", ull(st->delivered));
	fprintf(f, "filtered         %llu\n", ull(st->filtered));
	fprintf(f, "dropped          %llu\n", ull(st->dropped));
}

static void human_cpus(FILE *f, const struct tcpclose_stats *st,
		       const struct tcpclose_cpu_stats *cpu)
{
	if (!st->streaming) {
		fprintf(f, "per CPU          %-4s %12s\n", "cpu", "seen");
		for (uint32_t i = 0; i < st->nr_cpus; i++)
			fprintf(f, "                 %-4u %12llu\n", i,
				ull(cpu[i].seen));
		return;
	}
	fprintf(f, "per CPU          %-4s %12s %12s %12s\n", "cpu", "seen",
		"recorded", "dropped");
	for (uint32_t i = 0; i < st->nr_cpus; i++)
		fprintf(f, "                 %-4u %12llu %12llu %12llu\n", i,
			ull(cpu[i].seen), ull(cpu[i].recorded),
			ull(cpu[i].dropped));
}

/*
 * The FIN+ACK merge's kretprobe is armed only while a stream exists
 * (TCPCLOSE_HOOK_FINACK): say so when it is not, and where to look when a
 * stream exists and it still is not.  Whether a stream exists is the
 * module's word (TCPCLOSE_HOOK_FINACK_WANTED), read with the other bit in
 * one step, not this file's readers count: that one counts only this
 * namespace, and a separate look races with streams starting and ending.
 */
static const char *finack_note(const struct tcpclose_stats *st)
{
	if (st->hooks & TCPCLOSE_HOOK_FINACK)
		return " fin+ack";
	if (!(st->hooks & TCPCLOSE_HOOK_TIMEWAIT))
		return "";
	if (!(st->hooks & TCPCLOSE_HOOK_FINACK_WANTED))
		return " (fin+ack merge: armed while a stream reads)";
	return " (fin+ack merge: not armed; a failure is in the kernel log)";
}

void stats_print_human(FILE *f, const struct tcpclose_stats *st,
		       const struct tcpclose_cpu_stats *cpu, uint64_t uptime)
{
	char up[32], states[256];

	tc_format_duration(up, sizeof(up), uptime);
	mask_names(states, sizeof(states), st->state_mask);
	fprintf(f, "abi version      %u\n", st->version);
	if (st->scope == TCPCLOSE_SCOPE_NETNS)
		fprintf(f, "scope            this network namespace (cookie %llu); host-wide counters read 0\n",
			ull(st->netns_cookie));
	else
		fprintf(f, "scope            host (netns cookie %llu)\n",
			ull(st->netns_cookie));
	fprintf(f, "loaded           %s ago\n", up);
	fprintf(f, "hooks           %s%s%s%s\n",
		st->hooks & TCPCLOSE_HOOK_TRACEPOINT ? " tracepoint" : "",
		st->hooks & TCPCLOSE_HOOK_KPROBE ? " kprobe(tcp_set_state)" : "",
		st->hooks & TCPCLOSE_HOOK_TIMEWAIT ? " timewait" : "",
		finack_note(st));
	fprintf(f, "recorded states  %s\n", states);
	fprintf(f, "ring size        %u records per CPU\n", st->ring_size);
	fprintf(f, "readers          %u open, at most %u (max_readers)\n",
		st->readers, st->max_readers);
	fprintf(f, "events seen      %llu\n", ull(st->seen));
	fprintf(f, "missed           %llu probe hits the kernel skipped\n",
		ull(st->missed));
	human_stream(f, st);
	fprintf(f, "live table       %llu of %llu full sockets, %llu not tracked (full)\n",
		ull(st->table_entries), ull(st->table_capacity),
		ull(st->table_overflow));
	fprintf(f, "                 %llu of %llu timewait sockets, %llu not tracked (full)\n",
		ull(st->tw_entries), ull(st->tw_capacity),
		ull(st->tw_overflow));
	fprintf(f, "expired          %llu entries whose end was unseen\n",
		ull(st->expired));
	human_cpus(f, st, cpu);
}

static void json_stream(FILE *f, const struct tcpclose_stats *st,
			const struct tcpclose_cpu_stats *cpu)
{
	fprintf(f, ",\"stream\":");
	if (!st->streaming)
		fprintf(f, "null");
	else
		fprintf(f, "{\"recorded\":%llu,\"delivered\":%llu,\"filtered\":%llu,\"dropped\":%llu}",
			ull(st->recorded), ull(st->delivered),
			ull(st->filtered), ull(st->dropped));
	fprintf(f, ",\"cpus\":[");
	for (uint32_t i = 0; i < st->nr_cpus; i++) {
		fprintf(f, "%s{\"cpu\":%u,\"seen\":%llu", i ? "," : "", i,
			ull(cpu[i].seen));
		if (st->streaming)
			fprintf(f, ",\"recorded\":%llu,\"dropped\":%llu",
				ull(cpu[i].recorded), ull(cpu[i].dropped));
		fputc('}', f);
	}
	fputc(']', f);
}

void stats_print_json(FILE *f, const struct tcpclose_stats *st,
		      const struct tcpclose_cpu_stats *cpu, uint64_t uptime)
{
	char states[256];

	mask_names(states, sizeof(states), st->state_mask);
	fprintf(f, "{\"schema\":%d,\"abi_version\":%u,\"scope\":\"%s\",\"netns_cookie\":%llu,\"uptime_ns\":%llu,",
		TC_JSON_SCHEMA, st->version,
		st->scope == TCPCLOSE_SCOPE_NETNS ? "netns" : "host",
		ull(st->netns_cookie), ull(uptime));
	fprintf(f, "\"hooks\":{\"tracepoint\":%s,\"kprobe\":%s,\"timewait\":%s,\"finack\":%s,\"finack_wanted\":%s},",
		st->hooks & TCPCLOSE_HOOK_TRACEPOINT ? "true" : "false",
		st->hooks & TCPCLOSE_HOOK_KPROBE ? "true" : "false",
		st->hooks & TCPCLOSE_HOOK_TIMEWAIT ? "true" : "false",
		st->hooks & TCPCLOSE_HOOK_FINACK ? "true" : "false",
		st->hooks & TCPCLOSE_HOOK_FINACK_WANTED ? "true" : "false");
	fprintf(f, "\"states\":\"%s\",\"ring_size\":%u,\"readers\":%u,\"max_readers\":%u,\"seen\":%llu,\"missed\":%llu,\"expired\":%llu,",
		states, st->ring_size, st->readers, st->max_readers,
		ull(st->seen), ull(st->missed), ull(st->expired));
	fprintf(f, "\"table\":{\"entries\":%llu,\"capacity\":%llu,\"overflow\":%llu,\"tw_entries\":%llu,\"tw_capacity\":%llu,\"tw_overflow\":%llu}",
		ull(st->table_entries), ull(st->table_capacity),
		ull(st->table_overflow), ull(st->tw_entries),
		ull(st->tw_capacity), ull(st->tw_overflow));
	json_stream(f, st, cpu);
	fprintf(f, "}\n");
}

/* tcpclose stats --histogram */
static int histograms(int fd, uint64_t netns_cookie, int json)
{
	struct tcpclose_hist_row *rows;
	struct tcpclose_hist h;
	uint64_t counting;
	int n = dev_hist(fd, netns_cookie, &h, &rows);

	close(fd);
	if (n < 0)
		return EXIT_ERROR;
	counting = mono_now_ns() - h.since_ns;
	if (json)
		hist_print_json(stdout, &h, rows, n, counting);
	else
		hist_print_human(stdout, &h, rows, n, counting);
	free(rows);
	return EXIT_OK;
}

struct stats_opts {
	int json, histogram, help;
	unsigned long long netns_cookie;
};

static int parse(int argc, char **argv, struct stats_opts *o)
{
	enum { OPT_NETNS_COOKIE = 256 };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "histogram", no_argument, NULL, 'H' },
		{ "netns-cookie", required_argument, NULL, OPT_NETNS_COOKIE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "jHh", opts, NULL)) != -1) {
		if (c == 'j') {
			o->json = 1;
		} else if (c == 'H') {
			o->histogram = 1;
		} else if (c == OPT_NETNS_COOKIE) {
			if (tc_parse_uint(optarg, 1, UINT64_MAX, &o->netns_cookie))
				return usage_error("stats", "bad namespace cookie '%s'", optarg);
		} else if (c == 'h') {
			o->help = 1;
			return 0;
		} else {
			return usage_error("stats", "see 'tcpclose stats --help'");
		}
	}
	if (optind < argc)
		return usage_error("stats", "unexpected argument '%s'", argv[optind]);
	if (o->netns_cookie && !o->histogram)
		return usage_error("stats", "--netns-cookie goes with --histogram");
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	struct tcpclose_cpu_stats *cpu = NULL;
	struct stats_opts o = { 0 };
	struct tcpclose_stats st;
	int fd, rc;

	rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	if (o.help) {
		fputs(stats_help, stdout);
		return EXIT_OK;
	}
	fd = dev_open(O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return EXIT_ERROR;
	if (o.histogram)
		return histograms(fd, o.netns_cookie, o.json);
	if (dev_stats(fd, &st, &cpu)) {
		close(fd);
		return EXIT_ERROR;
	}
	close(fd);
	if (o.json)
		stats_print_json(stdout, &st, cpu, mono_now_ns() - st.load_ns);
	else
		stats_print_human(stdout, &st, cpu, mono_now_ns() - st.load_ns);
	free(cpu);
	return EXIT_OK;
}
