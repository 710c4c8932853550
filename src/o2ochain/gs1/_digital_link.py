"""GS1 Digital Link URIs: render one for an item, lot or product class, and read one back.

Rendering follows the GS1 Digital Link URI Syntax standard (key qualifiers in the order 22, 10,
21; values percent-encoded outside RFC 3986's unreserved set; data attributes in the query
string). Parsing is tolerant where the standard allows variation and strict where a wrong
reading would name a different item (see :func:`parse_digital_link`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from o2ochain._chain.words import remember
from o2ochain.errors import InputError
from o2ochain.gs1._keys import (
    _YYMMDD,
    expiry_to_yymmdd,
    item_id,
    lot_id,
    normalize_gtin,
    validate_lot,
    validate_serial,
    yymmdd_to_date,
)

DEFAULT_RESOLVER: Final = "https://id.gs1.org"
"""GS1's global resolver; a brand may use its own domain (and a path prefix) instead."""

_HEX32: Final = re.compile(r"0[xX][0-9a-fA-F]{64}")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT_TABLE: Final = {c: f"%{c:02X}" for c in range(128) if chr(c) not in _UNRESERVED}
_MAX_URI_LENGTH: Final = 4096


def _percent_decode(value: str, field: str) -> str:
    """Decode ``%XX`` escapes strictly: a stray ``%`` is an error, not a literal percent sign.

    A byte above 0x7F is refused here: GS1 values are ASCII, and a UTF-8 sequence decoded into
    something else would be reported as a confusing character.
    """
    if "%" not in value:
        return value
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        char = value[i]
        if char == "%":
            pair = value[i + 1 : i + 3]
            if len(pair) != 2 or not all(c in "0123456789abcdefABCDEF" for c in pair):
                raise InputError(
                    f"malformed percent-encoding {value[i : i + 3]!r} at position {i + 1}",
                    field=field,
                    value=value,
                )
            code = int(pair, 16)
            if code >= 0x80:
                raise InputError(
                    f"%{pair} at position {i + 1} is not an ASCII character; GS1 values are ASCII",
                    field=field,
                    value=value,
                )
            out.append(chr(code))
            i += 3
        else:
            out.append(char)
            i += 1
    return "".join(out)


def check_resolver(resolver: str) -> str:
    """Return ``resolver`` without a trailing slash if it is an http(s) base URI, else raise.

    A resolver is where a Digital Link points: GS1's, or a brand's own domain with an optional
    path prefix (``https://brand.example/dl``).
    """
    if not isinstance(resolver, str):
        raise InputError("resolver must be text", field="resolver", value=resolver)
    base = resolver.strip().rstrip("/")
    lowered = base.lower()
    if not lowered.startswith(("https://", "http://")) or base.endswith("://"):
        raise InputError(
            f"resolver must be an http(s) URI such as {DEFAULT_RESOLVER}, got {resolver!r}",
            field="resolver",
            value=resolver,
        )
    if any(c in base for c in "?# \t\r\n"):
        raise InputError(
            "resolver must not contain a query, a fragment or spaces",
            field="resolver",
            value=resolver,
        )
    return base


def render_uri(resolver: str, gtin14: str, serial: str | None, lot: str | None, expiry: date | None) -> str:
    """Render a Digital Link URI from values that are *already validated*.

    This is :meth:`DigitalLink.uri` without the validation that constructing a DigitalLink
    does, for loops over items that were validated once on the way in (a proofs file for a
    million :class:`~o2ochain.identity.CatalogueItem` s). ``resolver`` must have no trailing
    slash. Given unchecked values it renders an unchecked URI: use DigitalLink otherwise.
    """
    # GS1 DL: percent-encode every character outside RFC 3986's unreserved set.
    parts = [resolver, "/01/", gtin14]
    if lot is not None:
        parts += ("/10/", lot.translate(_PERCENT_TABLE))
    if serial is not None:
        parts += ("/21/", serial.translate(_PERCENT_TABLE))
    if expiry is not None:
        parts += ("?17=", f"{expiry_to_yymmdd(expiry):06d}")
    return "".join(parts)


