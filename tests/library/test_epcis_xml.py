"""EPCIS XML in and out: GS1's XML examples read as their JSON twins, EPCIS 1.2 documents lifted
into 2.0, every XSD violation located on its line, and XML → dict → XML → dict stable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from o2ochain.epcis import (
    BIZ_STEPS,
    DISPOSITIONS,
    EPCIS_CONTEXT,
    document_to_xml,
    export_document,
    format_time,
    parse_document,
    parse_time,
    parse_xml_document,
    xml_to_document,
)
from o2ochain.errors import InputError, InputErrors
from tests import gs1_epcis

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "epcis"
XML_FIXTURES = FIXTURES / "xml"
ORIGINALS = json.loads((XML_FIXTURES / "originals.sha256.json").read_text(encoding="utf-8"))
EPCIS_1_2 = XML_FIXTURES / "Example_9.6.1-ObjectEvent-EPCIS-1.2.xml"


def gs1_file(folder: str, name: str) -> Path:
    """GS1's file in the tests' copy of GS1's material (``tests/gs1_epcis.py``)."""
    path = gs1_epcis.FOLDERS[folder] / name
    if not path.is_file():
        raise FileNotFoundError(f"{name} is not in GS1's {folder}")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def events_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = doc["epcisBody"]["eventList"]
    return found


XML_EXAMPLES = sorted(ORIGINALS["xml-examples"])


def test_gs1_files_and_shipped_xsd_are_the_recorded_originals() -> None:
    assert {name: sha256(gs1_epcis.XML_EXAMPLES / name) for name in ORIGINALS["xml-examples"]} == ORIGINALS["xml-examples"]
    assert {name: sha256(gs1_epcis.EXAMPLES / name) for name in ORIGINALS["examples"]} == ORIGINALS["examples"]
    assert {p.name: sha256(p) for p in gs1_epcis.XSD.glob("*.xsd")} == ORIGINALS["xsd"]


# --------------------------------------------------------------------------------------------
# GS1's XML examples read as their JSON twins


def _same_instant(xml: Any, json_value: Any) -> bool:
    return parse_time(xml) == parse_time(json_value)


def _hash_id_only_in_json(xml: Any, json_value: Any) -> bool:
    return xml is None and isinstance(json_value, str) and json_value.startswith("ni:///sha-256;")


def _rail_vehicles(xml: Any, json_value: Any) -> bool:
    """The XML keeps an empty <rail:vehicleMasterGIAI/> as "" where the JSON twin drops it, and
    the JSON twin types one vehicleUniquelyIdentified as a boolean the XML writes as text."""

    def plain(vehicles: list[dict[str, Any]]) -> list[dict[str, str]]:
        return [{k: str(v).lower() if isinstance(v, bool) else v for k, v in vehicle.items() if v != ""} for vehicle in vehicles]

    return plain(xml) == plain(json_value) and xml != json_value


Explanation = Callable[[Any, Any], bool]


def _unknown_quantity(xml: Any, json_value: Any) -> bool:
    return xml == [{"epcClass": "urn:epc:class:lgtin:4012345.022222.87545GHGH"}] and json_value[0]["quantity"] == 500


def _other_read_point(xml: Any, json_value: Any) -> bool:
    return xml == {"id": "urn:epc:id:sgln:4012345.00000.0"} and json_value == {"id": "urn:epc:id:sgln:0614141.07346.1234"}


#: Per XML example: its JSON twin and, per event, the fields where GS1's two files say different
#: things, each with the check that the difference is the one described. Every other field of
#: every event must be equal.
TWINS: dict[str, tuple[str, dict[int, dict[str, Explanation]]]] = {
    "Example_9.6.1-ObjectEvent-2020_06_18a.xml": (
        "Example_9.6.1-ObjectEvent.jsonld",
        {
            # The JSON twin carries each event's CBV 2.0 hash as its eventID (the XML has none) and
            # writes the first time with six fraction digits (…31.116000-06:00): the same instant.
            0: {"eventID": _hash_id_only_in_json, "eventTime": _same_instant},
            1: {"eventID": _hash_id_only_in_json},
        },
    ),
    "ErrorDeclarationAndCorrectiveEvent.xml": (
        "WithErrorDeclaration_ErrorDeclarationAndCorrectiveEvent.jsonld",
        {
            # GS1's two files disagree: the XML's input quantity is xsi:nil (unknown) where the JSON
            # says 500 KGM, and the read points are different locations.
            0: {"inputQuantityList": _unknown_quantity, "readPoint": _other_read_point},
            1: {"inputQuantityList": _unknown_quantity, "readPoint": _other_read_point},
        },
    ),
    "Example-TransactionEvent-2020_07_03y.xml": (
        "Example-TransactionEvents-2020_07_03y.jsonld",
        {
            # The JSON twin writes the event times in UTC, the XML in the local offset.
            0: {"eventTime": _same_instant},
            1: {"eventTime": _same_instant, "rail:vehicle": _rail_vehicles},
        },
    ),
}


