"""The ABI by hand (:mod:`o2ochain._chain.light`, what ``trace show --index`` reads the chain with
instead of web3) against eth-abi and web3, so the two cannot drift: encodings byte for byte,
decodings value for value, every selector and event topic of the shipped ABIs, every custom
error decoded into its words, and the standard-library JSON-RPC transport's errors in words."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi.abi import decode as eth_decode
from eth_abi.abi import encode as eth_encode
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from o2ochain._chain.artifacts import artifact
from o2ochain._chain.light import JsonRpc, LightIndex, abi_decode, abi_encode, abi_of, canonical_type, checksum_address
from o2ochain._chain.retry import RetryPolicy
from o2ochain._chain.revert import decode_revert
from o2ochain.deployments import CONTRACTS
from o2ochain.errors import ChainError, RPCUnavailable, _contract_errors, by_name

A = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CASES: list[tuple[list[str], list[Any]]] = [
    (["uint8", "uint256", "int32", "int256"], [7, 2**256 - 1, -5, -(2**255)]),
    (["address", "bool", "bool"], [A, True, False]),
    (["bytes32", "bytes4", "bytes1"], [b"\x01" * 32, b"\xde\xad\xbe\xef", b"\x00"]),
    (["bytes", "string", "string"], [b"\x00\x01" * 40, "中文 and ascii", ""]),
    (["bytes32[]", "uint64[]", "address[]"], [[b"\x02" * 32, b"\x03" * 32], [1, 2**64 - 1], [A, A]]),
    (
        ["(uint8,bytes32,uint64)", "(bool,string)[]", "string[]"],
        [(1, b"\x04" * 32, 9), [(True, "a"), (False, "bcd" * 30)], ["x", "", "yz"]],
    ),
    (["uint256[3]", "((uint8,bytes),address)", "(uint32,bytes32[])"], [[1, 2, 3], ((5, b"hello"), A), (4, [b"\x05" * 32])]),
]


def _plain(value: Any) -> Any:
    """eth-abi's and our values side by side: addresses lower-cased, lists and tuples alike."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    return value


@pytest.mark.parametrize(("types", "values"), CASES)
def test_encoding_and_decoding_are_eth_abis(types: list[str], values: list[Any]) -> None:
    encoded = eth_encode(types, values)
    assert abi_encode(types, values) == encoded
    assert _plain(abi_decode(types, encoded)) == _plain(eth_decode(types, encoded))


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 2**256 - 1),
    st.integers(-(2**127), 2**127 - 1),
    st.binary(max_size=80),
    st.text(max_size=40),
    st.lists(st.binary(min_size=32, max_size=32), max_size=5),
    st.lists(st.tuples(st.booleans(), st.text(max_size=10)), max_size=4),
)
def test_any_values_round_trip_as_eth_abi_has_them(
    big: int, signed: int, raw: bytes, text: str, words: list[bytes], pairs: list[tuple[bool, str]]
) -> None:
    types = ["uint256", "int128", "bytes", "string", "bytes32[]", "(bool,string)[]"]
    values = [big, signed, raw, text, words, pairs]
    encoded = eth_encode(types, values)
    assert abi_encode(types, values) == encoded
    assert _plain(abi_decode(types, encoded)) == _plain(eth_decode(types, encoded))


def test_truncated_data_is_refused_not_misread() -> None:
    encoded = eth_encode(["uint256", "string"], [1, "hello"])
    for cut in (16, 63, 95, len(encoded) - 1):
        with pytest.raises(ValueError, match=r"end|past"):
            abi_decode(["uint256", "string"], encoded[:cut])


def test_addresses_are_checksummed_as_web3_does() -> None:
    for address in (A, "0x" + "ab" * 20, "0x" + "00" * 20, "0x52908400098527886E0F7030069857D2E4169EE7"):
        assert checksum_address(address.lower()) == Web3.to_checksum_address(address)
    with pytest.raises(ValueError, match="not an address"):
        checksum_address("0x1234")


@pytest.mark.parametrize("name", [name for name, _ in CONTRACTS])
def test_every_selector_and_topic_is_web3s(name: str) -> None:
    abi = artifact(name)["abi"]
    contract = Web3().eth.contract(abi=abi)
    functions, events = abi_of(abi)
    for entry in abi:
        if entry.get("type") == "function":
            signature = f"{entry['name']}({','.join(canonical_type(p) for p in entry['inputs'])})"
            assert functions[entry["name"]].selector == Web3.keccak(text=signature)[:4]
        elif entry.get("type") == "event":
            assert events[entry["name"]].topic_hex == str(contract.events[entry["name"]]().topic).lower()


