#!/usr/bin/env bash
# virtio-net I/O hook (see scripts/bench.sh): net.elf (its own virtio-net
# driver, polling, quiet) answers pings from the host side of its tap, inside
# a private network namespace created here and always destroyed (addresses
# from 198.18.0.0/15 only). vmm and QEMU (vhost off; vhost on when
# /dev/vhost-net exists) run alternately, BENCH_IO_ROUNDS (default 2) rounds
# each, the median reported. Rows: the median ping round trip (ping -c 50
# -i 0.02) and a flood ping rate (ping -f: the next request goes out as soon
# as a reply is back, so it is round-trip bound: replies/s, not bandwidth),
# and the same with 1400-byte pings as Mbit/s of reply frames (also
# round-trip bound, one packet in flight: a lower bound, not link bandwidth).
# UDP throughput, each way, in separate boots: net.elf udpblast=N sends
# BENCH_NET_UDP_TX (default 100000) datagrams of BENCH_NET_UDP_SIZE (1400)
# bytes to build/tests/udpsink on the host side (rate from the host's count
# and first-to-last time); build/tests/udpblast sends BENCH_NET_UDP_RX
# (default 300000) unpaced datagrams to net.elf udpsink=N (rate from the
# guest's count and first-to-last time, plus the delivered fraction: the
# rest is dropped on the way, mostly at the tap queue).
# Writes $BENCH_OUT/io-net.json; a note and no rows when it cannot run.
set -uo pipefail
: "${BENCH_OUT:?}" "${VMM:?}" "${ROOT:?}"
cd "$ROOT" || exit 1
. "$ROOT/scripts/bench/io/lib.sh"
ROUNDS=${BENCH_IO_ROUNDS:-3}
LAT_N=${BENCH_NET_PINGS:-50}
FLOOD_N=${BENCH_NET_FLOOD:-1000}
BIG_N=${BENCH_NET_FLOOD_BIG:-150}
UDP_TX_N=${BENCH_NET_UDP_TX:-100000}
UDP_RX_N=${BENCH_NET_UDP_RX:-300000}
UDP_SIZE=${BENCH_NET_UDP_SIZE:-1400}
UDPSINK=$ROOT/build/tests/udpsink
UDPBLAST=$ROOT/build/tests/udpblast
ELF=$FW/net.elf
NETNS=$ROOT/scripts/netns-tap.sh
TAP=benchtap0
GUEST=198.18.0.2
HOSTADDR=198.18.0.1/24
mkdir -p "$BENCH_OUT"
JSON=$BENCH_OUT/io-net.json
TITLE="virtio-net (net.elf answering ping on a tap, polled)"

skip() {
	jq -n --arg title "$TITLE" --arg note "not measured: $1" '{title: $title, note: $note, rows: []}' >"$JSON"
	echo "net: skipped: $1" >&2
	exit 0
}
[ -f "$ELF" ] || skip "build/guest-firmware/net.elf missing"
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
command -v ip >/dev/null || skip "ip (iproute2) is not installed"
command -v ping >/dev/null || skip "ping (iputils-ping) is not installed"
UDP=1
for t in udpsink udpblast; do
	[ -x "$ROOT/build/tests/$t" ] || make -s -C "$ROOT" "build/tests/$t" >/dev/null 2>&1 || UDP=0
	[ -x "$ROOT/build/tests/$t" ] || UDP=0
