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
"  -u, --utc             times in UTC, marked Z (default: local time)\n"
"  -O, --no-owner        do not look for owners in /proc\n"
"  -h, --help            this help\n"
"\n"
"The stream starts now: transitions from before are not shown.  Drops\n"
"(full kernel rings) are reported on stderr as they happen, and as\n"
"{\"type\":\"drops\",...} lines with --json.\n"
"\n"
"Exit status: 0 after --count, --duration, SIGINT or SIGTERM; 1 when the\n"
"stream ends otherwise (module unloaded, read or write error).\n";

struct watch_opts {
	struct tcpclose_filter kf;
	struct tc_sock_filter f;
	int json, utc, no_owner;
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
		{ "utc", no_argument, NULL, 'u' },
		{ "no-owner", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned long long n;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->kf.size = sizeof(o->kf);
	while ((c = getopt_long(argc, argv, "j46s:p:a:n:P:d:c:uOh", opts,
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
		case 'd':
			if (tc_parse_duration(optarg, &o->duration_ns))
				return usage_error("watch", "bad duration '%s'", optarg);
			break;
		case 'c':
			if (tc_parse_uint(optarg, 1, LONG_MAX, &n))
				return usage_error("watch", "bad count '%s'", optarg);
			o->count = n;
			break;
		case 'u':
			o->utc = 1;
			break;
		case 'O':
			o->no_owner = 1;
			break;
		case 'h':
			fputs(watch_help, stdout);
			return -1;
		default:
			rc = tc_filter_option("watch", c, optarg, &o->f);
			if (rc < 0)
				return usage_error("watch", "see 'tcpclose watch --help'");
			if (rc)
				return rc;
		}
	}
	/* The module filters by port and namespace before copying. */
	o->kf.port = o->f.port;
	o->kf.netns = o->f.netns;
	if (optind < argc)
		return usage_error("watch", "unexpected argument '%s'", argv[optind]);
	return 0;
}

static int wanted(const struct watch_opts *o, const struct tcpclose_event *ev,
		  const struct tc_holders *h)
{
	int pid = o->f.pid;

	if (!tc_addr_match(&o->f.addr, ev->family, ev->saddr, ev->daddr))
		return 0;
	if (!pid)
		return 1;
	if ((ev->flags & TCPCLOSE_F_PROCESS) && (int)ev->pid == pid)
		return 1;
	for (size_t i = 0; i < h->n; i++)
		if (h->o[i].pid == pid)
			return 1;
	return 0;
}

static void report_drops(int fd, int json, uint64_t *seen_drops)
{
	struct tcpclose_stats st;

	if (dev_stats(fd, &st, NULL) || st.dropped == *seen_drops)
		return;
	if (json)
		printf("{\"schema\":%d,\"type\":\"drops\",\"dropped\":%llu,\"total_dropped\":%llu}\n",
		       TC_JSON_SCHEMA,
		       (unsigned long long)(st.dropped - *seen_drops),
		       (unsigned long long)st.dropped);
	fflush(stdout);
	fprintf(stderr, "tcpclose: %llu events dropped: the kernel rings were full (total %llu; see 'tcpclose stats', module parameter ring_size)\n",
		(unsigned long long)(st.dropped - *seen_drops),
		(unsigned long long)st.dropped);
	*seen_drops = st.dropped;
}

struct watch {
	const struct watch_opts *o;
	struct owner_resolver owners;
	struct tc_event_cols cols;
	uint64_t offset, drops, end;
	uint64_t drops_next;	/* CLOCK_MONOTONIC: ask again from then */
	int unchecked;		/* records read since drops were asked for */
	long shown;
};

/*
 * Drops are asked for at most once a second, and once more at the end,
 * not after every read: for a reader in a network namespace the STATS
 * ioctl counts the namespace's table entries by walking the whole table,
 * with each bucket's lock, which the hooks take too.  Before the end,
 * only after records were read: a ring that dropped was full, so a read
 * follows.
 */
#define TC_DROPS_EVERY_NS 1000000000ULL

static void check_drops(struct watch *w, int fd, int last)
{
	uint64_t now = mono_now_ns();

	if (!last && (!w->unchecked || now < w->drops_next))
		return;
	w->drops_next = now + TC_DROPS_EVERY_NS;
	w->unchecked = 0;
	report_drops(fd, w->o->json, &w->drops);
}

/* One record; 1 when --count is reached. */
static int show(struct watch *w, const struct tcpclose_event *ev)
{
	const struct watch_opts *o = w->o;
	struct tc_holders h = { 0 };

	if (!o->no_owner)
		resolver_find(&w->owners, ev->ino, &h);
	if (!wanted(o, ev, &h))
		return 0;
	/* A wider endpoint widens its column from here on, under a header. */
	if (!o->json && tc_event_cols_fit(&w->cols, ev))
		tc_print_event_header(stdout, &w->cols);
	if (o->json)
		tc_print_event_json(stdout, ev, &h, w->offset);
	else
		tc_print_event(stdout, ev, &h, w->offset, o->utc, &w->cols);
	return o->count && ++w->shown >= o->count;
}

/* Every record of a read(); 1 at --count, -1 for one it cannot decode. */
static int show_all(struct watch *w, const void *buf, size_t len)
{
	struct tcpclose_event ev;
	char err[256];
	size_t off = 0;
	int rc = 0;

	if (!w->o->no_owner)
		resolver_lock(&w->owners);
	while (!rc && (rc = tc_next_record(buf, len, &off, &ev, err,
					   sizeof(err))) > 0)
		rc = show(w, &ev);
	if (!w->o->no_owner)
		resolver_unlock(&w->owners);
	if (rc < 0)
		fprintf(stderr, "tcpclose: %s: %s\n", TCPCLOSE_DEVICE, err);
	return rc;
}

/* @what: "read" or "poll". */
static int io_error(const char *what, int err)
{
	if (err == EBUSY)
		fprintf(stderr, "tcpclose: %s %s: too many readers (module parameter max_readers)\n",
			what, TCPCLOSE_DEVICE);
	else if (err == ENODEV)
		fprintf(stderr, "tcpclose: %s %s: the module is going away; stream ended\n",
			what, TCPCLOSE_DEVICE);
	else
		fprintf(stderr, "tcpclose: %s %s: %s\n", what, TCPCLOSE_DEVICE,
			strerror(err));
	return EXIT_ERROR;
}

/*
 * Reads until the user's end (--count, --duration, a signal: status 0)
 * or the stream's (end of file, an error: status 1, so that a service
 * manager restarts it).
 */
static int drain_loop(struct watch *w, int fd)
{
	/* Records carry their size: room for the largest a u16 can say. */
	static char buf[65536] __attribute__((aligned(8)));
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (!stop && (!w->end || mono_now_ns() < w->end)) {
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			return io_error("poll", errno);
		check_drops(w, fd, 0);
		n = read(fd, buf, sizeof(buf));
		if (n == 0) {
			fprintf(stderr, "tcpclose: the module is going away; stream ended\n");
			return EXIT_ERROR;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return io_error("read", errno);
		w->unchecked = 1;
		n = show_all(w, buf, n);
		if (n < 0 || tc_flush_stdout())
			return EXIT_ERROR;
		if (n > 0)
			break;
	}
	return EXIT_OK;
}

/* Whatever ends the stream, the drops since the last report are told. */
static int drain(struct watch *w, int fd)
{
	int rc = drain_loop(w, fd);

	check_drops(w, fd, 1);
	return rc;
}

static int stream(int fd, const struct watch_opts *o)
{
	struct watch w = { .o = o, .offset = mono_to_real_ns(),
			   .cols = TC_EVENT_COLS_INIT };
	struct tcpclose_stats st;
	int rc;

	if (dev_stats(fd, &st, NULL))
		return EXIT_ERROR;
	w.drops = st.dropped;
	w.end = o->duration_ns ? mono_now_ns() + o->duration_ns : 0;
	if (!o->no_owner &&
	    resolver_start(&w.owners, "/proc", 200000000ULL)) {
		fprintf(stderr, "tcpclose: cannot start the owner thread: %m (try --no-owner)\n");
		return EXIT_ERROR;
	}
	if (!o->json)
		tc_print_event_header(stdout, &w.cols);
	rc = drain(&w, fd);
	if (!o->no_owner)
		resolver_stop(&w.owners);
	return rc;
}

int cmd_watch(int argc, char **argv)
{
	struct watch_opts o;
	int fd, rc;

	rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	fd = dev_open(O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return EXIT_ERROR;
	if (dev_set_filter(fd, &o.kf)) {
		close(fd);
		return EXIT_ERROR;
	}
	stop = 0;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = stream(fd, &o);
	close(fd);
	return rc;
}
