"""The TraceLedger's reader and roles: EPCIS 2.0 events anchored on chain, and the history a
consumer reads.

* :class:`Trace` reads: an item's complete history (its own events, its lot's, its containers'
  while it was packed, and those of the inputs it was made from), each event checked against
  the chain (the hash chain recomputed from the logs equals the head stored on chain) and against
  its off-chain copy (the stored EPCIS event hashes to what the chain holds). Only what the
  item's brand vouched for enters it: the item's, lot's and product's chains under that brand,
  and containers through links recorded under that brand (an actor of another brand may pack
  the item onto its own pallet in its records, and that pallet's events stay out). Inputs of a
  transformation recorded under the item's brand are followed into every brand's chain on them:
  a chain keyed by an item, lot or product id is held only by the brand whose product it is (the
  ledger checks the GTIN's brand when the chain starts, and an asset's chain has an id space of
  its own, so no brand can hold an "asset" chain on another's goods).
* :class:`TraceAdmin` (a brand's admin) authorises supply-chain actors.
* :class:`Actor` records events: a whole EPCIS document (validated first, nothing written when it
  is bad), pipelined in batches under the per-transaction gas cap, resumable — what the chain
  already holds is skipped.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.types import LogReceipt

from o2ochain import epcis, gs1, inputs
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.events import event_decoder
from o2ochain._chain.logs import get_logs, head_block, pinned_head
from o2ochain._chain.signers import Signer
from o2ochain._chain.tx import EncodedCall, PendingTx, Sender, call_view, read_all
from o2ochain._chain.util import address_topic, hex0x
from o2ochain.deployments import Deployment
from o2ochain.errors import InputError, InputErrors
from o2ochain.identity import Identity, resolve_ref
from o2ochain.identity._registry import TraceRecall

#: Told ``(stage, done, total)`` as a long job goes: each stage ("checking events", "storing
#: events", "sending entries", "anchoring entries") with its total from its first call on.
ProgressFn = Callable[[str, int, int], None]

#: Actor kinds as the ledger numbers them.
ACTOR_KINDS = {"farm": 1, "plant": 2, "logistics": 3, "store": 4, "other": 5}
_KIND_NAMES = {v: k for k, v in ACTOR_KINDS.items()}
#: Subject bindings as the ledger numbers them (see ``Binding`` in contracts/Types.sol).
_BINDING = {"item": 1, "lot": 2, "class": 3, "container": 4, "other-gs1": 5, "location": 5}
#: The binding kinds the ledger checks against the registry: the subject's GTIN must be a
#: product of the recording brand (items, lots, product classes).
_BRANDED = (1, 2, 3)
#: Gas budget of one ``record`` transaction: well under mainnet's per-transaction cap.
_BATCH_GAS = 12_000_000
_GAS_PER_ENTRY = 16_000  # an entry on a chain that exists (measured: ~13,500 in a batch)
_GAS_PER_FIRST_ENTRY = 90_000  # a chain's first entry: a new storage slot, maybe a registry lookup
_GAS_PER_RELATED = 3_000  # one Linked log and its calldata (measured: ~2,700)
_ZERO = b"\x00" * 32
#: Reads of one history step sent at once (the index's queries and the node's view calls).
_READERS = 6

T = TypeVar("T")


def default_store(root: Path | str | None = None) -> Path:
    """Where imported EPCIS events are kept: ``events/`` in the folder of o2ochain's local files,
    ``root`` or ``$O2O_STORE`` or ``./.o2ochain`` (review texts go in its ``content/``).

    A folder that holds events itself (``ab/<hash>.json``: how ``--store`` and ``$O2O_STORE``
    were read before they named the whole folder) is used as it is, so no event is lost.
    """
    import os
    import re

    base = Path(root if root is not None else os.environ.get("O2O_STORE", ".o2ochain"))
    events = base / "events"
    if not events.exists() and base.is_dir() and any(p.is_dir() and re.fullmatch(r"[0-9a-f]{2}", p.name) for p in base.iterdir()):
        return base
    return events


class Relation(enum.StrEnum):
    """How an event in an item's history concerns the item."""

    ITEM = "item"
    LOT = "lot"
    PRODUCT = "product"
    CONTAINER = "container"
    INPUT = "input"


@dataclass
class ChainEntry:
    """One entry of one chain, as the logs show it."""

    brand: int
    subject: bytes
    actor: str
    content: bytes
    meta: bytes
    read_point: bytes
    biz_location: bytes
    event_id: bytes
    related: list[bytes]
    block: int
    tx_hash: str
    log_index: int

    @property
    def fields(self) -> dict[str, Any]:
        return epcis.unpack_meta(self.meta)


@dataclass(frozen=True)
class ChainCheck:
    """A chain recomputed from the logs against the head the ledger stores."""

    brand: int
    subject: bytes
    entries: int
    on_chain_count: int
    intact: bool


@dataclass
class HistoryEvent:
    """One event of an item's history, with where it came from and whether it checks out."""

    time: datetime
    event_type: str
    action: str | None
    biz_step: str | None
    disposition: str | None
    relations: list[str]
    subject: str
    actor: str
    actor_kind: str | None
    read_point: str | None
    biz_location: str | None
    content_hash: str
    event_id: str | None
    block: int
    tx_hash: str
    stored: bool
    content_ok: bool
    chain_ok: bool
    correction: bool
    event: dict[str, Any] | None = None
    #: The locations as the stored event names them (a GLN Digital Link or SGLN URN).
    read_point_uri: str | None = None
    biz_location_uri: str | None = None
    #: Where the recording actor publishes the full event (its repository + the content hash).
    uri: str | None = None

    @property
    def verified(self) -> bool:
        """The off-chain event matches its on-chain hash and its chain is intact."""
        return self.stored and self.content_ok and self.chain_ok

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "eventType": self.event_type,
            "action": self.action,
            "bizStep": self.biz_step,
            "disposition": self.disposition,
            "relations": self.relations,
            "subject": self.subject,
            "actor": self.actor,
            "actorKind": self.actor_kind,
            "readPoint": self.read_point,
            "bizLocation": self.biz_location,
            "contentHash": self.content_hash,
            "eventIdHash": self.event_id,
            "block": self.block,
            "txHash": self.tx_hash,
            "verified": self.verified,
            "stored": self.stored,
            "contentMatches": self.content_ok,
            "chainIntact": self.chain_ok,
            "correction": self.correction,
            "readPointUri": self.read_point_uri,
            "bizLocationUri": self.biz_location_uri,
            "uri": self.uri,
            "event": self.event,
        }