done
[ "$UDP" = 1 ] || echo "net: build/tests/udpsink or udpblast missing: no UDP rows" >&2
TMP=$(mktemp -d)
NS=vmmbench-net-$$
pid=
spid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	"$NETNS" destroy "$NS" 2>/dev/null
	rm -rf "$TMP"
}
"$NETNS" create "$NS" 2>"$TMP/ns.err" || {
	msg=$(head -n1 "$TMP/ns.err")
	rm -rf "$TMP"
	skip "cannot create a network namespace: $msg"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { "$NETNS" exec "$NS" "$@"; }

# boot vmm|qemu|qemu-vhost CMDLINE: start net.elf in the background (output
# in $TMP/out, $TMP/err), sets $pid. Runs in this shell.
boot() {
	local kind=$1 cmd=$2
	# Empty before the start: the redirect below happens in the child, later.
	: >"$TMP/out"
	: >"$TMP/err"
	case $kind in
	vmm)
		timeout --kill-after=5 120 "$NETNS" exec "$NS" "$VMM" --kernel "$ELF" \
			--net tap=$TAP --cmdline "$cmd" </dev/null >"$TMP/out" 2>"$TMP/err" &
		;;
	qemu*)
		local vh=off
		[ "$kind" = qemu-vhost ] && vh=on
		# shellcheck disable=SC2046
		timeout --kill-after=5 120 "$NETNS" exec "$NS" "$QEMU" $(qemu_base) -kernel "$ELF" \
			-append "$cmd" \
			-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=$vh" \
			-device virtio-net-device,netdev=n0,mac=52:54:00:12:34:56 \
			</dev/null >"$TMP/out" 2>"$TMP/err" &
		;;
	esac
	pid=$!
}

# stop: end the guest (if still running) and wait until its tap is gone.
stop() {
	local i
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	pid=
	# The tap goes with its owner; wait so the next run can create it anew.
	for ((i = 0; i < 50; i++)); do
		in_ns ip link show $TAP >/dev/null 2>&1 || break
		sleep 0.1
	done
}

