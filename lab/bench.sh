#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the bench VM (busybox ash): the connection open/close rate of
# several workloads under each tracer configuration, side by side.
#
# Every round runs every (workload, configuration) window once; the
# configurations are rotated from round to round, and each ratio is taken
# against the same round's no-tracer window of the same workload, so that
# drift of the emulated machine hits every configuration alike.  Each timed
# window runs in a fresh network namespace (deleted after it) whose
# tcp_max_tw_buckets is raised, so every connection really enters TIME_WAIT
# and no TIME_WAIT socket of one window expires inside another.
#
# Each window prints a line starting with "raw: " (kept by lab/demo-vm.sh);
# lab/bench_report.awk turns them into one table per workload.
#
# Environment (from /etc/bench.env, written by lab/mkinitramfs.sh):
#   ROUNDS     rounds (default 7)
#   SECS       seconds per timed window (default 3)
#   WORKLOADS  subset of: 1thread 2threads srvclose pinned
#   CONFIGS    subset of: none ftrace tcpstates tc-noreader tc-watch tc-json
#              tc-watch-ns (watch in the churn's namespace, as in a
#              container) bpftrace tc-probes tc-empty tc-notw  ("pinned"
#              adds the control "spin"), and
#              with `make bench BASE=REV`: tc-base-noreader tc-base-probes
#              tc-base-watch tc-base-watch-ns, the same with the module
#              (and, for tc-base-watch*, the reader) built at REV
#
# Not set -e: a tracer that fails must be reported as n/a, not end the run.
set -u
[ -f /etc/bench.env ] && . /etc/bench.env
ROUNDS=${ROUNDS:-7}
SECS=${SECS:-3}
WORKLOADS=${WORKLOADS:-1thread 2threads srvclose pinned}
CONFIGS=${CONFIGS:-none ftrace tcpstates tc-noreader tc-watch tc-json bpftrace tc-probes tc-empty}

# iproute2 by full path: busybox ash runs its own applets first.
IP=${IP:-/iproute2/ip}
T=/sys/kernel/tracing
TCPSTATES=${TCPSTATES:-/usr/sbin/tcpstates}
BPFTRACE=${BPFTRACE:-/usr/bin/bpftrace}
EVENT=$T/events/sock/inet_sock_set_state
KO=/lib/modules/tcpclose.ko
BASE_KO=/lib/modules/tcpclose-base.ko
EMPTY_KO=/lib/modules/tcpclose-empty.ko
OUT=/tmp/bench.out
ERR=/tmp/bench.err
RAW=/tmp/bench.raw
BROKEN=/tmp/bench.broken
# Assumed for the estimate only; the real round time is printed as it goes.
SETUP_EST=2
BPFTRACE_START_EST=10
# One line per state change, fields close to what ftrace and tcpstates print.
BT_PROG='tracepoint:sock:inet_sock_set_state { printf("%d %s %d %d %d %d\n", pid, comm, args->sport, args->dport, args->oldstate, args->newstate); }'

case $ROUNDS in '' | *[!0-9]*) echo "bench: ROUNDS=$ROUNDS is not a number"; exit 1 ;; esac
case $SECS in '' | *[!0-9.]*) echo "bench: SECS=$SECS is not a number"; exit 1 ;; esac

