//! Merges the result files of several runs (say, one per architecture)
//! into one table and one overall verdict.

use crate::json::{self, Value};
use crate::ktap::Counts;
use crate::report::{self, Verdict};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, PartialEq)]
pub struct Run {
    pub file: String,
    pub meta: Vec<(String, String)>,
    pub verdict: Verdict,
    pub totals: Counts,
    /// Why the file could not be used; such a run counts as INFRA.
    pub error: Option<String>,
}

impl Run {
    /// Reads a result file written by `labreport console`.
    pub fn load(path: &Path) -> Run {
        let file = path.display().to_string();
        let run = std::fs::read_to_string(path)
            .map_err(|err| err.to_string())
            .and_then(|text| json::parse(&text).map_err(|err| err.to_string()))
            .and_then(|value| Run::from_json(&file, &value));
        run.unwrap_or_else(|error| Run {
            file,
            meta: Vec::new(),
            verdict: Verdict::Infra,
            totals: Counts::default(),
            error: Some(error),
        })
    }

    fn from_json(file: &str, value: &Value) -> Result<Run, String> {
        let verdict = verdict_from_json(value)?;
        let totals = value
            .get("totals")
            .and_then(report::counts_from_json)
            .ok_or("no valid totals")?;
        let meta = value
            .get("meta")
            .and_then(Value::as_object)
            .ok_or("no meta object")?
            .iter()
            .map(|(key, value)| match value.as_str() {
                Some(text) => Ok((key.clone(), text.to_string())),
                None => Err(format!("meta value {key} is not a string")),
            })
            .collect::<Result<_, _>>()?;
        Ok(Run {
            file: file.to_string(),
            meta,
            verdict,
            totals,
            error: None,
        })
    }

    fn meta(&self, key: &str) -> &str {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map_or("-", |(_, value)| value)
    }

    fn to_json(&self) -> Value {
        json::object([
            ("file", self.file.as_str().into()),
            ("meta", report::meta_to_json(&self.meta)),
            ("verdict", self.verdict.as_str().into()),
            ("exit_code", self.verdict.exit_code().into()),
            ("totals", report::counts_to_json(&self.totals)),
            ("error", self.error.as_deref().into()),
        ])
    }
}

/// The verdict of a result file written by `labreport console`, from its
/// exit_code.
pub fn verdict_from_json(value: &Value) -> Result<Verdict, String> {
    let exit_code = value
        .get("exit_code")
        .and_then(Value::as_f64)
        .ok_or("no exit_code: not a labreport console result")?;
    (0.0..=3.0)
        .contains(&exit_code)
        .then(|| Verdict::from_exit_code(exit_code as u8))
        .flatten()
        .filter(|verdict| f64::from(verdict.exit_code()) == exit_code)
        .ok_or_else(|| format!("invalid exit_code {exit_code}"))
}

#[derive(Debug, PartialEq)]
pub struct Summary {
    pub runs: Vec<Run>,
    pub totals: Counts,
    /// The most severe verdict of any run.
    pub verdict: Verdict,
}

pub fn summarize(runs: Vec<Run>) -> Summary {
    let totals = runs.iter().map(|run| run.totals).sum();
    // Having nothing to summarize means the runs never produced results.
    let verdict = runs
        .iter()
        .map(|run| run.verdict)
        .max()
        .unwrap_or(Verdict::Infra);
    Summary {
        runs,
        totals,
        verdict,
    }
}

impl Summary {
    pub fn to_json(&self) -> Value {
        json::object([
            (
                "runs",
                Value::Array(self.runs.iter().map(Run::to_json).collect()),
            ),
            ("totals", report::counts_to_json(&self.totals)),
            ("verdict", self.verdict.as_str().into()),
            ("exit_code", self.verdict.exit_code().into()),
        ])
    }

