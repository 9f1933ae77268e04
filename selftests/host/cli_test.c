// SPDX-License-Identifier: GPL-2.0
/*
 * The stuck command line as a user types it, through build/tcpclose: the
 * options of service attribution and summaries are taken or refused with
 * exit status 2.  Runs that reach sock_diag need this host to be without
 * the module (stuck then lists through sock_diag alone), as output_test.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "commands.h"
#include "device.h"
#include "../tap.h"

static char out[65536];

/* Runs build/tcpclose ARGS; stdout and stderr in out[]; its exit status. */
static int run(const char *args)
{
	char cmd[512];
	size_t n;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "build/tcpclose %s 2>&1", args);
	p = popen(cmd, "r");
	if (!p)
		tap_bail("popen");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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

int main(void)
{
	tap_plan(3);
	usage();
	taken();
	return tap_finish();
}
