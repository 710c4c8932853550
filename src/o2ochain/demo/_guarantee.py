"""The demo's price guarantee: the paper's gift bag, sold at 188 in the store and at 133 online.

A retailer with three channels (a store, a web shop, a marketplace shop) prices in the native
coin (amounts in thousandths: 188 means 0.188), sets a 30-day guarantee with a 5% tolerance and
funds its pool; each sale reserves its cover from it. The store sells gift bags and other goods to
a few dozen buyers; then the web shop drops the gift bag to 133 and puts another product on
clearance (excluded by the policy). Compensation is paid from a day after a sale was recorded
(the payout delay): the local chain's clock is moved on (``days_before_drop``, and past the delay
if need be), and the keeper pays every gift-bag buyer the difference, and nothing for the
clearance, without anyone asking.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

from o2ochain.client import O2OChain
from o2ochain.guarantee import KeeperAction, Policy, Sale, receipt_hash

MILLI = 10**15  # prices in thousandths of the native coin
#: The pool: enough to reserve the cover of every sale of the demo (its worst case, (price - 1) x
#: quantity, at most the policy's 500 per sale), so that every buyer's promise is funded.
POOL = 20 * 10**18


def advance_clock(chain: O2OChain, seconds: int) -> int:
    """Move a local node's (Anvil's) clock ``seconds`` ahead and mine a block there; returns its
    timestamp. The offset lives in the node: a restarted node needs it carried on (see ``demo/_run.py``)."""
    if seconds > 0:
        chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return chain.guarantee.now()


@dataclass
class GuaranteeDemo:
    """What the demo's price guarantee did, for the printed instructions and the tests."""

    retailer: int
    gift_bag: str
    sales: int
    paid_buyers: int
    paid_total: int
    buyer: str


def run_price_guarantee(
    chain: O2OChain,
    *,
    admin: LocalAccount,
    store_key: LocalAccount,
    web_key: LocalAccount,
    market_key: LocalAccount,
    keeper: LocalAccount,
    buyer: LocalAccount,
    gift_bag: str,
    others: list[str],
    shoppers: Sequence[LocalAccount] = (),
    seed: int = 11,
    days_before_drop: int = 0,
) -> GuaranteeDemo:
    rng = random.Random(seed)
    retailer = chain.register_retailer(admin, uri="https://dalian-coast.example/retail")
    retailer.add_channel("store", store_key.address, "Dalian Coast, Zhongshan Road store")
    retailer.add_channel("online-shop", web_key.address, "Dalian Coast web shop")
    retailer.add_channel("marketplace", market_key.address, "Dalian Coast on a marketplace")
    retailer.set_policy(Policy(window=30 * 86_400, tolerance_bps=500, max_payout=500 * MILLI))
    retailer.fund(POOL)
    store, web, market = chain.channel(store_key), chain.channel(web_key), chain.channel(market_key)
    prices = {gift_bag: 188} | {g: rng.randrange(20, 120) for g in others}
    for key in (store, web, market):
        for gtin, price in prices.items():
            key.publish_price(gtin, price * MILLI)

    sales: list[Sale] = [Sale(buyer.address, int(gift_bag), 1, 188 * MILLI, receipt_hash("ZS-12/2026-12-01/0001"))]
    for n, shopper in enumerate(shoppers):  # shoppers with a funded key: they review later
        sales.append(Sale(shopper.address, int(gift_bag), 1, 188 * MILLI, receipt_hash(f"ZS-12/2026-12-01/S{n:03d}")))
    for n in range(2, 41):
        gtin = gift_bag if n % 3 == 0 else rng.choice(others)
        who = Account.create().address  # shoppers are addresses, nothing personal
        sales.append(Sale(who, int(gtin), rng.randint(1, 3), prices[gtin] * MILLI, receipt_hash(f"ZS-12/2026-12-01/{n:04d}")))
    store.record_sales(sales, batch=20)

    if days_before_drop:
        # A local node (Anvil) jumps ahead, so the week of store sales and the later online cut
        # are apart in time, as they would be, and the page's price chart shows both prices.
        advance_clock(chain, days_before_drop * 86_400)
    web.publish_price(gift_bag, 133 * MILLI)  # 55 below the store: more than 5% of 188 (9.4)
    market.publish_price(others[0], prices[others[0]] * MILLI // 2, price_type="clearance")  # excluded by the policy
    bot = chain.keeper(keeper)
    actions: list[KeeperAction] = bot.run_once()
    if bot.upcoming:
        # Sales recorded less than a day ago are paid once the payout delay is over: the local
        # chain's clock moves past it, and the keeper's next round pays them, unasked.
        advance_clock(chain, max(e.claimable_at for e in bot.upcoming) - chain.guarantee.now())
        actions += bot.run_once()
    paid = [a for a in actions if a.kind == "paid"]
    return GuaranteeDemo(
        retailer=retailer.retailer,
        gift_bag=gift_bag,
        sales=len(sales),
        paid_buyers=len(paid),
        paid_total=sum(a.amount for a in paid),
        buyer=buyer.address,
    )


def run_keeper_share(
    chain: O2OChain, *, admin: LocalAccount, store_key: LocalAccount, web_key: LocalAccount, gtin: str, buyers: int = 3
) -> int:
    """A second retailer whose buyers the printed ``o2ochain keeper --retailer N`` pays: its farm
    shop sells honey at 0.100 and its web shop then sells it at 0.080, so each buyer is owed 0.020
    once the payout delay is over (the demo's clock moves past it at the end of loading). The
    keeper the user runs has this work of its own, and never pays the page's test shopper, whose
    purchase at the first retailer the page claims. Returns the retailer's number."""
    retailer = chain.register_retailer(admin, uri="https://jinzhou-orchard.example/shop")
    retailer.add_channel("store", store_key.address, "Jinzhou Orchard farm shop")
    retailer.add_channel("online-shop", web_key.address, "Jinzhou Orchard web shop")
    retailer.set_policy(Policy(window=30 * 86_400, tolerance_bps=500, max_payout=100 * MILLI))
    retailer.fund(10**18)
    store, web = chain.channel(store_key), chain.channel(web_key)
    for key in (store, web):
        key.publish_price(gtin, 100 * MILLI)
    sales = [Sale(Account.create().address, int(gtin), 1, 100 * MILLI, receipt_hash(f"JZ-12/2026-12-02/{n:04d}")) for n in range(buyers)]
    store.record_sales(sales)
    web.publish_price(gtin, 80 * MILLI)
    return retailer.retailer
