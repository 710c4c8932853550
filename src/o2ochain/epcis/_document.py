"""EPCIS 2.0 documents and events: read and check them, pack what the chain sees, write them back."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import re
import struct
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, Literal, TypedDict, cast

import orjson

from o2ochain import gs1
from o2ochain.epcis._identifiers import Subject, _location, parse_identifier, parse_location
from o2ochain.epcis._schema import (
    _JSON_TYPES,
    _JSONLD_ALIASES,
    _child,
    _passes_fast,
    _path_key,
    _path_of,
    _plain_json,
    _schema_errors,
    _schemas,
)
from o2ochain.epcis._store import _NonFinite, _refuse_constant, canonical_json, content_hash
from o2ochain.epcis._vocabulary import (
    _EPOCH,
    EVENT_TYPES,
    Action,
    EventType,
    Role,
    _is_uri,
    _parse_offset,
    _parse_time,
    _short,
    _unix_ms,
    action_of_code,
    biz_step_name,
    biz_step_of_code,
    code_of_action,
    code_of_biz_step,
    code_of_disposition,
    code_of_event_type,
    disposition_name,
    disposition_of_code,
    event_type_of_code,
    format_time,
    parse_time,
)
from o2ochain.errors import InputError, InputErrors

EPCIS_CONTEXT: Final = "https://gs1.github.io/EPCIS/epcis-context-simple.jsonld"
"""The JSON-LD context of EPCIS 2.0 JSON documents, as GS1's examples and schemas use it."""

# --------------------------------------------------------------------------------------------
# Events


class ErrorDeclaration(TypedDict):
    """An EPCIS error declaration: this event was wrong, as of ``declarationTime``, for ``reason``."""

    declarationTime: datetime
    reason: str | None
    correctiveEventIDs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EventSubject:
    """A subject as one event names it: its role there, and a quantity for quantity lists."""

    role: Role
    subject: Subject
    quantity: float | None = None
    uom: str | None = None


