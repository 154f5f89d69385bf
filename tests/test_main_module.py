"""``python -m agentflan`` is the ``agentflan`` command (for machines where only the package path is set)."""

from __future__ import annotations

import subprocess
import sys

from agentflan import __version__


def test_python_dash_m_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "agentflan", "--version"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout


def test_python_dash_m_bad_usage_exits_2():
    done = subprocess.run([sys.executable, "-m", "agentflan", "no-such-command"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2
