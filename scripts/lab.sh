#!/usr/bin/env bash
# The lab's driver; the Makefile is a thin front end to it.
#   lab.sh prepare ARCH VARIANT      toolchain, source, patches, build, initramfs
#   lab.sh run ARCH VARIANT PLAN     prepare, boot with PLAN, report (one run folder)
#   lab.sh repeat ARCH VARIANT PLAN  the same run BOOTS times (10); one summary
#   lab.sh test                      host tests, then the test matrix; one summary
#   lab.sh host-tests                labreport's cargo test and shellcheck
# Exit codes: 0 pass, 1 test failure, 2 infrastructure/incomplete, 3 panic/splat.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/arch.sh
. "$(dirname "$0")/arch.sh"

RESULTS=${RESULTS:-$LAB_ROOT/results}
# QEMU and labreport run in the sysroot and write into the run folder.
mkdir -p "$RESULTS"
export LAB_BINDS="$RESULTS=$RESULTS"
# Host stage records for the report: "name=STATUS:secs".
host_stages=()

# prepare ARCH VARIANT [BOOT_DIR]: everything up to a bootable build;
# prints BUILD_DIR. With BOOT_DIR, the kernel image and initramfs are copied
# there under the same lock, so that a run boots (and its reproducer names)
# files that no later build replaces.
prepare() {
	local arch=$1 variant=$2 boot=${3:-} base tree build tree_lock
	arch_setup "$arch"
	build_name "$arch" "$variant" >/dev/null
	# Explicit checks: run() calls this where errexit does not apply.
	# The sysroot and the imported source are shared by every run on the
	# cache; a variant's worktree and the builds made from it are locked
	# together, since a re-apply rewrites what a build reads.
	(cache_lock setup && "$LAB_ROOT/scripts/toolchain.sh" all) || return
	base=$( (cache_lock setup && VARIANT=$variant "$LAB_ROOT/scripts/source.sh") | tail -n 1) || return
	tree_lock=tree-$variant$([ -n "${KERNEL_SRC:-}" ] && echo "-user-$(user_tree_id)")
	cache_lock "$tree_lock"
	tree=$("$LAB_ROOT/scripts/patches.sh" "$base" "$variant" | tail -n 1) || return
	build=$("$LAB_ROOT/scripts/build.sh" "$arch" "$variant" "$tree" | tail -n 1) || return
	"$LAB_ROOT/scripts/kselftest.sh" "$arch" "$build" "$tree" || return
	"$LAB_ROOT/scripts/initramfs.sh" "$arch" "$build" || return
	if [ -n "$boot" ]; then
		mkdir -p "$boot/$(dirname "$KIMAGE")"
		cp "$build/$KIMAGE" "$boot/$KIMAGE" || return
		cp "$build/initramfs.cpio" "$boot/initramfs.cpio" || return
	fi
	printf '%s\n' "$build"
}

