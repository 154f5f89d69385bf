"""What every command shares: error reporting with the documented exit codes, the ``--set`` option, and the
one-line message that names the extra to install when a command needs one."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from agentflan.errors import AgentflanError, InputError, UsageError
from agentflan.pipeline.progress import LazyConsole

if TYPE_CHECKING:
    from rich.table import Table

F = TypeVar("F", bound=Callable[..., Any])

err_console = LazyConsole(stderr=True)
console = LazyConsole()

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a setting of the YAML file: dotted.key=value (repeatable).",
                 metavar="KEY=VALUE"),
]

ExecutorOption = Annotated[
    str | None,
    typer.Option("--executor", help="Where the work runs: local (this process), process (--workers processes; "
                 "runs in one when workers would not pay off, and says so) or ray (Ray Data: a local cluster of "
                 "--workers CPUs, or --ray-address; pip install 'agentflan\\[ray]'). Default: local, or process with "
                 "--workers > 1. The files written are the same under each.", metavar="local|process|ray"),
]
WorkersOption = Annotated[int, typer.Option("--workers", min=1, help="Processes (or Ray CPUs) that do the work.")]
RayAddressOption = Annotated[
    str | None,
    typer.Option("--ray-address", help="A running Ray cluster for --executor ray (e.g. ray://head:10001); the "
                 "inputs must be readable at the same paths on its nodes. Default: start a local one."),
]

# The packages of each extra that a command imports (pyproject.toml's optional dependencies).
EXTRAS = {
    "train": ("torch", "transformers", "tokenizers", "accelerate", "peft", "trl", "datasets"),
    "eval": ("torch", "transformers", "tokenizers"),
    "vllm": ("vllm",),
}
_EXTRA_OF = {"vllm": "vllm", "deepspeed": "deepspeed",
             **{m: "train" for m in EXTRAS["train"]}, "tensorboard": "train"}


class MissingExtra(AgentflanError):
    """A command needs packages of an optional extra that is not installed."""


def new_table(title: str, **options: Any) -> Table:
    """A rich table for a command's summary, imported only when one is printed (``-q`` runs print none, and
    rich.table is a sixth of importing the command line)."""
    from rich.table import Table

    return Table(title=title, **options)


def install_hint(extra: str, what: str, missing: list[str]) -> str:
    return (f"{what} needs the [{extra}] extra ({', '.join(missing)} not installed): "
            f"pip install 'agentflan[{extra}]'")


def require_extra(extra: str, what: str) -> None:
    """`MissingExtra` naming the extra to install when any of its packages is missing; before any import."""
    missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtra(install_hint(extra, what, missing))


def require_model_folder(model: str) -> None:
    """`--model` is a local folder: say so plainly when it is not there (transformers would call it a bad hub
    repo id)."""
    if not Path(model).expanduser().is_dir():
        raise InputError(f"--model {model}: no such model folder. --model takes a local folder (download a hub "
                         "model first, e.g. `huggingface-cli download ORG/NAME --local-dir DIR`); for a server use "
                         "--endpoint URL --model-name NAME")


def _error(label: str, message: str) -> None:
    from rich.markup import escape

    # Escaped: messages hold file names and "[train]"; not wrapped: a message is one line, whatever the width.
    err_console.print(f"[red]{label}:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def handle_errors(fn: F) -> F:
    """Exit 1 with a one-line message on an `AgentflanError`, 2 on a `UsageError`; no traceback for either.
    A missing package of an optional extra is one line naming the extra, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UsageError as exc:
            _error("usage error", str(exc))
            raise typer.Exit(2) from None
        except AgentflanError as exc:
            _error("error", str(exc))
            raise typer.Exit(1) from None
        except ModuleNotFoundError as exc:
            extra = _EXTRA_OF.get((exc.name or "").split(".")[0])
            if extra is None:
                raise
            _error("error", install_hint(extra, "this command", [exc.name or "?"]))
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
