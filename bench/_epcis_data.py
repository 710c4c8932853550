"""Synthetic EPCIS events in bulk, for the repository's query benchmark and tests (issue 17).

A year of a supply chain, deterministic from a seed: products of a few companies commissioned,
packed onto pallets, shipped, received and sold; some transformed into new lots. Event ``i``
happens at ``START + i * STEP`` (plus up to a minute of jitter), as events do when they are
captured as they happen, and is recorded up to ten minutes later. Each event names one to four
items (serialised GTINs), a pallet (SSCC) as parent or child, or lots in quantity lists, so that
an item appears in a handful of events, a GTIN in thousands and a bizStep in a fifth of them.

:func:`load` stores ``n`` of them through :meth:`EventRepository.add_events` in large batches
(multi-row INSERTs, no COPY: the same path a capture takes), already anchored.
:func:`query_mix` draws the queries a partner's system sends (one item's history, a day of
shipping at a site, a week of events, every item of a GTIN …) with values that exist in the
data; :func:`time_queries` runs them and returns each one's time.

    .venv/bin/python bench/_epcis_data.py --events 1000000 --database /tmp/events.sqlite
    .venv/bin/python bench/_epcis_data.py --events 1000000 --database postgresql://u:p@host:port/db
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from o2ochain.serve import Anchor, EventRepository, NewEvent  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=30)  # 1,000,000 events span about a year
COMPANIES = ("0614141", "0614142", "4012345", "9506000", "9506001")
PRODUCTS_PER_COMPANY = 40
BIZ_STEPS = (
    ("commissioning", 20),
    ("packing", 15),
    ("shipping", 20),
    ("receiving", 20),
    ("storing", 10),
    ("retail_selling", 10),
    ("inspecting", 3),
    ("destroying", 1),
    ("urn:example:bizstep:relabelling", 1),
)
DISPOSITIONS = ("active", "in_progress", "in_transit", "sellable_accessible", "retail_sold", "destroyed")
SITES = 200  # business locations (GLNs); each has 3 read points


@dataclass(frozen=True)
class World:
    """What the generator drew from, so that queries can name values that exist."""

    events: int
    seed: int

    def gtin_pattern(self, rng: random.Random) -> str:
        company = rng.choice(COMPANIES)
        return f"urn:epc:idpat:sgtin:{company}.{rng.randrange(PRODUCTS_PER_COMPANY):06d}.*"

    def item(self, rng: random.Random) -> str:
        """An item that some event names (items are numbered by the event that commissioned them)."""
        index = rng.randrange(self.events)
        return _item(random.Random(self.seed * 1_000_003 + index), index)

    def site(self, rng: random.Random) -> str:
        return _site(rng.randrange(SITES))

    def read_point(self, rng: random.Random) -> str:
        return f"{_site(rng.randrange(SITES))[:-1]}{rng.randrange(1, 4)}"

    def day(self, rng: random.Random, days: int = 1) -> tuple[str, str]:
        span = STEP * self.events
        begin = START + timedelta(seconds=rng.uniform(0, max(span.total_seconds() - days * 86400, 0)))
        return _time(begin), _time(begin + timedelta(days=days))


def _time(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _site(n: int) -> str:
    return f"urn:epc:id:sgln:{COMPANIES[n % len(COMPANIES)]}.{n:05d}.0"


def _product(rng: random.Random) -> tuple[str, str]:
    return rng.choice(COMPANIES), f"{rng.randrange(PRODUCTS_PER_COMPANY):06d}"


def _item(rng: random.Random, index: int) -> str:
    company, product = _product(rng)
    return f"urn:epc:id:sgtin:{company}.{product}.{index:x}"


def synthetic_events(count: int, *, seed: int = 17, start: int = 0) -> Iterator[NewEvent]:
    """Events ``start`` … ``start + count - 1`` of the synthetic year, anchored, each with an id."""
    rng = random.Random(seed)
    steps = [s for s, _ in BIZ_STEPS]
    weights = [w for _, w in BIZ_STEPS]
    for i in range(start, start + count):
        rng.seed(seed * 1_000_003 + i)
        when = START + STEP * i + timedelta(milliseconds=rng.randrange(60_000))
        site = rng.randrange(SITES)
        # Items named by this event: the one it commissions and up to three earlier ones.
        items = [_item(random.Random(seed * 1_000_003 + i), i)]
        items += [_item(random.Random(seed * 1_000_003 + j), j) for j in (rng.randrange(max(i, 1)) for _ in range(rng.randrange(4)))]
        kind = rng.random()
        event: dict[str, Any] = {
            "type": "ObjectEvent",
            "eventTime": _time(when),
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
            "bizStep": rng.choices(steps, weights)[0],
            "disposition": rng.choice(DISPOSITIONS),
            "readPoint": {"id": f"{_site(site)[:-1]}{rng.randrange(1, 4)}"},
            "bizLocation": {"id": _site(site)},
        }
        if kind < 0.65:
            event["epcList"] = items
            if rng.random() < 0.3:
                company, product = _product(rng)
                event["quantityList"] = [
                    {"epcClass": f"urn:epc:class:lgtin:{company}.{product}.L{i % 997}", "quantity": rng.randrange(1, 50)}
                ]
        elif kind < 0.85:
            event |= {"type": "AggregationEvent", "action": rng.choice(("ADD", "ADD", "DELETE"))}
            event["parentID"] = f"urn:epc:id:sscc:{COMPANIES[i % len(COMPANIES)]}.{i % 10_000_000_000:010d}"
            event["childEPCs"] = items
        elif kind < 0.93:
            company, product = _product(rng)
            event |= {"type": "TransformationEvent"}
            del event["action"]
            event["inputEPCList"] = items
            event["outputQuantityList"] = [{"epcClass": f"urn:epc:class:lgtin:{company}.{product}.T{i}", "quantity": 100, "uom": "KGM"}]
        else:
            event |= {"type": "TransactionEvent", "action": "ADD", "epcList": items}
            event["bizTransactionList"] = [{"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:{COMPANIES[0]}.PO{i}"}]
        event["example:batchNote"] = {"@value": f"synthetic {i}"}  # an extension, kept verbatim
        event_id = f"ni:///sha-256;{i:064x}?ver=CBV2.0"
        anchor = Anchor("anchored", transaction=f"0x{i // 500:064x}", block=1 + i // 500, content_hash=f"0x{i:064x}")
        yield NewEvent(event_id, event, record_time=when + timedelta(seconds=rng.randrange(600)), anchor=anchor)


def load(repository: EventRepository, count: int, *, seed: int = 17, batch: int = 10_000, progress: bool = False) -> float:
    """Store ``count`` synthetic events in batches; seconds taken."""
    began = time.perf_counter()
    for start in range(0, count, batch):
        repository.add_events(list(synthetic_events(min(batch, count - start), seed=seed, start=start)))
        if progress and (start // batch) % 10 == 9:
            done = start + batch
            print(f"  {done:,} events, {done / (time.perf_counter() - began):,.0f}/s", flush=True)
    return time.perf_counter() - began


def query_mix(world: World, count: int, *, seed: int = 1) -> list[tuple[str, dict[str, str]]]:
    """``count`` (name, parameters) queries, the kinds in turn, each drawn with values that exist."""
    rng = random.Random(seed)
    steps = [s for s, _ in BIZ_STEPS]
    kinds = [
        ("one item's history", lambda: {"MATCH_epc": world.item(rng)}),
        ("anything naming an item", lambda: {"MATCH_anyEPC": world.item(rng)}),
        ("every item of a GTIN", lambda: {"MATCH_epc": world.gtin_pattern(rng)}),
        ("lots of a GTIN", lambda: {"MATCH_epcClass": world.gtin_pattern(rng)}),
        ("a business step", lambda: {"EQ_bizStep": rng.choice(steps)}),
        (
            "a day of a step at a site",
            lambda: (
                dict(zip(("GE_eventTime", "LT_eventTime"), world.day(rng), strict=True))
                | {"EQ_bizStep": rng.choice(steps[:6]), "EQ_bizLocation": world.site(rng)}
            ),
        ),
        (
            "a day of one step",
            lambda: dict(zip(("GE_eventTime", "LT_eventTime"), world.day(rng), strict=True)) | {"EQ_bizStep": rng.choice(steps)},
        ),
        ("a week of events", lambda: dict(zip(("GE_eventTime", "LT_eventTime"), world.day(rng, 7), strict=True))),
        ("a read point", lambda: {"EQ_readPoint": world.read_point(rng)}),
        ("aggregations at a site", lambda: {"eventType": "AggregationEvent", "EQ_bizLocation": world.site(rng)}),
        ("latest by disposition", lambda: {"EQ_disposition": rng.choice(DISPOSITIONS), "orderBy": "eventTime", "orderDirection": "DESC"}),
        ("recorded since an hour", lambda: {"GE_recordTime": _time(START + STEP * world.events - timedelta(hours=1))}),
        ("rare step and disposition", lambda: {"EQ_bizStep": "destroying", "EQ_disposition": "retail_sold", "EQ_action": "DELETE"}),
        ("unknown item", lambda: {"MATCH_anyEPC": "urn:epc:id:sgtin:0614141.000000.nothing"}),
    ]
    return [(name, make()) for name, make in (kinds[n % len(kinds)] for n in range(count))]


def time_queries(
    repository: EventRepository, queries: list[tuple[str, dict[str, str]]], *, per_page: int = 100
) -> list[tuple[str, float, int]]:
    """(name, milliseconds, events) of each query's first page, then of its second page when there is one."""
    timings: list[tuple[str, float, int]] = []
    for name, parameters in queries:
        asked: Mapping[str, str] = parameters | {"perPage": str(per_page)}
        began = time.perf_counter()
        page = repository.query(asked)
        timings.append((name, (time.perf_counter() - began) * 1000, len(page.events)))
        if page.next_page_token:
            began = time.perf_counter()
            second = repository.query({**asked, "nextPageToken": page.next_page_token})
            timings.append((f"{name}, page 2", (time.perf_counter() - began) * 1000, len(second.events)))
    return timings


