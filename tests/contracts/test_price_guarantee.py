"""PriceGuarantee: every function, custom error (with its arguments) and event (with its fields);
outsiders refused; the paper's case (a snack gift bag sold at 188 on one channel and 133 on
another); quotes forged, foreign, stale, replayed or bound to another chain or contract; the
window, exclusions and price errors; policy changes and key rotation over time; the pool running
short, the FIFO queue, withdrawals, credits for buyers that refuse payments and re-entry; the gas
targets. The model-based stateful test of the pool's invariants is in
``tests/properties/test_pool_machine.py``."""

from __future__ import annotations

from collections.abc import Iterator
from functools import reduce
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import function_signature_to_4byte_selector, keccak

from .conftest import Env, expect_revert
from .conftest_price import (
    BATCH_CALLER_ARTIFACT,
    CHANNEL_APP,
    CHANNEL_MARKETPLACE,
    CHANNEL_ONLINE_SHOP,
    CHANNEL_STORE,
    DAY,
    DECLARATION_PERIOD,
    GIFT_BAG,
    MAX_WINDOW,
    NATIVE,
    NATIVE_UNIT,
    ONLINE,
    OTHER_GTIN,
    PG_ARTIFACT,
    PRICE_CLEARANCE,
    PRICE_ERROR,
    PRICE_LIMITED_QUANTITY,
    PRICE_PROMOTION,
    PRICE_REGULAR,
    PRICE_TYPES_KNOWN,
    QUOTE_FIELDS,
    RECEIPT_FIELDS,
    REENTRANT_ARTIFACT,
    REJECTING_ARTIFACT,
    STORE,
    TOKEN,
    TOKEN_SHOP,
    TOKEN_UNIT,
    ZERO_ADDRESS,
    PriceEnv,
    admin_role,
    as_tuple,
    bit,
    build_price_session,
    purchase_id,
    purchase_of,
    terms,
)

U = NATIVE_UNIT
ZERO32 = b"\x00" * 32

# The functions of IPriceGuarantee: its ERC-165 id is the XOR of their selectors.
PURCHASE_T = "(uint32,uint32,uint32,address,uint64,uint32,uint96,uint40,bytes32)"
QUOTE_T = "(uint32,uint32,uint64,address,uint96,uint8,uint40,uint40,uint64)"
RECEIPT_T = "(uint32,uint32,address,uint64,uint32,uint96,uint40,bytes32)"
SALE_T = "(address,uint64,uint32,uint96,bytes32)"
TERMS_T = "(uint32,uint16,uint96,uint96,uint8)"
INTERFACE_FUNCTIONS = [
    "registerRetailer(address,address,string)",
    "retailerAdminRole(uint32)",
    "addChannel(uint32,uint8,address,string)",
    "rotateChannelKey(uint32,address)",
    f"setPolicy(uint32,uint64,{TERMS_T})",
    "publishPrice(uint64,uint96,uint8,uint40)",
    "endPrice(uint64,uint40)",
    "declarePriceError(uint32,uint64,uint40)",
    f"recordPurchase({SALE_T})",
    f"recordPurchases({SALE_T}[])",
    f"registerPurchase({RECEIPT_T},bytes)",
    f"claimWithPrice({PURCHASE_T},uint32,uint40)",
    f"claimWithQuote({PURCHASE_T},{QUOTE_T},bytes)",
    "fund(uint32,uint256)",
    "settle(uint32,uint256)",
    "announceWithdrawal(uint32,uint256,address)",
    "cancelWithdrawal(uint32)",
    "executeWithdrawal(uint32)",
    "withdrawCredit(address)",
    "retailer(uint32)",
    "retailerCount()",
    "channel(uint32)",
    "channelCount()",
    "channelKey(address)",
    "policy(uint32)",
    "policyCount()",
    "policyFor(uint32,uint64,uint40)",
    "price(uint32,uint64,uint40)",
    "purchaseId(uint32,bytes32)",
    "purchaseState(bytes32)",
    "purchaseDigest(bytes32)",
    "owedEntries(uint32,uint64,uint64)",
    "credit(address,address)",
    f"quoteDigest({QUOTE_T})",
    f"receiptDigest({RECEIPT_T})",
    "version()",
]


@pytest.fixture(scope="session")
def _price_session(_session_env: Env) -> PriceEnv:
    return build_price_session(_session_env)


@pytest.fixture
def pg(_price_session: PriceEnv, env: Env) -> Iterator[PriceEnv]:
    """The PriceGuarantee environment, reverted after the test (through ``env``'s snapshot)."""
    yield _price_session


def paper_case(pg: PriceEnv, tolerance: tuple[int, ...] = terms(amount=50 * U), fund: int = 1_000 * U) -> tuple[Any, ...]:
    """The paper's case: the gift bag bought in the store at 188, then offered online at 133.

    Returns (purchase, online validFrom). The default policy has the given terms (30 days).
    """
    pg.set_policy(tolerance)
    if fund:
        pg.fund(fund)
    purchase = pg.record(pg.store, 188)
    valid_from = pg.publish(pg.online, 133 * U, PRICE_PROMOTION)
    return purchase, valid_from


TERMS_NAMES = ("window", "toleranceBps", "toleranceAmount", "maxPayout", "excludedPriceTypes")


def flat(event: Any) -> dict[str, Any]:
    """An event's fields, with a PolicyTerms struct as a tuple."""
    return {k: tuple(v[n] for n in TERMS_NAMES) if k == "terms" else v for k, v in event.items()}


def quote_args(pg: PriceEnv, signer: str | bytes | None = None, **overrides: Any) -> tuple[tuple[Any, ...], bytes]:
    message = pg.quote(**overrides)
    return as_tuple(message, QUOTE_FIELDS), pg.sign(signer or pg.online, "Quote", message)


# --------------------------------------------------------------------------------------------
# Deployment, ERC-165, EIP-712
# --------------------------------------------------------------------------------------------


def test_version_interfaces_and_typehashes(pg: PriceEnv) -> None:
    f = pg.f
    assert f.version().call() == "1"
    interface_id = reduce(lambda a, b: a ^ b, (int.from_bytes(function_signature_to_4byte_selector(s)) for s in INTERFACE_FUNCTIONS))
    assert f.supportsInterface(interface_id.to_bytes(4)).call()
    assert f.supportsInterface(bytes.fromhex("7965db0b")).call()  # IAccessControl
    assert f.supportsInterface(bytes.fromhex("01ffc9a7")).call()  # IERC165
    assert not f.supportsInterface(bytes.fromhex("ffffffff")).call()
    assert set(INTERFACE_FUNCTIONS) <= set(PG_ARTIFACT["methodIdentifiers"])
    _, name, version, chain_id, contract, salt, extensions = f.eip712Domain().call()
    assert (name, version, chain_id, contract) == ("o2ochain PriceGuarantee", "1", pg.w3.eth.chain_id, pg.pg.address)
    assert salt == ZERO32 and extensions == []
    assert f.QUOTE_TYPEHASH().call() == keccak(
        b"Quote(uint32 retailer,uint32 channel,uint64 gtin,address currency,uint96 price,uint8 priceType,"
        b"uint40 validFrom,uint40 validUntil,uint64 nonce)"
    )
    assert f.RECEIPT_TYPEHASH().call() == keccak(
        b"Receipt(uint32 retailer,uint32 channel,address buyer,uint64 gtin,uint32 quantity,uint96 unitPrice,"
        b"uint40 purchasedAt,bytes32 receiptHash)"
    )
    # Nobody holds the default admin role: there is no central party.
    assert not f.hasRole(ZERO32, pg.env.actors.admin).call()


def test_quote_and_receipt_digests_match_eip712(pg: PriceEnv) -> None:
    quote = pg.quote(nonce=42)
    signable = encode_typed_data(full_message=pg.typed("Quote", quote))
    assert pg.f.quoteDigest(as_tuple(quote, QUOTE_FIELDS)).call() == keccak(b"\x19" + signable.version + signable.header + signable.body)
    receipt = {
        "retailer": NATIVE,
        "channel": STORE,
        "buyer": pg.buyer,
        "gtin": GIFT_BAG,
        "quantity": 2,
        "unitPrice": 188 * U,
        "purchasedAt": 1_700_000_000,
        "receiptHash": keccak(b"r"),
    }
    signable = encode_typed_data(full_message=pg.typed("Receipt", receipt))
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert pg.f.receiptDigest(as_tuple(receipt, RECEIPT_FIELDS)).call() == expected


def test_role_and_purchase_id_formulas(pg: PriceEnv) -> None:
    for retailer in (1, 2, 77, 2**32 - 1):
        assert pg.f.retailerAdminRole(retailer).call() == admin_role(retailer)
    r = keccak(b"order 2025-0001")
    assert pg.f.purchaseId(NATIVE, r).call() == purchase_id(NATIVE, r)
    assert pg.f.purchaseId(TOKEN, r).call() != purchase_id(NATIVE, r)
    assert pg.f.purchaseState(purchase_id(NATIVE, r)).call() == [False, 0]


def test_purchase_digest_is_the_low_160_bits_of_the_recorded_purchase(pg: PriceEnv) -> None:
    types = ["uint32", "uint32", "uint32", "address", "uint64", "uint32", "uint96", "uint40", "bytes32"]
    r = keccak(b"order 2025-0002")
    assert pg.f.purchaseDigest(purchase_id(NATIVE, r)).call() == 0
    purchase, valid_from = paper_case(pg)
    pid = purchase_id(NATIVE, purchase[8])
    digest = int.from_bytes(keccak(abi_encode(types, list(purchase)))[12:])
    assert pg.f.purchaseDigest(pid).call() == digest != 0
    # A claim records the compensation beside it; the digest stays.
    pg.claim(purchase, ONLINE, valid_from)
    assert pg.compensated(purchase) > 0
    assert pg.f.purchaseDigest(pid).call() == digest


# --------------------------------------------------------------------------------------------
# Retailers and their admins
# --------------------------------------------------------------------------------------------


def test_register_retailer_numbers_grants_role_and_emits(pg: PriceEnv) -> None:
    f = pg.f
    assert f.retailerCount().call() == 2
    receipt = pg.send(f.registerRetailer(pg.outsider, pg.token.address, "ipfs://retailer/third"), pg.keeper)
    (event,) = pg.events(receipt, "RetailerRegistered")
    assert dict(event) == {"retailer": 3, "admin": pg.outsider, "currency": pg.token.address, "uri": "ipfs://retailer/third"}
    (granted,) = pg.events(receipt, "RoleGranted")
    assert dict(granted) == {"role": admin_role(3), "account": pg.outsider, "sender": pg.keeper}
    assert f.retailerCount().call() == 3
    assert f.hasRole(admin_role(3), pg.outsider).call()
    assert not f.hasRole(admin_role(3), pg.keeper).call()  # registering is not administering
    assert f.getRoleAdmin(admin_role(3)).call() == admin_role(3)
    assert pg.retailer(3) == {
        "currency": pg.token.address,
        "maxWindow": 0,
        "available": 0,
        "owed": 0,
        "queueHead": 0,
        "queueTail": 0,
        "withdrawalAmount": 0,
        "withdrawalTo": ZERO_ADDRESS,
        "withdrawalAt": 0,
        "funded": 0,
        "paid": 0,
    }
    assert pg.retailer(NATIVE)["currency"] == ZERO_ADDRESS


def test_register_retailer_reverts_for_zero_admin(pg: PriceEnv) -> None:
    expect_revert(
        pg.abi, pg.tx(pg.f.registerRetailer(ZERO_ADDRESS, ZERO_ADDRESS, ""), pg.keeper), "GuaranteeAdminInvalid", admin=ZERO_ADDRESS
    )


