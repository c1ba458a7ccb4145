# shellcheck shell=bash
# Functions shared by the bench/*.sh scripts (sourced, never run). Bash only: they use arrays,
# /dev/tcp and $EPOCHREALTIME.
#
# Every process the benchmark starts goes through track(); cleanup() ends exactly those, by PID,
# and nothing else.
#
# A script's frame, in order: bench_args "$@" (--help), bench_out DEFAULT (OUT, RUN), need_tools,
# need_cores, build_detour, bench_begin (a fresh RUN, the traps), meta_head (the report's first
# lines), pin_self (the load's core); its servers with serve_detour / serve_nginx; each measured
# run between cpu_begin and cpu_end (cpu_result: CPU per request, the others' share of the
# server's core),
# with profile_start / profile_stop around it; medians with $AWK_MEDIAN in the report.

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
BENCH_PIDS=()
USED_PORTS=" "

# defaults NAME=VALUE...: each NAME that the environment leaves unset or empty takes VALUE (the
# script's settings, documented in its header).
defaults() {
	local kv name
	for kv in "$@"; do
		name=${kv%%=*}
		[ -n "${!name:-}" ] || printf -v "$name" '%s' "${kv#*=}"
	done
}

log() {
	printf 'bench: %s\n' "$*" >&2
}

die() {
	log "error: $*"
	exit 1
}

