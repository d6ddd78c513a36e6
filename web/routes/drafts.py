"""The inbox and a draft's page; Approve, Edit (then approve) and Reject call the flow a Slack click calls.

Who may decide, quorum, self-approval, "already decided by …", JSON edits that stay JSON and a rejection's
reason are the drafts flow's rules, so a refusal here is the same sentence, and the same audit entry, as in
Slack. This layer adds only what a browser needs: the high-risk confirmation as a page, and the flow's
refusals drawn on the draft's page (people as @U…).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.access import Viewer
from services.drafts import claims, flows
from services.drafts.models import draft_key
from services.errors import CountersignError, ValidationFailed
from web import drafts_data
from web.auth import Form, WebRefusal, changing, ctx_of, signed_in
from web.render import fragment, page, see_other

router = APIRouter()
VERDICTS = ("approve", "edit", "reject")


def _missing(draft_id: str) -> WebRefusal:
    # A draft of an agent this person has no part in is "not found", exactly like one that does not exist.
    return WebRefusal(404, "No such draft", f"There is no draft {draft_id[:60]!r} that you can see.",
                      "Go back to your inbox.", audit=True, subject=draft_key(draft_id[:60]))


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


@router.post("/drafts/{draft_id}/claim")
async def claim(request: Request, draft_id: str) -> Response:
    return await _claiming(request, draft_id, "claim")


@router.post("/drafts/{draft_id}/release")
async def release(request: Request, draft_id: str) -> Response:
    return await _claiming(request, draft_id, "release")


@router.post("/drafts/{draft_id}/assign")
async def assign(request: Request, draft_id: str) -> Response:
    return await _claiming(request, draft_id, "assign")


async def _claiming(request: Request, draft_id: str, what: str) -> Response:
    """Claim, Release and Assign: the claims flow's rules (it audits refusals); the page says what happened."""
    viewer, form = await changing(request)
    found = await asyncio.to_thread(drafts_data.visible_draft, ctx_of(request), viewer, draft_id)
    if found is None:
        raise _missing(draft_id)
    ctx, draft = ctx_of(request), found[0]
    try:
        if what == "claim":
            await asyncio.to_thread(claims.claim, ctx=ctx, draft_id=draft.id, user_id=viewer.user_id)
        elif what == "release":
            await asyncio.to_thread(claims.release, ctx=ctx, draft_id=draft.id, user_id=viewer.user_id)
        else:
            await asyncio.to_thread(claims.assign, ctx=ctx, draft_id=draft.id, user_id=viewer.user_id,
                                    to=form.get("to").strip())
    except CountersignError as exc:
        return await _draft_page(request, viewer, draft_id, status=exc.status, error=sentence(exc))
    return see_other(f"/app/drafts/{draft.id}?done={what}")


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
        decision["final_body"] = form.get("text").replace("\r\n", "\n")
    if verdict == "reject":
        decision["reason"] = form.get("reason")
    try:
        result = await asyncio.to_thread(flows.decide, ctx=ctx_of(request), draft_id=draft.id, user_id=viewer.user_id,
                                         verdict=verdict, revision=_revision(form), via="web",
                                         **decision)
    except CountersignError as exc:  # the flow's own sentence; it has audited the refusal
        return await _draft_page(request, viewer, draft_id, status=exc.status, error=sentence(exc),
                                 edit_text=decision.get("final_body"), reason_text=decision.get("reason", ""))
    if result.notice:  # oversight: a canary's decider learns at once that it was a test
        return await _draft_page(request, viewer, draft_id, notice=result.notice)
    return see_other(f"/app/drafts/{draft.id}?done={'decided' if result.final else 'vote'}")


def sentence(error: CountersignError) -> str:
    """A refusal as a page says it: a field's own message as a sentence, people as @U…."""
    if isinstance(error, ValidationFailed) and len(error.errors) == 1:
        message = error.errors[0].message
        return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
    return error.rendered(lambda user: f"@{user}")
