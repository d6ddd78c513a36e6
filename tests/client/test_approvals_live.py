"""require_approval and request_approval against a live server, a person clicking the card in the fake Slack."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from countersign_client import ApprovalTimeout, Countersign, Rejected

from tests.client.conftest import Live


def marker() -> str:
    return uuid.uuid4().hex[:12]


def test_decorated_function_runs_only_after_approve(live: Live, cs: Countersign) -> None:
    """Nothing runs while the card waits; Approve runs it once, with the arguments as given."""
    ran: list[tuple[str, float]] = []
    tag = marker()

    @cs.require_approval(action="refund", title="Refund {amount} on {order_id} " + tag, timeout=60)
    def refund(order_id: str, amount: float) -> str:
        ran.append((order_id, amount))
        return f"refunded {amount}"

    def look_then_approve() -> list[tuple[str, float]]:
        live.reviewer.card(tag)  # the card is up: the call is blocked in front of the function
        seen = list(ran)
        live.reviewer.decide(tag, "approve")
        return seen

    before_click = live.reviewer.later(look_then_approve)
    result = refund("A-1", 12.5)
    assert before_click.result(timeout=30) == [], "the function ran before anyone decided"
    assert result == "refunded 12.5" and ran == [("A-1", 12.5)]


def test_decorated_function_runs_with_edited_arguments(live: Live, cs: Countersign) -> None:
    """Edit: the function receives the arguments as the reviewer wrote them."""
    tag = marker()

    @cs.require_approval(action="refund", title="Refund {amount} " + tag, timeout=60)
    def refund(order_id: str, amount: float) -> tuple[str, float]:
        return order_id, amount

    edit = live.reviewer.decide_later(tag, "edit", text='{"order_id": "A-1", "amount": 7}')
    assert refund("A-1", 12.5) == ("A-1", 7)
    assert edit.result(timeout=30).startswith("drf_")


def test_an_edit_that_does_not_fit_the_signature_is_rejected_not_run(live: Live, cs: Countersign) -> None:
    """A reviewer's edit with a wrong type is a Rejected naming the argument; the function is never entered."""
    tag = marker()
    entered = []

    @cs.require_approval(action="refund", title="Refund {amount} " + tag, timeout=60)
    def refund(order_id: str, amount: float) -> None:
        entered.append(amount)

    live.reviewer.decide_later(tag, "edit", text='{"order_id": "A-1", "amount": "lots"}')
    with pytest.raises(Rejected) as caught:
        refund("A-1", 12.5)
    assert "amount must be float" in caught.value.reason and entered == []
    assert caught.value.draft is not None and caught.value.draft.status == "edited"


def test_reject_raises_rejected_with_the_reviewers_reason(live: Live, cs: Countersign) -> None:
    """Reject: the call raises Rejected carrying the reason typed in the modal."""
    tag = marker()

    @cs.require_approval(action="send_email", title="Email " + tag, timeout=60)
    def send(to: str) -> None:
        raise AssertionError("must not run")

    live.reviewer.decide_later(tag, "reject", reason="wrong customer")
    with pytest.raises(Rejected) as caught:
        send("a@example.com")
    assert caught.value.reason == "wrong customer"
    assert caught.value.draft.decided_by == ["U078ALICE"]


def test_async_decorated_function_with_async_client(live: Live, acs_factory: Any) -> None:
    """The same decorator on an async function with AsyncCountersign: runs after Approve."""
    tag = marker()

    async def main() -> str:
        async with acs_factory() as acs:
            @acs.require_approval(action="deploy", title="Deploy {version} " + tag, timeout=60)
            async def deploy(version: str) -> str:
                return f"deployed {version}"

            return await deploy("1.2.3")

    approve = live.reviewer.decide_later(tag, "approve")
    assert asyncio.run(main()) == "deployed 1.2.3"
    approve.result(timeout=30)


def test_timeout_withdraws_the_draft(live: Live, cs: Countersign) -> None:
    """Nobody decides within the caller's timeout: ApprovalTimeout, and the draft is cancelled on the server."""
    @cs.require_approval(action="refund", timeout=1)
    def refund(order_id: str) -> None:
        raise AssertionError("must not run")

    with pytest.raises(ApprovalTimeout) as caught:
        refund("A-9")
    assert cs.drafts.get(caught.value.draft.id).status == "cancelled"


def test_request_approval_returns_the_decision(live: Live, cs: Countersign) -> None:
    """request_approval blocks until the click and returns the decided draft with who decided."""
    tag = marker()
    live.reviewer.decide_later(tag, "approve")
    draft = cs.request_approval(action="refund", title=f"Refund {tag}", body="Refund 10 EUR", context={"o": 1},
                                timeout=60)
    assert draft.status == "approved" and draft.approved and draft.decided_by == ["U078ALICE"]
    assert draft.final_body == "Refund 10 EUR"  # approved as drafted: the body is what to act on


def test_a_retried_create_makes_one_draft_on_the_live_server(live: Live, agent: dict[str, Any]) -> None:
    """The first answer of a create is lost in transit (the server did create it); the retry returns that draft."""
    real = httpx.HTTPTransport()
    answers: list[int] = []

    class DropFirstAnswer(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = real.handle_request(request)
            response.read()
            answers.append(response.status_code)
            if len(answers) == 1:
                raise httpx.ReadError("connection reset before the answer arrived", request=request)
            return response

    tag = marker()
    with Countersign(api_key=agent["api_key"], base_url=live.base_url, transport=DropFirstAnswer(),
                     backoff_s=0.01) as cs:
        draft = cs.drafts.create(action="refund", title=f"Once {tag}", body="b")
    assert answers == [201, 201]
    with Countersign(api_key=agent["api_key"], base_url=live.base_url) as cs:
        assert cs.drafts.get(draft.id).title == f"Once {tag}"
    assert live.count_drafts(f"Once {tag}") == 1
