// SPDX-License-Identifier: GPL-2.0
/*
 * Output that cannot be forged: a process name with a newline, an ESC,
 * bytes that are not UTF-8, a C1 control, a bidi override, a backslash,
 * and a multibyte name cut at 15 bytes as the kernel cuts comm, and
 * cgroup paths (services) with such bytes, through
 * every output mode of watch, stuck and stats, against golden files.
 * Human output must keep one line per record and no control byte; JSON
 * must be valid UTF-8 that python3's json module parses back into the
 * names with U+FFFD for each byte that was not UTF-8.  And a write error
 * on stdout (/dev/full) must give exit status 1 and a message.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "decode.h"
#include "device.h"
#include "stats.h"
#include "stuck.h"
#include "fakeproc.h"
#include "golden.h"

#define NAMES 5

/* Each at most 15 bytes, as in task->comm. */
static const char *const hostile[NAMES] = {
	"evil\n\x1b[2Jroot",		/* a forged line, a terminal escape */
	"\xff\xfe\x80x",		/* not UTF-8 at all */
	"\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3",
					/* "ÄÄÄÄÄÄÄÄ" cut mid-character */
	"a\\x41\xc2\x9b\xe2\x80\xaez",	/* backslash, C1 CSI, RLO */
	"tab\there\x7f\xe2\x80\xa8",	/* tab, DEL, LINE SEPARATOR */
};

/*
 * Cgroup paths, as /proc/PID/cgroup shows them: a directory name may hold
 * any byte but '/' and NUL (a newline would end the line, so none here).
 */
static const char *const hostile_cgroup[NAMES] = {
	"/system.slice/evil\x1b[2J.service",
	"/x\xff\xfe.slice/bad\xc3.service",
	"/system.slice/docker-4f1c2a9e8b7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615243a.scope",
	"/odd\\dir\xe2\x80\xae",
	"/user.slice/tab\there.scope",
};

/* What json.loads must give back, as json.dumps(..., ensure_ascii). */
static const char *const parsed[NAMES] = {
	"\"evil\\n\\u001b[2Jroot\"",
	"\"\\ufffd\\ufffd\\ufffdx\"",
	"\"\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\ufffd\"",
	"\"a\\\\x41\\u009b\\u202ez\"",
	"\"tab\\there\\u007f\\u2028\"",
};

static struct tcpclose_event event(int i)
{
	struct tcpclose_event ev = {
		.size = sizeof(ev), .version = TCPCLOSE_ABI_VERSION,
		.family = AF_INET, .oldstate = TCPCLOSE_ESTABLISHED,
		.newstate = TCPCLOSE_CLOSE_WAIT, .flags = TCPCLOSE_F_PROCESS,
		.ts_ns = 1000000000ULL * (10 + i), .cookie = 100 + i,
		.ino = 500 + i, .netns = 4026531840U, .sport = 8080,
		.dport = 40000 + i, .pid = 10 + i, .tid = 10 + i,
		.netns_cookie = 1,
	};

	inet_pton(AF_INET, "10.0.0.1", ev.saddr);
	inet_pton(AF_INET, "10.0.0.2", ev.daddr);
	memcpy(ev.comm, hostile[i], strlen(hostile[i]));
	return ev;
}

static char *capture_watch(int json)
{
	struct tc_owner o[NAMES];
	struct service svc[NAMES];
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!json)
		tc_print_event_header(f, NULL);
	for (int i = 0; i < NAMES; i++) {
		struct tcpclose_event ev = event(i);
		struct tc_holders h = { &o[i], i % 2 };

		/* Odd events name an owner, even ones their task. */
		svc_from_path(hostile_cgroup[i], &svc[i]);
		o[i] = (struct tc_owner){ .ino = ev.ino, .pid = 20 + i,
					  .fd = 3, .svc = &svc[i] };
		memcpy(o[i].comm, hostile[i], strlen(hostile[i]) + 1);
		if (json)
			tc_print_event_json(f, &ev, &h, 0);
		else
			tc_print_event(f, &ev, &h, 0, 1, NULL);
	}
	fclose(f);
	return text;
}

