"""The openai writer's records render through a Hugging Face chat template with tools (what TRL's SFTTrainer
does with ``messages`` + ``tools``), extra agentflan keys and all."""

from __future__ import annotations

import json

from agentflan.formats import writer
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory

# A Qwen-style template: tools as JSON in the system turn, calls as JSON with the arguments object.
TEMPLATE = (
    "{% if tools %}<|system|>Tools: {{ tools | tojson }}\n{% endif %}"
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}"
    "{% for tc in m.tool_calls or [] %}<call>{\"name\": {{ tc.function.name | tojson }}, "
    "\"arguments\": {{ tc.function.arguments | tojson }}}</call>{% endfor %}\n{% endfor %}"
)


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", chat_template=TEMPLATE)


def test_openai_record_renders_with_hf_chat_template() -> None:
    t = Trajectory(
        id="w1",
        tools=[Tool(name="weather", description="Weather now.",
                    parameters={"type": "object", "properties": {"city": {"type": "string"}}})],
        messages=[
            Message(role="user", content="Weather in Paris?"),
            Message(role="assistant", parts=[Part(text="Let me check.", capability="reasoning")],
                    tool_calls=[ToolCall(id="c0", name="weather", arguments={"city": "Paris"}, name_loss=False)]),
            Message(role="tool", content='{"temp": 21}', tool_call_id="c0", name="weather"),
            Message(role="assistant", content="21 °C.", loss=True, metadata={"note": "x"}),
        ],
        metadata={"kind": "agent"},
    )
    row = json.loads(json.dumps(writer("openai").write(t)))
    text = _tokenizer().apply_chat_template(row["messages"], tools=row["tools"], tokenize=False)
    assert '<call>{"name": "weather", "arguments": {"city": "Paris"}}</call>' in text
    assert '"name": "weather"' in text.split("\n")[0]  # the tool schema reached the template
    assert '<|tool|>{"temp": 21}' in text and "<|assistant|>21 °C." in text
