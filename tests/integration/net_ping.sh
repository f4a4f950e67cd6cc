#!/usr/bin/env bash
# virtio-net end to end: the net payload answers ARP and ping over a tap that
# the VMM creates inside a private network namespace (198.18.0.0/15 only).
# The host sees the 5 replies, the guest counts 5 pings and exits 0, --stats
# shows the traffic, and the VMM's tap disappears with it.
. "$(dirname "$0")/lib.bash"
need_kvm
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing (no tun module)"
command -v ip >/dev/null || skip "ip (iproute2) is not installed"
command -v ping >/dev/null || skip "ping (iputils-ping) is not installed"
NETNS=$ROOT/scripts/netns-tap.sh
NS=vmmtest-ping-$$
"$NETNS" create "$NS" 2>"$TMP/ns.err" || skip "cannot create a network namespace: $(head -n1 "$TMP/ns.err")"
trap 'kill $pid 2>/dev/null; "$NETNS" destroy "$NS"; rm -rf "$TMP"' EXIT
pid=

timeout --kill-after=5 90 "$NETNS" exec "$NS" "$VMM" --kernel "$FW/net.elf" \
	--net tap=vmmtap0 --cmdline "ip=198.18.0.2 count=5" --stats \
	</dev/null >"$TMP/out" 2>"$TMP/err" &
pid=$!
for _ in $(seq 300); do
	grep -q 'net: ready' "$TMP/out" && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
grep -q 'net: ready 52:54:00:12:34:56 198.18.0.2' "$TMP/out" || {
	cat "$TMP/out" "$TMP/err"
	fail "guest never became ready"
}
"$NETNS" configure "$NS" vmmtap0 198.18.0.1/24 10 || fail "cannot configure vmmtap0"
"$NETNS" exec "$NS" ping -c 5 -W 5 198.18.0.2 >"$TMP/ping" 2>&1
ping_status=$?
wait $pid
status=$?
pid=
echo "--- ping (exit $ping_status)"
cat "$TMP/ping"
echo "--- vmm (exit $status)"
cat "$TMP/out" "$TMP/err"
grep -q '5 packets transmitted, 5 received' "$TMP/ping" || fail "ping did not get 5 replies"
expect_status 0
expect_out "net: answered 5 pings"
# --stats: one line per direction, every ping in and out, no drops.
stats=$(cat "$TMP/out" "$TMP/err")
grep -q '^virtio-net0 (tap vmmtap0) 52:54:00:12:34:56$' <<<"$stats" || fail "no virtio-net stats header"
rx=$(grep -E '^  rx  packets' <<<"$stats") || fail "no rx stats line"
tx=$(grep -E '^  tx  packets' <<<"$stats") || fail "no tx stats line"
[ "$(awk '{print $3}' <<<"$tx")" -ge 6 ] || fail "tx packets: $tx (5 replies + 1 ARP expected)"
[ "$(awk '{print $3}' <<<"$rx")" -ge 6 ] || fail "rx packets: $rx (5 requests + 1 ARP expected)"
[ "$(awk '{print $7}' <<<"$tx")" -eq 0 ] || fail "tx drops: $tx"
# Not persistent: the tap goes away with the VMM.
"$NETNS" exec "$NS" ip link show vmmtap0 >/dev/null 2>&1 && fail "vmmtap0 outlived the VMM"
echo PASS
