// SPDX-License-Identifier: GPL-2.0

//! Building blocks shared by the scenarios.
//!
//! A seeded PRNG, a latency histogram, per-thread statistics, a mutex wrapper that checks
//! mutual exclusion, a wait gate for round-based scenarios, workers that loop over a
//! scenario's step, and a roster that creates every thread and test lock of a scenario
//! before any thread starts, and adds up what they saw, or reports the threads that never
//! finished.

use kernel::{
    bindings,
    cpu::{
        nr_cpu_ids,
        CpuId, //
    },
    cpumask::CpumaskVar,
    kthread::{
        self,
        KThread, //
    },
    new_condvar,
    new_mutex,
    new_spinlock,
    prelude::*,
    sched::Policy,
    static_lock_class,
    str::CString,
    sync::{
        aref::ARef,
        atomic::{
            Acquire,
            Atomic,
            Full,
            Relaxed,
            Release, //
        },
        lock::{
            mutex::MutexBackend,
            rt_mutex::RtMutexBackend,
            Backend,
            Guard,
            Lock, //
        },
        Arc,
        CondVar,
        CondVarTimeoutResult,
        LockClassKey,
        Mutex,
        SpinLock, //
    },
    task::{
        Pid,
        Task, //
    },
    time::{
        delay::{
            fsleep,
            udelay, //
        },
        msecs_to_jiffies,
        ClockSource,
        Delta,
        Instant,
        Monotonic, //
    }, //
};

/// Set on module unload: every scenario thread stops as soon as it sees it.
pub(crate) static ABORT: Atomic<bool> = Atomic::new(false);

/// Set at load time by `plant_stuck=1`: the next thread created never finishes (see [`create`]).
pub(crate) static PLANT_STUCK: Atomic<bool> = Atomic::new(false);

/// At most this many CPUs take part, so CPU sets fit in a `u64` and thread counts stay small.
pub(crate) const MAX_CPUS: u32 = 16;

/// Fewest iterations a worker has to complete in a run (the progress invariant).
const MIN_ITERS: u64 = 2;

/// Granularity of busy work, so holders check their invariants often.
const WORK_CHUNK_US: u64 = 25;

/// How many CPU violations of one thread are logged, with its role and CPU.
pub(crate) const VIOLATIONS_LOGGED: u64 = 3;

/// Current `CLOCK_MONOTONIC` time in nanoseconds.
pub(crate) fn now_ns() -> i64 {
    Monotonic::ktime_get()
}

/// Number of CPUs the scenarios use: `nr_cpu_ids`, capped at [`MAX_CPUS`].
pub(crate) fn ncpus() -> u32 {
    nr_cpu_ids().clamp(1, MAX_CPUS)
}

/// A CPU set of all CPUs the scenarios use.
pub(crate) fn all_cpus() -> u64 {
    (1u64 << ncpus()) - 1
}

/// Builds a cpumask from a CPU set.
pub(crate) fn cpumask(set: u64) -> Result<CpumaskVar> {
    let mut mask = CpumaskVar::new_zero(GFP_KERNEL)?;
    for cpu in 0..ncpus() {
        if set & (1 << cpu) != 0 {
            mask.set(CpuId::from_u32(cpu).ok_or(EINVAL)?);
        }
    }
    Ok(mask)
}

/// Sleeps for `us` microseconds; zero returns at once.
pub(crate) fn sleep_us(us: u64) {
    if us > 0 {
        fsleep(Delta::from_micros(us as i64));
    }
}

/// xorshift64* seeded through splitmix64: small, fast and reproducible.
pub(crate) struct Prng(u64);

impl Prng {
    /// A generator for one `stream` (one thread) of the run seeded with `seed`.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut z = seed ^ stream.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Self(if z == 0 { 0x2545_f491_4f6c_dd1d } else { z })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (zero for `n == 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `1 / n`.
    pub(crate) fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// Sub-buckets per power of two: percentiles are exact to 1/8 (12.5%).
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
/// Largest exponent kept; bigger values land in the last bucket (2^40 us is ~12 days).
const MAX_EXP: u32 = 40;
const NBUCKETS: usize = (SUB + (MAX_EXP - SUB_BITS + 1) as u64 * SUB) as usize;

/// A log-linear histogram of microsecond latencies.
pub(crate) struct Hist {
    buckets: KVec<u32>,
    count: u64,
    max: u64,
}

impl Hist {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            buckets: KVec::from_elem(0, NBUCKETS, GFP_KERNEL)?,
            count: 0,
            max: 0,
        })
    }

    fn index(us: u64) -> usize {
        if us < SUB {
            return us as usize;
        }
        let exp = (63 - us.leading_zeros()).min(MAX_EXP);
        let sub = (us >> (exp - SUB_BITS)) & (SUB - 1);
        (SUB + u64::from(exp - SUB_BITS) * SUB + sub) as usize
    }

    /// Largest value that falls into bucket `idx`.
    fn upper(idx: usize) -> u64 {
        let idx = idx as u64;
        if idx < SUB {
            return idx;
        }
        let exp = (idx - SUB) / SUB + u64::from(SUB_BITS);
        let sub = (idx - SUB) % SUB;
        ((SUB + sub + 1) << (exp - u64::from(SUB_BITS))) - 1
    }

    pub(crate) fn record(&mut self, us: u64) {
        let idx = Self::index(us).min(NBUCKETS - 1);
        self.buckets[idx] = self.buckets[idx].saturating_add(1);
        self.count += 1;
        self.max = self.max.max(us);
    }

    pub(crate) fn merge(&mut self, other: &Hist) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a = a.saturating_add(*b);
        }
        self.count += other.count;
        self.max = self.max.max(other.max);
    }

    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Number of values certainly above `limit`: those in buckets whose lower edge is above it.
    pub(crate) fn count_above(&self, limit: u64) -> u64 {
        self.buckets
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(idx, _)| Self::upper(idx - 1) >= limit)
            .map(|(_, n)| u64::from(*n))
            .sum()
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    /// The `pct` percentile (upper edge of its bucket, never above the maximum).
    pub(crate) fn percentile(&self, pct: u64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = (self.count * pct).div_ceil(100).max(1);
        let mut seen = 0;
        for (idx, n) in self.buckets.iter().enumerate() {
            seen += u64::from(*n);
            if seen >= rank {
                return Self::upper(idx).min(self.max);
            }
        }
        self.max
    }
}

