/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * tcpclose: the ABI of /dev/tcpclose.
 *
 * This header is the only definition of the record format and the ioctls;
 * the module and the userspace reader both include it.  It is documented
 * field by field in Documentation/ABI/testing/dev-tcpclose, and `make check`
 * cross-checks that document against this file.
 *
 * Versioning: TCPCLOSE_ABI_VERSION changes whenever a field changes meaning
 * or position.  Structures carry their own size so that fields can be added
 * at the end without a version change; a reader must honour `size`.
 */
#ifndef _UAPI_LINUX_TCPCLOSE_H
#define _UAPI_LINUX_TCPCLOSE_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define TCPCLOSE_ABI_VERSION	2
#define TCPCLOSE_DEVICE		"/dev/tcpclose"

/* TCP states, numbered as in the kernel's include/net/tcp_states.h. */
enum {
	TCPCLOSE_ESTABLISHED = 1,
	TCPCLOSE_SYN_SENT,
	TCPCLOSE_SYN_RECV,
	TCPCLOSE_FIN_WAIT1,
	TCPCLOSE_FIN_WAIT2,
	TCPCLOSE_TIME_WAIT,
	TCPCLOSE_CLOSE,
	TCPCLOSE_CLOSE_WAIT,
	TCPCLOSE_LAST_ACK,
	TCPCLOSE_LISTEN,
	TCPCLOSE_CLOSING,
	TCPCLOSE_NEW_SYN_RECV,
	TCPCLOSE_MAX_STATES
};

#define TCPCLOSE_STATE_BIT(s)	(1U << (s))

/* Transitions into or out of these states are recorded by default. */
#define TCPCLOSE_DEFAULT_STATES						\
	(TCPCLOSE_STATE_BIT(TCPCLOSE_FIN_WAIT1) |			\
	 TCPCLOSE_STATE_BIT(TCPCLOSE_FIN_WAIT2) |			\
	 TCPCLOSE_STATE_BIT(TCPCLOSE_CLOSING) |				\
	 TCPCLOSE_STATE_BIT(TCPCLOSE_TIME_WAIT) |			\
	 TCPCLOSE_STATE_BIT(TCPCLOSE_CLOSE_WAIT) |			\
	 TCPCLOSE_STATE_BIT(TCPCLOSE_LAST_ACK))

/* tcpclose_event.flags */
#define TCPCLOSE_F_PROCESS	(1U << 0) /* process context: pid/comm valid */
#define TCPCLOSE_F_TIMEWAIT	(1U << 1) /* event of the timewait minisocket */
/* The full socket was handed to a timewait socket: the connection goes on. */
#define TCPCLOSE_F_HANDOFF	(1U << 2)
#define TCPCLOSE_F_V4MAPPED	(1U << 3) /* AF_INET6 socket, v4-mapped peer */
#define TCPCLOSE_F_DUR_KNOWN	(1U << 4) /* prev_state_ns is valid */
#define TCPCLOSE_F_KPROBE	(1U << 5) /* seen by the tcp_set_state kprobe */
/* FIN_WAIT1 > TIME_WAIT: the peer's FIN came with the ACK of ours. */
#define TCPCLOSE_F_FINACK	(1U << 6)
/*
 * The transition to CLOSE was missed (a probe hit the kernel skipped); the
 * socket's destruction revealed it: ts_ns is that time, not the CLOSE's.
 */
#define TCPCLOSE_F_LATE		(1U << 7)

/* tcpclose_event.reason: why a timewait socket (or, killed, any) ended */
enum {
	TCPCLOSE_REASON_NONE = 0,
	TCPCLOSE_REASON_EXPIRED,	/* 2MSL (or tcp_fin_timeout) timer */
	TCPCLOSE_REASON_RST,		/* peer sent an RST */
	TCPCLOSE_REASON_REUSE,		/* a new connection took the 4-tuple */
	TCPCLOSE_REASON_OTHER,		/* e.g. network namespace teardown */
	TCPCLOSE_REASON_KILLED,		/* tcp_abort(): ss -K, SOCK_DESTROY */
	TCPCLOSE_REASON_MAX
};

/*
 * One record per state transition; read(2) returns whole records only.
 * Addresses are in network byte order: IPv4 in the first 4 bytes, IPv6 in
 * all 16.  Ports are in host byte order.
 */
