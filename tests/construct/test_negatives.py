"""Negative samples: every circumstance, irrelevant tools checked, reply sources recorded."""

from __future__ import annotations

import pytest
from construct_fixtures import FLIGHTS, POOL_TOOLS, WEATHER, agent_traj
from fake_endpoint import fake_endpoint

from agentflan.callsyntax import REACT_KEYWORDS
from agentflan.construct import grounding, negatives
from agentflan.construct.recipe import EndpointSpec
from agentflan.construct.replies import ChatEndpoint
from agentflan.errors import RecordError
from agentflan.schema import Message, Trajectory


def _maker(order: list[str] | None = None, endpoint: ChatEndpoint | None = None) -> negatives.NegativeMaker:
    pool = negatives.ToolPool([Trajectory(id="p", tools=[*POOL_TOOLS, WEATHER, FLIGHTS],
                                          messages=[Message(role="user", content="x")])])
    return negatives.NegativeMaker(0, pool, negatives.IrrelevanceCheck(0.1), 2,
                                   order or ["endpoint", "reference", "template"], endpoint)


def _tool_query(i: int = 1) -> negatives.Query:
    q = negatives.tool_query(f"k{i}", agent_traj(i))
    assert q is not None
    return q


def _general_query() -> negatives.Query:
    traj = Trajectory(id="g", messages=[Message(role="user", content="Write a haiku about tea."),
                                        Message(role="assistant", content="Steam curls from the cup.")])
    q = negatives.general_query("g", traj)
    assert q is not None
    return q


def test_words_split_names_and_drop_stop_words() -> None:
    assert negatives.words("getWeatherForecast for_the city") == {"weather", "forecast", "city"}


def test_irrelevant_tools_pass_the_lexical_check() -> None:
    maker = _maker()
    for i in range(10):
        q = _tool_query(i)
        tools = maker.pool.draw_irrelevant(2, q.text, q.tools, maker.check, seed=i, key=q.key)
        names = {t.name for t in tools}
        assert not names & {"get_weather", "search_flights", "weather_forecast"}  # weather_forecast is relevant
    assert maker.check.refused_as_relevant > 0 and maker.check.checked > maker.check.refused_as_relevant
    assert maker.check.report()["threshold"] == 0.1


def test_no_irrelevant_tool_left_is_a_record_error() -> None:
    pool = negatives.ToolPool([Trajectory(id="p", tools=[WEATHER], messages=[Message(role="user", content="x")])])
    with pytest.raises(RecordError, match="no_irrelevant_tools"):
        pool.draw_irrelevant(2, "weather in Paris", [], negatives.IrrelevanceCheck(0.1), 0, "k")


def test_tools_given_no_need_answers_plainly_with_unrelated_tools() -> None:
    sample = _maker().tools_given_no_need(_general_query())
    assert sample.metadata == {**sample.metadata, "kind": "negative", "negative": "tools_given_no_need",
                               "reply_source": "reference"}
    assert sample.tools and not sample.calls()
    assert sample.messages[-1].parts[0].capability == "abstain"
    assert sample.messages[-1].content == "Steam curls from the cup."


def test_general_query_without_a_reply_or_endpoint_is_rejected() -> None:
    q = negatives.general_query("g", Trajectory(id="g", messages=[Message(role="user", content="Tell a story")]))
    with pytest.raises(RecordError, match="no_reply"):
        _maker().tools_given_no_need(q)


def test_no_tools_needs_tool_uses_a_template_not_the_tool_based_answer() -> None:
    q = _tool_query()
    sample = _maker().no_tools_needs_tool(q)
    assert sample.tools == [] and sample.metadata["reply_source"] == "template"
    reply = sample.messages[-1].content
    assert "Here is what I found" not in reply  # the source's answer came from tool results
    assert not any(k in reply for k in REACT_KEYWORDS)


def test_a_reference_marked_as_written_without_tools_is_used() -> None:
    traj = agent_traj(1).model_copy(update={"metadata": {"reference_answer": "I cannot check live weather."}})
    q = negatives.tool_query("k", traj)
    sample = _maker().no_tools_needs_tool(q)
    assert sample.metadata["reply_source"] == "reference" and sample.messages[-1].content.startswith("I cannot")


def test_irrelevant_tools_needs_tool_names_the_tools_it_has() -> None:
    sample = _maker().irrelevant_tools_needs_tool(_tool_query())
    assert sample.metadata["negative"] == "irrelevant_tools_needs_tool"
    assert {t.name for t in sample.tools}.isdisjoint({"get_weather", "search_flights"})
    assert all(f"`{t.name}`" in sample.messages[-1].content for t in sample.tools)
    assert sample.messages[0].role == "system" and sample.tools[0].name in sample.messages[0].content


