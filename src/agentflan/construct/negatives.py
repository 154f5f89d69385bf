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

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentflan.errors import RecordError
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory
from agentflan.seeding import rng_for, stable_hash
from agentflan.toolschema import required_arguments

from .align import describe_tool, render_chat, tools_prompt, tools_system
from .phrasing import say
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


def _environment_actions(traj: Trajectory) -> bool:
    # ``tools_synthesized: true`` is how canonical files written before ``environment_actions`` said so.
    return bool(traj.metadata.get("environment_actions")) or traj.metadata.get("tools_synthesized") is True


def tool_query(key: str, traj: Trajectory) -> Query | None:
    """A query that needs a tool: the first user turn of a trajectory that declares tools and calls one."""
    user = next((m for m in traj.messages if m.role == "user" and m.content.strip()), None)
    if user is None or not traj.tools or _environment_actions(traj):
        return None  # all tools synthesised: an environment's actions (bash, click), not APIs a query asks for
    if not traj.calls() and not traj.metadata.get("queries_need_tools"):
        return None
    # The trajectory's own final answer is *not* a reference here: it was written from tool results, and taught
    # without the tools it would teach exactly the hallucination negatives exist to prevent ("I've emailed Sam").
    # Only an answer the source marks as written without tools counts.
    reference = traj.metadata.get("reference_answer")
    return Query(key, user.content.strip(), list(traj.tools), reference if isinstance(reference, str) else None,
                 traj)


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
            if _environment_actions(traj):
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


@dataclass
class NegativeMaker:
    seed: int
    pool: ToolPool
    check: IrrelevanceCheck
    k: int
    reply_order: list[str]
    endpoint: ChatEndpoint | None = None
    reply_sources: dict[str, int] = field(default_factory=dict)

    def _sample(self, circumstance: str, q: Query, tools: list[Tool], reply: str, source: str,
                extra: dict[str, Any] | None = None) -> Trajectory:
        self.reply_sources[source] = self.reply_sources.get(source, 0) + 1
        messages = []
        if tools:
            messages.append(tools_system(tools_prompt(tools, self.seed, f"{circumstance}/{q.key}")))
        messages += [Message(role="user", content=q.text),
                     Message(role="assistant", parts=[Part(text=reply, capability="abstain")])]
        return Trajectory(id=f"negative/{circumstance}/{q.key}", tools=tools, messages=messages,
                          provenance=q.traj.provenance,
                          metadata={"kind": "negative", "negative": circumstance, "reply_source": source,
                                    "from": q.traj.id, "source": q.traj.metadata.get("source"), **(extra or {})})

    def _reply(self, prompt: list[dict[str, Any]] | None, reference: str | None,
               template: Callable[[], str] | None) -> tuple[str, str]:
        return resolve_reply(self.reply_order, self.endpoint, prompt, reference, template)

    def tools_given_no_need(self, q: Query) -> Trajectory:
        tools = self.pool.draw_irrelevant(self.k, q.text, [], self.check, self.seed, q.key)
        # No template: a canned sentence is no answer to a general question.
        reply, source = self._reply([{"role": "user", "content": q.text}], q.reference, None)
        return self._sample("tools_given_no_need", q, tools, reply, source)

    def no_tools_needs_tool(self, q: Query) -> Trajectory:
        reply, source = self._reply(
            [{"role": "system", "content": _NO_TOOLS_PROMPT}, {"role": "user", "content": q.text}], q.reference,
            lambda: say("no_tools_needs_tool", self.seed, q.key))
        return self._sample("no_tools_needs_tool", q, [], reply, source)

    def irrelevant_tools_needs_tool(self, q: Query) -> Trajectory:
        tools = self.pool.draw_irrelevant(self.k, q.text, q.tools, self.check, self.seed, q.key)
        listed = "\n".join(describe_tool(t) for t in tools)
        names = ", ".join(f"`{t.name}`" for t in tools)
        reply, source = self._reply(
            [{"role": "system", "content": _IRRELEVANT_PROMPT.format(tools=listed)},
             {"role": "user", "content": q.text}], q.reference,
            lambda: say("irrelevant_tools_needs_tool", self.seed, q.key, tools=names))
        return self._sample("irrelevant_tools_needs_tool", q, tools, reply, source)

    @staticmethod
    def strippable(q: Query) -> tuple[ToolCall, Tool, list[str]] | None:
        """The query's first call, its tool and the required arguments it gives (None when there are none)."""
        call = next((c for _, c in q.traj.calls()), None)
        tool = next((t for t in q.tools if call is not None and t.name == call.name), None)
        if call is None or tool is None:
            return None
        required = [a for a in required_arguments(tool.parameters) if a in call.arguments]
        return (call, tool, required) if required else None

    def missing_argument(self, q: Query) -> Trajectory:
        found = self.strippable(q)
        if found is None:
            raise RecordError("no_required_argument", "no call to a declared tool with a required argument")
        call, tool, required = found
        rng = rng_for(self.seed, q.key, "missing-argument")
        param = rng.choice(required)
        given = {k: v for k, v in call.arguments.items() if k != param}
        task = _task(tool)
        given_text = "".join(f" Use {k} = {json.dumps(v, ensure_ascii=False)}." for k, v in given.items())
        query_text = say("missing_argument_query", self.seed, q.key, task=task, given=given_text)
        spoken = param.replace("_", " ")
        question = say("missing_argument_question", self.seed, q.key, param=spoken)
        reply, source = resolve_reply(
            [s for s in self.reply_order if s != "reference"], self.endpoint,
            [{"role": "system", "content": _MISSING_PROMPT.format(tool=describe_tool(tool), param=param)},
             {"role": "user", "content": query_text}], None,
            lambda: say("missing_argument", self.seed, q.key, name=tool.name, param=spoken, question=question))
        asked = Query(q.key, query_text, q.tools, None, q.traj)
        return self._sample("missing_argument", asked, [tool], reply, source, {"missing_argument": param})

    def distractor_tools(self, q: Query) -> Trajectory:
        extra = self.pool.draw_irrelevant(self.k, q.text, q.tools, self.check, self.seed, q.key)
        tools = [*q.tools, *extra]
        rng_for(self.seed, q.key, "distractor-order").shuffle(tools)
        widened = q.traj.model_copy(update={"id": f"negative/distractor_tools/{q.key}", "tools": tools})
        aligned = render_chat(widened, self.seed)
        self.reply_sources["source"] = self.reply_sources.get("source", 0) + 1
        return aligned.model_copy(update={"metadata": {
            **aligned.metadata, "kind": "negative", "negative": "distractor_tools", "reply_source": "source",
            "distractors": [t.name for t in extra], "from": q.traj.id}})


