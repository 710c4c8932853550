"""The EPCIS repository's event index: captured events with their chain anchors, and capture jobs,
kept in SQLite (a file, the default) or PostgreSQL, and queried with EPCIS 2.0's own parameters.

Why a database and not the content store's files: a partner's system asks "every event of this
EPC", "every shipping event last week", page after page, among millions of events; that is an
index's work. The schema belongs to Alembic migrations shipped in this package
(``o2ochain/serve/migrations``): :meth:`EventRepository.open` upgrades the database to the newest
revision, so a server never runs on a schema older than its code.

What is stored, per event:

- the event exactly as captured (its JSON object, extensions included) and its ``eventID``: the
  one the event carries, or the CBV 2.0 hash id the caller computed. The id is unique: storing
  an event whose id is already stored changes nothing (an event is captured once, however many
  documents carry it);
- what the standard queries filter on: type, ``eventTime`` (and its zone offset), ``recordTime``,
  ``action``, ``bizStep`` and ``disposition`` (CBV URIs of any spelling stored as their CBV 2.0
  short name, so ``urn:epcglobal:cbv:bizstep:shipping`` and ``shipping`` are one value),
  ``readPoint`` and ``bizLocation``;
- every identifier the event names, with its role: ``epcList`` and ``childEPCs`` (``MATCH_epc``),
  ``parentID``, ``inputEPCList``, ``outputEPCList``, and the classes of the quantity lists;
- its chain anchor (:class:`Anchor`): pending, anchored (transaction, block, anchored content
  hash) or failed. Queries and discovery lists see anchored events only, so that every event
  a partner reads back carries the proof it was sent to the chain; :meth:`EventRepository.event`
  reads one event in any state (a capture job's own view).

Queries (:meth:`EventRepository.query`) take the REST binding's query parameters as they come
from a URL (``EQ_bizStep=shipping|receiving``) and answer one page: keyset pagination in a total
order (``orderBy`` / ``orderDirection`` as the standard says; without ``orderBy``, which leaves
the order open, ``eventTime`` ascending, or ``recordTime`` ascending for a query bounded by
``recordTime`` alone, a poll for what is new), so that pages neither repeat nor skip an event
that was stored before the first page, while others are captured. A ``nextPageToken`` is
opaque, signed with a key kept in the database (so any server on it accepts it, and nobody can
forge one), bound to the query it continues, and never expires. Every problem with the
parameters is an :class:`~o2ochain.errors.InputError` whose ``field`` is the parameter (the
standard's ``QueryParameterException``): an unknown parameter, a standard one this repository
does not implement, a malformed value or token.

``MATCH_*`` values are URIs compared as given, or EPC pure identity patterns
(``urn:epc:idpat:sgtin:0614141.112345.*``, trailing fields ``*``, as in the EPC Tag Data
Standard and EPCIS 2.0 section 8.2.7.1.1): such a pattern matches every instance identifier
under it (``urn:epc:id:sgtin:0614141.112345.400``) and, for classes, the patterns and lots
under it (``urn:epc:idpat:sgtin:0614141.112345.*``, ``urn:epc:class:lgtin:0614141.112345.L1``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, get_args

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from o2ochain.epcis import biz_step_name, disposition_name, parse_time
from o2ochain.errors import ConfigError, InputError

AnchorStatus = Literal["pending", "anchored", "failed"]
JobStatus = Literal["running", "success", "failed"]
ErrorBehaviour = Literal["rollback", "proceed"]
DiscoveryList = Literal["eventTypes", "bizSteps", "dispositions", "readPoints", "bizLocations", "epcs"]

DEFAULT_PER_PAGE: Final = 30
"""Events (or values) per page when ``perPage`` is not given: the REST binding's default."""
MAX_PER_PAGE: Final = 1000
"""The most a page holds whatever ``perPage`` asks (the binding lets a server set such a cap)."""
_BATCH: Final = 2000
"""Rows per UPDATE batch of :meth:`EventRepository.set_anchors`."""

# --------------------------------------------------------------------------------------------
# Tables (as the migrations in ./migrations create them; a test checks the two agree)

_metadata = sa.MetaData()
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEY = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")

_events = sa.Table(
    "epcis_events",
    _metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Text(), nullable=False),
    sa.Column("event_type", _KEY, nullable=False),
    sa.Column("event_time", sa.BigInteger(), nullable=False),
    sa.Column("event_time_zone_offset", sa.Text(), nullable=False),
    sa.Column("record_time", sa.BigInteger(), nullable=False),
    sa.Column("action", sa.Text()),
    sa.Column("biz_step", _KEY),
    sa.Column("disposition", _KEY),
    sa.Column("read_point", _KEY),
    sa.Column("biz_location", _KEY),
    sa.Column("anchor_status", sa.Text(), nullable=False),
    sa.Column("anchor_transaction", sa.Text()),
    sa.Column("anchor_block", sa.BigInteger()),
    sa.Column("anchor_content_hash", sa.Text()),
    sa.CheckConstraint("anchor_status IN ('pending', 'anchored', 'failed')", name="ck_epcis_events_anchor_status"),
    sa.Index("uq_epcis_events_event_id", "event_id", unique=True),
    sa.Index("ix_epcis_events_event_time", "event_time", "seq"),
    sa.Index("ix_epcis_events_record_time", "record_time", "seq"),
    *(
        sa.Index(f"ix_epcis_events_{c}", c, "event_time", "seq")
        for c in ("event_type", "biz_step", "disposition", "read_point", "biz_location")
    ),
)
_documents = sa.Table(
    "epcis_event_documents",
    _metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=False),
    sa.Column("document", sa.Text(), nullable=False),
)


def _identifier_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        _metadata,
        sa.Column("epc", _KEY, primary_key=True),
        sa.Column("role", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("event_seq", _SEQ, primary_key=True, autoincrement=False),
        sa.Index(f"ix_{name}_event_seq", "event_seq"),
        sqlite_with_rowid=False,
    )


