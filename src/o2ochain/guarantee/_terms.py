"""The guarantee's terms as values: policies, sales, purchases, offers, signed quotes and
receipts, entitlements, and the rule that decides what a buyer is owed (:func:`evaluate`),
exactly as the contract applies it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import encode as abi_encode
from hexbytes import HexBytes
from web3 import Web3

from o2ochain import gs1, inputs
from o2ochain._chain.events import checksum_address
from o2ochain._chain.util import hex0x
from o2ochain._chain.words import name_codes
from o2ochain.errors import InputError

#: The currency "address" of the native coin (ETH on mainnet).
NATIVE = "0x0000000000000000000000000000000000000000"
#: Price types, by their number on chain (PRICE_* in Types.sol).
PRICE_TYPES: tuple[str, ...] = ("regular", "promotion", "clearance", "limited-quantity", "price-error")
name_codes("priceType", PRICE_TYPES)  # refusals say "promotion", not 1
#: Channel kinds, by their number on chain (CHANNEL_* in Types.sol).
CHANNEL_KINDS: dict[int, str] = {1: "online-shop", 2: "store", 3: "marketplace", 4: "app"}
#: A published price with no end of its own (it stands until the channel ends it).
UNTIL_ENDED = 2**40 - 1
#: The longest window a policy may set (MAX_WINDOW on chain).
MAX_WINDOW = 366 * 86_400
#: How long an announced withdrawal waits (WITHDRAWAL_DELAY on chain): a day.
WITHDRAWAL_DELAY = 86_400
#: Compensation for a purchase is paid from this long after it was recorded until this long after
#: its window closed (PAYOUT_DELAY on chain, equal to the withdrawal delay): a day.
PAYOUT_DELAY = WITHDRAWAL_DELAY
#: Notice a retailer gives of a policy change that reduces coverage (POLICY_NOTICE): 7 days.
POLICY_NOTICE = 7 * 86_400
#: The longest grace a key rotation may give what the old key signed (MAX_KEY_GRACE): 7 days.
MAX_KEY_GRACE = 7 * 86_400
DOMAIN_NAME = "o2ochain PriceGuarantee"
DOMAIN_VERSION = "2"
QUOTE_TYPES = {
    "Quote": [
        {"name": "retailer", "type": "uint32"},
        {"name": "channel", "type": "uint32"},
        {"name": "gtin", "type": "uint64"},
        {"name": "currency", "type": "address"},
        {"name": "price", "type": "uint96"},
        {"name": "priceType", "type": "uint8"},
        {"name": "validFrom", "type": "uint40"},
        {"name": "validUntil", "type": "uint40"},
        {"name": "nonce", "type": "uint64"},
    ]
}
RECEIPT_TYPES = {
    "Receipt": [
        {"name": "retailer", "type": "uint32"},
        {"name": "channel", "type": "uint32"},
        {"name": "buyer", "type": "address"},
        {"name": "gtin", "type": "uint64"},
        {"name": "quantity", "type": "uint32"},
        {"name": "unitPrice", "type": "uint96"},
        {"name": "purchasedAt", "type": "uint40"},
        {"name": "receiptHash", "type": "bytes32"},
    ]
}
_RECEIPT_ABI = [f["type"] for f in RECEIPT_TYPES["Receipt"]]
_U96 = 2**96


def _uint(data: dict[str, Any], key: str, bits: int, *, where: str | None, what: str) -> int:
    """``data[key]`` as an integer the contract's ``uint<bits>`` holds (InputError otherwise)."""
    raw = data[key]
    # JSON's true/false and 1.5 are no counts of base units; a whole number may come as text.
    if isinstance(raw, bool) or not isinstance(raw, int | str) or (isinstance(raw, str) and not raw.strip().isdecimal()):
        raise InputError(f"{what} has a {key} that is not a whole number", file=where, field=key, value=raw)
    value = int(raw)
    if not 0 <= value < 2**bits:
        raise InputError(f"{what} has a {key} out of range (0 to 2^{bits} - 1)", file=where, field=key, value=value)
    return value


