// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include "commands.h"
#include "decode.h"
#include "service.h"

static const char *const state_names[TCPCLOSE_MAX_STATES] = {
	[0] = "UNKNOWN",
	[TCPCLOSE_ESTABLISHED] = "ESTABLISHED",
	[TCPCLOSE_SYN_SENT] = "SYN_SENT",
	[TCPCLOSE_SYN_RECV] = "SYN_RECV",
	[TCPCLOSE_FIN_WAIT1] = "FIN_WAIT1",
	[TCPCLOSE_FIN_WAIT2] = "FIN_WAIT2",
	[TCPCLOSE_TIME_WAIT] = "TIME_WAIT",
	[TCPCLOSE_CLOSE] = "CLOSE",
	[TCPCLOSE_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCPCLOSE_LAST_ACK] = "LAST_ACK",
	[TCPCLOSE_LISTEN] = "LISTEN",
	[TCPCLOSE_CLOSING] = "CLOSING",
	[TCPCLOSE_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

static const char *const reason_names[TCPCLOSE_REASON_MAX] = {
	[TCPCLOSE_REASON_NONE] = "",
	[TCPCLOSE_REASON_EXPIRED] = "expired",
	[TCPCLOSE_REASON_RST] = "rst",
	[TCPCLOSE_REASON_REUSE] = "reuse",
	[TCPCLOSE_REASON_OTHER] = "other",
	[TCPCLOSE_REASON_KILLED] = "killed",
};

const char *tc_state_name(unsigned int state)
{
	return state < TCPCLOSE_MAX_STATES ? state_names[state] : "INVALID";
}

/* Compare ignoring case, '-' and '_'. */
static int loose_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == '-' || *a == '_')
			a++;
		while (*b == '-' || *b == '_')
			b++;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
		if (!*a)
			return 1;
		a++;
		b++;
	}
}

int tc_state_parse(const char *name)
{
	char *end;
	long n;
	int s;

	n = strtol(name, &end, 10);
	if (*name && !*end)
		return n > 0 && n < TCPCLOSE_MAX_STATES ? (int)n : -1;
	for (s = 1; s < TCPCLOSE_MAX_STATES; s++)
		if (loose_eq(name, state_names[s]))
			return s;
	return -1;
}

uint32_t tc_state_mask_parse(const char *list)
{
	char *copy = strdup(list), *tok, *save = NULL;
	uint32_t mask = 0;
	int s;

	if (!copy)
		return 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		s = tc_state_parse(tok);
		if (s < 0) {
			mask = 0;
			break;
		}
		mask |= TCPCLOSE_STATE_BIT(s);
	}
	free(copy);
	return mask;
}

const char *tc_reason_name(unsigned int reason)
{
	return reason < TCPCLOSE_REASON_MAX ? reason_names[reason] : "invalid";
}

/*
 * A line built in place, then written at once: watch prints one per
 * record, and printf's format parsing was most of its time per record.
 * Output past the buffer is cut (callers size it for the longest line).
 */
struct tc_line {
	char *p, *end;
	int string;		/* line_string(): room kept for a NUL */
};

/* A string in buf, cut where snprintf() would cut it (len - 1 bytes). */
static struct tc_line line_string(char *buf, size_t len)
{
	return (struct tc_line){ buf, buf + (len ? len - 1 : 0), len > 0 };
}

/* Ends a line_string(); a buffer of no bytes stays untouched. */
static void line_nul(struct tc_line *l)
{
	if (l->string)
		*l->p = '\0';
}

static void line_put(struct tc_line *l, const char *s, size_t n)
{
	if (n > (size_t)(l->end - l->p))
		n = l->end - l->p;
	memcpy(l->p, s, n);
	l->p += n;
}

static void line_str(struct tc_line *l, const char *s)
{
	line_put(l, s, strlen(s));
}

static void line_spaces(struct tc_line *l, int n)
{
	while (n-- > 0 && l->p < l->end)
		*l->p++ = ' ';
}

