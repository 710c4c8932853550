"""A registration killed with SIGKILL mid-run, then rerun, registers every item exactly once."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from o2ochain import gs1
from tests.conftest import GTIN_A, sample_rows, write_csv
from tests.e2e.conftest import FreshBrand, kill_midrun

pytestmark = pytest.mark.e2e
TOTAL = 6_000
PER_TX = 100


def test_register_sigkill_midrun_then_rerun_registers_each_item_once(fresh_brand: FreshBrand, tmp_path: Path) -> None:
    chain = fresh_brand.chain
    chain.brand(fresh_brand.accounts[1], fresh_brand.brand).grant_registrant(fresh_brand.accounts[2].address)
    rows = sample_rows(TOTAL // 2, lot="C1", prefix="A") + sample_rows(TOTAL // 2, lot="C2", prefix="B")
    csv_path = write_csv(tmp_path / "items.csv", rows)
    ids = [gs1.item_id(GTIN_A, r[1]) for r in rows]
    probes = ids[::PER_TX]  # the first item of every transaction
    command = fresh_brand.cli("item", "register", str(csv_path), "--batch-size", str(PER_TX))
    target = random.Random(2).randrange(5, len(probes) - 10)  # kill once this many transactions are mined
    kill_midrun(command, lambda: sum(chain.identity.registered(probes)), target)
    partial = sum(chain.identity.registered(ids))
    assert 0 < partial < TOTAL, f"killed at {partial} of {TOTAL} items: not mid-run"

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert all(chain.identity.registered(ids))
    logs = chain.identity.contract.events.ItemRegistered().get_logs(from_block=0)
    assert len(logs) == TOTAL
    assert len({bytes(log["args"]["item"]) for log in logs}) == TOTAL
