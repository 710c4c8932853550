"""ReviewBoard: every function, custom error (with its arguments) and event (with its fields);
outsiders refused; only buyers review, once per purchase and subject, or the first owner of a
claimed item; edits as versions; one vote per address and none on one's own review; reports;
folding after reports or not-helpful votes, with nothing deleted; replies only by the merchant;
merchant profiles; the gas target; and PriceGuarantee's purchaseDigest as a review sees it."""

from __future__ import annotations

from collections.abc import Iterator
from functools import reduce
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak

from .conftest import GTIN, GTIN_2, Env, expect_revert, item_id
from .conftest_loop import (
    ONLINE,
    OTHER_SHOP,
    PROFILE_FIELDS,
    REPORT_FAKE,
    REPORT_OFF_TOPIC,
    REPORT_OFFENSIVE,
    REPORT_OTHER,
    REPORT_SPAM,
    REVIEW_ARTIFACT,
    STORE,
    SUBJECT_MERCHANT,
    SUBJECT_PRODUCT,
    URI_60,
    LoopEnv,
    content_hash,
    is_folded,
    loop_session,
    review_id,
)
from .conftest_price import NATIVE, TOKEN, ZERO_ADDRESS, admin_role, purchase_id, purchase_of

ZERO32 = b"\x00" * 32
PURCHASE_T = "(uint32,uint32,uint32,address,uint64,uint32,uint96,uint40,bytes32)"
PURCHASE_TYPES = ["uint32", "uint32", "uint32", "address", "uint64", "uint32", "uint96", "uint40", "bytes32"]
INTERFACE_FUNCTIONS = [
    "setMerchantProfile(uint32,bytes32,string,uint64,int32,int32)",
    f"reviewPurchase({PURCHASE_T},uint8,uint8,bytes32,string)",
    "reviewItem(bytes32,uint8,bytes32,string)",
    "editReview(bytes32,uint8,bytes32,string)",
    "reply(bytes32,bytes32,string)",
    "vote(bytes32,bool)",
    "report(bytes32,uint8)",
    "review(bytes32)",
    "merchantProfile(uint32)",
    "reviewIdOf(bytes32,uint8)",
    "hasVoted(bytes32,address)",
    "registry()",
    "guarantee()",
    "version()",
]
GLN = 9506000000005  # the store's GS1 Global Location Number
LATITUDE, LONGITUDE = 31_234_567, 121_473_456  # Nanjing Road, Shanghai, in millionths of a degree


@pytest.fixture(scope="session")
def _loop_session(_session_env: Env) -> LoopEnv:
    return loop_session(_session_env)


@pytest.fixture
def loop(_loop_session: LoopEnv, env: Env) -> Iterator[LoopEnv]:
    """The loop environment, reverted after the test (through ``env``'s snapshot)."""
    yield _loop_session


def expect(loop: LoopEnv, fn: Any, sender: str, error: str, **args: Any) -> dict[str, Any]:
    return expect_revert(loop.review_abi, loop.tx(fn, sender), error, **args)


def posted_event(loop: LoopEnv, receipt: Any) -> dict[str, Any]:
    (event,) = loop.events(receipt, "ReviewPosted", loop.board)
    return dict(event)


def digest_of(purchase: tuple[Any, ...]) -> int:
    return int.from_bytes(keccak(abi_encode(PURCHASE_TYPES, list(purchase)))[12:])


# --------------------------------------------------------------------------------------------
# Deployment, ERC-165, formulas
# --------------------------------------------------------------------------------------------


def test_version_interfaces_and_wiring(loop: LoopEnv) -> None:
    f = loop.board.functions
    assert f.version().call() == "1"
    interface_id = reduce(lambda a, b: a ^ b, (int.from_bytes(function_signature_to_4byte_selector(s)) for s in INTERFACE_FUNCTIONS))
    assert f.supportsInterface(interface_id.to_bytes(4)).call()
    assert f.supportsInterface(bytes.fromhex("01ffc9a7")).call()  # IERC165
    assert not f.supportsInterface(bytes.fromhex("ffffffff")).call()
    assert set(INTERFACE_FUNCTIONS) <= set(REVIEW_ARTIFACT["methodIdentifiers"])
    assert f.registry().call() == loop.env.registry.address
    assert f.guarantee().call() == loop.p.pg.address


