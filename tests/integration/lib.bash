# Shared by the integration and e2e tests (sourced, not run).
# Tests exit 0 to pass, 1 to fail, 77 to skip, printing "SKIP: why".
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMM=$ROOT/build/vmm
FW=$ROOT/build/guest-firmware
TMP=$(mktemp -d /tmp/vmm-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

need_kvm() {
	[ -e /dev/kvm ] || skip "/dev/kvm is missing: no KVM on this host"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not accessible to $(id -un)"
}

is_pvm() { [ -d /sys/module/kvm_pvm ]; }

# run_vmm TIMEOUT ARGS...: runs vmm, output in $TMP/out, status in $status.
run_vmm() {
	local t=$1
	shift
	timeout --kill-after=5 "$t" "$VMM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	status=$?
	echo "--- vmm $* (exit $status)"
	cat "$TMP/out" "$TMP/err" | head -n 200
}

expect_status() { [ "$status" -eq "$1" ] || fail "expected exit status $1, got $status"; }
expect_out() { grep -qF -- "$1" "$TMP/out" || fail "output lacks '$1'"; }
expect_err() { grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1'"; }

# run_until TIMEOUT PATTERN ARGS...: start vmm, wait until its output has a
# line matching PATTERN (grep -E) or it exits or TIMEOUT seconds pass.
# Sets $found (1/0) and $status (the exit status, or "running" if we stopped
# it). Output in $TMP/out and $TMP/err. Shows progress every 30 s.
run_until() {
	local t=$1 pat=$2 i
	shift 2
	"$VMM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
	local pid=$!
	found=0 status=running
	echo "--- vmm $* (waiting up to ${t}s for /$pat/)"
	for ((i = 0; i < t * 10; i++)); do
		if grep -qE -- "$pat" "$TMP/out"; then
			found=1
			break
		fi
		if ! kill -0 $pid 2>/dev/null; then
			wait $pid
			status=$?
			grep -qE -- "$pat" "$TMP/out" && found=1
			break
		fi
		((i % 300 == 299)) && echo "... $(((i + 1) / 10))s: $(tail -n 1 "$TMP/out" | cut -c1-100)"
		sleep 0.1
	done
	if [ "$status" = running ]; then
		# Let the guest finish what it is doing (an exit status) briefly.
		for ((i = 0; i < 20; i++)); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
		if kill -0 $pid 2>/dev/null; then
			kill -TERM $pid 2>/dev/null
			wait $pid
		else
			wait $pid
			status=$?
		fi
	fi
	echo "--- output (status $status):"
	cat "$TMP/out"
	echo "--- stderr:"
	cat "$TMP/err"
}

need_guest() {
	for f in vmlinux bzImage initramfs.cpio; do
		[ -f "$ROOT/build/guest/$f" ] || fail "build/guest/$f missing: run make guest"
	done
	GUEST=$ROOT/build/guest
}
