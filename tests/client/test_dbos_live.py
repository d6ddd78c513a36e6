"""Decisions delivered into DBOS, with every part real: a DBOS application (on SQLite, and on PostgreSQL when
COUNTERSIGN_TEST_POSTGRES_URL is set) whose bridge is served over HTTP, the live Countersign server calling it
back, and a person clicking in the fake Slack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("dbos", reason="the [dbos] extra is not installed")

import uvicorn  # noqa: E402
from countersign_client import Countersign, NotApproved  # noqa: E402
from countersign_client import dbos as cs_dbos  # noqa: E402
from dbos import DBOS  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from testkit.engines import Process, callback_row, signed_callback, wait_for  # noqa: E402
from testkit.live import free_port, pg_database  # noqa: E402
from tests.client.conftest import ROOT, Live, child_env  # noqa: E402

PG_URL = os.environ.get("COUNTERSIGN_TEST_POSTGRES_URL")
CLIENT: dict[str, Countersign] = {}  # the application's client, set by the fixture (workflows take plain inputs)


@DBOS.workflow()
def refund_flow(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        decision = cs_dbos.approval(CLIENT["cs"], action="refund", title=spec["title"], body=spec["body"],
                                    timeout_s=spec.get("timeout_s"), raise_unless_approved=bool(spec.get("raise")))
    except NotApproved as exc:
        return {"raised": type(exc).__name__, "reason": exc.reason}
    return decision.to_dict()


class App:
    """The DBOS application: its system database, the bridge on a loopback port, an agent calling it back."""

    def __init__(self, live: Live, system_db: str) -> None:
        self.live, self.system_db = live, system_db
        self.port = free_port()
        self.agent = live.agent(callback_url=f"http://127.0.0.1:{self.port}/countersign")
        self.secret = self.agent["webhook_secret"]
        CLIENT["cs"] = Countersign(api_key=self.agent["api_key"], base_url=live.base_url)
        DBOS(config={"name": "countersign-dbos-test", "system_database_url": system_db, "log_level": "WARNING",
                     "notification_listener_polling_interval_sec": 0.1})
        DBOS.launch()
        self.bridge = cs_dbos.Bridge(self.secret)
        self.server = uvicorn.Server(uvicorn.Config(self.bridge, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, 10, "the bridge's HTTP server")

    def start(self, **spec: Any) -> tuple[Any, str]:
        spec.setdefault("title", f"Refund {uuid.uuid4().hex[:8]}")
        spec.setdefault("body", "Refund $40 on order A-1001")
        return DBOS.start_workflow(refund_flow, spec), spec["title"]

    def messages(self, workflow_id: str) -> int:
        engine = create_engine(self.system_db)
        table = "notifications" if self.system_db.startswith("sqlite") else "dbos.notifications"
        try:
            with engine.connect() as conn:
                return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE destination_uuid = :w"),
                                        {"w": workflow_id}).scalar())
        finally:
            engine.dispose()

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        DBOS.destroy()
        CLIENT.pop("cs").close()


def _backends() -> list[str]:
    return ["sqlite", *(["postgresql"] if PG_URL else [])]


@pytest.fixture(scope="module", params=_backends())
def app(request: pytest.FixtureRequest, live: Live, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    if request.param == "sqlite":
        urls: Any = iter([f"sqlite:///{tmp_path_factory.mktemp('dbos') / 'dbos.sqlite'}"])
        cleanup = None
    else:
        cleanup = pg_database(str(PG_URL))
        urls = iter([cleanup.__enter__().replace("postgresql+psycopg://", "postgresql://")])
    try:
        application = App(live, next(urls))
    except Exception as exc:  # noqa: BLE001 - the engine cannot start here: say why and skip
        print(f"skipping the DBOS tests on {request.param}: {exc!r}", file=sys.stderr)
        pytest.skip(f"DBOS cannot start on {request.param}: {exc!r}")
    try:
        yield application
    finally:
        application.close()
        if cleanup is not None:
            cleanup.__exit__(None, None, None)


def test_edit_and_reject_reach_the_workflow(app: App) -> None:
    """An edit arrives as final_body, a reject with its reason; the raising variant raises Rejected."""
    (edited, t1), (rejected, t2), (raising, t3) = app.start(), app.start(), app.start(**{"raise": True})
    draft_id = app.live.reviewer.decide(t1, "edit", text="Refund $25 on order A-1001")
    app.live.reviewer.decide(t2, "reject", reason="duplicate of A-0999")
    app.live.reviewer.decide(t3, "reject", reason="not our customer")
    done = edited.get_result()
    assert (done["status"], done["approved"], done["final_body"]) == ("edited", True, "Refund $25 on order A-1001")
    no = rejected.get_result()
    assert (no["status"], no["approved"], no["reason"]) == ("rejected", False, "duplicate of A-0999")
    assert raising.get_result() == {"raised": "Rejected", "reason": "not our customer"}
    assert CLIENT["cs"].drafts.get(draft_id).raw["metadata"]["dbos"] == {"workflow_id": edited.workflow_id}


def test_timeout_returns_an_expired_decision_and_withdraws_the_draft(app: App) -> None:
    handle, title = app.start(timeout_s=1)
    done = handle.get_result()
    draft_id = done["draft_id"]
    assert (done["status"], done["approved"]) == ("expired", False)
    assert app.live.count_drafts(title) == 1
    assert CLIENT["cs"].drafts.get(draft_id).status == "cancelled"


def test_the_same_callback_twice_and_at_a_second_bridge_is_one_message(app: App) -> None:
    """Countersign's callback again at this bridge and (other signature scheme) at a second bridge: one message."""
    handle, title = app.start()
    draft_id = app.live.reviewer.decide(title, "approve")
    assert handle.get_result()["status"] == "approved"
    row = wait_for(lambda: (r := callback_row(app.live.db_url, draft_id)) and r["status"] == "sent" and r, 10,
                   "the callback marked sent")
    second = cs_dbos.Bridge(app.secret)
    for bridge, standard in ((app.bridge, True), (second, False), (second, True)):
        status, _ = _run(bridge.handle(*signed_callback(row, app.secret, standard=standard)))
        assert status == 200
    assert app.messages(handle.workflow_id) == 1


