"""Capture jobs remember their GS1-Capture-Error-Behaviour (``rollback`` or ``proceed``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

A capture job's answer (``GET /capture/{id}``) says how the job treats an event it cannot
capture, as the client asked when it posted the document: all or nothing (``rollback``, the
standard's default) or everything that can be captured (``proceed``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("epcis_capture_jobs") as batch:
        batch.add_column(sa.Column("error_behaviour", sa.Text(), nullable=False, server_default="rollback"))
        batch.create_check_constraint("ck_epcis_capture_jobs_error_behaviour", "error_behaviour IN ('rollback', 'proceed')")


def downgrade() -> None:
    with op.batch_alter_table("epcis_capture_jobs") as batch:
        batch.drop_constraint("ck_epcis_capture_jobs_error_behaviour", type_="check")
        batch.drop_column("error_behaviour")
