"""ProductRegistry: every function, custom error (with its arguments) and event (with its fields)."""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import (
    ARTIFACT,
    DEFAULT_ADMIN_ROLE,
    EXPIRY,
    GTIN,
    GTIN_2,
    OTHER_GTIN,
    OTHER_PREFIX,
    PREFIX,
    URI,
    Env,
    MerkleTree,
    brand_role,
    code,
    expect_revert,
    gtin_check_digit,
    item_id,
    lot_id,
    merkle_leaf,
)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO32 = b"\x00" * 32
ACTIVE, RECALLED, DECOMMISSIONED = 1, 2, 3
MAX_LOT_ITEMS = 1 << 20

# The functions of IProductRegistry: its ERC-165 id is the XOR of their selectors.
INTERFACE_FUNCTIONS = [
    "registerBrand(address,string,string[])",
    "assignCompanyPrefix(uint32,string)",
    "registerProduct(uint32,uint64,string)",
    "registerItems((uint64,bytes32,uint32,bytes32[])[])",
    "commitLot(uint64,bytes32,uint32,bytes32,uint32,string)",
    "openLine(uint64,bytes32,uint32,string)",
    "registerItem(bytes32)",
    "commitLineRoot(bytes32,bytes32,uint32)",
    "closeLine()",
    "proveItem((uint64,bytes32,bytes32,bytes32,bytes32[]))",
    "claim(bytes32,address)",
    "claimWithSignature(bytes32,address,uint256,bytes)",
    "recallItem(bytes32,uint16,bytes32)",
    "recallLot(uint64,bytes32,uint16,bytes32)",
    "decommission(bytes32,uint16)",
    "verify(bytes32)",
    "verifyMerkle((uint64,bytes32,bytes32,bytes32,bytes32[]))",
    "registered(bytes32[])",
    "product(uint64)",
    "brand(uint32)",
    "brandCount()",
    "brandOfPrefix(string)",
    "lotRoot(bytes32)",
    "line(address)",
    "lotInfo(bytes32)",
    "itemId(uint64,bytes32)",
    "lotId(uint64,bytes32)",
    "claimDigest(bytes32,address,uint256)",
    "brandAdminRole(uint32)",
    "registrantRole(uint32)",
    "sellerRole(uint32)",
    "version()",
]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def as_dict(fn_name: str, value: tuple[Any, ...]) -> dict[str, Any]:
    """A struct returned by `fn_name`, keyed by its ABI component names."""
    entry = next(e for e in ARTIFACT["abi"] if e.get("type") == "function" and e["name"] == fn_name)
    names = [c["name"] for c in entry["outputs"][0]["components"]]
    return dict(zip(names, value, strict=True))


def verify(env: Env, item: bytes) -> dict[str, Any]:
    return as_dict("verify", env.registry.functions.verify(item).call())


def sign_claim(env: Env, signer: str, item: bytes, owner: str, deadline: int) -> bytes:
    """A seller's EIP-712 Claim signature, built independently of the contract."""
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Claim": [
                {"name": "item", "type": "bytes32"},
                {"name": "owner", "type": "address"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Claim",
        "domain": {
            "name": "o2ochain ProductRegistry",
            "version": "1",
            "chainId": env.w3.eth.chain_id,
            "verifyingContract": env.registry.address,
        },
        "message": {"item": item, "owner": owner, "deadline": deadline},
    }
    key = env.actors.keys[to_checksum_address(signer)]
    return bytes(Account.sign_message(encode_typed_data(full_message=typed), key).signature)


def registered_item(env: Env, serial: str = "SN0001", lot: str = "L1", gtin: int = GTIN) -> bytes:
    env.register(gtin, lot, [serial])
    return item_id(gtin, serial)


def merkle_lot(env: Env, gtin: int = GTIN, lot: str = "M1", n: int = 6, commit: bool = True) -> tuple[MerkleTree, list[str]]:
    serials = [f"MK{i:04d}" for i in range(n)]
    tree = MerkleTree([merkle_leaf(item_id(gtin, s), lot_id(gtin, lot)) for s in serials])
    if commit:
        env.send(env.registry.functions.commitLot(gtin, code(lot), EXPIRY, tree.root, n, URI), env.actors.registrant)
    return tree, serials


def merkle_item(tree: MerkleTree, gtin: int, lot: str, serial: str, root: bytes | None = None) -> tuple[Any, ...]:
    leaf = merkle_leaf(item_id(gtin, serial), lot_id(gtin, lot))
    return (gtin, code(serial), code(lot), root or tree.root, tree.proof(leaf))


def recall_lot(env: Env, gtin: int, lot: bytes, reason: int, sender: str) -> Callable[[], Any]:
    """A recallLot of `lot` (a lot code) with no document, sent by `sender`, as a transaction to
    hand to ``expect_revert``."""
    return lambda: env.registry.functions.recallLot(gtin, lot, reason, ZERO32).transact({"from": sender})


# --------------------------------------------------------------------------------------------
# Deployment, metadata, roles
# --------------------------------------------------------------------------------------------


def test_version_is_0_1_0(registry: Any) -> None:
    assert registry.functions.version().call() == "0.1.0"


def test_supports_interface_reports_product_registry_access_control_and_erc165(registry: Any) -> None:
    selectors = [int.from_bytes(function_signature_to_4byte_selector(s), "big") for s in INTERFACE_FUNCTIONS]
    interface_id = reduce(lambda a, b: a ^ b, selectors).to_bytes(4, "big")
    f = registry.functions
    assert f.supportsInterface(interface_id).call()
    assert f.supportsInterface(bytes.fromhex("7965db0b")).call()  # IAccessControl
    assert f.supportsInterface(bytes.fromhex("01ffc9a7")).call()  # IERC165
    assert not f.supportsInterface(bytes.fromhex("ffffffff")).call()
    # The list above is the whole interface: every one of its functions is in the ABI.
    assert set(INTERFACE_FUNCTIONS) <= set(ARTIFACT["methodIdentifiers"])


def test_constructor_reverts_on_zero_admin(env: Env) -> None:
    factory = env.w3.eth.contract(abi=ARTIFACT["abi"], bytecode=ARTIFACT["bytecode"])
    expect_revert(
        env.abi,
        lambda: factory.constructor(ZERO_ADDRESS).transact({"from": env.actors.admin}),
        "IdentityInvalidAdmin",
        admin=ZERO_ADDRESS,
    )


def test_constructor_grants_default_admin_role(registry: Any, actors: Any) -> None:
    assert registry.functions.hasRole(DEFAULT_ADMIN_ROLE, actors.admin).call()
    assert not registry.functions.hasRole(DEFAULT_ADMIN_ROLE, actors.outsider).call()


def test_eip712_domain_is_o2ochain_product_registry_v1(env: Env) -> None:
    _, name, version, chain_id, contract, _, _ = env.registry.functions.eip712Domain().call()
    assert (name, version, chain_id, contract) == ("o2ochain ProductRegistry", "1", env.w3.eth.chain_id, env.registry.address)


@pytest.mark.parametrize("brand", [1, 2, 4_000_000_000])
def test_brand_role_ids_match_abi_encoding(registry: Any, brand: int) -> None:
    f = registry.functions
    assert f.brandAdminRole(brand).call() == brand_role("brand-admin", brand)
    assert f.registrantRole(brand).call() == brand_role("registrant", brand)
    assert f.sellerRole(brand).call() == brand_role("seller", brand)


def test_register_brand_sets_role_admins(registry: Any) -> None:
    f = registry.functions
    assert f.getRoleAdmin(brand_role("registrant", 1)).call() == brand_role("brand-admin", 1)
    assert f.getRoleAdmin(brand_role("seller", 1)).call() == brand_role("brand-admin", 1)
    assert f.getRoleAdmin(brand_role("brand-admin", 1)).call() == DEFAULT_ADMIN_ROLE


def test_grant_role_by_brand_admin_grants_registrant(env: Env) -> None:
    role = brand_role("registrant", 1)
    env.send(env.registry.functions.grantRole(role, env.actors.outsider), env.actors.brand_admin)
    assert env.registry.functions.hasRole(role, env.actors.outsider).call()


def test_grant_role_refused_to_other_brand_admin(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.grantRole(brand_role("seller", 1), env.actors.outsider).transact({"from": env.actors.other_admin}),
        "AccessControlUnauthorizedAccount",
        account=env.actors.other_admin,
        neededRole=brand_role("brand-admin", 1),
    )


def test_grant_role_of_brand_admin_by_registry_admin(env: Env) -> None:
    role = brand_role("brand-admin", 1)
    env.send(env.registry.functions.grantRole(role, env.actors.outsider), env.actors.admin)
    assert env.registry.functions.hasRole(role, env.actors.outsider).call()


# --------------------------------------------------------------------------------------------
# Brands and prefixes
# --------------------------------------------------------------------------------------------


def test_register_brand_assigns_sequential_id_and_emits(env: Env) -> None:
    f = env.registry.functions
    receipt = env.send(f.registerBrand(env.actors.outsider, "Third", ["12345", "0678"]), env.actors.admin)
    (registered,) = env.events(receipt, "BrandRegistered")
    assert dict(registered) == {"brand": 3, "admin": env.actors.outsider, "name": "Third"}
    assigned = env.events(receipt, "CompanyPrefixAssigned")
    assert [dict(e) for e in assigned] == [{"brand": 3, "prefix": "12345"}, {"brand": 3, "prefix": "0678"}]
    assert f.brandCount().call() == 3
    name, prefixes, registered_at = f.brand(3).call()
    assert (name, prefixes, registered_at) == ("Third", ["12345", "0678"], receipt["blockNumber"])
    assert f.hasRole(brand_role("brand-admin", 3), env.actors.outsider).call()
    assert f.brandOfPrefix("0678").call() == 3


def test_register_brand_refused_to_outsider(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerBrand(env.actors.outsider, "X", []).transact({"from": env.actors.outsider}),
        "AccessControlUnauthorizedAccount",
        account=env.actors.outsider,
        neededRole=DEFAULT_ADMIN_ROLE,
    )


def test_register_brand_reverts_on_zero_admin(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerBrand(ZERO_ADDRESS, "X", []).transact({"from": env.actors.admin}),
        "IdentityInvalidAdmin",
        admin=ZERO_ADDRESS,
    )


