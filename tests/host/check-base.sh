#!/usr/bin/env bash
# Host test: scripts/check-base.sh accepts a base with what the series needs
# and refuses one that lacks any of it, on small synthetic trees (the real
# base is not unpacked yet when the host tests run).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0

# good_tree DIR: the lines check-base.sh looks for, as 7.2 has them.
good_tree() {
	mkdir -p "$1/kernel/sched"
	printf 'VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 11\n' >"$1/Makefile"
	printf 'struct sched_class {\n\tint (*balance)(struct rq *rq, struct rq_flags *rf);\n};\n' \
		>"$1/kernel/sched/sched.h"
	cat >"$1/kernel/sched/core.c" <<'C'
/* proxy_tag_curr() is gone: a word in a comment is not code */
static void prev_balance(struct rq *rq, struct rq_flags *rf)
{
}
static struct task_struct *
__pick_next_task(struct rq *rq, struct rq_flags *rf)
{
	put_prev_set_next_task(rq, rq->donor, p); // proxy_tag_curr
}
C
	for f in rt.c:pick_next_pushable_task deadline.c:pick_next_pushable_dl_task; do
		printf 'static struct task_struct *%s(struct rq *rq)\n{\n\tif (!task_on_cpu(rq, i) && !is_migration_disabled(i))\n\t\treturn i;\n}\n' \
			"${f#*:}" >"$1/kernel/sched/${f%%:*}"
	done
}

# expect NAME WANT_RC EDIT: a good tree changed by the sed EDIT on FILE.
expect() {
	local name=$1 want=$2 file=$3 edit=$4 t=$work/$1 rc=0 out
	good_tree "$t"
	[ -z "$edit" ] || sed -i "$edit" "$t/kernel/sched/$file"
	out=$("$root/scripts/check-base.sh" "$t" 2>&1) || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: exit $rc, want $want: $out"
		fails=$((fails + 1))
	elif [ "$want" = 0 ] && ! grep -q 'Linux 7.2.11' <<<"$out"; then
		echo "FAIL $name: the version is not named: $out"
		fails=$((fails + 1))
	fi
}
expect good 0 core.c ''
# shellcheck disable=SC2016 # a sed address, not a shell expansion
expect proxy-tag-curr-code 2 core.c '$a static void proxy_tag_curr(struct rq *rq) { }'
expect prev-in-prev-balance 2 core.c 's/prev_balance(struct rq \*rq, struct rq_flags \*rf)/prev_balance(struct rq *rq, struct task_struct *prev, struct rq_flags *rf)/'
expect prev-in-pick 2 core.c 's/^__pick_next_task(struct rq \*rq, struct rq_flags \*rf)/__pick_next_task(struct rq *rq, struct task_struct *prev, struct rq_flags *rf)/'
expect no-donor-put-prev 2 core.c 's/rq->donor, p)/prev, p)/'
expect rt-picker-no-skip 2 rt.c 's/!task_on_cpu(rq, i) \&\& //'
expect dl-picker-no-skip 2 deadline.c 's/!task_on_cpu(rq, i) \&\& //'
expect balance-with-prev 2 sched.h 's/(struct rq \*rq, struct rq_flags \*rf)/(struct rq *rq, struct task_struct *prev, struct rq_flags *rf)/'
[ "$fails" = 0 ] && echo "ok: check-base.sh accepts the 7.2 base and refuses each of 7 lacks"
exit "$fails"
