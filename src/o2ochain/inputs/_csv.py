"""CSV files as people export them, read the one way every CSV of the project is read.

A brand's catalogue and a till's sales file come from ERPs and spreadsheets: a byte-order mark,
``;`` or tab instead of ``,`` (spreadsheets in many locales), ``Serial Number`` for ``serial``,
CRLF line ends, blank lines. :class:`CsvReader` takes all of that and gives rows as
``(line, cells)``: the physical line a row starts on, and its cells in the order of the
:class:`Column` s asked for, trimmed. What is wrong goes to a :class:`Problems`, located by file,
line and field, and reading goes on, so that one run names every problem of every row.

The file is read in constant memory, whatever its size: binary chunks decoded as UTF-8 a chunk
at a time (a line that is not UTF-8 is reported with its line number and byte offset and read as
a blank line), rows parsed as they stream, and at most ``limit`` problems kept to be listed
(the others are counted). The delimiter is sniffed from the header line: the one of ``,`` ``;``
tab ``|`` it holds most of. Header names are matched without regard to case, and spaces and
``-`` count as ``_``; columns nobody asked for are ignored.

    problems = Problems("items.csv")
    for line, (gtin, serial) in CsvReader("items.csv", [Column("gtin"), Column("serial")], problems):
        ...
    problems.raise_if_any()     # InputErrors listing them all, or nothing
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO, Final

from o2ochain.errors import InputError, InputErrors

DELIMITERS: Final = (",", ";", "\t", "|")
"""The delimiters sniffed from the header line, preferred in this order on a tie."""

CHUNK_BYTES: Final = 1 << 18
"""How much of a file is read and decoded at a time."""

MAX_LINE_BYTES: Final = 1 << 20
"""A physical line longer than this is no row of ours: it is reported and skipped."""

_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_LINES: Final = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
"""Physical lines as ``io.StringIO(newline="")`` splits them: ends kept, CR, LF and CRLF."""

ProgressFn = Callable[[int, int], None]
"""``progress(done, total)``: bytes read of the file's size."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column a reader expects: its name, other names it is known by, whether it must be there."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True


def canonical_header(cell: str) -> str:
    """A header cell as columns are matched: trimmed, lower case, spaces and ``-`` as ``_``."""
    return cell.strip().lower().replace(" ", "_").replace("-", "_")


class Problems:
    """Every problem found in one file, in constant memory: the first ``limit`` are kept to be
    listed with their file, line and field; the others are only counted.

    A problem with the file as a whole (not found, no header, a column missing) is *fatal*:
    when it is the only problem, :meth:`raise_if_any` raises it alone rather than in a list.
    """

    def __init__(self, file: str | None, *, limit: int = 1000) -> None:
        self.file = file
        self.limit = max(0, limit)
        self.kept: list[InputError] = []
        self.count = 0
        self.fatal_count = 0

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, message: str, line: int | None = None, field: str | None = None, value: object = None) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(InputError(message, file=self.file, line=line, field=field, value=value))

    def relocate(self, error: InputError, line: int | None, field: str | None = None) -> None:
        """Record ``error``, raised by a value parser that did not know where, at this file and line."""
        self.add(error.message, error.line if error.line is not None else line, error.field or field, error.value)

    def fatal(self, message: str, line: int | None = None, field: str | None = None) -> None:
        """Record a problem with the file as a whole: what follows it cannot be read."""
        self.fatal_count += 1
        self.add(message, line, field)

    @property
    def errors(self) -> list[InputError]:
        """The kept problems in line order (file-wide ones last)."""
        return sorted(self.kept, key=lambda e: (e.line is None, e.line or 0))

    def raise_if_any(self) -> None:
        """Raise what was found: the one file-wide problem alone, else :class:`InputErrors`
        (whose ``total`` counts the problems not kept as well)."""
        if not self.count:
            return
        if self.count == 1 and self.fatal_count == 1 and self.kept:
            raise self.kept[0]
        raise InputErrors(self.errors, total=self.count)


