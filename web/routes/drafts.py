"""The inbox and a draft's page; Approve, Edit (then approve) and Reject call the flow a Slack click calls.

Who may decide, quorum, self-approval and "already decided by …" are the drafts flow's rules, so a refusal
here is the same sentence, and the same audit entry, as in Slack. This layer adds only what a browser needs:
the high-risk confirmation as a page, JSON edits that must stay JSON, and a reason a rejection can't lack.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.access import Viewer, is_group_member
from services.drafts import flows
from services.errors import CountersignError
from services.signin import flows as signin
from web import drafts_data
from web.auth import Form, WebRefusal, changing, ctx_of, signed_in
from web.render import fragment, page, see_other

router = APIRouter()
VERDICTS = ("approve", "edit", "reject")


def _missing(draft_id: str) -> WebRefusal:
    # A draft of an agent this person has no part in is "not found", exactly like one that does not exist.
    return WebRefusal(404, "No such draft", f"There is no draft {draft_id[:60]!r} that you can see.",
                      "Go back to your inbox.", audit=True, subject=f"draft:{draft_id[:60]}")


@router.get("/")
async def inbox(request: Request) -> HTMLResponse:
    viewer = await signed_in(request)
    data = await asyncio.to_thread(drafts_data.inbox, ctx_of(request), viewer)
    return page(request, "drafts/inbox.html", nav="inbox", **data)


@router.get("/live/inbox")
async def inbox_live(request: Request) -> HTMLResponse:
    viewer = await signed_in(request)
    data = await asyncio.to_thread(drafts_data.inbox, ctx_of(request), viewer)
    return fragment("drafts/_lists.html", **data)


async def _draft_page(request: Request, viewer: Viewer, draft_id: str, *, status: int = 200,
                      **extra: Any) -> HTMLResponse:
    found = await asyncio.to_thread(drafts_data.draft_page, ctx_of(request), viewer, draft_id)
    if found is None:
        raise _missing(draft_id)
    extra.setdefault("error", None)
    extra.setdefault("edit_text", None)
    extra.setdefault("reason_text", "")
    return page(request, "drafts/draft.html", status=status, nav="inbox", p=found,
                done=request.query_params.get("done"), **extra)


@router.get("/drafts/{draft_id}")
async def draft(request: Request, draft_id: str) -> HTMLResponse:
    viewer = await signed_in(request)
    return await _draft_page(request, viewer, draft_id)


@router.get("/drafts/{draft_id}/live")
async def draft_live(request: Request, draft_id: str) -> HTMLResponse:
    viewer = await signed_in(request)
    found = await asyncio.to_thread(drafts_data.draft_page, ctx_of(request), viewer, draft_id)
    if found is None:
        raise _missing(draft_id)
    return fragment("drafts/_status.html", p=found)


def _revision(form: Form) -> int | None:
    value = form.get("revision")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


@router.post("/drafts/{draft_id}/{verdict}")
async def decide(request: Request, draft_id: str, verdict: str) -> Response:
    viewer, form = await changing(request)
    if verdict not in VERDICTS:
        raise WebRefusal(404, "No such action", f"A draft can be approved, edited or rejected, not {verdict[:30]!r}.",
                         "Use the buttons on the draft's page.")
    found = await asyncio.to_thread(drafts_data.visible_draft, ctx_of(request), viewer, draft_id)
    if found is None:
        raise _missing(draft_id)
    draft, agent = found
    decision: dict[str, Any] = {}
    if verdict == "approve" and draft.high_risk and form.get("confirm") != "yes":
        return page(request, "drafts/confirm.html", nav="inbox", draft=draft, agent=agent,
                    revision=form.get("revision"))
    if verdict == "edit":
        text = form.get("text").replace("\r\n", "\n")
        problem = _edit_problem(text, draft.body_is_json)
        if problem:
            return await _draft_page(request, viewer, draft_id, status=422, error=problem, edit_text=text)
        decision["final_body"] = text
    if verdict == "reject":
        reason = form.get("reason").strip()
        if not reason:
            return await _draft_page(request, viewer, draft_id, status=422, error="Please say why you reject it: "
                                     "the agent gets your reason.")
        decision["reason"] = reason[:2000]
    try:
        result = await asyncio.to_thread(flows.decide, ctx=ctx_of(request), draft_id=draft.id, user_id=viewer.user_id,
                                         verdict=verdict, is_group_member=is_group_member(agent, viewer),
                                         revision=_revision(form), via="web", **decision)
    except CountersignError as exc:  # show the flow's own sentence
        if exc.status == 409:  # the flow audits who was not allowed; a late or stale click is recorded here
            await asyncio.to_thread(signin.refused, ctx=ctx_of(request), user_id=viewer.user_id,
                                    subject=draft.card_key, why=exc.detail, details={"verdict": verdict})
        return await _draft_page(request, viewer, draft_id, status=exc.status, error=exc.detail,
                                 edit_text=decision.get("final_body"), reason_text=decision.get("reason", ""))
    if result.notice:  # oversight: a canary's decider learns at once that it was a test
        return await _draft_page(request, viewer, draft_id, notice=result.notice)
    return see_other(f"/app/drafts/{draft.id}?done={'decided' if result.final else 'vote'}")


def _edit_problem(text: str, is_json: bool) -> str | None:
    if not text.strip():
        return "The edited text can't be empty. To turn the draft down, reject it with a reason instead."
    if is_json:
        try:
            json.loads(text)
        except ValueError as exc:
            return f"This draft is JSON and must stay valid JSON: {exc}. Fix the text and approve again."
    return None
