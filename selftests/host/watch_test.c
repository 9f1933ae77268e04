// SPDX-License-Identifier: GPL-2.0
/*
 * The exit status of tcpclose watch: 0 only for an end the user asked for
 * (--count, --duration, SIGTERM), 1 for every other end (end of file when
 * the module goes away, ENODEV, EBUSY, a read or poll error, a record it
 * cannot decode, a write error), each with its message; and columns that
 * stay aligned when IPv6 endpoints come.  The device is
 * stood in for: linked with --wrap=open,--wrap=ioctl,--wrap=read,--wrap=poll,
 * read() plays a script.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "commands.h"
#include "device.h"
#include "../tap.h"

int __real_open(const char *path, int flags, ...);
int __real_ioctl(int fd, unsigned long req, ...);
ssize_t __real_read(int fd, void *buf, size_t len);
int __real_poll(struct pollfd *p, nfds_t n, int timeout);

enum { RECORDS = 1, BIG, OLD, END, FAIL, TERM, MIXED };

/* What each read() of the device does: an action and its argument. */
static int script[8][2];
static int step, fake_fd = -1, poll_errno;

int __wrap_open(const char *path, int flags, ...)
{
	if (strcmp(path, TCPCLOSE_DEVICE))
		return __real_open(path, flags, 0);
	fake_fd = __real_open("/dev/null", flags);
	return fake_fd;
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	struct tcpclose_stats *st;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != fake_fd)
		return __real_ioctl(fd, req, arg);
	if (req == TCPCLOSE_IOC_VERSION) {
		*(uint32_t *)arg = TCPCLOSE_ABI_VERSION;
	} else if (req == TCPCLOSE_IOC_STATS) {
		st = arg;
		memset(st, 0, sizeof(*st));
		st->size = sizeof(*st);
		st->version = TCPCLOSE_ABI_VERSION;
	} else if (req != TCPCLOSE_IOC_SET_FILTER) {
		errno = ENOTTY;
		return -1;
	}
	return 0;
}

int __wrap_poll(struct pollfd *p, nfds_t n, int timeout)
{
	if (p[0].fd != fake_fd)
		return __real_poll(p, n, timeout);
	if (poll_errno) {
		errno = poll_errno;
		return -1;
	}
	p[0].revents = POLLIN;
	return 1;
}

static size_t records(void *buf, int n, uint16_t size, uint8_t version)
{
	struct tcpclose_event ev = {
		.size = size, .version = version, .family = AF_INET,
		.oldstate = TCPCLOSE_ESTABLISHED,
		.newstate = TCPCLOSE_CLOSE_WAIT, .sport = 80, .dport = 4000,
	};

	for (int i = 0; i < n; i++) {
		ev.cookie = i + 1;
		memset((char *)buf + i * size, 0xee, size);
		memcpy((char *)buf + i * size, &ev, sizeof(ev));
	}
	return n * size;
}

/* IPv4, a long IPv6 endpoint, IPv4 again: n records. */
static size_t mixed(void *buf, int n)
{
	size_t len = records(buf, n, sizeof(struct tcpclose_event),
			     TCPCLOSE_ABI_VERSION);
	struct tcpclose_event *ev = buf;

	for (int i = 1; i < n; i += 2) {
		ev[i].family = AF_INET6;
		memset(ev[i].daddr, 0xab, 16);
	}
	return len;
}

ssize_t __wrap_read(int fd, void *buf, size_t len)
{
	int what, arg;

	if (fd != fake_fd)
		return __real_read(fd, buf, len);
	if (step >= 8 || !script[step][0]) {
		usleep(10000);
		errno = EAGAIN;
		return -1;
	}
	what = script[step][0];
	arg = script[step++][1];
	switch (what) {
	case RECORDS:
		return records(buf, arg, sizeof(struct tcpclose_event),
			       TCPCLOSE_ABI_VERSION);
	case BIG:
		return records(buf, arg, sizeof(struct tcpclose_event) + 16,
			       TCPCLOSE_ABI_VERSION);
	case MIXED:
		return mixed(buf, arg);
	case OLD:
		return records(buf, arg, sizeof(struct tcpclose_event),
			       TCPCLOSE_ABI_VERSION - 1);
	case END:
		return 0;
	case TERM:
		raise(SIGTERM);
		errno = EINTR;
		return -1;
	}
	errno = arg;
	return -1;
}

static char said[4096], shown[65536];

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
}

