"""``report.html``: one self-contained page (inline CSS and SVG, no scripts, nothing fetched), rendered from
``report.json``'s dict with a sandboxed Jinja2 environment so data can never run template code."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from agentflan.audit import charts
from agentflan.files import write_text_atomic

TEMPLATE = "report.html"


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda x: f"{x:.1%}" if isinstance(x, int | float) else "–"
    return env


def render_html(report: dict[str, Any]) -> str:
    anchors = {rid: f"ex-{i}" for i, rid in enumerate(report["examples"])}
    # Charts are produced by our own code from numbers, so they are marked safe; everything else is escaped.
    svgs = {
        "format": charts.format_share_chart(report["format"]["by_source"]) if report["format"]["by_source"] else "",
        "capabilities": charts.capability_chart(report["capability_balance"]["by_source"])
        if report["capability_balance"]["by_source"] else "",
        "validity": charts.validity_chart(report["validity"]),
        "shape": charts.shape_chart(report["shape"]["stats"]) if report["records"] else "",
    }
    source = resources.files("agentflan.audit").joinpath(TEMPLATE).read_text(encoding="utf-8")
    template = _environment().from_string(source)
    return template.render(r=report, charts={k: Markup(v) for k, v in svgs.items()}, anchors=anchors)


def write_html(report: dict[str, Any], path: Path) -> None:
    """Render and write atomically (a reader never sees half a page)."""
    write_text_atomic(path, render_html(report))
