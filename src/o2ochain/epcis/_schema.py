"""Validation against GS1's EPCIS 2.0 JSON Schemas, shipped in ``schema/`` and never fetched."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import orjson

# jsonschema, referencing and jsonschema-rs are imported on the first validation (see
# :func:`_jsonschema`): a command that reads a history (most of what a till or a shopper runs)
# imports this package but validates nothing, and they are half of the package's import time.
from o2ochain.epcis._vocabulary import EVENT_TYPES, _is_uri, _parse_time, _short
from o2ochain.errors import InputError

_JSONLD_ALIASES: Final = frozenset({"id"})
_SCHEMA_ROOT_ID: Final = "https://gs1.github.io/EPCIS/JSON-Schema/EPCIS-JSON-Schema.json"
_SCHEMA_EVENT_REF: Final = "https://gs1.github.io/EPCIS/JSON-Schema/EPCIS-Event-JSON-Schema.json#/definitions/EPCIS-Document-Event"
_MEMO_LIMIT: Final = 1 << 16
_memo: dict[tuple[int, int, str], bool] = {}


def _is_date_time(instance: object) -> bool:
    return not isinstance(instance, str) or _parse_time(instance) is not None


def _is_uri_format(instance: object) -> bool:
    return not isinstance(instance, str) or _is_uri(instance)


@dataclass(frozen=True)
class _JsonSchema:
    """What validating with jsonschema needs, made once by :func:`_jsonschema`.

    ``formats``: only the two formats EPCIS depends on are asserted, each with our own checker:
    ``date-time`` (RFC 3339 with a time zone) and ``uri`` (lenient, see :func:`_is_uri`).
    jsonschema's own would depend on optional packages being installed, so the same document
    could pass on one machine and fail on another. ``validator``: Draft 7 with :func:`_any_of`
    and :func:`_property_names`; ``any_of``: Draft 7's own ``anyOf``, which :func:`_any_of` wraps.
    """

    formats: Any
    validator: Any
    any_of: Callable[..., Iterator[Any]]


@functools.cache
def _jsonschema() -> _JsonSchema:
    """jsonschema, imported and set up at the first validation (see :class:`_JsonSchema`)."""
    from jsonschema import Draft7Validator, FormatChecker, validators  # type: ignore[import-untyped]

    formats = FormatChecker(formats=())
    formats.checks("date-time")(_is_date_time)
    formats.checks("uri")(_is_uri_format)
    validator = validators.extend(Draft7Validator, {"anyOf": _any_of, "propertyNames": _property_names})
    return _JsonSchema(formats, validator, Draft7Validator.VALIDATORS["anyOf"])


def _remember(key: tuple[int, int, str]) -> None:
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
    _memo[key] = True


def _any_of(validator: Any, any_of: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """``anyOf``, remembering which strings passed which subschema.

    Most ``anyOf`` in the EPCIS schemas test a string (a CBV value or a URI, a field name or an
    extension URI); the same few strings come back in every event, and remembering them makes
    validating 10,000 events more than twice as fast. Only successes are remembered: a failure is
    re-validated so that its error carries a fresh path.
    """
    if not isinstance(instance, str):
        yield from _jsonschema().any_of(validator, any_of, instance, schema)
        return
    key = (id(validator.format_checker), id(any_of), instance)
    if key in _memo:
        return
    errors = list(_jsonschema().any_of(validator, any_of, instance, schema))
    if errors:
        yield from errors
    else:
        _remember(key)


def _property_names(validator: Any, property_names: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """``propertyNames``, remembered like :func:`_any_of`, with two allowances.

    With the ``uri`` format asserted, a field name must be an EPCIS field or a URI, which
    catches misspelt fields (``bizstep``). Two kinds of name GS1's examples use, and GS1's own
    validation (which does not assert formats) lets through, are accepted all the same: ``id``,
    which the EPCIS JSON-LD context aliases to ``@id``, and a standard event field on an event
    type that does not define it (``persistentDisposition`` on an AggregationEvent); the latter
    is kept in the event, not interpreted, and reported in :attr:`EpcisDocument.notes`.
    """
    if not isinstance(instance, dict):
        return
    for name in instance:
        if name in _JSONLD_ALIASES:
            continue
        key = (id(validator.format_checker), id(property_names), name)
        if key in _memo:
            continue
        if name in _schemas().all_fields:
            continue
        errors = list(validator.descend(instance=name, schema=property_names))
        if errors:
            yield from errors
        else:
            _remember(key)


def _load_schemas() -> list[dict[str, Any]]:
    """Read the GS1 schemas shipped in ``o2ochain/epcis/schema`` (root and ``schemas/``)."""
    folder = resources.files("o2ochain.epcis").joinpath("schema")
    found: list[dict[str, Any]] = []
    for directory in (folder, folder.joinpath("schemas")):
        for entry in sorted(directory.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".json"):
                found.append(json.loads(entry.read_text(encoding="utf-8")))
    return found


def _inline(node: Any, resolver: Any, stop: int, memo: dict[int, Any], stack: tuple[int, ...]) -> Any:
    """Replace every ``$ref`` by the schema it points to, resolved with ``referencing``.

    jsonschema resolves a ``$ref`` anew at every use, which is half of its time on EPCIS
    events; the GS1 schemas are not recursive, so resolving them once gives an equivalent
    schema without references (draft-07 ignores a ``$ref``'s siblings, so replacing the object
    is exact). The subschema whose contents are ``stop`` (the per-event schema) becomes ``{}``
    so that the envelope of a document is validated without its events, which are validated
    one by one, each error prefixed with its event's path.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            resolved = resolver.lookup(ref)
            target = resolved.contents
            if id(target) == stop:
                return {}
            if id(target) in stack:
                raise AssertionError(f"recursive $ref {ref}")  # pragma: no cover - GS1's schemas are not recursive
            if id(target) not in memo:
                memo[id(target)] = _inline(target, resolved.resolver, stop, memo, (*stack, id(target)))
            return memo[id(target)]
        return {
            k: (v if k in ("enum", "const") else _inline(v, resolver, stop, memo, stack))
            for k, v in node.items()
            if k not in ("$id", "$schema")
        }
    if isinstance(node, list):
        return [_inline(v, resolver, stop, memo, stack) for v in node]
    return node


