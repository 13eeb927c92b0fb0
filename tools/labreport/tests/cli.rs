//! End-to-end runs of the labreport binary on the fixture console logs.

use labreport::json::{self, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn labreport(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_labreport"))
        .args(args)
        .output()
        .expect("labreport runs");
    Run {
        code: status.code().expect("labreport exits"),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// A per-test output path, so tests can run in parallel.
fn out_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn read_json(path: &Path) -> Value {
    json::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `console` on a fixture; returns the run and the JSON it wrote to
/// `out_name`.
fn console(fixture: &str, out_name: &str, extra: &[&str]) -> (Run, Value) {
    let log = format!("{FIXTURES}/{fixture}.log");
    let out = out_path(out_name);
    let out_str = out.to_str().unwrap();
    let mut args = vec!["console", "--log", &log, "--out", out_str];
    args.extend_from_slice(extra);
    let run = labreport(&args);
    (run, read_json(&out))
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap()
}

fn num_at(value: &Value, key: &str) -> f64 {
    value.get(key).and_then(Value::as_f64).unwrap()
}

fn array_at<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    match value.get(key) {
        Some(Value::Array(items)) => items,
        other => panic!("{key} is not an array: {other:?}"),
    }
}

#[test]
fn passing_run() {
    let (run, report) = console(
        "pass-x86_64",
        "passing_run.json",
        &["--meta", "arch=x86_64", "--host-stage", "build=PASS:312"],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(str_at(&report, "verdict"), "PASS");
    assert_eq!(num_at(&report, "exit_code"), 0.0);
    assert_eq!(str_at(report.get("meta").unwrap(), "arch"), "x86_64");

    let stages = array_at(&report, "stages");
    let summary: Vec<_> = stages
        .iter()
        .map(|s| {
            let counts = ["pass", "fail", "skip", "xfail"].map(|key| num_at(s, key));
            (str_at(s, "name"), str_at(s, "status"), counts)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("build", "PASS", [0.0, 0.0, 0.0, 0.0]),
            ("kunit-boot", "PASS", [4.0, 0.0, 0.0, 0.0]),
            ("kunit", "PASS", [6.0, 0.0, 3.0, 0.0]),
            ("kselftest-net", "PASS", [4.0, 0.0, 1.0, 1.0]),
        ]
    );
    assert_eq!(num_at(&stages[0], "duration_s"), 312.0);
    assert_eq!(stages[1].get("duration_s"), Some(&Value::Null));
    assert_eq!(num_at(&stages[2], "duration_s"), 0.84);

    let doctests = &array_at(&stages[1], "tests")[0];
    assert_eq!(str_at(doctests, "name"), "rust_doctests_kernel");
    let first = &array_at(doctests, "subtests")[0];
    assert_eq!(
        str_at(
            first.get("diagnostics").unwrap(),
            "rust_doctest_kernel_alloc_kbox_rs_0.location"
        ),
        "rust/kernel/alloc/kbox.rs:68"
    );

    let tls = &array_at(&stages[3], "tests")[2];
    let zero_len = &array_at(tls, "subtests")[2];
    assert_eq!(str_at(zero_len, "status"), "XFAIL");
    assert_eq!(
        str_at(zero_len, "reason"),
        "no zero-length records in this build"
    );

    assert_eq!(array_at(&report, "splats"), []);
    assert_eq!(array_at(&report, "reasons"), []);
    let totals = report.get("totals").unwrap();
    assert_eq!(
        ["pass", "fail", "skip", "xfail"].map(|key| num_at(totals, key)),
        [14.0, 0.0, 4.0, 1.0]
    );
    assert!(run
        .stdout
        .contains("  PASS        kunit-boot              -  pass=4 fail=0 skip=0\n"));
    assert!(run
        .stdout
        .ends_with("verdict: PASS (exit 0)\ntotals: pass=14 fail=0 skip=4 xfail=1\n"));
}

#[test]
fn failing_tests_and_stage_rc() {
    let (run, report) = console("fail-arm64", "failing.json", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(str_at(&report, "verdict"), "FAIL");
    let reasons: Vec<_> = array_at(&report, "reasons")
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "stage kselftest-timers: 2 failed: selftests: timers: posix_timers/Check itimer real, \
             selftests: timers: set-timer-lat",
            "stage kselftest-timers exited with rc=1",
            "stage modules exited with rc=1",
        ]
    );
    let stages = array_at(&report, "stages");
    assert_eq!(str_at(&stages[1], "status"), "FAIL");
    assert_eq!(num_at(&stages[1], "rc"), 1.0);
    let timeout = &array_at(&stages[0], "tests")[2];
    assert_eq!(str_at(timeout, "reason"), "TIMEOUT 45 seconds");
    assert!(run
        .stdout
        .contains("  FAIL        modules              0.0s  pass=0 fail=0 skip=0 rc=1\n"));
}

#[test]
fn panic_run() {
    let (run, report) = console("panic-x86_64", "panic.json", &["--qemu-rc", "1"]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert_eq!(str_at(&report, "verdict"), "PANIC");
    let splats = array_at(&report, "splats");
    let kinds: Vec<_> = splats
        .iter()
        .map(|s| (str_at(s, "kind"), num_at(s, "line"), str_at(s, "stage")))
        .collect();
    assert_eq!(
        kinds,
        [
            ("warning", 11.0, "kunit"),
            ("bug", 25.0, "kunit"),
            ("oops", 29.0, "kunit"),
            ("panic", 40.0, "kunit"),
        ]
    );
    let context = array_at(&splats[0], "context");
    assert_eq!(context.len(), 20);
    assert_eq!(
        context[0].as_str(),
        Some("[    2.100520] Modules linked in: lab_driver_test(+) lab_driver")
    );
    let reasons = array_at(&report, "reasons");
    assert!(!reasons.iter().any(|r| r.as_str().unwrap().contains("QEMU")));

    let stage = &array_at(&report, "stages")[0];
    assert_eq!(str_at(stage, "status"), "INCOMPLETE");
    let suite = &array_at(stage, "tests")[0];
    assert_eq!(
        (str_at(suite, "name"), str_at(suite, "status")),
        ("lab_driver", "INCOMPLETE")
    );

    assert!(run.stdout.contains(
        "panic at line 40:\n  | [    2.101300] Kernel panic - not syncing: Fatal exception\n"
    ));
    assert!(run.stdout.contains("verdict: PANIC (exit 3)\n"));
}

#[test]
fn allowed_warning_leaves_the_other_splats() {
    let (run, report) = console(
        "panic-x86_64",
        "allowed.json",
        &["--allow-splat", "drivers/lab/lab_core.c:214"],
    );
    assert_eq!(run.code, 3);
    let allowed: Vec<_> = array_at(&report, "splats")
        .iter()
        .map(|s| s.get("allowed") == Some(&Value::Bool(true)))
        .collect();
    assert_eq!(allowed, [true, false, false, false]);
    assert!(run
        .stdout
        .contains("warning          line 11     stage kunit (allowed)\n"));
}

#[test]
fn timed_out_run_is_infra() {
    let (run, report) = console(
        "timeout-riscv64",
        "timeout.json",
        &["--timed-out", "--qemu-rc", "124"],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(str_at(&report, "verdict"), "INFRA");
    let reasons: Vec<_> = array_at(&report, "reasons")
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "stage kselftest-mm began but never ended",
            "no \"LAB: plan-done\": the plan did not finish",
            "the run timed out",
            "QEMU exited with rc=124",
            "stage kselftest-mm: KTAP output stopped before its plan was complete",
        ]
    );
    assert!(run
        .stdout
        .contains("last 15 console lines:\n  | SBI specification v2.0 detected\n"));
    assert!(run
        .stdout
        .contains("  | # Returned address is 0x3ff7e00000\nverdict: INFRA (exit 2)\n"));
}

#[test]
fn summary_merges_runs_by_precedence() {
    let mut files = Vec::new();
    for (fixture, arch) in [
        ("pass-x86_64", "x86_64"),
        ("fail-arm64", "arm64"),
        ("timeout-riscv64", "riscv64"),
        ("panic-x86_64", "x86_64"),
    ] {
        let out = out_path(&format!("summary-{fixture}.json"));
        let log = format!("{FIXTURES}/{fixture}.log");
        let meta = format!("arch={arch}");
        labreport(&[
            "console",
            "--log",
            &log,
            "--out",
            out.to_str().unwrap(),
            "--meta",
            &meta,
            "--meta",
            "variant=defconfig",
        ]);
        files.push(out.to_str().unwrap().to_string());
    }
    let summary_path = out_path("summary.json");
    let summarize = |files: &[String]| {
        let mut args = vec!["summary", "--out", summary_path.to_str().unwrap()];
        args.extend(files.iter().map(String::as_str));
        (labreport(&args), read_json(&summary_path))
    };

    for (count, code, verdict) in [
        (1, 0, "PASS"),
        (2, 1, "FAIL"),
        (3, 2, "INFRA"),
        (4, 3, "PANIC"),
    ] {
        let (run, summary) = summarize(&files[..count]);
        assert_eq!(run.code, code, "{}", run.stdout);
        assert_eq!(str_at(&summary, "verdict"), verdict);
        assert_eq!(num_at(&summary, "exit_code"), f64::from(code));
        assert_eq!(array_at(&summary, "runs").len(), count);
    }

    let (run, summary) = summarize(&files);
    let runs = array_at(&summary, "runs");
    assert_eq!(str_at(runs[1].get("meta").unwrap(), "arch"), "arm64");
    assert_eq!(str_at(&runs[1], "verdict"), "FAIL");
    assert_eq!(runs[1].get("error"), Some(&Value::Null));
    let totals = summary.get("totals").unwrap();
    assert_eq!(num_at(totals, "pass"), 14.0 + 3.0 + 1.0 + 1.0);
    let table: Vec<_> = run.stdout.lines().collect();
    assert_eq!(
        table[0],
        "  VERDICT  ARCH     VARIANT     PASS   FAIL   SKIP  XFAIL  FILE"
    );
    assert!(table[1].starts_with("  PASS     x86_64   defconfig     14      0      4      1  /"));
    assert!(run
        .stdout
        .ends_with("overall: PANIC (exit 3)  pass=19 fail=2 skip=4 xfail=1\n"));
}

#[test]
fn summary_counts_unreadable_results_as_infra() {
    let out = out_path("summary-missing.json");
    let bogus = out_path("not-a-result.json");
    std::fs::write(&bogus, "{\"hello\": 1}").unwrap();
    let run = labreport(&[
        "summary",
        "--out",
        out.to_str().unwrap(),
        bogus.to_str().unwrap(),
        "/nonexistent/result.json",
    ]);
    assert_eq!(run.code, 2);
    let summary = read_json(&out);
    let errors: Vec<_> = array_at(&summary, "runs")
        .iter()
        .map(|r| r.get("error").and_then(Value::as_str).is_some())
        .collect();
    assert_eq!(errors, [true, true]);
    assert!(run
        .stdout
        .contains("no exit_code: not a labreport console result"));
}

#[test]
fn tool_errors_exit_2() {
    let run = labreport(&[
        "console",
        "--log",
        "/nonexistent/console.log",
        "--out",
        "/dev/null",
    ]);
    assert_eq!(run.code, 2);
    assert!(run
        .stderr
        .starts_with("labreport: cannot read /nonexistent/console.log: "));

    let run = labreport(&["console", "--frobnicate"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown option '--frobnicate'"));
    assert!(run.stderr.contains("usage: labreport console"));

    let run = labreport(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("usage: labreport console"));
}

#[test]
fn invalid_utf8_in_console_is_tolerated() {
    let log = out_path("garbage.log");
    let mut bytes = b"LAB: stage-begin s\n\xff\xfe noise\nLAB: stage-end s rc=0 secs=1\n".to_vec();
    bytes.extend_from_slice(b"LAB: plan-done\n");
    std::fs::write(&log, bytes).unwrap();
    let out = out_path("garbage.json");
    let run = labreport(&[
        "console",
        "--log",
        log.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}
