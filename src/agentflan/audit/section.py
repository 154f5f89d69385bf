"""The contract between the audit run and its sections: a `Section` sees every audited record once (`add`) and
then reports (`report`) its part of ``report.json`` and the flat metrics ``--fail-on`` reads.

A new check is a new module with one class implementing `Section`, listed in `audit.run.sections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agentflan.audit.record import AuditedRecord


@dataclass
class Findings:
    """A section's part of the report: its top-level ``report.json`` entries, and its metrics."""

    report: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)


class Section(Protocol):
    def add(self, rec: AuditedRecord) -> None:
        """Look at one record (called once per record, in input order)."""

    def report(self) -> Findings:
        """What the section found, once every record was added."""
