#!/usr/bin/env bash
# Check that a kernel base is one the series is written for, by what it has
# (positively) and not only by what it lacks: Linux >= 7.2, where upstream
# merged John Stultz's "Rework prev_balance()" (the v27 01/10 seed) and
# removed sched_class::pick_next_task(), and where upstream's e0ca8991b2de
# removed proxy_tag_curr() and made both push pickers skip a task on a CPU,
# which 0020 edits. Names the version it found.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

tree=${1:?usage: $0 KERNEL_TREE}
sched_h=$tree/kernel/sched/sched.h
core_c=$tree/kernel/sched/core.c
rt_c=$tree/kernel/sched/rt.c
dl_c=$tree/kernel/sched/deadline.c
for f in "$sched_h" "$core_c" "$rt_c" "$dl_c" "$tree/Makefile"; do
	[ -f "$f" ] || die "$tree has no ${f#"$tree"/}"
done
version=$(awk -F' = ' '$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 }
	$1 == "SUBLEVEL" { s = $2 } END { print v "." p "." s }' "$tree/Makefile")

# code FILE: FILE without its comments (one-line, block, and // ones), so
# that a word in a comment is not taken for code.
code() {
	sed -E 's@/\*.*\*/@@g; s@//.*@@' "$1" |
		awk '/\/\*/ { sub(/\/\*.*/, ""); print; skip = 1; next }
			skip && /\*\// { sub(/.*\*\//, ""); skip = 0 }
			!skip { print }'
}

# body FILE FUNCTION: the code of FUNCTION's definition, up to its closing brace.
body() {
	code "$1" | awk -v f="$2" 'done { next } index($0, f "(") && /^static/ { on = 1 } on { print } on && /^}/ { done = 1 }'
}

# The code of each file once (grep -q at the end of a pipe would fail it
# under pipefail, by SIGPIPE, as soon as it matched).
sched_code=$(code "$sched_h")
core_code=$(code "$core_c")
rt_pick=$(body "$rt_c" pick_next_pushable_task)
dl_pick=$(body "$dl_c" pick_next_pushable_dl_task)

fail=()
grep -Eq 'int[[:space:]]+\(\*balance\)\(struct rq \*rq, struct rq_flags \*rf\);' <<<"$sched_code" ||
	fail+=("sched_class::balance does not take (struct rq *rq, struct rq_flags *rf)")
grep -Eq '\(\*pick_next_task\)' <<<"$sched_code" &&
	fail+=("struct sched_class still has pick_next_task()")
grep -Fq 'prev_balance(struct rq *rq, struct rq_flags *rf)' <<<"$core_code" ||
	fail+=("no prev_balance(struct rq *rq, struct rq_flags *rf)")
grep -Fq '__pick_next_task(struct rq *rq, struct rq_flags *rf)' <<<"$core_code" ||
	fail+=("no __pick_next_task(struct rq *rq, struct rq_flags *rf)")
grep -Fq 'put_prev_set_next_task(rq, rq->donor,' <<<"$core_code" ||
	fail+=("no put_prev_set_next_task(rq, rq->donor, ...)")
grep -q 'proxy_tag_curr' <<<"$core_code" &&
	fail+=("proxy_tag_curr() is still present (upstream e0ca8991b2de not in the base)")
grep -Fq '!task_on_cpu(rq, i)' <<<"$rt_pick" ||
	fail+=("pick_next_pushable_task() does not skip a task on a CPU (e0ca8991b2de)")
grep -Fq '!task_on_cpu(rq, i)' <<<"$dl_pick" ||
	fail+=("pick_next_pushable_dl_task() does not skip a task on a CPU (e0ca8991b2de)")

if [ ${#fail[@]} -gt 0 ]; then
	printf 'base check: %s\n' "${fail[@]}" >&2
	die "$tree (Linux $version): this series needs Linux >= 7.2 (dropped-prev rework and e0ca8991b2de)"
fi
log "base check: Linux $version: dropped-prev rework (balance(rq, rf), prev_balance(rq, rf), __pick_next_task(rq, rf), put_prev_set_next_task(rq, rq->donor, ...)), e0ca8991b2de (no proxy_tag_curr, task_on_cpu() skip in both push pickers)"
