//! `labreport bench`: the report of `make bench`. Reads the result files of
//! the bench runs (one boot each, several per configuration), takes the
//! figures the guest's `bench` stage printed as KTAP diagnostics, and writes
//! per-configuration medians and spreads, ratios to a baseline
//! configuration, SVG plots of the distributions, and the raw data.

use crate::json::{self, Value};
use crate::report::Verdict;
use crate::summary;
use std::fmt::Write as _;
use std::path::Path;

/// The guest stage whose tests carry the figures.
pub const STAGE: &str = "bench";

/// Runs each configuration needs before a difference can be called beyond
/// the run-to-run spread.
pub const MIN_RUNS: usize = 3;

/// Figures shown in the tables and plots, in this order; bench.json keeps
/// every numeric diagnostic.
pub const KEYS: &[&str] = &[
    "handoffs_per_s",
    "wait_p50_us",
    "wait_p99_us",
    "wait_max_us",
    "ctxt",
    "owner_migrations",
    "rt_pull",
    "rt_pull_futile",
    "rt_push",
    "rt_push_futile",
    "rt_push_ipi",
    "dl_pull",
    "dl_pull_futile",
    "dl_push",
    "dl_push_futile",
    "oncpu_skip",
    "proxy_overload_ticks",
];

/// Diagnostics of the stage that describe the workload (its parameters).
const PARAM_PREFIX: &str = "bench_";

/// One test of the bench stage in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub test: String,
    /// The test's KTAP status in result.json ("PASS", "FAIL", ...); only a
    /// PASS test's figures are used.
    pub status: String,
    pub figures: Vec<(String, f64)>,
    /// The module's own verdict on the scenario (diagnostic module_result).
    pub module_result: Option<String>,
}

/// One bench run: one boot of one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub file: String,
    /// The configuration, e.g. stock, patched or noproxy.
    pub config: String,
    pub arch: String,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// Why the file gave no figures; such a run counts as INFRA.
    pub error: Option<String>,
    pub tests: Vec<Measurement>,
    /// `bench_*` diagnostics: the workload's parameters.
    pub params: Vec<(String, String)>,
}

/// The configuration a run's meta describes: its variant, or `noproxy`
/// (`VARIANT-noproxy` for other variants than patched) when proxy exec was
/// off.
pub fn config_from_meta(variant: &str, proxy_exec: &str) -> String {
    match (variant, proxy_exec) {
        ("patched", "0") => "noproxy".to_string(),
        (variant, "0") => format!("{variant}-noproxy"),
        (variant, _) => variant.to_string(),
    }
}

impl Run {
    /// Reads a result file written by `labreport console`; `config`
    /// overrides the configuration named by its meta.
    pub fn load(config: Option<&str>, path: &Path) -> Run {
        let file = path.display().to_string();
        let run = std::fs::read_to_string(path)
            .map_err(|err| err.to_string())
            .and_then(|text| json::parse(&text).map_err(|err| err.to_string()))
            .and_then(|value| Run::from_json(&file, config, &value));
        run.unwrap_or_else(|error| Run {
            file,
            config: config.unwrap_or("?").to_string(),
            arch: "?".to_string(),
            verdict: Verdict::Infra,
            reasons: Vec::new(),
            error: Some(error),
            tests: Vec::new(),
            params: Vec::new(),
        })
    }

    pub fn from_json(file: &str, config: Option<&str>, value: &Value) -> Result<Run, String> {
        let verdict = summary::verdict_from_json(value)?;
        let meta = |key| {
            value
                .get("meta")
                .and_then(|meta| meta.get(key))
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        let config = match config {
            Some(config) => config.to_string(),
            None if meta("variant").is_empty() => {
                return Err("no meta variant: name the configuration as LABEL=FILE".into())
            }
            None => config_from_meta(meta("variant"), meta("proxy_exec")),
        };
        let arch = match meta("arch") {
            "" => "?".to_string(),
            arch => arch.to_string(),
        };
        let reasons = match value.get("reasons") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let stage = match value.get("stages") {
            Some(Value::Array(stages)) => stages
                .iter()
                .find(|stage| stage.get("name").and_then(Value::as_str) == Some(STAGE)),
            _ => None,
        };
        let mut run = Run {
            file: file.to_string(),
            config,
            arch,
            verdict,
            reasons,
            error: None,
            tests: Vec::new(),
            params: Vec::new(),
        };
        let Some(stage) = stage else {
            run.error = Some(format!("no '{STAGE}' stage in the result"));
            run.verdict = run.verdict.max(Verdict::Infra);
            return Ok(run);
        };
        if let Some(Value::Array(tests)) = stage.get("tests") {
            for test in tests {
                run.add_test(test);
            }
        }
        Ok(run)
    }

    fn add_test(&mut self, test: &Value) {
        let text = |key| {
            test.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let mut measurement = Measurement {
            test: text("name"),
            status: text("status"),
            figures: Vec::new(),
            module_result: None,
        };
        for (key, value) in test
            .get("diagnostics")
            .and_then(Value::as_object)
            .unwrap_or(&[])
        {
            let Some(value) = value.as_str() else {
                continue;
            };
            if key.starts_with(PARAM_PREFIX) {
                self.params.push((key.clone(), value.to_string()));
            } else if key == "module_result" {
                measurement.module_result = Some(value.to_string());
            } else if let Some(number) = value.parse::<f64>().ok().filter(|n| n.is_finite()) {
                measurement.figures.push((key.clone(), number));
            }
        }
        self.tests.push(measurement);
    }

    /// Figure `key` of test `test`, if that test passed.
    pub fn figure(&self, test: &str, key: &str) -> Option<f64> {
        self.tests
            .iter()
            .find(|m| m.test == test && m.status == "PASS")?
            .figures
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
    }

    fn has_figures(&self) -> bool {
        self.tests
            .iter()
            .any(|m| m.status == "PASS" && !m.figures.is_empty())
    }

    fn to_json(&self) -> Value {
        let tests = self
            .tests
            .iter()
            .map(|m| {
                json::object([
                    ("name", m.test.as_str().into()),
                    ("status", m.status.as_str().into()),
                    ("module_result", m.module_result.as_deref().into()),
                    (
                        "figures",
                        Value::Object(
                            m.figures
                                .iter()
                                .map(|(k, v)| (k.clone(), (*v).into()))
                                .collect(),
                        ),
                    ),
                ])
            })
            .collect();
        json::object([
            ("file", self.file.as_str().into()),
            ("config", self.config.as_str().into()),
            ("arch", self.arch.as_str().into()),
            ("verdict", self.verdict.as_str().into()),
            ("exit_code", self.verdict.exit_code().into()),
            ("error", self.error.as_deref().into()),
            (
                "reasons",
                Value::Array(self.reasons.iter().map(|r| r.as_str().into()).collect()),
            ),
            ("params", pairs_to_json(&self.params)),
            ("tests", Value::Array(tests)),
        ])
    }
}

fn pairs_to_json(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().into()))
            .collect(),
    )
}

/// Order statistics of one figure over the runs of one configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub n: usize,
    pub min: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub max: f64,
    pub mean: f64,
}

