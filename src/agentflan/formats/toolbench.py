"""``toolbench``: ToolBench / StableToolBench answer files and the ToolLLaMA ``conversations`` format.

Answer files (DFS and CoT alike)::

    {"answer_generation": {"function": [{name, description, parameters}],       → tools (normalised schemas)
                           "train_messages": [[msg, ...], [msg, ...]], ...}}    → one trajectory per sequence

Each message is OpenAI's legacy shape: assistant ``function_call {name, arguments: JSON string}`` with
``content`` null or a thought, ``function`` role results. A ``Finish`` call with ``return_type: give_answer``
becomes the final assistant answer (thought + ``final_answer``); ``give_up_and_restart`` stays a call, marked
``metadata["finish"]``. DFS recovery prompts ("This is not the first time you try this task...") stay user
turns marked ``metadata["dfs_recovery"]``. A sequence whose arguments are not JSON is rejected
(``args_not_json``) and the file's other sequences are still read; a file whose search found no answer
(``valid_data`` false, no ``train_messages``) holds no sequence and is rejected as ``no_train_messages``.

ToolLLaMA (``toolllama_processed_*.json``)::

    {"id", "conversations": [{"from": "system"|"user"|"assistant"|"function", "value"}]}

assistant values are ``\\nThought: ...\\nAction: name\\nAction Input: {json}``; the tools are the API list the
system prompt ends with (a Python literal, parsed with `ast.literal_eval`, never evaluated).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentflan.callsyntax import parse_arguments
from agentflan.errors import RecordError
from agentflan.formats.base import ItemRejected, Reader, RecordContext, require
from agentflan.formats.reacttext import Conversation, Turn, parse_turn
from agentflan.schema import Message, Tool, ToolCall, Trajectory
from agentflan.toolschema import normalise_schema

FINISH = "Finish"
DFS_RECOVERY = "This is not the first time you try this task"
API_LIST = "Specifically, you have access to the following APIs:"


def tool_from_function(spec: Any, where: str) -> Tool:
    name = require(spec, "name", str, where)
    if not name:
        raise RecordError("invalid_field", f"{where}.name is empty", f"{where}.name")
    description = spec.get("description") or ""
    if not isinstance(description, str):
        raise RecordError("wrong_type", f"{where}.description should be str", f"{where}.description")
    return Tool(name=name, description=description, parameters=normalise_schema(spec.get("parameters")))


def call_turn(name: str, arguments: dict[str, Any], thought: str | None) -> Turn:
    """A call, or the final answer when it is ``Finish`` with ``give_answer``."""
    thought = thought if thought and thought.strip() else None
    if name == FINISH:
        return_type = arguments.get("return_type")
        if return_type == "give_answer" and isinstance(arguments.get("final_answer"), str):
            return Turn(thought, None, arguments["final_answer"], {"finish": "give_answer"})
        if isinstance(return_type, str):
            return Turn(thought, ToolCall(name=name, arguments=arguments), None, {"finish": return_type})
    return Turn(thought, ToolCall(name=name, arguments=arguments))


def _user(content: str, extra: dict[str, Any] | None = None) -> Message:
    meta = dict(extra or {})
    if content.lstrip().startswith(DFS_RECOVERY):
        meta["dfs_recovery"] = True
    return Message(role="user", content=content, metadata=meta)


def _tool_result(conv: Conversation, content: str, name: str | None) -> None:
    if conv.pending is not None:
        conv.observation(content)
    else:
        conv.add(Message(role="tool", content=content, name=name))  # the pipeline flags the orphan


def _sequence(seq: Any, where: str) -> list[Message]:
    if not isinstance(seq, list) or not seq:
        raise RecordError("wrong_type", f"{where} should be a non-empty list of messages", where)
    conv = Conversation()
    for i, msg in enumerate(seq):
        at = f"{where}[{i}]"
        role = require(msg, "role", str, at)
        content = msg.get("content")
        if content is not None and not isinstance(content, str):
            raise RecordError("wrong_type", f"{at}.content should be str or null", f"{at}.content")
        if role == "system":
            conv.add(Message(role="system", content=content or ""))
        elif role == "user":
            conv.add(_user(content or "", {"valid": msg["valid"]} if "valid" in msg else None))
        elif role == "assistant":
            fc = msg.get("function_call")
            if fc is None:
                if content is None:
                    raise RecordError("missing_field", f"{at} has neither content nor function_call", at)
                conv.assistant(Turn(None, None, content))
                continue
            name = require(fc, "name", str, f"{at}.function_call")
            try:
                arguments = parse_arguments(fc.get("arguments"))
            except RecordError as err:
                raise RecordError(err.reason, f"{at}: {err.detail}", f"{at}.function_call.arguments") from None
            conv.assistant(call_turn(name, arguments, content))
        elif role in ("function", "tool"):
            _tool_result(conv, content or "", msg.get("name"))
        else:
            raise RecordError("invalid_field", f"{at}.role {role!r} is not system/user/assistant/function",
                              f"{at}.role")
    return conv.messages


def _answer_file(value: dict[str, Any], ctx: RecordContext) -> Iterator[Trajectory | ItemRejected]:
    gen = require(value, "answer_generation", dict)
    functions = require(gen, "function", list, "answer_generation")
    tools = [tool_from_function(f, f"answer_generation.function[{i}]") for i, f in enumerate(functions)]
    sequences = gen.get("train_messages")
    if not sequences:
        yield ItemRejected(RecordError(
            "no_train_messages",
            f"valid_data={gen.get('valid_data')!r}: the search found no answer, the file holds no training sequence",
            "answer_generation.train_messages"), "train_messages")
        return
    if not isinstance(sequences, list):
        raise RecordError("wrong_type", "answer_generation.train_messages should be a list",
                          "answer_generation.train_messages")
    # Answer files of different groups share names (G1_answer/10_... and G2_answer/10_...): the folder is kept.
    path = Path(ctx.path)
    base = f"{path.parent.name}/{path.stem}" if path.parent.name else path.stem
    for k, seq in enumerate(sequences):
        item = f"train_messages[{k}]"
        try:
            messages = _sequence(seq, f"answer_generation.{item}")
        except RecordError as err:
            yield ItemRejected(err, item)
            continue
        metadata = {"format": "toolbench", "sequence": k, "sequences": len(sequences)}
        if isinstance(gen.get("finish_type"), str):
            metadata["finish_type"] = gen["finish_type"]
        yield Trajectory(id=f"{base}:{item}", tools=tools, messages=messages, provenance=ctx.provenance(item),
                         metadata=metadata)


def tools_from_system_prompt(text: str) -> list[Tool]:
    """The API list a ToolLLaMA system prompt ends with (``[{'name': ..., 'parameters': ...}]``)."""
    start = text.find(API_LIST)
    if start == -1:
        return []
    literal = text[start + len(API_LIST):].strip()
    try:
        specs = ast.literal_eval(literal)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise RecordError("unparseable_tools", f"the system prompt's API list is not a literal list: {exc}",
                          "conversations[0].value") from None
    if not isinstance(specs, list):
        raise RecordError("unparseable_tools", "the system prompt's API list is not a list", "conversations[0].value")
    return [tool_from_function(s, f"system API list[{i}]") for i, s in enumerate(specs)]


def _toolllama(value: dict[str, Any], ctx: RecordContext) -> Iterator[Trajectory]:
    turns = require(value, "conversations", list)
    conv = Conversation()
    tools: list[Tool] = []
    for i, turn in enumerate(turns):
        where = f"conversations[{i}]"
        speaker = require(turn, "from", str, where)
        text = require(turn, "value", str, where)
        if speaker == "system":
            tools.extend(tools_from_system_prompt(text))
            conv.add(Message(role="system", content=text))
        elif speaker == "user":
            conv.add(_user(text))
        elif speaker == "assistant":
            try:
                parsed = parse_turn(text)
            except RecordError as err:
                raise RecordError(err.reason, f"{where}: {err.detail}", f"{where}.value") from None
            if parsed.call is not None:
                parsed = call_turn(parsed.call.name, parsed.call.arguments, parsed.thought)
            conv.assistant(parsed)
        elif speaker == "function":
            _tool_result(conv, text, None)
        else:
            raise RecordError("invalid_field", f"{where}.from {speaker!r} is not system/user/assistant/function",
                              f"{where}.from")
    if not conv.messages:
        raise RecordError("missing_field", "conversations is empty", "conversations")
    record_id = value.get("id")
    yield Trajectory(id=str(record_id) if isinstance(record_id, str | int) and record_id != "" else ctx.default_id(),
                     tools=tools, messages=conv.messages, provenance=ctx.provenance(),
                     metadata={"format": "toolllama"})


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory | ItemRejected]:
    if isinstance(value, dict) and "answer_generation" in value:
        yield from _answer_file(value, ctx)
    elif isinstance(value, dict) and "conversations" in value:
        yield from _toolllama(value, ctx)
    else:
        raise RecordError("missing_field", "neither answer_generation (answer file) nor conversations (ToolLLaMA)")


_TOOLLLAMA_SPEAKERS = {"system", "user", "assistant", "function"}


def detect(value: Any, path: str) -> bool:
    if not isinstance(value, dict):
        return False
    if isinstance(value.get("answer_generation"), dict):
        return True
    turns = value.get("conversations")
    if not isinstance(turns, list) or not turns or not all(isinstance(t, dict) and "from" in t for t in turns):
        return False
    # ShareGPT writes human/gpt/function_call/observation; ToolLLaMA system/user/assistant/function.
    speakers = {t.get("from") for t in turns}
    return speakers <= _TOOLLLAMA_SPEAKERS and any(
        t.get("from") in ("system", "assistant") and "Action" in str(t.get("value")) for t in turns)


READER = Reader("toolbench", read, detect,
                "ToolBench/StableToolBench answer files (train_messages, function, Finish) and ToolLLaMA "
                "conversations", priority=15)
