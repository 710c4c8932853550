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

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.types import LogReceipt

from o2ochain import epcis, gs1, inputs
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.light import Log
from o2ochain._chain.logs import get_logs, head_block, pinned_head
from o2ochain._chain.signers import Signer
from o2ochain._chain.tx import EncodedCall, PendingTx, Sender, call_view, read_all
from o2ochain.deployments import Deployment
from o2ochain.errors import InputError, InputErrors
from o2ochain.identity import Identity
from o2ochain.identity._registry import TraceRecall
from o2ochain.trace._history import (
    _ZERO,
    ACTOR_KINDS,
    ChainCheck,
    ChainEntry,
    HistoryReader,
    _checked,
    default_store,
    recompute_head,
)

#: Told ``(stage, done, total)`` as a long job goes: each stage ("checking events", "storing
#: events", "sending entries", "anchoring entries") with its total from its first call on.
ProgressFn = Callable[[str, int, int], None]

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


class Trace(HistoryReader):
    """Read access to the TraceLedger and the off-chain event store (the history itself is
    :class:`~o2ochain.trace._history.HistoryReader`'s, over web3)."""

    identity: Identity

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
        self._start_reading()

    # -- the primitives of HistoryReader ----------------------------------------------------
    @property
    def _concurrent(self) -> bool:
        return isinstance(self.w3.provider, HTTPProvider)  # an in-process chain is not made for threads

    def _logs(self, topics: Sequence[Any], *, to_block: int | None = None) -> list[Log]:
        found = get_logs(self.w3, address=self.address, topics=topics, from_block=self._from_block, to_block=to_block)
        return [_log(receipt) for receipt in found]

    def _last_block(self) -> int:
        return head_block(self.w3)

    def _pinned(self) -> contextlib.AbstractContextManager[None]:
        return pinned_head(self.w3, early=True)

    def _heads_view(self, brand: int, subjects: list[bytes]) -> tuple[list[bytes], list[int]]:
        words, counts = call_view(self.contract.functions.heads(brand, subjects), what="reading chain heads")
        return [bytes(word) for word in words], [int(count) for count in counts]

    def _actor_views(self, keys: Sequence[tuple[int, str]]) -> list[Any]:
        if len(keys) == 1:
            brand, account = keys[0]
            return [call_view(self.contract.functions.actor(brand, account))]
        calls = [partial(call_view, self.contract.functions.actor(brand, account), what="reading actors") for brand, account in keys]
        return read_all(self.w3, calls, what="reading actors")

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

    def check_chain(self, brand: int, subject: bytes, entries: Sequence[ChainEntry]) -> ChainCheck:
        stored, count = self.head(brand, subject)
        return _checked(brand, subject, entries, stored, count)

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


def _log(receipt: LogReceipt) -> Log:
    """A log as web3 gives it (HexBytes, checksummed address), as the history decodes it."""
    return Log(
        address=str(receipt["address"]).lower(),
        topics=tuple(bytes(t) for t in receipt["topics"]),
        data=bytes(receipt["data"]),
        block=int(receipt["blockNumber"]),
        log_index=int(receipt["logIndex"]),
        tx_hash=bytes(receipt["transactionHash"]),
        removed=bool(receipt.get("removed", False)),
    )
