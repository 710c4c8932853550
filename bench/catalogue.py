"""Validating a brand's catalogue: a 1,000,000-row CSV checked in constant memory.

Generates the catalogue (about 48 MB: 20 GTINs, lots of 10,000 items, expiry dates written both
ways GS1 allows) in a temporary folder, then validates it in a child process, so that the
generator's memory does not count: ``check_catalogue`` (every check, 8 bytes a row to find
repeated items, no item held) and, for comparison, ``read_catalogue`` (the same checks, keeping
every item for registration). Peak memory is the child's ``ru_maxrss``; speed is rows over the
validation's wall time (the interpreter's start and imports excluded, reported apart); its CPU
time is reported too, as the machine's two cores may be shared while it runs.

Prints a table and writes bench/out/catalogue.json (``peak_rss_mb``, ``rows_per_s``, ``rows``,
``seconds``, ``file_mb`` and the same for ``read_catalogue``). Targets of issue 15 on this 2-core
machine: peak RSS ≤ 200 MB and ≥ 150,000 rows/s.

    .venv/bin/python bench/catalogue.py [--rows 1000000] [--lot-size 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from o2ochain import gs1

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "9506000"
TARGET_PEAK_RSS_MB = 200
TARGET_ROWS_PER_S = 150_000

#: Runs in the child: imports timed apart, then one validation, then a JSON line on stdout.
CHILD = """
import json, sys, time
started = time.perf_counter()
from o2ochain.identity import check_catalogue, read_catalogue
imported, cpu = time.perf_counter(), time.process_time()
mode, path = sys.argv[1], sys.argv[2]
if mode == "check":
    rows = check_catalogue(path).items
else:
    rows = len(read_catalogue(path))
done, cpu = time.perf_counter(), time.process_time() - cpu
print(json.dumps({"rows": rows, "seconds": done - imported, "cpu_seconds": cpu, "import_seconds": imported - started}))
"""


def write_catalogue(path: Path, rows: int, lot_size: int) -> None:
    """``rows`` items: 20 GTINs, a new lot every ``lot_size`` rows, expiry ISO or GS1 YYMMDD."""
    gtins = [gs1.make_gtin(PREFIX, 100 + n) for n in range(20)]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("gtin,serial,lot,expiry\n")
        for start in range(0, rows, lot_size):
            lot = start // lot_size
            gtin = gtins[lot % len(gtins)]
            expiry = f"2027-{lot % 12 + 1:02d}-28" if lot % 2 else f"28{lot % 12 + 1:02d}15"
            head = f"{gtin},"
            tail = f",LOT-{lot:05d},{expiry}\n"
            out.write("".join(f"{head}SN{n:010d}{tail}" for n in range(start, min(start + lot_size, rows))))


def validate_in_child(mode: str, path: Path) -> dict[str, Any]:
    """Run one validation in a fresh interpreter; its result, with the child's peak RSS."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, mode, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stderr is not None
    output, errors = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not every child's
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"the {mode} child failed:\n{errors}")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lot-size", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "catalogue.json")
    parser.add_argument("--no-read", action="store_true", help="Skip the read_catalogue comparison.")
    args = parser.parse_args(argv)
    console = Console(width=110)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalogue.csv"
        write_catalogue(path, args.rows, args.lot_size)
        file_mb = path.stat().st_size / 2**20
        check = validate_in_child("check", path)
        read = None if args.no_read else validate_in_child("read", path)
    assert check["rows"] == args.rows, check

    result: dict[str, Any] = {
        "rows": args.rows,
        "file_mb": round(file_mb, 1),
        "seconds": round(check["seconds"], 3),
        "rows_per_s": round(args.rows / check["seconds"]),
        "peak_rss_mb": round(check["peak_rss_mb"], 1),
        "cpu_seconds": round(check["cpu_seconds"], 3),
        "import_seconds": round(check["import_seconds"], 3),
        "target_peak_rss_mb": TARGET_PEAK_RSS_MB,
        "target_rows_per_s": TARGET_ROWS_PER_S,
    }
    if read is not None:
        result["read_catalogue"] = {
            "seconds": round(read["seconds"], 3),
            "rows_per_s": round(args.rows / read["seconds"]),
            "peak_rss_mb": round(read["peak_rss_mb"], 1),
        }

    table = Table(title=f"Catalogue validation: {args.rows:,} rows, {file_mb:.1f} MB CSV")
    for column, justify in (("function", "left"), ("seconds", "right"), ("rows/s", "right"), ("peak RSS", "right"), ("target", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    speed_ok = result["rows_per_s"] >= TARGET_ROWS_PER_S
    memory_ok = result["peak_rss_mb"] <= TARGET_PEAK_RSS_MB
    table.add_row(
        "check_catalogue (constant memory)",
        f"{result['seconds']:.2f}",
        f"{result['rows_per_s']:,}",
        f"{result['peak_rss_mb']:.0f} MB",
        f"≥ {TARGET_ROWS_PER_S:,}/s {'ok' if speed_ok else 'MISSED'}, ≤ {TARGET_PEAK_RSS_MB} MB {'ok' if memory_ok else 'MISSED'}",
    )
    if read is not None:
        r = result["read_catalogue"]
        table.add_row("read_catalogue (keeps every item)", f"{r['seconds']:.2f}", f"{r['rows_per_s']:,}", f"{r['peak_rss_mb']:.0f} MB", "")
    console.print(table)
    console.print(
        f"check_catalogue CPU time {result['cpu_seconds']:.2f} s ({args.rows / result['cpu_seconds']:,.0f} rows per CPU second); "
        f"interpreter start and imports, not counted: {result['import_seconds']:.2f} s"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