def test_review_id_formula(loop: LoopEnv) -> None:
    ticket = keccak(b"a ticket")
    for subject in (SUBJECT_PRODUCT, SUBJECT_MERCHANT, 0, 255):
        assert loop.board.functions.reviewIdOf(ticket, subject).call() == review_id(ticket, subject)
    assert review_id(ticket, SUBJECT_PRODUCT) != review_id(ticket, SUBJECT_MERCHANT)


def test_views_of_unknown_ids(loop: LoopEnv) -> None:
    unknown = keccak(b"no such review")
    assert loop.review(unknown) == {
        "posted": False,
        "author": ZERO_ADDRESS,
        "rating": 0,
        "version": 0,
        "subject": 0,
        "merchant": 0,
        "postedAt": 0,
        "helpful": 0,
        "notHelpful": 0,
        "reports": 0,
        "folded": False,
    }
    assert not loop.board.functions.hasVoted(unknown, loop.buyer).call()
    assert loop.board.functions.merchantProfile(STORE).call() == (0, ZERO32, 0, 0, 0, 0)


# --------------------------------------------------------------------------------------------
# PriceGuarantee.purchaseDigest, which a review checks a Purchase against
# --------------------------------------------------------------------------------------------


def test_purchase_digest_binds_every_field_of_the_recorded_purchase(loop: LoopEnv) -> None:
    pg = loop.p.pg.functions
    purchase = loop.purchase()
    pid = purchase_id(purchase[0], purchase[8])
    assert pg.purchaseDigest(pid).call() == digest_of(purchase) != 0
    assert pg.purchaseDigest(purchase_id(NATIVE, keccak(b"never sold"))).call() == 0
    altered = list(purchase)
    altered[6] += 1  # unit price
    assert digest_of(tuple(altered)) != digest_of(purchase)


# --------------------------------------------------------------------------------------------
# Merchant profiles
# --------------------------------------------------------------------------------------------


def test_set_merchant_profile_stores_and_emits(loop: LoopEnv) -> None:
    f = loop.board.functions
    profile = content_hash("Acme Mart Nanjing Road: 9:00-22:00")
    receipt = loop.send(f.setMerchantProfile(STORE, profile, "ipfs://merchant/nanjing-road", GLN, LATITUDE, LONGITUDE), loop.p.native_admin)
    (event,) = loop.events(receipt, "MerchantProfileSet", loop.board)
    assert dict(event) == {
        "merchant": STORE,
        "retailer": NATIVE,
        "profileHash": profile,
        "uri": "ipfs://merchant/nanjing-road",
        "gln": GLN,
        "latitudeE6": LATITUDE,
        "longitudeE6": LONGITUDE,
    }
    stored = dict(zip(PROFILE_FIELDS, f.merchantProfile(STORE).call(), strict=True))
    assert stored == {
        "retailer": NATIVE,
        "profileHash": profile,
        "gln": GLN,
        "latitudeE6": LATITUDE,
        "longitudeE6": LONGITUDE,
        "updatedAt": loop.block_time(receipt),
    }
    # An update replaces it; negative coordinates (south, west) round-trip.
    second = content_hash("moved")
    receipt = loop.send(f.setMerchantProfile(STORE, second, "ipfs://merchant/moved", 0, -33_868_820, -151_209_296), loop.p.native_admin)
    assert f.merchantProfile(STORE).call() == (NATIVE, second, 0, -33_868_820, -151_209_296, loop.block_time(receipt))
    assert f.merchantProfile(ONLINE).call()[5] == 0  # other channels untouched


def test_set_merchant_profile_refuses_all_but_the_retailer_admins(loop: LoopEnv) -> None:
    fn = loop.board.functions.setMerchantProfile(STORE, content_hash("p"), "ipfs://p", GLN, LATITUDE, LONGITUDE)
    role = admin_role(NATIVE)
    # Outsiders, the other retailer's admin, the channel's own key, a buyer.
    for stranger in (loop.outsider, loop.p.token_admin, loop.p.store, loop.buyer):
        expect(loop, fn, stranger, "AccessControlUnauthorizedAccount", account=stranger, neededRole=role)
    # A second admin granted in the guarantee may.
    loop.send(loop.p.pg.functions.grantRole(role, loop.outsider), loop.p.native_admin)
    loop.send(fn, loop.outsider)
    # The other retailer's admin for its own channel.
    loop.send(loop.board.functions.setMerchantProfile(OTHER_SHOP, content_hash("o"), "ipfs://o", 0, 0, 0), loop.p.token_admin)
    assert loop.board.functions.merchantProfile(OTHER_SHOP).call()[0] == TOKEN


