"""Looking at ``report.html`` in a real headless Chromium: the DOM it renders, the console messages it logs,
and a screenshot. Used by the browser test and by ``scripts/screenshot_audit.py``; needs a ``chromium``
binary (Debian: ``apt-get install chromium``) and nothing from the network."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Offline, quiet, no first-run work: the page must render from the file alone.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000")
_CONSOLE = re.compile(r":(?:INFO|WARNING|ERROR):CONSOLE[^\]]*\]\s*(?P<message>.*)")


def find_chromium() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


@dataclass
class PageCheck:
    dom: str
    console: list[str]  # every console message the page logged

    @property
    def console_errors(self) -> list[str]:
        # A self-contained report logs nothing at all; any message is worth failing on.
        return self.console


def _run(binary: str, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="agentflan-chromium-") as profile:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=timeout, check=False)


def check_page(html: Path, binary: str | None = None, timeout: float = 90) -> PageCheck:
    """Load the page and return its rendered DOM and console messages."""
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("no chromium binary on PATH (Debian: apt-get install chromium)")
    proc = _run(binary, ["--dump-dom", html.resolve().as_uri()], timeout)
    console = [m.group("message") for m in map(_CONSOLE.search, proc.stderr.splitlines()) if m]
    return PageCheck(dom=proc.stdout, console=console)


def screenshot(html: Path, out: Path, width: int = 1280, height: int = 2400, binary: str | None = None,
               timeout: float = 90) -> Path:
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("no chromium binary on PATH (Debian: apt-get install chromium)")
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = _run(binary, [f"--screenshot={out.resolve()}", f"--window-size={width},{height}", html.resolve().as_uri()],
                timeout)
    if not out.exists():
        raise RuntimeError(f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-500:]}")
    return out
