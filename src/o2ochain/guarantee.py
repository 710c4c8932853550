"""The cross-channel price guarantee: a buyer is paid when the same retailer offers the same
product for less, on any of its channels, within the guarantee window.

* :class:`GuaranteeReader` reads retailers, channels, policies, published prices, purchases and
  payouts, and applies the rule (:func:`evaluate`) exactly as the contract does.
* :class:`RetailerAdmin` is the retailer's hand: channels and their keys, the policy, the pool
  (fund, announce and execute a withdrawal), declaring a price error.
* :class:`ChannelKey` is a channel's price-signing key: publish prices, sign quotes, record sales
  (one by one or a whole CSV, pipelined and resumable), sign receipts for buyers.
* :class:`Buyer` is the consumer: their purchases, what they are owed and why, claim it, register
  a signed receipt, withdraw a credit.

The keeper that makes compensation automatic is :class:`o2ochain.keeper.Keeper`.

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
    "NATIVE",
    "PRICE_TYPES",
    "Buyer",
    "ChannelInfo",
    "ChannelKey",
    "Entitlement",
    "GuaranteeReader",
    "Offer",
    "Payout",
    "Policy",
    "Purchase",
    "RetailerAdmin",
    "RetailerInfo",
    "Sale",
    "SignedReceipt",
    "evaluate",
    "events_in",
    "gtin_number",
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
DOMAIN_NAME = "o2ochain PriceGuarantee"
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
_U96 = 2**96


# ------------------------------------------------------------------------------------------------
# Values
# ------------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Purchase:
    """A recorded purchase, with every field the contract binds (see ``PurchaseRecorded``)."""

    id: bytes
    retailer: int
    channel: int
    policy: int
    buyer: str
    gtin: int
    quantity: int
    unit_price: int
    purchased_at: int
    receipt: bytes
    block: int = 0
    tx_hash: str = ""

    def as_struct(self) -> tuple[Any, ...]:
        return (
            self.retailer,
            self.channel,
            self.policy,
            self.buyer,
            self.gtin,
            self.quantity,
            self.unit_price,
            self.purchased_at,
            self.receipt,
        )

    @property
    def gtin14(self) -> str:
        return f"{self.gtin:014d}"

    def to_json(self) -> dict[str, Any]:
        return {
            "purchase": hex0x(self.id),
            "retailer": self.retailer,
            "channel": self.channel,
            "policy": self.policy,
            "buyer": self.buyer,
            "gtin": self.gtin14,
            "quantity": self.quantity,
            "unitPrice": str(self.unit_price),
            "purchasedAt": self.purchased_at,
            "receiptHash": hex0x(self.receipt),
            "block": self.block,
            "txHash": self.tx_hash,
        }


@dataclass(frozen=True)
class Offer:
    """A price a channel offered: published on chain (``signature is None``) or a signed quote."""

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

    @property
    def published(self) -> bool:
        return self.signature is None

    @property
    def until(self) -> int:
        """When the offer stopped (exclusive): its own end, or when it was ended early."""
        return min(self.valid_until, self.ended_at) if self.ended_at else self.valid_until

    @property
    def type_name(self) -> str:
        return PRICE_TYPES[self.price_type] if self.price_type < len(PRICE_TYPES) else str(self.price_type)

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
        return data

    @classmethod
    def quote_from_json(cls, data: dict[str, Any], *, where: str | None = None) -> Offer:
        """A signed quote read back from :meth:`to_json` (``where`` names the file for errors)."""
        if not isinstance(data, dict):
            raise InputError(f"not a signed price quote: expected a JSON object, got {type(data).__name__}", file=where)
        if data.get("type") != "o2ochain.guarantee.quote":
            raise InputError("not a signed price quote (type o2ochain.guarantee.quote)", file=where, field="type", value=data.get("type"))
        try:
            return cls(
                retailer=int(data["retailer"]),
                channel=int(data["channel"]),
                gtin=gtin_number(str(data["gtin"]), file=where),
                currency=Web3.to_checksum_address(data["currency"]),
                price=int(data["price"]),
                price_type=price_type_number(data["priceType"] if not str(data["priceType"]).isdigit() else int(data["priceType"])),
                valid_from=int(data["validFrom"]),
                valid_until=int(data["validUntil"]),
                nonce=int(data["nonce"]),
                signature=bytes(HexBytes(data["signature"])),
            )
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
            return cls(
                retailer=int(data["retailer"]),
                channel=int(data["channel"]),
                buyer=Web3.to_checksum_address(data["buyer"]),
                gtin=gtin_number(str(data["gtin"]), file=where),
                quantity=int(data["quantity"]),
                unit_price=int(data["unitPrice"]),
                purchased_at=int(data["purchasedAt"]),
                receipt=bytes(HexBytes(data["receiptHash"])),
                signature=bytes(HexBytes(data["signature"])),
            )
        except KeyError as exc:
            raise InputError("a signed receipt lacks this field", file=where, field=str(exc.args[0])) from exc
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int() of a JSON 1e999
            raise InputError(f"a signed receipt has a bad value: {exc}", file=where) from exc


@dataclass(frozen=True)
class Entitlement:
    """What one offer means for one purchase under the purchase's policy (see :func:`evaluate`).

    ``due > 0`` means a claim now pays (or queues) ``due``; otherwise ``reason`` says why not.
    """

    purchase: Purchase
    offer: Offer
    difference: int
    tolerance: int
    total: int
    compensated: int
    due: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "purchase": hex0x(self.purchase.id),
            "buyer": self.purchase.buyer,
            "gtin": self.purchase.gtin14,
            "paid": str(self.purchase.unit_price),
            "quantity": self.purchase.quantity,
            "offer": self.offer.to_json(),
            "difference": str(self.difference),
            "tolerance": str(self.tolerance),
            "total": str(self.total),
            "compensated": str(self.compensated),
            "due": str(self.due),
            "reason": self.reason,
        }


def evaluate(purchase: Purchase, policy: Policy | None, offer: Offer, *, compensated: int, now: int, currency: str) -> Entitlement:
    """Apply the guarantee rule to one purchase and one offer, as the contract does on a claim.

    The offer counts when it comes from the purchase's retailer, for the same GTIN and currency,
    of a price type the policy does not exclude, offered at some time within the window
    (``[purchased_at, purchased_at + window]``) and already started. Then, with ``difference =
    unit price - offer price`` and ``tolerance = max(tolerance amount, unit price x bps / 10,000)``,
    the buyer is owed ``min(difference x quantity, max payout)`` when ``difference > tolerance``,
    less what was already recognised for the purchase.
    """

    def no(reason: str, difference: int = 0, tolerance: int = 0, total: int = 0) -> Entitlement:
        return Entitlement(purchase, offer, difference, tolerance, total, compensated, 0, reason)

    if policy is None or policy.window == 0:
        return no("the purchase is not covered by a price guarantee")
    window_end = purchase.purchased_at + policy.window
    if now > window_end:
        return no(f"the guarantee window closed at {window_end}")
    if offer.retailer != purchase.retailer:
        return no("the offer is another retailer's")
    if offer.gtin != purchase.gtin:
        return no("the offer is for another product")
    if Web3.to_checksum_address(offer.currency) != Web3.to_checksum_address(currency):
        return no("the offer is in another currency")
    if offer.type_name in policy.excluded:
        return no(f"{offer.type_name} prices are excluded by the policy")
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
    total = min(difference * purchase.quantity, policy.max_payout)
    if total <= compensated:
        return no("already compensated for this price or a lower one", difference, tolerance, total)
    return Entitlement(purchase, offer, difference, tolerance, total, compensated, total - compensated, "owed")


@dataclass(frozen=True)
class RetailerInfo:
    """A retailer and its pool, as the chain holds them now."""

    id: int
    currency: str
    max_window: int
    available: int
    owed: int
    queue_head: int
    queue_tail: int
    funded: int
    paid: int
    withdrawal_amount: int
    withdrawal_to: str
    withdrawal_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "retailer": self.id,
            "currency": self.currency,
            "maxWindow": self.max_window,
            "available": str(self.available),
            "owed": str(self.owed),
            "queued": self.queue_tail - self.queue_head,
            "funded": str(self.funded),
            "paid": str(self.paid),
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
class Payout:
    """One payout event of a purchase: paid now, queued as owed, or paid later from the queue."""

    kind: str  # "paid" | "owed" | "settled"
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
        self._policies: dict[int, Policy] = {}
        self._currencies: dict[int, str] = {}
        self._decimals: dict[str, int] = {}

    def domain(self) -> dict[str, Any]:
        return {"name": DOMAIN_NAME, "version": "1", "chainId": self.chain_id, "verifyingContract": self.address}

    def now(self) -> int:
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

    # -- retailers, channels, policies -------------------------------------------------------
    def retailer(self, retailer: int) -> RetailerInfo:
        v = call_view(self.contract.functions.retailer(retailer))
        return RetailerInfo(
            id=retailer,
            currency=Web3.to_checksum_address(v.currency),
            max_window=int(v.maxWindow),
            available=int(v.available),
            owed=int(v.owed),
            queue_head=int(v.queueHead),
            queue_tail=int(v.queueTail),
            funded=int(v.funded),
            paid=int(v.paid),
            withdrawal_amount=int(v.withdrawalAmount),
            withdrawal_to=Web3.to_checksum_address(v.withdrawalTo),
            withdrawal_at=int(v.withdrawalAt),
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

    def key_info(self, key: str) -> tuple[int, int, int, int]:
        """(retailer, channel, active from, revoked at) of a channel key; zeros for an unknown one."""
        v = call_view(self.contract.functions.channelKey(Web3.to_checksum_address(key)))
        return int(v.retailer), int(v.channel), int(v.activeFrom), int(v.revokedAt)

    def policy(self, policy: int) -> Policy | None:
        """The terms of policy ``policy`` (None for 0: no guarantee)."""
        if policy == 0:
            return None
        if policy not in self._policies:  # immutable once set
            self._policies[policy] = Policy.from_struct(call_view(self.contract.functions.policy(policy)).terms)
        return self._policies[policy]

    def policy_for(self, retailer: int, gtin: str | int, at: int | None = None) -> int:
        moment = self.now() if at is None else at
        return int(call_view(self.contract.functions.policyFor(retailer, gtin_number(gtin), moment)))

    # -- purchases ---------------------------------------------------------------------------
    def purchase_id(self, retailer: int, receipt: str | bytes) -> bytes:
        return gs1.keccak256(abi_encode(["uint32", "bytes32"], [retailer, receipt_hash(receipt)]))

    def compensated(self, purchase: bytes) -> tuple[bool, int]:
        """(recorded, compensated so far) of a purchase id."""
        recorded, compensated = call_view(self.contract.functions.purchaseState(purchase))
        return bool(recorded), int(compensated)

    def purchases(self, *, buyer: str | None = None, gtin: str | int | None = None, from_block: int | None = None) -> list[Purchase]:
        """Recorded purchases (of ``buyer``, of a GTIN), oldest first."""
        event = self.contract.events.PurchaseRecorded()
        topics = [event.topic, None, address_topic(buyer), None if gtin is None else "0x" + f"{gtin_number(gtin):064x}"]
        logs = get_logs(self.w3, address=self.address, topics=topics, from_block=self.from_block if from_block is None else from_block)
        return [self._purchase(event.process_log(log)) for log in logs]

    def purchase(self, purchase_id: bytes | str) -> Purchase:
        """One recorded purchase by id (InputError when there is none)."""
        pid = bytes(HexBytes(purchase_id)) if isinstance(purchase_id, str) else purchase_id
        event = self.contract.events.PurchaseRecorded()
        logs = get_logs(self.w3, address=self.address, topics=[event.topic, hex0x(pid)], from_block=self.from_block)
        if not logs:
            raise InputError(f"no purchase {hex0x(pid)} is recorded on this chain", field="purchase")
        return self._purchase(event.process_log(logs[0]))

    @staticmethod
    def _purchase(log: Any) -> Purchase:
        a = log["args"]
        return Purchase(
            id=bytes(a["purchase"]),
            retailer=int(a["retailer"]),
            channel=int(a["channel"]),
            policy=int(a["policy"]),
            buyer=Web3.to_checksum_address(a["buyer"]),
            gtin=int(a["gtin"]),
            quantity=int(a["quantity"]),
            unit_price=int(a["unitPrice"]),
            purchased_at=int(a["purchasedAt"]),
            receipt=bytes(a["receiptHash"]),
            block=int(log["blockNumber"]),
            tx_hash=hex0x(log["transactionHash"]),
        )

    # -- prices ------------------------------------------------------------------------------
    def timestamp(self, block: int) -> int:
        if block not in self._timestamps:
            self._timestamps[block] = int(self.w3.eth.get_block(block)["timestamp"])
        return self._timestamps[block]

    def published_prices(self, *, gtin: str | int | None = None, channel: int | None = None, from_block: int | None = None) -> list[Offer]:
        """Every price published on chain (for a GTIN, a channel), oldest first, with its end if ended."""
        published = self.contract.events.PricePublished()
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
        out: list[Offer] = []
        for log in get_logs(self.w3, address=self.address, topics=[published.topic, g, c], from_block=start):
            a = published.process_log(log)["args"]
            ch = int(a["channel"])
            if ch not in channel_retailer:
                channel_retailer[ch] = int(call_view(self.contract.functions.channel(ch)).retailer)
            retailer = channel_retailer[ch]
            block = int(log["blockNumber"])
            key = (ch, int(a["gtin"]), self.timestamp(block))
            out.append(
                Offer(
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
                )
            )
        return out

    def live_price(self, channel: int, gtin: str | int) -> Offer | None:
        """The channel's latest published price for a GTIN that is still offered now, if any."""
        now = self.now()
        live = [o for o in self.published_prices(gtin=gtin, channel=channel) if o.valid_from <= now < o.until]
        return live[-1] if live else None

    def check_quote(self, quote: Offer) -> Offer:
        """``quote`` if a key of its channel, live at its start, signed it (InputError otherwise)."""
        if quote.signature is None:
            raise InputError("a quote needs a signature", field="signature")
        message = {name["name"]: value for name, value in zip(QUOTE_TYPES["Quote"], quote.as_quote_struct(), strict=True)}
        from eth_account import Account

        signer = Account.recover_message(
            encode_typed_data(domain_data=self.domain(), message_types=QUOTE_TYPES, message_data=message), signature=quote.signature
        )
        retailer, channel, active_from, revoked_at = self.key_info(signer)
        if channel != quote.channel or not (active_from <= quote.valid_from and (revoked_at == 0 or quote.valid_from < revoked_at)):
            raise InputError(f"the quote is not signed by a key of channel {quote.channel} live at its start (signer {signer})")
        del retailer
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
        """Every offer evaluated against ``purchase``: the best (largest ``due``) first."""
        policy = self.policy(purchase.policy)
        done = self.compensated(purchase.id)[1] if compensated is None else compensated
        moment = self.now() if now is None else now
        currency = self.currency(purchase.retailer)
        rows = [evaluate(purchase, policy, offer, compensated=done, now=moment, currency=currency) for offer in offers]
        rows.sort(key=lambda e: (-e.due, -e.total, e.offer.price, e.offer.valid_from))
        return rows

    def best(self, purchase: Purchase, offers: Iterable[Offer], **kwargs: Any) -> Entitlement | None:
        """The entitlement a claim should use now, or None when nothing is owed."""
        rows = self.entitlements(purchase, offers, **kwargs)
        return rows[0] if rows and rows[0].due > 0 else None

    def claim_call(self, entitlement: Entitlement) -> Any:
        """The contract call that claims ``entitlement`` (price on chain or signed quote)."""
        offer = entitlement.offer
        if offer.signature is None:
            return self.contract.functions.claimWithPrice(entitlement.purchase.as_struct(), offer.channel, offer.valid_from)
        return self.contract.functions.claimWithQuote(entitlement.purchase.as_struct(), offer.as_quote_struct(), offer.signature)

    # -- payouts -----------------------------------------------------------------------------
    def payouts(self, *, buyer: str | None = None, purchase: bytes | None = None, retailer: int | None = None) -> list[Payout]:
        """Every payout event (paid, owed, settled from the queue), oldest first."""
        out: list[tuple[int, int, Payout]] = []
        r_topic = None if retailer is None else "0x" + f"{retailer:064x}"
        p_topic = None if purchase is None else hex0x(purchase)
        for name, kind in (("CompensationPaid", "paid"), ("CompensationOwed", "owed"), ("OwedPaid", "settled")):
            event = self.contract.events[name]()
            topics = [event.topic, p_topic, address_topic(buyer), r_topic]
            for log in get_logs(self.w3, address=self.address, topics=topics, from_block=self.from_block):
                a = event.process_log(log)["args"]
                detail: dict[str, Any] = {}
                if kind == "paid":
                    detail = {
                        "compensated": str(a["compensated"]),
                        "offerChannel": int(a["offerChannel"]),
                        "offerPrice": str(a["offerPrice"]),
                        "offerFrom": int(a["offerFrom"]),
                        "quote": bool(a["quote"]),
                    }
                elif kind == "owed":
                    detail = {"position": int(a["position"])}
                else:
                    detail = {"position": int(a["position"]), "remaining": str(a["remaining"])}
                payout = Payout(
                    kind=kind,
                    purchase=bytes(a["purchase"]),
                    buyer=Web3.to_checksum_address(a["buyer"]),
                    retailer=int(a["retailer"]),
                    amount=int(a["amount"]),
                    block=int(log["blockNumber"]),
                    tx_hash=hex0x(log["transactionHash"]),
                    detail=detail,
                )
                out.append((int(log["blockNumber"]), int(log["logIndex"]), payout))
        out.sort(key=lambda row: (row[0], row[1]))
        return [p for _, _, p in out]

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
        """Declare a channel (online shop, store, marketplace, app) with its price-signing key."""
        if not name.strip():
            raise InputError("a channel needs a name", field="name")
        fn = self.contract.functions.addChannel(self.retailer, channel_kind_number(kind), Web3.to_checksum_address(key), name.strip())
        receipt = self.sender.transact(fn, label=f"add channel {name!r}")
        (log,) = events_in(self.contract, "ChannelAdded", receipt)
        return int(log["args"]["channel"])

    def rotate_key(self, channel: int, new_key: str | None) -> str:
        """Replace a channel's key (``None`` revokes it: the channel has no key until the next rotation)."""
        fn = self.contract.functions.rotateChannelKey(channel, Web3.to_checksum_address(new_key or NATIVE))
        return hex0x(self.sender.transact(fn, label=f"rotate key of channel {channel}")["transactionHash"])

    def set_policy(self, policy: Policy, *, gtin: str | int | None = None) -> int:
        """Set the default policy (or one product class's); it applies to purchases from now on."""
        fn = self.contract.functions.setPolicy(self.retailer, 0 if gtin is None else gtin_number(gtin), policy.as_struct())
        receipt = self.sender.transact(fn, label="set guarantee policy")
        (log,) = events_in(self.contract, "PolicySet", receipt)
        return int(log["args"]["policy"])

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
        """Announce a withdrawal from the pool; returns when it may execute (unix seconds)."""
        fn = self.contract.functions.announceWithdrawal(self.retailer, amount, Web3.to_checksum_address(to or self.address))
        receipt = self.sender.transact(fn, label="announce a withdrawal")
        (log,) = events_in(self.contract, "WithdrawalAnnounced", receipt)
        return int(log["args"]["executableAt"])

    def cancel_withdrawal(self) -> str:
        return hex0x(
            self.sender.transact(self.contract.functions.cancelWithdrawal(self.retailer), label="cancel the withdrawal")["transactionHash"]
        )

    def execute_withdrawal(self) -> str:
        return hex0x(self.sender.transact(self.contract.functions.executeWithdrawal(self.retailer), label="withdraw")["transactionHash"])

    def settle(self, max_entries: int = 50) -> str:
        fn = self.contract.functions.settle(self.retailer, max_entries)
        return hex0x(self.sender.transact(fn, label="pay owed compensation")["transactionHash"])


