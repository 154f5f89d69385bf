"""Reading tool calls out of a model reply or an assistant turn, in every syntax models and agent corpora write.

One parser serves evaluation (`agentflan eval`), the format readers and the audit, so a call is recognised the
same way when we train on it, when we look at a corpus and when we score a model. The syntaxes and their
precedence are listed in `registry.SYNTAXES`; a call attempt that does not parse, and a call that is named or
opened but not read (the safety rule), is recorded in ``malformed``: never mistaken for an abstention.

>>> r = parse_reply('<tool_call>{"name": "weather", "arguments": {"city": "Paris"}}</tool_call>')
>>> [(c.name, c.arguments) for c in r.calls], r.syntax, r.malformed
([('weather', {'city': 'Paris'})], 'hermes', [])
>>> r = parse_reply(["`search` is the tool for this.", '```json\\n{"query": "kick boxer"}\\n```'], {"search": {}})
>>> [(c.name, c.arguments) for c in r.calls], r.syntax
([('search', {'query': 'kick boxer'})], 'agentflan')
>>> parse_reply('<tool_call>{"name": "weather", "argu').malformed
['hermes: <tool_call> body is not a JSON call']
"""

from agentflan.calls.model import ParsedCall, ParsedReply, Reply, reply_text, structured_calls, turn_text
from agentflan.calls.read import parse_reply
from agentflan.calls.registry import BY_NAME, NAMES, SYNTAXES, Syntax

__all__ = ["BY_NAME", "NAMES", "SYNTAXES", "ParsedCall", "ParsedReply", "Reply", "Syntax", "parse_reply",
           "reply_text", "structured_calls", "turn_text"]