def test_register_brand_reverts_on_empty_name(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerBrand(env.actors.outsider, "", []).transact({"from": env.actors.admin}),
        "IdentityBrandNameEmpty",
    )


@pytest.mark.parametrize("prefix", ["123", "1234567890123", "12a4", "12 45", "", "１２３４"])
def test_register_brand_reverts_on_invalid_prefix(env: Env, prefix: str) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerBrand(env.actors.outsider, "X", [prefix]).transact({"from": env.actors.admin}),
        "IdentityPrefixInvalid",
        prefix=prefix,
    )


def test_brand_of_unknown_brand_is_empty(registry: Any) -> None:
    assert registry.functions.brand(99).call() == ("", [], 0)


def test_brand_count_counts_registered_brands(registry: Any) -> None:
    assert registry.functions.brandCount().call() == 2


def test_assign_company_prefix_maps_prefix_and_emits(env: Env) -> None:
    receipt = env.send(env.registry.functions.assignCompanyPrefix(1, "950601"), env.actors.admin)
    (event,) = env.events(receipt, "CompanyPrefixAssigned")
    assert dict(event) == {"brand": 1, "prefix": "950601"}
    assert env.registry.functions.brandOfPrefix("950601").call() == 1
    assert env.registry.functions.brand(1).call()[1] == [PREFIX, "950601"]


def test_assign_company_prefix_refused_to_outsider(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.assignCompanyPrefix(1, "950601").transact({"from": env.actors.brand_admin}),
        "AccessControlUnauthorizedAccount",
        account=env.actors.brand_admin,
        neededRole=DEFAULT_ADMIN_ROLE,
    )


def test_assign_company_prefix_reverts_when_taken(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.assignCompanyPrefix(2, PREFIX).transact({"from": env.actors.admin}),
        "IdentityPrefixTaken",
        prefix=PREFIX,
        owner=1,
    )


@pytest.mark.parametrize("prefix", ["95060001", "950600012345", "950600", "9506"])
def test_assign_company_prefix_reverts_when_nested(env: Env, prefix: str) -> None:
    # Longer prefixes start with 9506000; shorter ones are the start of it.
    expect_revert(
        env.abi,
        lambda: env.registry.functions.assignCompanyPrefix(2, prefix).transact({"from": env.actors.admin}),
        "IdentityPrefixNested",
        prefix=prefix,
    )


def test_assign_company_prefix_reverts_on_unknown_brand(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.assignCompanyPrefix(9, "12345").transact({"from": env.actors.admin}),
        "IdentityBrandUnknown",
        brand=9,
    )


def test_assign_company_prefix_reverts_on_invalid_prefix(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.assignCompanyPrefix(1, "12x45").transact({"from": env.actors.admin}),
        "IdentityPrefixInvalid",
        prefix="12x45",
    )


def test_brand_of_prefix_distinguishes_leading_zeros(env: Env) -> None:
    env.send(env.registry.functions.assignCompanyPrefix(2, "09506"), env.actors.admin)
    f = env.registry.functions
    assert (f.brandOfPrefix("09506").call(), f.brandOfPrefix(PREFIX).call()) == (2, 1)


def test_brand_of_prefix_is_zero_when_unassigned(registry: Any) -> None:
    assert registry.functions.brandOfPrefix("123456").call() == 0


def test_brand_of_prefix_reverts_on_invalid_prefix(env: Env) -> None:
    expect_revert(env.abi, lambda: env.registry.functions.brandOfPrefix("12").call(), "IdentityPrefixInvalid", prefix="12")


# --------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------


def test_register_product_stores_brand_and_emits(env: Env) -> None:
    gtin = int("0950600099999" + str(gtin_check_digit("0950600099999")))
    receipt = env.send(env.registry.functions.registerProduct(1, gtin, "https://acme.example/p"), env.actors.registrant)
    (event,) = env.events(receipt, "ProductRegistered")
    assert dict(event) == {"gtin": gtin, "brand": 1, "uri": "https://acme.example/p"}
    assert env.registry.functions.product(gtin).call() == (1, receipt["blockNumber"])


def test_register_product_by_brand_admin_succeeds(env: Env) -> None:
    gtin = int("1950600013435" + str(gtin_check_digit("1950600013435")))  # indicator digit 1
    env.send(env.registry.functions.registerProduct(1, gtin, URI), env.actors.brand_admin)
    assert env.registry.functions.product(gtin).call()[0] == 1


def test_register_product_refused_to_outsider(env: Env) -> None:
    gtin = int("0950600099999" + str(gtin_check_digit("0950600099999")))
    for sender in (env.actors.outsider, env.actors.seller, env.actors.other_admin):
        expect_revert(
            env.abi,
            lambda s=sender: env.registry.functions.registerProduct(1, gtin, URI).transact({"from": s}),
            "AccessControlUnauthorizedAccount",
            account=sender,
            neededRole=brand_role("registrant", 1),
        )


@pytest.mark.parametrize("gtin", [9506000134353, 0, 10**14, 2**64 - 1])
def test_register_product_reverts_on_invalid_gtin(env: Env, gtin: int) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerProduct(1, gtin, URI).transact({"from": env.actors.registrant}),
        "IdentityGtinInvalid",
        gtin=gtin,
    )


def test_register_product_reverts_when_prefix_not_of_brand(env: Env) -> None:
    unassigned = int("0123456789012" + str(gtin_check_digit("0123456789012")))
    for gtin in (unassigned, int("0400638133394" + str(gtin_check_digit("0400638133394")))):
        expect_revert(
            env.abi,
            lambda g=gtin: env.registry.functions.registerProduct(1, g, URI).transact({"from": env.actors.registrant}),
            "IdentityGtinNotOfBrand",
            gtin=gtin,
            brand=1,
        )


def test_register_product_reverts_when_already_registered(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerProduct(1, GTIN, URI).transact({"from": env.actors.registrant}),
        "IdentityProductAlreadyRegistered",
        gtin=GTIN,
        brand=1,
    )


def test_register_product_reverts_on_unknown_brand(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerProduct(7, GTIN, URI).transact({"from": env.actors.admin}),
        "IdentityBrandUnknown",
        brand=7,
    )


def test_product_of_unknown_gtin_is_zero(registry: Any) -> None:
    assert registry.functions.product(12345).call() == (0, 0)


# --------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------

SERIAL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!\"%&'()*+,-./:;<=>?_"


@settings(max_examples=40, deadline=None)
@given(
    body=st.integers(min_value=0, max_value=10**13 - 1),
    serial=st.text(alphabet=SERIAL_ALPHABET, min_size=1, max_size=20),
)
def test_item_id_and_lot_id_match_python_keccak(_session_env: Env, body: int, serial: str) -> None:
    digits = f"{body:013d}"
    gtin = int(digits + str(gtin_check_digit(digits)))
    if gtin == 0:
        return
    f = _session_env.registry.functions
    assert f.itemId(gtin, code(serial)).call() == item_id(gtin, serial)
    assert f.lotId(gtin, code(serial)).call() == lot_id(gtin, serial)


def test_item_id_of_the_documented_example(registry: Any) -> None:
    expected = keccak(b"/01/09506000134352/21/ABC123")
    assert registry.functions.itemId(GTIN, code("ABC123")).call() == expected
    assert registry.functions.lotId(GTIN, code("ABC123")).call() == keccak(b"/01/09506000134352/10/ABC123")


def test_item_id_reverts_on_invalid_gtin(env: Env) -> None:
    expect_revert(env.abi, lambda: env.registry.functions.itemId(GTIN + 1, code("A")).call(), "IdentityGtinInvalid", gtin=GTIN + 1)
    expect_revert(env.abi, lambda: env.registry.functions.lotId(GTIN + 1, code("A")).call(), "IdentityGtinInvalid", gtin=GTIN + 1)


@pytest.mark.parametrize("serial", [ZERO32, b"A" * 21 + b"\0" * 11, b"A" * 32, b"A" + b"\0" * 30 + b"B"])
def test_item_id_reverts_on_invalid_serial(env: Env, serial: bytes) -> None:
    expect_revert(env.abi, lambda: env.registry.functions.itemId(GTIN, serial).call(), "IdentitySerialInvalid", gtin=GTIN, serial=serial)


def test_lot_id_reverts_on_invalid_lot(env: Env) -> None:
    lot = b"L" * 21 + b"\0" * 11
    expect_revert(env.abi, lambda: env.registry.functions.lotId(GTIN, lot).call(), "IdentityLotCodeInvalid", lot=lot)


def test_item_id_accepts_twenty_bytes_and_embedded_zero_lengths(registry: Any) -> None:
    serial = "S" * 20
    assert registry.functions.itemId(GTIN, code(serial)).call() == item_id(GTIN, serial)
    # A zero byte inside counts (the length runs to the last nonzero byte).
    raw = b"A\0B"
    assert registry.functions.itemId(GTIN, code(raw)).call() == keccak(b"/01/09506000134352/21/A\0B")


# --------------------------------------------------------------------------------------------
# registerItems
# --------------------------------------------------------------------------------------------


def test_register_items_stores_items_and_emits(env: Env) -> None:
    serials = ["SN0000000001", "SN0000000002", "X"]
    receipt = env.register(GTIN, "LOT-A", serials)
    items = [item_id(GTIN, s) for s in serials]
    assert [e["item"] for e in env.events(receipt, "ItemRegistered")] == items
    (batch,) = env.events(receipt, "ItemsRegistered")
    assert dict(batch) == {
        "brand": 1,
        "lot": lot_id(GTIN, "LOT-A"),
        "gtin": GTIN,
        "lotCode": code("LOT-A"),
        "expiry": EXPIRY,
        "count": 3,
    }
    assert verify(env, items[0]) == {
        "registered": True,
        "brand": 1,
        "gtin": GTIN,
        "lot": lot_id(GTIN, "LOT-A"),
        "lotCode": code("LOT-A"),
        "expiry": EXPIRY,
        "status": ACTIVE,
        "lotRecalled": False,
        "claimedBy": ZERO_ADDRESS,
        "registeredAt": receipt["blockNumber"],
        "merkle": False,
        "root": ZERO32,
    }
    info = env.registry.functions.lotInfo(lot_id(GTIN, "LOT-A")).call()
    assert info == (True, 1, GTIN, code("LOT-A"), EXPIRY, False, receipt["blockNumber"])