def test_set_merchant_profile_reverts_for_an_unknown_merchant(loop: LoopEnv) -> None:
    for merchant in (0, 4, 2**32 - 1):
        fn = loop.board.functions.setMerchantProfile(merchant, content_hash("p"), "ipfs://p", GLN, 0, 0)
        expect(loop, fn, loop.p.native_admin, "ReviewMerchantUnknown", merchant=merchant)


# --------------------------------------------------------------------------------------------
# Reviews of purchases
# --------------------------------------------------------------------------------------------


def test_review_purchase_stores_the_review_and_emits(loop: LoopEnv) -> None:
    purchase = loop.purchase()
    pid = purchase_id(purchase[0], purchase[8])
    fn = loop.board.functions.reviewPurchase(purchase, SUBJECT_PRODUCT, 4, content_hash("Tasty"), URI_60)
    assert fn.call({"from": loop.buyer}) == review_id(pid, SUBJECT_PRODUCT)
    receipt = loop.send(fn, loop.buyer)
    review = review_id(pid, SUBJECT_PRODUCT)
    assert posted_event(loop, receipt) == {
        "review": review,
        "gtin": GTIN,
        "merchant": STORE,
        "author": loop.buyer,
        "subject": SUBJECT_PRODUCT,
        "rating": 4,
        "contentHash": content_hash("Tasty"),
        "uri": URI_60,
        "ticket": pid,
    }
    assert loop.review(review) == {
        "posted": True,
        "author": loop.buyer,
        "rating": 4,
        "version": 1,
        "subject": SUBJECT_PRODUCT,
        "merchant": STORE,
        "postedAt": loop.block_time(receipt),
        "helpful": 0,
        "notHelpful": 0,
        "reports": 0,
        "folded": False,
    }


def test_review_purchase_of_the_merchant_carries_the_product_too(loop: LoopEnv) -> None:
    purchase = loop.purchase(key=loop.p.online, gtin=GTIN_2)
    pid = purchase_id(purchase[0], purchase[8])
    review, receipt = loop.review_purchase(purchase, SUBJECT_MERCHANT, rating=2, text="Slow delivery", uri="")
    assert posted_event(loop, receipt) == {
        "review": review_id(pid, SUBJECT_MERCHANT),
        "gtin": GTIN_2,
        "merchant": ONLINE,
        "author": loop.buyer,
        "subject": SUBJECT_MERCHANT,
        "rating": 2,
        "contentHash": content_hash("Slow delivery"),
        "uri": "",
        "ticket": pid,
    }
    view = loop.review(review)
    assert (view["subject"], view["merchant"], view["rating"]) == (SUBJECT_MERCHANT, ONLINE, 2)


def test_review_purchase_long_uri_is_logged_whole(loop: LoopEnv) -> None:
    for uri in ("x", "y" * 31, "z" * 32, "w" * 33, "https://reviews.example/" + "a" * 200):
        purchase = loop.purchase()
        _, receipt = loop.review_purchase(purchase, uri=uri)
        assert posted_event(loop, receipt)["uri"] == uri


def test_one_review_per_purchase_and_subject(loop: LoopEnv) -> None:
    purchase = loop.purchase()
    pid = purchase_id(purchase[0], purchase[8])
    product, _ = loop.review_purchase(purchase, SUBJECT_PRODUCT)
    merchant, _ = loop.review_purchase(purchase, SUBJECT_MERCHANT)
    assert product != merchant
    for subject, review in ((SUBJECT_PRODUCT, product), (SUBJECT_MERCHANT, merchant)):
        fn = loop.board.functions.reviewPurchase(purchase, subject, 1, content_hash("again"), URI_60)
        expect(loop, fn, loop.buyer, "ReviewAlreadyPosted", review=review)
        assert review == review_id(pid, subject)
    # Another purchase of the same product by the same buyer is another ticket.
    loop.review_purchase(loop.purchase())


