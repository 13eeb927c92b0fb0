#!/usr/bin/env bash
# Provision the Debian 13 (trixie + trixie-backports) build sysroot and the
# per-arch guest userspace (busybox-static, coreutils, kmod) with mmdebstrap.
# Idempotent: a stamp holding the package list guards each tree, and trees
# are built under a temporary name and renamed only when complete.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie

SYSROOT_PKGS=(
	clang-19 lld-19 llvm-19 libclang1-19
	rustc rust-src rustfmt rust-clippy bindgen cargo
	make bc flex bison libelf-dev libssl-dev cpio kmod xz-utils zstd
	gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	python3 perl git rsync file ca-certificates
	qemu-system-x86 qemu-system-arm busybox-static
)
# What the guest needs beyond busybox: coreutils' timeout (kselftest's
# runner uses --foreground) and kmod's modprobe/insmod.
GUEST_PKGS=(busybox-static coreutils kmod)

host_prereqs() {
	local missing=()
	command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
	command -v bwrap >/dev/null || missing+=(bubblewrap)
	command -v curl >/dev/null || missing+=(curl)
	# make host-test lints the shell glue: a missing linter is no pass.
	command -v shellcheck >/dev/null || missing+=(shellcheck)
	command -v flock >/dev/null || missing+=(util-linux)
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing host packages: ${missing[*]}"
	command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
	apt-get install -y --no-install-recommends "${missing[@]}" >"$LOG_DIR/host-apt.log" 2>&1 ||
		{ apt-get update >>"$LOG_DIR/host-apt.log" 2>&1 &&
			apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG_DIR/host-apt.log" 2>&1; } ||
		die "could not install ${missing[*]} on the host (registry unreachable?); log: $LOG_DIR/host-apt.log"
}

# make_tree DEST STAMP-CONTENT MMDEBSTRAP-ARGS...
make_tree() {
	local dest=$1 want=$2
	shift 2
	if [ -f "$dest/.lab-stamp" ] && [ "$(cat "$dest/.lab-stamp")" = "$want" ]; then
		return 0
	fi
	rm -rf "$dest.tmp"
	# mmdebstrap wants the parent of its target to exist (a fresh cache).
	mkdir -p "$(dirname "$dest")"
	run_step "mmdebstrap $(basename "$dest")" "$LOG_DIR/$(basename "$dest").log" \
		mmdebstrap "$@" "$SUITE" "$dest.tmp" \
		"deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-backports main"
	printf '%s' "$want" >"$dest.tmp/.lab-stamp"
	# Swap by rename so that a concurrent user of the old tree never sees a
	# half-deleted one.
	rm -rf "$dest.old"
	[ -e "$dest" ] && mv "$dest" "$dest.old"
	mv "$dest.tmp" "$dest"
	rm -rf "$dest.old"
}

provision_sysroot() {
	local pkgs
	pkgs=$(IFS=,; echo "${SYSROOT_PKGS[*]}")
	make_tree "$SYSROOT" "$SUITE:$pkgs" --variant=apt --include="$pkgs"
}

# Guest userspace per arch: only extracted, never configured, since the
# foreign arch's maintainer scripts cannot run here.
provision_guest() {
	local arch=$1 debarch pkgs
	case $arch in
	x86_64) debarch=amd64 ;;
	arm64) debarch=arm64 ;;
	*) die "unknown ARCH '$arch' (use x86_64 or arm64)" ;;
	esac
	pkgs=$(IFS=,; echo "${GUEST_PKGS[*]}")
	make_tree "$LAB_CACHE/guest-$arch" "$SUITE:$debarch:$pkgs" \
		--variant=extract --architectures="$debarch" --include="$pkgs"
}

# Exact tool versions, recorded with every run.
versions() {
	local sfx
	sfx=$(llvm_suffix)
	in_toolchain sh -c "
		echo toolchain: $TOOLCHAIN
		rustc --version; bindgen --version 2>&1 | head -n1
		clang$sfx --version | head -n1; ld.lld$sfx --version | head -n1
		make --version | head -n1
		qemu-system-x86_64 --version | head -n1; qemu-system-aarch64 --version | head -n1
	"
}

mkdir -p "$LOG_DIR"
case ${1:-all} in
all)
	if [ "$TOOLCHAIN" = host ]; then
		log "TOOLCHAIN=host: using host tools, no sysroot"
	else
		host_prereqs
		provision_sysroot
	fi
	need_cmd mmdebstrap
	provision_guest x86_64
	provision_guest arm64
	;;
guest) host_prereqs; provision_guest "${2:?arch}" ;;
versions) versions ;;
*) die "usage: $0 [all|guest ARCH|versions]" ;;
esac
