#!/usr/bin/env bash
# make bench: stock vs patched vs patched with proxy exec off, side by side.
#   scripts/bench.sh
# For each arch of BENCH_ARCHES: build stock and patched (lab.sh prepare),
# then boot each configuration BENCH_RUNS times under identical QEMU
# settings, interleaved (stock, patched, noproxy, stock, ...) so that the
# machine's noise spreads evenly; one boot per run (lab.sh run, plan
# `bench`, kunit.enable=0), one folder per run under results/bench-<time>/.
# `labreport bench` then writes bench.md (tables), bench.json (raw figures)
# and plots/*.svg there.
#   stock    base + common patches, proxy exec on
#   patched  stock + sched patches, proxy exec on
#   noproxy  patched, booted with sched_proxy_exec=0
# Environment: BENCH_ARCHES (x86_64 arm64), BENCH_RUNS (5), BENCH_SEED (1),
#   BENCH_DURATION_MS (2000, each workload scenario), BENCH_PUSHABLE_MS
#   (2000, each pushable run), BENCH_THREADS_PER_CPU (1), BENCH_WAIT_BOUND_US
#   (100000), BENCH_SCENARIOS (comma list; the module's default set), and
#   lab.sh's SMP, MEM, BOOT_TIMEOUT, ACCEL, DEBUG, EXTRA_CMDLINE, RESULTS.
# Exit codes: 0 pass, 1 test failure, 2 infrastructure/incomplete (also bad
# input), 3 panic/splat; the most severe of all runs.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/arch.sh
. "$(dirname "$0")/arch.sh"

RESULTS=${RESULTS:-$LAB_ROOT/results}
CONFIGS=(stock patched noproxy)

# int_in NAME MIN MAX: the variable NAME holds an integer in MIN..MAX.
int_in() {
	local v=${!1}
	if ! [[ $v =~ ^[1-9][0-9]{0,17}$ ]] || [ "$v" -lt "$2" ] || [ "$v" -gt "$3" ]; then
		die "$1='$v' must be an integer from $2 to $3"
	fi
}

# Every input is checked before anything is built or booted.
check_bench_vars() {
	local a list seen=" "
	BENCH_RUNS=${BENCH_RUNS:-5}
	BENCH_SEED=${BENCH_SEED:-1}
	BENCH_DURATION_MS=${BENCH_DURATION_MS:-2000}
	BENCH_PUSHABLE_MS=${BENCH_PUSHABLE_MS:-2000}
	BENCH_THREADS_PER_CPU=${BENCH_THREADS_PER_CPU:-1}
	BENCH_WAIT_BOUND_US=${BENCH_WAIT_BOUND_US:-100000}
	# churn is not in the default workload: the figures in the README were
	# measured without it. BENCH_SCENARIOS=...,churn adds it.
	BENCH_SCENARIOS=${BENCH_SCENARIOS:-rt-inversion,dl-donor,chain,cross-cpu,owner-moves,reblock}
	[[ $BENCH_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS='$BENCH_RUNS' is not a positive integer"
	int_in BENCH_RUNS 1 1000
	# A seed of 0 would make the module draw a new one per run.
	int_in BENCH_SEED 1 999999999999999999
	int_in BENCH_DURATION_MS 10 60000
	int_in BENCH_PUSHABLE_MS 10 60000
	int_in BENCH_THREADS_PER_CPU 1 8
	int_in BENCH_WAIT_BOUND_US 100 10000000
	[[ $BENCH_SCENARIOS =~ ^[a-z0-9-]+(,[a-z0-9-]+)*$ ]] ||
		die "BENCH_SCENARIOS='$BENCH_SCENARIOS' is not a comma-separated list of scenario names"
	case ,$BENCH_SCENARIOS, in
	*,all,* | *,pushable,*)
		die "BENCH_SCENARIOS: name single workload scenarios ('all' and 'pushable' are run by the stage itself)"
		;;
	esac
	arches=()
	IFS=', ' read -ra list <<<"${BENCH_ARCHES-x86_64 arm64}"
	for a in "${list[@]}"; do
		case $a in
		x86_64 | arm64) ;;
		*) die "unknown arch '$a' (BENCH_ARCHES, or ARCH for make bench: use x86_64 and/or arm64)" ;;
		esac
		[[ $seen == *" $a "* ]] && continue
		seen+="$a "
		arches+=("$a")
	done
	[ ${#arches[@]} -gt 0 ] || die "BENCH_ARCHES is empty (use x86_64 and/or arm64)"
}

# config VARIANT and PROXY_EXEC of a bench configuration.
config_variant() { if [ "$1" = stock ]; then echo stock; else echo patched; fi; }
config_proxy() { if [ "$1" = noproxy ]; then echo 0; else echo 1; fi; }

# fingerprint ARCH BUILD_DIR: what a boot runs (kernel, modules, guest
# scripts), to notice a rebuild in the middle of the bench.
fingerprint() {
	arch_setup "$1"
	{
		sha256sum "$2/$KIMAGE"
		find "$2/modroot" -name '*.ko' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
		find "$LAB_ROOT/tests/guest" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
	} | sha256sum | cut -c1-16
}

verdict_name() {
	case $1 in
	0) echo PASS ;; 1) echo FAIL ;; 2) echo INFRA ;; 3) echo PANIC ;; *) echo "exit $1" ;;
	esac
}