# pid_alive PID: true while PID runs (a zombie waiting to be reaped counts as gone).
pid_alive() {
	local state
	[ -r "/proc/$1/stat" ] || return 1
	{ state=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
	state=${state##*) }
	[ "${state%% *}" != Z ]
}

# proc_start PID: the process's start time (field 22 of /proc/PID/stat), which tells a process
# from a later one that got the same PID.
proc_start() {
	local s
	local -a f
	{ s=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
	s=${s##*) }
	read -ra f <<<"$s"
	echo "${f[19]}"
}

# track PID...: remember processes to end on exit (with their start times).
track() {
	local pid
	for pid in "$@"; do
		BENCH_PIDS+=("$pid:$(proc_start "$pid")")
	done
}

# untrack PID: forget a process that has ended and been reaped.
untrack() {
	local i
	for i in "${!BENCH_PIDS[@]}"; do
		[ "${BENCH_PIDS[i]%%:*}" = "$1" ] && unset "BENCH_PIDS[i]"
	done
	BENCH_PIDS=("${BENCH_PIDS[@]}")
}

# ours PID:START: true while PID is alive and still the process that was tracked.
ours() {
	pid_alive "${1%%:*}" && [ "$(proc_start "${1%%:*}")" = "${1#*:}" ]
}

# stop_pid PID: SIGTERM, up to 5 s to exit, then SIGKILL; reaped when it is our child. Signals
# only the process tracked under that PID, never a newcomer that reused the number.
stop_pid() {
	local pid=$1 entry="" e i
	for e in "${BENCH_PIDS[@]}"; do
		[ "${e%%:*}" = "$pid" ] && entry=$e
	done
	if [ -n "$entry" ] && ours "$entry"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			ours "$entry" || break
			sleep 0.1
		done
		ours "$entry" && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	untrack "$pid"
	return 0
}

# run_tracked CMD...: run CMD in the background, tracked, and wait for it; returns its status.
# (In the background so that a SIGINT or SIGTERM to the script reaches the EXIT trap at once.)
run_tracked() {
	local pid rc
	"$@" &
	pid=$!
	track "$pid"
	wait "$pid"
	rc=$?
	untrack "$pid"
	return "$rc"
}

# cleanup: end every tracked process, oldest first: an nginx master goes before its worker,
# so that it does not start a new worker in the dead one's place.
cleanup() {
	local e
	for e in "${BENCH_PIDS[@]}"; do
		stop_pid "${e%%:*}"
	done
	BENCH_PIDS=()
}

# pick_port: set PORT to a port of PORT_LO..PORT_HI that nothing listens on and that this run has
# not handed out yet.
pick_port() {
	local p
	for ((p = PORT_LO; p <= PORT_HI; p++)); do
		case $USED_PORTS in *" $p "*) continue ;; esac
		if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
			USED_PORTS="$USED_PORTS$p "
			# shellcheck disable=SC2034 # PORT is read by the caller
			PORT=$p
			return 0
		fi
	done
	die "no free port in $PORT_LO-$PORT_HI"
}

# now_us: wall clock in microseconds, without starting a process.
now_us() {
	local t=$EPOCHREALTIME
	echo "${t/./}"
}

# wait_answer PID PORT PATH TIMEOUT_S T0_US: poll every 10 ms until `GET PATH` on 127.0.0.1:PORT
# gets a status line back, then print the milliseconds since T0_US. A connection the kernel
# accepted before the server reads (listen backlog) is waited on, so the time is that of the
# first response, not of the bind. Returns 3 if PID exits first, 4 on timeout.
wait_answer() {
	local pid=$1 port=$2 path=$3 timeout=$4 t0=$5 line deadline
	deadline=$((t0 + timeout * 1000000))
	while :; do
		if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
			printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' \
				"$path" >&3 2>/dev/null
			if IFS= read -r -t "$timeout" line <&3 && [[ $line == HTTP/1.* ]]; then
				local t1
				t1=$(now_us)
				exec 3>&-
				echo $(((t1 - t0) / 1000))
				return 0
			fi
			exec 3>&-
		fi
		pid_alive "$pid" || return 3
		[ "$(now_us)" -lt "$deadline" ] || return 4
		sleep 0.01
	done
}

# cpu_ticks PID...: utime + stime (fields 14 and 15 of /proc/PID/stat, clock ticks, all threads
# of the process) summed over the PIDs.
cpu_ticks() {
	local pid s t=0
	local -a f
	for pid in "$@"; do
		{ s=$(<"/proc/$pid/stat"); } 2>/dev/null || return 1
		s=${s##*) } # the command name may hold spaces; fields start after its ')'
		read -ra f <<<"$s"
		t=$((t + f[11] + f[12])) # f[0] is field 3
	done
	echo "$t"
}

# core_ticks CORE: "busy total" clock ticks of one CPU from /proc/stat (busy: user, nice, system,
# irq, softirq, steal; total adds idle and iowait).
core_ticks() {
	awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# status_kib PID FIELD: a "FIELD:  N kB" line of /proc/PID/status (VmRSS, VmHWM).
status_kib() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# pss_kib PID...: proportional set size summed (shared pages counted once across the PIDs).
pss_kib() {
	local pid t=0 v
	for pid in "$@"; do
		v=$(awk '$1 == "Pss:" { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# check_response PORT PATH STATUS LOCATION: one request with curl; fail unless the status and
# the Location header are the expected ones.
check_response() {
	local got
	got=$(curl -s -o /dev/null --max-time 5 -w '%{http_code} %header{location}' \
		"http://127.0.0.1:$1$2") || got="no answer"
	if [ "$got" != "$3 $4" ]; then
		log "GET $2 on port $1: got '$got', want '$3 $4'"
		return 1
	fi
}

# parse_wrk FILE: print "requests rps p99_us errors" from wrk --latency output. p99 is "-" when
# wrk printed none or printed 0 (wrk 4.1 does that with pipelining, wrk issue #236).
# errors = socket errors + responses with a status >= 400.
parse_wrk() {
	awk '
	function us(v) {
		if (v ~ /us$/) return v + 0
		if (v ~ /ms$/) return (v + 0) * 1000
		if (v ~ /m$/) return (v + 0) * 60000000
		if (v ~ /s$/) return (v + 0) * 1000000
		return v + 0
	}
	/ requests in / { req = $1 }
	/^Requests\/sec:/ { rps = $2 }
	$1 == "99%" { p99 = us($2) }
	/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
	/Non-2xx or 3xx responses:/ { err += $NF }
	END {
		if (req == "" || rps == "") exit 1
		printf "%d %.0f %s %d\n", req, rps, (p99 > 0 ? sprintf("%.0f", p99) : "-"), err
	}' "$1"
}

# report TSV: the Markdown summary of a results.tsv (rows: scenario, server, metric, value).
report() {
	awk -F '\t' '
	{ v[$1, $2, $3] = $4 }
	$1 == "-" && $3 == "skipped" { skip[$2] = $4 }
	function get(s, srv, m) { return ((s, srv, m) in v) ? v[s, srv, m] : "" }
	function ratio(a, b) { return (a != "" && b != "" && b + 0 > 0) ? sprintf("%.2fx", a / b) : "" }
	function lat(x) {
		if (x == "" || x == "-") return "n/a"
		return x >= 1000 ? sprintf("%.2f ms", x / 1000) : sprintf("%d us", x)
	}
	function mib(k) { return k == "" ? "" : sprintf("%.0f MiB", k / 1024) }
	function secs(ms) { return ms == "" ? "" : sprintf("%.2f s", ms / 1000) }
	function missing(srv) {
		return (srv in skip) ? "not measured: " skip[srv] : "not measured"
	}
	END {
		depth = get("meta", "-", "depth"); nrules = get("meta", "-", "nrules")
		printf "Machine: %s, %s cores, %s. nginx %s, wrk %s, detour %s.\n", \
			get("meta", "-", "cpu"), get("meta", "-", "nproc"), get("meta", "-", "kernel"), \
			get("meta", "-", "nginx"), get("meta", "-", "wrk"), get("meta", "-", "detour")
		printf "Run %s: `%s`; load average %s at the start, %s at the end.\n\n", \
			get("meta", "-", "date"), get("meta", "-", "command"), \
			get("meta", "-", "loadavg_start"), get("meta", "-", "loadavg_end")
		label["a"] = "a: 1 rule"
		label["b"] = sprintf("b: %d rules, random", nrules)
		label["c.a"] = sprintf("c: a, pipelined x%d", depth)
		label["c.b"] = sprintf("c: b, pipelined x%d", depth)
		label["e"] = "e: a, Connection: close"
		ns = split("a b c.a c.b e", sc, " "); nv = split("detour before nginx floor", sv, " ")
		printf "wrk -t1 -c%s for %s s a run on one core, each server on the other with one worker.\n", \
			get("meta", "-", "conns"), get("meta", "-", "dur")
		print "CPU us/request: the server'"'"'s utime+stime over the run / requests served."
		print "Others: the share of the server'"'"'s core that went to anything but the server during the"
		printf "run (other processes, interrupts); of %s runs each, the one with the least is shown.\n\n", \
			get("meta", "-", "repeat")
		print "| scenario | server | req/s | p99 | CPU us/request | errors | others | req/s vs nginx | CPU vs nginx | CPU vs floor |"
		print "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
		for (i = 1; i <= ns; i++) {
			s = sc[i]
			if (get(s, "nginx", "rps") == "" && get(s, "floor", "rps") == "" && get(s, "detour", "rps") == "")
				continue
			for (j = 1; j <= nv; j++) {
				srv = sv[j]; rps = get(s, srv, "rps"); cpu = get(s, srv, "cpu_us_per_req")
				if (rps == "") {
					if (get(s, srv, "failed") != "")
						printf "| %s | %s | failed: %s | | | | | | | |\n", label[s], srv, get(s, srv, "failed")
					else if (srv in skip)
						printf "| %s | %s | %s | | | | | | | |\n", label[s], srv, missing(srv)
					continue
				}
				printf "| %s | %s | %d | %s | %.2f | %s | %s%% | %s | %s | %s |\n", label[s], srv, rps, \
					lat(get(s, srv, "p99_us")), cpu, get(s, srv, "errors"), get(s, srv, "others_pct"), \
					srv == "nginx" ? "" : ratio(rps, get(s, "nginx", "rps")), \
					srv == "nginx" ? "" : ratio(cpu, get(s, "nginx", "cpu_us_per_req")), \
					srv == "floor" ? "" : ratio(cpu, get(s, "floor", "cpu_us_per_req"))
			}
		}
		hdr = 0
		for (i = 1; i <= ns; i++) {
			s = sc[i]
			if (get(s, "before", "rps") == "" || get(s, "detour", "rps") == "")
				continue
			if (!hdr++)
				print "\n| scenario | detour/before req/s | detour/before CPU us/request |\n|---|--:|--:|"
			printf "| %s | %s | %s |\n", label[s], ratio(get(s, "detour", "rps"), get(s, "before", "rps")), \
				ratio(get(s, "detour", "cpu_us_per_req"), get(s, "before", "cpu_us_per_req"))
		}
		if (get("meta", "-", "scenarios") !~ /d/)
			exit
		printf "\nd: loading %d rules, from process start to the first response; memory right after.\n", nrules
		print "nginx: RSS is the worker'"'"'s VmRSS (the master holds the same map, shared copy-on-write:"
		print "master VmRSS in brackets); peak is the master'"'"'s VmHWM; PSS is master + worker, shared pages once.\n"
		print "CPU to ready: utime + stime of its processes when the first answer came (10 ms ticks).\n"
		print "| server | load time | CPU to ready | RSS | peak RSS | PSS | load vs nginx | CPU vs nginx | RSS vs nginx |"
		print "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
		for (j = 1; j <= 3; j++) {
			srv = sv[j]; ms = get("d", srv, "load_ms"); rss = get("d", srv, "rss_kib")
			if (ms == "") {
				if (srv in skip)
					printf "| %s | %s | | | | | | | |\n", srv, missing(srv)
				continue
			}
			m = get("d", srv, "master_rss_kib"); cpu = get("d", srv, "load_cpu_ms")
			printf "| %s | %s | %s | %s%s | %s | %s | %s | %s | %s |\n", srv, secs(ms), \
				cpu == "" ? "" : secs(cpu), mib(rss), \
				m == "" ? "" : " (" mib(m) ")", mib(get("d", srv, "peak_kib")), \
				mib(get("d", srv, "pss_kib")), \
				srv == "nginx" ? "" : ratio(ms, get("d", "nginx", "load_ms")), \
				srv == "nginx" || cpu == "" ? "" : ratio(cpu, get("d", "nginx", "load_cpu_ms")), \
				srv == "nginx" ? "" : ratio(rss, get("d", "nginx", "rss_kib"))
		}
		if (get("d", "before", "load_ms") != "")
			printf "\ndetour vs before (d): load %s, CPU to ready %s, RSS %s\n", \
				ratio(get("d", "detour", "load_ms"), get("d", "before", "load_ms")), \
				ratio(get("d", "detour", "load_cpu_ms"), get("d", "before", "load_cpu_ms")), \
				ratio(get("d", "detour", "rss_kib"), get("d", "before", "rss_kib"))
	}' "$1"
}

# --- the scripts' common frame -----------------------------------------------------------------

# has WORD LIST: is WORD one of the words of LIST?
has() {
	case " $2 " in *" $1 "*) return 0 ;; esac
	return 1
}

# bench_args "$@": --help prints the script's header comment (the comment lines from line 2);
# no other argument is taken.
bench_args() {
	case "${1:-}" in
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
		exit 0
		;;
	"") ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
}

# bench_out DEFAULT: OUT (DEFAULT unless set) created and made absolute (nginx -p and the configs
# want it so); RUN=$OUT/run, HZ the clock ticks a second.
bench_out() {
	OUT=${OUT:-$1}
	mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
	RUN=$OUT/run
	HZ=$(getconf CLK_TCK)
}

# need_tools CMD...: dies naming the first command that is missing.
need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || die "missing $t"
	done
}

# bench_setup OUT_DEFAULT TOOL...: after the script's own defaults and bench_args: the common
# defaults (CORE_SERVER 0, DETOUR_BIN build/detour, PROFILE none, NICE -10 as root), OUT and RUN
# (bench_out), the TOOLs and whichever of nginx and h2o SERVERS names, two cores, and detour built
# (unless NO_BUILD) when SERVERS names it or is not set.
bench_setup() {
	local s
	CORE_SERVER=${CORE_SERVER:-0}
	DETOUR_BIN=${DETOUR_BIN:-$ROOT/build/detour}
	PROFILE=${PROFILE:-}
	if [ "$(id -u)" = 0 ]; then NICE=${NICE:--10}; else NICE=${NICE:-0}; fi
	bench_out "$1"
	shift
	need_tools "$@"
	for s in nginx h2o; do
		! has "$s" "${SERVERS:-}" || need_tools "$s"
	done
	need_cores
	if [ -z "${SERVERS:-}" ] || has detour "$SERVERS"; then
		build_detour
	fi
}

# meta_tools TOOL...: one line of the report's head, the versions of the TOOLs (nginx, h2o, wrk,
# h2load, openssl).
meta_tools() {
	local t v line=""
	for t in "$@"; do
		case $t in
		nginx) v=$(nginx -v 2>&1 | sed 's/.*version: nginx\///') ;;
		h2o) v=$(h2o --version | awk 'NR == 1 { print $3 }') ;;
		wrk) v=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }') ;;
		h2load) v=$(h2load --version | awk 'NR == 1 { print $NF }') ;;
		openssl) v=$(openssl version | awk '{ print $2 }') ;;
		*) v=? ;;
		esac
		line="$line${line:+; }$t: $v"
	done
	echo "$line"
}

