"""The O2O loop through the library on an in-process chain: merchant pages, verified-buyer reviews
ranked by usefulness, coupons issued online and redeemed once in the shop."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from eth_account import Account

from o2ochain import gs1
from o2ochain.catalogue import read_catalogue
from o2ochain.coupons import Voucher
from o2ochain.errors import ConfigError, InputError
from o2ochain.guarantee import ChannelKey, Policy, Purchase, RetailerAdmin
from o2ochain.revert import by_name
from o2ochain.reviews import Review, usefulness, wilson
from tests.conftest import GTIN_A, GTIN_B, World, sample_rows, write_csv

UNIT = 10**15
DAY = 86_400


@dataclass
class Loop:
    world: World
    admin: RetailerAdmin
    store: ChannelKey
    web: ChannelKey
    purchase: Purchase


@pytest.fixture
def loop(world: World, tmp_path: Path) -> Loop:
    chain = world.chain
    chain.use_content(tmp_path / "content")
    a = chain.accounts
    admin = chain.register_retailer(world.seller)
    admin.add_channel("store", a[7].address, "Zhongshan Road store")
    admin.add_channel("online-shop", a[8].address, "web shop")
    admin.set_policy(Policy(window=30 * DAY, tolerance_amount=50 * UNIT, max_payout=500 * UNIT))
    store = chain.channel(a[7])
    purchase = store.record_sale(world.buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0042")
    return Loop(world, admin, store, chain.channel(a[8]), purchase)


def test_only_a_buyer_reviews_once_per_purchase_and_nothing_is_deleted(loop: Loop) -> None:
    chain = loop.world.chain
    buyer = chain.reviewer(loop.world.buyer)
    rid = buyer.review_purchase(loop.purchase, 4, "Crisp and fresh, the bag was well sealed. Would buy again for the family.")
    with pytest.raises(by_name("ReviewAlreadyPosted")):
        buyer.review_purchase(loop.purchase, 5, "again")
    with pytest.raises(by_name("ReviewNotBuyer")) as info:
        chain.reviewer(loop.world.outsider).review_purchase(loop.purchase, 1, "I never bought it but it is bad")
    assert info.value.account == loop.world.outsider.address
    merchant_review = buyer.review_purchase(loop.purchase, 5, "Friendly staff at the Zhongshan Road store.", subject="merchant")
    assert merchant_review != rid
    buyer.edit(rid, 3, "Crisp and fresh, but the second bag was stale.")
    (row,) = chain.reviews.reviews(gtin=GTIN_A)
    assert (row.rating, row.version, row.text, row.author) == (
        3,
        2,
        "Crisp and fresh, but the second bag was stale.",
        loop.world.buyer.address,
    )
    assert chain.reviews.content.get(row.content_hash) is not None
    rating = chain.reviews.merchant_rating(loop.store.channel)
    assert (rating.average, rating.count) == (5.0, 1)


def test_an_item_claimed_at_first_sale_can_be_reviewed_by_its_owner(loop: Loop, tmp_path: Path) -> None:
    world = loop.world
    csv_path = write_csv(tmp_path / "items.csv", sample_rows(2, gtin14=GTIN_B, lot="R1", prefix="R"))
    world.chain.registrant(world.registrant).register_items(read_catalogue(csv_path))
    item = gs1.item_id(GTIN_B, "R000000")
    world.chain.seller(world.seller).claim(item, world.buyer.address)
    rid = world.chain.reviewer(world.buyer).review_item(item, 5, "Genuine, and the QR code checked out.")
    (row,) = world.chain.reviews.reviews(gtin=GTIN_B)
    assert row.id == rid and row.merchant == 0
    with pytest.raises(by_name("ReviewItemNotClaimed")):
        world.chain.reviewer(world.buyer).review_item(gs1.item_id(GTIN_B, "R000001"), 5, "not claimed")


def test_votes_are_one_per_address_and_rank_the_useful_first(loop: Loop) -> None:
    world = loop.world
    chain = world.chain
    a = chain.accounts
    # A second buyer with a thin review.
    other = Account.from_key(a[6].key)
    p2 = loop.store.record_sale(other.address, GTIN_A, 1, 188 * UNIT, "ZS-0043")
    thin = chain.reviewer(other).review_purchase(p2, 1, "bad")
    rich = chain.reviewer(world.buyer).review_purchase(loop.purchase, 4, " ".join(["Tasty seaweed, good crunch, honest portion."] * 12))
    for voter in (a[0], a[1], a[2]):
        chain.reviewer(voter).vote(rich, True)
        chain.reviewer(voter).vote(thin, False)
    with pytest.raises(by_name("ReviewAlreadyVoted")):
        chain.reviewer(a[0]).vote(rich, False)
    with pytest.raises(by_name("ReviewSelfVote")):
        chain.reviewer(world.buyer).vote(rich, True)
    rows = chain.reviews.reviews(gtin=GTIN_A)
    assert [r.id for r in rows] == [rich, thin]
    assert rows[1].folded  # 3 not-helpful votes, no helpful: folded, still listed
    assert rows == chain.reviews.reviews(gtin=GTIN_A, now=chain.reviews.now())  # deterministic


def test_usefulness_formula() -> None:
    assert wilson(0, 0) == 0.0
    assert wilson(3, 3) < wilson(90, 100)
    base = Review(b"\x01" * 32, "0x" + "11" * 20, "product", 1, 0, 4, 1, b"\x02" * 32, "u", b"\x03" * 32, posted_at=0, text="word " * 80)
    assert usefulness(base, now=0) == pytest.approx(0.7 + 1 + 1)
    assert usefulness(replace(base, photos=1), now=0) == pytest.approx(1.0 + 1 + 1)
    assert usefulness(base, now=90 * DAY) == pytest.approx(0.7 + 0.5 + 1)
    assert usefulness(replace(base, text=None), now=0) == pytest.approx(1)


def test_merchant_profile_and_replies(loop: Loop) -> None:
    chain = loop.world.chain
    desk = chain.merchant_desk(loop.world.seller)
    desk.set_profile(
        loop.store.channel, {"name": "Zhongshan Road store", "hours": "09:00-21:00"}, gln="9506000000015", latitude=38.91, longitude=121.61
    )
    profile = chain.reviews.merchant_profile(loop.store.channel)
    assert (profile["gln"], profile["latitude"], profile["longitude"]) == ("9506000000015", 38.91, 121.61)
    with pytest.raises(InputError, match="GLN"):
        desk.set_profile(loop.store.channel, {"name": "x"}, gln="9506000000017")
    with pytest.raises(by_name("AccessControlUnauthorizedAccount")):
        chain.merchant_desk(loop.world.outsider).set_profile(loop.store.channel, {"name": "not mine"})
    rid = chain.reviewer(loop.world.buyer).review_purchase(loop.purchase, 2, "Queue was long.", subject="merchant")
    chain.merchant_desk(chain.accounts[7]).reply(rid, "Sorry: we opened a second till.")
    with pytest.raises(by_name("ReviewNotMerchant")):
        chain.merchant_desk(loop.world.outsider).reply(rid, "fake reply")
    (row,) = chain.reviews.reviews(merchant=loop.store.channel)
    assert [r["text"] for r in row.replies] == ["Sorry: we opened a second till."]


def test_coupons_issued_online_redeemed_once_in_the_shop(loop: Loop, tmp_path: Path) -> None:
    chain = loop.world.chain
    a = chain.accounts
    campaign = chain.coupon_issuer(loop.world.seller).create_campaign(
        loop.web.channel, 600, valid_for=7 * DAY, terms="10 off, one per visit"
    )
    vouchers = chain.coupon_issuer(a[8]).sign(campaign, range(250, 260), amount=10 * UNIT)
    payload = vouchers[5].payload()
    assert Voucher.from_payload(payload) == vouchers[5]
    shop = chain.shop(a[7])  # the store redeems a voucher the web shop issued
    shop.redeem(payload, receipt="ZS-0099")
    with pytest.raises(by_name("CouponAlreadyRedeemed")) as info:
        shop.redeem(payload)
    assert (info.value.campaign, info.value.index) == (campaign, 255)
    shop.redeem_many(vouchers[:3])
    figures = chain.coupons.figures(campaign)
    assert (figures.issued, figures.redeemed, round(figures.conversion, 4)) == (600, 4, round(4 / 600, 4))
    forged = replace(vouchers[6], value=10**18)
    with pytest.raises(by_name("CouponSignatureInvalid")):
        shop.redeem(forged)
    with pytest.raises(by_name("CouponNotShop")):
        chain.shop(loop.world.outsider).redeem(vouchers[7])
    with pytest.raises(ConfigError, match="not the live key of merchant"):
        chain.coupon_issuer(a[7]).sign(campaign, [1], amount=UNIT)
    with pytest.raises(InputError, match="damaged"):
        Voucher.from_payload("o2ochain:voucher:AAAA")
    chain.w3.provider.ethereum_tester.time_travel(chain.guarantee.now() + 8 * DAY)  # type: ignore[attr-defined]
    chain.w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]
    with pytest.raises(by_name("CouponExpired")):
        shop.redeem(vouchers[8])
