"""The price guarantee through the library on an in-process chain: the rule, the roles, the keeper.

The paper's case (seed 000, §4.1.3) runs throughout: a snack gift bag bought for 188 in the store
while the retailer's web shop offers it for 133. Version 2 of the contract reserves each
purchase's cover when it is recorded and pays from a day after (the payout delay).
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

from o2ochain.errors import InputError, InputErrors, by_name
from o2ochain.guarantee import (
    MAX_KEY_GRACE,
    NATIVE,
    PAYOUT_DELAY,
    POLICY_NOTICE,
    Buyer,
    ChannelKey,
    KeyInfo,
    Offer,
    Policy,
    Purchase,
    RetailerAdmin,
    evaluate,
    format_time,
    load_quotes,
    purchase_id,
    read_sales_csv,
    receipt_hash,
)
from tests.conftest import GTIN_A, GTIN_B, World, advance

UNIT = 10**15  # prices in thousandths of a coin: 188 -> 188 * UNIT wei
DAY = 86_400
COVER = 188 * UNIT - 1  # (unit price - 1) x 1, below the cap of 500


@dataclass
class Shop:
    world: World
    admin: RetailerAdmin
    store: ChannelKey
    web: ChannelKey
    buyer: Buyer
    keeper_account: LocalAccount

    def travel(self, seconds: int) -> int:
        return advance(self.world.chain, seconds)

    def balance(self, who: str) -> int:
        return int(self.world.chain.w3.eth.get_balance(who))


def open_shop(
    world: World, *, tolerance: int = 50 * UNIT, window: int = 30 * DAY, fund: int = 1_000 * UNIT, policy: Policy | None = None
) -> Shop:
    chain = world.chain
    a = chain.accounts
    admin = chain.register_retailer(world.seller, uri="https://dalian-coast.example/retailer")
    admin.add_channel("store", a[7].address, "Dalian Coast, Zhongshan Road store")
    admin.add_channel("online-shop", a[8].address, "Dalian Coast web shop")
    admin.set_policy(policy or Policy(window=window, tolerance_amount=tolerance, max_payout=500 * UNIT))
    if fund:
        admin.fund(fund)
    return Shop(world, admin, chain.channel(a[7]), chain.channel(a[8]), chain.buyer(world.buyer), a[9])


def paper_case(shop: Shop) -> Purchase:
    shop.web.publish_price(GTIN_A, 150 * UNIT)
    purchase = shop.store.record_sale(shop.buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0001/2026-12-01/0042")
    shop.web.publish_price(GTIN_A, 133 * UNIT)  # ends the 150 and offers 133
    return purchase


# -- the rule ---------------------------------------------------------------------------------

BOUGHT = 1_000
NOW = BOUGHT + PAYOUT_DELAY + 1_000  # claimable


def _purchase(**kw: int) -> Purchase:
    base = {
        "retailer": 1,
        "channel": 1,
        "gtin": 9506000000102,
        "quantity": 1,
        "unit_price": 188,
        "purchased_at": BOUGHT,
        "policy": 1,
        "cover": 187,
        "recorded_at": BOUGHT,
    }
    base |= kw
    return Purchase(id=b"\x01" * 32, buyer="0x" + "11" * 20, receipt=b"\x02" * 32, **base)  # type: ignore[arg-type]


def _offer(**kw: int) -> Offer:
    base = {"retailer": 1, "channel": 2, "gtin": 9506000000102, "price": 133, "price_type": 0, "valid_from": 900, "valid_until": 2**40 - 1}
    base |= kw
    return Offer(currency=NATIVE, **base)  # type: ignore[arg-type]


POLICY = Policy(window=30 * DAY, tolerance_amount=50, max_payout=500)


def test_evaluate_pays_the_papers_difference_when_it_exceeds_the_tolerance() -> None:
    e = evaluate(_purchase(), POLICY, _offer(), compensated=0, now=NOW, currency=NATIVE)
    assert (e.difference, e.tolerance, e.total, e.due, e.pending, e.reason) == (55, 50, 55, 55, 0, "owed")
    e = evaluate(_purchase(), replace(POLICY, tolerance_amount=60), _offer(), compensated=0, now=NOW, currency=NATIVE)
    assert (e.due, e.reason) == (0, "the difference is within the tolerance")
    e = evaluate(_purchase(), replace(POLICY, tolerance_amount=0, tolerance_bps=3_000), _offer(), compensated=0, now=NOW, currency=NATIVE)
    assert (e.tolerance, e.due) == (56, 0)  # 30% of 188 = 56.4 -> 56 >= 55


CLOSES = BOUGHT + 30 * DAY + PAYOUT_DELAY


@pytest.mark.parametrize(
    ("purchase", "offer", "now", "reason"),
    [
        (_purchase(), _offer(retailer=2), NOW, "the offer is another retailer's"),
        (_purchase(), _offer(gtin=9506000000119), NOW, "the offer is for another product"),
        (_purchase(), _offer(price_type=2), NOW, "clearance prices are excluded by the policy"),
        (_purchase(), _offer(valid_until=BOUGHT), NOW, "the offer was not available within the window"),
        (_purchase(), _offer(valid_from=BOUGHT + 30 * DAY + 1), CLOSES, "the offer was not available within the window"),
        (_purchase(), _offer(valid_from=NOW + 1), NOW, "the offer has not started yet"),
        (_purchase(), _offer(), CLOSES + 1, f"claims closed on {format_time(CLOSES)}"),
        (_purchase(policy=0, cover=0), _offer(), NOW, "the purchase is not covered by a price guarantee"),
        (_purchase(cover=0), _offer(), NOW, "not covered: the pool had no free funds when it was recorded"),
        (
            _purchase(cover=0, recorded_at=BOUGHT + 30 * DAY + 1),
            _offer(),
            NOW,
            "not covered: it was recorded after its guarantee window had closed",
        ),
        (_purchase(), _offer(price=188), NOW, "the offer is not below the price paid"),
    ],
)
def test_evaluate_says_why_nothing_is_owed(purchase: Purchase, offer: Offer, now: int, reason: str) -> None:
    policy = None if purchase.policy == 0 else POLICY
    e = evaluate(purchase, policy, offer, compensated=0, now=now, currency=NATIVE)
    assert (e.due, e.pending, e.reason) == (0, 0, reason)


def test_evaluate_waits_for_the_payout_delay_and_pays_until_a_day_after_the_window() -> None:
    e = evaluate(_purchase(), POLICY, _offer(), compensated=0, now=BOUGHT + PAYOUT_DELAY - 1, currency=NATIVE)
    assert (e.due, e.pending, e.claimable_at) == (0, 55, BOUGHT + PAYOUT_DELAY)
    assert e.reason == f"claimable from {format_time(BOUGHT + PAYOUT_DELAY)}" == "claimable from 1970-01-02 00:16 UTC"
    assert evaluate(_purchase(), POLICY, _offer(), compensated=0, now=BOUGHT + PAYOUT_DELAY, currency=NATIVE).due == 55
    # A receipt registered later is claimable a day after it was recorded, not after its sale.
    late = _purchase(recorded_at=BOUGHT + 10 * DAY)
    assert evaluate(late, POLICY, _offer(), compensated=0, now=BOUGHT + 10 * DAY + PAYOUT_DELAY - 1, currency=NATIVE).pending == 55
    last = evaluate(_purchase(), POLICY, _offer(), compensated=0, now=CLOSES, currency=NATIVE)
    assert (last.due, last.closes_at) == (55, CLOSES)  # the last second counts


def test_evaluate_caps_at_the_policy_and_at_the_cover_and_tops_up() -> None:
    three = _purchase(quantity=3, cover=500)
    assert evaluate(three, POLICY, _offer(), compensated=0, now=NOW, currency=NATIVE).due == 165
    capped = replace(POLICY, max_payout=100)
    assert evaluate(three, capped, _offer(), compensated=0, now=NOW, currency=NATIVE).total == 100
    # A pool that was short when the purchase was recorded reserved less: that is all it gets.
    short = _purchase(quantity=3, cover=80)
    assert evaluate(short, POLICY, _offer(), compensated=0, now=NOW, currency=NATIVE).due == 80
    e = evaluate(short, POLICY, _offer(price=100), compensated=80, now=NOW, currency=NATIVE)
    assert (e.due, e.reason) == (0, "already compensated up to its cover (what the pool reserved for it)")
    # A lower price later adds only the difference to what was paid already.
    e = evaluate(_purchase(), POLICY, _offer(price=100), compensated=55, now=NOW, currency=NATIVE)
    assert (e.total, e.due) == (88, 33)
    e = evaluate(_purchase(), POLICY, _offer(), compensated=55, now=NOW, currency=NATIVE)
    assert (e.due, e.reason) == (0, "already compensated for this price or a lower one")


def test_purchase_id_is_the_hash_of_the_receipt() -> None:
    p = _purchase()
    assert purchase_id(*p.receipt_struct()) == purchase_id(1, 1, "0x" + "11" * 20, 9506000000102, 1, 188, BOUGHT, b"\x02" * 32)
    assert purchase_id(*p.receipt_struct()) != purchase_id(1, 1, "0x" + "22" * 20, 9506000000102, 1, 188, BOUGHT, b"\x02" * 32)
    assert len(p.as_struct()) == 11 and p.as_struct()[8:] == (1, 187, BOUGHT)


@pytest.mark.parametrize(
    ("revoked_at", "grace", "signed_at", "now", "consumer_held", "accepted"),
    [
        (0, 0, 150, 10_000, False, True),  # live: everything it signed while live counts
        (0, 0, 50, 10_000, True, False),  # dated before the key became live
        (1_000, DAY, 900, 1_500, False, False),  # a quote: never past the revocation
        (1_000, DAY, 900, 1_500, True, True),  # a receipt or voucher: within the grace
        (1_000, DAY, 900, 1_000 + DAY, True, False),  # ... and not after it
        (1_000, DAY, 1_000, 1_500, True, False),  # signed at or after the revocation
        (1_000, 0, 900, 1_000, True, False),  # compromised: no grace at all
    ],
)
def test_key_info_accepts_as_channel_key_accepts(
    revoked_at: int, grace: int, signed_at: int, now: int, consumer_held: bool, accepted: bool
) -> None:
    key = KeyInfo("0x" + "33" * 20, 1, 2, 100, revoked_at, grace)
    assert key.accepts(signed_at, now, consumer_held=consumer_held) is accepted
    assert key.live is (revoked_at == 0) and key.live_at(signed_at) is (signed_at >= 100 and (revoked_at == 0 or signed_at < revoked_at))


# -- roles on chain ---------------------------------------------------------------------------


def test_buyer_sees_what_is_owed_and_from_when_then_claims_exactly_55(world: World) -> None:
    shop = open_shop(world)
    purchase = paper_case(shop)
    reader = world.chain.guarantee
    assert (purchase.policy, purchase.cover, purchase.claimable_at) == (1, COVER, purchase.recorded_at + DAY)
    assert purchase.id == reader.purchase_id(*purchase.receipt_struct())
    assert reader.retailer(shop.admin.retailer).reserved == COVER
    (row,) = shop.buyer.owed()
    assert (row.due, row.pending, row.offer.price, row.reason) == (
        0,
        55 * UNIT,
        133 * UNIT,
        f"claimable from {format_time(purchase.claimable_at)}",
    )
    claimer = world.chain.buyer(world.outsider)  # anyone may trigger it: the money goes to the buyer
    with pytest.raises(InputError, match=r"nothing is claimable yet .*: 0\.055 is claimable from"):
        claimer.claim(purchase.id)
    with pytest.raises(by_name("GuaranteeClaimTooEarly")) as early:
        claimer.sender.transact(reader.claim_call(row))
    assert (early.value.purchase, early.value.claimableAt) == (purchase.id, purchase.claimable_at)
    shop.travel(DAY)
    (row,) = shop.buyer.owed()
    assert (row.due, row.offer.price, row.offer.channel, row.reason) == (55 * UNIT, 133 * UNIT, shop.web.channel, "owed")
    before = shop.balance(shop.buyer.address)
    claimer.claim(purchase.id)
    assert shop.balance(shop.buyer.address) - before == 55 * UNIT
    assert reader.compensated(purchase) == 55 * UNIT and reader.purchase_state(purchase.id) == (True, COVER - 55 * UNIT)
    with pytest.raises(InputError, match="already compensated"):
        claimer.claim(purchase.id)
    (paid,) = reader.payouts(buyer=shop.buyer.address)
    assert (paid.kind, paid.amount, paid.detail["offerPrice"], paid.detail["quote"]) == ("paid", 55 * UNIT, str(133 * UNIT), False)
    info = reader.retailer(shop.admin.retailer)
    assert (info.balance, info.reserved, info.free, info.paid) == (945 * UNIT, COVER - 55 * UNIT, 945 * UNIT - COVER + 55 * UNIT, 55 * UNIT)


def test_nothing_is_owed_when_the_difference_is_within_the_tolerance(world: World) -> None:
    shop = open_shop(world, tolerance=60 * UNIT)
    purchase = paper_case(shop)
    shop.travel(DAY)
    (row,) = shop.buyer.owed()
    assert (row.due, row.pending, row.reason) == (0, 0, "the difference is within the tolerance")
    with pytest.raises(by_name("GuaranteeWithinTolerance")) as info:
        shop.buyer.sender.transact(world.chain.guarantee.claim_call(row))
    assert (info.value.paid, info.value.offered, info.value.tolerance) == (188 * UNIT, 133 * UNIT, 60 * UNIT)
    assert world.chain.guarantee.compensated(purchase) == 0


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


def test_keeper_pays_every_purchase_once_claimable_without_being_asked_and_logs_why(world: World) -> None:
    shop = open_shop(world)
    shop.web.publish_price(GTIN_A, 188 * UNIT)
    buyers = [Account.create() for _ in range(3)]
    for n, b in enumerate(buyers):
        shop.store.record_sale(b.address, GTIN_A, n + 1, 188 * UNIT, f"ZS-0002/{n}")
    shop.store.record_sale(buyers[0].address, GTIN_B, 1, 188 * UNIT, "ZS-0002/other-product")
    shop.web.publish_price(GTIN_A, 133 * UNIT)
    log = io.StringIO()
    keeper = world.chain.keeper(shop.keeper_account, log=log)
    # The web shop's cut entitles the three buyers, but only from a day after their sales.
    early = keeper.run_once()
    assert sorted((a.kind, a.amount) for a in early) == [("pending", 55 * UNIT), ("pending", 110 * UNIT), ("pending", 165 * UNIT)]
    assert all(a.reason.startswith("claimable from ") for a in early)
    assert keeper.run_once() == []  # reported once
    assert [shop.balance(b.address) for b in buyers] == [0, 0, 0]
    shop.travel(DAY)
    actions = keeper.run_once()
    assert sorted((a.kind, a.amount) for a in actions) == [("paid", 55 * UNIT), ("paid", 110 * UNIT), ("paid", 165 * UNIT)]
    assert [shop.balance(b.address) for b in buyers] == [55 * UNIT, 110 * UNIT, 165 * UNIT]
    lines = [json.loads(line) for line in log.getvalue().splitlines() if json.loads(line)["kind"] == "paid"]
    assert {(line["offerPrice"], line["paidPrice"], line["difference"], line["tolerance"], line["evidence"]) for line in lines} == {
        (str(133 * UNIT), str(188 * UNIT), str(55 * UNIT), str(50 * UNIT), "published price")
    }
    assert keeper.run_once() == []
    # A keeper started afresh (a restart) reads the chain: it finds nothing left to pay.
    assert world.chain.keeper(shop.keeper_account).run_once() == []
    assert [shop.balance(b.address) for b in buyers] == [55 * UNIT, 110 * UNIT, 165 * UNIT]
    # A lower price later in the window tops each purchase up to exactly the rule, at once.
    shop.travel(DAY)
    shop.web.publish_price(GTIN_A, 120 * UNIT)
    assert sorted(a.amount for a in keeper.run_once()) == [13 * UNIT, 26 * UNIT, 39 * UNIT]
    assert [shop.balance(b.address) for b in buyers] == [68 * UNIT, 136 * UNIT, 204 * UNIT]


def test_keeper_ignores_excluded_prices_and_releases_the_cover_once_claims_close(world: World) -> None:
    shop = open_shop(world, window=7 * DAY)
    buyer = Account.create()
    purchase = shop.store.record_sale(buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0003/1")
    shop.web.publish_price(GTIN_A, 100 * UNIT, price_type="clearance")
    keeper = world.chain.keeper(shop.keeper_account)
    shop.travel(DAY)
    assert keeper.run_once() == []
    reader = world.chain.guarantee
    assert reader.retailer(shop.admin.retailer).reserved == COVER
    shop.travel(7 * DAY)  # the window and a day after it: claims closed
    shop.web.publish_price(GTIN_A, 90 * UNIT)
    (released,) = keeper.run_once()
    assert (released.kind, released.purchase, released.amount) == ("released", "0x" + purchase.id.hex(), COVER)
    info = reader.retailer(shop.admin.retailer)
    assert (info.reserved, info.free, shop.balance(buyer.address)) == (0, 1_000 * UNIT, 0)
    assert reader.purchase_state(purchase.id) == (True, 0) and reader.compensated(purchase) == 0
    assert keeper.run_once() == [] and reader.releasable() == []


def test_pool_short_covers_what_is_free_and_later_purchases_not_at_all(world: World) -> None:
    shop = open_shop(world, fund=80 * UNIT)
    buyers = [Account.create() for _ in range(3)]
    recorded = [shop.store.record_sale(b.address, GTIN_A, 1, 188 * UNIT, f"ZS-0004/{n}") for n, b in enumerate(buyers)]
    assert [p.cover for p in recorded] == [80 * UNIT, 0, 0]  # the first takes all that was free
    shop.admin.fund(100 * UNIT)  # funding later covers later purchases, never earlier ones
    late = shop.store.record_sale(Account.create().address, GTIN_A, 1, 188 * UNIT, "ZS-0004/late")
    assert late.cover == 100 * UNIT
    shop.web.publish_price(GTIN_A, 133 * UNIT)
    shop.travel(DAY)
    keeper = world.chain.keeper(shop.keeper_account)
    assert sorted((a.kind, a.amount) for a in keeper.run_once()) == [("paid", 55 * UNIT), ("paid", 55 * UNIT)]
    assert [shop.balance(b.address) for b in buyers] == [55 * UNIT, 0, 0]
    reader = world.chain.guarantee
    row = reader.entitlements(recorded[1], reader.published_prices(gtin=GTIN_A))[0]
    assert (row.due, row.reason) == (0, "not covered: the pool had no free funds when it was recorded")
    info = reader.retailer(shop.admin.retailer)
    assert (info.funded, info.paid, info.reserved, info.free) == (180 * UNIT, 110 * UNIT, 25 * UNIT + 45 * UNIT, 0)


def test_keeper_lodges_the_quotes_it_is_given_so_a_key_rotation_cannot_void_them(world: World, tmp_path: Path) -> None:
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
        shop.buyer.sender.transact(world.chain.guarantee.lodge_call(forged))
    keeper = world.chain.keeper(shop.keeper_account, quotes=[loaded])
    first = keeper.run_once()
    assert [a.kind for a in first] == ["lodged", "pending"]
    assert world.chain.guarantee.is_lodged(quote)
    # The retailer rotates the web shop's key as compromised: the quote counts anyway, on chain.
    shop.admin.rotate_key(shop.web.channel, Account.create().address, compromised=True)
    shop.travel(DAY)
    (paid,) = keeper.run_once()
    assert (paid.kind, paid.amount, paid.detail and paid.detail["evidence"]) == ("paid", 55 * UNIT, "lodged quote")
    assert world.chain.guarantee.compensated(purchase) == 55 * UNIT


def test_thief_with_a_rotated_key_signs_quotes_that_count_for_nothing(world: World) -> None:
    shop = open_shop(world)
    purchase = shop.store.record_sale(shop.buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0005/2")
    thief_quote = shop.web.sign_quote(GTIN_A, 1, valid_for=30 * DAY)  # signed while the key was live, not lodged
    shop.admin.rotate_key(shop.web.channel, Account.create().address)  # a day's grace: for receipts and vouchers only
    with pytest.raises(InputError, match="was revoked on"):
        world.chain.keeper(shop.keeper_account, quotes=[thief_quote])
    shop.travel(DAY)
    with pytest.raises(by_name("GuaranteeSignerInvalid")) as info:
        shop.buyer.sender.transact(
            world.chain.guarantee.contract.functions.claimWithQuote(
                purchase.as_struct(), thief_quote.as_quote_struct(), thief_quote.signature
            )
        )
    assert (info.value.channel, info.value.at) == (shop.web.channel, thief_quote.valid_from)
    assert world.chain.guarantee.compensated(purchase) == 0


def _quote_message(world: World, quote: Offer) -> object:
    from eth_account.messages import encode_typed_data

    from o2ochain.guarantee import QUOTE_TYPES

    message = {f["name"]: v for f, v in zip(QUOTE_TYPES["Quote"], quote.as_quote_struct(), strict=True)}
    return encode_typed_data(domain_data=world.chain.guarantee.domain(), message_types=QUOTE_TYPES, message_data=message)


def test_rotate_key_gives_receipts_a_grace_or_none_when_compromised(world: World) -> None:
    shop = open_shop(world)
    reader = world.chain.guarantee
    old_web = shop.web.address
    with pytest.raises(InputError, match="the grace must be"):
        shop.admin.rotate_key(shop.web.channel, Account.create().address, grace=MAX_KEY_GRACE + 1)
    receipt = shop.store.sign_receipt(shop.buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0008/1")
    new_store = Account.create().address
    shop.admin.rotate_key(shop.store.channel, new_store, grace=2 * DAY)
    key = reader.key(shop.store.address)
    assert (key.channel, key.grace, key.live, reader.key(new_store).live) == (shop.store.channel, 2 * DAY, False, True)
    assert shop.buyer.register(receipt).cover == COVER  # within the grace: the buyer's receipt counts
    late = shop.web.sign_receipt(shop.buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0008/2")
    shop.admin.rotate_key(shop.web.channel, None, compromised=True)
    assert reader.key(old_web).grace == 0
    with pytest.raises(by_name("GuaranteeSignerInvalid")):
        shop.buyer.register(late)


def test_set_policy_reports_that_a_reduction_takes_effect_after_notice(world: World) -> None:
    shop = open_shop(world)
    reader = world.chain.guarantee
    wider = shop.admin.set_policy(Policy(window=40 * DAY, tolerance_amount=50 * UNIT, max_payout=500 * UNIT))
    assert (wider.reduces, wider.since, wider.notice) == (False, wider.set_at, 0)
    shorter = shop.admin.set_policy(Policy(window=7 * DAY, tolerance_amount=50 * UNIT, max_payout=500 * UNIT))
    assert (shorter.reduces, shorter.since, shorter.notice, shorter.previous) == (
        True,
        shorter.set_at + POLICY_NOTICE,
        POLICY_NOTICE,
        wider.id,
    )
    assert reader.policy_for(shop.admin.retailer, GTIN_A) == wider.id  # today's sales keep the wider terms
    assert reader.policy_for(shop.admin.retailer, GTIN_A, shorter.since) == shorter.id
    assert reader.policy_record(shorter.id) == replace(shorter, set_at=0)


def test_buyer_registers_a_signed_receipt_once_and_it_is_theirs(world: World) -> None:
    shop = open_shop(world)
    signed = shop.store.sign_receipt(shop.buyer.address, GTIN_A, 2, 188 * UNIT, "ZS-0006/1")
    purchase = shop.buyer.register(signed)
    assert (purchase.id, purchase.quantity, purchase.unit_price, purchase.buyer) == (signed.purchase_id, 2, 188 * UNIT, shop.buyer.address)
    with pytest.raises(by_name("GuaranteePurchaseExists")) as info:
        shop.buyer.register(signed)
    assert info.value.purchase == purchase.id
    with pytest.raises(InputError, match="one receipt is one purchase"):  # the till recording the same receipt again
        shop.store.record_sale(shop.buyer.address, GTIN_A, 2, 188 * UNIT, "ZS-0006/1")


def test_store_key_recording_a_buyers_receipt_hash_first_cannot_block_the_buyers_receipt(world: World) -> None:
    shop = open_shop(world)
    signed = shop.store.sign_receipt(shop.buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0009/1")
    accomplice = Account.create().address
    fn = world.chain.guarantee.contract.functions.recordPurchase((accomplice, int(GTIN_A), 1, 1, signed.receipt))
    shop.store.sender.transact(fn)
    mine = shop.buyer.register(signed)
    assert (mine.buyer, mine.id) == (shop.buyer.address, signed.purchase_id)


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
    from o2ochain._chain.artifacts import artifact
    from o2ochain._chain.tx import Sender

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
    purchase = chain.channel(a[7]).record_sale(buyer.address, GTIN_A, 1, 188 * 10**6, "ERC20-1")
    assert purchase.cover == 100 * 10**6  # the policy's cap
    chain.channel(a[8]).publish_price(GTIN_A, 133 * 10**6)
    advance(chain, DAY)
    (action,) = chain.keeper(a[9]).run_once()
    assert action.amount == 55 * 10**6 and token.functions.balanceOf(buyer.address).call() == 55 * 10**6


def test_withdrawal_waits_a_day_and_takes_only_free_funds(world: World) -> None:
    shop = open_shop(world, window=7 * DAY)
    purchase = shop.store.record_sale(Account.create().address, GTIN_A, 1, 188 * UNIT, "ZS-0010/1")
    at = shop.admin.announce_withdrawal(1_000 * UNIT)  # all of it: only what is free leaves
    assert at == world.chain.guarantee.now() + DAY
    with pytest.raises(by_name("GuaranteeWithdrawalTooEarly")) as info:
        shop.admin.execute_withdrawal()
    assert (info.value.retailer, info.value.executableAt) == (shop.admin.retailer, at)
    shop.travel(DAY)
    shop.admin.execute_withdrawal()
    info_after = world.chain.guarantee.retailer(shop.admin.retailer)
    assert (info_after.balance, info_after.reserved, info_after.free, info_after.withdrawn) == (COVER, COVER, 0, 1_000 * UNIT - COVER)
    # Once the purchase's claims close, its cover returns to the free funds (anyone may release it).
    shop.travel(7 * DAY)
    (released,) = world.chain.buyer(world.outsider).release(world.chain.guarantee.releasable())
    assert (released.purchase, released.retailer, released.amount) == (purchase.id, shop.admin.retailer, COVER)
    assert world.chain.guarantee.retailer(shop.admin.retailer).free == COVER


def test_retailer_releases_its_closed_purchases_and_compensation_so_far_stays_known(world: World) -> None:
    shop = open_shop(world, window=2 * DAY)
    purchase = paper_case(shop)
    with pytest.raises(by_name("GuaranteeCoverOpen")) as info:
        shop.admin.sender.transact(world.chain.guarantee.release_call([purchase]))
    assert (info.value.purchase, info.value.closesAt) == (purchase.id, purchase.purchased_at + 3 * DAY)
    shop.travel(DAY)
    world.chain.buyer(world.outsider).claim(purchase)
    shop.travel(2 * DAY)
    (released,) = shop.admin.release_closed()
    assert released.amount == COVER - 55 * UNIT
    assert world.chain.guarantee.compensated(purchase) == 55 * UNIT  # read from the release, not the cover
    assert [r.amount for r in world.chain.guarantee.releases(retailer=shop.admin.retailer)] == [COVER - 55 * UNIT]
    assert shop.admin.release_closed() == []


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
    fund=st.integers(0, 700),
    wait=st.sampled_from([0, DAY - 60, DAY, 5 * DAY, 31 * DAY]),
)
def test_the_contract_pays_exactly_what_evaluate_says(
    world: World, paid: int, offered: int, quantity: int, tolerance: int, bps: int, cap: int, fund: int, wait: int
) -> None:
    w3 = world.chain.w3
    snapshot = w3.provider.ethereum_tester.take_snapshot()  # type: ignore[attr-defined]
    world.chain.use(world.chain.deployment)  # forget cached policies: ids repeat after each revert
    try:
        policy = Policy(window=30 * DAY, tolerance_amount=tolerance * UNIT, tolerance_bps=bps, max_payout=cap * UNIT)
        shop = open_shop(world, fund=0, policy=policy)
        if fund:
            shop.admin.fund(fund * UNIT)
        buyer = Account.create()
        purchase = shop.store.record_sale(buyer.address, GTIN_A, quantity, paid * UNIT, "P-1")
        assert purchase.cover == min((paid * UNIT - 1) * quantity, cap * UNIT, fund * UNIT)
        offer = shop.web.publish_price(GTIN_A, offered * UNIT)
        if wait:
            shop.travel(wait)
        reader = world.chain.guarantee
        now = reader.now() + 1  # the claim's block
        expected = evaluate(purchase, reader.policy(purchase.policy), offer, compensated=0, now=now, currency=NATIVE)
        fn = reader.contract.functions.claimWithPrice(purchase.as_struct(), offer.channel, offer.valid_from)
        if expected.due:
            shop.buyer.sender.transact(fn)
            assert shop.balance(buyer.address) == expected.due
            return
        # The contract's order: cover, then time, then the offer and the rule.
        if purchase.cover == 0:
            error = "GuaranteeNotCovered"
        elif now < purchase.claimable_at:
            error = "GuaranteeClaimTooEarly"
        elif now > expected.closes_at:
            error = "GuaranteeWindowClosed"
        else:
            error = "GuaranteeWithinTolerance"
        assert (expected.pending > 0) == (error == "GuaranteeClaimTooEarly" and expected.reason.startswith("claimable from"))
        with pytest.raises(by_name(error)):
            shop.buyer.sender.transact(fn)
    finally:
        w3.provider.ethereum_tester.revert_to_snapshot(snapshot)  # type: ignore[attr-defined]