struct tcpclose_event {
	__u16 size;		/* sizeof(struct tcpclose_event) */
	__u8  version;		/* TCPCLOSE_ABI_VERSION */
	__u8  family;		/* AF_INET or AF_INET6 */
	__u8  oldstate;		/* TCPCLOSE_* state, 0 when unknown */
	__u8  newstate;		/* TCPCLOSE_* state */
	__u8  tw_substate;	/* timewait socket substate, else 0 */
	__u8  reason;		/* TCPCLOSE_REASON_* */
	__u32 flags;		/* TCPCLOSE_F_* */
	__u32 cpu;		/* CPU that recorded the event */
	__u64 ts_ns;		/* CLOCK_MONOTONIC, nanoseconds */
	__u64 cookie;		/* socket cookie: the connection's id */
	__u64 prev_state_ns;	/* time spent in oldstate (F_DUR_KNOWN) */
	__u64 ino;		/* socket inode, 0 when none */
	__u32 netns;		/* network namespace inode (may be reused) */
	__u16 sport;		/* local port */
	__u16 dport;		/* remote port */
	__u8  saddr[16];	/* local address */
	__u8  daddr[16];	/* remote address */
	__u32 rx_queue;		/* received, not read by the application */
	__u32 tx_queue;		/* sent, not acknowledged by the peer */
	__u32 pid;		/* thread group id in the reader's pid ns */
	__u32 tid;		/* thread id, likewise (0: not visible) */
	char  comm[16];		/* task name (F_PROCESS) */
	__u64 netns_cookie;	/* network namespace id, never reused */
};

/*
 * Per-CPU counters, as returned through tcpclose_stats.cpu_ptr: seen is
 * host-wide (0 outside the initial network namespace), recorded and
 * dropped are the calling file's stream.
 */
struct tcpclose_cpu_stats {
	__u64 seen;		/* hook invocations that matched a TCP socket */
	__u64 recorded;		/* records written into this CPU's ring */
	__u64 dropped;		/* records lost because the ring was full */
};

/* tcpclose_stats.scope */
#define TCPCLOSE_SCOPE_HOST	0	/* opened in the initial netns */
#define TCPCLOSE_SCOPE_NETNS	1	/* one namespace: host-wide fields 0 */

struct tcpclose_stats {
	__u32 size;		/* in: sizeof(struct tcpclose_stats) */
	__u32 version;		/* out: TCPCLOSE_ABI_VERSION */
	__u64 seen;		/* out: host: hook hits on TCP sockets */
	__u64 recorded;		/* out: this file's stream: written */
	__u64 dropped;		/* out: this file's stream: ring full */
	__u64 delivered;	/* out: this file's stream: read */
	__u64 filtered;		/* out: this file's filter skipped */
	__u64 table_entries;	/* out: full sockets in the table (scope) */
	__u64 table_capacity;	/* out: their bound */
	__u64 table_overflow;	/* out: full sockets not tracked, pool empty */
	__u64 load_ns;		/* out: CLOCK_MONOTONIC of module load */
	__u32 ring_size;	/* out: records per CPU ring */
	__u32 state_mask;	/* out: the module's recorded states */
	__u32 hooks;		/* out: TCPCLOSE_HOOK_* in use */
	__u32 nr_cpus;		/* in: entries at cpu_ptr; out: possible CPUs */
	__u64 cpu_ptr;		/* in: user pointer to struct tcpclose_cpu_stats[] */
	__u64 tw_entries;	/* out: timewait sockets in the table (scope) */
	__u64 tw_capacity;	/* out: their bound */
	__u64 tw_overflow;	/* out: timewait sockets not tracked */
	__u64 missed;		/* out: host: probe hits the kernel skipped */
	__u64 expired;		/* out: host: entries whose end was unseen */
	__u64 netns_cookie;	/* out: the opener's network namespace */
	__u32 scope;		/* out: TCPCLOSE_SCOPE_* */
	__u32 readers;		/* out: streams open (host: all; netns: its) */
	__u32 max_readers;	/* out: module parameter max_readers */
	__u32 streaming;	/* out: 1 once this file's stream started */
};

#define TCPCLOSE_HOOK_TRACEPOINT	(1U << 0)
#define TCPCLOSE_HOOK_KPROBE		(1U << 1)
#define TCPCLOSE_HOOK_TIMEWAIT		(1U << 2)
/*
 * The kretprobe on tcp_rcv_state_process() is armed now: a FIN that also
 * acknowledges ours, taken in softirq, reads as one FIN_WAIT1 > TIME_WAIT
 * record (TCPCLOSE_F_FINACK), else as FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT.
 * Armed only while a stream exists (any file's, any namespace's).  The
 * probe's own flag: every kprobe switched off at once
 * (debug/kprobes/enabled) is not seen here.
 */
#define TCPCLOSE_HOOK_FINACK		(1U << 3)
/*
 * Some stream exists (any file's, any namespace's), so the kretprobe
 * above should be armed: with TCPCLOSE_HOOK_FINACK clear, arming failed
 * and the kernel log says why.  Both bits are read in one step, so a
 * stream that starts or ends meanwhile never makes them disagree.
 */