def test_review_purchase_refuses_a_non_buyer(loop: LoopEnv) -> None:
    purchase = loop.purchase()
    fn = loop.board.functions.reviewPurchase(purchase, SUBJECT_PRODUCT, 5, content_hash("fake praise"), URI_60)
    for stranger in (loop.outsider, loop.buyer2, loop.p.store, loop.p.native_admin):
        expect(loop, fn, stranger, "ReviewNotBuyer", account=stranger, buyer=loop.buyer)


def test_review_purchase_refuses_unknown_or_altered_purchases(loop: LoopEnv) -> None:
    purchase = loop.purchase()
    pid = purchase_id(purchase[0], purchase[8])
    for field, value in ((1, ONLINE), (2, 1), (4, GTIN_2), (5, 2), (6, purchase[6] - 1), (7, purchase[7] + 1)):
        altered = list(purchase)
        altered[field] = value
        fn = loop.board.functions.reviewPurchase(tuple(altered), SUBJECT_PRODUCT, 5, content_hash("x"), URI_60)
        expect(loop, fn, loop.buyer, "ReviewPurchaseUnknown", purchase=pid)
    # Never recorded: a made-up receipt, or a purchase of the other retailer's numbering.
    never = list(purchase)
    never[8] = keccak(b"made up")
    fn = loop.board.functions.reviewPurchase(tuple(never), SUBJECT_PRODUCT, 5, content_hash("x"), URI_60)
    expect(loop, fn, loop.buyer, "ReviewPurchaseUnknown", purchase=purchase_id(NATIVE, never[8]))
    other = list(purchase)
    other[0] = TOKEN
    fn = loop.board.functions.reviewPurchase(tuple(other), SUBJECT_PRODUCT, 5, content_hash("x"), URI_60)
    expect(loop, fn, loop.buyer, "ReviewPurchaseUnknown", purchase=purchase_id(TOKEN, purchase[8]))


def test_review_purchase_registered_with_a_signed_receipt(loop: LoopEnv) -> None:
    # A purchase the buyer registered from the till's signed receipt is a ticket too.
    p = loop.p
    receipt_tuple, signature = p.signed_receipt(p.store, buyer=loop.buyer2, gtin=GTIN)
    rec = p.send(p.f.registerPurchase(receipt_tuple, signature), loop.buyer2)
    purchase = purchase_of(p.events(rec, "PurchaseRecorded")[0])
    review, receipt = loop.review_purchase(purchase, SUBJECT_MERCHANT)
    assert posted_event(loop, receipt)["author"] == loop.buyer2
    assert loop.review(review)["merchant"] == STORE


def test_review_purchase_refuses_bad_subject_rating_or_content(loop: LoopEnv) -> None:
    purchase = loop.purchase()
    f = loop.board.functions
    for subject in (0, 3, 255):
        expect(loop, f.reviewPurchase(purchase, subject, 4, content_hash("x"), URI_60), loop.buyer, "ReviewSubjectInvalid", subject=subject)
    for rating in (0, 6, 255):
        expect(
            loop,
            f.reviewPurchase(purchase, SUBJECT_PRODUCT, rating, content_hash("x"), URI_60),
            loop.buyer,
            "ReviewRatingInvalid",
            rating=rating,
        )
    expect(loop, f.reviewPurchase(purchase, SUBJECT_PRODUCT, 4, ZERO32, URI_60), loop.buyer, "ReviewContentMissing")
    # The order of the checks: subject, rating, content, buyer, purchase, then the ticket.
    expect(loop, f.reviewPurchase(purchase, 9, 0, ZERO32, URI_60), loop.outsider, "ReviewSubjectInvalid", subject=9)
    expect(loop, f.reviewPurchase(purchase, SUBJECT_PRODUCT, 0, ZERO32, URI_60), loop.outsider, "ReviewRatingInvalid", rating=0)
    expect(loop, f.reviewPurchase(purchase, SUBJECT_PRODUCT, 1, ZERO32, URI_60), loop.outsider, "ReviewContentMissing")
    for rating in (1, 5):
        loop.review_purchase(loop.purchase(), rating=rating)


# --------------------------------------------------------------------------------------------
# Reviews of claimed items
# --------------------------------------------------------------------------------------------


