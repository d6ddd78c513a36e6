"""Hypothesis on every Block Kit builder in bot/blocks/: any text, any length, any unicode gives blocks within
Slack's limits, and no user text is drawn as live mrkdwn, in the blocks or in the notification `text`.
Builders are discovered, so a new one is fuzzed the day it lands."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bot.blocks
from tests.hostile.mrkdwn import assert_no_mrkdwn_injection, mrkdwn_injections
from tests.hostile.slack_limits import assert_within_slack_limits, slack_limit_problems
from tests.hostile.strategies import MONEY, TEXT, Unsupported, for_function, for_hint, lists

# Helpers that return pieces of a message, not a message or a view.
PIECES = {"bot.blocks.common"}
RATE = st.floats(0, 1)
# Countersign's own sentences, drawn with their user mentions live: any user text quoted in them has had its
# mentions neutralised where it was written (services/autonomy/flows.py), so only ids Countersign chose ping.
SENTENCE = TEXT.map(lambda text: text.replace("<@", "@"))
COUNT = st.integers(0, 10**6)
# The suite checks a fixed sample per builder (derandomized: the same inputs every run, so a failure is never a
# fluke of the seed); COUNTERSIGN_FUZZ=soak searches far wider, with fresh inputs each time.
FUZZ = {
    "suite": settings(max_examples=12, derandomize=True),
    "soak": settings(max_examples=500),
}[os.environ.get("COUNTERSIGN_FUZZ", "suite")]


def overrides() -> dict[str, dict[str, st.SearchStrategy[Any]]]:
    """Per-builder strategies where a parameter's type alone says too little (plain dicts, `Any`)."""
    from bot.blocks.people import away_section
    from services.digests.service import Digest
    from services.oversight.models import ReviewerRow
    from services.spend.budgets import BudgetWarning

    evidence = st.fixed_dictionaries(
        {k: COUNT for k in ("decisions", "total_decisions", "approved_unedited", "edited", "rejected", "expired",
                            "since_last_rejection")} | {"unedited_rate": RATE},
        optional={"mean_edit_distance": st.one_of(st.none(), st.floats(0, 1e6))})
    rule = st.fixed_dictionaries({"min_decisions": COUNT, "min_unedited_rate": RATE, "clean_streak": COUNT,
                                  "audit_sample_rate": RATE})
    row = st.fixed_dictionaries(
        {"action": TEXT, "level": st.sampled_from(["review", "auto", "deny"])},
        optional={"prompt_version": st.one_of(st.none(), TEXT), "granted_by": st.one_of(st.just("config"), TEXT),
                  "demoted_reason": SENTENCE, "evidence": evidence, "proposal": st.sampled_from(["proposed", "none"]),
                  "rule_met": st.booleans()})
    budget = st.fixed_dictionaries({
        "spent_usd": MONEY, "limit_usd": MONEY, "remaining_usd": MONEY,
        "scope": st.sampled_from(["agent", "team", "global"]), "team": st.one_of(st.none(), TEXT),
        "exceeded": st.booleans(), "waived": st.booleans(), "period": st.sampled_from(["day", "week", "month"])})
    warning = for_hint(BudgetWarning)
    # What the oversight domain hands its builders: ReviewerRow dumps, and an eval replay's summary.
    reviewer = for_hint(ReviewerRow).map(lambda r: r.model_dump(mode="json"))
    outcome = st.fixed_dictionaries({"drafts": COUNT, "agreed": COUNT, "rate": st.one_of(st.none(), RATE)})
    replay = st.fixed_dictionaries(
        {"model": TEXT, "drafts": COUNT, "failed": COUNT, "skipped": COUNT, "agreement": st.one_of(st.none(), RATE),
         "outcomes": st.fixed_dictionaries({o: outcome for o in ("approved", "edited", "rejected")})})
    return {
        "autonomy.proposal_card": {"evidence": evidence, "rule": rule},
        "autonomy.demoted_notice": {"reason": SENTENCE},
        "spend.budget_resolved": {"outcome": SENTENCE},
        "autonomy.overview": {"data": st.fixed_dictionaries({"agent": TEXT, "owner": TEXT, "rule": rule,
                                                             "actions": lists(row)})},
        "spend.budget_warning": {"w": warning},
        "spend.budget_paused_card": {"w": warning},
        "spend.budget_status": {"budgets": lists(budget)},
        "digests.digest_message": {"d": for_hint(Digest)},
        # The App Home is handed its people-away section already built (plain blocks): build it as the bot does.
        "oversight.digest_section": {"rows": lists(reviewer)},
        "oversight.change_card": {"replay": st.one_of(st.none(), replay)},
        "home.home_view": {"away": st.one_of(st.none(), for_function(away_section).map(lambda kw: away_section(**kw)))},
    }


