"""Single values as people type them: addresses, 32-byte hex, amounts, durations, percentages,
dates. Each parser returns the value the library works with or raises one :class:`InputError`
that says what is wrong, with the value and where it came from (an option, a file's line and
field, a Python argument), so the command line and the library refuse bad input the same way and
before any node is asked anything."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation

from o2ochain.errors import InputError

_U256 = 2**256


@dataclass(frozen=True, slots=True)
class Where:
    """Where a value came from: an option (``--to``), or a file with its line and field."""

    field: str | None = None
    file: str | None = None
    line: int | None = None

    def error(self, message: str, value: object = None) -> InputError:
        return InputError(message, file=self.file, line=self.line, field=self.field, value=value)


def _where(where: Where | str | None) -> Where:
    if where is None:
        return Where()
    return Where(field=where) if isinstance(where, str) else where


# ------------------------------------------------------------------------------------------
# Addresses

_HEX40 = re.compile(r"0[xX][0-9a-fA-F]{40}")


def address(text: object, where: Where | str | None = None, *, allow_zero: bool = False) -> str:
    """An Ethereum address in its EIP-55 checksummed form.

    All-lowercase and all-uppercase hex are accepted (they carry no checksum); mixed case must
    be the EIP-55 checksum exactly, so one mistyped letter is caught instead of paying a stranger.
    Names (ENS) are not looked up. The zero address is refused unless ``allow_zero``.
    """
    at = _where(where)
    if isinstance(text, bytes | bytearray) and len(text) == 20:
        text = "0x" + bytes(text).hex()
    if not isinstance(text, str):
        raise at.error(f"{text!r} is not an address: expected 0x and 40 hex digits", text)
    raw = text.strip()
    if not _HEX40.fullmatch(raw):
        shown = raw if len(raw) <= 50 else raw[:47] + "..."
        if re.fullmatch(r"0[xX][0-9a-fA-F]*", raw):
            why = f"{len(raw) - 2} hex digits where an address has 40"
        elif raw.endswith(".eth"):
            why = "names are not looked up: give the 0x address"
        else:
            why = "expected 0x and 40 hex digits"
        raise at.error(f"{shown!r} is not an address: {why}", text)
    digits = raw[2:]
    # Imported here: eth-utils brings pydantic and takes a tenth of a second, which a command
    # that reads no address (`o2ochain trace show`, every --help) should not pay at start-up.
    from eth_utils.address import to_checksum_address

    checksummed = to_checksum_address("0x" + digits.lower())
    if digits != digits.lower() and digits != digits.upper() and checksummed[2:] != digits:
        raise at.error(
            f"{raw} has a wrong EIP-55 checksum (a character mistyped?): check it against its source, "
            "or give it all in lowercase to skip the check",
            text,
        )
    if not allow_zero and int(digits, 16) == 0:
        raise at.error("the zero address is no one's address", text)
    return checksummed


# ------------------------------------------------------------------------------------------
# Fixed-size hex


def bytes32(text: object, where: Where | str | None = None, *, what: str = "32-byte value") -> bytes:
    """32 bytes given as 64 hex digits, with or without ``0x`` (or as ``bytes`` already)."""
    at = _where(where)
    if isinstance(text, bytes | bytearray):
        if len(text) != 32:
            raise at.error(f"a {what} is 32 bytes, not {len(text)}", text)
        return bytes(text)
    if not isinstance(text, str):
        raise at.error(f"{text!r} is not a {what}: expected 64 hex digits", text)
    raw = text.strip()
    body = raw[2:] if raw[:2] in ("0x", "0X") else raw
    if not re.fullmatch(r"[0-9a-fA-F]{64}", body):
        count = len(body) if re.fullmatch(r"[0-9a-fA-F]*", body) else None
        why = f"{count} hex digits where it has 64" if count is not None else "expected 64 hex digits"
        raise at.error(f"{raw!r} is not a {what}: {why}", text)
    return bytes.fromhex(body)


# ------------------------------------------------------------------------------------------
# Numbers with units


def _scaled(value: Decimal, places: int) -> Decimal:
    """``value`` times ten to the ``places``, exactly (decimal's default context keeps only 28
    digits, so a 29-digit uint96 amount would come back rounded)."""
    return value.scaleb(places, Context(prec=len(value.as_tuple().digits) + 2, Emax=MAX_EMAX, Emin=MIN_EMIN))


_DURATION = re.compile(r"(\d+)\s*([a-z]*)")
_SECONDS = {
    "": 1,
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3_600,
    "hour": 3_600,
    "hours": 3_600,
    "d": 86_400,
    "day": 86_400,
    "days": 86_400,
    "w": 604_800,
    "week": 604_800,
    "weeks": 604_800,
}


def duration(text: object, where: Where | str | None = None, *, minimum: int = 0, maximum: int | None = None) -> int:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w``, ``1d12h`` or plain seconds, as seconds."""
    at = _where(where)
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    elif isinstance(text, str) and text.strip():
        raw = text.strip().lower().replace(" ", "")
        pos, seconds, parts = 0, 0, 0
        while pos < len(raw):
            match = _DURATION.match(raw, pos)
            if not match or match.group(2) not in _SECONDS:
                raise at.error(f"{text!r} is not a duration: use e.g. 30d, 12h, 90m, 1d12h or seconds", text)
            seconds += int(match.group(1)) * _SECONDS[match.group(2)]
            pos, parts = match.end(), parts + 1
        if parts > 1 and "" in [m.group(2) for m in _DURATION.finditer(raw)]:
            raise at.error(f"{text!r} is not a duration: give every part a unit (1d12h)", text)
    else:
        raise at.error(f"{text!r} is not a duration: use e.g. 30d, 12h, 90m or seconds", text)
    if seconds < minimum:
        raise at.error(f"{_say_seconds(seconds)} is too short: at least {_say_seconds(minimum)}", text)
    if maximum is not None and seconds > maximum:
        raise at.error(f"{_say_seconds(seconds)} is too long: at most {_say_seconds(maximum)}", text)
    return seconds


