#!/bin/bash
# bench/tls.sh: detour and nginx over TLS, with the same ECDSA P-256 certificate (made here with
# openssl) and the same TLS settings (Mozilla "intermediate"). Each server is pinned to one core
# with one worker and no access log; wrk is pinned to the other core. Two scenarios:
#   a  a new TLS 1.3 connection per request (wrk sends "Connection: close"; wrk keeps its SSL
#      object and resumes with the last ticket it got: every connection after the first is a
#      PSK handshake with X25519, if the server gives a new ticket on each resumption)
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
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # BENCH, ROOT and the shared functions

defaults DUR=10 WARM=1 REPEAT=3 CONNS_A=16 CONNS_B=64 SERVERS="detour nginx" SCENARIOS="a b" \
	PORT_LO=18091 PORT_HI=18099 CORE_WRK=1
bench_args "$@"
bench_setup "$BENCH/out-tls" wrk curl openssl ss taskset
bench_begin "$OUT/wrk"
make_cert "$RUN"
printf '/old /new 307\n' >"$RUN/one.rules"
{
	meta_head
	meta_tools nginx wrk openssl
	echo "command: DUR=$DUR WARM=$WARM REPEAT=$REPEAT CONNS_A=$CONNS_A CONNS_B=$CONNS_B NICE=$NICE bench/tls.sh"
} >"$OUT/meta.txt"

pin_self "$CORE_WRK" "$NICE"

declare -A SPIDS SPORT
start_detour() {
	local conf=$RUN/detour.conf plain
	pick_port
	plain=$PORT
	pick_port
	printf 'listen 127.0.0.1:%s\nlisten 127.0.0.1:%s tls\ntls-cert %s %s\nworkers 1\nrules %s\naccess-log off\nstats off\nstate-dir %s\n' \
		"$plain" "$PORT" "$RUN/cert.pem" "$RUN/cert.key" "$RUN/one.rules" "$RUN/var" >"$conf"
	serve_detour "$conf" "$RUN/detour.log" "$plain" 10
	SPIDS[detour]=$SERVER_PID
	SPORT[detour]=$PORT
}

start_nginx() {
	local dir=$RUN/nginx plain
	pick_port
	plain=$PORT
	pick_port
	serve_nginx "$dir" "$BENCH/nginx/nginx-tls.conf.in" \
		"s|@PORT@|$plain|g; s|@TLSPORT@|$PORT|g; s|@CERT@|$RUN/cert.pem|g; s|@KEY@|$RUN/cert.key|g"
	wait_answer "$SERVER_PID" "$plain" /old 30 "$(now_us)" >/dev/null || {
		tail -n 5 "$dir/error.log" >&2
		die "nginx did not start"
	}
	SPIDS[nginx]="$SERVER_PID $(nginx_worker "$SERVER_PID")"
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
	local scen=$1 server=$2 rep=$3 raw req rps p99 err cpu others
	raw="$OUT/wrk/$scen-$server-$rep.txt"
	local -a wrk=(taskset -c "$CORE_WRK" wrk -t1)
	if [ "$scen" = a ]; then
		wrk+=(-c"$CONNS_A" -H "Connection: close")
	else
		wrk+=(-c"$CONNS_B")
	fi
	local url="https://127.0.0.1:${SPORT[$server]}/old"
	[ "$WARM" != 0 ] && run_tracked "${wrk[@]}" -d"${WARM}s" "$url" >/dev/null 2>&1
	measured "$server" "$scen-$server-$rep" "$raw" "${wrk[@]}" -d"${DUR}s" --latency "$url"
	read -r req rps p99 err < <(parse_wrk "$raw") || {
		cat "$raw" >&2
		die "wrk failed on $server ($scen)"
	}
	read -r cpu others < <(cpu_result "$req")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$server" "$rep" "$rps" "$p99" \
		"$cpu" "$req" "$err" "$others" >>"$RESULTS"
	log "$(printf '%s %-7s %8s req/s  p99 %7s us  %7s us CPU/request  %s errors  %s%% others' \
		"$scen" "$server" "$rps" "$p99" "$cpu" "$err" "$others")"
}

measure_all

# The report: of each server's REPEAT runs, the median CPU per request and the median req/s
# (on a shared machine the others' load moves single runs by more than the differences measured;
# every run is in results.tsv and wrk/).
cat "$OUT/meta.txt"
echo
echo "| scenario | server | runs | req/s (median) | CPU us/request (median) | min - max CPU | errors | others (median) | req/s vs nginx | CPU vs nginx |"
echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
awk -F '\t' "$AWK_MEDIAN"'
	{ keep("rps", $4); keep("cpu", $6); keep("err", $8); keep("oth", $9) }
	function vs_nginx(s, v, name) {
		return v != "nginx" && runs(s, "nginx") ? sprintf("%.2fx", med(s, v, name) / med(s, "nginx", name)) : ""
	}
	END {
		label["a"] = "a: new TLS 1.3 connection per request"; label["b"] = "b: keep-alive over TLS"
		ns = split("a b", sc, " "); nv = split("detour nginx", sv, " ")
		for (i = 1; i <= ns; i++) for (j = 1; j <= nv; j++) {
			s = sc[i]; v = sv[j]
			if (!runs(s, v)) continue
			printf "| %s | %s | %d | %.0f | %.2f | %s | %d | %.1f%% | %s | %s |\n", label[s], v, runs(s, v), \
				med(s, v, "rps"), med(s, v, "cpu"), range(s, v, "cpu"), sum(s, v, "err"), med(s, v, "oth"), \
				vs_nginx(s, v, "rps"), vs_nginx(s, v, "cpu")
		}
	}' "$RESULTS"
