#!/usr/bin/env bash
# Run test groups and print one closing line: "N passed, N failed, N skipped".
#   unit         every build/tests/test_* (cmocka; counted per test case)
#   integration  every tests/integration/*.sh (real guests on /dev/kvm)
#   e2e          every tests/e2e/*.sh (Linux guests; slow)
# A script exits 0 to pass, 77 to skip (and says why), anything else fails.
set -u
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
failures=()
log_dir=build/test-logs
mkdir -p "$log_dir"

run_unit() {
	local t out p f s
	for t in build/tests/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1)
		local rc=$?
		printf '%s\n' "$out" >"$log_dir/$(basename "$t").log"
		p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
		f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
		s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1 # crashed (sanitizer, signal) before cmocka could count
		fi
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		if [ "$f" -ne 0 ]; then
			failures+=("$t")
			printf 'FAIL %s (%d failed)\n' "$t" "$f"
			printf '%s\n' "$out" | grep -E 'FAILED|ERROR|error|Sanitizer|runtime error' | head -20 | sed 's/^/    /'
		else
			printf 'ok   %s (%d passed%s)\n' "$t" "$p" "$([ "$s" -gt 0 ] && echo ", $s skipped")"
		fi
	done
}

run_scripts() {
	local dir=$1 t rc
	for t in "$dir"/*.sh; do
		[ -f "$t" ] || continue
		local name
		name=$(basename "$t" .sh)
		[ -t 1 ] && printf '...  %s\r' "$t"
		bash "$t" >"$log_dir/$name.log" 2>&1
		rc=$?
		case $rc in
		0) passed=$((passed + 1)); printf 'ok   %s\n' "$t" ;;
		77)
			skipped=$((skipped + 1))
			printf 'SKIP %s: %s\n' "$t" "$(grep -m1 '^SKIP' "$log_dir/$name.log" | sed 's/^SKIP:* *//')"
			;;
		*)
			failed=$((failed + 1)); failures+=("$t")
			printf 'FAIL %s (exit %d); last lines of %s:\n' "$t" "$rc" "$log_dir/$name.log"
			tail -n 25 "$log_dir/$name.log" | sed 's/^/    /'
			;;
		esac
	done
}

for group in "$@"; do
	case $group in
	unit) run_unit ;;
	integration) run_scripts tests/integration ;;
	e2e) run_scripts tests/e2e ;;
	*) echo "run.sh: unknown group $group" >&2; exit 2 ;;
	esac
done

echo
[ ${#failures[@]} -eq 0 ] || printf 'failed: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