impl Stats {
    /// `None` for no values. Quartiles interpolate linearly between order
    /// statistics (R's default, type 7), so the median of an even count
    /// is the mean of the middle two.
    pub fn of(values: &[f64]) -> Option<Stats> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let quantile = |p: f64| {
            let h = (sorted.len() - 1) as f64 * p;
            let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (h - lo as f64)
        };
        Some(Stats {
            n: sorted.len(),
            min: sorted[0],
            q1: quantile(0.25),
            median: quantile(0.5),
            q3: quantile(0.75),
            max: sorted[sorted.len() - 1],
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        })
    }

    fn to_json(self) -> Value {
        json::object([
            ("n", self.n.into()),
            ("min", self.min.into()),
            ("q1", self.q1.into()),
            ("median", self.median.into()),
            ("q3", self.q3.into()),
            ("max", self.max.into()),
            ("mean", self.mean.into()),
        ])
    }
}

/// Whether two configurations differ by more than the run-to-run spread:
/// their min–max ranges do not overlap, so every run of one lies above
/// every run of the other. `None` when either has fewer than [`MIN_RUNS`].
pub fn beyond_spread(a: &[f64], b: &[f64]) -> Option<bool> {
    if a.len() < MIN_RUNS || b.len() < MIN_RUNS {
        return None;
    }
    let (a, b) = (Stats::of(a)?, Stats::of(b)?);
    Some(a.min > b.max || b.min > a.max)
}

/// The probability that `beyond_spread` says yes for two configurations
/// without any real difference (all runs from one continuous
/// distribution): 2 of the C(na+nb, na) equally likely orderings separate
/// the two groups.
pub fn chance(na: usize, nb: usize) -> f64 {
    let mut binomial = 1.0;
    for i in 1..=nb {
        binomial = binomial * (na + i) as f64 / i as f64;
    }
    2.0 / binomial
}

/// `value / base`; both zero is 1 (no change), a zero base otherwise has no
/// ratio.
pub fn ratio(value: f64, base: f64) -> Option<f64> {
    if base == 0.0 {
        (value == 0.0).then_some(1.0)
    } else {
        Some(value / base)
    }
}

/// One figure's values in one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub config: String,
    pub values: Vec<f64>,
    pub stats: Option<Stats>,
}

/// One configuration against the baseline, on one figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub config: String,
    /// Ratio of the medians, configuration / baseline.
    pub ratio: Option<f64>,
    pub beyond_spread: Option<bool>,
}

/// One figure of one test, over every configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: String,
    pub series: Vec<Series>,
    pub comparisons: Vec<Comparison>,
}

