"""The demo's supply chain: strawberries from a farm, jam from a plant, pallets by a carrier, a store.

Everything is written as EPCIS 2.0 documents, one per actor and step, and imported through the
same path a real actor would use (:meth:`o2ochain.trace.Actor.import_document`). Two jam lots
are made; the second is made from a strawberry lot that turns out to be contaminated, and the
plant records its recall.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from eth_account.signers.local import LocalAccount

from o2ochain import gs1
from o2ochain.client import O2OChain
from o2ochain.identity import CatalogueItem, catalogue_from_rows

RESOLVER = gs1.DEFAULT_RESOLVER
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CST = timezone(timedelta(hours=8))
#: The JSON-LD namespace of o2ochain's EPCIS extension fields (the recall notice's ``o2o:recall``).
RECALL_NAMESPACE = "https://o2ochain.org/epcis/"


@dataclass
class SupplyChain:
    """What the demo's supply chain produced, for the printed instructions and the tests."""

    good_items: list[CatalogueItem]
    recalled_items: list[CatalogueItem]
    #: Content hash of the plant's recall event: the notice the registry's recall names.
    recall_notice: bytes
    pallet: str
    events: int
    entries: int


def epcis_document(events: list[dict[str, Any]], prefixes: dict[str, str] | None = None) -> dict[str, Any]:
    """An EPCIS 2.0 document holding ``events``, created when its last event happened;
    ``prefixes`` are the JSON-LD prefixes of the extension fields its events use."""
    return {
        "@context": [CONTEXT, prefixes] if prefixes else [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": events[-1]["eventTime"],
        "epcisBody": {"eventList": events},
    }


def event_time(t: datetime) -> dict[str, str]:
    """An event's ``eventTime`` and offset (the demo's places are in UTC+8)."""
    return {"eventTime": t.isoformat(timespec="milliseconds"), "eventTimeZoneOffset": "+08:00"}


def location(gln: str) -> dict[str, str]:
    """A read point or business location by its GLN, as a Digital Link."""
    return {"id": f"{RESOLVER}/414/{gln}"}


def lot_quantity(gtin: str, lot: str, quantity: float, uom: str | None = None) -> dict[str, Any]:
    """A quantity element of ``quantity`` (in ``uom`` if given) of one lot of ``gtin``."""
    q: dict[str, Any] = {"epcClass": f"{RESOLVER}/01/{gtin}/10/{lot}", "quantity": quantity}
    if uom:
        q["uom"] = uom
    return q


def _uri(item: CatalogueItem) -> str:
    return f"{RESOLVER}/01/{item.gtin}/21/{item.serial}"


def run_supply_chain(
    chain: O2OChain,
    *,
    brand: int,
    prefix: str,
    brand_admin: LocalAccount,
    registrant: LocalAccount,
    farm: LocalAccount,
    plant: LocalAccount,
    carrier: LocalAccount,
    store: LocalAccount,
    jam_gtin: str,
    strawberry_gtin: str,
    sugar_gtin: str,
    start: datetime | None = None,
) -> SupplyChain:
    """Grant the actors, register two jam lots, and record their whole journey."""
    t = start or datetime(2026, 11, 2, 6, 0, tzinfo=CST)
    farm_gln, plant_gln, dock_gln, dc_gln, store_gln = (gs1.make_gln(prefix, n) for n in (101, 201, 202, 301, 401))
    admin = chain.trace_admin(brand_admin, brand)
    from o2ochain.epcis import location_id

    for account, kind, gln in (
        (farm, "farm", farm_gln),
        (plant, "plant", plant_gln),
        (carrier, "logistics", dc_gln),
        (store, "store", store_gln),
    ):
        admin.grant(account.address, kind, location_id(f"{RESOLVER}/414/{gln}"))
    # Who they are, published by the brand (content-addressed, its hash on chain): the page
    # names each party and place from these, never from what the parties say of themselves.
    # Businesses and their sites, public like a channel's name: no person's data.
    directory = (
        (farm, {"name": "Hillside Strawberry Farm", "city": "Jinzhou", "places": [{"gln": farm_gln, "name": "Hillside Farm fields", "city": "Jinzhou"}]}),
        (
            plant,
            {
                "name": "Jinzhou Orchard Co-op jam kitchen",
                "city": "Jinzhou",
                "places": [{"gln": plant_gln, "name": "the jam kitchen", "city": "Jinzhou"}, {"gln": dock_gln, "name": "the jam kitchen's loading dock", "city": "Jinzhou"}],
            },
        ),
        (carrier, {"name": "Bohai Cold Chain", "city": "Dalian", "places": [{"gln": dc_gln, "name": "Bohai cold store", "city": "Dalian"}]}),
        (store, {"name": "Dalian Coast, Zhongshan Road store", "city": "Dalian", "places": [{"gln": store_gln, "name": "Zhongshan Road store", "city": "Dalian"}]}),
    )
    for account, entry in directory:
        admin.set_profile(account.address, entry, chain.reviews.content)

    jars = catalogue_from_rows([(jam_gtin, f"J{n:06d}", "JAM2611-01", "2027-11-30") for n in range(1, 25)], source="demo jam lot 1")
    bad_jars = catalogue_from_rows([(jam_gtin, f"J{n:06d}", "JAM2611-02", "2027-11-30") for n in range(101, 113)], source="demo jam lot 2")
    chain.registrant(registrant).register_items(jars + bad_jars)
    pallet = gs1.make_sscc(prefix, 1)
    events = 0
    entries = 0

    def send(actor: LocalAccount, evs: list[dict[str, Any]], prefixes: dict[str, str] | None = None) -> list[bytes]:
        nonlocal events, entries
        report = chain.actor(actor).import_document(epcis_document(evs, prefixes), brand=brand)
        events += report.events
        entries += report.entries
        return list(report.anchors)

    # The farm harvests two lots of strawberries and ships them to the plant.
    for lot, hours in (("STR2611-A", 0), ("STR2611-B", 1)):
        harvest = t + timedelta(hours=hours)
        send(
            farm,
            [
                {
                    "type": "ObjectEvent",
                    "action": "ADD",
                    "bizStep": "commissioning",
                    "disposition": "active",
                    "quantityList": [lot_quantity(strawberry_gtin, lot, 500, "KGM")],
                    "bizLocation": location(farm_gln),
                    "readPoint": location(farm_gln),
                    **event_time(harvest),
                },
                {
                    "type": "ObjectEvent",
                    "action": "OBSERVE",
                    "bizStep": "shipping",
                    "disposition": "in_transit",
                    "quantityList": [lot_quantity(strawberry_gtin, lot, 500, "KGM")],
                    "readPoint": location(farm_gln),
                    **event_time(harvest + timedelta(hours=3)),
                },
            ],
        )
    # The plant receives them and makes jam: lot 1 from strawberries A, lot 2 from B.
    t2 = t + timedelta(hours=8)
    send(
        plant,
        [
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "receiving",
                "disposition": "in_progress",
                "quantityList": [
                    lot_quantity(strawberry_gtin, "STR2611-A", 500, "KGM"),
                    lot_quantity(strawberry_gtin, "STR2611-B", 500, "KGM"),
                ],
                "readPoint": location(plant_gln),
                "bizLocation": location(plant_gln),
                **event_time(t2),
            },
            {
                "type": "TransformationEvent",
                "bizStep": "commissioning",
                "disposition": "active",
                "inputQuantityList": [
                    lot_quantity(strawberry_gtin, "STR2611-A", 300, "KGM"),
                    lot_quantity(sugar_gtin, "SUG-0931", 150, "KGM"),
                ],
                "outputEPCList": [_uri(j) for j in jars],
                "outputQuantityList": [lot_quantity(jam_gtin, "JAM2611-01", len(jars))],
                "readPoint": location(plant_gln),
                "bizLocation": location(plant_gln),
                **event_time(t2 + timedelta(hours=4)),
            },
            {
                "type": "TransformationEvent",
                "bizStep": "commissioning",
                "disposition": "active",
                "inputQuantityList": [
                    lot_quantity(strawberry_gtin, "STR2611-B", 200, "KGM"),
                    lot_quantity(sugar_gtin, "SUG-0931", 100, "KGM"),
                ],
                "outputEPCList": [_uri(j) for j in bad_jars],
                "outputQuantityList": [lot_quantity(jam_gtin, "JAM2611-02", len(bad_jars))],
                "readPoint": location(plant_gln),
                "bizLocation": location(plant_gln),
                **event_time(t2 + timedelta(hours=5)),
            },
            {
                "type": "AggregationEvent",
                "action": "ADD",
                "bizStep": "packing",
                "disposition": "in_progress",
                "parentID": f"{RESOLVER}/00/{pallet}",
                "childEPCs": [_uri(j) for j in jars],
                "readPoint": location(dock_gln),
                "bizLocation": location(plant_gln),
                **event_time(t2 + timedelta(hours=6)),
            },
        ],
    )
    # The carrier takes the pallet to the store's distribution centre.
    t3 = t2 + timedelta(hours=10)
    send(
        carrier,
        [
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "epcList": [f"{RESOLVER}/00/{pallet}"],
                "readPoint": location(dock_gln),
                **event_time(t3),
            },
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "receiving",
                "disposition": "in_progress",
                "epcList": [f"{RESOLVER}/00/{pallet}"],
                "readPoint": location(dc_gln),
                "bizLocation": location(dc_gln),
                **event_time(t3 + timedelta(hours=20)),
            },
        ],
    )
    # The store unpacks the pallet and puts the jars on the shelf.
    t4 = t3 + timedelta(days=1, hours=4)
    send(
        store,
        [
            {
                "type": "AggregationEvent",
                "action": "DELETE",
                "bizStep": "unpacking",
                "disposition": "in_progress",
                "parentID": f"{RESOLVER}/00/{pallet}",
                "childEPCs": [_uri(j) for j in jars],
                "readPoint": location(store_gln),
                "bizLocation": location(store_gln),
                **event_time(t4),
            },
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "stocking",
                "disposition": "sellable_accessible",
                "quantityList": [lot_quantity(jam_gtin, "JAM2611-01", len(jars))],
                "readPoint": location(store_gln),
                "bizLocation": location(store_gln),
                **event_time(t4 + timedelta(hours=1)),
            },
        ],
    )
    # A laboratory finds strawberries B contaminated: the plant recalls jam lot 2, with a notice
    # that says why and what to do (o2ochain's recall fields, src/o2ochain/trace/README.md).
    (notice,) = send(
        plant,
        [
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "holding",
                "disposition": "recalled",
                "quantityList": [lot_quantity(jam_gtin, "JAM2611-02", len(bad_jars))],
                "readPoint": location(plant_gln),
                "bizLocation": location(plant_gln),
                **event_time(t4 + timedelta(hours=6)),
                "o2o:recall": {
                    "reason": {
                        "zh-CN": "实验室检测发现，制作这批果酱所用的草莓含有李斯特菌。",
                        "en": "A laboratory test found Listeria in the strawberries this jam lot was made from.",
                    },
                    "action": {
                        "zh-CN": "请勿食用。请将果酱退回商店，无论有无小票均可全额退款。",
                        "en": "Do not eat it. Take the jar back to the shop for a full refund, with or without a receipt.",
                    },
                    "contact": {"zh-CN": "锦州果园合作社质量热线 400-800-1234", "en": "Jinzhou Orchard Co-op quality line, 400-800-1234"},
                },
            },
        ],
        {"o2o": RECALL_NAMESPACE},
    )
    return SupplyChain(good_items=jars, recalled_items=bad_jars, recall_notice=notice, pallet=pallet, events=events, entries=entries)


def partner_sample(prefix: str, when: datetime) -> dict[str, Any]:
    """What the demo's carrier's own system posts to ``/epcis/capture``: the cold store's
    temperature log at its distribution centre (an event about a place alone) and the jam pallet
    inspected on arrival there."""
    dc = location(gs1.make_gln(prefix, 301))
    pallet = f"{RESOLVER}/00/{gs1.make_sscc(prefix, 1)}"
    reading = {
        "sensorMetadata": {"time": when.isoformat(timespec="seconds"), "deviceID": f"{RESOLVER}/8004/{prefix}COLD01"},
        "sensorReport": [{"type": "Temperature", "value": 3.5, "uom": "CEL"}, {"type": "RelativeHumidity", "value": 82, "uom": "P1"}],
    }
    return epcis_document(
        [
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "sensor_reporting",
                "readPoint": dc,
                "sensorElementList": [reading],
                **event_time(when),
            },
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "inspecting",
                "disposition": "in_progress",
                "epcList": [pallet],
                "readPoint": dc,
                "bizLocation": dc,
                **event_time(when + timedelta(minutes=5)),
            },
        ]
    )
