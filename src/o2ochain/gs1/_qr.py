"""QR codes for labels: one PNG per item, carrying its GS1 Digital Link.

The consumer's phone opens the Digital Link printed in the QR code; the frontend then checks the
item on chain. The images are made for printing on a pack: error correction level M (GS1's
recommendation for Digital Link QR codes: survives about 15 % damage without growing the
symbol much), the standard 4-module quiet zone, and a module size chosen so the whole symbol is
about 2 cm wide at 300 dpi (the PNG records 300 dpi, so layout software places it at that size).

Labels come by the ten thousand, so the PNG is written here rather than by segno's generic
writer: the same bytes (same scanlines, filters, chunks and zlib level; a test compares them),
forty times faster. Choosing the mask of each symbol (segno, pure Python) is what remains, and
:func:`write_qr_images` spreads it over the machine's cores.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from o2ochain._chain.util import write_atomic
from o2ochain.errors import InputError

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

PRINT_DPI: Final = 300
"""Resolution the PNGs declare and are sized for."""

TARGET_WIDTH_MM: Final = 20.0
"""Printed width of a symbol including its quiet zone, before rounding to whole pixels."""

_QUIET_ZONE: Final = 4
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_POOL_FROM: Final = 1000
"""Fewer images than this are encoded in this process: starting workers would cost more."""
_WRITERS: Final = 8
"""Threads writing image files (each waits for its fsync, not for the processor)."""

StageFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: how far a stage of a long job is."""
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM: Final = 100


