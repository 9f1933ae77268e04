// SPDX-License-Identifier: GPL-2.0
/* The ring algorithm is described in ring.h. */
#ifdef __KERNEL__
#include <linux/string.h>
#else
#include <string.h>
#endif
#include "ring.h"

/* Counters are written by nested producers of one CPU: count with the CAS. */
void tc_ring_count(u64 *counter)
{
	u64 old;

	do {
		old = READ_ONCE(*counter);
	} while (tc_cas_local(counter, old, old + 1) != old);
}

void tc_ring_init(struct tc_ring *r, struct tc_slot *slots, u32 nr_slots)
{
	memset(slots, 0, sizeof(*slots) * nr_slots);
	r->head = 0;
	r->tail = 0;
	r->mask = nr_slots - 1;
	r->tail_seen = 0;
	r->dropped = 0;
	r->filtered = 0;
	r->slots = slots;
}

/*
 * Room for the record at @head?  Signed: a tail loaded after a nested
 * writer's record was consumed may be past @head, which is stale then
 * (the caller's CAS fails and it retries).
 */
static bool tc_ring_room(const struct tc_ring *r, u64 head, u64 tail)
{
	return (s64)(head - tail) <= (s64)r->mask;
}

/* The reader's tail, loaded only when the last one seen says full. */
static bool tc_ring_has_room(struct tc_ring *r, u64 head)
{
	u64 tail;

	/* Pairs with the release below, by another writer of this ring. */
	if (tc_ring_room(r, head, smp_load_acquire(&r->tail_seen)))
		return true;
	/* Pairs with tc_ring_consume(): the reader is done with the slot. */
	tail = smp_load_acquire(&r->tail);
	/* Passes that on to the writer whose acquire above reads it. */
	smp_store_release(&r->tail_seen, tail);
	return tc_ring_room(r, head, tail);
}

struct tcpclose_event *tc_ring_reserve(struct tc_ring *r, u64 *pos)
{
	u64 head;

	do {
		head = READ_ONCE(r->head);
		tc_ring_between_loads();
		if (!tc_ring_has_room(r, head)) {
			tc_ring_count(&r->dropped);
			return NULL;
		}
	} while (tc_cas_local(&r->head, head, head + 1) != head);

	*pos = head;
	return &r->slots[head & r->mask].ev;
}

void tc_ring_commit(struct tc_ring *r, u64 pos)
{
	/* Publishes the record's bytes before its sequence word. */
	smp_store_release(&r->slots[pos & r->mask].seq, pos + 1);
}

const struct tcpclose_event *tc_ring_peek(struct tc_ring *r)
{
	u64 tail = READ_ONCE(r->tail);
	struct tc_slot *slot = &r->slots[tail & r->mask];

	/* Pairs with tc_ring_commit(): the record is complete. */
	if (smp_load_acquire(&slot->seq) != tail + 1)
		return NULL;
	return &slot->ev;
}

void tc_ring_consume(struct tc_ring *r)
{
	/* Frees the slot only after the reader's copy is complete. */
	smp_store_release(&r->tail, READ_ONCE(r->tail) + 1);
}

/* The next slot of @r is reserved and not yet committed. */
static bool tc_ring_in_flight(struct tc_ring *r)
{
	return READ_ONCE(r->head) != READ_ONCE(r->tail);
}

/*
 * One scan: the ring whose next record is oldest; NULL when all are empty,
 * or with *@in_flight set when one's next record is still being written.
 */
static struct tc_ring *tc_rings_scan(struct tc_ring *const *rings,
				     unsigned int n, unsigned int pass,
				     bool *in_flight)
{
	const struct tcpclose_event *ev;
	struct tc_ring *best = NULL;
	u64 best_ts = ~0ULL;
	unsigned int i;

	for (i = 0; i < n; i++) {
		tc_ring_between_peeks(pass, i);
		if (!rings[i])
			continue;
		ev = tc_ring_peek(rings[i]);
		if (!ev) {
			if (tc_ring_in_flight(rings[i])) {
				*in_flight = true;
				return NULL;
			}
			continue;
		}
		if (ev->ts_ns < best_ts) {
			best = rings[i];
			best_ts = ev->ts_ns;
		}
	}
	return best;
}

/*
 * Scans until two in a row name the same ring (ring.h says why).  Each
 * further scan needs a record older than the last candidate committed
 * during the scan before, which only a writer that took its timestamp
 * earlier can do, so a few scans settle; past TC_MERGE_SCANS the caller
 * is told to retry, as for a ring in flight.
 */
#define TC_MERGE_SCANS	8

struct tc_ring *tc_rings_oldest(struct tc_ring *const *rings, unsigned int n,
				bool *in_flight)
{
	struct tc_ring *best, *prev = NULL;
	unsigned int pass;

	*in_flight = false;
	for (pass = 0; pass < TC_MERGE_SCANS; pass++) {
		best = tc_rings_scan(rings, n, pass, in_flight);
		if (!best || best == prev)
			return best;
		prev = best;
	}
	*in_flight = true;
	return NULL;
}

bool tc_rings_ready(struct tc_ring *const *rings, unsigned int n)
{
	bool in_flight = false;

	return tc_rings_scan(rings, n, 0, &in_flight);
}
