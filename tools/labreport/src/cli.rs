//! Command-line parsing.

use crate::report::{HostStage, Options, StageStatus};
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: labreport console --log FILE --out FILE [--timed-out] [--qemu-rc N]
                         [--allow-splat SUBSTRING]... [--meta KEY=VALUE]...
                         [--host-stage NAME=STATUS[:SECS]]...
       labreport summary --out FILE RESULT.json...
       labreport bench --out-dir DIR [--baseline CONFIG] [--meta KEY=VALUE]...
                       [--note TEXT]... [CONFIG=]RESULT.json...

console  reads a guest's serial console log, writes a JSON report and
         prints a summary
summary  merges reports written by 'console'
bench    aggregates the figures of 'make bench' runs (the guest's bench
         stage) per configuration; writes DIR/bench.md, DIR/bench.json and
         DIR/plots/*.svg and prints the differences beyond the spread

--allow-splat  a kernel splat whose line contains SUBSTRING is listed but
               does not affect the verdict
--host-stage   a stage run on the host (STATUS: PASS, FAIL, SKIP or
               INCOMPLETE), listed before the guest's stages
--baseline     the configuration the others are divided by (stock)
--note         a warning for the bench report
CONFIG=        names a result's configuration; without it the result's
               meta names it (variant, or noproxy with proxy_exec=0)

exit status: 0 pass, 1 test failure, 2 infrastructure problem or incomplete
run (also for errors of labreport itself), 3 kernel panic or splat
";

#[derive(Debug, PartialEq)]
pub enum Command {
    Help,
    Console(ConsoleArgs),
    Summary(SummaryArgs),
    Bench(BenchArgs),
}

#[derive(Debug, PartialEq)]
pub struct ConsoleArgs {
    pub log: PathBuf,
    pub out: PathBuf,
    pub options: Options,
}

#[derive(Debug, PartialEq)]
pub struct SummaryArgs {
    pub out: PathBuf,
    pub results: Vec<PathBuf>,
}

#[derive(Debug, PartialEq)]
pub struct BenchArgs {
    pub out_dir: PathBuf,
    pub baseline: String,
    pub meta: Vec<(String, String)>,
    pub notes: Vec<String>,
    /// Result files, each with the configuration named on the command line.
    pub results: Vec<(Option<String>, PathBuf)>,
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, args)) = args.split_first() else {
        return Err("missing command".into());
    };
    match command.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "console" => parse_console(args).map(Command::Console),
        "summary" => parse_summary(args).map(Command::Summary),
        "bench" => parse_bench(args).map(Command::Bench),
        _ => Err(format!("unknown command '{command}'")),
    }
}

fn value<'a>(option: &str, args: &mut impl Iterator<Item = &'a String>) -> Result<&'a str, String> {
    args.next()
        .map(String::as_str)
        .ok_or_else(|| format!("{option} needs a value"))
}

fn parse_console(args: &[String]) -> Result<ConsoleArgs, String> {
    let (mut log, mut out) = (None, None);
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--log" => log = Some(PathBuf::from(value(arg, &mut args)?)),
            "--out" => out = Some(PathBuf::from(value(arg, &mut args)?)),
            "--timed-out" => options.timed_out = true,
            "--qemu-rc" => {
                let rc = value(arg, &mut args)?;
                let rc = rc
                    .parse()
                    .map_err(|_| format!("--qemu-rc: '{rc}' is not an integer"))?;
                options.qemu_rc = Some(rc);
            }
            "--allow-splat" => options
                .allow_splats
                .push(value(arg, &mut args)?.to_string()),
            "--meta" => {
                let (key, val) = parse_meta(value(arg, &mut args)?)?;
                // A repeated key replaces the earlier value: JSON keys are unique.
                options.meta.retain(|(k, _)| *k != key);
                options.meta.push((key, val));
            }
            "--host-stage" => options
                .host_stages
                .push(parse_host_stage(value(arg, &mut args)?)?),
            _ => return Err(format!("unknown option '{arg}'")),
        }
    }
    Ok(ConsoleArgs {
        log: log.ok_or("console: --log is required")?,
        out: out.ok_or("console: --out is required")?,
        options,
    })
}

fn parse_summary(args: &[String]) -> Result<SummaryArgs, String> {
    let mut out = None;
    let mut results = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value(arg, &mut args)?)),
            _ if arg.starts_with('-') => return Err(format!("unknown option '{arg}'")),
            _ => results.push(PathBuf::from(arg)),
        }
    }
    if results.is_empty() {
        return Err("summary: no result files given".into());
    }
    Ok(SummaryArgs {
        out: out.ok_or("summary: --out is required")?,
        results,
    })
}

fn parse_bench(args: &[String]) -> Result<BenchArgs, String> {
    let mut out_dir = None;
    let mut bench = BenchArgs {
        out_dir: PathBuf::new(),
        baseline: "stock".into(),
        meta: Vec::new(),
        notes: Vec::new(),
        results: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out-dir" => out_dir = Some(PathBuf::from(value(arg, &mut args)?)),
            "--baseline" => bench.baseline = value(arg, &mut args)?.to_string(),
            "--meta" => {
                let (key, val) = parse_meta(value(arg, &mut args)?)?;
                bench.meta.retain(|(k, _)| *k != key);
                bench.meta.push((key, val));
            }
            "--note" => bench.notes.push(value(arg, &mut args)?.to_string()),
            _ if arg.starts_with('-') => return Err(format!("unknown option '{arg}'")),
            // "stock=dir/result.json"; a '/' before the '=' is part of a path.
            _ => bench.results.push(match arg.split_once('=') {
                Some((config, path)) if !config.is_empty() && !config.contains('/') => {
                    (Some(config.to_string()), PathBuf::from(path))
                }
                _ => (None, PathBuf::from(arg)),
            }),
        }
    }
    if bench.results.is_empty() {
        return Err("bench: no result files given".into());
    }
    if bench.baseline.is_empty() {
        return Err("bench: --baseline must not be empty".into());
    }
    bench.out_dir = out_dir.ok_or("bench: --out-dir is required")?;
    Ok(bench)
}

fn parse_meta(spec: &str) -> Result<(String, String), String> {
    match spec.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("--meta '{spec}': expected KEY=VALUE")),
    }
}

/// "build=PASS:312" -> build, PASS, 312 seconds; the seconds are optional.
fn parse_host_stage(spec: &str) -> Result<HostStage, String> {
    let bad = || format!("--host-stage '{spec}': expected NAME=STATUS[:SECS]");
    let (name, rest) = spec
        .split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(bad)?;
    let (status, secs) = match rest.split_once(':') {
        Some((status, secs)) => (status, Some(secs.parse().map_err(|_| bad())?)),
        None => (rest, None),
    };
    Ok(HostStage {
        name: name.to_string(),
        status: StageStatus::parse(status).ok_or_else(bad)?,
        secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn console_with_all_options() {
        let parsed = parse(&args(
            "console --log c.log --out r.json --timed-out --qemu-rc -1 \
             --allow-splat drivers/foo.c --allow-splat bar --meta arch=x86_64 \
             --meta variant=kasan --meta arch=arm64 --host-stage build=PASS:312 \
             --host-stage lint=fail",
        ))
        .unwrap();
        let expected = ConsoleArgs {
            log: "c.log".into(),
            out: "r.json".into(),
            options: Options {
                timed_out: true,
                qemu_rc: Some(-1),
                allow_splats: vec!["drivers/foo.c".into(), "bar".into()],
                meta: vec![
                    ("variant".into(), "kasan".into()),
                    ("arch".into(), "arm64".into()),
                ],
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
            },
        };
        assert_eq!(parsed, Command::Console(expected));
    }

    #[test]
    fn summary_takes_files_around_out() {
        let parsed = parse(&args("summary a.json --out s.json b.json")).unwrap();
        let expected = SummaryArgs {
            out: "s.json".into(),
            results: vec!["a.json".into(), "b.json".into()],
        };
        assert_eq!(parsed, Command::Summary(expected));
    }

    #[test]
    fn bench_with_labels_and_options() {
        let parsed = parse(&args(
            "bench stock=a/result.json --out-dir out --meta seed=1 b/x=1/result.json \
             --baseline patched --note slow c.json --meta seed=2",
        ))
        .unwrap();
        let expected = BenchArgs {
            out_dir: "out".into(),
            baseline: "patched".into(),
            meta: vec![("seed".into(), "2".into())],
            notes: vec!["slow".into()],
            results: vec![
                (Some("stock".into()), "a/result.json".into()),
                (None, "b/x=1/result.json".into()),
                (None, "c.json".into()),
            ],
        };
        assert_eq!(parsed, Command::Bench(expected));
        let Command::Bench(defaults) = parse(&args("bench --out-dir o r.json")).unwrap() else {
            panic!("not bench");
        };
        assert_eq!(defaults.baseline, "stock");
    }

    #[test]
    fn help() {
        assert_eq!(parse(&args("--help")), Ok(Command::Help));
        assert_eq!(parse(&args("help")), Ok(Command::Help));
    }

    #[test]
    fn errors() {
        let error = |line: &str| parse(&args(line)).unwrap_err();
        assert_eq!(error(""), "missing command");
        assert_eq!(error("frobnicate"), "unknown command 'frobnicate'");
        assert_eq!(error("console --out r.json"), "console: --log is required");
        assert_eq!(error("console --log c.log"), "console: --out is required");
        assert_eq!(error("console --log"), "--log needs a value");
        assert_eq!(error("console --bogus"), "unknown option '--bogus'");
        assert_eq!(
            error("console --qemu-rc x"),
            "--qemu-rc: 'x' is not an integer"
        );
        assert_eq!(
            error("console --meta novalue"),
            "--meta 'novalue': expected KEY=VALUE"
        );
        assert_eq!(
            error("console --meta =v"),
            "--meta '=v': expected KEY=VALUE"
        );
        for bad in ["build", "=PASS", "build=GREAT", "build=PASS:soon"] {
            assert_eq!(
                error(&format!("console --host-stage {bad}")),
                format!("--host-stage '{bad}': expected NAME=STATUS[:SECS]")
            );
        }
        assert_eq!(
            error("summary --out s.json"),
            "summary: no result files given"
        );
        assert_eq!(error("summary a.json"), "summary: --out is required");
        assert_eq!(error("summary -x a.json"), "unknown option '-x'");
        assert_eq!(error("bench --out-dir o"), "bench: no result files given");
        assert_eq!(error("bench r.json"), "bench: --out-dir is required");
        assert_eq!(error("bench --note"), "--note needs a value");
        assert_eq!(error("bench --bogus r.json"), "unknown option '--bogus'");
        let empty: Vec<String> = ["bench", "--out-dir", "o", "--baseline", "", "r.json"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            parse(&empty).unwrap_err(),
            "bench: --baseline must not be empty"
        );
    }
}
