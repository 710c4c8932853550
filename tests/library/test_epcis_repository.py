"""The EPCIS repository's event index (issue 17, points 2 and 4) answers the same on SQLite and on
a real PostgreSQL server (Debian's, started by tests/postgres.py): migrations from an empty
database, events captured once, visible only once anchored, every standard query parameter
implemented, pages that neither repeat nor skip, and refusals that name the parameter."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2ochain.epcis import biz_step_name, disposition_name, parse_time
from o2ochain.errors import ConfigError, InputError
from o2ochain.serve import Anchor, EventRepository, NewEvent, StoredEvent, repository_url
from o2ochain.serve import _repository as repository_module
from tests.postgres import PostgresServer, postgres_server

__all__ = ["postgres_server"]  # the fixture, shared from tests/postgres.py

ENGINES = ("sqlite", "postgresql")
_databases = itertools.count()


def _open(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> EventRepository:
    """A repository on a database of its own, empty before it is opened."""
    if engine == "sqlite":
        return EventRepository.open(tmp_path / "index" / "events.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"epcis_{next(_databases)}"
    server.execute(f"CREATE DATABASE {name} OWNER {server.role};", database="postgres")
    return EventRepository.open(server.url.rsplit("/", 1)[0] + f"/{name}")


@pytest.fixture(params=ENGINES)
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventRepository]:
    with _open(request.param, tmp_path, request) as opened:
        yield opened


@pytest.fixture(scope="module", params=ENGINES)
def world_repository(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventRepository]:
    """One repository per engine holding WORLD (anchored), shared by the tests that only query it:
    ~200 of them, and a database each (CREATE DATABASE and the migrations, about a second on
    PostgreSQL) was most of this module's time."""
    with _open(request.param, tmp_path_factory.mktemp("world"), request) as opened:
        _store(opened, WORLD)
        yield opened


# --------------------------------------------------------------------------------------------
# A small world of events, one of each thing a query can tell apart

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
RECORDED = T0 + timedelta(days=30)
ITEM_1, ITEM_2, ITEM_3 = (f"urn:epc:id:sgtin:0614141.107346.{n}" for n in (1, 2, 3))
OTHER_ITEM = "urn:epc:id:sgtin:0614142.000001.9"
PALLET = "urn:epc:id:sscc:0614141.1234567890"
LOT = "urn:epc:class:lgtin:0614141.107346.L1"
PRODUCT = "urn:epc:idpat:sgtin:0614141.107346.*"
SITE_A, SITE_B = "urn:epc:id:sgln:0614141.00001.0", "urn:epc:id:sgln:0614141.00002.0"
DOCK_A = "urn:epc:id:sgln:0614141.00001.1"


def _time(value: datetime, offset: str = "+00:00") -> str:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    local = value.astimezone(UTC) + sign * timedelta(hours=hours, minutes=minutes)
    return local.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + offset


WORLD: dict[str, dict[str, Any]] = {
    "commission": {
        "type": "ObjectEvent",
        "eventTime": _time(T0, "+08:00"),
        "eventTimeZoneOffset": "+08:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "epcList": [ITEM_1, ITEM_2],
        "readPoint": {"id": DOCK_A},
        "bizLocation": {"id": SITE_A},
        "example:note": {"@value": "kept verbatim", "nested": [1, 2.5, None, True]},
    },
    "pack": {
        "type": "AggregationEvent",
        "eventTime": _time(T0 + timedelta(hours=1)),
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "bizStep": "urn:epcglobal:cbv:bizstep:packing",
        "disposition": "urn:epcglobal:cbv:disp:in_progress",
        "parentID": PALLET,
        "childEPCs": [ITEM_1, ITEM_2],
        "childQuantityList": [{"epcClass": LOT, "quantity": 4}],
        "bizLocation": {"id": SITE_A},
    },
    "ship": {
        "type": "ObjectEvent",
        "eventTime": _time(T0 + timedelta(hours=2), "-05:00"),
        "eventTimeZoneOffset": "-05:00",
        "action": "OBSERVE",
        "bizStep": "https://ref.gs1.org/cbv/BizStep-shipping",
        "disposition": "in_transit",
        "epcList": [PALLET],
        "readPoint": {"id": DOCK_A},
    },
    "receive": {
        "type": "ObjectEvent",
        "eventTime": _time(T0 + timedelta(days=1)),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "sellable_not_accessible",
        "epcList": [PALLET],
        "quantityList": [{"epcClass": PRODUCT, "quantity": 2}],
        "bizLocation": {"id": SITE_B},
    },
    "blend": {
        "type": "TransformationEvent",
        "eventTime": _time(T0 + timedelta(days=2)),
        "eventTimeZoneOffset": "+00:00",
        "bizStep": "urn:example:bizstep:blending",
        "inputEPCList": [ITEM_3],
        "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:0614142.000001.L7", "quantity": 1}],
        "outputEPCList": [OTHER_ITEM],
        "outputQuantityList": [{"epcClass": "urn:epc:idpat:sgtin:0614142.000002.*", "quantity": 9}],
        "bizLocation": {"id": SITE_B},
    },
    "sell": {
        "type": "TransactionEvent",
        "eventTime": _time(T0 + timedelta(days=3)),
        "eventTimeZoneOffset": "+00:00",
        "action": "DELETE",
        "parentID": "urn:epcglobal:cbv:bt:0614141073467:PO1",
        "epcList": [ITEM_2],
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:PO1"}],
    },
}