def _run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


def test_the_refund_example_refunds_the_amount_as_edited(app: App, tmp_path: Any) -> None:
    """examples/dbos_refund.py as a user runs it (the bridge in its own process): the edit is what is refunded."""
    if not app.system_db.startswith("sqlite"):
        pytest.skip("the example runs once, on its default SQLite")
    port, order = free_port(), f"A-{uuid.uuid4().hex[:6]}"
    agent = app.live.agent(callback_url=f"http://127.0.0.1:{port}/countersign")
    env = child_env(COUNTERSIGN_URL=app.live.base_url, COUNTERSIGN_API_KEY=agent["api_key"],
                    COUNTERSIGN_WEBHOOK_SECRET=agent["webhook_secret"], BRIDGE_PORT=str(port),
                    DBOS_SYSTEM_DATABASE_URL=f"sqlite:///{tmp_path / 'refunds.sqlite'}")
    edit = app.live.reviewer.decide_later(order, "edit", text=json.dumps({"order_id": order, "amount": 10.0}))
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "dbos_refund.py"), order, "12.50"], env=env,
                          capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == f"refunded 10.0 EUR on {order}"
    edit.result(timeout=30)


def test_approved_while_the_application_is_killed_is_delivered_after_recovery(live: Live, tmp_path: Any) -> None:
    """SIGKILL the DBOS application (its bridge with it) while its workflow waits; approve: Countersign's delivery
    fails and is retried; restart the application: DBOS recovers the workflow, the retried callback reaches the
    new bridge, and the workflow completes with the decision, one message."""
    from dbos import DBOSClient

    port, tag = free_port(), uuid.uuid4().hex[:8]
    agent = live.agent(callback_url=f"http://127.0.0.1:{port}/countersign")
    db, workflow_id, title = f"sqlite:///{tmp_path / 'crash.sqlite'}", f"crash-{tag}", f"Refund {tag}"
    argv = [sys.executable, "-m", "testkit.dbos_app", "--db", db, "--port", str(port), "--base-url",
            live.base_url, "--api-key", agent["api_key"], "--secret", agent["webhook_secret"]]
    first = Process([*argv, "--start", workflow_id, title], child_env(), name="dbos-app").start()
    try:
        live.reviewer.card(title)
    finally:
        first.kill()
    draft_id = live.reviewer.decide(title, "approve")
    wait_for(lambda: (r := callback_row(live.db_url, draft_id)) and r["attempts"] >= 1 and r["status"] == "pending",
             30, "a failed delivery to the killed application")
    second = Process(argv, child_env(), name="dbos-app").start()
    client = DBOSClient(system_database_url=db)
    try:
        handle = client.retrieve_workflow(workflow_id)
        try:
            wait_for(lambda: handle.get_status().status in ("SUCCESS", "ERROR"), 60, "the recovered workflow",
                     every=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the application's log:\n{second.tail()}") from None
        assert handle.get_result()["status"] == "approved"
    finally:
        second.stop()
        client.destroy()
    assert live.count_drafts(title) == 1
