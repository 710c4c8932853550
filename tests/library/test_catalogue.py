"""Reading a brand's catalogue CSV: every problem found in one pass, located by line and column."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2ochain.errors import InputError, InputErrors
from o2ochain.gs1 import DigitalLink, item_id, lot_id
from o2ochain.identity import CatalogueItem, group_by_lot, read_catalogue

GTIN = "09506000134352"
OTHER_GTIN = "00614141123452"


def write(tmp_path: Path, text: str | bytes, name: str = "items.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def problems(path: Path) -> list[InputError]:
    """The individual errors of a file expected to fail row validation."""
    with pytest.raises(InputErrors) as info:
        read_catalogue(path)
    return info.value.errors


# --------------------------------------------------------------------------------------------
# good files


def test_read_catalogue_returns_items_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"gtin,serial,lot,expiry\n{GTIN},S1,L1,2026-12-31\n9506000134352,S2,L1,261231\n{OTHER_GTIN},S1,L9,\n",
    )
    items = read_catalogue(path)
    assert items == [
        CatalogueItem(GTIN, "S1", "L1", date(2026, 12, 31), 2),
        CatalogueItem(GTIN, "S2", "L1", date(2026, 12, 31), 3),
        CatalogueItem(OTHER_GTIN, "S1", "L9", None, 4),
    ]


def test_read_catalogue_item_ids_match_gs1(tmp_path: Path) -> None:
    item = read_catalogue(write(tmp_path, f"gtin,serial,lot\n{GTIN},A/B,L1\n"))[0]
    assert item.item_id == item_id(GTIN, "A/B")
    assert item.lot_id == lot_id(GTIN, "L1")
    link = item.digital_link("https://brand.example")
    assert link == DigitalLink(GTIN, "A/B", "L1", None, "https://brand.example")


def test_read_catalogue_tolerates_bom_blank_lines_crlf_and_spaces(tmp_path: Path) -> None:
    text = f"\ufeff Serial Number , GTIN ,Batch\r\n\r\n S1 , {GTIN} , L1 \r\n   \r\nS2,{GTIN},L1\r\n"
    items = read_catalogue(write(tmp_path, text))
    assert [(i.serial, i.lot, i.line) for i in items] == [("S1", "L1", 3), ("S2", "L1", 5)]


def test_read_catalogue_ignores_extra_columns_and_accepts_semicolons(tmp_path: Path) -> None:
    path = write(tmp_path, f"sku;gtin;serial;lot;colour\nX;{GTIN};S1;L1;red\n")
    assert read_catalogue(path) == [CatalogueItem(GTIN, "S1", "L1", None, 2)]


def test_read_catalogue_accepts_quoted_cells_with_commas(tmp_path: Path) -> None:
    path = write(tmp_path, f'gtin,serial,lot\n{GTIN},"A,B",L1\n')
    assert read_catalogue(path)[0].serial == "A,B"


# --------------------------------------------------------------------------------------------
# file-level problems: one InputError


def test_read_catalogue_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found") as info:
        read_catalogue(tmp_path / "nope.csv")
    assert info.value.file == str(tmp_path / "nope.csv")


def test_read_catalogue_reports_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory"):
        read_catalogue(tmp_path)


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\ufeff"])
def test_read_catalogue_reports_empty_file(tmp_path: Path, content: str) -> None:
    with pytest.raises(InputError, match="empty"):
        read_catalogue(write(tmp_path, content))


def test_read_catalogue_reports_header_without_rows(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no items") as info:
        read_catalogue(write(tmp_path, "gtin,serial,lot\n\n"))
    assert not isinstance(info.value, InputErrors)


def test_read_catalogue_names_missing_columns_and_found_ones(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_catalogue(write(tmp_path, f"GTIN,Serial_Nr,expiry\n{GTIN},S1,261231\n"))
    message = str(info.value)
    assert "missing column(s) serial, lot" in message
    assert "'GTIN', 'Serial_Nr', 'expiry'" in message
    assert info.value.line == 1


def test_read_catalogue_refuses_two_columns_for_one_meaning(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="two columns mean 'lot'"):
        read_catalogue(write(tmp_path, f"gtin,serial,lot,batch\n{GTIN},S1,L1,L1\n"))


# --------------------------------------------------------------------------------------------
# row problems: all of them, in one InputErrors


def test_read_catalogue_reports_every_bad_row_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "gtin,serial,lot,expiry\n"
        f"09506000134353,S1,L1,\n"  # 2: check digit
        f"{GTIN},S 2,L1,\n"  # 3: space in serial
        f"{GTIN},S3,{'L' * 21},\n"  # 4: lot too long
        f"{GTIN},S4,L1,31/12/2026\n"  # 5: expiry format
        f"{GTIN},S5,L1\n"  # 6: too few cells
        f"{GTIN},S6,L1,,extra\n"  # 7: too many cells
        f"{GTIN},S7,L1,\n",  # 8: fine
    )
    found = problems(path)
    located = [(e.line, e.field) for e in found]
    assert located == [
        (2, "gtin"),
        (3, "serial"),
        (4, "lot"),
        (5, "expiry"),
        (6, None),
        (7, None),
    ]
    assert all(e.file == str(path) for e in found)
    assert "check digit should be 2, got 3" in found[0].message
    assert "' ' (U+0020) at position 2" in found[1].message
    assert "at most 20 characters, got 21" in found[2].message
    assert "expected 4 cells like the header, got 3" in found[4].message
    assert "got 5" in found[5].message


def test_read_catalogue_names_both_lines_of_a_duplicate(tmp_path: Path) -> None:
    path = write(tmp_path, f"gtin,serial,lot\n{GTIN},S1,L1\n{GTIN},S2,L1\n9506000134352,S1,L2\n")
    (error,) = problems(path)
    assert error.line == 4
    assert error.field == "serial"
    assert "already on line 2" in error.message


def test_read_catalogue_allows_same_serial_under_other_gtin(tmp_path: Path) -> None:
    path = write(tmp_path, f"gtin,serial,lot\n{GTIN},S1,L1\n{OTHER_GTIN},S1,L1\n")
    assert len(read_catalogue(path)) == 2


def test_read_catalogue_names_both_lines_of_conflicting_lot_expiry(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"gtin,serial,lot,expiry\n{GTIN},S1,L1,2026-12-31\n{GTIN},S2,L1,270101\n{GTIN},S3,L1,\n",
    )
    first, second = problems(path)
    assert (first.line, first.field) == (3, "expiry")
    assert "2027-01-01 here but 2026-12-31 on line 2" in first.message
    assert "none here but 2026-12-31 on line 2" in second.message


def test_read_catalogue_reports_non_utf8_line_and_offset(tmp_path: Path) -> None:
    data = f"gtin,serial,lot\n{GTIN},S1,L1\n{GTIN},Sé,L1\n{GTIN},S3,L1\n".encode("latin-1")
    offset = data.index(0xE9)
    (error,) = problems(write(tmp_path, data))
    assert error.line == 3
    assert "not UTF-8: byte 0xE9 at byte 17 of the line" in error.message
    assert f"byte offset {offset} in the file" in error.message


def test_read_catalogue_still_validates_other_rows_after_bad_bytes(tmp_path: Path) -> None:
    data = f"gtin,serial,lot\n{GTIN},S\xff1,L1\n1,S2,L1\n".encode("latin-1")
    lines = [e.line for e in problems(write(tmp_path, data))]
    assert lines == [2, 3]


def test_read_catalogue_reports_broken_quoting(tmp_path: Path) -> None:
    (error,) = problems(write(tmp_path, f'gtin,serial,lot\n{GTIN},S1,L1\n{GTIN},"S2"x,L1\n'))
    assert "malformed CSV" in error.message
    assert error.line == 3


def test_read_catalogue_reports_bad_header_bytes_with_missing_columns(tmp_path: Path) -> None:
    data = b"gtin,seri\xe9l,lot\n" + f"{GTIN},S1,L1\n".encode()
    found = problems(write(tmp_path, data))
    assert [e.line for e in found] == [1, 2]
    assert "not UTF-8" in found[0].message
    assert "missing column(s)" in found[1].message


def test_read_catalogue_lists_max_errors_and_counts_the_rest(tmp_path: Path) -> None:
    rows = "".join(f"{GTIN},bad serial {i},L1\n" for i in range(50))
    with pytest.raises(InputErrors) as info:
        read_catalogue(write(tmp_path, "gtin,serial,lot\n" + rows), max_errors=10)
    assert [e.line for e in info.value.errors] == list(range(2, 12))
    assert info.value.total == 50
    assert str(info.value).startswith("50 problem(s) found")


# --------------------------------------------------------------------------------------------
# grouping


def test_group_by_lot_keeps_file_order() -> None:
    items = [
        CatalogueItem(GTIN, "S1", "B", None, 2),
        CatalogueItem(GTIN, "S2", "A", None, 3),
        CatalogueItem(OTHER_GTIN, "S3", "B", None, 4),
        CatalogueItem(GTIN, "S4", "B", None, 5),
    ]
    groups = group_by_lot(items)
    assert list(groups) == [(GTIN, "B"), (GTIN, "A"), (OTHER_GTIN, "B")]
    assert [i.serial for i in groups[(GTIN, "B")]] == ["S1", "S4"]


# --------------------------------------------------------------------------------------------
# hostile input and scale


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.binary(max_size=300)
    | st.builds(
        lambda rows: ("gtin,serial,lot,expiry\n" + rows).encode("utf-8", "surrogatepass"),
        st.text(alphabet=st.sampled_from(list(f'{GTIN},;"\n\r\t xé\x00%L1S260231')), max_size=200),
    )
)
def test_read_catalogue_raises_only_input_error_on_hostile_input(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "hostile.csv"
    path.write_bytes(data)
    try:
        items = read_catalogue(path)
    except InputError:
        return
    assert all(isinstance(item, CatalogueItem) for item in items)


def test_read_catalogue_validates_100k_rows_quickly(tmp_path: Path) -> None:
    rows = "".join(f"{GTIN},SN{i:08d},LOT{i // 25000},2026-12-31\n" for i in range(100_000))
    path = write(tmp_path, "gtin,serial,lot,expiry\n" + rows)
    started = time.perf_counter()
    items = read_catalogue(path)
    elapsed = time.perf_counter() - started
    assert len(items) == 100_000
    assert items[-1].line == 100_001
    assert elapsed < 3.0, f"100,000 rows took {elapsed:.2f}s"


def test_catalogue_from_rows_validates_like_a_file() -> None:
    from o2ochain.identity import catalogue_from_rows

    items = catalogue_from_rows([("09506000134352", "A1", "L1"), ("9506000134352", "A2", "L2", "2027-01-31")])
    assert [(i.gtin, i.serial, i.line) for i in items] == [("09506000134352", "A1", 2), ("09506000134352", "A2", 3)]
    with pytest.raises(InputErrors) as info:
        catalogue_from_rows([("09506000134353", "A1", "L1"), ("09506000134352", "A 1", "L1")], source="order 42")
    assert [(e.file, e.line, e.field) for e in info.value.errors] == [("order 42", 2, "gtin"), ("order 42", 3, "serial")]
    with pytest.raises(InputError, match="no items"):
        catalogue_from_rows([])
