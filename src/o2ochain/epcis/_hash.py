"""The CBV 2.0 EPCIS Event Hash ID: one name for one event, whatever syntax carried it.

An EPCIS event may come without an ``eventID``, as JSON-LD from one partner and as XML from
another, with its lists in any order, its times in any zone and its identifiers as EPC URNs or
as Digital Links. GS1's Core Business Vocabulary 2.0 ("EPCIS Event Hash ID") fixes a
*pre-hash string* that all of these spellings share, and names the event
``ni:///sha-256;<hex of SHA-256 of that string>?ver=CBV2.0`` (RFC 6920). A repository gives
that name to events sent without an id, and two captures of one event meet under it.

The pre-hash string, as built here (the CBV 2.0 rules, checked against GS1's reference
implementation, the ``epcis-event-hash-generator``; tests/fixtures/epcis/hash says which
versions and vectors):

1. ``eventType=<type>``, then every standard field present, in the canonical property order
   (:data:`_ORDER`): ``eventTime``, ``eventTimeZoneOffset``, ``epcList``, ``parentID``,
   ``inputEPCList``, ``childEPCs``, the quantity lists, ``outputEPCList``, ``action``,
   ``transformationID``, ``bizStep``, ``disposition``, ``persistentDisposition``,
   ``readPoint``, ``bizLocation``, the business transaction, source and destination lists,
   the sensor elements. A value is written ``key=value``; a structure is its key followed by
   its parts (``readPointid=…``, ``quantityListquantityElementepcClass=…quantity=…uom=…``);
   nothing is written for an absent or empty field and nothing separates the pieces. In CBV
   2.0 the ``sensorElementList`` key itself is left out (each ``sensorElement`` is written).
2. Several values of one field (the EPCs of a list, the elements of a quantity list, sensor
   elements, the reports of one element, ``set``/``unset``) are sorted by their strings
   (code point order). A business transaction, source or destination is written type first,
   ``type=<type>bizTransaction=<id>``, and sorted as such.
3. ``eventID``, ``recordTime``, ``errorDeclaration`` and ``certificationInfo`` are left out:
   they are not what happened, and a corrective event must be able to name its original.
4. Then ``ilmd`` and its content, then the user extensions found inside standard fields
   (``readPoint``, ``bizLocation``, sensor elements, their metadata and reports), each behind
   the names of the standard fields that hold it (``sensorElementsensorReport{ns}x=…``), then
   the event's own user extensions. Extensions and ILMD are written ``{namespace}name=value``
   (a structure: its name and then its parts), sorted at every level; one with neither a
   value nor parts is left out, as XML writes ``<ex:a/>`` where JSON leaves ``ex:a`` out.
5. Values: white space around them is dropped; times (``eventTime``, ``time``,
   ``startTime``, ``endTime``) become UTC with milliseconds (``…T13:00:00.000Z``, a fourth
   fraction digit of 5-9 rounding up); numbers lose trailing zeros and a lone ``.0``
   (``200.0`` → ``200``); CBV URNs become Web URIs (``urn:epcglobal:cbv:bizstep:shipping`` →
   ``https://ref.gs1.org/cbv/BizStep-shipping``); JSON-LD's bare CBV words become the same
   URIs (``shipping``, ``in_transit``, ``po``, ``owning_party``, measurement types such as
   ``Temperature`` → ``https://gs1.org/voc/Temperature``); CURIEs of the GS1 vocabularies
   (``gs1:``, ``cbv:``, ``epcis:``) are expanded; EPC URNs and Digital Links become the
   constrained canonical Digital Link: ``https://id.gs1.org``, no query string, only the
   finest key (a serial drops the lot, the CPV goes), GTINs of 14 digits.

Extension names need their namespaces: a JSON-LD event's prefixes come from the document's
``@context`` (pass it as ``context``), an XML event's from ElementTree, which writes every
qualified name as ``{namespace}local`` already.

Where GS1's reference implementation and the CBV 2.0 text part ways, the text wins: ``gs1:``
and JSON-LD's bare measurement types expand to ``https://gs1.org/voc/`` (CBV 2.0, the EPCIS
2.0 JSON-LD context, OpenEPCIS), whatever namespace an XML document binds ``gs1`` to; the
reference implementation's later versions write ``https://ref.gs1.org/voc/`` (an EPCIS 2.1
change). That is the one difference in the vectors of tests/fixtures/epcis/hash.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, NamedTuple
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from o2ochain import gs1
from o2ochain.epcis._identifiers import parse_identifier
from o2ochain.epcis._vocabulary import BIZ_STEPS, DISPOSITIONS
from o2ochain.errors import InputError

# --------------------------------------------------------------------------------------------
# The neutral tree both syntaxes are read into


class _Node(NamedTuple):
    """One field: its name (``{namespace}local`` for an extension), its text, its parts.

    XML attributes and JSON keys become parts alike, so ``<bizTransaction type="po">X``
    and ``{"type": "po", "bizTransaction": "X"}`` read the same.
    """

    name: str
    text: str
    children: list[_Node]


class _Structure:
    """A standard structure: its fields in the canonical order, each a value (``None``) or a
    structure of its own. ``type_first``: the structure is a business transaction, source or
    destination, written ``type=…`` before its id."""

    __slots__ = ("fields", "type_first")

    def __init__(self, *fields: tuple[str, _Structure | None], type_first: bool = False) -> None:
        self.fields: Final = {name: (position, sub) for position, (name, sub) in enumerate(fields)}
        self.type_first: Final = type_first


def _values(*names: str) -> _Structure:
    return _Structure(*((name, None) for name in names))


_EPCS: Final = _values("epc")
_QUANTITIES: Final = _Structure(("quantityElement", _values("epcClass", "quantity", "uom")))
_TYPED: Final = _Structure(("type", None), type_first=True)
_SENSOR_ELEMENT: Final = _Structure(
    (
        "sensorMetadata",
        _values("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules"),
    ),
    (
        "sensorReport",
        _values(
            "type",
            "exception",
            "deviceID",
            "deviceMetadata",
            "rawData",
            "dataProcessingMethod",
            "time",
            "microorganism",
            "chemicalSubstance",
            "value",
            "component",
            "stringValue",
            "booleanValue",
            "hexBinaryValue",
            "uriValue",
            "minValue",
            "maxValue",
            "meanValue",
            "sDev",
            "percRank",
            "percValue",
            "uom",
            "coordinateReferenceSystem",
        ),
    ),
)
#: CBV 2.0's canonical property order.
_ORDER: Final = _Structure(
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("epcList", _EPCS),
    ("parentID", None),
    ("inputEPCList", _EPCS),
    ("childEPCs", _EPCS),
    ("quantityList", _QUANTITIES),
    ("childQuantityList", _QUANTITIES),
    ("inputQuantityList", _QUANTITIES),
    ("outputEPCList", _EPCS),
    ("outputQuantityList", _QUANTITIES),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", _values("set", "unset")),
    ("readPoint", _values("id")),
    ("bizLocation", _values("id")),
    ("bizTransactionList", _Structure(("bizTransaction", _TYPED))),
    ("sourceList", _Structure(("source", _TYPED))),
    ("destinationList", _Structure(("destination", _TYPED))),
    ("sensorElementList", _Structure(("sensorElement", _SENSOR_ELEMENT))),
)
_TIMES: Final = frozenset({"eventTime", "time", "startTime", "endTime"})
#: Event fields outside the hash: identity and bookkeeping, not what happened.
_LEFT_OUT: Final = frozenset({"eventID", "recordTime", "errorDeclaration", "certificationInfo"})
#: Event fields that are not its own user extensions, besides those of :data:`_ORDER`.
_OUTSIDE: Final = _LEFT_OUT | {"ilmd"}


def _display(name: str) -> str:
    """CBV 2.0 writes the sensor elements without the name of their list."""
    return "" if name == "sensorElementList" else name


# --------------------------------------------------------------------------------------------
# Values


_CBV_URNS: Final = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
)
_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TIME: Final = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?(Z|z|[+-][0-9]{2}:[0-9]{2})?")
_UTC_ZONES: Final = frozenset({None, "Z", "z", "+00:00", "-00:00"})


@functools.cache
def _zone(zone: str) -> timedelta:
    sign = 1 if zone[0] == "+" else -1
    return sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))


@functools.lru_cache(maxsize=1 << 16)
def _time(text: str) -> str:
    """An xsd:dateTime in UTC at millisecond precision; a text that is not one stays as it is.

    A time without a zone is read as UTC (EPCIS requires a zone; reading it as the machine's
    local time would give the same event different names on different machines).
    """
    match = _TIME.fullmatch(text)
    if match is None:
        return text
    seconds, fraction, zone = match.groups()
    fraction = fraction or ""
    millis = int(fraction[:3].ljust(3, "0")) + (1 if len(fraction) > 3 and fraction[3] >= "5" else 0)
    try:
        moment = datetime.fromisoformat(seconds)
        if zone in _UTC_ZONES and millis < 1000:
            return f"{seconds}.{millis:03d}Z"
        if zone not in _UTC_ZONES:
            moment -= _zone(zone)
        if millis == 1000:
            moment += timedelta(seconds=1)
            millis = 0
    except (ValueError, OverflowError):
        return text
    return f"{moment.isoformat()}.{millis:03d}Z"


def _number(text: str) -> str:
    """A decimal number without trailing zeros (``200.0`` → ``200``, ``0.50`` → ``0.5``)."""
    if _NUMBER.fullmatch(text) is None:
        return text
    number = Decimal(text)
    integral = number.to_integral_value()
    if number == integral:
        return str(integral)
    return format(number.normalize(), "f")


@functools.lru_cache(maxsize=1 << 16)
def _value(text: str) -> str:
    """A value in its canonical form: CBV URN → Web URI, number, GS1 identifier → Digital Link."""
    for urn, web in _CBV_URNS:
        if text.startswith(urn):
            text = web + text[len(urn) :]
            break
    text = _number(text)
    link = _digital_link(text)
    return text if link is None else link


# --------------------------------------------------------------------------------------------
# GS1 identifiers as constrained canonical Digital Links

_ID_GS1: Final = "https://id.gs1.org"
#: Characters a canonical Digital Link writes percent-encoded (GS1 Digital Link 1.2, table 7-1).
_ESCAPED: Final = frozenset('!"#%&()*+,/:<>?')
_CHARSET_82: Final = frozenset(gs1.GS1_CHARSET_82)
_SHORT_NAMES: Final = {
    "gtin": "01",
    "itip": "8006",
    "cpid": "8010",
    "gln": "414",
    "party": "417",
    "gsrnp": "8017",
    "gsrn": "8018",
    "gcn": "255",
    "sscc": "00",
    "gdti": "253",
    "ginc": "401",
    "gsin": "402",
    "grai": "8003",
    "giai": "8004",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
}
_DIGITS: Final = re.compile(r"[0-9]+")
_CPID: Final = re.compile(r"[0-9A-Z#/-]+")
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: The keys CBV 2.0 keeps in a Digital Link (rule 18), each with the qualifiers it may keep.
_PRIMARY: Final[dict[str, tuple[str, ...]]] = {
    "00": (),
    "01": ("21", "10", "235"),
    "253": (),
    "255": (),
    "401": (),
    "402": (),
    "414": ("254",),
    "417": (),
    "8003": (),
    "8004": (),
    "8006": ("21", "10"),
    "8010": ("8011",),
    "8017": (),
    "8018": (),
}
_KEY_LENGTH: Final = {"00": 18, "402": 17, "414": 13, "417": 13, "8006": 18, "8017": 18, "8018": 18}
_MAX_LENGTH: Final = {"21": 20, "10": 20, "235": 28, "254": 20, "401": 30, "8004": 30}


_TO_ESCAPE: Final = re.compile('[!"#%&()*+,/:<>?]')


def _escape(value: str) -> str:
    if _TO_ESCAPE.search(value) is None:
        return value
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


def _render(elements: tuple[tuple[str, str], ...]) -> str:
    return _ID_GS1 + "".join(f"/{ai}/{_escape(value)}" for ai, value in elements)


def _key_ok(ai: str, value: str) -> bool:
    """The shape CBV 2.0 accepts for a key or qualifier value (check digits are not checked)."""
    if not value:
        return False
    if ai in _KEY_LENGTH:
        return len(value) == _KEY_LENGTH[ai] and _DIGITS.fullmatch(value) is not None
    if ai == "01":
        return len(value) == 14 and _DIGITS.fullmatch(value) is not None
    if ai in ("253", "255", "8003"):
        digits = 14 if ai == "8003" else 13
        rest = value[digits:]
        numeric_rest = ai == "255"
        return (
            _DIGITS.fullmatch(value[:digits]) is not None
            and len(value) >= digits
            and len(rest) <= (16 if ai == "8003" else 17 if ai == "253" else 12)
            and (not rest or not numeric_rest or _DIGITS.fullmatch(rest) is not None)
        )
    if ai == "8010":
        return len(value) <= 30 and _CPID.fullmatch(value) is not None
    if ai == "8011":
        return len(value) <= 12 and _DIGITS.fullmatch(value) is not None
    return len(value) <= _MAX_LENGTH.get(ai, 20) and all(c in _CHARSET_82 for c in value)


def _web_link(uri: str) -> str | None:
    """A Digital Link (any domain, short names, query, CPV, lot beside a serial) made canonical."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    path = rest.split("#", 1)[0].split("?", 1)[0].partition("/")[2]
    segments = [_SHORT_NAMES.get(s, s) for s in path.split("/")]
    if segments and segments[-1] == "":
        segments.pop()
    start = next((i for i, s in enumerate(segments) if s in _PRIMARY and (len(segments) - i) % 2 == 0), None)
    if start is None:
        return None
    if _BAD_ESCAPE.search(path) is not None:
        return None
    try:
        pairs = [(segments[i], unquote(segments[i + 1], errors="strict")) for i in range(start, len(segments), 2)]
    except UnicodeDecodeError:
        return None
    primary, key = pairs[0]
    if primary == "01" and _DIGITS.fullmatch(key) is not None and len(key) in (8, 12, 13):
        key = key.zfill(14)
    qualifiers = dict(pairs[1:])
    qualifiers.pop("22", None)
    if "21" in qualifiers:
        qualifiers.pop("10", None)
    if len(qualifiers) > 1 or any(ai not in _PRIMARY[primary] for ai in qualifiers):
        return None
    elements = ((primary, key), *qualifiers.items())
    if not all(_key_ok(ai, value) for ai, value in elements):
        return None
    return _render(elements)


