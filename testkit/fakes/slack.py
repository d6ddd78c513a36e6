"""A fake Slack Web API served over real HTTP on 127.0.0.1, for tests.

Response shapes follow Slack's Web API reference (ok/error envelopes, `ts`
strings, `response_metadata` on errors). Real HTTP (not a mocked client), so
the real slack_sdk transport, retry handlers and bolt's `respond()` are
exercised end to end.
"""
from __future__ import annotations

import itertools
import json
import random
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Slack clients send these as JSON strings inside form/query arguments.
_JSON_ARGS = ("blocks", "view", "files", "attachments")


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]  # names lower-cased
    time: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    failed: bool = False  # anything but HTTP 200 with ok=true
    injected: bool = False  # the failure came from fault injection


def poll(found: Callable[[], Any], timeout: float, describe: Callable[[], str]) -> Any:
    """Return found()'s first non-None result, or raise AssertionError(describe())."""
    deadline = time.monotonic() + timeout
    while True:
        result = found()
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(describe())
        time.sleep(0.01)


class _Handler(BaseHTTPRequestHandler):
    fake: Any
    protocol_version = "HTTP/1.0"  # closes each connection; a fake that keeps them open says HTTP/1.1
    # Headers and body go out in two writes; on a kept-alive connection Nagle's algorithm would hold the body
    # back until the client's delayed ACK, 40 ms per call.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_GET

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, out_headers, payload = self.fake._dispatch(self.command, self.path, headers, body)
        except Exception:  # surface fake bugs in the test output instead of a hung client
            traceback.print_exc(file=sys.stderr)
            status, out_headers, payload = 599, {}, traceback.format_exc().encode()
        try:
            self.send_response(status)
            for k, v in out_headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except ConnectionError:  # the client gave up (e.g. a timeout test); nothing to report
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs under concurrent clients, costing a 1 s retransmit.
    request_queue_size = 256