impl Row {
    fn all_zero(&self) -> bool {
        self.series
            .iter()
            .all(|series| series.values.iter().all(|&v| v == 0.0))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestReport {
    pub name: String,
    /// Rows with a non-zero value somewhere, in [`KEYS`] order.
    pub rows: Vec<Row>,
    /// Figures that were zero in every run of every configuration.
    pub all_zero: Vec<String>,
    /// Per configuration: the module's verdicts and how often each came.
    pub module_results: Vec<(String, Vec<(String, usize)>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArchReport {
    pub arch: String,
    /// The baseline first (when it ran), then in order of appearance.
    pub configs: Vec<String>,
    /// Runs (boots) of each configuration, in `configs` order.
    pub runs: Vec<usize>,
    pub tests: Vec<TestReport>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bench {
    pub runs: Vec<Run>,
    pub baseline: String,
    pub meta: Vec<(String, String)>,
    /// Warnings for the report, from the caller and from the runs.
    pub notes: Vec<String>,
    pub arches: Vec<ArchReport>,
    /// The most severe verdict of any run; INFRA when no run gave figures.
    pub verdict: Verdict,
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

pub fn aggregate(
    runs: Vec<Run>,
    baseline: &str,
    meta: Vec<(String, String)>,
    mut notes: Vec<String>,
) -> Bench {
    let mut arch_names = Vec::new();
    for run in &runs {
        push_unique(&mut arch_names, &run.arch);
    }
    let arches = arch_names
        .iter()
        .map(|arch| {
            let runs: Vec<&Run> = runs.iter().filter(|run| run.arch == *arch).collect();
            arch_report(arch, &runs, baseline)
        })
        .filter(|report| !report.tests.is_empty())
        .collect();

    // Runs of one bench should share their parameters.
    let mut differing = Vec::new();
    if let Some(first) = runs.iter().find(|run| !run.params.is_empty()) {
        for run in runs.iter().filter(|run| !run.params.is_empty()) {
            for (key, value) in &run.params {
                let same = first.params.iter().any(|(k, v)| k == key && v == value);
                if !same {
                    push_unique(&mut differing, key);
                }
            }
        }
    }
    if !differing.is_empty() {
        notes.push(format!(
            "the runs differ in their parameters: {}",
            differing.join(", ")
        ));
    }

    let verdict = if runs.iter().any(Run::has_figures) {
        runs.iter()
            .map(|run| run.verdict)
            .max()
            .unwrap_or(Verdict::Infra)
    } else {
        notes.push("no run gave any figures".into());
        Verdict::Infra
    };
    Bench {
        runs,
        baseline: baseline.to_string(),
        meta,
        notes,
        arches,
        verdict,
    }
}

fn arch_report(arch: &str, runs: &[&Run], baseline: &str) -> ArchReport {
    let mut configs = Vec::new();
    if runs.iter().any(|run| run.config == baseline) {
        configs.push(baseline.to_string());
    }
    let mut tests = Vec::new();
    for run in runs {
        push_unique(&mut configs, &run.config);
        for m in run.tests.iter().filter(|m| !m.figures.is_empty()) {
            push_unique(&mut tests, &m.test);
        }
    }
    let tests = tests
        .iter()
        .map(|test| test_report(test, runs, &configs, baseline))
        .collect();
    let counts = configs
        .iter()
        .map(|config| runs.iter().filter(|run| run.config == *config).count())
        .collect();
    ArchReport {
        arch: arch.to_string(),
        configs,
        runs: counts,
        tests,
    }
}

fn test_report(test: &str, runs: &[&Run], configs: &[String], baseline: &str) -> TestReport {
    let mut rows = Vec::new();
    let mut all_zero = Vec::new();
    for key in KEYS {
        let series: Vec<Series> = configs
            .iter()
            .map(|config| {
                let values: Vec<f64> = runs
                    .iter()
                    .filter(|run| run.config == *config)
                    .filter_map(|run| run.figure(test, key))
                    .collect();
                Series {
                    config: config.clone(),
                    stats: Stats::of(&values),
                    values,
                }
            })
            .collect();
        if series.iter().all(|s| s.values.is_empty()) {
            continue;
        }
        let base = series.iter().find(|s| s.config == baseline);
        let comparisons = match base {
            Some(base) => series
                .iter()
                .filter(|s| s.config != baseline)
                .map(|s| Comparison {
                    config: s.config.clone(),
                    ratio: match (s.stats, base.stats) {
                        (Some(a), Some(b)) => ratio(a.median, b.median),
                        _ => None,
                    },
                    beyond_spread: beyond_spread(&s.values, &base.values),
                })
                .collect(),
            None => Vec::new(),
        };
        let row = Row {
            key: key.to_string(),
            series,
            comparisons,
        };
        if row.all_zero() {
            all_zero.push(row.key);
        } else {
            rows.push(row);
        }
    }
    let module_results = configs
        .iter()
        .map(|config| {
            let mut counts: Vec<(String, usize)> = Vec::new();
            let results = runs
                .iter()
                .filter(|run| run.config == *config)
                .flat_map(|run| run.tests.iter().filter(|m| m.test == test))
                .filter_map(|m| m.module_result.as_deref());
            for result in results {
                match counts.iter_mut().find(|(r, _)| r == result) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((result.to_string(), 1)),
                }
            }
            (config.clone(), counts)
        })
        .filter(|(_, counts)| !counts.is_empty())
        .collect();
    TestReport {
        name: test.to_string(),
        rows,
        all_zero,
        module_results,
    }
}

/// A figure for tables and plot labels: whole numbers as they are, others
/// to about three significant digits.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

/// A ratio cell: bold beyond the spread; "-" when either side has no
/// values, "n/a" when only the baseline's median is 0.
fn fmt_ratio(comparison: &Comparison, row: &Row, baseline: &str) -> String {
    let has_values = |config: &str| {
        row.series
            .iter()
            .any(|s| s.config == config && !s.values.is_empty())
    };
    if !has_values(&comparison.config) || !has_values(baseline) {
        return "-".into();
    }
    let Some(ratio) = comparison.ratio else {
        return format!("n/a ({baseline} median 0)");
    };
    let text = fmt_ratio_value(ratio);
    if comparison.beyond_spread == Some(true) {
        format!("**{text}**")
    } else {
        text
    }
}

/// Two decimals, or two significant digits for ratios below 0.1, so that
/// 1/900 does not read as 0.
pub fn fmt_ratio_value(ratio: f64) -> String {
    if ratio > 0.0 && ratio < 0.1 {
        let decimals = (-ratio.log10()).ceil() as usize + 1;
        format!("{ratio:.decimals$}")
    } else {
        format!("{ratio:.2}")
    }
}

/// "median (min–max)" of one configuration, "-" without values; with
/// "n=N" when fewer than its `runs` runs gave a value.
fn fmt_cell(series: &Series, runs: usize) -> String {
    let text = match series.stats {
        Some(s) if s.n == 1 => fmt_num(s.median),
        Some(s) => format!(
            "{} ({}–{})",
            fmt_num(s.median),
            fmt_num(s.min),
            fmt_num(s.max)
        ),
        None => return "-".into(),
    };
    if series.values.len() < runs {
        format!("{text} n={}", series.values.len())
    } else {
        text
    }
}

fn describe(config: &str) -> &'static str {
    match config {
        "stock" => "Linux 7.2 + the common patches (Rust abstractions, proxy_stats), proxy exec on",
        "patched" => "stock + the sched patches (migration hooks), proxy exec on",
        "noproxy" => "patched, booted with sched_proxy_exec=0",
        _ => "",
    }
}

/// A file name part: letters, digits, '-' and '_' kept, the rest '_'.
fn file_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where the plot of one test goes, relative to the output folder.
pub fn plot_path(arch: &str, test: &str) -> String {
    format!("plots/{}-{}.svg", file_part(arch), file_part(test))
}

impl Bench {
    /// Every comparison with its place: (arch, test, row, comparison).
    fn comparisons(&self) -> Vec<(&str, &str, &Row, &Comparison)> {
        let mut out = Vec::new();
        for arch in &self.arches {
            for test in &arch.tests {
                for row in &test.rows {
                    for comparison in &row.comparisons {
                        out.push((arch.arch.as_str(), test.name.as_str(), row, comparison));
                    }
                }
            }
        }
        out
    }

    /// One line per difference beyond the spread.
    pub fn differences(&self) -> Vec<String> {
        let cell = |row: &Row, config: &str| {
            row.series
                .iter()
                .find(|s| s.config == config)
                .map_or("-".into(), |s| fmt_cell(s, 0))
        };
        self.comparisons()
            .into_iter()
            .filter(|(_, _, _, c)| c.beyond_spread == Some(true))
            .map(|(arch, test, row, c)| {
                let ratio = c.ratio.map_or("n/a".into(), fmt_ratio_value);
                format!(
                    "{arch} {test} {}: {}/{} = {ratio} ({} {} vs {} {})",
                    row.key,
                    c.config,
                    self.baseline,
                    c.config,
                    cell(row, &c.config),
                    self.baseline,
                    cell(row, &self.baseline),
                )
            })
            .collect()
    }

    /// How many comparisons applied the spread rule, and how many of them
    /// would be expected beyond the spread by chance alone.
    fn expected_false_flags(&self) -> (usize, f64) {
        let mut count = 0;
        let mut expected = 0.0;
        for (_, _, row, c) in self.comparisons() {
            if c.beyond_spread.is_none() {
                continue;
            }
            let n = |config: &str| {
                row.series
                    .iter()
                    .find(|s| s.config == config)
                    .map_or(0, |s| s.values.len())
            };
            count += 1;
            expected += chance(n(&c.config), n(&self.baseline));
        }
        (count, expected)
    }

    pub fn to_json(&self) -> Value {
        let arches = self
            .arches
            .iter()
            .map(|arch| {
                let tests = arch
                    .tests
                    .iter()
                    .map(|test| {
                        let rows = test.rows.iter().map(row_to_json).collect();
                        let module_results = test
                            .module_results
                            .iter()
                            .map(|(config, counts)| {
                                let counts = counts
                                    .iter()
                                    .map(|(result, n)| (result.clone(), (*n).into()))
                                    .collect();
                                (config.clone(), Value::Object(counts))
                            })
                            .collect();
                        json::object([
                            ("name", test.name.as_str().into()),
                            ("plot", plot_path(&arch.arch, &test.name).as_str().into()),
                            ("figures", Value::Array(rows)),
                            (
                                "all_zero",
                                Value::Array(
                                    test.all_zero.iter().map(|k| k.as_str().into()).collect(),
                                ),
                            ),
                            ("module_results", Value::Object(module_results)),
                        ])
                    })
                    .collect();
                json::object([
                    ("arch", arch.arch.as_str().into()),
                    (
                        "configs",
                        Value::Array(arch.configs.iter().map(|c| c.as_str().into()).collect()),
                    ),
                    ("tests", Value::Array(tests)),
                ])
            })
            .collect();
        json::object([
            ("meta", pairs_to_json(&self.meta)),
            ("baseline", self.baseline.as_str().into()),
            (
                "rule",
                format!(
                    "beyond_spread: the min-max ranges of the configuration and the baseline \
                     do not overlap; needs {MIN_RUNS} runs of each, else null"
                )
                .as_str()
                .into(),
            ),
            (
                "notes",
                Value::Array(self.notes.iter().map(|n| n.as_str().into()).collect()),
            ),
            ("verdict", self.verdict.as_str().into()),
            ("exit_code", self.verdict.exit_code().into()),
            (
                "runs",
                Value::Array(self.runs.iter().map(Run::to_json).collect()),
            ),
            ("arches", Value::Array(arches)),
        ])
    }

    /// The Markdown report, bench.md.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let o = &mut out;
        let _ = writeln!(o, "# proxy-exec bench\n");
        let _ = writeln!(
            o,
            "> **Read this first.** The guests run under QEMU TCG (CPU emulation, no KVM) on a \
             shared host. Absolute times, rates and latencies here mean little and do not \
             carry over to real hardware. Only the side-by-side ratios between configurations \
             of this one bench, booted alternately under identical QEMU settings, carry \
             information, and only where they exceed the run-to-run spread.\n"
        );

        let _ = writeln!(o, "## Configurations\n");
        let mut configs: Vec<String> = Vec::new();
        for arch in &self.arches {
            for config in &arch.configs {
                push_unique(&mut configs, config);
            }
        }
        for config in &configs {
            let runs = self.runs.iter().filter(|r| r.config == *config).count();
            let about = match describe(config) {
                "" => String::new(),
                text => format!(": {text}"),
            };
            let plural = if runs == 1 { "" } else { "s" };
            let _ = writeln!(o, "- **{config}**{about} ({runs} run{plural})");
        }
        let _ = writeln!(
            o,
            "\nRatios are configuration / **{}** of the medians.\n",
            self.baseline
        );

        let (count, expected) = self.expected_false_flags();
        let _ = writeln!(o, "## Rule: beyond the run-to-run spread\n");
        let _ = writeln!(
            o,
            "A ratio is **bold** when the difference exceeds the run-to-run spread: the \
             min–max ranges of the two configurations do not overlap, so every run of one \
             lies above every run of the other. The rule needs at least {MIN_RUNS} runs of \
             each configuration; below that no difference is called. If two configurations \
             did not differ at all, this would still happen by chance with probability \
             2/C(n1+n2, n1) per figure ({:.1}% for 5 and 5 runs, {:.0}% for 3 and 3). This \
             report applies the rule to {count} figures, so about {expected:.1} of them may be \
             flagged by chance alone.\n",
            chance(5, 5) * 100.0,
            chance(3, 3) * 100.0,
        );
        if count == 0 {
            let _ = writeln!(
                o,
                "**No configuration pair has {MIN_RUNS} runs each here, so no difference is \
                 called: every ratio below is a single observation against unknown noise.**\n"
            );
        }

        let _ = writeln!(o, "## Differences beyond the spread\n");
        let differences = self.differences();
        if differences.is_empty() {
            let _ = writeln!(o, "None.\n");
        } else {
            for line in &differences {
                let _ = writeln!(o, "- {line}");
            }
            o.push('\n');
        }

        self.write_runs(o);

        for arch in &self.arches {
            let _ = writeln!(o, "## {}\n", arch.arch);
            for test in &arch.tests {
                write_test(o, arch, test, &self.baseline);
            }
        }
        out
    }

    fn write_runs(&self, o: &mut String) {
        let _ = writeln!(o, "## Runs\n");
        if !self.notes.is_empty() {
            let _ = writeln!(o, "Warnings:\n");
            for note in &self.notes {
                let _ = writeln!(o, "- {note}");
            }
            o.push('\n');
        }
        if !self.meta.is_empty() || self.runs.iter().any(|r| !r.params.is_empty()) {
            let _ = writeln!(o, "Parameters:\n");
            for (key, value) in &self.meta {
                let _ = writeln!(o, "- {key}: {value}");
            }
            if let Some(run) = self.runs.iter().find(|r| !r.params.is_empty()) {
                for (key, value) in &run.params {
                    let _ = writeln!(o, "- {key}: {value}");
                }
            }
            o.push('\n');
        }
        let _ = writeln!(o, "| # | arch | config | verdict | result | problems |");
        let _ = writeln!(o, "| ---: | --- | --- | --- | --- | --- |");
        for (i, run) in self.runs.iter().enumerate() {
            let mut problems: Vec<String> = run.error.iter().cloned().collect();
            problems.extend(run.reasons.iter().take(2).cloned());
            for m in run.tests.iter().filter(|m| m.status != "PASS") {
                problems.push(format!("{} {}", m.test, m.status));
            }
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                i + 1,
                run.arch,
                run.config,
                run.verdict.as_str(),
                file_link(&run.file),
                md_escape(&problems.join("; "))
            );
        }
        let _ = writeln!(
            o,
            "\nOverall: {} (exit {}). Only tests that passed give figures; a failed or \
             incomplete run leaves its configuration with fewer values.\n",
            self.verdict.as_str(),
            self.verdict.exit_code()
        );
    }

    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let differences = self.differences();
        let _ = writeln!(
            out,
            "bench: {} runs, {} differences beyond the run-to-run spread{}",
            self.runs.len(),
            differences.len(),
            if differences.is_empty() { "" } else { ":" }
        );
        for line in &differences {
            let _ = writeln!(out, "  {line}");
        }
        for note in &self.notes {
            let _ = writeln!(out, "warning: {note}");
        }
        for run in self.runs.iter().filter(|r| r.verdict != Verdict::Pass) {
            let why = run
                .error
                .as_deref()
                .or(run.reasons.first().map(String::as_str))
                .unwrap_or("");
            let _ = writeln!(
                out,
                "  {} {} {}: {} {why}",
                run.verdict.as_str(),
                run.arch,
                run.config,
                run.file
            );
        }
        let _ = writeln!(
            out,
            "verdict: {} (exit {})",
            self.verdict.as_str(),
            self.verdict.exit_code()
        );
        out
    }

    /// The plots: (path relative to the output folder, SVG text).
    pub fn plots(&self) -> Vec<(String, String)> {
        self.arches
            .iter()
            .flat_map(|arch| {
                arch.tests
                    .iter()
                    .filter(|test| !test.rows.is_empty())
                    .map(|test| {
                        (
                            plot_path(&arch.arch, &test.name),
                            svg(&arch.arch, &test.name, &arch.configs, &test.rows),
                        )
                    })
            })
            .collect()
    }

    /// Writes bench.json, bench.md and plots/ into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        let write = |path: &Path, text: &str| {
            std::fs::write(path, text)
                .map_err(|err| format!("cannot write {}: {err}", path.display()))
        };
        let plots = dir.join("plots");
        std::fs::create_dir_all(&plots)
            .map_err(|err| format!("cannot create {}: {err}", plots.display()))?;
        write(&dir.join("bench.json"), &self.to_json().to_pretty_string())?;
        write(&dir.join("bench.md"), &self.markdown())?;
        for (path, text) in self.plots() {
            write(&dir.join(path), &text)?;
        }
        Ok(())
    }
}

