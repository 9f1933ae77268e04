// SPDX-License-Identifier: GPL-2.0
/*
 * bench_close [-t THREADS] [-s] [-c CPU] [-n CONNS] SECONDS
 *
 * Open and close loopback connections for SECONDS and print
 * "RATE CONNS ELAPSED": connections per second, connections made, seconds.
 *
 *   (default)  the client closes first, the server reads EOF and closes:
 *              the full four-way close, TIME_WAIT on the client side
 *   -s         the server closes first, the client reads EOF and closes:
 *              TIME_WAIT on the server side (the common production shape)
 *   -t N       N threads churning in parallel, each with its own listener
 *   -c CPU     pin every thread to CPU (sched_setaffinity)
 *   -n CONNS   stop after CONNS connections per thread (or SECONDS, first)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS	64

struct churn {
	pthread_t tid;
	int listener;
	struct sockaddr_in addr;
	long conns;
};

static int server_first;
static long max_conns;
static double end_time;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void drain_and_close(int fd)
{
	char buf[16];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

static void listen_loopback(struct churn *c)
{
	socklen_t len = sizeof(c->addr);
	int one = 1;

	c->addr = (struct sockaddr_in){ .sin_family = AF_INET };
	c->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->listener = socket(AF_INET, SOCK_STREAM, 0);
	if (c->listener < 0)
		die("socket");
	setsockopt(c->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(c->listener, (struct sockaddr *)&c->addr, len) ||
	    listen(c->listener, 128) ||
	    getsockname(c->listener, (struct sockaddr *)&c->addr, &len))
		die("listen");
}

/* One connection: open, then close from the chosen side first. */
static void one_conn(struct churn *c)
{
	int one = 1, cl, sv;

	cl = socket(AF_INET, SOCK_STREAM, 0);
	if (cl < 0)
		die("socket");
	/* Reuse TIME_WAIT tuples rather than run out of ports. */
	setsockopt(cl, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (connect(cl, (struct sockaddr *)&c->addr, sizeof(c->addr)))
		die("connect");
	sv = accept(c->listener, NULL, NULL);
	if (sv < 0)
		die("accept");
	if (server_first) {
		close(sv);
		drain_and_close(cl);
	} else {
		close(cl);
		drain_and_close(sv);
	}
}

static void *churn(void *arg)
{
	struct churn *c = arg;

	while (now() < end_time && (!max_conns || c->conns < max_conns)) {
		one_conn(c);
		c->conns++;
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_close [-t THREADS] [-s] [-c CPU] [-n CONNS] SECONDS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct churn th[MAX_THREADS];
	int opt, nthreads = 1, cpu = -1;
	double secs, start, elapsed;
	long total = 0;

	while ((opt = getopt(argc, argv, "t:sc:n:")) != -1) {
		switch (opt) {
		case 't':
			nthreads = atoi(optarg);
			if (nthreads < 1 || nthreads > MAX_THREADS)
				usage();
			break;
		case 's':
			server_first = 1;
			break;
		case 'c':
			cpu = atoi(optarg);
			if (cpu < 0 || cpu >= CPU_SETSIZE)
				usage();
			break;
		case 'n':
			max_conns = atol(optarg);
			if (max_conns < 1)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	secs = atof(argv[optind]);
	if (secs <= 0)
		usage();

	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		/* Threads created below inherit the mask. */
		if (sched_setaffinity(0, sizeof(set), &set))
			die("sched_setaffinity");
	}
	for (int i = 0; i < nthreads; i++) {
		th[i].conns = 0;
		listen_loopback(&th[i]);
	}

	start = now();
	end_time = start + secs;
	for (int i = 1; i < nthreads; i++) {
		int err = pthread_create(&th[i].tid, NULL, churn, &th[i]);

		if (err) {
			errno = err;
			die("pthread_create");
		}
	}
	churn(&th[0]);
	for (int i = 1; i < nthreads; i++)
		pthread_join(th[i].tid, NULL);
	elapsed = now() - start;

	for (int i = 0; i < nthreads; i++) {
		total += th[i].conns;
		close(th[i].listener);
	}
	printf("%.0f %ld %.3f\n", total / elapsed, total, elapsed);
	return 0;
}
