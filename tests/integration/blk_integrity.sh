#!/usr/bin/env bash
# Data integrity across kill -9: blk.elf (mode=records) writes record i to
# sector i, waits for it, FLUSHes, and prints "blk: ack i" only after the
# FLUSH completed. The VMM is killed with SIGKILL at a different moment each
# round; every record acknowledged before the kill must then be on the host
# file, intact (tests/tools/blkcheck checks magic, index, seed, checksum and
# body). Rounds alternate between a file under build/ (O_DIRECT) and $TMP.
. "$(dirname "$0")/lib.bash"
need_kvm
ELF=$FW/blk.elf
BLKCHECK=$ROOT/build/tests/blkcheck
[ -f "$ELF" ] || fail "$ELF missing: run make firmware"
[ -x "$BLKCHECK" ] || make -s -C "$ROOT" build/tests/blkcheck >/dev/null ||
	fail "cannot build build/tests/blkcheck"
BDIR=$(mktemp -d "$ROOT/build/blk-test.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$TMP" "$BDIR"' EXIT

ROUNDS=${BLK_INTEGRITY_ROUNDS:-5}
for ((round = 1; round <= ROUNDS; round++)); do
	if ((round % 2)); then dir=$BDIR; else dir=$TMP; fi
	img=$dir/rec$round.img
	truncate -s 4M "$img"
	seed=$((RANDOM * 32768 + RANDOM))
	want=$((20 + RANDOM % 60))         # acks to wait for
	delay=$(printf '0.%03d' $((RANDOM % 300))) # then let it run a bit more
	out=$TMP/out$round
	: >"$out"
	"$VMM" --kernel "$ELF" --disk "$img" --cmdline "mode=records seed=$seed" \
		</dev/null >"$out" 2>"$TMP/err$round" &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		(($(grep -c '^blk: ack ' "$out") >= want)) && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	n=$(grep -c '^blk: ack ' "$out")
	if ((n < want)); then
		cat "$out" "$TMP/err$round"
		fail "round $round: only $n of $want records acknowledged"
	fi
	sleep "$delay"
	kill -9 $pid
	{ wait $pid; } 2>/dev/null
	status=$?
	pid=
	[ "$status" -eq 137 ] || { cat "$out" "$TMP/err$round"; fail "round $round: vmm ended with $status before the kill"; }

	# Only complete lines count: a line cut by the kill may be a prefix of a
	# bigger number. The acks must be 0, 1, 2, ... in order.
	acks=$(if [ "$(tail -c1 "$out" | od -An -c | tr -d ' ')" = '\n' ]; then cat "$out"; else head -n -1 "$out"; fi |
		sed -n 's/^blk: ack \([0-9][0-9]*\)$/\1/p')
	acked=$(wc -l <<<"$acks")
	[ "$(tail -n 1 <<<"$acks")" -eq $((acked - 1)) ] && [ "$(head -n 1 <<<"$acks")" -eq 0 ] ||
		fail "round $round: acks out of order"
	echo "round $round: $(stat -f -c %T "$dir") seed=$seed killed after $delay s past ack $((want - 1)): $acked acknowledged"
	"$BLKCHECK" records "$img" "$seed" "$acked" || {
		cat "$out" "$TMP/err$round"
		fail "round $round: acknowledged records lost"
	}
done

# The checker must notice a damaged acknowledged record.
printf 'X' | dd of="$img" bs=1 seek=$((3 * 512 + 200)) conv=notrunc status=none
! "$BLKCHECK" records "$img" "$seed" "$acked" >/dev/null || fail "blkcheck missed a damaged record"
echo PASS
