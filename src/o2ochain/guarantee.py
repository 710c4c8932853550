"""The cross-channel price guarantee: a buyer is paid when the same retailer offers the same
product for less, on any of its channels, within the guarantee window.

* :class:`GuaranteeReader` reads retailers, channels, keys, policies, published prices (and quotes
  lodged on chain), purchases, payouts and releases, and applies the rule (:func:`evaluate`)
  exactly as the contract does.
* :class:`RetailerAdmin` is the retailer's hand: channels and their keys (rotated with a grace for
  what the old key signed, or none when it was compromised), the policy (a reduction of coverage
  takes effect only after POLICY_NOTICE), the pool (fund, announce and execute a withdrawal of
  free funds), declaring a price error, releasing the cover of purchases whose claims closed.
* :class:`ChannelKey` is a channel's key: publish prices, sign quotes, record sales (one by one
  or a whole CSV, pipelined and resumable), sign receipts for buyers.
* :class:`Buyer` is the consumer: their purchases, what they are owed, when and why, claim it,
  register a signed receipt, withdraw a credit.

Every role may lodge a signed quote on chain (:meth:`ChannelKey.lodge_quote`): it then counts like
a published price whatever becomes of its key. The keeper that makes compensation automatic is
:class:`o2ochain.keeper.Keeper`.

Version 2 of the contract reserves each purchase's COVER from the pool's free funds when it is
recorded, and pays compensation from PAYOUT_DELAY (a day) after the recording until PAYOUT_DELAY
after the window closes; see ``contracts/interfaces/IPriceGuarantee.sol``.

Amounts are integers in the currency's base units (wei for the native coin, 10**-6 of a dollar for
a 6-decimal stablecoin); :meth:`GuaranteeReader.units` and :meth:`GuaranteeReader.format` convert
to and from the decimal amounts people read. Receipts are identified by the hash of the receipt
number (never of personal data).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from o2ochain import gs1
from o2ochain._artifacts import artifact
from o2ochain._logs import get_logs
from o2ochain._tx import PendingTx, Sender, call_view
from o2ochain._util import address_topic, hex0x
from o2ochain.deployments import Deployment
from o2ochain.errors import ConfigError, ContractRevert, InputError, InputErrors

__all__ = [
    "CHANNEL_KINDS",
    "MAX_KEY_GRACE",
    "NATIVE",
    "PAYOUT_DELAY",
    "POLICY_NOTICE",
    "PRICE_TYPES",
    "WITHDRAWAL_DELAY",
    "Buyer",
    "ChannelInfo",
    "ChannelKey",
    "Entitlement",
    "GuaranteeReader",
    "KeyInfo",
    "Offer",
    "Payout",
    "Policy",
    "PolicyRecord",
    "Purchase",
    "Release",
    "RetailerAdmin",
    "RetailerInfo",
    "Sale",
    "SignedReceipt",
    "evaluate",
    "events_in",
    "format_time",
    "gtin_number",
    "purchase_id",
    "read_sales_csv",
    "receipt_hash",
]

#: The currency "address" of the native coin (ETH on mainnet).
NATIVE = "0x0000000000000000000000000000000000000000"
#: Price types, by their number on chain (PRICE_* in Types.sol).
PRICE_TYPES: tuple[str, ...] = ("regular", "promotion", "clearance", "limited-quantity", "price-error")
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


# ------------------------------------------------------------------------------------------------
# Values
# ------------------------------------------------------------------------------------------------


def _uint(data: dict[str, Any], key: str, bits: int, *, where: str | None, what: str) -> int:
    """``data[key]`` as an integer the contract's ``uint<bits>`` holds (InputError otherwise)."""
    value = int(data[key])
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
    if isinstance(name, int):
        if 0 <= name < len(PRICE_TYPES):
            return name
    elif isinstance(name, str):  # anything else (a JSON null, a list) is no price type
        key = name.strip().lower().replace("_", "-").replace(" ", "-")
        if key in PRICE_TYPES:
            return PRICE_TYPES.index(key)
    raise InputError(f"unknown price type {name!r}: use one of {', '.join(PRICE_TYPES)}", field="price_type", value=name)


def channel_kind_number(name: str | int) -> int:
    """The on-chain number of a channel kind given by name (``online-shop``) or number."""
    if isinstance(name, int) and name in CHANNEL_KINDS:
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
        if not isinstance(data, dict):
            raise InputError(f"not a signed price quote: expected a JSON object, got {type(data).__name__}", file=where)
        if data.get("type") != "o2ochain.guarantee.quote":
            raise InputError("not a signed price quote (type o2ochain.guarantee.quote)", file=where, field="type", value=data.get("type"))
        try:
            what = "a signed quote"
            return cls(
                retailer=_uint(data, "retailer", 32, where=where, what=what),
                channel=_uint(data, "channel", 32, where=where, what=what),
                gtin=gtin_number(str(data["gtin"]), file=where),
                currency=Web3.to_checksum_address(data["currency"]),
                price=_uint(data, "price", 96, where=where, what=what),
                price_type=price_type_number(data["priceType"] if not str(data["priceType"]).isdigit() else int(data["priceType"])),
                valid_from=_uint(data, "validFrom", 40, where=where, what=what),
                valid_until=_uint(data, "validUntil", 40, where=where, what=what),
                nonce=_uint(data, "nonce", 64, where=where, what=what),
                signature=bytes(HexBytes(data["signature"])),
            )
        except InputError as exc:  # a value out of range, an unknown price type: named, in the file
            raise InputError(exc.message, file=exc.file or where, line=exc.line, field=exc.field, value=exc.value) from None
        except KeyError as exc:
            raise InputError("a signed quote lacks this field", file=where, field=str(exc.args[0])) from exc
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int() of a JSON 1e999
            raise InputError(f"a signed quote has a bad value: {exc}", file=where) from exc


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
        if not isinstance(data, dict):
            raise InputError(f"not a signed receipt: expected a JSON object, got {type(data).__name__}", file=where)
        if data.get("type") != "o2ochain.guarantee.receipt":
            raise InputError("not a signed receipt (type o2ochain.guarantee.receipt)", file=where, field="type", value=data.get("type"))
        try:
            what = "a signed receipt"
            return cls(
                retailer=_uint(data, "retailer", 32, where=where, what=what),
                channel=_uint(data, "channel", 32, where=where, what=what),
                buyer=Web3.to_checksum_address(data["buyer"]),
                gtin=gtin_number(str(data["gtin"]), file=where),
                quantity=_uint(data, "quantity", 32, where=where, what=what),
                unit_price=_uint(data, "unitPrice", 96, where=where, what=what),
                purchased_at=_uint(data, "purchasedAt", 40, where=where, what=what),
                receipt=_hash32(data, "receiptHash", where=where, what=what),
                signature=bytes(HexBytes(data["signature"])),
            )
        except InputError as exc:  # a value out of range, an unknown price type: named, in the file
            raise InputError(exc.message, file=exc.file or where, line=exc.line, field=exc.field, value=exc.value) from None
        except KeyError as exc:
            raise InputError("a signed receipt lacks this field", file=where, field=str(exc.args[0])) from exc
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int() of a JSON 1e999
            raise InputError(f"a signed receipt has a bad value: {exc}", file=where) from exc


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
    if Web3.to_checksum_address(offer.currency) != Web3.to_checksum_address(currency):
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


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------


