#!/usr/bin/env bash
# ctest's runner for weft_stress: runs it with the given arguments, then prints its exit status
# ("stress exit status N") after its output for the tests' regular expressions (which alone
# would ignore it). With --inject-loss/--inject-duplicate it also checks that the FAIL line
# names the very item the stress says it dropped or put twice ("checker named pX#Y").
#   stress_test.sh PATH/TO/weft_stress ARGS...
set -u
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" | tee "$out"
status=${PIPESTATUS[0]}
injected=$(sed -n 's/^stress: injected: \(dropped\|put\) \(p[0-9]*#[0-9]*\).*/\2/p' "$out" | head -n1)
if [[ -n $injected ]]; then
    if grep '^stress: FAIL' "$out" | grep -q -- "$injected;"; then
        echo "stress_test: the checker named $injected"
    else
        echo "stress_test: the checker did not name $injected"
    fi
fi
echo "stress exit status $status"
