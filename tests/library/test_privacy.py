"""Personal data sealed off chain: ECIES to the data user's key, salted commitments, vocabularies."""

from __future__ import annotations

import dataclasses
import json

import pytest
from ecies.keys import PublicKey as EciesPublicKey
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak as reference_keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2ochain.consent import (
    ALGORITHM,
    CATEGORIES,
    CATEGORY_IRIS,
    PURPOSE_IRIS,
    PURPOSES,
    PrivacyError,
    Sealed,
    address_of_public_key,
    category_index,
    category_mask,
    commitment_of,
    contains_plaintext,
    language_bytes8,
    language_from_bytes8,
    names_of_categories,
    names_of_purposes,
    normalize_public_key,
    notice_hash,
    open_sealed,
    public_key_of,
    purpose_index,
    purpose_mask,
    purpose_name,
    seal,
)
from o2ochain.errors import InputError, O2OError

# Fixed keys: deterministic, and no key generation inside hypothesis loops.
RETAILER: LocalAccount = Account.from_key(bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"))
OTHER: LocalAccount = Account.from_key(bytes.fromhex("8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f"))

RECORD = {"name": "Zoë Example", "phone": "+44 7700 900123", "address": {"line1": "1 High Street", "postcode": "AB1 2CD"}}


# --------------------------------------------------------------------------------------------
# keys


def test_public_key_of_is_64_bytes_and_matches_the_address() -> None:
    pub = public_key_of(RETAILER)
    assert len(pub) == 64
    assert address_of_public_key(pub) == RETAILER.address
    assert public_key_of(bytes(RETAILER.key)) == pub
    assert public_key_of(RETAILER.key.hex()) == pub


def test_normalize_public_key_accepts_compressed_prefixed_and_hex_forms() -> None:
    pub = public_key_of(RETAILER)
    compressed = EciesPublicKey("secp256k1", pub).to_bytes(compressed=True)
    assert len(compressed) == 33
    for form in (pub, b"\x04" + pub, compressed, "0x" + pub.hex(), compressed.hex()):
        assert normalize_public_key(form) == pub
        assert address_of_public_key(form) == RETAILER.address


def test_address_of_public_key_differs_for_another_key() -> None:
    assert address_of_public_key(public_key_of(OTHER)) != RETAILER.address


@pytest.mark.parametrize(
    "bad",
    [b"\x04" + b"\x01" * 64, b"\x02" + b"\x03" * 32, b"\x01" * 63, b""],
    ids=["off-curve-uncompressed", "off-curve-compressed", "63-bytes", "empty"],
)
def test_normalize_public_key_refuses_what_is_not_a_curve_point(bad: bytes) -> None:
    with pytest.raises(InputError, match=r"public key|secp256k1"):
        normalize_public_key(bad)


def test_public_key_of_refuses_a_short_or_zero_private_key() -> None:
    with pytest.raises(InputError, match="32 bytes"):
        public_key_of(b"\x01" * 31)
    with pytest.raises(InputError, match="not a valid secp256k1 private key"):
        public_key_of(b"\x00" * 32)


# --------------------------------------------------------------------------------------------
# seal and open


def test_seal_open_round_trip() -> None:
    sealed = seal(RECORD, public_key_of(RETAILER))
    assert open_sealed(sealed, RETAILER) == RECORD
    assert open_sealed(sealed, bytes(RETAILER.key), expected_commitment=sealed.commitment) == RECORD


def test_seal_commitment_is_keccak_of_salt_and_canonical_json() -> None:
    salt = bytes(range(32))
    sealed = seal(RECORD, public_key_of(RETAILER), salt=salt)
    canonical = json.dumps(RECORD, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert sealed.commitment == reference_keccak(salt + canonical) == commitment_of(RECORD, salt)
    # key order in the input does not matter
    assert commitment_of(dict(reversed(list(RECORD.items()))), salt) == sealed.commitment


def test_seal_twice_gives_different_ciphertexts_and_commitments() -> None:
    pub = public_key_of(RETAILER)
    first, second = seal(RECORD, pub), seal(RECORD, pub)
    assert first.ciphertext != second.ciphertext
    assert first.commitment != second.commitment
    assert open_sealed(first, RETAILER) == open_sealed(second, RETAILER) == RECORD


def test_open_sealed_refuses_the_wrong_key() -> None:
    sealed = seal(RECORD, public_key_of(RETAILER))
    with pytest.raises(PrivacyError, match="another key, or the ciphertext was altered") as info:
        open_sealed(sealed, OTHER)
    assert info.value.reason == "undecryptable"
    assert isinstance(info.value, O2OError)


@pytest.mark.parametrize("position", [70, 90, 120, -1])  # nonce, tag, body, last byte
def test_open_sealed_refuses_a_tampered_ciphertext(position: int) -> None:
    sealed = seal(RECORD, public_key_of(RETAILER))
    altered = bytearray(sealed.ciphertext)
    altered[position] ^= 0x01
    with pytest.raises(PrivacyError) as info:
        open_sealed(dataclasses.replace(sealed, ciphertext=bytes(altered)), RETAILER)
    assert info.value.reason == "undecryptable"


def test_open_sealed_refuses_a_replaced_ephemeral_key_or_a_truncated_ciphertext() -> None:
    sealed = seal(RECORD, public_key_of(RETAILER))
    not_a_point = b"\x04" + b"\x01" * 64 + sealed.ciphertext[65:]
    with pytest.raises(PrivacyError) as info:
        open_sealed(dataclasses.replace(sealed, ciphertext=not_a_point), RETAILER)
    assert info.value.reason == "malformed"
    with pytest.raises(PrivacyError, match="too short") as info:
        open_sealed(dataclasses.replace(sealed, ciphertext=sealed.ciphertext[:100]), RETAILER)
    assert info.value.reason == "malformed"


def test_open_sealed_refuses_a_commitment_mismatch() -> None:
    pub = public_key_of(RETAILER)
    sealed, other = seal(RECORD, pub), seal({"phone": "+44 7700 900999"}, pub)
    swapped = Sealed(ciphertext=sealed.ciphertext, commitment=other.commitment)
    with pytest.raises(PrivacyError, match="does not match its commitment") as info:
        open_sealed(swapped, RETAILER)
    assert info.value.reason == "commitment_mismatch"
    # self-consistent, but not the record the consumer committed to on chain
    with pytest.raises(PrivacyError, match="not the one committed to") as info:
        open_sealed(sealed, RETAILER, expected_commitment=other.commitment)
    assert info.value.reason == "commitment_mismatch"


def test_seal_refuses_what_is_not_a_json_object() -> None:
    pub = public_key_of(RETAILER)
    with pytest.raises(InputError, match="mapping"):
        seal(["not", "a", "mapping"], pub)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="keys must be strings"):
        seal({1: "one"}, pub)  # type: ignore[dict-item]
    with pytest.raises(InputError, match="NaN"):
        seal({"x": float("nan")}, pub)
    with pytest.raises(InputError, match="salt"):
        seal(RECORD, pub, salt=b"short")


def test_sealed_envelope_json_round_trip() -> None:
    sealed = seal(RECORD, public_key_of(RETAILER))
    envelope = sealed.to_json()
    assert envelope["v"] == 1
    assert envelope["alg"] == ALGORITHM == "ecies-secp256k1-aes256gcm"
    assert envelope["commitment"] == "0x" + sealed.commitment.hex()
    assert Sealed.from_json(envelope) == sealed
    assert Sealed.from_json(json.dumps(envelope)) == sealed
    assert Sealed.from_json(sealed.dumps()) == sealed
    assert open_sealed(Sealed.from_json(sealed.dumps()), RETAILER) == RECORD


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"v": 2}, "v"),
        ({"alg": "ecies-x25519"}, "alg"),
        ({"ciphertext": "not base64!"}, "ciphertext"),
        ({"commitment": "0x1234"}, "commitment"),
        ({"commitment": "1f" * 32}, "commitment"),
    ],
)
def test_sealed_from_json_refuses_a_bad_envelope(change: dict[str, object], field: str) -> None:
    envelope = seal(RECORD, public_key_of(RETAILER)).to_json() | change
    with pytest.raises(InputError) as info:
        Sealed.from_json(envelope)
    assert info.value.field == field


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=8))
def test_seal_open_round_trip_for_any_dict_of_strings(record: dict[str, str]) -> None:
    sealed = seal(record, public_key_of(RETAILER))
    assert open_sealed(sealed, RETAILER, expected_commitment=sealed.commitment) == record


