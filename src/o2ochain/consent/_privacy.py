"""Personal data off chain: sealed to the data user's key, committed on chain by a salted hash.

The consent registry holds addresses, purpose and category codes and hashes, never personal data.
This module is everything around that rule:

* **Keys.** A data user publishes its secp256k1 public key; :func:`public_key_of` derives it from
  an account and :func:`address_of_public_key` checks a published key against the data user's
  address, so a consumer cannot be tricked into sealing to somebody else's key.
* **Sealing.** :func:`seal` encrypts a personal record to that key with ECIES (the ``eciespy``
  library: secp256k1 ECDH, HKDF-SHA256, AES-256-GCM) and computes a *salted* commitment,
  ``keccak256(salt ‖ canonical_json)``, that can go on chain in a consent or data-use receipt.
  The 32-byte random salt travels inside the ciphertext only, so the commitment of a phone number
  or a postcode cannot be brute-forced from the chain. :func:`open_sealed` decrypts and checks
  the commitment; any failure raises :class:`PrivacyError`.
* **Leak scanning.** :func:`contains_plaintext` looks for personal values in raw bytes (calldata,
  logs) in the encodings a careless contract call could have used, so tests can prove that none
  of a run's personal data ever reached the chain.
* **Vocabularies.** :data:`PURPOSES` and :data:`CATEGORIES` mirror the contract's bit masks (bit
  ``i`` is entry ``i``) with a W3C DPV IRI for each; :func:`purpose_mask`, :func:`names_of_purposes`
  and friends convert between names and masks.
* **Notices.** :func:`notice_hash` and :func:`language_bytes8` give the ``bytes32`` and ``bytes8``
  a consent records for the privacy notice the consumer was shown.

Canonical forms chosen here, and why:

* Public keys are returned as the **64-byte uncompressed key without the 0x04 prefix**, the form
  Ethereum hashes into an address (and what eth-keys and web3 print). Every function that takes a
  public key also accepts the 33-byte compressed and 65-byte prefixed forms, as bytes or hex.
* The record is encoded as RFC 8785 canonical JSON (:func:`o2ochain.epcis.canonical_json`):
  sorted keys, UTF-8, no white space, one spelling per number, so anyone holding the record and
  the salt, in any language, recomputes the same commitment.
* Errors: a record, key or envelope that is malformed before any cryptography is attempted is an
  :class:`~o2ochain.errors.InputError`; a sealed record that fails to open or to match its
  commitment is a :class:`PrivacyError` (``O2OError → PrivacyError``), which says which check
  failed in ``reason``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import ecies
from ecies.config import Config as _EciesConfig
from ecies.keys import PublicKey as _EciesPublicKey
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError

from o2ochain._chain.words import name_codes
from o2ochain.epcis import canonical_json
from o2ochain.errors import InputError, PrivacyError
from o2ochain.gs1 import keccak256

# --------------------------------------------------------------------------------------------
# keys

PrivateKeyLike: TypeAlias = LocalAccount | PrivateKey | bytes | str
"""What :func:`public_key_of` and :func:`open_sealed` accept: an eth-account account, an eth-keys
private key, or the raw 32-byte secret as bytes or hex."""


def _private_key(value: PrivateKeyLike, *, field: str = "private_key") -> PrivateKey:
    if isinstance(value, PrivateKey):
        return value
    if isinstance(value, LocalAccount):
        raw = bytes(value.key)
    elif isinstance(value, bytes | bytearray):
        raw = bytes(value)
    elif isinstance(value, str):
        raw = _unhex(value, field)
    else:
        raise InputError(f"expected an account or a 32-byte private key, got {type(value).__name__}", field=field)
    if len(raw) != 32:
        raise InputError(f"a secp256k1 private key is 32 bytes, got {len(raw)}", field=field)
    try:
        return PrivateKey(raw)
    except ValidationError as exc:  # 0, or not below the curve order
        raise InputError(f"not a valid secp256k1 private key: {exc}", field=field) from None


def _unhex(text: str, field: str) -> bytes:
    body = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        return bytes.fromhex(body)
    except ValueError:
        shown = text if len(text) <= 20 else text[:17] + "..."
        raise InputError(f"{shown!r} is not hex: expected 0x and hex digits", field=field, value=text) from None


def public_key_of(account_or_private_key: PrivateKeyLike) -> bytes:
    """The secp256k1 public key to publish for an account: 64 bytes, uncompressed, no 0x04 prefix.

    This is the form Ethereum hashes into an address, so ``address_of_public_key(public_key_of(a))
    == a.address``.
    """
    return bytes(_private_key(account_or_private_key).public_key.to_bytes())


def normalize_public_key(public_key: bytes | str) -> bytes:
    """Return ``public_key`` (33, 64 or 65 bytes, as bytes or hex) in the canonical 64-byte form.

    The point is checked to lie on secp256k1, so a mistyped key fails here, where the mistake is
    made, rather than as an undecryptable record on the far side.
    """
    raw = _unhex(public_key, "public_key") if isinstance(public_key, str) else bytes(public_key)
    if len(raw) == 64:
        raw = b"\x04" + raw
    if len(raw) not in (33, 65):
        raise InputError(f"a secp256k1 public key is 33 (compressed), 64 or 65 (uncompressed) bytes, got {len(raw)}", field="public_key")
    try:
        point = _EciesPublicKey("secp256k1", raw)
    except ValueError:
        raise InputError("not a point on secp256k1", field="public_key", value="0x" + raw.hex()) from None
    return point.to_bytes(compressed=False)[1:]


def address_of_public_key(public_key: bytes | str) -> str:
    """The checksummed Ethereum address that ``public_key`` controls.

    A consumer compares this with the data user's address before sealing to a key it was handed.
    """
    return to_checksum_address(keccak256(normalize_public_key(public_key))[-20:])


# --------------------------------------------------------------------------------------------
# sealing

ENVELOPE_VERSION: Final = 1
ALGORITHM: Final = "ecies-secp256k1-aes256gcm"
SALT_BYTES: Final = 32

# Pinned rather than taken from ``ecies.ECIES_CONFIG``: that object is a mutable global, and
# whatever another import sets there must not change our wire format. These are eciespy's
# defaults: ephemeral key 65 bytes uncompressed, HKDF-SHA256 over the uncompressed points,
# AES-256-GCM with a 16-byte nonce and 16-byte tag. Ciphertext = eph_pk ‖ nonce ‖ tag ‖ data.
_ECIES: Final = _EciesConfig(
    elliptic_curve="secp256k1",
    is_ephemeral_key_compressed=False,
    is_hkdf_key_compressed=False,
    symmetric_algorithm="aes-256-gcm",
    symmetric_nonce_length=16,
)
_OVERHEAD: Final = 65 + 16 + 16


def canonical_record(personal: Mapping[str, Any]) -> bytes:
    """The RFC 8785 canonical JSON of a personal record (a JSON object with string keys)."""
    if not isinstance(personal, Mapping):
        raise InputError(f"a personal record is a mapping of names to values, got {type(personal).__name__}", field="personal")
    bad = [k for k in personal if not isinstance(k, str)]
    if bad:
        raise InputError(f"personal record keys must be strings, got {bad[0]!r}", field="personal")
    return canonical_json(dict(personal))


def commitment_of(personal: Mapping[str, Any], salt: bytes) -> bytes:
    """``keccak256(salt ‖ canonical_json(personal))``: the 32-byte hash that may go on chain.

    The salt makes the hash useless to anyone who only has the chain: without it, the hash of a
    phone number could be found by hashing every phone number.
    """
    return keccak256(_check_salt(salt) + canonical_record(personal))


def _check_salt(salt: bytes) -> bytes:
    if not isinstance(salt, bytes | bytearray) or len(salt) != SALT_BYTES:
        raise InputError(f"a salt is {SALT_BYTES} bytes", field="salt")
    return bytes(salt)


@dataclass(frozen=True)
class Sealed:
    """A personal record encrypted to one data user, with its salted commitment.

    ``ciphertext`` is ECIES over ``salt ‖ canonical_json``; only the recipient can read it.
    ``commitment`` is ``keccak256(salt ‖ canonical_json)``; it is safe to publish.
    """

    ciphertext: bytes
    commitment: bytes

    def to_json(self) -> dict[str, Any]:
        """The envelope to hand to the data user: version, algorithm, base64 ciphertext, hex commitment."""
        return {
            "v": ENVELOPE_VERSION,
            "alg": ALGORITHM,
            "ciphertext": base64.b64encode(self.ciphertext).decode("ascii"),
            "commitment": "0x" + self.commitment.hex(),
        }

    def dumps(self) -> str:
        """:meth:`to_json` as a compact JSON string."""
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> Sealed:
        """Read an envelope written by :meth:`to_json` (as a mapping or JSON text).

        Refuses another version or algorithm rather than guessing: a record sealed some other
        way would only fail later, as an undecryptable record.
        """
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise InputError(f"sealed envelope is not JSON: {exc}") from None
        if not isinstance(data, Mapping):
            raise InputError("a sealed envelope is a JSON object")
        if data.get("v") != ENVELOPE_VERSION:
            raise InputError(f"unsupported envelope version {data.get('v')!r}, expected {ENVELOPE_VERSION}", field="v")
        if data.get("alg") != ALGORITHM:
            raise InputError(f"unsupported algorithm {data.get('alg')!r}, expected {ALGORITHM!r}", field="alg")
        text = data.get("ciphertext")
        if not isinstance(text, str):
            raise InputError("ciphertext must be a base64 string", field="ciphertext")
        try:
            ciphertext = base64.b64decode(text, validate=True)
        except binascii.Error:
            raise InputError("ciphertext is not valid base64", field="ciphertext") from None
        commitment_text = data.get("commitment")
        if not isinstance(commitment_text, str) or not commitment_text.startswith("0x"):
            raise InputError("commitment must be 0x-prefixed hex", field="commitment")
        commitment = _unhex(commitment_text, "commitment")
        if len(commitment) != 32:
            raise InputError(f"commitment is 32 bytes, got {len(commitment)}", field="commitment")
        return cls(ciphertext=ciphertext, commitment=commitment)


def seal(personal: Mapping[str, Any], recipient_public_key: bytes | str, *, salt: bytes | None = None) -> Sealed:
    """Encrypt ``personal`` to ``recipient_public_key`` and commit to it with a fresh salt.

    ``salt`` is for re-sealing the same record to another data user under the same commitment
    (and for tests); leave it out otherwise, so every seal draws 32 fresh random bytes.
    """
    body = canonical_record(personal)
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else _check_salt(salt)
    recipient = b"\x04" + normalize_public_key(recipient_public_key)
    plaintext = salt + body
    return Sealed(ciphertext=ecies.encrypt(recipient, plaintext, _ECIES), commitment=keccak256(plaintext))


def open_sealed(sealed: Sealed, private_key: PrivateKeyLike, *, expected_commitment: bytes | None = None) -> dict[str, Any]:
    """Decrypt ``sealed`` with the recipient's key and check it against its commitment.

    Pass ``expected_commitment`` (the hash recorded on chain) to also check that this is the
    record the consumer committed to, not merely a self-consistent one.
    Raises :class:`PrivacyError` on a wrong key, an altered ciphertext or a commitment mismatch.
    """
    secret = _private_key(private_key).to_bytes()
    if len(sealed.ciphertext) < _OVERHEAD + SALT_BYTES:
        raise PrivacyError(f"sealed record too short ({len(sealed.ciphertext)} bytes) to hold a record", reason="malformed")
    try:
        plaintext = ecies.decrypt(secret, sealed.ciphertext, _ECIES)
    except ValueError as exc:
        if "MAC check failed" in str(exc):
            raise PrivacyError(
                "cannot open sealed record: it was sealed to another key, or the ciphertext was altered", reason="undecryptable"
            ) from None
        raise PrivacyError(f"cannot open sealed record: malformed ciphertext ({exc})", reason="malformed") from None
    body = plaintext[SALT_BYTES:]  # the salt is checked through the commitment and kept secret
    commitment = keccak256(plaintext)
    if commitment != sealed.commitment:
        raise PrivacyError(
            f"sealed record does not match its commitment: holds 0x{commitment.hex()}, envelope says 0x{sealed.commitment.hex()}",
            reason="commitment_mismatch",
        )
    if expected_commitment is not None and commitment != bytes(expected_commitment):
        raise PrivacyError(
            f"sealed record is not the one committed to: holds 0x{commitment.hex()}, expected 0x{bytes(expected_commitment).hex()}",
            reason="commitment_mismatch",
        )
    try:
        record = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PrivacyError("sealed record decrypted but does not hold UTF-8 JSON", reason="malformed") from None
    if not isinstance(record, dict) or canonical_json(record) != body:
        raise PrivacyError("sealed record decrypted but does not hold a canonical JSON object", reason="malformed")
    return record


# --------------------------------------------------------------------------------------------
# leak scanning


def contains_plaintext(blob: bytes, values: Iterable[str]) -> list[str]:
    """Return those ``values`` that occur in ``blob``, in the order given, each once.

    A value is found in any letter case, as UTF-8, UTF-16 (either byte order), or as the hex
    spelling of its UTF-8 or UTF-16 bytes (as ASCII text, e.g. inside a JSON log or a hex
    calldata dump). This is a leak detector: it prefers a false alarm to a miss, so values should
    be long enough not to occur by chance (a full phone number, not "1").
    """
    haystack = bytes(blob).lower()
    found: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value:
            raise InputError("values to look for must be non-empty strings", field="values", value=value)
        if value in found:
            continue
        if any(needle in haystack for needle in _needles(value)):
            found.append(value)
    return found


def _needles(value: str) -> set[bytes]:
    needles: set[bytes] = set()
    for variant in {value, value.lower(), value.upper(), value.casefold()}:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            raw = variant.encode(encoding, errors="surrogatepass")
            needles.add(raw.lower())
            needles.add(raw.hex().encode("ascii"))
    return needles


# --------------------------------------------------------------------------------------------
# purposes and categories (bit i of the contract's mask is entry i)

PURPOSES: Final[tuple[str, ...]] = (
    "order_fulfilment",
    "delivery",
    "personalised_recommendations",
    "marketing",
    "analytics",
    "third_party_sharing",
)
"""Purposes of processing, in the order of the contract's purpose bits."""

