// SPDX-License-Identifier: GPL-2.0
/*
 * The reader against a leaking server: `tcpclose stuck` names the process,
 * fd, unread bytes and age of each socket stuck in CLOSE_WAIT, including a
 * leak that began before the module was loaded; `tcpclose watch --json`
 * streams the sockets' end when the server dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib.h"

static char out[65536];

static int run(const char *cmd)
{
	return run_capture(cmd, out, sizeof(out));
}

/* The flat JSON object of a socket in `out`, by cookie. */
static const char *sock_json(uint64_t cookie, char *buf, size_t len)
{
	char key[64];
	const char *s, *start, *end;

	snprintf(key, sizeof(key), "\"cookie\":%llu,", (unsigned long long)cookie);
	s = strstr(out, key);
	if (!s)
		return "";
	for (start = s; start > out && *start != '{'; start--)
		;
	end = strchr(s, '}');
	snprintf(buf, len, "%.*s", (int)(end - start + 1), start);
	return buf;
}

static int has(const char *obj, const char *fmt, long v)
{
	char want[128];

	snprintf(want, sizeof(want), fmt, v);
	return strstr(obj, want) != NULL;
}

static int leak(int lfd, int port, const char *data, size_t len,
		uint64_t *cookie)
{
	int c = tcp_connect(AF_INET, "127.0.0.1", port);
	int s = tcp_accept(lfd);

	*cookie = sock_cookie(s);
	xwrite(c, data, len);
	close(c);
	return s;
}

int main(void)
{
	char big[100] = { 0 }, o1[1024], o2[1024], cmd[256];
	uint64_t c1, c2;
	int lfd, port = 0, s1, s2, rc;
	const char *j1, *j2;
	pid_t kid;

	tap_plan(13);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	if (syscall(SYS_delete_module, "tcpclose", O_NONBLOCK))
		tap_bail("rmmod: %s", strerror(errno));
	s1 = leak(lfd, port, "seven b", 7, &c1);
	sleep_ms(200);
	if (sh("insmod /lib/modules/tcpclose.ko"))
		tap_bail("insmod failed");
	s2 = leak(lfd, port, big, sizeof(big), &c2);

	kid = fork();
	if (!kid) {
		prctl(PR_SET_NAME, "leaky_server");
		pause();
		_exit(0);
	}
	close(s1);
	close(s2);
	sleep_ms(2500);

	rc = run(READER " stuck --min-age 1 --json");
	j1 = sock_json(c1, o1, sizeof(o1));
	j2 = sock_json(c2, o2, sizeof(o2));
	tap_check(rc == 0 && *j1 && *j2, "stuck --json lists both leaked sockets");
	tap_check(has(j1, "\"pid\":%ld,", kid) && has(j1, "\"fd\":%ld,", s1) &&
		  strstr(j1, "\"comm\":\"leaky_server\"") &&
		  has(j1, "\"unread\":%ld,", 7),
		  "leak from before load: pid, fd, comm, 7 unread bytes");
	tap_check(strstr(j1, "\"age_known\":false") != NULL,
		  "leak from before load: age only bounded by module uptime");
	tap_check(has(j2, "\"pid\":%ld,", kid) && has(j2, "\"fd\":%ld,", s2) &&
		  has(j2, "\"unread\":%ld,", 100) &&
		  strstr(j2, "\"age_known\":true") &&
		  strstr(j2, "\"state\":\"CLOSE_WAIT\""),
		  "leak seen by the module: pid, fd, 100 unread bytes, known age");
	{
		const char *a = strstr(j2, "\"age_ns\":");
		double age = a ? strtod(a + 9, NULL) / 1e9 : 0;

		tap_check(age >= 2.4 && age < 30, "its age is %.2fs (>= 2.5s)", age);
	}
	tap_check(strstr(out, "\"processes\":[{\"pid\":") &&
		  strstr(out, "\"count\":2"), "per-process summary: 2 sockets");

	rc = run(READER " stuck --min-age 1");
	tap_check(rc == 0 && strstr(out, "leaky_server") &&
		  strstr(out, "2 sockets in CLOSE_WAIT") && strstr(out, ">="),
		  "human report names the process and the count");
	tap_check(run(READER " stuck --min-age 1 --fail-if 2") == 3 &&
		  run(READER " stuck --min-age 1 --fail-if 3") == 0,
		  "--fail-if exits 3 at the threshold, 0 below it");
	rc = run(READER " stuck --min-age 1h");
	tap_check(rc == 0 && strstr(out, "?") && strstr(out, "leaky_server"),
		  "--min-age 1h: the leak from before load may be that old: listed, age unknown");
	rc = run(READER " stuck --min-age 1h --known-only");
	tap_check(rc == 0 && strstr(out, "no sockets known to be stuck") &&
		  strstr(out, "1 more socket"),
		  "--min-age 1h --known-only: nothing listed, the unknown-age leak mentioned");

	/* A stream starts at its first read: watch is running before the kill. */
	snprintf(cmd, sizeof(cmd), READER " watch --json -p %d -d 5 & "
		 "sleep 2; kill %d; wait", port, kid);
	run(cmd);
	tap_check(strstr(out, "\"old\":\"CLOSE_WAIT\",\"new\":\"CLOSE\"") &&
		  !strstr(out, "\"old\":\"CLOSE_WAIT\",\"new\":\"LAST_ACK\""),
		  "watch --json: the dying server's sockets reset (unread data)");
	tap_check(count_of(out, "\"old\":\"FIN_WAIT2\",\"new\":\"CLOSE\"") == 2 &&
		  count_of(out, "\"reason\":\"rst\"") == 2 &&
		  !strstr(out, "\"cookie\":0,"),
		  "both clients' timewait sockets end by RST, each with a cookie, "
		  "even the one created before load");
	waitpid(kid, NULL, 0);
	rc = run(READER " stuck --min-age 0");
	tap_check(rc == 0 && !strstr(out, "leaky_server"),
		  "after the server died nothing is stuck");
	return tap_finish();
}
