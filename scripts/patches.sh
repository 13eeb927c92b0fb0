#!/usr/bin/env bash
# Prepare the source worktree of one build variant:
#   stock   = base + the "common" patches
#   patched = stock + the "sched" patches
#   base    = the pinned base alone (no lab patch; see build.sh)
# The worktree is rebuilt only when the list or content of its patches
# changes, and never over uncommitted local edits. Prints the tree path.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

base=${1:?usage: $0 BASE_REPO VARIANT}
variant=${2:?usage: $0 BASE_REPO VARIANT}
series=$LAB_ROOT/patches/series

case $variant in
stock) groups=common ;;
patched) groups="common sched" ;;
base) groups="" ;;
*) die "unknown VARIANT '$variant' (use stock, patched or base)" ;;
esac

# series_files GROUPS: the patch files of GROUPS, in series order.
series_files() {
	local seen_sched=0 group file
	while read -r group file; do
		case $group in '' | '#'*) continue ;; esac
		[ -n "$file" ] || die "$series: line '$group' has no patch file"
		case $group in
		common) [ $seen_sched = 0 ] || die "$series: common patch $file listed after a sched patch" ;;
		sched) seen_sched=1 ;;
		*) die "$series: unknown group '$group' for $file" ;;
		esac
		[ -f "$LAB_ROOT/patches/$file" ] || die "$series: $file does not exist in patches/"
		case " $1 " in *" $group "*) printf '%s\n' "$LAB_ROOT/patches/$file" ;; esac
	done <"$series"
}

mapfile -t files < <(series_files "$groups")
want=$( (echo "$variant"; git -C "$base" rev-parse lab-base; cat "${files[@]}" /dev/null) | sha256sum | cut -c1-16)
tree=$base.$variant
stamp=$tree/.git-lab-stamp

if [ -d "$tree" ]; then
	dirty=$(git -C "$tree" status --porcelain --untracked-files=no)
	[ -z "$dirty" ] || die "$tree has uncommitted changes; refusing to reset it:
$dirty
commit or discard them (or remove $tree)"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		printf '%s\n' "$tree"
		exit 0
	fi
	# Resetting to the base and applying again gives every patched file a
	# new mtime, and one patched header (include/linux/sched.h) then
	# rebuilds the whole kernel. Keep the mtime of each file that comes out
	# with the same content, so that only what really changed is rebuilt.
	kept=$(mktemp -d)
	trap 'rm -rf "$kept"' EXIT
	git -C "$tree" diff --name-only -z lab-base HEAD >"$kept/paths"
	i=0
	while IFS= read -r -d '' p; do
		[ -f "$tree/$p" ] || continue
		i=$((i + 1))
		printf '%s\0%s\0' "$p" "$(git -C "$tree" rev-parse "HEAD:$p")" >>"$kept/blobs"
		touch -r "$tree/$p" "$kept/$i"
	done <"$kept/paths"
	git -C "$tree" checkout -q --detach lab-base
else
	git -C "$base" worktree prune
	git -C "$base" worktree add -q --detach "$tree" lab-base >&2
fi
rm -f "$stamp"

logf=$LOG_DIR/patches-$variant.log
: >"$logf"
for f in "${files[@]}"; do
	if ! git -C "$tree" -c user.name=proxy-exec-lab -c user.email=lab@localhost \
		am --3way --keep-cr "$f" >>"$logf" 2>&1; then
		git -C "$tree" am --show-current-patch=diff >/dev/null 2>&1 || true
		grep -E '^(error|Patch failed|CONFLICT|Applying)' "$logf" | tail -n 8 >&2 || true
		git -C "$tree" am --abort >/dev/null 2>&1 || true
		git -C "$tree" checkout -q --detach lab-base
		die "patch $(basename "$f") does not apply on $(git -C "$base" log -1 --format=%s lab-base); full log: $logf"
	fi
	log "applied $(basename "$f")"
done
# restore_mtimes: the old mtime back on each file whose content is unchanged.
restore_mtimes() {
	local i=0 p blob
	[ -f "$kept/blobs" ] || return 0
	while IFS= read -r -d '' p && IFS= read -r -d '' blob; do
		i=$((i + 1))
		if [ "$(git -C "$tree" rev-parse -q --verify "HEAD:$p" 2>/dev/null)" = "$blob" ]; then
			touch -r "$kept/$i" "$tree/$p"
		fi
	done <"$kept/blobs"
}
[ -z "${kept:-}" ] || restore_mtimes
printf '%s' "$want" >"$stamp"
printf '%s\n' "$tree"
