// SPDX-License-Identifier: GPL-2.0
/*
 * Workloads for `make demo`:
 *   leaky PORT     a server that never closes what it accepts
 *   clients PORT N N clients that say hello and close
 *   pairs N        N connections closed properly by both sides
 *   simul          one simultaneous close (run where lo has netem delay)
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int listener(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)) {
		perror("listen");
		exit(1);
	}
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char buf[64];

	if (!strcmp(mode, "leaky") && argc == 3) {
		int l = listener(atoi(argv[2]));

		prctl(PR_SET_NAME, "leaky_server");
		for (;;)
			accept(l, NULL, NULL);	/* and never close() */
	}
	if (!strcmp(mode, "clients") && argc == 4) {
		for (int i = 0; i < atoi(argv[3]); i++) {
			int c = connect_to(atoi(argv[2]));

			write(c, "hello\n", 6);
			close(c);
		}
		return 0;
	}
	if (!strcmp(mode, "pairs") && argc == 3) {
		int l = listener(7001);

		for (int i = 0; i < atoi(argv[2]); i++) {
			int c = connect_to(7001), s = accept(l, NULL, NULL);

			close(c);
			usleep(100000);
			while (read(s, buf, sizeof(buf)) > 0)
				;
			close(s);
		}
		return 0;
	}
	if (!strcmp(mode, "simul")) {
		int l = listener(7002), c = connect_to(7002);
		int s = accept(l, NULL, NULL);

		close(c);
		close(s);
		sleep(1);
		return 0;
	}
	fprintf(stderr, "usage: demo_workload leaky PORT | clients PORT N | pairs N | simul\n");
	return 2;
}