def _hash32(data: dict[str, Any], key: str, *, where: str | None, what: str) -> bytes:
    value = bytes(HexBytes(data[key]))
    if len(value) != 32:
        raise InputError(f"{what} has a {key} that is not 32 bytes", file=where, field=key, value=data[key])
    return value


def format_time(ts: int) -> str:
    """A chain timestamp as people read it, in UTC (``2026-12-02 09:30 UTC``)."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def price_type_number(name: str | int) -> int:
    """The on-chain number of a price type given by name (``clearance``) or number."""
    if isinstance(name, int) and not isinstance(name, bool):  # JSON's false is no price type 0
        if 0 <= name < len(PRICE_TYPES):
            return name
    elif isinstance(name, str):  # anything else (a JSON null, a list) is no price type
        key = name.strip().lower().replace("_", "-").replace(" ", "-")
        if key in PRICE_TYPES:
            return PRICE_TYPES.index(key)
    raise InputError(f"unknown price type {name!r}: use one of {', '.join(PRICE_TYPES)}", field="price_type", value=name)


def channel_kind_number(name: str | int) -> int:
    """The on-chain number of a channel kind given by name (``online-shop``) or number."""
    if isinstance(name, int) and not isinstance(name, bool) and name in CHANNEL_KINDS:
        return name
    if isinstance(name, str):
        key = name.strip().lower().replace("_", "-").replace(" ", "-")
        for number, kind in CHANNEL_KINDS.items():
            if kind == key:
                return number
    raise InputError(f"unknown channel kind {name!r}: use one of {', '.join(CHANNEL_KINDS.values())}", field="kind", value=name)


def receipt_hash(receipt: str | bytes) -> bytes:
    """The on-chain handle of a till receipt or order number: keccak256 of its UTF-8 text.

    Use the receipt *number* (``"STORE-12/2026-12-01/0042"``), never anything about the buyer.
    32 bytes are taken as an already computed hash.
    """
    if isinstance(receipt, bytes):
        if len(receipt) != 32:
            raise InputError("a receipt hash is 32 bytes", field="receipt", value=receipt.hex())
        return receipt
    text = receipt.strip()
    if text.startswith("0x") and len(text) == 66:
        return bytes(HexBytes(text))
    if not text:
        raise InputError("a receipt number is needed (the till receipt or order number)", field="receipt")
    return gs1.keccak256(text.encode("utf-8"))


def gtin_number(value: str | int, *, file: str | None = None, line: int | None = None) -> int:
    """A GTIN (8 to 14 digits, check digit checked, or its number) as the number the contracts take."""
    text = f"{value:014d}" if isinstance(value, int) else value
    return gs1.gtin_to_int(gs1.normalize_gtin(text, file=file, line=line))


@dataclass(frozen=True)
class Policy:
    """A retailer's guarantee terms (one immutable record on chain per change).

    ``window`` seconds after a purchase during which a lower price counts; a difference counts
    when it exceeds ``max(tolerance_amount, unit price x tolerance_bps / 10,000)``; at most
    ``max_payout`` per purchase; offers of the ``excluded`` price types do not count.
    """

    window: int
    tolerance_bps: int = 0
    tolerance_amount: int = 0
    max_payout: int = 0
    excluded: tuple[str, ...] = ("clearance", "limited-quantity", "price-error")

    def __post_init__(self) -> None:
        if not 0 <= self.window <= MAX_WINDOW:
            raise InputError(f"the window must be 0..{MAX_WINDOW} seconds (366 days)", field="window", value=self.window)
        if not 0 <= self.tolerance_bps <= 10_000:
            raise InputError("the tolerance in basis points must be 0..10000 (0..100%)", field="tolerance_bps", value=self.tolerance_bps)
        if not 0 <= self.tolerance_amount < _U96:
            raise InputError("the tolerance amount must be 0 or more (base units)", field="tolerance_amount", value=self.tolerance_amount)
        if self.window and not 0 < self.max_payout < _U96:
            raise InputError("the maximum payout per purchase must be positive", field="max_payout", value=self.max_payout)
        for name in self.excluded:
            price_type_number(name)

    @property
    def excluded_mask(self) -> int:
        return sum(1 << price_type_number(name) for name in set(self.excluded))

    def as_struct(self) -> tuple[int, int, int, int, int]:
        return (self.window, self.tolerance_bps, self.tolerance_amount, self.max_payout, self.excluded_mask)

    def tolerance(self, unit_price: int) -> int:
        return max(self.tolerance_amount, unit_price * self.tolerance_bps // 10_000)

    @classmethod
    def from_struct(cls, terms: Any) -> Policy:
        mask = int(terms.excludedPriceTypes)
        return cls(
            window=int(terms.window),
            tolerance_bps=int(terms.toleranceBps),
            tolerance_amount=int(terms.toleranceAmount),
            max_payout=int(terms.maxPayout),
            excluded=tuple(name for i, name in enumerate(PRICE_TYPES) if mask >> i & 1),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "toleranceBps": self.tolerance_bps,
            "toleranceAmount": str(self.tolerance_amount),
            "maxPayout": str(self.max_payout),
            "excluded": list(self.excluded),
        }


@dataclass(frozen=True)
class Sale:
    """A sale as a channel records it: who bought how many of what, at what unit price."""

    buyer: str
    gtin: int
    quantity: int
    unit_price: int
    receipt: bytes

    def as_struct(self) -> tuple[str, int, int, int, bytes]:
        return (self.buyer, self.gtin, self.quantity, self.unit_price, self.receipt)


def purchase_id(
    retailer: int, channel: int, buyer: str, gtin: str | int, quantity: int, unit_price: int, purchased_at: int, receipt: str | bytes
) -> bytes:
    """The id of the purchase a :class:`Receipt` states: ``keccak256(abi.encode(receipt))``.

    The whole sale, buyer, price and time included: the same receipt hash with another buyer,
    price or time is another purchase (so a store key cannot take a buyer's receipt).
    """
    values = [
        retailer,
        channel,
        Web3.to_checksum_address(buyer),
        gtin if isinstance(gtin, int) else gtin_number(gtin),  # a number is taken as the chain holds it
        quantity,
        unit_price,
        purchased_at,
        receipt_hash(receipt),
    ]
    return gs1.keccak256(abi_encode(_RECEIPT_ABI, values))


@dataclass(frozen=True)
class Purchase:
    """A recorded purchase, with every field the contract binds (see ``PurchaseRecorded``).

    The first eight fields after ``id`` are its Receipt (whose keccak256 is ``id``); then the
    policy it got, the ``cover`` the pool reserved for it when it was recorded (the most it can
    ever be paid; 0: not covered) and when it was recorded (``recorded_at``): compensation is
    paid from ``recorded_at + PAYOUT_DELAY``.
    """

    id: bytes
    retailer: int
    channel: int
    buyer: str
    gtin: int
    quantity: int
    unit_price: int
    purchased_at: int
    receipt: bytes
    policy: int
    cover: int
    recorded_at: int
    block: int = 0
    tx_hash: str = ""

    def receipt_struct(self) -> tuple[Any, ...]:
        """Its Receipt: what :func:`purchase_id` hashes."""
        return (self.retailer, self.channel, self.buyer, self.gtin, self.quantity, self.unit_price, self.purchased_at, self.receipt)

    def as_struct(self) -> tuple[Any, ...]:
        """The Purchase struct a claim (or a release, a review) passes, in the contract's order."""
        return (*self.receipt_struct(), self.policy, self.cover, self.recorded_at)

    @property
    def claimable_at(self) -> int:
        """From when compensation is paid: a day (PAYOUT_DELAY) after it was recorded."""
        return self.recorded_at + PAYOUT_DELAY

    def closes_at(self, policy: Policy | None) -> int:
        """When its claims close (inclusive): PAYOUT_DELAY after its window under ``policy``."""
        return self.purchased_at + (policy.window if policy is not None else 0) + PAYOUT_DELAY

    @property
    def gtin14(self) -> str:
        return f"{self.gtin:014d}"

    def to_json(self) -> dict[str, Any]:
        return {
            "purchase": hex0x(self.id),
            "retailer": self.retailer,
            "channel": self.channel,
            "buyer": self.buyer,
            "gtin": self.gtin14,
            "quantity": self.quantity,
            "unitPrice": str(self.unit_price),
            "purchasedAt": self.purchased_at,
            "receiptHash": hex0x(self.receipt),
            "policy": self.policy,
            "cover": str(self.cover),
            "recordedAt": self.recorded_at,
            "claimableAt": self.claimable_at,
            "block": self.block,
            "txHash": self.tx_hash,
        }


@dataclass(frozen=True)
class Offer:
    """A price a channel offered: on chain (``signature is None``: published, or a quote lodged
    on chain, ``lodged``) or a signed quote held off chain."""

    retailer: int
    channel: int
    gtin: int
    currency: str
    price: int
    price_type: int
    valid_from: int
    valid_until: int
    nonce: int = 0
    ended_at: int = 0
    signature: bytes | None = None
    block: int = 0
    lodged: bool = False

    @property
    def published(self) -> bool:
        """Whether it is on chain (published, or a lodged quote): claimed with ``claimWithPrice``."""
        return self.signature is None

    @property
    def until(self) -> int:
        """When the offer stopped (exclusive): its own end, or when it was ended early."""
        return min(self.valid_until, self.ended_at) if self.ended_at else self.valid_until

    @property
    def type_name(self) -> str:
        return PRICE_TYPES[self.price_type] if self.price_type < len(PRICE_TYPES) else str(self.price_type)

    @property
    def evidence(self) -> str:
        """What kind of evidence it is, in words."""
        if self.signature is not None:
            return "signed quote"
        return "lodged quote" if self.lodged else "published price"

    def as_quote_struct(self) -> tuple[Any, ...]:
        return (
            self.retailer,
            self.channel,
            self.gtin,
            self.currency,
            self.price,
            self.price_type,
            self.valid_from,
            self.valid_until,
            self.nonce,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "o2ochain.guarantee.quote" if self.signature is not None else "o2ochain.guarantee.published-price",
            "retailer": self.retailer,
            "channel": self.channel,
            "gtin": f"{self.gtin:014d}",
            "currency": self.currency,
            "price": str(self.price),
            "priceType": self.type_name,
            "validFrom": self.valid_from,
            "validUntil": self.valid_until,
            "nonce": self.nonce,
        }
        if self.signature is not None:
            data["signature"] = hex0x(self.signature)
        else:
            data["endedAt"] = self.ended_at
            data["lodged"] = self.lodged
        return data

    @classmethod
    def quote_from_json(cls, data: dict[str, Any], *, where: str | None = None) -> Offer:
        """A signed quote read back from :meth:`to_json` (``where`` names the file for errors)."""
        what = "a signed quote"
        with _signed_document(data, "o2ochain.guarantee.quote", "a signed price quote", where):
            return cls(
                retailer=_uint(data, "retailer", 32, where=where, what=what),
                channel=_uint(data, "channel", 32, where=where, what=what),
                gtin=gtin_number(str(data["gtin"]), file=where),
                currency=inputs.address(data["currency"], inputs.Where(file=where, field="currency"), allow_zero=True),
                price=_uint(data, "price", 96, where=where, what=what),
                price_type=price_type_number(data["priceType"] if not str(data["priceType"]).isdigit() else int(data["priceType"])),
                valid_from=_uint(data, "validFrom", 40, where=where, what=what),
                valid_until=_uint(data, "validUntil", 40, where=where, what=what),
                nonce=_uint(data, "nonce", 64, where=where, what=what),
                signature=bytes(HexBytes(data["signature"])),
            )


@dataclass(frozen=True)
class SignedReceipt:
    """A receipt a channel key signed for the buyer, who registers it (``Buyer.register``)."""

    retailer: int
    channel: int
    buyer: str
    gtin: int
    quantity: int
    unit_price: int
    purchased_at: int
    receipt: bytes
    signature: bytes

    def as_struct(self) -> tuple[Any, ...]:
        return (self.retailer, self.channel, self.buyer, self.gtin, self.quantity, self.unit_price, self.purchased_at, self.receipt)

    @property
    def purchase_id(self) -> bytes:
        """The id of the purchase it registers as (the buyer's, whoever submits it)."""
        return gs1.keccak256(abi_encode(_RECEIPT_ABI, list(self.as_struct())))

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "o2ochain.guarantee.receipt",
            "retailer": self.retailer,
            "channel": self.channel,
            "buyer": self.buyer,
            "gtin": f"{self.gtin:014d}",
            "quantity": self.quantity,
            "unitPrice": str(self.unit_price),
            "purchasedAt": self.purchased_at,
            "receiptHash": hex0x(self.receipt),
            "signature": hex0x(self.signature),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, where: str | None = None) -> SignedReceipt:
        what = "a signed receipt"
        with _signed_document(data, "o2ochain.guarantee.receipt", what, where):
            return cls(
                retailer=_uint(data, "retailer", 32, where=where, what=what),
                channel=_uint(data, "channel", 32, where=where, what=what),
                buyer=inputs.address(data["buyer"], inputs.Where(file=where, field="buyer")),
                gtin=gtin_number(str(data["gtin"]), file=where),
                quantity=_uint(data, "quantity", 32, where=where, what=what),
                unit_price=_uint(data, "unitPrice", 96, where=where, what=what),
                purchased_at=_uint(data, "purchasedAt", 40, where=where, what=what),
                receipt=_hash32(data, "receiptHash", where=where, what=what),
                signature=bytes(HexBytes(data["signature"])),
            )


