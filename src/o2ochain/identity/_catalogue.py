"""A brand's catalogue of items: reading and validating the CSV it registers on chain.

A brand exports its items from an ERP or a spreadsheet as CSV, one item per row::

    gtin,serial,lot,expiry
    09506000134352,SN0001,LOT-7,2026-12-31
    09506000134352,SN0002,LOT-7,261231

The whole file is validated before anything else happens, and every problem of every row is
reported at once (file, line, column) in one :class:`~o2ochain.errors.InputErrors`: a
registration of 100,000 items must never stop at item 60,000 because of a typo, and fixing a
file one error per run is a waste of everyone's afternoon. Nothing is written by this module.

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

The file is read by :class:`o2ochain.inputs.CsvReader`, as every CSV of the project is: the
delimiter (``,`` ``;`` tab ``|``) sniffed from the header line, a UTF-8 byte-order mark ignored,
blank lines skipped, cells trimmed (no valid GS1 value contains a space).

:func:`check_catalogue` validates a file of any size in constant memory — a million rows in a few
seconds, with progress — holding 8 bytes per row to find repeated items and no item itself;
:func:`read_catalogue` does the same checks and returns the items, for registering them.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final, TypeVar

from o2ochain.errors import InputError
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
from o2ochain.inputs import Column, CsvReader, Problems

COLUMN_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "gtin": ("gtin", "gtin14", "01", "(01)"),
    "serial": ("serial", "serial_number", "serial_no", "sn", "21", "(21)"),
    "lot": ("lot", "batch", "lot_number", "batch_number", "10", "(10)"),
    "expiry": ("expiry", "expiry_date", "exp", "17", "(17)"),
}
"""Header names accepted for each column, after lower-casing and ``' '``/``-`` → ``_``."""

_REQUIRED: Final = ("gtin", "serial", "lot")
COLUMNS: Final = tuple(Column(name, names[1:], required=name in _REQUIRED) for name, names in COLUMN_ALIASES.items())
"""The columns of a catalogue, as :class:`~o2ochain.inputs.CsvReader` looks for them."""

_CACHE_LIMIT: Final = 4096
"""Distinct GTINs, lots and expiry texts remembered as checked; past that the cache starts over."""
_BUCKETS: Final = 256

ProgressFn = Callable[[int, int], None]
"""``progress(done, total)``: bytes of the file read (a second look for repeated items counts as
a second reading of the file)."""


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """One validated row of a catalogue: a GTIN-14, a serial, a lot and an optional expiry.

    ``line`` is the 1-based line of the row in its file, and ``file`` the file (``None`` for rows
    given from Python), kept so that a later failure (the chain says an item already exists, or
    its product is not registered) can point back at the row. Ids are computed on demand: most
    callers need them once, in a tight loop, and 100,000 cached digests are memory no one asked for.
    """

    gtin: str
    serial: str
    lot: str
    expiry: date | None
    line: int
    file: str | None = field(default=None, compare=False, repr=False)

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


@dataclass(frozen=True, slots=True)
class CatalogueSummary:
    """What :func:`check_catalogue` found in a catalogue without problems."""

    file: str
    items: int
    lots: int
    products: dict[str, int]
    """Each GTIN of the file and the first line naming it (the one thing that grows with the
    file: with its product classes, not its rows)."""
    size: int
    """The file's size in bytes."""


_Row = tuple[int, str, str, str, date | None]
"""A row whose every cell is valid: line, GTIN-14, serial, lot, expiry."""


def check_catalogue(path: str | Path, *, max_errors: int = 1000, progress: ProgressFn | None = None) -> CatalogueSummary:
    """Validate a catalogue CSV of any size in constant memory; hold none of its items.

    The checks of :func:`read_catalogue`, with the same messages. Repeated items are found from
    8 bytes a row, kept in 256 buckets; only when some digest repeats is the file read a second
    time, to name the lines of the repeats. ``progress(done, total)`` follows the bytes read.
    """
    name = str(path)
    problems = Problems(name, limit=max_errors)
    reader = CsvReader(path, COLUMNS, problems, progress=progress, strip=False)
    tally = _Tally()
    tally.count(_valid_rows(reader, problems))
    if tally.suspects():

        def second(done: int, total: int) -> None:
            if progress is not None:
                progress(total + done, 2 * total)

        again = Problems(name, limit=0)  # the first pass reported these rows' problems already
        tally.name_repeats(_valid_rows(CsvReader(path, COLUMNS, again, progress=second, strip=False), again), problems)
    if not tally.rows and not problems:
        problems.fatal("no items: the file has a header but no rows")
    problems.raise_if_any()
    return CatalogueSummary(name, tally.rows, tally.lot_count, tally.products, reader.size)