@dataclass(frozen=True, eq=False)
class EpcisEvent:
    """One EPCIS 2.0 event, read and checked: the what / when / where / why the chain records.

    ``raw`` is the event's JSON object exactly as it stands in the document (after reading a
    JSON-LD single value as a one-element list, see :func:`parse_document`), and
    ``content_hash`` is :func:`content_hash` of it: what the chain anchors and what an exported
    copy is checked against. ``biz_step`` and ``disposition`` are CBV short names, or the URI
    when the document uses a vocabulary outside CBV. ``path`` locates the event in its document
    (``$.epcisBody.eventList[3]``) for error messages. Events compare by identity; compare
    ``content_hash`` to compare content.
    """

    type: EventType
    action: Action | None
    biz_step: str | None
    disposition: str | None
    event_time: datetime
    tz_offset: int
    read_point: Subject | None
    biz_location: Subject | None
    event_id: str | None
    error_declaration: ErrorDeclaration | None
    subjects: tuple[EventSubject, ...]
    parent: Subject | None
    raw: dict[str, Any]
    content_hash: bytes
    record_time: datetime | None = None
    biz_transactions: tuple[tuple[str | None, str], ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    destinations: tuple[tuple[str, str], ...] = ()
    path: str = "$"

    def primary_subjects(self) -> tuple[Subject, ...]:
        """What the event is *on*: the parent of an aggregation, association or transaction
        event that has one; otherwise its EPCs, quantities and outputs (and, for an aggregation
        or association without a parent, its children)."""
        if self.parent is not None and self.type in ("AggregationEvent", "AssociationEvent", "TransactionEvent"):
            return (self.parent,)
        roles: tuple[Role, ...] = ("epc", "quantity", "output")
        if self.type in ("AggregationEvent", "AssociationEvent"):
            roles = (*roles, "child")
        return self._of_roles(roles)

    def related_subjects(self) -> tuple[Subject, ...]:
        """What the event links the primary subjects to: children (packed into the parent) and
        inputs (what outputs were made from); for a transaction event with a parent, its EPCs."""
        if self.parent is None:
            return self._of_roles(("input",)) if self.type == "TransformationEvent" else ()
        if self.type == "TransactionEvent":
            return self._of_roles(("epc", "quantity"))
        return self._of_roles(("child", "input"))

    def _of_roles(self, roles: tuple[Role, ...]) -> tuple[Subject, ...]:
        seen: set[bytes] = set()
        found: list[Subject] = []
        for tagged in self.subjects:
            if tagged.role in roles and tagged.subject.id not in seen:
                seen.add(tagged.subject.id)
                found.append(tagged.subject)
        return tuple(found)


@dataclass(frozen=True, eq=False)
class EpcisDocument:
    """A read and validated EPCIS 2.0 document (or a single event sent on its own).

    ``type`` is ``EPCISDocument``, ``EPCISQueryDocument`` or, for a bare event, its event type.
    ``context`` is the JSON-LD ``@context`` as given (pass its extension prefixes to
    :func:`export_document` to keep them meaningful in JSON-LD). ``notes`` lists what was read
    leniently (a JSON-LD single value taken as a one-element list).
    """

    source: str
    type: str
    schema_version: str | None
    creation_date: datetime | None
    context: Any
    header: dict[str, Any] | None
    events: tuple[EpcisEvent, ...]
    notes: tuple[str, ...]
    raw: dict[str, Any]


_DOCUMENT_TYPES: Final = ("EPCISDocument", "EPCISQueryDocument")
_EVENT_FIELDS: Final = frozenset(field.name for field in dataclasses.fields(EpcisEvent))


def _event_list(doc: dict[str, Any]) -> tuple[str, Any] | None:
    """Where a document keeps its events: (JSONPath, the list) or ``None`` for a bare event."""
    body = doc.get("epcisBody")
    if doc.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults") if isinstance(body, dict) else None
        results_body = results.get("resultsBody") if isinstance(results, dict) else None
        events = results_body.get("eventList") if isinstance(results_body, dict) else None
        return "$.epcisBody.queryResults.resultsBody.eventList", events
    if doc.get("type") == "EPCISDocument":
        return "$.epcisBody.eventList", body.get("eventList") if isinstance(body, dict) else None
    return None


def _check(doc: Any, source: str, *, build: bool, plain: bool = False) -> tuple[list[InputError], list[EpcisEvent], list[str]]:
    """Validate ``doc``; with ``build``, also read its events (only if nothing is wrong).

    Returns the errors, the events and, with ``build``, notes on what was accepted but not
    interpreted. Each event first goes through the compiled gate (:func:`_passes_fast`) and,
    without ``build``, :func:`_certainly_valid`; only those they do not pass are validated by
    jsonschema and :func:`_read_event`, which word the errors. ``plain`` says that ``doc`` was
    just read from JSON text by :func:`_read_json` (so holds nothing else than JSON values).
    """
    if not isinstance(doc, dict):
        kind = _JSON_TYPES.get(type(doc), type(doc).__name__)
        return [InputError(f"an EPCIS document must be a JSON object, got {kind}", file=source, field="$")], [], []
    doc_type = doc.get("type")
    if isinstance(doc_type, str) and doc_type not in _DOCUMENT_TYPES and doc_type not in EVENT_TYPES:
        return (
            [
                InputError(
                    f"{_short(doc_type)} is not an EPCIS document type (EPCISDocument, EPCISQueryDocument or one of the five event types)",
                    file=source,
                    field="$.type",
                    value=doc_type,
                )
            ],
            [],
            [],
        )
    schemas = _schemas()
    fields = schemas.fields
    located = _event_list(doc)
    errors = _schema_errors(schemas.envelope, _without_events(doc, located), "$", source)
    if errors:
        # Worded on the document itself: a message may quote the value it is about.
        errors = _schema_errors(schemas.envelope, doc, "$", source)
    # (path, event, schema-valid, passed the gate, the event read by _gated_event) of the events
    # left to _read_event, or read already: each as soon as it has passed the gate, while its
    # values are still in the processor's cache.
    items: list[tuple[str, Any, bool, bool, EpcisEvent | None]] = []
    if located is None:
        items.append(("$", doc, not errors, False, None))
    elif isinstance(located[1], list):
        base, events = located
        gated = _fast_enabled()
        clean = [True] * len(events) if plain or not gated else _plain_json(events)
        for index, raw in enumerate(events):
            if gated and clean[index] and _passes_fast(raw):
                if build:
                    path = f"{base}[{index}]"
                    items.append((path, raw, True, True, _gated_event(raw, path)))
                elif not _certainly_valid(raw):
                    items.append((f"{base}[{index}]", raw, True, True, None))
                continue
            path = f"{base}[{index}]"
            # A standard event type goes straight to its schema; GS1's if-chain would pick the same.
            type_name = raw.get("type") if isinstance(raw, dict) else None
            validator = schemas.by_type.get(type_name, schemas.event) if isinstance(type_name, str) else schemas.event
            event_errors = _schema_errors(validator, raw, path, source)
            errors.extend(event_errors)
            items.append((path, raw, not event_errors, False, None))
    events_read: list[EpcisEvent] = []
    notes: list[str] = []
    for path, raw, schema_ok, canonical, made in items:
        event = made
        if event is None:
            event, event_errors = _read_event(raw, path, source, build=build and schema_ok, checked=canonical)
            errors.extend(event_errors)
        if event is not None:
            events_read.append(event)
        if build and isinstance(raw, dict) and isinstance(raw.get("type"), str) and raw["type"] in fields:
            defined = fields[raw["type"]]
            if not raw.keys() <= defined:
                notes.extend(
                    f"{_child(path, name)}: not an EPCIS 2.0 field of {raw['type']}; kept in the event, not interpreted"
                    for name in raw
                    if isinstance(name, str) and name not in defined and name not in _JSONLD_ALIASES and not _is_uri(name)
                )
    errors.sort(key=lambda e: _path_key(e.field or ""))
    return errors, events_read, notes


def _without_events(doc: dict[str, Any], located: tuple[str, Any] | None) -> dict[str, Any]:
    """``doc`` with an empty event list, for the envelope schema (``"items": {}`` on the events).

    The envelope schema says only that the event list is an array, so its verdict is the same;
    it is ~1 µs an event faster than letting jsonschema walk 220,000 events to check nothing.
    """
    if located is None or not isinstance(located[1], list) or not located[1]:
        return doc
    copy = dict(doc)
    body = copy["epcisBody"] = dict(copy["epcisBody"])
    if doc["type"] == "EPCISQueryDocument":
        results = body["queryResults"] = dict(body["queryResults"])
        results["resultsBody"] = dict(results["resultsBody"], eventList=[])
    else:
        body["eventList"] = []
    return copy


def _fast_enabled() -> bool:
    """The gate is used only with room on the stack for the slow path's canonicaliser.

    The gate lets events up to 250 levels deep through (:func:`_plain_json`); RFC 8785's
    canonicaliser recurses once a level, and must not fail where the slow path would not have
    been taken either.
    """
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    return sys.getrecursionlimit() - depth > 400


def validate_document(doc: Any, *, source: str) -> None:
    """Check an EPCIS 2.0 document (parsed JSON, or its UTF-8 bytes) and raise every problem at once.

    Checked: GS1's EPCIS 2.0 JSON Schema (with ``date-time`` and ``uri`` formats asserted),
    then what EPCIS requires beyond it — identifiers of a known scheme, instance-level ids in
    EPC lists and class-level ids in quantity lists, locations in ``readPoint`` and
    ``bizLocation``, a ``parentID`` on an aggregation that adds or deletes, one of the five
    standard event types — and what the chain needs: an event time after 1970 and numbers that
    canonical JSON can carry. Raises :class:`~o2ochain.errors.InputErrors` whose errors name
    ``source`` and the JSON path of the fault in ``field``. Bytes (a request body, a file) are
    read as by :func:`parse_document`, invalid JSON being an :class:`~o2ochain.errors.InputError`,
    but JSON-LD single values are not read as lists: the document is checked as it stands.
    """
    with _gc_paused():
        plain = False
        if isinstance(doc, bytes | bytearray):
            doc, plain = _read_json(doc, source)
        errors, _, _ = _check(doc, source, build=False, plain=plain)
        # Freed while the collector is paused, what was read is not walked once more.
        del doc
    InputErrors.raise_if_any(errors)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a document is read and checked.

    Reading 220,000 events allocates millions of dicts and lists, none of them garbage; the
    collector, triggered by the allocations, walks them again and again: 60% of the time of
    reading a 50 MB document. Nothing read here makes a reference cycle.

    When it is let go again, what was allocated meanwhile is still the collector's youngest
    generation, which the first allocation after would have it walk (a second for 170,000
    events) and then walk again in the middle one: it is moved to the oldest generation at once,
    through the permanent one (:func:`gc.freeze` then :func:`gc.unfreeze`), unless someone froze
    objects there, which unfreezing would let go.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


# --------------------------------------------------------------------------------------------
# Reading events


_INSTANCE_LISTS: Final[dict[str, Role]] = {"epcList": "epc", "childEPCs": "child", "inputEPCList": "input", "outputEPCList": "output"}
_QUANTITY_LISTS: Final[dict[str, Role]] = {
    "quantityList": "quantity",
    "childQuantityList": "child",
    "inputQuantityList": "input",
    "outputQuantityList": "output",
}

_SUBJECT_LISTS: Final = (
    *((name, role, False) for name, role in _INSTANCE_LISTS.items()),
    *((name, role, True) for name, role in _QUANTITY_LISTS.items()),
)
"""(field, role, a quantity list?) of the lists an event names its subjects in, in the order they are read."""

_X20: Final = "[!\"&'()*+,\\-./0-9:;<=>?A-Z_a-z]{1,20}"
_SURELY_VALID: Final = re.compile(
    rf"urn:epc:(?:id:sgtin:(?P<item>[0-9]{{6,12}}\.[0-9]{{1,7}})\.{_X20}"
    rf"|class:lgtin:(?P<lot>[0-9]{{6,12}}\.[0-9]{{1,7}})\.{_X20}"
    rf"|id:sscc:(?P<container>[0-9]{{6,12}}\.[0-9]{{5,11}})"
    rf"|id:sgln:(?P<location>[0-9]{{6,12}}\.[0-9]{{0,6}})\.{_X20})"
)
"""The four EPC URNs most events name, in a form :func:`parse_identifier` surely accepts when
company prefix and reference have :data:`_SURELY_VALID_DIGITS` digits together: lower-case
scheme, serial, lot or extension of GS1 character set 82 without ``%`` (no escapes). Anything
else is left to :func:`parse_identifier`."""
_SURELY_VALID_DIGITS: Final = {"item": (13, True), "lot": (13, False), "container": (17, True), "location": (12, True)}

_KINDS_SEEN: dict[str, tuple[str, bool] | None] = {}
_UNSEEN: Final = ("", False)
_KINDS_SEEN_LIMIT: Final = 1 << 16


def _kind_of(value: Any) -> tuple[str, bool] | None:
    """(kind, instance-level) of a valid identifier, ``None`` for anything :func:`parse_identifier` refuses."""
    if not isinstance(value, str):
        return None
    match = _SURELY_VALID.fullmatch(value)
    if match is not None:
        kind = match.lastgroup
        assert kind is not None
        digits, instance = _SURELY_VALID_DIGITS[kind]
        if len(match.group(kind)) == digits + 1:
            return kind, instance
    seen = _KINDS_SEEN.get(value, _UNSEEN)
    if seen is not _UNSEEN:
        return seen
    try:
        found = parse_identifier(value)
        known: tuple[str, bool] | None = (found.kind, found.instance)
    except InputError:
        known = None
    if len(_KINDS_SEEN) >= _KINDS_SEEN_LIMIT:
        _KINDS_SEEN.clear()
    _KINDS_SEEN[value] = known
    return known


def _certainly_valid(raw: dict[str, Any]) -> bool:
    """Does :func:`_read_event` find nothing wrong with this gated event (see :func:`_passes_fast`)?

    The same rules, checked without building anything or wording an error: every identifier of
    a known scheme and at the right level, an aggregation that adds or deletes has a parent, and
    the event is after 1970. A no sends the event to :func:`_read_event`, which words the errors.
    """
    if raw["type"] == "AggregationEvent" and raw.get("action") in ("ADD", "DELETE") and "parentID" not in raw:
        return False
    if raw["eventTime"][:4] <= "1970":
        return False
    for value, level in _named_identifiers(raw):
        if level == "location":
            if not _is_location(value):
                return False
            continue
        kind = _kind_of(value)
        if kind is None or kind[1] != (level == "instance"):
            return False
    return True


def _is_location(value: Any) -> bool:
    """Does :func:`parse_location` accept ``value`` (the SGLN URNs most events name at once)?"""
    match = _SURELY_VALID.fullmatch(value) if isinstance(value, str) else None
    if match is not None and match.lastgroup == "location" and len(match.group("location")) == 13:
        return True
    try:
        parse_location(value)
    except InputError:
        return False
    return True


def _named_identifiers(raw: dict[str, Any]) -> Iterator[tuple[Any, str]]:
    """(value, ``instance``, ``class`` or ``location``) of every identifier :func:`_read_event` reads.

    A field the event type does not define is not checked by its schema: hence the isinstance.
    """
    if "parentID" in raw:
        yield raw["parentID"], "instance"
    for name in _INSTANCE_LISTS:
        values = raw.get(name)
        if isinstance(values, list):
            yield from ((value, "instance") for value in values)
    for name in _QUANTITY_LISTS:
        elements = raw.get(name)
        if isinstance(elements, list):
            yield from ((element.get("epcClass") if isinstance(element, dict) else None, "class") for element in elements)
    for name in ("readPoint", "bizLocation"):
        place = raw.get(name)
        if isinstance(place, dict):
            yield place.get("id"), "location"


def _read_event(raw: Any, path: str, source: str, *, build: bool, checked: bool = False) -> tuple[EpcisEvent | None, list[InputError]]:
    """Check what the schema leaves to EPCIS and, with ``build``, make the :class:`EpcisEvent`.

    Written defensively (every value's type is checked) so that it can run on an event the
    schema refused and still report identifier problems in the same pass. ``checked`` says the
    event passed the gate (:func:`_passes_fast`): schema-valid and canonicalisable, so its
    content hash is computed only to be used, and a valid ``eventTime`` after 1970 needs no parsing.
    """
    errors: list[InputError] = []

    def fail(message: str, at: str, value: Any = None) -> None:
        errors.append(InputError(message, file=source, field=at, value=value))

    if not isinstance(raw, dict):
        return None, errors
    event_type = raw.get("type")
    if isinstance(event_type, str) and event_type not in EVENT_TYPES:
        fail(
            f"{_short(event_type)} is an extension event type; o2ochain records only the five EPCIS 2.0 event types",
            _child(path, "type"),
            event_type,
        )

    def subject(value: Any, level: Literal["instance", "class", "location"], *at: str | int) -> Subject | None:
        """The identifier ``value`` at ``path`` + ``at`` (a path built only to name a fault)."""
        if not isinstance(value, str):
            return None
        try:
            # A place may be any absolute URI (CBV 2.0, 8.4); objects and classes are GS1 keys.
            found = parse_location(value) if level == "location" else parse_identifier(value)
        except InputError as exc:
            fail(exc.message, _path_of(path, at), value)
            return None
        if level == "instance" and not found.instance:
            fail(
                "must name one object (an instance-level identifier such as an SGTIN); a class or lot belongs in a quantity list",
                _path_of(path, at),
                value,
            )
            return None
        if level == "class" and found.instance:
            fail("epcClass must be a class-level identifier (a GTIN, a GTIN + lot, …), not one object", _path_of(path, at), value)
            return None
        return found

    tagged: list[EventSubject] = []
    parent = subject(raw.get("parentID"), "instance", "parentID")
    if parent is not None:
        tagged.append(EventSubject("parent", parent))
    for name, role in _INSTANCE_LISTS.items():
        values = raw.get(name)
        if isinstance(values, list):
            for index, value in enumerate(values):
                found = subject(value, "instance", name, index)
                if found is not None:
                    tagged.append(EventSubject(role, found))
    for name, role in _QUANTITY_LISTS.items():
        elements = raw.get(name)
        if isinstance(elements, list):
            for index, element in enumerate(elements):
                if isinstance(element, dict):
                    found = subject(element.get("epcClass"), "class", name, index, "epcClass")
                    quantity = element.get("quantity")
                    uom = element.get("uom")
                    if found is not None:
                        tagged.append(
                            EventSubject(
                                role,
                                found,
                                float(quantity) if isinstance(quantity, int | float) and not isinstance(quantity, bool) else None,
                                uom if isinstance(uom, str) else None,
                            )
                        )
    places: dict[str, Subject | None] = {}
    for name in ("readPoint", "bizLocation"):
        place = raw.get(name)
        places[name] = subject(place.get("id"), "location", name, "id") if isinstance(place, dict) else None

    action = raw.get("action")
    if event_type == "AggregationEvent" and action in ("ADD", "DELETE") and "parentID" not in raw:
        fail(
            f"an AggregationEvent with action {action} needs a parentID (EPCIS 2.0: the container packed or unpacked)",
            _child(path, "parentID"),
        )

    if checked and not build:
        # The gate checked eventTime's format; a year after 1970 is after 1970 in any time zone.
        if raw["eventTime"][:4] <= "1970":
            _check_epoch(raw, path, fail)
        return None, errors
    event_time = _check_epoch(raw, path, fail)

    digest: bytes | None = None
    try:
        digest = _gated_content_hash(raw) if checked else content_hash(raw)
    except InputError as exc:
        fail(exc.message, path)

    if not build or errors or digest is None or event_time is None:
        return None, errors
    return _make_event(raw, path, cast(EventType, event_type), event_time, tuple(tagged), parent, places, digest), errors


def _gated_event(raw: dict[str, Any], path: str) -> EpcisEvent | None:
    """The event :func:`_read_event` builds from a gated event (see :func:`_passes_fast`) it finds
    nothing wrong with, made the short way: without a path for each value or a closure to word
    an error. ``None`` for anything :func:`_read_event` might refuse or read otherwise (a value
    that does not map, a field of another event type that is not what its own schema wants …):
    the caller then reads the event the long way, which words the errors.
    """
    tagged: list[EventSubject] = []
    parent: Subject | None = None
    if "parentID" in raw:
        parent = _gated_subject(raw["parentID"], instance=True)
        if parent is None:
            return None
        tagged.append(EventSubject("parent", parent))
    elif raw["type"] == "AggregationEvent" and raw.get("action") in ("ADD", "DELETE"):
        return None
    for name, role, by_quantity in _SUBJECT_LISTS:
        values = raw.get(name)
        if values is None:
            continue
        if type(values) is not list:
            return None
        for value in values:
            if not by_quantity:
                found = _gated_subject(value, instance=True)
                if found is None:
                    return None
                tagged.append(EventSubject(role, found))
                continue
            if type(value) is not dict:
                return None
            found = _gated_subject(value.get("epcClass"), instance=False)
            if found is None:
                return None
            quantity = value.get("quantity")
            uom = value.get("uom")
            tagged.append(
                EventSubject(
                    role,
                    found,
                    float(quantity) if type(quantity) is int or type(quantity) is float else None,
                    uom if type(uom) is str else None,
                )
            )
    places: dict[str, Subject | None] = {"readPoint": None, "bizLocation": None}
    for name in places:
        place = raw.get(name)
        if place is None:
            continue
        value = place.get("id") if type(place) is dict else None
        if type(value) is not str:
            return None
        try:
            places[name] = parse_location(value)
        except InputError:
            return None
    text = raw.get("eventTime")
    event_time = _parse_time(text) if type(text) is str else None
    if event_time is None or event_time < _EPOCH:
        return None
    try:
        digest = _gated_content_hash(raw)
    except InputError:
        return None
    return _make_event(raw, path, raw["type"], event_time, tuple(tagged), parent, places, digest)


def _gated_subject(value: Any, *, instance: bool) -> Subject | None:
    """The object (``instance``) or class a gated event names by ``value``; ``None`` if that is
    not one (:func:`_read_event` says why)."""
    if type(value) is not str:
        return None
    try:
        found = parse_identifier(value)
    except InputError:
        return None
    return found if found.instance == instance else None


_JSON_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_FLOAT_SIGN: Final = re.compile(rb"[0-9][.eE]")
_FOUR_BYTE_UTF8: Final = re.compile(rb"[\xf0-\xf4]")


_FLOAT: Final = re.compile(rb"-?[0-9]+(?:\.[0-9]+)?[eE][+\-]?[0-9]+|-?[0-9]+\.[0-9]+")
"""A float as orjson writes it (with a fraction, an exponent or both), in JSON text outside strings."""
_STRING_OR_NUMBER: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|-?[0-9][0-9.eE+\-]*')


def _canonical_float(match: re.Match[bytes]) -> bytes:
    """A float written by orjson, written as RFC 8785 writes it."""
    return canonical_json(float(match.group()))


def _canonical_number(match: re.Match[bytes]) -> bytes:
    """A float written by orjson, written as RFC 8785 writes it; strings and integers unchanged."""
    token = match.group()
    if token[0] == 0x22 or not any(sign in token for sign in (b".", b"e", b"E")):
        return token
    return canonical_json(float(token))


def _canonical_floats(data: bytes) -> bytes:
    """Compact JSON text written by orjson, with its floats written as RFC 8785 writes them."""
    if b"\\" in data:
        if _FLOAT_SIGN.search(_JSON_STRING.sub(b'""', data)) is None:
            return data
        return _STRING_OR_NUMBER.sub(_canonical_number, data)
    # No escapes: the quotes delimit the strings (every other part); splitting is faster than any regex.
    parts = data.split(b'"')
    outside = parts[::2]
    if _FLOAT_SIGN.search(b"".join(outside)) is None:
        return data
    parts[::2] = [_FLOAT.sub(_canonical_float, part) for part in outside]
    return b'"'.join(parts)


def _gated_content_hash(raw: dict[str, Any]) -> bytes:
    """:func:`content_hash` of an event that passed the gate, ten times faster.

    orjson with sorted keys writes the very bytes of RFC 8785 for JSON whose strings have no
    character beyond the BMP (RFC 8785 sorts keys by UTF-16 code units, orjson by code points):
    same escapes, no white space, integers as digits; only floats differ (RFC 8785 writes
    ``1.0`` as ``1`` and ``1e21`` as ``1e+21``), and orjson writes each float in the shortest
    digits that read back as the same float, so reading it back and writing it with rfc8785
    gives RFC 8785's spelling. The gate made sure the event holds JSON values only, and no
    integer beyond 2**53. Anything else is canonicalised by rfc8785 alone.
    """
    data = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    if not data.isascii() and _FOUR_BYTE_UTF8.search(data) is not None:
        return content_hash(raw)
    return gs1.keccak256(_canonical_floats(data))


def _check_epoch(raw: dict[str, Any], path: str, fail: Callable[[str, str, Any], None]) -> datetime | None:
    """Parse ``eventTime`` (``None`` if absent or malformed) and refuse one before 1970."""
    event_time = _parse_time(raw["eventTime"]) if isinstance(raw.get("eventTime"), str) else None
    if event_time is not None and event_time < _EPOCH:
        fail("eventTime is before 1970-01-01, which the chain cannot record", _child(path, "eventTime"), raw["eventTime"])
    return event_time


def _make_event(
    raw: dict[str, Any],
    path: str,
    event_type: EventType,
    event_time: datetime,
    tagged: tuple[EventSubject, ...],
    parent: Subject | None,
    places: Mapping[str, Subject | None],
    digest: bytes,
) -> EpcisEvent:
    """Assemble an :class:`EpcisEvent` from a schema-valid event whose identifiers all mapped."""
    offset = _parse_offset(str(raw.get("eventTimeZoneOffset", "")))
    biz_step = raw.get("bizStep")
    disposition = raw.get("disposition")
    declaration: ErrorDeclaration | None = None
    found = raw.get("errorDeclaration")
    if isinstance(found, dict):
        reason = found.get("reason")
        declaration = ErrorDeclaration(
            declarationTime=parse_time(found["declarationTime"]),
            reason=reason if isinstance(reason, str) else None,
            correctiveEventIDs=tuple(str(v) for v in found.get("correctiveEventIDs", ())),
        )
    event_id = raw.get("eventID", raw.get("id"))
    record_time = raw.get("recordTime")
    transactions, sources, destinations = raw.get("bizTransactionList"), raw.get("sourceList"), raw.get("destinationList")
    fields: dict[str, Any] = {
        "type": event_type,
        "action": cast("Action | None", raw.get("action")),
        "biz_step": biz_step_name(biz_step) if isinstance(biz_step, str) else None,
        "disposition": disposition_name(disposition) if isinstance(disposition, str) else None,
        "event_time": event_time,
        "tz_offset": offset if offset is not None else 0,
        "read_point": places.get("readPoint"),
        "biz_location": places.get("bizLocation"),
        "event_id": event_id if isinstance(event_id, str) else None,
        "error_declaration": declaration,
        "subjects": tagged,
        "parent": parent,
        "raw": raw,
        "content_hash": digest,
        "record_time": parse_time(record_time) if isinstance(record_time, str) else None,
        "biz_transactions": tuple([(t.get("type"), t["bizTransaction"]) for t in transactions]) if transactions else (),
        "sources": tuple([(s["type"], s["source"]) for s in sources]) if sources else (),
        "destinations": tuple([(d["type"], d["destination"]) for d in destinations]) if destinations else (),
        "path": path,
    }
    # EpcisEvent(**fields) would set each of the 19 fields through object.__setattr__, as a frozen
    # dataclass does: some 5 µs an event, a tenth of reading it. Its __dict__ is filled at once.
    if fields.keys() != _EVENT_FIELDS:
        raise AssertionError(f"an EpcisEvent has the fields {sorted(_EVENT_FIELDS)}")  # pragma: no cover - a change to the class
    event = object.__new__(EpcisEvent)
    event.__dict__.update(fields)
    return event


# --------------------------------------------------------------------------------------------
# Reading documents


_LIST_FIELDS: Final = frozenset(
    {
        "epcList",
        "quantityList",
        "childEPCs",
        "childQuantityList",
        "inputEPCList",
        "inputQuantityList",
        "outputEPCList",
        "outputQuantityList",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "correctiveEventIDs",
        "sensorReport",
    }
)


_STRING_OR_CONSTANT: Final = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


_DIGITS_AS_ZERO: Final = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS: Final = b"0" * 19


def _may_hold_long_integers(data: bytes) -> bool:
    """Might ``data`` hold an integer of 19 digits or more (which orjson would read as a float)?

    Looks for runs of 19 digits (in C, over the text with every digit made ``0``), and takes one
    for a number where a JSON value can start before it: after ``:``, ``,`` or ``[``, white
    space and a minus sign. Such runs inside strings (a long serial) may be taken for numbers
    too, which only costs the slower reading.
    """
    masked = data.translate(_DIGITS_AS_ZERO)
    start = masked.find(_NINETEEN_DIGITS)
    while start != -1:
        before = start - 1
        if before >= 0 and data[before] == 0x2D:  # -
            before -= 1
        while before >= 0 and data[before] in b" \t\r\n":
            before -= 1
        if before < 0 or data[before] in b":,[":
            return True
        # The rest of this run of digits starts no number.
        end = start + 19
        while end < len(masked) and masked[end] == 0x30:
            end += 1
        start = masked.find(_NINETEEN_DIGITS, end)
    return False


def _loads_fast(data: bytes) -> Any:
    """Read JSON text with orjson, or return ``_SLOW`` where :mod:`json` might read it otherwise.

    orjson is four times faster than :mod:`json` and reads the same values, except: integers
    beyond 64 bits, which it reads as floats (RFC 8785 refuses the integers); numbers beyond
    the float range, NaN, lone surrogates, and nesting deeper than 1024 levels, which it refuses
    with other words than ours. Those documents are read by :mod:`json` (and the depth of what
    orjson read is bounded by 254 levels, which :mod:`json` surely reads too).
    """
    if _may_hold_long_integers(data):
        return _SLOW
    try:
        value = orjson.loads(data)
        orjson.dumps(value)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return _SLOW
    return value


_SLOW: Final = object()


def _read_json(text_or_obj: str | bytes | bytearray | Mapping[str, Any] | Any, source: str) -> tuple[Any, bool]:
    """:func:`_loads`, and whether the value was read by :func:`_loads_fast` (only JSON values)."""
    if isinstance(text_or_obj, bytes | bytearray | str):
        data = text_or_obj.encode("utf-8", errors="surrogatepass") if isinstance(text_or_obj, str) else bytes(text_or_obj)
        value = _loads_fast(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
        if value is not _SLOW:
            return value, True
    return _loads(text_or_obj, source), False


def _loads(text_or_obj: str | bytes | bytearray | Mapping[str, Any] | Any, source: str) -> Any:
    """Read JSON text (or bytes, UTF-8) into Python objects, or pass parsed JSON through."""
    if isinstance(text_or_obj, bytes | bytearray):
        data = bytes(text_or_obj)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            prefix = data[: exc.start].decode("utf-8", errors="replace")
            line, column = _line_col(prefix, len(prefix))
            hint = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
            raise InputError(
                f"not UTF-8{hint}: byte 0x{data[exc.start]:02x} at line {line}, column {column}; EPCIS JSON must be UTF-8",
                file=source,
                line=line,
            ) from None
    elif isinstance(text_or_obj, str):
        text = text_or_obj.removeprefix("\ufeff")
    else:
        return text_or_obj
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=source, line=exc.lineno) from None
    except _NonFinite as exc:
        # json does not say where; find the first NaN / Infinity outside a string.
        index = next((m.start() for m in _STRING_OR_CONSTANT.finditer(text) if m.group(1)), 0)
        line, column = _line_col(text, index)
        raise InputError(
            f"invalid JSON at line {line}, column {column}: {exc.args[0]} is not a JSON number", file=source, line=line
        ) from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply", file=source) from None


def _normalise_lists(doc: Any) -> tuple[Any, list[str]]:
    """Read a JSON-LD single value as a one-element list where EPCIS expects a list.

    In JSON-LD, ``"sourceList": {…}`` and ``"sourceList": [{…}]`` mean the same, and some
    producers (GS1's own rail example among them) write the former; the JSON Schema wants the
    array. Only the EPCIS list fields of events (and ``eventList``) are touched, only when they
    hold a single object or string, and a new object is built: the caller's is not modified. A
    schema-valid document is never changed.
    """
    notes: list[str] = []
    located = _event_list(doc) if isinstance(doc, dict) else None
    if located is None:
        if isinstance(doc, dict) and doc.get("type") in EVENT_TYPES:
            return _normalise_event(doc, "$", notes), notes
        return doc, notes
    path, events = located
    if isinstance(events, dict):
        notes.append(f"{path}: a single event read as a one-element list (JSON-LD)")
        events = [events]
    if not isinstance(events, list):
        return doc, notes
    fixed = [_normalise_event(event, f"{path}[{i}]", notes) for i, event in enumerate(events)]
    if not notes:
        return doc, notes
    copy = dict(doc)
    body = dict(copy["epcisBody"])
    copy["epcisBody"] = body
    if doc.get("type") == "EPCISQueryDocument":
        results = dict(body["queryResults"])
        body["queryResults"] = results
        results["resultsBody"] = dict(results["resultsBody"], eventList=fixed)
    else:
        body["eventList"] = fixed
    return copy, notes


def _normalise_event(event: Any, path: str, notes: list[str]) -> Any:
    if not isinstance(event, dict):
        return event
    changed: dict[str, Any] = {}
    for key, value in event.items():
        if key in _LIST_FIELDS and isinstance(value, dict | str):
            changed[key] = [value]
            notes.append(f"{_child(path, key)}: a single value read as a one-element list (JSON-LD)")
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, dict) and isinstance(declaration.get("correctiveEventIDs"), str):
        changed["errorDeclaration"] = dict(declaration, correctiveEventIDs=[declaration["correctiveEventIDs"]])
        notes.append(f"{_child(path, 'errorDeclaration')}.correctiveEventIDs: a single value read as a one-element list (JSON-LD)")
    return dict(event, **changed) if changed else event


