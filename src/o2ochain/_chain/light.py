"""A chain reader without web3: JSON-RPC over ``http.client``, the ABI by hand, an index's logs.

``o2ochain trace show --index`` is a new process each time a person runs it; importing web3 (with
eth-abi, eth-account, aiohttp, requests and pydantic behind it) costs most of a second of it, more
than the history itself. Reading a history needs little of web3: a few ``eth_call`` of static
views, ``eth_getLogs`` of a few events, and an index's ``/o2o/logs``. This module does that much
on the standard library:

* :func:`abi_encode` / :func:`abi_decode`: the contract ABI's encoding for elementary types
  (``uintN``, ``intN``, ``address``, ``bool``, ``bytesN``), ``bytes``, ``string``, arrays and
  tuples (tested against eth-abi, so the two cannot drift); :class:`Function` and :class:`Event`
  read from the compiled ABI (``o2ochain/abi/*.json``);
* :class:`JsonRpc`: JSON-RPC over HTTP with the library's :class:`~o2ochain._chain.retry.RetryPolicy`
  (timeouts, attempts, pauses, 429's ``Retry-After``; a final 4xx carrying a JSON-RPC error is
  that error, as :class:`~o2ochain._chain.connection.RetryMiddleware` does), batches, one kept-alive
  connection per thread; a revert is its decoded exception, in words
  (:func:`~o2ochain._chain.revert.decode_revert`);
* :class:`LightIndex`: the index's HTTP contract (see :mod:`o2ochain._chain.index`), logs as
  :class:`Log`;
* :func:`read_logs`: an index's logs checked against the filter, then the blocks it has not
  indexed yet from the node, in bounded chunks.

What it does not do (signing, sending, node-side range caps learned from refusals) stays with the
web3 path.
"""

from __future__ import annotations

import functools
import http.client
import itertools
import json
import re
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from o2ochain._chain.retry import HTTPStatusError, RetryPolicy, endpoint_name
from o2ochain._chain.util import eip55, keccak256
from o2ochain.errors import ChainError, ConfigError, RPCUnavailable

__all__ = [
    "Event",
    "Function",
    "IndexHeads",
    "JsonRpc",
    "LightIndex",
    "Log",
    "abi_decode",
    "abi_encode",
    "checksum_address",
    "read_logs",
]


#: Blocks per ``eth_getLogs`` of the blocks an index has not covered yet (public RPCs cap ranges
#: at 1,000-10,000 blocks; an index is at most a few blocks behind).
NODE_CHUNK = 1_000
#: The most blocks read from the node past an index's head before giving up: an index that far
#: behind is a problem to fix, not to page around one chunk at a time.
NODE_TAIL_LIMIT = 50_000
#: Requests per JSON-RPC batch (public nodes cap batches, often at 50 or 100 calls).
BATCH = 50
#: Words of a JSON-RPC error that say "try again" (rate limits, a node still catching up).
_TRY_AGAIN = re.compile(r"rate limit|too many requests|header not found|temporarily|try again")


# -- the ABI ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def checksum_address(address: str | bytes) -> str:
    """An address in EIP-55 mixed case (``ValueError`` for anything but 20 bytes or 40 hex digits)."""
    raw = address.hex() if isinstance(address, bytes) else str(address).lower().removeprefix("0x")
    if len(raw) != 40 or not all(c in "0123456789abcdef" for c in raw):
        raise ValueError(f"{address!r} is not an address (20 bytes, 40 hex digits)")
    return eip55(raw)