/* "%-*s" (left) or "%*s" (right) of printf. */
static void line_pad(struct tc_line *l, const char *s, int width, int right)
{
	int n = strlen(s);

	if (right)
		line_spaces(l, width - n);
	line_put(l, s, n);
	if (!right)
		line_spaces(l, width - n);
}

/* Decimal into buf (21 bytes for any u64). */
static const char *utoa(char buf[21], uint64_t v)
{
	char *p = buf + 20;

	*p = '\0';
	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	return p;
}

static void line_u64(struct tc_line *l, uint64_t v, int width, int right)
{
	char buf[21];

	line_pad(l, utoa(buf, v), width, right);
}

/* "%s.%06lu%s" of printf: seconds, microseconds, suffix. */
static void format_subsecond(char *buf, size_t len, const char *secs,
			     uint64_t us, const char *suffix)
{
	struct tc_line l = line_string(buf, len);
	char d[21];
	const char *digits = utoa(d, us % 1000000);

	line_str(&l, secs);
	line_str(&l, ".");
	line_put(&l, "000000", 6 - strlen(digits));
	line_str(&l, digits);
	line_str(&l, suffix);
	line_nul(&l);
}

/* "[addr]:port" or "addr:port"; printf was most of watch's time per record. */
void tc_format_endpoint(char *buf, size_t len, int family,
			const uint8_t addr[16], uint16_t port)
{
	struct tc_line l = line_string(buf, len);
	char a[INET6_ADDRSTRLEN], d[21];

	if (family == AF_INET) {
		/* glibc's inet_ntop() prints IPv4 with sprintf(). */
		for (int i = 0; i < 4; i++) {
			line_str(&l, i ? "." : "");
			line_str(&l, utoa(d, addr[i]));
		}
	} else {
		inet_ntop(AF_INET6, addr, a, sizeof(a));
		line_str(&l, "[");
		line_str(&l, a);
		line_str(&l, "]");
	}
	line_str(&l, ":");
	line_str(&l, utoa(d, port));
	line_nul(&l);
}

