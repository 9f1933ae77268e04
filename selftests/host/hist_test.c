// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of `tcpclose stats --histogram` below the command: bucket
 * bounds as the uapi header defines them, the 128-bit sums, and the
 * drawings of made-up histograms, human (bars as bcc's tools draw them)
 * and JSON, against golden files; python3 parses the JSON back and finds
 * the exact sum past 2^64 ns.  And dev_hist()'s two-step ioctl and its
 * messages, against a stand-in for the device's ioctl() (the test is
 * linked with --wrap=ioctl).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "device.h"
#include "hist.h"
#include "fakehist.h"
#include "golden.h"

#define FAKE_FD	1000

int __real_ioctl(int fd, unsigned long req, ...);

static int fake_errno;		/* the histogram ioctl fails with this */
static int fake_calls;
static uint64_t fake_cookie;	/* the cookie it was asked for */

/* The module's side of TCPCLOSE_IOC_HIST, on made-up rows. */
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	struct tcpclose_hist_row rows[FAKE_ROWS];
	struct tcpclose_hist fh, *h;
	uint32_t n;
	va_list ap;

	va_start(ap, req);
	h = va_arg(ap, void *);
	va_end(ap);
	if (fd != FAKE_FD || req != TCPCLOSE_IOC_HIST)
		return __real_ioctl(fd, req, h);
	fake_calls++;
	fake_cookie = h->netns_cookie;
	if (!fake_errno && (h->size != sizeof(*h) ||
			    h->row_size != sizeof(rows[0])))
		fake_errno = EINVAL;
	if (fake_errno) {
		errno = fake_errno;
		return -1;
	}
	fake_hist(&fh, rows);
	n = h->nr_rows < FAKE_ROWS ? h->nr_rows : FAKE_ROWS;
	memcpy((void *)(uintptr_t)h->rows_ptr, rows, n * sizeof(rows[0]));
	h->version = fh.version;
	h->scope = fh.scope;
	h->nr_rows = FAKE_ROWS;
	return 0;
}

static void bounds(void)
{
	char b[32];
	int ok = hist_le_ns(0) == 1024 && hist_le_ns(1) == 2048 &&
		 hist_le_ns(46) == 1ULL << 56 && hist_le_ns(47) == 0;

	tap_check(ok, "bucket i ends at 2^(10+i) ns, the last has no end");
	ok = 1;
	{
		static const struct { uint64_t ns; const char *s; } t[] = {
			{ 500, "500ns" }, { 1024, "1.02us" },
			{ 1ULL << 19, "524us" }, { 1ULL << 20, "1.05ms" },
			{ 1ULL << 30, "1.07s" }, { 1ULL << 36, "68.7s" },
			{ 1ULL << 40, "18.3m" }, { 1ULL << 46, "19.5h" },
			{ 1ULL << 56, "834d" },
		};
		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			hist_format_bound(b, sizeof(b), t[i].ns);
			if (strcmp(b, t[i].s)) {
				tap_info("%llu ns: %s, want %s",
					 (unsigned long long)t[i].ns, b, t[i].s);
				ok = 0;
			}
		}
	}
	tap_check(ok, "bounds in three significant digits, ns to days");
}

static void sums(void)
{
	struct tcpclose_hist_row r = { .sum_ns_hi = 1, .sum_ns = 5 };
	char b[64];
	int ok;

	hist_format_u128(b, sizeof(b), hist_sum_ns(&r));
	ok = !strcmp(b, "18446744073709551621");
	hist_format_seconds(b, sizeof(b), hist_sum_ns(&r));
	ok &= !strcmp(b, "18446744073.709551621");
	hist_format_seconds(b, sizeof(b), 1024);
	ok &= !strcmp(b, "0.000001024");
	hist_format_u128(b, 4, 123456);
	ok &= !strcmp(b, "123");
	tap_check(ok, "128-bit sums in exact decimal, as nanoseconds and seconds");
}

static char *capture(int json, int netns)
{
	struct tcpclose_hist_row rows[FAKE_ROWS];
	struct tcpclose_hist h;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	fake_hist(&h, rows);
	if (netns) {
		h.scope = TCPCLOSE_SCOPE_NETNS;
		h.netns_cookie = 4242;
		/* A namespace where nothing of unknown state happened. */
		rows[ROW_UNKNOWN].unknown = 0;
	}
	if (json)
		hist_print_json(f, &h, rows, FAKE_ROWS, 3600000000000ULL);
	else
		hist_print_human(f, &h, rows, FAKE_ROWS, 3600000000000ULL);
	fclose(f);
	return text;
}

/* No control byte but '\n'; every bar is 40 wide and ends its line. */
static int clean(const char *text)
{
	const char *line, *nl, *a, *b;

	for (line = text; *line; line++)
		if ((unsigned char)*line < 0x20 && *line != '\n')
			return 0;
	for (line = text; (nl = strchr(line, '\n')); line = nl + 1) {
		a = memchr(line, '|', nl - line);
		if (!a)
			continue;
		b = memchr(a + 1, '|', nl - a - 1);
		if (!b || b - a - 1 != 40 || b + 1 != nl)
			return 0;
	}
	return 1;
}

