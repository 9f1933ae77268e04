// SPDX-License-Identifier: GPL-2.0
#include "tap.h"

static int planned, done, failed, skipped;

void tap_plan(int n)
{
	planned = n;
	printf("TAP version 13\n1..%d\n", n);
	fflush(stdout);
}

static void tap_line(const char *status, const char *directive,
		     const char *fmt, va_list ap)
{
	printf("%s %d ", status, ++done);
	vprintf(fmt, ap);
	printf("%s\n", directive);
	fflush(stdout);
}

int tap_check(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line(cond ? "ok" : "not ok", "", fmt, ap);
	va_end(ap);
	if (!cond)
		failed++;
	return cond;
}

void tap_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line("ok", " # SKIP", fmt, ap);
	va_end(ap);
	skipped++;
}

void tap_info(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void tap_bail(const char *fmt, ...)
{
	va_list ap;

	printf("# bail out: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	while (done < planned)
		tap_check(0, "not reached");
	exit(tap_finish());
}

int tap_finish(void)
{
	int passed = done - failed - skipped;

	if (done != planned)
		printf("# planned %d checks, ran %d\n", planned, done);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n",
	       passed, failed, skipped);
	fflush(stdout);
	if (failed || done != planned)
		return KSFT_FAIL;
	if (skipped && !passed)
		return KSFT_SKIP;
	return KSFT_PASS;
}