# The EPC URNs of nearly every event (items, lots, containers, locations), read here without
# the subject ids parse_identifier computes: a large document names a new serial in every event.
_FAST_SCHEMES: Final = (
    ("urn:epc:id:sgtin:", "sgtin", 13),
    ("urn:epc:class:lgtin:", "lgtin", 13),
    ("urn:epc:id:sscc:", "sscc", 17),
    ("urn:epc:id:sgln:", "sgln", 12),
)
_URN_CODE: Final = re.compile(r"[%!'()*+,\-.0-9:;=A-Z_a-z]{1,60}")


def _urn_code(code: str) -> str | None:
    """The decoded serial, lot or GLN extension of an EPC URN, or ``None`` if it is not one."""
    if _URN_CODE.fullmatch(code) is None:
        return None
    if "%" in code:
        if _BAD_ESCAPE.search(code) is not None:
            return None
        try:
            code = unquote(code, errors="strict")
        except UnicodeDecodeError:
            return None
        if not all(c in _CHARSET_82 for c in code):
            return None
    return code if len(code) <= 20 else None


def _fast_urn(text: str) -> str | None:
    """The Digital Link of an SGTIN, LGTIN, SSCC or SGLN URN; ``None`` for anything else."""
    found = next((entry for entry in _FAST_SCHEMES if text.startswith(entry[0])), None)
    if found is None:
        return None
    prefix, scheme, digits = found
    parts = text[len(prefix) :].split(".", 1 if scheme == "sscc" else 2)
    if len(parts) != (2 if scheme == "sscc" else 3):
        return None
    company, reference = parts[0], parts[1]
    if (
        not 6 <= len(company) <= 12
        or len(company) + len(reference) != digits
        or _DIGITS.fullmatch(company) is None
        or (reference and _DIGITS.fullmatch(reference) is None)
    ):
        return None
    if scheme == "sscc":
        key = reference[0] + company + reference[1:]
        return f"{_ID_GS1}/00/{key}{gs1.gtin_check_digit(key)}"
    code = _urn_code(parts[2])
    if code is None:
        return None
    if scheme == "sgln":
        gln = company + reference
        gln += str(gs1.gtin_check_digit(gln))
        return f"{_ID_GS1}/414/{gln}" if code == "0" else f"{_ID_GS1}/414/{gln}/254/{_escape(code)}"
    gtin = reference[0] + company + reference[1:]
    return f"{_ID_GS1}/01/{gtin}{gs1.gtin_check_digit(gtin)}/{'21' if scheme == 'sgtin' else '10'}/{_escape(code)}"


