"""End to end in real headless Chromium: sign in by link, approve with the keyboard, edit with a diff, reject with
a reason, watch a Slack decision arrive without a reload, acknowledge an incident, answer a halted run, read the
spend charts, and fit a phone's width. One browser and one server for the module; each test has its own browser
context."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from services.agents.service import require_agent
from services.drafts.flows import decide
from services.runs.flows import watch_runs
from services.runs.models import Run
from services.spend.periods import local_day
from services.spend.service import add_to_rollup
from tests.web.live import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, Live, live_server

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

ALICE, BOB, OWNER, FINANCE = "U078ALICE", "U079BOB", "U012OWNER", "U0FINANCE"
REVIEWER = "U0REVIEWER"  # approves only for the first test's agent, so its inbox holds exactly those drafts


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Live]:
    import shutil

    path = tmp_path_factory.mktemp("browser") / "countersign.db"
    shutil.copy(sqlite_template, path)
    with live_server(f"sqlite:///{path}") as server:
        yield server


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    ctx = chromium.new_context(viewport={"width": 1200, "height": 860})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def sign_in(page: Any, live: Live, user: str) -> None:
    page.goto(live.link(user))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live.base_url}/app/")


def called_back(live: Live, draft_id: str) -> dict[str, Any]:
    """The data of the agent's callback about this draft, once it has arrived."""
    found = live.receiver.wait_for(1, predicate=lambda d: (d.json or {}).get("data", {}).get("id") == draft_id)
    return dict(found[-1].json["data"])


def test_sign_in_by_link_and_approve_with_the_keyboard(live: Live, context: Any) -> None:
    """The link signs the reviewer in; j moves to the second draft, o opens it, a approves; the agent is called
    back."""
    key = live.register("quoter", approvers=[REVIEWER], budgets=[{"period": "day", "limit_usd": 5}])
    live.draft(key, title="Quote CHI → DAL, 40 ft dry van", cost_usd=0.031, confidence=0.86)
    second = live.draft(key, title="Quote MEM → ATL, reefer", cost_usd=0.027, confidence=0.58)
    live.draft(key, action="reply_customer", title="Reply to ticket #5521", body="Your shipment left Memphis.",
               cost_usd=0.008, confidence=0.93)
    page = context.new_page()
    sign_in(page, live, REVIEWER)
    assert page.locator("#inbox .item").count() == 3
    page.screenshot(path=str(SCREENSHOTS / "inbox.png"))
    page.keyboard.press("j")
    assert page.locator("#inbox .item.selected").get_attribute("data-id") == second["id"]
    page.keyboard.press("o")
    page.wait_for_url(f"**/app/drafts/{second['id']}")
    page.keyboard.press("a")
    page.get_by_text("Done: the draft is approved.").wait_for()
    assert called_back(live, second["id"])["status"] == "approved"


def test_edit_with_a_diff_then_a_slack_approval_arrives_live(live: Live, context: Any) -> None:
    """Alice edits from the keyboard (quorum 2: her vote counts, the diff shows); Bob approves in Slack; Alice's
    open page turns approved and its Decide forms go away, without a reload."""
    key = live.register("writer", approvals_required=2)
    draft = live.draft(key, action="reply_customer", title="Reply to ticket #5521: where is my shipment?",
                       body="Hello Sam,\n\nYour shipment left Memphis this morning.\nIt is due tomorrow.\n\nSupport",
                       cost_usd=0.008, confidence=0.64, model="gpt-4o-mini", prompt_version="support-v7",
                       context={"ticket": 5521, "customer": "Sam"})
    page = context.new_page()
    sign_in(page, live, ALICE)
    page.goto(f"{live.base_url}/app/drafts/{draft['id']}")
    page.keyboard.press("e")  # focuses the editor; Ctrl+Enter sends it
    page.keyboard.press("Control+a")
    page.keyboard.type("Hello Sam,\n\nYour shipment left Memphis this morning.\nIt arrives in Atlanta tomorrow by "
                       "noon.\n\nSorry for the wait,\nSupport")
    page.keyboard.press("Control+Enter")
    page.get_by_text("Your approval is recorded: 1 of 2 approvals.").wait_for()
    assert "+It arrives in Atlanta tomorrow by noon." in page.locator("#diff .add").all_inner_texts()
    page.screenshot(path=str(SCREENSHOTS / "draft.png"), full_page=True)
    live.slack_click(draft["id"], BOB)
    page.locator('#status [data-status="edited"]').wait_for()
    assert page.locator("#decide").count() == 0 and BOB in page.locator("#status").inner_text()