/// What one thread saw. The controller merges them into the scenario's figures.
pub(crate) struct Stats {
    /// Completed loop iterations (progress).
    pub(crate) iters: u64,
    /// Lock acquisitions by measured threads.
    pub(crate) acquisitions: u64,
    /// Acquisitions that had to block: the lock was handed over by another owner.
    pub(crate) handoffs: u64,
    /// Wait times of blocked acquisitions, in microseconds.
    pub(crate) waits: Hist,
    /// Waits longer than the thread's effective bound, set after the run.
    pub(crate) over_bound: u64,
    /// The thread's bound on a blocked acquisition, in microseconds.
    pub(crate) bound_us: u64,
    /// CPUs whose stalls a wait of this thread can span (see [`Roster::run`]).
    pub(crate) stall_cpus: u32,
    /// `bound_us` plus the worst stall of the run on each of `stall_cpus`, set after the run.
    pub(crate) bound_eff_us: u64,
    /// Longest wait, and the role and CPU of the thread that saw it.
    pub(crate) worst_us: u64,
    pub(crate) worst_role: &'static str,
    pub(crate) worst_cpu: u32,
    /// Noise probes: largest wake-up lateness of a top-priority sleeper, in microseconds.
    pub(crate) noise_max_us: u64,
    /// rt-inversion: rounds in which a spinner ran while the waiter was blocked.
    pub(crate) inversions: u64,
    /// Times a thread ran on a CPU its affinity mask does not allow.
    pub(crate) cpu_violations: u64,
    /// Nested locks released out of order.
    pub(crate) order_violations: u64,
    /// Unexpected errors inside a thread (allocation, set_affinity, set_policy).
    pub(crate) errors: u64,
    /// The errno of the first of them.
    pub(crate) first_errno: u64,
    /// rt-inversion: rounds in which the spinners gave up before the waiter got the lock;
    /// stranded: rounds in which the owner gave up waiting for the donor to block.
    pub(crate) spin_timeouts: u64,
    /// churn: successful policy changes.
    pub(crate) policy_changes: u64,
    /// churn: DEADLINE changes refused by admission control.
    pub(crate) dl_ebusy: u64,
    /// churn: threads stopped while blocked on a lock.
    pub(crate) stopped_waiting: u64,
    /// churn: spares started so late in the run that they were stopped before they ran.
    pub(crate) spares_unstarted: u64,
    /// owner-moves: affinity changes of the owner while it held the lock.
    pub(crate) affinity_changes: u64,
    /// owner-moves: sleeps and yields while holding.
    pub(crate) sleeps_holding: u64,
    pub(crate) yields_holding: u64,
    /// reblock: times the owner of the first lock blocked on the second one with a donor waiting.
    pub(crate) reblocks: u64,
    /// pushable: bursts of the owner on CPU1 and its CPU changes.
    pub(crate) on_cpu1: u64,
    pub(crate) migrations: u64,
    /// stranded: rounds run, rounds in which the owner moved off its CPU before unlocking, and
    /// those of them in which the donor waited past the bound.
    pub(crate) rounds: u64,
    pub(crate) owner_moved: u64,
    pub(crate) stranded: u64,
}

impl Stats {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            iters: 0,
            acquisitions: 0,
            handoffs: 0,
            waits: Hist::new()?,
            over_bound: 0,
            bound_us: u64::MAX,
            stall_cpus: 0,
            bound_eff_us: u64::MAX,
            worst_us: 0,
            worst_role: "",
            worst_cpu: 0,
            noise_max_us: 0,
            inversions: 0,
            cpu_violations: 0,
            order_violations: 0,
            errors: 0,
            first_errno: 0,
            spin_timeouts: 0,
            policy_changes: 0,
            dl_ebusy: 0,
            stopped_waiting: 0,
            spares_unstarted: 0,
            affinity_changes: 0,
            sleeps_holding: 0,
            yields_holding: 0,
            reblocks: 0,
            on_cpu1: 0,
            migrations: 0,
            rounds: 0,
            owner_moved: 0,
            stranded: 0,
        })
    }

    /// Counts an unexpected error.
    pub(crate) fn error(&mut self, e: Error) {
        self.errors += 1;
        if self.first_errno == 0 {
            self.first_errno = u64::from(e.to_errno().unsigned_abs());
        }
    }

    pub(crate) fn merge(&mut self, o: &Stats) {
        self.iters += o.iters;
        self.acquisitions += o.acquisitions;
        self.handoffs += o.handoffs;
        self.waits.merge(&o.waits);
        self.over_bound += o.over_bound;
        if o.worst_us > self.worst_us || self.worst_role.is_empty() {
            self.worst_us = o.worst_us.max(self.worst_us);
            if o.worst_us >= self.worst_us {
                self.worst_role = o.worst_role;
                self.worst_cpu = o.worst_cpu;
            }
        }
        self.noise_max_us = self.noise_max_us.max(o.noise_max_us);
        self.bound_us = self.bound_us.min(o.bound_us);
        self.stall_cpus = self.stall_cpus.max(o.stall_cpus);
        self.bound_eff_us = self.bound_eff_us.min(o.bound_eff_us);
        self.inversions += o.inversions;
        self.cpu_violations += o.cpu_violations;
        self.order_violations += o.order_violations;
        self.errors += o.errors;
        if self.first_errno == 0 {
            self.first_errno = o.first_errno;
        }
        self.spin_timeouts += o.spin_timeouts;
        self.policy_changes += o.policy_changes;
        self.dl_ebusy += o.dl_ebusy;
        self.stopped_waiting += o.stopped_waiting;
        self.spares_unstarted += o.spares_unstarted;
        self.affinity_changes += o.affinity_changes;
        self.sleeps_holding += o.sleeps_holding;
        self.yields_holding += o.yields_holding;
        self.reblocks += o.reblocks;
        self.on_cpu1 += o.on_cpu1;
        self.migrations += o.migrations;
        self.rounds += o.rounds;
        self.owner_moved += o.owner_moved;
        self.stranded += o.stranded;
    }

    /// Stops a thread the caller started itself and merges its statistics into these (or
    /// counts the error of a thread that never ran).
    pub(crate) fn reap(&mut self, thread: KThread<Stats>) {
        match thread.stop() {
            Ok(st) => self.merge(&st),
            Err(e) => self.error(e),
        }
    }
}

