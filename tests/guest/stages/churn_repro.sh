# shellcheck shell=sh
# Reproducer for the churn hang (README, Status): runs proxy_stress's churn
# scenario lab.churn_rounds times (default 30) and, when a round does not
# finish within lab.churn_round_secs (default 90), prints what the kernel
# knows about each proxy_stress thread still blocked (D) or runnable (R):
# its stack and, when the kernel has event tracing (DEBUG=1), its own last
# sched and lock events, then all lock and wakeup events around the hang.
#   PLAN_RUN=churn_repro DEBUG=1 SMP=4 make run
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

D=/sys/kernel/debug/proxy_stress
T=/sys/kernel/debug/tracing
rounds=$(lab_param churn_rounds 30)
round_secs=$(lab_param churn_round_secs 90)
duration_ms=$(lab_param proxy_stress_duration_ms 1500)
rc_file=/tmp/churn_repro.rc

# This stage detects the hang itself and prints the evidence; a panic from
# the hung-task detector would cut that short.
echo 0 >/proc/sys/kernel/hung_task_panic

# trace_start: sched and lock events into a 4 MiB per-CPU ring buffer; false
# without tracing.
trace_start() {
	[ -w "$T/set_event" ] || return 1
	echo 4096 >"$T/buffer_size_kb"
	for e in sched:sched_switch sched:sched_waking sched:sched_wakeup \
		sched:sched_migrate_task sched:sched_kthread_stop \
		lock:contention_begin lock:contention_end; do
		echo "$e" >>"$T/set_event" || return 1
	done
	echo 1 >"$T/tracing_on"
}

# stuck_threads: PIDs of proxy_stress threads (ps_*) that are blocked (D) or
# runnable (R) after the round should have ended; each is listed with its
# state. Runnable ones would be starved rather than blocked.
stuck_threads() {
	for s in /proc/[0-9]*/stat; do
		read -r pid comm state _ <"$s" 2>/dev/null || continue
		case $comm in "(ps_"*) ;; *) continue ;; esac
		echo "# thread: $pid $comm $state" >&2
		case $state in D | R) echo "$pid" ;; esac
	done
}

# trace_ts LINE...: the timestamp (seconds) of each trace line on stdin.
trace_ts() { sed -n 's/.* \([0-9][0-9]*\.[0-9]*\): .*/\1/p'; }

# sched_state: per CPU, what runs and how many tasks each class has queued,
# and the proxy_stress threads each runqueue lists.
sched_state() {
	[ -r /sys/kernel/debug/sched/debug ] || return 0
	grep -E '^cpu#|^[dr][lt]_rq\[|\.(nr_running|curr->pid|dl_nr_running|rt_nr_running|rt_throttled) |ps_' \
		/sys/kernel/debug/sched/debug | sed 's/^/# sched_debug: /'
}

# report_hang: the evidence for every thread stuck in D or R state: its stack;
# with tracing, its own last events, then every lock and wakeup event from
# just before the first stuck thread blocked to the end, which shows who
# took and released the mutexes it waits on and whom they woke instead.
report_hang() {
	tracing=0 since=
	[ -r "$T/trace" ] && echo 0 >"$T/tracing_on" && tracing=1
	for pid in $(stuck_threads); do
		ktap_diag "stuck: pid $pid $(cat "/proc/$pid/comm") state $(cut -d" " -f3 "/proc/$pid/stat") wchan $(cat "/proc/$pid/wchan")"
		sed 's/^/# stack: /' "/proc/$pid/stack"
		# Its class and DL budget; with sched_state below this shows a
		# runnable DEADLINE task that no dl_rq counts. A kernel with
		# tests/debug/sched-dl-state.patch adds its dl_se flags, timers
		# and proxy state (dl.* and lab.*).
		grep -E '^(policy|prio|dl\.[a-z_]+|lab\.[a-z_]+|nr_switches|se\.exec_start) ' "/proc/$pid/sched" | sed 's/^/# sched: /'
		[ "$tracing" = 1 ] || continue
		grep -E -- "-$pid +\[|pid=$pid( |\$)" "$T/trace" | tail -n 40 | sed 's/^/# trace: /'
		# When it blocked for the last time: its last contention_begin.
		t=$(grep -E -- "-$pid +\[.*contention_begin:" "$T/trace" | tail -n 1 | trace_ts)
		if [ -n "$t" ] && { [ -z "$since" ] || [ "$(echo "$t $since" | awk '{ print ($1 < $2) }')" = 1 ]; }; then
			since=$t
		fi
	done
	sched_state
	[ -n "$since" ] || return 0
	ktap_diag "lock and wakeup events from 0.1 s before $since s to the end:"
	grep -E 'contention_|sched_wak|sched_migrate|sched_kthread_stop|prev_state=D' "$T/trace" |
		grep -vE 'prev_comm=ps_probe|sched_wak[a-z]*: comm=ps_probe|sched_migrate_task: comm=ps_probe' |
		awk -v t0="$since" '{
			if (match($0, /[0-9]+\.[0-9]+: /)) {
				ts = substr($0, RSTART, RLENGTH - 2) + 0
				if (ts >= t0 - 0.1) print "# trace: " $0
			}
		}'
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
	# The write returns when the round is over; its status lands in $rc_file.
	# (kill -0 cannot tell: a finished writer stays a zombie until waited.)
	rm -f "$rc_file"
	(
		if echo churn >"$D/run"; then echo 0; else echo 1; fi >"$rc_file"
	) &
	waited=0
	while [ ! -s "$rc_file" ] && [ "$waited" -lt "$round_secs" ]; do
		sleep 1
		waited=$((waited + 1))
	done
	if [ ! -s "$rc_file" ]; then
		ktap_diag "round $done_rounds: not finished after $round_secs s"
		report_hang
		hung=1
		break
	fi
	wait
	[ "$(cat "$rc_file")" = 0 ] || failed=$((failed + 1))
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
