#!/usr/bin/env bash
# bench/hscache.sh: how long `detour serve` takes to answer its first request with COUNT regex
# rules written without a common prefix (bench/gen_regex.py, the `anyre` set of regex.sh), whose
# vectorscan database is (issue 10, docs/internals/table.md "The database cache"):
#   cold    compiled (no cache entry: a fresh state directory), then stored in STATE/hs-cache
#   cached  loaded from the entry the cold start stored
#   before  BEFORE_BIN (optional): a detour without the cache, whose compile checked every
#           pattern alone first (hs_expression_info), e.g. a build of main before this branch
# Each COUNT runs REPEAT rounds; a round starts each kind once, one after the other, so that the
# machine's load hits them alike; the table gives medians. "ready" is the time from exec to the
# first answer (bench/lib.sh wait_answer); "index" is the regex index's own time from the log
# ("compiled in" / "loaded ... in").
#
#   COUNTS="1000 10000" REPEAT=3 DETOUR_BIN=build/detour BEFORE_BIN= OUT=bench/out/hscache \
#       bench/hscache.sh
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

COUNTS=${COUNTS:-1000 10000}
REPEAT=${REPEAT:-3}
DETOUR_BIN=${DETOUR_BIN:-$BENCH/../build/detour}
BEFORE_BIN=${BEFORE_BIN:-}
OUT=${OUT:-$BENCH/out/hscache}
PORT_LO=${PORT_LO:-19200}
PORT_HI=${PORT_HI:-19299}
TIMEOUT=${TIMEOUT:-600}

trap cleanup EXIT
trap 'exit 130' INT TERM
[ -x "$DETOUR_BIN" ] || die "no detour binary at $DETOUR_BIN (make first)"
[ -z "$BEFORE_BIN" ] || [ -x "$BEFORE_BIN" ] || die "no binary at BEFORE_BIN=$BEFORE_BIN"
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
RES=$OUT/results.tsv
printf 'count\tkind\tround\tready_ms\tindex_ms\n' >"$RES"

# start BIN DIR COUNT KIND ROUND: one start in DIR (rules and config there), timed; appends a row.
start() {
	local bin=$1 dir=$2 count=$3 kind=$4 round=$5 t0 pid ms idx
	pick_port
	sed -i "s/^listen .*/listen 127.0.0.1:$PORT/" "$dir/detour.conf"
	: >"$dir/error.log"
	t0=$(now_us)
	(cd "$dir" && exec "$bin" serve -c detour.conf) &
	pid=$!
	track "$pid"
	ms=$(wait_answer "$pid" "$PORT" /x/index.p1.php "$TIMEOUT" "$t0") || die "$kind: no answer"
	stop_pid "$pid"
	idx=$(sed -n 's/.*regex index: .* in \([0-9]*\) ms.*/\1/p' "$dir/error.log" | tail -1)
	printf '%s\t%s\t%s\t%s\t%s\n' "$count" "$kind" "$round" "$ms" "${idx:--}" >>"$RES"
	log "$count $kind round $round: ready in $ms ms (index ${idx:--} ms)"
}

setup() {
	local dir=$1 count=$2
	mkdir -p "$dir"
	[ -f "$OUT/$count.rules" ] ||
		python3 "$BENCH/gen_regex.py" "$count" "$OUT/$count.rules" /dev/null /dev/null 1 ||
		die "gen_regex.py failed"
	cp "$OUT/$count.rules" "$dir/site.rules"
	printf 'listen 127.0.0.1:1\nworkers 1\nrules site.rules\nstate-dir state\nstats off\n%s\n' \
		'error-log error.log' >"$dir/detour.conf"
}

for count in $COUNTS; do
	for ((r = 1; r <= REPEAT; r++)); do
		d=$OUT/run-$count
		rm -rf "$d"
		setup "$d" "$count"
		start "$DETOUR_BIN" "$d" "$count" cold "$r"
		ls "$d"/state/hs-cache/*.hsdb >/dev/null 2>&1 || die "the cold start stored no entry"
		start "$DETOUR_BIN" "$d" "$count" cached "$r"
		grep -q "loaded from the cached database" "$d/error.log" || die "not loaded from the cache"
		if [ -n "$BEFORE_BIN" ]; then
			rm -rf "$d/state"
			start "$BEFORE_BIN" "$d" "$count" before "$r"
		fi
	done
done

# Medians per count and kind, and the ratios to the cold start.
python3 - "$RES" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
med = {}
for count, kind, _, ready, idx in rows:
    med.setdefault((count, kind), ([], []))
    med[(count, kind)][0].append(int(ready))
    if idx != "-":
        med[(count, kind)][1].append(int(idx))
print("| regex rules | start | ready (ms, median) | regex index (ms, median) | ready vs cold | runs |")
print("|--:|---|--:|--:|--:|--:|")
for (count, kind), (ready, idx) in med.items():
    cold = statistics.median(med[(count, "cold")][0])
    r = statistics.median(ready)
    i = "%.0f" % statistics.median(idx) if idx else "-"
    print("| %s | %s | %.0f | %s | %.3fx | %d |" % (count, kind, r, i, r / cold, len(ready)))
PY