@functools.lru_cache(maxsize=1 << 16)
def _digital_link(text: str) -> str | None:
    """The constrained canonical Digital Link of an EPC URN or Digital Link, or ``None``."""
    if text.startswith("urn:epc:"):
        fast = _fast_urn(text)
        if fast is not None:
            return fast
        if text.startswith("urn:epc:idpat:upui:"):  # the class of a UPUI is its GTIN
            text = "urn:epc:idpat:sgtin:" + text[len("urn:epc:idpat:upui:") :]
        try:
            return _render(parse_identifier(text).elements)
        except InputError:
            return None
    if text.startswith(("https://", "http://", "HTTPS://", "HTTP://")):
        return _web_link(text)
    return None


# --------------------------------------------------------------------------------------------
# Namespaces and CURIEs

_GS1_VOC: Final = "https://gs1.org/voc/"
_CBV: Final = "https://ref.gs1.org/cbv/"
_MDA: Final = "urn:epcglobal:cbv:mda"
_STANDARD_PREFIXES: Final = {"gs1": _GS1_VOC, "cbv": _CBV, "epcis": "https://ref.gs1.org/epcis/"}
_DEFAULT_NAMESPACES: Final = {**_STANDARD_PREFIXES, "cbvmda": _MDA}
_XSI: Final = "{http://www.w3.org/2001/XMLSchema-instance}"


