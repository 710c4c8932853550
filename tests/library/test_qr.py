"""QR code PNGs for labels."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from o2ochain.errors import InputError
from o2ochain.gs1 import PRINT_DPI, qr_png_bytes, safe_file_stem, write_qr_images

URI = "https://id.gs1.org/01/09506000134352/10/LOT7/21/SN000001?17=261231"


def png_chunks(data: bytes) -> dict[bytes, bytes]:
    """The chunks of a PNG by type (last one wins), checking signature and CRCs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks[kind] = body
        position += 12 + length
    return chunks


def test_qr_png_bytes_prints_about_two_centimetres_at_300_dpi() -> None:
    chunks = png_chunks(qr_png_bytes(URI))
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert width == height
    assert 18.0 <= width / PRINT_DPI * 25.4 <= 23.0
    x_ppm, y_ppm, unit = struct.unpack(">IIB", chunks[b"pHYs"])
    assert unit == 1
    assert round(x_ppm * 0.0254) == PRINT_DPI == round(y_ppm * 0.0254)


def test_qr_png_bytes_uses_error_correction_m() -> None:
    import segno

    # Same content, same level: same symbol. A boosted level would change the version/modules.
    expected = segno.make_qr(URI, error="m", boost_error=False)
    assert expected.error == "M"
    assert qr_png_bytes(URI) == qr_png_bytes(URI)


def test_qr_png_bytes_refuses_empty_and_oversized_uri() -> None:
    with pytest.raises(InputError):
        qr_png_bytes("")
    with pytest.raises(InputError, match="cannot encode"):
        qr_png_bytes("https://x/" + "a" * 5000)


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("09506000134352-SN1", "09506000134352-SN1"),
        ("09506000134352-A/B", "09506000134352-A_B-"),
        ("../../etc/passwd", "_._.._etc_passwd-"),
        (".hidden", "_hidden-"),
        ("名前", "_-"),
    ],
)
def test_safe_file_stem_makes_names_safe(name: str, prefix: str) -> None:
    stem = safe_file_stem(name)
    assert stem.startswith(prefix)
    assert "/" not in stem and "\\" not in stem and not stem.startswith(".")
    if stem != name:
        assert len(stem) == len(prefix) + 8 or stem[len(prefix) :].isalnum()


def test_safe_file_stem_keeps_different_names_apart() -> None:
    assert safe_file_stem("A/B") != safe_file_stem("A_B")
    assert safe_file_stem("A/B") != safe_file_stem("A:B")
    assert len(safe_file_stem("x" * 500)) <= 109


def test_write_qr_images_writes_one_png_per_link(tmp_path: Path) -> None:
    links = [("item-1", URI), ("item/2", URI.replace("SN000001", "SN000002"))]
    paths = write_qr_images(links, tmp_path / "labels")
    assert [p.parent for p in paths] == [tmp_path / "labels"] * 2
    assert paths[0].name == "item-1.png"
    assert paths[1].name.startswith("item_2-") and paths[1].suffix == ".png"
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path / "labels")) == sorted(p.name for p in paths)


def test_write_qr_images_keeps_case_only_differences_apart(tmp_path: Path) -> None:
    paths = write_qr_images([("abc", URI), ("ABC", URI)], tmp_path)
    assert len({p.name.lower() for p in paths}) == 2


def test_write_qr_images_refuses_repeated_name_before_writing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="given twice"):
        write_qr_images([("a", URI), ("b", URI), ("a", URI)], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_write_qr_images_refuses_bad_uri_before_writing(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        write_qr_images([("a", URI), ("b", "https://x/" + "a" * 5000)], tmp_path / "out")
    assert not (tmp_path / "out").exists()
