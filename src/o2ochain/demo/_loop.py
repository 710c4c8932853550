"""The demo's O2O loop: merchant pages, verified-buyer reviews and a coupon campaign.

The gift bag's brand recognises the retailer of the price-guarantee demo as a seller of its
products (so its buyers' product reviews count as verified); the retailer publishes its three
merchants' profiles; buyers of the gift bag review it and the store (one review each per
purchase); readers who bought the gift bag in the web shop vote on its reviews, each showing that
purchase as its ticket (a vote on a product review needs a ticket for that product: an item of
it claimed at first sale, or a purchase of it from a seller its brand authorised, as the web
shop's retailer is); the web shop runs a coupon campaign (up to 500 vouchers) and signs 60 of
them, keeping the record in ``coupons/signed.jsonl``: 12 are redeemed in the store, 5 are handed
to the printed commands (``coupons/vouchers.jsonl``, with QR codes) and one to the page's test
shopper, apart from those, so that running the commands never uses up the page's voucher. The
campaign's conversion is the redemptions on chain over the vouchers signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from o2ochain.client import O2OChain
from o2ochain.errors import ConfigError
from o2ochain.loop import Voucher, write_vouchers

MILLI = 10**15
PROFILES = (
    (
        {"name": "Dalian Coast, Zhongshan Road store", "address": "88 Zhongshan Road, Dalian", "hours": "Mo-Su 09:00-21:00"},
        "9506000000015",
        38.9140,
        121.6147,
    ),
    ({"name": "Dalian Coast web shop", "address": "https://dalian-coast.example/shop", "hours": "always open"}, None, 0.0, 0.0),
    (
        {"name": "Dalian Coast on a marketplace", "address": "https://marketplace.example/dalian-coast", "hours": "always open"},
        None,
        0.0,
        0.0,
    ),
)
PRODUCT_REVIEWS = (
    (5, "Crisp, not oily, and the bag reseals well. The kelp jerky inside is the best part; my parents loved it."),
    (4, "Good mix of snacks for a gift. One pack of shrimp crackers was a little broken but the taste was fine."),
    (2, "Too salty for me."),
    (5, "Checked the QR code in the store: genuine, with the whole history from the factory. Fresh and tasty."),
    (3, "Fine."),
)
MERCHANT_REVIEWS = (
    (4, "Helpful staff at the Zhongshan Road store; they showed me the price guarantee on my phone."),
    (5, "Quick checkout, and the coupon from the web shop worked at the till."),
)


@dataclass
class LoopDemo:
    reviews: int
    votes: int
    campaign: int
    capacity: int
    signed: int
    redeemed: int
    store_channel: int
    gift_bag: str
    coupon_dir: Path
    #: A voucher no printed command is given: the page's test shopper shows it at the till.
    page_voucher: Voucher


def run_loop(
    chain: O2OChain,
    *,
    admin: LocalAccount,
    store_key: LocalAccount,
    web_key: LocalAccount,
    shoppers: Sequence[LocalAccount],
    voters: Sequence[LocalAccount],
    gift_bag: str,
    out_dir: Path,
    brand_admin: LocalAccount | None = None,
) -> LoopDemo:
    """The loop on the demo's chain. ``brand_admin`` is the gift bag's brand admin (by default
    the account among ``chain.accounts`` that holds the role), who authorises the retailer."""
    store, web = chain.channel(store_key), chain.channel(web_key)
    brand = chain.identity.brand_of_gtin(gift_bag)
    chain.brand(brand_admin or _brand_admin(chain, brand), brand).authorise_seller(store.retailer)
    desk = chain.merchant_desk(admin)
    for channel, (profile, gln, lat, lon) in enumerate(PROFILES, start=1):
        desk.set_profile(channel, profile, gln=gln, latitude=lat, longitude=lon)
    reviews = votes = 0
    ids: list[bytes] = []
    for n, shopper in enumerate(shoppers):
        (purchase,) = [p for p in chain.guarantee.purchases(buyer=shopper.address) if p.gtin == int(gift_bag)]
        rating, text = PRODUCT_REVIEWS[n % len(PRODUCT_REVIEWS)]
        writer = chain.reviewer(shopper)
        ids.append(writer.review_purchase(purchase, rating, text))
        reviews += 1
        if n < len(MERCHANT_REVIEWS):
            rating, text = MERCHANT_REVIEWS[n]
            writer.review_purchase(purchase, rating, text, subject="merchant")
            reviews += 1
    for n, voter in enumerate(voters):  # readers who bought the gift bag online: a ticket for the gift bag's reviews
        web.record_sale(voter.address, gift_bag, 1, 133 * MILLI, f"WEB-12/2026-12-02/V{n:03d}")
    for voter in voters:  # they find the detailed reviews useful and the one-word ones not
        reader = chain.reviewer(voter)
        for n, rid in enumerate(ids):
            text = PRODUCT_REVIEWS[n % len(PRODUCT_REVIEWS)][1]
            reader.vote(rid, len(text.split()) > 5)
            votes += 1
    if ids:
        chain.merchant_desk(store_key).reply(ids[2 % len(ids)], "Thank you: the low-salt version arrives in January.")

    campaign = chain.coupon_issuer(admin).create_campaign(
        web.channel, 500, valid_for=30 * 86_400, terms="10 off any gift bag, one per visit"
    )
    vouchers = chain.coupon_issuer(web_key).sign(campaign, range(60), amount=10 * MILLI, gtin=int(gift_bag))
    coupon_dir = out_dir / "coupons"
    write_vouchers(vouchers, coupon_dir / "signed.jsonl", None)  # the web shop's record of what it signed
    write_vouchers(vouchers[:5], coupon_dir / "vouchers.jsonl", coupon_dir / "qr")
    till = chain.shop(store_key)
    till.redeem_many(vouchers[5:17])
    figures = chain.coupons.figures(campaign, signed=vouchers)
    assert figures.signed is not None
    return LoopDemo(
        reviews, votes, campaign, figures.capacity, figures.signed, figures.redeemed, store.channel, gift_bag, coupon_dir, vouchers[17]
    )


def _brand_admin(chain: O2OChain, brand: int) -> LocalAccount:
    role = chain.identity.brand_admin_role(brand)
    for account in chain.accounts:
        if chain.identity.has_role(role, account.address):
            return account
    raise ConfigError(f"none of this chain's accounts is the admin of brand {brand}, who must authorise the demo's retailer")
