"""EPCIS 2.0 import and export: schema validation, identifier mapping, content hashes, the store."""

from __future__ import annotations

import copy
import hashlib
import json
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT7

from o2ochain import epcis, gs1
from o2ochain.epcis import (
    BIZ_STEPS,
    DISPOSITIONS,
    EPCIS_CONTEXT,
    NON_CBV_CODE,
    EventStore,
    code_of_biz_step,
    code_of_disposition,
    content_hash,
    export_document,
    load_document,
    pack_meta,
    parse_document,
    parse_identifier,
    unpack_meta,
    validate_document,
)
from o2ochain.epcis._schema import _inline, _schemas
from o2ochain.errors import InputError, InputErrors
from tests import gs1_epcis

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "epcis"
SCHEMA_DIR = Path(str(resources.files("o2ochain.epcis").joinpath("schema")))

OBJECT_DOC = "Example_9.6.1-ObjectEvent.jsonld"
AGGREGATION_DOC = "WithDigitalLinkID_Example_9.6.3-AggregationEventWithDigitalLink.jsonld"
TRANSFORMATION_DOC = "WithErrorDeclaration_ErrorDeclarationAndCorrectiveEvent.jsonld"
#: Three of GS1's examples that the detailed tests below read field by field.
FIXTURE_FILES = [gs1_epcis.example(name) for name in (OBJECT_DOC, AGGREGATION_DOC, TRANSFORMATION_DOC)]
EXAMPLE_FILES = sorted(gs1_epcis.EXAMPLES.glob("*.jsonld"))
shared_params = [pytest.param(p, id=p.name) for p in EXAMPLE_FILES]
fixture_params = [pytest.param(p, id=p.name) for p in FIXTURE_FILES]


def example(name: str) -> dict[str, Any]:
    """One of GS1's example documents, parsed."""
    loaded: dict[str, Any] = json.loads(gs1_epcis.example(name).read_text(encoding="utf-8"))
    return loaded


def event(**fields: Any) -> dict[str, Any]:
    """A minimal valid ObjectEvent, with ``fields`` replacing or adding keys."""
    base: dict[str, Any] = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventTime": "2024-05-01T10:00:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": ["urn:epc:id:sgtin:0614141.812345.6789"],
    }
    base.update(fields)
    return base


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def errors_of(doc: Any) -> list[InputError]:
    with pytest.raises(InputErrors) as caught:
        validate_document(doc, source="bad.json")
    return caught.value.errors


def fields_of(doc: Any) -> set[str | None]:
    return {e.field for e in errors_of(doc)}


# --------------------------------------------------------------------------------------------
# every real document imports, validates and round-trips


def check_example(path: Path) -> None:
    doc = load_document(path)
    assert doc.events, "every GS1 example carries at least one event"
    assert doc.source == str(path)
    for ev in doc.events:
        assert len(ev.content_hash) == 32
        assert ev.content_hash == gs1.keccak256(rfc8785.dumps(ev.raw))
        assert ev.primary_subjects(), f"{ev.path} is on nothing"
        assert ev.event_time.tzinfo is not None
        assert -14 * 60 <= ev.tz_offset <= 14 * 60
        unpacked = unpack_meta(pack_meta(ev))
        assert unpacked["event_type"] == ev.type and unpacked["event_time_ms"] == int(ev.event_time.timestamp() * 1000) // 1


def check_round_trip(path: Path) -> None:
    doc = load_document(path)
    exported = export_document([ev.raw for ev in doc.events], creation_date=datetime(2024, 5, 1, tzinfo=UTC))
    validate_document(exported, source="export")
    again = parse_document(epcis.dumps_document(exported), source="export.json")
    assert [ev.content_hash for ev in again.events] == [ev.content_hash for ev in doc.events]
    assert [ev.raw for ev in again.events] == [ev.raw for ev in doc.events]


@pytest.mark.parametrize("path", fixture_params)
def test_load_document_reads_committed_fixture(path: Path) -> None:
    check_example(path)


@pytest.mark.parametrize("path", fixture_params)
def test_export_document_round_trips_committed_fixture(path: Path) -> None:
    check_round_trip(path)


@pytest.mark.parametrize("path", shared_params)
def test_load_document_reads_every_shared_example(path: Path) -> None:
    check_example(path)


@pytest.mark.parametrize("path", shared_params)
def test_export_document_round_trips_every_shared_example(path: Path) -> None:
    check_round_trip(path)


# The sha256 of GS1's originals, recorded when the copies were made (tests/library/test_gs1_copy.py
# compares the whole copy with the originals wherever they are present).
ORIGINALS = json.loads((FIXTURES / "originals.sha256.json").read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_examples_read_field_by_field_are_the_recorded_originals() -> None:
    assert {p.name: _sha256(p) for p in FIXTURE_FILES} == ORIGINALS["examples"]


def test_shipped_schemas_are_unmodified_copies_of_the_shared_schemas() -> None:
    assert {p.relative_to(SCHEMA_DIR).as_posix(): _sha256(p) for p in SCHEMA_DIR.rglob("*.json")} == ORIGINALS["schema"]


def test_validate_document_uses_only_the_schemas_shipped_in_the_package() -> None:
    assert (SCHEMA_DIR / "EPCIS-JSON-Schema-root.json").is_file()
    assert (SCHEMA_DIR / "schemas" / "ObjectEvent-JSON-Schema.json").is_file()
    assert SCHEMA_DIR.is_relative_to(Path(epcis.__file__).parent)
    assert (SCHEMA_DIR / "README.md").read_text(encoding="utf-8").count("2b888be") == 1


# --------------------------------------------------------------------------------------------
# the prepared validators agree with plain jsonschema + referencing


def reference_validator() -> Any:
    """GS1's root schema validated the textbook way: jsonschema resolving $refs through referencing."""
    schemas = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.rglob("*.json"))]
    registry: Registry[Any] = Registry().with_resources((s["$id"], DRAFT7.create_resource(s)) for s in schemas)
    root = next(s for s in schemas if s["$id"].endswith("/EPCIS-JSON-Schema.json"))
    return Draft7Validator(root, registry=registry)


