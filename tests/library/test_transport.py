"""Talking to a node through web3's public interfaces: retries as web3 middleware over web3's own
HTTPProvider, and transaction fees as web3 fills them (EIP-1559, or a gas price where a chain has
no base fee)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator

import pytest
from web3 import HTTPProvider
from web3.exceptions import Web3RPCError

from o2ochain._chain.connection import Anvil, RetryPolicy, dev_accounts, http_web3
from o2ochain._chain.logs import get_logs, known_range_cap
from o2ochain._chain.tx import Sender
from o2ochain.errors import ChainError, RPCUnavailable
from tests.conftest import World

FAST = RetryPolicy(timeout=2.0, attempts=4, backoff=0.01, max_backoff=0.05, budget=5.0)
#: Init code of a contract whose runtime returns 42: valid on any fork.
TINY = "0x600a600c600039600a6000f3602a60005260206000f3"


@pytest.fixture
def node() -> Iterator[Callable[[list[str]], tuple[str, list[str]]]]:
    """A stand-in JSON-RPC node on the loopback that answers by a script: ``503``, ``html`` or
    ``ok`` (the chain id 1337), one entry per request, the last repeated."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(script: list[str]) -> tuple[str, list[str]]:
        seen: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = script[min(len(seen), len(script) - 1)]
                seen.append(f"{answer} {request['method']}")
                if answer == "503":
                    self.send_response(503)
                    self.end_headers()
                    return
                body = (
                    b"<html>bad gateway</html>"
                    if answer == "html"
                    else json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "0x539"}).encode()
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_http_retries_are_web3_middleware_over_web3s_own_http_provider(node: Callable[[list[str]], tuple[str, list[str]]]) -> None:
    url, seen = node(["503", "503", "ok"])
    w3 = http_web3(url, policy=FAST)
    assert type(w3.provider) is HTTPProvider and w3.provider.exception_retry_configuration is None
    assert "o2ochain retries" in {name for _, name in w3.middleware_onion.middleware}
    assert w3.eth.chain_id == 1337
    assert seen == ["503 eth_chainId", "503 eth_chainId", "ok eth_chainId"]


def test_a_node_that_stays_down_is_rpc_unavailable_with_endpoint_method_attempts(
    node: Callable[[list[str]], tuple[str, list[str]]],
) -> None:
    url, seen = node(["503"])
    with pytest.raises(RPCUnavailable) as caught:
        http_web3(url, policy=FAST).eth.get_balance("0x" + "11" * 20)
    error = caught.value
    assert (error.endpoint, error.method, error.attempts, error.problem) == (url, "eth_getBalance", 4, "HTTP 503 Service Unavailable")
    assert 0 < error.seconds < 2 and len(seen) == 4


def test_an_answer_that_is_not_json_rpc_is_rpc_unavailable_in_words(node: Callable[[list[str]], tuple[str, list[str]]]) -> None:
    url, seen = node(["html"])
    with pytest.raises(RPCUnavailable) as caught:
        _ = http_web3(url, policy=FAST).eth.block_number
    assert caught.value.problem.startswith("the answer is not JSON-RPC") and caught.value.attempts == 1 and len(seen) == 1


