"""Hostile input for every parser: arbitrary bytes, text and JSON structures (and near-misses
mutated from valid input) give either a result or one of o2ochain's typed errors (``O2OError``)
— never another exception, never a traceback. Parsers that read files report the file.

Each target runs a few hundred examples; the whole module stays under a minute.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2ochain import epcis, gs1
from o2ochain.consent import SignedGrant, SignedRevoke
from o2ochain.errors import InputError, O2OError
from o2ochain.guarantee import QUOTE_TYPES, GuaranteeReader, Offer, SignedReceipt, load_quotes, read_sales_csv
from o2ochain.identity import catalogue_from_rows, read_catalogue
from o2ochain.loop import PAYLOAD_PREFIX, Voucher
from tests import gs1_epcis

FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))

# -- strategies ---------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "1e999", "NaN", "0x", "0xzz", "09506000134352", "urn:epc:id:sgtin:9506000.134352.1"]),
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20
)
hostile_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="ascii"), max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


def mutations(valid: Any) -> st.SearchStrategy[Any]:
    """``valid`` with one value somewhere replaced by an arbitrary JSON value, or one key dropped."""

    def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        out = [prefix]
        if isinstance(node, dict):
            for k, v in node.items():
                out += paths(v, (*prefix, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                out += paths(v, (*prefix, i))
        return out

    def apply(path: tuple[Any, ...], value: Any, drop: bool) -> Any:
        doc = json.loads(json.dumps(valid))
        if not path:
            return value
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if drop and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
        return doc

    return st.builds(apply, st.sampled_from(paths(valid)), json_values, st.booleans())


def only_typed_errors(fn: Callable[[], object]) -> O2OError | None:
    """Run ``fn``; an O2OError is the refusal it may give, anything else fails the test."""
    try:
        fn()
    except O2OError as exc:
        assert str(exc)  # a message a user can read
        return exc
    return None


def file_with(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- GS1: GTINs, Digital Links, element strings --------------------------------------------------

GS1_NEAR = st.sampled_from(
    [
        "https://id.gs1.org/01/09506000134352/21/ABC123",
        "https://id.gs1.org/01/09506000134352/10/LOT42/21/E%2F1?17=271012",
        "https://example.com/some/path/01/9506000134352/21/X",
        "(01)09506000134352(21)ABC123(17)271012",
        "0109506000134352" + "21ABC123",
        "09506000134352",
    ]
)


@FUZZ
@given(
    st.one_of(
        hostile_text,
        GS1_NEAR,
        st.builds(lambda a, b: a + b, GS1_NEAR, hostile_text),
        st.builds(lambda a, b: a[:b], GS1_NEAR, st.integers(0, 60)),
    )
)
def test_gs1_parsers_refuse_only_with_typed_errors(text: str) -> None:
    only_typed_errors(lambda: gs1.normalize_gtin(text))
    only_typed_errors(lambda: gs1.parse_digital_link(text))
    only_typed_errors(lambda: gs1.parse_item_reference(text))
    only_typed_errors(lambda: gs1.parse_expiry(text))
    only_typed_errors(lambda: gs1.validate_serial(text))
    only_typed_errors(lambda: epcis.parse_identifier(text))
    only_typed_errors(lambda: epcis.parse_time(text))


# -- CSV: the catalogue and the sales file ---------------------------------------------------------

CATALOGUE_OK = b"gtin,serial,lot,expiry\n09506000134352,S1,L1,2027-06-30\n"
SALES_OK = b"buyer,gtin,quantity,unit_price,receipt\n0x90F79bf6EB2c4f870365E785982E1f101E93b906,09506000134352,1,1.88,R-1\n"
csv_bytes = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda head, tail: head + tail,
        st.sampled_from([CATALOGUE_OK, SALES_OK, b"gtin;serial;lot\n", b"\xef\xbb\xbf"]),
        st.binary(max_size=200),
    ),
    st.builds(lambda head, n: head[:n], st.sampled_from([CATALOGUE_OK, SALES_OK]), st.integers(0, 120)),
    st.lists(st.lists(hostile_text, max_size=5), max_size=5).map(
        lambda rows: (
            b"gtin,serial,lot,expiry,buyer,quantity,unit_price,receipt\n"
            + "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")
        )
    ),
)


class _Decimals:
    """What GuaranteeReader.units reads of the reader: the currency's decimals and symbol."""

    def decimals(self, currency: str) -> int:
        return 18

    def symbol(self, currency: str) -> str | None:
        return None  # a currency without a symbol: an amount naming a unit is refused


def to_units(text: str) -> int:
    return GuaranteeReader.units(_Decimals(), text, "0x0000000000000000000000000000000000000000", field="unit_price")  # type: ignore[arg-type]


