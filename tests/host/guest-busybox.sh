# shellcheck shell=bash
# Sourced by the host tests that run tests/guest/lib.sh under the guest's
# own busybox: sets root (the checkout), busybox, and dir (a scratch
# directory removed on exit).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
busybox=$LAB_CACHE/guest-x86_64/usr/bin/busybox
[ -x "$busybox" ] || die "no guest busybox at $busybox (run: make toolchain)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