# need_detour: DETOUR_BIN is there (these scripts do not build it).
need_detour() {
	[ -x "$DETOUR_BIN" ] || die "no $DETOUR_BIN: run make first"
}

# need_cores: one core for the servers, one for the load.
need_cores() {
	[ "$(nproc)" -ge 2 ] || die "needs two cores: one for the server, one for the load"
}

# build_detour: make, unless NO_BUILD is set (the log in OUT/make.log).
build_detour() {
	[ -n "${NO_BUILD:-}" ] && return 0
	make -C "$ROOT" -s >"$OUT/make.log" 2>&1 || die "make failed (see $OUT/make.log)"
}

# bench_begin DIR...: a fresh RUN and the DIRs, and the traps that end every tracked process.
bench_begin() {
	rm -rf "$RUN"
	mkdir -p "$RUN" "$@"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# meta_head: the lines every report starts with (the date, the machine, detour's commit, the load
# now); the caller adds its tools' versions and its command line.
meta_head() {
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores, $(uname -sr)"
	echo "detour: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# meta_end FILE: the load at the end, appended to FILE.
meta_end() {
	echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$1"
}

# pin_self CORE [NICE]: this shell and all it starts from now on (the load, curl, the pollers) on
# CORE, off the servers' one, and at priority NICE when given (the servers inherit it).
pin_self() {
	taskset -pc "$1" $$ >/dev/null || die "taskset failed"
	[ -z "${2:-}" ] || renice -n "$2" -p $$ >/dev/null || die "renice failed"
}

# make_cert DIR: DIR/cert.pem and DIR/cert.key, an ECDSA P-256 certificate for bench.test and
# 127.0.0.1, self-signed, for two days.
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$1/cert.key" -out "$1/cert.pem" -subj /CN=bench.test \
		-addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" >/dev/null 2>&1 ||
		die "openssl cannot make the certificate"
}

# serve_detour CONF LOG PORT [TIMEOUT_S]: DETOUR_BIN serves CONF on CORE_SERVER, tracked, its
# output in LOG; waits (TIMEOUT_S, 30) for GET /old on PORT to be answered. Sets SERVER_PID.
serve_detour() {
	local pid
	taskset -c "$CORE_SERVER" "$DETOUR_BIN" serve -c "$1" >"$2" 2>&1 &
	pid=$!
	track "$pid"
	wait_answer "$pid" "$3" /old "${4:-30}" "$(now_us)" >/dev/null || {
		tail -n 5 "$2" >&2
		die "detour did not start"
	}
	SERVER_PID=$pid
}

# serve_nginx DIR TEMPLATE SED: nginx on CORE_SERVER, tracked, with DIR/nginx.conf made from
# TEMPLATE (@DIR@ replaced, then the sed expression SED), its logs in DIR. Sets SERVER_PID (the
# master); the caller waits for it to answer.
serve_nginx() {
	local pid
	mkdir -p "$1/tmp"
	sed -e "s|@DIR@|$1|g" -e "$3" "$2" >"$1/nginx.conf"
	taskset -c "$CORE_SERVER" nginx -p "$1/" -e "$1/error.log" -c "$1/nginx.conf" \
		-g 'daemon off;' >"$1/stdout.log" 2>&1 &
	pid=$!
	track "$pid"
	SERVER_PID=$pid
}

# nginx_worker MASTER: prints the PID of MASTER's worker, tracked; dies when it has none.
nginx_worker() {
	local worker
	worker=$(pgrep -P "$1" | head -n 1)
	[ -n "$worker" ] || die "nginx has no worker process"
	track "$worker"
	echo "$worker"
}

# wait_curl PID URL CURL_OPTION...: polls URL with curl every 100 ms (30 s at most) until it
# answers; returns 1 when PID exits first or on timeout.
wait_curl() {
	local pid=$1 url=$2 i
	shift 2
	for ((i = 0; i < 300; i++)); do
		curl -s "$@" -o /dev/null "$url" 2>/dev/null && return 0
		pid_alive "$pid" || return 1
		sleep 0.1
	done
	return 1
}

# cpu_begin PID...: before a measured run, the CPU ticks of the PIDs (a server's) and of
# CORE_SERVER.
cpu_begin() {
	CPU_PIDS="$*"
	CPU_T0=$(cpu_ticks "$@")
	CPU_C0=$(core_ticks "$CORE_SERVER")
}

# cpu_end: right after the run, the same ticks again. Fails when a PID is gone.
cpu_end() {
	# shellcheck disable=SC2086
	CPU_T1=$(cpu_ticks $CPU_PIDS) || return 1
	CPU_C1=$(core_ticks "$CORE_SERVER")
}

# cpu_result REQUESTS [FORMAT]: prints "us others" for the run between cpu_begin and cpu_end: the
# PIDs' CPU microseconds a request (printf FORMAT, %.2f) and the share in percent of
# CORE_SERVER's busy time that went to anything else (other processes, interrupts).
cpu_result() {
	awk -v t=$((CPU_T1 - CPU_T0)) -v hz="$HZ" -v n="$1" -v c0="$CPU_C0" -v c1="$CPU_C1" \
		-v f="${2:-%.2f}" 'BEGIN {
		split(c0, a, " "); split(c1, b, " ")
		busy = b[1] - a[1]; total = b[2] - a[2]
		o = total > 0 ? (busy - t) * 100 / total : 0
		printf f " %.1f\n", n ? t * 1e6 / hz / n : 0, o < 0 ? 0 : o }'
}

