"""GS1 identifiers: GTINs, serials and lots, ids, expiry dates and Digital Links."""

from __future__ import annotations

import re
from datetime import date

import pytest
from eth_hash.auto import keccak as reference_keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from o2ochain import gs1
from o2ochain.errors import InputError
from o2ochain.gs1 import (
    DEFAULT_RESOLVER,
    GS1_CHARSET_82,
    DigitalLink,
    expiry_to_yymmdd,
    from_bytes32,
    gtin_check_digit,
    gtin_to_int,
    item_id,
    keccak256,
    lot_id,
    normalize_gtin,
    parse_digital_link,
    parse_expiry,
    parse_item_reference,
    to_bytes32,
    validate_lot,
    validate_serial,
    yymmdd_to_date,
)

TODAY = date(2026, 6, 15)  # fixed, so the two-digit-year window does not move under the tests

# --------------------------------------------------------------------------------------------
# strategies

gs1_text = st.text(alphabet=sorted(GS1_CHARSET_82), min_size=1, max_size=20)


@st.composite
def gtins(draw: st.DrawFn) -> str:
    """A valid GTIN-8/12/13/14 (not all zeros), as written on a pack."""
    length = draw(st.sampled_from([8, 12, 13, 14]))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    if set(body) == {"0"}:
        body = body[:-1] + "1"
    return body + str(gtin_check_digit(body))


resolvers = st.sampled_from(
    [
        DEFAULT_RESOLVER,
        "https://brand.example",
        "https://brand.example/dl/v1",
        "http://localhost:8080/01/x",  # a prefix that itself looks like a GTIN path
    ]
)
expiries = st.dates(min_value=date(2000, 1, 1), max_value=date(2070, 12, 31))


# --------------------------------------------------------------------------------------------
# GTIN


@pytest.mark.parametrize(("gtin", "check"), [("09506000134352", 2), ("00614141123452", 2), ("96385074", 4)])
def test_gtin_check_digit_matches_gs1_examples(gtin: str, check: int) -> None:
    assert gtin_check_digit(gtin[:-1]) == check


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("09506000134352", "09506000134352"),
        ("9506000134352", "09506000134352"),
        ("  00614141123452 ", "00614141123452"),
        ("614141123452", "00614141123452"),
        ("96385074", "00000096385074"),
    ],
)
def test_normalize_gtin_returns_fourteen_digits(given: str, expected: str) -> None:
    assert normalize_gtin(given) == expected


def test_normalize_gtin_names_the_expected_check_digit() -> None:
    with pytest.raises(InputError, match="check digit should be 2, got 3") as info:
        normalize_gtin("09506000134353")
    assert info.value.field == "gtin"


