/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who owns a socket: the processes holding a descriptor to its inode,
 * found through /proc/PID/fd as `ss -p` does.  The pid of an event is no
 * use for that: state changes mostly run in softirq context.
 */
#ifndef TCPCLOSE_OWNER_H
#define TCPCLOSE_OWNER_H

#include <pthread.h>
#include <stdint.h>
#include "decode.h"
#include "service.h"

/*
 * Each holder's service is read in the same scan, once per process that
 * holds a socket: for watch that is the owner thread, so the stream is
 * never kept waiting on /proc/PID/cgroup either.
 */
struct owner_map {
	struct tc_owner *e;	/* sorted by inode, then pid, then fd */
	size_t n, cap;
	struct service **svc;	/* one per process with sockets; e[].svc */
	size_t nsvc, svccap;
	char root[256];		/* "/proc", or a fixture tree in tests */
};

void owner_init(struct owner_map *m, const char *proc_root);
/*
 * Rescan; processes that vanish meanwhile are skipped, and one whose
 * cgroup cannot be read keeps its sockets with an unknown service.
 */
int owner_scan(struct owner_map *m);
/* Every holder of ino, lowest pid first; h->n is 0 when none. */
void owner_find(const struct owner_map *m, uint64_t ino,
		struct tc_holders *h);
void owner_free(struct owner_map *m);

/*
 * Owners for a stream (watch): a scan of /proc takes a second with
 * thousands of processes, and the device's rings fill meanwhile, so a
 * thread rescans, never the reader of the device.  A miss asks for a
 * rescan; rescans are at least min_interval_ns apart and take at most
 * 1/20 of the time (a scan of cost T waits 20 T before the next).
 */
struct owner_resolver {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct owner_map map;		/* the latest scan, under lock */
	uint64_t min_interval_ns;
	uint64_t next_scan;		/* CLOCK_MONOTONIC, not before */
	int wanted, quit;
	pthread_t thread;
};

/* Scans once, then starts the thread; -1 if it cannot. */
int resolver_start(struct owner_resolver *r, const char *proc_root,
		   uint64_t min_interval_ns);
/* Holders found stay valid until resolver_unlock(). */
void resolver_lock(struct owner_resolver *r);
void resolver_unlock(struct owner_resolver *r);
/* Under the lock; a miss asks for a rescan and does not wait for it. */
void resolver_find(struct owner_resolver *r, uint64_t ino,
		   struct tc_holders *h);
void resolver_stop(struct owner_resolver *r);

#endif
