# shellcheck shell=bash disable=SC2034
# Helpers for the I/O bench hooks in scripts/bench/io.d (sourced, not run).
# Expects BENCH_OUT, VMM and ROOT (see the top of scripts/bench.sh).

QEMU=${BENCH_QEMU:-qemu-system-x86_64}
[ "$QEMU" = none ] || command -v "$QEMU" >/dev/null || QEMU=none
FW=$ROOT/build/guest-firmware

# QEMU microvm, as in `vmm bench`; virtio-mmio modern (version 2) like vmm's:
# microvm's virtio-mmio transports default to legacy, which the payloads
# (modern-only drivers) refuse. The in-kernel irqchip, as vmm has it
# (microvm defaults to a split one, with the PIC and IOAPIC in QEMU).
qemu_base() {
	echo -M microvm -accel kvm,kernel-irqchip=on -cpu host,-arch-capabilities -m 256 -nodefaults \
		-no-user-config -nographic -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-global virtio-mmio.force-legacy=false
}

# median N...: the median of numbers (mean of the middle two for an even
# count); prints "null" when there are none.
median() {
	[ $# -gt 0 ] || { echo null; return; }
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1}
		END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# write_json FILE TITLE NOTE ROWS_JSONL: ROWS_JSONL holds one row object per line.
write_json() {
	jq -s --arg title "$2" --arg note "$3" '{title: $title, note: $note, rows: .}' <"$4" >"$1.tmp" &&
		mv "$1.tmp" "$1"
}

# row NAME VMM QEMU UNIT: one row object (VMM/QEMU "null" or a number).
row() {
	jq -cn --arg name "$1" --argjson vmm "$2" --argjson qemu "$3" --arg unit "$4" \
		'{name: $name, vmm: $vmm, qemu: $qemu, unit: $unit}'
}