def test_reject_with_a_reason(live: Live, context: Any) -> None:
    """r focuses the reason; the rejection reaches the agent with it."""
    key = live.register("refunder")
    draft = live.draft(key, action="refund", title="Refund $240 on order #8812", body={"order": "8812", "usd": 240})
    page = context.new_page()
    sign_in(page, live, ALICE)
    page.goto(f"{live.base_url}/app/drafts/{draft['id']}")
    page.keyboard.press("r")
    page.keyboard.type("Order was delivered intact; photo in ticket")
    page.get_by_role("button", name="Reject").click()
    page.get_by_text("Done: the draft is rejected.").wait_for()
    assert "Order was delivered intact" in page.locator("#status").inner_text()
    assert called_back(live, draft["id"])["reason"] == "Order was delivered intact; photo in ticket"


def test_acknowledge_an_incident(live: Live, context: Any) -> None:
    """The owner acknowledges from the incidents page; the page shows who did."""
    key = live.register("watcher")
    opened = live.agent_call(key, "/v1/incidents", {"kind": "anomaly", "severity": "high",
                                                    "summary": "Rate engine returned a negative linehaul"})
    page = context.new_page()
    sign_in(page, live, OWNER)
    page.goto(f"{live.base_url}/app/incidents")
    card = page.locator(f"#incident-{opened['id']}")
    card.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("Done: acknowledged.").wait_for()
    assert f"acknowledged by {OWNER}" in page.locator(f"#incident-{opened['id']}").inner_text()


def test_answer_a_halted_run(live: Live, context: Any) -> None:
    """The owner opens the halted run from the runs page, sees its last step, and aborts it."""
    key = live.register("nightly")
    live.agent_call(key, "/v1/runs", {"expect_heartbeat_every_s": 60, "grace_s": 0, "run_id": "reprice-1",
                                      "name": "nightly reprice", "step": "4/9 lanes"})
    with live.ctx.uow() as session:  # overdue now, without waiting out a heartbeat interval
        session.exec(update(Run).where(col(Run.run_id) == "reprice-1")  # type: ignore[call-overload]
                     .values(deadline_at=live.ctx.clock.now() - timedelta(seconds=1)))
    assert watch_runs(live.ctx) == 1
    page = context.new_page()
    sign_in(page, live, OWNER)
    page.goto(f"{live.base_url}/app/runs")
    page.get_by_role("link", name="nightly reprice").click()
    assert page.locator(".last-step").inner_text() == "4/9 lanes"
    page.get_by_role("button", name="Abort the run").click()
    page.get_by_text("Sent to the agent: abort the run.").wait_for()
    assert f"Abort the run by {OWNER}" in page.locator(".decision").inner_text()


def seed_spend(live: Live, name: str, history: list[tuple[float, float]]) -> str:
    """An agent owned by finance with a fortnight of spend behind it and today's drafts decided in the app's flow:
    two approved, one rejected (its cost becomes waste)."""
    key = live.register(name, owner=FINANCE, backup_owners=[], budgets=[{"period": "day", "limit_usd": 2}])
    with live.ctx.uow() as session:
        agent = require_agent(session=session, name=name)
        today = local_day(live.ctx.clock.now(), live.ctx.settings.tz)
        for back, (cost, waste) in enumerate(history, start=1):
            add_to_rollup(session=session, agent_id=agent.id or 0, model="gpt-4o-mini",
                          day=today - timedelta(days=back), cost=cost, waste=waste)
    for verdict in ("approve", "approve", "reject"):
        draft = live.draft(key, title=f"{name} {verdict}")
        live.agent_call(key, "/v1/usage", {"model": "gpt-4o-mini", "input_tokens": 1800, "output_tokens": 400,
                                           "cost_usd": 0.35, "draft_id": draft["id"]})
        decide(ctx=live.ctx, draft_id=draft["id"], user_id=ALICE, verdict=verdict,  # type: ignore[arg-type]
               reason="rate below floor" if verdict == "reject" else None)
    return str(draft["id"])


