#!/usr/bin/env bash
# SIGTERM and SIGINT stop a running guest cleanly with status 128+N.
. "$(dirname "$0")/lib.bash"
need_kvm
for sig in TERM INT; do
	mkfifo "$TMP/in-$sig"
	"$VMM" --kernel "$FW/echo.elf" <"$TMP/in-$sig" >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	exec 3>"$TMP/in-$sig" # keep stdin open so the guest waits for input
	for _ in $(seq 300); do
		grep -q 'echo: ready' "$TMP/out" && break
		sleep 0.1
	done
	grep -q 'echo: ready' "$TMP/out" || fail "guest never became ready"
	kill -s "$sig" $pid
	wait $pid
	status=$?
	exec 3>&-
	cat "$TMP/err"
	want=$((128 + $(kill -l "$sig")))
	expect_status "$want"
	expect_err "stopped by signal"
done
echo PASS