void tc_format_duration(char *buf, size_t len, uint64_t ns)
{
	uint64_t s = ns / 1000000000ULL;

	if (ns < 1000000000ULL) {
		/* Most records: "%luus" or "%lums", without printf. */
		struct tc_line l = line_string(buf, len);
		char d[21];

		line_str(&l, utoa(d, ns < 1000000ULL ? ns / 1000 : ns / 1000000));
		line_str(&l, ns < 1000000ULL ? "us" : "ms");
		line_nul(&l);
	} else if (s < 60)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else if (s < 3600)
		snprintf(buf, len, "%lum%02lus", (unsigned long)(s / 60),
			 (unsigned long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%luh%02lum", (unsigned long)(s / 3600),
			 (unsigned long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%lud%02luh", (unsigned long)(s / 86400),
			 (unsigned long)(s % 86400 / 3600));
}

/*
 * The calendar part is kept for the second it was made for: a stream's
 * records share their seconds, and localtime_r() and strftime() per record
 * were a third of watch's time.
 */
void tc_format_wallclock(char *buf, size_t len, uint64_t real, int iso,
			 int utc)
{
	static __thread struct {
		time_t secs;
		int iso, utc, valid;
		char t[32];
	} last;
	time_t secs = (time_t)(real / 1000000000ULL);
	struct tm tm;

	if (!last.valid || last.secs != secs || last.iso != iso ||
	    last.utc != utc) {
		if (utc)
			gmtime_r(&secs, &tm);
		else
			localtime_r(&secs, &tm);
		strftime(last.t, sizeof(last.t),
			 iso ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
		last.secs = secs;
		last.iso = iso;
		last.utc = utc;
		last.valid = 1;
	}
	format_subsecond(buf, len, last.t, real % 1000000000ULL / 1000,
			 utc ? "Z" : "");
}

void tc_print_holders(FILE *f, const struct tc_holders *h)
{
	if (!h || !h->n) {
		fputc('-', f);
		return;
	}
	for (size_t i = 0; i < h->n; i++) {
		fputs(i ? ", " : "", f);
		tc_print_escaped(f, h->o[i].comm, sizeof(h->o[i].comm));
		fprintf(f, "[%d] fd %d", h->o[i].pid, h->o[i].fd);
	}
}

void tc_print_holders_json(FILE *f, const struct tc_holders *h)
{
	if (!h || !h->n) {
		fputs("null", f);
		return;
	}
	for (size_t i = 0; i < h->n; i++) {
		fprintf(f, "%s{\"pid\":%d,\"fd\":%d,\"comm\":", i ? "," : "[",
			h->o[i].pid, h->o[i].fd);
		tc_json_strn(f, h->o[i].comm, sizeof(h->o[i].comm));
		tc_print_service_json(f, h->o[i].svc);
		fputc('}', f);
	}
	fputc(']', f);
}

/* Unknown is null, never a guess: the process may have gone meanwhile. */
void tc_print_service_json(FILE *f, const struct service *svc)
{
	enum svc_kind kind = svc ? svc->kind : SVC_UNKNOWN;

	if (kind == SVC_UNKNOWN) {
		fputs(",\"service\":null,\"service_kind\":\"unknown\",\"cgroup\":null", f);
		return;
	}
	fputs(",\"service\":", f);
	tc_json_string(f, svc->name);
	fprintf(f, ",\"service_kind\":\"%s\",\"cgroup\":", svc_kind_name(kind));
	tc_json_string(f, svc->path);
}

/*
 * Our FIN takes a sequence number, so write_seq - snd_una counts it from
 * the moment it is queued until it is acknowledged.  tcp_close() and
 * shutdown() queue it right after entering FIN_WAIT1 or LAST_ACK, so a
 * record leaving FIN_WAIT1, CLOSING or LAST_ACK with bytes unacknowledged
 * has the FIN among them; one entering those states does not yet.
 */
uint32_t tc_unacked(const struct tcpclose_event *ev)
{
	int fin_queued = ev->oldstate == TCPCLOSE_FIN_WAIT1 ||
			 ev->oldstate == TCPCLOSE_CLOSING ||
			 ev->oldstate == TCPCLOSE_LAST_ACK;

	return fin_queued && ev->tx_queue ? ev->tx_queue - 1 : ev->tx_queue;
}

static const struct tc_event_cols initial_cols = TC_EVENT_COLS_INIT;

/* Steps of 8: a stream of growing IPv6 endpoints gets a few headers. */
static int fit(int *width, const char *text)
{
	int n = strlen(text);

	if (n <= *width)
		return 0;
	*width = (n + 8) / 8 * 8 - 1;
	return 1;
}

int tc_event_cols_fit(struct tc_event_cols *c, const struct tcpclose_event *ev)
{
	char buf[64];
	int grew;

	/* "255.255.255.255:65535" fits: no need to format it to know. */
	if (ev->family == AF_INET && c->local >= 21 && c->remote >= 21)
		return 0;

	tc_format_endpoint(buf, sizeof(buf), ev->family, ev->saddr, ev->sport);
	grew = fit(&c->local, buf);
	tc_format_endpoint(buf, sizeof(buf), ev->family, ev->daddr, ev->dport);
	return fit(&c->remote, buf) | grew;
}

void tc_print_event_header(FILE *f, const struct tc_event_cols *c)
{
	if (!c)
		c = &initial_cols;
	fprintf(f, "%-16s %-10s %-*s %-*s %-24s %9s %7s %7s %s\n", "TIME",
		"NETNS", c->local, "LOCAL", c->remote, "REMOTE", "TRANSITION",
		"WAS", "UNREAD", "UNACKED", "OWNER/NOTE");
}

static int col_width(int w)
{
	return w < 0 ? 0 : w > TC_EVENT_COL_MAX ? TC_EVENT_COL_MAX : w;
}

/* The task a process-context record ran in; pid 0: not in our pid ns. */
static void print_context(FILE *f, const struct tcpclose_event *ev)
{
	char buf[21];

	fputs("in ", f);
	tc_print_escaped(f, ev->comm, sizeof(ev->comm));
	fputc('[', f);
	fputs(ev->pid ? utoa(buf, ev->pid) : "?", f);
	fputc(']', f);
}

static void print_note(FILE *f, const struct tcpclose_event *ev,
		       const struct tc_holders *h)
{
	const char *reason = tc_reason_name(ev->reason);

	if (ev->flags & TCPCLOSE_F_FINACK)
		fputs("FIN with our ACK; handed to timewait", f);
	else if (ev->flags & TCPCLOSE_F_HANDOFF)
		fputs("socket handed to timewait", f);
	else if (ev->flags & TCPCLOSE_F_LATE)
		fputs("CLOSE missed; seen when the socket was destroyed", f);
	else if ((ev->flags & TCPCLOSE_F_TIMEWAIT) && *reason)
		fprintf(f, "timewait ended: %s", reason);
	else if (ev->reason == TCPCLOSE_REASON_KILLED)
		fputs("killed (SOCK_DESTROY, e.g. ss -K)", f);
	else if (h && h->n)
		tc_print_holders(f, h);
	else if (ev->flags & TCPCLOSE_F_PROCESS)
		print_context(f, ev);
}

/*
 * Endpoints are never cut: with widths that tc_event_cols_fit() grew, the
 * columns stay aligned; with NULL (the initial widths, for IPv4) a longer
 * endpoint widens its own line.
 */
void tc_print_event(FILE *f, const struct tcpclose_event *ev,
		    const struct tc_holders *h, uint64_t mono_to_real_ns,
		    int utc, const struct tc_event_cols *c)
{
	char when[40], local[64], remote[64], trans[40], was[24], buf[512];
	struct tc_line l = { buf, buf + sizeof(buf), 0 };
	struct tc_line t = line_string(trans, sizeof(trans));

	tc_format_wallclock(when, sizeof(when), ev->ts_ns + mono_to_real_ns, 0,
			    utc);
	tc_format_endpoint(local, sizeof(local), ev->family, ev->saddr,
			   ev->sport);
	tc_format_endpoint(remote, sizeof(remote), ev->family, ev->daddr,
			   ev->dport);
	line_str(&t, tc_state_name(ev->oldstate));
	line_str(&t, ">");
	line_str(&t, tc_state_name(ev->newstate));
	line_nul(&t);
	if (ev->flags & TCPCLOSE_F_DUR_KNOWN)
		tc_format_duration(was, sizeof(was), ev->prev_state_ns);
	else
		strcpy(was, "-");
	if (!c)
		c = &initial_cols;
	/*
	 * "%-16s %-10u %-*s %-*s %-24s %9s %7u %7u ", the widths held to
	 * what buf has room for (fit() never goes past 63).
	 */
	line_pad(&l, when, 16, 0);
	line_spaces(&l, 1);
	line_u64(&l, ev->netns, 10, 0);
	line_spaces(&l, 1);
	line_pad(&l, local, col_width(c->local), 0);
	line_spaces(&l, 1);
	line_pad(&l, remote, col_width(c->remote), 0);
	line_spaces(&l, 1);
	line_pad(&l, trans, 24, 0);
	line_spaces(&l, 1);
	line_pad(&l, was, 9, 1);
	line_spaces(&l, 1);
	line_u64(&l, ev->rx_queue, 7, 1);
	line_spaces(&l, 1);
	line_u64(&l, tc_unacked(ev), 7, 1);
	line_spaces(&l, 1);
	fwrite(buf, 1, l.p - buf, f);
	print_note(f, ev, h);
	fputc('\n', f);
}

static void line_num(struct tc_line *l, uint64_t v)
{
	char d[21];

	line_str(l, utoa(d, v));
}

static void json_bool(struct tc_line *l, const char *name, int v)
{
	line_str(l, ",\"");
	line_str(l, name);
	line_str(l, v ? "\":true" : "\":false");
}

static void json_context(FILE *f, const struct tcpclose_event *ev)
{
	char d[21];

	if (!(ev->flags & TCPCLOSE_F_PROCESS)) {
		fputs(",\"context\":null", f);
		return;
	}
	if (ev->pid) {
		fputs(",\"context\":{\"pid\":", f);
		fputs(utoa(d, ev->pid), f);
		fputs(",\"tid\":", f);
		fputs(utoa(d, ev->tid), f);
		fputs(",\"comm\":", f);
	} else {
		fputs(",\"context\":{\"pid\":null,\"tid\":null,\"comm\":", f);
	}
	tc_json_strn(f, ev->comm, sizeof(ev->comm));
	fputc('}', f);
}

/* Built in place like tc_print_event(): printf was most of the time. */
void tc_print_event_json(FILE *f, const struct tcpclose_event *ev,
			 const struct tc_holders *h,
			 uint64_t mono_to_real_ns)
{
	char when[40], a[64], buf[1024];
	struct tc_line l = { buf, buf + sizeof(buf), 0 };

	tc_format_wallclock(when, sizeof(when), ev->ts_ns + mono_to_real_ns, 1,
			    1);
	line_str(&l, "{\"schema\":");
	line_num(&l, TC_JSON_SCHEMA);
	line_str(&l, ",\"type\":\"transition\",\"time\":\"");
	line_str(&l, when);
	line_str(&l, "\",\"ts_ns\":");
	line_num(&l, ev->ts_ns);
	line_str(&l, ",\"cookie\":");
	line_num(&l, ev->cookie);
	line_str(&l, ",\"netns\":");
	line_num(&l, ev->netns);
	line_str(&l, ",\"netns_cookie\":");
	line_num(&l, ev->netns_cookie);
	line_str(&l, ev->family == AF_INET ? ",\"family\":\"inet\","
					   : ",\"family\":\"inet6\",");
	tc_format_endpoint(a, sizeof(a), ev->family, ev->saddr, ev->sport);
	line_str(&l, "\"local\":\"");
	line_str(&l, a);
	tc_format_endpoint(a, sizeof(a), ev->family, ev->daddr, ev->dport);
	line_str(&l, "\",\"remote\":\"");
	line_str(&l, a);
	line_str(&l, "\",\"old\":\"");
	line_str(&l, tc_state_name(ev->oldstate));
	line_str(&l, "\",\"new\":\"");
	line_str(&l, tc_state_name(ev->newstate));
	line_str(&l, "\",\"old_state_ns\":");
	if (ev->flags & TCPCLOSE_F_DUR_KNOWN)
		line_num(&l, ev->prev_state_ns);
	else
		line_str(&l, "null");
	json_bool(&l, "timewait", ev->flags & TCPCLOSE_F_TIMEWAIT);
	json_bool(&l, "handoff", ev->flags & TCPCLOSE_F_HANDOFF);
	json_bool(&l, "finack", ev->flags & TCPCLOSE_F_FINACK);
	json_bool(&l, "late", ev->flags & TCPCLOSE_F_LATE);
	if (ev->reason) {
		line_str(&l, ",\"reason\":\"");
		line_str(&l, tc_reason_name(ev->reason));
		line_str(&l, "\"");
	} else {
		line_str(&l, ",\"reason\":null");
	}
	line_str(&l, ",\"unread\":");
	line_num(&l, ev->rx_queue);
	line_str(&l, ",\"unacked\":");
	line_num(&l, tc_unacked(ev));
	line_str(&l, ",\"inode\":");
	line_num(&l, ev->ino);
	line_str(&l, ",\"cpu\":");
	line_num(&l, ev->cpu);
	fwrite(buf, 1, l.p - buf, f);
	json_context(f, ev);
	fputs(",\"owners\":", f);
	tc_print_holders_json(f, h);
	fputs("}\n", f);
}

int tc_next_record(const void *buf, size_t len, size_t *off,
		   struct tcpclose_event *ev, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)buf + *off;
	size_t left = len - *off;
	uint16_t size;

	if (!left)
		return 0;
	if (left < sizeof(size) + 1) {
		snprintf(err, errlen, "a record cut after %zu bytes", left);
		return -1;
	}
	memcpy(&size, p, sizeof(size));
	if (p[2] != TCPCLOSE_ABI_VERSION) {
		snprintf(err, errlen, "a record of ABI version %u; this tcpclose reads version %u: install matching versions",
			 p[2], TCPCLOSE_ABI_VERSION);
		return -1;
	}
	if (size < sizeof(*ev)) {
		snprintf(err, errlen, "a record of %u bytes, shorter than the %zu bytes of ABI version %u: install matching versions",
			 size, sizeof(*ev), TCPCLOSE_ABI_VERSION);
		return -1;
	}
	if (size > left) {
		snprintf(err, errlen, "a record of %u bytes cut after %zu bytes",
			 size, left);
		return -1;
	}
	memcpy(ev, p, sizeof(*ev));
	*off += size;
	return 1;
}

int tc_parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);
	double unit = 1;

	if (end == s || v < 0)
		return -1;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		unit = 1;
	else if (!strcmp(end, "ms"))
		unit = 1e-3;
	else if (!strcmp(end, "m"))
		unit = 60;
	else if (!strcmp(end, "h"))
		unit = 3600;
	else if (!strcmp(end, "d"))
		unit = 86400;
	else
		return -1;
	v *= unit * 1e9;
	/* Also refuses "inf" and "nan", which strtod() accepts. */
	if (!(v < 18446744073709551615.0))
		return -1;
	*ns = (uint64_t)v;
	return 0;
}

