"""Reading event logs: from an attached index, then from the node in chunks its provider accepts.

:func:`get_logs` first asks the index attached to the connection
(:func:`o2ochain._chain.index.attached_index`) for the blocks it has indexed, checks each of its
logs against the filter (a tampered index cannot slip in foreign logs) and reads the blocks the
index has not covered yet from the node. Without an index it reads everything from the node.

Public nodes cap ``eth_getLogs`` by block range or result count and say so in words, often with a
range that would work (Alchemy: "this block range should work: [0x…, 0x…]", Infura: "Try with this
block range [0x…, 0x…]", QuickNode: "limited to a 10,000 range"). The reader follows such a hint
instead of halving blindly, remembers a provider's block-range cap per connection (the next read
starts at the cap, without a refused request), halves only when the words give no number, never
asks beyond the last block it needs, and waits as long as a 429's ``Retry-After`` says.

An index is a cache: it may be behind (freshness it hides), but what a reader shows as a fact
must be the chain's. Where a fact lives only in a log (a review's content hash, a reply),
:func:`confirmed` checks each log an index gave against the node, with an ``eth_getLogs``
bounded to that log's own block, many in one JSON-RPC batch.

Within :func:`pinned_head` (one command's reads, say) the head is read once: every
:func:`get_logs` up to the head then reads up to that block, one ``eth_blockNumber`` for all of
them instead of one each, and the lists read together describe one and the same chain.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import requests
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3._utils.method_formatters import log_entry_formatter
from web3.exceptions import Web3RPCError
from web3.types import FilterParams, LogReceipt

from o2ochain._chain.index import attached_index
from o2ochain._chain.tx import read_all, with_retries
from o2ochain.errors import ChainError, RPCUnavailable

__all__ = ["confirmed", "get_logs", "head_block", "known_range_cap", "pinned_head"]

_log = logging.getLogger("o2ochain.logs")

#: Words of a refusal that give no number: the range was too wide or the answer too big.
_TOO_WIDE = (
    "range",
    "too many",
    "limit",
    "exceed",
    "timeout",
    "timed out",
    "query returned more than",
    "response size",
    "too large",
    "max results",
)
#: A suggested range that works ([first, last], hex): Alchemy and Infura.
_SUGGESTED = re.compile(r"(?:block range should work|try with this block range):?\s*\[\s*0x([0-9a-f]+)\s*,\s*0x([0-9a-f]+)\s*\]")
#: A stated block-range cap, in the words of QuickNode, Alchemy, Infura, Ankr, publicnode, Moonbeam, BlockPI, Avalanche.
_CAP = re.compile(
    r"limited to an? ([\d,.]+)(?: block)? range"
    r"|up to an? ([\d,.]+) block range"
    r"|exceeds limit of ([\d,.]+)"
    r"|maximum \[from, to\] blocks distance: ([\d,.]+)"
    r"|maximum block range:? ([\d,.]+)"
    r"|block range is too wide \(maximum ([\d,.]+)\)"
    r"|limited to ([\d,.]+) blocks?"
    r"|maximum is set to ([\d,.]+)"
    r"|max(?:imum)? range:? ([\d,.]+)"
)
#: Words of a refusal about the number of results (a dense stretch), not the range.
_RESULTS = ("response size", "query returned more than", "max results", "results")

#: Longest 429 pause honoured, and how long one read keeps waiting out rate limits in all.
_MAX_PAUSE = 30.0
_RATE_BUDGET = 300.0


@dataclass
class _Connection:
    """What a connection taught us: its chain id and its provider's block-range cap."""

    chain_id: int | None = None
    cap: int | None = None
    #: The head pinned by :func:`pinned_head`, by thread (``None`` until asked).
    pins: dict[int, Future[int] | None] = field(default_factory=dict)


_CONNECTIONS: weakref.WeakKeyDictionary[Web3, _Connection] = weakref.WeakKeyDictionary()


def _connection(w3: Web3) -> _Connection:
    known = _CONNECTIONS.get(w3)
    if known is None:
        known = _CONNECTIONS[w3] = _Connection()
    return known


