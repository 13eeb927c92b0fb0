# shellcheck shell=sh
# Bench stage (make bench): a fixed, seeded proxy_stress workload whose
# figures scripts/bench.sh compares across stock, patched and proxy exec
# off with `labreport bench`. It measures; it does not judge: the module's
# own verdict on each scenario is only reported (module_result), and a test
# here fails only when its figures could not be taken (module not loaded, a
# run that failed or timed out, no proxy_stats for the pushable runs) or on
# a kernel splat.
#
# Each scenario of lab.bench_scenarios runs alone (one write to the
# module's run file), so that context switches and proxy_stats counters
# belong to it; then the deterministic pushable scenario runs with
# RT_PUSH_IPI off and on, as in the pushable stage. Every run is one KTAP
# test whose `# key: value` diagnostics are its figures:
#   run_ms        the configured run time (duration_ms, or pushable_ms)
#   handoffs_per_s  the module's lock handoffs / run_ms
#   ctxt          context switches of all CPUs during the run (/proc/stat)
#   elapsed_s     guest time of the whole run, set-up included
#   module_result the module's verdict: PASS, FAIL, XFAIL or SKIP
#   the module's figures (handoffs, wait_p50_us, wait_p99_us, wait_max_us,
#   owner_migrations, ...), and the totals of proxy_stats (rt_pull,
#   rt_pull_futile, rt_push, rt_push_futile, rt_push_ipi, dl_*, oncpu_skip,
#   proxy_overload_ticks), reset before the run.
# The load test carries the parameters as bench_* diagnostics.
#
# Parameters (kernel command line, set by scripts/bench.sh):
#   lab.bench_seed (1), lab.bench_duration_ms (2000),
#   lab.bench_pushable_ms (2000), lab.bench_threads_per_cpu (1),
#   lab.bench_wait_bound_us (100000), lab.bench_scenarios (comma list;
#   default the module's default set).
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

D=/sys/kernel/debug/proxy_stress
MODES="NO_RT_PUSH_IPI RT_PUSH_IPI"

seed=$(lab_param bench_seed 1)
duration_ms=$(lab_param bench_duration_ms 2000)
pushable_ms=$(lab_param bench_pushable_ms 2000)
threads=$(lab_param bench_threads_per_cpu 1)
wait_bound_us=$(lab_param bench_wait_bound_us 100000)
scenarios=$(lab_param bench_scenarios rt-inversion,dl-donor,chain,cross-cpu,owner-moves,reblock)
scenarios=$(echo "$scenarios" | tr ',' ' ')
snap=/tmp/bench_stats.$$

# load, the scenarios, two pushable runs, no-kernel-warnings, unload
PLAN=$(($(echo "$scenarios" | wc -w) + 5))

now() { cut -d' ' -f1 /proc/uptime; }

# module_result: the module's verdict on its last run's only scenario.
module_result() {
	case $1 in
	"not ok"*) echo FAIL ;;
	*"# XFAIL"*) echo XFAIL ;;
	*"# SKIP"*) echo SKIP ;;
	ok*) echo PASS ;;
	*) echo NONE ;;
	esac
}