def test_register_items_handles_several_batches_and_brands(env: Env) -> None:
    role = brand_role("registrant", 2)
    env.send(env.registry.functions.grantRole(role, env.actors.registrant), env.actors.other_admin)
    batches = [
        (GTIN, code("L1"), 0, [code("A1"), code("A2")]),
        (GTIN_2, code("L1"), 250101, [code("A1")]),
        (OTHER_GTIN, code("L9"), 0, [code("Z")]),
    ]
    receipt = env.send(env.registry.functions.registerItems(batches), env.actors.registrant)
    groups = [(e["brand"], e["gtin"], e["count"]) for e in env.events(receipt, "ItemsRegistered")]
    assert groups == [(1, GTIN, 2), (1, GTIN_2, 1), (2, OTHER_GTIN, 1)]
    assert verify(env, item_id(GTIN_2, "A1"))["expiry"] == 250101
    assert verify(env, item_id(OTHER_GTIN, "Z"))["brand"] == 2
    # Same lot code, other GTIN: another lot.
    assert verify(env, item_id(GTIN_2, "A1"))["lot"] == lot_id(GTIN_2, "L1") != lot_id(GTIN, "L1")


def test_register_items_reuses_an_existing_lot(env: Env) -> None:
    first = env.register(GTIN, "L1", ["A"])
    env.register(GTIN, "L1", ["B"])
    assert verify(env, item_id(GTIN, "B"))["lot"] == lot_id(GTIN, "L1")
    assert env.registry.functions.lotInfo(lot_id(GTIN, "L1")).call()[6] == first["blockNumber"]


def test_register_items_refused_to_outsider(env: Env) -> None:
    batch = (GTIN, code("L1"), 0, [code("A")])
    for sender in (env.actors.outsider, env.actors.brand_admin, env.actors.seller):
        expect_revert(
            env.abi,
            lambda s=sender: env.registry.functions.registerItems([batch]).transact({"from": s}),
            "AccessControlUnauthorizedAccount",
            account=sender,
            neededRole=brand_role("registrant", 1),
        )


def test_register_items_refused_for_another_brands_product(env: Env) -> None:
    batch = (OTHER_GTIN, code("L1"), 0, [code("A")])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "AccessControlUnauthorizedAccount",
        account=env.actors.registrant,
        neededRole=brand_role("registrant", 2),
    )


def test_register_items_reverts_when_serial_repeats(env: Env) -> None:
    batch = (GTIN, code("L1"), 0, [code("A"), code("B"), code("A")])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "IdentityItemAlreadyRegistered",
        item=item_id(GTIN, "A"),
    )


def test_register_items_reverts_when_item_already_registered(env: Env) -> None:
    env.register(GTIN, "L1", ["A"])
    batch = (GTIN, code("L2"), 0, [code("B"), code("A")])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "IdentityItemAlreadyRegistered",
        item=item_id(GTIN, "A"),
    )
    # Nothing of the failed call was kept.
    assert env.registry.functions.registered([item_id(GTIN, "B")]).call() == [False]


@pytest.mark.parametrize("serial", [ZERO32, b"S" * 21 + b"\0" * 11, b"S" + b"\0" * 30 + b"\x01"])
def test_register_items_reverts_on_invalid_serial(env: Env, serial: bytes) -> None:
    batch = (GTIN, code("L1"), 0, [code("OK"), serial])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "IdentitySerialInvalid",
        gtin=GTIN,
        serial=serial,
    )


@pytest.mark.parametrize("lot", [ZERO32, b"L" * 21 + b"\0" * 11])
def test_register_items_reverts_on_invalid_lot_code(env: Env, lot: bytes) -> None:
    batch = (GTIN, lot, 0, [code("A")])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "IdentityLotCodeInvalid",
        lot=lot,
    )


def test_register_items_reverts_on_unknown_product(env: Env) -> None:
    gtin = int("0950600099999" + str(gtin_check_digit("0950600099999")))
    batch = (gtin, code("L1"), 0, [code("A")])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "IdentityProductUnknown",
        gtin=gtin,
    )


def test_register_items_reverts_on_empty_batch(env: Env) -> None:
    batch = (GTIN, code("L1"), 0, [])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "IdentityBatchEmpty",
        gtin=GTIN,
        lot=code("L1"),
    )


@pytest.mark.parametrize("expiry", [991232, 1000000, 250001 - 100, 251301, 251232, 2**32 - 1])
def test_register_items_reverts_on_invalid_expiry(env: Env, expiry: int) -> None:
    batch = (GTIN, code("L1"), expiry, [code("A")])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "IdentityExpiryInvalid",
        expiry=expiry,
    )


@pytest.mark.parametrize("expiry", [0, 250100, 251231, 991231, 10100])
def test_register_items_accepts_valid_expiry(env: Env, expiry: int) -> None:
    env.register(GTIN, "L1", ["A"], expiry=expiry)
    assert verify(env, item_id(GTIN, "A"))["expiry"] == expiry


def test_register_items_reverts_on_expiry_mismatch(env: Env) -> None:
    env.register(GTIN, "L1", ["A"], expiry=251231)
    batch = (GTIN, code("L1"), 260101, [code("B")])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "IdentityLotExpiryMismatch",
        lot=lot_id(GTIN, "L1"),
        expiry=251231,
        given=260101,
    )


def test_register_items_reverts_in_recalled_lot(env: Env) -> None:
    env.register(GTIN, "L1", ["A"])
    env.send(env.registry.functions.recallLot(GTIN, code("L1"), 1, ZERO32), env.actors.registrant)
    batch = (GTIN, code("L1"), EXPIRY, [code("B")])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "IdentityLotRecalled",
        lot=lot_id(GTIN, "L1"),
    )


def test_register_items_gas_per_item_meets_target(env: Env) -> None:
    serials = [f"SN{i:010d}" for i in range(1, 101)]
    receipt = env.register(GTIN, "LOT-100", serials)
    assert receipt["gasUsed"] / 100 <= 25_000, receipt["gasUsed"]


def test_registered_reports_each_item(env: Env) -> None:
    env.register(GTIN, "L1", ["A", "C"])
    items = [item_id(GTIN, s) for s in ("A", "B", "C")]
    assert env.registry.functions.registered(items).call() == [True, False, True]
    assert env.registry.functions.registered([]).call() == []


# --------------------------------------------------------------------------------------------
# Merkle lots
# --------------------------------------------------------------------------------------------


def test_commit_lot_stores_root_and_emits(env: Env) -> None:
    root = keccak(b"root")
    receipt = env.send(env.registry.functions.commitLot(GTIN, code("M1"), EXPIRY, root, 10_000, URI), env.actors.registrant)
    (event,) = env.events(receipt, "LotCommitted")
    assert dict(event) == {
        "brand": 1,
        "lot": lot_id(GTIN, "M1"),
        "root": root,
        "gtin": GTIN,
        "lotCode": code("M1"),
        "expiry": EXPIRY,
        "count": 10_000,
        "uri": URI,
    }
    assert env.registry.functions.lotRoot(root).call() == (1, GTIN, 10_000, EXPIRY, receipt["blockNumber"])
    # No lot record yet: it comes with the first proof or a recall.
    assert env.registry.functions.lotInfo(lot_id(GTIN, "M1")).call()[0] is False


def test_commit_lot_gas_meets_report(env: Env) -> None:
    root = keccak(b"gas")
    receipt = env.send(env.registry.functions.commitLot(GTIN, code("LOT2024A"), EXPIRY, root, 10_000, URI), env.actors.registrant)
    assert receipt["gasUsed"] <= 58_000, receipt["gasUsed"]


def test_commit_lot_refused_to_outsider(env: Env) -> None:
    for sender in (env.actors.outsider, env.actors.brand_admin, env.actors.seller):
        expect_revert(
            env.abi,
            lambda s=sender: env.registry.functions.commitLot(GTIN, code("M1"), 0, keccak(b"r"), 1, URI).transact({"from": s}),
            "AccessControlUnauthorizedAccount",
            account=sender,
            neededRole=brand_role("registrant", 1),
        )


def test_commit_lot_reverts_when_root_repeats(env: Env) -> None:
    root = keccak(b"r")
    env.send(env.registry.functions.commitLot(GTIN, code("M1"), 0, root, 1, URI), env.actors.registrant)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.commitLot(GTIN_2, code("M2"), 0, root, 1, URI).transact({"from": env.actors.registrant}),
        "IdentityRootAlreadyCommitted",
        root=root,
    )


def test_commit_lot_accepts_the_maximum_count(env: Env) -> None:
    env.send(env.registry.functions.commitLot(GTIN, code("M1"), 0, keccak(b"r"), MAX_LOT_ITEMS, URI), env.actors.registrant)
    assert env.registry.functions.lotRoot(keccak(b"r")).call()[2] == MAX_LOT_ITEMS


@pytest.mark.parametrize(
    ("gtin", "lot", "expiry", "root", "count", "error", "args"),
    [
        (GTIN, code("M1"), 0, keccak(b"r"), MAX_LOT_ITEMS + 1, "IdentityLotTooLarge", {"count": MAX_LOT_ITEMS + 1, "max": MAX_LOT_ITEMS}),
        (GTIN, code("M1"), 0, keccak(b"r"), 0, "IdentityLotEmpty", {"root": keccak(b"r")}),
        (GTIN, code("M1"), 0, ZERO32, 5, "IdentityRootInvalid", {"root": ZERO32}),
        (GTIN, code("M1"), 251300, keccak(b"r"), 5, "IdentityExpiryInvalid", {"expiry": 251300}),
        (GTIN, ZERO32, 0, keccak(b"r"), 5, "IdentityLotCodeInvalid", {"lot": ZERO32}),
        (GTIN + 10, code("M1"), 0, keccak(b"r"), 5, "IdentityProductUnknown", {"gtin": GTIN + 10}),
    ],
)
def test_commit_lot_reverts_on_invalid_input(
    env: Env, gtin: int, lot: bytes, expiry: int, root: bytes, count: int, error: str, args: dict[str, Any]
) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.commitLot(gtin, lot, expiry, root, count, URI).transact({"from": env.actors.registrant}),
        error,
        **args,
    )


def test_lot_root_of_unknown_root_is_zero(registry: Any) -> None:
    assert registry.functions.lotRoot(keccak(b"nothing")).call() == (0, 0, 0, 0, 0)