class GuaranteeReader:
    """Read the price-guarantee contract and apply its rule (no signer needed)."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(deployment.address("PriceGuarantee"))
        self.contract: Contract = w3.eth.contract(address=self.address, abi=artifact("PriceGuarantee")["abi"], decode_tuples=True)
        self.from_block = deployment.contracts["PriceGuarantee"].block
        self.chain_id = int(w3.eth.chain_id)
        self._timestamps: dict[int, int] = {}
        self._policies: dict[int, PolicyRecord] = {}
        self._currencies: dict[int, str] = {}
        self._decimals: dict[str, int] = {}

    def domain(self) -> dict[str, Any]:
        return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": self.chain_id, "verifyingContract": self.address}

    def now(self) -> int:
        """The chain's clock: the latest block's timestamp (what the next block cannot be before)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    # -- amounts -----------------------------------------------------------------------------
    def decimals(self, currency: str) -> int:
        """18 for the native coin, else the ERC-20's ``decimals()``."""
        currency = Web3.to_checksum_address(currency)
        if currency not in self._decimals:
            if int(currency, 16) == 0:
                self._decimals[currency] = 18
            else:
                token = self.w3.eth.contract(address=currency, abi=artifact("TestStablecoin")["abi"])
                self._decimals[currency] = int(call_view(token.functions.decimals()))
        return self._decimals[currency]

    def units(self, amount: str | Decimal | int, currency: str, *, field: str = "amount") -> int:
        """A decimal amount (``"188"``, ``"1.25"``) in the currency's base units."""
        try:
            value = Decimal(str(amount).strip())
        except InvalidOperation:
            raise InputError(f"{amount!r} is not an amount", field=field, value=amount) from None
        if not value.is_finite():  # NaN and sNaN cannot even be compared; Infinity is no amount either
            raise InputError(f"{amount!r} is not an amount", field=field, value=amount)
        scaled = value.scaleb(self.decimals(currency))
        if value < 0 or scaled != scaled.to_integral_value() or scaled >= _U96:
            raise InputError(f"{amount} is not an amount this currency can hold", field=field, value=amount)
        return int(scaled)

    def format(self, units: int, currency: str) -> str:
        """Base units as a decimal amount (``188000000`` -> ``"188"`` at 6 decimals)."""
        text = format(Decimal(units).scaleb(-self.decimals(currency)).normalize(), "f")
        return text

    # -- retailers, channels, keys, policies -------------------------------------------------
    def retailer(self, retailer: int) -> RetailerInfo:
        v = call_view(self.contract.functions.retailer(retailer))
        return RetailerInfo(
            id=retailer,
            currency=Web3.to_checksum_address(v.currency),
            balance=int(v.balance),
            reserved=int(v.reserved),
            withdrawal_amount=int(v.withdrawalAmount),
            withdrawal_to=Web3.to_checksum_address(v.withdrawalTo),
            withdrawal_at=int(v.withdrawalAt),
            funded=int(v.funded),
            paid=int(v.paid),
            withdrawn=int(v.withdrawn),
        )

    def currency(self, retailer: int) -> str:
        if retailer not in self._currencies:
            self._currencies[retailer] = self.retailer(retailer).currency
        return self._currencies[retailer]

    def retailer_count(self) -> int:
        return int(call_view(self.contract.functions.retailerCount()))

    def admin_role(self, retailer: int) -> bytes:
        return bytes(call_view(self.contract.functions.retailerAdminRole(retailer)))

    def is_admin(self, retailer: int, account: str) -> bool:
        return bool(call_view(self.contract.functions.hasRole(self.admin_role(retailer), Web3.to_checksum_address(account))))

    def channels(self, retailer: int | None = None) -> list[ChannelInfo]:
        """The channels (of ``retailer``, or all), with their current keys."""
        event = self.contract.events.ChannelAdded()
        topics = [event.topic, None if retailer is None else "0x" + f"{retailer:064x}"]
        out: list[ChannelInfo] = []
        for log in get_logs(self.w3, address=self.address, topics=topics, from_block=self.from_block):
            a = event.process_log(log)["args"]
            view = call_view(self.contract.functions.channel(int(a["channel"])))
            out.append(
                ChannelInfo(
                    id=int(a["channel"]),
                    retailer=int(a["retailer"]),
                    kind=CHANNEL_KINDS.get(int(a["kind"]), str(a["kind"])),
                    key=Web3.to_checksum_address(view.key),
                    name=str(a["name"]),
                )
            )
        return out

    def key(self, key: str) -> KeyInfo:
        """What ``key`` serves, since when, and whether (and when) it was revoked."""
        address = Web3.to_checksum_address(key)
        v = call_view(self.contract.functions.channelKey(address))
        return KeyInfo(address, int(v.retailer), int(v.channel), int(v.activeFrom), int(v.revokedAt), int(v.grace))

    def key_info(self, key: str) -> tuple[int, int, int, int]:
        """(retailer, channel, active from, revoked at) of a channel key; zeros for an unknown one."""
        k = self.key(key)
        return k.retailer, k.channel, k.active_from, k.revoked_at

    def policy_record(self, policy: int) -> PolicyRecord | None:
        """Policy record ``policy`` with its scope and ``since`` (None for 0 or an unknown id)."""
        if policy == 0:
            return None
        if policy not in self._policies:  # immutable once set
            v = call_view(self.contract.functions.policy(policy))
            if int(v.retailer) == 0:
                return None
            self._policies[policy] = PolicyRecord(
                id=policy,
                retailer=int(v.retailer),
                gtin=int(v.gtin),
                since=int(v.since),
                previous=int(v.previous),
                terms=Policy.from_struct(v.terms),
            )
        return self._policies[policy]

    def policy(self, policy: int) -> Policy | None:
        """The terms of policy ``policy`` (None for 0: no guarantee)."""
        record = self.policy_record(policy)
        return None if record is None else record.terms

    def policy_for(self, retailer: int, gtin: str | int, at: int | None = None) -> int:
        """The policy a purchase of ``gtin`` made at ``at`` (default: now) gets (0: none)."""
        moment = self.now() if at is None else at
        return int(call_view(self.contract.functions.policyFor(retailer, gtin_number(gtin), moment)))

    # -- purchases ---------------------------------------------------------------------------
    @staticmethod
    def purchase_id(
        retailer: int, channel: int, buyer: str, gtin: str | int, quantity: int, unit_price: int, purchased_at: int, receipt: str | bytes
    ) -> bytes:
        """The id of the purchase the Receipt with these fields states (see :func:`purchase_id`)."""
        return purchase_id(retailer, channel, buyer, gtin, quantity, unit_price, purchased_at, receipt)

    def purchase_state(self, purchase: bytes) -> tuple[bool, int]:
        """(recorded, unclaimed cover) of a purchase id, as the contract's ``purchaseState``."""
        recorded, unclaimed = call_view(self.contract.functions.purchaseState(purchase))
        return bool(recorded), int(unclaimed)

    def recorded(self, purchase: bytes) -> bool:
        return self.purchase_state(purchase)[0]

    def compensated(self, purchase: Purchase | bytes | str) -> int:
        """What ``purchase`` was paid so far: its cover less what is unclaimed, and less what was
        released once its claims closed (read from ``CoverReleased``)."""
        p = purchase if isinstance(purchase, Purchase) else self.purchase(purchase)
        recorded, unclaimed = self.purchase_state(p.id)
        if not recorded:
            return 0
        if unclaimed or p.cover == 0 or not self.closed(p):
            return p.cover - unclaimed  # nothing was released
        return p.cover - sum(r.amount for r in self.releases(purchase=p.id))  # paid in full, or released

    def purchases(
        self, *, buyer: str | None = None, gtin: str | int | None = None, from_block: int | None = None, to_block: int | None = None
    ) -> list[Purchase]:
        """Recorded purchases (of ``buyer``, of a GTIN), oldest first."""
        event = self.contract.events.PurchaseRecorded()
        topics = [event.topic, None, address_topic(buyer), None if gtin is None else "0x" + f"{gtin_number(gtin):064x}"]
        start = self.from_block if from_block is None else from_block
        logs = get_logs(self.w3, address=self.address, topics=topics, from_block=start, to_block=to_block)
        return [self._purchase(event.process_log(log)) for log in logs]

    def purchase(self, purchase_id: bytes | str) -> Purchase:
        """One recorded purchase by id (InputError when there is none)."""
        pid = bytes(HexBytes(purchase_id)) if isinstance(purchase_id, str) else purchase_id
        event = self.contract.events.PurchaseRecorded()
        logs = get_logs(self.w3, address=self.address, topics=[event.topic, hex0x(pid)], from_block=self.from_block)
        if not logs:
            raise InputError(f"no purchase {hex0x(pid)} is recorded on this chain", field="purchase")
        return self._purchase(event.process_log(logs[0]))

    def recorded_receipts(self, retailer: int) -> dict[bytes, bytes]:
        """The receipt hashes ``retailer``'s purchases were recorded under, each with its purchase id.

        A purchase's id is its whole sale, time included, so a sale recorded again later would be
        another purchase: a till that resumes a file checks the receipts against this.
        """
        return {p.receipt: p.id for p in self.purchases() if p.retailer == retailer}

    @staticmethod
    def _purchase(log: Any) -> Purchase:
        a = log["args"]
        return Purchase(
            id=bytes(a["purchase"]),
            retailer=int(a["retailer"]),
            channel=int(a["channel"]),
            buyer=Web3.to_checksum_address(a["buyer"]),
            gtin=int(a["gtin"]),
            quantity=int(a["quantity"]),
            unit_price=int(a["unitPrice"]),
            purchased_at=int(a["purchasedAt"]),
            receipt=bytes(a["receiptHash"]),
            policy=int(a["policy"]),
            cover=int(a["cover"]),
            recorded_at=int(a["recordedAt"]),
            block=int(log["blockNumber"]),
            tx_hash=hex0x(log["transactionHash"]),
        )

    def closed(self, purchase: Purchase, now: int | None = None) -> bool:
        """Whether the claims of ``purchase`` have closed (its cover may then be released)."""
        moment = self.now() if now is None else now
        return moment > purchase.closes_at(self.policy(purchase.policy))

    def releasable(
        self, purchases: Iterable[Purchase] | None = None, *, retailer: int | None = None, now: int | None = None
    ) -> list[Purchase]:
        """Of ``purchases`` (default: every recorded one), of ``retailer`` (default: any), those
        whose claims have closed with some of their cover unclaimed: :meth:`release_call` returns
        it to the retailer's free funds."""
        moment = self.now() if now is None else now
        out: list[Purchase] = []
        for p in self.purchases() if purchases is None else purchases:
            if p.cover == 0 or (retailer is not None and p.retailer != retailer) or not self.closed(p, moment):
                continue
            if self.purchase_state(p.id)[1] > 0:
                out.append(p)
        return out

    # -- prices ------------------------------------------------------------------------------
    def timestamp(self, block: int) -> int:
        if block not in self._timestamps:
            self._timestamps[block] = int(self.w3.eth.get_block(block)["timestamp"])
        return self._timestamps[block]

    def published_prices(self, *, gtin: str | int | None = None, channel: int | None = None, from_block: int | None = None) -> list[Offer]:
        """Every offer on chain (for a GTIN, a channel), oldest first, with its end if ended:
        prices published by channel keys, and signed quotes lodged on chain (``lodged``)."""
        published = self.contract.events.PricePublished()
        lodged = self.contract.events.QuoteLodged()
        ended = self.contract.events.PriceEnded()
        g = None if gtin is None else "0x" + f"{gtin_number(gtin):064x}"
        c = None if channel is None else "0x" + f"{channel:064x}"
        start = self.from_block if from_block is None else from_block
        ends: dict[tuple[int, int, int], int] = {}
        errors: set[tuple[int, int, int]] = set()
        for log in get_logs(self.w3, address=self.address, topics=[ended.topic, c, g], from_block=start):
            a = ended.process_log(log)["args"]
            key = (int(a["channel"]), int(a["gtin"]), int(a["validFrom"]))
            ends[key] = int(a["endedAt"])
            if a["priceError"]:
                errors.add(key)
        channel_retailer: dict[int, int] = {}
        rows: list[tuple[int, int, Offer]] = []
        for event in (published, lodged):
            for log in get_logs(self.w3, address=self.address, topics=[event.topic, g, c], from_block=start):
                a = event.process_log(log)["args"]
                ch = int(a["channel"])
                if ch not in channel_retailer:
                    channel_retailer[ch] = int(call_view(self.contract.functions.channel(ch)).retailer)
                retailer = channel_retailer[ch]
                block = int(log["blockNumber"])
                is_lodged = event is lodged
                key = (ch, int(a["gtin"]), int(a["validFrom"]) if is_lodged else self.timestamp(block))
                offer = Offer(
                    retailer=retailer,
                    channel=ch,
                    gtin=int(a["gtin"]),
                    currency=self.currency(retailer),
                    price=int(a["price"]),
                    price_type=PRICE_TYPES.index("price-error") if key in errors else int(a["priceType"]),
                    valid_from=key[2],
                    valid_until=int(a["validUntil"]),
                    ended_at=ends.get(key, 0),
                    block=block,
                    lodged=is_lodged,
                )
                rows.append((block, int(log["logIndex"]), offer))
        rows.sort(key=lambda row: (row[0], row[1]))
        return [offer for _, _, offer in rows]

    def live_price(self, channel: int, gtin: str | int) -> Offer | None:
        """The channel's latest published price for a GTIN that is still offered now, if any
        (lodged quotes aside: the channel cannot end them)."""
        now = self.now()
        live = [o for o in self.published_prices(gtin=gtin, channel=channel) if not o.lodged and o.valid_from <= now < o.until]
        return live[-1] if live else None

    def quote_signer(self, quote: Offer) -> str:
        """The address that signed ``quote`` (EIP-712 under this contract's domain)."""
        if quote.signature is None:
            raise InputError("a quote needs a signature", field="signature")
        message = {name["name"]: value for name, value in zip(QUOTE_TYPES["Quote"], quote.as_quote_struct(), strict=True)}
        typed = encode_typed_data(domain_data=self.domain(), message_types=QUOTE_TYPES, message_data=message)
        try:
            return str(Account.recover_message(typed, signature=quote.signature))
        except (ValueError, TypeError) as exc:  # a malformed signature
            raise InputError(f"the quote's signature is not a signature: {exc}", field="signature") from None

    def is_lodged(self, quote: Offer) -> bool:
        """Whether ``quote`` (these terms, from its channel at its start) is lodged on chain."""
        v = call_view(self.contract.functions.price(quote.channel, quote.gtin, quote.valid_from))
        return bool(v.published and v.lodged and int(v.price) == quote.price and int(v.validUntil) == quote.valid_until)

    def check_quote(self, quote: Offer) -> Offer:
        """``quote`` if it counts as evidence now (InputError otherwise): signed by a key of its
        channel that was live at its start and is live now, or lodged on chain (it then counts
        whatever became of its key)."""
        signer = self.quote_signer(quote)
        key = self.key(signer)
        if key.channel != quote.channel or not key.live_at(quote.valid_from):
            raise InputError(f"the quote is not signed by a key of channel {quote.channel} live at its start (signer {signer})")
        if key.revoked_at and not self.is_lodged(quote):
            raise InputError(
                f"the quote's key {signer} of channel {quote.channel} was revoked on {format_time(key.revoked_at)}: a quote counts "
                "only while its key is live, or once lodged on chain before the key was revoked"
            )
        return quote

    # -- the rule ----------------------------------------------------------------------------
    def entitlements(
        self,
        purchase: Purchase,
        offers: Iterable[Offer],
        *,
        compensated: int | None = None,
        now: int | None = None,
    ) -> list[Entitlement]:
        """Every offer evaluated against ``purchase``: the best (largest ``due``, then ``pending``) first."""
        policy = self.policy(purchase.policy)
        done = self.compensated(purchase) if compensated is None else compensated
        moment = self.now() if now is None else now
        currency = self.currency(purchase.retailer)
        rows = [evaluate(purchase, policy, offer, compensated=done, now=moment, currency=currency) for offer in offers]
        rows.sort(key=lambda e: (-e.due, -e.pending, -e.total, e.offer.price, e.offer.valid_from))
        return rows

    def best(self, purchase: Purchase, offers: Iterable[Offer], **kwargs: Any) -> Entitlement | None:
        """The entitlement a claim should use now, or None when nothing is claimable now."""
        rows = self.entitlements(purchase, offers, **kwargs)
        return rows[0] if rows and rows[0].due > 0 else None

    def claim_call(self, entitlement: Entitlement) -> Any:
        """The contract call that claims ``entitlement`` (an offer on chain, or a signed quote)."""
        offer = entitlement.offer
        if offer.signature is None:
            return self.contract.functions.claimWithPrice(entitlement.purchase.as_struct(), offer.channel, offer.valid_from)
        return self.contract.functions.claimWithQuote(entitlement.purchase.as_struct(), offer.as_quote_struct(), offer.signature)

    def lodge_call(self, quote: Offer) -> Any:
        """The contract call that lodges signed ``quote`` on chain (anyone may send it)."""
        if quote.signature is None:
            raise InputError("only a signed quote can be lodged", field="signature")
        return self.contract.functions.lodgeQuote(quote.as_quote_struct(), quote.signature)

    def release_call(self, purchases: Sequence[Purchase]) -> Any:
        """The contract call that returns the unclaimed cover of ``purchases`` (claims closed) to
        their retailers' free funds (anyone may send it)."""
        if not purchases:
            raise InputError("nothing to release", field="purchases")
        return self.contract.functions.release([p.as_struct() for p in purchases])

    # -- payouts and releases ----------------------------------------------------------------
    def payouts(self, *, buyer: str | None = None, purchase: bytes | None = None, retailer: int | None = None) -> list[Payout]:
        """Every payout (``CompensationPaid``), oldest first."""
        event = self.contract.events.CompensationPaid()
        r_topic = None if retailer is None else "0x" + f"{retailer:064x}"
        p_topic = None if purchase is None else hex0x(purchase)
        out: list[Payout] = []
        for log in get_logs(
            self.w3, address=self.address, topics=[event.topic, p_topic, address_topic(buyer), r_topic], from_block=self.from_block
        ):
            a = event.process_log(log)["args"]
            out.append(
                Payout(
                    kind="paid",
                    purchase=bytes(a["purchase"]),
                    buyer=Web3.to_checksum_address(a["buyer"]),
                    retailer=int(a["retailer"]),
                    amount=int(a["amount"]),
                    block=int(log["blockNumber"]),
                    tx_hash=hex0x(log["transactionHash"]),
                    detail={
                        "compensated": str(a["compensated"]),
                        "offerChannel": int(a["offerChannel"]),
                        "offerPrice": str(a["offerPrice"]),
                        "offerFrom": int(a["offerFrom"]),
                        "quote": bool(a["quote"]),
                    },
                )
            )
        return out

    def releases(self, *, retailer: int | None = None, purchase: bytes | None = None) -> list[Release]:
        """Every release of unclaimed cover (``CoverReleased``), oldest first."""
        event = self.contract.events.CoverReleased()
        topics = [event.topic, None if purchase is None else hex0x(purchase), None if retailer is None else "0x" + f"{retailer:064x}"]
        return [
            Release(
                purchase=bytes(a["purchase"]),
                retailer=int(a["retailer"]),
                amount=int(a["amount"]),
                block=int(log["blockNumber"]),
                tx_hash=hex0x(log["transactionHash"]),
            )
            for log in get_logs(self.w3, address=self.address, topics=topics, from_block=self.from_block)
            for a in [event.process_log(log)["args"]]
        ]

    def credit(self, buyer: str, currency: str) -> int:
        return int(call_view(self.contract.functions.credit(Web3.to_checksum_address(buyer), Web3.to_checksum_address(currency))))


