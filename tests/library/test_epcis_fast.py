"""The fast way through EPCIS validation (issue 17, ``validate_50mb_s``) reports exactly what the
slow, reference way reports: the compiled gate, the identifier shortcut, orjson reading and
hashing are exact shortcuts, each falling back to the reference for whatever it cannot vouch for.

The reference way is the same code with every shortcut switched off (:func:`reference`): each
event validated by jsonschema, each identifier parsed, each document read by :mod:`json`, each
event canonicalised by rfc8785.
"""

from __future__ import annotations

import copy
import enum
import gc
import json
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import jsonschema_rs
import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench._epcis_docs import document_bytes, make_document, make_events
from o2ochain.epcis import _document, _schema, content_hash, parse_document, parse_identifier, validate_document
from o2ochain.epcis._vocabulary import _is_uri, _parse_time
from o2ochain.errors import InputError, InputErrors
from tests.library.test_epcis import paths_in

SLOW_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@contextmanager
def reference() -> Iterator[None]:
    """Every shortcut off: what validation did before the fast way existed."""
    with (
        mock.patch.object(_document, "_fast_enabled", lambda: False),
        mock.patch.object(_document, "_loads_fast", lambda data: _document._SLOW),
        mock.patch.object(_document, "_without_events", lambda doc, located: doc),
    ):
        yield


def reported(call: Any, *args: Any, **kwargs: Any) -> Any:
    """What a call reports: its problems (every attribute, in order), or what it returned."""
    try:
        result = call(*args, **kwargs)
    except InputErrors as exc:
        return ("errors", [(e.message, e.field, repr(e.value), e.file, e.line) for e in exc.errors])
    except InputError as exc:
        return ("error", (exc.message, exc.field, repr(exc.value), exc.file, exc.line))
    if result is None:
        return ("valid",)
    return (
        "document",
        [(e.path, e.content_hash, e.raw, e.subjects, e.event_time, e.tz_offset, e.biz_step, e.disposition) for e in result.events],
        result.notes,
    )


def same_both_ways(call: Any, *args: Any, **kwargs: Any) -> Any:
    fast = reported(call, *args, **kwargs)
    with reference():
        slow = reported(call, *args, **kwargs)
    assert fast == slow
    return fast


# --------------------------------------------------------------------------------------------
# the benchmark's documents


def test_generated_documents_are_valid_and_mix_every_event_type() -> None:
    doc = make_document(2000, seed=3)
    parsed = parse_document(orjson.dumps(doc), source="generated")
    assert len(parsed.events) == 2000
    assert {e.type for e in parsed.events} == {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
    fields = {name for event in doc["epcisBody"]["eventList"] for name in event}
    assert {"sensorElementList", "ilmd", "bizTransactionList", "quantityList", "persistentDisposition", "example:shift"} <= fields
    assert make_document(50, seed=3) == make_document(50, seed=3), "deterministic from the seed"


def test_generated_documents_are_about_300_bytes_an_event() -> None:
    size = len(document_bytes(5000))
    assert 250 * 5000 < size < 350 * 5000


def test_every_generated_event_takes_the_fast_way() -> None:
    events = make_events(3000, seed=5)
    assert all(_schema._passes_fast(event) for event in events)
    assert all(_document._certainly_valid(event) for event in events)


# --------------------------------------------------------------------------------------------
# broken documents: the same problems, in the same words, at the same paths


TRICKY_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**53 - 1,
    2**53,
    -(2**53),
    2**64,
    2**70,
    1.0,
    0.5,
    -0.0,
    1e21,
    1e-7,
    1e300,
    float("nan"),
    float("inf"),
    "",
    "x",
    "\udc80",
    "é😀",
    'quote " and \\ backslash',
    "DELETE\n",
    "ADD",
    "OBSERVE",
    "shipping",
    "in_transit",
    "١٢",
    "2024-02-29T10:00:00Z",
    "2023-02-29T10:00:00Z",
    "2024-05-01T23:59:60Z",
    "2024-05-01t10:00:00z",
    "2024-05-31T10:00:00.123456789+14:00",
    "2024-06-31T10:00:00Z",
    "2024-05-01T10:00:00+24:00",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:30:00+01:00",
    "0000-01-01T00:00:00Z",
    "+02:00",
    "+14:01",
    "urn:epc:id:sgtin:0614141.812345.6789",
    "urn:epc:id:sgtin:0614141.812345.67%2F89",
    "urn:epc:id:sgtin:0614141.812345.%zz",
    "URN:EPC:ID:SGTIN:0614141.812345.6789",
    "urn:epc:id:sgtin:0614141.8123456.1",
    "urn:epc:id:sgtin:0614141.812345.123456789012345678901",
    "urn:epc:class:lgtin:4012345.012345.998877",
    "urn:epc:id:sscc:0614141.1234567890",
    "urn:epc:id:sscc:0614141.123456789",
    "urn:epc:id:sgln:0614141.00777.0",
    "urn:epc:id:sgln:0614141.00777.",
    "urn:epc:id:sgln:061414100777..0",
    "urn:epc:id:grai:4012345.55555.98765",
    "urn:epc:id:giai:4000001.12345",
    "urn:epc:idpat:sgtin:0614141.812345.*",
    "https://id.gs1.org/01/09506000134352/21/ABC",
    "https://id.gs1.org/414/9506000134352",
    "https://id.gs1.org/00/106141412345678908",
    "geo:22.300,-118.44",
    "urn:example:x",
    "http://ns.example.com/epcis/x y",
    "http://ns.example.com/epcis/x\u00a0y",
    "http://ns.example.com/epcis/x\u2028y",
    "http://ns.example.com/epcis/x%41y",
    "http://ns.example.com/epcis/x%4",
    "_:",
    "_:b0",
    "example:myField",
    (1, 2),
    ["urn:epc:id:sgtin:0614141.812345.6789"],
    [],
    {},
    {"id": "urn:epc:id:sgln:0614141.00777.0"},
    {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 2.0, "uom": "KGM"},
    {"type": "Temperature", "value": 4.5, "uom": "CEL"},
    {"set": ["completeness_verified", "completeness_verified"]},
    {"😀": 1, "\uffff": 2, "a": 3},
]


