// SPDX-License-Identifier: GPL-2.0
/* tcpclose: read /dev/tcpclose.  See tcpclose(8). */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "device.h"
#include "text.h"

#ifndef TCPCLOSE_VERSION
#define TCPCLOSE_VERSION "0.1"
#endif

static const char main_help[] =
"Usage: tcpclose COMMAND [OPTIONS]\n"
"Show how TCP connections close, and find the sockets that never do.\n"
"\n"
"Commands:\n"
"  watch    stream close-state transitions as they happen\n"
"  stuck    sockets stuck in CLOSE_WAIT (or other states), with owners\n"
"  stats    module counters: events, drops, live table\n"
"  metrics  Prometheus metrics per service, for node_exporter\n"
"\n"
"'tcpclose COMMAND --help' describes each; tcpclose(8) has the details.\n"
"Needs the tcpclose module (modprobe tcpclose) and root (CAP_NET_ADMIN).\n"
"\n"
"Exit status: 0 success, 1 error (module, permission, ABI, a write error\n"
"on standard output, a watch stream that ended unasked), 2 usage,\n"
"3 'stuck --fail-if' threshold reached.\n";

static int run(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(main_help, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "help")) {
		fputs(main_help, stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("tcpclose %s (ABI %d)\n", TCPCLOSE_VERSION,
		       TCPCLOSE_ABI_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "watch"))
		return cmd_watch(argc - 1, argv + 1);
	if (!strcmp(cmd, "stuck"))
		return cmd_stuck(argc - 1, argv + 1);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(argc - 1, argv + 1);
	if (!strcmp(cmd, "metrics"))
		return cmd_metrics(argc - 1, argv + 1);
	fprintf(stderr, "tcpclose: unknown command '%s'; see 'tcpclose --help'\n",
		cmd);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	int rc = run(argc, argv);

	/* A report cut short by a full disk must not end with status 0. */
	if (tc_close_stdout() && rc != EXIT_USAGE)
		rc = EXIT_ERROR;
	return rc;
}