def test_views_of_unknown_ids(pg: PriceEnv) -> None:
    f = pg.f
    for unknown in (0, 3, 2**32 - 1):
        expect_revert(pg.abi, lambda u=unknown: f.retailer(u).call(), "GuaranteeRetailerUnknown", retailer=unknown)
    assert f.channel(4).call() == (0, ZERO_ADDRESS, 0)
    assert f.channelKey(pg.outsider).call() == (0, 0, 0, 0)
    assert f.policy(1).call() == (0, 0, 0, 0, (0, 0, 0, 0, 0))
    assert f.policyCount().call() == 0
    assert f.policyFor(NATIVE, GIFT_BAG, pg.now()).call() == 0
    assert f.price(ONLINE, GIFT_BAG, pg.now()).call() == (False, 0, 0, 0, 0)
    assert f.owedEntries(NATIVE, 0, 10).call() == []
    assert f.owedEntries(99, 0, 10).call() == []
    assert f.credit(pg.buyer, ZERO_ADDRESS).call() == 0


def test_retailer_admins_manage_themselves(pg: PriceEnv) -> None:
    f, role = pg.f, admin_role(NATIVE)
    # An outsider, and the admin of another retailer, cannot make themselves admins.
    for stranger in (pg.outsider, pg.token_admin):
        expect_revert(
            pg.abi, pg.tx(f.grantRole(role, stranger), stranger), "AccessControlUnauthorizedAccount", account=stranger, neededRole=role
        )
    pg.send(f.grantRole(role, pg.outsider), pg.native_admin)
    pg.send(f.addChannel(NATIVE, CHANNEL_APP, pg.new_key("app", fund=False), "Acme app"), pg.outsider)
    # The new admin may remove the first one, who is then refused.
    pg.send(f.revokeRole(role, pg.native_admin), pg.outsider)
    expect_revert(
        pg.abi,
        pg.tx(f.setPolicy(NATIVE, 0, terms()), pg.native_admin),
        "AccessControlUnauthorizedAccount",
        account=pg.native_admin,
        neededRole=role,
    )


def _restricted_calls(pg: PriceEnv) -> list[tuple[str, Any]]:
    f = pg.f
    now = pg.now()
    return [
        ("addChannel", f.addChannel(NATIVE, CHANNEL_STORE, pg.new_key("never", fund=False), "x")),
        ("rotateChannelKey", f.rotateChannelKey(ONLINE, ZERO_ADDRESS)),
        ("setPolicy", f.setPolicy(NATIVE, 0, terms())),
        ("declarePriceError", f.declarePriceError(ONLINE, GIFT_BAG, now)),
        ("announceWithdrawal", f.announceWithdrawal(NATIVE, 1, pg.outsider)),
        ("cancelWithdrawal", f.cancelWithdrawal(NATIVE)),
        ("executeWithdrawal", f.executeWithdrawal(NATIVE)),
    ]


def test_admin_functions_refuse_outsiders_and_other_retailers(pg: PriceEnv) -> None:
    role = admin_role(NATIVE)
    for stranger in (pg.outsider, pg.token_admin, pg.online, pg.buyer):
        for name, fn in _restricted_calls(pg):
            args = expect_revert(pg.abi, pg.tx(fn, stranger), "AccessControlUnauthorizedAccount", account=stranger, neededRole=role)
            assert args, name


def test_channel_key_functions_refuse_non_keys(pg: PriceEnv) -> None:
    f = pg.f
    sale = (pg.buyer, GIFT_BAG, 1, 188 * U, keccak(b"r"))
    calls = [
        f.publishPrice(GIFT_BAG, 133 * U, PRICE_REGULAR, pg.now() + DAY),
        f.endPrice(GIFT_BAG, pg.now()),
        f.recordPurchase(sale),
        f.recordPurchases([sale]),
    ]
    for stranger in (pg.outsider, pg.native_admin, pg.buyer):
        for fn in calls:
            expect_revert(pg.abi, pg.tx(fn, stranger), "GuaranteeNotChannelKey", caller=stranger)


def test_admin_functions_revert_for_unknown_retailer(pg: PriceEnv) -> None:
    f = pg.f
    for fn in (
        f.addChannel(9, CHANNEL_STORE, pg.outsider, "x"),
        f.setPolicy(9, 0, terms()),
        f.announceWithdrawal(9, 1, pg.outsider),
        f.cancelWithdrawal(9),
        f.executeWithdrawal(9),
        f.settle(9, 1),
        f.fund(9, 1),
    ):
        expect_revert(pg.abi, pg.tx(fn, pg.native_admin), "GuaranteeRetailerUnknown", retailer=9)
    for unknown in (ONLINE + 99, 0):
        expect_revert(pg.abi, pg.tx(f.rotateChannelKey(unknown, pg.outsider), pg.native_admin), "GuaranteeChannelUnknown", channel=unknown)
        expect_revert(pg.abi, pg.tx(f.declarePriceError(unknown, GIFT_BAG, 1), pg.native_admin), "GuaranteeChannelUnknown", channel=unknown)


# --------------------------------------------------------------------------------------------
# Channels and keys
# --------------------------------------------------------------------------------------------


def test_add_channel_stores_key_and_emits(pg: PriceEnv) -> None:
    f = pg.f
    assert f.channelCount().call() == 3
    assert f.channel(ONLINE).call() == (NATIVE, pg.online, CHANNEL_ONLINE_SHOP)
    assert f.channel(TOKEN_SHOP).call() == (TOKEN, pg.token_key, CHANNEL_ONLINE_SHOP)
    key = pg.new_key("marketplace", fund=False)
    receipt = pg.send(f.addChannel(NATIVE, CHANNEL_MARKETPLACE, key, "Acme on JD"), pg.native_admin)
    (event,) = pg.events(receipt, "ChannelAdded")
    assert dict(event) == {"retailer": NATIVE, "channel": 4, "kind": CHANNEL_MARKETPLACE, "key": key, "name": "Acme on JD"}
    assert f.channelCount().call() == 4
    assert f.channel(4).call() == (NATIVE, key, CHANNEL_MARKETPLACE)
    assert f.channelKey(key).call() == (NATIVE, 4, pg.block_time(receipt), 0)


def test_add_channel_reverts_for_bad_kind_or_key(pg: PriceEnv) -> None:
    f = pg.f
    fresh = pg.new_key("fresh", fund=False)
    for kind in (0, 5, 255):
        expect_revert(pg.abi, pg.tx(f.addChannel(NATIVE, kind, fresh, "x"), pg.native_admin), "GuaranteeChannelKindInvalid", kind=kind)
    # Zero, a key in use, a key of another retailer's channel: each key serves one channel, once.
    for key in (ZERO_ADDRESS, pg.online, pg.token_key):
        expect_revert(pg.abi, pg.tx(f.addChannel(NATIVE, CHANNEL_STORE, key, "x"), pg.native_admin), "GuaranteeKeyInvalid", key=key)


def test_rotate_channel_key_revokes_old_and_activates_new(pg: PriceEnv) -> None:
    f = pg.f
    new = pg.new_key("online 2")
    active_from = f.channelKey(pg.online).call()[2]
    receipt = pg.send(f.rotateChannelKey(ONLINE, new), pg.native_admin)
    at = pg.block_time(receipt)
    (event,) = pg.events(receipt, "ChannelKeyChanged")
    assert dict(event) == {"channel": ONLINE, "previousKey": pg.online, "newKey": new}
    assert f.channel(ONLINE).call() == (NATIVE, new, CHANNEL_ONLINE_SHOP)
    assert f.channelKey(pg.online).call() == (NATIVE, ONLINE, active_from, at)
    assert f.channelKey(new).call() == (NATIVE, ONLINE, at, 0)
    # The old key can no longer publish; the new one can.
    until = pg.now() + DAY
    expect_revert(pg.abi, pg.tx(f.publishPrice(GIFT_BAG, 1, PRICE_REGULAR, until), pg.online), "GuaranteeNotChannelKey", caller=pg.online)
    pg.send(f.publishPrice(GIFT_BAG, 1, PRICE_REGULAR, until), new)
    # Rotating to zero leaves the channel without a key; a later rotation gives it one again.
    receipt = pg.send(f.rotateChannelKey(ONLINE, ZERO_ADDRESS), pg.native_admin)
    assert dict(pg.events(receipt, "ChannelKeyChanged")[0]) == {"channel": ONLINE, "previousKey": new, "newKey": ZERO_ADDRESS}
    assert f.channel(ONLINE).call() == (NATIVE, ZERO_ADDRESS, CHANNEL_ONLINE_SHOP)
    assert f.channelKey(new).call()[3] == pg.block_time(receipt)
    expect_revert(pg.abi, pg.tx(f.publishPrice(GIFT_BAG, 1, PRICE_REGULAR, until), new), "GuaranteeNotChannelKey", caller=new)
    receipt = pg.send(f.rotateChannelKey(ONLINE, ZERO_ADDRESS), pg.native_admin)  # no key to no key
    assert dict(pg.events(receipt, "ChannelKeyChanged")[0]) == {"channel": ONLINE, "previousKey": ZERO_ADDRESS, "newKey": ZERO_ADDRESS}
    third = pg.new_key("online 3", fund=False)
    pg.send(f.rotateChannelKey(ONLINE, third), pg.native_admin)
    assert f.channel(ONLINE).call()[1] == third


def test_rotate_channel_key_reverts_for_a_used_key(pg: PriceEnv) -> None:
    f = pg.f
    new = pg.new_key("online 2", fund=False)
    pg.send(f.rotateChannelKey(ONLINE, new), pg.native_admin)
    # The current key, the revoked one, another channel's: a key serves once.
    for key in (new, pg.online, pg.store, pg.token_key):
        expect_revert(pg.abi, pg.tx(f.rotateChannelKey(ONLINE, key), pg.native_admin), "GuaranteeKeyInvalid", key=key)
    # Another retailer's admin cannot rotate this retailer's channel.
    expect_revert(
        pg.abi,
        pg.tx(f.rotateChannelKey(ONLINE, pg.outsider), pg.token_admin),
        "AccessControlUnauthorizedAccount",
        account=pg.token_admin,
        neededRole=admin_role(NATIVE),
    )


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------


def test_set_policy_creates_immutable_records_and_emits(pg: PriceEnv) -> None:
    f = pg.f
    first = terms(window=30 * DAY, bps=500, amount=20 * U, max_payout=300 * U, excluded=bit(PRICE_CLEARANCE))
    receipt = pg.send(f.setPolicy(NATIVE, 0, first), pg.native_admin)
    (event,) = pg.events(receipt, "PolicySet")
    assert flat(event) == {"retailer": NATIVE, "gtin": 0, "policy": 1, "terms": first, "previous": 0}
    since = pg.block_time(receipt)
    assert f.policy(1).call() == (NATIVE, 0, since, 0, first)
    # A second default chains back to the first, which stays as it was.
    second = terms(window=7 * DAY, amount=1)
    receipt = pg.send(f.setPolicy(NATIVE, 0, second), pg.native_admin)
    assert flat(pg.events(receipt, "PolicySet")[0]) == {"retailer": NATIVE, "gtin": 0, "policy": 2, "terms": second, "previous": 1}
    assert f.policy(2).call() == (NATIVE, 0, pg.block_time(receipt), 1, second)
    assert f.policy(1).call() == (NATIVE, 0, since, 0, first)
    # A class policy has its own chain; numbering is global across retailers.
    receipt = pg.send(f.setPolicy(NATIVE, GIFT_BAG, terms(window=0)), pg.native_admin)
    assert dict(pg.events(receipt, "PolicySet")[0])["previous"] == 0
    receipt = pg.send(f.setPolicy(TOKEN, 0, terms(window=MAX_WINDOW)), pg.token_admin)
    assert pg.events(receipt, "PolicySet")[0]["policy"] == 4
    assert f.policyCount().call() == 4
    # maxWindow is the largest window ever set, never decreasing.
    assert pg.retailer(NATIVE)["maxWindow"] == 30 * DAY
    assert pg.retailer(TOKEN)["maxWindow"] == MAX_WINDOW


