"""TraceLedger: every function, custom error (with its arguments) and event (with its fields), the
hash chain recomputed off chain from the logs, and the gas targets."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from web3.logs import DISCARD

from .conftest import (
    CARRIER_LOCATION,
    ERRORS_ABI,
    GROWER,
    GROWER_LOCATION,
    GTIN,
    GTIN_2,
    LOGISTICS,
    OTHER_GTIN,
    OTHER_KIND,
    PROCESSOR,
    RETAIL,
    TRACE_ARTIFACT,
    TraceEnv,
    code,
    expect_revert,
    gtin_check_digit,
    item_id,
    lot_id,
)

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ITEM, LOT, PRODUCT, CONTAINER = 1, 2, 3, 4
NO_BINDING = (0, 0, ZERO32)
COUNT_MASK = (1 << 64) - 1

# The functions of ITraceLedger: its ERC-165 id is the XOR of their selectors.
INTERFACE_FUNCTIONS = [
    "grantActor(uint32,address,uint8,bytes32)",
    "revokeActor(uint32,address)",
    "setRepository(uint32,string)",
    "setActorProfile(uint32,address,bytes32,string)",
    "record(uint32,(bytes32,bytes32,bytes32,bytes32,bytes32,bytes32,(uint8,uint64,bytes32),bytes32[])[])",
    "head(uint32,bytes32)",
    "heads(uint32,bytes32[])",
    "actor(uint32,address)",
    "actorProfile(uint32,address)",
    "registry()",
    "version()",
]


# --------------------------------------------------------------------------------------------
# Subjects, entries and the head formula, computed as the library does
# --------------------------------------------------------------------------------------------



TRACE_ASSET_DOMAIN = keccak(b"o2ochain.trace.asset")


def asset_id_of(path_hash: bytes) -> bytes:
    """The chain id of an asset whose Digital Link path hashes to ``path_hash``."""
    return keccak(TRACE_ASSET_DOMAIN + path_hash)


def asset_id(path: bytes) -> bytes:
    return asset_id_of(keccak(path))

def product_id(gtin: int) -> bytes:
    return keccak(f"/01/{gtin:014d}".encode())


def sscc(serial: int, prefix: str = "9506000") -> str:
    """An SSCC with extension digit 3, company prefix `prefix` and a correct check digit."""
    body = f"3{prefix}{serial:0{16 - len(prefix)}d}"
    return body + str(gtin_check_digit(body))


def sscc_id(digits: str) -> bytes:
    return keccak(f"/00/{digits}".encode())


def rand32() -> bytes:
    """A realistic 32-byte hash: nonzero and not cheap in calldata."""
    return os.urandom(32)


@dataclass
class E:
    """An ITraceLedger Entry (binding zero unless given)."""

    subject: bytes
    binding: tuple[int, int, bytes] = NO_BINDING
    related: list[bytes] = field(default_factory=list)
    content: bytes = field(default_factory=rand32)
    meta: bytes = field(default_factory=rand32)
    read_point: bytes = field(default_factory=rand32)
    biz_location: bytes = field(default_factory=rand32)
    event_id: bytes = field(default_factory=rand32)

    def abi(self) -> tuple[Any, ...]:
        return (
            self.subject,
            self.content,
            self.meta,
            self.read_point,
            self.biz_location,
            self.event_id,
            self.binding,
            self.related,
        )


def item(serial: str, gtin: int = GTIN, **kw: Any) -> E:
    """An entry on item `serial`, bound (valid as a first entry)."""
    return E(item_id(gtin, serial), (ITEM, gtin, code(serial)), **kw)


def container(digits: str, **kw: Any) -> E:
    return E(sscc_id(digits), (CONTAINER, 0, code(digits)), **kw)


def next_head(
    prev: int,
    content: bytes,
    meta: bytes,
    read_point: bytes,
    biz_location: bytes,
    event_id: bytes,
    related: list[bytes],
    actor: str,
) -> int:
    """The head formula of ITraceLedger, independently of the contract."""
    related_hash = keccak(b"".join(related)) if related else ZERO32
    h = keccak(
        abi_encode(
            ["uint256", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "address"],
            [prev, content, meta, read_point, biz_location, event_id, related_hash, actor],
        )
    )
    return ((int.from_bytes(h, "big") % (1 << 192)) << 64) | ((prev & COUNT_MASK) + 1)


def heads_from_logs(trace: TraceEnv, brand: int, receipts: list[Any] | None = None) -> dict[bytes, int]:
    """The head of every chain of `brand`, recomputed from the Recorded and Linked logs only: all
    of them (eth_getLogs), or those of `receipts`.

    The related ids of an entry are the Linked logs of its subject that follow its Recorded log in
    the same transaction, up to the subject's next Recorded log.
    """
    events = trace.ledger.events
    if receipts is None:
        recorded = events.Recorded.get_logs(from_block=0, argument_filters={"brand": brand})
        linked = events.Linked.get_logs(from_block=0, argument_filters={"brand": brand})
    else:
        recorded = [log for r in receipts for log in events.Recorded().process_receipt(r, errors=DISCARD) if log["args"]["brand"] == brand]
        linked = [log for r in receipts for log in events.Linked().process_receipt(r, errors=DISCARD) if log["args"]["brand"] == brand]
    logs = sorted(list(recorded) + list(linked), key=lambda log: (log["blockNumber"], log["logIndex"]))
    heads: dict[bytes, int] = {}
    pending: dict[bytes, dict[str, Any]] = {}  # subject -> its last Recorded entry, related still open

    def close(subject: bytes) -> None:
        a = pending.pop(subject)
        heads[subject] = next_head(
            heads.get(subject, 0),
            a["content"],
            a["meta"],
            a["readPoint"],
            a["bizLocation"],
            a["eventId"],
            a["related"],
            a["actor"],
        )

    last_tx = None
    for log in logs:
        if log["transactionHash"] != last_tx:
            for subject in list(pending):
                close(subject)
            last_tx = log["transactionHash"]
        args = log["args"]
        if log["event"] == "Recorded":
            if args["subject"] in pending:
                close(args["subject"])
            pending[args["subject"]] = {**args, "related": []}
        else:
            entry = pending[args["subject"]]
            assert args["content"] == entry["content"]
            entry["related"].append(args["related"])
    for subject in list(pending):
        close(subject)
    return heads


def head(trace: TraceEnv, subject: bytes, brand: int = 1) -> tuple[int, int]:
    word, count = trace.ledger.functions.head(brand, subject).call()
    return int.from_bytes(word, "big"), count


def actor_view(trace: TraceEnv, account: str, brand: int = 1) -> dict[str, Any]:
    entry = next(e for e in TRACE_ARTIFACT["abi"] if e.get("type") == "function" and e["name"] == "actor")
    names = [c["name"] for c in entry["outputs"][0]["components"]]
    return dict(zip(names, trace.ledger.functions.actor(brand, account).call(), strict=True))


# --------------------------------------------------------------------------------------------
# Deployment and metadata
# --------------------------------------------------------------------------------------------


def test_version_is_0_1_0(trace: TraceEnv) -> None:
    assert trace.ledger.functions.version().call() == "0.1.0"


def test_supports_interface_reports_trace_ledger_and_erc165(trace: TraceEnv) -> None:
    selectors = [int.from_bytes(function_signature_to_4byte_selector(s), "big") for s in INTERFACE_FUNCTIONS]
    interface_id = reduce(lambda a, b: a ^ b, selectors).to_bytes(4, "big")
    f = trace.ledger.functions
    assert f.supportsInterface(interface_id).call()
    assert f.supportsInterface(bytes.fromhex("01ffc9a7")).call()  # IERC165
    assert not f.supportsInterface(bytes.fromhex("ffffffff")).call()
    assert set(INTERFACE_FUNCTIONS) == set(TRACE_ARTIFACT["methodIdentifiers"]) - {"supportsInterface(bytes4)"}


def test_registry_is_the_constructor_argument(trace: TraceEnv) -> None:
    assert trace.ledger.functions.registry().call() == trace.env.registry.address


def test_only_grant_revoke_record_repository_and_profile_write_nothing_edits_past_entries() -> None:
    writers = {e["name"] for e in TRACE_ARTIFACT["abi"] if e.get("type") == "function" and e["stateMutability"] not in ("view", "pure")}
    assert writers == {"grantActor", "revokeActor", "record", "setRepository", "setActorProfile"}


def test_brand_admin_publishes_an_actors_profile_hash_and_uri(trace: TraceEnv) -> None:
    profile = keccak(b'{"name":"Hillside Farm","type":"o2ochain.trace.actor"}')
    f = trace.ledger.functions
    assert f.actorProfile(1, trace.grower).call() == ZERO32
    receipt = trace.send(f.setActorProfile(1, trace.grower, profile, "https://brand.example/content/"), trace.actors.brand_admin)
    (event,) = trace.events(receipt, "ActorProfileSet")
    assert dict(event) == {"brand": 1, "actor": trace.grower, "profileHash": profile, "uri": "https://brand.example/content/"}
    assert f.actorProfile(1, trace.grower).call() == profile
    assert f.actorProfile(2, trace.grower).call() == ZERO32  # per brand: another brand's name for it is its own
    # a revoked actor keeps its name for what it recorded; a zero hash withdraws the profile
    trace.send(f.revokeActor(1, trace.grower), trace.actors.brand_admin)
    trace.send(f.setActorProfile(1, trace.grower, ZERO32, ""), trace.actors.brand_admin)
    assert f.actorProfile(1, trace.grower).call() == ZERO32


@pytest.mark.parametrize("who", ["outsider", "registrant", "other_admin", "admin"])
def test_only_the_brands_admin_names_its_actors(trace: TraceEnv, who: str) -> None:
    """Another brand's admin, the registry admin acting directly, the brand's own registrant and a
    stranger cannot give the brand's farm a name: the names a shopper reads are the brand's."""
    account = getattr(trace.actors, who)
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.setActorProfile(1, trace.grower, keccak(b"Famous Farm"), "https://x.example/").transact({"from": account}),
        "TraceNotBrandAdmin",
        brand=1,
        account=account,
    )
    # nor may an actor name itself
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.setActorProfile(1, trace.grower, keccak(b"Famous Farm"), "").transact({"from": trace.grower}),
        "TraceNotBrandAdmin",
        brand=1,
        account=trace.grower,
    )


def test_a_profile_is_only_for_an_actor_the_brand_granted(trace: TraceEnv) -> None:
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.setActorProfile(1, trace.actors.consumer, keccak(b"x"), "").transact({"from": trace.actors.brand_admin}),
        "TraceActorInvalid",
        actor=trace.actors.consumer,
    )


def test_set_repository_emits_for_an_active_actor_only(trace: TraceEnv) -> None:
    tx = trace.ledger.functions.setRepository(1, "https://epcis.farm.example/events/").transact({"from": trace.grower})
    receipt = trace.env.w3.eth.get_transaction_receipt(tx)
    (log,) = trace.ledger.events.RepositorySet().process_receipt(receipt)
    assert dict(log["args"]) == {"brand": 1, "actor": trace.grower, "uri": "https://epcis.farm.example/events/"}
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.setRepository(1, "https://x.example/").transact({"from": trace.actors.outsider}),
        "TraceNotActor",
        brand=1,
        account=trace.actors.outsider,
    )


def test_trace_errors_ship_in_the_error_abi() -> None:
    names = {e["name"] for e in ERRORS_ABI}
    expected = {e["name"] for e in TRACE_ARTIFACT["abi"] if e["type"] == "error"}
    assert {n for n in expected if n.startswith("Trace")} <= names
    assert len([n for n in expected if n.startswith("Trace")]) == 9


def test_deploy_routine_deploys_the_ledger_on_the_registry() -> None:
    from o2ochain._chain.connection import tester_web3
    from o2ochain.deployments import DEPLOY_ORDER, deploy

    w3, accounts = tester_web3()
    deployment = deploy(w3, accounts[0])
    assert DEPLOY_ORDER == (
        "ProductRegistry",
        "TraceLedger",
        "ConsentRegistry",
        "PriceGuarantee",
        "Forwarder",
        "ReviewBoard",
        "CouponBook",
    )
    ledger = w3.eth.contract(address=deployment.address("TraceLedger"), abi=TRACE_ARTIFACT["abi"])
    assert ledger.functions.registry().call() == deployment.address("ProductRegistry")


# --------------------------------------------------------------------------------------------
# Actors
# --------------------------------------------------------------------------------------------


def test_grant_actor_stores_actor_and_emits(trace: TraceEnv) -> None:
    account = trace.actors.consumer
    location = keccak(b"/414/9506000000012/254/0")
    receipt = trace.send(trace.ledger.functions.grantActor(1, account, RETAIL, location), trace.actors.brand_admin)
    (event,) = trace.events(receipt, "ActorGranted")
    assert dict(event) == {"brand": 1, "actor": account, "kind": RETAIL, "location": location}
    assert actor_view(trace, account) == {
        "active": True,
        "kind": RETAIL,
        "location": location,
        "grantedAt": receipt["blockNumber"],
        "revokedAt": 0,
    }
    assert not actor_view(trace, account, brand=2)["active"]


@pytest.mark.parametrize("kind", [GROWER, PROCESSOR, LOGISTICS, RETAIL, OTHER_KIND])
def test_grant_actor_accepts_every_kind(trace: TraceEnv, kind: int) -> None:
    trace.send(trace.ledger.functions.grantActor(1, trace.actors.consumer, kind, ZERO32), trace.actors.brand_admin)
    assert actor_view(trace, trace.actors.consumer)["kind"] == kind


def test_grant_actor_updates_an_active_actor(trace: TraceEnv) -> None:
    receipt = trace.send(trace.ledger.functions.grantActor(1, trace.grower, PROCESSOR, ZERO32), trace.actors.brand_admin)
    (event,) = trace.events(receipt, "ActorGranted")
    assert (event["kind"], event["location"]) == (PROCESSOR, ZERO32)
    view = actor_view(trace, trace.grower)
    assert (view["active"], view["kind"], view["location"], view["grantedAt"]) == (True, PROCESSOR, ZERO32, receipt["blockNumber"])


def test_grant_actor_after_revocation_reactivates(trace: TraceEnv) -> None:
    f = trace.ledger.functions
    trace.send(f.revokeActor(1, trace.grower), trace.actors.brand_admin)
    receipt = trace.send(f.grantActor(1, trace.grower, GROWER, GROWER_LOCATION), trace.actors.brand_admin)
    view = actor_view(trace, trace.grower)
    assert (view["active"], view["grantedAt"], view["revokedAt"]) == (True, receipt["blockNumber"], 0)
    trace.record([item("SN1").abi()])


@pytest.mark.parametrize("who", ["outsider", "registrant", "other_admin", "admin"])
def test_grant_actor_refused_to_non_brand_admin(trace: TraceEnv, who: str) -> None:
    account = getattr(trace.actors, who)
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.grantActor(1, trace.actors.consumer, RETAIL, ZERO32).transact({"from": account}),
        "TraceNotBrandAdmin",
        brand=1,
        account=account,
    )


def test_grant_actor_follows_the_registry_role(trace: TraceEnv) -> None:
    """The brand admin role is read from the registry at each call: granted or revoked there, it counts here."""
    role = trace.env.registry.functions.brandAdminRole(1).call()
    new_admin = trace.actors.consumer
    trace.send(trace.env.registry.functions.grantRole(role, new_admin), trace.actors.admin)
    trace.send(trace.ledger.functions.grantActor(1, trace.actors.seller, RETAIL, ZERO32), new_admin)
    trace.send(trace.env.registry.functions.revokeRole(role, new_admin), trace.actors.admin)
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.revokeActor(1, trace.actors.seller).transact({"from": new_admin}),
        "TraceNotBrandAdmin",
        brand=1,
        account=new_admin,
    )


def test_grant_actor_refused_for_brand_zero_even_to_a_holder_of_its_role(trace: TraceEnv) -> None:
    """Brand 0 is the brand of unknown products: it never has actors, whoever holds its role id."""
    holder = trace.actors.consumer
    trace.send(trace.env.registry.functions.grantRole(trace.env.registry.functions.brandAdminRole(0).call(), holder), trace.actors.admin)
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.grantActor(0, trace.grower, GROWER, ZERO32).transact({"from": holder}),
        "TraceNotBrandAdmin",
        brand=0,
        account=holder,
    )


@pytest.mark.parametrize("kind", [0, 6, 255])
def test_grant_actor_reverts_on_invalid_kind(trace: TraceEnv, kind: int) -> None:
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.grantActor(1, trace.actors.consumer, kind, ZERO32).transact({"from": trace.actors.brand_admin}),
        "TraceActorKindInvalid",
        kind=kind,
    )


def test_grant_actor_reverts_on_zero_address(trace: TraceEnv) -> None:
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.grantActor(1, ZERO_ADDRESS, RETAIL, ZERO32).transact({"from": trace.actors.brand_admin}),
        "TraceActorInvalid",
        actor=ZERO_ADDRESS,
    )


def test_revoke_actor_deactivates_and_emits(trace: TraceEnv) -> None:
    receipt = trace.send(trace.ledger.functions.revokeActor(1, trace.grower), trace.actors.brand_admin)
    (event,) = trace.events(receipt, "ActorRevoked")
    assert dict(event) == {"brand": 1, "actor": trace.grower, "by": trace.actors.brand_admin}
    view = actor_view(trace, trace.grower)
    assert (view["active"], view["kind"], view["location"], view["revokedAt"]) == (
        False,
        GROWER,
        GROWER_LOCATION,
        receipt["blockNumber"],
    )
    assert 0 < view["grantedAt"] < view["revokedAt"]


@pytest.mark.parametrize("who", ["outsider", "grower", "other_admin"])
def test_revoke_actor_refused_to_non_brand_admin(trace: TraceEnv, who: str) -> None:
    account = trace.grower if who == "grower" else getattr(trace.actors, who)
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.revokeActor(1, trace.grower).transact({"from": account}),
        "TraceNotBrandAdmin",
        brand=1,
        account=account,
    )


def test_revoke_actor_reverts_when_not_active(trace: TraceEnv) -> None:
    f = trace.ledger.functions
    expect_revert(
        trace.abi,
        lambda: f.revokeActor(1, trace.carrier).transact({"from": trace.actors.brand_admin}),
        "TraceNotActor",
        brand=1,
        account=trace.carrier,
    )
    trace.send(f.revokeActor(1, trace.grower), trace.actors.brand_admin)
    expect_revert(
        trace.abi,
        lambda: f.revokeActor(1, trace.grower).transact({"from": trace.actors.brand_admin}),
        "TraceNotActor",
        brand=1,
        account=trace.grower,
    )


def test_actor_never_granted_is_empty(trace: TraceEnv) -> None:
    assert actor_view(trace, trace.actors.outsider) == {
        "active": False,
        "kind": 0,
        "location": ZERO32,
        "grantedAt": 0,
        "revokedAt": 0,
    }
    assert actor_view(trace, trace.carrier, brand=2)["location"] == CARRIER_LOCATION


# --------------------------------------------------------------------------------------------
# Recording: binding a subject on its first entry
# --------------------------------------------------------------------------------------------


def test_record_first_entry_binds_item_and_emits(trace: TraceEnv) -> None:
    e = item("SN0001", related=[rand32()])
    receipt = trace.record([e.abi()])
    (recorded,) = trace.events(receipt, "Recorded")
    assert dict(recorded) == {
        "subject": e.subject,
        "brand": 1,
        "actor": trace.grower,
        "content": e.content,
        "meta": e.meta,
        "readPoint": e.read_point,
        "bizLocation": e.biz_location,
        "eventId": e.event_id,
    }
    expected = next_head(0, e.content, e.meta, e.read_point, e.biz_location, e.event_id, e.related, trace.grower)
    assert head(trace, e.subject) == (expected, 1)
    assert head(trace, e.subject, brand=2) == (0, 0)


@pytest.mark.parametrize(
    ("subject", "binding"),
    [
        (item_id(GTIN, "A"), (ITEM, GTIN, code("A"))),
        (item_id(GTIN_2, "SERIAL-0123456789-XY"), (ITEM, GTIN_2, code("SERIAL-0123456789-XY"))),
        (lot_id(GTIN, "LOT 7/2025"), (LOT, GTIN, code("LOT 7/2025"))),
        (product_id(GTIN_2), (PRODUCT, GTIN_2, ZERO32)),
        (sscc_id(sscc(42)), (CONTAINER, 0, code(sscc(42)))),
        # Containers live in the recording brand's namespace: any company prefix is accepted.
        (sscc_id(sscc(7, "4006381")), (CONTAINER, 0, code(sscc(7, "4006381")))),
        # Any other GS1-identified subject (here a GRAI): the brand's namespace, an id of its own.
        (asset_id(b"/8003/04012345111118123"), (5, 0, keccak(b"/8003/04012345111118123"))),
    ],
    ids=["item", "item-20-bytes", "lot", "product-class", "container", "container-foreign-prefix", "asset"],
)
def test_record_binds_each_kind_of_subject(trace: TraceEnv, subject: bytes, binding: tuple[int, int, bytes]) -> None:
    trace.record([E(subject, binding).abi()])
    assert head(trace, subject)[1] == 1


def test_record_later_entries_ignore_the_binding(trace: TraceEnv) -> None:
    trace.record([item("SN1").abi()])
    trace.record([E(item_id(GTIN, "SN1")).abi()])  # zeros
    trace.record([E(item_id(GTIN, "SN1"), (9, OTHER_GTIN, code("junk"))).abi()])  # ignored
    assert head(trace, item_id(GTIN, "SN1"))[1] == 3


@pytest.mark.parametrize(
    ("subject", "binding"),
    [
        (item_id(GTIN, "A"), (0, GTIN, code("A"))),
        (item_id(GTIN, "A"), (5, GTIN, code("A"))),
        (asset_id(b"/8003/04012345111118123"), (5, 0, ZERO32)),
        (item_id(GTIN, "A"), (255, GTIN, code("A"))),
        (item_id(GTIN, "A"), (ITEM, GTIN, ZERO32)),
        (item_id(GTIN, "A" * 21), (ITEM, GTIN, code("A" * 21))),
        (item_id(GTIN, "A"), (ITEM, GTIN, b"A" + b"\0" * 30 + b"B")),
        (lot_id(GTIN, "L1"), (LOT, GTIN, ZERO32)),
        (product_id(GTIN), (PRODUCT, GTIN, code("1"))),
        (sscc_id(sscc(1)), (CONTAINER, 0, code(sscc(1)[:-1] + str((int(sscc(1)[-1]) + 1) % 10)))),
        (sscc_id(sscc(1)), (CONTAINER, 0, code(sscc(1)[:17]))),
        (sscc_id(sscc(1)), (CONTAINER, 0, code(sscc(1) + "0"))),
        (sscc_id(sscc(1)), (CONTAINER, 0, code("39506000000000001A"))),
        (sscc_id(sscc(1)), (CONTAINER, 0, code("3950600000/000001" + "0"))),
        (sscc_id(sscc(1)), (CONTAINER, GTIN, code(sscc(1)))),
    ],
    ids=[
        "kind-0",
        "asset-with-gtin-and-code",
        "asset-without-path-hash",
        "kind-255",
        "serial-empty",
        "serial-21-bytes",
        "serial-not-left-aligned",
        "lot-empty",
        "product-with-code",
        "sscc-bad-check-digit",
        "sscc-17-digits",
        "sscc-19-digits",
        "sscc-letter",
        "sscc-below-0",
        "sscc-with-gtin",
    ],
)
def test_record_reverts_on_invalid_binding(trace: TraceEnv, subject: bytes, binding: tuple[int, int, bytes]) -> None:
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.record(1, [E(subject, binding).abi()]).transact({"from": trace.grower}),
        "TraceBindingInvalid",
        subject=subject,
        kind=binding[0],
    )


@pytest.mark.parametrize(
    ("subject", "binding", "computed"),
    [
        (item_id(GTIN, "A"), (ITEM, GTIN, code("B")), item_id(GTIN, "B")),
        (item_id(GTIN, "A"), (ITEM, GTIN_2, code("A")), item_id(GTIN_2, "A")),
        (item_id(GTIN, "A"), (LOT, GTIN, code("A")), lot_id(GTIN, "A")),
        (lot_id(GTIN, "A"), (ITEM, GTIN, code("A")), item_id(GTIN, "A")),
        (product_id(GTIN), (PRODUCT, GTIN_2, ZERO32), product_id(GTIN_2)),
        (sscc_id(sscc(1)), (CONTAINER, 0, code(sscc(2))), sscc_id(sscc(2))),
        (asset_id(b"/8004/0401234AB1"), (5, 0, keccak(b"/8004/0401234AB2")), asset_id(b"/8004/0401234AB2")),
    ],
    ids=["other-serial", "other-gtin", "lot-for-item", "item-for-lot", "other-product", "other-sscc", "other-asset"],
)
def test_record_reverts_on_subject_mismatch(trace: TraceEnv, subject: bytes, binding: tuple[int, int, bytes], computed: bytes) -> None:
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.record(1, [E(subject, binding).abi()]).transact({"from": trace.grower}),
        "TraceSubjectMismatch",
        subject=subject,
        computed=computed,
    )


def test_record_reverts_for_unregistered_product(trace: TraceEnv) -> None:
    body = "0950600099999"  # prefix of brand 1, never registered
    gtin = int(body + str(gtin_check_digit(body)))
    for e in (item("X", gtin), E(lot_id(gtin, "L"), (LOT, gtin, code("L"))), E(product_id(gtin), (PRODUCT, gtin, ZERO32))):
        expect_revert(
            trace.abi,
            lambda e=e: trace.ledger.functions.record(1, [e.abi()]).transact({"from": trace.grower}),
            "TraceSubjectNotOfBrand",
            subject=e.subject,
            brand=1,
            productBrand=0,
        )


def test_record_reverts_for_gtin_beyond_14_digits(trace: TraceEnv) -> None:
    """A GTIN of 10^14 or more renders as its low 14 digits, but is no registered product."""
    e = E(item_id(GTIN, "X"), (ITEM, GTIN + 10**14, code("X")))
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.record(1, [e.abi()]).transact({"from": trace.grower}),
        "TraceSubjectNotOfBrand",
        subject=e.subject,
        brand=1,
        productBrand=0,
    )


@pytest.mark.parametrize("cached", [False, True], ids=["first-use-of-gtin", "gtin-known-to-the-ledger"])
def test_record_refuses_actor_of_another_brand_on_this_brands_item(trace: TraceEnv, cached: bool) -> None:
    if cached:
        trace.record([item("OWN").abi()])  # brand 1's own first entry copies the GTIN's brand
    e = item("SN1")
    # The carrier is an actor of brand 2 only: refused as an actor of brand 1, ...
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.record(1, [e.abi()]).transact({"from": trace.carrier}),
        "TraceNotActor",
        brand=1,
        account=trace.carrier,
    )
    # ... and refused, as brand 2, on brand 1's goods.
    for entry in (e, E(lot_id(GTIN, "L1"), (LOT, GTIN, code("L1"))), E(product_id(GTIN), (PRODUCT, GTIN, ZERO32))):
        expect_revert(
            trace.abi,
            lambda entry=entry: trace.ledger.functions.record(2, [entry.abi()]).transact({"from": trace.carrier}),
            "TraceSubjectNotOfBrand",
            subject=entry.subject,
            brand=2,
            productBrand=1,
        )
    trace.record([item("OWN-2", OTHER_GTIN).abi()], trace.carrier, brand=2)  # its own brand's goods


def test_record_keeps_one_chain_per_brand_and_subject(trace: TraceEnv) -> None:
    digits = sscc(77)
    trace.record([container(digits).abi()])
    trace.record([container(digits).abi(), E(sscc_id(digits)).abi()], trace.carrier, brand=2)
    assert head(trace, sscc_id(digits), 1)[1] == 1
    assert head(trace, sscc_id(digits), 2)[1] == 2
    assert heads_from_logs(trace, 1)[sscc_id(digits)] == head(trace, sscc_id(digits), 1)[0]
    assert heads_from_logs(trace, 2)[sscc_id(digits)] == head(trace, sscc_id(digits), 2)[0]


# --------------------------------------------------------------------------------------------
# Recording: who, what, batches
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "brand_admin", "registrant", "other_admin"])
def test_record_refused_to_non_actor(trace: TraceEnv, who: str) -> None:
    account = getattr(trace.actors, who)
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.record(1, [item("SN1").abi()]).transact({"from": account}),
        "TraceNotActor",
        brand=1,
        account=account,
    )


def test_record_refused_to_revoked_actor(trace: TraceEnv) -> None:
    trace.record([item("SN1").abi()])
    trace.send(trace.ledger.functions.revokeActor(1, trace.grower), trace.actors.brand_admin)
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.record(1, [E(item_id(GTIN, "SN1")).abi()]).transact({"from": trace.grower}),
        "TraceNotActor",
        brand=1,
        account=trace.grower,
    )
    assert head(trace, item_id(GTIN, "SN1"))[1] == 1  # its past entry stands


def test_record_reverts_on_empty_batch(trace: TraceEnv) -> None:
    expect_revert(trace.abi, lambda: trace.ledger.functions.record(1, []).transact({"from": trace.grower}), "TraceBatchEmpty")


def test_record_reverts_on_empty_content(trace: TraceEnv) -> None:
    good, bad = item("SN1"), item("SN2", content=ZERO32)
    expect_revert(
        trace.abi,
        lambda: trace.ledger.functions.record(1, [good.abi(), bad.abi()]).transact({"from": trace.grower}),
        "TraceContentEmpty",
        subject=bad.subject,
    )
    assert head(trace, good.subject) == (0, 0)  # the whole batch reverted


def test_record_accepts_zero_optional_fields(trace: TraceEnv) -> None:
    e = item("SN1", meta=ZERO32, read_point=ZERO32, biz_location=ZERO32, event_id=ZERO32)
    receipt = trace.record([e.abi()])
    (recorded,) = trace.events(receipt, "Recorded")
    assert (recorded["readPoint"], recorded["bizLocation"], recorded["eventId"]) == (ZERO32, ZERO32, ZERO32)
    assert head(trace, e.subject)[0] == next_head(0, e.content, ZERO32, ZERO32, ZERO32, ZERO32, [], trace.grower)


def test_record_batch_mixes_first_and_later_entries(trace: TraceEnv) -> None:
    old = item("OLD")
    trace.record([old.abi()])
    digits = sscc(5)
    batch = [
        item("NEW-1"),  # first
        E(old.subject),  # later, binding zero
        container(digits, related=[item_id(GTIN, "NEW-1"), old.subject]),  # first, with children
        E(item_id(GTIN, "NEW-1")),  # later: bound earlier in the same batch
        E(lot_id(GTIN_2, "L9"), (LOT, GTIN_2, code("L9")), related=[rand32(), rand32()]),  # first, other product
        E(old.subject),
    ]
    receipt = trace.record([e.abi() for e in batch])
    assert len(trace.events(receipt, "Recorded")) == 6
    assert len(trace.events(receipt, "Linked")) == 4
    expected = {old.subject: next_head(0, old.content, old.meta, old.read_point, old.biz_location, old.event_id, [], trace.grower)}
    for e in batch:
        expected[e.subject] = next_head(
            expected.get(e.subject, 0), e.content, e.meta, e.read_point, e.biz_location, e.event_id, e.related, trace.grower
        )
    for subject, word in expected.items():
        assert head(trace, subject)[0] == word
    assert head(trace, old.subject)[1] == 3
    assert head(trace, item_id(GTIN, "NEW-1"))[1] == 2
    assert heads_from_logs(trace, 1) == expected


def test_record_emits_linked_for_each_related_in_order(trace: TraceEnv) -> None:
    digits = sscc(9)
    children = [item_id(GTIN, f"C{i}") for i in range(5)]
    e = container(digits, related=children)
    receipt = trace.record([e.abi()])
    linked = trace.events(receipt, "Linked")
    assert [dict(x) for x in linked] == [{"related": c, "subject": e.subject, "brand": 1, "content": e.content} for c in children]
    # Recorded comes first, then its Linked logs.
    order = [log["topics"][0] for log in receipt["logs"]]
    assert order[0] == keccak(b"Recorded(bytes32,uint32,address,bytes32,bytes32,bytes32,bytes32,bytes32)")
    assert set(order[1:]) == {keccak(b"Linked(bytes32,bytes32,uint32,bytes32)")}
    # A consumer finds the containers of a child by the `related` topic.
    found = trace.ledger.events.Linked.get_logs(from_block=0, argument_filters={"related": children[3]})
    assert [log["args"]["subject"] for log in found] == [e.subject]
    assert head(trace, e.subject)[0] == next_head(0, e.content, e.meta, e.read_point, e.biz_location, e.event_id, children, trace.grower)


def test_record_transformation_links_inputs_to_the_output_lot(trace: TraceEnv) -> None:
    inputs = [lot_id(GTIN, "STRAWBERRY-1"), lot_id(GTIN, "STRAWBERRY-2")]
    trace.record([E(s, (LOT, GTIN, code(c))).abi() for s, c in zip(inputs, ["STRAWBERRY-1", "STRAWBERRY-2"], strict=True)])
    output = E(lot_id(GTIN_2, "JAM-1"), (LOT, GTIN_2, code("JAM-1")), related=inputs)
    trace.record([output.abi()])
    found = trace.ledger.events.Linked.get_logs(from_block=0, argument_filters={"related": inputs[0]})
    assert [log["args"]["subject"] for log in found] == [output.subject]


def test_record_correction_is_a_new_entry_referencing_the_erroneous_event(trace: TraceEnv) -> None:
    wrong = item("SN1")
    trace.record([wrong.abi()])
    first_head = head(trace, wrong.subject)[0]
    correction = E(wrong.subject, meta=(1).to_bytes(32, "big"), event_id=wrong.event_id)  # flags bit: error declaration
    receipt = trace.record([correction.abi()])
    (recorded,) = trace.events(receipt, "Recorded")
    assert recorded["eventId"] == wrong.event_id
    word, count = head(trace, wrong.subject)
    assert count == 2
    assert word == next_head(
        first_head,
        correction.content,
        correction.meta,
        correction.read_point,
        correction.biz_location,
        correction.event_id,
        [],
        trace.grower,
    )


def test_record_by_several_actors_chains_each_actor(trace: TraceEnv) -> None:
    store = trace.actors.seller
    trace.send(trace.ledger.functions.grantActor(1, store, RETAIL, ZERO32), trace.actors.brand_admin)
    subject = item_id(GTIN, "SN1")
    trace.record([item("SN1").abi()])
    trace.record([E(subject).abi()], store)
    trace.record([E(subject).abi()])
    assert head(trace, subject)[1] == 3
    assert heads_from_logs(trace, 1)[subject] == head(trace, subject)[0]
    recorded = trace.ledger.events.Recorded.get_logs(from_block=0, argument_filters={"subject": subject})
    assert [log["args"]["actor"] for log in recorded] == [trace.grower, store, trace.grower]


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------


def test_head_of_unknown_chain_is_zero(trace: TraceEnv) -> None:
    assert head(trace, item_id(GTIN, "NOPE")) == (0, 0)


def test_head_is_at_the_documented_storage_slot(trace: TraceEnv) -> None:
    """A light client checks a head with eth_getProof at keccak256(subject ++ keccak256(brand ++ 0))."""
    e = item("SN1")
    trace.record([e.abi()])
    slot = keccak(e.subject + keccak(abi_encode(["uint32", "uint256"], [1, 0])))
    stored = trace.env.w3.eth.get_storage_at(trace.ledger.address, int.from_bytes(slot, "big"))
    assert int.from_bytes(stored, "big") == head(trace, e.subject)[0] != 0


def test_heads_returns_each_head_and_count(trace: TraceEnv) -> None:
    a, b, c = item_id(GTIN, "A"), item_id(GTIN, "B"), item_id(GTIN, "C")
    trace.record([item("A").abi(), item("B").abi(), E(b).abi()])
    words, counts = trace.ledger.functions.heads(1, [a, c, b, a]).call()
    assert counts == [1, 0, 2, 1]
    assert [int.from_bytes(w, "big") for w in words] == [head(trace, s)[0] for s in (a, c, b, a)]
    assert [int.from_bytes(w, "big") & COUNT_MASK for w in words] == counts
    assert trace.ledger.functions.heads(1, []).call() == [[], []]


# --------------------------------------------------------------------------------------------
# Hash chain: the off-chain recomputation always equals the chain
# --------------------------------------------------------------------------------------------


def test_hash_chain_recomputed_from_logs_matches_head(trace: TraceEnv) -> None:
    subject = item_id(GTIN, "SN1")
    digits = sscc(3)
    trace.record([item("SN1").abi()])
    trace.record([E(subject, related=[lot_id(GTIN, "L1")]).abi(), E(subject).abi()])
    trace.record([container(digits, related=[subject]).abi()])
    trace.record([E(sscc_id(digits)).abi()])
    trace.record([E(subject, related=[sscc_id(digits), sscc_id(digits)]).abi()])  # repeated related ids
    recomputed = heads_from_logs(trace, 1)
    assert recomputed[subject] == head(trace, subject)[0]
    assert recomputed[sscc_id(digits)] == head(trace, sscc_id(digits))[0]
    assert head(trace, subject)[1] == 4


def test_tampered_history_does_not_match_head(trace: TraceEnv) -> None:
    entries = [item("SN1"), E(item_id(GTIN, "SN1")), E(item_id(GTIN, "SN1"))]
    for e in entries:
        trace.record([e.abi()])
    word = head(trace, entries[0].subject)[0]

    def replay(es: list[E]) -> int:
        h = 0
        for e in es:
            h = next_head(h, e.content, e.meta, e.read_point, e.biz_location, e.event_id, e.related, trace.grower)
        return h

    assert replay(entries) == word
    tampered = [entries[0], E(entries[1].subject, content=rand32(), meta=entries[1].meta), entries[2]]
    assert replay(tampered) != word
    assert replay([entries[0], entries[2], entries[1]]) != word  # reordered
    assert replay(entries[:2]) != word  # truncated


SUBJECTS = [item("P0"), item("P1", GTIN_2), E(lot_id(GTIN, "PL"), (LOT, GTIN, code("PL"))), container(sscc(11))]
step = st.tuples(
    st.integers(min_value=0, max_value=len(SUBJECTS) - 1),  # subject
    st.integers(min_value=0, max_value=1),  # actor: grower or store
    st.lists(st.binary(min_size=32, max_size=32), max_size=3),  # related
    st.binary(min_size=32, max_size=32).filter(any),  # content (nonzero)
    st.binary(min_size=32, max_size=32),  # meta
    st.booleans(),  # ends the transaction
)


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_property_recomputed_heads_always_equal_the_chain(_trace_session: TraceEnv, steps: list[Any]) -> None:
    trace = _trace_session
    tester = trace.env.tester
    snapshot = tester.take_snapshot()
    try:
        store = trace.actors.seller
        trace.send(trace.ledger.functions.grantActor(1, store, RETAIL, ZERO32), trace.actors.brand_admin)
        expected: dict[bytes, tuple[int, int]] = {}
        batch: list[E] = []
        receipts: list[Any] = []
        sender = trace.grower

        def flush() -> None:
            nonlocal batch
            if batch:
                receipts.append(trace.record([e.abi() for e in batch], sender))
                batch = []

        for subject_index, actor_index, related, content, meta, end in steps:
            who = (trace.grower, store)[actor_index]
            if who != sender:
                flush()
                sender = who
            base = SUBJECTS[subject_index]
            e = E(base.subject, base.binding, list(related), content, meta, rand32(), ZERO32, rand32())
            batch.append(e)
            word, count = expected.get(e.subject, (0, 0))
            word = next_head(word, e.content, e.meta, e.read_point, e.biz_location, e.event_id, e.related, who)
            expected[e.subject] = (word, count + 1)
            if end:
                flush()
        flush()
        subjects = [s.subject for s in SUBJECTS]
        words, counts = trace.ledger.functions.heads(1, subjects).call()
        onchain = {s: (int.from_bytes(w, "big"), c) for s, w, c in zip(subjects, words, counts, strict=True) if c}
        assert onchain == expected
        assert heads_from_logs(trace, 1, receipts) == {s: w for s, (w, _) in expected.items()}
    finally:
        tester.revert_to_snapshot(snapshot)


# --------------------------------------------------------------------------------------------
# Gas (the same schedule as Anvil: py-evm Prague)
# --------------------------------------------------------------------------------------------


def test_record_gas_meets_targets(trace: TraceEnv) -> None:
    trace.record([item("WARM").abi()])  # the ledger has met GTIN: an item's usual first entry
    first = trace.record([item("SN1").abi()])["gasUsed"]
    single = trace.record([E(item_id(GTIN, "SN1")).abi()])["gasUsed"]
    subjects = [item_id(GTIN, f"B{i}") for i in range(50)]
    trace.record([item(f"B{i}").abi() for i in range(50)])
    batch = trace.record([E(s).abi() for s in subjects])["gasUsed"]
    assert first <= 60_000, first
    assert single <= 40_000, single
    assert batch / 50 <= 15_000, batch


def test_record_on_a_pallet_costs_what_an_item_event_costs(trace: TraceEnv) -> None:
    digits = sscc(1000)
    trace.record([container(digits, related=[rand32() for _ in range(1000)]).abi()])
    trace.record([item("SN1").abi()])
    pallet = trace.record([E(sscc_id(digits)).abi()])["gasUsed"]
    single = trace.record([E(item_id(GTIN, "SN1")).abi()])["gasUsed"]
    assert abs(pallet - single) <= 0.05 * single, (pallet, single)


def test_record_linked_cost_per_child_is_bounded(trace: TraceEnv) -> None:
    empty = trace.record([container(sscc(200)).abi()])["gasUsed"]
    packed = trace.record([container(sscc(201), related=[rand32() for _ in range(100)]).abi()])["gasUsed"]
    assert (packed - empty) / 100 <= 2_800, packed - empty


def test_another_brands_actor_cannot_start_an_asset_chain_on_a_brands_item(trace: TraceEnv) -> None:
    """Brand 2's carrier names brand 1's item (or lot) as an "asset" of its own: asset ids are
    keccak256(abi.encode(TRACE_ASSET_DOMAIN, pathHash)), never an item's, so the ledger refuses
    the chain instead of letting brand 2 write a history a reader would take for the item's."""
    for victim in (item_id(GTIN, "SN-7"), lot_id(GTIN, "L7")):
        expect_revert(
            trace.abi,
            lambda victim=victim: trace.ledger.functions.record(2, [E(victim, (5, 0, victim)).abi()]).transact({"from": trace.carrier}),
            "TraceSubjectMismatch",
            subject=victim,
            computed=asset_id_of(victim),
        )
    assert head(trace, item_id(GTIN, "SN-7"), brand=2) == (0, 0)
