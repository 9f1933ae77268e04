// SPDX-License-Identifier: GPL-2.0
/*
 * bench_close SECONDS: open and close loopback connections for SECONDS
 * (client closes first, server reads EOF and closes: the full four-way
 * close, 7 records each) and print connections per second.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	double secs = argc > 1 ? atof(argv[1]) : 3, start, end;
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
	long n = 0;
	char buf[16];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, len) || listen(l, 128) ||
	    getsockname(l, (struct sockaddr *)&a, &len)) {
		perror("listen");
		return 1;
	}
	start = now();
	end = start + secs;
	while (now() < end) {
		int c = socket(AF_INET, SOCK_STREAM, 0), s;

		/* Reuse TIME_WAIT tuples rather than run out of ports. */
		setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (connect(c, (struct sockaddr *)&a, len)) {
			perror("connect");
			return 1;
		}
		s = accept(l, NULL, NULL);
		close(c);
		while (read(s, buf, sizeof(buf)) > 0)
			;
		close(s);
		n++;
	}
	printf("%.0f\n", n / (now() - start));
	return 0;
}
