"""Fixtures of the O2O-loop contract tests (ReviewBoard, CouponBook) and of the access matrix: the
session chain of ``conftest.py`` with a PriceGuarantee (v2) of its own, two retailers and three
channels with their keys, a Forwarder, a ReviewBoard over the session's ProductRegistry, that
guarantee and that forwarder, and a CouponBook; helpers that record purchases, claim items, post
reviews, relay signed requests and sign vouchers, as the library does.

The PriceGuarantee helpers this world needs (recording purchases, the 11-field Purchase and its
PurchaseId, policies, prices, quotes and receipts under EIP-712 domain version "2", key rotation
with a grace) are those of ``conftest_price.py``: :class:`LoopGuarantee` is its :class:`PriceEnv`
with only what this world does differently.

Imported by ``test_review_board.py``, ``test_coupon_book.py`` and the security tests, which
declare the pytest fixtures; the world is built once per session (:func:`loop_session`), whichever
module asks first. In this world brand 1 (the session's demo brand) has authorised retailer
NATIVE to sell its products in the ReviewBoard; retailer TOKEN is authorised by no brand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
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
    DAY,
    GAS,
    MAX_KEY_GRACE,
    NATIVE,
    NATIVE_UNIT,
    ONLINE,
    PAYOUT_DELAY,
    PG_ARTIFACT,
    PURCHASE_TYPES,
    QUOTE_FIELDS,
    STABLECOIN_ARTIFACT,
    STORE,
    TOKEN,
    TOKEN_SHOP,
    WITHDRAWAL_DELAY,
    ZERO_ADDRESS,
    PriceEnv,
    admin_role,
    as_tuple,
    deploy,
    open_shops,
    purchase_digest,
    purchase_id,
    purchase_of,
    receipt_hash,
    terms,
)

# What the loop's tests import from here, as they are in conftest_price.py.
__all__ = [
    "CHANNEL_ONLINE_SHOP",
    "CHANNEL_STORE",
    "DAY",
    "GAS",
    "MAX_KEY_GRACE",
    "NATIVE",
    "NATIVE_UNIT",
    "ONLINE",
    "PAYOUT_DELAY",
    "QUOTE_FIELDS",
    "STORE",
    "TOKEN",
    "WITHDRAWAL_DELAY",
    "ZERO_ADDRESS",
    "admin_role",
    "as_tuple",
    "deploy",
    "purchase_digest",
    "purchase_id",
    "purchase_of",
    "receipt_hash",
    "terms",
]

# --------------------------------------------------------------------------------------------
# The guarantee of this world
# --------------------------------------------------------------------------------------------

FORWARDER_ARTIFACT = json.loads((ABI_DIR / "Forwarder.json").read_text())
REVIEW_ARTIFACT = json.loads((ABI_DIR / "ReviewBoard.json").read_text())
COUPON_ARTIFACT = json.loads((ABI_DIR / "CouponBook.json").read_text())

COUPON_DOMAIN_NAME = "o2ochain CouponBook"
FORWARDER_DOMAIN_NAME = "o2ochain Forwarder"
ZERO32 = b"\x00" * 32
# EIP-7825: the most gas one transaction may use.
TX_GAS_CAP = 16_777_216

OTHER_SHOP = TOKEN_SHOP  # the channel of retailer TOKEN
BRAND = 1  # the session's demo brand (GTIN, GTIN_2), which authorises NATIVE

# The Purchase struct as an ABI tuple type.
PURCHASE_T = "(" + ",".join(PURCHASE_TYPES) + ")"
CHANNEL_KEY_FIELDS = ("retailer", "channel", "activeFrom", "revokedAt", "grace")


def typed_data(domain: dict[str, Any], primary: str, fields: list[dict[str, str]], message: dict[str, Any]) -> dict[str, Any]:
    return {"types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, primary: fields}, "primaryType": primary, "domain": domain, "message": message}


def sign_typed(key: bytes, typed: dict[str, Any]) -> bytes:
    return bytes(Account.sign_message(encode_typed_data(full_message=typed), key).signature)


class LoopGuarantee(PriceEnv):
    """This world's PriceGuarantee (v2) and TestStablecoin: a :class:`PriceEnv` of its own.

    Retailer NATIVE (admin ``native_admin``) prices in the native coin and has channels ONLINE
    (key ``online``) and STORE (key ``store``); retailer TOKEN (admin ``token_admin``) prices in
    tUSD and has channel OTHER_SHOP (key ``token_key``). The retailers' admins are accounts of
    their own (no brand role anywhere). No policy is set and no pool is funded: a test sets what
    it needs. ``buyer`` and ``buyer2`` are consumers, ``keeper`` triggers claims, ``outsider``
    is nobody.

    It differs from :class:`PriceEnv` in that the keeper funds the accounts made here, signers
    may be accounts of the session too, its till numbers its receipts apart, a rotation returns
    its receipt, and a sale may be recorded at a raw price (:meth:`record_raw`).
    """

    def new_key(self, label: str, fund: bool = True) -> str:
        """A new account with a deterministic private key, known to the tester (and funded by the keeper)."""
        address = super().new_key(label, fund=False)
        if fund:
            self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_transaction({"from": self.keeper, "to": address, "value": 10**20}))
        return address

    def key_of(self, signer: str | bytes) -> bytes:
        """The private key of `signer`: an account made here, an account of the session, or a key."""
        if isinstance(signer, bytes):
            return signer
        address = to_checksum_address(signer)
        return self.keys.get(address) or self.env.actors.keys[address]

    def sign(self, signer: str | bytes, primary: str, message: dict[str, Any], **domain: Any) -> bytes:
        return super().sign(self.key_of(signer), primary, message, **domain)

    def rotate(self, channel: int, new_key: str, grace: int = 0) -> Any:
        """Rotate the key of `channel` to `new_key` with `grace` seconds for the old key's receipts
        and vouchers; the receipt."""
        retailer = self.f.channel(channel).call()[0]
        return self.send(self.f.rotateChannelKey(channel, new_key, grace), self.admin_of(retailer))

    def channel_key(self, key: str) -> dict[str, Any]:
        return dict(zip(CHANNEL_KEY_FIELDS, self.f.channelKey(key).call(), strict=True))

    def next_receipt(self) -> bytes:
        self._receipts += 1
        return receipt_hash(f"loop till 7 / receipt {self._receipts:06d}")

    def record_raw(self, key: str, price: int, buyer: str, gtin: int = GTIN) -> tuple[Any, ...]:
        """Record a sale of one `gtin` to `buyer` through `key` at `price` base units (a sham sale
        at 1 wei, say); the 11-field Purchase tuple from PurchaseRecorded."""
        rec = self.send(self.f.recordPurchase((buyer, gtin, 1, price, self.next_receipt())), key)
        return purchase_of(self.events(rec, "PurchaseRecorded")[0])

    def unclaimed(self, purchase: tuple[Any, ...]) -> int:
        recorded, unclaimed = self.state(purchase)
        assert recorded
        return unclaimed


# --------------------------------------------------------------------------------------------
# ReviewBoard, Forwarder and CouponBook
# --------------------------------------------------------------------------------------------

# Types.sol constants.
SUBJECT_PRODUCT, SUBJECT_MERCHANT = 1, 2
REPORT_SPAM, REPORT_OFFENSIVE, REPORT_OFF_TOPIC, REPORT_FAKE, REPORT_OTHER = 1, 2, 3, 4, 5
VOUCHER_AMOUNT_OFF, VOUCHER_PERCENT_OFF = 1, 2
MAX_VOUCHERS = 180_000
VOUCHERS_PER_WORD = 255

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
    "gtin",
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
# OpenZeppelin's ERC2771Forwarder: the EIP-712 type a relayed request is signed as.
FORWARD_REQUEST_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "gas", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint48"},
    {"name": "data", "type": "bytes"},
]
# The gas a relayed review or vote is given (the request's `gas`).
RELAYED_GAS = 300_000


def content_hash(text: str) -> bytes:
    """keccak256 of a content document (a review's text and photos, a reply, a profile)."""
    return keccak(text.encode())


def review_id(ticket: bytes, subject: int) -> bytes:
    return keccak(abi_encode(["bytes32", "uint8"], [ticket, subject]))


def is_folded(helpful: int, not_helpful: int, reports: int) -> bool:
    return reports >= 3 or not_helpful >= helpful + 3


def no_purchase() -> tuple[Any, ...]:
    """An all-zero Purchase: the purchase part of an item ticket."""
    return (0, 0, ZERO_ADDRESS, 0, 0, 0, 0, ZERO32, 0, 0, 0)


def item_ticket(item: bytes) -> tuple[Any, ...]:
    """A Ticket (for votes and reports) showing a claimed item."""
    return (item, no_purchase())


def purchase_ticket(purchase: tuple[Any, ...]) -> tuple[Any, ...]:
    """A Ticket (for votes and reports) showing a recorded purchase."""
    return (ZERO32, purchase)


def voucher_tuple(message: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(message[n] for n in VOUCHER_NAMES)


@dataclass
class LoopEnv:
    """The O2O loop on the session chain.

    ``p`` is this world's :class:`LoopGuarantee` (retailers NATIVE and TOKEN, channels ONLINE,
    STORE and OTHER_SHOP). ``forwarder`` is the ERC-2771 Forwarder, ``board`` the ReviewBoard over
    the session's ProductRegistry, that guarantee and that forwarder (brand 1 has authorised
    NATIVE; nobody has authorised TOKEN), ``book`` the CouponBook. ``voters`` are session
    accounts other than the two buyers, each given a ticket of its own by :meth:`ticket_for`.
    """

    p: LoopGuarantee
    forwarder: Contract
    board: Contract
    book: Contract
    _tickets: dict[tuple[str, int, int], tuple[Any, ...]] = field(default_factory=dict)

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
    def forwarder_abi(self) -> list[dict[str, Any]]:
        return FORWARDER_ARTIFACT["abi"]

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
    def brand_admin(self) -> str:
        return self.env.actors.brand_admin

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

    # -- sellers, tickets and reviews -----------------------------------------------------------

    def authorise(self, retailer: int, authorised: bool = True, brand: int = BRAND, sender: str | None = None) -> Any:
        """Brand `brand` (its admin) authorises `retailer` to sell its products, or withdraws it."""
        admin = sender or (self.env.actors.brand_admin if brand == BRAND else self.env.actors.other_admin)
        return self.send(self.board.functions.setSellerAuthorised(brand, retailer, authorised), admin)

    def purchase(self, key: str | None = None, buyer: str | None = None, gtin: int = GTIN, retailer: int = NATIVE) -> tuple[Any, ...]:
        """Record a sale of `gtin` to `buyer` through `key` (default: the retailer's shop); the Purchase tuple."""
        return self.p.record(key, 188, buyer=buyer, gtin=gtin, retailer=retailer)

    def claimed_item(self, owner: str | None = None, serial: str = "SN-0001", gtin: int = GTIN) -> bytes:
        """Register an item of `gtin` (brand 1) and claim it for `owner` (default: the buyer); its ItemId."""
        env = self.env
        env.send(env.registry.functions.registerItems([(gtin, code("L1"), 261231, [code(serial)])]), env.actors.registrant)
        item = item_id(gtin, serial)
        env.send(env.registry.functions.claim(item, owner or self.buyer), env.actors.seller)
        return item

    def ticket_for(self, account: str, gtin: int = GTIN, retailer: int = NATIVE) -> tuple[Any, ...]:
        """A purchase ticket of `account`: a sale of `gtin` (default: the gift bag) to it by
        `retailer` (default: NATIVE, which brand 1 authorised), recorded on first use. It serves
        on reviews of that product (when its brand authorised the retailer) and on reviews of the
        retailer's shops."""
        key = (account, gtin, retailer)
        ticket = self._tickets.get(key)
        # Recorded again when a test's snapshot was reverted since.
        if ticket is None or self.p.f.purchaseDigest(purchase_id(ticket[1])).call() == 0:
            ticket = self._tickets[key] = purchase_ticket(self.purchase(buyer=account, gtin=gtin, retailer=retailer))
        return ticket

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
        receipt = self.send(fn, sender or purchase[2])
        return review_id(purchase_id(purchase), subject), receipt

    def posted(self, subject: int = SUBJECT_PRODUCT, buyer: str | None = None) -> tuple[bytes, tuple[Any, ...]]:
        """A purchase of the buyer (in the store) and its review of `subject`: (review id, purchase)."""
        purchase = self.purchase(buyer=buyer)
        review, _ = self.review_purchase(purchase, subject)
        return review, purchase

    def vote(self, review: bytes, helpful: bool, voter: str, ticket: tuple[Any, ...] | None = None) -> Any:
        """`voter` votes on `review` with `ticket` (default: its own purchase of the gift bag from NATIVE)."""
        return self.send(self.board.functions.vote(review, helpful, ticket or self.ticket_for(voter)), voter)

    def report(self, review: bytes, reason: int, reporter: str, ticket: tuple[Any, ...] | None = None) -> Any:
        """`reporter` reports `review` with `ticket` (default: its own purchase of the gift bag from NATIVE)."""
        return self.send(self.board.functions.report(review, reason, ticket or self.ticket_for(reporter)), reporter)

    def review(self, review: bytes) -> dict[str, Any]:
        return dict(zip(REVIEW_VIEW_FIELDS, self.board.functions.review(review).call(), strict=True))

    # -- relayed calls (ERC-2771) ----------------------------------------------------------------

    def forward_request(
        self, signer: str | bytes, sender: str, fn: Any, deadline: int | None = None, gas: int = RELAYED_GAS, nonce: int | None = None
    ) -> tuple[Any, ...]:
        """A ForwardRequestData for call `fn` (of the board, or any contract) on behalf of
        `sender`, signed by `signer` (the sender itself for a genuine request)."""
        to = fn.address
        data = bytes.fromhex(fn._encode_transaction_data()[2:])
        deadline = self.now() + DAY if deadline is None else deadline
        nonce = self.forwarder.functions.nonces(sender).call() if nonce is None else nonce
        message = {"from": sender, "to": to, "value": 0, "gas": gas, "nonce": nonce, "deadline": deadline, "data": data}
        domain = {
            "name": FORWARDER_DOMAIN_NAME,
            "version": "1",
            "chainId": self.w3.eth.chain_id,
            "verifyingContract": self.forwarder.address,
        }
        signature = sign_typed(self.p.key_of(signer), typed_data(domain, "ForwardRequest", FORWARD_REQUEST_FIELDS, message))
        return (sender, to, 0, gas, deadline, data, signature)

    def relay(self, request: tuple[Any, ...], relayer: str | None = None) -> Any:
        """Send `request` through the forwarder from `relayer` (default: the keeper); the receipt."""
        return self.send(self.forwarder.functions.execute(request), relayer or self.p.keeper, gas=1_000_000)

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
        """Create a campaign of the online shop (valid from now for 30 days); (number, receipt).
        Sent with the per-transaction cap as its gas limit."""
        now = self.now()
        valid_from = now if valid_from is None else valid_from
        valid_until = now + 30 * 86_400 if valid_until is None else valid_until
        admin = sender or (self.p.native_admin if merchant in (ONLINE, STORE) else self.p.token_admin)
        fn = self.book.functions.createCampaign(merchant, issued, valid_from, valid_until, content_hash(terms), uri)
        receipt = self.send(fn, admin, gas=TX_GAS_CAP)
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
        return typed_data(self.domain(**domain), "Voucher", VOUCHER_FIELDS, message)

    def sign(self, signer: str | bytes, message: dict[str, Any], **domain: Any) -> bytes:
        """EIP-712 signature of a Voucher by `signer` (a channel key of this world, or a private key)."""
        return sign_typed(self.p.key_of(signer), self.typed(message, **domain))

    def signed(self, campaign: int, index: int = 0, signer: str | bytes | None = None, **overrides: Any) -> tuple[tuple[Any, ...], bytes]:
        """A voucher of `campaign` signed by `signer` (default: the online shop's key): (tuple, signature)."""
        message = self.voucher(campaign, index, **overrides)
        return voucher_tuple(message), self.sign(signer or self.p.online, message)

    def redeem(self, voucher: tuple[Any, ...], signature: bytes, shop: str | None = None, receipt_hash: bytes = ZERO32) -> Any:
        return self.send(self.book.functions.redeem(voucher, signature, receipt_hash), shop or self.p.store)


def build_loop_session(env: Env) -> LoopEnv:
    """Deploy the loop's PriceGuarantee world, Forwarder, ReviewBoard and CouponBook (see
    :class:`LoopEnv`), in the order of ``o2ochain.deployments.deploy``."""
    accounts = env.w3.eth.accounts
    actors = env.actors
    p = LoopGuarantee(
        env=env,
        pg=deploy(env, PG_ARTIFACT, actors.outsider),
        token=deploy(env, STABLECOIN_ARTIFACT, actors.outsider),
        native_admin=ZERO_ADDRESS,
        token_admin=ZERO_ADDRESS,
        online=ZERO_ADDRESS,
        store=ZERO_ADDRESS,
        token_key=ZERO_ADDRESS,
        buyer=actors.consumer,
        buyer2=accounts[9],
        keeper=accounts[8],
        outsider=actors.outsider,
    )
    p.native_admin = p.new_key("loop: Acme Mart admin")
    p.token_admin = p.new_key("loop: Other Mart admin")
    p.online = p.new_key("loop: online shop")
    p.store = p.new_key("loop: store")
    p.token_key = p.new_key("loop: other retailer's shop")
    open_shops(p)
    forwarder = deploy(env, FORWARDER_ARTIFACT, actors.outsider)
    board = deploy(env, REVIEW_ARTIFACT, actors.outsider, env.registry.address, p.pg.address, forwarder.address)
    book = deploy(env, COUPON_ARTIFACT, actors.outsider, p.pg.address)
    loop = LoopEnv(p=p, forwarder=forwarder, board=board, book=book)
    loop.authorise(NATIVE)
    return loop


_SESSIONS: dict[int, LoopEnv] = {}


def loop_session(env: Env) -> LoopEnv:
    """The session's :class:`LoopEnv`, built on first use (outside any test's snapshot)."""
    if id(env) not in _SESSIONS:
        _SESSIONS[id(env)] = build_loop_session(env)
    return _SESSIONS[id(env)]