def test_set_policy_reverts_for_invalid_terms(pg: PriceEnv) -> None:
    def attempt(error: str, t: tuple[int, ...], **expected: Any) -> None:
        expect_revert(pg.abi, pg.tx(pg.f.setPolicy(NATIVE, 0, t), pg.native_admin), error, **expected)

    attempt("GuaranteeWindowInvalid", terms(window=MAX_WINDOW + 1), window=MAX_WINDOW + 1, max=MAX_WINDOW)
    attempt("GuaranteeWindowInvalid", terms(window=2**32 - 1), window=2**32 - 1, max=MAX_WINDOW)
    attempt("GuaranteeToleranceInvalid", terms(bps=10_001), toleranceBps=10_001)
    attempt("GuaranteeMaxPayoutInvalid", terms(max_payout=0), maxPayout=0)
    attempt("GuaranteePriceTypesInvalid", terms(excluded=0x20), priceTypes=0x20)
    attempt("GuaranteePriceTypesInvalid", terms(excluded=0xFF), priceTypes=0xFF)
    # The limits themselves are accepted; a zero window needs no max payout.
    pg.set_policy(terms(window=MAX_WINDOW, bps=10_000, excluded=PRICE_TYPES_KNOWN))
    pg.set_policy(terms(window=0, max_payout=0))


def test_policy_for_takes_the_class_then_the_default_in_effect_at_the_time(pg: PriceEnv) -> None:
    f = pg.f
    t0 = pg.now()
    p1 = pg.set_policy(terms(amount=1))  # default from t1
    t1 = f.policy(p1).call()[2]
    pg.at(t1 + 100)
    p2 = pg.set_policy(terms(amount=2), gtin=GIFT_BAG)  # class from t1 + 100
    pg.at(t1 + 200)
    p3 = pg.set_policy(terms(amount=3))  # default from t1 + 200
    pg.at(t1 + 300)
    p4 = pg.set_policy(terms(amount=4), gtin=GIFT_BAG)  # class from t1 + 300
    expected = [
        (t0, GIFT_BAG, 0),
        (t1, GIFT_BAG, p1),
        (t1 + 99, GIFT_BAG, p1),
        (t1 + 100, GIFT_BAG, p2),
        (t1 + 250, GIFT_BAG, p2),  # the class policy in effect wins over a newer default
        (t1 + 300, GIFT_BAG, p4),
        (t1 + 10**6, GIFT_BAG, p4),
        (t1 + 150, OTHER_GTIN, p1),
        (t1 + 200, OTHER_GTIN, p3),
        (t1 + 200, 0, p3),
        (t1 + 100, 0, p1),
    ]
    for at, gtin, policy in expected:
        assert f.policyFor(NATIVE, gtin, at).call() == policy, (at - t1, gtin)
    assert f.policyFor(TOKEN, GIFT_BAG, t1 + 300).call() == 0


# --------------------------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------------------------


def test_publish_price_stores_and_emits(pg: PriceEnv) -> None:
    until = pg.now() + 7 * DAY
    receipt = pg.send(pg.f.publishPrice(GIFT_BAG, 133 * U, PRICE_PROMOTION, until), pg.online)
    valid_from = pg.block_time(receipt)
    (event,) = pg.events(receipt, "PricePublished")
    assert dict(event) == {"gtin": GIFT_BAG, "channel": ONLINE, "price": 133 * U, "priceType": PRICE_PROMOTION, "validUntil": until}
    assert pg.f.price(ONLINE, GIFT_BAG, valid_from).call() == (True, 133 * U, PRICE_PROMOTION, until, 0)
    # Keyed by channel, GTIN and start: nothing under the other channel, product or second.
    assert not pg.f.price(STORE, GIFT_BAG, valid_from).call()[0]
    assert not pg.f.price(ONLINE, OTHER_GTIN, valid_from).call()[0]
    assert not pg.f.price(ONLINE, GIFT_BAG, valid_from - 1).call()[0]
    # A new publication does not end the earlier one.
    later = pg.publish(pg.online, 120 * U)
    assert pg.f.price(ONLINE, GIFT_BAG, valid_from).call()[4] == 0
    assert pg.f.price(ONLINE, GIFT_BAG, later).call()[1] == 120 * U


def test_publish_price_reverts_for_bad_price_type_or_validity(pg: PriceEnv) -> None:
    f = pg.f
    until = pg.now() + DAY
    expect_revert(pg.abi, pg.tx(f.publishPrice(GIFT_BAG, 0, PRICE_REGULAR, until), pg.online), "GuaranteeAmountInvalid", amount=0)
    for t in (5, 255):
        expect_revert(pg.abi, pg.tx(f.publishPrice(GIFT_BAG, 1, t, until), pg.online), "GuaranteePriceTypeInvalid", priceType=t)
    for bad in (0, pg.now()):
        args = expect_revert(pg.abi, pg.tx(f.publishPrice(GIFT_BAG, 1, PRICE_REGULAR, bad), pg.online), "GuaranteeValidityInvalid")
        assert args["validUntil"] == bad and args["validFrom"] > bad


def test_publish_price_twice_in_one_second_reverts(pg: PriceEnv) -> None:
    # A contract key (BatchCaller) publishes twice in one transaction, hence in one second.
    f = pg.f
    caller = pg.deploy(BATCH_CALLER_ARTIFACT)
    pg.send(f.rotateChannelKey(ONLINE, caller.address), pg.native_admin)
    until = pg.now() + DAY

    def publish(gtin: int, price: int) -> bytes:
        return bytes.fromhex(pg.pg.encode_abi("publishPrice", [gtin, price, PRICE_REGULAR, until])[2:])

    args = expect_revert(
        pg.abi,
        pg.tx(caller.functions.callAll(pg.pg.address, [publish(GIFT_BAG, 133 * U), publish(GIFT_BAG, 120 * U)]), pg.outsider),
        "GuaranteePriceExists",
        channel=ONLINE,
        gtin=GIFT_BAG,
    )
    assert args["validFrom"] > pg.now()
    # Two products in the same second are two offers.
    receipt = pg.send(caller.functions.callAll(pg.pg.address, [publish(GIFT_BAG, 133 * U), publish(OTHER_GTIN, 120 * U)]), pg.outsider)
    valid_from = pg.block_time(receipt)
    assert f.price(ONLINE, GIFT_BAG, valid_from).call()[1] == 133 * U
    assert f.price(ONLINE, OTHER_GTIN, valid_from).call()[1] == 120 * U


def test_end_price_ends_it_now_and_emits(pg: PriceEnv) -> None:
    valid_from = pg.publish(pg.online, 133 * U, PRICE_PROMOTION)
    until = pg.f.price(ONLINE, GIFT_BAG, valid_from).call()[3]
    receipt = pg.send(pg.f.endPrice(GIFT_BAG, valid_from), pg.online)
    ended = pg.block_time(receipt)
    (event,) = pg.events(receipt, "PriceEnded")
    assert dict(event) == {"channel": ONLINE, "gtin": GIFT_BAG, "validFrom": valid_from, "endedAt": ended, "priceError": False}
    assert pg.f.price(ONLINE, GIFT_BAG, valid_from).call() == (True, 133 * U, PRICE_PROMOTION, until, ended)


def test_end_price_reverts_when_unknown_ended_expired_or_of_another_channel(pg: PriceEnv) -> None:
    f = pg.f
    valid_from = pg.publish(pg.online, 133 * U, valid_for=100)
    expect_revert(
        pg.abi,
        pg.tx(f.endPrice(GIFT_BAG, valid_from + 1), pg.online),
        "GuaranteePriceUnknown",
        channel=ONLINE,
        gtin=GIFT_BAG,
        validFrom=valid_from + 1,
    )
    # The store's key looks up the store's prices: the online price is not its own.
    expect_revert(
        pg.abi,
        pg.tx(f.endPrice(GIFT_BAG, valid_from), pg.store),
        "GuaranteePriceUnknown",
        channel=STORE,
        gtin=GIFT_BAG,
        validFrom=valid_from,
    )
    pg.send(f.endPrice(GIFT_BAG, valid_from), pg.online)
    expect_revert(
        pg.abi,
        pg.tx(f.endPrice(GIFT_BAG, valid_from), pg.online),
        "GuaranteePriceNotLive",
        channel=ONLINE,
        gtin=GIFT_BAG,
        validFrom=valid_from,
    )
    expired = pg.publish(pg.online, 120 * U, valid_for=10)
    pg.at(expired + 11)
    expect_revert(
        pg.abi, pg.tx(f.endPrice(GIFT_BAG, expired), pg.online), "GuaranteePriceNotLive", channel=ONLINE, gtin=GIFT_BAG, validFrom=expired
    )


def test_declare_price_error_marks_and_ends_it(pg: PriceEnv) -> None:
    valid_from = pg.publish(pg.online, 13 * U, PRICE_REGULAR)  # 13 for 133: a typo
    until = pg.f.price(ONLINE, GIFT_BAG, valid_from).call()[3]
    receipt = pg.send(pg.f.declarePriceError(ONLINE, GIFT_BAG, valid_from), pg.native_admin)
    ended = pg.block_time(receipt)
    (event,) = pg.events(receipt, "PriceEnded")
    assert dict(event) == {"channel": ONLINE, "gtin": GIFT_BAG, "validFrom": valid_from, "endedAt": ended, "priceError": True}
    assert pg.f.price(ONLINE, GIFT_BAG, valid_from).call() == (True, 13 * U, PRICE_ERROR, until, ended)


def test_declare_price_error_reverts(pg: PriceEnv) -> None:
    f = pg.f
    valid_from = pg.publish(pg.online, 13 * U)
    expect_revert(
        pg.abi,
        pg.tx(f.declarePriceError(ONLINE, GIFT_BAG, valid_from), pg.token_admin),
        "AccessControlUnauthorizedAccount",
        account=pg.token_admin,
        neededRole=admin_role(NATIVE),
    )
    expect_revert(
        pg.abi,
        pg.tx(f.declarePriceError(STORE, GIFT_BAG, valid_from), pg.native_admin),
        "GuaranteePriceUnknown",
        channel=STORE,
        gtin=GIFT_BAG,
        validFrom=valid_from,
    )
    # Ended prices cannot be declared.
    pg.send(f.endPrice(GIFT_BAG, valid_from), pg.online)
    expect_revert(pg.abi, pg.tx(f.declarePriceError(ONLINE, GIFT_BAG, valid_from), pg.native_admin), "GuaranteePriceNotLive")
    # The declaration period closes one day after the start (inclusive).
    live = pg.publish(pg.online, 12 * U, valid_for=30 * DAY)
    pg.at(live + DECLARATION_PERIOD + 1)
    args = expect_revert(
        pg.abi,
        pg.tx(f.declarePriceError(ONLINE, GIFT_BAG, live), pg.native_admin),
        "GuaranteeDeclarationClosed",
        channel=ONLINE,
        gtin=GIFT_BAG,
        validFrom=live,
        closedAt=live + DECLARATION_PERIOD,
    )
    assert args
    on_time = pg.publish(pg.online, 11 * U, valid_for=30 * DAY)
    pg.at(on_time + DECLARATION_PERIOD)
    pg.send(f.declarePriceError(ONLINE, GIFT_BAG, on_time), pg.native_admin)


# --------------------------------------------------------------------------------------------
# Purchases
# --------------------------------------------------------------------------------------------


def test_record_purchase_stores_the_purchase_and_emits(pg: PriceEnv) -> None:
    policy = pg.set_policy(terms(amount=50 * U))
    r = keccak(b"till 7 / receipt 000042")
    receipt = pg.send(pg.f.recordPurchase((pg.buyer, GIFT_BAG, 2, 188 * U, r)), pg.store)
    (event,) = pg.events(receipt, "PurchaseRecorded")
    pid = purchase_id(NATIVE, r)
    assert dict(event) == {
        "purchase": pid,
        "buyer": pg.buyer,
        "gtin": GIFT_BAG,
        "retailer": NATIVE,
        "channel": STORE,
        "policy": policy,
        "quantity": 2,
        "unitPrice": 188 * U,
        "purchasedAt": pg.block_time(receipt),
        "receiptHash": r,
    }
    assert pg.f.purchaseState(pid).call() == [True, 0]
    # With no policy at all, the purchase records policy 0.
    receipt = pg.send(pg.f.recordPurchase((pg.buyer, GIFT_BAG, 1, 188 * U, r)), pg.token_key)
    assert pg.events(receipt, "PurchaseRecorded")[0]["policy"] == 0


