#!/usr/bin/env bash
# Host test: every bad make variable stops lab.sh with exit 2 and a one-line
# error naming it, before anything is provisioned or built (the cache given
# here must stay empty).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
fails=0

# expect_refused COMMAND VAR=VALUE: lab.sh COMMAND x86_64 patched exits 2
# with an error naming VAR.
expect_refused() {
	local rc=0 out
	# A check that let it through would start provisioning: cut it short.
	out=$(env "$2" LAB_CACHE="$cache" timeout 10 "$root/scripts/lab.sh" "$1" x86_64 patched 2>&1) || rc=$?
	if [ "$rc" != 2 ] || ! grep -q "ERROR: ${2%%=*}=" <<<"$out"; then
		echo "FAIL $2: exit $rc, output: $out"
		fails=$((fails + 1))
	fi
}

for bad in SMP=0 SMP=x MEM=abc MEM=64 ACCEL=xen ARCH=riscv VARIANT=foo DEBUG=2 \
	PROXY_EXEC=yes BOOT_TIMEOUT=-1 JOBS=0 LOCKTORTURE_SECS=x BOOTS=0 TOOLCHAIN=gcc \
	KERNEL_SRC=/nonexistent; do
	expect_refused run "$bad"
done
# make soak's DURATION, checked by lab.sh soak before it builds anything.
for bad in DURATION=abc DURATION=10s DURATION=9h; do
	expect_refused soak "$bad"
done
if [ -n "$(ls -A "$cache")" ]; then
	echo "FAIL a bad variable left files in the cache: $(ls -A "$cache")"
	fails=$((fails + 1))
fi
[ "$fails" = 0 ] && echo "ok: every bad variable stopped lab.sh before it did anything"
exit "$fails"
