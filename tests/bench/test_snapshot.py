"""The gas regression guard of bench/snapshot.py."""

from __future__ import annotations

import json
from pathlib import Path

from bench.snapshot import compare, main


def test_more_than_two_percent_over_the_snapshot_fails_and_cheaper_passes() -> None:
    problems, better = compare({"a": 100_000, "b": 50_000}, {"a": 102_000, "b": 40_000})
    assert problems == [] and better == ["b: 40,000 gas (-20.0%)"]
    problems, _ = compare({"a": 100_000}, {"a": 102_001})
    assert problems == ["a: 102,001 gas, +2.0% over the snapshot's 100,000"]


def test_new_and_vanished_operations_need_a_snapshot_update() -> None:
    problems, _ = compare({"old": 1}, {"new": 1})
    assert problems == ["new: 1 gas, not in the snapshot", "old: in the snapshot but no longer measured"]


def test_update_then_check(tmp_path: Path) -> None:
    measured = tmp_path / "gas.json"
    snapshot = tmp_path / "snapshot.json"
    measured.write_text(json.dumps({"op": {"gas": 1_000, "items": 1}}))
    assert main(["--measured", str(measured), "--snapshot", str(snapshot), "--update"]) == 0
    assert json.loads(snapshot.read_text()) == {"op": 1_000}
    assert main(["--measured", str(measured), "--snapshot", str(snapshot)]) == 0
    measured.write_text(json.dumps({"op": {"gas": 1_030, "items": 1}}))
    assert main(["--measured", str(measured), "--snapshot", str(snapshot)]) == 1


def test_the_committed_snapshot_covers_every_measured_operation_name() -> None:
    snapshot = json.loads((Path(__file__).resolve().parents[2] / "bench" / "gas-snapshot.json").read_text())
    assert {"register_items_batch_100", "publish_price", "review_post", "coupon_redeem"} <= set(snapshot)
