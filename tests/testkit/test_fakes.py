"""Tests of the test fakes themselves, driven through the real slack_sdk / aiohttp clients."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from urllib.parse import parse_qsl

import aiohttp
import httpx
import pytest
from slack_bolt.request.internals import parse_body
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from testkit.fakes.receiver import FakeAgentReceiver, countersign_signature_header, verify_signature
from testkit.fakes.signing import block_actions_body, signed_headers, slack_signature, slash_command_body
from testkit.fakes.slack import FakeSlack

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def fake():
    with FakeSlack(usergroups={"S0ADMINS": ["U1", "U2"]}, users={"U1": {"real_name": "Ada"}}) as f:
        yield f


def client(fake: FakeSlack, token: str = "xoxb-test") -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.url)


def run(coro):
    return asyncio.run(coro)


async def api_error(coro) -> SlackApiError:
    with pytest.raises(SlackApiError) as exc:
        await coro
    return exc.value


def test_auth_test_identifies_the_bot(fake):
    """bolt's AsyncApp calls auth.test lazily, so the fake must answer it with bot ids."""
    r = run(client(fake).auth_test())
    assert (r["user_id"], r["bot_id"], r["team_id"]) == ("U0BOT", "B0BOT", "T0TEAM")
    assert fake.calls_to("auth.test")[0].headers["authorization"] == "Bearer xoxb-test"


def test_wrong_token_is_invalid_auth(fake):
    """A mis-wired token must fail loudly the way Slack does."""
    e = run(api_error(client(fake, "xoxb-wrong").auth_test()))
    assert e.response["error"] == "invalid_auth"
    assert fake.calls[0].failed and not fake.calls[0].injected


