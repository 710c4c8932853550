"""A keeper round over a year of sales through a stand-in index: 100,000 purchases and 10,000 price changes.

The network issue's target (a keeper round via the index in <= 10 s) is measured for real by
bench/network.py: sales and prices recorded on Anvil, indexed by Ponder, read through the
public-RPC stand-in. This is the quick profile of the library's side alone (the index's requests
and answers, decoding, the rule), with no chain to load and no index to run: the events are made
here, ``PurchaseRecorded`` and ``PricePublished`` logs encoded as the contract encodes them, of a
retailer set up on an in-process chain (its policy, channels and currency are real), served over
HTTP by a stand-in speaking the index's contract (``/o2o/head``, ``/o2o/logs`` with pages of
10,000; in a process of its own, like Ponder). These purchases are synthetic, not on chain: one
in 1,000 prices is low enough to owe the purchases of its GTIN something, within the payout
delay, so the round finds them pending and sends nothing.
Prints a table and writes bench/out/keeper_round.json (``keeper_round_s``).

    .venv/bin/python bench/keeper_round.py [--purchases 100000] [--prices 10000]
"""

from __future__ import annotations

import argparse
import bisect
import http.server
import json
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_hash.auto import keccak
from hexbytes import HexBytes
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import o2ochain  # noqa: E402
from o2ochain import gs1  # noqa: E402
from o2ochain._chain.index import IndexClient  # noqa: E402
from tests.conftest import build_world  # noqa: E402
from tests.library.test_guarantee import UNIT, open_shop  # noqa: E402

TARGET_S = 10.0
PAGE = 10_000


def topic(n: int) -> str:
    return "0x" + f"{n:064x}"


