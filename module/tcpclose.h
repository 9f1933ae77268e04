/* SPDX-License-Identifier: GPL-2.0 */
/* Internal interfaces between the parts of the tcpclose module. */
#ifndef TCPCLOSE_INTERNAL_H
#define TCPCLOSE_INTERNAL_H

#include <linux/types.h>
#include <linux/bits.h>
#include <linux/compiler.h>
#include <linux/percpu.h>
#include <linux/poll.h>
#include <linux/tcpclose.h>

struct net;
struct sock;
struct sock_common;
struct inet_timewait_sock;
struct tcpclose_filter;

/* Module parameters (main.c). */
extern unsigned int tc_ring_slots;
extern unsigned int tc_table_max;
extern unsigned int tc_tw_table_max;
extern unsigned int tc_max_readers;
extern unsigned int tc_tw_max_age;
extern unsigned int tc_state_mask;
extern u64 tc_load_ns;

/*
 * Bench builds only (make bench, TCPCLOSE_EMPTY_PROBES=1): every hook is
 * attached and returns at once, so that the bench can measure what the
 * kernel's tracepoint and kprobe machinery costs before any of our work.
 */
static inline bool tc_probes_empty(void)
{
#ifdef TCPCLOSE_EMPTY_PROBES
	return true;
#else
	return false;
#endif
}

/*
 * Bench builds only (make bench-path, TCPCLOSE_PATH_BENCH=1): each hook
 * times itself under real connections (pathbench.c), as a whole and, in a
 * transition, part by part, so that the bench can say where a real
 * connection's cost goes, cold memory included.  TC_PB_DECLARE_TIMER(hook)
 * is the hook's last declaration; TC_PB_PART(part) ends a part.  Nothing
 * in other builds.
 */
enum tc_pb_hook {
	TC_PB_OPEN,		/* a transition filtered out (open path) */
	TC_PB_CLOSE,		/* a transition of the close path */
	TC_PB_DESTROY,
	TC_PB_TW_SCHEDULE,
	TC_PB_TW_PROCESS,
	TC_PB_TW_TIMER,
	TC_PB_TW_KILL,
	TC_PB_RCV_ENTRY,
	TC_PB_RCV_RETURN,
	TC_PB_READ,		/* a reader's read(): one tc_reader_copy() */
	/* One record of it (merge, copy, consume), and the empty merge
	 * that ends each read().
	 */
	TC_PB_READ_REC,
	TC_PB_POLL,		/* a reader's poll() */
	TC_PB_WAKE,		/* the irq_work that wakes a reader */
	TC_PB_HOOKS
};

enum tc_pb_part {
	TC_PB_P_FILTER,		/* up to the transition being wanted */
	TC_PB_P_COOKIE,		/* the cookie and the handoff lookup */
	TC_PB_P_INIT,		/* tc_event_init(), a record's or not */
	TC_PB_P_FILL,		/* the abort lookup, tc_fill_sock() */
	TC_PB_P_TABLE,		/* tc_table_update() */
	TC_PB_P_HIST,		/* tc_event_duration(): the histograms */
	TC_PB_P_EMIT,		/* tc_emit() or tc_hold() */
	TC_PB_PARTS
};

#ifdef TCPCLOSE_PATH_BENCH
struct tc_pb_timer {
	u64 t0, last;
	enum tc_pb_hook hook;
};

u64 tc_pb_now(void);
void tc_pb_timer_end(struct tc_pb_timer *t);
void tc_pb_part(struct tc_pb_timer *t, enum tc_pb_part part);
#define TC_PB_DECLARE_TIMER(h)						\
	struct tc_pb_timer tc_pb_t __attribute__((__cleanup__(tc_pb_timer_end))) = \
		{ .t0 = tc_pb_now(), .hook = (h) }
#define TC_PB_PART(p)	tc_pb_part(&tc_pb_t, (p))
#define TC_PB_HOOK(h)	(tc_pb_t.hook = (h))
#else
#define TC_PB_DECLARE_TIMER(h)	enum tc_pb_hook tc_pb_t __maybe_unused = (h)
#define TC_PB_PART(p)	((void)(p))
#define TC_PB_HOOK(h)	((void)(h))
#endif

/*
 * The hot path's small questions, inline: under the retpoline and return
 * thunk mitigations every call and return costs, and these are asked
 * several times per transition.
 */

/* A close state: the live table and the histograms track it. */
static inline bool tc_state_tracked(int state)
{
	return state < 32 && (TCPCLOSE_DEFAULT_STATES & BIT(state));
}

/* The states= mask takes a transition into or out of these states. */
static inline bool tc_state_wanted(int oldstate, int newstate)
{
	u32 mask = READ_ONCE(tc_state_mask);

	return (oldstate < 32 && (mask & BIT(oldstate))) ||
	       (newstate < 32 && (mask & BIT(newstate)));
}

/* Hook hits, host-wide, per CPU (stream.c sums them). */
DECLARE_PER_CPU(u64, tc_seen);

static inline void tc_count_seen(void)
{
	this_cpu_inc(tc_seen);
}

