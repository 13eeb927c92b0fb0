#!/usr/bin/env bash
# Build the guest initramfs for one build directory: Debian's busybox-static,
# coreutils' timeout and kmod (with their libraries) for the arch, the
# kernel and lab modules, and the /init test runner with its stages.
# Usage: initramfs.sh ARCH BUILD_DIR   (writes BUILD_DIR/initramfs.cpio)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

arch=${1:?usage: $0 ARCH BUILD_DIR}
out=${2:?usage: $0 ARCH BUILD_DIR}
guest=$LAB_CACHE/guest-$arch
[ -x "$guest/usr/bin/busybox" ] || die "guest userspace $guest is missing (run: make toolchain)"

root=$out/initramfs.tmp
rm -rf "$root"
mkdir -p "$root"/{usr/bin,usr/lib,proc,sys,dev,tmp,lab,etc}
ln -s usr/bin "$root/bin"
ln -s usr/bin "$root/sbin"
ln -s usr/lib "$root/lib"
cp -a "$guest/usr/bin/busybox" "$guest/usr/bin/timeout" "$guest/usr/bin/kmod" "$root/usr/bin/"
ln -s busybox "$root/usr/bin/sh"
for t in insmod rmmod modprobe lsmod modinfo depmod; do
	ln -s kmod "$root/usr/bin/$t"
done
# Shared libraries for timeout and kmod; locale and crypto engines are not
# needed.
cp -a "$guest/usr/lib/." "$root/usr/lib/"
rm -rf "$root"/usr/lib/*/gconv "$root"/usr/lib/*/engines-3
[ -d "$guest/usr/lib64" ] && cp -a "$guest/usr/lib64" "$root/usr/" && ln -s usr/lib64 "$root/lib64"

cp -a "$out/modroot/lib/modules" "$root/usr/lib/"
install -m 0755 "$LAB_ROOT/tests/guest/init" "$root/init"
cp -a "$LAB_ROOT/tests/guest/lib.sh" "$LAB_ROOT/tests/guest/splat-patterns" "$LAB_ROOT/tests/guest/stages" "$root/lab/"
# Extra payloads (kselftests) staged by other steps.
if [ -d "$out/kselftest-install" ]; then
	cp -a "$out/kselftest-install" "$root/kselftest"
fi

# shellcheck disable=SC2016 # expanded by the inner shell
in_toolchain sh -c 'cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet' \
	_ "$root" >"$out/initramfs.cpio.tmp"
mv "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
rm -rf "$root"
log "initramfs: $out/initramfs.cpio ($(du -h "$out/initramfs.cpio" | cut -f1))"
