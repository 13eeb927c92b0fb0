// SPDX-License-Identifier: GPL-2.0

//! The stress scenarios. Each one creates all its threads, runs them for the configured time,
//! and turns what they saw into an [`Outcome`].

use super::harness::{
    all_cpus,
    cpumask,
    deadline,
    fifo,
    ncpus,
    normal,
    now_ns,
    set_own_affinity,
    sleep_us,
    Gate,
    Place,
    Prng,
    Roster,
    RunCtx,
    Spec,
    Stats,
    Tally,
    TestLock,
    Worker,
    VIOLATIONS_LOGGED, //
};
use kernel::{
    cpu::CpuId,
    kthread::KThread,
    prelude::*,
    sched::{
        self,
        Policy, //
    },
    sync::{
        aref::ARef,
        atomic::{
            Acquire,
            Atomic,
            Full,
            Relaxed,
            Release, //
        },
        barrier::smp_rmb,
        Arc,
    },
    task::Task,
    time::{
        delay::udelay,
        Delta, //
    }, //
};

/// How a scenario ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Fail,
    /// The expected failure happened (an inversion seen with proxy execution off).
    Xfail,
    Skip,
}

/// The result of one scenario run, printed as one KTAP test.
pub(crate) struct Outcome {
    pub(crate) verdict: Verdict,
    /// Why it failed, was skipped or expectedly failed.
    pub(crate) reason: &'static str,
    /// The error code behind a skip or a setup failure.
    pub(crate) error: Option<Error>,
    /// `# key: value` figures.
    pub(crate) diags: KVec<(&'static str, u64)>,
    /// Role and CPU of the thread that saw the longest wait.
    pub(crate) worst_role: &'static str,
    pub(crate) worst_cpu: u32,
}

impl Outcome {
    /// An outcome without figures.
    fn bare(verdict: Verdict, reason: &'static str, error: Option<Error>) -> Self {
        Self {
            verdict,
            reason,
            error,
            diags: KVec::new(),
            worst_role: "",
            worst_cpu: 0,
        }
    }

    pub(crate) fn skip(reason: &'static str, error: Option<Error>) -> Self {
        Self::bare(Verdict::Skip, reason, error)
    }

    pub(crate) fn failed(reason: &'static str, error: Option<Error>) -> Self {
        Self::bare(Verdict::Fail, reason, error)
    }

    fn diag(&mut self, key: &'static str, value: u64) -> Result {
        self.diags.push((key, value), GFP_KERNEL)?;
        Ok(())
    }

    /// Judges the common invariants of a finished run: mutual exclusion, progress, allowed
    /// CPUs, release order, latency bound, and errors inside threads. Also returns the merged
    /// statistics, for the scenario's own figures.
    fn judge(run: Tally) -> Result<(Self, Stats)> {
        let total = &run.total;
        let checks: [(u64, &'static str); 6] = [
            (run.exclusion, "mutual exclusion violated"),
            (total.cpu_violations, "ran on a CPU outside its affinity"),
            (total.order_violations, "nested locks released out of order"),
            (run.stalled, "a thread made no progress"),
            (total.over_bound, OVER_BOUND),
            (total.errors, "errors inside threads"),
        ];
        let violations = checks.iter().map(|c| c.0).sum();
        let reason = checks.iter().find(|c| c.0 > 0).map_or("", |c| c.1);
        let verdict = if violations == 0 {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        let mut out = Self {
            worst_role: total.worst_role,
            worst_cpu: total.worst_cpu,
            ..Self::bare(verdict, reason, None)
        };
        out.diag("threads", run.threads)?;
        out.diag("iterations", total.iters)?;
        out.diag("acquisitions", total.acquisitions)?;
        out.diag("handoffs", total.handoffs)?;
        out.diag("wait_p50_us", total.waits.percentile(50))?;
        out.diag("wait_p99_us", total.waits.percentile(99))?;
        out.diag("wait_max_us", total.waits.max())?;
        out.diag("wait_samples", total.waits.count())?;
        out.diag("noise_max_us", total.noise_max_us)?;
        // Scenarios without a bound (churn) have no effective bound to print.
        if total.bound_eff_us != u64::MAX {
            out.diag("wait_bound_eff_us", total.bound_eff_us)?;
        }
        out.diag("over_bound", total.over_bound)?;
        out.diag("mutex_violations", run.exclusion)?;
        out.diag("cpu_violations", total.cpu_violations)?;
        out.diag("order_violations", total.order_violations)?;
        out.diag("stalled_threads", run.stalled)?;
        out.diag("errors", total.errors)?;
        out.diag("first_errno", total.first_errno)?;
        out.diag("violations", violations)?;
        Ok((out, run.total))
    }

    /// For scenarios whose bound holds only thanks to proxy execution: with proxy execution
    /// off, waiters past their bound are the expected inversion (XFAIL), and none is a failure
    /// of the detector. Threads starved by the inversion are part of it; broken exclusion,
    /// affinity or lock order, or errors, still fail.
    fn expect_inversion_without_proxy(&mut self, inversions: u64, total: &Stats) {
        if sched::proxy_exec_enabled() {
            return;
        }
        let other = self.figure("mutex_violations")
            + total.cpu_violations
            + total.order_violations
            + total.errors;
        if inversions > 0 && other == 0 {
            self.verdict = Verdict::Xfail;
            self.reason = "priority inversion detected with proxy execution off";
        } else if inversions == 0 {
            self.verdict = Verdict::Fail;
            self.reason = "proxy execution is off but no inversion was detected";
        }
    }

    /// The value of diagnostic `key` (0 if absent).
    pub(crate) fn figure(&self, key: &str) -> u64 {
        self.diags
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(0, |(_, v)| *v)
    }
}

/// The reason of a run whose only failed check is a wait over its bound.
const OVER_BOUND: &str = "a waiter blocked past its bound (plus the noise of the CPUs it spans)";

/// A scenario of the module.
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    body: fn(&Arc<RunCtx>) -> Result<Outcome>,
    /// Part of the default set (`scenarios=0`, or "all" written to `run`).
    pub(crate) default: bool,
    /// Runs for `pushable_ms` instead of `duration_ms`.
    pub(crate) long: bool,
    /// Runs for at least this long, in milliseconds.
    pub(crate) min_ms: u32,
    /// Needs at least two CPUs; skipped on one.
    two_cpus: bool,
}

impl Scenario {
    /// A scenario of the default set, for any number of CPUs, that runs for `duration_ms`.
    const fn new(name: &'static str, body: fn(&Arc<RunCtx>) -> Result<Outcome>) -> Self {
        Self {
            name,
            body,
            default: true,
            long: false,
            min_ms: 0,
            two_cpus: false,
        }
    }

    /// Skipped on a single CPU.
    const fn two_cpus(self) -> Self {
        Self {
            two_cpus: true,
            ..self
        }
    }

    /// Runs only when named, not as part of the default set.
    const fn on_demand(self) -> Self {
        Self {
            default: false,
            ..self
        }
    }

    /// Runs for `pushable_ms`.
    const fn long(self) -> Self {
        Self { long: true, ..self }
    }

    /// Runs for at least `ms`, whatever the configured duration.
    const fn min_ms(self, ms: u32) -> Self {
        Self { min_ms: ms, ..self }
    }