def test_missing_argument_takes_a_required_value_out_of_the_real_query() -> None:
    sample = _maker().missing_argument(_tool_query(3))
    param = sample.metadata["missing_argument"]
    assert param == "city"  # the only required argument of the first call (get_weather)
    query = next(m for m in sample.messages if m.role == "user").content
    # The real request, less the value and the word that tied it in; nothing made up from a description.
    assert query == "What is the weather and are there flights from AMS to X3 on 2024-05-03?"
    reply = sample.messages[-1].content
    assert "city" in reply and "`get_weather`" in reply
    assert {t.name for t in sample.tools} == {"get_weather", "search_flights"}  # the source's own tools
    assert not grounding.Context("\n".join(m.content for m in sample.messages[:-1])).grounded("City3")


def test_a_value_written_twice_or_nowhere_cannot_be_taken_out() -> None:
    maker = _maker()
    twice = agent_traj(4).model_copy(update={"messages": [
        Message(role="user", content="Weather in City4? I mean City4, the big one."), *agent_traj(4).messages[1:]]})
    assert maker.strippable(negatives.tool_query("k", twice)) is None
    nowhere = agent_traj(4).model_copy(update={"messages": [
        Message(role="user", content="What's the weather where I am today?"), *agent_traj(4).messages[1:]]})
    assert maker.strippable(negatives.tool_query("k", nowhere)) is None
    with pytest.raises(RecordError, match="no_strippable_argument"):
        maker.missing_argument(negatives.tool_query("k", nowhere))


def test_a_cryptic_parameter_is_asked_for_by_its_description() -> None:
    assert negatives.spoken_name("q", {"description": "The user's search query string."}) == "search query string"
    assert negatives.spoken_name("tracking_number") == "tracking number"
    assert negatives.spoken_name("newEmail") == "new email"


def test_distractor_tools_adds_unrelated_tools_to_a_positive() -> None:
    q = _tool_query(5)
    sample = _maker().distractor_tools(q)
    assert sample.metadata["negative"] == "distractor_tools" and sample.metadata["reply_source"] == "source"
    assert len(sample.tools) == 4 and {"get_weather", "search_flights"} <= {t.name for t in sample.tools}
    assert [c.name for _, c in sample.calls()] == [c.name for _, c in q.traj.calls()]
    assert all(d in sample.messages[0].content for d in sample.metadata["distractors"])


def test_endpoint_replies_and_their_source_are_recorded() -> None:
    with fake_endpoint(default=(200, "I can't do that without a tool.")) as srv:
        endpoint = ChatEndpoint(EndpointSpec(base_url=srv["url"], model="m", retries=0))
        maker = _maker(endpoint=endpoint)
        sample = maker.no_tools_needs_tool(_tool_query())
        assert sample.metadata["reply_source"] == "endpoint"
        assert sample.messages[-1].content == "I can't do that without a tool."
        system = srv["requests"][0]["body"]["messages"][0]
        assert system["role"] == "system" and "without any tools" in system["content"]
        assert maker.reply_sources == {"endpoint": 1}


def test_endpoint_failure_rejects_instead_of_falling_back() -> None:
    with fake_endpoint(default=(500, "down")) as srv:
        endpoint = ChatEndpoint(EndpointSpec(base_url=srv["url"], model="m", retries=1, backoff_s=0))
        with pytest.raises(RecordError, match="endpoint_failed"):
            _maker(endpoint=endpoint).no_tools_needs_tool(_tool_query())


def test_synthesised_environment_tools_are_no_tool_queries_and_not_in_the_pool() -> None:
    env = agent_traj(1).model_copy(update={"metadata": {"tools_synthesized": True}})
    assert negatives.tool_query("k", env) is None
    assert len(negatives.ToolPool([env])) == 0


def test_replies_vary_in_balanced_turns_and_name_what_is_needed() -> None:
    maker = _maker(order=["template"])
    replies = [maker.no_tools_needs_tool(_tool_query(i), n=i).messages[-1].content for i in range(12)]
    assert len(set(replies)) == 12  # the first len(pool) samples of a kind never repeat a sentence
    # What the request needs, in words, from the tool its source called last (the first calls are often means).
    need = "search direct flights between two airports on a date"
    assert all(need in r for r in replies)
    irrelevant = maker.irrelevant_tools_needs_tool(_tool_query(1), n=0).messages[-1].content
    assert need in irrelevant


def test_need_phrase_reads_descriptions_and_names() -> None:
    from agentflan.schema import Tool

    assert negatives.need_phrase(Tool(name="x", description="Gets the latest price of a stock.")) == \
        "get the latest price of a stock"
    assert negatives.need_phrase(Tool(name="x", description="This API queries the stock price.")) == \
        "query the stock price"
    toolbench = ('This is the subfunction for tool "fastway", you can use this tool.The description of this '
                 'function is: "Track a package using a tracking number"')
    assert negatives.need_phrase(Tool(name="track_for_fastway", description=toolbench)) == \
        "track a package using a tracking number"
    assert negatives.need_phrase(Tool(name="SearchInbox")) == "search inbox"
    assert negatives.need_phrase(Tool(name="CurrentWeather")) == "handle current weather requests"
