"""GS1 identifiers as o2ochain uses them: GTINs, serials, lots, expiry dates and Digital Links.

A product on the chain is named the way GS1 names it on the pack, so that the QR code a shopper
scans, the CSV a brand uploads and the id a contract stores all agree:

- **GTIN** (AI 01) — 8, 12, 13 or 14 digits with a mod-10 check digit; always kept in its
  14-digit form so that one product has exactly one spelling.
- **serial** (AI 21) and **lot** (AI 10) — 1 to 20 characters of GS1's "encodable character set
  82"; the contracts carry them as left-aligned ``bytes32``.
- **item id** = ``keccak256("/01/{gtin14}/21/{serial}")`` and **lot id** =
  ``keccak256("/01/{gtin14}/10/{lot}")`` — the same strings the Solidity contracts hash, with the
  values *unescaped*, so an id computed here equals the id computed on chain.
- **GS1 Digital Link** — the web address in the QR code:
  ``https://id.gs1.org/01/09506000134352/10/LOT1/21/SN1?17=261231``. Rendering follows the GS1
  Digital Link URI Syntax standard (key qualifiers in the order 22, 10, 21; values
  percent-encoded outside RFC 3986's unreserved set; data attributes in the query string).
  Parsing is tolerant where the standard allows variation (any resolver host and path prefix,
  GTIN-8/12/13, the 1.1 "convenience alphas" ``gtin``/``lot``/``ser``/``exp``, 10 and 21 in the
  query string) and strict where a wrong reading would name a different item.
- **expiry** (AI 17) — ``YYMMDD`` with GS1's sliding century window and ``DD = 00`` meaning the
  last day of the month; the contracts store it as the integer ``YYMMDD`` (0 = none).

Every rejection is an :class:`~o2ochain.errors.InputError` that says what is wrong with which
value, so a brand fixing a spreadsheet of 100,000 rows knows where to look.
"""

from __future__ import annotations

import calendar
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Final

from o2ochain.errors import InputError

__all__ = [
    "DEFAULT_RESOLVER",
    "GS1_CHARSET_82",
    "MAX_SERIAL_LENGTH",
    "DigitalLink",
    "check_resolver",
    "expiry_to_yymmdd",
    "from_bytes32",
    "gtin_check_digit",
    "gtin_to_int",
    "is_gs1_x20",
    "item_id",
    "keccak256",
    "lot_id",
    "make_gln",
    "make_gtin",
    "make_sscc",
    "normalize_gtin",
    "parse_digital_link",
    "parse_expiry",
    "parse_item_reference",
    "render_uri",
    "to_bytes32",
    "validate_lot",
    "validate_serial",
    "yymmdd_to_date",
]

DEFAULT_RESOLVER: Final = "https://id.gs1.org"
"""GS1's global resolver; a brand may use its own domain (and a path prefix) instead."""

MAX_SERIAL_LENGTH: Final = 20
"""AI 21 and AI 10 are both ``X..20``: at most 20 characters."""

GS1_CHARSET_82: Final = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
"""GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1)."""

_X20: Final = re.compile(r"[!\"%-?A-Z_a-z]{1,20}")
_DIGITS: Final = re.compile(r"[0-9]+")
_ISO_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_YYMMDD: Final = re.compile(r"[0-9]{6}")
_HEX32: Final = re.compile(r"0[xX][0-9a-fA-F]{64}")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT_TABLE: Final = {c: f"%{c:02X}" for c in range(128) if chr(c) not in _UNRESERVED}
_GTIN_LENGTHS: Final = (8, 12, 13, 14)
_MAX_URI_LENGTH: Final = 4096


# --------------------------------------------------------------------------------------------
# keccak256