# profile_start SERVER TAG: when PROFILE names SERVER, perf records its PIDs (SPIDS[SERVER]) into
# OUT/perf-TAG.data until profile_stop.
profile_start() {
	PERF_PID=""
	[ "${PROFILE:-}" = "$1" ] || return 0
	perf record -q -F 999 -g -o "$OUT/perf-$2.data" \
		-p "$(echo "${SPIDS[$1]}" | tr -s ' ' ',' | sed 's/,$//')" >/dev/null 2>&1 &
	PERF_PID=$!
	track "$PERF_PID"
}

profile_stop() {
	[ -n "${PERF_PID:-}" ] || return 0
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	untrack "$PERF_PID"
	PERF_PID=""
}

# measured SERVER TAG OUTFILE CMD...: one measured run of the load CMD (its output to OUTFILE),
# the CPU ticks of SERVER's PIDs (SPIDS[SERVER]) and of the server core read around it
# (cpu_result then gives the figures), perf recording it when PROFILE names SERVER. Dies when the
# server died meanwhile.
measured() {
	local server=$1 tag=$2 out=$3
	shift 3
	profile_start "$server" "$tag"
	# shellcheck disable=SC2086
	cpu_begin ${SPIDS[$server]}
	run_tracked "$@" >"$out" 2>&1
	cpu_end || die "$server died during $tag"
	profile_stop
}

