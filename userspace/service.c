// SPDX-License-Identifier: GPL-2.0
/*
 * Service attribution from cgroup paths.  Everything here but svc_lookup()
 * is a pure function of its text, so that the naming rules can be tested on
 * a table of paths seen on real hosts.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "service.h"

#define MAX_DEPTH	64

/*
 * The hierarchy we name a process by, best first.  On cgroup v2 and on
 * hybrid hosts the unified line "0::PATH" is systemd's own tree.  A pure v1
 * (legacy) host has no unified line: systemd's named hierarchy follows the
 * units there, and container runtimes put each container into every
 * controller, of which pids and memory are the ones nearly always mounted.
 */
enum { RANK_UNIFIED, RANK_SYSTEMD, RANK_PIDS, RANK_MEMORY, RANK_OTHER,
       RANK_ROOT, RANK_NONE };

static int has_controller(const char *list, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p < list + len; ) {
		const char *comma = memchr(p, ',', list + len - p);
		size_t l = comma ? (size_t)(comma - p) : (size_t)(list + len - p);

		if (l == n && !memcmp(p, name, n))
			return 1;
		p += l + 1;
	}
	return 0;
}

/* "ID:CONTROLLERS:PATH"; the path may itself contain colons. */
static int line_rank(const char *line, const char **path)
{
	const char *c1 = strchr(line, ':'), *c2;
	size_t clen;

	if (!c1 || !(c2 = strchr(c1 + 1, ':')) || c2[1] != '/')
		return RANK_NONE;
	*path = c2 + 1;
	clen = c2 - c1 - 1;
	if (!clen && c1 - line == 1 && line[0] == '0')
		return RANK_UNIFIED;
	if (has_controller(c1 + 1, clen, "name=systemd"))
		return RANK_SYSTEMD;
	if (has_controller(c1 + 1, clen, "pids"))
		return RANK_PIDS;
	if (has_controller(c1 + 1, clen, "memory"))
		return RANK_MEMORY;
	return RANK_OTHER;
}

