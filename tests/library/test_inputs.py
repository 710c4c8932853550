"""The one input layer for single values: addresses, amounts, durations, percentages, 32-byte hex,
dates and times. Every bad value is one InputError that names where it came from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from o2ochain import inputs
from o2ochain.errors import InputError
from tests.conftest import GTIN_A, World

KNOWN = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55's own example

addresses = st.binary(min_size=20, max_size=20).filter(any).map(lambda b: "0x" + b.hex())


def _flip(text: str, index: int) -> str:
    return text[:index] + text[index].swapcase() + text[index + 1 :]


# -- addresses ----------------------------------------------------------------------------------
@settings(max_examples=300)
@given(raw=addresses)
def test_address_accepts_lower_upper_and_checksummed_spellings_as_one_address(raw: str) -> None:
    checksummed = inputs.address(raw)
    assert checksummed == Web3.to_checksum_address(raw)  # the EIP-55 spelling
    spellings = {raw.lower(), "0x" + raw[2:].upper(), checksummed, "0X" + raw[2:].lower(), f"  {checksummed}\n"}
    assert {inputs.address(s) for s in spellings} == {checksummed}


@settings(max_examples=300)
@given(raw=addresses, data=st.data())
def test_address_refuses_any_one_character_case_flip_of_a_checksummed_address(raw: str, data: st.DataObject) -> None:
    checksummed = inputs.address(raw)
    letters = [i for i, c in enumerate(checksummed) if i >= 2 and c.isalpha()]
    if not letters:
        return  # all digits: nothing a case flip could mistype
    index = data.draw(st.sampled_from(letters))
    flipped = _flip(checksummed, index)
    if flipped[2:] in (flipped[2:].lower(), flipped[2:].upper()):
        return  # the flip made it all one case: such a spelling carries no checksum, and is accepted
    with pytest.raises(InputError) as info:
        inputs.address(flipped, "--to")
    assert info.value.field == "--to" and "checksum" in info.value.message


def test_address_refusals_say_what_is_wrong_and_where() -> None:
    cases = {
        "nope": "expected 0x and 40 hex digits",
        "0xabc": "3 hex digits where an address has 40",
        "shop.eth": "names are not looked up",
        "0x" + "00" * 20: "the zero address",
        _flip(KNOWN, 3): "wrong EIP-55 checksum",
        KNOWN + "00": "42 hex digits",
    }
    for text, words in cases.items():
        with pytest.raises(InputError) as info:
            inputs.address(text, inputs.Where(file="sales.csv", line=7, field="buyer"))
        assert words in str(info.value), text
        assert str(info.value).startswith("sales.csv:7, field 'buyer': ")
    assert inputs.address("0x" + "00" * 20, allow_zero=True) == "0x" + "00" * 20
    assert inputs.address(bytes.fromhex(KNOWN[2:])) == KNOWN
    with pytest.raises(InputError):
        inputs.address(12345, "owner")


# -- amounts ------------------------------------------------------------------------------------
@settings(max_examples=300)
@given(units=st.integers(min_value=1, max_value=2**96 - 1), decimals=st.integers(min_value=0, max_value=24))
def test_amount_round_trips_with_format_amount(units: int, decimals: int) -> None:
    shown = inputs.format_amount(units, decimals)
    assert inputs.amount(shown.replace(",", "_"), decimals) == units
    assert inputs.amount(inputs.format_amount(units, decimals, "USDC").replace(",", "_"), decimals, symbol="usdc") == units


@settings(max_examples=200)
@given(units=st.integers(min_value=0, max_value=2**96 - 1), decimals=st.integers(min_value=0, max_value=18), extra=st.integers(1, 9))
def test_amount_refuses_more_decimal_places_than_the_currency_has(units: int, decimals: int, extra: int) -> None:
    whole, frac = divmod(units, 10**decimals)
    text = f"{whole}.{str(frac).rjust(decimals, '0') if decimals else ''}{extra}"  # one digit more than the currency has
    with pytest.raises(InputError) as info:
        inputs.amount(text, decimals, "--price")
    assert f"more than {decimals} decimal places" in info.value.message and info.value.field == "--price"


def test_amount_checks_its_form_before_the_currency_is_known() -> None:
    typed = inputs.decimal_amount("1.25 USDC", "--max-payout")
    assert (typed.number, typed.unit, typed.text) == (Decimal("1.25"), "USDC", "1.25 USDC")
    assert typed.units(6, symbol="USDC") == 1_250_000
    with pytest.raises(InputError, match="the amount is in ETH, not USDC"):
        typed.units(18, symbol="ETH")
    with pytest.raises(InputError, match="a plain number, not USDC"):
        typed.units(6)
    for bad, words in (("abc", "not an amount"), ("-1", "negative"), ("NaN", "not an amount"), ("1,5", "a dot for decimals")):
        with pytest.raises(InputError, match=words) as info:
            inputs.decimal_amount(bad, "--max-payout")
        assert info.value.field == "--max-payout"
    with pytest.raises(InputError, match="more than zero"):
        inputs.amount("0", 18)
    assert inputs.amount("0", 18, allow_zero=True) == 0
    with pytest.raises(InputError, match="more than the contract can hold"):
        inputs.amount(str(2**96), 0)
    assert inputs.amount(typed, 6, "ignored", symbol="USDC") == 1_250_000  # an Amount keeps where it was typed


# -- durations, percentages, numbers --------------------------------------------------------------
@given(days=st.integers(0, 400), hours=st.integers(0, 23), minutes=st.integers(0, 59))
def test_duration_reads_every_unit_and_their_sums(days: int, hours: int, minutes: int) -> None:
    expected = days * 86_400 + hours * 3_600 + minutes * 60
    assert inputs.duration(f"{days}d{hours}h{minutes}m") == expected
    assert inputs.duration(f"{days} days {hours} hours {minutes} min") == expected
    assert inputs.duration(str(expected)) == expected


def test_duration_refusals_name_the_option_and_the_bounds() -> None:
    assert (inputs.duration("2w"), inputs.duration("90m"), inputs.duration("45s"), inputs.duration(7)) == (1_209_600, 5_400, 45, 7)
    for bad, words in (("soon", "not a duration"), ("1d12", "give every part a unit"), ("", "not a duration"), ("3y", "not a duration")):
        with pytest.raises(InputError, match=words) as info:
            inputs.duration(bad, "--window")
        assert info.value.field == "--window"
    with pytest.raises(InputError, match="8 days is too long: at most 1 week"):
        inputs.duration("8d", "--grace", maximum=7 * 86_400)
    with pytest.raises(InputError, match="12 hours is too short: at least 1 day"):
        inputs.duration("12h", "--for", minimum=86_400)


def test_percent_is_basis_points_with_at_most_two_decimals() -> None:
    assert [inputs.percent(t) for t in ("5%", "2.5%", "0", "100 %", "0.01%")] == [500, 250, 0, 10_000, 1]
    for bad, words in (("five", "not a percentage"), ("101%", "between 0% and 100%"), ("0.001%", "at most two decimals")):
        with pytest.raises(InputError, match=words):
            inputs.percent(bad, "--tolerance")


def test_integer_in_range() -> None:
    assert inputs.integer("1_000") == 1_000 and inputs.integer(7) == 7
    with pytest.raises(InputError, match="at least 1"):
        inputs.integer("0", "--retailer", minimum=1, what="retailer number")
    with pytest.raises(InputError, match="not a whole batch size"):
        inputs.integer("2.5", "--batch-size", what="batch size")


# -- 32-byte hex, dates and times -----------------------------------------------------------------
def test_bytes32_takes_64_hex_digits_with_or_without_0x() -> None:
    value = bytes(range(32))
    assert inputs.bytes32("0x" + value.hex()) == value == inputs.bytes32(value.hex().upper()) == inputs.bytes32(value)
    with pytest.raises(InputError, match="'0x1234' is not a review id: 4 hex digits where it has 64") as info:
        inputs.bytes32("0x1234", "REVIEW", what="review id")
    assert info.value.field == "REVIEW"
    with pytest.raises(InputError, match="expected 64 hex digits"):
        inputs.bytes32("0x" + "zz" * 32)


def test_day_and_moment() -> None:
    assert inputs.day("2026-12-31") == date(2026, 12, 31)
    with pytest.raises(InputError, match="no day of the calendar"):
        inputs.day("2026-02-30")
    assert inputs.moment("2026-12-31T08:00:00+08:00") == datetime(2026, 12, 31, 0, 0, tzinfo=UTC)
    assert inputs.moment("2026-12-31") == datetime(2026, 12, 31, tzinfo=UTC)  # without a zone: UTC
    assert inputs.moment("1800000000") == datetime.fromtimestamp(1_800_000_000, UTC)
    zoned = inputs.moment("2026-12-31T08:00+08:00", zone_required=True)
    assert zoned.utcoffset() == timedelta(hours=8) and zoned.tzinfo == timezone(timedelta(hours=8))
    with pytest.raises(InputError, match="no UTC offset") as info:
        inputs.moment("2026-12-31T08:00", "--time", zone_required=True)
    assert info.value.field == "--time"
    with pytest.raises(InputError, match="not a time"):
        inputs.moment("tomorrow")


# -- the library's public methods read addresses the same way -------------------------------------
def test_role_and_reader_methods_refuse_bad_addresses_by_parameter_before_sending(world: World) -> None:
    """Every public method that takes an address from its caller reads it with inputs.address:
    a malformed one or a mistyped checksum is an InputError naming the parameter, and nothing
    is sent (the chain's block number does not move)."""
    chain = world.chain
    retailer = chain.register_retailer(world.operator)
    web = Account.create()
    retailer.add_channel("online-shop", web.address, "web shop")
    item = f"https://id.gs1.org/01/{GTIN_A}/21/ANY1"
    calls: list[tuple[str, Callable[[str], object]]] = [
        ("admin", lambda a: chain.admin(world.operator).register_brand(a, "Another brand", ["950699"])),
        ("admin", lambda a: chain.deploy(world.operator, admin=a)),
        ("account", lambda a: chain.brand(world.brand_admin, world.brand).grant_registrant(a)),
        ("account", lambda a: chain.brand(world.brand_admin, world.brand).revoke_registrant(a)),
        ("account", lambda a: chain.brand(world.brand_admin, world.brand).grant_seller(a)),
        ("account", lambda a: chain.brand(world.brand_admin, world.brand).revoke_seller(a)),
        ("account", chain.identity.line),
        ("owner", lambda a: chain.seller(world.seller).claim(item, a)),
        ("owner", lambda a: chain.seller(world.seller).sign_claim(item, a)),
        ("actor", lambda a: chain.trace_admin(world.brand_admin, world.brand).grant(a, "farm")),
        ("actor", lambda a: chain.trace_admin(world.brand_admin, world.brand).revoke(a)),
        ("data_user", lambda a: chain.consumer_consent(world.buyer).grant(a, ["delivery"], ["contact"])),
        ("data_user", lambda a: chain.consumer_consent(world.buyer).revoke(a)),
        ("consumer", lambda a: chain.data_user(world.outsider).record_use(a, "delivery", "contact", "order 1")),
        ("consumer", lambda a: chain.consent.grants(consumer=a)),
        ("data_user", lambda a: chain.consent.uses(data_user=a)),
        ("currency", lambda a: chain.register_retailer(world.outsider, currency=a)),
        ("key", lambda a: retailer.add_channel("store", a, "store")),
        ("new_key", lambda a: retailer.rotate_key(1, a)),
        ("to", lambda a: retailer.announce_withdrawal(1, a)),
        ("buyer", lambda a: chain.channel(web).record_sale(a, GTIN_A, 1, 10**17, "R-1")),
        ("buyer", lambda a: chain.channel(web).sign_receipt(a, GTIN_A, 1, 10**17, "R-1")),
        ("currency", lambda a: chain.buyer(world.buyer).withdraw_credit(a)),
        ("buyer", lambda a: chain.guarantee.purchases(buyer=a)),
        ("key", chain.guarantee.key),
    ]
    mistyped = _flip(world.buyer.address, next(i for i, c in enumerate(world.buyer.address) if i >= 2 and c.isalpha()))
    block = chain.w3.eth.block_number
    for field, call in calls:
        for bad, words in (("0xnotanaddress", "is not an address"), (mistyped, "wrong EIP-55 checksum")):
            with pytest.raises(InputError) as info:
                call(bad)
            assert (info.value.field, words in info.value.message) == (field, True), (field, bad, info.value)
    assert chain.w3.eth.block_number == block
