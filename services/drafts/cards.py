"""Where a draft's cards are, for the chat layer to check a click's origin before it calls the drafts flow:
the open stage's card (and its copies DMed to an assignee or an escalation), and earlier stages' cards."""

from __future__ import annotations

from dataclasses import dataclass

from services.context import AppContext
from services.drafts import service, stages
from services.drafts.flows import agent_of
from services.drafts.models import stage_card_key
from services.outbox.service import posting, slack_message


@dataclass(frozen=True)
class Deciders:
    agent_name: str
    approvers: list[str]
    approver_groups: list[str]
    card_channel: str | None  # where the open stage's card landed, so a click can be checked against it
    card_ts: str | None
    card_posting: bool = False  # the card is on its way (or posted, not yet recorded)
    also_cards: frozenset[tuple[str, str]] = frozenset()  # the open stage's card DMed to an assignee
    earlier_cards: frozenset[tuple[str, str]] = frozenset()  # passed stages' cards: a click there is refused
    stage_label: str = "review"


def deciders(*, ctx: AppContext, draft_id: str) -> Deciders:
    """Where this draft's card is, so the chat layer can check a click's origin before calling `decide`."""
    with ctx.read() as session:
        draft = service.get_draft(session=session, draft_id=draft_id)
        agent = agent_of(session, draft.agent_id)
        key = stage_card_key(draft_id, draft.stage_index)
        posted = slack_message(session=session, key=key)

        def found(keys: list[str]) -> frozenset[tuple[str, str]]:
            messages = [slack_message(session=session, key=k) for k in keys]
            return frozenset((m.channel, m.ts) for m in messages if m is not None)

        dms = [f"{key}:to:{user}" for user in [draft.claimed_by, *stages.open_stage(draft)["escalated_to"]] if user]
        return Deciders(agent.name, agent.deciders(), list(agent.approver_groups),
                        posted.channel if posted else None, posted.ts if posted else None,
                        posted is None and posting(session=session, key=key), found(dms),
                        found([stage_card_key(draft_id, at) for at in range(draft.stage_index)]),
                        stages.label(draft))
