"""A brand's catalogue of items: reading and validating the CSV it registers on chain.

A brand exports its items from an ERP or a spreadsheet as CSV, one item per row::

    gtin,serial,lot,expiry
    09506000134352,SN0001,LOT-7,2026-12-31
    09506000134352,SN0002,LOT-7,261231

The whole file is validated before anything else happens, and every problem found is reported
at once (file, line, column) in one :class:`~o2ochain.errors.InputErrors`: a registration of
100,000 items must never stop at item 60,000 because of a typo, and fixing a file one error per
run is a waste of everyone's afternoon. Nothing is written by this module.

Columns (header names are case-insensitive; spaces and ``-`` count as ``_``; other columns are
ignored):

============  ==============================================  ========
column        also accepted as                                required
============  ==============================================  ========
``gtin``      ``gtin14``, ``01``, ``(01)``                    yes
``serial``    ``serial_number``, ``serial_no``, ``sn``, ``21``  yes
``lot``       ``batch``, ``lot_number``, ``10``, ``(10)``     yes
``expiry``    ``expiry_date``, ``exp``, ``17``, ``(17)``      no
============  ==============================================  ========

The delimiter is ``,`` unless the header line has none and has ``;`` or a tab (common in
spreadsheets saved in some locales). A UTF-8 byte-order mark is ignored; blank lines are
skipped; cells are trimmed (no valid GS1 value contains a space).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final, Protocol

from o2ochain.errors import InputError, InputErrors
from o2ochain.gs1 import (
    DEFAULT_RESOLVER,
    DigitalLink,
    is_gs1_x20,
    item_id,
    lot_id,
    normalize_gtin,
    parse_expiry,
    validate_lot,
    validate_serial,
)

COLUMN_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "gtin": ("gtin", "gtin14", "01", "(01)"),
    "serial": ("serial", "serial_number", "serial_no", "sn", "21", "(21)"),
    "lot": ("lot", "batch", "lot_number", "batch_number", "10", "(10)"),
    "expiry": ("expiry", "expiry_date", "exp", "17", "(17)"),
}
"""Header names accepted for each column, after lower-casing and ``' '``/``-`` → ``_``."""

_REQUIRED: Final = ("gtin", "serial", "lot")
_BY_ALIAS: Final = {alias: column for column, names in COLUMN_ALIASES.items() for alias in names}
_BOM: Final = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """One validated row of a catalogue: a GTIN-14, a serial, a lot and an optional expiry.

    ``line`` is the 1-based line of the row in its file, kept so that a later failure (the
    chain says an item already exists) can point back at the row. Ids are computed on demand:
    most callers need them once, in a tight loop, and 100,000 cached digests are memory no one
    asked for.
    """

    gtin: str
    serial: str
    lot: str
    expiry: date | None
    line: int

    @property
    def item_id(self) -> bytes:
        """``keccak256("/01/{gtin}/21/{serial}")``, as the contracts compute it."""
        return item_id(self.gtin, self.serial)

    @property
    def lot_id(self) -> bytes:
        """``keccak256("/01/{gtin}/10/{lot}")``, as the contracts compute it."""
        return lot_id(self.gtin, self.lot)

    def digital_link(self, resolver: str = DEFAULT_RESOLVER) -> DigitalLink:
        """The GS1 Digital Link to print on this item's QR code."""
        return DigitalLink(gtin=self.gtin, serial=self.serial, lot=self.lot, expiry=self.expiry, resolver=resolver)


class _Rows(Protocol):
    """What we need of ``csv.reader``: rows, and the number of physical lines read so far."""

    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...


class _TooManyErrors(Exception):
    """Internal: the error budget is spent; stop reading and report what we have."""


class _Collector:
    """Gathers InputErrors up to ``limit``, then stops the pass with a closing note."""

    def __init__(self, file: str, limit: int) -> None:
        self.file = file
        self.limit = max(1, limit)
        self.errors: list[InputError] = []

    def add(self, message: str, line: int | None, field: str | None, value: object = None) -> None:
        self.errors.append(InputError(message, file=self.file, line=line, field=field, value=value))
        self.check()

    def add_error(self, error: InputError, line: int) -> None:
        self.errors.append(InputError(error.message, file=self.file, line=line, field=error.field, value=error.value))
        self.check()

    def check(self) -> None:
        if len(self.errors) >= self.limit:
            self.errors.append(
                InputError(
                    f"stopped after {self.limit} problems; fix these and run again",
                    file=self.file,
                )
            )
            raise _TooManyErrors


