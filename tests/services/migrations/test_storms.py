"""The storms migration: incidents opened before it stand alone (storm_id NULL) and are read and grouped as usual."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, select

from services import migrations
from services.db import make_engine
from services.incidents.models import Incident, IncidentStorm
from tests.services.migrations.steps import migrated

OLD_INCIDENT = ("INSERT INTO incidents (id, agent_id, agent_name, kind, severity, summary, details, status, "
                "occurrences, chain, chain_repeat, step_index, round, cards, opened_by, created_at, updated_at, "
                "last_occurred_at) "
                "VALUES (:id, 1, 'quoter', 'error', 'high', 'old', '{}', 'triggered', 1, '[]', 1, 0, 0, '{}', "
                "'agent:quoter', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00')")


def test_incidents_from_before_storms_stand_alone_and_the_migration_goes_back(empty_db: str) -> None:
    engine = make_engine(empty_db)
    with migrated(engine, up="0003_incidents") as connection:  # the incidents table as the previous version wrote it
        for incident_id in (1, 2):
            connection.execute(text(OLD_INCIDENT), {"id": incident_id})
    migrations.upgrade(engine)
    with Session(engine) as session:
        assert [i.storm_id for i in session.exec(select(Incident).order_by(Incident.id)).all()] == [None, None]  # type: ignore[arg-type]
        assert session.exec(select(IncidentStorm)).all() == []
    with migrated(engine, down="0300_incident_storms@-1") as connection:
        columns = set(connection.execute(text("SELECT * FROM incidents LIMIT 1")).keys())
    assert "storm_id" not in columns
