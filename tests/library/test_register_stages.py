"""Registering a catalogue, stage by stage: each stage reports how far it is against its own
total, a product that is not registered is named with its file and lines, and QR codes come out
byte for byte as segno writes them, however they are encoded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import segno

from o2ochain import gs1
from o2ochain.errors import InputErrors
from o2ochain.gs1 import write_qr_images
from o2ochain.gs1._qr import _QUIET_ZONE, PRINT_DPI, _png
from o2ochain.identity import read_catalogue
from tests.conftest import GTIN_A, GTIN_B, World, sample_rows, write_csv


def stages_of(calls: list[tuple[str, int, int]]) -> dict[str, list[tuple[int, int]]]:
    found: dict[str, list[tuple[int, int]]] = {}
    for stage, done, total in calls:
        found.setdefault(stage, []).append((done, total))
    return found


def test_register_items_reports_checking_then_sending_each_to_its_end(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(120)))
    registrant = world.chain.registrant(world.registrant)
    registrant.register_items(items[:30])
    calls: list[tuple[str, int, int]] = []
    report = registrant.register_items(items, items_per_tx=40, stages=lambda *call: calls.append(call))
    assert (report.registered, report.already) == (90, 30)
    found = stages_of(calls)
    assert list(found) == ["checking what the chain holds", "sending items"]
    assert found["checking what the chain holds"][-1] == (120, 120)
    assert found["sending items"][0] == (30, 120)  # what the chain already held is done from the start
    assert found["sending items"][-1] == (120, 120)
    assert [done for done, _ in found["sending items"]] == sorted(done for done, _ in found["sending items"])


def test_commit_lots_reports_building_trees_then_confirming_roots(world: World, tmp_path: Path) -> None:
    rows = sample_rows(40, lot="M1") + sample_rows(24, lot="M2", start=40) + sample_rows(8, gtin14=GTIN_B, lot="M3")
    items = read_catalogue(write_csv(tmp_path / "lots.csv", rows))
    calls: list[tuple[str, int, int]] = []
    lots = world.chain.registrant(world.registrant).commit_lots(items, proofs_dir=tmp_path / "proofs", stages=lambda *call: calls.append(call))
    assert len(lots) == 3
    found = stages_of(calls)
    assert list(found) == ["building Merkle trees and proofs", "confirming roots"]
    assert found["building Merkle trees and proofs"] == [(40, 72), (64, 72), (72, 72)]
    assert found["confirming roots"] == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_unregistered_product_is_named_with_its_file_and_lines(world: World, tmp_path: Path) -> None:
    unknown = gs1.make_gtin("9506000", 999)
    rows = [*sample_rows(3), [unknown, "X1", "L9", ""], *sample_rows(2, start=3), [unknown, "X2", "L9", ""]]
    path = write_csv(tmp_path / "items.csv", rows)
    with pytest.raises(InputErrors) as info:
        world.chain.registrant(world.registrant).register_items(read_catalogue(path))
    (problem,) = info.value.errors
    assert (problem.file, problem.line, problem.field) == (str(path), 5, "gtin")
    assert f"product class {unknown} is not registered on chain" in problem.message
    assert problem.message.endswith("it is on lines 5 and 8")
    assert str(problem).startswith(f"{path}:5, field 'gtin': ")

    many = [[unknown, f"X{n}", "L9", ""] for n in range(7)]
    path = write_csv(tmp_path / "many.csv", many)
    with pytest.raises(InputErrors) as info:
        world.chain.registrant(world.registrant).commit_lots(read_catalogue(path), proofs_dir=tmp_path / "proofs")
    assert info.value.errors[0].message.endswith("it is on 7 rows: lines 2, 3, 4, 5, 6, …")
    assert not (tmp_path / "proofs").exists()


@pytest.mark.parametrize(
    "uri",
    [
        "a",
        f"https://id.gs1.org/01/{GTIN_A}/10/LOT7/21/SN000001?17=261231",
        f"https://id.gs1.org/01/{GTIN_A}/21/A%2FB",
        "https://brand.example/" + "x" * 400,
    ],
)
def test_qr_png_is_byte_for_byte_what_segno_writes(uri: str) -> None:
    symbol = segno.make_qr(uri, error="m", boost_error=False)
    for scale in (1, 2, 7, 8):
        expected = io.BytesIO()
        symbol.save(expected, kind="png", scale=scale, border=_QUIET_ZONE, dpi=PRINT_DPI)
        assert _png(symbol.matrix, scale=scale, border=_QUIET_ZONE, dpi=PRINT_DPI) == expected.getvalue()


def test_write_qr_images_reports_encoding_then_writing(tmp_path: Path) -> None:
    links = [(f"{GTIN_A}-L1-S{n}", f"https://id.gs1.org/01/{GTIN_A}/21/S{n}") for n in range(30)]
    calls: list[tuple[str, int, int]] = []
    paths = write_qr_images(links, tmp_path / "qr", progress=lambda *call: calls.append(call))
    found = stages_of(calls)
    assert list(found) == ["encoding QR codes", "writing QR images"]
    assert found["encoding QR codes"][-1] == (30, 30)
    assert found["writing QR images"][-1] == (30, 30)
    assert paths[7].read_bytes() == gs1.qr_png_bytes(links[7][1])


def test_write_qr_images_on_every_core_gives_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from o2ochain.gs1 import _qr

    links = [(f"item-{n}", f"https://id.gs1.org/01/{GTIN_A}/21/P{n:04d}") for n in range(40)]
    monkeypatch.setattr(_qr, "_POOL_FROM", 10)  # four times the pool threshold: worker processes
    pooled = write_qr_images(links, tmp_path / "pool")
    monkeypatch.setattr(_qr, "_POOL_FROM", 10**9)
    inline = write_qr_images(links, tmp_path / "inline")
    assert [p.read_bytes() for p in pooled] == [p.read_bytes() for p in inline]