class CsvReader:
    """The rows of one CSV file, streamed: ``for line, cells in CsvReader(path, columns, problems)``.

    ``cells`` holds one trimmed string per column of ``columns``, in that order ("" for an
    optional column the file lacks). Blank rows are skipped; a row with another number of cells
    than the header, a row the CSV syntax cannot read, a line that is not UTF-8 are reported to
    ``problems`` and skipped. A file that cannot be read at all (missing, empty, no header, a
    required column missing, two columns of one meaning) is reported as fatal and gives no rows.

    After iteration ``size`` is the file's size in bytes, ``delimiter`` the one sniffed, and
    ``positions`` maps each column found to its position in the file. ``progress(done, total)``
    is called with the bytes read as the file streams. ``strip=False`` leaves the cells as they
    are, for a reader that trims only what it needs (a fifth of the time goes to trimming).
    """

    def __init__(
        self,
        path: str | Path,
        columns: Sequence[Column],
        problems: Problems | None = None,
        *,
        progress: ProgressFn | None = None,
        strip: bool = True,
    ) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.columns = tuple(columns)
        self.problems = problems if problems is not None else Problems(self.name)
        self.progress = progress
        self.strip = strip
        self.size = 0
        self.delimiter = ","
        self.header_line = 0
        self.positions: dict[str, int] = {}
        self._lines_read = 0

    # -- opening -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[int, tuple[str, ...]]]:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            self.problems.fatal("file not found")
            return
        except IsADirectoryError:
            self.problems.fatal("this is a directory, not a CSV file")
            return
        except OSError as exc:
            self.problems.fatal(f"cannot read the file: {exc.strerror or exc}")
            return
        with handle:
            try:
                self.size = os.fstat(handle.fileno()).st_size
            except OSError:  # pragma: no cover - an open file always has a status
                self.size = 0
            yield from self._rows(handle)

    # -- bytes to lines ------------------------------------------------------------------
    def _chunks(self, handle: BinaryIO) -> Iterator[io.StringIO]:
        """The file's text, a chunk of whole lines at a time (each as an iterator of its lines)."""
        read, problems, progress = handle.read, self.problems, self.progress
        done = offset = 0  # bytes read; file offset of the first byte of ``pending``
        pending = b""
        skipping = False  # inside an over-long line, dropping bytes up to its end
        first = True
        while True:
            chunk = read(CHUNK_BYTES)
            done += len(chunk)
            eof = not chunk
            if first:
                first = False
                if chunk.startswith(_UTF16_BOMS):
                    problems.fatal("not UTF-8 but UTF-16 (it starts with a UTF-16 byte-order mark): save the file as UTF-8 CSV")
                    return
                if chunk.startswith(_BOM):
                    chunk, offset = chunk[len(_BOM) :], len(_BOM)
            if skipping:
                end = _first_line_end(chunk)
                if end < 0 and not eof:
                    offset += len(chunk)
                    continue
                skipping, end = False, max(end, 0)
                offset += end
                chunk = chunk[end:]
                self._lines_read += 1
                yield io.StringIO("\n")
            buffer = pending + chunk if pending else chunk
            if eof:
                cut = len(buffer)
            else:
                cut = buffer.rfind(b"\n") + 1 or _last_cr_cut(buffer)
                if cut == 0 and len(buffer) > MAX_LINE_BYTES:
                    problems.add(f"a line of more than {MAX_LINE_BYTES:,} bytes: not a CSV row; skipped", self._lines_read + 1)
                    offset += len(buffer)
                    pending, skipping = b"", True
                    continue
            whole, pending = buffer[:cut], buffer[cut:]
            if whole:
                try:
                    text = whole.decode("utf-8")
                except UnicodeDecodeError:
                    text = self._repair(whole, offset)
                self._lines_read += _count_lines(whole)
                offset += cut
                yield io.StringIO(text, newline="")
            if progress is not None:
                progress(done, max(self.size, done))
            if eof:
                return

    def _repair(self, data: bytes, offset: int) -> str:
        """Decode ``data`` line by line: each line that is not UTF-8 is reported and read as blank."""
        out: list[str] = []
        number, position = self._lines_read, 0
        for raw in _LINES.findall(data):
            number += 1
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                self.problems.add(
                    f"not UTF-8: byte 0x{raw[exc.start]:02X} at byte {exc.start + 1} of the line "
                    f"(byte offset {offset + position + exc.start} in the file); save the file as UTF-8",
                    number,
                )
                out.append(raw[len(raw.rstrip(b"\r\n")) :].decode("ascii") or "\n")
            position += len(raw)
        return "".join(out)

    # -- lines to rows -------------------------------------------------------------------
    def _rows(self, handle: BinaryIO) -> Iterator[tuple[int, tuple[str, ...]]]:
        problems = self.problems
        lines = itertools.chain.from_iterable(self._chunks(handle))
        peeked: list[str] = []
        for text in lines:
            peeked.append(text)
            if text.strip():
                break
        else:
            if problems.fatal_count:
                return
            if problems:
                problems.fatal("the file has no header line")
            else:
                names = ",".join(c.name for c in self.columns if c.required)
                problems.fatal(f"the file is empty; expected a header line such as {names}")
            return
        self.delimiter = sniff_delimiter(peeked[-1])
        reader = csv.reader(itertools.chain(peeked, lines), delimiter=self.delimiter, strict=True)
        header = self._header(reader)
        if header is None:
            return
        width = len(header)
        index = [self.positions.get(c.name, -1) for c in self.columns]
        getter: Callable[[list[str]], tuple[str, ...]]
        if -1 in index:
            getter = lambda row: tuple(row[i] if i >= 0 else "" for i in index)  # noqa: E731
        elif len(index) == 1:
            getter = lambda row: (row[index[0]],)  # noqa: E731
        else:
            getter = itemgetter(*index)
        strip, trim, delimiter, add = str.strip, self.strip, self.delimiter, problems.add
        last = reader.line_num
        while True:
            try:
                for row in reader:
                    line = last + 1
                    last = reader.line_num
                    if len(row) == width:
                        if row[0].strip() or "".join(row).strip():  # else a blank row
                            yield line, tuple(map(strip, getter(row))) if trim else getter(row)
                    elif row and "".join(row).strip():
                        add(f"expected {width} cells like the header, got {len(row)}", line, None, delimiter.join(row)[:200])
                return
            except csv.Error as exc:  # a stray quote, a field over the csv module's limit: this row only
                last = reader.line_num
                add(f"malformed CSV: {exc}", last or None)

    def _header(self, reader: Any) -> list[str] | None:
        """Read the header row (the first that is not blank) and map the columns; ``None`` when
        the file cannot be read on."""
        problems = self.problems
        try:
            for row in reader:
                if row and "".join(row).strip():
                    self.header_line = reader.line_num
                    break
            else:  # pragma: no cover - a line that is not blank was seen, so a row follows
                problems.fatal("the file has no header line")
                return None
        except csv.Error as exc:
            problems.fatal(f"malformed CSV in the header: {exc}", reader.line_num or None)
            return None
        by_name = {canonical_header(alias): column for column in self.columns for alias in (column.name, *column.aliases)}
        unknown: list[str] = []
        for position, cell in enumerate(row):
            column = by_name.get(canonical_header(cell))
            if column is None:
                if cell.strip():
                    unknown.append(cell.strip())
                continue
            if column.name in self.positions:
                problems.fatal(
                    f"two columns mean {column.name!r}: {row[self.positions[column.name]].strip()!r} and {cell.strip()!r}",
                    self.header_line,
                    column.name,
                )
                continue
            self.positions[column.name] = position
        missing = [c for c in self.columns if c.required and c.name not in self.positions]
        if missing:
            found = ", ".join(repr(c.strip()) for c in row) or "none"
            required = ", ".join(c.name for c in self.columns if c.required)
            optional = ", ".join(c.name for c in self.columns if not c.required)
            known = "; ".join(f"{c.name} is also read from {', '.join(c.aliases)}" for c in missing if c.aliases)
            problems.fatal(
                f"missing column(s) {', '.join(c.name for c in missing)}; the header has {found} "
                f"(required: {required}{f'; optional: {optional}' if optional else ''})"
                + (f"; {known}" if known else ""),
                self.header_line,
            )
        return None if problems.fatal_count else row


def sniff_delimiter(header: str) -> str:
    """The delimiter of a header line: the one of ``,`` ``;`` tab ``|`` it holds most of (``,``
    when it holds none)."""
    counts = [header.count(d) for d in DELIMITERS]
    best = max(counts)
    return DELIMITERS[counts.index(best)] if best else ","


def _count_lines(data: bytes) -> int:
    """Physical lines in ``data`` (CR, LF or CRLF ends; a last line without an end counts)."""
    ends = data.count(b"\n")
    if b"\r" in data:
        ends += data.count(b"\r") - data.count(b"\r\n")
    return ends + (0 if data.endswith((b"\n", b"\r")) else 1)


def _last_cr_cut(buffer: bytes) -> int:
    """Where to cut a buffer without LF (a file with CR line ends): after its last CR that is
    not its last byte (that one may be the first half of a CRLF)."""
    return buffer.rfind(b"\r", 0, len(buffer) - 1) + 1


def _first_line_end(data: bytes) -> int:
    """The position just after the first line end in ``data``, or -1."""
    match = re.search(rb"\r\n|\r(?=[^\n])|\n", data)
    return match.end() if match else -1