@dataclass(frozen=True)
class Entitlement:
    """What one offer means for one purchase under the purchase's policy (see :func:`evaluate`).

    ``due > 0``: a claim now pays ``due``. ``pending > 0``: the offer entitles the purchase to
    ``pending`` more, which a claim pays from ``claimable_at`` (the payout delay after it was
    recorded). Otherwise ``reason`` says why nothing is owed. ``total`` is the rule's figure for
    this offer, capped at the policy's maximum and at the purchase's cover.
    """

    purchase: Purchase
    offer: Offer
    difference: int
    tolerance: int
    total: int
    compensated: int
    due: int
    reason: str
    pending: int = 0
    claimable_at: int = 0
    closes_at: int = 0

    @property
    def owed(self) -> int:
        """What the offer is worth to the buyer on top of what was paid: now or once claimable."""
        return self.due or self.pending

    def to_json(self) -> dict[str, Any]:
        return {
            "purchase": hex0x(self.purchase.id),
            "buyer": self.purchase.buyer,
            "gtin": self.purchase.gtin14,
            "paid": str(self.purchase.unit_price),
            "quantity": self.purchase.quantity,
            "cover": str(self.purchase.cover),
            "offer": self.offer.to_json(),
            "difference": str(self.difference),
            "tolerance": str(self.tolerance),
            "total": str(self.total),
            "compensated": str(self.compensated),
            "due": str(self.due),
            "pending": str(self.pending),
            "claimableAt": self.claimable_at,
            "closesAt": self.closes_at,
            "reason": self.reason,
        }