def make_logs(chain: o2ochain.O2OChain, purchases: int, prices: int, gtins: int) -> tuple[list[dict[str, Any]], int]:
    """The sales and prices of a year, as eth_getLogs gives them, in the blocks of ``chain``."""
    reader = chain.guarantee
    head = int(chain.w3.eth.block_number)
    now = reader.now()
    first = reader.from_block
    span = head - first + 1
    address = reader.address.lower()
    published = "0x" + bytes(HexBytes(reader.contract.events.PricePublished().topic)).hex()
    recorded = "0x" + bytes(HexBytes(reader.contract.events.PurchaseRecorded().topic)).hex()
    numbers = [int(gs1.make_gtin("9506000", 100 + k)) for k in range(gtins)]
    rnd = random.Random(16)
    rows: list[tuple[int, dict[str, Any]]] = []
    for k in range(prices):
        price = (188 - rnd.choice([0, 10, 20, 30, 40]) - (60 if k % 1000 == 0 else 0)) * UNIT
        data = "0x" + encode(["uint96", "uint8", "uint40"], [price, 0, 2**40 - 1]).hex()
        # a GTIN's prices in blocks of their own (a channel has one price of a GTIN per start time)
        rows.append(
            (first + (k // gtins) % span, {"topics": [published, topic(numbers[k % gtins]), topic(2)], "data": data, "tx": 10**9 + k})
        )
    fields = ["uint32", "uint32", "uint32", "uint96", "uint40", "bytes32", "uint32", "uint96", "uint40"]
    for k in range(purchases):
        receipt = keccak(b"receipt" + k.to_bytes(8, "big"))
        data = "0x" + encode(fields, [1, 1, 1 + k % 3, 188 * UNIT, now - 1000, receipt, 1, 100 * UNIT, now - 1000]).hex()
        pid = "0x" + keccak(k.to_bytes(32, "big")).hex()
        rows.append(
            (
                first + k % span,
                {"topics": [recorded, pid, topic(0x10000 + k), topic(numbers[k % gtins])], "data": data, "tx": 2 * 10**9 + k},
            )
        )
    rows.sort(key=lambda row: row[0])
    logs = []
    for n, (block, row) in enumerate(rows):
        logs.append(
            {
                "address": address,
                "topics": row["topics"],
                "data": row["data"],
                "blockNumber": hex(block),
                "blockHash": topic(block),
                "transactionHash": topic(row["tx"]),
                "transactionIndex": "0x0",
                "logIndex": hex(n),
                "removed": False,
            }
        )
    return logs, head


def serve(logs: list[dict[str, Any]], head: int, chain_id: int, port: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The stand-in index: logs by topic0 (each serialised once), filtered like eth_getLogs, pages of ``PAGE``."""
    by_topic: dict[str, list[tuple[int, dict[str, Any], str]]] = {}
    for n, log in enumerate(logs):
        by_topic.setdefault(log["topics"][0], []).append((n, log, json.dumps(log)))

    def answer(body: dict[str, Any]) -> bytes:
        topics = body.get("topics") or []
        first = topics[0] if topics else None
        wanted = [first] if isinstance(first, str) else first if first else list(by_topic)
        pool = (
            sorted((row for t in wanted for row in by_topic.get(t, [])), key=lambda row: row[0])
            if len(wanted) > 1
            else by_topic.get(wanted[0], [])
        )
        last = head if body.get("toBlock") is None else min(head, int(body["toBlock"]))
        after = int(body["after"]) if body.get("after") else -1
        found: list[tuple[int, str]] = []
        for n, log, text in pool[bisect.bisect_right([row[0] for row in pool], after) :] if after >= 0 else pool:
            if not body["fromBlock"] <= int(log["blockNumber"], 16) <= last:
                continue
            if all(w is None or log["topics"][i] in (w if isinstance(w, list) else [w]) for i, w in enumerate(topics[1:], 1)):
                found.append((n, text))
                if len(found) > PAGE:
                    break
        page = found[:PAGE]
        more = json.dumps(str(page[-1][0])) if len(found) > PAGE else "null"
        return f'{{"head": {head}, "logs": [{", ".join(text for _, text in page)}], "next": {more}}}'.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, raw: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._send(json.dumps({"chains": {str(chain_id): {"block": head, "hash": None}}}).encode())

        def do_POST(self) -> None:
            self._send(answer(json.loads(self.rfile.read(int(self.headers["Content-Length"])))))

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.put(server.server_address[1])
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=100_000)
    parser.add_argument("--prices", type=int, default=10_000)
    parser.add_argument("--gtins", type=int, default=1_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "keeper_round.json")
    args = parser.parse_args()
    console = Console()

    world = build_world(o2ochain.connect("tester"), Path(tempfile.mkdtemp()) / "deployments")
    shop = open_shop(world)
    chain = world.chain
    logs, head = make_logs(chain, args.purchases, args.prices, args.gtins)
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(logs, head, chain.chain_id, ports), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{ports.get(timeout=60)}"
        index = IndexClient(url)
        chain.use_index(index)
        keeper = chain.keeper(shop.keeper_account)
        started, cpu = time.perf_counter(), time.process_time()
        actions = keeper.run_once()
        cold, cold_cpu, cold_requests = time.perf_counter() - started, time.process_time() - cpu, index.requests
        started = time.perf_counter()
        keeper.run_once()
        warm = time.perf_counter() - started
    finally:
        server.terminate()
    result = {
        "keeper_round_s": round(cold, 2),
        "keeper_round_cpu_s": round(cold_cpu, 2),
        "keeper_round_index_requests": cold_requests,
        "keeper_next_round_s": round(warm, 2),
        "purchases": args.purchases,
        "price_changes": args.prices,
        "gtins": args.gtins,
        "followed": len(keeper._purchases),
        "actions": len(actions),
    }
    table = Table(title="keeper round via the index")
    for column in ("measure", "value", "target"):
        table.add_column(column)
    table.add_row("first round (reads everything)", f"{cold:.2f} s ({cold_cpu:.2f} s CPU)", f"<= {TARGET_S:g} s")
    table.add_row("index requests", str(cold_requests), "")
    table.add_row("next round (nothing new)", f"{warm:.2f} s", "")
    table.add_row("purchases followed", f"{result['followed']:,}", "")
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
