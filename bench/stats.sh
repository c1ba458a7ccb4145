#!/bin/bash
# bench/stats.sh: the cost of `stats on` (per-rule hits, the unmatched-path sketch, the latency
# histogram) against `stats off`, measured as bench/run.sh measures: detour pinned to one core
# with one worker and no access log, wrk pinned to the other, the server's own CPU time
# (utime + stime from /proc) divided by the requests served. Runs alternate off/on REPEAT times
# and the median of each is reported, with the overhead in percent of CPU per request.
#
#   bench/stats.sh                DUR=5 REPEAT=3, keep-alive and pipelined (16 deep)
#   MODES=random bench/stats.sh   NRULES (1,000,000) exact rules hit at random (bench/random.lua),
#                                 keep-alive: the cost of a million counters and their flush
#
# Environment: MODES ("keepalive pipelined"; also "random"), NRULES (1000000), DUR (5), WARM (1), REPEAT (3), CONNS (64), DEPTH (16), PORT_LO/PORT_HI
# (18090/18099), CORE_SERVER (0), CORE_WRK (1), DETOUR_BIN (build/detour), OUT (bench/out).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # BENCH, ROOT and the shared functions

defaults DUR=5 WARM=1 REPEAT=3 CONNS=64 DEPTH=16 PORT_LO=18090 PORT_HI=18099 CORE_SERVER=0 \
	CORE_WRK=1 DETOUR_BIN="$ROOT/build/detour" OUT="$BENCH/out"
RUN=$OUT/stats
HZ=$(getconf CLK_TCK)

need_tools wrk
need_detour
bench_begin
pin_self "$CORE_WRK"

printf '/old /new 301\n/blog/* https://blog.example.com/:splat 308\n' >"$RUN/site.rules"
NRULES=${NRULES:-1000000}
BIG=$OUT/rules-$NRULES.rules
case " ${MODES:-} " in
*" random "*)
	[ -s "$BIG" ] || python3 "$BENCH/gen_rules.py" "$NRULES" "$BIG" "$OUT/rules-$NRULES.map" ||
		die "gen_rules.py failed"
	;;
esac

# run STATS MODE: start detour with `stats STATS`, one wrk run, print CPU us per request.
run() {
	local stats=$1 mode=$2 pid conf=$RUN/detour-$1.conf raw=$RUN/wrk-$1-$2.txt before after req
	local rules=site.rules probe=/old want=/new
	[ "$mode" = random ] && rules=$BIG probe=/r/7 want=/target/7
	pick_port
	rm -rf "$RUN/state-$stats" # every run starts with an empty state, as the first did
	printf 'listen 127.0.0.1:%s\nworkers 1\nrules %s\naccess-log off\nstate-dir state-%s\nstats %s\n' \
		"$PORT" "$rules" "$stats" "$stats" >"$conf"
	taskset -c "$CORE_SERVER" "$DETOUR_BIN" serve -c "$conf" >"$RUN/detour-$stats.log" 2>&1 &
	pid=$!
	track "$pid"
	wait_answer "$pid" "$PORT" "$probe" 120 "$(now_us)" >/dev/null || die "detour did not start"
	check_response "$PORT" "$probe" 301 "$want" || die "wrong answer"
	local -a wrk=(taskset -c "$CORE_WRK" wrk -t1 -c"$CONNS")
	local -a target=("http://127.0.0.1:$PORT/old")
	[ "$mode" = pipelined ] && target=(-s "$BENCH/pipeline.lua" "${target[@]}" -- "$DEPTH")
	[ "$mode" = random ] && target=(-s "$BENCH/random.lua" "http://127.0.0.1:$PORT/" -- "$NRULES" 1)
	run_tracked "${wrk[@]}" -d"${WARM}s" "${target[@]}" >/dev/null 2>&1
	before=$(cpu_ticks "$pid")
	run_tracked "${wrk[@]}" -d"${DUR}s" "${target[@]}" >"$raw" 2>&1
	after=$(cpu_ticks "$pid")
	stop_pid "$pid"
	USED_PORTS=" " # the port is free again
	read -r req _ < <(parse_wrk "$raw") || die "wrk failed: $(cat "$raw")"
	awk -v t=$((after - before)) -v hz="$HZ" -v n="$req" 'BEGIN { printf "%.3f\n", t * 1e6 / hz / n }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for mode in ${MODES:-keepalive pipelined}; do
	: >"$RUN/off-$mode" && : >"$RUN/on-$mode"
	for ((i = 1; i <= REPEAT; i++)); do
		run off "$mode" >>"$RUN/off-$mode"
		run on "$mode" >>"$RUN/on-$mode"
	done
	off=$(median <"$RUN/off-$mode")
	on=$(median <"$RUN/on-$mode")
	awk -v m="$mode" -v off="$off" -v on="$on" -v a="$(paste -sd' ' "$RUN/off-$mode")" \
		-v b="$(paste -sd' ' "$RUN/on-$mode")" 'BEGIN {
		printf "%-10s stats off %7.3f us/request   stats on %7.3f us/request   cost %+5.1f%%   (runs: off %s; on %s)\n",
			m, off, on, (on - off) * 100 / off, a, b }'
done
