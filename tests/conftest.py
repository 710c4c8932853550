"""Shared fixtures: an in-process chain with o2ochain deployed, a real Anvil, sample catalogues."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

import o2ochain
from o2ochain import gs1
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3, tester_web3
from o2ochain.guarantee import RetailerAdmin

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "9506000"
OTHER_PREFIX = "9506001"


gtin = gs1.make_gtin


GTIN_A = gtin(PREFIX, 10)
GTIN_B = gtin(PREFIX, 11)
GTIN_OTHER_BRAND = gtin(OTHER_PREFIX, 10)


def write_csv(path: Path, rows: list[list[str]], header: tuple[str, ...] = ("gtin", "serial", "lot", "expiry")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def sample_rows(count: int, *, gtin14: str = GTIN_A, lot: str = "L1", prefix: str = "S", start: int = 0) -> list[list[str]]:
    return [[gtin14, f"{prefix}{n:06d}", lot, "2027-06-30"] for n in range(start, start + count)]


@dataclass
class World:
    """A deployed registry with one brand set up and named accounts for every role."""

    chain: o2ochain.O2OChain
    operator: LocalAccount
    brand_admin: LocalAccount
    registrant: LocalAccount
    seller: LocalAccount
    buyer: LocalAccount
    outsider: LocalAccount
    other_admin: LocalAccount
    brand: int
    other_brand: int


def build_world(chain: o2ochain.O2OChain, deployments: Path) -> World:
    a = chain.accounts
    operator, brand_admin, registrant, seller, buyer, outsider, other_admin = a[0], a[1], a[2], a[3], a[4], a[5], a[6]
    chain.deploy(operator, save_to=deployments)
    admin = chain.admin(operator)
    brand = admin.register_brand(brand_admin.address, "Dalian Coast Snacks", [PREFIX])
    other = admin.register_brand(other_admin.address, "Jinzhou Orchard", [OTHER_PREFIX])
    ba = chain.brand(brand_admin, brand)
    ba.grant_registrant(registrant.address)
    ba.grant_seller(seller.address)
    ba.add_product(GTIN_A, "o2ochain://product/a")
    ba.add_product(GTIN_B, "o2ochain://product/b")
    chain.brand(other_admin, other).add_product(GTIN_OTHER_BRAND)
    return World(chain, operator, brand_admin, registrant, seller, buyer, outsider, other_admin, brand, other)


@pytest.fixture(scope="session")
def _world_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, Path]:
    """The world built once a session (deploying on py-evm costs 1-3 s, and ~200 tests ask for
    it): the chain it lives on and the folder its manifest was saved to."""
    deployments = tmp_path_factory.mktemp("world") / "deployments"
    w3, accounts = tester_web3()
    return build_world(o2ochain.O2OChain(w3, accounts=accounts), deployments), deployments


@pytest.fixture
def world(_world_template: tuple[World, Path], tmp_path: Path) -> Iterator[World]:
    """A fresh in-process chain (eth-tester) with the registry deployed and a brand ready.

    The chain is the session's template reverted to its snapshot after the test (eth-tester's
    ``revert_to_snapshot``: blocks, state and clock as they were); the client is new for each
    test (no cached reader, nonce or index carries over), its manifest copied to
    ``tmp_path / "deployments"`` as when each test deployed its own."""
    template, manifests = _world_template
    tester = template.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    snapshot = tester.take_snapshot()
    deployments = tmp_path / "deployments"
    shutil.copytree(manifests, deployments)
    from web3 import Web3
    from web3.providers.eth_tester import EthereumTesterProvider

    chain = o2ochain.O2OChain(Web3(EthereumTesterProvider(tester)), deployment=deployments, accounts=template.chain.accounts)
    try:
        yield dataclasses.replace(template, chain=chain)
    finally:
        tester.revert_to_snapshot(snapshot)


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """One real Anvil for the end-to-end tests of a session."""
    with Anvil() as node:
        yield node


def advance(chain: o2ochain.O2OChain, seconds: int) -> int:
    """Move the chain's clock ``seconds`` ahead and mine a block there, on eth-tester
    (``time_travel``) or Anvil (``evm_increaseTime``); returns the new block's timestamp."""
    w3 = chain.w3
    now = int(w3.eth.get_block("latest")["timestamp"])
    tester = getattr(w3.provider, "ethereum_tester", None)
    if tester is not None:
        tester.time_travel(now + seconds)
        tester.mine_blocks(1)
    else:
        w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return int(w3.eth.get_block("latest")["timestamp"])


