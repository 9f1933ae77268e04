/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which service owns a process: its cgroup, reduced to what an SRE
 * recognises.  A systemd unit ("nginx.service", "session-3.scope",
 * "user@1000.service/app.slice/foo.service"), or a container id shortened
 * to 12 characters as `docker ps` does ("docker:4f1c2a9e8b7d"), or, for
 * cgroups nobody names, the cgroup path itself.  The full path is kept for
 * JSON and for anyone who needs to tell two look-alikes apart.
 */
#ifndef TCPCLOSE_SERVICE_H
#define TCPCLOSE_SERVICE_H

#include <stddef.h>

#define SVC_PATH_MAX	512
#define SVC_NAME_MAX	256

enum svc_kind {
	SVC_UNKNOWN,	/* no cgroup could be read (process gone, no /proc) */
	SVC_ROOT,	/* the root cgroup: kernel threads, or a cgroup ns root */
	SVC_UNIT,	/* a systemd unit */
	SVC_CONTAINER,	/* a container runtime's cgroup */
	SVC_CGROUP,	/* any other cgroup: named by its path */
};

struct service {
	enum svc_kind kind;
	char name[SVC_NAME_MAX];	/* the label: unit, runtime:id12, path */
	char runtime[16];		/* docker, containerd, cri-o, podman,
					 * kubepods, lxc, container */
	char id[72];			/* the container's full id or name */
	char pod[40];			/* a Kubernetes pod's uid, if any */
	char path[SVC_PATH_MAX];	/* the cgroup path it was made from */
};

/*
 * Chooses one hierarchy from the text of /proc/PID/cgroup and copies its
 * path.  Returns 0, or -1 if the text has no usable line.
 */
int svc_pick_path(const char *text, char *path, size_t len);
/* Names the service of a cgroup path ("/system.slice/nginx.service"). */
void svc_from_path(const char *path, struct service *svc);
/*
 * Reads PROC_ROOT/PID/cgroup ("/proc", or a fixture tree in tests) and
 * names its service.  Returns 0, or -1 with svc->kind SVC_UNKNOWN.
 */
int svc_lookup(const char *proc_root, int pid, struct service *svc);

/* Inline: the decoder prints it, and links without the naming rules. */
static inline const char *svc_kind_name(enum svc_kind kind)
{
	static const char *const names[] = {
		[SVC_UNKNOWN] = "unknown", [SVC_ROOT] = "root",
		[SVC_UNIT] = "unit", [SVC_CONTAINER] = "container",
		[SVC_CGROUP] = "cgroup",
	};

	return kind <= SVC_CGROUP ? names[kind] : "unknown";
}

#endif