def _pick_keccak() -> Callable[[bytes], bytes]:
    """Choose the fastest keccak-256 available; all give the same digest.

    ``safe-pysha3`` (installed alongside ape) is about five times faster than pycryptodome for
    the short inputs we hash, which matters when 100,000 items are hashed three times each. It is
    optional: without it we use eth-hash, which web3.py already depends on.
    """
    from eth_hash.auto import keccak as eth_keccak

    probe = b"o2ochain"
    reference = eth_keccak(probe)
    try:
        keccak_256 = importlib.import_module("sha3").keccak_256
    except (ImportError, AttributeError):
        return eth_keccak

    def fast(data: bytes) -> bytes:
        digest: bytes = keccak_256(data).digest()
        return digest

    return fast if fast(probe) == reference else eth_keccak


keccak256: Final[Callable[[bytes], bytes]] = _pick_keccak()
"""Ethereum's keccak-256 (not NIST SHA3-256) of ``data``."""


# --------------------------------------------------------------------------------------------
# GTIN


def _with_check_digit(body: str) -> str:
    return body + str(gtin_check_digit(body))


def make_gtin(prefix: str, item_ref: int) -> str:
    """The GTIN-14 (indicator digit 0) of item reference ``item_ref`` under a GS1 company prefix."""
    return _with_check_digit("0" + prefix + f"{item_ref:0{12 - len(prefix)}d}")


def make_gln(prefix: str, location_ref: int) -> str:
    """The GLN (13 digits) of location reference ``location_ref`` under a GS1 company prefix."""
    return _with_check_digit(prefix + f"{location_ref:0{12 - len(prefix)}d}")


def make_sscc(prefix: str, serial_ref: int, extension: int = 3) -> str:
    """The SSCC (18 digits) of serial reference ``serial_ref`` under a GS1 company prefix."""
    return _with_check_digit(str(extension) + prefix + f"{serial_ref:0{16 - len(prefix)}d}")


def gtin_check_digit(body: str) -> int:
    """Return the GS1 mod-10 check digit for ``body`` (the GTIN without its last digit).

    Digits are weighted 3, 1, 3, ... from the right, so the same body padded with leading zeros
    gets the same check digit — which is why a GTIN-8/12/13 keeps its check digit in GTIN-14 form.
    """
    if not body or _DIGITS.fullmatch(body) is None:
        raise InputError(f"a GTIN body must be digits, got {body!r}", field="gtin", value=body)
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = ord(char) - 48
        total += digit * 3 if position % 2 == 0 else digit
    return (10 - total % 10) % 10


def normalize_gtin(value: str, *, file: str | None = None, line: int | None = None, field: str = "gtin") -> str:
    """Validate a GTIN-8/12/13/14 and return its 14-digit form (left-padded with zeros).

    Surrounding spaces are ignored; anything else that is not a digit, a wrong length, a wrong
    check digit or the all-zero GTIN is refused with an :class:`InputError` that says which.
    ``file``, ``line`` and ``field`` only locate the error for the reader.
    """
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str):
        raise InputError(
            f"GTIN must be text, got {type(value).__name__}",
            file=file,
            line=line,
            field=field,
            value=value,
        )
    if _DIGITS.fullmatch(text) is None:
        if not text:
            message = "GTIN is empty"
        else:
            bad = next(i for i, c in enumerate(text) if not ("0" <= c <= "9"))
            message = f"GTIN must be digits only: {text[bad]!r} at position {bad + 1}"
        raise InputError(message, file=file, line=line, field=field, value=value)
    if len(text) not in _GTIN_LENGTHS:
        raise InputError(
            f"GTIN must be 8, 12, 13 or 14 digits, got {len(text)}",
            file=file,
            line=line,
            field=field,
            value=value,
        )
    expected = gtin_check_digit(text[:-1])
    if ord(text[-1]) - 48 != expected:
        raise InputError(
            f"check digit should be {expected}, got {text[-1]} (GTIN {text})",
            file=file,
            line=line,
            field=field,
            value=value,
        )
    if text.count("0") == len(text):
        raise InputError("GTIN must not be all zeros", file=file, line=line, field=field, value=value)
    return text.zfill(14)


