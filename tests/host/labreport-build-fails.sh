#!/usr/bin/env bash
# Host test: when labreport does not build, the lab says so and exits 2
# (an infrastructure failure) instead of judging the run with a stale
# binary. Runs labreport() of scripts/lib.sh on a copy of the checkout whose
# labreport has a planted compile error, with a stale binary in place.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp -a "$root/scripts" "$copy/"
mkdir -p "$copy/tools"
cp -a "$root/tools/labreport" "$copy/tools/"
echo 'fn planted_build_error() -> u8 { "not a u8" }' >>"$copy/tools/labreport/src/lib.rs"
# A stale binary that would pass everything.
mkdir -p "$copy/tools/labreport/target/release"
printf '#!/bin/sh\necho stale; exit 0\n' >"$copy/tools/labreport/target/release/labreport"
chmod +x "$copy/tools/labreport/target/release/labreport"
rc=0
out=$(LOG_DIR=$copy/logs bash -c '. "$1/scripts/lib.sh"; labreport --help' _ "$copy" 2>&1) || rc=$?
if [ "$rc" != 2 ] || ! grep -q "step 'labreport build' failed; full log: $copy/logs/labreport-build.log" <<<"$out" ||
	grep -q '^stale$' <<<"$out"; then
	printf 'FAIL a labreport build error gave exit %s:\n%s\n' "$rc" "$out"
	exit 1
fi
echo "ok: a labreport that does not build is an infrastructure failure (exit 2) with its log"
