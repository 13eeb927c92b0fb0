// SPDX-License-Identifier: GPL-2.0
/*
 * dl_roundtrip - a SCHED_DEADLINE task that leaves the class and comes back
 * must get the CPU again within what CBS allows.
 *
 * A worker thread is made SCHED_DEADLINE (runtime 1 ms, deadline = period =
 * 10 ms). A SCHED_FIFO controller then, round after round, moves it out of
 * SCHED_DEADLINE at a random point, mostly while it is throttled, and back
 * 0-15 ms later, and measures, with the worker's own timestamps, the longest
 * time the worker needs the CPU but gets none while it is SCHED_DEADLINE
 * after a return. Shapes, one KTAP test each:
 *
 *   busy_control      busy-looping worker that stays in DEADLINE: the same
 *                     observation with no round trip, so that a failure here
 *                     is the platform's (under TCG, a vCPU whose timer
 *                     interrupt comes late), not a return path's
 *   busy_via_other    busy-looping worker, DEADLINE -> OTHER -> DEADLINE
 *   busy_via_fifo     busy-looping worker, DEADLINE -> FIFO -> DEADLINE
 *   sleepy_via_other  worker runs 0.5 ms, sleeps 5 ms; DEADLINE -> OTHER -> DEADLINE
 *   dl_param_change   busy worker, DEADLINE runtime 1 ms <-> 2 ms
 *   migrating_wakeup  worker runs 50 us, sleeps 200 us, beside a DEADLINE hog
 *                     (1 ms every 4 ms) with earlier deadlines, which makes a
 *                     wakeup on the hog's CPU move the worker
 *                     (select_task_rq_dl()); DEADLINE
 *                     -> OTHER at a random point, which may fall while such a
 *                     wakeup is in flight, -> DEADLINE 0-15 ms later
 *
 * Every shape also fails when the kernel WARNs while it runs (the W taint
 * flag, /proc/sys/kernel/tainted): a DEADLINE bandwidth count that a policy
 * change corrupts WARNs later, in the accounting of another enqueue. And it
 * fails when, after the worker exited, a new task with the same reservation
 * is refused for 5 s (EBUSY): the worker's bandwidth was not given back.
 *
 * A test fails when a gap exceeds the bound (-b, default 200 ms: a throttled
 * lone task waits at most a few periods for its replenishment, plus an
 * emulator's vCPU stalls: under QEMU's TCG the control alone waited up to
 * 153 ms), or when the task runs more than RUN_BOUND budgets in one go (which
 * is what pushes its deadline dozens of periods ahead). A round-trip shape
 * whose only failures are such outliers of time (at most two returns over the bound,
 * none over 1 s, no run over twice RUN_BOUND) is run once more, and the
 * second run's verdict stands: under TCG a late IPI now and then lets a task that came
 * back throttled run for 20-30 ms before it is stopped, and pay for it with
 * 200-300 ms without CPU (1 return in about 10000, 2026-12-02); the bugs this
 * test is for do it in every run.
 *
 * busy_control is not run twice: it calibrates the others. When the task
 * that never leaves SCHED_DEADLINE breaks a time bound itself, and looks like
 * a stalled vCPU doing it (at most NOISE_OVER returns over the bound, no gap
 * over 1 s, no run over NOISE_RUN; under TCG it went 642 ms without CPU after
 * a run of 73 ms, 2026-12-02), the control is reported as SKIP with its
 * figures, and a later shape whose only failures are of time is a SKIP too if
 * it is no worse than the control: its longest gap within twice the
 * control's (or the bound), its longest run within twice the control's (or
 * RUN_BOUND budgets), and at most twice as many returns over the bound. A
 * control that breaks a time bound by more than a stall does fails, and so
 * does a shape worse than its control, a lost task, a WARN or a leaked
 * bandwidth. Without the fixes the round trips did far worse than twice a
 * control of the same boot (0.5-2.4 s against 76-126 ms, or lost).
 *
 * A worker that gets no CPU for 10 s is made SCHED_OTHER so that it can exit,
 * and a watchdog alarm ends the program with a failure.
 *
 * Usage: dl_roundtrip [-r ROUNDS] [-b BOUND_MS] [-t SECONDS] [-s SEED] [-T]
 *
 * Plain C: libc, pthread and the raw sched_setattr(2) system call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE	6
#endif

#define NSEC_PER_USEC	1000LL
#define NSEC_PER_MSEC	1000000LL
#define NSEC_PER_SEC	1000000000LL

#define DL_RUNTIME	(1 * NSEC_PER_MSEC)
#define DL_RUNTIME_ALT	(2 * NSEC_PER_MSEC)	/* dl_param_change */
#define DL_PERIOD	(10 * NSEC_PER_MSEC)
/* Longest run in one go allowed, in budgets (DL_RUNTIME). */
#define RUN_BOUND	20
/* A control over a time bound by no more than this is a stalled vCPU's. */
#define NOISE_OVER	2
#define NOISE_RUN	(100 * NSEC_PER_MSEC)
#define SLEEPY_RUN	(500 * NSEC_PER_USEC)
#define SLEEPY_SLEEP	(5 * NSEC_PER_MSEC)
#define MIGRATING_RUN	(50 * NSEC_PER_USEC)
#define MIGRATING_SLEEP	(200 * NSEC_PER_USEC)
#define HOG_RUNTIME	(1 * NSEC_PER_MSEC)	/* migrating_wakeup's hogs */
/*
 * One hog: three at 2 ms / 4 ms made no WARN without the fix for the race
 * either, and loaded an emulated guest into stalls of 260-280 ms (arm64).
 */
