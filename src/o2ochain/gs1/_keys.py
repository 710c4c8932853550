"""GS1 keys and the values that qualify them: GTIN, GLN and SSCC with their one mod-10 check
digit, serials and lots (GS1 ``X..20``), expiry dates (AI 17), and the ids the contracts hash
them into (keccak-256 of the unescaped Digital Link path)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date
from typing import Final

from o2ochain._chain import util
from o2ochain.errors import InputError

MAX_SERIAL_LENGTH: Final = 20
"""AI 21 and AI 10 are both ``X..20``: at most 20 characters."""

GS1_CHARSET_82: Final = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
"""GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1)."""

_X20: Final = re.compile(r"[!\"%-?A-Z_a-z]{1,20}")
_DIGITS: Final = re.compile(r"[0-9]+")
_ISO_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_YYMMDD: Final = re.compile(r"[0-9]{6}")
_GTIN_LENGTHS: Final = (8, 12, 13, 14)

#: Ethereum's keccak-256 (not NIST SHA3-256) of ``data``: the fastest backend installed (see
#: :mod:`o2ochain._chain.util`), named here as gs1 names it (``o2ochain.gs1.keccak256``).
keccak256: Final[Callable[[bytes], bytes]] = util.keccak256


# --------------------------------------------------------------------------------------------
# keccak256


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
