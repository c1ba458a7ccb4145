#!/bin/sh
# bench/crawl.sh: `detour crawl` against `wget --spider -r` on the same
# generated site: tests/integration/crawlsite.py's pages (N, default 10,000)
# with its planted redirects, written as static files and served by nginx
# (nginx-light) on 127.0.0.1 so that the server is not what is measured.
# Both crawlers obey robots.txt and fetch every page; prints the pages per
# second of each (pages = requests nginx logged while each ran) and the
# ratio. detour runs with --rate 0 (no per-host rate limit), --per-host
# PER_HOST (default 8): a crawl of one's own site; wget fetches one URL at a
# time, as it always does.
#   N=10000 PER_HOST=8 bench/crawl.sh
set -eu
DETOUR=${DETOUR_BIN:-build/detour}
N=${N:-10000}
PER_HOST=${PER_HOST:-8}
command -v nginx >/dev/null || { echo "crawl.sh: nginx not installed" >&2; exit 1; }
command -v wget >/dev/null || { echo "crawl.sh: wget not installed" >&2; exit 1; }
[ -x "$DETOUR" ] || { echo "crawl.sh: $DETOUR not built" >&2; exit 1; }

tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
chmod 755 "$tmp" # nginx workers run as www-data
mkdir -p "$tmp/logs" "$tmp/www"
python3 "$(dirname "$0")/../tests/integration/crawlsite.py" --pages "$N" --static "$tmp/www" \
	--base "$base"
{
	echo "worker_processes 1; error_log $tmp/logs/error.log; pid $tmp/nginx.pid;"
	echo "events { worker_connections 1024; }"
	echo "http { access_log $tmp/logs/access.log; keepalive_requests 100000;"
	echo " types { text/html html; text/plain txt; application/xml xml;"
	echo "         application/gzip gz; image/png png; text/javascript js; }"
	echo " default_type text/html;"
	echo " server { listen 127.0.0.1:$port; root $tmp/www;"
	cat "$tmp/redirects.conf"
	echo " }"
	echo "}"
} >"$tmp/nginx.conf"
nginx -c "$tmp/nginx.conf" -p "$tmp"
pid=$(cat "$tmp/nginx.pid")
cleanup() {
	kill "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
requests() { wc -l <"$tmp/logs/access.log"; }
# Distinct URLs requested (wget --spider sends a HEAD, then a GET for HTML).
urls() { awk '{print $7}' "$tmp/logs/access.log" | sort -u | wc -l; }

: >"$tmp/logs/access.log"
t0=$(now)
"$DETOUR" crawl -q --rate 0 --per-host "$PER_HOST" --max-pages $((N * 2)) \
	--json "$tmp/crawl.json" "$base/" >/dev/null || true
t1=$(now)
d_req=$(requests)
d_urls=$(urls)
d_checked=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['pages_checked'])" "$tmp/crawl.json")

kill -USR1 "$pid" # reopen the log
sleep 0.2
: >"$tmp/logs/access.log"
t2=$(now)
(cd "$tmp" && wget -q --spider -r -l inf -e robots=on -nd -P "$tmp/wget" "$base/") || true
t3=$(now)
w_req=$(requests)
w_urls=$(urls)

python3 - "$t0" "$t1" "$t2" "$t3" "$d_req" "$w_req" "$d_urls" "$w_urls" "$d_checked" "$N" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
dr, wr, du, wu, dc, n = map(int, sys.argv[5:11])
dd, wd = t1 - t0, t3 - t2
print("site: %d pages (+ planted redirects, robots.txt, sitemaps), nginx on loopback" % n)
print("detour crawl:  %6d URLs (%6d requests) in %6.2f s: %6.0f pages/s (%d URLs checked)"
      % (du, dr, dd, du / dd, dc))
print("wget --spider: %6d URLs (%6d requests) in %6.2f s: %6.0f pages/s" % (wu, wr, wd, wu / wd))
print("ratio detour/wget (pages per second): %.2f" % ((du / dd) / (wu / wd)))
PY