REFERENCE = reference_validator()


def test_validate_document_accepts_only_what_gs1s_schema_accepts() -> None:
    mutations: list[dict[str, Any]] = []
    base = example(OBJECT_DOC)
    for key, value in [("action", "MOVE"), ("epcList", "x"), ("eventTimeZoneOffset", "+15:00"), ("bizTransactionList", [{"type": "po"}])]:
        doc = copy.deepcopy(base)
        doc["epcisBody"]["eventList"][0][key] = value
        mutations.append(doc)
    doc = copy.deepcopy(base)
    del doc["epcisBody"]["eventList"][1]["eventTime"]
    mutations.append(doc)
    for doc in mutations:
        assert not REFERENCE.is_valid(doc)
        assert errors_of(doc)
    for name in (OBJECT_DOC, AGGREGATION_DOC, TRANSFORMATION_DOC):
        assert REFERENCE.is_valid(example(name))
        validate_document(example(name), source=name)


def test_parse_document_output_is_valid_for_gs1s_schema_for_every_shared_example() -> None:
    for path in EXAMPLE_FILES:
        assert REFERENCE.is_valid(load_document(path).raw), path.name


# --------------------------------------------------------------------------------------------
# identifiers

GTIN_8061 = "80614141123458"  # EPC Tag Data Standard example: urn:epc:id:sgtin:0614141.812345.6789


def test_parse_identifier_sgtin_urn_and_digital_link_give_the_item_id() -> None:
    urn = parse_identifier("urn:epc:id:sgtin:0614141.812345.6789")
    link = parse_identifier("https://id.gs1.org/01/80614141123458/21/6789")
    shop = parse_identifier("https://brand.example.com/p/01/80614141123458/21/6789?17=261231#top")
    assert urn.kind == link.kind == shop.kind == "item"
    assert urn.gtin == GTIN_8061 and urn.code == "6789"
    assert urn.id == link.id == shop.id == gs1.item_id(GTIN_8061, "6789")
    assert urn.dl_path == "/01/80614141123458/21/6789"
    assert urn.uri == "urn:epc:id:sgtin:0614141.812345.6789"
    assert urn.digital_link() == "https://id.gs1.org/01/80614141123458/21/6789"


def test_parse_identifier_lgtin_and_digital_link_give_the_lot_id() -> None:
    urn = parse_identifier("urn:epc:class:lgtin:4012345.012345.998877")
    link = parse_identifier("https://id.gs1.org/01/04012345123456/10/998877")
    assert urn.kind == link.kind == "lot"
    assert not urn.instance
    assert urn.id == link.id == gs1.lot_id("04012345123456", "998877")


def test_parse_identifier_class_pattern_and_gtin_link_give_the_class_id() -> None:
    urn = parse_identifier("urn:epc:idpat:sgtin:4012345.066666.*")
    link = parse_identifier(f"https://id.gs1.org/01/{urn.gtin}")
    assert urn.kind == link.kind == "class"
    assert urn.id == link.id == gs1.keccak256(f"/01/{urn.gtin}".encode())


def test_parse_identifier_sscc_maps_to_a_container() -> None:
    urn = parse_identifier("urn:epc:id:sscc:0614141.1234567890")
    link = parse_identifier("https://id.gs1.org/00/106141412345678908")
    assert urn.kind == link.kind == "container"
    assert urn.code == "106141412345678908"
    assert urn.id == link.id == gs1.keccak256(b"/00/106141412345678908")


def test_parse_identifier_sgln_without_extension_hashes_the_gln_alone() -> None:
    urn = parse_identifier("urn:epc:id:sgln:0614141.12345.0")
    link = parse_identifier("https://id.gs1.org/414/0614141123452")
    link_zero = parse_identifier("https://id.gs1.org/414/0614141123452/254/0")
    assert urn.kind == "location" and urn.code is None
    assert urn.id == link.id == link_zero.id == gs1.keccak256(b"/414/0614141123452")


def test_parse_identifier_sgln_with_extension_hashes_gln_and_extension() -> None:
    urn = parse_identifier("urn:epc:id:sgln:0614141.12345.400")
    link = parse_identifier("https://id.gs1.org/414/0614141123452/254/400")
    assert urn.code == "400"
    assert urn.id == link.id == gs1.keccak256(b"/414/0614141123452/254/400")
    assert urn.id != parse_identifier("urn:epc:id:sgln:0614141.12345.0").id


def test_parse_identifier_decodes_urn_escapes_in_serials() -> None:
    urn = parse_identifier("urn:epc:id:sgtin:0614141.812345.A%2FB%25C%26%3C")
    assert urn.code == "A/B%C&<"
    assert urn.id == gs1.item_id(GTIN_8061, "A/B%C&<")
    link = parse_identifier("https://id.gs1.org/01/80614141123458/21/A%2FB%25C%26%3C")
    assert link.id == urn.id
    assert urn.digital_link() == "https://id.gs1.org/01/80614141123458/21/A%2FB%25C%26%3C"


