#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Proxy-execution stress test through the proxy_stress module: every
# scenario must hold its invariants (mutual exclusion, progress, allowed
# CPUs, latency bound), and the module's controls must reject bad input:
# bad parameters fail the load, unknown scenario names give EINVAL, a
# second concurrent run gives EBUSY, and unloading during a run stops it.
#
# Environment: PROXY_STRESS_ARGS, extra module parameters for the scenario
# runs (for example "seed=42 duration_ms=500").

DIR=$(dirname "$(readlink -f "$0")")
if [ -r "$DIR/../kselftest/ktap_helpers.sh" ]; then
	# shellcheck source=/dev/null
	. "$DIR/../kselftest/ktap_helpers.sh"
else
	# Minimal stand-ins, for running the script outside a kselftest tree.
	KTAP_TESTNO=1 KTAP_CNT_PASS=0 KTAP_CNT_FAIL=0 KTAP_CNT_SKIP=0 KTAP_CNT_XFAIL=0
	KSFT_PASS=0 KSFT_FAIL=1 KSFT_SKIP=4 KSFT_NUM_TESTS=0
	ktap_print_header() { echo "TAP version 13"; }
	ktap_print_msg() { echo "# $*"; }
	ktap_set_plan() { KSFT_NUM_TESTS=$1; echo "1..$1"; }
	ktap_skip_all() { echo "1..0 # SKIP $*"; }
	__ktap_test() {
		echo "$1 $KTAP_TESTNO $2${3:+ # $3}"
		KTAP_TESTNO=$((KTAP_TESTNO + 1))
	}
	ktap_test_pass() { __ktap_test ok "$1"; KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1)); }
	ktap_test_fail() { __ktap_test "not ok" "$1"; KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1)); }
	ktap_test_skip() { __ktap_test ok "$1" SKIP; KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1)); }
	ktap_test_xfail() { __ktap_test ok "$1" XFAIL; KTAP_CNT_XFAIL=$((KTAP_CNT_XFAIL + 1)); }
	ktap_print_totals() {
		echo "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL xfail:$KTAP_CNT_XFAIL xpass:0 skip:$KTAP_CNT_SKIP error:0"
	}
	ktap_finished() {
		ktap_print_totals
		[ $((KTAP_CNT_PASS + KTAP_CNT_SKIP + KTAP_CNT_XFAIL)) -eq "$KSFT_NUM_TESTS" ] &&
			exit "$KSFT_PASS"
		exit "$KSFT_FAIL"
	}
fi

MOD=proxy_stress
D=/sys/kernel/debug/$MOD
SCENARIOS="rt-inversion dl-donor chain cross-cpu owner-moves reblock pushable stranded dl-timers rt-boost"
# churn runs by default. PROXY_STRESS_CHURN=0 leaves it out, for a tree
# without the SCHED_DEADLINE fixes 0011 and 0012, where it hangs; any value
# but 0 or 1 fails the churn test.
CHURN_SKIP='' CHURN_BAD=''
case ${PROXY_STRESS_CHURN:-1} in
1) SCENARIOS="$SCENARIOS churn" ;;
0) CHURN_SKIP="left out by PROXY_STRESS_CHURN=0" ;;
*) CHURN_BAD="PROXY_STRESS_CHURN='$PROXY_STRESS_CHURN' is not 0 or 1" ;;
esac
# scenarios: one bit per scenario, eleven of them (bit 10 is rt-boost).
BAD_PARAMS="duration_ms=0 duration_ms=600001 threads_per_cpu=0 threads_per_cpu=9
scenarios=2048 wait_bound_us=99 pushable_ms=5 autorun=2"
ARGS=${PROXY_STRESS_ARGS:-}

check() {
	desc=$1
	shift
	if "$@"; then ktap_test_pass "$desc"; else ktap_test_fail "$desc"; fi
}

loaded() { [ -d /sys/module/$MOD ]; }

# write_run TEXT: writes TEXT to the run file; prints the shell's error.
write_run() {
	{ echo "$1" >"$D/run"; } 2>&1
}