class ChannelKey(_Role):
    """A channel's price-signing key: prices, quotes, sales, receipts."""

    def __init__(self, reader: GuaranteeReader, account: LocalAccount, sender: Sender | None = None) -> None:
        super().__init__(reader, account, sender)
        retailer, channel, _active, revoked = reader.key_info(account.address)
        if channel == 0:
            raise ConfigError(f"{account.address} is not the key of any channel: the retailer's admin adds it with add_channel")
        if revoked:
            raise ConfigError(f"{account.address} was the key of channel {channel} but was revoked at {revoked}")
        self.retailer = retailer
        self.channel = channel

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
        """Record one sale now; returns the purchase as the chain recorded it."""
        sale = _sale(buyer, gtin, quantity, unit_price, receipt)
        tx = self.sender.transact(self.contract.functions.recordPurchase(sale.as_struct()), label="record a sale")
        (log,) = events_in(self.contract, "PurchaseRecorded", tx)
        return GuaranteeReader._purchase(log)

    def record_sales(self, sales: Sequence[Sale], *, batch: int = 100, progress: Callable[[int], None] | None = None) -> tuple[int, int]:
        """Record many sales, pipelined in batches; sales already on chain are skipped.

        Returns (recorded now, already recorded). Rerunning after a crash records each sale
        exactly once: the receipt hash is the purchase's identity on chain.
        """
        if batch < 1:
            raise InputError("the batch size must be at least 1", field="batch", value=batch)
        seen: set[bytes] = set()
        fresh: list[Sale] = []
        for sale in sales:
            if sale.receipt in seen:
                continue
            seen.add(sale.receipt)
            recorded, _ = self.reader.compensated(self.reader.purchase_id(self.retailer, sale.receipt))
            if not recorded:
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
    """The consumer: their purchases, what they are owed and why, and claims."""

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
        """For each of my purchases, the best evaluation now (owed or, if not, why not)."""
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
        """Claim what ``purchase`` is owed now, with the best evidence; InputError when nothing is."""
        p = purchase if isinstance(purchase, Purchase) else self.reader.purchase(purchase)
        offers = self.reader.published_prices(gtin=p.gtin) + [q for q in quotes if q.gtin == p.gtin]
        rows = self.reader.entitlements(p, offers)
        if not rows or rows[0].due == 0:
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
