"""The node under a running keeper is killed (SIGKILL) and restarted from its state file on the
same port: the keeper reports the outage, carries on, and every purchase is paid exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import o2ochain
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from tests.conftest import gift_bag_drop

pytestmark = pytest.mark.e2e
UNIT = 10**15
PURCHASES = 40
#: Enough to reserve every purchase's cover (its worst case, (188 - 1) x quantity, at most 500): some 14.3.
FUND = 20 * 10**18


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_keeper_survives_node_restart_and_pays_each_purchase_exactly_once(tmp_path: Path) -> None:
    accounts = dev_accounts(10)
    node = Anvil(state=tmp_path / "anvil-state.json", state_interval=1)
    with node:
        chain = o2ochain.O2OChain(http_web3(node.url), accounts=accounts)
        chain.deploy(accounts[0], save_to=tmp_path / "deployments")
        admin, buyers = gift_bag_drop(chain, accounts, fund=FUND, purchases=PURCHASES, receipts="RS")
        time.sleep(1.5)  # the setup is in the state file (written every second)
        reader = chain.guarantee

        def paid() -> int:
            return len([p for p in reader.payouts(retailer=admin.retailer) if p.kind == "paid"])

        log_path = tmp_path / "keeper.jsonl"
        command = [sys.executable, "-m", "o2ochain.cli", "keeper", "--interval", "0.2", "--rpc", node.url]
        command += ["--deployment", str(tmp_path / "deployments"), "--account", "dev:9", "--log", str(log_path)]
        # Two attempts per call: the outage outlasts the retries, so a round fails and is reported.
        env = os.environ | {"O2O_RPC_ATTEMPTS": "2"}
        keeper = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            _until(lambda: paid() >= 5, 60, "the first payouts")
            clock = int(chain.w3.eth.get_block("latest")["timestamp"])  # a day ahead: past the payout delay
            node.stop(signal.SIGKILL)  # mid-round: claims in flight, the last second of blocks lost
            time.sleep(1.5)
            node.start()
            # Anvil does not keep a time offset across a restart: carry the chain's clock on, as
            # the demo does, or the claims would be too early again.
            chain.w3.provider.make_request("evm_increaseTime", [max(0, clock - int(time.time())) + 1])  # type: ignore[arg-type]
            _until(lambda: paid() >= PURCHASES, 60, "every payout after the restart")
            time.sleep(1.0)  # a few more rounds: nothing more must be paid
        finally:
            keeper.send_signal(signal.SIGTERM)
            _stdout, stderr = keeper.communicate(timeout=30)
        assert keeper.returncode == 0, stderr
        assert keeper.poll() is not None
        failures = [line for line in stderr.splitlines() if "round failed" in line]
        assert failures, f"the keeper did not report the outage:\n{stderr}"
        assert all(node.url.removeprefix("http://") in line for line in failures)  # names the endpoint
        assert "Traceback" not in stderr

        paid_event = reader.contract.events.CompensationPaid()
        events = [
            paid_event.process_log(log)
            for log in chain.w3.eth.get_logs({"address": reader.address, "topics": [paid_event.topic], "fromBlock": 0})
        ]
        per_purchase = Counter(bytes(e["args"]["purchase"]) for e in events)
        assert len(per_purchase) == PURCHASES and set(per_purchase.values()) == {1}  # each once
        for n, buyer in enumerate(buyers):
            assert chain.w3.eth.get_balance(buyer) == 55 * UNIT * (1 + n % 3)
        total = sum(55 * UNIT * (1 + n % 3) for n in range(PURCHASES))
        info = reader.retailer(admin.retailer)
        covers = sum(p.cover for p in reader.purchases())  # reserved when the sales were recorded
        assert (info.paid, info.balance, info.reserved) == (total, FUND - total, covers - total)
        logged = {json.loads(line)["purchase"] for line in log_path.read_text().splitlines() if json.loads(line)["kind"] == "paid"}
        assert len(logged) == PURCHASES  # every payout reached the log