# ------------------------------------------------------------------------------------------------
# Roles
# ------------------------------------------------------------------------------------------------


def events_in(contract: Contract, name: str, receipt: Any) -> list[Any]:
    """The ``name`` events of ``contract`` in ``receipt`` (other contracts' logs are skipped quietly)."""
    return list(contract.events[name]().process_receipt(receipt, errors=DISCARD))


class _Role:
    def __init__(self, reader: GuaranteeReader, account: LocalAccount, sender: Sender | None = None) -> None:
        self.reader = reader
        self.account = account
        self.address = account.address
        self.sender = sender or Sender(reader.w3, account)

    @property
    def contract(self) -> Contract:
        return self.reader.contract

    def lodge_quote(self, quote: Offer) -> Offer:
        """Lodge a signed quote on chain (anyone may): from then on it counts like a published
        price that its channel cannot end, whatever becomes of the key that signed it. Returns it
        as the offer on chain."""
        receipt = self.sender.transact(self.reader.lodge_call(quote), label=f"lodge a quote of channel {quote.channel}")
        (log,) = events_in(self.contract, "QuoteLodged", receipt)
        a = log["args"]
        return replace(quote, price_type=int(a["priceType"]), signature=None, lodged=True, block=int(receipt["blockNumber"]))

    def release(self, purchases: Sequence[Purchase], *, batch: int = 50) -> list[Release]:
        """Return the unclaimed cover of ``purchases`` (whose claims closed) to their retailers'
        free funds, ``batch`` purchases per transaction (anyone may)."""
        if batch < 1:
            raise InputError("the batch size must be at least 1", field="batch", value=batch)
        pending = [
            self.sender.send(
                self.reader.release_call(purchases[i : i + batch]),
                label=f"release the cover of {len(purchases[i : i + batch])} purchase(s)",
            )
            for i in range(0, len(purchases), batch)
        ]
        out: list[Release] = []
        for receipt in self.sender.wait(pending):
            for log in events_in(self.contract, "CoverReleased", receipt):
                a = log["args"]
                out.append(
                    Release(
                        bytes(a["purchase"]),
                        int(a["retailer"]),
                        int(a["amount"]),
                        int(receipt["blockNumber"]),
                        hex0x(receipt["transactionHash"]),
                    )
                )
        return out


