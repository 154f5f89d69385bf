"""The ``agentflan`` command line. Each command lives in its own module and registers itself on `app`."""

from __future__ import annotations

import typer

from agentflan import __version__

app = typer.Typer(
    name="agentflan",
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
