// SPDX-License-Identifier: GPL-2.0
/*
 * The reader honours each record's size and version, as the ABI asks:
 * synthetic read() buffers with records of today's size, with fields
 * appended by a later module (decoded by the known prefix, skipped by
 * their size), shorter than known, of another ABI version, or cut.  And
 * the unread/unacked rule: our FIN is not counted as unacked data.
 */
#include <string.h>
#include "decode.h"
#include "../tap.h"

#define EXTRA 24	/* bytes a later ABI might append */

static size_t put(unsigned char *buf, size_t off, uint64_t cookie,
		  uint16_t size, uint8_t version)
{
	struct tcpclose_event ev = {
		.size = size, .version = version, .family = 2,
		.newstate = TCPCLOSE_CLOSE_WAIT, .cookie = cookie,
		.netns_cookie = cookie + 1000,
	};

	memcpy(buf + off, &ev, sizeof(ev));
	if (size > sizeof(ev))
		memset(buf + off + sizeof(ev), 0xee, size - sizeof(ev));
	return off + size;
}

/* Decodes buf; the cookies seen into got, the error into err. */
static int decode_all(const unsigned char *buf, size_t len, uint64_t *got,
		      char *err, size_t errlen)
{
	struct tcpclose_event ev;
	size_t off = 0;
	int n = 0, rc;

	err[0] = '\0';
	while ((rc = tc_next_record(buf, len, &off, &ev, err, errlen)) > 0)
		got[n++] = ev.cookie == ev.netns_cookie - 1000 ? ev.cookie : 0;
	return rc < 0 ? -1 - n : n;
}

static void sizes(void)
{
	static unsigned char buf[4096] __attribute__((aligned(8)));
	const uint16_t big = sizeof(struct tcpclose_event) + EXTRA;
	uint64_t got[8] = { 0 };
	char err[256];
	size_t len = 0;
	int n;

	len = put(buf, len, 1, sizeof(struct tcpclose_event), TCPCLOSE_ABI_VERSION);
	len = put(buf, len, 2, sizeof(struct tcpclose_event), TCPCLOSE_ABI_VERSION);
	n = decode_all(buf, len, got, err, sizeof(err));
	tap_check(n == 2 && got[0] == 1 && got[1] == 2,
		  "records of today's size: both decoded");

	len = put(buf, 0, 1, big, TCPCLOSE_ABI_VERSION);
	len = put(buf, len, 2, sizeof(struct tcpclose_event), TCPCLOSE_ABI_VERSION);
	len = put(buf, len, 3, big, TCPCLOSE_ABI_VERSION);
	n = decode_all(buf, len, got, err, sizeof(err));
	tap_check(n == 3 && got[0] == 1 && got[1] == 2 && got[2] == 3,
		  "records with %d appended bytes: known prefix decoded, stepped by size",
		  EXTRA);

	len = put(buf, 0, 1, sizeof(struct tcpclose_event), TCPCLOSE_ABI_VERSION);
	len = put(buf, len, 2, sizeof(struct tcpclose_event) - 8, TCPCLOSE_ABI_VERSION);
	n = decode_all(buf, len, got, err, sizeof(err));
	tap_info("said: %s", err);
	tap_check(n == -2 && got[0] == 1 && strstr(err, "shorter than the") &&
		  strstr(err, "install matching versions"),
		  "a record shorter than known: an error after the good one");

	len = put(buf, 0, 1, sizeof(struct tcpclose_event), TCPCLOSE_ABI_VERSION + 1);
	n = decode_all(buf, len, got, err, sizeof(err));
	tap_info("said: %s", err);
	tap_check(n == -1 && strstr(err, "ABI version 3") &&
		  strstr(err, "reads version 2"),
		  "a record of another version: an error naming both");

	put(buf, 0, 1, 0, TCPCLOSE_ABI_VERSION);
	tap_check(decode_all(buf, sizeof(struct tcpclose_event), got, err,
			     sizeof(err)) == -1,
		  "a record of size 0 is an error, not an endless loop");

	len = put(buf, 0, 1, big, TCPCLOSE_ABI_VERSION);
	n = decode_all(buf, len - 1, got, err, sizeof(err));
	tap_info("said: %s", err);
	tap_check(n == -1 && strstr(err, "cut after"),
		  "a record running past the bytes read: an error");
	tap_check(decode_all(buf, 2, got, err, sizeof(err)) == -1 &&
		  decode_all(buf, 0, got, err, sizeof(err)) == 0,
		  "two bytes are a cut record; no bytes, no record");
}

static uint32_t unacked(int old, int new, uint32_t tx)
{
	struct tcpclose_event ev = { .oldstate = old, .newstate = new,
				     .tx_queue = tx };

	return tc_unacked(&ev);
}

static void fin_rule(void)
{
	tap_check(unacked(TCPCLOSE_FIN_WAIT1, TCPCLOSE_CLOSE, 1) == 0 &&
		  unacked(TCPCLOSE_FIN_WAIT1, TCPCLOSE_CLOSE, 101) == 100 &&
		  unacked(TCPCLOSE_LAST_ACK, TCPCLOSE_CLOSE, 1) == 0 &&
		  unacked(TCPCLOSE_FIN_WAIT1, TCPCLOSE_CLOSING, 1) == 0 &&
		  unacked(TCPCLOSE_CLOSING, TCPCLOSE_CLOSE, 5) == 4,
		  "leaving FIN_WAIT1, CLOSING, LAST_ACK: our FIN is not unacked data");
	tap_check(unacked(TCPCLOSE_ESTABLISHED, TCPCLOSE_FIN_WAIT1, 7) == 7 &&
		  unacked(TCPCLOSE_CLOSE_WAIT, TCPCLOSE_LAST_ACK, 7) == 7 &&
		  unacked(TCPCLOSE_FIN_WAIT1, TCPCLOSE_FIN_WAIT2, 0) == 0 &&
		  unacked(TCPCLOSE_ESTABLISHED, TCPCLOSE_CLOSE, 3) == 3,
		  "entering them (FIN not queued yet), or after its ACK: bytes as they are");
}

int main(void)
{
	tap_plan(9);
	sizes();
	fin_rule();
	return tap_finish();
}
