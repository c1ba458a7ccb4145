#!/bin/bash
# bench/soak.sh: detour under steady load for SOAK_MINUTES (30), with everything that changes a
# running server happening meanwhile (issue 11). Not part of `make test`.
#
#   load      wrk -t1 -cCONNS (16) on /old for the whole run (a keep-alive client; its 307s)
#   reloads   SIGHUP every second, one in ten of a broken rules file (refused, the old rules keep
#             serving); NRULES (10000) rules
#   API       every 100 ms a POST /rules or the DELETE of the rule just added (admin listener)
#   logs      every 10 s the access log is renamed and SIGUSR1 reopens it
# and every 10 s the server's VmRSS and open descriptors are sampled (bench/soak.py drives all
# but the load). The verdict, printed at the end and in OUT/verdict.txt:
#   - no failed request: wrk's socket errors and non-3xx answers, and API calls not answered
#     201/204, all zero;
#   - RSS flat: after WARMUP seconds (60), the lowest sample of each minute (its "floor"); the
#     highest floor within 5 % of the lowest. Samples are taken half-way between two reloads,
#     but a reload is a transient peak (the new table is built while the old one serves: with
#     10,000 rules VmHWM is 0.5 MB above the steady RSS; samples taken as the SIGHUP went out
#     showed up to +1.8 MB) and a loaded machine may delay one into a sample; a floor ignores
#     such a sample, while memory the server keeps (a leak, a cache that fills) is in every
#     sample of its minute and so in the floors. The highest single sample and the peak
#     (VmHWM) are printed too;
#   - descriptors constant: after WARMUP, the highest sample at most 2 above the lowest (a sample
#     may catch a reload's rules file open).
#
#   bench/soak.sh                    30 minutes
#   SOAK_MINUTES=5 bench/soak.sh     a shorter run
#
# To find what grows: SOAK_NO_API=1, SOAK_NO_RELOAD=1, SOAK_NO_REOPEN=1 turn one activity off;
# SOAK_SMAPS=1 keeps /proc/PID/smaps every minute in OUT/run (bench/soak.py).
#
# Environment (default in brackets): SOAK_MINUTES [30], WARMUP [60], CONNS [16], NRULES [10000],
# WORKERS [1], PORT_LO, PORT_HI [18111, 18119], CORE_SERVER [0], CORE_WRK [1],
# DETOUR_BIN [build/detour], NO_BUILD, OUT [bench/out-soak].
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # BENCH, ROOT and the shared functions

defaults SOAK_MINUTES=30 WARMUP=60 CONNS=16 NRULES=10000 WORKERS=1 PORT_LO=18111 PORT_HI=18119 \
	CORE_WRK=1
bench_args "$@"
bench_setup "$BENCH/out-soak" wrk python3 taskset ss
bench_begin

python3 "$BENCH/gen_rules.py" "$NRULES" "$RUN/good.rules" - || die "gen_rules.py failed"
sed -i '1i /old /new 307' "$RUN/good.rules"
cp "$RUN/good.rules" "$RUN/bad.rules"
echo "/broken" >>"$RUN/bad.rules" # a rule without a target: the reload is refused
cp "$RUN/good.rules" "$RUN/site.rules"

pick_port
port=$PORT
pick_port
aport=$PORT
printf 'listen 127.0.0.1:%s\nworkers %s\nrules %s\naccess-log %s\nerror-log %s\nadmin 127.0.0.1:%s\nstate-dir %s\n' \
	"$port" "$WORKERS" "$RUN/site.rules" "$RUN/access.log" "$RUN/error.log" "$aport" "$RUN/var" \
	>"$RUN/detour.conf"
serve_detour "$RUN/detour.conf" "$RUN/stdout.log" "$port"
pid=$SERVER_PID
check_response "$port" /old 307 /new || die "wrong answer to GET /old"

secs=$((SOAK_MINUTES * 60))
{
	meta_head
	echo "command: SOAK_MINUTES=$SOAK_MINUTES WARMUP=$WARMUP CONNS=$CONNS NRULES=$NRULES WORKERS=$WORKERS bench/soak.sh"
} >"$OUT/meta.txt"
log "soaking for $SOAK_MINUTES minutes (pid $pid, port $port, admin $aport)"

taskset -c "$CORE_WRK" wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 5s "http://127.0.0.1:$port/old" \
	>"$OUT/wrk.txt" 2>&1 &
wpid=$!
track "$wpid"
python3 "$BENCH/soak.py" "$pid" "$aport" "$RUN" "$secs" "$WARMUP" | tee "$OUT/samples.txt"
wait "$wpid"
untrack "$wpid"
pid_alive "$pid" || die "detour exited during the soak"
meta_end "$OUT/meta.txt"

read -r wreq _ _ werr <<<"$(parse_wrk "$OUT/wrk.txt" || echo "0 0 - 1")"
tail -n 1 "$OUT/samples.txt" | python3 -c '
import json, sys
c = json.loads(sys.stdin.read())
wreq, werr, warm, errlog = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
failed = werr + c["api_failed"]
ok_fail = failed == 0 and wreq > 0
spread = (c["floor_max"] - c["floor_min"]) / c["floor_min"] if "floor_min" in c else 1
ok_rss = spread <= 0.05
ok_fds = "fds_min" in c and c["fds_max"] - c["fds_min"] <= 2
with open(errlog) as f:
    text = f.read()
refused = text.count("reload failed")
print("requests: %d answered by wrk, %d failed (socket errors + non-3xx); API calls: %d, %d failed"
      % (wreq, werr, c["api_calls"], c["api_failed"]))
print("reloads: %d (%d broken, %d refused in the error log); log reopens: %d"
      % (c["reloads"], c["broken_reloads"], refused, c["reopens"]))
print("RSS after %s s of warm-up, lowest of each minute: %d to %d kB (spread %.1f %%; first %d, "
      "last %d kB)" % (warm, c.get("floor_min", 0), c.get("floor_max", 0), 100 * spread,
                       c.get("floor_first", 0), c.get("floor_last", 0)))
print("RSS samples after warm-up: %d to %d kB (first %d, last %d kB); peak (VmHWM) %d kB"
      % (c.get("rss_min", 0), c.get("rss_max", 0), c.get("rss_first", 0), c.get("rss_last", 0),
         c.get("rss_peak", 0)))
print("open descriptors after warm-up: %d to %d" % (c.get("fds_min", 0), c.get("fds_max", 0)))
ok = ok_fail and ok_rss and ok_fds
print("verdict: %s (failed requests %s, RSS %s, descriptors %s)" % (
    "PASS" if ok else "FAIL", "ok" if ok_fail else "FAIL", "flat" if ok_rss else "NOT FLAT",
    "constant" if ok_fds else "NOT CONSTANT"))
sys.exit(0 if ok else 1)
' "$wreq" "$werr" "$WARMUP" "$RUN/error.log" | tee "$OUT/verdict.txt"
rc=${PIPESTATUS[1]}
exit "$rc"