def test_verify_merkle_shows_an_unproven_item(env: Env) -> None:
    tree, serials = merkle_lot(env)
    m = merkle_item(tree, GTIN, "M1", serials[2])
    view = as_dict("verifyMerkle", env.registry.functions.verifyMerkle(m).call())
    assert view == {
        "registered": True,
        "brand": 1,
        "gtin": GTIN,
        "lot": lot_id(GTIN, "M1"),
        "lotCode": code("M1"),
        "expiry": EXPIRY,
        "status": ACTIVE,
        "lotRecalled": False,
        "claimedBy": ZERO_ADDRESS,
        "registeredAt": env.registry.functions.lotRoot(tree.root).call()[4],
        "merkle": True,
        "root": tree.root,
    }
    assert verify(env, item_id(GTIN, serials[2]))["registered"] is False


def test_prove_item_writes_the_item_and_emits(env: Env) -> None:
    tree, serials = merkle_lot(env)
    item = item_id(GTIN, serials[0])
    m = merkle_item(tree, GTIN, "M1", serials[0])
    assert env.registry.functions.proveItem(m).call({"from": env.actors.outsider}) == item
    receipt = env.send(env.registry.functions.proveItem(m), env.actors.outsider)
    (event,) = env.events(receipt, "ItemProven")
    assert dict(event) == {"item": item, "root": tree.root}
    view = verify(env, item)
    assert view["registered"] and view["merkle"] and view["root"] == tree.root
    assert (view["brand"], view["gtin"], view["lot"], view["lotCode"]) == (1, GTIN, lot_id(GTIN, "M1"), code("M1"))
    assert (view["expiry"], view["status"], view["registeredAt"]) == (EXPIRY, ACTIVE, receipt["blockNumber"])
    assert env.registry.functions.verifyMerkle(m).call() == env.registry.functions.verify(item).call()
    # The first proof created the lot record; a second item of the lot reuses it.
    env.send(env.registry.functions.proveItem(merkle_item(tree, GTIN, "M1", serials[1])), env.actors.outsider)
    assert env.registry.functions.lotInfo(lot_id(GTIN, "M1")).call()[:5] == (True, 1, GTIN, code("M1"), EXPIRY)


def test_prove_item_works_for_a_single_item_lot(env: Env) -> None:
    tree, serials = merkle_lot(env, lot="ONE", n=1)
    assert tree.proof(tree.leaves[0]) == []
    env.send(env.registry.functions.proveItem(merkle_item(tree, GTIN, "ONE", serials[0])), env.actors.outsider)
    assert verify(env, item_id(GTIN, serials[0]))["merkle"]


def test_prove_item_reverts_for_proof_of_another_item(env: Env) -> None:
    tree, serials = merkle_lot(env)
    _, _, lot, root, proof = merkle_item(tree, GTIN, "M1", serials[0])
    m = (GTIN, code(serials[1]), lot, root, proof)
    for fn in (env.registry.functions.proveItem(m).call, env.registry.functions.verifyMerkle(m).call):
        expect_revert(env.abi, fn, "IdentityProofInvalid", item=item_id(GTIN, serials[1]), root=tree.root)
    # A serial that is not in the lot at all.
    m = (GTIN, code("FAKE"), lot, root, proof)
    expect_revert(env.abi, env.registry.functions.proveItem(m).call, "IdentityProofInvalid", item=item_id(GTIN, "FAKE"), root=tree.root)


def test_prove_item_reverts_for_another_root(env: Env) -> None:
    tree, serials = merkle_lot(env)
    other, _ = merkle_lot(env, lot="M2")
    m = merkle_item(tree, GTIN, "M1", serials[0], root=other.root)
    expect_revert(
        env.abi, env.registry.functions.proveItem(m).call, "IdentityProofInvalid", item=item_id(GTIN, serials[0]), root=other.root
    )


def test_prove_item_reverts_for_another_lot_or_gtin(env: Env) -> None:
    # Leaves of GTIN_2 under a root committed for GTIN: the proof verifies, the GTIN does not.
    serials = ["Q1", "Q2"]
    tree = MerkleTree([merkle_leaf(item_id(GTIN_2, s), lot_id(GTIN_2, "M1")) for s in serials])
    env.send(env.registry.functions.commitLot(GTIN, code("M1"), 0, tree.root, 2, URI), env.actors.registrant)
    m = merkle_item(tree, GTIN_2, "M1", "Q1")
    expect_revert(env.abi, env.registry.functions.proveItem(m).call, "IdentityProofInvalid", item=item_id(GTIN_2, "Q1"), root=tree.root)
    # Leaves of lot X under a root committed for lot M2: the lot does not match.
    tree = MerkleTree([merkle_leaf(item_id(GTIN, s), lot_id(GTIN, "X")) for s in serials])
    env.send(env.registry.functions.commitLot(GTIN, code("M2"), 0, tree.root, 2, URI), env.actors.registrant)
    m = merkle_item(tree, GTIN, "X", "Q1")
    expect_revert(env.abi, env.registry.functions.proveItem(m).call, "IdentityProofInvalid", item=item_id(GTIN, "Q1"), root=tree.root)


def test_prove_item_reverts_on_unknown_root(env: Env) -> None:
    tree, serials = merkle_lot(env, commit=False)
    m = merkle_item(tree, GTIN, "M1", serials[0])
    expect_revert(env.abi, env.registry.functions.proveItem(m).call, "IdentityRootUnknown", root=tree.root)


def test_prove_item_reverts_on_invalid_gtin_or_serial(env: Env) -> None:
    tree, serials = merkle_lot(env)
    _, serial, lot, root, proof = merkle_item(tree, GTIN, "M1", serials[0])
    expect_revert(
        env.abi, env.registry.functions.proveItem((GTIN + 1, serial, lot, root, proof)).call, "IdentityGtinInvalid", gtin=GTIN + 1
    )
    expect_revert(
        env.abi, env.registry.functions.proveItem((GTIN, ZERO32, lot, root, proof)).call, "IdentitySerialInvalid", gtin=GTIN, serial=ZERO32
    )
    expect_revert(env.abi, env.registry.functions.proveItem((GTIN, serial, ZERO32, root, proof)).call, "IdentityLotCodeInvalid", lot=ZERO32)


def test_prove_item_reverts_when_already_registered(env: Env) -> None:
    tree, serials = merkle_lot(env)
    m = merkle_item(tree, GTIN, "M1", serials[0])
    env.send(env.registry.functions.proveItem(m), env.actors.outsider)
    expect_revert(env.abi, env.registry.functions.proveItem(m).call, "IdentityItemAlreadyRegistered", item=item_id(GTIN, serials[0]))
    # An item registered explicitly cannot be proven again either.
    env.register(GTIN, "M1", [serials[1]])
    m = merkle_item(tree, GTIN, "M1", serials[1])
    expect_revert(env.abi, env.registry.functions.proveItem(m).call, "IdentityItemAlreadyRegistered", item=item_id(GTIN, serials[1]))


def test_multicall_proves_and_claims_with_signature_in_one_transaction(env: Env) -> None:
    tree, serials = merkle_lot(env)
    item = item_id(GTIN, serials[3])
    deadline = env.now() + 3600
    signature = sign_claim(env, env.actors.seller, item, env.actors.consumer, deadline)
    f = env.registry.functions
    calls = [
        f.proveItem(merkle_item(tree, GTIN, "M1", serials[3]))._encode_transaction_data(),
        f.claimWithSignature(item, env.actors.consumer, deadline, signature)._encode_transaction_data(),
    ]
    receipt = env.send(f.multicall(calls), env.actors.consumer)
    assert len(env.events(receipt, "ItemProven")) == 1
    (claimed,) = env.events(receipt, "ItemClaimed")
    assert dict(claimed) == {"item": item, "owner": env.actors.consumer, "by": env.actors.seller}
    assert verify(env, item)["claimedBy"] == env.actors.consumer


# --------------------------------------------------------------------------------------------
# Production lines: openLine, registerItem, commitLineRoot, closeLine, line
# --------------------------------------------------------------------------------------------


#: The manifests base URI the tests' lines are opened with (openLine's last argument).
MANIFESTS = URI + "/lines"


def open_line(
    env: Env, lot: str = "LN1", gtin: int = GTIN, expiry: int = EXPIRY, sender: str | None = None, manifests: str = MANIFESTS
) -> Any:
    return env.send(env.registry.functions.openLine(gtin, code(lot), expiry, manifests), sender or env.actors.registrant)


def commit_line_root(env: Env, lot: str, root: bytes, count: int = 1, gtin: int = GTIN, sender: str | None = None) -> Any:
    return env.send(env.registry.functions.commitLineRoot(lot_id(gtin, lot), root, count), sender or env.actors.registrant)


def line_of(env: Env, account: str) -> dict[str, Any]:
    return as_dict("line", env.registry.functions.line(account).call())


def register_on_line(env: Env, serial: str, sender: str | None = None) -> Any:
    return env.send(env.registry.functions.registerItem(code(serial)), sender or env.actors.registrant)


NO_LINE = {"open": False, "brand": 0, "gtin": 0, "lot": ZERO32, "lotCode": ZERO32, "expiry": 0}


def test_open_line_creates_the_lot_stores_the_line_and_emits(env: Env) -> None:
    receipt = open_line(env, "LN1")
    (event,) = env.events(receipt, "LineOpened")
    assert dict(event) == {
        "registrant": env.actors.registrant,
        "brand": 1,
        "lot": lot_id(GTIN, "LN1"),
        "gtin": GTIN,
        "lotCode": code("LN1"),
        "expiry": EXPIRY,
        "manifests": MANIFESTS,
    }
    assert env.events(receipt, "LineClosed") == []
    assert line_of(env, env.actors.registrant) == {
        "open": True,
        "brand": 1,
        "gtin": GTIN,
        "lot": lot_id(GTIN, "LN1"),
        "lotCode": code("LN1"),
        "expiry": EXPIRY,
    }
    # Like a first batch, the line created the lot's record with its expiry.
    info = env.registry.functions.lotInfo(lot_id(GTIN, "LN1")).call()
    assert info == (True, 1, GTIN, code("LN1"), EXPIRY, False, receipt["blockNumber"])