_DPV: Final = "https://w3id.org/dpv#"
_DPV_PD: Final = "https://w3id.org/dpv/pd#"

PURPOSE_IRIS: Final[Mapping[str, str]] = {
    "order_fulfilment": _DPV + "ServiceProvision",
    "delivery": _DPV + "DeliveryOfGoods",
    "personalised_recommendations": _DPV + "ProvidePersonalisedRecommendations",
    "marketing": _DPV + "Marketing",
    "analytics": _DPV + "ServiceUsageAnalytics",
    # DPV models disclosure as a processing operation (dpv:Share) to a dpv:ThirdParty recipient
    # rather than as a purpose; this is the closest single term.
    "third_party_sharing": _DPV + "Share",
}
"""The W3C Data Privacy Vocabulary concept each purpose stands for, for notices and exports."""

CATEGORIES: Final[tuple[str, ...]] = (
    "contact",
    "postal_address",
    "purchase_history",
    "location",
    "payment",
    "demographics",
    "preferences",
    "device_identifiers",
)
"""Categories of personal data, in the order of the contract's category bits."""

name_codes("purpose", PURPOSES)  # refusals say "purpose: marketing", not "purpose: 3"
name_codes("category", CATEGORIES)

CATEGORY_IRIS: Final[Mapping[str, str]] = {
    "contact": _DPV_PD + "Contact",
    "postal_address": _DPV_PD + "PhysicalAddress",
    "purchase_history": _DPV_PD + "PurchasesAndSpendingHabit",
    "location": _DPV_PD + "Location",
    "payment": _DPV_PD + "FinancialAccount",
    "demographics": _DPV_PD + "Demographic",
    "preferences": _DPV_PD + "Preference",
    "device_identifiers": _DPV_PD + "DeviceBased",
}
"""The DPV personal-data (dpv-pd) concept each category stands for."""