def time_discovery(repository: EventRepository, *, per_page: int = 100) -> list[tuple[str, float, int]]:
    """(list, milliseconds, values) of the first and second page of each discovery list."""
    timings: list[tuple[str, float, int]] = []
    for name in ("eventTypes", "bizSteps", "dispositions", "readPoints", "bizLocations", "epcs"):
        token = None
        for page_number in (1, 2):
            began = time.perf_counter()
            page = repository.values(name, per_page=per_page, next_page_token=token)  # type: ignore[arg-type]
            timings.append((f"/{name} page {page_number}", (time.perf_counter() - began) * 1000, len(page.values)))
            if (token := page.next_page_token) is None:
                break
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", required=True, help="a SQLite file or a database URL")
    parser.add_argument("--queries", type=int, default=700)
    parser.add_argument("--skip-load", action="store_true", help="query what is already stored")
    args = parser.parse_args()
    with EventRepository.open(args.database) as repository:
        if not args.skip_load:
            seconds = load(repository, args.events, progress=True)
            print(f"loaded {args.events:,} events in {seconds:.0f} s ({args.events / seconds:,.0f}/s)")
        timings = time_queries(repository, query_mix(World(args.events, 17), args.queries))
        discovery = time_discovery(repository)
    by_kind: dict[str, list[float]] = {}
    for name, ms, _ in timings:
        by_kind.setdefault(name, []).append(ms)
    for name, values in by_kind.items():
        print(
            f"{name:40s} n={len(values):4d} p50={percentile(values, 0.5):7.2f} ms  p95={percentile(values, 0.95):7.2f} ms  max={max(values):7.2f} ms"
        )
    for name, ms, count in discovery:
        print(f"{name:40s} {ms:7.2f} ms ({count} values)")
    every = [ms for _, ms, _ in timings]
    print(f"all: {len(every)} queries, p50 {percentile(every, 0.5):.2f} ms, p95 {percentile(every, 0.95):.2f} ms, max {max(every):.2f} ms")


if __name__ == "__main__":
    main()