static void human(void)
{
	char *t = capture(0, 0), *n;
	int ok;

	tap_check(golden("hist.txt", t), "hist.txt matches golden");
	ok = clean(t) &&
	     strstr(t, "CLOSE_WAIT: 7 left the state, mean 1m25s, sum 10m01s; 2 more, time unknown (not drawn)\n") &&
	     strstr(t, "   134ms -> 268ms    : 5        |****************************************|\n") &&
	     strstr(t, "   268ms -> 537ms    : 1        |********                                |\n") &&
	     strstr(t, "       0 -> 1.02us   : 2 ") &&
	     strstr(t, "CLOSING: none\n") &&
	     strstr(t, "TIME_WAIT (rst): 1 left the state, time unknown (not drawn)\n") &&
	     strstr(t, "unknown state: 1 left the state, time unknown (not drawn)\n");
	tap_check(ok, "per state, bars scaled to the row's largest bucket, unknown durations counted apart");
	ok = strstr(t, "TIME_WAIT (expired): 400000000 left the state, mean 1m00s, sum 277777d\n") != NULL;
	tap_check(ok, "a sum past 2^64 ns is shown, in days");
	n = capture(0, 1);
	ok = strstr(n, "network namespace 4242 (cookie)") &&
	     !strstr(n, "unknown state") && strstr(t, "all network namespaces");
	tap_check(ok, "scope said; the unknown state's row only when it counted");
	free(n);
	free(t);
}

static int python_ok(const char *text, const char *script)
{
	char path[] = "/tmp/tcpclose-histXXXXXX", *cmd;
	int fd = mkstemp(path), rc;

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		return 0;
	close(fd);
	if (asprintf(&cmd, "python3 - %s <<'PY'\n%sPY\n", path, script) < 0)
		return 0;
	rc = system(cmd);
	free(cmd);
	unlink(path);
	return rc == 0;
}

static void json(void)
{
	static const char script[] =
		"import json, sys\n"
		"d = json.loads(open(sys.argv[1]).read())\n"
		"assert d['scope'] == 'host' and d['netns_cookie'] is None\n"
		"le = d['bucket_le_ns']\n"
		"assert len(le) == 48 and le[0] == 1024 and le[46] == 2**56 and le[47] is None\n"
		"h = {(r['state'], r['reason']): r for r in d['histograms']}\n"
		"assert len(h) == 11\n"
		"tw = h[('TIME_WAIT', 'expired')]\n"
		"assert tw['sum_ns'] == 24 * 10**18, tw['sum_ns']\n"
		"assert sum(tw['buckets']) == tw['count'] == 400000000\n"
		"cw = h[('CLOSE_WAIT', None)]\n"
		"assert cw['unknown'] == 2 and cw['buckets'][18] == 5\n"
		"assert h[('UNKNOWN', None)]['unknown'] == 1\n";
	char *t = capture(1, 0), *n;

	tap_check(golden("hist.json", t), "hist.json matches golden");
	tap_check(python_ok(t, script),
		  "python3 parses it: 48 bounds, 11 rows, the exact sum past 2^64 ns");
	n = capture(1, 1);
	tap_check(strstr(n, "\"scope\":\"netns\",\"netns_cookie\":4242,") != NULL,
		  "a namespace's document names its cookie");
	free(n);
	free(t);
}

static char said[1024];

/* dev_hist() with stderr captured into said[]. */
static int try_hist(uint64_t cookie, struct tcpclose_hist_row **rows)
{
	int saved = dup(STDERR_FILENO), pfd[2], n, rc, err;
	struct tcpclose_hist h;

	if (saved < 0 || pipe(pfd))
		tap_bail("pipe: %s", strerror(errno));
	dup2(pfd[1], STDERR_FILENO);
	close(pfd[1]);
	fake_calls = 0;
	rc = dev_hist(FAKE_FD, cookie, &h, rows);
	err = errno;
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(pfd[0], said, sizeof(said) - 1);
	said[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	tap_info("dev_hist: %d after %d calls, said: %s", rc, fake_calls, said);
	errno = err;
	return rc;
}

static void device(void)
{
	struct tcpclose_hist_row want[FAKE_ROWS], *rows = NULL;
	struct tcpclose_hist h;
	int n;

	fake_hist(&h, want);
	n = try_hist(77, &rows);
	tap_check(n == FAKE_ROWS && fake_calls == 2 && fake_cookie == 77 &&
		  rows && !memcmp(rows, want, sizeof(want)) && !*said,
		  "dev_hist asks how many rows, then reads them all, for the namespace asked");
	free(rows);
	fake_errno = ENOTTY;
	n = try_hist(0, &rows);
	tap_check(n == -1 && errno == ENOTTY && !rows &&
		  strstr(said, "has no state-duration histograms"),
		  "a module without histograms: ENOTTY, says so");
	fake_errno = ENODATA;
	n = try_hist(0, &rows);
	tap_check(n == -1 && errno == ENODATA &&
		  strstr(said, "no histograms of its own"),
		  "a namespace without histograms: ENODATA, says why");
	fake_errno = ENOENT;
	n = try_hist(99, &rows);
	tap_check(n == -1 && strstr(said, "no network namespace with cookie 99"),
		  "an unknown cookie: ENOENT, names it");
	fake_errno = 0;
}

int main(void)
{
	tap_plan(14);
	bounds();
	sums();
	human();
	json();
	device();
	return tap_finish();
}
