/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal KTAP emitter with kselftest's conventions: exit 0 when all
 * passed, 1 on any failure, 4 when everything was skipped.
 */
#ifndef TCPCLOSE_TAP_H
#define TCPCLOSE_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

void tap_plan(int n);
/* Records one check; returns cond so that callers can stop early. */
int tap_check(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tap_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Fails every check still planned, then exits. */
void tap_bail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
int tap_finish(void);

#endif