#: The grace a key rotation gives by default to the receipts and vouchers the old key signed.
DEFAULT_KEY_GRACE = 86_400


class RetailerAdmin(_Role):
    """A retailer's admin key: channels, keys, policy, pool."""

    def __init__(self, reader: GuaranteeReader, account: LocalAccount, retailer: int, sender: Sender | None = None) -> None:
        super().__init__(reader, account, sender)
        self.retailer = retailer

    @classmethod
    def register(
        cls, reader: GuaranteeReader, account: LocalAccount, *, currency: str = NATIVE, uri: str = "", admin: str | None = None
    ) -> RetailerAdmin:
        """Register a new retailer pricing and paying in ``currency`` (the native coin by default)."""
        sender = Sender(reader.w3, account)
        fn = reader.contract.functions.registerRetailer(
            Web3.to_checksum_address(admin or account.address), Web3.to_checksum_address(currency), uri
        )
        receipt = sender.transact(fn, label="register retailer")
        (log,) = events_in(reader.contract, "RetailerRegistered", receipt)
        return cls(reader, account, int(log["args"]["retailer"]), sender)

    @property
    def currency(self) -> str:
        return self.reader.currency(self.retailer)

    def add_channel(self, kind: str | int, key: str, name: str) -> int:
        """Declare a channel (online shop, store, marketplace, app) with its key."""
        if not name.strip():
            raise InputError("a channel needs a name", field="name")
        fn = self.contract.functions.addChannel(self.retailer, channel_kind_number(kind), Web3.to_checksum_address(key), name.strip())
        receipt = self.sender.transact(fn, label=f"add channel {name!r}")
        (log,) = events_in(self.contract, "ChannelAdded", receipt)
        return int(log["args"]["channel"])

    def rotate_key(self, channel: int, new_key: str | None, *, grace: int = DEFAULT_KEY_GRACE, compromised: bool = False) -> str:
        """Replace a channel's key by ``new_key`` (``None``: the channel has no key until the next rotation).

        The old key is revoked now: nothing it signs counts any more, and the quotes it signed
        stop counting at once (unless they were lodged on chain before). The receipts and
        vouchers it signed while live, already in buyers' hands, still count for ``grace``
        seconds (at most MAX_KEY_GRACE, 7 days), so buyers can register and redeem them.
        ``compromised=True`` (the key may be in someone else's hands) gives no grace: everything
        it signed that was not used is refused at once.
        """
        if compromised:
            grace = 0
        if not 0 <= grace <= MAX_KEY_GRACE:
            raise InputError(f"the grace must be 0..{MAX_KEY_GRACE} seconds (7 days)", field="grace", value=grace)
        fn = self.contract.functions.rotateChannelKey(channel, Web3.to_checksum_address(new_key or NATIVE), grace)
        return hex0x(self.sender.transact(fn, label=f"rotate key of channel {channel}")["transactionHash"])

    def set_policy(self, policy: Policy, *, gtin: str | int | None = None) -> PolicyRecord:
        """Set the default policy (or one product class's) for purchases made from now on.

        When the new terms reduce the coverage in effect for that class now (a shorter window,
        a larger tolerance, a lower cap, more excluded price types), they apply only to purchases
        made POLICY_NOTICE (7 days) from now: the record's ``since`` says when (``reduces``).
        """
        fn = self.contract.functions.setPolicy(self.retailer, 0 if gtin is None else gtin_number(gtin), policy.as_struct())
        receipt = self.sender.transact(fn, label="set guarantee policy")
        (log,) = events_in(self.contract, "PolicySet", receipt)
        a = log["args"]
        record = PolicyRecord(
            id=int(a["policy"]),
            retailer=self.retailer,
            gtin=int(a["gtin"]),
            since=int(a["since"]),
            previous=int(a["previous"]),
            terms=policy,
            set_at=self.reader.timestamp(int(receipt["blockNumber"])),
        )
        return record

    def declare_price_error(self, channel: int, gtin: str | int, valid_from: int) -> str:
        fn = self.contract.functions.declarePriceError(channel, gtin_number(gtin), valid_from)
        return hex0x(self.sender.transact(fn, label="declare a price error")["transactionHash"])

    def fund(self, amount: int) -> str:
        """Add ``amount`` (base units) to the pool; an ERC-20 is approved first."""
        if amount <= 0:
            raise InputError("fund a positive amount", field="amount", value=amount)
        currency = self.currency
        if int(currency, 16) == 0:
            fn = self.contract.functions.fund(self.retailer, amount)
            return hex0x(self.sender.transact(fn, value=amount, label="fund the guarantee pool")["transactionHash"])
        token = self.reader.w3.eth.contract(address=Web3.to_checksum_address(currency), abi=artifact("TestStablecoin")["abi"])
        allowance = int(call_view(token.functions.allowance(self.address, self.reader.address)))
        pending: list[PendingTx] = []
        if allowance < amount:
            pending.append(self.sender.send(token.functions.approve(self.reader.address, amount), label="approve the pool"))
            self.sender.wait(pending)
        receipt = self.sender.transact(self.contract.functions.fund(self.retailer, amount), label="fund the guarantee pool")
        return hex0x(receipt["transactionHash"])

    def announce_withdrawal(self, amount: int, to: str | None = None) -> int:
        """Announce a withdrawal from the pool's free funds; returns when it may execute (a day later)."""
        fn = self.contract.functions.announceWithdrawal(self.retailer, amount, Web3.to_checksum_address(to or self.address))
        receipt = self.sender.transact(fn, label="announce a withdrawal")
        (log,) = events_in(self.contract, "WithdrawalAnnounced", receipt)
        return int(log["args"]["executableAt"])

    def cancel_withdrawal(self) -> str:
        return hex0x(
            self.sender.transact(self.contract.functions.cancelWithdrawal(self.retailer), label="cancel the withdrawal")["transactionHash"]
        )

    def execute_withdrawal(self) -> str:
        """Execute the announced withdrawal: it sends what is free then (never reserved cover), up to its amount."""
        return hex0x(self.sender.transact(self.contract.functions.executeWithdrawal(self.retailer), label="withdraw")["transactionHash"])

    def release_closed(self, *, batch: int = 50) -> list[Release]:
        """Return to the free funds the unclaimed cover of every purchase of this retailer whose
        claims have closed."""
        closed = self.reader.releasable(retailer=self.retailer)
        return self.release(closed, batch=batch) if closed else []


