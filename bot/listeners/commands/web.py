"""`/countersign web`: a one-time sign-in link to the web app, sent to the person by direct message.

The link goes out through the outbox in the transaction that issues it, and Slack is asked not to unfurl it
(an unfurl is a fetch; the link only shows a Sign in button on GET, so even a fetch could not spend it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.listeners.commands.registry import Subcommands
from bot.notifiers.outbox import post
from services.audit.service import Actor
from services.context import AppContext
from services.signin import flows as signin


def link_message(url: str) -> dict[str, Any]:
    text = f"Your sign-in link to the Countersign web app (works once, for 10 minutes): <{url}|open Countersign>"
    return {"text": text, "unfurl_links": False, "unfurl_media": False}


async def web_link(ctx: AppContext, command: dict[str, Any], args: list[str]) -> str:
    user = command["user_id"]

    def send() -> None:
        with ctx.uow() as session:
            url = signin.issue_link_in(session=session, ctx=ctx, user_id=user, actor=Actor.slack_user(user))
            post(session, channel=user, msg=link_message(url), now=ctx.clock.now())

    await asyncio.to_thread(send)
    return ":email: I've sent you a sign-in link by direct message. It works once, for 10 minutes."


def register(commands: Subcommands) -> None:
    commands.add("web", "web", "a one-time link, by direct message, that signs you in to the web app", web_link,
                 slow=True)