def test_item_claimer_reviews_the_item(loop: LoopEnv) -> None:
    item = loop.claimed_item(loop.buyer2)
    fn = loop.board.functions.reviewItem(item, 5, content_hash("Genuine!"), URI_60)
    assert fn.call({"from": loop.buyer2}) == review_id(item, SUBJECT_PRODUCT)
    receipt = loop.send(fn, loop.buyer2)
    review = review_id(item, SUBJECT_PRODUCT)
    assert posted_event(loop, receipt) == {
        "review": review,
        "gtin": GTIN,
        "merchant": 0,
        "author": loop.buyer2,
        "subject": SUBJECT_PRODUCT,
        "rating": 5,
        "contentHash": content_hash("Genuine!"),
        "uri": URI_60,
        "ticket": item,
    }
    view = loop.review(review)
    assert (view["posted"], view["author"], view["merchant"], view["version"], view["subject"]) == (
        True,
        loop.buyer2,
        0,
        1,
        SUBJECT_PRODUCT,
    )
    expect(loop, fn, loop.buyer2, "ReviewAlreadyPosted", review=review)


def test_review_item_refuses_others_and_unclaimed_items(loop: LoopEnv) -> None:
    f = loop.board.functions
    item = loop.claimed_item(loop.buyer)
    for stranger in (loop.outsider, loop.buyer2, loop.env.actors.seller):
        expect(loop, f.reviewItem(item, 5, content_hash("x"), URI_60), stranger, "ReviewNotBuyer", account=stranger, buyer=loop.buyer)
    # Registered but not claimed, and never registered.
    loop.env.register(GTIN, "L2", ["SN-0002"])
    unclaimed = item_id(GTIN, "SN-0002")
    expect(loop, f.reviewItem(unclaimed, 5, content_hash("x"), URI_60), loop.buyer, "ReviewItemNotClaimed", item=unclaimed)
    unknown = item_id(GTIN, "NOPE")
    expect(loop, f.reviewItem(unknown, 5, content_hash("x"), URI_60), loop.buyer, "ReviewItemNotClaimed", item=unknown)
    for rating in (0, 6):
        expect(loop, f.reviewItem(item, rating, content_hash("x"), URI_60), loop.buyer, "ReviewRatingInvalid", rating=rating)
    expect(loop, f.reviewItem(item, 3, ZERO32, URI_60), loop.buyer, "ReviewContentMissing")


def test_the_buyer_of_a_recalled_item_may_still_review_it(loop: LoopEnv) -> None:
    item = loop.claimed_item(loop.buyer)
    loop.env.send(loop.env.registry.functions.recallItem(item, 1, keccak(b"recall notice")), loop.env.actors.brand_admin)
    assert loop.env.registry.functions.verify(item).call()[6] == 2  # ItemStatus.Recalled
    loop.send(loop.board.functions.reviewItem(item, 1, content_hash("Recalled!"), URI_60), loop.buyer)


# --------------------------------------------------------------------------------------------
# Edits
# --------------------------------------------------------------------------------------------


def test_edit_review_makes_a_new_version_and_keeps_history(loop: LoopEnv) -> None:
    review, purchase = loop.posted()
    posted_at = loop.review(review)["postedAt"]
    f = loop.board.functions
    edits = [(2, "Stale after a week", "ipfs://v2"), (3, "Seller replaced it", "ipfs://v3")]
    for version, (rating, text, uri) in enumerate(edits, start=2):
        receipt = loop.send(f.editReview(review, rating, content_hash(text), uri), loop.buyer)
        (event,) = loop.events(receipt, "ReviewEdited", loop.board)
        assert dict(event) == {"review": review, "version": version, "rating": rating, "contentHash": content_hash(text), "uri": uri}
        view = loop.review(review)
        assert (view["version"], view["rating"], view["postedAt"], view["author"]) == (version, rating, posted_at, loop.buyer)
    # Every version stays in the logs.
    logs = loop.board.events.ReviewEdited().get_logs(from_block=0, argument_filters={"review": review})
    assert [(e["args"]["version"], e["args"]["uri"]) for e in logs] == [(2, "ipfs://v2"), (3, "ipfs://v3")]
    posted = loop.board.events.ReviewPosted().get_logs(from_block=0, argument_filters={"review": review})
    assert len(posted) == 1 and posted[0]["args"]["uri"] == URI_60
    assert purchase[3] == loop.buyer


