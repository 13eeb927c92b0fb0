# shellcheck shell=sh
# SCHED_DEADLINE policy round trips, on their own (the kselftest stage runs
# the same program among the other collections): dl_roundtrip from
# tests/selftests/dl_roundtrip, with lab.dl_roundtrip_args= (default: its
# own, 300 rounds per shape within 50 s), its KTAP as this stage's.
# lab.dl_roundtrip_features=HRTICK_DL,... sets scheduler features for the
# run (the deadline class enforces a budget between ticks only with
# HRTICK_DL, on by default only with CONFIG_HRTIMER_REARM_DEFERRED).
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

bin=/kselftest/dl_roundtrip/dl_roundtrip
args=$(lab_param dl_roundtrip_args "" | tr ',' ' ')
features=$(lab_param dl_roundtrip_features "" | tr ',' ' ')
if [ ! -x "$bin" ]; then
	ktap_begin 1
	ktap_not_ok "dl_roundtrip # $bin is missing from the initramfs"
	ktap_exit
fi
saved=""
for f in $features; do
	name=${f#NO_}
	saved="$saved $(sched_feat_get "$name")"
	if ! sched_feat_set "$f"; then
		ktap_begin 1
		ktap_not_ok "dl_roundtrip # scheduler feature $f did not take ($SCHED_FEATURES)"
		ktap_exit
	fi
done
# The features that decide how a budget is enforced, as the run sees them.
ktap_diag "sched features: $(sched_feat_get HRTICK) $(sched_feat_get HRTICK_DL)"
# With tracefs (a DEBUG=1 kernel), marks in the trace buffer, and tracing
# stopped at the first stall, for the trace lines below.
[ -w /sys/kernel/debug/tracing/trace_marker ] && args="-T $args"
rc=0
# shellcheck disable=SC2086 # the arguments are words
timeout 600 "$bin" $args || rc=$?
for f in $saved; do sched_feat_set "$f" || rc=1; done
# A kernel with tests/debug/sched-deadline-trace.patch: the deadline class's
# own lines around a failure, among the program's marks.
trace=/sys/kernel/debug/tracing/trace
if [ "$rc" = 1 ] && [ -r "$trace" ] && grep -q ' dl pid=' "$trace"; then
	ktap_diag "the last 400 deadline trace lines:"
	grep -E ' dl pid=|dl_roundtrip:' "$trace" | tail -n 400 | sed 's/^/# trace: /'
fi
# -T stopped tracing at the first stall: later stages trace again.
tracing_on=/sys/kernel/debug/tracing/tracing_on
if [ -w "$tracing_on" ]; then echo 1 >"$tracing_on"; fi
# 4 is kselftest's "all skipped": the KTAP says so and why.
[ "$rc" = 4 ] && rc=0
exit "$rc"