class ChannelKey(_Role):
    """A channel's key: prices, quotes, sales, receipts."""

    def __init__(self, reader: GuaranteeReader, account: LocalAccount, sender: Sender | None = None) -> None:
        super().__init__(reader, account, sender)
        key = reader.key(account.address)
        if key.channel == 0:
            raise ConfigError(f"{account.address} is not the key of any channel: the retailer's admin adds it with add_channel")
        if key.revoked_at:
            raise ConfigError(f"{account.address} was the key of channel {key.channel} but was revoked on {format_time(key.revoked_at)}")
        self.retailer = key.retailer
        self.channel = key.channel

    @property
    def currency(self) -> str:
        return self.reader.currency(self.retailer)

    def publish_price(
        self, gtin: str | int, price: int, *, price_type: str | int = "regular", valid_until: int = UNTIL_ENDED, end_previous: bool = True
    ) -> Offer:
        """Publish the channel's price for a GTIN; the previous live one is ended first (by default).

        A published price stands until ``valid_until`` or until it is ended, so raising a price
        means ending the lower one: left alone, it would still count for the buyers.
        """
        g = gtin_number(gtin)
        if not 0 < price < _U96:
            raise InputError("a price must be positive", field="price", value=price)
        pending: list[PendingTx] = []
        if end_previous:
            live = self.reader.live_price(self.channel, g)
            if (
                live is not None
                and live.price == price
                and live.price_type == price_type_number(price_type)
                and live.valid_until == valid_until
            ):
                return live  # unchanged: publishing again would only cost gas
            if live is not None:
                pending.append(self.sender.send(self.contract.functions.endPrice(g, live.valid_from), label="end the previous price"))
        fn = self.contract.functions.publishPrice(g, price, price_type_number(price_type), valid_until)
        self.sender.wait(pending)
        label = f"publish price of {g:014d}"
        for attempt in range(3):
            try:
                # A price is keyed by (channel, GTIN, second of chain time). A second change in
                # the same second (a node may mine several blocks a second) waits for the next
                # second; a node simulates in the latest block's second, so then it is sent
                # with a fixed gas limit rather than simulated again.
                tx = self.sender.send(fn, label=label) if attempt == 0 else self.sender.send(fn, gas=120_000, label=label)
                receipts = self.sender.wait([tx])
                break
            except ContractRevert as exc:
                if exc.error_name != "GuaranteePriceExists" or attempt == 2:
                    raise
                time.sleep(1.1)
        block = int(receipts[-1]["blockNumber"])
        return Offer(
            retailer=self.retailer,
            channel=self.channel,
            gtin=g,
            currency=self.currency,
            price=price,
            price_type=price_type_number(price_type),
            valid_from=self.reader.timestamp(block),
            valid_until=valid_until,
            block=block,
        )

    def end_price(self, gtin: str | int) -> Offer | None:
        """End the channel's live price for a GTIN (None when there is none)."""
        live = self.reader.live_price(self.channel, gtin)
        if live is None:
            return None
        receipt = self.sender.transact(self.contract.functions.endPrice(live.gtin, live.valid_from), label="end price")
        return replace(live, ended_at=self.reader.timestamp(int(receipt["blockNumber"])))

    def sign_quote(
        self,
        gtin: str | int,
        price: int,
        *,
        price_type: str | int = "regular",
        valid_from: int | None = None,
        valid_for: int = 86_400,
        nonce: int | None = None,
    ) -> Offer:
        """A price quote signed off chain (EIP-712): what the web shop shows, provable later."""
        start = self.reader.now() if valid_from is None else valid_from  # the chain's clock decides
        offer = Offer(
            retailer=self.retailer,
            channel=self.channel,
            gtin=gtin_number(gtin),
            currency=self.currency,
            price=price,
            price_type=price_type_number(price_type),
            valid_from=start,
            valid_until=start + valid_for,
            nonce=time.time_ns() % 2**64 if nonce is None else nonce,
        )
        message = {name["name"]: value for name, value in zip(QUOTE_TYPES["Quote"], offer.as_quote_struct(), strict=True)}
        signed = self.account.sign_message(
            encode_typed_data(domain_data=self.reader.domain(), message_types=QUOTE_TYPES, message_data=message)
        )
        return replace(offer, signature=bytes(signed.signature))

    def sign_receipt(
        self, buyer: str, gtin: str | int, quantity: int, unit_price: int, receipt: str | bytes, *, purchased_at: int | None = None
    ) -> SignedReceipt:
        """A receipt the buyer registers themselves (for a sale the till did not record on chain)."""
        values = SignedReceipt(
            retailer=self.retailer,
            channel=self.channel,
            buyer=Web3.to_checksum_address(buyer),
            gtin=gtin_number(gtin),
            quantity=quantity,
            unit_price=unit_price,
            purchased_at=self.reader.now() if purchased_at is None else purchased_at,
            receipt=receipt_hash(receipt),
            signature=b"",
        )
        message = {name["name"]: value for name, value in zip(RECEIPT_TYPES["Receipt"], values.as_struct(), strict=True)}
        signed = self.account.sign_message(
            encode_typed_data(domain_data=self.reader.domain(), message_types=RECEIPT_TYPES, message_data=message)
        )
        return replace(values, signature=bytes(signed.signature))

    def record_sale(self, buyer: str, gtin: str | int, quantity: int, unit_price: int, receipt: str | bytes) -> Purchase:
        """Record one sale now; returns the purchase as the chain recorded it, with its cover.

        A receipt is recorded once: a receipt already recorded for this retailer is refused
        (InputError), since recording it again later would be another purchase on chain.
        """
        sale = _sale(buyer, gtin, quantity, unit_price, receipt)
        for earlier in self.reader.purchases(buyer=sale.buyer):
            if earlier.retailer == self.retailer and earlier.receipt == sale.receipt:
                raise InputError(
                    f"receipt {hex0x(sale.receipt)} was already recorded as purchase {hex0x(earlier.id)}: one receipt is one purchase",
                    field="receipt",
                )
        tx = self.sender.transact(self.contract.functions.recordPurchase(sale.as_struct()), label="record a sale")
        (log,) = events_in(self.contract, "PurchaseRecorded", tx)
        return GuaranteeReader._purchase(log)

    def record_sales(self, sales: Sequence[Sale], *, batch: int = 100, progress: Callable[[int], None] | None = None) -> tuple[int, int]:
        """Record many sales, pipelined in batches; sales already on chain are skipped.

        Returns (recorded now, already recorded). Rerunning after a crash records each sale
        exactly once: the retailer's purchases on chain are read first, and a receipt hash
        already among them is not recorded again.
        """
        if batch < 1:
            raise InputError("the batch size must be at least 1", field="batch", value=batch)
        recorded = self.reader.recorded_receipts(self.retailer)
        seen: set[bytes] = set()
        fresh: list[Sale] = []
        for sale in sales:
            if sale.receipt in seen:
                continue
            seen.add(sale.receipt)
            if sale.receipt not in recorded:
                fresh.append(sale)
        skipped = len(seen) - len(fresh)
        if progress and skipped:
            progress(skipped)
        pending: list[PendingTx] = []
        sizes: dict[str, int] = {}
        for start in range(0, len(fresh), batch):
            rows = fresh[start : start + batch]
            tx = self.sender.send(self.contract.functions.recordPurchases([s.as_struct() for s in rows]), label=f"record {len(rows)} sales")
            sizes[tx.hash_hex] = len(rows)
            pending.append(tx)
        self.sender.wait(pending, on_mined=(lambda tx, _r: progress(sizes[tx.hash_hex])) if progress else None)
        return len(fresh), skipped