#define TCPCLOSE_HOOK_FINACK_WANTED	(1U << 4)

/* Per open file; applied when records are read. */
struct tcpclose_filter {
	__u32 size;		/* sizeof(struct tcpclose_filter) */
	__u32 state_mask;	/* transitions touching these states; 0 = all */
	__u16 port;		/* local or remote port; 0 = any */
	__u16 family;		/* AF_INET or AF_INET6; 0 = any */
	__u32 netns;		/* namespace inode; 0 = any */
};

/* One socket of the live table. */
struct tcpclose_sock {
	__u64 cookie;
	__u64 since_ns;		/* CLOCK_MONOTONIC when it entered state */
	__u64 ino;		/* socket inode, 0 when none */
	__u32 netns;
	__u8  family;
	__u8  state;		/* TCPCLOSE_* state */
	__u8  timewait;		/* 1: held by a timewait socket */
	__u8  pad;
	__u16 sport;
	__u16 dport;
	__u32 rx_queue;		/* at the last transition */
	__u8  saddr[16];
	__u8  daddr[16];
	__u64 netns_cookie;	/* network namespace id, never reused */
};

struct tcpclose_dump {
	__u32 size;		/* sizeof(struct tcpclose_dump) */
	__u32 count;		/* in: room at entries_ptr; out: filled */
	__u64 total;		/* out: sockets in the table */
	__u64 entries_ptr;	/* in: user pointer to struct tcpclose_sock[] */
};

/*
 * State-duration histograms: for every transition out of a close state,
 * the time spent in it, in log2 buckets of nanoseconds.  Bucket 0 counts
 * durations up to 2^TCPCLOSE_HIST_SHIFT ns, bucket i (0 < i < last)
 * those in (2^(SHIFT + i - 1), 2^(SHIFT + i)] ns, the last one all longer
 * ones: upper bounds are inclusive, as Prometheus' "le".
 */
#define TCPCLOSE_HIST_SHIFT	10	/* 1.024 us */
#define TCPCLOSE_HIST_BUCKETS	48	/* the last: over 2^56 ns, 2.3 years */

/*
 * One row: the transitions out of one state; TIME_WAIT has a row per end
 * reason.  A row with state 0 counts transitions out of a close state
 * that was not known (unknown only).
 */
struct tcpclose_hist_row {
	__u8  state;		/* TCPCLOSE_* state left, 0: not known */
	__u8  reason;		/* TIME_WAIT: TCPCLOSE_REASON_* of its end */
	__u8  pad[6];
	__u64 count;		/* transitions of known duration */
	__u64 sum_ns;		/* their time in the state, low 64 bits */
	__u64 sum_ns_hi;	/* and high 64 bits */
	__u64 unknown;		/* transitions of unknown duration: no bucket */
	__u64 buckets[TCPCLOSE_HIST_BUCKETS];
};

struct tcpclose_hist {
	__u32 size;		/* in: sizeof(struct tcpclose_hist) */
	__u32 version;		/* out: TCPCLOSE_ABI_VERSION */
	__u64 netns_cookie;	/* in: 0, or a namespace; out: 0 for host */
	__u64 since_ns;		/* out: CLOCK_MONOTONIC when counting began */
	__u32 scope;		/* out: TCPCLOSE_SCOPE_* */
	__u32 nr_rows;		/* in: room at rows_ptr; out: rows there are */
	__u32 row_size;		/* in: sizeof(struct tcpclose_hist_row) */
	__u32 pad;
	__u64 rows_ptr;		/* in: user pointer to struct tcpclose_hist_row[] */
};

#define TCPCLOSE_IOC_MAGIC	0xE7
#define TCPCLOSE_IOC_VERSION	_IOR(TCPCLOSE_IOC_MAGIC, 1, __u32)
#define TCPCLOSE_IOC_STATS	_IOWR(TCPCLOSE_IOC_MAGIC, 2, struct tcpclose_stats)
#define TCPCLOSE_IOC_SET_FILTER	_IOW(TCPCLOSE_IOC_MAGIC, 3, struct tcpclose_filter)
#define TCPCLOSE_IOC_GET_FILTER	_IOWR(TCPCLOSE_IOC_MAGIC, 4, struct tcpclose_filter)
#define TCPCLOSE_IOC_DUMP	_IOWR(TCPCLOSE_IOC_MAGIC, 5, struct tcpclose_dump)
#define TCPCLOSE_IOC_HIST	_IOWR(TCPCLOSE_IOC_MAGIC, 6, struct tcpclose_hist)

#endif /* _UAPI_LINUX_TCPCLOSE_H */
