#!/bin/bash
# bench/hostile.sh: detour and nginx side by side under three attacks (issue 11). Not part of
# `make test`. Each server is pinned to one core with one worker and no access log; the
# legitimate client (wrk) and the attackers (bench/hostile.c) share the other core.
#
#   loris     SLOWLORIS (2000) connections, each sending one more header line a second and never
#             ending its head, reconnecting when the server closes it
#   slowread  SLOWREAD (200) connections that pipeline `GET /old` whenever their socket takes it
#             and never read an answer, reconnecting when closed
#   reload    RELOADS (150) reloads spread over the run, one in ten (RELOADS/10 in all) of a broken
#             file (detour: a rules file with a bad line, SIGHUP; nginx: a map include without
#             its ';', SIGHUP to the master); NRULES (10000) rules, the next reload restores them
#
# For each server, scenario and round: `wrk -t1 -cCONNS -dDUR` on /old alone (unloaded), then the
# same with the attack running (started 1 s before). Reported: the attacked req/s over the
# unloaded one (legitimate throughput kept), and the server's RSS growth, the highest VmRSS
# sampled every 200 ms during the attack minus the VmRSS before it (nginx: master and every
# worker, reloads' new workers included). Medians of REPEAT rounds (and the largest growth: a
# server keeps what the first round grew), servers alternating. The slow readers' own send
# buffers are 64 KiB (bench/hostile.c): on loopback an autotuned 4 MiB each would be copying
# and memory of the attacker's on the clients' core, which a remote attacker's are not.
#
#   bench/hostile.sh                       every scenario, both servers (about 4 minutes)
#   SCENARIOS=slowread REPEAT=5 bench/hostile.sh
#
# Environment (default in brackets): DUR [8], REPEAT [3], CONNS [16], SERVERS ["detour nginx"],
# SCENARIOS ["loris slowread reload"], SLOWLORIS [2000], SLOWREAD [200], RELOADS [150],
# NRULES [10000], PORT_LO, PORT_HI [18101, 18109], CORE_SERVER [0], CORE_WRK [1],
# DETOUR_BIN [build/detour], NO_BUILD, OUT [bench/out-hostile].
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # BENCH, ROOT and the shared functions

defaults DUR=8 REPEAT=3 CONNS=16 SERVERS="detour nginx" SCENARIOS="loris slowread reload" \
	SLOWLORIS=2000 SLOWREAD=200 RELOADS=150 NRULES=10000 PORT_LO=18101 PORT_HI=18109 CORE_WRK=1
bench_args "$@"
bench_setup "$BENCH/out-hostile" wrk curl cc ss taskset python3
[ "$(ulimit -n)" -gt $((SLOWLORIS + 200)) ] || ulimit -n $((SLOWLORIS * 2 + 1000)) ||
	die "ulimit -n is too low for $SLOWLORIS connections"
bench_begin "$OUT/bin" "$OUT/wrk"
cc -O2 -o "$OUT/bin/hostile" "$BENCH/hostile.c" || die "cannot build bench/hostile.c"

# The rules: /old (what wrk asks for) and NRULES exact rules, so that a reload has work to do.
python3 "$BENCH/gen_rules.py" "$NRULES" "$RUN/good.rules" "$RUN/good.map" || die "gen_rules.py failed"
sed -i '1i /old /new 307' "$RUN/good.rules"
cp "$RUN/good.rules" "$RUN/bad.rules"
echo "/broken" >>"$RUN/bad.rules" # a rule without a target: the reload is refused
cp "$RUN/good.map" "$RUN/bad.map"
echo "/broken /x" >>"$RUN/bad.map" # no ';': nginx refuses the configuration
cp "$RUN/good.rules" "$RUN/site.rules"
cp "$RUN/good.map" "$RUN/site.map"

{
	meta_head
	meta_tools nginx wrk
	echo "command: DUR=$DUR REPEAT=$REPEAT CONNS=$CONNS SCENARIOS=\"$SCENARIOS\" SLOWLORIS=$SLOWLORIS SLOWREAD=$SLOWREAD RELOADS=$RELOADS NRULES=$NRULES bench/hostile.sh"
} >"$OUT/meta.txt"

pin_self "$CORE_WRK"

declare -A SPIDS SPORT
start_detour() {
	local conf=$RUN/detour.conf
	pick_port
	printf 'listen 127.0.0.1:%s\nworkers 1\nrules %s\naccess-log off\nstats off\nstate-dir %s\nerror-log %s\n' \
		"$PORT" "$RUN/site.rules" "$RUN/var" "$RUN/detour-error.log" >"$conf"
	serve_detour "$conf" "$RUN/detour.log" "$PORT"
	SPIDS[detour]=$SERVER_PID
	SPORT[detour]=$PORT
}

start_nginx() {
	local dir=$RUN/nginx
	pick_port
	serve_nginx "$dir" "$BENCH/nginx/nginx.conf.in" \
		"s|@PORT@|$PORT|g; s|@MAP@|$RUN/site.map|g; s|@MAP_HASH_MAX@|$((NRULES * 2 > 2048 ? NRULES * 2 : 2048))|g; s|@MAP_HASH_BUCKET@|128|g"
	wait_answer "$SERVER_PID" "$PORT" /old 30 "$(now_us)" >/dev/null || die "nginx did not start"
	SPIDS[nginx]=$SERVER_PID # the master: its workers end with it
	SPORT[nginx]=$PORT
}

