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
