"""A registration killed with SIGKILL mid-run, then rerun, registers every item exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import o2ochain
from o2ochain import gs1
from o2ochain.chain import Anvil, dev_accounts, http_web3
from tests.conftest import GTIN_A, PREFIX, sample_rows, write_csv

pytestmark = pytest.mark.e2e
TOTAL = 6_000
PER_TX = 100


def test_register_sigkill_midrun_then_rerun_registers_each_item_once(tmp_path: Path) -> None:
    accounts = dev_accounts(4)
    with Anvil() as node:
        chain = o2ochain.O2OChain(http_web3(node.url), accounts=accounts)
        chain.deploy(accounts[0], save_to=tmp_path / "deployments")
        brand = chain.admin(accounts[0]).register_brand(accounts[1].address, "Crash Test Foods", [PREFIX])
        admin = chain.brand(accounts[1], brand)
        admin.grant_registrant(accounts[2].address)
        admin.add_product(GTIN_A)
        rows = sample_rows(TOTAL // 2, lot="C1", prefix="A") + sample_rows(TOTAL // 2, lot="C2", prefix="B")
        csv_path = write_csv(tmp_path / "items.csv", rows)
        ids = [gs1.item_id(GTIN_A, r[1]) for r in rows]
        probes = ids[::PER_TX]  # the first item of every transaction
        command = [
            sys.executable,
            "-m",
            "o2ochain.cli",
            "register",
            str(csv_path),
            "--batch-size",
            str(PER_TX),
            "--rpc",
            node.url,
            "--deployment",
            str(tmp_path / "deployments"),
            "--account",
            "dev:2",
            "--json",
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rng = random.Random(2)
        target = rng.randrange(5, len(probes) - 10)  # kill once this many transactions are mined
        deadline = time.monotonic() + 120
        mined = 0
        while time.monotonic() < deadline and proc.poll() is None:
            mined = sum(chain.identity.registered(probes))
            if mined >= target:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
        partial = sum(chain.identity.registered(ids))
        assert 0 < partial < TOTAL, f"killed at {partial} of {TOTAL} items: not mid-run"

        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert rerun.returncode == 0, rerun.stderr
        assert all(chain.identity.registered(ids))
        logs = chain.identity.contract.events.ItemRegistered().get_logs(from_block=0)
        assert len(logs) == TOTAL
        assert len({bytes(log["args"]["item"]) for log in logs}) == TOTAL