def _enum_strings(node: Any) -> Iterator[str]:
    """Every string of every ``enum`` under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            else:
                yield from _enum_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enum_strings(value)


@dataclass(frozen=True)
class _Schemas:
    """The GS1 schemas made ready to use (built once by :func:`_schemas`).

    ``envelope`` validates a document without its events; ``event`` validates one event of any
    type, ``by_type`` one event of a standard type (the same subschema GS1's ``if`` chain picks,
    chosen by ``type`` directly, which saves a third of the time per event). ``fields`` are the field
    names each event type defines, ``all_fields`` their union. ``fast`` are the compiled gates of
    :func:`_passes_fast`, by event type.
    """

    envelope: Any
    event: Any
    by_type: Mapping[str, Any]
    fields: Mapping[str, frozenset[str]]
    all_fields: frozenset[str]
    fast: Mapping[str, Any]


@functools.cache
def _schemas() -> _Schemas:
    """Load and prepare the shipped GS1 schemas (see :class:`_Schemas`)."""
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    validator, formats = _jsonschema().validator, _jsonschema().formats
    schemas = _load_schemas()
    registry: Registry[Any] = Registry().with_resources((schema["$id"], DRAFT7.create_resource(schema)) for schema in schemas)
    resolver = registry.resolver()
    root = resolver.lookup(_SCHEMA_ROOT_ID)
    event = resolver.lookup(_SCHEMA_EVENT_REF)
    memo: dict[int, Any] = {}
    event_schema = _inline(event.contents, event.resolver, stop=-1, memo=memo, stack=())
    envelope_schema = _inline(root.contents, root.resolver, stop=id(event.contents), memo={}, stack=())
    empty: Registry[Any] = Registry()
    fields: dict[str, frozenset[str]] = {}
    by_type: dict[str, Any] = {}
    for name in EVENT_TYPES:
        found = root.resolver.lookup(f"schemas/{name}-JSON-Schema.json#/definitions/{name}")
        inlined = _inline(found.contents, found.resolver, stop=-1, memo=memo, stack=())
        by_type[name] = validator(inlined, format_checker=formats, registry=empty)
        names = {
            v
            for part in inlined["allOf"]
            if isinstance(part, dict) and "propertyNames" in part
            for v in _enum_strings(part["propertyNames"])
        }
        fields[name] = frozenset(names)
    all_fields: frozenset[str] = frozenset().union(*fields.values())
    allowed = sorted(all_fields | _JSONLD_ALIASES)
    return _Schemas(
        envelope=validator(envelope_schema, format_checker=formats, registry=empty),
        event=validator(event_schema, format_checker=formats, registry=empty),
        by_type=by_type,
        fields=fields,
        all_fields=all_fields,
        fast={event_type: _fast_validator(validator.schema, allowed) for event_type, validator in by_type.items()},
    )


# --------------------------------------------------------------------------------------------
# The fast gate: most events of a large document are valid, and jsonschema-rs proves it many times faster


_DATE_TIME_PATTERN: Final = (
    r"^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-"
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""Date-times that :func:`_parse_time` certainly accepts: February 29th and leap seconds are left
to it (the gate fails, and the event is validated the slow way)."""

