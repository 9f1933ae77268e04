// SPDX-License-Identifier: GPL-2.0
/*
 * `tcpclose stuck` on a host like a fleet's: leaking services in their own
 * cgroups, a socket shared by two processes, a leak in another network
 * namespace from before the module was loaded, and a live table that
 * overflows (table_size=16).
 *  - leak-a.service (3 sockets) and leak-b.service (2, each held by a
 *    process and its forked worker) in cgroup v2 groups, named right, with
 *    every holder, and found by --unit and --cgroup;
 *  - the leak in netns "old" is listed from the initial namespace, with
 *    its netns, age "older than the load";
 *  - a real node_exporter (Debian's) serves them from its textfile
 *    collector, written by `tcpclose metrics --textfile`;
 *  - 20 more leaks overflow the table: those not tracked are listed with
 *    an unknown age ("table full"), and count towards --fail-if.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib.h"

#define CG "/sys/fs/cgroup"

static char out[262144];
static pid_t kids[8];
static int nkids;

static int run(const char *cmd)
{
	return run_capture(cmd, out, sizeof(out));
}

/* The "sockets" array of the last JSON report. */
static const char *sockets_part(void)
{
	char *end = strstr(out, "],\"group_by\"");

	if (end)
		*end = '\0';
	return out;
}

static void kill_kids(void)
{
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
}

/* n CLOSE_WAIT sockets on a new listener; their fds in fds[]; its port. */
static int make_leaks(int n, int *fds)
{
	int port = 0, lfd = tcp_listen(AF_INET, "127.0.0.1", &port);

	for (int i = 0; i < n; i++) {
		int c = tcp_connect(AF_INET, "127.0.0.1", port);

		fds[i] = tcp_accept(lfd);
		close(c);
	}
	close(lfd);
	return port;
}

/*
 * A process that holds fds[0..n) and sleeps, in cgroup @cg (NULL: this
 * one), named @comm; with @worker, it forks a worker that holds them too.
 * Our copies are closed.  Returns its pid (the worker's in *wpid).
 */
static pid_t holder(const int *fds, int n, const char *cg, const char *comm,
		    int worker, pid_t *wpid)
{
	int ready[2];
	pid_t pid, w = 0;

	if (pipe(ready))
		tap_bail("pipe");
	pid = fork();
	if (!pid) {
		if (cg && sh("echo %d >" CG "%s/cgroup.procs", getpid(), cg))
			_exit(1);
		prctl(PR_SET_NAME, comm);
		if (worker) {
			w = fork();
			if (!w) {
				prctl(PR_SET_NAME, "leak_worker");
				pause();
				_exit(0);
			}
		}
		if (write(ready[1], &w, sizeof(w)) != sizeof(w))
			_exit(1);
		pause();
		_exit(0);
	}
	if (read(ready[0], &w, sizeof(w)) != sizeof(w))
		tap_bail("holder %s did not start", comm);
	close(ready[0]);
	close(ready[1]);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	kids[nkids++] = pid;
	if (w)
		kids[nkids++] = w;
	if (wpid)
		*wpid = w;
	return pid;
}

/* A CLOSE_WAIT leak in netns "old", from before the load; its pid. */
static pid_t old_leak(void)
{
	int fd;

	if (sh("%s netns add old && %s -n old link set lo up", tool("ip"),
	       tool("ip")))
		tap_bail("netns old");
	kids[nkids] = fork();
	if (!kids[nkids]) {
		enter_netns("old");
		make_leaks(1, &fd);
		prctl(PR_SET_NAME, "old_leak");
		pause();
		_exit(0);
	}
	return kids[nkids++];
}

