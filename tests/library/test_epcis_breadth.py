"""The standard's breadth (issue 17, point 3): places named by any URI CBV 2.0 allows, events
about a place alone (a cold store's temperature log), and every GS1 example the schema accepts,
recorded on chain; what cannot be recorded is refused by name before anything is sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import o2ochain
from o2ochain import epcis, gs1
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain.epcis import parse_location
from o2ochain.epcis._identifiers import TRACE_ASSET_DOMAIN
from o2ochain.errors import InputError, InputErrors
from o2ochain.identity import catalogue_from_rows
from tests import gs1_epcis
from tests.conftest import GTIN_A, OTHER_PREFIX, PREFIX, World, build_world
from tests.library.test_trace import TraceWorld, _grant, doc, item_uri, when

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "epcis"
GEO = "geo:38.9140,121.6147;u=25"
COLD_STORE = "https://example.com/locations/cold-store-1"
SENSORS = [
    {
        "sensorMetadata": {"time": "2026-11-02T05:55:00+08:00", "deviceID": "urn:epc:id:giai:4000001.111"},
        "sensorReport": [{"type": "Temperature", "value": -18.5, "uom": "CEL"}, {"type": "RelativeHumidity", "value": 61, "uom": "P1"}],
    }
]


@pytest.fixture
def tw(world: World, tmp_path: Path) -> TraceWorld:
    return _grant(world, tmp_path / "events")


def sensor_log(place: str, hours: float = 0, field: str = "readPoint", **extra: Any) -> dict[str, Any]:
    """A cold store's temperature reading: an ObjectEvent on a place, naming no object."""
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": "sensor_reporting",
        field: {"id": place},
        "sensorElementList": SENSORS,
        **when(hours),
        **extra,
    }


def nonces(w: World, *accounts: Any) -> list[int]:
    return [w.chain.w3.eth.get_transaction_count(a.address) for a in accounts]


# -- places named by any URI -----------------------------------------------------------------


@pytest.mark.parametrize("uri", [GEO, "geo:-33.8688,151.2093", "urn:example:loc:7", COLD_STORE, "https://example.com/sites/01/dock"])
def test_a_place_may_be_any_absolute_uri_and_its_id_is_the_hash_of_its_text(uri: str) -> None:
    place = parse_location(uri)
    assert (place.kind, place.uri, place.id, place.is_gs1) == ("location", uri, gs1.keccak256(uri.encode()), False)
    assert place.chain_subject == gs1.keccak256(TRACE_ASSET_DOMAIN + place.id)
    with pytest.raises(InputError, match="not a GS1 key"):
        place.digital_link()
    with pytest.raises(InputError, match="no Application Identifier"):
        _ = place.ai
    # The same URI as an object is no GS1 key: refused where an object is named.
    with pytest.raises(InputError, match=r"unknown identifier scheme|not a valid GS1 Digital Link"):
        epcis.parse_identifier(uri)


