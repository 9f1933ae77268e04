# SPDX-License-Identifier: GPL-2.0
# bench_report.awk: the tables of `make bench` from its "raw: " lines.
#
#   awk -f lab/bench_report.awk .cache/bench/<krel>-<date>.txt
#
# Runs in the VM (busybox awk) and on the host alike: POSIX awk only.
# Per workload, one row per configuration:
#   ratio     median over rounds of rate / the same round's no-tracer rate
#   min-max   smallest and largest of those per-round ratios
#   n         rounds in which both windows ran
#   conn/s    median connections per second (emulated CPU: compare ratios)
#   recs/conn records the tracer delivered per connection (its reader's
#             output lines; without a reader, records tcpclose produced)
#   us/conn   1e6 / median rate - 1e6 / median no-tracer rate
#   us/rec    us/conn / recs/conn: the cost of one record
#   drops     records the tracer lost, summed over all its windows
#             ("-" where there is no reader to fall behind)
#   rdr u/s   the reader's own CPU time per record it delivered, user and
#             system, in us (its process's clock ticks over the window)

function median(v, n,    i, j, t, s) {
	for (i = 1; i <= n; i++)
		s[i] = v[i]
	for (i = 2; i <= n; i++) {
		t = s[i]
		for (j = i - 1; j >= 1 && s[j] > t; j--)
			s[j + 1] = s[j]
		s[j + 1] = t
	}
	if (n % 2)
		return s[(n + 1) / 2]
	return (s[n / 2] + s[n / 2 + 1]) / 2
}

function add_once(list, item) {
	if ((" " list " ") ~ (" " item " "))
		return list
	return list == "" ? item : list " " item
}

BEGIN {
	cfg_order = "none spin ftrace tcpstates bpftrace tc-noreader tc-probes tc-notw tc-empty tc-watch tc-json tc-watch-ns tc-base-noreader tc-base-probes tc-base-watch tc-base-watch-ns"
	name["none"] = "no tracer"
	name["spin"] = "control: spin on vCPU1"
	name["ftrace"] = "ftrace + trace_pipe"
	name["tcpstates"] = "tcpstates (libbpf-tools)"
	name["bpftrace"] = "bpftrace one-liner"
	name["tc-noreader"] = "tcpclose, no reader"
	name["tc-probes"] = "tcpclose probes only"
	name["tc-watch"] = "tcpclose + watch"
	name["tc-json"] = "tcpclose + watch --json"
	name["tc-notw"] = "tcpclose timewait=0"
	name["tc-empty"] = "tcpclose hooks empty"
	name["tc-base-noreader"] = "base tcpclose, no reader"
	name["tc-base-probes"] = "base tcpclose probes only"
	name["tc-base-watch"] = "base tcpclose + watch"
	name["tc-watch-ns"] = "tcpclose + watch in netns"
	name["tc-base-watch-ns"] = "base + watch in netns"
	noreader["none"] = noreader["spin"] = 1
	noreader["tc-noreader"] = noreader["tc-probes"] = 1
	noreader["tc-base-noreader"] = noreader["tc-base-probes"] = 1
	noreader["tc-notw"] = noreader["tc-empty"] = 1
	norecs["none"] = norecs["spin"] = 1
	wdesc["1thread"] = "one thread, client closes first"
	wdesc["2threads"] = "two threads, each its own listener, client closes first"
	wdesc["srvclose"] = "one thread, server closes first (TIME_WAIT on the server)"
	wdesc["pinned"] = "one thread pinned to vCPU0, any reader pinned to vCPU1"
}

{ sub(/\r$/, "") }

/^raw: meta / {
	for (i = 3; i <= NF; i++) {
		split($i, kv, "=")
		meta[kv[1]] = substr($i, length(kv[1]) + 2)
	}
	next
}

/^raw: round=/ {
	delete f
	reason = ""
	for (i = 2; i <= NF; i++) {
		if ($i ~ /^reason=/) {
			reason = substr($0, index($0, " reason=") + 8)
			break
		}
		split($i, kv, "=")
		f[kv[1]] = substr($i, length(kv[1]) + 2)
	}
	w = f["workload"]; c = f["config"]; r = f["round"] + 0
	workloads = add_once(workloads, w)
	cfgs[w] = add_once(cfgs[w], c)
	if (r > maxround)
		maxround = r
	if (f["status"] != "ok") {
		na[w, c]++
		if (!((w, c) in why))
			why[w, c] = reason
		next
	}
	ok[w, c, r] = 1
	rate[w, c, r] = f["rate"] + 0
	conns[w, c] += f["conns"]
	recs[w, c] += f["recs"]
	drops[w, c] += f["drops"]
	rusr[w, c] += f["rusr"]
	if (f["rusr"] != "")
		hascpu[w, c] = 1
	rsys[w, c] += f["rsys"]
	tw[w, c] += f["tw"]
	twov[w, c] += f["twoverflow"]
	nok[w, c]++
}

