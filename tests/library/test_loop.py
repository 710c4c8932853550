"""The O2O loop through the library on an in-process chain: merchant pages, verified-buyer reviews
(from sellers the brand recognises) ranked by usefulness, coupons issued online and redeemed once
in the shop."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from eth_account import Account

import o2ochain
from o2ochain import gs1
from o2ochain.errors import ConfigError, InputError, by_name
from o2ochain.guarantee import ChannelKey, Policy, Purchase, RetailerAdmin
from o2ochain.identity import read_catalogue
from o2ochain.loop import MAX_VOUCHERS, Review, ReviewBoardReader, Ticket, Voucher, usefulness, wilson
from o2ochain.loop import _reviews as reviews
from tests.conftest import GTIN_A, GTIN_B, World, build_world, sample_rows, write_csv

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
    return _open_loop(world, tmp_path / "content")


def _open_loop(world: World, content: Path) -> Loop:
    """The retailer (admin: the brand's seller) with a store (dev 7) and a web shop (dev 8),
    authorised by the brand, and the buyer's purchase of GTIN_A in the store."""
    chain = world.chain
    chain.use_content(content)
    a = chain.accounts
    admin = chain.register_retailer(world.seller)
    admin.add_channel("store", a[7].address, "Zhongshan Road store")
    admin.add_channel("online-shop", a[8].address, "web shop")
    admin.set_policy(Policy(window=30 * DAY, tolerance_amount=50 * UNIT, max_payout=500 * UNIT))
    chain.brand(world.brand_admin, world.brand).authorise_seller(admin.retailer)
    store = chain.channel(a[7])
    purchase = store.record_sale(world.buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0042")
    return Loop(world, admin, store, chain.channel(a[8]), purchase)


def _competitor(loop: Loop) -> tuple[RetailerAdmin, ChannelKey]:
    """A competitor of the brand: registers as a retailer (anyone may), with a till key of its own."""
    chain = loop.world.chain
    rival = chain.register_retailer(loop.world.outsider)
    rival.add_channel("store", chain.accounts[9].address, "a shop that never stocked it")
    return rival, chain.channel(chain.accounts[9])


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


def test_votes_are_one_per_address_and_rank_the_useful_first(loop: Loop, tmp_path: Path) -> None:
    world = loop.world
    chain = world.chain
    a = chain.accounts
    # A second buyer with a thin review.
    other = Account.from_key(a[6].key)
    p2 = loop.store.record_sale(other.address, GTIN_A, 1, 188 * UNIT, "ZS-0043")
    thin = chain.reviewer(other).review_purchase(p2, 1, "bad")
    rich = chain.reviewer(world.buyer).review_purchase(loop.purchase, 4, " ".join(["Tasty seaweed, good crunch, honest portion."] * 12))
    # Readers who bought the product: one claimed a bag at first sale, two bought in the store.
    csv_path = write_csv(tmp_path / "items.csv", sample_rows(1, gtin14=GTIN_A, lot="V1", prefix="V"))
    chain.registrant(world.registrant).register_items(read_catalogue(csv_path))
    chain.seller(world.seller).claim(gs1.item_id(GTIN_A, "V000000"), a[0].address)
    bought = {voter.address: loop.store.record_sale(voter.address, GTIN_A, 1, 188 * UNIT, f"ZS-01{n}") for n, voter in enumerate(a[1:3])}
    assert chain.reviewer(a[0]).ticket_for(rich) == Ticket(item=gs1.item_id(GTIN_A, "V000000"))
    assert chain.reviewer(a[1]).ticket_for(thin) == Ticket(purchase=bought[a[1].address])
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


def test_vote_and_report_refuse_an_account_that_bought_nothing(loop: Loop) -> None:
    chain = loop.world.chain
    rid = chain.reviewer(loop.world.buyer).review_purchase(loop.purchase, 5, "Crisp and fresh.")
    stranger = chain.reviewer(Account.create())  # refused before anything is signed: it needs no gas
    assert stranger.ticket_for(rid) is None
    product = f"product {GTIN_A} of Dalian Coast Snacks (brand {loop.world.brand})"
    with pytest.raises(ConfigError) as vote:
        stranger.vote(rid, False)
    assert str(vote.value) == (
        f"you can vote on this review only as a buyer of {product}: an item of it claimed at first sale, or a purchase of it "
        f"from a retailer the brand authorised; {stranger.address} has neither"
    )
    with pytest.raises(ConfigError, match=re.escape(f"you can report this review only as a buyer of {product}: ")):
        stranger.report(rid, "fake")
    merchant = chain.reviewer(loop.world.buyer).review_purchase(loop.purchase, 4, "Friendly staff.", subject="merchant")
    with pytest.raises(ConfigError) as customer:
        stranger.vote(merchant, True)
    assert str(customer.value) == (
        f"you can vote on this review only as a customer of retailer {loop.admin.retailer}, whose shop 'Zhongshan Road store' "
        f"it reviews: {stranger.address} has no purchase from that retailer"
    )
    with pytest.raises(by_name("ReviewUnknown")) as unknown:
        chain.reviewer(loop.world.outsider).vote(b"\x07" * 32, True)
    assert unknown.value.review == b"\x07" * 32


def test_vote_with_someone_elses_purchase_is_refused(loop: Loop) -> None:
    chain = loop.world.chain
    rid = chain.reviewer(loop.world.buyer).review_purchase(loop.purchase, 5, "Crisp and fresh.")
    other = loop.store.record_sale(chain.accounts[6].address, GTIN_A, 1, 188 * UNIT, "ZS-0050")
    outsider = loop.world.outsider.address
    with pytest.raises(by_name("ReviewNotBuyer")) as info:
        chain.reviewer(loop.world.outsider).vote(rid, False, ticket=Ticket(purchase=other))
    assert (info.value.account, info.value.buyer) == (outsider, other.buyer)
    with pytest.raises(by_name("ReviewItemNotClaimed")) as unclaimed:
        chain.reviewer(loop.world.outsider).report(rid, "spam", ticket=Ticket(item=b"\x05" * 32))
    assert unclaimed.value.item == b"\x05" * 32


def test_a_ticket_must_be_for_what_the_review_is_about(loop: Loop, tmp_path: Path) -> None:
    world = loop.world
    chain = world.chain
    a = chain.accounts
    product = chain.reviewer(world.buyer).review_purchase(loop.purchase, 5, "Crisp and fresh.")
    merchant = chain.reviewer(world.buyer).review_purchase(loop.purchase, 4, "Friendly staff.", subject="merchant")
    # dev 0 claimed a jar of the brand's other product and bought another in the store.
    csv_path = write_csv(tmp_path / "items.csv", sample_rows(1, gtin14=GTIN_B, lot="W1", prefix="W"))
    chain.registrant(world.registrant).register_items(read_catalogue(csv_path))
    item = gs1.item_id(GTIN_B, "W000000")
    chain.seller(world.seller).claim(item, a[0].address)
    other = loop.store.record_sale(a[0].address, GTIN_B, 1, 188 * UNIT, "ZS-0200")
    reader = chain.reviewer(a[0])
    # Neither is a ticket for the gift bag's review: refused before anything is sent ...
    assert reader.ticket_for(product) is None
    block = chain.w3.eth.block_number
    with pytest.raises(ConfigError, match=f"you can vote on this review only as a buyer of product {GTIN_A} "):
        reader.vote(product, False)
    assert chain.w3.eth.block_number == block
    # ... and, shown anyway, by the board.
    for ticket in (Ticket(item=item), Ticket(purchase=other)):
        with pytest.raises(by_name("ReviewTicketUnrelated")) as info:
            reader.vote(product, False, ticket=ticket)
        assert info.value.review == product
    # Any purchase from the store's retailer makes dev 0 its customer: its purchase of the other
    # product serves on the merchant review; a claimed item does not (it names no shop).
    assert reader.ticket_for(merchant) == Ticket(purchase=other)
    with pytest.raises(by_name("ReviewTicketUnrelated")) as unrelated:
        reader.report(merchant, "spam", ticket=Ticket(item=item))
    assert unrelated.value.review == merchant
    reader.vote(merchant, True)
    # Once it buys the gift bag in the web shop (same retailer, authorised by the brand), it votes on its review.
    bought = loop.web.record_sale(a[0].address, GTIN_A, 1, 133 * UNIT, "WEB-0001")
    assert reader.ticket_for(product) == Ticket(purchase=bought)
    reader.vote(product, False)
    # A customer of a competitor is no customer of this retailer.
    _, till = _competitor(loop)
    till.record_sale(a[2].address, GTIN_A, 1, 1, "RIVAL-1")
    with pytest.raises(ConfigError, match=f"customer of retailer {loop.admin.retailer}, whose shop 'Zhongshan Road store' it reviews"):
        chain.reviewer(a[2]).vote(merchant, False)
    (shown,) = chain.reviews.reviews(gtin=GTIN_A)
    (shop,) = chain.reviews.reviews(merchant=loop.store.channel)
    assert (shown.helpful, shown.not_helpful, shop.helpful, shop.not_helpful) == (0, 1, 1, 0)


def test_a_reviews_time_is_its_logs_block_and_each_block_is_read_once(loop: Loop, monkeypatch: pytest.MonkeyPatch) -> None:
    chain = loop.world.chain
    first = chain.reviewer(loop.world.buyer).review_purchase(loop.purchase, 4, "Crisp.")
    second = chain.reviewer(loop.world.buyer).review_purchase(
        loop.store.record_sale(loop.world.buyer.address, GTIN_A, 1, 188 * UNIT, "ZS-0300"), 5, "Fresh."
    )
    board = chain.reviews.contract
    logs = board.events.ReviewPosted().get_logs(from_block=0)
    blocks = {bytes(log["args"]["review"]): int(log["blockNumber"]) for log in logs}
    times = {rid: int(chain.w3.eth.get_block(number)["timestamp"]) for rid, number in blocks.items()}
    assert times[first] < times[second]
    reads: list[object] = []
    get_block = chain.w3.eth.get_block
    monkeypatch.setattr(chain.w3.eth, "get_block", lambda block, *args: reads.append(block) or get_block(block, *args))
    reader = ReviewBoardReader(chain.w3, chain.deployment, chain.reviews.content)
    rows = reader.reviews(gtin=GTIN_A)
    assert {r.id: (r.posted_at, r.block) for r in rows} == {rid: (times[rid], blocks[rid]) for rid in (first, second)}
    assert [r.to_json()["postedAt"] for r in rows] == [times[r.id] for r in rows]
    assert sorted(b for b in reads if b != "latest") == sorted(blocks[rid] for rid in (first, second))
    reads.clear()
    reader.reviews(gtin=GTIN_A)  # the blocks are known now: only the latest is read, for the ranking's "now"
    assert reads == ["latest"]


@pytest.mark.e2e
def test_a_review_list_reads_its_counters_and_blocks_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a node that takes JSON-RPC batches (Anvil, over HTTP), listing N reviews costs a few
    batches, not N calls per counter, view and block."""
    monkeypatch.setattr(reviews, "BATCH_SIZE", 10)
    with o2ochain.connect("anvil") as chain:
        world = build_world(chain, tmp_path / "deployments")
        loop = _open_loop(world, tmp_path / "content")
        writer = chain.reviewer(world.buyer)
        purchases = [loop.purchase] + [
            loop.store.record_sale(world.buyer.address, GTIN_A, 1, 188 * UNIT, f"ZS-1{n:03d}") for n in range(23)
        ]
        posted = [writer.review_purchase(p, 1 + n % 5, f"Review number {n}.") for n, p in enumerate(purchases)]
        provider = chain.w3.provider
        single: list[str] = []
        batches: list[list[str]] = []
        make_request, make_batch_request = provider.make_request, provider.make_batch_request
        monkeypatch.setattr(provider, "make_request", lambda method, params: single.append(method) or make_request(method, params))
        monkeypatch.setattr(
            provider, "make_batch_request", lambda requests: batches.append([m for m, _ in requests]) or make_batch_request(requests)
        )
        # web3 builds its request functions (the middleware around make_request) once and keeps them:
        # forget them so the counting ones above are what every request goes through from here.
        monkeypatch.setattr(provider, "_request_func_cache", (None, None))
        monkeypatch.setattr(provider, "_batch_request_func_cache", (None, None))
        reader = ReviewBoardReader(chain.w3, chain.deployment, chain.reviews.content)
        rows = reader.reviews(gtin=GTIN_A)
        asked_singly = list(single)  # before this test's own checks below ask the node
        assert sorted(r.id for r in rows) == sorted(posted)
        assert all(r.posted_at == int(chain.w3.eth.get_block(r.block)["timestamp"]) for r in rows)
        assert all(r.text is not None and r.version == 1 for r in rows)
        # 24 reviews: counts, views and blocks, each in 3 batches of at most 10; no call one by one.
        assert [len(b) for b in batches] == [10, 10, 4] * 3
        assert [set(b) for b in batches] == [{"eth_call"}] * 6 + [{"eth_getBlockByNumber"}] * 3
        assert "eth_call" not in asked_singly and asked_singly.count("eth_getBlockByNumber") <= 1  # the latest, for "now"
        batches.clear()
        reader.reviews(gtin=GTIN_A)
        assert [set(b) for b in batches] == [{"eth_call"}] * 6  # the blocks are known


def test_authorise_seller_is_the_brand_admins_and_is_logged(loop: Loop) -> None:
    world = loop.world
    chain = world.chain
    rival, _ = _competitor(loop)
    board = chain.reviews
    assert board.is_seller_authorised(world.brand, loop.admin.retailer)
    assert not board.is_seller_authorised(world.brand, rival.retailer)
    tx = chain.brand(world.brand_admin, world.brand).authorise_seller(rival.retailer)
    (log,) = board.contract.events.SellerAuthorised().process_receipt(chain.w3.eth.get_transaction_receipt(tx))
    assert dict(log["args"]) == {"brand": world.brand, "retailer": rival.retailer, "authorised": True, "by": world.brand_admin.address}
    chain.brand(world.brand_admin, world.brand).authorise_seller(rival.retailer, authorised=False)
    assert not board.is_seller_authorised(world.brand, rival.retailer)
    with pytest.raises(by_name("AccessControlUnauthorizedAccount")) as info:
        chain.brand(world.other_admin, world.brand).authorise_seller(rival.retailer)
    assert (info.value.account, info.value.neededRole) == (world.other_admin.address, chain.identity.brand_admin_role(world.brand))
    with pytest.raises(InputError, match="there is no retailer 9 in the price guarantee"):
        chain.brand(world.brand_admin, world.brand).authorise_seller(9)


def test_competitor_with_sock_puppets_cannot_post_or_bury_a_products_reviews(loop: Loop) -> None:
    """A competitor registers as a retailer, "sells" the brand's GTIN at 1 wei to addresses of its
    own, and tries to post 1-star reviews and fold an honest buyer's review with them."""
    world = loop.world
    chain = world.chain
    honest = chain.reviewer(world.buyer).review_purchase(loop.purchase, 5, "Crisp, fresh and well sealed.")
    rival, till = _competitor(loop)
    puppets = [chain.accounts[6], chain.accounts[2], chain.accounts[0]]
    fakes = [till.record_sale(p.address, GTIN_A, 1, 1, f"FAKE-{n}") for n, p in enumerate(puppets)]
    block = chain.w3.eth.block_number
    with pytest.raises(by_name("ReviewSellerNotAuthorised")) as info:
        chain.reviewer(puppets[0]).review_purchase(fakes[0], 1, "Stale and overpriced.")
    assert (info.value.retailer, info.value.brand, info.value.gtin) == (rival.retailer, world.brand, int(GTIN_A))
    assert f"Dalian Coast Snacks (brand {world.brand}) has not authorised retailer {rival.retailer}" in str(info.value)
    assert chain.w3.eth.block_number == block  # refused before sending: no reverted transaction
    # Past the library's check, the board itself refuses it.
    sender = chain.reviewer(puppets[0]).sender
    fn = chain.reviews.contract.functions.reviewPurchase(fakes[0].as_struct(), 1, 1, b"\x01" * 32, "u")
    with pytest.raises(by_name("ReviewSellerNotAuthorised")) as onchain:
        sender.transact(fn)
    assert (onchain.value.retailer, onchain.value.brand, onchain.value.gtin) == (rival.retailer, world.brand, int(GTIN_A))
    # Its purchases are no tickets: the puppets can neither vote nor report.
    for puppet in puppets:
        with pytest.raises(ConfigError, match=f"you can report this review only as a buyer of product {GTIN_A} "):
            chain.reviewer(puppet).report(honest, "fake")
    (row,) = chain.reviews.reviews(gtin=GTIN_A)
    assert (row.id, row.reports, row.folded) == (honest, 0, False)
    # A review of the competitor's own shop rests on its own sales, as merchant reviews do.
    chain.reviewer(puppets[0]).review_purchase(fakes[0], 5, "Great shop.", subject="merchant")
    assert [r.rating for r in chain.reviews.reviews(merchant=till.channel)] == [5]


def test_reviews_of_a_seller_the_brand_withdraws_are_hidden_and_counted(loop: Loop) -> None:
    world = loop.world
    chain = world.chain
    rid = chain.reviewer(world.buyer).review_purchase(loop.purchase, 4, "Good value.")
    chain.reviewer(world.buyer).review_purchase(loop.purchase, 5, "Friendly staff.", subject="merchant")
    shown = chain.reviews.reviews(gtin=GTIN_A)
    assert ([r.id for r in shown], shown.hidden, shown.note) == ([rid], 0, None)
    chain.brand(world.brand_admin, world.brand).authorise_seller(loop.admin.retailer, authorised=False)
    assert not chain.reviews.counts(rid, int(GTIN_A))
    hidden = chain.reviews.reviews(gtin=GTIN_A)
    assert (list(hidden), hidden.hidden) == ([], 1)
    assert hidden.note == f"1 review hidden: its seller is not authorised by Dalian Coast Snacks (brand {world.brand})"
    assert hidden.to_json() == {
        "reviews": [],
        "hidden": 1,
        "hiddenReason": f"their seller is not authorised by Dalian Coast Snacks (brand {world.brand})",
    }
    merchant = chain.reviews.reviews(merchant=loop.store.channel)  # a merchant review needs no authorisation
    assert (len(merchant), merchant.hidden) == (1, 0)
    chain.brand(world.brand_admin, world.brand).authorise_seller(loop.admin.retailer)
    assert [r.id for r in chain.reviews.reviews(gtin=GTIN_A)] == [rid]


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
    figures = chain.coupons.figures(campaign, signed=vouchers)  # the conversion counts the 10 signed, not the 600 it may issue
    assert (figures.capacity, figures.signed, figures.redeemed, figures.conversion) == (600, 10, 4, 0.4)
    assert chain.coupons.figures(campaign).conversion is None  # not known without the issuer's record
    forged = replace(vouchers[6], value=10**18)
    with pytest.raises(by_name("CouponSignatureInvalid")):
        shop.redeem(forged)
    with pytest.raises(by_name("CouponNotShop")):
        chain.shop(loop.world.outsider).redeem(vouchers[7])
    with pytest.raises(ConfigError, match="not the live key of merchant"):
        chain.coupon_issuer(a[7]).sign(campaign, [1], amount=UNIT)
    block = chain.w3.eth.block_number
    with pytest.raises(InputError, match="a campaign issues 1 to 180,000 vouchers"):
        chain.coupon_issuer(loop.world.seller).create_campaign(loop.web.channel, MAX_VOUCHERS + 1, valid_for=DAY)
    assert chain.w3.eth.block_number == block  # refused before sending
    with pytest.raises(InputError, match="damaged"):
        Voucher.from_payload("o2ochain:voucher:AAAA")
    chain.w3.provider.ethereum_tester.time_travel(chain.guarantee.now() + 8 * DAY)  # type: ignore[attr-defined]
    chain.w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]
    with pytest.raises(by_name("CouponExpired")):
        shop.redeem(vouchers[8])


def test_create_campaign_of_the_most_vouchers_fits_one_transaction(loop: Loop) -> None:
    chain = loop.world.chain
    campaign = chain.coupon_issuer(loop.world.seller).create_campaign(loop.web.channel, MAX_VOUCHERS, valid_for=DAY)
    receipt = chain.w3.eth.get_transaction_receipt(chain.w3.eth.get_block("latest")["transactions"][0])
    assert chain.coupons.figures(campaign).capacity == MAX_VOUCHERS == 180_000
    assert receipt["gasUsed"] <= 16_777_216
