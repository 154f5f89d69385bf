"""``canonical``: agentflan's own JSON form of a `Trajectory`, lossless by construction.

Use it between pipeline steps and for anything that must keep parts, capabilities, flags and provenance.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, Writer
from agentflan.schema import Trajectory


def pydantic_error(exc: ValidationError) -> RecordError:
    """The first validation problem as a `RecordError` naming the field (dotted path)."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    reason = "missing_field" if err["type"] == "missing" else "invalid_field"
    return RecordError(reason, f"{field}: {err['msg']}", field or None)


def validated(model: type[Any], where: str, **fields: Any) -> Any:
    """``model`` built from ``fields``; a validation failure becomes a `RecordError` whose field is prefixed by
    ``where`` (the record path of the object being built, e.g. ``messages.3``)."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        err = pydantic_error(exc)
        field = f"{where}.{err.field}" if err.field else where
        raise RecordError(err.reason, f"{field}: {exc.errors()[0]['msg']}", field) from None


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    try:
        traj = Trajectory.model_validate(value)
    except ValidationError as exc:
        raise pydantic_error(exc) from None
    yield traj


def detect(value: Any, path: str) -> bool:
    tools = value.get("tools") if isinstance(value, dict) else None
    if isinstance(tools, list) and (not tools or any(isinstance(t, dict) and "function" in t for t in tools)):
        # OpenAI-shaped tools, or the empty list the openai writer always writes (to_dict omits it): an openai
        # record that carries agentflan's extra keys, not a canonical one.
        return False
    return isinstance(value, dict) and "messages" in value and "id" in value and (
        "provenance" in value or any(isinstance(m, dict) and "parts" in m for m in value.get("messages") or [])
    )


def write(traj: Trajectory) -> dict[str, Any]:
    return traj.to_dict()


READER = Reader("canonical", read, detect, "agentflan's own lossless JSON (Trajectory.to_dict)", priority=5)
WRITER = Writer("canonical", write, "agentflan's own lossless JSON (Trajectory.to_dict)", lossless=True, call_syntax="openai")
