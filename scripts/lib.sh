# shellcheck shell=bash
# Shared helpers for the lab scripts: logging, exit codes, step runner,
# and the sysroot wrapper. Sourced, never executed.

# Exit codes, shared with tools/labreport (see README "Exit codes").
readonly EXIT_PASS=0 EXIT_TESTFAIL=1 EXIT_INFRA=2 EXIT_PANIC=3
export EXIT_PASS EXIT_TESTFAIL EXIT_INFRA EXIT_PANIC

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_CACHE=${LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/proxy-exec-lab}
TOOLCHAIN=${TOOLCHAIN:-sysroot}
SYSROOT=${SYSROOT:-$LAB_CACHE/sysroot}
# Step logs go to the current run folder when there is one.
LOG_DIR=${LOG_DIR:-$LAB_CACHE/logs}
export LAB_ROOT LAB_CACHE TOOLCHAIN SYSROOT LOG_DIR

# Bad make variables stop every script before it does anything: every
# variable of the README's table is checked here, once, so that a typo
# never starts a kernel build first.
check_vars() {
	local v
	case $TOOLCHAIN in sysroot | host) ;; *) die "TOOLCHAIN='$TOOLCHAIN' must be sysroot or host" ;; esac
	case ${ARCH:-x86_64} in x86_64 | arm64) ;; *) die "ARCH='$ARCH' must be x86_64 or arm64" ;; esac
	case ${VARIANT:-patched} in patched | stock | base) ;; *) die "VARIANT='$VARIANT' must be patched, stock or base" ;; esac
	case ${DEBUG:-0} in 0 | 1) ;; *) die "DEBUG='$DEBUG' must be 0 or 1" ;; esac
	case ${PROXY_EXEC:-1} in 0 | 1) ;; *) die "PROXY_EXEC='$PROXY_EXEC' must be 0 or 1" ;; esac
	case ${ACCEL:-tcg} in tcg | kvm | auto) ;; *) die "ACCEL='$ACCEL' must be tcg, kvm or auto" ;; esac
	for v in SMP MEM BOOT_TIMEOUT JOBS LOCKTORTURE_SECS BOOTS; do
		if [ -n "${!v:-}" ] && ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
			die "$v='${!v}' is not a positive integer"
		fi
	done
	# The guest needs room for the initramfs and the stress threads.
	if [ -n "${MEM:-}" ] && [ "$MEM" -lt 256 ]; then
		die "MEM='$MEM' is below 256 MiB, too little for the guest"
	fi
	if [ -n "${KERNEL_SRC:-}" ] && [ ! -d "$KERNEL_SRC" ]; then
		die "KERNEL_SRC='$KERNEL_SRC' is not a directory"
	fi
}

# cache_lock NAME: hold the cache-wide lock NAME until the calling
# (sub)shell exits, so that two runs on one cache never build into, patch or
# provision the same directory at once. A busy lock is waited for, with a
# message naming it and its holder.
cache_lock() {
	local f=$LAB_CACHE/locks/$1.lock fd
	mkdir -p "${f%/*}"
	exec {fd}>>"$f"
	if ! flock -n "$fd"; then
		log "waiting for the lock '$1' ($f), held by: $(cat "$f.holder" 2>/dev/null || echo unknown)"
		flock "$fd"
		log "got the lock '$1'"
	fi
	printf 'pid %s from %s since %(%T)T\n' "$BASHPID" "$LAB_ROOT" -1 >"$f.holder"
}

log() { printf '[lab %(%T)T] %s\n' -1 "$*" >&2; }

# die MESSAGE [CODE]: infrastructure failures default to exit 2.
die() {
	printf '[lab %(%T)T] ERROR: %s\n' -1 "$1" >&2
	exit "${2:-$EXIT_INFRA}"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "required tool '$c' not found in PATH"
	done
}

