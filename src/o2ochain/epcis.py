"""GS1 EPCIS 2.0 in and out: validate a document, map its identifiers, hash and keep its events.

A supply-chain actor already speaks EPCIS 2.0 JSON / JSON-LD; o2ochain reads exactly that, so
nothing has to be re-keyed by hand, and writes it back, so that what a consumer checks is what
the actor sent. This module is the bridge between such a document and the chain:

- :func:`validate_document` checks a document against GS1's own JSON Schemas (shipped in
  ``o2ochain/epcis_schema``, resolved locally, never fetched) plus what EPCIS requires and the
  schema leaves out: RFC 3339 timestamps with a time zone, and identifiers of a known scheme.
  Every problem is an :class:`~o2ochain.errors.InputError` whose ``field`` is the JSON path
  (``$.epcisBody.eventList[1].eventTime``); all of them are raised together as
  :class:`~o2ochain.errors.InputErrors`, so a document is fixed in one round.
- :func:`parse_document` / :func:`load_document` read JSON or JSON-LD (UTF-8), validate, and
  return typed :class:`EpcisEvent` s whose identifiers are :class:`Subject` s: the same 32-byte
  ids the contracts use (``keccak256`` of the unescaped GS1 Digital Link path), whether the
  document spelt them as EPC URNs or as Digital Links.
- Each event's ``content_hash`` is the keccak-256 of its RFC 8785 canonical JSON: independent
  of key order and white space, so the hash anchored on chain can be recomputed from any copy.
  :class:`EventStore` keeps events content-addressed on disk and detects a tampered file.
- :func:`pack_meta` squeezes what a contract needs to see of an event (type, action, CBV codes,
  time) into one ``bytes32``; :data:`BIZ_STEPS` and :data:`DISPOSITIONS` fix the CBV codes.
- :func:`export_document` writes events back as an EPCIS 2.0 document that validates against
  the same schema, each event the very JSON value that was imported (same content hash).

Identifier mapping (subject id = ``keccak256`` of the canonical Digital Link path, unescaped):

=====================================================  ============  =============================
EPC URN / Digital Link                                 kind          hashed path
=====================================================  ============  =============================
``urn:epc:id:sgtin:CP.IR.S``, ``…/01/{gtin}/21/{S}``   item          ``/01/{gtin14}/21/{S}``
``urn:epc:class:lgtin:CP.IR.L``, ``…/01/{gtin}/10/L``  lot           ``/01/{gtin14}/10/{L}``
``urn:epc:idpat:sgtin:CP.IR.*``, ``…/01/{gtin}``       class         ``/01/{gtin14}``
``urn:epc:id:sscc:CP.SR``, ``…/00/{sscc}``             container     ``/00/{sscc18}``
``urn:epc:id:sgln:CP.LR.E``, ``…/414/{gln}[/254/E]``   location      ``/414/{gln13}[/254/{E}]``
GRAI, GIAI, GSRN(P), GDTI, SGCN, CPI, PGLN, GINC,      other-gs1     their Digital Link path
GSIN, ITIP, UPUI (URN or Digital Link), GMN (DL)
=====================================================  ============  =============================

Anything else where an object or a location is expected (``urn:foo:bar``, a web address that is
not a Digital Link, a ``geo:`` URI, a private URN) is refused as an unknown identifier scheme:
an id the chain cannot tie to a GS1 key would make a history no consumer can look up. Business
transactions, sources, destinations, event ids and certification URIs are free URIs and are
kept as given.
"""

from __future__ import annotations

import functools
import json
import os
import re
import struct
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, TypedDict, cast
from urllib.parse import quote, unquote

import rfc8785
from jsonschema import Draft7Validator, FormatChecker, validators  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT7

from o2ochain import gs1
from o2ochain._util import write_atomic
from o2ochain.errors import InputError, InputErrors

__all__ = [
    "ACTIONS",
    "BIZ_STEPS",
    "DISPOSITIONS",
    "EPCIS_CONTEXT",
    "EVENT_TYPES",
    "NON_CBV_CODE",
    "Action",
    "EpcisDocument",
    "EpcisEvent",
    "ErrorDeclaration",
    "EventStore",
    "EventSubject",
    "EventType",
    "Role",
    "Subject",
    "SubjectKind",
    "action_of_code",
    "biz_step_name",
    "biz_step_of_code",
    "canonical_json",
    "code_of_action",
    "code_of_biz_step",
    "code_of_disposition",
    "code_of_event_type",
    "content_hash",
    "disposition_name",
    "disposition_of_code",
    "dumps_document",
    "event_type_of_code",
    "export_document",
    "format_time",
    "load_document",
    "location_id",
    "object_event_document",
    "pack_meta",
    "parse_document",
    "parse_identifier",
    "parse_time",
    "unpack_meta",
    "validate_document",
]

EPCIS_CONTEXT: Final = "https://gs1.github.io/EPCIS/epcis-context-simple.jsonld"
"""The JSON-LD context of EPCIS 2.0 JSON documents, as GS1's examples and schemas use it."""

# --------------------------------------------------------------------------------------------
# Vocabularies: event types, actions, CBV 2.0 business steps and dispositions

EventType = Literal["ObjectEvent", "AggregationEvent", "TransformationEvent", "TransactionEvent", "AssociationEvent"]
Action = Literal["ADD", "OBSERVE", "DELETE"]
Role = Literal["epc", "quantity", "parent", "child", "input", "output"]
#: ``keccak256("o2ochain.trace.asset")``: the domain of asset chain ids (TRACE_ASSET_DOMAIN in
#: contracts/Types.sol).
TRACE_ASSET_DOMAIN: Final = bytes.fromhex("59a647154a900f8c9bd535b9965b9d718c223b42a52cd509dca906e984cc1c25")
SubjectKind = Literal["item", "lot", "class", "container", "location", "other-gs1"]

EVENT_TYPES: Final[tuple[EventType, ...]] = (
    "ObjectEvent",
    "AggregationEvent",
    "TransformationEvent",
    "TransactionEvent",
    "AssociationEvent",
)
"""The five EPCIS 2.0 event types; an event's code is its index (Object = 0 … Association = 4)."""

ACTIONS: Final[tuple[Action | None, ...]] = (None, "ADD", "OBSERVE", "DELETE")
"""Action codes: none (a TransformationEvent) = 0, ADD = 1, OBSERVE = 2, DELETE = 3."""

BIZ_STEPS: Final[tuple[str, ...]] = (
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "commissioning",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "receiving",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "retail_selling",
    "shipping",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
    "sensor_reporting",
    "sampling",
)
"""CBV 2.0 business steps in the order of GS1's EPCIS 2.0 JSON Schema (CBV 1.2 alphabetically,
then the steps CBV 2.0 added). The on-chain code of a step is its 1-based index here, so the
order is frozen: a later CBV's new steps are appended, never inserted."""

DISPOSITIONS: Final[tuple[str, ...]] = (
    "active",
    "container_closed",
    "damaged",
    "destroyed",
    "dispensed",
    "disposed",
    "encoded",
    "expired",
    "in_progress",
    "in_transit",
    "inactive",
    "no_pedigree_match",
    "non_sellable_other",
    "partially_dispensed",
    "recalled",
    "reserved",
    "retail_sold",
    "returned",
    "sellable_accessible",
    "sellable_not_accessible",
    "stolen",
    "unknown",
    "available",
    "completeness_verified",
    "completeness_inferred",
    "conformant",
    "container_open",
    "mismatch_instance",
    "mismatch_class",
    "mismatch_quantity",
    "needs_replacement",
    "non_conformant",
    "unavailable",
)
"""CBV 2.0 dispositions in the order of GS1's schema (CBV 1.2, then the 2.0 additions);
frozen like :data:`BIZ_STEPS`."""

NON_CBV_CODE: Final = 0xFFFF
"""The code of a business step or disposition that is a URI outside CBV (see the full event)."""