def test_post_message_assigns_increasing_ts_and_stores(fake):
    """Message ts are the keys for later updates, so they must be unique, increasing and stored."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]

    async def go():
        c = client(fake)
        return [await c.chat_postMessage(channel="C1", text=f"m{i}", blocks=blocks) for i in range(3)]
    rs = run(go())
    ts = [r["ts"] for r in rs]
    assert ts[0] == "1700000000.000100" and ts == sorted(ts, key=float) and len(set(ts)) == 3
    assert rs[0]["message"]["blocks"] == blocks
    assert fake.message("C1", ts[1])["text"] == "m1"
    assert [m["ts"] for m in fake.messages_in("C1")] == ts
    assert fake.calls_to("chat.postMessage")[0].args["blocks"] == blocks


def test_post_message_to_user_goes_to_stable_dm(fake):
    """Posting to a user id lands in a D-channel that conversations.open also returns."""
    async def go():
        c = client(fake)
        a = await c.chat_postMessage(channel="U1", text="x")
        b = await c.chat_postMessage(channel="U1", text="y")
        o = await c.conversations_open(users="U1")
        return a, b, o
    a, b, o = run(go())
    assert a["channel"] == b["channel"] == o["channel"]["id"] == fake.dm_channel_for("U1")
    assert a["channel"].startswith("D") and len(fake.messages_in(a["channel"])) == 2


def test_chat_update_keeps_versions_and_rejects_unknown(fake):
    """Approve/deny flows rewrite the request message; history lets tests check each step."""
    async def go():
        c = client(fake)
        p = await c.chat_postMessage(channel="C1", text="pending")
        u = await c.chat_update(channel="C1", ts=p["ts"], text="approved")
        e = await api_error(c.chat_update(channel="C1", ts="1.000000", text="x"))
        return p, u, e
    p, u, e = run(go())
    assert u["ts"] == p["ts"] and u["text"] == "approved"
    assert fake.message("C1", p["ts"])["text"] == "approved"
    assert [v["text"] for v in fake.versions("C1", p["ts"])] == ["pending", "approved"]
    assert e.response["error"] == "message_not_found"


def test_post_ephemeral_is_recorded(fake):
    """Ephemeral replies are not channel messages, so they are kept apart."""
    r = run(client(fake).chat_postEphemeral(channel="C1", user="U1", text="only you"))
    assert r["message_ts"] and fake.ephemerals[0]["user"] == "U1" and not fake.messages


def test_views_open_update_push(fake):
    """Modals: open needs a trigger_id, update keeps the id, push opens a new view."""
    view = {"type": "modal", "callback_id": "req", "title": {"type": "plain_text", "text": "T"}, "blocks": []}

    async def go():
        c = client(fake)
        missing = await api_error(c.api_call("views.open", json={"view": view}))
        o = await c.views_open(trigger_id="t1", view=view)
        u = await c.views_update(view_id=o["view"]["id"], view={**view, "callback_id": "req2"}, hash=o["view"]["hash"])
        stale = await api_error(c.views_update(view_id=o["view"]["id"], view=view, hash=o["view"]["hash"]))
        p = await c.views_push(trigger_id="t2", view=view)
        return missing, o, u, stale, p
    missing, o, u, stale, p = run(go())
    assert missing.response["error"] == "invalid_arguments"
    assert o["view"]["id"].startswith("V") and o["view"]["callback_id"] == "req"
    assert u["view"]["id"] == o["view"]["id"] and fake.view(o["view"]["id"])["callback_id"] == "req2"
    assert stale.response["error"] == "hash_conflict"
    assert p["view"]["id"] not in (o["view"]["id"],) and len(fake.views) == 2


def test_strict_mode_rejects_reused_trigger_and_unknown_user():
    """Strict mode models single-use trigger_ids and real user lookups."""
    with FakeSlack(strict=True, users={"U1": {}}) as f:
        async def go():
            c = client(f)
            await c.views_open(trigger_id="t", view={"type": "modal"})
            return (await api_error(c.views_open(trigger_id="t", view={"type": "modal"})),
                    await api_error(c.users_info(user="U404")), await c.users_info(user="U1"))
        reused, unknown, known = run(go())
    assert reused.response["error"] == "exchanged_trigger_id"
    assert unknown.response["error"] == "user_not_found" and known["user"]["id"] == "U1"


def test_users_info_and_usergroups(fake):
    """Approver resolution reads users and usergroups; both are configurable."""
    async def go():
        c = client(fake)
        return (await c.users_info(user="U1"), await c.users_info(user="U77"),
                await c.usergroups_users_list(usergroup="S0ADMINS"),
                await api_error(c.usergroups_users_list(usergroup="S404")))
    u1, u77, grp, missing = run(go())
    assert u1["user"]["real_name"] == "Ada" and u1["user"]["profile"]["email"]
    assert u77["user"]["id"] == "U77" and not u77["user"]["is_bot"]
    assert grp["users"] == ["U1", "U2"] and missing.response["error"] == "no_such_subteam"


def test_files_upload_v2_round_trip(fake):
    """The SDK's three-step upload must land the exact PNG bytes on the fake."""
    r = run(client(fake).files_upload_v2(channel="C1", content=PNG, filename="proof.png", title="Proof"))
    fid = r["file"]["id"]
    assert fake.uploads[fid] == PNG and fake.uploads[fid].startswith(b"\x89PNG")
    assert fake.files[fid]["channel_id"] == "C1" and fake.files[fid]["title"] == "Proof"
    url = fake.calls_to("files.getUploadURLExternal")[0].response["upload_url"]
    assert url.startswith(fake.base + "/upload/")


def test_unknown_method(fake):
    """Calls to methods the fake does not model must not silently succeed."""
    e = run(api_error(client(fake).api_call("chat.scheduleMessage", json={"channel": "C1"})))
    assert e.response["error"] == "unknown_method"


def test_args_merge_query_form_and_json(fake):
    """Slack clients send args three ways; the fake merges them and decodes JSON-string args."""
    h = {"Authorization": "Bearer xoxb-test"}
    with httpx.Client() as http:
        http.post(fake.url + "chat.postMessage?channel=C9", headers=h,
                  data={"text": "form", "blocks": json.dumps([{"type": "divider"}])})
        http.post(fake.url + "chat.postMessage?channel=C9", headers=h, json={"text": "json", "thread_ts": "1.2"})
    a, b = fake.calls_to("chat.postMessage")
    assert a.args == {"channel": "C9", "text": "form", "blocks": [{"type": "divider"}]}
    assert b.args == {"channel": "C9", "text": "json", "thread_ts": "1.2"} and not b.failed


