"""Where a command's per-batch steps run: in this process (``local``), in worker processes (``process``), or on a
Ray cluster through Ray Data (``ray``). The step is the same function under each, a module-level function of one
task (so that it can be shipped); results come back in task order, whatever ran them, so the files a command
writes are byte-identical under every executor and worker count.

    with open_executor("process", workers=2) as ex:
        for result in ex.map(step, tasks, weight=len, total=total_bytes):
            ...                                     # in task order

``process`` never loses to one process by more than a measurement: it runs the first tasks here and measures
them, and starts workers only when the work it expects to remain outweighs what starting them costs, there are
two CPUs to run them on, and other work did not hold those CPUs while it measured (`OtherWork`). They start from
a fork server, which imports what they need once and forks them, while this process goes on with the tasks; they
take over once all have started. Once they have run for `CHECK_SECONDS` it compares their rate with this
process's alone and, when they are slower (other work holds the CPUs), finishes the rest here. Either way it says
why (`Executor.note`, in the manifest and on stderr). At most ``4 × workers`` tasks are in flight, so memory
stays bounded whatever the input's size.

``ray`` starts a local cluster when no address is given (``--ray-address`` names a running one; the inputs must
then be readable at the same paths on every node) and runs each window of tasks as one Ray Data dataset, in
order (``preserve_order``).
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

from agentflan.errors import UsageError

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "process", "ray")

# Starting a spawned worker (a fresh interpreter importing agentflan and the readers) costs about half a CPU
# second on the development machine; workers start together, so this is the wall time they add, with margin.
STARTUP_SECONDS = 1.0
# How long the first tasks run here before the decision: long enough to measure, short enough not to matter.
PROBE_SECONDS = 0.3
# How long the workers run before their rate is compared with this process's alone.
CHECK_SECONDS = 1.0
# Set (to anything) to start the workers without measuring and never hand back: for tests and benchmarks that
# time or watch the workers themselves.
ALWAYS_ENV = "AGENTFLAN_WORKERS_ALWAYS"
# After this long, workers start at once when the work expected would repay them twice over.
EARLY_SECONDS = 0.05
# Inputs from this size on start the workers' fork server while the command is still starting (`prestart`): the
# size of about 2 s of work for the fastest step (convert openai -> openai reads about 20 MB/s on the development
# machine), so that it is rarely started in vain; in vain it costs a CPU that would have idled, about 0.3 s.
PRESTART_BYTES = 32 << 20
# Whether this process goes on with the tasks while the workers start (tests that must see the workers run on a
# small input turn it off; so does `ALWAYS_ENV`).
WORK_WHILE_STARTING = True
WORKER_NICENESS = 5
# Allocations between young-generation collections while steps run (Python's default: 700). A step makes
# thousands of short-lived models per batch and almost no cycles; at the default, collections took 10% of
# `convert` (react → openai, 13,440 records: 1.99 s of CPU against 1.79 s at this threshold with the objects
# made before the loop frozen).
STEP_GC_THRESHOLD = 50_000


@contextmanager
def few_collections() -> Iterator[None]:
    """Run steps with rarer garbage collections: what exists before (modules, the inputs' ledgers) is frozen
    out of them, and the young generation is collected less often; the settings are restored after."""
    before = _collect_rarely()
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _collect_rarely() -> tuple[int, int, int]:
    """Freeze what exists out of collections and raise the young generation's threshold; the thresholds before."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(STEP_GC_THRESHOLD, *before[1:])
    return before


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Executor:
    """Runs every task in this process."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self.note: str | None = None  # why it ran as it did, when that is not what was asked

    def map(self, fn: Callable[[T], R], tasks: Iterable[T], weight: Callable[[T], int] | None = None,
            total: int | None = None, min_cpus: int = 2) -> Iterator[R]:
        """``fn`` of every task, in task order. ``weight`` (e.g. a task's bytes) and ``total`` (the whole
        input's) let a parallel executor judge whether workers would pay off; ``min_cpus``: the CPUs below which
        they cannot (a caller whose own work per result is large asks for more than 2)."""
        del weight, total, min_cpus
        with few_collections():
            for task in tasks:
                yield fn(task)

    @property
    def ran(self) -> str:
        return self.name

    def describe(self) -> dict[str, Any]:
        """For the manifest: what was asked and what ran."""
        out: dict[str, Any] = {"name": self.name, "workers": self.workers, "ran": self.ran}
        if self.note:
            out["note"] = self.note
        return out

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class ProcessExecutor(Executor):
    """Runs tasks in ``workers`` spawned processes once the work is known to outweigh starting them, and only as
    long as they go faster than this process did alone."""

    name = "process"

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self._pool: Any = None
        self._single = False
        self._used_pool = False
        self._local_rate = 0.0  # weight per second of this process alone, measured on the first tasks
        self._min_cpus = 2
        self._scratch: str | None = None  # where the workers spool large results (`spool`)
        self._stopping: Any = None  # the thread that stops the pool once its last result is in
        self._others: OtherWork | None = None  # what other processes ran while this one measured

    @property
    def ran(self) -> str:
        return "process" if self._used_pool and not self._single else "local"

    def map(self, fn: Callable[[T], R], tasks: Iterable[T], weight: Callable[[T], int] | None = None,
            total: int | None = None, min_cpus: int = 2) -> Iterator[R]:
        with few_collections():
            yield from self._map(fn, tasks, weight, total, min_cpus)

    def _map(self, fn: Callable[[T], R], tasks: Iterable[T], weight: Callable[[T], int] | None,
             total: int | None, min_cpus: int) -> Iterator[R]:
        it = iter(tasks)
        measure = weight or (lambda task: 1)
        known = total if weight else None
        self._min_cpus = min_cpus
        done_weight, started, cpu = 0, time.perf_counter(), time.process_time()
        # (time, weight done) after the first task, whose one-time costs (first calls, caches: 83 ms against 30-45
        # for the next ones on ReAct) would make this process look half as fast as it is, so that workers slower
        # than it were kept: the rate is measured on the tasks after it
        warm: tuple[float, int] | None = None
        self._others = OtherWork()
        while self._pool is None and not self._single:
            task = next(it, None)
            if task is None:
                if self.workers > 1:
                    self.note = (f"the input took {time.process_time() - cpu:.1f} s in one process, less than "
                                 f"starting {self.workers} workers would cost; no workers started")
                return
            done_weight += measure(task)
            yield fn(task)
            now = time.perf_counter()
            wall, seconds = now - started, time.process_time() - cpu
            if warm is None:
                warm = (now, done_weight)
                # even at the first task's slower pace the rest would repay workers twice over: start them now,
                # and measure this process's rate while they start
                if self._clearly_worth(seconds, done_weight, known):
                    self._decide(seconds, done_weight, known)
            elif wall >= PROBE_SECONDS or (wall >= EARLY_SECONDS and self._clearly_worth(seconds, done_weight, known)):
                self._local_rate = _rate(warm, now, done_weight)
                self._decide(seconds, done_weight, known)
        if self._pool is None:
            yield from (fn(task) for task in it)
            return
        # The workers start (a fork server imports what they need, then forks them) while this process goes on
        # with the tasks in order; they take over once every one has answered.
        starting = _Starting(self._pool)
        if not WORK_WHILE_STARTING or os.environ.get(ALWAYS_ENV):
            starting.wait()
        while not starting.ready():
            task = next(it, None)
            if task is None:
                self.note = "the input ran out before the workers had started; ran in one process"
                self._used_pool = False
                return
            done_weight += measure(task)
            yield fn(task)
            if warm is not None and done_weight > warm[1]:
                self._local_rate = _rate(warm, time.perf_counter(), done_weight)
        if starting.failed is None:
            yield from self._parallel(fn, it, measure)
        else:
            self.note = f"the workers could not start ({starting.failed}); ran in one process"
            self._single, self._used_pool = True, False
            _stop_pool(self._pool)
            self._pool = None
        yield from (fn(task) for task in it)

    def _remaining(self, seconds: float, done: int, total: int | None) -> tuple[float | None, float]:
        """(the seconds of work expected after ``done`` of ``total``, or None; the seconds workers must save)."""
        remaining = seconds * (total - done) / done if total is not None and done > 0 else None
        return remaining, STARTUP_SECONDS * self.workers / max(1, self.workers - 1)

    def _clearly_worth(self, seconds: float, done: int, total: int | None) -> bool:
        """Whether workers would pay off twice over (then they start before the full measurement)."""
        remaining, needed = self._remaining(seconds, done, total)
        return remaining is not None and remaining > 2 * needed

    def _decide(self, seconds: float, done: int, total: int | None) -> None:
        """Start workers, or say why not and go on here."""
        cpus = usable_cpus()
        if os.environ.get(ALWAYS_ENV) and self.workers > 1:
            self._start_pool(self.workers)
            self._used_pool = True
            self._local_rate = 0.0  # never hand back
            return
        remaining, needed = self._remaining(seconds, done, total)
        if cpus < self._min_cpus:
            self._single = True
            self.note = (f"{cpus} CPU(s) available: --workers {self.workers} cannot pay off here (this step needs "
                         f"{self._min_cpus}); ran in one process")
        elif self.workers < 2:
            self._single = True
        elif remaining is not None and remaining < needed:
            self._single = True
            self.note = (f"about {remaining:.1f} s of work left after {seconds:.1f} s: starting {self.workers} "
                         f"workers (~{STARTUP_SECONDS:.0f} s) would not pay off; ran in one process")
        elif (others := self._others.cpus() if self._others else None) is not None and others >= cpus - 1.5:
            self._single = True
            self.note = (f"other work held the other CPU(s) (it used {others:.1f} CPUs while this process "
                         f"measured): {self.workers} workers could not pay off; ran in one process")
        else:
            self._start_pool(min(self.workers, max(cpus, 2)))
            self._used_pool = True

    def _parallel(self, fn: Callable[[T], R], tasks: Iterator[T], measure: Callable[[T], int]) -> Iterator[R]:
        """Results from the workers, in order, until ``tasks`` run out or the workers prove slower than this
        process alone (a busy machine): then the tasks in flight are finished and the rest left to the caller."""
        pending: deque[tuple[Future[R], int]] = deque()
        first: float | None = None
        done = 0
        for task in tasks:
            pending.append((self._pool.submit(fn, task), measure(task)))
            while len(pending) > 4 * self.workers:
                future, w = pending.popleft()
                yield future.result()
                now = time.perf_counter()
                if first is None:  # the workers' start-up is paid; their rate counts from their first result
                    first = now
                    continue
                done += w
                if now - first >= CHECK_SECONDS and done / (now - first) < self._local_rate:
                    self.note = (f"{self.workers} workers ran at {done / (now - first) / self._local_rate:.2f}x "
                                 f"the rate of one process (is the machine busy?); finished in one process")
                    self._single = True
                    yield from (f.result() for f, _ in pending)
                    _stop_pool(self._pool)
                    self._pool = None
                    return
        while pending:
            future, _ = pending.popleft()
            result = future.result()
            if not pending:  # the workers and their server exit while the caller handles the last result
                self._stopping = _in_background(_stop_pool, self._pool)
                self._pool = None
            yield result

    def _start_pool(self, workers: int) -> None:
        import tempfile

        self._scratch = tempfile.mkdtemp(prefix="agentflan-spool-")
        self._pool = _spawn_pool(workers, self._scratch)

    def close(self) -> None:
        if self._stopping is not None:
            self._stopping.join()
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        _stop_fork_server()  # also one that `prestart` started for workers that were not wanted
        if self._scratch is not None:
            import shutil

            shutil.rmtree(self._scratch, ignore_errors=True)  # results spooled but never taken (a failed run)
            self._scratch = None


class _Starting:
    """A pool's workers starting in the background: starting one blocks until the fork server (or a spawned
    interpreter) has imported what workers need, which would otherwise hold this process idle."""

    def __init__(self, pool: Any) -> None:
        import threading

        self.answers: list[Future[int]] = []
        self.failed: str | None = None
        self._count = pool._max_workers
        self._thread = threading.Thread(target=self._start, args=(pool,), name="workers-starting", daemon=True)
        self._thread.start()

    def _start(self, pool: Any) -> None:
        try:
            for _ in range(self._count):
                self.answers.append(pool.submit(os.getpid))  # a worker answers once it is up
            for answer in self.answers:
                answer.result()
        except Exception as exc:  # e.g. BrokenProcessPool: no workers, and the command goes on without them
            self.failed = f"{type(exc).__name__}: {exc}"[:300]

    def wait(self) -> None:
        self._thread.join()

    def ready(self) -> bool:
        """Whether every worker has answered, or starting them failed."""
        return not self._thread.is_alive()


def _rate(warm: tuple[float, int], now: float, done: int) -> float:
    """Weight per second since ``warm`` (time, weight done then)."""
    since, before = warm
    return (done - before) / max(now - since, 1e-9)


def _spawn_pool(workers: int, scratch: str | None = None) -> Any:
    """A pool of ``workers`` processes, which spool large results into ``scratch`` (`spool`)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Not fork: the parent may hold threads (the progress bar), which fork would copy in an unknown state. A fork
    # server is one fresh interpreter that imports what the workers need once and forks them: starting two workers
    # costs one start-up instead of two (spawn, where there is no fork server, pays one each).
    context: Any = multiprocessing.get_context("spawn")
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_worker_modules())
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(os.getpid(), scratch))