int tc_parse_uint(const char *s, unsigned long long min,
		  unsigned long long max, unsigned long long *v)
{
	char *end;

	/* strtoull() would take " 5", "+5" and "-1" (as a huge number). */
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end || *v < min || *v > max)
		return -1;
	return 0;
}

int tc_addr_filter_parse(struct tc_addr_filter *f, const char *text)
{
	memset(f, 0, sizeof(*f));
	if (inet_pton(AF_INET, text, f->addr) == 1)
		f->family = AF_INET;
	else if (inet_pton(AF_INET6, text, f->addr) == 1)
		f->family = AF_INET6;
	else
		return -1;
	return 0;
}

static int addr_eq(const struct tc_addr_filter *f, int family,
		   const uint8_t *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (family == f->family)
		return !memcmp(a, f->addr, family == AF_INET ? 4 : 16);
	/* An IPv4 filter also matches v4-mapped IPv6 sockets. */
	return f->family == AF_INET && family == AF_INET6 &&
	       !memcmp(a, mapped, 12) && !memcmp(a + 12, f->addr, 4);
}

int tc_addr_match(const struct tc_addr_filter *f, int family,
		  const uint8_t *a, const uint8_t *b)
{
	return !f->family || addr_eq(f, family, a) || addr_eq(f, family, b);
}

int tc_filter_option(const char *cmd, int c, const char *arg,
		     struct tc_sock_filter *f)
{
	unsigned long long n;

	switch (c) {
	case 'p':
		if (tc_parse_uint(arg, 1, UINT16_MAX, &n))
			return usage_error(cmd, "bad port '%s' (1-65535)", arg);
		f->port = n;
		return 0;
	case 'a':
		if (tc_addr_filter_parse(&f->addr, arg))
			return usage_error(cmd, "bad address '%s'", arg);
		return 0;
	case 'P':
		if (tc_parse_uint(arg, 1, INT_MAX, &n))
			return usage_error(cmd, "bad pid '%s'", arg);
		f->pid = n;
		return 0;
	case 'n':
		if (tc_parse_uint(arg, 1, UINT32_MAX, &n))
			return usage_error(cmd, "bad namespace inode '%s'", arg);
		f->netns = n;
		return 0;
	}
	return -1;
}
