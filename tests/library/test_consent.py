"""Consent through the library on an in-process chain: signed grants, uses, revocation, privacy."""

from __future__ import annotations

from pathlib import Path

import pytest

from o2ochain.consent import Sealed, SignedGrant, SignedRevoke, contains_plaintext, seal
from o2ochain.errors import by_name
from tests.conftest import World

PERSONAL = {"name": "Li Wei-Ming", "phone": "+86 138 0013 8765", "address": "18 Xuefu Street, Jinzhou New District, Dalian"}


@pytest.fixture
def parties(world: World) -> tuple[World, object, object]:
    consumer = world.chain.consumer_consent(world.buyer)
    retailer = world.chain.data_user(world.seller)
    return world, consumer, retailer


def test_signed_grant_relayed_by_data_user_costs_the_consumer_nothing(parties: tuple[World, object, object]) -> None:
    world, consumer, retailer = parties
    balance = world.chain.w3.eth.get_balance(world.buyer.address)
    signed = consumer.sign_grant(
        retailer.address, ["marketing", "analytics"], ["contact", "purchase_history"], notice="Privacy notice v3", language="zh-CN"
    )  # type: ignore[attr-defined]
    retailer.relay_grant(SignedGrant.from_json(signed.to_json()))  # type: ignore[attr-defined]
    assert world.chain.w3.eth.get_balance(world.buyer.address) == balance
    record = world.chain.consent.consent(world.buyer.address, retailer.address)  # type: ignore[attr-defined]
    assert record.live and record.purposes == ("marketing", "analytics") and record.categories == ("contact", "purchase_history")
    assert retailer.check(world.buyer.address, "marketing", "contact")  # type: ignore[attr-defined]
    assert not retailer.check(world.buyer.address, "delivery", "contact")  # type: ignore[attr-defined]


def test_use_outside_purpose_or_category_is_refused(parties: tuple[World, object, object]) -> None:
    world, consumer, retailer = parties
    retailer.relay_grant(consumer.sign_grant(retailer.address, ["marketing"], ["contact"]))  # type: ignore[attr-defined]
    retailer.record_use(world.buyer.address, "marketing", "contact", "campaign 2026-11 newsletter")  # type: ignore[attr-defined]
    with pytest.raises(by_name("ConsentNotCovered")) as info:
        retailer.record_use(world.buyer.address, "analytics", "contact", "cohort study")  # type: ignore[attr-defined]
    assert (info.value.consumer, info.value.dataUser, info.value.purpose, info.value.category) == (
        world.buyer.address,
        retailer.address,
        4,
        0,
    )  # type: ignore[attr-defined]
    with pytest.raises(by_name("ConsentNotCovered")):
        retailer.record_use(world.buyer.address, "marketing", "location", "geo push")  # type: ignore[attr-defined]
    uses = consumer.uses()  # type: ignore[attr-defined]
    assert [(u.purpose, u.category) for u in uses] == [("marketing", "contact")]


def test_revocation_signed_and_relayed_stops_every_later_use(parties: tuple[World, object, object]) -> None:
    world, consumer, retailer = parties
    retailer.relay_grant(consumer.sign_grant(retailer.address, ["delivery"], ["postal_address"]))  # type: ignore[attr-defined]
    revocation = SignedRevoke.from_json(consumer.sign_revoke(retailer.address).to_json())  # type: ignore[attr-defined]
    world.chain.data_user(world.outsider).relay_revoke(revocation)  # anyone may relay it
    with pytest.raises(by_name("ConsentWithdrawn")):
        retailer.record_use(world.buyer.address, "delivery", "postal_address", "parcel 42")  # type: ignore[attr-defined]
    events = [row["event"] for row in consumer.consents()]  # type: ignore[attr-defined]
    assert events == ["granted", "revoked"]


def test_replayed_grant_after_revoke_is_refused(parties: tuple[World, object, object]) -> None:
    _world, consumer, retailer = parties
    signed = consumer.sign_grant(retailer.address, ["marketing"], ["contact"])  # type: ignore[attr-defined]
    retailer.relay_grant(signed)  # type: ignore[attr-defined]
    consumer.revoke(retailer.address)  # type: ignore[attr-defined]
    with pytest.raises(by_name("ConsentNonceInvalid")) as info:
        retailer.relay_grant(signed)  # type: ignore[attr-defined]
    assert info.value.nonce == signed.nonce and info.value.expected == signed.nonce + 2  # type: ignore[attr-defined]


def test_expired_consent_is_not_live(parties: tuple[World, object, object]) -> None:
    world, consumer, retailer = parties
    consumer.grant(retailer.address, ["analytics"], ["preferences"], valid_for=120)  # type: ignore[attr-defined]
    tester = world.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    now = world.chain.w3.eth.get_block("latest")["timestamp"]
    tester.time_travel(now + 3_600)
    tester.mine_blocks(1)
    with pytest.raises(by_name("ConsentExpired")):
        retailer.record_use(world.buyer.address, "analytics", "preferences", "weekly report")  # type: ignore[attr-defined]
    assert not world.chain.consent.consent(world.buyer.address, retailer.address).live  # type: ignore[attr-defined]


def test_personal_data_is_sealed_off_chain_and_never_on_chain(parties: tuple[World, object, object], tmp_path: Path) -> None:
    world, consumer, retailer = parties
    sealed = seal(PERSONAL, retailer.public_key)  # type: ignore[attr-defined]
    envelope = tmp_path / "sealed.json"
    envelope.write_text(sealed.dumps())
    retailer.relay_grant(
        consumer.sign_grant(retailer.address, ["order_fulfilment", "delivery"], ["contact", "postal_address"], data_hash=sealed.commitment)
    )  # type: ignore[attr-defined]
    opened = retailer.open(Sealed.from_json(envelope.read_text()))  # type: ignore[attr-defined]
    assert opened == PERSONAL
    retailer.record_use(world.buyer.address, "delivery", "postal_address", b"parcel for order 1001")  # type: ignore[attr-defined]
    grant = consumer.consents()[-1]  # type: ignore[attr-defined]
    assert grant["dataHash"] == "0x" + sealed.commitment.hex()
    # Scan everything the run wrote on chain: every transaction's input and every log.
    w3 = world.chain.w3
    blobs: list[bytes] = []
    for number in range(w3.eth.block_number + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            blobs.append(bytes(tx.get("input") or tx.get("data") or b""))
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            for log in receipt["logs"]:
                blobs.append(bytes(log["data"]) + b"".join(bytes(t) for t in log["topics"]))
    assert blobs
    leaks = [found for blob in blobs for found in contains_plaintext(blob, PERSONAL.values())]
    assert leaks == []
    # The scanner does find the data when it is there, so the empty result means something.
    assert contains_plaintext(b"xx" + PERSONAL["phone"].encode() + b"yy", PERSONAL.values())
