#!/usr/bin/env bash
# Benchmarks: exit costs, start-up time and memory overhead of vmm next to a
# raw KVM_RUN loop (build/tests/rawkvm) and QEMU microvm. Run by `make bench`.
#
#   scripts/bench.sh          full run: build/bench/report.md, results.json,
#                             *.png (gnuplot), exits.txt/startup.txt/memory.txt
#   scripts/bench.sh --quick  `make check`: exits only, 100 iterations, one
#                             round; fails unless the JSON is well formed and
#                             has every row (build/bench/quick-exits.json)
#
# Benchmarks are never timed tests: nothing here fails because a number is
# large. Environment: BENCH_ITERATIONS, BENCH_RUNS, BENCH_ROUNDS, BENCH_CPUS,
# BENCH_REPEAT override the defaults below; BENCH_QEMU=none skips QEMU.
#
# I/O hook (virtio-blk, virtio-net): every executable scripts/bench/io.d/*.sh
# is run with BENCH_OUT (output directory), VMM (build/vmm) and ROOT set. It
# must write one JSON file "$BENCH_OUT/io-<name>.json" of the form
#   {"title": "virtio-blk 4k random read", "note": "optional text",
#    "rows": [{"name": "randread 4k qd1", "vmm": 123.4, "qemu": 150.0,
#              "unit": "MB/s"}]}
# ("qemu": null when not measured). The report gets one table per file.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VMM=build/vmm
OUT=build/bench
HERE=scripts/bench
QEMU=${BENCH_QEMU:-qemu-system-x86_64}
mkdir -p "$OUT"

