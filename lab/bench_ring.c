// SPDX-License-Identifier: GPL-2.0
/*
 * bench_ring [-r ROUNDS] [-d SECONDS] [-s SLOTS]: the module's ring core
 * (module/ring.c, built for userspace as the host stress test does, but
 * optimised and without a sanitizer) timed on this host.
 *
 * Variants, interleaved in every round (the order rotates by round):
 *   memcpy        one thread copies the record into a slot array: the floor
 *   1P+1C         one producer, one ring, one consumer draining it
 *   2P+1C percpu  two producers, each its own ring (as per-CPU rings),
 *                 one consumer draining both
 *   2P+1C shared  two producers on one ring (CAS contention), one consumer
 *
 * A producer copies a record into each slot it reserves (as memcpy does)
 * and commits it; the consumer copies each record out, as the device's
 * read() does.  Reported per variant: committed records/s per producer,
 * median and min-max over the rounds, records/s delivered to the consumer
 * and the share dropped because a ring was full.  Threads are not pinned;
 * with fewer cores than threads the numbers say more about the scheduler.
 * A ring with one writer reserves with the kernel's instruction, cmpxchg
 * without the lock prefix (cmpxchg64_local); the shared ring needs the
 * locked one, which also drains the store buffer on every record.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ring.h"

#define MAX_PROD	2
#define NR_VARIANTS	4
#define MAX_ROUNDS	99

struct variant {
	const char *name;
	int producers;		/* 0: the memcpy floor, no ring */
	int shared;		/* producers share one ring */
};

static const struct variant variants[NR_VARIANTS] = {
	{ "memcpy",        0, 0 },
	{ "1P+1C",         1, 0 },
	{ "2P+1C percpu",  2, 0 },
	{ "2P+1C shared",  2, 1 },
};

struct producer {
	pthread_t tid;
	struct tc_ring *ring;
	uint64_t committed;
	uint64_t full;
};

struct consumer {
	pthread_t tid;
	struct tc_ring *rings;
	int nr_rings;
	uint64_t delivered;
	uint64_t checksum;
};

