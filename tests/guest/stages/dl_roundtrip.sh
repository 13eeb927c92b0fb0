# shellcheck shell=sh
# SCHED_DEADLINE policy round trips, on their own (the kselftest stage runs
# the same program among the other collections): dl_roundtrip from
# tests/selftests/dl_roundtrip, with lab.dl_roundtrip_args= (default: its
# own, 300 rounds per shape within 50 s), its KTAP as this stage's.
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

bin=/kselftest/dl_roundtrip/dl_roundtrip
args=$(lab_param dl_roundtrip_args "" | tr ',' ' ')
if [ ! -x "$bin" ]; then
	ktap_begin 1
	ktap_not_ok "dl_roundtrip # $bin is missing from the initramfs"
	ktap_exit
fi
rc=0
# shellcheck disable=SC2086 # the arguments are words
timeout 120 "$bin" $args || rc=$?
# 4 is kselftest's "all skipped": the KTAP says so and why.
[ "$rc" = 4 ] && rc=0
exit "$rc"
