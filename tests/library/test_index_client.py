"""Reading logs through an index: :class:`o2ochain._chain.index.IndexClient` against a tiny
in-process server speaking the index's HTTP contract (``GET /o2o/head``, ``POST /o2o/logs``
with pages), and the library's readers giving the same answers through it as from the node."""

from __future__ import annotations

import gc
import http.server
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.datastructures import AttributeDict

import o2ochain
from o2ochain._chain.connection import RetryPolicy
from o2ochain._chain.events import checksum_address, event_decoder
from o2ochain._chain.index import IndexClient, attached_index
from o2ochain._chain.util import gc_paused
from o2ochain.errors import ChainError, ConfigError
from tests.conftest import World

FAST = RetryPolicy(timeout=2.0, attempts=4, backoff=0.01, max_backoff=0.05, budget=5.0)
CHAIN = 31337
ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def topic(n: int) -> str:
    return "0x" + f"{n:064x}"


def raw_log(block: int, index: int, topics: Sequence[str], *, address: str = ADDRESS, data: str = "0x") -> dict[str, Any]:
    """One log as eth_getLogs (and the index) write it: hex quantities."""
    return {
        "address": address.lower(),
        "topics": list(topics),
        "data": data,
        "blockNumber": hex(block),
        "blockHash": topic(10_000 + block),
        "transactionHash": topic(20_000 + block * 100 + index),
        "transactionIndex": hex(index),
        "logIndex": hex(index),
        "removed": False,
    }


def _matches(log: dict[str, Any], body: dict[str, Any]) -> bool:
    addresses = body["address"] if isinstance(body["address"], list) else [body["address"]]
    if log["address"].lower() not in {a.lower() for a in addresses}:
        return False
    for n, want in enumerate(body.get("topics") or []):
        if want is None:
            continue
        options = want if isinstance(want, list) else [want]
        if n >= len(log["topics"]) or log["topics"][n].lower() not in {o.lower() for o in options}:
            return False
    return True


@dataclass
class FakeIndex:
    """What the index serves: its ``logs`` (eth_getLogs-shaped), its ``head``, pages of at most
    ``page`` logs, and a ``script`` of failures (``503``, ``429``, ``html``, ``hang``) for the first requests."""

    logs: list[dict[str, Any]] = field(default_factory=list)
    head: int = 0
    chain_id: int = CHAIN
    page: int = 10_000
    script: list[str] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        if path == "/o2o/head":
            return 200, {"chains": {str(self.chain_id): {"block": self.head, "hash": None}}}
        assert body is not None
        self.seen.append(body)
        if body.get("chainId") != self.chain_id:
            return 400, {"error": f"chainId: chain {body.get('chainId')} is not indexed"}
        last = self.head if body.get("toBlock") is None else min(self.head, int(body["toBlock"]))
        after = int(body["after"]) if body.get("after") else -1
        limit = min(int(body.get("limit") or 10_000), self.page)
        found = [
            (n, log)
            for n, log in enumerate(self.logs)
            if n > after and body["fromBlock"] <= int(log["blockNumber"], 16) <= last and _matches(log, body)
        ]
        page = found[:limit]
        more = len(found) > limit
        return 200, {"head": self.head, "logs": [log for _, log in page], "next": str(page[-1][0]) if more else None}