@pytest.mark.parametrize(
    ("urn", "link", "path"),
    [
        ("urn:epc:id:grai:0614141.12345.400", "https://id.gs1.org/8003/00614141123452400", "/8003/00614141123452400"),
        ("urn:epc:id:giai:0614141.12345400", "https://id.gs1.org/8004/061414112345400", "/8004/061414112345400"),
        ("urn:epc:id:gsrn:0614141.1234567890", "https://id.gs1.org/8018/061414112345678902", "/8018/061414112345678902"),
        ("urn:epc:id:gdti:0614141.12345.400", "https://id.gs1.org/253/0614141123452400", "/253/0614141123452400"),
        ("urn:epc:id:sgcn:4012345.67890.04711", "https://id.gs1.org/255/401234567890104711", "/255/401234567890104711"),
        (
            "urn:epc:id:cpi:0614141.123ABC.123456789",
            "https://id.gs1.org/8010/0614141123ABC/8011/123456789",
            "/8010/0614141123ABC/8011/123456789",
        ),
        ("urn:epc:id:pgln:0614141.12345", "https://id.gs1.org/417/0614141123452", "/417/0614141123452"),
        ("urn:epc:id:ginc:0614141.xyz47%2F11", "https://id.gs1.org/401/0614141xyz47%2F11", "/401/0614141xyz47/11"),
        (
            "urn:epc:id:itip:4012345.012345.01.02.987",
            "https://id.gs1.org/8006/040123451234560102/21/987",
            "/8006/040123451234560102/21/987",
        ),
        (
            "urn:epc:id:upui:1234567.089456.51qIgY)%3C%26Jp3*j7'SDB",
            "https://id.gs1.org/01/01234567894560/235/51qIgY)%3C%26Jp3*j7'SDB",
            "/01/01234567894560/235/51qIgY)<&Jp3*j7'SDB",
        ),
    ],
)
def test_parse_identifier_maps_other_gs1_keys_to_their_digital_link_path(urn: str, link: str, path: str) -> None:
    from_urn = parse_identifier(urn)
    from_link = parse_identifier(link)
    assert from_urn.kind == from_link.kind == "other-gs1"
    assert from_urn.dl_path == from_link.dl_path == path
    assert from_urn.id == from_link.id == gs1.keccak256(path.encode())
    assert from_urn.instance


def test_parse_identifier_computes_check_digits_like_gs1() -> None:
    grai = parse_identifier("urn:epc:id:grai:4012345.55555.987")
    assert grai.key == "0401234555555" + str(gs1.gtin_check_digit("0401234555555")) + "987"
    gsin = parse_identifier("urn:epc:id:gsin:0614141.123456789")
    assert gsin.key == "0614141123456789" + str(gs1.gtin_check_digit("0614141123456789"))
    assert gsin.ai == "402"


@pytest.mark.parametrize(
    "uri",
    [
        "urn:foo:bar",
        "http://transaction.acme.com/po/12345678",
        "https://example.com/products/123",
        "bare-string",
        "geo:22.300,-118.44",
        "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "urn:epc:id:foo:0614141.1",
    ],
)
def test_parse_identifier_refuses_unknown_schemes(uri: str) -> None:
    with pytest.raises(InputError, match="unknown identifier scheme"):
        parse_identifier(uri)


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("urn:epc:id:gid:95100000.12345.400", "no GS1 key"),
        ("urn:epc:id:sgtin:0614141.812345", "dot-separated fields"),
        ("urn:epc:id:sgtin:06141.8123456.1", "6 to 12 digits"),
        ("urn:epc:id:sgtin:0614141.81234.1", "13 digits together"),
        ("urn:epc:id:sgtin:0614141.812345.a%zz", "two hex digits"),
        ("urn:epc:id:sgtin:0614141.812345.123456789012345678901", "at most 20"),
        ("urn:epc:idpat:sgtin:0614141.*.*", "one class"),
        ("https://id.gs1.org/01/80614141123459/21/1", "check digit"),
        ("https://id.gs1.org/00/106141412345678909", "check digit"),
        ("https://id.gs1.org/414/0614141123452/21/1", "cannot follow"),
    ],
)
def test_parse_identifier_explains_malformed_gs1_identifiers(uri: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        parse_identifier(uri)


# --------------------------------------------------------------------------------------------
# malformed documents


def test_validate_document_reports_several_schema_errors_with_json_paths() -> None:
    doc = document(event(), event(), event(), event())
    events = doc["epcisBody"]["eventList"]
    del events[0]["eventTime"]
    events[1]["action"] = "MOVE"
    events[2]["bizStep"] = "shiping"
    events[3]["epcList"] = "urn:epc:id:sgtin:0614141.812345.6789"
    events[3]["bizstep"] = "shipping"
    found = {e.field: e for e in errors_of(doc)}
    assert set(found) == {
        "$.epcisBody.eventList[0].eventTime",
        "$.epcisBody.eventList[1].action",
        "$.epcisBody.eventList[2].bizStep",
        "$.epcisBody.eventList[3].epcList",
        "$.epcisBody.eventList[3].bizstep",
    }
    assert "required" in found["$.epcisBody.eventList[0].eventTime"].message
    assert "MOVE" in found["$.epcisBody.eventList[1].action"].message
    assert "CBV" in found["$.epcisBody.eventList[2].bizStep"].message
    assert "array" in found["$.epcisBody.eventList[3].epcList"].message
    assert "unknown property" in found["$.epcisBody.eventList[3].bizstep"].message
    assert all(e.file == "bad.json" for e in found.values())


def test_validate_document_reports_envelope_errors_with_json_paths() -> None:
    doc = document(event())
    del doc["creationDate"]
    doc["schemaVersion"] = "two"
    assert fields_of(doc) == {"$.creationDate", "$.schemaVersion"}


def test_validate_document_refuses_unknown_identifier_scheme_with_path_and_value() -> None:
    doc = document(event(epcList=["urn:epc:id:sgtin:0614141.812345.6789", "urn:foo:bar"]))
    (error,) = errors_of(doc)
    assert error.field == "$.epcisBody.eventList[0].epcList[1]"
    assert error.value == "urn:foo:bar"
    assert "unknown identifier scheme" in error.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("parentID", "https://example.com/pallet/1"),
        ("parentID", "geo:22.300,-118.44"),
        ("quantityList", [{"epcClass": "urn:example:class:1", "quantity": 1}]),
    ],
)
def test_validate_document_refuses_unknown_schemes_everywhere_an_object_or_place_is_named(name: str, value: Any) -> None:
    doc = document(event(type="TransactionEvent", bizTransactionList=[{"bizTransaction": "urn:example:po:1"}], **{name: value}))
    (error,) = errors_of(doc)
    assert error.field is not None and error.field.startswith(f"$.epcisBody.eventList[0].{name}")
    assert "unknown identifier scheme" in error.message


