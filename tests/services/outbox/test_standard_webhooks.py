"""Callbacks verify with a Standard Webhooks library nobody here wrote (`standardwebhooks` from PyPI), the
Countersign-Signature keeps verifying, and a rotated secret signs next to the new one for 24 hours."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.agents.secrets import new_webhook_secret, signing_key
from services.drafts import flows
from services.outbox import signing
from testkit.clock import FakeClock
from testkit.fakes.receiver import Delivery, FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import ALICE, Harness
from tests.services.drafts.helpers import new_draft


@pytest.fixture
def h(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver, clock: FakeClock) -> Iterator[Harness]:
    """The app with its outbox sender running against the fake receiver; time moves when the test says."""
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as harness:
        yield harness


def decided_callback(h: Harness, key: str) -> Delivery:
    """Ask for a draft, have Alice approve it, and return the draft.decided callback the agent received."""
    draft = new_draft(h, key)
    flows.decide(ctx=h.ctx, draft_id=draft["id"], user_id=ALICE, verdict="approve")
    assert h.receiver is not None
    [delivery] = h.receiver.wait_for(1, predicate=lambda d: d.json["data"]["id"] == draft["id"])
    return delivery


def verifies(secret: str, delivery: Delivery) -> bool:
    try:
        Webhook(secret).verify(delivery.body, delivery.headers)
    except WebhookVerificationError:
        return False
    return True


def test_new_secrets_are_whsec_and_standard_base64_of_32_bytes() -> None:
    """What Standard Webhooks libraries take as they are: `whsec_` + standard base64 of 32 random bytes."""
    secret = new_webhook_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) == 32
    assert signing_key(secret) == base64.b64decode(secret[6:]) and new_webhook_secret() != secret


def test_every_callback_verifies_with_standardwebhooks_and_the_old_header(h: Harness) -> None:
    """webhook-id is the Countersign-Delivery; the standardwebhooks package accepts the delivery as received, and
    the Countersign-Signature still verifies with the same secret; a wrong secret fails both."""
    agent = h.register()
    delivery = decided_callback(h, agent["api_key"])
    secret = agent["webhook_secret"]
    assert delivery.headers["webhook-id"] == delivery.delivery_id and delivery.delivery_id.startswith("dlv_")
    assert delivery.headers["webhook-timestamp"] == delivery.signature.split(",")[0].removeprefix("t=")
    assert Webhook(secret).verify(delivery.body, delivery.headers)["event"] == "draft.decided"
    assert delivery.verify(secret) and signing.verify(secret, delivery.body, delivery.signature or "")
    other = new_webhook_secret()
    assert not verifies(other, delivery) and not delivery.verify(other)


def test_a_secret_from_before_standard_webhooks_still_signs_both_ways() -> None:
    """Secrets issued before were URL-safe base64: the old header keeps its key (the text), and the standard
    one is keyed with the same bytes, which a library verifies once the secret is written in standard base64."""
    old = "whsec_" + base64.urlsafe_b64encode(bytes(range(200, 232))).decode().rstrip("=")
    assert "-" in old or "_" in old
    sent = signing.headers([old], delivery_id="dlv_1", body=b'{"a":1}')
    assert signing.verify(old, b'{"a":1}', sent["Countersign-Signature"])
    assert signing.verify_standard(old, b'{"a":1}', sent)
    standard = "whsec_" + base64.b64encode(bytes(range(200, 232))).decode()
    assert Webhook(standard).verify(b'{"a":1}', sent) == {"a": 1}


def test_during_a_rotation_old_and_new_secrets_both_verify_for_24_hours(h: Harness, clock: FakeClock) -> None:
    """rotate-webhook-secret shows a new secret once; callbacks carry a signature for each secret in both headers
    until the old one expires a day later, then only the new one verifies."""
    agent = h.register()
    old = agent["webhook_secret"]
    rotated = h.client.post("/v1/agents/quoter/rotate-webhook-secret", headers=h.admin)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["webhook_secret"]
    assert new.startswith("whsec_") and new != old and rotated.json()["name"] == "quoter"

    during = decided_callback(h, agent["api_key"])
    assert len(during.headers["webhook-signature"].split()) == 2
    assert verifies(new, during) and verifies(old, during)
    assert during.verify(new) and during.verify(old)
    assert signing.verify(old, during.body, during.signature or "")

    clock.advance(24 * 3600 + 1)
    after = decided_callback(h, agent["api_key"])
    assert verifies(new, after) and not verifies(old, after)
    assert after.verify(new) and not after.verify(old)


def test_rotating_needs_the_admin_and_an_existing_agent(h: Harness) -> None:
    """Only the admin rotates (401 for an agent key), and an unknown agent is a 404 problem."""
    agent = h.register()
    assert h.client.post("/v1/agents/quoter/rotate-webhook-secret",
                         headers=h.bearer(agent["api_key"])).status_code == 401
    missing = h.client.post("/v1/agents/nobody/rotate-webhook-secret", headers=h.admin)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
