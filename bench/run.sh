#!/bin/bash
# bench/run.sh: detour, nginx and the floor server (bench/floor.c) side by side under wrk, on
# loopback. Each server is pinned to one core with one worker and no access log; wrk is pinned
# to the other core. See bench/README.md for the scenarios and how CPU per request is measured.
#
#   bench/run.sh              the whole suite (about 3 minutes with DUR=10)
#   DUR=3 bench/run.sh        shorter runs
#   bench/run.sh --report     print the summary of the last run again (bench/out/results.tsv)
#
# Environment (default in brackets):
#   DUR [10]          seconds per measured run
#   WARM [1]          seconds of warm-up load before each measured run
#   REPEAT [1]        runs of each measurement; the one with the least other load on the
#                     server's core is reported
#   CONNS [64]        wrk connections
#   DEPTH [16]        pipelined requests per connection in scenario c
#   NRULES [1000000]  exact rules in scenarios b and d
#   SERVERS ["detour nginx floor"]
#   SCENARIOS ["a b c d e"]  c is both c.a (a pipelined) and c.b (b pipelined); each can be named;
#                     e is a with "Connection: close" (a new connection per request)
#   PORT_LO, PORT_HI [18080, 18090]   the ports the servers may use
#   CORE_SERVER [0], CORE_WRK [1]     the cores of the servers and of wrk
#   LOAD_TIMEOUT [120]  seconds a server may take to load NRULES rules
#   DETOUR_BIN [build/detour]; NO_BUILD [unset]: set it to not run make
#   BEFORE_BIN [unset]  another detour binary (e.g. the build before a change), measured as the
#                     server "before" beside "detour" in the same run: add it to SERVERS
#                     (SERVERS="detour before floor"); the summary prints detour/before ratios
#   NICE [-10 as root, else 0]  priority of everything the script runs, so that other work on
#                     the machine disturbs less
#   PROFILE [unset]   a server name: perf record it during its measured runs
#   DETOUR_STATS [off]  `stats` of detour's config: off (like nginx), or on (the default of
#                     detour.conf: per-rule hits flushed to the state every stats-flush)
#   BEFORE_STATS [DETOUR_STATS]  the same for the server "before" (BEFORE_BIN may then be
#                     build/detour itself: SERVERS="detour before floor" DETOUR_STATS=on
#                     BEFORE_STATS=off compares stats on and off in one run)
#   OUT [bench/out]   where results, logs and generated files go
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # BENCH, ROOT and the shared functions

defaults DUR=10 WARM=1 REPEAT=1 CONNS=64 DEPTH=16 NRULES=1000000 SERVERS="detour nginx floor" \
	SCENARIOS="a b c d e" PORT_LO=18080 PORT_HI=18090 CORE_SERVER=0 CORE_WRK=1 LOAD_TIMEOUT=120 \
	DETOUR_BIN="$ROOT/build/detour" BEFORE_BIN= PROFILE= DETOUR_STATS=off
BEFORE_STATS=${BEFORE_STATS:-$DETOUR_STATS}
if [ "$(id -u)" = 0 ]; then NICE=${NICE:--10}; else NICE=${NICE:-0}; fi
bench_out "$BENCH/out"
TSV=$OUT/results.tsv
RUNS=$OUT/runs.tsv

if [ "${1:-}" = --report ]; then
	[ -r "$TSV" ] || die "no $TSV: run bench/run.sh first"
	report "$TSV"
	exit 0
fi
bench_args "$@"

emit() { # emit SCENARIO SERVER METRIC VALUE: one row of results.tsv
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$TSV"
}

# --- tools ------------------------------------------------------------------------------------
missing=""
has nginx "$SERVERS" && ! command -v nginx >/dev/null && missing="$missing nginx-light"
command -v wrk >/dev/null || missing="$missing wrk"
command -v curl >/dev/null || missing="$missing curl"
command -v ss >/dev/null || missing="$missing iproute2"
command -v gcc >/dev/null || missing="$missing gcc"
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || die "missing Debian packages:$missing (run as root, or apt-get install them)"
	log "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	if ! apt-get install -y -q --no-install-recommends $missing; then
		# Debian releases without nginx-light have nginx with the same modules.
		apt-get install -y -q --no-install-recommends ${missing/nginx-light/nginx} ||
			die "apt-get install failed"
	fi
fi
need_cores
bench_begin "$OUT/bin" "$OUT/wrk"
: >"$TSV"
: >"$RUNS"
: >"$RUNS.others"