def _components(inner: str) -> list[str]:
    """The component types of a tuple type's inside (``uint8,(bytes32,bool)[],string``)."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (ch == "(") - (ch == ")")
        current += ch
    if current:
        parts.append(current)
    return parts


@functools.cache
def _array(t: str) -> tuple[str, int | None] | None:
    """``(element type, length or None)`` of an array type, else None."""
    if not t.endswith("]"):
        return None
    base, _, length = t[:-1].rpartition("[")
    return base, (int(length) if length else None)


@functools.cache
def _dynamic(t: str) -> bool:
    if t in ("bytes", "string"):
        return True
    array = _array(t)
    if array is not None:
        return array[1] is None or _dynamic(array[0])
    if t.startswith("("):
        return any(_dynamic(c) for c in _components(t[1:-1]))
    return False


@functools.cache
def _head_size(t: str) -> int:
    if _dynamic(t):
        return 32
    array = _array(t)
    if array is not None:
        return (array[1] or 0) * _head_size(array[0])
    if t.startswith("("):
        return sum(_head_size(c) for c in _components(t[1:-1]))
    return 32


def _word(data: bytes, at: int) -> bytes:
    word = data[at : at + 32]
    if len(word) != 32:
        raise ValueError(f"the data ends at byte {len(data)}, before the word at byte {at}")
    return word


def _decode_one(t: str, data: bytes, at: int, base: int) -> Any:
    """The value of type ``t`` whose head is at ``at`` in ``data`` (offsets count from ``base``)."""
    if _dynamic(t):
        at = base + int.from_bytes(_word(data, at), "big")
        base = at
    array = _array(t)
    if array is not None:
        element, length = array
        if length is None:
            length = int.from_bytes(_word(data, at), "big")
            at = base = at + 32
        if length > len(data):
            raise ValueError(f"an array of {length} elements in {len(data)} bytes")
        return _decode_seq([element] * length, data, at)
    if t.startswith("("):
        return _decode_seq(_components(t[1:-1]), data, at)
    if t in ("bytes", "string"):
        size = int.from_bytes(_word(data, at), "big")
        raw = data[at + 32 : at + 32 + size]
        if at + 32 + (size + 31) // 32 * 32 > len(data):  # padded to whole words, as eth-abi requires
            raise ValueError(f"{t} of {size} bytes past the end of the data")
        return raw.decode("utf-8") if t == "string" else raw
    word = _word(data, at)
    if t == "address":
        return checksum_address(word[12:])
    if t == "bool":
        return word != bytes(32)
    if t.startswith("uint"):
        return int.from_bytes(word, "big")
    if t.startswith("int"):
        return int.from_bytes(word, "big", signed=True)
    if t.startswith("bytes"):
        return word[: int(t[5:])]
    raise ValueError(f"ABI type {t!r} is not read here")


def _decode_seq(types: Sequence[str], data: bytes, start: int) -> tuple[Any, ...]:
    out = []
    at = start
    for t in types:
        out.append(_decode_one(t, data, at, start))
        at += _head_size(t)
    return tuple(out)


def abi_decode(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """``data`` read as the ABI encoding of values of ``types`` (canonical type strings, tuples
    as ``(t1,t2)``); addresses come checksummed. ``ValueError`` when ``data`` is not such an encoding."""
    return _decode_seq(list(types), bytes(data), 0)


def _encode_one(t: str, value: Any) -> bytes:
    array = _array(t)
    if array is not None:
        element, length = array
        values = list(value)
        body = _encode_seq([element] * len(values), values)
        return body if length is not None else len(values).to_bytes(32, "big") + body
    if t.startswith("("):
        return _encode_seq(_components(t[1:-1]), list(value))
    if t in ("bytes", "string"):
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return len(raw).to_bytes(32, "big") + raw.ljust((len(raw) + 31) // 32 * 32, b"\x00")
    if t == "address":
        return bytes.fromhex(str(value).removeprefix("0x")).rjust(32, b"\x00")
    if t == "bool":
        return (1 if value else 0).to_bytes(32, "big")
    if t.startswith("uint"):
        return int(value).to_bytes(32, "big")
    if t.startswith("int"):
        return int(value).to_bytes(32, "big", signed=True)
    if t.startswith("bytes"):
        raw = bytes(value)
        if len(raw) > int(t[5:]):
            raise ValueError(f"{len(raw)} bytes do not fit {t}")
        return raw.ljust(32, b"\x00")
    raise ValueError(f"ABI type {t!r} is not written here")


def _encode_seq(types: Sequence[str], values: Sequence[Any]) -> bytes:
    if len(types) != len(values):
        raise ValueError(f"{len(values)} values for {len(types)} types")
    heads: list[bytes] = []
    tails: list[bytes] = []
    offset = sum(_head_size(t) for t in types)
    for t, value in zip(types, values, strict=True):
        encoded = _encode_one(t, value)
        if _dynamic(t):
            heads.append(offset.to_bytes(32, "big"))
            tails.append(encoded)
            offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads) + b"".join(tails)


def abi_encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """The ABI encoding of ``values`` as ``types`` (see :func:`abi_decode`)."""
    return _encode_seq(list(types), list(values))


def canonical_type(param: dict[str, Any]) -> str:
    """A compiled ABI's parameter as its canonical type string (structs as tuples)."""
    t = str(param["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(canonical_type(c) for c in param["components"]) + ")" + t[5:]
    return t


@functools.cache
def _record(names: tuple[str, ...]) -> Any:
    return namedtuple("Record", names)


def _shaped(param: dict[str, Any], value: Any) -> Any:
    """A decoded value with its structs as named tuples (``view.kind``), as web3 gives them with
    ``decode_tuples=True``."""
    t = str(param["type"])
    if t.startswith("tuple"):
        components = param["components"]
        if t != "tuple":  # an array of structs
            return [_shaped({**param, "type": t[: t.rindex("[")]}, v) for v in value]
        fields = [_shaped(c, v) for c, v in zip(components, value, strict=True)]
        names = tuple(str(c.get("name") or f"_{n}") for n, c in enumerate(components))
        return _record(names)(*fields)
    return list(value) if isinstance(value, tuple) else value


class Function:
    """One function of a compiled ABI: its call data, and its answer decoded."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.name = str(entry["name"])
        self.inputs = [canonical_type(p) for p in entry["inputs"]]
        self.outputs: list[dict[str, Any]] = list(entry.get("outputs") or [])
        self.selector = keccak256(f"{self.name}({','.join(self.inputs)})".encode())[:4]

    def data(self, *args: Any) -> str:
        return "0x" + (self.selector + abi_encode(self.inputs, args)).hex()

    def result(self, answer: str) -> Any:
        """The answer of ``eth_call``: the value of a single output, else a list of them."""
        raw = bytes.fromhex(answer.removeprefix("0x"))
        values = abi_decode([canonical_type(p) for p in self.outputs], raw)
        shaped = [_shaped(p, v) for p, v in zip(self.outputs, values, strict=True)]
        return shaped[0] if len(shaped) == 1 else shaped


class Event:
    """One event of a compiled ABI: its topic, and a log's arguments by name."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.name = str(entry["name"])
        params = list(entry["inputs"])
        signature = f"{self.name}({','.join(canonical_type(p) for p in params)})"
        self.topic = keccak256(signature.encode())
        self.topic_hex = "0x" + self.topic.hex()
        self._indexed = [p for p in params if p.get("indexed")]
        self._data = [p for p in params if not p.get("indexed")]
        self._data_types = [canonical_type(p) for p in self._data]

    def args(self, log: Log) -> dict[str, Any]:
        """The arguments of ``log`` by name (an indexed dynamic value is its hash, as on chain)."""
        if len(log.topics) != len(self._indexed) + 1 or log.topics[0] != self.topic:
            raise ChainError(f"a log of block {log.block} is not a {self.name} event")
        out: dict[str, Any] = {}
        for param, topic in zip(self._indexed, log.topics[1:], strict=True):
            t = canonical_type(param)
            out[param["name"]] = topic if _dynamic(t) else _shaped(param, abi_decode([t], topic)[0])
        for param, value in zip(self._data, abi_decode(self._data_types, log.data), strict=True):
            out[param["name"]] = _shaped(param, value)
        return out


def abi_of(entries: Iterable[dict[str, Any]]) -> tuple[dict[str, Function], dict[str, Event]]:
    """The functions and events of a compiled ABI, by name."""
    functions: dict[str, Function] = {}
    events: dict[str, Event] = {}
    for entry in entries:
        if entry.get("type") == "function":
            functions[str(entry["name"])] = Function(entry)
        elif entry.get("type") == "event":
            events[str(entry["name"])] = Event(entry)
    return functions, events


# -- logs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Log:
    """One log, as ``eth_getLogs`` and the index give it, read once."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block: int
    log_index: int
    tx_hash: bytes
    removed: bool = False

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> Log:
        return cls(
            address=str(entry["address"]).lower(),
            topics=tuple(bytes.fromhex(str(t)[2:]) for t in entry["topics"]),
            data=bytes.fromhex(str(entry["data"])[2:]),
            block=_quantity(entry["blockNumber"]),
            log_index=_quantity(entry["logIndex"]),
            tx_hash=bytes.fromhex(str(entry["transactionHash"])[2:]),
            removed=bool(entry.get("removed", False)),
        )


def _quantity(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _topic_json(value: Any) -> Any:
    """A topic filter position as JSON: null, a 0x hex string, or a list of them."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [_topic_json(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value).lower()


def _topic_set(value: Any) -> set[bytes]:
    values = value if isinstance(value, list | tuple) else [value]
    return {bytes(v) if isinstance(v, bytes | bytearray) else bytes.fromhex(str(v).removeprefix("0x")) for v in values}


def _matcher(address: str, topics: Sequence[Any], first: int, last: int) -> Callable[[Log], bool]:
    """Whether a log answers the filter (a tampered index cannot slip in foreign logs)."""
    where = address.lower()
    wanted = [(n, _topic_set(want)) for n, want in enumerate(topics) if want is not None]

    def matches(log: Log) -> bool:
        if log.removed or not first <= log.block <= last or log.address != where:
            return False
        return all(n < len(log.topics) and log.topics[n] in options for n, options in wanted)

    return matches


# -- HTTP -------------------------------------------------------------------------------------
class _Http:
    """One kept-alive ``http.client`` connection per thread to one URL, each request tried by a
    :class:`RetryPolicy` (a connection the server closed meanwhile is opened again at once)."""

    def __init__(self, url: str, policy: RetryPolicy) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"unsupported URL {url!r}: give an http:// or https:// URL")
        self.url = url.rstrip("/")
        self.endpoint = endpoint_name(url)
        self.policy = policy
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path.rstrip("/") or "") + (f"?{parts.query}" if parts.query else "")
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=self.policy.timeout)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def _once(self, method: str, path: str, body: bytes | None) -> tuple[int, str, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        for fresh in (False, True):
            reused = getattr(self._local, "conn", None) is not None
            conn = self._connection()
            try:
                conn.request(method, self._path + path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop()
                if reused and not fresh:
                    continue  # the server closed the kept-alive connection: a new one, no pause
                raise
            except http.client.HTTPException as exc:  # a broken answer: tried again like a dropped connection
                self._drop()
                raise ConnectionError(f"the answer was cut off ({type(exc).__name__})") from exc
            except BaseException:
                self._drop()
                raise
            if response.will_close:
                self._drop()
            return response.status, response.reason, dict(response.getheaders()), data
        raise AssertionError("unreachable")  # pragma: no cover

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None,
        *,
        what: str,
        fail: Callable[[int, float, str], Exception],
        answers: Callable[[int], bool] = lambda status: 400 <= status < 500 and status not in (408, 429),
    ) -> Any:
        """The JSON answer to one request, tried by the policy; a final status that ``answers``
        (a 4xx by default, not 408 or 429) whose body is JSON with an ``error`` is that answer
        (the caller reads the error's words)."""

        def attempt() -> Any:
            status, reason, headers, data = self._once(method, path, body)
            if not 200 <= status < 300:
                if answers(status):
                    try:
                        answer = json.loads(data)
                    except ValueError:
                        answer = None
                    if (isinstance(answer, dict) and answer.get("error")) or isinstance(answer, list):
                        return answer
                raise HTTPStatusError(status, reason, headers, data)
            return json.loads(data)

        return self.policy.run(attempt, endpoint=self.endpoint, what=what, fail=fail, not_json=True, keep_cause=False)

    def close(self) -> None:
        self._drop()


class JsonRpc:
    """JSON-RPC over HTTP with the library's retry policy (see the module docstring)."""

    def __init__(self, url: str, *, policy: RetryPolicy | None = None) -> None:
        self.http = _Http(url, policy or RetryPolicy.from_env())
        self.endpoint = self.http.endpoint
        self._ids = itertools.count(1)

    def _send(self, payload: Any, what: str) -> Any:
        def unavailable(attempts: int, seconds: float, problem: str) -> Exception:
            return RPCUnavailable(self.endpoint, what, attempts, seconds, problem)

        return self.http.request("POST", "", json.dumps(payload).encode(), what=what, fail=unavailable)

    def call(self, method: str, params: list[Any]) -> Any:
        """The ``result`` of one call (a revert raised as its decoded exception, an error answer as a
        ChainError in the node's words); asked again, with the policy's pauses, while the node
        answers "try again" (a rate limit in a JSON-RPC error, "header not found")."""
        started = time.monotonic()
        pauses = self.http.policy.pauses()
        while True:
            answer = self._send(self._payload(method, params), method)
            error = answer.get("error") if isinstance(answer, dict) else None
            if isinstance(error, dict) and (error.get("code") == 429 or _TRY_AGAIN.search(str(error.get("message", "")).lower())):
                pause = self.http.policy.next_pause(pauses, started, True)
                if pause is not None:
                    time.sleep(pause)
                    continue
            return self._result(method, answer)

    def batch(self, calls: Sequence[tuple[str, list[Any]]], *, what: str) -> list[Any]:
        """The results of ``calls``, in JSON-RPC batches of :data:`BATCH`; a batch the node
        refuses or fails in part is asked again call by call."""
        out: list[Any] = []
        for start in range(0, len(calls), BATCH):
            chunk = calls[start : start + BATCH]
            if len(chunk) == 1:
                out.append(self.call(*chunk[0]))
                continue
            payloads = [self._payload(method, params) for method, params in chunk]
            answers = self._send(payloads, f"a batch of {len(chunk)} ({what})")
            by_id = {a.get("id"): a for a in answers} if isinstance(answers, list) else {}
            if all(p["id"] in by_id and "result" in by_id[p["id"]] for p in payloads):
                out.extend(self._result(method, by_id[p["id"]]) for (method, _), p in zip(chunk, payloads, strict=True))
            else:
                out.extend(self.call(method, params) for method, params in chunk)
        return out

    def _payload(self, method: str, params: list[Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}

    @staticmethod
    def _result(method: str, answer: Any) -> Any:
        if not isinstance(answer, dict):
            raise ChainError(f"{method}: the node's answer is not JSON-RPC")
        error = answer.get("error")
        if isinstance(error, dict):
            data = error.get("data")
            if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x…"}}
                data = data.get("data")
            if method == "eth_call" and isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
                from o2ochain._chain.revert import decode_revert

                raise decode_revert(data)
            raise ChainError(f"{method} failed: {error.get('message') or error}")
        if "result" not in answer:
            raise ChainError(f"{method}: the node's answer has neither a result nor an error")
        return answer["result"]

    def eth_call(self, to: str, data: str) -> str:
        return str(self.call("eth_call", [{"to": to, "data": data}, "latest"]))

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def chain_id(self) -> int:
        return int(self.call("eth_chainId", []), 16)

    def get_logs(self, address: str, topics: Sequence[Any], first: int, last: int) -> list[Log]:
        """The node's logs of ``[first, last]`` in chunks of :data:`NODE_CHUNK` blocks."""
        out: list[Log] = []
        for start in range(first, last + 1, NODE_CHUNK):
            end = min(last, start + NODE_CHUNK - 1)
            query = {"address": address, "topics": [_topic_json(t) for t in topics], "fromBlock": hex(start), "toBlock": hex(end)}
            answer = self.call("eth_getLogs", [query])
            out.extend(Log.from_json(entry) for entry in answer)
        return out

    def close(self) -> None:
        self.http.close()


class IndexHeads:
    """What both index clients (this module's :class:`LightIndex`, and
    :class:`o2ochain._chain.index.IndexClient` on ``requests``) say the same way: the heads an
    index answers, the chain it does not index, a request that failed, in words. A client sets
    ``endpoint`` and implements ``_call(method, path, body)``."""

    endpoint: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError

    def _failed(self, what: str) -> Callable[[int, float, str], Exception]:
        """How a request that the retry policy gave up on is said."""

        def failed(attempts: int, seconds: float, problem: str) -> Exception:
            tries = "once" if attempts == 1 else f"{attempts} times over {seconds:.1f} s"
            return ChainError(f"the index at {self.endpoint} failed {what} {tries}: {problem}")

        return failed

    def heads(self) -> dict[int, int]:
        """The last block fully indexed, by chain id."""
        answer = self._call("GET", "/o2o/head")
        try:
            return {int(chain): int(entry["block"]) for chain, entry in answer["chains"].items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ChainError(f"the index at {self.endpoint} gave a /o2o/head answer without chains and blocks") from None

    def head(self, chain_id: int, heads: dict[int, int] | None = None) -> int:
        """The last block of chain ``chain_id`` fully indexed (ConfigError when it does not index
        that chain), from ``heads`` when they were asked already."""
        heads = self.heads() if heads is None else heads
        if chain_id not in heads:
            indexed = ", ".join(str(c) for c in sorted(heads)) or "none"
            raise ConfigError(
                f"the index at {self.endpoint} does not index chain {chain_id} (it indexes: {indexed}); "
                "point it at this chain's deployment, or leave out the index"
            )
        return heads[chain_id]


class LightIndex(IndexHeads):
    """An o2ochain index's HTTP contract (``/o2o/head``, ``/o2o/logs`` with pages), as
    :class:`o2ochain._chain.index.IndexClient` speaks it, with the same errors in words."""

    def __init__(self, url: str, *, policy: RetryPolicy | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"unsupported index URL {url!r}: give the http:// or https:// URL the index serves on")
        self.http = _Http(url, policy or RetryPolicy.from_env())
        self.endpoint = self.http.endpoint

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        what = f"{method} {path}"
        try:
            payload = json.dumps(body).encode() if body is not None else None
            answer = self.http.request(method, path, payload, what=what, fail=self._failed(what), answers=lambda status: status == 400)
        except ChainError as exc:
            if "not JSON-RPC" in str(exc):
                raise ChainError(f"the index at {self.endpoint} answered {what} with something that is not JSON") from None
            raise
        if isinstance(answer, dict) and "error" in answer and len(answer) == 1:
            raise ChainError(f"the index at {self.endpoint} refused {what}: {answer['error']}")
        return answer

    def get_logs(self, *, chain_id: int, address: str, topics: Sequence[Any], from_block: int, to_block: int) -> tuple[list[Log], int]:
        """The indexed logs of the filter up to ``to_block`` (one snapshot over all pages), and
        the last block the index covered."""
        body: dict[str, Any] = {
            "chainId": chain_id,
            "address": address,
            "topics": [_topic_json(t) for t in topics],
            "fromBlock": from_block,
            "toBlock": to_block,
            "after": None,
            "limit": 10_000,
        }
        out: list[Log] = []
        covered: int | None = None
        while True:
            answer = self._call("POST", "/o2o/logs", body)
            try:
                head = int(answer["head"])
                covered = min(head, to_block) if covered is None else min(covered, head, to_block)
                out.extend(Log.from_json(entry) for entry in answer["logs"])
                after = answer.get("next")
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ChainError(f"the index at {self.endpoint} gave a /o2o/logs answer that is not logs ({exc!r})") from None
            if not after:
                break
            body = {**body, "toBlock": covered, "after": after}
        return [log for log in out if log.block <= covered], max(covered, from_block - 1)

    def close(self) -> None:
        self.http.close()


def read_logs(
    rpc: JsonRpc, index: LightIndex | None, chain_id: int, *, address: str, topics: Sequence[Any], from_block: int, to_block: int
) -> list[Log]:
    """The logs of the filter in ``[from_block, to_block]`` in chain order: the index's as far as it
    covers (each checked against the filter), the rest from the node."""
    if from_block > to_block:
        return []
    out: list[Log] = []
    start = from_block
    if index is not None:
        indexed, covered = index.get_logs(chain_id=chain_id, address=address, topics=topics, from_block=from_block, to_block=to_block)
        reach = min(covered, to_block)
        out = sorted(filter(_matcher(address, topics, from_block, reach), indexed), key=lambda log: (log.block, log.log_index))
        start = max(from_block, reach + 1)
    if start <= to_block:
        if to_block - start + 1 > NODE_TAIL_LIMIT:
            raise ChainError(
                f"the index at {index.endpoint if index else '?'} is {to_block - start + 1:,} blocks behind the node: "
                "wait for it to catch up, or leave out the index"
            )
        out.extend(rpc.get_logs(address, topics, start, to_block))
    return out
