"""Error types shared by every stage.

`RecordError` rejects one record and lets the run continue; `UsageError` and `InputError` stop the command
(exit 2 and 1) because nothing useful can be done without fixing them.
"""

from __future__ import annotations


class AgentflanError(Exception):
    """A failure that ends the command with exit code 1 and a one-line message (no traceback)."""


class InputError(AgentflanError):
    """An input file cannot be opened or read at all."""


class ConfigError(AgentflanError):
    """A recipe or config file is invalid; the message names the file and the field."""


class UsageError(AgentflanError):
    """Bad command-line usage (exit code 2)."""


class RecordError(ValueError):
    """One record is defective: it is rejected with this reason, the rest of the data is processed.

    ``reason`` is a short stable code used for counting (``rejects_by_reason``); ``detail`` says what exactly
    was wrong; ``field`` is a dotted path to the offending field when one can be named.
    """

    def __init__(self, reason: str, detail: str = "", field: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        self.field = field
        super().__init__(f"{reason}: {detail}" if detail else reason)
