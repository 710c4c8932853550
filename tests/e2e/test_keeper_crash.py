"""The keeper killed mid-run (SIGKILL) and started again: every buyer paid exactly once (a day after
the sales, the payout delay, which the chain's clock is moved past first)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import o2ochain
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from tests.conftest import gift_bag_drop
from tests.e2e.conftest import kill_midrun

pytestmark = pytest.mark.e2e
UNIT = 10**15
PURCHASES = 40
#: Enough to reserve every purchase's cover (its worst case, (188 - 1) x quantity, at most 500): some 14.3.
FUND = 20 * 10**18


def test_keeper_killed_mid_run_then_restarted_pays_each_purchase_exactly_once(tmp_path: Path) -> None:
    accounts = dev_accounts(10)
    with Anvil() as node:
        chain = o2ochain.O2OChain(http_web3(node.url), accounts=accounts)
        chain.deploy(accounts[0], save_to=tmp_path / "deployments")
        admin, buyers = gift_bag_drop(chain, accounts, fund=FUND, purchases=PURCHASES, receipts="ZS")

        reader = chain.guarantee
        paid_event = reader.contract.events.CompensationPaid()

        def payouts() -> int:
            return len(reader.payouts(retailer=admin.retailer))

        command = [
            sys.executable,
            "-m",
            "o2ochain.cli",
            "keeper",
            "--interval",
            "0.2",
            "--rpc",
            node.url,
            "--deployment",
            str(tmp_path / "deployments"),
            "--account",
            "dev:9",
            "--log",
            str(tmp_path / "keeper.jsonl"),
        ]
        kill_midrun(command, payouts, 5)
        first_run = payouts()
        assert 5 <= first_run < PURCHASES, f"killed after {first_run} payouts: not in the middle"

        subprocess.run([*command[:4], "--once", *command[6:]], check=True, capture_output=True, timeout=300)

        events = [
            paid_event.process_log(log)
            for log in chain.w3.eth.get_logs({"address": reader.address, "topics": [paid_event.topic], "fromBlock": 0})
        ]
        assert len(events) == PURCHASES
        assert len({bytes(e["args"]["purchase"]) for e in events}) == PURCHASES  # none paid twice
        for n, buyer in enumerate(buyers):
            assert chain.w3.eth.get_balance(buyer) == 55 * UNIT * (1 + n % 3)
        total = sum(55 * UNIT * (1 + n % 3) for n in range(PURCHASES))
        info = reader.retailer(admin.retailer)
        covers = sum(p.cover for p in reader.purchases())  # reserved when the sales were recorded
        assert (info.paid, info.balance, info.reserved) == (total, FUND - total, covers - total)
