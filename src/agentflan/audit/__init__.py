"""Corpus diagnosis: `agentflan audit` writes ``report.json`` and a self-contained ``report.html``.

One module per section: entanglement (format share), balance (capabilities), negatives (coverage), validity,
duplicates, contamination, shape; report assembles the JSON, html renders it, rules parses ``--fail-on``.
"""

from agentflan.audit.run import AuditOptions, AuditResult, run_audit

__all__ = ["AuditOptions", "AuditResult", "run_audit"]
