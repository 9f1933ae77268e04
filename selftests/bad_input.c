// SPDX-License-Identifier: GPL-2.0
/*
 * What /dev/tcpclose does with bad input: unprivileged opens, short reads,
 * bad pointers, unknown ioctls, wrong sizes, bad module parameters, more
 * readers than allowed; that a failed read loses no record, and that a
 * second reader has a stream of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "lib.h"

/* Hidden from the compiler, which would rightly warn about it. */
static void *volatile bad_ptr = (void *)8;
#define BAD bad_ptr

/* Runs fn in a child; returns the errno its open() failed with. */
static int open_errno_in_child(int drop_uid)
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		struct __user_cap_header_struct h = {
			_LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2] = { 0 };

		if (drop_uid) {
			if (setgid(65534) || setuid(65534))
				_exit(100);
		} else {
			syscall(SYS_capget, &h, d);
			d[0].effective &= ~(1U << CAP_NET_ADMIN);
			if (syscall(SYS_capset, &h, d))
				_exit(101);
		}
		_exit(open(TCPCLOSE_DEVICE, O_RDONLY) < 0 ? errno : 0);
	}
	waitpid(pid, &status, 0);
	return WEXITSTATUS(status);
}

/* Makes one close event; returns the client's cookie. */
static uint64_t one_event(int lfd, int port)
{
	int c = tcp_connect(AF_INET, "127.0.0.1", port);
	int s = tcp_accept(lfd);
	uint64_t cookie = sock_cookie(c);

	close(c);
	close(s);
	return cookie;
}

static int ioctl_errno(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? errno : 0;
}

static int blocking_fd;
static ssize_t blocking_ret;

static void *blocking_reader(void *arg)
{
	struct tcpclose_event ev;

	blocking_ret = read(blocking_fd, &ev, sizeof(ev));
	return NULL;
}

/* Another file's ioctl and close() while the stream owner sleeps. */
static void *other_file(void *arg)
{
	struct tcpclose_filter f = { .size = sizeof(f) };
	int fd = tc_open(O_RDONLY);

	ioctl(fd, TCPCLOSE_IOC_SET_FILTER, &f);
	close(fd);
	return NULL;
}

/* Start streams until one is refused; it must be at max_readers. */
static int too_many_readers(void)
{
	struct tcpclose_event ev;
	struct tcpclose_stats st;
	int fds[80], n, err = 0, ok;

	for (n = 0; n < 80; n++) {
		fds[n] = tc_open_lazy(O_RDONLY | O_NONBLOCK);
		if (read(fds[n], &ev, sizeof(ev)) < 0 && errno != EAGAIN) {
			err = errno;
			break;
		}
	}
	tc_get_stats(fds[0], &st);
	ok = err == EBUSY && st.readers == st.max_readers && st.max_readers == 8;
	tap_info("stream %d refused (%s); readers %u, max_readers %u", n,
		 strerror(err), st.readers, st.max_readers);
	for (n = n < 80 ? n : 79; n >= 0; n--)
		close(fds[n]);
	return ok;
}

static int write_states(const char *v)
{
	int fd = open("/sys/module/tcpclose/parameters/states", O_WRONLY);
	int rc = write(fd, v, strlen(v)) < 0 ? errno : 0;

	close(fd);
	return rc;
}

static int bad_states(void)
{
	struct tcpclose_stats st;
	int fd = tc_open_lazy(O_RDONLY), ok;

	ok = write_states("0") == EINVAL && write_states("0xffffffff") == EINVAL &&
	     write_states("0x80000000") == EINVAL &&
	     write_states("bogus") == EINVAL;
	tc_get_stats(fd, &st);
	ok = ok && st.state_mask == TCPCLOSE_DEFAULT_STATES &&
	     write_states("0x370") == 0;
	tc_get_stats(fd, &st);
	ok = ok && st.state_mask == 0x370;
	close(fd);
	return ok;
}

