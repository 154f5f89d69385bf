"""Negative samples (paper §4.3, Fig. 6, and beyond): teach when *not* to call a tool.

Circumstances (manifest keys): ``tools_given_no_need`` (tools + a general query → plain answer),
``no_tools_needs_tool`` (no tools + a tool query → plain answer that does not pretend to call),
``irrelevant_tools_needs_tool`` (only unrelated tools → say none fits), ``missing_argument`` (a required argument
is missing → ask back) and ``distractor_tools`` (a positive trajectory with unrelated tools added).

Irrelevant tools are drawn from the corpus's tool pool and checked to be irrelevant lexically: a candidate whose
name/description words overlap the query and the trajectory's own tools by more than ``max_overlap`` is refused.
The check is counted (`IrrelevanceCheck`) and reported in the manifest.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agentflan.errors import RecordError
from agentflan.phrasing import describe_tool, say_nth, tool_description, tools_prompt
from agentflan.schema import Message, Part, Tool, Trajectory
from agentflan.seeding import ranked, rng_for
from agentflan.toolschema import required_arguments

from . import grounding, prompts
from .align import render_chat, tools_system
from .grounding import tools_text
from .instruct import CallSource, first_call
from .replies import ChatEndpoint, resolve_reply

_STOP = frozenset(re.findall(r"\w+", """the and for with that this from your you are can get will into about what which when where
who how has have use using used are was were not all any its our their there here then than more most some such
only also out over each per via given returns return list lists value values data info information api apis tool
tools function functions name names string number integer boolean object array type default optional required"""))


# ToolBench's pseudo-tool that ends an episode: not a tool anyone could pick by mistake.
_TERMINAL = frozenset({"finish", "final_answer", "finalanswer", "finalaction"})


def words(text: str) -> set[str]:
    """Content words of a name or a sentence: snake/camel case split, lower-cased, stop words and short words out."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return {w for w in re.split(r"[^A-Za-z0-9]+", text.lower()) if len(w) >= 3 and w not in _STOP}


def tool_words(tool: Tool) -> set[str]:
    return words(tool.name) | words(tool.description)


@dataclass
class IrrelevanceCheck:
    max_overlap: float
    checked: int = 0
    refused_as_relevant: int = 0
    max_overlap_accepted: float = 0.0

    common: frozenset[str] = frozenset()  # the pool's boilerplate words, ignored (set by `ToolPool`)

    def overlap(self, tool: Tool, context: set[str]) -> float:
        tw = tool_words(tool) - self.common
        return len(tw & context) / len(tw) if tw else 0.0

    def report(self) -> dict[str, Any]:
        return {"method": "lexical: share of the tool's name/description content words found in the query and "
                          "the sample's own tools", "threshold": self.max_overlap, "checked": self.checked,
                "refused_as_relevant": self.refused_as_relevant,
                "max_overlap_accepted": round(self.max_overlap_accepted, 4)}


@dataclass(frozen=True)
class Query:
    """A user query with what we know about it."""

    key: str
    text: str
    tools: list[Tool]  # the tools the source gave (relevant ones, for a tool query)
    reference: str | None  # the source's final answer, if any
    traj: Trajectory


def tool_query(key: str, traj: Trajectory) -> Query | None:
    """A query that needs a tool: the first user turn of a trajectory that declares tools and calls one, with
    its reply-format instructions taken out as in the chat rendering (ToolBench's trailing "Begin!")."""
    user = next((m for m in traj.messages if m.role == "user" and m.content.strip()), None)
    if user is None or not traj.tools or traj.environment_actions:
        return None  # all tools synthesised: an environment's actions (bash, click), not APIs a query asks for
    text = prompts.clean(user.content, "user", Counter()).strip()
    if not text:
        return None
    if not traj.calls() and not traj.metadata.get("queries_need_tools"):
        return None
    # The trajectory's own final answer is *not* a reference here: it was written from tool results, and taught
    # without the tools it would teach exactly the hallucination negatives exist to prevent ("I've emailed Sam").
    # Only an answer the source marks as written without tools counts.
    reference = traj.metadata.get("reference_answer")
    return Query(key, text, list(traj.tools), reference if isinstance(reference, str) else None, traj)


