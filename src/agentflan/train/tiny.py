"""A small model trained from scratch: random-initialised Llama-architecture weights and a byte-level BPE
tokenizer trained with `tokenizers` on the training data itself, so smoke tests, benchmarks and experiments run
on a CPU in minutes and download nothing.

The tokenizer gets a ChatML chat template with tool support (tools in the system turn, calls as
``<tool_call>{"name": ..., "arguments": ...}</tool_call>``, a ``tool`` role) and ``{% generation %}`` tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from agentflan.schema import Trajectory
from agentflan.train.config import TinyModel

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# transformers renders with trim_blocks and lstrip_blocks, so every newline is written out as {{ nl }}.
CHAT_TEMPLATE = (
    "{%- set nl = '\\n' %}"
    "{%- if messages and messages[0].role == 'system' %}{% set system = messages[0].content %}"
    "{% set rest = messages[1:] %}{% else %}{% set system = '' %}{% set rest = messages %}{% endif %}"
    "{%- if system or tools %}<|im_start|>system{{ nl }}{{ system }}"
    "{%- if tools %}{% if system %}{{ nl }}{{ nl }}{% endif %}You can call these tools:"
    "{%- for tool in tools %}{{ nl }}{{ tool.function | tojson }}{% endfor %}{{ nl }}"
    "To call a tool write <tool_call>{\"name\": NAME, \"arguments\": ARGUMENTS}</tool_call>.{% endif %}"
    "<|im_end|>{{ nl }}{% endif %}"
    "{%- for message in rest %}"
    "{%- if message.role == 'assistant' %}<|im_start|>assistant{{ nl }}{% generation %}{{ message.content }}"
    "{%- for call in message.tool_calls or [] %}{% if message.content or not loop.first %}{{ nl }}{% endif %}"
    "<tool_call>{\"name\": \"{{ call.function.name }}\", \"arguments\": {{ call.function.arguments | tojson }}}"
    "</tool_call>{% endfor %}<|im_end|>{% endgeneration %}{{ nl }}"
    "{%- elif message.role == 'tool' %}<|im_start|>tool{{ nl }}{{ message.content }}<|im_end|>{{ nl }}"
    "{%- else %}<|im_start|>{{ message.role }}{{ nl }}{{ message.content }}<|im_end|>{{ nl }}{% endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant{{ nl }}{% endif %}"
)


def corpus_texts(trajectories: Iterable[Trajectory]) -> Iterator[str]:
    """The texts a tokenizer should learn: every message, call and tool schema, as the template shows them."""
    import json

    for traj in trajectories:
        for tool in traj.tools:
            yield json.dumps({"name": tool.name, "description": tool.description, "parameters": tool.parameters})
        for m in traj.messages:
            yield m.content
            for c in m.tool_calls:
                yield json.dumps({"name": c.name, "arguments": c.arguments}, ensure_ascii=False)


def train_tokenizer(trajectories: Iterable[Trajectory], cfg: TinyModel) -> Any:
    """A byte-level BPE `PreTrainedTokenizerFast` trained on the first ``cfg.tokenizer_samples`` trajectories."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=cfg.vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus_texts(islice(trajectories, cfg.tokenizer_samples)), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>"])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(cfg: TinyModel, tokenizer: Any, seed: int) -> Any:
    """A random-initialised `LlamaForCausalLM` sized by ``cfg``; the seed fixes the weights."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers, num_attention_heads=cfg.num_heads, num_key_value_heads=cfg.num_heads,
        max_position_embeddings=8192, tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, bos_token_id=None,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)