/* A line of out: NAME{...} VALUE holding both labels, in any order. */
static int has_series(const char *name, const char *l1, const char *l2,
		      const char *value)
{
	char *copy = strdup(out), *line;
	int found = 0;

	for (line = strtok(copy, "\n"); line && !found;
	     line = strtok(NULL, "\n")) {
		const char *sp = strrchr(line, ' ');

		found = !strncmp(line, name, strlen(name)) &&
			strchr("{ ", line[strlen(name)]) && strstr(line, l1) &&
			strstr(line, l2) && sp && !strcmp(sp + 1, value);
	}
	free(copy);
	return found;
}

/* node_exporter's textfile collector serving tcpclose metrics --textfile. */
static int scrape(void)
{
	pid_t ne;
	int rc = -1;

	if (sh("mkdir -p /tmp/tf && " READER " metrics --textfile /tmp/tf"))
		return -1;
	ne = fork();
	if (!ne) {
		execl("/usr/bin/prometheus-node-exporter", "node_exporter",
		      "--collector.disable-defaults", "--collector.textfile",
		      "--collector.textfile.directory=/tmp/tf",
		      "--web.listen-address=127.0.0.1:9100", (char *)NULL);
		_exit(127);
	}
	kids[nkids++] = ne;
	for (int i = 0; i < 100 && rc; i++) {
		sleep_ms(200);
		rc = sh("wget -q -O /tmp/scrape http://127.0.0.1:9100/metrics 2>/dev/null");
	}
	return rc ? rc : run("grep -e '^tcpclose_sockets{' -e '^node_textfile' /tmp/scrape");
}

static int json_num(const char *key)
{
	char k[64];
	const char *s;

	snprintf(k, sizeof(k), "\"%s\":", key);
	s = strstr(out, k);
	return s ? atoi(s + strlen(k)) : -1;
}

