// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio_ext.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "device.h"
#include "text.h"

/*
 * The length of the valid UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * Code points a terminal would act on rather than show: C0 and C1
 * controls, DEL, line and paragraph separators, bidi embeddings,
 * overrides and isolates (which reorder what follows on the line).
 */
static int unprintable(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* What walk() found: a sequence to keep, or one to escape. */
enum piece { KEEP, CONTROL, INVALID };

/*
 * Calls out() for each piece of s[0..n) up to a NUL: a printable UTF-8
 * sequence, an unprintable one (code point cp), or one invalid byte.
 */
static void walk(const char *s, size_t n,
		 void (*out)(void *ctx, const char *p, size_t len,
			     enum piece kind, uint32_t cp),
		 void *ctx)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, len;
	uint32_t c = 0;

	n = strnlen(s, n);
	while (i < n) {
		len = utf8_seq(u + i, n - i, &c);
		if (!len)
			out(ctx, s + i, len = 1, INVALID, 0);
		else
			out(ctx, s + i, len, unprintable(c) ? CONTROL : KEEP, c);
		i += len;
	}
}

struct sbuf {
	char *buf;
	size_t len, off;
	int full;
};

/* Whole pieces only: a cut name never ends in half an escape. */
static void sbuf_put(struct sbuf *b, const char *p, size_t n)
{
	if (b->full || b->off + n >= b->len) {
		b->full = 1;
		return;
	}
	memcpy(b->buf + b->off, p, n);
	b->off += n;
	b->buf[b->off] = '\0';
}

static void human_piece(void *ctx, const char *p, size_t len,
			enum piece kind, uint32_t cp)
{
	struct sbuf *b = ctx;
	char x[32];
	size_t n = 0;

	if (kind == KEEP) {
		if (*p == '\\')
			sbuf_put(b, "\\\\", 2);
		else
			sbuf_put(b, p, len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		n += snprintf(x + n, sizeof(x) - n, "\\x%02x",
			      (unsigned char)p[i]);
	sbuf_put(b, x, n);
}

void tc_escape(char *buf, size_t len, const char *s, size_t n)
{
	struct sbuf b = { .buf = buf, .len = len };

	if (!len)
		return;
	buf[0] = '\0';
	walk(s, n, human_piece, &b);
}

void tc_print_escaped(FILE *f, const char *s, size_t n)
{
	char buf[512];

	/* Names are short (comm, /proc/PID/comm); cut, but never raw. */
	tc_escape(buf, sizeof(buf), s, n);
	fputs(buf, f);
}

static void json_piece(void *ctx, const char *p, size_t len,
		       enum piece kind, uint32_t cp)
{
	FILE *f = ctx;

	if (kind == INVALID)
		fputs("\\ufffd", f);
	else if (kind == CONTROL)
		fprintf(f, "\\u%04x", cp);	/* all are in the BMP */
	else if (*p == '"' || *p == '\\')
		fprintf(f, "\\%c", *p);
	else
		fwrite(p, 1, len, f);
}

void tc_json_strn(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	walk(s, n, json_piece, f);
	fputc('"', f);
}

void tc_json_string(FILE *f, const char *s)
{
	tc_json_strn(f, s, strlen(s));
}

/* A loop that flushed and failed has said so: the exit must not again. */
static int write_error_said;

static void write_error(void)
{
	write_error_said = 1;
	if (errno)
		fprintf(stderr, "tcpclose: write error on standard output: %s\n",
			strerror(errno));
	else
		fprintf(stderr, "tcpclose: write error on standard output\n");
}

int tc_close_stdout(void)
{
	int pending = __fpending(stdout) != 0;
	int failed = ferror(stdout) != 0;
	int close_failed = fclose(stdout) != 0;

	/* EBADF with nothing pending: stdout was closed to begin with. */
	if (!failed && !(close_failed && (pending || errno != EBADF)))
		return 0;
	if (!close_failed)
		errno = 0;
	/* A reader that went away (| head) is not a failure, as in util-linux. */
	if (errno == EPIPE)
		return 0;
	if (!write_error_said)
		write_error();
	return -1;
}

int tc_flush_stdout(void)
{
	errno = 0;
	if (!fflush(stdout) && !ferror(stdout))
		return 0;
	write_error();
	return -1;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tcpclose %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}