@pytest.fixture
def serve() -> Iterator[Any]:
    """Serve a :class:`FakeIndex` on the loopback: ``serve(index) -> url``."""
    servers: list[http.server.ThreadingHTTPServer] = []
    hang = threading.Event()

    def start(index: FakeIndex) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self, body: dict[str, Any] | None) -> None:
                failure = index.script.pop(0) if index.script else ""
                if failure == "hang":
                    hang.wait(5)
                    return
                if failure in ("503", "429"):
                    self.send_response(int(failure))
                    self.end_headers()
                    return
                status, answer = index.answer(self.path, body)
                data = b"<html>bad gateway</html>" if failure == "html" else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._reply(None)

            def do_POST(self) -> None:
                self._reply(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    hang.set()
    for server in servers:
        server.shutdown()


def client(url: str) -> IndexClient:
    return IndexClient(url, policy=FAST)


# -- the HTTP contract ----------------------------------------------------------------------------
def test_get_logs_returns_logs_shaped_like_web3s(serve: Any) -> None:
    index = FakeIndex(logs=[raw_log(5, 0, [topic(1), topic(7)], data="0x" + "00" * 31 + "2a")], head=9)
    logs, covered = client(serve(index)).get_logs(chain_id=CHAIN, address=ADDRESS, topics=[topic(1)], from_block=0, to_block=None)
    assert covered == 9
    (log,) = logs
    assert isinstance(log, AttributeDict)
    assert log["address"] == ADDRESS  # checksummed, as web3 gives it
    assert log["topics"] == [HexBytes(topic(1)), HexBytes(topic(7))] and isinstance(log["topics"][0], HexBytes)
    assert log["data"] == HexBytes("0x" + "00" * 31 + "2a")
    assert (log["blockNumber"], log["transactionIndex"], log["logIndex"]) == (5, 0, 0)
    assert isinstance(log["blockHash"], HexBytes) and isinstance(log["transactionHash"], HexBytes)
    assert log["removed"] is False


def test_get_logs_pages_through_next_in_chain_order(serve: Any) -> None:
    index = FakeIndex(logs=[raw_log(b, i, [topic(1)]) for b in range(1, 26) for i in range(2)], head=30, page=7)
    source = client(serve(index))
    logs, covered = source.get_logs(chain_id=CHAIN, address=[ADDRESS], topics=[topic(1)], from_block=3, to_block=20)
    assert covered == 20
    assert [(log["blockNumber"], log["logIndex"]) for log in logs] == [(b, i) for b in range(3, 21) for i in range(2)]
    assert len(index.seen) == 6 and source.requests == 6  # 36 logs, 7 a page
    assert all(body["toBlock"] == 20 for body in index.seen)


def test_get_logs_is_one_snapshot_while_the_index_moves_on(serve: Any) -> None:
    """Later pages are asked up to the head of the first answer, so a log indexed meanwhile is not
    half in the list: the caller reads everything after ``covered`` from the node."""
    index = FakeIndex(logs=[raw_log(b, 0, [topic(1)]) for b in range(1, 11)], head=10, page=4)
    url = serve(index)
    first = index.answer

    def moving(path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        status, answer = first(path, body)
        index.head += 5
        index.logs.extend(raw_log(b, 0, [topic(1)]) for b in range(index.head - 4, index.head + 1))
        return status, answer

    index.answer = moving  # type: ignore[method-assign]
    logs, covered = client(url).get_logs(chain_id=CHAIN, address=ADDRESS, topics=[topic(1)], from_block=0, to_block=None)
    assert covered == 10
    assert [log["blockNumber"] for log in logs] == list(range(1, 11))


def test_get_logs_of_a_lagging_index_says_how_far_it_covers(serve: Any) -> None:
    index = FakeIndex(logs=[raw_log(b, 0, [topic(1)]) for b in (2, 4)], head=4)
    logs, covered = client(serve(index)).get_logs(chain_id=CHAIN, address=ADDRESS, topics=[], from_block=0, to_block=50)
    assert covered == 4 and len(logs) == 2
    _, covered = client(serve(FakeIndex(head=4))).get_logs(chain_id=CHAIN, address=ADDRESS, topics=[], from_block=9, to_block=50)
    assert covered == 8  # nothing indexed from block 9: the node reads it all


def test_get_logs_sends_topics_and_addresses_as_the_contract_says(serve: Any) -> None:
    index = FakeIndex(
        logs=[raw_log(1, 0, [topic(1), topic(2)]), raw_log(1, 1, [topic(1), topic(3)]), raw_log(2, 0, [topic(1)], address=OTHER)],
        head=2,
    )
    source = client(serve(index))
    logs, _ = source.get_logs(
        chain_id=CHAIN, address=[ADDRESS, OTHER], topics=[HexBytes(topic(1)), [topic(3), topic(9)]], from_block=0, to_block=None
    )
    assert [(log["blockNumber"], log["logIndex"]) for log in logs] == [(1, 1)]
    assert index.seen[0]["topics"] == [topic(1), [topic(3), topic(9)]]
    assert index.seen[0]["address"] == [ADDRESS, OTHER]


def test_head_names_the_chain_the_index_does_not_index(serve: Any) -> None:
    source = client(serve(FakeIndex(head=12)))
    assert source.head(CHAIN) == 12
    with pytest.raises(ConfigError, match=r"does not index chain 1 \(it indexes: 31337\)"):
        source.head(1)


# -- failures, in words -------------------------------------------------------------------------
def test_get_logs_retries_5xx_429_and_answers_that_are_not_json(serve: Any) -> None:
    index = FakeIndex(logs=[raw_log(1, 0, [topic(1)])], head=3, script=["503", "429"])
    source = client(serve(index))
    logs, _ = source.get_logs(chain_id=CHAIN, address=ADDRESS, topics=[], from_block=0, to_block=None)
    assert len(logs) == 1
    index.script = ["html"]
    with pytest.raises(ChainError, match=r"the index at http://127\.0\.0\.1:\d+ answered POST /o2o/logs with something that is not JSON"):
        source.get_logs(chain_id=CHAIN, address=ADDRESS, topics=[], from_block=0, to_block=None)


def test_an_index_that_stays_down_is_named_with_what_went_wrong(serve: Any) -> None:
    index = FakeIndex(head=3, script=["503"] * 10)
    with pytest.raises(
        ChainError, match=r"the index at http://127\.0\.0\.1:\d+ failed POST /o2o/logs 4 times over .* s: HTTP 503"
    ) as caught:
        client(serve(index)).get_logs(chain_id=CHAIN, address=ADDRESS, topics=[], from_block=0, to_block=None)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no transport traceback attached


def test_an_unreachable_index_is_refused_connections_in_words() -> None:
    source = IndexClient("http://127.0.0.1:9", policy=RetryPolicy(timeout=1.0, attempts=2, backoff=0.01, budget=2.0))
    with pytest.raises(ChainError, match=r"the index at http://127\.0\.0\.1:9 failed GET /o2o/head 2 times .*: connection refused"):
        source.heads()


def test_a_slow_index_times_out_in_words(serve: Any) -> None:
    index = FakeIndex(head=3, script=["hang"])
    source = IndexClient(serve(index), policy=RetryPolicy(timeout=0.3, attempts=1, budget=1.0))
    with pytest.raises(ChainError, match=r"failed POST /o2o/logs once: no answer within 0.3 s"):
        source.get_logs(chain_id=CHAIN, address=ADDRESS, topics=[], from_block=0, to_block=None)


def test_a_refused_query_gives_the_indexs_words(serve: Any) -> None:
    source = client(serve(FakeIndex(head=3)))
    with pytest.raises(ChainError, match=r"the index at .* refused POST /o2o/logs: chainId: chain 5 is not indexed"):
        source.get_logs(chain_id=5, address=ADDRESS, topics=[], from_block=0, to_block=None)


def test_index_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match="unsupported index URL 'localhost:42069'"):
        IndexClient("localhost:42069")


# -- connect(index=…) ----------------------------------------------------------------------------
def test_connect_attaches_the_index_it_is_given(serve: Any) -> None:
    chain = o2ochain.connect("tester", index=serve(FakeIndex(chain_id=131277322940537, head=0)))
    source = attached_index(chain.w3)
    assert isinstance(source, IndexClient) and chain.index is source


def test_connect_refuses_an_index_that_does_not_answer() -> None:
    with pytest.raises(ChainError, match=r"the index at http://127\.0\.0\.1:9 failed GET /o2o/head"):
        o2ochain.connect("tester", index=IndexClient("http://127.0.0.1:9", policy=RetryPolicy(timeout=0.5, attempts=1)))


def test_connect_refuses_an_index_of_another_chain(serve: Any) -> None:
    with pytest.raises(ConfigError, match=r"does not index chain 131277322940537"):
        o2ochain.connect("tester", index=serve(FakeIndex(chain_id=1, head=0)))


# -- decoding as web3 does, faster ---------------------------------------------------------------
def test_event_decoder_gives_what_web3s_process_log_gives(world: World) -> None:
    """Every event the price guarantee and the registry emitted, decoded both ways: the same values of the same types."""
    from tests.library.test_guarantee import open_shop, paper_case

    shop = open_shop(world)
    paper_case(shop)
    chain = world.chain
    compared = 0
    for contract in (chain.guarantee.contract, chain.identity.contract):
        by_topic = {bytes(HexBytes(contract.events[e["name"]]().topic)): e["name"] for e in contract.abi if e["type"] == "event"}
        for log in chain.w3.eth.get_logs({"address": contract.address, "fromBlock": 0}):
            name = by_topic[bytes(log["topics"][0])]
            ours, theirs = event_decoder(contract, name).process_log(log), contract.events[name]().process_log(log)
            assert ours == theirs, name
            assert [type(v) for v in ours["args"].values()] == [type(v) for v in theirs["args"].values()], name
            compared += 1
    assert compared > 10


def test_event_decoder_leaves_a_malformed_log_to_web3s_error(world: World) -> None:
    from tests.library.test_guarantee import open_shop, paper_case

    paper_case(open_shop(world))
    reader = world.chain.guarantee
    log = world.chain.w3.eth.get_logs(
        {"address": reader.address, "topics": [reader.contract.events.PricePublished().topic], "fromBlock": 0}
    )[0]
    bad = AttributeDict({**log, "data": HexBytes(b"\x01" * 32 + bytes(log["data"])[32:])})  # a uint96 with its padding set
    with pytest.raises(Exception) as web3s:  # whatever web3 raises, ours raises the same
        reader.contract.events.PricePublished().process_log(bad)
    with pytest.raises(web3s.type):
        event_decoder(reader.contract, "PricePublished").process_log(bad)


def test_checksum_address_is_eip55() -> None:
    for n in range(50):
        address = "0x" + keccak(n.to_bytes(4, "big")).hex()[:40]
        assert checksum_address(address) == Web3.to_checksum_address(address)


def test_gc_paused_restores_the_collector_as_it_was() -> None:
    """The keeper's bulk read pauses the cycle collector; after it (an error included, nested or
    not) the collector is as it was: never left off for the rest of the program."""
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer read still runs
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("the index went away")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a program that turned it off keeps it off
    finally:
        gc.enable()