def general_query(key: str, traj: Trajectory) -> Query | None:
    """A query that needs no tool: the first user turn of a general conversation, with its reply if any."""
    user_index = next((i for i, m in enumerate(traj.messages) if m.role == "user" and m.content.strip()), None)
    if user_index is None:
        return None
    nxt = traj.messages[user_index + 1] if user_index + 1 < len(traj.messages) else None
    reference = nxt.content if nxt is not None and nxt.role == "assistant" and not nxt.tool_calls else None
    return Query(key, traj.messages[user_index].content.strip(), [], reference, traj)


class ToolPool:
    """Every distinct tool of the corpus (first definition of each name, in a stable order)."""

    def __init__(self, trajectories: list[Trajectory]) -> None:
        seen: dict[str, Tool] = {}
        for traj in trajectories:
            synthesized = traj.metadata.get("tools_synthesized")
            if traj.environment_actions:
                continue  # an environment's actions (bash, click) make no sense as someone else's tools
            # Tools a reader synthesised from calls have no description to check relevance against.
            skip = set(synthesized) if isinstance(synthesized, list) else set()
            for tool in traj.tools:
                if tool.name.lower() not in _TERMINAL and tool.name not in skip:
                    seen.setdefault(tool.name, tool)
        self.tools = [seen[k] for k in sorted(seen)]
        # Words in more than 5% of the pool's tools are boilerplate of one corpus ("This is the subfunction for
        # tool ...", "The description of this function is"), not evidence that two tools do the same thing.
        df: dict[str, int] = {}
        for tool in self.tools:
            for w in tool_words(tool):
                df[w] = df.get(w, 0) + 1
        limit = max(3, len(self.tools) // 20)
        self.common = frozenset(w for w, n in df.items() if n > limit)

    def __len__(self) -> int:
        return len(self.tools)

    def draw_irrelevant(self, k: int, query: str, own: list[Tool], check: IrrelevanceCheck, seed: int,
                        key: str) -> list[Tool]:
        check.common = self.common
        context = (words(query).union(*(tool_words(t) for t in own)) if own else words(query)) - self.common
        own_names = {t.name for t in own}
        order = list(range(len(self.tools)))
        rng_for(seed, key, "irrelevant-tools").shuffle(order)
        chosen: list[Tool] = []
        for i in order[: max(50, 20 * k)]:
            tool = self.tools[i]
            if tool.name in own_names:
                continue
            check.checked += 1
            score = check.overlap(tool, context)
            if score > check.max_overlap or (words(tool.name) & context):
                check.refused_as_relevant += 1
                continue
            check.max_overlap_accepted = max(check.max_overlap_accepted, score)
            chosen.append(tool)
            if len(chosen) == k:
                break
        if not chosen:
            raise RecordError("no_irrelevant_tools", "no tool of the pool passed the irrelevance check")
        return chosen


_NO_TOOLS_PROMPT = ("Answer the user's request as well as you can without any tools or external data. Do not "
                    "pretend to call a tool or to have looked anything up; if the request cannot be completed "
                    "without one, say so briefly and offer what help you can.")
_IRRELEVANT_PROMPT = ("You have only these tools, and none of them fits the user's request:\n{tools}\nDo not call "
                      "any of them and do not pretend to. Tell the user briefly that you cannot do it with the tools "
                      "you have.")
_MISSING_PROMPT = ("You have this tool:\n{tool}\nThe user's request lacks the required argument `{param}`. Do not "
                   "call the tool and do not guess the value: ask the user for it in one or two sentences.")


@dataclass(frozen=True)
class Stripped:
    """A real request with one required value taken out, ready for a missing-argument sample."""

    source: CallSource
    tool: Tool
    param: str
    value: Any
    history: tuple[Message, ...]  # the call's context with the value removed from the user turn that gave it


@dataclass
class NegativeMaker:
    seed: int
    pool: ToolPool
    check: IrrelevanceCheck
    k: int
    reply_order: list[str]
    endpoint: ChatEndpoint | None = None
    reply_sources: dict[str, int] = field(default_factory=dict)
    rewrites: Counter[str] = field(default_factory=Counter)  # prompt rewrites of the chat-rendered distractors

    def _sample(self, circumstance: str, q: Query, tools: list[Tool], reply: str, source: str,
                extra: dict[str, Any] | None = None, history: tuple[Message, ...] | None = None) -> Trajectory:
        self.reply_sources[source] = self.reply_sources.get(source, 0) + 1
        messages = []
        if tools:
            messages.append(tools_system(tools_prompt(tools, self.seed, f"{circumstance}/{q.key}")))
        messages += list(history) if history else [Message(role="user", content=q.text)]
        messages.append(Message(role="assistant", parts=[Part(text=reply, capability="abstain")]))
        return Trajectory(id=f"negative/{circumstance}/{q.key}", tools=tools, messages=messages,
                          provenance=q.traj.provenance,
                          metadata={"kind": "negative", "negative": circumstance, "reply_source": source,
                                    "from": q.traj.id, "source": q.traj.metadata.get("source"), **(extra or {})})

    def _reply(self, prompt: list[dict[str, Any]] | None, reference: str | None,
               template: Callable[[], str] | None) -> tuple[str, str]:
        return resolve_reply(self.reply_order, self.endpoint, prompt, reference, template)

    def _template(self, first: str, offer: str, n: int, **values: Any) -> str:
        """A reply from the bank: a first sentence naming what is specific to this sample, then a second one;
        both drawn in balanced turns over the samples of one kind (`say_nth`)."""
        return f"{say_nth(first, n, self.seed, first, **values)} {say_nth(offer, n, self.seed, first, **values)}"

    def tools_given_no_need(self, q: Query, n: int = 0) -> Trajectory:
        tools = self.pool.draw_irrelevant(self.k, q.text, [], self.check, self.seed, q.key)
        # No template: a canned sentence is no answer to a general question.
        reply, source = self._reply([{"role": "user", "content": q.text}], q.reference, None)
        return self._sample("tools_given_no_need", q, tools, reply, source)

    def no_tools_needs_tool(self, q: Query, n: int = 0) -> Trajectory:
        need = need_phrase(_needed_tool(q))
        reply, source = self._reply(
            [{"role": "system", "content": _NO_TOOLS_PROMPT}, {"role": "user", "content": q.text}], q.reference,
            lambda: self._template("no_tools_needs_tool", "no_tools_offer", n, need=need))
        return self._sample("no_tools_needs_tool", q, [], reply, source)

    def irrelevant_tools_needs_tool(self, q: Query, n: int = 0) -> Trajectory:
        tools = self.pool.draw_irrelevant(self.k, q.text, q.tools, self.check, self.seed, q.key)
        listed = "\n".join(describe_tool(t) for t in tools)
        need = need_phrase(_needed_tool(q))
        reply, source = self._reply(
            [{"role": "system", "content": _IRRELEVANT_PROMPT.format(tools=listed)},
             {"role": "user", "content": q.text}], q.reference,
            lambda: self._template("irrelevant_tools_needs_tool", "irrelevant_tools_offer", n,
                                   tools=name_list(t.name for t in tools), need=need))
        return self._sample("irrelevant_tools_needs_tool", q, tools, reply, source)

    def strippable(self, q: Query) -> Stripped | None:
        """The query's first call with one required value taken out of the request that gave it, or None.

        The value must be written exactly once in the user turns before the call, the request must still read
        as one after it is taken out, and nothing left in the sample may give the value back (`grounding`)."""
        src = first_call(q.key, q.traj, self.seed)
        if src is None:
            return None
        tool = next(t for t in q.traj.tools if t.name == src.call.name)
        required = [a for a in required_arguments(tool.parameters) if a in src.call.arguments]
        rng_for(self.seed, q.key, "missing-argument").shuffle(required)
        tools = prompts.clean_tools(q.traj.tools, [src.call.name], Counter())
        for param in required:
            value = src.call.arguments[param]
            history = _without_value(src.history, value)
            if history is None:
                continue
            text = "\n".join([tools_text(tools), *(m.content for m in history)])
            if grounding.Context(text).grounded(value):
                continue
            return Stripped(src, tool, param, value, history)
        return None

    def missing_argument(self, q: Query, n: int = 0) -> Trajectory:
        found = self.strippable(q)
        if found is None:
            raise RecordError("no_strippable_argument",
                              "no required argument whose value the request writes once and can do without")
        tool, param = found.tool, found.param
        spoken = spoken_name(param, (tool.parameters.get("properties") or {}).get(param))
        tools = prompts.clean_tools(q.traj.tools, [tool.name], self.rewrites)
        history_dicts = [{"role": m.role, "content": m.content} for m in found.history]
        reply, source = resolve_reply(
            [s for s in self.reply_order if s != "reference"], self.endpoint,
            [{"role": "system", "content": _MISSING_PROMPT.format(tool=describe_tool(tool), param=param)},
             *history_dicts], None,
            lambda: self._template("missing_argument", "missing_argument_question", n, name=tool.name,
                                   param=spoken, need=need_phrase(tool)))
        asked = Query(q.key, found.history[-1].content, q.tools, None, q.traj)
        return self._sample("missing_argument", asked, tools, reply, source,
                            {"missing_argument": param}, history=found.history)

    def distractor_tools(self, q: Query, n: int = 0) -> Trajectory:
        extra = self.pool.draw_irrelevant(self.k, q.text, q.tools, self.check, self.seed, q.key)
        tools = [*q.tools, *extra]
        rng_for(self.seed, q.key, "distractor-order").shuffle(tools)
        widened = q.traj.model_copy(update={"id": f"negative/distractor_tools/{q.key}", "tools": tools})
        aligned = render_chat(widened, self.seed, self.rewrites)
        self.reply_sources["source"] = self.reply_sources.get("source", 0) + 1
        return aligned.model_copy(update={"metadata": {
            **aligned.metadata, "kind": "negative", "negative": "distractor_tools", "reply_source": "source",
            "distractors": [t.name for t in extra], "from": q.traj.id}})


def _needed_tool(q: Query) -> Tool | None:
    """The tool that does what the query asks: the last one its source called (the first calls are often
    means to it: API-Bank's ``ToolSearcher``, a login for a token), or, for a tool-pool question, the first
    tool it offers."""
    declared = {t.name: t for t in q.tools if t.name.lower() not in prompts.TERMINAL_TOOLS}
    called = [declared[c.name] for _, c in q.traj.calls() if c.name in declared]
    return called[-1] if called else next(iter(declared.values()), None)


# Words that join a value to its request ("in Oslo", "named 'Slides'", "is JaneSmith"): taken out with it.
_CONNECTOR = r"(?:\b(?:at|in|on|for|to|from|with|named|called|titled|of|about|is|are|as|by)\s+|[:=]\s*)?"


def _without_value(history: tuple[Message, ...], value: Any) -> tuple[Message, ...] | None:
    """``history`` with ``value`` taken out of the one user turn that writes it (with the word that joins it to
    the sentence), or None when the value is not written exactly once in the user turns, or is written by an
    assistant turn too, or too little of the request would be left."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    written = (str(int(value)) if isinstance(value, float) and value == int(value) else str(value)).strip()
    if len(written) < 2 and not written.isdigit():
        return None
    bare = re.compile(rf"(?<!\w){re.escape(written)}(?!\w)", re.I)
    hits = [i for i, m in enumerate(history) if m.role == "user" for _ in bare.finditer(m.content)]
    if len(hits) != 1 or any(bare.search(m.content) for m in history if m.role == "assistant"):
        return None
    index = hits[0]
    text = history[index].content
    pattern = re.compile(rf"{_CONNECTOR}([\"'“‘]?){re.escape(written)}[\"'”’]?(?!\w)", re.I)
    match = next((m for m in pattern.finditer(text) if bare.search(m.group(0))), None)
    if match is None:
        return None
    stripped = text[: match.start()].rstrip() + text[match.end():]
    stripped = re.sub(r"\(\s*\)|\[\s*\]", "", re.sub(r"[ \t]{2,}", " ", stripped))
    stripped = re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r",\s*,", ",", stripped)).strip()
    if len(grounding.words(stripped)) < 3:
        return None
    return (*history[:index], history[index].model_copy(update={"content": stripped}), *history[index + 1:])


def spoken_name(param: str, schema: Any = None) -> str:
    """A parameter as words: ``tracking_number`` → "tracking number", ``newEmail`` → "new email"; a cryptic
    name (``q``) by its short description instead ("The user's search query string." → "search query string")."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", param).replace("_", " ").replace("-", " ")
    spoken = " ".join(spaced.split()).lower()
    description = schema.get("description") if isinstance(schema, dict) else None
    if len(re.sub(r"[^a-z]", "", spoken)) <= 2 and isinstance(description, str):
        phrase = re.split(r"[.(,;:]", description.strip(), maxsplit=1)[0]
        phrase = re.sub(r"^(?:the|a|an)\s+(?:user's\s+)?", "", phrase.strip(), flags=re.I)
        if 0 < len(phrase.split()) <= 6:
            return phrase.lower()
    return spoken