def test_record_purchase_reverts_for_bad_sales_and_repeats(pg: PriceEnv) -> None:
    f = pg.f
    r = keccak(b"r")
    expect_revert(pg.abi, pg.tx(f.recordPurchase((ZERO_ADDRESS, GIFT_BAG, 1, 1, r)), pg.store), "GuaranteeBuyerInvalid", buyer=ZERO_ADDRESS)
    expect_revert(pg.abi, pg.tx(f.recordPurchase((pg.buyer, GIFT_BAG, 0, 1, r)), pg.store), "GuaranteeQuantityInvalid", quantity=0)
    expect_revert(pg.abi, pg.tx(f.recordPurchase((pg.buyer, GIFT_BAG, 1, 0, r)), pg.store), "GuaranteeAmountInvalid", amount=0)
    pg.send(f.recordPurchase((pg.buyer, GIFT_BAG, 1, 188 * U, r)), pg.store)
    # The same receipt again, from any channel of the retailer, is the same purchase.
    for key in (pg.store, pg.online):
        expect_revert(
            pg.abi,
            pg.tx(f.recordPurchase((pg.buyer2, OTHER_GTIN, 1, 1, r)), key),
            "GuaranteePurchaseExists",
            purchase=purchase_id(NATIVE, r),
        )
    # Another retailer's receipt with the same hash is another purchase.
    pg.send(f.recordPurchase((pg.buyer, GIFT_BAG, 1, 188 * TOKEN_UNIT, r)), pg.token_key)


def test_record_purchases_records_a_batch_all_or_nothing(pg: PriceEnv) -> None:
    f = pg.f
    sales = [(pg.buyer, GIFT_BAG, 1, 188 * U, keccak(b"a")), (pg.buyer2, OTHER_GTIN, 3, 20 * U, keccak(b"b"))]
    receipt = pg.send(f.recordPurchases(sales), pg.online)
    events = pg.events(receipt, "PurchaseRecorded")
    assert [(e["buyer"], e["gtin"], e["quantity"], e["unitPrice"], e["receiptHash"], e["channel"]) for e in events] == [
        (*s[:4], s[4], ONLINE) for s in sales
    ]
    expect_revert(pg.abi, pg.tx(f.recordPurchases([]), pg.online), "GuaranteeBatchEmpty")
    batch = [(pg.buyer, GIFT_BAG, 1, 1, keccak(b"c")), (pg.buyer, GIFT_BAG, 1, 1, keccak(b"a"))]
    expect_revert(pg.abi, pg.tx(f.recordPurchases(batch), pg.online), "GuaranteePurchaseExists", purchase=purchase_id(NATIVE, keccak(b"a")))
    assert f.purchaseState(purchase_id(NATIVE, keccak(b"c"))).call() == [False, 0]


def test_register_purchase_by_anyone_with_a_signed_receipt(pg: PriceEnv) -> None:
    policy = pg.set_policy(terms(amount=50 * U))
    pg.at(pg.now() + 3_600)
    receipt_args, signature = pg.signed_receipt(pg.store, quantity=2, purchasedAt=pg.now() - 600)
    balance = pg.balance(pg.store)
    receipt = pg.send(pg.f.registerPurchase(receipt_args, signature), pg.buyer)
    assert pg.balance(pg.store) == balance  # the retailer's key pays nothing
    (event,) = pg.events(receipt, "PurchaseRecorded")
    assert purchase_of(event) == (NATIVE, STORE, policy, pg.buyer, GIFT_BAG, 2, 188 * U, receipt_args[6], receipt_args[7])
    assert event["purchase"] == purchase_id(NATIVE, receipt_args[7])
    # The same sale recorded by the till and registered by the consumer is one purchase.
    sale = (pg.buyer, GIFT_BAG, 1, 188 * U, keccak(b"both"))
    pg.send(pg.f.recordPurchase(sale), pg.store)
    receipt_args, signature = pg.signed_receipt(pg.store, receiptHash=keccak(b"both"))
    expect_revert(
        pg.abi,
        pg.tx(pg.f.registerPurchase(receipt_args, signature), pg.buyer),
        "GuaranteePurchaseExists",
        purchase=purchase_id(NATIVE, keccak(b"both")),
    )


def test_register_purchase_reverts_for_future_or_bad_sales(pg: PriceEnv) -> None:
    f = pg.f
    future = pg.now() + 1_000
    receipt_args, signature = pg.signed_receipt(pg.store, purchasedAt=future)
    args = expect_revert(
        pg.abi, pg.tx(f.registerPurchase(receipt_args, signature), pg.buyer), "GuaranteePurchaseInFuture", purchasedAt=future
    )
    assert args["now"] < future
    for overrides, error, expected in (
        ({"buyer": ZERO_ADDRESS}, "GuaranteeBuyerInvalid", {"buyer": ZERO_ADDRESS}),
        ({"quantity": 0}, "GuaranteeQuantityInvalid", {"quantity": 0}),
        ({"unitPrice": 0}, "GuaranteeAmountInvalid", {"amount": 0}),
    ):
        receipt_args, signature = pg.signed_receipt(pg.store, **overrides)
        expect_revert(pg.abi, pg.tx(f.registerPurchase(receipt_args, signature), pg.buyer), error, **expected)


def test_register_purchase_reverts_for_a_signer_not_live_on_the_channel(pg: PriceEnv) -> None:
    f = pg.f
    stranger = Account.create()
    # A stranger, the buyer, another channel's key, another retailer's key.
    for signer, address in ((stranger.key, stranger.address), (pg.online, pg.online), (pg.token_key, pg.token_key)):
        receipt_args, signature = pg.signed_receipt(signer)
        expect_revert(
            pg.abi,
            pg.tx(f.registerPurchase(receipt_args, signature), pg.buyer),
            "GuaranteeSignerInvalid",
            channel=STORE,
            signer=address,
            at=receipt_args[6],
        )
    # A malformed signature recovers no one.
    receipt_args, _ = pg.signed_receipt(pg.store)
    for bad in (b"", b"\x01" * 64, b"\x00" * 65):
        expect_revert(pg.abi, pg.tx(f.registerPurchase(receipt_args, bad), pg.buyer), "GuaranteeSignerInvalid", signer=ZERO_ADDRESS)
    # The store key before it was the store's key, and after it was replaced.
    active_from = f.channelKey(pg.store).call()[2]
    receipt_args, signature = pg.signed_receipt(pg.store, purchasedAt=active_from - 1)
    expect_revert(
        pg.abi, pg.tx(f.registerPurchase(receipt_args, signature), pg.buyer), "GuaranteeSignerInvalid", signer=pg.store, at=active_from - 1
    )
    before = pg.now()
    new = pg.new_key("store 2", fund=False)
    revoked_at = pg.block_time(pg.send(f.rotateChannelKey(STORE, new), pg.native_admin))
    receipt_args, signature = pg.signed_receipt(pg.store, purchasedAt=revoked_at)
    expect_revert(pg.abi, pg.tx(f.registerPurchase(receipt_args, signature), pg.buyer), "GuaranteeSignerInvalid", signer=pg.store)
    # ...but what it signed while live stays valid.
    receipt_args, signature = pg.signed_receipt(pg.store, purchasedAt=before)
    pg.send(f.registerPurchase(receipt_args, signature), pg.buyer)
    receipt_args, signature = pg.signed_receipt(new, purchasedAt=revoked_at)
    pg.send(f.registerPurchase(receipt_args, signature), pg.buyer)


def test_register_purchase_reverts_for_another_chain_contract_or_retailer(pg: PriceEnv) -> None:
    f = pg.f
    message = {
        "retailer": NATIVE,
        "channel": STORE,
        "buyer": pg.buyer,
        "gtin": GIFT_BAG,
        "quantity": 1,
        "unitPrice": 188 * U,
        "purchasedAt": pg.now(),
        "receiptHash": keccak(b"x"),
    }
    for domain in ({"chain_id": pg.w3.eth.chain_id + 1}, {"contract": pg.token.address}):
        signature = pg.sign(pg.store, "Receipt", message, **domain)
        args = expect_revert(
            pg.abi,
            pg.tx(f.registerPurchase(as_tuple(message, RECEIPT_FIELDS), signature), pg.buyer),
            "GuaranteeSignerInvalid",
            channel=STORE,
        )
        assert args["signer"] != pg.store
    # The store's key signing a receipt that names another retailer.
    receipt_args, signature = pg.signed_receipt(pg.store, retailer=TOKEN)
    expect_revert(
        pg.abi, pg.tx(f.registerPurchase(receipt_args, signature), pg.buyer), "GuaranteeRetailerMismatch", expected=NATIVE, given=TOKEN
    )


# --------------------------------------------------------------------------------------------
# Claims: the paper's case and the rule
# --------------------------------------------------------------------------------------------


def test_paper_case_pays_the_difference_when_it_exceeds_the_tolerance(pg: PriceEnv) -> None:
    # Tolerance 50: the buyer at 188 is paid exactly 55 when the online shop offers 133.
    purchase, valid_from = paper_case(pg, terms(amount=50 * U))
    balance, keeper = pg.balance(pg.buyer), pg.balance(pg.keeper)
    receipt = pg.claim(purchase, ONLINE, valid_from)
    assert pg.balance(pg.buyer) - balance == 55 * U
    assert pg.balance(pg.keeper) < keeper  # the keeper paid the gas and got nothing
    (event,) = pg.events(receipt, "CompensationPaid")
    assert dict(event) == {
        "purchase": purchase_id(NATIVE, purchase[8]),
        "buyer": pg.buyer,
        "retailer": NATIVE,
        "amount": 55 * U,
        "compensated": 55 * U,
        "offerChannel": ONLINE,
        "offerPrice": 133 * U,
        "offerFrom": valid_from,
        "quote": False,
    }
    assert pg.events(receipt, "CompensationOwed") == []
    assert pg.compensated(purchase) == 55 * U
    view = pg.retailer()
    assert (view["funded"], view["available"], view["paid"], view["owed"]) == (1_000 * U, 945 * U, 55 * U, 0)
    # The return value is what was paid.
    purchase2 = pg.record(pg.store, 188)
    assert pg.f.claimWithPrice(purchase2, ONLINE, valid_from).call({"from": pg.keeper}) == 55 * U


