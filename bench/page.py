"""The consumer page's budgets, measured: first render of a product with a 100-event history, and
the production bundle. Prints a table, writes bench/out/page.json, exits 1 when a budget is missed.

The issue's budgets: the product page with a 100-event history renders in <= 1 s against a local
Anvil, and the production bundle is <= 300 kB gzipped. This is a benchmark, not a timed test:
the figures depend on the machine and on what else runs on it, so they are reported with the
conditions, and the exit status only says whether this run met them.

1. Anvil, a deployment, a brand with two products (jam, and the strawberries it is made of) and
   one jar of jam registered. Its history is recorded through the library (validated, stored on
   disk, anchored in TraceLedger) as a farm, a plant, a carrier and a store would: the strawberry
   lot's harvest, shipping and receipt (an input of the jam), the transformation that made the
   jar, a quality check of the jam lot, the jar packed in a case and the case on a pallet, the
   pallet's cold-chain sensor reports (as many as make the history ``--events`` long), unpacking
   at the distribution centre and in the store, and the jar put on the shelf.
2. The built page (``frontend/dist``; built with Vite when missing, or with ``--build``) is served
   by :class:`o2ochain.demo.PageServer` with the event store, and frontend/e2e/render.mjs drives
   Debian's Chromium: ``--warmup`` + ``--runs`` loads of ``/?item=<jar>``, each in a fresh browser
   context (375x812), timing from navigation start until the verdict shows and until
   ``body[data-state="ready"]`` with every timeline event in the DOM (each after the next two
   animation frames, so the frame showing it exists). One more load records every request the
   page makes (JSON-RPC calls, event-store files), which is where the time is explained.
3. Every file of ``frontend/dist/assets`` gzipped at level 9: what index.html loads up front
   (its scripts, stylesheets and module preloads, and what those import statically) and what is
   only loaded lazily (dynamic ``import()``).

    .venv/bin/python bench/page.py [--events 100] [--runs 10] [--warmup 1] [--build] [--out bench/out/page.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from o2ochain.demo._trace import epcis_document, event_time, location, lot_quantity

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "frontend" / "dist"
RENDER_SCRIPT = ROOT / "frontend" / "e2e" / "render.mjs"
CHROMIUM = "/usr/bin/chromium"
#: The consumer-page issue's budgets.
BUDGET_FIRST_RENDER_MS = 1_000
BUDGET_BUNDLE_GZIP_BYTES = 300_000

PREFIX = "9506000"
RESOLVER = "https://id.gs1.org"
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=CST)
#: Events of the history besides the pallet's sensor reports (see :func:`supply_chain_documents`).
FIXED_EVENTS = 16


# -- statistics ------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks.

    The "inclusive" definition (numpy's default, ``statistics.quantiles(method="inclusive")``):
    the p-th percentile of sorted ``v`` sits at rank ``(n - 1) * p / 100``.
    """
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / max (and min, n) of timings in milliseconds, rounded to 0.1 ms."""
    return {
        "p50": round(percentile(values, 50), 1),
        "p95": round(percentile(values, 95), 1),
        "max": round(max(values), 1),
        "min": round(min(values), 1),
        "n": len(values),
    }


# -- bundle ----------------------------------------------------------------------------------------
class _AssetRefs(HTMLParser):
    """The files index.html loads at once: module scripts, stylesheets, module preloads."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.refs.append(str(a["src"]))
        elif tag == "link" and a.get("href") and set((a.get("rel") or "").split()) & {"stylesheet", "modulepreload", "preload"}:
            self.refs.append(str(a["href"]))


#: A static import or re-export of a relative module, as Rollup/esbuild minify it:
#: ``import{a as b}from"./x.js"``, ``import"./x.js"``, ``export*from"./x.js"``. A dynamic
#: ``import("./x.js")`` does not match (a parenthesis follows the keyword).
_STATIC_IMPORT = re.compile(r"""(?<![\w$.])(?:import|export)\s*(?:[\w$*{}\s,]*?\s*from\s*)?["'](\.{1,2}/[^"']+)["']""")