# run ARCH VARIANT PLAN: one boot in its own run folder; exit code as above.
run() {
	local arch=$1 variant=$2 plan=$3 name run build qemu_rc=0 rc=0 t0 extra=()
	host_stages=()
	arch_setup "$arch"
	name=$(build_name "$arch" "$variant")
	[ "${PROXY_EXEC:-1}" = 0 ] && name+=-noproxy
	run=${RUN_DIR:-$RESULTS/$(date +%Y%m%d-%H%M%S)-$name}
	mkdir -p "$run/logs"
	export LOG_DIR=$run/logs
	log "run folder: $run"

	t0=$SECONDS
	if ! build=$(prepare "$arch" "$variant" "$run/boot" | tail -n 1) || [ -z "$build" ]; then
		host_stages+=("prepare=FAIL:$((SECONDS - t0))")
		: >"$run/console.log"
	else
		host_stages+=("prepare=PASS:$((SECONDS - t0))")
		"$LAB_ROOT/scripts/toolchain.sh" versions >"$run/versions.txt" 2>&1 || true
		t0=$SECONDS
		# Guest stages that compare variants assert what this variant
		# predicts; with proxy exec off, rt-inversion must see the inversion.
		local cmd="lab.expect=$variant lab.locktorture_secs=${LOCKTORTURE_SECS:-60}"
		[ "${PROXY_EXEC:-1}" = 0 ] && cmd+=" lab.proxy_stress_mode=expect-inversion"
		EXTRA_CMDLINE="$cmd ${EXTRA_CMDLINE:-}" \
			"$LAB_ROOT/qemu/run.sh" "$arch" "$run/boot" "$run" "$plan" || qemu_rc=$?
		host_stages+=("boot=$([ "$qemu_rc" = 0 ] && echo PASS || echo FAIL):$((SECONDS - t0))")
		[ "$qemu_rc" = 124 ] && extra+=(--timed-out)
	fi
	local hs=()
	for s in "${host_stages[@]}"; do hs+=(--host-stage "$s"); done
	labreport console --log "$run/console.log" --out "$run/result.json" \
		--qemu-rc "$qemu_rc" "${extra[@]}" "${hs[@]}" \
		--meta "arch=$arch" --meta "variant=$variant" --meta "plan=$plan" \
		--meta "proxy_exec=${PROXY_EXEC:-1}" --meta "debug=${DEBUG:-0}" \
		--meta "run_dir=$run" | tee "$run/summary.txt" || rc=$?
	log "results: $run (result.json, console.log, logs/)"
	return "$rc"
}

