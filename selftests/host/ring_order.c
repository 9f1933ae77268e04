// SPDX-License-Identifier: GPL-2.0
/*
 * Order of one connection's records across rings, with the module's own
 * ring and merge code (module/ring.c), under ThreadSanitizer.
 *
 * The bug this guards: a producer takes its timestamp, then is interrupted
 * between reserve and commit; the interrupting producer commits a record of
 * connection X behind the uncommitted slot; X's next record, on another
 * CPU's ring, must not be delivered before it.  First the exact
 * interleaving, step by step; then (scan_race) X's two records committed
 * between the merge's looks at their rings, X's next one ahead of the
 * scan, its first one behind it; then threads: one "connection" writes its
 * numbered records alternately into two rings (a task migrating between
 * CPUs), while noise producers on both rings pause between timestamp,
 * reserve and commit; the consumer checks the connection's numbers arrive
 * in order.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include "ring.h"
#include "../tap.h"

#define SLOTS	256
#define RECORDS	100000

static struct tc_slot slots[2][SLOTS];
static struct tc_ring rings[2];
static struct tc_ring *const ring_ptrs[2] = { &rings[0], &rings[1] };
static uint64_t clock_now;
static int done;

static uint64_t now(void)
{
	return __atomic_add_fetch(&clock_now, 1, __ATOMIC_SEQ_CST);
}

static void put(struct tc_ring *r, uint64_t cookie, uint64_t n, uint64_t ts)
{
	struct tcpclose_event *ev;
	uint64_t pos;

	while (!(ev = tc_ring_reserve(r, &pos)))
		sched_yield();
	ev->cookie = cookie;
	ev->prev_state_ns = n;
	ev->ts_ns = ts;
	tc_ring_commit(r, pos);
}

/* The interleaving of the bug report, one step at a time. */
static void exact(void)
{
	struct tcpclose_event *ev;
	struct tc_ring *r;
	uint64_t pos;
	bool in_flight;

	tc_ring_init(&rings[0], slots[0], SLOTS);
	tc_ring_init(&rings[1], slots[1], SLOTS);
	/* CPU A: a process-context writer takes ts 100 and reserves. */
	ev = tc_ring_reserve(&rings[0], &pos);
	ev->cookie = 7;
	ev->ts_ns = 100;
	/* A softirq on CPU A: X's ESTABLISHED > CLOSE_WAIT at ts 105. */
	put(&rings[0], 1, 1, 105);
	/* CPU B, later: X's CLOSE_WAIT > LAST_ACK at ts 110. */
	put(&rings[1], 1, 2, 110);
	r = tc_rings_oldest(ring_ptrs, 2, &in_flight);
	tap_check(!r && in_flight,
		  "a ring in flight holds the merge back (got %s)",
		  r ? (r == &rings[1] ? "ring B: X's later record" : "ring A")
		    : "nothing");
	tc_ring_commit(&rings[0], pos);
	r = tc_rings_oldest(ring_ptrs, 2, &in_flight);
	tap_check(r == &rings[0] && tc_ring_peek(r)->ts_ns == 100,
		  "once committed, the oldest record comes first");
	tc_ring_consume(r);
	r = tc_rings_oldest(ring_ptrs, 2, &in_flight);
	tap_check(r == &rings[0] && tc_ring_peek(r)->cookie == 1 &&
		  tc_ring_peek(r)->prev_state_ns == 1,
		  "then X's first record");
	tc_ring_consume(r);
	r = tc_rings_oldest(ring_ptrs, 2, &in_flight);
	tap_check(r == &rings[1] && tc_ring_peek(r)->prev_state_ns == 2,
		  "then X's second record");
	tc_ring_consume(r);
}

static struct tc_ring rings3[3];
static struct tc_slot slots3[3][SLOTS];

/* Between the merge's second look at ring 0 and its look at ring 1. */
static void commit_behind_scan(unsigned int pass, unsigned int ring)
{
	if (pass != 1 || ring != 1)
		return;
	tc_ring_scan_hook = NULL;
	put(&rings3[0], 1, 1, 100);	/* X's first record, on CPU 0 */
	put(&rings3[1], 1, 2, 110);	/* X's next, on CPU 1, after it */
}

/*
 * The merge's scan is not atomic: X's first record is committed on ring 0
 * just after the second scan looked at ring 0, and X's next one on ring 1
 * before the scan gets there.  The second scan alone then offers X's next
 * record as the oldest; a record only the last scan saw must wait for a
 * scan that starts after it.
 */