@dataclass
class ImportReport:
    """What an import did."""

    events: int
    entries: int = 0
    recorded: int = 0
    already: int = 0
    transactions: int = 0
    gas_used: int = 0
    seconds: float = 0.0
    tx_hashes: list[str] = field(default_factory=list)
    #: Where each event's entries are on chain, by the event's content hash: the transaction
    #: hash and block of its last entry, whether recorded now or found already recorded.
    anchors: dict[bytes, tuple[str, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "entries": self.entries,
            "recorded": self.recorded,
            "alreadyRecorded": self.already,
            "transactions": self.transactions,
            "gasUsed": self.gas_used,
            "seconds": round(self.seconds, 3),
        }


def recompute_head(prev: bytes, entry: ChainEntry) -> bytes:
    """The ledger's head formula (see contracts/interfaces/ITraceLedger.sol)."""
    related_hash = gs1.keccak256(b"".join(entry.related)) if entry.related else _ZERO
    actor = bytes.fromhex(entry.actor[2:]).rjust(32, b"\x00")
    h = gs1.keccak256(prev + entry.content + entry.meta + entry.read_point + entry.biz_location + entry.event_id + related_hash + actor)
    count = int.from_bytes(prev[24:], "big") + 1
    word = (int.from_bytes(h, "big") % (1 << 192)) << 64 | count
    return word.to_bytes(32, "big")


class Trace:
    """Read access to the TraceLedger and the off-chain event store."""

    def __init__(self, w3: Web3, deployment: Deployment, identity: Identity, store: epcis.EventStore | None = None) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.identity = identity
        self.address = deployment.address("TraceLedger")
        self.contract: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(self.address), abi=artifact("TraceLedger")["abi"], decode_tuples=True
        )
        self.store = store or epcis.EventStore(default_store())
        self._from_block = deployment.contracts["TraceLedger"].block
        self._recorded_topic = self.contract.events.Recorded().topic
        self._linked_topic = self.contract.events.Linked().topic
        self._actor_cache: dict[tuple[int, str], str | None] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _together(self, first: Callable[[], T], *others: Callable[[], Any]) -> tuple[T, list[Any]]:
        """``first()`` in this thread while ``others`` run in the reader threads: independent reads
        cost one round trip, not one each. Only ``first`` may itself call ``_together`` (the
        reader threads never wait on each other). Errors come out as raised. Over HTTP only: an
        in-process chain (eth-tester) has no round trips to hide and is not made for threads."""
        if not others or not isinstance(self.w3.provider, HTTPProvider):
            return first(), [fn() for fn in others]
        futures = [self._readers().submit(fn) for fn in others]
        try:
            value = first()
        finally:
            wait(futures)  # no read of this step outlives it
        return value, [f.result() for f in futures]

    def _readers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(_READERS, thread_name_prefix="o2ochain-trace")
            return self._pool

    # -- chain reads -------------------------------------------------------------------------
    def head(self, brand: int, subject: bytes) -> tuple[bytes, int]:
        view = call_view(self.contract.functions.head(brand, subject))
        return bytes(view[0]), int(view[1])

    def heads(self, brand: int, subjects: Sequence[bytes]) -> list[bytes]:
        out: list[bytes] = []
        for start in range(0, len(subjects), 1_000):
            chunk = list(subjects[start : start + 1_000])
            current, _counts = EncodedCall.of(self.contract, "heads", (brand, chunk)).call(what="reading chain heads")
            out.extend(bytes(word) for word in current)
        return out

    def actor_kind(self, brand: int, account: str) -> str | None:
        key = (brand, account)
        if key not in self._actor_cache:
            self._actor_cache[key] = _kind(call_view(self.contract.functions.actor(brand, inputs.address(account, "account"))))
        return self._actor_cache[key]

    def _learn_actors(self, actors: Iterable[tuple[int, str]]) -> None:
        """Read the kinds of many actors in one JSON-RPC batch and their repositories in one log
        query per brand (instead of a call and a query each), into the caches
        :meth:`actor_kind` and :meth:`repository` read."""
        reads = self._actor_reads(actors, head_block(self.w3), set())
        if reads:
            self._together(reads[0], *reads[1:])

    def _learn_actors_soon(self, actors: Iterable[tuple[int, str]], asked: set[tuple[int, str]], pending: list[Future[None]]) -> None:
        """:meth:`_learn_actors` in the reader threads, not waited for (over HTTP; else nothing):
        a history asks the actors of each step while it reads the next, and waits for
        ``pending`` at the end. ``asked``: the actors already being read."""
        if not isinstance(self.w3.provider, HTTPProvider):
            return
        reads = self._actor_reads(actors, head_block(self.w3), asked)
        if reads:
            pool = self._readers()
            pending.extend(pool.submit(read) for read in reads)

    def _actor_reads(self, actors: Iterable[tuple[int, str]], last: int, asked: set[tuple[int, str]]) -> list[Callable[[], None]]:
        """The reads that fill the actor caches for ``actors`` not known or ``asked`` yet (the kinds
        in one batch, the repositories in one query per brand, up to block ``last``), each
        storing what it read; the actors are added to ``asked``."""
        wanted = [key for key in dict.fromkeys(actors) if key not in asked]
        asked.update(wanted)
        kinds = [key for key in wanted if key not in self._actor_cache]
        by_brand: dict[int, list[str]] = defaultdict(list)
        for brand, account in wanted:
            if (brand, "repo:" + account) not in self._actor_cache:
                by_brand[brand].append(account)
        event = self.contract.events.RepositorySet()

        def read_kinds() -> None:
            calls = [partial(call_view, self.contract.functions.actor(brand, account), what="reading actors") for brand, account in kinds]
            for key, view in zip(kinds, read_all(self.w3, calls, what="reading actors"), strict=True):
                self._actor_cache[key] = _kind(view)

        def read_repositories(brand: int, accounts: list[str]) -> None:
            topics = [event.topic, self._topic(brand), [address_topic(a) for a in accounts]]
            latest: dict[str, str] = {}
            for log in get_logs(self.w3, address=self.address, topics=topics, from_block=self._from_block, to_block=last):
                args = event.process_log(log)["args"]  # in chain order: the last one an actor set stands
                if int(args["brand"]) == brand:
                    latest[Web3.to_checksum_address(args["actor"])] = str(args["uri"])
            for account in accounts:
                self._actor_cache[(brand, "repo:" + account)] = latest.get(Web3.to_checksum_address(account))

        reads: list[Callable[[], None]] = [read_kinds] if kinds else []
        return reads + [partial(read_repositories, brand, accounts) for brand, accounts in by_brand.items()]

    def repository(self, brand: int, account: str) -> str | None:
        """Where ``account`` publishes the full events it records for ``brand`` (its latest RepositorySet)."""
        key = (brand, "repo:" + account)
        if key not in self._actor_cache:
            logs = get_logs(
                self.w3,
                address=self.address,
                topics=[self.contract.events.RepositorySet().topic, self._topic(brand), address_topic(account)],
                from_block=self._from_block,
            )
            self._actor_cache[key] = str(self.contract.events.RepositorySet().process_log(logs[-1])["args"]["uri"]) if logs else None
        return self._actor_cache[key]

    def _topic(self, value: bytes | int | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, int):
            return "0x" + value.to_bytes(32, "big").hex()
        return hex0x(value)

    def chain(self, brand: int | None, subject: bytes) -> dict[int, list[ChainEntry]]:
        """Every entry on ``subject``'s chains (one per brand, or only ``brand``), in order."""
        return {b: entries for (b, _), entries in self.chains([subject], brand).items()}

    def chains(self, subjects: Sequence[bytes], brand: int | None = None) -> dict[tuple[int, bytes], list[ChainEntry]]:
        """The chains of many subjects at once: one log query per 200 subjects, not per subject."""
        found: dict[tuple[int, bytes], list[ChainEntry]] = {}
        unique = list(dict.fromkeys(subjects))
        last = head_block(self.w3) if unique else 0  # both queries up to the same block
        for start in range(0, len(unique), 200):
            topics = [hex0x(x) for x in unique[start : start + 200]]

            def logs(wanted: list[Any]) -> list[LogReceipt]:
                return get_logs(self.w3, address=self.address, topics=wanted, from_block=self._from_block, to_block=last)

            recorded, (linked,) = self._together(
                lambda t=topics: logs([self._recorded_topic, t, self._topic(brand)]),  # type: ignore[misc]
                lambda t=topics: logs([self._linked_topic, None, t, self._topic(brand)]),  # type: ignore[misc]
            )
            if recorded:
                found.update(_assemble(self.contract, recorded, linked))
        return found

    def checked_chains(
        self,
        subjects: Sequence[bytes],
        brand: int | None = None,
        *,
        also: Callable[[], T] | None = None,
        found: Callable[[dict[tuple[int, bytes], list[ChainEntry]]], None] | None = None,
    ) -> tuple[dict[tuple[int, bytes], list[ChainEntry]], dict[tuple[int, bytes], ChainCheck], T | None]:
        """:meth:`chains` and :meth:`check_chains` of ``subjects``; with ``brand`` the stored heads
        are read at the same time as the logs (one round trip for all), and ``also()`` (another
        read of the same step) as well, its value returned third. ``found(chains)`` is told the
        chains as soon as they are read (before their heads are, without a brand)."""
        unique = list(dict.fromkeys(subjects))
        others: list[Callable[[], Any]] = [also] if also is not None else []
        if brand is None or not unique:
            chains, extra = self._together(lambda: self.chains(unique, brand), *others)
            if found is not None:
                found(chains)
            return chains, self.check_chains(chains), (extra[0] if also is not None else None)
        chains, extra = self._together(lambda: self.chains(unique, brand), *others, lambda: self._stored_heads(brand, unique))
        stored = extra[-1]
        if found is not None:
            found(chains)
        checks = {
            (b, subject): _checked(b, subject, entries, *stored[subject])
            for (b, subject), entries in chains.items()
            if b == brand and subject in stored
        }
        rest = {key: entries for key, entries in chains.items() if key not in checks}  # a node's answer is checked anyway
        checks.update(self.check_chains(rest))
        return chains, checks, (extra[0] if also is not None else None)

    def _stored_heads(self, brand: int, subjects: Sequence[bytes]) -> dict[bytes, tuple[bytes, int]]:
        out: dict[bytes, tuple[bytes, int]] = {}
        for start in range(0, len(subjects), 1_000):
            chunk = list(subjects[start : start + 1_000])
            words, counts = call_view(self.contract.functions.heads(brand, chunk), what="reading chain heads")
            out.update({subject: (bytes(word), int(count)) for subject, word, count in zip(chunk, words, counts, strict=True)})
        return out

    def check_chain(self, brand: int, subject: bytes, entries: Sequence[ChainEntry]) -> ChainCheck:
        stored, count = self.head(brand, subject)
        return _checked(brand, subject, entries, stored, count)

    def check_chains(self, chains: dict[tuple[int, bytes], list[ChainEntry]]) -> dict[tuple[int, bytes], ChainCheck]:
        """:meth:`check_chain` of many chains: their stored heads in one view call per brand."""
        by_brand: dict[int, list[bytes]] = defaultdict(list)
        for brand, subject in chains:
            by_brand[brand].append(subject)
        out: dict[tuple[int, bytes], ChainCheck] = {}
        for brand, subjects in by_brand.items():
            for subject, (word, count) in self._stored_heads(brand, subjects).items():
                out[(brand, subject)] = _checked(brand, subject, chains[(brand, subject)], word, count)
        return out

    def containers_of(self, subject: bytes, brand: int, *, to_block: int | None = None) -> list[bytes]:
        """The containers (or outputs) whose chains under ``brand`` name ``subject`` as related.

        Only links recorded under ``brand`` count: an actor of another brand can name any item as
        a child of its own pallet (the ledger checks who records, not what they name), so a
        container's events apply to an item only through links recorded under the item's own
        brand, by the actors that brand authorised.
        """
        topics = [self._linked_topic, hex0x(subject), None, self._topic(brand)]
        logs = get_logs(self.w3, address=self.address, topics=topics, from_block=self._from_block, to_block=to_block)
        found: dict[bytes, None] = {}
        for log in logs:
            args = self.contract.events.Linked().process_log(log)["args"]
            if int(args["brand"]) == brand:  # the topic filter already says so; a node's answer is checked anyway
                found[bytes(args["subject"])] = None
        return list(found)

    # -- history -----------------------------------------------------------------------------
    def history(self, ref: str | bytes | gs1.DigitalLink, *, follow_inputs: int = 5, include_events: bool = True) -> list[HistoryEvent]:
        """The complete ordered history of an item (see the module docstring).

        Every list is read up to one head (:func:`~o2ochain._chain.logs.pinned_head`), the chains
        of one step (the item, its lot and product; a level of containers; a level of inputs)
        with one query, their stored heads with one view call per brand, and the actors' kinds
        and repositories together at the end: on a public RPC each round trip costs 50-100 ms.
        """
        with pinned_head(self.w3, early=True):  # the head is asked while the item is verified
            return self._history(ref, follow_inputs=follow_inputs, include_events=include_events)

    def _history(self, ref: str | bytes | gs1.DigitalLink, *, follow_inputs: int, include_events: bool) -> list[HistoryEvent]:
        item, link = resolve_ref(ref)
        # No recall check: its chains are read below, with the rest of this step's.
        verification = self.identity.verify(link if link is not None else item, recall=False)
        gtin = verification.gtin or (link.gtin if link else None)
        lot = verification.lot or (link.lot if link else None)
        brand = verification.brand or (self.identity.brand_of_gtin(gtin) if gtin else 0)
        seeds: list[tuple[bytes, str]] = [(item, Relation.ITEM)]
        if gtin and lot:
            seeds.append((gs1.lot_id(gtin, lot), Relation.LOT))
        if gtin:
            seeds.append((gs1.keccak256(f"/01/{gtin}".encode()), Relation.PRODUCT))
        collected: dict[bytes, tuple[ChainEntry, set[str], bool]] = {}
        checks: dict[tuple[int, bytes], bool] = {}
        # The actors of each step are read while the next step is (their kinds and repositories).
        asked: set[tuple[int, str]] = set()
        pending: list[Future[None]] = []

        def take(entries: Iterable[ChainEntry], relation: str) -> None:
            for entry in entries:
                # One EPCIS event anchored on several chains (an item and its lot) is one line of
                # history: its relations merge, and it is verified only if every chain is intact.
                key = entry.content
                ok = checks.get((entry.brand, entry.subject), False)
                if key in collected:
                    first, relations, was_ok = collected[key]
                    relations.add(relation)
                    collected[key] = (first, relations, was_ok and ok)
                else:
                    collected[key] = (entry, {relation}, ok)

        def read_many(
            subjects: Sequence[bytes],
            relation: str | dict[bytes, str],
            only_brand: int | None,
            keep: Callable[[list[ChainEntry]], list[ChainEntry]] | None = None,
            containers_of: bytes | None = None,
        ) -> tuple[dict[tuple[int, bytes], list[ChainEntry]], list[bytes]]:
            """Read and check the chains of ``subjects`` (and, at the same time, the containers
            of ``containers_of`` under the brand: the next step's question)."""
            last = head_block(self.w3)  # the reader threads read up to this command's head too
            also = (lambda: self.containers_of(containers_of, brand, to_block=last)) if containers_of is not None and brand else None
            chains, checked, containers = self.checked_chains(
                subjects, only_brand, also=also, found=lambda found: self._learn_actors_soon(_actors(found), asked, pending)
            )
            for key, check in checked.items():
                checks[key] = check.intact
            for (_, subject), entries in chains.items():
                take(keep(entries) if keep else entries, relation if isinstance(relation, str) else relation[subject])
            return chains, containers or []

        # The item's own chains: under its brand; when the brand is unknown (an item id alone, not
        # in the registry), under any brand (each bound it as its own goods: see the docstring).
        # One read for the item, its lot and its product, and the item's containers alongside.
        relations = {subject: relation for subject, relation in reversed(seeds)}
        own, containers = read_many(list(relations), relations, brand or None, containers_of=item)
        own_chains = [entry for entries in own.values() for entry in entries]
        # Containers: events on a container apply to the item while it was packed in it, through
        # links recorded under the item's own brand only (another brand's pallet may name it too).
        if brand:
            self._follow_containers(item, containers, brand, read_many, depth=3)
        # Inputs: a transformation whose output is this item's lot (or the item) names inputs;
        # their own histories come next, level by level, under whichever brand holds them (an
        # input lot's chain is held only by the brand whose product it is: see the docstring).
        frontier = [e for e in own_chains if e.fields["event_type"] == "TransformationEvent"]
        seen_inputs: set[bytes] = set()
        for _ in range(follow_inputs):
            sources = [x for e in frontier for x in e.related if x not in seen_inputs]
            seen_inputs.update(sources)
            if not sources:
                break
            chains, _ = read_many(sources, Relation.INPUT, None)
            frontier = [e for entries in chains.values() for e in entries if e.fields["event_type"] == "TransformationEvent"]
        wait(pending)
        for done in pending:
            done.result()  # a read that failed fails the history, as it would have here
        self._learn_actors((entry.brand, entry.actor) for entry, _, _ in collected.values())  # any not read yet
        events = [self._history_event(entry, relations, ok, include_events) for entry, relations, ok in collected.values()]
        events.sort(key=lambda e: (e.time, e.block))
        return events

    def _follow_containers(self, subject: bytes, containers: list[bytes], brand: int, read: Callable[..., Any], depth: int) -> None:
        """Take the events of each of ``containers`` (those ``subject`` was packed in), while it
        was packed, from the container's chain under ``brand`` (the item's): nested containers
        likewise (each container's own containers are asked while its chain is read)."""
        if depth == 0:
            return
        for container in containers:
            chains, outer = read(
                [container], Relation.CONTAINER, brand, lambda entries: _packed_entries(entries, subject), containers_of=container
            )
            if any(_packed_entries(entries, subject) for entries in chains.values()):
                self._follow_containers(container, outer, brand, read, depth - 1)

    def _history_event(self, entry: ChainEntry, relations: set[str], chain_ok: bool, include: bool) -> HistoryEvent:
        f = entry.fields
        stored = self.store.has(entry.content)
        content_ok = stored and self.store.verify(entry.content)
        event = self.store.get(entry.content) if content_ok else None
        return HistoryEvent(
            time=f["event_time"],
            event_type=f["event_type"],
            action=f["action"],
            biz_step=f["biz_step"],
            disposition=f["disposition"],
            relations=sorted(relations),
            subject=hex0x(entry.subject),
            actor=entry.actor,
            actor_kind=self.actor_kind(entry.brand, entry.actor),
            read_point=hex0x(entry.read_point) if any(entry.read_point) else None,
            biz_location=hex0x(entry.biz_location) if any(entry.biz_location) else None,
            content_hash=hex0x(entry.content),
            event_id=hex0x(entry.event_id) if any(entry.event_id) else None,
            block=entry.block,
            tx_hash=entry.tx_hash,
            stored=stored,
            content_ok=content_ok,
            chain_ok=chain_ok,
            correction=bool(f["flags"] & 1),
            event=event if include else None,
            uri=(repository + hex0x(entry.content)) if (repository := self.repository(entry.brand, entry.actor)) else None,
            read_point_uri=_location_uri(event, "readPoint"),
            biz_location_uri=_location_uri(event, "bizLocation"),
        )

    def recalled(self, brand: int, subjects: Sequence[bytes]) -> TraceRecall:
        """Whether the latest disposition recorded on any of ``subjects``' chains under ``brand``
        is CBV ``recalled``, counting only chains that end at the head the ledger stores.

        A later event with another disposition (say ``active`` after a recall was lifted) ends it.
        A chain whose entries (from an index, say) do not recompute to its stored head, or that
        the ledger holds while no entry of it was read, makes the answer ``unverified``: its
        entries can neither make a recall nor rule one out. The heads are one view call.
        """
        unique = list(dict.fromkeys(subjects))
        chains, (heads,) = self._together(lambda: self.chains(unique, brand), lambda: self.heads(brand, unique))
        recalled = unverified = False
        for subject, stored in zip(unique, heads, strict=True):
            entries = chains.get((brand, subject), [])
            word = _ZERO
            for entry in entries:
                word = recompute_head(word, entry)
            if word != stored:
                unverified = True
                continue
            dispositions = [e.fields["disposition"] for e in entries if e.fields["disposition"] is not None]
            recalled = recalled or (bool(dispositions) and dispositions[-1] == "recalled")
        return TraceRecall(recalled=recalled, unverified=unverified)

    def export(self, ref: str | bytes | gs1.DigitalLink) -> dict[str, Any]:
        """The item's history as an EPCIS 2.0 document of the events as they were imported."""
        events = [h.event for h in self.history(ref) if h.event is not None]
        return epcis.export_document(events)

    def responsibility(self, ref: str | bytes | gs1.DigitalLink) -> list[dict[str, Any]]:
        """Who had custody at each step and who recorded what, oldest first."""
        rows: list[dict[str, Any]] = []
        for h in self.history(ref, include_events=False):
            rows.append(
                {
                    "time": h.time.isoformat(),
                    "step": h.biz_step,
                    "disposition": h.disposition,
                    "recordedBy": h.actor,
                    "actorKind": h.actor_kind,
                    "location": h.biz_location_uri or h.read_point_uri or h.biz_location or h.read_point,
                    "via": h.relations,
                    "verified": h.verified,
                }
            )
        return rows


