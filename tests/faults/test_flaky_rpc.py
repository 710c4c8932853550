"""A flaky JSON-RPC proxy in front of Anvil: timeouts, 502/503 and dropped connections are
retried with backoff and a bound; a node that stays down is one clear typed error (a one-line
message and exit code 1 from the command line)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from o2ochain._chain.connection import RetryPolicy, http_web3
from o2ochain.client import O2OChain
from o2ochain.errors import RPCUnavailable
from o2ochain.identity import catalogue_from_rows
from tests.conftest import sample_rows
from tests.faults.conftest import FAULTS, FlakyProxy, RegistrantChain, item_registrations, seeded

pytestmark = pytest.mark.e2e
FAST = RetryPolicy(timeout=0.5, attempts=5, backoff=0.05, max_backoff=0.4, budget=10.0)


def test_each_fault_is_retried_with_backoff_until_the_node_answers(
    registrant_chain: RegistrantChain, flaky_proxy: type[FlakyProxy]
) -> None:
    proxy = flaky_proxy(registrant_chain.node.url, delay=1.0, schedule=["503", "502", "drop", "delay"])
    w3 = http_web3(proxy.url, policy=FAST)
    started = time.monotonic()
    assert w3.eth.block_number == registrant_chain.chain.w3.eth.block_number
    elapsed = time.monotonic() - started
    assert [f for f, _ in proxy.seen] == ["503", "502", "drop", "delay", "ok"]
    assert {m for _, m in proxy.seen} == {"eth_blockNumber"}
    assert 0.5 + 0.05 + 0.1 + 0.2 + 0.4 <= elapsed < 5  # the timeout, then pauses of 0.05, 0.1, 0.2, 0.4 s


def test_registration_through_a_flaky_node_registers_each_item_once(
    registrant_chain: RegistrantChain, flaky_proxy: type[FlakyProxy]
) -> None:
    rng = seeded("flaky registration", 7)
    schedule = [rng.choices(FAULTS, weights=(80, 5, 5, 5, 5))[0] for _ in range(400)]
    proxy = flaky_proxy(registrant_chain.node.url, delay=0.6, schedule=schedule)
    chain = O2OChain(http_web3(proxy.url, policy=FAST), deployment=registrant_chain.chain.deployment)
    rows = sample_rows(1_000, lot="F1", prefix="F")

    report = chain.registrant(registrant_chain.registrant).register_items(catalogue_from_rows(rows), items_per_tx=100)

    assert (report.registered, report.transactions) == (1_000, 10)
    faults = proxy.faults()
    assert sum(faults[f] for f in ("delay", "502", "503", "drop")) >= 5, faults  # the faults happened
    assert any(f != "ok" and m == "eth_sendRawTransaction" for f, m in proxy.seen) or faults["delay"]  # sends too
    counts = item_registrations(registrant_chain.chain)
    assert len(counts) == 1_000 and set(counts.values()) == {1}


@pytest.mark.parametrize(("fault", "problem"), [("503", "HTTP 503 Service Unavailable"), ("drop", "connection dropped before an answer")])
def test_a_node_that_stays_down_is_one_typed_error_naming_endpoint_and_problem(
    registrant_chain: RegistrantChain, flaky_proxy: type[FlakyProxy], fault: str, problem: str
) -> None:
    proxy = flaky_proxy(registrant_chain.node.url, down_with=fault)
    w3 = http_web3(proxy.url, policy=RetryPolicy(timeout=0.5, attempts=4, backoff=0.05))
    started = time.monotonic()
    with pytest.raises(RPCUnavailable) as caught:
        w3.eth.get_balance(registrant_chain.registrant.address)
    assert time.monotonic() - started < 2  # bounded: 4 attempts, pauses of 0.05, 0.1, 0.2 s
    error = caught.value
    assert (error.endpoint, error.method, error.attempts, error.problem) == (proxy.url, "eth_getBalance", 4, problem)
    assert str(error).startswith(f"the node at {proxy.url} failed eth_getBalance 4 times over ")
    assert len(proxy.seen) == 4


@pytest.mark.parametrize(("fault", "problem"), [("503", "HTTP 503 Service Unavailable"), ("delay", "no answer within 0.3 s")])
def test_cli_against_a_node_that_stays_down_prints_one_line_and_exits_1(
    registrant_chain: RegistrantChain, flaky_proxy: type[FlakyProxy], fault: str, problem: str
) -> None:
    proxy = flaky_proxy(registrant_chain.node.url, delay=1.0, down_with=fault)
    command = registrant_chain.cli("item", "verify", "https://id.gs1.org/01/09506000000107/21/X1", rpc=proxy.url)
    command.remove("--json")
    env = os.environ | {"O2O_RPC_TIMEOUT": "0.3", "O2O_RPC_ATTEMPTS": "3", "COLUMNS": "300"}
    run = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"error: cannot reach a node at {proxy.url}: the node at {proxy.url} failed eth_chainId 3 times")
    assert lines[0].endswith(problem)
    assert "Traceback" not in run.stderr and "0x" not in run.stderr
    assert run.stdout == ""