def test_open_line_on_an_existing_lot_reuses_its_record(env: Env) -> None:
    first = env.register(GTIN, "L1", ["A"])
    open_line(env, "L1")
    register_on_line(env, "B")
    assert verify(env, item_id(GTIN, "B"))["lot"] == verify(env, item_id(GTIN, "A"))["lot"] == lot_id(GTIN, "L1")
    assert env.registry.functions.lotInfo(lot_id(GTIN, "L1")).call()[6] == first["blockNumber"]


def test_open_line_on_a_merkle_lot_after_its_first_proof(env: Env) -> None:
    tree, serials = merkle_lot(env)
    env.send(env.registry.functions.proveItem(merkle_item(tree, GTIN, "M1", serials[0])), env.actors.outsider)
    open_line(env, "M1")
    register_on_line(env, "EXTRA")
    assert verify(env, item_id(GTIN, "EXTRA"))["lot"] == lot_id(GTIN, "M1")


def test_open_line_closes_the_line_open_before(env: Env) -> None:
    open_line(env, "LN1")
    receipt = open_line(env, "LN2", gtin=GTIN_2, expiry=0)
    (closed,) = env.events(receipt, "LineClosed")
    assert dict(closed) == {"registrant": env.actors.registrant, "brand": 1, "lot": lot_id(GTIN, "LN1")}
    (opened,) = env.events(receipt, "LineOpened")
    assert (opened["lot"], opened["gtin"], opened["expiry"]) == (lot_id(GTIN_2, "LN2"), GTIN_2, 0)
    # The closed line's lot takes no roots from this key any more; the new one does.
    expect_revert(
        env.abi,
        lambda: env.registry.functions.commitLineRoot(lot_id(GTIN, "LN1"), keccak(b"r"), 1).transact({"from": env.actors.registrant}),
        "IdentityLineNotForLot",
        account=env.actors.registrant,
        lot=lot_id(GTIN, "LN1"),
    )
    commit_line_root(env, "LN2", keccak(b"r"), gtin=GTIN_2)
    register_on_line(env, "X")
    view = verify(env, item_id(GTIN_2, "X"))
    assert (view["gtin"], view["lot"], view["expiry"]) == (GTIN_2, lot_id(GTIN_2, "LN2"), 0)
    assert not verify(env, item_id(GTIN, "X"))["registered"]


def test_open_line_without_manifests_emits_an_empty_base(env: Env) -> None:
    """A line that registers items one by one: its LineOpened carries "" (and it may still commit)."""
    receipt = open_line(env, "LN1", manifests="")
    (event,) = env.events(receipt, "LineOpened")
    assert event["manifests"] == ""
    commit_line_root(env, "LN1", keccak(b"r"))


def test_open_line_refused_to_outsider(env: Env) -> None:
    for sender in (env.actors.outsider, env.actors.brand_admin, env.actors.seller):
        expect_revert(
            env.abi,
            lambda s=sender: env.registry.functions.openLine(GTIN, code("LN1"), EXPIRY, MANIFESTS).transact({"from": s}),
            "AccessControlUnauthorizedAccount",
            account=sender,
            neededRole=brand_role("registrant", 1),
        )


def test_open_line_refused_for_another_brands_product(env: Env) -> None:
    expect_revert(
        env.abi,
        lambda: env.registry.functions.openLine(OTHER_GTIN, code("LN1"), 0, "").transact({"from": env.actors.registrant}),
        "AccessControlUnauthorizedAccount",
        account=env.actors.registrant,
        neededRole=brand_role("registrant", 2),
    )


@pytest.mark.parametrize(
    ("gtin", "lot", "expiry", "error", "args"),
    [
        (GTIN + 10, code("LN1"), 0, "IdentityProductUnknown", {"gtin": GTIN + 10}),
        (GTIN, code("LN1"), 251300, "IdentityExpiryInvalid", {"expiry": 251300}),
        (GTIN, ZERO32, 0, "IdentityLotCodeInvalid", {"lot": ZERO32}),
        (GTIN, b"L" * 21 + b"\0" * 11, 0, "IdentityLotCodeInvalid", {"lot": b"L" * 21 + b"\0" * 11}),
    ],
)
def test_open_line_reverts_on_invalid_input(env: Env, gtin: int, lot: bytes, expiry: int, error: str, args: dict[str, Any]) -> None:
    expect_revert(
        env.abi, lambda: env.registry.functions.openLine(gtin, lot, expiry, "").transact({"from": env.actors.registrant}), error, **args
    )


def test_open_line_reverts_on_expiry_mismatch_or_recalled_lot(env: Env) -> None:
    env.register(GTIN, "L1", ["A"], expiry=250101)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.openLine(GTIN, code("L1"), 250102, "").transact({"from": env.actors.registrant}),
        "IdentityLotExpiryMismatch",
        lot=lot_id(GTIN, "L1"),
        expiry=250101,
        given=250102,
    )
    env.send(env.registry.functions.recallLot(GTIN, code("L1"), 1, ZERO32), env.actors.brand_admin)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.openLine(GTIN, code("L1"), 250101, "").transact({"from": env.actors.registrant}),
        "IdentityLotRecalled",
        lot=lot_id(GTIN, "L1"),
    )
    assert line_of(env, env.actors.registrant) == NO_LINE


def test_register_item_registers_as_a_batch_would_and_emits_item_registered_only(env: Env) -> None:
    open_line(env, "LN1")
    receipt = register_on_line(env, "SN0000000001")
    item = item_id(GTIN, "SN0000000001")
    assert [e["item"] for e in env.events(receipt, "ItemRegistered")] == [item]
    assert len(receipt["logs"]) == 1  # no ItemsRegistered: the lot is the line's (LineOpened)
    env.register(GTIN, "LN1", ["SN0000000002"])
    by_line, by_batch = verify(env, item), verify(env, item_id(GTIN, "SN0000000002"))
    assert by_line["registeredAt"] == receipt["blockNumber"]
    assert {**by_line, "registeredAt": 0} == {**by_batch, "registeredAt": 0}
    assert by_line == {
        "registered": True,
        "brand": 1,
        "gtin": GTIN,
        "lot": lot_id(GTIN, "LN1"),
        "lotCode": code("LN1"),
        "expiry": EXPIRY,
        "status": ACTIVE,
        "lotRecalled": False,
        "claimedBy": ZERO_ADDRESS,
        "registeredAt": receipt["blockNumber"],
        "merkle": False,
        "root": ZERO32,
    }
    assert env.registry.functions.registered([item]).call() == [True]


@settings(max_examples=25, deadline=None)
@given(serial=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-./_", min_size=1, max_size=20))
def test_register_item_writes_the_id_anyone_recomputes(_session_env: Env, serial: str) -> None:
    env = _session_env
    snapshot = env.tester.take_snapshot()
    try:
        open_line(env, "HYP")
        receipt = register_on_line(env, serial)
        (event,) = env.events(receipt, "ItemRegistered")
        assert event["item"] == item_id(GTIN, serial) == env.registry.functions.itemId(GTIN, code(serial)).call()
        assert verify(env, item_id(GTIN, serial))["lot"] == lot_id(GTIN, "HYP")
    finally:
        env.tester.revert_to_snapshot(snapshot)


def test_register_item_reverts_without_an_open_line(env: Env) -> None:
    for sender in (env.actors.registrant, env.actors.outsider):
        expect_revert(
            env.abi,
            lambda s=sender: env.registry.functions.registerItem(code("A")).transact({"from": s}),
            "IdentityNoOpenLine",
            account=sender,
        )


def test_register_item_reverts_when_item_already_registered(env: Env) -> None:
    env.register(GTIN, "LN1", ["A"])
    open_line(env, "LN1")
    register_on_line(env, "B")
    for serial in ("A", "B"):
        expect_revert(
            env.abi,
            lambda s=serial: env.registry.functions.registerItem(code(s)).transact({"from": env.actors.registrant}),
            "IdentityItemAlreadyRegistered",
            item=item_id(GTIN, serial),
        )
    # The batch path refuses an item of the line the same way.
    batch = (GTIN, code("LN1"), EXPIRY, [code("B")])
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([batch]).transact({"from": env.actors.registrant}),
        "IdentityItemAlreadyRegistered",
        item=item_id(GTIN, "B"),
    )


@pytest.mark.parametrize("serial", [ZERO32, b"S" * 21 + b"\0" * 11, b"S" + b"\0" * 30 + b"\x01"])
def test_register_item_reverts_on_invalid_serial(env: Env, serial: bytes) -> None:
    open_line(env)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItem(serial).transact({"from": env.actors.registrant}),
        "IdentitySerialInvalid",
        gtin=GTIN,
        serial=serial,
    )


def test_register_item_reverts_once_the_lot_is_recalled(env: Env) -> None:
    """A recall after the line opened stops the line, as it stops batches: the lot is read per item."""
    open_line(env, "LN1")
    register_on_line(env, "BEFORE")
    env.send(env.registry.functions.recallLot(GTIN, code("LN1"), 4, ZERO32), env.actors.brand_admin)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItem(code("AFTER")).transact({"from": env.actors.registrant}),
        "IdentityLotRecalled",
        lot=lot_id(GTIN, "LN1"),
    )
    assert verify(env, item_id(GTIN, "BEFORE"))["lotRecalled"] is True
    assert not verify(env, item_id(GTIN, "AFTER"))["registered"]
    # The line itself stays open (a root may still be committed for the lot, as commitLot allows).
    assert line_of(env, env.actors.registrant)["open"] is True


def test_register_item_gas_meets_target(env: Env) -> None:
    open_line(env, "L0001")
    receipt = register_on_line(env, "SN0000000002")
    assert receipt["gasUsed"] <= 50_000, receipt["gasUsed"]
    # The longest serial (20 bytes, all nonzero) stays within the target too.
    receipt = register_on_line(env, "S" * 20)
    assert receipt["gasUsed"] <= 50_000, receipt["gasUsed"]


def test_register_item_through_multicall_registers_several(env: Env) -> None:
    open_line(env)
    f = env.registry.functions
    calls = [f.registerItem(code(s))._encode_transaction_data() for s in ("M1", "M2", "M3")]
    receipt = env.send(f.multicall(calls), env.actors.registrant)
    assert [e["item"] for e in env.events(receipt, "ItemRegistered")] == [item_id(GTIN, s) for s in ("M1", "M2", "M3")]


