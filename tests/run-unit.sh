#!/bin/sh
# Runs every cmocka unit-test binary in $1 that has a source in tests/unit/ (a binary left in
# the build directory by a test that was renamed or removed is not run); fails if any fails.
set -u
dir=$1
fail=0
n=0
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	[ -f "tests/unit/$(basename "$t").c" ] || continue
	n=$((n + 1))
	if ! "$t"; then
		echo "unit: $t FAILED" >&2
		fail=$((fail + 1))
	fi
done
echo "unit: $n test programs, $fail failed"
[ "$fail" -eq 0 ]
