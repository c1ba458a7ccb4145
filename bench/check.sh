#!/bin/sh
# bench/check.sh: detour check against curl on loopback.
#   1. 10,000 URLs, each a 301 to a 200, checked with `detour check --parallel 64`
#      and with `xargs -P 64 curl -sL -o /dev/null -w ...`;
#   2. one 10-hop chain, `detour check` against `curl -L` (20 runs each).
# The server is nginx (nginx-light) with a generated config on 127.0.0.1, so
# that the server is not what is measured. Prints both ratios (detour/curl
# wall time; below 1 means detour is faster). Runs in well under a minute.
# DETOUR_BIN (default build/detour) is the binary measured; N overrides 10000.
# Starting 10,000 curl processes takes minutes on a small machine, so curl
# runs the first CURL_N (default 1000) URLs and its time is scaled to N per
# URL (the output says so); CURL_N=10000 measures them all.
set -eu
DETOUR=${DETOUR_BIN:-build/detour}
N=${N:-10000}
CURL_N=${CURL_N:-1000}
[ "$CURL_N" -le "$N" ] || CURL_N=$N
command -v nginx >/dev/null || { echo "check.sh: nginx not installed" >&2; exit 1; }
command -v curl >/dev/null || { echo "check.sh: curl not installed" >&2; exit 1; }
[ -x "$DETOUR" ] || { echo "check.sh: $DETOUR not built" >&2; exit 1; }

tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/logs"
{
	echo "worker_processes 1; error_log $tmp/logs/error.log; pid $tmp/nginx.pid;"
	echo "events { worker_connections 4096; }"
	echo "http { access_log off; keepalive_requests 100000;"
	echo " server { listen 127.0.0.1:$port;"
	echo "  location ~ ^/r/([0-9]+)\$ { add_header Cache-Control max-age=60; return 301 /d/\$1; }"
	echo "  location /d/ { return 200 'ok'; }"
	i=0
	while [ $i -lt 10 ]; do
		echo "  location = /c/$i { return 302 /c/$((i + 1)); }"
		i=$((i + 1))
	done
	echo "  location = /c/10 { return 200 'end'; }"
	echo " }"
	echo "}"
} >"$tmp/nginx.conf"
nginx -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;' &
ngx=$!
trap 'kill $ngx 2>/dev/null; wait $ngx 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
i=0
while ! curl -s -o /dev/null "http://127.0.0.1:$port/d/0"; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "check.sh: nginx did not start" >&2; exit 1; }
	sleep 0.1
done

python3 -c "
for i in range($N): print('http://127.0.0.1:$port/r/%d' % i)" >"$tmp/urls.txt"

now() { date +%s.%N; }
el() { echo "$2 - $1" | bc -l; }

t0=$(now)
"$DETOUR" check -q --json --parallel 64 --input "$tmp/urls.txt" >"$tmp/detour.jsonl" || true
t1=$(now)
head -n "$CURL_N" "$tmp/urls.txt" |
	xargs -P 64 -n 1 curl -s -L -o /dev/null -w '%{http_code} %{num_redirects}\n' >"$tmp/curl.txt"
t2=$(now)
d_many=$(el "$t0" "$t1")
c_many=$(echo "($t2 - $t1) * $N / $CURL_N" | bc -l)
ok_d=$(grep -c '"final_status":200' "$tmp/detour.jsonl" || true)
ok_c=$(grep -c '^200 1$' "$tmp/curl.txt" || true)

runs=20
t0=$(now)
i=0
while [ $i -lt $runs ]; do
	"$DETOUR" check -q --json "http://127.0.0.1:$port/c/0" >/dev/null || true
	i=$((i + 1))
done
t1=$(now)
i=0
while [ $i -lt $runs ]; do
	curl -s -L -o /dev/null "http://127.0.0.1:$port/c/0"
	i=$((i + 1))
done
t2=$(now)
d_chain=$(el "$t0" "$t1")
c_chain=$(el "$t1" "$t2")

printf '%s URLs (301 -> 200), parallel 64:\n' "$N"
printf '  detour check: %6.2f s  (%s chains ended in 200)\n' "$d_many" "$ok_d"
printf '  xargs curl  : %6.2f s  (%s of %s ended in 200; measured on %s URLs, scaled)\n' \
	"$c_many" "$ok_c" "$CURL_N" "$CURL_N"
printf '  ratio detour/curl: %.2f\n' "$(echo "$d_many / $c_many" | bc -l)"
printf 'one 10-hop chain, mean of %d runs (process start included):\n' "$runs"
printf '  detour check: %6.1f ms\n' "$(echo "$d_chain * 1000 / $runs" | bc -l)"
printf '  curl -L     : %6.1f ms\n' "$(echo "$c_chain * 1000 / $runs" | bc -l)"
printf '  ratio detour/curl: %.2f\n' "$(echo "$d_chain / $c_chain" | bc -l)"
