# shellcheck shell=sh
# Reproducer for the churn hang (README, Status): runs proxy_stress's churn
# scenario lab.churn_rounds times (default 30) and, when a round does not
# finish within lab.churn_round_secs (default 90), prints what the kernel
# knows about each proxy_stress thread still in D state: its stack and, when
# the kernel has event tracing (DEBUG=1), the sched and lock events that
# involve it and the mutex it waits on.
#   PLAN_RUN=churn_repro DEBUG=1 SMP=4 make run
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

D=/sys/kernel/debug/proxy_stress
T=/sys/kernel/debug/tracing
rounds=$(lab_param churn_rounds 30)
round_secs=$(lab_param churn_round_secs 90)
duration_ms=$(lab_param proxy_stress_duration_ms 1500)

# This stage detects the hang itself and prints the evidence; a panic from
# the hung-task detector would cut that short.
echo 0 >/proc/sys/kernel/hung_task_panic

# trace_start: sched and lock events into a 4 MiB per-CPU ring buffer; false
# without tracing.
trace_start() {
	[ -w "$T/set_event" ] || return 1
	echo 4096 >"$T/buffer_size_kb"
	for e in sched:sched_switch sched:sched_waking sched:sched_kthread_stop \
		lock:contention_begin lock:contention_end; do
		echo "$e" >>"$T/set_event" || return 1
	done
	echo 1 >"$T/tracing_on"
}

# d_state_threads: PIDs of proxy_stress threads (ps_*) in D state.
d_state_threads() {
	for s in /proc/[0-9]*/stat; do
		read -r pid comm state _ <"$s" 2>/dev/null || continue
		case $comm:$state in "(ps_"*"):D") echo "$pid" ;; esac
	done
}

# report_hang: the evidence for every thread stuck in D state.
report_hang() {
	tracing=0
	[ -r "$T/trace" ] && echo 0 >"$T/tracing_on" && tracing=1
	for pid in $(d_state_threads); do
		ktap_diag "stuck: pid $pid $(cat "/proc/$pid/comm") wchan $(cat "/proc/$pid/wchan")"
		sed 's/^/# stack: /' "/proc/$pid/stack"
		[ "$tracing" = 1 ] || continue
		# The last 60 events that name the thread (as task, waker or wakee).
		grep -E -- "-$pid +\[|pid=$pid( |\$)" "$T/trace" | tail -n 60 | sed 's/^/# trace: /'
		# The mutex it waits on: its last contention_begin; then every
		# thread's contention on that lock.
		lock=$(grep -E -- "-$pid +\[.*contention_begin:" "$T/trace" | tail -n 1 |
			sed -n 's/.*contention_begin: \(0x[0-9a-f]*\).*/\1/p')
		[ -n "$lock" ] || continue
		ktap_diag "mutex $lock: its last 40 contention events"
		grep -F -- "$lock" "$T/trace" | tail -n 40 | sed 's/^/# trace: /'
	done
}

ktap_begin 2
# shellcheck disable=SC2015 # a failed trace_start only loses the trace
trace_start && ktap_diag "tracing: sched and lock events" ||
	ktap_diag "tracing: not available (boot DEBUG=1 for the trace)"
if ! modprobe proxy_stress duration_ms="$duration_ms"; then
	ktap_not_ok "load"
	ktap_skip "rounds" "module not loaded"
	ktap_exit
fi
ktap_ok "load"

hung=0 failed=0 done_rounds=0
while [ "$done_rounds" -lt "$rounds" ]; do
	done_rounds=$((done_rounds + 1))
	echo churn >"$D/run" &
	writer=$!
	waited=0
	while kill -0 "$writer" 2>/dev/null && [ "$waited" -lt "$round_secs" ]; do
		sleep 1
		waited=$((waited + 1))
	done
	if kill -0 "$writer" 2>/dev/null; then
		ktap_diag "round $done_rounds: not finished after $round_secs s"
		report_hang
		hung=1
		break
	fi
	wait "$writer" || failed=$((failed + 1))
	grep -q '^not ok' "$D/results" && failed=$((failed + 1))
	ktap_diag "round $done_rounds: ${waited}s, $(grep -E '^ *# (iterations|wait_max_us|stopped_waiting):' "$D/results" | tr -d '#' | tr '\n' ' ')"
done

if [ "$hung" = 1 ]; then
	ktap_not_ok "rounds # churn hung in round $done_rounds of $rounds"
	# The stuck threads cannot be stopped: leave the module loaded.
elif [ "$failed" -gt 0 ]; then
	ktap_not_ok "rounds # $failed of $done_rounds rounds failed"
	modprobe -r proxy_stress
else
	ktap_ok "rounds # $done_rounds rounds of churn, none hung"
	modprobe -r proxy_stress
fi
ktap_exit
