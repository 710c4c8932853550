"""EPCIS and CBV 2.0 vocabularies and times: event types, actions, business steps and
dispositions with the codes the contracts store, and RFC 3339 event times."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final, Literal, cast

from o2ochain.errors import InputError

# --------------------------------------------------------------------------------------------
# Vocabularies: event types, actions, CBV 2.0 business steps and dispositions

EventType = Literal["ObjectEvent", "AggregationEvent", "TransformationEvent", "TransactionEvent", "AssociationEvent"]
Action = Literal["ADD", "OBSERVE", "DELETE"]
Role = Literal["epc", "quantity", "parent", "child", "input", "output"]

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
        return ACTIONS.index(cast("Action | None", action))
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
_RFC3339_COMMON: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
"""The date-times nearly every event has, which :meth:`datetime.fromisoformat` reads as :func:`_parse_time`
does, four times faster: upper-case ``T`` and ``Z``, no leap second, at most six digits of fraction, an
offset within ±23:59."""
_OFFSET: Final = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_time(text: str) -> datetime | None:
    """Parse an RFC 3339 date-time with a time zone; ``None`` if it is not one.

    Stricter than :meth:`datetime.fromisoformat`, which also takes dates without a time zone,
    week dates and other ISO 8601 forms that JSON Schema's ``date-time`` does not allow. A leap
    second (``:60``) is valid RFC 3339 and is read as the last microsecond of the minute.
    """
    if _RFC3339_COMMON.fullmatch(text) is not None:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # a day that does not exist: refused below
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


@functools.lru_cache(maxsize=1024)
def _parse_offset(text: str) -> int | None:
    """Return an ``eventTimeZoneOffset`` (``+02:00``) in minutes, or ``None`` if malformed or beyond ±14:00.

    Remembered: a document of 100,000 events names a handful of offsets.
    """
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


def _short(value: Any, limit: int = 60) -> str:
    """A value as it would appear in JSON, cut short for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_URI_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]*")
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _is_uri(value: str) -> bool:
    """Is ``value`` an absolute URI (or IRI) or a JSON-LD blank node (``_:b0``)?

    Deliberately lenient: a scheme, then no white space, controls or characters RFC 3986 never
    allows, and well-formed ``%xx`` escapes. Strict enough to tell ``shiping`` (a typo) from a
    vocabulary URI and ``bizstep`` (a misspelt field) from an extension field ``example:x``.
    """
    if value.startswith("_:"):
        return len(value) > 2
    return _URI_RE.fullmatch(value) is not None and _BAD_ESCAPE.search(value) is None