def _collect(context: Any, into: dict[str, str]) -> None:
    if isinstance(context, list):
        for entry in context:
            _collect(entry, into)
    elif isinstance(context, Mapping):
        for prefix, uri in context.items():
            if isinstance(prefix, str) and isinstance(uri, str) and ":" in uri and ":" not in prefix and not prefix.startswith("@"):
                into[prefix] = uri


def _namespaces(context: Any) -> dict[str, str]:
    """Prefix → namespace from a JSON-LD ``@context`` (or a plain mapping), GS1's defaults first."""
    found = dict(_DEFAULT_NAMESPACES)
    _collect(context, found)
    return found


# The last context read: the events of one document come with one context, and reading it
# again for each of 220,000 events would cost a second. A context is read once per object.
_last_context: list[tuple[Any, Any, dict[str, str]]] = []


def _namespaces_of(context: Any, local: Any) -> dict[str, str]:
    """The namespaces of a document's context with an event's own ``@context`` added."""
    if _last_context:
        last_context, last_local, namespaces = _last_context[0]
        if last_context is context and last_local is local:
            return namespaces
    namespaces = _namespaces(context if local is None else [context, local])
    _last_context[:] = [(context, local, namespaces)]
    return namespaces


def _expand_curie(text: str) -> str:
    """A CURIE of a GS1 vocabulary in a value, expanded (``gs1:Temperature``).

    The three GS1 prefixes mean what CBV 2.0 says whatever a document binds them to: an XML
    document that declares ``xmlns:gs1="https://ref.gs1.org/voc/"`` and the JSON-LD form of
    its event (whose context says ``https://gs1.org/voc/``) must name one event. Other
    prefixes in values are left as written, as CBV 2.0 has no rule for them.
    """
    prefix, colon, rest = text.partition(":")
    if colon and rest:
        uri = _STANDARD_PREFIXES.get(prefix)
        if uri is not None:
            return uri + rest
    return text