/// Run-wide settings shared by every thread of a scenario.
#[pin_data]
pub(crate) struct RunCtx {
    /// End of the run (`CLOCK_MONOTONIC` ns); `i64::MAX` until the threads start.
    end_ns: Atomic<i64>,
    /// Set once every thread has been started: threads wait for it before doing anything, so
    /// none of them spins before the controller has started all.
    #[pin]
    go: Gate,
    duration_ms: u32,
    pub(crate) bound_us: u64,
    pub(crate) seed: u64,
    pub(crate) tpc: u32,
    /// Set when a signal interrupted the controller: the threads stop as if the run were over.
    interrupted: Atomic<bool>,
    /// Threads that did not finish in time and were left running (see [`Roster::run`]).
    #[pin]
    stuck: Mutex<KVec<Stuck>>,
}

/// A thread that did not finish its loop within the grace period after the end of its run.
pub(crate) struct Stuck {
    pub(crate) name: CString,
    pub(crate) pid: Pid,
    /// The CPU it last ran on or is queued on.
    pub(crate) cpu: u32,
}

impl RunCtx {
    pub(crate) fn new(duration_ms: u32, bound_us: u64, seed: u64, tpc: u32) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                end_ns: Atomic::new(i64::MAX),
                go <- Gate::new(0),
                duration_ms,
                bound_us,
                seed,
                tpc,
                interrupted: Atomic::new(false),
                stuck <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )
    }

    /// Waits in a new thread until the controller has started every thread.
    fn wait_go(&self) {
        while !ABORT.load(Relaxed) && !kthread::should_stop() {
            if self.go.wait_for(100, |v| v != 0).is_some() {
                return;
            }
        }
    }

    pub(crate) fn duration_ms(&self) -> u32 {
        self.duration_ms
    }

    /// Sets the end of the run and lets the threads go.
    fn arm(&self) {
        let end = now_ns() + i64::from(self.duration_ms) * 1_000_000;
        self.end_ns.store(end, Release);
        self.go.set(1);
    }

    /// True once the run is over, was interrupted, or the module is going away.
    pub(crate) fn expired(&self) -> bool {
        ABORT.load(Relaxed)
            || self.interrupted.load(Relaxed)
            || now_ns() >= self.end_ns.load(Acquire)
    }

    /// Whether a signal to the controller interrupted the run.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupted.load(Acquire)
    }

    /// Time the threads get past the end of the run to finish their loops, in nanoseconds.
    fn grace_ns(&self) -> i64 {
        i64::from(self.duration_ms.max(MIN_GRACE_MS)) * 1_000_000
    }

    /// Takes the list of the threads of the run that are stuck (empty if none is).
    pub(crate) fn take_stuck(&self) -> KVec<Stuck> {
        core::mem::take(&mut *self.stuck.lock())
    }
}

/// Shortest time the threads get past the end of a run to finish their loops.
const MIN_GRACE_MS: u32 = 2000;

/// A scenario thread's private state: identity, PRNG, statistics and invariants to check.
pub(crate) struct Worker {
    /// Non-zero and unique within a scenario; recorded as the holder of test locks.
    pub(crate) id: u64,
    pub(crate) rng: Prng,
    pub(crate) st: Stats,
    ctx: Arc<RunCtx>,
    /// Where the thread was created; a [`Place::Widened`] one widens its own affinity.
    place: Place,
    /// CPUs this thread may run on.
    allowed: u64,
    /// Whether this thread's waits count towards the latency figures and bounds.
    measured: bool,
    /// Bound on a blocked acquisition, in microseconds.
    bound_us: u64,
    /// CPUs whose stalls a blocked acquisition can span.
    stall_cpus: u32,
    /// Short name of the thread's role, to tell who saw the worst wait.
    role: &'static str,
}

impl Worker {
    fn new(ctx: &Arc<RunCtx>, id: u64, spec: Spec) -> Result<Self> {
        Ok(Self {
            id,
            rng: Prng::new(ctx.seed, id),
            st: Stats::new()?,
            ctx: ctx.clone(),
            place: spec.place,
            allowed: spec.place.allowed(),
            measured: spec.role.is_some(),
            bound_us: spec.bound_us.unwrap_or(ctx.bound_us),
            stall_cpus: spec.stall_cpus,
            role: spec.role.unwrap_or(""),
        })
    }

