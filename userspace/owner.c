// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "owner.h"

void owner_init(struct owner_map *m, const char *proc_root)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->root, sizeof(m->root), "%s", proc_root);
}

static void free_services(struct owner_map *m)
{
	for (size_t i = 0; i < m->nsvc; i++)
		free(m->svc[i]);
	m->nsvc = 0;
}

void owner_free(struct owner_map *m)
{
	free_services(m);
	free(m->svc);
	free(m->e);
	m->e = NULL;
	m->svc = NULL;
	m->n = m->cap = m->svccap = 0;
}

static int add(struct owner_map *m, uint64_t ino, int pid, int fd,
	       const char *comm)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 1024;
		struct tc_owner *e = realloc(m->e, cap * sizeof(*e));

		if (!e)
			return -1;
		m->e = e;
		m->cap = cap;
	}
	m->e[m->n].ino = ino;
	m->e[m->n].pid = pid;
	m->e[m->n].fd = fd;
	m->e[m->n].svc = NULL;
	snprintf(m->e[m->n].comm, sizeof(m->e[0].comm), "%s", comm);
	m->n++;
	return 0;
}

/*
 * The service of pid, for its entries from @first on.  Each is allocated
 * on its own so that the pointers survive the growth of the arrays; when
 * memory runs out the entries keep NULL, which prints as unknown.
 */
static void add_service(struct owner_map *m, int pid, size_t first)
{
	struct service *svc;

	if (m->nsvc == m->svccap) {
		size_t cap = m->svccap ? 2 * m->svccap : 64;
		struct service **v = realloc(m->svc, cap * sizeof(*v));

		if (!v)
			return;
		m->svc = v;
		m->svccap = cap;
	}
	svc = malloc(sizeof(*svc));
	if (!svc)
		return;
	svc_lookup(m->root, pid, svc);
	m->svc[m->nsvc++] = svc;
	for (size_t i = first; i < m->n; i++)
		m->e[i].svc = svc;
}

/*
 * The whole of /proc/PID/comm but its final newline: a name may itself
 * hold newlines (the printers escape them).
 */
static void read_comm(const char *root, int pid, char *comm, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
	snprintf(comm, len, "?");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, len - 1);
	close(fd);
	if (n <= 0) {
		snprintf(comm, len, "?");
		return;
	}
	if (comm[n - 1] == '\n')
		n--;
	comm[n] = '\0';
}

static void scan_pid(struct owner_map *m, int pid)
{
	char path[1024], link[64], comm[64];
	unsigned long long ino;
	size_t first = m->n;
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
	if (m->n > first)
		add_service(m, pid, first);
}

static int by_ino(const void *a, const void *b)
{
	const struct tc_owner *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid - y->pid;
	return x->fd - y->fd;
}

int owner_scan(struct owner_map *m)
{
	struct dirent *d;
	DIR *dir = opendir(m->root);

	m->n = 0;
	free_services(m);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (isdigit((unsigned char)d->d_name[0]))
			scan_pid(m, atoi(d->d_name));
	closedir(dir);
	qsort(m->e, m->n, sizeof(*m->e), by_ino);
	return 0;
}

void owner_find(const struct owner_map *m, uint64_t ino,
		struct tc_holders *h)
{
	size_t lo = 0, hi = m->n, end;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->e[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < m->n && m->e[end].ino == ino; end++)
		;
	h->o = m->e + lo;
	h->n = ino ? end - lo : 0;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Sleeps until @until (CLOCK_MONOTONIC) or quit; called under the lock. */
static void resolver_pause(struct owner_resolver *r, uint64_t until)
{
	struct timespec ts = {
		.tv_sec = until / 1000000000ULL,
		.tv_nsec = until % 1000000000ULL,
	};

	while (!r->quit && monotonic_ns() < until)
		pthread_cond_timedwait(&r->wake, &r->lock, &ts);
}

/* A scan that took @cost may be followed by another 20 @cost later. */
static uint64_t next_scan(const struct owner_resolver *r, uint64_t start,
			  uint64_t cost)
{
	return start + (20 * cost > r->min_interval_ns ? 20 * cost :
			r->min_interval_ns);
}

static void *resolver_main(void *arg)
{
	struct owner_resolver *r = arg;
	struct owner_map fresh, old;
	uint64_t start, cost;

	pthread_mutex_lock(&r->lock);
	/* The first scan, by resolver_start(), counts like the others. */
	resolver_pause(r, r->next_scan);
	while (!r->quit) {
		if (!r->wanted) {
			pthread_cond_wait(&r->wake, &r->lock);
			continue;
		}
		r->wanted = 0;
		pthread_mutex_unlock(&r->lock);
		owner_init(&fresh, r->map.root);
		start = monotonic_ns();
		owner_scan(&fresh);
		cost = monotonic_ns() - start;
		pthread_mutex_lock(&r->lock);
		old = r->map;
		r->map = fresh;
		pthread_mutex_unlock(&r->lock);
		owner_free(&old);
		pthread_mutex_lock(&r->lock);
		resolver_pause(r, next_scan(r, start, cost));
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int resolver_start(struct owner_resolver *r, const char *proc_root,
		   uint64_t min_interval_ns)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	uint64_t start;
	int err;

	memset(r, 0, sizeof(*r));
	r->min_interval_ns = min_interval_ns;
	owner_init(&r->map, proc_root);
	start = monotonic_ns();
	owner_scan(&r->map);
	r->next_scan = next_scan(r, start, monotonic_ns() - start);
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals (SIGINT, SIGTERM) are for the thread reading the device. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&r->thread, NULL, resolver_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		owner_free(&r->map);
		return -1;
	}
	return 0;
}

void resolver_lock(struct owner_resolver *r)
{
	pthread_mutex_lock(&r->lock);
}

void resolver_unlock(struct owner_resolver *r)
{
	pthread_mutex_unlock(&r->lock);
}

void resolver_find(struct owner_resolver *r, uint64_t ino,
		   struct tc_holders *h)
{
	owner_find(&r->map, ino, h);
	if (ino && !h->n && !r->wanted) {
		r->wanted = 1;
		pthread_cond_signal(&r->wake);
	}
}

void resolver_stop(struct owner_resolver *r)
{
	pthread_mutex_lock(&r->lock);
	r->quit = 1;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	owner_free(&r->map);
}