def test_gs1_places_keep_their_ids_whichever_spelling() -> None:
    urn, link = parse_location("urn:epc:id:sgln:9506000.13430.0"), parse_location("https://id.gs1.org/414/9506000134307")
    assert urn.id == link.id == gs1.keccak256(b"/414/9506000134307") and urn.is_gs1 and urn.ai == "414"
    assert epcis.location_id("9506000134307") == urn.id
    assert epcis.location_id(GEO) == gs1.keccak256(GEO.encode())


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("urn:epc:id:sgln:950600.13430.0", "must be 12 digits together"),
        ("urn:epc:id:sgln:9506000.1343A.0", "must be 12 digits together"),
        ("https://id.gs1.org/414/9506000134308", "GLN check digit should be 7, got 8"),
        ("https://example.com/414/9506000134308", "GLN check digit should be 7, got 8"),
        ("https://id.gs1.org/414/warehouse", "GLN must be digits"),
        ("https://id.gs1.org/01/09506000134352", "got a product class (GTIN)"),
        ("urn:epc:id:sgtin:9506000.113435.1", "got an item (SGTIN)"),
        ("geo:95.0,10.0", "latitude is within ±90"),
        ("geo:north-pole", "not a geo: URI of RFC 5870"),
        ("cold store 1", "is not an absolute URI"),
    ],
)
def test_a_malformed_gs1_place_is_refused_not_taken_for_a_private_uri(uri: str, problem: str) -> None:
    with pytest.raises(InputError) as info:
        parse_location(uri)
    assert problem in info.value.message
    d = doc({"type": "ObjectEvent", "action": "OBSERVE", "epcList": [item_uri("S1")], "readPoint": {"id": uri}, **when(0)})
    with pytest.raises(InputErrors) as found:
        epcis.parse_document(d)
    # ("cold store 1" is also no URI to the JSON Schema: two errors, on the same field)
    assert {e.field for e in found.value.errors} == {"$.epcisBody.eventList[0].readPoint.id"}
    assert any(problem in e.message and e.value == uri for e in found.value.errors)


