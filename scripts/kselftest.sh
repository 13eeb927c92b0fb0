#!/usr/bin/env bash
# Build the kernel's own kselftests for the guest and install them, with
# the kselftest install target, into BUILD_DIR/kselftest-install (which
# initramfs.sh copies to /kselftest; tests/guest/stages/kselftest.sh runs
# them). Usage: kselftest.sh ARCH BUILD_DIR TREE
#
# Collections: locking (test-ww_mutex), futex/functional (PI futexes, one
# result per binary), rust (sample modules), timers (the short ones are
# run; see tests/kselftest-skip.txt), and the lab's own collections,
# tests/selftests/{proxy_exec,dl_roundtrip}, each when it has a Makefile.
# KSELFTEST_TARGETS overrides the list.
#
# TREE is never written to: UAPI headers and objects go to
# BUILD_DIR/kselftest-work/obj (O=), and the selftests are built from a
# symlink shadow of TREE into which the lab's collections are copied. Binaries are
# linked statically (gcc; aarch64-linux-gnu- for arm64). Incremental: a
# stamp over the inputs skips the whole step when nothing changed, and a
# new install is built beside the old one and swapped in by rename.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/arch.sh
. "$(dirname "$0")/arch.sh"

arch=${1:?usage: $0 ARCH BUILD_DIR TREE}
build=${2:?usage: $0 ARCH BUILD_DIR TREE}
tree=${3:?usage: $0 ARCH BUILD_DIR TREE}
arch_setup "$arch"
case $arch in
x86_64) cross= ;;
arm64) cross=aarch64-linux-gnu- ;;
esac
[ -f "$tree/tools/testing/selftests/Makefile" ] || die "$tree has no tools/testing/selftests"
mkdir -p "$build"
build=$(cd "$build" && pwd)
tree=$(cd "$tree" && pwd)

# The lab's own collections, from tests/selftests/NAME: proxy_exec (the
# proxy_stress module) and dl_roundtrip (SCHED_DEADLINE policy round trips,
# userspace only).
lab_collections=(proxy_exec dl_roundtrip)
skip_list=$LAB_ROOT/tests/kselftest-skip.txt
if [ -n "${KSELFTEST_TARGETS:-}" ]; then
	read -r -a targets <<<"$KSELFTEST_TARGETS"
else
	targets=(locking futex/functional rust timers)
	for c in "${lab_collections[@]}"; do
		[ -f "$LAB_ROOT/tests/selftests/$c/Makefile" ] && targets+=("$c")
	done
fi

work=$build/kselftest-work
install=$build/kselftest-install
stampf=$build/.lab-kselftest-stamp
logs=$LOG_DIR/$(basename "$build")
mkdir -p "$work" "$logs"

# Per-collection "settings" that replace the installed ones: runner.sh
# reads timeout= from them (default 45 s per test).
#   locking: test-ww_mutex runs three 2 s stress phases per ww_class on
#            module load, much slower under TCG.
#   timers:  upstream's timeout=0 means no limit at all; a hung test would
#            stall the whole guest run.
write_settings() {
	local dir=$1
	mkdir -p "$dir/locking" "$dir/timers"
	printf '%s\n' '# lab: ww_mutex stress under TCG' 'timeout=300' >"$dir/locking/settings"
	printf '%s\n' '# lab: upstream has timeout=0 (none)' 'timeout=120' >"$dir/timers/settings"
}

# Copy the skip list next to the tests, where the guest stage reads it.
# Done on every run (it is not a build input).
install_skip_list() {
	[ -f "$skip_list" ] || die "skip list $skip_list is missing"
	cp "$skip_list" "$install/lab-skip.txt.tmp"
	mv "$install/lab-skip.txt.tmp" "$install/lab-skip.txt"
}