def _actors(chains: dict[tuple[int, bytes], list[ChainEntry]]) -> list[tuple[int, str]]:
    """The (brand, actor) of every entry of ``chains``."""
    return [(entry.brand, entry.actor) for entries in chains.values() for entry in entries]


def _kind(view: Any) -> str | None:
    """An actor's kind from the ledger's ``actor`` view (``None``: never authorised)."""
    return _KIND_NAMES.get(int(view.kind)) if int(view.grantedAt) else None


def _checked(brand: int, subject: bytes, entries: Sequence[ChainEntry], stored: bytes, count: int) -> ChainCheck:
    word = _ZERO
    for entry in entries:
        word = recompute_head(word, entry)
    return ChainCheck(brand, subject, len(entries), count, word == stored)


def _location_uri(event: dict[str, Any] | None, key: str) -> str | None:
    value = (event or {}).get(key)
    return str(value["id"]) if isinstance(value, dict) and "id" in value else None


def _assemble(
    contract: Contract, recorded: Sequence[LogReceipt], linked: Sequence[LogReceipt]
) -> dict[tuple[int, bytes], list[ChainEntry]]:
    """Entries per (brand, subject) from Recorded logs, each with the related ids of the Linked
    logs of its subject that follow it in the same transaction."""
    rec_event = event_decoder(contract, "Recorded")  # eth_abi directly: web3's process_log is slow
    link_event = event_decoder(contract, "Linked")
    merged = sorted(
        [(int(log["blockNumber"]), int(log["logIndex"]), "r", log) for log in recorded]
        + [(int(log["blockNumber"]), int(log["logIndex"]), "l", log) for log in linked]
    )
    chains: dict[tuple[int, bytes], list[ChainEntry]] = defaultdict(list)
    last: dict[tuple[int, bytes], ChainEntry] = {}
    for block, index, kind, log in merged:
        if kind == "r":
            a = rec_event.process_log(log)["args"]
            entry = ChainEntry(
                brand=int(a["brand"]),
                subject=bytes(a["subject"]),
                actor=Web3.to_checksum_address(a["actor"]),
                content=bytes(a["content"]),
                meta=bytes(a["meta"]),
                read_point=bytes(a["readPoint"]),
                biz_location=bytes(a["bizLocation"]),
                event_id=bytes(a["eventId"]),
                related=[],
                block=block,
                tx_hash=hex0x(log["transactionHash"]),
                log_index=index,
            )
            chains[(entry.brand, entry.subject)].append(entry)
            last[(entry.brand, entry.subject)] = entry
        else:
            a = link_event.process_log(log)["args"]
            owner = last.get((int(a["brand"]), bytes(a["subject"])))
            if owner is not None and owner.content == bytes(a["content"]) and owner.tx_hash == hex0x(log["transactionHash"]):
                owner.related.append(bytes(a["related"]))
    return dict(chains)