int main(void)
{
	int a[3], b[2], c[20], pa, pb, pc, rc, known, unknown;
	pid_t ha, hb, wb;
	struct stat old;
	char cmd[256], want[128];

	tap_plan(11);
	atexit(kill_kids);
	if (syscall(SYS_delete_module, "tcpclose", O_NONBLOCK))
		tap_bail("rmmod tcpclose");
	old_leak();
	sleep_ms(300);
	if (sh("insmod /lib/modules/tcpclose.ko table_size=16"))
		tap_bail("insmod table_size=16");
	if (stat("/run/netns/old", &old))
		tap_bail("no /run/netns/old");
	if (sh("mkdir -p " CG " && (grep -q cgroup2 /proc/mounts || mount -t cgroup2 none " CG ") && "
	       "mkdir -p " CG "/system.slice/leak-a.service " CG "/system.slice/leak-b.service"))
		tap_bail("cgroup2");

	pa = make_leaks(3, a);
	ha = holder(a, 3, "/system.slice/leak-a.service", "leak_a", 0, NULL);
	pb = make_leaks(2, b);
	hb = holder(b, 2, "/system.slice/leak-b.service", "leak_b", 1, &wb);
	sleep_ms(1100);

	snprintf(cmd, sizeof(cmd), READER " stuck -m 0 -p %d --json", pa);
	rc = run(cmd);
	sockets_part();
	snprintf(want, sizeof(want), "\"pid\":%d,", ha);
	tap_check(rc == 0 && json_num("count") == 3 &&
		  count_of(out, "\"service\":\"leak-a.service\",\"service_kind\":\"unit\",\"cgroup\":\"/system.slice/leak-a.service\"") == 3 &&
		  count_of(out, want) == 3,
		  "leak-a.service: 3 sockets, each held by pid %d in its unit", ha);
	snprintf(cmd, sizeof(cmd), READER " stuck -m 0 -p %d --json", pb);
	rc = run(cmd);
	sockets_part();
	snprintf(want, sizeof(want), "\"pid\":%d,", wb);
	tap_check(rc == 0 && json_num("count") == 2 &&
		  count_of(out, "\"service\":\"leak-b.service\"") == 4 &&
		  count_of(out, want) == 2 &&
		  (snprintf(want, sizeof(want), "\"pid\":%d,", hb),
		   count_of(out, want) == 2),
		  "leak-b.service: 2 sockets, each held by both %d and its worker %d",
		  hb, wb);
	rc = run(READER " stuck -m 0 --unit leak-a --json");
	tap_check(rc == 0 && json_num("count") == 3, "--unit leak-a: its 3 sockets");
	rc = run(READER " stuck -m 0 --cgroup /system.slice --json");
	tap_check(rc == 0 && json_num("count") == 5,
		  "--cgroup /system.slice: both services' 5 sockets");
	rc = scrape();
	tap_check(rc == 0 &&
		  has_series("tcpclose_sockets", "service=\"leak-a.service\"",
			     "state=\"CLOSE_WAIT\"", "3") &&
		  has_series("tcpclose_sockets", "service=\"leak-b.service\"",
			     "comm=\"leak_b\"", "2") &&
		  has_series("node_textfile_scrape_error", "", "", "0"),
		  "node_exporter's textfile collector serves them: leak-a.service 3, leak-b.service 2");
	rc = run(READER " stuck -m 0");
	tap_check(rc == 0 && strstr(out, "SERVICE") &&
		  strstr(out, "by service") &&
		  strstr(out, "2 sockets in CLOSE_WAIT") &&
		  strstr(out, "leak-b.service") && strstr(out, "leak_worker"),
		  "human report: SERVICE column, summary by service, every holder");

	/* The leak in netns "old" from before the load, seen from here. */
	rc = run(READER " stuck -m 0 --json");
	snprintf(want, sizeof(want), "\"netns\":%lu,", (unsigned long)old.st_ino);
	{
		static const char before[] =
			"\"age_known\":false,\"age_reason\":\"before load\"";
		const char *s = strstr(out, want), *o, *k = NULL;

		for (o = s; o && o > out && strncmp(o, "{\"state\"", 8); o--)
			;
		if (o)
			k = strstr(o, "\"age_known\"");
		tap_check(rc == 0 && s && k &&
			  !strncmp(k, before, strlen(before)) &&
			  strstr(o, "\"comm\":\"old_leak\""),
			  "the leak in netns old (%lu) from before the load: listed, its owner named, age older than the load",
			  (unsigned long)old.st_ino);
	}

	/*
	 * 16 slots, 5 taken above; each client also holds one from FIN_WAIT1
	 * to its handoff, so about 10 of these 20 are tracked.
	 */
	pc = make_leaks(20, c);
	holder(c, 20, NULL, "leak_c", 0, NULL);
	sleep_ms(500);
	snprintf(cmd, sizeof(cmd), READER " stuck -m 0 -p %d --json", pc);
	rc = run(cmd);
	known = count_of(out, "\"age_known\":true");
	unknown = count_of(out, "\"age_reason\":\"table full\"");
	tap_check(rc == 0 && json_num("count") == 20 &&
		  json_num("table_overflow") >= unknown &&
		  known + unknown == 20 && known >= 1 && known <= 11 &&
		  json_num("unknown_age") == unknown,
		  "table overflow: 20 listed, %d with their age, %d 'age unknown: table full'",
		  known, unknown);
	snprintf(cmd, sizeof(cmd), READER " stuck -m 0 -p %d", pc);
	rc = run(cmd);
	tap_check(rc == 0 && strstr(out, "live table overflowed") &&
		  strstr(out, "table_size"),
		  "the human report says why, and what to raise");
	snprintf(cmd, sizeof(cmd), READER " stuck -m 0 -p %d --fail-if 20", pc);
	tap_check(run(cmd) == 3, "--fail-if 20: unknown ages count (exit 3)");
	snprintf(cmd, sizeof(cmd),
		 READER " stuck -m 0 -p %d --known-only --fail-if %d", pc,
		 known + 1);
	tap_check(run(cmd) == 0, "--known-only --fail-if %d: only the %d known count (exit 0)",
		  known + 1, known);
	return tap_finish();
}