@dataclass(frozen=True)
class DigitalLink:
    """A GS1 Digital Link for a product class, a lot or a single item.

    Construction validates and normalises: ``gtin`` may be given as GTIN-8/12/13/14 and is
    stored in 14-digit form; serial and lot must be GS1 ``X..20``; ``resolver`` is the base the
    URI is rendered under (any http(s) host, with an optional path prefix).
    """

    gtin: str
    serial: str | None = None
    lot: str | None = None
    expiry: date | None = None
    resolver: str = DEFAULT_RESOLVER

    def __post_init__(self) -> None:
        object.__setattr__(self, "gtin", normalize_gtin(self.gtin))
        if self.serial is not None:
            validate_serial(self.serial)
        if self.lot is not None:
            validate_lot(self.lot)
        if self.expiry is not None and not isinstance(self.expiry, date):
            raise InputError("expiry must be a date", field="expiry", value=self.expiry)
        object.__setattr__(self, "resolver", check_resolver(self.resolver))

    def uri(self) -> str:
        """Render the canonical URI: ``{resolver}/01/{gtin}/10/{lot}/21/{serial}?17=YYMMDD``."""
        return render_uri(self.resolver, self.gtin, self.serial, self.lot, self.expiry)

    def item_path(self) -> str:
        """Return ``/01/{gtin}/21/{serial}`` unescaped: the string hashed into the item id."""
        return f"/01/{self.gtin}/21/{self._need_serial()}"

    @property
    def item_id(self) -> bytes:
        """The on-chain item id; an InputError if the link names no serial (not one item).

        A contract refusal that names the id names this link (see ``_chain.words.remember``)."""
        made = item_id(self.gtin, self._need_serial())
        remember(made, self.uri())
        return made

    @property
    def lot_id(self) -> bytes:
        """The on-chain lot id; an InputError if the link names no lot."""
        if self.lot is None:
            raise InputError("this Digital Link has no lot (AI 10)", field="lot")
        made = lot_id(self.gtin, self.lot)
        remember(made, f"{self.lot} of GTIN {self.gtin}")
        return made

    def _need_serial(self) -> str:
        if self.serial is None:
            raise InputError(
                "this Digital Link has no serial (AI 21): it names a product or lot, not an item",
                field="serial",
            )
        return self.serial


_PRIMARY_KEYS: Final = {"01": "01", "gtin": "01"}
_QUALIFIERS: Final = {"22": "22", "cpv": "22", "10": "10", "lot": "10", "21": "21", "ser": "21"}
_QUALIFIER_ORDER: Final = {"22": 0, "10": 1, "21": 2}
_QUERY_KEYS: Final = {"10": "10", "lot": "10", "21": "21", "ser": "21", "17": "17", "exp": "17"}
_AI_NAMES: Final = {"10": "lot", "21": "serial", "17": "expiry", "22": "consumer product variant"}


def parse_digital_link(uri: str, *, today: date | None = None) -> DigitalLink:
    """Parse a GS1 Digital Link URI into a :class:`DigitalLink`.

    Accepted: any http(s) host and path prefix before ``/01/`` (kept as the resolver), GTIN-8
    to GTIN-14, percent-encoded values, the convenience alphas ``gtin``, ``lot``, ``ser`` and
    ``exp`` of GS1 DL 1.1, lot/serial/expiry in the query string (``?10=..&21=..&17=YYMMDD``),
    other query parameters (``linkType``, further AIs) which are ignored, and a fragment.

    Refused, with an InputError that names the problem: no ``/01/`` segment (including
    compressed Digital Links), a wrong GTIN, a serial or lot outside GS1 ``X..20``, a stray
    ``%``, key qualifiers out of GS1's order (22, 10, 21) or repeated, an AI in the path that is
    not a GTIN key qualifier, AI 22 (consumer product variant, which an o2ochain item id cannot
    carry), and a value given both in the path and, differently, in the query string.
    """
    if not isinstance(uri, str):
        raise InputError("a Digital Link must be text", value=uri)
    text = uri.strip()
    if len(text) > _MAX_URI_LENGTH:
        raise InputError(f"URI is {len(text)} characters, longer than any Digital Link", value=None)
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise InputError(f"not an http(s) URI: {text[:80]!r}", value=uri)
    rest = rest.split("#", 1)[0]
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    if not authority or any(c.isspace() for c in authority):
        raise InputError(f"URI has no valid host: {text[:80]!r}", value=uri)
    segments = path.split("/") if slash else []
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()  # one trailing slash is harmless
    candidates = [i for i, segment in enumerate(segments) if segment.lower() in _PRIMARY_KEYS and (len(segments) - i) % 2 == 0]
    if not candidates:
        keys = [i for i, segment in enumerate(segments) if segment.lower() in _PRIMARY_KEYS]
        if keys:
            dangling = segments[-1] or "/"
            raise InputError(
                f"the path after /{segments[keys[0]]}/ must alternate AI and value; {dangling!r} at the end has no value",
                field="path",
                value=uri,
            )
        raise InputError(
            "no /01/ (GTIN) segment in the path; compressed Digital Links are not supported",
            value=uri,
        )
    error: InputError | None = None
    for start in candidates:
        prefix = "/".join(segments[:start])
        resolver = f"{scheme.lower()}://{authority}" + (f"/{prefix}" if prefix else "")
        try:
            return _parse_from(segments[start:], query, resolver, today)
        except InputError as exc:
            error = exc
    assert error is not None
    raise InputError(error.message, field=error.field, value=uri) from None


