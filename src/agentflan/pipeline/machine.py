"""What the machine offers a command's workers: its CPUs, what other processes keep busy (`OtherWork`,
`others_running`), and whether a process still lives (`start_time`). Linux reads /proc; elsewhere these answer
"unknown" (None) or what the standard library can tell.

    >>> usable_cpus() >= 1
    True
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from agentflan.files import proc_stat


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class OtherWork:
    """The CPU time that processes other than this one and ``mine`` use from now on (Linux: /proc/stat, less
    this process's time and theirs), as a number of CPUs kept busy."""

    # Below this much wall time the clock ticks /proc/stat counts in (10 ms) say too little.
    MIN_SECONDS = 0.1

    def __init__(self, mine: Iterable[int] = ()) -> None:
        self.mine = tuple(mine)
        self.start = cpu_of_others(self.mine)

    def too_soon(self) -> bool:
        """Whether too little time has passed to tell (where it can be told at all)."""
        return self.start is not None and time.perf_counter() - self.start[0] < self.MIN_SECONDS

    def cpus(self) -> float | None:
        """CPUs other work kept busy since this was made; None where unknown or too soon to tell."""
        now = cpu_of_others(self.mine)
        if self.start is None or now is None or now[0] - self.start[0] < self.MIN_SECONDS:
            return None
        return max(0.0, (now[1] - self.start[1]) / (now[0] - self.start[0]))


# How old a reading `watch_others_early` took may be and still serve: a busy check answers "is other work
# holding the CPUs now", which a longer window answers less well.
EARLY_READING_SECONDS = 1.0
_early: OtherWork | None = None


def watch_others_early() -> None:
    """Begin measuring other work now, as a command starts (before its imports and option parsing, about
    0.25 s), so that an executor's busy check can already tell at its first task (`other_work`) instead of
    holding back a decision that would pay off. A read of /proc/stat: about 20 µs."""
    global _early
    _early = OtherWork()


def other_work(mine: Iterable[int] = ()) -> OtherWork:
    """Other processes' work (but ``mine``'s): since `watch_others_early` when that was called at most
    `EARLY_READING_SECONDS` ago (once: a later executor measures from its own start), else from now."""
    global _early
    early, _early = _early, None
    if early is None or early.start is None or time.perf_counter() - early.start[0] > EARLY_READING_SECONDS:
        return OtherWork(mine)
    early.mine = tuple(mine)  # started after the early reading (a fork server): all their time is theirs
    return early


def cpu_of_others(mine: Iterable[int] = ()) -> tuple[float, float] | None:
    """(now, the CPU seconds every process but this one and ``mine`` has used since boot); None where /proc/stat
    cannot be read."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
        user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    own = os.times()
    theirs = sum(int(fields[11]) + int(fields[12]) for fields in map(proc_stat, mine) if fields)
    return time.perf_counter(), (user + nice + system + irq + softirq - theirs) / ticks - own.user - own.system


def others_running(mine: Iterable[int] = ()) -> int | None:
    """How many processes (threads) other than this one and ``mine`` are running or ready to run right now
    (Linux: /proc/loadavg); None where that cannot be read."""
    try:
        with open("/proc/loadavg", "rb") as f:
            running = int(f.read().split()[3].split(b"/")[0])
    except (OSError, IndexError, ValueError):
        return None
    return max(0, running - 1 - sum(1 for fields in map(proc_stat, mine) if fields and fields[0] == b"R"))


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (Linux: clock ticks since boot, which tells a reused pid apart), 0 where that
    cannot be read but the process exists or cannot be checked; None once it is gone or a zombie."""
    if os.path.isdir("/proc/self"):
        fields = proc_stat(pid)
        return None if not fields or fields[0] in (b"Z", b"X") else int(fields[19])
    if os.name == "posix":  # macOS, BSD: no /proc
        try:
            os.kill(pid, 0)  # signal 0: only asks whether it exists
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
    return 0  # Windows (where os.kill would end it): unknown
