"""A shopper's derived addresses (o2ochain.shopper): stable, valid, and checked on bad input."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

import o2ochain
from o2ochain import gs1
from o2ochain.demo import PageServer
from o2ochain.errors import ContractRevert, InputError
from o2ochain.identity import CatalogueItem
from o2ochain.shopper import SEED_MESSAGE, RelayService, Shopper, derive_key
from o2ochain.shopper._shopper import SECP256K1_N
from tests.conftest import GTIN_A, World, build_world

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "shopper-vectors.json").read_text())


def test_derivation_matches_the_recorded_vectors() -> None:
    # The page (frontend/src/wallet/shopper.ts) is checked against the same file: a change here
    # would leave every shopper's earlier records at addresses nobody derives any more.
    account = Account.from_key(VECTORS["privateKey"])
    assert VECTORS["message"] == SEED_MESSAGE
    assert account.address == VECTORS["address"]
    signature = bytes(account.sign_message(encode_defunct(text=SEED_MESSAGE)).signature)
    assert "0x" + signature.hex() == VECTORS["signature"]
    shopper = Shopper.from_account(account)
    for vector in VECTORS["contexts"]:
        derived = shopper.account(vector["context"])
        assert derived.address == vector["address"]
        assert "0x" + bytes(derived.key).hex() == vector["privateKey"]


def test_shopper_of_one_key_is_the_same_after_a_reinstall_and_differs_per_record() -> None:
    key = Account.create().key
    first, again = Shopper.from_account(Account.from_key(key)), Shopper.from_account(Account.from_key(key))
    addresses = {
        first.purchase_account(1, 0).address,
        first.purchase_account(1, 1).address,
        first.purchase_account(2, 0).address,
        first.item_account(b"\x01" * 32).address,
        first.consent_account("0x70997970C51812DC3a010C7D01b50E5D17dC79C8").address,
    }
    assert len(addresses) == 5
    assert again.purchase_account(1, 1).address == first.purchase_account(1, 1).address
    # Consent addresses do not depend on how the data user's address is spelled.
    assert first.consent_account("0x70997970c51812dc3a010c7d01b50e5d17dc79c8").address == first.consent_account(
        "0x70997970C51812DC3a010C7D01b50E5D17dC79C8"
    ).address


def test_derive_key_is_always_a_valid_secp256k1_key() -> None:
    for n in range(200):
        value = int.from_bytes(derive_key(bytes([n]) * 32, f"purchase/1/{n}"), "big")
        assert 1 <= value < SECP256K1_N


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.purchase_account(0, 0), "retailer"),
        (lambda s: s.purchase_account(1, -1), "retailer"),
        (lambda s: s.item_account(b"\x01" * 31), "item"),
        (lambda s: s.consent_account("nope"), "data_user"),
    ],
)
def test_shopper_refuses_bad_input_by_name(call: object, field: str) -> None:
    shopper = Shopper(b"\x07" * 32)
    with pytest.raises(InputError) as info:
        call(shopper)  # type: ignore[operator]
    assert info.value.field == field


def test_shopper_refuses_a_seed_or_signature_of_the_wrong_size() -> None:
    with pytest.raises(InputError, match="32 bytes"):
        Shopper(b"\x00" * 31)
    with pytest.raises(InputError, match="65 bytes"):
        Shopper.from_signature(b"\x00" * 64)


# --------------------------------------------------------------------------------------------
# Relaying: the calls a derived address needs, sent and paid for by someone else
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def relayed_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, RelayService]:
    """One world for the module's relay tests (each uses its own items)."""
    world = build_world(o2ochain.connect("tester"), tmp_path_factory.mktemp("relay") / "deployments")
    return world, RelayService(world.chain.w3, world.chain.deployment, world.outsider)