def static_imports(js: str) -> list[str]:
    """Relative modules ``js`` imports (or re-exports) statically, in order of appearance."""
    return list(dict.fromkeys(_STATIC_IMPORT.findall(js)))


def gzip_size(data: bytes) -> int:
    """Bytes of ``data`` gzipped at level 9 (as ``gzip -9`` does it; no file name in the header)."""
    return len(gzip.compress(data, compresslevel=9, mtime=0))


@dataclass(frozen=True)
class BundleSplit:
    """The built page's assets by gzipped size, split into loaded up front and loaded lazily."""

    upfront: dict[str, int]
    lazy: dict[str, int]

    @property
    def upfront_bytes(self) -> int:
        return sum(self.upfront.values())

    @property
    def lazy_bytes(self) -> int:
        return sum(self.lazy.values())

    @property
    def total_bytes(self) -> int:
        return self.upfront_bytes + self.lazy_bytes


def bundle_split(dist: Path) -> BundleSplit:
    """Gzip every file of ``dist/assets``; up front is what index.html references and its static imports.

    Paths are resolved against the file that names them, so ``./assets/x.js`` in index.html and
    ``./x.js`` inside an asset both land in ``assets/``. A file no up-front file reaches
    statically is lazy (a dynamic ``import()`` of a page, a CSS file such a chunk injects).
    """
    assets = dist / "assets"
    files = sorted(p for p in assets.rglob("*") if p.is_file())
    parser = _AssetRefs()
    parser.feed((dist / "index.html").read_text(encoding="utf-8"))
    todo = [(dist / ref.split("?")[0].split("#")[0]).resolve() for ref in parser.refs if not re.match(r"^[a-z]+:", ref)]
    upfront: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in upfront or not path.is_file():
            continue
        upfront.add(path)
        if path.suffix in (".js", ".mjs"):
            todo.extend((path.parent / ref).resolve() for ref in static_imports(path.read_text(encoding="utf-8", errors="replace")))
    sizes = {p.resolve(): gzip_size(p.read_bytes()) for p in files}
    name = {p.resolve(): p.relative_to(dist).as_posix() for p in files}
    return BundleSplit(
        upfront={name[p]: s for p, s in sizes.items() if p in upfront},
        lazy={name[p]: s for p, s in sizes.items() if p not in upfront},
    )


def dist_is_stale(dist: Path) -> list[str]:
    """Sources of the page newer than the built index.html (the bundle measured may not be theirs)."""
    built = dist / "index.html"
    if not built.is_file():
        return []
    frontend = dist.parent
    sources = [frontend / "index.html", frontend / "vite.config.ts", *(frontend / "src").rglob("*")]
    return sorted(str(p.relative_to(ROOT)) for p in sources if p.is_file() and p.stat().st_mtime > built.stat().st_mtime)


def build_page() -> None:
    npx = shutil.which("npx")
    if npx is None:
        raise SystemExit("npx (Node.js) is needed to build the page")
    subprocess.run([npx, "--no-install", "vite", "build", "frontend", "--logLevel", "warn"], cwd=ROOT, check=True, timeout=600)


# -- the profile of one load -----------------------------------------------------------------------
def busy_ms(intervals: Iterable[tuple[float, float]]) -> float:
    """Length of the union of ``[start, end]`` intervals: time during which at least one was open."""
    total = 0.0
    end = -math.inf
    start = -math.inf
    for s, e in sorted(intervals):
        if s > end:
            if end > start:
                total += end - start
            start, end = s, e
        else:
            end = max(end, e)
    if end > start:
        total += end - start
    return total


def rounds(intervals: Iterable[tuple[float, float]]) -> int:
    """Sequential waves of requests: a new wave starts when a request starts after every earlier one ended.

    Requests sent together (viem's batching, a ``Promise.all``) overlap and count once; a request
    that has to wait for an answer before it can be sent starts a new wave.
    """
    count = 0
    end = -math.inf
    for s, e in sorted(intervals):
        if s >= end:
            count += 1
            end = e
        else:
            end = max(end, e)
    return count


