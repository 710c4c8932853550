"""The price guarantee through the library on an in-process chain: the rule, the roles, the keeper.

The paper's case (seed 000, §4.1.3) runs throughout: a snack gift bag bought for 188 in the store
while the retailer's web shop offers it for 133.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2ochain.errors import InputError, InputErrors
from o2ochain.guarantee import (
    NATIVE,
    Buyer,
    ChannelKey,
    Offer,
    Policy,
    Purchase,
    RetailerAdmin,
    evaluate,
    load_quotes,
    read_sales_csv,
    receipt_hash,
)
from o2ochain.revert import by_name
from tests.conftest import GTIN_A, GTIN_B, World

UNIT = 10**15  # prices in thousandths of a coin: 188 -> 188 * UNIT wei
DAY = 86_400


@dataclass
class Shop:
    world: World
    admin: RetailerAdmin
    store: ChannelKey
    web: ChannelKey
    buyer: Buyer
    keeper_account: LocalAccount

    def travel(self, seconds: int) -> None:
        w3 = self.world.chain.w3
        now = int(w3.eth.get_block("latest")["timestamp"])
        w3.provider.ethereum_tester.time_travel(now + seconds)  # type: ignore[attr-defined]
        w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]

    def balance(self, who: str) -> int:
        return int(self.world.chain.w3.eth.get_balance(who))


def open_shop(world: World, *, tolerance: int = 50 * UNIT, window: int = 30 * DAY, fund: int = 1_000 * UNIT) -> Shop:
    chain = world.chain
    a = chain.accounts
    admin = chain.register_retailer(world.seller, uri="https://dalian-coast.example/retailer")
    admin.add_channel("store", a[7].address, "Dalian Coast, Zhongshan Road store")
    admin.add_channel("online-shop", a[8].address, "Dalian Coast web shop")
    admin.set_policy(Policy(window=window, tolerance_amount=tolerance, max_payout=500 * UNIT))
    if fund:
        admin.fund(fund)
    return Shop(world, admin, chain.channel(a[7]), chain.channel(a[8]), chain.buyer(world.buyer), a[9])


def paper_case(shop: Shop) -> Purchase:
    shop.web.publish_price(GTIN_A, 150 * UNIT)
    purchase = shop.store.record_sale(shop.buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0001/2026-12-01/0042")
    shop.web.publish_price(GTIN_A, 133 * UNIT)  # ends the 150 and offers 133
    return purchase


# -- the rule ---------------------------------------------------------------------------------


def _purchase(**kw: int) -> Purchase:
    base = {"retailer": 1, "channel": 1, "policy": 1, "gtin": 9506000000102, "quantity": 1, "unit_price": 188, "purchased_at": 1_000}
    base |= kw
    return Purchase(id=b"\x01" * 32, buyer="0x" + "11" * 20, receipt=b"\x02" * 32, **base)  # type: ignore[arg-type]


def _offer(**kw: int) -> Offer:
    base = {"retailer": 1, "channel": 2, "gtin": 9506000000102, "price": 133, "price_type": 0, "valid_from": 900, "valid_until": 2**40 - 1}
    base |= kw
    return Offer(currency=NATIVE, **base)  # type: ignore[arg-type]


POLICY = Policy(window=30 * DAY, tolerance_amount=50, max_payout=500)


def test_evaluate_pays_the_papers_difference_when_it_exceeds_the_tolerance() -> None:
    e = evaluate(_purchase(), POLICY, _offer(), compensated=0, now=2_000, currency=NATIVE)
    assert (e.difference, e.tolerance, e.total, e.due, e.reason) == (55, 50, 55, 55, "owed")
    e = evaluate(_purchase(), replace(POLICY, tolerance_amount=60), _offer(), compensated=0, now=2_000, currency=NATIVE)
    assert (e.due, e.reason) == (0, "the difference is within the tolerance")
    e = evaluate(_purchase(), replace(POLICY, tolerance_amount=0, tolerance_bps=3_000), _offer(), compensated=0, now=2_000, currency=NATIVE)
    assert (e.tolerance, e.due) == (56, 0)  # 30% of 188 = 56.4 -> 56 >= 55


@pytest.mark.parametrize(
    ("purchase", "offer", "now", "reason"),
    [
        (_purchase(), _offer(retailer=2), 2_000, "the offer is another retailer's"),
        (_purchase(), _offer(gtin=9506000000119), 2_000, "the offer is for another product"),
        (_purchase(), _offer(price_type=2), 2_000, "clearance prices are excluded by the policy"),
        (_purchase(), _offer(valid_until=1_000), 2_000, "the offer was not available within the window"),
        (_purchase(), _offer(valid_from=1_000 + 30 * DAY + 1), 1_000 + 30 * DAY, "the offer was not available within the window"),
        (_purchase(), _offer(valid_from=3_000), 2_000, "the offer has not started yet"),
        (_purchase(), _offer(), 1_000 + 30 * DAY + 1, f"the guarantee window closed at {1_000 + 30 * DAY}"),
        (_purchase(policy=0), _offer(), 2_000, "the purchase is not covered by a price guarantee"),
        (_purchase(), _offer(price=188), 2_000, "the offer is not below the price paid"),
    ],
)
def test_evaluate_says_why_nothing_is_owed(purchase: Purchase, offer: Offer, now: int, reason: str) -> None:
    policy = None if purchase.policy == 0 else POLICY
    e = evaluate(purchase, policy, offer, compensated=0, now=now, currency=NATIVE)
    assert (e.due, e.reason) == (0, reason)


def test_evaluate_caps_and_tops_up() -> None:
    three = _purchase(quantity=3)
    assert evaluate(three, POLICY, _offer(), compensated=0, now=2_000, currency=NATIVE).due == 165
    capped = replace(POLICY, max_payout=100)
    assert evaluate(three, capped, _offer(), compensated=0, now=2_000, currency=NATIVE).total == 100
    # A lower price later adds only the difference to what was recognised already.
    e = evaluate(_purchase(), POLICY, _offer(price=100), compensated=55, now=2_000, currency=NATIVE)
    assert (e.total, e.due) == (88, 33)
    e = evaluate(_purchase(), POLICY, _offer(), compensated=55, now=2_000, currency=NATIVE)
    assert (e.due, e.reason) == (0, "already compensated for this price or a lower one")


# -- roles on chain ---------------------------------------------------------------------------


def test_buyer_sees_what_is_owed_and_why_then_claims_exactly_55(world: World) -> None:
    shop = open_shop(world)
    purchase = paper_case(shop)
    assert purchase.policy == 1 and purchase.purchased_at > 0
    (row,) = shop.buyer.owed()
    assert (row.due, row.offer.price, row.offer.channel, row.reason) == (55 * UNIT, 133 * UNIT, shop.web.channel, "owed")
    before = shop.balance(shop.buyer.address)
    claimer = world.chain.buyer(world.outsider)  # anyone may trigger it: the money goes to the buyer
    claimer.claim(purchase.id)
    assert shop.balance(shop.buyer.address) - before == 55 * UNIT
    assert world.chain.guarantee.compensated(purchase.id) == (True, 55 * UNIT)
    with pytest.raises(InputError, match="already compensated"):
        claimer.claim(purchase.id)
    (paid,) = world.chain.guarantee.payouts(buyer=shop.buyer.address)
    assert (paid.kind, paid.amount, paid.detail["offerPrice"], paid.detail["quote"]) == ("paid", 55 * UNIT, str(133 * UNIT), False)


def test_nothing_is_owed_when_the_difference_is_within_the_tolerance(world: World) -> None:
    shop = open_shop(world, tolerance=60 * UNIT)
    purchase = paper_case(shop)
    (row,) = shop.buyer.owed()
    assert (row.due, row.reason) == (0, "the difference is within the tolerance")
    with pytest.raises(by_name("GuaranteeWithinTolerance")) as info:
        shop.buyer.sender.transact(world.chain.guarantee.claim_call(row))
    assert (info.value.paid, info.value.offered, info.value.tolerance) == (188 * UNIT, 133 * UNIT, 60 * UNIT)
    assert world.chain.guarantee.compensated(purchase.id) == (True, 0)


def test_publishing_a_price_ends_the_previous_one(world: World) -> None:
    shop = open_shop(world)
    first = shop.web.publish_price(GTIN_A, 150 * UNIT)
    assert shop.web.publish_price(GTIN_A, 150 * UNIT) == world.chain.guarantee.live_price(shop.web.channel, GTIN_A)  # unchanged: no tx
    shop.travel(60)
    second = shop.web.publish_price(GTIN_A, 140 * UNIT)
    history = world.chain.guarantee.published_prices(gtin=GTIN_A)
    assert [(o.price, o.valid_from) for o in history] == [(150 * UNIT, first.valid_from), (140 * UNIT, second.valid_from)]
    assert first.valid_from < history[0].ended_at <= second.valid_from and history[1].ended_at == 0
    assert shop.web.end_price(GTIN_A) is not None and world.chain.guarantee.live_price(shop.web.channel, GTIN_A) is None


def test_keeper_pays_every_owed_purchase_once_and_logs_why(world: World) -> None:
    shop = open_shop(world)
    shop.web.publish_price(GTIN_A, 188 * UNIT)
    buyers = [Account.create() for _ in range(3)]
    for n, b in enumerate(buyers):
        shop.store.record_sale(b.address, GTIN_A, n + 1, 188 * UNIT, f"ZS-0002/{n}")
    shop.store.record_sale(buyers[0].address, GTIN_B, 1, 188 * UNIT, "ZS-0002/other-product")
    shop.web.publish_price(GTIN_A, 133 * UNIT)
    log = io.StringIO()
    keeper = world.chain.keeper(shop.keeper_account, log=log)
    actions = keeper.run_once()
    assert sorted((a.kind, a.amount) for a in actions) == [("paid", 55 * UNIT), ("paid", 110 * UNIT), ("paid", 165 * UNIT)]
    assert [shop.balance(b.address) for b in buyers] == [55 * UNIT, 110 * UNIT, 165 * UNIT]
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert {(line["kind"], line["offerPrice"], line["paidPrice"], line["difference"], line["tolerance"]) for line in lines} == {
        ("paid", str(133 * UNIT), str(188 * UNIT), str(55 * UNIT), str(50 * UNIT))
    }
    assert keeper.run_once() == []
    # A keeper started afresh (a restart) reads the chain: it finds nothing left to pay.
    assert world.chain.keeper(shop.keeper_account).run_once() == []
    assert [shop.balance(b.address) for b in buyers] == [55 * UNIT, 110 * UNIT, 165 * UNIT]
    # A lower price later in the window tops each purchase up to exactly the rule.
    shop.travel(DAY)
    shop.web.publish_price(GTIN_A, 120 * UNIT)
    assert sorted(a.amount for a in keeper.run_once()) == [13 * UNIT, 26 * UNIT, 39 * UNIT]
    assert [shop.balance(b.address) for b in buyers] == [68 * UNIT, 136 * UNIT, 204 * UNIT]


def test_keeper_ignores_excluded_prices_and_closed_windows(world: World) -> None:
    shop = open_shop(world, window=7 * DAY)
    buyer = Account.create()
    shop.store.record_sale(buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0003/1")
    shop.web.publish_price(GTIN_A, 100 * UNIT, price_type="clearance")
    keeper = world.chain.keeper(shop.keeper_account)
    assert keeper.run_once() == []
    shop.travel(8 * DAY)
    shop.web.publish_price(GTIN_A, 90 * UNIT)
    assert keeper.run_once() == [] and shop.balance(buyer.address) == 0


def test_pool_short_owes_then_pays_in_order_when_refilled(world: World) -> None:
    shop = open_shop(world, fund=80 * UNIT)
    buyers = [Account.create() for _ in range(3)]
    for n, b in enumerate(buyers):
        shop.store.record_sale(b.address, GTIN_A, 1, 188 * UNIT, f"ZS-0004/{n}")
    shop.web.publish_price(GTIN_A, 133 * UNIT)
    keeper = world.chain.keeper(shop.keeper_account)
    actions = keeper.run_once()
    assert [(a.kind, a.amount) for a in actions] == [("paid", 55 * UNIT), ("paid", 25 * UNIT), ("owed", 30 * UNIT), ("owed", 55 * UNIT)]
    info = world.chain.guarantee.retailer(shop.admin.retailer)
    assert (info.available, info.owed, info.queue_tail - info.queue_head) == (0, 85 * UNIT, 2)
    shop.admin.fund(60 * UNIT)  # funding pays the queue first, oldest first
    assert [shop.balance(b.address) for b in buyers] == [55 * UNIT, 55 * UNIT, 30 * UNIT]
    shop.admin.fund(100 * UNIT)
    assert [shop.balance(b.address) for b in buyers] == [55 * UNIT, 55 * UNIT, 55 * UNIT]
    info = world.chain.guarantee.retailer(shop.admin.retailer)
    assert (info.owed, info.funded, info.paid, info.available) == (0, 240 * UNIT, 165 * UNIT, 75 * UNIT)


def test_signed_quote_is_evidence_and_a_forged_one_is_refused(world: World, tmp_path: Path) -> None:
    shop = open_shop(world)
    purchase = shop.store.record_sale(shop.buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0005/1")
    quote = shop.web.sign_quote(GTIN_A, 133 * UNIT, valid_for=DAY)
    quotes = tmp_path / "quotes.jsonl"
    quotes.write_text(json.dumps(quote.to_json()) + "\n")
    (loaded,) = load_quotes(quotes)
    assert loaded == quote
    forger = Account.create()
    forged = replace(quote, signature=bytes(forger.sign_message(_quote_message(world, quote)).signature))
    with pytest.raises(InputError, match="not signed by a key of channel"):
        world.chain.keeper(shop.keeper_account, quotes=[forged])
    with pytest.raises(by_name("GuaranteeSignerInvalid")):
        shop.buyer.sender.transact(
            world.chain.guarantee.contract.functions.claimWithQuote(purchase.as_struct(), forged.as_quote_struct(), forged.signature)
        )
    actions = world.chain.keeper(shop.keeper_account, quotes=[loaded]).run_once()
    assert [(a.kind, a.amount, a.detail and a.detail["evidence"]) for a in actions] == [("paid", 55 * UNIT, "signed quote")]


def _quote_message(world: World, quote: Offer) -> object:
    from eth_account.messages import encode_typed_data

    from o2ochain.guarantee import QUOTE_TYPES

    message = {f["name"]: v for f, v in zip(QUOTE_TYPES["Quote"], quote.as_quote_struct(), strict=True)}
    return encode_typed_data(domain_data=world.chain.guarantee.domain(), message_types=QUOTE_TYPES, message_data=message)


def test_buyer_registers_a_signed_receipt_once(world: World) -> None:
    shop = open_shop(world)
    signed = shop.store.sign_receipt(shop.buyer.address, GTIN_A, 2, 188 * UNIT, "ZS-0006/1")
    purchase = shop.buyer.register(signed)
    assert (purchase.quantity, purchase.unit_price, purchase.buyer) == (2, 188 * UNIT, shop.buyer.address)
    with pytest.raises(by_name("GuaranteePurchaseExists")):
        shop.buyer.register(signed)
    with pytest.raises(by_name("GuaranteePurchaseExists")):  # the till recording the same receipt: still one purchase
        shop.store.record_sale(shop.buyer.address, GTIN_A, 2, 188 * UNIT, "ZS-0006/1")


def test_record_sales_is_resumable_and_each_receipt_recorded_once(world: World) -> None:
    shop = open_shop(world)
    from o2ochain.guarantee import Sale

    sales = [Sale(Account.create().address, int(GTIN_A), 1, 188 * UNIT, receipt_hash(f"ZS-0007/{n}")) for n in range(25)]
    assert shop.store.record_sales(sales[:10], batch=4) == (10, 0)
    done: list[int] = []
    assert shop.store.record_sales(sales, batch=4, progress=done.append) == (15, 10)
    assert sum(done) == 25
    assert len(world.chain.guarantee.purchases()) == 25


def test_sales_csv_reports_every_bad_row_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    good = "0x" + "11" * 20
    path.write_text(
        "buyer,gtin,quantity,unit_price,receipt\n"
        f"{good},{GTIN_A},1,188,R1\n"
        f"{good},09506000000103,1,188,R2\n"  # wrong check digit
        f"not-an-address,{GTIN_A},1,188,R3\n"
        f"{good},{GTIN_A},0,188,R4\n"
        f"{good},{GTIN_A},1,abc,R5\n"
        f"{good},{GTIN_A},1,188,R1\n"  # the same receipt again
    )
    with pytest.raises(InputErrors) as info:
        read_sales_csv(path, lambda text: int(text) if text.isdigit() else (_ for _ in ()).throw(InputError("not an amount")))
    problems = [(e.line, e.field) for e in info.value.errors]
    assert problems == [(3, "gtin"), (4, "buyer"), (5, "quantity"), (6, "unit_price"), (7, "receipt")]
    assert all(e.file == str(path) for e in info.value.errors)
    path.write_text("buyer,gtin\n")
    with pytest.raises(InputError, match="missing column"):
        read_sales_csv(path, int)
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="not UTF-8"):
        read_sales_csv(path, int)


def test_erc20_retailer_is_funded_and_pays_in_its_stablecoin(world: World) -> None:
    chain = world.chain
    from o2ochain._artifacts import artifact
    from o2ochain._tx import Sender

    art = artifact("TestStablecoin")
    factory = chain.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    deployer = Sender(chain.w3, world.other_admin)
    token_address = deployer.transact(factory.constructor())["contractAddress"]
    token = chain.w3.eth.contract(address=token_address, abi=art["abi"])
    deployer.transact(token.functions.mint(world.seller.address, 1_000 * 10**6))
    admin = chain.register_retailer(world.seller, currency=token_address)
    assert chain.guarantee.units("188", token_address) == 188 * 10**6 and chain.guarantee.format(55 * 10**6, token_address) == "55"
    a = chain.accounts
    admin.add_channel("store", a[7].address, "store")
    admin.add_channel("online-shop", a[8].address, "web")
    admin.set_policy(Policy(window=30 * DAY, tolerance_bps=500, max_payout=100 * 10**6))
    admin.fund(200 * 10**6)
    buyer = Account.create()
    chain.channel(a[7]).record_sale(buyer.address, GTIN_A, 1, 188 * 10**6, "ERC20-1")
    chain.channel(a[8]).publish_price(GTIN_A, 133 * 10**6)
    (action,) = chain.keeper(a[9]).run_once()
    assert action.amount == 55 * 10**6 and token.functions.balanceOf(buyer.address).call() == 55 * 10**6


def test_withdrawal_waits_for_the_guarantee_window(world: World) -> None:
    shop = open_shop(world, window=7 * DAY)
    at = shop.admin.announce_withdrawal(500 * UNIT)
    with pytest.raises(by_name("GuaranteeWithdrawalTooEarly")) as info:
        shop.admin.execute_withdrawal()
    assert info.value.executableAt == at
    shop.travel(7 * DAY + 1)
    before = shop.balance(world.seller.address)
    shop.admin.execute_withdrawal()
    assert shop.balance(world.seller.address) > before  # 500 less gas
    assert world.chain.guarantee.retailer(shop.admin.retailer).available == 500 * UNIT


def test_a_key_that_is_not_a_channels_key_is_refused_clearly(world: World) -> None:
    from o2ochain.errors import ConfigError

    with pytest.raises(ConfigError, match="not the key of any channel"):
        world.chain.channel(world.outsider)


# -- the library's rule is the contract's rule -------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    paid=st.integers(1, 400),
    offered=st.integers(1, 400),
    quantity=st.integers(1, 4),
    tolerance=st.integers(0, 100),
    bps=st.integers(0, 3_000),
    cap=st.integers(1, 600),
)
def test_the_contract_pays_exactly_what_evaluate_says(
    world: World, paid: int, offered: int, quantity: int, tolerance: int, bps: int, cap: int
) -> None:
    w3 = world.chain.w3
    snapshot = w3.provider.ethereum_tester.take_snapshot()  # type: ignore[attr-defined]
    world.chain.use(world.chain.deployment)  # forget cached policies: ids repeat after each revert
    try:
        shop = open_shop(world, fund=0)
        policy = Policy(window=30 * DAY, tolerance_amount=tolerance * UNIT, tolerance_bps=bps, max_payout=cap * UNIT)
        shop.admin.set_policy(policy)
        shop.admin.fund(10_000 * UNIT)
        buyer = Account.create()
        purchase = shop.store.record_sale(buyer.address, GTIN_A, quantity, paid * UNIT, "P-1")
        offer = shop.web.publish_price(GTIN_A, offered * UNIT)
        reader = world.chain.guarantee
        expected = evaluate(purchase, reader.policy(purchase.policy), offer, compensated=0, now=reader.now(), currency=NATIVE)
        fn = reader.contract.functions.claimWithPrice(purchase.as_struct(), offer.channel, offer.valid_from)
        if expected.due:
            shop.buyer.sender.transact(fn)
            assert shop.balance(buyer.address) == expected.due
        else:
            with pytest.raises(by_name("GuaranteeWithinTolerance")):
                shop.buyer.sender.transact(fn)
    finally:
        w3.provider.ethereum_tester.revert_to_snapshot(snapshot)  # type: ignore[attr-defined]