def read_catalogue(path: str | Path, *, max_errors: int = 1000, progress: ProgressFn | None = None) -> list[CatalogueItem]:
    """Read and validate a catalogue CSV; return its items in file order.

    Every row is checked — GTIN and check digit, serial and lot against GS1 ``X..20``, expiry
    as ``YYYY-MM-DD`` or ``YYMMDD``, cell count, (GTIN, serial) unique in the file, one expiry
    per lot — and all problems are raised together as :class:`InputErrors` (the first
    ``max_errors`` listed, all counted). A problem with the file as a whole (missing, unreadable,
    empty, no rows, required columns missing) alone is a single :class:`InputError`.
    ``progress(done, total)`` follows the bytes read.
    """
    name = str(path)
    problems = Problems(name, limit=max_errors)
    items = _read(CsvReader(path, COLUMNS, problems, progress=progress, strip=False), problems, name)
    if not items and not problems:
        problems.fatal("no items: the file has a header but no rows")
    problems.raise_if_any()
    return items


def catalogue_from_rows(rows: Iterable[Sequence[str]], *, source: str = "<rows>", max_errors: int = 1000) -> list[CatalogueItem]:
    """Validate items given from Python as ``(gtin, serial, lot[, expiry])`` rows.

    The same checks as :func:`read_catalogue`, with errors located as ``source:line`` where
    line 2 is the first row (line 1 being the implied header), exactly as in a CSV file.
    """
    problems = Problems(source, limit=max_errors)
    items = _read(_python_rows(rows, problems), problems, None)
    problems.raise_if_any()
    if not items:
        raise InputError("no items given", file=source)
    return items


def _read(rows: Iterable[tuple[int, tuple[str, ...]]], problems: Problems, file: str | None) -> list[CatalogueItem]:
    """The items of ``rows``, all checked; the problems go to ``problems``."""
    items: list[CatalogueItem] = []
    tally = _Tally()
    tally.count(_valid_rows(rows, problems), items, file)
    if tally.suspects():
        tally.name_repeats(((it.line, it.gtin, it.serial, it.lot, it.expiry) for it in items), problems)
    return items


def _python_rows(rows: Iterable[Sequence[str]], problems: Problems) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Rows given from Python as a CSV reader gives them: line 2 first, blank ones skipped."""
    width = len(COLUMNS)
    for line, row in enumerate(rows, start=2):
        cells = ["" if cell is None else str(cell) for cell in row]
        if not "".join(cells).strip():
            continue
        if len(cells) > width:
            problems.add(f"expected {width} cells like the header, got {len(cells)}", line, None, ",".join(cells)[:200])
            continue
        yield line, tuple(cell.strip() for cell in cells) + ("",) * (width - len(cells))


def _valid_rows(rows: Iterable[tuple[int, tuple[str, ...]]], problems: Problems) -> Iterator[_Row]:
    """The rows whose every cell is valid; every problem of the others goes to ``problems``.

    A catalogue repeats the same few GTINs, lots and expiry dates on thousands of rows: each
    distinct value is checked once (up to ``_CACHE_LIMIT`` of them at a time), so a row costs a
    few dictionary lookups and one regular expression for its serial.
    """
    gtins: dict[str, str | InputError] = {}
    lots: dict[str, str | InputError] = {}
    expiries: dict[str, date | InputError | None] = {"": None}
    relocate, x20 = problems.relocate, is_gs1_x20
    for line, (raw_gtin, raw_serial, raw_lot, raw_expiry) in rows:
        gtin = gtins.get(raw_gtin)
        if gtin is None:
            gtin = _checked(gtins, raw_gtin, normalize_gtin)
        lot = lots.get(raw_lot)
        if lot is None:
            lot = _checked(lots, raw_lot, _lot)
        expiry = expiries.get(raw_expiry, _UNSEEN)
        if expiry is _UNSEEN:
            expiry = _checked(expiries, raw_expiry, _expiry)
        serial = raw_serial.strip()
        serial_ok = x20(serial)
        if serial_ok and isinstance(gtin, str) and isinstance(lot, str) and not isinstance(expiry, InputError):
            yield line, gtin, serial, lot, expiry
            continue
        # Every problem of the row, in the order of its columns.
        if isinstance(gtin, InputError):
            relocate(gtin, line)
        if not serial_ok:
            try:
                validate_serial(serial)
            except InputError as exc:
                relocate(exc, line)
        if isinstance(lot, InputError):
            relocate(lot, line)
        if isinstance(expiry, InputError):
            relocate(expiry, line)


def _lot(raw: str) -> str:
    return validate_lot(raw.strip())


def _expiry(raw: str) -> date | None:
    return parse_expiry(raw) if raw.strip() else None


_UNSEEN: Final = date.min
"""Stands for an expiry text not checked yet; compared by identity, so no parsed date is taken for it."""

_T = TypeVar("_T")


def _checked(cache: dict[str, _T | InputError], raw: str, check: Callable[[str], _T]) -> _T | InputError:
    """``check(raw)``, or the InputError it raised, remembered for the next rows with ``raw``."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    try:
        found: _T | InputError = check(raw)
    except InputError as exc:
        found = exc
    cache[raw] = found
    return found


