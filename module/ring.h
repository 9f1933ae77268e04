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
 * Reserve (producer): read head, read tail with acquire; if head - tail is
 * the ring size the ring is full: count a drop and return.  Otherwise claim
 * position head with a CPU-local compare-and-swap of head -> head + 1.  A
 * softirq or hardirq that interrupts a process-context producer on the same
 * CPU simply claims the next position: the CAS fails for whichever writer
 * was interrupted between its read and its CAS, and that writer retries.
 * No writer ever waits for another, or for the reader.
 *
 * Commit (producer): fill the slot's record, then store-release the slot's
 * sequence word as position + 1.  The release orders the record's bytes
 * before the sequence word, so a reader that sees the word sees the record.
 *
 * Peek (reader): the slot at tail holds a record iff an acquire load of its
 * sequence word equals tail + 1.  A slot that is reserved but not yet
 * committed (its producer was interrupted) stops the reader there: records
 * of one ring are delivered in reservation order.  A stale word from the
 * previous lap (tail + 1 - size) can never match.
 *
 * Consume (reader): after copying the record out, store-release tail + 1.
 * The producer's acquire load of tail pairs with it, so a slot is never
 * rewritten while the reader still copies it: no record is ever torn.
 *
 * There is a single reader per ring at a time (the caller serialises
 * readers).  Producers from several threads also work (the stress test
 * uses that), because the CAS is a real atomic on every architecture.
 */
#ifndef TCPCLOSE_RING_H
#define TCPCLOSE_RING_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/atomic.h>
#include <asm/barrier.h>
#define tc_cas_local(p, o, n)	cmpxchg64_local((p), (o), (n))
#else
#include <stdint.h>
typedef uint64_t u64;
typedef uint32_t u32;
/* Userspace stand-ins, with the kernel primitives' ordering. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* acquire: later accesses stay after the load */
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
/* release: earlier accesses stay before the store */
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
static inline u64 tc_cas_local(u64 *p, u64 o, u64 n)
{
	__atomic_compare_exchange_n(p, &o, n, 0, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return o;
}
#endif

#include <linux/tcpclose.h>

struct tc_slot {
	u64 seq;
	struct tcpclose_event ev;
};

struct tc_ring {
	u64 head;		/* next position to reserve */
	u64 tail;		/* next position to read */
	u64 mask;		/* slots - 1 */
	u64 recorded;		/* committed records */
	u64 dropped;		/* records lost to a full ring */
	struct tc_slot *slots;
};

void tc_ring_init(struct tc_ring *r, struct tc_slot *slots, u32 nr_slots);
struct tcpclose_event *tc_ring_reserve(struct tc_ring *r, u64 *pos);
void tc_ring_commit(struct tc_ring *r, u64 pos);
const struct tcpclose_event *tc_ring_peek(struct tc_ring *r);
void tc_ring_consume(struct tc_ring *r);

#endif /* TCPCLOSE_RING_H */
