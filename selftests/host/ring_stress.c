// SPDX-License-Identifier: GPL-2.0
/*
 * The module's ring core, built for userspace and hammered: several
 * producer threads per ring (standing in for nested producers of one CPU),
 * one consumer draining all rings.  Run under ThreadSanitizer.  Checks:
 * produced = consumed + dropped, no record torn, each producer's records
 * in order.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ring.h"
#include "../tap.h"

#define RINGS		2
#define PER_RING	3
#define PER_THREAD	200000
#define SLOTS		64

struct producer {
	struct tc_ring *ring;
	int id;
	uint64_t produced, accepted;
};

static struct tc_ring rings[RINGS];
static int producers_done;

static uint8_t pattern(uint64_t cookie, int i)
{
	return (uint8_t)(cookie * 131 + i * 7);
}

static void fill(struct tcpclose_event *ev, int id, uint64_t n)
{
	uint64_t cookie = (uint64_t)id << 40 | n;

	ev->cookie = cookie;
	ev->ts_ns = ~cookie;
	for (int i = 0; i < 16; i++) {
		ev->saddr[i] = pattern(cookie, i);
		ev->daddr[i] = pattern(cookie, i + 16);
		ev->comm[i] = (char)pattern(cookie, i + 32);
	}
}

static int torn(const struct tcpclose_event *ev)
{
	if (ev->ts_ns != ~ev->cookie)
		return 1;
	for (int i = 0; i < 16; i++)
		if (ev->saddr[i] != pattern(ev->cookie, i) ||
		    ev->daddr[i] != pattern(ev->cookie, i + 16) ||
		    ev->comm[i] != (char)pattern(ev->cookie, i + 32))
			return 1;
	return 0;
}

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct tcpclose_event *ev;
	uint64_t pos;

	for (uint64_t n = 1; n <= PER_THREAD; n++) {
		p->produced++;
		ev = tc_ring_reserve(p->ring, &pos);
		if (!ev)
			continue;
		fill(ev, p->id, n);
		tc_ring_commit(p->ring, pos);
		p->accepted++;
	}
	__atomic_fetch_add(&producers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct consumer {
	uint64_t consumed[RINGS], torn, disorder;
	uint64_t last[RINGS * PER_RING];
};

static int drain_once(struct consumer *c)
{
	const struct tcpclose_event *ev;
	struct tcpclose_event copy;
	int got = 0;

	for (int r = 0; r < RINGS; r++) {
		while ((ev = tc_ring_peek(&rings[r]))) {
			int id;

			copy = *ev;
			tc_ring_consume(&rings[r]);
			id = (int)(copy.cookie >> 40);
			c->torn += torn(&copy);
			if (id < RINGS * PER_RING) {
				if ((copy.cookie & ((1ULL << 40) - 1)) <= c->last[id])
					c->disorder++;
				c->last[id] = copy.cookie & ((1ULL << 40) - 1);
			}
			c->consumed[r]++;
			got++;
		}
	}
	return got;
}

static void *consume(void *arg)
{
	struct consumer *c = arg;

	while (__atomic_load_n(&producers_done, __ATOMIC_ACQUIRE) <
	       RINGS * PER_RING)
		drain_once(c);
	while (drain_once(c))
		;
	return NULL;
}

int main(void)
{
	struct producer p[RINGS * PER_RING];
	pthread_t pt[RINGS * PER_RING], ct;
	struct consumer c = { 0 };
	int ok_sum = 1, ok_acc = 1;
	uint64_t drops = 0;

	tap_plan(5);
	for (int r = 0; r < RINGS; r++)
		tc_ring_init(&rings[r], calloc(SLOTS, sizeof(struct tc_slot)),
			     SLOTS);
	pthread_create(&ct, NULL, consume, &c);
	for (int i = 0; i < RINGS * PER_RING; i++) {
		p[i] = (struct producer){ .ring = &rings[i % RINGS], .id = i };
		pthread_create(&pt[i], NULL, produce, &p[i]);
	}
	for (int i = 0; i < RINGS * PER_RING; i++)
		pthread_join(pt[i], NULL);
	pthread_join(ct, NULL);

	for (int r = 0; r < RINGS; r++) {
		uint64_t produced = 0, accepted = 0;

		for (int i = r; i < RINGS * PER_RING; i += RINGS) {
			produced += p[i].produced;
			accepted += p[i].accepted;
		}
		tap_info("ring %d: produced %llu consumed %llu dropped %llu", r,
			 (unsigned long long)produced,
			 (unsigned long long)c.consumed[r],
			 (unsigned long long)rings[r].dropped);
		ok_sum &= produced == c.consumed[r] + rings[r].dropped;
		ok_acc &= accepted == c.consumed[r] &&
			  rings[r].head == accepted;
		drops += rings[r].dropped;
	}
	tap_check(ok_sum, "produced = consumed + dropped, per ring");
	tap_check(ok_acc, "every committed record was consumed once");
	tap_check(c.torn == 0, "no torn record (%llu)",
		  (unsigned long long)c.torn);
	tap_check(c.disorder == 0, "each producer's records in order");
	tap_check(drops > 0, "the small rings did overflow (%llu drops)",
		  (unsigned long long)drops);
	return tap_finish();
}