@pytest.mark.parametrize("xml_name", XML_EXAMPLES)
def test_xml_example_reads_as_its_json_twin(xml_name: str) -> None:
    json_name, differences = TWINS[xml_name]
    xml_path = gs1_file("xml-examples", xml_name)
    from_xml = parse_xml_document(xml_path.read_bytes(), source=str(xml_path))
    from_json = parse_document(gs1_file("examples", json_name).read_bytes(), source=json_name)
    assert len(from_xml.events) == len(from_json.events)
    for index, (x, j) in enumerate(zip(from_xml.events, from_json.events, strict=True)):
        differing = {k for k in x.raw.keys() | j.raw.keys() if x.raw.get(k) != j.raw.get(k)}
        expected = differences.get(index, {})
        assert differing == set(expected), f"event {index}"
        for field, explained in expected.items():
            assert explained(x.raw.get(field), j.raw.get(field)), f"event {index}, {field}"
        if not expected:
            assert x.content_hash == j.content_hash
        same_fields = {k: v for k, v in x.raw.items() if k not in expected}
        assert same_fields == {k: v for k, v in j.raw.items() if k not in expected}


def test_xml_example_keeps_its_extension_namespace_as_written() -> None:
    # The JSON twin says "http://ns.example.com/epcis/"; the XML declares it without the final
    # slash, and an extension is kept as written (its event hash names it by that namespace).
    doc = xml_to_document(gs1_file("xml-examples", "Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes())
    assert doc["@context"] == [EPCIS_CONTEXT, {"example": "http://ns.example.com/epcis"}]
    assert doc["type"] == "EPCISDocument"
    assert doc["schemaVersion"] == "2.0"
    assert doc["creationDate"] == "2005-07-11T11:30:47.0Z"
    assert events_of(doc)[1]["bizTransactionList"] == [
        {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"},
        {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"},
    ]


def test_xml_reading_trims_values_and_ignores_comments() -> None:
    # GS1's rail example puts a comment inside bizTransactionList and breaks a line inside a URI's element.
    doc = xml_to_document(gs1_file("xml-examples", "Example-TransactionEvent-2020_07_03y.xml").read_bytes())
    first, second = events_of(doc)
    assert first["bizTransactionList"] == [{"bizTransaction": "urn:epc:id:gdti:95252084.0001.0003555480001000"}]
    assert second["bizTransactionList"] == [
        {"type": "urn:gs1:epcisapp:rail:btt:passage", "bizTransaction": "http://transaction.examplerail.com/passage/xyz12345"}
    ]
    assert second["sourceList"] == [{"type": "location", "source": "urn:epc:id:sgln:952005385.481.0"}]
    assert second["rail:trainAxleCount"] == "12"
    assert doc["@context"] == [EPCIS_CONTEXT, {"rail": "urn:gs1:epcisapp:rail:"}]


# --------------------------------------------------------------------------------------------
# EPCIS 1.2


def test_epcis_1_2_document_reads_as_its_2_0_twin_with_its_extension_fields_in_place() -> None:
    lifted = xml_to_document(EPCIS_1_2.read_bytes(), source=str(EPCIS_1_2))
    twin = xml_to_document(gs1_file("xml-examples", "Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes())
    assert lifted["schemaVersion"] == "2.0"
    assert lifted["@context"] == twin["@context"]
    first, second, transformation = events_of(lifted)
    assert first == events_of(twin)[0]
    assert second == {
        **events_of(twin)[1],
        "eventID": "urn:uuid:8cd6ddc4-5fd6-4c32-9c61-4ab2b27e1a4c",
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:0614141.107346.LOT42", "quantity": 12.5, "uom": "KGM"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"}],
    }
    assert transformation == {
        "type": "TransformationEvent",
        "eventTime": "2005-04-05T10:00:00.000-06:00",
        "eventTimeZoneOffset": "-06:00",
        "eventID": "urn:uuid:1b1b0bda-2f5c-4a2e-8a0e-4b0f3b1b2c3d",
        "errorDeclaration": {"declarationTime": "2005-04-06T10:00:00.000-06:00", "reason": "incorrect_data"},
        "inputEPCList": ["urn:epc:id:sgtin:0614141.107346.2018"],
        "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:0614141.107347.LOT7", "quantity": 3, "uom": "KGM"}],
        "bizStep": "commissioning",
        "readPoint": {"id": "urn:epc:id:sgln:0012345.11111.400"},
        "ilmd": {"example:bestBeforeDate": "2005-12-31"},
    }
    parsed = parse_xml_document(EPCIS_1_2.read_bytes(), source=str(EPCIS_1_2))
    assert [e.type for e in parsed.events] == ["ObjectEvent", "ObjectEvent", "TransformationEvent"]
    assert parsed.events[2].error_declaration is not None


EPCIS_1_0_QUANTITY_EVENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.0" creationDate="2008-03-16T22:13:16.397+01:00">
  <EPCISBody>
    <EventList>
      <QuantityEvent>
        <eventTime>2008-03-16T22:13:16.397+01:00</eventTime>
        <eventTimeZoneOffset>+01:00</eventTimeZoneOffset>
        <epcClass>urn:epc:idpat:sgtin:0614141.107346.*</epcClass>
        <quantity>200</quantity>
        <bizStep>urn:epcglobal:cbv:bizstep:stocking</bizStep>
        <readPoint><id>urn:epc:id:sgln:0614141.07346.1234</id></readPoint>
      </QuantityEvent>
    </EventList>
  </EPCISBody>
</epcis:EPCISDocument>
"""


def test_epcis_1_0_quantity_event_becomes_the_object_event_that_replaced_it() -> None:
    doc = xml_to_document(EPCIS_1_0_QUANTITY_EVENT)
    assert events_of(doc) == [
        {
            "type": "ObjectEvent",
            "eventTime": "2008-03-16T22:13:16.397+01:00",
            "eventTimeZoneOffset": "+01:00",
            "action": "OBSERVE",
            "bizStep": "stocking",
            "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
            "quantityList": [{"epcClass": "urn:epc:idpat:sgtin:0614141.107346.*", "quantity": 200}],
        }
    ]
    parse_document(doc)


EPCIS_1_2_QUERY = b"""<?xml version="1.0" encoding="UTF-8"?>
<epcisq:EPCISQueryDocument xmlns:epcisq="urn:epcglobal:epcis-query:xsd:1" schemaVersion="1.2" creationDate="2016-01-01T00:00:00Z">
  <EPCISBody>
    <epcisq:QueryResults>
      <queryName>SimpleEventQuery</queryName>
      <resultsBody>
        <EventList>
          <ObjectEvent>
            <eventTime>2016-01-01T00:00:00Z</eventTime>
            <eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
            <epcList><epc>urn:epc:id:sgtin:0614141.107346.2017</epc></epcList>
            <action>OBSERVE</action>
          </ObjectEvent>
        </EventList>
      </resultsBody>
    </epcisq:QueryResults>
  </EPCISBody>
</epcisq:EPCISQueryDocument>
"""


def test_epcis_1_2_query_document_reads_as_a_2_0_query_document() -> None:
    doc = xml_to_document(EPCIS_1_2_QUERY)
    assert doc["type"] == "EPCISQueryDocument"
    assert doc["epcisBody"] == {
        "queryResults": {
            "queryName": "SimpleEventQuery",
            "resultsBody": {
                "eventList": [
                    {
                        "type": "ObjectEvent",
                        "eventTime": "2016-01-01T00:00:00Z",
                        "eventTimeZoneOffset": "+00:00",
                        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
                        "action": "OBSERVE",
                    }
                ]
            },
        }
    }
    assert [e.type for e in parse_document(doc).events] == ["ObjectEvent"]


def test_epcis_1_2_violation_is_located_on_its_line() -> None:
    lines = EPCIS_1_2.read_bytes().split(b"\n")
    line = next(n for n, text in enumerate(lines, start=1) if b"<action>OBSERVE</action>" in text)
    lines[line - 1] = lines[line - 1].replace(b"OBSERVE", b"MOVE")
    with pytest.raises(InputErrors) as caught:
        xml_to_document(b"\n".join(lines), source="partner-1.2.xml")
    (error,) = caught.value.errors
    assert (error.file, error.line) == ("partner-1.2.xml", line)
    assert error.field == "/epcis:EPCISDocument/EPCISBody/EventList/ObjectEvent[1]/action"
    assert "MOVE" in error.message and "EPCIS 1.x read as 2.0" in error.message


def test_epcis_1_2_time_without_time_zone_is_refused_on_its_line() -> None:
    # EPCIS 1.2's XSD took any xsd:dateTime; 2.0 and its JSON binding want a time zone.
    data = EPCIS_1_2.read_bytes().replace(b"<eventTime>2005-04-03T20:33:31.116-06:00<", b"<eventTime>2005-04-03T20:33:31.116<")
    line = next(n for n, text in enumerate(data.split(b"\n"), start=1) if b"2005-04-03T20:33:31.116<" in text)
    with pytest.raises(InputErrors) as caught:
        xml_to_document(data, source="old.xml")
    assert [(e.line, e.field) for e in caught.value.errors] == [(line, "/epcis:EPCISDocument/EPCISBody/EventList/ObjectEvent[1]/eventTime")]


# --------------------------------------------------------------------------------------------
# Refusals: the file, the line, the element; never lxml's own exception


def _two_faults() -> tuple[bytes, int, int]:
    data = gs1_file("xml-examples", "Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes()
    lines = data.split(b"\n")
    action = next(n for n, text in enumerate(lines, start=1) if b"<action>" in text)
    time = next(n for n, text in enumerate(lines, start=1) if b"2005-04-04T20:33:31.116-06:00" in text)
    lines[action - 1] = lines[action - 1].replace(b"OBSERVE", b"MOVE")
    lines[time - 1] = lines[time - 1].replace(b"-06:00<", b"<")
    return b"\n".join(lines), action, time


def test_every_xsd_violation_is_reported_with_its_line_and_element() -> None:
    data, action_line, time_line = _two_faults()
    with pytest.raises(InputErrors) as caught:
        xml_to_document(data, source="partner.xml")
    errors = caught.value.errors
    assert [(e.file, e.line) for e in errors] == [("partner.xml", action_line), ("partner.xml", time_line)]
    assert errors[0].field == "/epcis:EPCISDocument/EPCISBody/EventList/ObjectEvent[1]/action"
    assert "'MOVE' is not an element of the set" in errors[0].message
    assert errors[1].field == "/epcis:EPCISDocument/EPCISBody/EventList/ObjectEvent[2]/eventTime"
    assert "2005-04-04T20:33:31.116" in errors[1].message
    assert str(caught.value).startswith("2 problem(s) found")
    assert f"partner.xml:{action_line}, field '/epcis:EPCISDocument/EPCISBody/EventList/ObjectEvent[1]/action'" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (
            b'<?xml version="1.0"?>\n<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2">\n<EPCISBody>\n</epcis:EPCISDocument>',
            4,
            "not well-formed",
        ),
        (b"\n\n<EPCISDocument schemaVersion='2.0'/>", 3, "is not an EPCIS document"),
        (b'<foo:EPCISDocument xmlns:foo="urn:example:other"/>', 1, "is not an EPCIS document"),
        (b'<epcis:ObjectEvent xmlns:epcis="urn:epcglobal:epcis:xsd:2"/>', 1, "is not an EPCIS document"),
        (b'<q:EPCISDocument xmlns:q="urn:epcglobal:epcis-query:xsd:2"/>', 1, "is not defined in the namespace"),
        (b"", 1, "not well-formed"),
    ],
)
def test_what_is_not_an_epcis_xml_document_is_refused_with_its_line(data: bytes, line: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        xml_to_document(data, source="in.xml")
    assert type(caught.value) is InputError
    assert (caught.value.file, caught.value.line) == ("in.xml", line)
    assert words in caught.value.message


def test_xml_reading_fetches_no_external_entity() -> None:
    secret = ROOT / "pyproject.toml"
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "{secret.as_uri()}">]>\n'
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2020-01-01T00:00:00Z">'
        "<EPCISBody><EventList><ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>"
        "<epcList><epc>&x;</epc></epcList><action>OBSERVE</action></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    ).encode()
    try:
        doc = xml_to_document(data)
    except InputError as exc:
        assert "dependencies" not in str(exc)
    else:
        assert "dependencies" not in json.dumps(doc)


def test_xml_must_be_bytes() -> None:
    with pytest.raises(InputError, match="must be given as bytes"):
        xml_to_document("<epcis:EPCISDocument/>", source="text")  # type: ignore[arg-type]


def test_parse_xml_document_puts_json_schema_complaints_on_the_events_line() -> None:
    # XSD-valid (any URI), but no CBV 2.0 step: GS1's JSON Schema refuses a urn:epcglobal:cbv URI.
    data = gs1_file("xml-examples", "Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes()
    data = data.replace(b"bizstep:receiving", b"bizstep:recieving")
    second = next(n for n, text in enumerate(data.split(b"\n"), start=1) if b"<ObjectEvent>" in text and n > 12)
    with pytest.raises(InputErrors) as caught:
        parse_xml_document(data, source="typo.xml")
    (error,) = caught.value.errors
    assert (error.file, error.line, error.field) == ("typo.xml", second, "$.epcisBody.eventList[1].bizStep")
    assert error.value == "urn:epcglobal:cbv:bizstep:recieving"


# --------------------------------------------------------------------------------------------
# Extensions, sensors, master data: every part of the binding


EVERYTHING = b"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:gs1="https://gs1.org/voc/" xmlns:cbvmda="urn:epcglobal:cbv:mda"
    xmlns:example="https://ns.example.com/epcis/" xmlns:my_ext="urn:example:my-ext:"
    xmlns:sbdh="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
    schemaVersion="2.0" creationDate="2024-05-01T09:30:00.000+02:00">
  <EPCISHeader>
    <sbdh:StandardBusinessDocumentHeader>
      <sbdh:HeaderVersion>1.0</sbdh:HeaderVersion>
      <sbdh:Sender><sbdh:Identifier Authority="SGLN">urn:epc:id:sgln:0353579.00001.0</sbdh:Identifier></sbdh:Sender>
      <sbdh:Receiver><sbdh:Identifier Authority="SGLN">urn:epc:id:sgln:5012345.00001.0</sbdh:Identifier></sbdh:Receiver>
      <sbdh:DocumentIdentification>
        <sbdh:Standard>EPCglobal</sbdh:Standard><sbdh:TypeVersion>2.0</sbdh:TypeVersion>
        <sbdh:InstanceIdentifier>1234567890</sbdh:InstanceIdentifier><sbdh:Type>Events</sbdh:Type>
        <sbdh:CreationDateAndTime>2024-05-01T09:30:00.000+02:00</sbdh:CreationDateAndTime>
      </sbdh:DocumentIdentification>
    </sbdh:StandardBusinessDocumentHeader>
    <extension>
      <EPCISMasterData>
        <VocabularyList>
          <Vocabulary type="urn:epcglobal:epcis:vtype:BusinessLocation">
            <VocabularyElementList>
              <VocabularyElement id="urn:epc:id:sgln:0614141.00777.0">
                <attribute id="urn:epcglobal:cbv:mda#name">Warehouse 7</attribute>
                <attribute id="urn:epcglobal:cbv:mda#address"><example:street>Main St 1</example:street><example:city>Springfield</example:city></attribute>
                <children><id>urn:epc:id:sgln:0614141.00777.1</id><id>urn:epc:id:sgln:0614141.00777.2</id></children>
              </VocabularyElement>
            </VocabularyElementList>
          </Vocabulary>
        </VocabularyList>
      </EPCISMasterData>
    </extension>
  </EPCISHeader>
  <EPCISBody>
    <EventList>
      <ObjectEvent>
        <eventTime>2024-05-01T09:30:00.000+02:00</eventTime>
        <eventTimeZoneOffset>+02:00</eventTimeZoneOffset>
        <certificationInfo>https://certifier.example/cert/42</certificationInfo>
        <epcList/>
        <action>ADD</action>
        <bizStep>https://ref.gs1.org/cbv/BizStep-commissioning</bizStep>
        <disposition>urn:epcglobal:cbv:disp:active</disposition>
        <readPoint><id>urn:epc:id:sgln:0614141.00777.0</id><example:dock>D4</example:dock></readPoint>
        <quantityList>
          <quantityElement><epcClass>urn:epc:class:lgtin:0614141.107346.LOT1</epcClass><quantity>2.50</quantity><uom>KGM</uom></quantityElement>
        </quantityList>
        <destinationList><destination type="urn:epcglobal:cbv:sdt:possessing_party">urn:epc:id:pgln:0614141.00000</destination></destinationList>
        <sensorElementList>
          <sensorElement>
            <sensorMetadata time="2024-05-01T09:00:00.000+02:00" deviceID="urn:epc:id:giai:4000001.111" example:batch="7"/>
            <sensorReport type="gs1:Temperature" value="26.0" uom="CEL" component="https://ref.gs1.org/cbv/Comp-x"/>
            <sensorReport type="gs1:Temperature" exception="gs1:ALARM_CONDITION" booleanValue="true" example:cv="123"/>
            <sensorReport type="example:someProperty" stringValue="ok"/>
            <example:furtherSensorData><example:measure1>123.5</example:measure1></example:furtherSensorData>
          </sensorElement>
        </sensorElementList>
        <persistentDisposition><unset>urn:epcglobal:cbv:disp:completeness_inferred</unset><set>urn:epcglobal:cbv:disp:completeness_verified</set></persistentDisposition>
        <ilmd>
          <cbvmda:netWeight measurementUnitCode="KGM">3.5</cbvmda:netWeight>
          <cbvmda:countryOfOrigin>GB</cbvmda:countryOfOrigin>
        </ilmd>
        <example:count xsi:type="xs:integer">10</example:count>
        <example:ratio xsi:type="xs:double">0.25</example:ratio>
        <example:flag xsi:type="xs:boolean">true</example:flag>
        <example:unknown xsi:nil="true"/>
        <example:tag>a</example:tag>
        <example:tag>b</example:tag>
        <example:nested><example:inner>x</example:inner><plain>y</plain></example:nested>
        <my_ext:field>z</my_ext:field>
        <field xmlns="urn:example:default">w</field>
      </ObjectEvent>
    </EventList>
  </EPCISBody>
</epcis:EPCISDocument>
"""

EVERYTHING_EVENT = {
    "type": "ObjectEvent",
    "eventTime": "2024-05-01T09:30:00.000+02:00",
    "eventTimeZoneOffset": "+02:00",
    "certificationInfo": "https://certifier.example/cert/42",
    "epcList": [],
    "action": "ADD",
    "bizStep": "commissioning",
    "disposition": "active",
    "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0", "example:dock": "D4"},
    "quantityList": [{"epcClass": "urn:epc:class:lgtin:0614141.107346.LOT1", "quantity": 2.5, "uom": "KGM"}],
    "destinationList": [{"type": "possessing_party", "destination": "urn:epc:id:pgln:0614141.00000"}],
    "sensorElementList": [
        {
            "sensorMetadata": {"time": "2024-05-01T09:00:00.000+02:00", "deviceID": "urn:epc:id:giai:4000001.111", "example:batch": "7"},
            "sensorReport": [
                {"type": "Temperature", "value": 26.0, "uom": "CEL", "component": "x"},
                {"type": "Temperature", "exception": "ALARM_CONDITION", "booleanValue": True, "example:cv": "123"},
                {"type": "example:someProperty", "stringValue": "ok"},
            ],
            "example:furtherSensorData": {"example:measure1": "123.5"},
        }
    ],
    "persistentDisposition": {"set": ["completeness_verified"], "unset": ["completeness_inferred"]},
    "ilmd": {"cbvmda:netWeight": {"measurementUnitCode": "KGM", "rdf:value": "3.5"}, "cbvmda:countryOfOrigin": "GB"},
    "example:count": 10,
    "example:ratio": 0.25,
    "example:flag": True,
    "example:unknown": None,
    "example:tag": ["a", "b"],
    "example:nested": {"example:inner": "x", "plain": "y"},
    "my-ext:field": "z",
    "ns1:field": "w",
}


def test_every_part_of_an_event_maps_to_the_json_binding() -> None:
    doc = xml_to_document(EVERYTHING, source="everything.xml")
    assert events_of(doc) == [EVERYTHING_EVENT]
    # cbvmda and gs1 are the EPCIS context's own (and protected there): never redefined.
    assert doc["@context"] == [
        EPCIS_CONTEXT,
        {"example": "https://ns.example.com/epcis/", "my-ext": "urn:example:my-ext:", "ns1": "urn:example:default"},
    ]
    assert (doc["sender"], doc["receiver"], doc["instanceIdentifier"]) == (
        "urn:epc:id:sgln:0353579.00001.0",
        "urn:epc:id:sgln:5012345.00001.0",
        "1234567890",
    )
    assert doc["epcisHeader"] == {
        "epcisMasterData": {
            "vocabularyList": [
                {
                    "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                    "vocabularyElementList": [
                        {
                            "id": "urn:epc:id:sgln:0614141.00777.0",
                            "attributes": [
                                {"id": "urn:epcglobal:cbv:mda#name", "attribute": "Warehouse 7"},
                                {
                                    "id": "urn:epcglobal:cbv:mda#address",
                                    "attribute": {"example:street": "Main St 1", "example:city": "Springfield"},
                                },
                            ],
                            "children": ["urn:epc:id:sgln:0614141.00777.1", "urn:epc:id:sgln:0614141.00777.2"],
                        }
                    ],
                }
            ]
        }
    }
    parsed = parse_document(doc, source="everything.xml")
    assert parsed.events[0].biz_step == "commissioning"