def test_validate_document_keeps_biz_transactions_sources_and_destinations_as_free_uris() -> None:
    ev = event(
        bizTransactionList=[{"type": "po", "bizTransaction": "http://transaction.acme.com/po/1"}],
        sourceList=[{"type": "owning_party", "source": "urn:example:party:1"}],
        destinationList=[{"type": "location", "destination": "https://example.com/stores/7"}],
        eventID="urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    )
    parsed = parse_document(document(ev)).events[0]
    assert parsed.biz_transactions == (("po", "http://transaction.acme.com/po/1"),)
    assert parsed.sources == (("owning_party", "urn:example:party:1"),)
    assert parsed.destinations == (("location", "https://example.com/stores/7"),)
    assert parsed.event_id == "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"


@pytest.mark.parametrize(
    "value",
    [
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-05-01 10:00:00Z",
        "2024-05-01T10:00:00",
        "2024-05-01",
        "yesterday",
        "2024-05-01T25:00:00Z",
    ],
)
def test_validate_document_refuses_bad_timestamps(value: str) -> None:
    (error,) = errors_of(document(event(eventTime=value)))
    assert error.field == "$.epcisBody.eventList[0].eventTime"
    assert "RFC 3339" in error.message


def test_validate_document_refuses_a_bad_declaration_time() -> None:
    doc = document(event(errorDeclaration={"declarationTime": "2024-05-01T10:00", "reason": "incorrect_data"}))
    assert fields_of(doc) == {"$.epcisBody.eventList[0].errorDeclaration.declarationTime"}


@pytest.mark.parametrize("value", ["+15:00", "0200", "+2:00", "+02:60", "Z", "-14:01"])
def test_validate_document_refuses_bad_offsets(value: str) -> None:
    (error,) = errors_of(document(event(eventTimeZoneOffset=value)))
    assert error.field == "$.epcisBody.eventList[0].eventTimeZoneOffset"
    assert "offset" in error.message


def test_validate_document_refuses_an_instance_identifier_in_a_quantity_list_and_a_class_in_an_epc_list() -> None:
    doc = document(
        event(epcList=["urn:epc:class:lgtin:4012345.012345.998877"]),
        event(epcList=[], quantityList=[{"epcClass": "urn:epc:id:sgtin:0614141.812345.6789", "quantity": 1}]),
    )
    assert fields_of(doc) == {"$.epcisBody.eventList[0].epcList[0]", "$.epcisBody.eventList[1].quantityList[0].epcClass"}


def test_validate_document_refuses_a_read_point_that_is_not_a_location() -> None:
    (error,) = errors_of(document(event(readPoint={"id": "urn:epc:id:sgtin:0614141.812345.6789"})))
    assert error.field == "$.epcisBody.eventList[0].readPoint.id"
    assert "location" in error.message


def test_validate_document_refuses_an_aggregation_that_adds_without_a_parent() -> None:
    agg = event(type="AggregationEvent", action="ADD", childEPCs=["urn:epc:id:sgtin:0614141.812345.6789"])
    del agg["epcList"]
    assert fields_of(document(agg)) == {"$.epcisBody.eventList[0].parentID"}


def test_validate_document_refuses_extension_event_types() -> None:
    extension = {"type": "https://example.com/MyEvent", "eventTime": "2024-05-01T10:00:00Z", "eventTimeZoneOffset": "+00:00"}
    assert fields_of(document(extension)) == {"$.epcisBody.eventList[0].type"}


def test_validate_document_refuses_numbers_canonical_json_cannot_carry() -> None:
    ev = event(epcList=[], quantityList=[{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 2**60}])
    (error,) = errors_of(document(ev))
    assert error.field == "$.epcisBody.eventList[0]"
    assert "RFC 8785" in error.message


def test_validate_document_refuses_non_documents() -> None:
    assert fields_of([1, 2]) == {"$"}
    assert fields_of({"type": "EPCISDocumnt"}) == {"$.type"}


def test_parse_document_reports_invalid_json_with_line_and_column() -> None:
    text = '{\n  "type": "EPCISDocument",\n  "schemaVersion": "2.0"\n  "creationDate": "2024-05-01T00:00:00Z"\n}'
    with pytest.raises(InputError) as caught:
        parse_document(text, source="broken.json")
    assert caught.value.line == 4
    assert "line 4, column 3" in caught.value.message
    assert caught.value.file == "broken.json"


def test_parse_document_refuses_nan_with_its_position() -> None:
    with pytest.raises(InputError) as caught:
        parse_document('{"a": "NaN",\n "b": NaN}', source="nan.json")
    assert caught.value.line == 2
    assert "column 7" in caught.value.message


def test_parse_document_refuses_non_utf8_with_line_and_column() -> None:
    data = b'{\n  "type": "EPCISDocument",\n  "x": "caf\xe9"\n}'
    with pytest.raises(InputError) as caught:
        parse_document(data, source="latin1.json")
    assert caught.value.line == 3
    assert "UTF-8" in caught.value.message and "column 12" in caught.value.message


def test_parse_document_skips_a_utf8_byte_order_mark() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(document(event())).encode()
    assert len(parse_document(data).events) == 1


def test_load_document_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_document(tmp_path / "absent.json")


# --------------------------------------------------------------------------------------------
# document forms


def test_parse_document_reads_a_query_document() -> None:
    events = example(OBJECT_DOC)["epcisBody"]["eventList"]
    query: dict[str, Any] = {
        "@context": EPCIS_CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T00:00:00Z",
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}},
    }
    doc = parse_document(query)
    assert doc.type == "EPCISQueryDocument"
    assert [e.path for e in doc.events] == [f"$.epcisBody.queryResults.resultsBody.eventList[{i}]" for i in range(2)]
    assert [e.content_hash for e in doc.events] == [content_hash(e) for e in events]
    bad = copy.deepcopy(query)
    bad["epcisBody"]["queryResults"]["resultsBody"]["eventList"][1]["eventTime"] = "soon"
    assert fields_of(bad) == {"$.epcisBody.queryResults.resultsBody.eventList[1].eventTime"}