@contextlib.contextmanager
def pinned_head(w3: Web3, *, early: bool = False) -> Iterator[None]:
    """Within this block (in this thread), :func:`get_logs` without ``to_block`` reads up to one
    head, asked of the node once (at the first read). Nested, the outermost pin holds.
    ``early``: over HTTP the head is asked at once, in a thread of its own, while the caller
    goes on with other calls (its first read of logs then waits no round trip of its own)."""
    pins = _connection(w3).pins
    me = threading.get_ident()
    if me in pins:
        yield
        return
    pin: Future[int] | None = None
    if early and isinstance(w3.provider, HTTPProvider):  # an in-process chain is not made for threads
        pin = Future()
        threading.Thread(target=_read_head, args=(w3, pin), name="o2ochain-head", daemon=True).start()
    pins[me] = pin
    try:
        yield
    finally:
        pins.pop(me, None)


def head_block(w3: Web3) -> int:
    """The node's head, or the one pinned by :func:`pinned_head` in this thread: what to give
    as ``to_block`` to reads done in other threads for the same command."""
    return _head(w3)


def _node_head(w3: Web3) -> int:
    return int(with_retries(lambda: w3.eth.block_number, what="eth_blockNumber"))


def _read_head(w3: Web3, pin: Future[int]) -> None:
    try:
        pin.set_result(_node_head(w3))
    except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
        pin.set_exception(exc)


def _head(w3: Web3) -> int:
    """The node's head, or the one pinned by :func:`pinned_head`."""
    pins = _connection(w3).pins
    me = threading.get_ident()
    pin = pins.get(me)
    if pin is not None:
        return pin.result()
    head = _node_head(w3)
    if me in pins:
        pins[me] = pin = Future()
        pin.set_result(head)
    return head


def known_range_cap(w3: Web3) -> int | None:
    """The block-range cap ``w3``'s provider stated (learned from a refusal), if any."""
    return _connection(w3).cap


def get_logs(
    w3: Web3,
    *,
    address: str | Sequence[str],
    topics: Sequence[Any],
    from_block: int,
    to_block: int | None = None,
    chunk: int = 100_000,
    min_chunk: int = 1,
) -> list[LogReceipt]:
    """All logs matching ``topics`` at ``address`` in ``[from_block, to_block]`` (the head when
    ``None``), in chain order: from the attached index as far as it has indexed, the rest from
    the node in chunks of at most ``chunk`` blocks (or the provider's cap)."""
    last = int(to_block) if to_block is not None else _head(w3)
    if from_block > last:
        return []
    out: list[LogReceipt] = []
    start = from_block
    index = attached_index(w3)
    if index is not None:
        conn = _connection(w3)
        if conn.chain_id is None:
            conn.chain_id = int(with_retries(lambda: w3.eth.chain_id, what="eth_chainId"))
        # An index that fails is an error naming it (o2ochain.connect's promise), not a silent
        # fall back: on a public RPC the node alone may take minutes for what the index answers at once.
        indexed, covered = index.get_logs(chain_id=conn.chain_id, address=address, topics=topics, from_block=from_block, to_block=last)
        reach = min(int(covered), last)
        out = sorted(
            filter(_matcher(address, topics, from_block, reach), map(_formatted, indexed)),
            key=lambda log: (log["blockNumber"], log["logIndex"]),
        )
        start = max(from_block, reach + 1)
    if start <= last:
        out.extend(_node_logs(w3, address=address, topics=topics, first=start, last=last, chunk=chunk, min_chunk=min_chunk))
    return out


#: Requests per JSON-RPC batch of :func:`confirmed` (public nodes cap batches, often at 50 or 100 calls).
_CONFIRM_BATCH = 50


