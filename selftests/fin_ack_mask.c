// SPDX-License-Identifier: GPL-2.0
/*
 * Loaded with states=32 (FIN_WAIT2 only): a FIN+ACK close must not be
 * merged into FIN_WAIT1 > TIME_WAIT, a transition the mask does not take,
 * which used to lose both halves.  The client then reads FIN_WAIT1 >
 * FIN_WAIT2 and the handoff FIN_WAIT2 > TIME_WAIT; a close whose ACK came
 * alone adds the FIN_WAIT2 handoff between them.  As in fin_ack_close,
 * the check that needs a FIN+ACK is skipped when none happened.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "lib.h"

#define TRIES 5

static const char finack[] = "FIN_WAIT1>FIN_WAIT2 FIN_WAIT2>TIME_WAIT";
static const char separate[] = "FIN_WAIT1>FIN_WAIT2 FIN_WAIT2>FIN_WAIT2 FIN_WAIT2>TIME_WAIT";

int main(void)
{
	int fd, i, n_finack = 0, valid = 1;
	struct evlist l = { 0 };
	uint64_t c[TRIES];
	char story[512];

	tap_plan(2);
	fd = tc_open(O_RDONLY | O_NONBLOCK);
	close_fin_ack(fd, &l, c, TRIES);
	for (i = 0; i < TRIES; i++) {
		ev_story(&l, c[i], story, sizeof(story));
		tap_info("connection %d: %s", i, story);
		if (!strcmp(story, finack))
			n_finack++;
		else if (strcmp(story, separate))
			valid = 0;
	}
	tap_check(valid, "every close reads FIN_WAIT1>FIN_WAIT2, then FIN_WAIT2>TIME_WAIT");
	if (!n_finack && valid)
		tap_skip("no FIN+ACK in %d tries: the delayed ACK fired first", TRIES);
	else
		tap_check(n_finack > 0, "FIN+ACK closes keep both halves (%d of %d)",
			  n_finack, TRIES);
	return tap_finish();
}
