// SPDX-License-Identifier: GPL-2.0
/*
 * Naming follows the Prometheus conventions: base units (seconds, bytes) in
 * the name, _total on counters only, one HELP and one TYPE line per family.
 * The per-socket families carry state and service labels (and comm where
 * it is cheap): their series count is bounded by the services on the host,
 * not by its connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "decode.h"
#include "hist.h"
#include "prom.h"

int prom_labels_parse(const char *list, unsigned int *labels)
{
	char buf[64], *tok, *save;

	*labels = 0;
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -1;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "pid"))
			*labels |= PROM_LABEL_PID;
		else if (!strcmp(tok, "port"))
			*labels |= PROM_LABEL_PORT;
		else
			return -1;
	}
	return *labels ? 0 : -1;
}

/* Length of the UTF-8 sequence at s, or 0 if it is not a valid one. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 :
		(s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (n == 2 && s[0] < 0xc2)
		return 0;	/* overlong */
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void prom_label_value(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = utf8_len(p);

		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (!n || *p < 0x20 || *p == 0x7f)
			fputc('?', f);	/* comm is any bytes; labels are text */
		else
			fwrite(p, 1, n, f);
		p += n ? n : 1;
	}
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void single(FILE *f, const char *name, const char *type,
		   const char *help, unsigned long long v)
{
	family(f, name, type, help);
	fprintf(f, "%s %llu\n", name, v);
}

