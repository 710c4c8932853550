"""GS1 EPCIS 2.0 in and out: validate a document, map its identifiers, hash and keep its events.

A supply-chain actor already speaks EPCIS 2.0 JSON / JSON-LD or EPCIS XML (2.0, or 1.2 from an
older system); o2ochain reads exactly that, so nothing has to be re-keyed by hand, and writes
it back, so that what a consumer checks is what the actor sent. This package is the bridge
between such a document and the chain:

- :func:`validate_document` checks a document against GS1's own JSON Schemas (shipped in
  ``o2ochain/epcis/schema``, resolved locally, never fetched) plus what EPCIS requires and the
  schema leaves out: RFC 3339 timestamps with a time zone, and identifiers of a known scheme.
  Every problem is an :class:`~o2ochain.errors.InputError` whose ``field`` is the JSON path
  (``$.epcisBody.eventList[1].eventTime``); all of them are raised together as
  :class:`~o2ochain.errors.InputErrors`, so a document is fixed in one round.
- :func:`parse_document` / :func:`load_document` read JSON or JSON-LD (UTF-8), validate, and
  return typed :class:`EpcisEvent` s whose identifiers are :class:`Subject` s: the same 32-byte
  ids the contracts use (``keccak256`` of the unescaped GS1 Digital Link path), whether the
  document spelt them as EPC URNs or as Digital Links.
- Each event's ``content_hash`` is the keccak-256 of its RFC 8785 canonical JSON: independent
  of key order and white space, so the hash anchored on chain can be recomputed from any copy.
  :class:`EventStore` keeps events content-addressed on disk and detects a tampered file.
- :func:`pack_meta` squeezes what a contract needs to see of an event (type, action, CBV codes,
  time) into one ``bytes32``; :data:`BIZ_STEPS` and :data:`DISPOSITIONS` fix the CBV codes.
- :func:`export_document` writes events back as an EPCIS 2.0 document that validates against
  the same schema, each event the very JSON value that was imported (same content hash).
- XML: :func:`xml_to_document` reads an EPCIS 2.0 or 1.x XML document (``EPCISDocument`` or
  ``EPCISQueryDocument``), validated against GS1's EPCIS 2.0 XSD (shipped in
  ``o2ochain/epcis/xsd``; a 1.x document once its ``extension`` wrappers are lifted into the
  2.0 shape), into the EPCIS 2.0 JSON-LD document the standard's JSON binding gives: CBV URNs
  become the bare CBV words, user extensions ``prefix:name`` terms with their namespaces in
  ``@context``. Events are then hashed, anchored and stored in that one form, whichever syntax
  carried them. :func:`parse_xml_document` goes on to :func:`parse_document` and locates its
  complaints on the XML's lines. :func:`document_to_xml` writes an ``EPCISDocument`` or
  ``EPCISQueryDocument`` back as EPCIS 2.0 XML that the XSD accepts (for a client asking for
  ``application/xml``); XML → dict → XML → dict is stable. Malformed XML and XSD violations
  are :class:`~o2ochain.errors.InputError` s naming the file, the line and the element.

Identifier mapping (subject id = ``keccak256`` of the canonical Digital Link path, unescaped):

=====================================================  ============  =============================
EPC URN / Digital Link                                 kind          hashed path
=====================================================  ============  =============================
``urn:epc:id:sgtin:CP.IR.S``, ``…/01/{gtin}/21/{S}``   item          ``/01/{gtin14}/21/{S}``
``urn:epc:class:lgtin:CP.IR.L``, ``…/01/{gtin}/10/L``  lot           ``/01/{gtin14}/10/{L}``
``urn:epc:idpat:sgtin:CP.IR.*``, ``…/01/{gtin}``       class         ``/01/{gtin14}``
``urn:epc:id:sscc:CP.SR``, ``…/00/{sscc}``             container     ``/00/{sscc18}``
``urn:epc:id:sgln:CP.LR.E``, ``…/414/{gln}[/254/E]``   location      ``/414/{gln13}[/254/{E}]``
GRAI, GIAI, GSRN(P), GDTI, SGCN, CPI, PGLN, GINC,      other-gs1     their Digital Link path
GSIN, ITIP, UPUI (URN or Digital Link), GMN (DL)
=====================================================  ============  =============================

A location (``readPoint``, ``bizLocation``) may also be any other absolute URI, as CBV 2.0
(section 8.4) allows: a ``geo:`` URI (RFC 5870, checked), a private or industry URI
(``urn:example:loc:7``, ``https://example.com/locations/cold-store-1``). Its id is ``keccak256``
of the URI as written (:func:`parse_location`); a GS1 path starts with ``/`` and a URI with its
scheme, so the two id spaces never meet. A GS1 spelling (``urn:epc:…``, a Digital Link) must be
a valid key all the same: an SGLN with a wrong check digit is refused, not taken as private.
Anything else where an object is expected (``urn:foo:bar``, a web address that is not a Digital
Link, a ``geo:`` URI) is refused as an unknown identifier scheme: an id the chain cannot tie to
a GS1 key would make a history no consumer can look up. Business
transactions, sources, destinations, event ids and certification URIs are free URIs and are
kept as given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from o2ochain.epcis._document import (
    EPCIS_CONTEXT,
    EpcisDocument,
    EpcisEvent,
    ErrorDeclaration,
    EventSubject,
    dumps_document,
    export_document,
    load_document,
    object_event_document,
    pack_meta,
    parse_document,
    unpack_meta,
    validate_document,
)
from o2ochain.epcis._hash import event_hash
from o2ochain.epcis._identifiers import (
    Subject,
    SubjectKind,
    location_id,
    parse_identifier,
    parse_location,
)
from o2ochain.epcis._store import (
    EventStore,
    canonical_json,
    content_hash,
)
from o2ochain.epcis._vocabulary import (
    ACTIONS,
    BIZ_STEPS,
    DISPOSITIONS,
    EVENT_TYPES,
    NON_CBV_CODE,
    Action,
    EventType,
    Role,
    action_of_code,
    biz_step_name,
    biz_step_of_code,
    code_of_action,
    code_of_biz_step,
    code_of_disposition,
    code_of_event_type,
    disposition_name,
    disposition_of_code,
    event_type_of_code,
    format_time,
    parse_time,
)

# The XML side loads lxml and GS1's XSD, which the JSON paths (`o2ochain trace show`, the page)
# never need: its three functions are imported on first use (PEP 562).
if TYPE_CHECKING:
    from o2ochain.epcis._xml import (
        document_to_xml,
        parse_xml_document,
        xml_to_document,
    )

_XML = frozenset({"document_to_xml", "parse_xml_document", "xml_to_document"})

__all__ = [
    "ACTIONS",
    "BIZ_STEPS",
    "DISPOSITIONS",
    "EPCIS_CONTEXT",
    "EVENT_TYPES",
    "NON_CBV_CODE",
    "Action",
    "EpcisDocument",
    "EpcisEvent",
    "ErrorDeclaration",
    "EventStore",
    "EventSubject",
    "EventType",
    "Role",
    "Subject",
    "SubjectKind",
    "action_of_code",
    "biz_step_name",
    "biz_step_of_code",
    "canonical_json",
    "code_of_action",
    "code_of_biz_step",
    "code_of_disposition",
    "code_of_event_type",
    "content_hash",
    "disposition_name",
    "disposition_of_code",
    "document_to_xml",
    "dumps_document",
    "event_hash",
    "event_type_of_code",
    "export_document",
    "format_time",
    "load_document",
    "location_id",
    "object_event_document",
    "pack_meta",
    "parse_document",
    "parse_identifier",
    "parse_location",
    "parse_time",
    "parse_xml_document",
    "unpack_meta",
    "validate_document",
    "xml_to_document",
]


def __getattr__(name: str) -> Any:
    if name not in _XML:
        raise AttributeError(f"module 'o2ochain.epcis' has no attribute {name!r}")
    from o2ochain.epcis import _xml

    value = getattr(_xml, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _XML)