# wait_running: until a run is in progress (up to 10 s).
wait_running() {
	n=0
	while [ $n -lt 100 ]; do
		grep -q '^running' "$D/status" 2>/dev/null && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# run_threads: scenario threads still alive.
run_threads() {
	grep -l '^ps_' /proc/[0-9]*/comm 2>/dev/null | wc -l
}

ktap_print_header
if [ "$(id -u)" -ne 0 ]; then
	ktap_skip_all "must run as root"
	exit "$KSFT_SKIP"
fi
if ! modinfo $MOD >/dev/null 2>&1; then
	ktap_skip_all "module $MOD not found"
	exit "$KSFT_SKIP"
fi
if loaded && ! modprobe -r $MOD; then
	ktap_skip_all "$MOD is loaded and busy"
	exit "$KSFT_SKIP"
fi
mount | grep -q ' /sys/kernel/debug ' || mount -t debugfs debugfs /sys/kernel/debug

nbad=$(echo "$BAD_PARAMS" | wc -w)
nsc=$(echo "$SCENARIOS" | wc -w)
nskip=0
[ -n "$CHURN_SKIP$CHURN_BAD" ] && nskip=1
ktap_set_plan $((nbad + 3 + nsc + nskip + 3))

# Bad parameters: the load fails (EINVAL) and names the parameter.
for p in $BAD_PARAMS; do
	name=${p%%=*}
	out=$(modprobe $MOD "$p" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && ! loaded && dmesg | tail -n 20 | grep -q "invalid $name="; then
		ktap_test_pass "bad-param $p"
	else
		ktap_print_msg "modprobe $p: rc=$rc: $out"
		loaded && modprobe -r $MOD
		ktap_test_fail "bad-param $p"
	fi
done

# shellcheck disable=SC2086 # word splitting of the parameter list is wanted
check "load" modprobe $MOD $ARGS
check "debugfs-files" test -w "$D/run" -a -r "$D/results" -a -r "$D/status"

out=$(write_run no-such-scenario)
rc=$?
out2=$(write_run "")
rc2=$?
if [ $rc -ne 0 ] && [ $rc2 -ne 0 ] && echo "$out" | grep -qi 'invalid argument'; then
	ktap_test_pass "run-rejects-unknown-scenario"
else
	ktap_print_msg "unknown scenario: rc=$rc '$out'; empty: rc=$rc2 '$out2'"
	ktap_test_fail "run-rejects-unknown-scenario"
fi

# Each scenario on its own; its KTAP is copied as diagnostics.
for s in $SCENARIOS; do
	out=$(write_run "$s")
	rc=$?
	sed 's/^/# /' "$D/results"
	line=$(grep -E "^(not )?ok 1 $s( |\$)" "$D/results")
	if [ $rc -ne 0 ]; then
		ktap_print_msg "write $s: $out"
		ktap_test_fail "$s"
	else
		case $line in
		"ok 1 $s # SKIP"*) ktap_test_skip "$s" ;;
		"ok 1 $s # XFAIL"*) ktap_test_xfail "$s" ;;
		"ok 1 $s") ktap_test_pass "$s" ;;
		*) ktap_test_fail "$s" ;;
		esac
	fi
done

if [ -n "$CHURN_SKIP" ]; then
	ktap_print_msg "churn: $CHURN_SKIP"
	ktap_test_skip "churn"
elif [ -n "$CHURN_BAD" ]; then
	ktap_print_msg "churn: $CHURN_BAD"
	ktap_test_fail "churn"
fi

# A second writer while a run is in progress gets EBUSY.
write_run chain >/dev/null &
bg=$!
if wait_running; then
	out=$(write_run chain)
	rc=$?
else
	out="no run in progress" rc=0
fi
wait $bg
bgrc=$?
if [ $rc -ne 0 ] && [ $bgrc -eq 0 ] && echo "$out" | grep -qi 'busy'; then
	ktap_test_pass "concurrent-run-ebusy"
else
	ktap_print_msg "second writer: rc=$rc '$out'; first writer rc=$bgrc"
	ktap_test_fail "concurrent-run-ebusy"
fi

# Unloading during a run stops every scenario thread within a few seconds.
write_run all >/dev/null 2>&1 &
bg=$!
if wait_running; then
	sleep 0.3
	t0=$(cut -d' ' -f1 /proc/uptime)
	modprobe -r $MOD
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	wait $bg
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	left=$(run_threads)
	ktap_print_msg "unload during run: rc=$rc after ${secs}s, threads left: $left"
	if [ $rc -eq 0 ] && ! loaded && [ "$left" -eq 0 ] &&
		awk -v s="$secs" 'BEGIN { exit !(s < 5) }'; then
		ktap_test_pass "unload-during-run"
	else
		ktap_test_fail "unload-during-run"
	fi
else
	wait $bg
	ktap_test_fail "unload-during-run"
fi

loaded && modprobe -r $MOD
check "unloaded" sh -c "! test -d /sys/module/$MOD"
ktap_finished