main() {
	local top arch variant config name i n=0 total rc t0 fp
	local -A build=() fps=()
	local inputs=() notes=() cmdline
	check_bench_vars
	local nscen
	nscen=$(tr ',' '\n' <<<"$BENCH_SCENARIOS" | wc -l)
	# The guest bounds each scenario run at 20x its time + 120 s.
	export BOOT_TIMEOUT=${BOOT_TIMEOUT:-$((900 + (nscen * BENCH_DURATION_MS + 2 * BENCH_PUSHABLE_MS) * 5 / 1000))}
	cmdline="kunit.enable=0 lab.bench_seed=$BENCH_SEED lab.bench_duration_ms=$BENCH_DURATION_MS"
	cmdline+=" lab.bench_pushable_ms=$BENCH_PUSHABLE_MS lab.bench_threads_per_cpu=$BENCH_THREADS_PER_CPU"
	cmdline+=" lab.bench_wait_bound_us=$BENCH_WAIT_BOUND_US lab.bench_scenarios=$BENCH_SCENARIOS"
	[ -z "${EXTRA_CMDLINE:-}" ] || cmdline+=" $EXTRA_CMDLINE"

	top=$RESULTS/bench-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$top/logs"
	# QEMU and labreport run in the sysroot and write into the run folders.
	export LAB_BINDS="$RESULTS=$RESULTS" LOG_DIR=$top/logs
	total=$((${#arches[@]} * BENCH_RUNS * ${#CONFIGS[@]}))
	log "bench folder: $top"
	log "arches: ${arches[*]}; ${BENCH_RUNS} runs of ${CONFIGS[*]} each, interleaved: $total boots"

	# Build first: a build that fails stops the bench before any boot.
	for arch in "${arches[@]}"; do
		for variant in stock patched; do
			run_step "prepare $arch-$variant" "$top/logs/prepare-$arch-$variant.log" \
				"$LAB_ROOT/scripts/lab.sh" prepare "$arch" "$variant"
			build[$arch-$variant]=$(tail -n 1 "$top/logs/prepare-$arch-$variant.log")
			[ -d "${build[$arch-$variant]}" ] ||
				die "prepare $arch-$variant printed no build folder (log: $top/logs/prepare-$arch-$variant.log)"
			fps[$arch-$variant]=$(fingerprint "$arch" "${build[$arch-$variant]}")
		done
	done

	local load_start
	load_start=$(cut -d' ' -f1-3 /proc/loadavg)
	for arch in "${arches[@]}"; do
		for ((i = 1; i <= BENCH_RUNS; i++)); do
			for config in "${CONFIGS[@]}"; do
				variant=$(config_variant "$config")
				name=$arch-$i-$config
				n=$((n + 1))
				t0=$SECONDS
				rc=0
				# lab.sh run prepares again (a no-op when nothing changed),
				# boots, and writes result.json into the run folder.
				PROXY_EXEC=$(config_proxy "$config") RUN_DIR=$top/$name EXTRA_CMDLINE=$cmdline \
					"$LAB_ROOT/scripts/lab.sh" run "$arch" "$variant" bench \
					>"$top/logs/run-$name.log" 2>&1 || rc=$?
				log "run $n/$total $name: $(verdict_name "$rc") in $((SECONDS - t0)) s (log: $top/logs/run-$name.log)"
				inputs+=("$config=$name/result.json")
				fp=$(fingerprint "$arch" "${build[$arch-$variant]}" 2>/dev/null || echo missing)
				if [ "$fp" != "${fps[$arch-$variant]}" ]; then
					notes+=(--note "$arch-$variant changed during the bench (kernel, modules or guest scripts; noticed after run $name): runs before and after it are not comparable")
					log "WARNING: $arch-$variant changed during the bench (after $name)"
					fps[$arch-$variant]=$fp
				fi
			done
		done
	done

	rc=0
	(cd "$top" && labreport bench --out-dir "$top" --baseline stock \
		--meta "date=$(date -Iseconds)" \
		--meta "lab_commit=$(git -C "$LAB_ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
		--meta "arches=${arches[*]}" --meta "runs_per_config=$BENCH_RUNS" \
		--meta "order=interleaved: ${CONFIGS[*]}, repeated; one boot per run" \
		--meta "qemu=accel ${ACCEL:-tcg}, smp ${SMP:-4}, mem ${MEM:-1024} MiB, boot timeout ${BOOT_TIMEOUT} s" \
		--meta "cmdline=$cmdline" --meta "debug=${DEBUG:-0}" \
		--meta "host=$(nproc) CPUs; load average $load_start at the first boot, $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
		"${notes[@]}" "${inputs[@]}") | tee "$top/summary.txt" || rc=$?
	log "bench report: $top/bench.md (bench.json, plots/, one folder per run)"
	[ "$rc" -le 3 ] || rc=$EXIT_INFRA
	return "$rc"
}

# One line, so that editing this file during a long run cannot change what
# the running shell reads next.
main "$@"; exit