uptime_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }
count_words() { set -- $1; echo $#; }

# State of a process: empty when it is gone, "Z" for a zombie.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

# stop_pid PID SIGNAL: signal, wait up to 20 s, then SIGKILL.
stop_pid() {
	local i=0
	kill "-$2" "$1" 2>/dev/null
	while alive "$1" && [ $i -lt 100 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}

unload_tcpclose() {
	local i=0
	while [ -e /sys/module/tcpclose ]; do
		rmmod tcpclose 2>/dev/null && return 0
		i=$((i + 1))
		[ $i -ge 50 ] && { echo "bench: rmmod tcpclose keeps failing"; return 1; }
		sleep 0.2
	done
}

# The first "KEY":NUMBER in a JSON text (the top-level counters of
# `tcpclose stats --json` come before its per-CPU ones).
json_num() {
	echo "$2" | tr ',{}[]' '\n\n\n\n\n' |
		sed -n "s/^\"$1\":\([0-9][0-9]*\)\$/\1/p" | head -n 1
}

lines_of() { wc -l <"$1" | tr -d ' '; }
# The reader's CPU time so far, user and system, in ms (USER_HZ is 100).
cpu_ms() {
	{ [ -n "$PID" ] && awk '{ printf "%d %d\n", $14 * 10, $15 * 10 }' "/proc/$PID/stat" 2>/dev/null; } ||
		echo "0 0"
}
# Events a BPF tool reports lost: tcpstates on stderr, bpftrace on stdout.
lost_in() { cat "$@" 2>/dev/null | grep -io 'lost [0-9]* events' | awk '{ s += $2 } END { print s + 0 }'; }
ftrace_overrun() { cat "$T"/per_cpu/cpu*/stats 2>/dev/null | awk '/^overrun:/ { s += $2 } END { print s + 0 }'; }
last_err() { grep -v '^[[:space:]]*$' "$ERR" 2>/dev/null | tail -n 1 | cut -c1-120 | grep . || echo '(no message)'; }

# Why a configuration cannot run at all (empty: it can).
unavailable() {
	case $1 in
	ftrace)
		[ -w "$EVENT/enable" ] || echo "no tracefs event sock/inet_sock_set_state" ;;
	tcpstates | bpftrace)
		local bin=$TCPSTATES
		[ "$1" = bpftrace ] && bin=$BPFTRACE
		if [ ! -x "$bin" ]; then
			grep -s "^$1: " /etc/bench-missing | head -n 1 | cut -d' ' -f2- | grep . ||
				echo "$bin is not in the initramfs"
		fi ;;
	tc-base-watch | tc-base-watch-ns)
		[ -f "$BASE_KO" ] || echo "$BASE_KO is missing (make bench BASE=REV)"
		command -v tcpclose-base >/dev/null ||
			echo "the reader tcpclose-base is missing (make bench BASE=REV)" ;;
	tc-base-*)
		[ -f "$BASE_KO" ] || echo "$BASE_KO is missing (make bench BASE=REV)" ;;
	tc-empty)
		[ -f "$EMPTY_KO" ] || echo "$EMPTY_KO is missing" ;;
	tc-*)
		[ -f "$KO" ] || echo "$KO is missing" ;;
	esac
	grep -s "^$1: " "$BROKEN" | head -n 1 | cut -d' ' -f2-
}

# A tool that failed once will fail again: skip it from then on, saying so.
mark_broken() {
	case $1 in
	tcpstates | bpftrace) echo "$1: failed earlier: $2" >>"$BROKEN" ;;
	esac
}

# start_tool CONFIG PIN NS: sets PID (a reader or spinner, or empty) and, on
# failure, REASON.
start_tool() {
	local pin=$2
	PID= REASON=
	: >"$OUT"
	: >"$ERR"
	case $1 in
	none) ;;
	spin)
		taskset -c 1 sh -c 'while :; do :; done' &
		PID=$! ;;
	ftrace)
		echo >"$T/trace"
		echo 1 >"$EVENT/enable" 2>"$ERR" || { REASON="enable: $(last_err)"; return 1; }
		$pin cat "$T/trace_pipe" >"$OUT" 2>"$ERR" &
		PID=$! ;;
	tcpstates)
		$pin "$TCPSTATES" >"$OUT" 2>"$ERR" &
		PID=$! ;;
	bpftrace)
		$pin "$BPFTRACE" -e "$BT_PROG" >"$OUT" 2>"$ERR" &
		PID=$! ;;
	tc-noreader | tc-watch | tc-watch-ns | tc-json | tc-probes | tc-empty | tc-notw | tc-base-*)
		local param= ko=$KO
		case $1 in
		*-probes) param=states=4096 ;;
		tc-notw) param=timewait=0 ;;
		esac
		case $1 in
		tc-base-*) ko=$BASE_KO ;;
		tc-empty) ko=$EMPTY_KO ;;
		esac
		unload_tcpclose
		insmod "$ko" $param 2>"$ERR" || { REASON="insmod: $(last_err)"; return 1; }
		case $1 in
		tc-watch) $pin tcpclose watch >"$OUT" 2>"$ERR" & PID=$! ;;
		# The reader as it was at REV too: both halves before/after.
		tc-base-watch) $pin tcpclose-base watch >"$OUT" 2>"$ERR" & PID=$! ;;
		tc-json) $pin tcpclose watch --json >"$OUT" 2>"$ERR" & PID=$! ;;
		# A reader in the churn's namespace (a container's).
		tc-watch-ns) $pin "$IP" netns exec "$3" tcpclose watch >"$OUT" 2>"$ERR" & PID=$! ;;
		tc-base-watch-ns) $pin "$IP" netns exec "$3" tcpclose-base watch >"$OUT" 2>"$ERR" & PID=$! ;;
		esac
		is_watch "$1" && ! stream_started "$1" && return 1
		return 0 ;;
	*)
		REASON="unknown configuration"
		return 1 ;;
	esac
	return 0
}

