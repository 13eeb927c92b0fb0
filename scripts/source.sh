#!/usr/bin/env bash
# Kernel source: fetch the pinned Debian linux-source package, check its
# sha256 before anything is unpacked, and import it as a git repository whose
# first commit is the pristine base. KERNEL_SRC=/path imports a user tree
# instead. Prints the base repository path on stdout.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# The pin. Bump all three together.
PKG_VERSION=7.2.11-1~bpo13+1
PKG_FILE=pool/main/l/linux/linux-source-7.2_${PKG_VERSION}_all.deb
PKG_SHA256=97a3aac3a9eeb8f18e8b0511af9261c54605fd23b712f1a48144360a123738a2
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

GIT=(git -c user.name=proxy-exec-lab -c user.email=lab@localhost -c commit.gpgsign=false)

fetch_deb() {
	local deb got
	deb=$LAB_CACHE/downloads/${PKG_FILE##*/}
	mkdir -p "$LAB_CACHE/downloads"
	if [ ! -f "$deb" ]; then
		need_cmd curl
		run_step "download $(basename "$deb")" "$LOG_DIR/download.log" \
			curl -fSL --retry 3 --connect-timeout 20 -o "$deb.part" "$MIRROR/$PKG_FILE"
		mv "$deb.part" "$deb"
	fi
	got=$(sha256sum "$deb" | cut -d' ' -f1)
	if [ "$got" != "$PKG_SHA256" ]; then
		mv "$deb" "$deb.bad"
		die "sha256 mismatch for $deb: expected $PKG_SHA256, got $got (moved aside to $deb.bad; nothing unpacked)"
	fi
	printf '%s' "$deb"
}

# commit_base DIR LABEL: make DIR a git repo with the pristine base as its
# first commit, tagged lab-base.
commit_base() {
	local dir=$1 label=$2
	"${GIT[@]}" -C "$dir" init -q -b lab
	# The import leaves ~90k loose objects; without this the first git am
	# starts a repack of the whole tree in the middle of a build.
	"${GIT[@]}" -C "$dir" config gc.auto 0
	"${GIT[@]}" -C "$dir" config maintenance.auto false
	"${GIT[@]}" -C "$dir" add -A -f
	GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" \
		"${GIT[@]}" -C "$dir" commit -q -m "Pristine base: $label"
	"${GIT[@]}" -C "$dir" tag lab-base
}

import_debian() {
	local repo=$LAB_CACHE/src/debian-$PKG_VERSION deb tmp
	if git -C "$repo" rev-parse -q --verify lab-base >/dev/null 2>&1; then
		printf '%s' "$repo"
		return
	fi
	deb=$(fetch_deb)
	tmp=$repo.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	# shellcheck disable=SC2016
	run_step "unpack linux-source $PKG_VERSION" "$LOG_DIR/unpack.log" \
		sh -c 'dpkg-deb --fsys-tarfile "$1" | tar -xO --wildcards "./usr/src/linux-source-*.tar.xz" |
			tar -xJ -C "$2" --strip-components=1' _ "$deb" "$tmp"
	[ -f "$tmp/Makefile" ] || die "unpacked source in $tmp has no Makefile"
	run_step "git import of the base" "$LOG_DIR/git-import.log" \
		commit_base "$tmp" "Debian linux-source-7.2 $PKG_VERSION (sha256 $PKG_SHA256)"
	mv "$tmp" "$repo"
	printf '%s' "$repo"
}

# A git tree is cloned (shared objects) at its HEAD, and follows its HEAD on
# later runs; a tree that is not a git tree is imported once. The user's tree
# itself is never modified.
import_user() {
	local src id repo head
	src=$(cd "$KERNEL_SRC" 2>/dev/null && pwd) || die "KERNEL_SRC=$KERNEL_SRC is not a directory"
	{ [ -f "$src/Makefile" ] && [ -d "$src/kernel/sched" ]; } || die "KERNEL_SRC=$src does not look like a Linux tree"
	id=$(user_tree_id)
	repo=$LAB_CACHE/src/user-$id
	if git -C "$src" rev-parse -q --verify HEAD >/dev/null 2>&1; then
		[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
			die "KERNEL_SRC=$src has uncommitted changes; commit or stash them first"
		head=$(git -C "$src" rev-parse HEAD)
		if ! git -C "$repo" rev-parse -q --verify lab-base >/dev/null 2>&1; then
			rm -rf "$repo.tmp"
			git clone -q --shared "$src" "$repo.tmp"
			"${GIT[@]}" -C "$repo.tmp" checkout -q -b lab
			"${GIT[@]}" -C "$repo.tmp" tag -f lab-base >/dev/null
			mv "$repo.tmp" "$repo"
		elif [ "$(git -C "$repo" rev-parse lab-base)" != "$head" ]; then
			# The clone shares the tree's objects, so its new HEAD is
			# already there; patches.sh re-applies on the moved lab-base.
			log "KERNEL_SRC=$src moved to $(git -C "$src" log -1 --format='%h %s'); following it"
			"${GIT[@]}" -C "$repo" checkout -q -B lab "$head"
			"${GIT[@]}" -C "$repo" tag -f lab-base "$head" >/dev/null
		fi
	elif ! git -C "$repo" rev-parse -q --verify lab-base >/dev/null 2>&1; then
		rm -rf "$repo.tmp"
		mkdir -p "$repo.tmp"
		run_step "copy $src" "$LOG_DIR/user-copy.log" cp -a "$src/." "$repo.tmp/"
		run_step "git import of $src" "$LOG_DIR/git-import.log" commit_base "$repo.tmp" "$src"
		mv "$repo.tmp" "$repo"
	fi
	printf '%s' "$repo"
}

mkdir -p "$LOG_DIR" "$LAB_CACHE/src"
if [ -n "${KERNEL_SRC:-}" ]; then
	repo=$(import_user)
else
	repo=$(import_debian)
fi
# The base check looks for what the series edits: VARIANT=base applies none
# of it, and boots a tree (yours, with KERNEL_SRC) as it is.
if [ "${VARIANT:-patched}" = base ]; then
	log "base check: skipped for VARIANT=base, which applies no lab patch"
else
	"$LAB_ROOT/scripts/check-base.sh" "$repo"
fi
printf '%s\n' "$repo"
