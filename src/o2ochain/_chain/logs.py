"""Reading event logs: from the deployment block, in chunks that shrink when a node objects.

Public nodes cap ``eth_getLogs`` by block range or result count and answer with an error (or a
timeout) when a query is too wide. :func:`get_logs` starts with a wide range and halves it on
such an error, then grows it again, so the same code reads a local Anvil in one call and a
public RPC in many.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3 import Web3
from web3.types import FilterParams, LogReceipt

from o2ochain._chain.tx import with_retries
from o2ochain.errors import ChainError

__all__ = ["get_logs"]

_TOO_WIDE = ("range", "too many", "limit", "exceed", "timeout", "timed out", "query returned more than", "response size")


def get_logs(
    w3: Web3,
    *,
    address: str | Sequence[str],
    topics: Sequence[Any],
    from_block: int,
    to_block: int | None = None,
    chunk: int = 100_000,
    min_chunk: int = 16,
) -> list[LogReceipt]:
    """All logs matching ``topics`` at ``address`` in ``[from_block, to_block]``, in chain order."""
    last = int(to_block if to_block is not None else with_retries(lambda: w3.eth.block_number, what="eth_blockNumber"))
    out: list[LogReceipt] = []
    start = from_block
    size = chunk
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
            text = str(exc).lower()
            if size > min_chunk and (any(w in text for w in _TOO_WIDE) or isinstance(exc, ChainError)):
                size = max(min_chunk, size // 2)
                continue
            raise ChainError(f"reading logs of blocks {start}-{end} failed: {exc}") from exc
        start = end + 1
        size = min(chunk, size * 2)
    return out
