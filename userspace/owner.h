/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who owns a socket: the processes holding a descriptor to its inode,
 * found through /proc/PID/fd as `ss -p` does.  The pid of an event is no
 * use for that: state changes mostly run in softirq context.
 */
#ifndef TCPCLOSE_OWNER_H
#define TCPCLOSE_OWNER_H

#include <stdint.h>
#include "decode.h"

struct owner_entry {
	uint64_t ino;
	struct tc_owner owner;
};

struct owner_map {
	struct owner_entry *e;
	size_t n, cap;
	char root[256];		/* "/proc", or a fixture tree in tests */
};

void owner_init(struct owner_map *m, const char *proc_root);
/* Rescan; processes that vanish meanwhile are skipped. */
int owner_scan(struct owner_map *m);
/* The first (lowest pid, then fd) owner of ino, or NULL. */
const struct tc_owner *owner_find(const struct owner_map *m, uint64_t ino);
void owner_free(struct owner_map *m);

#endif
