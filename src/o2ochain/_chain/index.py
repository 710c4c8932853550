"""An o2ochain index (the Ponder app in ``indexer/``) as a source of event logs.

The index is a cache; the chain is the truth. :func:`o2ochain._chain.logs.get_logs` asks the
index attached to a connection for the blocks it has indexed and reads the rest (the few blocks
it lags behind the head) from the node in bounded chunks, so callers get the same logs either way.

:class:`IndexClient` speaks the index's HTTP contract (``indexer/src/api/index.ts``)::

    GET  /o2o/head  -> {"chains": {"31337": {"block": 1234, "hash": "0x…"}}}
    POST /o2o/logs  {"chainId", "address", "topics", "fromBlock", "toBlock", "after", "limit"}
                    -> {"head": 1234, "logs": [eth_getLogs-shaped, hex quantities], "next": cursor | null}

and returns logs shaped exactly like ``w3.eth.get_logs`` returns them (``AttributeDict`` with
``HexBytes`` hashes, ``int`` numbers, checksummed addresses), so every reader decodes them
unchanged. Each request has a timeout and is retried like a JSON-RPC call
(:class:`~o2ochain._chain.connection.RetryPolicy`); when the index stays away the error names
it and says what went wrong, in words.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, cast

import orjson
import requests
from hexbytes import HexBytes
from web3 import Web3
from web3.types import LogReceipt

from o2ochain._chain.events import attribute_dict, checksum_address, hex_bytes
from o2ochain._chain.light import IndexHeads
from o2ochain._chain.retry import RetryPolicy, endpoint_name
from o2ochain.errors import ChainError, ConfigError

__all__ = ["IndexClient", "LogSource", "attach_index", "attached_index"]

_log = logging.getLogger("o2ochain.index")

#: The most logs the index returns in one answer (its contract's cap).
PAGE_LIMIT = 10_000


class LogSource(Protocol):
    """Where indexed logs come from."""

    def get_logs(
        self, *, chain_id: int, address: str | Sequence[str], topics: Sequence[Any], from_block: int, to_block: int | None
    ) -> tuple[list[LogReceipt], int]:
        """The logs matching the filter in ``[from_block, min(to_block, covered)]`` in chain order,
        and ``covered``: the last block the index had fully indexed when it answered."""
        ...


_ATTACHED: weakref.WeakKeyDictionary[Web3, LogSource] = weakref.WeakKeyDictionary()


def attach_index(w3: Web3, index: LogSource | None) -> None:
    """Read logs of ``w3`` through ``index`` from now on (``None`` detaches)."""
    if index is None:
        _ATTACHED.pop(w3, None)
    else:
        _ATTACHED[w3] = index


def attached_index(w3: Web3) -> LogSource | None:
    """The index attached to ``w3``, if any."""
    return _ATTACHED.get(w3)


class IndexClient(IndexHeads):
    """An o2ochain index over HTTP, as a :class:`LogSource`.

    ``timeout`` bounds each request and ``retries`` is how many attempts it gets (pauses 0.25,
    0.5, 1, 2 s between them; see :class:`~o2ochain._chain.connection.RetryPolicy`): connection
    refused or dropped, no answer in time, HTTP 5xx, 429 and 408 are tried again; a 400 (a query
    the index does not understand) is not. Use as a context manager to close its connections.
    """

    def __init__(self, url: str, *, timeout: float = 30.0, retries: int = 5, policy: RetryPolicy | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"unsupported index URL {url!r}: give the http:// or https:// URL the index serves on")
        self.url = url.rstrip("/")
        self.endpoint = endpoint_name(self.url)
        self.policy = policy or RetryPolicy.from_env(timeout=timeout, attempts=retries)
        self.session = requests.Session()
        #: How many HTTP requests were answered (for benchmarks and tests).
        self.requests = 0

    # -- the contract (heads and head: IndexHeads) ----------------------------------------------
    def get_logs(
        self, *, chain_id: int, address: str | Sequence[str], topics: Sequence[Any], from_block: int, to_block: int | None
    ) -> tuple[list[LogReceipt], int]:
        """See :meth:`LogSource.get_logs`; pages through the answer (``next``) as one list.

        ``covered`` is the index's head at the first answer (at most ``to_block``); the later
        pages are asked up to it, so the list is one consistent snapshot even while the index
        moves on (and any log past it is dropped).
        """
        body: dict[str, Any] = {
            "chainId": chain_id,
            "address": address if isinstance(address, str) else list(address),
            "topics": [_topic(t) for t in topics],
            "fromBlock": from_block,
            "toBlock": to_block,
            "after": None,
            "limit": PAGE_LIMIT,
        }
        out: list[LogReceipt] = []
        covered: int | None = None
        # The next page is asked for while this one is turned into logs (the wait and the work overlap).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="o2o-index") as pool:
            pending = pool.submit(self._call, "POST", "/o2o/logs", body)
            while True:
                answer = pending.result()
                try:
                    head = int(answer["head"])
                    raw = answer["logs"]
                    after = answer.get("next")
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise ChainError(f"the index at {self.endpoint} gave a /o2o/logs answer that is not logs ({exc!r})") from None
                limit = head if to_block is None else min(head, to_block)
                covered = limit if covered is None else min(covered, limit)  # an index that went back: the smaller
                if after:
                    body = {**body, "toBlock": covered, "after": after}
                    pending = pool.submit(self._call, "POST", "/o2o/logs", body)
                try:
                    shared: dict[str, HexBytes] = {}  # one object for each hash the page repeats (event, block, transaction)
                    out.extend([_log_receipt(entry, shared) for entry in raw])
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise ChainError(f"the index at {self.endpoint} gave a /o2o/logs answer that is not logs ({exc!r})") from None
                if not after:
                    break
        kept = [log for log in out if log["blockNumber"] <= covered]
        return kept, max(covered, from_block - 1)

    # -- HTTP ----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request with the retry policy; the JSON answer, or a ChainError in words."""
        what = f"{method} {path}"

        def request() -> Any:
            response = self.session.request(method, self.url + path, json=body, timeout=self.policy.timeout)
            if response.status_code == 400:
                raise ChainError(f"the index at {self.endpoint} refused {what}: {_error_text(response)}")
            response.raise_for_status()
            self.requests += 1
            try:
                return orjson.loads(response.content)  # a year of purchases is some 80 MB of JSON: orjson reads it 3-4 times faster
            except orjson.JSONDecodeError:
                pass  # an integer beyond 64 bits, say: the standard library reads those
            try:
                return response.json()
            except ValueError:
                raise ChainError(f"the index at {self.endpoint} answered {what} with something that is not JSON") from None

        return self.policy.run(request, endpoint=self.endpoint, what=what, fail=self._failed(what), log=_log, keep_cause=False)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"IndexClient({self.endpoint!r})"


