"""bench/catalogue.py on a small catalogue: a valid file, measured in a child, the promised keys."""

from __future__ import annotations

import json
from pathlib import Path

from bench.catalogue import main, write_catalogue
from o2ochain.identity import check_catalogue


def test_write_catalogue_writes_a_valid_catalogue_with_both_expiry_spellings(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    write_catalogue(path, 2_500, 1_000)
    summary = check_catalogue(path)
    assert (summary.items, summary.lots, len(summary.products)) == (2_500, 3, 3)
    text = path.read_text()
    assert ",2027-02-28\n" in text and ",280115\n" in text


def test_catalogue_bench_writes_the_keys_the_issue_asks_for(tmp_path: Path) -> None:
    out = tmp_path / "catalogue.json"
    assert main(["--rows", "20000", "--lot-size", "5000", "--no-read", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {"peak_rss_mb", "rows_per_s", "rows", "seconds", "file_mb"} <= set(result)
    assert result["rows"] == 20_000
    assert 10 < result["peak_rss_mb"] < 1_000
    assert result["rows_per_s"] > 0 and result["seconds"] > 0
