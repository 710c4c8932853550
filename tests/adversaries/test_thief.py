"""A thief holding a channel key (issue 14, point 2), beyond what tests/contracts covers.

While a stolen key is still live the thief is the channel, and may lodge a quote dated far ahead
("1 wei, from next week") meant to outlive the key's rotation. The retailer rotates the key as
compromised and declares the quote a price error before it starts: the quote then ended before
it started, and an empty offer compensates nobody.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

import o2ochain
from o2ochain.errors import ContractRevert
from o2ochain.guarantee import Policy, RetailerAdmin

DAY = 86_400
UNIT = 10**15
GTIN = "09506000134352"


class Shop:
    """A retailer (admin dev:1) with a store (dev:2) and a web shop whose key is about to be stolen."""

    def __init__(self, tmp_path: Path) -> None:
        self.chain = o2ochain.connect("tester")
        a = self.chain.accounts
        self.chain.deploy(a[0], save_to=tmp_path / "deployments")
        self.keeper = a[3]
        self.web_key: LocalAccount = Account.create()
        self.chain.w3.eth.send_transaction({"from": a[0].address, "to": self.web_key.address, "value": 10**18})
        self.admin: RetailerAdmin = self.chain.register_retailer(a[1])
        self.store = self.admin.add_channel("store", a[2].address, "store")
        self.web_shop = self.admin.add_channel("online-shop", self.web_key.address, "web shop")
        # Price errors are NOT excluded: a declared price error still counts as an offer.
        self.admin.set_policy(Policy(window=30 * DAY, tolerance_amount=50 * UNIT, max_payout=500 * UNIT, excluded=()))
        self.admin.fund(1_000 * UNIT)
        self.till = self.chain.channel(a[2])

    def now(self) -> int:
        return self.chain.guarantee.now()

    def advance(self, seconds: int) -> None:
        self.chain.w3.provider.ethereum_tester.time_travel(self.now() + seconds)  # type: ignore[attr-defined]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    s = Shop(tmp_path)
    yield s
    s.chain.close()


def test_thief_with_a_live_key_cannot_plant_a_future_quote_that_outlives_its_rotation(shop: Shop) -> None:
    # The thief holds the web shop's key while it is still live: "1 wei, from next week, forever".
    start = shop.now() + 7 * DAY
    planted = shop.chain.channel(shop.web_key).sign_quote(GTIN, 1, valid_from=start, valid_for=2**40 - 1 - start)
    shop.chain.buyer(shop.keeper).lodge_quote(planted)
    # A purchase meanwhile (an accomplice's, or a genuine one), whose window spans the quote's start.
    purchase = shop.till.record_sale(Account.create().address, GTIN, 1, 188 * UNIT, "till 1 / receipt 1")
    # The retailer notices: the key is rotated as compromised, the planted quote declared a price
    # error before it starts (the admin's remedy for a lodged quote).
    shop.advance(60)
    shop.admin.rotate_key(shop.web_shop, Account.create().address, compromised=True)
    shop.admin.declare_price_error(shop.web_shop, GTIN, start)
    ended = shop.chain.guarantee.contract.functions.price(shop.web_shop, int(GTIN), start).call()[4]
    assert purchase.purchased_at < ended < start  # ended after the purchase, before it ever started
    shop.advance(8 * DAY)  # past the quote's start and the payout delay

    claim = shop.chain.guarantee.contract.functions.claimWithPrice(purchase.as_struct(), shop.web_shop, start)
    with pytest.raises(ContractRevert) as info:
        shop.chain.buyer(shop.keeper).sender.transact(claim)
    assert type(info.value).__name__ == "GuaranteeOfferOutsideWindow"
    assert shop.chain.w3.eth.get_balance(purchase.buyer) == 0
