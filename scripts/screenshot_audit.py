"""Audit real corpora and an `agentflan build` output together, check the page in headless Chromium and save
the screenshot in docs/ (the one docs/audit.md shows).

    python scripts/screenshot_audit.py                     # builds recipes/agent-flan.yaml into out/ first
    python scripts/screenshot_audit.py --built out/agent-flan/canonical.jsonl -o docs/audit-report.png

Exits 1 when the page logs anything to the console or lacks its charts. Needs Debian's chromium.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from agentflan.audit.browser import check_page, find_chromium, screenshot
from agentflan.audit.run import AuditOptions, run_audit
from agentflan.paths import data_root

REPO = Path(__file__).resolve().parents[1]
CORPORA = ["FireAct/gpt_format", "agent-data-protocol", "ToolBench/data_example/answer", "ToolTalk/data/tooltalk",
           "api-bank/lv1-lv2-samples"]
AGAINST = ["gorilla/bfcl_v4/BFCL_v4_simple_python.json", "gorilla/bfcl_v4/BFCL_v4_irrelevance.json"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--built", type=Path, help="canonical.jsonl of a build (default: build it now)")
    parser.add_argument("--report-dir", type=Path, default=REPO / "out" / "audit-demo")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "docs" / "audit-report.png")
    args = parser.parse_args()
    if find_chromium() is None:
        print("chromium not found: apt-get install chromium", file=sys.stderr)
        return 1
    built = args.built
    if built is None:
        build_dir = REPO / "out" / "agent-flan"
        subprocess.run([sys.executable, "-c", "from agentflan.cli import main; main()", "build", str(REPO / "recipes" / "agent-flan.yaml"),
                        "-o", str(build_dir), "-q"], check=True, cwd=REPO)
        built = build_dir / "canonical.jsonl"
    root = data_root()
    inputs = [root / c for c in CORPORA if (root / c).exists()] + [built]
    against = tuple(root / a for a in AGAINST if (root / a).exists())
    result = run_audit(inputs, args.report_dir, AuditOptions(against=against))
    page = check_page(result.html_path)
    charts = page.dom.count("<svg")
    print(f"report: {result.html_path} ({result.report['records']} records); charts in DOM: {charts}; "
          f"console messages: {len(page.console_errors)}")
    for message in page.console_errors:
        print(f"  console: {message}", file=sys.stderr)
    shot = screenshot(result.html_path, args.output)
    print(f"screenshot: {shot}")
    return 1 if page.console_errors or charts < 4 else 0


if __name__ == "__main__":
    sys.exit(main())
