"""Coupons: issued online, shown as a QR code in the shop, redeemed once on chain.

The O2O loop's traffic conversion, measured: a retailer's admin opens a campaign for one of its
merchants (how many vouchers, how long); the merchant's key signs vouchers off chain (EIP-712)
and hands them out online, each as a QR code; any shop of the same retailer scans one at the till
and redeems it on chain, once. A campaign's capacity (the most vouchers it may issue) and its
redemptions come from the chain; how many vouchers were signed does not (signing is off chain): the
issuer's own record of them (the vouchers files ``coupon issue`` writes, :func:`read_vouchers`)
tells it, and the conversion is the redemptions over the vouchers signed.

A voucher's QR payload is ``o2ochain:voucher:`` followed by the base64url of its ABI encoding and
signature: small enough for a QR code, and nothing to look up before redeeming.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from web3 import Web3
from web3.contract import Contract

from o2ochain import gs1
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.logs import get_logs
from o2ochain._chain.signers import Signer, typed_signature
from o2ochain._chain.tx import PendingTx, Sender, call_view
from o2ochain._chain.util import hex0x
from o2ochain.deployments import Deployment
from o2ochain.errors import ConfigError, InputError
from o2ochain.guarantee import GuaranteeReader, events_in, receipt_hash

DOMAIN_NAME = "o2ochain CouponBook"
PAYLOAD_PREFIX = "o2ochain:voucher:"
VOUCHER_TYPES = {
    "Voucher": [
        {"name": "campaign", "type": "uint32"},
        {"name": "index", "type": "uint32"},
        {"name": "kind", "type": "uint8"},
        {"name": "value", "type": "uint96"},
        {"name": "gtin", "type": "uint64"},
        {"name": "validFrom", "type": "uint40"},
        {"name": "validUntil", "type": "uint40"},
    ]
}
_ABI_TYPES = ["(uint32,uint32,uint8,uint96,uint64,uint40,uint40)", "bytes"]
KIND_AMOUNT, KIND_PERCENT = 1, 2
#: The largest campaign the CouponBook accepts (its MAX_VOUCHERS): creating it writes one bitmap
#: word per 255 vouchers, and 180,000 is what fits the 16,777,216 gas a transaction may use.
MAX_VOUCHERS = 180_000


@dataclass(frozen=True)
class Voucher:
    """One signed voucher: ``kind`` 1 = ``value`` off (base units), 2 = ``value`` basis points off."""

    campaign: int
    index: int
    kind: int
    value: int
    gtin: int
    valid_from: int
    valid_until: int
    signature: bytes = b""

    def as_struct(self) -> tuple[int, int, int, int, int, int, int]:
        return (self.campaign, self.index, self.kind, self.value, self.gtin, self.valid_from, self.valid_until)

    def payload(self) -> str:
        """What the QR code carries."""
        raw = abi_encode(_ABI_TYPES, [self.as_struct(), self.signature])
        return PAYLOAD_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def from_payload(cls, text: str) -> Voucher:
        body = text.strip()
        if not body.startswith(PAYLOAD_PREFIX):
            raise InputError(f"not a voucher: a voucher's QR code reads {PAYLOAD_PREFIX}…", field="voucher")
        try:
            raw = base64.urlsafe_b64decode(body[len(PAYLOAD_PREFIX) :] + "=" * (-len(body) % 4))
            (fields, signature) = abi_decode(_ABI_TYPES, raw)
        except Exception as exc:  # noqa: BLE001 - any malformed payload is the same bad input
            raise InputError(f"the voucher's code is damaged: {exc}", field="voucher") from None
        campaign, index, kind, value, gtin, valid_from, valid_until = (int(f) for f in fields)
        return cls(campaign, index, kind, value, gtin, valid_from, valid_until, bytes(signature))

    def describe(self, fmt: Any = str) -> str:
        what = f"{fmt(self.value)} off" if self.kind == KIND_AMOUNT else f"{self.value / 100:g}% off"
        scope = "the whole store" if self.gtin == 0 else f"GTIN {self.gtin:014d}"
        return f"campaign {self.campaign} voucher {self.index}: {what} {scope}"

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "index": self.index,
            "kind": "amount" if self.kind == KIND_AMOUNT else "percent",
            "value": str(self.value),
            "gtin": f"{self.gtin:014d}" if self.gtin else None,
            "validFrom": self.valid_from,
            "validUntil": self.valid_until,
            "payload": self.payload(),
        }


@dataclass(frozen=True)
class CampaignFigures:
    """A campaign's figures. ``capacity`` is the most vouchers it may issue (on chain); ``signed``
    how many were signed, when the issuer's record was given (None: not known, the chain cannot
    tell); ``conversion`` is ``redeemed / signed`` (None without ``signed``): the capacity is a
    ceiling, not what was handed out, and dividing by it would understate the conversion."""

    campaign: int
    merchant: int
    retailer: int
    capacity: int
    redeemed: int
    valid_from: int
    valid_until: int
    signed: int | None = None

    @property
    def conversion(self) -> float | None:
        if self.signed is None:
            return None
        return self.redeemed / self.signed if self.signed else 0.0

    def to_json(self) -> dict[str, Any]:
        conversion = self.conversion
        return {
            "campaign": self.campaign,
            "merchant": self.merchant,
            "retailer": self.retailer,
            "capacity": self.capacity,
            "signed": self.signed,
            "redeemed": self.redeemed,
            "conversion": None if conversion is None else round(conversion, 4),
            "validFrom": self.valid_from,
            "validUntil": self.valid_until,
        }


class CouponBookReader:
    def __init__(self, w3: Web3, deployment: Deployment, guarantee: GuaranteeReader) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(deployment.address("CouponBook"))
        self.contract: Contract = w3.eth.contract(address=self.address, abi=artifact("CouponBook")["abi"], decode_tuples=True)
        self.from_block = deployment.contracts["CouponBook"].block
        self.guarantee = guarantee
        self.chain_id = int(w3.eth.chain_id)

    def domain(self) -> dict[str, Any]:
        return {"name": DOMAIN_NAME, "version": "1", "chainId": self.chain_id, "verifyingContract": self.address}

    def figures(self, campaign: int, *, signed: list[Voucher] | None = None) -> CampaignFigures:
        """A campaign's capacity and redemptions, from the chain; with ``signed`` (the issuer's
        record of the vouchers it signed, e.g. :func:`read_vouchers`), how many of this campaign
        were signed (each index once) and so the conversion rate."""
        v = call_view(self.contract.functions.campaign(campaign))
        if int(v.issued) == 0:
            raise InputError(f"there is no campaign {campaign}", field="campaign", value=campaign)
        event = self.contract.events.CouponRedeemed()
        logs = get_logs(self.w3, address=self.address, topics=[event.topic, "0x" + f"{campaign:064x}"], from_block=self.from_block)
        return CampaignFigures(
            campaign=campaign,
            merchant=int(v.merchant),
            retailer=int(v.retailer),
            capacity=int(v.issued),
            redeemed=len(logs),
            valid_from=int(v.validFrom),
            valid_until=int(v.validUntil),
            signed=None if signed is None else len({s.index for s in signed if s.campaign == campaign}),
        )

    def is_redeemed(self, voucher: Voucher) -> bool:
        return bool(call_view(self.contract.functions.isRedeemed(voucher.campaign, voucher.index)))


class CouponIssuer:
    """A retailer's admin opening campaigns and a merchant's key signing their vouchers."""

    def __init__(self, reader: CouponBookReader, account: Signer) -> None:
        self.reader = reader
        self.account = account
        self.sender = Sender(reader.w3, account)

    def create_campaign(self, merchant: int, issued: int, *, valid_for: int, terms: str = "", uri: str = "") -> int:
        """Open a campaign of ``issued`` vouchers for ``merchant`` (as its retailer's admin)."""
        if not 1 <= issued <= MAX_VOUCHERS:
            raise InputError(
                f"a campaign issues 1 to {MAX_VOUCHERS:,} vouchers (the most one transaction can create); open several campaigns for more",
                field="issued",
                value=issued,
            )
        if valid_for <= 0:
            raise InputError("a campaign must last a positive time", field="valid_for", value=valid_for)
        start = self.reader.guarantee.now()
        terms_hash = gs1.keccak256(terms.encode("utf-8")) if terms else b"\x00" * 32
        fn = self.reader.contract.functions.createCampaign(merchant, issued, start, start + valid_for, terms_hash, uri)
        receipt = self.sender.transact(fn, label=f"open a campaign of {issued} vouchers")
        (log,) = events_in(self.reader.contract, "CampaignCreated", receipt)
        return int(log["args"]["campaign"])

    def sign(
        self,
        campaign: int,
        indices: range | list[int],
        *,
        amount: int = 0,
        percent_bps: int = 0,
        gtin: int = 0,
        progress: Callable[[int], None] | None = None,
    ) -> list[Voucher]:
        """Vouchers ``indices`` of ``campaign``, signed with this merchant key: ``amount`` off or ``percent_bps`` off.

        ``progress`` is told ``1`` as each voucher is signed. All of them are valid from now (or
        from the campaign's start, if later) to the campaign's end.
        """
        if (amount > 0) == (percent_bps > 0):
            raise InputError("a voucher gives an amount off or a percentage off, one of the two", field="value")
        if percent_bps and not 1 <= percent_bps <= 10_000:
            raise InputError("a percentage off is 0.01% to 100%", field="percent", value=percent_bps)
        figures = self.reader.figures(campaign)
        _, channel, _, revoked = self.reader.guarantee.key_info(self.account.address)
        if channel != figures.merchant or revoked:
            raise ConfigError(f"{self.account.address} is not the live key of merchant {figures.merchant}, which runs campaign {campaign}")
        kind, value = (KIND_AMOUNT, amount) if amount else (KIND_PERCENT, percent_bps)
        for index in indices:
            if not 0 <= index < figures.capacity:
                raise InputError(f"campaign {campaign} has vouchers 0..{figures.capacity - 1}", field="index", value=index)
        valid_from, domain = max(figures.valid_from, self.reader.guarantee.now()), self.reader.domain()
        out: list[Voucher] = []
        for index in indices:
            voucher = Voucher(campaign, index, kind, value, gtin, valid_from, figures.valid_until)
            message = {f["name"]: v for f, v in zip(VOUCHER_TYPES["Voucher"], voucher.as_struct(), strict=True)}
            out.append(replace(voucher, signature=typed_signature(self.account, domain, VOUCHER_TYPES, message)))
            if progress:
                progress(1)
        return out


def write_vouchers(vouchers: list[Voucher], output: Path, qr_dir: Path | None, *, progress: Callable[[int], None] | None = None) -> None:
    """Vouchers as JSON Lines in ``output`` and, if asked, one QR image each in ``qr_dir``
    (``progress`` is told how many more images are written, a few hundred at a time)."""
    from o2ochain._chain.util import atomic_file

    with atomic_file(output, text=True) as handle:
        for v in vouchers:
            handle.write(json.dumps(v.to_json()) + "\n")
    if qr_dir is not None:
        from o2ochain.gs1 import write_qr_images

        for start in range(0, len(vouchers), _QR_CHUNK):  # names are unique: each chunk is written whole
            chunk = vouchers[start : start + _QR_CHUNK]
            write_qr_images([(f"voucher-{v.campaign}-{v.index}", v.payload()) for v in chunk], qr_dir)
            if progress:
                progress(len(chunk))


_QR_CHUNK = 250


def read_vouchers(path: Path) -> list[Voucher]:
    """The vouchers of a file :func:`write_vouchers` wrote (JSON Lines), or of a text file with one
    QR payload a line: an issuer's record of what it signed, a till's stack of vouchers."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read this vouchers file: {exc}", file=str(path)) from None
    vouchers: list[Voucher] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            payload = json.loads(line)["payload"] if line.lstrip().startswith("{") else line
            vouchers.append(Voucher.from_payload(str(payload)))
        except InputError as exc:
            raise InputError(exc.message, file=str(path), line=number, field="voucher") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"not a voucher: {exc}", file=str(path), line=number, field="voucher") from None
    if not vouchers:
        raise InputError("the file holds no voucher", file=str(path))
    return vouchers


class Shop:
    """A shop's till (a channel key of the retailer): redeem vouchers shown as QR codes."""

    def __init__(self, reader: CouponBookReader, account: Signer) -> None:
        self.reader = reader
        self.account = account
        self.sender = Sender(reader.w3, account)

    def redeem(self, voucher: Voucher | str, receipt: str | bytes | None = None) -> str:
        """Redeem a voucher (or its QR payload) on the till receipt ``receipt``; refused if used, expired or forged."""
        v = Voucher.from_payload(voucher) if isinstance(voucher, str) else voucher
        handle = receipt_hash(receipt) if receipt else b"\x00" * 32
        fn = self.reader.contract.functions.redeem(v.as_struct(), v.signature, handle)
        return hex0x(self.sender.transact(fn, label=f"redeem voucher {v.campaign}/{v.index}")["transactionHash"])

    def redeem_many(self, vouchers: list[Voucher]) -> list[str]:
        """Redeem several vouchers, pipelined (each simulated first: a used one is refused before sending)."""
        pending: list[PendingTx] = [
            self.sender.send(self.reader.contract.functions.redeem(v.as_struct(), v.signature, b"\x00" * 32), label=f"redeem {v.index}")
            for v in vouchers
        ]
        return [hex0x(r["transactionHash"]) for r in self.sender.wait(pending)]
