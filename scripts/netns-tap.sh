#!/usr/bin/env bash
# Network namespaces with a tap for vmm's --net, for tests and users.
# Everything lives inside the namespace: the host's routes and interfaces
# are never touched, and only addresses from 198.18.0.0/15 (RFC 2544,
# benchmarking) are accepted.
#
#   netns-tap.sh create NS                 new namespace (loopback up)
#   netns-tap.sh tap NS TAP [ADDR/LEN]     persistent tap in NS, up, address
#   netns-tap.sh configure NS TAP ADDR/LEN [TIMEOUT]
#                                          wait until TAP exists in NS (the
#                                          VMM creates it), then address + up
#   netns-tap.sh exec NS CMD...            run CMD in NS (e.g. build/vmm ...)
#   netns-tap.sh destroy NS                delete NS and every tap in it
#
# The VMM opens its tap by name in its own network namespace, so run it
# with "netns-tap.sh exec NS build/vmm --net tap=TAP ...".
# Example:
#   scripts/netns-tap.sh create vmmtest
#   scripts/netns-tap.sh exec vmmtest build/vmm --kernel build/guest-firmware/net.elf \
#       --net tap=vmmtap0 --cmdline ip=198.18.0.2 &
#   scripts/netns-tap.sh configure vmmtest vmmtap0 198.18.0.1/24
#   scripts/netns-tap.sh exec vmmtest ping -c 3 198.18.0.2
#   scripts/netns-tap.sh destroy vmmtest
set -euo pipefail

die() { echo "netns-tap: $*" >&2; exit 1; }

check_addr() {
	# A.B.C.D/LEN with A.B in 198.18-198.19 (198.18.0.0/15) and LEN >= 15.
	local a=$1 ip len o1 o2 o3 o4
	[[ $a =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]] ||
		die "address '$a': expected A.B.C.D/LEN"
	o1=${BASH_REMATCH[1]} o2=${BASH_REMATCH[2]} o3=${BASH_REMATCH[3]} o4=${BASH_REMATCH[4]}
	len=${BASH_REMATCH[5]}
	ip="$o1.$o2.$o3.$o4"
	((o1 == 198 && (o2 == 18 || o2 == 19) && o3 <= 255 && o4 <= 255 && len >= 15 && len <= 32)) ||
		die "address '$a' is outside 198.18.0.0/15 (only benchmarking addresses are allowed)"
	: "$ip"
}

check_name() {
	[[ $1 =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "name '$1': 1 to 15 characters [A-Za-z0-9_.-]"
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cmd=${1:-}
[ $# -ge 1 ] && shift
case $cmd in
create)
	[ $# -eq 1 ] || die "usage: create NS"
	ip netns add "$1"
	in_ns "$1" ip link set lo up
	;;
tap)
	[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: tap NS TAP [ADDR/LEN]"
	check_name "$2"
	[ $# -eq 3 ] && check_addr "$3"
	in_ns "$1" ip tuntap add dev "$2" mode tap vnet_hdr
	[ $# -eq 3 ] && in_ns "$1" ip addr add "$3" dev "$2"
	in_ns "$1" ip link set "$2" up
	;;
configure)
	[ $# -ge 3 ] && [ $# -le 4 ] || die "usage: configure NS TAP ADDR/LEN [TIMEOUT]"
	check_name "$2"
	check_addr "$3"
	t=${4:-30}
	for ((i = 0; i < t * 10; i++)); do
		in_ns "$1" ip link show dev "$2" >/dev/null 2>&1 && break
		sleep 0.1
	done
	in_ns "$1" ip link show dev "$2" >/dev/null 2>&1 || die "tap $2 did not appear in $1 within ${t}s"
	in_ns "$1" ip addr add "$3" dev "$2"
	in_ns "$1" ip link set "$2" up
	;;
exec)
	[ $# -ge 2 ] || die "usage: exec NS CMD..."
	ns=$1
	shift
	exec ip netns exec "$ns" "$@"
	;;
destroy)
	[ $# -eq 1 ] || die "usage: destroy NS"
	ip netns del "$1" 2>/dev/null || true
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	[ -z "$cmd" ] || exit 2
	;;
esac