/* Sort and group order: state, service, the optional labels, comm. */
static int key_cmp(const struct prom_sock *a, const struct prom_sock *b,
		   unsigned int labels, int with_comm)
{
	int c;

	if (a->state != b->state)
		return a->state - b->state;
	c = strcmp(a->service, b->service);
	if (c)
		return c;
	if ((labels & PROM_LABEL_PID) && a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if ((labels & PROM_LABEL_PORT) && a->port != b->port)
		return a->port - b->port;
	return with_comm ? strcmp(a->comm, b->comm) : 0;
}

static int sock_order(const void *a, const void *b, void *labels)
{
	return key_cmp(a, b, *(unsigned int *)labels, 1);
}

struct group {
	const struct prom_sock *s;	/* the first of the group */
	unsigned long long count, unknown, unread;
	uint64_t oldest_ns;
	int known;
};

/* Fills g with the group starting at i; returns where the next starts. */
static int group_at(const struct prom_input *in, int i, int with_comm,
		    struct group *g)
{
	const struct prom_sock *s = &in->socks[i];

	memset(g, 0, sizeof(*g));
	g->s = s;
	for (; i < in->nsocks &&
	       !key_cmp(g->s, &in->socks[i], in->labels, with_comm); i++, s++) {
		g->count++;
		g->unread += s->unread;
		if (!s->age_known) {
			g->unknown++;
		} else if (!g->known || s->age_ns > g->oldest_ns) {
			g->oldest_ns = s->age_ns;
			g->known = 1;
		}
	}
	return i;
}

static void labels(FILE *f, const struct prom_input *in,
		   const struct prom_sock *s, int with_comm)
{
	fprintf(f, "{state=\"%s\",service=\"", tc_state_name(s->state));
	prom_label_value(f, s->service);
	if (with_comm) {
		fputs("\",comm=\"", f);
		prom_label_value(f, s->comm);
	}
	/* A socket no process holds has no pid: an empty value, not 0. */
	if ((in->labels & PROM_LABEL_PID) && s->pid)
		fprintf(f, "\",pid=\"%d", s->pid);
	else if (in->labels & PROM_LABEL_PID)
		fputs("\",pid=\"", f);
	if (in->labels & PROM_LABEL_PORT)
		fprintf(f, "\",port=\"%u", s->port);
	fputs("\"}", f);
}

enum sock_family { SOCKETS, UNKNOWN_AGE, OLDEST, UNREAD };

static const struct {
	const char *name, *help;
	int with_comm;
} sock_families[] = {
	[SOCKETS] = { "tcpclose_sockets",
		"TCP sockets in a close state, by owning service and command.", 1 },
	[UNKNOWN_AGE] = { "tcpclose_sockets_age_unknown",
		"Sockets in the state since before the module was loaded: at "
		"least tcpclose_module_uptime_seconds old, not counted in "
		"tcpclose_oldest_socket_age_seconds.", 0 },
	[OLDEST] = { "tcpclose_oldest_socket_age_seconds",
		"Time the oldest socket of known age has spent in its state.", 0 },
	[UNREAD] = { "tcpclose_unread_bytes",
		"Bytes received on these sockets that their owner has not read.", 0 },
};

/* Nanoseconds as seconds, exactly. */
static void seconds(FILE *f, uint64_t ns)
{
	fprintf(f, " %llu.%09llu\n", (unsigned long long)(ns / 1000000000ULL),
		(unsigned long long)(ns % 1000000000ULL));
}

static void sock_family(FILE *f, const struct prom_input *in,
			enum sock_family which)
{
	int with_comm = sock_families[which].with_comm;
	struct group g;

	family(f, sock_families[which].name, "gauge", sock_families[which].help);
	for (int i = 0; i < in->nsocks; ) {
		i = group_at(in, i, with_comm, &g);
		if (which == OLDEST && !g.known)
			continue;	/* an age we do not know is not made up */
		fputs(sock_families[which].name, f);
		labels(f, in, g.s, with_comm);
		if (which == SOCKETS)
			fprintf(f, " %llu\n", g.count);
		else if (which == UNKNOWN_AGE)
			fprintf(f, " %llu\n", g.unknown);
		else if (which == OLDEST)
			seconds(f, g.oldest_ns);
		else
			fprintf(f, " %llu\n", g.unread);
	}
}

/* Full sockets and timewait sockets have tables of their own. */
static void per_table(FILE *f, const char *name, const char *type,
		      const char *help, unsigned long long full,
		      unsigned long long tw)
{
	family(f, name, type, help);
	fprintf(f, "%s{table=\"full\"} %llu\n", name, full);
	fprintf(f, "%s{table=\"timewait\"} %llu\n", name, tw);
}

static void module_families(FILE *f, const struct prom_input *in)
{
	const struct tcpclose_stats *st = in->st;

	single(f, "tcpclose_module_loaded", "gauge",
	       "1 when /dev/tcpclose answered; 0: socket counts from sock_diag only, all ages unknown.",
	       !!st);
	if (!st)
		return;
	family(f, "tcpclose_module_uptime_seconds", "gauge",
	       "Time since the module was loaded.");
	fputs("tcpclose_module_uptime_seconds", f);
	seconds(f, in->uptime_ns);
	per_table(f, "tcpclose_table_sockets", "gauge",
		  "Sockets the module's live table tracks.",
		  st->table_entries, st->tw_entries);
	per_table(f, "tcpclose_table_capacity_sockets", "gauge",
		  "Sockets the live table can hold.",
		  st->table_capacity, st->tw_capacity);
	per_table(f, "tcpclose_table_overflow_total", "counter",
		  "Sockets not tracked because the table was full; their ages are unknown.",
		  st->table_overflow, st->tw_overflow);
	single(f, "tcpclose_readers", "gauge", "Readers of /dev/tcpclose open.",
	       st->readers);
	single(f, "tcpclose_readers_max", "gauge",
	       "Readers the module allows (module parameter max_readers).",
	       st->max_readers);
	/* A namespace's view has no host-wide counters: omit, not zero. */
	if (st->scope != TCPCLOSE_SCOPE_HOST)
		return;
	single(f, "tcpclose_events_seen_total", "counter",
	       "TCP state changes the module's hooks saw, host-wide.", st->seen);
	single(f, "tcpclose_probes_missed_total", "counter",
	       "Probe hits the kernel skipped (kprobe recursion or contention).",
	       st->missed);
	single(f, "tcpclose_table_expired_total", "counter",
	       "Table entries aged out without their end being seen.",
	       st->expired);
}

/*
 * The module's log2 buckets, every other one: a bound every power of 4
 * from 2^10 ns (1.024 us) to 2^46 ns (19.5 h), 19 and +Inf per row, the
 * cardinality of a usual histogram; the module keeps twice the
 * resolution (tcpclose stats --histogram).
 */
#define PROM_HIST_STEP	2
#define PROM_HIST_LAST	36

static void hist_labels(FILE *f, const struct tcpclose_hist_row *r)
{
	fprintf(f, "{state=\"%s\"", tc_state_name(r->state));
	if (r->state == TCPCLOSE_TIME_WAIT)
		fprintf(f, ",reason=\"%s\"", tc_reason_name(r->reason));
}

/* A bound in seconds, exact, without trailing zeros: "0.000001024". */
static void le_seconds(char *buf, size_t len, uint64_t ns)
{
	char *end;

	hist_format_seconds(buf, len, ns);
	end = buf + strlen(buf) - 1;
	while (*end == '0')
		*end-- = '\0';
	if (*end == '.')
		*end = '\0';
}

static void hist_row(FILE *f, const struct tcpclose_hist_row *r)
{
	const char *name = "tcpclose_state_duration_seconds";
	unsigned long long cum = 0;
	char le[48];

	for (int i = 0; i <= PROM_HIST_LAST; i++) {
		cum += r->buckets[i];
		if (i % PROM_HIST_STEP)
			continue;
		le_seconds(le, sizeof(le), hist_le_ns(i));
		fprintf(f, "%s_bucket", name);
		hist_labels(f, r);
		fprintf(f, ",le=\"%s\"} %llu\n", le, cum);
	}
	fprintf(f, "%s_bucket", name);
	hist_labels(f, r);
	fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)r->count);
	hist_format_seconds(le, sizeof(le), hist_sum_ns(r));
	fprintf(f, "%s_sum", name);
	hist_labels(f, r);
	fprintf(f, "} %s\n%s_count", le, name);
	hist_labels(f, r);
	fprintf(f, "} %llu\n", (unsigned long long)r->count);
}

