"""An item's history read without web3: what ``o2ochain trace show --index`` runs.

A shopper's or a till's ``trace show`` is a new process each time; with web3 imported, most of its
second goes to imports. :class:`LightTrace` is the same :class:`~o2ochain.trace._history.HistoryReader`
as :class:`~o2ochain.trace.Trace` over :mod:`o2ochain._chain.light` (JSON-RPC on the standard
library, the ABI by hand, the index's HTTP contract), so the history, its checks against the
heads the ledger stores and its words are the same; :func:`open_trace` makes the same checks
``o2ochain.connect(rpc, index=URL)`` makes before it (the node answers, the index indexes this
chain, the deployment manifest is this chain's and its contracts have code).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o2ochain import epcis, gs1
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.light import Function, JsonRpc, LightIndex, Log, abi_of, read_logs
from o2ochain._chain.retry import RetryPolicy
from o2ochain.deployments import Deployment, check_deployed, read_manifest
from o2ochain.errors import ChainError
from o2ochain.identity._refs import resolve_ref
from o2ochain.trace._history import HistoryReader, default_store


@dataclass(frozen=True)
class ItemFacts:
    """What a history takes from an item's verification: its GTIN, lot and brand."""

    gtin: str | None
    lot: str | None
    brand: int


class LightIdentity:
    """The ProductRegistry's two reads a history makes: an item's facts and a GTIN's brand."""

    def __init__(self, rpc: JsonRpc, address: str) -> None:
        self.rpc = rpc
        self.address = address
        self._functions: dict[str, Function] = abi_of(artifact("ProductRegistry")["abi"])[0]

    def _call(self, name: str, *args: Any) -> Any:
        function = self._functions[name]
        return function.result(self.rpc.eth_call(self.address, function.data(*args)))

    def verify(self, ref: str | bytes | gs1.DigitalLink, *, recall: bool = False) -> ItemFacts:
        """The item's GTIN, lot and brand as :meth:`o2ochain.identity.Identity.verify` gives them
        (a history reads the trace's recall itself: ``recall`` is not asked here)."""
        item, link = resolve_ref(ref)
        view = self._call("verify", item)
        registered = bool(view.registered)
        lot_code = gs1.from_bytes32(bytes(view.lotCode)) if registered else ""
        return ItemFacts(
            gtin=f"{int(view.gtin):014d}" if registered and int(view.gtin) else (link.gtin if link else None),
            lot=(link.lot if link else None) or (lot_code or None),
            brand=int(view.brand),
        )

    def brand_of_gtin(self, gtin: str) -> int:
        """The brand a product class (GTIN) is registered to; 0 when the GTIN is unknown."""
        return int(self._call("product", gs1.gtin_to_int(gs1.normalize_gtin(gtin))).brand)


class LightTrace(HistoryReader):
    """The TraceLedger's history over :mod:`o2ochain._chain.light` (see the module docstring)."""

    def __init__(self, rpc: JsonRpc, index: LightIndex | None, deployment: Deployment, store: epcis.EventStore) -> None:
        self.rpc = rpc
        self.index = index
        self.deployment = deployment
        self.chain_id = deployment.chain_id
        self.address = deployment.address("TraceLedger")
        self.identity = LightIdentity(rpc, deployment.address("ProductRegistry"))
        self.store = store
        self._from_block = deployment.contracts["TraceLedger"].block
        self._functions = abi_of(artifact("TraceLedger")["abi"])[0]
        self._pin: Future[int] | None = None
        self._start_reading()

    @property
    def _concurrent(self) -> bool:
        return True  # one kept-alive connection per reader thread

    def _logs(self, topics: Sequence[Any], *, to_block: int | None = None) -> list[Log]:
        last = self._last_block() if to_block is None else to_block
        return read_logs(
            self.rpc, self.index, self.chain_id, address=self.address, topics=topics, from_block=self._from_block, to_block=last
        )

    def _last_block(self) -> int:
        pin = self._pin
        return pin.result() if pin is not None else self.rpc.block_number()

    @contextlib.contextmanager
    def _pinned(self) -> Iterator[None]:
        """One head for the whole history, asked at once in a thread of its own (while the item is
        verified), as :func:`o2ochain._chain.logs.pinned_head` does for web3."""
        if self._pin is not None:
            yield
            return
        pin: Future[int] = Future()

        def read() -> None:
            try:
                pin.set_result(self.rpc.block_number())
            except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
                pin.set_exception(exc)

        threading.Thread(target=read, name="o2ochain-head", daemon=True).start()
        self._pin = pin
        try:
            yield
        finally:
            self._pin = None

    def _call(self, name: str, *args: Any) -> Any:
        function = self._functions[name]
        return function.result(self.rpc.eth_call(self.address, function.data(*args)))

    def _heads_view(self, brand: int, subjects: list[bytes]) -> tuple[list[bytes], list[int]]:
        words, counts = self._call("heads", brand, subjects)
        return [bytes(word) for word in words], [int(count) for count in counts]

    def _actor_views(self, keys: Sequence[tuple[int, str]]) -> list[Any]:
        function = self._functions["actor"]
        calls = [("eth_call", [{"to": self.address, "data": function.data(brand, account)}, "latest"]) for brand, account in keys]
        return [function.result(answer) for answer in self.rpc.batch(calls, what="reading actors")]

    def close(self) -> None:
        self.rpc.close()
        if self.index is not None:
            self.index.close()


def open_trace(rpc_url: str, deployment: Path | str | None, index_url: str, store: Path | None, *, timeout: float = 30.0) -> LightTrace:
    """A :class:`LightTrace` on the node at ``rpc_url`` through the index at ``index_url``, after the
    checks ``o2ochain.connect(rpc_url, deployment=…, index=index_url)`` makes, in its order and
    words: the node answers, the index indexes its chain, the manifest is that chain's (its genesis,
    its contracts' code). ``store``: the folder of o2ochain's local files (``--store``)."""
    policy = RetryPolicy.from_env(timeout=timeout)
    rpc = JsonRpc(rpc_url, policy=policy)
    index = LightIndex(index_url, policy=policy)
    # The index's heads are asked while the node's chain id is (one round trip for both); judged after it.
    heads: Future[dict[int, int]] = Future()
    threading.Thread(target=_ask_heads, args=(index, heads), name="o2ochain-index-head", daemon=True).start()
    try:
        chain_id = rpc.chain_id()
    except ChainError as exc:
        raise ChainError(f"cannot reach a node at {rpc_url}: {getattr(exc, 'problem', None) or exc}") from exc
    index.head(chain_id, heads.result())
    manifest = read_manifest(chain_id, deployment)
    contracts = list(manifest.contracts.values())
    calls = [("eth_getBlockByNumber", ["0x0", False])] + [("eth_getCode", [c.address, "latest"]) for c in contracts]
    block0, *codes = rpc.batch(calls, what="checking the deployment")
    check_deployed(manifest, str(block0["hash"]).lower(), [bytes.fromhex(str(code).removeprefix("0x")) for code in codes])
    where = default_store(store) if store is not None else default_store()
    return LightTrace(rpc, index, manifest, epcis.EventStore(where))


def _ask_heads(index: LightIndex, answer: Future[dict[int, int]]) -> None:
    try:
        answer.set_result(index.heads())
    except BaseException as exc:  # noqa: BLE001 - handed to open_trace, raised there
        answer.set_exception(exc)