# run_step NAME LOGFILE CMD...: run CMD with all output in LOGFILE, print a
# progress line every 30 s, and on failure name the step, its log and the
# last lines of it.
run_step() {
	local name=$1 logf=$2 start rc=0 pid
	shift 2
	mkdir -p "$(dirname "$logf")"
	start=$SECONDS
	log "$name: started (log: $logf)"
	"$@" >"$logf" 2>&1 &
	pid=$!
	while ! wait_timeout "$pid" 30; do
		log "$name: running for $((SECONDS - start)) s: $(tail -n 1 "$logf" | cut -c1-100)"
	done
	wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then
		printf '[lab] ---- last lines of %s ----\n' "$logf" >&2
		tail -n 25 "$logf" >&2
		die "step '$name' failed (exit $rc); full log: $logf"
	fi
	log "$name: done in $((SECONDS - start)) s"
}

# wait_timeout PID SECS: true once PID has exited, false after SECS.
wait_timeout() {
	local pid=$1 n=$2
	while [ "$n" -gt 0 ]; do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 1
		n=$((n - 1))
	done
	! kill -0 "$pid" 2>/dev/null
}

# in_toolchain CMD...: run CMD with the lab toolchain. With the default
# sysroot this is a bubblewrap container over the Debian 13 sysroot; with
# TOOLCHAIN=host it is the host itself.
in_toolchain() {
	if [ "$TOOLCHAIN" = host ]; then
		"$@"
		return
	fi
	[ -x "$SYSROOT/usr/bin/rustc" ] || die "sysroot $SYSROOT is not provisioned (run: make toolchain)"
	local binds=(--bind "$LAB_ROOT" "$LAB_ROOT" --bind "$LAB_CACHE" "$LAB_CACHE")
	local b
	# LAB_BINDS: extra "HOSTPATH=GUESTPATH" pairs (or plain paths).
	for b in ${LAB_BINDS:-}; do
		binds+=(--bind "${b%%=*}" "${b#*=}")
	done
	bwrap --bind "$SYSROOT" / --dev-bind /dev /dev --proc /proc --tmpfs /tmp \
		"${binds[@]}" --chdir "$PWD" \
		--setenv PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--setenv HOME /tmp --unsetenv CARGO_HOME --unsetenv RUSTUP_HOME \
		-- "$@"
}

# labreport ARGS: the lab's report tool (tools/labreport), built in the
# sysroot on first use and run there.
# Per checkout: cargo does not rebuild when only the checkout moves, and the
# CLI tests would then run a binary built from another checkout.
LABREPORT_TARGET=$LAB_ROOT/tools/labreport/target
# A failed build is an infrastructure failure, checked here and not left to
# errexit: callers run this in `|| rc=$?` and pipelines, where errexit is
# off and a stale binary would otherwise judge the run.
labreport() {
	local logf=$LOG_DIR/labreport-build.log
	mkdir -p "$LOG_DIR"
	if ! in_toolchain cargo build -q --release --offline \
		--manifest-path "$LAB_ROOT/tools/labreport/Cargo.toml" \
		--target-dir "$LABREPORT_TARGET" >"$logf" 2>&1; then
		tail -n 20 "$logf" >&2
		die "step 'labreport build' failed; full log: $logf"
	fi
	in_toolchain "$LABREPORT_TARGET/release/labreport" "$@"
}

# user_tree_id: short id of the real path of KERNEL_SRC. The imported
# clone (source.sh) and the build directories (build_name) carry it, so
# that two trees never share a build directory: in the sysroot every tree
# is bound at the same path, and make would keep objects built from the
# other tree whenever their sources are older.
user_tree_id() {
	local src
	src=$(cd "$KERNEL_SRC" 2>/dev/null && pwd) || src=$KERNEL_SRC
	printf '%s' "$src" | sha256sum | cut -c1-12
}

# LLVM suffix of the sysroot's clang ("-19"); empty for a host toolchain
# that provides plain clang.
llvm_suffix() {
	if [ "$TOOLCHAIN" = host ]; then
		printf '%s' "${LLVM_SUFFIX:-}"
	else
		printf '%s' "${LLVM_SUFFIX:--19}"
	fi
}

# Variables given to the lab's make (ARCH=, VARIANT=, ...) must not leak
# into the kernel's make through MAKEFLAGS; the scripts pass what kbuild
# needs explicitly.
unset MAKEFLAGS MFLAGS MAKELEVEL
check_vars
