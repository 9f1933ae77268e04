// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of service attribution: cgroup paths as systemd, Docker,
 * containerd, CRI-O, Podman, Kubernetes and LXC lay them out on real
 * hosts, the choice of hierarchy in /proc/PID/cgroup on v2, hybrid and v1
 * hosts, and a lookup through a fixture /proc tree.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "service.h"
#include "fakeproc.h"

#define ID  "4f1c2a9e8b7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615243a"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define POD "8a1c4d52-7a2b-4f43-9d4e-0e1f2a3b4c5d"
#define POD_ "8a1c4d52_7a2b_4f43_9d4e_0e1f2a3b4c5d"

static const struct {
	const char *path;
	enum svc_kind kind;
	const char *name, *id, *pod;
} paths[] = {
	{ "/system.slice/nginx.service", SVC_UNIT, "nginx.service", NULL, NULL },
	{ "/system.slice/system-getty.slice/getty@tty1.service", SVC_UNIT,
	  "getty@tty1.service", NULL, NULL },
	/* A service that delegates: its own sub-cgroups are still it. */
	{ "/system.slice/nginx.service/workers", SVC_UNIT, "nginx.service", NULL, NULL },
	{ "/init.scope", SVC_UNIT, "init.scope", NULL, NULL },
	{ "/user.slice/user-1000.slice/session-3.scope", SVC_UNIT,
	  "session-3.scope", NULL, NULL },
	{ "/user.slice/user-1000.slice/user@1000.service/init.scope", SVC_UNIT,
	  "user@1000.service/init.scope", NULL, NULL },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/vte-spawn-5d6b.scope",
	  SVC_UNIT,
	  "user@1000.service/app.slice/app-org.gnome.Terminal.slice/vte-spawn-5d6b.scope", NULL, NULL },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/syncthing.service/sub",
	  SVC_UNIT, "user@1000.service/app.slice/syncthing.service", NULL, NULL },
	{ "/user.slice/user-1000.slice/user@1000.service", SVC_UNIT,
	  "user@1000.service", NULL, NULL },
	{ "/machine.slice/machine-debian.scope/payload/system.slice/nginx.service",
	  SVC_UNIT, "machine-debian.scope/payload/system.slice/nginx.service", NULL, NULL },
	{ "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/emulator",
	  SVC_UNIT, "machine-qemu\\x2d1\\x2dvm1.scope", NULL, NULL },
	{ "/system.slice/docker-" ID ".scope", SVC_CONTAINER,
	  "docker:4f1c2a9e8b7d", ID, NULL },
	{ "/docker/" ID, SVC_CONTAINER, "docker:4f1c2a9e8b7d", ID, NULL },
	/* systemd inside a container: the container is what we name. */
	{ "/system.slice/docker-" ID ".scope/system.slice/nginx.service",
	  SVC_CONTAINER, "docker:4f1c2a9e8b7d", ID, NULL },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_ ".slice/cri-containerd-" ID2 ".scope",
	  SVC_CONTAINER, "containerd:0123456789ab", ID2, POD },
	{ "/kubepods.slice/kubepods-pod" POD_ ".slice/crio-" ID2 ".scope",
	  SVC_CONTAINER, "cri-o:0123456789ab", ID2, POD },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_ ".slice/crio-" ID2 ".scope/container",
	  SVC_CONTAINER, "cri-o:0123456789ab", ID2, POD },
	{ "/kubepods/besteffort/pod" POD "/" ID, SVC_CONTAINER,
	  "kubepods:4f1c2a9e8b7d", ID, POD },
	{ "/kubepods/pod" POD "/" ID2, SVC_CONTAINER,
	  "kubepods:0123456789ab", ID2, POD },
	{ "/machine.slice/libpod-" ID ".scope/container", SVC_CONTAINER,
	  "podman:4f1c2a9e8b7d", ID, NULL },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope",
	  SVC_CONTAINER, "podman:4f1c2a9e8b7d", ID, NULL },
	{ "/libpod_parent/libpod-" ID, SVC_CONTAINER, "podman:4f1c2a9e8b7d",
	  ID, NULL },
	{ "/system.slice/nerdctl-" ID2 ".scope", SVC_CONTAINER,
	  "containerd:0123456789ab", ID2, NULL },
	/* Docker with --cgroup-parent, as CI runners use it. */
	{ "/actions_job/" ID2, SVC_CONTAINER, "container:0123456789ab", ID2, NULL },
	{ "/lxc.payload.web1", SVC_CONTAINER, "lxc:web1", "web1", NULL },
	{ "/lxc/web1", SVC_CONTAINER, "lxc:web1", "web1", NULL },
	/* Monitors and runtimes are services, not containers. */
	{ "/machine.slice/libpod-conmon-" ID ".scope", SVC_UNIT,
	  "libpod-conmon-" ID ".scope", NULL, NULL },
	{ "/system.slice/containerd.service", SVC_UNIT, "containerd.service", NULL, NULL },
	/* An id in upper case or of the wrong length is not one. */
	{ "/docker/4F1C2A9E8B7D", SVC_CGROUP, "/docker/4F1C2A9E8B7D", NULL, NULL },
	{ "/leak-a", SVC_CGROUP, "/leak-a", NULL, NULL },
	{ "/user.slice", SVC_CGROUP, "/user.slice", NULL, NULL },
	{ "/", SVC_ROOT, "/", NULL, NULL },
	{ "/.service", SVC_CGROUP, "/.service", NULL, NULL },
};

