#!/usr/bin/env bash
# Bad host-side input: a clear message naming what is wrong, a non-zero exit,
# and no guest started (no guest output).
. "$(dirname "$0")/lib.bash"

bad() { # expected-status expected-message args...
	local want=$1 msg=$2
	shift 2
	timeout 20 "$VMM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	status=$?
	args="$*"; echo "--- vmm ${args:0:160} (exit $status): $(head -c 300 "$TMP/err")"
	[ "$status" -eq "$want" ] || fail "vmm ${args:0:160}: expected status $want, got $status"
	grep -qF -- "$msg" "$TMP/err" || fail "vmm ${args:0:160}: message lacks '$msg'"
	[ ! -s "$TMP/out" ] || fail "vmm ${args:0:160}: the guest ran"
}

# Command line (no KVM needed): status 2.
bad 2 "no kernel" --mem 64M
bad 2 "unknown option '--bogus'" --kernel x --bogus
bad 2 "unknown option '--mem-size'" --kernel x --mem-size 1G
bad 2 "needs a value" --kernel
bad 2 "--mem '-1'" --kernel x --mem -1
bad 2 "--mem '0'" --kernel x --mem 0
bad 2 "--mem '12Q'" --kernel x --mem 12Q
bad 2 "--mem '1G1'" --kernel x --mem 1G1
bad 2 "--mem '99999999999999999999'" --kernel x --mem 99999999999999999999
bad 2 "--cpus '0'" --kernel x --cpus 0
bad 2 "--cpus '2x'" --kernel x --cpus 2x
bad 2 "--cpus '-2'" --kernel x --cpus -2
bad 2 "--cpus ' 2'" --kernel x --cpus " 2"
bad 2 "takes no value" --kernel x --stats=1
bad 2 "unexpected argument" --kernel x extra
bad 2 "serial must be" --kernel x --disk "$TMP/d,serial=012345678901234567890"
bad 2 "mac must look like" --kernel x --net tap=t0,mac=01:02:03:04:05:06

# Files: status 1, checked before the first KVM_RUN.
need_kvm
head -c 100 "$FW/hello.elf" >"$TMP/trunc.elf"
head -c 3000 /dev/urandom >"$TMP/junk"
printf '\x7fELF\x01\x01\x01' >"$TMP/elf32"; head -c 100 /dev/zero >>"$TMP/elf32"
head -c $((20 << 20)) /dev/zero >"$TMP/big-initrd"
bad 1 "--kernel $TMP/missing: No such file or directory" --kernel "$TMP/missing"
bad 1 "not a regular file" --kernel "$TMP"
bad 1 "truncated" --kernel "$TMP/trunc.elf"
bad 1 "not a kernel image" --kernel "$TMP/junk"
bad 1 "EI_CLASS" --kernel "$TMP/elf32"
objcopy --remove-section .note.Xen "$FW/hello.elf" "$TMP/nonote.elf"
bad 1 "no PVH entry note" --kernel "$TMP/nonote.elf"
bad 1 "does not fit" --kernel "$FW/hello.elf" --initrd "$TMP/big-initrd" --mem 16M
bad 1 "--initrd $TMP/missing" --kernel "$FW/hello.elf" --initrd "$TMP/missing"
bad 1 "command line too long" --kernel "$FW/hello.elf" --cmdline "$(head -c 3000 /dev/zero | tr '\0' x)"
bad 1 "--dump-dtb /nonexistent/dir/x.dtb" --kernel "$FW/hello.elf" --dump-dtb /nonexistent/dir/x.dtb
echo PASS
