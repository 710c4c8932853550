"""Signers beyond raw keys: the library asks a signer for its address, a signed transaction and an
EIP-712 signature, nothing else, so a key can stay in a hardware wallet, a cloud KMS or ape."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

import o2ochain
from o2ochain import ApeSigner, Signer
from o2ochain._chain.accounts import load_account
from o2ochain.consent import seal
from o2ochain.errors import ConfigError
from o2ochain.identity import read_catalogue
from o2ochain.shopper import Shopper
from tests.conftest import GTIN_A, World, sample_rows, write_csv

UNIT = 10**15


@dataclass
class Panel:
    """The test's side of a device: every signature it made, and a switch that makes it sign with
    another key, as a misconfigured device would."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    faulty: bool = False


class HardwareKey:
    """Stands in for a hardware wallet or a cloud KMS: the key never leaves the device (it lives
    in a closure, not in an attribute), and the device has ``address``, ``sign_transaction`` and
    ``sign_typed_data`` and nothing else: asking it for anything more fails the test."""

    def __init__(self, panel: Panel, inside: LocalAccount | None = None) -> None:
        inside = inside or Account.create()
        other = Account.create()

        def key() -> LocalAccount:
            return other if panel.faulty else inside

        def sign_transaction(transaction: dict[str, Any], /) -> bytes:
            panel.calls.append(("sign_transaction", transaction["nonce"]))
            unsigned = {name: value for name, value in transaction.items() if name != "from"}  # a device signs the fields
            return bytes(key().sign_transaction(unsigned).raw_transaction)

        def sign_typed_data(domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any], /) -> bytes:
            panel.calls.append(("sign_typed_data", next(iter(types))))
            return bytes(key().sign_typed_data(domain, types, message).signature)

        vars(self).update(address=inside.address, sign_transaction=sign_transaction, sign_typed_data=sign_typed_data)

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the library asked the signer for {name!r}: only the Signer protocol may be used")


def hardware_key(inside: LocalAccount | None = None) -> tuple[Any, Panel]:
    """A device (typed Any: the role objects take it as the Signer it is) and its panel."""
    panel = Panel()
    return HardwareKey(panel, inside), panel


def fund(world: World, address: str) -> None:
    world.chain.w3.eth.send_transaction({"from": world.operator.address, "to": address, "value": 10**18})


def brand_device(world: World) -> tuple[Any, Panel]:
    """A funded device that the world's brand made a registrant and a seller."""
    device, panel = hardware_key()
    fund(world, device.address)
    brand = world.chain.brand(world.brand_admin, world.brand)
    brand.grant_registrant(device.address)
    brand.grant_seller(device.address)
    return device, panel


def test_eth_account_keys_and_a_device_are_signers() -> None:
    assert isinstance(Account.create(), Signer)
    assert isinstance(hardware_key()[0], Signer)
    assert not isinstance(object(), Signer)


def test_a_device_registers_items_signs_a_claim_a_quote_and_a_consent_through_the_protocol_only(world: World, tmp_path: Path) -> None:
    chain = world.chain
    device, panel = brand_device(world)
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(3)))
    report = chain.registrant(device).register_items(items)
    assert report.registered == 3 and chain.identity.verify(items[0].item_id).registered

    claim = chain.seller(device).sign_claim(items[0].item_id, world.buyer.address)
    chain.consumer(world.buyer).claim_with_signature(claim)
    assert chain.identity.verify(items[0].item_id).claimed_by == world.buyer.address

    retailer = chain.register_retailer(world.seller)
    web = retailer.add_channel("online-shop", device.address, "web shop")
    channel = chain.channel(device)
    quote = channel.sign_quote(GTIN_A, 133 * UNIT, valid_for=86_400)
    assert chain.guarantee.check_quote(quote) == quote and quote.channel == web
    channel.sender.transact(chain.guarantee.lodge_call(quote))
    assert chain.guarantee.is_lodged(quote)

    signed = chain.consumer_consent(device).sign_grant(world.seller.address, ["delivery"], ["postal_address"])
    chain.data_user(world.seller).relay_grant(signed)
    assert chain.consent.is_live(device.address, world.seller.address, "delivery", "postal_address")

    sent = chain.w3.eth.get_transaction_count(device.address)
    assert sent == 2  # the registration (one batch), then lodging the quote
    assert [nonce for kind, nonce in panel.calls if kind == "sign_transaction"] == list(range(sent))  # each once, in order
    assert [what for kind, what in panel.calls if kind == "sign_typed_data"] == ["Claim", "Quote", "Grant"]