def max_concurrency(intervals: Iterable[tuple[float, float]]) -> int:
    """The most requests open at one time."""
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda p: (p[0], p[1]))
    best = now = 0
    for _, delta in points:
        now += delta
        best = max(best, now)
    return best


def analyse_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """Where one load's time went: phases, JSON-RPC round trips and calls, event-store fetches."""
    requests: list[dict[str, Any]] = profile.get("requests", [])
    verdict = float(profile["verdictDomMs"])
    timeline = float(profile["timelineDomMs"])
    ready = float(profile["readyDomMs"])

    def spans(kind: str, lo: float = -math.inf, hi: float = math.inf) -> list[tuple[float, float]]:
        return [(r["startMs"], r["endMs"]) for r in requests if r["kind"] == kind and lo <= r["startMs"] < hi]

    rpc = [r for r in requests if r["kind"] == "rpc"]
    calls = [c for r in rpc for c in r["calls"]]
    methods = Counter(str(c["method"]) for c in calls)
    store = spans("event-store")
    config = spans("config")

    def phase(lo: float, hi: float) -> dict[str, Any]:
        inside = [r for r in rpc if lo <= r["startMs"] < hi]
        window = spans("rpc", lo, hi)
        logs = [c for r in inside for c in r["calls"] if c["method"] == "eth_getLogs"]
        return {
            "ms": round(hi - lo, 1),
            "rpc_http_requests": len(inside),
            "rpc_calls": sum(len(r["calls"]) for r in inside),
            "rpc_rounds": rounds(window),
            "rpc_busy_ms": round(busy_ms(window), 1),
            "get_logs": len(logs),
            "event_store_fetches": len(spans("event-store", lo, hi)),
        }

    fetches = [r for r in requests if r["kind"] == "event-store"]
    store_first = min((s for s, _ in store), default=timeline)
    store_last = max((e for _, e in store), default=timeline)
    get_logs = [c for c in calls if c["method"] == "eth_getLogs"]
    ranges = Counter(f"{c.get('fromBlock')}..{c.get('toBlock') or 'latest'}" for c in get_logs)
    metrics = profile.get("metrics", {})

    def mean(values: Sequence[float]) -> float:
        return round(sum(values) / len(values), 1) if values else 0.0

    return {
        "phases": {
            "start_to_verdict": phase(0.0, verdict),
            "verdict_to_timeline": phase(verdict, timeline),
            "timeline_to_ready": phase(timeline, ready + 1e-6),
        },
        "page_code": {
            "config_loaded_ms": round(max((e for _, e in config), default=0.0), 1),
            "assets": [
                {"path": r["path"].rsplit("/", 1)[-1] or "index.html", "start_ms": round(r["startMs"], 1), "end_ms": round(r["endMs"], 1)}
                for r in sorted((r for r in requests if r["kind"] == "asset"), key=lambda r: r["startMs"])
            ],
        },
        "rpc": {
            "http_requests": len(rpc),
            "calls": len(calls),
            "by_method": dict(methods.most_common()),
            "rounds": rounds(spans("rpc")),
            "busy_ms": round(busy_ms(spans("rpc")), 1),
            "mean_answer_ms": mean([r["endMs"] - r["sentMs"] for r in rpc]),
            "get_logs_ranges": dict(ranges),
        },
        "event_store": {
            "fetches": len(store),
            "first_start_ms": round(store_first, 1),
            "last_end_ms": round(store_last, 1),
            "span_ms": round(store_last - store_first, 1),
            "new_connections": sum(1 for r in fetches if r.get("connectMs") is not None),
            "max_in_flight": max_concurrency(store),
            "mean_wait_for_connection_ms": mean([r["sentMs"] - r["startMs"] for r in fetches]),
            "max_wait_for_connection_ms": round(max((r["sentMs"] - r["startMs"] for r in fetches), default=0.0), 1),
            "mean_server_ms": mean([r["firstByteMs"] - r["sentMs"] for r in fetches]),
            "mean_connect_ms": mean([r["sentMs"] - r["connectMs"] for r in fetches if r.get("connectMs") is not None]),
        },
        "chromium": {
            key: round(float(metrics[name]) * 1000, 1)
            for key, name in (
                ("script_ms", "ScriptDuration"),
                ("layout_ms", "LayoutDuration"),
                ("style_ms", "RecalcStyleDuration"),
                ("task_ms", "TaskDuration"),
            )
            if name in metrics
        },
        "main_thread": profile.get("cpu", {}),
        "marks_ms": {"verdict": round(verdict, 1), "timeline": round(timeline, 1), "ready": round(ready, 1)},
        "requests": [
            {
                "kind": r["kind"],
                **({"methods": [c["method"] for c in r["calls"]]} if r["kind"] == "rpc" else {}),
                **{k: round(r[k], 1) for k in ("startMs", "sentMs", "firstByteMs", "endMs")},
            }
            for r in sorted(requests, key=lambda r: r["startMs"])
        ],
    }