def test_lines_are_per_key(env: Env) -> None:
    f = env.registry.functions
    env.send(f.grantRole(brand_role("registrant", 1), env.actors.outsider), env.actors.brand_admin)
    open_line(env, "LA")
    open_line(env, "LB", gtin=GTIN_2, sender=env.actors.outsider)
    register_on_line(env, "X")
    register_on_line(env, "X", sender=env.actors.outsider)
    assert verify(env, item_id(GTIN, "X"))["lot"] == lot_id(GTIN, "LA")
    assert verify(env, item_id(GTIN_2, "X"))["lot"] == lot_id(GTIN_2, "LB")


def test_revoke_registrant_role_closes_the_line(env: Env) -> None:
    f = env.registry.functions
    open_line(env, "LN1")
    role = brand_role("registrant", 1)
    receipt = env.send(f.revokeRole(role, env.actors.registrant), env.actors.brand_admin)
    (closed,) = env.events(receipt, "LineClosed")
    assert dict(closed) == {"registrant": env.actors.registrant, "brand": 1, "lot": lot_id(GTIN, "LN1")}
    assert line_of(env, env.actors.registrant) == NO_LINE
    for fn in (f.registerItem(code("A")), f.commitLineRoot(lot_id(GTIN, "LN1"), keccak(b"r"), 1)):
        expect_revert(
            env.abi, lambda fn=fn: fn.transact({"from": env.actors.registrant}), "IdentityNoOpenLine", account=env.actors.registrant
        )
    # Granting the role again does not bring the line back (nor its lot's roots): the key must open one.
    env.send(f.grantRole(role, env.actors.registrant), env.actors.brand_admin)
    assert line_of(env, env.actors.registrant)["open"] is False
    expect_revert(
        env.abi,
        lambda: f.commitLineRoot(lot_id(GTIN, "LN1"), keccak(b"r"), 1).transact({"from": env.actors.registrant}),
        "IdentityNoOpenLine",
        account=env.actors.registrant,
    )


def test_renounce_registrant_role_closes_the_line(env: Env) -> None:
    open_line(env, "LN1")
    role = brand_role("registrant", 1)
    receipt = env.send(env.registry.functions.renounceRole(role, env.actors.registrant), env.actors.registrant)
    assert len(env.events(receipt, "LineClosed")) == 1
    f = env.registry.functions
    for fn in (f.registerItem(code("A")), f.commitLineRoot(lot_id(GTIN, "LN1"), keccak(b"r"), 1)):
        expect_revert(
            env.abi, lambda fn=fn: fn.transact({"from": env.actors.registrant}), "IdentityNoOpenLine", account=env.actors.registrant
        )


def test_revoking_another_role_keeps_the_line(env: Env) -> None:
    f = env.registry.functions
    env.send(f.grantRole(brand_role("registrant", 2), env.actors.registrant), env.actors.other_admin)
    env.send(f.grantRole(brand_role("seller", 1), env.actors.registrant), env.actors.brand_admin)
    open_line(env, "LN1")
    for role, admin in ((brand_role("registrant", 2), env.actors.other_admin), (brand_role("seller", 1), env.actors.brand_admin)):
        receipt = env.send(f.revokeRole(role, env.actors.registrant), admin)
        assert env.events(receipt, "LineClosed") == []
    # Revoking a role the key does not hold changes nothing either.
    receipt = env.send(f.revokeRole(brand_role("registrant", 1), env.actors.outsider), env.actors.brand_admin)
    assert env.events(receipt, "LineClosed") == []
    register_on_line(env, "STILL")
    assert verify(env, item_id(GTIN, "STILL"))["registered"]
    commit_line_root(env, "LN1", keccak(b"still"))


def test_close_line_deletes_the_line_and_emits(env: Env) -> None:
    open_line(env, "LN1")
    receipt = env.send(env.registry.functions.closeLine(), env.actors.registrant)
    (closed,) = env.events(receipt, "LineClosed")
    assert dict(closed) == {"registrant": env.actors.registrant, "brand": 1, "lot": lot_id(GTIN, "LN1")}
    assert line_of(env, env.actors.registrant) == NO_LINE
    f = env.registry.functions
    for fn in (f.registerItem(code("A")), f.commitLineRoot(lot_id(GTIN, "LN1"), keccak(b"r"), 1)):
        expect_revert(
            env.abi, lambda fn=fn: fn.transact({"from": env.actors.registrant}), "IdentityNoOpenLine", account=env.actors.registrant
        )
    # Opening the lot's line again brings its roots back.
    open_line(env, "LN1")
    commit_line_root(env, "LN1", keccak(b"r"))


def test_close_line_reverts_without_an_open_line(env: Env) -> None:
    for sender in (env.actors.registrant, env.actors.outsider):
        expect_revert(
            env.abi,
            lambda s=sender: env.registry.functions.closeLine().transact({"from": s}),
            "IdentityNoOpenLine",
            account=sender,
        )


def test_line_of_an_account_without_a_line_is_empty(registry: Any, actors: Any) -> None:
    assert as_dict("line", registry.functions.line(actors.outsider).call()) == NO_LINE


def test_commit_line_root_records_as_commit_lot_and_emits_line_root_committed(env: Env) -> None:
    open_line(env, "M1")
    serials = [f"MK{i:04d}" for i in range(6)]
    tree = MerkleTree([merkle_leaf(item_id(GTIN, s), lot_id(GTIN, "M1")) for s in serials])
    receipt = commit_line_root(env, "M1", tree.root, 6)
    (event,) = env.events(receipt, "LineRootCommitted")
    assert dict(event) == {"brand": 1, "lot": lot_id(GTIN, "M1"), "root": tree.root, "count": 6}
    assert len(receipt["logs"]) == 1  # no LotCommitted: GTIN, code, expiry and manifests are the line's (LineOpened)
    # The same record as commitLot's: brand, GTIN, count, expiry, block (and the lot's tag).
    assert env.registry.functions.lotRoot(tree.root).call() == (1, GTIN, 6, EXPIRY, receipt["blockNumber"])
    # Its items are proven and verified exactly as those of a root committed by commitLot.
    m = merkle_item(tree, GTIN, "M1", serials[2])
    assert as_dict("verifyMerkle", env.registry.functions.verifyMerkle(m).call())["registered"] is True
    env.send(env.registry.functions.proveItem(m), env.actors.outsider)
    view = verify(env, item_id(GTIN, serials[2]))
    assert (view["merkle"], view["root"], view["lot"], view["expiry"]) == (True, tree.root, lot_id(GTIN, "M1"), EXPIRY)
    # Several roots may be committed from one line.
    commit_line_root(env, "M1", keccak(b"second"))
    assert env.registry.functions.lotRoot(keccak(b"second")).call()[1] == GTIN


def test_commit_line_root_tags_the_root_with_the_lines_lot(env: Env) -> None:
    """A proof must name the line's lot: the same items under another lot code do not verify."""
    open_line(env, "M1")
    tree = MerkleTree([merkle_leaf(item_id(GTIN, "X1"), lot_id(GTIN, "M2"))])  # leaves of lot M2
    commit_line_root(env, "M1", tree.root)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.verifyMerkle(merkle_item(tree, GTIN, "M2", "X1")).call(),
        "IdentityProofInvalid",
        item=item_id(GTIN, "X1"),
        root=tree.root,
    )


def test_commit_line_root_meets_the_gas_target_and_is_cheaper_than_commit_lot(env: Env) -> None:
    by_lot = env.send(env.registry.functions.commitLot(GTIN, code("M0001"), EXPIRY, keccak(b"a"), 10_000, URI), env.actors.registrant)
    open_line(env, "M0001")
    by_line = commit_line_root(env, "M0001", keccak(b"b"), 10_000)
    assert by_line["gasUsed"] <= 50_000, by_line["gasUsed"]
    assert by_line["gasUsed"] < by_lot["gasUsed"], (by_line["gasUsed"], by_lot["gasUsed"])


@pytest.mark.parametrize(
    ("root", "count", "error", "args"),
    [
        (keccak(b"r"), MAX_LOT_ITEMS + 1, "IdentityLotTooLarge", {"count": MAX_LOT_ITEMS + 1, "max": MAX_LOT_ITEMS}),
        (keccak(b"r"), 0, "IdentityLotEmpty", {"root": keccak(b"r")}),
        (ZERO32, 5, "IdentityRootInvalid", {"root": ZERO32}),
        (keccak(b"taken"), 5, "IdentityRootAlreadyCommitted", {"root": keccak(b"taken")}),
    ],
)
def test_commit_line_root_reverts_on_invalid_input(env: Env, root: bytes, count: int, error: str, args: dict[str, Any]) -> None:
    env.send(env.registry.functions.commitLot(GTIN_2, code("OTHER"), 0, keccak(b"taken"), 1, URI), env.actors.registrant)
    open_line(env, "M1")
    expect_revert(
        env.abi,
        lambda: env.registry.functions.commitLineRoot(lot_id(GTIN, "M1"), root, count).transact({"from": env.actors.registrant}),
        error,
        **args,
    )


def test_commit_line_root_reverts_without_an_open_line(env: Env) -> None:
    """An outsider (or any key without a line) is refused, whatever lot it names."""
    for sender in (env.actors.registrant, env.actors.outsider, env.actors.brand_admin):
        expect_revert(
            env.abi,
            lambda s=sender: env.registry.functions.commitLineRoot(lot_id(GTIN, "M1"), keccak(b"r"), 1).transact({"from": s}),
            "IdentityNoOpenLine",
            account=sender,
        )


def test_commit_line_root_reverts_for_a_lot_not_the_callers_lines(env: Env) -> None:
    f = env.registry.functions
    env.send(f.grantRole(brand_role("registrant", 1), env.actors.outsider), env.actors.brand_admin)
    open_line(env, "M1")
    open_line(env, "M2", sender=env.actors.outsider)
    # Another lot (of the same or another GTIN), and another key's lot: each key commits for its own line only.
    for sender, lot in (
        (env.actors.registrant, lot_id(GTIN, "M2")),
        (env.actors.registrant, lot_id(GTIN_2, "M1")),
        (env.actors.outsider, lot_id(GTIN, "M1")),
    ):
        expect_revert(
            env.abi,
            lambda s=sender, lot=lot: f.commitLineRoot(lot, keccak(b"r"), 1).transact({"from": s}),
            "IdentityLineNotForLot",
            account=sender,
            lot=lot,
        )
    commit_line_root(env, "M2", keccak(b"r"), sender=env.actors.outsider)
    assert env.registry.functions.lotRoot(keccak(b"r")).call()[0] == 1


