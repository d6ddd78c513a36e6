"""Who reacts to which domain event: the whole graph, in one place (the mechanism is services/events.py).

    draft.created   -> spend.draft_cost                 in the transaction: a draft's cost lands with it or not at all
                    -> oversight.model_change           in the transaction: the owner's card for a model not earned on
    draft.decided   -> incidents.rejection_streak       after commit: N rejections in a row open an incident
                    -> spend.waste                      after commit: a rejected or expired draft's spend is waste
                    -> autonomy.evidence                after commit: count the decision, propose, demote, regressions
    incident.opened -> autonomy.demote_on_incident      after commit: an incident naming an action takes it off auto
                                                        (only those: the others write no follow-up)

Why so: a person's decision (and an agent's cancel, an expiry, an auto-approval) commits with exactly what must
be true with it: the new status, the card update, the agent's callback and the audit entry, all in the outbox
or the audit log in that one transaction. Everything derived from it is a follow-up that runs after the commit
in its own transaction, durably (a row per follow-up, retried by the `events.followups` job), so no failure in
streaks, waste or autonomy can undo or block a decision. An incident pages its owner the same way: a failing
demotion can't keep the page from going out. Only a draft's cost shares its transaction: it is part of the
fact of the draft (the same Idempotency-Key retry must not count it twice or lose it).

Reactions run in the order listed. `create_app` and the CLI build this once (`build_events`) and hand it to the
AppContext; tests that need another reaction pass `extra=`.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.agents.models import Agent
from services.autonomy import flows as autonomy
from services.drafts.models import Draft
from services.events import AFTER_COMMIT, IN_TRANSACTION, Event, Events, Reaction
from services.incidents import streaks
from services.incidents.models import Incident
from services.oversight import flows as oversight
from services.spend import flows as spend

DRAFT_CREATED = Event("draft.created", {"agent": Agent, "draft": Draft})
DRAFT_DECIDED = Event("draft.decided", {"agent": Agent, "draft": Draft})  # any final status
INCIDENT_OPENED = Event("incident.opened", {"agent": Agent, "incident": Incident})
EVENTS = (DRAFT_CREATED, DRAFT_DECIDED, INCIDENT_OPENED)


def reactions() -> list[Reaction]:
    return [
        Reaction(DRAFT_CREATED, "spend.draft_cost", spend.draft_cost, IN_TRANSACTION),
        Reaction(DRAFT_CREATED, "oversight.model_change", oversight.on_draft_created, IN_TRANSACTION),
        Reaction(DRAFT_DECIDED, "incidents.rejection_streak", streaks.count_rejections, AFTER_COMMIT),
        Reaction(DRAFT_DECIDED, "spend.waste", spend.draft_decided, AFTER_COMMIT),
        Reaction(DRAFT_DECIDED, "autonomy.evidence", autonomy.on_decided, AFTER_COMMIT),
        Reaction(INCIDENT_OPENED, "autonomy.demote_on_incident", autonomy.on_incident, AFTER_COMMIT,
                 when=autonomy.names_an_action),
    ]


def build_events(extra: Iterable[Reaction] = ()) -> Events:
    return Events(EVENTS, [*reactions(), *extra])
