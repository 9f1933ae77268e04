// SPDX-License-Identifier: GPL-2.0
/*
 * What the reader says when /dev/tcpclose cannot be used: no module,
 * no permission, some other device, an ABI version mismatch.  These
 * cannot be staged with a real module (it always speaks our version),
 * so open() and ioctl() of the device are stood in for: the test is
 * linked with --wrap=open,--wrap=ioctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "device.h"
#include "../tap.h"

int __real_open(const char *path, int flags, ...);
int __real_ioctl(int fd, unsigned long req, ...);

static int fake_open_errno;	/* open() of the device fails with this */
static int fake_ioctl_errno;	/* the version ioctl fails with this */
static uint32_t fake_version;	/* or answers this */
static int fake_fd = -1;

int __wrap_open(const char *path, int flags, ...)
{
	if (strcmp(path, TCPCLOSE_DEVICE))
		return __real_open(path, flags, 0);
	if (fake_open_errno) {
		errno = fake_open_errno;
		return -1;
	}
	fake_fd = __real_open("/dev/null", flags);
	return fake_fd;
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != fake_fd || req != TCPCLOSE_IOC_VERSION)
		return __real_ioctl(fd, req, arg);
	if (fake_ioctl_errno) {
		errno = fake_ioctl_errno;
		return -1;
	}
	memcpy(arg, &fake_version, sizeof(fake_version));
	return 0;
}

static char said[1024];

/* dev_open() with stderr captured into said[]; the fd is closed. */
static int try_open(void)
{
	int saved = dup(STDERR_FILENO), pfd[2], fd, n;

	if (saved < 0 || pipe(pfd))
		tap_bail("pipe: %s", strerror(errno));
	dup2(pfd[1], STDERR_FILENO);
	close(pfd[1]);
	fd = dev_open(O_RDONLY | O_NONBLOCK);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(pfd[0], said, sizeof(said) - 1);
	said[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	tap_info("dev_open: %d, said: %s", fd, said);
	if (fd >= 0)
		close(fd);
	return fd;
}

/* An fd that dev_open() leaked would still be open after it failed. */
static int leaked(void)
{
	return fake_fd >= 0 && fcntl(fake_fd, F_GETFD) >= 0;
}

int main(void)
{
	char want[128];

	tap_plan(5);
	fake_open_errno = ENOENT;
	tap_check(try_open() < 0 && strstr(said, "module is not loaded") &&
		  strstr(said, "modprobe tcpclose"),
		  "no device: says the module is not loaded and how to load it");
	fake_open_errno = EACCES;
	tap_check(try_open() < 0 && strstr(said, "permission denied") &&
		  strstr(said, "CAP_NET_ADMIN"),
		  "permission denied: says root or CAP_NET_ADMIN is needed");
	fake_open_errno = 0;
	fake_ioctl_errno = ENOTTY;
	tap_check(try_open() < 0 && !leaked() &&
		  strstr(said, "does not answer the version ioctl"),
		  "another device: says it is not the tcpclose module");
	fake_ioctl_errno = 0;
	fake_version = TCPCLOSE_ABI_VERSION + 1;
	snprintf(want, sizeof(want), "module speaks version %u, this tcpclose command version %u",
		 TCPCLOSE_ABI_VERSION + 1, TCPCLOSE_ABI_VERSION);
	tap_check(try_open() < 0 && !leaked() && strstr(said, want),
		  "ABI mismatch: names both versions");
	fake_version = TCPCLOSE_ABI_VERSION;
	tap_check(try_open() >= 0 && !*said, "matching ABI: opens, says nothing");
	return tap_finish();
}