@pytest.mark.parametrize(
    ("policy_terms", "tolerance"),
    [
        (terms(amount=60 * U), 60 * U),  # a fixed tolerance of 60
        (terms(bps=3_000), 188 * U * 3_000 // 10_000),  # 30%: 56.4
        (terms(amount=55 * U), 55 * U),  # the difference must exceed the tolerance
        (terms(amount=10 * U, bps=3_000), 188 * U * 3_000 // 10_000),  # the larger of the two
    ],
)
def test_paper_case_pays_nothing_within_the_tolerance(pg: PriceEnv, policy_terms: tuple[int, ...], tolerance: int) -> None:
    purchase, valid_from = paper_case(pg, policy_terms)
    expect_revert(
        pg.abi,
        pg.tx(pg.f.claimWithPrice(purchase, ONLINE, valid_from), pg.keeper),
        "GuaranteeWithinTolerance",
        paid=188 * U,
        offered=133 * U,
        tolerance=tolerance,
    )


@pytest.mark.parametrize("policy_terms", [terms(bps=2_900), terms(amount=54 * U, bps=2_000)])  # 29% = 54.52; 54
def test_paper_case_pays_just_above_the_tolerance(pg: PriceEnv, policy_terms: tuple[int, ...]) -> None:
    purchase, valid_from = paper_case(pg, policy_terms)
    pg.claim(purchase, ONLINE, valid_from)
    assert pg.compensated(purchase) == 55 * U


def test_claim_reverts_for_an_equal_or_higher_price(pg: PriceEnv) -> None:
    pg.set_policy(terms())
    purchase = pg.record(pg.store, 188)
    for price in (188, 200):
        valid_from = pg.publish(pg.online, price * U)
        expect_revert(
            pg.abi,
            pg.tx(pg.f.claimWithPrice(purchase, ONLINE, valid_from), pg.keeper),
            "GuaranteeWithinTolerance",
            paid=188 * U,
            offered=price * U,
            tolerance=0,
        )


def test_claim_multiplies_by_quantity_up_to_the_cap(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U, max_payout=150 * U))
    pg.fund(1_000 * U)
    two = pg.record(pg.store, 188, quantity=2)
    five = pg.record(pg.store, 188, quantity=5)
    valid_from = pg.publish(pg.online, 133 * U)
    pg.claim(two, ONLINE, valid_from)
    assert pg.compensated(two) == 110 * U
    receipt = pg.claim(five, ONLINE, valid_from)
    assert pg.events(receipt, "CompensationPaid")[0]["amount"] == 150 * U  # not 275
    assert pg.compensated(five) == 150 * U
    # At the cap, a still lower price pays nothing more.
    lower = pg.publish(pg.store, 100 * U)
    args = expect_revert(pg.abi, pg.tx(pg.f.claimWithPrice(five, STORE, lower), pg.keeper), "GuaranteeAlreadyCompensated")
    assert (args["compensated"], args["total"]) == (150 * U, 150 * U)


def test_a_lower_price_later_tops_up_to_exactly_the_rule(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=30 * U))
    pg.fund(1_000 * U)
    purchase = pg.record(pg.store, 188, quantity=2)
    pid = purchase_id(NATIVE, purchase[8])
    first = pg.publish(pg.online, 150 * U)  # 38 > 30: pays 2 x 38
    balance = pg.balance(pg.buyer)
    pg.claim(purchase, ONLINE, first)
    assert pg.balance(pg.buyer) - balance == 76 * U
    second = pg.publish(pg.store, 133 * U)  # 55: the total becomes 110, 34 more
    receipt = pg.claim(purchase, STORE, second)
    assert pg.balance(pg.buyer) - balance == 110 * U
    event = pg.events(receipt, "CompensationPaid")[0]
    assert (event["amount"], event["compensated"], event["offerChannel"], event["offerPrice"]) == (34 * U, 110 * U, STORE, 133 * U)
    # The higher price again, or the same evidence again, pays nothing.
    for channel, valid_from, total in ((ONLINE, first, 76 * U), (STORE, second, 110 * U)):
        expect_revert(
            pg.abi,
            pg.tx(pg.f.claimWithPrice(purchase, channel, valid_from), pg.keeper),
            "GuaranteeAlreadyCompensated",
            purchase=pid,
            compensated=110 * U,
            total=total,
        )


def test_claim_counts_the_purchase_channel_and_any_other_of_the_retailer(pg: PriceEnv) -> None:
    pg.set_policy(terms())
    pg.fund(1_000 * U)
    purchase = pg.record(pg.store, 188)
    same_channel = pg.publish(pg.store, 180 * U)
    pg.claim(purchase, STORE, same_channel)
    assert pg.compensated(purchase) == 8 * U
    # A channel added later counts too.
    key = pg.new_key("app")
    pg.send(pg.f.addChannel(NATIVE, CHANNEL_APP, key, "Acme app"), pg.native_admin)
    app = pg.publish(key, 170 * U)
    pg.claim(purchase, 4, app)
    assert pg.compensated(purchase) == 18 * U


def test_claim_pays_the_buyer_whoever_calls(pg: PriceEnv) -> None:
    purchase, valid_from = paper_case(pg)
    balance = pg.balance(pg.buyer)
    pg.claim(purchase, ONLINE, valid_from, sender=pg.outsider)
    assert pg.balance(pg.buyer) - balance == 55 * U


# --------------------------------------------------------------------------------------------
# Claims: quotes
# --------------------------------------------------------------------------------------------


def test_claim_with_quote_pays_and_emits(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U))
    pg.fund(1_000 * U)
    purchase = pg.record(pg.store, 188)
    quote, signature = quote_args(pg)
    balance = pg.balance(pg.buyer)
    receipt = pg.send(pg.f.claimWithQuote(purchase, quote, signature), pg.keeper)
    assert pg.balance(pg.buyer) - balance == 55 * U
    (event,) = pg.events(receipt, "CompensationPaid")
    assert dict(event) == {
        "purchase": purchase_id(NATIVE, purchase[8]),
        "buyer": pg.buyer,
        "retailer": NATIVE,
        "amount": 55 * U,
        "compensated": 55 * U,
        "offerChannel": ONLINE,
        "offerPrice": 133 * U,
        "offerFrom": quote[6],
        "quote": True,
    }
    # Replayed for the same purchase: nothing more.
    expect_revert(
        pg.abi,
        pg.tx(pg.f.claimWithQuote(purchase, quote, signature), pg.keeper),
        "GuaranteeAlreadyCompensated",
        purchase=purchase_id(NATIVE, purchase[8]),
        compensated=55 * U,
        total=55 * U,
    )
    # The same quote is evidence for another purchase too.
    other = pg.record(pg.store, 188, buyer=pg.buyer2)
    pg.send(pg.f.claimWithQuote(other, quote, signature), pg.keeper)
    assert pg.compensated(other) == 55 * U


def test_claim_with_quote_refuses_a_forged_quote(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U))
    purchase = pg.record(pg.store, 188)
    stranger = Account.create()
    for signer, address in ((stranger.key, stranger.address), (pg.store, pg.store), (pg.token_key, pg.token_key)):
        quote, signature = quote_args(pg, signer)  # names the online channel
        expect_revert(
            pg.abi,
            pg.tx(pg.f.claimWithQuote(purchase, quote, signature), pg.keeper),
            "GuaranteeSignerInvalid",
            channel=ONLINE,
            signer=address,
            at=quote[6],
        )
    quote, signature = quote_args(pg)
    expect_revert(
        pg.abi, pg.tx(pg.f.claimWithQuote(purchase, quote, b"\x00" * 65), pg.keeper), "GuaranteeSignerInvalid", signer=ZERO_ADDRESS
    )
    # A signed quote whose price is changed by the claimant recovers another signer.
    lower = (*quote[:4], 1 * U, *quote[5:])
    args = expect_revert(
        pg.abi, pg.tx(pg.f.claimWithQuote(purchase, lower, signature), pg.keeper), "GuaranteeSignerInvalid", channel=ONLINE
    )
    assert args["signer"] != pg.online


def test_claim_with_quote_refuses_another_retailers_quote(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U))
    purchase = pg.record(pg.store, 188)
    f = pg.f
    # Retailer TOKEN's own quote for the same product.
    quote, signature = quote_args(pg, pg.token_key, retailer=TOKEN, channel=TOKEN_SHOP, currency=pg.token.address, price=100 * TOKEN_UNIT)
    expect_revert(
        pg.abi, pg.tx(f.claimWithQuote(purchase, quote, signature), pg.keeper), "GuaranteeRetailerMismatch", expected=NATIVE, given=TOKEN
    )
    # TOKEN's key signing a quote that claims to be NATIVE's, for its own channel.
    quote, signature = quote_args(pg, pg.token_key, channel=TOKEN_SHOP)
    expect_revert(
        pg.abi, pg.tx(f.claimWithQuote(purchase, quote, signature), pg.keeper), "GuaranteeRetailerMismatch", expected=NATIVE, given=TOKEN
    )
    # Another product, another currency.
    quote, signature = quote_args(pg, gtin=OTHER_GTIN)
    expect_revert(
        pg.abi,
        pg.tx(f.claimWithQuote(purchase, quote, signature), pg.keeper),
        "GuaranteeProductMismatch",
        expected=GIFT_BAG,
        given=OTHER_GTIN,
    )
    quote, signature = quote_args(pg, currency=pg.token.address)
    expect_revert(
        pg.abi,
        pg.tx(f.claimWithQuote(purchase, quote, signature), pg.keeper),
        "GuaranteeCurrencyMismatch",
        expected=ZERO_ADDRESS,
        given=pg.token.address,
    )
    # A published price of another retailer's channel.
    valid_from = pg.publish(pg.token_key, 100 * TOKEN_UNIT)
    expect_revert(
        pg.abi,
        pg.tx(f.claimWithPrice(purchase, TOKEN_SHOP, valid_from), pg.keeper),
        "GuaranteeRetailerMismatch",
        expected=NATIVE,
        given=TOKEN,
    )


def test_claim_with_quote_refuses_malformed_quotes(pg: PriceEnv) -> None:
    pg.set_policy(terms())
    purchase = pg.record(pg.store, 188)
    now = pg.now()
    for overrides, error, expected in (
        ({"price": 0}, "GuaranteeAmountInvalid", {"amount": 0}),
        ({"priceType": 5}, "GuaranteePriceTypeInvalid", {"priceType": 5}),
        ({"validUntil": now}, "GuaranteeValidityInvalid", {"validFrom": now, "validUntil": now}),
        ({"validUntil": now - 1}, "GuaranteeValidityInvalid", {"validFrom": now, "validUntil": now - 1}),
    ):
        quote, signature = quote_args(pg, validFrom=now, **overrides)
        expect_revert(pg.abi, pg.tx(pg.f.claimWithQuote(purchase, quote, signature), pg.keeper), error, **expected)


def test_claim_with_quote_refuses_other_chains_and_contracts(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U))
    pg.fund(1_000 * U)
    purchase = pg.record(pg.store, 188)
    message = pg.quote()
    quote = as_tuple(message, QUOTE_FIELDS)
    other = pg.deploy(PG_ARTIFACT)
    for domain in ({"chain_id": pg.w3.eth.chain_id + 1}, {"contract": other.address}):
        signature = pg.sign(pg.online, "Quote", message, **domain)
        args = expect_revert(
            pg.abi, pg.tx(pg.f.claimWithQuote(purchase, quote, signature), pg.keeper), "GuaranteeSignerInvalid", channel=ONLINE
        )
        assert args["signer"] != pg.online
    pg.send(pg.f.claimWithQuote(purchase, quote, pg.sign(pg.online, "Quote", message)), pg.keeper)


def test_claim_refuses_offers_outside_the_window(pg: PriceEnv) -> None:
    window = 10 * DAY
    pg.set_policy(terms(window=window, amount=50 * U))
    pg.fund(1_000 * U)
    ended_early = pg.publish(pg.online, 133 * U, valid_for=5 * DAY)
    pg.send(pg.f.endPrice(GIFT_BAG, ended_early), pg.online)
    ended_at = pg.f.price(ONLINE, GIFT_BAG, ended_early).call()[4]
    quote_start = pg.f.channelKey(pg.online).call()[2]  # as early as the key signs
    stale_message = pg.quote(validFrom=quote_start, validUntil=pg.now() + 1)  # ends right before the purchase
    purchase = pg.record(pg.store, 188)
    bought = purchase[7]
    assert stale_message["validUntil"] == bought
    # A quote whose offer ended before (or as) the purchase was made.
    stale = as_tuple(stale_message, QUOTE_FIELDS)
    expect_revert(
        pg.abi,
        pg.tx(pg.f.claimWithQuote(purchase, stale, pg.sign(pg.online, "Quote", stale_message)), pg.keeper),
        "GuaranteeOfferOutsideWindow",
        offeredFrom=quote_start,
        offeredUntil=bought,
        windowStart=bought,
        windowEnd=bought + window,
    )
    # A published price ended before the purchase.
    expect_revert(
        pg.abi,
        pg.tx(pg.f.claimWithPrice(purchase, ONLINE, ended_early), pg.keeper),
        "GuaranteeOfferOutsideWindow",
        offeredFrom=ended_early,
        offeredUntil=ended_at,
        windowStart=bought,
        windowEnd=bought + window,
    )
    # A quote starting after the window's end.
    late_message = pg.quote(validFrom=bought + window + 1, validUntil=bought + window + DAY)
    late = as_tuple(late_message, QUOTE_FIELDS)
    pg.at(bought + window)
    expect_revert(
        pg.abi,
        pg.tx(pg.f.claimWithQuote(purchase, late, pg.sign(pg.online, "Quote", late_message)), pg.keeper),
        "GuaranteeOfferOutsideWindow",
        offeredFrom=bought + window + 1,
        windowEnd=bought + window,
    )
    # An offer live when the purchase was made counts (it started before).
    live_message = pg.quote(validFrom=quote_start, validUntil=bought + 1)
    live = as_tuple(live_message, QUOTE_FIELDS)
    pg.send(pg.f.claimWithQuote(purchase, live, pg.sign(pg.online, "Quote", live_message)), pg.keeper)
    assert pg.compensated(purchase) == 55 * U


