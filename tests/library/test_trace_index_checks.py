"""An item's verdict read through an index its operator altered (issue 16): a recall in the trace
counts only from a chain that ends at the head the ledger stores, and a trace that does not is
said to be unverified, neither recalled nor "not recalled" as a checked fact."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from web3 import Web3
from web3.datastructures import AttributeDict
from web3.types import LogReceipt

from o2ochain import epcis
from o2ochain._chain.index import attach_index
from o2ochain.identity import catalogue_from_rows
from tests.conftest import GTIN_A
from tests.library.test_trace import TraceWorld, doc, item_uri, lot_q, tw, when

__all__ = ["tw"]  # the fixture, shared from test_trace.py

Alter = Callable[[LogReceipt], LogReceipt | None]


class AlteredIndex:
    """An index that serves the node's logs after ``alter`` (None: the row was deleted)."""

    def __init__(self, w3: Web3, alter: Alter) -> None:
        self.w3, self.alter = w3, alter

    def get_logs(
        self, *, chain_id: int, address: str | Sequence[str], topics: Sequence[Any], from_block: int, to_block: int | None
    ) -> tuple[list[LogReceipt], int]:
        head = int(self.w3.eth.block_number)
        last = head if to_block is None else min(to_block, head)
        logs = self.w3.eth.get_logs({"address": address, "topics": list(topics), "fromBlock": from_block, "toBlock": last})  # type: ignore[typeddict-item]
        return [x for x in (self.alter(log) for log in logs) if x is not None], head


def _record(tw: TraceWorld, disposition: str) -> None:
    w = tw.world
    w.chain.registrant(w.registrant).register_items(catalogue_from_rows([(GTIN_A, "R1", "RL1")]))
    event = {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "holding", "disposition": disposition}
    w.chain.actor(tw.farm).import_document(doc({**event, "quantityList": [lot_q("RL1")], **when(0)}))


def _recorded(tw: TraceWorld) -> bytes:
    return bytes.fromhex(str(tw.world.chain.trace.contract.events.Recorded().topic).removeprefix("0x"))


def test_index_operator_editing_a_disposition_to_recalled_gets_the_trace_unverified_not_the_item_recalled(tw: TraceWorld) -> None:
    _record(tw, "in_progress")
    chain = tw.world.chain
    assert (chain.identity.verify(item_uri("R1")).verdict, chain.identity.verify(item_uri("R1")).trace_unverified) == ("authentic", False)
    recalled = epcis.code_of_disposition("recalled").to_bytes(2, "big")

    def to_recalled(log: LogReceipt) -> LogReceipt:
        if bytes(log["topics"][0]) != _recorded(tw):
            return log
        data = bytes(log["data"])
        meta = data[32:64]
        return AttributeDict({**dict(log), "data": data[:32] + meta[:4] + recalled + meta[6:] + data[64:]})  # type: ignore[return-value]

    attach_index(chain.w3, AlteredIndex(chain.w3, to_recalled))
    assert [(h.disposition, h.verified) for h in chain.trace.history(item_uri("R1"))] == [("recalled", False)]  # the edit is read
    got = chain.identity.verify(item_uri("R1"))
    assert (got.verdict, got.recalled_in_trace, got.trace_unverified) == ("authentic", False, True)
    assert got.to_json()["traceUnverified"] is True


def test_index_operator_deleting_a_recall_gets_the_trace_unverified(tw: TraceWorld) -> None:
    _record(tw, "recalled")
    chain = tw.world.chain
    truth = chain.identity.verify(item_uri("R1"))
    assert (truth.verdict, truth.recalled_in_trace, truth.trace_unverified) == ("recalled", True, False)
    attach_index(chain.w3, AlteredIndex(chain.w3, lambda log: None if bytes(log["topics"][0]) == _recorded(tw) else log))
    got = chain.identity.verify(item_uri("R1"))
    assert (got.recalled_in_trace, got.trace_unverified) == (False, True)