# wait_ready: until net.elf printed its ready line (30 s), or it died.
wait_ready() {
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q 'net: ready' "$TMP/out" && return 0
		kill -0 $pid 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# wait_exit SECONDS: until the guest ends by itself; 1 on timeout.
wait_exit() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		kill -0 $pid 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# run_one vmm|qemu|qemu-vhost: boot, configure, measure; sets RES to
# "RTT_US PPS MBITS" (each "-" on failure). Runs in this shell (it owns $pid).
run_one() {
	local kind=$1 count=$((LAT_N + FLOOD_N + BIG_N + 100)) rtt pps big i
	boot "$kind" "ip=$GUEST count=$count poll quiet"
	for ((i = 0; i < 300; i++)); do
		grep -q 'net: ready' "$TMP/out" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	rtt=- pps=- big=-
	rm -f "$TMP/cfg" "$TMP/warm"
	if grep -q 'net: ready' "$TMP/out" &&
		"$NETNS" configure "$NS" $TAP $HOSTADDR 10 >"$TMP/cfg" 2>&1 &&
		in_ns ping -c 3 -i 0.2 -W 5 $GUEST >"$TMP/warm" 2>&1; then
		in_ns ping -c "$LAT_N" -i 0.02 -W 2 $GUEST >"$TMP/lat" 2>&1
		rtt=$(sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$TMP/lat" | awk '{print $1 * 1000}')
		# shellcheck disable=SC2086
		rtt=$(median $rtt)
		[ "$rtt" = null ] && rtt=-
		in_ns ping -f -c "$FLOOD_N" -w 60 $GUEST >"$TMP/flood" 2>&1
		pps=$(sed -n 's/.* \([0-9]*\) received.*, time \([0-9]*\)ms.*/\1 \2/p' "$TMP/flood" |
			awk '$2 > 0 {printf "%.0f\n", $1 * 1000 / $2}')
		[ -n "$pps" ] || pps=-
		in_ns ping -f -s 1400 -c "$BIG_N" -w 60 $GUEST >"$TMP/big" 2>&1
		big=$(sed -n 's/.* \([0-9]*\) received.*, time \([0-9]*\)ms.*/\1 \2/p' "$TMP/big" |
			awk '$2 > 0 {printf "%.2f\n", $1 * 1442 * 8 / $2 / 1000}')
		[ -n "$big" ] || big=-
	else
		echo "net: $kind: guest not reachable" >&2
		cat "$TMP/out" "$TMP/err" "$TMP/cfg" "$TMP/warm" 2>/dev/null | head -n 30 >&2
	fi
	stop
	RES="$rtt $pps $big"
}

# udp_tx_one KIND: guest -> host. udpsink waits on the host side (bound
# before the address exists), net.elf ARP-resolves 198.18.0.1 once the tap
# is configured and sends UDP_TX_N datagrams. Sets RES to "MBITS PPS" from
# the host's count and first-to-last time ("-" on failure).
udp_tx_one() {
	local kind=$1 mb=- pps=- line
	: >"$TMP/sink"
	in_ns "$UDPSINK" 198.18.0.1 5002 "$UDP_TX_N" 1000 60000 >"$TMP/sink" 2>&1 &
	spid=$!
	boot "$kind" "ip=$GUEST udpblast=$UDP_TX_N size=$UDP_SIZE"
	if wait_ready && "$NETNS" configure "$NS" $TAP $HOSTADDR 10 >"$TMP/cfg" 2>&1 &&
		wait_exit 60 && grep -q 'net: udpblast sent=' "$TMP/out"; then
		wait $spid 2>/dev/null
		spid=
		line=$(awk 'NF == 3 && $1 ~ /^[0-9]+$/' "$TMP/sink" | tail -n1)
		read -r mb pps <<<"$(echo "$line" | awk '$3 > 0 {printf "%.1f %.0f\n", $2 * 8 / $3 / 1e6, $1 / $3}')"
		[ -n "$mb" ] || { mb=- pps=-; }
		echo "net: $kind udpblast: host got $line; $(grep 'net: udpblast' "$TMP/out")" >&2
	else
		echo "net: $kind: udpblast failed" >&2
		cat "$TMP/out" "$TMP/err" "$TMP/cfg" "$TMP/sink" 2>/dev/null | head -n 30 >&2
	fi
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	spid=
	stop
	RES="$mb $pps"
}

# udp_rx_one KIND: host -> guest. udpblast sends UDP_RX_N unpaced datagrams
# to net.elf udpsink=N, which reports 2 s after the last. Sets RES to
# "MBITS PPS FRACTION" from the guest's count ("-" on failure).
udp_rx_one() {
	local kind=$1 mb=- pps=- frac=- g b t
	boot "$kind" "ip=$GUEST udpsink=$UDP_RX_N"
	if wait_ready && "$NETNS" configure "$NS" $TAP $HOSTADDR 10 >"$TMP/cfg" 2>&1 &&
		in_ns "$UDPBLAST" $GUEST 5003 "$UDP_RX_N" "$UDP_SIZE" >"$TMP/blast" 2>&1 &&
		wait_exit 30 && grep -q 'net: udpsink got=' "$TMP/out"; then
		read -r g b t <<<"$(sed -n 's/.*net: udpsink got=\([0-9]*\) bytes=\([0-9]*\) ns=\([0-9]*\).*/\1 \2 \3/p' "$TMP/out")"
		if [ -n "$t" ] && [ "$t" -gt 0 ]; then
			read -r mb pps frac <<<"$(awk -v g="$g" -v b="$b" -v t="$t" -v n="$UDP_RX_N" \
				'BEGIN {printf "%.1f %.0f %.4f\n", b * 8e3 / t, g * 1e9 / t, g / n}')"
		fi
		echo "net: $kind udpsink: host sent $(cat "$TMP/blast"); $(grep 'net: udpsink' "$TMP/out")" >&2
	else
		echo "net: $kind: udpsink failed" >&2
		cat "$TMP/out" "$TMP/err" "$TMP/cfg" "$TMP/blast" 2>/dev/null | head -n 30 >&2
	fi
	stop
	RES="$mb $pps $frac"
}

kinds=(vmm)
note_vhost="vhost-net: /dev/vhost-net missing, not measured"
if [ "$QEMU" != none ]; then
	kinds+=(qemu)
	if [ -c /dev/vhost-net ]; then
		kinds+=(qemu-vhost)
		note_vhost="QEMU measured with vhost=off and vhost=on"
	fi
else
	note_vhost="QEMU not measured"
fi
declare -A RTT PPS BIG UTX UTXP URX URXP URXF
for ((r = 0; r < ROUNDS; r++)); do
	for k in "${kinds[@]}"; do
		run_one "$k"
		read -r a b c <<<"$RES"
		echo "net: round $r $k: rtt ${a} us, flood ${b} replies/s, 1400 B flood ${c} Mbit/s" >&2
		[ "$a" != - ] && RTT[$k]+=" $a"
		[ "$b" != - ] && PPS[$k]+=" $b"
		[ "$c" != - ] && BIG[$k]+=" $c"
		[ "$UDP" = 1 ] || continue
		udp_tx_one "$k"
		read -r a b <<<"$RES"
		udp_rx_one "$k"
		read -r c d e <<<"$RES"
		echo "net: round $r $k: UDP guest->host ${a} Mbit/s ${b} pkt/s, host->guest ${c} Mbit/s ${d} pkt/s (delivered ${e})" >&2
		[ "$a" != - ] && UTX[$k]+=" $a"
		[ "$b" != - ] && UTXP[$k]+=" $b"
		[ "$c" != - ] && URX[$k]+=" $c"
		[ "$d" != - ] && URXP[$k]+=" $d"
		[ "$e" != - ] && URXF[$k]+=" $e"
	done
done
med() { # kind array-name
	local -n arr=$2
	# shellcheck disable=SC2086
	median ${arr[$1]:-}
}
ROWS=$TMP/rows
UDP_NOTE="no UDP rows (build/tests/udpsink or udpblast missing)"
[ "$UDP" = 1 ] && UDP_NOTE="UDP guest→host: net.elf sends $UDP_TX_N datagrams of $UDP_SIZE payload bytes (prebuilt frames, UDP checksum 0, as fast as its 256-entry TX ring allows) to build/tests/udpsink in the namespace; Mbit/s = received payload bytes x 8 / host first-to-last time. UDP host→guest: build/tests/udpblast sends $UDP_RX_N unpaced $UDP_SIZE-byte datagrams, net.elf (256-entry RX ring, polled) counts them; Mbit/s = guest-received payload bytes x 8 / guest first-to-last time (rdtsc); the rest is dropped on the way (tap queue full), the delivered fraction row is received/sent"
{
	row "ping rtt median (56 B, -i 0.02)" "$(med vmm RTT)" "$(med qemu RTT)" "us"
	row "ping -f rate (56 B, 1 in flight)" "$(med vmm PPS)" "$(med qemu PPS)" "replies/s"
	row "ping -f -s 1400 goodput (1 in flight)" "$(med vmm BIG)" "$(med qemu BIG)" "Mbit/s"
	if [ "$UDP" = 1 ]; then
		row "UDP guest→host ($UDP_SIZE-byte datagrams)" "$(med vmm UTX)" "$(med qemu UTX)" "Mbit/s"
		row "UDP guest→host packet rate ($UDP_SIZE B)" "$(med vmm UTXP)" "$(med qemu UTXP)" "datagrams/s"
		row "UDP host→guest ($UDP_SIZE-byte datagrams, host unpaced)" "$(med vmm URX)" "$(med qemu URX)" "Mbit/s"
		row "UDP host→guest packet rate ($UDP_SIZE B)" "$(med vmm URXP)" "$(med qemu URXP)" "datagrams/s"
		row "UDP host→guest delivered fraction" "$(med vmm URXF)" "$(med qemu URXF)" "fraction of sent"
	fi
	if [ -c /dev/vhost-net ] && [ "$QEMU" != none ]; then
		row "ping rtt median, QEMU vhost=on" null "$(med qemu-vhost RTT)" "us"
		row "ping -f rate, QEMU vhost=on" null "$(med qemu-vhost PPS)" "replies/s"
		row "ping -f -s 1400 goodput, QEMU vhost=on" null "$(med qemu-vhost BIG)" "Mbit/s"
		if [ "$UDP" = 1 ]; then
			row "UDP guest→host, QEMU vhost=on" null "$(med qemu-vhost UTX)" "Mbit/s"
			row "UDP host→guest, QEMU vhost=on" null "$(med qemu-vhost URX)" "Mbit/s"
		fi
	fi
} >"$ROWS"
write_json "$JSON" "$TITLE" "host pings the guest over a tap in a private netns; the guest is net.elf (own driver, polling, no per-packet output), so per-packet guest work (emulated on kvm_pvm) is part of both numbers; rtt from ping -c $LAT_N -i 0.02, rate = replies / elapsed of ping -f -c $FLOOD_N (round-trip bound, not bandwidth); goodput = replies x 1442-byte frames x 8 / elapsed of ping -f -s 1400 -c $BIG_N (one direction, also round-trip bound; the guest checksums each 1400-byte reply, emulated); $UDP_NOTE; median of $ROUNDS alternating runs; QEMU vhost=off; $note_vhost" "$ROWS"