_BIZ_STEP_CODES: Final = {name: i for i, name in enumerate(BIZ_STEPS, start=1)}
_DISPOSITION_CODES: Final = {name: i for i, name in enumerate(DISPOSITIONS, start=1)}
_BIZ_STEP_PREFIXES: Final = (
    "urn:epcglobal:cbv:bizstep:",
    "https://ns.gs1.org/cbv/BizStep-",
    "http://ns.gs1.org/cbv/BizStep-",
    "https://ref.gs1.org/cbv/BizStep-",
    "https://gs1.org/voc/Bizstep-",
)
_DISPOSITION_PREFIXES: Final = (
    "urn:epcglobal:cbv:disp:",
    "https://ns.gs1.org/cbv/Disp-",
    "http://ns.gs1.org/cbv/Disp-",
    "https://ref.gs1.org/cbv/Disp-",
    "https://gs1.org/voc/Disposition-",
)


def _vocabulary_name(value: str, names: Mapping[str, int], prefixes: tuple[str, ...], label: str) -> str:
    """Return the CBV short name of ``value`` (a short name or a CBV URI), else the URI itself."""
    if value in names:
        return value
    for prefix in prefixes:
        if value.startswith(prefix) and value[len(prefix) :] in names:
            return value[len(prefix) :]
    if _is_uri(value):
        return value
    raise InputError(f"{value!r} is neither a CBV 2.0 {label} nor a URI", field=label.replace(" ", "_"), value=value)


def biz_step_name(value: str) -> str:
    """Return the CBV 2.0 short name of a business step (``shipping``) or a non-CBV URI unchanged.

    EPCIS 1.x URNs (``urn:epcglobal:cbv:bizstep:shipping``) and the CBV 2.0 web URIs
    (``https://ns.gs1.org/cbv/BizStep-shipping``) become their short name, so one step has one
    spelling on chain. A bare word that is not a CBV step is refused (it is usually a typo).
    """
    return _vocabulary_name(value, _BIZ_STEP_CODES, _BIZ_STEP_PREFIXES, "business step")


def disposition_name(value: str) -> str:
    """Return the CBV 2.0 short name of a disposition (``in_transit``) or a non-CBV URI unchanged."""
    return _vocabulary_name(value, _DISPOSITION_CODES, _DISPOSITION_PREFIXES, "disposition")


def code_of_biz_step(name: str | None) -> int:
    """Return the on-chain code of a business step: 1-based CBV index, 0 = none, 0xFFFF = a non-CBV URI."""
    if not name:
        return 0
    return _BIZ_STEP_CODES.get(biz_step_name(name), NON_CBV_CODE)


def code_of_disposition(name: str | None) -> int:
    """Return the on-chain code of a disposition: 1-based CBV index, 0 = none, 0xFFFF = a non-CBV URI."""
    if not name:
        return 0
    return _DISPOSITION_CODES.get(disposition_name(name), NON_CBV_CODE)


def _name_of_code(code: int, names: tuple[str, ...], label: str) -> str | None:
    if code in (0, NON_CBV_CODE):
        return None
    if 1 <= code <= len(names):
        return names[code - 1]
    raise InputError(f"{code} is not a {label} code (0, 1..{len(names)} or 0xFFFF)", field=label.replace(" ", "_"), value=code)


def biz_step_of_code(code: int) -> str | None:
    """Return the CBV business step of an on-chain code; ``None`` for 0 (none) and 0xFFFF (a URI
    outside CBV, which only the full off-chain event carries)."""
    return _name_of_code(code, BIZ_STEPS, "business step")


def disposition_of_code(code: int) -> str | None:
    """Return the CBV disposition of an on-chain code; ``None`` for 0 and 0xFFFF (see :func:`biz_step_of_code`)."""
    return _name_of_code(code, DISPOSITIONS, "disposition")


def code_of_event_type(event_type: str) -> int:
    """Return the code of an EPCIS event type (ObjectEvent = 0 … AssociationEvent = 4)."""
    try:
        return EVENT_TYPES.index(cast(EventType, event_type))
    except ValueError:
        raise InputError(f"{event_type!r} is not one of the five EPCIS 2.0 event types", field="type", value=event_type) from None


def event_type_of_code(code: int) -> EventType:
    """Return the EPCIS event type of a code (0..4)."""
    if not 0 <= code < len(EVENT_TYPES):
        raise InputError(f"{code} is not an event type code (0..4)", field="type", value=code)
    return EVENT_TYPES[code]


def code_of_action(action: str | None) -> int:
    """Return the code of an EPCIS action: none = 0, ADD = 1, OBSERVE = 2, DELETE = 3."""
    try:
        return ACTIONS.index(cast(Action | None, action))
    except ValueError:
        raise InputError(f"{action!r} is not an EPCIS action (ADD, OBSERVE, DELETE)", field="action", value=action) from None


def action_of_code(code: int) -> Action | None:
    """Return the EPCIS action of a code (0 = none, 1 = ADD, 2 = OBSERVE, 3 = DELETE)."""
    if not 0 <= code < len(ACTIONS):
        raise InputError(f"{code} is not an action code (0..3)", field="action", value=code)
    return ACTIONS[code]


# --------------------------------------------------------------------------------------------
# Time