_URI_UNSAFE: Final = "\\x00-\\x20\\x7f-\\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Characters :func:`_is_uri` refuses as white space or controls, and a few more (C1 controls)."""

_URI_PATTERN: Final = r'^(?:_:(?s:.)+|[A-Za-z][A-Za-z0-9+.\-]*:(?:[^%<>"{}|\\^`' + _URI_UNSAFE + r"]|%[0-9A-Fa-f]{2})*)$"
"""URIs that :func:`_is_uri` certainly accepts (a superset of what it refuses is excluded)."""

_FORMAT_PATTERNS: Final = {"date-time": _DATE_TIME_PATTERN, "uri": _URI_PATTERN}

_SAFE_INTEGER: Final = 2**53 - 1

_CANONICALISABLE: Final = {
    "type": ["string", "boolean", "null", "number", "array", "object"],
    "minimum": -_SAFE_INTEGER,
    "maximum": _SAFE_INTEGER,
    "items": {"$ref": "#/definitions/canonicalisable"},
    "additionalProperties": {"$ref": "#/definitions/canonicalisable"},
}
"""Every value inside is JSON that RFC 8785 can canonicalise: no NaN or infinity, and no number
beyond ±(2**53 - 1) (stricter than RFC 8785, which allows large floats: those take the slow way)."""


def _fast_schema(node: Any, names: list[str]) -> Any:
    """The prepared schema of an event type rewritten for jsonschema-rs, as strict as ours or stricter.

    ``propertyNames`` also allows ``names`` (the leniency of :func:`_property_names`), and the two
    formats become patterns (:data:`_FORMAT_PATTERNS`), so no call goes back into Python. The
    patterns GS1 uses keep their meaning, or become stricter: Rust's ``$`` does not match before a
    final newline as Python's does.
    """
    if isinstance(node, list):
        return [_fast_schema(v, names) for v in node]
    if not isinstance(node, dict):
        return node
    rewritten: dict[str, Any] = {}
    extra: list[Any] = []
    for key, value in node.items():
        if key in ("enum", "const"):
            rewritten[key] = value
        elif key == "propertyNames":
            rewritten[key] = {"anyOf": [{"enum": names}, _fast_schema(value, names)]}
        elif key == "format":
            extra.append({"pattern": _FORMAT_PATTERNS[value]})
        else:
            rewritten[key] = _fast_schema(value, names)
    return {"allOf": [rewritten, *extra]} if extra else rewritten


def _fast_validator(schema: Any, names: list[str]) -> Any:
    """A jsonschema-rs validator for one event type, with the :data:`_CANONICALISABLE` guard."""
    import jsonschema_rs

    gate = {
        "allOf": [_fast_schema(schema, names), {"$ref": "#/definitions/canonicalisable"}],
        "definitions": {"canonicalisable": _CANONICALISABLE},
    }
    return jsonschema_rs.Draft7Validator(gate, validate_formats=False)


def _passes_fast(event: Any) -> bool:
    """Is ``event`` certainly free of schema errors, and canonicalisable (RFC 8785)?

    A yes is exact: jsonschema-rs validated it against a schema at least as strict as ours. A no
    proves nothing (a stricter pattern, a value jsonschema-rs cannot read): the caller then
    validates the event the slow way, which finds the real errors, if any, and words them.
    The event must hold only what JSON parsing gives (see :func:`_plain_json`).
    """
    if not isinstance(event, dict):
        return False
    event_type = event.get("type")
    validator = _schemas().fast.get(event_type) if isinstance(event_type, str) else None
    if validator is None:
        return False
    try:
        return bool(validator.is_valid(event))
    except (ValueError, TypeError, OverflowError, RecursionError):
        # A string with a lone surrogate, a type jsonschema-rs does not read …: the slow way says.
        return False


def _plain_json(values: list[Any]) -> list[bool]:
    """Which of ``values`` hold nothing but what JSON parsing gives, at most 250 levels deep.

    The gate must not see a tuple (an array to jsonschema-rs, not to jsonschema), an enum, a
    UUID or a dataclass, which jsonschema-rs may read as JSON but jsonschema and RFC 8785 refuse;
    nor a string with a lone surrogate. An orjson round trip that gives back an equal value
    proves the contrary; checking the whole list at once is the common, fast case.
    """
    try:
        if orjson.loads(orjson.dumps(values)) == values:
            return [True] * len(values)
    except (orjson.JSONEncodeError, orjson.JSONDecodeError):
        pass
    plain: list[bool] = []
    for value in values:
        try:
            plain.append(orjson.loads(orjson.dumps(value)) == value)
        except (orjson.JSONEncodeError, orjson.JSONDecodeError):
            plain.append(False)
    return plain