# Every step is checked: test_all() calls this where errexit is off.
host_tests() {
	# cargo runs in the sysroot: provision it first on a fresh machine.
	"$LAB_ROOT/scripts/toolchain.sh" all || return
	in_toolchain cargo test -q --offline --manifest-path "$LAB_ROOT/tools/labreport/Cargo.toml" \
		--target-dir "$LABREPORT_TARGET" || return
	in_toolchain cargo clippy -q --offline --all-targets \
		--manifest-path "$LAB_ROOT/tools/labreport/Cargo.toml" \
		--target-dir "$LABREPORT_TARGET" -- -D warnings || return
	# toolchain.sh installed shellcheck with the other host packages.
	need_cmd shellcheck
	"$LAB_ROOT/tests/host/bad-vars.sh" || return
	"$LAB_ROOT/tests/host/guest-splats.sh" || return
	"$LAB_ROOT/tests/host/guest-dmesg-since.sh" || return
	"$LAB_ROOT/tests/host/labreport-build-fails.sh" || return
	"$LAB_ROOT/tests/host/check-base.sh" || return
	(cd "$LAB_ROOT" && shellcheck -x scripts/*.sh qemu/*.sh tests/guest/stages/*.sh tests/host/*.sh .ci/run &&
		shellcheck -s sh tests/guest/init tests/guest/lib.sh)
}

# The test matrix: both arches patched with the full plan, arm64 stock
# (the faster build) with the stress and A/B stages for the side-by-side
# comparison, and x86_64 patched with proxy exec off, where rt-inversion
# must detect the inversion.
test_all() {
	local top rc=0 results=() cfg arch variant name
	top=$RESULTS/test-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$top"
	log "test folder: $top"
	LOG_DIR=$top host_tests || die "host tests failed" "$EXIT_TESTFAIL"
	for cfg in x86_64:patched:1:"$PLAN_TEST" arm64:patched:1:"$PLAN_TEST" \
		arm64:stock:1:"$PLAN_AB" x86_64:patched:0:"$PLAN_NOPROXY"; do
		IFS=: read -r arch variant proxy plan <<<"$cfg"
		name=$arch-$variant
		if [ "$proxy" = 0 ]; then name+=-noproxy; fi
		log "=== $name: $plan"
		PROXY_EXEC=$proxy RUN_DIR=$top/$name run "$arch" "$variant" "$plan" || true
		results+=("$top/$name/result.json")
	done
	labreport summary --out "$top/summary.json" "${results[@]}" || rc=$?
	log "test results: $top/summary.json"
	return "$rc"
}

# repeat ARCH VARIANT PLAN: BOOTS boots of one configuration, each in its own
# run folder, for a rare failure that one boot may miss; the summary counts
# them, and the exit code is the worst boot's.
repeat() {
	local n=${BOOTS:-10} top i rc=0 worst=0 passed=0 results=() name
	name=$(build_name "$1" "$2")
	[ "${PROXY_EXEC:-1}" = 0 ] && name+=-noproxy
	top=$RESULTS/repeat-$(date +%Y%m%d-%H%M%S)-$name
	mkdir -p "$top"
	log "repeat folder: $top ($n boots)"
	for ((i = 1; i <= n; i++)); do
		log "=== boot $i of $n: $name: $3"
		rc=0
		RUN_DIR=$top/boot-$i run "$1" "$2" "$3" || rc=$?
		[ "$rc" = 0 ] && passed=$((passed + 1))
		[ "$rc" -gt "$worst" ] && worst=$rc
		results+=("$top/boot-$i/result.json")
	done
	labreport summary --out "$top/summary.json" "${results[@]}" || true
	log "repeat: $passed of $n boots passed ($top/summary.json)"
	return "$worst"
}

# soak ARCH VARIANT: the stress module and locktorture on the debug (lockdep)
# kernel for about DURATION in all (e.g. 30m, 2h, 600s): half of it over the
# scenarios of the proxy_stress stage (its SCENARIOS list), half over
# locktorture's 3 lock types.
soak() {
	local d=${DURATION:-30m} secs scenarios
	[[ $d =~ ^([1-9][0-9]*)([smh]?)$ ]] || die "DURATION='$d' is not like 30m, 2h or 600s"
	case ${BASH_REMATCH[2]} in
	h) secs=$((BASH_REMATCH[1] * 3600)) ;;
	m) secs=$((BASH_REMATCH[1] * 60)) ;;
	*) secs=${BASH_REMATCH[1]} ;;
	esac
	# proxy_stress takes 10..600000 ms per scenario.
	((secs >= 200 && secs <= 12000)) ||
		die "DURATION=$d is outside 200s..200m: proxy_stress runs each scenario 10 ms to 10 min"
	scenarios=$(sed -n 's/^SCENARIOS=//p' "$LAB_ROOT/tests/guest/stages/proxy_stress.sh" | tr ',' '\n' | grep -c .) ||
		die "no SCENARIOS list in tests/guest/stages/proxy_stress.sh"
	# Under TCG a lockdep kernel runs the plan in about the nominal time, plus
	# boot, grace periods and unloads: the timeout allows twice that.
	DEBUG=1 BOOT_TIMEOUT=$((secs * 2 + 900)) \
		EXTRA_CMDLINE="lab.locktorture_secs=$((secs / 6)) lab.proxy_stress_duration_ms=$((secs * 1000 / 2 / scenarios)) ${EXTRA_CMDLINE:-}" \
		run "$1" "$2" "$PLAN_SOAK"
}

# Stage lists (tests/guest/stages/<name>.sh), each overridable.
PLAN_RUN=${PLAN_RUN:-smoke,proxy_stress,pushable_check}
PLAN_TEST=${PLAN_TEST:-smoke,proxy_stress,pushable,stranded_test,kselftest,locktorture,pushable_check}
PLAN_AB=${PLAN_AB:-smoke,proxy_stress,pushable,stranded_test,pushable_check}
PLAN_NOPROXY=${PLAN_NOPROXY:-proxy_stress,stranded_test,pushable_check,proxy_stress_stuck}
PLAN_SOAK=${PLAN_SOAK:-proxy_stress,locktorture,pushable_check}

main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	prepare) prepare "$@" ;;
	run) run "$1" "$2" "${3-$PLAN_RUN}" ;;
	repeat) repeat "$1" "$2" "${3-$PLAN_RUN}" ;;
	test) test_all ;;
	soak) soak "$@" ;;
	host-tests) host_tests ;;
	*) die "usage: $0 prepare|run|repeat|test|soak|host-tests ..." ;;
	esac
}

# One line, so that editing this file during a long run cannot change what
# the running shell reads next.
main "$@"; exit
