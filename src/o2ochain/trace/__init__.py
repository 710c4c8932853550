"""Traceability: EPCIS 2.0 events anchored on the TraceLedger, and the history a consumer reads.

* :class:`Trace` (``chain.trace``) reads an item's complete history, each event checked against
  the chain (the hash chain recomputed from the logs equals the head stored on chain) and
  against its off-chain copy (the stored EPCIS event hashes to what the chain holds).
* :class:`TraceAdmin` (a brand's admin) authorises supply-chain actors and publishes who they
  are (:func:`actor_profile_document`: a name, a city, the places they record at).
* :class:`Actor` records events: a whole EPCIS document, validated first, pipelined in batches
  under the per-transaction gas cap, resumable.

The EPCIS documents themselves (reading, validating, hashing, storing) are
:mod:`o2ochain.epcis`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from o2ochain.trace._history import ACTOR_KINDS, ChainCheck, ChainEntry, HistoryEvent, default_store, recompute_head

# The reader and the roles stand on web3, imported when first asked for: a history read through an
# index (o2ochain.trace._light, `o2ochain trace show --index`) starts without it.
if TYPE_CHECKING:
    from o2ochain.trace._ledger import Actor, ImportReport, Trace, TraceAdmin, actor_profile_document

_ON_WEB3 = ("Actor", "ImportReport", "Trace", "TraceAdmin", "actor_profile_document")


def __getattr__(name: str) -> Any:
    if name in _ON_WEB3:
        from o2ochain.trace import _ledger

        return getattr(_ledger, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTOR_KINDS",
    "Actor",
    "ChainCheck",
    "ChainEntry",
    "HistoryEvent",
    "ImportReport",
    "Trace",
    "TraceAdmin",
    "actor_profile_document",
    "default_store",
    "recompute_head",
]
