"""Shared fixtures: an in-process chain with o2ochain deployed, a real Anvil, sample catalogues."""

from __future__ import annotations

import csv
import dataclasses
import shutil
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