def _say_seconds(seconds: int) -> str:
    for unit, size in (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def percent(text: object, where: Where | str | None = None) -> int:
    """``5%``, ``2.5%`` or ``5`` as basis points (0..10,000)."""
    at = _where(where)
    body = str(text).strip().removesuffix("%").strip()
    try:
        value = Decimal(body)
    except InvalidOperation:
        raise at.error(f"{text!r} is not a percentage: use e.g. 5%", text) from None
    if not value.is_finite() or value.adjusted() > 5 or _scaled(value, 2) != _scaled(value, 2).to_integral_value():
        raise at.error(f"{text!r} is not a percentage with at most two decimals", text)
    bps = int(_scaled(value, 2))
    if not 0 <= bps <= 10_000:
        raise at.error(f"{text} is not between 0% and 100%", text)
    return bps


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount as a person wrote it (``"1.25"``, ``"1.25 USDC"``), its form already checked.

    Its base units wait for the currency's decimals (:meth:`units`), which may have to be read
    from a chain: the command line checks the form before connecting and the decimals after.
    """

    number: Decimal
    unit: str | None
    text: str
    where: Where = Where()

    def units(self, decimals: int, *, symbol: str | None = None, maximum: int = 2**96 - 1, allow_zero: bool = False) -> int:
        """The amount in base units of a currency with ``decimals`` decimals (and ``symbol``, if
        the amount names a unit); more decimal places than the currency has are refused."""
        at = self.where
        if self.unit is not None and (symbol is None or self.unit.lower() != symbol.lower()):
            expected = f"in {symbol}" if symbol else "a plain number"
            raise at.error(f"{self.text!r}: the amount is {expected}, not {self.unit}", self.text)
        if self.number.adjusted() + decimals > len(str(maximum)):  # 1E+999999999: said before it is computed
            raise at.error(f"{self.text} is more than the contract can hold", self.text)
        scaled = _scaled(self.number, decimals)
        if scaled != scaled.to_integral_value():
            raise at.error(f"{self.text} has more than {decimals} decimal places, the most this currency has", self.text)
        units = int(scaled)
        if units == 0 and not allow_zero:
            raise at.error("the amount must be more than zero", self.text)
        if units > maximum:
            raise at.error(f"{self.text} is more than the contract can hold", self.text)
        return units


def decimal_amount(text: object, where: Where | str | None = None) -> Amount:
    """The form of an amount (a non-negative decimal number, then perhaps a unit), checked before
    its currency is known; :meth:`Amount.units` finishes the job."""
    if isinstance(text, Amount):
        return text
    at = _where(where)
    raw = str(text).strip()
    number, _, unit = raw.partition(" ")
    if "," in number:  # 1,500 is fifteen hundred to some and one and a half to others
        raise at.error(f"{raw!r}: write amounts with a dot for decimals and no thousands separator, e.g. 1500.50", text)
    try:
        value = Decimal(number.replace("_", ""))
    except InvalidOperation:
        raise at.error(f"{raw!r} is not an amount: use e.g. 12.50", text) from None
    if not value.is_finite():
        raise at.error(f"{raw!r} is not an amount: use e.g. 12.50", text)
    if value < 0:
        raise at.error(f"{raw} is negative", text)
    return Amount(value, unit.strip() or None, raw, at)


def amount(
    text: object,
    decimals: int,
    where: Where | str | None = None,
    *,
    symbol: str | None = None,
    maximum: int = 2**96 - 1,
    allow_zero: bool = False,
) -> int:
    """A decimal amount of a currency (``"188"``, ``"1.25"``, ``"1.25 USDC"``) in base units.

    ``decimals`` is the currency's (18 for the native coin, the ERC-20's ``decimals()``). A unit
    after the number must be ``symbol``; more decimal places than the currency has are refused,
    never rounded away. ``text`` may be an :class:`Amount` from :func:`decimal_amount`.
    """
    return decimal_amount(text, where).units(decimals, symbol=symbol, maximum=maximum, allow_zero=allow_zero)


def format_amount(units: int, decimals: int, symbol: str | None = None) -> str:
    """Base units as people read them: ``12500000`` at 6 decimals is ``12.5`` (``12.5 USDC``)."""
    whole, frac = divmod(abs(units), 10**decimals)
    digits = str(frac).rjust(decimals, "0").rstrip("0") if decimals else ""
    text = ("-" if units < 0 else "") + f"{whole:,}" + (f".{digits}" if digits else "")
    return f"{text} {symbol}" if symbol else text


def integer(text: object, where: Where | str | None = None, *, minimum: int = 0, maximum: int = _U256 - 1, what: str = "number") -> int:
    """A whole number in a range (``1_000`` and ``1,000`` accepted)."""
    at = _where(where)
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        raw = str(text).strip().replace("_", "").replace(",", "")
        if not re.fullmatch(r"\d+", raw):
            raise at.error(f"{text!r} is not a whole {what}", text)
        value = int(raw)
    if value < minimum:
        raise at.error(f"{value} is too small: the {what} is at least {minimum:,}", text)
    if value > maximum:
        raise at.error(f"{value} is too large: the {what} is at most {maximum:,}", text)
    return value


# ------------------------------------------------------------------------------------------
# Dates and times


def day(text: object, where: Where | str | None = None) -> date:
    """A calendar date, ``2026-12-31``."""
    at = _where(where)
    if isinstance(text, date) and not isinstance(text, datetime):
        return text
    raw = str(text).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise at.error(f"{raw!r} is not a date: use YYYY-MM-DD, e.g. 2026-12-31", text)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise at.error(f"{raw} is no day of the calendar", text) from None


def moment(text: object, where: Where | str | None = None, *, zone_required: bool = False) -> datetime:
    """A point in time: ``2026-12-31``, ``2026-12-31T08:00:00Z``, ``2026-12-31 08:00+08:00`` or a
    unix time in seconds; without a zone it is UTC, or refused with ``zone_required`` (where the
    zone is part of the record, as an EPCIS event's)."""
    at = _where(where)
    if isinstance(text, datetime):
        if text.tzinfo is None and zone_required:
            raise at.error(f"{text.isoformat()} has no UTC offset (add Z or +hh:mm)", text)
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    raw = str(text).strip()
    if re.fullmatch(r"\d{9,11}", raw):
        return datetime.fromtimestamp(int(raw), UTC)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) and not zone_required:
            parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise at.error(f"{raw!r} is not a time: use e.g. 2026-12-31 or 2026-12-31T08:00:00Z", text) from None
    if parsed.tzinfo is None and zone_required:
        raise at.error(f"{raw} has no UTC offset (add Z or +hh:mm)", text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