def _in_background(fn: Callable[..., Any], *args: Any) -> Any:
    """A started thread running ``fn(*args)`` (to join later)."""
    import threading

    thread = threading.Thread(target=fn, args=args, name=fn.__name__, daemon=True)
    thread.start()
    return thread


def _stop_pool(pool: Any) -> None:
    """Shut ``pool`` down and stop the fork server it used."""
    pool.shutdown(cancel_futures=True)
    _stop_fork_server()


def _stop_fork_server() -> None:
    """Stop this process's fork server, if it runs, so that no process outlives the command and the workers' CPU
    time is counted in the command's (the server reaps them; this process reaps the server)."""
    forkserver = sys.modules.get("multiprocessing.forkserver")  # not imported: none runs (and none is imported)
    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)  # private; absent, it exits with us
    if stop is not None:
        stop()


class OtherWork:
    """The CPU time that processes other than this one and its fork server use from now on (Linux: /proc/stat,
    less this process's time and its server's), as a number of CPUs kept busy."""

    # Below this much wall time the clock ticks /proc/stat counts in (10 ms) say too little.
    MIN_SECONDS = 0.05

    def __init__(self) -> None:
        self.start = cpu_of_others()

    def cpus(self) -> float | None:
        """CPUs other work kept busy since this was made; None where unknown or too soon to tell."""
        now = cpu_of_others()
        if self.start is None or now is None or now[0] - self.start[0] < self.MIN_SECONDS:
            return None
        return max(0.0, (now[1] - self.start[1]) / (now[0] - self.start[0]))


