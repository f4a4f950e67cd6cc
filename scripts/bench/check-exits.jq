# Validate `vmm bench exits --json` output; used by scripts/bench.sh.
# Exit status of `jq -e` is non-zero unless every check holds.
def rows_expected: ["baseline","cpuid","hypercall","pio-kernel","msr-read",
  "pio-in","pio-out","mmio-read","mmio-write","ioeventfd-pio",
  "ioeventfd-mmio","hlt-timer","ipi"];
def num_or_null: (type == "number") or (. == null);
def result_ok: (type == "object") and
  ((has("skipped") and (.skipped | type == "string")) or
   ((.samples | type == "number") and (.samples > 0) and
    ([.cycles.median, .cycles.p10, .cycles.p90, .cycles.p99,
      .ns.median, .ns.p10, .ns.p90, .ns.p99] | all(num_or_null)) and
    (.cycles.median | type == "number")));
.benchmark == "exits"
and (.host.tsc_khz | type == "number")
and (.targets.vmm.enabled == true) and (.targets.vmm.failed == 0)
and ([.rows[].name] == rows_expected)
and (.rows | all(
      (.results | has("vmm") and has("raw") and has("qemu"))
      and (.results | [.vmm, .raw, .qemu] | all(result_ok))
      and (.ratio.vmm_raw | num_or_null) and (.ratio.vmm_qemu | num_or_null)))
# every row vmm can run must have a measurement on vmm
and (.rows | map(select(.name != "hypercall" and .name != "ipi"))
           | all(.results.vmm | has("cycles")))