    /// Runs `step` until the run ends, and returns the thread's statistics.
    ///
    /// A [`Place::Widened`] thread first widens its own affinity: it was bound to one CPU
    /// only so that it starts there.
    pub(crate) fn run(mut self, mut step: impl FnMut(&mut Self)) -> Stats {
        if let Place::Widened(_, set) = self.place {
            if let Err(e) = set_own_affinity(set) {
                self.st.error(e);
            }
        }
        while self.running() {
            step(&mut self);
        }
        self.finish()
    }

    /// The statistics of a finished thread, with the bound its waits are judged against.
    pub(crate) fn finish(mut self) -> Stats {
        if self.measured {
            self.st.bound_us = self.bound_us;
            self.st.stall_cpus = self.stall_cpus;
        }
        self.st
    }

    /// Whether the thread should keep going.
    pub(crate) fn running(&self) -> bool {
        !kthread::should_stop() && !self.ctx.expired()
    }

    /// Checks that the thread runs on a CPU it is allowed on; the first
    /// [`VIOLATIONS_LOGGED`] violations of a thread are logged with its role and CPU.
    pub(crate) fn check_cpu(&mut self) -> u32 {
        let cpu = CpuId::current().as_u32();
        if self.allowed & (1u64 << cpu.min(63)) == 0 {
            self.st.cpu_violations += 1;
            if self.st.cpu_violations <= VIOLATIONS_LOGGED {
                pr_warn!(
                    "{} (worker {}): on CPU {} outside its CPUs {:#x}\n",
                    self.role,
                    self.id,
                    cpu,
                    self.allowed
                );
            }
        }
        cpu
    }

    /// Sleeps for a random time in `lo_us..=hi_us`.
    pub(crate) fn sleep_between(&mut self, lo_us: u64, hi_us: u64) {
        let us = self.rng.range(lo_us, hi_us);
        sleep_us(us);
    }

    /// Busy work for a random time in `lo_us..=hi_us` while holding `held`.
    pub(crate) fn work_between(&mut self, lo_us: u64, hi_us: u64, held: &[&Held<'_>]) {
        let us = self.rng.range(lo_us, hi_us);
        self.work(us, held);
    }

    /// An owner's turn: takes `lock`, calls `taken` with it held, works for `us` while holding
    /// it, then releases it and checks the CPU.
    pub(crate) fn hold(&mut self, lock: &TestLock, us: u64, taken: impl FnOnce()) {
        let held = lock.acquire(self);
        taken();
        self.work(us, &[&held]);
        drop(held);
        self.check_cpu();
    }

    /// A donor's turn: blocks on `lock` while it is held, checks the CPU it got it on, and
    /// releases it at once.
    pub(crate) fn donate(&mut self, lock: &TestLock) {
        let held = lock.acquire(self);
        self.check_cpu();
        drop(held);
    }

    /// Like [`Worker::donate`], with `waiting` set while the thread may block.
    pub(crate) fn donate_flagged(&mut self, lock: &TestLock, waiting: &Atomic<bool>) {
        let held = lock.acquire_flagged(self, waiting);
        self.check_cpu();
        drop(held);
    }

    fn note_wait(&mut self, waited: Delta, blocked: bool) {
        if !self.measured {
            return;
        }
        self.st.acquisitions += 1;
        let us = waited.as_micros_ceil().max(0) as u64;
        if blocked {
            self.st.handoffs += 1;
            self.st.waits.record(us);
        }
        if us >= self.st.worst_us {
            self.st.worst_us = us;
            self.st.worst_role = self.role;
            self.st.worst_cpu = CpuId::current().as_u32();
        }
    }

    /// Busy work for about `us` microseconds while holding `held`, checking exclusion.
    pub(crate) fn work(&mut self, us: u64, held: &[&Held<'_>]) {
        let mut left = us;
        while left > 0 {
            let step = left.min(WORK_CHUNK_US);
            udelay(Delta::from_micros(step as i64));
            left -= step;
            for h in held {
                h.check();
            }
        }
    }

    /// Spins until `stop()` returns true or the run ends, checking every few iterations.
    pub(crate) fn spin_until(&self, mut stop: impl FnMut() -> bool) {
        while self.running() && !stop() {
            for _ in 0..64 {
                core::hint::spin_loop();
            }
        }
    }
}

/// A `struct mutex` (or, with [`RtMutexBackend`], a `struct rt_mutex`) with checked mutual
/// exclusion.
///
/// Each critical section records its holder in `holder`, and counts itself both inside the
/// lock and in a shadow counter outside it; any overlap of two critical sections shows up as
/// a foreign holder or diverging counters.
#[pin_data]
pub(crate) struct TestLock<B: Backend = MutexBackend> {
    #[pin]
    lock: Lock<u64, B>,
    holder: Atomic<u64>,
    entries: Atomic<u64>,
    violations: Atomic<u64>,
}

/// Lock class of the test locks of nesting `level`.
///
/// Scenarios that nest test locks take them in strictly increasing level order; one lockdep
/// class per level lets lockdep check that order instead of reporting recursive locking.
fn mutex_class(level: usize) -> Pin<&'static LockClassKey> {
    match level {
        0 => static_lock_class!(),
        1 => static_lock_class!(),
        2 => static_lock_class!(),
        3 => static_lock_class!(),
        4 => static_lock_class!(),
        5 => static_lock_class!(),
        6 => static_lock_class!(),
        _ => static_lock_class!(),
    }
}

/// Lock class of the test rt_mutexes of nesting `level`: classes of their own, so that lockdep
/// reports tell them from the mutexes.
fn rt_mutex_class(level: usize) -> Pin<&'static LockClassKey> {
    match level {
        0 => static_lock_class!(),
        1 => static_lock_class!(),
        _ => static_lock_class!(),
    }
}

/// A test `struct rt_mutex`: its waiters lend their priority to its holder.
pub(crate) type RtTestLock = TestLock<RtMutexBackend>;