def test_a_device_answering_with_another_key_is_refused_before_anything_is_sent(world: World, tmp_path: Path) -> None:
    chain = world.chain
    device, panel = brand_device(world)
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(1)))
    chain.registrant(world.registrant).register_items(items)
    seller = chain.seller(device)

    panel.faulty = True
    with pytest.raises(ConfigError, match=rf"the signer of {device.address} returned a transaction by 0x[0-9a-fA-F]{{40}}: check the device"):
        seller.claim(items[0].item_id, world.buyer.address)
    with pytest.raises(ConfigError, match="returned an EIP-712 signature by"):
        seller.sign_claim(items[0].item_id, world.buyer.address)
    assert chain.w3.eth.get_transaction_count(device.address) == 0  # nothing went out

    panel.faulty = False
    seller.claim(items[0].item_id, world.buyer.address)  # the nonce the refused one took is used, no gap
    assert chain.identity.verify(items[0].item_id).claimed_by == world.buyer.address
    assert chain.w3.eth.get_transaction_count(device.address) == 1


def test_a_data_user_on_a_device_opens_sealed_data_only_with_its_sealing_key(world: World) -> None:
    device, _ = hardware_key()
    with pytest.raises(ConfigError, match="opening sealed data takes the secret key of"):
        _ = world.chain.data_user(device).public_key
    with pytest.raises(ConfigError, match="the sealing key given is not the key of"):
        world.chain.data_user(device, sealing_key=Account.create())
    key = Account.create()
    sealed = seal({"name": "Li Wei"}, world.chain.data_user(key).public_key)  # an eth-account signer uses its own key
    assert world.chain.data_user(key).open(sealed) == {"name": "Li Wei"}
    on_device, _ = hardware_key(key)
    assert world.chain.data_user(on_device, sealing_key=key).open(sealed) == {"name": "Li Wei"}


# -- ape ----------------------------------------------------------------------------------------


@pytest.fixture
def ape_keyfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, LocalAccount, str], None]:
    """Writes ape keyfile accounts into a fresh ``$APE_DATA_FOLDER`` (the file ``ape accounts import`` writes)."""
    folder = tmp_path / "ape"
    (folder / "accounts").mkdir(parents=True)
    monkeypatch.setenv("APE_DATA_FOLDER", str(folder))
    monkeypatch.delenv("O2O_PASSWORD", raising=False)

    def write(alias: str, account: LocalAccount, password: str) -> None:
        (folder / "accounts" / f"{alias}.json").write_text(json.dumps(Account.encrypt(account.key, password)))

    return write


def test_an_ape_keyfile_account_signs_itself_deploy_and_claims(
    world: World, ape_keyfile: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = Account.create()
    ape_keyfile("o2o-deployer", key, "correct horse battery")
    monkeypatch.setenv("O2O_PASSWORD", "correct horse battery")
    signer = load_account("o2o-deployer", chain_id=world.chain.chain_id, interactive=False)
    assert isinstance(signer, ApeSigner) and isinstance(signer, Signer) and type(signer.account).__name__ == "KeyfileAccount"
    assert signer.address == key.address
    fund(world, signer.address)

    chain = o2ochain.O2OChain(world.chain.w3)
    deployment = chain.deploy(signer)  # contract creations, signed by ape
    assert deployment.deployer == key.address and set(deployment.contracts) >= {"ProductRegistry", "PriceGuarantee"}
    brand = chain.admin(signer).register_brand(signer.address, "Ape Snacks", ["9506000"])
    ba = chain.brand(signer, brand)
    ba.add_product(GTIN_A)
    ba.grant_registrant(signer.address)
    ba.grant_seller(signer.address)
    items = read_catalogue(write_csv(tmp_path / "ape.csv", sample_rows(1)))
    chain.registrant(signer).register_items(items)
    item = items[0].item_id
    claim = chain.seller(signer).sign_claim(item, world.buyer.address)  # EIP-712, signed by ape
    chain.consumer(world.buyer).claim_with_signature(claim)
    assert chain.identity.verify(item).claimed_by == world.buyer.address
    assert Shopper.from_account(signer).purchase_account(1, 0).address == Shopper.from_account(key).purchase_account(1, 0).address


def test_an_ape_keyfile_account_with_a_wrong_password_is_refused(world: World, ape_keyfile: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ape_keyfile("o2o-admin", Account.create(), "correct horse battery")
    monkeypatch.setenv("O2O_PASSWORD", "wrong")
    with pytest.raises(ConfigError, match="wrong password for ape account o2o-admin"):
        load_account("o2o-admin", chain_id=world.chain.chain_id, interactive=False)
    with pytest.raises(ConfigError, match="not a keystore file, not an ape account alias"):
        load_account("o2o-nobody", chain_id=world.chain.chain_id, interactive=False)

