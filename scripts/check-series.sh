#!/usr/bin/env bash
# Check the patch series the way a maintainer would: every patch is
# checkpatch --strict clean, applies with git am in order on the pinned
# base, and the kernel (with Rust) builds after each one.
# Usage: check-series.sh [ARCH]   (default x86_64; DEBUG=1 adds lockdep)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

arch=${1:-x86_64}
base=$("$LAB_ROOT/scripts/source.sh" | tail -n 1)
tree=$base.series
if [ -d "$tree" ]; then
	[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
		die "$tree has uncommitted changes; refusing to reset it"
	git -C "$tree" am --abort >/dev/null 2>&1 || true
	git -C "$tree" checkout -q --detach lab-base
else
	git -C "$base" worktree add -q --detach "$tree" lab-base >&2
fi

failed=0
n=0
while read -r group file; do
	case $group in '' | '#'*) continue ;; esac
	n=$((n + 1))
	patch=$LAB_ROOT/patches/$file
	# --no-tree: the imported base has no history, so Fixes: ids are
	# checked against upstream by hand (UNKNOWN_COMMIT_ID). The one report
	# taken as clean is "Originally-by:", the tip tree's credit for a
	# design's author, which checkpatch does not know.
	cp_log=$LOG_DIR/checkpatch-$file.log
	if ! in_toolchain perl "$tree/scripts/checkpatch.pl" --strict --quiet --no-tree --ignore UNKNOWN_COMMIT_ID "$patch" \
		>"$cp_log" 2>&1 &&
		{ grep -E '^(ERROR|WARNING|CHECK):' "$cp_log" | grep -qv '^WARNING: Non-standard signature: Originally-by:$' ||
			! grep -q '^WARNING: Non-standard signature: Originally-by:$' "$cp_log"; }; then
		log "FAIL checkpatch $file (log: $cp_log)"
		failed=1
	fi
	git -C "$tree" -c user.name=proxy-exec-lab -c user.email=lab@localhost am --3way "$patch" \
		>"$LOG_DIR/am-$file.log" 2>&1 || die "$file ($group) does not apply in order; log: $LOG_DIR/am-$file.log"
	if ! KERNEL_ONLY=1 "$LAB_ROOT/scripts/build.sh" "$arch" series "$tree" >/dev/null; then
		log "FAIL build after $file"
		failed=1
		break
	fi
	log "ok $n $file: checkpatch, git am and $arch build"
done <"$LAB_ROOT/patches/series"
[ "$failed" = 0 ] || die "series check failed" "$EXIT_TESTFAIL"
log "series check: all $n patches clean, applied and built for $arch"