def evaluate(purchase: Purchase, policy: Policy | None, offer: Offer, *, compensated: int, now: int, currency: str) -> Entitlement:
    """Apply the guarantee rule to one purchase and one offer, as the contract does on a claim.

    A purchase is owed something only when the pool reserved a cover for it (a policy with a
    window, open when it was recorded, and free funds then); claims are accepted from
    ``recorded_at + PAYOUT_DELAY`` until ``purchased_at + window + PAYOUT_DELAY`` (inclusive).
    The offer counts when it comes from the purchase's retailer, for the same GTIN and currency,
    of a price type the policy does not exclude, offered at some time within the window
    (``[purchased_at, purchased_at + window]``) and already started. Then, with ``difference =
    unit price - offer price`` and ``tolerance = max(tolerance amount, unit price x bps / 10,000)``,
    the buyer is owed ``min(difference x quantity, max payout, cover)`` when ``difference >
    tolerance``, less what was already paid for the purchase.

    The contract checks the claim's time before the offer; this checks the offer before saying
    "claimable from", so that an offer that will entitle the buyer once the payout delay is over
    is reported with its amount (``pending``) rather than as nothing.
    """
    claimable_at = purchase.claimable_at
    closes_at = purchase.closes_at(policy)

    def no(reason: str, difference: int = 0, tolerance: int = 0, total: int = 0) -> Entitlement:
        return Entitlement(purchase, offer, difference, tolerance, total, compensated, 0, reason, 0, claimable_at, closes_at)

    if policy is None or policy.window == 0:
        return no("the purchase is not covered by a price guarantee")
    if purchase.cover == 0:
        if purchase.recorded_at > purchase.purchased_at + policy.window:
            return no("not covered: it was recorded after its guarantee window had closed")
        if purchase.unit_price <= 1:
            return no("not covered: no price can be below what was paid")
        return no("not covered: the pool had no free funds when it was recorded")
    if now > closes_at:
        return no(f"claims closed on {format_time(closes_at)}")
    window_end = purchase.purchased_at + policy.window
    if offer.retailer != purchase.retailer:
        return no("the offer is another retailer's")
    if offer.gtin != purchase.gtin:
        return no("the offer is for another product")
    if checksum_address(offer.currency) != checksum_address(currency):  # cached: a keeper's round evaluates thousands
        return no("the offer is in another currency")
    if offer.type_name in policy.excluded:
        return no(f"{offer.type_name} prices are excluded by the policy")
    if offer.until <= offer.valid_from:
        return no("the offer ended before it started (declared a price error ahead of its start)")
    if not (offer.valid_from <= window_end and offer.until > purchase.purchased_at):
        return no("the offer was not available within the window")
    if offer.valid_from > now:
        return no("the offer has not started yet")
    tolerance = policy.tolerance(purchase.unit_price)
    if offer.price >= purchase.unit_price:
        return no("the offer is not below the price paid", 0, tolerance)
    difference = purchase.unit_price - offer.price
    if difference <= tolerance:
        return no("the difference is within the tolerance", difference, tolerance)
    rule = min(difference * purchase.quantity, policy.max_payout)
    total = min(rule, purchase.cover)
    if total <= compensated:
        if rule > compensated:
            return no("already compensated up to its cover (what the pool reserved for it)", difference, tolerance, total)
        return no("already compensated for this price or a lower one", difference, tolerance, total)
    if now < claimable_at:
        reason = f"claimable from {format_time(claimable_at)}"
        return Entitlement(
            purchase, offer, difference, tolerance, total, compensated, 0, reason, total - compensated, claimable_at, closes_at
        )
    return Entitlement(purchase, offer, difference, tolerance, total, compensated, total - compensated, "owed", 0, claimable_at, closes_at)