def gift_bag_drop(
    chain: o2ochain.O2OChain, accounts: list[LocalAccount], *, fund: int, purchases: int, receipts: str, vest: bool = True
) -> tuple[RetailerAdmin, list[str]]:
    """The keeper tests' retailer (admin dev:1; store dev:6, web shop dev:7; 30 days, 50 thousandths
    tolerance) funded with ``fund``: ``purchases`` fresh buyers bought 1-3 of GTIN_A at 188 in the
    store, then the web shop offers it at 133, and (``vest``) a day passes: the payout delay, after
    which the compensation is claimable. Returns the retailer's admin client and the buyers."""
    from eth_account import Account

    from o2ochain.guarantee import PAYOUT_DELAY, Policy, Sale, receipt_hash

    unit = 10**15
    admin = chain.register_retailer(accounts[1])
    admin.add_channel("store", accounts[6].address, "store")
    admin.add_channel("online-shop", accounts[7].address, "web shop")
    admin.set_policy(Policy(window=30 * 86_400, tolerance_amount=50 * unit, max_payout=500 * unit))
    admin.fund(fund)
    buyers = [Account.create().address for _ in range(purchases)]
    sales = [Sale(b, int(GTIN_A), 1 + n % 3, 188 * unit, receipt_hash(f"{receipts}/{n}")) for n, b in enumerate(buyers)]
    chain.channel(accounts[6]).record_sales(sales, batch=20)
    chain.channel(accounts[7]).publish_price(GTIN_A, 133 * unit)
    if vest:
        advance(chain, PAYOUT_DELAY + 1)
    return admin, buyers


def anvil_brand(node: Anvil, deployments: Path, name: str) -> tuple[o2ochain.O2OChain, list[LocalAccount], int]:
    """o2ochain deployed on ``node`` by dev:0 (manifest in ``deployments``) with brand ``name``
    (admin dev:1, prefix PREFIX) owning GTIN_A. Returns the chain client, dev:0-3 and the brand."""
    accounts = dev_accounts(4)
    chain = o2ochain.O2OChain(http_web3(node.url), accounts=accounts)
    chain.deploy(accounts[0], save_to=deployments)
    brand = chain.admin(accounts[0]).register_brand(accounts[1].address, name, [PREFIX])
    chain.brand(accounts[1], brand).add_product(GTIN_A)
    return chain, accounts, brand


# -- No process outlives the run -------------------------------------------------------------
# Every process the tests start (nodes, indexes, demos, servers and their children) inherits this
# mark; at the end, one that is still running but no longer ours (its parent died and it was
# handed to init) is an orphan: the run fails and names it. Processes still our own children are
# left to the atexit handlers that stop them.
RUN_MARK = f"O2O_TEST_RUN={os.getpid()}-{time.time_ns()}"
os.environ["O2O_TEST_RUN"] = RUN_MARK.split("=", 1)[1]


def _marked_processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process carrying this run's mark but us."""
    found: dict[int, tuple[int, str]] = {}
    needle = RUN_MARK.encode() + b"\0"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes() + b"\0":
                continue
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
        if command:  # a zombie has none
            found[int(entry.name)] = (parent, command)
    return found


def _orphans() -> dict[int, str]:
    marked = _marked_processes()
    ours = {os.getpid()}
    changed = True
    while changed:  # our descendants: children of us, of our children, ...
        changed = False
        for pid, (parent, _) in marked.items():
            if parent in ours and pid not in ours:
                ours.add(pid)
                changed = True
    return {pid: command for pid, (_, command) in marked.items() if pid not in ours}


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if not Path("/proc/self/environ").exists():
        return
    deadline = time.monotonic() + 15  # a process being stopped right now gets its moment
    orphans = _orphans()
    while orphans and time.monotonic() < deadline:
        time.sleep(0.5)
        orphans = _orphans()
    if not orphans:
        return
    for pid in orphans:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    lines = "\n".join(f"  pid {pid}: {command[:200]}" for pid, command in sorted(orphans.items()))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\nFAILED: {len(orphans)} process(es) outlived the test that started them (killed now):\n{lines}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
