// SPDX-License-Identifier: GPL-2.0
/*
 * When the module's ring (module/ring.c) counts a drop, under
 * ThreadSanitizer: exactly when the ring is full, never because of a
 * nested writer.
 *
 * The bug this guards: a process-context writer reads head, then an
 * interrupt on its CPU writes records that the reader (another CPU)
 * consumes at once, so the tail the first writer loads next is past the
 * head it read.  An unsigned head - tail then looked like a full ring and
 * the record was dropped and counted, with the ring empty.  The seam
 * tc_ring_between_loads() plays the interrupt and the reader there.
 *
 * Also: producers load the reader's tail only when the tail they last saw
 * says full (tail_seen); a ring drained meanwhile must take records again,
 * and head counts the records written.
 *
 * With tail_seen, only a nested run longer than the ring (SLOTS + 4) makes
 * the outer writer load a tail past its head; shorter ones keep the cached
 * path (the stale head's CAS fails and retries), and guard that instead.
 */
#include <stdint.h>
#include "ring.h"
#include "../tap.h"

#define SLOTS	16

static struct tc_slot slots[SLOTS];
static struct tc_ring ring;
static int nested;		/* records the "interrupt" writes */

static int put(uint64_t cookie)
{
	struct tcpclose_event *ev;
	uint64_t pos;

	ev = tc_ring_reserve(&ring, &pos);
	if (!ev)
		return 0;
	ev->cookie = cookie;
	tc_ring_commit(&ring, pos);
	return 1;
}

static int take(uint64_t *cookie)
{
	const struct tcpclose_event *ev = tc_ring_peek(&ring);

	if (!ev)
		return 0;
	*cookie = ev->cookie;
	tc_ring_consume(&ring);
	return 1;
}

/* The interrupt: nested records, each consumed by the reader at once. */
static void interrupt(void)
{
	uint64_t c;

	tc_ring_test_hook = NULL;
	for (int i = 0; i < nested; i++) {
		put(1000 + i);
		take(&c);
	}
}

static void nested_writer(int n)
{
	uint64_t pos, c = 0;
	struct tcpclose_event *ev;

	tc_ring_init(&ring, slots, SLOTS);
	nested = n;
	tc_ring_test_hook = interrupt;
	ev = tc_ring_reserve(&ring, &pos);
	tc_ring_test_hook = NULL;
	tap_check(ev && ring.dropped == 0,
		  "%d nested records consumed between the loads: not a drop (%s, dropped %llu)",
		  n, ev ? "reserved" : "NULL", (unsigned long long)ring.dropped);
	if (!ev)
		return;
	ev->cookie = 7;
	tc_ring_commit(&ring, pos);
	tap_check(pos == (uint64_t)n && take(&c) && c == 7 && !take(&c),
		  "the record goes after the nested ones (position %llu)",
		  (unsigned long long)pos);
}

static void laps(void)
{
	uint64_t c, want = 0;
	int ok = 1;

	tc_ring_init(&ring, slots, SLOTS);
	for (int i = 0; i < SLOTS; i++)
		ok &= put(i);
	ok &= !put(99);
	tap_check(ok && ring.dropped == 1,
		  "a full ring drops and counts the next record (dropped %llu)",
		  (unsigned long long)ring.dropped);
	/* Drained: the tail producers last saw is stale, the ring is not. */
	while (take(&c))
		ok &= c == want++;
	for (int lap = 0; lap < 3; lap++) {
		for (int i = 0; i < SLOTS; i++)
			ok &= put(want + i);
		ok &= !put(99);
		for (int i = 0; i < SLOTS; i++)
			ok &= take(&c) && c == want++;
	}
	tap_check(ok && ring.dropped == 4 && ring.head == 4 * SLOTS,
		  "drained rings take records again, drops only when full (dropped %llu, written %llu)",
		  (unsigned long long)ring.dropped,
		  (unsigned long long)ring.head);
}

int main(void)
{
	tap_plan(8);
	nested_writer(1);
	nested_writer(SLOTS + 4);
	laps();
	/* Half a ring behind: head - tail_seen stays within the ring. */
	nested_writer(SLOTS / 2);
	return tap_finish();
}
