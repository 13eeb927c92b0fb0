//! Turns a console log into stage results, splats, a verdict with its
//! reasons, and the JSON and human renderings of all that.

use crate::console::{self, Console};
use crate::json::{self, Value};
use crate::ktap::{self, Counts, Test};
use crate::splat::{self, Kind};
use std::fmt::Write as _;

/// How a run ended, in increasing precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Pass,
    Fail,
    Infra,
    Panic,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
            Verdict::Infra => 2,
            Verdict::Panic => 3,
        }
    }

    pub fn from_exit_code(code: u8) -> Option<Self> {
        [Verdict::Pass, Verdict::Fail, Verdict::Infra, Verdict::Panic]
            .into_iter()
            .find(|verdict| verdict.exit_code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Infra => "INFRA",
            Verdict::Panic => "PANIC",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageStatus {
    Pass,
    Fail,
    /// Nothing but skipped tests.
    Skip,
    Incomplete,
}

impl StageStatus {
    pub fn parse(text: &str) -> Option<Self> {
        [
            StageStatus::Pass,
            StageStatus::Fail,
            StageStatus::Skip,
            StageStatus::Incomplete,
        ]
        .into_iter()
        .find(|status| text.eq_ignore_ascii_case(status.as_str()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StageStatus::Pass => "PASS",
            StageStatus::Fail => "FAIL",
            StageStatus::Skip => "SKIP",
            StageStatus::Incomplete => "INCOMPLETE",
        }
    }
}

/// A stage run on the host before the guest booted, such as the build.
#[derive(Debug, Clone, PartialEq)]
pub struct HostStage {
    pub name: String,
    pub status: StageStatus,
    pub secs: Option<f64>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Options {
    pub timed_out: bool,
    pub qemu_rc: Option<i64>,
    /// Splats whose line contains one of these do not affect the verdict.
    pub allow_splats: Vec<String>,
    pub meta: Vec<(String, String)>,
    pub host_stages: Vec<HostStage>,
}

#[derive(Debug, PartialEq)]
pub struct StageResult {
    pub name: String,
    pub status: StageStatus,
    pub duration_s: Option<f64>,
    pub rc: Option<i64>,
    pub counts: Counts,
    pub tests: Vec<Test>,
}

#[derive(Debug, PartialEq)]
pub struct SplatReport {
    pub kind: Kind,
    /// 1-based line number in the console log.
    pub line: usize,
    pub stage: Option<String>,
    pub text: String,
    pub context: Vec<String>,
    pub allowed: bool,
}

#[derive(Debug, PartialEq)]
pub struct Report {
    pub meta: Vec<(String, String)>,
    pub verdict: Verdict,
    pub stages: Vec<StageResult>,
    pub splats: Vec<SplatReport>,
    pub totals: Counts,
    /// Why the verdict is what it is, most severe first.
    pub reasons: Vec<String>,
    /// The end of the console when the plan did not finish.
    tail: Option<Vec<String>>,
}

const CONTEXT_LINES: usize = 20;
const TAIL_LINES: usize = 15;
/// Failing test names listed in a stage's reason.
const NAMED_FAILURES: usize = 5;
/// Characters of the first failure's last diagnostic line in its reason.
const NOTE_CHARS: usize = 300;
/// Splats, and context lines of each, shown in the human summary.
const SHOWN_SPLATS: usize = 3;
const SHOWN_CONTEXT: usize = 5;

/// Reasons found so far, each with the verdict it implies.
#[derive(Default)]
struct Reasons(Vec<(Verdict, String)>);

impl Reasons {
    fn add(&mut self, verdict: Verdict, text: String) {
        self.0.push((verdict, text));
    }

    /// The verdict of the most severe reason, and all reasons, most
    /// severe first and otherwise in the order found.
    fn finish(mut self) -> (Verdict, Vec<String>) {
        self.0
            .sort_by_key(|(verdict, _)| std::cmp::Reverse(*verdict));
        let verdict = self
            .0
            .first()
            .map_or(Verdict::Pass, |(verdict, _)| *verdict);
        (verdict, self.0.into_iter().map(|(_, text)| text).collect())
    }
}

pub fn analyze(log: &str, options: &Options) -> Report {
    let console = console::parse(log);
    let mut reasons = Reasons::default();

    let mut stages: Vec<StageResult> = options
        .host_stages
        .iter()
        .map(|stage| host_stage_result(stage, &mut reasons))
        .collect();
    stages.extend(
        console
            .stages
            .iter()
            .map(|stage| console_stage_result(stage, &mut reasons)),
    );

    let splats = splat_reports(&console, &options.allow_splats);
    for splat in splats.iter().filter(|splat| !splat.allowed) {
        let stage = splat
            .stage
            .as_ref()
            .map_or(String::new(), |stage| format!(" in stage {stage}"));
        reasons.add(
            Verdict::Panic,
            format!(
                "{} at line {}{stage}: {}",
                splat.kind.as_str(),
                splat.line,
                splat.text
            ),
        );
    }

    if !console.plan_done {
        reasons.add(
            Verdict::Infra,
            "no \"LAB: plan-done\": the plan did not finish".into(),
        );
    }
    if options.timed_out {
        reasons.add(Verdict::Infra, "the run timed out".into());
    }
    // After a panic QEMU exiting non-zero is expected, not an extra problem.
    let panicked = splats.iter().any(|splat| splat.kind == Kind::Panic);
    if let Some(rc) = options.qemu_rc.filter(|&rc| rc != 0 && !panicked) {
        reasons.add(Verdict::Infra, format!("QEMU exited with rc={rc}"));
    }

    let tail = (!console.plan_done).then(|| {
        let skip = console.lines.len().saturating_sub(TAIL_LINES);
        console.lines[skip..]
            .iter()
            .map(|line| line.raw.clone())
            .collect()
    });
    let totals = stages.iter().map(|stage| stage.counts).sum();
    let (verdict, reasons) = reasons.finish();
    Report {
        meta: options.meta.clone(),
        verdict,
        stages,
        splats,
        totals,
        reasons,
        tail,
    }
}

fn host_stage_result(stage: &HostStage, reasons: &mut Reasons) -> StageResult {
    let name = &stage.name;
    match stage.status {
        StageStatus::Fail => reasons.add(Verdict::Fail, format!("host stage {name} failed")),
        StageStatus::Incomplete => reasons.add(
            Verdict::Infra,
            format!("host stage {name} did not complete"),
        ),
        StageStatus::Pass | StageStatus::Skip => {}
    }
    StageResult {
        name: name.clone(),
        status: stage.status,
        duration_s: stage.secs,
        rc: None,
        counts: Counts::default(),
        tests: Vec::new(),
    }
}

fn console_stage_result(stage: &console::Stage, reasons: &mut Reasons) -> StageResult {
    let name = &stage.name;
    let docs: Vec<ktap::Document> = stage
        .docs
        .iter()
        .map(|doc| ktap::parse_document(doc))
        .collect();
    let complete = docs.iter().all(|doc| doc.complete);
    let incomplete: Vec<String> = docs.iter().flat_map(|doc| doc.incomplete.clone()).collect();
    let problems: Vec<String> = docs.iter().flat_map(|doc| doc.problems.clone()).collect();
    let tests: Vec<Test> = docs.into_iter().flat_map(|doc| doc.tests).collect();
    let counts: Counts = tests.iter().map(Test::counts).sum();
    let rc = stage.end.map(|end| end.rc);
    let ended = stage.pseudo || stage.end.is_some();

    if !ended {
        reasons.add(
            Verdict::Infra,
            format!("stage {name} began but never ended"),
        );
    }
    if !complete {
        reasons.add(
            Verdict::Fail,
            format!(
                "stage {name}: KTAP output stopped before its plan was complete ({})",
                incomplete.join("; ")
            ),
        );
    }
    for problem in &problems {
        reasons.add(Verdict::Fail, format!("stage {name}: KTAP {problem}"));
    }
    let failures: Vec<String> = tests.iter().flat_map(Test::failures).collect();
    if !failures.is_empty() {
        let mut text = format!(
            "stage {name}: {} failed: {}",
            failures.len(),
            failures[..failures.len().min(NAMED_FAILURES)].join(", ")
        );
        if failures.len() > NAMED_FAILURES {
            text.push_str(", ...");
        }
        // What the guest said just before the first failure, e.g. the
        // checker's violation line: CI often shows only the reasons.
        if let Some(note) = tests.iter().find_map(Test::first_failure_note) {
            let note: String = note.chars().take(NOTE_CHARS).collect();
            let _ = write!(text, " (first: {note})");
        }
        reasons.add(Verdict::Fail, text);
    }
    let failed_rc = rc.filter(|&rc| rc != 0);
    if let Some(rc) = failed_rc {
        reasons.add(Verdict::Fail, format!("stage {name} exited with rc={rc}"));
    }

    let status = if !ended || !complete {
        StageStatus::Incomplete
    } else if counts.fail > 0 || failed_rc.is_some() || !problems.is_empty() {
        StageStatus::Fail
    } else if counts.skip > 0 && counts.pass == 0 && counts.xfail == 0 {
        StageStatus::Skip
    } else {
        StageStatus::Pass
    };
    let duration_s = stage
        .end
        .map(|end| end.secs)
        .or(stage.time_span.map(|(first, last)| last - first));
    StageResult {
        name: name.clone(),
        status,
        duration_s,
        rc,
        counts,
        tests,
    }
}

fn splat_reports(console: &Console, allow: &[String]) -> Vec<SplatReport> {
    splat::find(console)
        .into_iter()
        .map(|found| {
            let line = &console.lines[found.line];
            let context = console.lines[found.line + 1..]
                .iter()
                .take(CONTEXT_LINES)
                .map(|line| line.raw.clone())
                .collect();
            SplatReport {
                kind: found.kind,
                line: found.line + 1,
                stage: line.stage.map(|stage| console.stages[stage].name.clone()),
                text: line.raw.clone(),
                context,
                // A panic ends the run; no allow-list can make it pass.
                allowed: found.kind != splat::Kind::Panic
                    && allow
                        .iter()
                        .any(|allowed| line.raw.contains(allowed.as_str())),
            }
        })
        .collect()
}

pub fn counts_to_json(counts: &Counts) -> Value {
    json::object([
        ("pass", counts.pass.into()),
        ("fail", counts.fail.into()),
        ("skip", counts.skip.into()),
        ("xfail", counts.xfail.into()),
    ])
}

/// Reads back what `counts_to_json` wrote.
pub fn counts_from_json(value: &Value) -> Option<Counts> {
    let count = |key| {
        let n = value.get(key)?.as_f64()?;
        (n >= 0.0 && n.fract() == 0.0).then_some(n as u64)
    };
    Some(Counts {
        pass: count("pass")?,
        fail: count("fail")?,
        skip: count("skip")?,
        xfail: count("xfail")?,
    })
}

pub fn meta_to_json(meta: &[(String, String)]) -> Value {
    Value::Object(
        meta.iter()
            .map(|(key, value)| (key.clone(), value.as_str().into()))
            .collect(),
    )
}

fn strings_to_json(lines: &[String]) -> Value {
    Value::Array(lines.iter().map(|line| line.as_str().into()).collect())
}

fn test_to_json(test: &Test) -> Value {
    let diagnostics = test
        .diagnostics()
        .into_iter()
        .map(|(key, value)| (key.to_string(), value.into()))
        .collect();
    json::object([
        ("name", test.name.as_str().into()),
        ("number", test.number.into()),
        ("status", test.status.as_str().into()),
        ("directive", test.directive.map(|d| d.as_str()).into()),
        ("reason", test.reason.as_str().into()),
        ("diagnostics", Value::Object(diagnostics)),
        ("log", strings_to_json(&test.log)),
        (
            "subtests",
            Value::Array(test.subtests.iter().map(test_to_json).collect()),
        ),
    ])
}

impl StageResult {
    fn to_json(&self) -> Value {
        json::object([
            ("name", self.name.as_str().into()),
            ("status", self.status.as_str().into()),
            ("duration_s", self.duration_s.into()),
            ("rc", self.rc.into()),
            ("pass", self.counts.pass.into()),
            ("fail", self.counts.fail.into()),
            ("skip", self.counts.skip.into()),
            ("xfail", self.counts.xfail.into()),
            (
                "tests",
                Value::Array(self.tests.iter().map(test_to_json).collect()),
            ),
        ])
    }
}

impl SplatReport {
    fn to_json(&self) -> Value {
        json::object([
            ("kind", self.kind.as_str().into()),
            ("line", self.line.into()),
            ("stage", self.stage.as_deref().into()),
            ("text", self.text.as_str().into()),
            ("context", strings_to_json(&self.context)),
            ("allowed", self.allowed.into()),
        ])
    }
}

impl Report {
    pub fn to_json(&self) -> Value {
        json::object([
            ("meta", meta_to_json(&self.meta)),
            ("verdict", self.verdict.as_str().into()),
            ("exit_code", self.verdict.exit_code().into()),
            (
                "stages",
                Value::Array(self.stages.iter().map(StageResult::to_json).collect()),
            ),
            (
                "splats",
                Value::Array(self.splats.iter().map(SplatReport::to_json).collect()),
            ),
            ("totals", counts_to_json(&self.totals)),
            ("reasons", strings_to_json(&self.reasons)),
        ])
    }

    /// A few lines for a person watching CI: stages, splats, reasons,
    /// and what the console showed when things went wrong.
    pub fn human_summary(&self) -> String {
        let mut out = String::new();
        let width = self
            .stages
            .iter()
            .map(|stage| stage.name.len())
            .max()
            .unwrap_or(0)
            .max(16);
        for stage in &self.stages {
            let duration = stage
                .duration_s
                .map_or("-".to_string(), |secs| format!("{secs:.1}s"));
            let _ = write!(
                out,
                "  {:<10}  {:<width$}  {:>7}  {}",
                stage.status.as_str(),
                stage.name,
                duration,
                stage.counts
            );
            if let Some(rc) = stage.rc.filter(|&rc| rc != 0) {
                let _ = write!(out, " rc={rc}");
            }
            out.push('\n');
        }
        if !self.splats.is_empty() {
            out.push_str("splats:\n");
            for splat in &self.splats {
                let stage = splat.stage.as_deref().unwrap_or("-");
                let allowed = if splat.allowed { " (allowed)" } else { "" };
                let _ = writeln!(
                    out,
                    "  {:<16} line {:<6} stage {stage}{allowed}",
                    splat.kind.as_str(),
                    splat.line
                );
            }
        }
        if !self.reasons.is_empty() {
            out.push_str("reasons:\n");
            for reason in &self.reasons {
                let _ = writeln!(out, "  - {reason}");
            }
        }
        match (&self.tail, self.verdict) {
            (Some(tail), Verdict::Infra) => {
                let _ = writeln!(out, "last {} console lines:", tail.len());
                for line in tail {
                    let _ = writeln!(out, "  | {line}");
                }
            }
            (_, Verdict::Panic) => self.write_splat_details(&mut out),
            _ => {}
        }
        let _ = writeln!(
            out,
            "verdict: {} (exit {})",
            self.verdict.as_str(),
            self.verdict.exit_code()
        );
        let _ = writeln!(out, "totals: {}", self.totals);
        out
    }

    /// Shows the earliest splats, which usually include the cause, and the
    /// panic, which ended the run.
    fn write_splat_details(&self, out: &mut String) {
        let counted: Vec<&SplatReport> = self.splats.iter().filter(|s| !s.allowed).collect();
        let mut shown: Vec<&SplatReport> = counted.iter().take(SHOWN_SPLATS).copied().collect();
        let late_panic = counted[shown.len()..]
            .iter()
            .find(|splat| splat.kind == Kind::Panic);
        if let Some(panic) = late_panic {
            shown.pop();
            shown.push(panic);
        }
        for splat in shown {
            let _ = writeln!(out, "{} at line {}:", splat.kind.as_str(), splat.line);
            let _ = writeln!(out, "  | {}", splat.text);
            for line in splat.context.iter().take(SHOWN_CONTEXT) {
                let _ = writeln!(out, "  | {line}");
            }
        }
        if counted.len() > SHOWN_SPLATS {
            let _ = writeln!(
                out,
                "({} more splats in the JSON report)",
                counted.len() - SHOWN_SPLATS
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUNIT_PASS: &str = "KTAP version 1\n1..1\n    1..2\n    ok 1 a\n    ok 2 b\nok 1 suite\n";

    fn staged(name: &str, body: &str, rc: i64) -> String {
        format!("LAB: stage-begin {name}\n{body}LAB: stage-end {name} rc={rc} secs=1.5\n")
    }

    fn run(log: &str) -> Report {
        analyze(log, &Options::default())
    }

    fn done(body: &str) -> String {
        format!("{body}LAB: plan-done\n")
    }

    #[test]
    fn clean_run_passes() {
        let report = run(&done(&staged("kunit", KUNIT_PASS, 0)));
        assert_eq!(report.verdict, Verdict::Pass);
        assert_eq!(report.reasons, Vec::<String>::new());
        let stage = &report.stages[0];
        assert_eq!(
            (stage.status, stage.rc, stage.duration_s),
            (StageStatus::Pass, Some(0), Some(1.5))
        );
        assert_eq!(report.totals.pass, 2);
        assert_eq!(report.verdict.exit_code(), 0);
    }

    #[test]
    fn failing_test_fails() {
        let body = "KTAP version 1\n1..2\nok 1 a\nnot ok 2 b\n";
        let report = run(&done(&staged("k", body, 0)));
        assert_eq!(report.verdict, Verdict::Fail);
        assert_eq!(report.stages[0].status, StageStatus::Fail);
        assert_eq!(report.reasons, ["stage k: 1 failed: b"]);
    }

    #[test]
    fn first_failure_reason_carries_its_last_note() {
        let body = "KTAP version 1\n1..3\n# lost: 1\n# violation lost at=wakeup pid=7\n\
                    not ok 1 lost\n# running_listed: 2\nnot ok 2 running_listed\nok 3 c\n";
        let report = run(&done(&staged("k", body, 0)));
        assert_eq!(
            report.reasons,
            ["stage k: 2 failed: lost, running_listed (first: violation lost at=wakeup pid=7)"]
        );
    }

    #[test]
    fn many_failures_are_abbreviated() {
        let body: String = (1..=7).fold(String::new(), |mut body, i| {
            let _ = writeln!(body, "not ok {i} t{i}");
            body
        });
        let report = run(&done(&staged(
            "k",
            &format!("KTAP version 1\n1..7\n{body}"),
            0,
        )));
        assert_eq!(
            report.reasons,
            ["stage k: 7 failed: t1, t2, t3, t4, t5, ..."]
        );
    }

    #[test]
    fn nonzero_stage_rc_fails() {
        let report = run(&done(&staged("setup", "", 2)));
        assert_eq!(report.verdict, Verdict::Fail);
        assert_eq!(report.stages[0].status, StageStatus::Fail);
        assert_eq!(report.reasons, ["stage setup exited with rc=2"]);
    }

    #[test]
    fn incomplete_plan_fails() {
        let body = "KTAP version 1\n1..3\nok 1 a\n";
        let report = run(&done(&staged("k", body, 0)));
        assert_eq!(report.verdict, Verdict::Fail);
        assert_eq!(report.stages[0].status, StageStatus::Incomplete);
    }

    #[test]
    fn skip_only_stage_is_skip() {
        let body = "KTAP version 1\n1..2\nok 1 a # SKIP\nnot ok 2 b # SKIP\n";
        let report = run(&done(&staged("k", body, 0)));
        assert_eq!(report.stages[0].status, StageStatus::Skip);
        assert_eq!(report.verdict, Verdict::Pass);
        let xfail = "KTAP version 1\n1..2\nok 1 a # SKIP\nnot ok 2 b # XFAIL\n";
        assert_eq!(
            run(&done(&staged("k", xfail, 0))).stages[0].status,
            StageStatus::Pass
        );
    }

    #[test]
    fn missing_plan_done_is_infra() {
        let report = run(&staged("k", KUNIT_PASS, 0));
        assert_eq!(report.verdict, Verdict::Infra);
        assert_eq!(report.verdict.exit_code(), 2);
        assert!(report
            .human_summary()
            .contains("last 8 console lines:\n  | LAB: stage-begin k\n"));
    }

    #[test]
    fn stage_never_ended_is_infra() {
        let report = run(&done("LAB: stage-begin k\nKTAP version 1\n1..1\nok 1 a\n"));
        assert_eq!(report.verdict, Verdict::Infra);
        assert_eq!(report.stages[0].status, StageStatus::Incomplete);
        assert_eq!(report.reasons, ["stage k began but never ended"]);
    }

    #[test]
    fn timeout_and_qemu_rc_are_infra() {
        let log = done(&staged("k", KUNIT_PASS, 0));
        let timed_out = Options {
            timed_out: true,
            ..Options::default()
        };
        assert_eq!(analyze(&log, &timed_out).verdict, Verdict::Infra);
        let qemu_failed = Options {
            qemu_rc: Some(1),
            ..Options::default()
        };
        assert_eq!(
            analyze(&log, &qemu_failed).reasons,
            ["QEMU exited with rc=1"]
        );
        let qemu_ok = Options {
            qemu_rc: Some(0),
            ..Options::default()
        };
        assert_eq!(analyze(&log, &qemu_ok).verdict, Verdict::Pass);
    }

    #[test]
    fn panic_wins_and_explains_qemu_rc() {
        let log = "LAB: stage-begin k\nKTAP version 1\n1..2\nnot ok 1 a\n\
                   BUG: kernel NULL pointer dereference, address: 0000000000000000\n\
                   Oops: 0000 [#1] PREEMPT SMP\nCall Trace:\n <TASK>\n\
                   Kernel panic - not syncing: Fatal exception\n";
        let options = Options {
            qemu_rc: Some(1),
            ..Options::default()
        };
        let report = analyze(log, &options);
        assert_eq!(report.verdict, Verdict::Panic);
        assert_eq!(report.verdict.exit_code(), 3);
        let kinds: Vec<_> = report.splats.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [Kind::Bug, Kind::Oops, Kind::Panic]);
        assert_eq!(
            report.reasons[2],
            "panic at line 9 in stage k: Kernel panic - not syncing: Fatal exception"
        );
        assert!(!report.reasons.iter().any(|r| r.contains("QEMU")));
        // Infra reasons come before the test failures.
        assert_eq!(
            report.reasons[3..5],
            [
                "stage k began but never ended",
                "no \"LAB: plan-done\": the plan did not finish"
            ]
        );
        assert!(report.reasons.last().unwrap().contains("1 failed: a"));
        let summary = report.human_summary();
        assert!(
            summary.contains("panic at line 9:\n  | Kernel panic - not syncing: Fatal exception\n")
        );
        assert!(summary.ends_with("verdict: PANIC (exit 3)\ntotals: pass=0 fail=1 skip=0\n"));
    }

    #[test]
    fn each_splat_kind_yields_panic_verdict() {
        for line in [
            "WARNING: CPU: 1 PID: 42 at kernel/sched/core.c:123 foo+0x1/0x2",
            "BUG: sleeping function called from invalid context at kernel/x.c:1",
            "Oops: general protection fault",
            "Call Trace:",
            "WARNING: possible circular locking dependency detected",
            "INFO: task a:1 blocked for more than 120 seconds.",
            "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
            "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [a:1]",
            "watchdog: Watchdog detected hard LOCKUP on cpu 0",
            "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!",
            "Kernel panic - not syncing: Attempted to kill init!",
        ] {
            let report = run(&done(&staged("s", &format!("{line}\n"), 0)));
            assert_eq!(report.verdict, Verdict::Panic, "{line}");
            assert_eq!(report.splats[0].stage.as_deref(), Some("s"));
            assert_eq!(report.splats[0].line, 2);
        }
    }

    #[test]
    fn ktap_lines_mentioning_warning_are_no_splats() {
        let body = "KTAP version 1\n1..2\n# test_WARNING: WARNING: in a diagnostic\n\
                    ok 1 test_WARNING\nok 2 WARNING: odd name # SKIP\n";
        let report = run(&done(&staged("k", body, 0)));
        assert_eq!(report.splats, []);
        assert_eq!(report.verdict, Verdict::Pass);
    }

    #[test]
    fn allowed_splats_do_not_count() {
        let log = done(&staged(
            "k",
            "WARNING: CPU: 0 PID: 1 at drivers/foo.c:10 foo_probe+0x1/0x2\nCall Trace:\n",
            0,
        ));
        let options = Options {
            allow_splats: vec!["drivers/foo.c:10".into()],
            ..Options::default()
        };
        let report = analyze(&log, &options);
        assert_eq!(report.verdict, Verdict::Pass);
        assert_eq!(report.splats.len(), 1);
        assert!(report.splats[0].allowed);
        assert!(report
            .human_summary()
            .contains("line 2      stage k (allowed)"));
        assert_eq!(run(&log).verdict, Verdict::Panic);
    }

    #[test]
    fn panics_cannot_be_allowed() {
        let log = done(&staged(
            "k",
            "Kernel panic - not syncing: Fatal exception\n",
            0,
        ));
        let options = Options {
            allow_splats: vec!["Kernel panic".into()],
            ..Options::default()
        };
        let report = analyze(&log, &options);
        assert!(!report.splats[0].allowed);
        assert_eq!(report.verdict, Verdict::Panic);
    }

    #[test]
    fn splat_context_is_the_following_lines() {
        let following: String = (1..=30).fold(String::new(), |mut lines, i| {
            let _ = writeln!(lines, "ctx {i}");
            lines
        });
        let report = run(&format!("BUG: x\n{following}"));
        let splat = &report.splats[0];
        assert_eq!((splat.line, splat.stage.as_deref()), (1, None));
        assert_eq!(splat.context.len(), CONTEXT_LINES);
        assert_eq!(
            (splat.context[0].as_str(), splat.context[19].as_str()),
            ("ctx 1", "ctx 20")
        );
    }

    #[test]
    fn host_stages_come_first() {
        let options = Options {
            host_stages: vec![
                HostStage {
                    name: "build".into(),
                    status: StageStatus::Pass,
                    secs: Some(312.0),
                },
                HostStage {
                    name: "lint".into(),
                    status: StageStatus::Fail,
                    secs: None,
                },
            ],
            ..Options::default()
        };
        let report = analyze(&done(&staged("k", KUNIT_PASS, 0)), &options);
        let names: Vec<_> = report.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["build", "lint", "k"]);
        assert_eq!(report.stages[0].duration_s, Some(312.0));
        assert_eq!(report.verdict, Verdict::Fail);
        assert_eq!(report.reasons, ["host stage lint failed"]);
    }

    #[test]
    fn boot_ktap_is_a_pseudo_stage() {
        let log = done(&format!(
            "[    1.000000] Run /init\n{KUNIT_PASS}{}",
            staged("s", "", 0)
        ));
        let report = run(&log);
        assert_eq!(report.stages[0].name, "kunit-boot");
        assert_eq!(
            (report.stages[0].rc, report.stages[0].duration_s),
            (None, None)
        );
        assert_eq!(report.verdict, Verdict::Pass);
    }

    #[test]
    fn documents_of_a_stage_add_up() {
        let kselftest =
            "TAP version 13\n1..1\n# selftests: a: b\nnot ok 1 selftests: a: b # exit=1\n";
        let log = done(&staged("k", &format!("{KUNIT_PASS}{kselftest}"), 0));
        let report = run(&log);
        assert_eq!(report.stages.len(), 1);
        assert_eq!(report.stages[0].tests.len(), 2);
        assert_eq!((report.totals.pass, report.totals.fail), (2, 1));
        assert_eq!(report.verdict, Verdict::Fail);
    }

    #[test]
    fn several_boot_documents_are_numbered() {
        let incomplete = "KTAP version 1\n1..2\nok 1 a\n";
        let log = done(&format!("{KUNIT_PASS}{}{incomplete}", staged("s", "", 0)));
        let report = run(&log);
        let stages: Vec<_> = report
            .stages
            .iter()
            .map(|s| (s.name.as_str(), s.status))
            .collect();
        assert_eq!(
            stages,
            [
                ("kunit-boot", StageStatus::Pass),
                ("s", StageStatus::Pass),
                ("kunit-boot-2", StageStatus::Incomplete),
            ]
        );
        assert_eq!(report.verdict, Verdict::Fail);
    }

    #[test]
    fn json_shape() {
        let log = done(&staged(
            "k",
            "KTAP version 1\n1..1\n# k: \"quoted\"\nok 1 a # SKIP why\n",
            0,
        ));
        let options = Options {
            meta: vec![("arch".into(), "x86_64".into())],
            ..Options::default()
        };
        let json = analyze(&log, &options).to_json();
        let keys: Vec<_> = json
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "meta",
                "verdict",
                "exit_code",
                "stages",
                "splats",
                "totals",
                "reasons"
            ]
        );
        let expected = r##"{
  "name": "a",
  "number": 1,
  "status": "SKIP",
  "directive": "SKIP",
  "reason": "why",
  "diagnostics": {
    "k": "\"quoted\""
  },
  "log": [
    "# k: \"quoted\""
  ],
  "subtests": []
}
"##;
        let Some(Value::Array(stages)) = json.get("stages") else {
            panic!("no stages");
        };
        let Some(Value::Array(tests)) = stages[0].get("tests") else {
            panic!("no tests");
        };
        assert_eq!(tests[0].to_pretty_string(), expected);
        assert_eq!(
            json.get("meta").unwrap().get("arch").unwrap().as_str(),
            Some("x86_64")
        );
        assert_eq!(stages[0].get("rc"), Some(&Value::Number(0.0)));
        assert_eq!(json.get("exit_code"), Some(&Value::Number(0.0)));
    }

    #[test]
    fn result_after_a_met_plan_fails() {
        let report = run(&done(&staged(
            "s",
            "KTAP version 1\n1..1\nok 1 suite\nnot ok 2 x\n",
            0,
        )));
        assert_eq!(report.verdict, Verdict::Fail, "{:?}", report.reasons);
        assert_eq!(report.stages[0].status, StageStatus::Fail);
        assert_eq!(
            report.reasons,
            [
                "stage s: KTAP top level: plan 1..1, but 2 results came",
                "stage s: 1 failed: x"
            ]
        );
    }

    #[test]
    fn extra_nested_result_fails() {
        let body = "KTAP version 1\n1..1\n    1..2\n    ok 1 a\n    ok 2 b\n    ok 3 c\nok 1 s\n";
        let report = run(&done(&staged("s", body, 0)));
        assert_eq!(report.verdict, Verdict::Fail);
        assert_eq!(
            report.reasons,
            ["stage s: KTAP s: plan 1..2, but 3 results came"]
        );
    }

    #[test]
    fn glued_result_is_noticed() {
        let body = "KTAP version 1\n1..3\nok 1 a\n[   1.0] rcu: foook 2 b\nok 3 c\n";
        let report = run(&done(&staged("s", body, 0)));
        assert_eq!(report.verdict, Verdict::Fail);
        assert_eq!(report.stages[0].status, StageStatus::Incomplete);
        assert!(
            report
                .reasons
                .iter()
                .any(|r| r.contains("result 2 is numbered 3")),
            "{:?}",
            report.reasons
        );
    }

    #[test]
    fn half_line_at_the_end_is_no_result() {
        let log = "LAB: stage-begin s\nKTAP version 1\n1..3\nok 1 a\nok 2 b\nok 3 cha";
        let report = run(log);
        assert_eq!(
            report.stages[0].counts,
            Counts {
                pass: 2,
                ..Counts::default()
            }
        );
        assert_eq!(report.stages[0].status, StageStatus::Incomplete);
        assert_eq!(report.verdict, Verdict::Infra);
        // A half marker is no marker either.
        assert!(!run("LAB: plan-do").reasons.is_empty());
        assert!(run("LAB: plan-done\n").reasons.is_empty());
    }

    #[test]
    fn wrong_totals_and_bail_out_fail() {
        let body = "KTAP version 1\n1..1\nok 1 a\n# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0\n";
        let report = run(&done(&staged("s", body, 0)));
        assert_eq!(report.verdict, Verdict::Fail);
        let body = "KTAP version 1\n1..1\nBail out! no memory\n";
        let report = run(&done(&staged("s", body, 0)));
        assert_eq!(report.verdict, Verdict::Fail);
        assert!(
            report
                .reasons
                .iter()
                .any(|r| r.ends_with("Bail out! no memory")),
            "{:?}",
            report.reasons
        );
    }

    #[test]
    fn counts_round_trip_through_json() {
        let counts = Counts {
            pass: 3,
            fail: 2,
            skip: 1,
            xfail: 7,
        };
        assert_eq!(counts_from_json(&counts_to_json(&counts)), Some(counts));
        let bad = json::parse(r#"{"pass": 1.5, "fail": 0, "skip": 0, "xfail": 0}"#).unwrap();
        assert_eq!(counts_from_json(&bad), None);
    }

    #[test]
    fn human_summary_lists_stages() {
        let report = run(&done(&staged("kselftest-net", KUNIT_PASS, 0)));
        assert_eq!(
            report.human_summary(),
            "  PASS        kselftest-net        1.5s  pass=2 fail=0 skip=0\n\
             verdict: PASS (exit 0)\ntotals: pass=2 fail=0 skip=0\n"
        );
    }

    #[test]
    fn verdict_exit_codes_round_trip() {
        for code in 0..4 {
            assert_eq!(
                Verdict::from_exit_code(code).map(Verdict::exit_code),
                Some(code)
            );
        }
        assert_eq!(Verdict::from_exit_code(4), None);
        assert!(Verdict::Panic > Verdict::Infra && Verdict::Infra > Verdict::Fail);
    }

    #[test]
    fn stage_status_parses_case_insensitively() {
        assert_eq!(StageStatus::parse("pass"), Some(StageStatus::Pass));
        assert_eq!(
            StageStatus::parse("INCOMPLETE"),
            Some(StageStatus::Incomplete)
        );
        assert_eq!(StageStatus::parse("ok"), None);
    }
}