static int stop;		/* set by the main thread at the window's end */
static int producers_left;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct tcpclose_event src = { .family = 2 };
	struct tcpclose_event *ev;
	uint64_t pos, n = 0;

	while (!stopped()) {
		ev = tc_ring_reserve(p->ring, &pos);
		if (!ev) {
			p->full++;
			continue;
		}
		src.cookie = ++n;
		src.ts_ns = n;
		memcpy(ev, &src, sizeof(*ev));
		tc_ring_commit(p->ring, pos);
		p->committed++;
	}
	__atomic_fetch_sub(&producers_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int drain(struct consumer *c)
{
	const struct tcpclose_event *ev;
	struct tcpclose_event copy;
	int got = 0;

	for (int i = 0; i < c->nr_rings; i++) {
		while ((ev = tc_ring_peek(&c->rings[i]))) {
			memcpy(&copy, ev, sizeof(copy));
			tc_ring_consume(&c->rings[i]);
			c->checksum += copy.cookie;
			got++;
		}
	}
	c->delivered += got;
	return got;
}

static void *consume(void *arg)
{
	struct consumer *c = arg;

	while (__atomic_load_n(&producers_left, __ATOMIC_ACQUIRE))
		drain(c);
	while (drain(c))
		;
	return NULL;
}

static void *copy_floor(void *arg)
{
	struct producer *p = arg;
	struct tcpclose_event src = { .family = 2 };
	struct tc_slot *slots = p->ring->slots;
	uint64_t mask = p->ring->mask, n = 0;

	while (!stopped()) {
		src.cookie = ++n;
		src.ts_ns = n;
		memcpy(&slots[n & mask].ev, &src, sizeof(src));
		/* Keep the compiler from dropping the stores. */
		__asm__ volatile("" : : "r"(slots) : "memory");
	}
	p->committed = n;
	return NULL;
}

struct result {
	double per_producer;	/* committed records/s per producer */
	double delivered;	/* records/s the consumer got */
	double dropped;		/* share of attempts that found the ring full */
};

static struct result run(const struct variant *v, struct tc_slot *slots[],
			 unsigned int nr_slots, double secs)
{
	struct producer p[MAX_PROD] = { 0 };
	struct tc_ring rings[MAX_PROD];
	struct consumer c = { 0 };
	int nr_rings = v->shared ? 1 : (v->producers ? v->producers : 1);
	uint64_t committed = 0, full = 0;
	struct result res = { 0 };
	double start, elapsed;

	for (int i = 0; i < nr_rings; i++)
		tc_ring_init(&rings[i], slots[i], nr_slots);
	/* One writer per ring: the kernel's unlocked cmpxchg (ring_user.h). */
	tc_ring_cas_unlocked = !v->shared;
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&producers_left, v->producers, __ATOMIC_RELAXED);

	start = now();
	if (!v->producers) {
		p[0].ring = &rings[0];
		pthread_create(&p[0].tid, NULL, copy_floor, &p[0]);
	} else {
		c.rings = rings;
		c.nr_rings = nr_rings;
		pthread_create(&c.tid, NULL, consume, &c);
		for (int i = 0; i < v->producers; i++) {
			p[i].ring = &rings[v->shared ? 0 : i];
			pthread_create(&p[i].tid, NULL, produce, &p[i]);
		}
	}
	usleep((useconds_t)(secs * 1e6));
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	elapsed = now() - start;
	for (int i = 0; i < (v->producers ? v->producers : 1); i++) {
		pthread_join(p[i].tid, NULL);
		committed += p[i].committed;
		full += p[i].full;
	}
	if (v->producers)
		pthread_join(c.tid, NULL);

	res.per_producer = committed / elapsed / (v->producers ? v->producers : 1);
	res.delivered = c.delivered / elapsed;
	res.dropped = committed + full ? (double)full / (committed + full) : 0;
	return res;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_ring [-r ROUNDS] [-d SECONDS] [-s SLOTS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static double per[NR_VARIANTS][MAX_ROUNDS], dlv[NR_VARIANTS][MAX_ROUNDS],
		      drop[NR_VARIANTS][MAX_ROUNDS];
	struct tc_slot *slots[MAX_PROD];
	unsigned int nr_slots = 4096;
	int opt, rounds = 7;
	double secs = 0.25;

	while ((opt = getopt(argc, argv, "r:d:s:")) != -1) {
		switch (opt) {
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > MAX_ROUNDS)
				usage();
			break;
		case 'd':
			secs = atof(optarg);
			if (secs <= 0 || secs > 60)
				usage();
			break;
		case 's':
			nr_slots = strtoul(optarg, NULL, 0);
			if (nr_slots < 2 || nr_slots & (nr_slots - 1))
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	for (int i = 0; i < MAX_PROD; i++) {
		if (posix_memalign((void **)&slots[i], 64,
				   sizeof(struct tc_slot) * nr_slots)) {
			fprintf(stderr, "bench_ring: out of memory\n");
			return 1;
		}
	}

	printf("ring core: record %zu bytes, slot %zu bytes, %u slots per ring; %d rounds of %.2f s per variant, %ld CPUs online\n"
	       "reserve: unlocked cmpxchg (as cmpxchg64_local) with one writer per ring, locked when shared\n",
	       sizeof(struct tcpclose_event), sizeof(struct tc_slot), nr_slots,
	       rounds, secs, sysconf(_SC_NPROCESSORS_ONLN));
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < NR_VARIANTS; k++) {
			int v = (r + k) % NR_VARIANTS;
			struct result res = run(&variants[v], slots, nr_slots, secs);

			per[v][r] = res.per_producer;
			dlv[v][r] = res.delivered;
			drop[v][r] = res.dropped;
		}
	}

	printf("%-14s %12s %21s %12s %8s\n", "variant", "Mrec/s/prod",
	       "min-max", "delivered", "dropped");
	for (int v = 0; v < NR_VARIANTS; v++) {
		double lo = per[v][0], hi = per[v][0];

		for (int r = 1; r < rounds; r++) {
			if (per[v][r] < lo)
				lo = per[v][r];
			if (per[v][r] > hi)
				hi = per[v][r];
		}
		printf("%-14s %12.2f %10.2f-%-10.2f", variants[v].name,
		       median(per[v], rounds) / 1e6, lo / 1e6, hi / 1e6);
		if (variants[v].producers)
			printf(" %8.2f M/s %7.1f%%\n", median(dlv[v], rounds) / 1e6,
			       100 * median(drop[v], rounds));
		else
			printf(" %12s %8s\n", "-", "-");
	}
	for (int i = 0; i < MAX_PROD; i++)
		free(slots[i]);
	return 0;
}