def name_list(names: Iterable[str]) -> str:
    """`a`, `b` and `c` (in backticks: tool names are always written so)."""
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


_VERBS = frozenset(re.findall(r"\w+", """get return retrieve search fetch list create add send provide calculate find
check convert detect generate translate book reserve look compute delete remove update set query show play schedule
track cancel buy order post read write upload download analyze analyse verify validate estimate predict recommend
suggest summarize summarise count open close start stop register submit lookup locate identify extract modify
change record make reset give""".lower()))
_THIRD_PERSON = {"gets": "get", "returns": "return", "retrieves": "retrieve", "searches": "search",
                 "fetches": "fetch", "lists": "list", "creates": "create", "adds": "add", "sends": "send",
                 "provides": "provide", "calculates": "calculate", "finds": "find", "checks": "check",
                 "converts": "convert", "detects": "detect", "generates": "generate", "translates": "translate",
                 "modifies": "modify", "deletes": "delete", "updates": "update", "queries": "query",
                 "registers": "register", "records": "record", "makes": "make", "shows": "show"}
_PRONOUN = {"your": "the", "you": "one", "my": "the", "me": "one"}


# "This API queries …", "An API that returns …": the verb after them is what the tool does.
_SUBJECT = re.compile(r"^(?:this|the|an?)\s+(?:api|tool|function|endpoint|method)\s+(?:that\s+|which\s+|will\s+|can\s+)?",
                      re.I)
