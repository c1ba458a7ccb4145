#!/usr/bin/env bash
# bench/regex.sh: the cost of regex rules and of a big mixed table, detour against nginx with
# the same rules in nginx's config, in one run (issue 3). Scenarios, each with wrk on loopback,
# every server pinned to one core with one worker and no access log:
#   one    1 rule, GET /old                               (the single-rule figure)
#   regex  10,000 rules ~^/p/N/([0-9]+)$ -> /q/N/$1, GET /p/N/M random
#          nginx: 10,000 "location ~ ^/p/N/([0-9]+)$ { return 302 /q/N/$1; }"
#   anyre  10,000 regex rules with no common literal prefix, written like real ones
#          (~\.pN\.php$, ~^/(en|fr|de)/product-N-(\d+)$, ...: bench/gen_regex.py), GET of random
#          paths that each hit one of them; nginx: the same 10,000 regex locations
#   mixed  100,000 rules: 40k exact, 20k splat, 20k placeholder, 10k regex, 10k with a
#          condition (if-header=!X-No:1); random requests over all five kinds
#          nginx: "location =", "location ^~ ... { rewrite }", regex locations, and an "if"
# Target (docs/internals/table.md): regex and anyre at no less than half the single-rule req/s.
# SETS="one anyre" runs only those sets (default: all four).
#
#   bench/regex.sh                    DUR=5 CONNS=32 DETOUR_BIN=build/detour OUT=bench/out/regex
#
# Figures go to $OUT/results.tsv and a Markdown table to stdout. Uses bench/lib.sh (process
# tracking, ports, wrk parsing); every process it starts is ended by PID on exit.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

DUR=${DUR:-5}
CONNS=${CONNS:-32}
DETOUR_BIN=${DETOUR_BIN:-$BENCH/../build/detour}
OUT=${OUT:-$BENCH/out/regex}
PORT_LO=${PORT_LO:-19100}
PORT_HI=${PORT_HI:-19199}
NCPU=$(nproc)
CORE_SERVER=${CORE_SERVER:-0}
CORE_WRK=${CORE_WRK:-$((NCPU > 1 ? 1 : 0))}
HZ=$(getconf CLK_TCK)

trap cleanup EXIT
trap 'exit 130' INT TERM
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
command -v nginx >/dev/null || die "nginx is missing (apt-get install nginx-light)"
[ -x "$DETOUR_BIN" ] || die "no detour binary at $DETOUR_BIN (make first)"
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
DETOUR_BIN=$(cd "$(dirname "$DETOUR_BIN")" && pwd)/$(basename "$DETOUR_BIN")
RES=$OUT/results.tsv
: >"$RES"

# --- rule sets, in detour's syntax and nginx's --------------------------------------------------
gen() {
	python3 - "$OUT" <<'PY'
import sys
out = sys.argv[1]
with open(out + "/one.rules", "w") as f:
    f.write("/old /new 307\n")
with open(out + "/one.nginx", "w") as f:
    f.write("location = /old { return 307 /new; }\n")
with open(out + "/regex.rules", "w") as f:
    for n in range(10000):
        f.write("~^/p/%d/([0-9]+)$ /q/%d/$1 302\n" % (n, n))
with open(out + "/regex.nginx", "w") as f:
    for n in range(10000):
        f.write("location ~ ^/p/%d/([0-9]+)$ { return 302 /q/%d/$1; }\n" % (n, n))
with open(out + "/mixed.rules", "w") as f, open(out + "/mixed.nginx", "w") as g:
    for n in range(40000):
        f.write("/e/%d /te/%d 301\n" % (n, n))
        g.write("location = /e/%d { return 301 /te/%d; }\n" % (n, n))
    for n in range(20000):
        f.write("/s/%d/* /ts/%d/:splat 302\n" % (n, n))
        g.write("location ^~ /s/%d/ { rewrite ^/s/%d/(.*)$ /ts/%d/$1 redirect; }\n" % (n, n, n))
    for n in range(20000):
        f.write("/c/%d/:id /tc/%d/:id 302\n" % (n, n))
        g.write("location ^~ /c/%d/ { rewrite ^/c/%d/([^/]+)$ /tc/%d/$1 redirect; "
                "return 404; }\n" % (n, n, n))
    for n in range(10000):
        f.write("~^/p/%d/([0-9]+)$ /q/%d/$1 302\n" % (n, n))
        g.write("location ~ ^/p/%d/([0-9]+)$ { return 302 /q/%d/$1; }\n" % (n, n))
    for n in range(10000):
        f.write("/k/%d /tk/%d 302 if-header=!X-No:1\n" % (n, n))
        g.write("location = /k/%d { if ($http_x_no != \"1\") { return 302 /tk/%d; } "
                "return 404; }\n" % (n, n))
PY
}
log "generating the rule sets in $OUT"
gen || die "rule generation failed"
python3 "$BENCH/gen_regex.py" 10000 "$OUT/anyre.rules" "$OUT/anyre.nginx" "$OUT/anyre.paths" ||
	die "rule generation failed"