# --------------------------------------------------------------------------------------------
# JSON-LD events

_MEASUREMENT_TYPES: Final = frozenset(
    [
        "AbsoluteHumidity",
        "AbsorbedDose",
        "AbsorbedDoseRate",
        "Acceleration",
        "Altitude",
        "AmountOfSubstance",
        "AmountOfSubstancePerUnitVolume",
        "Angle",
        "AngularAcceleration",
        "AngularMomentum",
        "AngularVelocity",
        "Area",
        "Capacitance",
        "Conductance",
        "Conductivity",
        "Count",
        "Density",
        "Dimensionless",
        "DoseEquivalent",
        "DoseEquivalentRate",
        "DynamicViscosity",
        "ElectricCharge",
        "ElectricCurrent",
        "ElectricCurrentDensity",
        "ElectricFieldStrength",
        "Energy",
        "Exposure",
        "Force",
        "Frequency",
        "Illuminance",
        "Inductance",
        "Irradiance",
        "KinematicViscosity",
        "Length",
        "LinearMomentum",
        "Luminance",
        "LuminousFlux",
        "LuminousIntensity",
        "MagneticFlux",
        "MagneticFluxDensity",
        "MagneticVectorPotential",
        "Mass",
        "MassConcentration",
        "MassFlowRate",
        "MassPerAreaTime",
        "MemoryCapacity",
        "MolalityOfSolute",
        "MolarEnergy",
        "MolarMass",
        "MolarVolume",
        "Power",
        "Pressure",
        "RadiantFlux",
        "RadiantIntensity",
        "Radioactivity",
        "RelativeHumidity",
        "Resistance",
        "Resistivity",
        "SolidAngle",
        "SpecificVolume",
        "Speed",
        "SurfaceDensity",
        "SurfaceTension",
        "Temperature",
        "Time",
        "Torque",
        "Voltage",
        "Volume",
        "VolumeFlowRate",
        "VolumeFraction",
        "VolumetricFlux",
        "Wavenumber",
    ]
)
_COMPONENTS: Final = frozenset(
    [
        "x",
        "y",
        "z",
        "axial_distance",
        "azimuth",
        "height",
        "spherical_radius",
        "polar_angle",
        "elevation_angle",
        "easting",
        "northing",
        "latitude",
        "longitude",
        "altitude",
    ]
)


