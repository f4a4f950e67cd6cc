# Validate `vmm bench startup --json` output; used by scripts/bench.sh.
# Exit status of `jq -e` is non-zero unless every check holds.
def stat_ok: . == null or ((.median | type == "number") and
  (.min | type == "number") and (.max | type == "number") and
  .min <= .median and .median <= .max);
.benchmark == "startup"
and (.repeat | type == "number")
and (.same_fdt | type == "boolean")
and (.first_run_note | type == "string")
and (.results | length == 12)
and (.results | all(.first_run_ms, .ms, .cpu_ms | stat_ok))
# vmm always has its first byte and CPU time; its first KVM_RUN unless
# the note says why the trace was not to be had
and (.first_run_note as $why | .results | map(select(.target == "vmm")) | all(
      (.ms | type == "object") and (.cpu_ms | type == "object") and
      (.ms.median > 0) and (.first_run_ms == null or
        .first_run_ms.median < .ms.median) and
      ((.first_run_ms | type == "object") or $why != "")))