def _packed_entries(entries: Sequence[ChainEntry], child: bytes) -> list[ChainEntry]:
    """The container's entries while ``child`` was packed in it (from ADD to DELETE aggregation)."""
    inside: list[ChainEntry] = []
    packed = False
    for entry in entries:
        f = entry.fields
        if f["event_type"] == "AggregationEvent":
            if f["action"] == "ADD" and child in entry.related:
                packed = True
            elif f["action"] == "DELETE" and (child in entry.related or not entry.related):
                inside.append(entry)
                packed = False
                continue
        if packed:
            inside.append(entry)
    return inside


@dataclass
class _Planned:
    brand: int
    subject: epcis.Subject
    event: epcis.EpcisEvent
    related: list[bytes]


class TraceAdmin:
    """A brand admin's hand on the ledger: authorise and revoke supply-chain actors."""

    def __init__(self, trace: Trace, account: Signer, brand: int) -> None:
        self.trace = trace
        self.account = account
        self.brand = brand
        self.sender = Sender(trace.w3, account)

    def grant(self, actor: str, kind: str, location: bytes = _ZERO) -> None:
        if kind not in ACTOR_KINDS:
            raise InputError(f"actor kind must be one of {', '.join(ACTOR_KINDS)}", field="kind", value=kind)
        fn = self.trace.contract.functions.grantActor(self.brand, inputs.address(actor, "actor"), ACTOR_KINDS[kind], location)
        self.sender.transact(fn, label=f"grantActor({kind})")

    def revoke(self, actor: str) -> None:
        self.sender.transact(self.trace.contract.functions.revokeActor(self.brand, inputs.address(actor, "actor")), label="revokeActor")

    def set_profile(self, actor: str, profile: dict[str, Any], store: ContentPutter) -> bytes:
        """Publish who ``actor`` is, so that a shopper reads a name, not a key: ``profile`` holds
        its ``name`` (a business's, never a person's), its ``city`` and the ``places`` it records at
        (``[{"gln": "…", "name": "…", "city": "…"}]``, by GLN). The document goes to ``store``
        (a :class:`o2ochain.loop.ContentStore`, addressed by its hash) and its hash on chain
        (``setActorProfile``); returns the hash. The brand vouches for these names."""
        document = actor_profile_document(profile)
        digest, uri = store.put(document)
        fn = self.trace.contract.functions.setActorProfile(self.brand, inputs.address(actor, "actor"), digest, uri)
        self.sender.transact(fn, label="setActorProfile")
        return digest