class _Tally:
    """What the rows of a catalogue add up to, in 8 bytes a row: a 64-bit digest (Python's string
    hash) of each item's (GTIN, serial), in 256 buckets by its low byte, and of each lot with its
    expiry where the lot or expiry changes from the row before. A digest seen twice marks a suspect; :meth:`name_repeats` looks at the suspects' rows
    again to name real repeats with both lines (a 64-bit coincidence is then ruled out).
    """

    def __init__(self) -> None:
        self.rows = 0
        self.items = [array("q") for _ in range(_BUCKETS)]
        self.lot_keys = [array("q") for _ in range(_BUCKETS)]
        self.lot_expiries = [array("L") for _ in range(_BUCKETS)]
        self.products: dict[str, int] = {}
        self.lot_count = 0
        self.repeated: set[int] = set()
        self.conflicting: set[int] = set()

    def count(self, rows: Iterable[_Row], keep: list[CatalogueItem] | None = None, file: str | None = None) -> None:
        """Add up ``rows``; with ``keep``, also append each row's item to it."""
        items, lot_keys, lot_expiries, products = self.items, self.lot_keys, self.lot_expiries, self.products
        append = keep.append if keep is not None else None
        last_gtin = last_lot = ""
        last_expiry: date | None = _UNSEEN
        before, low = sum(map(len, items)), _BUCKETS - 1
        for line, gtin, serial, lot, expiry in rows:
            digest = hash(gtin + serial)  # GTINs are 14 digits: gtin + serial is unambiguous
            items[digest & low].append(digest)
            if lot is not last_lot or gtin is not last_gtin or expiry is not last_expiry:
                if gtin is not last_gtin and gtin not in products:
                    products[gtin] = line
                last_gtin, last_lot, last_expiry = gtin, lot, expiry
                key = hash(gtin + lot)
                lot_keys[key & low].append(key)
                lot_expiries[key & low].append(expiry.toordinal() if expiry is not None else 0)
            if append is not None:
                append(CatalogueItem(gtin, serial, lot, expiry, line, file))
        self.rows += sum(map(len, items)) - before

    def suspects(self) -> bool:
        """Find the digests seen twice (items) or with two expiries (lots); True when any."""
        for bucket in self.items:
            if len(set(bucket)) != len(bucket):
                self.repeated.update(digest for digest, times in Counter(bucket).items() if times > 1)
            del bucket[:]
        for keys, expiries in zip(self.lot_keys, self.lot_expiries, strict=True):
            first: dict[int, int] = {}
            for key, expiry in zip(keys, expiries, strict=True):
                if first.setdefault(key, expiry) != expiry:
                    self.conflicting.add(key)
            self.lot_count += len(first)
            del keys[:], expiries[:]
        return bool(self.repeated or self.conflicting)

    def name_repeats(self, rows: Iterable[_Row], problems: Problems) -> None:
        """Look at the valid rows again and report each repeated item and each lot given two
        expiry dates, with the line it first appeared on."""
        repeated, conflicting = self.repeated, self.conflicting
        seen: dict[tuple[str, str], int] = {}
        lots: dict[tuple[str, str], tuple[date | None, int]] = {}
        for line, gtin, serial, lot, expiry in rows:
            if repeated and hash(gtin + serial) in repeated:
                first = seen.setdefault((gtin, serial), line)
                if first != line:
                    problems.add(f"duplicate item: GTIN {gtin} serial {serial!r} is already on line {first}", line, "serial", serial)
                    continue
            if conflicting and hash(gtin + lot) in conflicting:
                known = lots.setdefault((gtin, lot), (expiry, line))
                if known[0] != expiry:
                    problems.add(
                        f"lot {lot!r} of GTIN {gtin} has expiry {_show(expiry)} here but "
                        f"{_show(known[0])} on line {known[1]}; a lot has one expiry date",
                        line,
                        "expiry",
                        expiry,
                    )


def _show(expiry: date | None) -> str:
    return "none" if expiry is None else expiry.isoformat()


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