@dataclass(frozen=True)
class RetailerInfo:
    """A retailer and its pool, as the chain holds them now.

    ``reserved`` is the pool's promised coverage: the cover of recorded purchases, neither paid
    nor released yet; only claims take from it. ``free`` (``balance - reserved``) is what a
    withdrawal, or a new purchase's cover, may take.
    """

    id: int
    currency: str
    balance: int
    reserved: int
    withdrawal_amount: int
    withdrawal_to: str
    withdrawal_at: int
    funded: int
    paid: int
    withdrawn: int

    @property
    def free(self) -> int:
        return self.balance - self.reserved

    def to_json(self) -> dict[str, Any]:
        return {
            "retailer": self.id,
            "currency": self.currency,
            "balance": str(self.balance),
            "reserved": str(self.reserved),
            "free": str(self.free),
            "funded": str(self.funded),
            "paid": str(self.paid),
            "withdrawn": str(self.withdrawn),
            "withdrawalDelay": WITHDRAWAL_DELAY,
            "withdrawal": (
                {"amount": str(self.withdrawal_amount), "to": self.withdrawal_to, "executableAt": self.withdrawal_at}
                if self.withdrawal_at
                else None
            ),
        }


@dataclass(frozen=True)
class ChannelInfo:
    id: int
    retailer: int
    kind: str
    key: str
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.id, "retailer": self.retailer, "kind": self.kind, "key": self.key, "name": self.name}


