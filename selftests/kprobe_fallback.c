// SPDX-License-Identifier: GPL-2.0
/*
 * Loaded with hook=kprobe: the tcp_set_state() kprobe that stands in for
 * a missing tracepoint tells the same story.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "lib.h"

int main(void)
{
	struct evlist l = { 0 };
	struct tcpclose_stats st;
	uint64_t c;
	char story[256];
	int fd, lfd, cfd, sfd, port = 0, i;

	tap_plan(3);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	tc_get_stats(fd, &st);
	tap_check((st.hooks & TCPCLOSE_HOOK_KPROBE) &&
		  !(st.hooks & TCPCLOSE_HOOK_TRACEPOINT) &&
		  (st.hooks & TCPCLOSE_HOOK_TIMEWAIT),
		  "hooks: kprobe and timewait, no tracepoint (%#x)", st.hooks);
	lfd = tcp_listen(AF_INET, "127.0.0.1", &port);
	cfd = tcp_connect(AF_INET, "127.0.0.1", port);
	sfd = tcp_accept(lfd);
	c = orphan_close(fd, &l, cfd, sfd);
	ev_story(&l, c, story, sizeof(story));
	tap_info("story: %s", story);
	tap_check(!strcmp(story, "ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2 FIN_WAIT2>FIN_WAIT2 FIN_WAIT2>TIME_WAIT"),
		  "same story as with the tracepoint");
	i = ev_find(&l, c, TCPCLOSE_ESTABLISHED, TCPCLOSE_FIN_WAIT1);
	tap_check(i >= 0 && (l.ev[i].flags & TCPCLOSE_F_KPROBE),
		  "records flagged as seen by the kprobe");
	return tap_finish();
}
