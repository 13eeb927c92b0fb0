# shellcheck shell=sh
# locktorture with the proxy-exec author's parameters (torture.random_shuffle=1
# writer_fifo=1 nested_locks=8 rt_boost=1 rt_boost_factor=50 stutter=0),
# for mutex_lock, rtmutex_lock and ww_mutex_lock in turn, each for
# lab.locktorture_secs (60) seconds. The module is then removed, which
# makes it print its final statistics and "End of test: SUCCESS|FAILURE".
#
# One test per type. It passes only if, in the kernel log of that run:
# the type's "End of test: SUCCESS" line is there, no statistics line
# reports "Fail: N" with N != 0, and there is no splat.
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

TYPES="mutex_lock rtmutex_lock ww_mutex_lock"
SECS=$(lab_param locktorture_secs 60)
# Upper bound for rmmod: it stops every torture kthread first.
UNLOAD_SECS=$(lab_param locktorture_unload_secs 120)
PARAMS="writer_fifo=1 nested_locks=8 rt_boost=1 rt_boost_factor=50 stutter=0"

# unload: rmmod locktorture within UNLOAD_SECS; false if it hangs. kmod's
# rmmod, by path, as lib.sh's modprobe.
unload() {
	/sbin/rmmod locktorture &
	pid=$!
	n=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$n" -ge "$UNLOAD_SECS" ]; then
			return 1
		fi
		sleep 1
		n=$((n + 1))
	done
	wait "$pid"
}

ktap_begin 3
ktap_diag "locktorture: $SECS s per type; params: torture.random_shuffle=1 $PARAMS"
stuck=""
for type in $TYPES; do
	name="locktorture-$type"
	if [ -n "$stuck" ]; then
		ktap_not_ok "$name # not run: locktorture $stuck did not unload"
		continue
	fi
	marker=$(dmesg_mark)
	ok=1
	# random_shuffle is a parameter of the torture module, which
	# locktorture needs; load it first with it.
	if ! modprobe torture random_shuffle=1; then
		ktap_diag "$type: modprobe torture failed"
		ok=0
	elif [ "$(cat /sys/module/torture/parameters/random_shuffle 2>/dev/null)" != 1 ]; then
		ktap_diag "$type: torture.random_shuffle is not 1 (torture built in? then pass it on the kernel command line)"
		ok=0
	fi
	# shellcheck disable=SC2086 # PARAMS is a list
	if [ "$ok" = 1 ] && ! modprobe locktorture torture_type="$type" $PARAMS; then
		ktap_diag "$type: modprobe locktorture failed"
		ktap_not_ok "$name"
		modprobe -r torture 2>/dev/null
		continue
	fi
	[ "$ok" = 1 ] || {
		ktap_not_ok "$name"
		continue
	}
	sleep "$SECS"
	if ! unload; then
		ktap_diag "$type: rmmod locktorture still running after $UNLOAD_SECS s"
		stuck=$type
		ok=0
	else
		modprobe -r torture
	fi
	log=$(dmesg_since "$marker")
	dmesg | grep -qF "$marker" ||
		ktap_diag "$type: the kernel log lost its start mark (ring buffer wrapped?); judged on the whole log"
	# The start and end lines (with the parameters) and the statistics.
	echo "$log" | grep -E "^(\[[^]]*\] )?($type-torture:--- (Start|End) of test|(Writes|Reads ?):  Total:)" |
		sed "s/^/# $type: /"
	if ! echo "$log" | grep -qE "^(\[[^]]*\] )?$type-torture:--- End of test: SUCCESS"; then
		ktap_diag "$type: no 'End of test: SUCCESS'"
		ok=0
	fi
	if echo "$log" | grep -E "(Writes|Reads ?):  Total:" | grep -qE "Fail: [1-9]"; then
		ktap_diag "$type: statistics report failures"
		ok=0
	fi
	splat=$(echo "$log" | splat_lines)
	if [ -n "$splat" ]; then
		echo "$splat" | head -n 20 | sed "s/^/# $type: splat: /"
		ok=0
	fi
	if [ "$ok" = 1 ]; then ktap_ok "$name"; else ktap_not_ok "$name"; fi
done
ktap_exit
