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

ktap_exit() { exit "$KTAP_FAILED"; }
