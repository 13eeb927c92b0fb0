# shellcheck shell=sh
# The C test module of the stranded donor (CONFIG_SCHED_PROXY_EXEC_TEST,
# test_proxy_exec, also in patches/upstream/proxy-stranded/): a
# SCHED_FIFO donor woken in place after its owner was pushed to an idle CPU must
# get that CPU, not wait out a 300 ms hog. The load fails if a round
# stranded the donor, too few rounds were set up as required, or a round
# timed out; its "SKIP:" line (CPU1 or CPU2 offline, or a kernel that is
# not preemptible) makes it a skip.
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

ktap_begin 1
mark=$(dmesg_mark)
if modprobe test_proxy_exec 2>/dev/null; then rc=0; else rc=$?; fi
modprobe -r test_proxy_exec 2>/dev/null || true
log=$(dmesg_since "$mark" | grep 'test_proxy_exec: ' | sed 's/.*test_proxy_exec: //')
echo "$log" | sed 's/^/# /'
skip=$(echo "$log" | sed -n 's/^SKIP: //p' | head -n 1)
# One verdict line per run of the test: a loader that runs a failed
# module's init again must not turn its FAIL into the retry's PASS.
runs=$(echo "$log" | grep -c '^\(PASS\|FAIL\|SKIP\): ' || true)
ktap_diag "modprobe rc=$rc, test runs=$runs"
if echo "$log" | grep -q '^FAIL: '; then
	ktap_not_ok "stranded-module # $(echo "$log" | sed -n 's/^FAIL: //p' | head -n 1)"
elif [ "$rc" = 0 ] && [ "$runs" = 1 ] && echo "$log" | grep -q '^PASS: '; then
	ktap_ok "stranded-module"
elif [ -n "$skip" ]; then
	ktap_skip "stranded-module" "$skip"
else
	ktap_not_ok "stranded-module # modprobe rc=$rc"
fi
ktap_exit
