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

# Reports of checkpatch taken as clean:
#  - "Originally-by:", the tip tree's credit for a design's author, which
#    checkpatch does not know;
#  - "does MAINTAINERS need updating?" for a patch that adds files, when
#    get_maintainer.pl finds a maintainer for every added file (checkpatch
#    warns about any added file, whether an F: entry covers it or not).
ORIGINALLY_BY='WARNING: Non-standard signature: Originally-by:'
MAINTAINERS_UPDATE='WARNING: added, moved or deleted file(s), does MAINTAINERS need updating?'

# added_files_maintained PATCH: every file PATCH adds has a maintainer in the
# tree (run after git am, so the files exist).
added_files_maintained() {
	local f out
	while read -r f; do
		out=$(cd "$tree" && in_toolchain perl scripts/get_maintainer.pl --no-git --no-rolestats -f "$f" 2>&1) || return 1
		grep -q '^[^<]* <[^>]*>$' <<<"$out" || return 1
	done < <(awk '/^diff --git /{f=$4; sub(/^b\//, "", f)} /^new file mode/{print f}' "$1")
}

# checkpatch_clean LOG PATCH RC: checkpatch exited RC and LOG holds no report
# but the ones accepted above (a failure without any report is not clean).
checkpatch_clean() {
	local report reports=0
	while read -r report; do
		reports=$((reports + 1))
		case $report in
		"$ORIGINALLY_BY") ;;
		"$MAINTAINERS_UPDATE") added_files_maintained "$2" || return 1 ;;
		*) return 1 ;;
		esac
	done < <(grep -E '^(ERROR|WARNING|CHECK):' "$1")
	[ "$3" = 0 ] || [ "$reports" -gt 0 ]
}

failed=0
n=0
while read -r group file; do
	case $group in '' | '#'*) continue ;; esac
	n=$((n + 1))
	patch=$LAB_ROOT/patches/$file
	git -C "$tree" -c user.name=proxy-exec-lab -c user.email=lab@localhost am --3way "$patch" \
		>"$LOG_DIR/am-$file.log" 2>&1 || die "$file ($group) does not apply in order; log: $LOG_DIR/am-$file.log"
	# --no-tree: the imported base has no history, so Fixes: ids are
	# checked against upstream by hand (UNKNOWN_COMMIT_ID).
	cp_log=$LOG_DIR/checkpatch-$file.log
	cp_rc=0
	in_toolchain perl "$tree/scripts/checkpatch.pl" --strict --quiet --no-tree --ignore UNKNOWN_COMMIT_ID "$patch" \
		>"$cp_log" 2>&1 || cp_rc=$?
	if ! checkpatch_clean "$cp_log" "$patch" "$cp_rc"; then
		log "FAIL checkpatch $file (log: $cp_log)"
		failed=1
	fi
	if ! KERNEL_ONLY=1 "$LAB_ROOT/scripts/build.sh" "$arch" series "$tree" >/dev/null; then
		log "FAIL build after $file"
		failed=1
		break
	fi
	log "ok $n $file: checkpatch, git am and $arch build"
done <"$LAB_ROOT/patches/series"
[ "$failed" = 0 ] || die "series check failed" "$EXIT_TESTFAIL"
log "series check: all $n patches clean, applied and built for $arch"