def _store(repository: EventRepository, events: Mapping[str, Mapping[str, Any]], *, anchored: bool = True) -> None:
    news = [NewEvent(name, event, record_time=RECORDED + timedelta(minutes=n)) for n, (name, event) in enumerate(events.items())]
    repository.add_events(news)
    if anchored:
        repository.set_anchors({name: _anchor(n) for n, name in enumerate(events)})


def _anchor(n: int) -> Anchor:
    return Anchor("anchored", transaction=f"0x{n:064x}", block=100 + n, content_hash=f"0x{n + 1:064x}")


def _all(repository: EventRepository, parameters: Mapping[str, str | Sequence[str]]) -> list[StoredEvent]:
    """Every event of a query, page after page (at most 500 pages)."""
    found: list[StoredEvent] = []
    asked = dict(parameters)
    for _ in range(500):
        page = repository.query(asked)
        found += page.events
        if page.next_page_token is None:
            return found
        asked["nextPageToken"] = page.next_page_token
    raise AssertionError("the query did not end in 500 pages")


def _ids(repository: EventRepository, parameters: Mapping[str, str | Sequence[str]]) -> list[str]:
    return [e.event_id for e in _all(repository, parameters)]


# --------------------------------------------------------------------------------------------
# Opening: migrations


@pytest.mark.parametrize("engine", ENGINES)
def test_open_migrates_an_empty_database_to_the_schema_the_code_reads(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    repository = _open(engine, tmp_path, request)
    try:
        with repository._engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": "o2ochain_epcis_version"})
            assert context.get_current_revision() == "0002"
            assert compare_metadata(context, repository_module._metadata) == []
        url = repository._engine.url
    finally:
        repository.close()
    with EventRepository.open(url.render_as_string(hide_password=False)) as again:  # at head already: nothing to do
        _store(again, {"commission": WORLD["commission"]})
        assert _ids(again, {}) == ["commission"]


def test_repository_url_is_database_url_when_set_else_the_sqlite_file(tmp_path: Path) -> None:
    assert repository_url(tmp_path / "events.sqlite", environ={}) == str(tmp_path / "events.sqlite")
    assert repository_url(tmp_path / "events.sqlite", environ={"DATABASE_URL": "postgresql://u:p@h/db"}) == "postgresql://u:p@h/db"


def test_open_refuses_an_engine_other_than_sqlite_or_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SQLite or PostgreSQL, not mysql"):
        EventRepository.open("mysql://u:p@127.0.0.1/db")


def test_open_reads_a_postgres_url_as_database_url_gives_it(postgres_server: PostgresServer) -> None:
    with EventRepository.open(postgres_server.url.replace("postgresql://", "postgres://")) as repository:
        assert repository.url.startswith("postgresql+psycopg://o2o:***@127.0.0.1:")


# --------------------------------------------------------------------------------------------
# Capture


def test_an_event_is_stored_once_however_often_it_is_captured(repository: EventRepository) -> None:
    first, second = repository.start_job(), repository.start_job()
    event = WORLD["commission"]
    assert repository.add_events([NewEvent("e1", event), NewEvent("e1", event)], job_id=first) == [True, False]
    assert repository.add_events([NewEvent("e2", WORLD["ship"]), NewEvent("e1", event)], job_id=second) == [True, False]
    repository.set_anchors({"e1": _anchor(1), "e2": _anchor(2)})
    assert sorted(_ids(repository, {})) == ["e1", "e2"]
    job = repository.job(second)
    assert job is not None and job.event_ids == ["e2", "e1"] and job.status == "running"
    assert repository.job(first).event_ids == ["e1", "e1"]  # type: ignore[union-attr]


def test_an_event_is_kept_as_captured_extensions_and_key_order_included(repository: EventRepository) -> None:
    event = WORLD["commission"]
    repository.add_events([NewEvent("ni:///sha-256;abc?ver=CBV2.0", event)])
    stored = repository.event("ni:///sha-256;abc?ver=CBV2.0")
    assert stored is not None
    assert stored.event == event and list(stored.event) == list(event)
    assert stored.event["example:note"] == {"@value": "kept verbatim", "nested": [1, 2.5, None, True]}
    assert json.loads(stored.document) == event


def test_an_event_carrying_another_event_id_is_refused_and_nothing_is_stored(repository: EventRepository) -> None:
    good = NewEvent("a", WORLD["ship"])
    bad = NewEvent("b", {**WORLD["ship"], "eventID": "urn:uuid:6b5b4a7e-0000-4000-8000-000000000000"})
    with pytest.raises(InputError, match=r"events\[1\]\.eventID.*carries eventID"):
        repository.add_events([good, bad])
    no_time = NewEvent("c", {**WORLD["ship"], "eventTime": "yesterday"})
    with pytest.raises(InputError, match=r"events\[0\]\.eventTime"):
        repository.add_events([no_time])
    assert repository.event("a") is None


def test_events_are_queryable_only_once_anchored_and_keep_their_first_anchor(repository: EventRepository) -> None:
    job = repository.start_job()
    repository.add_events([NewEvent("e1", WORLD["commission"]), NewEvent("e2", WORLD["ship"])], job_id=job)
    assert repository.query({}).events == []
    assert repository.values("bizSteps").values == [] and repository.values("epcs").values == []
    assert repository.event("e1").anchor == Anchor()  # type: ignore[union-attr]
    repository.set_anchors({"e1": _anchor(7), "e2": Anchor("failed")})
    (only,) = repository.query({}).events
    assert only.event_id == "e1" and only.anchor == _anchor(7)
    repository.set_anchors({"e1": _anchor(8), "e2": _anchor(9)})  # e1 is anchored already; e2 is retried
    assert {e.event_id: e.anchor for e in _all(repository, {})} == {"e1": _anchor(7), "e2": _anchor(9)}


def test_a_capture_job_records_its_outcome_its_errors_and_its_events(repository: EventRepository) -> None:
    job = repository.start_job("job-1")
    repository.add_events([NewEvent("e1", WORLD["commission"])], job_id=job)
    repository.add_events([NewEvent("e2", WORLD["ship"])], job_id=job)
    errors = [{"eventID": "e3", "field": "bizStep", "message": "'shiping' is neither a CBV 2.0 business step nor a URI"}]
    repository.finish_job(job, "failed", errors)
    done = repository.job("job-1")
    assert done is not None
    assert (done.status, done.errors, done.event_ids) == ("failed", errors, ["e1", "e2"])
    assert done.finished is not None and done.created <= done.finished
    with pytest.raises(InputError, match="job-1 is unknown or already finished"):
        repository.finish_job(job, "success")
    with pytest.raises(InputError, match="job-1 is failed, not running"):
        repository.add_events([NewEvent("e4", WORLD["receive"])], job_id=job)
    assert repository.event("e4") is None  # refused as a whole
    assert repository.job("no-such-job") is None


# --------------------------------------------------------------------------------------------
# Queries: each parameter

CASES: list[tuple[dict[str, str | list[str]], list[str]]] = [
    ({}, ["commission", "pack", "ship", "receive", "blend", "sell"]),
    ({"eventType": "ObjectEvent"}, ["commission", "ship", "receive"]),
    ({"eventType": "AggregationEvent|TransformationEvent"}, ["pack", "blend"]),
    ({"eventType": ["TransactionEvent", "AssociationEvent"]}, ["sell"]),
    ({"EQ_bizStep": "packing"}, ["pack"]),
    ({"EQ_bizStep": "urn:epcglobal:cbv:bizstep:shipping|receiving"}, ["ship", "receive"]),
    ({"EQ_bizStep": "urn:example:bizstep:blending"}, ["blend"]),
    ({"EQ_disposition": "in_progress|https://ref.gs1.org/cbv/Disp-in_transit"}, ["pack", "ship"]),
    ({"EQ_action": "OBSERVE"}, ["ship", "receive"]),
    ({"EQ_action": "ADD|DELETE"}, ["commission", "pack", "sell"]),
    ({"EQ_readPoint": DOCK_A}, ["commission", "ship"]),
    ({"EQ_bizLocation": SITE_B}, ["receive", "blend"]),
    ({"EQ_bizLocation": f"{SITE_A}|{SITE_B}", "eventType": "ObjectEvent"}, ["commission", "receive"]),
    ({"EQ_eventID": "ship|sell"}, ["ship", "sell"]),
    ({"GE_eventTime": _time(T0 + timedelta(hours=1))}, ["pack", "ship", "receive", "blend", "sell"]),
    ({"LT_eventTime": _time(T0 + timedelta(hours=2), "+03:00")}, ["commission", "pack"]),
    ({"GE_eventTime": _time(T0 + timedelta(hours=2)), "LT_eventTime": _time(T0 + timedelta(days=2))}, ["ship", "receive"]),
    ({"GE_recordTime": _time(RECORDED + timedelta(minutes=4))}, ["blend", "sell"]),
    ({"LT_recordTime": _time(RECORDED + timedelta(minutes=1))}, ["commission"]),
    ({"MATCH_epc": ITEM_1}, ["commission", "pack"]),
    ({"MATCH_epc": PALLET}, ["ship", "receive"]),  # as the parent of "pack" it is not an epc
    ({"MATCH_epc": PRODUCT}, ["commission", "pack", "sell"]),
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.*.*"}, ["commission", "pack", "sell"]),
    ({"MATCH_epc": "urn:epc:idpat:sscc:0614141.1234567890"}, ["ship", "receive"]),  # a pattern with no *
    ({"MATCH_parentID": PALLET}, ["pack"]),
    ({"MATCH_anyEPC": PALLET}, ["pack", "ship", "receive"]),
    ({"MATCH_anyEPC": f"{ITEM_3}|{ITEM_2}"}, ["commission", "pack", "blend", "sell"]),
    ({"MATCH_anyEPC": "urn:epc:idpat:sgtin:0614142.*.*"}, ["blend"]),
    ({"MATCH_inputEPC": ITEM_3}, ["blend"]),
    ({"MATCH_outputEPC": OTHER_ITEM}, ["blend"]),
    ({"MATCH_epc": OTHER_ITEM}, []),
    ({"MATCH_epcClass": LOT}, ["pack"]),
    ({"MATCH_epcClass": PRODUCT}, ["pack", "receive"]),  # the product's own class and its lot
    ({"MATCH_epcClass": "urn:epc:idpat:sgtin:0614142.*.*"}, []),  # only input and output classes
    ({"MATCH_inputEPCClass": "urn:epc:idpat:sgtin:0614142.000001.*"}, ["blend"]),
    ({"MATCH_outputEPCClass": "urn:epc:idpat:sgtin:0614142.000002.*"}, ["blend"]),
    ({"MATCH_anyEPCClass": "urn:epc:idpat:sgtin:*.*.*"}, ["pack", "receive", "blend"]),
    ({"MATCH_epc": PRODUCT, "MATCH_anyEPC": PALLET, "EQ_bizStep": "packing"}, ["pack"]),
    ({"orderBy": "eventTime"}, ["sell", "blend", "receive", "ship", "pack", "commission"]),
    ({"orderBy": "recordTime", "orderDirection": "ASC"}, ["commission", "pack", "ship", "receive", "blend", "sell"]),
    ({"orderBy": "eventTime", "orderDirection": "DESC", "eventCountLimit": "2", "perPage": "1"}, ["sell", "blend"]),
]


@pytest.mark.parametrize(("parameters", "expected"), CASES, ids=[json.dumps(p)[:90] for p, _ in CASES])
@pytest.mark.parametrize("per_page", [1, 30])
def test_each_query_parameter_selects_what_the_standard_says(
    world_repository: EventRepository, parameters: dict[str, str], expected: list[str], per_page: int
) -> None:
    assert _ids(world_repository, {"perPage": str(per_page)} | parameters) == expected


def test_every_event_a_query_returns_carries_its_anchor_and_record_time(world_repository: EventRepository) -> None:
    for n, event in enumerate(_all(world_repository, {"orderBy": "recordTime", "orderDirection": "ASC"})):
        assert event.anchor == _anchor(n) and event.record_time == RECORDED + timedelta(minutes=n)
        assert event.event == WORLD[event.event_id]


def test_discovery_lists_page_through_distinct_values_in_code_point_order(world_repository: EventRepository) -> None:
    repository = world_repository

    def every(name: Any) -> list[str]:
        found: list[str] = []
        token = None
        while True:
            page = repository.values(name, per_page=2, next_page_token=token)
            found += page.values
            if (token := page.next_page_token) is None:
                return found

    assert every("eventTypes") == ["AggregationEvent", "ObjectEvent", "TransactionEvent", "TransformationEvent"]
    assert every("bizSteps") == ["commissioning", "packing", "receiving", "shipping", "urn:example:bizstep:blending"]
    assert every("dispositions") == ["active", "in_progress", "in_transit", "sellable_not_accessible"]
    assert every("readPoints") == [DOCK_A]
    assert every("bizLocations") == [SITE_A, SITE_B]
    assert every("epcs") == sorted({ITEM_1, ITEM_2, ITEM_3, OTHER_ITEM, PALLET, "urn:epcglobal:cbv:bt:0614141073467:PO1"})
    with pytest.raises(InputError, match="not a discovery list"):
        repository.values("readers")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Pages


def _synthetic(n: int, *, start: int = 0, hours: int = 0) -> list[NewEvent]:
    return [
        NewEvent(
            f"ev-{i:05d}",
            {
                "type": "ObjectEvent",
                "eventTime": _time(T0 + timedelta(minutes=(i * 37) % 500, hours=hours)),
                "eventTimeZoneOffset": "+00:00",
                "action": "OBSERVE",
                "bizStep": ("shipping", "receiving")[i % 2],
                "epcList": [f"urn:epc:id:sgtin:0614141.107346.{i}"],
            },
            anchor=_anchor(i),
        )
        for i in range(start, start + n)
    ]


def test_pages_neither_repeat_nor_skip_while_events_are_captured(repository: EventRepository) -> None:
    before = _synthetic(240)
    repository.add_events(before)
    stop = threading.Event()

    def capture() -> int:
        batch = 0
        while not stop.is_set() and batch < 40:
            # Event times before, among and after those already read.
            repository.add_events(_synthetic(5, start=1000 + 5 * batch, hours=(-1, 0, 1)[batch % 3]))
            batch += 1
        return batch

    with ThreadPoolExecutor(max_workers=1) as pool:
        writer = pool.submit(capture)
        try:
            for parameters in ({"perPage": "7"}, {"perPage": "11", "EQ_bizStep": "shipping"}, {"perPage": "9", "orderBy": "eventTime"}):
                seen = [e.event_id for e in _all(repository, parameters)]
                assert len(seen) == len(set(seen)), "a page repeated an event"
                wanted = {e.event_id for e in before if parameters.get("EQ_bizStep") in (None, e.event["bizStep"])}
                assert wanted <= set(seen), "a page skipped an event stored before the first page"
        finally:
            stop.set()
        assert writer.result() > 0  # the writer ran (and raised nothing)


def test_a_page_token_that_was_not_issued_for_this_query_is_refused_in_words(repository: EventRepository) -> None:
    repository.add_events(_synthetic(5))
    token = repository.query({"perPage": "2", "EQ_bizStep": "shipping"}).next_page_token
    assert token is not None
    body, mac = token.split(".")
    altered = ("A" if body[0] != "A" else "B") + body[1:] + "." + mac
    for bad in ("", "garbage", "a.b", "ééé.ééé", token[:-2], altered, token.replace(".", "")):
        with pytest.raises(InputError, match=r"nextPageToken.*not a page token this repository issued"):
            repository.query({"EQ_bizStep": "shipping", "nextPageToken": bad})
    with pytest.raises(InputError, match=r"nextPageToken.*continues a different query"):
        repository.query({"EQ_bizStep": "receiving", "nextPageToken": token})
    with pytest.raises(InputError, match="not a page token"):
        repository.values("bizSteps", next_page_token=token)
    assert len(repository.query({"EQ_bizStep": "shipping", "perPage": "50", "nextPageToken": token}).events) == 1  # perPage may change


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"EQ_bizstep": "shipping"}, r"field 'EQ_bizstep': is not an EPCIS query parameter; this repository takes EQ_action"),
        ({"limit": "5"}, "field 'limit': is not an EPCIS query parameter"),
        ({"WD_bizLocation": SITE_A}, "field 'WD_bizLocation': is a standard EPCIS query parameter this repository does not implement"),
        ({"EQ_bizTransaction_po": "urn:x"}, "field 'EQ_bizTransaction_po': is a standard"),
        ({"GT_example:temperature": "5"}, "field 'GT_example:temperature': is a standard"),
        ({"maxEventCount": "5"}, "field 'maxEventCount': is a standard"),
        ({"EQ_action": "OBSERVE|SELL"}, "field 'EQ_action': 'SELL' is not an EPCIS action"),
        ({"EQ_bizStep": "shipping||receiving"}, "field 'EQ_bizStep': needs one or more values"),
        ({"GE_eventTime": "2025-03-01"}, "field 'GE_eventTime': .2025-03-01. is not an RFC 3339 date-time"),
        ({"LT_recordTime": ["2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z"]}, "field 'LT_recordTime': is given 2 times"),
        ({"perPage": "0"}, "field 'perPage': '0' is not a whole number of at least 1"),
        ({"perPage": "ten"}, "field 'perPage'"),
        ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.*.400"}, "field 'MATCH_epc': .* only trailing fields may be"),
        ({"MATCH_epcClass": "urn:epc:idpat:sgtin"}, "field 'MATCH_epcClass': .* is not an EPC pattern"),
        ({"orderBy": "bizStep"}, "field 'orderBy': 'bizStep' is not a field this repository orders by"),
        ({"orderBy": "eventTime", "orderDirection": "UP"}, "field 'orderDirection'"),
        ({"eventCountLimit": "3"}, "field 'eventCountLimit': needs orderBy"),
    ],
)
def test_a_bad_query_parameter_is_refused_by_name(world_repository: EventRepository, parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        world_repository.query(parameters)


def test_per_page_is_capped(repository: EventRepository) -> None:
    repository.add_events(_synthetic(repository_module.MAX_PER_PAGE + 3))
    page = repository.query({"perPage": "100000"})
    assert len(page.events) == repository_module.MAX_PER_PAGE and page.next_page_token is not None


# --------------------------------------------------------------------------------------------
# Property: any events, any filters, the same answer as a plain Python filter

_EPC_POOL = [*(f"urn:epc:id:sgtin:0614141.107346.{n}" for n in range(3)), "urn:epc:id:sgtin:0614141.200000.7", PALLET]
_CLASS_POOL = [LOT, PRODUCT, "urn:epc:class:lgtin:0614142.000001.L7", "urn:epc:idpat:sgtin:0614142.000001.*"]
_PATTERNS = [
    "urn:epc:idpat:sgtin:0614141.107346.*",
    "urn:epc:idpat:sgtin:0614141.*.*",
    "urn:epc:idpat:sgtin:*.*.*",
    "urn:epc:idpat:sscc:0614141.*",
]
_STEPS = ["shipping", "urn:epcglobal:cbv:bizstep:receiving", "receiving", "urn:example:step:x"]
_DISPOSITIONS = ["in_transit", "urn:epcglobal:cbv:disp:active", "active"]
_PLACES = [SITE_A, SITE_B, DOCK_A]
_TIMES = [T0 + timedelta(hours=h) for h in (0, 1, 1, 5, 30)]  # a tie on purpose
_OFFSETS = ["+00:00", "+08:00", "-05:30"]
_ROLES: dict[str, tuple[bool, tuple[str, ...]]] = {
    "MATCH_epc": (False, ("epcList", "childEPCs")),
    "MATCH_parentID": (False, ("parentID",)),
    "MATCH_inputEPC": (False, ("inputEPCList",)),
    "MATCH_outputEPC": (False, ("outputEPCList",)),
    "MATCH_anyEPC": (False, ("epcList", "childEPCs", "parentID", "inputEPCList", "outputEPCList")),
    "MATCH_epcClass": (True, ("quantityList", "childQuantityList")),
    "MATCH_inputEPCClass": (True, ("inputQuantityList",)),
    "MATCH_outputEPCClass": (True, ("outputQuantityList",)),
    "MATCH_anyEPCClass": (True, ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")),
}
_FIELDS = {"eventType": "type", "EQ_action": "action", "EQ_readPoint": "readPoint", "EQ_bizLocation": "bizLocation"}


@st.composite
def _events(draw: st.DrawFn) -> dict[str, Any]:
    offset = draw(st.sampled_from(_OFFSETS))
    event: dict[str, Any] = {
        "type": draw(st.sampled_from(["ObjectEvent", "AggregationEvent", "TransformationEvent", "TransactionEvent", "AssociationEvent"])),
        "eventTime": _time(draw(st.sampled_from(_TIMES)), offset),
        "eventTimeZoneOffset": offset,
    }
    optional = {
        "action": st.sampled_from(["ADD", "OBSERVE", "DELETE"]),
        "bizStep": st.sampled_from(_STEPS),
        "disposition": st.sampled_from(_DISPOSITIONS),
        "readPoint": st.sampled_from(_PLACES).map(lambda p: {"id": p}),
        "bizLocation": st.sampled_from(_PLACES).map(lambda p: {"id": p}),
        "parentID": st.sampled_from(_EPC_POOL),
        **{name: st.lists(st.sampled_from(_EPC_POOL), max_size=3) for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList")},
        **{
            name: st.lists(st.sampled_from(_CLASS_POOL).map(lambda c: {"epcClass": c, "quantity": 1}), max_size=2)
            for name in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
        },
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            event[name] = draw(strategy)
    return event


@st.composite
def _queries(draw: st.DrawFn) -> dict[str, str]:
    choices: dict[str, st.SearchStrategy[list[str]]] = {
        "eventType": st.lists(st.sampled_from(["ObjectEvent", "AggregationEvent", "TransformationEvent"]), min_size=1, max_size=2),
        "EQ_bizStep": st.lists(st.sampled_from([*_STEPS, "https://ref.gs1.org/cbv/BizStep-shipping"]), min_size=1, max_size=2),
        "EQ_disposition": st.lists(st.sampled_from(_DISPOSITIONS), min_size=1, max_size=2),
        "EQ_action": st.lists(st.sampled_from(["ADD", "OBSERVE", "DELETE"]), min_size=1, max_size=2),
        "EQ_readPoint": st.lists(st.sampled_from(_PLACES), min_size=1, max_size=2),
        "EQ_bizLocation": st.lists(st.sampled_from(_PLACES), min_size=1, max_size=2),
        **{
            name: st.lists(st.sampled_from(_CLASS_POOL + _PATTERNS if _ROLES[name][0] else _EPC_POOL + _PATTERNS), min_size=1, max_size=2)
            for name in _ROLES
        },
    }
    names = draw(st.lists(st.sampled_from(sorted(choices)), max_size=3, unique=True))
    query = {name: "|".join(draw(choices[name])) for name in names}
    for bound in ("GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime"):
        if draw(st.integers(0, 4)) == 0:
            moment = draw(st.sampled_from(_TIMES)) if "event" in bound else RECORDED + timedelta(minutes=draw(st.integers(0, 12)))
            query[bound] = _time(moment, draw(st.sampled_from(_OFFSETS)))
    order = draw(st.sampled_from([None, "eventTime", "recordTime"]))
    if order is not None:
        query["orderBy"] = order
        if direction := draw(st.sampled_from([None, "ASC", "DESC"])):
            query["orderDirection"] = direction
    query["perPage"] = str(draw(st.integers(1, 6)))
    return query


def _matches(uri: str, pattern: str, *, classes: bool) -> bool:
    """The standard's matching, written out plainly (EPC pure identity patterns, else equality)."""
    if not pattern.startswith("urn:epc:idpat:"):
        return uri == pattern
    scheme, body = pattern.removeprefix("urn:epc:idpat:").split(":", 1)
    fields = body.split(".")
    fixed = [f for f in fields if f != "*"]
    if len(fixed) == len(fields):
        return uri == (pattern if classes else f"urn:epc:id:{scheme}:{body}")
    heads = [f"urn:epc:idpat:{scheme}:"] + (["urn:epc:class:lgtin:"] if scheme == "sgtin" else []) if classes else [f"urn:epc:id:{scheme}:"]
    for head in heads:
        if uri.startswith(head):
            parts = uri.removeprefix(head).split(".")
            return len(parts) >= len(fixed) + 1 and parts[: len(fixed)] == fixed
    return False


def _selected(event: dict[str, Any], record_time: datetime, query: Mapping[str, str]) -> bool:
    for name, value in query.items():
        values = value.split("|")
        if name in _FIELDS:
            field = event.get(_FIELDS[name])
            if (field["id"] if isinstance(field, dict) else field) not in values:
                return False
        elif name == "EQ_bizStep":
            if "bizStep" not in event or biz_step_name(event["bizStep"]) not in {biz_step_name(v) for v in values}:
                return False
        elif name == "EQ_disposition":
            if "disposition" not in event or disposition_name(event["disposition"]) not in {disposition_name(v) for v in values}:
                return False
        elif name in _ROLES:
            classes, fields = _ROLES[name]
            named: list[str] = []
            for field in fields:
                found = event.get(field, [])
                found = [found] if isinstance(found, str) else found
                named += [q["epcClass"] for q in found] if classes else found
            if not any(_matches(uri, pattern, classes=classes) for uri in named for pattern in values):
                return False
        elif name.endswith(("eventTime", "recordTime")):
            moment = parse_time(event["eventTime"]) if name.endswith("eventTime") else record_time
            bound = parse_time(value)
            if (name.startswith("GE_") and moment < bound) or (name.startswith("LT_") and moment >= bound):
                return False
    return True


def _order_key(new: NewEvent, *, by_record: bool) -> datetime:
    return new.record_time if by_record and new.record_time is not None else parse_time(new.event["eventTime"])


def _clear(repository: EventRepository) -> None:
    with repository._engine.begin() as connection:
        for table in reversed(repository_module._metadata.sorted_tables):
            if table.name != "epcis_meta":
                connection.execute(sa.delete(table))


def _property_check(repository: EventRepository) -> Callable[..., None]:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(
        events=st.lists(st.tuples(_events(), st.integers(0, 12), st.sampled_from([True, True, True, False])), max_size=14),
        queries=st.lists(_queries(), min_size=1, max_size=4),
        probe=st.sampled_from([0, 2, 5000]),
    )
    def check(events: list[tuple[dict[str, Any], int, bool]], queries: list[dict[str, str]], probe: int) -> None:
        _clear(repository)
        news = [NewEvent(f"e{n}", e, record_time=RECORDED + timedelta(minutes=m)) for n, (e, m, _) in enumerate(events)]
        repository.add_events(news)
        repository.set_anchors(
            {new.event_id: _anchor(n) for n, (new, (_, _, anchored)) in enumerate(zip(news, events, strict=True)) if anchored}
        )
        # probe: how many rows SQLite's driver choice counts; 0 and 2 force the ordered scans.
        with mock.patch.object(repository_module, "_DRIVER_PROBE", probe):
            for query in queries:
                order = query.get("orderBy")
                record_only = any("recordTime" in k for k in query) and not any("eventTime" in k for k in query)
                by_record = order == "recordTime" or (order is None and record_only)
                descending = order is not None and query.get("orderDirection") != "ASC"

                expected = [
                    new
                    for new, (_, _, anchored) in zip(news, events, strict=True)
                    if anchored and new.record_time is not None and _selected(dict(new.event), new.record_time, query)
                ]
                got = _all(repository, query)
                by_id = {new.event_id: new for new in news}
                assert sorted(e.event_id for e in got) == sorted(new.event_id for new in expected), query
                keys = [_order_key(by_id[e.event_id], by_record=by_record) for e in got]
                assert keys == sorted(keys, reverse=descending), query

    return check


@pytest.mark.parametrize("engine", ENGINES)
def test_any_query_answers_as_a_plain_filter_of_the_same_events(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    with _open(engine, tmp_path, request) as repository:
        _property_check(repository)()