class _Words(NamedTuple):
    """Bare words JSON-LD's EPCIS context maps to a vocabulary: (prefix or ``gs1`` namespace, words)."""

    base: str
    words: frozenset[str]


_BIZ_STEP_WORDS: Final = _Words(_CBV + "BizStep-", frozenset(BIZ_STEPS))
_DISPOSITION_WORDS: Final = _Words(_CBV + "Disp-", frozenset(DISPOSITIONS))
_BTT_WORDS: Final = _Words(
    _CBV + "BTT-",
    frozenset(["bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma", "testprd", "testres", "upevt"]),
)
_SDT_WORDS: Final = _Words(_CBV + "SDT-", frozenset({"owning_party", "possessing_party", "location"}))
_REPORT_WORDS: Final = {
    "type": _Words(_GS1_VOC, _MEASUREMENT_TYPES),
    "exception": _Words(_GS1_VOC, frozenset({"ALARM_CONDITION", "ERROR_CONDITION"})),
    "component": _Words(_CBV + "Comp-", _COMPONENTS),
}
_TYPED_LISTS: Final = {
    "bizTransactionList": ("bizTransaction", {"type": _BTT_WORDS}),
    "sourceList": ("source", {"type": _SDT_WORDS}),
    "destinationList": ("destination", {"type": _SDT_WORDS}),
}
_EVENT_WORDS: Final = {"bizStep": _BIZ_STEP_WORDS, "disposition": _DISPOSITION_WORDS}
_DISPOSITION_CHANGES: Final = {"set": _DISPOSITION_WORDS, "unset": _DISPOSITION_WORDS}
#: How the members of a JSON-LD event are read; any other member is a user extension.
_JSON_FIELDS: Final = {
    **dict.fromkeys(("@context", "type", "comment", "rdfs:comment", *_LEFT_OUT), "ignored"),
    **dict.fromkeys(("epcList", "inputEPCList", "outputEPCList", "childEPCs"), "epcs"),
    **dict.fromkeys(("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"), "quantities"),
    **dict.fromkeys(("readPoint", "bizLocation"), "place"),
    **dict.fromkeys(_TYPED_LISTS, "typed"),
    "sensorElementList": "sensors",
    "bizStep": "words",
    "disposition": "words",
    "persistentDisposition": "object",
    "ilmd": "object",
}