    /// Runs the scenario (or skips it when the machine is too small for it).
    pub(crate) fn run(&self, ctx: &Arc<RunCtx>) -> Result<Outcome> {
        if self.two_cpus && ncpus() < 2 {
            return Ok(Outcome::skip("needs at least 2 CPUs", None));
        }
        (self.body)(ctx)
    }
}

/// Every scenario, in run order; bit `i` of the `scenarios` parameter selects entry `i`.
pub(crate) const SCENARIOS: [Scenario; 11] = [
    Scenario::new("rt-inversion", rt_inversion),
    Scenario::new("dl-donor", dl_donor),
    Scenario::new("chain", chain),
    Scenario::new("cross-cpu", cross_cpu).two_cpus(),
    Scenario::new("owner-moves", owner_moves),
    Scenario::new("churn", churn),
    Scenario::new("reblock", reblock).two_cpus(),
    Scenario::new("pushable", pushable)
        .two_cpus()
        .on_demand()
        .long(),
    Scenario::new("stranded", stranded).min_ms(STRANDED_MS),
    Scenario::new("dl-timers", dl_timers).two_cpus(),
    Scenario::new("rt-boost", rt_boost).two_cpus(),
];

/// Bit set of the default scenarios.
pub(crate) fn default_set() -> u32 {
    SCENARIOS
        .iter()
        .enumerate()
        .filter(|(_, s)| s.default)
        .fold(0, |set, (i, _)| set | (1 << i))
}

const PRIO_LOW: u32 = 10;
const PRIO_MID: u32 = 20;
const PRIO_HIGH: u32 = 30;
/// rt-boost's booster, above every other thread of the scenario.
const PRIO_BOOST: u32 = 40;

/// Busy work of an owner per critical section in rt-inversion and dl-donor.
const OWNER_WORK_US: u64 = 500;

/// Gate value of the rt-inversion rounds: `round << 2 | phase`.
const PHASE_DONE: u64 = 0;
const PHASE_HELD: u64 = 1;
const PHASE_GO: u64 = 2;

fn round(v: u64) -> u64 {
    v >> 2
}

fn phase(v: u64) -> u64 {
    v & 3
}

#[pin_data]
struct InvGroup {
    lock: Arc<TestLock>,
    #[pin]
    gate: Gate,
    /// When the owner took the lock in the current round (ns).
    held_at: Atomic<i64>,
    /// The waiter is blocked on the lock (or about to block).
    waiter_blocked: Atomic<bool>,
}

impl InvGroup {
    /// Waits briefly for a round after `last` in a phase that satisfies `pred`; returns the
    /// round.
    fn next_round(&self, last: u64, pred: impl Fn(u64) -> bool) -> Option<u64> {
        self.gate
            .wait_for(10, |v| round(v) > last && pred(phase(v)))
            .map(round)
    }
}

/// rt-inversion (in the manner of ksched_football), in rounds, on every CPU:
///
/// 1. the low-priority FIFO owner takes the lock and starts its bounded work;
/// 2. a medium-priority FIFO spinner wakes, preempts the owner and spins;
/// 3. the high-priority FIFO waiter wakes and blocks on the lock.
///
/// With proxy execution the blocked waiter stays the CPU's top task and runs the owner, which
/// finishes its work: the spinner never runs while the waiter is blocked, and the waiter gets
/// the lock within the bound. Without it the spinner runs while the waiter is blocked (the
/// inversion, seen by the spinner itself, so independent of timing noise) and the owner only
/// runs again when the spinners give up after twice the bound.
fn rt_inversion(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    let spin_timeout_ns = (ctx.bound_us * 2 * 1000) as i64;
    let mut roster = Roster::new(ctx);
    for cpu in 0..ncpus() {
        let lock = roster.lock(0)?;
        let g = Arc::pin_init(
            pin_init!(InvGroup {
                lock,
                gate <- Gate::new(PHASE_DONE),
                held_at: Atomic::new(0),
                waiter_blocked: Atomic::new(false),
            }),
            GFP_KERNEL,
        )?;

        let gr = g.clone();
        roster.spawn_loop(
            fmt!("ps_inv_own/{cpu}"),
            Spec::new(Place::Bound(cpu), fifo(PRIO_LOW)),
            move |w| {
                if gr.gate.wait_for(10, |v| phase(v) == PHASE_DONE).is_none() {
                    return;
                }
                let r = round(gr.gate.peek()) + 1;
                w.hold(&gr.lock, OWNER_WORK_US, || {
                    gr.held_at.store(now_ns(), Release);
                    gr.gate.set(r << 2 | PHASE_HELD);
                });
                w.st.iters += 1;
            },
        )?;

        for i in 0..ctx.tpc {
            let gr = g.clone();
            let mut last = 0;
            roster.spawn_loop(
                fmt!("ps_inv_spin/{cpu}.{i}"),
                Spec::new(Place::Bound(cpu), fifo(PRIO_MID)).min_iters(0),
                move |w| {
                    let Some(r) = gr.next_round(last, |p| p != PHASE_DONE) else {
                        return;
                    };
                    last = r;
                    // The first spinner to run lets the waiter go.
                    gr.gate
                        .transition(last << 2 | PHASE_HELD, last << 2 | PHASE_GO);
                    let give_up = gr.held_at.load(Acquire) + spin_timeout_ns;
                    let mut timed_out = false;
                    let mut inverted = false;
                    w.spin_until(|| {
                        // Same CPU: if we run while the waiter is blocked, nothing runs the
                        // owner on the waiter's behalf.
                        inverted |= gr.waiter_blocked.load(Relaxed);
                        let v = gr.gate.peek();
                        timed_out = now_ns() > give_up;
                        round(v) != last || phase(v) == PHASE_DONE || timed_out
                    });
                    if timed_out {
                        w.st.spin_timeouts += 1;
                    }
                    if inverted {
                        w.st.inversions += 1;
                    }
                    w.check_cpu();
                    w.st.iters += 1;
                },
            )?;
        }

        let gr = g.clone();
        let mut last = 0;
        roster.spawn_loop(
            fmt!("ps_inv_wait/{cpu}"),
            Spec::new(Place::Bound(cpu), fifo(PRIO_HIGH)).measured("inv_wait"),
            move |w| {
                let Some(r) = gr.next_round(last, |p| p == PHASE_GO) else {
                    return;
                };
                last = r;
                w.donate_flagged(&gr.lock, &gr.waiter_blocked);
                w.st.iters += 1;
                gr.gate.set(last << 2 | PHASE_DONE);
            },
        )?;
    }
    let (mut out, total) = Outcome::judge(roster.run()?)?;
    out.diag("inversions", total.inversions)?;
    out.diag("spin_timeouts", total.spin_timeouts)?;
    if total.inversions > 0 {
        out.verdict = Verdict::Fail;
        out.reason = "priority inversion: a spinner ran while the waiter was blocked on the owner";
    }
    out.expect_inversion_without_proxy(total.inversions, &total);
    Ok(out)
}

/// Pause of the hogs after each deadline acquisition, so the owner can take the lock again.
const DL_GAP_US: u64 = 2000;

/// Periods within which a deadline waiter must get the lock. Running the owner spends the
/// waiter's runtime, so the waiter is throttled to its next period whenever the owner's work
/// outlasts that runtime; under emulation (arm64 under TCG took up to 4 periods with proxy
/// execution, against about 10 without) that happens more than once.
const DL_BOUND_PERIODS: u64 = 4;

/// dl-donor: on every CPU a SCHED_NORMAL owner loops over a lock with bounded work while FIFO
/// hogs spin on its CPU; a SCHED_DEADLINE waiter (unbound, as deadline tasks must span their
/// root domain) takes the lock once per period. After each of the waiter's acquisitions the
/// hogs pause briefly, so the owner takes the lock again and is preempted holding it. With
/// proxy execution the waiter's deadline runs the owner and it gets the lock within
/// [`DL_BOUND_PERIODS`] of its periods. Without, the owner only runs again in the fair
/// server's slices.
fn dl_donor(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    let period_us = ctx.bound_us.clamp(10_000, 1_000_000);
    let runtime_us = period_us / 10;
    let mut roster = Roster::new(ctx);
    for cpu in 0..ncpus() {
        let lock = roster.lock(0)?;
        // End of the hogs' current pause (ns).
        let gap_until = Arc::new(Atomic::<i64>::new(0), GFP_KERNEL)?;

        let l = lock.clone();
        roster.spawn_loop(
            fmt!("ps_dl_own/{cpu}"),
            Spec::new(Place::Bound(cpu), normal(0)),
            move |w| {
                w.hold(&l, OWNER_WORK_US, || {});
                w.st.iters += 1;
            },
        )?;

        for i in 0..ctx.tpc {
            let spec = Spec::new(Place::Bound(cpu), fifo(PRIO_LOW)).min_iters(0);
            let w = roster.worker(spec)?;
            let gap = gap_until.clone();
            roster.spawn(fmt!("ps_dl_hog/{cpu}.{i}"), spec, move || {
                sleep_us(DL_GAP_US);
                w.run(|w| {
                    let until = gap.load(Acquire);
                    let now = now_ns();
                    if now < until {
                        sleep_us(((until - now) / 1000) as u64 + 1);
                        return;
                    }
                    // Spin until the waiter got the lock and a new pause starts.
                    w.spin_until(|| gap.load(Acquire) > now_ns());
                    w.st.iters += 1;
                })
            })?;
        }

        let (l, gap) = (lock.clone(), gap_until.clone());
        let spawned = roster.spawn_loop(
            fmt!("ps_dl_wait/{cpu}"),
            Spec::new(
                Place::Within(all_cpus()),
                deadline(runtime_us, period_us, period_us),
            )
            .measured("dl_wait")
            .bound_us(DL_BOUND_PERIODS * period_us),
            move |w| {
                let start = now_ns();
                w.donate(&l);
                gap.store(now_ns() + DL_GAP_US as i64 * 1000, Release);
                w.st.iters += 1;
                let used_us = ((now_ns() - start) / 1000) as u64;
                sleep_us(period_us.saturating_sub(used_us));
            },
        );
        match spawned {
            Ok(_) => {}
            Err(e) if e == EBUSY => {
                return Ok(Outcome::skip(
                    "SCHED_DEADLINE admission control refused the waiter",
                    Some(e),
                ))
            }
            Err(e) => return Err(e),
        }
    }
    let (mut out, total) = Outcome::judge(roster.run()?)?;
    if total.over_bound > 0 && out.verdict == Verdict::Fail {
        out.reason = "deadline waiter did not get the lock within its bound of periods";
    }
    out.diag("dl_period_us", period_us)?;
    out.diag("dl_runtime_us", runtime_us)?;
    out.diag("dl_bound_periods", DL_BOUND_PERIODS)?;
    out.diag("missed_periods", total.over_bound)?;
    out.expect_inversion_without_proxy(total.over_bound, &total);
    Ok(out)
}

/// Locks in a chain: four nested waiters plus the donor.
const CHAIN_LOCKS: usize = 5;

/// chain: worker `k` (on CPU `k % n`, FIFO 10+k) takes lock `k`, then lock `k+1` (lock order
/// strictly increasing, so never a cycle); high-priority donors take lock 0. The blocked-on
/// chain donor -> 0 -> 1 -> ... -> 4 spans CPUs and is at least four waiters deep.
fn chain(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    let n = ncpus();
    let mut roster = Roster::new(ctx);
    let mut locks = KVec::new();
    for level in 0..CHAIN_LOCKS {
        locks.push(roster.lock(level)?, GFP_KERNEL)?;
    }
    let locks = Arc::new(locks, GFP_KERNEL)?;
    for k in 0..CHAIN_LOCKS {
        let cpu = k as u32 % n;
        let ls = locks.clone();
        roster.spawn_loop(
            fmt!("ps_chain/{k}"),
            Spec::new(Place::Bound(cpu), fifo(PRIO_LOW + k as u32)),
            move |w| {
                let outer = ls[k].acquire(w);
                w.work_between(20, 100, &[&outer]);
                if k + 1 < CHAIN_LOCKS {
                    let inner = ls[k + 1].acquire(w);
                    w.work_between(20, 100, &[&outer, &inner]);
                    drop(inner);
                }
                // Release in order: nothing deeper may still be ours.
                if ls[k + 1..].iter().any(|l| l.holder() == w.id) {
                    w.st.order_violations += 1;
                }
                drop(outer);
                w.check_cpu();
                w.st.iters += 1;
                w.sleep_between(0, 199);
            },
        )?;
    }
    // The donor's wait spans the stalls of every CPU an owner of the chain sits on.
    let chain_cpus = n.min(CHAIN_LOCKS as u32 + 1);
    for d in 0..ctx.tpc {
        let cpu = (CHAIN_LOCKS as u32 + d) % n;
        let ls = locks.clone();
        roster.spawn_loop(
            fmt!("ps_chain_d/{d}"),
            Spec::new(Place::Bound(cpu), fifo(PRIO_HIGH + 10))
                .measured("chain_donor")
                .stall_cpus(chain_cpus),
            move |w| {
                w.sleep_between(50, 500);
                w.donate(&ls[0]);
                w.st.iters += 1;
            },
        )?;
    }
    let (mut out, _) = Outcome::judge(roster.run()?)?;
    out.diag("chain_locks", CHAIN_LOCKS as u64)?;
    Ok(out)
}

/// cross-cpu: per CPU `i` an owner allowed only on `{i}`, a donor allowed only on `{i+1}`
/// (disjoint from its owner) and one allowed on `{i, i+1}` (partial overlap), all on two
/// shared locks. Proxy execution migrates donors to the owner's CPU; after every acquisition
/// each thread must run on a CPU its mask allows.
fn cross_cpu(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    let n = ncpus();
    let mut roster = Roster::new(ctx);
    let locks = Arc::new([roster.lock(0)?, roster.lock(0)?], GFP_KERNEL)?;
    for cpu in 0..n {
        let next = (cpu + 1) % n;
        let roles: [(&'static str, u64, u32, bool, usize); 3] = [
            ("own", 1 << cpu, PRIO_LOW, false, cpu as usize % 2),
            ("dis", 1 << next, PRIO_HIGH, true, cpu as usize % 2),
            (
                "par",
                1 << cpu | 1 << next,
                PRIO_MID,
                true,
                (cpu as usize + 1) % 2,
            ),
        ];
        for (role, set, prio, measured, lock) in roles {
            let (copies, spec, pause_us, hold_us) = if measured {
                let spec = Spec::new(Place::Within(set), fifo(prio)).measured(role);
                (ctx.tpc, spec, (100, 600), (5, 30))
            } else {
                let spec = Spec::new(Place::Within(set), fifo(prio));
                (1, spec, (0, 299), (50, 300))
            };
            for c in 0..copies {
                let ls = locks.clone();
                roster.spawn_loop(fmt!("ps_xcpu_{role}/{cpu}.{c}"), spec, move |w| {
                    w.sleep_between(pause_us.0, pause_us.1);
                    let held = ls[lock].acquire(w);
                    w.check_cpu();
                    w.work_between(hold_us.0, hold_us.1, &[&held]);
                    w.check_cpu();
                    drop(held);
                    w.st.iters += 1;
                })?;
            }
        }
    }
    let (out, _) = Outcome::judge(roster.run()?)?;
    Ok(out)
}

/// The owner's allowed CPUs in owner-moves, published with a sequence count: odd while an
/// affinity change is in flight, so a reader can tell a stable mask from a changing one.
struct Affinity {
    seq: Atomic<u64>,
    set: Atomic<u64>,
}

impl Affinity {
    /// Changes `task`'s affinity to `set`, unless another change is in flight.
    fn change(&self, task: &Task, set: u64) -> Result<bool> {
        let seq = self.seq.load(Acquire);
        if seq & 1 != 0 || self.seq.cmpxchg(seq, seq + 1, Full).is_err() {
            return Ok(false);
        }
        let res = cpumask(set).and_then(|mask| task.set_affinity(&mask));
        if res.is_ok() {
            self.set.store(set, Release);
        }
        self.seq.store(seq + 2, Release);
        res.map(|()| true)
    }

    /// Moves `task` to a random set of CPUs on behalf of `w`, counting the change or the error.
    fn change_at_random(&self, w: &mut Worker, task: &Task) {
        let set = random_set(w);
        match self.change(task, set) {
            Ok(true) => w.st.affinity_changes += 1,
            Ok(false) => {}
            Err(e) => w.st.error(e),
        }
    }

    /// Whether the current CPU is allowed, or `None` if the mask changed meanwhile. The CPU is
    /// read between the two loads of the sequence count: read before them, a change that
    /// completes in between (and moves the thread) would judge the old CPU by the new mask.
    fn allows_current(&self) -> Option<bool> {
        let before = self.seq.load(Acquire);
        let set = self.set.load(Acquire);
        let cpu = CpuId::current().as_u32();
        smp_rmb();
        let after = self.seq.load(Relaxed);
        (before & 1 == 0 && before == after).then_some(set & (1 << cpu) != 0)
    }

    /// Counts a CPU violation of `w` (the owner) if it runs on a CPU its stable mask does not
    /// allow.
    fn check_cpu(&self, w: &mut Worker) {
        if self.allows_current() == Some(false) {
            w.st.cpu_violations += 1;
            if w.st.cpu_violations <= VIOLATIONS_LOGGED {
                pr_warn!(
                    "owner: on CPU {} outside its CPUs {:#x}\n",
                    CpuId::current().as_u32(),
                    self.set.load(Relaxed)
                );
            }
        }
    }
}

fn random_set(w: &mut Worker) -> u64 {
    let n = u64::from(ncpus()).max(1);
    let first = w.rng.below(n);
    match w.rng.below(3) {
        0 => 1 << first,
        1 => 1 << first | 1 << ((first + 1) % n),
        _ => all_cpus(),
    }
}

/// owner-moves: the owner of a lock sleeps, yields and changes its own affinity while it
/// holds the lock, and a mover thread changes its affinity from outside while it holds it.
/// Donors bound to every CPU block on the lock meanwhile.
fn owner_moves(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    let mut roster = Roster::new(ctx);
    let lock = roster.lock(0)?;
    let aff = Arc::new(
        Affinity {
            seq: Atomic::new(0),
            set: Atomic::new(all_cpus()),
        },
        GFP_KERNEL,
    )?;

    let spec = Spec::new(Place::Within(all_cpus()), fifo(PRIO_LOW));
    let w = roster.worker(spec)?;
    let owner_id = w.id;
    let (l, a) = (lock.clone(), aff.clone());
    let owner = roster.spawn(fmt!("ps_moves_own"), spec, move || {
        w.run(|w| {
            let held = l.acquire(w);
            a.check_cpu(w);
            match w.rng.below(4) {
                0 => {
                    w.sleep_between(100, 800);
                    w.st.sleeps_holding += 1;
                }
                1 => a.change_at_random(w, kernel::current!()),
                2 => {
                    for _ in 0..3 {
                        sched::yield_now();
                        udelay(Delta::from_micros(10));
                    }
                    w.st.yields_holding += 1;
                }
                _ => w.work_between(50, 300, &[&held]),
            }
            held.check();
            a.check_cpu(w);
            drop(held);
            w.st.iters += 1;
            w.sleep_between(20, 200);
        })
    })?;

    let (l, a) = (lock.clone(), aff.clone());
    roster.spawn_loop(
        fmt!("ps_moves_mover"),
        Spec::new(Place::Within(all_cpus()), fifo(PRIO_HIGH + 20)).min_iters(1),
        move |w| {
            w.sleep_between(300, 1500);
            if l.holder() != owner_id {
                return;
            }
            a.change_at_random(w, &owner);
            w.st.iters += 1;
        },
    )?;

    for cpu in 0..ncpus() {
        for i in 0..ctx.tpc {
            let l = lock.clone();
            roster.spawn_loop(
                fmt!("ps_moves_d/{cpu}.{i}"),
                Spec::new(Place::Bound(cpu), fifo(PRIO_MID + (cpu + i) % 10))
                    .measured("moves_donor"),
                move |w| {
                    w.sleep_between(200, 800);
                    w.donate(&l);
                    w.st.iters += 1;
                },
            )?;
        }
    }
    let (mut out, total) = Outcome::judge(roster.run()?)?;
    out.diag("affinity_changes", total.affinity_changes)?;
    out.diag("sleeps_holding", total.sleeps_holding)?;
    out.diag("yields_holding", total.yields_holding)?;
    Ok(out)
}

const CHURN_LOCKS: usize = 3;
/// Churn workers the churner may stop while they wait; each has one spare that replaces it.
const CHURN_STOPPABLE: usize = 2;

struct ChurnShared {
    locks: [Arc<TestLock>; CHURN_LOCKS],
    /// Per worker slot: blocked (or about to block) on a lock.
    waiting: KVec<Atomic<bool>>,
}

/// One round of the churn worker in `slot`.
fn churn_step(w: &mut Worker, sh: &ChurnShared, slot: usize) {
    let waiting = &sh.waiting[slot];
    w.sleep_between(0, 299);
    let first = w.rng.below(CHURN_LOCKS as u64) as usize;
    let outer = sh.locks[first].acquire_flagged(w, waiting);
    w.work_between(10, 200, &[&outer]);
    if first + 1 < CHURN_LOCKS && w.rng.one_in(4) {
        let second = w.rng.range(first as u64 + 1, CHURN_LOCKS as u64 - 1) as usize;
        let inner = sh.locks[second].acquire_flagged(w, waiting);
        w.work_between(10, 100, &[&outer, &inner]);
        drop(inner);
    }
    drop(outer);
    w.st.iters += 1;
}

fn random_policy(w: &mut Worker) -> Policy {
    match w.rng.below(3) {
        0 => fifo(w.rng.range(1, 50) as u32),
        1 => normal(w.rng.range(0, 10) as i32 - 5),
        _ => {
            let period = w.rng.range(10_000, 50_000);
            deadline(1000, period, period)
        }
    }
}

/// The churner: changes policies of (mostly blocked) workers at random and, a few times per
/// run, stops a stoppable worker while it is blocked and starts its spare in its place.
struct Churner {
    w: Worker,
    sh: Arc<ChurnShared>,
    /// Task of every worker slot, for policy changes.
    tasks: KVec<ARef<Task>>,
    /// The stoppable workers (slots `0..CHURN_STOPPABLE`) and their unused spares.
    stoppable: KVec<Option<KThread<Stats>>>,
    spares: KVec<Option<KThread<Stats>>>,
    stop_every_ns: i64,
}

impl Churner {
    fn run(mut self) -> Stats {
        for t in self.stoppable.iter().flatten() {
            t.start();
        }
        let n = self.tasks.len() as u64;
        let mut next_stop = now_ns() + self.stop_every_ns;
        while self.w.running() {
            self.w.sleep_between(200, 1000);
            let slot = self.w.rng.below(n) as usize;
            // Mostly blocked waiters; sometimes anyone (owners included).
            if self.sh.waiting[slot].load(Acquire) || self.w.rng.one_in(4) {
                let policy = random_policy(&mut self.w);
                match self.tasks[slot].set_policy(policy) {
                    Ok(()) => self.w.st.policy_changes += 1,
                    Err(e) if e == EBUSY => self.w.st.dl_ebusy += 1,
                    Err(e) => self.w.st.error(e),
                }
            }
            self.w.st.iters += 1;
            if now_ns() >= next_stop && self.replace_one_waiting() {
                next_stop += self.stop_every_ns;
            }
        }
        for slot in 0..self.stoppable.len() {
            let Some(t) = self.stoppable[slot].take() else {
                continue;
            };
            // A spare started just before the end may be stopped before it first runs (its
            // closure is then dropped, and `stop` returns `EINTR`): that is the race of the
            // end of the run, not a fault of the thread.
            let spare = self.spares.get(slot).is_some_and(Option::is_none);
            match t.stop() {
                Ok(st) => self.w.st.merge(&st),
                Err(e) if spare && e == EINTR => self.w.st.spares_unstarted += 1,
                Err(e) => self.w.st.error(e),
            }
        }
        // Unused spares never ran; dropping them reaps them.
        self.spares.clear();
        self.w.finish()
    }

    /// Stops a stoppable worker that is blocked right now and starts its spare.
    fn replace_one_waiting(&mut self) -> bool {
        let Some(slot) = (0..CHURN_STOPPABLE).find(|&s| {
            self.spares[s].is_some()
                && self.stoppable[s].is_some()
                && self.sh.waiting[s].load(Acquire)
        }) else {
            return false;
        };
        if let Some(victim) = self.stoppable[slot].take() {
            self.w.st.reap(victim);
            self.w.st.stopped_waiting += 1;
        }
        if let Some(spare) = self.spares[slot].take() {
            self.tasks[slot] = ARef::from(spare.task());
            spare.start();
            self.stoppable[slot] = Some(spare);
        }
        true
    }
}

/// churn: workers loop over three locks (sometimes nested, in increasing order) with random
/// hold times, while a churner changes the policy of blocked waiters (and sometimes of other
/// workers) between FIFO, NORMAL and DEADLINE at random, and stops workers while they wait,
/// replacing them with spares created up front. Deadline admission refusals are counted, not
/// failures.
fn churn(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    let n = (ncpus() * ctx.tpc + 2).clamp(3, 60) as usize;
    let mut waiting = KVec::new();
    for _ in 0..n {
        waiting.push(Atomic::new(false), GFP_KERNEL)?;
    }
    let mut roster = Roster::new(ctx);
    let sh = Arc::new(
        ChurnShared {
            locks: [roster.lock(0)?, roster.lock(1)?, roster.lock(2)?],
            waiting,
        },
        GFP_KERNEL,
    )?;
    let mut tasks = KVec::new();
    let mut stoppable = KVec::new();
    let mut spares = KVec::new();
    let mut rng = Prng::new(ctx.seed, 0);
    let all = all_cpus();
    // Slots 0..n run from the start (the first CHURN_STOPPABLE owned by the churner), then one
    // spare for each stoppable slot.
    for i in 0..n + CHURN_STOPPABLE {
        let slot = if i < n { i } else { i - n };
        let policy = if rng.one_in(4) {
            normal(0)
        } else {
            fifo(rng.range(1, 40) as u32)
        };
        // Waits are reported but not bounded: the churner moves a waiter at random down to
        // SCHED_NORMAL or a low FIFO priority behind FIFO workers, where no bound holds.
        let spec = Spec::new(Place::Within(all), policy)
            .measured("churn")
            .bound_us(u64::MAX);
        let s = sh.clone();
        let step = move |w: &mut Worker| churn_step(w, &s, slot);
        if i < CHURN_STOPPABLE || i >= n {
            let t = roster.create_loop(fmt!("ps_churn/{i}"), spec, step)?;
            if i < n {
                tasks.push(ARef::from(t.task()), GFP_KERNEL)?;
                stoppable.push(Some(t), GFP_KERNEL)?;
            } else {
                spares.push(Some(t), GFP_KERNEL)?;
            }
        } else {
            let task = roster.spawn_loop(fmt!("ps_churn/{i}"), spec, step)?;
            tasks.push(task, GFP_KERNEL)?;
        }
    }

    let spec = Spec::new(Place::Within(all), fifo(60)).min_iters(1);
    let churner = Churner {
        w: roster.worker(spec)?,
        sh: sh.clone(),
        tasks,
        stoppable,
        spares,
        stop_every_ns: (i64::from(ctx.duration_ms()) * 1_000_000 / 3).max(1),
    };
    roster.spawn(fmt!("ps_churner"), spec, move || churner.run())?;
    let (mut out, total) = Outcome::judge(roster.run()?)?;
    out.diag("policy_changes", total.policy_changes)?;
    out.diag("dl_ebusy", total.dl_ebusy)?;
    out.diag("stopped_waiting", total.stopped_waiting)?;
    out.diag("spares_unstarted", total.spares_unstarted)?;
    Ok(out)
}

/// The `PRIO_MID` hog of reblock and rt-boost, which preempts their `PRIO_LOW` owner: it runs
/// only if pushed or lent time by a donor.
const MID_HOG_SPIN_US: (u64, u64) = (1000, 3000);
const MID_HOG_SLEEP_US: (u64, u64) = (200, 1000);

/// A FIFO `prio` hog bound to `cpu`: spins for `spin_us`, then sleeps for `sleep_us` (each a
/// random range).
fn spawn_hog(
    roster: &mut Roster,
    name: kernel::fmt::Arguments<'_>,
    cpu: u32,
    prio: u32,
    spin_us: (u64, u64),
    sleep_us: (u64, u64),
) -> Result {
    roster.spawn_loop(
        name,
        Spec::new(Place::Bound(cpu), fifo(prio)).min_iters(0),
        move |w| {
            let until = now_ns() + w.rng.range(spin_us.0, spin_us.1) as i64 * 1000;
            w.spin_until(|| now_ns() > until);
            w.sleep_between(sleep_us.0, sleep_us.1);
            w.st.iters += 1;
        },
    )?;
    Ok(())
}

/// reblock: per pair of CPUs `(a, b)`, owner A (FIFO 10, allowed on both, so pushable) holds M1
/// most of the time and, while holding it, takes M2, which B (FIFO 15 on `b`, so A cannot
/// starve it there) holds with long bursts and sleeps. A donor D (FIFO 30 on `a`) blocks on M1
/// and a spinner (FIFO 20 on `a`) keeps A from running on `a` except as D's proxy; so a
/// proxy-running A blocks on a second mutex (the latent pushable-list case).
fn reblock(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    let mut roster = Roster::new(ctx);
    for pair in 0..ncpus() / 2 {
        let (a, b) = (2 * pair, 2 * pair + 1);
        let m1 = roster.lock(0)?;
        let m2 = roster.lock(1)?;
        let donor_waiting = Arc::new(Atomic::<bool>::new(false), GFP_KERNEL)?;

        let l2 = m2.clone();
        roster.spawn_loop(
            fmt!("ps_reblk_b/{pair}"),
            Spec::new(Place::Bound(b), fifo(PRIO_LOW + 5)),
            move |w| {
                let held = l2.acquire(w);
                let us = w.rng.range(100, 500);
                if w.rng.one_in(4) {
                    sleep_us(us);
                } else {
                    w.work(us, &[&held]);
                }
                drop(held);
                w.check_cpu();
                w.st.iters += 1;
                w.sleep_between(50, 200);
            },
        )?;

        let (l1, l2, dw) = (m1.clone(), m2.clone(), donor_waiting.clone());
        roster.spawn_loop(
            fmt!("ps_reblk_a/{pair}"),
            Spec::new(Place::Widened(a, 1 << a | 1 << b), fifo(PRIO_LOW)),
            move |w| {
                let outer = l1.acquire(w);
                w.work(50, &[&outer]);
                let contended = l2.holder() != 0 && dw.load(Acquire);
                let inner = l2.acquire(w);
                if contended {
                    w.st.reblocks += 1;
                }
                w.work(50, &[&outer, &inner]);
                drop(inner);
                drop(outer);
                w.check_cpu();
                w.st.iters += 1;
            },
        )?;

        for i in 0..ctx.tpc {
            spawn_hog(
                &mut roster,
                fmt!("ps_reblk_s/{pair}.{i}"),
                a,
                PRIO_MID,
                MID_HOG_SPIN_US,
                MID_HOG_SLEEP_US,
            )?;
        }

        let (l1, dw) = (m1.clone(), donor_waiting.clone());
        roster.spawn_loop(
            fmt!("ps_reblk_d/{pair}"),
            Spec::new(Place::Bound(a), fifo(PRIO_HIGH)).measured("reblock_donor"),
            move |w| {
                w.sleep_between(200, 600);
                w.donate_flagged(&l1, &dw);
                w.st.iters += 1;
            },
        )?;
    }
    let (mut out, total) = Outcome::judge(roster.run()?)?;
    out.diag("reblocks", total.reblocks)?;
    Ok(out)
}

/// pushable (deterministic, for the scheduler instrumentation): FIFO 10 owner A holds a
/// mutex most of the time, working in short bursts and re-taking it; FIFO 20 donor B blocks on
/// it over and over. Both start bound to CPU0 and then widen their own mask to {0,1}, so they
/// are on CPU0 but pushable. On CPU1 a FIFO 30 dropper works briefly and sleeps ~1 ms, so CPU1
/// keeps dropping priority and pulling. Reports handoffs and how often A ran on CPU1.
fn pushable(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    const PAIR: u64 = 0b11;
    let mut roster = Roster::new(ctx);
    let lock = roster.lock(0)?;

    let l = lock.clone();
    let mut last = 0;
    roster.spawn_loop(
        fmt!("ps_push_a"),
        Spec::new(Place::Widened(0, PAIR), fifo(PRIO_LOW)),
        move |w| {
            let held = l.acquire(w);
            for _ in 0..4 {
                w.work(50, &[&held]);
                let cpu = w.check_cpu();
                if cpu == 1 {
                    w.st.on_cpu1 += 1;
                }
                if cpu != last {
                    w.st.migrations += 1;
                    last = cpu;
                }
            }
            drop(held);
            w.st.iters += 1;
        },
    )?;

    let l = lock.clone();
    roster.spawn_loop(
        fmt!("ps_push_b"),
        Spec::new(Place::Widened(0, PAIR), fifo(PRIO_MID)).measured("push_donor"),
        move |w| {
            w.donate(&l);
            w.st.iters += 1;
            sleep_us(200);
        },
    )?;

    roster.spawn_loop(
        fmt!("ps_push_drop"),
        Spec::new(Place::Bound(1), fifo(PRIO_HIGH)).min_iters(1),
        |w| {
            udelay(Delta::from_micros(100));
            sleep_us(1000);
            w.check_cpu();
            w.st.iters += 1;
        },
    )?;

    let (mut out, total) = Outcome::judge(roster.run()?)?;
    out.diag("owner_bursts_on_cpu1", total.on_cpu1)?;
    out.diag("owner_migrations", total.migrations)?;
    Ok(out)
}

/// stranded: the owner's CPU `x` and the CPU `y` that the owner and the donor may move to.
const STRANDED_X: u32 = 1;
const STRANDED_Y: u32 = 2;
const STRANDED_ROUNDS: u64 = 8;
/// Priority of the hog: above the owner and the donor.
const STRANDED_HOG_PRIO: u32 = 50;
/// How long the hog spins on `x` in each round.
const HOG_SPIN_MS: u64 = 300;
/// Bound on the donor's wait from the owner's unlock to its acquisition: far below the hog's
/// spin, far above the 0.1 ms seen with proxy execution off.
const STRANDED_BOUND_US: u64 = 30_000;
/// How long the owner keeps spinning once the donor said it blocks, so that it surely has.
const DONOR_SETTLE_US: u64 = 2000;
/// How long the owner waits for the donor to block, and for a move off `x` once it woke up
/// the hog, in milliseconds.
const DONOR_TIMEOUT_MS: i64 = 500;
const OWNER_MOVE_TIMEOUT_MS: i64 = 100;
/// How long the owner waits for the donor and the hog to be ready for the next round.
const ROUND_SETUP_TIMEOUT_MS: i64 = 2000;
/// Run time of stranded: enough for its rounds, each a little longer than the hog's spin.
const STRANDED_MS: u32 = STRANDED_ROUNDS as u32 * 500;

/// Priority of the blocker on `y`: above the owner, so that no push moves the owner to `y`
/// while the donor blocks.
const STRANDED_BLOCKER_PRIO: u32 = 30;

/// Gate values of the stranded rounds: `round << 2 | phase`, set by the owner. The owner holds
/// the lock and wakes the blocker, lets the donor block on the lock, then wakes the hog.
const STRANDED_BLOCK: u64 = 1;
const STRANDED_HELD: u64 = 2;
const STRANDED_HOG: u64 = 3;

/// A thread's round of stranded; false once the thread should stop.
type StrandRound = fn(&Strand, &mut Worker, u64) -> bool;

#[pin_data]
struct Strand {
    lock: Arc<TestLock>,
    #[pin]
    gate: Gate,
    /// The donor is about to block on the lock.
    donor_blocking: Atomic<bool>,
    /// The round the donor is ready for (back on `x` alone), and the last one the hog spun for.
    donor_ready: Atomic<u64>,
    hog_done: Atomic<u64>,
    /// The round the blocker spins on `y` for, and the last one the owner released it from.
    blocker_spinning: Atomic<u64>,
    blocker_release: Atomic<u64>,
    /// Set by the owner before it unlocks: whether it ran on another CPU than `x` then, with the
    /// donor blocked, and when it unlocked (ns). The lock orders them before the donor's reads.
    moved: Atomic<bool>,
    unlock_ns: Atomic<i64>,
}

impl Strand {
    /// Waits (asleep) until the owner reached `phase` of round `r`; false if the run ended.
    fn wait_phase(&self, w: &Worker, r: u64, phase: u64) -> bool {
        while w.running() {
            if self.gate.wait_for(100, |v| v >= r << 2 | phase).is_some() {
                return true;
            }
        }
        false
    }

    /// The owner's round `r`: goes back to `x`, allowed on `{x, y}` throughout, so that it is
    /// pushable as upstream's design has it; takes the lock; has the blocker keep `y` busy
    /// while the donor preempts it and blocks on the lock; then wakes the hog, and unlocks
    /// once it runs on another CPU than `x`.
    fn owner(&self, w: &mut Worker, r: u64) -> bool {
        let give_up = now_ns() + ROUND_SETUP_TIMEOUT_MS * 1_000_000;
        while self.donor_ready.load(Acquire) < r || self.hog_done.load(Acquire) < r - 1 {
            if !w.running() || now_ns() > give_up {
                return false;
            }
            sleep_us(200);
        }
        // Widened while it runs on `x`, it stays there.
        let pair = 1 << STRANDED_X | 1 << STRANDED_Y;
        if let Err(e) = set_own_affinity(1 << STRANDED_X).and_then(|()| set_own_affinity(pair)) {
            w.st.error(e);
            return false;
        }
        let held = self.lock.acquire(w);
        self.gate.set(r << 2 | STRANDED_BLOCK);
        let give_up = now_ns() + DONOR_TIMEOUT_MS * 1_000_000;
        w.spin_until(|| self.blocker_spinning.load(Acquire) >= r || now_ns() > give_up);
        self.gate.set(r << 2 | STRANDED_HELD);
        // The donor preempts us on `x`, and we run again once it is blocked: as its proxy
        // with proxy execution.
        let give_up = now_ns() + DONOR_TIMEOUT_MS * 1_000_000;
        w.spin_until(|| self.donor_blocking.load(Acquire) || now_ns() > give_up);
        let blocked = self.donor_blocking.load(Acquire);
        if !blocked {
            w.st.spin_timeouts += 1;
        }
        w.work(DONOR_SETTLE_US, &[&held]);
        // `y` goes idle; a pull from there may not take us, as we run (as proxy).
        self.blocker_release.store(r, Release);
        w.work(DONOR_SETTLE_US, &[&held]);
        // The hog preempts us on `x`, and the RT push moves us to the idle `y`.
        let give_up = now_ns() + OWNER_MOVE_TIMEOUT_MS * 1_000_000;
        self.gate.set(r << 2 | STRANDED_HOG);
        w.spin_until(|| CpuId::current().as_u32() != STRANDED_X || now_ns() > give_up);
        let moved = w.check_cpu() != STRANDED_X && blocked;
        self.moved.store(moved, Relaxed);
        self.unlock_ns.store(now_ns(), Relaxed);
        drop(held);
        w.st.rounds += 1;
        if moved {
            w.st.owner_moved += 1;
        }
        w.st.iters += 1;
        true
    }

    /// The donor's round `r`: goes back to `x` alone, and once the owner holds the lock, widens
    /// its own affinity to `{x, y}` and blocks on it; measures how long after the owner's unlock
    /// it gets the lock.
    fn donor(&self, w: &mut Worker, r: u64) -> bool {
        if let Err(e) = set_own_affinity(1 << STRANDED_X) {
            w.st.error(e);
            return false;
        }
        self.donor_ready.store(r, Release);
        if !self.wait_phase(w, r, STRANDED_HELD) {
            return false;
        }
        if let Err(e) = set_own_affinity(1 << STRANDED_X | 1 << STRANDED_Y) {
            w.st.error(e);
        }
        let held = self.lock.acquire_flagged(w, &self.donor_blocking);
        let got = now_ns();
        let (moved, unlocked) = (self.moved.load(Relaxed), self.unlock_ns.load(Relaxed));
        drop(held);
        w.check_cpu();
        if moved {
            let us = ((got - unlocked).max(0) as u64).div_ceil(1000);
            w.st.waits.record(us);
            if us > STRANDED_BOUND_US {
                w.st.stranded += 1;
            }
        }
        w.st.iters += 1;
        true
    }

    /// The blocker's round `r`: sleeps until the owner holds the lock, then spins on `y` until
    /// the owner releases it.
    fn blocker(&self, w: &mut Worker, r: u64) -> bool {
        if !self.wait_phase(w, r, STRANDED_BLOCK) {
            return false;
        }
        self.blocker_spinning.store(r, Release);
        let give_up = now_ns() + ROUND_SETUP_TIMEOUT_MS * 1_000_000;
        w.spin_until(|| self.blocker_release.load(Acquire) >= r || now_ns() > give_up);
        w.st.iters += 1;
        true
    }

    /// The hog's round `r`: sleeps until the owner wakes it, then spins on `x`.
    fn hog(&self, w: &mut Worker, r: u64) -> bool {
        if !self.wait_phase(w, r, STRANDED_HOG) {
            return false;
        }
        let until = now_ns() + HOG_SPIN_MS as i64 * 1_000_000;
        w.spin_until(|| now_ns() > until);
        w.check_cpu();
        self.hog_done.store(r, Release);
        w.st.iters += 1;
        true
    }
}

/// stranded (needs 3 CPUs), in rounds, with `x` = CPU1 and `y` = CPU2: owner A (FIFO 10),
/// allowed on `{x, y}`, takes the lock on `x`; a blocker (FIFO 30, on `y` only) spins on `y`,
/// so that no push moves A there while donor B (FIFO 20), started on `x` and widened to
/// `{x, y}`, preempts A and blocks on the lock, and A runs as its proxy on `x`. The blocker
/// stops, and A wakes a hog (FIFO 50, on `x` only), which spins on `x` for [`HOG_SPIN_MS`].
/// Its preemption of A lets the RT push move A to the idle `y`, where A unlocks. B, woken where
/// it blocked, must then move to `y` too: it fails the round if it
/// gets the lock more than [`STRANDED_BOUND_US`] after the unlock, stranded behind the hog
/// while `y` is idle. Rounds in which A did not move off `x` are not judged; if it never
/// did, the scenario is skipped.
fn stranded(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    if ncpus() < 3 {
        return Ok(Outcome::skip("needs 3 CPUs", None));
    }
    let pair = 1 << STRANDED_X | 1 << STRANDED_Y;
    let mut roster = Roster::new(ctx);
    let lock = roster.lock(0)?;
    let sh = Arc::pin_init(
        pin_init!(Strand {
            lock,
            gate <- Gate::new(0),
            donor_blocking: Atomic::new(false),
            donor_ready: Atomic::new(0),
            hog_done: Atomic::new(0),
            blocker_spinning: Atomic::new(0),
            blocker_release: Atomic::new(0),
            moved: Atomic::new(false),
            unlock_ns: Atomic::new(0),
        }),
        GFP_KERNEL,
    )?;
    let roles: [(&str, Spec, StrandRound); 4] = [
        (
            "own",
            Spec::new(Place::Widened(STRANDED_X, pair), fifo(PRIO_LOW)),
            Strand::owner,
        ),
        (
            "donor",
            Spec::new(Place::Widened(STRANDED_X, pair), fifo(PRIO_MID)),
            Strand::donor,
        ),
        (
            "hog",
            Spec::new(Place::Bound(STRANDED_X), fifo(STRANDED_HOG_PRIO)),
            Strand::hog,
        ),
        (
            "blk",
            Spec::new(Place::Bound(STRANDED_Y), fifo(STRANDED_BLOCKER_PRIO)),
            Strand::blocker,
        ),
    ];
    // The threads set their own affinity in each round, so they do not use `Worker::run`.
    for (role, spec, round) in roles {
        let mut w = roster.worker(spec)?;
        let sh = sh.clone();
        roster.spawn(fmt!("ps_strand_{role}"), spec, move || {
            for r in 1..=STRANDED_ROUNDS {
                if !w.running() || !round(&sh, &mut w, r) {
                    break;
                }
            }
            w.finish()
        })?;
    }
    let (mut out, total) = Outcome::judge(roster.run()?)?;
    out.diag("rounds", total.rounds)?;
    out.diag("rounds_owner_moved", total.owner_moved)?;
    out.diag("rounds_stranded", total.stranded)?;
    out.diag("stranded_bound_us", STRANDED_BOUND_US)?;
    out.diag("donor_timeouts", total.spin_timeouts)?;
    if total.stranded > 0 {
        out.verdict = Verdict::Fail;
        out.reason = "a donor woken behind the hog waited while a CPU it may use was idle";
    } else if total.owner_moved == 0 && out.verdict == Verdict::Pass {
        out.verdict = Verdict::Skip;
        out.reason = "the owner never moved off CPU1";
    }
    Ok(out)
}

/// dl-timers donors: runtime and period, in microseconds. The budget runs out within one or
/// two proxied critical sections, so the replenishment timer of a donor that was moved to its
/// owner's CPU keeps firing on the CPU that armed it.
const DLT_RUNTIME_US: u64 = 400;
const DLT_PERIOD_US: u64 = 4000;

/// dl-timers: on every CPU a SCHED_NORMAL owner bound to it holds its lock for 800-1600 us at
/// a time, and a FIFO hog bound beside it bursts 300-1000 us, so the owner is often preempted
/// holding the lock. 2 x n SCHED_DEADLINE donors (400 us every 4 ms, on every CPU) block on
/// random locks: proxy execution migrates each to its owner's CPU c, where its budget runs out
/// while it proxies, and start_dl_timer() arms its replenishment timer on c. When the owner
/// unlocks meanwhile, the donor returns to a CPU of its own, and dl_task_timer() later runs on
/// c, takes the donor's new rq and enqueues and pushes there, while other donors are being
/// proxy-migrated. Waits are not bounded (the donors' budgets, not the owners' work, decide
/// them); the checker of the pushable lists (pushable_check) and the common invariants judge
/// the run. Without proxy execution no donor is migrated, so the scenario is skipped.
fn dl_timers(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    if !sched::proxy_exec_enabled() {
        return Ok(Outcome::skip(
            "proxy execution is off: no donor is migrated",
            None,
        ));
    }
    let n = ncpus();
    let mut roster = Roster::new(ctx);
    let mut locks = KVec::new();
    for cpu in 0..n {
        let lock = roster.lock(0)?;
        locks.push(lock.clone(), GFP_KERNEL)?;
        roster.spawn_loop(
            fmt!("ps_dlt_own/{cpu}"),
            Spec::new(Place::Bound(cpu), normal(0)),
            move |w| {
                let us = w.rng.range(800, 1600);
                w.hold(&lock, us, || {});
                w.st.iters += 1;
                w.sleep_between(100, 400);
            },
        )?;
        let (spin, sleep) = ((300, 1000), (500, 1500));
        spawn_hog(
            &mut roster,
            fmt!("ps_dlt_hog/{cpu}"),
            cpu,
            PRIO_LOW,
            spin,
            sleep,
        )?;
    }
    let locks = Arc::new(locks, GFP_KERNEL)?;
    for i in 0..2 * n {
        let locks = locks.clone();
        let spawned = roster.spawn_loop(
            fmt!("ps_dlt_don/{i}"),
            Spec::new(
                Place::Within(all_cpus()),
                deadline(DLT_RUNTIME_US, DLT_PERIOD_US, DLT_PERIOD_US),
            ),
            move |w| {
                let lock = &locks[w.rng.below(u64::from(n)) as usize];
                w.donate(lock);
                w.st.iters += 1;
                w.sleep_between(200, 2000);
            },
        );
        match spawned {
            Ok(_) => {}
            Err(e) if e == EBUSY => {
                return Ok(Outcome::skip(
                    "SCHED_DEADLINE admission control refused a donor",
                    Some(e),
                ))
            }
            Err(e) => return Err(e),
        }
    }
    let (mut out, _) = Outcome::judge(roster.run()?)?;
    out.diag("dl_runtime_us", DLT_RUNTIME_US)?;
    out.diag("dl_period_us", DLT_PERIOD_US)?;
    Ok(out)
}

/// Bound on the rt-boost booster's wait for R: R's holders never block while they hold it, and
/// hold it 300 us at most; the booster is their top waiter, and its boost runs them at once
/// (only the noise probes are above it). So 300 us, plus the holder's way back onto a CPU.
const RTB_BOUND_US: u64 = 1000;

/// CPUs' stalls a booster's wait can span: the holder's and the booster's, and a second stall of
/// either. Nearly every wait past the bound is a stall under TCG, as long as the run's worst
/// one: the longest waits of 30 runs were 0.9 to 1.5 times the worst stall, and once, on
/// arm64, 2.1 times (101,053 us against 47,598 us).
const RTB_STALL_CPUS: u32 = 3;

/// rt-boost: per pair of CPUs `(x, y)`, owner A (FIFO 10, started on `x`, allowed on both)
/// holds mutex M in short bursts and, half the time, takes rt_mutex R inside it, then sleeps
/// briefly (so that it does not hog `y` when it is pushed there); a donor D (FIFO 30 on `x`)
/// blocks on M and a spinner (FIFO 20 on `x`) keeps A from running on `x` except as D's
/// proxy. R is also taken by a SCHED_NORMAL holder and by a booster (FIFO 40 on `y`), whose
/// wait on R boosts R's holder through rt_mutex_setprio(): A while it may be running as D's
/// proxy, or the NORMAL holder, which switches to the RT class on its rq (switched_to_rt(),
/// which pushes when that rq is RT-overloaded); the unlock deboosts them again (a pull).
fn rt_boost(ctx: &Arc<RunCtx>) -> Result<Outcome> {
    let mut roster = Roster::new(ctx);
    for pair in 0..ncpus() / 2 {
        let (x, y) = (2 * pair, 2 * pair + 1);
        let m = roster.lock(0)?;
        let r = roster.rt_lock(1)?;

        let (lm, lr) = (m.clone(), r.clone());
        roster.spawn_loop(
            fmt!("ps_rtb_own/{pair}"),
            Spec::new(Place::Widened(x, 1 << x | 1 << y), fifo(PRIO_LOW)),
            move |w| {
                let outer = lm.acquire(w);
                w.work(50, &[&outer]);
                if w.rng.one_in(2) {
                    let inner = lr.acquire(w);
                    w.work(50, &[&outer]);
                    inner.check();
                    drop(inner);
                }
                w.work(50, &[&outer]);
                drop(outer);
                w.check_cpu();
                w.st.iters += 1;
                w.sleep_between(50, 200);
            },
        )?;

        for i in 0..ctx.tpc {
            spawn_hog(
                &mut roster,
                fmt!("ps_rtb_spin/{pair}.{i}"),
                x,
                PRIO_MID,
                MID_HOG_SPIN_US,
                MID_HOG_SLEEP_US,
            )?;
        }

        let lm = m.clone();
        roster.spawn_loop(
            fmt!("ps_rtb_don/{pair}"),
            Spec::new(Place::Bound(x), fifo(PRIO_HIGH)),
            move |w| {
                w.sleep_between(200, 600);
                w.donate(&lm);
                w.st.iters += 1;
            },
        )?;

        let lr = r.clone();
        roster.spawn_loop(
            fmt!("ps_rtb_cfs/{pair}"),
            Spec::new(Place::Widened(y, 1 << x | 1 << y), normal(0)),
            move |w| {
                let held = lr.acquire(w);
                let us = w.rng.range(100, 300);
                let until = now_ns() + us as i64 * 1000;
                while now_ns() < until {
                    udelay(Delta::from_micros(10));
                    held.check();
                }
                drop(held);
                w.check_cpu();
                w.st.iters += 1;
                w.sleep_between(100, 500);
            },
        )?;

        let lr = r.clone();
        roster.spawn_loop(
            fmt!("ps_rtb_boost/{pair}"),
            Spec::new(Place::Bound(y), fifo(PRIO_BOOST))
                .measured("rt_booster")
                .bound_us(RTB_BOUND_US)
                .stall_cpus(RTB_STALL_CPUS),
            move |w| {
                w.sleep_between(300, 1500);
                let held = lr.acquire(w);
                held.check();
                drop(held);
                w.check_cpu();
                w.st.iters += 1;
            },
        )?;
    }
    let (mut out, total) = Outcome::judge(roster.run()?)?;
    if out.reason == OVER_BOUND {
        out.reason = "the booster waited on the rt_mutex past its bound";
    }
    out.diag("rtb_bound_us", RTB_BOUND_US)?;
    out.diag("booster_blocked", total.handoffs)?;
    Ok(out)
}