def _child(path: str, key: str | int) -> str:
    """Extend a JSONPath: ``$.a`` + ``b`` → ``$.a.b``; + ``1`` → ``$.a[1]``; + ``@x`` → ``$.a['@x']``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{escaped}']"


def _path_of(base: str, parts: Sequence[str | int]) -> str:
    path = base
    for part in parts:
        path = _child(path, part)
    return path


_JSON_TYPES: Final[dict[type, str]] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def _leaves(error: Any) -> Iterator[Any]:
    if error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


def _describe(error: Any, base: str) -> tuple[str, str]:
    """Turn a jsonschema error into (JSON path, short message for a person)."""
    path = _path_of(base, list(error.absolute_path))
    kind = error.validator
    instance = error.instance
    if "propertyNames" in error.schema_path:
        return _child(path, str(instance)), (
            f"unknown property {_short(instance)}: not an EPCIS field here, and an extension field must be a URI or a prefixed name such as example:myField"
        )
    if kind == "required":
        found = re.match(r"^'(.*)' is a required property$", error.message)
        name = found.group(1) if found else str(error.validator_value)
        return _child(path, name), "required property is missing"
    if kind == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return path, f"must be of type {expected_text}, got {_JSON_TYPES.get(type(instance), type(instance).__name__)}"
    if kind == "enum":
        options = [str(v) for v in error.validator_value]
        shown = ", ".join(options[:8]) + (", …" if len(options) > 8 else "")
        return path, f"{_short(instance)} is not one of {shown}"
    if kind == "format":
        if error.validator_value == "date-time":
            return path, f"{_short(instance)} is not an RFC 3339 date-time with a time zone (e.g. 2024-05-01T09:30:00.000+02:00)"
        return path, f"{_short(instance)} is not a {error.validator_value}"
    if kind == "pattern":
        if path.endswith(".eventTimeZoneOffset"):
            return path, f"{_short(instance)} is not a time zone offset ±hh:mm between -14:00 and +14:00"
        return path, f"{_short(instance)} does not match the pattern {error.validator_value}"
    if kind == "not":
        return path, "is not allowed here" + (" (ilmd is only allowed when action is ADD)" if path.endswith(".ilmd") else "")
    if kind in ("minItems", "maxItems", "uniqueItems", "additionalProperties", "minimum", "maximum"):
        return path, error.message if len(error.message) <= 200 else f"{kind} constraint failed"
    if kind in ("anyOf", "oneOf") and error.context:
        leaves = list(_leaves(error))
        if isinstance(instance, str) and any(leaf.validator == "enum" for leaf in leaves):
            enum = next(leaf.validator_value for leaf in leaves if leaf.validator == "enum")
            return path, f"{_short(instance)} is neither a CBV 2.0 value ({', '.join(map(str, enum[:4]))}, …) nor a URI"
        if all(leaf.validator == "required" for leaf in leaves):
            names = list(dict.fromkeys(re.sub(r"^'(.*)' is a required property$", r"\1", leaf.message) for leaf in leaves))
            return path, "needs one of: " + ", ".join(names)
        from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

        return _describe(best_match(error.context), base)
    message = error.message
    return path, message if len(message) <= 200 else message[:199] + "…"


def _schema_errors(validator: Any, instance: Any, base: str, source: str) -> list[InputError]:
    """Validate ``instance`` and describe each error once, at its JSON path under ``base``.

    An ``anyOf`` that failed only because of a value already reported on its own (an action
    ``MOVE`` fails both the action enum and the "ilmd only with ADD" alternatives) is not
    reported a second time: one fault, one message.
    """
    described: list[tuple[str, str, frozenset[str], Any]] = []
    for error in validator.iter_errors(instance):
        path, message = _describe(error, base)
        leaves = frozenset(_path_of(base, list(leaf.absolute_path)) for leaf in _leaves(error)) if error.context else frozenset()
        described.append((path, message, leaves, error.instance))
    primary = {path for path, _, leaves, _ in described if not leaves}
    found: dict[tuple[str, str], InputError] = {}
    for path, message, leaves, value in described:
        if leaves and (path in primary or leaves & primary):
            continue
        shown = value if isinstance(value, str | int | float | bool) or value is None else None
        found.setdefault((path, message), InputError(message, file=source, field=path, value=shown))
    return list(found.values())


def _path_key(path: str) -> list[tuple[int, int | str]]:
    """Sort key that puts ``[10]`` after ``[9]``."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[\[\]]", path) if part]
