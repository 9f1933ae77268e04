// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "device.h"

static void explain_open_error(int err)
{
	switch (err) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		fprintf(stderr, "tcpclose: %s not found: the module is not loaded; load it with 'modprobe tcpclose' (or 'insmod tcpclose.ko')\n",
			TCPCLOSE_DEVICE);
		break;
	case EACCES:
	case EPERM:
		fprintf(stderr, "tcpclose: %s: permission denied: run as root (the device needs CAP_NET_ADMIN)\n",
			TCPCLOSE_DEVICE);
		break;
	case EBUSY:
		fprintf(stderr, "tcpclose: %s: too many readers (module parameter max_readers)\n",
			TCPCLOSE_DEVICE);
		break;
	default:
		fprintf(stderr, "tcpclose: cannot open %s: %s\n",
			TCPCLOSE_DEVICE, strerror(err));
	}
}

int dev_open(int flags)
{
	uint32_t version = 0;
	int fd = open(TCPCLOSE_DEVICE, flags | O_CLOEXEC);

	if (fd < 0) {
		explain_open_error(errno);
		return -1;
	}
	if (ioctl(fd, TCPCLOSE_IOC_VERSION, &version)) {
		fprintf(stderr, "tcpclose: %s does not answer the version ioctl (%s): is it the tcpclose module?\n",
			TCPCLOSE_DEVICE, strerror(errno));
		close(fd);
		return -1;
	}
	if (version != TCPCLOSE_ABI_VERSION) {
		fprintf(stderr, "tcpclose: ABI version mismatch: the module speaks version %u, this tcpclose command version %u; install matching versions\n",
			version, TCPCLOSE_ABI_VERSION);
		close(fd);
		return -1;
	}
	return fd;
}

int dev_stats(int fd, struct tcpclose_stats *st,
	      struct tcpclose_cpu_stats **cpu)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (ioctl(fd, TCPCLOSE_IOC_STATS, st))
		goto fail;
	if (!cpu)
		return 0;
	*cpu = calloc(st->nr_cpus, sizeof(**cpu));
	if (!*cpu)
		return -1;
	st->cpu_ptr = (uintptr_t)*cpu;
	if (ioctl(fd, TCPCLOSE_IOC_STATS, st))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "tcpclose: statistics ioctl: %s\n", strerror(errno));
	return -1;
}

int dev_dump(int fd, struct tcpclose_sock **out)
{
	struct tcpclose_dump d = { .size = sizeof(d) };

	/* Ask for the size, then leave room for sockets arriving meanwhile. */
	for (;;) {
		if (ioctl(fd, TCPCLOSE_IOC_DUMP, &d))
			break;
		if (d.count >= d.total && *out)
			return d.count;
		free(*out);
		d.count = d.total + d.total / 4 + 64;
		*out = calloc(d.count, sizeof(**out));
		if (!*out)
			return -1;
		d.entries_ptr = (uintptr_t)*out;
	}
	fprintf(stderr, "tcpclose: live table ioctl: %s\n", strerror(errno));
	return -1;
}

static void explain_hist_error(int err, uint64_t netns_cookie)
{
	switch (err) {
	case ENOTTY:
		fprintf(stderr, "tcpclose: the loaded module has no state-duration histograms (it predates them); load the module of this version\n");
		break;
	case EPERM:
		fprintf(stderr, "tcpclose: another network namespace's histograms can only be read from the initial one\n");
		break;
	case ENOENT:
		fprintf(stderr, "tcpclose: no network namespace with cookie %llu (any more)\n",
			(unsigned long long)netns_cookie);
		break;
	case ENODATA:
		fprintf(stderr, "tcpclose: this network namespace has no histograms of its own (no memory when it was created, or it is going away)\n");
		break;
	default:
		fprintf(stderr, "tcpclose: histogram ioctl: %s\n", strerror(err));
	}
}

int dev_hist(int fd, uint64_t netns_cookie, struct tcpclose_hist *h,
	     struct tcpclose_hist_row **rows)
{
	uint32_t room = 0;
	int err;

	/* Ask how many rows there are, then for them. */
	*rows = NULL;
	for (;;) {
		memset(h, 0, sizeof(*h));
		h->size = sizeof(*h);
		h->row_size = sizeof(**rows);
		h->netns_cookie = netns_cookie;
		h->nr_rows = room;
		h->rows_ptr = (uintptr_t)*rows;
		if (ioctl(fd, TCPCLOSE_IOC_HIST, h))
			break;
		if (h->nr_rows <= room)
			return h->nr_rows;
		free(*rows);
		room = h->nr_rows;
		*rows = calloc(room, sizeof(**rows));
		if (!*rows)
			return -1;
	}
	err = errno;
	free(*rows);
	*rows = NULL;
	explain_hist_error(err, netns_cookie);
	errno = err;
	return -1;
}

int dev_set_filter(int fd, const struct tcpclose_filter *f)
{
	if (!ioctl(fd, TCPCLOSE_IOC_SET_FILTER, f))
		return 0;
	fprintf(stderr, "tcpclose: filter ioctl: %s\n", strerror(errno));
	return -1;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t mono_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t mono_to_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
}