@FUZZ
@given(data=csv_bytes)
def test_csv_readers_refuse_only_with_typed_errors_naming_the_file(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    tmp_path = tmp_path_factory.mktemp("csv")
    catalogue = file_with(tmp_path, "items.csv", data)
    error = only_typed_errors(lambda: read_catalogue(catalogue))
    if isinstance(error, InputError):
        assert error.file == str(catalogue) or str(catalogue) in str(error)
    sales = file_with(tmp_path, "sales.csv", data)
    error = only_typed_errors(lambda: read_sales_csv(sales, to_units))
    if isinstance(error, InputError):
        assert error.file == str(sales) or str(sales) in str(error)


@FUZZ
@given(rows=st.lists(st.lists(hostile_text, max_size=6), max_size=6))
def test_catalogue_rows_refuse_only_with_typed_errors(rows: list[list[str]]) -> None:
    only_typed_errors(lambda: catalogue_from_rows(rows))


@FUZZ
@given(amount=st.one_of(hostile_text, st.sampled_from(["NaN", "sNaN", "-NaN", "Infinity", "-0", "1e-30", "1E+40", " 1.5 "])))
def test_amounts_refuse_only_with_typed_errors(amount: str) -> None:
    value = None
    error = only_typed_errors(lambda: to_units(amount))
    if error is None:
        value = to_units(amount)
        assert value >= 0 and Decimal(value) == Decimal(amount.strip()).scaleb(18)


# -- signed messages: receipts, quotes, vouchers, consent grants -------------------------------------

RECEIPT = {
    "type": "o2ochain.guarantee.receipt",
    "retailer": 1,
    "channel": 2,
    "buyer": "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "gtin": "09506000134352",
    "quantity": 1,
    "unitPrice": "188",
    "purchasedAt": 1_700_000_000,
    "receiptHash": "0x" + "11" * 32,
    "signature": "0x" + "22" * 65,
}
QUOTE = {
    "type": "o2ochain.guarantee.quote",
    "retailer": 1,
    "channel": 1,
    "gtin": "09506000134352",
    "currency": "0x0000000000000000000000000000000000000000",
    "price": "133",
    "priceType": "promotion",
    "validFrom": 1_700_000_000,
    "validUntil": 1_700_086_400,
    "nonce": 1,
    "signature": "0x" + "33" * 65,
}
GRANT = {
    "type": "o2ochain.consent.grant",
    "consumer": "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "dataUser": "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "nonce": 0,
    "deadline": 1_700_000_000,
    "signature": "0x" + "44" * 65,
    "purposes": ["delivery"],
    "categories": ["contact", "postal_address"],
    "expiry": 1_800_000_000,
    "notice": "0x" + "55" * 32,
    "language": "zh-CN",
    "dataHash": "0x" + "66" * 32,
}
REVOKE = {k: GRANT[k] for k in ("consumer", "dataUser", "nonce", "deadline", "signature")} | {"type": "o2ochain.consent.revoke"}


QUOTE_ABI = "(" + ",".join(f["type"] for f in QUOTE_TYPES["Quote"]) + ")"


def test_the_valid_messages_parse() -> None:
    # The fuzzers mutate these: they must be valid to start with, or the mutations prove little.
    assert SignedReceipt.from_json(RECEIPT).quantity == 1
    assert Offer.quote_from_json(QUOTE).price == 133
    assert SignedGrant.from_json(GRANT).expiry == 1_800_000_000
    assert SignedRevoke.from_json(REVOKE).nonce == 0


@pytest.mark.parametrize(
    ("message", "key", "value"),
    [
        (RECEIPT, "quantity", 2**32),
        (RECEIPT, "retailer", -1),
        (RECEIPT, "unitPrice", str(2**96)),
        (RECEIPT, "purchasedAt", 2**40),
        (RECEIPT, "receiptHash", "0x11"),
        (QUOTE, "nonce", 2**64),
        (QUOTE, "price", "-5"),
        (QUOTE, "validUntil", 2**40),
    ],
)
def test_signed_messages_refuse_values_the_contract_cannot_hold_naming_the_field(message: dict[str, Any], key: str, value: Any) -> None:
    parse = SignedReceipt.from_json if message is RECEIPT else Offer.quote_from_json
    with pytest.raises(InputError) as info:
        parse(message | {key: value})
    assert info.value.field == key


@FUZZ
@given(
    receipt=st.one_of(json_values, mutations(RECEIPT)),
    quote=st.one_of(json_values, mutations(QUOTE)),
    grant=st.one_of(json_values, mutations(GRANT)),
    revoke=st.one_of(json_values, mutations(REVOKE)),
)
def test_signed_messages_refuse_only_with_typed_errors(receipt: Any, quote: Any, grant: Any, revoke: Any) -> None:
    # What a parser accepts fits the contract's types: a receipt has a purchase id, a quote encodes.
    only_typed_errors(lambda: SignedReceipt.from_json(receipt).purchase_id)
    only_typed_errors(lambda: abi_encode([QUOTE_ABI], [Offer.quote_from_json(quote).as_quote_struct()]))
    only_typed_errors(lambda: SignedGrant.from_json(grant))
    only_typed_errors(lambda: SignedRevoke.from_json(revoke))


@pytest.mark.parametrize(
    ("message", "field", "value"),
    [
        (QUOTE, "priceType", False),  # JSON's false is no price type 0 (found by the fuzz test above)
        (QUOTE, "price", True),
        (QUOTE, "nonce", 1.5),
        (QUOTE, "validUntil", "12e3"),
        (RECEIPT, "unitPrice", 2.5),
        (RECEIPT, "quantity", False),
    ],
)
def test_json_booleans_and_fractions_are_no_whole_numbers(message: dict[str, Any], field: str, value: Any) -> None:
    parse = SignedReceipt.from_json if message is RECEIPT else Offer.quote_from_json
    with pytest.raises(InputError) as refused:
        parse({**message, field: value}, where="offers.jsonl")
    assert refused.value.field in (field, "price_type")
    assert "Traceback" not in str(refused.value) and "Encoding" not in str(refused.value)


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(st.one_of(mutations(QUOTE), json_values), max_size=3).map(lambda items: "\n".join(json.dumps(i) for i in items).encode()),
        st.lists(st.one_of(mutations(QUOTE), json_values), max_size=3).map(lambda items: json.dumps(items).encode()),
        st.sampled_from([b"[" * 5000, b"[1e999]", b'{"type": "o2ochain.guarantee.quote", "nonce": 1e999}', b"\xff\xfe"]),
    )
)
def test_quote_files_refuse_only_with_typed_errors_naming_the_file(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = file_with(tmp_path_factory.mktemp("quotes"), "quotes.jsonl", data)
    error = only_typed_errors(lambda: load_quotes(path))
    if isinstance(error, InputError):
        assert error.file == str(path)


VOUCHER = Voucher(7, 3, 1, 10**13, 9506000134352, 1_700_000_000, 1_800_000_000, b"\x77" * 65).payload()


@FUZZ
@given(
    text=st.one_of(
        hostile_text,
        st.binary(max_size=400).map(lambda b: PAYLOAD_PREFIX + base64.urlsafe_b64encode(b).decode().rstrip("=")),
        st.builds(lambda n, junk: VOUCHER[:n] + junk, st.integers(0, len(VOUCHER)), hostile_text),
        hostile_text.map(lambda t: PAYLOAD_PREFIX + t),
    )
)
def test_voucher_payloads_refuse_only_with_typed_errors(text: str) -> None:
    assert Voucher.from_payload(VOUCHER).index == 3
    only_typed_errors(lambda: Voucher.from_payload(text))


# -- EPCIS documents ------------------------------------------------------------------------------

EPCIS_SEEDS = (
    "Example_9.6.1-ObjectEvent.jsonld",
    "WithDigitalLinkID_Example_9.6.3-AggregationEventWithDigitalLink.jsonld",
    "WithErrorDeclaration_ErrorDeclarationAndCorrectiveEvent.jsonld",
)
EPCIS_DOCS = [json.loads(gs1_epcis.example(name).read_text()) for name in EPCIS_SEEDS]


@settings(FUZZ, max_examples=150)
@given(
    doc=st.one_of(
        json_values,
        st.sampled_from(range(len(EPCIS_DOCS))).flatmap(lambda i: mutations(EPCIS_DOCS[i])),
    ),
    as_text=st.sampled_from(["object", "text", "bytes"]),
)
def test_epcis_documents_refuse_only_with_typed_errors(doc: Any, as_text: str) -> None:
    source: Any = doc if as_text == "object" else json.dumps(doc) if as_text == "text" else json.dumps(doc).encode()
    only_typed_errors(lambda: epcis.parse_document(source, source="fuzz.jsonld"))


@settings(FUZZ, max_examples=200)
@given(
    data=st.one_of(
        st.binary(max_size=300), st.sampled_from([b"[" * 5000, b"{" * 3000, b'{"a": NaN}', b"\xef\xbb\xbf{}", b'{"@context": 1e999}'])
    )
)
def test_epcis_files_refuse_only_with_typed_errors(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = file_with(tmp_path_factory.mktemp("epcis"), "doc.jsonld", data)
    only_typed_errors(lambda: epcis.load_document(path))
