"""The EPCIS event index: events and their anchors, the identifiers they name, capture jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-20

Frozen as written: later changes are new revisions, never edits of this one. Times are integer
microseconds since 1970-01-01 UTC (exact, ordered and indexed alike on every engine); strings
compared by prefix or listed in order use the "C" collation on PostgreSQL, so that their order
is the code point order SQLite uses and a prefix is one index range on both engines.

The documents and identifiers of an event reference it by ``seq`` without a foreign key: they are
written with it, in its transaction, and nothing is ever deleted; a foreign key would only add a
check per row (on PostgreSQL about three times the cost of a bulk insert).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY is the rowid
_KEY = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "epcis_events",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("event_type", _KEY, nullable=False),
        sa.Column("event_time", sa.BigInteger(), nullable=False),
        sa.Column("event_time_zone_offset", sa.Text(), nullable=False),
        sa.Column("record_time", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("biz_step", _KEY, nullable=True),
        sa.Column("disposition", _KEY, nullable=True),
        sa.Column("read_point", _KEY, nullable=True),
        sa.Column("biz_location", _KEY, nullable=True),
        sa.Column("anchor_status", sa.Text(), nullable=False),
        sa.Column("anchor_transaction", sa.Text(), nullable=True),
        sa.Column("anchor_block", sa.BigInteger(), nullable=True),
        sa.Column("anchor_content_hash", sa.Text(), nullable=True),
        sa.CheckConstraint("anchor_status IN ('pending', 'anchored', 'failed')", name="ck_epcis_events_anchor_status"),
    )
    op.create_index("uq_epcis_events_event_id", "epcis_events", ["event_id"], unique=True)
    op.create_index("ix_epcis_events_event_time", "epcis_events", ["event_time", "seq"])
    op.create_index("ix_epcis_events_record_time", "epcis_events", ["record_time", "seq"])
    for column in ("event_type", "biz_step", "disposition", "read_point", "biz_location"):
        op.create_index(f"ix_epcis_events_{column}", "epcis_events", [column, "event_time", "seq"])

    op.create_table(
        "epcis_event_documents",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=False),
        sa.Column("document", sa.Text(), nullable=False),
    )
    for table in ("epcis_event_epcs", "epcis_event_classes"):
        op.create_table(
            table,
            sa.Column("epc", _KEY, primary_key=True),
            sa.Column("role", sa.SmallInteger(), primary_key=True, autoincrement=False),
            sa.Column("event_seq", _SEQ, primary_key=True, autoincrement=False),
            sqlite_with_rowid=False,
        )
        op.create_index(f"ix_{table}_event_seq", table, ["event_seq"])

    op.create_table(
        "epcis_capture_jobs",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.CheckConstraint("status IN ('running', 'success', 'failed')", name="ck_epcis_capture_jobs_status"),
    )
    op.create_table(
        "epcis_capture_job_events",
        sa.Column("job_id", sa.Text(), sa.ForeignKey("epcis_capture_jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Text(), nullable=False),
    )

    meta = op.create_table(
        "epcis_meta",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    # The key page tokens are signed with: made once per database, so that every server on it
    # accepts the tokens any of them issued, and nobody else can make one.
    op.bulk_insert(meta, [{"key": "page_token_key", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    for table in (
        "epcis_meta",
        "epcis_capture_job_events",
        "epcis_capture_jobs",
        "epcis_event_classes",
        "epcis_event_epcs",
        "epcis_event_documents",
        "epcis_events",
    ):
        op.drop_table(table)
