#!/usr/bin/env bash
# Refuse a kernel base that predates the dropped-prev rework. Our scheduler
# series is written for Linux >= 7.2, where upstream merged John Stultz's
# "Rework prev_balance()" (the v27 01/10 seed) and removed
# sched_class::pick_next_task(), and where upstream's e0ca8991b2de removed
# proxy_tag_curr().
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

tree=${1:?usage: $0 KERNEL_TREE}
sched_h=$tree/kernel/sched/sched.h
core_c=$tree/kernel/sched/core.c
{ [ -f "$sched_h" ] && [ -f "$core_c" ]; } || die "$tree has no kernel/sched/sched.h or core.c"

fail=()
grep -Eq 'int[[:space:]]+\(\*balance\)\(struct rq \*rq, struct rq_flags \*rf\);' "$sched_h" ||
	fail+=("sched_class::balance does not take (struct rq *rq, struct rq_flags *rf)")
grep -Eq '\(\*pick_next_task\)' "$sched_h" &&
	fail+=("struct sched_class still has pick_next_task()")
grep -Eq 'prev_balance\(struct rq \*rq, struct task_struct \*prev' "$core_c" &&
	fail+=("prev_balance() still takes prev")
grep -Eq '__pick_next_task\(struct rq \*rq, struct task_struct \*prev' "$core_c" &&
	fail+=("__pick_next_task() still takes prev")
grep -q 'proxy_tag_curr' "$core_c" &&
	fail+=("proxy_tag_curr() is still present (upstream e0ca8991b2de not in the base)")

if [ ${#fail[@]} -gt 0 ]; then
	printf 'base check: %s\n' "${fail[@]}" >&2
	die "$tree: this series needs Linux >= 7.2 (dropped-prev rework and e0ca8991b2de)"
fi
log "base check: $tree has the dropped-prev rework (balance(rq, rf), no prev in prev_balance/__pick_next_task, no pick_next_task, no proxy_tag_curr)"
