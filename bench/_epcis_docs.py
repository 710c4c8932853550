"""Large, realistic EPCIS 2.0 JSON-LD documents, for the validation benchmark (issue 17: ``validate_50mb_s``).

A partner's nightly upload: a few months of one site's events in one document, every event valid
for GS1's schema and for o2ochain (known identifier schemes, locations as SGLNs, RFC 3339 times
with a zone), deterministic from a seed. The mix is what a packing and shipping site sends:

- ObjectEvents (about 62%): items commissioned (with ``ilmd``: lot, best-before date), observed,
  shipped and received (with ``bizTransactionList``, ``sourceList`` / ``destinationList``),
  some on lots by quantity, some carrying a cold store's temperature log (``sensorElementList``),
  some location-only sensor readings;
- AggregationEvents (about 18%): items packed onto or taken off a pallet (SSCC);
- TransactionEvents (about 8%): a purchase order or despatch advice naming goods;
- TransformationEvents (about 6%): lots transformed into a new lot, with ``ilmd``;
- AssociationEvents (about 6%): sensors and returnable assets attached to a pallet;

with the occasional ``eventID``, ``recordTime``, ``errorDeclaration``, ``persistentDisposition``
and vendor extension fields (``example:…``, declared in ``@context``). Written as compact JSON
(no indentation), as machines exchange it: 220,000 events are about 50 MB.

    .venv/bin/python bench/_epcis_docs.py /tmp/epcis-50mb.jsonld --events 220000

:func:`make_document` returns the document as Python objects, :func:`document_bytes` its UTF-8
JSON text.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

EPCIS_CONTEXT = "https://gs1.github.io/EPCIS/epcis-context-simple.jsonld"
EXAMPLE_NS = "http://ns.example.com/epcis/"
START = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
STEP = timedelta(seconds=20)
ZONES = (("+01:00", 60), ("+02:00", 120), ("-05:00", -300), ("+00:00", 0), ("+05:30", 330))
COMPANIES = ("0614141", "4012345", "9506000")
SITES = (("0614141", "00777"), ("0614141", "00888"), ("4012345", "00001"), ("9506000", "13435"))
SENSOR_TYPES = (("Temperature", "CEL"), ("RelativeHumidity", "A93"), ("Illuminance", "LUX"))


def _item_ref(rng: random.Random) -> tuple[str, str]:
    company = rng.choice(COMPANIES)
    # An item reference filling the 13 digits of company prefix + reference.
    return company, f"{rng.randrange(10 ** (13 - len(company) - 1)):0{13 - len(company)}d}"


def _sgtin(rng: random.Random) -> str:
    company, ref = _item_ref(rng)
    return f"urn:epc:id:sgtin:{company}.{ref}.{rng.randrange(1, 10**5)}"


def _lgtin(rng: random.Random) -> str:
    company, ref = _item_ref(rng)
    return f"urn:epc:class:lgtin:{company}.{ref}.L{rng.randrange(1, 10**4)}"


def _sscc(rng: random.Random) -> str:
    company = rng.choice(COMPANIES)
    return f"urn:epc:id:sscc:{company}.{rng.randrange(10 ** (17 - len(company))):0{17 - len(company)}d}"


def _sgln(rng: random.Random) -> dict[str, str]:
    company, location = rng.choice(SITES)
    return {"id": f"urn:epc:id:sgln:{company}.{location}.0"}


def _time(index: int, rng: random.Random) -> tuple[str, str, datetime]:
    """An event time in one of a few zones, with milliseconds, and its offset."""
    zone, minutes = ZONES[index % len(ZONES)]
    moment = (START + index * STEP + timedelta(milliseconds=rng.randrange(20_000))).astimezone(timezone(timedelta(minutes=minutes)))
    if minutes == 0:
        # Some senders write UTC as Z and leave out milliseconds.
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ"), zone, moment
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + zone
    return text, zone, moment


def _quantity(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {"epcClass": _lgtin(rng), "quantity": rng.randrange(1, 500)}
    return {"epcClass": _lgtin(rng), "quantity": round(rng.uniform(1, 900), 1), "uom": "KGM"}


def _sensors(rng: random.Random, moment: datetime, zone: str) -> list[dict[str, Any]]:
    kind, uom = rng.choice(SENSOR_TYPES)
    reports: list[dict[str, Any]] = [
        {"type": kind, "value": round(rng.uniform(-20, 30), 1), "uom": uom} for _ in range(rng.randrange(1, 4))
    ]
    if rng.random() < 0.3:
        reports.append({"type": kind, "minValue": -2.5, "maxValue": 8.0, "meanValue": round(rng.uniform(0, 6), 2), "uom": uom})
    begin = (moment - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S.000") + zone
    return [{"sensorMetadata": {"time": begin, "deviceID": f"urn:epc:id:giai:4000001.{rng.randrange(10**5)}"}, "sensorReport": reports}]


def _optional(rng: random.Random, chance: float, name: str, make: Callable[[], Any]) -> dict[str, Any]:
    """``{name: make()}`` one time in ``1 / chance``, else nothing: a field some events carry."""
    return {name: make()} if rng.random() < chance else {}


def _base(index: int, rng: random.Random, event_type: str) -> tuple[dict[str, Any], datetime, str]:
    text, zone, moment = _time(index, rng)
    event: dict[str, Any] = {"type": event_type, "eventTime": text, "eventTimeZoneOffset": zone}
    if rng.random() < 0.05:
        event["eventID"] = f"urn:uuid:{rng.getrandbits(128):032x}"
    if rng.random() < 0.03:
        event["recordTime"] = (moment + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S.000") + zone
    return event, moment, zone


def _object(index: int, rng: random.Random) -> dict[str, Any]:
    event, moment, zone = _base(index, rng, "ObjectEvent")
    roll = rng.random()
    if roll < 0.02:
        # A cold store's temperature log: a location and readings, no goods named.
        event.update(action="OBSERVE", epcList=[], bizStep="sensor_reporting", readPoint=_sgln(rng))
        event["sensorElementList"] = _sensors(rng, moment, zone)
        return event
    if roll < 0.2:
        event.update(action="ADD", epcList=[_sgtin(rng)], bizStep="commissioning", disposition="active")
        event["readPoint"] = _sgln(rng)
        if rng.random() < 0.1:
            event["ilmd"] = {"example:lot": f"L{rng.randrange(10**4)}", "example:bestBefore": moment.date().isoformat()}
        return event
    step, disposition = rng.choice((("shipping", "in_transit"), ("receiving", "in_progress"), ("storing", "sellable_not_accessible")))
    event.update(action="OBSERVE", bizStep=step)
    if rng.random() < 0.3:
        event["disposition"] = disposition
    if rng.random() < 0.1:
        event["quantityList"] = [_quantity(rng)]
    else:
        event["epcList"] = [_sgtin(rng) for _ in range(1 if rng.random() < 0.85 else 2)]
    if rng.random() < 0.6:
        # A handheld scan sent without a configured read point names none.
        event["readPoint"] = _sgln(rng)
    if rng.random() < 0.05:
        event["bizLocation"] = _sgln(rng)
    if step != "storing" and rng.random() < 0.05:
        event["bizTransactionList"] = [{"type": "desadv", "bizTransaction": f"urn:epcglobal:cbv:bt:0614141073467:{rng.randrange(10**5)}"}]
        event["sourceList"] = [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}]
        event["destinationList"] = [{"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00000"}]
    if rng.random() < 0.03:
        event["sensorElementList"] = _sensors(rng, moment, zone)
    if rng.random() < 0.01:
        event["persistentDisposition"] = {"set": ["completeness_verified"]}
    if rng.random() < 0.01:
        event["errorDeclaration"] = {"declarationTime": event["eventTime"], "reason": "incorrect_data"}
    if rng.random() < 0.05:
        event["example:shift"] = rng.choice(("early", "late", "night"))
    return event


def _aggregation(index: int, rng: random.Random) -> dict[str, Any]:
    event, _, _ = _base(index, rng, "AggregationEvent")
    action = "ADD" if rng.random() < 0.75 else "DELETE"
    event.update(
        action=action,
        parentID=_sscc(rng),
        childEPCs=[_sgtin(rng) for _ in range(1 if rng.random() < 0.8 else 3)],
        bizStep="packing" if action == "ADD" else "unpacking",
        readPoint=_sgln(rng),
        **_optional(rng, 0.1, "childQuantityList", lambda: [_quantity(rng)]),
    )
    return event


def _transaction(index: int, rng: random.Random) -> dict[str, Any]:
    event, _, _ = _base(index, rng, "TransactionEvent")
    event.update(
        action="ADD",
        bizTransactionList=[
            {"type": "po", "bizTransaction": f"http://transaction.acme.com/po/{rng.randrange(10**8)}"},
            {"type": "inv", "bizTransaction": f"urn:epcglobal:cbv:bt:4012345000009:{rng.randrange(10**5)}"},
        ],
        epcList=[_sgtin(rng) for _ in range(rng.randrange(1, 3))],
        bizStep="shipping",
        disposition="in_transit",
        **_optional(rng, 0.5, "parentID", lambda: _sscc(rng)),
    )
    return event


def _transformation(index: int, rng: random.Random) -> dict[str, Any]:
    event, _, _ = _base(index, rng, "TransformationEvent")
    event.update(
        inputQuantityList=[_quantity(rng) for _ in range(rng.randrange(1, 3))],
        outputQuantityList=[{"epcClass": _lgtin(rng), "quantity": rng.randrange(10, 1000)}],
        bizStep="commissioning",
        readPoint=_sgln(rng),
        ilmd={"example:bestBefore": "2026-01-31", "example:origin": rng.choice(("DE", "FR", "NL"))},
        **_optional(rng, 0.3, "inputEPCList", lambda: [_sgtin(rng)]),
    )
    return event


def _association(index: int, rng: random.Random) -> dict[str, Any]:
    event, moment, zone = _base(index, rng, "AssociationEvent")
    event.update(
        action="ADD",
        parentID=f"urn:epc:id:grai:4012345.55555.{rng.randrange(10**4)}",
        childEPCs=[f"urn:epc:id:giai:4000001.{rng.randrange(10**5)}"],
        bizStep="assembling",
        readPoint=_sgln(rng),
        **_optional(rng, 0.3, "sensorElementList", lambda: _sensors(rng, moment, zone)),
    )
    return event


_KINDS = ((_object, 74), (_aggregation, 16), (_transaction, 3), (_transformation, 3), (_association, 4))


def make_events(count: int, seed: int = 17) -> list[dict[str, Any]]:
    """``count`` valid events of the mix in the module docstring, in time order."""
    rng = random.Random(seed)
    makers = [maker for maker, _ in _KINDS]
    weights = [weight for _, weight in _KINDS]
    return [rng.choices(makers, weights)[0](index, rng) for index in range(count)]


def make_document(count: int, seed: int = 17) -> dict[str, Any]:
    """An ``EPCISDocument`` with ``count`` events (see :func:`make_events`) and a sender's header."""
    return {
        "@context": [EPCIS_CONTEXT, {"example": EXAMPLE_NS}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-06-01T00:00:00.000Z",
        "epcisBody": {"eventList": make_events(count, seed)},
    }


def document_bytes(count: int, seed: int = 17) -> bytes:
    """:func:`make_document` as compact UTF-8 JSON."""
    return json.dumps(make_document(count, seed), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("out", type=Path, help="file to write the document to")
    parser.add_argument("--events", type=int, default=220_000, help="number of events (default 220,000: about 50 MB)")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    data = document_bytes(args.events, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out}: {args.events} events, {len(data) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
