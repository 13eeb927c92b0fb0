# proxy-exec lab: build, boot and test Linux 7.2 proxy execution with our
# scheduler series and Rust stress module. `make help` lists the targets.
# The work is done by scripts/lab.sh; this file only maps targets to it.

SHELL := /bin/bash

ARCH       ?= x86_64
VARIANT    ?= patched
TOOLCHAIN  ?= sysroot
SMP        ?= 4
DEBUG      ?= 0
PROXY_EXEC ?= 1
DURATION   ?= 30m

export ARCH VARIANT TOOLCHAIN SMP DEBUG PROXY_EXEC DURATION
export KERNEL_SRC LAB_CACHE SYSROOT BOOT_TIMEOUT ACCEL MEM JOBS RESULTS LLVM_SUFFIX
export LOCKTORTURE_SECS BOOTS EXTRA_CMDLINE PLAN_RUN PLAN_TEST PLAN_AB PLAN_NOPROXY PLAN_SOAK

# make bench: both arches unless ARCH= (or BENCH_ARCHES=) names them.
BENCH_ARCHES ?= $(if $(filter file,$(origin ARCH)),x86_64 arm64,$(ARCH))
export BENCH_ARCHES BENCH_RUNS BENCH_SEED BENCH_DURATION_MS BENCH_PUSHABLE_MS
export BENCH_THREADS_PER_CPU BENCH_WAIT_BOUND_US BENCH_SCENARIOS

LAB := scripts/lab.sh

# GNU make reports every failed recipe as exit 2, so name the lab's own
# code (see README "Exit codes") before make collapses it.
define lab_exit
rc=$$?; case $$rc in 0) ;; 1) what='test failure' ;; 2) what='infrastructure failure or incomplete run' ;; \
3) what='kernel panic or splat' ;; *) what='unexpected' ;; esac; \
[ $$rc = 0 ] || echo "lab: exit code $$rc ($$what); make itself exits 2" >&2; exit $$rc
endef

.PHONY: help run repeat test host-test toolchain source prepare check-series format-series soak bench bench-pipeline clean distclean

help:
	@echo 'proxy-exec lab'
	@echo
	@echo '  make run         build what is missing, boot ARCH, load proxy_stress, print the result'
	@echo '  make repeat      make run BOOTS=10 times, one run folder each, for a rare failure'
	@echo '  make test        host tests, then x86_64+arm64 patched and arm64 stock; exit 0/1/2/3'
	@echo '  make host-test   host tool tests (cargo test) and shellcheck'
	@echo '  make toolchain   provision the Debian 13 sysroot and guest userspace'
	@echo '  make source      fetch, verify and import the pinned linux-source-7.2'
	@echo '  make prepare     patch, configure and build ARCH/VARIANT, and its initramfs'
	@echo '  make check-series  checkpatch --strict, git am and an ARCH build after each patch'
	@echo '  make format-series [OUT=dir]  the series signed off by your git identity'
	@echo '  make soak        long run (DURATION=30m) of the stress module and locktorture'
	@echo '  make bench       stock vs patched vs proxy exec off: BENCH_RUNS=5 boots each, interleaved,'
	@echo '                   on x86_64 and arm64 (or ARCH=); report in results/bench-<time>/bench.md'
	@echo '  make bench-pipeline  print stage times (toolchain, source, builds, boot)'
	@echo '  make clean       remove results/ and the build trees (keeps sysroot and source)'
	@echo '  make distclean   also remove the whole cache ($$LAB_CACHE)'
	@echo
	@echo 'Variables: ARCH=x86_64|arm64  VARIANT=patched|stock|base  DEBUG=0|1  PROXY_EXEC=1|0'
	@echo '  (base: the pinned base with no lab patch and no lab module)  BOOTS=10'
	@echo '  SMP=4  MEM=1024  BOOT_TIMEOUT=900  ACCEL=tcg|auto|kvm  TOOLCHAIN=sysroot|host'
	@echo '  KERNEL_SRC=/path/to/linux  LAB_CACHE=~/.cache/proxy-exec-lab  JOBS=N'
	@echo '  bench: BENCH_ARCHES="x86_64 arm64"  BENCH_RUNS=5  BENCH_SEED=1  BENCH_DURATION_MS=2000'
	@echo '         BENCH_PUSHABLE_MS=2000  BENCH_THREADS_PER_CPU=1  BENCH_SCENARIOS=a,b,...'
	@echo 'Exit codes: 0 pass, 1 test failure, 2 infrastructure or incomplete run, 3 panic or splat.'

run:
	@$(LAB) run $(ARCH) $(VARIANT); $(lab_exit)

repeat:
	@$(LAB) repeat $(ARCH) $(VARIANT); $(lab_exit)

test:
	@$(LAB) test; $(lab_exit)

host-test:
	@$(LAB) host-tests

toolchain:
	@scripts/toolchain.sh all

source:
	@scripts/source.sh

prepare:
	@$(LAB) prepare $(ARCH) $(VARIANT)

check-series:
	@scripts/check-series.sh $(ARCH)

format-series:
	@scripts/format-series.sh $(OUT)

soak:
	@$(LAB) soak $(ARCH) $(VARIANT); $(lab_exit)

bench:
	@scripts/bench.sh; $(lab_exit)

bench-pipeline:
	@scripts/bench-pipeline.sh

clean:
	rm -rf results
	@. scripts/lib.sh && rm -rf "$$LAB_CACHE/build"

distclean: clean
	@. scripts/lib.sh && rm -rf "$$LAB_CACHE"
