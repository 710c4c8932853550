"""The ConsentRegistry's reader and roles: the consumer's consent and every use of their data.

* :class:`ConsentReader` reads consents and data-use receipts (for anyone: a consumer's own
  dashboard, an auditor).
* :class:`ConsumerConsent` is the consumer's hand: grant and revoke, directly (paying gas) or by
  an EIP-712 signature the data user relays (paying nothing), and list every grant and every
  recorded use of their data.
* :class:`DataUser` is a retailer's hand: relay a signed grant or revoke, check that a live
  consent covers a purpose and category, record each use, and open the personal data a consumer
  sealed to its key.

Nothing personal reaches the chain: addresses, purpose and category codes, and hashes. The data
itself travels sealed (ECIES) to the data user's public key, see ``consent/_privacy.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from o2ochain import inputs
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.logs import get_logs
from o2ochain._chain.signers import Signer, typed_signature
from o2ochain._chain.tx import PendingTx, Sender, call_view
from o2ochain._chain.util import address_topic, hex0x
from o2ochain.consent import _privacy as privacy
from o2ochain.deployments import Deployment
from o2ochain.errors import ConfigError, InputError

_ZERO = b"\x00" * 32
DOMAIN_NAME = "o2ochain ConsentRegistry"
GRANT_TYPES = {
    "Grant": [
        {"name": "consumer", "type": "address"},
        {"name": "dataUser", "type": "address"},
        {"name": "purposes", "type": "uint64"},
        {"name": "categories", "type": "uint64"},
        {"name": "expiry", "type": "uint64"},
        {"name": "notice", "type": "bytes32"},
        {"name": "language", "type": "bytes8"},
        {"name": "dataHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint64"},
        {"name": "deadline", "type": "uint64"},
    ]
}
REVOKE_TYPES = {
    "Revoke": [
        {"name": "consumer", "type": "address"},
        {"name": "dataUser", "type": "address"},
        {"name": "nonce", "type": "uint64"},
        {"name": "deadline", "type": "uint64"},
    ]
}


@dataclass(frozen=True)
class ConsentRecord:
    """The consent of ``consumer`` to ``data_user``, as the chain holds it now."""

    consumer: str
    data_user: str
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    expiry: datetime | None
    nonce: int
    revoked: bool
    live: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "dataUser": self.data_user,
            "purposes": list(self.purposes),
            "categories": list(self.categories),
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "nonce": self.nonce,
            "revoked": self.revoked,
            "live": self.live,
        }


@dataclass(frozen=True)
class DataUse:
    """One recorded use of a consumer's data."""

    consumer: str
    data_user: str
    purpose: str
    category: str
    request_hash: str
    consent_nonce: int
    block: int
    tx_hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "dataUser": self.data_user,
            "purpose": self.purpose,
            "category": self.category,
            "requestHash": self.request_hash,
            "consentNonce": self.consent_nonce,
            "block": self.block,
            "txHash": self.tx_hash,
        }


@dataclass(frozen=True)
class _Signed:
    """What every relayed consent message carries: who, to whom, the pair's nonce, a deadline."""

    kind: ClassVar[str] = ""
    consumer: str
    data_user: str
    nonce: int
    deadline: int
    signature: bytes

    def _envelope(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "consumer": self.consumer,
            "dataUser": self.data_user,
            "nonce": self.nonce,
            "deadline": self.deadline,
            "signature": hex0x(self.signature),
        }

    @classmethod
    def _parse(cls, data: dict[str, Any], **extra: Callable[[dict[str, Any]], Any]) -> Any:
        """An instance from JSON: the common fields, plus ``extra`` fields read by their parsers."""
        try:
            fields: dict[str, Any] = {
                "consumer": inputs.address(data["consumer"], "consumer"),
                "data_user": inputs.address(data["dataUser"], "dataUser"),
                "nonce": int(data["nonce"]),
                "deadline": int(data["deadline"]),
                "signature": bytes(HexBytes(data["signature"])),
            }
            fields |= {name: read(data) for name, read in extra.items()}
            return cls(**fields)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:  # OverflowError: int() of a JSON 1e999
            raise InputError(f"not a signed {cls.kind.rsplit('.', 1)[-1]} message: {exc}", field=cls.kind) from exc