# measure_all: the script's start_SERVER and check SERVER for each server of SERVERS, then
# measure SCENARIO SERVER ROUND for every scenario of SCENARIOS, REPEAT rounds, the servers
# alternating within a round; last, the load at the end in OUT/meta.txt.
measure_all() {
	local scen rep s
	for s in $SERVERS; do
		declare -F "start_$s" >/dev/null || die "unknown server $s"
		"start_$s"
		check "$s"
	done
	for scen in $SCENARIOS; do
		for ((rep = 1; rep <= REPEAT; rep++)); do
			for s in $SERVERS; do
				measure "$scen" "$s" "$rep"
			done
		done
	done
	meta_end "$OUT/meta.txt"
}

# Functions for the reports' awk programs: median(LIST, N) of the N numbers of the
# space-separated LIST, and minmax(LIST, N), "lowest - highest"; keep(NAME, VALUE) adds VALUE to
# the list NAME of the row's scenario and server ($1, $2), runs(S, V) counts the rows of scenario
# S and server V, med(S, V, NAME) and range(S, V, NAME) are median and minmax of a list, sum(S, V,
# NAME) its total.
# shellcheck disable=SC2016
AWK_MEDIAN='
	function median(list, n,    a, i, j, t) {
		split(list, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function minmax(list, n,    a, i, lo, hi) {
		split(list, a, " "); lo = hi = a[1]
		for (i = 2; i <= n; i++) { if (a[i] + 0 < lo + 0) lo = a[i]; if (a[i] + 0 > hi + 0) hi = a[i] }
		return lo " - " hi
	}
	function keep(name, v) {
		KEPT[$1, $2, name] = KEPT[$1, $2, name] " " v; NKEPT[$1, $2, name]++; TOTAL[$1, $2, name] += v
		if (name == "rps") RUNS[$1, $2]++
	}
	function runs(s, v) { return ((s, v) in RUNS) ? RUNS[s, v] : 0 }
	function med(s, v, name) { return median(KEPT[s, v, name], NKEPT[s, v, name]) }
	function range(s, v, name) { return minmax(KEPT[s, v, name], NKEPT[s, v, name]) }
	function sum(s, v, name) { return TOTAL[s, v, name] }
'
