#!/bin/bash
# bench/h2.sh: HTTP/2 under h2load (nghttp2-client): detour, nginx (`listen ... http2`) and h2o,
# over TLS (h2 by ALPN, the same ECDSA P-256 certificate) and over h2c (prior knowledge). Each
# server is pinned to one core with one worker (thread) and no access log; h2load is pinned to
# the other core, with CONNS connections of STREAMS concurrent streams each, for DUR seconds after
# a warm-up. Every server answers GET /old with 307 Location: /new.
# Reports req/s and CPU microseconds per request (the server's utime+stime / requests), and the
# ratios detour / nginx and detour / h2o. On a shared machine, compare ratios within one run.
#
#   bench/h2.sh                    both scenarios, three servers (about 2 minutes)
#   DUR=5 REPEAT=5 bench/h2.sh     on a busy machine: more, shorter runs (medians shown)
#
# Environment (default in brackets): DUR [10], WARM [1], REPEAT [3], CONNS [16], STREAMS [100],
# SERVERS ["detour nginx h2o"], SCENARIOS ["tls h2c"], PORT_LO, PORT_HI [18101, 18119],
# CORE_SERVER [0], CORE_CLIENT [1], DETOUR_BIN [build/detour], NO_BUILD, NICE [-10 as root],
# PROFILE [unset: a server name to perf record], OUT [bench/out-h2].
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # BENCH, ROOT and the shared functions

defaults DUR=10 WARM=1 REPEAT=3 CONNS=16 STREAMS=100 SERVERS="detour nginx h2o" \
	SCENARIOS="tls h2c" PORT_LO=18101 PORT_HI=18119 CORE_CLIENT=1
bench_args "$@"
bench_setup "$BENCH/out-h2" h2load curl openssl ss taskset
bench_begin "$OUT/h2load"
make_cert "$RUN"
printf '/old /new 307\n' >"$RUN/one.rules"
{
	meta_head
	meta_tools nginx h2o h2load openssl
	echo "command: DUR=$DUR WARM=$WARM REPEAT=$REPEAT CONNS=$CONNS STREAMS=$STREAMS NICE=$NICE bench/h2.sh"
} >"$OUT/meta.txt"

pin_self "$CORE_CLIENT" "$NICE"

# SPIDS[server]: the PIDs whose CPU counts; PLAIN/TLS[server]: its ports.
declare -A SPIDS PLAIN TLS
start_detour() {
	local conf=$RUN/detour.conf
	pick_port
	PLAIN[detour]=$PORT
	pick_port
	TLS[detour]=$PORT
	printf 'listen 127.0.0.1:%s\nlisten 127.0.0.1:%s tls\ntls-cert %s %s\nworkers 1\nrules %s\naccess-log off\nstats off\nstate-dir %s\n' \
		"${PLAIN[detour]}" "${TLS[detour]}" "$RUN/cert.pem" "$RUN/cert.key" "$RUN/one.rules" \
		"$RUN/var" >"$conf"
	serve_detour "$conf" "$RUN/detour.log" "${PLAIN[detour]}" 10
	SPIDS[detour]=$SERVER_PID
}

start_nginx() {
	local dir=$RUN/nginx
	pick_port
	PLAIN[nginx]=$PORT
	pick_port
	TLS[nginx]=$PORT
	serve_nginx "$dir" "$BENCH/nginx/nginx-h2.conf.in" \
		"s|@PORT@|${PLAIN[nginx]}|g; s|@TLSPORT@|${TLS[nginx]}|g; s|@CERT@|$RUN/cert.pem|g; s|@KEY@|$RUN/cert.key|g"
	# the plain port speaks only h2c: wait for the TLS one with curl
	wait_curl "$SERVER_PID" "https://127.0.0.1:${TLS[nginx]}/old" -k --http2 || {
		tail -n 5 "$dir/error.log" >&2
		die "nginx did not start"
	}
	SPIDS[nginx]="$SERVER_PID $(nginx_worker "$SERVER_PID")"
}

# h2o 2.2.5 (Debian), one thread, its own HTTP/2; the redirect handler answers /old.
start_h2o() {
	local dir=$RUN/h2o pid
	pick_port
	PLAIN[h2o]=$PORT
	pick_port
	TLS[h2o]=$PORT
	mkdir -p "$dir"
	cat >"$dir/h2o.yaml" <<-EOF
		user: $(id -un)
		num-threads: 1
		pid-file: $dir/h2o.pid
		error-log: $dir/error.log
		http2-max-concurrent-requests-per-connection: 100
		listen:
		  host: 127.0.0.1
		  port: ${PLAIN[h2o]}
		listen:
		  host: 127.0.0.1
		  port: ${TLS[h2o]}
		  ssl:
		    certificate-file: $RUN/cert.pem
		    key-file: $RUN/cert.key
		    minimum-version: TLSv1.2
		    ocsp-update-interval: 0
		hosts:
		  default:
		    paths:
		      /old:
		        redirect:
		          url: /new
		          status: 307
	EOF
	taskset -c "$CORE_SERVER" h2o -c "$dir/h2o.yaml" >"$dir/stdout.log" 2>&1 &
	pid=$!
	track "$pid"
	wait_curl "$pid" "http://127.0.0.1:${PLAIN[h2o]}/old" --http2-prior-knowledge || {
		tail -n 5 "$dir/error.log" >&2
		die "h2o did not start"
	}
	# one process serves (the threads of num-threads); the OCSP updater is off
	SPIDS[h2o]=$pid
}

