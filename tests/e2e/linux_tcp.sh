#!/usr/bin/env bash
# virtio-net carrying a bulk TCP stream into Linux user space: the guest
# /init (vmm.test=tcpsink) listens on 198.18.0.2:5001, the host side of the
# tap (inside a network namespace this test creates) sends it 300 MiB of
# random data, and /init reports the byte count and FNV-1a 64 hash of what
# it received, then powers off (exit status 0). Both must match the host's
# own (build/tests/fnv64).
# Needs guest user space making system calls: real VT-x/AMD-V only; kvm_pvm
# hosts skip.
. "$(dirname "$0")/../integration/lib.bash"
need_kvm
is_pvm && skip "kvm_pvm host: guest user space cannot make system calls; the TCP transfer test needs real VT-x/AMD-V"
need_guest
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing (no tun module)"
command -v ip >/dev/null || fail "ip missing (iproute2)"
SIZE_MIB=300
FNV64=$ROOT/build/tests/fnv64
[ -x "$FNV64" ] || make -C "$ROOT" -s build/tests/fnv64 >/dev/null || fail "cannot build build/tests/fnv64"
NETNS=$ROOT/scripts/netns-tap.sh
NS=vmm-e2e-tcp-$$
"$NETNS" create "$NS" 2>"$TMP/ns.err" || skip "cannot create a network namespace: $(head -n1 "$TMP/ns.err")"
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; "$NETNS" destroy "$NS"; rm -rf "$TMP"' EXIT

head -c ${SIZE_MIB}M /dev/urandom >"$TMP/data" || fail "cannot write $SIZE_MIB MiB to $TMP"
read -r want_bytes want_hash < <("$FNV64" <"$TMP/data")
[ "$want_bytes" = $((SIZE_MIB * 1024 * 1024)) ] || fail "fnv64 counted $want_bytes bytes"
echo "--- sending $want_bytes bytes, fnv64 $want_hash"

"$NETNS" exec "$NS" "$VMM" --kernel "$GUEST/vmlinux" --initrd "$GUEST/initramfs.cpio" \
	--net tap=vmmtap0 --stats \
	--cmdline "vmm.test=tcpsink ip=198.18.0.2::198.18.0.1:255.255.255.0::eth0:off" \
	</dev/null >"$TMP/out" 2>"$TMP/err" &
pid=$!
"$NETNS" configure "$NS" vmmtap0 198.18.0.1/24 30 || { cat "$TMP/out" "$TMP/err"; fail "cannot configure vmmtap0"; }

# wait_for SECONDS PATTERN: until the guest prints PATTERN or vmm exits.
wait_for() {
	local t=$1 pat=$2 i
	for ((i = 0; i < t * 10; i++)); do
		grep -qE -- "$pat" "$TMP/out" && return 0
		kill -0 $pid 2>/dev/null || break
		((i % 300 == 299)) && echo "... $(((i + 1) / 10))s: $(tail -n 1 "$TMP/out" | tr -d '\r' | cut -c1-100)"
		sleep 0.1
	done
	grep -qE -- "$pat" "$TMP/out"
}
dump() { echo "--- output:"; tr -d '\r' <"$TMP/out" | tail -n 60; echo "--- stderr:"; cat "$TMP/err"; }

wait_for 300 'vmm-guest-init: tcp listening 5001' || { dump; fail "the guest never listened on TCP 5001"; }
grep -q 'IP-Config: Complete' "$TMP/out" || { dump; fail "no IP-Config in the guest"; }

start=$(date +%s.%N)
timeout --kill-after=5 600 "$NETNS" exec "$NS" \
	bash -c 'cat "$1" >/dev/tcp/198.18.0.2/5001' _ "$TMP/data" 2>"$TMP/send.err"
send_status=$?
end=$(date +%s.%N)
[ $send_status -eq 0 ] || { cat "$TMP/send.err"; dump; fail "sending to 198.18.0.2:5001 failed (status $send_status)"; }
echo "--- sent in $(echo "$start $end" | awk -v b="$want_bytes" '{ d = $2 - $1; printf "%.1f s (%.0f MiB/s)", d, b / 1048576 / (d > 0 ? d : 1e-9) }')"

wait_for 120 'vmm-guest-init: tcp bytes=' || { dump; fail "the guest never reported what it received"; }

# The guest powers off (ACPI S5): vmm must end by itself with status 0.
for ((i = 0; i < 600; i++)); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
	kill -TERM $pid
	wait $pid
	pid=
	dump
	fail "vmm did not exit after the guest powered off"
fi
wait $pid
status=$?
pid=
got=$(tr -d '\r' <"$TMP/out" | grep -oE 'vmm-guest-init: tcp bytes=[0-9]+ fnv64=[0-9a-f]{16}' | tail -n 1)
echo "--- guest: $got"
echo "--- host:  bytes=$want_bytes fnv64=$want_hash (exit status $status)"
cat "$TMP/err"
[ -n "$got" ] || { dump; fail "malformed result line from the guest"; }
got_bytes=${got#*bytes=}
got_bytes=${got_bytes%% *}
got_hash=${got##*fnv64=}
[ "$got_bytes" = "$want_bytes" ] || fail "the guest received $got_bytes bytes, expected $want_bytes"
[ "$got_hash" = "$want_hash" ] || fail "data corrupted: guest fnv64 $got_hash, host $want_hash"
expect_status 0
echo PASS
