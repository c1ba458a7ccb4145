#!/bin/bash
# bench/tls.sh: detour and nginx over TLS, with the same ECDSA P-256 certificate (made here with
# openssl) and the same TLS settings (Mozilla "intermediate"). Each server is pinned to one core
# with one worker and no access log; wrk is pinned to the other core. Two scenarios:
#   a  a new TLS 1.3 connection per request (wrk sends "Connection: close"; wrk does not resume
#      sessions, so every request pays a full handshake: ECDHE + ECDSA signature)
#   b  keep-alive over TLS (one handshake per connection, then requests)
# Reports CPU microseconds per request (the server's utime+stime / requests) and req/s, and
# the ratios to nginx. See bench/README.md for the method (it is bench/run.sh's).
#
#   bench/tls.sh              both scenarios (about 2.5 minutes with DUR=10, REPEAT=3)
#   DUR=5 REPEAT=5 bench/tls.sh   on a busy machine: more, shorter runs
#
# Environment (default in brackets): DUR [10], WARM [1], REPEAT [3] (runs of each; medians shown), CONNS_A [16] and CONNS_B
# [64] (wrk connections in a and b), SERVERS ["detour nginx"], SCENARIOS ["a b"], PORT_LO,
# PORT_HI [18091, 18099], CORE_SERVER [0], CORE_WRK [1], DETOUR_BIN [build/detour], NO_BUILD,
# NICE [-10 as root], PROFILE [unset: a server name to perf record], OUT [bench/out-tls].
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

DUR=${DUR:-10}
WARM=${WARM:-1}
REPEAT=${REPEAT:-3}
CONNS_A=${CONNS_A:-16}
CONNS_B=${CONNS_B:-64}
SERVERS=${SERVERS:-detour nginx}
SCENARIOS=${SCENARIOS:-a b}
PORT_LO=${PORT_LO:-18091}
PORT_HI=${PORT_HI:-18099}
CORE_SERVER=${CORE_SERVER:-0}
CORE_WRK=${CORE_WRK:-1}
DETOUR_BIN=${DETOUR_BIN:-$ROOT/build/detour}
PROFILE=${PROFILE:-}
if [ "$(id -u)" = 0 ]; then NICE=${NICE:--10}; else NICE=${NICE:-0}; fi
OUT=${OUT:-$BENCH/out-tls}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
RUN=$OUT/run
HZ=$(getconf CLK_TCK)

case "${1:-}" in
-h | --help)
	sed -n '2,/^if \[/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
"") ;;
*) die "unknown argument '$1' (try --help)" ;;
esac

has() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }

for t in wrk curl openssl ss taskset; do
	command -v "$t" >/dev/null || die "missing $t"
done
has nginx "$SERVERS" && ! command -v nginx >/dev/null && die "missing nginx"
[ "$(nproc)" -ge 2 ] || die "needs two cores: one for the server, one for wrk"
if has detour "$SERVERS" && [ -z "${NO_BUILD:-}" ]; then
	make -C "$ROOT" -s >"$OUT/make.log" 2>&1 || die "make failed (see $OUT/make.log)"
fi

rm -rf "$RUN"
mkdir -p "$RUN" "$OUT/wrk"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the certificate: ECDSA P-256, self-signed, for bench.test and 127.0.0.1 -----------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$RUN/cert.key" -out "$RUN/cert.pem" -subj /CN=bench.test \
	-addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" >/dev/null 2>&1 ||
	die "openssl cannot make the certificate"
printf '/old /new 307\n' >"$RUN/one.rules"

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores, $(uname -sr)"
	echo "nginx: $(nginx -v 2>&1 | sed 's/.*version: nginx\///'); wrk: $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'); $(openssl version)"
	echo "detour: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "command: DUR=$DUR WARM=$WARM REPEAT=$REPEAT CONNS_A=$CONNS_A CONNS_B=$CONNS_B NICE=$NICE bench/tls.sh"
} >"$OUT/meta.txt"

taskset -pc "$CORE_WRK" $$ >/dev/null || die "taskset failed"
renice -n "$NICE" -p $$ >/dev/null || die "renice failed"

declare -A SPIDS SPORT
start_detour() {
	local conf=$RUN/detour.conf pid plain
	pick_port
	plain=$PORT
	pick_port
	printf 'listen 127.0.0.1:%s\nlisten 127.0.0.1:%s tls\ntls-cert %s %s\nworkers 1\nrules %s\naccess-log off\nstats off\nstate-dir %s\n' \
		"$plain" "$PORT" "$RUN/cert.pem" "$RUN/cert.key" "$RUN/one.rules" "$RUN/var" >"$conf"
	taskset -c "$CORE_SERVER" "$DETOUR_BIN" serve -c "$conf" >"$RUN/detour.log" 2>&1 &
	pid=$!
	track "$pid"
	wait_answer "$pid" "$plain" /old 10 "$(now_us)" >/dev/null || {
		tail -n 5 "$RUN/detour.log" >&2
		die "detour did not start"
	}
	SPIDS[detour]=$pid
	SPORT[detour]=$PORT
}

start_nginx() {
	local dir=$RUN/nginx pid worker plain
	pick_port
	plain=$PORT
	pick_port
	mkdir -p "$dir/tmp"
	sed -e "s|@DIR@|$dir|g; s|@PORT@|$plain|g; s|@TLSPORT@|$PORT|g" \
		-e "s|@CERT@|$RUN/cert.pem|g; s|@KEY@|$RUN/cert.key|g" \
		"$BENCH/nginx/nginx-tls.conf.in" >"$dir/nginx.conf"
	taskset -c "$CORE_SERVER" nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" \
		-g 'daemon off;' >"$dir/stdout.log" 2>&1 &
	pid=$!
	track "$pid"
	wait_answer "$pid" "$plain" /old 30 "$(now_us)" >/dev/null || {
		tail -n 5 "$dir/error.log" >&2
		die "nginx did not start"
	}
	worker=$(pgrep -P "$pid" | head -n 1)
	[ -n "$worker" ] || die "nginx has no worker process"
	track "$worker"
	SPIDS[nginx]="$pid $worker"
	SPORT[nginx]=$PORT
}