NUMBERS: list[Any] = [2**53 - 1, 2**53, -(2**53), 2**63, 2**64, 2**70, 1e300, 1.0, 0.5, 1e21, float(2**53), float("nan"), float("-inf")]
"""Numbers at and beyond what canonical JSON carries."""


class Colour(enum.Enum):
    RED = 1


PYTHON_ONLY_VALUES: list[Any] = [(1, 2), ("urn:epc:id:sgtin:0614141.812345.6789",), Colour.RED, uuid.UUID(int=1)]

FIELD_NAMES = sorted(
    _schema._schemas().all_fields
    | {"id", "example:x", "bizstep", "epcClass", "quantity", "uom", "declarationTime", "reason", "sensorReport", "value", "😀"}
)


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


@st.composite
def broken_documents(draw: st.DrawFn, *, python_values: bool = False) -> dict[str, Any]:
    """A small generated document with one to three faults: a value deleted, replaced or added."""
    doc = make_document(draw(st.integers(1, 4)), seed=draw(st.integers(0, 10_000)))
    values = st.sampled_from(TRICKY_VALUES + (PYTHON_ONLY_VALUES if python_values else []))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(paths_in(doc))[1:]))
        parent: Any = doc
        for key in where[:-1]:
            parent = parent[key]
        operation = draw(st.sampled_from(["delete", "replace", "replace", "add", "extend"]))
        if operation == "delete":
            del parent[where[-1]]
        elif operation == "replace":
            parent[where[-1]] = copy.deepcopy(draw(values))
        elif operation == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(FIELD_NAMES))] = copy.deepcopy(draw(values | st.builds(deep, st.integers(240, 260))))
        elif operation == "extend":
            # An extension field holds anything: only canonical JSON limits it.
            located = _document._event_list(doc)
            events = located[1] if located is not None and isinstance(located[1], list) and located[1] else [doc]
            event = draw(st.sampled_from(events))
            if isinstance(event, dict):
                extension = values | st.sampled_from(NUMBERS) | st.builds(deep, st.integers(240, 260))
                event["example:x"] = copy.deepcopy(draw(extension | st.lists(extension, max_size=2)))
    return doc


@SLOW_SETTINGS
@given(broken_documents(python_values=True))
def test_validate_document_reports_the_same_problems_both_ways(doc: dict[str, Any]) -> None:
    same_both_ways(validate_document, doc, source="broken.json")


