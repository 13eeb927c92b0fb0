#!/usr/bin/env bash
# Host test: the guest's splat_lines (tests/guest/lib.sh, run by the guest's
# own busybox) picks exactly the splat headers from a sample, by the same
# list labreport compiles in (tests/guest/splat-patterns): headers after a
# timestamp and caller id, arm64's "Call trace:", UBSAN, "kernel BUG at";
# not a word in the middle of a line nor a KTAP test name.
set -euo pipefail
# shellcheck source=tests/host/guest-busybox.sh
. "$(dirname "$0")/guest-busybox.sh"
sed "s|/lab/splat-patterns|$root/tests/guest/splat-patterns|" "$root/tests/guest/lib.sh" >"$dir/lib.sh"
cat >"$dir/in" <<'LOG'
[    1.234567] WARNING: CPU: 0 PID: 1 at kernel/sched/core.c:1 f+0x1/0x2
[    2.000000] random: mid-line WARNING: is no header
[    3.000000][    T1] BUG: kernel NULL pointer dereference, address: 0
[    4.000000] watchdog: Watchdog detected hard LOCKUP on cpu 1
[    4.100000] watchdog: enabled on all CPUs
[    5.000000] Call trace:
# ok 1 WARNING: a test name
[    6.000000] INFO: task kworker/0:1:42 blocked for more than 122 seconds.
[    7.000000] UBSAN: array-index-out-of-bounds in lib/foo.c:12:3
[    8.000000] kernel BUG at mm/slub.c:4321!
ok 2 selftests: a: b
LOG
got=$("$busybox" sh -c ". '$dir/lib.sh'; splat_lines <'$dir/in'" | sed 's/^\[[^]]*\]\(\[[^]]*\]\)\? //')
want='WARNING: CPU: 0 PID: 1 at kernel/sched/core.c:1 f+0x1/0x2
BUG: kernel NULL pointer dereference, address: 0
watchdog: Watchdog detected hard LOCKUP on cpu 1
Call trace:
INFO: task kworker/0:1:42 blocked for more than 122 seconds.
UBSAN: array-index-out-of-bounds in lib/foo.c:12:3
kernel BUG at mm/slub.c:4321!'
if [ "$got" != "$want" ]; then
	printf 'FAIL guest splat_lines picked:\n%s\n--- expected:\n%s\n' "$got" "$want"
	exit 1
fi
echo "ok: the guest picks the splat headers by the shared list"
