/* SPDX-License-Identifier: GPL-2.0 */
/* A fixture /proc tree for the reader's owner lookup: PID/fd, comm, cgroup. */
#ifndef TCPCLOSE_FAKEPROC_H
#define TCPCLOSE_FAKEPROC_H

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../tap.h"

/* ROOT/PID/fd/FD -> TARGET, as in /proc */
static inline void proc_fd(const char *root, int pid, int fd,
			   const char *target)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%d", root, pid);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%d/fd", root, pid);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%d/fd/%d", root, pid, fd);
	if (symlink(target, p))
		tap_bail("symlink %s", p);
}

/* ROOT/PID/NAME holding TEXT. */
static inline void proc_file(const char *root, int pid, const char *name,
			     const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%d", root, pid);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%d/%s", root, pid, name);
	f = fopen(p, "w");
	if (!f)
		tap_bail("cannot write %s", p);
	fputs(text, f);
	fclose(f);
}

/* ROOT/PID/comm, with the newline the kernel adds. */
static inline void proc_comm(const char *root, int pid, const char *comm)
{
	char text[256];

	snprintf(text, sizeof(text), "%s\n", comm);
	proc_file(root, pid, "comm", text);
}

/* ROOT/PID/cgroup: the unified hierarchy's line, "0::PATH". */
static inline void proc_cgroup(const char *root, int pid, const char *path)
{
	char text[600];

	snprintf(text, sizeof(text), "0::%s\n", path);
	proc_file(root, pid, "cgroup", text);
}

/* A process COMM holding socket INO on descriptor FD. */
static inline void proc_socket(const char *root, int pid, const char *comm,
			       int fd, int ino)
{
	char target[64];

	snprintf(target, sizeof(target), "socket:[%d]", ino);
	proc_fd(root, pid, fd, target);
	proc_comm(root, pid, comm);
}

#endif