def test_claim_with_quote_refuses_an_offer_not_started(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U))
    purchase = pg.record(pg.store, 188)
    start = pg.now() + 3_600
    quote, signature = quote_args(pg, validFrom=start, validUntil=start + DAY)
    args = expect_revert(
        pg.abi, pg.tx(pg.f.claimWithQuote(purchase, quote, signature), pg.keeper), "GuaranteeOfferNotStarted", validFrom=start
    )
    assert args["now"] < start
    pg.fund(100 * U)
    pg.at(start)
    pg.send(pg.f.claimWithQuote(purchase, quote, signature), pg.keeper)


def test_claim_refuses_after_the_window(pg: PriceEnv) -> None:
    window = 7 * DAY
    pg.set_policy(terms(window=window, amount=50 * U))
    pg.fund(1_000 * U)
    purchase = pg.record(pg.store, 188)
    second = pg.record(pg.store, 188)
    valid_from = pg.publish(pg.online, 133 * U, valid_for=30 * DAY)
    closed_at = purchase[7] + window
    pg.at(closed_at)  # the last second of the window: accepted
    pg.claim(purchase, ONLINE, valid_from)
    pg.at(second[7] + window + 1)
    expect_revert(
        pg.abi,
        pg.tx(pg.f.claimWithPrice(second, ONLINE, valid_from), pg.keeper),
        "GuaranteeWindowClosed",
        purchase=purchase_id(NATIVE, second[8]),
        closedAt=second[7] + window,
        now=second[7] + window + 1,
    )


def test_claim_refuses_an_excluded_price_type(pg: PriceEnv) -> None:
    policy = pg.set_policy(terms(amount=50 * U, excluded=bit(PRICE_CLEARANCE, PRICE_LIMITED_QUANTITY)))
    pg.fund(1_000 * U)
    purchase = pg.record(pg.store, 188)
    for price_type in (PRICE_CLEARANCE, PRICE_LIMITED_QUANTITY):
        valid_from = pg.publish(pg.online, 100 * U, price_type)
        expect_revert(
            pg.abi,
            pg.tx(pg.f.claimWithPrice(purchase, ONLINE, valid_from), pg.keeper),
            "GuaranteePriceTypeExcluded",
            policy=policy,
            priceType=price_type,
        )
        quote, signature = quote_args(pg, price=100 * U, priceType=price_type)
        expect_revert(
            pg.abi,
            pg.tx(pg.f.claimWithQuote(purchase, quote, signature), pg.keeper),
            "GuaranteePriceTypeExcluded",
            policy=policy,
            priceType=price_type,
        )
    for price_type in (PRICE_REGULAR, PRICE_PROMOTION, PRICE_ERROR):
        assert pg.f.claimWithPrice(purchase, ONLINE, pg.publish(pg.online, 120 * U, price_type)).call({"from": pg.keeper}) == 68 * U


def test_claim_and_a_declared_price_error(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U))  # does not exclude price errors
    tolerant = pg.record(pg.store, 188, buyer=pg.buyer2)
    excluding = pg.set_policy(terms(amount=50 * U, excluded=bit(PRICE_ERROR)))
    pg.fund(1_000 * U)
    early = pg.record(pg.store, 188)
    late = pg.record(pg.store, 188)
    typo = pg.publish(pg.online, 13 * U)  # 13 for 133
    pg.claim(early, ONLINE, typo)  # paid before the declaration: stays paid
    assert pg.compensated(early) == 175 * U
    pg.send(pg.f.declarePriceError(ONLINE, GIFT_BAG, typo), pg.native_admin)
    expect_revert(
        pg.abi,
        pg.tx(pg.f.claimWithPrice(late, ONLINE, typo), pg.keeper),
        "GuaranteePriceTypeExcluded",
        policy=excluding,
        priceType=PRICE_ERROR,
    )
    assert pg.compensated(early) == 175 * U
    # Under a policy that does not exclude price errors, the declared error still counts.
    pg.claim(tolerant, ONLINE, typo)
    assert pg.compensated(tolerant) == 175 * U


def test_claim_refuses_unknown_or_altered_purchases_and_unknown_prices(pg: PriceEnv) -> None:
    purchase, valid_from = paper_case(pg)
    pid = purchase_id(NATIVE, purchase[8])
    f = pg.f
    unknown = (*purchase[:8], keccak(b"never sold"))
    expect_revert(
        pg.abi,
        pg.tx(f.claimWithPrice(unknown, ONLINE, valid_from), pg.keeper),
        "GuaranteePurchaseUnknown",
        purchase=purchase_id(NATIVE, keccak(b"never sold")),
    )
    for index, value in (
        (2, purchase[2] + 1),
        (3, pg.outsider),
        (5, 2),
        (6, 1_000 * U),
        (7, purchase[7] - 1),
        (1, ONLINE),
        (4, OTHER_GTIN),
    ):
        altered = list(purchase)
        altered[index] = value
        expect_revert(
            pg.abi, pg.tx(f.claimWithPrice(tuple(altered), ONLINE, valid_from), pg.keeper), "GuaranteePurchaseMismatch", purchase=pid
        )
    expect_revert(
        pg.abi,
        pg.tx(f.claimWithPrice(purchase, ONLINE, valid_from + 1), pg.keeper),
        "GuaranteePriceUnknown",
        channel=ONLINE,
        gtin=GIFT_BAG,
        validFrom=valid_from + 1,
    )


# --------------------------------------------------------------------------------------------
# Claims: policies and keys over time
# --------------------------------------------------------------------------------------------


def test_claim_refuses_a_purchase_without_cover(pg: PriceEnv) -> None:
    pg.fund(1_000 * U)
    uncovered = pg.record(pg.store, 188)  # no policy at all
    none_class = pg.set_policy(terms(window=0, max_payout=0), gtin=GIFT_BAG)
    pg.set_policy(terms(amount=50 * U))
    excluded_class = pg.record(pg.store, 188)  # the gift bag's class says "no guarantee"
    covered = pg.record(pg.store, 188, gtin=OTHER_GTIN)  # the default covers other products
    valid_from = pg.publish(pg.online, 133 * U)
    for purchase, policy in ((uncovered, 0), (excluded_class, none_class)):
        expect_revert(
            pg.abi,
            pg.tx(pg.f.claimWithPrice(purchase, ONLINE, valid_from), pg.keeper),
            "GuaranteeNotCovered",
            purchase=purchase_id(NATIVE, purchase[8]),
            policy=policy,
        )
    other_from = pg.publish(pg.online, 133 * U, gtin=OTHER_GTIN)
    pg.claim(covered, ONLINE, other_from)
    assert pg.compensated(covered) == 55 * U


def test_a_policy_change_applies_to_later_purchases_only(pg: PriceEnv) -> None:
    old = pg.set_policy(terms(amount=50 * U))
    pg.fund(1_000 * U)
    receipt_before, signature = pg.signed_receipt(pg.store, purchasedAt=pg.now())
    before = pg.record(pg.store, 188)
    new = pg.set_policy(terms(amount=60 * U))
    after = pg.record(pg.store, 188)
    assert (before[2], after[2]) == (old, new)
    # An older receipt registered after the change gets the policy of its time.
    event = pg.events(pg.send(pg.f.registerPurchase(receipt_before, signature), pg.buyer), "PurchaseRecorded")[0]
    registered = purchase_of(event)
    assert registered[2] == old
    valid_from = pg.publish(pg.online, 133 * U)
    pg.claim(before, ONLINE, valid_from)
    pg.claim(registered, ONLINE, valid_from)
    assert pg.compensated(before) == pg.compensated(registered) == 55 * U
    expect_revert(
        pg.abi,
        pg.tx(pg.f.claimWithPrice(after, ONLINE, valid_from), pg.keeper),
        "GuaranteeWithinTolerance",
        paid=188 * U,
        offered=133 * U,
        tolerance=60 * U,
    )


def test_key_rotation_keeps_old_quotes_valid_for_their_time(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U))
    pg.fund(1_000 * U)
    purchase = pg.record(pg.store, 188)
    old_quote, old_signature = quote_args(pg, validFrom=pg.now())  # signed while the old key is live
    new = pg.new_key("online 2", fund=False)
    rotated_at = pg.block_time(pg.send(pg.f.rotateChannelKey(ONLINE, new), pg.native_admin))
    # After revocation, the old key's quotes for later times are refused...
    late_quote, late_signature = quote_args(pg, validFrom=rotated_at, price=120 * U)
    expect_revert(
        pg.abi,
        pg.tx(pg.f.claimWithQuote(purchase, late_quote, late_signature), pg.keeper),
        "GuaranteeSignerInvalid",
        channel=ONLINE,
        signer=pg.online,
        at=rotated_at,
    )
    # ...and the new key's quotes for times before it was active too.
    early_quote, early_signature = quote_args(pg, new, validFrom=rotated_at - 1, price=120 * U)
    expect_revert(
        pg.abi,
        pg.tx(pg.f.claimWithQuote(purchase, early_quote, early_signature), pg.keeper),
        "GuaranteeSignerInvalid",
        signer=new,
        at=rotated_at - 1,
    )
    # The old key's quote of its own time is still evidence.
    pg.send(pg.f.claimWithQuote(purchase, old_quote, old_signature), pg.keeper)
    assert pg.compensated(purchase) == 55 * U
    new_quote, new_signature = quote_args(pg, new, validFrom=rotated_at, price=120 * U)
    pg.send(pg.f.claimWithQuote(purchase, new_quote, new_signature), pg.keeper)
    assert pg.compensated(purchase) == 68 * U


# --------------------------------------------------------------------------------------------
# Pool: funding, the owed queue, settlement
# --------------------------------------------------------------------------------------------


def test_fund_native_pool(pg: PriceEnv) -> None:
    f = pg.f
    receipt = pg.send(f.fund(NATIVE, 300 * U), pg.keeper, value=300 * U)
    (event,) = pg.events(receipt, "PoolFunded")
    assert dict(event) == {"retailer": NATIVE, "from": pg.keeper, "amount": 300 * U}
    assert pg.balance(pg.pg.address) == 300 * U
    view = pg.retailer()
    assert (view["funded"], view["available"], view["paid"]) == (300 * U, 300 * U, 0)
    expect_revert(pg.abi, pg.tx(f.fund(NATIVE, 0), pg.keeper), "GuaranteeAmountInvalid", amount=0)
    expect_revert(pg.abi, pg.tx(f.fund(NATIVE, 10), pg.keeper, value=9), "GuaranteeValueMismatch", expected=10, sent=9)
    expect_revert(pg.abi, pg.tx(f.fund(NATIVE, 10), pg.keeper, value=11), "GuaranteeValueMismatch", expected=10, sent=11)
    expect_revert(pg.abi, pg.tx(f.fund(NATIVE, 10), pg.keeper), "GuaranteeValueMismatch", expected=10, sent=0)
    # No other way in: a plain transfer is refused (mined, reverted).
    tx = pg.w3.eth.send_transaction({"from": pg.keeper, "to": pg.pg.address, "value": 1, "gas": 100_000})
    assert pg.w3.eth.wait_for_transaction_receipt(tx)["status"] == 0
    assert pg.balance(pg.pg.address) == 300 * U


