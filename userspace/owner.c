// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "owner.h"

void owner_init(struct owner_map *m, const char *proc_root)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->root, sizeof(m->root), "%s", proc_root);
}

void owner_free(struct owner_map *m)
{
	free(m->e);
	m->e = NULL;
	m->n = m->cap = 0;
}

static int add(struct owner_map *m, uint64_t ino, int pid, int fd,
	       const char *comm)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 1024;
		struct owner_entry *e = realloc(m->e, cap * sizeof(*e));

		if (!e)
			return -1;
		m->e = e;
		m->cap = cap;
	}
	m->e[m->n].ino = ino;
	m->e[m->n].owner.pid = pid;
	m->e[m->n].owner.fd = fd;
	snprintf(m->e[m->n].owner.comm, sizeof(m->e[0].owner.comm), "%s",
		 comm);
	m->n++;
	return 0;
}

static void read_comm(const char *root, int pid, char *comm, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
	snprintf(comm, len, "?");
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(comm, len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

static void scan_pid(struct owner_map *m, int pid)
{
	char path[1024], link[64], comm[64];
	unsigned long long ino;
	struct dirent *d;
	DIR *dir;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/fd", m->root, pid);
	dir = opendir(path);
	if (!dir)
		return;		/* gone, or not ours to read */
	read_comm(m->root, pid, comm, sizeof(comm));
	while ((d = readdir(dir))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%d/fd/%s", m->root, pid,
			 d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%llu]", &ino) == 1)
			add(m, ino, pid, atoi(d->d_name), comm);
	}
	closedir(dir);
}

static int by_ino(const void *a, const void *b)
{
	const struct owner_entry *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->owner.pid != y->owner.pid)
		return x->owner.pid - y->owner.pid;
	return x->owner.fd - y->owner.fd;
}

int owner_scan(struct owner_map *m)
{
	struct dirent *d;
	DIR *dir = opendir(m->root);

	m->n = 0;
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (isdigit((unsigned char)d->d_name[0]))
			scan_pid(m, atoi(d->d_name));
	closedir(dir);
	qsort(m->e, m->n, sizeof(*m->e), by_ino);
	return 0;
}

const struct tc_owner *owner_find(const struct owner_map *m, uint64_t ino)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->e[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->e[lo].ino == ino ? &m->e[lo].owner : NULL;
}
