#!/usr/bin/env bash
# The benchmark harness runs end to end on a tiny iteration count and writes
# well-formed JSON with every row (scripts/bench.sh --quick checks it).
# Not a timed test: no number is compared with anything.
. "$(dirname "$0")/lib.bash"
need_kvm
"$ROOT/scripts/bench.sh" --quick || fail "bench.sh --quick failed"
echo PASS
