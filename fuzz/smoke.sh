#!/bin/sh
# Runs each fuzz target briefly over its corpus and regression inputs.
# FUZZ_SECONDS (default 10) bounds each run.
set -eu
secs=${FUZZ_SECONDS:-10}
for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz_}
	corpus=fuzz/corpus/$name
	regress=fuzz/regression/$name
	work=build/fuzz/work-$name
	mkdir -p "$work"
	[ -d "$regress" ] && [ -n "$(ls -A "$regress" 2>/dev/null)" ] && "$bin" "$regress"/*
	dirs="$work"
	[ -d "$corpus" ] && dirs="$dirs $corpus"
	echo "fuzz: $name for ${secs}s"
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -print_final_stats=0 $dirs 2>build/fuzz/$name.log ||
		{ tail -40 build/fuzz/$name.log; exit 1; }
done
echo "fuzz-smoke: all targets ran clean"
