/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TCPCLOSE_COMMANDS_H
#define TCPCLOSE_COMMANDS_H

int cmd_watch(int argc, char **argv);
int cmd_stuck(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
/* Prints "tcpclose CMD: MSG" and returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