_RFC3339: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_OFFSET: Final = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_time(text: str) -> datetime | None:
    """Parse an RFC 3339 date-time with a time zone; ``None`` if it is not one.

    Stricter than :meth:`datetime.fromisoformat`, which also takes dates without a time zone,
    week dates and other ISO 8601 forms that JSON Schema's ``date-time`` does not allow. A leap
    second (``:60``) is valid RFC 3339 and is read as the last microsecond of the minute.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction, zulu, sign, off_h, off_m = match.group(7, 8, 9, 10, 11)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if second == 60:
        second, micro = 59, 999_999
    if zulu:
        tz = UTC
    else:
        hours, minutes = int(off_h), int(off_m)
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-delta if sign == "-" else delta)
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None


def parse_time(value: str, *, field: str | None = None) -> datetime:
    """Parse an EPCIS timestamp (RFC 3339 with a time zone) into an aware datetime, or raise InputError."""
    parsed = _parse_time(value) if isinstance(value, str) else None
    if parsed is None:
        raise InputError(
            f"{_short(value)} is not an RFC 3339 date-time with a time zone (e.g. 2024-05-01T09:30:00.000+02:00)",
            field=field,
            value=value,
        )
    return parsed


def _parse_offset(text: str) -> int | None:
    """Return an ``eventTimeZoneOffset`` (``+02:00``) in minutes, or ``None`` if malformed or beyond ±14:00."""
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    if int(match.group(3)) > 59 or minutes > 14 * 60:
        return None
    return -minutes if match.group(1) == "-" else minutes


def format_time(value: datetime) -> str:
    """Render an aware datetime as an EPCIS timestamp: RFC 3339 with milliseconds, ``Z`` for UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError("a timestamp needs a time zone (an aware datetime)", value=value)
    text = value.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _unix_ms(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(milliseconds=1)


# --------------------------------------------------------------------------------------------
# Canonical JSON and content hashes


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 (JSON Canonicalization Scheme) encoding of ``value``.

    The same JSON value always gives the same bytes whatever its key order, white space or
    number spelling (``1.0`` and ``1``), so its hash can be recomputed from any copy. Values
    RFC 8785 cannot represent (integers beyond ±2**53, NaN, unpaired surrogates) are refused.
    """
    try:
        return rfc8785.dumps(value)
    except rfc8785.IntegerDomainError as exc:
        raise InputError(f"cannot canonicalise (RFC 8785): {exc}; integers must be within ±2**53 (I-JSON)") from None
    except rfc8785.FloatDomainError:
        raise InputError("cannot canonicalise (RFC 8785): a number is infinite or NaN, which JSON cannot carry") from None
    except (rfc8785.CanonicalizationError, UnicodeError, TypeError, ValueError) as exc:
        raise InputError(f"cannot canonicalise (RFC 8785): {exc}") from None
    except RecursionError:
        raise InputError("JSON value nested too deeply") from None


def content_hash(event_json: Any) -> bytes:
    """Return ``keccak256`` of the RFC 8785 canonical JSON of an event: its on-chain content hash."""
    return gs1.keccak256(canonical_json(event_json))


# --------------------------------------------------------------------------------------------
# Identifiers


@dataclass(frozen=True, slots=True)
class Subject:
    """A GS1-keyed thing an event is about, or a location, with the id the contracts use.

    ``id`` is ``keccak256(dl_path)``; ``dl_path`` is the canonical GS1 Digital Link path with
    values unescaped (``/01/09506000134352/21/ABC``), the same whether the document wrote an EPC
    URN or a Digital Link, so both spellings name one subject on chain. Compare subjects by
    ``id``: ``uri`` keeps the spelling the document used.

    ``gtin`` is set for GTIN-based keys (item, lot, class, ITIP, UPUI); ``code`` is the part
    that makes the key an instance or a lot: the serial, the lot, the SSCC of a container, the
    GLN extension of a location (``None`` when the extension is ``0``), an asset's serial.
    ``elements`` are the (AI, value) pairs of the path, primary key first. ``instance`` is
    false for class-level identifiers (a GTIN, a lot, a GRAI without serial, ...), which EPCIS
    allows only in quantity lists.
    """

    kind: SubjectKind
    id: bytes
    gtin: str | None
    code: str | None
    uri: str
    dl_path: str
    elements: tuple[tuple[str, str], ...]
    instance: bool

    @property
    def ai(self) -> str:
        """The GS1 Application Identifier of the primary key (``01``, ``00``, ``414``, ``8003`` …)."""
        return self.elements[0][0]

    @property
    def chain_subject(self) -> bytes:
        """The id of this subject's own chain in the TraceLedger: ``id`` for an item, lot, product
        class or container (the ledger recomputes them from their binding); for an asset, a
        document or a location (binding kind 5) ``keccak256(abi.encode(TRACE_ASSET_DOMAIN, id))``,
        an id space of its own, so that no brand can start such a chain on another brand's goods.
        ``id`` stays what events name (read points, business locations, children)."""
        if self.kind in ("location", "other-gs1"):
            return gs1.keccak256(TRACE_ASSET_DOMAIN + self.id)
        return self.id

    @property
    def key(self) -> str:
        """The value of the primary key (a GTIN-14, an SSCC-18, a GLN-13 …)."""
        return self.elements[0][1]

    @property
    def id_hex(self) -> str:
        """The id as ``0x`` + 64 hex digits."""
        return "0x" + self.id.hex()

    def digital_link(self, resolver: str = gs1.DEFAULT_RESOLVER) -> str:
        """Render the subject as a GS1 Digital Link under ``resolver`` (values percent-encoded)."""
        base = gs1.check_resolver(resolver)
        return base + "".join(f"/{ai}/{quote(value, safe='')}" for ai, value in self.elements)


def _subject(
    kind: SubjectKind,
    uri: str,
    elements: tuple[tuple[str, str], ...],
    *,
    gtin: str | None = None,
    code: str | None = None,
    instance: bool = True,
) -> Subject:
    path = "".join(f"/{ai}/{value}" for ai, value in elements)
    return Subject(
        kind=kind,
        id=gs1.keccak256(path.encode("utf-8")),
        gtin=gtin,
        code=code,
        uri=uri,
        dl_path=path,
        elements=elements,
        instance=instance,
    )


_DIGITS_RE: Final = re.compile(r"[0-9]+")
_CP_RE: Final = re.compile(r"[0-9]{6,12}")
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CPID_CHARS: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ#-/")
_EPC_URN: Final = re.compile(r"urn:epc:(id|class|idpat):([A-Za-z0-9]+):(.*)", re.IGNORECASE | re.DOTALL)
_NON_GS1_EPC: Final = frozenset({"gid", "usdod", "adi", "bic", "imovn"})


def _decode_escapes(text: str, what: str) -> str:
    """Decode ``%xx`` escapes (EPC URN and Digital Link values); a stray ``%`` is an error."""
    if "%" not in text:
        return text
    if _BAD_ESCAPE.search(text):
        raise InputError(f"{what} has a '%' that is not followed by two hex digits", value=text)
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise InputError(f"{what} has %-escapes that are not UTF-8", value=text) from None


def _x_chars(value: str, what: str, max_length: int) -> str:
    """Check a GS1 alphanumeric value: 1..max_length characters of GS1 character set 82."""
    if not value:
        raise InputError(f"{what} is empty", value=value)
    bad = next((c for c in value if c not in gs1.GS1_CHARSET_82), None)
    if bad is not None:
        raise InputError(f"{what} has {bad!r}, which is not in GS1 character set 82", value=value)
    if len(value) > max_length:
        raise InputError(f"{what} is {len(value)} characters, at most {max_length} allowed", value=value)
    return value


def _n_chars(value: str, what: str, length: int | None = None, max_length: int | None = None) -> str:
    """Check a GS1 numeric value: exactly ``length`` digits, or 1..``max_length`` digits."""
    if _DIGITS_RE.fullmatch(value) is None:
        raise InputError(f"{what} must be digits, got {_short(value)}", value=value)
    if length is not None and len(value) != length:
        raise InputError(f"{what} must be {length} digits, got {len(value)}", value=value)
    if max_length is not None and len(value) > max_length:
        raise InputError(f"{what} must be at most {max_length} digits, got {len(value)}", value=value)
    return value


def _with_check_digit(body: str) -> str:
    return body + str(gs1.gtin_check_digit(body))


def _check_key(value: str, what: str, length: int) -> str:
    """Check a numeric GS1 key whose last digit is a mod-10 check digit (SSCC, GLN, GSRN …)."""
    _n_chars(value, what, length)
    expected = gs1.gtin_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise InputError(f"{what} check digit should be {expected}, got {value[-1]}", value=value)
    return value


def _epc_fields(body: str, count: int, scheme: str) -> list[str]:
    """Split an EPC URN body at dots into ``count`` fields; the last may itself contain dots."""
    fields = body.split(".", count - 1)
    if len(fields) != count:
        raise InputError(f"an EPC {scheme} URN has {count} dot-separated fields after 'urn:epc:…:{scheme}:'", value=body)
    return fields


def _company_prefix(cp: str, rest: str, total: int, scheme: str) -> None:
    """Check a GS1 Company Prefix (6..12 digits) and that it and ``rest`` are ``total`` digits together."""
    if _CP_RE.fullmatch(cp) is None:
        raise InputError(f"the GS1 Company Prefix of an EPC {scheme} must be 6 to 12 digits, got {_short(cp)}", value=cp)
    if (rest and _DIGITS_RE.fullmatch(rest) is None) or len(cp) + len(rest) != total:
        raise InputError(
            f"in an EPC {scheme}, the company prefix and the reference after it must be {total} digits together, got {_short(cp + '.' + rest)}",
            value=rest,
        )


def _gtin_from_epc(cp: str, item_ref: str, scheme: str) -> str:
    """Rebuild a GTIN-14 from an EPC's company prefix and item reference (indicator digit first)."""
    _company_prefix(cp, item_ref, 13, scheme)
    return _with_check_digit(item_ref[0] + cp + item_ref[1:])


def _parse_epc_urn(uri: str, match: re.Match[str]) -> Subject:
    """Map an EPC pure-identity, class or pattern URN (EPC Tag Data Standard 2.x) to a Subject."""
    family, scheme, body = match.group(1).lower(), match.group(2).lower(), match.group(3)
    if family == "id":
        if scheme == "sgtin":
            cp, ir, serial = _epc_fields(body, 3, scheme)
            gtin = _gtin_from_epc(cp, ir, scheme)
            serial = gs1.validate_serial(_decode_escapes(serial, "serial"))
            return _subject("item", uri, (("01", gtin), ("21", serial)), gtin=gtin, code=serial)
        if scheme == "sscc":
            cp, sr = _epc_fields(body, 2, scheme)
            _company_prefix(cp, sr, 17, scheme)
            sscc = _with_check_digit(sr[0] + cp + sr[1:])
            return _subject("container", uri, (("00", sscc),), code=sscc)
        if scheme == "sgln":
            cp, lr, ext = _epc_fields(body, 3, scheme)
            _company_prefix(cp, lr, 12, scheme)
            gln = _with_check_digit(cp + lr)
            ext = _x_chars(_decode_escapes(ext, "GLN extension"), "GLN extension", 20)
            if ext == "0":
                return _subject("location", uri, (("414", gln),))
            return _subject("location", uri, (("414", gln), ("254", ext)), code=ext)
        if scheme == "grai":
            cp, asset_type, serial = _epc_fields(body, 3, scheme)
            _company_prefix(cp, asset_type, 12, scheme)
            serial = _x_chars(_decode_escapes(serial, "GRAI serial"), "GRAI serial", 16)
            return _subject("other-gs1", uri, (("8003", _with_check_digit("0" + cp + asset_type) + serial),), code=serial)
        if scheme == "giai":
            cp, asset_ref = _epc_fields(body, 2, scheme)
            _company_prefix(cp, "", len(cp), scheme)
            giai = _x_chars(cp + _decode_escapes(asset_ref, "GIAI asset reference"), "GIAI", 30)
            return _subject("other-gs1", uri, (("8004", giai),))
        if scheme in ("gsrn", "gsrnp"):
            cp, ref = _epc_fields(body, 2, scheme)
            _company_prefix(cp, ref, 17, scheme)
            return _subject("other-gs1", uri, (("8018" if scheme == "gsrn" else "8017", _with_check_digit(cp + ref)),))
        if scheme == "gdti":
            cp, doc_type, serial = _epc_fields(body, 3, scheme)
            _company_prefix(cp, doc_type, 12, scheme)
            serial = _x_chars(_decode_escapes(serial, "GDTI serial"), "GDTI serial", 17)
            return _subject("other-gs1", uri, (("253", _with_check_digit(cp + doc_type) + serial),), code=serial)
        if scheme == "sgcn":
            cp, coupon_ref, serial = _epc_fields(body, 3, scheme)
            _company_prefix(cp, coupon_ref, 12, scheme)
            _n_chars(serial, "SGCN serial", max_length=12)
            return _subject("other-gs1", uri, (("255", _with_check_digit(cp + coupon_ref) + serial),), code=serial)
        if scheme == "cpi":
            cp, part_ref, serial = _epc_fields(body, 3, scheme)
            _company_prefix(cp, "", len(cp), scheme)
            cpid = cp + _decode_escapes(part_ref, "CPI part reference")
            if not part_ref or len(cpid) > 30 or any(c not in _CPID_CHARS for c in cpid):
                raise InputError(
                    "a CPI part reference is digits, capitals, '#', '-' and '/', at most 30 characters with the prefix", value=body
                )
            _n_chars(serial, "CPI serial", max_length=12)
            return _subject("other-gs1", uri, (("8010", cpid), ("8011", serial)), code=serial)
        if scheme == "pgln":
            cp, party_ref = _epc_fields(body, 2, scheme)
            _company_prefix(cp, party_ref, 12, scheme)
            return _subject("other-gs1", uri, (("417", _with_check_digit(cp + party_ref)),))
        if scheme == "ginc":
            cp, ref = _epc_fields(body, 2, scheme)
            _company_prefix(cp, "", len(cp), scheme)
            return _subject("other-gs1", uri, (("401", _x_chars(cp + _decode_escapes(ref, "GINC reference"), "GINC", 30)),))
        if scheme == "gsin":
            cp, ref = _epc_fields(body, 2, scheme)
            _company_prefix(cp, ref, 16, scheme)
            return _subject("other-gs1", uri, (("402", _with_check_digit(cp + ref)),))
        if scheme == "itip":
            cp, ir, piece, total, serial = _epc_fields(body, 5, scheme)
            gtin = _gtin_from_epc(cp, ir, scheme)
            _n_chars(piece, "ITIP piece number", 2)
            _n_chars(total, "ITIP total count", 2)
            serial = gs1.validate_serial(_decode_escapes(serial, "serial"))
            return _subject("other-gs1", uri, (("8006", gtin + piece + total), ("21", serial)), gtin=gtin, code=serial)
        if scheme == "upui":
            cp, ir, tpx = _epc_fields(body, 3, scheme)
            gtin = _gtin_from_epc(cp, ir, scheme)
            tpx = _x_chars(_decode_escapes(tpx, "UPUI third-party serial"), "UPUI third-party serial", 28)
            return _subject("other-gs1", uri, (("01", gtin), ("235", tpx)), gtin=gtin, code=tpx)
    elif family == "class" and scheme == "lgtin":
        cp, ir, lot = _epc_fields(body, 3, scheme)
        gtin = _gtin_from_epc(cp, ir, scheme)
        lot = gs1.validate_lot(_decode_escapes(lot, "lot"))
        return _subject("lot", uri, (("01", gtin), ("10", lot)), gtin=gtin, code=lot, instance=False)
    elif family == "idpat":
        return _parse_epc_pattern(uri, scheme, body)
    if scheme in _NON_GS1_EPC:
        raise InputError(f"EPC scheme {scheme!r} has no GS1 key (no Digital Link form) and is not supported", value=uri)
    raise InputError(f"unknown identifier scheme: 'urn:epc:{family}:{scheme}' is not an EPC scheme o2ochain can map", value=uri)


def _parse_epc_pattern(uri: str, scheme: str, body: str) -> Subject:
    """Map an EPC pattern URN that names a whole class (``urn:epc:idpat:sgtin:CP.IR.*``).

    Wider patterns (``CP.*.*``: everything of a company) name no one class and are refused.
    """
    if "*" in body.rsplit(".", 1)[0] or not body.endswith(".*"):
        raise InputError(
            "only EPC patterns that name one class are supported (urn:epc:idpat:sgtin:CP.IR.* and the GRAI, GDTI, SGCN, CPI, ITIP equivalents)",
            value=uri,
        )
    if scheme == "sgtin":
        cp, ir, star = _epc_fields(body, 3, scheme)
        if star == "*":
            gtin = _gtin_from_epc(cp, ir, scheme)
            return _subject("class", uri, (("01", gtin),), gtin=gtin, instance=False)
    elif scheme in ("grai", "gdti", "sgcn"):
        cp, ref, star = _epc_fields(body, 3, scheme)
        if star == "*":
            _company_prefix(cp, ref, 12, scheme)
            key = _with_check_digit(("0" if scheme == "grai" else "") + cp + ref)
            ai = {"grai": "8003", "gdti": "253", "sgcn": "255"}[scheme]
            return _subject("other-gs1", uri, ((ai, key),), instance=False)
    elif scheme == "cpi":
        cp, part_ref, star = _epc_fields(body, 3, scheme)
        if star == "*" and part_ref != "*":
            return _subject("other-gs1", uri, (("8010", cp + _decode_escapes(part_ref, "CPI part reference")),), instance=False)
    elif scheme == "itip":
        cp, ir, piece, total, star = _epc_fields(body, 5, scheme)
        if star == "*":
            gtin = _gtin_from_epc(cp, ir, scheme)
            _n_chars(piece, "ITIP piece number", 2)
            _n_chars(total, "ITIP total count", 2)
            return _subject("other-gs1", uri, (("8006", gtin + piece + total),), gtin=gtin, instance=False)
    raise InputError(
        "only EPC patterns that name one class are supported (urn:epc:idpat:sgtin:CP.IR.* and the GRAI, GDTI, SGCN, CPI, ITIP equivalents)",
        value=uri,
    )


# Digital Link primary keys other than the GTIN, with the key qualifiers each may carry.
_DL_PRIMARY: Final[dict[str, tuple[str, ...]]] = {
    "00": (),
    "414": ("254",),
    "417": (),
    "8003": (),
    "8004": (),
    "8006": ("10", "21"),
    "8010": ("8011",),
    "8013": (),
    "8017": (),
    "8018": (),
    "253": (),
    "255": (),
    "401": (),
    "402": (),
}
_GTIN_KEYS: Final = frozenset({"01", "gtin"})


def _dl_candidates(uri: str) -> tuple[list[str], list[int]] | None:
    """Split an http(s) URI's path and find where a GS1 primary key could start; ``None`` if not DL-shaped."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    rest = rest.split("#", 1)[0].split("?", 1)[0]
    _authority, slash, path = rest.partition("/")
    if not slash:
        return None
    segments = path.split("/")
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()
    candidates = [
        i
        for i, segment in enumerate(segments)
        if (segment in _DL_PRIMARY or segment.lower() in _GTIN_KEYS) and (len(segments) - i) % 2 == 0
    ]
    return (segments, candidates) if candidates else None


def _parse_dl_gtin(uri: str, segments: list[str]) -> Subject:
    """Map a Digital Link on a GTIN (items, lots, classes) with :func:`gs1.parse_digital_link`.

    Going through gs1 keeps one reading of a Digital Link across o2ochain: the QR code a
    shopper scans and the EPCIS event that mentions it name the same item. The one EPC form
    gs1 does not read, ``/01/{gtin}/235/{tpx}`` (UPUI), is handled here.
    """
    if len(segments) == 4 and segments[2] == "235":
        gtin = gs1.normalize_gtin(_decode_escapes(segments[1], "GTIN"))
        tpx = _x_chars(_decode_escapes(segments[3], "UPUI third-party serial"), "UPUI third-party serial", 28)
        return _subject("other-gs1", uri, (("01", gtin), ("235", tpx)), gtin=gtin, code=tpx)
    link = gs1.parse_digital_link(uri)
    if link.serial is not None:
        return _subject("item", uri, (("01", link.gtin), ("21", link.serial)), gtin=link.gtin, code=link.serial)
    if link.lot is not None:
        return _subject("lot", uri, (("01", link.gtin), ("10", link.lot)), gtin=link.gtin, code=link.lot, instance=False)
    return _subject("class", uri, (("01", link.gtin),), gtin=link.gtin, instance=False)


def _parse_dl_key(uri: str, pairs: list[tuple[str, str]]) -> Subject:
    """Map a Digital Link on a GS1 key other than the GTIN (``pairs`` = decoded (AI, value), primary first)."""
    ai, value = pairs[0]
    qualifiers = dict(pairs[1:])
    if ai == "00":
        sscc = _check_key(value, "SSCC", 18)
        return _subject("container", uri, (("00", sscc),), code=sscc)
    if ai == "414":
        gln = _check_key(value, "GLN", 13)
        ext = qualifiers.get("254")
        if ext is None or ext == "0":
            return _subject("location", uri, (("414", gln),))
        return _subject("location", uri, (("414", gln), ("254", _x_chars(ext, "GLN extension", 20))), code=ext)
    if ai == "417":
        return _subject("other-gs1", uri, (("417", _check_key(value, "party GLN", 13)),))
    if ai == "8003":
        if len(value) < 14 or value[0] != "0":
            raise InputError("a GRAI (AI 8003) starts with 0 and 13 digits ending in a check digit", value=value)
        _check_key(value[:14], "GRAI", 14)
        serial = value[14:]
        if serial:
            _x_chars(serial, "GRAI serial", 16)
        return _subject("other-gs1", uri, (("8003", value),), code=serial or None, instance=bool(serial))
    if ai in ("8004", "401"):
        return _subject("other-gs1", uri, ((ai, _x_chars(value, "GIAI" if ai == "8004" else "GINC", 30)),))
    if ai in ("8017", "8018"):
        return _subject("other-gs1", uri, ((ai, _check_key(value, "GSRN", 18)),))
    if ai == "253":
        _check_key(value[:13], "GDTI", 13)
        serial = value[13:]
        if serial:
            _x_chars(serial, "GDTI serial", 17)
        return _subject("other-gs1", uri, (("253", value),), code=serial or None, instance=bool(serial))
    if ai == "255":
        _check_key(value[:13], "GCN", 13)
        serial = value[13:]
        if serial:
            _n_chars(serial, "GCN serial", max_length=12)
        return _subject("other-gs1", uri, (("255", value),), code=serial or None, instance=bool(serial))
    if ai == "402":
        return _subject("other-gs1", uri, (("402", _check_key(value, "GSIN", 17)),))
    if ai == "8006":
        _n_chars(value, "ITIP", 18)
        gtin = gs1.normalize_gtin(value[:14], field="itip")
        piece_serial = qualifiers.get("21")
        if piece_serial is None:
            return _subject("other-gs1", uri, (("8006", value),), gtin=gtin, instance=False)
        gs1.validate_serial(piece_serial)
        return _subject("other-gs1", uri, (("8006", value), ("21", piece_serial)), gtin=gtin, code=piece_serial)
    if ai == "8010":
        if len(value) > 30 or any(c not in _CPID_CHARS for c in value):
            raise InputError("a CPID (AI 8010) is digits, capitals, '#', '-' and '/', at most 30 characters", value=value)
        cpi_serial = qualifiers.get("8011")
        if cpi_serial is None:
            return _subject("other-gs1", uri, (("8010", value),), instance=False)
        _n_chars(cpi_serial, "CPI serial", max_length=12)
        return _subject("other-gs1", uri, (("8010", value), ("8011", cpi_serial)), code=cpi_serial)
    if ai == "8013":
        return _subject("other-gs1", uri, (("8013", _x_chars(value, "GMN", 25)),), instance=False)
    raise AssertionError(ai)  # pragma: no cover - _DL_PRIMARY and this function list the same keys


def _parse_digital_link(uri: str, segments: list[str], candidates: list[int]) -> Subject:
    """Map a GS1 Digital Link URI; try each place a primary key could start, first success wins."""
    first_error: InputError | None = None
    for start in candidates:
        tail = segments[start:]
        try:
            if tail[0].lower() in _GTIN_KEYS:
                return _parse_dl_gtin(uri, tail)
            allowed = _DL_PRIMARY[tail[0]]
            pairs = [(tail[k], _decode_escapes(tail[k + 1], f"AI {tail[k]}")) for k in range(0, len(tail), 2)]
            seen: set[str] = set()
            for ai, value in pairs[1:]:
                if ai not in allowed or ai in seen:
                    raise InputError(f"AI {ai} cannot follow AI {tail[0]} in a Digital Link path", value=uri)
                if not value:
                    raise InputError(f"AI {ai} has an empty value", value=uri)
                seen.add(ai)
            if not pairs[0][1]:
                raise InputError(f"AI {tail[0]} has an empty value", value=uri)
            return _parse_dl_key(uri, pairs)
        except InputError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise InputError(f"not a valid GS1 Digital Link: {first_error.message}", value=uri) from None


@functools.lru_cache(maxsize=65536)
def parse_identifier(uri: str) -> Subject:
    """Map an EPC URN or a GS1 Digital Link URI to a :class:`Subject`, or raise InputError.

    See the module docstring for the schemes. Results are cached: a document of 10,000 events
    usually names the same locations and lots over and over.
    """
    if not isinstance(uri, str):
        raise InputError(f"an identifier must be a string, got {type(uri).__name__}", value=uri)
    match = _EPC_URN.fullmatch(uri)
    if match is not None:
        return _parse_epc_urn(uri, match)
    found = _dl_candidates(uri)
    if found is not None:
        return _parse_digital_link(uri, *found)
    raise InputError(
        f"unknown identifier scheme: {_short(uri)} is neither an EPC URN (urn:epc:…) nor a GS1 Digital Link (https://…/01/…)",
        value=uri,
    )


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


# --------------------------------------------------------------------------------------------
# JSON Schema validation


_URI_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]*")
_JSONLD_ALIASES: Final = frozenset({"id"})
_SCHEMA_ROOT_ID: Final = "https://gs1.github.io/EPCIS/JSON-Schema/EPCIS-JSON-Schema.json"
_SCHEMA_EVENT_REF: Final = "https://gs1.github.io/EPCIS/JSON-Schema/EPCIS-Event-JSON-Schema.json#/definitions/EPCIS-Document-Event"
_MEMO_LIMIT: Final = 1 << 16
_memo: dict[tuple[int, int, str], bool] = {}


def _is_uri(value: str) -> bool:
    """Is ``value`` an absolute URI (or IRI) or a JSON-LD blank node (``_:b0``)?

    Deliberately lenient: a scheme, then no white space, controls or characters RFC 3986 never
    allows, and well-formed ``%xx`` escapes. Strict enough to tell ``shiping`` (a typo) from a
    vocabulary URI and ``bizstep`` (a misspelt field) from an extension field ``example:x``.
    """
    if value.startswith("_:"):
        return len(value) > 2
    return _URI_RE.fullmatch(value) is not None and _BAD_ESCAPE.search(value) is None


def _is_date_time(instance: object) -> bool:
    return not isinstance(instance, str) or _parse_time(instance) is not None


def _is_uri_format(instance: object) -> bool:
    return not isinstance(instance, str) or _is_uri(instance)


_FORMATS: Final = FormatChecker(formats=())
"""Only the two formats EPCIS depends on are asserted, each with our own checker: ``date-time``
(RFC 3339 with a time zone) and ``uri`` (lenient, see :func:`_is_uri`). jsonschema's own would
depend on optional packages being installed, so the same document could pass on one machine and
fail on another."""
_FORMATS.checks("date-time")(_is_date_time)
_FORMATS.checks("uri")(_is_uri_format)


def _remember(key: tuple[int, int, str]) -> None:
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
    _memo[key] = True


_ANY_OF: Final[Callable[..., Iterator[Any]]] = Draft7Validator.VALIDATORS["anyOf"]


def _any_of(validator: Any, any_of: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """``anyOf``, remembering which strings passed which subschema.

    Most ``anyOf`` in the EPCIS schemas test a string (a CBV value or a URI, a field name or an
    extension URI); the same few strings come back in every event, and remembering them makes
    validating 10,000 events more than twice as fast. Only successes are remembered: a failure is
    re-validated so that its error carries a fresh path.
    """
    if not isinstance(instance, str):
        yield from _ANY_OF(validator, any_of, instance, schema)
        return
    key = (id(validator.format_checker), id(any_of), instance)
    if key in _memo:
        return
    errors = list(_ANY_OF(validator, any_of, instance, schema))
    if errors:
        yield from errors
    else:
        _remember(key)


def _property_names(validator: Any, property_names: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """``propertyNames``, remembered like :func:`_any_of`, with two allowances.

    With the ``uri`` format asserted, a field name must be an EPCIS field or a URI, which
    catches misspelt fields (``bizstep``). Two kinds of name GS1's examples use, and GS1's own
    validation (which does not assert formats) lets through, are accepted all the same: ``id``,
    which the EPCIS JSON-LD context aliases to ``@id``, and a standard event field on an event
    type that does not define it (``persistentDisposition`` on an AggregationEvent); the latter
    is kept in the event, not interpreted, and reported in :attr:`EpcisDocument.notes`.
    """
    if not isinstance(instance, dict):
        return
    for name in instance:
        if name in _JSONLD_ALIASES:
            continue
        key = (id(validator.format_checker), id(property_names), name)
        if key in _memo:
            continue
        if name in _schemas().all_fields:
            continue
        errors = list(validator.descend(instance=name, schema=property_names))
        if errors:
            yield from errors
        else:
            _remember(key)


_Validator: Final = validators.extend(Draft7Validator, {"anyOf": _any_of, "propertyNames": _property_names})


def _load_schemas() -> list[dict[str, Any]]:
    """Read the GS1 schemas shipped in ``o2ochain/epcis_schema`` (root and ``schemas/``)."""
    folder = resources.files("o2ochain").joinpath("epcis_schema")
    found: list[dict[str, Any]] = []
    for directory in (folder, folder.joinpath("schemas")):
        for entry in sorted(directory.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".json"):
                found.append(json.loads(entry.read_text(encoding="utf-8")))
    return found


def _inline(node: Any, resolver: Any, stop: int, memo: dict[int, Any], stack: tuple[int, ...]) -> Any:
    """Replace every ``$ref`` by the schema it points to, resolved with ``referencing``.

    jsonschema resolves a ``$ref`` anew at every use, which is half of its time on EPCIS
    events; the GS1 schemas are not recursive, so resolving them once gives an equivalent
    schema without references (draft-07 ignores a ``$ref``'s siblings, so replacing the object
    is exact). The subschema whose contents are ``stop`` (the per-event schema) becomes ``{}``
    so that the envelope of a document is validated without its events, which are validated
    one by one, each error prefixed with its event's path.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            resolved = resolver.lookup(ref)
            target = resolved.contents
            if id(target) == stop:
                return {}
            if id(target) in stack:
                raise AssertionError(f"recursive $ref {ref}")  # pragma: no cover - GS1's schemas are not recursive
            if id(target) not in memo:
                memo[id(target)] = _inline(target, resolved.resolver, stop, memo, (*stack, id(target)))
            return memo[id(target)]
        return {
            k: (v if k in ("enum", "const") else _inline(v, resolver, stop, memo, stack))
            for k, v in node.items()
            if k not in ("$id", "$schema")
        }
    if isinstance(node, list):
        return [_inline(v, resolver, stop, memo, stack) for v in node]
    return node


def _enum_strings(node: Any) -> Iterator[str]:
    """Every string of every ``enum`` under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            else:
                yield from _enum_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enum_strings(value)


@dataclass(frozen=True)
class _Schemas:
    """The GS1 schemas made ready to use (built once by :func:`_schemas`).

    ``envelope`` validates a document without its events; ``event`` validates one event of any
    type, ``by_type`` one event of a standard type (the same subschema GS1's ``if`` chain picks,
    chosen by ``type`` directly, which saves a third of the time per event). ``fields`` are the field
    names each event type defines, ``all_fields`` their union.
    """

    envelope: Any
    event: Any
    by_type: Mapping[str, Any]
    fields: Mapping[str, frozenset[str]]
    all_fields: frozenset[str]


@functools.cache
def _schemas() -> _Schemas:
    """Load and prepare the shipped GS1 schemas (see :class:`_Schemas`)."""
    schemas = _load_schemas()
    registry: Registry[Any] = Registry().with_resources((schema["$id"], DRAFT7.create_resource(schema)) for schema in schemas)
    resolver = registry.resolver()
    root = resolver.lookup(_SCHEMA_ROOT_ID)
    event = resolver.lookup(_SCHEMA_EVENT_REF)
    memo: dict[int, Any] = {}
    event_schema = _inline(event.contents, event.resolver, stop=-1, memo=memo, stack=())
    envelope_schema = _inline(root.contents, root.resolver, stop=id(event.contents), memo={}, stack=())
    empty: Registry[Any] = Registry()
    fields: dict[str, frozenset[str]] = {}
    by_type: dict[str, Any] = {}
    for name in EVENT_TYPES:
        found = root.resolver.lookup(f"schemas/{name}-JSON-Schema.json#/definitions/{name}")
        inlined = _inline(found.contents, found.resolver, stop=-1, memo=memo, stack=())
        by_type[name] = _Validator(inlined, format_checker=_FORMATS, registry=empty)
        names = {
            v
            for part in inlined["allOf"]
            if isinstance(part, dict) and "propertyNames" in part
            for v in _enum_strings(part["propertyNames"])
        }
        fields[name] = frozenset(names)
    return _Schemas(
        envelope=_Validator(envelope_schema, format_checker=_FORMATS, registry=empty),
        event=_Validator(event_schema, format_checker=_FORMATS, registry=empty),
        by_type=by_type,
        fields=fields,
        all_fields=frozenset().union(*fields.values()),
    )


def _child(path: str, key: str | int) -> str:
    """Extend a JSONPath: ``$.a`` + ``b`` → ``$.a.b``; + ``1`` → ``$.a[1]``; + ``@x`` → ``$.a['@x']``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{escaped}']"


def _path_of(base: str, parts: Sequence[str | int]) -> str:
    path = base
    for part in parts:
        path = _child(path, part)
    return path


def _short(value: Any, limit: int = 60) -> str:
    """A value as it would appear in JSON, cut short for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_JSON_TYPES: Final[dict[type, str]] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def _leaves(error: Any) -> Iterator[Any]:
    if error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


def _describe(error: Any, base: str) -> tuple[str, str]:
    """Turn a jsonschema error into (JSON path, short message for a person)."""
    path = _path_of(base, list(error.absolute_path))
    kind = error.validator
    instance = error.instance
    if "propertyNames" in error.schema_path:
        return _child(path, str(instance)), (
            f"unknown property {_short(instance)}: not an EPCIS field here, and an extension field must be a URI or a prefixed name such as example:myField"
        )
    if kind == "required":
        found = re.match(r"^'(.*)' is a required property$", error.message)
        name = found.group(1) if found else str(error.validator_value)
        return _child(path, name), "required property is missing"
    if kind == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return path, f"must be of type {expected_text}, got {_JSON_TYPES.get(type(instance), type(instance).__name__)}"
    if kind == "enum":
        options = [str(v) for v in error.validator_value]
        shown = ", ".join(options[:8]) + (", …" if len(options) > 8 else "")
        return path, f"{_short(instance)} is not one of {shown}"
    if kind == "format":
        if error.validator_value == "date-time":
            return path, f"{_short(instance)} is not an RFC 3339 date-time with a time zone (e.g. 2024-05-01T09:30:00.000+02:00)"
        return path, f"{_short(instance)} is not a {error.validator_value}"
    if kind == "pattern":
        if path.endswith(".eventTimeZoneOffset"):
            return path, f"{_short(instance)} is not a time zone offset ±hh:mm between -14:00 and +14:00"
        return path, f"{_short(instance)} does not match the pattern {error.validator_value}"
    if kind == "not":
        return path, "is not allowed here" + (" (ilmd is only allowed when action is ADD)" if path.endswith(".ilmd") else "")
    if kind in ("minItems", "maxItems", "uniqueItems", "additionalProperties", "minimum", "maximum"):
        return path, error.message if len(error.message) <= 200 else f"{kind} constraint failed"
    if kind in ("anyOf", "oneOf") and error.context:
        leaves = list(_leaves(error))
        if isinstance(instance, str) and any(leaf.validator == "enum" for leaf in leaves):
            enum = next(leaf.validator_value for leaf in leaves if leaf.validator == "enum")
            return path, f"{_short(instance)} is neither a CBV 2.0 value ({', '.join(map(str, enum[:4]))}, …) nor a URI"
        if all(leaf.validator == "required" for leaf in leaves):
            names = list(dict.fromkeys(re.sub(r"^'(.*)' is a required property$", r"\1", leaf.message) for leaf in leaves))
            return path, "needs one of: " + ", ".join(names)
        return _describe(best_match(error.context), base)
    message = error.message
    return path, message if len(message) <= 200 else message[:199] + "…"


def _schema_errors(validator: Any, instance: Any, base: str, source: str) -> list[InputError]:
    """Validate ``instance`` and describe each error once, at its JSON path under ``base``.

    An ``anyOf`` that failed only because of a value already reported on its own (an action
    ``MOVE`` fails both the action enum and the "ilmd only with ADD" alternatives) is not
    reported a second time: one fault, one message.
    """
    described: list[tuple[str, str, frozenset[str], Any]] = []
    for error in validator.iter_errors(instance):
        path, message = _describe(error, base)
        leaves = frozenset(_path_of(base, list(leaf.absolute_path)) for leaf in _leaves(error)) if error.context else frozenset()
        described.append((path, message, leaves, error.instance))
    primary = {path for path, _, leaves, _ in described if not leaves}
    found: dict[tuple[str, str], InputError] = {}
    for path, message, leaves, value in described:
        if leaves and (path in primary or leaves & primary):
            continue
        shown = value if isinstance(value, str | int | float | bool) or value is None else None
        found.setdefault((path, message), InputError(message, file=source, field=path, value=shown))
    return list(found.values())


def _path_key(path: str) -> list[tuple[int, int | str]]:
    """Sort key that puts ``[10]`` after ``[9]``."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[\[\]]", path) if part]