# Where a description stops describing the task ("… API that takes three parameters", "… with parameters …").
_TAIL = re.compile(r"\s+(?:api|tool|function)\s+(?:that|which)\b.*$|\s+(?:that|which)\s+(?:takes|includes|requires)\b.*$|"
                   r"\s+(?:includes|including|with)\s+(?:a\s+)?parameters?\b.*$", re.I)


def _verb_phrase(text: str) -> str | None:
    """``text`` as a request's verb phrase ("get the current weather for a city") when it starts with a verb."""
    first = re.split(r"(?<=[.!?])\s|\s+[-–(]\s*|[;:]\s+", text.strip(), maxsplit=1)[0].rstrip(".!?,: ")
    first = _TAIL.sub("", _SUBJECT.sub("", first))
    words_ = first.split()
    if not words_ or len(words_) > 14 or (len(words_) > 1 and words_[1].lower() == "of"):
        return None
    head = _THIRD_PERSON.get(words_[0].lower(), words_[0].lower())
    if head not in _VERBS:
        return None
    return " ".join([head, *(_PRONOUN.get(w.lower(), w) for w in words_[1:])]).rstrip(",")


def need_phrase(tool: Tool | None) -> str:
    """What a request for ``tool`` needs done, as a verb phrase: from its description when that starts with a
    verb, else from its name (``track_package_for_fastway`` → "track package"), else "handle … requests"."""
    if tool is None:
        return "do this"
    from_description = _verb_phrase(tool_description(tool).split(" (a function of the ")[0])
    if from_description:
        return from_description
    spoken = spoken_name(tool.name.split("_for_")[0])
    return _verb_phrase(spoken) or f"handle {spoken} requests"


def rank(items: list[Query], seed: int, purpose: str) -> list[Query]:
    return ranked(items, seed, purpose, key=lambda q: q.key)
