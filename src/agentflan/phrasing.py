"""How agentflan words things: pools of short templates, one picked per record by a seeded draw, rendered
sandboxed; plain-language tool descriptions (`describe_tool`, `tools_prompt`); and the phrases Agent-H counts
as a call (`GENERAL_PHRASES`), which no sentence of the pools may use.

Fixed sentences would teach the model one more format to over-fit (the paper's observation 1), so every
sentence the construction writes itself (tool introductions, elicit statements, negative replies) is drawn from
a pool. The draw depends only on the seed, the record and the purpose.

Tool names are always written in backticks (`` `{{ name }}` ``): the evaluation derives its recogniser of the
build's call shape from these pools, and tool-naming sentences never use the phrases Agent-H's H_General counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from agentflan.schema import Tool
from agentflan.seeding import rng_for

# Agent-H's keyword rule (paper §4.3): a reply that says one of these (case-insensitively) under the general tool
# prompt counts as a call. The pools below never use them, so that they keep meaning "this reply is a call".
GENERAL_PHRASES = ("i will use", "i'll use", "i will call", "i'll call", "i need to call", "i need to use",
                   "let me call", "let me use", "calling the", "i am going to call", "i'm going to call")

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
    # The tool choice (retrieval) as its own statement. Never a phrase Agent-H's H_General counts as a call
    # ("I will use", "let me call" ...): those must keep meaning "this reply is a call" at evaluation time.
    "elicit": (
        "The right tool here is `{{ name }}`.",
        "`{{ name }}` is the tool for this step.",
        "This calls for `{{ name }}`.",
        "The tool that fits is `{{ name }}`.",
        "`{{ name }}` can do this.",
        "I need the `{{ name }}` tool now.",
        "This is a job for `{{ name }}`.",
        "`{{ name }}` is what this needs.",
        "The matching tool is `{{ name }}`.",
        "The `{{ name }}` tool covers this.",
        "For this step, `{{ name }}` fits best.",
        "`{{ name }}` should give me this.",
        "I will take the `{{ name }}` action.",
        "Next comes `{{ name }}`.",
        "That takes `{{ name }}`.",
    ),
    # (c) no tools + a query that needs one: say what is missing, do not pretend to call. The first sentence
    # names what the request needs (`need`, from the tool the source called); the second is drawn from a pool
    # of its own, in balanced turns (`say_nth`), so that no sentence dominates the samples of its kind.
    "no_tools_needs_tool": (
        "I can't {{ need }} here: I have no tools or live data sources in this conversation.",
        "To {{ need }} I would need an external service, and none is connected to this conversation.",
        "I'm not able to {{ need }} from here, since I have no access to tools or outside data.",
        "There is no tool available to me right now that could {{ need }}, so I can't do this myself.",
        "This request needs something that can {{ need }}, and in this conversation I have nothing like that.",
        "Without any tools I have no way to {{ need }}, so I can't complete this request.",
        "I'd have to {{ need }} to answer this, and I can't do that without a tool.",
        "Answering this means being able to {{ need }}, which I can't do in this chat.",
        "I don't have a way to {{ need }} in this conversation, so I can't give you a real result.",
        "Sorry, I can't {{ need }}: no tools or data connections are available to me here.",
        "Nothing in this conversation lets me {{ need }}, so I can't carry this out.",
        "I would need a service to {{ need }}, and I don't have one here.",
        "Since I can't {{ need }} from this chat, I can't finish this for you.",
        "Your request depends on being able to {{ need }}, and I have no tool for it here.",
    ),
    "no_tools_offer": (
        "If you can share the details, I'm happy to help you work with them.",
        "You could try a service that does this directly, and I can help you make sense of what it returns.",
        "I'd rather say so than guess at an answer.",
        "If you paste what you already have, I can help from there.",
        "I can explain how you might find this out yourself, if that helps.",
        "Making something up would not help you, so I'm telling you plainly.",
        "Once you have the information, I can help you use it.",
        "Is there a part of this I can help with without live data?",
        "Let me know if you'd like suggestions on where to look.",
        "A dedicated app or website will have the current answer.",
        "Any result I gave you now would be invented, so I won't give one.",
        "If you tell me more about what you need it for, I can suggest next steps.",
        "Happy to help with anything that doesn't need outside data.",
        "I can draft the request for you, so it's ready to send to the right service.",
        "I don't want to pretend I checked something I can't reach.",
        "The provider's own website or support pages may have it.",
        "Should I walk you through doing it yourself?",
        "Feel free to share any details you have and I'll work with those.",
        "That's a limit of this chat, not of your request.",
        "I can still help you plan around it.",
        "If you can get the data, I can summarise or compare it for you.",
        "Sorry I can't be of more direct help with this one.",
        "Tell me if there's something else I can do instead.",
        "I'd suggest checking an up-to-date source for this.",
        "If it helps, I can outline what information you'd need to gather.",
        "I'd be glad to help once the information is in front of us.",
        "Meanwhile, I can answer general questions about it from what I know.",
        "It's better you hear that from me now than get a made-up answer.",
        "You'll get a reliable answer from whoever runs that service.",
        "If you give me the numbers or details, I can do the rest.",
        "I can help you write down exactly what to ask for.",
        "Let me know how else I can be useful.",
        "Perhaps I can help with a related question instead?",
    ),
    # Tools given, but none of them fits a query that needs a different tool: name them and what is needed.
    "irrelevant_tools_needs_tool": (
        "None of the tools I have ({{ tools }}) can {{ need }}, so I can't do this here.",
        "The tools available to me ({{ tools }}) don't cover this: none of them can {{ need }}.",
        "I can't {{ need }} with the tools I have here ({{ tools }}); they are for other things.",
        "My tools in this conversation are {{ tools }}, and none of them is able to {{ need }}.",
        "This needs a way to {{ need }}, which none of my tools ({{ tools }}) provides.",
        "Looking at my tools ({{ tools }}), none of them fits: this request needs one that can {{ need }}.",
        "With only {{ tools }} available, I have no way to {{ need }}.",
        "I'd need a tool that can {{ need }}, and the ones I have ({{ tools }}) can't.",
        "The request is to {{ need }}, but the tools I was given ({{ tools }}) are unrelated to that.",
        "Sorry, the tools I have ({{ tools }}) aren't able to {{ need }}, so I can't complete this.",
        "Nothing among my tools ({{ tools }}) lets me {{ need }}.",
        "To {{ need }} I'd need a suitable tool, and none of {{ tools }} is one.",
        "The tools here ({{ tools }}) do other jobs; none of them can {{ need }}.",
        "I checked my tools ({{ tools }}) and none of them can {{ need }}.",
    ),
    "irrelevant_tools_offer": (
        "Running one of them anyway would only give you a misleading result.",
        "If a suitable tool becomes available, I can try again.",
        "I won't run an unrelated tool just to produce something.",
        "A wrong tool would give you a wrong answer, so I'll stop here.",
        "If you can connect a tool for this, I'll gladly help.",
        "I'd rather tell you that than return something unrelated.",
        "Is there anything these tools can do for you instead?",
        "Let me know if I can help in another way.",
        "You may find a dedicated service for this.",
        "If you have the information already, I can work with it.",
        "Sorry I can't do more here.",
        "It's better to say so than to pretend.",
        "Once a fitting tool is available, just ask again.",
        "Feel free to rephrase if you meant something these tools can handle.",
        "I can help you figure out what kind of service would do this.",
        "Otherwise I'd be guessing, which wouldn't help you.",
        "Happy to help with something else in the meantime.",
        "I don't want to give you a result that only looks right.",
        "You might check an app or website made for this.",
        "If you share the details you have, I can still help you reason about them.",
        "That's outside what I can reach in this conversation.",
        "Maybe one of these tools helps with a related question?",
        "Say the word if you want help finding the right service.",
        "I'd be guessing with any of them, and a guess isn't an answer.",
        "If you need something they can do, I'm ready.",
        "An unrelated call would waste your time.",
        "If you get the result some other way, I can help you read it.",
        "That's a gap in my tools rather than a problem with your request.",
        "Let me know if you'd like me to explain what each of them does.",
        "I'll be able to help as soon as a fitting tool is connected.",
        "Better no result than a wrong one.",
        "Please tell me if there's another way I can help.",
    ),
    # A required argument is missing: ask back, naming the tool and the argument, instead of guessing.
    "missing_argument": (
        "I can {{ need }} with `{{ name }}`, but I need the {{ param }} first.",
        "To {{ need }}, `{{ name }}` needs the {{ param }}, and you haven't given it yet.",
        "`{{ name }}` can do this once I know the {{ param }}.",
        "I'm missing one detail for `{{ name }}`: the {{ param }}.",
        "Before running `{{ name }}` I need the {{ param }}; I don't want to guess it.",
        "The {{ param }} is required by `{{ name }}`, and it isn't in your message.",
        "Almost there: `{{ name }}` still needs the {{ param }}.",
        "I have everything for `{{ name }}` except the {{ param }}.",
        "Your request doesn't say the {{ param }}, which `{{ name }}` needs.",
        "`{{ name }}` won't work without the {{ param }}, and I'd rather ask than guess.",
        "One thing is missing before I can {{ need }} with `{{ name }}`: the {{ param }}.",
        "I can't fill in the {{ param }} for `{{ name }}` myself.",
        "To run `{{ name }}` I still need the {{ param }}.",
    ),
    "missing_argument_question": (
        "What {{ param }} should I use?",
        "Which {{ param }} do you mean?",
        "Could you tell me the {{ param }}?",
        "What is the {{ param }}?",
        "Can you give me the {{ param }}?",
        "Please let me know the {{ param }}.",
        "What's the {{ param }} you have in mind?",
        "Could you send me the {{ param }}?",
        "Which {{ param }} would you like?",
        "What should the {{ param }} be?",
        "Can you share the {{ param }}?",
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


def say_nth(pool: str, n: int, seed: int, purpose: str, **values: Any) -> str:
    """The ``n``-th phrasing of ``pool`` in a seeded order of its templates, cycling: the first ``len(pool)``
    samples of one purpose all differ, and no template is used more than ``ceil(count / len(pool))`` times,
    which an independent draw per record cannot promise."""
    options = list(POOLS[pool])
    order = list(range(len(options)))
    rng_for(seed, purpose, pool, "order").shuffle(order)
    return render(options[order[n % len(options)]], **values)


# --- tools in plain language ---------------------------------------------------------------------------------

# ToolBench wraps every description: 'This is the subfunction for tool "x", you can use this tool.The description
# of this function is: "..."'. The plain description reads better and says the same.
_TOOLBENCH_DESC = re.compile(r'^\s*This is the subfunction for tool "(?P<service>[^"]*)"[^\n]*?The description of this '
                             r'function is:\s*"?(?P<inner>.*?)"?\s*$', re.S)


def tool_description(tool: Tool) -> str:
    """The tool's description in plain words (ToolBench's wrapper taken off, naming the service instead)."""
    m = _TOOLBENCH_DESC.match(tool.description)
    if not m:
        return tool.description
    inner = _sentence(m.group("inner"))
    service = m.group("service").strip()
    return f"{inner} (a function of the {service} service)" if inner else f"A function of the {service} service"


def describe_tool(tool: Tool) -> str:
    """One plain-language line per tool: name, description, arguments with type and whether required."""
    props = tool.parameters.get("properties") or {}
    props = props if isinstance(props, dict) else {}  # a malformed schema describes no argument, never crashes
    required_list = tool.parameters.get("required") or []
    required = {r for r in required_list if isinstance(r, str)} if isinstance(required_list, list) else set()
    args = []
    for name, schema in props.items():
        schema = schema if isinstance(schema, dict) else {}
        kind = schema.get("type") or schema.get("x-original-type") or "any"
        kind = "/".join(kind) if isinstance(kind, list) else str(kind)
        desc = _sentence(str(schema.get("description") or ""))
        args.append(f"`{name}` ({kind}, {'required' if name in required else 'optional'})" + (f": {desc}" if desc else ""))
    line = f"- `{tool.name}`"
    description = tool_description(tool)
    if description.strip():
        line += f": {_sentence(description)}"
    line += ". Arguments: " + "; ".join(args) + "." if args else ". It takes no arguments."
    return line


def _sentence(text: str) -> str:
    """Text without its closing full stop, so that joining descriptions never doubles punctuation."""
    return " ".join(text.split()).rstrip(" .")


def tools_prompt(tools: list[Tool], seed: int, key: str, action_names: Iterable[str] = ()) -> str:
    """The system prompt introducing ``tools`` (or, when none are declared, the actions the trajectory uses)."""
    if tools:
        return say("tools_intro", seed, key) + "\n\n" + "\n".join(describe_tool(t) for t in tools)
    names = sorted(set(action_names))
    if not names:
        return ""
    return say("actions_intro", seed, key) + "\n" + "\n".join(f"- `{n}`" for n in names)
