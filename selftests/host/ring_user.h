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
typedef uint32_t u32;
#define ____cacheline_aligned	__aligned(64)
#define __aligned(x)		__attribute__((__aligned__(x)))
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