    /// One row per run, then unreadable files and the overall verdict.
    pub fn table(&self) -> String {
        let width = |key: &str| {
            self.runs
                .iter()
                .map(|run| run.meta(key).len())
                .max()
                .unwrap_or(0)
                .max(key.len())
        };
        let (arch, variant) = (width("arch"), width("variant"));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "  {:<7}  {:<arch$}  {:<variant$}  {:>5}  {:>5}  {:>5}  {:>5}  FILE",
            "VERDICT", "ARCH", "VARIANT", "PASS", "FAIL", "SKIP", "XFAIL"
        );
        for run in &self.runs {
            let _ = writeln!(
                out,
                "  {:<7}  {:<arch$}  {:<variant$}  {:>5}  {:>5}  {:>5}  {:>5}  {}",
                run.verdict.as_str(),
                run.meta("arch"),
                run.meta("variant"),
                run.totals.pass,
                run.totals.fail,
                run.totals.skip,
                run.totals.xfail,
                run.file
            );
        }
        for run in &self.runs {
            if let Some(error) = &run.error {
                let _ = writeln!(out, "error: {}: {error}", run.file);
            }
        }
        let _ = writeln!(
            out,
            "overall: {} (exit {})  {}",
            self.verdict.as_str(),
            self.verdict.exit_code(),
            self.totals
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(arch: &str, verdict: Verdict, pass: u64, fail: u64) -> Run {
        Run {
            file: format!("{arch}.json"),
            meta: vec![
                ("arch".into(), arch.into()),
                ("variant".into(), "defconfig".into()),
            ],
            verdict,
            totals: Counts {
                pass,
                fail,
                skip: 1,
                xfail: 0,
            },
            error: None,
        }
    }

    #[test]
    fn most_severe_verdict_wins() {
        let verdicts = |list: &[Verdict]| {
            let runs = list.iter().map(|&v| run("x", v, 0, 0)).collect();
            summarize(runs).verdict
        };
        use Verdict::*;
        assert_eq!(verdicts(&[Pass, Pass]), Pass);
        assert_eq!(verdicts(&[Pass, Fail]), Fail);
        assert_eq!(verdicts(&[Fail, Infra, Pass]), Infra);
        assert_eq!(verdicts(&[Infra, Panic, Fail]), Panic);
        assert_eq!(verdicts(&[Panic, Pass]), Panic);
        assert_eq!(verdicts(&[]), Infra);
    }

    #[test]
    fn totals_add_up() {
        let summary = summarize(vec![
            run("x86_64", Verdict::Pass, 10, 0),
            run("arm64", Verdict::Fail, 5, 2),
        ]);
        assert_eq!(
            summary.totals,
            Counts {
                pass: 15,
                fail: 2,
                skip: 2,
                xfail: 0
            }
        );
    }

    #[test]
    fn table_lists_each_run() {
        let summary = summarize(vec![
            run("x86_64", Verdict::Pass, 10, 0),
            run("arm64", Verdict::Fail, 5, 2),
        ]);
        assert_eq!(
            summary.table(),
            "  VERDICT  ARCH    VARIANT     PASS   FAIL   SKIP  XFAIL  FILE\n\
             \x20 PASS     x86_64  defconfig     10      0      1      0  x86_64.json\n\
             \x20 FAIL     arm64   defconfig      5      2      1      0  arm64.json\n\
             overall: FAIL (exit 1)  pass=15 fail=2 skip=2\n"
        );
    }

    #[test]
    fn reads_back_a_console_report() {
        let report = report::analyze(
            "LAB: stage-begin s\nKTAP version 1\n1..1\nok 1 a\nLAB: stage-end s rc=0 secs=1\n",
            &report::Options {
                meta: vec![("arch".into(), "riscv64".into())],
                ..report::Options::default()
            },
        );
        let value = json::parse(&report.to_json().to_pretty_string()).unwrap();
        let run = Run::from_json("r.json", &value).unwrap();
        assert_eq!(run.verdict, Verdict::Infra);
        assert_eq!(run.meta, [("arch".to_string(), "riscv64".to_string())]);
        assert_eq!(run.totals.pass, 1);
    }

    #[test]
    fn rejects_files_that_are_not_results() {
        let check = |text: &str, error: &str| {
            let value = json::parse(text).unwrap();
            assert_eq!(Run::from_json("f", &value).unwrap_err(), error, "{text}");
        };
        let totals = r#""totals": {"pass": 0, "fail": 0, "skip": 0, "xfail": 0}"#;
        check("[]", "no exit_code: not a labreport console result");
        check(r#"{"exit_code": 7}"#, "invalid exit_code 7");
        check(r#"{"exit_code": 1.5}"#, "invalid exit_code 1.5");
        check(r#"{"exit_code": 1}"#, "no valid totals");
        check(
            &format!(r#"{{"exit_code": 1, {totals}}}"#),
            "no meta object",
        );
        check(
            &format!(r#"{{"exit_code": 1, {totals}, "meta": {{"arch": 1}}}}"#),
            "meta value arch is not a string",
        );
    }

    #[test]
    fn unreadable_file_counts_as_infra() {
        let run = Run::load(Path::new("/nonexistent/labreport/result.json"));
        assert_eq!(run.verdict, Verdict::Infra);
        assert!(run.error.is_some());
        let summary = summarize(vec![run]);
        assert!(summary
            .table()
            .contains("error: /nonexistent/labreport/result.json: "));
        let json = summary.to_json();
        assert_eq!(json.get("exit_code"), Some(&Value::Number(2.0)));
    }
}