fn row_to_json(row: &Row) -> Value {
    let series = row
        .series
        .iter()
        .map(|s| {
            json::object([
                ("config", s.config.as_str().into()),
                (
                    "values",
                    Value::Array(s.values.iter().map(|&v| v.into()).collect()),
                ),
                ("stats", s.stats.map_or(Value::Null, Stats::to_json)),
            ])
        })
        .collect();
    let comparisons = row
        .comparisons
        .iter()
        .map(|c| {
            json::object([
                ("config", c.config.as_str().into()),
                ("ratio", c.ratio.into()),
                ("beyond_spread", c.beyond_spread.into()),
            ])
        })
        .collect();
    json::object([
        ("key", row.key.as_str().into()),
        ("series", Value::Array(series)),
        ("vs_baseline", Value::Array(comparisons)),
    ])
}

/// A relative result path (the runs' folders next to the report) as a
/// link to its run folder; other paths as text.
fn file_link(file: &str) -> String {
    let text = md_escape(file);
    match file.strip_suffix("result.json") {
        Some(dir) if !file.starts_with('/') && !file.contains("..") => {
            let dir = if dir.is_empty() { "." } else { dir };
            format!("[{text}]({})", dir.replace(' ', "%20"))
        }
        _ => text,
    }
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn write_test(o: &mut String, arch: &ArchReport, test: &TestReport, baseline: &str) {
    let _ = writeln!(o, "### {}\n", test.name);
    if test.rows.is_empty() && test.all_zero.is_empty() {
        let _ = writeln!(o, "No figures: this test passed in no run (see Runs).\n");
    } else if test.rows.is_empty() {
        let _ = writeln!(o, "Every figure was 0 in every run.\n");
    } else {
        // The comparisons are the same for every row: the non-baseline
        // configurations, when the baseline ran.
        let compared: Vec<&str> = test.rows[0]
            .comparisons
            .iter()
            .map(|c| c.config.as_str())
            .collect();
        let _ = write!(o, "| figure |");
        for config in &arch.configs {
            let _ = write!(o, " {config} |");
        }
        for config in &compared {
            let _ = write!(o, " {config}/{baseline} |");
        }
        let _ = write!(o, "\n| --- |");
        for _ in 0..arch.configs.len() + compared.len() {
            let _ = write!(o, " ---: |");
        }
        o.push('\n');
        for row in &test.rows {
            let _ = write!(o, "| {} |", row.key);
            for (series, &runs) in row.series.iter().zip(&arch.runs) {
                let _ = write!(o, " {} |", fmt_cell(series, runs));
            }
            for comparison in &row.comparisons {
                let _ = write!(o, " {} |", fmt_ratio(comparison, row, baseline));
            }
            o.push('\n');
        }
        let _ = writeln!(
            o,
            "\nCells: median (min–max) over the runs. ![{} {}]({})\n",
            arch.arch,
            test.name,
            plot_path(&arch.arch, &test.name)
        );
    }
    if !test.all_zero.is_empty() {
        let _ = writeln!(
            o,
            "Zero in every run of every configuration: {}.\n",
            test.all_zero.join(", ")
        );
    }
    if !test.module_results.is_empty() {
        let text: Vec<String> = test
            .module_results
            .iter()
            .map(|(config, counts)| {
                let counts: Vec<String> = counts.iter().map(|(r, n)| format!("{r}×{n}")).collect();
                format!("{config} {}", counts.join(" "))
            })
            .collect();
        let _ = writeln!(
            o,
            "The module's own verdicts (informational here; `make test` judges them): {}.\n",
            text.join("; ")
        );
    }
}

const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
];
const PANEL_W: f64 = 210.0;
const PANEL_H: f64 = 170.0;
const PANELS_PER_ROW: usize = 4;
const HEADER_H: f64 = 52.0;
const FOOTER_H: f64 = 22.0;
const MIN_WIDTH: f64 = 540.0;

