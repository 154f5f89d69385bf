"""Where a command's per-batch steps run: in this process (``local``), in worker processes (``process``), or on a
Ray cluster through Ray Data (``ray``). The step is the same function under each, a module-level function of one
task (so that it can be shipped); results come back in task order, whatever ran them, so the files a command
writes are byte-identical under every executor and worker count.

    with open_executor("process", workers=2) as ex:
        for result in ex.map(step, tasks, weight=len, total=total_bytes):
            ...                                     # in task order

``process`` never loses to one process by more than a measurement: it runs the first tasks here and measures
them, and starts workers only when the work it expects to remain outweighs what starting them costs, there are
two CPUs to run them on, and other work did not hold those CPUs while it measured (`machine.OtherWork`). They
fork from this process, which runs no other thread, and take the tasks at once while the next one runs here
(else they come from a fork server, which imports what they need once and forks them, while this process goes
on with the tasks; they take over once all have started: `workers`). The first tasks are small
(`batches.FIRST_BATCH` records), so that little runs before the decision while a CPU idles; the estimate is
taken from the second on, as the first's time holds the step's one-time costs. Once they have run for
`CHECK_SECONDS`, when they have taken longer than one process would have alone (the CPU time of their steps
and of this process: other work holds the CPUs), it finishes the rest here. Either way it says why
(`Executor.note`, in the manifest and on stderr). A task of no weight (no work: a reject found while listing)
runs here, as shipping it would cost more; light tasks (a small file's) go to a worker together, up to
`BUNDLE_WEIGHT`. At most ``4 × workers`` hand-overs are in flight, so memory stays bounded whatever the input's
size.

``ray`` starts a local cluster when no address is given (``--ray-address`` names a running one; the inputs must
then be readable at the same paths on every node) and runs each window of tasks as one Ray Data dataset, in
order (``preserve_order``).
"""

from __future__ import annotations

import os
import pickle
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from itertools import chain
from types import TracebackType
from typing import Any, TypeVar

from agentflan.errors import AgentflanError, UsageError
from agentflan.pipeline.machine import OtherWork, other_work, usable_cpus
from agentflan.pipeline.workers import (
    Starting,
    few_collections,
    fork_server,
    forks,
    in_background,
    spawn_pool,
    stop_fork_server,
    stop_pool,
)

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "process", "ray")