def _is_object(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


class _Reader:
    """Turns one JSON-LD event into the neutral tree, with the document's namespaces."""

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.namespaces = namespaces

    def key(self, key: str) -> str:
        """An extension's name as ElementTree writes it: ``ext1:float`` → ``{http://…/ext1/}float``."""
        prefix, colon, local = key.partition(":")
        if colon:
            uri = self.namespaces.get(prefix)
            if uri is not None and not local.startswith("//"):
                return "{" + uri + "}" + local
        return key

    def text(self, value: Any, words: _Words | None = None) -> str:
        if type(value) is str:
            text = value.strip()
        elif value is None:
            return ""
        elif value is True or value is False:
            return "true" if value else "false"
        else:
            text = str(value).strip()
        if words is not None and text in words.words:
            return words.base + text
        return _expand_curie(text) if ":" in text else text

    def nodes(self, key: str, value: Any, words: _Words | None = None) -> list[_Node]:
        """A JSON member as nodes: a list gives one node per element, an object a node with parts."""
        if type(value) is str:
            return [_Node(self.key(key), self.text(value, words), [])]
        if isinstance(value, list):
            return [node for entry in value for node in self.nodes(key, entry, words)]
        if _is_object(value):
            return [_Node(self.key(key), "", self.members(value))]
        return [_Node(self.key(key), self.text(value, words), [])]

    def members(self, obj: Mapping[str, Any], words: Mapping[str, _Words] | None = None, skip: str = "@context") -> list[_Node]:
        found: list[_Node] = []
        for key, value in obj.items():
            if key not in (skip, "@context"):
                found.extend(self.nodes(key, value, None if words is None else words.get(key)))
        return found

    def event(self, event: Mapping[str, Any]) -> list[_Node]:
        found: list[_Node] = []
        for key, value in event.items():
            kind = _JSON_FIELDS.get(key)
            if kind is None:
                found.extend(self.nodes(key, value))
            elif kind == "ignored":
                continue
            elif kind == "epcs":
                found.append(_Node(key, "", self.nodes("epc", _as_list(value))))
            elif kind == "quantities":
                found.append(_Node(key, "", [_Node("quantityElement", "", self.members(q)) for q in _as_list(value) if _is_object(q)]))
            elif kind == "place":
                found.append(_Node(key, "", self.members(value) if _is_object(value) else [_Node("id", self.text(value), [])]))
            elif kind == "typed":
                found.append(_Node(key, "", self.typed_list(key, value)))
            elif kind == "sensors":
                found.append(_Node(key, "", [self.sensor_element(e) for e in _as_list(value) if _is_object(e)]))
            elif kind == "words":
                found.append(_Node(key, self.text(value, _EVENT_WORDS[key]), []))
            elif _is_object(value):  # persistentDisposition, ilmd
                found.append(_Node(key, "", self.members(value, _DISPOSITION_CHANGES if key == "persistentDisposition" else None)))
            else:
                found.extend(self.nodes(key, value))
        return found

    def typed_list(self, key: str, value: Any) -> list[_Node]:
        item, words = _TYPED_LISTS[key]
        found: list[_Node] = []
        for entry in _as_list(value):
            if _is_object(entry):
                found.append(_Node(item, self.text(entry.get(item)), self.members(entry, words, skip=item)))
            else:
                found.append(_Node(item, self.text(entry), []))
        return found

    def sensor_element(self, element: Mapping[str, Any]) -> _Node:
        parts: list[_Node] = []
        for key, value in element.items():
            if key == "sensorReport":
                parts.extend(_Node(key, "", self.members(r, _REPORT_WORDS)) for r in _as_list(value) if _is_object(r))
            elif key == "sensorMetadata" and _is_object(value):
                parts.append(_Node(key, "", self.members(value)))
            elif key != "@context":
                parts.extend(self.nodes(key, value))
        return _Node("sensorElement", "", parts)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------------------------
# XML events


def _xml_parts(element: Element) -> list[_Node]:
    """An element's attributes and child elements as nodes; ``extension`` wrappers (EPCIS 1.x
    and the 2.0 XML schema's ``baseExtension``) are not fields and their content moves up."""
    parts = [_Node(name, _expand_curie(value.strip()), []) for name, value in element.attrib.items() if not name.startswith(_XSI)]
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):  # a comment or processing instruction kept by the parser
            continue
        if tag in ("extension", "baseExtension"):
            parts.extend(_xml_parts(child))
            continue
        text = (child.text or "").strip()
        parts.append(_Node(tag, _expand_curie(text) if ":" in text else text, _xml_parts(child)))
    return parts


# --------------------------------------------------------------------------------------------
# The pre-hash string


class _Parts(NamedTuple):
    """What one level of a standard structure contributes to the pre-hash string."""

    standard: str  # its standard fields, in the canonical order
    extensions: str  # the user extensions inside those fields, behind their names
    own: list[_Node]  # the fields its order does not know: its own user extensions


def _field(node: _Node, structure: _Structure | None) -> tuple[str, str]:
    """A standard field as (its standard string, the user extensions inside it)."""
    value = ""
    if node.text:
        value = "=" + (_time(node.text) if node.name in _TIMES else _value(node.text))
    if structure is None:
        return (node.name + value if value else ""), ""
    inner = _walk(node.children, structure)
    extensions = inner.extensions + _generic(inner.own) if inner.own else inner.extensions
    if not value and not inner.standard:
        return "", extensions
    if structure.type_first:
        return inner.standard + node.name + value, extensions
    return _display(node.name) + value + inner.standard, extensions