struct tc_table_info {
	u64 since_ns;		/* entry time of the state before this update */
	u64 ino;		/* the entry's inode, 0 when none */
	u32 rx_queue;		/* its unread bytes at the last transition */
	u8 state;		/* that state; 0 when the socket was unknown */
};

/* stream.c: the record path, from the hooks to the readers' streams. */
void tc_emit(const struct tcpclose_event *ev);
void tc_hold(const struct tcpclose_event *ev);
bool tc_take_held(u64 cookie, struct tcpclose_event *out);
void tc_flush_held(void);
u64 tc_stream_seen(struct tcpclose_cpu_stats *cpu, u32 nr);

/* reader.c: one stream per reading file. */
extern unsigned int tc_nr_readers;

/*
 * A transition the states= mask takes, with a reader to get it: a
 * record.  Else only the live table and the histograms hear of it, and
 * the record is not built (its header, its task) nor held nor emitted.
 * Asked once, at the start: a reader that opens meanwhile begins with
 * the next transition.
 */
static inline bool tc_recording(int oldstate, int newstate)
{
	return READ_ONCE(tc_nr_readers) && tc_state_wanted(oldstate, newstate);
}

struct tc_reader;
struct tc_reader *tc_reader_open(void);
void tc_reader_release(struct tc_reader *r);
ssize_t tc_reader_read(struct tc_reader *r, char __user *buf, size_t count,
		       bool nonblock);
__poll_t tc_reader_poll(struct tc_reader *r, struct file *file,
			poll_table *wait);
int tc_reader_set_filter(struct tc_reader *r, const struct tcpclose_filter *f);
void tc_reader_get_filter(struct tc_reader *r, struct tcpclose_filter *f);
u64 tc_reader_netns(const struct tc_reader *r);
void tc_reader_stats(struct tc_reader *r, struct tcpclose_stats *st,
		     struct tcpclose_cpu_stats *cpu, u32 nr);
void tc_readers_write(const struct tcpclose_event *ev);
void tc_readers_shutdown(void);

/* event.c: filling records from sockets. */
void tc_event_init(struct tcpclose_event *ev, bool record);
void tc_event_duration(struct tcpclose_event *ev,
		       const struct tc_table_info *old, const struct net *net);
void tc_fill_common(struct tcpclose_event *ev, const struct sock_common *skc,
		    __be16 sport);
void tc_fill_sock(struct tcpclose_event *ev, const struct sock *sk);
u64 tc_sock_cookie(struct sock *sk);
u64 tc_tw_cookie(struct inet_timewait_sock *tw);

/* table.c: the live table of sockets in close states. */
int tc_table_init(void);
void tc_table_exit(void);
void tc_table_update(const struct tcpclose_event *ev, u8 state,
		     bool timewait, bool entering, struct tc_table_info *old);
unsigned long tc_table_lock(u64 cookie) __acquires(tc_chains);
void tc_table_unlock(u64 cookie, unsigned long flags) __releases(tc_chains);
u8 tc_table_timewait_state(u64 cookie);
void tc_table_handoff(const struct tcpclose_event *ev,
		      struct tc_table_info *old);
bool tc_handoff_noted(u64 cookie);
bool tc_table_destroyed(u64 cookie, struct tc_table_info *old);
void tc_handoff_note(u64 cookie);
bool tc_handoff_take(u64 cookie);
int tc_table_dump(struct tcpclose_sock __user *out, u32 room, u64 netns,
		  u64 *total);
void tc_table_stats(struct tcpclose_stats *st, u64 netns);
size_t tc_table_entry_size(void);

/* histogram.c: how long sockets stay in each close state. */
int tc_hist_init(void);
void tc_hist_exit(void);
void tc_hist_note(const struct net *net, const struct tcpclose_event *ev);
int tc_hist_copy(u64 netns, struct tcpclose_hist_row __user *out, u32 room,
		 u32 *nr_rows, u64 *since_ns);

/* hooks.c: the state-change hooks for full sockets. */
extern char *tc_hook_mode;
int tc_hooks_init(void);
void tc_hooks_exit(void);
u32 tc_hooks_active(void);
void tc_record_transition(struct sock *sk, int oldstate, int newstate,
			  u32 flags);
void tc_fin_ack_merge(struct tcpclose_event *ev);
unsigned long tc_hooks_missed(void);

/* timewait.c: the kprobes that see the timewait minisocket. */
extern bool tc_timewait_enabled;
int tc_timewait_init(void);
void tc_timewait_exit(void);
bool tc_timewait_active(void);
unsigned long tc_timewait_missed(void);

/* abort.c: what tcp_abort() (ss -K) is ending. */
void tc_abort_init(void);
void tc_abort_exit(void);
bool tc_abort_take(const void *sk);
unsigned long tc_abort_missed(void);

/* segment.c: the segment tcp_rcv_state_process() is working on. */
void tc_segment_init(void);
void tc_segment_exit(void);
bool tc_segment_has_fin(const struct sock *sk);
void tc_segment_get(void);
void tc_segment_put(void);
u32 tc_segment_hooks(void);
unsigned long tc_segment_missed(void);

/* dev.c: /dev/tcpclose. */
int tc_dev_init(void);
void tc_dev_exit(void);

#endif /* TCPCLOSE_INTERNAL_H */
