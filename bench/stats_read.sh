#!/bin/bash
# bench/stats_read.sh: what reading the statistics costs on a large table: GET /metrics (a
# Prometheus scrape) and GET /stats on a server with NRULES (1,000,000) exact rules after random
# traffic over them (bench/random.lua, pipelined DEPTH deep: its pool of 2^20 draws touches ~63 %
# of the rules), with GAP seconds of the same traffic before every read, as a server keeps
# serving between scrapes.
# Each binary of BINS (default: build/detour, and BEFORE_BIN when set) runs in turn with one
# worker pinned to CORE_SERVER, wrk on CORE_WRK, `stats-flush 5s`, a fresh state-dir; for every
# read it prints the wall time of the answer and the server's CPU time (utime + stime, 10 ms
# ticks) across it. The first read of a run is shown apart (the new design loads the totals
# then), and the median of the others.
#
#   bench/stats_read.sh
#   BEFORE_BIN=/tmp/base/build/detour bench/stats_read.sh    the tree before, side by side
#
# Environment: NRULES (1000000), TRAFFIC (15: seconds of traffic before the first read), GAP (5),
# READS (6), DEPTH (16), CONNS (64), BINS, BEFORE_BIN, PORT_LO/PORT_HI (18170/18179: not the
# ports of bench/run.sh and bench/stats.sh, whose servers may run beside it and share a port), CORE_SERVER (0),
# CORE_WRK (1), OUT (bench/out).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

bench_args "$@"
defaults NRULES=1000000 TRAFFIC=15 GAP=5 READS=6 DEPTH=16 CONNS=64 PORT_LO=18170 PORT_HI=18179 \
	CORE_SERVER=0 CORE_WRK=1
BINS=${BINS:-$ROOT/build/detour${BEFORE_BIN:+ $BEFORE_BIN}}
bench_out "$BENCH/out"
RUN=$OUT/stats_read
need_tools wrk curl python3
need_cores
bench_begin
meta_head
echo "command: $(for v in NRULES TRAFFIC GAP READS DEPTH BINS; do printf '%s=%q ' "$v" "${!v}"; done)bench/stats_read.sh"
pin_self "$CORE_WRK"
BIG=$OUT/rules-$NRULES.rules
[ -s "$BIG" ] || python3 "$BENCH/gen_rules.py" "$NRULES" "$BIG" "$OUT/rules-$NRULES.map" ||
	die "gen_rules.py failed"

# read_once ADMIN_PORT PATH PID: prints "wall_ms cpu_ms" of one GET PATH on the admin port.
read_once() {
	local t0 t1 wall
	t0=$(cpu_ticks "$3")
	wall=$(curl -s -o "$RUN/answer" -w '%{time_total}' --max-time 120 "http://127.0.0.1:$1$2") ||
		die "GET $2 failed"
	t1=$(cpu_ticks "$3")
	awk -v w="$wall" -v t=$((t1 - t0)) -v hz="$HZ" 'BEGIN { printf "%.1f %.0f\n", w * 1000, t * 1000 / hz }'
}

n=0
for bin in $BINS; do
	n=$((n + 1))
	pick_port
	port=$PORT
	pick_port
	aport=$PORT
	rm -rf "$RUN/state-$n"
	printf 'listen 127.0.0.1:%s\nworkers 1\nrules %s\naccess-log off\nstate-dir state-%s\nstats on\nstats-flush 5s\nadmin 127.0.0.1:%s\n' \
		"$port" "$BIG" "$n" "$aport" >"$RUN/detour-$n.conf"
	taskset -c "$CORE_SERVER" "$bin" serve -c "$RUN/detour-$n.conf" >"$RUN/detour-$n.log" 2>&1 &
	pid=$!
	track "$pid"
	wait_answer "$pid" "$port" /r/7 120 "$(now_us)" >/dev/null || die "$bin did not start"
	wrk=(taskset -c "$CORE_WRK" wrk -t1 -c"$CONNS" -s "$BENCH/random.lua")
	args=("http://127.0.0.1:$port/" -- "$NRULES" "$DEPTH")
	run_tracked "${wrk[@]}" -d"${TRAFFIC}s" "${args[@]}" >"$RUN/wrk-$n.txt" 2>&1
	: >"$RUN/reads-$n"
	for ((r = 1; r <= READS; r++)); do
		[ "$r" = 1 ] || run_tracked "${wrk[@]}" -d"${GAP}s" "${args[@]}" >>"$RUN/wrk-$n.txt" 2>&1
		m=$(read_once "$aport" /metrics "$pid")
		s=$(read_once "$aport" "/stats?limit=100" "$pid")
		ids=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$RUN/answer")
		echo "$r $m $s $ids" >>"$RUN/reads-$n"
	done
	stop_pid "$pid"
	USED_PORTS=" "
	echo "binary $n: $bin ($("$bin" --version 2>&1 | head -n 1))"
	awk '{ printf "  read %d: GET /metrics %8.1f ms wall %6d ms CPU   GET /stats %8.1f ms wall %6d ms CPU   (%d ids)\n", $1, $2, $3, $4, $5, $6 }' "$RUN/reads-$n"
	awk -v r="$READS" "$AWK_MEDIAN"'
		NR > 1 { m = m " " $2; mc = mc " " $3; s = s " " $4; sc = sc " " $5 }
		END { if (r > 1) printf "  median of reads 2-%d: GET /metrics %.1f ms wall %d ms CPU; GET /stats %.1f ms wall %d ms CPU\n",
			r, median(m, r - 1), median(mc, r - 1), median(s, r - 1), median(sc, r - 1) }' "$RUN/reads-$n"
done
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
