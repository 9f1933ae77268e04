// SPDX-License-Identifier: GPL-2.0
/*
 * A segment that reaches a timewait socket without killing it leaves a
 * per-CPU note (its RST or SYN flag) behind; a later end must not take
 * that note's reason.  Here an out-of-window RST (which TIME_WAIT drops)
 * hits the client's timewait socket, then a connect() from the same port
 * takes the 4-tuple over a second later: the end is "reuse", not "rst".
 * The RST is crafted on a raw socket; all of it runs on CPU 0, so that the
 * note and the kill meet on the same CPU.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include "lib.h"

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint16_t *p = data;

	for (; len > 1; len -= 2)
		sum += *p++;
	if (len)
		sum += *(const uint8_t *)p;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* An RST from 127.0.0.1:sport to 127.0.0.1:dport with sequence @seq. */
static int send_rst(int sport, int dport, uint32_t seq)
{
	struct {
		uint32_t saddr, daddr;
		uint8_t zero, proto;
		uint16_t len;
		struct tcphdr th;
	} pkt = { 0 };
	struct sockaddr_in to = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_TCP), rc;

	if (fd < 0)
		return -1;
	pkt.saddr = pkt.daddr = htonl(INADDR_LOOPBACK);
	pkt.proto = IPPROTO_TCP;
	pkt.len = htons(sizeof(pkt.th));
	pkt.th.source = htons(sport);
	pkt.th.dest = htons(dport);
	pkt.th.seq = htonl(seq);
	pkt.th.doff = sizeof(pkt.th) / 4;
	pkt.th.rst = 1;
	pkt.th.window = htons(1024);
	pkt.th.check = csum(&pkt, sizeof(pkt), 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = sendto(fd, &pkt.th, sizeof(pkt.th), 0, (struct sockaddr *)&to,
		    sizeof(to));
	close(fd);
	return rc == sizeof(pkt.th) ? 0 : -1;
}

int main(void)
{
	struct evlist l = { 0 };
	uint64_t ccookie;
	int fd, lfd, cfd, sfd, port = 0, cport, i, rc, alive;
	cpu_set_t cpus;

	tap_plan(3);
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	cfd = tcp_connect(AF_INET, "127.0.0.1", port);
	sfd = tcp_accept(lfd);
	cport = local_port(cfd);
	ccookie = orphan_close(fd, &l, cfd, sfd);
	/* Out of window: whatever the sequence, TIME_WAIT drops the RST. */
	rc = send_rst(port, cport, 12345);
	sleep_ms(100);
	alive = sh("%s -H -t state time-wait '( sport = :%d )' | grep -q .",
		   tool("ss"), cport) == 0;
	tap_check(rc == 0 && alive && ev_find(&l, ccookie, TCPCLOSE_TIME_WAIT,
					      TCPCLOSE_CLOSE) < 0,
		  "an out-of-window RST leaves the TIME_WAIT socket alive (sent: %d, listed: %d)",
		  rc, alive);
	tc_collect(fd, &l, 100);
	tap_check(ev_find(&l, ccookie, TCPCLOSE_TIME_WAIT, TCPCLOSE_CLOSE) < 0,
		  "and is not reported as its end");
	sleep_ms(1100);		/* tcp_tw_reuse wants a second to pass */
	cfd = tcp_connect_from(AF_INET, "127.0.0.1", port, cport);
	i = tc_wait_for(fd, &l, ccookie, TCPCLOSE_TIME_WAIT, TCPCLOSE_CLOSE,
			5000);
	tap_check(cfd >= 0 && i >= 0 &&
		  l.ev[i].reason == TCPCLOSE_REASON_REUSE,
		  "a connect() from its port a second later ends it as reuse, not rst (reason %d)",
		  i >= 0 ? l.ev[i].reason : -1);
	ev_dump(&l, ccookie);
	return tap_finish();
}