def test_every_part_of_an_event_survives_xml_and_back() -> None:
    doc = xml_to_document(EVERYTHING)
    xml = document_to_xml(doc)
    assert xml_to_document(xml) == doc
    root = etree.fromstring(xml)
    event = root.find("EPCISBody/EventList/ObjectEvent")
    assert event is not None
    assert event.findtext("bizStep") == "urn:epcglobal:cbv:bizstep:commissioning"
    reports = event.findall("sensorElementList/sensorElement/sensorReport")
    assert [r.get("type") for r in reports] == ["gs1:Temperature", "gs1:Temperature", "example:someProperty"]
    assert reports[0].get("component") == "https://ref.gs1.org/cbv/Comp-x"
    assert reports[1].get("exception") == "gs1:ALARM_CONDITION"
    assert root.nsmap["gs1"] == "https://gs1.org/voc/"
    weight = event.find("ilmd/{urn:epcglobal:cbv:mda}netWeight")
    assert weight is not None and (weight.text, weight.get("measurementUnitCode")) == ("3.5", "KGM")
    count = event.find("{https://ns.example.com/epcis/}count")
    assert count is not None and count.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "xsd:integer"


# --------------------------------------------------------------------------------------------
# Round trips


ROUND_TRIP_FILES = [*(gs1_file("xml-examples", name) for name in XML_EXAMPLES), EPCIS_1_2]


