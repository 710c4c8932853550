"""The gas regression guard: bench/out/gas.json against the committed bench/gas-snapshot.json.

Gas is deterministic, so the snapshot is reviewed like code (as Uniswap commits theirs). The
check fails when an operation costs more than 2% above its snapshot, when an operation is new
or gone — that is, whenever gas moved up without the snapshot being updated in the same commit.
Cheaper is fine, and reported.

    .venv/bin/python bench/snapshot.py            # check (exit 1 on a regression)
    .venv/bin/python bench/snapshot.py --update   # accept the current figures
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "bench" / "gas-snapshot.json"
MEASURED = ROOT / "bench" / "out" / "gas.json"
TOLERANCE = 0.02


def compare(snapshot: dict[str, int], measured: dict[str, int], tolerance: float = TOLERANCE) -> tuple[list[str], list[str]]:
    """(problems, improvements): lines a reader needs, empty when nothing moved."""
    problems: list[str] = []
    better: list[str] = []
    for name in sorted(set(snapshot) | set(measured)):
        if name not in measured:
            problems.append(f"{name}: in the snapshot but no longer measured")
        elif name not in snapshot:
            problems.append(f"{name}: {measured[name]:,} gas, not in the snapshot")
        elif measured[name] > snapshot[name] * (1 + tolerance):
            change = measured[name] / snapshot[name] - 1
            problems.append(f"{name}: {measured[name]:,} gas, {change:+.1%} over the snapshot's {snapshot[name]:,}")
        elif measured[name] < snapshot[name]:
            better.append(f"{name}: {measured[name]:,} gas ({measured[name] / snapshot[name] - 1:+.1%})")
    return problems, better


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="Write the measured figures as the new snapshot.")
    parser.add_argument("--measured", type=Path, default=MEASURED)
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    args = parser.parse_args(argv)
    try:
        measured = {name: int(row["gas"]) for name, row in json.loads(args.measured.read_text()).items()}
    except FileNotFoundError:
        print(f"no measurements at {args.measured}: run bench/gas.py first", file=sys.stderr)
        return 1
    if args.update:
        args.snapshot.write_text(json.dumps(dict(sorted(measured.items())), indent=2) + "\n")
        print(f"wrote {args.snapshot} ({len(measured)} operations)")
        return 0
    snapshot = {name: int(gas) for name, gas in json.loads(args.snapshot.read_text()).items()}
    problems, better = compare(snapshot, measured)
    for line in better:
        print(f"cheaper than the snapshot: {line}")
    if problems:
        print("gas moved without the snapshot (bench/gas-snapshot.json) being updated:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        print("if this is intended, run `.venv/bin/python bench/snapshot.py --update` and commit the snapshot", file=sys.stderr)
        return 1
    print(f"gas within {TOLERANCE:.0%} of the snapshot for all {len(snapshot)} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