# --- build ------------------------------------------------------------------------------------
gcc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror "$BENCH/floor.c" -o "$OUT/bin/floor" ||
	die "cannot build bench/floor.c"

DETOUR_SKIP=""
skip_detour() {
	DETOUR_SKIP=$1
	log "*** detour skipped: $1"
	emit - detour skipped "$1"
}
if has detour "$SERVERS"; then
	if [ -z "${NO_BUILD:-}" ]; then
		log "building detour (make, log in $OUT/make.log)"
		if ! make -C "$ROOT" -s >"$OUT/make.log" 2>&1; then
			tail -n 5 "$OUT/make.log" >&2
			skip_detour "make failed (see bench/out/make.log)"
		fi
	fi
	if [ -z "$DETOUR_SKIP" ] && [ ! -x "$DETOUR_BIN" ]; then
		skip_detour "no ${DETOUR_BIN#"$ROOT"/} (not built yet?)"
	fi
fi

BEFORE_SKIP=""
if has before "$SERVERS"; then
	if [ -z "$BEFORE_BIN" ] || [ ! -x "$BEFORE_BIN" ]; then
		BEFORE_SKIP="no BEFORE_BIN (set it to a detour binary to compare with)"
		log "*** before skipped: $BEFORE_SKIP"
		emit - before skipped "$BEFORE_SKIP"
	fi
fi

# --- rules ------------------------------------------------------------------------------------
RULES=$OUT/rules-$NRULES.rules
MAP=$OUT/rules-$NRULES.map
if [ ! -s "$RULES" ] || [ ! -s "$MAP" ] || [ "$BENCH/gen_rules.py" -nt "$RULES" ]; then
	log "generating $NRULES rules"
	/usr/bin/python3 "$BENCH/gen_rules.py" "$NRULES" "$RULES" "$MAP" || die "gen_rules.py failed"
fi
printf '/old /new 307\n' >"$RUN/one.rules"
printf '/r/0 /target/0;\n' >"$RUN/one.map"

# --- record the machine -----------------------------------------------------------------------
emit meta - date "$(date -u '+%Y-%m-%d %H:%M UTC')"
emit meta - cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
emit meta - nproc "$(nproc)"
emit meta - kernel "$(uname -sr)"
emit meta - nginx "$(nginx -v 2>&1 | sed 's/.*version: nginx\///')"
emit meta - wrk "$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')"
emit meta - detour "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
[ -n "$BEFORE_BIN" ] && emit meta - before "$BEFORE_BIN"
emit meta - loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
emit meta - command "DETOUR_STATS=$DETOUR_STATS BEFORE_STATS=$BEFORE_STATS DUR=$DUR REPEAT=$REPEAT WARM=$WARM CONNS=$CONNS DEPTH=$DEPTH NRULES=$NRULES NICE=$NICE bench/run.sh"
emit meta - dur "$DUR"
emit meta - repeat "$REPEAT"
emit meta - conns "$CONNS"
emit meta - depth "$DEPTH"
emit meta - nrules "$NRULES"
emit meta - scenarios "$SCENARIOS"

emit meta - nice "$NICE"

# From here on this shell and what it starts (wrk, curl, the pollers) stay off the servers' core,
# and everything runs at priority NICE (the servers inherit it).
pin_self "$CORE_WRK" "$NICE"

# --- servers ----------------------------------------------------------------------------------
# Each start_* sets SPIDS[server] (the PIDs whose CPU time counts), SPORT[server], and LOAD_MS
# (process start to first response), or returns 1.
declare -A SPIDS SPORT
LOAD_MS=""
WRK_OPTS=() # more wrk options for the scenario being measured (e: the Connection header)

start_detour() { # start_detour TAG RULES_FILE PROBE_PATH TIMEOUT [NAME]: NAME detour or before
	local name=${5:-detour} conf pid t0 bin=$DETOUR_BIN stats=$DETOUR_STATS
	[ "$name" = before ] && bin=$BEFORE_BIN && stats=$BEFORE_STATS
	conf=$RUN/$name-$1.conf
	pick_port
	# Like nginx here: no access log and, unless DETOUR_STATS=on, no per-rule
	# statistics (their cost is measured on its own by bench/stats.sh). State
	# under $RUN.
	printf 'listen 127.0.0.1:%s\nworkers 1\nrules %s\naccess-log off\nstats %s\nstate-dir %s\n' \
		"$PORT" "$2" "$stats" "$RUN/var-$name-$1" >"$conf"
	t0=$(now_us)
	taskset -c "$CORE_SERVER" "$bin" serve -c "$conf" >"$RUN/$name-$1.log" 2>&1 &
	pid=$!
	track "$pid"
	if ! LOAD_MS=$(wait_answer "$pid" "$PORT" "$3" "$4" "$t0"); then
		log "$name serve -c $conf did not answer on port $PORT; its output:"
		tail -n 5 "$RUN/$name-$1.log" >&2
		stop_pid "$pid"
		return 1
	fi
	SPIDS[$name]=$pid
	SPORT[$name]=$PORT
}