# stream_started CONFIG: waits (up to 30 s) for watch's stream to start,
# before any traffic: the first stream arms a kprobe, and patching its call
# site while segments run through it trips qemu's multi-threaded TCG
# (selftests.rst).  Asked with the reader of the module's own revision.
stream_started() {
	local i=0 n out cli=tcpclose
	case $1 in tc-base-*) cli=tcpclose-base ;; esac
	while [ $i -lt 300 ]; do
		out=$("$cli" stats --json 2>/dev/null)
		n=$(json_num readers "$out")
		# A reader too old to count streams: nothing to wait for.
		[ -n "$out" ] && [ -z "$n" ] && return 0
		[ "${n:-0}" -ge 1 ] && return 0
		alive "$PID" || { REASON="exited at start: $(last_err)"; return 1; }
		sleep 0.1
		i=$((i + 1))
	done
	REASON="no stream within 30 s: $(last_err)"
	return 1
}

stop_tool() {
	# SIGTERM: the counts are taken already, and every tracer lets go of
	# its hooks when its files close.
	[ -n "$PID" ] && stop_pid "$PID" TERM
	case $1 in
	ftrace) echo 0 >"$EVENT/enable" 2>/dev/null ;;
	tc-*) unload_tcpclose ;;
	esac
	PID=
}

# warm_up CONFIG NS: sets up the window's namespace (lo up, TIME_WAIT
# table raised) with a burst of 50 connections, the same before every
# window; for a tracer with a reader, repeats the burst until the reader has
# shown output (tracer attached and reading), or it died, or time is up.
# Returns 2 when the namespace could not be set up (not the tool's fault).
warm_up() {
	local limit=30 t0 n
	[ "$1" = bpftrace ] && limit=180
	t0=$(uptime_cs)
	"$IP" netns exec "$2" sh -c 'ip link set lo up &&
		echo 1000000 >/proc/sys/net/ipv4/tcp_max_tw_buckets &&
		bench_close -n 50 5 >/dev/null' 2>"$ERR.ns" ||
		{ REASON="namespace setup: $(tail -n 1 "$ERR.ns")"; return 2; }
	while :; do
		case $1 in none | spin | tc-noreader | tc-probes | tc-empty | tc-notw | tc-base-noreader | tc-base-probes) return 0 ;; esac
		n=$(lines_of "$OUT")
		[ "$n" -ge 10 ] && return 0
		if ! alive "$PID"; then
			REASON="exited at start: $(last_err)"
			return 1
		fi
		if [ $(( ($(uptime_cs) - t0) / 100 )) -ge $limit ]; then
			REASON="no output within ${limit} s: $(last_err)"
			return 1
		fi
		sleep 0.5
		"$IP" netns exec "$2" bench_close -n 50 5 >/dev/null
	done
}

# The configurations whose reader is `tcpclose watch` (its drops on stderr).
is_watch() {
	case $1 in
	tc-watch | tc-json | tc-base-watch | tc-watch-ns | tc-base-watch-ns) return 0 ;;
	esac
	return 1
}

# The dropped total that `tcpclose watch` last reported on stderr, for its
# own stream ("... (total N; ...").
watch_dropped() {
	sed -n 's/.*dropped.*(total \([0-9][0-9]*\).*/\1/p' "$ERR" 2>/dev/null |
		tail -n 1 | grep . || echo 0
}

# Counters of one tracer, cumulative: "LINES RECS DROPS HOOKS": output
# lines; records delivered to the reader (its lines) or, without a reader,
# produced into tcpclose's rings; records lost; tcpclose's hook hits on TCP
# sockets ("seen", host-wide).  tcpclose's stats are read with `tcpclose
# stats --json`; whether its recorded/dropped/delivered are host-wide or
# the opening file's own stream depends on the module's ABI, so a reader's
# drops also come from what watch itself reports, whichever is larger.
counters() {
	local l s seen rec drop wd
	l=$(lines_of "$OUT")
	case $1 in
	ftrace) echo "$l $l $(ftrace_overrun) 0" ;;
	tcpstates) echo "$l $l $(lost_in "$ERR") 0" ;;
	bpftrace) echo "$l $l $(lost_in "$OUT" "$ERR") 0" ;;
	tc-*)
		s=$(tcpclose stats --json 2>/dev/null)
		seen=$(json_num seen "$s")
		rec=$(json_num recorded "$s")
		drop=$(json_num dropped "$s")
		if is_watch "$1"; then
			wd=$(watch_dropped)
			[ "$wd" -gt "${drop:-0}" ] && drop=$wd
			echo "$l $l ${drop:-0} ${seen:-0}"
		else
			echo "$l $(( ${rec:-0} + ${drop:-0} )) ${drop:-0} ${seen:-0}"
		fi ;;
	*) echo "0 0 0 0" ;;
	esac
}

