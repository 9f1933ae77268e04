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

static const char stats_help[] =
"Usage: tcpclose stats [--json]\n"
"Counters of the tcpclose module: events seen, recorded, delivered and\n"
"dropped, per CPU; live table fill and overflow; ABI version and hooks.\n";

static void mask_names(char *buf, size_t len, uint32_t mask)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int s = 1; s < TCPCLOSE_MAX_STATES && off < len; s++)
		if (mask & TCPCLOSE_STATE_BIT(s))
			off += snprintf(buf + off, len - off, "%s%s",
					off ? "," : "", tc_state_name(s));
}

static void print_human(const struct tcpclose_stats *st,
			const struct tcpclose_cpu_stats *cpu, uint64_t uptime)
{
	char up[32], states[256];

	tc_format_duration(up, sizeof(up), uptime);
	mask_names(states, sizeof(states), st->state_mask);
	printf("abi version      %u\n", st->version);
	printf("loaded           %s ago\n", up);
	printf("hooks           %s%s%s\n",
	       st->hooks & TCPCLOSE_HOOK_TRACEPOINT ? " tracepoint" : "",
	       st->hooks & TCPCLOSE_HOOK_KPROBE ? " kprobe(tcp_set_state)" : "",
	       st->hooks & TCPCLOSE_HOOK_TIMEWAIT ? " timewait" : "");
	printf("recorded states  %s\n", states);
	printf("ring size        %u records per CPU\n", st->ring_size);
	printf("events seen      %llu\n", (unsigned long long)st->seen);
	printf("recorded         %llu\n", (unsigned long long)st->recorded);
	printf("delivered        %llu\n", (unsigned long long)st->delivered);
	printf("filtered         %llu\n", (unsigned long long)st->filtered);
	printf("dropped          %llu\n", (unsigned long long)st->dropped);
	printf("live table       %llu of %llu sockets, %llu not tracked (full)\n",
	       (unsigned long long)st->table_entries,
	       (unsigned long long)st->table_capacity,
	       (unsigned long long)st->table_overflow);
	printf("per CPU          %-4s %12s %12s %12s\n", "cpu", "seen",
	       "recorded", "dropped");
	for (uint32_t i = 0; i < st->nr_cpus; i++)
		printf("                 %-4u %12llu %12llu %12llu\n", i,
		       (unsigned long long)cpu[i].seen,
		       (unsigned long long)cpu[i].recorded,
		       (unsigned long long)cpu[i].dropped);
}

static void print_json(const struct tcpclose_stats *st,
		       const struct tcpclose_cpu_stats *cpu, uint64_t uptime)
{
	char states[256];

	mask_names(states, sizeof(states), st->state_mask);
	printf("{\"abi_version\":%u,\"uptime_ns\":%llu,\"hooks\":{\"tracepoint\":%s,\"kprobe\":%s,\"timewait\":%s},",
	       st->version, (unsigned long long)uptime,
	       st->hooks & TCPCLOSE_HOOK_TRACEPOINT ? "true" : "false",
	       st->hooks & TCPCLOSE_HOOK_KPROBE ? "true" : "false",
	       st->hooks & TCPCLOSE_HOOK_TIMEWAIT ? "true" : "false");
	printf("\"states\":\"%s\",\"ring_size\":%u,\"seen\":%llu,\"recorded\":%llu,\"delivered\":%llu,\"filtered\":%llu,\"dropped\":%llu,",
	       states, st->ring_size, (unsigned long long)st->seen,
	       (unsigned long long)st->recorded,
	       (unsigned long long)st->delivered,
	       (unsigned long long)st->filtered,
	       (unsigned long long)st->dropped);
	printf("\"table\":{\"entries\":%llu,\"capacity\":%llu,\"overflow\":%llu},\"cpus\":[",
	       (unsigned long long)st->table_entries,
	       (unsigned long long)st->table_capacity,
	       (unsigned long long)st->table_overflow);
	for (uint32_t i = 0; i < st->nr_cpus; i++)
		printf("%s{\"cpu\":%u,\"seen\":%llu,\"recorded\":%llu,\"dropped\":%llu}",
		       i ? "," : "", i, (unsigned long long)cpu[i].seen,
		       (unsigned long long)cpu[i].recorded,
		       (unsigned long long)cpu[i].dropped);
	printf("]}\n");
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct tcpclose_cpu_stats *cpu = NULL;
	struct tcpclose_stats st;
	int c, fd, json = 0;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j') {
			json = 1;
		} else if (c == 'h') {
			fputs(stats_help, stdout);
			return EXIT_OK;
		} else {
			return usage_error("stats", "see 'tcpclose stats --help'");
		}
	}
	if (optind < argc)
		return usage_error("stats", "unexpected argument '%s'", argv[optind]);
	fd = dev_open(O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return EXIT_ERROR;
	if (dev_stats(fd, &st, &cpu)) {
		close(fd);
		return EXIT_ERROR;
	}
	close(fd);
	if (json)
		print_json(&st, cpu, mono_now_ns() - st.load_ns);
	else
		print_human(&st, cpu, mono_now_ns() - st.load_ns);
	free(cpu);
	return EXIT_OK;
}
