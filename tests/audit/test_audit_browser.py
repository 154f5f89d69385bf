"""The report in a real headless Chromium: charts render, the console stays silent, a screenshot is taken.

Skips (saying why) where no chromium binary exists; CI's `.ci/run` installs Debian's chromium so it runs there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from agentflan.audit.browser import check_page, find_chromium, screenshot
from agentflan.audit.charts import COLOURS
from agentflan.audit.run import AuditOptions, run_audit

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")


def test_console_scan_catches_errors(tmp_path: Path) -> None:
    # The silent-console assertion below means something only if a broken page is caught.
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><script>console.error("boom"); missingFunction();</script></body></html>')
    console = check_page(bad).console_errors
    assert any("boom" in m for m in console) and any("missingFunction" in m for m in console)


def test_report_renders_charts_without_console_errors(corpus: Path, tmp_path: Path) -> None:
    result = run_audit([corpus], tmp_path / "out", AuditOptions(show_progress=False))
    page = check_page(result.html_path)
    assert page.console_errors == []
    assert page.dom.count("<svg") >= 4, "charts missing from the rendered DOM"
    assert "5. Duplicates" in page.dom and 'id="ex-0"' in page.dom
    png = screenshot(result.html_path, tmp_path / "shot.png", height=1600)
    pixels = (imread(png)[..., :3] * 255).round().astype(int)
    red = np.array([int(COLOURS["instruction_following"][i : i + 2], 16) for i in (1, 3, 5)])
    # The format-share bar is drawn in this colour: enough such pixels means the SVG charts were painted.
    assert (np.abs(pixels - red).sum(axis=-1) < 12).sum() > 2000