def _walk(nodes: list[_Node], structure: _Structure) -> _Parts:
    """One pass over a structure's fields: each standard field written and put in its place in
    the canonical order (several values of one field sorted), the rest set aside."""
    fields = structure.fields
    standard: dict[int, list[str]] = {}
    extensions: dict[int, list[str]] = {}
    own: list[_Node] = []
    for node in nodes:
        entry = fields.get(node.name)
        if entry is None:
            own.append(node)
            continue
        position, sub = entry
        text, inside = _field(node, sub)
        if text:
            if position in standard:
                standard[position].append(text)
            else:
                standard[position] = [text]
        if inside:
            extensions.setdefault(position, []).append(_display(node.name) + inside)
    return _Parts(_joined(standard) if standard else "", _joined(extensions) if extensions else "", own)


def _joined(found: dict[int, list[str]]) -> str:
    if len(found) == 1:
        (values,) = found.values()
    else:
        values = []
        for position in sorted(found):
            values.extend(sorted(found[position]))
        return "".join(values)
    if len(values) > 1:
        values.sort()
    return "".join(values)


def _generic(nodes: list[_Node]) -> str:
    """Extensions and ILMD: ``name=value`` and nested parts, sorted at every level.

    An element with neither a value nor parts is left out like an absent one: XML writes
    ``<ex:giai/>`` where JSON leaves the member out (GS1's own rail example does both).
    """
    values: list[str] = []
    for node in nodes:
        parts = _generic(node.children) if node.children else ""
        if node.text:
            values.append(node.name + "=" + _value(node.text) + parts)
        elif parts:
            values.append(node.name + parts)
    if len(values) > 1:
        values.sort()
    return "".join(values)


def _pre_hash(event_type: str, nodes: list[_Node]) -> str:
    event = _walk(nodes, _ORDER)
    ilmd = [node for node in event.own if node.name == "ilmd"]
    own = [node for node in event.own if node.name not in _OUTSIDE]
    return "eventType=" + event_type + event.standard + (_generic(ilmd) if ilmd else "") + event.extensions + (_generic(own) if own else "")


def _read(event: Mapping[str, Any] | Element, context: Any) -> tuple[str, list[_Node]]:
    if isinstance(event, Element):
        if not isinstance(event.tag, str):
            raise InputError("an XML event must be an element")
        return event.tag.rpartition("}")[2], _xml_parts(event)
    if not isinstance(event, Mapping):
        raise InputError(f"an EPCIS event must be a JSON object or an XML element, got {type(event).__name__}")
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise InputError("an EPCIS event needs its 'type' (ObjectEvent, AggregationEvent, …) to be hashed", field="type")
    return event_type, _Reader(_namespaces_of(context, event.get("@context"))).event(event)


def event_pre_hash(event: Mapping[str, Any] | Element, context: Any = None) -> str:
    """The CBV 2.0 pre-hash string of ``event`` (see :func:`event_hash`): what is hashed, for
    comparing with another implementation's when two hashes of one event differ."""
    return _pre_hash(*_read(event, context))


def event_hash(event: Mapping[str, Any] | Element, context: Any = None) -> str:
    """The CBV 2.0 EPCIS Event Hash ID of ``event``: ``ni:///sha-256;<64 hex>?ver=CBV2.0``.

    ``event`` is an EPCIS 2.0 event as a JSON object (an event of a JSON-LD document, e.g.
    :attr:`EpcisEvent.raw`) or as an XML element (an ``ObjectEvent`` … element of an EPCIS
    1.2 or 2.0 XML document, read with :mod:`xml.etree.ElementTree`). For JSON, ``context``
    is the document's ``@context`` as it stands (:attr:`EpcisDocument.context`; an event's
    own ``@context`` is added to it): it names the namespaces of extension prefixes
    (``ex:batch``). An XML element carries its namespaces itself and needs no ``context``.

    Why a caller can rely on it: one event in JSON-LD and in XML has one hash; so has one
    event with its lists or members reordered, its times in another zone, its quantities as
    ``200.0`` or ``200``, its identifiers as EPC URNs or as Digital Links on any domain. Its
    id, record time, error declaration and certification are not part of it, so a repository
    can name an event sent without an id, and find it again when it is sent twice. Raises
    :class:`~o2ochain.errors.InputError` for something that is not an event.

    The namespaces of a JSON-LD context are read once per context object, so a document's
    events share that work; a context changed in place between calls is not read again.
    """
    digest = hashlib.sha256(event_pre_hash(event, context).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"