/* tcpclose watch ARGS... with its stdout in shown[] (or to_path). */
static int watch(const char *to_path, ...)
{
	char *argv[16] = { "watch" }, out[] = "/tmp/tcpclose-outXXXXXX";
	char err[] = "/tmp/tcpclose-errXXXXXX";
	int argc = 1, o = mkstemp(out), e = mkstemp(err), so, se, rc;
	va_list ap;

	va_start(ap, to_path);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	fflush(stdout);
	so = dup(1);
	se = dup(2);
	dup2(to_path ? open(to_path, O_WRONLY) : o, 1);
	dup2(e, 2);
	optind = 0;
	step = 0;
	rc = cmd_watch(argc, argv);
	fflush(stdout);
	fflush(stderr);
	clearerr(stdout);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(o, shown, sizeof(shown));
	slurp(e, said, sizeof(said));
	close(o);
	close(e);
	unlink(out);
	unlink(err);
	tap_info("exit %d, said: %s", rc, said);
	return rc;
}

static void set(int i, int what, int arg)
{
	script[i][0] = what;
	script[i][1] = arg;
}

static int lines(const char *s)
{
	int n = 0;

	while ((s = strchr(s, '\n'))) {
		s++;
		n++;
	}
	return n;
}

static void unasked_ends(void)
{
	memset(script, 0, sizeof(script));
	set(0, RECORDS, 2);
	set(1, END, 0);
	tap_check(watch(NULL, "--no-owner", NULL) == EXIT_ERROR &&
		  lines(shown) == 3 && strstr(said, "going away"),
		  "end of file (module unloaded): records shown, exit 1");
	set(0, FAIL, ENODEV);
	tap_check(watch(NULL, "--no-owner", NULL) == EXIT_ERROR &&
		  strstr(said, "going away"), "ENODEV: exit 1");
	set(0, FAIL, EBUSY);
	tap_check(watch(NULL, "--no-owner", NULL) == EXIT_ERROR &&
		  strstr(said, "too many readers (module parameter max_readers)"),
		  "EBUSY: exit 1, too many readers");
	set(0, FAIL, EIO);
	tap_check(watch(NULL, "--no-owner", "--json", NULL) == EXIT_ERROR &&
		  strstr(said, "Input/output error"), "a read error: exit 1");
	memset(script, 0, sizeof(script));
	poll_errno = EBADF;
	tap_check(watch(NULL, "--no-owner", NULL) == EXIT_ERROR &&
		  strstr(said, "poll /dev/tcpclose: Bad file descriptor"),
		  "a poll error: exit 1");
	poll_errno = 0;
	set(0, BIG, 2);
	set(1, OLD, 1);
	tap_check(watch(NULL, "--no-owner", "--json", NULL) == EXIT_ERROR &&
		  lines(shown) == 2 && strstr(said, "ABI version 1"),
		  "longer records shown, one of another version: exit 1, says why");
	memset(script, 0, sizeof(script));
	set(0, RECORDS, 3);
	tap_check(watch("/dev/full", "--no-owner", "-d", "0.3", NULL) ==
		  EXIT_ERROR && strstr(said, "write error on standard output"),
		  "stdout on a full disk: exit 1, write error");
}

/* Where what is in the line at line; -1 if not there. */
static long col_in_line(const char *line, const char *what)
{
	const char *end = strchr(line, '\n'), *p = strstr(line, what);

	return p && (!end || p < end) ? p - line : -1;
}

/* Every record's TRANSITION starts where the header above it says. */
static void ipv6_columns(void)
{
	const char *header = NULL;
	int headers = 0, ok = 1;

	memset(script, 0, sizeof(script));
	set(0, MIXED, 3);
	watch(NULL, "--no-owner", "--count", "3", NULL);
	for (const char *l = shown; *l; l = strchr(l, '\n') + 1) {
		if (!strncmp(l, "TIME ", 5)) {
			header = l;
			headers++;
		} else {
			ok &= header && col_in_line(l, "ESTABLISHED>") ==
					col_in_line(header, "TRANSITION");
		}
	}
	if (!ok || headers != 2)
		tap_info("shown:\n%s", shown);
	tap_check(ok && headers == 2 &&
		  strstr(shown, "[abab:abab:abab:abab:abab:abab:abab:abab]:4000 "),
		  "human watch: a long IPv6 endpoint widens the columns under a new header; every line aligned");
}

static void asked_ends(void)
{
	memset(script, 0, sizeof(script));
	set(0, RECORDS, 3);
	set(1, END, 0);
	tap_check(watch(NULL, "--count", "2", NULL) == EXIT_OK &&
		  lines(shown) == 3 && !*said,
		  "--count 2: two records, exit 0 (owners looked up)");
	memset(script, 0, sizeof(script));
	tap_check(watch(NULL, "--no-owner", "--duration", "0.3", NULL) ==
		  EXIT_OK && !*said, "--duration: exit 0");
	set(0, RECORDS, 1);
	set(1, TERM, 0);
	set(2, END, 0);
	tap_check(watch(NULL, "--no-owner", NULL) == EXIT_OK &&
		  lines(shown) == 2, "SIGTERM: exit 0");
	signal(SIGTERM, SIG_DFL);
}

int main(void)
{
	tap_plan(11);
	unasked_ends();
	asked_ends();
	ipv6_columns();
	return tap_finish();
}