static char *capture_stuck(int json, const char *root)
{
	static const struct tcpclose_stats st = {
		.version = TCPCLOSE_ABI_VERSION, .load_ns = 1000000000000ULL,
		.state_mask = TCPCLOSE_DEFAULT_STATES,
	};
	struct tcpclose_sock t[NAMES] = { 0 };
	struct stuck_opts o;
	struct stuck_input in = {
		.st = &st, .table = t, .nt = NAMES, .now = 2000000000000ULL,
		.real_ns = 1764115200123456789ULL,
	};
	struct owner_map m;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	stuck_opts_init(&o);
	o.min_age = 0;
	o.json = json;
	for (int i = 0; i < NAMES; i++) {
		struct tcpclose_event ev = event(i);

		t[i] = (struct tcpclose_sock){ .cookie = ev.cookie,
			.since_ns = 1500000000000ULL + i * 1000000000ULL,
			.ino = ev.ino, .netns = ev.netns, .family = AF_INET,
			.state = TCPCLOSE_CLOSE_WAIT, .sport = ev.sport,
			.dport = ev.dport, .netns_cookie = 1 };
		memcpy(t[i].saddr, ev.saddr, 16);
		memcpy(t[i].daddr, ev.daddr, 16);
	}
	owner_init(&m, root);
	owner_scan(&m);
	in.owners = &m;
	stuck_report(f, &o, &in);
	fclose(f);
	owner_free(&m);
	return text;
}

/* One stats view, an hour after the load. */
static void print_stats(FILE *f, const struct tcpclose_stats *st,
			const struct tcpclose_cpu_stats *cpu, int json)
{
	if (json)
		stats_print_json(f, st, cpu, 3600000000000ULL);
	else
		stats_print_human(f, st, cpu, 3600000000000ULL);
}

