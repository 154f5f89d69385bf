"""``agentinstruct``: AgentInstruct conversations ``{id, conversations: [{role, content}]}`` (AgentTuning, the
paper's held-in data) in their six prompt styles, each read and rendered in its own syntax:

=========  =====================================================  ==========================================
domain     assistant turn                                         canonical call / answer
=========  =====================================================  ==========================================
os         ``Think: ...\\n\\nAct: bash\\n\\n```bash\\nls\\n```         ``bash{"script": "ls"}``
           ``Act: answer(220)`` / ``Act: finish``                  answer ``220`` / finish (no answer)
db         ``<explanation>\\nAction: Operation\\n```sql\\n...```     ``execute_sql{"sql": ...}``
           ``Action: Answer\\nFinal Answer: ["x"]``                 answer ``["x"]``
kg         ``Thought: ...\\nAction: get_neighbors(#0, rel)``       ``get_neighbors{"variable": "#0", "relation": "rel"}``
           ``Final Answer: #3``                                   answer ``#3``
alfworld   ``THOUGHT: ...\\n ACTION: take cup 1 from table 1``    ``take{"object": "cup 1", "receptacle": "table 1"}``
webshop    ``Thought:\\n...\\n\\nAction:\\nclick[Buy Now]``          ``click{"target": "Buy Now"}``
mind2web   ``Thought: ...\\nAnswer: C.\\nAction: TYPE\\nValue: 42``   ``TYPE{"element": "C", "value": "42"}``
=========  =====================================================  ==========================================

The first user turn (the instruction prompt) and the assistant's acknowledgement (``Ok.``) are kept as
messages, marked ``metadata["agentinstruct"] = "instruction" | "ack"``. A user turn answering a call becomes a
``tool`` message (its environment prefix such as ``The output of the OS:`` removed and remembered). Tools are
synthesised from each domain's action vocabulary (``metadata["tools_synthesized"]`` lists them, and
``metadata["environment_actions"] = True`` says they are an environment's actions, not APIs). Whitespace of the
source that differs from the domain's usual layout is kept in message metadata, so `render_react` gives the
source text back. A turn that does not parse in its domain's syntax is rejected (``unparseable_react``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from agentflan.errors import RecordError
from agentflan.formats.base import Reader, RecordContext, require
from agentflan.formats.reacttext import LAYOUT_KEY, Conversation, PartsBuilder, ReactStyle, Turn, layout
from agentflan.schema import Message, Part, Tool, ToolCall, Trajectory

MARK = "agentinstruct"  # message metadata key: "instruction" | "ack"


def _tool(name: str, description: str, **params: str) -> Tool:
    return Tool(name=name, description=description,
                parameters={"type": "object", "properties": {k: {"type": "string", "description": v}
                                                             for k, v in params.items()},
                            "required": list(params)})


def _thought(keyword: str) -> str:
    """Optional thought before the action: a keyword (absent when the domain writes prose), the thought, and
    the whitespace (with a line break) before the action keyword."""
    return (rf"(?:(?P<tkw>{keyword})?(?P<thought>(?:.*?\S)?)(?P<s1>[ \t]*\n\s*))?")


def split_kg_arguments(inner: str, arity: int | None) -> list[str]:
    """Arguments of a KG call such as ``get_neighbors(Barack Obama, people.person.profession)``: unquoted,
    comma-separated. Entity names may hold commas, relations and variables do not, so the split is from the
    right and stops at the function's arity."""
    if inner.strip() == "":
        return []
    if arity is None:
        return [a.strip() for a in inner.split(",")]
    return [a.strip() for a in inner.rsplit(",", max(arity - 1, 0))]


