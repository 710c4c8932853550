"""Traceability through the library on an in-process chain: import, history, export, checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import o2ochain
from o2ochain import epcis, gs1
from o2ochain.errors import ContractRevert, InputError, InputErrors, by_name
from o2ochain.identity import catalogue_from_rows
from tests import gs1_epcis
from tests.conftest import GTIN_A, GTIN_B, OTHER_PREFIX, PREFIX, World, build_world, gtin

EXAMPLES = sorted(gs1_epcis.EXAMPLES.glob("*.jsonld"))
RESOLVER = gs1.DEFAULT_RESOLVER
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=timezone(timedelta(hours=8)))


@dataclass
class TraceWorld:
    world: World
    farm: Any
    carrier: Any
    foreign: Any  # an actor of the other brand


def _grant(w: World, store: Path) -> TraceWorld:
    w.chain.use_store(store)
    a = w.chain.accounts
    farm, carrier, foreign = a[7], a[8], a[9]
    admin = w.chain.trace_admin(w.brand_admin, w.brand)
    admin.grant(farm.address, "farm")
    admin.grant(carrier.address, "logistics")
    w.chain.trace_admin(w.other_admin, w.other_brand).grant(foreign.address, "plant")
    return TraceWorld(w, farm, carrier, foreign)


@pytest.fixture
def tw(world: World, tmp_path: Path) -> TraceWorld:
    return _grant(world, tmp_path / "events")


def doc(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-20T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def when(hours: float) -> dict[str, str]:
    return {"eventTime": (T0 + timedelta(hours=hours)).isoformat(timespec="milliseconds"), "eventTimeZoneOffset": "+08:00"}


def item_uri(serial: str, g: str = GTIN_A) -> str:
    return f"{RESOLVER}/01/{g}/21/{serial}"


def lot_q(lot: str, g: str = GTIN_A, qty: float = 10) -> dict[str, Any]:
    return {"epcClass": f"{RESOLVER}/01/{g}/10/{lot}", "quantity": qty}


def sscc(n: int) -> str:
    return gs1.make_sscc(PREFIX, n)


def test_import_records_each_event_once_and_history_verifies(tw: TraceWorld) -> None:
    w = tw.world
    w.chain.registrant(w.registrant).register_items(catalogue_from_rows([(GTIN_A, "S1", "L1"), (GTIN_A, "S2", "L1")]))
    d = doc(
        {
            "type": "ObjectEvent",
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active",
            "epcList": [item_uri("S1"), item_uri("S2")],
            **when(0),
        },
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "quantityList": [lot_q("L1")],
            **when(1),
        },
    )
    report = w.chain.actor(tw.farm).import_document(d)
    assert (report.events, report.entries, report.recorded, report.already) == (2, 3, 3, 0)
    again = w.chain.actor(tw.farm).import_document(d)
    assert (again.recorded, again.already, again.transactions) == (0, 3, 0)

    history = w.chain.trace.history(item_uri("S1"))
    assert [(h.biz_step, h.relations) for h in history] == [("commissioning", ["item"]), ("shipping", ["lot"])]
    assert all(h.verified for h in history)
    assert history[0].actor == tw.farm.address and history[0].actor_kind == "farm"
    assert history[0].event is not None and history[0].event["bizStep"] == "commissioning"


def test_history_follows_containers_while_packed_and_inputs(tw: TraceWorld) -> None:
    w = tw.world
    w.chain.registrant(w.registrant).register_items(catalogue_from_rows([(GTIN_B, "J1", "JAM1"), (GTIN_B, "J2", "JAM1")]))
    pallet = f"{RESOLVER}/00/{sscc(1)}"
    w.chain.actor(tw.farm).import_document(
        doc(
            {"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning", "quantityList": [lot_q("BERRY1")], **when(0)},
            {
                "type": "TransformationEvent",
                "inputQuantityList": [lot_q("BERRY1")],
                "outputQuantityList": [lot_q("JAM1", GTIN_B, 2)],
                "bizStep": "commissioning",
                **when(1),
            },
            {
                "type": "AggregationEvent",
                "action": "ADD",
                "bizStep": "packing",
                "parentID": pallet,
                "childEPCs": [item_uri("J1", GTIN_B)],
                **when(2),
            },
        )
    )
    w.chain.actor(tw.carrier).import_document(
        doc(
            {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "epcList": [pallet], **when(3)},
            {
                "type": "AggregationEvent",
                "action": "DELETE",
                "bizStep": "unpacking",
                "parentID": pallet,
                "childEPCs": [item_uri("J1", GTIN_B)],
                **when(4),
            },
            {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving", "epcList": [pallet], **when(5)},  # after unpacking
        ),
        brand=w.brand,
    )
    steps = [(h.biz_step, tuple(h.relations)) for h in w.chain.trace.history(item_uri("J1", GTIN_B))]
    assert steps == [
        ("commissioning", ("input",)),
        ("commissioning", ("lot",)),
        ("packing", ("container",)),
        ("shipping", ("container",)),
        ("unpacking", ("container",)),
    ]
    # J2 was never on the pallet: no container events.
    assert all("container" not in h.relations for h in w.chain.trace.history(item_uri("J2", GTIN_B)))


def test_tampered_offchain_event_is_detected(tw: TraceWorld) -> None:
    w = tw.world
    w.chain.actor(tw.farm).import_document(
        doc({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "epcList": [item_uri("T1")], **when(0)})
    )
    (h,) = w.chain.trace.history(item_uri("T1"))
    assert h.verified
    path = w.chain.trace.store.path_of(bytes.fromhex(h.content_hash[2:]))
    data = json.loads(path.read_text())
    data["bizStep"] = "receiving"
    path.write_text(json.dumps(data))
    (after,) = w.chain.trace.history(item_uri("T1"))
    assert after.stored and not after.content_ok and not after.verified


def test_chain_check_detects_a_forged_offchain_history(tw: TraceWorld) -> None:
    w = tw.world
    w.chain.actor(tw.farm).import_document(
        doc(
            {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "epcList": [item_uri("C1")], **when(0)},
            {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving", "epcList": [item_uri("C1")], **when(1)},
        )
    )
    trace = w.chain.trace
    subject = gs1.item_id(GTIN_A, "C1")
    entries = trace.chain(w.brand, subject)[w.brand]
    assert trace.check_chain(w.brand, subject, entries).intact
    entries[0].meta = entries[1].meta  # someone's copy says the first event was a receiving
    assert not trace.check_chain(w.brand, subject, entries).intact
    assert not trace.check_chain(w.brand, subject, entries[1:]).intact  # or drops an event


def test_actor_of_another_brand_is_refused(tw: TraceWorld) -> None:
    d = doc({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "epcList": [item_uri("X1")], **when(0)})
    with pytest.raises(InputErrors, match=f"is not an authorised actor of brand {tw.world.brand}"):
        tw.world.chain.actor(tw.foreign).import_document(d)
    # Past the library's check, the ledger itself refuses to start a chain on the brand's item.
    ledger = tw.world.chain.trace.contract
    entry = (
        gs1.item_id(GTIN_A, "X1"),
        b"\x01" * 32,
        b"\x00" * 32,
        b"\x00" * 32,
        b"\x00" * 32,
        b"\x00" * 32,
        (1, gs1.gtin_to_int(GTIN_A), gs1.to_bytes32("X1")),
        [],
    )
    sender = tw.world.chain.actor(tw.foreign).sender
    with pytest.raises(by_name("TraceSubjectNotOfBrand")) as info:
        sender.transact(ledger.functions.record(tw.world.other_brand, [entry]))
    assert (info.value.brand, info.value.productBrand) == (tw.world.other_brand, tw.world.brand)


def hostile_entry(event: epcis.EpcisEvent, subject: epcis.Subject, *, bind: bool) -> tuple[Any, ...]:
    """A ledger entry for ``event`` on ``subject`` (a container), as a hostile actor sends it
    straight to the contract, past the library's choice of brand."""
    binding = (4, 0, gs1.to_bytes32(subject.code or "")) if bind else (0, 0, b"\x00" * 32)
    related = [s.id for s in event.related_subjects()]
    return (subject.id, event.content_hash, epcis.pack_meta(event), b"\x00" * 32, b"\x00" * 32, b"\x00" * 32, binding, related)


