#!/usr/bin/env bash
# Pipeline benchmark: prints the time of each stage, measured now.
#   scripts/bench-pipeline.sh          warm: caches as they are
#   scripts/bench-pipeline.sh --cold   cold: a fresh, empty LAB_CACHE (downloads everything)
# Stages: toolchain, source, build per arch (x86_64, arm64; patched), boot to /init per
# arch (guest uptime at /init, from the console), a warm `make run` after touching a file
# in rust/, and the whole `make test`.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --cold ]; then
	LAB_CACHE=$(mktemp -d "${TMPDIR:-/var/tmp}/proxy-exec-lab-cold.XXXXXX")
	SYSROOT=$LAB_CACHE/sysroot
	export LAB_CACHE SYSROOT
	log "cold benchmark in $LAB_CACHE (removed at the end)"
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

stage toolchain "$LAB_ROOT/scripts/toolchain.sh" all
stage source "$LAB_ROOT/scripts/source.sh"
for arch in x86_64 arm64; do
	stage "build-$arch" "$LAB_ROOT/scripts/lab.sh" prepare "$arch" patched
	stage "boot-$arch" env RUN_DIR="$RESULTS/boot-$arch" "$LAB_ROOT/scripts/lab.sh" run "$arch" patched ""
	secs[init-$arch]=$(sed -n 's/^LAB: boot-to-init uptime=//p' "$RESULTS/boot-$arch/console.log" | head -n 1)
done
touch "$LAB_ROOT/rust/proxy_stress.rs"
stage warm-run "$LAB_ROOT/scripts/lab.sh" run x86_64 patched
stage make-test make -C "$LAB_ROOT" test

printf '\n%-28s %10s\n' stage seconds
for k in toolchain source build-x86_64 build-arm64 boot-x86_64 boot-arm64 init-x86_64 init-arm64 warm-run make-test; do
	printf '%-28s %10s\n' "$k" "${secs[$k]:-n/a}"
done
printf '(init-<arch> is guest uptime when /init starts; boot-<arch> is a full boot + empty plan + power-off)\n'
printf 'logs: %s\n' "$RESULTS"