/// The smallest of 1, 2 or 5 times a power of ten that is at least `v`.
pub fn nice_ceil(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let scale = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * scale)
        .find(|&top| top >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * scale)
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A strip plot per figure: one column per configuration with a dot per
/// run, a line from min to max and a bar at the median; y from 0 (or the
/// lowest value, if negative) to a round number above the highest.
pub fn svg(arch: &str, test: &str, configs: &[String], rows: &[Row]) -> String {
    let cols = rows.len().clamp(1, PANELS_PER_ROW);
    let lines = rows.len().div_ceil(PANELS_PER_ROW).max(1);
    let width = (cols as f64 * PANEL_W + 20.0).max(MIN_WIDTH);
    let height = HEADER_H + lines as f64 * PANEL_H + FOOTER_H;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\">"
    );
    let _ = writeln!(
        o,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"white\"/>"
    );
    let _ = writeln!(
        o,
        "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{} {}</text>",
        xml_escape(arch),
        xml_escape(test)
    );
    let _ = writeln!(
        o,
        "<text x=\"10\" y=\"{:.0}\" font-size=\"10\" fill=\"#555\">Dots: runs; bar: median; line: min–max. \
         QEMU TCG: only ratios between configurations matter.</text>",
        height - 8.0
    );
    let mut x = 10.0;
    for (i, config) in configs.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(
            o,
            "<rect x=\"{x}\" y=\"30\" width=\"10\" height=\"10\" fill=\"{color}\"/>\
             <text x=\"{}\" y=\"39\" font-size=\"11\">{}</text>",
            x + 14.0,
            xml_escape(config)
        );
        x += 24.0 + 7.0 * config.chars().count() as f64;
    }
    for (index, row) in rows.iter().enumerate() {
        let px = 10.0 + (index % PANELS_PER_ROW) as f64 * PANEL_W;
        let py = HEADER_H + (index / PANELS_PER_ROW) as f64 * PANEL_H;
        panel(&mut o, px, py, row, configs);
    }
    o.push_str("</svg>\n");
    o
}