static void hist_families(FILE *f, const struct prom_input *in)
{
	family(f, "tcpclose_state_duration_seconds", "histogram",
	       "Time sockets spent in a close state, counted as they left it (TIME_WAIT by how it ended), since the module was loaded; those of unknown time are in tcpclose_state_duration_unknown_total.");
	for (int i = 0; i < in->nhist; i++)
		if (in->hist[i].state)
			hist_row(f, &in->hist[i]);
	family(f, "tcpclose_state_duration_unknown_total", "counter",
	       "Sockets that left a close state after a time the module does not know: they entered it before the module was loaded, or the table was full (state UNKNOWN: the state itself is unknown).");
	for (int i = 0; i < in->nhist; i++) {
		fputs("tcpclose_state_duration_unknown_total", f);
		hist_labels(f, &in->hist[i]);
		fprintf(f, "} %llu\n", (unsigned long long)in->hist[i].unknown);
	}
}

int prom_write(FILE *f, struct prom_input *in)
{
	if (in->nsocks)
		qsort_r(in->socks, in->nsocks, sizeof(*in->socks), sock_order,
			&in->labels);
	module_families(f, in);
	if (in->st && in->hist)
		hist_families(f, in);
	single(f, "tcpclose_sock_diag_up", "gauge",
	       "1 when the kernel's sock_diag answered; 0: only the module's table was counted.",
	       !!in->diag_ok);
	for (int w = SOCKETS; w <= UNREAD; w++)
		sock_family(f, in, w);
	fflush(f);
	return ferror(f) ? -1 : 0;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int prom_textfile(const char *dir, const char *name, struct prom_input *in)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd, err;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= PATH_MAX ||
	    snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		goto fail;
	}
	errno = 0;
	/* node_exporter runs as its own user: the file must be readable. */
	if (fchmod(fd, 0644) || prom_write(f, in) || fsync(fd)) {
		err = errno ? errno : EIO;
		fclose(f);
		goto fail;
	}
	if (fclose(f)) {
		err = errno;
		goto fail;
	}
	if (rename(tmp, dst)) {
		err = errno;
		goto fail;
	}
	return sync_dir(dir);
fail:
	unlink(tmp);
	errno = err;
	return -1;
}