class Buyer(_Role):
    """The consumer: their purchases, what they are owed, when and why, and claims."""

    def purchases(self) -> list[Purchase]:
        return self.reader.purchases(buyer=self.address)

    def register(self, receipt: SignedReceipt) -> Purchase:
        """Register a receipt a channel signed (anyone may send it; the buyer is in the receipt)."""
        tx = self.sender.transact(
            self.contract.functions.registerPurchase(receipt.as_struct(), receipt.signature), label="register a receipt"
        )
        (log,) = events_in(self.contract, "PurchaseRecorded", tx)
        return GuaranteeReader._purchase(log)

    def owed(self, quotes: Sequence[Offer] = ()) -> list[Entitlement]:
        """For each of my purchases, the best evaluation now: owed now, owed once claimable
        (``pending``, from ``claimable_at``), or why nothing is."""
        out: list[Entitlement] = []
        offers_by_gtin: dict[int, list[Offer]] = {}
        for purchase in self.purchases():
            if purchase.gtin not in offers_by_gtin:
                offers_by_gtin[purchase.gtin] = self.reader.published_prices(gtin=purchase.gtin)
            offers = offers_by_gtin[purchase.gtin] + [q for q in quotes if q.gtin == purchase.gtin]
            rows = self.reader.entitlements(purchase, offers)
            if rows:
                out.append(rows[0])
        return out

    def claim(self, purchase: Purchase | bytes | str, quotes: Sequence[Offer] = ()) -> Entitlement:
        """Claim what ``purchase`` is owed now, with the best evidence; InputError when nothing is
        (saying from when it will be, when it will)."""
        p = purchase if isinstance(purchase, Purchase) else self.reader.purchase(purchase)
        offers = self.reader.published_prices(gtin=p.gtin) + [q for q in quotes if q.gtin == p.gtin]
        rows = self.reader.entitlements(p, offers)
        if not rows or rows[0].due == 0:
            if rows and rows[0].pending:
                amount = self.reader.format(rows[0].pending, self.reader.currency(p.retailer))
                raise InputError(f"nothing is claimable yet for purchase {hex0x(p.id)}: {amount} is {rows[0].reason}", field="purchase")
            reason = rows[0].reason if rows else "no price of this product was offered by the retailer"
            raise InputError(f"nothing is owed for purchase {hex0x(p.id)}: {reason}", field="purchase")
        self.sender.transact(self.reader.claim_call(rows[0]), label="claim price-guarantee compensation")
        return rows[0]

    def credit(self, currency: str | None = None) -> int:
        return self.reader.credit(self.address, currency or NATIVE)

    def withdraw_credit(self, currency: str = NATIVE) -> str:
        fn = self.contract.functions.withdrawCredit(Web3.to_checksum_address(currency))
        return hex0x(self.sender.transact(fn, label="withdraw credited compensation")["transactionHash"])


