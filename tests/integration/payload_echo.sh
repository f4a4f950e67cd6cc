#!/usr/bin/env bash
# echo.elf echoes serial input, interrupt-driven (UART IER -> IOAPIC pin 4),
# and exits 0 on EOT. Input is sent only after the guest says it is ready.
. "$(dirname "$0")/lib.bash"
need_kvm
mkfifo "$TMP/in"
timeout --kill-after=5 60 "$VMM" --kernel "$FW/echo.elf" <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
pid=$!
exec 3>"$TMP/in"
for _ in $(seq 300); do
	grep -q 'echo: ready' "$TMP/out" && break
	sleep 0.1
done
grep -q 'echo: ready' "$TMP/out" || fail "guest never became ready"
# More than the 16-byte FIFO: the VMM must hold the rest until there is room.
msg="hello, guest! 0123456789abcdefghijklmnopqrstuvwxyz"
printf '%s\004' "$msg" >&3
exec 3>&-
wait $pid
status=$?
cat "$TMP/out" "$TMP/err"
expect_status 0
expect_out "$msg"
expect_out "echo: bye ${#msg}"
echo PASS