def _sample(t: str) -> Any:
    """A value of ABI type ``t`` (not all zeros, so a misread shows)."""
    if t.endswith("]"):
        base, _, length = t[:-1].rpartition("[")
        return [_sample(base) for _ in range(int(length) if length else 2)]
    if t.startswith("("):
        from o2ochain._chain.light import _components

        return tuple(_sample(c) for c in _components(t[1:-1]))
    samples: dict[str, Any] = {"address": A, "bool": True, "string": "lot 7", "bytes": b"\x07\x08"}
    if t in samples:
        return samples[t]
    if t.startswith("uint"):
        return 7
    if t.startswith("int"):
        return -7
    return b"\x07" * int(t[5:])


def test_every_custom_error_is_decoded_into_its_words() -> None:
    """Reverts read by the hand decoder: every custom error of the shipped ABIs, its arguments by
    name as eth-abi reads them, its message in words (no raw hex)."""
    errors = _contract_errors()
    assert len(errors) > 20
    for cls in errors:
        types: list[str] = list(getattr(cls, "abi_types"))  # noqa: B009 - made from the ABI at run time
        data = cls.selector + eth_encode(types, [_sample(t) for t in types])
        decoded = decode_revert("0x" + data.hex())
        assert type(decoded) is cls, cls.error_name
        expected = eth_decode(types, data[4:])
        assert _plain([getattr(decoded, f) for f in cls.field_names]) == _plain(list(expected))
        assert str(decoded) and data.hex() not in str(decoded)  # words, not the raw revert data


# -- the standard-library transport ---------------------------------------------------------------
FAST = RetryPolicy(timeout=1.0, attempts=3, backoff=0.01, max_backoff=0.02, budget=5.0)


@pytest.fixture
def server() -> Iterator[Any]:
    """A server answering with ``script``: a list of (status, body, headers) per request."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(script: list[tuple[int, Any, dict[str, str]]]) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body, headers = script.pop(0) if len(script) > 1 else script[0]
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()


def test_transient_failures_are_tried_again_then_answered(server: Any) -> None:
    url = server([(503, b"busy", {}), (429, b"", {"Retry-After": "0"}), (200, {"jsonrpc": "2.0", "id": 1, "result": "0x7a69"}, {})])
    assert JsonRpc(url, policy=FAST).chain_id() == 31337


def test_a_node_that_stays_down_is_named_with_what_went_wrong(server: Any) -> None:
    url = server([(502, b"bad gateway", {})])
    with pytest.raises(RPCUnavailable, match=r"eth_chainId.*3 times.*HTTP 502"):
        JsonRpc(url, policy=FAST).chain_id()
    with pytest.raises(RPCUnavailable, match="connection refused"):
        JsonRpc("http://127.0.0.1:9", policy=FAST).chain_id()


def test_a_4xx_carrying_a_json_rpc_error_is_that_error_in_the_nodes_words(server: Any) -> None:
    url = server([(413, {"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": "eth_getLogs is limited to a 10,000 range"}}, {})])
    with pytest.raises(ChainError, match="eth_getLogs failed: eth_getLogs is limited to a 10,000 range"):
        JsonRpc(url, policy=FAST).get_logs(A, [], 0, 10)


def test_a_revert_of_an_eth_call_is_its_custom_error(server: Any) -> None:
    cls = by_name("TraceNotActor")
    types: list[str] = list(getattr(cls, "abi_types"))  # noqa: B009 - made from the ABI at run time
    data = "0x" + (cls.selector + eth_encode(types, [_sample(t) for t in types])).hex()
    url = server([(200, {"jsonrpc": "2.0", "id": 1, "error": {"code": 3, "message": "execution reverted", "data": data}}, {})])
    with pytest.raises(cls):
        JsonRpc(url, policy=FAST).eth_call(A, "0x12345678")


def test_the_index_errors_are_the_index_clients_words(server: Any) -> None:
    refused = server([(400, {"error": "chainId: chain 5 is not indexed"}, {})])
    with pytest.raises(ChainError, match=r"the index at http://127\.0\.0\.1:\d+ refused POST /o2o/logs: chainId: chain 5 is not indexed"):
        LightIndex(refused, policy=FAST).get_logs(chain_id=5, address=A, topics=[], from_block=0, to_block=9)
    html = server([(200, b"<html>bad gateway</html>", {})])
    with pytest.raises(ChainError, match=r"answered GET /o2o/head with something that is not JSON"):
        LightIndex(html, policy=FAST).heads()