def test_parse_document_reads_a_document_with_an_epcis_header() -> None:
    raw = example(AGGREGATION_DOC)
    raw["epcisHeader"] = {
        "epcisMasterData": {
            "vocabularyList": [
                {
                    "type": "urn:epcglobal:epcis:vtype:ReadPoint",
                    "vocabularyElementList": [
                        {"id": "urn:epc:id:sgln:0614141.00777.0", "attributes": [{"id": "urn:example:name", "attribute": "Dock 7"}]}
                    ],
                }
            ]
        }
    }
    doc = parse_document(raw)
    assert doc.header == raw["epcisHeader"]
    assert len(doc.events) == 1


def test_parse_document_reads_a_single_event_with_its_context() -> None:
    single = {"@context": EPCIS_CONTEXT, **event()}
    doc = parse_document(single)
    assert doc.type == "ObjectEvent"
    assert doc.events[0].path == "$"
    missing_context = event()
    assert fields_of(missing_context) == {"$['@context']"}


def test_parse_document_reads_a_jsonld_single_value_as_a_one_element_list() -> None:
    ev = event(
        type="TransactionEvent",
        bizTransactionList={"type": "po", "bizTransaction": "urn:example:po:1"},
        sourceList={"type": "location", "source": "urn:epc:id:sgln:0614141.12345.0"},
    )
    raw = document(ev)
    original = copy.deepcopy(raw)
    doc = parse_document(raw)
    assert raw == original, "the caller's object is not modified"
    parsed = doc.events[0]
    assert parsed.raw["sourceList"] == [ev["sourceList"]]
    assert parsed.biz_transactions == (("po", "urn:example:po:1"),)
    assert len(doc.notes) == 2 and all("one-element list" in n for n in doc.notes)
    validate_document(export_document([parsed.raw]), source="export")


def test_parse_document_notes_a_standard_field_on_an_event_type_that_does_not_define_it() -> None:
    agg = {
        "type": "AggregationEvent",
        "action": "OBSERVE",
        "parentID": "urn:epc:id:sscc:0614141.1234567890",
        "childEPCs": ["urn:epc:id:sgtin:0614141.812345.6789"],
        "eventTime": "2024-05-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "persistentDisposition": {"set": ["completeness_verified"]},
    }
    doc = parse_document(document(agg))
    assert doc.notes == (
        "$.epcisBody.eventList[0].persistentDisposition: not an EPCIS 2.0 field of AggregationEvent; kept in the event, not interpreted",
    )


# --------------------------------------------------------------------------------------------
# events


def test_parse_document_maps_an_object_event() -> None:
    first = load_document(gs1_epcis.example(OBJECT_DOC)).events[0]
    assert first.type == "ObjectEvent" and first.action == "OBSERVE"
    assert first.biz_step == "shipping" and first.disposition == "in_transit"
    assert first.event_time == datetime(2005, 4, 3, 20, 33, 31, 116000, tzinfo=timezone(timedelta(hours=-6)))
    assert first.tz_offset == -360
    assert first.read_point is not None and first.read_point.dl_path == "/414/0614141073467/254/1234"
    assert first.biz_location is None
    assert [s.role for s in first.subjects] == ["epc", "epc"]
    assert first.primary_subjects()[0].id == gs1.item_id("10614141073464", "2017")
    assert first.related_subjects() == ()
    assert first.error_declaration is None
    assert first.path == "$.epcisBody.eventList[0]"


def test_primary_subjects_of_an_aggregation_is_its_parent_and_related_are_its_children() -> None:
    agg = load_document(gs1_epcis.example(AGGREGATION_DOC)).events[0]
    assert agg.parent is not None and agg.parent.kind == "container"
    assert agg.primary_subjects() == (agg.parent,)
    related = agg.related_subjects()
    assert [s.kind for s in related] == ["item", "item", "class", "lot"]
    quantities = [(s.quantity, s.uom) for s in agg.subjects if s.role == "child" and s.quantity is not None]
    assert quantities == [(10.0, None), (200.5, "KGM")]


def test_primary_subjects_of_a_transformation_are_its_outputs_and_related_its_inputs() -> None:
    first = load_document(gs1_epcis.example(TRANSFORMATION_DOC)).events[0]
    assert first.action is None
    assert [s.kind for s in first.primary_subjects()] == ["item", "class"]
    assert [s.kind for s in first.related_subjects()] == ["item", "lot"]
    assert first.error_declaration is not None
    assert first.error_declaration["reason"] == "incorrect_data"
    assert first.error_declaration["correctiveEventIDs"] == ("urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8",)
    assert first.error_declaration["declarationTime"] == datetime(2020, 1, 15, tzinfo=timezone(timedelta(hours=1)))


def test_content_hash_is_stable_under_key_order_and_whitespace() -> None:
    raw = example(OBJECT_DOC)
    reordered = json.loads(json.dumps(raw))
    reordered["epcisBody"]["eventList"] = [dict(reversed(list(e.items()))) for e in reordered["epcisBody"]["eventList"]]
    compact = json.dumps(raw, separators=(",", ":"))
    spread = json.dumps(reordered, indent=7)
    first = [e.content_hash for e in parse_document(compact).events]
    assert first == [e.content_hash for e in parse_document(spread).events]
    assert content_hash({"quantity": 1.0, "a": [1]}) == content_hash({"a": [1], "quantity": 1})


