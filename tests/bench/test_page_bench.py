"""The pure parts of bench/page.py: percentiles, the bundle's up-front / lazy split, request waves,
the phone's profile, the check that its throttling applied, and the budgets' verdicts."""

from __future__ import annotations

import gzip
import random
import statistics
from pathlib import Path

import pytest

from bench.page import (
    BUDGETS,
    FIXED_EVENTS,
    PHONE,
    Goods,
    PhoneProfile,
    analyse_profile,
    bundle_split,
    busy_ms,
    gzip_size,
    judge,
    max_concurrency,
    percentile,
    rounds,
    static_imports,
    summarize,
    supply_chain_documents,
    throttle_check,
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
            store(140.0, 140.0, 150.0) | {"bytes": 1_200},
            store(140.0, 150.0, 200.0) | {"bytes": 800},
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
    assert a["bytes_by_kind"]["event-store"] == 2_000 and a["bytes_by_kind"]["rpc"] == 0  # sizes unknown count as none


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


def test_the_phone_profile_speaks_cdp_units() -> None:
    throttle = PHONE.throttle()
    assert throttle == {"cpuRate": 4.0, "latencyMs": 150.0, "downloadBytesPerSecond": 200_000.0, "uploadBytesPerSecond": 93_750.0}
    device = PHONE.device()
    assert device["viewport"] == {"width": 375, "height": 812} and device["isMobile"] and device["hasTouch"]
    assert 2 <= device["deviceScaleFactor"] <= 3 and "Mobile" in device["userAgent"]


def _calibration(loop_ms: float, ping_ms: float, body_ms: float, device: dict[str, object] | None = None) -> dict[str, object]:
    return {"loopMs": loop_ms, "pingMs": ping_ms, "download": {"bytes": 480_000, "bodyMs": body_ms}, "device": device or {}}


_PHONE_SEEN = {
    "width": 375,
    "devicePixelRatio": 3.0,
    "userAgent": PHONE.user_agent,
    "maxTouchPoints": 1,
    "coarsePointer": True,
}


def _request(kind: str, start: float, end: float) -> dict[str, object]:
    return {"kind": kind, "startMs": start, "endMs": end}


def test_throttle_check_accepts_a_throttled_phone() -> None:
    plain = _calibration(40.0, 2.0, 15.0)
    phone = _calibration(170.0, 155.0, 2_450.0, _PHONE_SEEN)  # 480 kB at 1,567 kbit/s
    requests = [_request("asset", 0.0, 160.0), _request("rpc", 900.0, 1_060.0), _request("event-store", 1_200.0, 1_500.0)]
    check = throttle_check(PHONE, plain, phone, requests)
    assert check["ok"], check["problems"]
    assert check["cpu_slowdown"] == 4.25
    assert check["download_kbit_s"] == {"unthrottled": 256_000.0, "phone": 1_567.3, "bytes": 480_000}
    assert check["quickest_request_ms_by_kind"] == {"asset": 160.0, "rpc": 160.0, "event-store": 300.0}
    # the side-by-side loop at rate 1 in the phone's own context is the baseline when there is one
    busy = throttle_check(PHONE, plain, phone | {"unthrottledLoopMs": 100.0}, requests)
    assert not busy["ok"] and busy["cpu_slowdown"] == 1.7 and busy["loop_ms"]["unthrottled"] == 100.0


def test_throttle_check_names_what_did_not_apply() -> None:
    plain = _calibration(40.0, 2.0, 15.0)
    # the CPU as fast as unthrottled, no latency, full speed, a desktop page
    check = throttle_check(PHONE, plain, _calibration(44.0, 3.0, 16.0, {"width": 1280, "devicePixelRatio": 1.0}))
    assert not check["ok"]
    text = " ".join(check["problems"])
    for words in ("1.1 times slower", "less than the 150 ms latency", "faster than 1,600 kbit/s", "width 1280", "no touch screen"):
        assert words in text
    # throttled only after the document was fetched: the first request was quick
    late = throttle_check(
        PHONE, plain, _calibration(170.0, 155.0, 2_450.0, _PHONE_SEEN), [_request("asset", 0.0, 4.0), _request("rpc", 50.0, 210.0)]
    )
    assert not late["ok"] and any("after navigation started" in p for p in late["problems"])
    # a download too small to say anything about throughput is a problem, not a pass
    tiny = _calibration(170.0, 155.0, 50.0, _PHONE_SEEN) | {"download": {"bytes": 2_000, "bodyMs": 50.0}}
    assert any("too small" in p for p in throttle_check(PHONE, plain, tiny)["problems"])
    # the tolerance follows the profile: a 2x CPU profile accepts a 2x slowdown
    slower = PhoneProfile(cpu_rate=2.0)
    assert throttle_check(slower, plain, _calibration(80.0, 155.0, 2_450.0, _PHONE_SEEN | {"userAgent": slower.user_agent}))["ok"]


def test_judge_gives_each_budget_a_verdict_and_a_reason() -> None:
    values: dict[str, float | None] = {
        "first_render_ms": 685.0,
        "bundle_gzip_bytes": 257_500,
        "phone_verdict_p95_ms": 2_000.0,  # on the budget is within it
        "phone_page_p95_ms": 5_321.0,
        "bundle_gz_bytes": 257_500,
    }
    met, reasons = judge(values, BUDGETS)
    assert met == {
        "first_render_ms": True,
        "bundle_gzip_bytes": True,
        "phone_verdict_p95_ms": True,
        "phone_page_p95_ms": False,
        "bundle_gz_bytes": True,
    }
    assert reasons == ["phone_page_p95_ms: 5,321 > 4,000"]
    # unverified throttling voids the phone's budgets only, and a missing value is never met
    met, reasons = judge(values | {"first_render_ms": None}, BUDGETS, "the phone's throttling was not verified")
    assert not met["first_render_ms"] and not met["phone_verdict_p95_ms"] and met["bundle_gz_bytes"]
    assert "first_render_ms: not measured" in reasons
    assert "phone_verdict_p95_ms: 2,000 is within 2,000, but the phone's throttling was not verified" in reasons
    assert BUDGETS["phone_verdict_p95_ms"] == 2_000 and BUDGETS["phone_page_p95_ms"] == 4_000 and BUDGETS["bundle_gz_bytes"] == 300_000
