/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Text that reaches a terminal or a JSON parser.  Names (comm) come from
 * processes and may hold any bytes: a newline would forge an output line,
 * an ESC would reach the terminal, and a name cut at 15 bytes by the kernel
 * may end in half a UTF-8 character.
 *
 * Human output: valid, printable UTF-8 is kept; a backslash is doubled;
 * every other byte (controls, DEL, C1 controls, line separators, bidi
 * overrides, invalid UTF-8) is written as \xNN.  JSON output is valid UTF-8 for any input:
 * controls as \u00NN, each byte of invalid UTF-8 as \ufffd.
 */
#ifndef TCPCLOSE_TEXT_H
#define TCPCLOSE_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Writes s[0..n) (or up to a NUL) escaped for humans; never cuts an escape. */
void tc_escape(char *buf, size_t len, const char *s, size_t n);
void tc_print_escaped(FILE *f, const char *s, size_t n);
/* A JSON string of s[0..n), stopping at a NUL. */
void tc_json_strn(FILE *f, const char *s, size_t n);
void tc_json_string(FILE *f, const char *s);

/*
 * util-linux's close_stdout: a write error on stdout (a full disk, a
 * closed pipe is not one) must not end in exit status 0.  Returns 0, or
 * -1 after saying why.
 */
int tc_close_stdout(void);
/* For long-running output: -1 after saying why if stdout failed. */
int tc_flush_stdout(void);

#endif
