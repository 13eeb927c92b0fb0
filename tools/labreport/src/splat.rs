//! Recognizes kernel splats: warnings, BUGs, oopses, lockdep reports,
//! hung tasks, stalls, lockups and panics.
//!
//! Headers are matched at the start of a line's body (after any printk
//! timestamp and KTAP document prefix), so test names and "# "-prefixed
//! test output that merely mention "WARNING" do not count.

use crate::console::Console;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Warning,
    Bug,
    Oops,
    CallTrace,
    Lockdep,
    HungTask,
    RcuStall,
    SoftLockup,
    HardLockup,
    WorkqueueLockup,
    Ubsan,
    Panic,
}

impl Kind {
    const ALL: [Kind; 12] = [
        Kind::Warning,
        Kind::Bug,
        Kind::Oops,
        Kind::CallTrace,
        Kind::Lockdep,
        Kind::HungTask,
        Kind::RcuStall,
        Kind::SoftLockup,
        Kind::HardLockup,
        Kind::WorkqueueLockup,
        Kind::Ubsan,
        Kind::Panic,
    ];

    fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Warning => "warning",
            Kind::Bug => "bug",
            Kind::Oops => "oops",
            Kind::CallTrace => "call-trace",
            Kind::Lockdep => "lockdep",
            Kind::HungTask => "hung-task",
            Kind::RcuStall => "rcu-stall",
            Kind::SoftLockup => "soft-lockup",
            Kind::HardLockup => "hard-lockup",
            Kind::WorkqueueLockup => "workqueue-lockup",
            Kind::Ubsan => "ubsan",
            Kind::Panic => "panic",
        }
    }
}

/// The splat patterns shared with the guest: tests/guest/splat-patterns.
const PATTERNS: &str = include_str!("../../../tests/guest/splat-patterns");

/// One line of `PATTERNS`.
struct Pattern {
    kind: Kind,
    prefix: &'static str,
    contains: &'static str,
}

/// The patterns, in file order; a malformed line is a build-time data bug
/// that the tests catch.
fn patterns() -> &'static [Pattern] {
    static PARSED: OnceLock<Vec<Pattern>> = OnceLock::new();
    PARSED.get_or_init(|| {
        PATTERNS
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| {
                let mut fields = line.splitn(3, '|');
                let kind = Kind::parse(fields.next()?)?;
                Some(Pattern {
                    kind,
                    prefix: fields.next()?,
                    contains: fields.next()?,
                })
            })
            .collect()
    })
}

/// The kind of splat whose header `body` is, if any.
pub fn classify(body: &str) -> Option<Kind> {
    patterns()
        .iter()
        .find(|p| body.starts_with(p.prefix) && body.contains(p.contains))
        .map(|p| p.kind)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub kind: Kind,
    /// Index into `Console::lines`.
    pub line: usize,
}

/// How far below a splat header its report may still print a call trace.
const REPORT_SPAN: usize = 100;

/// Finds the splat headers in the console.
///
/// A "Call Trace:" is normally part of the report of the header above it
/// (a WARNING, an Oops, a hung task, ...); it is reported on its own only
/// outside such a report. A report ends at "---[ end trace", at a stage
/// boundary, or `REPORT_SPAN` lines after its header. Without this, every
/// allowed warning would still fail the run through its call trace.
pub fn find(console: &Console) -> Vec<Found> {
    let mut found = Vec::new();
    // Line index and stage of the latest header whose report may go on.
    let mut report: Option<(usize, Option<usize>)> = None;
    for (index, line) in console.lines.iter().enumerate() {
        let body = line.body();
        if body.starts_with("---[ end trace") {
            report = None;
            continue;
        }
        // sched_show_task()'s "task:NAME state:S stack:0 pid:42 ..." heads
        // a dump asked for (a stuck test thread, sysrq), not a splat: its
        // call trace is part of it.
        if is_task_dump(body) {
            report = Some((index, line.stage));
            continue;
        }
        let Some(kind) = classify(body) else {
            continue;
        };
        let in_report = report
            .is_some_and(|(start, stage)| stage == line.stage && index - start <= REPORT_SPAN);
        if kind == Kind::CallTrace && in_report {
            continue;
        }
        report = Some((index, line.stage));
        found.push(Found { kind, line: index });
    }
    found
}