_DOCUMENT_TYPES: Final = ("EPCISDocument", "EPCISQueryDocument")


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


def _check(doc: Any, source: str, *, build: bool) -> tuple[list[InputError], list[EpcisEvent], list[str]]:
    """Validate ``doc``; with ``build``, also read its events (only if nothing is wrong).

    Returns the errors, the events and notes on what was accepted but not interpreted.
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
    errors = _schema_errors(schemas.envelope, doc, "$", source)
    located = _event_list(doc)
    items: list[tuple[str, Any, bool]] = []
    if located is None:
        items.append(("$", doc, not errors))
    elif isinstance(located[1], list):
        for index, raw in enumerate(located[1]):
            path = f"{located[0]}[{index}]"
            # A standard event type goes straight to its schema; GS1's if-chain would pick the same.
            type_name = raw.get("type") if isinstance(raw, dict) else None
            validator = schemas.by_type.get(type_name, schemas.event) if isinstance(type_name, str) else schemas.event
            event_errors = _schema_errors(validator, raw, path, source)
            errors.extend(event_errors)
            items.append((path, raw, not event_errors))
    events: list[EpcisEvent] = []
    notes: list[str] = []
    for path, raw, schema_ok in items:
        event, event_errors = _read_event(raw, path, source, build=build and schema_ok)
        errors.extend(event_errors)
        if event is not None:
            events.append(event)
        if isinstance(raw, dict) and isinstance(raw.get("type"), str) and raw["type"] in fields:
            defined = fields[raw["type"]]
            notes.extend(
                f"{_child(path, name)}: not an EPCIS 2.0 field of {raw['type']}; kept in the event, not interpreted"
                for name in raw
                if isinstance(name, str) and name not in defined and name not in _JSONLD_ALIASES and not _is_uri(name)
            )
    errors.sort(key=lambda e: _path_key(e.field or ""))
    return errors, events, notes


def validate_document(doc: Any, *, source: str) -> None:
    """Check an EPCIS 2.0 document (already parsed JSON) and raise every problem at once.

    Checked: GS1's EPCIS 2.0 JSON Schema (with ``date-time`` and ``uri`` formats asserted),
    then what EPCIS requires beyond it — identifiers of a known scheme, instance-level ids in
    EPC lists and class-level ids in quantity lists, locations in ``readPoint`` and
    ``bizLocation``, a ``parentID`` on an aggregation that adds or deletes, one of the five
    standard event types — and what the chain needs: an event time after 1970 and numbers that
    canonical JSON can carry. Raises :class:`~o2ochain.errors.InputErrors` whose errors name
    ``source`` and the JSON path of the fault in ``field``.
    """
    errors, _, _ = _check(doc, source, build=False)
    InputErrors.raise_if_any(errors)


# --------------------------------------------------------------------------------------------
# Reading events


_KIND_NAMES: Final[dict[str, str]] = {
    "item": "an item (SGTIN)",
    "lot": "a lot (LGTIN)",
    "class": "a product class (GTIN)",
    "container": "a container (SSCC)",
    "location": "a location",
    "other-gs1": "another GS1 key",
}
_INSTANCE_LISTS: Final[dict[str, Role]] = {"epcList": "epc", "childEPCs": "child", "inputEPCList": "input", "outputEPCList": "output"}
_QUANTITY_LISTS: Final[dict[str, Role]] = {
    "quantityList": "quantity",
    "childQuantityList": "child",
    "inputQuantityList": "input",
    "outputQuantityList": "output",
}


def _read_event(raw: Any, path: str, source: str, *, build: bool) -> tuple[EpcisEvent | None, list[InputError]]:
    """Check what the schema leaves to EPCIS and, with ``build``, make the :class:`EpcisEvent`.

    Written defensively (every value's type is checked) so that it can run on an event the
    schema refused and still report identifier problems in the same pass.
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

    def subject(value: Any, at: str, level: Literal["instance", "class", "location"]) -> Subject | None:
        if not isinstance(value, str):
            return None
        try:
            found = parse_identifier(value)
        except InputError as exc:
            fail(exc.message, at, value)
            return None
        if level == "location" and found.kind != "location":
            fail(
                f"a location must be an SGLN (urn:epc:id:sgln:…) or a Digital Link on a GLN (…/414/…), got {_KIND_NAMES[found.kind]}",
                at,
                value,
            )
            return None
        if level == "instance" and not found.instance:
            fail(
                "must name one object (an instance-level identifier such as an SGTIN); a class or lot belongs in a quantity list", at, value
            )
            return None
        if level == "class" and found.instance:
            fail("epcClass must be a class-level identifier (a GTIN, a GTIN + lot, …), not one object", at, value)
            return None
        return found

    tagged: list[EventSubject] = []
    parent = subject(raw.get("parentID"), _child(path, "parentID"), "instance")
    if parent is not None:
        tagged.append(EventSubject("parent", parent))
    for name, role in _INSTANCE_LISTS.items():
        values = raw.get(name)
        if isinstance(values, list):
            for index, value in enumerate(values):
                found = subject(value, f"{_child(path, name)}[{index}]", "instance")
                if found is not None:
                    tagged.append(EventSubject(role, found))
    for name, role in _QUANTITY_LISTS.items():
        elements = raw.get(name)
        if isinstance(elements, list):
            for index, element in enumerate(elements):
                if isinstance(element, dict):
                    found = subject(element.get("epcClass"), f"{_child(path, name)}[{index}].epcClass", "class")
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
        places[name] = subject(place.get("id"), f"{_child(path, name)}.id", "location") if isinstance(place, dict) else None

    action = raw.get("action")
    if event_type == "AggregationEvent" and action in ("ADD", "DELETE") and "parentID" not in raw:
        fail(
            f"an AggregationEvent with action {action} needs a parentID (EPCIS 2.0: the container packed or unpacked)",
            _child(path, "parentID"),
        )

    event_time = _parse_time(raw["eventTime"]) if isinstance(raw.get("eventTime"), str) else None
    if event_time is not None and event_time < _EPOCH:
        fail("eventTime is before 1970-01-01, which the chain cannot record", _child(path, "eventTime"), raw["eventTime"])

    digest: bytes | None = None
    try:
        digest = content_hash(raw)
    except InputError as exc:
        fail(exc.message, path)

    if not build or errors or digest is None or event_time is None:
        return None, errors
    return _make_event(raw, path, cast(EventType, event_type), event_time, tuple(tagged), parent, places, digest), errors


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
    return EpcisEvent(
        type=event_type,
        action=cast(Action | None, raw.get("action")),
        biz_step=biz_step_name(biz_step) if isinstance(biz_step, str) else None,
        disposition=disposition_name(disposition) if isinstance(disposition, str) else None,
        event_time=event_time,
        tz_offset=offset if offset is not None else 0,
        read_point=places.get("readPoint"),
        biz_location=places.get("bizLocation"),
        event_id=event_id if isinstance(event_id, str) else None,
        error_declaration=declaration,
        subjects=tagged,
        parent=parent,
        raw=raw,
        content_hash=digest,
        record_time=parse_time(record_time) if isinstance(record_time, str) else None,
        biz_transactions=tuple((t.get("type"), t["bizTransaction"]) for t in raw.get("bizTransactionList", ())),
        sources=tuple((s["type"], s["source"]) for s in raw.get("sourceList", ())),
        destinations=tuple((d["type"], d["destination"]) for d in raw.get("destinationList", ())),
        path=path,
    )


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


class _NonFinite(ValueError):
    """JSON has no NaN or Infinity; Python's json module would accept them."""


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


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
    doc, notes = _normalise_lists(_loads(text_or_obj, source))
    errors, events, more_notes = _check(doc, source, build=True)
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
# Content-addressed store


def _check_hash(digest: bytes) -> bytes:
    raw = bytes(digest)
    if len(raw) != 32:
        raise InputError(f"an event hash is 32 bytes, got {len(raw)}", value="0x" + raw.hex())
    return raw


class EventStore:
    """Full EPCIS events on disk, each under the hash the chain anchors.

    ``<root>/<first two hex digits>/<64 hex digits>.json`` holds the event's RFC 8785
    canonical JSON, so the file's content hashes to its name: a copy can be checked with
    nothing but the file, and :meth:`verify` detects any edit. Writes are atomic (a temporary
    file renamed into place) and idempotent, so an import that died halfway is simply re-run.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_of(self, digest: bytes) -> Path:
        """The file an event with this hash is (or would be) stored in."""
        hex_digest = _check_hash(digest).hex()
        return self.root / hex_digest[:2] / f"{hex_digest}.json"

    def put(self, event_json: Mapping[str, Any]) -> bytes:
        """Store an event and return its content hash; storing it again changes nothing.

        A file already present but not matching its name (damaged or tampered) is replaced.
        """
        data = canonical_json(event_json)
        digest = gs1.keccak256(data)
        target = self.path_of(digest)
        if target.exists() and self.verify(digest):
            return digest
        write_atomic(target, data)
        return digest

    def get(self, digest: bytes) -> dict[str, Any] | None:
        """The stored event, or ``None`` if there is none (unchecked: see :meth:`verify`)."""
        target = self.path_of(digest)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            return None
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError("the stored event is not valid JSON (damaged or tampered)", file=str(target)) from None
        if not isinstance(value, dict):
            raise InputError("the stored event is not a JSON object (damaged or tampered)", file=str(target))
        return value

    def has(self, digest: bytes) -> bool:
        """Is an event with this hash stored (whether or not intact)?"""
        return self.path_of(digest).is_file()

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, bytes | bytearray) and len(digest) == 32 and self.has(bytes(digest))

    def verify(self, digest: bytes) -> bool:
        """Does the stored event still hash to ``digest``? False if missing, unreadable or changed.

        The stored JSON is re-canonicalised before hashing, so re-indenting the file is not
        taken for tampering; changing any value is.
        """
        try:
            value = json.loads(self.path_of(digest).read_bytes().decode("utf-8"), parse_constant=_refuse_constant)
            return content_hash(value) == bytes(digest)
        except (OSError, UnicodeDecodeError, ValueError, InputError, RecursionError):
            return False

    def hashes(self) -> Iterator[bytes]:
        """Every stored hash (in no particular order)."""
        for file in self.root.glob("??/*.json"):
            name = file.stem
            if len(name) == 64 and re.fullmatch(r"[0-9a-f]{64}", name):
                yield bytes.fromhex(name)


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


def _location(value: str) -> Subject:
    """A location from a GLN (13 digits), an SGLN URN or a Digital Link on a GLN (``…/414/…``)."""
    text = value.strip()
    if _DIGITS_RE.fullmatch(text):
        gln = _check_key(text, "GLN", 13)
        return _subject("location", f"{gs1.DEFAULT_RESOLVER}/414/{gln}", (("414", gln),))
    found = parse_identifier(text)
    if found.kind != "location":
        raise InputError(
            f"a location must be a GLN, an SGLN or a Digital Link on a GLN (…/414/…), got {_KIND_NAMES[found.kind]}", value=value
        )
    return found


def location_id(value: str) -> bytes:
    """The 32-byte id of a location named by a GLN (13 digits), an SGLN URN or a ``/414/`` Digital Link.

    The same id an event's ``readPoint`` or ``bizLocation`` maps to, so an actor's registered
    location and the places of its events can be compared on chain.
    """
    return _location(value).id


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
    ``biz_step`` and ``disposition`` are CBV names (or CBV / other URIs), places a GLN, an SGLN
    or a ``/414/`` Digital Link, ``when`` an aware datetime or an RFC 3339 / ISO 8601 text with
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
