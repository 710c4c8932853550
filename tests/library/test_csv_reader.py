"""The one CSV reader (o2ochain.inputs.CsvReader) and the readers built on it: the catalogue and
the sales file. Delimiters and byte-order marks sniffed, every problem of every row located by
file, line and field, encoding errors with their line, constant memory whatever the file's size."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from eth_account import Account

from o2ochain import inputs
from o2ochain.errors import InputError, InputErrors
from o2ochain.guarantee import read_sales_csv
from o2ochain.identity import check_catalogue, read_catalogue
from o2ochain.inputs import Column, CsvReader, Problems, sniff_delimiter
from tests.library.test_catalogue import write

GTIN = "09506000134352"
COLUMNS = (Column("gtin"), Column("serial", ("serial_number", "sn")), Column("expiry", required=False))
BUYER = Account.create().address  # EIP-55 checksummed


def rows(path: Path, columns: tuple[Column, ...] = COLUMNS) -> tuple[list[tuple[int, tuple[str, ...]]], Problems]:
    problems = Problems(str(path))
    return list(CsvReader(path, columns, problems)), problems


def located(problems: Problems) -> list[tuple[int | None, str | None]]:
    return [(e.line, e.field) for e in problems.errors]


# -- delimiters, byte-order marks, headers --------------------------------------------------------
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_reader_sniffs_the_delimiter_from_the_header(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["GTIN", "Serial Number", "colour"]) + "\n" + delimiter.join([GTIN, "S1", "red, dark"]) + "\n"
    if delimiter == ",":
        text = text.replace("red, dark", '"red, dark"')
    reader = CsvReader(write(tmp_path, text), COLUMNS)
    assert list(reader) == [(2, (GTIN, "S1", ""))]
    assert reader.delimiter == delimiter
    assert reader.positions == {"gtin": 0, "serial": 1}


def test_sniff_delimiter_takes_the_most_frequent_and_prefers_comma_on_a_tie() -> None:
    assert sniff_delimiter("a;b;c,d") == ";"
    assert sniff_delimiter("a,b;c") == ","
    assert sniff_delimiter("gtin") == ","


def test_csv_reader_strips_a_utf8_bom_and_counts_physical_lines(tmp_path: Path) -> None:
    data = "\ufeffgtin,sn\r\n\r\n  ,  \r\n" + f'{GTIN},"two\nlines"\r\n{GTIN},S3\r'
    found, problems = rows(write(tmp_path, data))
    assert not problems
    assert found == [(4, (GTIN, "two\nlines", "")), (6, (GTIN, "S3", ""))]


def test_csv_reader_reads_old_mac_line_ends(tmp_path: Path) -> None:
    found, problems = rows(write(tmp_path, f"gtin,serial\r{GTIN},S1\r{GTIN},S2\r"))
    assert not problems
    assert [line for line, _ in found] == [2, 3]


def test_csv_reader_names_missing_unknown_and_duplicate_columns(tmp_path: Path) -> None:
    _, problems = rows(write(tmp_path, f"GTIN,Serial_Nr,Colour\n{GTIN},S1,red\n"))
    with pytest.raises(InputError) as info:
        problems.raise_if_any()
    assert not isinstance(info.value, InputErrors)
    assert info.value.line == 1
    assert "missing column(s) serial; the header has 'GTIN', 'Serial_Nr', 'Colour'" in info.value.message
    assert "serial is also read from serial_number, sn" in info.value.message

    _, problems = rows(write(tmp_path, f"gtin,serial,sn,GTIN\n{GTIN},S1,S1,{GTIN}\n"))
    assert [(e.line, e.field) for e in problems.errors] == [(1, "serial"), (1, "gtin")]
    assert "two columns mean 'serial': 'serial' and 'sn'" in problems.errors[0].message


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n \n\t\n"])
def test_csv_reader_says_an_empty_file_is_empty(tmp_path: Path, data: bytes) -> None:
    found, problems = rows(write(tmp_path, data))
    assert found == []
    with pytest.raises(InputError, match="the file is empty; expected a header line such as gtin,serial"):
        problems.raise_if_any()


def test_csv_reader_refuses_utf16_in_words(tmp_path: Path) -> None:
    _, problems = rows(write(tmp_path, "gtin\tserial\n".encode("utf-16")))
    with pytest.raises(InputError, match="not UTF-8 but UTF-16"):
        problems.raise_if_any()


def test_csv_reader_reports_a_missing_file_and_a_directory(tmp_path: Path) -> None:
    _, problems = rows(tmp_path / "nope.csv")
    assert [e.message for e in problems.errors] == ["file not found"]
    _, problems = rows(tmp_path)
    assert "directory" in problems.errors[0].message


# -- every problem of every row -------------------------------------------------------------------
def test_csv_reader_reports_cell_counts_and_broken_quoting_and_reads_on(tmp_path: Path) -> None:
    data = f'gtin,serial\n{GTIN},S1,extra\n{GTIN},"S2"x\n{GTIN},S3\n{GTIN}\n{GTIN},S5\n'
    found, problems = rows(write(tmp_path, data))
    assert [line for line, _ in found] == [4, 6]
    assert located(problems) == [(2, None), (3, None), (5, None)]
    assert "expected 2 cells like the header, got 3" in problems.errors[0].message
    assert "malformed CSV" in problems.errors[1].message


def test_csv_reader_reports_each_line_that_is_not_utf8_with_its_line_and_reads_the_rest(tmp_path: Path) -> None:
    data = b"gtin,serial\n" + f"{GTIN},S\xe91\n{GTIN},S2\n{GTIN},S\xff3\n{GTIN},S4\n".encode("latin-1")
    found, problems = rows(write(tmp_path, data))
    assert [line for line, _ in found] == [3, 5]
    assert located(problems) == [(2, None), (4, None)]
    offset = data.index(b"\xe9")
    assert f"not UTF-8: byte 0xE9 at byte 17 of the line (byte offset {offset} in the file)" in problems.errors[0].message


def test_csv_reader_finds_an_encoding_error_deep_in_a_large_file_by_its_line(tmp_path: Path) -> None:
    good = "".join(f"{GTIN},S{n:07d}\n" for n in range(120_000))  # more than one chunk
    data = b"gtin,serial\n" + good.encode() + f"{GTIN},bad\xc3\n".encode("latin-1") + b"\xef\xbb\xbfgtin,S9\n"
    found, problems = rows(write(tmp_path, data))
    assert len(found) == 120_001
    assert located(problems) == [(120_002, None)]
    assert f"byte offset {data.index(b'bad') + 3}" in problems.errors[0].message


def test_problems_keep_the_first_ones_and_count_every_one(tmp_path: Path) -> None:
    problems = Problems("f.csv", limit=3)
    for line in range(2, 12):
        problems.add("bad", line, "gtin")
    with pytest.raises(InputErrors) as info:
        problems.raise_if_any()
    assert [e.line for e in info.value.errors] == [2, 3, 4]
    assert info.value.total == 10
    assert str(info.value).startswith("10 problem(s) found, nothing was written")
    assert str(info.value).endswith("... and 7 more")


def test_catalogue_reports_every_problem_of_every_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "gtin;serial;lot;expiry\n"
        f"09506000134353;S 1;{'L' * 21};31/12/2026\n"  # four problems in one row
        f"{GTIN};S2;L1;2026-02-30\n"  # one
        f"12;S3;L 3;\n",  # two
    )
    for check in (read_catalogue, check_catalogue):
        with pytest.raises(InputErrors) as info:
            check(path)
        assert [(e.line, e.field) for e in info.value.errors] == [
            (2, "gtin"),
            (2, "serial"),
            (2, "lot"),
            (2, "expiry"),
            (3, "expiry"),
            (4, "gtin"),
            (4, "lot"),
        ]
        assert all(e.file == str(path) for e in info.value.errors)


def test_check_catalogue_names_both_lines_of_repeats_as_read_catalogue_does(tmp_path: Path) -> None:
    body = "".join(f"{GTIN},S{n},L{n % 3},2027-01-31\n" for n in range(5000))
    path = write(tmp_path, f"gtin,serial,lot,expiry\n{body}{GTIN},S17,L2,2027-01-31\n9506000134352,S4000,L1,2027-02-28\n")
    messages = []
    for check in (read_catalogue, check_catalogue):
        with pytest.raises(InputErrors) as info:
            check(path)
        messages.append([str(e) for e in info.value.errors])
    assert messages[0] == messages[1]
    first, second = messages[0]
    assert first.endswith(f":5002, field 'serial': duplicate item: GTIN {GTIN} serial 'S17' is already on line 19")
    assert ":5003, field 'serial': duplicate item" in second and "already on line 4002" in second


def test_check_catalogue_sums_up_a_good_file_and_reports_progress_to_the_end(tmp_path: Path) -> None:
    body = "".join(f"{GTIN},S{n:07d},LOT{n // 50_000},2027-01-31\n" for n in range(150_000))
    path = write(tmp_path, "gtin,serial,lot,expiry\n" + body)
    seen: list[tuple[int, int]] = []
    summary = check_catalogue(path, progress=lambda done, total: seen.append((done, total)))
    assert (summary.items, summary.lots, summary.products, summary.size) == (150_000, 3, {GTIN: 2}, path.stat().st_size)
    assert len(seen) > 2
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


# -- constant memory --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated catalogue of 200,000 rows (about 9 MB)."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("gtin,serial,lot,expiry\n")
        out.writelines(f"{GTIN},SN{n:010d},LOT{n // 10_000},2027-12-31\n" for n in range(200_000))
    return path


def test_csv_reader_streams_200k_rows_in_constant_memory(big_catalogue: Path) -> None:
    columns = (Column("gtin"), Column("serial"), Column("lot"), Column("expiry"))
    tracemalloc.start()
    try:
        count = sum(1 for _ in CsvReader(big_catalogue, columns))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert big_catalogue.stat().st_size > 8_000_000
    assert peak < 4_000_000, f"peak {peak:,} bytes while streaming a {big_catalogue.stat().st_size:,}-byte file"


def test_check_catalogue_holds_8_bytes_a_row_not_the_items(big_catalogue: Path) -> None:
    tracemalloc.start()
    try:
        summary = check_catalogue(big_catalogue)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (summary.items, summary.lots) == (200_000, 20)
    assert peak < 4_000_000 + 200_000 * 8, f"peak {peak:,} bytes"  # the reader's chunks, and 8 bytes a row


# -- the sales file -----------------------------------------------------------------------------------
def to_units(text: str) -> int:
    return inputs.amount(text, 2, "unit_price")


def test_sales_csv_reports_every_problem_of_a_row(tmp_path: Path) -> None:
    path = write(tmp_path, f"Buyer;GTIN;Quantity;Unit Price;Receipt\nnope;09506000134353;0;abc;\n{BUYER};{GTIN};1;1.88;R1\n")
    with pytest.raises(InputErrors) as info:
        read_sales_csv(path, to_units)
    assert [(e.line, e.field) for e in info.value.errors] == [
        (2, "buyer"),
        (2, "gtin"),
        (2, "quantity"),
        (2, "unit_price"),
        (2, "receipt"),
    ]
    assert all(e.file == str(path) for e in info.value.errors)


def test_sales_csv_refuses_a_buyer_address_with_a_wrong_checksum(tmp_path: Path) -> None:
    digits = BUYER[2:]
    flip = next(i for i, c in enumerate(digits) if c.isalpha())
    typo = "0x" + digits[:flip] + digits[flip].swapcase() + digits[flip + 1 :]
    path = write(tmp_path, f"buyer,gtin,quantity,unit_price,receipt\n{BUYER},{GTIN},1,1.88,R1\n{typo},{GTIN},1,1.88,R2\n")
    with pytest.raises(InputErrors) as info:
        read_sales_csv(path, to_units)
    (problem,) = info.value.errors
    assert (problem.file, problem.line, problem.field) == (str(path), 3, "buyer")
    assert "wrong EIP-55 checksum" in problem.message
    # All lower case carries no checksum: accepted, and given back checksummed.
    path = write(tmp_path, f"buyer,gtin,quantity,unit_price,receipt\n{BUYER.lower()},{GTIN},2,1.88,R1\n")
    (sale,) = read_sales_csv(path, to_units)
    assert (sale.buyer, sale.quantity, sale.unit_price) == (BUYER, 2, 188)


def test_sales_csv_reports_a_line_that_is_not_utf8_by_its_number(tmp_path: Path) -> None:
    data = f"buyer,gtin,quantity,unit_price,receipt\n{BUYER},{GTIN},1,1.88,R1\n".encode() + f"{BUYER},{GTIN},1,1.88,Ré\n".encode("latin-1")
    with pytest.raises(InputErrors) as info:
        read_sales_csv(write(tmp_path, data), to_units)
    (problem,) = info.value.errors
    assert problem.line == 3
    assert "not UTF-8" in problem.message
