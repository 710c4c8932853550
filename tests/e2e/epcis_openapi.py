"""GS1's EPCIS 2.0 REST binding (``rest/openapi.yaml`` of GS1's material, see ``tests/gs1_epcis.py``) made loadable offline.

The binding points its schemas at GS1's web site (``JSON-Schema-Stub.json#/definitions/…``) and
its examples at example documents there; tests run without the internet. :func:`load_openapi`
returns the binding as a dict whose remote references point into GS1's own JSON Schemas (the
unmodified ones the package ships), bundled under ``components/schemas`` (so nothing is fetched,
and what validates a response is GS1's schema as GS1 wrote it), and whose remote
``example: {$ref: …}`` entries are dropped. The files themselves are never edited.

:func:`epcis_validator` is GS1's JSON Schema as a full draft-07 validator: the OpenAPI 3.0 layer
validates with draft 4, which ignores the ``if``/``then`` and ``propertyNames`` rules the EPCIS
schema relies on, so query documents are also checked against the schema as GS1 wrote it.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

import yaml
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests import gs1_epcis

OPENAPI = gs1_epcis.OPENAPI
JSON_SCHEMAS = gs1_epcis.SCHEMA

# Where the binding's stub names each definition: the file of GS1's JSON Schema that defines it.
STUB = "https://gs1.github.io/EPCIS/REST%20Bindings/JSON-Schema-Stub.json"
_GS1 = "https://gs1.github.io/EPCIS/JSON-Schema/"
STUB_DEFINITIONS = {
    "epcisDocument": f"{_GS1}EPCIS-Document-JSON-Schema.json#/definitions/epcisDocument",
    "epcisQueryDocument": f"{_GS1}EPCIS-Document-JSON-Schema.json#/definitions/epcisQueryDocument",
    "EPCIS-Document-Event": f"{_GS1}EPCIS-Event-JSON-Schema.json#/definitions/EPCIS-Document-Event",
    "ObjectEvent": f"{_GS1}schemas/ObjectEvent-JSON-Schema.json#/definitions/ObjectEvent",
    "AggregationEvent": f"{_GS1}schemas/AggregationEvent-JSON-Schema.json#/definitions/AggregationEvent",
    "TransactionEvent": f"{_GS1}schemas/TransactionEvent-JSON-Schema.json#/definitions/TransactionEvent",
    "TransformationEvent": f"{_GS1}schemas/TransformationEvent-JSON-Schema.json#/definitions/TransformationEvent",
    "AssociationEvent": f"{_GS1}schemas/AssociationEvent-JSON-Schema.json#/definitions/AssociationEvent",
    "Extended-Event": f"{_GS1}schemas/event-definitions-JSON-Schema.json#/definitions/Extended-Event",
    "bizStep": f"{_GS1}schemas/bizStep-JSON-Schema.json#/definitions/bizStep",
    "disposition": f"{_GS1}schemas/disposition-JSON-Schema.json#/definitions/disposition",
    "error-reason": f"{_GS1}schemas/error-reason-JSON-Schema.json#/definitions/error-reason",
    "measurementType": f"{_GS1}schemas/measurement-type-JSON-Schema.json#/definitions/measurementType",
}
QUERY_DOCUMENT = STUB_DEFINITIONS["epcisQueryDocument"]


@functools.cache
def _json_schemas() -> dict[str, dict[str, Any]]:
    """GS1's JSON Schema files by their ``$id``."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(JSON_SCHEMAS.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        found[document["$id"]] = document
    return found


def _component_name(uri: str) -> str:
    """``…/schemas/ObjectEvent-JSON-Schema.json#/definitions/ObjectEvent`` → ``gs1.ObjectEvent-JSON-Schema.ObjectEvent``
    (OpenAPI allows only ``[A-Za-z0-9._-]`` in component names: ``@context`` becomes ``_context``)."""
    document, fragment = urldefrag(uri)
    prefix = "/definitions/"
    if not fragment.startswith(prefix) or document not in _json_schemas():
        raise AssertionError(f"GS1's schema has no definition at {uri}")
    stem = document.rsplit("/", 1)[-1].removesuffix(".json")
    return f"gs1.{stem}.{re.sub(r'[^A-Za-z0-9._-]', '_', unquote(fragment[len(prefix) :]))}"


def _local(node: Any, base: str) -> Any:
    """``node`` (part of GS1's JSON Schema at ``base``) with every ``$ref`` into a component."""
    if isinstance(node, list):
        return [_local(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = f"#/components/schemas/{_component_name(urljoin(base, value))}"
        elif key in {"properties", "patternProperties", "definitions"} and isinstance(value, dict):
            out[key] = {name: _local(sub, base) for name, sub in value.items()}
        else:
            out[key] = _local(value, base)
    return out


def _bundled_components() -> dict[str, Any]:
    """Every definition of GS1's JSON Schemas as an OpenAPI component, references rewired."""
    components: dict[str, Any] = {}
    for uri, document in _json_schemas().items():
        for name, definition in document.get("definitions", {}).items():
            components[_component_name(f"{uri}#/definitions/{name}")] = _local(definition, uri)
    return components


def _rewire_binding(node: Any) -> Any:
    """The binding with stub references pointed at the bundled components and remote examples dropped."""
    if isinstance(node, list):
        return [_rewire_binding(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "example" and isinstance(value, dict) and set(value) == {"$ref"}:
            continue  # an example document on GS1's web site: not fetched, not needed
        if key == "$ref" and isinstance(value, str) and value.startswith(STUB + "#/definitions/"):
            out[key] = f"#/components/schemas/{_component_name(STUB_DEFINITIONS[value.rsplit('/', 1)[-1]])}"
        elif key == "$ref" and isinstance(value, str) and not value.startswith("#/"):
            raise AssertionError(f"the binding refers to {value}, which load_openapi does not map to a local file")
        else:
            out[key] = _rewire_binding(value)
    return out


@functools.cache
def _patched() -> dict[str, Any]:
    binding = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    spec: dict[str, Any] = _rewire_binding(binding)
    spec["components"]["schemas"].update(_bundled_components())
    return spec


def load_openapi() -> dict[str, Any]:
    """GS1's EPCIS 2.0 REST binding as a dict with no reference leaving it (a fresh copy each call)."""
    return copy.deepcopy(_patched())


@functools.cache
def epcis_validator(definition_uri: str = QUERY_DOCUMENT) -> Any:
    """A draft-07 validator (formats asserted) of GS1's JSON Schema definition at ``definition_uri``."""
    registry: Registry[Any] = Registry().with_resources(
        (uri, Resource.from_contents(document, default_specification=DRAFT7)) for uri, document in _json_schemas().items()
    )
    return Draft7Validator({"$ref": definition_uri}, registry=registry, format_checker=FormatChecker())
