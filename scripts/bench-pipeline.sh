#!/usr/bin/env bash
# Pipeline benchmark: prints the time of each stage, measured now.
#   scripts/bench-pipeline.sh          warm: caches as they are
#   scripts/bench-pipeline.sh --cold   first a whole `make test` on a fresh, empty LAB_CACHE
#                                      (downloads and builds everything), then the rest
# Stages: toolchain, source, build per arch (x86_64, arm64; patched), boot to /init per
# arch (guest uptime at /init, from the console), a warm `make run` after touching a file
# in rust/, and the whole `make test` (warm; with --cold also cold, and the kernel build
# times it logged).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --cold ]; then
	LAB_CACHE=$(mktemp -d "${TMPDIR:-/var/tmp}/proxy-exec-lab-cold.XXXXXX")
	SYSROOT=$LAB_CACHE/sysroot
	export LAB_CACHE SYSROOT
	log "cold benchmark in $LAB_CACHE (removed at the end)"
	cold_cache=$LAB_CACHE
	trap 'rm -rf "$LAB_CACHE"' EXIT
fi
RESULTS=$(mktemp -d "${TMPDIR:-/var/tmp}/proxy-exec-lab-bench.XXXXXX")
export RESULTS
declare -A secs

stage() {
	local name=$1 t0=$SECONDS
	shift
	"$@" >"$RESULTS/bench-$name.log" 2>&1 || log "$name exited $? (log: $RESULTS/bench-$name.log)"
	secs[$name]=$((SECONDS - t0))
	log "$name: ${secs[$name]} s"
}

# init_uptime RUN_DIR: guest uptime when /init started, from the console.
init_uptime() {
	sed -n 's/^LAB: boot-to-init uptime=//p' "$1/console.log" | head -n 1
}

cold=()
if [ -n "${cold_cache:-}" ]; then
	stage make-test-cold make -C "$LAB_ROOT" test
	# Kernel build times as the cold run logged them ("kernel NAME: done in N s").
	while read -r name n; do
		secs[kernel-cold-$name]=$n
		cold+=("kernel-cold-$name")
	done < <(sed -n 's/.*\] kernel \([^:]*\): done in \([0-9]*\) s$/\1 \2/p' "$RESULTS/bench-make-test-cold.log")
	cold=(make-test-cold "${cold[@]}")
fi

stage toolchain "$LAB_ROOT/scripts/toolchain.sh" all
stage source "$LAB_ROOT/scripts/source.sh"
for arch in x86_64 arm64; do
	stage "build-$arch" "$LAB_ROOT/scripts/lab.sh" prepare "$arch" patched
	stage "boot-$arch" env RUN_DIR="$RESULTS/boot-$arch" "$LAB_ROOT/scripts/lab.sh" run "$arch" patched ""
	secs[init-$arch]=$(init_uptime "$RESULTS/boot-$arch")
	# The Rust doctests (KUnit) run before /init; boot once more without them.
	stage "boot-nokunit-$arch" env RUN_DIR="$RESULTS/boot-nokunit-$arch" EXTRA_CMDLINE=kunit.enable=0 \
		"$LAB_ROOT/scripts/lab.sh" run "$arch" patched ""
	secs[init-nokunit-$arch]=$(init_uptime "$RESULTS/boot-nokunit-$arch")
done
touch "$LAB_ROOT/rust/proxy_stress.rs"
stage warm-run "$LAB_ROOT/scripts/lab.sh" run x86_64 patched
stage make-test-warm make -C "$LAB_ROOT" test

printf '\n%-28s %10s\n' stage seconds
for k in "${cold[@]}" toolchain source build-x86_64 build-arm64 boot-x86_64 boot-arm64 init-x86_64 init-arm64 \
	init-nokunit-x86_64 init-nokunit-arm64 warm-run make-test; do
	printf '%-28s %10s\n' "$k" "${secs[$k]:-n/a}"
done
printf '(init-<arch> is guest uptime when /init starts, after the KUnit Rust doctests;\n'
printf ' init-nokunit-<arch> the same with kunit.enable=0; boot-<arch> is a full boot + empty plan + power-off)\n'
printf 'logs: %s\n' "$RESULTS"