def test_content_hash_changes_when_a_value_changes() -> None:
    raw = example(OBJECT_DOC)
    before = parse_document(raw).events[0].content_hash
    raw["epcisBody"]["eventList"][0]["disposition"] = "recalled"
    after = parse_document(raw).events[0].content_hash
    assert before != after


# --------------------------------------------------------------------------------------------
# CBV codes and the packed metadata


def schema_enum(file: str, definition: str) -> list[str]:
    schema = json.loads((SCHEMA_DIR / "schemas" / file).read_text(encoding="utf-8"))
    return next(part["enum"] for part in schema["definitions"][definition]["anyOf"] if "enum" in part)


def test_cbv_tables_are_the_schema_vocabularies_in_schema_order() -> None:
    assert list(BIZ_STEPS) == schema_enum("bizStep-JSON-Schema.json", "bizStep")
    assert list(DISPOSITIONS) == [v.strip() for v in schema_enum("disposition-JSON-Schema.json", "disposition")]
    assert len(BIZ_STEPS) == 41 and len(DISPOSITIONS) == 33


def test_code_of_biz_step_reads_short_names_cbv_uris_and_other_uris() -> None:
    assert code_of_biz_step(None) == 0
    assert code_of_biz_step("accepting") == 1
    assert code_of_biz_step("shipping") == BIZ_STEPS.index("shipping") + 1
    assert code_of_biz_step("urn:epcglobal:cbv:bizstep:shipping") == code_of_biz_step("shipping")
    assert code_of_biz_step("https://ns.gs1.org/cbv/BizStep-shipping") == code_of_biz_step("shipping")
    assert code_of_biz_step("http://epcis.example.org/hc/bizstep/summarising_discharge") == NON_CBV_CODE
    assert epcis.biz_step_of_code(code_of_biz_step("sampling")) == "sampling"
    with pytest.raises(InputError, match="neither a CBV"):
        code_of_biz_step("shiping")


def test_code_of_disposition_reads_short_names_cbv_uris_and_other_uris() -> None:
    assert code_of_disposition("") == 0
    assert code_of_disposition("recalled") == DISPOSITIONS.index("recalled") + 1
    assert code_of_disposition("urn:epcglobal:cbv:disp:recalled") == code_of_disposition("recalled")
    assert code_of_disposition("https://example.com/disp/quarantined") == NON_CBV_CODE
    assert epcis.disposition_of_code(code_of_disposition("unavailable")) == "unavailable"
    assert epcis.disposition_of_code(0) is None and epcis.disposition_of_code(NON_CBV_CODE) is None
    with pytest.raises(InputError):
        epcis.disposition_of_code(len(DISPOSITIONS) + 1)


def test_pack_meta_lays_out_32_big_endian_bytes() -> None:
    ev = parse_document(
        document(
            event(bizStep="shipping", disposition="in_transit", eventTime="2005-04-03T20:33:31.116-06:00", eventTimeZoneOffset="-06:00")
        )
    ).events[0]
    packed = pack_meta(ev)
    assert len(packed) == 32
    ms = int(datetime(2005, 4, 4, 2, 33, 31, 116000, tzinfo=UTC).timestamp() * 1000)
    assert packed[0] == 0 and packed[1] == 2
    assert struct.unpack(">H", packed[2:4])[0] == BIZ_STEPS.index("shipping") + 1
    assert struct.unpack(">H", packed[4:6])[0] == DISPOSITIONS.index("in_transit") + 1
    assert struct.unpack(">Q", packed[6:14])[0] == ms
    assert packed[14:16] == (-360).to_bytes(2, "big", signed=True) == b"\xfe\x98"
    assert packed[16] == 0 and packed[17:] == bytes(15)
    meta = unpack_meta(packed)
    assert meta["event_time"] == ev.event_time and meta["event_time"].utcoffset() == timedelta(hours=-6)
    assert (meta["event_type"], meta["action"], meta["biz_step"], meta["disposition"]) == (
        "ObjectEvent",
        "OBSERVE",
        "shipping",
        "in_transit",
    )


def test_pack_meta_flags_an_error_declaration_and_codes_other_vocabularies() -> None:
    doc = load_document(gs1_epcis.example(TRANSFORMATION_DOC))
    first, second = (unpack_meta(pack_meta(e)) for e in doc.events)
    assert first["has_error_declaration"] and first["flags"] == 1
    assert not second["has_error_declaration"]
    assert first["event_type"] == "TransformationEvent" and first["action"] is None
    custom = parse_document(document(event(bizStep="https://example.com/steps/ripening"))).events[0]
    meta = unpack_meta(pack_meta(custom))
    assert meta["biz_step_code"] == NON_CBV_CODE and meta["biz_step"] is None


def test_unpack_meta_refuses_the_wrong_length() -> None:
    with pytest.raises(InputError, match="32 bytes"):
        unpack_meta(b"\x00" * 31)


# --------------------------------------------------------------------------------------------
# the content-addressed store