impl<B: Backend> TestLock<B> {
    /// A test lock named `name`, of lock class `class`.
    fn new(name: &'static CStr, class: Pin<&'static LockClassKey>) -> impl PinInit<Self> {
        pin_init!(Self {
            lock <- Lock::new(0, name, class),
            holder: Atomic::new(0),
            entries: Atomic::new(0),
            violations: Atomic::new(0),
        })
    }

    /// Takes the lock on behalf of `w`, measuring how long it blocked.
    pub(crate) fn acquire<'a>(&'a self, w: &mut Worker) -> Held<'a, B> {
        let start = Instant::<Monotonic>::now();
        let (guard, blocked) = match self.lock.try_lock() {
            Some(guard) => (guard, false),
            None => (self.lock.lock(), true),
        };
        w.note_wait(start.elapsed(), blocked);
        let mut held = Held {
            lock: self,
            guard,
            me: w.id,
        };
        held.enter();
        held
    }

    /// Like [`TestLock::acquire`], with `waiting` set while the thread may block, so that
    /// other threads can tell a blocked waiter.
    pub(crate) fn acquire_flagged<'a>(
        &'a self,
        w: &mut Worker,
        waiting: &Atomic<bool>,
    ) -> Held<'a, B> {
        waiting.store(true, Release);
        let held = self.acquire(w);
        waiting.store(false, Release);
        held
    }

    /// Current holder's id, zero when free.
    pub(crate) fn holder(&self) -> u64 {
        self.holder.load(Acquire)
    }

    /// Mutual-exclusion violations seen on this lock so far.
    pub(crate) fn violations(&self) -> u64 {
        self.violations.load(Acquire)
    }

    fn violation(&self) {
        self.violations.add(1, Relaxed);
    }
}

/// A held [`TestLock`]; dropping it releases the lock.
pub(crate) struct Held<'a, B: Backend = MutexBackend> {
    lock: &'a TestLock<B>,
    guard: Guard<'a, u64, B>,
    me: u64,
}

impl<B: Backend> Held<'_, B> {
    fn enter(&mut self) {
        if self.lock.holder.xchg(self.me, Full) != 0 {
            self.lock.violation();
        }
        *self.guard += 1;
        if self.lock.entries.fetch_add(1, Full) + 1 != *self.guard {
            self.lock.violation();
        }
    }

    /// Checks that nobody else entered the critical section meanwhile.
    pub(crate) fn check(&self) {
        if self.lock.holder.load(Acquire) != self.me
            || self.lock.entries.load(Acquire) != *self.guard
        {
            self.lock.violation();
        }
    }
}

impl<B: Backend> Drop for Held<'_, B> {
    fn drop(&mut self) {
        self.check();
        if self.lock.holder.cmpxchg(self.me, 0, Full).is_err() {
            self.lock.violation();
        }
        // The guard field is dropped after this, which unlocks the lock.
    }
}

/// A value that threads wait on until it satisfies a predicate (a small condition variable).
///
/// The value is also readable without the lock, for spinners.
#[pin_data]
pub(crate) struct Gate {
    #[pin]
    lock: SpinLock<()>,
    #[pin]
    cv: CondVar,
    value: Atomic<u64>,
}

impl Gate {
    pub(crate) fn new(value: u64) -> impl PinInit<Self> {
        pin_init!(Self {
            lock <- new_spinlock!(()),
            cv <- new_condvar!(),
            value: Atomic::new(value),
        })
    }

    pub(crate) fn peek(&self) -> u64 {
        self.value.load(Acquire)
    }

    /// Sets the value and wakes every waiter.
    pub(crate) fn set(&self, value: u64) {
        {
            let _guard = self.lock.lock();
            self.value.store(value, Release);
        }
        self.cv.notify_all();
    }

    /// Sets the value to `new` only if it still is `old`.
    pub(crate) fn transition(&self, old: u64, new: u64) -> bool {
        let done = {
            let _guard = self.lock.lock();
            self.value.cmpxchg(old, new, Full).is_ok()
        };
        if done {
            self.cv.notify_all();
        }
        done
    }

    /// Waits up to `timeout_ms` for the value to satisfy `pred`; returns it if it does.
    pub(crate) fn wait_for(&self, timeout_ms: u32, pred: impl Fn(u64) -> bool) -> Option<u64> {
        let mut guard = self.lock.lock();
        let v = self.value.load(Acquire);
        if pred(v) {
            return Some(v);
        }
        // Kernel threads take no signals; an early return (kthread_stop()) is handled by the
        // caller's loop.
        let _ = self
            .cv
            .wait_interruptible_timeout(&mut guard, msecs_to_jiffies(timeout_ms));
        let v = self.value.load(Acquire);
        pred(v).then_some(v)
    }

    /// Waits in the controller until the value satisfies `pred`, at most until `deadline_ns`
    /// (`CLOCK_MONOTONIC`), and returns it.
    ///
    /// Fails with `ETIMEDOUT` once the deadline has passed. The controller is the task that
    /// writes to `run`, so a signal wakes it up: then it fails with `EINTR`.
    pub(crate) fn wait_until(&self, deadline_ns: i64, pred: impl Fn(u64) -> bool) -> Result<u64> {
        let mut guard = self.lock.lock();
        let mut signal = false;
        loop {
            let v = self.value.load(Acquire);
            if pred(v) {
                return Ok(v);
            }
            if signal {
                return Err(EINTR);
            }
            let left_ns = deadline_ns - now_ns();
            if left_ns <= 0 {
                return Err(ETIMEDOUT);
            }
            let left_ms = (left_ns as u64).div_ceil(1_000_000).min(u32::MAX.into()) as u32;
            signal = matches!(
                self.cv
                    .wait_interruptible_timeout(&mut guard, msecs_to_jiffies(left_ms)),
                CondVarTimeoutResult::Signal { .. }
            );
        }
    }
}

