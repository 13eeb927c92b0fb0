# shellcheck shell=sh
# Kselftests: the kernel's own selftests installed by scripts/kselftest.sh
# in /kselftest, run with run_kselftest.sh -c for each collection.
#
# Output is two KTAP documents: first the lab's own lines (a collection
# that is missing, every test of the skip list /kselftest/lab-skip.txt and
# every test whose interpreter the guest lacks, each as "ok N NAME # SKIP
# REASON"), then run_kselftest.sh's TAP with those tests left out (-S).
# Exit status 1 if any test failed.
#
# lab.kselftest_collections=a,b on the kernel command line replaces the
# collection list.
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

KSFT=/kselftest
LIST=$KSFT/kselftest-list.txt
SKIPS=$KSFT/lab-skip.txt
REQUIRED="locking futex/functional rust timers"
# Each built only when tests/selftests/NAME/Makefile exists.
OPTIONAL="proxy_exec dl_roundtrip"

# Shorter runs of the timers tests (runner.sh's KSELFTEST_<NAME>_ARGS):
# inconsistency-check checks 12 clock ids for 10 s each by default,
# threadtest runs for 30 s.
export KSELFTEST_INCONSISTENCY_CHECK_ARGS="-t 2"
export KSELFTEST_THREADTEST_ARGS="-t 10"
# lab.proxy_stress_churn=0 leaves churn out of the proxy_exec kselftest too.
PROXY_STRESS_CHURN=$(lab_param proxy_stress_churn 1)
export PROXY_STRESS_CHURN

if [ ! -x "$KSFT/run_kselftest.sh" ] || [ ! -r "$LIST" ] || [ ! -r "$SKIPS" ]; then
	ktap_begin 1
	ktap_not_ok "kselftest-installed # $KSFT is missing or incomplete: run scripts/kselftest.sh before scripts/initramfs.sh"
	ktap_exit
fi

# runner.sh writes each test's output to $logfile, /dev/stdout, and notes
# to /dev/kmsg. The kernel does not mount devtmpfs over an initramfs, and
# devtmpfs has no /dev/stdout: appending to a missing name would make a
# regular file and lose the output.
grep -q '^[^ ]* /dev devtmpfs' /proc/mounts || mount -t devtmpfs devtmpfs /dev
for fd in stdin:0 stdout:1 stderr:2; do
	[ -L "/dev/${fd%:*}" ] || { rm -f "/dev/${fd%:*}"; ln -s "/proc/self/fd/${fd#*:}" "/dev/${fd%:*}"; }
done
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

# Results of the first document, one "skip|not_ok|NAME|REASON" per line.
lab=/tmp/kselftest-lab.txt
: >"$lab"
# run_kselftest.sh arguments.
args=""
collections=""

wanted=$(lab_param kselftest_collections "" | tr ',' ' ')
for c in ${wanted:-$REQUIRED $OPTIONAL}; do
	if grep -q "^$c:" "$LIST"; then
		collections="$collections $c"
		args="$args -c $c"
	elif [ -z "$wanted" ] && case " $OPTIONAL " in *" $c "*) true ;; *) false ;; esac then
		echo "skip|selftests: $c|not built (scripts/kselftest.sh found no tests/selftests/$c/Makefile)" >>"$lab"
	else
		echo "not_ok|selftests: $c|collection not installed in $KSFT" >>"$lab"
	fi
done

# in_run COLLECTION:TEST: true if the test is installed and its collection
# is to run.
in_run() {
	grep -qx "$1" "$LIST" && case " $collections " in *" ${1%%:*} "*) true ;; *) false ;; esac
}

# The skip list: "COLLECTION:TEST ARCHES [FILTER] REASON...", ARCHES "all"
# or a comma list of uname -m values. Without FILTER the whole test is left
# out (run_kselftest.sh -S). FILTER, one of kselftest_harness.h's exclusions
# -FNAME (fixture), -VNAME (variant) or -TNAME (test), leaves out only those
# cases of a harness test, through runner.sh's KSELFTEST_<TEST>_ARGS.
arch=$(uname -m)
skipped=" "
while read -r test arches reason; do
	case $test in '' | '#'*) continue ;; esac
	case ",$arches," in ",all," | *",$arch,"*) ;; *) continue ;; esac
	case $reason in -[FVT]*) continue ;; esac
	if in_run "$test"; then
		skipped="$skipped$test "
		args="$args -S $test"
		echo "skip|selftests: ${test%%:*}: ${test#*:}|$reason" >>"$lab"
	elif ! grep -qx "$test" "$LIST"; then
		ktap_diag "skip list entry $test is not an installed test"
	fi
done <"$SKIPS"
while read -r test arches filter reason; do
	case $test in '' | '#'*) continue ;; esac
	case ",$arches," in ",all," | *",$arch,"*) ;; *) continue ;; esac
	case $filter in -[FVT]?*) ;; *) continue ;; esac
	case $filter in *[!A-Za-z0-9_.-]*)
		ktap_diag "skip list entry $test $filter: bad filter"
		continue
		;;
	esac
	case $skipped in *" $test "*) continue ;; esac
	if ! in_run "$test"; then
		grep -qx "$test" "$LIST" || ktap_diag "skip list entry $test is not an installed test"
		continue
	fi
	# runner.sh's name for the variable.
	var=KSELFTEST_$(printf '%s' "${test#*:}" | tr -d '[:blank:][:cntrl:]' |
		tr -c '[:alnum:]_' '_' | tr '[:lower:]' '[:upper:]')_ARGS
	eval "$var=\"\${$var:-} \$filter\"; export $var"
	case $filter in -F*) what=fixture ;; -V*) what=variant ;; *) what="test" ;; esac
	echo "skip|selftests: ${test%%:*}: ${test#*:}: $what ${filter#-?}|$reason" >>"$lab"
done <"$SKIPS"

# Scripts whose interpreter the guest lacks (e.g. #!/bin/bash) would fail
# with exit 127; say so instead.
for c in $collections; do
	sed -n "s|^$c:||p" "$LIST" >/tmp/kselftest-tests.txt
	while read -r t; do
		case $skipped in *" $c:$t "*) continue ;; esac
		f=$KSFT/$c/$t
		[ "$(head -c 2 "$f")" = "#!" ] || continue
		interp=$(head -n 1 "$f" | cut -c 3- | awk '{ print $1 }')
		[ -x "$interp" ] && continue
		args="$args -S $c:$t"
		echo "skip|selftests: $c: $t|interpreter $interp is not in the guest" >>"$lab"
	done </tmp/kselftest-tests.txt
done

if [ -s "$lab" ]; then
	ktap_begin "$(wc -l <"$lab")"
	while IFS='|' read -r kind name reason; do
		if [ "$kind" = skip ]; then
			ktap_skip "$name" "$reason"
		else
			ktap_not_ok "$name # $reason"
		fi
	done <"$lab"
fi

# Nothing to run would make run_kselftest.sh run every installed test.
rc=0
if [ -n "$collections" ]; then
	# shellcheck disable=SC2086 # word splitting of the option list
	(cd "$KSFT" && ./run_kselftest.sh $args) || rc=$?
fi
[ "$rc" = 0 ] || KTAP_FAILED=1
ktap_exit
