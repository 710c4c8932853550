"""How many requests an item's history costs through an index (issue 16): on a public RPC each
round trip is 50-100 ms, so the count is pinned here, and it must not grow with the history."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import Any, cast

from web3 import Web3
from web3.middleware import Web3Middleware
from web3.types import LogReceipt, MakeRequestFn, RPCEndpoint, RPCResponse

from o2ochain._chain.index import attach_index
from o2ochain.identity import catalogue_from_rows
from tests.conftest import GTIN_B
from tests.library.test_trace import RESOLVER, TraceWorld, doc, item_uri, lot_q, sscc, tw, when

__all__ = ["tw"]  # the fixture, shared from test_trace.py


class CountingIndex:
    """An index serving the node's logs up to the block asked, counting its queries."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.queries = 0

    def get_logs(
        self, *, chain_id: int, address: str | Sequence[str], topics: Sequence[Any], from_block: int, to_block: int | None
    ) -> tuple[list[LogReceipt], int]:
        self.queries += 1
        assert to_block is not None  # get_logs always bounds what it asks
        logs = self.w3.eth.get_logs({"address": address, "topics": list(topics), "fromBlock": from_block, "toBlock": to_block})  # type: ignore[typeddict-item]
        return list(logs), to_block


class _Count(Web3Middleware):
    def __init__(self, w3: Web3, counts: Counter[str]) -> None:
        super().__init__(w3)
        self.counts = counts

    def wrap_make_request(self, make_request: MakeRequestFn) -> MakeRequestFn:
        def counted(method: RPCEndpoint, params: Any) -> RPCResponse:
            self.counts[str(method)] += 1
            return make_request(method, params)

        return counted


def _jam(tw: TraceWorld, shipments: int) -> str:
    """A jar made from a lot of berries, packed on a pallet shipped ``shipments`` times."""
    w = tw.world
    w.chain.registrant(w.registrant).register_items(catalogue_from_rows([(GTIN_B, "J1", "JAM1")]))
    pallet, jar = f"{RESOLVER}/00/{sscc(1)}", item_uri("J1", GTIN_B)
    berries = {"type": "ObjectEvent", "action": "ADD", "quantityList": [lot_q("BERRY1")]}
    made = {"type": "TransformationEvent", "inputQuantityList": [lot_q("BERRY1")], "outputQuantityList": [lot_q("JAM1", GTIN_B, 2)]}
    packed = {"type": "AggregationEvent", "action": "ADD", "parentID": pallet, "childEPCs": [jar]}
    steps = [(berries, "commissioning"), (made, "commissioning"), (packed, "packing")]
    w.chain.actor(tw.farm).import_document(doc(*[{**event, "bizStep": step, **when(hour)} for hour, (event, step) in enumerate(steps)]))
    shipping = [
        {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "epcList": [pallet], **when(3 + i / 100)}
        for i in range(shipments)
    ]
    w.chain.actor(tw.carrier).import_document(doc(*shipping), brand=w.brand)
    return item_uri("J1", GTIN_B)


def _requests(tw: TraceWorld, uri: str) -> tuple[int, Counter[str], int]:
    """Events of the history, node requests by method and index queries it took."""
    chain = tw.world.chain
    index = CountingIndex(chain.w3)
    attach_index(chain.w3, index)
    counts: Counter[str] = Counter()
    chain.w3.middleware_onion.add(cast("type[Web3Middleware]", partial(_Count, counts=counts)), name="count")
    try:
        events = chain.trace.history(uri)
    finally:
        chain.w3.middleware_onion.remove("count")
        attach_index(chain.w3, None)
    counts -= Counter({"eth_getLogs": index.queries})  # the fake index's own reads of the node
    # eth-tester's provider has web3 ask eth_accounts and eth_chainId around calls; over HTTP the
    # chain id is asked once per connection (o2ochain._chain.connection.http_web3).
    reads = Counter({m: n for m, n in counts.items() if m not in ("eth_accounts", "eth_chainId")})
    return len(events), +reads, index.queries


def test_history_through_an_index_asks_the_head_once_and_each_step_in_one_query(tw: TraceWorld) -> None:
    uri = _jam(tw, shipments=3)
    events, node, index = _requests(tw, uri)
    assert events == 6
    # verify (without its recall check: the history reads those chains itself), the
    # item/lot/product heads, the pallet's and the input's heads, the two actors' kinds
    # (eth-tester takes no batches: one call each).
    assert node == Counter({"eth_call": 6, "eth_blockNumber": 1}), node
    # item/lot/product (2), containers of the jar (1), the pallet (2), containers of the
    # pallet (1), the input lot (2), the actors' repositories (1).
    assert index == 9


def test_history_requests_do_not_grow_with_its_length(tw: TraceWorld) -> None:
    uri = _jam(tw, shipments=30)
    events, node, index = _requests(tw, uri)
    assert events == 33
    assert (sum(node.values()), index) == (7, 9)


def test_a_rate_limited_call_waits_what_retry_after_asks(monkeypatch: Any) -> None:
    import requests

    from o2ochain._chain import connection

    slept: list[float] = []
    monkeypatch.setattr(connection.time, "sleep", slept.append)
    refusal = requests.Response()
    refusal.status_code, refusal.headers["Retry-After"] = 429, "2"
    answers: list[Any] = [requests.exceptions.HTTPError(response=refusal), {"jsonrpc": "2.0", "id": 1, "result": "0x1"}]

    def node(method: RPCEndpoint, params: Any) -> RPCResponse:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return cast(RPCResponse, answer)

    retrying = connection.RetryMiddleware(cast(Web3, None), connection.RetryPolicy(), "http://node").wrap_make_request(node)
    assert retrying(RPCEndpoint("eth_blockNumber"), [])["result"] == "0x1"
    assert slept == [2.0]  # not the 0.25 s backoff
