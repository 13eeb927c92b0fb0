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
    assert_eq!(str_at(timeout, "directive"), "TIMEOUT");
    assert_eq!(str_at(timeout, "reason"), "45 seconds");
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
            "stage kselftest-mm: KTAP output stopped before its plan was complete \
             (top level: plan 1..3, but 1 results came)",
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

/// A console log of one bench boot, as tests/guest/stages/bench.sh prints
/// it; `handoffs` and `ipis` are the figures that vary between runs.
fn bench_console(handoffs: f64, ipis: u64, proxy_exec: u8) -> String {
    format!(
        "[    0.000000] Linux version 7.2.11\n\
         LAB: boot-to-init uptime=1.20\n\
         LAB: stage-begin bench\n\
         KTAP version 1\n\
         1..5\n\
         # bench_seed: 1\n\
         # bench_duration_ms: 2000\n\
         ok 1 load\n\
         # scenario: chain\n\
         # seed: 1\n\
         # proxy_exec: {proxy_exec}\n\
         # handoffs: {}\n\
         # handoffs_per_s: {handoffs}\n\
         # wait_p50_us: 40\n\
         # worst_wait_by: chain_donor cpu1\n\
         # ctxt: 5000\n\
         # module_result: PASS\n\
         [   12.000000] proxy_stress: chain: ok: iterations 10\n\
         ok 2 chain\n\
         # scenario: pushable\n\
         # rt_push_ipi: {ipis}\n\
         # dl_pull: 0\n\
         # owner_migrations: 3\n\
         # module_result: PASS\n\
         ok 3 pushable-RT_PUSH_IPI\n\
         ok 4 no-kernel-warnings\n\
         ok 5 unload\n\
         LAB: stage-end bench rc=0 secs=12.50\n\
         LAB: plan-done\n",
        handoffs * 2.0
    )
}

#[test]
fn bench_aggregates_console_results() {
    let dir = out_path("bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut inputs = Vec::new();
    for i in 0..3u32 {
        let i = f64::from(i);
        for (config, variant, proxy, handoffs, ipis) in [
            ("stock", "stock", "1", 100.0 + i, 900 + i as u64),
            ("patched", "patched", "1", 101.0 - i, i as u64),
            ("noproxy", "patched", "0", 50.0 + i, 0),
        ] {
            let name = format!("x86_64-{i}-{config}");
            let log = dir.join(format!("{name}.log"));
            let result = dir.join(format!("{name}.json"));
            let proxy_exec = u8::from(proxy == "1");
            std::fs::write(&log, bench_console(handoffs, ipis, proxy_exec)).unwrap();
            let run = labreport(&[
                "console",
                "--log",
                log.to_str().unwrap(),
                "--out",
                result.to_str().unwrap(),
                "--meta",
                "arch=x86_64",
                "--meta",
                &format!("variant={variant}"),
                "--meta",
                &format!("proxy_exec={proxy}"),
            ]);
            assert_eq!(run.code, 0, "{}", run.stdout);
            inputs.push(result.to_str().unwrap().to_string());
        }
    }
    // One unreadable result: reported, and the exit code says INFRA.
    inputs.push("stock=/nonexistent/result.json".into());

    let out = dir.join("report");
    let mut args = vec![
        "bench",
        "--out-dir",
        out.to_str().unwrap(),
        "--meta",
        "seed=1",
    ];
    args.extend(inputs.iter().map(String::as_str));
    let run = labreport(&args);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "x86_64 chain handoffs_per_s: noproxy/stock = 0.50 \
             (noproxy 51 (50–52) vs stock 101 (100–102))"
        ),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("INFRA ? stock: /nonexistent/result.json"));
    assert!(run.stdout.ends_with(&format!(
        "verdict: INFRA (exit 2)\nbench report: {}\n",
        out.join("bench.md").display()
    )));

    let md = std::fs::read_to_string(out.join("bench.md")).unwrap();
    assert!(md.contains(
        "| handoffs_per_s | 101 (100–102) | 100 (99–101) | 51 (50–52) | 0.99 | **0.50** |"
    ));
    assert!(
        md.contains("| rt_push_ipi | 901 (900–902) | 1 (0–2) | 0 (0–0) | **0.0011** | **0.00** |")
    );
    assert!(md.contains("Zero in every run of every configuration: dl_pull."));
    assert!(md.contains("- seed: 1\n- bench_seed: 1\n- bench_duration_ms: 2000\n"));

    let json = read_json(&out.join("bench.json"));
    assert_eq!(num_at(&json, "exit_code"), 2.0);
    assert_eq!(array_at(&json, "runs").len(), 10);
    let arch = &array_at(&json, "arches")[0];
    assert_eq!(str_at(arch, "arch"), "x86_64");
    let configs: Vec<_> = array_at(arch, "configs")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(configs, ["stock", "patched", "noproxy"]);

    for test in ["chain", "pushable-RT_PUSH_IPI"] {
        let svg = std::fs::read_to_string(out.join(format!("plots/x86_64-{test}.svg"))).unwrap();
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.ends_with("</svg>\n"));
    }
}

