#!/bin/bash
# bench/instr.sh: user-space instructions per request, counted by callgrind (valgrind), for one
# detour binary or two side by side. Unlike CPU time under wrk, the count does not move with the
# machine's load, so it shows a change of a few percent on the request path that a load run
# cannot tell from noise. It counts only what detour executes in user space: the system calls
# (read, write, epoll_wait), which are most of a keep-alive request's cost, are not in it.
#
#   bench/instr.sh                          build/detour
#   BEFORE_BIN=/tmp/old/detour bench/instr.sh    both, with the ratio
#
# SCENARIO a (the default): each binary serves `/old /new 307` (stats off, no access log, one
# worker) under callgrind; after a warm-up, N requests (default 32000) are sent pipelined DEPTH
# (16) deep on one connection from a Python client, between a zero and a dump of the counters.
# SCENARIO b: the NRULES exact rules of run.sh's scenario b (bench/gen_rules.py), requested at
# random (the same seeded sequence for both binaries); loading them under callgrind takes a
# minute or two.
# Environment: SCENARIO, N, DEPTH, NRULES (1000000), DETOUR_BIN (build/detour), BEFORE_BIN,
# STATS (off), PORT_LO/PORT_HI (18100/18109), OUT (bench/out); CONF_EXTRA: lines added to the
# config (e.g. "trusted-proxies 127.0.0.1/32"), REQ_EXTRA: header lines added to every request
# (e.g. 'X-Forwarded-For: 203.0.113.7\r\n'). Both go through printf %b:
# CONF_EXTRA='https-redirect\nhsts max-age=1y'.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # BENCH, ROOT and the shared functions

defaults SCENARIO=a N=32000 NRULES=1000000 DEPTH=16 STATS=off CONF_EXTRA= PORT_LO=18100 \
	PORT_HI=18109 DETOUR_BIN="$ROOT/build/detour" BEFORE_BIN= OUT="$BENCH/out"
RUN=$OUT/instr

need_tools valgrind callgrind_control
need_detour
bench_begin
case $SCENARIO in
a)
	RULES=$RUN/one.rules PROBE=/old
	printf '/old /new 307\n' >"$RULES"
	;;
b)
	RULES=$OUT/rules-$NRULES.rules PROBE=/r/0
	if [ ! -s "$RULES" ]; then
		/usr/bin/python3 "$BENCH/gen_rules.py" "$NRULES" "$RULES" "$RULES.map" ||
			die "gen_rules.py failed"
	fi
	;;
*) die "SCENARIO is a or b" ;;
esac

# The client: N requests, DEPTH at a time, each batch read whole before the next is sent.
cat >"$RUN/client.py" <<'EOF'
import random, socket, sys
port, n, depth, nrules = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
extra = sys.argv[5].encode().decode("unicode_escape") if len(sys.argv) > 5 else ""
rng = random.Random(1)
def path():
    return "/old" if nrules == 0 else "/r/%d" % rng.randrange(nrules)
status = b"HTTP/1.1 307" if nrules == 0 else b"HTTP/1.1 301"
s = socket.create_connection(("127.0.0.1", port))
for _ in range(n // depth):
    batch = "".join("GET %s HTTP/1.1\r\nHost: bench\r\n%s\r\n" % (path(), extra)
                    for _ in range(depth))
    s.sendall(batch.encode())
    got = b""
    while got.count(status) < depth:
        data = s.recv(65536)
        if not data:
            sys.exit("server closed the connection")
        got += data
s.close()
EOF

# count NAME BIN: prints the instructions per request of BIN.
count() {
	local name=$1 bin=$2 pid conf=$RUN/$1.conf out=$RUN/callgrind.$1
	pick_port
	printf 'listen 127.0.0.1:%s\nworkers 1\nrules %s\naccess-log off\nstats %s\nstate-dir %s\n' \
		"$PORT" "$RULES" "$STATS" "$RUN/var-$name" >"$conf"
	printf '%b\n' "$CONF_EXTRA" >>"$conf"
	valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" serve -c "$conf" \
		>"$RUN/$name.log" 2>&1 &
	pid=$!
	track "$pid"
	wait_answer "$pid" "$PORT" "$PROBE" 600 "$(now_us)" >/dev/null || die "$name did not start"
	/usr/bin/python3 "$RUN/client.py" "$PORT" $((DEPTH * 100)) "$DEPTH" "$NR" "${REQ_EXTRA:-}" || die "$name: client failed"
	callgrind_control -z "$pid" >/dev/null 2>&1 || die "callgrind_control failed"
	/usr/bin/python3 "$RUN/client.py" "$PORT" "$N" "$DEPTH" "$NR" "${REQ_EXTRA:-}" || die "$name: client failed"
	callgrind_control -d "$pid" >/dev/null 2>&1 || die "callgrind_control failed"
	stop_pid "$pid"
	awk -v n="$N" '/^summary:/ { printf "%.1f\n", $2 / n; exit }' "$out.1"
}

NR=0
[ "$SCENARIO" = b ] && NR=$NRULES
after=$(count detour "$DETOUR_BIN")
printf 'scenario %s\ndetour  %s instructions/request (%s)\n' "$SCENARIO" "$after" "$DETOUR_BIN"
if [ -n "$BEFORE_BIN" ]; then
	before=$(count before "$BEFORE_BIN")
	printf 'before  %s instructions/request (%s)\n' "$before" "$BEFORE_BIN"
	awk -v a="$after" -v b="$before" 'BEGIN { printf "detour/before %.3fx\n", a / b }'
fi
