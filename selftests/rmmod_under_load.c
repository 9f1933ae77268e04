// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading during a connection storm.  While a reader holds the device
 * open, rmmod fails cleanly, module in use (open files pin it); once
 * it closes, rmmod succeeds mid-storm with sockets in CLOSE_WAIT and
 * TIME_WAIT left behind, and the kernel logs nothing bad (the runner
 * checks dmesg).
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib.h"

static int unload(void)
{
	return syscall(SYS_delete_module, "tcpclose", O_NONBLOCK);
}

/*
 * Open, close, repeat, until killed.  Half the servers stay in CLOSE_WAIT
 * for a while (the last LEAK of them).
 */
#define LEAK 64
static pid_t storm(int port, int lfd)
{
	int leaked[LEAK] = { 0 };
	pid_t pid = fork();

	if (pid)
		return pid;
	/* Never left behind, running or stopped, if the test bails out. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int i = 0;; i++) {
		int c = tcp_connect(AF_INET, "127.0.0.1", port);
		int s = tcp_accept(lfd);

		/*
		 * At most ~1000 connections a second: unthrottled, two of
		 * these use up the ephemeral ports within seconds, and
		 * connect() then scans the whole range in the kernel.
		 */
		if (i % 10 == 9)
			sleep_ms(10);

		close(c);
		if (i % 2) {
			close(s);
			continue;
		}
		if (leaked[i / 2 % LEAK])
			close(leaked[i / 2 % LEAK]);
		leaked[i / 2 % LEAK] = s;
	}
}

int main(void)
{
	struct evlist l = { 0 };
	int fd, lfd, port = 0, rc, err, status;
	pid_t kids[2];

	tap_plan(5);
	/*
	 * Its own namespace: the storm fills the timewait bucket table, which
	 * would make the next tests' handoffs fail for real.
	 */
	if (unshare(CLONE_NEWNET) || sh("%s link set lo up", tool("ip")) ||
	    sh("echo 1024 65535 > /proc/sys/net/ipv4/ip_local_port_range"))
		tap_bail("cannot enter a fresh network namespace");
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	/* Fork first: children must not inherit the device. */
	kids[0] = storm(port, lfd);
	kids[1] = storm(port, lfd);
	/* The first stream arms a kprobe: with the storm paused (lib.h). */
	hold_traffic(kids, 2, 1);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	hold_traffic(kids, 2, 0);
	sleep_ms(1000);
	tc_collect(fd, &l, 500);
	tap_check(l.n > 0, "events flow during the storm (%d)", l.n);

	rc = unload();
	err = errno;
	/* delete_module(O_NONBLOCK) says EWOULDBLOCK for a module in use. */
	tap_check(rc < 0 && (err == EWOULDBLOCK || err == EBUSY),
		  "rmmod with a reader open fails: module in use (%s)",
		  strerror(err));
	tap_check(tc_collect(fd, &l, 500) > 0, "the reader still reads");
	/* The last stream disarms it; the unload is under the storm. */
	hold_traffic(kids, 2, 1);
	close(fd);
	hold_traffic(kids, 2, 0);

	sleep_ms(300);
	rc = unload();
	err = errno;
	tap_check(rc == 0, "rmmod during the storm, reader gone: %s",
		  rc ? strerror(err) : "ok");
	sleep_ms(1000);
	tap_check(open(TCPCLOSE_DEVICE, O_RDONLY) < 0 && errno == ENOENT,
		  "the device is gone");
	kill(kids[0], SIGKILL);
	kill(kids[1], SIGKILL);
	waitpid(kids[0], &status, 0);
	waitpid(kids[1], &status, 0);
	return tap_finish();
}