def test_event_store_puts_gets_and_verifies(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    raw = example(OBJECT_DOC)["epcisBody"]["eventList"][0]
    digest = store.put(raw)
    assert digest == content_hash(raw)
    path = store.path_of(digest)
    assert path == tmp_path / "events" / digest.hex()[:2] / f"{digest.hex()}.json"
    assert path.read_bytes() == rfc8785.dumps(raw)
    assert store.has(digest) and digest in store and store.verify(digest)
    assert store.get(digest) == raw
    assert list(store.hashes()) == [digest]
    assert store.put(dict(reversed(list(raw.items())))) == digest, "the same event in another key order is the same file"
    assert list(tmp_path.rglob(".tmp-*")) == []


def test_event_store_detects_a_tampered_file(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    raw = example(OBJECT_DOC)["epcisBody"]["eventList"][0]
    digest = store.put(raw)
    path = store.path_of(digest)
    path.write_text(path.read_text(encoding="utf-8").replace("in_transit", "in_progress"), encoding="utf-8")
    assert not store.verify(digest)
    assert store.get(digest) != raw
    store.put(raw)
    assert store.verify(digest), "putting the event again repairs the file"


def test_event_store_takes_a_reindented_file_for_the_same_event(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    raw = example(OBJECT_DOC)["epcisBody"]["eventList"][1]
    digest = store.put(raw)
    store.path_of(digest).write_text(json.dumps(raw, indent=4), encoding="utf-8")
    assert store.verify(digest)


def test_event_store_answers_for_missing_and_garbled_files(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    missing = bytes(32)
    assert store.get(missing) is None and not store.has(missing) and not store.verify(missing)
    store.path_of(missing).parent.mkdir(parents=True)
    store.path_of(missing).write_bytes(b"\xff not json")
    assert not store.verify(missing)
    with pytest.raises(InputError, match="not valid JSON"):
        store.get(missing)
    with pytest.raises(InputError, match="32 bytes"):
        store.path_of(b"short")


# --------------------------------------------------------------------------------------------
# export


def test_export_document_builds_a_valid_epcis_document() -> None:
    raw = example(OBJECT_DOC)["epcisBody"]["eventList"]
    doc = export_document(raw, creation_date=datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    assert doc["@context"] == EPCIS_CONTEXT
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    assert doc["creationDate"] == "2024-05-01T12:00:00.000Z"
    assert doc["epcisBody"]["eventList"] == raw
    assert REFERENCE.is_valid(doc)
    with_prefix = export_document(raw, context=[{"example": "http://ns.example.com/epcis/"}])
    assert with_prefix["@context"] == [EPCIS_CONTEXT, {"example": "http://ns.example.com/epcis/"}]


def test_export_document_refuses_an_invalid_event() -> None:
    with pytest.raises(InputErrors) as caught:
        export_document([event(eventTime="not a time")])
    assert caught.value.errors[0].field == "$.epcisBody.eventList[0].eventTime"


def test_export_document_refuses_a_naive_creation_date() -> None:
    with pytest.raises(InputError, match="time zone"):
        export_document([event()], creation_date=datetime(2024, 5, 1))


# --------------------------------------------------------------------------------------------
# properties

URN_LITERAL = set("!')(*+,.0123456789:;=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-")
serials = st.text(alphabet=sorted(gs1.GS1_CHARSET_82), min_size=1, max_size=20)


@st.composite
def sgtins(draw: st.DrawFn) -> tuple[str, str, str]:
    """A random SGTIN as (EPC URN, GTIN-14, serial)."""
    cp_length = draw(st.integers(6, 12))
    cp = draw(st.text("0123456789", min_size=cp_length, max_size=cp_length))
    item_ref = draw(st.text("0123456789", min_size=13 - cp_length, max_size=13 - cp_length))
    serial = draw(serials)
    gtin = item_ref[0] + cp + item_ref[1:]
    gtin += str(gs1.gtin_check_digit(gtin))
    escaped = "".join(c if c in URN_LITERAL else f"%{ord(c):02X}" for c in serial)
    return f"urn:epc:id:sgtin:{cp}.{item_ref}.{escaped}", gtin, serial


@st.composite
def object_events(draw: st.DrawFn) -> tuple[dict[str, Any], str, str]:
    urn, gtin, serial = draw(sgtins())
    if gtin.count("0") == 14:
        gtin, serial, urn = "10614141073464", "1", "urn:epc:id:sgtin:0614141.107346.1"
    offset = draw(st.integers(-56, 56)) * 15
    sign = "-" if offset < 0 else "+"
    when = draw(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)))
    millis = when.microsecond // 1000
    ev: dict[str, Any] = {
        "type": "ObjectEvent",
        "action": draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"])),
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z",
        "eventTimeZoneOffset": f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}",
        "epcList": [urn, gs1.DigitalLink(gtin=gtin, serial=serial).uri()],
        "bizStep": draw(st.sampled_from(BIZ_STEPS)),
        "disposition": draw(st.sampled_from(DISPOSITIONS)),
        "example:note": draw(st.text(max_size=10)),
    }
    return ev, gtin, serial


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(object_events(), min_size=1, max_size=4))
def test_export_then_parse_keeps_content_hashes_for_random_events(drawn: list[tuple[dict[str, Any], str, str]]) -> None:
    raws = [ev for ev, _, _ in drawn]
    first = parse_document(document(*raws)).events
    again = parse_document(epcis.dumps_document(export_document(raws))).events
    assert [e.content_hash for e in again] == [e.content_hash for e in first]
    for parsed, (_, gtin, serial) in zip(first, drawn, strict=True):
        ids = {s.subject.id for s in parsed.subjects}
        assert ids == {gs1.item_id(gtin, serial)}, "the URN and the Digital Link name one item"
        meta = unpack_meta(pack_meta(parsed))
        assert meta["event_time"] == parsed.event_time.replace(microsecond=parsed.event_time.microsecond // 1000 * 1000)
        assert meta["biz_step"] == parsed.biz_step and meta["disposition"] == parsed.disposition


def mutations(text: str) -> st.SearchStrategy[str]:
    """``text`` with a slice removed, replaced or duplicated."""

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 40)))
        insert = draw(
            st.one_of(
                st.just(""),
                st.text(max_size=8),
                st.sampled_from(['"', "{", "}", "[", "]", ",", ":", "null", "1e999", '"x"', "\\u", "\udc80"]),
            )
        )
        return text[:start] + insert + text[end:]

    return mutate()


