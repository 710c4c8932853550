"""The pure parts of bench/page.py: percentiles, the bundle's up-front / lazy split, request waves."""

from __future__ import annotations

import gzip
import random
import statistics
from pathlib import Path

import pytest

from bench.page import (
    FIXED_EVENTS,
    Goods,
    analyse_profile,
    bundle_split,
    busy_ms,
    gzip_size,
    max_concurrency,
    percentile,
    rounds,
    static_imports,
    summarize,
    supply_chain_documents,
)


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [float(v) for v in range(10, 0, -1)]  # 10..1, unsorted on purpose
    assert percentile(values, 50) == 5.5
    assert percentile(values, 95) == pytest.approx(9.55)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 10.0
    assert percentile([42.0], 95) == 42.0
    # the same definition as the standard library's "inclusive" quantiles
    samples = [812.0, 790.5, 1030.2, 845.0, 799.9, 901.3, 777.7, 860.1, 820.4, 995.0]
    assert percentile(samples, 95) == pytest.approx(statistics.quantiles(samples, n=20, method="inclusive")[-1])
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarize_reports_p50_p95_and_max() -> None:
    s = summarize([900.0, 1100.0, 1000.0, 950.0])
    assert s == {"p50": 975.0, "p95": 1085.0, "max": 1100.0, "min": 900.0, "n": 4}


def test_static_imports_skip_dynamic_imports() -> None:
    js = (
        'import{a as b,c}from"./index-A1.js";import"./side-B2.js";export*from"./re-C3.js";'
        'const p=()=>__vitePreload(()=>import("./page-D4.js"),__vite__mapDeps([0,1]));'
        'const s=\'import x from "./not-a-module"\';o.import("./x.js");'
    )
    found = static_imports(js)
    assert found[:3] == ["./index-A1.js", "./side-B2.js", "./re-C3.js"]
    assert "./page-D4.js" not in found and "./x.js" not in found