declare -A SPID SPORTS

start_detour() { # start_detour SET
	local conf=$OUT/detour-$1.conf pid t0
	pick_port
	printf 'listen 127.0.0.1:%s\nworkers 1\nrules %s\naccess-log off\nstats off\n' "$PORT" \
		"$OUT/$1.rules" >"$conf"
	t0=$(now_us)
	taskset -c "$CORE_SERVER" "$DETOUR_BIN" serve -c "$conf" >"$OUT/detour-$1.log" 2>&1 &
	pid=$!
	track "$pid"
	wait_answer "$pid" "$PORT" / "${DETOUR_TIMEOUT:-300}" "$t0" >/dev/null || {
		tail -n 5 "$OUT/detour-$1.log" >&2
		die "detour did not start with $1.rules"
	}
	SPID[detour]=$pid
	SPORTS[detour]=$PORT
}

start_nginx() { # start_nginx SET
	local dir=$OUT/nginx-$1 pid worker t0
	pick_port
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; use epoll; }
http {
	access_log off;
	server_tokens off;
	absolute_redirect off;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	server {
		listen 127.0.0.1:$PORT backlog=4096;
		include $OUT/$1.nginx;
		location / { return 404; }
	}
}
EOF
	t0=$(now_us)
	taskset -c "$CORE_SERVER" nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" \
		-g 'daemon off;' >"$dir/out.log" 2>&1 &
	pid=$!
	track "$pid"
	wait_answer "$pid" "$PORT" / "${NGINX_TIMEOUT:-600}" "$t0" >/dev/null || {
		tail -n 5 "$dir/error.log" >&2
		die "nginx did not start with $1.nginx"
	}
	worker=$(pgrep -P "$pid" | head -n 1)
	[ -n "$worker" ] && track "$worker"
	SPID[nginx]="$pid $worker"
	SPORTS[nginx]=$PORT
}

stop_server() {
	local p
	for p in ${SPID[$1]:-}; do
		stop_pid "$p"
	done
	unset "SPID[$1]"
}

# run SET SERVER MODE COUNT: one wrk run; appends "set server rps cpu_us_per_req errors".
run() {
	local set=$1 server=$2 raw=$OUT/wrk-$1-$2.txt before after req rps p99 err cpu
	# shellcheck disable=SC2086
	before=$(cpu_ticks ${SPID[$server]})
	run_tracked taskset -c "$CORE_WRK" wrk -t1 -c"$CONNS" -d"${DUR}s" -s "$BENCH/regex.lua" \
		"http://127.0.0.1:${SPORTS[$server]}/" -- "$3" "$4" >"$raw" 2>&1
	# shellcheck disable=SC2086
	after=$(cpu_ticks ${SPID[$server]})
	read -r req rps p99 err < <(parse_wrk "$raw") || die "wrk failed: $(cat "$raw")"
	cpu=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$req" \
		'BEGIN { printf "%.2f", n ? t * 1e6 / hz / n : 0 }')
	printf '%s\t%s\t%s\t%s\t%s\n' "$set" "$server" "$rps" "$cpu" "$err" >>"$RES"
	log "$set on $server: $rps req/s, $cpu us CPU a request, $err errors"
}

for set in ${SETS:-one regex anyre mixed}; do
	case $set in
	one) mode=one count=1 probe=/old want="307 /new" ;;
	regex) mode=regex count=10000 probe=/p/9999/5 want="302 /q/9999/5" ;;
	anyre) mode=file count=$OUT/anyre.paths probe=/fr/product-9992-5 want="302 /shop/fr/9992/5" ;;
	mixed) mode=mixed count=100000 probe=/c/19999/7 want="302 /tc/19999/7" ;;
	esac
	for server in detour nginx; do
		"start_$server" "$set"
		check_response "${SPORTS[$server]}" "$probe" "${want% *}" "${want#* }" ||
			die "$server answers $probe wrongly"
		run "$set" "$server" "$mode" "$count"
		stop_server "$server"
	done
done

awk -F '\t' '
{ rps[$1, $2] = $3; cpu[$1, $2] = $4; err[$1, $2] = $5 }
END {
	print "| rules | server | req/s | CPU us/request | errors | req/s vs 1 rule | vs nginx |"
	print "|---|---|--:|--:|--:|--:|--:|"
	n = split("one regex anyre mixed", s, " ")
	for (i = 1; i <= n; i++)
		for (j = 1; j <= 2; j++) {
			srv = j == 1 ? "detour" : "nginx"
			if (!((s[i], srv) in rps)) continue
			printf "| %s | %s | %d | %s | %d | %.2fx | %s |\n", s[i], srv, rps[s[i], srv],
				cpu[s[i], srv], err[s[i], srv], rps[s[i], srv] / rps["one", srv],
				srv == "detour" ? sprintf("%.2fx", rps[s[i], "detour"] / rps[s[i], "nginx"]) : ""
		}
}' "$RES"