# ------------------------------------------------------------------------------------------------
# Sales files
# ------------------------------------------------------------------------------------------------

SALES_COLUMNS = ("buyer", "gtin", "quantity", "unit_price", "receipt")


def _sale(buyer: str, gtin: str | int, quantity: int, unit_price: int, receipt: str | bytes) -> Sale:
    if not Web3.is_address(buyer) or int(buyer, 16) == 0:
        raise InputError(f"{buyer!r} is not a buyer address", field="buyer", value=buyer)
    if not 1 <= quantity < 2**32:
        raise InputError("the quantity must be at least 1", field="quantity", value=quantity)
    if not 0 < unit_price < _U96:
        raise InputError("the unit price must be positive", field="unit_price", value=unit_price)
    return Sale(Web3.to_checksum_address(buyer), gtin_number(gtin), quantity, unit_price, receipt_hash(receipt))


def read_sales_csv(path: Path, to_units: Callable[[str], int]) -> list[Sale]:
    """Sales from a CSV with columns buyer, gtin, quantity, unit_price, receipt (header first).

    Every row is checked before anything is sent; every bad row is reported with its line and
    field (InputErrors), so a bad file writes nothing. ``to_units`` turns a decimal price into
    base units. A receipt number appearing twice is an error: one receipt is one purchase.
    """
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _read_sales(reader, name, to_units)
    except csv.Error as exc:  # a stray quote or carriage return, a field beyond the csv module's limit
        raise InputError(f"not a readable CSV file: {exc}", file=name, line=reader.line_num or 1) from None