# -- the chain and the history ---------------------------------------------------------------------
@dataclass(frozen=True)
class Goods:
    """What the history is about: the jar (the page's item), its lot, its case and pallet, its input."""

    jam_gtin: str
    jar_serial: str
    jam_lot: str
    strawberry_gtin: str
    strawberry_lot: str
    case_sscc: str
    pallet_sscc: str
    glns: dict[str, str]

    @property
    def jar_uri(self) -> str:
        return f"{RESOLVER}/01/{self.jam_gtin}/21/{self.jar_serial}?17=271130"


def supply_chain_documents(goods: Goods, events: int) -> dict[str, list[dict[str, Any]]]:
    """EPCIS 2.0 event lists per actor (farm, plant, carrier, store), in the order they happen.

    ``events`` is the length of the jar's history: :data:`FIXED_EVENTS` steps plus that many
    less of the pallet's cold-chain sensor reports (one every 30 minutes on the road).
    """
    sensors = events - FIXED_EVENTS
    if sensors < 1:
        raise ValueError(f"a history of this supply chain has at least {FIXED_EVENTS + 1} events")
    g = goods.glns
    jar = f"{RESOLVER}/01/{goods.jam_gtin}/21/{goods.jar_serial}"
    case = f"{RESOLVER}/00/{goods.case_sscc}"
    pallet = f"{RESOLVER}/00/{goods.pallet_sscc}"
    berries = lot_quantity(goods.strawberry_gtin, goods.strawberry_lot, 500, "KGM")
    t = T0
    farm: list[dict[str, Any]] = [
        {
            "type": "ObjectEvent",
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active",
            "quantityList": [berries],
            "readPoint": location(g["farm"]),
            "bizLocation": location(g["farm"]),
            **event_time(t),
        },
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "quantityList": [berries],
            "readPoint": location(g["farm"]),
            **event_time(t + timedelta(hours=3)),
        },
    ]
    plant: list[dict[str, Any]] = [
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "receiving",
            "disposition": "in_progress",
            "quantityList": [berries],
            "readPoint": location(g["plant"]),
            "bizLocation": location(g["plant"]),
            **event_time(t + timedelta(hours=8)),
        },
        {
            "type": "TransformationEvent",
            "bizStep": "commissioning",
            "disposition": "active",
            "inputQuantityList": [lot_quantity(goods.strawberry_gtin, goods.strawberry_lot, 300, "KGM")],
            "outputEPCList": [jar],
            "outputQuantityList": [lot_quantity(goods.jam_gtin, goods.jam_lot, 1)],
            "readPoint": location(g["plant"]),
            "bizLocation": location(g["plant"]),
            **event_time(t + timedelta(hours=12)),
        },
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "inspecting",
            "disposition": "conformant",
            "quantityList": [lot_quantity(goods.jam_gtin, goods.jam_lot, 1)],
            "readPoint": location(g["plant"]),
            **event_time(t + timedelta(hours=13)),
        },
        {
            "type": "AggregationEvent",
            "action": "ADD",
            "bizStep": "packing",
            "disposition": "in_progress",
            "parentID": case,
            "childEPCs": [jar],
            "readPoint": location(g["dock"]),
            "bizLocation": location(g["plant"]),
            **event_time(t + timedelta(hours=14)),
        },
        {
            "type": "AggregationEvent",
            "action": "ADD",
            "bizStep": "packing",
            "disposition": "in_progress",
            "parentID": pallet,
            "childEPCs": [case],
            "readPoint": location(g["dock"]),
            "bizLocation": location(g["plant"]),
            **event_time(t + timedelta(hours=14, minutes=30)),
        },
    ]
    road = t + timedelta(hours=16)
    carrier: list[dict[str, Any]] = [
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "loading",
            "disposition": "in_progress",
            "epcList": [pallet],
            "readPoint": location(g["dock"]),
            **event_time(road),
        },
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "departing",
            "disposition": "in_transit",
            "epcList": [pallet],
            "readPoint": location(g["dock"]),
            **event_time(road + timedelta(minutes=20)),
        },
    ]
    for n in range(sensors):
        at = road + timedelta(minutes=30 * (n + 1))
        carrier.append(
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "sensor_reporting",
                "disposition": "in_transit",
                "epcList": [pallet],
                "readPoint": location(g["truck"]),
                "sensorElementList": [
                    {
                        "sensorMetadata": {"time": at.isoformat(timespec="milliseconds"), "deviceID": f"urn:epc:id:giai:{PREFIX}.T{n % 4}"},
                        "sensorReport": [{"type": "Temperature", "value": round(3.0 + 0.1 * ((n * 7) % 15), 1), "uom": "CEL"}],
                    }
                ],
                **event_time(at),
            }
        )
    arrived = road + timedelta(minutes=30 * (sensors + 1))
    carrier += [
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "arriving",
            "disposition": "in_transit",
            "epcList": [pallet],
            "readPoint": location(g["dc"]),
            **event_time(arrived),
        },
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "receiving",
            "disposition": "in_progress",
            "epcList": [pallet],
            "readPoint": location(g["dc"]),
            "bizLocation": location(g["dc"]),
            **event_time(arrived + timedelta(hours=1)),
        },
        {
            "type": "AggregationEvent",
            "action": "DELETE",
            "bizStep": "unpacking",
            "disposition": "in_progress",
            "parentID": pallet,
            "childEPCs": [case],
            "readPoint": location(g["dc"]),
            "bizLocation": location(g["dc"]),
            **event_time(arrived + timedelta(hours=2)),
        },
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "epcList": [case],
            "readPoint": location(g["dc"]),
            **event_time(arrived + timedelta(hours=6)),
        },
    ]
    shop = arrived + timedelta(hours=10)
    store: list[dict[str, Any]] = [
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "receiving",
            "disposition": "in_progress",
            "epcList": [case],
            "readPoint": location(g["store"]),
            "bizLocation": location(g["store"]),
            **event_time(shop),
        },
        {
            "type": "AggregationEvent",
            "action": "DELETE",
            "bizStep": "unpacking",
            "disposition": "in_progress",
            "parentID": case,
            "childEPCs": [jar],
            "readPoint": location(g["store"]),
            "bizLocation": location(g["store"]),
            **event_time(shop + timedelta(hours=1)),
        },
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "stocking",
            "disposition": "sellable_accessible",
            "epcList": [jar],
            "readPoint": location(g["store"]),
            "bizLocation": location(g["store"]),
            **event_time(shop + timedelta(hours=2)),
        },
    ]
    documents: dict[str, list[dict[str, Any]]] = {"farm": farm, "plant": plant, "carrier": carrier, "store": store}
    assert sum(len(d) for d in documents.values()) == events
    return documents