# rss_now SERVER: resident kB of the server (nginx: master and its children).
rss_now() {
	local pid=${SPIDS[$1]} t c
	t=$(status_kib "$pid" VmRSS)
	for c in $(pgrep -P "$pid"); do
		t=$((t + $(status_kib "$c" VmRSS 2>/dev/null || echo 0)))
	done
	echo "${t:-0}"
}

# sample_rss SERVER FILE: the highest rss_now every 200 ms, written to FILE, until killed.
sample_rss() {
	local max=0 r
	trap 'echo "$max" >"$2"; exit 0' TERM
	while :; do
		r=$(rss_now "$1")
		[ "${r:-0}" -gt "$max" ] && max=$r
		echo "$max" >"$2"
		sleep 0.2
	done
}

# reloader SERVER: RELOADS reloads over DUR + 1 seconds, one in ten of a broken file. One Python
# process (rename and kill without starting a process a reload: the clients' core is wrk's too).
reloader() {
	local ext=rules
	[ "$1" = nginx ] && ext=map
	python3 - "$RUN" "$ext" "${SPIDS[$1]}" "$RELOADS" "$DUR" <<'PY'
import os, shutil, signal, sys, time
run, ext, pid, n, dur = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
gap = (dur + 1) / n
site = os.path.join(run, "site." + ext)
for i in range(n):
    shutil.copyfile(os.path.join(run, ("bad." if i % 10 == 9 else "good.") + ext), site + ".new")
    os.replace(site + ".new", site)
    os.kill(pid, signal.SIGHUP)
    time.sleep(gap)
shutil.copyfile(os.path.join(run, "good." + ext), site)
print("reloads", n, "broken", n // 10)
PY
}

wrk_run() { # wrk_run SERVER FILE
	wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:${SPORT[$1]}/old" >"$2" 2>&1
}

RESULTS=$OUT/results.tsv
: >"$RESULTS"

measure() { # measure SCENARIO SERVER ROUND
	local scen=$1 srv=$2 rep=$3 port=${SPORT[$2]} base att rss0 apid spid max f
	f=$OUT/wrk/$scen-$srv-$rep
	run_tracked wrk_run "$srv" "$f-base.txt"
	base=$(parse_wrk "$f-base.txt") || base="0 0 - 0"
	sleep 1
	rss0=$(rss_now "$srv")
	case $scen in
	loris) "$OUT/bin/hostile" "$port" slowloris "$SLOWLORIS" $((DUR + 3)) >"$f-attack.txt" 2>&1 & ;;
	slowread) "$OUT/bin/hostile" "$port" slowread "$SLOWREAD" $((DUR + 3)) >"$f-attack.txt" 2>&1 & ;;
	reload) reloader "$srv" >"$f-attack.txt" 2>&1 & ;;
	esac
	apid=$!
	track "$apid"
	sample_rss "$srv" "$f-rss.txt" &
	spid=$!
	track "$spid"
	sleep 1
	run_tracked wrk_run "$srv" "$f-att.txt"
	att=$(parse_wrk "$f-att.txt") || att="0 0 - 0"
	stop_pid "$apid"
	stop_pid "$spid"
	max=$(cat "$f-rss.txt" 2>/dev/null || echo "$rss0")
	# scenario server round base_rps attacked_rps rss0_kib rss_max_kib attacked_errors
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$srv" "$rep" "$(echo "$base" | cut -d' ' -f2)" \
		"$(echo "$att" | cut -d' ' -f2)" "$rss0" "$max" "$(echo "$att" | cut -d' ' -f4)" >>"$RESULTS"
	log "$scen $srv round $rep: unloaded $(echo "$base" | cut -d' ' -f2) req/s, attacked $(echo "$att" | cut -d' ' -f2) req/s, RSS $rss0 -> $max kB"
	sleep 2 # the attack's connections close
}

# check SERVER: the answers to /old and to one of the NRULES rules.
check() {
	check_response "${SPORT[$1]}" /old 307 /new || die "$1: wrong answer to GET /old"
	check_response "${SPORT[$1]}" /r/42 301 /target/42 || die "$1: wrong answer to GET /r/42"
}

measure_all

# The summary: medians over the rounds.
{
	cat "$OUT/meta.txt"
	echo
	echo "| attack | server | unloaded req/s | attacked req/s | kept (attacked / unloaded) | RSS growth (median) | RSS growth (max) | errors |"
	echo "|---|---|--:|--:|--:|--:|--:|--:|"
	for scen in $SCENARIOS; do
		for srv in $SERVERS; do
			awk -F '\t' -v s="$scen" -v v="$srv" "$AWK_MEDIAN"'
			$1 == s && $2 == v {
				n++; b = b " " $4; a = a " " $5; r = r " " ($4 > 0 ? $5 / $4 : 0)
				x = ($7 - $6) / 1024; g = g " " x; if (x > gm) gm = x; e += $8
			}
			END {
				if (!n) exit
				printf "| %s | %s | %.0f | %.0f | %.3fx | %.1f MiB | %.1f MiB | %d |\n", s, v, median(b, n), median(a, n), median(r, n), median(g, n), gm, e
			}' "$RESULTS"
		done
	done
} | tee "$OUT/summary.md"