@pytest.mark.parametrize("path", ROUND_TRIP_FILES, ids=lambda p: p.name)
def test_xml_to_dict_to_xml_to_dict_is_stable(path: Path) -> None:
    first = xml_to_document(path.read_bytes(), source=str(path))
    xml = document_to_xml(first)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"')
    second = xml_to_document(xml, source="written")
    assert second == first
    assert document_to_xml(second) == xml


JSON_EXAMPLES = sorted(gs1_epcis.EXAMPLES.glob("*.jsonld"))


@pytest.mark.parametrize("path", JSON_EXAMPLES, ids=lambda p: p.name)
def test_json_example_written_as_xml_reads_back_with_the_same_content_hashes(path: Path) -> None:
    original = parse_document(path.read_bytes(), source=path.name)
    xml = document_to_xml(original.raw)
    back = parse_document(xml_to_document(xml, source=path.name), source=path.name)
    for before, after in zip(original.events, back.events, strict=True):
        if "id" in before.raw and "eventID" not in before.raw:
            # JSON-LD's "id" is the event's @id, as eventID is: XML writes it as <eventID>.
            assert after.raw == {**{k: v for k, v in before.raw.items() if k != "id"}, "eventID": before.raw["id"]}
        else:
            assert after.content_hash == before.content_hash


