/* SPDX-License-Identifier: GPL-2.0 */
/* Internal interfaces between the parts of the tcpclose module. */
#ifndef TCPCLOSE_INTERNAL_H
#define TCPCLOSE_INTERNAL_H

#include <linux/types.h>
#include <linux/poll.h>
#include <linux/tcpclose.h>

struct sock;
struct sock_common;
struct inet_timewait_sock;
struct tcpclose_filter;

/* Module parameters (main.c). */
extern unsigned int tc_ring_slots;
extern unsigned int tc_table_max;
extern unsigned int tc_state_mask;
extern u64 tc_load_ns;

struct tc_table_info {
	u64 since_ns;		/* entry time of the state before this update */
	u8 state;		/* that state; 0 when the socket was unknown */
	bool timewait;
};

/* stream.c: per-CPU rings, the record path and the merged reader side. */
int tc_stream_init(void);
void tc_stream_exit(void);
void tc_emit(const struct tcpclose_event *ev);
void tc_hold(const struct tcpclose_event *ev);
bool tc_take_held(u64 cookie, struct tcpclose_event *out);
void tc_flush_held(void);
void tc_count_seen(void);
bool tc_stream_empty(void);
ssize_t tc_stream_copy(char __user *buf, size_t count,
		       const struct tcpclose_filter *filter, u32 reader_netns);
int tc_stream_wait(void);
bool tc_stream_dying(void);
void tc_stream_stats(struct tcpclose_stats *st, struct tcpclose_cpu_stats *cpu,
		     u32 nr_cpu);
void tc_stream_shutdown(void);
__poll_t tc_stream_poll(struct file *file, poll_table *wait);
void tc_stream_unowned(void);
extern wait_queue_head_t tc_read_wq;

/* event.c: filling records from sockets. */
bool tc_state_wanted(int oldstate, int newstate);
void tc_event_init(struct tcpclose_event *ev);
void tc_event_duration(struct tcpclose_event *ev,
		       const struct tc_table_info *old);
void tc_fill_common(struct tcpclose_event *ev, const struct sock_common *skc,
		    __be16 sport);
void tc_fill_sock(struct tcpclose_event *ev, const struct sock *sk);
u64 tc_sock_cookie(struct sock *sk);
u64 tc_tw_cookie(struct inet_timewait_sock *tw);

/* table.c: the live table of sockets in close states. */
int tc_table_init(unsigned int max);
void tc_table_exit(void);
void tc_table_update(const struct tcpclose_event *ev, u8 state,
		     bool timewait, struct tc_table_info *old);
void tc_table_remove(u64 cookie, struct tc_table_info *old);
void tc_table_note_handoff(const struct tcpclose_event *ev, u8 substate);
bool tc_table_take_handoff(u64 cookie, u8 *substate);
int tc_table_dump(struct tcpclose_sock *out, u32 room, u32 netns,
		  u64 *total);
void tc_table_stats(struct tcpclose_stats *st);
bool tc_state_tracked(int state);

/* hooks.c: the state-change hooks for full sockets. */
extern char *tc_hook_mode;
int tc_hooks_init(void);
void tc_hooks_exit(void);
u32 tc_hooks_active(void);
void tc_record_transition(struct sock *sk, int oldstate, int newstate,
			  u32 flags);

/* timewait.c: the kprobes that see the timewait minisocket. */
extern bool tc_timewait_enabled;
int tc_timewait_init(void);
void tc_timewait_exit(void);
bool tc_timewait_active(void);

/* segment.c: the segment tcp_rcv_state_process() is working on. */
void tc_segment_init(void);
void tc_segment_exit(void);
bool tc_segment_has_fin(const struct sock *sk);

/* dev.c: /dev/tcpclose. */
int tc_dev_init(void);
void tc_dev_exit(void);

#endif /* TCPCLOSE_INTERNAL_H */