@dataclass(frozen=True)
class Domain(ReactStyle):
    """One AgentInstruct prompt style: recognising its instruction, parsing and rendering its turns."""

    name: str
    signature: re.Pattern[str]  # found in the instruction prompt
    tools: tuple[Tool, ...]
    pattern: re.Pattern[str]  # one whole assistant turn
    defaults: dict[str, str]  # usual separators; the source's others are kept in metadata
    build: Callable[[re.Match[str]], tuple[ToolCall | None, str | None, dict[str, Any]]]
    render_call: Callable[[PartsBuilder, ToolCall, Callable[[str], str]], bool]
    render_answer: Callable[[PartsBuilder, str | None, dict[str, Any], Callable[[str], str]], bool]
    observation_prefix: re.Pattern[str] | None = None
    default_prefix: str = ""
    acknowledges: bool = True  # the assistant's second turn acknowledges the instructions ("Ok.")

    system_prompt = False  # the instruction prompt, kept as the first user turn, describes tools and format

    def parse(self, text: str) -> Turn:
        m = self.pattern.fullmatch(text)
        if m is None:
            raise RecordError("unparseable_react", f"not a {self.name} turn: {text[:100]!r}")
        call, answer, extra = self.build(m)
        thought = m.group("thought")
        kept: dict[str, str] = {}
        for key, default in self.defaults.items():
            value = m.group(key) if key in m.re.groupindex else None
            if value is None and key == "tkw" and thought is not None:
                value = ""  # prose before the action with no thought keyword: kept as the thought
            if value is not None and value != default:
                kept[key] = value
        metadata: dict[str, Any] = {**extra, LAYOUT_KEY: kept} if kept else dict(extra)
        return Turn(thought, call, answer, metadata)

    # -- rendering (ReactStyle) --

    def _start(self, thought: str | None, meta: dict[str, Any]) -> tuple[PartsBuilder, Callable[[str], str]]:
        b = PartsBuilder()

        def lay(key: str) -> str:
            return layout(meta, key, self.defaults.get(key, ""))

        if thought is not None:
            b.fmt(lay("tkw")).add(thought, "reasoning").fmt(lay("s1"))
        return b, lay

    def call(self, thought: str | None, call: ToolCall, meta: dict[str, Any]) -> list[Part]:
        b, lay = self._start(thought, meta)
        if not self.render_call(b, call, lay):
            return super().call(thought, call, meta)  # a call this domain cannot write (e.g. from another reader)
        return b.fmt(lay("tail")).parts

    def answer(self, thought: str | None, answer: str | None, meta: dict[str, Any]) -> list[Part]:
        if meta.get(MARK) == "ack" and answer is not None:
            return [Part(text=answer, capability="instruction_following")]
        b, lay = self._start(thought, meta)
        if not self.render_answer(b, answer, meta, lay):
            return super().answer(thought, answer, meta)
        return b.fmt(lay("tail")).parts

    def observation(self, content: str, meta: dict[str, Any]) -> str:
        return layout(meta, "prefix", self.default_prefix) + content

    def split_observation(self, content: str) -> tuple[str, dict[str, Any]]:
        """(result, message metadata) of a user turn answering a call."""
        prefix = ""
        if self.observation_prefix is not None and (m := self.observation_prefix.match(content)):
            prefix = m.group(0)
        meta = {LAYOUT_KEY: {"prefix": prefix}} if prefix != self.default_prefix else {}
        return content[len(prefix):], meta


# --- OS ------------------------------------------------------------------------------------------------------

_FENCE = r"(?P<s2>\s*)```(?P<lang>[\w+-]*)[ \t]*\n(?P<code>.*?)(?P<s3>\n?)```"


def _os_build(m: re.Match[str]) -> tuple[ToolCall | None, str | None, dict[str, Any]]:
    act = m.group("act")
    if act == "bash":
        if m.group("code") is None:
            raise RecordError("unparseable_react", "Act: bash without a ```bash code block")
        return ToolCall(name="bash", arguments={"script": m.group("code")}), None, {}
    if act == "answer":
        if m.group("answer") is None:
            raise RecordError("unparseable_react", "Act: answer without (...)")
        return None, m.group("answer"), {}
    if m.group("code") is not None or m.group("answer") is not None:
        raise RecordError("unparseable_react", "Act: finish followed by more text")
    return None, None, {"react_action": "finish"}


