# shellcheck shell=sh
# KTAP helpers for guest stage scripts. Sourced.

KTAP_N=0
KTAP_FAILED=0

ktap_begin() { echo "KTAP version 1"; echo "1..$1"; }

# ktap_result OK|NOT_OK NAME [DIRECTIVE]
ktap_ok() { KTAP_N=$((KTAP_N + 1)); echo "ok $KTAP_N $*"; }
ktap_not_ok() { KTAP_N=$((KTAP_N + 1)); KTAP_FAILED=1; echo "not ok $KTAP_N $*"; }
ktap_skip() { KTAP_N=$((KTAP_N + 1)); echo "ok $KTAP_N $1 # SKIP $2"; }
ktap_diag() { echo "# $*"; }

# ktap_check NAME CMD...: one test line from a command's exit status.
ktap_check() {
	name=$1
	shift
	if "$@"; then ktap_ok "$name"; else ktap_not_ok "$name"; fi
}

# lab_param NAME DEFAULT: value of lab.NAME= on the kernel command line.
lab_param() {
	v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^lab\.$1=//p" | tail -n 1)
	echo "${v:-$2}"
}

# Kernel log lines that fail a stage even when its own checks passed.
SPLAT='WARNING:|BUG:|Oops|Call Trace|Kernel panic|blocked for more than|detected stall|self-detected stall|rcu_.*stall|soft lockup|hard LOCKUP|workqueue lockup|Workqueue: .* hung|possible circular locking|possible recursive locking|inconsistent lock state|general protection fault|Unable to handle'

# dmesg_mark: the current length of the kernel log, for splats_since.
dmesg_mark() { dmesg | wc -l; }

# splats_since MARK: up to 5 splat lines logged after dmesg_mark said MARK.
splats_since() {
	dmesg | tail -n +"$(($1 + 1))" | grep -E "$SPLAT" | head -n 5
}

ktap_exit() { exit "$KTAP_FAILED"; }
