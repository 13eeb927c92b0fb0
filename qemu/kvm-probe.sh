#!/usr/bin/env bash
# Print "kvm" when KVM really works for ARCH, else "tcg". /dev/kvm existing
# proves nothing (it is present but broken on some hosts, where QEMU aborts
# or hangs), so the probe is a canary boot with an empty plan and a short
# timeout. The answer is cached per host kernel.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"

arch=${1:?usage: $0 ARCH BUILD_DIR}
build=${2:?}
cache=$LAB_CACHE/kvm-probe-$arch-$(uname -r)
if [ -f "$cache" ]; then
	cat "$cache"
	exit 0
fi
result=tcg
if [ "$arch" = "$(uname -m | sed 's/aarch64/arm64/')" ] && [ -w /dev/kvm ]; then
	dir=$(mktemp -d)
	if ACCEL=kvm BOOT_TIMEOUT=30 "$LAB_ROOT/qemu/run.sh" "$arch" "$build" "$dir" "" >/dev/null 2>&1 &&
		grep -q '^LAB: plan-done' "$dir/console.log"; then
		result=kvm
	fi
	rm -rf "$dir"
fi
log "KVM probe for $arch: $result"
echo "$result" | tee "$cache"