start_nginx() { # start_nginx TAG MAP_FILE PROBE_PATH TIMEOUT
	local dir=$RUN/nginx-$1 pid worker t0
	pick_port
	mkdir -p "$dir/tmp"
	# The map hash must hold every key: about 2 buckets a key, 128-byte buckets.
	sed -e "s|@DIR@|$dir|g; s|@PORT@|$PORT|g; s|@MAP@|$2|g" \
		-e "s|@MAP_HASH_MAX@|$((NRULES * 2 > 2048 ? NRULES * 2 : 2048))|g" \
		-e "s|@MAP_HASH_BUCKET@|128|g" "$BENCH/nginx/nginx.conf.in" >"$dir/nginx.conf"
	t0=$(now_us)
	taskset -c "$CORE_SERVER" nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" \
		-g 'daemon off;' >"$dir/stdout.log" 2>&1 &
	pid=$!
	track "$pid"
	if ! LOAD_MS=$(wait_answer "$pid" "$PORT" "$3" "$4" "$t0"); then
		log "nginx did not answer on port $PORT; its error log:"
		tail -n 5 "$dir/error.log" "$dir/stdout.log" >&2
		stop_pid "$pid"
		return 1
	fi
	worker=$(pgrep -P "$pid" | head -n 1)
	[ -n "$worker" ] || die "nginx has no worker process"
	track "$worker"
	SPIDS[nginx]="$pid $worker"
	SPORT[nginx]=$PORT
}

start_floor() { # start_floor [close]: the floor, in close mode for scenario e
	local pid t0
	pick_port
	t0=$(now_us)
	taskset -c "$CORE_SERVER" "$OUT/bin/floor" "$PORT" ${1:+"$1"} >"$RUN/floor.log" 2>&1 &
	pid=$!
	track "$pid"
	LOAD_MS=$(wait_answer "$pid" "$PORT" / 10 "$t0") || die "floor did not start"
	SPIDS[floor]=$pid
	SPORT[floor]=$PORT
}

stop_server() { # stop_server NAME: every PID of it, the first (the master) first
	local pid
	for pid in ${SPIDS[$1]:-}; do
		stop_pid "$pid"
	done
	unset "SPIDS[$1]" "SPORT[$1]"
}

# ready_cpu_ms PID...: the CPU time (utime + stime, every thread) the processes used up to now,
# read right after their first answer: the load's cost without the waits for a core that a
# shared machine adds to the wall clock (clock ticks: 10 ms steps).
ready_cpu_ms() {
	echo $(($(cpu_ticks "$@") * 1000 / HZ))
}