#define MAX_HOGS	1
#define HOG_PERIOD	(4 * NSEC_PER_MSEC)
#define TAINT_WARN_BIT	9			/* 'W' in /proc/sys/kernel/tainted */
#define MAX_AWAY	(15 * NSEC_PER_MSEC)	/* time out of SCHED_DEADLINE */
#define POLL		(100 * NSEC_PER_USEC)	/* controller's sampling */
#define RUN_GAP		(200 * NSEC_PER_USEC)	/* off-CPU time ending a run */
#define STUCK		(10 * NSEC_PER_SEC)	/* rescue a worker after this */
#define CTL_STARVED	(3 * NSEC_PER_SEC)	/* worker rescues itself */
#define WATCHDOG_EXTRA	120			/* s past -t: stuck rounds, second runs */
#define CTL_PRIO	50
#define WORKER_FIFO_PRIO 10

/* The kernel's struct sched_attr, under another name: glibc >= 2.41 has one. */
struct dl_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

enum shape {
	BUSY_CONTROL, BUSY_VIA_OTHER, BUSY_VIA_FIFO, SLEEPY_VIA_OTHER, DL_PARAM_CHANGE,
	MIGRATING_WAKEUP, NR_SHAPES
};

static const char *const shape_name[NR_SHAPES] = {
	"busy_control", "busy_via_other", "busy_via_fifo", "sleepy_via_other",
	"dl_param_change", "migrating_wakeup",
};

/* Shared between the controller and the worker. */
static struct {
	atomic_llong ran;		/* time of the worker's last iteration */
	atomic_llong need;		/* worker needs the CPU since (or from) */
	atomic_llong run_start;		/* first iteration of the current run */
	atomic_ullong cpus;		/* CPUs the worker was seen on (< 64) */
	atomic_llong ctl_beat;		/* controller's last sign of life */
	atomic_int tid;
	atomic_int stop;
	atomic_int self_rescued;
	int64_t run_ns, sleep_ns;	/* sleeps sleep_ns after run_ns; 0: busy */
} w;

static const struct dl_sched_attr attr_other = {
	.size = sizeof(struct dl_sched_attr),
	.sched_policy = SCHED_OTHER,
};

/* For the SIGALRM handler: what has been printed so far. */
/* Lock-free atomics, which a signal handler may use. */
static atomic_int n_pass, n_fail, n_skip, n_done;
static int64_t t_limit_s;
static bool worker_leaked;	/* a worker did not exit: no more shapes */

/*
 * -T: marks in the trace buffer, so that a kernel with trace_printk()s in
 * the deadline class shows each leave, return and stall among its own lines,
 * and tracing stopped at the first stall.
 */
static int trace_fd = -1;
static bool trace_stopped;

static void trace_mark(const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	int n;

	if (trace_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(trace_fd, buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1) < 0)
		trace_fd = -1;
}

/* Keep the trace of the first stall: later rounds would overwrite it. */
static void trace_stop(void)
{
	int fd;

	if (trace_fd < 0 || trace_stopped)
		return;
	fd = open("/sys/kernel/tracing/tracing_on", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/sys/kernel/debug/tracing/tracing_on", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "0", 1) == 1) {
			trace_stopped = true;
			printf("# tracing stopped at the first stall\n");
		}
		close(fd);
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

static int sys_sched_setattr(pid_t pid, const struct dl_sched_attr *attr)
{
	return syscall(SYS_sched_setattr, pid, attr, 0) ? errno : 0;
}

/* SCHED_DEADLINE with @runtime every @period, deadline = period. */
static struct dl_sched_attr dl_attr(int64_t runtime, int64_t period)
{
	struct dl_sched_attr a = {
		.size = sizeof(a),
		.sched_policy = SCHED_DEADLINE,
		.sched_runtime = runtime,
		.sched_deadline = period,
		.sched_period = period,
	};

	return a;
}

static uint64_t rng_state;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? rng_state % n : 0;
}

/* Async-signal-safe output for the watchdog. */
static void put(const char *s)
{
	ssize_t r = write(STDOUT_FILENO, s, strlen(s));

	(void)r;
}

static void put_num(long v)
{
	char buf[24], *p = buf + sizeof(buf) - 1;

	*p = '\0';
	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	put(p);
}

