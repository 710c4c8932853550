"""A lean JSON-RPC client over one Anvil for the state machines.

Hypothesis runs each machine 1,000 times; through web3.py a transaction costs about 8 ms on
Anvil (fee look-ups, receipt polling, middleware) and 16 ms on eth-tester, here about 3 ms: one
``eth_sendTransaction`` (Anvil mines it at once) and one ``eth_getTransactionReceipt``. web3.py's
contract objects still encode the calls and decode the logs, so nothing is hand-encoded.

The node is made deterministic: every block is exactly one second after the previous one
(``anvil_setBlockTimestampInterval``), so the time of the next transaction is known in advance,
as it is on eth-tester; time travel sets the next block's timestamp. Any address may send
(``anvil_autoImpersonateAccount``), so channel keys need no unlocking. Expected refusals are
simulated (``eth_estimateGas`` on the pending block, whose time is the next block's) and decoded
with the contract tests' ``decode_revert``: a refusal mines nothing and changes nothing.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak
from web3 import Web3
from web3.contract import Contract

from o2ochain._chain.connection import Anvil
from o2ochain._chain.light import _Http
from o2ochain._chain.retry import RetryPolicy
from tests.contracts.conftest import ERRORS_ABI

GAS = 3_000_000


class RpcError(AssertionError):
    """The node answered with an error: ``data`` holds the revert data, if any."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error
        raw = error.get("data")
        if isinstance(raw, dict):
            raw = raw.get("data")
        self.data = bytes.fromhex(raw[2:]) if isinstance(raw, str) and raw.startswith("0x") else b""
        super().__init__(f"RPC error {error}")


@dataclass
class Tx:
    """A mined transaction: its receipt as the node sent it, and the block time."""

    receipt: dict[str, Any]

    @property
    def block(self) -> int:
        return int(self.receipt["blockNumber"], 16)

    @property
    def logs(self) -> list[dict[str, Any]]:
        return list(self.receipt["logs"])


def _type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return str(param["type"])


def _signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(_type(i) for i in entry['inputs'])})"


def _checksummed(value: Any) -> Any:
    """Decoded ABI values with every address checksummed (eth_abi gives them in lower case)."""
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return Web3.to_checksum_address(value)
    if isinstance(value, tuple | list):
        return type(value)(_checksummed(v) for v in value)
    return value