def test_another_brands_actor_cannot_write_into_an_items_history(tw: TraceWorld) -> None:
    w = tw.world
    w.chain.registrant(w.registrant).register_items(catalogue_from_rows([(GTIN_A, "P1", "PL1")]))
    item = item_uri("P1")
    own_pallet, foreign_pallet = f"{RESOLVER}/00/{sscc(7)}", f"{RESOLVER}/00/{gs1.make_sscc(OTHER_PREFIX, 7)}"
    # The brand's own carrier packs the item onto its pallet and ships it: that counts.
    w.chain.actor(tw.carrier).import_document(
        doc(
            {"type": "AggregationEvent", "action": "ADD", "bizStep": "packing", "parentID": own_pallet, "childEPCs": [item], **when(0)},
            {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "epcList": [own_pallet], **when(1)},
        ),
        brand=w.brand,
    )
    # Brand 2's actor, authorised by brand 2 only, packs the same item onto a pallet of its own
    # and onto the brand's pallet id (a container lives in the recording brand's namespace), then
    # declares both pallets recalled. Its events are stored too, so they would even verify.
    hostile = epcis.parse_document(
        doc(
            *(
                {"type": "AggregationEvent", "action": "ADD", "bizStep": "packing", "parentID": pallet, "childEPCs": [item], **when(2)}
                for pallet in (foreign_pallet, own_pallet)
            ),
            *(
                {
                    "type": "ObjectEvent",
                    "action": "OBSERVE",
                    "bizStep": "holding",
                    "disposition": "recalled",
                    "epcList": [pallet],
                    **when(3),
                }
                for pallet in (foreign_pallet, own_pallet)
            ),
        )
    ).events
    for event in hostile:
        w.chain.trace.store.put(event.raw)
    ledger, sender = w.chain.trace.contract, w.chain.actor(tw.foreign).sender
    packing = [hostile_entry(e, e.primary_subjects()[0], bind=True) for e in hostile[:2]]
    sender.transact(ledger.functions.record(w.other_brand, packing))
    recalls = [hostile_entry(e, e.primary_subjects()[0], bind=False) for e in hostile[2:]]
    sender.transact(ledger.functions.record(w.other_brand, recalls))
    item_id = gs1.item_id(GTIN_A, "P1")
    assert set(w.chain.trace.containers_of(item_id, w.other_brand)) == {s.id for e in hostile[:2] for s in e.primary_subjects()}

    history = w.chain.trace.history(item)
    assert [(h.biz_step, h.disposition, h.relations, h.actor) for h in history] == [
        ("packing", None, ["container"], tw.carrier.address),
        ("shipping", None, ["container"], tw.carrier.address),
    ]
    assert all(h.verified for h in history)
    assert w.chain.trace.containers_of(item_id, w.brand) == [epcis.parse_identifier(own_pallet).id]
    assert w.chain.identity.verify(item).verdict == "authentic"