# What workers must save before they pay off. On the development machine forked workers begin their first
# tasks 13-23 ms after the decision (ReAct 10x; a fork server, where they cannot fork, costs 0.3 s of CPU on a CPU that would idle), and shipping
# work to them keeps 2 workers' CPU time up to 10% above one process's (ReAct 30x: 5.4-5.5 s against 4.9-5.5),
# so 2 workers break even at about 0.1 s of work left. With margin, 0.6 s must be left: the shared ReAct file 6
# times over (1.2 s alone) runs 1.40-1.44x faster with 2 workers, 5 times over runs alone.
STARTUP_SECONDS = 0.3
# How long the first tasks run here before the decision: long enough to measure, short enough not to matter.
PROBE_SECONDS = 0.3
# How long after their first result the workers' time is first compared with one process's (`_slower_than_alone`).
CHECK_SECONDS = 1.0
# Tasks go to a worker together up to this weight (a heavier one goes alone), handed over when the next would
# pass it: a small file's task (API-Bank: a 1.5 KB dialogue, about 1 ms of work) cost the command about a third
# of that to hand over and take back. A ReAct batch of 256 lines weighs about 290 KB.
BUNDLE_WEIGHT = 64 << 10
# Results that may wait behind one a worker has not returned (tasks of no work run here at once, and queue).
WAITING_RESULTS = 256
# Set (to anything) to start the workers without measuring and never hand back: for tests and benchmarks that
# time or watch the workers themselves.
ALWAYS_ENV = "AGENTFLAN_WORKERS_ALWAYS"
# Whether this process goes on with the tasks while the workers start (tests that must see the workers run on a
# small input turn it off; so does `ALWAYS_ENV`).
WORK_WHILE_STARTING = True


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
        # whether a task that held work has run: the first one's time holds the step's one-time costs (first
        # calls, caches, imports), which would make the work left look larger than it is
        warm = False
        cheapest: float | None = None  # the least CPU seconds per weight a task after the first took here
        self._others = other_work(fork_server())
        while self._pool is None and not self._single:
            task = next(it, None)
            if task is None:
                if self.workers > 1:
                    self.note = (f"the input took {time.process_time() - cpu:.1f} s in one process, less than "
                                 f"starting {self.workers} workers would cost; no workers started")
                return
            task_weight = measure(task)
            done_weight += task_weight
            began_cpu = time.process_time()
            yield fn(task)
            now = time.perf_counter()
            wall, seconds = now - started, time.process_time() - cpu
            if not warm:
                warm = task_weight > 0  # else a reject found while listing: no work
                continue
            if task_weight > 0:
                cost = (time.process_time() - began_cpu) / task_weight
                cheapest = cost if cheapest is None else min(cheapest, cost)
            # even at the cheapest pace a task went (the input's hash and listing left out: workers do not share
            # them) the rest would repay workers twice over: decide now, else after `PROBE_SECONDS`
            if cheapest is not None and self._clearly_worth(cheapest * done_weight, done_weight, known):
                seconds = cheapest * done_weight
            elif wall < PROBE_SECONDS:
                continue
            self._decide(seconds, done_weight, known)
        if self._pool is None:
            yield from (fn(task) for task in it)
            return
        # Forked workers take the tasks at once, while the next one runs here.
        # Workers from a fork server (which first imports what they need) start while this process goes on with
        # the tasks in order; they take over once every one has answered.
        here: T | None = None
        alone = not WORK_WHILE_STARTING or bool(os.environ.get(ALWAYS_ENV))  # the workers run every task left
        if forks(self._pool) and not alone and (here := next(it, None)) is None:
            self._used_pool = False  # no task left: the workers were never started
            return
        starting = Starting(self._pool)
        if alone:
            starting.wait()
        # Only workers from a fork server are waited for with tasks here: forked ones are up within milliseconds,
        # before a task here would end, which would hold one CPU while the other idled (ReAct 10x: 35 ms).
        while here is None and not starting.ready():
            task = next(it, None)
            if task is None:
                self.note = "the input ran out before the workers had started; ran in one process"
                self._used_pool = False
                return
            yield fn(task)
        if starting.failed is None:
            yield from self._parallel(fn, it, measure, here)
        else:
            self.note = f"the workers could not start ({starting.failed}); ran in one process"
            self._single, self._used_pool = True, False
            stop_pool(self._pool)
            self._pool = None
            yield from (fn(task) for task in ([] if here is None else [here]))
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
                         f"workers (~{STARTUP_SECONDS:.1f} s) would not pay off; ran in one process")
        elif self._others is not None and self._others.too_soon():
            return  # the busy check cannot tell yet (a decision on the first tasks): decide at a later one
        elif (others := self._others.cpus() if self._others else None) is not None and others >= cpus - 1.5:
            self._single = True
            self.note = (f"other work held the other CPU(s) (it used {others:.1f} CPUs while this process "
                         f"measured): {self.workers} workers could not pay off; ran in one process")
        else:
            started = min(self.workers, max(cpus, 2))
            if started < self.workers:  # more would only share the same CPUs
                self.note = f"{cpus} CPUs available: started {started} workers, not {self.workers}"
            self._start_pool(started)
            self._used_pool = True

    def _parallel(self, fn: Callable[[T], R], tasks: Iterator[T], measure: Callable[[T], int],
                  here: T | None = None) -> Iterator[R]:
        """Results from the workers, in order, until ``tasks`` run out or the workers prove slower than this
        process would be alone (a busy machine): then the tasks in flight are finished and the rest left to the
        caller. ``here``, a task before ``tasks``, runs in this process once the workers have tasks of their own
        (and before any result leaves). Light tasks go to a worker together (`BUNDLE_WEIGHT`)."""
        from concurrent.futures.process import BrokenProcessPool

        # (future of each task's (result, CPU seconds), the tasks, their weight), in task order
        pending: deque[tuple[Future[list[tuple[R, float]]], list[T], int]] = deque()
        handed, held = 0, 0  # bundles handed to the workers in all, and of those the ones not yet returned
        bundle: list[T] = []  # tasks gathered for the next hand-over
        weight = 0
        # From the workers' first result (their start-up paid): (when, this process's CPU seconds then), and the
        # CPU seconds the workers' steps took since, which one process alone would have spent on them too.
        first: tuple[float, float] | None = None
        steps = 0.0
        try:
            for task in chain(tasks, [None]):  # None: the end, which hands over what is gathered
                w = 0 if task is None else measure(task)
                if bundle and (task is None or w == 0 or weight + w > BUNDLE_WEIGHT):
                    pending.append((self._pool.submit(_timed, fn, bundle), bundle, weight))
                    bundle, weight = [], 0  # only once handed over: a pool that breaks meanwhile leaves it here
                    handed, held = handed + 1, held + 1
                if task is not None and w > 0:
                    bundle.append(task)
                    weight += w
                elif task is not None:  # no work (a reject found while listing): shipping it costs more
                    pending.append((_done([(fn(task), 0.0)]), [task], 0))
                if here is not None and held >= 2 * self.workers:
                    yield fn(here)
                    here = None
                # Results leave in order as soon as they are in; this process waits for one only while the
                # workers hold enough tasks to stay busy, or too many results wait behind it.
                while pending and (held > 4 * self.workers or len(pending) > WAITING_RESULTS
                                   or pending[0][0].done()):
                    if here is not None:  # before it, in task order
                        yield fn(here)
                        here = None
                    future, _, w = pending[0]
                    results = future.result()
                    pending.popleft()
                    yield from (result for result, _ in results)
                    if w == 0:
                        continue
                    held -= 1
                    if first is None:
                        first = (time.perf_counter(), time.process_time())
                        continue
                    steps += sum(seconds for _, seconds in results)
                    if self._slower_than_alone(first, steps):
                        self._single = True
                        yield from _in_order(pending)
                        stop_pool(self._pool)
                        self._pool = None
                        yield from (fn(task) for task in bundle)  # gathered, not handed over
                        return
            if here is not None:  # fewer tasks than that
                yield fn(here)
                here = None
                if handed == 0:
                    self.note = "the input ran out before the workers had a task; ran in one process"
                    self._used_pool = False
            yield from _in_order(pending, last=self._stop_in_background)
        except BrokenProcessPool as exc:
            # A worker died (killed, out of memory): the tasks it and the others held run again here, in order,
            # then those being handed over or gathered; a step gives the same result wherever it runs.
            self.note = f"a worker died ({exc}); finished in one process"[:300]
            self._single = True
            stop_pool(self._pool)
            self._pool = None
            yield from (fn(task) for task in ([] if here is None else [here]))
            yield from (fn(task) for _, held_tasks, _ in pending for task in held_tasks)
            yield from (fn(task) for task in bundle)

    def _slower_than_alone(self, first: tuple[float, float], steps: float) -> bool:
        """Whether, `CHECK_SECONDS` or more after their first result, the workers have taken longer than one
        process alone would have: the CPU seconds of their steps since then and of this process's own work
        (listing, writing), which is how long it would have run them, whatever their kind (a rate in bytes
        would compare one format's tasks with another's). Then it says so."""
        since, cpu = first
        wall = time.perf_counter() - since
        if wall < CHECK_SECONDS or os.environ.get(ALWAYS_ENV):
            return False
        alone = steps + time.process_time() - cpu
        if wall <= alone:
            return False
        self.note = (f"{self.workers} workers took {wall:.1f} s for what one process would have done in about "
                     f"{alone:.1f} s (is the machine busy?); finished in one process")
        return True

    def _stop_in_background(self) -> None:
        """The workers and their server exit while the caller handles the last result."""
        self._stopping = in_background(stop_pool, self._pool)
        self._pool = None

    def _start_pool(self, workers: int) -> None:
        from agentflan.pipeline import spool

        self._scratch = spool.new_folder()
        self._pool = spawn_pool(workers, self._scratch)

    def close(self) -> None:
        if self._stopping is not None:
            self._stopping.join()
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        stop_fork_server()  # also one that `workers.prestart` started for workers that were not wanted
        if self._scratch is not None:
            import shutil

            shutil.rmtree(self._scratch, ignore_errors=True)  # results spooled but never taken (a failed run)
            self._scratch = None