def test_fail_next_429_then_success(fake):
    """Rate limits raise by default and carry Retry-After; failed calls are flagged."""
    fake.fail_next(1, status=429, retry_after=7, method="chat.postMessage")

    async def go():
        c = client(fake)
        e = await api_error(c.chat_postMessage(channel="C1", text="a"))
        return e, await c.chat_postMessage(channel="C1", text="b")
    e, ok = run(go())
    assert e.response.status_code == 429 and e.response.headers["Retry-After"] == "7"
    assert e.response["error"] == "ratelimited" and ok["ok"]
    calls = fake.calls_to("chat.postMessage")
    assert [c.failed for c in calls] == [True, False] and calls[0].injected
    assert len(fake.calls_to("chat.postMessage", ok_only=True)) == 1 and len(fake.messages) == 1


def test_rate_limit_retry_handler_recovers(fake):
    """The SDK's own 429 retry handler must work against the fake (Retry-After: 0 keeps it fast)."""
    fake.fail_next(1, retry_after=0)
    c = client(fake)
    c.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    assert run(c.chat_postMessage(channel="C1", text="x"))["ok"]
    assert [x.status for x in fake.calls] == [429, 200]


def test_fail_next_500_and_fail_method(fake):
    """Server errors and per-method Slack errors are both injectable and clearable."""
    fake.fail_next(1, status=500)
    fake.fail_method("users.info", "user_not_found")

    async def go():
        c = client(fake)
        e500 = await api_error(c.auth_test())
        e_user = await api_error(c.users_info(user="U1"))
        fake.fail_method("users.info", None)
        return e500, e_user, await c.users_info(user="U1")
    e500, e_user, ok = run(go())
    assert e500.response.status_code == 500 and e500.response["error"] == "internal_error"
    assert e_user.response.status_code == 200 and e_user.response["error"] == "user_not_found"
    assert ok["ok"] and fake.calls[1].injected


def test_fail_rate_is_seeded_and_proportional():
    """Soak tests need random failures that are reproducible from a seed."""
    def pattern(seed):
        with FakeSlack() as f:
            f.fail_rate(0.3, seed=seed)

            async def go():
                async with aiohttp.ClientSession() as s:
                    for _ in range(200):
                        async with s.post(f.url + "auth.test", headers={"Authorization": "Bearer xoxb-test"}) as r:
                            await r.read()
            run(go())
            return [c.status for c in f.calls]
    a, b = pattern(1), pattern(1)
    assert a == b and set(a) == {200, 429, 500}
    assert 30 <= sum(s != 200 for s in a) <= 90


def test_wait_for_polls_and_reports_what_it_saw(fake):
    """wait_for is the synchronisation point for async bot code; its failure must be readable."""
    async def go():
        await asyncio.sleep(0.1)
        await client(fake).chat_postMessage(channel="C1", text="late")
    t = threading.Thread(target=run, args=(go(),))
    t.start()
    assert fake.wait_for("chat.postMessage", timeout=5)[0].args["text"] == "late"
    t.join()
    start = time.monotonic()
    with pytest.raises(AssertionError, match="chat.postMessage"):
        fake.wait_for(lambda c: c.args.get("text") == "never", timeout=0.2)
    assert time.monotonic() - start < 2
    fake.reset()
    assert fake.calls == [] and fake.messages == {}


def test_response_url_records_respond_posts(fake):
    """bolt's respond() posts JSON to response_url with AsyncWebhookClient."""
    r = run(AsyncWebhookClient(fake.response_url("cmd1")).send(text="done", replace_original=True))
    assert r.status_code == 200
    assert fake.wait_for_response("cmd1")[0] == {"text": "done", "replace_original": True}


