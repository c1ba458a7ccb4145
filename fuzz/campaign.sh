#!/bin/sh
# A fuzzing campaign (docs/internals/fuzzing.md): every target (or those
# named) runs until RUNS executions or SECONDS of one core, whichever comes
# first, JOBS targets at a time, each over a corpus of its own
# (build/fuzz/campaign/NAME/corpus, seeded from fuzz/corpus/NAME). Prints a
# markdown table: executions, execs/s, coverage (libFuzzer's last "cov:",
# edges) and the outcome; an input that crashed a target (crash-, leak-,
# timeout-, oom-) is copied into fuzz/regression/NAME/, which `make test`
# replays, and the script exits 1.
#
#   fuzz/campaign.sh [-n RUNS] [-t SECONDS] [-j JOBS] [NAME...]
#
# Defaults: 10,000,000 executions, 7200 s (the bar: ten million, or
# two hours of a core for the slow targets), JOBS = the number of cores.
# Build the targets first (make fuzz). admin, import, lint and rulefile run
# with -entropic_feature_frequency_threshold=16: the entropic schedule's
# bookkeeping scans its list of rare features (every feature seen fewer
# than 255 times by default) for each feature an input hits, which for
# these targets (thousands of features an input, few inputs a second) was
# half their time or more (docs/internals/fuzzing.md).
set -eu

runs=10000000
secs=7200
jobs=$(nproc 2>/dev/null || echo 1)
while getopts n:t:j: o; do
	case $o in
	n) runs=$OPTARG ;;
	t) secs=$OPTARG ;;
	j) jobs=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS] [-t SECONDS] [-j JOBS] [NAME...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then
	for f in fuzz/fuzz_*.c; do
		n=${f#fuzz/fuzz_}
		set -- "$@" "${n%.c}"
	done
fi

top=build/fuzz/campaign
mkdir -p "$top"
for name in "$@"; do
	[ -x "build/fuzz/fuzz_$name" ] || { echo "campaign: build/fuzz/fuzz_$name missing (make fuzz)" >&2; exit 2; }
done

# One target: its log and a result line in $top/NAME/result.
run_one() {
	name=$1
	dir=$top/$name
	rm -rf "$dir/artifacts" "$dir/result"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	extra=
	case $name in admin | import | lint | rulefile) extra=-entropic_feature_frequency_threshold=16 ;; esac
	seeds=
	[ -d "fuzz/corpus/$name" ] && seeds=fuzz/corpus/$name
	start=$(date +%s)
	rc=0
	# shellcheck disable=SC2086
	"build/fuzz/fuzz_$name" -runs="$runs" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/" $extra "$dir/corpus" $seeds >"$dir/log" 2>&1 || rc=$?
	took=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2)
	outcome=clean
	found=$(ls "$dir/artifacts" 2>/dev/null | head -1)
	if [ -n "$found" ] || [ "$rc" -ne 0 ]; then
		outcome="FOUND ${found:-exit status $rc}"
		if [ -n "$found" ]; then
			mkdir -p "fuzz/regression/$name"
			cp "$dir/artifacts/"* "fuzz/regression/$name/"
		fi
	fi
	echo "$name|${execs:-?}|${rate:-?}|${cov:-?}|${took}|$outcome" >"$dir/result"
}

# Parallel, JOBS at a time: the shell's own job control, no xargs -P
# quoting.
running=0
for name in "$@"; do
	run_one "$name" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

echo "| target | executions | execs/s | coverage (edges) | seconds | outcome |"
echo "|---|--:|--:|--:|--:|---|"
status=0
for name in "$@"; do
	r=$(cat "$top/$name/result" 2>/dev/null || echo "$name|?|?|?|?|no result")
	echo "$r" | awk -F'|' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }'
	case $r in *FOUND* | *"no result"*) status=1 ;; esac
done
exit $status