def gtin_to_int(gtin14: str) -> int:
    """Return a GTIN as an integer (for contracts that key product classes by ``uint``).

    The GTIN is validated first, so ``gtin_to_int`` of a wrong GTIN is an error, not a number.
    """
    return int(normalize_gtin(gtin14))


# --------------------------------------------------------------------------------------------
# serial (AI 21) and lot (AI 10)


def _validate_x20(value: str, label: str, field: str, file: str | None, line: int | None) -> str:
    """Check ``value`` against GS1 format ``X..20`` and explain the first problem found."""
    if isinstance(value, str) and _X20.fullmatch(value) is not None:
        return value
    if not isinstance(value, str):
        message = f"{label} must be text, got {type(value).__name__}"
    elif not value:
        message = f"{label} is empty"
    else:
        message = ""
        for position, char in enumerate(value, start=1):
            if char not in GS1_CHARSET_82:
                message = (
                    f"{label} has {char!r} (U+{ord(char):04X}) at position {position}, which is "
                    "not in GS1 character set 82 (letters, digits and !\"%&'()*+,-./:;<=>?_)"
                )
                break
        if not message:
            message = f"{label} must be at most {MAX_SERIAL_LENGTH} characters, got {len(value)}"
    raise InputError(message, file=file, line=line, field=field, value=value)


def is_gs1_x20(value: str) -> bool:
    """True when ``value`` is 1 to 20 characters of GS1 set 82 (a valid serial or lot).

    A cheap yes/no for hot loops; :func:`validate_serial` explains a *no*.
    """
    return _X20.fullmatch(value) is not None


def validate_serial(value: str, *, file: str | None = None, line: int | None = None) -> str:
    """Return ``value`` if it is a valid GS1 serial number (AI 21), else raise InputError.

    A serial is 1 to 20 characters of GS1 character set 82. Nothing is trimmed or case-folded:
    ``abc`` and ``ABC`` are different items, exactly as on chain.
    """
    return _validate_x20(value, "serial", "serial", file, line)


def validate_lot(value: str, *, file: str | None = None, line: int | None = None) -> str:
    """Return ``value`` if it is a valid GS1 batch/lot number (AI 10), else raise InputError."""
    return _validate_x20(value, "lot", "lot", file, line)


# --------------------------------------------------------------------------------------------
# bytes32 and ids


def to_bytes32(text: str) -> bytes:
    """Encode ASCII ``text`` as a Solidity ``bytes32``: left-aligned, right-padded with zeros.

    The contracts pass serials and lots this way. NUL characters are refused because they
    could not be told apart from the padding.
    """
    if not text.isascii() or "\x00" in text:
        raise InputError("bytes32 text must be ASCII without NUL characters", value=text)
    raw = text.encode("ascii")
    if len(raw) > 32:
        raise InputError(f"text is {len(raw)} bytes, bytes32 holds at most 32", value=text)
    return raw.ljust(32, b"\x00")


def from_bytes32(value: bytes) -> str:
    """Decode a left-aligned, zero-padded ``bytes32`` back to its ASCII text."""
    raw = bytes(value)
    if len(raw) != 32:
        raise InputError(f"bytes32 must be 32 bytes, got {len(raw)}", value=value)
    text = raw.rstrip(b"\x00")
    if b"\x00" in text or not text.isascii():
        raise InputError("bytes32 does not hold zero-padded ASCII text", value="0x" + raw.hex())
    return text.decode("ascii")


def item_id(gtin14: str, serial: str) -> bytes:
    """Return the item id the contracts use: ``keccak256("/01/{gtin14}/21/{serial}")``.

    ``gtin14`` must already be in 14-digit form and ``serial`` valid (see :func:`normalize_gtin`
    and :func:`validate_serial`); they are not re-checked here because this runs for every item
    of a batch. Values are hashed unescaped, exactly as Solidity concatenates them.
    """
    return keccak256(f"/01/{gtin14}/21/{serial}".encode("ascii"))