def test_an_xml_document_may_name_a_place_by_a_geo_uri() -> None:
    xml = gs1_epcis.xml_example("Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes()
    assert xml.count(b"<id>urn:epc:id:sgln:0614141.07346.1234</id>") == 1
    document = epcis.parse_xml_document(xml.replace(b"<id>urn:epc:id:sgln:0614141.07346.1234</id>", b"<id>" + GEO.encode() + b"</id>"))
    first = document.events[0]
    assert first.read_point is not None and first.read_point.uri == GEO and first.raw["readPoint"] == {"id": GEO}


def test_a_geo_read_point_is_recorded_and_read_back(tw: TraceWorld) -> None:
    """An item seen at a geo: read point: the entry on the item's chain names the place's id,
    the history shows the URI, and the place's own temperature log is on the place's chain."""
    w = tw.world
    w.chain.registrant(w.registrant).register_items(catalogue_from_rows([(GTIN_A, "S1", "L1")]))
    seen = {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving", "epcList": [item_uri("S1")], "readPoint": {"id": GEO}}
    d = doc({**seen, **when(0)}, sensor_log(GEO, 1))
    parsed = epcis.parse_document(d)
    assert [e.read_point.uri if e.read_point else None for e in parsed.events] == [GEO, GEO]
    assert all(epcis.event_hash(e.raw).startswith("ni:///sha-256;") for e in parsed.events)

    report = w.chain.actor(tw.farm).import_document(d, brand=w.brand)
    assert (report.events, report.entries, report.recorded) == (2, 2, 2)

    (seen_there,) = w.chain.trace.history(item_uri("S1"))
    place = parse_location(GEO)
    assert seen_there.read_point == place.id_hex and seen_there.read_point_uri == GEO and seen_there.verified
    entries = w.chain.trace.chain(w.brand, place.chain_subject)[w.brand]
    (entry,) = entries
    assert entry.content == parsed.events[1].content_hash and entry.read_point == place.id and entry.actor == tw.farm.address
    assert w.chain.trace.check_chain(w.brand, place.chain_subject, entries).intact
    assert w.chain.trace.store.get(entry.content) == parsed.events[1].raw  # sensor data kept verbatim


def test_a_place_only_sensor_event_is_anchored_on_the_place_under_the_given_brand(tw: TraceWorld) -> None:
    w = tw.world
    d = doc(sensor_log(COLD_STORE, 0), sensor_log(COLD_STORE, 1), sensor_log("urn:example:loc:7", 2, field="bizLocation", epcList=[]))
    before = nonces(w, tw.carrier)
    with pytest.raises(InputErrors) as info:
        w.chain.actor(tw.carrier).import_document(d)
    assert len(info.value.errors) == 3 and nonces(w, tw.carrier) == before
    first = info.value.errors[0]
    assert first.field == "$.epcisBody.eventList[0].readPoint.id" and first.value == COLD_STORE
    assert first.message.startswith("the sensor_reporting ObjectEvent of 2026-11-02T06:00:00+08:00 names only a place")
    assert "pass --brand" in first.message
    assert info.value.errors[2].field == "$.epcisBody.eventList[2].bizLocation.id"

    report = w.chain.actor(tw.carrier).import_document(d, brand=w.brand)
    assert (report.entries, report.recorded, report.already) == (3, 3, 0)
    parsed = epcis.parse_document(d)
    store_chain = w.chain.trace.chain(w.brand, parse_location(COLD_STORE).chain_subject)[w.brand]
    assert [e.content for e in store_chain] == [e.content_hash for e in parsed.events[:2]]
    assert w.chain.trace.check_chain(w.brand, parse_location(COLD_STORE).chain_subject, store_chain).intact
    (dock,) = w.chain.trace.chain(w.brand, parse_location("urn:example:loc:7").chain_subject)[w.brand]
    assert dock.biz_location == parse_location("urn:example:loc:7").id and dock.read_point == b"\x00" * 32
    again = w.chain.actor(tw.carrier).import_document(d, brand=w.brand)
    assert (again.recorded, again.already, again.transactions) == (0, 3, 0)


def test_an_event_naming_nothing_and_no_place_is_refused_by_name(tw: TraceWorld) -> None:
    w = tw.world
    d = doc({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "inspecting", "epcList": [], **when(0)})
    with pytest.raises(InputErrors) as info:
        w.chain.actor(tw.farm).import_document(d, brand=w.brand)
    (error,) = info.value.errors
    assert error.field == "$.epcisBody.eventList[0]"
    assert error.message.startswith("the inspecting ObjectEvent of 2026-11-02T06:00:00+08:00 names no item")
    assert "readPoint or a bizLocation" in error.message


def test_a_stranger_is_refused_by_brand_name_before_any_transaction(tw: TraceWorld) -> None:
    """An account the brand never granted: the library names the brand and the event, and sends
    nothing (the ledger would revert with TraceNotActor)."""
    w = tw.world
    stranger = w.outsider
    d = doc(sensor_log(GEO, 0))
    before = nonces(w, stranger)
    with pytest.raises(InputErrors) as info:
        w.chain.actor(stranger).import_document(d, brand=w.brand)
    (error,) = info.value.errors
    assert error.message.startswith(f"{stranger.address} is not an authorised actor of brand {w.brand} (Dalian Coast Snacks)")
    assert f"the sensor_reporting ObjectEvent of 2026-11-02T06:00:00+08:00 is at {GEO}" in error.message
    assert error.value == w.brand
    # Another brand's actor is a stranger to this brand too.
    with pytest.raises(InputErrors, match=f"is not an authorised actor of brand {w.brand} "):
        w.chain.actor(tw.foreign).import_document(d, brand=w.brand)
    with pytest.raises(InputErrors, match="brand 99 is not a registered brand"):
        w.chain.actor(tw.farm).import_document(d, brand=99)
    assert nonces(w, stranger, tw.foreign, tw.farm) == [before[0], *nonces(w, tw.foreign, tw.farm)]
    assert not list(w.chain.trace.store.hashes())


def test_an_unregistered_gtin_is_named_with_its_event_before_anything_is_sent(tw: TraceWorld) -> None:
    w = tw.world
    unknown = gs1.make_gtin(PREFIX, 78)
    d = doc({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "epcList": [item_uri("Q1", unknown)], **when(0)})
    before = nonces(w, tw.carrier)
    with pytest.raises(InputErrors) as info:
        w.chain.actor(tw.carrier).import_document(d)
    (error,) = info.value.errors
    assert error.field == "$.epcisBody.eventList[0]"
    assert error.message.startswith("the shipping ObjectEvent of 2026-11-02T06:00:00+08:00 names no registered product")
    assert "pass --brand" in error.message
    with pytest.raises(InputErrors) as info:
        w.chain.actor(tw.carrier).import_document(d, brand=w.brand)
    (error,) = info.value.errors
    assert error.value == unknown and f"GTIN {unknown}, which is not a registered product" in error.message
    assert nonces(w, tw.carrier) == before


# -- every GS1 example the schema accepts ----------------------------------------------------


def _examples() -> list[Path]:
    """GS1's examples (JSON-LD and XML) and the documents of GS1's event hash test suite (sensor
    data, all GS1 keys, every event type)."""
    shared = [*sorted(gs1_epcis.EXAMPLES.glob("*.jsonld")), *sorted(gs1_epcis.XML_EXAMPLES.glob("*.xml"))]
    refused = {"vectors.json", "SensorDataExamples.xml", "epclist_normalisation.jsonld"}  # see test_what_the_standard_refuses
    suite = [p for p in sorted((FIXTURES / "hash").iterdir()) if p.suffix in (".json", ".jsonld", ".xml") and p.name not in refused]
    return [*shared, *suite]


def _load(path: Path) -> epcis.EpcisDocument:
    return epcis.parse_xml_document(path.read_bytes(), source=path.name) if path.suffix == ".xml" else epcis.load_document(path)


@pytest.fixture(scope="module")
def examples_world(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TraceWorld, int]]:
    """One chain (the session's Anvil: 45 documents recorded on py-evm took minutes) whose test
    brand owns every company prefix the examples use."""
    gtins = {s.gtin for p in _examples() for e in _load(p).events for s in (*e.primary_subjects(), *e.related_subjects()) if s.gtin}
    chain = o2ochain.O2OChain(http_web3(anvil.url), accounts=dev_accounts(10))
    folder = tmp_path_factory.mktemp("breadth")
    w = build_world(chain, folder / "deployments")
    a = chain.accounts
    prefixes = sorted({g[1:8] for g in gtins} - {PREFIX, OTHER_PREFIX})
    brand = chain.admin(w.operator).register_brand(a[6].address, "GS1 examples", prefixes)
    ba = chain.brand(a[6], brand)
    for g in sorted(gtins):
        ba.add_product(g)
    tw = _grant(w, folder / "events")
    chain.trace_admin(a[6], brand).grant(tw.farm.address, "other")
    yield tw, brand
    chain.close()


@pytest.mark.parametrize("path", _examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_gs1_example_is_recorded_verbatim(examples_world: tuple[TraceWorld, int], path: Path) -> None:
    """Every event type, error declarations, sensor data, extensions: each event anchored, its
    stored copy the very JSON value of the document (extension fields kept as they were)."""
    tw, brand = examples_world
    document = _load(path)
    report = tw.world.chain.actor(tw.farm).record_events(document.events, brand=brand, source=path.name)
    assert report.events == len(document.events) and report.recorded + report.already == report.entries >= len(document.events)
    store = tw.world.chain.trace.store
    for event in document.events:
        assert store.get(event.content_hash) == event.raw and epcis.content_hash(store.get(event.content_hash)) == event.content_hash


def test_what_the_standard_refuses_stays_refused() -> None:
    """Two documents of GS1's hash test suite are not capturable, rightly: one puts a TransformationEvent's
    sensorElementList after its ilmd, which GS1's XSD refuses; the other lists a lot and a GTIN in an
    epcList, which EPCIS reserves for single objects (the JSON Schema only says "URIs")."""
    with pytest.raises(InputErrors, match="sensorElementList': This element is not expected"):
        _load(FIXTURES / "hash" / "SensorDataExamples.xml")
    with pytest.raises(InputErrors) as info:
        _load(FIXTURES / "hash" / "epclist_normalisation.jsonld")
    assert {e.field for e in info.value.errors} == {"$.epcisBody.eventList[0].epcList[20]", "$.epcisBody.eventList[0].epcList[21]"}
