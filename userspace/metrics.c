// SPDX-License-Identifier: GPL-2.0
/*
 * tcpclose metrics: the sockets in close states per service, and the
 * module's counters, in Prometheus' text format for node_exporter's
 * textfile collector.  Without the module, sock_diag still gives the
 * counts; every age is then unknown, and said to be.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "decode.h"
#include "device.h"
#include "diag.h"
#include "owner.h"
#include "prom.h"
#include "service.h"
#include "sockets.h"

static const char metrics_help[] =
"Usage: tcpclose metrics [OPTIONS]\n"
"Print Prometheus metrics: sockets in close states by service and command,\n"
"their oldest age and unread bytes, the module's counters, and histograms\n"
"of the time sockets spent in each close state.\n"
"\n"
"  -t, --textfile DIR    write DIR/tcpclose.prom atomically, for the\n"
"                        textfile collector of node_exporter\n"
"  -s, --state LIST      states to count (default all six close states:\n"
"                        FIN_WAIT1,FIN_WAIT2,CLOSING,TIME_WAIT,CLOSE_WAIT,\n"
"                        LAST_ACK)\n"
"  -l, --labels LIST     add labels: pid, port (local port); each multiplies\n"
"                        the number of series, see tcpclose(8)\n"
"  -h, --help            this help\n"
"\n"
"Works without the module: tcpclose_module_loaded is then 0 and the ages\n"
"of all sockets are unknown.\n";

struct metrics {
	const char *textfile;
	uint32_t mask;
	unsigned int labels;
};

static int parse(int argc, char **argv, struct metrics *m)
{
	static const struct option opts[] = {
		{ "textfile", required_argument, NULL, 't' },
		{ "state", required_argument, NULL, 's' },
		{ "labels", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	m->mask = TCPCLOSE_DEFAULT_STATES;
	while ((c = getopt_long(argc, argv, "t:s:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			m->textfile = optarg;
			break;
		case 's':
			m->mask = tc_state_mask_parse(optarg);
			if (!m->mask)
				return usage_error("metrics", "unknown state in '%s'", optarg);
			break;
		case 'l':
			if (prom_labels_parse(optarg, &m->labels))
				return usage_error("metrics", "bad label list '%s' (pid, port)", optarg);
			break;
		case 'h':
			fputs(metrics_help, stdout);
			exit(EXIT_OK);
		default:
			return usage_error("metrics", "see 'tcpclose metrics --help'");
		}
	}
	if (optind < argc)
		return usage_error("metrics", "unexpected argument '%s'", argv[optind]);
	return 0;
}

/*
 * The histograms are not worth failing for (a module that predates them,
 * a namespace that has none): dev_hist says why, they are left out.
 */
static void read_hist(int fd, struct prom_input *in,
		      struct tcpclose_hist_row **rows)
{
	struct tcpclose_hist h;
	int n = dev_hist(fd, 0, &h, rows);

	in->hist = n > 0 ? *rows : NULL;
	in->nhist = n > 0 ? n : 0;
}

/*
 * No device node means no module, which is a state to report, not an
 * error; a device that does not answer is an error (dev_open says why).
 * Returns entries of the table, 0 without the module, -1 on error.
 */
static int read_module(struct tcpclose_stats *st, struct tcpclose_sock **t,
		       int *loaded, struct prom_input *in,
		       struct tcpclose_hist_row **rows)
{
	int fd, n;

	*loaded = 0;
	if (access(TCPCLOSE_DEVICE, F_OK) && errno == ENOENT)
		return 0;
	fd = dev_open(O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	n = dev_stats(fd, st, NULL) ? -1 : dev_dump(fd, t);
	if (n >= 0)
		read_hist(fd, in, rows);
	close(fd);
	*loaded = n >= 0;
	return n;
}

static struct prom_sock *attributed(const struct close_sock *cs, int n,
				    const struct owner_map *owners)
{
	struct prom_sock *ps = calloc(n + 1, sizeof(*ps));

	if (!ps)
		return NULL;
	for (int i = 0; i < n; i++) {
		struct tc_holders h = { 0 };
		const struct tc_owner *o;

		/* A shared socket is labelled with its lowest-pid holder. */
		if (cs[i].ino)
			owner_find(owners, cs[i].ino, &h);
		o = h.n ? h.o : NULL;

		/* An unknown service (SVC_UNKNOWN) has the empty name. */
		ps[i] = (struct prom_sock){
			.state = cs[i].state, .age_known = cs[i].age_known,
			.age_ns = cs[i].age_ns, .unread = cs[i].unread,
			.port = cs[i].sport, .pid = o ? o->pid : 0,
			.comm = o ? o->comm : "",
			.service = o && o->svc ? o->svc->name : "",
		};
	}
	return ps;
}

static int emit(const struct metrics *m, struct prom_input *in)
{
	if (!m->textfile)
		return prom_write(stdout, in) ? EXIT_ERROR : EXIT_OK;
	if (!prom_textfile(m->textfile, "tcpclose.prom", in))
		return EXIT_OK;
	fprintf(stderr, "tcpclose metrics: cannot write %s/tcpclose.prom: %m\n",
		m->textfile);
	return EXIT_ERROR;
}

int cmd_metrics(int argc, char **argv)
{
	struct metrics m = { 0 };
	struct tcpclose_stats st;
	struct tcpclose_sock *t = NULL;
	struct tcpclose_hist_row *hist = NULL;
	struct diag_sock *d = NULL;
	struct close_sock *cs = NULL;
	struct prom_input in = { 0 };
	struct owner_map owners;
	int rc, nt, nd, n, loaded;

	rc = parse(argc, argv, &m);
	if (rc)
		return rc;
	nt = read_module(&st, &t, &loaded, &in, &hist);
	if (nt < 0)
		return EXIT_ERROR;
	nd = diag_dump(m.mask, &d);
	if (nd < 0)
		fprintf(stderr, "tcpclose metrics: sock_diag unavailable (%m; is tcp_diag loaded?): counting the module's table only\n");
	in.diag_ok = nd >= 0;
	n = close_sock_join(t, nt, d, nd < 0 ? 0 : nd, m.mask, mono_now_ns(), &cs);
	owner_init(&owners, "/proc");
	owner_scan(&owners);
	in.socks = n < 0 ? NULL : attributed(cs, n, &owners);
	rc = EXIT_ERROR;
	if (in.socks) {
		in.nsocks = n;
		in.st = loaded ? &st : NULL;
		in.uptime_ns = loaded ? mono_now_ns() - st.load_ns : 0;
		in.labels = m.labels;
		rc = emit(&m, &in);
	}
	free(in.socks);
	free(cs);
	free(d);
	free(t);
	free(hist);
	owner_free(&owners);
	return rc;
}
