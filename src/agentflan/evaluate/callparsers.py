"""The ecosystem's own call parsers, used before agentflan's readers where they exist.

- transformers: a tokenizer that carries a ``response_template`` parses its model's output with
  ``tokenizer.parse_response(text, prefix=prompt, tools=...)``; used automatically for a local model whose
  tokenizer has one.
- vLLM: its tool parsers (``vllm serve --tool-call-parser NAME``), chosen by name with ``--call-parser NAME``,
  through ``ToolParserManager.get_tool_parser(NAME)(tokenizer).extract_tool_calls(text, request)``.

A parser's calls are taken when it finds any; when it finds none (or fails), agentflan's readers decide, so a
broken call is still `malformed` by their rules: ecosystem parsers report a call they cannot parse as plain
content, which would score it as an abstention.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from typing import TYPE_CHECKING, Any, Protocol

from agentflan.errors import UsageError

if TYPE_CHECKING:
    from agentflan.evaluate.samples import Sample

# Where vLLM keeps its tool parsers and request type: the current layout first, then the one before it (< 0.12).
_MANAGER_MODULES = ("vllm.tool_parsers", "vllm.entrypoints.openai.tool_parsers")
_REQUEST_MODULES = ("vllm.entrypoints.openai.chat_completion.protocol", "vllm.entrypoints.openai.protocol")


class CallParser(Protocol):
    name: str  # recorded as the reply's syntax

    def calls(self, text: str, sample: Sample | None) -> list[tuple[str, Any]] | None:
        """The (name, arguments) of the calls in ``text``, or None when the parser found none."""
        ...


def _tools(sample: Sample | None) -> list[dict[str, Any]] | None:
    from agentflan.evaluate.samples import openai_tools

    return openai_tools(sample.tools) if sample is not None and sample.tools else None


class TransformersParser:
    name = "transformers"

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def calls(self, text: str, sample: Sample | None) -> list[tuple[str, Any]] | None:
        from agentflan.evaluate.backends.prompt import render_prompt

        # The prompt tells the parser what the template already wrote of the reply (an opened <think>...).
        prefix = render_prompt(self.tokenizer, sample) if sample is not None else ""
        try:
            message = self.tokenizer.parse_response(text, prefix=prefix, tools=_tools(sample))
        except (ValueError, KeyError, TypeError, RuntimeError):
            return None  # a region that does not parse: the built-in readers say why
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        return _pairs(calls)


class VLLMParser:
    def __init__(self, parser_name: str, tokenizer: Any) -> None:
        manager = _import_first(_MANAGER_MODULES, "ToolParserManager")
        self._request_type = _import_first(_REQUEST_MODULES, "ChatCompletionRequest")
        try:
            parser_class = manager.get_tool_parser(parser_name)
        except KeyError:
            known = manager.list_registered() if hasattr(manager, "list_registered") else sorted(
                getattr(manager, "tool_parsers", {}))
            raise UsageError(f"vLLM has no tool parser {parser_name!r}; it has: {', '.join(known)}") from None
        self.name = f"vllm:{parser_name}"
        self._class = parser_class
        self._tokenizer = tokenizer

    def calls(self, text: str, sample: Sample | None) -> list[tuple[str, Any]] | None:
        tools = _tools(sample)
        request = self._request_type(model="agentflan", messages=[{"role": "user", "content": ""}], tools=tools)
        # Newer vLLM parsers take the request's tools when built; older ones take only the tokenizer.
        takes_tools = "tools" in inspect.signature(self._class).parameters
        parser = self._class(self._tokenizer, tools=request.tools) if takes_tools else self._class(self._tokenizer)
        request = parser.adjust_request(request)
        info = parser.extract_tool_calls(text, request)
        if not getattr(info, "tools_called", False):
            return None
        return _pairs([{"function": {"name": c.function.name, "arguments": c.function.arguments}}
                       for c in info.tool_calls])


def _pairs(calls: Any) -> list[tuple[str, Any]] | None:
    if not isinstance(calls, list) or not calls:
        return None
    out: list[tuple[str, Any]] = []
    for call in calls:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            return None
        name = fn.get("name")
        if not isinstance(name, str):  # a call with no name is not a call this reader can give
            return None
        out.append((name, fn.get("arguments")))
    return out


def _import_first(modules: tuple[str, ...], attribute: str) -> Any:
    for module in modules:
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError):
            continue
    raise UsageError(f"--call-parser needs vLLM's tool parsers (pip install agentflan[vllm]); {attribute} was "
                     f"not found in {' or '.join(modules)}")


def vllm_installed() -> bool:
    try:
        return importlib.util.find_spec("vllm") is not None
    except (ImportError, ValueError):
        return False


def make_parser(call_parser: str | None, tokenizer: Any | None) -> CallParser | None:
    """The parser the command line asks for: vLLM's ``call_parser`` when named, else transformers'
    ``parse_response`` when the tokenizer carries a ``response_template``, else none."""
    if call_parser:
        if not vllm_installed():
            raise UsageError(f"--call-parser {call_parser} needs vLLM, which is not installed here "
                             "(pip install agentflan[vllm]); without it, the built-in readers read every syntax")
        if tokenizer is None:
            raise UsageError("--call-parser needs the model's tokenizer: give --model, or --tokenizer PATH")
        return VLLMParser(call_parser, tokenizer)
    # parse_response exists from transformers 5; an older one ignores a template it cannot apply.
    if tokenizer is not None and getattr(tokenizer, "response_template", None) and hasattr(tokenizer,
                                                                                         "parse_response"):
        return TransformersParser(tokenizer)
    return None