static void copy_line(char *dst, size_t len, const char *src)
{
	size_t n = strcspn(src, "\n");

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A path that says nothing, as for every process of an unused hierarchy. */
static int is_root(const char *path)
{
	return strcspn(path, "\n") == 1;
}

/*
 * The best-ranked line whose path is not the root: a v1 host that merely
 * mounted cgroup2 shows everyone at "0::/", and a hierarchy nobody manages
 * shows everyone at "/".
 */
int svc_pick_path(const char *text, char *path, size_t len)
{
	const char *best = NULL, *p = NULL, *l = text;
	int best_rank = RANK_NONE;

	while (*l) {
		int r = line_rank(l, &p);

		if (r != RANK_NONE && is_root(p))
			r = RANK_ROOT;	/* only if nothing says more */
		if (r < best_rank) {
			best_rank = r;
			best = p;
		}
		l += strcspn(l, "\n");
		l += *l == '\n';
	}
	if (!best)
		return -1;
	copy_line(path, len, best);
	return 0;
}

static int split(char *buf, char **comp)
{
	int n = 0;

	for (char *tok = strtok(buf, "/"); tok && n < MAX_DEPTH;
	     tok = strtok(NULL, "/"))
		comp[n++] = tok;
	return n;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

/* "ID" or "ID.scope" with ID 64 lowercase hex digits: a container id. */
static int is_id(const char *s)
{
	size_t n = strlen(s);

	return (n == 64 || (n == 70 && !strcmp(s + 64, ".scope"))) &&
	       all_hex(s, 64);
}

/* Runtimes that name a container's cgroup PREFIX-ID[.scope]. */
static const struct {
	const char *prefix, *runtime;
} scoped[] = {
	{ "docker-", "docker" },
	{ "cri-containerd-", "containerd" },
	{ "crio-", "cri-o" },
	{ "libpod-", "podman" },
	{ "nerdctl-", "containerd" },
};

static void set_container(struct service *svc, const char *runtime,
			  const char *id, size_t idlen)
{
	svc->kind = SVC_CONTAINER;
	snprintf(svc->runtime, sizeof(svc->runtime), "%s", runtime);
	snprintf(svc->id, sizeof(svc->id), "%.*s", (int)idlen, id);
	/* The 12 characters `docker ps` and `crictl ps` show. */
	snprintf(svc->name, sizeof(svc->name), "%s:%.*s", runtime,
		 idlen == 64 ? 12 : (int)idlen, id);
}

/* A bare id directory: the runtime is told by an ancestor's name. */
static const char *bare_runtime(char **comp, int i)
{
	for (int j = i - 1; j >= 0; j--) {
		if (!strcmp(comp[j], "docker"))
			return "docker";
		if (!strncmp(comp[j], "kubepods", 8))
			return "kubepods";
		if (!strcmp(comp[j], "libpod_parent"))
			return "podman";
	}
	return "container";
}

static int container_at(char **comp, int i, struct service *svc)
{
	const char *c = comp[i];

	for (size_t k = 0; k < sizeof(scoped) / sizeof(scoped[0]); k++) {
		size_t n = strlen(scoped[k].prefix);

		if (!strncmp(c, scoped[k].prefix, n) && is_id(c + n)) {
			set_container(svc, scoped[k].runtime, c + n, 64);
			return 1;
		}
	}
	if (is_id(c)) {
		set_container(svc, bare_runtime(comp, i), c, 64);
		return 1;
	}
	/* LXC 4 and later: lxc.payload.NAME; cgroup v1 LXC: /lxc/NAME. */
	if (!strncmp(c, "lxc.payload.", 12) && c[12]) {
		set_container(svc, "lxc", c + 12, strlen(c + 12));
		return 1;
	}
	if (i == 1 && !strcmp(comp[0], "lxc")) {
		set_container(svc, "lxc", c, strlen(c));
		return 1;
	}
	return 0;
}

/*
 * Kubernetes pods: "pod<uid>" (cgroupfs driver) or
 * "kubepods-<qos>-pod<uid_with_underscores>.slice" (systemd driver).
 */
static void find_pod(char **comp, int n, struct service *svc)
{
	if (!n || strncmp(comp[0], "kubepods", 8))
		return;
	for (int i = 1; i < n; i++) {
		const char *p = strstr(comp[i], "-pod");
		size_t len, k;

		p = !strncmp(comp[i], "pod", 3) ? comp[i] + 3 : p ? p + 4 : NULL;
		if (!p)
			continue;
		len = strcspn(p, ".");
		if (len != 36 || (p[len] && strcmp(p + len, ".slice")))
			continue;
		for (k = 0; k < len; k++)
			svc->pod[k] = p[k] == '_' ? '-' : p[k];
		svc->pod[k] = '\0';
	}
}

static int is_unit(const char *c)
{
	static const char *const types[] = {
		".service", ".scope", ".socket", ".mount", ".swap",
	};

	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		if (ends_with(c, types[k]) && strlen(c) > strlen(types[k]))
			return 1;
	return 0;
}

/* Units that run a service manager of their own, as systemd-cgls shows. */
static int is_manager(const char *c)
{
	return (!strncmp(c, "user@", 5) && ends_with(c, ".service")) ||
	       (!strncmp(c, "machine-", 8) && ends_with(c, ".scope"));
}

static void append(char *dst, size_t len, const char *s)
{
	size_t n = strlen(dst);

	if (n < len)
		snprintf(dst + n, len - n, "%s%s", n ? "/" : "", s);
}

/*
 * The first unit below the slices names the service; inside a unit that
 * runs its own manager (user@1000.service, an nspawn machine) the path is
 * kept down to the unit within it, slices included.
 */
static int unit_in(char **comp, int n, struct service *svc)
{
	int i, j;

	for (i = 0; i < n && !is_unit(comp[i]); i++)
		;
	if (i == n)
		return 0;
	svc->kind = SVC_UNIT;
	svc->name[0] = '\0';
	append(svc->name, sizeof(svc->name), comp[i]);
	if (!is_manager(comp[i]))
		return 1;
	for (j = i + 1; j < n && !is_unit(comp[j]); j++)
		;
	if (j == n)
		return 1;
	for (int k = i + 1; k <= j; k++)
		append(svc->name, sizeof(svc->name), comp[k]);
	return 1;
}

void svc_from_path(const char *path, struct service *svc)
{
	char buf[SVC_PATH_MAX], *comp[MAX_DEPTH];
	int n;

	memset(svc, 0, sizeof(*svc));
	snprintf(svc->path, sizeof(svc->path), "%s", path);
	snprintf(buf, sizeof(buf), "%s", path);
	n = split(buf, comp);
	/* The outermost container: what runs inside it is its own business. */
	for (int i = 0; i < n; i++) {
		if (container_at(comp, i, svc)) {
			find_pod(comp, i, svc);
			return;
		}
	}
	if (unit_in(comp, n, svc))
		return;
	svc->kind = n ? SVC_CGROUP : SVC_ROOT;
	snprintf(svc->name, sizeof(svc->name), "%s", n ? path : "/");
}

int svc_lookup(const char *proc_root, int pid, struct service *svc)
{
	char file[512], text[4096], path[SVC_PATH_MAX];
	size_t n;
	FILE *f;

	snprintf(file, sizeof(file), "%s/%d/cgroup", proc_root, pid);
	f = fopen(file, "r");
	if (!f)
		goto unknown;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (svc_pick_path(text, path, sizeof(path)))
		goto unknown;
	svc_from_path(path, svc);
	return 0;
unknown:
	memset(svc, 0, sizeof(*svc));
	return -1;
}