def test_another_brands_actor_cannot_bind_an_items_input_as_an_asset_to_recall_it(tw: TraceWorld) -> None:
    """A transformation of the brand names two input lots: its own berries, and another brand's
    sugar. The other brand's honest record of its sugar lot belongs in the jam's history. The
    same actor cannot bind the brand's berry lot as an "asset" of its own to recall it: an
    asset's chain id is in an id space of its own, so the ledger refuses the berry lot's id."""
    w = tw.world
    from tests.conftest import GTIN_OTHER_BRAND

    w.chain.registrant(w.registrant).register_items(catalogue_from_rows([(GTIN_B, "J7", "JAM7")]))
    w.chain.actor(tw.farm).import_document(
        doc(
            {
                "type": "TransformationEvent",
                "inputQuantityList": [lot_q("BERRY7"), lot_q("SUGAR7", GTIN_OTHER_BRAND)],
                "outputQuantityList": [lot_q("JAM7", GTIN_B, 2)],
                "bizStep": "commissioning",
                **when(1),
            },
        )
    )
    sugar = {"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning", "quantityList": [lot_q("SUGAR7", GTIN_OTHER_BRAND)]}
    w.chain.actor(tw.foreign).import_document(doc({**sugar, **when(0)}))  # bound as brand 2's lot: checked by the ledger
    (recall,) = epcis.parse_document(
        doc(
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "holding",
                "disposition": "recalled",
                "quantityList": [lot_q("BERRY7")],
                **when(2),
            }
        )
    ).events
    w.chain.trace.store.put(recall.raw)
    berry = gs1.lot_id(GTIN_A, "BERRY7")
    for binding, refusal in (((5, 0, b"\x00" * 32), "TraceBindingInvalid"), ((5, 0, berry), "TraceSubjectMismatch")):
        entry = (berry, recall.content_hash, epcis.pack_meta(recall), b"\x00" * 32, b"\x00" * 32, b"\x00" * 32, binding, [])
        with pytest.raises(ContractRevert) as info:
            w.chain.actor(tw.foreign).sender.transact(w.chain.trace.contract.functions.record(w.other_brand, [entry]))
        assert type(info.value).__name__ == refusal
    assert w.chain.trace.chain(None, berry) == {}  # the other brand holds no chain on the berries

    history = w.chain.trace.history(item_uri("J7", GTIN_B))
    assert [(h.biz_step, h.disposition, h.relations, h.actor) for h in history] == [
        ("commissioning", None, ["input"], tw.foreign.address),
        ("commissioning", None, ["lot"], tw.farm.address),
    ]