def builders() -> list[tuple[str, Any]]:
    """Every public function in bot/blocks/ that returns a message or a view (not a text fragment)."""
    found = []
    for info in pkgutil.iter_modules(bot.blocks.__path__):
        module = importlib.import_module(f"bot.blocks.{info.name}")
        if module.__name__ in PIECES:
            continue
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            returns = str(fn.__annotations__.get("return", ""))
            if fn.__module__ == module.__name__ and not name.startswith("_") and returns.startswith(("dict", "list")):
                found.append((f"{info.name}.{name}", fn))
    return found


def surfaces(result: Any) -> list[dict[str, Any]]:
    """A builder returns a message, a view, or a list/tuple of them."""
    if isinstance(result, dict):
        return [result]
    if isinstance(result, (list, tuple)) and all(isinstance(item, dict) for item in result):
        if result and all("type" in item and item.get("type") not in ("modal", "home") for item in result):
            return [{"text": "blocks", "blocks": list(result)}]  # a bare list of blocks
        return list(result)
    return []


@pytest.mark.parametrize(("name", "fn"), builders(), ids=[name for name, _ in builders()])
def test_builder_stays_within_slack_limits(name: str, fn: Any) -> None:
    """Whatever text a builder is handed, what it returns is something Slack will accept."""
    try:
        arguments = for_function(fn, overrides().get(name))
    except Unsupported as exc:  # a builder the fuzzer cannot feed is a builder nobody checks: fail, don't skip
        pytest.fail(f"{name}: add an entry to overrides() ({exc})")

    @settings(FUZZ, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(arguments)
    def check(kwargs: dict[str, Any]) -> None:
        try:
            result = fn(**kwargs)
        except Exception as exc:  # any text at all must be drawable: a crash here is a card never posted
            raise AssertionError(f"{name} raised {exc!r}") from exc
        for surface in surfaces(result):
            assert_within_slack_limits(surface)
            assert_no_mrkdwn_injection(surface)

    check()


@given(TEXT)
@settings(max_examples=60, deadline=None, database=None)
def test_common_helpers_clip_visibly(text: str) -> None:
    """The shared helpers keep any text within the limits, and a clipped text says it was clipped."""
    from bot.blocks import common

    blocks = [common.header(text), common.section(text), common.context(text, text)] * 20
    blocks.append(common.actions("a", *[common.button(text, f"b{i}", text) for i in range(30)]))
    assert_within_slack_limits(common.message(text, blocks))
    if len(text) > common.SECTION_TEXT_MAX:
        assert common.section(text)["text"]["text"].endswith(common.ELLIPSIS)


def test_checker_catches_what_slack_refuses() -> None:
    """The checker itself is worth trusting: each broken limit is reported by name."""
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert any("3001 characters" in p for p in slack_limit_problems({"text": "t", "blocks": [too_long]}))
    assert slack_limit_problems({"text": "t", "blocks": [{"type": "divider"}] * 51})
    button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 76}, "value": "v" * 2001}
    problems = slack_limit_problems({"text": "t", "blocks": [{"type": "actions", "elements": [button]}]})
    assert len(problems) == 2
    view = {"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "private_metadata": "m" * 3001,
            "blocks": [{"type": "input", "label": {"type": "plain_text", "text": "l"},
                        "element": {"type": "plain_text_input", "action_id": "i", "max_length": 5000}}]}
    assert len(slack_limit_problems(view)) == 3
    assert not slack_limit_problems({"text": "fine", "blocks": [{"type": "header", "text": {"type": "plain_text",
                                                                                              "text": "ok"}}]})


def test_injection_checker_sees_what_the_fuzzer_smuggles() -> None:
    """The mrkdwn checker is worth trusting: a live @channel or disguised link in `text` or a block is named."""
    evil = "<https://evil.example/login|Click to resolve>"
    assert mrkdwn_injections({"text": f"x <!channel> {evil}", "blocks": []}) == [
        "text: live mrkdwn '<!channel>'", f"text: live mrkdwn {evil!r}"]
    block = {"type": "section", "text": {"type": "mrkdwn", "text": "a < b"}}
    assert mrkdwn_injections({"text": "t", "blocks": [block]}) == ["blocks[0].text: live mrkdwn '< b'"]
    fine = "<@U012ABC> on <!date^1700000000^{date}|2023-11-14> <https://trace.example/1|Trace> &lt;!channel&gt;"
    assert mrkdwn_injections({"text": fine, "blocks": [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": fine}]}]}) == []
