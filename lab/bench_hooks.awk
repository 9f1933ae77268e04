# SPDX-License-Identifier: GPL-2.0
# bench_hooks.awk: the hooks-under-churn lines of lab/bench-path.sh
# ("raw: churn ..." and "raw: hooks ...") as one table per workload, a
# column per module build (tc: today's, base: BASE's): medians over the
# rounds, per connection.  "taken" is what the module took from the churn
# (1/rate with it less 1/rate without in the same round, times the
# churn's threads: CPU time); "in hooks" is the time the hooks measured
# in themselves, each hit less one timer's own cost.  A part's time also
# holds one mark (about half a timer).  With a reader ("watch"), its own
# CPU time, user and system, per connection, and its read path's hooks.
function kv(tok, key) { split(tok, a, "="); return key == a[1] ? a[2] : "" }
function med(list,   n, v, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return n ? v[int((n + 1) / 2)] : 0
}
function add(key, val) { vals[key] = vals[key] " " val }
/^raw: churn / {
	for (i = 3; i <= NF; i++) { split($i, a, "="); f[a[1]] = a[2] }
	rate[f["workload"], f["round"], f["config"]] = f["rate"]
	if (!(f["workload"] in seen)) { seen[f["workload"]] = 1; order[++nw] = f["workload"] }
	c = f["config"]
	if (c != "none" && !(c in cseen)) { cseen[c] = 1; corder[++nc] = c }
	if (c != "none") conns[f["workload"], f["round"], c] = f["conns"]
	next
}
/^raw: hooks / {
	delete f
	delete hits; delete hc; delete pc
	cyc = ns = tmr = 0
	# "round=R workload=W config=C", then the path_hooks lines.
	for (i = 3; i <= 5; i++) { split($i, a, "="); f[a[1]] = a[2] }
	id = f["workload"] SUBSEP f["round"] SUBSEP f["config"]
	for (i = 6; i <= NF; i++) {
		if ($i == "calib") { cyc = kv($(i + 1), "cycles"); ns = kv($(i + 2), "ns"); tmr = kv($(i + 3), "timer") }
		if ($i == "hook") { h = $(i + 1); hits[h] = kv($(i + 2), "hits"); hc[h] = kv($(i + 3), "cycles"); if (!(h in hseen)) { hseen[h] = 1; horder[++nh] = h } }
		if ($i == "reader") { rusr[id] = kv($(i + 1), "usr_ms"); rsys[id] = kv($(i + 2), "sys_ms") }
		if ($i == "part") { p = $(i + 1); pc[p] = kv($(i + 2), "cycles"); if (!(p in pseen)) { pseen[p] = 1; porder[++np] = p } }
	}
	# A build without the timers (BASE before them) has no path_hooks.
	if (!cyc) {
		notimers[f["config"]] = 1
		next
	}
	hk[id] = 1
	nspc = ns / cyc
	total = 0
	for (k = 1; k <= nh; k++) {
		h = horder[k]
		t = (hc[h] - hits[h] * tmr) * nspc
		# The reader's side (read, read_rec, poll, wake) is not the hooks'.
		if (h !~ /^(read|poll|wake)/)
			total += t
		hookns[id, h] = t; hookhits[id, h] = hits[h]
	}
	for (k = 1; k <= np; k++) partns[id, porder[k]] = pc[porder[k]] * nspc
	hooktotal[id] = total
	timerns[id] = tmr * nspc
	next
}
function row(label, key, fmt,   j) {
	printf "  %-26s", label
	for (j = 1; j <= nc; j++) printf fmt, med(vals[corder[j], key])
	printf "\n"
}
END {
	for (c in notimers)
		printf "%s: the build has no hook timers (path_hooks): its hooks lines are left out\n", c
	for (i = 1; i <= nw; i++) {
		w = order[i]
		th = w == "2threads" ? 2 : 1
		delete vals
		for (id in hk) {
			split(id, kk, SUBSEP)
			if (kk[1] != w) continue
			r = kk[2]; c = kk[3]
			n = conns[w, r, c]
			if (!n || !rate[w, r, "none"] || !rate[w, r, c]) continue
			add(c SUBSEP "ratio", rate[w, r, c] / rate[w, r, "none"])
			add(c SUBSEP "cost", th * (1e6 / rate[w, r, c] - 1e6 / rate[w, r, "none"]))
			add(c SUBSEP "hooks", hooktotal[id] / n / 1000)
			add(c SUBSEP "timer", timerns[id])
			add(c SUBSEP "rusr", rusr[id] * 1000 / n)
			add(c SUBSEP "rsys", rsys[id] * 1000 / n)
			for (k = 1; k <= nh; k++) {
				h = horder[k]
				add(c SUBSEP "h " h, hookns[id, h] / n)
				add(c SUBSEP "n " h, hookhits[id, h] / n)
			}
			for (k = 1; k <= np; k++) add(c SUBSEP "p " porder[k], partns[id, porder[k]] / n)
		}
		printf "\n%s, per connection (medians):\n  %-26s", w, ""
		for (j = 1; j <= nc; j++) printf "%10s", corder[j]
		printf "\n"
		row("rate / no module", "ratio", "%10.3f")
		row("us of CPU taken", "cost", "%10.1f")
		row("us in the hooks", "hooks", "%10.1f")
		row("one timer, ns", "timer", "%10d")
		row("reader's user time, us", "rusr", "%10.1f")
		row("reader's system time, us", "rsys", "%10.1f")
		# A hook by name and hits per connection (the most of any
		# build's); never hit: left out.
		for (k = 1; k <= nh; k++) {
			hn = 0
			for (j = 1; j <= nc; j++)
				if (med(vals[corder[j], "n " horder[k]]) > hn)
					hn = med(vals[corder[j], "n " horder[k]])
			if (hn > 0)
				row(sprintf("%s x%.2f, ns", horder[k], hn), "h " horder[k], "%10d")
		}
		for (k = 1; k <= np; k++)
			row("  part " porder[k] ", ns", "p " porder[k], "%10d")
	}
}