int main(void)
{
	struct tcpclose_stats st = { .size = sizeof(st) - 4 };
	struct tcpclose_filter f = { .size = sizeof(f) };
	struct tcpclose_dump d = { .size = sizeof(d), .count = 4 };
	struct tcpclose_event ev[4];
	struct evlist l = { 0 }, l2 = { 0 };
	struct pollfd p;
	pthread_t th, th2, other;
	uint32_t ver = 0;
	uint64_t c;
	int fd, fd2, lfd, port = 0, i;
	char small[10];

	tap_plan(21);
	tap_check(open_errno_in_child(1) == EACCES,
		  "open as nobody: EACCES (mode 0600)");
	tap_check(open_errno_in_child(0) == EPERM,
		  "open as root without CAP_NET_ADMIN: EPERM");

	fd = tc_open(O_RDONLY | O_NONBLOCK);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	tap_check(ioctl(fd, TCPCLOSE_IOC_VERSION, &ver) == 0 &&
		  ver == TCPCLOSE_ABI_VERSION, "ABI version %u", ver);
	tap_check(ioctl_errno(fd, _IO(TCPCLOSE_IOC_MAGIC, 99), NULL) == ENOTTY &&
		  ioctl_errno(fd, TCGETS, &ver) == ENOTTY, "unknown ioctl: ENOTTY");
	tap_check(ioctl_errno(fd, TCPCLOSE_IOC_STATS, &st) == EINVAL,
		  "stats with a wrong size: EINVAL");
	tap_check(ioctl_errno(fd, TCPCLOSE_IOC_STATS, BAD) == EFAULT &&
		  ioctl_errno(fd, TCPCLOSE_IOC_VERSION, BAD) == EFAULT,
		  "ioctl on a bad pointer: EFAULT");
	f.state_mask = 1U << 31;
	tap_check(ioctl_errno(fd, TCPCLOSE_IOC_SET_FILTER, &f) == EINVAL,
		  "filter with an impossible state: EINVAL");
	f.state_mask = 0;
	f.family = 99;
	tap_check(ioctl_errno(fd, TCPCLOSE_IOC_SET_FILTER, &f) == EINVAL,
		  "filter with an unknown family: EINVAL");
	d.entries_ptr = (uintptr_t)BAD;
	one_event(lfd, port);
	sleep_ms(100);
	tap_check(ioctl_errno(fd, TCPCLOSE_IOC_DUMP, &d) == EFAULT,
		  "table dump into a bad pointer: EFAULT");

	while (tc_collect(fd, &l, 300) > 0)
		;
	tap_check(read(fd, ev, sizeof(ev)) < 0 && errno == EAGAIN,
		  "empty non-blocking read: EAGAIN");
	c = one_event(lfd, port);
	sleep_ms(200);
	tap_check(read(fd, small, sizeof(small)) < 0 && errno == EINVAL,
		  "read into a buffer smaller than a record: EINVAL");
	tap_check(read(fd, BAD, sizeof(ev)) < 0 && errno == EFAULT,
		  "read into a bad pointer: EFAULT");
	l.n = 0;
	tap_check(tc_wait_for(fd, &l, c, TCPCLOSE_ESTABLISHED,
			      TCPCLOSE_FIN_WAIT1, 2000) >= 0 &&
		  l.ev[0].cookie == c,
		  "after the failed reads the first record is still there");

	fd2 = tc_open(O_RDONLY | O_NONBLOCK);
	c = one_event(lfd, port);
	l.n = 0;
	l2.n = 0;
	tap_check(tc_wait_for(fd, &l, c, TCPCLOSE_ESTABLISHED,
			      TCPCLOSE_FIN_WAIT1, 2000) >= 0 &&
		  tc_wait_for(fd2, &l2, c, TCPCLOSE_ESTABLISHED,
			      TCPCLOSE_FIN_WAIT1, 2000) >= 0,
		  "a second reader has a stream of its own: both get the record");
	tap_check(lseek(fd, 0, SEEK_SET) < 0 && errno == ESPIPE,
		  "lseek: ESPIPE");
	close(fd);

	/* Blocking reads are woken by an event. */
	blocking_fd = tc_open(O_RDONLY);
	while (tc_collect(fd2, &l, 200) > 0)
		;
	close(fd2);
	pthread_create(&th, NULL, blocking_reader, NULL);
	pthread_create(&th2, NULL, blocking_reader, NULL);
	sleep_ms(300);
	pthread_create(&other, NULL, other_file, NULL);
	tap_check(joined_within(other, 2000),
		  "with readers blocked, another file opens, ioctls and closes at once");
	one_event(lfd, port);
	tap_check(joined_within(th, 3000) && joined_within(th2, 3000) &&
		  blocking_ret == sizeof(ev[0]),
		  "two blocked readers both wake up for new records");
	pthread_join(other, NULL);
	p.fd = blocking_fd;
	p.events = POLLIN;
	one_event(lfd, port);
	i = poll(&p, 1, 2000);
	tap_check(i == 1 && (p.revents & POLLIN), "poll reports POLLIN");
	f.family = 0;
	f.port = 1;
	tap_check(ioctl(blocking_fd, TCPCLOSE_IOC_SET_FILTER, &f) == 0 &&
		  ioctl(blocking_fd, TCPCLOSE_IOC_GET_FILTER, &f) == 0 &&
		  f.port == 1, "filters can be set and read back");
	tap_check(too_many_readers(), "more streams than max_readers: EBUSY");
	tap_check(bad_states(), "states=0, 0xffffffff, 0x80000000: EINVAL, mask kept");
	return tap_finish();
}
