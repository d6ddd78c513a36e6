"""firsthour: escalation_repeat counts extra passes (PagerDuty's num_loops); runs take the agent's own run_id

Revision ID: 0100_firsthour
Revises: 0004_runs
Depends on: 0003_incidents

Before, `escalation_repeat` counted every pass (1 = run once, 1–10); now it counts the passes after the first
(0 = run once, 0–9), so stored values move down by one. Incidents keep their own copy of the total number of
passes (`chain_repeat`), which does not change meaning.
"""
import sqlalchemy as sa
from alembic import op

revision = '0100_firsthour'
down_revision = '0004_runs'
branch_labels = None
depends_on = ('0003_incidents',)


def upgrade() -> None:
    op.execute("UPDATE agents SET escalation_repeat = CASE WHEN escalation_repeat > 10 THEN 9 "
               "WHEN escalation_repeat > 0 THEN escalation_repeat - 1 ELSE 0 END")
    with op.batch_alter_table('runs') as batch:
        batch.add_column(sa.Column('run_id', sa.String(length=128), nullable=True))
    op.execute("UPDATE runs SET run_id = id")
    with op.batch_alter_table('runs') as batch:
        batch.alter_column('run_id', existing_type=sa.String(length=128), nullable=False)
        batch.create_index('uq_runs_agent_run_id', ['agent_id', 'run_id'], unique=True)
    with op.batch_alter_table('incidents') as batch:
        batch.alter_column('run_id', existing_type=sa.String(length=64), type_=sa.String(length=128),
                           existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('incidents') as batch:
        batch.alter_column('run_id', existing_type=sa.String(length=128), type_=sa.String(length=64),
                           existing_nullable=True)
    with op.batch_alter_table('runs') as batch:
        batch.drop_index('uq_runs_agent_run_id')
        batch.drop_column('run_id')
    op.execute("UPDATE agents SET escalation_repeat = escalation_repeat + 1")
