# shellcheck shell=sh
# Self-test of the hang path: a proxy_stress thread that never finishes must
# give a result, not a boot timeout. proxy_stress plant_stuck=1 makes the
# first thread of the first scenario never report its loop done (it sleeps
# interruptibly, so hung_task does not panic the guest). Asserted:
#   - the debugfs write fails (ETIMEDOUT) after the run's grace period;
#   - the results say "not ok 1 rt-inversion # stuck" with a "# stuck:" line
#     naming the thread;
#   - the kernel log has its stack (sched_show_task) and says the module is
#     pinned;
#   - the module refuses to unload, instead of hanging or freeing memory the
#     thread still uses.
# Put it last in a plan: the module stays loaded until the reboot.
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

D=/sys/kernel/debug/proxy_stress
ktap_begin 5
if ! modprobe proxy_stress plant_stuck=1 duration_ms=300; then
	ktap_not_ok "load"
	for t in write-fails stuck-result stack-and-pin unload-refused; do ktap_skip "$t" "not loaded"; done
	ktap_exit
fi
ktap_ok "load"
dmesg_before=$(dmesg_mark)
start=$(cut -d' ' -f1 /proc/uptime)
if err=$({ echo rt-inversion >"$D/run"; } 2>&1); then written=1; else written=0; fi
ktap_diag "write: ${err:-succeeded} (after $(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }') s)"
sed 's/^/# results: /' "$D/results"
# busybox sh reports ETIMEDOUT as "Connection timed out".
if [ "$written" = 0 ] && echo "$err" | grep -qi 'timed out'; then ktap_ok "write-fails"; else ktap_not_ok "write-fails"; fi
if grep -q '^not ok 1 rt-inversion # stuck' "$D/results" && grep -q '^# stuck: .* pid [0-9]* cpu [0-9]*' "$D/results"; then
	ktap_ok "stuck-result"
else
	ktap_not_ok "stuck-result"
fi
log=$(dmesg_since "$dmesg_before")
echo "$log" | grep -E 'proxy_stress|task:' | head -n 8 | sed 's/^/# dmesg: /'
if echo "$log" | grep -q 'task:' && echo "$log" | grep -q 'stuck threads; module pinned'; then
	ktap_ok "stack-and-pin"
else
	ktap_not_ok "stack-and-pin"
fi
if modprobe -r proxy_stress 2>/dev/null; then ktap_not_ok "unload-refused"; else ktap_ok "unload-refused"; fi
ktap_exit