url() { # url SCEN SERVER
	if [ "$1" = tls ]; then
		echo "https://127.0.0.1:${TLS[$2]}/old"
	else
		echo "http://127.0.0.1:${PLAIN[$2]}/old"
	fi
}

# check SERVER: GET /old over h2 answers 307 /new, both ways.
check() {
	local got scen
	for scen in tls h2c; do
		if [ "$scen" = tls ]; then
			got=$(curl -s --http2 --cacert "$RUN/cert.pem" -o /dev/null --max-time 5 \
				-w '%{http_version} %{http_code} %header{location}' "$(url tls "$1")")
		else
			got=$(curl -s --http2-prior-knowledge -o /dev/null --max-time 5 \
				-w '%{http_version} %{http_code} %header{location}' "$(url h2c "$1")")
		fi
		[ "$got" = "2 307 /new" ] || die "$1: GET /old over $scen: got '$got', want '2 307 /new'"
	done
}

RESULTS=$OUT/results.tsv
: >"$RESULTS"

# measure SCEN SERVER REP: h2load, the server's CPU ticks around it.
measure() {
	local scen=$1 server=$2 rep=$3 raw req rps err cpu others
	raw="$OUT/h2load/$scen-$server-$rep.txt"
	local -a load=(taskset -c "$CORE_CLIENT" h2load -t1 -c"$CONNS" -m"$STREAMS")
	[ "$WARM" != 0 ] && run_tracked "${load[@]}" -D"$WARM" "$(url "$scen" "$server")" >/dev/null 2>&1
	measured "$server" "$scen-$server-$rep" "$raw" "${load[@]}" -D"$DUR" "$(url "$scen" "$server")"
	# "finished in 10.00s, 123456.70 req/s, ..." and "requests: N total, N started, N done,
	# N succeeded, N failed, N errored, N timeout"
	read -r req rps err < <(awk '
		/^finished in/ { r = $4 }
		/^requests:/ { d = $8; f = $10 + $12 + $14 }
		END { if (r == "") exit 1; printf "%d %.0f %d\n", d, r, f }' "$raw") || {
		cat "$raw" >&2
		die "h2load failed on $server ($scen)"
	}
	read -r cpu others < <(cpu_result "$req")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$server" "$rep" "$rps" "$cpu" "$req" \
		"$err" "$others" >>"$RESULTS"
	log "$(printf '%-3s %-7s %9s req/s  %6s us CPU/request  %s failed  %s%% others' \
		"$scen" "$server" "$rps" "$cpu" "$err" "$others")"
}

measure_all

# The report: the median of each server's REPEAT runs (every run is in results.tsv and h2load/).
cat "$OUT/meta.txt"
echo
echo "| scenario | server | runs | req/s (median) | CPU us/request (median) | failed | others (median) | req/s vs nginx | req/s vs h2o | CPU vs nginx | CPU vs h2o |"
echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
awk -F '\t' "$AWK_MEDIAN"'
	{ keep("rps", $4); keep("cpu", $5); keep("err", $7); keep("oth", $8) }
	function vs(s, v, w, name) {
		return v == "detour" && runs(s, w) ? sprintf("%.2fx", med(s, v, name) / med(s, w, name)) : ""
	}
	END {
		label["tls"] = "h2 over TLS"; label["h2c"] = "h2c, prior knowledge"
		ns = split("tls h2c", sc, " "); nv = split("detour nginx h2o", sv, " ")
		for (i = 1; i <= ns; i++) for (j = 1; j <= nv; j++) {
			s = sc[i]; v = sv[j]
			if (!runs(s, v)) continue
			printf "| %s | %s | %d | %.0f | %.2f | %d | %.1f%% | %s | %s | %s | %s |\n", label[s], v, \
				runs(s, v), med(s, v, "rps"), med(s, v, "cpu"), sum(s, v, "err"), med(s, v, "oth"), \
				vs(s, v, "nginx", "rps"), vs(s, v, "h2o", "rps"), vs(s, v, "nginx", "cpu"), \
				vs(s, v, "h2o", "cpu")
		}
	}' "$RESULTS"
