"""Callback targets hiding a private address: metadata endpoints that are not link-local, and IPv4 addresses
inside IPv6 (NAT64, IPv4-compatible, mapped, 6to4), are refused at registration and at delivery; with
COUNTERSIGN_CALLBACK_DENY_PRIVATE every special-purpose range is refused too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from services.agents import service as agents
from services.outbox.models import OutboxMessage
from services.outbox.service import enqueue_callback
from services.outbox.urls import check_delivery_target, refused_reason
from testkit.fakes.receiver import FakeAgentReceiver
from tests.harness import Harness

ALWAYS_REFUSED = [
    "http://[fd00:ec2::254]/", "http://100.100.100.200/", "http://192.0.0.192/", "http://[64:ff9b::a9fe:a9fe]/",
    "http://[::169.254.169.254]/", "http://[::ffff:100.100.100.200]/latest", "http://[64:ff9b::6464:64c8]/",
    "http://[::192.0.0.192]/", "http://[2002:a9fe:a9fe::1]/", "http://[fd00:ec2::254%25eth0]/",
]
SPECIAL_PURPOSE = [
    "http://10.0.0.1/", "http://100.64.0.1/", "http://127.0.0.1:9/", "http://0.0.0.0/", "http://172.16.0.1/",
    "http://192.168.1.1/", "http://192.0.2.1/", "http://198.18.0.1/", "http://198.51.100.1/", "http://203.0.113.1/",
    "http://224.0.0.1/", "http://240.0.0.1/", "http://255.255.255.255/", "http://192.0.0.8/", "http://[::1]/",
    "http://[fc00::1]/", "http://[fd12:3456::1]/", "http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a00:1]/",
    "http://[::127.0.0.1]/", "http://[::ffff:10.0.0.1]/", "http://[64:ff9b:1::1]/", "http://[2001:db8::1]/",
    "http://[2002:7f00:1::]/", "http://[100::1]/", "http://[ff02::1]/", "http://2130706433/",
]
PUBLIC = ["https://93.184.216.34/hook", "https://[2606:4700:4700::1111]/hook", "https://agent.example.com/cb"]


def problem_field(response: Any) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["errors"][0]["field"])


@pytest.fixture
def deny_private(sqlite_url: str) -> Iterator[Harness]:
    with Harness(sqlite_url, COUNTERSIGN_CALLBACK_DENY_PRIVATE=True) as h:
        yield h


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
def test_metadata_targets_refused_at_registration_by_default(harness: Harness, url: str) -> None:
    """Every metadata spelling here is a 422 on callback_url on create and on patch, default settings."""
    created = harness.client.post("/v1/agents", json={"name": "sneaky", "owner": "U012OWNER", "callback_url": url},
                                  headers=harness.admin)
    assert problem_field(created) == "callback_url"
    harness.register("honest")
    assert problem_field(harness.client.patch("/v1/agents/honest", json={"callback_url": url},
                                              headers=harness.admin)) == "callback_url"


@pytest.mark.parametrize("url", ALWAYS_REFUSED + SPECIAL_PURPOSE)
def test_special_purpose_refused_at_registration_when_private_denied(deny_private: Harness, url: str) -> None:
    """With COUNTERSIGN_CALLBACK_DENY_PRIVATE the whole RFC 6890 registry, embeddings included, is refused."""
    created = deny_private.client.post("/v1/agents", headers=deny_private.admin,
                                       json={"name": "sneaky", "owner": "U012OWNER", "callback_url": url})
    assert problem_field(created) == "callback_url"
    assert deny_private.client.get("/v1/agents/sneaky", headers=deny_private.admin).status_code == 404


@pytest.mark.parametrize("url", SPECIAL_PURPOSE[:4])
def test_private_targets_allowed_by_default(harness: Harness, url: str) -> None:
    """The control: without the setting, private and loopback targets register (agents on the same network)."""
    harness.register("inside", callback_url=url)


@pytest.mark.parametrize("url", PUBLIC)
def test_public_targets_allowed_when_private_denied(deny_private: Harness, url: str) -> None:
    """The control: the setting does not refuse ordinary public addresses or names."""
    deny_private.register("outside", callback_url=url)


def _delivered(h: Harness, url: str) -> OutboxMessage:
    with h.ctx.uow() as session:
        agent = agents.require_agent(session=session, name="quoter")
        row_id = enqueue_callback(session=session, agent_id=agent.id or 0, url=url, event="draft.decided",
                                  data={"probe": True}, now=h.ctx.clock.now()).id
    h.drain()
    with h.ctx.uow() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.id == row_id)).one()


@pytest.mark.parametrize("url", ALWAYS_REFUSED[:5])
def test_metadata_target_stored_anyway_is_refused_at_delivery(harness: Harness, receiver: FakeAgentReceiver,
                                                               url: str) -> None:
    """A metadata URL that reached the outbox some other way is never contacted: the row dies saying why."""
    harness.register()
    row = _delivered(harness, url)
    assert row.status == "dead", row
    assert "refused" in (row.last_error or "") or "link-local" in (row.last_error or ""), row.last_error
    assert receiver.deliveries == []


@pytest.mark.parametrize("address", ["fd00:ec2::254", "100.100.100.200", "192.0.0.192", "64:ff9b::a9fe:a9fe",
                                     "::169.254.169.254", "::ffff:192.0.0.192", "2001:0:4136:e378:8000:63bf:5601:5601"])
def test_resolved_metadata_address_is_refused(address: str) -> None:
    """At delivery the resolved address is judged: a name resolving to any metadata spelling is refused."""
    assert refused_reason(address, deny_private=False) is not None


@pytest.mark.parametrize("address", ["10.1.2.3", "64:ff9b::c0a8:101", "::ffff:127.0.0.1", "fe80::1", "::"])
def test_resolved_private_address_is_refused_only_when_denied(address: str) -> None:
    """Private resolved addresses pass by default (link-local never) and are refused with the setting."""
    assert refused_reason(address, deny_private=True) is not None
    if address != "fe80::1":
        assert refused_reason(address, deny_private=False) is None


def test_delivery_check_resolves_names_and_refuses_loopback() -> None:
    """`localhost` passes the text check but its resolved loopback address is refused when private is denied."""
    with pytest.raises(ValueError, match="private or loopback"):
        check_delivery_target("http://localhost:9/hook", deny_private=True)
    check_delivery_target("http://localhost:9/hook", deny_private=False)