def test_import_refuses_malformed_document_and_writes_nothing(tw: TraceWorld, tmp_path: Path) -> None:
    bad = doc(
        {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "epcList": ["urn:example:thing:1"], **when(0)},
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "epcList": [item_uri("Y1")],
            "eventTime": "yesterday",
            "eventTimeZoneOffset": "+08:00",
        },
    )
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(InputError) as info:
        tw.world.chain.actor(tw.farm).import_document(path)
    text = str(info.value)
    assert "eventList[0]" in text and "eventList[1].eventTime" in text
    assert tw.world.chain.trace.head(tw.world.brand, gs1.item_id(GTIN_A, "Y1")) == (b"\x00" * 32, 0)
    assert not list(tw.world.chain.trace.store.hashes())


def test_recall_disposition_shows_in_verify(tw: TraceWorld) -> None:
    w = tw.world
    w.chain.registrant(w.registrant).register_items(catalogue_from_rows([(GTIN_A, "R1", "RL1")]))
    assert w.chain.identity.verify(item_uri("R1")).verdict == "authentic"
    w.chain.actor(tw.farm).import_document(
        doc(
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "holding",
                "disposition": "recalled",
                "quantityList": [lot_q("RL1")],
                **when(0),
            }
        )
    )
    result = w.chain.identity.verify(item_uri("R1"))
    assert result.recalled_in_trace and result.verdict == "recalled"


def test_error_declaration_is_recorded_as_a_correction(tw: TraceWorld) -> None:
    w = tw.world
    first = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "epcList": [item_uri("E1")],
        "eventID": "urn:uuid:5e7a2c1e-0d5f-4c1e-9b0e-000000000001",
        **when(0),
    }
    w.chain.actor(tw.farm).import_document(doc(first))
    correction = {**first, "errorDeclaration": {"declarationTime": (T0 + timedelta(hours=2)).isoformat(), "reason": "incorrect_data"}}
    w.chain.actor(tw.farm).import_document(doc(correction))
    history = w.chain.trace.history(item_uri("E1"))
    assert [h.correction for h in history] == [False, True]
    assert history[0].event_id == history[1].event_id


def test_export_validates_and_carries_what_was_imported(tw: TraceWorld) -> None:
    w = tw.world
    events = [
        {
            "type": "ObjectEvent",
            "action": "ADD",
            "bizStep": "commissioning",
            "epcList": [item_uri("X9")],
            "example:note": "kept",
            **when(0),
        },
        {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "epcList": [item_uri("X9")], **when(1)},
    ]
    w.chain.actor(tw.farm).import_document(doc(*events))
    exported = w.chain.trace.export(item_uri("X9"))
    epcis.validate_document(exported, source="export")
    back = epcis.parse_document(exported, source="export")
    assert [e.content_hash for e in back.events] == [epcis.content_hash(e) for e in events]


# -- every shared GS1 example: import, then export each item's history (round trip) -------------
def _examples() -> list[Path]:
    return EXAMPLES