def parse_document(text_or_obj: str | bytes | Mapping[str, Any], source: str = "<document>") -> EpcisDocument:
    """Read, validate and map an EPCIS 2.0 JSON / JSON-LD document.

    ``text_or_obj`` is the document's text, its bytes (UTF-8; a BOM is skipped) or the parsed
    JSON. Accepted: ``EPCISDocument`` (with or without ``epcisHeader``), ``EPCISQueryDocument``
    (events in ``epcisBody.queryResults.resultsBody.eventList``) and a single event with its
    ``@context``. JSON-LD lets a list of one be written as the value alone; such values of the
    EPCIS list fields are read as lists (and said so in ``notes``). Of a repeated key, the last
    value counts, as in JavaScript.

    Invalid JSON and non-UTF-8 bytes are an :class:`~o2ochain.errors.InputError` with the line
    (and the column in the message); everything else wrong is reported together, each with its
    JSON path, in an :class:`~o2ochain.errors.InputErrors` (see :func:`validate_document`).
    """
    with _gc_paused():
        loaded, plain = _read_json(text_or_obj, source)
        doc, notes = _normalise_lists(loaded)
        errors, events, more_notes = _check(doc, source, build=True, plain=plain)
    notes.extend(more_notes)
    InputErrors.raise_if_any(errors)
    assert isinstance(doc, dict)
    creation = doc.get("creationDate")
    header = doc.get("epcisHeader")
    version = doc.get("schemaVersion")
    return EpcisDocument(
        source=source,
        type=str(doc["type"]),
        schema_version=version if isinstance(version, str) else None,
        creation_date=_parse_time(creation) if isinstance(creation, str) else None,
        context=doc.get("@context"),
        header=header if isinstance(header, dict) else None,
        events=tuple(events),
        notes=tuple(notes),
        raw=doc,
    )