FIXTURE_TEXT = gs1_epcis.example(AGGREGATION_DOC).read_text(encoding="utf-8")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "eventTime", "epcList", "action", "x", "@context", "epcisBody", "eventList"]), inner, max_size=5
        )
    ),
    max_leaves=20,
)


def parse_or_input_error(value: Any) -> bool:
    """Parse ``value``; True if it was accepted, False if refused with an InputError (anything else fails the test)."""
    try:
        parse_document(value, source="fuzz")
    except InputError as exc:
        assert exc.message
        return False
    return True


@settings(max_examples=150, deadline=None)
@given(st.one_of(mutations(FIXTURE_TEXT), st.binary(max_size=200), st.text(max_size=200)))
def test_parse_document_only_raises_input_error_on_fuzzed_text(data: str | bytes) -> None:
    parse_or_input_error(data)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_parse_document_only_raises_input_error_on_random_json(value: Any) -> None:
    parse_or_input_error(value)
    parse_or_input_error(document(value))
    parse_or_input_error(document(dict(event(), **value) if isinstance(value, dict) else event(epcList=[value])))


# Structural mutations of real documents: a field deleted, replaced by a random JSON value, or added.
FIELD_NAMES = sorted(
    _schemas().all_fields
    | {
        "epcClass",
        "quantity",
        "uom",
        "declarationTime",
        "reason",
        "correctiveEventIDs",
        "set",
        "unset",
        "id",
        "sensorReport",
        "bizTransaction",
        "source",
    }
)
plausible = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "urn:epc:id:sgtin:0614141.812345.6789",
            "https://id.gs1.org/01/04012345123456/10/1",
            "urn:epc:id:sgln:0614141.12345.0",
            "urn:epc:id:sscc:0614141.1234567890",
            "ADD",
            "DELETE",
            "2024-01-01T00:00:00Z",
            "+01:00",
            "AggregationEvent",
            "TransformationEvent",
        ]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=4),
    max_leaves=10,
)


def paths_in(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths_in(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_in(item, (*prefix, index))


@st.composite
def mutated_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(example(draw(st.sampled_from([OBJECT_DOC, AGGREGATION_DOC, TRANSFORMATION_DOC]))))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(paths_in(doc))[1:]))
        parent: Any = doc
        for key in where[:-1]:
            parent = parent[key]
        operation = draw(st.sampled_from(["delete", "replace", "add"]))
        if operation == "delete":
            del parent[where[-1]]
        elif operation == "replace":
            parent[where[-1]] = draw(plausible)
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(FIELD_NAMES))] = draw(plausible)
    return doc


def fully_inlined_root_validator() -> Any:
    """The root schema with every $ref replaced, as epcis prepares it, but validated by plain jsonschema."""
    schemas = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.rglob("*.json"))]
    registry: Registry[Any] = Registry().with_resources((s["$id"], DRAFT7.create_resource(s)) for s in schemas)
    root = registry.resolver().lookup("https://gs1.github.io/EPCIS/JSON-Schema/EPCIS-JSON-Schema.json")
    return Draft7Validator(_inline(root.contents, root.resolver, stop=-1, memo={}, stack=()))


INLINED = fully_inlined_root_validator()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_parse_document_only_raises_input_error_on_mutated_documents(doc: dict[str, Any]) -> None:
    accepted = parse_or_input_error(doc)
    assert parse_or_input_error(json.dumps(doc)) == accepted
    assert INLINED.is_valid(doc) == REFERENCE.is_valid(doc), "resolving $refs ahead of time changes nothing"
    if accepted:
        assert REFERENCE.is_valid(parse_document(doc).raw), "o2ochain accepts nothing GS1's schema refuses"


# --------------------------------------------------------------------------------------------
# building events by hand


def test_location_id_reads_a_gln_an_sgln_and_a_digital_link_alike() -> None:
    expected = gs1.keccak256(b"/414/0614141123452")
    assert epcis.location_id("0614141123452") == expected
    assert epcis.location_id("urn:epc:id:sgln:0614141.12345.0") == expected
    assert epcis.location_id("https://id.gs1.org/414/0614141123452") == expected
    with pytest.raises(InputError, match="check digit"):
        epcis.location_id("0614141123453")
    with pytest.raises(InputError, match="location"):
        epcis.location_id("urn:epc:id:sgtin:0614141.812345.6789")


def test_object_event_document_builds_a_valid_one_event_document() -> None:
    doc = epcis.object_event_document(
        "https://id.gs1.org/01/80614141123458/21/6789",
        biz_step="urn:epcglobal:cbv:bizstep:shipping",
        disposition="in_transit",
        read_point="0614141123452",
        biz_location="urn:epc:id:sgln:0614141.12345.400",
        when="2024-05-01T10:00:00+08:00",
    )
    assert REFERENCE.is_valid(doc)
    (ev,) = parse_document(doc).events
    assert ev.biz_step == "shipping" and ev.disposition == "in_transit" and ev.action == "OBSERVE"
    assert ev.tz_offset == 480 and ev.event_time == datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
    assert ev.primary_subjects()[0].id == gs1.item_id(GTIN_8061, "6789")
    assert ev.read_point is not None and ev.read_point.id == epcis.location_id("0614141123452")
    assert ev.event_id is not None and ev.event_id.startswith("urn:uuid:")
    again = parse_document(epcis.object_event_document("urn:epc:class:lgtin:4012345.012345.998877", when=datetime(2024, 5, 1, tzinfo=UTC)))
    assert again.events[0].subjects[0].role == "quantity"
    with pytest.raises(InputError, match="offset"):
        epcis.object_event_document("urn:epc:id:sgtin:0614141.812345.6789", when="2024-05-01T10:00:00")
