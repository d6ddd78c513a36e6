"""Callback hosts and DNS: a name that does not resolve yet is retried until it does (a decision is never dropped
for a DNS outage), and the address a delivery connects to is the address the policy checked (no rebinding)."""

from __future__ import annotations

import asyncio
import http.server
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlmodel import select

from bot import ids
from services.outbox.connect import callback_client
from services.outbox.models import OutboxMessage
from services.outbox.urls import HostUnresolved, UnsafeCallbackURL
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.resolver import FakeResolver
from testkit.fakes.slack import FakeSlack
from tests.harness import ALICE, Harness
from tests.services.drafts.helpers import card, new_draft


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver()


@pytest.fixture
def named(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver, resolver: FakeResolver) -> Iterator[Harness]:
    with Harness(sqlite_url, slack=slack, receiver=receiver, resolver=resolver) as h:
        yield h


def _callback_rows(h: Harness) -> list[OutboxMessage]:
    with h.ctx.read() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == "callback")).all())


def _wait(predicate, what: str, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_host_that_resolves_later_receives_the_decision(named: Harness, resolver: FakeResolver,
                                                        receiver: FakeAgentReceiver) -> None:
    """The agent's name does not resolve when the decision is made: the delivery waits and retries, and once the
    name resolves the agent receives the decision, signed. Nothing is given up."""
    url = f"http://agent.flaky.test:{receiver.port}/callback"
    agent = named.register(callback_url=url)  # not resolvable yet: accepted, deliveries will retry
    draft = new_draft(named, agent["api_key"])
    assert named.click(card(named, draft["id"]), ids.DRAFT_APPROVE, user=ALICE).status_code == 200
    _wait(lambda: any(r.attempts >= 1 for r in _callback_rows(named)), "a first failed attempt")
    [row] = _callback_rows(named)
    assert row.status == "pending" and "cannot resolve agent.flaky.test" in (row.last_error or ""), row
    assert receiver.deliveries == []

    resolver.add("agent.flaky.test", "127.0.0.1")
    [delivery] = receiver.wait_for(1, timeout=15)
    assert delivery.event == "draft.decided" and delivery.json["data"]["id"] == draft["id"]
    assert delivery.verify(agent["webhook_secret"])
    _wait(lambda: _callback_rows(named)[0].status == "sent", "the row to settle as sent")


def test_rebinding_answer_is_never_connected_to(named: Harness, resolver: FakeResolver,
                                                receiver: FakeAgentReceiver) -> None:
    """A rebinding name answers an allowed address, then the metadata address. The delivery asks once and
    connects to the address it checked: the agent gets the decision, the second answer is never asked for."""
    host = "agent.rebind.test"
    resolver.add(host, "127.0.0.1")  # the registration's look
    resolver.add(host, "127.0.0.1")  # the delivery's look
    resolver.add(host, "169.254.169.254")  # what a second look (a client resolving again to connect) would get
    agent = named.register(callback_url=f"http://{host}:{receiver.port}/callback")
    draft = new_draft(named, agent["api_key"])
    named.click(card(named, draft["id"]), ids.DRAFT_APPROVE, user=ALICE)
    [delivery] = receiver.wait_for(1)
    assert delivery.json["data"]["id"] == draft["id"]
    assert resolver.asked == [host, host], resolver.asked


def test_name_resolving_to_metadata_is_refused_at_registration(named: Harness, resolver: FakeResolver) -> None:
    """A name that resolves to a metadata address is refused when registered or patched, naming callback_url."""
    resolver.add("evil.test", "93.184.216.34", "169.254.169.254")
    created = named.client.post("/v1/agents", headers=named.admin,
                                json={"name": "evil", "owner": "U012OWNER", "callback_url": "https://evil.test/x"})
    assert created.status_code == 422 and created.json()["errors"][0]["field"] == "callback_url", created.text
    named.register("honest")
    patched = named.client.patch("/v1/agents/honest", json={"callback_url": "https://evil.test/x"},
                                 headers=named.admin)
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == "callback_url"


def test_each_connection_is_checked_on_its_own_answer(receiver: FakeAgentReceiver) -> None:
    """The client behind deliveries: a fresh connection takes the name's current answer and is refused (before any
    socket opens) when it is the metadata address; a name with no answer is a passing fault, not a refusal."""
    resolver = FakeResolver()
    host = "agent.rebind.test"
    resolver.add(host, "127.0.0.1")
    resolver.add(host, "169.254.169.254")
    url = f"http://{host}:{receiver.port}/callback"

    async def post_fresh() -> int:
        async with callback_client(resolver=resolver, deny_private=False) as client:
            return (await client.post(url, content=b"{}")).status_code

    assert asyncio.run(post_fresh()) == 200
    with pytest.raises(UnsafeCallbackURL, match="169.254.169.254"):
        asyncio.run(post_fresh())
    assert len(receiver.deliveries) == 1
    with pytest.raises(HostUnresolved):
        asyncio.run(callback_client(resolver=resolver, deny_private=False).post("http://nowhere.test/"))


def _tls_pair(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway authority and a certificate for `name` only: (the server's context, a client trusting it)."""
    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    now = datetime.now(timezone.utc)
    ca_key, leaf_key = key(), key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test authority")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(2)
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem) + leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "leaf.pem")
    client = ssl.create_default_context(cadata=ca.public_bytes(pem).decode())
    return server, client


def test_tls_is_verified_against_the_name_while_connecting_to_the_checked_address(tmp_path: Path) -> None:
    """The socket goes to the address the resolver gave, but the certificate must still be the host name's: a
    name that resolves to the same address without a certificate of its own is refused, nothing sent."""
    server_tls, client_tls = _tls_pair(tmp_path, "agent.tls.test")
    received: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            received.append(self.headers["Host"])
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = server_tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    resolver = FakeResolver()
    resolver.add("agent.tls.test", "127.0.0.1")
    resolver.add("impostor.tls.test", "127.0.0.1")
    port = httpd.server_address[1]

    async def post(host: str) -> int:
        async with callback_client(resolver=resolver, deny_private=False, ssl_context=client_tls) as client:
            return (await client.post(f"https://{host}:{port}/callback", content=b"{}")).status_code

    try:
        assert asyncio.run(post("agent.tls.test")) == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|match"):
            asyncio.run(post("impostor.tls.test"))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert received == [f"agent.tls.test:{port}"]