# --------------------------------------------------------------------------------------------
# leak scanning


PHONE = "+44 7700 900123"
EMAIL = "Zoe.Example@mail.test"


@pytest.mark.parametrize(
    "blob",
    [
        b"\x00\x01" + PHONE.encode("utf-8") + b"\xff",
        PHONE.encode("utf-16-le"),
        PHONE.encode("utf-16-be"),
        b'{"data":"0x' + PHONE.encode("utf-8").hex().encode() + b'"}',
        b"0X" + PHONE.encode("utf-8").hex().upper().encode(),
        abi_encode(["string"], [PHONE]),
    ],
    ids=["utf8", "utf16le", "utf16be", "hex", "HEX", "abi"],
)
def test_contains_plaintext_finds_the_value_in_each_encoding(blob: bytes) -> None:
    assert contains_plaintext(blob, [PHONE, "Someone Else"]) == [PHONE]


def test_contains_plaintext_ignores_case() -> None:
    assert contains_plaintext(b"to: " + EMAIL.upper().encode(), [EMAIL]) == [EMAIL]
    assert contains_plaintext(EMAIL.lower().encode("utf-16-le"), [EMAIL]) == [EMAIL]
    assert contains_plaintext("ZOË".encode(), ["zoë"]) == ["zoë"]