@dataclass(frozen=True)
class KeyInfo:
    """What a channel key serves and when (``retailer == 0``: it never served).

    ``grace``: seconds after ``revoked_at`` during which the receipts and vouchers it signed
    while live still count (0: none, the key was treated as compromised).
    """

    key: str
    retailer: int
    channel: int
    active_from: int
    revoked_at: int
    grace: int

    @property
    def live(self) -> bool:
        return self.retailer != 0 and self.revoked_at == 0

    def live_at(self, t: int) -> bool:
        """Whether it was the channel's key at time ``t``."""
        return self.active_from != 0 and self.active_from <= t and (self.revoked_at == 0 or t < self.revoked_at)

    def accepts(self, signed_at: int, now: int, *, consumer_held: bool) -> bool:
        """Whether a message it signed dated ``signed_at`` counts at ``now`` (``channelKeyAccepts``):
        the key was live then, and is live now or, for a receipt or voucher (``consumer_held``),
        the rotation's grace has not run out."""
        if self.active_from == 0 or self.active_from > signed_at:
            return False
        if self.revoked_at == 0:
            return True
        return signed_at < self.revoked_at and consumer_held and now < self.revoked_at + self.grace

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "retailer": self.retailer,
            "channel": self.channel,
            "activeFrom": self.active_from,
            "revokedAt": self.revoked_at,
            "grace": self.grace,
        }


