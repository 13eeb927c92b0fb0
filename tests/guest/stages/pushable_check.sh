# shellcheck shell=sh
# Pushable-state checker stage: what CONFIG_SCHED_PUSHABLE_CHECK (patch
# 0013, both variants) counted since boot, over every stage run before this
# one in the plan (put it last). See the patch for the checks:
#   picked_running     a push or pull picked a running task; 0 required
#   overload_mismatch  rt/dl.overloaded vs the lists and rto/dlo masks; 0
#                      required
#   lost               a runnable, unblocked, queued RT/DL task that may
#                      run elsewhere, on no pushable list (the stranded
#                      donor, fixed by 0014 in both variants), at a
#                      switch, a wakeup or a tick's sweep of the queue;
#   running_listed     the task switched to is on a pushable list, and
#   unpushable_listed  a listed task that is mutex-blocked or bound:
#                      0 required on patched; on stock (lab.expect=stock)
#                      reported, as upstream's design keeps a proxy owner
#                      listed while it runs, so that it stays listed when
#                      it blocks, and never lists an owner whose affinity
#                      widens while it runs as proxy (docs/findings.md)
# and checks > 0: a checker that never ran proves nothing. The first
# violations the kernel logged of each kind are printed as diagnostics
# before that kind's result.
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

F=/sys/kernel/debug/sched/pushable_check
PLAN=7
expect=$(lab_param expect "")

# total KEY: a figure from the total line.
total() {
	sed -n "s/^total.* $1=\([0-9][0-9]*\).*/\1/p" "$F"
}

ktap_begin "$PLAN"
if [ ! -r "$F" ]; then
	ktap_not_ok "checker-present"
	ktap_diag "no $F: CONFIG_SCHED_PUSHABLE_CHECK is off"
	while [ "$KTAP_N" -lt "$PLAN" ]; do
		ktap_skip "not-run-$((KTAP_N + 1))" "no checker"
	done
	ktap_exit
fi
# Present, and anything but 0 is refused (0 would reset it).
if ! echo 1 >"$F" 2>/dev/null && grep -q '^total ' "$F"; then
	ktap_ok "checker-present"
else
	ktap_not_ok "checker-present"
fi

ktap_diag "expect=$expect $(grep '^total ' "$F")"
checks=$(total checks)
ktap_diag "checks: ${checks:-none}"
ktap_check "checker-ran" [ "${checks:-0}" -gt 0 ]

for kind in picked_running overload_mismatch; do
	n=$(total "$kind")
	ktap_diag "$kind: ${n:-missing}"
	grep "^violation $kind " "$F" | while read -r line; do ktap_diag "$line"; done
	ktap_check "$kind" [ "${n:-1}" -eq 0 ]
done

# The first violations of a kind go right before its result, where the
# report quotes the last one in a failure's reason.
for kind in lost running_listed unpushable_listed; do
	n=$(total "$kind")
	ktap_diag "$kind: ${n:-missing}"
	grep "^violation $kind " "$F" | while read -r line; do ktap_diag "$line"; done
	if [ "$expect" = stock ]; then
		# Reported, not asserted: upstream's design (see above).
		if [ -n "$n" ]; then ktap_ok "$kind # stock: $n"; else ktap_not_ok "$kind"; fi
	else
		ktap_check "$kind" [ "${n:-1}" -eq 0 ]
	fi
done
ktap_exit