static void scan_race(void)
{
	struct tc_ring *const ptrs[3] = { &rings3[0], &rings3[1], &rings3[2] };
	struct tc_ring *r;
	bool in_flight;

	for (int i = 0; i < 3; i++)
		tc_ring_init(&rings3[i], slots3[i], SLOTS);
	put(&rings3[2], 3, 1, 500);	/* another connection, later */
	tc_ring_scan_hook = commit_behind_scan;
	r = tc_rings_oldest(ptrs, 3, &in_flight);
	tc_ring_scan_hook = NULL;
	tap_check(r == &rings3[0] || (!r && in_flight),
		  "a record committed behind the scan waits for X's older one (got %s)",
		  r == &rings3[1] ? "X's next record, on ring 1" :
		  r == &rings3[2] ? "the later connection" :
		  r ? "X's first record" : "nothing, retry");
}

/* Another task's read() of the same file, one record per scan. */
static void consume_per_scan(unsigned int pass, unsigned int ring)
{
	const struct tcpclose_event *a, *b;

	if (ring != 0)
		return;
	a = tc_ring_peek(&rings3[0]);
	b = tc_ring_peek(&rings3[1]);
	if (a && (!b || a->ts_ns < b->ts_ns))
		tc_ring_consume(&rings3[0]);
	else if (b)
		tc_ring_consume(&rings3[1]);
}

/*
 * poll() and a waiter's wakeup test run beside another task's read() of
 * the same file: its consuming makes every scan name the other ring, so
 * the ordered merge never settles.  Readiness must not depend on it, or a
 * waiter sleeps with records left.
 */
static void ready_beside_reader(void)
{
	struct tc_ring *const ptrs[2] = { &rings3[0], &rings3[1] };
	struct tc_ring *r;
	bool in_flight, ready;

	tc_ring_init(&rings3[0], slots3[0], SLOTS);
	tc_ring_init(&rings3[1], slots3[1], SLOTS);
	for (uint64_t i = 0; i < 40; i++)
		put(&rings3[i & 1], 4, i, 10 + i);
	tc_ring_scan_hook = consume_per_scan;
	r = tc_rings_oldest(ptrs, 2, &in_flight);
	ready = tc_rings_ready(ptrs, 2);
	tc_ring_scan_hook = NULL;
	tap_info("the ordered merge beside a consumer: %s",
		 r ? "settled" : in_flight ? "did not settle" : "empty");
	tap_check(ready && tc_ring_peek(&rings3[0]),
		  "records are ready while another task consumes between scans");
}

/* Connection 1: its records alternate between the rings, in order. */
static void *connection(void *arg)
{
	for (uint64_t n = 1; n <= RECORDS; n++)
		put(&rings[n & 1], 1, n, now());
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Other connections on one ring, pausing inside the write. */
static void *noise(void *arg)
{
	struct tc_ring *r = arg;
	struct tcpclose_event *ev;
	uint64_t ts, pos;

	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		ts = now();
		sched_yield();
		ev = tc_ring_reserve(r, &pos);
		if (!ev)
			continue;
		ev->cookie = 2;
		ev->ts_ns = ts;
		sched_yield();
		tc_ring_commit(r, pos);
	}
	return NULL;
}

static void threads(void)
{
	uint64_t next = 1, disorder = 0, got = 0;
	pthread_t conn, n0, n1;
	struct tc_ring *r;
	bool in_flight;

	tc_ring_init(&rings[0], slots[0], SLOTS);
	tc_ring_init(&rings[1], slots[1], SLOTS);
	pthread_create(&n0, NULL, noise, &rings[0]);
	pthread_create(&n1, NULL, noise, &rings[1]);
	pthread_create(&conn, NULL, connection, NULL);
	while (next <= RECORDS) {
		r = tc_rings_oldest(ring_ptrs, 2, &in_flight);
		if (!r) {
			sched_yield();
			continue;
		}
		if (tc_ring_peek(r)->cookie == 1) {
			disorder += tc_ring_peek(r)->prev_state_ns != next;
			next = tc_ring_peek(r)->prev_state_ns + 1;
			got++;
		}
		tc_ring_consume(r);
	}
	pthread_join(conn, NULL);
	pthread_join(n0, NULL);
	pthread_join(n1, NULL);
	tap_check(got == RECORDS && !disorder,
		  "a migrating connection's %llu records in order (%llu out of order) among paused writers",
		  (unsigned long long)got, (unsigned long long)disorder);
}

int main(void)
{
	tap_plan(7);
	exact();
	scan_race();
	ready_beside_reader();
	threads();
	return tap_finish();
}
