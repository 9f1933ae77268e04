// SPDX-License-Identifier: GPL-2.0
/*
 * Several tasks blocked in read() on one file (a reader's threads, or a
 * file shared by fork): every one must wake for new records.  A task that
 * woke first and found records used to clear the wakeup request the others
 * still slept on, and to re-arm it just before a woken one looked: that one
 * slept on with records waiting.  Twenty rounds of six threads blocked on
 * one file and a poller, two connections' records (more than six) each.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "lib.h"

#define ROUNDS 20
#define READERS 6

static int fd;

static void *reader(void *arg)
{
	struct tcpclose_event ev;

	*(ssize_t *)arg = read(fd, &ev, sizeof(ev));
	return NULL;
}

static void *poller(void *arg)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	*(int *)arg = poll(&p, 1, 5000);
	return NULL;
}

static void connection(int lfd, int port)
{
	int c = tcp_connect(AF_INET, "127.0.0.1", port);
	int s = tcp_accept(lfd);

	close(c);
	close(s);
}

/* Every thread joined, asleep ones woken by more records; or bail. */
static void rescue(pthread_t *t, int *joined, int n, int lfd, int port)
{
	for (int i = 0; i < 10; i++) {
		connection(lfd, port);
		sleep_ms(100);
	}
	for (int i = 0; i < n; i++)
		if (!joined[i] && !joined_within(t[i], 6000))
			tap_bail("a blocked reader never woke");
}

int main(void)
{
	int lfd, port = 0, round, woke = 0, polled = 0, pr, ok, i;
	int joined[READERS + 1];
	pthread_t t[READERS + 1];
	ssize_t ret[READERS];
	struct evlist l = { 0 };

	tap_plan(2);
	fd = tc_open(O_RDONLY);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	for (round = 0; round < ROUNDS; round++) {
		/* Empty the stream first, without blocking. */
		fcntl(fd, F_SETFL, O_NONBLOCK);
		while (tc_collect(fd, &l, 100) > 0)
			;
		l.n = 0;
		fcntl(fd, F_SETFL, 0);
		pr = -1;
		for (i = 0; i < READERS; i++) {
			ret[i] = -1;
			pthread_create(&t[i], NULL, reader, &ret[i]);
		}
		pthread_create(&t[READERS], NULL, poller, &pr);
		sleep_ms(200);
		connection(lfd, port);
		connection(lfd, port);
		ok = 1;
		for (i = 0; i < READERS; i++) {
			joined[i] = joined_within(t[i], 5000);
			ok &= joined[i] && ret[i] > 0;
		}
		joined[READERS] = joined_within(t[READERS], 6000);
		if (ok)
			woke++;
		else
			tap_info("round %d: a blocked reader did not wake", round);
		if (joined[READERS] && pr == 1)
			polled++;
		else
			tap_info("round %d: the poller got %d", round, pr);
		for (i = 0; i <= READERS && joined[i]; i++)
			;
		if (i <= READERS) {
			rescue(t, joined, READERS + 1, lfd, port);
			break;
		}
	}
	tap_check(woke == ROUNDS, "all %d blocked readers of one file woke in %d of %d rounds",
		  READERS, woke, ROUNDS);
	tap_check(polled == ROUNDS, "its poller saw POLLIN in %d of %d rounds",
		  polled, ROUNDS);
	return tap_finish();
}
