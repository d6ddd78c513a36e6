"""The bridges' answers without a live engine behind them: what Countersign is told to stop retrying (2xx), to
retry (503), or that it signed wrongly (401); and the Decision a workflow is handed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from countersign_client import Expired, Rejected
from countersign_client._durable import CallbackReceiver, Decision, RetryLater

from services.outbox import signing
from testkit.live import free_port

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
DRAFT = {"id": "drf_1", "status": "edited", "body": "Refund $40", "final_body": "Refund $25", "reason": None,
         "decided_by": ["U078ALICE"], "metadata": {"temporal": {"namespace": "default", "workflow_id": "wf-1"}}}


def callback(data: dict[str, Any], *, event: str = "draft.decided", delivery: str = "dlv_1",
             secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": delivery, "event": event, "created_at": "2026-01-01T00:00:00Z", "data": data}).encode()
    return body, {"Content-Type": "application/json", **signing.headers([secret], delivery_id=delivery, body=body)}


def receiver(outcomes: list[Any]) -> tuple[CallbackReceiver, list[tuple[str, Decision]]]:
    """A receiver whose engine answers from `outcomes` in turn (a note, or an exception to raise)."""
    calls: list[tuple[str, Decision]] = []

    async def deliver(webhook_id: str, decision: Decision, target: Any) -> str:
        calls.append((webhook_id, decision))
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    return CallbackReceiver(SECRET, "temporal", deliver), calls


def test_the_decision_reaches_the_engine_once_per_webhook_id() -> None:
    """Delivered: 200; the same webhook-id again is answered from memory; an edit is the decision's final_body."""
    bridge, calls = receiver(["signalled"])
    first = asyncio.run(bridge.handle(*callback(DRAFT)))
    again = asyncio.run(bridge.handle(*callback(DRAFT)))
    assert first == (200, {"result": "delivered", "note": "signalled"})
    assert again[0] == 200 and again[1]["result"] == "duplicate"
    [(webhook_id, decision)] = calls
    assert webhook_id == "dlv_1"
    assert (decision.status, decision.approved, decision.final_body, decision.draft_id) == \
        ("edited", True, "Refund $25", "drf_1")


def test_an_engine_that_cannot_take_it_gets_503_and_the_retry_is_delivered() -> None:
    """503 while the engine refuses, so Countersign retries; the retry (same webhook-id) is then delivered."""
    bridge, calls = receiver([RetryLater("Temporal is not reachable"), "signalled"])
    assert asyncio.run(bridge.handle(*callback(DRAFT)))[0] == 503
    assert asyncio.run(bridge.handle(*callback(DRAFT)))[0] == 200
    assert len(calls) == 2


@pytest.mark.parametrize("case", ["wrong secret", "no signature"])
def test_a_callback_that_does_not_verify_is_refused(case: str) -> None:
    bridge, calls = receiver([])
    body, headers = callback(DRAFT, secret="whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlcg==")
    if case == "no signature":
        headers = {"Content-Type": "application/json"}
    status, answer = asyncio.run(bridge.handle(body, headers))
    assert status == 401 and "invalid signature" in answer["error"]
    assert calls == []


@pytest.mark.parametrize("data,event", [
    ({**DRAFT, "metadata": {}}, "draft.decided"),                      # not from a workflow
    ({**DRAFT, "status": "pending"}, "draft.decided"),                 # nothing decided
    ({"id": "run_1", "decision": "resume"}, "run.halt_decision"),      # another event
])
def test_what_is_not_a_workflow_decision_is_acknowledged_and_dropped(data: dict[str, Any], event: str) -> None:
    bridge, calls = receiver([])
    status, answer = asyncio.run(bridge.handle(*callback(data, event=event)))
    assert (status, answer["result"]) == (200, "ignored")
    assert calls == []


def test_the_temporal_bridge_answers_503_while_temporal_is_unreachable() -> None:
    """A real Temporal client pointed at a port nobody listens on: Countersign must keep retrying."""
    pytest.importorskip("temporalio")
    from countersign_client.temporal import Bridge
    from temporalio.client import Client

    async def go() -> tuple[int, dict[str, Any]]:
        bridge = Bridge(lambda: Client.connect(f"127.0.0.1:{free_port()}", lazy=True), SECRET)
        return await bridge.handle(*callback(DRAFT))

    status, answer = asyncio.run(go())
    assert status == 503, answer


def test_the_dbos_bridge_answers_503_while_dbos_is_not_launched() -> None:
    pytest.importorskip("dbos")
    from countersign_client.dbos import Bridge

    status, answer = asyncio.run(Bridge(SECRET).handle(*callback({**DRAFT, "metadata": {"dbos": {"workflow_id":
                                                                                                    "wf-1"}}})))
    assert status == 503, answer


def test_a_decision_raises_the_clients_errors_unless_approved() -> None:
    assert Decision.from_data({"id": "d", "status": "approved", "body": "x"}).raise_unless_approved().final_body == "x"
    with pytest.raises(Rejected, match="no thanks"):
        Decision.from_data({"id": "d", "status": "rejected", "reason": "no thanks"}).raise_unless_approved()
    with pytest.raises(Expired):
        Decision.expired("d", "no decision within 1:00:00").raise_unless_approved()


def test_the_bridge_command_builds_its_temporal_tls_from_its_options(tmp_path: Any) -> None:
    """--tls alone, an API key (Temporal Cloud), or certificate files: TLS as asked; a cert without its key is
    refused before anything starts."""
    pytest.importorskip("temporalio")
    from countersign_client._temporal_bridge import _parser, _tls
    from temporalio.service import TLSConfig

    def tls(*argv: str) -> Any:
        return _tls(_parser().parse_args(["--secret", SECRET, *argv]))

    assert tls() is False and tls("--tls") is True and tls("--api-key", "k") is True
    (tmp_path / "ca.pem").write_bytes(b"CA")
    (tmp_path / "c.pem").write_bytes(b"CERT")
    (tmp_path / "k.pem").write_bytes(b"KEY")
    config = tls("--tls-ca", str(tmp_path / "ca.pem"), "--tls-cert", str(tmp_path / "c.pem"), "--tls-key",
                 str(tmp_path / "k.pem"), "--tls-server-name", "temporal.internal")
    assert config == TLSConfig(server_root_ca_cert=b"CA", domain="temporal.internal", client_cert=b"CERT",
                               client_private_key=b"KEY")
    with pytest.raises(SystemExit, match="go together"):
        tls("--tls-cert", str(tmp_path / "c.pem"))
