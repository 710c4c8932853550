"""QR codes for labels: one PNG per item, carrying its GS1 Digital Link.

The consumer's phone opens the Digital Link printed in the QR code; the frontend then checks the
item on chain. The images are made for printing on a pack: error correction level M (GS1's
recommendation for Digital Link QR codes: survives about 15 % damage without growing the
symbol much), the standard 4-module quiet zone, and a module size chosen so the whole symbol is
about 2 cm wide at 300 dpi (the PNG records 300 dpi, so layout software places it at that size).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from o2ochain._chain.util import write_atomic
from o2ochain.errors import InputError

PRINT_DPI: Final = 300
"""Resolution the PNGs declare and are sized for."""

TARGET_WIDTH_MM: Final = 20.0
"""Printed width of a symbol including its quiet zone, before rounding to whole pixels."""

_QUIET_ZONE: Final = 4
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
    buffer = io.BytesIO()
    symbol.save(buffer, kind="png", scale=scale, border=_QUIET_ZONE, dpi=PRINT_DPI)
    return buffer.getvalue()


def write_qr_images(links: Iterable[tuple[str, str]], directory: str | Path) -> list[Path]:
    """Write one PNG QR code per ``(name, uri)`` into ``directory``; return the paths in order.

    File names come from :func:`safe_file_stem` plus ``.png`` (names that differ only in case
    also get a hash suffix). All images are encoded before the first is written; each is
    written under a temporary name and renamed into place, so a crash leaves whole images only.
    A name given twice is refused.
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
    images = [qr_png_bytes(uri) for _name, uri in pairs]
    folder.mkdir(parents=True, exist_ok=True)
    for target, image in zip(targets, images, strict=True):
        write_atomic(target, image)
    return targets