def confirmed(w3: Web3, logs: Sequence[LogReceipt], *, topics: int = 2, fact: Callable[[LogReceipt], Hashable] | None = None) -> list[bool]:
    """Whether the node holds each of ``logs`` as it states ``fact`` (by default its whole data):
    a log at the same block and log index, of the same address and topics, stating the same.
    Each is looked up with an ``eth_getLogs`` of its own block alone (``fromBlock == toBlock``),
    by its address and first ``topics`` topics (the event and, say, the review it is about), one
    request per distinct block and filter, in JSON-RPC batches.

    Without an attached index every log came from the node: all are, and nothing is asked. A log
    an index added or moved is not (the node has no such log there), nor one whose ``fact`` it
    altered, nor one removed by a reorganisation since the index read it. ``fact`` names what the
    caller shows (a review's content hash and URI, say), so that an index's change to a field
    the caller takes from elsewhere (the board's view) does not cast doubt on what it shows.
    """
    if attached_index(w3) is None or not logs:
        return [True] * len(logs)
    filters: dict[tuple[int, str, tuple[str, ...]], None] = {}
    for log in logs:
        filters[(int(log["blockNumber"]), _hex(log["address"]), tuple(_hex(t) for t in log["topics"][:topics]))] = None
    asked = [
        partial(w3.eth.get_logs, {"address": Web3.to_checksum_address(a), "topics": list(wanted), "fromBlock": block, "toBlock": block})
        for block, a, wanted in filters
    ]
    stated = fact or (lambda log: _hex(log["data"]))

    def essence(log: LogReceipt) -> tuple[Hashable, ...]:
        return (int(log["blockNumber"]), int(log["logIndex"]), _hex(log["address"]), tuple(_hex(t) for t in log["topics"]), stated(log))

    held = {essence(log) for answer in read_all(w3, asked, what="eth_getLogs", batch_size=_CONFIRM_BATCH) for log in answer}
    return [not log.get("removed") and essence(log) in held for log in logs]


def _node_logs(
    w3: Web3, *, address: str | Sequence[str], topics: Sequence[Any], first: int, last: int, chunk: int, min_chunk: int
) -> list[LogReceipt]:
    conn = _connection(w3)
    out: list[LogReceipt] = []
    start = first
    size = min(chunk, conn.cap or chunk)
    limited_since: float | None = None
    probing = False  # a refusal for the range gave no number: the size that works next is the cap
    hinted = False  # the node named the range that works
    while start <= last:
        end = min(last, start + size - 1)
        params: FilterParams = {
            "address": address if isinstance(address, str) else list(address),  # type: ignore[typeddict-item]
            "topics": list(topics),
            "fromBlock": start,
            "toBlock": end,
        }
        try:
            out.extend(with_retries(lambda p=params: w3.eth.get_logs(p), what="eth_getLogs", attempts=3))  # type: ignore[misc]
        except Exception as exc:
            pause = _rate_limited(exc)
            if pause is not None:
                limited_since = limited_since or time.monotonic()
                if time.monotonic() - limited_since + pause > _RATE_BUDGET:
                    raise ChainError(f"reading logs of blocks {start}-{end}: the node kept refusing for rate limits: {exc}") from exc
                _log.info("eth_getLogs rate-limited; waiting %.1f s", pause)
                time.sleep(pause)
                continue
            smaller, about_range, hint = _smaller(exc, start, end, conn)
            if smaller is None or smaller < min_chunk or smaller >= end - start + 1:
                raise ChainError(f"reading logs of blocks {start}-{end} failed: {exc}") from exc
            probing = probing or about_range
            hinted = hint
            size = smaller
            continue
        limited_since = None
        if probing:
            conn.cap = min(conn.cap or size, size)
            probing = False
        start = end + 1
        # Past a dense stretch the node named, ask for the full cap again; after halving blindly,
        # grow back step by step (the stretch may go on).
        size = min(chunk, conn.cap or chunk) if hinted else min(chunk, conn.cap or chunk, size * 2)
        hinted = False
    return out


def _rpc_error(exc: BaseException) -> dict[str, Any] | None:
    """The JSON-RPC error object inside ``exc`` (or its causes), if any."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, Web3RPCError) and isinstance(cause.rpc_response, dict):
            error = cause.rpc_response.get("error")
            if isinstance(error, dict):
                return cast(dict[str, Any], error)
        cause = cause.__cause__
    return None


def _error_text(exc: BaseException) -> str:
    """The node's words: a JSON-RPC error's message and data, else the exception's text."""
    error = _rpc_error(exc)
    if error is not None:
        return f"{error.get('message', '')} {error.get('data', '') or ''}".lower()
    return str(exc).lower()


