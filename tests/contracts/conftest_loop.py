"""Fixtures of the O2O-loop contract tests (ReviewBoard, CouponBook): the session chain of
``conftest.py`` with a PriceGuarantee of its own, two retailers and three channels with their keys
(as in ``conftest_price.py``, under other key labels so both worlds live on one chain), a
ReviewBoard over the session's ProductRegistry and that guarantee, and a CouponBook; helpers that
record purchases, claim items, post reviews and sign vouchers, as the library does.

Imported by ``test_review_board.py`` and ``test_coupon_book.py``, which declare the pytest
fixtures; the world is built once per session (:func:`loop_session`), whichever module asks first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from web3.logs import DISCARD

from .conftest import ABI_DIR, EIP712_DOMAIN_FIELDS, GTIN, Env, code, item_id
from .conftest_price import (
    CHANNEL_ONLINE_SHOP,
    CHANNEL_STORE,
    GAS,
    NATIVE,
    NATIVE_UNIT,
    PG_ARTIFACT,
    STABLECOIN_ARTIFACT,
    TOKEN,
    ZERO_ADDRESS,
    PriceEnv,
    deploy,
    purchase_id,
)

REVIEW_ARTIFACT = json.loads((ABI_DIR / "ReviewBoard.json").read_text())
COUPON_ARTIFACT = json.loads((ABI_DIR / "CouponBook.json").read_text())
COUPON_DOMAIN_NAME = "o2ochain CouponBook"

# Types.sol constants.
SUBJECT_PRODUCT, SUBJECT_MERCHANT = 1, 2
REPORT_SPAM, REPORT_OFFENSIVE, REPORT_OFF_TOPIC, REPORT_FAKE, REPORT_OTHER = 1, 2, 3, 4, 5
VOUCHER_AMOUNT_OFF, VOUCHER_PERCENT_OFF = 1, 2
MAX_VOUCHERS = 1_000_000
VOUCHERS_PER_WORD = 255

# The session's channels of this world (retailer ids NATIVE and TOKEN as in conftest_price).
ONLINE, STORE, OTHER_SHOP = 1, 2, 3  # ONLINE and STORE of NATIVE, OTHER_SHOP of TOKEN

# A content uri of 60 characters, as a review would carry.
URI_60 = "ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenx"
assert len(URI_60) == 60

REVIEW_VIEW_FIELDS = (
    "posted",
    "author",
    "rating",
    "version",
    "subject",
    "merchant",
    "postedAt",
    "helpful",
    "notHelpful",
    "reports",
    "folded",
)
PROFILE_FIELDS = ("retailer", "profileHash", "gln", "latitudeE6", "longitudeE6", "updatedAt")
CAMPAIGN_VIEW_FIELDS = ("merchant", "retailer", "issued", "redeemed", "validFrom", "validUntil", "termsHash")
VOUCHER_FIELDS = [
    {"name": "campaign", "type": "uint32"},
    {"name": "index", "type": "uint32"},
    {"name": "kind", "type": "uint8"},
    {"name": "value", "type": "uint96"},
    {"name": "gtin", "type": "uint64"},
    {"name": "validFrom", "type": "uint40"},
    {"name": "validUntil", "type": "uint40"},
]
VOUCHER_NAMES = tuple(f["name"] for f in VOUCHER_FIELDS)


def content_hash(text: str) -> bytes:
    """keccak256 of a content document (a review's text and photos, a reply, a profile)."""
    return keccak(text.encode())


def review_id(ticket: bytes, subject: int) -> bytes:
    return keccak(abi_encode(["bytes32", "uint8"], [ticket, subject]))


def is_folded(helpful: int, not_helpful: int, reports: int) -> bool:
    return reports >= 3 or not_helpful >= helpful + 3


@dataclass
class LoopEnv:
    """The O2O loop on the session chain.

    ``p`` is a :class:`PriceEnv` over this world's own PriceGuarantee: retailer NATIVE (admin
    ``p.native_admin``) with channels ONLINE (key ``p.online``) and STORE (key ``p.store``),
    retailer TOKEN (admin ``p.token_admin``) with channel OTHER_SHOP (key ``p.token_key``).
    ``board`` is the ReviewBoard over the session's ProductRegistry and that guarantee, ``book``
    the CouponBook. ``voters`` are accounts other than the buyer, for votes and reports.
    """

    p: PriceEnv
    board: Contract
    book: Contract

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def env(self) -> Env:
        return self.p.env

    @property
    def w3(self) -> Any:
        return self.p.w3

    @property
    def review_abi(self) -> list[dict[str, Any]]:
        return REVIEW_ARTIFACT["abi"]

    @property
    def coupon_abi(self) -> list[dict[str, Any]]:
        return COUPON_ARTIFACT["abi"]

    @property
    def buyer(self) -> str:
        return self.p.buyer

    @property
    def buyer2(self) -> str:
        return self.p.buyer2

    @property
    def outsider(self) -> str:
        return self.p.outsider

    @property
    def voters(self) -> list[str]:
        accounts = self.w3.eth.accounts[:10]
        return [a for a in accounts if a not in (self.p.buyer, self.p.buyer2)]

    def send(self, fn: Any, sender: str, gas: int = GAS) -> Any:
        return self.p.send(fn, sender, gas=gas)

    def tx(self, fn: Any, sender: str) -> Callable[[], Any]:
        return self.p.tx(fn, sender)

    def events(self, receipt: Any, name: str, contract: Contract) -> list[Any]:
        event = getattr(contract.events, name)()
        return [e["args"] for e in event.process_receipt(receipt, errors=DISCARD)]

    def now(self) -> int:
        return self.p.now()

    def block_time(self, receipt: Any) -> int:
        return self.p.block_time(receipt)

    # -- tickets and reviews --------------------------------------------------------------------

    def purchase(self, key: str | None = None, buyer: str | None = None, gtin: int = GTIN, retailer: int = NATIVE) -> tuple[Any, ...]:
        """Record a sale of `gtin` to `buyer` through `key` (default: the store); the Purchase tuple."""
        return self.p.record(
            key or (self.p.store if retailer == NATIVE else self.p.token_key), 188, buyer=buyer, gtin=gtin, retailer=retailer
        )

    def claimed_item(self, owner: str | None = None, serial: str = "SN-0001", gtin: int = GTIN) -> bytes:
        """Register an item of `gtin` and claim it for `owner` (default: the buyer); its ItemId."""
        env = self.env
        env.send(env.registry.functions.registerItems([(gtin, code("L1"), 261231, [code(serial)])]), env.actors.registrant)
        item = item_id(gtin, serial)
        env.send(env.registry.functions.claim(item, owner or self.buyer), env.actors.seller)
        return item

    def review_purchase(
        self,
        purchase: tuple[Any, ...],
        subject: int = SUBJECT_PRODUCT,
        rating: int = 4,
        text: str = "Tasty, well packed.",
        uri: str = URI_60,
        sender: str | None = None,
    ) -> tuple[bytes, Any]:
        """Post a review of `purchase` from its buyer; (review id, receipt)."""
        fn = self.board.functions.reviewPurchase(purchase, subject, rating, content_hash(text), uri)
        receipt = self.send(fn, sender or purchase[3])
        return review_id(purchase_id(purchase[0], purchase[8]), subject), receipt

    def posted(self, subject: int = SUBJECT_PRODUCT, buyer: str | None = None) -> tuple[bytes, tuple[Any, ...]]:
        """A purchase of the buyer (in the store) and its review of `subject`: (review id, purchase)."""
        purchase = self.purchase(buyer=buyer)
        review, _ = self.review_purchase(purchase, subject)
        return review, purchase

    def review(self, review: bytes) -> dict[str, Any]:
        return dict(zip(REVIEW_VIEW_FIELDS, self.board.functions.review(review).call(), strict=True))

    # -- campaigns and vouchers -----------------------------------------------------------------

    def create_campaign(
        self,
        issued: int = 1_000,
        merchant: int = ONLINE,
        valid_from: int | None = None,
        valid_until: int | None = None,
        terms: str = "10 off a gift bag, one per customer",
        uri: str = "ipfs://campaign/spring",
        sender: str | None = None,
    ) -> tuple[int, Any]:
        """Create a campaign of the online shop (valid from now for 30 days); (number, receipt)."""
        now = self.now()
        valid_from = now if valid_from is None else valid_from
        valid_until = now + 30 * 86_400 if valid_until is None else valid_until
        admin = sender or (self.p.native_admin if merchant in (ONLINE, STORE) else self.p.token_admin)
        fn = self.book.functions.createCampaign(merchant, issued, valid_from, valid_until, content_hash(terms), uri)
        receipt = self.send(fn, admin, gas=25_000_000)
        return int(self.events(receipt, "CampaignCreated", self.book)[0]["campaign"]), receipt

    def campaign(self, campaign: int) -> dict[str, Any]:
        return dict(zip(CAMPAIGN_VIEW_FIELDS, self.book.functions.campaign(campaign).call(), strict=True))

    def voucher(self, campaign: int, index: int = 0, **overrides: Any) -> dict[str, Any]:
        """A voucher of `campaign`: 10 units off the whole store, valid from now for a week."""
        now = self.now()
        base = {
            "campaign": campaign,
            "index": index,
            "kind": VOUCHER_AMOUNT_OFF,
            "value": 10 * NATIVE_UNIT,
            "gtin": 0,
            "validFrom": now,
            "validUntil": now + 7 * 86_400,
        }
        return base | overrides

    def domain(self, *, chain_id: int | None = None, contract: str | None = None) -> dict[str, Any]:
        return {
            "name": COUPON_DOMAIN_NAME,
            "version": "1",
            "chainId": self.w3.eth.chain_id if chain_id is None else chain_id,
            "verifyingContract": contract or self.book.address,
        }

    def typed(self, message: dict[str, Any], **domain: Any) -> dict[str, Any]:
        return {
            "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "Voucher": VOUCHER_FIELDS},
            "primaryType": "Voucher",
            "domain": self.domain(**domain),
            "message": message,
        }

    def sign(self, signer: str | bytes, message: dict[str, Any], **domain: Any) -> bytes:
        """EIP-712 signature of a Voucher by `signer` (a channel key of this world, or a private key)."""
        key = signer if isinstance(signer, bytes) else self.p.keys[to_checksum_address(signer)]
        return bytes(Account.sign_message(encode_typed_data(full_message=self.typed(message, **domain)), key).signature)

    def signed(self, campaign: int, index: int = 0, signer: str | bytes | None = None, **overrides: Any) -> tuple[tuple[Any, ...], bytes]:
        """A voucher of `campaign` signed by `signer` (default: the online shop's key): (tuple, signature)."""
        message = self.voucher(campaign, index, **overrides)
        return voucher_tuple(message), self.sign(signer or self.p.online, message)

    def redeem(self, voucher: tuple[Any, ...], signature: bytes, shop: str | None = None, receipt_hash: bytes = b"\x00" * 32) -> Any:
        return self.send(self.book.functions.redeem(voucher, signature, receipt_hash), shop or self.p.store)


def voucher_tuple(message: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(message[n] for n in VOUCHER_NAMES)


def build_loop_session(env: Env) -> LoopEnv:
    """Deploy the loop's PriceGuarantee world, ReviewBoard and CouponBook (see :class:`LoopEnv`)."""
    accounts = env.w3.eth.accounts
    actors = env.actors
    p = PriceEnv(
        env=env,
        pg=deploy(env, PG_ARTIFACT, actors.outsider),
        token=deploy(env, STABLECOIN_ARTIFACT, actors.outsider),
        native_admin=actors.brand_admin,
        token_admin=actors.other_admin,
        online=ZERO_ADDRESS,
        store=ZERO_ADDRESS,
        token_key=ZERO_ADDRESS,
        buyer=actors.consumer,
        buyer2=accounts[9],
        keeper=accounts[8],
        outsider=actors.outsider,
    )
    p.online = p.new_key("loop: online shop")
    p.store = p.new_key("loop: store")
    p.token_key = p.new_key("loop: other retailer's shop")
    f = p.pg.functions
    p.send(f.registerRetailer(p.native_admin, ZERO_ADDRESS, "ipfs://retailer/acme-mart"), p.native_admin)
    p.send(f.registerRetailer(p.token_admin, p.token.address, "ipfs://retailer/other-mart"), p.token_admin)
    p.send(f.addChannel(NATIVE, CHANNEL_ONLINE_SHOP, p.online, "Acme Mart online"), p.native_admin)
    p.send(f.addChannel(NATIVE, CHANNEL_STORE, p.store, "Acme Mart Nanjing Road"), p.native_admin)
    p.send(f.addChannel(TOKEN, CHANNEL_ONLINE_SHOP, p.token_key, "Other Mart online"), p.token_admin)
    board = deploy(env, REVIEW_ARTIFACT, actors.outsider, env.registry.address, p.pg.address)
    book = deploy(env, COUPON_ARTIFACT, actors.outsider, p.pg.address)
    return LoopEnv(p=p, board=board, book=book)


_SESSIONS: dict[int, LoopEnv] = {}


def loop_session(env: Env) -> LoopEnv:
    """The session's :class:`LoopEnv`, built on first use (outside any test's snapshot)."""
    if id(env) not in _SESSIONS:
        _SESSIONS[id(env)] = build_loop_session(env)
    return _SESSIONS[id(env)]