# check SERVER: GET /old over TLS 1.3 answers 307 /new, and the certificate verifies.
check() {
	local got
	got=$(curl -s --tlsv1.3 --cacert "$RUN/cert.pem" -o /dev/null --max-time 5 \
		-w '%{http_code} %header{location}' "https://127.0.0.1:${SPORT[$1]}/old") || got="no answer"
	[ "$got" = "307 /new" ] || die "$1: GET /old over TLS: got '$got', want '307 /new'"
}

RESULTS=$OUT/results.tsv
: >"$RESULTS"

# measure SCEN SERVER REP: wrk over https, the server's CPU ticks around it.
measure() {
	local scen=$1 server=$2 rep=$3 raw before after
	raw="$OUT/wrk/$scen-$server-$rep.txt"
	local core0 core1 perf_pid="" req rps p99 err cpu others
	local -a wrk=(taskset -c "$CORE_WRK" wrk -t1)
	if [ "$scen" = a ]; then
		wrk+=(-c"$CONNS_A" -H "Connection: close")
	else
		wrk+=(-c"$CONNS_B")
	fi
	local url="https://127.0.0.1:${SPORT[$server]}/old"
	[ "$WARM" != 0 ] && run_tracked "${wrk[@]}" -d"${WARM}s" "$url" >/dev/null 2>&1
	if [ "$PROFILE" = "$server" ]; then
		perf record -q -F 999 -g -o "$OUT/perf-$scen-$server-$rep.data" \
			-p "$(echo "${SPIDS[$server]}" | tr ' ' ,)" >/dev/null 2>&1 &
		perf_pid=$!
		track "$perf_pid"
	fi
	# shellcheck disable=SC2086
	before=$(cpu_ticks ${SPIDS[$server]})
	core0=$(core_ticks "$CORE_SERVER")
	run_tracked "${wrk[@]}" -d"${DUR}s" --latency "$url" >"$raw" 2>&1
	# shellcheck disable=SC2086
	after=$(cpu_ticks ${SPIDS[$server]}) || die "$server died during $scen"
	core1=$(core_ticks "$CORE_SERVER")
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid" 2>/dev/null
		wait "$perf_pid" 2>/dev/null
		untrack "$perf_pid"
	fi
	read -r req rps p99 err < <(parse_wrk "$raw") || {
		cat "$raw" >&2
		die "wrk failed on $server ($scen)"
	}
	read -r cpu others < <(awk -v t=$((after - before)) -v hz="$HZ" -v n="$req" \
		-v c0="$core0" -v c1="$core1" 'BEGIN {
		split(c0, a, " "); split(c1, b, " ")
		busy = b[1] - a[1]; total = b[2] - a[2]
		o = total > 0 ? (busy - t) * 100 / total : 0
		printf "%.2f %.1f\n", n ? t * 1e6 / hz / n : 0, o < 0 ? 0 : o }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$server" "$rep" "$rps" "$p99" \
		"$cpu" "$req" "$err" "$others" >>"$RESULTS"
	log "$(printf '%s %-7s %8s req/s  p99 %7s us  %7s us CPU/request  %s errors  %s%% others' \
		"$scen" "$server" "$rps" "$p99" "$cpu" "$err" "$others")"
}

for s in $SERVERS; do
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
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"

# The report: of each server's REPEAT runs, the median CPU per request and the median req/s
# (on a shared machine the others' load moves single runs by more than the differences measured;
# every run is in results.tsv and wrk/).
cat "$OUT/meta.txt"
echo
echo "| scenario | server | runs | req/s (median) | CPU us/request (median) | min - max CPU | errors | others (median) | req/s vs nginx | CPU vs nginx |"
echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
sort -t "$(printf '\t')" -k1,1 -k2,2 "$RESULTS" | awk -F '\t' '
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
	{ k = $1 SUBSEP $2; n[k]++; rps[k] = rps[k] " " $4; cpu[k] = cpu[k] " " $6; err[k] += $8; oth[k] = oth[k] " " $9 }
	END {
		label["a"] = "a: new TLS 1.3 connection per request"; label["b"] = "b: keep-alive over TLS"
		ns = split("a b", sc, " "); nv = split("detour nginx", sv, " ")
		for (i = 1; i <= ns; i++) for (j = 1; j <= nv; j++) {
			k = sc[i] SUBSEP sv[j]
			if (!(k in n)) continue
			mr[k] = median(rps[k], n[k]); mc[k] = median(cpu[k], n[k])
		}
		for (i = 1; i <= ns; i++) for (j = 1; j <= nv; j++) {
			k = sc[i] SUBSEP sv[j]; g = sc[i] SUBSEP "nginx"
			if (!(k in n)) continue
			r = ""; c = ""
			if (sv[j] != "nginx" && (g in n)) {
				r = sprintf("%.2fx", mr[k] / mr[g]); c = sprintf("%.2fx", mc[k] / mc[g])
			}
			printf "| %s | %s | %d | %.0f | %.2f | %s | %d | %.1f%% | %s | %s |\n", label[sc[i]], sv[j], \
				n[k], mr[k], mc[k], minmax(cpu[k], n[k]), err[k], median(oth[k], n[k]), r, c
		}
	}'
