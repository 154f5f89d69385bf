"""Prompts that prescribe a reply format: finding them (`requests`, `mismatches`) and, for chat-aligned records,
taking them out (`clean`). One definition serves `build`, which cleans, and `audit`, which counts the records
whose prompt asks for a format their replies do not use.

Agent corpora tell the model *how to write* its replies in their system and user turns: "Thought: … Action: …"
templates (ReAct, AgentInstruct's environment manuals), AutoGPT's rules for the ``Finish`` function, "respond in
JSON", and ToolBench's retry prompts that quote earlier calls as JSON. Once the replies are rewritten as natural
conversation those instructions contradict the replies, and a model trained on both learns to ignore its prompt.

Kinds of request (`requests`) and what counts as a reply using the format (`reply_formats`):

=================  ==========================================  ==========================================
kind               found in a system or user turn               the replies use it when
=================  ==========================================  ==========================================
``react``          ``Thought:``/``Action:``/``Act:``/           an assistant text has such keyword lines
                   ``Final Answer:`` templates
``json``           "respond/reply/output … in JSON"             an assistant text holds a JSON object
``function_rules`` AutoGPT's ``Finish`` /                       a call to ``Finish`` is made (in a source
                   ``give_up_and_restart`` rules                record: any function call, or an answer the
                                                                reader turned from a ``Finish`` call)
``quoted_calls``   a retry prompt listing earlier calls         an assistant text holds a JSON object
=================  ==========================================  ==========================================

In a source (not built) record, native calls are JSON calls, as the audit's function-call view counts them.

`clean` rewrites one prompt text by named rules, each counted (the build manifest's ``prompt_rewrites``)::

    before  "...your operation should be like this:\\nAction: Operation\\n```sql\\nSELECT ...```\\nEvery time you
             write a SQL, I will execute it for you."
    after   "...Every time you write a SQL, I will execute it for you."
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from agentflan.callsyntax import json_values
from agentflan.schema import Message, Tool, Trajectory

# Keyword templates. The short keywords (Act, Think) count only at the start of a line or right after a quote,
# so "the Clean Air Act: ..." in a question is no request.
_KEYWORD = r"(?:Thought|THOUGHT|Think|Action Input|Action input|ACTION INPUT|Action|ACTION|Act|Final Answer|Final answer|FINAL ANSWER)"
_REACT_REQUEST = re.compile(rf"(?:^|[\"'“‘])[ \t]*{_KEYWORD}[ \t]*:|"
                            r"(?<!\w)(?:Thought|THOUGHT|Action Input|Action|ACTION|Final Answer|FINAL ANSWER)[ \t]*:",
                            re.M)
_REACT_REPLY = re.compile(rf"^[ \t]*{_KEYWORD}[ \t]*:", re.M)
# An instruction to the assistant, not a tool description ("returns the matches in JSON format" is not one).
_JSON_REQUEST = re.compile(
    r"\b(?:respond|reply|answer|output|format your \w+|write your \w+)\b(?:[ \t]+[\w'’]+){0,6}?[ \t]+"
    r"(?:in|as|with|using)[ \t]+(?:(?:a|an|valid|only|the|following|pure)[ \t]+)*JSON\b|"
    r"\byour (?:reply|answer|response|output) (?:should|must) be (?:a |an |valid |only )*JSON\b", re.I)
_FUNCTION_RULES = re.compile(r"give_up_and_restart|ALWAYS call (?:the )?\W?Finish|You are AutoGPT|"
                             r"call this function to restart", re.I)
RETRY_PROMPT = re.compile(r"This is not the first time you try this task|previous actions? candidates", re.I)
TERMINAL_TOOLS = frozenset({"finish", "finalaction", "final_answer", "finalanswer"})

KINDS = ("react", "json", "function_rules", "quoted_calls")


def requests(text: str) -> set[str]:
    """The reply formats ``text`` (a system or user turn) asks for."""
    found: set[str] = set()
    if _REACT_REQUEST.search(text):
        found.add("react")
    if _JSON_REQUEST.search(text):
        found.add("json")
    if _FUNCTION_RULES.search(text):
        found.add("function_rules")
    if RETRY_PROMPT.search(text):
        found.add("quoted_calls")
    return found


def _is_prompt(msg: Message) -> bool:
    # Tool results rendered as user turns (ReAct's "Observation: …") are the environment speaking, not a request.
    return msg.role in ("system", "user") and not msg.metadata.get("observation")


def reply_formats(traj: Trajectory) -> set[str]:
    """The formats the assistant turns of ``traj`` are written in (see the module docstring)."""
    built = traj.kind is not None
    used: set[str] = set()
    for msg in traj.messages:
        if msg.role != "assistant":
            continue
        if _REACT_REPLY.search(msg.content):
            used.add("react")
            if re.search(r"^[ \t]*Action[ \t]*:[ \t]*Finish\b", msg.content, re.M | re.I) or (
                    not built and re.search(r"^[ \t]*Action[ \t]*:", msg.content, re.M)):
                used.add("function_rules")  # in a source record, a call written as ReAct text is a function call
        if any(isinstance(v, dict) for v, _, _ in json_values(msg.content)):
            used |= {"json", "quoted_calls"}
        if any(c.name.lower() in TERMINAL_TOOLS for c in msg.tool_calls):
            used.add("function_rules")
        if not built:
            if msg.tool_calls:
                # A source's native calls are JSON function calls; AutoGPT's rules ask for exactly those (a
                # search step that stops before its Finish call is what `finished` reports, not a mismatch).
                used |= {"json", "quoted_calls", "function_rules"}
            if msg.metadata.get("finish"):
                used.add("function_rules")
    return used


def mismatches(traj: Trajectory) -> list[tuple[int, str]]:
    """(message index, format) for every prompt turn asking for a format that no reply of ``traj`` uses."""
    if not any(m.role == "assistant" for m in traj.messages):
        return []  # a question without replies (an evaluation file) has nothing to contradict
    used = reply_formats(traj)
    found = []
    for index, msg in enumerate(traj.messages):
        if _is_prompt(msg):
            found += [(index, kind) for kind in sorted(requests(msg.content) - used)]
    return found


# --- cleaning -------------------------------------------------------------------------------------------------

_AUTOGPT = re.compile(r"You are AutoGPT")
_SERVICES = re.compile(r"You have access of the following tools:\s*\n(?P<list>(?:[ \t]*\d+\.[^\n]*\n?)+)")
_SERVICE_LINE = re.compile(r"^[ \t]*\d+\.\s*(?P<name>[^:\n]+?)\s*:\s*(?P<desc>[^\n]*)$", re.M)
_BEGIN = re.compile(r"(?:(?:^|\n)[ \t]*Begin!\s*)+$")
_FENCE = re.compile(r"```[^\n`]*\n.*?```[ \t]*\n?", re.S)
# A sentence that announces or enforces a reply layout ("should be like this:", "use the following format:").
_ANNOUNCE = re.compile(
    r"\bformat\b|\blike this\b|following structure|\bthis pattern\b|\bany pattern\b|\bwrite down\s*:|"
    r"\bprint like\b|\bcode block\b|\brespond with\b.*['\"]|[\"'“](?:THOUGHT|ACTION|Thought|Action)[\"'”]", re.I)
_BRACKET_TEMPLATE = re.compile(r"^\s*\w+\[[^\]\n]*\]\s*$")
_BARE_KEYWORD = re.compile(rf"^\s*{_KEYWORD}\s*:?\s*$")
# What a template puts after a bare keyword: "I think ...", "put your thought here", "<answer>", a lone word.
_PLACEHOLDER = re.compile(r"\.\.\.|…|\bput your\b|^\s*your\b|<[^>\n]+>|^\s*[\w ]{1,30}\s*$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])(\s+)")
_LEFTOVER = re.compile(r"^[\s\"'”’;,.]+(?=\S)")
_CONTENT = re.compile(r"[^\W\d_]")  # a letter: what a kept line must still hold


def _sentences(line: str) -> list[str]:
    """``line`` cut after each sentence end, every piece keeping the space that follows it, so that joining the
    pieces gives the line back."""
    pieces = _SENTENCE_END.split(line)
    return [pieces[i] + (pieces[i + 1] if i + 1 < len(pieces) else "") for i in range(0, len(pieces), 2)]


def _strip_format_sentences(text: str) -> tuple[str, int]:
    """``text`` without the sentences and template lines that prescribe a reply format; (text, removed)."""
    removed = 0
    text, n = _FENCE.subn("", text)
    removed += n
    out_lines: list[str] = []
    template_body = False  # the line after a bare keyword ("Thought:") may be its placeholder ("I think ...")
    for line in text.split("\n"):
        if template_body:
            template_body = False
            if _PLACEHOLDER.search(line) or _BRACKET_TEMPLATE.match(line):
                removed += 1
                continue
        if _BARE_KEYWORD.match(line):
            template_body = True
            removed += 1
            continue
        if _BRACKET_TEMPLATE.match(line):
            removed += 1
            continue
        kept: list[str] = []
        for sentence in _sentences(line):
            if requests(sentence) or _ANNOUNCE.search(sentence):
                removed += 1
                continue
            kept.append(sentence)
        joined = "".join(kept)
        if len(joined) < len(line):
            # What is left of a line that lost a sentence: a list number ("1."), a closing quote and semicolon
            # of the template it held ('"; '), or prose worth keeping.
            if not _CONTENT.search(joined):
                continue
            joined = _LEFTOVER.sub("", joined).rstrip()
        elif kept and not _CONTENT.search(kept[0]) and len(kept) > 1:
            joined = _LEFTOVER.sub("", joined)  # '". After each turn…': the tail of a template cut off above
        out_lines.append(joined)
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(out_lines)).strip()
    return cleaned, removed


def _services(text: str) -> str:
    """AutoGPT's list of the services the functions belong to, as plain lines: the one part of its prompt that
    describes the tools rather than a reply format."""
    m = _SERVICES.search(text)
    if not m:
        return ""
    lines = [f"- {s['name'].strip()}: {s['desc'].strip()}" if s["desc"].strip() else f"- {s['name'].strip()}"
             for s in _SERVICE_LINE.finditer(m.group("list"))]
    return "The tools belong to these services:\n" + "\n".join(lines) if lines else ""


def clean(text: str, role: str, rewrites: Counter[str]) -> str:
    """``text`` (a system or user turn of a chat-aligned record) without the reply-format instructions; each
    rule that changed it is counted in ``rewrites`` as ``ROLE:RULE``. An empty result means: drop the turn."""
    if role == "user" and RETRY_PROMPT.search(text):
        rewrites[f"{role}:retry_prompt"] += 1
        return ""
    out = text
    if _AUTOGPT.search(out):
        rewrites[f"{role}:autogpt_prompt"] += 1
        out = _services(out)
    if requests(out):
        out, removed = _strip_format_sentences(out)
        if removed:
            rewrites[f"{role}:format_instructions"] += 1
    if role == "user" and _BEGIN.search(out):
        out = _BEGIN.sub("", out).strip()
        rewrites[f"{role}:begin_marker"] += 1
    return out


def clean_tools(tools: list[Tool], called: Iterable[str], rewrites: Counter[str]) -> list[Tool]:
    """The tools without a terminal pseudo-tool (ToolBench's ``Finish``) that no call uses: in a conversation
    its answer is plain text, and its description ("you must ALWAYS call this function") would say otherwise."""
    names = set(called)
    kept = [t for t in tools if t.name.lower() not in TERMINAL_TOOLS or t.name in names]
    if len(kept) < len(tools):
        rewrites["tools:terminal_tool"] += 1
    return kept