def lot_id(gtin14: str, lot: str) -> bytes:
    """Return the lot id the contracts use: ``keccak256("/01/{gtin14}/10/{lot}")``."""
    return keccak256(f"/01/{gtin14}/10/{lot}".encode("ascii"))


# --------------------------------------------------------------------------------------------
# expiry (AI 17)


def _expand_year(yy: int, today: date) -> int:
    """Map a two-digit year to four digits with GS1's sliding window (General Specs 7.12).

    A year 51 to 99 years ahead of this year is in the previous century, a year 50 to 99 years
    behind is in the next one; otherwise it is in this century.
    """
    this_century, this_yy = divmod(today.year, 100)
    difference = yy - this_yy
    if 51 <= difference <= 99:
        return (this_century - 1) * 100 + yy
    if -99 <= difference <= -50:
        return (this_century + 1) * 100 + yy
    return this_century * 100 + yy


def yymmdd_to_date(value: str | int, *, today: date | None = None, field: str = "expiry") -> date:
    """Decode a GS1 ``YYMMDD`` date (a 6-digit string or the integer the contract stores).

    ``DD = 00`` means the last day of the month, as GS1 specifies for expiry dates.
    """
    text = f"{value:06d}" if isinstance(value, int) and 0 <= value <= 999999 else str(value)
    if _YYMMDD.fullmatch(text) is None:
        raise InputError(f"date must be YYMMDD (6 digits), got {text!r}", field=field, value=value)
    yy, mm, dd = int(text[0:2]), int(text[2:4]), int(text[4:6])
    if not 1 <= mm <= 12:
        raise InputError(f"month {mm:02d} does not exist in {text}", field=field, value=value)
    year = _expand_year(yy, today or date.today())
    last = calendar.monthrange(year, mm)[1]
    if dd == 0:
        dd = last
    elif dd > last:
        raise InputError(f"day {dd:02d} does not exist in {year}-{mm:02d}", field=field, value=value)
    return date(year, mm, dd)


def parse_expiry(
    text: str,
    *,
    today: date | None = None,
    file: str | None = None,
    line: int | None = None,
    field: str = "expiry",
) -> date:
    """Parse an expiry date written ``YYYY-MM-DD`` or as GS1 ``YYMMDD`` (``DD = 00``: month end)."""
    stripped = text.strip()
    try:
        match = _ISO_DATE.fullmatch(stripped)
        if match is not None:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError as exc:
                raise InputError(f"{stripped!r} is not a real date ({exc})", value=text) from None
        if _YYMMDD.fullmatch(stripped) is not None:
            return yymmdd_to_date(stripped, today=today, field=field)
        raise InputError(f"expiry must be YYYY-MM-DD or YYMMDD, got {stripped!r}", value=text)
    except InputError as exc:
        raise InputError(exc.message, file=file, line=line, field=field, value=text) from None


def expiry_to_yymmdd(expiry: date | None, *, today: date | None = None) -> int:
    """Return ``expiry`` as the integer ``YYMMDD`` the contracts store; ``None`` gives 0.

    A date whose two-digit year would be read back in another century (GS1's window is about
    50 years either side of today) is refused rather than silently shifted.
    """
    if expiry is None:
        return 0
    if _expand_year(expiry.year % 100, today or date.today()) != expiry.year:
        raise InputError(
            f"expiry {expiry.isoformat()} is too far from today to write as YYMMDD",
            field="expiry",
            value=expiry,
        )
    return (expiry.year % 100) * 10000 + expiry.month * 100 + expiry.day


# --------------------------------------------------------------------------------------------
# GS1 Digital Link


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
    million :class:`~o2ochain.catalogue.CatalogueItem` s). ``resolver`` must have no trailing
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
        """The on-chain item id; an InputError if the link names no serial (not one item)."""
        return item_id(self.gtin, self._need_serial())

    @property
    def lot_id(self) -> bytes:
        """The on-chain lot id; an InputError if the link names no lot."""
        if self.lot is None:
            raise InputError("this Digital Link has no lot (AI 10)", field="lot")
        return lot_id(self.gtin, self.lot)

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