@SLOW_SETTINGS
@given(broken_documents())
def test_parse_document_reports_the_same_problems_and_events_both_ways(doc: dict[str, Any]) -> None:
    text = json.dumps(doc, ensure_ascii=False)
    same_both_ways(parse_document, text, source="broken.json")
    data = text.encode("utf-8", errors="surrogatepass")
    same_both_ways(parse_document, data, source="broken.json")
    same_both_ways(validate_document, data, source="broken.json")


def test_validate_document_words_problems_the_same_both_ways_in_a_large_document() -> None:
    doc = make_document(400, seed=9)
    events = doc["epcisBody"]["eventList"]
    events[7]["eventTime"] = "2024-05-01T10:00:00"
    events[40]["epcList"] = ["urn:foo:bar"]
    events[41]["bizStep"] = "shiping"
    events[99]["example:big"] = 2**60
    events[120]["readPoint"] = {"id": "urn:epc:id:sgtin:0614141.812345.6789"}
    events[200]["type"] = "https://example.com/MyEvent"
    events[399]["eventTime"] = "1969-07-20T20:17:40Z"
    reported_fast = same_both_ways(validate_document, doc, source="big.json")
    assert [field for _, field, *_ in reported_fast[1]] == [
        "$.epcisBody.eventList[7].eventTime",
        "$.epcisBody.eventList[40].epcList[0]",
        "$.epcisBody.eventList[41].bizStep",
        "$.epcisBody.eventList[99]",
        "$.epcisBody.eventList[120].readPoint.id",
        "$.epcisBody.eventList[200].type",
        "$.epcisBody.eventList[399].eventTime",
    ]


def test_validate_document_reads_bytes_like_parse_document() -> None:
    with pytest.raises(InputError, match="invalid JSON at line 1"):
        validate_document(b'{"type": ', source="x.json")
    with pytest.raises(InputErrors) as caught:
        validate_document(b'\xef\xbb\xbf{"type": "EPCISDocument"}', source="x.json")
    assert {e.field for e in caught.value.errors} >= {"$.creationDate", "$.schemaVersion"}
    validate_document(document_bytes(20), source="x.json")


def test_the_garbage_collector_is_left_as_it_was() -> None:
    assert gc.isenabled()
    parse_document(document_bytes(5), source="x.json")
    with pytest.raises(InputErrors):
        validate_document({"type": "EPCISDocument"}, source="x.json")
    assert gc.isenabled()
    gc.disable()
    try:
        validate_document(document_bytes(5), source="x.json")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_gate_is_not_used_without_room_on_the_stack() -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        assert not _document._fast_enabled()
    finally:
        sys.setrecursionlimit(limit)
    assert _document._fast_enabled()


# --------------------------------------------------------------------------------------------
# each shortcut, on its own


DATE_TIME = jsonschema_rs.Draft7Validator({"pattern": _schema._DATE_TIME_PATTERN})
URI = jsonschema_rs.Draft7Validator({"pattern": _schema._URI_PATTERN})

timestamps = st.builds(
    "{}-{}-{}{}{}:{}:{}{}{}".format,
    st.sampled_from(["2024", "1970", "0000", "0001", "9999", "24"]),
    st.sampled_from(["01", "02", "04", "06", "12", "13", "00", "1"]),
    st.sampled_from(["01", "28", "29", "30", "31", "32", "00"]),
    st.sampled_from(["T", "t", " ", "Z"]),
    st.sampled_from(["00", "23", "24", "9"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["00", "59", "60", "61"]),
    st.sampled_from(["", ".1", ".123456789", ".", ".x"]),
    st.sampled_from(["Z", "z", "+00:00", "-14:00", "+23:59", "+24:00", "+01:60", "", "+0100", "\n"]),
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(timestamps, st.text(max_size=40)))
def test_the_gate_accepts_only_date_times_that_parse(text: str) -> None:
    if DATE_TIME.is_valid(text):
        assert _parse_time(text) is not None


def test_the_gate_accepts_ordinary_date_times() -> None:
    for text in ("2025-03-01T07:00:09.942+01:00", "2025-12-31T23:59:59Z", "2024-04-30T00:00:00-05:00", "2025-01-31T12:00:00.000+05:30"):
        assert DATE_TIME.is_valid(text)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=30),
        st.builds(lambda scheme, rest: f"{scheme}:{rest}", st.sampled_from(["urn", "http", "a+b", "1x", "_", ""]), st.text(max_size=20)),
    )
)
def test_the_gate_accepts_only_uris_that_are_uris(text: str) -> None:
    if URI.is_valid(text):
        assert _is_uri(text)