class Abi:
    """Selectors, argument types and event topics of one ABI, computed once.

    web3.py's ``encode_abi`` hashes every signature of the ABI on each call (about 1.3 ms a call
    here); the machines encode thousands of calls.
    """

    _cache: ClassVar[dict[int, Abi]] = {}

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.functions: dict[str, tuple[bytes, list[str], list[str]]] = {}
        self.events: dict[bytes, tuple[str, list[dict[str, Any]]]] = {}
        self.errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for entry in abi:
            if entry.get("type") == "function":
                assert entry["name"] not in self.functions, f"overloaded {entry['name']}"
                selector = function_signature_to_4byte_selector(_signature(entry))
                self.functions[entry["name"]] = (selector, [_type(i) for i in entry["inputs"]], [_type(o) for o in entry["outputs"]])
            elif entry.get("type") == "event":
                self.events[keccak(text=_signature(entry))] = (entry["name"], entry["inputs"])
        for entry in [*ERRORS_ABI, *abi]:
            if entry.get("type") == "error":
                selector = function_signature_to_4byte_selector(_signature(entry))
                self.errors[selector] = (entry["name"], [i["name"] for i in entry["inputs"]], [_type(i) for i in entry["inputs"]])

    @classmethod
    def of(cls, contract: Contract) -> Abi:
        key = id(contract.abi)
        if key not in cls._cache:
            cls._cache[key] = Abi(list(contract.abi))
        return cls._cache[key]

    def encode(self, fn: str, args: Sequence[Any]) -> str:
        selector, types, _ = self.functions[fn]
        return "0x" + (selector + abi_encode(types, list(args))).hex()

    def decode_output(self, fn: str, data: bytes) -> tuple[Any, ...]:
        return tuple(_checksummed(v) for v in abi_decode(self.functions[fn][2], data))

    def decode_error(self, data: bytes) -> tuple[str, dict[str, Any]]:
        entry = self.errors.get(data[:4])
        assert entry is not None, f"revert data {data.hex()} matches no known custom error"
        name, names, types = entry
        return name, dict(zip(names, _checksummed(abi_decode(types, data[4:])), strict=True))

    def decode_log(self, log: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
        if not topics or topics[0] not in self.events:
            return None
        name, inputs = self.events[topics[0]]
        indexed = [i for i in inputs if i["indexed"]]
        plain = [i for i in inputs if not i["indexed"]]
        data = _checksummed(abi_decode([_type(i) for i in plain], bytes.fromhex(log["data"][2:])))
        values = dict(zip([i["name"] for i in plain], data, strict=True))
        for param, topic in zip(indexed, topics[1:], strict=True):
            values[param["name"]] = _checksummed(abi_decode([_type(param)], topic)[0])
        return name, values


class Node:
    """One Anvil, driven by raw JSON-RPC (see the module docstring)."""

    def __init__(self, anvil: Anvil) -> None:
        self.anvil = anvil
        self.url = anvil.url
        # A kept-alive http.client connection: requests' own work per call (preparing, adapters,
        # urllib3's pool) was a third of the machines' time, thousands of calls a second.
        self.http = _Http(self.url, RetryPolicy.from_env())
        self._ids = itertools.count(1)
        self.w3 = Web3(Web3.HTTPProvider(self.url))  # for deployments and log queries only
        self.accounts: list[str] = [Web3.to_checksum_address(a) for a in self.rpc("eth_accounts", [])]
        self.rpc("anvil_autoImpersonateAccount", [True])
        self.rpc("anvil_setBlockTimestampInterval", [1])
        self._snapshots: dict[str, int] = {}
        self._next: int | None = None
        self.rpc("evm_mine", [])
        self.time = self.now()

    # -- transport ------------------------------------------------------------------------------

    def _post(self, payload: Any, what: str) -> Any:
        def down(attempts: int, seconds: float, problem: str) -> Exception:
            return AssertionError(f"Anvil did not answer {what} ({attempts} tries, {seconds:.1f} s): {problem}")

        return self.http.request("POST", "", json.dumps(payload).encode(), what=what, fail=down)

    def rpc(self, method: str, params: list[Any]) -> Any:
        reply = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}, method)
        if "error" in reply:
            raise RpcError(reply["error"])
        return reply["result"]

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Several requests in one HTTP round trip; results in order."""
        if not calls:
            return []
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        replies = sorted(self._post(body, "a batch"), key=lambda r: r["id"])
        for reply in replies:
            if "error" in reply:
                raise RpcError(reply["error"])
        return [r["result"] for r in replies]

    def outcomes(self, contract: Contract, calls: Sequence[tuple[str, Sequence[Any], str]]) -> list[str]:
        """For each (function, arguments, sender): "" when it would succeed now, else the name of
        the custom error it would revert with; simulated in one round trip, nothing mined."""
        abi = Abi.of(contract)
        body = [
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": "eth_estimateGas",
                "params": [{"from": sender, "to": contract.address, "data": abi.encode(fn, args)}],
            }
            for i, (fn, args, sender) in enumerate(calls)
        ]
        out = []
        for reply in sorted(self._post(body, "eth_estimateGas"), key=lambda r: r["id"]):
            if "error" not in reply:
                out.append("")
                continue
            error = RpcError(reply["error"])
            assert error.data, f"refused without revert data: {error.error}"
            out.append(abi.decode_error(error.data)[0])
        return out

    # -- time and snapshots ---------------------------------------------------------------------

    def mine(self) -> None:
        self.rpc("evm_mine", [])
        self._mined()

    def _mined(self) -> None:
        self.time = self._next if self._next is not None else self.time + 1
        self._next = None

    @property
    def next_time(self) -> int:
        """The timestamp of the next block: the next transaction's ``block.timestamp``."""
        return self._next if self._next is not None else self.time + 1

    def now(self) -> int:
        """The latest block's timestamp, read from the node (``time`` keeps it without a request)."""
        return int(self.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def at(self, timestamp: int) -> None:
        """Make the next block land at ``timestamp`` (later than the latest one)."""
        assert timestamp > self.time, (timestamp, self.time)
        self.rpc("evm_setNextBlockTimestamp", [timestamp])
        self._next = timestamp

    def snapshot(self) -> str:
        snapshot = str(self.rpc("evm_snapshot", []))
        self._snapshots[snapshot] = self.time
        return snapshot

    def revert(self, snapshot: str) -> None:
        """Back to ``snapshot`` (which is used up, as evm_revert does)."""
        assert self.rpc("evm_revert", [snapshot]) is True
        self.time = self._snapshots.pop(snapshot)
        self._next = None

    def balance(self, account: str) -> int:
        return int(self.rpc("eth_getBalance", [account, "latest"]), 16)

    def set_balance(self, account: str, wei: int) -> None:
        self.rpc("anvil_setBalance", [account, hex(wei)])

    # -- contracts ------------------------------------------------------------------------------

    def deploy(self, artifact: dict[str, Any], sender: str, *args: Any) -> Contract:
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        data = factory.constructor(*args).data_in_transaction
        receipt = self._mine({"from": sender, "data": data, "gas": hex(15_000_000)})
        return self.w3.eth.contract(address=Web3.to_checksum_address(receipt["contractAddress"]), abi=artifact["abi"])

    def _mine(self, tx: dict[str, Any]) -> dict[str, Any]:
        tx_hash = self.rpc("eth_sendTransaction", [tx])
        receipt: dict[str, Any] | None = self.rpc("eth_getTransactionReceipt", [tx_hash])
        while receipt is None:  # automine answers before the block is stored, now and then
            time.sleep(0.001)
            receipt = self.rpc("eth_getTransactionReceipt", [tx_hash])
        self._mined()
        assert receipt["status"] == "0x1", f"transaction reverted: {receipt}"
        return receipt

    def send(self, contract: Contract, fn: str, args: Sequence[Any], sender: str, value: int = 0, gas: int = GAS) -> Tx:
        """Send ``contract.fn(*args)`` from ``sender``; it must succeed."""
        data = Abi.of(contract).encode(fn, args)
        return Tx(self._mine({"from": sender, "to": contract.address, "data": data, "value": hex(value), "gas": hex(gas)}))

    def refusal(self, contract: Contract, fn: str, args: Sequence[Any], sender: str, value: int = 0) -> tuple[str, dict[str, Any]]:
        """The custom error (name, arguments) ``contract.fn(*args)`` from ``sender`` would revert with
        now; fails when it would succeed. Nothing is mined."""
        data = Abi.of(contract).encode(fn, args)
        try:
            self.rpc("eth_estimateGas", [{"from": sender, "to": contract.address, "data": data, "value": hex(value)}])
        except RpcError as exc:
            assert exc.data, f"{fn} refused without revert data: {exc.error}"
            return Abi.of(contract).decode_error(exc.data)
        raise AssertionError(f"{fn}{tuple(args)} from {sender} was expected to revert, and would succeed")

    def view(self, contract: Contract, fn: str, *args: Any) -> Any:
        return self.views([(contract, fn, args)])[0]

    def views(self, calls: Sequence[tuple[Contract, str, Sequence[Any]]]) -> list[Any]:
        """Several view calls in one round trip, decoded (a single output unwrapped)."""
        raw = self.batch([("eth_call", [{"to": c.address, "data": Abi.of(c).encode(fn, args)}, "latest"]) for c, fn, args in calls])
        out = []
        for (contract, fn, _), result in zip(calls, raw, strict=True):
            values = Abi.of(contract).decode_output(fn, bytes.fromhex(result[2:]))
            out.append(values[0] if len(values) == 1 else values)
        return out

    @staticmethod
    def events(contract: Contract, tx: Tx, name: str) -> list[dict[str, Any]]:
        """The arguments of ``contract``'s ``name`` events in ``tx``, in log order."""
        return Node.decoded(contract, tx.logs, name)

    @staticmethod
    def decoded(contract: Contract, logs: Sequence[dict[str, Any]], name: str) -> list[dict[str, Any]]:
        abi = Abi.of(contract)
        out = []
        for log in logs:
            if Web3.to_checksum_address(log["address"]) != contract.address:
                continue
            decoded = abi.decode_log(log)
            if decoded is not None and decoded[0] == name:
                out.append(decoded[1])
        return out

    def block_time(self, tx: Tx) -> int:
        return int(self.rpc("eth_getBlockByNumber", [tx.receipt["blockNumber"], False])["timestamp"], 16)