@dataclass
class Setup:
    """The chain side, ready to be served: the jar's page, and how long the library takes to read it."""

    goods: Goods
    deployment: Any
    history_events: int
    history_verified: int
    library_history_ms: float
    transactions: int
    seconds: float


def record_jar(chain: Any, operator: Any, actors: Sequence[Any], events: int, prefix: str = PREFIX) -> tuple[Goods, int, int]:
    """On ``chain``'s deployment: a brand (GS1 company ``prefix``) with a jar of jam, its lot and
    its strawberries, and the jar's ``events``-long history recorded through the library by
    ``actors`` (brand admin, registrant, farm, plant, carrier, store); ``operator`` is the registry's
    admin. The goods, the brand's number and the trace transactions sent."""
    from o2ochain import gs1
    from o2ochain.epcis import location_id
    from o2ochain.identity import catalogue_from_rows

    brand_admin, registrant, farm, plant, carrier, store = actors
    brand = chain.admin(operator).register_brand(brand_admin.address, "Coastal Preserves", [prefix])
    ba = chain.brand(brand_admin, brand)
    goods = Goods(
        jam_gtin=gs1.make_gtin(prefix, 120),
        jar_serial="J000001",
        jam_lot="JAM2611-01",
        strawberry_gtin=gs1.make_gtin(prefix, 300),
        strawberry_lot="STR2611-A",
        case_sscc=gs1.make_sscc(prefix, 7, extension=1),
        pallet_sscc=gs1.make_sscc(prefix, 8),
        glns={
            name: gs1.make_gln(prefix, ref)
            for name, ref in (("farm", 101), ("plant", 201), ("dock", 202), ("truck", 250), ("dc", 301), ("store", 401))
        },
    )
    ba.add_product(goods.jam_gtin, f"o2ochain://product/{goods.jam_gtin}?name=Strawberry%20jam%20370%20g")
    ba.add_product(goods.strawberry_gtin, f"o2ochain://product/{goods.strawberry_gtin}?name=Strawberries")
    ba.grant_registrant(registrant.address)
    chain.registrant(registrant).register_items(
        catalogue_from_rows([(goods.jam_gtin, goods.jar_serial, goods.jam_lot, "2027-11-30")], source="bench jar")
    )
    admin = chain.trace_admin(brand_admin, brand)
    who = {
        "farm": (farm, "farm", "farm"),
        "plant": (plant, "plant", "plant"),
        "carrier": (carrier, "logistics", "dc"),
        "store": (store, "store", "store"),
    }
    for account, kind, where in who.values():
        admin.grant(account.address, kind, location_id(f"{RESOLVER}/414/{goods.glns[where]}"))
    transactions = 0
    for name, evs in supply_chain_documents(goods, events).items():
        transactions += chain.actor(who[name][0]).import_document(epcis_document(evs), brand=brand).transactions
    return goods, brand, transactions