def cpu_of_others() -> tuple[float, float] | None:
    """(now, the CPU seconds every process but this one and its fork server has used since boot); None where
    /proc/stat cannot be read."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
        user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    own = os.times()
    return time.perf_counter(), (user + nice + system + irq + softirq) / ticks - own.user - own.system \
        - _fork_server_cpu(ticks)


def _fork_server_cpu(ticks: int) -> float:
    """The CPU seconds this process's fork server has used (importing what workers need), 0 when none runs."""
    fields = _fork_server_stat()
    return (int(fields[11]) + int(fields[12])) / ticks if fields else 0.0


def _fork_server_stat() -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name, of this process's fork server; None when none runs."""
    forkserver = sys.modules.get("multiprocessing.forkserver")  # not imported: none runs
    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)  # private; absent: none
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()
    except OSError:
        return None


def others_running() -> int | None:
    """How many processes (threads) other than this one and its workers' fork server are running or ready to run
    right now (Linux: /proc/loadavg); None where that cannot be read."""
    try:
        with open("/proc/loadavg", "rb") as f:
            running = int(f.read().split()[3].split(b"/")[0])
    except (OSError, IndexError, ValueError):
        return None
    return max(0, running - 1 - _fork_server_running())


def _fork_server_running() -> int:
    """1 while this process's fork server is running (importing what workers need), else 0."""
    fields = _fork_server_stat()
    return 1 if fields and fields[0] == b"R" else 0