def test_query_document_is_written_as_an_epcis_query_document() -> None:
    events = events_of(parse_document(gs1_file("examples", "Example_9.6.1-ObjectEvent.jsonld").read_bytes()).raw)
    query = {
        "@context": [EPCIS_CONTEXT, {"example": "http://ns.example.com/epcis/"}],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T00:00:00Z",
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "subscriptionID": "s1", "resultsBody": {"eventList": events}}},
    }
    xml = document_to_xml(query)
    root = etree.fromstring(xml)
    assert root.tag == "{urn:epcglobal:epcis-query:xsd:2}EPCISQueryDocument"
    assert root.find("EPCISBody/{urn:epcglobal:epcis-query:xsd:2}QueryResults/queryName").text == "SimpleEventQuery"
    assert xml_to_document(xml) == query


def test_query_document_without_creation_date_gets_one() -> None:
    query = {
        "@context": EPCIS_CONTEXT,
        "type": "EPCISQueryDocument",
        "epcisBody": {"queryResults": {"queryName": "q", "resultsBody": {"eventList": []}}},
    }
    root = etree.fromstring(document_to_xml(query))
    assert parse_time(root.get("creationDate")) is not None
    assert root.get("schemaVersion") == "2.0"


def test_pseudo_sbdh_fields_travel_in_the_sbdh() -> None:
    doc = parse_document(gs1_file("examples", "Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld").read_bytes()).raw
    xml = document_to_xml(doc)
    identifier = etree.fromstring(xml).find(".//{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}InstanceIdentifier")
    assert identifier is not None and identifier.text == "1234567890"
    back = xml_to_document(xml)
    assert {k: back[k] for k in ("sender", "receiver", "instanceIdentifier")} == {
        k: doc[k] for k in ("sender", "receiver", "instanceIdentifier")
    }


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"certificationInfo": ["https://a.example/1", "https://a.example/2"]},
            "$.epcisBody.eventList[0].certificationInfo",
            "room for one",
        ),
        ({"nowhere:field": "x"}, "$.epcisBody.eventList[0].nowhere:field", "not defined in @context"),
        ({"plainField": "x"}, "$.epcisBody.eventList[0].plainField", "neither an EPCIS field nor an extension term"),
        ({"ex:two words": "x"}, "$.epcisBody.eventList[0].ex:two words", "neither an EPCIS field nor an extension term"),
        ({"ex:bell": "ding\x07"}, "$.epcisBody.eventList[0]", "cannot be written as XML"),
        ({"childEPCs": ["urn:epc:id:sgtin:0614141.107346.1"]}, "$.epcisBody.eventList[0].childEPCs", "not part of an ObjectEvent"),
        ({"type": "urn:example:OtherEvent"}, "$.epcisBody.eventList[0].type", "five EPCIS 2.0 event types"),
    ],
)
def test_what_epcis_xml_cannot_carry_is_refused_with_its_json_path(change: dict[str, Any], field: str, words: str) -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-05-01T09:30:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": [],
        "action": "OBSERVE",
        **change,
    }
    doc = export_document([event], context=[{"ex": "urn:example:ex:"}], validate=False)
    with pytest.raises(InputError) as caught:
        document_to_xml(doc)
    assert caught.value.field == field
    assert words in caught.value.message