def test_fund_erc20_pool(pg: PriceEnv) -> None:
    f, token = pg.f, pg.token.functions
    assert (token.name().call(), token.symbol().call(), token.decimals().call()) == ("Test USD", "tUSD", 6)
    amount = 500 * TOKEN_UNIT
    pg.send(token.mint(pg.keeper, amount), pg.outsider)  # minting is open to anyone
    # Without an allowance the token's own error comes through.
    expect_revert(
        pg.abi, pg.tx(f.fund(TOKEN, amount), pg.keeper), "ERC20InsufficientAllowance", spender=pg.pg.address, allowance=0, needed=amount
    )
    pg.send(token.approve(pg.pg.address, amount), pg.keeper)
    expect_revert(pg.abi, pg.tx(f.fund(TOKEN, amount), pg.keeper, value=1), "GuaranteeValueMismatch", expected=0, sent=1)
    receipt = pg.send(f.fund(TOKEN, amount), pg.keeper)
    assert dict(pg.events(receipt, "PoolFunded")[0]) == {"retailer": TOKEN, "from": pg.keeper, "amount": amount}
    assert token.balanceOf(pg.pg.address).call() == amount
    assert token.balanceOf(pg.keeper).call() == 0
    assert pg.retailer(TOKEN)["available"] == amount


def test_erc20_pool_pays_claims_in_tokens(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * TOKEN_UNIT), retailer=TOKEN)
    pg.fund(1_000 * TOKEN_UNIT, retailer=TOKEN)
    purchase = pg.record(pg.token_key, 188, retailer=TOKEN)
    valid_from = pg.publish(pg.token_key, 133 * TOKEN_UNIT)
    eth = pg.balance(pg.buyer)
    pg.claim(purchase, TOKEN_SHOP, valid_from)
    assert pg.token.functions.balanceOf(pg.buyer).call() == 55 * TOKEN_UNIT
    assert pg.balance(pg.buyer) == eth
    quote_message = pg.quote(retailer=TOKEN, channel=TOKEN_SHOP, currency=pg.token.address, price=100 * TOKEN_UNIT, validFrom=pg.now())
    signature = pg.sign(pg.token_key, "Quote", quote_message)
    pg.send(pg.f.claimWithQuote(purchase, as_tuple(quote_message, QUOTE_FIELDS), signature), pg.keeper)
    assert pg.token.functions.balanceOf(pg.buyer).call() == 88 * TOKEN_UNIT
    view = pg.retailer(TOKEN)
    assert (view["paid"], view["available"]) == (88 * TOKEN_UNIT, 912 * TOKEN_UNIT)


def owed(pg: PriceEnv, retailer: int = NATIVE) -> list[tuple[Any, ...]]:
    view = pg.retailer(retailer)
    return [tuple(e) for e in pg.f.owedEntries(retailer, view["queueHead"], view["queueTail"] - view["queueHead"]).call()]


def test_pool_short_queues_what_is_owed_and_refills_pay_it_fifo(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U))
    pg.fund(30 * U)
    a = pg.record(pg.store, 188, buyer=pg.buyer)
    b = pg.record(pg.store, 188, buyer=pg.buyer2)
    valid_from = pg.publish(pg.online, 133 * U)
    balance_a, balance_b = pg.balance(pg.buyer), pg.balance(pg.buyer2)
    # A: 30 paid now, 25 owed at position 0.
    receipt = pg.claim(a, ONLINE, valid_from)
    assert pg.events(receipt, "CompensationPaid")[0]["amount"] == 30 * U
    (event,) = pg.events(receipt, "CompensationOwed")
    pid_a, pid_b = purchase_id(NATIVE, a[8]), purchase_id(NATIVE, b[8])
    assert dict(event) == {"purchase": pid_a, "buyer": pg.buyer, "retailer": NATIVE, "amount": 25 * U, "position": 0}
    assert pg.compensated(a) == 55 * U  # recognised in full, part of it owed
    # B: nothing paid (the pool is empty), 55 owed at position 1.
    receipt = pg.claim(b, ONLINE, valid_from)
    event = pg.events(receipt, "CompensationPaid")[0]
    assert (event["amount"], event["compensated"]) == (0, 55 * U)
    assert pg.events(receipt, "CompensationOwed")[0]["position"] == 1
    assert owed(pg) == [(pid_a, pg.buyer, 25 * U), (pid_b, pg.buyer2, 55 * U)]
    view = pg.retailer()
    assert (view["owed"], view["available"], view["queueHead"], view["queueTail"]) == (80 * U, 0, 0, 2)
    # A refill of 40 pays A in full and B in part; B stays at the head.
    receipt = pg.fund(40 * U)
    paid = [dict(e) for e in pg.events(receipt, "OwedPaid")]
    assert paid == [
        {"purchase": pid_a, "buyer": pg.buyer, "retailer": NATIVE, "amount": 25 * U, "position": 0, "remaining": 0},
        {"purchase": pid_b, "buyer": pg.buyer2, "retailer": NATIVE, "amount": 15 * U, "position": 1, "remaining": 40 * U},
    ]
    assert pg.balance(pg.buyer) - balance_a == 55 * U
    assert pg.balance(pg.buyer2) - balance_b == 15 * U
    assert owed(pg) == [(pid_b, pg.buyer2, 40 * U)]
    assert pg.f.owedEntries(NATIVE, 0, 5).call() == [(ZERO32, ZERO_ADDRESS, 0), (pid_b, pg.buyer2, 40 * U)]
    view = pg.retailer()
    assert (view["owed"], view["available"], view["queueHead"], view["queueTail"], view["paid"]) == (40 * U, 0, 1, 2, 70 * U)
    # A claim while entries wait is queued behind them, even if the pool has funds.
    c = pg.record(pg.store, 188)
    pg.fund(100 * U)  # pays B's 40; 60 left
    assert owed(pg) == []
    assert pg.balance(pg.buyer2) - balance_b == 55 * U
    assert pg.retailer()["available"] == 60 * U
    pg.claim(c, ONLINE, valid_from)
    assert pg.retailer()["available"] == 5 * U


def test_claims_queue_behind_waiting_entries_even_with_funds(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U))
    purchases = [pg.record(pg.store, 188) for _ in range(19)]
    valid_from = pg.publish(pg.online, 133 * U)
    for p in purchases[:18]:
        pg.claim(p, ONLINE, valid_from)  # all owed in full
    pg.fund(18 * 55 * U + 100 * U)  # settles 16 entries only: funds remain while 2 wait
    view = pg.retailer()
    assert (view["available"], view["owed"], view["queueHead"], view["queueTail"]) == (210 * U, 110 * U, 16, 18)
    receipt = pg.claim(purchases[18], ONLINE, valid_from)
    assert pg.events(receipt, "CompensationPaid")[0]["amount"] == 0
    assert dict(pg.events(receipt, "CompensationOwed")[0])["position"] == 18
    assert pg.retailer()["available"] == 210 * U
    receipt = pg.send(pg.f.settle(NATIVE, 10), pg.keeper)
    assert [e["position"] for e in pg.events(receipt, "OwedPaid")] == [16, 17, 18]
    view = pg.retailer()
    assert (view["available"], view["owed"], view["queueHead"], view["paid"]) == (45 * U, 0, 19, 19 * 55 * U)


def test_settle_pays_up_to_max_entries(pg: PriceEnv) -> None:
    f = pg.f
    pg.set_policy(terms(amount=50 * U))
    purchases = [pg.record(pg.store, 188, buyer=pg.buyer if i % 2 else pg.buyer2) for i in range(20)]
    valid_from = pg.publish(pg.online, 133 * U)
    for p in purchases:
        pg.claim(p, ONLINE, valid_from)
    assert pg.retailer()["owed"] == 20 * 55 * U
    receipt = pg.fund(20 * 55 * U)  # fund settles the first 16 only
    assert len(pg.events(receipt, "OwedPaid")) == 16
    assert pg.retailer()["queueHead"] == 16
    assert f.settle(NATIVE, 0).call({"from": pg.keeper}) == 0
    assert f.settle(NATIVE, 3).call({"from": pg.keeper}) == 3
    receipt = pg.send(f.settle(NATIVE, 3), pg.outsider)  # anyone
    assert [e["position"] for e in pg.events(receipt, "OwedPaid")] == [16, 17, 18]
    assert f.settle(NATIVE, 100).call({"from": pg.keeper}) == 1
    pg.send(f.settle(NATIVE, 100), pg.keeper)
    view = pg.retailer()
    assert (view["owed"], view["available"], view["queueHead"], view["queueTail"], view["paid"]) == (0, 0, 20, 20, 20 * 55 * U)
    assert f.settle(NATIVE, 100).call({"from": pg.keeper}) == 0  # nothing to do
    # Paging the queue: past the tail is empty, settled positions read as zeros.
    assert f.owedEntries(NATIVE, 20, 5).call() == []
    assert f.owedEntries(NATIVE, 18, 5).call() == [(ZERO32, ZERO_ADDRESS, 0)] * 2
    assert f.owedEntries(NATIVE, 2**64 - 1, 2**64 - 1).call() == []


# --------------------------------------------------------------------------------------------
# Withdrawals
# --------------------------------------------------------------------------------------------


def test_withdrawal_waits_the_longest_window(pg: PriceEnv) -> None:
    f = pg.f
    pg.set_policy(terms(window=30 * DAY))
    pg.set_policy(terms(window=7 * DAY))  # maxWindow stays 30 days
    pg.fund(500 * U)
    to = pg.outsider
    receipt = pg.send(f.announceWithdrawal(NATIVE, 200 * U, to), pg.native_admin)
    executable_at = pg.block_time(receipt) + 30 * DAY
    (event,) = pg.events(receipt, "WithdrawalAnnounced")
    assert dict(event) == {"retailer": NATIVE, "amount": 200 * U, "to": to, "executableAt": executable_at}
    view = pg.retailer()
    assert (view["withdrawalAmount"], view["withdrawalTo"], view["withdrawalAt"]) == (200 * U, to, executable_at)
    expect_revert(pg.abi, pg.tx(f.announceWithdrawal(NATIVE, 1, to), pg.native_admin), "GuaranteeWithdrawalPending", retailer=NATIVE)
    # Before the delay: refused, with when it becomes possible.
    pg.at(executable_at - 1)
    expect_revert(
        pg.abi,
        pg.tx(f.executeWithdrawal(NATIVE), pg.native_admin),
        "GuaranteeWithdrawalTooEarly",
        retailer=NATIVE,
        executableAt=executable_at,
        now=executable_at - 1,
    )
    pg.at(executable_at)
    balance = pg.balance(to)
    receipt = pg.send(f.executeWithdrawal(NATIVE), pg.native_admin)
    assert dict(pg.events(receipt, "WithdrawalExecuted")[0]) == {"retailer": NATIVE, "to": to, "amount": 200 * U}
    assert pg.balance(to) - balance == 200 * U
    view = pg.retailer()
    assert (view["available"], view["funded"], view["paid"], view["withdrawalAt"], view["withdrawalAmount"]) == (300 * U, 500 * U, 0, 0, 0)
    expect_revert(pg.abi, pg.tx(f.executeWithdrawal(NATIVE), pg.native_admin), "GuaranteeNoWithdrawal", retailer=NATIVE)


def test_withdrawal_sends_at_most_what_is_available(pg: PriceEnv) -> None:
    f = pg.f
    pg.fund(100 * U)  # no policy ever: no delay
    pg.send(f.announceWithdrawal(NATIVE, 2**256 - 1, pg.native_admin), pg.native_admin)
    assert pg.retailer()["withdrawalAmount"] == 2**128 - 1
    balance = pg.balance(pg.native_admin)
    receipt = pg.send(f.executeWithdrawal(NATIVE), pg.native_admin, gas=200_000)
    assert pg.events(receipt, "WithdrawalExecuted")[0]["amount"] == 100 * U
    assert pg.balance(pg.native_admin) - balance == 100 * U - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    # An empty pool withdraws nothing, and says so.
    pg.send(f.announceWithdrawal(NATIVE, 5, pg.native_admin), pg.native_admin)
    receipt = pg.send(f.executeWithdrawal(NATIVE), pg.native_admin)
    assert pg.events(receipt, "WithdrawalExecuted")[0]["amount"] == 0
    expect_revert(pg.abi, pg.tx(f.announceWithdrawal(NATIVE, 0, pg.native_admin), pg.native_admin), "GuaranteeAmountInvalid", amount=0)


