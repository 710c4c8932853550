"""ProductRegistry: every item is registered once, whichever way it comes (explicit batches,
production lines, Merkle lots proven item by item) and in whatever order; every refusal is a typed
custom error with the item or reason, and changes nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.contracts.conftest import EXPIRY, GTIN, GTIN_2, MerkleTree, code, item_id, lot_id, merkle_leaf
from tests.properties.conftest import World, machine_settings

GTINS = (GTIN, GTIN_2)
LOTS = ("L1", "L2")
# A small pool of serials, so that the same item is offered again and again.
SERIALS = ("A0", "A1", "A2", "A3", "A4", "A5")
# A Merkle lot of GTIN: two items of its own and two that are also in the explicit pool.
MERKLE_LOT = "M1"
MERKLE_SERIALS = ("M0", "M1", "A4", "A5")
MERKLE_LEAVES = {s: merkle_leaf(item_id(GTIN, s), lot_id(GTIN, MERKLE_LOT)) for s in MERKLE_SERIALS}
TREE = MerkleTree(list(MERKLE_LEAVES.values()))
UNKNOWN_GTIN = 9506000999994  # of the brand's prefix, never registered as a product
UNIVERSE = [item_id(g, s) for g in GTINS for s in SERIALS] + [item_id(GTIN, s) for s in MERKLE_SERIALS if s not in SERIALS]

batch_strategy = st.tuples(
    st.sampled_from(range(len(GTINS))),
    st.sampled_from(range(len(LOTS))),
    st.lists(st.sampled_from(SERIALS), min_size=1, max_size=3),
)


class RegistryMachine(RuleBasedStateMachine):
    world: World  # set by the test

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.node = w.node
        self.snapshot = self.node.snapshot()
        self.registered: set[bytes] = set()
        self.registrations: Counter[bytes] = Counter()  # ItemRegistered / ItemProven events per item
        self.lines: dict[str, tuple[int, str] | None] = {w.registrant: None, w.registrant2: None}
        self.root_committed = False
        self.line_roots = 0  # roots committed from lines, each a fresh one

    def teardown(self) -> None:
        self.node.revert(self.snapshot)

    def count_events(self, tx: Any) -> None:
        w = self.world
        for e in self.node.events(w.registry, tx, "ItemRegistered") + self.node.events(w.registry, tx, "ItemProven"):
            self.registrations[e["item"]] += 1

    def refused(self, fn: str, args: list[Any], sender: str) -> tuple[str, dict[str, Any]]:
        return self.node.refusal(self.world.registry, fn, args, sender)

    # -- rules ----------------------------------------------------------------------------------

    @initialize(commit=st.booleans())
    def maybe_commit_the_merkle_lot(self, commit: bool) -> None:
        """Most examples start with the Merkle lot committed, so that its items can be proven."""
        if commit:
            self.commit_merkle_lot()

    @rule(batches=st.lists(batch_strategy, min_size=1, max_size=2), second=st.booleans())
    def register_batches(self, batches: list[tuple[int, int, list[str]]], second: bool) -> None:
        w = self.world
        sender = w.registrant2 if second else w.registrant
        args = [[(GTINS[g], code(LOTS[lot]), EXPIRY, [code(s) for s in serials]) for g, lot, serials in batches]]
        # The first item already registered (before, or earlier in the same call) refuses the call.
        seen = set(self.registered)
        repeat = None
        for g, _, serials in batches:
            for s in serials:
                item = item_id(GTINS[g], s)
                if item in seen:
                    repeat = item
                    break
                seen.add(item)
            if repeat is not None:
                break
        if repeat is not None:
            name, values = self.refused("registerItems", args, sender)
            assert (name, values["item"]) == ("IdentityItemAlreadyRegistered", repeat)
            return
        self.count_events(self.node.send(w.registry, "registerItems", args, sender))
        self.registered = seen

    @rule(gtin=st.sampled_from(range(len(GTINS))), lot=st.sampled_from(range(len(LOTS))), second=st.booleans())
    def open_line(self, gtin: int, lot: int, second: bool) -> None:
        w = self.world
        sender = w.registrant2 if second else w.registrant
        self.node.send(w.registry, "openLine", [GTINS[gtin], code(LOTS[lot]), EXPIRY, ""], sender)
        self.lines[sender] = (GTINS[gtin], LOTS[lot])

    @rule(second=st.booleans())
    def close_line(self, second: bool) -> None:
        w = self.world
        sender = w.registrant2 if second else w.registrant
        if self.lines[sender] is None:
            name, values = self.refused("closeLine", [], sender)
            assert (name, values["account"]) == ("IdentityNoOpenLine", sender)
            return
        self.node.send(w.registry, "closeLine", [], sender)
        self.lines[sender] = None

    @rule(serial=st.sampled_from(SERIALS), second=st.booleans())
    def register_on_line(self, serial: str, second: bool) -> None:
        w = self.world
        sender = w.registrant2 if second else w.registrant
        line = self.lines[sender]
        if line is None:
            name, values = self.refused("registerItem", [code(serial)], sender)
            assert (name, values["account"]) == ("IdentityNoOpenLine", sender)
            return
        item = item_id(line[0], serial)
        if item in self.registered:
            name, values = self.refused("registerItem", [code(serial)], sender)
            assert (name, values["item"]) == ("IdentityItemAlreadyRegistered", item)
            return
        self.count_events(self.node.send(w.registry, "registerItem", [code(serial)], sender))
        self.registered.add(item)

    @rule(gtin=st.sampled_from(range(len(GTINS))), lot=st.sampled_from(range(len(LOTS))), second=st.booleans())
    def commit_line_root(self, gtin: int, lot: int, second: bool) -> None:
        """A key commits a root for a lot exactly while its line is open for that lot."""
        w = self.world
        sender = w.registrant2 if second else w.registrant
        lot_ = lot_id(GTINS[gtin], LOTS[lot])
        args = [lot_, keccak(b"line root %d" % self.line_roots), 100]
        line = self.lines[sender]
        if line is None:
            name, values = self.refused("commitLineRoot", args, sender)
            assert (name, values["account"]) == ("IdentityNoOpenLine", sender)
        elif line != (GTINS[gtin], LOTS[lot]):
            name, values = self.refused("commitLineRoot", args, sender)
            assert (name, values["account"], values["lot"]) == ("IdentityLineNotForLot", sender, lot_)
        else:
            self.node.send(w.registry, "commitLineRoot", args, sender)
            self.line_roots += 1

    @rule()
    def commit_merkle_lot(self) -> None:
        w = self.world
        args = [GTIN, code(MERKLE_LOT), EXPIRY, TREE.root, len(MERKLE_SERIALS), "ipfs://lot/m1"]
        if self.root_committed:
            name, values = self.refused("commitLot", args, w.registrant)
            assert (name, values["root"]) == ("IdentityRootAlreadyCommitted", TREE.root)
            return
        self.node.send(w.registry, "commitLot", args, w.registrant)
        self.root_committed = True

    @rule(serial=st.sampled_from(MERKLE_SERIALS), tamper=st.booleans(), anyone=st.booleans())
    def prove(self, serial: str, tamper: bool, anyone: bool) -> None:
        w = self.world
        proof = TREE.proof(MERKLE_LEAVES[serial])
        if tamper:  # another item's proof
            other = MERKLE_SERIALS[(MERKLE_SERIALS.index(serial) + 1) % len(MERKLE_SERIALS)]
            proof = TREE.proof(MERKLE_LEAVES[other])
        args = [(GTIN, code(serial), code(MERKLE_LOT), TREE.root, proof)]
        sender = w.outsider if anyone else w.registrant
        item = item_id(GTIN, serial)
        if not self.root_committed:
            expected: tuple[str, str, Any] = ("IdentityRootUnknown", "root", TREE.root)
        elif tamper:
            expected = ("IdentityProofInvalid", "item", item)
        elif item in self.registered:
            expected = ("IdentityItemAlreadyRegistered", "item", item)
        else:
            self.count_events(self.node.send(w.registry, "proveItem", args, sender))
            self.registered.add(item)
            return
        name, values = self.refused("proveItem", args, sender)
        assert (name, values[expected[1]]) == (expected[0], expected[2])

    @rule(
        refusal=st.sampled_from(["outsider", "unknown product", "empty serial", "empty batch", "long serial"]),
        serial=st.sampled_from(SERIALS),
    )
    def refused_batch(self, refusal: str, serial: str) -> None:
        w = self.world
        sender, gtin, serials = w.registrant, GTIN, [code(serial)]
        if refusal == "outsider":
            sender = w.outsider
        elif refusal == "unknown product":
            gtin = UNKNOWN_GTIN
        elif refusal == "empty serial":
            serials = [code("")]
        elif refusal == "long serial":
            serials = [code("S" * 21)]
        else:
            serials = []
        name, values = self.refused("registerItems", [[(gtin, code("L1"), EXPIRY, serials)]], sender)
        expected = {
            "outsider": "AccessControlUnauthorizedAccount",
            "unknown product": "IdentityProductUnknown",
            "empty serial": "IdentitySerialInvalid",
            "long serial": "IdentitySerialInvalid",
            "empty batch": "IdentityBatchEmpty",
        }[refusal]
        assert name == expected, (name, values)

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def every_item_registered_once(self) -> None:
        on_chain = self.node.view(self.world.registry, "registered", UNIVERSE)
        assert {item for item, yes in zip(UNIVERSE, on_chain, strict=True) if yes} == self.registered
        assert set(self.registrations) == self.registered
        assert all(n == 1 for n in self.registrations.values()), self.registrations


def test_every_item_is_registered_once(world: World) -> None:
    RegistryMachine.world = world
    run_state_machine_as_test(RegistryMachine, settings=machine_settings(steps=6))