class BackgroundHTTP:
    """Serves `_dispatch` on an ephemeral 127.0.0.1 port from a daemon thread (a daemon thread per connection, so
    stop() never waits on a client's idle keep-alive)."""

    protocol_version = "HTTP/1.0"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # notified whenever a request changed the recorded state
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def wait(self, found: Callable[[], Any], timeout: float, describe: Callable[[], str]) -> Any:
        """found()'s first non-None result, asked again each time a request changes this fake's state (no polling),
        or AssertionError(describe()) once `timeout` has passed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (result := found()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(describe())
                self._changed.wait(left)
            return result

    def start(self):
        if self._server is None:
            handler = type("Handler", (_Handler,), {"fake": self, "protocol_version": self.protocol_version})
            self._server = _Server(("127.0.0.1", 0), handler)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                name=type(self).__name__, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    __enter__ = start

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._server.server_address[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _dispatch(self, verb: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        raise NotImplementedError


def _err(error: str) -> dict:
    return {"ok": False, "error": error}


def _parse_args(query: str, headers: dict, body: bytes) -> dict[str, Any]:
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    ctype = headers.get("content-type", "")
    if body and ("json" in ctype or body.lstrip()[:1] == b"{"):
        args.update(json.loads(body))
    elif body and "form" in ctype:
        args.update(parse_qsl(body.decode(), keep_blank_values=True))
    for k in _JSON_ARGS:
        if isinstance(args.get(k), str) and args[k][:1] in ("[", "{"):
            args[k] = json.loads(args[k])
    return args


class FakeSlack(BackgroundHTTP):
    """Slack Web API subset on `url`; state is exposed as snapshot copies, safe to read any time."""

    protocol_version = "HTTP/1.1"  # keeps connections open, as Slack does, so a client's connection reuse counts

    def __init__(self, token: str | None = "xoxb-test", *, users: dict | None = None,
                 usergroups: dict | None = None, strict: bool = False, team_id: str = "T0TEAM",
                 bot_user_id: str = "U0BOT", bot_id: str = "B0BOT", channel_members: dict | None = None) -> None:
        super().__init__()
        self.token = token  # None: accept any xoxb- token
        self.users: dict[str, dict] = dict(users or {})
        self.usergroups: dict[str, list[str]] = {k: list(v) for k, v in (usergroups or {}).items()}
        # conversations.members: channel id -> member user ids (a channel not listed is channel_not_found).
        self.channel_members: dict[str, list[str]] = {k: list(v) for k, v in (channel_members or {}).items()}
        self.strict = strict  # unknown users fail; trigger_ids are single-use
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        # Counters never reset, so ids stay unique across reset().
        self._ts_seq, self._id_seq = itertools.count(1), itertools.count(1)
        self.reset()

    @property
    def url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    def reset(self) -> None:
        with self._lock:
            self._calls: list[Call] = []
            self._messages: dict[tuple[str, str], dict] = {}
            self._versions: dict[tuple[str, str], list[dict]] = {}
            self._ephemerals: list[dict] = []
            self._views: dict[str, dict] = {}
            self._homes: dict[str, dict] = {}
            self._files: dict[str, dict] = {}
            self._uploads: dict[str, bytes] = {}
            self._responses: dict[str, list] = {}
            self._mpims: dict[tuple, str] = {}
            self._used_triggers: set[str] = set()
            self._delay: tuple[float, str | None] = (0.0, None)
            self.clear_faults()

    # ---- recorded state (copies, so callers never race the server thread) ----
    calls = property(lambda self: self._snap(self._calls))
    messages = property(lambda self: self._snap(self._messages))
    ephemerals = property(lambda self: self._snap(self._ephemerals))
    views = property(lambda self: self._snap(self._views))
    homes = property(lambda self: self._snap(self._homes))  # user id -> the App Home view last published
    files = property(lambda self: self._snap(self._files))
    uploads = property(lambda self: self._snap(self._uploads))
    responses = property(lambda self: {k: list(v) for k, v in self._snap(self._responses).items()})

    def _snap(self, obj):
        with self._lock:
            return obj.copy()

    def calls_to(self, method: str, *, ok_only: bool = False) -> list[Call]:
        return [c for c in self.calls if c.method == method and not (ok_only and c.failed)]

    def messages_in(self, channel: str) -> list[dict]:
        return sorted((m for (ch, _), m in self.messages.items() if ch == channel), key=lambda m: float(m["ts"]))

    def message(self, channel: str, ts: str) -> dict | None:
        return self.messages.get((channel, ts))

    def versions(self, channel: str, ts: str) -> list[dict]:
        with self._lock:
            return list(self._versions.get((channel, ts), []))

    def view(self, view_id: str) -> dict | None:
        return self.views.get(view_id)

    def dm_channel_for(self, user: str) -> str:
        return "D" + user[1:]

    def wait_for(self, what: str | Callable[[Call], bool], count: int = 1, timeout: float = 10.0,
                 *, ok_only: bool = False) -> list[Call]:
        pred = (lambda c: c.method == what) if isinstance(what, str) else what

        def found():
            got = [c for c in self.calls if pred(c) and not (ok_only and c.failed)]
            return got if len(got) >= count else None
        return self.wait(found, timeout, lambda: f"wanted {count} call(s) matching {what!r}"
                    f"{' (ok only)' if ok_only else ''} within {timeout}s; saw: {self.summary()}")

    def wait_for_response(self, name: str, count: int = 1, timeout: float = 10.0) -> list:
        def found():
            got = self.responses.get(name, [])
            return got if len(got) >= count else None
        return self.wait(found, timeout, lambda: f"wanted {count} POST(s) to response/{name}; saw {self.responses}")

    def summary(self, last: int = 40) -> str:
        return ", ".join(
            f"{c.method}" + (f"[{c.status} {c.response.get('error')}]" if c.failed else "")
            for c in self.calls[-last:]) or "no calls"

    # ---- fault injection ----
    def fail_next(self, n: int = 1, status: int = 429, retry_after: int = 1, method: str | None = None) -> None:
        """method=None matches every API method; "upload" targets the upload URL."""
        with self._lock:
            self._fail_next.append({"n": n, "status": status, "retry_after": retry_after, "method": method})

    def fail_rate(self, p: float, statuses: tuple[int, ...] = (429, 500), seed: int = 0,
                  retry_after: int = 0, method: str | None = None) -> None:
        with self._lock:
            self._rate = (p, tuple(statuses), random.Random(seed), retry_after, method)

    def fail_method(self, method: str, error: str | None) -> None:
        """Answer HTTP 200 {"ok":false,"error":error} for method; error=None clears."""
        with self._lock:
            if error is None:
                self._fail_methods.pop(method, None)
            else:
                self._fail_methods[method] = error

    def set_delay(self, seconds: float, method: str | None = None) -> None:
        """A slow Slack: every Web API call (or only `method`) waits `seconds` before it is handled. Calls wait
        side by side, as real ones do; 0 turns it off."""
        with self._lock:
            self._delay = (seconds, method)

    def clear_faults(self) -> None:
        with self._lock:
            self._fail_next: list[dict] = []
            self._rate: tuple = (0.0, (), random.Random(0), 0, None)
            self._fail_methods: dict[str, str] = {}

    def _take_fault(self, method: str) -> tuple[int, int] | None:
        for f in self._fail_next:
            if f["n"] > 0 and (f["method"] == method or (f["method"] is None and method != "upload")):
                f["n"] -= 1
                self._fail_next = [g for g in self._fail_next if g["n"] > 0]
                return f["status"], f["retry_after"]
        p, statuses, rng, retry_after, only = self._rate
        if p and (only == method or (only is None and method != "upload")) and rng.random() < p:
            return rng.choice(statuses), retry_after
        return None

    @staticmethod
    def _fault_reply(status: int, retry_after: int) -> tuple[int, dict, dict]:
        if status == 429:
            return 429, {"Retry-After": str(retry_after)}, _err("ratelimited")
        return status, {}, _err("internal_error")

    # ---- HTTP ----
    def _dispatch(self, verb, path, headers, body):
        url = urlsplit(path)
        if verb == "POST" and url.path.startswith("/upload/"):
            return self._upload(url.path[len("/upload/"):], body)
        if verb == "POST" and url.path.startswith("/response/"):
            return self._response(url.path[len("/response/"):], body)
        if not url.path.startswith("/api/"):
            return 404, {}, b"not found"
        method, args = url.path[len("/api/"):], _parse_args(url.query, headers, body)
        delay, only = self._delay
        if delay and only in (None, method):
            time.sleep(delay)  # outside the lock: a slow call holds up no other
        with self._lock:  # one call at a time keeps ts order == arrival order
            status, extra, resp, injected = self._answer(method, args, headers)
            self._calls.append(Call(method, args, headers, time.time(), status, resp,
                                    failed=not (status == 200 and resp.get("ok")), injected=injected))
            self._changed.notify_all()
        return status, {"Content-Type": "application/json; charset=utf-8", **extra}, json.dumps(resp).encode()

    def _answer(self, method: str, args: dict, headers: dict) -> tuple[int, dict, dict, bool]:
        fault = self._take_fault(method)
        if fault:
            return (*self._fault_reply(*fault), True)
        auth = headers.get("authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else args.get("token")
        if not token:
            return 200, {}, _err("not_authed"), False
        if (token != self.token) if self.token else not token.startswith("xoxb-"):
            return 200, {}, _err("invalid_auth"), False
        if method in self._fail_methods:
            return 200, {}, _err(self._fail_methods[method]), True
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        return 200, {}, handler(args) if handler else _err("unknown_method"), False

    def _upload(self, file_id: str, body: bytes):
        with self._lock:
            fault = self._take_fault("upload")
            if fault:
                status, extra, resp = self._fault_reply(*fault)
                return status, extra, json.dumps(resp).encode()
            if file_id not in self._files:
                return 404, {}, b"unknown file id"
            self._uploads[file_id] = body
            self._changed.notify_all()
        return 200, {"Content-Type": "text/plain"}, b"OK"

    def _response(self, name: str, body: bytes):
        try:
            data = json.loads(body or b"null")
        except ValueError:
            data = {"_raw": body.decode("utf-8", "replace")}
        with self._lock:
            self._responses.setdefault(name, []).append(data)
            self._changed.notify_all()
        return 200, {"Content-Type": "text/plain"}, b"ok"

    # ---- Web API methods (called with the lock held) ----
    def _next_ts(self) -> str:
        n = next(self._ts_seq)
        return f"{1700000000 + n // 10000}.{n % 10000 * 100:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_seq):08d}"

    def _store(self, msg: dict) -> None:
        key = (msg["channel"], msg["ts"])
        self._messages[key] = msg
        self._versions.setdefault(key, []).append(dict(msg))

    def _wire(self, msg: dict) -> dict:
        out = {"type": "message", "subtype": "bot_message", "text": msg["text"], "user": self.bot_user_id,
               "bot_id": self.bot_id, "team": self.team_id, "ts": msg["ts"]}
        out.update({k: msg[k] for k in ("blocks", "thread_ts") if msg.get(k) is not None})
        return out

    def _m_auth_test(self, a):
        return {"ok": True, "url": "https://countersign-test.slack.com/", "team": "Countersign Test",
                "user": "countersign", "team_id": self.team_id, "user_id": self.bot_user_id,
                "bot_id": self.bot_id, "is_enterprise_install": False}

    def _m_chat_postMessage(self, a):
        channel = a.get("channel")
        if not channel:
            return _err("channel_not_found")
        if not (a.get("text") or a.get("blocks") or a.get("attachments")):
            return _err("no_text")
        # Slack treats a user id as "the bot's DM with that user".
        channel = self.dm_channel_for(channel) if channel[0] in "UW" else channel
        msg = {"channel": channel, "ts": self._next_ts(), "text": a.get("text", ""),
               "blocks": a.get("blocks"), "thread_ts": a.get("thread_ts")}
        self._store(msg)
        return {"ok": True, "channel": channel, "ts": msg["ts"], "message": self._wire(msg)}

    def _m_chat_update(self, a):
        key = (a.get("channel"), a.get("ts"))
        if not key[0]:
            return _err("channel_not_found")
        if key not in self._messages:
            return _err("message_not_found")
        msg = {**self._messages[key], **{k: a[k] for k in ("text", "blocks") if k in a}}
        self._store(msg)
        return {"ok": True, "channel": key[0], "ts": key[1], "text": msg["text"], "message": self._wire(msg)}

    def _m_chat_postEphemeral(self, a):
        if not a.get("channel"):
            return _err("channel_not_found")
        if not a.get("user"):
            return _err("user_not_in_channel")
        ts = self._next_ts()
        self._ephemerals.append({"channel": a["channel"], "user": a["user"], "text": a.get("text", ""),
                                 "blocks": a.get("blocks"), "thread_ts": a.get("thread_ts"), "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _new_view(self, a, view_id=None, root=None, previous=None) -> dict | None:
        if not isinstance(a.get("view"), dict):
            return None
        view_id = view_id or self._next_id("V")
        n = next(self._id_seq)
        view = {"team_id": self.team_id, "type": "modal", "callback_id": "", "private_metadata": "",
                "external_id": "", "state": {"values": {}}, **a["view"], "id": view_id,
                "hash": f"{1700000000 + n}.{n:08x}", "root_view_id": root or view_id,
                "previous_view_id": previous, "app_id": "A0APP", "bot_id": self.bot_id}
        self._views[view_id] = view
        return view

    def _open_like(self, a):
        trigger = a.get("trigger_id")
        if not trigger:
            return _err("invalid_arguments")
        if self.strict and trigger in self._used_triggers:
            return _err("exchanged_trigger_id")
        self._used_triggers.add(trigger)
        view = self._new_view(a)
        return {"ok": True, "view": view} if view else _err("invalid_arguments")

    _m_views_open = _m_views_push = _open_like

    def _m_views_update(self, a):
        view_id = a.get("view_id") or next(
            (v["id"] for v in self._views.values()
             if a.get("external_id") and v["external_id"] == a["external_id"]), None)
        old = self._views.get(view_id)
        if old is None:
            return _err("not_found")
        if a.get("hash") and a["hash"] != old["hash"]:
            return _err("hash_conflict")
        view = self._new_view(a, view_id, old["root_view_id"], old["previous_view_id"])
        return {"ok": True, "view": view} if view else _err("invalid_arguments")

    def _m_views_publish(self, a):
        user = a.get("user_id")
        if not user:
            return _err("invalid_arguments")
        if not isinstance(a.get("view"), dict) or a["view"].get("type") != "home":
            return _err("invalid_arguments")
        view = {**a["view"], "id": self._homes.get(user, {}).get("id") or self._next_id("V"), "team_id": self.team_id}
        self._homes[user] = view
        return {"ok": True, "view": view}

    def _m_conversations_members(self, a):
        channel = a.get("channel")
        if channel not in self.channel_members:
            return _err("channel_not_found")
        members = self.channel_members[channel]
        start = int(a.get("cursor") or 0)
        size = max(1, min(int(a.get("limit") or 100), 1000))
        page = members[start:start + size]
        more = str(start + size) if start + size < len(members) else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": more}}

    def _m_conversations_open(self, a):
        if a.get("channel"):
            return {"ok": True, "channel": {"id": a["channel"]}}
        users = [u.strip() for u in str(a.get("users", "")).split(",") if u.strip()]
        if not users:
            return _err("users_list_not_supplied")
        if len(users) == 1:
            cid = self.dm_channel_for(users[0])
        else:
            cid = self._mpims.setdefault(tuple(sorted(users)), self._next_id("G"))
        return {"ok": True, "channel": {"id": cid}}

    def _default_user(self, uid: str) -> dict:
        name = f"user_{uid.lower()}"
        return {"id": uid, "team_id": self.team_id, "name": name, "real_name": f"User {uid}",
                "deleted": False, "is_bot": uid == self.bot_user_id, "tz": "UTC",
                "profile": {"display_name": name, "real_name": f"User {uid}", "email": f"{name}@example.com"}}

    def _m_users_info(self, a):
        uid = a.get("user")
        if not uid or (self.strict and uid not in self.users):
            return _err("user_not_found")
        base, custom = self._default_user(uid), self.users.get(uid, {})
        return {"ok": True, "user": {**base, **custom, "profile": {**base["profile"], **custom.get("profile", {})}}}

    def _m_usergroups_users_list(self, a):
        group = a.get("usergroup")
        if group not in self.usergroups:
            return _err("no_such_subteam")
        return {"ok": True, "users": list(self.usergroups[group])}

    def _m_files_getUploadURLExternal(self, a):
        if not a.get("filename") or not str(a.get("length", "")).isdigit():
            return _err("invalid_arguments")
        fid = self._next_id("F")
        self._files[fid] = {"id": fid, "name": a["filename"], "length": int(a["length"]), "completed": False}
        return {"ok": True, "upload_url": f"{self.base}/upload/{fid}", "file_id": fid}

    def _m_files_completeUploadExternal(self, a):
        files = a.get("files")
        if not isinstance(files, list) or not files:
            return _err("invalid_arguments")
        if any(f.get("id") not in self._files for f in files):
            return _err("file_not_found")
        out = []
        for f in files:
            rec = self._files[f["id"]]
            rec.update(title=f.get("title") or rec["name"], completed=True, size=len(self._uploads.get(f["id"], b"")),
                       **{k: a.get(k) for k in ("channel_id", "channels", "initial_comment", "thread_ts")})
            out.append({"id": rec["id"], "name": rec["name"], "title": rec["title"], "size": rec["size"]})
        return {"ok": True, "files": out}