def test_edit_review_refuses_all_but_the_author(loop: LoopEnv) -> None:
    review, _ = loop.posted()
    fn = loop.board.functions.editReview(review, 1, content_hash("vandal"), URI_60)
    for stranger in (loop.outsider, loop.buyer2, loop.p.store, loop.p.native_admin):
        expect(loop, fn, stranger, "ReviewNotAuthor", review=review, account=stranger)
    unknown = keccak(b"unknown")
    expect(loop, loop.board.functions.editReview(unknown, 1, content_hash("x"), URI_60), loop.buyer, "ReviewUnknown", review=unknown)
    expect(loop, loop.board.functions.editReview(review, 0, content_hash("x"), URI_60), loop.buyer, "ReviewRatingInvalid", rating=0)
    expect(loop, loop.board.functions.editReview(review, 6, content_hash("x"), URI_60), loop.buyer, "ReviewRatingInvalid", rating=6)
    expect(loop, loop.board.functions.editReview(review, 3, ZERO32, URI_60), loop.buyer, "ReviewContentMissing")


# --------------------------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------------------------


def test_reply_by_the_merchant_key_or_its_retailer_admins(loop: LoopEnv) -> None:
    review, _ = loop.posted(SUBJECT_MERCHANT)  # bought in the store
    f = loop.board.functions
    for by, text in ((loop.p.store, "Sorry, fixed"), (loop.p.native_admin, "Head office: refund sent"), (loop.p.store, "Again")):
        receipt = loop.send(f.reply(review, content_hash(text), URI_60), by)
        (event,) = loop.events(receipt, "ReviewReplied", loop.board)
        assert dict(event) == {"review": review, "merchant": STORE, "by": by, "contentHash": content_hash(text), "uri": URI_60}
    # A product review of a purchase has the purchase's channel as merchant: it may reply too.
    product, _ = loop.posted(SUBJECT_PRODUCT)
    loop.send(f.reply(product, content_hash("Thanks"), ""), loop.p.store)


def test_reply_refuses_all_but_the_merchant(loop: LoopEnv) -> None:
    review, _ = loop.posted(SUBJECT_MERCHANT)
    fn = loop.board.functions.reply(review, content_hash("not mine"), URI_60)
    # Another channel of the same retailer, the other retailer's key and admin, the buyer, anyone.
    for stranger in (loop.p.online, loop.p.token_key, loop.p.token_admin, loop.buyer, loop.outsider):
        expect(loop, fn, stranger, "ReviewNotMerchant", review=review, account=stranger)
    # A key rotated out of the channel no longer speaks for it; the new key does.
    new_key = loop.p.new_key("loop: store, second key")
    loop.send(loop.p.pg.functions.rotateChannelKey(STORE, new_key), loop.p.native_admin)
    expect(loop, fn, loop.p.store, "ReviewNotMerchant", review=review, account=loop.p.store)
    loop.send(fn, new_key)
    expect(loop, loop.board.functions.reply(review, ZERO32, URI_60), new_key, "ReviewContentMissing")


def test_reply_refuses_reviews_without_merchant_and_unknown_reviews(loop: LoopEnv) -> None:
    item = loop.claimed_item(loop.buyer)
    loop.send(loop.board.functions.reviewItem(item, 4, content_hash("ok"), URI_60), loop.buyer)
    review = review_id(item, SUBJECT_PRODUCT)
    for by in (loop.p.store, loop.p.native_admin):
        expect(loop, loop.board.functions.reply(review, content_hash("x"), URI_60), by, "ReviewNoMerchant", review=review)
    unknown = keccak(b"unknown")
    expect(loop, loop.board.functions.reply(unknown, content_hash("x"), URI_60), loop.p.store, "ReviewUnknown", review=unknown)


# --------------------------------------------------------------------------------------------
# Votes and reports
# --------------------------------------------------------------------------------------------


def test_vote_counts_once_per_address_and_emits(loop: LoopEnv) -> None:
    review, _ = loop.posted()
    f = loop.board.functions
    a, b, c = loop.voters[:3]
    for voter, helpful in ((a, True), (b, False), (c, True)):
        assert not f.hasVoted(review, voter).call()
        receipt = loop.send(f.vote(review, helpful), voter)
        (event,) = loop.events(receipt, "ReviewVoted", loop.board)
        assert dict(event) == {"review": review, "voter": voter, "helpful": helpful}
        assert f.hasVoted(review, voter).call()
    view = loop.review(review)
    assert (view["helpful"], view["notHelpful"], view["reports"]) == (2, 1, 0)
    for helpful in (True, False):  # a second vote, either way
        expect(loop, f.vote(review, helpful), a, "ReviewAlreadyVoted", review=review, account=a)


