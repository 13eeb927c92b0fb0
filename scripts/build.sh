#!/usr/bin/env bash
# Configure and build one kernel (ARCH x VARIANT [x debug]) with LLVM and
# Rust, then the lab's out-of-tree Rust modules through the top-level Kbuild.
# Usage: build.sh ARCH VARIANT TREE
# Prints the build directory. Incremental: config is regenerated only when
# a fragment or the tree's patch stamp changes; make does the rest.
# One brace group, read whole before it runs, so that editing this file
# during a boot or build cannot change what the running shell reads next.
{
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/arch.sh
. "$(dirname "$0")/arch.sh"

arch=${1:?usage: $0 ARCH VARIANT TREE}
variant=${2:?}
tree=${3:?}
arch_setup "$arch"

out=$LAB_CACHE/build/$(build_name "$arch" "$variant")
frags=("$LAB_ROOT/configs/base.config" "$LAB_ROOT/configs/$arch.config")
[ "${DEBUG:-0}" = 1 ] && frags+=("$LAB_ROOT/configs/debug.config")
jobs=${JOBS:-$(($(nproc) + 1))}
sfx=$(llvm_suffix)
mkdir -p "$out"
# In the sysroot, every variant's tree and build directory sit at the same
# paths (/lab/src, /lab/build), so kbuild's recorded commands are identical
# across variants and a new variant can start from its sibling's objects.
if [ "$TOOLCHAIN" = host ]; then
	src=$tree obj=$out
else
	src=/lab/src obj=/lab/build
	export LAB_BINDS="$tree=$src $out=$obj"
fi
kmake=(make -C "$src" O="$obj" ARCH="$KARCH" LLVM="${sfx:-1}" -j"$jobs")
logs=$LOG_DIR/$(build_name "$arch" "$variant")
mkdir -p "$logs"

# defined_in_tree CONFIG_X: some Kconfig file of the tree declares X.
defined_in_tree() {
	grep -rqsE --include='Kconfig*' "^[[:space:]]*(menu)?config[[:space:]]+${1#CONFIG_}\$" "$tree"
}

# Options requested by the fragments: "CONFIG_X=y" lines, and
# "# CONFIG_X is not set" lines.
check_config() {
	local cfg=$1 line missing=()
	shift
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF -- "$line" "$cfg" && continue
			# The per-patch series check builds trees that lack the
			# options later patches add (CONFIG_SCHED_PROXY_STATS),
			# and the base has none of them.
			if { [ "$variant" = series ] || [ "$variant" = base ]; } &&
				! defined_in_tree "${line%%=*}"; then
				log "config: ${line%%=*} is not defined at this patch; not checked"
				continue
			fi
			missing+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$cfg" || echo unset))")
			;;
		"# CONFIG_"*" is not set")
			local opt=${line#\# }
			opt=${opt%% *}
			grep -q "^$opt=" "$cfg" && missing+=("$line (got: $(grep "^$opt=" "$cfg"))")
			;;
		esac
	done < <(cat "$@")
	if [ ${#missing[@]} -gt 0 ]; then
		printf '  missing: %s\n' "${missing[@]}" >&2
		die "config check failed for $out/.config: ${#missing[@]} requested option(s) missing (for RUST see 'make rustavailable' in $logs/config.log)"
	fi
}

# seed_from_sibling: a variant built for the first time starts from a copy
# of the other variant's build. Every file of this tree gets an old mtime,
# except the files that differ between the two trees, so kbuild rebuilds
# exactly what the patches change.
seed_from_sibling() {
	local v sibling='' base_rev
	[ "$TOOLCHAIN" != host ] && [ ! -f "$out/.config" ] || return 0
	for v in stock patched; do
		[ "$v" != "$variant" ] || continue
		sibling=$LAB_CACHE/build/$(build_name "$arch" "$v")
		[ -f "$sibling/.lab-build-done" ] && break
		sibling=
	done
	[ -n "$sibling" ] || return 0
	base_rev=$(cat "$sibling/.lab-build-done")
	git -C "$tree" cat-file -e "$base_rev^{commit}" 2>/dev/null || return 0
	log "seeding $(basename "$out") from $(basename "$sibling")"
	rm -rf "$out" "$out.tmp"
	cp -a "$sibling" "$out.tmp"
	rm -rf "$out.tmp/modroot" "$out.tmp/initramfs.cpio" "$out.tmp/.lab-build-done"
	git -C "$tree" ls-files -z | (cd "$tree" && xargs -0 touch -h -d '2000-01-01 00:00:00')
	# -c: a file that only the sibling's tree has is not created here.
	git -C "$tree" diff -z --name-only "$base_rev" HEAD | (cd "$tree" && xargs -0 -r touch -h -c)
	mv "$out.tmp" "$out"
}
seed_from_sibling

want=$( (cat "${frags[@]}"; cat "$tree/.git-lab-stamp" 2>/dev/null; git -C "$tree" rev-parse HEAD; echo "$sfx") | sha256sum | cut -c1-16)
if [ ! -f "$out/.config" ] || [ "$(cat "$out/.lab-config-stamp" 2>/dev/null)" != "$want" ]; then
	rm -f "$out/.lab-config-stamp"
	# shellcheck disable=SC2016
	run_step "config $(basename "$out")" "$logs/config.log" in_toolchain sh -c '
		set -e
		"$@" rustavailable
		"$@" tinyconfig
		'"$src"'/scripts/kconfig/merge_config.sh -m -O '"$obj $obj"'/.config '"${frags[*]}"'
		"$@" olddefconfig' _ "${kmake[@]}"
	check_config "$out/.config" "${frags[@]}"
	printf '%s' "$want" >"$out/.lab-config-stamp"
fi

run_step "kernel $(basename "$out")" "$logs/kernel.log" \
	in_toolchain "${kmake[@]}" "$KIMAGE_TARGET" modules
# KERNEL_ONLY=1 (the per-patch series check) stops here.
if [ "${KERNEL_ONLY:-0}" = 1 ]; then
	printf '%s\n' "$out"
	exit 0
fi
# The lab's Rust modules need the series' Rust abstractions: the base boots
# without them, for the stages that need no lab module (dl_roundtrip).
lab_modules=1
if [ "$variant" = base ]; then
	log "lab modules: SKIP: VARIANT=base has none of the series' Rust abstractions"
	lab_modules=0
fi
# The lab's Rust follows the kernel's rules (Documentation/rust/coding-guidelines.rst):
# rustfmt with the tree's .rustfmt.toml, and clippy, whose warnings fail the step.
[ "$lab_modules" = 0 ] || run_step "rustfmt lab modules" "$logs/rustfmt.log" \
	in_toolchain rustfmt --check --config-path "$src/.rustfmt.toml" "$LAB_ROOT"/rust/*.rs
clippy=(CLIPPY=1)
if [ "$lab_modules" = 1 ] && ! in_toolchain sh -c 'command -v clippy-driver' >/dev/null; then
	log "lab modules: SKIP clippy: clippy-driver is not in the toolchain"
	clippy=()
fi
[ "$lab_modules" = 0 ] || run_step "lab modules $(basename "$out")" "$logs/lab-modules.log" \
	in_toolchain "${kmake[@]}" "${clippy[@]}" M="$LAB_ROOT" MO="$obj/lab-modules" modules
if [ "$lab_modules" = 1 ] && grep -qE '^(warning|error)(\[|:)' "$logs/lab-modules.log"; then
	grep -E -A6 '^(warning|error)(\[|:)' "$logs/lab-modules.log" | head -n 40 >&2
	# The objects are built; without this a rerun would not rebuild them,
	# print no warning and pass.
	rm -rf "$out/lab-modules"
	die "step 'lab modules $(basename "$out")': rustc or clippy warnings; full log: $logs/lab-modules.log"
fi

# Module tree for the initramfs: in-tree and lab modules, with depmod.
rm -rf "$out/modroot.tmp"
# shellcheck disable=SC2016 # expanded by the inner sh
run_step "modules_install $(basename "$out")" "$logs/modules-install.log" in_toolchain sh -c '
	set -e
	lab_modules=$1
	shift
	"$@" INSTALL_MOD_PATH='"$obj"'/modroot.tmp INSTALL_MOD_STRIP=1 modules_install
	[ "$lab_modules" = 0 ] || "$@" M='"$LAB_ROOT"' MO='"$obj"'/lab-modules \
		INSTALL_MOD_PATH='"$obj"'/modroot.tmp INSTALL_MOD_STRIP=1 modules_install' \
	_ "$lab_modules" "${kmake[@]}"
rm -rf "$out/modroot"
mv "$out/modroot.tmp" "$out/modroot"
git -C "$tree" rev-parse HEAD >"$out/.lab-build-done"
printf '%s\n' "$out"
}