static void on_alarm(int sig)
{
	int tid = atomic_load(&w.tid);
	int i;

	(void)sig;
	if (tid)
		syscall(SYS_sched_setattr, tid, &attr_other, 0);
	put("# watchdog: no end after ");
	put_num(t_limit_s + WATCHDOG_EXTRA);
	put(" s; the worker was made SCHED_OTHER\n");
	for (i = n_done; i < NR_SHAPES; i++) {
		put("not ok ");
		put_num(i + 1);
		put(" ");
		put(shape_name[i]);
		put(i == n_done ? " # watchdog\n" : " # not run: watchdog\n");
		n_fail++;
	}
	put("# Totals: pass:");
	put_num(n_pass);
	put(" fail:");
	put_num(n_fail);
	put(" xfail:0 xpass:0 skip:");
	put_num(n_skip);
	put(" error:0\n");
	_exit(1);
}

static void *worker_fn(void *arg)
{
	int64_t t, prev, burst = 0;
	unsigned int i = 0;
	int cpu;

	(void)arg;
	atomic_store(&w.tid, (int)syscall(SYS_gettid));
	prev = now_ns();
	atomic_store(&w.run_start, prev);
	burst = prev;
	while (!atomic_load_explicit(&w.stop, memory_order_relaxed)) {
		t = now_ns();
		if (t - prev > RUN_GAP)
			atomic_store_explicit(&w.run_start, t, memory_order_relaxed);
		atomic_store_explicit(&w.ran, t, memory_order_relaxed);
		atomic_store_explicit(&w.need, t, memory_order_relaxed);
		prev = t;

		if (!(++i & 1023)) {
			cpu = sched_getcpu();
			if (cpu >= 0 && cpu < 64)
				atomic_fetch_or(&w.cpus, 1ULL << cpu);
			/*
			 * A task that runs unbudgeted can starve a SCHED_FIFO
			 * controller on the same CPU for good: then leave
			 * SCHED_DEADLINE ourselves, so that the run can end.
			 */
			if (t - atomic_load(&w.ctl_beat) > CTL_STARVED &&
			    !atomic_load(&w.self_rescued)) {
				atomic_store(&w.self_rescued, 1);
				sys_sched_setattr(0, &attr_other);
			}
		}

		if (w.sleep_ns && t - burst >= w.run_ns) {
			struct timespec ts;
			int64_t wake = t + w.sleep_ns;

			/* Not in need of the CPU until then. */
			atomic_store_explicit(&w.need, wake, memory_order_relaxed);
			ts.tv_sec = wake / NSEC_PER_SEC;
			ts.tv_nsec = wake % NSEC_PER_SEC;
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
			t = now_ns();
			atomic_store_explicit(&w.run_start, t, memory_order_relaxed);
			prev = t;
			burst = t;
		}
	}
	return NULL;
}

struct phase {
	int64_t max_gap;	/* longest need-but-no-CPU time */
	int64_t ret_gap;	/* from the return to the first progress */
	int64_t max_run;	/* longest run without a RUN_GAP break */
	bool stuck;		/* no CPU for STUCK: worker rescued */
	bool starved;		/* controller starved: worker rescued itself */
};

/*
 * Follow the worker from a return to SCHED_DEADLINE at @t_ret, for at least
 * @hold, and until it made progress. A long round also does not end inside
 * a gap longer than two periods, so that a gap that begins in it is measured
 * whole. The phase then ends at a moment the worker looks throttled, or a
 * period later.
 */
static void observe(int64_t t_ret, int64_t hold, bool long_round, struct phase *ph)
{
	bool progressed = false;
	int64_t now, need, ran, rs, base, age, run;

	for (;;) {
		now = now_ns();
		atomic_store(&w.ctl_beat, now);
		ran = atomic_load(&w.ran);
		need = atomic_load(&w.need);
		rs = atomic_load(&w.run_start);

		base = need > t_ret ? need : t_ret;
		age = now - base;
		if (age > ph->max_gap)
			ph->max_gap = age;
		if (!progressed) {
			if (ran > t_ret)
				progressed = true;
			else if (age > ph->ret_gap)
				ph->ret_gap = age;
		}
		run = ran - (rs > t_ret ? rs : t_ret);
		if (run > ph->max_run)
			ph->max_run = run;

		if (atomic_load(&w.self_rescued)) {
			ph->starved = true;
			return;
		}
		if (age > STUCK) {
			sys_sched_setattr(atomic_load(&w.tid), &attr_other);
			ph->stuck = true;
			return;
		}
		if (progressed && now - t_ret >= hold &&
		    !(long_round && age > 2 * DL_PERIOD) &&
		    (age >= RUN_GAP || now - t_ret >= hold + DL_PERIOD))
			return;
		sleep_ns(POLL);
	}
}

static void cpu_list(uint64_t mask, char *buf, size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < 64 && n + 4 < len; i++)
		if (mask & (1ULL << i))
			n += snprintf(buf + n, len - n, "%s%d", n ? "," : "", i);
}

/* The figures of one shape, over its returns. */
struct totals {
	int64_t max_gap, max_ret, max_run;
	int over;		/* returns with a gap over the bound */
};