def set_up_chain(chain: Any, accounts: Sequence[Any], events: int) -> Setup:
    """Deploy, register the goods and record the jar's history through the library (see the module docstring)."""
    started = time.perf_counter()
    operator, *actors = accounts[:7]
    chain.deploy(operator)
    goods, _brand, transactions = record_jar(chain, operator, actors, events)
    read = time.perf_counter()
    history = chain.trace.history(goods.jar_uri, include_events=False)
    library_ms = (time.perf_counter() - read) * 1000
    return Setup(
        goods=goods,
        deployment=chain.deployment,
        history_events=len(history),
        history_verified=sum(1 for h in history if h.verified),
        library_history_ms=round(library_ms, 1),
        transactions=transactions,
        seconds=round(time.perf_counter() - started, 1),
    )


def drive(spec: dict[str, Any]) -> dict[str, Any]:
    """Run frontend/e2e/render.mjs with ``spec``; the JSON it prints."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("Node.js is needed to drive Chromium")
    env = {**os.environ, "CHROMIUM": os.environ.get("CHROMIUM", CHROMIUM)}
    if not Path(env["CHROMIUM"]).is_file():
        raise SystemExit(f"no Chromium at {env['CHROMIUM']} (./run test installs Debian's chromium)")
    result = subprocess.run(
        [node, str(RENDER_SCRIPT), json.dumps(spec)], cwd=ROOT, capture_output=True, text=True, timeout=900, env=env, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"the browser run failed:\n{result.stderr}")
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


# -- the report ------------------------------------------------------------------------------------
def _kb(n: int) -> str:
    return f"{n / 1000:,.1f} kB"


def _ms(s: dict[str, float]) -> str:
    return f"p50 {s['p50']:,.0f} ms, p95 {s['p95']:,.0f} ms, max {s['max']:,.0f} ms"


def print_report(console: Console, result: dict[str, Any]) -> None:
    fr, vd, bundle, met = result["first_render_ms"], result["verdict_ms"], result["bundle_gzip_bytes"], result["met"]
    table = Table(title=f"consumer page: a product with a {result['events']}-event history, on Anvil ({fr['n']} loads)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("budget", justify="right")
    table.add_row(
        "first render (ready, every event in the DOM)",
        _ms(fr),
        f"<= {BUDGET_FIRST_RENDER_MS:,} ms: {'met' if met['first_render_ms'] else 'NOT MET'}",
    )
    table.add_row("verdict shown", _ms(vd), "")
    table.add_row("timeline in the DOM", _ms(result["timeline_ms"]), "")
    table.add_row("bundle, loaded up front (gzip -9)", _kb(bundle["upfront"]), "")
    table.add_row("bundle, lazy chunks (gzip -9)", _kb(bundle["lazy"]), "")
    table.add_row(
        "bundle, total (gzip -9)",
        _kb(bundle["total"]),
        f"<= {_kb(BUDGET_BUNDLE_GZIP_BYTES)}: {'met' if met['bundle_gzip_bytes'] else 'NOT MET'}",
    )
    table.add_row("library Trace.history of the same item (Python)", f"{result['setup']['library_history_ms']:,.0f} ms", "")
    console.print(table)

    files = Table(title="frontend/dist/assets, gzip -9")
    files.add_column("file")
    files.add_column("loaded")
    files.add_column("gzip", justify="right")
    for kind in ("upfront", "lazy"):
        for name, size in sorted(result["bundle_files"][kind].items(), key=lambda kv: -kv[1]):
            files.add_row(name, "up front" if kind == "upfront" else "lazily", _kb(size))
    console.print(files)

    profile = result.get("profile")
    if profile:
        where = Table(title=f"where one load's time goes (profiled load, ready at {profile['marks_ms']['ready']:,.0f} ms)")
        for col in ("phase", "ms", "RPC HTTP req.", "JSON-RPC calls", "sequential RPC rounds", "eth_getLogs", "event-store fetches"):
            where.add_column(col, justify="left" if col == "phase" else "right")
        for name, p in profile["phases"].items():
            where.add_row(
                name.replace("_", " "),
                f"{p['ms']:,.0f}",
                str(p["rpc_http_requests"]),
                str(p["rpc_calls"]),
                str(p["rpc_rounds"]),
                str(p["get_logs"]),
                str(p["event_store_fetches"]),
            )
        console.print(where)
        es, rpc, code = profile["event_store"], profile["rpc"], profile["page_code"]
        assets = ", ".join(f"{a['path']} {a['start_ms']:,.0f}-{a['end_ms']:,.0f}" for a in code["assets"])
        console.print(
            f"page code (ms after navigation start): {assets}; config.json by {code['config_loaded_ms']:,.0f}\n"
            f"JSON-RPC: {rpc['calls']} calls in {rpc['http_requests']} HTTP requests, {rpc['rounds']} sequential rounds, "
            f"busy {rpc['busy_ms']:,.0f} ms ({rpc['mean_answer_ms']} ms per answer); by method {rpc['by_method']}; getLogs block ranges {rpc['get_logs_ranges']}\n"
            f"event store: {es['fetches']} fetches (one per event) from {es['first_start_ms']:,.0f} to {es['last_end_ms']:,.0f} ms (span {es['span_ms']:,.0f} ms); "
            f"{es['new_connections']} new connections ({es['mean_connect_ms']} ms each), up to {es['max_in_flight']} asked for at once; "
            f"waiting for a connection {es['mean_wait_for_connection_ms']} ms on average (max {es['max_wait_for_connection_ms']}), "
            f"server {es['mean_server_ms']} ms per file\n"
            f"Chromium main thread: {profile['chromium']}"
        )
    for reason in result["reasons"]:
        console.print(f"[red]budget not met:[/red] {reason}")
    if result.get("dist_stale"):
        console.print(
            f"[yellow]note:[/yellow] frontend/dist is older than {len(result['dist_stale'])} source file(s) (e.g. {result['dist_stale'][0]}); --build rebuilds it"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100, help="length of the item's history")
    parser.add_argument("--runs", type=int, default=10, help="measured page loads")
    parser.add_argument("--warmup", type=int, default=1, help="page loads before measuring (not counted)")
    parser.add_argument("--build", action="store_true", help="rebuild frontend/dist even when it exists")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the extra load that records every request")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "page.json")
    args = parser.parse_args(argv)
    console = Console(width=150)

    if args.build or not (DIST / "index.html").is_file():
        build_page()
    split = bundle_split(DIST)
    stale = dist_is_stale(DIST)

    from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
    from o2ochain.client import O2OChain
    from o2ochain.demo import PageServer

    with tempfile.TemporaryDirectory(prefix="o2o-page-bench-") as tmp, Anvil() as node:
        store = Path(tmp) / "events"
        content = Path(tmp) / "content"
        content.mkdir()
        accounts = dev_accounts(7)
        chain = O2OChain(http_web3(node.url), accounts=accounts)
        chain.use_store(store)
        setup = set_up_chain(chain, accounts, args.events)
        if setup.history_events != args.events or setup.history_verified != args.events:
            raise SystemExit(f"the library reads {setup.history_events} events ({setup.history_verified} verified), not {args.events}")
        with PageServer(rpc_url=node.url, deployment=setup.deployment, events=store, content=content, dist=DIST) as site:
            spec = {
                "base": site.url,
                "rpcUrl": node.url,
                "item": setup.goods.jar_uri,
                "events": args.events,
                "warmup": args.warmup,
                "runs": args.runs,
                "profile": args.profile,
            }
            browser = drive(spec)

    failed = [r for r in browser["runs"] if "readyMs" not in r]
    if failed:
        raise SystemExit(
            f"{len(failed)} of {len(browser['runs'])} loads did not render: {failed[0].get('error')} {failed[0].get('errors')}"
        )
    first_render = summarize([r["readyMs"] for r in browser["runs"]])
    verdict = summarize([r["verdictMs"] for r in browser["runs"]])
    timeline = summarize([r["timelineMs"] for r in browser["runs"]])
    met = {
        "first_render_ms": first_render["p95"] <= BUDGET_FIRST_RENDER_MS,
        "bundle_gzip_bytes": split.total_bytes <= BUDGET_BUNDLE_GZIP_BYTES,
    }
    reasons = []
    if not met["first_render_ms"]:
        reasons.append(f"first render p95 {first_render['p95']:,.0f} ms > {BUDGET_FIRST_RENDER_MS:,} ms")
    if not met["bundle_gzip_bytes"]:
        reasons.append(f"bundle {split.total_bytes:,} B gzipped > {BUDGET_BUNDLE_GZIP_BYTES:,} B")
    profile = browser.get("profile")
    result: dict[str, Any] = {
        "first_render_ms": first_render,
        "verdict_ms": verdict,
        "timeline_ms": timeline,
        "events": args.events,
        "bundle_gzip_bytes": {"upfront": split.upfront_bytes, "lazy": split.lazy_bytes, "total": split.total_bytes},
        "bundle_files": {"upfront": split.upfront, "lazy": split.lazy},
        "budgets": {"first_render_ms": BUDGET_FIRST_RENDER_MS, "bundle_gzip_bytes": BUDGET_BUNDLE_GZIP_BYTES},
        "met": met,
        "reasons": reasons,
        "runs": [
            {k: round(r[k], 1) for k in ("verdictDomMs", "verdictMs", "timelineDomMs", "timelineMs", "readyDomMs", "readyMs")}
            for r in browser["runs"]
        ],
        "profile": analyse_profile(profile) if profile and "readyDomMs" in profile else None,
        "setup": {
            "transactions": setup.transactions,
            "seconds": setup.seconds,
            "library_history_ms": setup.library_history_ms,
            "item": setup.goods.jar_uri,
        },
        "conditions": {
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "chromium": os.environ.get("CHROMIUM", CHROMIUM),
            "viewport": "375x812",
            "warmup": args.warmup,
            "budget_statistic": "p95",
        },
        "dist_stale": stale,
    }
    print_report(console, result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
