#!/usr/bin/env bash
# virtio-net under Linux: the kernel configures eth0 itself (ip=), and its
# own IP stack answers pings from the host through the tap, inside a network
# namespace this test creates: a run of pings, sizes up to 64 KiB (IP
# fragments), and a flood, all with no loss. /spin is init (no system calls),
# so this runs the same on kvm_pvm hosts and on real hardware.
. "$(dirname "$0")/../integration/lib.bash"
need_kvm
need_guest
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing (no tun module)"
command -v ping >/dev/null || fail "ping missing (iputils-ping)"
NETNS=$ROOT/scripts/netns-tap.sh
NS=vmm-e2e-net-$$
"$NETNS" create "$NS" 2>"$TMP/ns.err" || skip "cannot create a network namespace: $(head -n1 "$TMP/ns.err")"
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; "$NETNS" destroy "$NS"; rm -rf "$TMP"' EXIT

"$NETNS" exec "$NS" "$VMM" --kernel "$GUEST/vmlinux" --initrd "$GUEST/initramfs.cpio" \
	--net tap=vmmtap0 --stats \
	--cmdline "rdinit=/spin ip=198.18.0.2::198.18.0.1:255.255.255.0::eth0:off" \
	</dev/null >"$TMP/out" 2>"$TMP/err" &
pid=$!
for i in $(seq 9000); do
	grep -q 'Run /spin as init process' "$TMP/out" && break
	kill -0 $pid 2>/dev/null || break
	((i % 300 == 0)) && echo "... $((i / 10))s: $(tail -n 1 "$TMP/out" | cut -c1-100)"
	sleep 0.1
done
grep -q 'Run /spin as init process' "$TMP/out" || { cat "$TMP/out" "$TMP/err"; fail "the kernel never started"; }
grep -q 'IP-Config: Complete' "$TMP/out" || { cat "$TMP/out"; fail "no IP-Config in the guest"; }
"$NETNS" configure "$NS" vmmtap0 198.18.0.1/24 10 || fail "cannot configure vmmtap0"

# pings NAME COUNT ARGS...: every echo request 1..COUNT must be answered.
# ping's own loss figure also counts requests still in flight when it stops
# (and with -w it keeps sending until COUNT replies came), so check the
# sequence numbers of the replies instead.
pings() {
	local name=$1 count=$2 seq
	shift 2
	"$NETNS" exec "$NS" ping -c "$count" -w 120 "$@" 198.18.0.2 >"$TMP/ping" 2>&1
	echo "--- ping -c $count $* : $(grep -E 'packets transmitted' "$TMP/ping")"
	for seq in $(seq "$count"); do
		grep -q "icmp_seq=$seq " "$TMP/ping" && continue
		tail -n 5 "$TMP/ping"
		kill -TERM $pid
		wait $pid
		pid=
		echo "--- vmm statistics"
		cat "$TMP/err"
		fail "$name: echo request $seq was never answered"
	done
}
pings "basic" 10 -i 0.2
# One big datagram in flight at a time: the emulated guest takes ~0.5 s to
# reassemble and answer 64 KiB here.
for size in 1472 1473 4000 9000 32000 65000; do
	pings "size $size" 3 -i 1.5 -s $size
done
# A flood: adaptive interval with 4 requests kept in flight.
pings "flood" 300 -A -l 4

kill -TERM $pid
wait $pid
pid=
cat "$TMP/out" | grep -E "virtio|IP-Config|eth0" | head -20
cat "$TMP/err"
grep -q 'rx  packets' "$TMP/err" || fail "no virtio-net statistics"
echo PASS
