#!/bin/sh
# Runs every cmocka unit-test binary in $1; fails if any fails.
set -u
dir=$1
fail=0
n=0
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	if ! "$t"; then
		echo "unit: $t FAILED" >&2
		fail=$((fail + 1))
	fi
done
echo "unit: $n test programs, $fail failed"
[ "$fail" -eq 0 ]
