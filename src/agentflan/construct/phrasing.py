"""Varied phrasings: pools of short templates, one picked per record by a seeded draw, rendered sandboxed.

Fixed sentences would teach the model one more format to over-fit (the paper's observation 1), so every
sentence the construction writes itself (tool introductions, elicit statements, negative replies, the requests
of missing-argument samples) is drawn from a pool. The draw depends only on the seed, the record and the purpose.

>>> say("elicit", 0, "rec-1", name="weather")
'The right tool here is `weather`.'
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from agentflan.seeding import rng_for

POOLS: dict[str, tuple[str, ...]] = {
    # Opening of the system prompt that introduces the tools in plain language.
    "tools_intro": (
        "You are a helpful assistant. You can use the tools below when they help with the user's request.",
        "You are a helpful assistant with access to a few tools. Use one when the request needs it, and "
        "answer directly when it does not.",
        "You can call the following tools to help the user. Only use a tool when it is actually useful.",
        "The following tools are available to you. Decide for yourself whether the user's request needs any "
        "of them.",
        "You are an assistant that can act through the tools listed below; reply normally when no tool is needed.",
    ),
    # Opening when the environment's actions are not declared as functions (AgentInstruct environments).
    "actions_intro": (
        "You are a helpful assistant acting in an environment. You can take these actions:",
        "You interact with an environment through the following actions:",
        "You can act in the environment the user describes, using these actions:",
    ),
    # The tool choice (retrieval) as its own statement.
    "elicit": (
        "I will use the `{{ name }}` tool.",
        "I'll call `{{ name }}` for this.",
        "The right tool here is `{{ name }}`.",
        "Let me use `{{ name }}`.",
        "I am going to call the `{{ name }}` tool.",
        "To do that, I'll use `{{ name }}`.",
        "I need the `{{ name }}` tool now.",
        "I will take the `{{ name }}` action.",
    ),
    # (c) no tools + a query that needs one: say so, do not pretend to call.
    "no_tools_needs_tool": (
        "I can't look that up: I don't have any tools or live data sources in this conversation, so I can't "
        "complete this request myself. If you can share the information, I'm happy to help you work with it.",
        "I'm not able to do that here, because I have no tools available in this conversation to fetch or act "
        "on external data. You could try a service that provides this directly, or paste the details and I'll "
        "help with them.",
        "Unfortunately I can't carry this out: answering it needs an external tool or service, and none is "
        "available to me right now. I don't want to guess, so I'd rather tell you that plainly.",
        "That request needs access to an external system, which I don't have in this chat. I can explain how "
        "you might find the answer yourself, if that helps.",
    ),
    # Tools given, but none of them fits a query that needs a different tool.
    "irrelevant_tools_needs_tool": (
        "None of the tools I have ({{ tools }}) can do this, so I can't complete the request. I don't want to "
        "call an unrelated tool and give you a misleading result.",
        "The tools available to me here ({{ tools }}) are not suited to this request, so I can't carry it out. "
        "If a suitable tool becomes available, I can try again.",
        "I can't help with this using the tools I have ({{ tools }}); none of them covers what you're asking "
        "for.",
        "This needs a capability that my current tools ({{ tools }}) don't provide, so I won't call any of "
        "them. Sorry I can't do more here.",
    ),
    # A required argument is missing: ask back instead of guessing.
    "missing_argument": (
        "I can do that with `{{ name }}`, but I need to know the {{ param }} first. {{ question }}",
        "Before I call `{{ name }}`, could you tell me the {{ param }}? It is required and I don't want to guess.",
        "I'm missing one detail: the {{ param }}. {{ question }} Then I'll run `{{ name }}` for you.",
        "To use `{{ name }}` I need the {{ param }}, which you haven't given yet. {{ question }}",
    ),
    "missing_argument_question": (
        "What {{ param }} should I use?",
        "Which {{ param }} do you mean?",
        "Could you provide the {{ param }}?",
        "What is the {{ param }}?",
    ),
    # The user's request for a missing-argument sample, built from the tool's description.
    "missing_argument_query": (
        "Please {{ task }}.{{ given }}",
        "Can you {{ task }}?{{ given }}",
        "I need you to {{ task }}.{{ given }}",
        "Could you help me {{ task }}?{{ given }}",
    ),
}


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    # Sandboxed: pools may be extended from recipes, and values come from data; nothing here may execute code.
    return SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


def render(template: str, **values: Any) -> str:
    return _env().from_string(template).render(**values)


def pick(pool: str | tuple[str, ...] | list[str], seed: int, *keys: object) -> str:
    """One template of ``pool`` (a pool name or the templates themselves), drawn from (seed, keys)."""
    options = POOLS[pool] if isinstance(pool, str) else pool
    return rng_for(seed, *keys, pool if isinstance(pool, str) else "pool").choice(list(options))


def say(pool: str, seed: int, *keys: object, **values: Any) -> str:
    """Render one phrasing of ``pool`` for the record (and position) that ``keys`` name."""
    return render(pick(pool, seed, *keys), **values)
