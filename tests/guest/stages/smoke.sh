# shellcheck shell=sh
# Smoke test: the Rust toolchain's sample module and the lab's own Rust
# module load and unload, proxy exec is configured in, and the guest has
# every CPU QEMU was given.
# shellcheck source=tests/guest/lib.sh
. /lab/lib.sh

ktap_begin 5
ktap_diag "cpus online: $(nproc), requested: $(lab_param smp 0)"
ktap_check "all-cpus-online" [ "$(nproc)" = "$(lab_param smp 0)" ]
ktap_check "config-sched-proxy-exec" sh -c "zcat /proc/config.gz | grep -qx CONFIG_SCHED_PROXY_EXEC=y"
if modprobe rust_minimal && dmesg | grep -q 'Rust minimal sample (init)'; then
	ktap_ok "rust-minimal-loads"
else
	ktap_not_ok "rust-minimal-loads"
fi
modprobe -r rust_minimal
ktap_check "proxy-stress-loads" modprobe proxy_stress
ktap_check "proxy-stress-unloads" modprobe -r proxy_stress
dmesg | grep -E 'rust_minimal|proxy_stress' | sed 's/^/# dmesg: /'
ktap_exit