def test_concurrent_calls_get_unique_ts(fake):
    """The server thread pool must not hand out duplicate ts under concurrency."""
    async def go():
        c = client(fake)
        return await asyncio.gather(*(c.chat_postMessage(channel="C1", text=str(i)) for i in range(40)))
    assert len({r["ts"] for r in run(go())}) == 40 == len(fake.messages)


def test_stop_frees_the_port():
    """Tests start many fakes; a stopped one must not hold its port."""
    f = FakeSlack().start()
    port = f.port
    f.stop()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_receiver_records_and_verifies_signatures():
    """The callback contract: t=<ts>,v1=HMAC("<t>.<body>"), checked over raw bytes."""
    body = json.dumps({"request_id": "r1", "status": "approved"}).encode()
    with FakeAgentReceiver() as rcv:
        headers = {"Countersign-Signature": countersign_signature_header("s3cret", body),
                   "Countersign-Event": "request.approved", "Countersign-Delivery": "d1",
                   "Content-Type": "application/json"}
        assert httpx.post(rcv.url, content=body, headers=headers).status_code == 200  # raw bytes, unchanged
        d = rcv.wait_for(1)[0]
    assert (d.event, d.delivery_id, d.json["status"], d.body) == ("request.approved", "d1", "approved", body)
    assert verify_signature(d, "s3cret") and d.verify("s3cret")
    assert not verify_signature(d, "wrong")
    d.body += b" "
    assert not verify_signature(d, "s3cret")
    d.body, d.signature = body, countersign_signature_header("s3cret", body, int(time.time()) - 301)
    assert not verify_signature(d, "s3cret")


def test_receiver_fault_injection():
    """Senders must retry; the receiver fails on demand, reproducibly, and can stall."""
    with FakeAgentReceiver() as rcv, httpx.Client() as http:
        rcv.fail_next(2, status=503)
        codes = [http.post(rcv.url, json={"i": i}).status_code for i in range(3)]
        assert codes == [503, 503, 200] and len(rcv.ok_deliveries) == 1
        rcv.reset()
        rcv.fail_rate(0.5, seed=3)
        codes = [http.post(rcv.url, json={}).status_code for _ in range(40)]
        assert {200, 500} == set(codes) and len(rcv.wait_for(40)) == 40
        rcv.clear_faults()
        rcv.delay = 0.3
        with pytest.raises(httpx.TimeoutException):
            http.post(rcv.url, json={}, timeout=0.1)
        with pytest.raises(AssertionError, match="ok only"):
            rcv.wait_for(100, timeout=0.1, ok_only=True)


def test_slack_signature_matches_documented_vector():
    """Slack's published test vector pins our signing helper to the real algorithm."""
    fields = dict(token="xyzz0WbapA4vBCDEFasx0q6G", team_id="T1DC2JH3J", team_domain="testteamnow",
                  channel_id="G8PSS9T3V", channel_name="foobar", user_id="U2CERLKJA", user_name="roadrunner",
                  command="/webhook-collect", text="",
                  response_url="https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",
                  trigger_id="398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    body = slash_command_body(defaults=False, **fields)
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert slack_signature("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, body) == expected
    assert slack_signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body.encode()) == expected


def test_signed_headers_pass_slack_sdk_verifier_and_bolt_parsing():
    """Bodies built here must verify with slack_sdk and parse the way bolt parses them."""
    payload = {"type": "block_actions", "actions": [{"action_id": "approve", "value": "req-42 & more"}]}
    for body, kind in ((block_actions_body(payload), "payload"), (slash_command_body(text="db prod"), "command")):
        h = signed_headers("secret", body)
        assert SignatureVerifier("secret").is_valid(body, h["X-Slack-Request-Timestamp"], h["X-Slack-Signature"])
        parsed = parse_body(body, h["Content-Type"])
        if kind == "payload":
            assert parsed == payload
        else:
            assert parsed["text"] == "db prod" and parsed["command"] == "/countersign"
    assert dict(parse_qsl(slash_command_body(response_url=None))).get("response_url") is None