# From /proc/net/sockstat and netstat of one namespace: "tw=N twoverflow=N",
# sockets now in TIME_WAIT and closes that could not enter it (table full).
tw_counts() {
	awk '/^TCP:/ { for (i = 1; i < NF; i++) if ($i == "tw") tw = $(i + 1) }
	     /^TcpExt:/ && !seen { for (i = 2; i <= NF; i++) col[$i] = i; seen = 1; next }
	     /^TcpExt:/ { ov = $(col["TCPTimeWaitOverflow"]) }
	     END { printf "tw=%d twoverflow=%d", tw, ov }'
}

workload_args() {
	case $1 in
	1thread) ;;
	2threads) printf '%s\n' "-t 2" ;;
	srvclose) printf '%s\n' "-s" ;;
	pinned) printf '%s\n' "-c 0" ;;
	esac
}

# rotate ROUND LIST...: round r starts at item r (mod their number).
rotate() {
	local k=$(( ($1 - 1) % ($# - 1) )) x
	shift
	while [ "$k" -gt 0 ]; do
		x=$1
		shift
		set -- "$@" "$x"
		k=$((k - 1))
	done
	echo "$@"
}

# configs_for WORKLOAD: its configurations.  "pinned" adds the spin
# control and leaves out the probes-only floor (no reader to pin).
configs_for() {
	local c list=
	for c in $CONFIGS; do
		if [ "$1" = pinned ]; then
			case $c in *-probes | tc-empty | tc-notw) continue ;; esac
		fi
		list="$list $c"
	done
	if [ "$1" = pinned ]; then
		case " $list " in *" spin "*) ;; *) list="$list spin" ;; esac
	fi
	echo $list
}

# windows_per_round: over all of WORKLOADS.
windows_per_round() {
	local w n=0
	for w in $WORKLOADS; do
		n=$((n + $(count_words "$(configs_for "$w")")))
	done
	echo "$n"
}

# estimate_min ROUNDS WINDOWS SECS BPFTRACE_WINDOWS: minutes, assumed setup.
estimate_min() {
	awk -v r="$1" -v w="$2" -v s="$3" -v n="$4" -v e="$SETUP_EST" -v b="$BPFTRACE_START_EST" \
		'BEGIN { printf "%.0f", r * (w * (s + e) + n * b) / 60 }'
}

raw() { echo "raw: $*" | tee -a "$RAW"; }

