"""The access-control matrix (tests/security/access_matrix.py) against the ABIs and the chain.

The matrix must name every state-changing function (nonpayable or payable) of every deployable's
ABI in src/o2ochain/abi/, and nothing else. Each entry is then exercised on the contract tests'
eth-tester chain: the outsider calls the function with arguments that would otherwise be
plausible (the brand, product, lot, channel, review or campaign exist; the rightful caller could
make the same call), and the outcome must be the one in the matrix, custom error and arguments
included. A signature-authorised call is also sent with a signature the outsider made and with
an empty one, and must be refused as the matrix says.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract

from tests.contracts.conftest import (
    ABI_DIR,
    DEFAULT_ADMIN_ROLE,
    EXPIRY,
    GTIN,
    URI,
    ConsentEnv,
    Env,
    MerkleTree,
    TraceEnv,
    brand_role,
    code,
    expect_revert,
    gtin_check_digit,
    item_id,
    lot_id,
    merkle_leaf,
)
from tests.contracts.conftest_loop import (
    CHANNEL_STORE,
    DAY,
    GAS,
    NATIVE,
    NATIVE_UNIT,
    PAYOUT_DELAY,
    QUOTE_FIELDS,
    URI_60,
    WITHDRAWAL_DELAY,
    ZERO_ADDRESS,
    LoopEnv,
    admin_role,
    as_tuple,
    content_hash,
    loop_session,
    receipt_hash,
    terms,
    voucher_tuple,
)
from tests.contracts.test_product_registry import sign_claim

from .access_matrix import MATRIX, Access, Allowed, Kind, Ref, Refused

STATE_CHANGING = ("nonpayable", "payable")
SUBJECT_PRODUCT, REPORT_SPAM = 1, 1
BINDING_ITEM, GROWER = 1, 1
DELIVERY, CONTACT = 1, 0  # the purpose and category bits the consumer consented to
TOKEN_AMOUNT = 1_000_000  # 1 tUSD


# ------------------------------------------------------------------------------------------------
# The table against the ABIs
# ------------------------------------------------------------------------------------------------


def deployable_abis() -> dict[str, list[dict[str, Any]]]:
    """The ABI of every deployable the package ships (Errors.json is errors only)."""
    return {
        path.stem: json.loads(path.read_text())["abi"] for path in sorted(ABI_DIR.glob("*.json")) if path.stem != "Errors"
    }


def state_changing(abi: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in abi if e["type"] == "function" and e.get("stateMutability") in STATE_CHANGING]


def test_matrix_names_every_state_changing_function_and_nothing_else() -> None:
    abis = deployable_abis()
    problems = []
    for contract in sorted(set(abis) | set(MATRIX)):
        if contract not in abis:
            problems.append(f"{contract}: in the matrix but no ABI src/o2ochain/abi/{contract}.json")
            continue
        names = state_changing(abis[contract])
        overloaded = sorted({n for n in names if names.count(n) > 1})
        if overloaded:
            problems.append(f"{contract}: overloaded {overloaded}: key the matrix by signature")
        table = MATRIX.get(contract, {})
        problems += [f"{contract}.{n}: in the ABI, missing from the matrix" for n in sorted(set(names) - set(table))]
        problems += [f"{contract}.{n}: in the matrix, not in the ABI (removed or renamed?)" for n in sorted(set(table) - set(names))]
    assert not problems, "access matrix out of date with the ABIs:\n  " + "\n  ".join(problems)


def test_matrix_entries_are_consistent() -> None:
    for contract, table in MATRIX.items():
        for name, access in table.items():
            where = f"{contract}.{name}"
            assert len(access.rule) >= 10, f"{where}: say who may call it, or why anyone may"
            if access.kind is Kind.RESTRICTED:
                assert isinstance(access.outsider, Refused), f"{where}: a restricted function refuses the outsider"
            if access.kind is Kind.SIGNED:
                assert access.signature is not None, f"{where}: a signed function lists its signature refusals"
            if access.kind is Kind.OPEN:
                assert access.signature is None, f"{where}: an open function carries no credential"
            assert (contract, name) in BUILDERS, f"{where}: no call in test_access_matrix.py exercises it"
    assert set(BUILDERS) <= {(c, n) for c, t in MATRIX.items() for n in t}, "a call is built for a function the matrix lacks"


# ------------------------------------------------------------------------------------------------
# The world: every deployable on the session chain
# ------------------------------------------------------------------------------------------------


@dataclass
class World:
    env: Env
    trace: TraceEnv
    consent: ConsentEnv
    loop: LoopEnv

    @property
    def outsider(self) -> str:
        return self.env.actors.outsider

    @property
    def outsider_key(self) -> bytes:
        return self.env.actors.keys[to_checksum_address(self.outsider)]

    def contract(self, name: str) -> Contract:
        contracts = {
            "ProductRegistry": self.env.registry,
            "TraceLedger": self.trace.ledger,
            "ConsentRegistry": self.consent.registry,
            "PriceGuarantee": self.loop.p.pg,
            "ReviewBoard": self.loop.board,
            "CouponBook": self.loop.book,
            "Forwarder": self.loop.forwarder,
            "TestStablecoin": self.loop.p.token,
        }
        return contracts[name]

    def refs(self) -> dict[str, Any]:
        return {
            "outsider": self.outsider,
            "zero address": ZERO_ADDRESS,
            "DEFAULT_ADMIN_ROLE": DEFAULT_ADMIN_ROLE,
            "brand-admin role of brand 1": brand_role("brand-admin", 1),
            "registrant role of brand 1": brand_role("registrant", 1),
            "seller role of brand 1": brand_role("seller", 1),
            "admin role of retailer 1": admin_role(NATIVE),
            "consumer": self.consent.consumer,
            "buyer": self.loop.buyer,
            "voter": self.loop.buyer2,
        }

    def send(self, fn: Any, sender: str, value: int = 0) -> Any:
        receipt = self.env.w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "value": value, "gas": GAS}))
        assert receipt["status"] == 1
        return receipt

    def now(self) -> int:
        return self.env.now()


@pytest.fixture(scope="session")
def _loop(_session_env: Env) -> LoopEnv:
    return loop_session(_session_env)


@pytest.fixture
def world(env: Env, _trace_session: TraceEnv, _consent_session: ConsentEnv, _loop: LoopEnv) -> Iterator[World]:
    """Every deployable on the session chain, reverted after the test (through ``env``'s snapshot)."""
    yield World(env, _trace_session, _consent_session, _loop)


# ------------------------------------------------------------------------------------------------
# The calls: one plausible call per function, built on the world
# ------------------------------------------------------------------------------------------------


@dataclass
class Attempt:
    """The outsider's call of one function, and what the setup made that the matrix refers to.

    ``rightful`` is an account the function's access rule admits: for a restricted function, the
    very same call from it must go through, which shows that the access check, not the
    arguments, is what refuses the outsider. For a function with a credential, ``forged`` and
    ``absent`` are the same call with a signature (or proof) the outsider made and with an empty
    one, sent by ``credential_sender`` (the outsider, or the party otherwise allowed to call).
    ``check`` verifies what an allowed call did (and did not do).
    """

    fn: Any
    sender: str
    rightful: str | None = None
    value: int = 0
    refs: dict[str, Any] = field(default_factory=dict)
    forged: Any = None
    absent: Any = None
    credential_sender: str | None = None
    check: Callable[[], None] | None = None


Builder = Callable[[World, str], Attempt]
BUILDERS: dict[tuple[str, str], Builder] = {}


def builds(contract: str, *names: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        for name in names:
            BUILDERS[(contract, name)] = builder
        return builder

    return register


def fresh_address(label: str) -> str:
    return str(Account.from_key(keccak(f"o2ochain access matrix: {label}".encode())).address)


# -- ProductRegistry ------------------------------------------------------------------------------

NEW_GTIN = int("0950600013438" + str(gtin_check_digit("0950600013438")))  # of brand 1, not registered yet
LOT = "L-ACCESS"


def _registered_item(w: World, serial: str = "S-ACCESS-1") -> bytes:
    w.env.register(GTIN, LOT, [serial])
    return item_id(GTIN, serial)


@builds("ProductRegistry", "registerBrand", "assignCompanyPrefix", "registerProduct", "registerItems", "commitLot", "openLine")
def _brand_and_items(w: World, function: str) -> Attempt:
    f = w.env.registry.functions
    calls = {
        "registerBrand": f.registerBrand(w.outsider, "Outsider Foods", ["9506002"]),
        "assignCompanyPrefix": f.assignCompanyPrefix(1, "9506003"),
        "registerProduct": f.registerProduct(1, NEW_GTIN, URI),
        "registerItems": f.registerItems([(GTIN, code(LOT), EXPIRY, [code("S-ACCESS-1")])]),
        "commitLot": f.commitLot(GTIN, code(LOT), EXPIRY, keccak(b"a root"), 10, URI),
        "openLine": f.openLine(GTIN, code(LOT), EXPIRY, URI),
    }
    rightful = w.env.actors.admin if function in ("registerBrand", "assignCompanyPrefix") else w.env.actors.registrant
    return Attempt(calls[function], w.outsider, rightful)


@builds("ProductRegistry", "registerItem", "commitLineRoot", "closeLine")
def _line(w: World, function: str) -> Attempt:
    f = w.env.registry.functions
    w.send(f.openLine(GTIN, code(LOT), EXPIRY, URI), w.env.actors.registrant)  # the registrant's line is open
    calls = {
        "registerItem": f.registerItem(code("S-ACCESS-1")),
        "commitLineRoot": f.commitLineRoot(lot_id(GTIN, LOT), keccak(b"a root"), 10),
        "closeLine": f.closeLine(),
    }
    return Attempt(calls[function], w.outsider, w.env.actors.registrant)


@builds("ProductRegistry", "proveItem")
def _prove(w: World, function: str) -> Attempt:
    lot = lot_id(GTIN, "M-ACCESS")
    serials = [f"M{i}" for i in range(4)]
    tree = MerkleTree([merkle_leaf(item_id(GTIN, s), lot) for s in serials])
    f = w.env.registry.functions
    w.send(f.commitLot(GTIN, code("M-ACCESS"), EXPIRY, tree.root, len(serials), URI), w.env.actors.registrant)
    item = item_id(GTIN, serials[0])
    # Forged: the genuine proof of another item of the lot.
    other = tree.proof(merkle_leaf(item_id(GTIN, serials[1]), lot))

    def prove(proof: list[bytes]) -> Any:
        return f.proveItem((GTIN, code(serials[0]), code("M-ACCESS"), tree.root, proof))

    return Attempt(prove(other), w.outsider, refs={"item": item, "root": tree.root}, forged=prove(other), absent=prove([]))


@builds("ProductRegistry", "claimWithSignature")
def _claim_with_signature(w: World, function: str) -> Attempt:
    item = _registered_item(w)
    deadline = w.now() + DAY
    f = w.env.registry.functions
    forged = f.claimWithSignature(item, w.outsider, deadline, sign_claim(w.env, w.outsider, item, w.outsider, deadline))
    return Attempt(forged, w.outsider, forged=forged, absent=f.claimWithSignature(item, w.outsider, deadline, b""))


@builds("ProductRegistry", "claim", "recallItem", "decommission")
def _item_calls(w: World, function: str) -> Attempt:
    item = _registered_item(w)
    f = w.env.registry.functions
    calls = {
        "claim": f.claim(item, w.outsider),
        "recallItem": f.recallItem(item, 1, keccak(b"recall notice")),
        "decommission": f.decommission(item, 1),
    }
    return Attempt(calls[function], w.outsider, w.env.actors.seller if function == "claim" else w.env.actors.registrant)


@builds("ProductRegistry", "recallLot")
def _recall_lot(w: World, function: str) -> Attempt:
    _registered_item(w)
    return Attempt(w.env.registry.functions.recallLot(GTIN, code(LOT), 1, keccak(b"recall notice")), w.outsider, w.env.actors.registrant)


@builds("ProductRegistry", "grantRole", "revokeRole", "renounceRole")
def _registry_roles(w: World, function: str) -> Attempt:
    f = w.env.registry.functions
    role = brand_role("registrant", 1)
    calls = {
        "grantRole": f.grantRole(role, w.outsider),
        "revokeRole": f.revokeRole(role, w.env.actors.registrant),
        "renounceRole": f.renounceRole(role, w.env.actors.registrant),
    }
    return Attempt(calls[function], w.outsider, w.env.actors.registrant if function == "renounceRole" else w.env.actors.brand_admin)


@builds("ProductRegistry", "multicall")
def _multicall(w: World, function: str) -> Attempt:
    registry = w.env.registry
    inner = registry.encode_abi("registerBrand", args=[w.outsider, "Outsider Foods", ["9506002"]])
    return Attempt(registry.functions.multicall([inner]), w.outsider)


# -- TraceLedger ----------------------------------------------------------------------------------


@builds("TraceLedger", "grantActor", "revokeActor", "setActorProfile", "setRepository", "record")
def _trace(w: World, function: str) -> Attempt:
    f = w.trace.ledger.functions
    subject = item_id(GTIN, "S-ACCESS-1")
    entry: tuple[Any, ...] = (subject, keccak(b"an EPCIS event"), b"\0" * 32, b"\0" * 32, b"\0" * 32, b"\0" * 32, (BINDING_ITEM, GTIN, code("S-ACCESS-1")), [])
    calls = {
        "grantActor": f.grantActor(1, w.outsider, GROWER, keccak(b"/414/9506000000005/254/0")),
        "revokeActor": f.revokeActor(1, w.trace.grower),
        "setActorProfile": f.setActorProfile(1, w.trace.grower, keccak(b"a profile"), "https://brand.example/content/"),
        "setRepository": f.setRepository(1, "https://epcis.example/events/"),
        "record": f.record(1, [entry]),
    }
    return Attempt(calls[function], w.outsider, w.trace.grower if function in ("setRepository", "record") else w.env.actors.brand_admin)


# -- ConsentRegistry ------------------------------------------------------------------------------


def _terms(c: ConsentEnv, data_user: str) -> tuple[Any, ...]:
    expiry = c.now() + 365 * DAY
    return (c.consumer, data_user, 1 << DELIVERY, 1 << CONTACT, expiry, keccak(b"notice"), b"zh-CN".ljust(8, b"\0"), b"\0" * 32)


def _consented(w: World) -> ConsentEnv:
    """The consumer has granted the data user consent for delivery, of contact data."""
    c = w.consent
    w.send(c.registry.functions.grant(c.data_user, _terms(c, c.data_user)), c.consumer)
    return c


@builds("ConsentRegistry", "grant", "revokeFor", "recordUse", "recordUses")
def _consent_calls(w: World, function: str) -> Attempt:
    c = _consented(w)
    f = c.registry.functions
    request = keccak(b"order 7781")
    calls = {
        "grant": f.grant(c.other_data_user, _terms(c, c.other_data_user)),
        "revokeFor": f.revokeFor(c.consumer, c.data_user),
        "recordUse": f.recordUse(c.consumer, DELIVERY, CONTACT, request),
        "recordUses": f.recordUses([(c.consumer, DELIVERY, CONTACT, request)]),
    }
    return Attempt(calls[function], w.outsider, c.data_user if function.startswith("recordUse") else c.consumer)


@builds("ConsentRegistry", "grantWithSignature")
def _grant_with_signature(w: World, function: str) -> Attempt:
    c = w.consent
    t = _terms(c, c.other_data_user)
    deadline = c.now() + DAY
    f = c.registry.functions
    forged = f.grantWithSignature(t, 0, deadline, c.sign_grant(w.outsider_key, t, 0, deadline))
    return Attempt(forged, w.outsider, forged=forged, absent=f.grantWithSignature(t, 0, deadline, b""))


@builds("ConsentRegistry", "revokeWithSignature")
def _revoke_with_signature(w: World, function: str) -> Attempt:
    c = _consented(w)
    nonce = c.registry.functions.nonce(c.consumer, c.data_user).call()
    deadline = c.now() + DAY
    f = c.registry.functions
    signature = c.sign_revoke(w.outsider_key, c.consumer, c.data_user, nonce, deadline)
    forged = f.revokeWithSignature(c.consumer, c.data_user, nonce, deadline, signature)
    return Attempt(forged, w.outsider, forged=forged, absent=f.revokeWithSignature(c.consumer, c.data_user, nonce, deadline, b""))


@builds("ConsentRegistry", "addDelegate")
def _add_delegate(w: World, function: str) -> Attempt:
    c = w.consent
    f = c.registry.functions

    def check() -> None:
        assert f.delegateValidUntil(w.outsider, c.delegate).call() > 0  # the outsider's own delegate
        assert f.delegateValidUntil(c.consumer, c.delegate).call() == 0  # nobody else's

    return Attempt(f.addDelegate(c.delegate, c.now() + DAY), w.outsider, check=check)


@builds("ConsentRegistry", "revokeDelegate")
def _revoke_delegate(w: World, function: str) -> Attempt:
    c = w.consent
    f = c.registry.functions
    w.send(f.addDelegate(c.delegate, c.now() + DAY), c.consumer)
    return Attempt(f.revokeDelegate(c.delegate), w.outsider, refs={"delegate": c.delegate})


@builds("ConsentRegistry", "revoke")
def _revoke(w: World, function: str) -> Attempt:
    c = _consented(w)
    f = c.registry.functions

    def check() -> None:
        assert f.isLive(c.consumer, c.data_user, DELIVERY, CONTACT).call()  # the consumer's consent stands

    return Attempt(f.revoke(c.data_user), w.outsider, check=check)


# -- PriceGuarantee -------------------------------------------------------------------------------

U = NATIVE_UNIT


@builds("PriceGuarantee", "registerRetailer")
def _register_retailer(w: World, function: str) -> Attempt:
    f = w.loop.p.pg.functions
    count = f.retailerCount().call()

    def check() -> None:
        assert f.retailerCount().call() == count + 1
        assert f.hasRole(admin_role(count + 1), w.outsider).call()  # admin of its own retailer
        assert not f.hasRole(admin_role(NATIVE), w.outsider).call()  # and of nobody else's

    return Attempt(f.registerRetailer(w.outsider, ZERO_ADDRESS, "ipfs://retailer/outsider"), w.outsider, check=check)


@builds(
    "PriceGuarantee",
    "addChannel",
    "rotateChannelKey",
    "setPolicy",
    "publishPrice",
    "recordPurchase",
    "recordPurchases",
    "announceWithdrawal",
    "grantRole",
    "revokeRole",
    "renounceRole",
)
def _guarantee_calls(w: World, function: str) -> Attempt:
    p = w.loop.p
    f = p.pg.functions
    sale = (p.buyer, GTIN, 1, 188 * U, receipt_hash("till 7 / receipt 990001"))
    role = admin_role(NATIVE)
    calls = {
        "addChannel": f.addChannel(NATIVE, CHANNEL_STORE, fresh_address("new store key"), "Acme Mart Huaihai Road"),
        "rotateChannelKey": f.rotateChannelKey(1, fresh_address("new online key"), DAY),
        "setPolicy": f.setPolicy(NATIVE, 0, terms()),
        "publishPrice": f.publishPrice(GTIN, 133 * U, 0, w.now() + DAY),
        "recordPurchase": f.recordPurchase(sale),
        "recordPurchases": f.recordPurchases([sale]),
        "announceWithdrawal": f.announceWithdrawal(NATIVE, 1, p.native_admin),
        "grantRole": f.grantRole(role, w.outsider),
        "revokeRole": f.revokeRole(role, p.native_admin),
        "renounceRole": f.renounceRole(role, p.native_admin),
    }
    keys = {"publishPrice": p.online, "recordPurchase": p.store, "recordPurchases": p.store}
    return Attempt(calls[function], w.outsider, keys.get(function, p.native_admin))


@builds("PriceGuarantee", "endPrice", "declarePriceError")
def _price_calls(w: World, function: str) -> Attempt:
    p = w.loop.p
    valid_from = p.publish(p.online, 133 * U)
    f = p.pg.functions
    calls = {"endPrice": f.endPrice(GTIN, valid_from), "declarePriceError": f.declarePriceError(1, GTIN, valid_from)}
    return Attempt(calls[function], w.outsider, p.online if function == "endPrice" else p.native_admin)


@builds("PriceGuarantee", "cancelWithdrawal", "executeWithdrawal")
def _withdrawal_calls(w: World, function: str) -> Attempt:
    p = w.loop.p
    f = p.pg.functions
    p.fund(10 * U)
    receipt = w.send(f.announceWithdrawal(NATIVE, 1 * U, p.native_admin), p.native_admin)
    p.at(p.block_time(receipt) + WITHDRAWAL_DELAY)  # executable now
    calls = {"cancelWithdrawal": f.cancelWithdrawal(NATIVE), "executeWithdrawal": f.executeWithdrawal(NATIVE)}
    return Attempt(calls[function], w.outsider, p.native_admin)


@builds("PriceGuarantee", "registerPurchase")
def _register_purchase(w: World, function: str) -> Attempt:
    p = w.loop.p
    receipt, signature = p.signed_receipt(w.outsider_key)
    f = p.pg.functions
    forged = f.registerPurchase(receipt, signature)
    return Attempt(forged, w.outsider, forged=forged, absent=f.registerPurchase(receipt, b""))


def _claimable(w: World) -> tuple[Any, ...]:
    """A purchase of the gift bag at 188 in the store, covered by a funded pool, whose claims
    have opened (PAYOUT_DELAY after its recording)."""
    loop, p = w.loop, w.loop.p
    p.set_policy(terms())
    p.fund(1_000 * U)
    purchase = loop.purchase()
    assert purchase[9] == 188 * U - 1  # its cover: (unitPrice - 1) * quantity
    p.at(purchase[10] + PAYOUT_DELAY)
    return purchase


@builds("PriceGuarantee", "claimWithPrice")
def _claim_with_price(w: World, function: str) -> Attempt:
    p = w.loop.p
    purchase = _claimable(w)
    valid_from = p.publish(p.online, 133 * U)  # 133 online
    buyer_before, outsider_before = p.balance(p.buyer), p.balance(w.outsider)

    def check() -> None:
        assert purchase[9] - p.unclaimed(purchase) == 55 * U
        assert p.balance(p.buyer) == buyer_before + 55 * U  # paid to the buyer
        assert p.balance(w.outsider) < outsider_before  # the keeper only paid gas

    return Attempt(p.pg.functions.claimWithPrice(purchase, 1, valid_from), w.outsider, check=check)


@builds("PriceGuarantee", "claimWithQuote")
def _claim_with_quote(w: World, function: str) -> Attempt:
    p = w.loop.p
    purchase = _claimable(w)
    message = p.quote()  # the online shop's channel, 133, from now
    quote = as_tuple(message, QUOTE_FIELDS)
    f = p.pg.functions
    forged = f.claimWithQuote(purchase, quote, p.sign(w.outsider_key, "Quote", message))
    return Attempt(forged, w.outsider, forged=forged, absent=f.claimWithQuote(purchase, quote, b""))


@builds("PriceGuarantee", "lodgeQuote")
def _lodge_quote(w: World, function: str) -> Attempt:
    p = w.loop.p
    message = p.quote()
    quote = as_tuple(message, QUOTE_FIELDS)
    f = p.pg.functions
    forged = f.lodgeQuote(quote, p.sign(w.outsider_key, "Quote", message))
    return Attempt(forged, w.outsider, forged=forged, absent=f.lodgeQuote(quote, b""))


@builds("PriceGuarantee", "fund")
def _fund(w: World, function: str) -> Attempt:
    p = w.loop.p
    before = p.retailer()["balance"]

    def check() -> None:
        assert p.retailer()["balance"] == before + 5 * U

    return Attempt(p.pg.functions.fund(NATIVE, 5 * U), w.outsider, value=5 * U, check=check)


@builds("PriceGuarantee", "release")
def _release(w: World, function: str) -> Attempt:
    loop, p = w.loop, w.loop.p
    p.set_policy(terms(window=DAY))
    p.fund(1_000 * U)
    purchase = loop.purchase()
    cover = purchase[9]
    assert cover > 0 and p.retailer()["reserved"] == cover
    p.at(purchase[6] + DAY + PAYOUT_DELAY + 1)  # its claims have closed
    pool_before, outsider_before = p.retailer(), p.balance(w.outsider)

    def check() -> None:
        pool = p.retailer()
        assert pool["reserved"] == pool_before["reserved"] - cover  # back to the free funds
        assert (pool["balance"], pool["paid"], pool["withdrawn"]) == (pool_before["balance"], pool_before["paid"], pool_before["withdrawn"])
        assert p.unclaimed(purchase) == 0
        assert p.balance(w.outsider) < outsider_before  # the outsider only paid gas

    return Attempt(p.pg.functions.release([purchase]), w.outsider, check=check)


@builds("PriceGuarantee", "withdrawCredit")
def _withdraw_credit(w: World, function: str) -> Attempt:
    return Attempt(w.loop.p.pg.functions.withdrawCredit(ZERO_ADDRESS), w.outsider)


# -- ReviewBoard ----------------------------------------------------------------------------------


@builds("ReviewBoard", "setMerchantProfile", "reviewPurchase", "reviewItem", "editReview", "reply")
def _review_calls(w: World, function: str) -> Attempt:
    loop = w.loop
    f = loop.board.functions
    text = content_hash("Fresh and crisp.")
    if function == "setMerchantProfile":
        profile = f.setMerchantProfile(1, content_hash("profile"), URI_60, 9506000000015, 38_914_000, 121_614_700)
        return Attempt(profile, w.outsider, loop.p.native_admin)
    if function == "reviewPurchase":
        return Attempt(f.reviewPurchase(loop.purchase(), SUBJECT_PRODUCT, 5, text, URI_60), w.outsider, loop.buyer)
    if function == "reviewItem":
        return Attempt(f.reviewItem(loop.claimed_item(), 5, text, URI_60), w.outsider, loop.buyer)
    review, _ = loop.posted()  # a purchase in the store, reviewed by its buyer
    refs = {"review": review}
    if function == "editReview":
        return Attempt(f.editReview(review, 1, text, URI_60), w.outsider, loop.buyer, refs=refs)
    return Attempt(f.reply(review, content_hash("Thank you"), URI_60), w.outsider, loop.p.store, refs=refs)


@builds("ReviewBoard", "setSellerAuthorised")
def _set_seller_authorised(w: World, function: str) -> Attempt:
    return Attempt(w.loop.board.functions.setSellerAuthorised(1, 2, True), w.outsider, w.env.actors.brand_admin)


@builds("ReviewBoard", "vote", "report")
def _review_feedback(w: World, function: str) -> Attempt:
    loop = w.loop
    review, _ = loop.posted()  # by the buyer
    ticket = loop.ticket_for(loop.buyer2)  # the voter's purchase of the reviewed product from an authorised seller, shown by the outsider
    f = loop.board.functions
    fn = f.vote(review, False, ticket) if function == "vote" else f.report(review, REPORT_SPAM, ticket)
    return Attempt(fn, w.outsider, loop.buyer2)


# -- Forwarder ------------------------------------------------------------------------------------


@builds("Forwarder", "execute", "executeBatch")
def _forward(w: World, function: str) -> Attempt:
    loop = w.loop
    review, _ = loop.posted()
    vote = loop.board.functions.vote(review, False, loop.ticket_for(loop.buyer2))
    # The voter's vote, signed by the outsider, and unsigned.
    forged_request = loop.forward_request(w.outsider_key, loop.buyer2, vote)
    absent_request = (*forged_request[:6], b"")
    f = loop.forwarder.functions

    def call(request: tuple[Any, ...]) -> Any:
        return f.execute(request) if function == "execute" else f.executeBatch([request], ZERO_ADDRESS)

    forged = call(forged_request)
    return Attempt(forged, w.outsider, forged=forged, absent=call(absent_request))


# -- CouponBook -----------------------------------------------------------------------------------


@builds("CouponBook", "createCampaign")
def _create_campaign(w: World, function: str) -> Attempt:
    now = w.now()
    fn = w.loop.book.functions.createCampaign(1, 100, now, now + 30 * DAY, content_hash("10 off"), "ipfs://campaign/spring")
    return Attempt(fn, w.outsider, w.loop.p.native_admin)


@builds("CouponBook", "redeem")
def _redeem(w: World, function: str) -> Attempt:
    loop = w.loop
    campaign, _ = loop.create_campaign(10)  # of the online shop
    voucher, genuine = loop.signed(campaign, 0)
    message = loop.voucher(campaign, 1)
    f = loop.book.functions
    till = receipt_hash("ZS-0099")
    forged = f.redeem(voucher_tuple(message), loop.sign(w.outsider_key, message), till)
    absent = f.redeem(voucher_tuple(message), b"", till)
    return Attempt(f.redeem(voucher, genuine, till), w.outsider, loop.p.store, forged=forged, absent=absent, credential_sender=loop.p.store)


# -- TestStablecoin -------------------------------------------------------------------------------


@builds("TestStablecoin", "mint", "approve", "transfer", "transferFrom")
def _token(w: World, function: str) -> Attempt:
    token, buyer = w.loop.p.token, w.loop.buyer
    f = token.functions

    def minted() -> None:
        assert f.balanceOf(w.outsider).call() == TOKEN_AMOUNT

    def approved() -> None:
        assert f.allowance(w.outsider, buyer).call() == TOKEN_AMOUNT

    if function == "mint":
        return Attempt(f.mint(w.outsider, TOKEN_AMOUNT), w.outsider, check=minted)
    if function == "approve":
        return Attempt(f.approve(buyer, TOKEN_AMOUNT), w.outsider, check=approved)
    w.send(f.mint(buyer, TOKEN_AMOUNT), buyer)  # the buyer has tokens
    if function == "transfer":
        return Attempt(f.transfer(buyer, TOKEN_AMOUNT), w.outsider)
    keeper = w.loop.p.keeper
    w.send(f.approve(keeper, TOKEN_AMOUNT), buyer)  # and lets the keeper spend them
    return Attempt(f.transferFrom(buyer, w.outsider, TOKEN_AMOUNT), w.outsider, keeper)


# ------------------------------------------------------------------------------------------------
# The outsider, function by function
# ------------------------------------------------------------------------------------------------


def resolve(refused: Refused, refs: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for key, value in refused.args.items():
        if isinstance(value, Ref):
            assert value.name in refs, f"no value for {value} on the test chain"
            values[key] = refs[value.name]
        else:
            values[key] = value
    return values


def expect(abi: list[dict[str, Any]], fn: Any, sender: str, value: int, refused: Refused, refs: dict[str, Any]) -> None:
    expect_revert(abi, lambda: fn.transact({"from": sender, "value": value}), refused.error, **resolve(refused, refs))


ENTRIES = [(contract, name) for contract, table in MATRIX.items() for name in table]


@pytest.mark.parametrize(("contract", "function"), ENTRIES, ids=[f"{c}.{n}" for c, n in ENTRIES])
def test_outsider_gets_what_the_matrix_says(world: World, contract: str, function: str) -> None:
    access: Access = MATRIX[contract][function]
    builder = BUILDERS.get((contract, function))
    assert builder is not None, f"{contract}.{function}: no call built for it"
    attempt = builder(world, function)
    assert attempt.fn.fn_name == function, f"built a call of {attempt.fn.fn_name}, not {function}"
    assert attempt.fn.address == world.contract(contract).address, f"built a call of another contract than {contract}"
    abi = deployable_abis()[contract]
    refs = world.refs() | attempt.refs

    if isinstance(access.outsider, Allowed):
        world.send(attempt.fn, attempt.sender, attempt.value)
        if attempt.check is not None:
            attempt.check()
    else:
        expect(abi, attempt.fn, attempt.sender, attempt.value, access.outsider, refs)
    if access.kind is Kind.RESTRICTED:
        assert attempt.rightful is not None, f"{contract}.{function}: name an account its rule admits"
        world.send(attempt.fn, attempt.rightful, attempt.value)  # the same call, rightfully made, goes through

    if access.signature is not None:
        assert attempt.forged is not None and attempt.absent is not None, f"{contract}.{function}: build the forged and absent calls"
        sender = attempt.credential_sender or attempt.sender
        if attempt.forged is not attempt.fn or sender != attempt.sender:  # not the call made above
            expect(abi, attempt.forged, sender, 0, access.signature.forged, refs)
        expect(abi, attempt.absent, sender, 0, access.signature.absent, refs)


# ------------------------------------------------------------------------------------------------
# The outsider, through the Forwarder (ERC-2771)
# ------------------------------------------------------------------------------------------------

RELAYED = [(contract, name) for contract, name in ENTRIES if contract == "ReviewBoard"]


def send_coin(w: World, to: str, value: int) -> None:
    """Give `to` (a contract without a receive function, such as the Forwarder) `value` wei: a
    contract whose init code is `PUSH20 to; SELFDESTRUCT` sends its value there as it is created."""
    init = "0x73" + to[2:].lower() + "ff"
    w.env.w3.eth.wait_for_transaction_receipt(w.env.w3.eth.send_transaction({"from": w.loop.p.keeper, "data": init, "value": value, "gas": 100_000}))
    assert w.env.w3.eth.get_balance(to) >= value
UNTRUSTING = sorted({contract for contract, _ in ENTRIES} - {"ReviewBoard"})


@pytest.mark.parametrize(("contract", "function"), RELAYED, ids=[f"{c}.{n}" for c, n in RELAYED])
def test_outsider_relaying_through_the_forwarder_gets_what_the_matrix_says(world: World, contract: str, function: str) -> None:
    """A request the outsider signs acts for the outsider: the board refuses it as it refuses the
    outsider's own call, and the same request signed by the rightful party goes through."""
    access: Access = MATRIX[contract][function]
    assert isinstance(access.outsider, Refused), f"{contract}.{function}: add the relayed case of an allowed call"
    attempt = BUILDERS[(contract, function)](world, function)
    loop = world.loop
    forwarder = loop.forwarder
    request = loop.forward_request(world.outsider_key, world.outsider, attempt.fn)
    assert forwarder.functions.verify(request).call()  # a genuine request of the outsider's
    expect_revert(loop.forwarder_abi, lambda: forwarder.functions.execute(request).transact({"from": loop.p.keeper}), "FailedCall")
    # What the board refused: the forwarder's call, with the outsider appended as its sender (an
    # eth_call from the forwarder's address, which is given the coin to pay for it).
    send_coin(world, forwarder.address, 10**18)
    data = attempt.fn._encode_transaction_data() + world.outsider[2:].lower()
    call = {"from": forwarder.address, "to": attempt.fn.address, "data": data, "gas": 1_000_000}
    refs = world.refs() | attempt.refs
    expect_revert(deployable_abis()[contract], lambda: world.env.w3.eth.call(call), access.outsider.error, **resolve(access.outsider, refs))
    assert attempt.rightful is not None
    rightful = loop.forward_request(attempt.rightful, attempt.rightful, attempt.fn)
    receipt = loop.relay(rightful)
    (executed,) = loop.events(receipt, "ExecutedForwardRequest", forwarder)
    assert (executed["signer"], executed["success"]) == (attempt.rightful, True)


@pytest.mark.parametrize("contract", UNTRUSTING)
def test_no_other_contract_takes_relayed_calls(world: World, contract: str) -> None:
    """Only the ReviewBoard trusts the Forwarder: a request to any other contract is refused
    before it is forwarded, whoever signed it."""
    name = next(n for c, n in ENTRIES if c == contract)
    attempt = BUILDERS[(contract, name)](world, name)
    loop = world.loop
    sender = attempt.rightful or world.outsider
    request = loop.forward_request(sender, sender, attempt.fn)
    expect_revert(
        loop.forwarder_abi,
        lambda: loop.forwarder.functions.execute(request).transact({"from": loop.p.keeper}),
        "ERC2771UntrustfulTarget",
        target=attempt.fn.address,
        forwarder=loop.forwarder.address,
    )