/// Scheduling policy helpers, so the policy values live in one place.
pub(crate) fn fifo(prio: u32) -> Policy {
    Policy::Fifo { prio }
}

pub(crate) fn normal(nice: i32) -> Policy {
    Policy::Normal { nice }
}

pub(crate) fn deadline(runtime_us: u64, deadline_us: u64, period_us: u64) -> Policy {
    Policy::Deadline {
        runtime: runtime_us * 1000,
        deadline: deadline_us * 1000,
        period: period_us * 1000,
    }
}

/// Where a new thread starts.
#[derive(Clone, Copy)]
pub(crate) enum Place {
    /// Bound to one CPU with `kthread_bind()` before it first runs.
    Bound(u32),
    /// Any CPU of a set (applied with `set_affinity()` before it first runs).
    Within(u64),
    /// Bound to a CPU like [`Place::Bound`], then allowed on a set once the run starts: the
    /// thread starts on the CPU the scenario wants, but may be pushed or pulled away.
    Widened(u32, u64),
}

impl Place {
    /// The CPUs the thread may run on during the run.
    fn allowed(self) -> u64 {
        match self {
            Place::Bound(cpu) => 1 << cpu,
            Place::Within(set) | Place::Widened(_, set) => set,
        }
    }
}

/// How a scenario thread is created and what is expected of it.
#[derive(Clone, Copy)]
pub(crate) struct Spec {
    place: Place,
    policy: Policy,
    /// Iterations the thread has to complete (the progress invariant).
    min_iters: u64,
    /// The role of a thread whose waits are measured; `None` for one whose waits are not.
    role: Option<&'static str>,
    /// Bound on the thread's blocked acquisitions, if not the run's, in microseconds.
    bound_us: Option<u64>,
    /// CPUs whose stalls one of its waits can span: by default [`STALL_CPUS`], the waiter's
    /// and the owner's.
    stall_cpus: u32,
}

impl Spec {
    /// A thread that has to make progress ([`MIN_ITERS`]) and whose waits are not measured.
    pub(crate) fn new(place: Place, policy: Policy) -> Self {
        Self {
            place,
            policy,
            min_iters: MIN_ITERS,
            role: None,
            bound_us: None,
            stall_cpus: STALL_CPUS,
        }
    }

    /// Only `n` completed iterations are required (0 for load that may starve).
    pub(crate) fn min_iters(self, n: u64) -> Self {
        Self {
            min_iters: n,
            ..self
        }
    }

    /// The thread's waits count towards the figures and the bound; `role` names it if it saw
    /// the worst one.
    pub(crate) fn measured(self, role: &'static str) -> Self {
        Self {
            role: Some(role),
            ..self
        }
    }

    /// The thread's waits are judged against `us` instead of the run's bound.
    pub(crate) fn bound_us(self, us: u64) -> Self {
        Self {
            bound_us: Some(us),
            ..self
        }
    }

    /// A wait of the thread can span `n` stalls, not only one of the waiter's CPU and one of
    /// the owner's: a blocked-on chain whose owners sit on `n` CPUs, or a CPU that stalls twice.
    pub(crate) fn stall_cpus(self, n: u32) -> Self {
        Self {
            stall_cpus: n,
            ..self
        }
    }
}

/// A thread created for a scenario.
struct Member {
    thread: KThread<Stats>,
    min_iters: u64,
    name: CString,
    /// Set by the thread once its loop is over, just before it returns.
    done: Arc<Gate>,
}

/// Every thread and test lock of one scenario. Threads are created (and given their policy
/// and affinity) first, and all started together afterwards, so no thread is created while
/// real-time threads spin.
pub(crate) struct Roster {
    ctx: Arc<RunCtx>,
    members: KVec<Member>,
    /// Checked for mutual exclusion once the threads are done.
    locks: KVec<Arc<TestLock>>,
    rt_locks: KVec<Arc<RtTestLock>>,
    /// Workers created so far; the last worker id handed out.
    workers: u64,
}

/// A new [`TestLock`], kept in `checked` for the exclusion check after the run.
fn checked_lock<B: Backend>(
    checked: &mut KVec<Arc<TestLock<B>>>,
    name: &'static CStr,
    class: Pin<&'static LockClassKey>,
) -> Result<Arc<TestLock<B>>> {
    let lock = Arc::pin_init(TestLock::new(name, class), GFP_KERNEL)?;
    checked.push(lock.clone(), GFP_KERNEL)?;
    Ok(lock)
}

/// What the threads of a finished run add up to.
pub(crate) struct Tally {
    /// Statistics of every thread, merged.
    pub(crate) total: Stats,
    /// Worker threads of the scenario (noise probes not counted).
    pub(crate) threads: u64,
    /// Threads that missed their progress goal (or never ran).
    pub(crate) stalled: u64,
    /// Mutual-exclusion violations seen on the scenario's test locks.
    pub(crate) exclusion: u64,
}

impl Roster {
    pub(crate) fn new(ctx: &Arc<RunCtx>) -> Self {
        Self {
            ctx: ctx.clone(),
            members: KVec::new(),
            locks: KVec::new(),
            rt_locks: KVec::new(),
            workers: 0,
        }
    }

    /// A new test lock to be taken after any test lock of a lower `level` and before any of a
    /// higher one, checked after the run.
    pub(crate) fn lock(&mut self, level: usize) -> Result<Arc<TestLock>> {
        checked_lock(&mut self.locks, c"proxy_stress_lock", mutex_class(level))
    }

