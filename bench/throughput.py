"""Throughput of a Merkle import: 100,000 items from CSV to chain to proofs file, on Anvil.

Stages, each timed: read + validate the CSV; compute item ids and build each lot's Merkle tree;
write every proof; commit the roots on chain (pipelined). Prints a table and writes
bench/out/throughput.json. The target of the foundation issue is 30 s for 100,000 items on a
2-core machine.

    .venv/bin/python bench/throughput.py [--items 100000] [--lot-size 10000]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from o2ochain import gs1
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain.client import O2OChain
from o2ochain.identity import read_catalogue

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "9506000"


def write_catalogue(path: Path, items: int, lot_size: int) -> list[str]:
    gtins = [gs1.make_gtin(PREFIX, 100 + n) for n in range(10)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["gtin", "serial", "lot", "expiry"])
        for n in range(items):
            lot = n // lot_size
            w.writerow([gtins[lot % len(gtins)], f"SN{n:010d}", f"LOT{lot:04d}", "2027-12-31"])
    return gtins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--lot-size", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "throughput.json")
    args = parser.parse_args(argv)
    console = Console(width=110)
    with tempfile.TemporaryDirectory() as tmp, Anvil() as node:
        folder = Path(tmp)
        gtins = write_catalogue(folder / "items.csv", args.items, args.lot_size)
        accounts = dev_accounts(3)
        chain = O2OChain(http_web3(node.url), accounts=accounts)
        chain.deploy(accounts[0])
        brand = chain.admin(accounts[0]).register_brand(accounts[1].address, "Throughput Foods", [PREFIX])
        admin = chain.brand(accounts[1], brand)
        admin.grant_registrant(accounts[2].address)
        for g in gtins:
            admin.add_product(g)
        registrant = chain.registrant(accounts[2])

        stages: dict[str, float] = {}
        t0 = time.perf_counter()
        items = read_catalogue(folder / "items.csv")
        stages["read + validate CSV"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        lots = registrant.commit_lots(items, proofs_dir=folder / "proofs")
        stages["ids + trees + proofs files + chain"] = time.perf_counter() - t1
        total = time.perf_counter() - t0
        assert all(not lot.already for lot in lots)
        assert all(registrant.identity.root_committed(lot.root) for lot in lots)
        proof_lines = sum(sum(1 for _ in p.open()) - 1 for p in (folder / "proofs").glob("*.jsonl"))
        assert proof_lines == args.items, (proof_lines, args.items)

    result = {
        "items": args.items,
        "lots": len(lots),
        "seconds": round(total, 3),
        "items_per_second": round(args.items / total),
        "stages": {k: round(v, 3) for k, v in stages.items()},
        "target_seconds": 30,
    }
    table = Table(title=f"CSV → validation → Merkle trees → chain → proofs: {args.items:,} items, {len(lots)} lots")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for k, v in stages.items():
        table.add_row(k, f"{v:.2f}")
    table.add_row("[bold]total[/]", f"[bold]{total:.2f}[/]")
    console.print(table)
    console.print(f"{args.items / total:,.0f} items/s; target: {args.items:,} items in 30 s -> {'ok' if total <= 30 else 'OVER'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
