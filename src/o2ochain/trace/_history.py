"""An item's history as the TraceLedger's logs and views tell it, whichever way they are read.

:class:`HistoryReader` holds what a history is (see :mod:`o2ochain.trace._ledger`): the chains of
an item, its lot and product, its containers while it was packed and the inputs it was made from,
each recomputed to the head the ledger stores, the events checked against their stored copies,
the actors' kinds and repositories. It reads the chain through a few primitives, so the same
history comes out of two readers: :class:`~o2ochain.trace.Trace` on web3 (every command of the
library) and :class:`~o2ochain.trace._light.LightTrace` on the standard library
(``o2ochain trace show --index``, which must start without importing web3). Nothing here imports
web3.
"""

from __future__ import annotations

import abc
import contextlib
import enum
import functools
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from o2ochain import epcis, gs1, inputs
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.light import Event, Log, abi_of, checksum_address
from o2ochain._chain.util import address_topic, hex0x
from o2ochain.identity._refs import resolve_ref

#: Actor kinds as the ledger numbers them.
ACTOR_KINDS = {"farm": 1, "plant": 2, "logistics": 3, "store": 4, "other": 5}
_KIND_NAMES = {v: k for k, v in ACTOR_KINDS.items()}
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


def recompute_head(prev: bytes, entry: ChainEntry) -> bytes:
    """The ledger's head formula (see contracts/interfaces/ITraceLedger.sol)."""
    related_hash = gs1.keccak256(b"".join(entry.related)) if entry.related else _ZERO
    actor = bytes.fromhex(entry.actor[2:]).rjust(32, b"\x00")
    h = gs1.keccak256(prev + entry.content + entry.meta + entry.read_point + entry.biz_location + entry.event_id + related_hash + actor)
    count = int.from_bytes(prev[24:], "big") + 1
    word = (int.from_bytes(h, "big") % (1 << 192)) << 64 | count
    return word.to_bytes(32, "big")


class ItemReader(Protocol):
    """The registry's reads a history makes (:class:`~o2ochain.identity.Identity` is one)."""

    def verify(self, ref: str | bytes | gs1.DigitalLink, *, recall: bool = ...) -> Any: ...

    def brand_of_gtin(self, gtin: str) -> int: ...


@functools.cache
def ledger_events() -> dict[str, Event]:
    """The TraceLedger's events, read from its ABI by :mod:`o2ochain._chain.light` (one decoder for both readers)."""
    return abi_of(artifact("TraceLedger")["abi"])[1]