def test_contains_plaintext_misses_a_near_miss() -> None:
    blob = b"+44 7700 900124 " + "+44 7700 90012".encode("utf-16-le") + b"+44 7700 900 123"
    assert contains_plaintext(blob, [PHONE]) == []


def test_contains_plaintext_finds_nothing_in_a_sealed_record() -> None:
    sealed = seal({"phone": PHONE, "email": EMAIL}, public_key_of(RETAILER))
    assert contains_plaintext(sealed.ciphertext + sealed.commitment + sealed.dumps().encode(), [PHONE, EMAIL]) == []


def test_contains_plaintext_refuses_an_empty_value() -> None:
    with pytest.raises(InputError, match="non-empty"):
        contains_plaintext(b"anything", [""])


# --------------------------------------------------------------------------------------------
# purposes and categories


def test_vocabularies_match_the_contract_bits_and_have_dpv_iris() -> None:
    assert PURPOSES == ("order_fulfilment", "delivery", "personalised_recommendations", "marketing", "analytics", "third_party_sharing")
    assert CATEGORIES == (
        "contact",
        "postal_address",
        "purchase_history",
        "location",
        "payment",
        "demographics",
        "preferences",
        "device_identifiers",
    )
    assert set(PURPOSE_IRIS) == set(PURPOSES) and set(CATEGORY_IRIS) == set(CATEGORIES)
    assert all(iri.startswith("https://w3id.org/dpv") for iri in [*PURPOSE_IRIS.values(), *CATEGORY_IRIS.values()])
    assert purpose_mask(["order_fulfilment"]) == 1 and purpose_mask(["third_party_sharing"]) == 1 << 5
    assert category_mask(["device_identifiers"]) == 1 << 7


def test_masks_and_names_round_trip_for_every_subset() -> None:
    for mask in range(1 << len(PURPOSES)):
        assert purpose_mask(names_of_purposes(mask)) == mask
    for mask in range(1 << len(CATEGORIES)):
        assert category_mask(names_of_categories(mask)) == mask


def test_purpose_names_accept_case_hyphens_numbers_iris_and_comma_lists() -> None:
    assert purpose_name("Personalised-Recommendations") == "personalised_recommendations"
    assert purpose_name(3) == "marketing"
    assert purpose_name(PURPOSE_IRIS["analytics"]) == "analytics"
    assert purpose_index("delivery") == 1 and category_index("location") == 3
    assert purpose_mask("marketing, analytics") == purpose_mask(["marketing", "analytics"]) == 0b11000
    assert purpose_mask([]) == 0


def test_unknown_names_are_refused_naming_the_valid_ones() -> None:
    with pytest.raises(InputError, match="unknown purpose 'profiling'; valid: order_fulfilment, delivery") as info:
        purpose_mask(["marketing", "profiling"])
    assert info.value.field == "purpose"
    with pytest.raises(InputError, match="unknown category 'health'; valid: contact, postal_address"):
        category_mask(["health"])
    with pytest.raises(InputError, match="no purpose number 6"):
        purpose_mask([6])


def test_masks_with_unknown_bits_are_refused() -> None:
    with pytest.raises(InputError, match="bits beyond"):
        names_of_purposes(1 << 6)
    with pytest.raises(InputError, match="bits beyond"):
        names_of_categories(1 << 8)


# --------------------------------------------------------------------------------------------
# notices and languages


def test_notice_hash_is_keccak_of_utf8() -> None:
    text = "We use your address to deliver your order. — Ünïcode"
    assert notice_hash(text) == reference_keccak(text.encode("utf-8"))
    assert notice_hash(text.encode("utf-8")) == notice_hash(text)


@pytest.mark.parametrize(
    ("tag", "stored"),
    [("en", b"en"), ("en-GB", b"en-GB"), ("EN-gb", b"en-GB"), ("zh-hant", b"zh-Hant"), ("es-419", b"es-419"), ("x-klingo", b"x-klingo")],
)
def test_language_bytes8_is_left_aligned_zero_padded_and_round_trips(tag: str, stored: bytes) -> None:
    value = language_bytes8(tag)
    assert value == stored.ljust(8, b"\x00")
    assert language_from_bytes8(value) == stored.decode()


@pytest.mark.parametrize("tag", ["", "english!", "en_GB", "zh-Hant-TW", "fr-ÇA", "en--GB", "-en"])
def test_language_bytes8_refuses_what_is_not_a_short_language_tag(tag: str) -> None:
    with pytest.raises(InputError) as info:
        language_bytes8(tag)
    assert info.value.field == "language"


def test_language_from_bytes8_reads_empty_and_refuses_garbage() -> None:
    assert language_from_bytes8(bytes(8)) == ""
    with pytest.raises(InputError):
        language_from_bytes8(b"en\x00GB\x00\x00\x00")
    with pytest.raises(InputError):
        language_from_bytes8(b"en")