def _fenced(b: PartsBuilder, keyword: str, action: str, call: ToolCall, key: str,
            lay: Callable[[str], str]) -> bool:
    """``Act: bash`` / ``Action: Operation`` and a fenced code block holding the call's one argument."""
    if set(call.arguments) != {key} or not isinstance(call.arguments[key], str):
        return False
    b.fmt(keyword + lay("k2")).add(action, "retrieval")
    b.fmt(lay("s2") + "```" + lay("lang") + "\n").add(call.arguments[key], "understanding")
    b.fmt(lay("s3") + "```")
    return True


def _os_call(b: PartsBuilder, call: ToolCall, lay: Callable[[str], str]) -> bool:
    return call.name == "bash" and _fenced(b, "Act:", "bash", call, "script", lay)


def _os_answer(b: PartsBuilder, answer: str | None, meta: dict[str, Any], lay: Callable[[str], str]) -> bool:
    if meta.get("react_action") == "finish":
        b.fmt("Act:" + lay("k2") + "finish")
    elif answer is not None:
        b.fmt("Act:" + lay("k2") + "answer(").add(answer, "answer").fmt(")")
    else:
        return False
    return True


# --- DB ------------------------------------------------------------------------------------------------------


def _db_build(m: re.Match[str]) -> tuple[ToolCall | None, str | None, dict[str, Any]]:
    if m.group("code") is not None:
        return ToolCall(name="execute_sql", arguments={"sql": m.group("code")}), None, {}
    return None, m.group("answer"), {}


def _db_call(b: PartsBuilder, call: ToolCall, lay: Callable[[str], str]) -> bool:
    return call.name == "execute_sql" and _fenced(b, "Action:", "Operation", call, "sql", lay)


def _db_answer(b: PartsBuilder, answer: str | None, meta: dict[str, Any], lay: Callable[[str], str]) -> bool:
    if answer is None:
        return False
    b.fmt("Action:" + lay("k2") + "Answer" + lay("s4") + "Final Answer:" + lay("k3")).add(answer, "answer")
    return True


# --- KG ------------------------------------------------------------------------------------------------------

KG_SIGNATURES: dict[str, tuple[str, ...]] = {
    "get_relations": ("variable",),
    "get_neighbors": ("variable", "relation"),
    "intersection": ("variable1", "variable2"),
    "get_attributes": ("variable",),
    "argmax": ("variable", "attribute"),
    "argmin": ("variable", "attribute"),
    "count": ("variable",),
}
_KG_DESCRIPTIONS = {
    "get_relations": "All relations in the knowledge base connected to an entity or a variable (#id).",
    "get_neighbors": "All entities connected to the variable via the given relation (a new variable).",
    "intersection": "The intersection of two variables of the same type (a new variable).",
    "get_attributes": "All numerical attributes of the variable.",
    "argmax": "The entity of the variable with the maximum value of the attribute.",
    "argmin": "The entity of the variable with the minimum value of the attribute.",
    "count": "The number of entities belonging to the variable.",
}


def _kg_build(m: re.Match[str]) -> tuple[ToolCall | None, str | None, dict[str, Any]]:
    if m.group("fname") is None:
        return None, m.group("answer"), {}
    name = m.group("fname")
    params = KG_SIGNATURES.get(name)
    values = split_kg_arguments(m.group("inner"), len(params) if params else None)
    # A call with another arity keeps positional names, so the pipeline flags it against the schema.
    keys = params if params and len(params) == len(values) else tuple(f"arg{i}" for i in range(len(values)))
    return ToolCall(name=name, arguments=dict(zip(keys, values, strict=True))), None, {}