# measure TEST SCENARIO RUN_MS NEED_STATS: run SCENARIO once and print its
# figures as the diagnostics of KTAP test TEST.
measure() {
	test=$1 scen=$2 ms=$3 need_stats=$4
	have_stats=0
	proxy_stats_reset && have_stats=1
	c0=$(ctxt_count)
	t0=$(now)
	rc=0
	timeout $((ms * 20 / 1000 + 120)) sh -c "echo $scen >$D/run" || rc=$?
	t1=$(now)
	c1=$(ctxt_count)
	[ "$have_stats" = 1 ] && cat "$PROXY_STATS" >"$snap"

	line=$(grep -E "^(not )?ok [0-9]+ $scen( #|\$)" "$D/results" | tail -n 1)
	result=$(module_result "$line")
	handoffs=$(sed -n 's/^# handoffs: \([0-9][0-9]*\)$/\1/p' "$D/results" | tail -n 1)
	ktap_diag "scenario: $scen"
	ktap_diag "rt_push_ipi_mode: $(sched_feat_get RT_PUSH_IPI)"
	ktap_diag "run_rc: $rc"
	ktap_diag "run_ms: $ms"
	ktap_diag "ctxt: $((c1 - c0))"
	ktap_diag "elapsed_s: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
	if [ -n "$handoffs" ]; then
		ktap_diag "handoffs_per_s: $(awk -v h="$handoffs" -v ms="$ms" 'BEGIN { printf "%.1f", h * 1000 / ms }')"
	fi
	ktap_diag "module_result: $result"
	case $line in *"# "*) ktap_diag "module_reason: ${line#*# }" ;; esac
	# The module's `# key: value` figures; its version, plan and result
	# lines are not part of this document.
	grep -E '^# [A-Za-z0-9_]+: ' "$D/results"
	if [ "$have_stats" = 1 ]; then
		sed -n 's/^total //p' "$snap" | tr ' ' '\n' | sed -n 's/^\([a-z_]*\)=\([0-9]*\)$/# \1: \2/p'
		grep '^cpu' "$snap" | while IFS= read -r l; do ktap_diag "proxy_stats $l"; done
	else
		ktap_diag "proxy_stats: unavailable"
	fi

	if [ "$rc" -ne 0 ] || [ "$result" = NONE ]; then
		ktap_not_ok "$test # the run failed (rc=$rc) or left no result for $scen"
	elif [ "$result" = SKIP ]; then
		ktap_skip "$test" "the module skipped $scen: ${line#*# SKIP }"
	elif [ "$need_stats" = 1 ] && [ "$have_stats" = 0 ]; then
		ktap_not_ok "$test # no $PROXY_STATS (CONFIG_SCHED_PROXY_STATS)"
	else
		ktap_ok "$test"
	fi
}

ktap_begin "$PLAN"
ktap_diag "bench_seed: $seed"
ktap_diag "bench_duration_ms: $duration_ms"
ktap_diag "bench_pushable_ms: $pushable_ms"
ktap_diag "bench_threads_per_cpu: $threads"
ktap_diag "bench_wait_bound_us: $wait_bound_us"
ktap_diag "bench_scenarios: $(echo "$scenarios" | tr ' ' ',')"
ktap_diag "bench_cpus: $(grep -c '^cpu[0-9]' /proc/stat)"

[ -d /sys/module/proxy_stress ] && modprobe -r proxy_stress
if modprobe proxy_stress seed="$seed" duration_ms="$duration_ms" pushable_ms="$pushable_ms" \
	threads_per_cpu="$threads" wait_bound_us="$wait_bound_us" && [ -w "$D/run" ]; then
	ktap_ok "load"
else
	ktap_not_ok "load"
	while [ "$KTAP_N" -lt "$PLAN" ]; do
		ktap_skip "not-run-$((KTAP_N + 1))" "proxy_stress did not load"
	done
	ktap_exit
fi

dmesg_before=$(dmesg_mark)
for scen in $scenarios; do
	measure "$scen" "$scen" "$duration_ms" 0
done

feat_saved=$(sched_feat_get RT_PUSH_IPI)
for mode in $MODES; do
	if sched_feat_set "$mode"; then
		measure "pushable-$mode" pushable "$pushable_ms" 1
	else
		ktap_not_ok "pushable-$mode # cannot set the $mode scheduler feature"
	fi
done
sched_feat_set "$feat_saved" || true
rm -f "$snap"

splats=$(splats_since "$dmesg_before")
if [ -z "$splats" ]; then
	ktap_ok "no-kernel-warnings"
else
	echo "$splats" | while IFS= read -r l; do ktap_diag "dmesg: $l"; done
	ktap_not_ok "no-kernel-warnings"
fi
ktap_check "unload" modprobe -r proxy_stress
ktap_exit
