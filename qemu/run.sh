#!/usr/bin/env bash
# Boot one lab kernel under QEMU with the test plan, under a timeout, and
# keep the console log. Usage:
#   qemu/run.sh ARCH BUILD_DIR RUN_DIR PLAN
# Environment: SMP (4), MEM (1024, MiB), BOOT_TIMEOUT (seconds),
#   ACCEL (tcg|kvm|auto), PROXY_EXEC (1; 0 adds sched_proxy_exec=0),
#   EXTRA_CMDLINE. Exit status: QEMU's, or 124 when the timeout fired.
# One brace group, read whole before it runs, so that editing this file
# during a boot or build cannot change what the running shell reads next.
{
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"

arch=${1:?usage: $0 ARCH BUILD_DIR RUN_DIR PLAN}
build=${2:?}
run=${3:?}
plan=${4-}
conf=$LAB_ROOT/qemu/$arch.conf
[ -f "$conf" ] || die "unknown ARCH '$arch': no $conf"
# shellcheck source=qemu/x86_64.conf
. "$conf"

smp=${SMP:-4}
mem=${MEM:-1024}
timeout=${BOOT_TIMEOUT:-900}
for v in smp mem timeout; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v^^}='${!v}' is not a positive integer"
done

accel=${ACCEL:-tcg}
if [ "$accel" = auto ]; then
	accel=$("$LAB_ROOT/qemu/kvm-probe.sh" "$arch" "$build")
fi
case $accel in
tcg) accel_args=(-accel "tcg,thread=multi") ;;
kvm) accel_args=(-accel kvm) ;;
*) die "ACCEL='$accel' must be tcg, kvm or auto" ;;
esac

# printk.devkmsg=on: the stages' log marks (/dev/kmsg) are never ratelimited.
# hung_task_panic=1: a hung task already fails the run (a splat); panicking
# ends the boot at once, with the stacks, instead of at BOOT_TIMEOUT.
cmdline="console=$QEMU_CONSOLE panic=-1 hung_task_panic=1 printk.devkmsg=on lab.plan=$plan lab.smp=$smp"
[ "${PROXY_EXEC:-1}" = 0 ] && cmdline+=" sched_proxy_exec=0"
cmdline+=" ${EXTRA_CMDLINE:-}"

mkdir -p "$run"
qemu=("$QEMU_BIN" -nodefaults -no-reboot -nographic -monitor none
	-M "$QEMU_MACHINE" -cpu "$QEMU_CPU" "${accel_args[@]}" -smp "$smp" -m "$mem"
	-kernel "$build/$QEMU_IMAGE" -initrd "$build/initramfs.cpio"
	-append "$cmdline" -serial "file:$run/console.log" "${QEMU_EXTRA[@]}")
# The reproducer, runnable by hand from the same toolchain: the same boot,
# its console on stdout, so that rerunning it keeps this run's console.log.
repro=("${qemu[@]}")
for i in "${!repro[@]}"; do
	[ "${repro[$i]}" = "file:$run/console.log" ] && repro[i]=stdio
done
printf '%q ' timeout "$timeout" "${repro[@]}" >"$run/qemu-cmdline.txt"
echo >>"$run/qemu-cmdline.txt"

: >"$run/console.log"
rc=0
in_toolchain timeout -k 5 "$timeout" "${qemu[@]}" >"$run/qemu.log" 2>&1 &
pid=$!
# Show the guest's stage markers as they come, so long runs show progress.
tail -n +1 -F "$run/console.log" 2>/dev/null | grep --line-buffered -E '^LAB: |Kernel panic' >&2 &
tailer=$!
wait "$pid" || rc=$?
sleep 0.2
kill "$tailer" 2>/dev/null || true
exit "$rc"
}