def safe_file_stem(name: str) -> str:
    """Turn ``name`` into a file name stem that is safe on every common file system.

    Anything but letters, digits, ``.``, ``_`` and ``-`` becomes ``_``, a leading dot is
    replaced (no hidden files, no ``..``), and the result is capped at 100 characters. When the
    name had to change, eight hex digits of its SHA-256 are appended, so two different names
    (``A/B`` and ``A_B``) never end up in the same file.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError("a QR code needs a non-empty name", field="name", value=name)
    stem = _UNSAFE.sub("_", name)
    if stem.startswith("."):
        stem = "_" + stem[1:]
    stem = stem[:_MAX_STEM]
    if stem != name:
        stem = f"{stem}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"
    return stem


def qr_png_bytes(uri: str) -> bytes:
    """Encode ``uri`` as a print-ready QR code PNG (level M, ~2 cm at 300 dpi)."""
    if not isinstance(uri, str) or not uri:
        raise InputError("a QR code needs a non-empty URI", field="uri", value=uri)
    try:
        import segno  # here: only QR writing needs it, and it takes a tenth of a second to import

        symbol = segno.make_qr(uri, error="m", boost_error=False)
    except ValueError as exc:  # segno.DataOverflowError is a ValueError
        raise InputError(f"cannot encode this URI as a QR code: {exc}", field="uri") from None
    modules = symbol.symbol_size(scale=1, border=_QUIET_ZONE)[0]
    target_px = TARGET_WIDTH_MM / 25.4 * PRINT_DPI
    scale = max(1, round(target_px / modules))
    return _png(symbol.matrix, scale=scale, border=_QUIET_ZONE, dpi=PRINT_DPI)


def _png(matrix: Sequence[bytes | bytearray], *, scale: int, border: int, dpi: int) -> bytes:
    """A 1-bit greyscale PNG of a QR matrix (1 = dark), byte for byte as segno's ``save(kind="png",
    scale=scale, border=border, dpi=dpi)`` writes it: light pixels are 1 bits, every scanline
    has filter 0 except the copies of a module row, which have filter 2 ("up", all zero bytes),
    and the scanlines are compressed at zlib level 9."""
    size = len(matrix)
    width = (size + 2 * border) * scale
    row_bytes = (width + 7) // 8
    padding = "0" * (row_bytes * 8 - width)
    edge = "1" * (border * scale)
    pixels = {0: "1" * scale, 1: "0" * scale}

    def scanline(bits: str) -> bytes:
        return b"\0" + int(bits + padding, 2).to_bytes(row_bytes, "big")

    blank = scanline("1" * width) * (border * scale)
    copies = (b"\2" + bytes(row_bytes)) * (scale - 1)
    idat = bytearray(blank)
    for row in matrix:
        idat += scanline(edge + "".join(map(pixels.__getitem__, row)) + edge)
        idat += copies
    idat += blank
    per_metre = int(dpi // 0.0254)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", struct.pack(">2I5B", width, width, 1, 0, 0, 0, 0)),
            _chunk(b"pHYs", struct.pack(">LLB", per_metre, per_metre, 1)),
            _chunk(b"IDAT", zlib.compress(bytes(idat), 9)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _encode(uri: str) -> bytes | tuple[str, Any]:
    """:func:`qr_png_bytes` for a worker process: a refusal comes back as ``(message, value)``."""
    try:
        return qr_png_bytes(uri)
    except InputError as exc:
        return exc.message, exc.value


def _encode_all(uris: Sequence[str], progress: StageFn | None) -> list[bytes]:
    """Every URI as a PNG, in order, on all cores when there are enough of them to be worth it."""
    total = len(uris)
    workers = min(os.cpu_count() or 1, 8, total // _POOL_FROM)
    images: list[bytes] = []
    step = max(1, total // 200)
    found: Iterable[bytes | tuple[str, Any]]
    pool: ProcessPoolExecutor | None = None
    if workers > 1:  # multiprocessing is imported only here: reading items (every gs1 import) does not pay for it
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
    try:
        found = pool.map(_encode, uris, chunksize=32) if pool is not None else map(_encode, uris)
        for image in found:
            if isinstance(image, tuple):
                raise InputError(image[0], field="uri", value=image[1])
            images.append(image)
            if progress is not None and (len(images) % step == 0 or len(images) == total):
                progress("encoding QR codes", len(images), total)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return images


def write_qr_images(links: Iterable[tuple[str, str]], directory: str | Path, *, progress: StageFn | None = None) -> list[Path]:
    """Write one PNG QR code per ``(name, uri)`` into ``directory``; return the paths in order.

    File names come from :func:`safe_file_stem` plus ``.png`` (names that differ only in case
    also get a hash suffix). All images are encoded before the first is written (on every core,
    for a few hundred or more); each is written under a temporary name and renamed into place,
    so a crash leaves whole images only. A name given twice is refused. ``progress(stage, done,
    total)`` follows the two stages, ``encoding QR codes`` and ``writing QR images``.
    """
    pairs = list(links)
    folder = Path(directory)
    stems = [safe_file_stem(name) for name, _uri in pairs]
    # Serials are case-sensitive but macOS and Windows file names are not: names that differ
    # only in case get their hash suffix, so that "abc" and "ABC" stay two files everywhere.
    by_folded: dict[str, set[str]] = {}
    for (name, _uri), stem in zip(pairs, stems, strict=True):
        by_folded.setdefault(stem.lower(), set()).add(name)
    seen: set[str] = set()
    targets: list[Path] = []
    for (name, _uri), stem in zip(pairs, stems, strict=True):
        if name in seen:
            raise InputError(f"the name {name!r} is given twice", field="name", value=name)
        seen.add(name)
        if len(by_folded[stem.lower()]) > 1 and stem == name:
            targets.append(folder / f"{stem}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}.png")
        else:
            targets.append(folder / f"{stem}.png")
    images = _encode_all([uri for _name, uri in pairs], progress)
    folder.mkdir(parents=True, exist_ok=True)
    step = max(1, len(targets) // 200)
    # Each file is fsynced before its rename: a few threads keep the disk busy meanwhile.
    with ThreadPoolExecutor(_WRITERS) as writers:
        for n, _ in enumerate(writers.map(write_atomic, targets, images), start=1):
            if progress is not None and (n % step == 0 or n == len(targets)):
                progress("writing QR images", n, len(targets))
    return targets