function row(w, c,    r, n, m, v, rt, nr, mr, mb, upc, rpc, s, nb, bs, lo, hi) {
	if (!nok[w, c]) {
		printf "%-26s n/a (%s)\n", name[c] != "" ? name[c] : c, \
			why[w, c] != "" ? why[w, c] : "no window ran"
		return
	}
	n = 0; nr = 0; nb = 0
	for (r = 1; r <= maxround; r++) {
		if (ok[w, c, r])
			rt[++nr] = rate[w, c, r]
		if (ok[w, "none", r])
			bs[++nb] = rate[w, "none", r]
		if (ok[w, c, r] && ok[w, "none", r])
			v[++n] = rate[w, c, r] / rate[w, "none", r]
	}
	mr = median(rt, nr)
	s = sprintf("%-26s", name[c] != "" ? name[c] : c)
	if (n) {
		m = median(v, n)
		lo = hi = v[1]
		for (r = 2; r <= n; r++) {
			if (v[r] < lo) lo = v[r]
			if (v[r] > hi) hi = v[r]
		}
		med[w, c] = m; min[w, c] = lo; max[w, c] = hi
		s = s sprintf(" %6.3f  %-11s %2d", m,
			      c == "none" ? "-" : sprintf("%.3f-%.3f", lo, hi), n)
	} else {
		s = s sprintf(" %6s  %-11s %2d", "-", "(no base)", 0)
	}
	s = s sprintf(" %8.0f", mr)
	rpc = conns[w, c] ? recs[w, c] / conns[w, c] : 0
	s = s (norecs[c] ? sprintf(" %9s", "-") : sprintf(" %9.2f", rpc))
	if (c != "none" && nb) {
		mb = median(bs, nb)
		upc = 1e6 / mr - 1e6 / mb
		s = s sprintf(" %8.1f", upc)
		s = s (rpc > 0 && !norecs[c] ? sprintf(" %7.2f", upc / rpc) : sprintf(" %7s", "-"))
	} else {
		s = s sprintf(" %8s %7s", "-", "-")
	}
	s = s (noreader[c] ? sprintf(" %8s", "-") : sprintf(" %8d", drops[w, c]))
	if (noreader[c] || !recs[w, c] || !hascpu[w, c])
		s = s sprintf(" %11s", "-")
	else
		s = s sprintf(" %5.1f/%-5.1f", rusr[w, c] * 1000 / recs[w, c], \
			      rsys[w, c] * 1000 / recs[w, c])
	if (na[w, c])
		s = s sprintf("  (%d window(s) n/a: %s)", na[w, c], why[w, c])
	print s
}

# compare W A B: is A ahead of B, and do their ranges overlap?
function compare(w, a, b,    d, verdict) {
	if (!((w, a) in med) || !((w, b) in med))
		return
	d = med[w, a] - med[w, b]
	verdict = d >= 0 ? sprintf("ahead by %.3f", d) : sprintf("behind by %.3f", -d)
	if (min[w, a] <= max[w, b] && min[w, b] <= max[w, a])
		verdict = verdict ", min-max ranges overlap"
	else
		verdict = verdict ", ranges do not overlap"
	printf "  %-9s %s %.3f vs %s %.3f: %s\n", w, name[a], med[w, a], \
		name[b], med[w, b], verdict
}

END {
	printf "tcpclose bench: kernel %s, clocksource %s, %s vCPUs, %s rounds of %s s per window\n", \
		meta["kernel"], meta["clocksource"], meta["vcpus"], meta["rounds"], meta["secs"]
	nw = split(workloads, wl, " ")
	no = split(cfg_order, co, " ")
	for (i = 1; i <= nw; i++) {
		w = wl[i]
		printf "\n== %s: %s\n", w, wdesc[w] != "" ? wdesc[w] : w
		printf "%-26s %6s  %-11s %2s %8s %9s %8s %7s %8s %11s\n", "configuration", \
			"ratio", "min-max", "n", "conn/s", "recs/conn", "us/conn", \
			"us/rec", "drops", "rdr u/s"
		for (j = 1; j <= no; j++)
			if ((" " cfgs[w] " ") ~ (" " co[j] " "))
				row(w, co[j])
		nx = split(cfgs[w], xs, " ")
		for (j = 1; j <= nx; j++)
			if ((" " cfg_order " ") !~ (" " xs[j] " "))
				row(w, xs[j])
		if (conns[w, "none"])
			printf "TIME_WAIT check (no-tracer windows): %.2f sockets in TIME_WAIT at window end per connection, %d closes overflowed the TIME_WAIT table\n", \
				tw[w, "none"] / conns[w, "none"], twov[w, "none"]
	}
	print "\nComparisons (median ratios; overlapping min-max ranges mean the order is not established):"
	for (i = 1; i <= nw; i++) {
		w = wl[i]
		compare(w, "tc-watch", "ftrace")
		compare(w, "tc-watch", "tcpstates")
		compare(w, "tc-watch", "bpftrace")
		compare(w, "tc-json", "ftrace")
		compare(w, "tc-noreader", "tc-probes")
		compare(w, "tc-noreader", "tc-empty")
		compare(w, "tc-noreader", "tc-base-noreader")
		compare(w, "tc-probes", "tc-base-probes")
		compare(w, "tc-watch", "tc-base-watch")
		compare(w, "tc-watch-ns", "tc-base-watch-ns")
	}
}
