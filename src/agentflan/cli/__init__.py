"""The ``agentflan`` command line. Each command lives in its own module and registers itself on `app` (`COMMANDS`)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterable
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


def _new_app() -> typer.Typer:
    return typer.Typer(
        name="agentflan",
        cls=_Commands,
        help="Data-centric agent tuning: convert agent corpora, build Agent-FLAN training data, audit, train, "
             "evaluate.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentflan {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """agentflan: an open implementation of Agent-FLAN (arXiv 2403.12881) and beyond."""


# The module that registers each command (`register`), in the order `--help` lists them.
COMMANDS = {"convert": "convert", "build": "build", "audit": "audit", "train": "train", "eval": "evaluate",
            "experiment": "experiment"}


def _with(names: Iterable[str]) -> typer.Typer:
    """An app that holds the commands ``names``."""
    import importlib

    out = _new_app()
    out.callback()(_root)
    for name in names:
        importlib.import_module(f"agentflan.cli.{COMMANDS[name]}").register(out)
    return out


app = _with(COMMANDS)


def for_args(args: list[str]) -> typer.Typer:
    """The app to run ``args``: for a line that starts with a command's name, an app that holds that command
    alone (typer builds the options of every command an app holds on each run, about 25 ms of a command's
    start-up, the eval group's half of it; the command runs, fails and explains itself the same in either);
    else `app` (``--help``, ``--version``, a misspelt name, which is answered with the names that exist)."""
    return _with([args[0]]) if args and args[0] in COMMANDS else app


def main() -> None:
    """The ``agentflan`` script and ``python -m agentflan``."""
    try:
        for_args(sys.argv[1:])(prog_name="agentflan")
    finally:
        # The interpreter's last collection as it exits walks every object the imports made (pydantic's schemas,
        # typer's commands): about 35 ms of every command (convert, 50 ReAct records: 0.313 s against 0.278 s,
        # medians of 15). Frozen, they are left to the exit, which frees them anyway.
        gc.freeze()