@dataclass(frozen=True)
class PolicyRecord:
    """A policy record: its terms, scope and from when it applies (``since``).

    ``set_at`` is when it was set (known when this client set it, else 0): a record whose
    ``since`` is after ``set_at`` reduced the coverage then in effect and takes effect only
    POLICY_NOTICE later, so buyers see the reduction coming.
    """

    id: int
    retailer: int
    gtin: int
    since: int
    previous: int
    terms: Policy
    set_at: int = 0

    @property
    def reduces(self) -> bool:
        return bool(self.set_at) and self.since > self.set_at

    @property
    def notice(self) -> int:
        """Seconds between when it was set and when it takes effect (0: at once)."""
        return max(0, self.since - self.set_at) if self.set_at else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.id,
            "retailer": self.retailer,
            "gtin": f"{self.gtin:014d}" if self.gtin else None,
            "since": self.since,
            "previous": self.previous,
            "reduces": self.reduces,
            "notice": self.notice,
        } | self.terms.to_json()


@dataclass(frozen=True)
class Payout:
    """One payout of a purchase (``CompensationPaid``): ``amount`` paid to the buyer now,
    bringing its compensation to ``detail["compensated"]``."""

    kind: str  # "paid"
    purchase: bytes
    buyer: str
    retailer: int
    amount: int
    block: int
    tx_hash: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "purchase": hex0x(self.purchase),
            "buyer": self.buyer,
            "retailer": self.retailer,
            "amount": str(self.amount),
            "block": self.block,
            "txHash": self.tx_hash,
            **self.detail,
        }


@dataclass(frozen=True)
class Release:
    """The unclaimed cover of a purchase whose claims closed, returned to its retailer's free
    funds (``CoverReleased``)."""

    purchase: bytes
    retailer: int
    amount: int
    block: int
    tx_hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "purchase": hex0x(self.purchase),
            "retailer": self.retailer,
            "amount": str(self.amount),
            "block": self.block,
            "txHash": self.tx_hash,
        }


@contextmanager
def _signed_document(data: Any, kind: str, what: str, where: str | None) -> Iterator[None]:
    """Read a signed JSON document of type ``kind`` (``what`` names it for people) inside this
    block: any missing field or bad value comes out as one InputError naming the file and field."""
    if not isinstance(data, dict):
        raise InputError(f"not {what}: expected a JSON object, got {type(data).__name__}", file=where)
    if data.get("type") != kind:
        raise InputError(f"not {what} (type {kind})", file=where, field="type", value=data.get("type"))
    try:
        yield
    except InputError as exc:  # a value out of range, an unknown price type: named, in the file
        raise InputError(exc.message, file=exc.file or where, line=exc.line, field=exc.field, value=exc.value) from None
    except KeyError as exc:
        raise InputError(f"{what} lacks this field", file=where, field=str(exc.args[0])) from exc
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int() of a JSON 1e999
        raise InputError(f"{what} has a bad value: {exc}", file=where) from exc
