# shellcheck shell=sh
# Stress proxy execution with the lab's Rust module proxy_stress: load it,
# run the default scenarios through debugfs, copy the module's own KTAP
# results to the console as a nested block, unload.
#
# lab.proxy_stress_mode=expect-inversion (for a boot with sched_proxy_exec=0)
# runs only rt-inversion, which must then detect the priority inversion:
# the stage passes only if it does (the module reports it as XFAIL).
#
# Module parameters can be passed as lab.proxy_stress_<param>=VALUE for
# seed, duration_ms, threads_per_cpu, wait_bound_us and pushable_ms.
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

D=/sys/kernel/debug/proxy_stress
# churn runs by default. lab.proxy_stress_churn=0 leaves it out, for a tree
# without the SCHED_DEADLINE fixes 0011 and 0012, where it hangs (README,
# Status); any value but 0 or 1 fails the stage.
SCENARIOS=rt-inversion,dl-donor,chain,cross-cpu,owner-moves,reblock,stranded,dl-timers,rt-boost,churn
CHURN_SKIP='' CHURN_BAD=''
churn=$(lab_param proxy_stress_churn 1)
case $churn in
1) ;;
0) CHURN_SKIP="left out by lab.proxy_stress_churn=0" ;;
*) CHURN_BAD="lab.proxy_stress_churn='$churn' is not 0 or 1" ;;
esac
[ -z "$CHURN_SKIP$CHURN_BAD" ] || SCENARIOS=${SCENARIOS%,churn}

# churn_left_out: the churn line of a run without churn.
churn_left_out() {
	if [ -n "$CHURN_SKIP" ]; then
		ktap_skip "churn" "$CHURN_SKIP"
	elif [ -n "$CHURN_BAD" ]; then
		ktap_not_ok "churn # $CHURN_BAD"
	fi
}
KMEMLEAK=/sys/kernel/debug/kmemleak
mode=$(lab_param proxy_stress_mode normal)

params=
for p in seed duration_ms threads_per_cpu wait_bound_us pushable_ms; do
	v=$(lab_param "proxy_stress_$p" "")
	[ -n "$v" ] && params="$params $p=$v"
done

# run_scenarios WHAT: runs scenarios (synchronously) through debugfs.
run_scenarios() {
	echo "$1" >"$D/run"
}

# nested_results: the module's KTAP, indented as a subtest block.
nested_results() {
	sed 's/^/    /' "$D/results"
}

plan=5
[ -n "$CHURN_SKIP$CHURN_BAD" ] && plan=6
ktap_begin "$plan"
ktap_diag "mode: $mode"
[ -n "$params" ] && ktap_diag "params:$params"
# shellcheck disable=SC2086 # word splitting of the parameter list is wanted
if modprobe proxy_stress $params && [ -w "$D/run" ]; then
	ktap_ok "load"
else
	ktap_not_ok "load"
	ktap_skip "run" "module not loaded"
	ktap_skip "no-kernel-warnings" "module not loaded"
	ktap_skip "unload" "module not loaded"
	ktap_skip "no-leaks" "module not loaded"
	churn_left_out
	ktap_exit
fi

dmesg_before=$(dmesg_mark)
# Forget what kmemleak found before, so that what it reports after the
# unload was allocated while the module ran.
[ -w "$KMEMLEAK" ] && echo clear >"$KMEMLEAK"
start=$(cut -d' ' -f1 /proc/uptime)
if [ "$mode" = expect-inversion ]; then
	rc=0
	run_scenarios rt-inversion || rc=$?
	nested_results
	ktap_diag "run: rc=$rc start=$start end=$(cut -d' ' -f1 /proc/uptime)"
	# The inversion must have been seen: rt-inversion is XFAIL with
	# inversions > 0 (with proxy execution on it would be a plain "ok").
	inv=$(sed -n 's/^# inversions: //p' "$D/results" | tail -n 1)
	if [ "$rc" -eq 0 ] && grep -q '^ok 1 rt-inversion # XFAIL' "$D/results" &&
		[ "${inv:-0}" -gt 0 ]; then
		ktap_ok "run # XFAIL rt-inversion detected the inversion ($inv rounds in which a spinner ran while the waiter was blocked) with proxy exec off"
	else
		ktap_not_ok "run # rt-inversion did not detect the inversion (inversions=${inv:-none})"
	fi
else
	rc=0
	run_scenarios "$SCENARIOS" || rc=$?
	nested_results
	ktap_diag "run: rc=$rc start=$start end=$(cut -d' ' -f1 /proc/uptime)"
	if [ "$rc" -eq 0 ] && grep -q '^1\.\.[1-9]' "$D/results" &&
		! grep -q '^not ok' "$D/results"; then
		ktap_ok "run"
	else
		ktap_not_ok "run"
	fi
fi

# Splats during the run fail it even when every invariant held.
splats=$(splats_since "$dmesg_before")
if [ -z "$splats" ]; then
	ktap_ok "no-kernel-warnings"
else
	echo "$splats" | sed 's/^/# splat: /'
	ktap_not_ok "no-kernel-warnings"
fi

churn_left_out
ktap_check "unload" modprobe -r proxy_stress

# The debug variant (DEBUG=1) has kmemleak. It reports an object only once
# it is older than 5 s and a scan found no reference to it.
if [ -w "$KMEMLEAK" ]; then
	sleep 6
	echo scan >"$KMEMLEAK"
	echo scan >"$KMEMLEAK"
	leaks=$(grep -c '^unreferenced object' "$KMEMLEAK")
	if [ "$leaks" -eq 0 ]; then
		ktap_ok "no-leaks"
	else
		head -n 40 "$KMEMLEAK" | sed 's/^/# kmemleak: /'
		ktap_not_ok "no-leaks"
	fi
else
	ktap_skip "no-leaks" "no kmemleak in this kernel (DEBUG=1 has it)"
fi
ktap_exit
