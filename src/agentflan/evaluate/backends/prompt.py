"""Rendering a sample into the text a local model continues, through the model's own chat template.

Tools go to the template (``tools=``) when the sample asks for native tools. A template that ignores tools
(renders the same text with and without them) would hide them from the model, so for such templates the tools
are described in the system prompt instead, in the wording of Agent-H's general level.
"""

from __future__ import annotations

from typing import Any

from agentflan.errors import AgentflanError
from agentflan.evaluate.samples import Sample, openai_tools, system_prompt


def render_prompt(tokenizer: Any, sample: Sample) -> str:
    messages = [dict(m) for m in sample.messages]
    if not getattr(tokenizer, "chat_template", None):
        raise AgentflanError("the tokenizer has no chat template: add one (tokenizer_config.json chat_template)")
    if not (sample.native_tools and sample.tools):
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    tools = openai_tools(sample.tools)
    with_tools = tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=False)
    without = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    if with_tools != without:
        return with_tools
    return tokenizer.apply_chat_template(_tools_in_system(messages, sample.tools), add_generation_prompt=True,
                                         tokenize=False)


def _tools_in_system(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    listing = system_prompt("general", tools)
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": messages[0]["content"] + "\n\n" + listing}, *messages[1:]]
    return [{"role": "system", "content": listing}, *messages]