struct config {
	int rounds;
	int64_t bound;
	int ctl_cpu;
	cpu_set_t all;		/* the process's CPUs */
	bool admitted;		/* a worker was admitted to SCHED_DEADLINE */
	bool noisy;		/* busy_control broke a time bound: see noise */
	struct totals noise;	/* busy_control's figures, when noisy */
};

/*
 * A SCHED_OTHER thread on @cpus. SIGALRM stays with the controller: a
 * watchdog delivered to a worker that gets no CPU would never run.
 */
static int start_thread(pthread_t *thr, const cpu_set_t *cpus, void *(*fn)(void *), void *arg)
{
	struct sched_param sp = { .sched_priority = 0 };
	sigset_t alrm, old;
	pthread_attr_t pa;
	int err;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	pthread_attr_init(&pa);
	pthread_attr_setinheritsched(&pa, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&pa, SCHED_OTHER);
	pthread_attr_setschedparam(&pa, &sp);
	pthread_attr_setaffinity_np(&pa, sizeof(cpu_set_t), cpus);
	err = pthread_create(thr, &pa, fn, arg);
	pthread_attr_destroy(&pa);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/*
 * A new task with the worker's reservation must be admitted once the worker
 * has left SCHED_DEADLINE and exited: its bandwidth is given back at its 0-lag
 * time at the latest, which a deadline pushed far ahead can delay by a second
 * or two, so a refusal counts only after PROBE_WAIT.
 */
#define PROBE_WAIT	(5 * NSEC_PER_SEC)

struct probe {
	int err;
	int64_t waited;
};

static void *probe_fn(void *arg)
{
	struct dl_sched_attr dl = dl_attr(DL_RUNTIME, DL_PERIOD);
	struct probe *pr = arg;
	int64_t t0 = now_ns();

	while ((pr->err = sys_sched_setattr(0, &dl)) == EBUSY && now_ns() - t0 < PROBE_WAIT)
		sleep_ns(10 * NSEC_PER_MSEC);
	pr->waited = now_ns() - t0;
	if (!pr->err)
		sys_sched_setattr(0, &attr_other);
	return NULL;
}

/* Admit a new SCHED_DEADLINE task on all of @cfg->all; its sched_setattr() error. */
static int admission_probe(const struct config *cfg, int64_t *waited)
{
	struct probe pr = { .err = 0 };
	pthread_t thr;
	int err;

	err = start_thread(&thr, &cfg->all, probe_fn, &pr);
	if (err)
		return err;
	pthread_join(thr, NULL);
	*waited = pr.waited;
	return pr.err;
}

/* 1 if the kernel has WARNed since boot, 0 if not, -1 if it cannot tell. */
static int taint_warn(void)
{
	unsigned long taint;
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%lu", &taint);
	fclose(f);
	return n == 1 ? !!(taint & (1UL << TAINT_WARN_BIT)) : -1;
}

static void report(int num, const char *result, const char *name, const char *why)
{
	printf("%s %d %s%s%s\n", result, num, name, why ? " # " : "", why ? why : "");
	fflush(stdout);
	n_done = num;
}

/* Add the phase after return @round to @t, and report a gap over @bound. */
static void account(struct totals *t, const struct phase *ph, int64_t bound,
		    const char *name, int round)
{
	if (ph->max_gap > t->max_gap)
		t->max_gap = ph->max_gap;
	if (ph->ret_gap > t->max_ret)
		t->max_ret = ph->ret_gap;
	if (ph->max_run > t->max_run)
		t->max_run = ph->max_run;
	if (ph->max_gap > bound) {
		t->over++;
		trace_mark("dl_roundtrip: %s round %d: no CPU for %lld us\n", name, round,
			   (long long)(ph->max_gap / NSEC_PER_USEC));
		trace_stop();
		printf("# %s: round %d: no CPU for %lld us after the return (progress: %lld us)\n",
		       name, round, (long long)(ph->max_gap / NSEC_PER_USEC),
		       (long long)(ph->ret_gap / NSEC_PER_USEC));
	}
}

/*
 * migrating_wakeup's hogs: busy in SCHED_DEADLINE with deadlines earlier than
 * the worker's, so that select_task_rq_dl() moves a worker that wakes on a
 * hog's CPU. hogs_ready counts those running; hog_err is the error of a
 * setattr that failed.
 */
static atomic_int hog_stop, hogs_ready, hog_err;

static void *hog_fn(void *arg)
{
	struct dl_sched_attr a = dl_attr(HOG_RUNTIME, HOG_PERIOD);
	int err;

	(void)arg;
	err = sys_sched_setattr(0, &a);
	if (err)
		atomic_store(&hog_err, err);
	else
		atomic_fetch_add(&hogs_ready, 1);
	while (!err && !atomic_load_explicit(&hog_stop, memory_order_relaxed))
		;
	if (!err)
		sys_sched_setattr(0, &attr_other);
	return NULL;
}

/* a if it is larger, else b */
static int64_t at_least(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/*
 * Run one shape; returns 0 pass, 1 fail, 2 skip, or, with @may_retry and for
 * a round-trip shape (not busy_control), 3 for a failure that is only
 * outliers of time (one or two returns over the bound, or a run over
 * RUN_BOUND, and nothing larger) without printing its KTAP line: the caller
 * runs the shape once more, and that run's verdict stands.
 */
static int run_shape(int num, enum shape s, struct config *cfg, int64_t until, bool may_retry)
{
	const char *name = shape_name[s];
	struct dl_sched_attr dl = dl_attr(DL_RUNTIME, DL_PERIOD);
	struct dl_sched_attr alt = dl_attr(DL_RUNTIME_ALT, DL_PERIOD);
	struct dl_sched_attr fifo = {
		.size = sizeof(fifo),
		.sched_policy = SCHED_FIFO,
		.sched_priority = WORKER_FIFO_PRIO,
	};
	struct totals tot = { 0 };
	int64_t t_ret, t0;
	int rounds = 0, err, tid, i, verdict;
	char skip[200] = "", fail[200] = "", cpus[200];
	pthread_t thr, hog[MAX_HOGS];
	bool in_dl_alt = false, ended = false, warned, soft = false, time_only;
	int nr_hogs = 0, want_hogs = 0;
	int taint_before;

	if (worker_leaked) {
		report(num, "ok", name, "SKIP the worker of an earlier test did not exit");
		return 2;
	}
	memset((void *)&w, 0, sizeof(w));
	if (s == SLEEPY_VIA_OTHER) {
		w.run_ns = SLEEPY_RUN;
		w.sleep_ns = SLEEPY_SLEEP;
	} else if (s == MIGRATING_WAKEUP) {
		w.run_ns = MIGRATING_RUN;
		w.sleep_ns = MIGRATING_SLEEP;
	}
	taint_before = taint_warn();
	atomic_store(&w.ctl_beat, now_ns());

	/* SCHED_DEADLINE needs the whole root domain in the affinity. */
	err = start_thread(&thr, &cfg->all, worker_fn, NULL);
	if (err) {
		snprintf(fail, sizeof(fail), "pthread_create: %s", strerror(err));
		report(num, "not ok", name, fail);
		return 1;
	}
	t0 = now_ns();
	while (!(tid = atomic_load(&w.tid)) && now_ns() - t0 < NSEC_PER_SEC)
		sleep_ns(POLL);

	err = tid ? sys_sched_setattr(tid, &dl) : ESRCH;
	if (err == EBUSY && cfg->admitted) {
		snprintf(fail, sizeof(fail),
			 "sched_setattr(SCHED_DEADLINE): EBUSY, though an earlier worker with the same reservation was admitted: its bandwidth was not given back");
		goto out;
	}
	if (err == EPERM || err == EBUSY) {
		snprintf(skip, sizeof(skip), "SKIP sched_setattr(SCHED_DEADLINE): %s",
			 err == EBUSY ? "EBUSY (admission control)" : "EPERM");
		goto out;
	}
	if (err) {
		snprintf(fail, sizeof(fail), "sched_setattr(SCHED_DEADLINE): %s", strerror(err));
		goto out;
	}

	cfg->admitted = true;

	if (s == MIGRATING_WAKEUP) {
		want_hogs = CPU_COUNT(&cfg->all) - 1;
		if (want_hogs > MAX_HOGS)
			want_hogs = MAX_HOGS;
		atomic_store(&hog_stop, 0);
		atomic_store(&hogs_ready, 0);
		atomic_store(&hog_err, 0);
		for (; nr_hogs < want_hogs; nr_hogs++) {
			err = start_thread(&hog[nr_hogs], &cfg->all, hog_fn, NULL);
			if (err) {
				snprintf(fail, sizeof(fail), "pthread_create (hog): %s",
					 strerror(err));
				goto out;
			}
		}
		t0 = now_ns();
		while (atomic_load(&hogs_ready) < nr_hogs && !atomic_load(&hog_err) &&
		       now_ns() - t0 < NSEC_PER_SEC)
			sleep_ns(POLL);
		if (atomic_load(&hogs_ready) < nr_hogs) {
			err = atomic_load(&hog_err);
			snprintf(skip, sizeof(skip), "SKIP a hog cannot be SCHED_DEADLINE: %s",
				 err ? strerror(err) : "no answer");
			goto out;
		}
		printf("# %s: %d SCHED_DEADLINE hogs, %lld us every %lld us\n", name, nr_hogs,
		       HOG_RUNTIME / NSEC_PER_USEC, HOG_PERIOD / NSEC_PER_USEC);
	}

	/* Settle as SCHED_DEADLINE: the first phase is not a return. */
	sleep_ns(5 * DL_PERIOD);
	t_ret = now_ns();

	while (rounds < cfg->rounds && now_ns() < until) {
		struct phase ph = { 0 };
		bool long_round = !rnd(8);
		int64_t hold;

		/* Leave (or change) at a random point, mostly while throttled. */
		if (rounds) {
			hold = long_round ? cfg->bound + 3 * DL_PERIOD
					  : DL_PERIOD / 2 + (int64_t)rnd(5 * DL_PERIOD / 2);
			observe(t_ret, hold, long_round, &ph);
			account(&tot, &ph, cfg->bound, name, rounds);
			if (ph.stuck || ph.starved) {
				ended = true;
				break;
			}
		} else {
			sleep_ns((int64_t)rnd(DL_PERIOD));
		}

		trace_mark("dl_roundtrip: %s round %d: leave tid=%d\n", name, rounds + 1, tid);
		if (s == BUSY_CONTROL) {
			/* A "return" that changes nothing, at the same pace. */
			sleep_ns((int64_t)rnd(MAX_AWAY + 1));
			err = 0;
		} else if (s == DL_PARAM_CHANGE) {
			in_dl_alt = !in_dl_alt;
			err = sys_sched_setattr(tid, in_dl_alt ? &alt : &dl);
			for (i = 0; err == EBUSY && i < 100; i++) {
				sleep_ns(NSEC_PER_MSEC);
				err = sys_sched_setattr(tid, in_dl_alt ? &alt : &dl);
			}
		} else {
			err = sys_sched_setattr(tid, s == BUSY_VIA_FIFO ? &fifo : &attr_other);
			if (!err) {
				sleep_ns((int64_t)rnd(MAX_AWAY + 1));
				atomic_store(&w.ctl_beat, now_ns());
				err = sys_sched_setattr(tid, &dl);
				/* Its bandwidth may be freed a little later. */
				for (i = 0; err == EBUSY && i < 100; i++) {
					sleep_ns(NSEC_PER_MSEC);
					err = sys_sched_setattr(tid, &dl);
				}
			}
		}
		t_ret = now_ns();
		atomic_store(&w.ctl_beat, t_ret);
		trace_mark("dl_roundtrip: %s round %d: returned err=%d\n", name, rounds + 1, err);
		if (err) {
			snprintf(fail, sizeof(fail), "round %d: sched_setattr: %s",
				 rounds + 1, strerror(err));
			break;
		}
		rounds++;
	}

	/* The last return, followed like the others. */
	if (!fail[0] && !ended && rounds) {
		struct phase ph = { 0 };

		observe(t_ret, 2 * DL_PERIOD, false, &ph);
		account(&tot, &ph, cfg->bound, name, rounds);
	}

	if (atomic_load(&w.self_rescued))
		snprintf(fail, sizeof(fail),
			 "the SCHED_DEADLINE worker kept the controller's CPU for >%lld s; it made itself SCHED_OTHER",
			 CTL_STARVED / NSEC_PER_SEC);
	else if (tot.max_gap > STUCK)
		snprintf(fail, sizeof(fail),
			 "worker got no CPU for >%lld s; made SCHED_OTHER so that it can exit",
			 STUCK / NSEC_PER_SEC);

out:
	/* tid 0 would be the controller itself. */
	if (tid)
		sys_sched_setattr(tid, &attr_other);
	atomic_store(&w.stop, 1);
	atomic_store(&hog_stop, 1);
	for (i = 0; i < nr_hogs; i++)
		pthread_join(hog[i], NULL);
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		if (pthread_timedjoin_np(thr, NULL, &ts)) {
			printf("# %s: the worker did not exit within 5 s\n", name);
			worker_leaked = true;
			if (!fail[0] && !skip[0])
				snprintf(fail, sizeof(fail), "worker did not exit");
		}
	}

	if (skip[0]) {
		report(num, "ok", name, skip);
		return 2;
	}
	if (!worker_leaked && cfg->admitted) {
		int64_t waited = 0;

		err = admission_probe(cfg, &waited);
		if (err == EBUSY) {
			printf("# %s: a task with the worker's reservation: EBUSY for %lld ms\n",
			       name, (long long)(waited / NSEC_PER_MSEC));
			if (!fail[0])
				snprintf(fail, sizeof(fail),
					 "the worker's bandwidth was not given back: admission refused a new task for %lld s",
					 (long long)(PROBE_WAIT / NSEC_PER_SEC));
		} else if (err) {
			printf("# %s: admission probe: %s\n", name, strerror(err));
		} else if (waited > 100 * NSEC_PER_MSEC) {
			printf("# %s: a task with the worker's reservation waited %lld ms\n",
			       name, (long long)(waited / NSEC_PER_MSEC));
		}
	}
	cpu_list(atomic_load(&w.cpus), cpus, sizeof(cpus));
	printf("# %s: rounds=%d max_gap_us=%lld over_bound=%d\n", name, rounds,
	       (long long)(tot.max_gap / NSEC_PER_USEC), tot.over);
	printf("# %s: max_return_gap_us=%lld max_dl_run_us=%lld bound_us=%lld worker_cpus=%s\n",
	       name, (long long)(tot.max_ret / NSEC_PER_USEC),
	       (long long)(tot.max_run / NSEC_PER_USEC), (long long)(cfg->bound / NSEC_PER_USEC),
	       cpus[0] ? cpus : "?");
	if (!fail[0] && rounds < cfg->rounds)
		printf("# %s: stopped after %d of %d rounds: time limit\n",
		       name, rounds, cfg->rounds);

	warned = taint_before == 0 && taint_warn() == 1;
	if (warned)
		printf("# %s: the kernel WARNed while it ran (taint W): see dmesg\n", name);
	if (!fail[0] && warned)
		snprintf(fail, sizeof(fail), "the kernel WARNed while it ran (taint W)");
	else if (taint_before != 0)
		printf("# %s: %s: WARNs are not checked\n", name,
		       taint_before < 0 ? "/proc/sys/kernel/tainted is not readable" :
		       "the kernel had WARNed before this test (taint W)");

	if (!fail[0] && !rounds) {
		report(num, "ok", name, "SKIP no time left for a round");
		return 2;
	}
	/*
	 * Outliers of time: one or two returns over the bound, none over 1 s,
	 * and no run over twice RUN_BOUND. More is not an emulator's late IPI
	 * now and then, but a path that runs the task without a budget.
	 */
	time_only = !fail[0];
	soft = !fail[0] && (tot.over || tot.max_run > RUN_BOUND * DL_RUNTIME) &&
	       tot.over <= 2 && tot.max_gap <= NSEC_PER_SEC &&
	       tot.max_run <= 2 * RUN_BOUND * DL_RUNTIME;
	if (!fail[0] && tot.over)
		snprintf(fail, sizeof(fail),
			 "%d of %d returns left it without CPU for more than %lld ms",
			 tot.over, rounds, (long long)(cfg->bound / NSEC_PER_MSEC));
	/*
	 * Running far past its budget in one go is the cause of the long
	 * gaps: the late charge moves the deadline a period per runtime's
	 * worth. One tick past the budget is CBS; TCG's vCPU stalls add a few
	 * ms; RUN_BOUND runtimes are neither.
	 */
	if (!fail[0] && tot.max_run > RUN_BOUND * DL_RUNTIME)
		snprintf(fail, sizeof(fail),
			 "it ran %lld us in one go on a %lld us budget (more than %d budgets)",
			 (long long)(tot.max_run / NSEC_PER_USEC),
			 (long long)(DL_RUNTIME / NSEC_PER_USEC), RUN_BOUND);
	verdict = fail[0] ? 1 : 0;
	if (verdict && soft && may_retry && s != BUSY_CONTROL) {
		printf("# %s: %s\n", name, fail);
		printf("# %s: outliers of time only: once more, to confirm\n", name);
		return 3;
	}
	if (verdict && time_only && s == BUSY_CONTROL && tot.over <= NOISE_OVER &&
	    tot.max_gap <= NSEC_PER_SEC && tot.max_run <= NOISE_RUN) {
		cfg->noisy = true;
		cfg->noise = tot;
		printf("# %s: %s\n", name, fail);
		snprintf(skip, sizeof(skip),
			 "SKIP the platform broke a time bound with no round trip (%lld ms without CPU, a run of %lld us, %d over): later shapes are held to twice that",
			 (long long)(tot.max_gap / NSEC_PER_MSEC),
			 (long long)(tot.max_run / NSEC_PER_USEC), tot.over);
		report(num, "ok", name, skip);
		return 2;
	}
	if (verdict && time_only && cfg->noisy &&
	    tot.max_gap <= at_least(2 * cfg->noise.max_gap, cfg->bound) &&
	    tot.max_run <= at_least(2 * cfg->noise.max_run, RUN_BOUND * DL_RUNTIME) &&
	    tot.over <= 2 * (cfg->noise.over > 1 ? cfg->noise.over : 1)) {
		printf("# %s: %s\n", name, fail);
		snprintf(skip, sizeof(skip),
			 "SKIP time only, and no worse than twice busy_control's (%lld ms, %lld us, %d over): the platform's",
			 (long long)(cfg->noise.max_gap / NSEC_PER_MSEC),
			 (long long)(cfg->noise.max_run / NSEC_PER_USEC), cfg->noise.over);
		report(num, "ok", name, skip);
		return 2;
	}
	report(num, verdict ? "not ok" : "ok", name, NULL);
	if (verdict)
		printf("# %s: %s\n", name, fail);
	return verdict;
}

static void print_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-r ROUNDS] [-b BOUND_MS] [-t SECONDS] [-s SEED] [-T]\n"
		"  -r  round trips per shape (default 300)\n"
		"  -b  longest time without CPU allowed after a return, ms (default 200)\n"
		"  -t  time limit for all shapes, s (default 50); stops early\n"
		"  -s  random seed (default: from the clock)\n"
		"  -T  marks in the trace buffer, and tracing stopped at the first stall\n", prog);
}