@pytest.fixture(scope="module")
def example_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TraceWorld, dict[str, int]]]:
    """One chain whose test brand owns every company prefix the examples use."""
    gtins: set[str] = set()
    for path in _examples():
        for event in epcis.load_document(path).events:
            for s in (*event.primary_subjects(), *event.related_subjects()):
                if s.gtin:
                    gtins.add(s.gtin)
    prefixes = sorted({g[1:8] for g in gtins})
    # A real Anvil: 23 documents and their histories make thousands of log queries, which
    # eth-tester answers by scanning every block.
    chain = o2ochain.connect("anvil")
    folder = tmp_path_factory.mktemp("examples")
    w = build_world(chain, folder / "deployments")
    a = chain.accounts
    brand = chain.admin(w.operator).register_brand(a[6].address, "GS1 examples", [p for p in prefixes if p not in {PREFIX, OTHER_PREFIX}])
    ba = chain.brand(a[6], brand)
    for g in sorted(gtins):
        ba.add_product(g)
    tw = _grant(w, folder / "events")
    chain.trace_admin(a[6], brand).grant(tw.farm.address, "other")
    yield tw, {"brand": brand}
    chain.close()


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.stem)
def test_every_example_imports_and_exports_round_trip(example_world: tuple[TraceWorld, dict[str, int]], path: Path) -> None:
    tw, info = example_world
    document = epcis.load_document(path)
    report = tw.world.chain.actor(tw.farm).import_document(path, brand=info["brand"])
    assert report.events == len(document.events)
    assert report.recorded + report.already == report.entries > 0
    items = {s.uri: s for e in document.events for s in e.primary_subjects() if s.kind == "item"}
    for uri in list(items)[:3]:
        exported = tw.world.chain.trace.export(uri)
        epcis.validate_document(exported, source=f"export of {uri}")
        exported_hashes = {epcis.content_hash(e) for e in exported["epcisBody"]["eventList"]}
        imported = {e.content_hash for e in document.events if any(s.uri == uri for s in e.primary_subjects())}
        assert imported <= exported_hashes


def test_actor_kinds_are_named(tw: TraceWorld) -> None:
    with pytest.raises(InputError, match="actor kind must be one of"):
        tw.world.chain.trace_admin(tw.world.brand_admin, tw.world.brand).grant(tw.farm.address, "wizard")
    assert tw.world.chain.trace.actor_kind(tw.world.brand, tw.carrier.address) == "logistics"
    assert gtin(PREFIX, 1)  # the helper builds valid GTINs under the brand's prefix


def test_a_partners_event_naming_a_product_not_of_the_brand_is_refused_before_anything_is_sent(tw: TraceWorld) -> None:
    """The brand's carrier anchors a partner's document: its shipping event names one of the
    brand's items and an item of a GTIN the registry does not know. The library names that event
    and that GTIN, and nothing is stored or sent (the ledger would refuse it: TraceSubjectNotOfBrand)."""
    w = tw.world
    unknown = gtin(PREFIX, 77)  # under the brand's prefix, but never registered as a product
    d = doc(
        {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving", "epcList": [item_uri("P1")], **when(0)},
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "epcList": [item_uri("P2"), item_uri("Z9", unknown)],
            **when(1),
        },
    )
    sent = w.chain.w3.eth.get_transaction_count(tw.carrier.address)
    with pytest.raises(InputErrors) as info:
        w.chain.actor(tw.carrier).import_document(d)
    (problem,) = info.value.errors
    assert problem.field == "$.epcisBody.eventList[1]" and problem.value == unknown
    assert problem.message.startswith(f"the shipping ObjectEvent of 2026-11-02T07:00:00+08:00 names {item_uri('Z9', unknown)}")
    assert f"GTIN {unknown}, which is not a registered product" in problem.message and f"brand {w.brand} here" in problem.message
    assert w.chain.w3.eth.get_transaction_count(tw.carrier.address) == sent
    assert not list(w.chain.trace.store.hashes())


def test_calls_encoded_by_eth_abi_are_the_bytes_web3_encodes(tw: TraceWorld) -> None:
    """A capture sends its record batches and reads chain heads through EncodedCall (eth_abi,
    encoded once) rather than web3's slower encoder: the calldata must be the very same bytes,
    and a view's answer the same values."""
    from o2ochain._chain.tx import EncodedCall, call_view

    w = tw.world
    ledger = w.chain.trace.contract
    subject = gs1.item_id(GTIN_A, "ENC1")
    entry = (
        subject,
        b"\x01" * 32,
        b"\x02" * 32,
        b"\x00" * 32,
        b"\x03" * 32,
        b"\x00" * 32,
        (1, int(GTIN_A), b"E" + b"\x00" * 31),
        [b"\x04" * 32],
    )
    args = (w.brand, [entry, entry])
    assert EncodedCall.of(ledger, "record", args).data == bytes.fromhex(ledger.encode_abi("record", args=list(args))[2:])
    subjects = [subject, b"\x05" * 32]
    heads, counts = EncodedCall.of(ledger, "heads", (w.brand, subjects)).call()
    expected = call_view(ledger.functions.heads(w.brand, subjects))
    assert [bytes(h) for h in heads] == [bytes(h) for h in expected[0]] and list(counts) == list(expected[1])