/// Runs `console` on a variant of the real 7.2 console log that `edit`
/// makes; returns the exit code and the reasons.
fn real_7_2(edit: impl Fn(&str) -> String, name: &str) -> (i32, Vec<String>) {
    let log = std::fs::read_to_string(format!("{FIXTURES}/real-7.2-x86_64-patched.log")).unwrap();
    let path = out_path(&format!("{name}.log"));
    std::fs::write(&path, edit(&log)).unwrap();
    let out = out_path(&format!("{name}.json"));
    let run = labreport(&[
        "console",
        "--log",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let reasons = array_at(&read_json(&out), "reasons")
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    (run.code, reasons)
}

/// A whole x86_64 patched run of this lab on 7.2.11 (make test,
/// 2026-12-01), with kselftest_harness output whose tests print their own
/// ksft results, and KUnit's "# Totals" over all suites.
#[test]
fn real_7_2_run_passes() {
    let (code, reasons) = real_7_2(str::to_string, "real-pass");
    assert_eq!((code, reasons), (0, Vec::<String>::new()));
}

#[test]
fn real_7_2_lost_result_fails() {
    let (code, reasons) = real_7_2(
        |log| {
            // The serial console ends lines with "\r\n".
            let line = "ok 1 selftests: futex/functional: futex_wait_timeout\r\n";
            assert!(log.contains(line));
            log.replacen(line, "", 1)
        },
        "real-lost",
    );
    assert_eq!(code, 1);
    assert!(
        reasons.iter().any(|r| r.contains(
            "result 1 is numbered 2 (selftests: futex/functional: futex_wait_wouldblock)"
        )),
        "{reasons:?}"
    );
}

#[test]
fn real_7_2_wrong_totals_fail() {
    let (code, reasons) = real_7_2(
        |log| {
            log.replacen(
                "# # Totals: pass:4 fail:0 xfail:0 xpass:0 skip:0 error:0",
                "# # Totals: pass:4 fail:1 xfail:0 xpass:0 skip:0 error:0",
                1,
            )
        },
        "real-totals",
    );
    assert_eq!(code, 1);
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("# Totals: pass:4 fail:1")),
        "{reasons:?}"
    );
}

#[test]
fn real_7_2_failure_inside_a_harness_test_fails() {
    let (code, reasons) = real_7_2(
        |log| {
            log.replacen(
                "# ok 3 futex_wait_bitset monotonic succeeds",
                "# not ok 3 futex_wait_bitset monotonic succeeds",
                1,
            )
        },
        "real-inner",
    );
    assert_eq!(code, 1);
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("futex_wait_bitset monotonic")),
        "{reasons:?}"
    );
}

#[test]
fn real_7_2_cut_mid_line_is_incomplete() {
    let (code, _) = real_7_2(
        |log| {
            let at = log
                .find("\nok 15 selftests: timers")
                .expect("kselftest's last result");
            format!("{}\nok 15 sel", &log[..at])
        },
        "real-cut",
    );
    assert_eq!(code, 2);
}