def _in_order(pending: deque[tuple[Future[list[tuple[R, float]]], Any, int]],
              last: Callable[[], None] | None = None) -> Iterator[R]:
    """The results of ``pending`` (future of each task's (result, CPU seconds), tasks, weight), in order, each
    entry removed once its results are in (so that a worker dying meanwhile leaves exactly the tasks not yet
    returned); ``last`` is called before the last."""
    while pending:
        results = pending[0][0].result()
        pending.popleft()
        if not pending and last is not None:
            last()
        yield from (result for result, _ in results)


def _timed(fn: Callable[[T], R], tasks: list[T]) -> list[tuple[R, float]]:
    """``fn`` of each task, with the CPU seconds it took (in a worker)."""
    out = []
    for task in tasks:
        began = time.process_time()
        out.append((fn(task), time.process_time() - began))
    return out


def _done(result: R) -> Future[R]:
    """A future that holds ``result`` already."""
    future: Future[R] = Future()
    future.set_result(result)
    return future


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
            try:
                ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
            except ValueError as exc:  # an address Ray cannot parse
                raise UsageError(f"--ray-address {address}: {exc}") from None
            except Exception as exc:  # no cluster there, or it refused us (Ray raises several kinds)
                where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
                raise AgentflanError(f"cannot start or reach {where}: {type(exc).__name__}: {exc}") from None
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