class HistoryReader(abc.ABC):
    """An item's history over a reader's primitives (see the module docstring).

    A reader sets ``identity``, ``store``, ``address`` and ``_from_block``, implements the
    abstract primitives (:meth:`_logs`, :meth:`_last_block`, :meth:`_pinned`, :meth:`_heads_view`,
    :meth:`_actor_views`, :attr:`_concurrent`), then calls :meth:`_start_reading`.
    """

    identity: ItemReader
    store: epcis.EventStore
    address: str
    _from_block: int

    def _start_reading(self) -> None:
        events = ledger_events()
        self._recorded_event = events["Recorded"]
        self._linked_event = events["Linked"]
        self._repository_event = events["RepositorySet"]
        self._recorded_topic = self._recorded_event.topic_hex
        self._linked_topic = self._linked_event.topic_hex
        self._actor_cache: dict[tuple[int, str], str | None] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- what a reader provides ------------------------------------------------------------
    @property
    @abc.abstractmethod
    def _concurrent(self) -> bool:
        """Whether reads may go out from several threads at once (over HTTP: each round trip hidden)."""

    @abc.abstractmethod
    def _logs(self, topics: Sequence[Any], *, to_block: int | None = None) -> list[Log]:
        """The ledger's logs matching ``topics`` from its deployment block to ``to_block`` (the head), in chain order."""

    @abc.abstractmethod
    def _last_block(self) -> int:
        """The head this command reads up to (pinned within :meth:`_pinned`)."""

    @abc.abstractmethod
    def _pinned(self) -> contextlib.AbstractContextManager[None]:
        """Within it, one head for every read of this thread's command."""

    @abc.abstractmethod
    def _heads_view(self, brand: int, subjects: list[bytes]) -> tuple[list[bytes], list[int]]:
        """The ledger's ``heads(brand, subjects)``: the stored head words and entry counts."""

    @abc.abstractmethod
    def _actor_views(self, keys: Sequence[tuple[int, str]]) -> list[Any]:
        """The ledger's ``actor(brand, account)`` view of each of ``keys`` (in one batch where the node takes batches)."""

    def _together(self, first: Callable[[], T], *others: Callable[[], Any]) -> tuple[T, list[Any]]:
        """``first()`` in this thread while ``others`` run in the reader threads: independent reads
        cost one round trip, not one each. Only ``first`` may itself call ``_together`` (the
        reader threads never wait on each other). Errors come out as raised. Over HTTP only: an
        in-process chain (eth-tester) has no round trips to hide and is not made for threads."""
        if not others or not self._concurrent:
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
    def actor_kind(self, brand: int, account: str) -> str | None:
        key = (brand, account)
        if key not in self._actor_cache:
            self._actor_cache[key] = _kind(self._actor_views([(brand, inputs.address(account, "account"))])[0])
        return self._actor_cache[key]

    def _learn_actors(self, actors: Iterable[tuple[int, str]]) -> None:
        """Read the kinds of many actors in one JSON-RPC batch and their repositories in one log
        query per brand (instead of a call and a query each), into the caches
        :meth:`actor_kind` and :meth:`repository` read."""
        reads = self._actor_reads(actors, self._last_block(), set())
        if reads:
            self._together(reads[0], *reads[1:])

    def _learn_actors_soon(self, actors: Iterable[tuple[int, str]], asked: set[tuple[int, str]], pending: list[Future[None]]) -> None:
        """:meth:`_learn_actors` in the reader threads, not waited for (over HTTP; else nothing):
        a history asks the actors of each step while it reads the next, and waits for
        ``pending`` at the end. ``asked``: the actors already being read."""
        if not self._concurrent:
            return
        reads = self._actor_reads(actors, self._last_block(), asked)
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
        event = self._repository_event

        def read_kinds() -> None:
            for key, view in zip(kinds, self._actor_views(kinds), strict=True):
                self._actor_cache[key] = _kind(view)

        def read_repositories(brand: int, accounts: list[str]) -> None:
            topics = [event.topic_hex, self._topic(brand), [address_topic(a) for a in accounts]]
            latest: dict[str, str] = {}
            for log in self._logs(topics, to_block=last):
                args = event.args(log)  # in chain order: the last one an actor set stands
                if int(args["brand"]) == brand:
                    latest[args["actor"]] = str(args["uri"])
            for account in accounts:
                self._actor_cache[(brand, "repo:" + account)] = latest.get(checksum_address(account))

        reads: list[Callable[[], None]] = [read_kinds] if kinds else []
        return reads + [partial(read_repositories, brand, accounts) for brand, accounts in by_brand.items()]

    def repository(self, brand: int, account: str) -> str | None:
        """Where ``account`` publishes the full events it records for ``brand`` (its latest RepositorySet)."""
        key = (brand, "repo:" + account)
        if key not in self._actor_cache:
            logs = self._logs([self._repository_event.topic_hex, self._topic(brand), address_topic(account)])
            self._actor_cache[key] = str(self._repository_event.args(logs[-1])["uri"]) if logs else None
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
        last = self._last_block() if unique else 0  # both queries up to the same block
        for start in range(0, len(unique), 200):
            topics = [hex0x(x) for x in unique[start : start + 200]]

            def logs(wanted: list[Any]) -> list[Log]:
                return self._logs(wanted, to_block=last)

            recorded, (linked,) = self._together(
                lambda t=topics: logs([self._recorded_topic, t, self._topic(brand)]),  # type: ignore[misc]
                lambda t=topics: logs([self._linked_topic, None, t, self._topic(brand)]),  # type: ignore[misc]
            )
            if recorded:
                found.update(_assemble(self._recorded_event, self._linked_event, recorded, linked))
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
            words, counts = self._heads_view(brand, chunk)
            out.update({subject: (bytes(word), int(count)) for subject, word, count in zip(chunk, words, counts, strict=True)})
        return out

    def check_chains(self, chains: dict[tuple[int, bytes], list[ChainEntry]]) -> dict[tuple[int, bytes], ChainCheck]:
        """Each chain checked against its stored head: the heads in one view call per brand."""
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
        found: dict[bytes, None] = {}
        for log in self._logs(topics, to_block=to_block):
            args = self._linked_event.args(log)
            if int(args["brand"]) == brand:  # the topic filter already says so; a node's answer is checked anyway
                found[bytes(args["subject"])] = None
        return list(found)

    # -- history -----------------------------------------------------------------------------
    def history(self, ref: str | bytes | gs1.DigitalLink, *, follow_inputs: int = 5, include_events: bool = True) -> list[HistoryEvent]:
        """The complete ordered history of an item (see the module docstring).

        Every list is read up to one head (:meth:`_pinned`), the chains
        of one step (the item, its lot and product; a level of containers; a level of inputs)
        with one query, their stored heads with one view call per brand, and the actors' kinds
        and repositories together at the end: on a public RPC each round trip costs 50-100 ms.
        """
        with self._pinned():  # the head is asked while the item is verified
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
            last = self._last_block()  # the reader threads read up to this command's head too
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
    rec_event: Event, link_event: Event, recorded: Sequence[Log], linked: Sequence[Log]
) -> dict[tuple[int, bytes], list[ChainEntry]]:
    """Entries per (brand, subject) from Recorded logs, each with the related ids of the Linked
    logs of its subject that follow it in the same transaction."""
    merged = sorted(
        [(log.block, log.log_index, "r", log) for log in recorded] + [(log.block, log.log_index, "l", log) for log in linked],
        key=lambda x: x[:3],
    )
    chains: dict[tuple[int, bytes], list[ChainEntry]] = defaultdict(list)
    last: dict[tuple[int, bytes], ChainEntry] = {}
    for block, index, kind, log in merged:
        if kind == "r":
            a = rec_event.args(log)
            entry = ChainEntry(
                brand=int(a["brand"]),
                subject=bytes(a["subject"]),
                actor=a["actor"],
                content=bytes(a["content"]),
                meta=bytes(a["meta"]),
                read_point=bytes(a["readPoint"]),
                biz_location=bytes(a["bizLocation"]),
                event_id=bytes(a["eventId"]),
                related=[],
                block=block,
                tx_hash=hex0x(log.tx_hash),
                log_index=index,
            )
            chains[(entry.brand, entry.subject)].append(entry)
            last[(entry.brand, entry.subject)] = entry
        else:
            a = link_event.args(log)
            owner = last.get((int(a["brand"]), bytes(a["subject"])))
            if owner is not None and owner.content == bytes(a["content"]) and owner.tx_hash == hex0x(log.tx_hash):
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
