use labreport::bench;
use labreport::cli::{self, Command};
use labreport::json::Value;
use labreport::report::{self, Verdict};
use labreport::summary::{self, Run};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("labreport: {message}");
            // A run whose report could not be made is not known to be good.
            ExitCode::from(Verdict::Infra.exit_code())
        }
    }
}

fn run(args: &[String]) -> Result<u8, String> {
    let command = cli::parse(args).map_err(|err| format!("{err}\n\n{}", cli::USAGE))?;
    match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            Ok(0)
        }
        Command::Console(args) => {
            let bytes = std::fs::read(&args.log)
                .map_err(|err| format!("cannot read {}: {err}", args.log.display()))?;
            // A serial console can deliver stray bytes that are not UTF-8.
            let log = String::from_utf8_lossy(&bytes);
            let report = report::analyze(&log, &args.options);
            write_json(&args.out, &report.to_json())?;
            print!("{}", report.human_summary());
            Ok(report.verdict.exit_code())
        }
        Command::Summary(args) => {
            let runs = args.results.iter().map(|path| Run::load(path)).collect();
            let summary = summary::summarize(runs);
            write_json(&args.out, &summary.to_json())?;
            print!("{}", summary.table());
            Ok(summary.verdict.exit_code())
        }
        Command::Bench(args) => {
            let runs = args
                .results
                .iter()
                .map(|(config, path)| bench::Run::load(config.as_deref(), path))
                .collect();
            let bench = bench::aggregate(runs, &args.baseline, args.meta, args.notes);
            bench.write(&args.out_dir)?;
            print!("{}", bench.summary());
            println!("bench report: {}", args.out_dir.join("bench.md").display());
            Ok(bench.verdict.exit_code())
        }
    }
}

fn write_json(path: &Path, value: &Value) -> Result<(), String> {
    std::fs::write(path, value.to_pretty_string())
        .map_err(|err| format!("cannot write {}: {err}", path.display()))
}
