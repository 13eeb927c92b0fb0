# shellcheck shell=sh
# test-ww_mutex loaded lab.ww_loops (30) times in a row, each load one
# result: how often its cycle test or any other part fails, per
# configuration (by hand: PLAN_RUN=ww_mutex_loop make run, with
# VARIANT=stock or PROXY_EXEC=0 for the others). Needs 0015: without it
# one failed load makes every later one fail with -EEXIST.
# A failed load names the class that was running ("wound" or "die") and
# the failing line; the last line sums the failures by kind. A load whose
# test ran more than once (each run prints "Beginning ww (wound)") had a
# first run that failed and was run again by the loader (busybox's modprobe
# does that; lib.sh's modprobe is kmod's): it counts as the failure of its
# first run.
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

loops=$(lab_param ww_loops 30)
case $loops in '' | *[!0-9]* | 0)
	ktap_begin 1
	ktap_not_ok "ww-loops # lab.ww_loops='$loops' is not a positive integer"
	ktap_exit
	;;
esac
ktap_begin "$loops"
i=0
cycle=0
other=0
total_secs=0
while [ "$i" -lt "$loops" ]; do
	i=$((i + 1))
	mark=$(dmesg_mark)
	start=$(cut -d' ' -f1 /proc/uptime)
	if modprobe test-ww_mutex 2>/dev/null; then rc=0; else rc=$?; fi
	end=$(cut -d' ' -f1 /proc/uptime)
	modprobe -r test-ww_mutex 2>/dev/null || true
	log=$(dmesg_since "$mark")
	runs=$(echo "$log" | grep -c 'Beginning ww (wound) mutex selftests' || true)
	# The first run's lines, up to the second run's start, if any.
	first=$(echo "$log" | awk '/Beginning ww \(wound\) mutex selftests/ && n++ { exit } { print }')
	# The class whose run printed the error: the last "Beginning ww (...)" before it.
	class=$(echo "$first" | sed -n 's/.*Beginning ww (\([a-z]*\)) mutex selftests.*/\1/p' | tail -n 1)
	errs=$(echo "$first" | grep -E 'cyclic deadlock not resolved|backed off|failed to resolve|missed ABBA|EEXIST|kobject_add' | head -n 3)
	[ "$runs" -gt 1 ] && [ "$rc" = 0 ] && rc=rerun
	[ -n "$errs" ] && echo "$errs" | sed "s/^/# load $i: /"
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	total_secs=$(awk -v t="$total_secs" -v s="$secs" 'BEGIN { printf "%.1f", t + s }')
	ktap_diag "load $i: rc=$rc runs=$runs secs=$secs class=${class:-none}"
	if [ "$rc" = 0 ]; then
		ktap_ok "load-$i"
	elif echo "$errs" | grep -q 'cyclic deadlock not resolved\|backed off'; then
		cycle=$((cycle + 1))
		ktap_not_ok "load-$i # cycle test, ${class:-unknown} class"
	else
		other=$((other + 1))
		ktap_not_ok "load-$i # rc=$rc"
	fi
done
ktap_diag "ww-loops: loads=$loops cycle_failed=$cycle other_failed=$other secs=$total_secs"
ktap_exit