def _kg_call(b: PartsBuilder, call: ToolCall, lay: Callable[[str], str]) -> bool:
    values = list(call.arguments.values())
    if not all(isinstance(v, str) for v in values) or not re.fullmatch(r"[A-Za-z_]\w*", call.name):
        return False
    b.fmt("Action:" + lay("k2")).add(call.name, "retrieval").fmt("(")
    for i, v in enumerate(values):
        b.fmt(", " if i else "").add(v, "understanding")
    b.fmt(")")
    return True


def _kg_answer(b: PartsBuilder, answer: str | None, meta: dict[str, Any], lay: Callable[[str], str]) -> bool:
    if answer is None:
        return False
    b.fmt("Final Answer:" + lay("k3")).add(answer, "answer")
    return True


# --- ALFWorld ------------------------------------------------------------------------------------------------

# ALFWorld's admissible commands; each becomes a tool whose arguments are the command's slots.
ALFWORLD_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("go_to", "go to {receptacle}", "Go to a receptacle."),
    ("take", "take {object} from {receptacle}", "Take an object from a receptacle."),
    ("put", "put {object} in/on {receptacle}", "Put the held object in or on a receptacle."),
    ("open", "open {receptacle}", "Open a receptacle."),
    ("close", "close {receptacle}", "Close a receptacle."),
    ("toggle", "toggle {object}", "Turn an object on or off."),
    ("clean", "clean {object} with {receptacle}", "Clean an object with a receptacle (e.g. a sinkbasin)."),
    ("heat", "heat {object} with {receptacle}", "Heat an object with a receptacle (e.g. a microwave)."),
    ("cool", "cool {object} with {receptacle}", "Cool an object with a receptacle (e.g. a fridge)."),
    ("slice", "slice {object} with {receptacle}", "Slice an object with a held knife."),
    ("use", "use {object}", "Use an object (e.g. a desklamp)."),
    ("examine", "examine {object}", "Examine an object or receptacle."),
    ("look", "look", "Look around."),
    ("inventory", "inventory", "List the objects held."),
)
_ALFWORLD_RE = [(name, re.compile(re.escape(template).replace(r"\{object\}", "(?P<object>.+?)")
                                  .replace(r"\{receptacle\}", "(?P<receptacle>.+?)")), template)
                for name, template, _ in ALFWORLD_COMMANDS]


def _alfworld_build(m: re.Match[str]) -> tuple[ToolCall | None, str | None, dict[str, Any]]:
    command = m.group("command")
    for name, regex, _ in _ALFWORLD_RE:
        if cm := regex.fullmatch(command):
            return ToolCall(name=name, arguments=cm.groupdict()), None, {}
    raise RecordError("unparseable_react", f"ALFWorld action {command[:80]!r} is not an admissible command")


def _alfworld_call(b: PartsBuilder, call: ToolCall, lay: Callable[[str], str]) -> bool:
    template = next((t for n, _, t in _ALFWORLD_RE if n == call.name), None)
    slots = re.findall(r"\{(\w+)\}", template or "")
    if template is None or set(call.arguments) != set(slots):
        return False
    if not all(isinstance(v, str) for v in call.arguments.values()):
        return False
    b.fmt("ACTION:" + lay("k2"))
    for i, piece in enumerate(re.split(r"\{\w+\}", template)):
        if i == 0:  # the command's verb names the tool; the words between slots are format
            verb = piece.rstrip()
            b.add(verb, "retrieval").fmt(piece[len(verb):])
        else:
            b.fmt(piece)
        if i < len(slots):
            b.add(call.arguments[slots[i]], "understanding")
    return True


def _no_answer(b: PartsBuilder, answer: str | None, meta: dict[str, Any], lay: Callable[[str], str]) -> bool:
    return False


# --- WebShop -------------------------------------------------------------------------------------------------

_WEBSHOP_PARAMS = {"search": "keywords", "click": "target"}