def _parse_from(segments: list[str], query: str, resolver: str, today: date | None) -> DigitalLink:
    """Parse ``01/{gtin}[/qualifier/value]...`` plus the query string of a Digital Link."""
    gtin = normalize_gtin(_percent_decode(segments[1], "gtin"))
    values: dict[str, str] = {}
    last_order = -1
    for k in range(2, len(segments), 2):
        key, raw = segments[k], segments[k + 1]
        ai = _QUALIFIERS.get(key.lower() if key.isalpha() else key)
        if ai is None:
            shown = _percent_decode(key, "path")
            if shown in _PRIMARY_KEYS or shown.isdigit():
                problem = f"AI {shown} is not allowed in the path after /01/"
            else:
                problem = f"unknown AI {shown!r} in the path"
            raise InputError(
                f"{problem}; only the key qualifiers 22, 10 and 21 may follow a GTIN",
                field="path",
            )
        if ai in values:
            raise InputError(f"AI {ai} ({_AI_NAMES[ai]}) appears twice in the path", field="path")
        if _QUALIFIER_ORDER[ai] < last_order:
            raise InputError(
                f"AI {ai} ({_AI_NAMES[ai]}) is out of order; GS1 key qualifiers follow a GTIN in the order 22, 10, 21",
                field="path",
            )
        last_order = _QUALIFIER_ORDER[ai]
        if ai == "22":
            raise InputError(
                "AI 22 (consumer product variant) is not supported: an o2ochain item is GTIN + serial",
                field="path",
            )
        if not raw:
            raise InputError(f"AI {ai} ({_AI_NAMES[ai]}) has an empty value", field=_AI_NAMES[ai])
        values[ai] = _percent_decode(raw, _AI_NAMES[ai])

    expiry: date | None = None
    in_query: dict[str, str] = {}
    for pair in query.split("&") if query else ():
        key, _, raw = pair.partition("=")
        ai = _QUERY_KEYS.get(key.lower() if key.isalpha() else key)
        if ai is None:
            continue  # linkType, context, other data attributes: not ours to judge
        value = _percent_decode(raw, _AI_NAMES[ai])
        if in_query.get(ai, value) != value:
            raise InputError(
                f"AI {ai} ({_AI_NAMES[ai]}) is given twice with different values in the query",
                field=_AI_NAMES[ai],
            )
        in_query[ai] = value
    for ai in ("10", "21"):
        if ai in in_query:
            if values.get(ai, in_query[ai]) != in_query[ai]:
                raise InputError(
                    f"AI {ai} ({_AI_NAMES[ai]}) differs between path and query string",
                    field=_AI_NAMES[ai],
                )
            values[ai] = in_query[ai]
    if "17" in in_query:
        raw_expiry = in_query["17"]
        if _YYMMDD.fullmatch(raw_expiry) is None:
            raise InputError(f"AI 17 (expiry) must be YYMMDD, got {raw_expiry!r}", field="expiry")
        expiry = yymmdd_to_date(raw_expiry, today=today)
    serial = values.get("21")
    lot = values.get("10")
    if serial is not None:
        validate_serial(serial)
    if lot is not None:
        validate_lot(lot)
    return DigitalLink(gtin=gtin, serial=serial, lot=lot, expiry=expiry, resolver=resolver)


_ELEMENT: Final = re.compile(r"\((01|10|21|17)\)")


def _parse_element_string(text: str, today: date | None) -> DigitalLink:
    """Parse a bracketed GS1 element string such as ``(01)09506000134352(10)L1(21)ABC``.

    Only the AIs 01, 10, 21 and 17 are recognised as separators, so a value may itself contain
    parentheses unless they spell one of those four.
    """
    parts = _ELEMENT.split(text)
    if parts[0] != "":
        raise InputError(f"an element string must start with an AI in brackets: {text[:40]!r}")
    found: dict[str, str] = {}
    for k in range(1, len(parts), 2):
        ai, value = parts[k], parts[k + 1]
        if ai in found:
            raise InputError(f"AI {ai} appears twice in the element string", value=text)
        found[ai] = value
    if "01" not in found:
        raise InputError("the element string has no (01) GTIN", value=text)
    expiry = None
    if "17" in found:
        expiry = yymmdd_to_date(found["17"], today=today)
    return DigitalLink(
        gtin=found["01"],
        serial=validate_serial(found["21"]) if "21" in found else None,
        lot=validate_lot(found["10"]) if "10" in found else None,
        expiry=expiry,
    )


def parse_item_reference(text: str, *, today: date | None = None) -> bytes | DigitalLink:
    """Read what a person pastes to name an item: an item id, a Digital Link or an element string.

    - ``0x`` + 64 hex digits → the 32-byte item id itself;
    - ``http(s)://...`` → :func:`parse_digital_link`;
    - ``(01)09506000134352(21)ABC123`` → a DigitalLink on the default resolver.
    """
    if not isinstance(text, str):
        raise InputError("an item reference must be text", value=text)
    stripped = text.strip()
    if _HEX32.fullmatch(stripped) is not None:
        return bytes.fromhex(stripped[2:])
    if stripped[:2].lower() == "0x":
        raise InputError("an item id must be 0x followed by 64 hex digits (32 bytes)", value=text)
    if "://" in stripped:
        return parse_digital_link(stripped, today=today)
    if stripped.startswith("("):
        return _parse_element_string(stripped, today)
    raise InputError(
        "expected a GS1 Digital Link (https://.../01/...), an item id (0x + 64 hex digits) or an element string ((01)...(21)...)",
        value=text,
    )