def test_only_documents_are_written_as_xml() -> None:
    with pytest.raises(InputError, match="only an EPCISDocument or an EPCISQueryDocument"):
        document_to_xml({"type": "ObjectEvent"})


# --------------------------------------------------------------------------------------------
# Any event of the binding's shape survives XML and back


_XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=12)
_LEAVES = st.one_of(
    _XML_TEXT,
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda f: abs(f) < 1e300),
    st.booleans(),
    st.none(),
)
_NAMES = st.sampled_from(["ex:a", "ex:b", "ex:c", "ex:d"])


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(_NAMES, children, min_size=1, max_size=3)


_EXTENSION_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        _objects(inner),
        st.lists(st.one_of(_LEAVES, _objects(inner)), min_size=2, max_size=3),
    ),
    max_leaves=8,
)
_TIMES = st.builds(
    lambda moment, minutes: format_time(moment.astimezone(timezone(timedelta(minutes=minutes)))),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.sampled_from([0, 60, -360, 330, 840, -720]),
)
_QUANTITIES = st.fixed_dictionaries(
    {"epcClass": st.integers(0, 999).map(lambda n: f"urn:epc:class:lgtin:0614141.107346.L{n}")},
    optional={
        "quantity": st.one_of(st.integers(0, 10**9), st.floats(0, 1e9, allow_nan=False)),
        "uom": st.sampled_from(["KGM", "LTR", "EA"]),
    },
)
_EVENTS = st.fixed_dictionaries(
    {
        "type": st.just("ObjectEvent"),
        "eventTime": _TIMES,
        "eventTimeZoneOffset": st.sampled_from(["+00:00", "+02:00", "-06:00"]),
        "epcList": st.lists(st.integers(0, 10**6).map(lambda n: f"urn:epc:id:sgtin:0614141.107346.{n}"), max_size=3),
        "action": st.sampled_from(["ADD", "OBSERVE", "DELETE"]),
    },
    optional={
        "bizStep": st.one_of(st.sampled_from(BIZ_STEPS), st.just("urn:example:bizstep:relabelling")),
        "disposition": st.sampled_from(DISPOSITIONS),
        "readPoint": st.builds(lambda n: {"id": f"urn:epc:id:sgln:0614141.00777.{n}"}, st.integers(0, 99)),
        "quantityList": st.lists(_QUANTITIES, max_size=2),
        "sensorElementList": st.lists(
            st.builds(
                lambda kind, value: {"sensorReport": [{"type": kind, "value": value, "uom": "CEL"}]},
                st.sampled_from(["Temperature", "RelativeHumidity", "urn:example:sensor:odour"]),
                st.floats(-100, 100, allow_nan=False),
            ),
            min_size=1,
            max_size=2,
        ),
        "ex:a": _EXTENSION_VALUES,
        "ex:b": _EXTENSION_VALUES,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_EVENTS, min_size=1, max_size=3))
def test_any_event_of_the_binding_survives_xml_and_back(events: list[dict[str, Any]]) -> None:
    doc = {
        "@context": [EPCIS_CONTEXT, {"ex": "https://ns.example.com/ext/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T00:00:00Z",
        "epcisBody": {"eventList": events},
    }
    back = xml_to_document(document_to_xml(doc))
    assert back["epcisBody"] == doc["epcisBody"]