def _webshop_build(m: re.Match[str]) -> tuple[ToolCall | None, str | None, dict[str, Any]]:
    name = m.group("name")
    return ToolCall(name=name, arguments={_WEBSHOP_PARAMS[name]: m.group("arg")}), None, {}


def _webshop_call(b: PartsBuilder, call: ToolCall, lay: Callable[[str], str]) -> bool:
    key = _WEBSHOP_PARAMS.get(call.name)
    if key is None or set(call.arguments) != {key} or not isinstance(call.arguments[key], str):
        return False
    b.fmt("Action:" + lay("k2")).add(call.name, "retrieval").fmt("[").add(call.arguments[key], "understanding")
    b.fmt("]")
    return True


# --- Mind2Web ------------------------------------------------------------------------------------------------


def _mind2web_build(m: re.Match[str]) -> tuple[ToolCall | None, str | None, dict[str, Any]]:
    op = m.group("op")  # an operation outside CLICK/TYPE/SELECT is kept; the pipeline flags the unknown tool
    if op is None:
        return None, m.group("choice"), {"mind2web": "choice_only"}
    args = {"element": m.group("choice")}
    if m.group("value") is not None:
        args["value"] = m.group("value")
    return ToolCall(name=op, arguments=args), None, {}


def _mind2web_call(b: PartsBuilder, call: ToolCall, lay: Callable[[str], str]) -> bool:
    args = call.arguments
    if not re.fullmatch(r"[A-Z][A-Z_]*", call.name) or not isinstance(args.get("element"), str):
        return False
    if set(args) - {"element", "value"} or not isinstance(args.get("value", ""), str):
        return False
    b.fmt("Answer:" + lay("k2")).add(args["element"], "understanding").fmt(lay("dot") + lay("s2") + "Action:"
                                                                          + lay("k3")).add(call.name, "retrieval")
    if "value" in args:
        b.fmt(lay("s3") + "Value:" + lay("k4")).add(args["value"], "understanding")
    return True


def _mind2web_answer(b: PartsBuilder, answer: str | None, meta: dict[str, Any], lay: Callable[[str], str]) -> bool:
    if meta.get("mind2web") != "choice_only" or answer is None:
        return False
    b.fmt("Answer:" + lay("k2")).add(answer, "answer").fmt(lay("dot"))
    return True


def _re(body: str) -> re.Pattern[str]:
    return re.compile(body + r"(?P<tail>\s*)", re.DOTALL)


DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        Domain(
            "os", re.compile(r"play the role of linux"),
            (_tool("bash", "Run a bash script in the Linux (Ubuntu) machine and return its output.",
                   script="the bash code"),),
            _re(_thought(r"Think:[ \t]?") + r"Act:(?P<k2>[ \t]*)(?P<act>bash|finish|answer)"
                r"(?:" + _FENCE + r"|\((?P<answer>.*)\))?"),
            {"tkw": "Think: ", "s1": "\n\n", "k2": " ", "s2": "\n\n", "lang": "bash", "s3": "\n", "tail": ""},
            _os_build, _os_call, _os_answer, re.compile(r"The output of the OS:[ \t]*\n?"),
            "The output of the OS:\n", acknowledges=False,
        ),
        Domain(
            "db", re.compile(r"operate a MySQL database"),
            (_tool("execute_sql", "Execute one SQL statement on the MySQL database and return the raw response.",
                   sql="one SQL statement"),),
            _re(_thought(r"Thought:[ \t]?") + r"Action:(?P<k2>[ \t]*)(?:Operation" + _FENCE
                + r"|Answer(?P<s4>\s*)Final Answer:(?P<k3>[ \t]*)(?P<answer>.*?))"),
            {"tkw": "", "s1": "\n", "k2": " ", "s2": "\n", "lang": "sql", "s3": "\n", "s4": "\n", "k3": " ",
             "tail": ""},
            _db_build, _db_call, _db_answer,
        ),
        Domain(
            "kg", re.compile(r"get_relations\("),
            tuple(_tool(n, _KG_DESCRIPTIONS[n], **dict.fromkeys(ps, "an entity, a variable (#id) or a name"))
                  for n, ps in KG_SIGNATURES.items()),
            _re(_thought(r"Thought:[ \t]?") + r"(?:Action:(?P<k2>[ \t]*)(?P<fname>[A-Za-z_]\w*)\((?P<inner>.*)\)"
                r"|Final Answer:(?P<k3>[ \t]*)(?P<answer>.*?))"),
            {"tkw": "Thought: ", "s1": "\n", "k2": " ", "k3": " ", "tail": ""},
            _kg_build, _kg_call, _kg_answer, re.compile(r"Observation:[ \t]?"), "Observation: ",
        ),
        Domain(
            "alfworld", re.compile(r"Interact with a household"),
            tuple(_tool(n, d, **{s: f"the {s}" for s in re.findall(r"\{(\w+)\}", t)})
                  for n, t, d in ALFWORLD_COMMANDS),
            _re(_thought(r"THOUGHT:[ \t]?") + r"ACTION:(?P<k2>[ \t]*)(?P<command>[^\n]*?)"),
            {"tkw": "THOUGHT: ", "s1": "\n", "k2": " ", "tail": ""},
            _alfworld_build, _alfworld_call, _no_answer,
        ),
        Domain(
            "webshop", re.compile(r"You are web shopping"),
            (_tool("search", "Search the shop (when a search bar is available).", keywords="search keywords"),
             _tool("click", "Click one of the clickable values of the page.", target="a clickable value")),
            _re(_thought(r"Thought:\s*") + r"Action:(?P<k2>\s*)(?P<name>search|click)\[(?P<arg>.*)\]"),
            {"tkw": "Thought:\n", "s1": "\n\n", "k2": "\n", "tail": ""},
            _webshop_build, _webshop_call, _no_answer,
        ),
        Domain(
            "mind2web", re.compile(r"Based on the HTML webpage above"),
            (_tool("CLICK", "Click the chosen element.", element="the letter of the chosen element"),
             _tool("TYPE", "Type a value into the chosen element.", element="the letter of the chosen element",
                   value="the text to type"),
             _tool("SELECT", "Select a value of the chosen element.", element="the letter of the chosen element",
                   value="the option to select")),
            _re(_thought(r"Thought:[ \t]?") + r"Answer:(?P<k2>[ \t]*)(?P<choice>[A-Z])(?P<dot>\.?)"
                r"(?:(?P<s2>[ \t]*\n\s*)Action:(?P<k3>[ \t]*)(?P<op>[A-Z][A-Z_]*)"
                r"(?:(?P<s3>[ \t]*\n\s*)Value:(?P<k4>[ \t]*)(?P<value>.*?))?)?"),
            {"tkw": "Thought: ", "s1": "\n", "k2": " ", "dot": ".", "s2": "\n", "k3": " ", "s3": "\n", "k4": " ",
             "tail": ""},
            _mind2web_build, _mind2web_call, _mind2web_answer, acknowledges=False,
        ),
    )
}

_ID_DOMAIN = re.compile(r"^(" + "|".join(DOMAINS) + r")_")
# An assistant turn holding any action keyword is a step, not the acknowledgement of the instructions.
_ACTION_WORD = re.compile(r"^\s*(Act|Action|ACTION|Answer|Final Answer)\s*:", re.MULTILINE)


def domain_of(record_id: Any, instruction: str, by_id: bool = True) -> Domain:
    """The domain named by the record id's prefix (``os_42``), else the one whose instruction prompt it is."""
    if by_id and isinstance(record_id, str) and (m := _ID_DOMAIN.match(record_id)):
        return DOMAINS[m.group(1)]
    if (domain := prompted_domain(instruction)) is not None:
        return domain
    raise RecordError("unknown_domain", "the instruction prompt matches none of the AgentInstruct domains "
                      f"({', '.join(DOMAINS)}): {instruction[:80]!r}", "conversations[0].content")