def prestart(workers: int, executor: str | None, inputs: Iterable[str | os.PathLike[str]], modules: list[str],
             min_cpus: int = 2) -> bool:
    """Start the fork server that `process` workers would come from now, while the command is still importing
    and listing, when they are likely to be wanted: ``workers`` > 1 under ``process``, ``min_cpus`` CPUs, and
    at least `PRESTART_BYTES` of ``inputs``. It imports ``modules`` (``pkg.*``: every module of ``pkg``) on a CPU
    this process leaves idle meanwhile, so that workers fork at once when the measurement asks for them; unused,
    it is stopped when the executor closes. Whether it was started."""
    if (executor or ("process" if workers > 1 else "local")) != "process" or workers < 2 \
            or usable_cpus() < min_cpus or _input_bytes(inputs, PRESTART_BYTES) < PRESTART_BYTES \
            or (others_running() or 0) >= usable_cpus() - 1:  # other work holds the CPU it would use
        return False
    import multiprocessing  # only now: importing it and its fork server costs a small command 30 ms

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(_expand(modules))
    forkserver.ensure_running()  # spawns the server and returns; the server imports on its own
    return True


def _input_bytes(inputs: Iterable[str | os.PathLike[str]], enough: int) -> int:
    """The bytes of the files ``inputs`` name (folders walked), counted until ``enough``."""
    total = 0
    for item in inputs:
        for root, _, names in os.walk(item) if os.path.isdir(item) else [("", [], [os.fspath(item)])]:
            for name in names:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except OSError:
                    continue
                if total >= enough:
                    return total
    return total


