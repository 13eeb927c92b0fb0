// SPDX-License-Identifier: GPL-2.0

//! Proxy-execution stress module.
//!
//! Scenarios of mutex-blocked FIFO, DEADLINE and NORMAL kernel threads that proxy execution
//! must handle: priority inversion, deadline donors, deep blocked-on chains across CPUs,
//! donors with disjoint affinity, owners that sleep, yield and move while they hold a lock,
//! policy churn on blocked waiters, owners that block again while running as proxies, and
//! donors left behind a hog on the owner's old CPU while another CPU they may use is idle
//! (`stranded`), deadline donors throttled while they run owners on other CPUs, whose
//! replenishment timers then fire remotely (`dl-timers`), and rt_mutex priority boosts of
//! owners that run as proxies (`rt-boost`). Each scenario checks mutual exclusion, progress,
//! allowed CPUs and a latency bound, and reports its figures as KTAP.
//!
//! Control is through debugfs (`/sys/kernel/debug/proxy_stress/`):
//!
//! - `run`: write a scenario name, a comma-separated list of names, or `all`; the scenarios
//!   run synchronously in the writer's context. A concurrent writer gets `EBUSY`, an unknown
//!   name `EINVAL`.
//! - `results`: KTAP of the last run.
//! - `status`: `idle` or the scenario being run.
//!
//! A scenario whose threads have not all finished their loops within a grace period past its
//! end (its duration, at least 2 s) fails as `stuck`: the stuck threads are listed in the
//! results and their stacks logged, they are left running, and the module pins itself, so that
//! it cannot be unloaded; the write then fails with `ETIMEDOUT`. A signal to the writer
//! interrupts the run: the scenario being run fails as `interrupted`, the rest are skipped,
//! and the write fails with `EINTR`. `plant_stuck=1` makes the first thread created never
//! finish, to test this.
//!
//! Nothing runs at load time unless `autorun=1`.

use kernel::{
    debugfs::Scope,
    fmt::Write,
    new_mutex,
    prelude::*,
    sched,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Full,
            Relaxed,
            Release, //
        },
        Mutex,
    },
    time::{
        ClockSource,
        Monotonic,
        RealTime, //
    },
    uaccess::UserSliceReader, //
};

#[path = "proxy_stress/harness.rs"]
mod harness;
#[path = "proxy_stress/scenarios.rs"]
mod scenarios;

use harness::{
    ncpus,
    RunCtx,
    ABORT,
    PLANT_STUCK, //
};
use scenarios::{
    default_set,
    Outcome,
    Verdict,
    SCENARIOS, //
};

module! {
    type: ProxyStress,
    name: "proxy_stress",
    authors: ["proxy-exec lab"],
    description: "Stress mutex-blocked RT/DL tasks under proxy execution",
    license: "GPL",
    params: {
        duration_ms: u32 {
            default: 1000,
            description: "Run time of each scenario, in ms (10..600000)",
        },
        threads_per_cpu: u32 {
            default: 1,
            description: "Spinners, hogs or donors per CPU (1..8)",
        },
        scenarios: u32 {
            default: 0,
            description: "Bit set of scenarios for 'all' and autorun, bit i = scenario i: \
                          rt-inversion dl-donor chain cross-cpu owner-moves churn reblock \
                          pushable stranded dl-timers rt-boost (0: all but pushable)",
        },
        seed: u64 {
            default: 0,
            description: "PRNG seed (0: a new seed per run, printed in the results)",
        },
        wait_bound_us: u32 {
            default: 100000,
            description: "Bound on a blocked waiter's wait, in us (100..10000000)",
        },
        pushable_ms: u32 {
            default: 2000,
            description: "Run time of the pushable scenario, in ms (10..60000)",
        },
        autorun: u8 {
            default: 0,
            description: "1: run the selected scenarios at load time (0..1)",
        },
        plant_stuck: u8 {
            default: 0,
            description: "1: the first thread created never finishes, to test the report of \
                          stuck threads; the module then stays pinned (0..1)",
        },
    },
}

/// Validated module parameters.
#[derive(Clone, Copy)]
struct Config {
    duration_ms: u32,
    threads_per_cpu: u32,
    scenarios: u32,
    seed: u64,
    wait_bound_us: u32,
    pushable_ms: u32,
    autorun: bool,
    plant_stuck: bool,
}

/// Checks that parameter `name` is within `lo..=hi`.
fn check<T: PartialOrd + Copy + kernel::fmt::Display>(name: &str, v: T, lo: T, hi: T) -> Result<T> {
    if v < lo || v > hi {
        pr_err!("invalid {name}={v} (expected {lo}..{hi})\n");
        return Err(EINVAL);
    }
    Ok(v)
}