def _read_sales(reader: csv.DictReader[str], name: str, to_units: Callable[[str], int]) -> list[Sale]:
    if reader.fieldnames is None:
        raise InputError("the file is empty: expected a header line with " + ", ".join(SALES_COLUMNS), file=name, line=1)
    header = [h.strip().lower() for h in reader.fieldnames]
    missing = [c for c in SALES_COLUMNS if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (expected {', '.join(SALES_COLUMNS)})", file=name, line=1)
    reader.fieldnames = header
    errors: list[InputError] = []
    sales: list[Sale] = []
    receipts: dict[bytes, int] = {}
    for row in reader:
        line = reader.line_num
        try:
            quantity_text = (row.get("quantity") or "").strip()
            if not quantity_text.isdigit():
                raise InputError(
                    "the quantity must be a whole number of at least 1", file=name, line=line, field="quantity", value=quantity_text
                )
            try:
                unit_price = to_units((row.get("unit_price") or "").strip())
            except InputError as exc:
                raise InputError(exc.message, file=name, line=line, field="unit_price") from None
            gtin = gtin_number((row.get("gtin") or "").strip(), file=name, line=line)
            sale = _sale((row.get("buyer") or "").strip(), gtin, int(quantity_text), unit_price, (row.get("receipt") or "").strip())
        except InputErrors as exc:
            errors.extend(exc.errors)
            continue
        except InputError as exc:
            errors.append(InputError(exc.message, file=name, line=exc.line or line, field=exc.field, value=exc.value))
            continue
        if sale.receipt in receipts:
            errors.append(
                InputError(
                    f"receipt repeats line {receipts[sale.receipt]}: one receipt is one purchase", file=name, line=line, field="receipt"
                )
            )
            continue
        receipts[sale.receipt] = line
        sales.append(sale)
    if errors:
        raise InputErrors(errors)
    if not sales:
        raise InputError("the file has a header but no sales", file=name, line=2)
    return sales


def load_quotes(path: Path) -> list[Offer]:
    """Signed quotes from a file: one JSON object per line (JSON Lines) or a JSON array."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc.msg}", file=name, line=exc.lineno) from None
        except RecursionError:
            raise InputError("not JSON we read: nested too deeply", file=name) from None
        return [Offer.quote_from_json(item, where=name) for item in items]
    out: list[Offer] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc.msg}", file=name, line=number) from None
        except RecursionError:
            raise InputError("not JSON we read: nested too deeply", file=name, line=number) from None
        try:
            out.append(Offer.quote_from_json(data, where=name))
        except InputError as exc:
            raise InputError(exc.message, file=name, line=number, field=exc.field, value=exc.value) from None
    return out
