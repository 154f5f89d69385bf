"""Killing an agentflan command at a chosen point of moving its outputs into place, for the kill tests of
`convert` and `build` (issue 12). Every such step passes through `agentflan.pipeline.run.step`; the command runs
in a new process that SIGKILLs itself just before the n-th one.

    from kills import run_killed
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

KILLER = """
import os, signal, sys
from agentflan.pipeline import run

n, calls = int(sys.argv[1]), [0]
original = run.step
if os.environ.get("NO_EXCHANGE"):
    run._exchange_supported = lambda: False

def step(description, action):
    calls[0] += 1
    if calls[0] == n:
        os.kill(os.getpid(), signal.SIGKILL)
    original(description, action)

run.step = step
from agentflan.cli import app
app(sys.argv[2:], prog_name="agentflan")
"""


def run_killed(workdir: Path, n: int, args: list[str], env: dict[str, str] | None = None) -> int:
    """``agentflan ARGS`` in a new process, killed just before its n-th step of moving outputs into place
    (``NO_EXCHANGE=1`` in ``env``: as on an OS without renameat2); its return code (-9 when killed, 0 when
    it finished first)."""
    script = workdir / "killer.py"
    script.write_text(KILLER)
    done = subprocess.run([sys.executable, str(script), str(n), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)
    assert done.returncode in (0, -signal.SIGKILL), done.stderr
    return done.returncode