# --- one measured run -------------------------------------------------------------------------
# measure SCENARIO SERVER REP PATH [SCRIPT ARGS...]: warm up, then DUR seconds of wrk (with the
# Lua SCRIPT and its ARGS, if given) on http://127.0.0.1:PORT/PATH, the server's CPU time and
# the server core's busy time read before and after. Figures go to runs.tsv; pick() chooses.
measure() {
	local scen=$1 server=$2 rep=$3 path=$4
	shift 4
	local url="http://127.0.0.1:${SPORT[$server]}$path" raw="$OUT/wrk/$scen-$server-$rep.txt"
	local req rps p99 err cpu others
	local -a wrk=(taskset -c "$CORE_WRK" wrk -t1 -c"$CONNS" "${WRK_OPTS[@]}")
	local -a target=("$url")
	if [ $# -gt 0 ]; then
		wrk+=(-s "$1")
		shift
		target+=(-- "$@") # wrk hands what follows the URL and "--" to the script's init()
	fi
	if [ "$WARM" != 0 ]; then
		run_tracked "${wrk[@]}" -d"${WARM}s" "${target[@]}" >/dev/null 2>&1
	fi
	profile_start "$server" "$scen-$server-$rep"
	# The counters are read around the whole wrk process. Its start (a second for random.lua's
	# init) leaves the server idle, which costs the server no CPU time; requests/s is wrk's own
	# figure over its run.
	# shellcheck disable=SC2086
	cpu_begin ${SPIDS[$server]}
	run_tracked "${wrk[@]}" -d"${DUR}s" --latency "${target[@]}" >"$raw" 2>&1
	local died=""
	cpu_end || died=1
	profile_stop
	if [ -n "$died" ]; then
		log "$server died during scenario $scen"
		emit "$scen" "$server" failed "died under load"
		return 1
	fi
	if ! read -r req rps p99 err < <(parse_wrk "$raw"); then
		log "wrk failed on $server ($scen):"
		cat "$raw" >&2
		emit "$scen" "$server" failed "wrk failed"
		return 1
	fi
	read -r cpu others < <(cpu_result "$req" %.3f)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$server" "$rep" "$rps" "$p99" "$cpu" \
		"$req" "$err" >>"$RUNS"
	printf '%s\t%s\t%s\tothers_pct\t%s\n' "$scen" "$server" "$rep" "$others" >>"$RUNS.others"
	printf '  %-4s %-7s %9s req/s   p99 %8s us   %7s us CPU/request   %s errors   %s%% others\n' \
		"$scen" "$server" "$rps" "$p99" "$cpu" "$err" "$others" >&2
}

# pick SCENARIO: of the REPEAT runs of each server, keep the one during which other processes
# used the server's core the least (a choice that does not look at the server's own figures).
pick() {
	awk -F '\t' -v scen="$1" '
	FNR == NR { if ($1 == scen) others[$2, $3] = $5; next }
	$1 == scen {
		o = others[$2, $3]
		if (!($2 in best) || o < bo[$2]) { best[$2] = $0; bo[$2] = o }
		n[$2]++
	}
	END {
		for (s in best) {
			split(best[s], f, "\t")
			printf "%s\t%s\trps\t%s\n%s\t%s\tp99_us\t%s\n", scen, s, f[4], scen, s, f[5]
			printf "%s\t%s\tcpu_us_per_req\t%s\n%s\t%s\trequests\t%s\n", scen, s, f[6], scen, s, f[7]
			printf "%s\t%s\terrors\t%s\n%s\t%s\tothers_pct\t%s\n", scen, s, f[8], scen, s, bo[s]
			printf "%s\t%s\truns\t%d\n", scen, s, n[s]
		}
	}' "$RUNS.others" "$RUNS" >>"$TSV"
}

# run_scenario SCENARIO PATH [SCRIPT ARGS...]: REPEAT rounds over the servers that are up.
run_scenario() {
	local scen=$1 rep server
	shift
	for ((rep = 1; rep <= REPEAT; rep++)); do
		for server in $(active); do
			measure "$scen" "$server" "$rep" "$@"
		done
	done
	pick "$scen"
}

# check SERVER PATH STATUS LOCATION: the server answers what the scenario expects.
check() {
	check_response "${SPORT[$1]}" "$2" "$3" "$4"
}

active() { # the servers that are up, in the order of SERVERS
	local s
	for s in $SERVERS; do
		[ -n "${SPIDS[$s]:-}" ] && printf '%s ' "$s"
	done
}

# --- phase 1: one rule (scenarios a and c.a) --------------------------------------------------
# SCENARIOS names a, b, c (both c.a and c.b), c.a, c.b, d.
phase1=""
has a "$SCENARIOS" && phase1="$phase1 a"
{ has c "$SCENARIOS" || has c.a "$SCENARIOS"; } && phase1="$phase1 c.a"
has e "$SCENARIOS" && phase1="$phase1 e"
phase2=""
has b "$SCENARIOS" && phase2="$phase2 b"
{ has c "$SCENARIOS" || has c.b "$SCENARIOS"; } && phase2="$phase2 c.b"

if has floor "$SERVERS" && [ -n "$phase1$phase2" ]; then
	start_floor
fi
if [ -n "$phase1" ]; then
	log "phase 1: one rule; ${DUR}s a run"
	if has detour "$SERVERS" && [ -z "$DETOUR_SKIP" ]; then
		if ! start_detour one "$RUN/one.rules" /old 10; then
			skip_detour "\`detour serve\` did not start (see bench/out/run/detour-one.log)"
		elif ! check detour /old 307 /new; then
			stop_server detour
			skip_detour "wrong answer to GET /old"
		fi
	fi
	if has before "$SERVERS" && [ -z "$BEFORE_SKIP" ]; then
		start_detour one "$RUN/one.rules" /old 10 before || die "before did not start"
		check before /old 307 /new || die "before: wrong answer to GET /old"
	fi
	if has nginx "$SERVERS"; then
		start_nginx one "$RUN/one.map" /old 30 || die "nginx did not start"
		check nginx /old 307 /new || die "nginx: wrong answer to GET /old"
	fi
	[ -n "${SPIDS[floor]:-}" ] && { check floor /old 307 /new || die "floor: wrong answer"; }
	for scen in $phase1; do
		case $scen in
		a) run_scenario a /old ;;
		c.a) run_scenario c.a /old "$BENCH/pipeline.lua" "$DEPTH" ;;
		e)
			# A new connection per request: every server answers
			# "Connection: close" and closes, and wrk reconnects. The
			# floor does the same in its close mode.
			if [ -n "${SPIDS[floor]:-}" ]; then
				stop_server floor
				start_floor close
				check floor /old 307 /new || die "floor: wrong answer"
			fi
			WRK_OPTS=(-H "Connection: close")
			run_scenario e /old
			WRK_OPTS=()
			if [ -n "${SPIDS[floor]:-}" ]; then
				stop_server floor
				[ -n "$phase2" ] && start_floor
			fi
			;;
		esac
	done
	[ -n "${SPIDS[detour]:-}" ] && stop_server detour
	[ -n "${SPIDS[before]:-}" ] && stop_server before
	[ -n "${SPIDS[nginx]:-}" ] && stop_server nginx
