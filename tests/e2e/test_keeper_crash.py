"""The keeper killed mid-run (SIGKILL) and started again: every buyer paid exactly once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

import o2ochain
from o2ochain.chain import Anvil, dev_accounts, http_web3
from o2ochain.guarantee import Policy, Sale, receipt_hash
from tests.conftest import GTIN_A
from tests.e2e.conftest import kill_midrun

pytestmark = pytest.mark.e2e
UNIT = 10**15
PURCHASES = 40


def test_keeper_killed_mid_run_then_restarted_pays_each_purchase_exactly_once(tmp_path: Path) -> None:
    accounts = dev_accounts(10)
    with Anvil() as node:
        chain = o2ochain.O2OChain(http_web3(node.url), accounts=accounts)
        chain.deploy(accounts[0], save_to=tmp_path / "deployments")
        admin = chain.register_retailer(accounts[1])
        admin.add_channel("store", accounts[6].address, "store")
        admin.add_channel("online-shop", accounts[7].address, "web shop")
        admin.set_policy(Policy(window=30 * 86_400, tolerance_amount=50 * UNIT, max_payout=500 * UNIT))
        admin.fund(10 * 10**18)
        store, web = chain.channel(accounts[6]), chain.channel(accounts[7])
        buyers = [Account.create().address for _ in range(PURCHASES)]
        sales = [Sale(b, int(GTIN_A), 1 + n % 3, 188 * UNIT, receipt_hash(f"ZS/{n}")) for n, b in enumerate(buyers)]
        store.record_sales(sales, batch=20)
        web.publish_price(GTIN_A, 133 * UNIT)

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
        assert (info.paid, info.available, info.owed) == (total, 10 * 10**18 - total, 0)