def test_spend_page_draws_its_charts_and_fits_a_phone(live: Live, context: Any, chromium: Any) -> None:
    """Finance sees its two agents' charts against their budget lines, cost per approved outcome and waste, and a
    digest with its chart; the pages fit a 390 px wide phone."""
    seed_spend(live, "quoter-eu", [(1.1, 0), (1.6, 0.2), (2.3, 0.45), (1.2, 0), (0.9, 0.1), (1.7, 0), (1.4, 0.05),
                                   (2.05, 0.3), (1.3, 0), (1.55, 0.1), (1.2, 0), (0.8, 0), (1.45, 0.2)])
    last = seed_spend(live, "quoter-us", [(0.6, 0), (0.7, 0.1), (0.9, 0), (1.1, 0.2), (0.8, 0), (0.75, 0), (1.3, 0.4),
                                   (0.95, 0), (0.6, 0), (0.85, 0.05), (1.0, 0), (1.15, 0.1), (0.9, 0)])
    page = context.new_page()
    sign_in(page, live, FINANCE)
    page.goto(f"{live.base_url}/app/spend")
    assert page.locator("#daily svg").count() == 2 and page.locator("line.budget").count() == 2
    assert page.locator("#per-outcome rect").count() == 2 and page.locator("#waste rect").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "spend.png"), full_page=True)
    # The server's first chart imports matplotlib (on a fresh machine it also builds its font cache): allow for it.
    page.goto(f"{live.base_url}/app/digests?period=week&so_far=1&agent=quoter-us", timeout=60_000)
    assert "Countersign digest:" in page.locator(".digest h2").inner_text()
    assert page.locator("img.chart").evaluate("img => img.complete && img.naturalWidth") > 0  # drawn under the CSP
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        small = phone.new_page()
        sign_in(small, live, FINANCE)
        for path in ("/app/", "/app/spend", "/app/incidents", "/app/agents", "/app/agents/quoter-us", "/app/audit",
                     f"/app/drafts/{last}", "/app/runs", "/app/digests"):
            small.goto(f"{live.base_url}{path}")
            assert small.evaluate("document.documentElement.scrollWidth") <= 390, path
    finally:
        phone.close()


def test_a_two_stage_approval_with_a_claim(live: Live, chromium: Any) -> None:
    """Alice claims the refund (the page and the inbox say so) and passes the support lead's stage; Bob, signed
    in elsewhere, sees it at finance and approves; the agent's one callback carries both stages."""
    stages = {"refund": {"stages": [{"name": "support lead", "approvers": [ALICE]},
                                    {"name": "finance", "approvers": [BOB]}]}}
    key = live.register("refunds", approvers=[ALICE, BOB], actions=stages)
    draft = live.draft(key, action="refund", title="Refund order 8812", body="Refund $40 for a damaged pallet")
    pages = []
    for user in (ALICE, BOB):
        ctx = chromium.new_context(viewport={"width": 1200, "height": 860})
        ctx.set_default_timeout(10_000)
        pages.append(ctx.new_page())
        sign_in(pages[-1], live, user)
    alice, bob = pages
    alice.goto(f"{live.base_url}/app/drafts/{draft['id']}")
    alice.get_by_role("button", name="Claim").click()
    alice.locator("#claim").get_by_text(f"Claimed by {ALICE}").wait_for()
    alice.goto(f"{live.base_url}/app/")
    alice.get_by_text(f"claimed by {ALICE}").first.wait_for()
    alice.goto(f"{live.base_url}/app/drafts/{draft['id']}")
    alice.keyboard.press("a")
    alice.get_by_text("Your approval is recorded").wait_for()
    bob.goto(f"{live.base_url}/app/drafts/{draft['id']}")
    bob.locator("#stages").get_by_text("Approval workflow: finance").wait_for()
    bob.keyboard.press("a")
    bob.get_by_text("Done: the draft is approved.").wait_for()
    data = called_back(live, draft["id"])
    assert data["status"] == "approved" and [s["status"] for s in data["stages"]] == ["passed", "passed"]
    assert [s["approved_by"] for s in data["stages"]] == [[ALICE], [BOB]]
    for page in pages:
        page.context.close()
