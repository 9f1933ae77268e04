/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lock-free per-CPU record ring: the core shared by the module and the
 * userspace stress test (selftests/host/ring_stress.c).
 *
 * Algorithm
 * ---------
 * Each CPU owns one ring of 2^n fixed-size slots.  Every slot carries a
 * sequence word next to its record.  Positions are free-running 64-bit
 * counters that never wrap in practice.
 *
 * Reserve (producer): read head, then the reader's tail as producers last
 * saw it (tail_seen, on the producers' cache line, a lower bound of tail).
 * Only when that says the ring is full is the reader's own tail loaded
 * (with acquire) and tail_seen refreshed from it: a producer touches the
 * reader's cache line about once per lap of the ring (more often when the
 * reader lags, on every attempt when the ring is full), not once per
 * record, so a reader draining the ring does not bounce the producer's
 * lines.  If tail says full too, count a drop and return.  Otherwise claim
 * position head with a CPU-local compare-and-swap of head -> head + 1.
 * A softirq or hardirq that interrupts a process-context producer on the
 * same CPU simply claims the next position: the CAS fails for whichever
 * writer was interrupted between its read and its CAS, and that writer
 * retries.  Such a writer may also load a tail already past the head it
 * read (the nested writer's record was committed and consumed meanwhile):
 * the distance is then negative, not full, and the failing CAS retries.
 * No writer ever waits for another, or for the reader.
 *
 * tail_seen may be written back older than it was (a writer interrupted
 * between loading tail and storing tail_seen, or in the userspace tests a
 * preempted thread sharing the ring): it stays a lower bound of tail,
 * which is all reserve needs.  Release/acquire on tail_seen carries
 * the reader's release of tail on to every producer that relies on it.
 *
 * Commit (producer): fill the slot's record, then store-release the slot's
 * sequence word as position + 1.  The release orders the record's bytes
 * before the sequence word, so a reader that sees the word sees the record.
 * Every reserved position is committed (a producer never sleeps or gives
 * up between the two), so head also counts the records written.
 *
 * Peek (reader): the slot at tail holds a record iff an acquire load of its
 * sequence word equals tail + 1.  A slot that is reserved but not yet
 * committed (its producer was interrupted) stops the reader there: records
 * of one ring are delivered in reservation order.  A stale word from the
 * previous lap (tail + 1 - size) can never match.
 *
 * Consume (reader): after copying the record out, store-release tail + 1.
 * A producer's acquire load of tail pairs with it, directly or through
 * tail_seen (above), so a slot is never rewritten while the reader still
 * copies it: no record is ever torn.
 *
 * There is a single reader per ring at a time (the caller serialises
 * readers; an unserialised caller only asks whether records are ready).
 * In the kernel the producers of a ring are one CPU's nested contexts, and
 * cmpxchg64_local() is atomic against those only.  The userspace tests
 * also run several threads per ring; there the CAS is the compiler's
 * locked builtin (selftests/host/ring_user.h).
 *
 * Merge (reader, tc_rings_oldest()): the oldest record over a set of rings,
 * by timestamp.  A ring whose next slot is reserved but not committed
 * (head != tail, sequence word not yet tail + 1) is "in flight": its
 * producer was interrupted, and the record it is writing may be older than
 * anything visible elsewhere, or hide committed records of the same ring
 * behind it.  The merge then returns nothing rather than guess; the caller
 * retries once the producer committed (a few instructions later: producers
 * never sleep).  A record q of one connection committed on ring A
 * happens-before that connection's next record r on ring B (the socket
 * lock orders them), and q's timestamp is not later than r's.  A scan is
 * not atomic, though: it may look at A just before q is committed and at
 * B just after r was, and then offer r as the oldest.  So the rings are
 * scanned until two scans in a row name the same ring: its record r was
 * already there during the earlier scan, so q was committed before the
 * later scan began, and the later scan found at A's head q or a record
 * reserved before q (timestamp taken earlier still), or A in flight; r
 * cannot win against either.  This keeps each connection's records in
 * order, but for one case no rule can settle: q and r with the same
 * clock reading (ktime_get_ns() granularity), which come out in ring
 * order.  (Two scans that merely followed each other, without that check,
 * let r through: ring_order's scan_race.)
 */
#ifndef TCPCLOSE_RING_H
#define TCPCLOSE_RING_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/atomic.h>
#include <linux/cache.h>
#include <asm/barrier.h>
#define tc_cas_local(p, o, n)	cmpxchg64_local((p), (o), (n))
/* Where the host tests interleave other writers; nothing here. */
static inline void tc_ring_between_loads(void) { }
static inline void tc_ring_between_peeks(unsigned int pass, unsigned int ring) { }
#else
/* Userspace stand-ins for the ring tests, with the kernel primitives' ordering. */
#include "../selftests/host/ring_user.h"
#endif

#include <linux/tcpclose.h>

struct tc_slot {
	u64 seq;
	struct tcpclose_event ev;
};

/*
 * Producer-written and reader-written words live on separate cache lines,
 * so that a reader draining the ring does not bounce the producer's line.
 */
struct tc_ring {
	u64 head;		/* next position to reserve; records written */
	u64 mask;		/* slots - 1 */
	u64 tail_seen;		/* tail as producers last loaded it */
	u64 dropped;		/* records lost to a full ring */
	u64 filtered;		/* records the stream's filter skipped */
	struct tc_slot *slots;
	u64 tail ____cacheline_aligned;	/* next position to read */
} ____cacheline_aligned;

void tc_ring_init(struct tc_ring *r, struct tc_slot *slots, u32 nr_slots);
struct tcpclose_event *tc_ring_reserve(struct tc_ring *r, u64 *pos);
void tc_ring_commit(struct tc_ring *r, u64 pos);
const struct tcpclose_event *tc_ring_peek(struct tc_ring *r);
void tc_ring_consume(struct tc_ring *r);
void tc_ring_count(u64 *counter);
/*
 * The ring among @rings[0..n) (NULL entries skipped) holding the oldest
 * record, or NULL: all empty, or *@in_flight set when a ring's next record
 * is still being written or the scans did not settle (retry later).  The
 * caller must be the rings' only consumer for the order to hold.
 */
struct tc_ring *tc_rings_oldest(struct tc_ring *const *rings, unsigned int n,
				bool *in_flight);
/*
 * Whether a read would find a record now: one scan, no order, for callers
 * that may race with the consumer (poll, a waiter's wakeup test).
 */
bool tc_rings_ready(struct tc_ring *const *rings, unsigned int n);

#endif /* TCPCLOSE_RING_H */