_epcs = _identifier_table("epcis_event_epcs")  # instances: epcList / childEPCs, parentID, inputs, outputs
_classes = _identifier_table("epcis_event_classes")  # classes of quantityList / childQuantityList, inputs, outputs
_jobs = sa.Table(
    "epcis_capture_jobs",
    _metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("created", sa.BigInteger(), nullable=False),
    sa.Column("finished", sa.BigInteger()),
    sa.Column("errors", sa.Text(), nullable=False),
    sa.Column("error_behaviour", sa.Text(), nullable=False, server_default="rollback"),
    sa.CheckConstraint("status IN ('running', 'success', 'failed')", name="ck_epcis_capture_jobs_status"),
    sa.CheckConstraint("error_behaviour IN ('rollback', 'proceed')", name="ck_epcis_capture_jobs_error_behaviour"),
)
_job_events = sa.Table(
    "epcis_capture_job_events",
    _metadata,
    sa.Column("job_id", sa.Text(), sa.ForeignKey("epcis_capture_jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.Text(), nullable=False),
)
_meta = sa.Table(
    "epcis_meta",
    _metadata,
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

# Roles of an identifier in an event (small integers: they are in every identifier row).
_EPC, _PARENT, _INPUT, _OUTPUT = 1, 2, 3, 4  # in epcis_event_epcs
_QUANTITY, _INPUT_QUANTITY, _OUTPUT_QUANTITY = 1, 2, 3  # in epcis_event_classes
_INSTANCE_FIELDS: Final = (
    ("epcList", _EPC),
    ("childEPCs", _EPC),
    ("parentID", _PARENT),
    ("inputEPCList", _INPUT),
    ("outputEPCList", _OUTPUT),
)
_CLASS_FIELDS: Final = (
    ("quantityList", _QUANTITY),
    ("childQuantityList", _QUANTITY),
    ("inputQuantityList", _INPUT_QUANTITY),
    ("outputQuantityList", _OUTPUT_QUANTITY),
)
#: ``MATCH_*`` parameter -> (whether it names classes, the roles it looks in).
_MATCH: Final[Mapping[str, tuple[bool, tuple[int, ...]]]] = {
    "MATCH_epc": (False, (_EPC,)),
    "MATCH_parentID": (False, (_PARENT,)),
    "MATCH_inputEPC": (False, (_INPUT,)),
    "MATCH_outputEPC": (False, (_OUTPUT,)),
    "MATCH_anyEPC": (False, (_EPC, _PARENT, _INPUT, _OUTPUT)),
    "MATCH_epcClass": (True, (_QUANTITY,)),
    "MATCH_inputEPCClass": (True, (_INPUT_QUANTITY,)),
    "MATCH_outputEPCClass": (True, (_OUTPUT_QUANTITY,)),
    "MATCH_anyEPCClass": (True, (_QUANTITY, _INPUT_QUANTITY, _OUTPUT_QUANTITY)),
}
_ACTIONS: Final = ("ADD", "OBSERVE", "DELETE")

# --------------------------------------------------------------------------------------------
# Values

_ANCHOR_STATUSES: Final = frozenset(get_args(AnchorStatus))


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where an event stands on chain: ``pending`` until its batch is mined, then ``anchored``
    with the transaction, block and the content hash the ledger holds, or ``failed``."""

    status: AnchorStatus = "pending"
    transaction: str | None = None
    block: int | None = None
    content_hash: str | None = None

    def __post_init__(self) -> None:
        if self.status not in _ANCHOR_STATUSES:
            raise InputError(f"{self.status!r} is not an anchor status (pending, anchored, failed)", field="status", value=self.status)
        if self.status == "anchored" and (self.transaction is None or self.block is None):
            raise InputError("an anchored event needs the transaction and block that anchored it", field="anchor")


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to store: its ``eventID`` (the event's own, or its CBV 2.0 hash id, which the
    caller computes), the event's JSON object as captured, when the repository received it
    (now when ``None``) and its anchor (pending unless the caller already knows better)."""

    event_id: str
    event: Mapping[str, Any]
    record_time: datetime | None = None
    anchor: Anchor = field(default_factory=Anchor)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A stored event: its id, the JSON text of the event as captured (``event`` reads it), when
    it was recorded, its anchor. The text is kept so that a server can send it on unparsed."""

    event_id: str
    document: str
    record_time: datetime
    anchor: Anchor

    @property
    def event(self) -> dict[str, Any]:
        """The event's JSON object as captured."""
        event: dict[str, Any] = json.loads(self.document)
        return event


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of a query's events; ``next_page_token`` is ``None`` on the last page."""

    events: list[StoredEvent]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class ValuePage:
    """One page of a discovery list (``bizSteps``, ``epcs`` …), in code point order."""

    values: list[str]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class CaptureJob:
    """A capture job as ``GET /capture/{id}`` shows it: its status, when it started and ended,
    the errors of the events it refused, and the ids of the events it captured, in order
    (an event already stored by an earlier capture is listed too: it is captured, once)."""

    id: str
    status: JobStatus
    created: datetime
    finished: datetime | None
    errors: list[dict[str, Any]]
    event_ids: list[str]
    error_behaviour: ErrorBehaviour = "rollback"


# --------------------------------------------------------------------------------------------
# The repository


def repository_url(default_path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> str:
    """Where the index lives: ``$DATABASE_URL`` when set (PostgreSQL, or any SQLite URL), else the
    SQLite file ``default_path`` (next to the content store, say)."""
    url = (os.environ if environ is None else environ).get("DATABASE_URL", "").strip()
    return url or os.fspath(default_path)


class EventRepository:
    """The event index of one database. Open it with :meth:`open`; close it (or use ``with``).

    Safe to share between threads: each call takes a connection from the engine's pool.
    """

    def __init__(self, engine: sa.Engine) -> None:
        """Wrap an engine whose database is already at the newest revision (see :meth:`open`)."""
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._writer = engine.execution_options(o2ochain_write=True)
        self._reader = engine.execution_options(o2ochain_read=True)  # see _on_begin
        with engine.connect() as connection:
            key = connection.execute(sa.select(_meta.c.value).where(_meta.c.key == "page_token_key")).scalar_one()
        self._token_key = bytes.fromhex(key)
        # Counts the plan is chosen from (see _choose), kept a few seconds: under load the same
        # broad conditions come back many times a second, and counting them cost more than the page.
        self._counts: dict[_Term | None, tuple[float, int]] = {}
        self._analysed_at = 0  # the newest event's seq when the planner's statistics were last refreshed
        self._refresh_statistics_if_grown()

    @classmethod
    def open(cls, target: str | os.PathLike[str]) -> EventRepository:
        """Open the index at ``target`` (a SQLite file path, a SQLAlchemy URL, or a
        ``postgresql://`` URL as ``DATABASE_URL`` gives it), creating or upgrading its schema."""
        engine = _create_engine(_database_url(target))
        try:
            _upgrade(engine)
            return cls(engine)
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> EventRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The database's URL, password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def secret_url(self) -> str:
        """The database's URL with its password, for another process of ours that opens this
        repository (the capture process, told over a pipe): never to be printed or logged."""
        return self._engine.url.render_as_string(hide_password=False)

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """A write transaction (on SQLite ``BEGIN IMMEDIATE``: it takes the write lock at once, so
        two writers queue instead of one failing when it upgrades a read lock)."""
        with self._writer.begin() as connection:
            yield connection

    def optimize(self) -> None:
        """Refresh PostgreSQL's statistics of the index (after a bulk load, say); the repository
        does it by itself whenever the number of events has doubled. On SQLite it does nothing:
        the repository chooses each query's plan from counts (see ``_choose``), and SQLite's
        sampled statistics would only mislead its planner in what is left to it."""
        if not self._postgres:
            return
        with self._writer.begin() as connection:
            connection.execute(sa.text("ANALYZE epcis_events, epcis_event_epcs, epcis_event_classes"))
            self._analysed_at = connection.execute(sa.select(sa.func.max(_events.c.seq))).scalar_one() or 0

    def _refresh_statistics_if_grown(self, newest: int | None = None) -> None:
        if not self._postgres:
            return
        if newest is None:
            with self._engine.connect() as connection:
                newest = connection.execute(sa.select(sa.func.max(_events.c.seq))).scalar_one() or 0
        if newest >= max(2 * self._analysed_at, 1000):
            self.optimize()

    # ---------------------------------------------------------------------------------------
    # Capture

    def start_job(self, job_id: str | None = None, *, error_behaviour: ErrorBehaviour = "rollback") -> str:
        """Record a new running capture job and return its id (a fresh UUID unless given).
        ``error_behaviour`` is how it treats events it cannot capture (GS1-Capture-Error-Behaviour)."""
        if error_behaviour not in get_args(ErrorBehaviour):
            raise InputError(
                f"{error_behaviour!r} is not a capture error behaviour (rollback, proceed)", field="GS1-Capture-Error-Behaviour"
            )
        job_id = job_id or uuid.uuid4().hex
        with self._write() as connection:
            connection.execute(
                sa.insert(_jobs).values(id=job_id, status="running", created=_micros(_now()), errors="[]", error_behaviour=error_behaviour)
            )
        return job_id

    def add_events(self, events: Sequence[NewEvent], *, job_id: str | None = None) -> list[bool]:
        """Store ``events`` (in one transaction) and list them under ``job_id`` when given.

        Returns, for each event, whether this call stored it: ``False`` when its id was already
        stored (by an earlier capture, or earlier in ``events``), which then keeps its first copy.
        Raises :class:`~o2ochain.errors.InputError` (nothing stored) when an event lacks what the
        index needs: a ``type``, an RFC 3339 ``eventTime``, an ``eventID`` that agrees with
        ``event_id``.
        """
        now = _now()
        rows: dict[str, dict[str, Any]] = {}
        identifiers: dict[str, tuple[list[tuple[str, int]], list[tuple[str, int]]]] = {}
        documents: dict[str, str] = {}
        for index, new in enumerate(events):
            where = f"events[{index}]"
            if new.event_id in rows:
                continue
            row, instances, classes = _index_fields(new, now, where)
            try:
                documents[new.event_id] = json.dumps(new.event, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise InputError(f"the event is not JSON: {exc}", field=where) from None
            rows[new.event_id] = row
            identifiers[new.event_id] = (instances, classes)
        with self._write() as connection:
            stored = self._insert_events(connection, list(rows.values()))
            seqs = sorted(stored.items(), key=lambda pair: pair[1])
            _insert_many(connection, _documents, ("seq", "document"), [(seq, documents[eid]) for eid, seq in seqs])
            for table, which in ((_epcs, 0), (_classes, 1)):
                named = [(epc, role, seq) for eid, seq in seqs for epc, role in identifiers[eid][which]]
                _insert_many(connection, table, ("epc", "role", "event_seq"), named)
            if job_id is not None:
                status = connection.execute(sa.select(_jobs.c.status).where(_jobs.c.id == job_id)).scalar_one_or_none()
                if status != "running":
                    raise InputError(f"capture job {job_id} is {'unknown' if status is None else status}, not running", field="job_id")
                first = connection.execute(sa.select(sa.func.count()).where(_job_events.c.job_id == job_id)).scalar_one()
                links = [(job_id, first + n, new.event_id) for n, new in enumerate(events)]
                _insert_many(connection, _job_events, ("job_id", "position", "event_id"), links)
        self._refresh_statistics_if_grown(max(stored.values(), default=0))
        claimed: set[str] = set()
        result: list[bool] = []
        for new in events:
            result.append(new.event_id in stored and new.event_id not in claimed)
            claimed.add(new.event_id)
        return result

    def _insert_events(self, connection: sa.Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert the rows whose ``event_id`` is not stored yet; ``{event_id: seq}`` of those."""
        columns = [c.name for c in _events.columns if c.name != "seq"]
        if self._postgres:
            conflict = " ON CONFLICT (event_id) DO NOTHING RETURNING event_id, seq"
            return dict(_insert_many(connection, _events, columns, [tuple(r[c] for c in columns) for r in rows], suffix=conflict))
        # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE), so what is stored
        # cannot change between looking and inserting, and the seqs can be given here.
        ids = [r["event_id"] for r in rows]
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            known.update(
                connection.execute(sa.select(_events.c.event_id).where(_events.c.event_id.in_(ids[start : start + 500]))).scalars()
            )
        first = (connection.execute(sa.select(sa.func.max(_events.c.seq))).scalar_one() or 0) + 1
        new = [r for r in rows if r["event_id"] not in known]
        _insert_many(connection, _events, ["seq", *columns], [(first + n, *(r[c] for c in columns)) for n, r in enumerate(new)])
        return {r["event_id"]: first + n for n, r in enumerate(new)}

    def set_anchors(self, anchors: Mapping[str, Anchor], *, moved: bool = False) -> None:
        """Record the anchor of each event (by id). An event already anchored keeps its anchor:
        a later capture of the same event sends nothing, and an anchor is a fact of the chain;
        unless the anchors ``moved``: the node lost the block of the old one and the event was
        sent again."""
        if not anchors:
            return
        where = [_events.c.event_id == sa.bindparam("b_event_id")]
        if not moved:
            where.append(_events.c.anchor_status != "anchored")
        statement = (
            sa.update(_events)
            .where(*where)
            .values(
                anchor_status=sa.bindparam("b_status"),
                anchor_transaction=sa.bindparam("b_transaction"),
                anchor_block=sa.bindparam("b_block"),
                anchor_content_hash=sa.bindparam("b_content_hash"),
            )
        )
        rows = [
            {"b_event_id": eid, "b_status": a.status, "b_transaction": a.transaction, "b_block": a.block, "b_content_hash": a.content_hash}
            for eid, a in anchors.items()
        ]
        with self._write() as connection:
            for start in range(0, len(rows), _BATCH):
                connection.execute(statement, rows[start : start + _BATCH])

    def finish_job(self, job_id: str, status: Literal["success", "failed"], errors: Sequence[Mapping[str, Any]] = ()) -> None:
        """Close a running capture job with its outcome and the errors of the events it refused
        (each a JSON object, e.g. ``{"eventID": …, "field": …, "message": …}``)."""
        if status not in ("success", "failed"):
            raise InputError(f"{status!r} is not how a capture job ends (success, failed)", field="status", value=status)
        with self._write() as connection:
            done = connection.execute(
                sa.update(_jobs)
                .where(_jobs.c.id == job_id, _jobs.c.status == "running")
                .values(status=status, finished=_micros(_now()), errors=json.dumps(list(map(dict, errors)), ensure_ascii=False))
            )
            if done.rowcount != 1:
                raise InputError(f"capture job {job_id} is unknown or already finished", field="job_id", value=job_id)

    def job(self, job_id: str) -> CaptureJob | None:
        """The capture job ``job_id``, or ``None`` if there is none."""
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(_jobs).where(_jobs.c.id == job_id)).one_or_none()
            if row is None:
                return None
            ids = connection.execute(
                sa.select(_job_events.c.event_id).where(_job_events.c.job_id == job_id).order_by(_job_events.c.position)
            ).scalars()
            return CaptureJob(
                id=row.id,
                status=row.status,
                created=_datetime(row.created),
                finished=None if row.finished is None else _datetime(row.finished),
                errors=json.loads(row.errors),
                event_ids=list(ids),
                error_behaviour=row.error_behaviour,
            )

    def jobs(self, *, per_page: int | str | None = None, next_page_token: str | None = None) -> tuple[list[CaptureJob], str | None]:
        """One page of the capture jobs, newest first, and the token of the next page (or ``None``)."""
        size = _per_page(per_page)
        after, _ = self._open_token(next_page_token, "jobs", "jobs")
        statement = sa.select(_jobs.c.id, _jobs.c.created).order_by(_jobs.c.created.desc(), _jobs.c.id.desc()).limit(size + 1)
        if after is not None:
            statement = statement.where(sa.tuple_(_jobs.c.created, _jobs.c.id) < sa.tuple_(after[0], after[1]))
        with self._engine.connect() as connection:
            rows = connection.execute(statement).all()
        found = [job for row in rows[:size] if (job := self.job(row.id)) is not None]
        token = None
        if len(rows) > size:
            last = rows[size - 1]
            token = self._issue_token({"kind": "jobs", "query": "jobs", "after": [last.created, last.id]})
        return found, token

    def abandon_running_jobs(self, reason: str) -> list[str]:
        """Fail every job still ``running`` (a server stopped in the middle of them), with
        ``reason`` as their error; returns their ids. Their events that did reach the chain keep
        their anchors, and capturing the same document again finishes the rest exactly once."""
        with self._write() as connection:
            ids = list(connection.execute(sa.select(_jobs.c.id).where(_jobs.c.status == "running")).scalars())
        for job_id in ids:
            self.finish_job(job_id, "failed", [{"title": "capture interrupted", "detail": reason}])
        return ids

    # ---------------------------------------------------------------------------------------
    # Reading

    def events(self, event_ids: Sequence[str]) -> dict[str, StoredEvent]:
        """The stored events among ``event_ids`` (in any anchor state), by id."""
        found: dict[str, StoredEvent] = {}
        unique = list(dict.fromkeys(event_ids))
        with self._reader.connect() as connection:
            for start in range(0, len(unique), 500):
                sql = _Sql(self._postgres)
                statement = f"{_WITH_DOCUMENT} WHERE epcis_events.event_id IN ({sql.values(unique[start : start + 500])})"
                found.update(
                    (stored.event_id, stored) for stored in map(_stored_event, _fetch(connection, statement, tuple(sql.parameters)))
                )
        return found

    def event(self, event_id: str) -> StoredEvent | None:
        """The event ``event_id`` in whatever state its anchor is, or ``None``."""
        sql = _Sql(self._postgres)
        statement = f"{_WITH_DOCUMENT} WHERE epcis_events.event_id = {sql.value(event_id)}"
        with self._reader.connect() as connection:
            rows = _fetch(connection, statement, tuple(sql.parameters))
        return _stored_event(rows[0]) if rows else None

    def query(self, parameters: Mapping[str, str | Sequence[str]]) -> EventPage:
        """One page of the anchored events that match EPCIS 2.0 query ``parameters``.

        ``parameters`` are as a URL carries them: a list parameter's value is one string of
        ``|``-separated values (the binding's ``pipeDelimited`` style) or a sequence of values.
        Implemented: ``eventType``, ``EQ_eventID``, ``EQ_action``, ``EQ_bizStep``,
        ``EQ_disposition``, ``EQ_readPoint``, ``EQ_bizLocation``, ``GE_eventTime``,
        ``LT_eventTime``, ``GE_recordTime``, ``LT_recordTime``, every ``MATCH_*`` of the standard,
        ``orderBy`` (``eventTime``, ``recordTime``), ``orderDirection``, ``eventCountLimit``,
        ``perPage`` and ``nextPageToken``. Anything else raises :class:`~o2ochain.errors.InputError`
        naming the parameter, as does a malformed value or token.
        """
        plan = _plan(parameters)
        after, returned = self._open_token(plan.token, plan.digest, "events")
        size = plan.per_page if plan.count_limit is None else min(plan.per_page, plan.count_limit - returned)
        with self._reader.connect() as connection:
            rows = _fetch(connection, *self._page_statement(connection, plan, after, size)) if size > 0 else []
        page = [_stored_event(row) for row in rows[:size]]
        more = len(rows) > size and (plan.count_limit is None or returned + size < plan.count_limit)
        token = None
        if more:
            last = rows[size - 1]
            position = [last[2] if plan.order_by == "event_time" else last[3], last[0]]
            token = self._issue_token({"kind": "events", "query": plan.digest, "after": position, "returned": returned + size})
        return EventPage(page, token)

    def _page_statement(self, connection: sa.Connection, plan: _Plan, after: Any, size: int) -> tuple[str, tuple[Any, ...]]:
        """The SELECT of one page and its parameters: the plan's conditions, after the token's
        position, in order; its rows are :data:`_STORED_COLUMNS` and the document.

        The plan is chosen here from counts (:func:`_choose`) where the engine cannot choose well.
        SQLite's planner knows nothing of ranges: the condition that selects fewest rows drives
        the query and the others are written so that no index serves them; when none selects
        few, the events are read in order (through the index of the equality with one value that
        selects fewest, when there is one) until the page is full. PostgreSQL's statistics serve
        it well but for a prefix of identifiers (a product's every item), which it misjudges by
        orders of magnitude and then reads thousands of events at random rather than a few
        thousand in order: there only a condition on identifiers that does not select few is
        kept from driving the query.
        """
        choice = _choose(plan, functools.partial(self._count, connection), identifiers_only=self._postgres)
        driver = choice.driver
        ordered = driver is None or (driver.kind == "equal" and len(driver.values) == 1 and plan.order_by == "event_time")

        def indexed(term: _Term) -> bool:
            if term is driver or term is choice.ordered:
                return True
            if self._postgres:  # its statistics serve it well but for identifiers' prefixes
                return term.kind != "match"
            if term.kind == "time" and term.column == plan.order_by:  # the ordered scan's range
                return ordered or (driver is not None and driver.kind == "equal")  # (column, event_time) indexes
            return False

        sql = _Sql(self._postgres)
        conditions = ["epcis_events.anchor_status = 'anchored'", *(term.condition(sql, indexed=indexed(term)) for term in plan.terms)]
        key, seq = f"epcis_events.{plan.order_by}", "epcis_events.seq"
        if not ordered and not self._postgres:
            key, seq = f"{key} + 0", f"{seq} + 0"  # sorted after reading the driver's rows
        if after is not None:
            conditions.append(f"({key}, {seq}) {'<' if plan.descending else '>'} ({sql.values(after)})")
        direction = " DESC" if plan.descending else ""
        columns = ", ".join(f"epcis_events.{name}" for name in _STORED_COLUMNS)
        page = (
            f"SELECT {columns} FROM epcis_events WHERE {' AND '.join(conditions)} "
            f"ORDER BY {key}{direction}, {seq}{direction} LIMIT {sql.value(size + 1)}"
        )
        # The documents of the page's rows only, in the same statement: joined to the page once it
        # is cut (joined before, a sorted plan would read the document of every row it sorts).
        statement = (
            f"SELECT {', '.join(f'page.{name}' for name in _STORED_COLUMNS)}, d.document FROM ({page}) AS page "
            f"JOIN epcis_event_documents d ON d.seq = page.seq ORDER BY page.{plan.order_by}{direction}, page.seq{direction}"
        )
        return statement, tuple(sql.parameters)

    def _count(self, connection: sa.Connection, term: _Term | None) -> int:
        """How many rows ``term`` selects, up to :data:`_ORDER_PROBE` (``None``: how many events
        there are, about); a count of :data:`_KEPT_COUNT` or more is kept :data:`_COUNT_SECONDS`.
        A count a little behind what is stored only ever changes a plan, never an answer."""
        now = time.monotonic()
        kept = self._counts.get(term)
        if kept is not None and now - kept[0] < _COUNT_SECONDS:
            return kept[1]
        sql = _Sql(self._postgres)
        if term is None:
            statement = "SELECT max(seq) FROM epcis_events"
        else:
            statement = f"SELECT count(*) FROM ({term.rows(sql)} LIMIT {sql.value(_ORDER_PROBE)}) AS probe"
        count = int(_fetch(connection, statement, tuple(sql.parameters))[0][0] or 0)
        if count >= _KEPT_COUNT or term is None:
            if len(self._counts) >= _KEPT_COUNTS:
                self._counts.clear()
            self._counts[term] = (now, count)
        return count

    def values(self, name: DiscoveryList, *, per_page: int | str | None = None, next_page_token: str | None = None) -> ValuePage:
        """One page of a discovery list of the REST binding: the distinct ``eventTypes``,
        ``bizSteps``, ``dispositions``, ``readPoints``, ``bizLocations`` or ``epcs`` (the
        instance identifiers: ``epcList``, ``childEPCs``, ``parentID``, inputs and outputs) of
        the anchored events, in code point order."""
        if name not in _DISCOVERY:
            raise InputError(f"{name!r} is not a discovery list ({', '.join(_DISCOVERY)})", field="name", value=name)
        size = _per_page(per_page)
        after, _ = self._open_token(next_page_token, name, "values")
        table, column = _DISCOVERY[name]
        seq = "seq" if table == "epcis_events" else "event_seq"
        anchored = (
            "anchor_status = 'anchored'"
            if table == "epcis_events"
            else f"EXISTS (SELECT 1 FROM epcis_events e WHERE e.seq = x.{seq} AND e.anchor_status = 'anchored')"
        )
        # A loose index scan: one index probe per distinct value, not a scan of every row.
        step = f"SELECT x.{column} FROM {table} x WHERE x.{column} > {{after}} AND {anchored} ORDER BY x.{column} LIMIT 1"
        sql = sa.text(
            f"WITH RECURSIVE walk(v, n) AS ("
            f"SELECT ({step.format(after=':after')}), 1 "
            f"UNION ALL SELECT ({step.format(after='walk.v')}), walk.n + 1 FROM walk WHERE walk.v IS NOT NULL AND walk.n <= :size"
            f") SELECT v FROM walk WHERE v IS NOT NULL ORDER BY n"
        )
        with self._engine.connect() as connection:
            found = [str(v) for v in connection.execute(sql, {"after": "" if after is None else after, "size": size}).scalars()]
        token = self._issue_token({"kind": "values", "query": name, "after": found[size - 1]}) if len(found) > size else None
        return ValuePage(found[:size], token)

    # ---------------------------------------------------------------------------------------
    # Page tokens

    def _issue_token(self, payload: Mapping[str, Any]) -> str:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._token_key, body, hashlib.sha256).digest()[:18]
        return f"{_b64(body)}.{_b64(mac)}"

    def _open_token(self, token: str | None, query: str, kind: str) -> tuple[Any, int]:
        """``(after, returned)`` from a token this repository issued for ``query``; ``(None, 0)``
        without a token."""
        if token is None:
            return None, 0
        body_text, _, mac_text = token.partition(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
            expected = hmac.new(self._token_key, body, hashlib.sha256).digest()[:18]
            payload = json.loads(body) if hmac.compare_digest(mac, expected) else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or payload.get("kind") != kind:
            raise InputError(
                "is not a page token this repository issued (it is malformed or was altered); "
                "follow the next-page link of the previous answer, or ask for the first page without it",
                field="nextPageToken",
                value=token,
            )
        if payload.get("query") != query:
            raise InputError(
                "continues a different query: send the same parameters as for the first page (only perPage may change)",
                field="nextPageToken",
                value=token,
            )
        return payload["after"], int(payload.get("returned", 0))


# --------------------------------------------------------------------------------------------
# Opening


def _database_url(target: str | os.PathLike[str]) -> sa.URL:
    text = os.fspath(target)
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return sa.URL.create("sqlite", database=str(path))
    scheme, _, rest = text.partition("://")
    if scheme in ("postgres", "postgresql"):
        text = f"postgresql+psycopg://{rest}"
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError:
        raise ConfigError(f"{scheme}://… is not a database URL SQLAlchemy reads") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"the EPCIS index runs on SQLite or PostgreSQL, not {url.get_backend_name()} ({url.render_as_string(hide_password=True)})"
        )
    return url


def _create_engine(url: sa.URL) -> sa.Engine:
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True)
    # A server's request threads (40 by default) each read with a connection of their own: SQLite
    # (WAL) serves readers side by side, and a pool of 5 made them queue for connections. All 40
    # stay open (a connection beyond the pool is closed when returned, and opening one again
    # costs its pragmas and a cold page cache); the overflow is for the capture workers.
    engine = sa.create_engine(url, pool_size=40, max_overflow=24)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is off: transactions begin in _on_begin below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "busy_timeout = 30000", "foreign_keys = ON", "cache_size = -65536"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        options = connection.get_execution_options()
        if options.get("o2ochain_read", False):
            return  # reads whose statements each stand alone: each is a read transaction of its own
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("o2ochain_write", False) else "BEGIN")

    return engine


def _upgrade(engine: sa.Engine) -> None:
    """Bring the database to the newest migration, in one transaction; servers starting together
    take turns (PostgreSQL: an advisory lock; SQLite: the write lock)."""
    config = Config()
    config.set_main_option("script_location", "o2ochain.serve:migrations")
    with engine.execution_options(o2ochain_write=True).begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


_MIGRATION_LOCK: Final = int.from_bytes(hashlib.sha256(b"o2ochain epcis index migrations").digest()[:8], "big", signed=True)


# --------------------------------------------------------------------------------------------
# Storing


def _now() -> datetime:
    return datetime.now(UTC)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(0, 0, micros)


def _vocabulary(value: Any, normalise: Any, where: str) -> str | None:
    """A CBV value as stored and queried: its CBV 2.0 short name, else as given."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"is {type(value).__name__}, not a string", field=where, value=value)
    try:
        return str(normalise(value))
    except InputError:
        return value


def _uris(value: Any) -> list[str]:
    """The URIs of a JSON-LD field that holds one or a list (a lone value is a list of one)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _location(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _index_fields(new: NewEvent, now: datetime, where: str) -> tuple[dict[str, Any], list[tuple[str, int]], list[tuple[str, int]]]:
    """The row of ``new`` in ``epcis_events`` and the (identifier, role) pairs it names."""
    event = new.event
    if not isinstance(event, Mapping):
        raise InputError("is not a JSON object", field=where)
    if not isinstance(new.event_id, str) or not new.event_id:
        raise InputError("needs an eventID (the event's own or its CBV 2.0 hash id)", field=where)
    own_id = event.get("eventID")
    if own_id is not None and own_id != new.event_id:
        raise InputError(f"carries eventID {own_id!r} but is stored as {new.event_id!r}", field=f"{where}.eventID")
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise InputError("has no type (ObjectEvent, AggregationEvent …)", field=f"{where}.type")
    event_time = parse_time(event.get("eventTime"), field=f"{where}.eventTime")  # type: ignore[arg-type]
    offset = event.get("eventTimeZoneOffset")
    if not isinstance(offset, str):
        offset = event_time.isoformat()[-6:]
    action = event.get("action")
    if action is not None and action not in _ACTIONS:
        raise InputError(f"{action!r} is not an EPCIS action (ADD, OBSERVE, DELETE)", field=f"{where}.action")
    record_time = new.record_time or now
    if record_time.tzinfo is None:
        raise InputError("the record time needs a time zone (an aware datetime)", field=f"{where}.record_time")
    anchor = new.anchor
    row = {
        "event_id": new.event_id,
        "event_type": event_type,
        "event_time": _micros(event_time),
        "event_time_zone_offset": offset,
        "record_time": _micros(record_time),
        "action": action,
        "biz_step": _vocabulary(event.get("bizStep"), biz_step_name, f"{where}.bizStep"),
        "disposition": _vocabulary(event.get("disposition"), disposition_name, f"{where}.disposition"),
        "read_point": _location(event.get("readPoint")),
        "biz_location": _location(event.get("bizLocation")),
        "anchor_status": anchor.status,
        "anchor_transaction": anchor.transaction,
        "anchor_block": anchor.block,
        "anchor_content_hash": anchor.content_hash,
    }
    instances = list(dict.fromkeys((uri, role) for name, role in _INSTANCE_FIELDS for uri in _uris(event.get(name))))
    class_uris = [
        (item.get("epcClass"), role) for name, role in _CLASS_FIELDS for item in _list(event.get(name)) if isinstance(item, Mapping)
    ]
    class_uris.append((event.get("epcClass"), _QUANTITY))  # EPCIS 1.x QuantityEvent
    classes = list(dict.fromkeys((uri, role) for uri, role in class_uris if isinstance(uri, str)))
    return row, instances, classes


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _insert_many(
    connection: sa.Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], *, suffix: str = ""
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (tuples in the order of ``columns``) in few statements and return what
    ``suffix`` (PostgreSQL: ``ON CONFLICT … RETURNING …``) returns.

    Bulk without COPY and without SQLAlchemy's per-row work: on SQLite the driver's
    ``executemany`` (in-process, no statement text to parse); on PostgreSQL one ``INSERT …
    SELECT * FROM unnest(array, array, …)`` per batch, a statement whose text does not grow with
    the rows (a multi-row VALUES of thousands of rows costs more to parse than to run).
    """
    if not rows:
        return []
    names = ", ".join(columns)
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})", list(rows))
        return []
    arrays = ", ".join(f"%b::{_pg_array(table.c[name].type)}" for name in columns)  # binary: no array literal to escape
    statement = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}){suffix}"
    returned: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), _PG_BATCH):
        result = connection.exec_driver_sql(statement, tuple(list(column) for column in zip(*rows[start : start + _PG_BATCH], strict=True)))
        if suffix:
            returned += [tuple(row) for row in result]
    return returned


_PG_BATCH: Final = 20_000


def _pg_array(kind: sa.types.TypeEngine[Any]) -> str:
    """The PostgreSQL array type of a column type (for ``unnest``)."""
    if isinstance(kind, sa.SmallInteger):
        return "smallint[]"
    if isinstance(kind, sa.BigInteger):
        return "bigint[]"
    return "integer[]" if isinstance(kind, sa.Integer) else "text[]"


_STORED_COLUMNS: Final = (
    "seq",
    "event_id",
    "event_time",
    "record_time",
    "anchor_status",
    "anchor_transaction",
    "anchor_block",
    "anchor_content_hash",
)
"""The columns a :class:`StoredEvent` is read from (then its document), and a page's position (seq and times)."""
_WITH_DOCUMENT: Final = (
    f"SELECT {', '.join(f'epcis_events.{name}' for name in _STORED_COLUMNS)}, d.document "
    "FROM epcis_events JOIN epcis_event_documents d ON d.seq = epcis_events.seq"
)
"""Events with their documents (one statement: a round trip costs more than the join)."""


def _stored_event(row: Sequence[Any]) -> StoredEvent:
    """A row of :data:`_STORED_COLUMNS` and the document as a :class:`StoredEvent` (read by
    position: a page's rows are many, and reading a row's fields by name costs more than the rest)."""
    _, event_id, _, record_time, status, transaction, block, content_hash, document = row
    return StoredEvent(event_id, document, _datetime(record_time), Anchor(status, transaction, block, content_hash))


# --------------------------------------------------------------------------------------------
# Query parameters

#: Standard query parameters (EPCIS 2.0 query schema and REST binding) this index does not
#: implement yet: refused by name rather than ignored, which would answer a different question.
_NOT_IMPLEMENTED: Final = frozenset(
    {
        "EQ_persistentDisposition_set",
        "EQ_persistentDisposition_unset",
        "EQ_quantity",
        "GT_quantity",
        "GE_quantity",
        "LT_quantity",
        "LE_quantity",
        "WD_readPoint",
        "WD_bizLocation",
        "EQ_transformationID",
        "EXISTS_errorDeclaration",
        "GE_errorDeclaration_Time",
        "LT_errorDeclaration_Time",
        "EQ_errorReason",
        "EQ_correctiveEventID",
        "maxEventCount",
        "EXISTS_sensorElementList",
        "GE_time",
        "LT_time",
        "GE_startTime",
        "LT_startTime",
        "GE_endTime",
        "LT_endTime",
        "EQ_type",
        "EQ_deviceID",
        "EQ_dataProcessingMethod",
        "EQ_microorganism",
        "EQ_chemicalSubstance",
        "EQ_bizRules",
        "EQ_stringValue",
        "EQ_booleanValue",
        "EQ_hexBinaryValue",
        "EQ_uriValue",
        "GE_percRank",
        "LT_percRank",
        "GT_percRank",
        "LE_percRank",
        "GE_value",
        "LT_value",
        "GE_minValue",
        "LT_minValue",
        "GE_maxValue",
        "LT_maxValue",
        "GE_meanValue",
        "LT_meanValue",
        "GE_sDev",
        "LT_sDev",
    }
)
_NOT_IMPLEMENTED_PREFIXES: Final = (
    "EQ_bizTransaction_",
    "EQ_source_",
    "EQ_destination_",
    "EQ_ILMD_",
    "EQ_INNER_",
    "EXISTS_",
    "HASATTR_",
    "EQ_ATTR_",
)
_NOT_IMPLEMENTED_COMPARISONS: Final = ("EQ_", "GT_", "GE_", "LT_", "LE_")  # of extension fields: EQ_ns:field
_EQUALS: Final[Mapping[str, str]] = {  # parameter -> column of epcis_events
    "eventType": "event_type",
    "EQ_eventID": "event_id",
    "EQ_action": "action",
    "EQ_bizStep": "biz_step",
    "EQ_disposition": "disposition",
    "EQ_readPoint": "read_point",
    "EQ_bizLocation": "biz_location",
}
_TIMES: Final[Mapping[str, tuple[str, bool]]] = {  # parameter -> (column, whether a lower bound)
    "GE_eventTime": ("event_time", True),
    "LT_eventTime": ("event_time", False),
    "GE_recordTime": ("record_time", True),
    "LT_recordTime": ("record_time", False),
}
_PAGING: Final = ("orderBy", "orderDirection", "eventCountLimit", "perPage", "nextPageToken")
_DISCOVERY: Final[Mapping[str, tuple[str, str]]] = {
    "eventTypes": ("epcis_events", "event_type"),
    "bizSteps": ("epcis_events", "biz_step"),
    "dispositions": ("epcis_events", "disposition"),
    "readPoints": ("epcis_events", "read_point"),
    "bizLocations": ("epcis_events", "biz_location"),
    "epcs": ("epcis_event_epcs", "epc"),
}

QUERY_PARAMETERS: Final = frozenset({*_EQUALS, *_TIMES, *_MATCH, *_PAGING})
"""The query parameters :meth:`EventRepository.query` implements."""


@dataclass(frozen=True, slots=True)
class _Term:
    """One condition of a query, written so that an index may serve it or not (see :func:`_choose`).

    ``kind`` is ``equal`` (``column`` IN ``values``), ``time`` (``low`` <= ``column`` < ``high``)
    or ``match`` (the event names an identifier of ``roles`` equal to one of ``values`` or
    starting with one of ``prefixes``, in the classes table when ``classes``).
    """

    kind: Literal["equal", "time", "match"]
    column: str = ""
    values: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    classes: bool = False
    roles: tuple[int, ...] = ()
    prefixes: tuple[str, ...] = ()

    def condition(self, sql: _Sql, *, indexed: bool = True) -> str:
        """The SQL condition (its values added to ``sql``'s parameters); with ``indexed=False`` in
        a form no index can serve (``x || ''``, ``x + 0``: expressions no index holds, SQLite's
        documented way to steer its planner, and PostgreSQL's too)."""
        if self.kind == "match":
            if indexed:
                return f"epcis_events.seq IN ({self.rows(sql)})"
            # Inside COALESCE, PostgreSQL cannot turn the IN into a join (which it would drive
            # from the identifiers, having misjudged how many there are): it hashes the
            # subquery's rows once and probes them as it reads events in order, as SQLite does.
            return sql.coalesce_false(f"epcis_events.seq + 0 IN ({self.rows(sql)})")
        column = f"epcis_events.{self.column}"
        if self.kind == "equal":
            compared = column if indexed else f"({column} || '')"
            return f"{compared} IN ({sql.values(self.values)})"
        if not indexed:
            column = f"{column} + 0"
        bounds = [f"{column} >= {sql.value(self.low)}"] if self.low is not None else []
        if self.high is not None:
            bounds.append(f"{column} < {sql.value(self.high)}")
        return " AND ".join(bounds)

    def rows(self, sql: _Sql) -> str:
        """A query of the rows this term alone selects (``event_seq`` of a ``match``): what
        :func:`_choose` counts to estimate how selective it is."""
        if self.kind != "match":
            return f"SELECT 1 FROM epcis_events WHERE {self.condition(sql)}"
        table = "epcis_event_classes" if self.classes else "epcis_event_epcs"
        selects: list[str] = []
        if self.values:
            values = sql.values(self.values)
            selects.append(f"SELECT event_seq FROM {table} WHERE epc IN ({values}) AND role IN ({sql.values(self.roles)})")
        for prefix in self.prefixes:
            # A prefix is the range [prefix, prefix with its last character incremented): one
            # index range on both engines (code point order), where LIKE may not use the index.
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            low, high = sql.value(prefix), sql.value(upper)
            selects.append(f"SELECT event_seq FROM {table} WHERE epc >= {low} AND epc < {high} AND role IN ({sql.values(self.roles)})")
        return " UNION ".join(selects)


def _fetch(connection: sa.Connection, statement: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The rows of a statement written as text (:class:`_Sql`), from the driver's own cursor: a
    page's rows need none of what SQLAlchemy makes of a result, which cost a third of a query."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


class _Sql:
    """The parameters of a statement written as text, in order, for the driver's own placeholders.

    The query path writes its SQL itself: building it from SQLAlchemy expressions cost ten times
    what SQLite takes to answer a page (a request's time went to making the statement), and the
    statements are few and simple. Only trusted names (columns, tables) are written in; every
    value is a parameter.
    """

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.mark = "%s" if postgres else "?"
        self.parameters: list[Any] = []

    def value(self, value: Any) -> str:
        """The placeholder of ``value``, which is added to the parameters."""
        self.parameters.append(value)
        return self.mark

    def values(self, values: Sequence[Any]) -> str:
        """The placeholders of ``values`` (separated by commas), which are added to the parameters."""
        self.parameters.extend(values)
        return ", ".join([self.mark] * len(values))

    def coalesce_false(self, condition: str) -> str:
        """``condition``, false where it is NULL (as SQLAlchemy writes it for each engine)."""
        return f"coalesce({condition}, false)" if self.postgres else f"coalesce({condition}, 0) = 1"


@dataclass(frozen=True, slots=True)
class _Plan:
    terms: list[_Term]
    digest: str
    order_by: Literal["event_time", "record_time"]
    descending: bool
    per_page: int
    count_limit: int | None
    token: str | None


_DRIVER_PROBE: Final = 5000
"""A condition that selects fewer rows than this drives the query (its rows are read
and sorted); otherwise the events are read in order until a page is full."""
_ORDER_PROBE: Final = 20_000
"""How far :func:`_choose` counts each condition's rows (an index-only count: about 3 ms at most)."""
_SCAN_RATIO: Final = 0.5
"""On SQLite, a condition of ``n`` rows whose rows must be sorted drives only when ``n * n`` is
under this times (the page + 1) times the events stored: reading and sorting ``n`` events costs
about twice a row what the ordered scan costs for each of the ``(page + 1) * events / n`` rows it
reads (about 1.5 and 0.7 µs), so a condition of 3,500 rows among 35,000 events reads its page of
100 in order in a third of the time. Among a million events, anything under the probe drives."""
_KEPT_COUNT: Final = 1000
"""A count of at least this many rows is kept for :data:`_COUNT_SECONDS` (counting it again
costs more than a page; a smaller one is quicker counted than looked up among many)."""
_KEPT_COUNTS: Final = 4096
"""The most counts kept (all are forgotten when there would be more)."""
_COUNT_SECONDS: Final = 10.0
_INDEXED: Final = frozenset({"event_type", "event_id", "biz_step", "disposition", "read_point", "biz_location"})
"""The columns of an ``equal`` term that an index of epcis_events leads with."""


@dataclass(frozen=True, slots=True)
class _Choice:
    """How to run a query: ``driver`` (read its rows, then sort) or, without one, an
    ordered scan, through the index of ``ordered`` (an equality with one value) when given."""

    driver: _Term | None
    ordered: _Term | None


def _choose(plan: _Plan, count: Callable[[_Term | None], int], *, identifiers_only: bool = False) -> _Choice:
    """Choose the plan from counts (see :meth:`EventRepository._page_statement`; ``count(term)``
    counts a term's rows, ``count(None)`` the events). The condition with fewest rows drives when
    it has fewer than :data:`_DRIVER_PROBE` (on SQLite, when its rows must be sorted, only if that
    costs less than the ordered scan: :data:`_SCAN_RATIO`); otherwise the scan in order goes
    through the index of the equality with fewest rows, which bounds the rows read even when the
    conditions together match few. With ``identifiers_only``, only the ``match`` terms are counted
    (PostgreSQL judges the rest)."""
    counts: list[tuple[int, _Term]] = []
    for term in plan.terms:
        if identifiers_only and term.kind != "match":
            continue
        if (term.kind == "time" and term.column == plan.order_by) or (term.kind == "equal" and term.column not in _INDEXED):
            continue  # the ordered scan reads this range anyway; no index to drive from
        counts.append((count(term), term))
    fewest = min(counts, key=lambda pair: pair[0], default=None)
    if fewest is not None and fewest[0] < _DRIVER_PROBE:
        rows, term = fewest
        in_order = term.kind == "equal" and len(term.values) == 1 and plan.order_by == "event_time"
        if identifiers_only or in_order or rows * rows < _SCAN_RATIO * (plan.per_page + 1) * count(None):
            return _Choice(term, None)
    serving = [(n, t) for n, t in counts if t.kind == "equal" and len(t.values) == 1 and plan.order_by == "event_time"]
    return _Choice(None, min(serving, key=lambda pair: pair[0])[1] if serving else None)


def _list_value(name: str, value: str | Sequence[str]) -> list[str]:
    values = value.split("|") if isinstance(value, str) else [str(v) for v in value]
    if not values or any(v == "" for v in values):
        raise InputError("needs one or more values separated by |, none of them empty", field=name, value=value)
    return values


def _scalar_value(name: str, value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        return value
    if len(value) != 1:
        raise InputError(f"is given {len(value)} times; it takes one value", field=name, value=value)
    return str(value[0])


def _count(name: str, value: str, *, least: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = least - 1
    if number < least:
        raise InputError(f"{value!r} is not a whole number of at least {least}", field=name, value=value)
    return number


def _per_page(value: int | str | None) -> int:
    if value is None:
        return DEFAULT_PER_PAGE
    return min(_count("perPage", str(value), least=1), MAX_PER_PAGE)


def _refuse_unknown(name: str) -> None:
    if (
        name in _NOT_IMPLEMENTED
        or name.startswith(_NOT_IMPLEMENTED_PREFIXES)
        or (name.startswith(_NOT_IMPLEMENTED_COMPARISONS) and ":" in name)
    ):
        raise InputError("is a standard EPCIS query parameter this repository does not implement yet", field=name)
    raise InputError(f"is not an EPCIS query parameter; this repository takes {', '.join(sorted(QUERY_PARAMETERS))}", field=name)


def _plan(parameters: Mapping[str, str | Sequence[str]]) -> _Plan:
    """Check ``parameters`` and turn them into conditions, the order, the page size and the
    digest that binds a page token to the query (every parameter but the token and perPage)."""
    terms: list[_Term] = []
    times: dict[str, dict[bool, int]] = {}
    canonical: dict[str, Any] = {}
    for name, value in parameters.items():
        if name in _EQUALS:
            values = _list_value(name, value)
            if name == "EQ_action" and (bad := [v for v in values if v not in _ACTIONS]):
                raise InputError(f"{bad[0]!r} is not an EPCIS action (ADD, OBSERVE, DELETE)", field=name, value=value)
            if name == "EQ_bizStep":
                values = [str(_vocabulary(v, biz_step_name, name)) for v in values]
            elif name == "EQ_disposition":
                values = [str(_vocabulary(v, disposition_name, name)) for v in values]
            canonical[name] = sorted(set(values))
            terms.append(_Term("equal", column=_EQUALS[name], values=tuple(canonical[name])))
        elif name in _TIMES:
            micros = _micros(parse_time(_scalar_value(name, value), field=name))
            column, lower = _TIMES[name]
            times.setdefault(column, {})[lower] = micros
            canonical[name] = micros
        elif name in _MATCH:
            classes, roles = _MATCH[name]
            canonical[name] = sorted(set(_list_value(name, value)))
            exact: list[str] = []
            prefixes: list[str] = []
            for one in canonical[name]:
                equal, starts = _pattern_terms(name, one, classes=classes)
                exact += equal
                prefixes += starts
            terms.append(_Term("match", values=tuple(sorted(set(exact))), classes=classes, roles=roles, prefixes=tuple(prefixes)))
        elif name not in _PAGING:
            _refuse_unknown(name)
    terms += [_Term("time", column=column, low=bounds.get(True), high=bounds.get(False)) for column, bounds in times.items()]

    order_by = _scalar_value("orderBy", parameters["orderBy"]) if "orderBy" in parameters else None
    if order_by not in (None, "eventTime", "recordTime"):
        raise InputError(f"{order_by!r} is not a field this repository orders by (eventTime, recordTime)", field="orderBy", value=order_by)
    direction = _scalar_value("orderDirection", parameters["orderDirection"]) if "orderDirection" in parameters else None
    if direction not in (None, "ASC", "DESC"):
        raise InputError(f"{direction!r} is not ASC or DESC", field="orderDirection", value=direction)
    descending = order_by is not None and direction != "ASC"  # the standard's default is DESC
    if order_by is None:
        # The standard leaves the order open without orderBy. eventTime ascending reads as a
        # history; a query of recordTime alone (a poll: "what is new since") reads in the order
        # events were recorded, which is also the order its index serves.
        order_by = "recordTime" if "record_time" in times and "event_time" not in times else "eventTime"
    count_limit = None
    if "eventCountLimit" in parameters:
        if "orderBy" not in parameters:
            raise InputError("needs orderBy: without an order there is no 'first' N events", field="eventCountLimit")
        count_limit = _count("eventCountLimit", _scalar_value("eventCountLimit", parameters["eventCountLimit"]), least=1)
        canonical["eventCountLimit"] = count_limit
    canonical["order"] = [order_by, descending]
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]
    per_page = _per_page(_scalar_value("perPage", parameters["perPage"]) if "perPage" in parameters else None)
    token = _scalar_value("nextPageToken", parameters["nextPageToken"]) if "nextPageToken" in parameters else None
    column_of_order: Literal["event_time", "record_time"] = "event_time" if order_by == "eventTime" else "record_time"
    return _Plan(terms, digest, column_of_order, descending, per_page, count_limit, token)


_IDPAT: Final = "urn:epc:idpat:"


def _pattern_terms(name: str, value: str, *, classes: bool) -> tuple[list[str], list[str]]:
    """``(exact values, prefixes)`` that ``value`` of ``MATCH_*`` parameter ``name`` matches."""
    if not value.startswith(_IDPAT):
        return [value], []
    scheme, colon, body = value[len(_IDPAT) :].partition(":")
    fields = body.split(".")
    wild = next((i for i, f in enumerate(fields) if f == "*"), len(fields))
    if not colon or not scheme or any(f in ("", "*") or "*" in f for f in fields[:wild]) or any(f != "*" for f in fields[wild:]):
        raise InputError(
            f"{value!r} is not an EPC pattern: urn:epc:idpat:SCHEME:FIELD.FIELD…, where only trailing fields may be *",
            field=name,
            value=value,
        )
    fixed = "".join(f"{f}." for f in fields[:wild])
    if classes:
        if wild == len(fields):
            return [value], []
        prefixes = [f"{_IDPAT}{scheme}:{fixed}"]
        if scheme == "sgtin":
            prefixes.append(f"urn:epc:class:lgtin:{fixed}")  # the lots of those products
        return [], prefixes
    if wild == len(fields):
        return [f"urn:epc:id:{scheme}:{body}"], []
    return [], [f"urn:epc:id:{scheme}:{fixed}"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not text.replace("-", "").replace("_", "").isalnum() or not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