def _smaller(exc: BaseException, start: int, end: int, conn: _Connection) -> tuple[int | None, bool, bool]:
    """How many blocks to ask for next after the node refused ``[start, end]`` (``None`` when
    the refusal was not about size); whether it was about the range without naming a cap (the
    size that then works is remembered); whether the node named the size. A stated cap is
    remembered for the connection."""
    if isinstance(exc, RPCUnavailable):
        # A query the node cannot answer in time is too wide; a node that is down is not.
        return ((end - start + 1) // 2 if "no answer within" in exc.problem else None), False, False
    if not isinstance(exc, Web3RPCError | ChainError | ValueError):
        return None, False, False
    text = _error_text(exc)
    about_results = any(w in text for w in _RESULTS)
    suggested = _SUGGESTED.search(text)
    if suggested:
        lo, hi = int(suggested.group(1), 16), int(suggested.group(2), 16)
        size = max(1, hi - lo + 1)
        if not about_results:
            conn.cap = min(conn.cap or size, size)  # a range cap (Alchemy's "up to a N block range")
        return size, False, True
    stated = _CAP.search(text)
    if stated:
        cap = int(re.sub(r"[,.]", "", next(g for g in stated.groups() if g)))
        if cap > 0:
            conn.cap = min(conn.cap or cap, cap)
            return cap, False, True
    if any(w in text for w in _TOO_WIDE):
        return (end - start + 1) // 2, not about_results, False
    return None, False, False


def _rate_limited(exc: BaseException) -> float | None:
    """Seconds to wait when ``exc`` is a rate limit (HTTP 429 after the transport's own retries, or
    a JSON-RPC "rate limit" answer): the ``Retry-After`` asked for, else one second."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, requests.exceptions.HTTPError) and cause.response is not None and cause.response.status_code == 429:
            return _retry_after(cause.response.headers.get("Retry-After"))
        cause = cause.__cause__ or cause.__context__
    error = _rpc_error(exc)
    if error is not None and (error.get("code") == 429 or "rate limit" in str(error.get("message", "")).lower()):
        return 1.0
    return None


def _retry_after(value: str | None) -> float:
    if not value:
        return 1.0
    try:
        return min(_MAX_PAUSE, max(0.0, float(value)))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return min(_MAX_PAUSE, max(0.0, when.timestamp() - time.time())) if when else 1.0


def _formatted(log: Any) -> LogReceipt:
    """An index's log as web3 gives one (raw JSON-RPC shape with hex quantities is formatted)."""
    if isinstance(log.get("blockNumber"), str):
        return cast(LogReceipt, log_entry_formatter(log))
    return cast(LogReceipt, log)


def _hex(value: Any) -> str:
    return ("0x" + bytes(value).hex() if isinstance(value, bytes | bytearray | HexBytes) else str(value)).lower()


def _raw(value: Any) -> bytes:
    """A topic as bytes: itself when it is bytes (HexBytes is), a 0x hex string decoded; anything
    else as its lower-cased text's bytes (which no topic equals, as no topic equals its ``_hex``)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray):
        return bytes(value)
    text = str(value).lower()
    if text.startswith("0x"):
        with contextlib.suppress(ValueError):
            return bytes.fromhex(text[2:])
    return text.encode()


def _matcher(address: str | Sequence[str], topics: Sequence[Any], first: int, last: int) -> Callable[[LogReceipt], bool]:
    """Whether a log answers the filter: in ``[first, last]``, from ``address``, with ``topics``
    (the wanted values worked out once, for the thousands of logs of one answer)."""
    addresses = {address.lower()} if isinstance(address, str) else {a.lower() for a in address}
    wanted = [
        (i, {_raw(w) for w in want} if isinstance(want, list | tuple) else {_raw(want)})
        for i, want in enumerate(topics)
        if want is not None
    ]

    def matches(log: LogReceipt) -> bool:
        if not first <= int(log["blockNumber"]) <= last or log.get("removed"):
            return False
        where = log["address"]
        if (where.lower() if isinstance(where, str) else _hex(where)) not in addresses:
            return False
        have = log["topics"]
        # Topics compared as bytes (HexBytes is bytes): no hex string made per log, an index answer has thousands.
        return all(i < len(have) and _raw(have[i]) in options for i, options in wanted)

    return matches