def test_withdrawal_cancelled(pg: PriceEnv) -> None:
    f = pg.f
    expect_revert(pg.abi, pg.tx(f.cancelWithdrawal(NATIVE), pg.native_admin), "GuaranteeNoWithdrawal", retailer=NATIVE)
    pg.send(f.announceWithdrawal(NATIVE, 10, pg.native_admin), pg.native_admin)
    receipt = pg.send(f.cancelWithdrawal(NATIVE), pg.native_admin)
    assert dict(pg.events(receipt, "WithdrawalCancelled")[0]) == {"retailer": NATIVE}
    assert pg.retailer()["withdrawalAt"] == 0
    expect_revert(pg.abi, pg.tx(f.executeWithdrawal(NATIVE), pg.native_admin), "GuaranteeNoWithdrawal", retailer=NATIVE)
    pg.send(f.announceWithdrawal(NATIVE, 10, pg.native_admin), pg.native_admin)  # a new one may follow


def test_withdrawal_of_an_erc20_pool_and_a_failing_recipient(pg: PriceEnv) -> None:
    f = pg.f
    pg.set_policy(terms(window=DAY), retailer=TOKEN)
    pg.fund(50 * TOKEN_UNIT, retailer=TOKEN)
    pg.send(f.announceWithdrawal(TOKEN, 20 * TOKEN_UNIT, pg.token_admin), pg.token_admin)
    pg.at(pg.now() + DAY)
    pg.send(f.executeWithdrawal(TOKEN), pg.token_admin)
    assert pg.token.functions.balanceOf(pg.token_admin).call() == 20 * TOKEN_UNIT
    assert pg.retailer(TOKEN)["available"] == 30 * TOKEN_UNIT
    # A recipient that refuses native coin: the execution reverts and the withdrawal stays.
    rejecting = pg.deploy(REJECTING_ARTIFACT, pg.pg.address)
    pg.fund(10 * U)
    pg.send(f.announceWithdrawal(NATIVE, 10 * U, rejecting.address), pg.native_admin)
    expect_revert(
        pg.abi, pg.tx(f.executeWithdrawal(NATIVE), pg.native_admin), "GuaranteeTransferFailed", to=rejecting.address, amount=10 * U
    )
    assert pg.retailer()["withdrawalAmount"] == 10 * U


def test_withdrawal_leaves_time_to_claim_every_earlier_purchase(pg: PriceEnv) -> None:
    window = 10 * DAY
    pg.set_policy(terms(window=window, amount=50 * U))
    pg.fund(100 * U)
    purchase = pg.record(pg.store, 188)
    executable_at = pg.block_time(pg.send(pg.f.announceWithdrawal(NATIVE, 100 * U, pg.native_admin), pg.native_admin)) + window
    # The latest claim possible (at the window's last second) comes before the execution.
    pg.at(purchase[7] + window - 1)
    valid_from = pg.publish(pg.online, 133 * U)
    receipt = pg.claim(purchase, ONLINE, valid_from)
    assert pg.block_time(receipt) == purchase[7] + window < executable_at
    pg.at(executable_at)
    receipt = pg.send(pg.f.executeWithdrawal(NATIVE), pg.native_admin)
    assert pg.events(receipt, "WithdrawalExecuted")[0]["amount"] == 45 * U


# --------------------------------------------------------------------------------------------
# Payments that fail, and re-entry
# --------------------------------------------------------------------------------------------


def test_rejecting_buyer_gets_a_credit_and_withdraws_it(pg: PriceEnv) -> None:
    rejecting = pg.deploy(REJECTING_ARTIFACT, pg.pg.address)
    buyer = rejecting.address
    pg.set_policy(terms(amount=50 * U))
    pg.fund(1_000 * U)
    purchase = pg.record(pg.store, 188, buyer=buyer)
    valid_from = pg.publish(pg.online, 133 * U)
    receipt = pg.claim(purchase, ONLINE, valid_from)
    assert pg.events(receipt, "CompensationPaid")[0]["amount"] == 55 * U
    assert dict(pg.events(receipt, "CreditAdded")[0]) == {"buyer": buyer, "currency": ZERO_ADDRESS, "amount": 55 * U}
    assert pg.f.credit(buyer, ZERO_ADDRESS).call() == 55 * U
    assert pg.balance(buyer) == 0
    view = pg.retailer()
    assert (view["paid"], view["available"]) == (55 * U, 945 * U)  # out of the pool: the buyer's now
    # While it still refuses, withdrawing fails and the credit stays.
    expect_revert(
        pg.abi + REJECTING_ARTIFACT["abi"],
        pg.tx(rejecting.functions.withdrawCredit(ZERO_ADDRESS), pg.outsider),
        "GuaranteeTransferFailed",
        to=buyer,
        amount=55 * U,
    )
    assert pg.f.credit(buyer, ZERO_ADDRESS).call() == 55 * U
    pg.send(rejecting.functions.setAccepting(True), pg.outsider)
    receipt = pg.send(rejecting.functions.withdrawCredit(ZERO_ADDRESS), pg.outsider)
    assert dict(pg.events(receipt, "CreditWithdrawn")[0]) == {"buyer": buyer, "currency": ZERO_ADDRESS, "amount": 55 * U}
    assert pg.balance(buyer) == 55 * U
    assert pg.f.credit(buyer, ZERO_ADDRESS).call() == 0
    expect_revert(
        pg.abi + REJECTING_ARTIFACT["abi"],
        pg.tx(rejecting.functions.withdrawCredit(ZERO_ADDRESS), pg.outsider),
        "GuaranteeNothingToWithdraw",
        account=buyer,
        currency=ZERO_ADDRESS,
    )
    expect_revert(
        pg.abi,
        pg.tx(pg.f.withdrawCredit(pg.token.address), pg.buyer),
        "GuaranteeNothingToWithdraw",
        account=pg.buyer,
        currency=pg.token.address,
    )


def test_settlement_to_a_rejecting_buyer_credits_it(pg: PriceEnv) -> None:
    rejecting = pg.deploy(REJECTING_ARTIFACT, pg.pg.address)
    pg.set_policy(terms(amount=50 * U))
    a = pg.record(pg.store, 188, buyer=rejecting.address)
    b = pg.record(pg.store, 188)
    valid_from = pg.publish(pg.online, 133 * U)
    pg.claim(a, ONLINE, valid_from)
    pg.claim(b, ONLINE, valid_from)
    balance = pg.balance(pg.buyer)
    receipt = pg.fund(110 * U)
    assert [dict(e) for e in pg.events(receipt, "CreditAdded")] == [
        {"buyer": rejecting.address, "currency": ZERO_ADDRESS, "amount": 55 * U}
    ]
    assert pg.balance(pg.buyer) - balance == 55 * U  # the next buyer in line is paid all the same
    assert pg.f.credit(rejecting.address, ZERO_ADDRESS).call() == 55 * U


def test_reentrant_buyer_cannot_reenter_a_claim(pg: PriceEnv) -> None:
    attacker = pg.deploy(REENTRANT_ARTIFACT, pg.pg.address)
    pg.set_policy(terms(amount=10 * U))
    pg.fund(1_000 * U)
    purchase = pg.record(pg.store, 188, buyer=attacker.address)
    higher = pg.publish(pg.online, 150 * U)  # 38
    lower = pg.publish(pg.store, 133 * U)  # 55
    # When paid for the higher price, it tries to claim the lower one from inside the payment.
    payload = bytes.fromhex(pg.pg.encode_abi("claimWithPrice", [purchase, STORE, lower])[2:])
    pg.send(attacker.functions.arm(payload), pg.outsider)
    receipt = pg.claim(purchase, ONLINE, higher)
    a = attacker.functions
    assert (a.attempted().call(), a.reentered().call()) == (True, False)
    assert a.reason().call() == function_signature_to_4byte_selector("ReentrancyGuardReentrantCall()")
    assert pg.events(receipt, "CreditAdded") == []  # the payment itself went through
    assert pg.balance(attacker.address) == 38 * U
    assert pg.compensated(purchase) == 38 * U
    # Outside a payment, the lower price tops it up to the rule, once.
    pg.claim(purchase, STORE, lower)
    assert pg.balance(attacker.address) == 55 * U


def test_reentrant_buyer_cannot_reenter_a_credit_withdrawal(pg: PriceEnv) -> None:
    attacker = pg.deploy(REENTRANT_ARTIFACT, pg.pg.address)
    a = attacker.functions
    pg.set_policy(terms(amount=50 * U))
    pg.fund(1_000 * U)
    purchase = pg.record(pg.store, 188, buyer=attacker.address)
    pg.send(a.setRejecting(True), pg.outsider)
    pg.claim(purchase, ONLINE, pg.publish(pg.online, 133 * U))
    assert pg.f.credit(attacker.address, ZERO_ADDRESS).call() == 55 * U
    pg.send(a.setRejecting(False), pg.outsider)
    pg.send(a.arm(bytes.fromhex(pg.pg.encode_abi("withdrawCredit", [ZERO_ADDRESS])[2:])), pg.outsider)
    receipt = pg.send(a.withdrawCredit(ZERO_ADDRESS), pg.outsider)
    assert (a.attempted().call(), a.reentered().call()) == (True, False)
    assert a.reason().call() == function_signature_to_4byte_selector("ReentrancyGuardReentrantCall()")
    assert [e["amount"] for e in pg.events(receipt, "CreditWithdrawn")] == [55 * U]
    assert pg.balance(attacker.address) == 55 * U
    assert pg.balance(pg.pg.address) == 945 * U


def test_a_keeper_cannot_starve_a_payment_into_a_credit(pg: PriceEnv) -> None:
    # A smart-wallet buyer that needs ~40,000 gas to accept: a claim sent with too little gas
    # fails (the starved call leaves too little gas for the credit), it does not credit the
    # buyer; the first gas limit that works, and the gas estimate, pay it.
    attacker = pg.deploy(REENTRANT_ARTIFACT, pg.pg.address)
    purchase, valid_from = paper_case(pg)
    purchase = pg.record(pg.store, 188, buyer=attacker.address)
    payload = bytes.fromhex(pg.pg.encode_abi("withdrawCredit", [ZERO_ADDRESS])[2:] + "00" * 300)
    pg.send(attacker.functions.arm(payload), pg.outsider)
    fn = pg.f.claimWithPrice(purchase, ONLINE, valid_from)
    estimate = fn.estimate_gas({"from": pg.keeper})
    refused = 0
    for gas in range(estimate - 30_000, estimate + 1, 250):
        receipt = pg.w3.eth.wait_for_transaction_receipt(fn.transact({"from": pg.keeper, "gas": gas}))
        if receipt["status"] == 1:
            break
        refused += 1
    # Every gas limit below the first that works was refused; the first that works pays.
    assert refused > 0 and receipt["status"] == 1
    assert pg.events(receipt, "CreditAdded") == []
    assert pg.f.credit(attacker.address, ZERO_ADDRESS).call() == 0
    assert pg.balance(attacker.address) == 55 * U


# --------------------------------------------------------------------------------------------
# Gas targets (receipt gasUsed, 21,000 included)
# --------------------------------------------------------------------------------------------


def test_gas_meets_targets(pg: PriceEnv) -> None:
    pg.set_policy(terms(amount=50 * U))
    pg.fund(1_000 * U)
    pg.publish(pg.online, 150 * U)  # the key has published before
    until = pg.now() + 30 * DAY
    change = pg.send(pg.pg.functions.publishPrice(GIFT_BAG, 133 * U, PRICE_PROMOTION, until), pg.online)
    sale = (pg.buyer, GIFT_BAG, 1, 188 * U, keccak(b"till 7 / receipt 000001"))
    record = pg.send(pg.f.recordPurchase(sale), pg.store)
    purchase = purchase_of(pg.events(record, "PurchaseRecorded")[0])
    assert pg.balance(pg.buyer) > 0  # an existing account
    claim = pg.claim(purchase, ONLINE, pg.block_time(change))
    assert pg.events(claim, "CompensationPaid")[0]["amount"] == 55 * U
    assert change["gasUsed"] <= 50_000, change["gasUsed"]  # publishPrice, a price change
    assert record["gasUsed"] <= 60_000, record["gasUsed"]  # recordPurchase
    assert claim["gasUsed"] <= 80_000, claim["gasUsed"]  # claimWithPrice, native coin