def test_bundle_split_follows_index_html_and_static_imports(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    (tmp_path / "index.html").write_text(
        '<!doctype html><html><head><script type="module" crossorigin src="./assets/index-1.js"></script>'
        '<link rel="modulepreload" crossorigin href="./assets/vendor-2.js">'
        '<link rel="stylesheet" crossorigin href="./assets/index-3.css"><link rel="icon" href="data:,"></head></html>'
    )
    files = {
        "index-1.js": b'import{v}from"./vendor-2.js";import"./shared-4.js";const l=()=>import("./page-5.js");' + b"x" * 5000,
        "vendor-2.js": b"export const v=1;" + random.Random(7).randbytes(3000),  # incompressible: gzip is larger than raw
        "index-3.css": b"body{margin:0}" * 100,
        "shared-4.js": b"export const s=2;",
        "page-5.js": b'import{v}from"./vendor-2.js";import"./lazy-only-6.js";' + b"y" * 2000,
        "lazy-only-6.js": b"export const z=3;",
        "page-5.css": b".p{color:red}",
    }
    for name, data in files.items():
        (assets / name).write_bytes(data)
    split = bundle_split(tmp_path)
    assert set(split.upfront) == {"assets/index-1.js", "assets/vendor-2.js", "assets/index-3.css", "assets/shared-4.js"}
    assert set(split.lazy) == {"assets/page-5.js", "assets/lazy-only-6.js", "assets/page-5.css"}
    assert split.upfront["assets/vendor-2.js"] > 3000  # random bytes do not compress
    assert split.upfront["assets/index-3.css"] < 100  # 1,400 bytes of one repeated rule do
    assert split.lazy["assets/lazy-only-6.js"] == len(gzip.compress(files["lazy-only-6.js"], 9, mtime=0))
    assert split.total_bytes == split.upfront_bytes + split.lazy_bytes == sum(gzip_size(d) for d in files.values())


def test_request_waves_busy_time_and_concurrency() -> None:
    # two requests sent together, then one that waited for them, then two overlapping a gap later
    spans = [(0.0, 10.0), (1.0, 12.0), (12.0, 20.0), (30.0, 40.0), (35.0, 45.0)]
    assert rounds(spans) == 3
    assert busy_ms(spans) == pytest.approx(12.0 + 8.0 + 15.0)
    assert max_concurrency(spans) == 2
    assert max_concurrency([(0.0, 1.0), (1.0, 2.0)]) == 1  # one ends as the next starts
    assert rounds([]) == 0 and busy_ms([]) == 0.0


def test_analyse_profile_splits_requests_by_phase() -> None:
    def rpc(start: float, end: float, *methods: str) -> dict[str, object]:
        calls = [{"method": m, "fromBlock": "0x2", "toBlock": None} for m in methods]
        return {"kind": "rpc", "calls": calls, "startMs": start, "sentMs": start, "firstByteMs": end - 1, "endMs": end}

    def store(start: float, sent: float, end: float) -> dict[str, object]:
        return {"kind": "event-store", "startMs": start, "sentMs": sent, "connectMs": sent - 2, "firstByteMs": end - 1, "endMs": end}

    profile = {
        "verdictDomMs": 100.0,
        "timelineDomMs": 300.0,
        "readyDomMs": 350.0,
        "requests": [
            {"kind": "config", "startMs": 20.0, "sentMs": 20.0, "firstByteMs": 24.0, "endMs": 25.0},
            rpc(30.0, 40.0, "eth_call"),
            rpc(50.0, 60.0, "eth_getLogs"),
            rpc(110.0, 120.0, "eth_getLogs", "eth_getLogs"),
            rpc(125.0, 130.0, "eth_getLogs"),
            store(140.0, 140.0, 150.0),
            store(140.0, 150.0, 200.0),
            rpc(310.0, 320.0, "eth_getLogs", "eth_getBlockByNumber"),
        ],
    }
    a = analyse_profile(profile)
    assert a["phases"]["start_to_verdict"] == {
        "ms": 100.0,
        "rpc_http_requests": 2,
        "rpc_calls": 2,
        "rpc_rounds": 2,
        "rpc_busy_ms": 20.0,
        "get_logs": 1,
        "event_store_fetches": 0,
    }
    assert a["phases"]["verdict_to_timeline"]["rpc_rounds"] == 2 and a["phases"]["verdict_to_timeline"]["get_logs"] == 3
    assert a["phases"]["verdict_to_timeline"]["event_store_fetches"] == 2
    assert a["rpc"]["by_method"] == {"eth_getLogs": 5, "eth_call": 1, "eth_getBlockByNumber": 1}
    assert a["rpc"]["get_logs_ranges"] == {"0x2..latest": 5}
    es = a["event_store"]
    assert (es["fetches"], es["span_ms"], es["new_connections"], es["mean_wait_for_connection_ms"], es["max_in_flight"]) == (
        2,
        60.0,
        2,
        5.0,
        2,
    )
    assert a["page_code"]["config_loaded_ms"] == 25.0


def test_the_supply_chain_has_exactly_the_requested_events() -> None:
    goods = Goods(
        "09506000001205",
        "J000001",
        "JAM2611-01",
        "09506000003001",
        "STR2611-A",
        "195060000000000070",
        "395060000000000085",
        dict.fromkeys(("farm", "plant", "dock", "truck", "dc", "store"), "9506000001011"),
    )
    docs = supply_chain_documents(goods, 100)
    assert sum(len(d) for d in docs.values()) == 100
    assert sum(1 for e in docs["carrier"] if e["bizStep"] == "sensor_reporting") == 100 - FIXED_EVENTS
    times = [e["eventTime"] for d in docs.values() for e in d]
    assert times == sorted(times)  # recorded in the order they happened
    with pytest.raises(ValueError):
        supply_chain_documents(goods, FIXED_EVENTS)