def _expand(modules: list[str]) -> list[str]:
    """``modules`` with each ``pkg.*`` replaced by ``pkg``'s modules, found without importing ``pkg``."""
    import importlib.util
    import pkgutil

    out: list[str] = []
    for name in modules:
        if not name.endswith(".*"):
            out.append(name)
            continue
        package = name[:-2]
        spec = importlib.util.find_spec(package)
        out.append(package)
        if spec is not None and spec.submodule_search_locations is not None:
            out += [f"{package}.{m.name}" for m in pkgutil.iter_modules(spec.submodule_search_locations)]
    return out


def _worker_modules() -> list[str]:
    """What a worker will import: this package's modules that this process has imported (the step, its readers
    and writers, and the command line, which the ``agentflan`` script imports again in every child)."""
    return sorted(name for name in list(sys.modules) if name.partition(".")[0] == __package__.partition(".")[0]
                  and not name.endswith("__main__"))


def _start_worker(command: int, scratch: str | None) -> None:
    """In a worker: yield the CPU to the parent, whose listing and writing are on every task's path; die with the
    command; spool large results into ``scratch``."""
    from agentflan.pipeline import spool

    spool.configure(scratch)
    os.nice(WORKER_NICENESS)
    die_with(command)
    _collect_rarely()  # a worker only runs steps: `few_collections` for its whole life