def read_catalogue(path: str | Path, *, max_errors: int = 1000) -> list[CatalogueItem]:
    """Read and validate a catalogue CSV; return its items in file order.

    Every row is checked — GTIN and check digit, serial and lot against GS1 ``X..20``, expiry
    as ``YYYY-MM-DD`` or ``YYMMDD``, cell count, (GTIN, serial) unique in the file, one expiry
    per lot — and all problems are raised together as :class:`InputErrors` (at most
    ``max_errors`` of them). A problem with the file as a whole (missing, unreadable, empty, no
    rows, required columns missing) is a single :class:`InputError`.
    """
    name = str(path)
    data = _read_bytes(Path(path), name)
    data = data.removeprefix(_BOM)
    if not data.strip():
        raise InputError("the file is empty; expected a header line such as gtin,serial,lot", file=name)

    errors = _Collector(name, max_errors)
    items: list[CatalogueItem] = []
    try:
        text = _decode(data, errors)
        _parse(text, name, errors, items)
    except _TooManyErrors:
        pass
    except InputError as exc:
        # A file-level problem (no header, missing columns) after row problems were already
        # found (say, a header line that is not UTF-8): report them all together.
        if not errors.errors:
            raise
        errors.errors.append(exc)
    InputErrors.raise_if_any(errors.errors)
    return items