for f in "$VMM" build/guest-firmware/bench.elf build/guest-firmware/hello.elf; do
	[ -e "$f" ] || { echo "bench: $f missing (make build/vmm firmware)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "bench: jq missing (apt-get install jq)" >&2; exit 1; }

check_exits() { # file
	if ! jq -e -f "$HERE/check-exits.jq" "$1" >/dev/null; then
		echo "bench: $1: malformed or incomplete exits JSON" >&2
		return 1
	fi
}

check_startup() { # file
	if ! jq -e -f "$HERE/check-startup.jq" "$1" >/dev/null; then
		echo "bench: $1: malformed or incomplete start-up JSON" >&2
		return 1
	fi
}

# The first-KVM_RUN probe reads the kernel's trace events (root, tracefs).
if [ ! -e /sys/kernel/tracing/trace ] && [ "$(id -u)" -eq 0 ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi

if [ "${1:-}" = "--quick" ]; then
	"$VMM" bench exits --iterations 100 --runs 3 --rounds 1 --cpus 2 \
		--qemu "$QEMU" --timeout 60 --json >"$OUT/quick-exits.json"
	check_exits "$OUT/quick-exits.json"
	"$VMM" bench startup --repeat 1 --qemu "$QEMU" --timeout 60 --json \
		>"$OUT/quick-startup.json"
	check_startup "$OUT/quick-startup.json"
	echo "bench: quick exits and start-up OK ($OUT/quick-*.json)"
	exit 0
elif [ $# -gt 0 ]; then
	echo "usage: scripts/bench.sh [--quick]" >&2
	exit 2
fi

ITER=${BENCH_ITERATIONS:-1000}
RUNS=${BENCH_RUNS:-21}
ROUNDS=${BENCH_ROUNDS:-3}
CPUS=${BENCH_CPUS:-2}
REPEAT=${BENCH_REPEAT:-5}

echo "bench: exit costs ($ROUNDS rounds x vmm/raw/qemu)..." >&2
"$VMM" bench exits --iterations "$ITER" --runs "$RUNS" --rounds "$ROUNDS" \
	--cpus "$CPUS" --qemu "$QEMU" --json >"$OUT/exits.json"
check_exits "$OUT/exits.json"
echo "bench: start-up ($REPEAT repeats)..." >&2
"$VMM" bench startup --repeat "$REPEAT" --qemu "$QEMU" --json >"$OUT/startup.json"
check_startup "$OUT/startup.json"
echo "bench: memory..." >&2
"$VMM" bench memory --qemu "$QEMU" --json >"$OUT/memory.json"

# I/O hooks (none yet).
rm -f "$OUT"/io-*.json
if [ -d "$HERE/io.d" ]; then
	for hook in "$HERE"/io.d/*.sh; do
		[ -x "$hook" ] || continue
		echo "bench: I/O hook $hook..." >&2
		BENCH_OUT="$OUT" VMM="$VMM" ROOT="$ROOT" "$hook" ||
			echo "bench: $hook failed; its rows are missing" >&2
	done
fi
io_files=("$OUT"/io-*.json)
if [ -e "${io_files[0]}" ]; then
	jq -s . "${io_files[@]}" >"$OUT/io.json"
else
	echo '[]' >"$OUT/io.json"
fi

jq -n --slurpfile e "$OUT/exits.json" --slurpfile s "$OUT/startup.json" \
	--slurpfile m "$OUT/memory.json" --slurpfile io "$OUT/io.json" \
	--arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" --arg uname "$(uname -srm)" \
	'{date: $date, uname: $uname, exits: $e[0], startup: $s[0], memory: $m[0], io: $io[0]}' \
	>"$OUT/results.json"
jq -r -f "$HERE/report.jq" "$OUT/results.json" >"$OUT/report.md"

# Plot data: one line per row/config, NaN where a target has no number.
jq -r '.exits.rows[] | select(.name != "baseline") |
	[.name, (.results.vmm, .results.raw, .results.qemu | .ns.median // "NaN")] | @tsv' \
	"$OUT/results.json" >"$OUT/exits.dat"
jq -r '.startup.results | group_by([.cpus, .mem_mib])[] |
	(map({key: .target, value: .}) | from_entries) as $c |
	["\(.[0].cpus)cpu/\(.[0].mem_mib)M",
	 ($c.vmm, $c.raw, $c.qemu | .first_run_ms.median // "NaN"),
	 ($c.vmm, $c.raw, $c.qemu | .ms.median // "NaN")] | @tsv' \
	"$OUT/results.json" >"$OUT/startup.dat"
jq -r '.memory.results | group_by([.cpus, .mem_mib])[] |
	(map({key: .target, value: (.overhead_pss_kb // "NaN")}) | from_entries) as $c |
	["\(.[0].cpus)cpu/\(.[0].mem_mib)M", $c.vmm, $c.raw, $c.qemu] | @tsv' \
	"$OUT/results.json" >"$OUT/memory.dat"
if command -v gnuplot >/dev/null; then
	host=$(jq -r '.exits.host.kvm' "$OUT/results.json")
	for gp in exits startup memory; do
		gnuplot -e "OUT='$OUT'; HOST='$host'" "$HERE/$gp.gp" ||
			echo "bench: gnuplot $gp failed" >&2
	done
else
	echo "bench: gnuplot missing: no plots (apt-get install gnuplot-nox)" >&2
fi

# Human-readable tables next to the report, from the same runs' JSON.
jq -r '.exits.rows[] | [.name, .kind,
	(.results.vmm, .results.raw, .results.qemu | .ns.median // "n/a" |
	 if type == "number" then (. | round | tostring) else . end),
	(.ratio.vmm_raw, .ratio.vmm_qemu | if . == null then "-" else (. * 100 | round / 100 | tostring) end)] |
	@tsv' "$OUT/results.json" |
	(printf 'exit\tkind\tvmm_ns\traw_ns\tqemu_ns\tvmm/raw\tvmm/qemu\n'; cat) |
	column -t -s "$(printf '\t')" >"$OUT/exits.txt"
cat "$OUT/exits.txt"
echo "bench: report in $OUT/report.md (plots: $OUT/*.png)" >&2