def load_document(path: str | os.PathLike[str]) -> EpcisDocument:
    """Read an EPCIS 2.0 JSON / JSON-LD file; see :func:`parse_document`."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=str(file)) from None
    return parse_document(data, source=str(file))


# --------------------------------------------------------------------------------------------
# The bytes32 an event's metadata travels in


_META: Final = struct.Struct(">BBHHQhB15x")
FLAG_ERROR_DECLARATION: Final = 0x01


def pack_meta(event: EpcisEvent) -> bytes:
    """Pack an event's type, action, CBV codes and time into 32 bytes, big-endian.

    Layout: byte 0 event type, 1 action, 2-3 bizStep code, 4-5 disposition code, 6-13 event
    time in unix milliseconds (uint64), 14-15 time zone offset in minutes (int16), 16 flags
    (bit 0: the event declares an error), 17-31 zero. One storage-free word that a contract can
    decode without the off-chain event; the rest is behind the content hash.
    """
    ms = _unix_ms(event.event_time)
    if not 0 <= ms < 1 << 64:
        raise InputError(f"eventTime {format_time(event.event_time)} is before 1970 and cannot be packed", field="eventTime")
    if not -(1 << 15) <= event.tz_offset < 1 << 15:
        raise InputError(f"time zone offset {event.tz_offset} minutes does not fit an int16", field="eventTimeZoneOffset")
    flags = FLAG_ERROR_DECLARATION if event.error_declaration is not None else 0
    return _META.pack(
        code_of_event_type(event.type),
        code_of_action(event.action),
        code_of_biz_step(event.biz_step),
        code_of_disposition(event.disposition),
        ms,
        event.tz_offset,
        flags,
    )


def unpack_meta(data: bytes) -> dict[str, Any]:
    """Read back what :func:`pack_meta` packed.

    Keys: ``event_type``, ``action`` (``None`` for none), ``biz_step`` and ``disposition`` (CBV
    short names; ``None`` for none and for a non-CBV URI, told apart by ``biz_step_code`` and
    ``disposition_code``), ``event_time`` (aware, in the event's own time zone),
    ``event_time_ms``, ``tz_offset`` (minutes), ``has_error_declaration`` and ``flags``.
    """
    raw = bytes(data)
    if len(raw) != 32:
        raise InputError(f"event metadata is 32 bytes, got {len(raw)}", value="0x" + raw.hex())
    type_code, action_code, step_code, disposition_code, ms, offset, flags = _META.unpack(raw)
    tz = timezone(timedelta(minutes=offset)) if -24 * 60 < offset < 24 * 60 else UTC
    return {
        "event_type": event_type_of_code(type_code),
        "action": action_of_code(action_code),
        "biz_step": biz_step_of_code(step_code),
        "biz_step_code": step_code,
        "disposition": disposition_of_code(disposition_code),
        "disposition_code": disposition_code,
        "event_time": (_EPOCH + timedelta(milliseconds=ms)).astimezone(tz),
        "event_time_ms": ms,
        "tz_offset": offset,
        "has_error_declaration": bool(flags & FLAG_ERROR_DECLARATION),
        "flags": flags,
    }


# --------------------------------------------------------------------------------------------
# Export


def export_document(
    events: Sequence[Mapping[str, Any]],
    *,
    creation_date: datetime | None = None,
    context: Sequence[str | Mapping[str, Any]] = (),
    validate: bool = True,
) -> dict[str, Any]:
    """Build an EPCIS 2.0 document whose ``eventList`` is ``events``, unchanged.

    Each event keeps the content hash it was anchored under. ``context`` adds JSON-LD context
    entries after :data:`EPCIS_CONTEXT` (the extension prefixes of the imported documents, e.g.
    ``{"example": "http://ns.example.com/epcis/"}``). ``creation_date`` defaults to now. With
    ``validate`` (the default) the document is checked with :func:`validate_document` before it
    is returned, so an export never produces what an import would refuse.
    """
    when = creation_date if creation_date is not None else datetime.now(UTC)
    extra = [entry for entry in context if entry != EPCIS_CONTEXT]
    doc: dict[str, Any] = {
        "@context": [EPCIS_CONTEXT, *extra] if extra else EPCIS_CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": format_time(when),
        "epcisBody": {"eventList": list(events)},
    }
    if validate:
        validate_document(doc, source="<export>")
    return doc


def dumps_document(doc: Mapping[str, Any]) -> str:
    """Serialise a document as indented UTF-8 JSON text (no NaN, no ASCII escaping), newline-terminated."""
    return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


# --------------------------------------------------------------------------------------------
# Building events from the command line


def _offset_text(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise InputError("a timestamp needs a time zone (an aware datetime)", value=value)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def object_event_document(
    subject: str,
    *,
    biz_step: str | None = None,
    disposition: str | None = None,
    action: str = "OBSERVE",
    read_point: str | None = None,
    biz_location: str | None = None,
    when: datetime | str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Build a valid EPCIS 2.0 document holding one ObjectEvent on ``subject``.

    For recording an event by hand (``o2ochain trace record``): ``subject`` is an EPC URN or a
    Digital Link; an item or container goes in ``epcList``, a lot or class in ``quantityList``.
    ``biz_step`` and ``disposition`` are CBV names (or CBV / other URIs), places a GLN, an SGLN,
    a ``/414/`` Digital Link, a ``geo:`` URI or another absolute URI, ``when`` an aware datetime or an RFC 3339 / ISO 8601 text with
    an offset (default: now, UTC). Each call gets a fresh ``urn:uuid`` event id unless
    ``event_id`` is given, so two recordings of the same step are two events.
    """
    found = parse_identifier(subject.strip())
    if isinstance(when, str):
        moment = _parse_time(when.strip())
        if moment is None:
            try:
                moment = datetime.fromisoformat(when.strip())
            except ValueError:
                raise InputError(f"{_short(when)} is not an ISO 8601 date-time", field="eventTime", value=when) from None
        if moment.tzinfo is None:
            raise InputError(f"{_short(when)} has no UTC offset (add Z or +hh:mm)", field="eventTime", value=when)
    else:
        moment = when if when is not None else datetime.now(UTC)
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": format_time(moment),
        "eventTimeZoneOffset": _offset_text(moment),
        "eventID": event_id or f"urn:uuid:{uuid.uuid4()}",
        "action": action,
    }
    if found.instance:
        event["epcList"] = [found.uri]
    else:
        event["quantityList"] = [{"epcClass": found.uri}]
    if biz_step:
        event["bizStep"] = biz_step_name(biz_step)
    if disposition:
        event["disposition"] = disposition_name(disposition)
    if read_point:
        event["readPoint"] = {"id": _location(read_point).uri}
    if biz_location:
        event["bizLocation"] = {"id": _location(biz_location).uri}
    return export_document([event])