_VERBS = frozenset(re.findall(r"\w+", """get return retrieve search fetch list create add send provide calculate find
check convert detect generate translate book reserve look compute delete remove update set query show play schedule
track cancel buy order post read write upload download analyze analyse verify validate estimate predict recommend
suggest summarize summarise count open close start stop register submit lookup locate identify extract""".lower()))
_THIRD_PERSON = {"gets": "get", "returns": "return", "retrieves": "retrieve", "searches": "search",
                 "fetches": "fetch", "lists": "list", "creates": "create", "adds": "add", "sends": "send",
                 "provides": "provide", "calculates": "calculate", "finds": "find", "checks": "check",
                 "converts": "convert", "detects": "detect", "generates": "generate", "translates": "translate"}
# ToolBench wraps every description: 'This is the subfunction for tool "x"... The description of this function is: "..."'
_TOOLBENCH_DESC = re.compile(r'description of this function is:\s*"(?P<inner>.*?)"?\s*$', re.S)


def _task(tool: Tool) -> str:
    """The tool's purpose as a verb phrase for a request ("get the current weather for a city"), or a plain
    "use `name`" when the description does not start with a verb."""
    desc = tool.description.strip()
    m = _TOOLBENCH_DESC.search(desc)
    if m:
        desc = m.group("inner").strip()
    first = re.split(r"(?<=[.!?])\s", desc, maxsplit=1)[0].rstrip(".!? ") if desc else ""
    words_ = first.split()
    if words_ and len(first) <= 160:
        head = words_[0].lower()
        head = _THIRD_PERSON.get(head, head)
        if head in _VERBS:
            return " ".join([head, *words_[1:]])
    return f"use `{tool.name}`"


def rank(items: list[Query], seed: int, purpose: str) -> list[Query]:
    return sorted(items, key=lambda q: (stable_hash(seed, q.key, purpose), q.key))