static char *capture_stats(int json)
{
	struct tcpclose_cpu_stats cpu[2] = { { 5, 4, 1 }, { 7, 7, 0 } };
	struct tcpclose_stats st = {
		.version = TCPCLOSE_ABI_VERSION, .seen = 12, .recorded = 11,
		.dropped = 1, .delivered = 10, .filtered = 2,
		.table_entries = 3, .table_capacity = 65536,
		.table_overflow = 4, .ring_size = 4096,
		.state_mask = TCPCLOSE_DEFAULT_STATES,
		.hooks = TCPCLOSE_HOOK_TRACEPOINT | TCPCLOSE_HOOK_TIMEWAIT |
			 TCPCLOSE_HOOK_FINACK | TCPCLOSE_HOOK_FINACK_WANTED,
		.nr_cpus = 2, .tw_entries = 5, .tw_capacity = 65536,
		.tw_overflow = 6, .missed = 7, .expired = 8,
		.netns_cookie = 1, .readers = 2, .max_readers = 8,
		.streaming = 1,
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	print_stats(f, &st, cpu, json);
	/* No stream anywhere: the FIN+ACK kretprobe is disarmed. */
	st.streaming = 0;
	st.readers = 0;
	st.hooks &= ~(TCPCLOSE_HOOK_FINACK | TCPCLOSE_HOOK_FINACK_WANTED);
	st.scope = TCPCLOSE_SCOPE_NETNS;
	print_stats(f, &st, cpu, json);
	/*
	 * A stream in another namespace (none counted here), and it is still
	 * disarmed: arming failed.
	 */
	st.hooks |= TCPCLOSE_HOOK_FINACK_WANTED;
	print_stats(f, &st, cpu, json);
	/*
	 * This namespace's last stream ended between its count and the
	 * module's look: the module's word wins, no failure.
	 */
	st.hooks &= ~TCPCLOSE_HOOK_FINACK_WANTED;
	st.readers = 1;
	if (!json)
		print_stats(f, &st, cpu, json);
	fclose(f);
	return text;
}

/* One line per record; no byte below 0x20 but '\n', no DEL, no 0x9b. */
static int clean(const char *text, int lines)
{
	int n = 0;

	for (const unsigned char *p = (const void *)text; *p; p++) {
		if (*p == '\n')
			n++;
		else if (*p < 0x20 || *p == 0x7f || *p == 0x9b)
			return 0;
	}
	return n == lines;
}

/*
 * The JSON parses as UTF-8 and gives back the names; the comm fields are
 * found wherever they are nested.
 */
static int parses(const char *text, int lines, int names)
{
	static const char script[] =
		"import json, sys\n"
		"def comms(o):\n"
		"    if isinstance(o, dict):\n"
		"        for k, v in o.items():\n"
		"            if k == 'comm' and v is not None: yield v\n"
		"            else: yield from comms(v)\n"
		"    elif isinstance(o, list):\n"
		"        for v in o: yield from comms(v)\n"
		"n = 0\n"
		"for l in open(sys.argv[1], encoding='utf-8', errors='strict'):\n"
		"    n += 1\n"
		"    for c in comms(json.loads(l)): print(json.dumps(c))\n"
		"assert n == int(sys.argv[2]), n\n";
	char path[] = "/tmp/tcpclose-jsonXXXXXX", *cmd, *got = NULL;
	size_t len = 0;
	int fd = mkstemp(path), ok;
	FILE *p;

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		return 0;
	close(fd);
	if (asprintf(&cmd, "python3 - %s %d <<'PY'\n%sPY\n", path, lines,
		     script) < 0)
		return 0;
	p = popen(cmd, "r");
	free(cmd);
	if (!p)
		return 0;
	if (getdelim(&got, &len, '\0', p) < 0)
		*got = '\0';
	ok = pclose(p) == 0;
	for (int i = 0; ok && names && i < NAMES; i++)
		ok = strstr(got, parsed[i]) != NULL;
	if (!ok)
		tap_info("python3 said:\n%s", got);
	free(got);
	unlink(path);
	return ok;
}

/* names: the output holds the hostile names (stats has none). */
static void mode(const char *name, char *text, int json, int lines,
		 int names)
{
	tap_check(golden(name, text), "%s matches golden", name);
	if (json)
		tap_check(parses(text, lines, names),
			  "%s: python3 parses %d documents%s", name, lines,
			  names ? ", names come back with U+FFFD for non-UTF-8" : "");
	else
		tap_check(clean(text, lines),
			  "%s: %d lines, no control byte reaches the terminal",
			  name, lines);
	free(text);
}

/* Runs build/tcpclose ARGS with stdout on /dev/full; its stderr in said. */
static int run_full(const char *args, char *said, size_t len)
{
	char cmd[256];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "build/tcpclose %s 2>&1 >/dev/full", args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(said, 1, len - 1, p);
	said[n] = '\0';
	st = pclose(p);
	tap_info("$ %s: exit %d, said: %s", cmd, WEXITSTATUS(st), said);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void full_disk(void)
{
	char said[1024];

	tap_check(run_full("--help", said, sizeof(said)) == EXIT_ERROR &&
		  strstr(said, "write error on standard output: No space"),
		  "tcpclose --help > /dev/full: exit 1, says write error");
	tap_check(run_full("stats --help", said, sizeof(said)) == EXIT_ERROR &&
		  strstr(said, "write error"),
		  "tcpclose stats --help > /dev/full: exit 1, says write error");
	/* Without the module stuck falls back to sock_diag and still prints. */
	if (!access(TCPCLOSE_DEVICE, F_OK)) {
		tap_skip("stuck --json > /dev/full: this host has %s",
			 TCPCLOSE_DEVICE);
		return;
	}
	tap_check(run_full("stuck --json", said, sizeof(said)) == EXIT_ERROR &&
		  strstr(said, "write error on standard output: No space"),
		  "tcpclose stuck --json > /dev/full: exit 1, says write error");
}

int main(void)
{
	char root[] = "/tmp/tcpclose-procXXXXXX", rm[64];

	tap_plan(15);
	if (!mkdtemp(root))
		tap_bail("mkdtemp");
	for (int i = 0; i < NAMES; i++) {
		proc_socket(root, 20 + i, hostile[i], 3, 500 + i);
		proc_cgroup(root, 20 + i, hostile_cgroup[i]);
	}
	mode("hostile-watch.txt", capture_watch(0), 0, NAMES + 1, 1);
	mode("hostile-watch.jsonl", capture_watch(1), 1, NAMES, 1);
	/* Header, rows, and twice a blank line, a summary's title and lines. */
	mode("hostile-stuck.txt", capture_stuck(0, root), 0, 3 * NAMES + 5, 1);
	mode("hostile-stuck.json", capture_stuck(1, root), 1, 1, 1);
	mode("stats.txt", capture_stats(0), 0, 67, 0);
	mode("stats.json", capture_stats(1), 1, 3, 0);
	full_disk();
	snprintf(rm, sizeof(rm), "rm -rf %s", root);
	if (system(rm))
		tap_info("could not remove %s", root);
	return tap_finish();
}
