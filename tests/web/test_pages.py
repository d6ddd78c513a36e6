"""Every page by plain request, with data on it; bad input answered by an HTML page that says what to do."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from services.agents.service import require_agent
from services.audit.service import seal
from services.spend.periods import local_day
from services.spend.service import add_to_rollup
from tests.harness import ALICE, OWNER, Harness
from tests.services.drafts.helpers import new_draft
from tests.web.helpers import browser, csrf, signed_in, submit


def test_inbox_lists_oldest_first_with_the_facts(harness: Harness) -> None:
    """Alice's inbox: her drafts oldest first, with agent, action, cost, confidence and expiry."""
    key = harness.register()["api_key"]
    new_draft(harness, key, title="Older quote", cost_usd=0.042, confidence=0.91)
    new_draft(harness, key, title="Newer quote")
    page = signed_in(harness, ALICE).get("/app/").text
    assert page.index("Older quote") < page.index("Newer quote")
    for fact in ("quoter", "quote_freight_lane", "$0.042", "91% sure", "expires in"):
        assert fact in page, fact


def test_owner_watches_without_deciding(harness: Harness) -> None:
    """The owner is not an approver: the draft is under "Waiting on others", not in their queue."""
    key = harness.register()["api_key"]
    new_draft(harness, key, title="Owner watches this")
    page = signed_in(harness, OWNER).get("/app/").text
    assert 'id="inbox"' not in page and "Waiting on others" in page and "Owner watches this" in page


def test_agents_pages_show_people_chain_budgets_and_autonomy(harness: Harness) -> None:
    """The agent's people, its escalation chain, its budgets with what is left, and autonomy per action."""
    key = harness.register(budgets=[{"period": "day", "limit_usd": 20}],
                           actions={"refund": {"autonomy": "review", "high_risk": True}})["api_key"]
    new_draft(harness, key)
    owner = signed_in(harness, OWNER)
    listing = owner.get("/app/agents").text
    assert "quoter" in listing and "you: owner" in listing and "$20" in listing
    page = owner.get("/app/agents/quoter").text
    for part in ("U034BACKUP", "notify backups", "wait 10 min", "daily · this agent", "$20", "refund", "Autonomy"):
        assert part in page, part


def test_spend_page_draws_charts_against_budgets(harness: Harness) -> None:
    """Per day per agent with its daily budget line, cost per approved outcome, and waste, as inline SVG."""
    key = harness.register(budgets=[{"period": "day", "limit_usd": 2}])["api_key"]
    with harness.ctx.uow() as session:
        agent = require_agent(session=session, name="quoter")
        today = local_day(harness.ctx.clock.now(), harness.ctx.settings.tz)
        add_to_rollup(session=session, agent_id=agent.id or 0, model="m", day=today - timedelta(days=3), cost=1.5,
                      waste=0.25)
    draft = new_draft(harness, key)
    submit(signed_in(harness, ALICE), f"/app/drafts/{draft['id']}/approve", revision="0")
    page = signed_in(harness, OWNER).get("/app/spend").text
    assert page.count("<svg") == 3 and "daily budget $2" in page and 'class="budget"' in page
    assert "1.5 spent" in page or "$1.5 spent" in page
    assert "Cost per approved outcome" in page and "$1.5" in page and "0.25 wasted" in page


def test_audit_filters_and_names_the_first_broken_entry(any_db_harness: Harness) -> None:
    """Filter by agent and by subject; after tampering with a sealed entry, the page names it (both databases)."""
    harness = any_db_harness
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, title="Audited")
    owner = signed_in(harness, OWNER)
    with harness.ctx.uow() as session:
        seal(session=session)
    page = owner.get("/app/audit?agent=quoter").text
    assert "Chain intact" in page and "draft.created" in page and "agent.created" in page
    only = owner.get(f"/app/audit?subject=draft:{draft['id']}").text
    assert "draft.created" in only and "agent.created" not in only
    with harness.ctx.uow() as session:
        first = session.execute(text("SELECT id FROM audit_log WHERE verb = 'draft.created'")).scalar_one()
        session.execute(text("UPDATE audit_log SET details = '{\"tampered\": true}' WHERE id = :id"), {"id": first})
    broken = owner.get("/app/audit").text
    assert "Chain broken" in broken and f"#{first}</strong>" in broken


def test_home_points_at_the_app_and_the_docs(harness: Harness) -> None:
    """GET / is a page linking the web app and the API reference."""
    page = harness.client.get("/")
    assert page.status_code == 200 and 'href="/app/"' in page.text and 'href="/docs"' in page.text


def test_bad_input_gets_a_page_saying_what_to_do(harness: Harness) -> None:
    """Unknown pages, malformed ids and numbers, wrong methods and non-forms: HTML 4xx, never a 500."""
    client = signed_in(harness, ALICE)
    cases = [("GET", "/app/nowhere", 404), ("GET", "/app/drafts/" + "x" * 3000, 404),
             ("GET", "/app/audit?before=abc", 400), ("GET", "/app/agents/%00", 404),
             ("POST", "/app/drafts/drf_x/frobnicate", 404), ("POST", "/app/incidents/abc/acknowledge", 404),
             ("POST", "/app/incidents/99999999999999999999/snooze", 404), ("PUT", "/app/", 405),
             ("GET", "/app/login/" + "y" * 500, 200)]
    token = csrf(client)
    for method, path, status in cases:
        answer = client.request(method, path, data={"csrf_token": token} if method == "POST" else None)
        assert answer.status_code == status, (method, path, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html"), path
    json_post = client.post("/app/login", json={"token": "x"})
    assert json_post.status_code == 415 and "What to do" in json_post.text
    assert browser(harness).get("/app/static/app.css").status_code == 200