impl Config {
    fn from_params() -> Result<Self> {
        let all = (1u32 << SCENARIOS.len()) - 1;
        let scenarios = check("scenarios", *module_parameters::scenarios.value(), 0, all)?;
        Ok(Self {
            duration_ms: check(
                "duration_ms",
                *module_parameters::duration_ms.value(),
                10,
                600_000,
            )?,
            threads_per_cpu: check(
                "threads_per_cpu",
                *module_parameters::threads_per_cpu.value(),
                1,
                8,
            )?,
            scenarios: if scenarios == 0 {
                default_set()
            } else {
                scenarios
            },
            seed: *module_parameters::seed.value(),
            wait_bound_us: check(
                "wait_bound_us",
                *module_parameters::wait_bound_us.value(),
                100,
                10_000_000,
            )?,
            pushable_ms: check(
                "pushable_ms",
                *module_parameters::pushable_ms.value(),
                10,
                60_000,
            )?,
            autorun: check("autorun", *module_parameters::autorun.value(), 0, 1)? == 1,
            plant_stuck: check("plant_stuck", *module_parameters::plant_stuck.value(), 0, 1)? == 1,
        })
    }
}

/// A growable text buffer.
struct Text(KVec<u8>);

impl Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }
}

/// State behind the debugfs files.
#[pin_data]
struct Control {
    cfg: Config,
    /// A run is in progress (the `run` file is busy).
    running: Atomic<bool>,
    /// 1 + index of the scenario being run, 0 when idle.
    current: Atomic<u32>,
    /// KTAP of the last run.
    #[pin]
    results: Mutex<KVec<u8>>,
}

impl Control {
    fn new(cfg: Config) -> impl PinInit<Self> {
        pin_init!(Self {
            cfg,
            running: Atomic::new(false),
            current: Atomic::new(0),
            results <- new_mutex!(KVec::new()),
        })
    }

    /// Parses what was written to `run` into a bit set of scenarios.
    fn parse(&self, input: &str) -> Result<u32> {
        let mut set = 0;
        for word in input.split(',').map(str::trim) {
            if word == "all" {
                set |= self.cfg.scenarios;
                continue;
            }
            let idx = SCENARIOS
                .iter()
                .position(|s| s.name == word)
                .ok_or(EINVAL)?;
            set |= 1 << idx;
        }
        if set == 0 {
            return Err(EINVAL);
        }
        Ok(set)
    }

    /// Runs the scenarios in `set` unless a run is already in progress.
    fn run_exclusive(&self, set: u32) -> Result {
        if self.running.cmpxchg(false, true, Full).is_err() {
            return Err(EBUSY);
        }
        let res = self.run(set);
        self.current.store(0, Release);
        self.running.store(false, Release);
        res
    }

    fn run(&self, set: u32) -> Result {
        let cfg = &self.cfg;
        let seed = if cfg.seed != 0 {
            cfg.seed
        } else {
            fresh_seed()
        };
        let count = SCENARIOS
            .iter()
            .enumerate()
            .filter(|(i, _)| set & (1 << i) != 0)
            .count();
        pr_info!(
            "run: {count} scenario(s), seed {seed}, {} CPUs, proxy exec {}\n",
            ncpus(),
            if sched::proxy_exec_enabled() {
                "on"
            } else {
                "off"
            }
        );

        let mut t = Text(KVec::new());
        writeln!(t, "KTAP version 1").map_err(|_| ENOMEM)?;
        writeln!(t, "# seed: {seed}").map_err(|_| ENOMEM)?;
        writeln!(t, "# cpus: {}", ncpus()).map_err(|_| ENOMEM)?;
        writeln!(t, "# threads_per_cpu: {}", cfg.threads_per_cpu).map_err(|_| ENOMEM)?;
        writeln!(t, "# duration_ms: {}", cfg.duration_ms).map_err(|_| ENOMEM)?;
        writeln!(t, "# wait_bound_us: {}", cfg.wait_bound_us).map_err(|_| ENOMEM)?;
        writeln!(t, "# proxy_exec: {}", u8::from(sched::proxy_exec_enabled()))
            .map_err(|_| ENOMEM)?;
        writeln!(t, "1..{count}").map_err(|_| ENOMEM)?;

        let mut num = 0;
        let (mut stuck, mut interrupted) = (false, false);
        for (i, sc) in SCENARIOS.iter().enumerate() {
            if set & (1 << i) == 0 {
                continue;
            }
            num += 1;
            self.current.store(i as u32 + 1, Release);
            interrupted |= kernel::current!().signal_pending();
            let out = if ABORT.load(Acquire) {
                Outcome::skip("module unloading", None)
            } else if interrupted {
                Outcome::skip("run interrupted", None)
            } else {
                let ms = if sc.long {
                    cfg.pushable_ms
                } else {
                    cfg.duration_ms
                };
                match RunCtx::new(
                    ms.max(sc.min_ms),
                    cfg.wait_bound_us.into(),
                    seed,
                    cfg.threads_per_cpu,
                ) {
                    Ok(ctx) => {
                        let res = sc.run(&ctx);
                        let left = ctx.take_stuck();
                        for s in left.iter() {
                            t.write_fmt(fmt!(
                                "# stuck: {} pid {} cpu {}\n",
                                &*s.name,
                                s.pid,
                                s.cpu
                            ))
                            .map_err(|_| ENOMEM)?;
                        }
                        // A signal also fails the creation of threads, with `EINTR`.
                        interrupted = ctx.interrupted()
                            || (matches!(res, Err(e) if e == EINTR)
                                && kernel::current!().signal_pending());
                        if !left.is_empty() {
                            stuck = true;
                            Outcome::failed("stuck", None)
                        } else if interrupted {
                            Outcome::failed("interrupted", None)
                        } else {
                            res.unwrap_or_else(|e| Outcome::failed("setup failed", Some(e)))
                        }
                    }
                    Err(e) => Outcome::failed("setup failed", Some(e)),
                }
            };
            report(&mut t, num, sc.name, &out).map_err(|_| ENOMEM)?;
        }
        *self.results.lock() = t.0;
        if stuck {
            Err(ETIMEDOUT)
        } else if interrupted {
            Err(EINTR)
        } else {
            Ok(())
        }
    }
}