# Everything the install depends on.
stamp_inputs() {
	sha256sum "$0"
	echo "$arch ${targets[*]} $cross"
	git -C "$tree" rev-parse HEAD
	git -C "$tree" diff HEAD -- tools/testing/selftests tools/include include/uapi \
		'arch/*/include/uapi'
	for c in "${lab_collections[@]}"; do
		if [[ " ${targets[*]} " == *" $c "* ]]; then
			(cd "$LAB_ROOT/tests/selftests/$c" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
		fi
	done
}
want=$(stamp_inputs | sha256sum | cut -c1-16)
if [ -f "$install/run_kselftest.sh" ] && [ "$(cat "$stampf" 2>/dev/null)" = "$want" ]; then
	install_skip_list
	log "kselftests up to date: $install"
	printf '%s\n' "$install"
	exit 0
fi
rm -f "$stampf"

# The shadow source tree: symlinks to TREE except on the path down to
# tools/testing/selftests, whose files are symlinked one by one, so that
# proxy_exec can sit beside the kernel's collections and every relative
# path in the selftest Makefiles still resolves.
src=$work/src
rm -rf "$src"
shadow_level() {
	local from=$1 to=$2 keep=$3 e
	mkdir -p "$to"
	for e in "$from"/*; do
		[ "$(basename "$e")" = "$keep" ] || ln -s "$e" "$to/"
	done
}
shadow_level "$tree" "$src" tools
shadow_level "$tree/tools" "$src/tools" testing
shadow_level "$tree/tools/testing" "$src/tools/testing" selftests
cp -as "$tree/tools/testing/selftests" "$src/tools/testing/selftests"
obj=$work/obj
for c in "${lab_collections[@]}"; do
	[[ " ${targets[*]} " == *" $c "* ]] || continue
	[ -f "$LAB_ROOT/tests/selftests/$c/Makefile" ] || die "$c requested but tests/selftests/$c/Makefile is missing"
	rm -rf "$src/tools/testing/selftests/$c"
	cp -a "$LAB_ROOT/tests/selftests/$c" "$src/tools/testing/selftests/$c"
	# The copies keep their mtimes, which can be older than objects built
	# from another checkout (or an earlier commit) on this cache: make
	# would keep those. The stamp changed, so build them again.
	rm -rf "$obj/kselftest/$c"
done
jobs=${JOBS:-$(nproc)}
run_step "kselftest headers $(basename "$build")" "$logs/kselftest-headers.log" \
	in_toolchain nice -n 10 make -C "$tree" O="$obj" ARCH="$KARCH" -j"$jobs" headers

# LDFLAGS goes through the environment, not the command line: the
# collections' Makefiles append to their flags, which a command-line value
# would override. --allow-multiple-definition gives static links the
# dynamic-link rule that a program's own definition wins over libc's (the
# timers collection defines its own clock_adjtime()).
tmp=$install.tmp
rm -rf "$tmp"
run_step "kselftest build $(basename "$build")" "$logs/kselftest-build.log" \
	in_toolchain env LDFLAGS="-static -Wl,--allow-multiple-definition" nice -n 10 \
	make -C "$src/tools/testing/selftests" O="$obj" ARCH="$KARCH" CROSS_COMPILE="$cross" \
	LLVM= FORCE_TARGETS=1 TARGETS="${targets[*]}" KSFT_INSTALL_PATH="$tmp" -j"$jobs" install

# Every collection must have made it into the run list.
for t in "${targets[@]}"; do
	grep -q "^$t:" "$tmp/kselftest-list.txt" ||
		die "collection $t has no tests in $tmp/kselftest-list.txt (see $logs/kselftest-build.log)"
done
write_settings "$tmp"
# The timers collection installs its destructive tests (they set the clock,
# suspend, ...) as TEST_GEN_PROGS_EXTENDED; nothing runs them, so they are
# not shipped.
for f in "$tmp"/timers/*; do
	[ "$(basename "$f")" = settings ] && continue
	grep -qx "timers:$(basename "$f")" "$tmp/kselftest-list.txt" || rm -f "$f"
done
# Static glibc binaries are ~0.7 MB each; strip them for the initramfs.
# shellcheck disable=SC2016 # expanded by the inner shell
in_toolchain sh -c 'find "$1" -type f -exec file {} + | sed -n "s/:.*ELF.*//p" | xargs -r "$2"strip' \
	_ "$tmp" "$cross"
# shellcheck disable=SC2016
dynamic=$(in_toolchain sh -c 'find "$1" -type f -exec file {} + | grep ELF | grep -v "statically linked" || true' _ "$tmp")
[ -z "$dynamic" ] || log "warning: not statically linked (the guest has glibc, so they still run): $dynamic"

rm -rf "$install.old"
[ -e "$install" ] && mv "$install" "$install.old"
mv "$tmp" "$install"
rm -rf "$install.old"
install_skip_list
printf '%s' "$want" >"$stampf"
log "kselftests: $install ($(du -sh "$install" | cut -f1); $(wc -l <"$install/kselftest-list.txt") tests in: ${targets[*]})"
printf '%s\n' "$install"
