"""require_approval without a server: what a call becomes as a draft, and which edits the function may receive."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from countersign_client import AsyncCountersign, Countersign, Expired, Rejected


def deciding(status: str, final_body: Any = None, reason: str | None = None) -> tuple[Countersign, list[dict]]:
    """A client whose server answers every draft with this decision; the posted drafts are collected."""
    posted: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        posted.append(body)
        return httpx.Response(201, json={"id": "drf_1", "status": status, "body": body["body"],
                                         "final_body": final_body, "reason": reason, "decided_by": ["U1"]})

    return Countersign(api_key="k", base_url="http://cs.test", transport=httpx.MockTransport(handler)), posted


def test_the_draft_is_the_arguments_as_json_with_the_title_filled_in() -> None:
    """Defaults included, title formatted from the arguments, action from the function name by default."""
    cs, posted = deciding("approved")

    @cs.require_approval(title="Refund {amount:.2f} on {order_id}")
    def refund(order_id: str, amount: float, note: str = "") -> str:
        return f"{order_id}:{amount}:{note}"

    assert refund("A-1", amount=12.5) == "A-1:12.5:"
    assert posted == [{"action": "refund", "title": "Refund 12.50 on A-1",
                       "body": {"order_id": "A-1", "amount": 12.5, "note": ""}}]


def test_declaration_mistakes_fail_at_decoration_time() -> None:
    """A title naming no parameter, or a function name that is no action slug, is refused before any call."""
    cs, _ = deciding("approved")
    with pytest.raises(ValueError, match="names {amout}"):
        cs.require_approval(action="refund", title="Refund {amout}")(lambda amount: amount)
    with pytest.raises(ValueError, match="action"):
        cs.require_approval()(lambda amount: amount)  # "<lambda>" is no slug
    with pytest.raises(TypeError, match="async function"):
        AsyncCountersign(api_key="k", base_url="http://x").require_approval(action="a")(lambda: None)


def test_arguments_that_are_not_json_are_refused_before_asking() -> None:
    """A person must be able to read and edit the arguments, so an object that is not JSON is a TypeError."""
    cs, posted = deciding("approved")

    @cs.require_approval(action="store")
    def store(blob: Any) -> None: ...

    with pytest.raises(TypeError, match="JSON"):
        store(object())
    assert posted == []


@pytest.mark.parametrize(("edit", "problem"), [
    ({"order_id": "A-1", "amount": 5, "extra": 1}, "unknown argument(s) extra"),
    ({"order_id": "A-1"}, "argument amount is missing"),
    ({"order_id": 7, "amount": 5}, "argument order_id must be str"),
    ({"order_id": "A-1", "amount": True}, "got a boolean"),
    ("just text", "expected a JSON object"),
])
def test_an_edit_that_does_not_fit_is_rejected_with_the_reason(edit: Any, problem: str) -> None:
    """Each misfit is named in Rejected.reason; the function is never entered."""
    cs, _ = deciding("edited", final_body=edit)

    @cs.require_approval(action="refund")
    def refund(order_id: str, amount: float) -> None:
        raise AssertionError("must not run")

    with pytest.raises(Rejected) as caught:
        refund("A-1", 12.5)
    assert problem in caught.value.reason


def test_fitting_edits_reach_the_function_including_optional_and_var_keyword() -> None:
    """Optional values, ints for floats and **kwargs all pass through as the reviewer wrote them."""
    cs, _ = deciding("edited", final_body={"to": "b@example.com", "cc": None, "amount": 3, "extra": {"x": 1}})

    @cs.require_approval(action="send")
    def send(to: str, cc: str | None, amount: float, **extra: Any) -> tuple[Any, ...]:
        return to, cc, amount, extra

    assert send("a@example.com", "c@example.com", 1.5, x=2) == ("b@example.com", None, 3, {"x": 1})


def test_expired_and_auto_approved() -> None:
    """Expired raises Expired with the server's reason; auto_approved runs with the original arguments."""
    cs, _ = deciding("expired", reason="denied: timed out, do not retry")

    @cs.require_approval(action="refund")
    def refund(order_id: str) -> str:
        return order_id

    with pytest.raises(Expired, match="do not retry"):
        refund("A-1")
    cs, _ = deciding("auto_approved")
    assert cs.require_approval(action="refund")(lambda order_id: order_id)("A-2") == "A-2"


def test_sync_client_guards_an_async_function_without_blocking_the_loop() -> None:
    """Countersign on an async function waits in a worker thread and then awaits the function."""
    cs, _ = deciding("approved")

    @cs.require_approval(action="deploy")
    async def deploy(version: str) -> str:
        return f"deployed {version}"

    assert asyncio.run(deploy("1.0")) == "deployed 1.0"
