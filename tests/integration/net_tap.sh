#!/usr/bin/env bash
# --net tap=... set-up: clear errors for a bad name, a busy tap, a name that
# is not a tap; a persistent tap (made by scripts/netns-tap.sh) is reused and
# survives the VMM. Everything happens in a private network namespace.
# (A missing /dev/net/tun cannot be faked here: not tested.)
. "$(dirname "$0")/lib.bash"

# A name over 15 characters is a command-line error, before anything opens.
run_vmm 10 --kernel /nonexistent --net tap=abcdefghijklmnop
expect_status 2
expect_err "tap name must be 1 to 15 characters"

need_kvm
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing (no tun module)"
command -v ip >/dev/null || skip "ip (iproute2) is not installed"
command -v ping >/dev/null || skip "ping (iputils-ping) is not installed"
NETNS=$ROOT/scripts/netns-tap.sh
NS=vmmtest-tap-$$
"$NETNS" create "$NS" 2>"$TMP/ns.err" || skip "cannot create a network namespace: $(head -n1 "$TMP/ns.err")"
pid=
trap 'kill $pid 2>/dev/null; "$NETNS" destroy "$NS"; rm -rf "$TMP"' EXIT
in_ns() { "$NETNS" exec "$NS" "$@"; }

# Outside 198.18.0.0/15: the helper refuses.
"$NETNS" tap "$NS" bad0 10.0.0.1/24 2>"$TMP/e" && fail "netns-tap.sh accepted 10.0.0.1"
grep -q 'outside 198.18.0.0/15' "$TMP/e" || fail "netns-tap.sh: unclear refusal: $(cat "$TMP/e")"

# A persistent tap, configured before the VMM starts, is reused.
"$NETNS" tap "$NS" ptap0 198.18.0.1/24 || fail "cannot create ptap0"
timeout --kill-after=5 60 "$NETNS" exec "$NS" "$VMM" --kernel "$FW/net.elf" \
	--net tap=ptap0,mac=52:54:00:ab:cd:ef --cmdline "ip=198.18.0.3 count=2" \
	</dev/null >"$TMP/out" 2>"$TMP/err" &
pid=$!
for _ in $(seq 300); do
	grep -q 'net: ready' "$TMP/out" && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
grep -q 'net: ready 52:54:00:ab:cd:ef 198.18.0.3' "$TMP/out" || {
	cat "$TMP/out" "$TMP/err"
	fail "guest on ptap0 never became ready"
}

# While that VMM holds ptap0, a second one is told the tap is busy.
timeout 20 "$NETNS" exec "$NS" "$VMM" --kernel "$FW/net.elf" --net tap=ptap0 \
	</dev/null >"$TMP/out2" 2>"$TMP/err2"
st2=$?
cat "$TMP/err2"
[ $st2 -eq 1 ] || fail "second VMM on a busy tap: exit $st2, expected 1"
grep -q 'tap ptap0: busy' "$TMP/err2" || fail "no 'busy' message"

in_ns ping -c 2 -W 5 198.18.0.3 >"$TMP/ping" 2>&1
cat "$TMP/ping"
wait $pid
status=$?
pid=
cat "$TMP/out" "$TMP/err"
grep -q '2 packets transmitted, 2 received' "$TMP/ping" || fail "no replies over the persistent tap"
expect_status 0
in_ns ip link show ptap0 >/dev/null 2>&1 || fail "the persistent tap did not survive the VMM"

# An interface that exists but is not a tap.
timeout 20 "$NETNS" exec "$NS" "$VMM" --kernel "$FW/net.elf" --net tap=lo \
	</dev/null >"$TMP/out3" 2>"$TMP/err3"
st3=$?
cat "$TMP/err3"
[ $st3 -eq 1 ] || fail "--net tap=lo: exit $st3, expected 1"
grep -q 'tap lo: exists but is not a tap' "$TMP/err3" || fail "no 'not a tap' message"
echo PASS
