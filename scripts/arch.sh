# shellcheck shell=bash
# Per-arch build facts, in one place. Sourced; QEMU settings live in qemu/.

# arch_setup ARCH: sets KARCH (kernel ARCH=), KIMAGE_TARGET (make target)
# and KIMAGE (image path relative to the build directory).
arch_setup() {
	case $1 in
	x86_64) KARCH=x86_64 KIMAGE_TARGET=bzImage KIMAGE=arch/x86/boot/bzImage ;;
	arm64) KARCH=arm64 KIMAGE_TARGET=Image KIMAGE=arch/arm64/boot/Image ;;
	*) die "unknown ARCH '$1' (use x86_64 or arm64)" ;;
	esac
	export KARCH KIMAGE_TARGET KIMAGE
}

# build_name ARCH VARIANT: build directory name, e.g. arm64-patched-debug,
# or x86_64-patched-user-0123456789ab for a KERNEL_SRC tree.
build_name() {
	case $2 in
	stock | patched | base | series) ;;
	*) die "unknown VARIANT '$2' (use stock, patched or base)" ;;
	esac
	printf '%s-%s%s%s' "$1" "$2" "$([ "${DEBUG:-0}" = 1 ] && echo -debug)" \
		"$([ -n "${KERNEL_SRC:-}" ] && echo "-user-$(user_tree_id)")"
}