fn is_task_dump(body: &str) -> bool {
    body.strip_prefix("task:")
        .is_some_and(|rest| rest.contains(" state:") && rest.contains(" pid:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console;

    #[test]
    fn every_pattern_line_parses_and_every_kind_has_one() {
        let lines = PATTERNS
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .count();
        assert_eq!(
            patterns().len(),
            lines,
            "a malformed line in splat-patterns"
        );
        for kind in Kind::ALL {
            assert!(patterns().iter().any(|p| p.kind == kind), "{kind:?}");
        }
        assert!(patterns().iter().all(|p| !p.prefix.is_empty()));
    }

    #[test]
    fn classifies_each_kind() {
        let cases = [
            (
                "WARNING: CPU: 1 PID: 42 at kernel/sched/core.c:123 foo+0x10/0x20",
                Kind::Warning,
            ),
            ("WARNING: at kernel/foo.c:1 bar()", Kind::Warning),
            (
                "BUG: kernel NULL pointer dereference, address: 0000000000000008",
                Kind::Bug,
            ),
            (
                "BUG: sleeping function called from invalid context at mm/slab.c:1",
                Kind::Bug,
            ),
            ("BUG: spinlock bad magic on CPU#0, swapper/0/1", Kind::Bug),
            ("BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2", Kind::Bug),
            ("kernel BUG at mm/slub.c:4321!", Kind::Bug),
            (
                "Oops: general protection fault, probably for non-canonical address",
                Kind::Oops,
            ),
            ("Oops: 0002 [#1] PREEMPT SMP NOPTI", Kind::Oops),
            (
                "Internal error: Oops: 0000000096000005 [#1] PREEMPT SMP",
                Kind::Oops,
            ),
            ("Call Trace:", Kind::CallTrace),
            ("Call trace:", Kind::CallTrace),
            (
                "WARNING: possible circular locking dependency detected",
                Kind::Lockdep,
            ),
            (
                "WARNING: possible recursive locking detected",
                Kind::Lockdep,
            ),
            ("WARNING: inconsistent lock state", Kind::Lockdep),
            ("WARNING: suspicious RCU usage", Kind::Lockdep),
            (
                "INFO: task kworker/0:1:42 blocked for more than 122 seconds.",
                Kind::HungTask,
            ),
            (
                "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
                Kind::RcuStall,
            ),
            (
                "rcu: INFO: rcu_sched self-detected stall on CPU",
                Kind::RcuStall,
            ),
            (
                "INFO: rcu_sched detected stalls on CPUs/tasks:",
                Kind::RcuStall,
            ),
            (
                "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:1]",
                Kind::SoftLockup,
            ),
            (
                "NMI watchdog: BUG: soft lockup - CPU#1 stuck for 23s!",
                Kind::SoftLockup,
            ),
            (
                "watchdog: Watchdog detected hard LOCKUP on cpu 1",
                Kind::HardLockup,
            ),
            (
                "NMI watchdog: Watchdog detected hard LOCKUP on cpu 2",
                Kind::HardLockup,
            ),
            (
                "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!",
                Kind::WorkqueueLockup,
            ),
            (
                "UBSAN: array-index-out-of-bounds in lib/foo.c:12:3",
                Kind::Ubsan,
            ),
            ("Kernel panic - not syncing: Fatal exception", Kind::Panic),
            ("Kernel panic - not syncing: Hard LOCKUP", Kind::Panic),
        ];
        for (line, kind) in cases {
            assert_eq!(classify(line), Some(kind), "{line}");
        }
    }

    #[test]
    fn ignores_lines_that_only_mention_splat_words() {
        for line in [
            "ok 1 test_WARNING_path",
            "not ok 2 WARNING: not at start # SKIP",
            "# WARNING: printed by a test",
            "# # BUG: inside kselftest output",
            "    WARNING: indented KTAP diagnostic",
            "userspace says Oops: nothing",
            "Oops, typo",
            "---[ end Kernel panic - not syncing: Fatal exception ]---",
            "watchdog: Delayed init of the lockup detector skipped",
            "rcu: INFO: something else",
            "INFO: task list updated",
            "rcu: Hierarchical RCU implementation.",
        ] {
            assert_eq!(classify(line), None, "{line}");
        }
    }

    fn find_in(log: &str) -> Vec<(Kind, usize)> {
        let console = console::parse(log);
        find(&console)
            .into_iter()
            .map(|f| (f.kind, f.line))
            .collect()
    }

    #[test]
    fn matches_after_timestamp_but_not_in_test_output() {
        let log = "[   12.345678] WARNING: CPU: 0 PID: 1 at a.c:1 f\n\
                   LAB: stage-begin s\n\
                   TAP version 13\n\
                   1..1\n\
                   # WARNING: from the test\n\
                   ok 1 selftests: x: WARNING_test\n\
                   LAB: stage-end s rc=0 secs=1\n";
        assert_eq!(find_in(log), [(Kind::Warning, 0)]);
    }

    #[test]
    fn matches_after_ktap_document_prefix() {
        let log = "LAB: stage-begin s\nkunit: KTAP version 1\nkunit: BUG: odd but possible\n";
        assert_eq!(find_in(log), [(Kind::Bug, 2)]);
    }

    #[test]
    fn call_trace_of_a_report_is_folded_into_it() {
        let log = "WARNING: CPU: 0 PID: 1 at a.c:1 f\n\
                   Modules linked in:\n\
                   Call Trace:\n\
                   \x20<TASK>\n\
                   ---[ end trace 0000000000000000 ]---\n\
                   Call Trace:\n\
                   \x20dump_stack+0x10/0x20\n";
        assert_eq!(find_in(log), [(Kind::Warning, 0), (Kind::CallTrace, 5)]);
    }

    #[test]
    fn call_trace_of_a_task_dump_is_no_splat() {
        let log = "proxy_stress: stuck: ps_inv_own/0 pid 80 cpu 1\n\
                   task:ps_inv_own/0 state:S stack:0 pid:80 tgid:80 ppid:2 flags:0x4000\n\
                   Call Trace:\n <TASK>\n __schedule+0x83d/0x940\n </TASK>\n";
        assert!(find_in(log).is_empty(), "{:?}", find_in(log));
        assert_eq!(find_in("x\nCall Trace:\n"), [(Kind::CallTrace, 1)]);
    }

    #[test]
    fn call_trace_far_below_or_in_another_stage_stands_alone() {
        let far = format!(
            "INFO: task a:1 blocked for more than 1 seconds.\n{}Call Trace:\n",
            "x\n".repeat(REPORT_SPAN)
        );
        assert_eq!(
            find_in(&far),
            [(Kind::HungTask, 0), (Kind::CallTrace, REPORT_SPAN + 1)]
        );
        let other_stage = "BUG: foo\nLAB: stage-begin s\nCall Trace:\n";
        assert_eq!(find_in(other_stage), [(Kind::Bug, 0), (Kind::CallTrace, 2)]);
    }

    #[test]
    fn repeated_call_traces_fold_into_one_stall_report() {
        let log = "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n\
                   Call Trace:\nx\nCall Trace:\n\
                   Kernel panic - not syncing: RCU Stall\n";
        assert_eq!(find_in(log), [(Kind::RcuStall, 0), (Kind::Panic, 4)]);
    }
}