def test_commit_line_root_for_a_recalled_lot_commits_items_shown_recalled(env: Env) -> None:
    """As commitLot: the recall is not read; a root for a recalled lot commits items that cannot be claimed."""
    open_line(env, "M1")
    env.send(env.registry.functions.recallLot(GTIN, code("M1"), 1, ZERO32), env.actors.brand_admin)
    tree = MerkleTree([merkle_leaf(item_id(GTIN, "R1"), lot_id(GTIN, "M1"))])
    commit_line_root(env, "M1", tree.root)
    view = as_dict("verifyMerkle", env.registry.functions.verifyMerkle(merkle_item(tree, GTIN, "M1", "R1")).call())
    assert (view["registered"], view["lotRecalled"]) == (True, True)


# --------------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------------


def test_claim_records_the_first_owner_and_emits(env: Env) -> None:
    item = registered_item(env)
    receipt = env.send(env.registry.functions.claim(item, env.actors.consumer), env.actors.seller)
    (event,) = env.events(receipt, "ItemClaimed")
    assert dict(event) == {"item": item, "owner": env.actors.consumer, "by": env.actors.seller}
    view = verify(env, item)
    assert (view["claimedBy"], view["status"]) == (env.actors.consumer, ACTIVE)


def test_claim_by_registrant_succeeds(env: Env) -> None:
    item = registered_item(env)
    env.send(env.registry.functions.claim(item, env.actors.consumer), env.actors.registrant)
    assert verify(env, item)["claimedBy"] == env.actors.consumer


def test_claim_refused_to_outsider(env: Env) -> None:
    item = registered_item(env)
    for sender in (env.actors.outsider, env.actors.other_seller, env.actors.brand_admin):
        expect_revert(
            env.abi,
            lambda s=sender: env.registry.functions.claim(item, env.actors.consumer).transact({"from": s}),
            "AccessControlUnauthorizedAccount",
            account=sender,
            neededRole=brand_role("seller", 1),
        )


def test_claim_reverts_the_second_time(env: Env) -> None:
    item = registered_item(env)
    env.send(env.registry.functions.claim(item, env.actors.consumer), env.actors.seller)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.claim(item, env.actors.outsider).transact({"from": env.actors.seller}),
        "IdentityItemAlreadyClaimed",
        item=item,
        owner=env.actors.consumer,
    )


def test_claim_reverts_for_zero_owner(env: Env) -> None:
    item = registered_item(env)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.claim(item, ZERO_ADDRESS).transact({"from": env.actors.seller}),
        "IdentityInvalidOwner",
        owner=ZERO_ADDRESS,
    )


def test_claim_reverts_for_unknown_item(env: Env) -> None:
    item = item_id(GTIN, "NOPE")
    expect_revert(
        env.abi,
        lambda: env.registry.functions.claim(item, env.actors.consumer).transact({"from": env.actors.seller}),
        "IdentityItemUnknown",
        item=item,
    )


def test_claim_reverts_for_recalled_or_decommissioned_item(env: Env) -> None:
    recalled = registered_item(env, "R")
    gone = registered_item(env, "D")
    env.send(env.registry.functions.recallItem(recalled, 1, ZERO32), env.actors.registrant)
    env.send(env.registry.functions.decommission(gone, 1), env.actors.registrant)
    for item, status in ((recalled, RECALLED), (gone, DECOMMISSIONED)):
        expect_revert(
            env.abi,
            lambda i=item: env.registry.functions.claim(i, env.actors.consumer).transact({"from": env.actors.seller}),
            "IdentityItemNotActive",
            item=item,
            status=status,
        )


def test_claim_reverts_in_recalled_lot(env: Env) -> None:
    item = registered_item(env, lot="L1")
    env.send(env.registry.functions.recallLot(GTIN, code("L1"), 3, ZERO32), env.actors.registrant)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.claim(item, env.actors.consumer).transact({"from": env.actors.seller}),
        "IdentityLotRecalled",
        lot=lot_id(GTIN, "L1"),
    )


def test_claim_digest_matches_eip712(env: Env) -> None:
    item = item_id(GTIN, "A")
    deadline = 2**40
    signature = sign_claim(env, env.actors.seller, item, env.actors.consumer, deadline)
    digest = env.registry.functions.claimDigest(item, env.actors.consumer, deadline).call()
    assert Account._recover_hash(digest, signature=signature) == env.actors.seller


def test_claim_with_signature_records_owner_and_emits(env: Env) -> None:
    item = registered_item(env)
    deadline = env.now() + 600
    signature = sign_claim(env, env.actors.seller, item, env.actors.consumer, deadline)
    receipt = env.send(env.registry.functions.claimWithSignature(item, env.actors.consumer, deadline, signature), env.actors.outsider)
    (event,) = env.events(receipt, "ItemClaimed")
    assert dict(event) == {"item": item, "owner": env.actors.consumer, "by": env.actors.seller}
    # Replaying the same signature fails: the item is claimed once.
    expect_revert(
        env.abi,
        lambda: env.registry.functions.claimWithSignature(item, env.actors.consumer, deadline, signature).transact(
            {"from": env.actors.outsider}
        ),
        "IdentityItemAlreadyClaimed",
        item=item,
        owner=env.actors.consumer,
    )


def test_claim_with_signature_reverts_when_expired(env: Env) -> None:
    item = registered_item(env)
    deadline = env.now() - 1
    signature = sign_claim(env, env.actors.seller, item, env.actors.consumer, deadline)
    args = expect_revert(
        env.abi,
        lambda: env.registry.functions.claimWithSignature(item, env.actors.consumer, deadline, signature).transact(
            {"from": env.actors.consumer}
        ),
        "IdentitySignatureExpired",
        deadline=deadline,
    )
    assert args["now"] > deadline


def test_claim_with_signature_reverts_for_non_seller_signer(env: Env) -> None:
    item = registered_item(env)
    deadline = env.now() + 600
    for signer in (env.actors.outsider, env.actors.other_seller, env.actors.registrant):
        signature = sign_claim(env, signer, item, env.actors.consumer, deadline)
        expect_revert(
            env.abi,
            lambda sig=signature: env.registry.functions.claimWithSignature(item, env.actors.consumer, deadline, sig).transact(
                {"from": env.actors.consumer}
            ),
            "IdentitySignerNotSeller",
            signer=signer,
            brand=1,
        )


def test_claim_with_signature_reverts_when_owner_differs_from_signed(env: Env) -> None:
    item = registered_item(env)
    deadline = env.now() + 600
    signature = sign_claim(env, env.actors.seller, item, env.actors.consumer, deadline)
    args = expect_revert(
        env.abi,
        lambda: env.registry.functions.claimWithSignature(item, env.actors.outsider, deadline, signature).transact(
            {"from": env.actors.outsider}
        ),
        "IdentitySignerNotSeller",
        brand=1,
    )
    assert args["signer"] != env.actors.seller


def test_claim_with_signature_reverts_on_malformed_signature(env: Env) -> None:
    item = registered_item(env)
    deadline = env.now() + 600
    expect_revert(
        env.abi,
        lambda: env.registry.functions.claimWithSignature(item, env.actors.consumer, deadline, b"\x01" * 64).transact(
            {"from": env.actors.consumer}
        ),
        "ECDSAInvalidSignatureLength",
        length=64,
    )


# --------------------------------------------------------------------------------------------
# Recalls and decommissioning
# --------------------------------------------------------------------------------------------


def test_recall_item_sets_status_and_emits(env: Env) -> None:
    item = registered_item(env)
    env.send(env.registry.functions.claim(item, env.actors.consumer), env.actors.seller)
    document = keccak(b"notice")
    receipt = env.send(env.registry.functions.recallItem(item, 42, document), env.actors.brand_admin)
    (event,) = env.events(receipt, "ItemRecalled")
    assert dict(event) == {"item": item, "brand": 1, "reason": 42, "document": document}
    view = verify(env, item)
    assert (view["status"], view["claimedBy"], view["lotRecalled"]) == (RECALLED, env.actors.consumer, False)


def test_recall_item_refused_to_outsider(env: Env) -> None:
    item = registered_item(env)
    for sender in (env.actors.outsider, env.actors.seller, env.actors.other_admin):
        expect_revert(
            env.abi,
            lambda s=sender: env.registry.functions.recallItem(item, 1, ZERO32).transact({"from": s}),
            "AccessControlUnauthorizedAccount",
            account=sender,
            neededRole=brand_role("registrant", 1),
        )


def test_recall_item_reverts_when_not_active(env: Env) -> None:
    item = registered_item(env)
    env.send(env.registry.functions.recallItem(item, 1, ZERO32), env.actors.registrant)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.recallItem(item, 1, ZERO32).transact({"from": env.actors.registrant}),
        "IdentityItemNotActive",
        item=item,
        status=RECALLED,
    )


def test_recall_item_reverts_for_unknown_item(env: Env) -> None:
    item = item_id(GTIN, "NOPE")
    expect_revert(
        env.abi,
        lambda: env.registry.functions.recallItem(item, 1, ZERO32).transact({"from": env.actors.registrant}),
        "IdentityItemUnknown",
        item=item,
    )


def test_recall_lot_marks_its_items_and_emits(env: Env) -> None:
    env.register(GTIN, "L1", ["A", "B"])
    env.register(GTIN, "L2", ["C"])
    document = keccak(b"lot notice")
    receipt = env.send(env.registry.functions.recallLot(GTIN, code("L1"), 9, document), env.actors.registrant)
    (event,) = env.events(receipt, "LotRecalled")
    assert dict(event) == {"lot": lot_id(GTIN, "L1"), "brand": 1, "gtin": GTIN, "reason": 9, "document": document}
    assert [verify(env, item_id(GTIN, s))["lotRecalled"] for s in ("A", "B", "C")] == [True, True, False]
    assert verify(env, item_id(GTIN, "A"))["status"] == ACTIVE  # the item itself keeps its status
    assert env.registry.functions.lotInfo(lot_id(GTIN, "L1")).call()[5] is True


