"""The ``agentflan`` command line. Each command lives in its own module and registers itself on `app`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentflan.pipeline.machine import watch_others_early

watch_others_early()  # before the imports below, the bulk of a command's start-up

import typer  # noqa: E402
from typer.core import TyperGroup  # noqa: E402

from agentflan import __version__  # noqa: E402

# Commands that begin work from their raw option values (strings, as typed) as soon as they are named, before
# typer parses and converts their options: that costs about 0.14 s (typer imports its conversion machinery on
# the first option), which the early work overlaps. `convert --workers N` starts its workers' fork server where
# they will not fork from the command itself (`workers.prestart`).
EARLY: dict[str, Callable[[dict[str, Any]], None]] = {}


class _Commands(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _begin_early(self, ctx, args)
        return super().parse_args(ctx, args)


def _begin_early(group: TyperGroup, ctx: Any, args: list[str]) -> None:
    """Call the `EARLY` hook of the command ``args`` name (after the group's own flags, which take no value)
    with its raw option values; a command line that does not parse is left for typer to report."""
    at = next((i for i, arg in enumerate(args) if not arg.startswith("-")), None)
    if at is None or (begin := EARLY.get(args[at])) is None or (command := group.get_command(ctx, args[at])) is None:
        return
    try:
        parser = command.make_parser(command.context_class(command, parent=ctx, info_name=args[at]))
        options = parser.parse_args(list(args[at + 1:]))[0]
    except Exception:
        return
    begin(options)


app = typer.Typer(
    name="agentflan",
    cls=_Commands,
    help="Data-centric agent tuning: convert agent corpora, build Agent-FLAN training data, audit, train, evaluate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentflan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """agentflan: an open implementation of Agent-FLAN (arXiv 2403.12881) and beyond."""


def _register() -> None:
    from agentflan.cli import audit, build, convert, evaluate, experiment, train

    for module in (convert, build, audit, train, evaluate, experiment):
        module.register(app)


_register()


def main() -> None:
    app()