def test_vote_refuses_the_author_and_unknown_reviews(loop: LoopEnv) -> None:
    review, _ = loop.posted()
    f = loop.board.functions
    for helpful in (True, False):
        expect(loop, f.vote(review, helpful), loop.buyer, "ReviewSelfVote", review=review)
    unknown = keccak(b"unknown")
    expect(loop, f.vote(unknown, True), loop.outsider, "ReviewUnknown", review=unknown)


def test_report_counts_once_per_address_and_emits(loop: LoopEnv) -> None:
    review, _ = loop.posted()
    f = loop.board.functions
    reasons = (REPORT_SPAM, REPORT_OFFENSIVE, REPORT_OFF_TOPIC, REPORT_FAKE, REPORT_OTHER)
    for voter, reason in zip(loop.voters, reasons, strict=False):
        receipt = loop.send(f.report(review, reason), voter)
        (event,) = loop.events(receipt, "ReviewReported", loop.board)
        assert dict(event) == {"review": review, "reporter": voter, "reason": reason}
    assert loop.review(review)["reports"] == 5
    reporter = loop.voters[0]
    expect(loop, f.report(review, REPORT_SPAM), reporter, "ReviewAlreadyReported", review=review, account=reporter)
    for reason in (0, 6, 255):
        expect(loop, f.report(review, reason), loop.voters[6], "ReviewReasonInvalid", reason=reason)
    unknown = keccak(b"unknown")
    expect(loop, f.report(unknown, REPORT_SPAM), loop.outsider, "ReviewUnknown", review=unknown)
    # A vote and a report by the same address are independent.
    loop.send(f.vote(review, False), reporter)


def test_folding_after_reports(loop: LoopEnv) -> None:
    review, _ = loop.posted()
    f = loop.board.functions
    for n, reporter in enumerate(loop.voters[:3], start=1):
        loop.send(f.report(review, REPORT_FAKE), reporter)
        assert loop.review(review)["folded"] is (n >= 3)
    # Helpful votes do not unfold a reported review; nothing is deleted.
    for voter in loop.voters[3:7]:
        loop.send(f.vote(review, True), voter)
    view = loop.review(review)
    assert view["folded"] and view["posted"] and view["helpful"] == 4
    loop.send(f.editReview(review, 5, content_hash("still here"), URI_60), loop.buyer)
    loop.send(f.reply(review, content_hash("still answerable"), URI_60), loop.p.store)


def test_folding_after_not_helpful_votes_and_unfolding(loop: LoopEnv) -> None:
    review, _ = loop.posted()
    f = loop.board.functions
    voters = loop.voters
    helpful = not_helpful = 0
    # One helpful, then not-helpful votes: folded from notHelpful >= helpful + 3.
    sequence = [True, False, False, False, False, True, True]
    folded = []
    for voter, vote in zip(voters, sequence, strict=False):
        loop.send(f.vote(review, vote), voter)
        helpful += vote
        not_helpful += not vote
        view = loop.review(review)
        assert (view["helpful"], view["notHelpful"]) == (helpful, not_helpful)
        folded.append(view["folded"])
        assert view["folded"] is is_folded(helpful, not_helpful, 0)
    # helpful/notHelpful: 1/0, 1/1, 1/2, 1/3, 1/4 (folded: 4 >= 1 + 3), 2/4 (unfolded), 3/4
    assert folded == [False, False, False, False, True, False, False]
    # With no helpful vote, three not-helpful votes fold a review.
    other, _ = loop.posted()
    for n, voter in enumerate(voters[:3], start=1):
        loop.send(f.vote(other, False), voter)
        assert loop.review(other)["folded"] is (n == 3)


# --------------------------------------------------------------------------------------------
# Gas target (receipt gasUsed, 21,000 included)
# --------------------------------------------------------------------------------------------


def test_gas_review_purchase(loop: LoopEnv) -> None:
    purchase = loop.purchase()
    _, receipt = loop.review_purchase(purchase, SUBJECT_PRODUCT, uri=URI_60)
    assert receipt["gasUsed"] <= 60_000, receipt["gasUsed"]  # a product review, a 60-character uri
    _, receipt = loop.review_purchase(purchase, SUBJECT_MERCHANT, uri=URI_60)
    assert receipt["gasUsed"] <= 60_000, receipt["gasUsed"]
