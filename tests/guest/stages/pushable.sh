# shellcheck shell=sh
# Pushable-owner stage: does a mutex owner that runs as proxy for a blocked
# donor keep its rq RT-overloaded, and so draw futile pulls and push IPIs?
#
# Needs CONFIG_SCHED_PROXY_STATS (sched/debug patch, both variants) and the
# lab's proxy_stress module with its deterministic `pushable` scenario: a
# SCHED_FIFO owner A (prio 10) holds a mutex and busy-works, a SCHED_FIFO
# donor B (prio 20) blocks on it, both on CPU0 and allowed on {0,1}; a
# SCHED_FIFO prio 30 "dropper" on CPU1 sleeps ~1 ms in a loop, so CPU1
# keeps lowering its priority and runs RT pull balancing.
#
# The scenario runs twice, with RT_PUSH_IPI off (CPU1 pulls itself) and on
# (CPU1 asks the overloaded CPU, by IPI, to push). Counters are totals over
# all CPUs of /sys/kernel/debug/sched/proxy_stats, reset before each run.
#
# What is asserted is what only a proxy-running owner on a pushable list can
# cause:
# lab.expect=stock: the owner stays pushable while it proxies (upstream
#   e0ca8991b2de), so its rq stays RT-overloaded: proxy_overload_ticks > 0.
# lab.expect=patched: prevent_migration() takes the owner off the pushable
#   list while it proxies: proxy_overload_ticks == 0 and oncpu_skip == 0
#   exactly (either would mean a running owner sat on a pushable list).
#
# The futile pull and push-IPI totals are printed, not asserted: in this
# scenario the owner is legitimately pushable many times a second (between
# its lock cycles, while it waits to run), and CPUs outside its affinity
# pull in vain, so both variants see hundreds of futile pulls under TCG.
# `make bench` compares them side by side over several runs.
#
# Both runs also fail on a new WARNING/BUG in the kernel log.
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

D=/sys/kernel/debug/proxy_stress
MODES="NO_RT_PUSH_IPI RT_PUSH_IPI"
PLAN=14

expect=$(lab_param expect "")
pushable_ms=$(lab_param pushable_ms "$(lab_param proxy_stress_pushable_ms 2000)")
# Guest time under TCG runs slow; the scenario itself bounds its run time.
run_timeout=$((pushable_ms * 20 / 1000 + 120))

# skip_rest REASON: report the tests not run after a failed prerequisite.
skip_rest() {
	while [ "$KTAP_N" -lt "$PLAN" ]; do
		ktap_skip "not-run-$((KTAP_N + 1))" "$1"
	done
	ktap_exit
}

# counter KEY: a counter from the total line of the last snapshot.
counter() {
	sed -n "s/^total.* $1=\([0-9][0-9]*\).*/\1/p" "$snap"
}

ktap_begin "$PLAN"
ktap_diag "expect=$expect pushable_ms=$pushable_ms"

case $expect in
patched | stock) ktap_ok "expect-param" ;;
*)
	ktap_not_ok "expect-param"
	ktap_diag "lab.expect must be patched or stock, got '$expect'"
	skip_rest "no expectation"
	;;
esac

if zcat /proc/config.gz | grep -qx CONFIG_SCHED_PROXY_EXEC=y &&
	! grep -qw 'sched_proxy_exec=0' /proc/cmdline; then
	ktap_ok "proxy-exec-enabled"
else
	ktap_not_ok "proxy-exec-enabled"
	skip_rest "proxy exec is off: the scenario would prove nothing"
fi

# The interface: present, reset by 0, anything else rejected.
if proxy_stats_reset && ! echo 1 >"$PROXY_STATS" 2>/dev/null &&
	[ "$(grep -c '^cpu[0-9]' "$PROXY_STATS")" -ge 2 ] && grep -q '^total ' "$PROXY_STATS"; then
	ktap_ok "proxy-stats-interface"
else
	ktap_not_ok "proxy-stats-interface"
	skip_rest "no usable $PROXY_STATS (CONFIG_SCHED_PROXY_STATS)"
fi

# Load the module with our run time; reload if an earlier stage left it.
[ -d /sys/module/proxy_stress ] && modprobe -r proxy_stress
if modprobe proxy_stress pushable_ms="$pushable_ms" && [ -w "$D/run" ]; then
	ktap_ok "proxy-stress-available"
else
	ktap_not_ok "proxy-stress-available"
	skip_rest "proxy_stress or its $D/run is missing"
fi

feat_saved=$(sched_feat_get RT_PUSH_IPI)
snap=/tmp/proxy_stats.$$

for mode in $MODES; do
	if sched_feat_set "$mode"; then
		ktap_ok "$mode-feature-set"
	else
		ktap_not_ok "$mode-feature-set"
	fi

	dmesg_before=$(dmesg_mark)
	proxy_stats_reset
	rc=0
	timeout "$run_timeout" sh -c "echo pushable >$D/run" || rc=$?
	cat "$PROXY_STATS" >"$snap"
	sed "s/^/$mode: /" "$snap" | while IFS= read -r l; do ktap_diag "$l"; done
	# The module's own KTAP (its invariants, proxy_exec), nested.
	sed 's/^/    /' "$D/results"
	# Counters only mean something if the scenario passed with proxy exec.
	if [ "$rc" -eq 0 ] && grep -q '^ok [0-9]* pushable$' "$D/results" &&
		grep -q '^# proxy_exec: 1$' "$D/results"; then
		ktap_ok "$mode-scenario-ran"
	else
		ktap_not_ok "$mode-scenario-ran"
		ktap_diag "$mode: run rc=$rc; the scenario must pass with proxy_exec 1"
	fi

	ticks=$(counter proxy_overload_ticks)
	pull_futile=$(counter rt_pull_futile)
	push_ipi=$(counter rt_push_ipi)
	push_futile=$(counter rt_push_futile)
	oncpu=$(counter oncpu_skip)
	if [ -z "$ticks" ] || [ -z "$pull_futile" ] || [ -z "$push_ipi" ] ||
		[ -z "$push_futile" ] || [ -z "$oncpu" ]; then
		ktap_diag "$mode: unparsable $PROXY_STATS"
		ticks=-1 pull_futile=-1 push_ipi=-1 push_futile=-1 oncpu=-1
	fi

	ktap_diag "$mode: futile balancing (informational): rt_pull_futile=$pull_futile" \
		"rt_push_ipi=$push_ipi rt_push_futile=$push_futile"
	if [ "$expect" = patched ]; then
		ktap_check "$mode-proxy-overload-ticks" [ "$ticks" -eq 0 ]
		ktap_check "$mode-oncpu-skip" [ "$oncpu" -eq 0 ]
	else
		ktap_check "$mode-proxy-overload-ticks" [ "$ticks" -gt 0 ]
		# Stock skips the running owner by design; nothing to assert.
		ktap_skip "$mode-oncpu-skip" "informational on stock (oncpu_skip=$oncpu)"
	fi

	splats=$(splats_since "$dmesg_before")
	if [ -z "$splats" ]; then
		ktap_ok "$mode-no-kernel-warnings"
	else
		ktap_not_ok "$mode-no-kernel-warnings"
		echo "$splats" | while IFS= read -r l; do ktap_diag "dmesg: $l"; done
	fi
done

sched_feat_set "$feat_saved"
rm -f "$snap"
modprobe -r proxy_stress
ktap_exit
