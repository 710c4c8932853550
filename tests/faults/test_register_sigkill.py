"""``o2ochain item register`` killed with SIGKILL at 10 random points of a 10,000-item import and
rerun after each kill, then run to completion: every item is registered exactly once."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from o2ochain import gs1
from tests.conftest import GTIN_A, sample_rows, write_csv
from tests.faults.conftest import RegistrantChain, item_registrations, seeded

pytestmark = pytest.mark.e2e
TOTAL = 10_000
PER_TX = 250
KILLS = 10


def _kill_when(command: list[str], progress: Callable[[], int], target: int, extra_delay: float, timeout: float = 120) -> None:
    """Run ``command``; SIGKILL it ``extra_delay`` s after ``progress()`` reaches ``target``."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None and progress() < target:
        time.sleep(0.01)
    time.sleep(extra_delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, f"the run ended (code {proc.returncode}) before it could be killed"


def test_register_killed_at_ten_random_points_registers_each_item_exactly_once(registrant_chain: RegistrantChain, tmp_path: Path) -> None:
    rng = seeded("register SIGKILL", 20_240_611)
    chain, registrant = registrant_chain.chain, registrant_chain.registrant.address
    rows = sample_rows(TOTAL // 2, lot="K1", prefix="A") + sample_rows(TOTAL // 2, lot="K2", prefix="B")
    csv_path = write_csv(tmp_path / "items.csv", rows)
    command = registrant_chain.cli("item", "register", str(csv_path), "--batch-size", str(PER_TX))

    def mined() -> int:  # transactions of the registrant on chain: one per batch
        return int(chain.w3.eth.get_transaction_count(registrant, "latest"))

    start = mined()
    # Kill points: after k batches of the whole import are mined (k strictly rising, so each run
    # makes progress), plus a random delay that lands the kill in a different phase each time.
    targets = sorted(rng.sample(range(1, TOTAL // PER_TX - 8), KILLS))
    for target in targets:
        _kill_when(command, mined, start + max(target, mined() - start + 1), rng.uniform(0.0, 0.2))

    ids = [gs1.item_id(GTIN_A, r[1]) for r in rows]
    partial = sum(chain.identity.registered(ids))
    assert partial < TOTAL, "every item was registered before the last kill: the kills were not mid-run"

    final = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert final.returncode == 0, final.stderr

    counts = item_registrations(chain)
    assert set(counts) == set(ids)  # every item of the CSV, nothing else
    assert max(counts.values()) == 1  # none twice
    assert sum(counts.values()) == TOTAL