WIN=0
# window ROUND WORKLOAD CONFIG: one timed window, one raw line.  The
# window's namespace holds the warm-up's few TIME_WAIT sockets too.
window() {
	local r=$1 w=$2 c=$3 pin= ns t0 res before after cpu0 cpu1 tw why rc
	local id="round=$r workload=$w config=$c"
	WIN=$((WIN + 1))
	ns=bench$WIN
	t0=$(uptime_cs)
	[ "$w" = pinned ] && pin="taskset -c 1"
	why=$(unavailable "$c" | head -n 1)
	if [ -n "$why" ]; then
		raw "$id status=na reason=$why"
		return
	fi
	if ! "$IP" netns add "$ns" 2>"$ERR.ns"; then
		raw "$id status=na reason=ip netns add: $(tail -n 1 "$ERR.ns")"
		return
	fi
	rc=0
	start_tool "$c" "$pin" "$ns" || rc=1
	[ $rc = 0 ] && { warm_up "$c" "$ns" || rc=$?; }
	if [ $rc != 0 ]; then
		"$IP" netns del "$ns" 2>/dev/null
		stop_tool "$c"
		[ $rc = 1 ] && mark_broken "$c" "$REASON"
		raw "$id status=na reason=$REASON"
		return
	fi
	[ -n "$PID" ] && sleep 0.3	# the reader is through the warm-up's lines
	before=$(counters "$c")
	cpu0=$(cpu_ms)
	# The rate, then the namespace's TIME_WAIT counters right after.
	# shellcheck disable=SC2046 # the workload's options, split
	res=$("$IP" netns exec "$ns" sh -c 'bench_close "$@" &&
		cat /proc/net/sockstat /proc/net/netstat' sh \
		$(workload_args "$w") "$SECS" 2>/tmp/bench.wl)
	sleep 0.3	# let the reader catch up before counting its lines
	after=$(counters "$c")
	cpu1=$(cpu_ms)
	if [ -n "$PID" ] && ! alive "$PID"; then
		why="exited during the window: $(last_err)"
	fi
	"$IP" netns del "$ns"
	stop_tool "$c"
	# watch tells its last drops as it exits (at most a second late).
	if is_watch "$c"; then
		# shellcheck disable=SC2086,SC2046 # "LINES RECS DROPS HOOKS" and a count
		set -- $after $(watch_dropped)
		[ "$5" -gt "$3" ] && after="$1 $2 $5 $4"
	fi
	tw=$(echo "$res" | tail -n +2 | tw_counts)
	# shellcheck disable=SC2046 # "RATE CONNS SECS"
	set -- $(echo "$res" | head -n 1)
	if [ $# -ne 3 ]; then
		raw "$id status=na reason=workload failed: $(tail -n 1 /tmp/bench.wl)"
		return
	fi
	if [ -n "$why" ]; then
		raw "$id status=na reason=$why"
		return
	fi
	# shellcheck disable=SC2086
	raw "$id status=ok rate=$1 conns=$2 secs=$3 $tw $(echo $before $after |
		awk '{ printf "lines=%d recs=%d drops=%d hooks=%d", $5 - $1, $6 - $2, $7 - $3, $8 - $4 }') $(echo $cpu0 $cpu1 |
		awk '{ printf "rusr=%d rsys=%d", $3 - $1, $4 - $2 }') setup=$(awk -v a="$t0" -v b="$(uptime_cs)" -v s="$3" 'BEGIN { printf "%.1f", (b - a) / 100 - s }')"
}

# Sourced with BENCH_LIB_ONLY=1 (host checks of the pure parts): stop here.
[ "${BENCH_LIB_ONLY:-}" = 1 ] && return 0

# --- start ---
krel=$(uname -r)
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)
mount -t tracefs nodev "$T" 2>/dev/null
mount -t debugfs nodev /sys/kernel/debug 2>/dev/null
: >"$RAW"
: >"$BROKEN"
echo "bench: kernel $krel, clocksource $cs (available: $(cat /sys/devices/system/clocksource/clocksource0/available_clocksource 2>/dev/null)), $(nproc) vCPUs, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MB"
raw "meta kernel=$krel clocksource=$cs vcpus=$(nproc) rounds=$ROUNDS secs=$SECS"
[ -s /etc/bench-missing ] && sed 's/^/bench: missing from the initramfs: /' /etc/bench-missing

nw=$(count_words "$WORKLOADS")
nc=$(count_words "$CONFIGS")
per_round=$(windows_per_round)
nbt=0
case " $CONFIGS " in *" bpftrace "*) nbt=$nw ;; esac
echo "bench: $ROUNDS rounds x $per_round windows ($nw workloads x $nc configurations; pinned: + spin, - the no-reader floors) x ($SECS s + ~$SETUP_EST s setup), + bpftrace start ~$BPFTRACE_START_EST s x $nbt per round"
echo "bench: estimate $(estimate_min "$ROUNDS" "$per_round" "$SECS" "$nbt") min (the setup times are assumptions; each round reports its real time)"

start=$(uptime_cs)
r=1
while [ "$r" -le "$ROUNDS" ]; do
	rs=$(uptime_cs)
	for w in $WORKLOADS; do
		# shellcheck disable=SC2046 # lists of names
		for c in $(rotate "$r" $(configs_for "$w")); do
			window "$r" "$w" "$c"
		done
	done
	now=$(uptime_cs)
	awk -v r="$r" -v n="$ROUNDS" -v rs="$rs" -v st="$start" -v now="$now" 'BEGIN {
		printf "bench: round %d/%d took %.0f s; projected total %.1f min\n",
			r, n, (now - rs) / 100, (now - st) / 100 / r * n / 60 }'
	r=$((r + 1))
done

echo
awk -f /tests/bench_report.awk "$RAW"
