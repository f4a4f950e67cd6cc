#!/usr/bin/env bash
# virtio-blk I/O hook (see scripts/bench.sh): blk.elf's bench mode (its own
# polled virtio-blk driver, qd requests in flight) on a 64 MiB raw file under
# build/bench (a real file system: vmm opens it O_DIRECT; QEMU gets
# cache=none,aio=native), vmm and QEMU alternately, BENCH_IO_ROUNDS (default
# 2) rounds each, the median reported. Writes $BENCH_OUT/io-blk.json.
# BENCH_IO_SECS (default 2) is the length of one run.
set -uo pipefail
: "${BENCH_OUT:?}" "${VMM:?}" "${ROOT:?}"
cd "$ROOT" || exit 1
. "$ROOT/scripts/bench/io/lib.sh"
ROUNDS=${BENCH_IO_ROUNDS:-2}
SECS=${BENCH_IO_SECS:-2}
ELF=$FW/blk.elf
mkdir -p "$BENCH_OUT"
JSON=$BENCH_OUT/io-blk.json
TITLE="virtio-blk (blk.elf bench mode, polled, 64 MiB raw file)"
mkdir -p "$ROOT/build/bench"
IMG=$(mktemp "$ROOT/build/bench/blk-bench.XXXXXX.img") || exit 1
ROWS=$(mktemp)
trap 'rm -f "$IMG" "$ROWS"' EXIT

if [ ! -f "$ELF" ]; then
	echo '{"title": "'"$TITLE"'", "note": "build/guest-firmware/blk.elf missing", "rows": []}' >"$JSON"
	exit 0
fi
# Written out (not sparse), so reads reach the disk rather than a hole.
dd if=/dev/zero of="$IMG" bs=1M count=64 oflag=direct conv=fsync status=none ||
	dd if=/dev/zero of="$IMG" bs=1M count=64 conv=fsync status=none || exit 1
FS=$(stat -f -c %T "$IMG")

# run_one vmm|qemu CMDLINE: prints the value ("iops" or "mbps" per $FIELD)
# or nothing on failure.
run_one() {
	local out
	if [ "$1" = vmm ]; then
		out=$(timeout --kill-after=5 $((SECS + 30)) "$VMM" --kernel "$ELF" --disk "$IMG" \
			--cmdline "$2" </dev/null 2>/dev/null)
	else
		# shellcheck disable=SC2046
		out=$(timeout --kill-after=5 $((SECS + 30)) "$QEMU" $(qemu_base) -kernel "$ELF" \
			-append "$2" -drive "file=$IMG,if=none,id=d0,format=raw,cache=none,aio=native" \
			-device virtio-blk-device,drive=d0 </dev/null 2>/dev/null)
	fi
	sed -n "s/^blk: bench .* $FIELD=\([0-9.]*\).*/\1/p" <<<"$out" | tail -n1
}

# name op bs qd field unit
for spec in "4k randread qd16|randread|4096|16|iops|IOPS" \
	"4k randwrite qd16|randwrite|4096|16|iops|IOPS" \
	"64k seqread qd8|seqread|65536|8|mbps|MB/s" \
	"64k seqwrite qd8|seqwrite|65536|8|mbps|MB/s"; do
	IFS='|' read -r name op bs qd FIELD unit <<<"$spec"
	cmd="mode=bench op=$op bs=$bs qd=$qd secs=$SECS"
	v=() q=()
	for ((r = 0; r < ROUNDS; r++)); do
		x=$(run_one vmm "$cmd")
		[ -n "$x" ] && v+=("$x")
		if [ "$QEMU" != none ]; then
			x=$(run_one qemu "$cmd")
			[ -n "$x" ] && q+=("$x")
		fi
	done
	echo "blk: $name: vmm ${v[*]:-failed} qemu ${q[*]:-none} $unit" >&2
	row "$name" "$(median "${v[@]}")" "$(median "${q[@]}")" "$unit" >>"$ROWS"
done
write_json "$JSON" "$TITLE" "guest: its own virtio-blk driver, polling the used ring, qd requests kept in flight, ${SECS} s per run, random offsets bs-aligned (xorshift); median of $ROUNDS alternating runs each; file on $FS, vmm O_DIRECT + libaio, QEMU cache=none,aio=native (virtio-mmio modern); MB/s = 10^6 bytes/s" "$ROWS"
