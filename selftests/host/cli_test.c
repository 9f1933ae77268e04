// SPDX-License-Identifier: GPL-2.0
/*
 * The stuck command line as a user types it, through build/tcpclose: the
 * options of service attribution, summaries and --interval are taken or
 * refused with exit status 2; the --interval loop gives one JSON document
 * a line, a banner per human report, stops at --count, SIGINT or SIGTERM
 * with status 0, and at a write error with status 1 instead of looping on.
 * Runs that reach sock_diag need this host to be without the module
 * (stuck then lists through sock_diag alone), as output_test.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "commands.h"
#include "device.h"
#include "../tap.h"

static char out[65536];

/* Runs a shell command; its stdout in out[]; its exit status. */
static int sh(const char *cmd)
{
	size_t n;
	FILE *p;
	int st;

	p = popen(cmd, "r");
	if (!p)
		tap_bail("popen");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs build/tcpclose ARGS; stdout and stderr in out[]; its exit status. */
static int run(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "build/tcpclose %s 2>&1", args);
	return sh(cmd);
}

static int refused(const char *args, const char *why)
{
	int rc = run(args);

	if (rc != EXIT_USAGE || !strstr(out, why)) {
		tap_info("$ tcpclose %s: exit %d, said: %s", args, rc, out);
		return 0;
	}
	return 1;
}

static void usage(void)
{
	tap_check(refused("stuck --group-by nope", "bad --group-by 'nope'") &&
		  refused("stuck --group-by peer,peer", "each once") &&
		  refused("stuck --group-by ''", "bad --group-by"),
		  "--group-by: an unknown key, a key twice or none: exit 2");
	tap_check(refused("stuck --cgroup system.slice", "bad cgroup 'system.slice'"),
		  "--cgroup: a relative path: exit 2");
	tap_check(refused("stuck --interval 0.05", "bad --interval '0.05'") &&
		  refused("stuck -i 0", "bad --interval") &&
		  refused("stuck -i soon", "bad --interval") &&
		  refused("stuck -i 1 --count 0", "bad --count") &&
		  refused("stuck --count 3", "--count goes with --interval") &&
		  refused("stuck -i 5 --fail-if 3", "--fail-if is for one report"),
		  "--interval below 0.1 s or not a time, --count without it, with --fail-if: exit 2");
}

static int has_device(const char *what)
{
	if (access(TCPCLOSE_DEVICE, F_OK))
		return 0;
	tap_skip("%s: this host has %s", what, TCPCLOSE_DEVICE);
	return 1;
}

static void taken(void)
{
	int rc;

	if (has_device("stuck --group-by lport --cgroup /system.slice/"))
		return;
	rc = run("stuck --min-age 0 --json -g lport,service -U x "
		 "-C /system.slice/ 2>/dev/null");
	tap_check(rc == 0 && strstr(out, "\"group_by\":[\"lport\",\"service\"]") &&
		  strstr(out, "\"count\":0,") &&
		  strstr(out, "\"processes\":null"),
		  "--group-by, --unit and --cgroup taken (a trailing / too)");
}

/* Every line of out[] is a JSON object with a time; n lines. */
static int json_lines(int n)
{
	static const char script[] =
		"import json, sys\n"
		"ls = open(sys.argv[1], encoding='utf-8').read().split('\\n')\n"
		"assert ls[-1] == '', 'no final newline'\n"
		"for l in ls[:-1]:\n"
		"    d = json.loads(l)\n"
		"    assert d['schema'] == 2 and d['time'].endswith('Z'), l\n"
		"assert len(ls) - 1 == int(sys.argv[2]), len(ls) - 1\n";
	char path[] = "/tmp/tcpclose-cliXXXXXX", *cmd;
	int fd = mkstemp(path), rc;

	if (fd < 0 || write(fd, out, strlen(out)) < 0)
		return 0;
	close(fd);
	if (asprintf(&cmd, "python3 - %s %d <<'PY'\n%sPY\n", path, n,
		     script) < 0)
		return 0;
	rc = system(cmd);
	free(cmd);
	unlink(path);
	return rc == 0;
}

static int count_of(const char *needle)
{
	int n = 0;

	for (const char *p = out; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void interval(void)
{
	double t;
	int rc;

	if (has_device("stuck --interval"))
		return;
	t = now();
	rc = sh("build/tcpclose stuck -i 0.2 --count 3 --json --min-age 0 -s LISTEN,CLOSE_WAIT 2>/dev/null");
	t = now() - t;
	tap_check(rc == 0 && json_lines(3) && t >= 0.39,
		  "--interval 0.2 --count 3 --json: three documents, one a line, each with its time, 0.2 s apart (%.2f s)", t);
	rc = sh("build/tcpclose stuck -i 0.1 --count 2 2>/dev/null");
	tap_check(rc == 0 && !strncmp(out, "--- ", 4) &&
		  count_of(", every 100ms ---\n") == 2 &&
		  count_of("\n\n--- ") == 1,
		  "human reports: a banner with the time each, a blank line between");
	rc = sh("build/tcpclose stuck -i 0.1 --count 3 2>&1 >/dev/null");
	tap_check(rc == 0 && count_of("not found (module not loaded)") == 1,
		  "three reports without the module: the warning once, not once a report");
	t = now();
	rc = sh("timeout 20 build/tcpclose stuck -i 0.1 --json 2>&1 >/dev/full");
	tap_check(rc == EXIT_ERROR && now() - t < 10 &&
		  count_of("write error on standard output") == 1,
		  "--interval > /dev/full: exit 1 at once, said once, no endless loop");
}

/* Sends SIG after a second; the loop must end at once with status 0. */
static void stopped_by(const char *sig)
{
	char cmd[256];
	double t;
	int rc;

	if (has_device("stuck --interval and a signal"))
		return;
	snprintf(cmd, sizeof(cmd),
		 "build/tcpclose stuck -i 30 --json --min-age 0 2>/dev/null & "
		 "p=$!; sleep 1; kill -%s $p; wait $p", sig);
	t = now();
	rc = sh(cmd);
	t = now() - t;
	tap_check(rc == 0 && json_lines(1) && t < 10,
		  "--interval 30, SIG%s during the pause: exit 0 at once (%.1f s), the report whole",
		  sig, t);
}

int main(void)
{
	tap_plan(10);
	usage();
	taken();
	interval();
	stopped_by("INT");
	stopped_by("TERM");
	return tap_finish();
}
