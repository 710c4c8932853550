"""Traceability throughput on Anvil: the library against a naive web3.py loop, and history latency.

1. 10,000 EPCIS ObjectEvents (one item each) recorded through ``Actor.record_events``
   (validated, stored, batched under the gas cap, pipelined) and, in the same run, through a
   naive loop that sends one ``record`` transaction per event and waits for its receipt.
2. An item with 100 events among 100,000 on chain: ``Trace.history`` latency p50 / p95 over
   repeated reads.

Writes bench/out/trace_throughput.json and prints a table.

    .venv/bin/python bench/trace_throughput.py [--events 10000] [--naive 10000] [--background 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from o2ochain import epcis, gs1
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain.client import O2OChain

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "9506000"
GTIN = "09506000134352"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def event(serial: str, n: int, step: str = "shipping") -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": step,
        "disposition": "in_transit",
        "epcList": [f"{gs1.DEFAULT_RESOLVER}/01/{GTIN}/21/{serial}"],
        "eventTime": (T0 + timedelta(seconds=n)).isoformat(timespec="milliseconds"),
        "eventTimeZoneOffset": "+00:00",
    }


def parse(events: list[dict[str, Any]]) -> list[epcis.EpcisEvent]:
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-20T00:00:00Z",
        "epcisBody": {"eventList": events},
    }
    return list(epcis.parse_document(doc, source="bench").events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument(
        "--naive", type=int, default=1_000, help="events sent by the naive loop (its per-event rate is compared; 10,000 would take ~20 min)"
    )
    parser.add_argument("--background", type=int, default=100_000, help="events on chain for the history latency")
    parser.add_argument("--reads", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "trace_throughput.json")
    args = parser.parse_args(argv)
    console = Console(width=110)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, Anvil(gas_limit=60_000_000) as node:
        accounts = dev_accounts(5)
        chain = O2OChain(http_web3(node.url), accounts=accounts)
        chain.use_store(Path(tmp) / "events")
        chain.deploy(accounts[0])
        brand = chain.admin(accounts[0]).register_brand(accounts[1].address, "Bench Foods", [PREFIX])
        chain.brand(accounts[1], brand).add_product(GTIN)
        admin = chain.trace_admin(accounts[1], brand)
        for a in accounts[2:5]:
            admin.grant(a.address, "logistics")
        ledger = chain.trace.contract

        # 1a. the library
        events = parse([event(f"L{n:07d}", n) for n in range(args.events)])
        started = time.perf_counter()
        report = chain.actor(accounts[2]).record_events(events)
        library_s = time.perf_counter() - started
        assert report.recorded == args.events, report

        # 1b. the naive loop: one transaction per event, waiting for each receipt
        naive_events = parse([event(f"N{n:07d}", n) for n in range(args.naive)])
        w3 = chain.w3
        me = accounts[3]
        started = time.perf_counter()
        for e in naive_events:
            s = e.primary_subjects()[0]
            entry = (
                s.id,
                e.content_hash,
                epcis.pack_meta(e),
                b"\x00" * 32,
                b"\x00" * 32,
                b"\x00" * 32,
                (1, gs1.gtin_to_int(GTIN), gs1.to_bytes32(s.code or "")),
                [],
            )
            tx = ledger.functions.record(brand, [entry]).build_transaction(
                {"from": me.address, "nonce": w3.eth.get_transaction_count(me.address), "chainId": chain.chain_id}
            )
            signed = me.sign_transaction(tx)
            w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
        naive_s = time.perf_counter() - started
        per_event_naive = naive_s / args.naive
        result["record"] = {
            "events": args.events,
            "library_seconds": round(library_s, 2),
            "library_events_per_second": round(args.events / library_s),
            "naive_events": args.naive,
            "naive_seconds": round(naive_s, 2),
            "naive_events_per_second": round(args.naive / naive_s, 1),
            "speedup": round((per_event_naive * args.events) / library_s, 1),
            "transactions": report.transactions,
            "target_speedup": 5,
        }

        # 2. history latency: one item with 100 events among `background` on chain
        filler = max(0, args.background - args.events - args.naive - 100)
        bulk = accounts[4]
        from o2ochain._chain.tx import Sender

        sender = Sender(w3, bulk)
        pending = []
        zero = b"\x00" * 32
        for start in range(0, filler, 200):
            entries = []
            for n in range(start, min(filler, start + 200)):
                serial = f"B{n:07d}"
                entries.append(
                    (
                        gs1.item_id(GTIN, serial),
                        os.urandom(32),
                        os.urandom(32),
                        zero,
                        zero,
                        zero,
                        (1, gs1.gtin_to_int(GTIN), gs1.to_bytes32(serial)),
                        [],
                    )
                )
            pending.append(sender.send(ledger.functions.record(brand, entries), gas=15_000_000))
        sender.wait(pending)
        target = parse([event("TARGET01", n, "shipping" if n % 2 else "receiving") for n in range(100)])
        chain.actor(accounts[2]).record_events(target)
        uri = f"{gs1.DEFAULT_RESOLVER}/01/{GTIN}/21/TARGET01"
        latencies = []
        history = []
        for _ in range(args.reads):
            t = time.perf_counter()
            history = chain.trace.history(uri, include_events=False)
            latencies.append((time.perf_counter() - t) * 1000)
        assert len(history) == 100 and all(h.verified for h in history)
        latencies.sort()
        result["history"] = {
            "events_on_chain": args.events + args.naive + filler + 100,
            "item_events": len(history),
            "reads": args.reads,
            "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
            "target_p95_ms": 200,
        }

    r, h = result["record"], result["history"]
    table = Table(title="traceability on Anvil")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row(
        f"library: {r['events']:,} events", f"{r['library_seconds']} s ({r['library_events_per_second']:,}/s, {r['transactions']} tx)", ""
    )
    table.add_row(f"naive send-and-wait: {r['naive_events']:,} events", f"{r['naive_seconds']} s ({r['naive_events_per_second']}/s)", "")
    table.add_row("speed-up", f"{r['speedup']}x", ">= 5x")
    table.add_row(
        f"history of an item, {h['item_events']} events among {h['events_on_chain']:,}",
        f"p50 {h['p50_ms']} ms, p95 {h['p95_ms']} ms",
        "p95 <= 200 ms",
    )
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
