"""EPCIS XML in and out: 2.0 and 1.x documents read into the JSON-LD binding, and written back.

A partner's system speaks EPCIS XML more often than JSON: every EPCIS 1.x system does, and
many 2.0 ones still do. o2ochain keeps one form of an event, the EPCIS 2.0 JSON-LD object (what
is hashed, anchored and stored), so an XML document is checked against GS1's XSD and then
read into exactly that form; a query answer is written back as XML when a client asks for it.

Reading (:func:`xml_to_document`):

- The root says the version. ``urn:epcglobal:epcis:xsd:2`` (and the query namespace
  ``urn:epcglobal:epcis-query:xsd:2``) is validated as it stands against GS1's EPCIS 2.0 XSD,
  shipped in ``o2ochain/epcis/xsd`` and never fetched. ``urn:epcglobal:epcis:xsd:1`` (EPCIS
  1.0 to 1.2) is first lifted into the 2.0 shape, the way GS1's own 1.2-to-2.0 transformation
  does: the ``extension`` and ``baseExtension`` wrappers that 1.x needed around newer fields
  (``eventID``, ``errorDeclaration``, ``quantityList``, ``sourceList``, ``TransformationEvent``
  …) are removed and the fields put in 2.0's order; a deprecated ``QuantityEvent`` becomes the
  ``ObjectEvent`` with a quantity list that EPCIS 1.1 names as its replacement. The result is
  validated against the same 2.0 XSD. There is no 1.2 XSD in the package: a 1.x document is
  therefore held to 2.0's structure, and its events then to the 2.0 JSON Schema like any
  others (:func:`parse_xml_document`). What 1.2 allowed and 2.0 does not, a time without a
  time zone, is refused with its line: the JSON binding could not carry it either.
- Every element maps to the EPCIS 2.0 JSON binding: lists become arrays (``epcList`` of
  ``epc``, ``quantityList`` of ``{"epcClass", "quantity", "uom"}``, ``bizTransactionList`` of
  ``{"type", "bizTransaction"}``, ``sourceList`` / ``destinationList``, ``sensorElementList``
  of ``{"sensorMetadata", "sensorReport": [...]}`` with the attributes as members and the
  numeric ones as numbers), ``readPoint`` / ``bizLocation`` objects with their ``id``,
  ``persistentDisposition`` ``{"set", "unset"}``, ``errorDeclaration``, ``ilmd``,
  ``certificationInfo``; the SBDH's sender, receiver and instance identifier become the JSON
  document's ``sender``, ``receiver`` and ``instanceIdentifier``; master data in the header
  becomes ``epcisHeader.epcisMasterData.vocabularyList``.
- CBV values are written as the JSON binding writes them: the bare word of a CBV 2.0 value
  (``urn:epcglobal:cbv:bizstep:shipping`` and ``https://ref.gs1.org/cbv/BizStep-shipping``
  become ``shipping``; ``urn:epcglobal:cbv:btt:po`` becomes ``po``; ``gs1:Temperature``
  becomes ``Temperature``). GS1's JSON Schema refuses the ``urn:epcglobal:cbv:`` form, so this
  is required, not cosmetic. A value outside CBV 2.0 stays the URI it was. Identifiers (EPC
  URNs, Digital Links) are kept as written.
- A user extension (an element or attribute in a namespace of its own) becomes the JSON-LD
  term ``prefix:localName``, with the document's own prefix and ``{prefix: namespace}`` added
  to ``@context`` (the namespace exactly as the XML declares it; a default namespace gets a
  made-up prefix ``ns1``, …). Its content maps as in GS1's JSON twins of its XML examples:
  text becomes a string, child elements an object, repeated elements an array. What the
  converter behind those twins drops is kept: an element's attributes become members of its
  object (its text then under ``rdf:value``), ``xsi:nil="true"`` becomes ``null``, and a leaf
  typed ``xsi:type="xsd:integer"`` (decimal, double, boolean, …) a JSON number or boolean.
- Whitespace around values is dropped; comments and processing instructions are ignored.

Writing (:func:`document_to_xml`) does the reverse for an ``EPCISDocument`` or an
``EPCISQueryDocument``: CBV words become their ``urn:epcglobal:cbv:`` URNs (measurement types
``gs1:Temperature``, sensor alerts ``gs1:ALARM_CONDITION``, components their CBV web URI),
JSON numbers and booleans in extensions carry an ``xsi:type``, and the result is checked
against the XSD before it is returned. XML → dict → XML → dict gives the same dict.

Errors are :class:`~o2ochain.errors.InputError` (malformed XML) or
:class:`~o2ochain.errors.InputErrors` (every XSD violation at once), each naming the file, the
line and the element's path; never an lxml traceback.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Any, Final

from lxml import etree

from o2ochain.epcis._document import EPCIS_CONTEXT, EpcisDocument, parse_document
from o2ochain.epcis._vocabulary import BIZ_STEPS, DISPOSITIONS, format_time
from o2ochain.errors import InputError, InputErrors

# --------------------------------------------------------------------------------------------
# Namespaces and vocabularies

_EPCIS_2: Final = "urn:epcglobal:epcis:xsd:2"
_EPCIS_1: Final = "urn:epcglobal:epcis:xsd:1"
_QUERY_2: Final = "urn:epcglobal:epcis-query:xsd:2"
_QUERY_1: Final = "urn:epcglobal:epcis-query:xsd:1"
_SBDH: Final = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
_XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
_XS: Final = "http://www.w3.org/2001/XMLSchema"
_XSI_NIL: Final = "{" + _XSI + "}nil"
_XSI_TYPE: Final = "{" + _XSI + "}type"
_RDF_VALUE: Final = "rdf:value"
"""Where the text of an extension element goes when the element also has attributes or children."""

_GS1_VOC: Final = "https://gs1.org/voc/"
_CBV_WEB: Final = "https://ref.gs1.org/cbv/"
_DEFAULT_PREFIXES: Final[Mapping[str, str]] = {  # the EPCIS context's prefixes and RDF's usual ones
    "gs1": _GS1_VOC,
    "cbv": _CBV_WEB,
    "epcis": "https://ref.gs1.org/epcis/",
    "cbvmda": "urn:epcglobal:cbv:mda",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}
"""Prefixes the writer resolves without ``@context`` and the reader takes for no other namespace."""
_CONTEXT_NAMESPACES: Final[Mapping[str, str]] = {
    _GS1_VOC: "gs1",
    _CBV_WEB: "cbv",
    "https://ref.gs1.org/epcis/": "epcis",
    "urn:epcglobal:cbv:mda": "cbvmda",
}
"""Namespaces whose prefix the EPCIS JSON-LD context defines and protects (JSON-LD forbids a
document to redefine it): used under that prefix and never added to ``@context``. Any other
namespace keeps its own name, even one that looks alike (``urn:epcglobal:cbv:mda:`` with a
final colon is not CBV's ``urn:epcglobal:cbv:mda``): an extension is kept as written, and the
CBV 2.0 event hash, which names it by its namespace, stays the same in XML and in JSON."""


def _scheme(prefix: str) -> str:
    """An XML prefix as a URI scheme (letters, digits, ``+ - .``, a letter first)."""
    cleaned = re.sub(r"[^A-Za-z0-9+.\-]", "-", prefix)
    return cleaned if cleaned[:1].isalpha() else "x" + cleaned


def _names(words: str) -> tuple[str, ...]:
    """Names written as one line of words (long vocabularies read better so)."""
    return tuple(words.split())


class _Vocabulary:
    """One CBV vocabulary: its words, the URIs that spell a word, and the URI written in XML."""

    def __init__(self, words: Iterable[str], spellings: Sequence[str], written: str) -> None:
        self.words = frozenset(words)
        self.spellings = tuple(spellings)
        self.written = written
        self._short: dict[str, str] = {}

    def short(self, value: str) -> str:
        """The bare word for a CBV spelling of one of the words, else ``value`` unchanged."""
        found = self._short.get(value)
        if found is not None:
            return found
        result = value
        for prefix in self.spellings:
            if value.startswith(prefix) and value[len(prefix) :] in self.words:
                result = value[len(prefix) :]
                break
        if len(self._short) < 4096:
            self._short[value] = result
        return result

    def long(self, value: str) -> str:
        """The XML spelling of a bare word; any other value (a URI) unchanged."""
        return self.written + value if value in self.words else value


def _cbv(urn: str, web: str) -> tuple[str, ...]:
    return (urn, _CBV_WEB + web, "http://ref.gs1.org/cbv/" + web, "https://ns.gs1.org/cbv/" + web, "http://ns.gs1.org/cbv/" + web)


_GS1_SPELLINGS: Final = ("gs1:", _GS1_VOC, "http://gs1.org/voc/", "https://www.gs1.org/voc/", "http://www.gs1.org/voc/")
_BIZ_STEP: Final = _Vocabulary(BIZ_STEPS, _cbv("urn:epcglobal:cbv:bizstep:", "BizStep-"), "urn:epcglobal:cbv:bizstep:")
_DISPOSITION: Final = _Vocabulary(DISPOSITIONS, _cbv("urn:epcglobal:cbv:disp:", "Disp-"), "urn:epcglobal:cbv:disp:")
_BTT: Final = _Vocabulary(
    _names("bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt"),
    _cbv("urn:epcglobal:cbv:btt:", "BTT-"),
    "urn:epcglobal:cbv:btt:",
)
_SDT: Final = _Vocabulary(
    ("owning_party", "possessing_party", "location"), _cbv("urn:epcglobal:cbv:sdt:", "SDT-"), "urn:epcglobal:cbv:sdt:"
)
_ERROR_REASON: Final = _Vocabulary(("did_not_occur", "incorrect_data"), _cbv("urn:epcglobal:cbv:er:", "ER-"), "urn:epcglobal:cbv:er:")
_MEASUREMENT: Final = _Vocabulary(
    _names(
        "AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude AmountOfSubstance "
        "AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum AngularVelocity Area Capacitance Conductance "
        "Conductivity Count Density Dimensionless DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent "
        "ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance Inductance Irradiance "
        "KinematicViscosity Length LinearMomentum Luminance LuminousFlux LuminousIntensity MagneticFlux MagneticFluxDensity "
        "MagneticVectorPotential Mass MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy "
        "MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity Resistance Resistivity SolidAngle "
        "SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction "
        "VolumetricFlux Wavenumber"
    ),
    _GS1_SPELLINGS,
    "gs1:",
)
_SENSOR_ALERT: Final = _Vocabulary(("ALARM_CONDITION", "ERROR_CONDITION"), _GS1_SPELLINGS, "gs1:")
_COMPONENT: Final = _Vocabulary(
    _names("x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle easting northing latitude longitude altitude"),
    ("cbv:Comp-", *_cbv("urn:epcglobal:cbv:comp:", "Comp-")[1:]),
    _CBV_WEB + "Comp-",
)

# --------------------------------------------------------------------------------------------
# The XSD


_XSD_ROOT: Final = b"""<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <xsd:import namespace="urn:epcglobal:epcis:xsd:2" schemaLocation="EPCglobal-epcis-2_0.xsd"/>
  <xsd:import namespace="urn:epcglobal:epcis-query:xsd:2" schemaLocation="EPCglobal-epcis-query-2_0.xsd"/>
</xsd:schema>"""
_schema_lock = threading.Lock()


@functools.cache
def _xml_schema() -> etree.XMLSchema:
    """GS1's EPCIS 2.0 XSD (documents and query documents), loaded once from the package."""
    folder = resources.files("o2ochain.epcis").joinpath("xsd")
    with resources.as_file(folder) as path:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        root = etree.fromstring(_XSD_ROOT, parser, base_url=path.joinpath("epcis.xsd").as_uri())
        return etree.XMLSchema(root)


def _validate(tree: Any, source: str, *, upgraded: bool) -> None:
    """Validate against the 2.0 XSD; every violation an InputError with its line and element."""
    schema = _xml_schema()
    with _schema_lock:  # one libxml2 validation context per schema: not safe to share across threads
        try:
            valid = schema.validate(tree)
        except etree.Error as exc:  # pragma: no cover - libxml2's "internal error": what _parse lets through should not cause it
            raise InputError(f"could not be checked against the EPCIS 2.0 XSD: {exc}", file=source) from None
        log = list(schema.error_log) if not valid else []
    if valid:
        return
    suffix = " (EPCIS 1.x read as 2.0)" if upgraded else ""
    errors = [InputError(_xsd_message(entry.message) + suffix, file=source, line=entry.line, field=entry.path or None) for entry in log]
    InputErrors.raise_if_any(errors or [InputError("not valid against the EPCIS 2.0 XSD" + suffix, file=source)])


_ELEMENT_PREFIX: Final = re.compile(r"^Element '[^']*'(?:, attribute '([^']*)')?: ")
_FACET: Final = re.compile(r"\[facet '[^']*'\] ")


def _xsd_message(message: str) -> str:
    """libxml2's message without what the error's field already says (the element's name)."""
    text = _FACET.sub("", message.strip())
    match = _ELEMENT_PREFIX.match(text)
    if match is not None:
        text = (f"attribute {match.group(1)!r}: " if match.group(1) else "") + text[match.end() :]
    return text


# --------------------------------------------------------------------------------------------
# Reading: bytes → tree


def _parse(data: bytes, source: str) -> Any:
    """Parse XML bytes safely (no DTD, no entities, no network) or raise an InputError with the line."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputError(f"EPCIS XML must be given as bytes, got {type(data).__name__}", file=source)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True, huge_tree=False
    )
    try:
        root = etree.fromstring(bytes(data), parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        message = str(exc.msg or exc).strip()
        message = re.sub(r", line \d+, column \d+$", "", message)
        column = f", column {exc.offset}" if isinstance(exc.offset, int) and exc.offset > 0 else ""
        raise InputError(f"not well-formed XML{column}: {message}", file=source, line=line) from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        # Left unexpanded (an external one could read a file), an entity would reach the XSD check as
        # a node libxml2 cannot validate; EPCIS has no use for them.
        at = bytes(data).find(b"<!ENTITY")
        line = bytes(data).count(b"\n", 0, at) + 1 if at >= 0 else None
        raise InputError("declares XML entities (<!ENTITY …>), which an EPCIS document may not", file=source, line=line)
    return root


# --------------------------------------------------------------------------------------------
# EPCIS 1.x lifted into the 2.0 shape

_BASE_ORDER: Final = _names("eventTime recordTime eventTimeZoneOffset eventID errorDeclaration certificationInfo")
_TYPE_ORDER: Final[Mapping[str, tuple[str, ...]]] = {
    "ObjectEvent": _names(
        "epcList action bizStep disposition readPoint bizLocation bizTransactionList quantityList sourceList destinationList "
        "sensorElementList persistentDisposition ilmd"
    ),
    "AggregationEvent": _names(
        "parentID childEPCs action bizStep disposition readPoint bizLocation bizTransactionList childQuantityList sourceList "
        "destinationList sensorElementList persistentDisposition"
    ),
    "TransactionEvent": _names(
        "bizTransactionList parentID epcList action bizStep disposition readPoint bizLocation quantityList sourceList "
        "destinationList sensorElementList persistentDisposition"
    ),
    "TransformationEvent": _names(
        "inputEPCList inputQuantityList outputEPCList outputQuantityList transformationID bizStep disposition readPoint "
        "bizLocation bizTransactionList sourceList destinationList sensorElementList persistentDisposition ilmd"
    ),
    "AssociationEvent": _names(
        "parentID childEPCs childQuantityList action bizStep disposition readPoint bizLocation bizTransactionList sourceList "
        "destinationList sensorElementList persistentDisposition"
    ),
}
"""The children of each event type in the order of the EPCIS 2.0 XSD (after the base fields)."""
_ORDER_INDEX: Final = {name: {field: i for i, field in enumerate(_BASE_ORDER + fields)} for name, fields in _TYPE_ORDER.items()}
_WRAPPERS: Final = frozenset({"extension", "baseExtension"})
_PLAIN_FIELDS: Final = frozenset(
    _names("eventTime recordTime eventTimeZoneOffset eventID certificationInfo parentID action transformationID")
)
"""Event fields whose JSON value is the element's text."""


def _flatten(element: Any) -> list[Any]:
    """The children of ``element``, each 1.x ``extension`` / ``baseExtension`` wrapper replaced by its content."""
    found: list[Any] = []
    for child in element:
        if child.tag in _WRAPPERS:
            found.extend(_flatten(child))
        else:
            found.append(child)
    return found


def _upgrade(old: Any) -> Any:
    """An EPCIS 1.x document lifted into the shape of 2.0, as GS1's 1.2-to-2.0 XSL does.

    The elements are moved, not copied: each keeps its line for the XSD's complaints, and the
    root's new namespace keeps the document's prefix (``epcis:``) in their paths.
    """
    qname = etree.QName(old)
    namespace = _QUERY_2 if qname.namespace == _QUERY_1 else _EPCIS_2
    renamed = {_EPCIS_1: _EPCIS_2, _QUERY_1: _QUERY_2}
    nsmap = {prefix: renamed.get(uri, uri) for prefix, uri in old.nsmap.items()}
    root = etree.Element(f"{{{namespace}}}{qname.localname}", attrib=dict(old.attrib), nsmap=nsmap)
    root.extend(list(old))
    root.sourceline = old.sourceline
    for results in list(root.iter(f"{{{_QUERY_1}}}QueryResults")):
        results.tag = f"{{{_QUERY_2}}}QueryResults"
    for event_list in list(root.iter("EventList")):
        events = _flatten(event_list)
        event_list[:] = events
        for event in events:
            if event.tag == "QuantityEvent":
                _quantity_event(event)
            order = _ORDER_INDEX.get(event.tag)
            if order is None:
                continue
            children = _flatten(event)
            beyond = len(order)
            children.sort(key=lambda c: order.get(c.tag, beyond) if c.tag[:1] != "{" else beyond + 1)
            event[:] = children
    return root


def _quantity_event(event: Any) -> None:
    """An EPCIS 1.0 QuantityEvent (removed in 2.0) as the ObjectEvent EPCIS 1.1 replaced it with."""
    event.tag = "ObjectEvent"
    epc_class = event.find("epcClass")
    quantity = event.find("quantity")
    action = etree.SubElement(event, "action")
    action.text = "OBSERVE"
    if epc_class is not None:
        quantity_list = etree.SubElement(event, "quantityList")
        element = etree.SubElement(quantity_list, "quantityElement")
        element.append(epc_class)
        if quantity is not None:
            element.append(quantity)
        quantity_list.sourceline = element.sourceline = action.sourceline = epc_class.sourceline


# --------------------------------------------------------------------------------------------
# Reading: tree → JSON-LD


_INTEGER_TYPES: Final = frozenset(
    _names(
        "integer int long short byte nonNegativeInteger positiveInteger negativeInteger nonPositiveInteger "
        "unsignedLong unsignedInt unsignedShort unsignedByte"
    )
)
_INTEGER_TEXT: Final = re.compile(r"[+-]?[0-9]+")


def _number(text: str, element: Any, source: str, name: str) -> int | float:
    """An xsd:decimal or xsd:double as a JSON number: an integer when written as one."""
    if _INTEGER_TEXT.fullmatch(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name} {text!r} is not a number", file=source, line=element.sourceline, field=_path(element)) from None
    if not math.isfinite(value):
        raise InputError(f"{name} {text!r} is not a number JSON can carry", file=source, line=element.sourceline, field=_path(element))
    return value


def _path(element: Any) -> str | None:
    try:
        return str(element.getroottree().getpath(element))
    except (ValueError, TypeError):  # pragma: no cover - an element always belongs to a tree here
        return None


def _text(element: Any) -> str:
    text = element.text
    return text.strip() if text else ""


def _texts(element: Any) -> list[str]:
    """The texts of an element's children: the JSON array of a list of ids (``epc``, ``id`` …)."""
    return [(c.text or "").strip() for c in element if isinstance(c.tag, str)]


_PLACE_FIELDS: Final[Mapping[str, Callable[[Any], Any]]] = {"id": _text}
_ERROR_DECLARATION_FIELDS: Final[Mapping[str, Callable[[Any], Any]]] = {
    "declarationTime": _text,
    "reason": lambda element: _ERROR_REASON.short(_text(element)),
    "correctiveEventIDs": _texts,
}


class _Reader:
    """Maps one validated EPCIS 2.0 tree to the JSON-LD binding, collecting extension prefixes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.prefix_of: dict[str, str] = {}  # namespace -> prefix
        self.namespace_of: dict[str, str] = {}  # prefix -> namespace
        self.keys: dict[str, str] = {}  # "{ns}local" -> "prefix:local"
        self.event_lines: list[int] = []
        self.fields: dict[str, Callable[[Any], Any]] = {
            "epcList": self.epcs,
            "childEPCs": self.epcs,
            "inputEPCList": self.epcs,
            "outputEPCList": self.epcs,
            "quantityList": self.quantities,
            "childQuantityList": self.quantities,
            "inputQuantityList": self.quantities,
            "outputQuantityList": self.quantities,
            "readPoint": self.place,
            "bizLocation": self.place,
            "bizTransactionList": lambda e: self.typed(e, "bizTransaction", _BTT),
            "sourceList": lambda e: self.typed(e, "source", _SDT),
            "destinationList": lambda e: self.typed(e, "destination", _SDT),
            "sensorElementList": self.sensor_elements,
            "persistentDisposition": self.persistent_disposition,
            "ilmd": self.ilmd,
            "errorDeclaration": self.error_declaration,
        }

    # -- names

    def key(self, tag: str, element: Any | None = None) -> str:
        """The JSON-LD term of a qualified XML name: ``prefix:local`` with the document's prefix."""
        found = self.keys.get(tag)
        if found is not None:
            return found
        if tag[:1] != "{":
            self.keys[tag] = tag
            return tag
        namespace, _, local = tag[1:].partition("}")
        prefix = self.prefix_of.get(namespace)
        if prefix is None:
            prefix = self._new_prefix(namespace, element)
        found = f"{prefix}:{local}"
        self.keys[tag] = found
        return found

    def _new_prefix(self, namespace: str, element: Any | None) -> str:
        """The document's prefix for ``namespace`` if it is free in JSON-LD, else a made-up one.

        A namespace the EPCIS context names (``cbvmda`` …) keeps that prefix, whatever the
        document called it. Otherwise a prefix is taken once per document, never one the EPCIS
        context defines, and made a valid URI scheme (GS1's JSON Schema wants extension names
        to be URIs): ``my_ext`` becomes ``my-ext``, a default namespace ``ns1``.
        """
        prefix = _CONTEXT_NAMESPACES.get(namespace)
        if prefix is None:
            declared = next((p for p, uri in element.nsmap.items() if uri == namespace and p), None) if element is not None else None
            wanted = _scheme(declared) if declared else None

            def free(candidate: str) -> bool:
                return candidate not in self.namespace_of and _DEFAULT_PREFIXES.get(candidate, namespace) == namespace

            prefix = wanted if wanted is not None and free(wanted) else None
            n = 1
            while prefix is None:
                candidate = f"ns{n}" if wanted is None else f"{wanted}-{n + 1}"
                prefix = candidate if free(candidate) else None
                n += 1
            self.namespace_of[prefix] = namespace
        self.prefix_of[namespace] = prefix
        return prefix

    def context(self) -> Any:
        """``@context``: the EPCIS context, then the extension prefixes the document used (not
        those the EPCIS context protects, which JSON-LD forbids redefining)."""
        return [EPCIS_CONTEXT, dict(self.namespace_of)] if self.namespace_of else EPCIS_CONTEXT

    # -- extensions

    def extension(self, element: Any) -> Any:
        """A user extension element as JSON: text, object, array members, typed leaf or null."""
        attrib = element.attrib
        children = [c for c in element if isinstance(c.tag, str)]
        if attrib:
            if attrib.get(_XSI_NIL) in ("true", "1") and not children:
                return None
            typed = attrib.get(_XSI_TYPE)
            members = {self.key(name, element): value.strip() for name, value in attrib.items() if not name.startswith("{" + _XSI)}
        else:
            typed, members = None, {}
        if not children and not members:
            text = _text(element)
            return self.typed_text(text, typed, element) if typed else text
        obj: dict[str, Any] = members
        text = _text(element)
        if text:
            obj[_RDF_VALUE] = self.typed_text(text, typed, element) if typed else text
        self.members(children, obj)
        return obj

    def members(self, children: Iterable[Any], obj: dict[str, Any]) -> None:
        """Add extension elements to ``obj``; a name seen twice becomes an array, in document order.

        ``extension`` wrappers (1.x, and 2.0's ``extension`` / ``baseExtension``) are not
        fields: their content counts as the parent's.
        """
        found: dict[str, list[Any]] = {}
        for child in children:
            if child.tag in _WRAPPERS:
                self.members((c for c in child if isinstance(c.tag, str)), obj)
                continue
            found.setdefault(self.key(child.tag, child), []).append(self.extension(child))
        for key, values in found.items():
            if key in obj:  # an attribute of the same name came first
                values.insert(0, obj[key])
            obj[key] = values[0] if len(values) == 1 else values

    def typed_text(self, text: str, typed: str, element: Any) -> Any:
        """A leaf with ``xsi:type``: numbers and booleans of XML Schema as JSON ones, else the text."""
        prefix, _, local = typed.strip().rpartition(":")
        if element.nsmap.get(prefix or None) != _XS:
            return text
        try:
            if local in _INTEGER_TYPES:
                return int(text)
            if local in ("decimal", "double", "float"):
                return _number(text, element, self.source, etree.QName(element).localname)
        except (ValueError, InputError):
            return text
        if local == "boolean" and text in ("true", "false", "1", "0"):
            return text in ("true", "1")
        return text

    def foreign(self, element: Any, obj: dict[str, Any], known: frozenset[str]) -> None:
        """Attributes of a standard element that the standard does not define, as members."""
        for name, value in element.attrib.items():
            if name not in known and not name.startswith("{" + _XSI):
                obj[self.key(name, element)] = value.strip()

    def structure(
        self, element: Any, obj: dict[str, Any], fields: Mapping[str, Callable[[Any], Any]], repeated: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """A standard structure: each child named in ``fields`` read by its reader into the member
        of its name (a child named in ``repeated`` appended to the array named there), every
        other child a user extension."""
        rest = []
        for child in element:
            tag = child.tag
            reader = fields.get(tag) if isinstance(tag, str) else None
            if reader is None:
                if isinstance(tag, str):
                    rest.append(child)
            elif repeated and tag in repeated:
                obj.setdefault(repeated[tag], []).append(reader(child))
            else:
                obj[tag] = reader(child)
        if rest:
            self.members(rest, obj)
        return obj

    # -- standard structures

    @staticmethod
    def epcs(element: Any) -> list[str]:
        return [(c.text or "").strip() for c in element if c.tag == "epc"]

    def quantities(self, element: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for q in element:
            if not isinstance(q.tag, str):
                continue
            item: dict[str, Any] = {}
            for part in q:
                tag = part.tag
                if tag == "epcClass":
                    item["epcClass"] = _text(part)
                elif tag == "quantity":
                    if part.get(_XSI_NIL) not in ("true", "1"):
                        item["quantity"] = _number(_text(part), part, self.source, "quantity")
                elif tag == "uom":
                    item["uom"] = _text(part)
            found.append(item)
        return found

    def place(self, element: Any) -> dict[str, Any]:
        return self.structure(element, {}, _PLACE_FIELDS)

    def typed(self, element: Any, name: str, vocabulary: _Vocabulary) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for child in element:
            if not isinstance(child.tag, str):
                continue
            kind = child.get("type")
            item = {"type": vocabulary.short(kind.strip()), name: _text(child)} if kind is not None else {name: _text(child)}
            found.append(item)
        return found

    def persistent_disposition(self, element: Any) -> dict[str, list[str]]:
        obj: dict[str, list[str]] = {}
        for child in element:
            if child.tag in ("set", "unset"):
                obj.setdefault(child.tag, []).append(_DISPOSITION.short(_text(child)))
        return {key: obj[key] for key in ("set", "unset") if key in obj}

    def ilmd(self, element: Any) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        self.foreign(element, obj, frozenset())
        self.members((c for c in element if isinstance(c.tag, str)), obj)
        return obj

    def error_declaration(self, element: Any) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        self.foreign(element, obj, frozenset())
        return self.structure(element, obj, _ERROR_DECLARATION_FIELDS)

    _REPORT_NUMBERS: Final = frozenset({"value", "minValue", "maxValue", "sDev", "meanValue", "percRank", "percValue"})

    def sensor_elements(self, element: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for sensor in element:
            if sensor.tag != "sensorElement":
                continue  # the list's own ##local extension has no JSON counterpart
            fields = {
                "sensorMetadata": lambda child: self.sensor_attributes(child, frozenset()),
                "sensorReport": lambda child: self.sensor_attributes(child, self._REPORT_NUMBERS),
            }
            found.append(self.structure(sensor, {}, fields, {"sensorReport": "sensorReport"}))
        return found

    def sensor_attributes(self, element: Any, numbers: frozenset[str]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for name, raw in element.attrib.items():
            if name.startswith("{" + _XSI):
                continue
            value = raw.strip()
            if name in numbers:
                obj[name] = _number(value, element, self.source, name)
            elif name == "type":
                obj[name] = _MEASUREMENT.short(value)
            elif name == "exception":
                obj[name] = _SENSOR_ALERT.short(value)
            elif name == "component":
                obj[name] = _COMPONENT.short(value)
            elif name == "booleanValue":
                obj[name] = value in ("true", "1")
            else:
                obj[self.key(name, element)] = value
        text = _text(element)
        if text:
            obj[_RDF_VALUE] = text
        return obj

    # -- events and documents

    def event(self, element: Any) -> dict[str, Any]:
        """One event; the hot path of a large document, hence the plain fields read inline."""
        event: dict[str, Any] = {"type": element.tag}
        if element.keys():
            self.foreign(element, event, frozenset())
        fields = self.fields
        rest = None
        for child in element:
            tag = child.tag
            if tag in _PLAIN_FIELDS:
                text = child.text
                event[tag] = text.strip() if text else ""
            elif tag in _CBV_FIELDS:
                text = child.text
                event[tag] = _CBV_FIELDS[tag].short(text.strip() if text else "")
            elif tag in fields:
                event[tag] = fields[tag](child)
            elif isinstance(tag, str):
                if rest is None:
                    rest = []
                rest.append(child)
        if rest:
            self.members(rest, event)
        self.event_lines.append(element.sourceline or 0)
        return event

    def events(self, event_list: Any | None) -> list[dict[str, Any]]:
        if event_list is None:
            return []
        found: list[dict[str, Any]] = []
        event = self.event
        for child in event_list:
            if child.tag in _ORDER_INDEX:
                found.append(event(child))
            elif child.tag == "extension":  # 2.0's place for event types of other standards
                for other in child:
                    raise InputError(
                        f"{self.key(other.tag, other)} is an extension event type; o2ochain records only the five EPCIS 2.0 event types",
                        file=self.source,
                        line=other.sourceline,
                        field=_path(other),
                    )
        return found

    def header(self, header: Any, doc: dict[str, Any], *, query: bool) -> None:
        """SBDH sender, receiver and instance identifier, and master data, into ``doc``."""
        sbdh = header.find(f"{{{_SBDH}}}StandardBusinessDocumentHeader")
        if sbdh is not None and not query:
            for key, path in (
                ("sender", f"{{{_SBDH}}}Sender/{{{_SBDH}}}Identifier"),
                ("receiver", f"{{{_SBDH}}}Receiver/{{{_SBDH}}}Identifier"),
                ("instanceIdentifier", f"{{{_SBDH}}}DocumentIdentification/{{{_SBDH}}}InstanceIdentifier"),
            ):
                found = sbdh.find(path)
                if found is not None and _text(found):
                    doc[key] = _text(found)
        master = header.find("extension/EPCISMasterData/VocabularyList")
        if master is not None and not query:
            doc["epcisHeader"] = {"epcisMasterData": {"vocabularyList": self.vocabularies(master)}}

    def vocabularies(self, vocabulary_list: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for vocabulary in vocabulary_list:
            if vocabulary.tag != "Vocabulary":
                continue
            obj: dict[str, Any] = {"type": vocabulary.get("type", "").strip()}
            self.foreign(vocabulary, obj, frozenset({"type"}))
            elements = {
                "VocabularyElementList": lambda listing: [self.vocabulary_element(e) for e in listing if e.tag == "VocabularyElement"]
            }
            found.append(self.structure(vocabulary, obj, elements))
            if "VocabularyElementList" in obj:
                obj["vocabularyElementList"] = obj.pop("VocabularyElementList")
        return found

    def vocabulary_element(self, element: Any) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": element.get("id", "").strip()}
        self.foreign(element, obj, frozenset({"id"}))
        return self.structure(element, obj, {"attribute": self.attribute, "children": _texts}, {"attribute": "attributes"})

    def attribute(self, element: Any) -> dict[str, Any]:
        """A master data attribute: ``{"id", "attribute"}``, the value text or an extension object."""
        value = self.extension(element)
        if isinstance(value, dict):
            value.pop("id", None)
            if set(value) == {_RDF_VALUE}:
                value = value[_RDF_VALUE]
        return {"id": element.get("id", "").strip(), "attribute": value}

    def document(self, root: Any, *, upgraded: bool) -> dict[str, Any]:
        qname = etree.QName(root)
        query = qname.namespace == _QUERY_2
        body: dict[str, Any] = {}
        doc: dict[str, Any] = {
            "type": qname.localname,
            "schemaVersion": "2.0" if upgraded else root.get("schemaVersion", "").strip(),
            "creationDate": root.get("creationDate", "").strip(),
        }
        self.foreign(root, doc, frozenset({"schemaVersion", "creationDate"}))
        rest = []
        epcis_body = None
        for child in root:
            if child.tag == "EPCISHeader":
                self.header(child, doc, query=query)
            elif child.tag == "EPCISBody":
                epcis_body = child
            elif isinstance(child.tag, str):
                rest.append(child)
        self.members(rest, doc)
        if epcis_body is None:  # pragma: no cover - the XSD requires the body
            raise InputError("an EPCIS document needs an EPCISBody", file=self.source, line=root.sourceline)
        self.foreign(epcis_body, body, frozenset())
        if query:
            results = epcis_body.find(f"{{{_QUERY_2}}}QueryResults")
            if results is None:
                raise InputError(
                    "an EPCISQueryDocument captured as events must carry QueryResults", file=self.source, line=epcis_body.sourceline
                )
            body["queryResults"] = self.query_results(results)
        else:
            body["eventList"] = self.events(epcis_body.find("EventList"))
            self.members((c for c in epcis_body if isinstance(c.tag, str) and c.tag != "EventList"), body)
        return {"@context": self.context(), **doc, "epcisBody": body}

    def query_results(self, results: Any) -> dict[str, Any]:
        return self.structure(results, {"queryName": ""}, {"queryName": _text, "subscriptionID": _text, "resultsBody": self.results_body})

    def results_body(self, element: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"eventList": []}
        for part in element:
            if part.tag == "EventList":
                body["eventList"] = self.events(part)
            elif part.tag == "VocabularyList":
                body["vocabularyList"] = self.vocabularies(part)
        return body


def _read(data: bytes, source: str) -> tuple[dict[str, Any], list[int]]:
    """Parse, validate and map; also return each event's line (for locating later errors)."""
    root = _parse(data, source)
    qname = etree.QName(root)
    if qname.localname not in ("EPCISDocument", "EPCISQueryDocument") or qname.namespace not in (_EPCIS_2, _EPCIS_1, _QUERY_2, _QUERY_1):
        where = f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname
        raise InputError(
            f"the root element {where} is not an EPCIS document (epcis:EPCISDocument or epcisq:EPCISQueryDocument "
            f"of EPCIS 2.0, {_EPCIS_2}, or 1.x, {_EPCIS_1})",
            file=source,
            line=root.sourceline,
        )
    if (qname.localname == "EPCISDocument") != (qname.namespace in (_EPCIS_2, _EPCIS_1)):
        raise InputError(f"{qname.localname} is not defined in the namespace {qname.namespace}", file=source, line=root.sourceline)
    upgraded = qname.namespace in (_EPCIS_1, _QUERY_1)
    if upgraded:
        root = _upgrade(root)
    _validate(root, source, upgraded=upgraded)
    reader = _Reader(source)
    return reader.document(root, upgraded=upgraded), reader.event_lines


def xml_to_document(data: bytes, source: str = "<document>") -> dict[str, Any]:
    """Read an EPCIS 2.0 or 1.x XML document into the EPCIS 2.0 JSON-LD document it stands for.

    ``data`` is the document's bytes (any encoding its XML declaration names; a UTF-8 BOM is
    fine). Accepted roots: ``EPCISDocument`` and ``EPCISQueryDocument`` (its ``QueryResults``)
    of EPCIS 2.0 and of EPCIS 1.0-1.2. The document is validated against GS1's EPCIS 2.0 XSD
    (a 1.x document once lifted into the 2.0 shape, see the module's docstring) and mapped
    to the JSON binding: the result is what a JSON-LD partner would have sent, ready for
    :func:`~o2ochain.epcis.parse_document`. What JSON has no place for is not read: the header
    of a query document, the SBDH beyond sender, receiver and instance identifier.

    Raises :class:`~o2ochain.errors.InputError` for malformed XML and anything that is not an
    EPCIS document, :class:`~o2ochain.errors.InputErrors` for XSD violations (all of them),
    each naming ``source``, the line and the element.
    """
    return _read(data, source)[0]


def parse_xml_document(data: bytes, source: str = "<document>") -> EpcisDocument:
    """:func:`xml_to_document`, then :func:`~o2ochain.epcis.parse_document` on the result.

    What the XSD lets through and EPCIS 2.0 does not (a CBV URN of no CBV 2.0 value, an
    ObjectEvent naming nothing, an identifier of no known scheme, …) is then reported with the
    JSON path of the field *and* the line of its event in the XML, so that an XML sender can
    find it. The document's ``raw`` is the JSON-LD form; its events hash as that form.
    """
    doc, lines = _read(data, source)
    try:
        return parse_document(doc, source=source)
    except InputErrors as exc:
        raise InputErrors([_located(error, lines) for error in exc.errors], total=exc.total) from None
    except InputError as exc:
        raise _located(exc, lines) from None


_EVENT_INDEX: Final = re.compile(r"^\$\.epcisBody(?:\.queryResults\.resultsBody)?\.eventList\[(\d+)\]")


def _located(error: InputError, lines: Sequence[int]) -> InputError:
    """``error`` with the XML line of the event its JSON path points into."""
    match = _EVENT_INDEX.match(error.field or "")
    if error.line is not None or match is None or int(match.group(1)) >= len(lines):
        return error
    return InputError(error.message, file=error.file, line=lines[int(match.group(1))] or None, field=error.field, value=error.value)


# --------------------------------------------------------------------------------------------
# Writing: JSON-LD → XML


def _lexical(value: Any) -> str:
    """A JSON scalar as XML text: numbers without exponent (xsd:decimal has none), booleans as words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{value} is not a number XML Schema's decimal can carry")
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else text + ".0"
    return str(value)


class _Writer:
    """Builds the XML tree of one JSON-LD document."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.namespaces: dict[str, str] = dict(_DEFAULT_PREFIXES)
        self._collect(doc.get("@context"))
        self.used_typed = False
        self.used_gs1 = False

    def _collect(self, context: Any) -> None:
        if isinstance(context, list):
            for entry in context:
                self._collect(entry)
        elif isinstance(context, Mapping):
            for prefix, value in context.items():
                uri = value.get("@id") if isinstance(value, Mapping) else value
                if isinstance(prefix, str) and isinstance(uri, str) and ":" not in prefix and not prefix.startswith("@") and ":" in uri:
                    self.namespaces[prefix] = uri

    def tag(self, key: str, at: str, *, nested: bool = False) -> str:
        """The qualified XML name of a JSON-LD extension term (``prefix:local`` or a full IRI).

        Inside an extension (``nested``) a plain name is an unqualified element, as it was read.
        """
        if nested and _LOCAL_NAME.fullmatch(key):
            return key
        prefix, colon, local = key.partition(":")
        if colon and not local.startswith("//") and _LOCAL_NAME.fullmatch(local):
            uri = self.namespaces.get(prefix)
            if uri is None:
                raise InputError(f"the prefix {prefix!r} of {key!r} is not defined in @context, so it has no XML namespace", field=at)
            return f"{{{uri}}}{local}"
        cut = max(key.rfind("/"), key.rfind("#"))
        if ":" in key and 0 < cut < len(key) - 1 and _LOCAL_NAME.fullmatch(key[cut + 1 :]):
            return f"{{{key[: cut + 1]}}}{key[cut + 1 :]}"
        raise InputError(f"{key!r} is neither an EPCIS field nor an extension term (prefix:name) XML can carry", field=at)

    # -- extensions

    def extension(self, parent: Any, key: str, value: Any, at: str, *, nested: bool = False) -> None:
        tag = self.tag(key, at, nested=nested)
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            self.extension_element(parent, tag, item, f"{at}[{index}]" if isinstance(value, list) else at)

    def extension_element(self, parent: Any, tag: str, value: Any, at: str) -> None:
        element = etree.SubElement(parent, tag)
        if value is None:
            element.set(_XSI_NIL, "true")
            self.used_typed = True
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if key == _RDF_VALUE:
                    self.leaf(element, item)
                elif self._is_attribute(key, item):
                    element.set(key, item)
                else:
                    self.extension(element, key, item, f"{at}.{key}", nested=True)
        else:
            self.leaf(element, value)

    @staticmethod
    def _is_attribute(key: str, value: Any) -> bool:
        """Members written as XML attributes: strings under plain names (as unqualified attributes
        and unqualified leaf elements both read; an attribute is the shorter way back)."""
        return isinstance(value, str) and _LOCAL_NAME.fullmatch(key) is not None

    def leaf(self, element: Any, value: Any) -> None:
        if isinstance(value, bool):
            element.set(_XSI_TYPE, "xsd:boolean")
            self.used_typed = True
        elif isinstance(value, int):
            element.set(_XSI_TYPE, "xsd:integer")
            self.used_typed = True
        elif isinstance(value, float):
            element.set(_XSI_TYPE, "xsd:decimal")
            self.used_typed = True
        elif not isinstance(value, str):
            raise InputError(f"an extension value must be a string, number, boolean, object or array, got {type(value).__name__}")
        element.text = _lexical(value)

    # -- standard fields

    @staticmethod
    def text(parent: Any, tag: str, value: Any) -> Any:
        element = etree.SubElement(parent, tag)
        element.text = _lexical(value)
        return element

    def event(self, parent: Any, event: Mapping[str, Any], at: str) -> None:
        event_type = event.get("type")
        if not isinstance(event_type, str) or event_type not in _TYPE_ORDER:
            raise InputError(f"{event_type!r} is not one of the five EPCIS 2.0 event types XML can carry", field=f"{at}.type")
        self._collect(event.get("@context"))
        element = etree.SubElement(parent, event_type)
        order = _BASE_ORDER + _TYPE_ORDER[event_type]
        if "id" in event and "eventID" not in event:  # the EPCIS context makes both JSON-LD's @id
            event = {**event, "eventID": event["id"]}
        for name in order:
            if name in event:
                self.field(element, name, event[name], f"{at}.{name}")
        for key, value in event.items():
            if key in _NOT_IN_XML or key in order:
                continue
            if key in _STANDARD_FIELDS:
                raise InputError(f"{key} is not part of an {event_type} in EPCIS 2.0 XML", field=f"{at}.{key}")
            self.extension(element, key, value, f"{at}.{key}")

    def field(self, event: Any, name: str, value: Any, at: str) -> None:
        if name in ("bizStep", "disposition"):
            self.text(event, name, (_BIZ_STEP if name == "bizStep" else _DISPOSITION).long(_string(value, at)))
        elif name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
            holder = etree.SubElement(event, name)
            for epc in _array(value, at):
                self.text(holder, "epc", epc)
        elif name in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
            holder = etree.SubElement(event, name)
            for where, item in _objects(value, at):
                element = etree.SubElement(holder, "quantityElement")
                self.text(element, "epcClass", _string(item.get("epcClass"), f"{where}.epcClass"))
                if "quantity" in item:
                    self.text(element, "quantity", item["quantity"])
                if "uom" in item:
                    if "quantity" not in item:
                        etree.SubElement(element, "quantity").set(_XSI_NIL, "true")
                        self.used_typed = True
                    self.text(element, "uom", item["uom"])
        elif name in ("readPoint", "bizLocation"):
            place = _object(value, at)
            holder = etree.SubElement(event, name)
            self.text(holder, "id", _string(place.get("id"), f"{at}.id"))
            for key, item in place.items():
                if key != "id":
                    self.extension(holder, key, item, f"{at}.{key}")
        elif name in ("bizTransactionList", "sourceList", "destinationList"):
            item_name = {"bizTransactionList": "bizTransaction", "sourceList": "source", "destinationList": "destination"}[name]
            vocabulary = _BTT if name == "bizTransactionList" else _SDT
            holder = etree.SubElement(event, name)
            for where, item in _objects(value, at):
                element = self.text(holder, item_name, _string(item.get(item_name), f"{where}.{item_name}"))
                if "type" in item:
                    element.set("type", vocabulary.long(_string(item["type"], f"{where}.type")))
        elif name == "sensorElementList":
            holder = etree.SubElement(event, name)
            for where, item in _objects(value, at):
                self.sensor_element(holder, item, where)
        elif name == "persistentDisposition":
            obj = _object(value, at)
            holder = etree.SubElement(event, name)
            for key in ("unset", "set"):
                for entry in _array(obj.get(key, []), f"{at}.{key}"):
                    self.text(holder, key, _DISPOSITION.long(_string(entry, f"{at}.{key}")))
        elif name == "ilmd":
            holder = etree.SubElement(event, name)
            for key, item in _object(value, at).items():
                self.extension(holder, key, item, f"{at}.{key}")
        elif name == "errorDeclaration":
            self.error_declaration(event, _object(value, at), at)
        elif name == "certificationInfo":
            if isinstance(value, list):
                if len(value) != 1:
                    raise InputError(
                        f"certificationInfo holds {len(value)} URIs; EPCIS 2.0 XML has room for one", field=at, value=len(value)
                    )
                value = value[0]
            self.text(event, name, _string(value, at))
        else:
            self.text(event, name, _string(value, at))

    def error_declaration(self, event: Any, declaration: Mapping[str, Any], at: str) -> None:
        holder = etree.SubElement(event, "errorDeclaration")
        for key, item in declaration.items():
            if key == "declarationTime":
                self.text(holder, key, _string(item, f"{at}.{key}"))
            elif key == "reason":
                self.text(holder, key, _ERROR_REASON.long(_string(item, f"{at}.{key}")))
            elif key == "correctiveEventIDs":
                ids = etree.SubElement(holder, key)
                for entry in _array(item, f"{at}.{key}"):
                    self.text(ids, "correctiveEventID", _string(entry, f"{at}.{key}"))
            else:
                self.extension(holder, key, item, f"{at}.{key}")

    def sensor_element(self, holder: Any, sensor: Mapping[str, Any], at: str) -> None:
        element = etree.SubElement(holder, "sensorElement")
        if "sensorMetadata" in sensor:
            self.sensor_attributes(
                element, "sensorMetadata", _object(sensor["sensorMetadata"], f"{at}.sensorMetadata"), f"{at}.sensorMetadata"
            )
        for where, report in _objects(sensor.get("sensorReport", []), f"{at}.sensorReport"):
            self.sensor_attributes(element, "sensorReport", report, where)
        for key, item in sensor.items():
            if key not in ("sensorMetadata", "sensorReport"):
                self.extension(element, key, item, f"{at}.{key}")

    def sensor_attributes(self, parent: Any, tag: str, values: Mapping[str, Any], at: str) -> None:
        element = etree.SubElement(parent, tag)
        for key, value in values.items():
            if key == _RDF_VALUE:
                element.text = _lexical(value)
                continue
            if isinstance(value, list | Mapping) or value is None:
                raise InputError(f"{tag} {key} must be a single value to be an XML attribute", field=f"{at}.{key}")
            vocabulary = _REPORT_VOCABULARIES.get(key)
            text = vocabulary.long(_string(value, f"{at}.{key}")) if vocabulary is not None else _lexical(value)
            self.used_gs1 = self.used_gs1 or (vocabulary is not None and text.startswith("gs1:"))
            element.set(key if ":" not in key else self.tag(key, f"{at}.{key}"), text)

    # -- documents

    def header(self, root: Any, doc: Mapping[str, Any]) -> None:
        sbdh_values = {key: doc.get(key) for key in ("sender", "receiver", "instanceIdentifier")}
        header = doc.get("epcisHeader")
        master = header.get("epcisMasterData") if isinstance(header, Mapping) else None
        if not any(v is not None for v in sbdh_values.values()) and master is None:
            return
        element = etree.SubElement(root, "EPCISHeader")
        if any(v is not None for v in sbdh_values.values()):
            sbdh = etree.SubElement(element, f"{{{_SBDH}}}StandardBusinessDocumentHeader", nsmap={"sbdh": _SBDH})
            self.text(sbdh, f"{{{_SBDH}}}HeaderVersion", "1.0")
            for key, tag in (("sender", "Sender"), ("receiver", "Receiver")):
                partner = etree.SubElement(sbdh, f"{{{_SBDH}}}{tag}")
                self.text(partner, f"{{{_SBDH}}}Identifier", _string(sbdh_values[key] or "", f"$.{key}"))
            identification = etree.SubElement(sbdh, f"{{{_SBDH}}}DocumentIdentification")
            self.text(identification, f"{{{_SBDH}}}Standard", "EPCglobal")
            self.text(identification, f"{{{_SBDH}}}TypeVersion", "2.0")
            self.text(
                identification, f"{{{_SBDH}}}InstanceIdentifier", _string(sbdh_values["instanceIdentifier"] or "", "$.instanceIdentifier")
            )
            self.text(identification, f"{{{_SBDH}}}Type", "Events")
            self.text(identification, f"{{{_SBDH}}}CreationDateAndTime", _string(doc.get("creationDate"), "$.creationDate"))
        if isinstance(master, Mapping):
            extension = etree.SubElement(element, "extension")
            holder = etree.SubElement(etree.SubElement(extension, "EPCISMasterData"), "VocabularyList")
            self.vocabularies(holder, master.get("vocabularyList", []), "$.epcisHeader.epcisMasterData.vocabularyList")

    def vocabularies(self, holder: Any, vocabularies: Any, at: str) -> None:
        for where, vocabulary in _objects(vocabularies, at):
            element = etree.SubElement(holder, "Vocabulary", type=_string(vocabulary.get("type"), f"{where}.type"))
            elements = vocabulary.get("vocabularyElementList")
            if elements is not None:
                listing = etree.SubElement(element, "VocabularyElementList")
                for path, entry in _objects(elements, f"{where}.vocabularyElementList"):
                    self.vocabulary_element(listing, entry, path)
            for key, item in vocabulary.items():
                if key not in ("type", "vocabularyElementList"):
                    self.extension(element, key, item, f"{where}.{key}")

    def vocabulary_element(self, holder: Any, entry: Mapping[str, Any], at: str) -> None:
        element = etree.SubElement(holder, "VocabularyElement", id=_string(entry.get("id"), f"{at}.id"))
        for where, attribute in _objects(entry.get("attributes", []), f"{at}.attributes"):
            child = etree.SubElement(element, "attribute", id=_string(attribute.get("id"), f"{where}.id"))
            value = attribute.get("attribute")
            if isinstance(value, Mapping):
                for key, item in value.items():
                    if key == _RDF_VALUE:
                        child.text = _lexical(item)
                    elif self._is_attribute(key, item):
                        child.set(key, item)
                    else:
                        self.extension(child, key, item, f"{where}.attribute.{key}", nested=True)
            elif value is not None:
                child.text = _lexical(value)
        if "children" in entry:
            children = etree.SubElement(element, "children")
            for child_id in _array(entry["children"], f"{at}.children"):
                self.text(children, "id", _string(child_id, f"{at}.children"))
        for key, item in entry.items():
            if key not in ("id", "attributes", "children"):
                self.extension(element, key, item, f"{at}.{key}")

    def document(self, doc: Mapping[str, Any]) -> Any:
        doc_type = doc.get("type")
        if doc_type not in ("EPCISDocument", "EPCISQueryDocument"):
            raise InputError(f"only an EPCISDocument or an EPCISQueryDocument can be written as XML, got {doc_type!r}", field="$.type")
        query = doc_type == "EPCISQueryDocument"
        namespace = _QUERY_2 if query else _EPCIS_2
        nsmap: dict[str | None, str] = {"epcisq" if query else "epcis": namespace}
        if query:
            nsmap["epcis"] = _EPCIS_2
        # Declared once at the root (cleanup_namespaces drops the unused); a JSON-LD prefix that is no
        # XML prefix is left to lxml, which declares its namespace where used under a made-up one.
        nsmap.update({p: uri for p, uri in self.namespaces.items() if p not in nsmap and p != "xsd" and _LOCAL_NAME.fullmatch(p)})
        nsmap["xsi"] = _XSI
        nsmap["xsd"] = _XS
        root = etree.Element(f"{{{namespace}}}{doc_type}", nsmap=nsmap)
        version = doc.get("schemaVersion", "2.0")
        creation = doc.get("creationDate") if doc.get("creationDate") is not None else format_time(datetime.now(UTC))
        root.set("schemaVersion", _string(version, "$.schemaVersion"))
        root.set("creationDate", _string(creation, "$.creationDate"))
        if not query:
            self.header(root, doc)
        body = _object(doc.get("epcisBody"), "$.epcisBody")
        epcis_body = etree.SubElement(root, "EPCISBody")
        if query:
            results = _object(body.get("queryResults"), "$.epcisBody.queryResults")
            element = etree.SubElement(epcis_body, f"{{{_QUERY_2}}}QueryResults")
            self.text(element, "queryName", _string(results.get("queryName", ""), "$.epcisBody.queryResults.queryName"))
            if "subscriptionID" in results:
                self.text(element, "subscriptionID", _string(results["subscriptionID"], "$.epcisBody.queryResults.subscriptionID"))
            results_body = _object(results.get("resultsBody"), "$.epcisBody.queryResults.resultsBody")
            holder = etree.SubElement(element, "resultsBody")
            base = "$.epcisBody.queryResults.resultsBody"
            if results_body.get("vocabularyList") and not results_body.get("eventList"):
                self.vocabularies(etree.SubElement(holder, "VocabularyList"), results_body["vocabularyList"], f"{base}.vocabularyList")
            else:
                self.events(etree.SubElement(holder, "EventList"), results_body.get("eventList", []), f"{base}.eventList")
            for key, item in results.items():
                if key not in ("queryName", "subscriptionID", "resultsBody"):
                    self.extension(element, key, item, f"$.epcisBody.queryResults.{key}")
        else:
            self.events(etree.SubElement(epcis_body, "EventList"), body.get("eventList", []), "$.epcisBody.eventList")
            for key, item in body.items():
                if key != "eventList":
                    self.extension(epcis_body, key, item, f"$.epcisBody.{key}")
        for key, item in doc.items():
            if key not in _DOCUMENT_FIELDS:
                self.extension(root, key, item, f"$.{key}")
        keep = ["epcis", "epcisq"] + (["xsi", "xsd"] if self.used_typed else []) + (["gs1"] if self.used_gs1 else [])
        etree.cleanup_namespaces(root, keep_ns_prefixes=keep)
        return root

    def events(self, holder: Any, events: Any, at: str) -> None:
        for where, event in _objects(events, at):
            try:
                self.event(holder, event, where)
            except InputError:
                raise
            except ValueError as exc:  # lxml: a control character in a text, a name XML does not allow
                raise InputError(f"cannot be written as XML: {exc}", field=where) from None


_STANDARD_FIELDS: Final = frozenset(_BASE_ORDER).union(*_TYPE_ORDER.values())
_NOT_IN_XML: Final = frozenset({"type", "@context", "id"})
"""Event members that are JSON-LD's own: the type is the element's name; ``id``, like ``eventID``,
is the event's ``@id`` in the EPCIS context, and is written as ``eventID`` when that is absent."""
_CBV_FIELDS: Final[Mapping[str, _Vocabulary]] = {"bizStep": _BIZ_STEP, "disposition": _DISPOSITION}
_REPORT_VOCABULARIES: Final = {"type": _MEASUREMENT, "exception": _SENSOR_ALERT, "component": _COMPONENT}
_LOCAL_NAME: Final = re.compile(r"[A-Za-z_][\w.\-]*")
_DOCUMENT_FIELDS: Final = frozenset(
    {"@context", "id", "type", "schemaVersion", "creationDate", "sender", "receiver", "instanceIdentifier", "epcisHeader", "epcisBody"}
)


def _string(value: Any, at: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"must be a string, got {type(value).__name__}", field=at, value=value if isinstance(value, int | float) else None)
    return value


def _array(value: Any, at: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str | Mapping):  # a JSON-LD single value
        return [value]
    raise InputError(f"must be an array, got {type(value).__name__}", field=at)


def _objects(value: Any, at: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The members of a JSON array of objects, each with its JSON path."""
    for index, item in enumerate(_array(value, at)):
        yield f"{at}[{index}]", _object(item, f"{at}[{index}]")


def _object(value: Any, at: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"must be an object, got {type(value).__name__}", field=at)
    return value


def document_to_xml(doc: Mapping[str, Any], *, validate: bool = True) -> bytes:
    """Write an EPCIS 2.0 JSON-LD ``EPCISDocument`` or ``EPCISQueryDocument`` as EPCIS 2.0 XML.

    For a client that asks for ``application/xml``. The mapping is :func:`xml_to_document`'s,
    reversed: CBV words become their URNs, extension terms become elements in the namespaces
    ``@context`` gives their prefixes (``gs1``, ``cbvmda`` and the other prefixes of the EPCIS
    context need not be given), the SBDH carries ``sender`` / ``receiver`` /
    ``instanceIdentifier``. A query document without ``creationDate`` gets the current time
    (the XSD requires one). With ``validate`` (the default) the result is checked against
    GS1's XSD before it is returned, so what is served is what a partner's validator accepts.

    An event's JSON-LD ``id`` (the EPCIS context makes it the event's ``@id``, as ``eventID``)
    is written as ``eventID`` when the event has none. A missing sender or receiver is an empty
    SBDH identifier (the SBDH requires both), which :func:`xml_to_document` reads as absent.

    Returns UTF-8 bytes with an XML declaration. Raises :class:`~o2ochain.errors.InputError`
    (``field`` is the JSON path) for what EPCIS 2.0 XML cannot carry: more than one
    ``certificationInfo``, a field an event type does not have, an extension whose prefix
    ``@context`` does not define.
    """
    writer = _Writer(doc)
    root = writer.document(doc)
    if validate:
        _validate(root, "<document_to_xml>", upgraded=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(etree.tostring(root, encoding="UTF-8", pretty_print=True))