def test_relay_service_sends_a_stores_claim_code_for_a_derived_owner(relayed_world: tuple[World, RelayService]) -> None:
    world, relay = relayed_world
    world.chain.registrant(world.registrant).register_items([CatalogueItem(gtin=GTIN_A, serial="S000000", lot="L1", expiry=None, line=2)])
    item = gs1.item_id(GTIN_A, "S000000")
    owner = Shopper(b"\x05" * 32).item_account(item)
    claim = world.chain.seller(world.seller).sign_claim(item, owner.address)
    registry = world.chain.identity.contract
    data = registry.encode_abi("claimWithSignature", args=[item, owner.address, claim["deadline"], bytes.fromhex(claim["signature"][2:])])

    reply = relay.relay({"to": registry.address, "data": data})

    assert reply["call"] == "ProductRegistry.claimWithSignature"
    assert world.chain.identity.verify(item).claimed_by == owner.address
    tx = world.chain.w3.eth.get_transaction(reply["txHash"])
    assert tx["from"] == world.outsider.address  # the relayer sent it; the owner holds no coin
    assert world.chain.w3.eth.get_balance(owner.address) == 0


def test_relay_service_raises_the_contracts_refusal_decoded(relayed_world: tuple[World, RelayService]) -> None:
    world, relay = relayed_world
    registry = world.chain.identity.contract
    item = gs1.item_id(GTIN_A, "NEVER")
    data = registry.encode_abi("claimWithSignature", args=[item, world.buyer.address, 2**40, b"\x00" * 65])
    with pytest.raises(ContractRevert) as info:
        relay.relay({"to": registry.address, "data": data})
    assert type(info.value).__name__ == "IdentityItemUnknown"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"to": "nope", "data": "0x12345678"}, "to"),
        ({"data": "0x12345678"}, "to"),
        ({"to": "0x" + "11" * 20, "data": "12345678"}, "data"),
        ({"to": "0x" + "11" * 20, "data": "0x12"}, "data"),
        ({"to": "0x" + "11" * 20, "data": "0xzz345678"}, "data"),
    ],
)
def test_relay_service_refuses_malformed_requests(relayed_world: tuple[World, RelayService], request_: dict[str, str], field: str) -> None:
    _, relay = relayed_world
    with pytest.raises(InputError) as info:
        relay.relay(request_)
    assert info.value.field == field


def test_relay_service_sends_nothing_but_signed_calls(relayed_world: tuple[World, RelayService]) -> None:
    """A relay is not a free wallet: an admin function, or another contract, is refused unsent."""
    world, relay = relayed_world
    registry = world.chain.identity.contract
    brand_call = registry.encode_abi("registerBrand", args=[world.outsider.address, "Mine", ["9506999"]])
    block = world.chain.w3.eth.block_number
    for to, data in ((registry.address, brand_call), ("0x" + "11" * 20, "0x" + registry.encode_abi("claim", args=[b"\x01" * 32, world.buyer.address])[2:])):
        with pytest.raises(InputError, match="only signed o2ochain calls"):
            relay.relay({"to": to, "data": data})
    assert world.chain.w3.eth.block_number == block


def test_page_server_relays_over_http_and_words_a_refusal(relayed_world: tuple[World, RelayService], tmp_path: Path) -> None:
    world, relay = relayed_world
    server = PageServer("http://127.0.0.1:1", world.chain.deployment, tmp_path, tmp_path, relay_service=relay).start()
    try:
        assert server.config()["relay"] == "./relay"
        registry = world.chain.identity.contract
        data = registry.encode_abi("claimWithSignature", args=[gs1.item_id(GTIN_A, "NEVER"), world.buyer.address, 2**40, b"\x00" * 65])
        status, reply = post(server.url + "/relay", {"to": registry.address, "data": data})
        # The contract's refusal by name, which the page turns into its own sentence.
        assert (status, reply["error"]) == (422, "IdentityItemUnknown")
        status, reply = post(server.url + "/relay", {"to": registry.address, "data": "0x1234"})
        assert status == 400 and "calldata" in reply["error"]
    finally:
        server.stop()


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