def die_with(command: int) -> None:
    """In a worker: exit as soon as the process ``command`` or this worker's parent is gone, so that killing a
    command never leaves workers running (they would otherwise wait on their task queue indefinitely). The
    parent may be a fork server, which the workers themselves keep alive, so the command is watched directly."""
    import threading

    parent, started = os.getppid(), _start_time(command)
    if started is None:  # the command was gone before this worker started (killed while it was being forked)
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent and _start_time(command) == started:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-command", daemon=True).start()


def _start_time(pid: int) -> int | None:
    """When process ``pid`` started (Linux: clock ticks since boot, which tells a reused pid apart), 0 where that
    cannot be read but the process exists or cannot be checked; None once it is gone or a zombie."""
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
        except FileNotFoundError:
            return None
        return None if fields[0] in (b"Z", b"X") else int(fields[19])
    if os.name == "posix":  # macOS, BSD: no /proc
        try:
            os.kill(pid, 0)  # signal 0: only asks whether it exists
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
    return 0  # Windows (where os.kill would end it): the parent is watched alone


class RayExecutor(Executor):
    """Runs tasks on a Ray cluster through Ray Data: a local one of ``workers`` CPUs, or the one at ``address``."""

    name = "ray"
    # Tasks per Ray Data dataset: each dataset costs a scheduling round trip, so windows are large; the window
    # bounds what the driver holds.
    WINDOW = 256

    def __init__(self, workers: int, address: str | None = None) -> None:
        super().__init__(workers)
        try:
            import ray
        except ImportError:
            raise UsageError("--executor ray needs Ray Data: pip install 'agentflan[ray]'") from None
        self._started = False
        if not ray.is_initialized():
            ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
            self._started = True
        import logging

        import ray.data

        logging.getLogger("ray.data").setLevel(logging.ERROR)  # per-dataset INFO lines on stderr
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        context.print_on_execution_start = False

    def map(self, fn: Callable[[T], R], tasks: Iterable[T], weight: Callable[[T], int] | None = None,
            total: int | None = None, min_cpus: int = 2) -> Iterator[R]:
        window: list[T] = []
        for task in tasks:
            window.append(task)
            if len(window) >= self.WINDOW:
                yield from self._run(fn, window)
                window = []
        if window:
            yield from self._run(fn, window)

    def _run(self, fn: Callable[[T], R], window: list[T]) -> Iterator[R]:
        import ray.data

        rows = [{"task": pickle.dumps(task)} for task in window]
        dataset = ray.data.from_items(rows, override_num_blocks=min(len(rows), 4 * self.workers))
        for row in dataset.map_batches(_RayStep(fn), batch_size=None, batch_format="pandas").iter_rows():
            yield pickle.loads(row["result"])

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()


class _RayStep:
    """The step as Ray Data calls it: a batch of pickled tasks in, a batch of pickled results out."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, batch: Any) -> Any:
        import pandas as pd

        return pd.DataFrame({"result": [pickle.dumps(self.fn(pickle.loads(t))) for t in batch["task"]]})


def open_executor(name: str | None, workers: int = 1, ray_address: str | None = None) -> Executor:
    """The executor ``name`` (one of `EXECUTORS`; None: local, or process when ``workers`` > 1); `UsageError`
    for another name, a worker count below 1, or a Ray address without Ray."""
    if workers < 1:
        raise UsageError(f"--workers {workers}: give 1 or more")
    name = name or ("process" if workers > 1 else "local")
    if ray_address and name != "ray":
        raise UsageError("--ray-address needs --executor ray")
    if name == "local":
        if workers > 1:
            raise UsageError("--workers needs --executor process or ray")
        return Executor()
    if name == "process":
        return ProcessExecutor(workers)
    if name == "ray":
        return RayExecutor(workers, ray_address)
    raise UsageError(f"--executor {name}: choose from {', '.join(EXECUTORS)}")


def note(executor: Executor) -> None:
    """Tell the user why the executor ran otherwise than asked (stderr: stdout may be piped)."""
    if executor.note:
        print(f"note: {executor.note}", file=sys.stderr)