fi

# --- phase 2: NRULES rules (scenarios d, b and c.b) -------------------------------------------
if [ -n "$phase2" ] || has d "$SCENARIOS"; then
	log "phase 2: $NRULES rules"
	probe="/r/$((NRULES / 2))"
	if has detour "$SERVERS" && [ -z "$DETOUR_SKIP" ]; then
		if start_detour big "$RULES" "$probe" "$LOAD_TIMEOUT"; then
			pid=${SPIDS[detour]}
			emit d detour load_ms "$LOAD_MS"
			emit d detour load_cpu_ms "$(ready_cpu_ms "$pid")"
			emit d detour rss_kib "$(status_kib "$pid" VmRSS)"
			emit d detour peak_kib "$(status_kib "$pid" VmHWM)"
			emit d detour pss_kib "$(pss_kib "$pid")"
			log "  detour loaded $NRULES rules in $LOAD_MS ms," \
				"RSS $(status_kib "$pid" VmRSS) KiB"
			if ! check detour "$probe" 301 "/target/$((NRULES / 2))"; then
				stop_server detour
				skip_detour "wrong answer to GET $probe with $NRULES rules"
			fi
		else
			skip_detour "\`detour serve\` did not load $NRULES rules (see bench/out/run/detour-big.log)"
		fi
	fi
	if has before "$SERVERS" && [ -z "$BEFORE_SKIP" ]; then
		start_detour big "$RULES" "$probe" "$LOAD_TIMEOUT" before || die "before did not load the rules"
		emit d before load_ms "$LOAD_MS"
		emit d before load_cpu_ms "$(ready_cpu_ms "${SPIDS[before]}")"
		emit d before rss_kib "$(status_kib "${SPIDS[before]}" VmRSS)"
		emit d before peak_kib "$(status_kib "${SPIDS[before]}" VmHWM)"
		emit d before pss_kib "$(pss_kib "${SPIDS[before]}")"
		check before "$probe" 301 "/target/$((NRULES / 2))" || die "before: wrong answer to $probe"
	fi
	if has nginx "$SERVERS"; then
		start_nginx big "$MAP" "$probe" "$LOAD_TIMEOUT" || die "nginx did not load the map"
		read -r master worker <<<"${SPIDS[nginx]}"
		emit d nginx load_ms "$LOAD_MS"
		emit d nginx load_cpu_ms "$(ready_cpu_ms "$master" "$worker")"
		emit d nginx rss_kib "$(status_kib "$worker" VmRSS)"
		emit d nginx master_rss_kib "$(status_kib "$master" VmRSS)"
		emit d nginx peak_kib "$(status_kib "$master" VmHWM)"
		emit d nginx pss_kib "$(pss_kib "$master" "$worker")"
		log "  nginx loaded $NRULES map entries in $LOAD_MS ms," \
			"worker RSS $(status_kib "$worker" VmRSS) KiB"
		check nginx "$probe" 301 "/target/$((NRULES / 2))" || die "nginx: wrong answer to $probe"
	fi
	for scen in $phase2; do
		case $scen in
		b) run_scenario b / "$BENCH/random.lua" "$NRULES" 1 ;;
		c.b) run_scenario c.b / "$BENCH/random.lua" "$NRULES" "$DEPTH" ;;
		esac
	done
fi

emit meta - loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
cleanup
echo
report "$TSV" | tee "$OUT/summary.md"