@dataclass(frozen=True)
class SignedGrant(_Signed):
    """A consumer's signed grant, for the data user to relay (JSON-serialisable)."""

    kind: ClassVar[str] = "o2ochain.consent.grant"
    purposes: int = 0
    categories: int = 0
    expiry: int = 0
    notice: bytes = _ZERO
    language: bytes = b"\x00" * 8
    data_hash: bytes = _ZERO

    def terms(self) -> tuple[Any, ...]:
        return (self.consumer, self.data_user, self.purposes, self.categories, self.expiry, self.notice, self.language, self.data_hash)

    def to_json(self) -> dict[str, Any]:
        return self._envelope() | {
            "purposes": list(privacy.names_of_purposes(self.purposes)),
            "categories": list(privacy.names_of_categories(self.categories)),
            "expiry": self.expiry,
            "notice": hex0x(self.notice),
            "language": privacy.language_from_bytes8(self.language),
            "dataHash": hex0x(self.data_hash),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedGrant:
        grant: SignedGrant = cls._parse(
            data,
            purposes=lambda d: privacy.purpose_mask(d["purposes"]),
            categories=lambda d: privacy.category_mask(d["categories"]),
            expiry=lambda d: int(d["expiry"]),
            notice=lambda d: bytes(HexBytes(d["notice"])),
            language=lambda d: privacy.language_bytes8(d["language"]),
            data_hash=lambda d: bytes(HexBytes(d["dataHash"])),
        )
        return grant


@dataclass(frozen=True)
class SignedRevoke(_Signed):
    """A consumer's signed revocation: anyone may relay it."""

    kind: ClassVar[str] = "o2ochain.consent.revoke"

    def to_json(self) -> dict[str, Any]:
        return self._envelope()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedRevoke:
        revoke: SignedRevoke = cls._parse(data)
        return revoke


class ConsentReader:
    """Read consents and data-use receipts."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(deployment.address("ConsentRegistry"))
        self.contract: Contract = w3.eth.contract(address=self.address, abi=artifact("ConsentRegistry")["abi"], decode_tuples=True)
        self._from_block = deployment.contracts["ConsentRegistry"].block
        self.chain_id = int(w3.eth.chain_id)

    def domain(self) -> dict[str, Any]:
        return {"name": DOMAIN_NAME, "version": "1", "chainId": self.chain_id, "verifyingContract": self.address}

    def nonce(self, consumer: str, data_user: str) -> int:
        return int(call_view(self.contract.functions.nonce(inputs.address(consumer, "consumer"), inputs.address(data_user, "data_user"))))

    def consent(self, consumer: str, data_user: str) -> ConsentRecord:
        consumer, data_user = inputs.address(consumer, "consumer"), inputs.address(data_user, "data_user")
        view = call_view(self.contract.functions.consent(consumer, data_user))
        expiry = int(view.expiry)
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        revoked = bool(view.revoked)
        granted = int(getattr(view, "grantedAt", 0) or 0) > 0 or int(view.purposes) > 0
        return ConsentRecord(
            consumer=consumer,
            data_user=data_user,
            purposes=privacy.names_of_purposes(int(view.purposes)),
            categories=privacy.names_of_categories(int(view.categories)),
            expiry=datetime.fromtimestamp(expiry, tz=UTC) if expiry else None,
            nonce=int(view.nonce),
            revoked=revoked,
            live=granted and not revoked and expiry > now,
        )

    def is_live(self, consumer: str, data_user: str, purpose: str, category: str) -> bool:
        p = privacy.PURPOSES.index(privacy.purpose_name(purpose))
        c = privacy.CATEGORIES.index(privacy.category_name(category))
        return bool(
            call_view(self.contract.functions.isLive(inputs.address(consumer, "consumer"), inputs.address(data_user, "data_user"), p, c))
        )

    def _logs(self, event: str, consumer: str | None, data_user: str | None) -> list[Any]:
        topic = self.contract.events[event]().topic
        who = None if consumer is None else inputs.address(consumer, "consumer")
        whom = None if data_user is None else inputs.address(data_user, "data_user")
        topics: list[Any] = [topic, address_topic(who), address_topic(whom)]
        logs = get_logs(self.w3, address=self.address, topics=topics, from_block=self._from_block)
        return [self.contract.events[event]().process_log(log) for log in logs]

    def grants(self, consumer: str | None = None, data_user: str | None = None) -> list[dict[str, Any]]:
        """Every grant and revocation, oldest first."""
        out: list[dict[str, Any]] = []
        for name in ("ConsentGranted", "ConsentRevoked"):
            for log in self._logs(name, consumer, data_user):
                a = dict(log["args"])
                row: dict[str, Any] = {
                    "event": "granted" if name == "ConsentGranted" else "revoked",
                    "consumer": a["consumer"],
                    "dataUser": a["dataUser"],
                    "nonce": int(a["nonce"]),
                    "by": a.get("by"),
                    "block": int(log["blockNumber"]),
                    "logIndex": int(log["logIndex"]),
                    "txHash": hex0x(log["transactionHash"]),
                }
                if name == "ConsentGranted":
                    row |= {
                        "purposes": list(privacy.names_of_purposes(int(a["purposes"]))),
                        "categories": list(privacy.names_of_categories(int(a["categories"]))),
                        "expiry": int(a["expiry"]),
                        "notice": hex0x(a["notice"]),
                        "language": privacy.language_from_bytes8(bytes(a["language"])),
                        "dataHash": hex0x(a["dataHash"]),
                    }
                out.append(row)
        out.sort(key=lambda r: (r["block"], r["logIndex"]))
        return out

    def uses(self, consumer: str | None = None, data_user: str | None = None) -> list[DataUse]:
        """Every recorded use of data, oldest first."""
        return [
            DataUse(
                consumer=log["args"]["consumer"],
                data_user=log["args"]["dataUser"],
                purpose=privacy.PURPOSES[int(log["args"]["purpose"])],
                category=privacy.CATEGORIES[int(log["args"]["category"])],
                request_hash=hex0x(log["args"]["requestHash"]),
                consent_nonce=int(log["args"]["consentNonce"]),
                block=int(log["blockNumber"]),
                tx_hash=hex0x(log["transactionHash"]),
            )
            for log in self._logs("DataUsed", consumer, data_user)
        ]


class ConsumerConsent:
    """A consumer's key: grant and revoke consent, see every use of their data."""

    def __init__(self, reader: ConsentReader, account: Signer) -> None:
        self.reader = reader
        self.account = account
        self.address = Web3.to_checksum_address(account.address)
        self._sender: Sender | None = None

    @property
    def sender(self) -> Sender:
        if self._sender is None:
            self._sender = Sender(self.reader.w3, self.account)
        return self._sender

    def _terms(
        self,
        data_user: str,
        purposes: Iterable[str],
        categories: Iterable[str],
        *,
        valid_for: int,
        notice: str,
        language: str,
        data_hash: bytes,
    ) -> tuple[Any, ...]:
        if valid_for <= 0:
            raise InputError("a consent must be valid for a positive number of seconds", field="valid_for", value=valid_for)
        expiry = int(time.time()) + valid_for
        return (
            self.address,
            inputs.address(data_user, "data_user"),
            privacy.purpose_mask(purposes),
            privacy.category_mask(categories),
            expiry,
            privacy.notice_hash(notice),
            privacy.language_bytes8(language),
            data_hash,
        )

    def grant(
        self,
        data_user: str,
        purposes: Iterable[str],
        categories: Iterable[str],
        *,
        valid_for: int = 365 * 86_400,
        notice: str = "",
        language: str = "en",
        data_hash: bytes = _ZERO,
    ) -> str:
        """Grant consent directly (the consumer pays the gas)."""
        terms = self._terms(data_user, purposes, categories, valid_for=valid_for, notice=notice, language=language, data_hash=data_hash)
        receipt = self.sender.transact(self.reader.contract.functions.grant(terms[1], terms), label="grant consent")
        return hex0x(receipt["transactionHash"])

    def sign_grant(
        self,
        data_user: str,
        purposes: Iterable[str],
        categories: Iterable[str],
        *,
        valid_for: int = 365 * 86_400,
        notice: str = "",
        language: str = "en",
        data_hash: bytes = _ZERO,
        deadline_in: int = 3_600,
    ) -> SignedGrant:
        """A grant signed off chain (EIP-712) for the data user to relay: the consumer pays nothing."""
        terms = self._terms(data_user, purposes, categories, valid_for=valid_for, notice=notice, language=language, data_hash=data_hash)
        nonce = self.reader.nonce(self.address, terms[1])
        deadline = int(time.time()) + deadline_in
        names = ("consumer", "dataUser", "purposes", "categories", "expiry", "notice", "language", "dataHash")
        message = dict(zip(names, terms, strict=True)) | {"nonce": nonce, "deadline": deadline}
        signature = typed_signature(self.account, self.reader.domain(), GRANT_TYPES, message)
        consumer, user, purpose_bits, category_bits, expiry, notice_h, lang, committed = terms
        return SignedGrant(
            consumer=consumer,
            data_user=user,
            purposes=purpose_bits,
            categories=category_bits,
            expiry=expiry,
            notice=notice_h,
            language=lang,
            data_hash=committed,
            nonce=nonce,
            deadline=deadline,
            signature=signature,
        )

    def revoke(self, data_user: str) -> str:
        receipt = self.sender.transact(self.reader.contract.functions.revoke(inputs.address(data_user, "data_user")), label="revoke consent")
        return hex0x(receipt["transactionHash"])

    def sign_revoke(self, data_user: str, *, deadline_in: int = 3_600) -> SignedRevoke:
        """A revocation signed off chain, as easy as granting: anyone may relay it."""
        data_user = inputs.address(data_user, "data_user")
        nonce = self.reader.nonce(self.address, data_user)
        deadline = int(time.time()) + deadline_in
        message = {"consumer": self.address, "dataUser": data_user, "nonce": nonce, "deadline": deadline}
        signature = typed_signature(self.account, self.reader.domain(), REVOKE_TYPES, message)
        return SignedRevoke(self.address, data_user, nonce, deadline, signature)

    def consents(self) -> list[dict[str, Any]]:
        return self.reader.grants(consumer=self.address)

    def uses(self) -> list[DataUse]:
        return self.reader.uses(consumer=self.address)


class DataUser:
    """A retailer's key: relay signed consents, check them, record each use of data.

    Opening the personal data consumers seal to the data user is decryption, not signing: it
    takes the secret key behind the data user's published public key. ``sealing_key`` is that key
    (an eth-account account, an eth-keys key, or its 32 bytes); by default an eth-account
    signer's own key, which it holds in memory anyway. Any other signer (a hardware wallet, a
    KMS) relays, checks and records, and opens sealed data only with a ``sealing_key``.
    """

    def __init__(self, reader: ConsentReader, account: Signer, *, sealing_key: privacy.PrivateKeyLike | None = None) -> None:
        self.reader = reader
        self.account = account
        self.address = Web3.to_checksum_address(account.address)
        self.sender = Sender(reader.w3, account)
        self._sealing_key = sealing_key if sealing_key is not None else account if isinstance(account, LocalAccount) else None
        if sealing_key is not None and privacy.address_of_public_key(privacy.public_key_of(sealing_key)) != self.address:
            raise ConfigError(f"the sealing key given is not the key of {self.address}: consumers check the one against the other")

    def _key(self) -> privacy.PrivateKeyLike:
        if self._sealing_key is None:
            raise ConfigError(
                f"opening sealed data takes the secret key of {self.address}, which its signer keeps to itself: "
                "give the data user its sealing_key (on the command line, --account as a keystore file or env:VAR)"
            )
        return self._sealing_key

    @property
    def public_key(self) -> bytes:
        """The key consumers seal their personal data to."""
        return privacy.public_key_of(self._key())

    def relay_grant(self, signed: SignedGrant) -> str:
        fn = self.reader.contract.functions.grantWithSignature(signed.terms(), signed.nonce, signed.deadline, signed.signature)
        return hex0x(self.sender.transact(fn, label="relay signed consent")["transactionHash"])

    def relay_revoke(self, signed: SignedRevoke) -> str:
        fn = self.reader.contract.functions.revokeWithSignature(
            signed.consumer, signed.data_user, signed.nonce, signed.deadline, signed.signature
        )
        return hex0x(self.sender.transact(fn, label="relay signed revocation")["transactionHash"])

    def check(self, consumer: str, purpose: str, category: str) -> bool:
        return self.reader.is_live(consumer, self.address, purpose, category)

    def record_use(self, consumer: str, purpose: str, category: str, request: bytes | str) -> str:
        """Record one use of ``consumer``'s data; refused on chain unless a live consent covers it."""
        p = privacy.PURPOSES.index(privacy.purpose_name(purpose))
        c = privacy.CATEGORIES.index(privacy.category_name(category))
        request_hash = _request_hash(request)
        fn = self.reader.contract.functions.recordUse(inputs.address(consumer, "consumer"), p, c, request_hash)
        return hex0x(self.sender.transact(fn, label="record data use")["transactionHash"])

    def record_uses(self, uses: Sequence[tuple[str, str, str, bytes | str]], *, batch: int = 200) -> list[str]:
        """Record many uses, pipelined in batches."""
        pending: list[PendingTx] = []
        for start in range(0, len(uses), batch):
            rows = [
                (
                    inputs.address(consumer, "consumer"),
                    privacy.PURPOSES.index(privacy.purpose_name(purpose)),
                    privacy.CATEGORIES.index(privacy.category_name(category)),
                    _request_hash(request),
                )
                for consumer, purpose, category, request in uses[start : start + batch]
            ]
            pending.append(self.sender.send(self.reader.contract.functions.recordUses(rows), label=f"record {len(rows)} data uses"))
        return [hex0x(r["transactionHash"]) for r in self.sender.wait(pending)]

    def open(self, sealed: privacy.Sealed) -> dict[str, Any]:
        """Decrypt personal data sealed to this data user's key and check its commitment."""
        return privacy.open_sealed(sealed, self._key())

    def uses(self) -> list[DataUse]:
        return self.reader.uses(data_user=self.address)


def _request_hash(request: bytes | str) -> bytes:
    from o2ochain.gs1 import keccak256

    if isinstance(request, bytes) and len(request) == 32:
        return request
    data = request.encode("utf-8") if isinstance(request, str) else request
    return keccak256(data)
