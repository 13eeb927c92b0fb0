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

# splat_lines: the lines of stdin that are kernel splats, by the one list
# that labreport also uses (/lab/splat-patterns, from tests/guest/):
# KIND|PREFIX|CONTAINS, matched at the start of the text after the printk
# timestamp and caller.
splat_lines() {
	awk -v pats=/lab/splat-patterns '
	BEGIN {
		while ((getline l < pats) > 0) {
			if (l == "" || l ~ /^#/) continue
			n++; split(l, f, "[|]"); pre[n] = f[2]; has[n] = f[3]
		}
		if (!n) { print "splat_lines: no patterns in " pats; exit 1 }
	}
	{
		body = $0
		sub(/^\[[ 0-9.]*\] ?/, "", body)
		sub(/^\[ *[TC][0-9]+\] ?/, "", body)
		for (i = 1; i <= n; i++)
			if (index(body, pre[i]) == 1 && (has[i] == "" || index(body, has[i]) > 0)) { print; break }
	}'
}

# dmesg_mark: writes a unique line to the kernel log and prints it, for
# dmesg_since and splats_since. (A line count goes wrong once the log buffer
# wraps, as test-ww_mutex's stress runs can make it.)
dmesg_mark() {
	mark="lab-mark $(cat /proc/sys/kernel/random/uuid)"
	echo "$mark" >/dev/kmsg
	echo "$mark"
}

# dmesg_since MARK: the kernel log after the line dmesg_mark wrote; all of
# it if that line is no longer in the buffer.
dmesg_since() {
	dmesg | awk -v mark="$1" 'BEGIN { n = 0; start = 0 } { line[n++] = $0 } index($0, mark) { start = n }
		END { for (i = start; i < n; i++) print line[i] }'
}

# modprobe: kmod's, by path. busybox sh runs its own modprobe applet for a
# bare "modprobe", whatever PATH says, and that applet, when finit_module()
# fails, loads the module again with init_module(): a test module whose init
# failed runs a second time, and the load reports the second run's result.
modprobe() { /sbin/modprobe "$@"; }

# splats_since MARK: up to 5 splat lines logged after dmesg_mark said MARK.
splats_since() {
	dmesg_since "$1" | splat_lines | head -n 5
}

# Scheduler debugfs files of the A/B stages (pushable, bench).
PROXY_STATS=/sys/kernel/debug/sched/proxy_stats
SCHED_FEATURES=/sys/kernel/debug/sched/features

# sched_feat_set FEAT: set a scheduler feature (NAME or NO_NAME); true if
# it took.
sched_feat_set() {
	echo "$1" >"$SCHED_FEATURES" && grep -qw -- "$1" "$SCHED_FEATURES"
}

# sched_feat_get NAME: NAME or NO_NAME, as set now (to restore it later).
sched_feat_get() {
	if grep -qw "NO_$1" "$SCHED_FEATURES"; then echo "NO_$1"; else echo "$1"; fi
}

# proxy_stats_reset: zero the proxy_stats counters; false without them
# (CONFIG_SCHED_PROXY_STATS).
proxy_stats_reset() {
	[ -r "$PROXY_STATS" ] && echo 0 >"$PROXY_STATS"
}

# ctxt_count: context switches since boot, all CPUs (/proc/stat).
ctxt_count() { sed -n 's/^ctxt //p' /proc/stat; }

ktap_exit() { exit "$KTAP_FAILED"; }
