// SPDX-License-Identifier: GPL-2.0
/* tcpclose watch: the live stream of close-state transitions. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "commands.h"
#include "decode.h"
#include "device.h"
#include "owner.h"

static const char watch_help[] =
"Usage: tcpclose watch [OPTIONS]\n"
"Stream TCP close-state transitions as they happen.\n"
"\n"
"  -j, --json            one JSON object per line (see tcpclose(8))\n"
"  -4, -6                IPv4 or IPv6 sockets only (v4-mapped count as 6)\n"
"  -s, --state LIST      transitions into or out of these states,\n"
"                        e.g. CLOSE_WAIT,LAST_ACK (default: all recorded)\n"
"  -p, --port PORT       local or remote port\n"
"  -a, --addr ADDR       local or remote address\n"
"  -n, --netns INODE     network namespace (inode of /proc/PID/ns/net)\n"
"  -P, --pid PID         sockets owned by, or events run in, process PID\n"
"  -d, --duration SECS   stop after this long (e.g. 10, 2m)\n"
"  -c, --count N         stop after N events\n"
"  -h, --help            this help\n"
"\n"
"Drops (full kernel rings) are reported on stderr as they happen, and as\n"
"{\"type\":\"drops\",...} lines with --json.\n";

struct watch_opts {
	struct tcpclose_filter kf;
	struct tc_addr_filter addr;
	int json, pid;
	uint64_t duration_ns;
	long count;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int parse(int argc, char **argv, struct watch_opts *o)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'a' },
		{ "netns", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'P' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned long long n;
	int c;

	memset(o, 0, sizeof(*o));
	o->kf.size = sizeof(o->kf);
	while ((c = getopt_long(argc, argv, "j46s:p:a:n:P:d:c:h", opts,
				NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = 1;
			break;
		case '4':
			o->kf.family = AF_INET;
			break;
		case '6':
			o->kf.family = AF_INET6;
			break;
		case 's':
			o->kf.state_mask = tc_state_mask_parse(optarg);
			if (!o->kf.state_mask)
				return usage_error("watch", "unknown state in '%s'", optarg);
			break;
		case 'p':
			if (tc_parse_uint(optarg, 1, UINT16_MAX, &n))
				return usage_error("watch", "bad port '%s' (1-65535)", optarg);
			o->kf.port = n;
			break;
		case 'a':
			if (tc_addr_filter_parse(&o->addr, optarg))
				return usage_error("watch", "bad address '%s'", optarg);
			break;
		case 'n':
			if (tc_parse_uint(optarg, 1, UINT32_MAX, &n))
				return usage_error("watch", "bad namespace inode '%s'", optarg);
			o->kf.netns = n;
			break;
		case 'P':
			if (tc_parse_uint(optarg, 1, INT_MAX, &n))
				return usage_error("watch", "bad pid '%s'", optarg);
			o->pid = n;
			break;
		case 'd':
			if (tc_parse_duration(optarg, &o->duration_ns))
				return usage_error("watch", "bad duration '%s'", optarg);
			break;
		case 'c':
			if (tc_parse_uint(optarg, 1, LONG_MAX, &n))
				return usage_error("watch", "bad count '%s'", optarg);
			o->count = n;
			break;
		case 'h':
			fputs(watch_help, stdout);
			exit(EXIT_OK);
		default:
			return usage_error("watch", "see 'tcpclose watch --help'");
		}
	}
	if (optind < argc)
		return usage_error("watch", "unexpected argument '%s'", argv[optind]);
	return 0;
}

/*
 * Owners come from /proc; rescanning it for every event would be costly
 * in a storm, so a miss triggers a rescan at most once a second.
 */
static const struct tc_owner *lookup_owner(struct owner_map *m, uint64_t ino)
{
	static uint64_t last_scan;
	const struct tc_owner *o;

	if (!ino)
		return NULL;
	o = owner_find(m, ino);
	if (!o && mono_now_ns() - last_scan > 1000000000ULL) {
		owner_scan(m);
		last_scan = mono_now_ns();
		o = owner_find(m, ino);
	}
	return o;
}

static int wanted(const struct watch_opts *o, const struct tcpclose_event *ev,
		  const struct tc_owner *owner)
{
	if (!tc_addr_match(&o->addr, ev->family, ev->saddr, ev->daddr))
		return 0;
	if (o->pid && !(owner && owner->pid == o->pid) &&
	    !((ev->flags & TCPCLOSE_F_PROCESS) && (int)ev->pid == o->pid))
		return 0;
	return 1;
}

static void report_drops(int fd, int json, uint64_t *seen_drops)
{
	struct tcpclose_stats st;

	if (dev_stats(fd, &st, NULL) || st.dropped == *seen_drops)
		return;
	if (json)
		printf("{\"type\":\"drops\",\"dropped\":%llu,\"total_dropped\":%llu}\n",
		       (unsigned long long)(st.dropped - *seen_drops),
		       (unsigned long long)st.dropped);
	fflush(stdout);
	fprintf(stderr, "tcpclose: %llu events dropped: the kernel rings were full (total %llu; see 'tcpclose stats', module parameter ring_size)\n",
		(unsigned long long)(st.dropped - *seen_drops),
		(unsigned long long)st.dropped);
	*seen_drops = st.dropped;
}

static int stream(int fd, const struct watch_opts *o)
{
	struct tcpclose_event buf[128];
	struct tcpclose_stats st;
	struct owner_map owners;
	uint64_t offset = mono_to_real_ns(), drops, end;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long shown = 0;
	ssize_t n;

	if (dev_stats(fd, &st, NULL))
		return EXIT_ERROR;
	drops = st.dropped;
	end = o->duration_ns ? mono_now_ns() + o->duration_ns : 0;
	owner_init(&owners, "/proc");
	owner_scan(&owners);
	if (!o->json)
		tc_print_event_header(stdout);
	while (!stop && (!end || mono_now_ns() < end)) {
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n == 0) {
			fprintf(stderr, "tcpclose: the module is going away; stream ended\n");
			break;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			fprintf(stderr, "tcpclose: read %s: %s%s\n", TCPCLOSE_DEVICE,
				strerror(errno), errno == EBUSY ?
				" (another tcpclose watch is reading the stream)" : "");
			owner_free(&owners);
			return EXIT_ERROR;
		}
		for (int i = 0; i < n / (ssize_t)sizeof(buf[0]); i++) {
			const struct tc_owner *ow = lookup_owner(&owners,
								 buf[i].ino);

			if (!wanted(o, &buf[i], ow))
				continue;
			if (o->json)
				tc_print_event_json(stdout, &buf[i], ow, offset);
			else
				tc_print_event(stdout, &buf[i], ow, offset);
			if (o->count && ++shown >= o->count) {
				stop = 1;
				break;
			}
		}
		fflush(stdout);
		report_drops(fd, o->json, &drops);
	}
	owner_free(&owners);
	return EXIT_OK;
}

int cmd_watch(int argc, char **argv)
{
	struct watch_opts o;
	int fd, rc;

	rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	fd = dev_open(O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return EXIT_ERROR;
	if (dev_set_filter(fd, &o.kf)) {
		close(fd);
		return EXIT_ERROR;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = stream(fd, &o);
	close(fd);
	return rc;
}
