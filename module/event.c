// SPDX-License-Identifier: GPL-2.0
/* Filling a record from a full socket or a timewait socket. */
#include <linux/kernel.h>
#include <linux/net.h>
#include <linux/fs.h>
#include <linux/sock_diag.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/inet_sock.h>
#include <net/inet_timewait_sock.h>
#include <net/net_namespace.h>
#include <net/ipv6.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include "tcpclose.h"

/*
 * Full and timewait sockets both begin with a struct sock_common, which
 * holds everything that identifies the connection.
 */
void tc_fill_common(struct tcpclose_event *ev, const struct sock_common *skc,
		    __be16 sport)
{
	const struct net *net = read_pnet(&skc->skc_net);

	ev->family = skc->skc_family;
	ev->netns = net->ns.inum;
	ev->netns_cookie = net->net_cookie;
	ev->sport = ntohs(sport);
	ev->dport = ntohs(skc->skc_dport);
	if (skc->skc_family == AF_INET) {
		memcpy(ev->saddr, &skc->skc_rcv_saddr, 4);
		memcpy(ev->daddr, &skc->skc_daddr, 4);
		return;
	}
#if IS_ENABLED(CONFIG_IPV6)
	memcpy(ev->saddr, &skc->skc_v6_rcv_saddr, 16);
	memcpy(ev->daddr, &skc->skc_v6_daddr, 16);
	if (ipv6_addr_v4mapped(&skc->skc_v6_daddr))
		ev->flags |= TCPCLOSE_F_V4MAPPED;
#endif
}

/*
 * The socket inode is read without sk_callback_lock, which the traced path
 * may hold: sock_orphan() clears sk_socket first, and the struct socket
 * with its inode is freed only after an RCU grace period, while hooks run
 * in an RCU read-side section (preemption disabled).
 */
static u64 tc_sock_ino(const struct sock *sk)
{
	struct socket *sock = READ_ONCE(sk->sk_socket);

	return sock ? SOCK_INODE(sock)->i_ino : 0;
}

void tc_fill_sock(struct tcpclose_event *ev, const struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	int unread;

	/*
	 * Not skc_num: on the way to CLOSE, inet_put_port() zeroes it before
	 * the tracepoint fires.  inet_sport keeps the port.
	 */
	tc_fill_common(ev, &sk->__sk_common, inet_sk(sk)->inet_sport);
	ev->ino = tc_sock_ino(sk);
	/*
	 * inet_diag's idiag_rqueue, less the peer's FIN: tcp_fin() advances
	 * rcv_nxt past it, and only reading EOF advances copied_seq past it,
	 * so `ss` shows 1 byte "unread" on every idle CLOSE_WAIT socket.
	 */
	unread = READ_ONCE(tp->rcv_nxt) - READ_ONCE(tp->copied_seq);
	if (unread > 0 && sock_flag(sk, SOCK_DONE) &&
	    (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN))
		unread--;
	ev->rx_queue = max(unread, 0);
	ev->tx_queue = READ_ONCE(tp->write_seq) - READ_ONCE(tp->snd_una);
}

/* Generating the cookie here makes the timewait socket inherit it. */
u64 tc_sock_cookie(struct sock *sk)
{
	u32 c[2];

	sock_diag_save_cookie(sk, c);
	return ((u64)c[1] << 32) | c[0];
}

/*
 * A timewait socket whose full socket never had a cookie (it closed before
 * we were loaded) has none either: generate one as inet_diag does for
 * timewait sockets (the cookie lives in sock_common), so that such
 * connections never share the id 0.
 */
u64 tc_tw_cookie(struct inet_timewait_sock *tw)
{
	return tc_sock_cookie((struct sock *)tw);
}

/*
 * The time, everything else zero for tc_fill_sock() to fill: what the live
 * table and the histograms need.  For a @record (a reader will get it),
 * also the header of every record, and who ran it when that means
 * something.
 */
void tc_event_init(struct tcpclose_event *ev, bool record)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = ktime_get_ns();
	if (!record)
		return;
	ev->size = sizeof(*ev);
	ev->version = TCPCLOSE_ABI_VERSION;
	ev->cpu = raw_smp_processor_id();
	/* In softirq context `current` is whatever task was interrupted. */
	if (in_task()) {
		ev->flags |= TCPCLOSE_F_PROCESS;
		ev->pid = task_tgid_nr(current);
		ev->tid = task_pid_nr(current);
		/*
		 * Not strscpy_pad(): comm is always NUL-padded with its last
		 * byte NUL (__set_task_comm() pads), so a plain copy, as the
		 * sched tracepoints make, is the same string without a call
		 * and a length scan per record.
		 */
		BUILD_BUG_ON(sizeof(ev->comm) != sizeof(current->comm));
		memcpy(ev->comm, current->comm, sizeof(ev->comm));
	}
}

/*
 * Time spent in the old state, when the live table knew the socket; and
 * into the histograms of the state left, whether known or not.  @net is
 * the socket's namespace.
 */
void tc_event_duration(struct tcpclose_event *ev,
		       const struct tc_table_info *old, const struct net *net)
{
	if (old->state && old->state == ev->oldstate) {
		/*
		 * The clock is read before the table lock is taken: a
		 * transition racing on another CPU (a timewait socket's
		 * timer and a segment) may have stamped a later entry time.
		 * That is no time at all, not 2^64 ns.
		 */
		ev->prev_state_ns = ev->ts_ns > old->since_ns ?
				    ev->ts_ns - old->since_ns : 0;
		ev->flags |= TCPCLOSE_F_DUR_KNOWN;
	}
	tc_hist_note(net, ev);
}
