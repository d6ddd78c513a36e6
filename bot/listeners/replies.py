"""How the Slack layer answers a person, in one place: the ephemeral helpers and the one way to refuse.

Listeners never answer a refusal themselves: they raise the domain's error (services.errors), and `answering`,
which every listener is registered through, answers it, whatever the listener's kind and whether or not it
has acked yet:
- a slash command not yet acked: the ephemeral reply is the ack's body;
- a modal not yet closed: the message shows on its first input; once closed, an ephemeral in the channel of
  the card it was opened from (private_metadata `c`, which the modal's listener checks against the card
  before it acks);
- a button: an ephemeral through the payload's response_url.
Who was refused is audited by the domain (it raised the refusal), not here. A signed payload that is not
shaped as Slack sends it (see bot.listeners.payloads) is a 400 and a log line, never a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from services.errors import CountersignError

log = logging.getLogger("countersign.slack")

SORRY = ":warning: Something went wrong on our side; it has been logged. Please try again."
MODAL_ERROR_MAX = 150  # Slack shows at most this much under an input


def mention(user: str) -> str:
    return f"<@{user}>"


def warning(error: CountersignError) -> str:
    return f":warning: {error.rendered(mention)}"


async def tell(respond: AsyncRespond, text: str) -> None:
    """A private line to the person who clicked or typed, below the card or command."""
    await respond(response_type="ephemeral", replace_original=False, text=text)


async def tell_in(client: AsyncWebClient, *, channel: str | None, user: str, text: str) -> None:
    """A private line in a channel Countersign chose (a card's own channel), for answers after a modal closed."""
    if not channel:
        return
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as exc:  # e.g. the person left the channel: the answer has nowhere to go
        log.info("ephemeral to %s in %s not delivered: %s", user, channel, exc.response.get("error"))


def modal_channel(view: dict[str, Any]) -> str | None:
    """The card channel a modal was opened from, as Countersign wrote it into private_metadata (`c`)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    channel = meta.get("c") if isinstance(meta, dict) else None
    return channel if isinstance(channel, str) else None


def _first_input(view: dict[str, Any]) -> str | None:
    blocks = view.get("blocks") if isinstance(view.get("blocks"), list) else []
    return next((b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"), None)


Listener = Callable[..., Awaitable[None]]


async def answer(error: Exception, *, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                 client: AsyncWebClient) -> None:
    """Answer what a listener raised, acking if it had not acked yet."""
    if isinstance(error, CountersignError):
        text = warning(error)
    else:
        log.error("Slack listener failed: %s", type(error).__name__, exc_info=error)
        text = SORRY
    acked = ack.response is not None
    if body.get("type") == "view_submission":
        view = body.get("view") or {}
        block = _first_input(view)
        if not acked and block:
            await ack(response_action="errors", errors={block: text[:MODAL_ERROR_MAX]})
            return
        if not acked:
            await ack()
        await tell_in(client, channel=modal_channel(view), user=(body.get("user") or {}).get("id", ""), text=text)
        return
    if "command" in body and not acked:
        await ack(response_type="ephemeral", text=text)
        return
    if not acked:
        await ack()
    if body.get("response_url"):
        await tell(respond, text)


def answering(listener: Listener) -> Listener:
    """Every listener is registered through this: whatever it raises is answered here, acked or not.

    (Bolt's own error handler can't be the one way: an error raised just after ack() makes Bolt forget the
    ack and answer Slack 404.) A listener takes exactly these five arguments."""

    async def run(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                  context: AsyncBoltContext) -> None:
        try:
            await listener(ack=ack, body=body, respond=respond, client=client, context=context)
        except Exception as error:  # the one place a listener's failure is answered, whatever it is
            await answer(error, ack=ack, body=body, respond=respond, client=client)

    run.__name__ = run.__qualname__ = getattr(listener, "__name__", "listener")
    return run
