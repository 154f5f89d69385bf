"""The `process` executor's worker processes, from start to end: forked from this process where that is safe
(Linux, no other thread), else from a fork server that imports what they need once (`spawn_pool`), started
early for large inputs (`prestart`) and in the background (`Starting`); what each worker sets up
(`start_worker`: niceness, rarer collections, a spool for large results, a watch on the command); and their stop
(`stop_pool`), which also stops the server.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from agentflan.pipeline.machine import others_running, start_time, usable_cpus

# Inputs from this size on start the workers' fork server while the command is still starting (`prestart`): the
# size of about 2 s of work for the fastest step (convert openai -> openai reads about 20 MB/s on the development
# machine), so that it is rarely started in vain; in vain it costs a CPU that would have idled, about 0.3 s.
PRESTART_BYTES = 32 << 20
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
    before = collect_rarely()
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def collect_rarely() -> tuple[int, int, int]:
    """Freeze what exists out of collections and raise the young generation's threshold; the thresholds before."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(STEP_GC_THRESHOLD, *before[1:])
    return before


class Starting:
    """A pool's workers starting in the background: starting one from a fork server blocks until the server (or
    a spawned interpreter) has imported what workers need, which would otherwise hold this process idle. Forked
    workers are forked here, at once, before the thread that waits for them exists."""

    def __init__(self, pool: Any) -> None:
        self.answers: list[Future[int]] = []
        self.failed: str | None = None
        self._count = pool._max_workers
        forked_here = forks(pool)
        if forked_here:
            self._ask(pool)
        self._thread = in_background(self._start, pool, not forked_here)

    def _ask(self, pool: Any) -> None:
        try:
            for _ in range(self._count):
                self.answers.append(pool.submit(os.getpid))  # a worker answers once it is up
        except Exception as exc:
            self.failed = f"{type(exc).__name__}: {exc}"[:300]

    def _start(self, pool: Any, ask: bool) -> None:
        if ask:
            self._ask(pool)
        try:
            for answer in self.answers:
                answer.result()
        except Exception as exc:  # e.g. BrokenProcessPool: no workers, and the command goes on without them
            self.failed = f"{type(exc).__name__}: {exc}"[:300]

    def wait(self) -> None:
        self._thread.join()

    def ready(self) -> bool:
        """Whether every worker has answered, or starting them failed."""
        return not self._thread.is_alive()


def spawn_pool(workers: int, scratch: str | None = None) -> Any:
    """A pool of ``workers`` processes, which spool large results into ``scratch`` (`spool`)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Forked workers have everything this process imported at no cost and start at once (ReAct 10x: they begin
    # their first tasks 13-23 ms after the decision; a fork server's answered after 0.17 s and cost 0.3 s more
    # CPU). Fork is only safe with no other thread, which a fork would copy in an unknown state (holding a lock
    # the child then waits on forever): otherwise a fork server, one fresh interpreter that imports what the
    # workers need once and forks them (spawn, where there is none, pays a start-up per worker).
    if only_thread():
        context: Any = multiprocessing.get_context("fork")
    elif "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_worker_modules())
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker,
                               initargs=(os.getpid(), scratch))


def only_thread() -> bool:
    """Whether this process runs no thread but the calling one, native threads included (Linux: /proc; elsewhere
    False, and workers do not fork: macOS's system libraries are not safe across a fork)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def forks(pool: Any) -> bool:
    """Whether ``pool`` forks its workers from this process (then it forks them all at its first task, in the
    calling thread)."""
    return bool(pool._mp_context.get_start_method() == "fork")  # private, in every Python this supports


def in_background(fn: Callable[..., Any], *args: Any) -> Any:
    """A started thread running ``fn(*args)`` (to join later)."""
    import threading

    thread = threading.Thread(target=fn, args=args, name=getattr(fn, "__name__", "background"), daemon=True)
    thread.start()
    return thread


def stop_pool(pool: Any) -> None:
    """Shut ``pool`` down and stop the fork server it used."""
    pool.shutdown(cancel_futures=True)
    stop_fork_server()


def stop_fork_server() -> None:
    """Stop this process's fork server, if it runs, so that no process outlives the command and the workers' CPU
    time is counted in the command's (the server reaps them; this process reaps the server)."""
    forkserver = sys.modules.get("multiprocessing.forkserver")  # not imported: none runs (and none is imported)
    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)  # private; absent, it exits with us
    if stop is not None:
        stop()


def fork_server() -> list[int]:
    """This process's fork server, as a list of its pid (none when it does not run), for `machine` to leave out."""
    forkserver = sys.modules.get("multiprocessing.forkserver")  # not imported: none runs
    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)  # private; absent: none
    return [] if pid is None else [pid]


def prestart(workers: int, executor: str | None, inputs: Iterable[str | os.PathLike[str]], modules: list[str],
             min_cpus: int = 2) -> bool:
    """Start the fork server that `process` workers would come from now, while the command is still importing
    and listing, when they are likely to be wanted: ``workers`` > 1 under ``process``, ``min_cpus`` CPUs, no other
    work running on them, and at least `PRESTART_BYTES` of ``inputs``; never where they would fork from this
    process (`only_thread`: a command runs no other thread, the progress bar included). It imports ``modules``
    (``pkg.*``: every module of ``pkg``) on a CPU this process leaves idle meanwhile, so that workers fork at once
    when the measurement asks for them; unused, it is stopped when the executor closes. Whether it was started."""
    if (executor or ("process" if workers > 1 else "local")) != "process" or workers < 2 or only_thread() \
            or usable_cpus() < min_cpus or _input_bytes(inputs, PRESTART_BYTES) < PRESTART_BYTES \
            or (others_running(fork_server()) or 0) >= usable_cpus() - 1:  # other work holds the CPU it would use
        return False
    import multiprocessing  # only now: importing it and its fork server costs a small command about 20 ms

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(expand(modules))
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


def expand(modules: list[str]) -> list[str]:
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


def start_worker(command: int, scratch: str | None) -> None:
    """In a worker: yield the CPU to the parent, whose listing and writing are on every task's path; die with the
    command; spool large results into ``scratch``."""
    from agentflan.pipeline import spool

    spool.configure(scratch)
    os.nice(WORKER_NICENESS)
    die_with(command)
    collect_rarely()  # a worker only runs steps: `few_collections` for its whole life


def die_with(command: int) -> None:
    """In a worker: exit as soon as the process ``command`` or this worker's parent is gone, so that killing a
    command never leaves workers running (they would otherwise wait on their task queue indefinitely). The
    parent may be a fork server, which the workers themselves keep alive, so the command is watched directly."""
    parent, started = os.getppid(), start_time(command)
    if started is None:  # the command was gone before this worker started (killed while it was being forked)
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent and start_time(command) == started:
            time.sleep(0.5)
        os._exit(1)

    in_background(watch)
