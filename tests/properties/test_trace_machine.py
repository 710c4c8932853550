"""TraceLedger: every hash chain verifies, through any sequence of batches of entries (single or
several per transaction, the same subject twice in one batch, with or without related ids) and
refused records: replaying the events from the logs with the library (``Trace.chains`` and
``Trace.check_chain``) reproduces each chain head the ledger stores, and so does an independent
model of the head formula fed with what was sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from o2ochain import gs1
from o2ochain.deployments import ContractDeployment, Deployment
from o2ochain.epcis import EventStore
from o2ochain.identity import Identity
from o2ochain.trace import ChainEntry, Trace, recompute_head
from tests.contracts.conftest import GTIN, OTHER_GTIN, TRACE_ARTIFACT, code, item_id
from tests.properties._chain import Abi
from tests.properties.conftest import World, machine_settings

ITEM, CONTAINER = 1, 4
ZERO32 = b"\x00" * 32
COUNT = (1 << 64) - 1
_TOPICS = {name: "0x" + topic.hex() for topic, (name, _) in Abi(TRACE_ARTIFACT["abi"]).events.items()}
RECORDED, LINKED = _TOPICS["Recorded"], _TOPICS["Linked"]
SERIALS = ("T1", "T2", "T3")
SSCC = gs1.make_sscc("9506000", 1)
# The subjects of the machine: three items of brand 1 and one of its containers, with the
# binding their first entry needs.
SUBJECTS: list[tuple[bytes, tuple[int, int, bytes]]] = [(item_id(GTIN, s), (ITEM, GTIN, code(s))) for s in SERIALS] + [
    (keccak(f"/00/{SSCC}".encode()), (CONTAINER, 0, code(SSCC)))
]


def model_head(prev: int, fields: tuple[bytes, ...], related: list[bytes], actor: str) -> int:
    """The head formula of ITraceLedger, written from its documentation, not from the library."""
    content, meta, read_point, biz_location, event_id = fields
    related_hash = keccak(b"".join(related)) if related else ZERO32
    h = keccak(
        abi_encode(
            ["uint256", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "address"],
            [prev, content, meta, read_point, biz_location, event_id, related_hash, actor],
        )
    )
    return ((int.from_bytes(h, "big") % (1 << 192)) << 64) | ((prev & ((1 << 64) - 1)) + 1)


# An entry as the strategies draw it: subject index, five 32-byte fields, related subject indexes.
word = st.integers(0, 2**256 - 1).map(lambda n: n.to_bytes(32, "big"))
content = st.integers(1, 2**256 - 1).map(lambda n: n.to_bytes(32, "big"))  # never 0
entries = st.tuples(
    st.integers(0, len(SUBJECTS) - 1),
    st.tuples(content, word, word, word, word),
    st.lists(st.integers(0, len(SUBJECTS) - 1), max_size=3),
)


class TraceMachine(RuleBasedStateMachine):
    world: World  # set by the test
    trace: Trace

    def __init__(self) -> None:
        super().__init__()
        self.node = self.world.node
        self.snapshot = self.node.snapshot()
        self.heads: dict[bytes, int] = {}

    def as_abi(self, subject: int, fields: tuple[bytes, ...], related: list[int], bind: bool = True) -> tuple[Any, ...]:
        sid, binding = SUBJECTS[subject]
        return (sid, *fields, binding if bind else (0, 0, ZERO32), [SUBJECTS[r][0] for r in related])

    @rule(batch=st.lists(entries, min_size=1, max_size=3), unbound_later=st.booleans())
    def record(self, batch: list[tuple[int, tuple[bytes, ...], list[int]]], unbound_later: bool) -> None:
        # Later entries of a chain may leave the binding out (it is read on the first only).
        seen = set(self.heads)
        abi = []
        for subject, fields, related in batch:
            sid = SUBJECTS[subject][0]
            abi.append(self.as_abi(subject, fields, related, bind=not (unbound_later and sid in seen)))
            seen.add(sid)
        tx = self.node.send(self.world.ledger, "record", [1, abi], self.world.grower)
        for subject, fields, related in batch:
            sid = SUBJECTS[subject][0]
            self.heads[sid] = model_head(self.heads.get(sid, 0), fields, [SUBJECTS[r][0] for r in related], self.world.grower)
        assert len(self.node.events(self.world.ledger, tx, "Recorded")) == len(batch)
        assert len(self.node.events(self.world.ledger, tx, "Linked")) == sum(len(r) for _, _, r in batch)

    @rule(
        entry=entries,
        refusal=st.sampled_from(["another brand's actor", "no content", "mismatched binding", "another brand's item"]),
    )
    def refused(self, entry: tuple[int, tuple[bytes, ...], list[int]], refusal: str) -> None:
        """A record the ledger refuses, with the reason; nothing is written."""
        w, node = self.world, self.node
        subject, fields, related = entry
        serial = SERIALS[subject % len(SERIALS)]
        if refusal == "another brand's actor":
            name, args = node.refusal(w.ledger, "record", [1, [self.as_abi(*entry)]], w.carrier)
            assert (name, args["account"]) == ("TraceNotActor", w.carrier)
        elif refusal == "no content":
            name, args = node.refusal(w.ledger, "record", [1, [self.as_abi(subject, (ZERO32, *fields[1:]), related)]], w.grower)
            assert (name, args["subject"]) == ("TraceContentEmpty", SUBJECTS[subject][0])
        elif refusal == "mismatched binding":  # this brand's item bound as another's: the ids differ
            sid = item_id(GTIN, serial)
            if sid in self.heads:
                return  # the binding is only read on a chain's first entry
            binding = (ITEM, OTHER_GTIN, code(serial))
            name, args = node.refusal(w.ledger, "record", [1, [(sid, *fields, binding, [])]], w.grower)
            assert (name, args["subject"]) == ("TraceSubjectMismatch", sid)
        else:  # the other brand's item, rightly bound: not this brand's to start
            sid = item_id(OTHER_GTIN, serial)
            binding = (ITEM, OTHER_GTIN, code(serial))
            name, args = node.refusal(w.ledger, "record", [1, [(sid, *fields, binding, [])]], w.grower)
            assert (name, args["subject"], args["brand"]) == ("TraceSubjectNotOfBrand", sid, 1)

    @invariant()
    def every_chain_replays_from_the_logs_to_its_stored_head(self) -> None:
        """Each step: the logs, replayed with the library's head formula, give the stored heads;
        so does the model fed with what was sent."""
        w, node = self.world, self.node
        sids = [sid for sid, _ in SUBJECTS]
        query = {"address": w.ledger.address, "fromBlock": "0x0", "toBlock": "latest"}
        recorded, linked, heads = node.batch(
            [
                ("eth_getLogs", [query | {"topics": [RECORDED]}]),
                ("eth_getLogs", [query | {"topics": [LINKED]}]),
                ("eth_call", [{"to": w.ledger.address, "data": Abi.of(w.ledger).encode("heads", [1, sids])}, "latest"]),
            ]
        )
        words, counts = Abi.of(w.ledger).decode_output("heads", bytes.fromhex(heads[2:]))
        replayed = replay(w, recorded + linked)
        for sid, stored, count in zip(sids, words, counts, strict=True):
            model = self.heads.get(sid, 0)
            assert int.from_bytes(stored, "big") == model and count == model & COUNT
            assert replayed.get(sid, ZERO32) == stored

    def teardown(self) -> None:
        """At the end of each example, the library's own reading of the logs (``Trace.chains``)
        replays to the heads the invariant found stored, then the chain goes back to the snapshot."""
        try:
            if self.heads:
                chains = self.trace.chains(list(self.heads), brand=1)
                assert {sid for _, sid in chains} == set(self.heads)
                for (_, sid), chain in chains.items():
                    word = ZERO32
                    for entry in chain:
                        word = recompute_head(word, entry)
                    assert int.from_bytes(word, "big") == self.heads[sid]
        finally:
            self.node.revert(self.snapshot)


def replay(world: World, logs: list[dict[str, Any]]) -> dict[bytes, bytes]:
    """The head of every chain of brand 1 from raw Recorded and Linked logs: an entry's related
    ids are the Linked logs of its subject that follow its Recorded log in the same transaction."""
    abi = Abi.of(world.ledger)
    chains: dict[bytes, list[ChainEntry]] = {}
    for log in sorted(logs, key=lambda g: (int(g["blockNumber"], 16), int(g["logIndex"], 16))):
        name, a = abi.decode_log(log) or ("", {})
        if a["brand"] != 1:
            continue
        if name == "Recorded":
            fields = (a["content"], a["meta"], a["readPoint"], a["bizLocation"], a["eventId"])
            entry = ChainEntry(1, a["subject"], a["actor"], *fields, related=[], block=0, tx_hash=log["transactionHash"], log_index=0)
            chains.setdefault(a["subject"], []).append(entry)
        else:
            last = chains[a["subject"]][-1]
            assert (last.tx_hash, last.content) == (log["transactionHash"], a["content"])
            last.related.append(a["related"])
    heads = {}
    for sid, entries in chains.items():
        word = ZERO32
        for entry in entries:
            word = recompute_head(word, entry)
        heads[sid] = word
    return heads


@pytest.fixture
def trace_reader(world: World, tmp_path: Path) -> Iterator[Trace]:
    deployment = Deployment(
        chain_id=31337,
        contracts={"TraceLedger": ContractDeployment(world.ledger.address, 0, "0x")},
        deployer=world.admin,
        version="test",
    )
    # The identity service is only read by history(), which this test does not call.
    yield Trace(world.node.w3, deployment, cast(Identity, None), EventStore(tmp_path / "events"))


def test_every_hash_chain_verifies_from_the_logs(world: World, trace_reader: Trace) -> None:
    TraceMachine.world = world
    TraceMachine.trace = trace_reader
    run_state_machine_as_test(TraceMachine, settings=machine_settings(steps=5))