/// Appends one KTAP test (diagnostics, then the result line) and logs a summary.
fn report(t: &mut Text, num: usize, name: &str, out: &Outcome) -> core::fmt::Result {
    for (key, value) in out.diags.iter() {
        writeln!(t, "# {key}: {value}")?;
    }
    if !out.worst_role.is_empty() {
        writeln!(
            t,
            "# worst_wait_by: {} cpu{}",
            out.worst_role, out.worst_cpu
        )?;
    }
    let (result, directive) = match out.verdict {
        Verdict::Pass => ("ok", ""),
        Verdict::Fail => ("not ok", ""),
        Verdict::Xfail => ("ok", "XFAIL "),
        Verdict::Skip => ("ok", "SKIP "),
    };
    write!(t, "{result} {num} {name}")?;
    if !out.reason.is_empty() {
        write!(t, " # {directive}{}", out.reason)?;
        if let Some(e) = out.error {
            write!(t, " ({e:?})")?;
        }
    }
    writeln!(t)?;
    pr_info!(
        "{name}: {result}: iterations {}, wait p50/p99/max {}/{}/{} us, noise {} us, \
         violations {}; {}\n",
        out.figure("iterations"),
        out.figure("wait_p50_us"),
        out.figure("wait_p99_us"),
        out.figure("wait_max_us"),
        out.figure("noise_max_us"),
        out.figure("violations"),
        out.reason
    );
    Ok(())
}

/// A non-zero seed from the clocks, for runs without a `seed` parameter.
fn fresh_seed() -> u64 {
    let t = (RealTime::ktime_get() as u64) ^ (Monotonic::ktime_get() as u64).rotate_left(32);
    harness::Prng::new(t, 0).next_u64().max(1)
}

fn write_run(ctl: &Control, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 128];
    let n = reader.len();
    if n == 0 || n > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    let input = core::str::from_utf8(&buf[..n]).map_err(|_| EINVAL)?;
    let set = ctl.parse(input.trim())?;
    ctl.run_exclusive(set)
}

fn show_results(ctl: &Control, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    let text = ctl.results.lock();
    f.write_str(core::str::from_utf8(&text).map_err(|_| core::fmt::Error)?)
}

fn show_status(ctl: &Control, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    match ctl.current.load(Acquire) as usize {
        0 if ctl.running.load(Acquire) => writeln!(f, "running"),
        0 => writeln!(f, "idle"),
        i => writeln!(f, "running {}", SCENARIOS[i - 1].name),
    }
}

#[pin_data(PinnedDrop)]
struct ProxyStress {
    #[pin]
    debugfs: Scope<Control>,
}

impl kernel::InPlaceModule for ProxyStress {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            let cfg = Config::from_params()?;
            PLANT_STUCK.store(cfg.plant_stuck, Relaxed);
            Ok(try_pin_init!(Self {
                debugfs <- Scope::dir(Control::new(cfg), c"proxy_stress", |ctl, dir| {
                    dir.write_only_callback_file(c"run", ctl, &write_run);
                    dir.read_callback_file(c"results", ctl, &show_results);
                    dir.read_callback_file(c"status", ctl, &show_status);
                }),
            })
            .pin_chain(move |this| {
                if cfg.autorun {
                    if let Err(e) = this.debugfs.run_exclusive(cfg.scenarios) {
                        pr_err!("autorun failed: {e:?}\n");
                    }
                }
                Ok(())
            }))
        })
    }
}

#[pinned_drop]
impl PinnedDrop for ProxyStress {
    fn drop(self: Pin<&mut Self>) {
        // Stop a run in progress: its threads watch `ABORT`, and its controller waits for them.
        // Dropping the debugfs scope afterwards removes the files, which waits for the `run`
        // writer to return (forever if a thread is stuck: see `Roster::leave_stuck`).
        ABORT.store(true, Release);
    }
}