    /// A new test rt_mutex of nesting `level`, checked after the run like [`Roster::lock`].
    pub(crate) fn rt_lock(&mut self, level: usize) -> Result<Arc<RtTestLock>> {
        checked_lock(
            &mut self.rt_locks,
            c"proxy_stress_rt_lock",
            rt_mutex_class(level),
        )
    }

    /// The state of a new thread made after `spec`, with the next worker id (ids also seed
    /// the threads' PRNGs, so they follow creation order).
    pub(crate) fn worker(&mut self, spec: Spec) -> Result<Worker> {
        self.workers += 1;
        Worker::new(&self.ctx, self.workers, spec)
    }

    /// Creates (but does not start) a thread running `f`; the run starts and stops it.
    ///
    /// Fails with the error of `set_policy()` (for example `EBUSY` from deadline admission
    /// control), so the scenario can tell a skip from a failure.
    pub(crate) fn spawn<F>(
        &mut self,
        name: kernel::fmt::Arguments<'_>,
        spec: Spec,
        f: F,
    ) -> Result<ARef<Task>>
    where
        F: FnOnce() -> Stats + Send + 'static,
    {
        let member = create(&self.ctx, name, spec, f)?;
        let task = ARef::from(member.thread.task());
        self.members.push(member, GFP_KERNEL)?;
        Ok(task)
    }

    /// Creates (but does not start) a new worker that runs `step` in a loop (see
    /// [`Worker::run`]); the run starts and stops it.
    pub(crate) fn spawn_loop<F>(
        &mut self,
        name: kernel::fmt::Arguments<'_>,
        spec: Spec,
        step: F,
    ) -> Result<ARef<Task>>
    where
        F: FnMut(&mut Worker) + Send + 'static,
    {
        let w = self.worker(spec)?;
        self.spawn(name, spec, move || w.run(step))
    }

    /// Like [`Roster::spawn_loop`], but the caller starts and stops the thread (with
    /// [`Stats::reap`]); the run only tells it when to end.
    pub(crate) fn create_loop<F>(
        &mut self,
        name: kernel::fmt::Arguments<'_>,
        spec: Spec,
        step: F,
    ) -> Result<KThread<Stats>>
    where
        F: FnMut(&mut Worker) + Send + 'static,
    {
        let w = self.worker(spec)?;
        Ok(create(&self.ctx, name, spec, move || w.run(step))?.thread)
    }

    /// Starts every thread, then waits for each to finish its loop, stops and joins all of them.
    ///
    /// A thread that has not finished its loop within the grace period past the end of the run
    /// (the run's duration, at least [`MIN_GRACE_MS`]) is stuck, and left running (see
    /// [`Roster::leave_stuck`]); the run then fails with `ETIMEDOUT`, and the stuck threads are
    /// listed in its context. A signal to the controller interrupts the run: the threads stop
    /// early, and the run fails with `EINTR` (or `ETIMEDOUT` if some are stuck).
    ///
    /// A noise probe per CPU (a top-priority thread that sleeps 2 ms in a loop and measures
    /// how late it wakes up) runs alongside: under an emulator on a busy host, virtual CPUs
    /// stall for long stretches, and a wait may span the stalls of the owner's and the
    /// waiter's CPU, or of every CPU of a chain of owners. So a wait is only over its bound
    /// if it is longer than the bound plus the worst stall the probes saw, once for each CPU
    /// the wait can span ([`Spec::stall_cpus`]).
    pub(crate) fn run(mut self) -> Result<Tally> {
        for cpu in 0..ncpus() {
            let ctx = self.ctx.clone();
            let mut st = Stats::new()?;
            self.spawn(
                fmt!("ps_probe/{cpu}"),
                Spec::new(Place::Bound(cpu), fifo(99)).min_iters(0),
                move || {
                    while !kthread::should_stop() && !ctx.expired() {
                        let start = now_ns();
                        sleep_us(PROBE_PERIOD_US);
                        let late = (now_ns() - start) / 1000 - PROBE_PERIOD_US as i64;
                        st.noise_max_us = st.noise_max_us.max(late.max(0) as u64);
                        st.iters += 1;
                    }
                    st
                },
            )?;
        }

        for m in self.members.iter() {
            m.thread.start();
        }
        self.ctx.arm();
        let waited = self.wait_done();
        if self.members.iter().any(|m| m.done.peek() == 0) {
            self.leave_stuck();
            return Err(ETIMEDOUT);
        }
        waited?;

        let mut all = KVec::with_capacity(self.members.len(), GFP_KERNEL)?;
        let mut stalled = 0;
        for m in self.members {
            match m.thread.stop() {
                Ok(st) => {
                    if st.iters < m.min_iters {
                        stalled += 1;
                    }
                    all.push(st, GFP_KERNEL)?;
                }
                Err(_) => stalled += 1,
            }
        }
        let noise = all.iter().map(|st| st.noise_max_us).max().unwrap_or(0);
        let mut total = Stats::new()?;
        for st in all.iter_mut() {
            if st.bound_us != u64::MAX {
                let slack = noise.saturating_mul(st.stall_cpus.into());
                st.bound_eff_us = st.bound_us.saturating_add(slack);
                st.over_bound += st.waits.count_above(st.bound_eff_us);
            }
            total.merge(st);
        }
        Ok(Tally {
            total,
            threads: self.workers,
            stalled,
            exclusion: self.locks.iter().map(|l| l.violations()).sum::<u64>()
                + self.rt_locks.iter().map(|l| l.violations()).sum::<u64>(),
        })
    }