static int same(const char *got, const char *want)
{
	return !strcmp(got, want ? want : "");
}

static void naming(void)
{
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct service s;
		int ok;

		svc_from_path(paths[i].path, &s);
		ok = s.kind == paths[i].kind && same(s.name, paths[i].name) &&
		     same(s.id, paths[i].id) && same(s.pod, paths[i].pod) &&
		     same(s.path, paths[i].path);
		if (!ok)
			tap_info("got %s '%s' id '%s' pod '%s'",
				 svc_kind_name(s.kind), s.name, s.id, s.pod);
		tap_check(ok, "%s is %s %s", paths[i].path,
			  svc_kind_name(paths[i].kind), paths[i].name);
	}
}

static const struct {
	const char *what, *text, *want;
} files[] = {
	{ "cgroup v2", "0::/system.slice/nginx.service\n",
	  "/system.slice/nginx.service" },
	{ "hybrid: the unified line",
	  "12:pids:/system.slice/nginx.service\n"
	  "4:memory:/system.slice/nginx.service\n"
	  "1:name=systemd:/system.slice/nginx.service\n"
	  "0::/system.slice/nginx.service\n", "/system.slice/nginx.service" },
	{ "v1: name=systemd before pids and memory",
	  "11:memory:/docker/" ID "\n"
	  "6:cpu,cpuacct:/docker/" ID "\n"
	  "5:pids:/docker/" ID "\n"
	  "1:name=systemd:/docker/" ID "\n", "/docker/" ID },
	{ "v1 with an unused cgroup2 mount", "4:pids:/system.slice/foo.service\n0::/\n",
	  "/system.slice/foo.service" },
	{ "v1 without systemd: pids", "3:cpu,cpuacct:/x\n2:memory:/m\n1:pids:/p\n",
	  "/p" },
	{ "v1 without systemd or pids: memory", "3:cpu,cpuacct:/x\n2:memory:/m\n",
	  "/m" },
	{ "v2 root in a cgroup namespace", "0::/\n", "/" },
	{ "v1, only memory below the root",
	  "9:name=systemd:/\n8:pids:/\n4:memory:/job/36ceaf0a\n0::/\n",
	  "/job/36ceaf0a" },
	{ "a path with a colon, no final newline", "0::/a:b", "/a:b" },
};

static void picking(void)
{
	char path[SVC_PATH_MAX];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int ok = !svc_pick_path(files[i].text, path, sizeof(path)) &&
			 !strcmp(path, files[i].want);

		if (!ok)
			tap_info("picked '%s'", path);
		tap_check(ok, "/proc/PID/cgroup, %s: %s", files[i].what,
			  files[i].want);
	}
	tap_check(svc_pick_path("", path, sizeof(path)) == -1 &&
		  svc_pick_path("garbage\n1:pids\n", path, sizeof(path)) == -1,
		  "no usable line: refused");
}

static void proc_tree(void)
{
	char root[] = "/tmp/tcpclose-svc-XXXXXX", cmd[64];
	struct service a, b, gone;
	int ok;

	if (!mkdtemp(root))
		tap_bail("mkdtemp");
	proc_cgroup(root, 100, "/system.slice/nginx.service");
	proc_cgroup(root, 200, "/system.slice/docker-" ID ".scope");
	ok = !svc_lookup(root, 100, &a) && !strcmp(a.name, "nginx.service");
	ok &= !svc_lookup(root, 200, &b) &&
	      !strcmp(b.name, "docker:4f1c2a9e8b7d") &&
	      !strcmp(b.path, "/system.slice/docker-" ID ".scope");
	ok &= svc_lookup(root, 300, &gone) == -1 && gone.kind == SVC_UNKNOWN &&
	      !gone.name[0];
	tap_check(ok, "fixture /proc: unit and container named, a vanished pid is unknown");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd))
		tap_info("could not remove %s", root);
}

int main(void)
{
	tap_plan(sizeof(paths) / sizeof(paths[0]) +
		 sizeof(files) / sizeof(files[0]) + 2);
	naming();
	picking();
	proc_tree();
	return tap_finish();
}
