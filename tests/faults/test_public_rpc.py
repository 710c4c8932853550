"""The public-RPC stand-in (tools/public_rpc.py) behaves as a hosted provider does, and the library's
readers get the right answers through it: refused wide or heavy ``eth_getLogs`` in each provider's
words (with the ranges that work), 429 with Retry-After above the rate, seeded 5xx, batches, CORS."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
import requests
from web3.exceptions import Web3RPCError
from web3.types import RPCEndpoint, RPCResponse

from o2ochain._chain.connection import Anvil, RetryPolicy, dev_accounts, http_web3
from o2ochain.client import O2OChain
from tools.long_chain import _STATE_ATTEMPTS, LongChain, _StateRace, long_chain, long_chain_anvil, long_chain_web3
from tools.public_rpc import FLAVOURS, Flavour, PublicRPC

pytestmark = pytest.mark.e2e

#: Creation code that emits three empty LOG0s (PUSH1 0 PUSH1 0 LOG0, three times) and deploys nothing.
THREE_LOGS = "0x" + "60006000a0" * 3


@dataclass
class Chain:
    node: Anvil
    dense: list[int]  # blocks with three logs each
    head: int

    def call(self, url: str, method: str, *params: Any) -> requests.Response:
        return requests.post(url, json={"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}, timeout=30)


def rpc(url: str, method: str, *params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = requests.post(
        url, json={"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}, timeout=30
    ).json()
    return answer


def mined_in(url: str, tx: str, timeout: float = 30.0) -> int:
    """The block ``tx`` was mined in (Anvil mines on arrival, but a loaded machine may answer the
    receipt a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        found = rpc(url, "eth_getTransactionByHash", tx)["result"]
        if found and found.get("blockNumber"):
            return int(found["blockNumber"], 16)
        assert time.monotonic() < deadline, f"transaction {tx} not mined after {timeout} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    """12,000 empty blocks, then three blocks of three logs each, then a few more."""
    with long_chain_anvil() as node:
        rpc(node.url, "anvil_mine", hex(12_000), "0x0")
        sender = dev_accounts(1)[0].address
        dense = []
        for _ in range(3):
            tx = rpc(node.url, "eth_sendTransaction", {"from": sender, "data": THREE_LOGS, "gas": hex(200_000)})["result"]
            dense.append(mined_in(node.url, tx))
        rpc(node.url, "anvil_mine", hex(5), "0x0")
        yield Chain(node, dense, int(rpc(node.url, "eth_blockNumber")["result"], 16))


RANGE_WORDS: dict[Flavour, tuple[int, str]] = {
    "alchemy": (
        -32600,
        r"You can make eth_getLogs requests with up to a 10000 block range\. Based on your parameters, this block range should work: \[0x0, 0x270f\]",
    ),
    "infura": (-32602, r"range 10001 exceeds limit of 10000"),
    "quicknode": (-32614, r"eth_getLogs is limited to a 10,000 range"),
    "ankr": (-32600, r"block range is too wide"),
}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_getlogs_over_10000_blocks_is_refused_in_the_providers_words(chain: Chain, flavour: Flavour) -> None:
    with PublicRPC(chain.node.url, flavour=flavour) as proxy:
        refused = rpc(proxy.url, "eth_getLogs", {"fromBlock": "0x0", "toBlock": hex(10_000)})
        code, words = RANGE_WORDS[flavour]
        assert refused["error"]["code"] == code and re.fullmatch(words, refused["error"]["message"]), refused
        assert rpc(proxy.url, "eth_getLogs", {"fromBlock": "0x0", "toBlock": hex(9_999)})["result"] == []
        # "latest" and a missing toBlock are the head, as providers count them
        assert "error" in rpc(proxy.url, "eth_getLogs", {"fromBlock": hex(chain.head - 10_000)})
        assert "error" in rpc(proxy.url, "eth_getLogs", {"fromBlock": hex(chain.head - 10_000), "toBlock": "latest"})
        assert len(rpc(proxy.url, "eth_getLogs", {"fromBlock": hex(chain.head - 9_999), "toBlock": "latest"})["result"]) == 9
        assert rpc(proxy.url, "eth_getLogs", {})["result"] == []  # both missing: the head block alone
        assert proxy.stats()["refused_range"] == 3


def test_getlogs_over_the_result_cap_is_refused_with_a_range_that_fits(chain: Chain) -> None:
    first = chain.dense[0]
    query = {"fromBlock": hex(first - 10), "toBlock": hex(chain.head)}
    with (
        PublicRPC(chain.node.url, flavour="alchemy", max_results=5) as alchemy,
        PublicRPC(chain.node.url, flavour="infura", max_results=5) as infura,
    ):
        a = rpc(alchemy.url, "eth_getLogs", query)["error"]
        i = rpc(infura.url, "eth_getLogs", query)["error"]
        # the 6th log is in the second dense block: what fits ends just before it
        fits = f"[{hex(first - 10)}, {hex(chain.dense[1] - 1)}]"
        assert a["code"] == -32602 and a["message"].startswith(
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K"
        )
        assert a["message"].endswith(f"Based on your parameters, this block range should work: {fits}")
        assert (i["code"], i["message"]) == (-32005, f"query returned more than 5 results. Try with this block range {fits}.")
        assert i["data"] == {"from": hex(first - 10), "to": hex(chain.dense[1] - 1), "limit": 5}
        ok = rpc(alchemy.url, "eth_getLogs", {"fromBlock": hex(first - 10), "toBlock": hex(chain.dense[1] - 1)})
        assert len(ok["result"]) == 3
        assert alchemy.stats()["refused_results"] == 1 and infura.stats()["refused_results"] == 1


def test_requests_above_the_rate_get_429_with_retry_after(chain: Chain) -> None:
    with PublicRPC(chain.node.url, rate=2, burst=3) as proxy:
        answers = [chain.call(proxy.url, "eth_chainId") for _ in range(6)]
        statuses = [a.status_code for a in answers]
        assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:], statuses
        limited = next(a for a in answers if a.status_code == 429)
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"]["code"] == 429 and "compute units per second" in limited.json()["error"]["message"]
        time.sleep(int(limited.headers["Retry-After"]))
        assert chain.call(proxy.url, "eth_chainId").status_code == 200
        # every call of a batch counts against the rate
        time.sleep(1.5)
        batch = requests.post(
            proxy.url, json=[{"jsonrpc": "2.0", "id": n, "method": "eth_chainId", "params": []} for n in range(4)], timeout=10
        )
        assert batch.status_code == 429
        assert proxy.stats()["rate_limited"] == statuses.count(429) + 1


def test_a_seeded_few_requests_fail_with_5xx_and_the_same_seed_fails_the_same(chain: Chain) -> None:
    def statuses(seed: int) -> list[int]:
        with PublicRPC(chain.node.url, error_rate=0.3, seed=seed) as proxy:
            got = [chain.call(proxy.url, "eth_blockNumber").status_code for _ in range(30)]
            assert proxy.stats()["server_errors"] == sum(s != 200 for s in got)
            return got

    first = statuses(11)
    assert set(first) - {200} <= {500, 502, 503} and 3 <= sum(s != 200 for s in first) <= 20, first
    assert statuses(11) == first


def test_a_batch_is_answered_call_by_call(chain: Chain) -> None:
    with PublicRPC(chain.node.url, flavour="quicknode") as proxy:
        batch = [
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "eth_getLogs", "params": [{"fromBlock": "0x0", "toBlock": "latest"}]},
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "eth_getLogs",
                "params": [{"fromBlock": hex(chain.dense[0]), "toBlock": hex(chain.dense[2])}],
            },
        ]
        answers = requests.post(proxy.url, json=batch, timeout=30).json()
        assert [a["id"] for a in answers] == [1, 2, 3]
        assert answers[0]["result"] == "0x7a69"
        assert answers[1]["error"] == {"code": -32614, "message": "eth_getLogs is limited to a 10,000 range"}
        assert len(answers[2]["result"]) == 9
        stats = requests.get(proxy.url + "/stats", timeout=5).json()
        assert (stats["requests"], stats["batches"], stats["calls"], stats["refused_range"]) == (1, 1, 3, 1)
        assert stats["calls:eth_getLogs"] == 2
        assert requests.post(proxy.url + "/stats/reset", timeout=5).json()["requests"] == 0


def test_a_browser_may_call_it_from_any_origin(chain: Chain) -> None:
    with PublicRPC(chain.node.url) as proxy:
        headers = {
            "Origin": "http://127.0.0.1:8080",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
        preflight = requests.options(proxy.url, headers=headers, timeout=5)
        assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert (
            "POST" in preflight.headers["Access-Control-Allow-Methods"]
            and preflight.headers["Access-Control-Allow-Headers"] == "content-type"
        )
        assert chain.call(proxy.url, "eth_chainId").headers["Access-Control-Allow-Origin"] == "*"


# -- the library's readers behind the stand-in ------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LongChain]:
    """The demo (small counts) spread over 12,000 blocks: every list spans more than one 10,000-block range."""
    with long_chain(tmp_path_factory.mktemp("demo"), blocks=12_000, merkle_items=20, explicit_items=10, transactions=165) as world:
        yield world


def readers(world: LongChain, url: str, **retry: Any) -> dict[str, Any]:
    """What the library reads on the demo: a trace history, reviews, merchant page, prices, a purchase list."""
    chain = O2OChain(http_web3(url, policy=RetryPolicy(**retry)) if retry else http_web3(url), deployment=world.deployment)
    chain.use_store(world.out_dir / "events")
    chain.use_content(world.out_dir / "content")
    jar = world.summary["traces"][0][0].split("'")[1]
    gift_bag = "09506000000107"
    buyer = dev_accounts(9)[8].address
    return {
        "history": [event.to_json() for event in chain.trace.history(jar)],
        "responsibility": chain.trace.responsibility(world.summary["traces"][1][0].split("'")[1]),
        "reviews": chain.reviews.reviews(gtin=gift_bag).to_json(),
        "merchant": chain.reviews.merchant_profile(1),
        "prices": [repr(offer) for offer in chain.guarantee.published_prices(gtin=gift_bag)],
        "purchases": [p.to_json() for p in chain.guarantee.purchases(buyer=buyer)],
    }


def test_the_library_reads_the_same_answers_behind_a_public_rpc(demo: LongChain) -> None:
    direct = readers(demo, demo.node.url)
    assert len(direct["history"]) >= 5 and direct["reviews"] and direct["prices"] and direct["purchases"]
    with PublicRPC(demo.node.url, flavour="alchemy", rate=400, burst=100, error_rate=0.03, seed=5) as proxy:
        assert readers(demo, proxy.url, timeout=10, attempts=8, backoff=0.02, max_backoff=0.5) == direct
        stats = proxy.stats()
    assert stats["refused_range"] >= 1 and stats["server_errors"] >= 1, stats


# -- the long chain's Anvil: the head's state alone is kept ------------------------------------------


def test_reads_that_race_the_next_block_on_a_pruned_anvil_are_asked_again() -> None:
    """With blocks mined back to back, a plain client's estimate at "latest" now and then finds its
    state gone with the next block (Anvil's words checked); through ``long_chain_web3`` every read
    is answered, alone or in a batch."""
    with long_chain_anvil() as node:
        stop = threading.Event()

        def mine_back_to_back() -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    session.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []}, timeout=30)

        miner = threading.Thread(target=mine_back_to_back, daemon=True)
        miner.start()
        try:
            sender = dev_accounts(1)[0].address
            call: Any = {"from": sender, "to": sender, "value": 1}
            plain, retrying = http_web3(node.url), long_chain_web3(node.url)
            lost = None
            deadline = time.monotonic() + 60
            while lost is None and time.monotonic() < deadline:
                try:
                    plain.eth.estimate_gas(call, "latest")
                except Web3RPCError as exc:
                    lost = str(exc)
            assert lost is not None and re.search(r"BlockOutOfRangeError: block height is (\d+) but requested was (\d+)", lost), lost
            for _ in range(200):
                assert retrying.eth.estimate_gas(call, "latest") == 21_000
                assert retrying.eth.call(call, "latest") == b""
            for _ in range(10):
                with retrying.batch_requests() as batch:
                    for _ in range(20):
                        batch.add(retrying.eth.get_balance(sender, "latest"))
                    assert all(isinstance(balance, int) and balance > 0 for balance in batch.execute())
        finally:
            stop.set()
            miner.join(30)


def test_only_a_read_of_the_block_before_the_head_is_asked_again() -> None:
    """A state older than the head's predecessor is gone for good: its refusal is answered at once."""
    asked: list[int] = []

    def node(method: RPCEndpoint, params: Any) -> RPCResponse:
        asked.append(params[0])
        message = f"BlockOutOfRangeError: block height is 50 but requested was {params[0]}"
        return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": message}}

    ask = _StateRace(cast(Any, None)).wrap_make_request(node)
    assert "requested was 10" in str(ask(RPCEndpoint("eth_getBalance"), [10]).get("error")) and asked == [10]
    ask(RPCEndpoint("eth_getBalance"), [49])
    assert asked == [10] + [49] * _STATE_ATTEMPTS


def test_a_read_of_latest_that_lost_the_race_by_several_blocks_is_asked_again() -> None:
    """On a busy machine the head may move on by more than one block between the node resolving
    "latest" and reading its state: that is still the race, and is asked again."""
    asked: list[Any] = []

    def node(method: RPCEndpoint, params: Any) -> RPCResponse:
        asked.append(params[-1])
        if len(asked) < 3:
            return {
                "jsonrpc": "2.0",
                "id": 1,
                "error": {"code": -32602, "message": "BlockOutOfRangeError: block height is 50 but requested was 47"},
            }
        return {"jsonrpc": "2.0", "id": 1, "result": "0x5208"}

    ask = _StateRace(cast(Any, None)).wrap_make_request(node)
    assert ask(RPCEndpoint("eth_estimateGas"), [{"to": "0x" + "00" * 20}, "latest"]) == {"jsonrpc": "2.0", "id": 1, "result": "0x5208"}
    assert asked == ["latest"] * 3