def _vocabulary_name(value: str | int, vocabulary: tuple[str, ...], iris: Mapping[str, str], kind: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(vocabulary):
            return vocabulary[value]
        raise InputError(f"no {kind} number {value}; valid: 0..{len(vocabulary) - 1} ({', '.join(vocabulary)})", field=kind, value=value)
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key in vocabulary:
            return key
        for name, iri in iris.items():
            if value.strip() == iri:
                return name
    raise InputError(f"unknown {kind} {value!r}; valid: {', '.join(vocabulary)}", field=kind, value=value)


def purpose_name(purpose: str | int) -> str:
    """The canonical name of a purpose given by name (any case, ``-`` or ``_``), bit number or DPV IRI."""
    return _vocabulary_name(purpose, PURPOSES, PURPOSE_IRIS, "purpose")


def category_name(category: str | int) -> str:
    """The canonical name of a data category given by name, bit number or DPV IRI."""
    return _vocabulary_name(category, CATEGORIES, CATEGORY_IRIS, "category")


def purpose_index(purpose: str | int) -> int:
    """The bit number of a purpose in the contract's mask (the ``uint8`` a data-use receipt records)."""
    return PURPOSES.index(purpose_name(purpose))


def category_index(category: str | int) -> int:
    """The bit number of a data category in the contract's mask."""
    return CATEGORIES.index(category_name(category))


def _names(names: Iterable[str | int] | str) -> list[str | int]:
    # A bare string is one name or a comma-separated list (as typed on a command line), never
    # a sequence of one-letter names.
    if isinstance(names, str):
        return [part for part in (p.strip() for p in names.split(",")) if part]
    return list(names)


def purpose_mask(names: Iterable[str | int] | str) -> int:
    """The contract's purpose bit mask for ``names``; unknown names raise :class:`InputError`."""
    mask = 0
    for name in _names(names):
        mask |= 1 << purpose_index(name)
    return mask


def category_mask(names: Iterable[str | int] | str) -> int:
    """The contract's category bit mask for ``names``; unknown names raise :class:`InputError`."""
    mask = 0
    for name in _names(names):
        mask |= 1 << category_index(name)
    return mask


def _names_of(mask: int, vocabulary: tuple[str, ...], kind: str) -> tuple[str, ...]:
    if mask < 0 or mask >> len(vocabulary):
        raise InputError(f"{kind} mask {mask:#x} has bits beyond the {len(vocabulary)} known {kind}s", field=kind, value=mask)
    return tuple(name for i, name in enumerate(vocabulary) if mask >> i & 1)


def names_of_purposes(mask: int) -> tuple[str, ...]:
    """The purpose names set in a mask, in bit order."""
    return _names_of(mask, PURPOSES, "purpose")


def names_of_categories(mask: int) -> tuple[str, ...]:
    """The data category names set in a mask, in bit order."""
    return _names_of(mask, CATEGORIES, "category")


# --------------------------------------------------------------------------------------------
# privacy notices


def notice_hash(text: str | bytes) -> bytes:
    """``keccak256`` of the privacy notice the consumer was shown (text as UTF-8, bytes as given).

    No normalisation: the hash must match the published document byte for byte, so anyone can
    check which notice a consent was given under.
    """
    return keccak256(text.encode("utf-8") if isinstance(text, str) else bytes(text))


# A loose BCP 47 check: alphanumeric subtags of 1 to 8 characters joined by "-", starting with a
# 2-3 letter language (or "i"/"x" for grandfathered and private use). Full validation needs the
# IANA registry; the point here is to refuse what is plainly not a language tag.
_LANGUAGE_TAG = re.compile(r"(?:[a-z]{2,3}|[ix])(?:-[a-z0-9]{1,8})*", re.IGNORECASE)


def _normalize_language(tag: str) -> str:
    """Conventional BCP 47 casing (``en-GB``, ``zh-Hant-TW``), so one language has one ``bytes8``."""
    parts = tag.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def language_bytes8(tag: str) -> bytes:
    """The ``bytes8`` a consent stores for the notice's language: ASCII tag, left-aligned, zero-padded."""
    if not isinstance(tag, str) or not tag.isascii() or not _LANGUAGE_TAG.fullmatch(tag):
        raise InputError(f"not a BCP 47 language tag: {tag!r} (e.g. 'en', 'en-GB', 'zh-Hant')", field="language", value=tag)
    if len(tag) > 8:
        raise InputError(f"language tag {tag!r} is longer than the 8 bytes a consent stores", field="language", value=tag)
    return _normalize_language(tag).encode("ascii").ljust(8, b"\x00")


def language_from_bytes8(value: bytes) -> str:
    """The language tag stored in a consent's ``bytes8``; ``""`` if none was recorded (all zero)."""
    raw = bytes(value)
    if len(raw) != 8:
        raise InputError(f"a language field is 8 bytes, got {len(raw)}", field="language")
    text = raw.rstrip(b"\x00")
    if not text:
        return ""
    if b"\x00" in text or not text.isascii():
        raise InputError(f"language field 0x{raw.hex()} is not a left-aligned ASCII tag", field="language")
    tag = text.decode("ascii")
    if not _LANGUAGE_TAG.fullmatch(tag):
        raise InputError(f"language field holds {tag!r}, not a BCP 47 tag", field="language")
    return tag