fn panel(o: &mut String, px: f64, py: f64, row: &Row, configs: &[String]) {
    let values = row.series.iter().flat_map(|s| s.values.iter().copied());
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let lo = if lo < 0.0 { -nice_ceil(-lo) } else { 0.0 };
    let hi = match hi {
        hi if hi > 0.0 => nice_ceil(hi),
        _ if lo < 0.0 => 0.0,
        _ => 1.0,
    };
    let (x0, x1) = (px + 48.0, px + PANEL_W - 8.0);
    let (y_top, y_bot) = (py + 26.0, py + PANEL_H - 28.0);
    let y = |v: f64| y_bot - (v - lo) / (hi - lo) * (y_bot - y_top);
    let _ = writeln!(
        o,
        "<g><text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
        px + 4.0,
        py + 14.0,
        xml_escape(&row.key)
    );
    let _ = writeln!(
        o,
        "<line x1=\"{x0}\" y1=\"{y_top}\" x2=\"{x0}\" y2=\"{y_bot}\" stroke=\"#444\"/>\
         <line x1=\"{x0}\" y1=\"{y_bot}\" x2=\"{x1}\" y2=\"{y_bot}\" stroke=\"#444\"/>"
    );
    for tick in [lo, (lo + hi) / 2.0, hi] {
        let ty = y(tick);
        let _ = writeln!(
            o,
            "<line x1=\"{}\" y1=\"{ty:.1}\" x2=\"{x1}\" y2=\"{ty:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            x0 + 1.0,
            x0 - 4.0,
            ty + 3.5,
            fmt_num(tick)
        );
    }
    let slot = (x1 - x0) / configs.len().max(1) as f64;
    for (i, series) in row.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let cx = x0 + (i as f64 + 0.5) * slot;
        let _ = writeln!(
            o,
            "<text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            y_bot + 13.0,
            xml_escape(&series.config)
        );
        let Some(stats) = series.stats else {
            continue;
        };
        let _ = writeln!(
            o,
            "<line x1=\"{cx:.1}\" y1=\"{:.1}\" x2=\"{cx:.1}\" y2=\"{:.1}\" stroke=\"{color}\"/>\
             <line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{color}\" \
             stroke-width=\"3\"><title>median {}</title></line>",
            y(stats.min),
            y(stats.max),
            cx - 12.0,
            y(stats.median),
            cx + 12.0,
            y(stats.median),
            fmt_num(stats.median)
        );
        let n = series.values.len() as f64;
        for (j, &v) in series.values.iter().enumerate() {
            // Spread the dots sideways so equal values stay visible.
            let dx = ((j as f64 - (n - 1.0) / 2.0) * 3.0).clamp(-slot / 3.0, slot / 3.0);
            let _ = writeln!(
                o,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{color}\" \
                 fill-opacity=\"0.7\"><title>run {}: {}</title></circle>",
                cx + dx,
                y(v),
                j + 1,
                fmt_num(v)
            );
        }
    }
    o.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(config: &str, arch: &str, tests: &[(&str, &[(&str, f64)])]) -> Run {
        Run {
            file: format!("{arch}-{config}/result.json"),
            config: config.into(),
            arch: arch.into(),
            verdict: Verdict::Pass,
            reasons: Vec::new(),
            error: None,
            tests: tests
                .iter()
                .map(|(name, figures)| Measurement {
                    test: name.to_string(),
                    status: "PASS".into(),
                    figures: figures.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                    module_result: Some("PASS".into()),
                })
                .collect(),
            params: vec![("bench_seed".into(), "1".into())],
        }
    }

    /// Five runs each of stock, patched and noproxy, interleaved.
    fn three_configs() -> Vec<Run> {
        let mut runs = Vec::new();
        for i in 0..5 {
            let i = f64::from(i);
            runs.push(run(
                "stock",
                "x86_64",
                &[(
                    "pushable-RT_PUSH_IPI",
                    &[
                        ("handoffs_per_s", 100.0 + i),
                        ("rt_push_ipi", 900.0 + 10.0 * i),
                        ("dl_pull", 0.0),
                    ],
                )],
            ));
            runs.push(run(
                "patched",
                "x86_64",
                &[(
                    "pushable-RT_PUSH_IPI",
                    &[
                        ("handoffs_per_s", 102.0 - i),
                        ("rt_push_ipi", i),
                        ("dl_pull", 0.0),
                    ],
                )],
            ));
            runs.push(run(
                "noproxy",
                "x86_64",
                &[(
                    "pushable-RT_PUSH_IPI",
                    &[
                        ("handoffs_per_s", 50.0 + i),
                        ("rt_push_ipi", 0.0),
                        ("dl_pull", 0.0),
                    ],
                )],
            ));
        }
        runs
    }

    #[test]
    fn stats_median_quartiles_and_spread() {
        let s = Stats::of(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(
            (s.n, s.min, s.q1, s.median, s.q3, s.max, s.mean),
            (5, 1.0, 2.0, 3.0, 4.0, 5.0, 3.0)
        );
        // Even count: the median is the mean of the middle two.
        let s = Stats::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.median, s.q1, s.q3), (2.5, 1.75, 3.25));
        let s = Stats::of(&[7.0]).unwrap();
        assert_eq!((s.min, s.median, s.max), (7.0, 7.0, 7.0));
        assert_eq!(Stats::of(&[]), None);
    }

    #[test]
    fn beyond_spread_needs_separated_ranges_and_enough_runs() {
        let low = [1.0, 2.0, 3.0];
        assert_eq!(beyond_spread(&[4.0, 5.0, 6.0], &low), Some(true));
        assert_eq!(beyond_spread(&low, &[4.0, 5.0, 6.0]), Some(true));
        // Touching or overlapping ranges are within the spread, however
        // far apart the medians are.
        assert_eq!(beyond_spread(&[3.0, 50.0, 60.0], &low), Some(false));
        assert_eq!(beyond_spread(&[2.5, 9.0, 9.0], &low), Some(false));
        // Too few runs: no call either way.
        assert_eq!(beyond_spread(&[100.0, 101.0], &low), None);
        assert_eq!(beyond_spread(&[], &low), None);
    }

    #[test]
    fn chance_of_separation() {
        assert!((chance(5, 5) - 2.0 / 252.0).abs() < 1e-12);
        assert!((chance(3, 3) - 0.1).abs() < 1e-12);
        assert!((chance(1, 1) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ratios_handle_zero() {
        assert_eq!(ratio(50.0, 100.0), Some(0.5));
        assert_eq!(ratio(0.0, 0.0), Some(1.0));
        assert_eq!(ratio(3.0, 0.0), None);
    }

    #[test]
    fn numbers_format_to_about_three_digits() {
        assert_eq!(fmt_num(1234.0), "1234");
        assert_eq!(fmt_num(1234.56), "1235");
        assert_eq!(fmt_num(12.345), "12.3");
        assert_eq!(fmt_num(1.2345), "1.23");
        assert_eq!(fmt_num(0.01234), "0.012");
        assert_eq!(fmt_num(-2.5), "-2.50");
        assert_eq!(fmt_num(f64::NAN), "-");
    }

    #[test]
    fn ratios_keep_two_significant_digits_when_small() {
        assert_eq!(fmt_ratio_value(1.0 / 901.0), "0.0011");
        assert_eq!(fmt_ratio_value(0.05), "0.050");
        assert_eq!(fmt_ratio_value(0.5), "0.50");
        assert_eq!(fmt_ratio_value(0.0), "0.00");
        assert_eq!(fmt_ratio_value(12.345), "12.35");
    }

    #[test]
    fn run_folders_become_links() {
        assert_eq!(
            file_link("x86_64-1-stock/result.json"),
            "[x86_64-1-stock/result.json](x86_64-1-stock/)"
        );
        assert_eq!(file_link("/abs/result.json"), "/abs/result.json");
        assert_eq!(file_link("../up/result.json"), "../up/result.json");
        assert_eq!(file_link("a|b.json"), "a\\|b.json");
    }

    #[test]
    fn nice_ceiling() {
        assert_eq!(nice_ceil(0.0), 1.0);
        assert_eq!(nice_ceil(1.0), 1.0);
        assert_eq!(nice_ceil(1.2), 2.0);
        assert_eq!(nice_ceil(3.0), 5.0);
        assert_eq!(nice_ceil(940.0), 1000.0);
        assert_eq!(nice_ceil(1000.0), 1000.0);
        assert_eq!(nice_ceil(0.03), 0.05);
    }

    #[test]
    fn config_names_from_meta() {
        assert_eq!(config_from_meta("stock", "1"), "stock");
        assert_eq!(config_from_meta("patched", "1"), "patched");
        assert_eq!(config_from_meta("patched", ""), "patched");
        assert_eq!(config_from_meta("patched", "0"), "noproxy");
        assert_eq!(config_from_meta("stock", "0"), "stock-noproxy");
    }

    #[test]
    fn aggregates_per_arch_config_and_figure() {
        let bench = aggregate(three_configs(), "stock", Vec::new(), Vec::new());
        assert_eq!(bench.verdict, Verdict::Pass);
        let arch = &bench.arches[0];
        assert_eq!(arch.configs, ["stock", "patched", "noproxy"]);
        let test = &arch.tests[0];
        assert_eq!(test.name, "pushable-RT_PUSH_IPI");
        let keys: Vec<&str> = test.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["handoffs_per_s", "rt_push_ipi"]);
        assert_eq!(test.all_zero, ["dl_pull"]);
        assert_eq!(
            test.module_results[0],
            ("stock".into(), vec![("PASS".into(), 5)])
        );

        let handoffs = &test.rows[0];
        assert_eq!(handoffs.series[0].stats.unwrap().median, 102.0);
        // patched 98..102 overlaps stock 100..104: within the spread.
        let patched = &handoffs.comparisons[0];
        assert_eq!(patched.config, "patched");
        assert_eq!(patched.ratio, Some(100.0 / 102.0));
        assert_eq!(patched.beyond_spread, Some(false));
        // noproxy 50..54 lies below stock 100..104.
        assert_eq!(handoffs.comparisons[1].beyond_spread, Some(true));

        let ipi = &test.rows[1];
        assert_eq!(ipi.comparisons[0].ratio, Some(2.0 / 920.0));
        assert_eq!(ipi.comparisons[0].beyond_spread, Some(true));
        assert_eq!(bench.differences().len(), 3);
    }

    #[test]
    fn failed_tests_and_runs_give_no_figures() {
        let mut runs = three_configs();
        runs[0].tests[0].status = "FAIL".into();
        runs[3].verdict = Verdict::Panic;
        runs[3].tests.clear();
        runs[3].error = Some("no 'bench' stage in the result".into());
        let bench = aggregate(runs, "stock", Vec::new(), Vec::new());
        assert_eq!(bench.verdict, Verdict::Panic);
        let row = &bench.arches[0].tests[0].rows[0];
        assert_eq!(row.series[0].values, [102.0, 103.0, 104.0]);
        let markdown = bench.markdown();
        assert!(markdown.contains(
            "| 1 | x86_64 | stock | PASS | [x86_64-stock/result.json](x86_64-stock/) | pushable-RT_PUSH_IPI FAIL |"
        ));
        // The failed test and the run without a bench stage leave stock
        // with 3 of its 5 runs.
        assert!(
            markdown.contains("| handoffs_per_s | 103 (102–104) n=3 |"),
            "{markdown}"
        );
        assert!(markdown.contains("| 4 | x86_64 | stock | PANIC | [x86_64-stock/result.json](x86_64-stock/) | no 'bench' stage in the result |"));
    }

    #[test]
    fn a_test_that_never_passed_says_so() {
        let mut runs = three_configs();
        for run in &mut runs {
            run.tests[0].status = "SKIP".into();
        }
        runs[0].tests.push(Measurement {
            test: "chain".into(),
            status: "PASS".into(),
            figures: vec![("dl_pull".into(), 0.0)],
            module_result: None,
        });
        let bench = aggregate(runs, "stock", Vec::new(), Vec::new());
        let md = bench.markdown();
        assert!(md.contains(
            "### pushable-RT_PUSH_IPI\n\nNo figures: this test passed in no run (see Runs).\n"
        ));
        assert!(md.contains("### chain\n\nEvery figure was 0 in every run.\n"));
        assert!(bench.plots().is_empty());
    }

    #[test]
    fn no_figures_is_infra() {
        let mut runs = three_configs();
        for run in &mut runs {
            run.tests.clear();
        }
        let bench = aggregate(runs, "stock", Vec::new(), Vec::new());
        assert_eq!(bench.verdict, Verdict::Infra);
        assert!(bench.arches.is_empty());
        assert_eq!(bench.notes, ["no run gave any figures"]);
    }

    #[test]
    fn differing_parameters_are_a_warning() {
        let mut runs = three_configs();
        runs[4].params = vec![("bench_seed".into(), "2".into())];
        let bench = aggregate(runs, "stock", Vec::new(), vec!["caller".into()]);
        assert_eq!(
            bench.notes,
            ["caller", "the runs differ in their parameters: bench_seed"]
        );
    }

    #[test]
    fn markdown_table_and_explanations() {
        let meta = vec![("date".to_string(), "today".to_string())];
        let bench = aggregate(three_configs(), "stock", meta, Vec::new());
        let md = bench.markdown();
        let table = "\
| figure | stock | patched | noproxy | patched/stock | noproxy/stock |
| --- | ---: | ---: | ---: | ---: | ---: |
| handoffs_per_s | 102 (100–104) | 100 (98–102) | 52 (50–54) | 0.98 | **0.51** |
| rt_push_ipi | 920 (900–940) | 2 (0–4) | 0 (0–0) | **0.0022** | **0.00** |
";
        assert!(md.contains(table), "{md}");
        assert!(md.contains("Zero in every run of every configuration: dl_pull."));
        assert!(md.contains("QEMU TCG"));
        assert!(md.contains("Only the side-by-side ratios"));
        assert!(md.contains("min–max ranges of the two configurations do not overlap"));
        assert!(md.contains("applies the rule to 4 figures, so about 0.0 of them"));
        assert!(md.contains(
            "- x86_64 pushable-RT_PUSH_IPI handoffs_per_s: noproxy/stock = 0.51 \
             (noproxy 52 (50–54) vs stock 102 (100–104))"
        ));
        assert!(md.contains("- date: today\n- bench_seed: 1\n"));
        assert!(md.contains("](plots/x86_64-pushable-RT_PUSH_IPI.svg)"));
        assert!(md.contains("- **stock**: Linux 7.2"));
        assert!(md.contains("(5 runs)"));
        assert!(!md.contains("so no difference is called"));
        assert!(md.contains("stock PASS×5; patched PASS×5; noproxy PASS×5"));
    }

    #[test]
    fn markdown_without_baseline_or_enough_runs() {
        let runs: Vec<Run> = three_configs().into_iter().take(3).collect();
        let bench = aggregate(runs, "stock", Vec::new(), Vec::new());
        let md = bench.markdown();
        // One run each: no spread rule, single values without a range.
        assert!(
            md.contains("| handoffs_per_s | 100 | 102 | 50 | 1.02 | 0.50 |"),
            "{md}"
        );
        assert!(md.contains("## Differences beyond the spread\n\nNone."));
        assert!(md.contains("so no difference is called"));
        assert!(md.contains("(1 run)"));

        let runs: Vec<Run> = three_configs()
            .into_iter()
            .filter(|r| r.config != "stock")
            .collect();
        let bench = aggregate(runs, "stock", Vec::new(), Vec::new());
        let md = bench.markdown();
        assert!(md.contains("| figure | patched | noproxy |\n"), "{md}");
    }

    #[test]
    fn ratio_cells_without_a_ratio() {
        let series = |config: &str, values: &[f64]| Series {
            config: config.into(),
            values: values.to_vec(),
            stats: Stats::of(values),
        };
        let row = Row {
            key: "k".into(),
            series: vec![
                series("stock", &[0.0, 0.0, 0.0]),
                series("patched", &[5.0, 6.0, 7.0]),
                series("noproxy", &[]),
            ],
            comparisons: Vec::new(),
        };
        let c = |config: &str, ratio| Comparison {
            config: config.into(),
            ratio,
            beyond_spread: Some(true),
        };
        assert_eq!(
            fmt_ratio(&c("patched", None), &row, "stock"),
            "n/a (stock median 0)"
        );
        assert_eq!(fmt_ratio(&c("noproxy", None), &row, "stock"), "-");
        assert_eq!(
            fmt_ratio(&c("patched", Some(2.0)), &row, "stock"),
            "**2.00**"
        );
    }

    /// Checks that `text` is well-formed enough for an SVG viewer: tags
    /// balance, attributes are quoted, entities are known.
    fn assert_well_formed(text: &str) {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('<') {
            let content = &rest[..open];
            for (i, _) in content.match_indices('&') {
                let entity = &content[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;"]
                        .iter()
                        .any(|e| entity.starts_with(e)),
                    "bad entity in {content:?}"
                );
            }
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "'<' inside tag {tag:?}");
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in {tag:?}"
            );
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap());
            }
            rest = &rest[close + 1..];
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    #[test]
    fn svg_plots_every_run() {
        let bench = aggregate(three_configs(), "stock", Vec::new(), Vec::new());
        let plots = bench.plots();
        assert_eq!(plots.len(), 1);
        let (path, svg) = &plots[0];
        assert_eq!(path, "plots/x86_64-pushable-RT_PUSH_IPI.svg");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert_well_formed(svg);
        // Two figures, three configurations of five runs each.
        assert_eq!(svg.matches("<circle").count(), 30);
        assert!(svg.contains("<title>run 5: 940</title>"));
        assert!(svg.contains(">noproxy</text>"));
        assert!(svg.contains(">handoffs_per_s</text>"));
        // The y axis ends at a round number above the highest value.
        assert!(svg.contains(">1000</text>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn svg_escapes_text_and_survives_odd_input() {
        let row = Row {
            key: "a<b&c".into(),
            series: vec![Series {
                config: "x\"y".into(),
                values: vec![-3.0, 0.0],
                stats: Stats::of(&[-3.0, 0.0]),
            }],
            comparisons: Vec::new(),
        };
        let svg = svg("arm64", "t&t", &["x\"y".into()], &[row]);
        assert_well_formed(&svg);
        assert!(svg.contains("a&lt;b&amp;c"));
        assert!(svg.contains("x&quot;y"));
        assert!(svg.contains(">-5</text>"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn reads_a_result_file() {
        let text = r#"{
          "meta": {"arch": "arm64", "variant": "patched", "proxy_exec": "0"},
          "exit_code": 1,
          "reasons": ["stage bench: 1 failed: pushable-RT_PUSH_IPI"],
          "stages": [
            {"name": "prepare", "tests": []},
            {"name": "bench", "tests": [
              {"name": "load", "status": "PASS",
               "diagnostics": {"bench_seed": "1", "bench_duration_ms": "2000"}},
              {"name": "chain", "status": "PASS",
               "diagnostics": {"handoffs_per_s": "12.5", "module_result": "XFAIL",
                               "worst_wait_by": "chain_donor cpu1", "ctxt": "420"}},
              {"name": "pushable-RT_PUSH_IPI", "status": "FAIL",
               "diagnostics": {"ctxt": "7"}}
            ]}
          ]
        }"#;
        let value = json::parse(text).unwrap();
        let run = Run::from_json("r.json", None, &value).unwrap();
        assert_eq!(run.config, "noproxy");
        assert_eq!(run.arch, "arm64");
        assert_eq!(run.verdict, Verdict::Fail);
        assert_eq!(run.params.len(), 2);
        assert_eq!(run.figure("chain", "handoffs_per_s"), Some(12.5));
        assert_eq!(run.figure("chain", "worst_wait_by"), None);
        assert_eq!(run.figure("pushable-RT_PUSH_IPI", "ctxt"), None);
        assert_eq!(run.tests[1].module_result.as_deref(), Some("XFAIL"));

        let labelled = Run::from_json("r.json", Some("mine"), &value).unwrap();
        assert_eq!(labelled.config, "mine");

        let no_stage = json::parse(r#"{"exit_code": 0, "meta": {"variant": "stock"}}"#).unwrap();
        let run = Run::from_json("r.json", None, &no_stage).unwrap();
        assert_eq!(run.verdict, Verdict::Infra);
        assert_eq!(run.error.as_deref(), Some("no 'bench' stage in the result"));

        let no_variant = json::parse(r#"{"exit_code": 0, "meta": {}}"#).unwrap();
        assert!(Run::from_json("r.json", None, &no_variant)
            .unwrap_err()
            .contains("LABEL=FILE"));
        let missing = Run::load(Some("stock"), Path::new("/nonexistent/result.json"));
        assert_eq!(missing.verdict, Verdict::Infra);
        assert_eq!(missing.config, "stock");
    }

    #[test]
    fn json_keeps_raw_values_and_stats() {
        let bench = aggregate(three_configs(), "stock", Vec::new(), Vec::new());
        let value = json::parse(&bench.to_json().to_pretty_string()).unwrap();
        assert_eq!(value.get("exit_code").and_then(Value::as_f64), Some(0.0));
        let Some(Value::Array(runs)) = value.get("runs") else {
            panic!("no runs");
        };
        assert_eq!(runs.len(), 15);
        let figures = runs[0]
            .get("tests")
            .and_then(|t| match t {
                Value::Array(tests) => tests[0].get("figures"),
                _ => None,
            })
            .unwrap();
        assert_eq!(figures.get("dl_pull").and_then(Value::as_f64), Some(0.0));
        let Some(Value::Array(arches)) = value.get("arches") else {
            panic!("no arches");
        };
        let text = arches[0].get("tests").unwrap();
        let Value::Array(tests) = text else {
            panic!("no tests");
        };
        let Some(Value::Array(rows)) = tests[0].get("figures") else {
            panic!("no figures");
        };
        let stock = match rows[0].get("series") {
            Some(Value::Array(series)) => &series[0],
            _ => panic!("no series"),
        };
        let stats = stock.get("stats").unwrap();
        assert_eq!(stats.get("median").and_then(Value::as_f64), Some(102.0));
        assert_eq!(stats.get("q1").and_then(Value::as_f64), Some(101.0));
        let Some(Value::Array(vs)) = rows[0].get("vs_baseline") else {
            panic!("no comparisons");
        };
        assert_eq!(vs[1].get("beyond_spread"), Some(&Value::Bool(true)));
    }
}