int main(int argc, char **argv)
{
	struct config cfg = { .rounds = 300 };
	struct dl_sched_attr ctl = {
		.size = sizeof(ctl),
		.sched_policy = SCHED_FIFO,
		.sched_priority = CTL_PRIO,
	};
	long rounds = 300, bound_ms = 200, limit_s = 50;
	unsigned long long seed = 0;
	int opt, i, ncpu, err, ret;
	bool trace = false;
	char skip[120] = "";
	int64_t t0, t_end, share;
	cpu_set_t one;
	char *end;

	while ((opt = getopt(argc, argv, "r:b:t:s:Th")) != -1) {
		switch (opt) {
		case 'r':
			rounds = strtol(optarg, &end, 10);
			if (*end || rounds < 1 || rounds > 1000000)
				goto bad;
			break;
		case 'b':
			bound_ms = strtol(optarg, &end, 10);
			if (*end || bound_ms < 1 || bound_ms > 5000)
				goto bad;
			break;
		case 't':
			limit_s = strtol(optarg, &end, 10);
			if (*end || limit_s < 1 || limit_s > 86400)
				goto bad;
			break;
		case 's':
			seed = strtoull(optarg, &end, 0);
			if (*end)
				goto bad;
			break;
		case 'T':
			trace = true;
			break;
		case 'h':
			print_usage(argv[0]);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	cfg.rounds = rounds;
	cfg.bound = bound_ms * NSEC_PER_MSEC;
	t_limit_s = limit_s;
	if (!seed)
		seed = (unsigned long long)now_ns() ^ ((unsigned long long)getpid() << 32);
	rng_state = seed | 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	printf("1..%d\n", NR_SHAPES);
	printf("# dl_roundtrip: rounds=%d bound_ms=%ld time_limit_s=%ld seed=%llu\n",
	       cfg.rounds, bound_ms, limit_s, seed);
	printf("# runtime %lld us (or %lld), deadline = period = %lld us, away 0-%lld us\n",
	       DL_RUNTIME / NSEC_PER_USEC, DL_RUNTIME_ALT / NSEC_PER_USEC,
	       DL_PERIOD / NSEC_PER_USEC, MAX_AWAY / NSEC_PER_USEC);

	if (trace) {
		trace_fd = open("/sys/kernel/tracing/trace_marker", O_WRONLY | O_CLOEXEC);
		if (trace_fd < 0)
			trace_fd = open("/sys/kernel/debug/tracing/trace_marker",
					O_WRONLY | O_CLOEXEC);
		if (trace_fd < 0)
			printf("# -T: no trace_marker (%s): no marks\n", strerror(errno));
	}
	signal(SIGALRM, on_alarm);
	alarm(limit_s + WATCHDOG_EXTRA);

	if (sched_getaffinity(0, sizeof(cfg.all), &cfg.all)) {
		snprintf(skip, sizeof(skip), "SKIP sched_getaffinity: %s", strerror(errno));
		goto skip_all;
	}
	ncpu = CPU_COUNT(&cfg.all);
	if (ncpu < 2) {
		snprintf(skip, sizeof(skip), "SKIP fewer than 2 CPUs (%d)", ncpu);
		goto skip_all;
	}
	cfg.ctl_cpu = -1;
	for (i = 0; i < CPU_SETSIZE && cfg.ctl_cpu < 0; i++)
		if (CPU_ISSET(i, &cfg.all))
			cfg.ctl_cpu = i;
	CPU_ZERO(&one);
	CPU_SET(cfg.ctl_cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		snprintf(skip, sizeof(skip), "SKIP sched_setaffinity(CPU %d): %s",
			 cfg.ctl_cpu, strerror(errno));
		goto skip_all;
	}
	err = sys_sched_setattr(0, &ctl);
	if (err) {
		snprintf(skip, sizeof(skip), "SKIP controller cannot be SCHED_FIFO: %s",
			 strerror(err));
		goto skip_all;
	}
	printf("# controller: SCHED_FIFO %d on CPU %d; the worker may run on all %d CPUs\n",
	       CTL_PRIO, cfg.ctl_cpu, ncpu);

	t_end = now_ns() + limit_s * NSEC_PER_SEC;
	for (i = 0; i < NR_SHAPES; i++) {
		/* An equal share of the time left for each shape left. */
		share = (t_end - now_ns()) / (NR_SHAPES - i);
		ret = run_shape(i + 1, i, &cfg, now_ns() + share, true);
		/*
		 * A second run of the same length, outside the time limit: the
		 * shapes after it keep their shares.
		 */
		if (ret == 3) {
			t0 = now_ns();
			ret = run_shape(i + 1, i, &cfg, t0 + share, false);
			t_end += now_ns() - t0;
		}
		if (ret == 0)
			n_pass++;
		else if (ret == 1)
			n_fail++;
		else
			n_skip++;
	}
	goto totals;

skip_all:
	for (i = 0; i < NR_SHAPES; i++) {
		report(i + 1, "ok", shape_name[i], skip);
		n_skip++;
	}
totals:
	alarm(0);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n",
	       (int)n_pass, (int)n_fail, (int)n_skip);
	if (n_fail)
		return 1;
	return n_pass ? 0 : 4;

bad:
	print_usage(argv[0]);
	return 1;
}
