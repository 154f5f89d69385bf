"""What every command shares: error reporting with the documented exit codes, and the ``--set`` option."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from agentflan.errors import AgentflanError, UsageError

F = TypeVar("F", bound=Callable[..., Any])

err_console = Console(stderr=True)
console = Console()

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a setting of the YAML file: dotted.key=value (repeatable).",
                 metavar="KEY=VALUE"),
]


def handle_errors(fn: F) -> F:
    """Exit 1 with a one-line message on an `AgentflanError`, 2 on a `UsageError`; no traceback for either."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UsageError as exc:
            # Escaped and not wrapped: "pip install agentflan[vllm]" is text, and the message stays one line.
            err_console.print(f"[red]usage error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except AgentflanError as exc:
            err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
