#!/usr/bin/env bash
# Host test: the guest's dmesg_since (tests/guest/lib.sh, run by the guest's
# own busybox) gives the kernel log after dmesg_mark's line, and the whole
# log when that line has left the buffer, where a line count (the earlier
# dmesg_mark) would have cut the wrong lines.
set -euo pipefail
# shellcheck source=tests/host/guest-busybox.sh
. "$(dirname "$0")/guest-busybox.sh"
cp "$root/tests/guest/lib.sh" "$dir/lib.sh"
printf '%s\n' '[ 1.0] early' '[ 2.0] lab-mark M1' '[ 3.0] after one' '[ 4.0] after two' >"$dir/with-mark"
# The same log after the buffer wrapped: the mark and what came before are gone.
printf '%s\n' '[ 3.0] after one' '[ 4.0] after two' '[ 5.0] after three' >"$dir/wrapped"
since() { "$busybox" sh -c ". '$dir/lib.sh'; dmesg() { cat '$1'; }; dmesg_since 'lab-mark M1'"; }
got=$(since "$dir/with-mark")
[ "$got" = "$(printf '%s\n' '[ 3.0] after one' '[ 4.0] after two')" ] ||
	die "dmesg_since with the mark in the log gave: $got" "$EXIT_TESTFAIL"
got=$(since "$dir/wrapped")
[ "$got" = "$(cat "$dir/wrapped")" ] ||
	die "dmesg_since with the mark gone gave: $got" "$EXIT_TESTFAIL"
echo "ok: dmesg_since cuts the log at the mark, and keeps all of it when the mark is gone"