def prompted_domain(instruction: str) -> Domain | None:
    """The domain whose instruction prompt ``instruction`` is, or None. For readers that ask of every record
    whether it is an AgentInstruct trajectory: catching `domain_of`'s error for the usual answer, no, cost 5.2 µs
    a FireAct record against 3.0 µs for the answer alone (about 1% of a ReAct convert)."""
    for domain in DOMAINS.values():
        if domain.signature.search(instruction):
            return domain
    return None


def read_turns(turns: list[tuple[str, str]], domain: Domain, record_id: Any, ctx: RecordContext,
               where: str = "conversations") -> Trajectory:
    """A trajectory from (role, content) turns in ``domain``'s syntax; the first turn is the instruction.
    Also reads the ``react`` writer's output of AgentInstruct trajectories (``where="messages"``)."""
    conv = Conversation()
    conv.add(Message(role="user", content=turns[0][1], metadata={MARK: "instruction"}))
    for i, (role, content) in enumerate(turns[1:], start=1):
        if role not in ("user", "assistant"):
            raise RecordError("invalid_field", f"{where}[{i}].role {role!r} is not user/assistant", f"{where}[{i}].role")
        if role == "user":
            if conv.pending is not None:
                result, meta = domain.split_observation(content)
                conv.observation(result, meta)
            else:
                conv.add(Message(role="user", content=content))
        elif i == 1 and domain.acknowledges and not _ACTION_WORD.search(content):
            conv.add(Message(role="assistant", content=content, capability="instruction_following",
                             metadata={MARK: "ack"}))
        else:
            try:
                conv.assistant(domain.parse(content))
            except RecordError as err:
                raise RecordError(err.reason, f"{where}[{i}]: {err.detail}", f"{where}[{i}].content") from None
    return Trajectory(
        id=str(record_id) if isinstance(record_id, str | int) and record_id != "" else ctx.default_id(),
        tools=list(domain.tools), messages=conv.messages, provenance=ctx.provenance(),
        metadata={"format": "agentinstruct", "domain": domain.name, "tools_synthesized": [t.name for t in domain.tools],
                  "environment_actions": True},
    )


def read(value: Any, ctx: RecordContext) -> Iterator[Trajectory]:
    turns = require(value, "conversations", list)
    if not turns:
        raise RecordError("missing_field", "conversations is empty", "conversations")
    pairs: list[tuple[str, str]] = []
    for i, raw in enumerate(turns):
        where = f"conversations[{i}]"
        pairs.append((require(raw, "role", str, where), require(raw, "content", str, where)))
    if pairs[0][0] != "user":
        raise RecordError("invalid_field", "the first turn must be the user's instruction prompt",
                          "conversations[0].role")
    yield read_turns(pairs, domain_of(value.get("id"), pairs[0][1]), value.get("id"), ctx)


def detect(value: Any, path: str) -> bool:
    """``{conversations: [{role, content}]}`` whose instruction prompt is one of the six domains' (ToolLLaMA and
    ShareGPT write ``from``/``value``)."""
    if not isinstance(value, dict) or not isinstance(value.get("conversations"), list) or not value["conversations"]:
        return False
    first = value["conversations"][0]
    if not isinstance(first, dict) or first.get("role") != "user" or not isinstance(first.get("content"), str):
        return False
    try:
        domain_of(value.get("id"), first["content"])
    except RecordError:
        return False
    return True


READER = Reader("agentinstruct", read, detect,
                "AgentInstruct {id, conversations:[{role, content}]}: OS, DB, KG, ALFWorld, WebShop, Mind2Web",
                priority=20)