class RangeCappedNode:
    """A stand-in for a hosted node that refuses an ``eth_getLogs`` over more than ``cap`` blocks
    with an HTTP 4xx (QuickNode: 413) carrying a JSON-RPC error in its words; ``plain`` answers
    every request with a bare 4xx page instead. ``asked`` lists each request as "method from-to"."""

    def __init__(self, *, cap: int = 10_000, head: int = 25_000, status: int = 413, plain: bool = False) -> None:
        self.asked: list[str] = []
        node = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                method, params = request["method"], request.get("params") or []
                status, body = 200, {"jsonrpc": "2.0", "id": request["id"], "result": hex(head)}
                if method == "eth_getLogs":
                    first, last = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
                    node.asked.append(f"{method} {first}-{last}")
                    body["result"] = []
                    if last - first + 1 > cap:
                        status = node.status
                        body = {
                            "jsonrpc": "2.0",
                            "id": request["id"],
                            "error": {"code": -32614, "message": f"eth_getLogs is limited to a {cap:,} range"},
                        }
                else:
                    node.asked.append(method)
                if node.plain:
                    self.answer(node.status, b"<html><body>413 Request Entity Too Large</body></html>", "text/html")
                else:
                    self.answer(status, json.dumps(body).encode(), "application/json")

            def answer(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.status, self.plain = status, plain
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RangeCappedNode:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize("status", [413, 400])
def test_a_4xx_carrying_a_json_rpc_error_is_that_error_in_the_providers_words(status: int) -> None:
    with RangeCappedNode(status=status) as node:
        w3 = http_web3(node.url, policy=FAST)
        with pytest.raises(Web3RPCError) as caught:
            w3.eth.get_logs({"address": "0x" + "11" * 20, "fromBlock": 0, "toBlock": 20_000})
        assert caught.value.rpc_response is not None
        assert caught.value.rpc_response["error"] == {"code": -32614, "message": "eth_getLogs is limited to a 10,000 range"}
        assert "eth_getLogs is limited to a 10,000 range" in str(caught.value)
        assert node.asked == ["eth_getLogs 0-20000"]  # final: not asked again as it was


def test_log_reader_follows_the_range_a_4xx_json_rpc_error_states() -> None:
    with RangeCappedNode(status=413) as node:
        w3 = http_web3(node.url, policy=FAST)
        assert get_logs(w3, address="0x" + "11" * 20, topics=[], from_block=0, to_block=25_000) == []
        assert known_range_cap(w3) == 10_000
        ranges = [a for a in node.asked if a.startswith("eth_getLogs")]
        assert ranges == ["eth_getLogs 0-25000", "eth_getLogs 0-9999", "eth_getLogs 10000-19999", "eth_getLogs 20000-25000"]


def test_a_plain_4xx_stays_a_final_error_in_words() -> None:
    with RangeCappedNode(plain=True) as node:
        with pytest.raises(ChainError) as caught:
            get_logs(http_web3(node.url, policy=FAST), address="0x" + "11" * 20, topics=[], from_block=0, to_block=25_000)
        assert "HTTP 413" in str(caught.value) and "Traceback" not in str(caught.value)
        assert node.asked == ["eth_getLogs 0-25000"]  # not retried, not split: the node did not say the range was the problem


def test_sender_lets_web3_fill_eip1559_fees_and_numbers_nonces_itself(world: World) -> None:
    w3 = world.chain.w3
    account = world.outsider
    sender = Sender(w3, account)
    factory = w3.eth.contract(abi=[], bytecode=TINY)
    start = w3.eth.get_transaction_count(account.address)
    base = int(w3.eth.get_block("latest")["baseFeePerGas"])
    pending = [sender.send(factory.constructor()) for _ in range(3)]
    assert [p.nonce for p in pending] == [start, start + 1, start + 2]
    tip = int(w3.eth.max_priority_fee)
    sent = [w3.eth.get_transaction(receipt["transactionHash"]) for receipt in sender.wait(pending)]
    assert [(tx["type"], tx["maxPriorityFeePerGas"]) for tx in sent] == [(2, tip)] * 3
    assert sent[0]["maxFeePerGas"] == tip + 2 * base  # web3's rule: the tip plus twice the latest base fee
    assert all("gasPrice" not in p.params for p in pending)


@pytest.mark.e2e
def test_sender_pays_a_gas_price_on_a_chain_without_a_base_fee() -> None:
    with Anvil(extra_args=("--hardfork", "berlin")) as anvil:
        w3 = http_web3(anvil.url)
        assert w3.eth.get_block("latest").get("baseFeePerGas") is None
        receipt = Sender(w3, dev_accounts(1)[0]).transact(w3.eth.contract(abi=[], bytecode=TINY).constructor())
        tx = w3.eth.get_transaction(receipt["transactionHash"])
        assert (tx["type"], tx.get("maxFeePerGas")) == (0, None) and tx["gasPrice"] > 0
        assert w3.eth.get_code(receipt["contractAddress"]) == bytes.fromhex("602a60005260206000f3")


def test_an_account_without_funds_is_told_so_in_words_and_its_nonce_is_not_lost(world: World) -> None:
    from eth_account import Account

    w3 = world.chain.w3
    broke = Account.create()
    sender = Sender(w3, broke)
    block = w3.eth.block_number
    with pytest.raises(ChainError) as caught:
        sender.send(w3.eth.contract(abi=[], bytecode=TINY).constructor(), label="deploying Tiny")
    message = str(caught.value)
    assert message.startswith(f"account {broke.address} cannot pay the gas of deploying Tiny: it holds 0 ")
    assert "Traceback" not in message and "b'" not in message
    assert w3.eth.block_number == block and w3.eth.get_transaction_count(broke.address) == 0
    assert sender._next_nonce() == 0  # the refused transaction's nonce is taken by the next one