class ContentPutter(Protocol):
    """Where a document is published by its hash (:class:`o2ochain.loop.ContentStore`)."""

    def put(self, document: dict[str, Any]) -> tuple[bytes, str]: ...


#: The longest name or city an actor profile holds (a shop sign, not an essay).
_PROFILE_TEXT = 120


def actor_profile_document(profile: dict[str, Any]) -> dict[str, Any]:
    """An actor's profile as it is published (``type`` ``o2ochain.trace.actor``), checked: a
    name, an optional city, and the places it records at, each by a valid GLN with its name."""

    def text(value: Any, field: str, *, required: bool) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > _PROFILE_TEXT:
            raise InputError(f"an actor profile's {field} is text of 1 to {_PROFILE_TEXT} characters", field=field, value=value)
        return value.strip()

    unknown = set(profile) - {"name", "city", "places"}
    if unknown:
        raise InputError(f"an actor profile holds name, city and places only, not {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    document: dict[str, Any] = {"type": "o2ochain.trace.actor", "name": text(profile.get("name"), "name", required=True)}
    city = text(profile.get("city"), "city", required=False)
    if city:
        document["city"] = city
    places = profile.get("places") or []
    if not isinstance(places, list):
        raise InputError("an actor profile's places are a list of {gln, name, city}", field="places", value=places)
    checked = []
    for n, place in enumerate(places):
        where = f"places[{n}]"
        if not isinstance(place, dict):
            raise InputError("a place is {gln, name, city}", field=where, value=place)
        gln = str(place.get("gln", "")).strip()
        if len(gln) != 13 or not gln.isdigit() or gs1.gtin_check_digit(gln[:-1]) != int(gln[-1]):
            raise InputError(f"{gln!r} is not a GLN (13 digits with a valid check digit)", field=f"{where}.gln", value=gln)
        entry = {"gln": gln, "name": text(place.get("name"), f"{where}.name", required=True)}
        place_city = text(place.get("city"), f"{where}.city", required=False)
        if place_city:
            entry["city"] = place_city
        checked.append(entry)
    if checked:
        document["places"] = checked
    return document


class Actor:
    """A supply-chain actor's key: records EPCIS events on the ledger."""

    def __init__(self, trace: Trace, account: Signer) -> None:
        self.trace = trace
        self.account = account
        self.address = Web3.to_checksum_address(account.address)
        self.sender = Sender(trace.w3, account)

    def set_repository(self, brand: int, uri: str) -> None:
        """Announce where this actor publishes its full events for ``brand`` (``uri`` + content hash)."""
        if not uri.startswith(("https://", "http://", "ipfs://", "ar://")):
            raise InputError("a repository is an https://, http://, ipfs:// or ar:// URI", field="uri", value=uri)
        self.sender.transact(self.trace.contract.functions.setRepository(brand, uri), label="setRepository")

    def import_document(
        self,
        source: str | Path | dict[str, Any],
        *,
        brand: int | None = None,
        progress: ProgressFn | None = None,
    ) -> ImportReport:
        """Validate an EPCIS 2.0 document, store its events, anchor them on chain (exactly once)."""
        document = epcis.parse_document(source, source="<document>") if isinstance(source, dict) else epcis.load_document(source)
        return self.record_events(
            document.events, brand=brand, progress=progress, source=str(source) if not isinstance(source, dict) else "<document>"
        )

    def record_events(
        self,
        events: Sequence[epcis.EpcisEvent],
        *,
        brand: int | None = None,
        progress: ProgressFn | None = None,
        source: str = "<events>",
    ) -> ImportReport:
        def tell(stage: str, done: int, total: int) -> None:
            if progress:
                progress(stage, done, total)

        started = time.monotonic()
        report = ImportReport(events=len(events))
        planned = self._plan(events, brand, source, checked=lambda n: tell("checking events", n, len(events)))
        report.entries = len(planned)
        self.trace.store.put_many([event.raw for event in events], progress=lambda n: tell("storing events", n, len(events)))
        self.sender.wait_until_settled()
        self.sender.resync_nonce()
        todo = self._not_yet_recorded(planned, report.anchors)
        report.already = len(planned) - len(todo)
        tell("sending entries", 0, len(todo))
        tell("anchoring entries", report.already, report.entries)
        pending: list[tuple[PendingTx, list[_Planned]]] = []
        bound: set[tuple[int, bytes]] = set()
        by_brand: dict[int, list[_Planned]] = defaultdict(list)
        for p in todo:
            by_brand[p.brand].append(p)
        for b, items in by_brand.items():
            heads = self.trace.heads(b, [p.subject.chain_subject for p in items])
            for p, head in zip(items, heads, strict=True):
                if any(head):
                    bound.add((b, p.subject.chain_subject))

            def unbound(p: _Planned, b: int = b) -> bool:
                return (b, p.subject.chain_subject) not in bound

            for batch in _batches(items, unbound):
                entries = [self._entry(p, (b, p.subject.chain_subject) not in bound) for p in batch]
                for p in batch:
                    bound.add((b, p.subject.chain_subject))
                call = EncodedCall.of(self.trace.contract, "record", (b, entries))
                tx = self.sender.send(call, label=f"record({len(entries)} entries)")
                pending.append((tx, batch))
                tell("sending entries", sum(len(sent) for _, sent in pending), len(todo))
        done = report.already
        for tx, sent in pending:
            receipt = self.sender.wait([tx])[0]
            count = len(sent)
            report.recorded += count
            report.transactions += 1
            report.gas_used += int(receipt["gasUsed"])
            report.tx_hashes.append(tx.hash_hex)
            for p in sent:
                report.anchors[p.event.content_hash] = (tx.hash_hex, int(receipt["blockNumber"]))
            done += count
            tell("anchoring entries", done, report.entries)
        report.seconds = time.monotonic() - started
        return report

    def check_events(self, events: Sequence[epcis.EpcisEvent], *, brand: int | None = None, source: str = "<events>") -> None:
        """Make every check :meth:`record_events` makes before it sends anything, and send nothing.

        Raises :class:`~o2ochain.errors.InputErrors` naming each event (by its JSON path in the
        document) the ledger would refuse: a product that is not the brand's, no brand to record
        a location's events under, an actor the brand has not authorised.
        """
        self._plan(events, brand, source)

    def _plan(
        self, events: Sequence[epcis.EpcisEvent], brand: int | None, source: str, checked: Callable[[int], None] | None = None
    ) -> list[_Planned]:
        planned: list[_Planned] = []
        problems: list[InputError] = []
        brands: dict[str, int] = {}
        for n, event in enumerate(events):
            if checked and n % 100 == 0:
                checked(n)
            primaries = list(event.primary_subjects())
            related = [s.id for s in event.related_subjects()]
            if not primaries and related:
                primaries, related = list(event.related_subjects()), []
            anchorable = [s for s in primaries if s.kind in _BINDING]
            if not anchorable:
                located = _place_only(event, brand, source, n)
                if isinstance(located, InputError):
                    problems.append(located)
                else:
                    planned.append(located)
                continue
            event_brand = brand
            # The brand of the goods: of the first registered GTIN among the subjects, the event's
            # own first, then the children / inputs (a pallet is the brand of what it holds).
            for s in (*anchorable, *event.related_subjects()):
                if s.gtin:
                    if s.gtin not in brands:
                        brands[s.gtin] = self.trace.identity.brand_of_gtin(s.gtin)
                    if brands[s.gtin]:
                        event_brand = brands[s.gtin]
                        break
            if not event_brand:
                problems.append(
                    InputError(
                        f"{_event_words(event)} names no registered product ({', '.join(s.uri for s in anchorable[:3])}), "
                        "so its brand is unknown: register the product, or pass --brand (o2ochain trace import) / "
                        "brand= (the library) to anchor it under the actor's brand",
                        file=source,
                        field=_event_field(event, n),
                    )
                )
                continue
            for s in anchorable:
                if s.gtin and _BINDING[s.kind] in _BRANDED:
                    if s.gtin not in brands:
                        brands[s.gtin] = self.trace.identity.brand_of_gtin(s.gtin)
                    if not brands[s.gtin]:  # the ledger would refuse it (TraceSubjectNotOfBrand)
                        problems.append(
                            InputError(
                                f"{_event_words(event)} names {s.uri}, of GTIN {s.gtin}, which is not a registered product: "
                                f"only a brand's own products are traced on its chains (brand {event_brand} here); "
                                "register the product first, or leave it out of the document",
                                file=source,
                                field=_event_field(event, n),
                                value=s.gtin,
                            )
                        )
                        continue
                b = brands.get(s.gtin, event_brand) if s.gtin else event_brand
                planned.append(_Planned(b or event_brand, s, event, related))
        if checked:
            checked(len(events))
        InputErrors.raise_if_any(problems)
        for b in sorted({p.brand for p in planned}):
            view = call_view(self.trace.contract.functions.actor(b, self.address))
            if not bool(view.active):
                first = next(p for p in planned if p.brand == b)
                problems.append(self._not_authorised(b, first, source))
        InputErrors.raise_if_any(problems)
        return planned

    def _not_authorised(self, brand: int, first: _Planned, source: str) -> InputError:
        """This actor may not record under ``brand``: say which brand (by name), and which event
        of the document needs it, before anything is sent (the ledger would revert: TraceNotActor)."""
        info = self.trace.identity.brand(brand)
        if info.registered_block is None:
            return InputError(
                f"brand {brand} is not a registered brand ({_event_words(first.event)} would be anchored under it); "
                "pass the number of the brand the actor was granted by",
                file=source,
                field="brand",
                value=brand,
            )
        s = first.subject
        names = f"names {s.uri}, of GTIN {s.gtin}" if s.gtin else (f"is at {s.uri}" if s.kind == "location" else f"names {s.uri}")
        return InputError(
            f"{self.address} is not an authorised actor of brand {brand} ({info.name}): {_event_words(first.event)} {names}; "
            f"the admin of {info.name} must grant it first (o2ochain trace actor grant)",
            file=source,
            field=first.event.path if first.event.path != "$" else None,
            value=brand,
        )

    def _not_yet_recorded(self, planned: Sequence[_Planned], anchors: dict[bytes, tuple[str, int]]) -> list[_Planned]:
        """Drop entries the chain already holds (same brand, subject and content), noting in
        ``anchors`` where the chain holds them."""
        on_chain: dict[tuple[int, bytes, bytes], tuple[str, int]] = {}
        by_brand: dict[int, list[bytes]] = defaultdict(list)
        for p in planned:
            by_brand[p.brand].append(p.subject.chain_subject)
        for b, subjects in by_brand.items():
            unique = list(dict.fromkeys(subjects))
            started = [s for s, word in zip(unique, self.trace.heads(b, unique), strict=True) if any(word)]
            for (brand, subject), entries in self.trace.chains(started, b).items():
                on_chain.update(((brand, subject, e.content), (e.tx_hash, e.block)) for e in entries)
        todo: list[_Planned] = []
        for p in planned:
            found = on_chain.get((p.brand, p.subject.chain_subject, p.event.content_hash))
            if found is None:
                todo.append(p)
            else:
                anchors[p.event.content_hash] = found
        return todo

    def _entry(self, p: _Planned, bind: bool) -> tuple[Any, ...]:
        e = p.event
        s = p.subject
        binding: tuple[int, int, bytes] = (0, 0, _ZERO)
        if bind and _BINDING[s.kind] == 5:
            binding = (_BINDING[s.kind], 0, s.id)  # the ledger recomputes chain_subject from it
        elif bind:
            code = s.code or ""
            binding = (_BINDING[s.kind], gs1.gtin_to_int(s.gtin) if s.gtin else 0, gs1.to_bytes32(code) if code else _ZERO)
        return (
            s.chain_subject,
            e.content_hash,
            epcis.pack_meta(e),
            e.read_point.id if e.read_point else _ZERO,
            e.biz_location.id if e.biz_location else _ZERO,
            gs1.keccak256(e.event_id.encode()) if e.event_id else _ZERO,
            binding,
            list(p.related),
        )


def _event_field(event: epcis.EpcisEvent, n: int) -> str:
    """Where the ``n``-th event stands in its document, for an error's ``field``."""
    return event.path if event.path != "$" else f"$.epcisBody.eventList[{n}]"


def _place_only(event: epcis.EpcisEvent, brand: int | None, source: str, n: int) -> _Planned | InputError:
    """Anchor an event that names no object on its place's own chain, or say why it cannot be.

    A cold store's temperature log (an ObjectEvent with a ``sensorElementList`` and a read point,
    no EPCs) is about the place: its entry goes on the chain of the ``readPoint`` (else the
    ``bizLocation``), bound as a location (binding kind 5, an id space no product chain shares),
    under ``brand``. A place has no GTIN to tell its brand, so the brand must be given.
    """
    where = _event_field(event, n)
    place, name = (event.read_point, "readPoint") if event.read_point is not None else (event.biz_location, "bizLocation")
    if place is None:
        return InputError(
            f"{_event_words(event)} names no item, lot, product class, container (SSCC) or place to anchor it on: "
            "give it an epcList, a quantityList, a parentID, a readPoint or a bizLocation",
            file=source,
            field=where,
        )
    if not brand:
        return InputError(
            f"{_event_words(event)} names only a place ({name} {place.uri}), which tells no brand: pass --brand "
            "(o2ochain trace import) or brand= (the library): the brand that granted this actor",
            file=source,
            field=f"{where}.{name}.id",
            value=place.uri,
        )
    return _Planned(brand, place, event, [])


def _event_words(event: epcis.EpcisEvent) -> str:
    """An event as a person finds it in the document: "the shipping ObjectEvent of
    2026-11-02T09:00:00+08:00" (and its eventID when it has one)."""
    step = f"{event.biz_step} " if event.biz_step and "://" not in event.biz_step else ""
    when = event.event_time.astimezone(timezone(timedelta(minutes=event.tz_offset))).isoformat(timespec="seconds")
    named = f" {event.event_id}" if event.event_id else ""
    return f"the {step}{event.type}{named} of {when}"


def _batches(items: Sequence[_Planned], is_first: Callable[[_Planned], bool]) -> Iterable[list[_Planned]]:
    """Consecutive entries in batches whose estimated gas stays under :data:`_BATCH_GAS`."""
    batch: list[_Planned] = []
    gas = 60_000
    firsts: set[bytes] = set()
    for p in items:
        first = is_first(p) and p.subject.chain_subject not in firsts
        cost = (_GAS_PER_FIRST_ENTRY if first else _GAS_PER_ENTRY) + _GAS_PER_RELATED * len(p.related)
        if batch and gas + cost > _BATCH_GAS:
            yield batch
            batch, gas, firsts = [], 60_000, set()
            first = is_first(p)
            cost = (_GAS_PER_FIRST_ENTRY if first else _GAS_PER_ENTRY) + _GAS_PER_RELATED * len(p.related)
        if first:
            firsts.add(p.subject.chain_subject)
        batch.append(p)
        gas += cost
    if batch:
        yield batch


def utc(ts_ms: int, offset_minutes: int) -> datetime:
    """A timestamp in milliseconds as an aware datetime in its recorded time zone."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(timezone(timedelta(minutes=offset_minutes)))