def test_recall_lot_of_a_merkle_lot_before_and_after_proof(env: Env) -> None:
    tree, serials = merkle_lot(env)
    env.send(env.registry.functions.recallLot(GTIN, code("M1"), 2, ZERO32), env.actors.brand_admin)
    info = env.registry.functions.lotInfo(lot_id(GTIN, "M1")).call()
    assert info[:6] == (True, 1, GTIN, code("M1"), 0, True)
    m = merkle_item(tree, GTIN, "M1", serials[0])
    assert as_dict("verifyMerkle", env.registry.functions.verifyMerkle(m).call())["lotRecalled"] is True
    env.send(env.registry.functions.proveItem(m), env.actors.outsider)
    item = item_id(GTIN, serials[0])
    view = verify(env, item)
    assert (view["lotRecalled"], view["expiry"]) == (True, EXPIRY)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.claim(item, env.actors.consumer).transact({"from": env.actors.seller}),
        "IdentityLotRecalled",
        lot=lot_id(GTIN, "M1"),
    )


def test_recall_lot_reverts_when_already_recalled(env: Env) -> None:
    env.register(GTIN, "L1", ["A"])
    env.send(env.registry.functions.recallLot(GTIN, code("L1"), 1, ZERO32), env.actors.registrant)
    env.send(env.registry.functions.recallLot(GTIN, code("NEVER-USED"), 1, ZERO32), env.actors.brand_admin)  # recalled ahead
    for lot in ("L1", "NEVER-USED"):
        for sender in (env.actors.registrant, env.actors.brand_admin):
            expect_revert(env.abi, recall_lot(env, GTIN, code(lot), 1, sender), "IdentityLotRecalled", lot=lot_id(GTIN, lot))


def test_registrant_cannot_recall_a_lot_that_does_not_exist(env: Env) -> None:
    # A registrant key (perhaps stolen) recalling a lot code nothing was registered in yet.
    lot = lot_id(GTIN, "NEXT-WEEK")
    for reason in (1, 9):
        expect_revert(env.abi, recall_lot(env, GTIN, code("NEXT-WEEK"), reason, env.actors.registrant), "IdentityLotUnknown", lot=lot)
    assert env.registry.functions.lotInfo(lot).call() == (False, 0, 0, ZERO32, 0, False, 0)
    # The lot code stays the brand's to use: items registered in it are not recalled.
    env.register(GTIN, "NEXT-WEEK", ["A"])
    assert verify(env, item_id(GTIN, "A"))["lotRecalled"] is False
    # Of another brand's product, the registrant is refused by the role check first.
    expect_revert(
        env.abi,
        recall_lot(env, OTHER_GTIN, code("NEXT-WEEK"), 1, env.actors.registrant),
        "AccessControlUnauthorizedAccount",
        account=env.actors.registrant,
        neededRole=brand_role("registrant", 2),
    )


def test_brand_admin_may_recall_a_lot_that_does_not_exist_yet(env: Env) -> None:
    document = keccak(b"contaminated batch notice")
    receipt = env.send(env.registry.functions.recallLot(GTIN, code("NEXT-WEEK"), 4, document), env.actors.brand_admin)
    lot = lot_id(GTIN, "NEXT-WEEK")
    (event,) = env.events(receipt, "LotRecalled")
    assert dict(event) == {"lot": lot, "brand": 1, "gtin": GTIN, "reason": 4, "document": document}
    # Its record is created, recalled, with expiry 0.
    info = env.registry.functions.lotInfo(lot).call()
    assert info[:6] == (True, 1, GTIN, code("NEXT-WEEK"), 0, True)
    # Nothing can be registered in it any more.
    expect_revert(
        env.abi,
        lambda: env.registry.functions.registerItems([(GTIN, code("NEXT-WEEK"), EXPIRY, [code("A")])]).transact(
            {"from": env.actors.registrant}
        ),
        "IdentityLotRecalled",
        lot=lot,
    )


def test_registrant_recalls_an_existing_lot(env: Env) -> None:
    # A lot its items were registered in, a lot with an open line, and a Merkle lot one of whose
    # items was proven (which gives it its record).
    env.register(GTIN, "L1", ["A", "B"])
    env.send(env.registry.functions.openLine(GTIN, code("LN1"), EXPIRY, URI), env.actors.registrant)
    tree, serials = merkle_lot(env, lot="M1")
    env.send(env.registry.functions.proveItem(merkle_item(tree, GTIN, "M1", serials[0])), env.actors.outsider)
    for lot in ("L1", "LN1", "M1"):
        receipt = env.send(env.registry.functions.recallLot(GTIN, code(lot), 2, ZERO32), env.actors.registrant)
        (event,) = env.events(receipt, "LotRecalled")
        assert dict(event) == {"lot": lot_id(GTIN, lot), "brand": 1, "gtin": GTIN, "reason": 2, "document": ZERO32}
        assert env.registry.functions.lotInfo(lot_id(GTIN, lot)).call()[5] is True
    assert verify(env, item_id(GTIN, "B"))["lotRecalled"] is True
    assert verify(env, item_id(GTIN, serials[0]))["lotRecalled"] is True


def test_registrant_cannot_recall_a_merkle_lot_not_yet_proven_but_its_brand_admin_can(env: Env) -> None:
    # IProductRegistry.recallLot: "a lot only committed by Merkle root (commitLot), none of its
    # items proven yet, has none [no record] ..., so only a brand admin recalls it"; a registrant
    # gets IdentityLotUnknown.
    tree, serials = merkle_lot(env, lot="M1")
    lot = lot_id(GTIN, "M1")
    m = merkle_item(tree, GTIN, "M1", serials[0])
    registrant_recall = recall_lot(env, GTIN, code("M1"), 2, env.actors.registrant)
    assert as_dict("verifyMerkle", env.registry.functions.verifyMerkle(m).call())["lotRecalled"] is False
    expect_revert(env.abi, registrant_recall, "IdentityLotUnknown", lot=lot)
    assert env.registry.functions.lotInfo(lot).call() == (False, 0, 0, ZERO32, 0, False, 0)
    # The brand's admin recalls it: its record is created, recalled, with expiry 0.
    receipt = env.send(env.registry.functions.recallLot(GTIN, code("M1"), 2, ZERO32), env.actors.brand_admin)
    (event,) = env.events(receipt, "LotRecalled")
    assert dict(event) == {"lot": lot, "brand": 1, "gtin": GTIN, "reason": 2, "document": ZERO32}
    assert env.registry.functions.lotInfo(lot).call()[:6] == (True, 1, GTIN, code("M1"), 0, True)
    assert as_dict("verifyMerkle", env.registry.functions.verifyMerkle(m).call())["lotRecalled"] is True
    # Once recalled, the registrant's recall is refused as a second recall.
    expect_revert(env.abi, registrant_recall, "IdentityLotRecalled", lot=lot)


def test_recall_lot_refused_to_outsider(env: Env) -> None:
    for sender in (env.actors.outsider, env.actors.seller, env.actors.other_admin):
        expect_revert(
            env.abi,
            recall_lot(env, GTIN, code("L1"), 1, sender),
            "AccessControlUnauthorizedAccount",
            account=sender,
            neededRole=brand_role("registrant", 1),
        )


def test_recall_lot_reverts_on_unknown_product_or_invalid_lot(env: Env) -> None:
    expect_revert(env.abi, recall_lot(env, GTIN + 10, code("L1"), 1, env.actors.registrant), "IdentityProductUnknown", gtin=GTIN + 10)
    expect_revert(env.abi, recall_lot(env, GTIN, ZERO32, 1, env.actors.registrant), "IdentityLotCodeInvalid", lot=ZERO32)


def test_decommission_sets_status_and_emits(env: Env) -> None:
    item = registered_item(env)
    receipt = env.send(env.registry.functions.decommission(item, 5), env.actors.registrant)
    (event,) = env.events(receipt, "ItemDecommissioned")
    assert dict(event) == {"item": item, "brand": 1, "reason": 5}
    assert verify(env, item)["status"] == DECOMMISSIONED


def test_decommission_of_a_recalled_item_succeeds(env: Env) -> None:
    item = registered_item(env)
    env.send(env.registry.functions.recallItem(item, 1, ZERO32), env.actors.registrant)
    env.send(env.registry.functions.decommission(item, 5), env.actors.brand_admin)
    assert verify(env, item)["status"] == DECOMMISSIONED


def test_decommission_reverts_when_already_decommissioned(env: Env) -> None:
    item = registered_item(env)
    env.send(env.registry.functions.decommission(item, 5), env.actors.registrant)
    expect_revert(
        env.abi,
        lambda: env.registry.functions.decommission(item, 5).transact({"from": env.actors.registrant}),
        "IdentityItemNotActive",
        item=item,
        status=DECOMMISSIONED,
    )


def test_decommission_refused_to_outsider(env: Env) -> None:
    item = registered_item(env)
    for sender in (env.actors.outsider, env.actors.seller, env.actors.other_admin):
        expect_revert(
            env.abi,
            lambda s=sender: env.registry.functions.decommission(item, 5).transact({"from": s}),
            "AccessControlUnauthorizedAccount",
            account=sender,
            neededRole=brand_role("registrant", 1),
        )


def test_decommission_reverts_for_unknown_item(env: Env) -> None:
    item = item_id(GTIN, "NOPE")
    expect_revert(
        env.abi,
        lambda: env.registry.functions.decommission(item, 5).transact({"from": env.actors.registrant}),
        "IdentityItemUnknown",
        item=item,
    )


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------


def test_verify_unknown_item_returns_unregistered(env: Env) -> None:
    assert env.registry.functions.verify(item_id(GTIN, "NOPE")).call() == (
        False,
        0,
        0,
        ZERO32,
        ZERO32,
        0,
        0,
        False,
        ZERO_ADDRESS,
        0,
        False,
        ZERO32,
    )


def test_lot_info_of_unknown_lot_is_empty(registry: Any) -> None:
    assert registry.functions.lotInfo(lot_id(GTIN, "NOPE")).call() == (False, 0, 0, ZERO32, 0, False, 0)


def test_registry_prefixes_are_the_fixture_prefixes(registry: Any) -> None:
    assert registry.functions.brand(1).call()[:2] == ("Acme Foods", [PREFIX])
    assert registry.functions.brand(2).call()[:2] == ("Other Co", [OTHER_PREFIX])