@pytest.mark.parametrize("bad", ["123", "123456789", "1234567890", "123456789012345"])
def test_normalize_gtin_rejects_wrong_length(bad: str) -> None:
    with pytest.raises(InputError, match="GTIN must be 8, 12, 13 or 14 digits"):
        normalize_gtin(bad)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("0950600013435X", "'X' at position 14"),
        ("", "GTIN is empty"),
        ("0950 600013435", "' ' at position 5"),
        ("٠٩٥٠٦٠٠٠١٣٤٣٥٢", "digits only"),  # Arabic-Indic digits are not GS1 digits
        ("00000000000000", "all zeros"),
    ],
)
def test_normalize_gtin_rejects_non_digits_and_zero(bad: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        normalize_gtin(bad)


def test_normalize_gtin_carries_file_and_line() -> None:
    with pytest.raises(InputError) as info:
        normalize_gtin("1", file="items.csv", line=7)
    assert (info.value.file, info.value.line, info.value.field) == ("items.csv", 7, "gtin")
    assert str(info.value).startswith("items.csv:7, field 'gtin': ")


@given(gtins())
def test_normalize_gtin_round_trips_any_valid_gtin(gtin: str) -> None:
    normalized = normalize_gtin(gtin)
    assert len(normalized) == 14
    assert normalized.lstrip("0") == gtin.lstrip("0")
    assert normalize_gtin(normalized) == normalized
    assert gtin_check_digit(normalized[:-1]) == int(normalized[-1])
    assert gtin_to_int(gtin) == int(normalized)


@given(gtins(), st.integers(min_value=1, max_value=9))
def test_normalize_gtin_rejects_every_wrong_check_digit(gtin: str, shift: int) -> None:
    wrong = gtin[:-1] + str((int(gtin[-1]) + shift) % 10)
    with pytest.raises(InputError, match="check digit should be"):
        normalize_gtin(wrong)


# --------------------------------------------------------------------------------------------
# serial and lot


@pytest.mark.parametrize("value", ["A", "ABC123", "a-b.c_d/e", "!\"%&'()*+,-./:;<=>?", "X" * 20])
def test_validate_serial_accepts_charset_82(value: str) -> None:
    assert validate_serial(value) == value
    assert validate_lot(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "serial is empty"),
        ("X" * 21, "at most 20 characters, got 21"),
        ("AB C", r"' ' \(U\+0020\) at position 3"),
        ("AB#", r"'#' \(U\+0023\) at position 3"),
        ("é1", r"'é' \(U\+00E9\) at position 1"),
        ("a\\b", "position 2"),
    ],
)
def test_validate_serial_names_problem_and_position(value: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        validate_serial(value, file="f.csv", line=3)
    assert (info.value.file, info.value.line, info.value.field) == ("f.csv", 3, "serial")


def test_validate_lot_reports_field_lot() -> None:
    with pytest.raises(InputError, match="lot has '~'") as info:
        validate_lot("L~1")
    assert info.value.field == "lot"


# --------------------------------------------------------------------------------------------
# bytes32 and ids


def test_to_bytes32_left_aligns_and_zero_pads() -> None:
    assert to_bytes32("ABC") == b"ABC" + b"\x00" * 29
    assert from_bytes32(to_bytes32("ABC")) == "ABC"


@pytest.mark.parametrize("bad", ["x" * 33, "é", "a\x00b"])
def test_to_bytes32_rejects_long_non_ascii_and_nul(bad: str) -> None:
    with pytest.raises(InputError):
        to_bytes32(bad)


def test_from_bytes32_rejects_wrong_length_and_interior_zero() -> None:
    with pytest.raises(InputError, match="32 bytes"):
        from_bytes32(b"abc")
    with pytest.raises(InputError):
        from_bytes32(b"a\x00b" + b"\x00" * 29)


@given(gs1_text)
def test_to_bytes32_round_trips_serials(serial: str) -> None:
    assert from_bytes32(to_bytes32(serial)) == serial


def test_item_id_hashes_unescaped_digital_link_path() -> None:
    expected = reference_keccak(b"/01/09506000134352/21/ABC123")
    assert item_id("09506000134352", "ABC123") == expected
    assert len(expected) == 32


def test_lot_id_hashes_lot_path() -> None:
    assert lot_id("09506000134352", "L/1") == reference_keccak(b"/01/09506000134352/10/L/1")


@given(st.binary(max_size=200))
def test_keccak256_agrees_with_eth_hash(data: bytes) -> None:
    assert keccak256(data) == reference_keccak(data)


# --------------------------------------------------------------------------------------------
# expiry


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-31", date(2026, 12, 31)),
        ("261231", date(2026, 12, 31)),
        ("260200", date(2026, 2, 28)),  # DD=00: end of month
        ("280200", date(2028, 2, 29)),  # ... of a leap year
        (" 270115 ", date(2027, 1, 15)),
        ("750101", date(2075, 1, 1)),  # within 50 years ahead: this century
        ("770101", date(1977, 1, 1)),  # 51 years ahead: previous century (GS1 window)
    ],
)
def test_parse_expiry_accepts_iso_and_gs1(text: str, expected: date) -> None:
    assert parse_expiry(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-02-30", "not a real date"),
        ("261301", "month 13 does not exist"),
        ("260231", "day 31 does not exist"),
        ("31/12/2026", "YYYY-MM-DD or YYMMDD"),
        ("20261231", "YYYY-MM-DD or YYMMDD"),
        ("", "YYYY-MM-DD or YYMMDD"),
    ],
)
def test_parse_expiry_rejects_bad_dates(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_expiry(text, today=TODAY, line=4)
    assert info.value.field == "expiry"
    assert info.value.line == 4


def test_expiry_to_yymmdd_encodes_integer() -> None:
    assert expiry_to_yymmdd(date(2026, 12, 31), today=TODAY) == 261231
    assert expiry_to_yymmdd(date(2030, 1, 5), today=TODAY) == 300105
    assert expiry_to_yymmdd(None) == 0


def test_expiry_to_yymmdd_refuses_dates_outside_the_window() -> None:
    with pytest.raises(InputError, match="too far"):
        expiry_to_yymmdd(date(2090, 1, 1), today=TODAY)


@given(expiries)
def test_expiry_to_yymmdd_round_trips_through_yymmdd_to_date(expiry: date) -> None:
    assert yymmdd_to_date(expiry_to_yymmdd(expiry, today=TODAY), today=TODAY) == expiry


# --------------------------------------------------------------------------------------------
# Digital Link: rendering


def test_digital_link_uri_renders_canonical_form() -> None:
    link = DigitalLink("9506000134352", serial="ABC123", lot="LOT7", expiry=date(2026, 12, 31))
    assert link.gtin == "09506000134352"
    assert link.uri() == "https://id.gs1.org/01/09506000134352/10/LOT7/21/ABC123?17=261231"
    assert link.item_path() == "/01/09506000134352/21/ABC123"
    assert link.item_id == item_id("09506000134352", "ABC123")
    assert link.lot_id == lot_id("09506000134352", "LOT7")


def test_digital_link_uri_percent_encodes_outside_unreserved() -> None:
    link = DigitalLink("09506000134352", serial="A/B%?(1)", lot="x!y", resolver="https://b.example/")
    assert link.uri() == "https://b.example/01/09506000134352/10/x%21y/21/A%2FB%25%3F%281%29"
    assert link.item_path() == "/01/09506000134352/21/A/B%?(1)"


def test_digital_link_without_serial_has_no_item_id() -> None:
    link = DigitalLink("09506000134352", lot="L1")
    assert link.uri() == "https://id.gs1.org/01/09506000134352/10/L1"
    with pytest.raises(InputError, match="no serial"):
        _ = link.item_id


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gtin": "09506000134353"},
        {"gtin": "09506000134352", "serial": "a b"},
        {"gtin": "09506000134352", "lot": ""},
        {"gtin": "09506000134352", "resolver": "ftp://x"},
        {"gtin": "09506000134352", "resolver": "https://x/?q=1"},
    ],
)
def test_digital_link_rejects_invalid_parts(kwargs: dict[str, str]) -> None:
    with pytest.raises(InputError):
        DigitalLink(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Digital Link: parsing


def test_parse_digital_link_reads_gs1_example() -> None:
    link = parse_digital_link("https://id.gs1.org/01/09506000134352/10/ABC1/21/12345?17=261231")
    assert link == DigitalLink("09506000134352", "12345", "ABC1", date(2026, 12, 31))


def test_parse_digital_link_keeps_host_and_path_prefix_as_resolver() -> None:
    link = parse_digital_link("https://brand.example/dl/v1/01/09506000134352/21/S1")
    assert link.resolver == "https://brand.example/dl/v1"
    assert link.serial == "S1"
    assert link.uri() == "https://brand.example/dl/v1/01/09506000134352/21/S1"


def test_parse_digital_link_normalizes_short_gtins() -> None:
    assert parse_digital_link("https://x.example/01/614141123452").gtin == "00614141123452"
    assert parse_digital_link("https://x.example/01/96385074").gtin == "00000096385074"


def test_parse_digital_link_accepts_convenience_alphas() -> None:
    link = parse_digital_link("https://x.example/gtin/09506000134352/lot/L1/ser/S%2F1?exp=260200&linkType=gs1:pip")
    assert (link.gtin, link.lot, link.serial, link.expiry) == (
        "09506000134352",
        "L1",
        "S/1",
        date(2026, 2, 28),
    )


def test_parse_digital_link_accepts_query_string_qualifiers() -> None:
    link = parse_digital_link("http://x.example/01/09506000134352?10=L1&21=S1&3103=000189#top")
    assert (link.lot, link.serial, link.expiry) == ("L1", "S1", None)


def test_parse_digital_link_tolerates_trailing_slash_and_upper_case_scheme() -> None:
    link = parse_digital_link("HTTPS://x.example/01/09506000134352/21/S1/")
    assert link.serial == "S1"
    assert link.resolver == "https://x.example"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://x.example/products/123", "no /01/"),
        ("https://x.example/01/09506000134353/21/S", "check digit should be 2"),
        ("https://x.example/01/0950600013435/21/S", "check digit"),
        ("https://x.example/01/09506000134352/21/a%20b", "position 2"),
        ("https://x.example/01/09506000134352/21/" + "S" * 21, "at most 20"),
        ("https://x.example/01/09506000134352/21/S/10/L", "out of order"),
        ("https://x.example/01/09506000134352/21/S/21/T", "twice"),
        ("https://x.example/01/09506000134352/99/X", "AI 99 is not allowed"),
        ("https://x.example/01/09506000134352/foo/X", "unknown AI 'foo'"),
        ("https://x.example/01/09506000134352/22/V/21/S", "AI 22"),
        ("https://x.example/01/09506000134352/21/%G1", "malformed percent-encoding"),
        ("https://x.example/01/09506000134352/21/ab%", "malformed percent-encoding"),
        ("https://x.example/01/09506000134352/21/%C3%A9", "not an ASCII character"),
        ("https://x.example/01/09506000134352/21/S?21=T", "differs between path and query"),
        ("https://x.example/01/09506000134352?17=2026-12-31", "must be YYMMDD"),
        ("https://x.example/01/09506000134352?17=261301", "month 13"),
        ("https://x.example/01/09506000134352/21/", "'21' at the end has no value"),
        ("https://x.example/01/09506000134352/21//", "empty value"),
        ("ftp://x.example/01/09506000134352", "not an http"),
        ("id.gs1.org/01/09506000134352", "not an http"),
        ("https:///01/09506000134352", "no valid host"),
    ],
)
def test_parse_digital_link_rejects_with_reason(uri: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_digital_link(uri, today=TODAY)


@settings(max_examples=300, deadline=None)
@given(
    gtin=gtins(),
    serial=st.none() | gs1_text,
    lot=st.none() | gs1_text,
    expiry=st.none() | expiries,
    resolver=resolvers,
)
def test_parse_digital_link_round_trips_uri(gtin: str, serial: str | None, lot: str | None, expiry: date | None, resolver: str) -> None:
    link = DigitalLink(gtin, serial=serial, lot=lot, expiry=expiry, resolver=resolver)
    uri = link.uri()
    path = uri[len(link.resolver) :].partition("?")[0]
    assert re.fullmatch(r"(?:[A-Za-z0-9._~/-]|%[0-9A-F]{2})*", path), path
    assert parse_digital_link(uri) == link


@settings(max_examples=400, deadline=None)
@given(
    st.text(max_size=120)
    | st.builds(lambda tail: "https://x.example/01/09506000134352" + tail, st.text(max_size=60))
    | st.builds(
        lambda parts: "https://x.example/" + "/".join(parts),
        st.lists(
            st.sampled_from(["01", "21", "10", "22", "17", "gtin", "ser", "%", "%2", "", "é"]) | st.text(max_size=6),
            max_size=8,
        ),
    )
)
def test_parse_digital_link_raises_only_input_error_on_hostile_input(text: str) -> None:
    try:
        link = parse_digital_link(text)
    except InputError:
        return
    assert isinstance(link, DigitalLink)
    assert len(link.gtin) == 14


# --------------------------------------------------------------------------------------------
# item references


def test_parse_item_reference_accepts_item_id_hex() -> None:
    ident = item_id("09506000134352", "ABC123")
    assert parse_item_reference("0x" + ident.hex()) == ident
    assert parse_item_reference(" 0X" + ident.hex().upper() + " ") == ident


def test_parse_item_reference_accepts_digital_link() -> None:
    result = parse_item_reference("https://id.gs1.org/01/09506000134352/21/ABC123")
    assert isinstance(result, DigitalLink)
    assert result.item_id == item_id("09506000134352", "ABC123")


def test_parse_item_reference_accepts_element_string() -> None:
    result = parse_item_reference("(01)09506000134352(10)L(1)(21)ABC123(17)261200", today=TODAY)
    assert result == DigitalLink("09506000134352", "ABC123", "L(1)", date(2026, 12, 31))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0x1234", "64 hex digits"),
        ("ABC123", "expected a GS1 Digital Link"),
        ("(10)L1(21)S", "no \\(01\\)"),
        ("(01)09506000134352(21)A(21)B", "twice"),
    ],
)
def test_parse_item_reference_rejects_unknown_forms(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_item_reference(text)


def test_make_gtin_gln_sscc_give_gs1s_example_keys() -> None:
    # GS1 General Specifications examples: SSCC 106141412345678908 and GTIN 00614141123452.
    assert gs1.make_sscc("0614141", 234567890, extension=1) == "106141412345678908"
    assert gs1.make_gtin("0614141", 12345) == "00614141123452"
    gln = gs1.make_gln("0614141", 33333)
    assert len(gln) == 13 and gln.startswith("061414133333") and int(gln[-1]) == gs1.gtin_check_digit(gln[:-1])
