/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Made-up state-duration histograms, in the module's row order, for the
 * host tests of their drawing and of their Prometheus form.
 */
#ifndef TCPCLOSE_FAKEHIST_H
#define TCPCLOSE_FAKEHIST_H

#include <string.h>
#include <linux/tcpclose.h>

#define FAKE_ROWS	11
#define MS		1000000ULL

enum { ROW_CW, ROW_LA, ROW_FW1, ROW_FW2, ROW_CLOSING, ROW_TW_EXPIRED,
       ROW_TW_RST, ROW_TW_REUSE, ROW_TW_OTHER, ROW_TW_KILLED, ROW_UNKNOWN };

static inline void fake_hist(struct tcpclose_hist *h,
			     struct tcpclose_hist_row r[FAKE_ROWS])
{
	static const unsigned char states[FAKE_ROWS] = {
		TCPCLOSE_CLOSE_WAIT, TCPCLOSE_LAST_ACK, TCPCLOSE_FIN_WAIT1,
		TCPCLOSE_FIN_WAIT2, TCPCLOSE_CLOSING, TCPCLOSE_TIME_WAIT,
		TCPCLOSE_TIME_WAIT, TCPCLOSE_TIME_WAIT, TCPCLOSE_TIME_WAIT,
		TCPCLOSE_TIME_WAIT, 0,
	};

	memset(h, 0, sizeof(*h));
	h->size = sizeof(*h);
	h->version = TCPCLOSE_ABI_VERSION;
	h->scope = TCPCLOSE_SCOPE_HOST;
	h->nr_rows = FAKE_ROWS;
	memset(r, 0, FAKE_ROWS * sizeof(*r));
	for (int i = 0; i < FAKE_ROWS; i++) {
		r[i].state = states[i];
		if (states[i] == TCPCLOSE_TIME_WAIT)
			r[i].reason = i - ROW_TW_EXPIRED + 1;
	}
	/* A leak: five closed after ~150 ms, one after 300 ms, one 10 min. */
	r[ROW_CW].buckets[18] = 5;
	r[ROW_CW].buckets[19] = 1;
	r[ROW_CW].buckets[30] = 1;
	r[ROW_CW].count = 7;
	r[ROW_CW].sum_ns = 5 * 150 * MS + 300 * MS + 600000 * MS + 7;
	r[ROW_CW].unknown = 2;
	r[ROW_LA].buckets[5] = 3;
	r[ROW_LA].count = 3;
	r[ROW_LA].sum_ns = 60000;
	r[ROW_FW1].buckets[14] = 4;
	r[ROW_FW1].count = 4;
	r[ROW_FW1].sum_ns = 48 * MS;
	/* FIN+ACK closes: well under a microsecond in FIN_WAIT2. */
	r[ROW_FW2].buckets[0] = 2;
	r[ROW_FW2].buckets[17] = 4;
	r[ROW_FW2].count = 6;
	r[ROW_FW2].sum_ns = 400 * MS + 1000;
	/* A busy host: 4e8 TIME_WAITs of 60 s, 2.4e19 ns, past 2^64. */
	r[ROW_TW_EXPIRED].buckets[26] = 400000000;
	r[ROW_TW_EXPIRED].count = 400000000;
	r[ROW_TW_EXPIRED].sum_ns_hi = 1;
	r[ROW_TW_EXPIRED].sum_ns = 5553255926290448384ULL;
	r[ROW_TW_RST].unknown = 1;
	r[ROW_TW_REUSE].buckets[21] = 2;
	r[ROW_TW_REUSE].count = 2;
	r[ROW_TW_REUSE].sum_ns = 3000 * MS;
	r[ROW_UNKNOWN].unknown = 1;
}

#endif
