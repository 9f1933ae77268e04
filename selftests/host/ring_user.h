/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel primitives module/ring.c uses, for building it in userspace
 * (ring_stress, ring_order, bench-ring), with the same ordering semantics.
 */
#ifndef TCPCLOSE_RING_USER_H
#define TCPCLOSE_RING_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint64_t u64;
typedef int64_t s64;
typedef uint32_t u32;
#define ____cacheline_aligned	__aligned(64)
#define __aligned(x)		__attribute__((__aligned__(x)))
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* acquire: later accesses stay after the load */
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
/* release: earlier accesses stay before the store */
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
/*
 * The kernel's cmpxchg64_local() is one cmpxchg without the lock prefix on
 * x86: atomic against interrupts on its CPU, not against other CPUs, and
 * no full barrier.  bench-ring sets tc_ring_cas_unlocked while each ring
 * has one writing thread (as a per-CPU ring has one CPU), so that it times
 * what the kernel runs; the tests (several writers per ring, and
 * ThreadSanitizer, which does not read assembly) keep the locked builtin.
 */
__attribute__((weak)) int tc_ring_cas_unlocked;

static inline u64 tc_cas_local(u64 *p, u64 o, u64 n)
{
#ifdef __x86_64__
	u64 prev;

	if (tc_ring_cas_unlocked) {
		__asm__ volatile("cmpxchgq %2, %1"
				 : "=a"(prev), "+m"(*p)
				 : "r"(n), "0"(o)
				 : "memory", "cc");
		return prev;
	}
#endif
	__atomic_compare_exchange_n(p, &o, n, 0, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return o;
}

/*
 * A test's seam in tc_ring_reserve(), between its load of head and its
 * loads of the tail (ring_room plays a nested writer and the reader
 * there); weak, so one pointer serves every object that includes this.
 */
__attribute__((weak)) void (*tc_ring_test_hook)(void);

static inline void tc_ring_between_loads(void)
{
	if (tc_ring_test_hook)
		tc_ring_test_hook();
}

/*
 * Likewise in tc_rings_oldest(), before each ring's peek: ring_order
 * commits records there, between the merge's looks at two rings.
 */
__attribute__((weak)) void (*tc_ring_scan_hook)(unsigned int pass,
						unsigned int ring);

static inline void tc_ring_between_peeks(unsigned int pass, unsigned int ring)
{
	if (tc_ring_scan_hook)
		tc_ring_scan_hook(pass, ring);
}

#endif
