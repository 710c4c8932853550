"""A 3-block reorg during registration and during payouts: the client notices that its
transactions left the chain, sends the same transactions again, and counts nothing twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxReceipt

import o2ochain
from o2ochain import gs1
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain._chain.tx import PendingTx, Sender
from o2ochain.guarantee import PAYOUT_DELAY, Keeper, Policy, Sale, receipt_hash
from o2ochain.identity import Registrant, catalogue_from_rows
from tests.conftest import GTIN_A, advance, sample_rows
from tests.faults.conftest import RegistrantChain, item_registrations, reorg

pytestmark = pytest.mark.e2e
ITEMS = 2_000
PER_TX = 100
UNIT = 10**15


class ReorgBeforeConfirm(Sender):
    """A sender whose chain reorgs (3 blocks) once every receipt of a batch was seen, just before
    the receipts are confirmed: the moment a naive client would report success."""

    def __init__(self, w3: Web3, account: LocalAccount, node: Anvil) -> None:
        super().__init__(w3, account)
        self.node = node
        self.reorged = False

    def confirm(self, txs: Sequence[PendingTx]) -> list[TxReceipt]:
        if txs and not self.reorged:
            self.reorged = True
            reorg(self.node, 3)
        return super().confirm(txs)


def _items(lot: str) -> list[list[str]]:
    return sample_rows(ITEMS, lot=lot, prefix=lot)


def _assert_registered_once(chain: o2ochain.O2OChain, rows: list[list[str]]) -> None:
    counts = item_registrations(chain)
    assert set(counts) == {gs1.item_id(GTIN_A, r[1]) for r in rows}
    assert set(counts.values()) == {1}


def test_register_items_resends_batches_a_reorg_dropped_after_their_receipts(registrant_chain: RegistrantChain) -> None:
    chain, account = registrant_chain.chain, registrant_chain.registrant
    sender = ReorgBeforeConfirm(chain.w3, account, registrant_chain.node)
    rows = _items("R1")
    before = chain.w3.eth.get_transaction_count(account.address)

    report = Registrant(chain.identity, account, sender=sender).register_items(catalogue_from_rows(rows), items_per_tx=PER_TX)

    assert sender.reorged and sender.resent == 3  # the 3 batches in the reorged blocks, sent again
    assert (report.registered, report.already, report.transactions) == (ITEMS, 0, ITEMS // PER_TX)
    assert len(set(report.tx_hashes)) == ITEMS // PER_TX
    assert chain.w3.eth.get_transaction_count(account.address) == before + ITEMS // PER_TX  # same transactions, no new ones
    for tx_hash in report.tx_hashes:
        assert chain.w3.eth.get_transaction_receipt(tx_hash)["status"] == 1
    _assert_registered_once(chain, rows)


def test_register_items_refills_the_nonce_gap_of_a_reorg_while_sending(registrant_chain: RegistrantChain) -> None:
    chain, account, node = registrant_chain.chain, registrant_chain.registrant, registrant_chain.node
    rows = _items("R2")
    before = chain.w3.eth.get_transaction_count(account.address)
    registrant = chain.registrant(account)
    reorged_at: list[int] = []

    def reorg_midway() -> None:  # the registrant's nonce goes back by 3 while later batches go out
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            mined = chain.w3.eth.get_transaction_count(account.address) - before
            if mined >= 8:
                reorg(node, 3)
                reorged_at.append(mined)
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=reorg_midway)
    watcher.start()
    report = registrant.register_items(catalogue_from_rows(rows), items_per_tx=PER_TX)
    watcher.join()

    assert reorged_at and reorged_at[0] < ITEMS // PER_TX, "the reorg did not happen mid-run"
    assert registrant.sender.resent >= 3
    assert (report.registered, report.transactions) == (ITEMS, ITEMS // PER_TX)
    assert chain.w3.eth.get_transaction_count(account.address) == before + ITEMS // PER_TX
    _assert_registered_once(chain, rows)


def test_keeper_resends_payouts_a_reorg_dropped_and_reports_each_once() -> None:
    accounts = dev_accounts(10)
    purchases = 20
    with Anvil() as node:
        chain = o2ochain.O2OChain(http_web3(node.url), accounts=accounts)
        chain.deploy(accounts[0])
        admin = chain.register_retailer(accounts[1])
        admin.add_channel("store", accounts[6].address, "store")
        admin.add_channel("online-shop", accounts[7].address, "web shop")
        admin.set_policy(Policy(window=30 * 86_400, tolerance_amount=50 * UNIT, max_payout=500 * UNIT))
        admin.fund(10 * 10**18)
        buyers = [Account.create().address for _ in range(purchases)]
        sales = [Sale(b, int(GTIN_A), 1 + n % 3, 188 * UNIT, receipt_hash(f"RG/{n}")) for n, b in enumerate(buyers)]
        chain.channel(accounts[6]).record_sales(sales, batch=20)
        chain.channel(accounts[7]).publish_price(GTIN_A, 133 * UNIT)
        advance(chain, PAYOUT_DELAY + 1)  # compensation is paid from a day after the sales
        sender = ReorgBeforeConfirm(chain.w3, accounts[9], node)
        keeper = Keeper(chain.guarantee, accounts[9], sender=sender)

        actions = keeper.run_once()

        assert sender.reorged and sender.resent == 3
        paid = Counter(a.purchase for a in actions if a.kind == "paid")
        assert len(paid) == purchases and set(paid.values()) == {1}
        assert keeper.run_once() == []  # nothing is due any more
        events = [p for p in chain.guarantee.payouts(retailer=admin.retailer) if p.kind == "paid"]
        assert len({p.purchase for p in events}) == len(events) == purchases
        for n, buyer in enumerate(buyers):
            assert chain.w3.eth.get_balance(buyer) == 55 * UNIT * (1 + n % 3)
        total = sum(55 * UNIT * (1 + n % 3) for n in range(purchases))
        info = chain.guarantee.retailer(admin.retailer)
        covers = sum(p.cover for p in chain.guarantee.purchases())  # reserved when the sales were recorded
        assert (info.paid, info.balance, info.reserved) == (total, 10 * 10**18 - total, covers - total)
