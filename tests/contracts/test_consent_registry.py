"""ConsentRegistry: every function, custom error (with its arguments) and event (with its fields);
outsiders refused; signature replay across uses, revocations, chains and contracts; uses after
revocation or expiry refused; and a model-based property test of liveness."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import function_signature_to_4byte_selector, keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import (
    CONSENT_ARTIFACT,
    EIP712_DOMAIN_FIELDS,
    GRANT_FIELDS,
    REVOKE_FIELDS,
    TERMS_NAMES,
    ConsentEnv,
    expect_revert,
)

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
NOTICE = keccak(b"Acme Foods privacy notice, version 3 (2025-01-01)")
LANGUAGE = b"zh-CN".ljust(8, b"\0")
DATA_HASH = keccak(b"ciphertext of the consumer's delivery address")
# Purpose and category bit numbers (Types.sol).
ORDER, DELIVERY, RECOMMENDATIONS, MARKETING, ANALYTICS, SHARING = range(6)
CONTACT, POSTAL, HISTORY, LOCATION, PAYMENT, DEMOGRAPHICS, PREFERENCES, DEVICE = range(8)
UINT40_MAX = (1 << 40) - 1

INTERFACE_FUNCTIONS = [
    "addDelegate(address,uint64)",
    "revokeDelegate(address)",
    "grant(address,(address,address,uint64,uint64,uint64,bytes32,bytes8,bytes32))",
    "grantWithSignature((address,address,uint64,uint64,uint64,bytes32,bytes8,bytes32),uint64,uint64,bytes)",
    "revoke(address)",
    "revokeFor(address,address)",
    "revokeWithSignature(address,address,uint64,uint64,bytes)",
    "recordUse(address,uint8,uint8,bytes32)",
    "recordUses((address,uint8,uint8,bytes32)[])",
    "consent(address,address)",
    "isLive(address,address,uint8,uint8)",
    "nonce(address,address)",
    "delegateValidUntil(address,address)",
    "grantDigest((address,address,uint64,uint64,uint64,bytes32,bytes8,bytes32),uint64,uint64)",
    "revokeDigest(address,address,uint64,uint64)",
    "version()",
]


def mask(*bits: int) -> int:
    return reduce(lambda acc, b: acc | (1 << b), bits, 0)


def terms(c: ConsentEnv, **overrides: Any) -> tuple[Any, ...]:
    """Terms of the consumer to the data user: order + delivery of contact + postal address, a year."""
    base = {
        "consumer": c.consumer,
        "dataUser": c.data_user,
        "purposes": mask(ORDER, DELIVERY),
        "categories": mask(CONTACT, POSTAL),
        "expiry": c.now() + 365 * 86_400,
        "notice": NOTICE,
        "language": LANGUAGE,
        "dataHash": DATA_HASH,
    }
    base |= overrides
    return tuple(base[name] for name in TERMS_NAMES)


def transact(c: ConsentEnv, fn: Any, sender: str) -> Any:
    return lambda: fn.transact({"from": sender})


def grant(c: ConsentEnv, t: tuple[Any, ...] | None = None, sender: str | None = None) -> Any:
    t = t or terms(c)
    return c.send(c.registry.functions.grant(t[1], t), sender or t[0])


def signed_grant(c: ConsentEnv, t: tuple[Any, ...], signer: str | bytes | None = None, relayer: str | None = None) -> Any:
    nonce = c.registry.functions.nonce(t[0], t[1]).call()
    deadline = c.now() + 600
    signature = c.sign_grant(signer or t[0], t, nonce, deadline)
    return c.send(c.registry.functions.grantWithSignature(t, nonce, deadline, signature), relayer or t[1])


def consent_view(c: ConsentEnv, consumer: str | None = None, data_user: str | None = None) -> dict[str, Any]:
    names = ("purposes", "categories", "expiry", "nonce", "revoked", "grantedAt", "live")
    values = c.registry.functions.consent(consumer or c.consumer, data_user or c.data_user).call()
    return dict(zip(names, values, strict=True))


def add_delegate(c: ConsentEnv, valid_for: int = 86_400) -> int:
    valid_until = c.now() + valid_for
    c.send(c.registry.functions.addDelegate(c.delegate, valid_until), c.consumer)
    return valid_until


# --------------------------------------------------------------------------------------------
# Deployment, ERC-165, EIP-712 domain
# --------------------------------------------------------------------------------------------


def test_version_and_interfaces(consent: ConsentEnv) -> None:
    f = consent.registry.functions
    assert f.version().call() == "0.1.0"
    interface_id = reduce(lambda a, b: a ^ b, (int.from_bytes(function_signature_to_4byte_selector(s)) for s in INTERFACE_FUNCTIONS))
    assert f.supportsInterface(interface_id.to_bytes(4)).call()
    assert f.supportsInterface(bytes.fromhex("01ffc9a7")).call()  # IERC165
    assert not f.supportsInterface(bytes.fromhex("ffffffff")).call()
    # Every listed function is deployed (supportsInterface above proves the list is the interface's).
    interface_abi = {s for s in CONSENT_ARTIFACT["methodIdentifiers"]}
    assert set(INTERFACE_FUNCTIONS) <= interface_abi


def test_eip712_domain_and_typehashes(consent: ConsentEnv) -> None:
    f = consent.registry.functions
    _, name, version, chain_id, contract, salt, extensions = f.eip712Domain().call()
    assert (name, version, chain_id, contract) == ("o2ochain ConsentRegistry", "1", consent.w3.eth.chain_id, consent.registry.address)
    assert salt == ZERO32 and extensions == []
    assert f.GRANT_TYPEHASH().call() == keccak(
        b"Grant(address consumer,address dataUser,uint64 purposes,uint64 categories,uint64 expiry,bytes32 notice,"
        b"bytes8 language,bytes32 dataHash,uint64 nonce,uint64 deadline)"
    )
    assert f.REVOKE_TYPEHASH().call() == keccak(b"Revoke(address consumer,address dataUser,uint64 nonce,uint64 deadline)")


def test_grant_and_revoke_digests_match_eip712(consent: ConsentEnv) -> None:
    t = terms(consent)
    typed = {
        "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "Grant": GRANT_FIELDS},
        "primaryType": "Grant",
        "domain": consent.domain(),
        "message": dict(zip(TERMS_NAMES, t, strict=True)) | {"nonce": 7, "deadline": 1234},
    }
    signable = encode_typed_data(full_message=typed)
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert consent.registry.functions.grantDigest(t, 7, 1234).call() == expected
    typed = {
        "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "Revoke": REVOKE_FIELDS},
        "primaryType": "Revoke",
        "domain": consent.domain(),
        "message": {"consumer": consent.consumer, "dataUser": consent.data_user, "nonce": 3, "deadline": 99},
    }
    signable = encode_typed_data(full_message=typed)
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert consent.registry.functions.revokeDigest(consent.consumer, consent.data_user, 3, 99).call() == expected


def test_views_of_a_pair_never_granted(consent: ConsentEnv) -> None:
    assert consent_view(consent) == {
        "purposes": 0,
        "categories": 0,
        "expiry": 0,
        "nonce": 0,
        "revoked": False,
        "grantedAt": 0,
        "live": False,
    }
    assert consent.registry.functions.nonce(consent.consumer, consent.data_user).call() == 0
    assert not consent.registry.functions.isLive(consent.consumer, consent.data_user, ORDER, CONTACT).call()
    assert consent.registry.functions.delegateValidUntil(consent.consumer, consent.delegate).call() == 0


# --------------------------------------------------------------------------------------------
# Delegates
# --------------------------------------------------------------------------------------------


def test_add_delegate_records_validity_and_emits(consent: ConsentEnv) -> None:
    valid_until = consent.now() + 86_400
    receipt = consent.send(consent.registry.functions.addDelegate(consent.delegate, valid_until), consent.consumer)
    (event,) = consent.events(receipt, "DelegateAdded")
    assert dict(event) == {"consumer": consent.consumer, "delegate": consent.delegate, "validUntil": valid_until}
    assert consent.registry.functions.delegateValidUntil(consent.consumer, consent.delegate).call() == valid_until
    # Calling again changes the validity.
    consent.send(consent.registry.functions.addDelegate(consent.delegate, valid_until + 1), consent.consumer)
    assert consent.registry.functions.delegateValidUntil(consent.consumer, consent.delegate).call() == valid_until + 1


def test_add_delegate_reverts_for_zero_or_self(consent: ConsentEnv) -> None:
    f = consent.registry.functions
    until = consent.now() + 100
    for bad in (ZERO_ADDRESS, consent.consumer):
        expect_revert(consent.abi, transact(consent, f.addDelegate(bad, until), consent.consumer), "ConsentDelegateInvalid", delegate=bad)


def test_add_delegate_reverts_when_already_expired(consent: ConsentEnv) -> None:
    past = consent.now() - 1
    args = expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.addDelegate(consent.delegate, past), consent.consumer),
        "ConsentDelegateExpiryInvalid",
        validUntil=past,
    )
    assert args["now"] > past


def test_revoke_delegate_clears_and_emits(consent: ConsentEnv) -> None:
    add_delegate(consent)
    receipt = consent.send(consent.registry.functions.revokeDelegate(consent.delegate), consent.consumer)
    (event,) = consent.events(receipt, "DelegateRevoked")
    assert dict(event) == {"consumer": consent.consumer, "delegate": consent.delegate}
    assert consent.registry.functions.delegateValidUntil(consent.consumer, consent.delegate).call() == 0
    # The revoked delegate can no longer act.
    t = terms(consent)
    expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.grant(t[1], t), consent.delegate),
        "ConsentNotAuthorised",
        consumer=consent.consumer,
        caller=consent.delegate,
    )


def test_revoke_delegate_reverts_when_unknown_or_expired(consent: ConsentEnv) -> None:
    f = consent.registry.functions
    expect_revert(
        consent.abi,
        transact(consent, f.revokeDelegate(consent.delegate), consent.consumer),
        "ConsentDelegateUnknown",
        consumer=consent.consumer,
        delegate=consent.delegate,
    )
    add_delegate(consent, valid_for=100)
    consent.advance(1_000)
    expect_revert(
        consent.abi,
        transact(consent, f.revokeDelegate(consent.delegate), consent.consumer),
        "ConsentDelegateUnknown",
        consumer=consent.consumer,
        delegate=consent.delegate,
    )
    # Another consumer's delegate is not the caller's.
    add_delegate(consent)
    expect_revert(
        consent.abi,
        transact(consent, f.revokeDelegate(consent.delegate), consent.outsider),
        "ConsentDelegateUnknown",
        consumer=consent.outsider,
        delegate=consent.delegate,
    )


# --------------------------------------------------------------------------------------------
# Direct grants
# --------------------------------------------------------------------------------------------


def test_grant_stores_terms_and_emits(consent: ConsentEnv) -> None:
    t = terms(consent)
    receipt = grant(consent, t)
    (event,) = consent.events(receipt, "ConsentGranted")
    assert dict(event) == {
        "consumer": consent.consumer,
        "dataUser": consent.data_user,
        "purposes": t[2],
        "categories": t[3],
        "expiry": t[4],
        "notice": NOTICE,
        "language": LANGUAGE,
        "dataHash": DATA_HASH,
        "nonce": 1,
        "by": consent.consumer,
    }
    assert consent_view(consent) == {
        "purposes": t[2],
        "categories": t[3],
        "expiry": t[4],
        "nonce": 1,
        "revoked": False,
        "grantedAt": receipt["blockNumber"],
        "live": True,
    }
    f = consent.registry.functions
    assert f.nonce(consent.consumer, consent.data_user).call() == 1
    assert f.isLive(consent.consumer, consent.data_user, DELIVERY, POSTAL).call()
    assert not f.isLive(consent.consumer, consent.data_user, MARKETING, POSTAL).call()
    # Nothing for the other data user.
    assert not f.isLive(consent.consumer, consent.other_data_user, DELIVERY, POSTAL).call()


def test_regrant_replaces_terms_and_clears_revocation(consent: ConsentEnv) -> None:
    grant(consent)
    consent.send(consent.registry.functions.revoke(consent.data_user), consent.consumer)
    t = terms(consent, purposes=mask(MARKETING), categories=mask(PREFERENCES), expiry=consent.now() + 1000)
    receipt = grant(consent, t)
    assert consent.events(receipt, "ConsentGranted")[0]["nonce"] == 3
    view = consent_view(consent)
    assert (view["purposes"], view["categories"], view["expiry"], view["nonce"], view["revoked"], view["live"]) == (
        mask(MARKETING),
        mask(PREFERENCES),
        t[4],
        3,
        False,
        True,
    )
    f = consent.registry.functions
    assert f.isLive(consent.consumer, consent.data_user, MARKETING, PREFERENCES).call()
    assert not f.isLive(consent.consumer, consent.data_user, DELIVERY, POSTAL).call()  # old terms gone


def test_grant_by_valid_delegate_names_it(consent: ConsentEnv) -> None:
    add_delegate(consent)
    receipt = grant(consent, sender=consent.delegate)
    (event,) = consent.events(receipt, "ConsentGranted")
    assert event["consumer"] == consent.consumer and event["by"] == consent.delegate


def test_grant_reverts_for_stranger_and_expired_delegate(consent: ConsentEnv) -> None:
    t = terms(consent)
    fn = consent.registry.functions.grant(t[1], t)
    for stranger in (consent.outsider, consent.data_user, consent.delegate):
        expect_revert(consent.abi, transact(consent, fn, stranger), "ConsentNotAuthorised", consumer=consent.consumer, caller=stranger)
    add_delegate(consent, valid_for=100)
    consent.advance(1_000)
    t = terms(consent)
    expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.grant(t[1], t), consent.delegate),
        "ConsentNotAuthorised",
        consumer=consent.consumer,
        caller=consent.delegate,
    )


def test_grant_reverts_when_data_user_differs_from_terms(consent: ConsentEnv) -> None:
    t = terms(consent)
    expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.grant(consent.other_data_user, t), consent.consumer),
        "ConsentDataUserMismatch",
        dataUser=consent.other_data_user,
        termsDataUser=consent.data_user,
    )


def test_grant_reverts_for_invalid_terms(consent: ConsentEnv) -> None:
    def attempt(error: str, **overrides: Any) -> dict[str, Any]:
        t = terms(consent, **overrides)
        return expect_revert(consent.abi, transact(consent, consent.registry.functions.grant(t[1], t), consent.consumer), error)

    assert attempt("ConsentDataUserInvalid", dataUser=ZERO_ADDRESS)["dataUser"] == ZERO_ADDRESS
    for bad in (0, 1 << 6, mask(ORDER) | (1 << 63)):
        assert attempt("ConsentPurposesInvalid", purposes=bad)["purposes"] == bad
    for bad in (0, 1 << 8, mask(CONTACT) | (1 << 40)):
        assert attempt("ConsentCategoriesInvalid", categories=bad)["categories"] == bad
    now = consent.now()
    for bad in (0, now, UINT40_MAX + 1, (1 << 64) - 1):
        args = attempt("ConsentExpiryInvalid", expiry=bad)
        assert args["expiry"] == bad and args["now"] >= now
    # The highest purpose, category and expiry are accepted.
    t = terms(consent, purposes=mask(*range(6)), categories=mask(*range(8)), expiry=UINT40_MAX)
    grant(consent, t)
    assert consent.registry.functions.isLive(consent.consumer, consent.data_user, SHARING, DEVICE).call()
    assert consent_view(consent)["expiry"] == UINT40_MAX


# --------------------------------------------------------------------------------------------
# Signed grants
# --------------------------------------------------------------------------------------------


def test_grant_with_signature_relayed_costs_consumer_nothing(consent: ConsentEnv) -> None:
    t = terms(consent)
    balance = consent.w3.eth.get_balance(consent.consumer)
    receipt = signed_grant(consent, t)
    assert consent.w3.eth.get_balance(consent.consumer) == balance
    (event,) = consent.events(receipt, "ConsentGranted")
    assert dict(event) == dict(zip(TERMS_NAMES, t, strict=True)) | {"nonce": 1, "by": consent.consumer}
    assert consent_view(consent)["live"]
    # A later grant to a second data user has its own nonce.
    t2 = terms(consent, dataUser=consent.other_data_user)
    (event,) = consent.events(signed_grant(consent, t2), "ConsentGranted")
    assert event["nonce"] == 1 and event["dataUser"] == consent.other_data_user


def test_grant_with_signature_by_delegate(consent: ConsentEnv) -> None:
    add_delegate(consent)
    (event,) = consent.events(signed_grant(consent, terms(consent), signer=consent.delegate), "ConsentGranted")
    assert event["by"] == consent.delegate and event["consumer"] == consent.consumer


def test_grant_with_signature_reverts_for_stranger_or_expired_delegate(consent: ConsentEnv) -> None:
    f = consent.registry.functions
    t = terms(consent)
    deadline = consent.now() + 600
    stranger = Account.create()
    for signer, key in ((consent.outsider, consent.outsider), (consent.data_user, consent.data_user), (stranger.address, stranger.key)):
        signature = consent.sign_grant(key, t, 0, deadline)
        expect_revert(
            consent.abi,
            transact(consent, f.grantWithSignature(t, 0, deadline, signature), consent.data_user),
            "ConsentSignerNotAuthorised",
            consumer=consent.consumer,
            signer=signer,
        )
    add_delegate(consent, valid_for=100)
    consent.advance(1_000)
    t = terms(consent)
    deadline = consent.now() + 600
    signature = consent.sign_grant(consent.delegate, t, 0, deadline)
    expect_revert(
        consent.abi,
        transact(consent, f.grantWithSignature(t, 0, deadline, signature), consent.data_user),
        "ConsentSignerNotAuthorised",
        consumer=consent.consumer,
        signer=consent.delegate,
    )


def test_grant_with_signature_reverts_for_malformed_signature(consent: ConsentEnv) -> None:
    t = terms(consent)
    deadline = consent.now() + 600
    for signature in (b"", b"\x01" * 64, b"\x00" * 65):
        expect_revert(
            consent.abi,
            transact(consent, consent.registry.functions.grantWithSignature(t, 0, deadline, signature), consent.data_user),
            "ConsentSignerNotAuthorised",
            consumer=consent.consumer,
            signer=ZERO_ADDRESS,
        )


def test_grant_with_signature_replay_after_use_refused(consent: ConsentEnv) -> None:
    t = terms(consent)
    deadline = consent.now() + 600
    signature = consent.sign_grant(consent.consumer, t, 0, deadline)
    fn = consent.registry.functions.grantWithSignature(t, 0, deadline, signature)
    consent.send(fn, consent.data_user)
    expect_revert(
        consent.abi,
        transact(consent, fn, consent.data_user),
        "ConsentNonceInvalid",
        consumer=consent.consumer,
        dataUser=consent.data_user,
        nonce=0,
        expected=1,
    )
    # Nor by anyone else.
    expect_revert(consent.abi, transact(consent, fn, consent.outsider), "ConsentNonceInvalid", nonce=0, expected=1)


def test_grant_with_signature_for_another_chain_refused(consent: ConsentEnv) -> None:
    t = terms(consent)
    deadline = consent.now() + 600
    signature = consent.sign_grant(consent.consumer, t, 0, deadline, chain_id=consent.w3.eth.chain_id + 1)
    args = expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.grantWithSignature(t, 0, deadline, signature), consent.data_user),
        "ConsentSignerNotAuthorised",
        consumer=consent.consumer,
    )
    assert args["signer"] != consent.consumer


def test_grant_with_signature_for_another_contract_refused(consent: ConsentEnv) -> None:
    # A second registry on the same chain: a signature for one is refused by the other.
    factory = consent.w3.eth.contract(abi=CONSENT_ARTIFACT["abi"], bytecode=CONSENT_ARTIFACT["bytecode"])
    other = consent.w3.eth.contract(address=consent.send(factory.constructor(), consent.outsider)["contractAddress"], abi=consent.abi)
    t = terms(consent)
    deadline = consent.now() + 600
    signature = consent.sign_grant(consent.consumer, t, 0, deadline, contract=other.address)
    args = expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.grantWithSignature(t, 0, deadline, signature), consent.data_user),
        "ConsentSignerNotAuthorised",
        consumer=consent.consumer,
    )
    assert args["signer"] != consent.consumer
    # It is valid where it was meant to go.
    consent.send(other.functions.grantWithSignature(t, 0, deadline, signature), consent.data_user)
    assert other.functions.isLive(consent.consumer, consent.data_user, ORDER, CONTACT).call()


def test_grant_with_signature_after_revoke_refused(consent: ConsentEnv) -> None:
    # A signed grant not relayed yet is voided by a revocation (the consumer changed their mind).
    t = terms(consent)
    deadline = consent.now() + 600
    signature = consent.sign_grant(consent.consumer, t, 0, deadline)
    consent.send(consent.registry.functions.revoke(consent.data_user), consent.consumer)
    expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.grantWithSignature(t, 0, deadline, signature), consent.data_user),
        "ConsentNonceInvalid",
        consumer=consent.consumer,
        dataUser=consent.data_user,
        nonce=0,
        expected=1,
    )
    assert not consent_view(consent)["live"]


def test_grant_with_signature_expired_deadline_refused(consent: ConsentEnv) -> None:
    t = terms(consent)
    deadline = consent.now() - 1
    signature = consent.sign_grant(consent.consumer, t, 0, deadline)
    args = expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.grantWithSignature(t, 0, deadline, signature), consent.data_user),
        "ConsentSignatureExpired",
        deadline=deadline,
    )
    assert args["now"] > deadline


def test_grant_with_signature_checks_terms(consent: ConsentEnv) -> None:
    t = terms(consent, purposes=1 << 6)
    deadline = consent.now() + 600
    signature = consent.sign_grant(consent.consumer, t, 0, deadline)
    expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.grantWithSignature(t, 0, deadline, signature), consent.data_user),
        "ConsentPurposesInvalid",
        purposes=1 << 6,
    )


def test_grant_with_signature_terms_are_bound(consent: ConsentEnv) -> None:
    # The relayer cannot widen what was signed: changed terms recover another signer.
    t = terms(consent)
    deadline = consent.now() + 600
    signature = consent.sign_grant(consent.consumer, t, 0, deadline)
    wider = terms(consent, purposes=mask(ORDER, DELIVERY, MARKETING), expiry=t[4])
    args = expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.grantWithSignature(wider, 0, deadline, signature), consent.data_user),
        "ConsentSignerNotAuthorised",
        consumer=consent.consumer,
    )
    assert args["signer"] != consent.consumer


# ERC-1271 wallets, as raw bytecode: `isValidSignature` answers the magic value, or zero.
ACCEPTING_WALLET = bytes.fromhex("601080600b6000396000f3" + "631626ba7e60e01b60005260206000f3")
REFUSING_WALLET = bytes.fromhex("600580600b6000396000f3" + "60206000f3")


def deploy_raw(c: ConsentEnv, code: bytes) -> str:
    tx = c.w3.eth.send_transaction({"from": c.outsider, "data": code})
    return c.w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]


def test_grant_with_signature_from_erc1271_wallet(consent: ConsentEnv) -> None:
    wallet = deploy_raw(consent, ACCEPTING_WALLET)
    t = terms(consent, consumer=wallet)
    deadline = consent.now() + 600
    receipt = consent.send(consent.registry.functions.grantWithSignature(t, 0, deadline, b"wallet-specific"), consent.data_user)
    (event,) = consent.events(receipt, "ConsentGranted")
    assert event["consumer"] == wallet and event["by"] == wallet
    refusing = deploy_raw(consent, REFUSING_WALLET)
    t = terms(consent, consumer=refusing)
    expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.grantWithSignature(t, 0, deadline, b"\x01" * 65), consent.data_user),
        "ConsentSignerNotAuthorised",
        consumer=refusing,
    )


# --------------------------------------------------------------------------------------------
# Revocation
# --------------------------------------------------------------------------------------------


def test_revoke_marks_revoked_and_emits(consent: ConsentEnv) -> None:
    t = terms(consent)
    granted = grant(consent, t)
    receipt = consent.send(consent.registry.functions.revoke(consent.data_user), consent.consumer)
    (event,) = consent.events(receipt, "ConsentRevoked")
    assert dict(event) == {"consumer": consent.consumer, "dataUser": consent.data_user, "nonce": 2, "by": consent.consumer}
    # Terms and grant block stay for the record; the consent is no longer live.
    assert consent_view(consent) == {
        "purposes": t[2],
        "categories": t[3],
        "expiry": t[4],
        "nonce": 2,
        "revoked": True,
        "grantedAt": granted["blockNumber"],
        "live": False,
    }
    assert not consent.registry.functions.isLive(consent.consumer, consent.data_user, ORDER, CONTACT).call()


def test_revoke_before_any_grant_bumps_nonce(consent: ConsentEnv) -> None:
    receipt = consent.send(consent.registry.functions.revoke(consent.data_user), consent.consumer)
    assert consent.events(receipt, "ConsentRevoked")[0]["nonce"] == 1
    view = consent_view(consent)
    assert (view["revoked"], view["grantedAt"], view["nonce"], view["live"]) == (True, 0, 1, False)


def test_revoke_for_by_delegate_and_refused_for_stranger(consent: ConsentEnv) -> None:
    grant(consent)
    f = consent.registry.functions
    for stranger in (consent.outsider, consent.data_user, consent.delegate):
        expect_revert(
            consent.abi,
            transact(consent, f.revokeFor(consent.consumer, consent.data_user), stranger),
            "ConsentNotAuthorised",
            consumer=consent.consumer,
            caller=stranger,
        )
    add_delegate(consent)
    receipt = consent.send(f.revokeFor(consent.consumer, consent.data_user), consent.delegate)
    (event,) = consent.events(receipt, "ConsentRevoked")
    assert (event["consumer"], event["by"], event["nonce"]) == (consent.consumer, consent.delegate, 2)
    # The consumer may use revokeFor for themselves too.
    consent.send(f.revokeFor(consent.consumer, consent.data_user), consent.consumer)
    assert consent_view(consent)["nonce"] == 3


def test_revoke_by_stranger_only_touches_their_own_pair(consent: ConsentEnv) -> None:
    grant(consent)
    consent.send(consent.registry.functions.revoke(consent.data_user), consent.outsider)
    assert consent_view(consent)["live"]
    assert consent_view(consent, consumer=consent.outsider)["revoked"]


def test_revoke_with_signature_relayed_and_emits(consent: ConsentEnv) -> None:
    grant(consent)
    deadline = consent.now() + 600
    signature = consent.sign_revoke(consent.consumer, consent.consumer, consent.data_user, 1, deadline)
    fn = consent.registry.functions.revokeWithSignature(consent.consumer, consent.data_user, 1, deadline, signature)
    balance = consent.w3.eth.get_balance(consent.consumer)
    receipt = consent.send(fn, consent.outsider)
    assert consent.w3.eth.get_balance(consent.consumer) == balance
    (event,) = consent.events(receipt, "ConsentRevoked")
    assert dict(event) == {"consumer": consent.consumer, "dataUser": consent.data_user, "nonce": 2, "by": consent.consumer}
    assert consent_view(consent)["revoked"]
    # Replay refused.
    expect_revert(
        consent.abi,
        transact(consent, fn, consent.outsider),
        "ConsentNonceInvalid",
        consumer=consent.consumer,
        dataUser=consent.data_user,
        nonce=1,
        expected=2,
    )


def test_revoke_with_signature_by_delegate(consent: ConsentEnv) -> None:
    grant(consent)
    add_delegate(consent)
    deadline = consent.now() + 600
    signature = consent.sign_revoke(consent.delegate, consent.consumer, consent.data_user, 1, deadline)
    receipt = consent.send(
        consent.registry.functions.revokeWithSignature(consent.consumer, consent.data_user, 1, deadline, signature), consent.outsider
    )
    assert consent.events(receipt, "ConsentRevoked")[0]["by"] == consent.delegate


def test_revoke_with_signature_refusals(consent: ConsentEnv) -> None:
    grant(consent)
    f = consent.registry.functions
    deadline = consent.now() + 600
    # A stranger's signature (the data user would love to "revoke" on the consumer's behalf and not, but cannot sign).
    signature = consent.sign_revoke(consent.outsider, consent.consumer, consent.data_user, 1, deadline)
    expect_revert(
        consent.abi,
        transact(consent, f.revokeWithSignature(consent.consumer, consent.data_user, 1, deadline, signature), consent.outsider),
        "ConsentSignerNotAuthorised",
        consumer=consent.consumer,
        signer=consent.outsider,
    )
    # Another chain, another contract.
    for domain in ({"chain_id": consent.w3.eth.chain_id + 1}, {"contract": consent.outsider}):
        signature = consent.sign_revoke(consent.consumer, consent.consumer, consent.data_user, 1, deadline, **domain)
        args = expect_revert(
            consent.abi,
            transact(consent, f.revokeWithSignature(consent.consumer, consent.data_user, 1, deadline, signature), consent.outsider),
            "ConsentSignerNotAuthorised",
            consumer=consent.consumer,
        )
        assert args["signer"] != consent.consumer
    # An old nonce (signed before the grant).
    signature = consent.sign_revoke(consent.consumer, consent.consumer, consent.data_user, 0, deadline)
    expect_revert(
        consent.abi,
        transact(consent, f.revokeWithSignature(consent.consumer, consent.data_user, 0, deadline, signature), consent.outsider),
        "ConsentNonceInvalid",
        nonce=0,
        expected=1,
    )
    # An expired deadline.
    past = consent.now() - 1
    signature = consent.sign_revoke(consent.consumer, consent.consumer, consent.data_user, 1, past)
    args = expect_revert(
        consent.abi,
        transact(consent, f.revokeWithSignature(consent.consumer, consent.data_user, 1, past, signature), consent.outsider),
        "ConsentSignatureExpired",
        deadline=past,
    )
    assert args["now"] > past
    # A signature for another data user does not revoke this one.
    signature = consent.sign_revoke(consent.consumer, consent.consumer, consent.other_data_user, 1, deadline)
    expect_revert(
        consent.abi,
        transact(consent, f.revokeWithSignature(consent.consumer, consent.data_user, 1, deadline, signature), consent.outsider),
        "ConsentSignerNotAuthorised",
        consumer=consent.consumer,
    )
    assert consent_view(consent)["live"]


# --------------------------------------------------------------------------------------------
# Data-use receipts
# --------------------------------------------------------------------------------------------


def test_record_use_emits_receipt_with_consent_number(consent: ConsentEnv) -> None:
    grant(consent)
    request = keccak(b"ship order 42")
    receipt = consent.send(consent.registry.functions.recordUse(consent.consumer, DELIVERY, POSTAL, request), consent.data_user)
    (event,) = consent.events(receipt, "DataUsed")
    assert dict(event) == {
        "consumer": consent.consumer,
        "dataUser": consent.data_user,
        "purpose": DELIVERY,
        "category": POSTAL,
        "requestHash": request,
        "consentNonce": 1,
    }
    # After a revoke and a re-grant, receipts name the new consent.
    consent.send(consent.registry.functions.revoke(consent.data_user), consent.consumer)
    grant(consent)
    receipt = consent.send(consent.registry.functions.recordUse(consent.consumer, ORDER, CONTACT, request), consent.data_user)
    assert consent.events(receipt, "DataUsed")[0]["consentNonce"] == 3


def test_record_use_refused_when_never_granted_or_by_another_data_user(consent: ConsentEnv) -> None:
    f = consent.registry.functions
    expect_revert(
        consent.abi,
        transact(consent, f.recordUse(consent.consumer, ORDER, CONTACT, ZERO32), consent.data_user),
        "ConsentNotGranted",
        consumer=consent.consumer,
        dataUser=consent.data_user,
        purpose=ORDER,
        category=CONTACT,
    )
    grant(consent)
    # Someone else recording a use as data user: the consent was not given to them.
    for stranger in (consent.outsider, consent.other_data_user, consent.consumer):
        expect_revert(
            consent.abi,
            transact(consent, f.recordUse(consent.consumer, ORDER, CONTACT, ZERO32), stranger),
            "ConsentNotGranted",
            consumer=consent.consumer,
            dataUser=stranger,
            purpose=ORDER,
            category=CONTACT,
        )


def test_record_use_refused_after_revoke(consent: ConsentEnv) -> None:
    grant(consent)
    consent.send(consent.registry.functions.revoke(consent.data_user), consent.consumer)
    expect_revert(
        consent.abi,
        transact(consent, consent.registry.functions.recordUse(consent.consumer, ORDER, CONTACT, ZERO32), consent.data_user),
        "ConsentWithdrawn",
        consumer=consent.consumer,
        dataUser=consent.data_user,
        purpose=ORDER,
        category=CONTACT,
    )


def test_record_use_refused_after_expiry(consent: ConsentEnv) -> None:
    expiry = consent.now() + 1_000
    grant(consent, terms(consent, expiry=expiry))
    f = consent.registry.functions
    consent.send(f.recordUse(consent.consumer, ORDER, CONTACT, ZERO32), consent.data_user)
    consent.advance(2_000)
    assert not f.isLive(consent.consumer, consent.data_user, ORDER, CONTACT).call()
    assert not consent_view(consent)["live"]
    expect_revert(
        consent.abi,
        transact(consent, f.recordUse(consent.consumer, ORDER, CONTACT, ZERO32), consent.data_user),
        "ConsentExpired",
        consumer=consent.consumer,
        dataUser=consent.data_user,
        purpose=ORDER,
        category=CONTACT,
        expiry=expiry,
    )


def test_record_use_refused_outside_purpose_or_category(consent: ConsentEnv) -> None:
    grant(consent)  # order + delivery, contact + postal
    f = consent.registry.functions
    for purpose, category in ((MARKETING, CONTACT), (ORDER, LOCATION), (SHARING, DEVICE), (64, CONTACT), (ORDER, 255), (255, 255)):
        expect_revert(
            consent.abi,
            transact(consent, f.recordUse(consent.consumer, purpose, category, ZERO32), consent.data_user),
            "ConsentNotCovered",
            consumer=consent.consumer,
            dataUser=consent.data_user,
            purpose=purpose,
            category=category,
        )
        assert not f.isLive(consent.consumer, consent.data_user, purpose, category).call()


def test_record_uses_batch_emits_in_order(consent: ConsentEnv) -> None:
    grant(consent)
    grant(consent, terms(consent, dataUser=consent.data_user, consumer=consent.outsider), sender=consent.outsider)
    uses = [
        (consent.consumer, ORDER, CONTACT, keccak(b"1")),
        (consent.outsider, DELIVERY, POSTAL, keccak(b"2")),
        (consent.consumer, DELIVERY, CONTACT, keccak(b"3")),
    ]
    receipt = consent.send(consent.registry.functions.recordUses(uses), consent.data_user)
    events = consent.events(receipt, "DataUsed")
    assert [(e["consumer"], e["purpose"], e["category"], e["requestHash"], e["dataUser"]) for e in events] == [
        (u[0], u[1], u[2], u[3], consent.data_user) for u in uses
    ]


def test_record_uses_all_or_nothing_and_not_empty(consent: ConsentEnv) -> None:
    grant(consent)
    f = consent.registry.functions
    expect_revert(consent.abi, transact(consent, f.recordUses([]), consent.data_user), "ConsentBatchEmpty")
    uses = [(consent.consumer, ORDER, CONTACT, ZERO32), (consent.consumer, MARKETING, CONTACT, ZERO32)]
    expect_revert(
        consent.abi,
        transact(consent, f.recordUses(uses), consent.data_user),
        "ConsentNotCovered",
        consumer=consent.consumer,
        dataUser=consent.data_user,
        purpose=MARKETING,
        category=CONTACT,
    )


# --------------------------------------------------------------------------------------------
# Property: liveness and use acceptance follow a Python model through any sequence of events
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    granted: bool = False
    revoked: bool = False
    purposes: int = 0
    categories: int = 0
    expiry: int = 0
    nonce: int = 0

    def live(self, now: int, purpose: int, category: int) -> bool:
        return (
            self.granted
            and not self.revoked
            and self.expiry > now
            and (self.purposes >> purpose) & 1 == 1
            and (self.categories >> category) & 1 == 1
        )


# Time moves in steps of 1,000 s and expiries sit 500 s off a step, so the few seconds between
# the latest block and the block a transaction lands in never cross an expiry.
operation = st.one_of(
    st.tuples(
        st.sampled_from(["grant", "grant_signed"]),
        st.integers(1, 63),
        st.integers(1, 255),
        st.integers(0, 4),
    ),
    st.tuples(st.sampled_from(["revoke", "revoke_signed"])),
    st.tuples(st.just("advance"), st.integers(1, 3)),
    st.tuples(st.just("use"), st.integers(0, 7), st.integers(0, 9)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=8))
def test_liveness_matches_model(consent: ConsentEnv, ops: list[tuple[Any, ...]]) -> None:
    tester = consent.env.tester
    snapshot = tester.take_snapshot()
    try:
        c, f = consent, consent.registry.functions
        model = Model()
        for op in ops:
            kind = op[0]
            if kind in ("grant", "grant_signed"):
                _, purposes, categories, steps = op
                expiry = c.now() + steps * 1_000 + 500
                t = terms(c, purposes=purposes, categories=categories, expiry=expiry)
                receipt = grant(c, t) if kind == "grant" else signed_grant(c, t)
                model = replace(
                    model, granted=True, revoked=False, purposes=purposes, categories=categories, expiry=expiry, nonce=model.nonce + 1
                )
                assert c.events(receipt, "ConsentGranted")[0]["nonce"] == model.nonce
            elif kind in ("revoke", "revoke_signed"):
                if kind == "revoke":
                    receipt = c.send(f.revoke(c.data_user), c.consumer)
                else:
                    deadline = c.now() + 600
                    signature = c.sign_revoke(c.consumer, c.consumer, c.data_user, model.nonce, deadline)
                    receipt = c.send(f.revokeWithSignature(c.consumer, c.data_user, model.nonce, deadline, signature), c.outsider)
                model = replace(model, revoked=True, nonce=model.nonce + 1)
                assert c.events(receipt, "ConsentRevoked")[0]["nonce"] == model.nonce
            elif kind == "advance":
                c.advance(op[1] * 1_000)
            else:
                _, purpose, category = op
                expected = model.live(c.now(), purpose, category)
                assert f.isLive(c.consumer, c.data_user, purpose, category).call() is expected
                fn = f.recordUse(c.consumer, purpose, category, keccak(bytes([purpose, category])))
                if expected:
                    (event,) = c.events(c.send(fn, c.data_user), "DataUsed")
                    assert event["consentNonce"] == model.nonce
                else:
                    expect_revert(c.abi, transact(c, fn, c.data_user), _model_error(model, c.now()))
            view = consent_view(c)
            assert view["nonce"] == model.nonce
            assert f.nonce(c.consumer, c.data_user).call() == model.nonce
            assert view["revoked"] is model.revoked
            assert view["live"] is (model.granted and not model.revoked and model.expiry > c.now())
    finally:
        tester.revert_to_snapshot(snapshot)


def _model_error(model: Model, now: int) -> str:
    if not model.granted:
        return "ConsentNotGranted"
    if model.revoked:
        return "ConsentWithdrawn"
    if model.expiry <= now:
        return "ConsentExpired"
    return "ConsentNotCovered"


# --------------------------------------------------------------------------------------------
# Gas targets (receipt gasUsed, 21,000 included)
# --------------------------------------------------------------------------------------------


def test_gas_meets_targets(consent: ConsentEnv) -> None:
    c = consent
    fresh = Account.create()
    first = signed_grant(c, terms(c, consumer=fresh.address), signer=fresh.key)["gasUsed"]
    second = signed_grant(c, terms(c, consumer=fresh.address, dataUser=c.other_data_user), signer=fresh.key)["gasUsed"]
    regrant = signed_grant(c, terms(c, consumer=fresh.address, notice=keccak(b"v4")), signer=fresh.key)["gasUsed"]
    use = c.send(c.registry.functions.recordUse(fresh.address, ORDER, CONTACT, keccak(b"req")), c.data_user)["gasUsed"]
    deadline = c.now() + 600
    signature = c.sign_revoke(fresh.key, fresh.address, c.data_user, 2, deadline)
    revoke = c.send(c.registry.functions.revokeWithSignature(fresh.address, c.data_user, 2, deadline, signature), c.data_user)["gasUsed"]
    assert first <= 80_000, first  # consent_grant_signed
    assert second <= 80_000 and regrant < first, (second, regrant)
    assert revoke <= 60_000, revoke  # consent_revoke_signed
    assert use <= 40_000, use  # data_use_receipt