def _error_text(response: requests.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP 400 {response.text[:200]}".strip()


def _topic(value: Any) -> Any:
    """A topic filter position as the contract's JSON: null, a 0x hex string, or a list of them."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_topic(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value).lower()


def _quantity(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _log_receipt(entry: dict[str, Any], shared: dict[str, HexBytes]) -> LogReceipt:
    """One eth_getLogs-shaped JSON log as web3 returns it from ``w3.eth.get_logs``. The hashes of
    ``shared`` (strings already met in the same answer, made into HexBytes once: immutable, so
    the logs of one transaction or block share them) are taken from it, the others added."""
    shaped: dict[str, Any] = {
        "address": checksum_address(entry["address"]),
        "topics": [shared[t] if t in shared else shared.setdefault(t, hex_bytes(t)) for t in entry["topics"]],
        "data": hex_bytes(entry["data"]),
        "blockHash": shared[h] if (h := entry["blockHash"]) in shared else shared.setdefault(h, hex_bytes(h)),
        "blockNumber": _quantity(entry["blockNumber"]),
        "transactionHash": shared[t] if (t := entry["transactionHash"]) in shared else shared.setdefault(t, hex_bytes(t)),
        "transactionIndex": _quantity(entry["transactionIndex"]),
        "logIndex": _quantity(entry["logIndex"]),
        "removed": bool(entry.get("removed", False)),
    }
    if "blockTimestamp" in entry:  # as Anvil and recent geth give it (web3 leaves it as it came)
        shaped["blockTimestamp"] = entry["blockTimestamp"]
    return cast(LogReceipt, attribute_dict(shaped))