def test_the_gate_refuses_every_white_space_and_control_in_a_uri() -> None:
    refused = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF and (re.match(r"\s", chr(c)) or c < 0x20 or c == 0x7F)]
    assert len(refused) > 30
    for char in refused:
        assert not URI.is_valid(f"urn:x{char}y"), f"U+{ord(char):04X}"
        assert not _is_uri(f"urn:x{char}y")


identifiers = st.one_of(
    st.sampled_from([v for v in TRICKY_VALUES if isinstance(v, str)]),
    st.builds(
        "urn:epc:{}:{}:{}.{}.{}".format,
        st.sampled_from(["id", "class", "ID"]),
        st.sampled_from(["sgtin", "lgtin", "sscc", "sgln", "SGTIN", "grai"]),
        st.text("0123456789", min_size=0, max_size=13),
        st.text("0123456789a", min_size=0, max_size=12),
        st.text("0123456789AZaz%.!\"&'()*+,-/:;<=>?_ é", max_size=22),
    ),
    st.builds(
        "urn:epc:id:{}:{}.{}".format,
        st.sampled_from(["sscc", "sgln"]),
        st.text("0123456789", min_size=0, max_size=13),
        st.text("0123456789.", min_size=0, max_size=12),
    ),
)


@settings(max_examples=400, deadline=None)
@given(identifiers)
def test_the_identifier_shortcut_agrees_with_parse_identifier(uri: str) -> None:
    try:
        found = parse_identifier(uri)
        expected: tuple[str, bool] | None = (found.kind, found.instance)
    except InputError:
        expected = None
    assert _document._kind_of(uri) == expected


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


FLOATS = [0.0, -0.0, 1.0, -1.5, 0.1, 1e21, 1e-7, 1e-6, 123456789012345680000.0, 5e-324, 1.7976931348623157e308, 2.0**53, 4.35]


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=4),
        json_values | st.sampled_from(FLOATS) | st.lists(st.sampled_from(FLOATS) | st.text(max_size=3), max_size=3),
        max_size=5,
    )
)
def test_the_fast_content_hash_is_the_rfc8785_one(event: dict[str, Any]) -> None:
    try:
        expected = content_hash(event)
    except InputError:
        return  # lone surrogates: the gate never lets them through
    assert _document._gated_content_hash(event) == expected


def test_orjson_writes_strings_and_sorts_keys_as_rfc8785_within_the_bmp() -> None:
    text = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    assert orjson.dumps(text) == rfc8785.dumps(text)
    keys = {chr(c): c for c in range(0x20, 0x10000, 7) if not 0xD800 <= c <= 0xDFFF}
    assert orjson.dumps(keys, option=orjson.OPT_SORT_KEYS) == rfc8785.dumps(keys)


big_integers = st.integers(-(2**80), 2**80) | st.integers(2**62, 2**66) | st.integers(-(2**66), -(2**62))
json_texts = st.one_of(
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.builds(
        lambda value, indent: json.dumps(value, indent=indent),
        st.recursive(big_integers | st.text("0123456789x", max_size=25), lambda inner: st.lists(inner, max_size=3), max_leaves=6),
        st.sampled_from([None, 0, 2, "\t"]),
    ),
    st.sampled_from(
        [
            '{"a": 18446744073709551616}',
            '{"a": -9223372036854775809}',
            '{"a":\n\t -12345678901234567890}',
            "[ 12345678901234567890]",
            "12345678901234567890",
            '{"s": "x12345678901234567890123456789012345678901234567890", "n": 12345678901234567890}',
            '{"a": 12345678901234567890123}',
            '{"a": "1234567890123456789012"}',
            '{"a": 1e999}',
            '{"a": NaN}',
            '{"a": "\\udc80"}',
            '{"a": 1, "a": 2, "b": 3}',
            "[" * 300 + "]" * 300,
            "[" * 1100 + "]" * 1100,
            '{"a": 0.1, "b": 1E400, "c": -0}',
            "\ufeff{}",
        ]
    ),
    st.text(max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(json_texts)
def test_orjson_reads_what_json_reads_or_steps_aside(text: str) -> None:
    data = text.encode("utf-8", errors="surrogatepass").removeprefix(b"\xef\xbb\xbf")
    fast = _document._loads_fast(data)
    if fast is _document._SLOW:
        return
    expected = json.loads(data.decode("utf-8"))
    assert repr(fast) == repr(expected)