    /// Waits until every thread has finished its loop, or the grace period past the end of the
    /// run is over.
    ///
    /// A signal interrupts the run: the threads then stop as if it were over, and get the grace
    /// period from then on; the wait then fails with `EINTR`.
    fn wait_done(&self) -> Result {
        let deadline = self.ctx.end_ns.load(Acquire) + self.ctx.grace_ns();
        let mut signal = false;
        for m in self.members.iter() {
            match m.done.wait_until(deadline, |v| v != 0) {
                Ok(_) => {}
                Err(e) if e == EINTR => {
                    signal = true;
                    break;
                }
                // Past the deadline: the threads that are not done by now are stuck.
                Err(_) => return Ok(()),
            }
        }
        if !signal {
            return Ok(());
        }
        self.ctx.interrupted.store(true, Release);
        // The signal stays pending, and would end every interruptible sleep at once: poll.
        let deadline = now_ns() + self.ctx.grace_ns();
        while now_ns() < deadline && self.members.iter().any(|m| m.done.peek() == 0) {
            sleep_us(INTERRUPTED_POLL_US);
        }
        Err(EINTR)
    }

    /// Stops the threads that finished their loop, and leaves the others running: those are
    /// stuck, and `kthread_stop()` would wait for them forever.
    ///
    /// Each stuck thread is logged with its stack and listed in the run's context. Its handle
    /// is forgotten, so that its closure and what it holds are never freed, and the module pins
    /// itself, so that its code and data stay too: unloading it then fails. A module that is
    /// being unloaded already cannot be pinned, and then the stuck threads are stopped anyway:
    /// the unload waits for them, as it must not free what they use.
    fn leave_stuck(self) {
        for m in self.members.iter().filter(|m| m.done.peek() == 0) {
            let task = m.thread.task();
            pr_err!(
                "stuck: {} pid {} cpu {}\n",
                &*m.name,
                task.pid(),
                task.cpu().as_u32()
            );
            // SAFETY: `task` is a valid task: the handle holds a reference to it.
            unsafe { sched_show_task(task.as_ptr().cast()) };
        }
        let mut pinned = None;
        let mut n = 0;
        let mut stuck = self.ctx.stuck.lock();
        for m in self.members {
            if m.done.peek() != 0 {
                // Finished (maybe just now): dropping the handle stops and joins the thread.
                continue;
            }
            n += 1;
            let (pid, cpu) = (m.thread.task().pid(), m.thread.task().cpu().as_u32());
            if *pinned.get_or_insert_with(pin_module) {
                core::mem::forget(m.thread);
            } else {
                pr_err!("module unloading: waiting for {}\n", &*m.name);
                drop(m.thread);
            }
            // Without memory for the entry, the stuck thread is only in the log.
            let _ = stuck.push(
                Stuck {
                    name: m.name,
                    pid,
                    cpu,
                },
                GFP_KERNEL,
            );
        }
        if pinned == Some(true) {
            pr_err!("{n} stuck threads; module pinned, reboot to unload\n");
        }
    }
}

/// Poll period of the controller waiting for the threads of an interrupted run.
const INTERRUPTED_POLL_US: u64 = 2000;

extern "C" {
    /// Prints the state and kernel stack of a task: `void sched_show_task(struct task_struct *p)`
    /// of `include/linux/sched/debug.h`, which the bindings leave out. The task is passed as an
    /// untyped pointer: the bindings' `task_struct` has zero-sized members that the FFI-safety
    /// lint rejects.
    fn sched_show_task(p: *mut c_void);
}

/// Takes a reference to this module that is never put, so that it cannot be unloaded.
///
/// Returns false if the module is being unloaded.
fn pin_module() -> bool {
    // SAFETY: `THIS_MODULE` points to this module, which is loaded: this code runs.
    unsafe { bindings::try_module_get(crate::THIS_MODULE.as_ptr()) }
}

/// CPUs whose stalls a wait can span by default: the waiter's and the owner's.
const STALL_CPUS: u32 = 2;

/// Sleep period of the noise probes.
const PROBE_PERIOD_US: u64 = 2000;

/// Creates one thread with the policy and placement of `spec`; not started.
///
/// The thread waits for the start of the run (all threads started) before it calls `f`, and
/// sets its `done` gate when `f` returns. With `plant_stuck=1`, the first thread created
/// after loading never does: once `f` returns it sleeps forever, so the run finds it stuck. It
/// sleeps interruptibly (a kernel thread gets no signals), not in `D` like a thread stuck on a
/// mutex, so that the hung-task detector leaves it alone.
fn create<F>(
    ctx: &Arc<RunCtx>,
    name: kernel::fmt::Arguments<'_>,
    spec: Spec,
    f: F,
) -> Result<Member>
where
    F: FnOnce() -> Stats + Send + 'static,
{
    let name = CString::try_from_fmt(name)?;
    let cpu = match spec.place {
        Place::Bound(cpu) | Place::Widened(cpu, _) => Some(CpuId::from_u32(cpu).ok_or(EINVAL)?),
        Place::Within(_) => None,
    };
    let done = Arc::pin_init(Gate::new(0), GFP_KERNEL)?;
    let (go, d) = (ctx.clone(), done.clone());
    let planted = PLANT_STUCK.xchg(false, Relaxed);
    let thread = KThread::new(&name, cpu, move || {
        go.wait_go();
        drop(go);
        let st = f();
        if planted {
            loop {
                d.wait_for(1000, |_| false);
            }
        }
        d.set(1);
        st
    })?;
    if let Place::Within(set) = spec.place {
        let mask = cpumask(set)?;
        thread.task().set_affinity(&mask)?;
    }
    thread.task().set_policy(spec.policy)?;
    Ok(Member {
        thread,
        min_iters: spec.min_iters,
        name,
        done,
    })
}

/// Changes the calling thread's own affinity (to widen a thread created bound, or to move it).
pub(crate) fn set_own_affinity(set: u64) -> Result {
    let mask = cpumask(set)?;
    kernel::current!().set_affinity(&mask)
}