def catalogue_from_rows(rows: Iterable[Sequence[str]], *, source: str = "<rows>", max_errors: int = 1000) -> list[CatalogueItem]:
    """Validate items given from Python as ``(gtin, serial, lot[, expiry])`` rows.

    The same checks as :func:`read_catalogue`, with errors located as ``source:line`` where
    line 2 is the first row (line 1 being the implied header), exactly as in a CSV file.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["gtin", "serial", "lot", "expiry"])
    for row in rows:
        cells = [str(c) if c is not None else "" for c in row]
        writer.writerow(cells + [""] * (4 - len(cells)) if len(cells) < 4 else cells)
    errors = _Collector(source, max_errors)
    items: list[CatalogueItem] = []
    try:
        _parse(buffer.getvalue(), source, errors, items)
    except _TooManyErrors:
        pass
    InputErrors.raise_if_any(errors.errors)
    if not items:
        raise InputError("no items given", file=source)
    return items


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=name) from None
    except IsADirectoryError:
        raise InputError("this is a directory, not a CSV file", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=name) from None


def _decode(data: bytes, errors: _Collector) -> str:
    """Decode UTF-8; on failure, name every bad line and the byte offset of its first bad byte.

    Bad lines are replaced by empty lines so the other rows are still validated and keep their
    line numbers.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    offset = 0
    for number, raw in enumerate(lines, start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.add(
                f"not UTF-8: byte 0x{raw[exc.start]:02X} at byte {exc.start + 1} of the line "
                f"(byte offset {offset + exc.start} in the file); save the file as UTF-8",
                number,
                None,
            )
            lines[number - 1] = b""
        offset += len(raw) + 1
    return b"\n".join(lines).decode("utf-8")


def _canonical_header(cell: str) -> str:
    return cell.strip().lower().replace(" ", "_").replace("-", "_")


def _delimiter(text: str) -> str:
    """``,`` unless the first non-blank line has none but has ``;`` or a tab."""
    first = next((line for line in io.StringIO(text) if line.strip()), "")
    if "," not in first:
        if ";" in first:
            return ";"
        if "\t" in first:
            return "\t"
    return ","


def _checked(cache: dict[str, str | InputError], raw: str, check: Callable[[str], str]) -> str | InputError:
    """``check(raw)``, or the InputError it raised, computed once per distinct value.

    A catalogue repeats the same few GTINs and lots on thousands of rows: validating each
    distinct value once keeps a 100,000-row file fast.
    """
    found = cache.get(raw)
    if found is None:
        try:
            found = check(raw)
        except InputError as exc:
            found = exc
        cache[raw] = found
    return found


def _parse(text: str, name: str, errors: _Collector, items: list[CatalogueItem]) -> None:
    """Parse rows into ``items``, reporting every problem to ``errors``."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        _parse_rows(reader, name, errors, items)
    except csv.Error as exc:
        # A quoting error makes the rest of the file unreadable; report where it happened.
        errors.add(f"malformed CSV: {exc}", reader.line_num or None, None)


def _parse_rows(reader: _Rows, name: str, errors: _Collector, items: list[CatalogueItem]) -> None:
    rows = iter(reader)
    last_line = 0

    def next_row() -> tuple[int, list[str]] | None:
        """Next non-blank row and the line it starts on."""
        nonlocal last_line
        for row in rows:
            start = last_line + 1
            last_line = reader.line_num
            if any(cell.strip() for cell in row):
                return start, row
        return None

    header = next_row()
    if header is None:
        raise InputError("the file has no header line", file=name)
    header_line, header_cells = header
    columns = _map_columns(header_cells, name, header_line)
    width = len(header_cells)
    g_col, s_col, l_col = columns["gtin"], columns["serial"], columns["lot"]
    e_col = columns.get("expiry")

    gtins: dict[str, str | InputError] = {}
    lots: dict[str, str | InputError] = {}
    expiries: dict[str, date | InputError] = {}
    seen_items: dict[tuple[str, str], int] = {}
    lot_expiry: dict[tuple[str, str], tuple[date | None, int]] = {}
    add = errors.add
    append = items.append
    x20_ok = is_gs1_x20

    while True:
        found = next_row()
        if found is None:
            break
        line, row = found
        if len(row) != width:
            add(
                f"expected {width} cells like the header, got {len(row)}",
                line,
                None,
                ",".join(row)[:200],
            )
            continue
        bad = False

        gtin = _checked(gtins, row[g_col].strip(), normalize_gtin)
        if isinstance(gtin, InputError):
            errors.add_error(gtin, line)
            bad = True

        serial = row[s_col].strip()
        if not x20_ok(serial):
            try:
                validate_serial(serial)
            except InputError as exc:
                errors.add_error(exc, line)
                bad = True

        lot = _checked(lots, row[l_col].strip(), validate_lot)
        if isinstance(lot, InputError):
            errors.add_error(lot, line)
            bad = True

        expiry: date | InputError | None = None
        if e_col is not None:
            raw_expiry = row[e_col].strip()
            if raw_expiry:
                expiry = expiries.get(raw_expiry)
                if expiry is None:
                    try:
                        expiry = parse_expiry(raw_expiry)
                    except InputError as exc:
                        expiry = exc
                    expiries[raw_expiry] = expiry
                if isinstance(expiry, InputError):
                    errors.add_error(expiry, line)
                    bad = True
        if bad:
            continue
        assert isinstance(gtin, str) and isinstance(lot, str) and not isinstance(expiry, InputError)

        key = (gtin, serial)
        first = seen_items.setdefault(key, line)
        if first != line:
            add(
                f"duplicate item: GTIN {gtin} serial {serial!r} is already on line {first}",
                line,
                "serial",
                serial,
            )
            continue
        lot_key = (gtin, lot)
        known = lot_expiry.setdefault(lot_key, (expiry, line))
        if known[0] != expiry:
            add(
                f"lot {lot!r} of GTIN {gtin} has expiry {_show(expiry)} here but "
                f"{_show(known[0])} on line {known[1]}; a lot has one expiry date",
                line,
                "expiry",
                expiry,
            )
            continue
        append(CatalogueItem(gtin, serial, lot, expiry, line))

    if not items and not errors.errors:
        raise InputError("no items: the file has a header but no rows", file=name)


def _show(expiry: date | None) -> str:
    return "none" if expiry is None else expiry.isoformat()


def _map_columns(cells: list[str], name: str, line: int) -> dict[str, int]:
    """Map the canonical column names to their positions, refusing missing or repeated ones."""
    columns: dict[str, int] = {}
    for position, cell in enumerate(cells):
        column = _BY_ALIAS.get(_canonical_header(cell))
        if column is None:
            continue
        if column in columns:
            raise InputError(
                f"two columns mean {column!r}: {cells[columns[column]].strip()!r} and {cell.strip()!r}",
                file=name,
                line=line,
                field=column,
            )
        columns[column] = position
    missing = [column for column in _REQUIRED if column not in columns]
    if missing:
        found = ", ".join(repr(c.strip()) for c in cells) or "none"
        raise InputError(
            f"missing column(s) {', '.join(missing)}; the header has {found} (required: gtin, serial, lot; optional: expiry)",
            file=name,
            line=line,
        )
    return columns


def group_by_lot(items: Iterable[CatalogueItem]) -> dict[tuple[str, str], list[CatalogueItem]]:
    """Group items by ``(gtin, lot)``, keeping the order of first appearance and of items."""
    groups: dict[tuple[str, str], list[CatalogueItem]] = {}
    for item in items:
        key = (item.gtin, item.lot)
        group = groups.get(key)
        if group is None:
            groups[key] = [item]
        else:
            group.append(item)
    return groups
