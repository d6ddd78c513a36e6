"""verify_webhook(seen=...): a correctly signed delivery sent again within the signature's tolerance (a replay)
is refused by its signed webhook-id, under both schemes; forgeries never enter the store; the shipped store
forgets ids after its TTL and holds a bounded number."""

from __future__ import annotations

import pytest
from countersign_client import DuplicateWebhook, InvalidSignature, RecentWebhookIds, verify_webhook

from testkit.fakes.receiver import countersign_signature_header
from tests.client.test_webhooks import BODY, standard_headers, whsec


def test_a_replayed_standard_webhook_is_refused() -> None:
    """The same signed request twice: the first is the event, the second DuplicateWebhook naming the id."""
    secret, seen = whsec(), RecentWebhookIds()
    headers = standard_headers(secret, BODY)
    assert verify_webhook(secret, BODY, headers, seen=seen).id == "dlv_1"
    with pytest.raises(DuplicateWebhook) as caught:
        verify_webhook(secret, BODY, headers, seen=seen)
    assert caught.value.webhook_id == "dlv_1" and isinstance(caught.value, InvalidSignature)


def test_a_replayed_countersign_signature_is_refused_even_with_a_new_delivery_header() -> None:
    """Countersign-Delivery is not signed: the id deduplicated on is the one inside the signed body."""
    secret, seen = "cs-secret", set()
    first = {"Countersign-Signature": countersign_signature_header(secret, BODY), "Countersign-Delivery": "dlv_1"}
    verify_webhook(secret, BODY, first, seen=seen)
    with pytest.raises(DuplicateWebhook):
        verify_webhook(secret, BODY, {**first, "Countersign-Delivery": "dlv_other"}, seen=seen)
    assert seen == {"dlv_1"}


def test_a_forgery_does_not_enter_the_store() -> None:
    """A request with a bad signature is refused before the store is touched, so it cannot block the real one."""
    secret, seen = whsec(), RecentWebhookIds()
    with pytest.raises(InvalidSignature) as forged:
        verify_webhook(secret, BODY, standard_headers(whsec(), BODY), seen=seen)
    assert not isinstance(forged.value, DuplicateWebhook) and len(seen) == 0
    assert verify_webhook(secret, BODY, standard_headers(secret, BODY), seen=seen).id == "dlv_1"


def test_the_shipped_store_forgets_after_its_ttl_and_stays_bounded() -> None:
    """Ids expire after ttl_s (a replay that old fails the timestamp check instead) and at most max_ids stay."""
    now = [1000.0]
    store = RecentWebhookIds(ttl_s=600, max_ids=3, clock=lambda: now[0])
    store.add("a")
    now[0] += 599
    assert "a" in store
    now[0] += 2
    assert "a" not in store
    for name in "bcde":
        store.add(name)
    assert len(store) == 3 and "b" not in store and all(name in store for name in "cde")
