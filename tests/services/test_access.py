"""Who may see an agent: owner, backups, approvers by name or through a group, admins; nobody else."""

from __future__ import annotations

from services.access import Viewer, may_respond_to_incident, may_see, roles
from services.agents.models import Agent


def agent() -> Agent:
    return Agent(name="quoter", owner="U1OWNER", backup_owners=["U2BACKUP"], approvers=["U3ALICE"],
                 approver_groups=["S9LEADS"], api_key_hash="x", api_key_prefix="x", webhook_secret_enc="x")


def test_roles_name_each_part_a_person_has() -> None:
    """Each path to seeing an agent is named; a group counts only when the person is in it."""
    a = agent()
    assert roles(a, Viewer("U1OWNER")) == ["owner"]
    assert roles(a, Viewer("U2BACKUP")) == ["backup"]
    assert roles(a, Viewer("U3ALICE")) == ["approver"]
    assert roles(a, Viewer("U4CAROL", frozenset({"S9LEADS"}))) == ["approver"]
    assert roles(a, Viewer("U4CAROL", frozenset({"S8OTHER"}))) == []
    assert roles(a, Viewer("U5ADMIN", admin=True)) == ["admin"]


def test_strangers_see_nothing_and_may_not_respond() -> None:
    """No part, no sight, no incident buttons."""
    assert not may_see(agent(), Viewer("U6STRANGER"))
    assert not may_respond_to_incident(agent(), Viewer("U6STRANGER"))
    assert may_respond_to_incident(agent(), Viewer("U2BACKUP"))
