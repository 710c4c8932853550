"""Canonical JSON (RFC 8785), content hashes, and the content-addressed event store."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import rfc8785

from o2ochain import gs1
from o2ochain._chain.util import write_atomic, write_many_checked
from o2ochain.errors import InputError

# --------------------------------------------------------------------------------------------
# Canonical JSON and content hashes


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 (JSON Canonicalization Scheme) encoding of ``value``.

    The same JSON value always gives the same bytes whatever its key order, white space or
    number spelling (``1.0`` and ``1``), so its hash can be recomputed from any copy. Values
    RFC 8785 cannot represent (integers beyond ±2**53, NaN, unpaired surrogates) are refused.
    """
    try:
        return rfc8785.dumps(value)
    except rfc8785.IntegerDomainError as exc:
        raise InputError(f"cannot canonicalise (RFC 8785): {exc}; integers must be within ±2**53 (I-JSON)") from None
    except rfc8785.FloatDomainError:
        raise InputError("cannot canonicalise (RFC 8785): a number is infinite or NaN, which JSON cannot carry") from None
    except (rfc8785.CanonicalizationError, UnicodeError, TypeError, ValueError) as exc:
        raise InputError(f"cannot canonicalise (RFC 8785): {exc}") from None
    except RecursionError:
        raise InputError("JSON value nested too deeply") from None


def content_hash(event_json: Any) -> bytes:
    """Return ``keccak256`` of the RFC 8785 canonical JSON of an event: its on-chain content hash."""
    return gs1.keccak256(canonical_json(event_json))


# --------------------------------------------------------------------------------------------
# Content-addressed store


def _check_hash(digest: bytes) -> bytes:
    raw = bytes(digest)
    if len(raw) != 32:
        raise InputError(f"an event hash is 32 bytes, got {len(raw)}", value="0x" + raw.hex())
    return raw


class EventStore:
    """Full EPCIS events on disk, each under the hash the chain anchors.

    ``<root>/<first two hex digits>/<64 hex digits>.json`` holds the event's RFC 8785
    canonical JSON, so the file's content hashes to its name: a copy can be checked with
    nothing but the file, and :meth:`verify` detects any edit. Writes are atomic (a temporary
    file renamed into place) and idempotent, so an import that died halfway is simply re-run.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_of(self, digest: bytes) -> Path:
        """The file an event with this hash is (or would be) stored in."""
        hex_digest = _check_hash(digest).hex()
        return self.root / hex_digest[:2] / f"{hex_digest}.json"

    def put(self, event_json: Mapping[str, Any]) -> bytes:
        """Store an event and return its content hash; storing it again changes nothing.

        A file already present but not matching its name (damaged or tampered) is replaced.
        """
        data = canonical_json(event_json)
        digest = gs1.keccak256(data)
        target = self.path_of(digest)
        if target.exists() and self.verify(digest):
            return digest
        write_atomic(target, data)
        return digest

    def put_many(self, events: Sequence[Mapping[str, Any]], *, progress: Callable[[int], None] | None = None) -> list[bytes]:
        """:meth:`put` each of ``events`` (in order), returning their hashes; told ``progress(n)``
        as they are prepared. The new files are written together, then made durable with one disk
        sync (:func:`~o2ochain._chain.util.write_many_checked`: a file a crash left short does not
        match its name, so the next run writes it again)."""
        hashes: list[bytes] = []
        new: dict[bytes, tuple[Path, bytes]] = {}
        for n, event in enumerate(events, 1):
            data = canonical_json(event)
            digest = gs1.keccak256(data)
            hashes.append(digest)
            target = self.path_of(digest)
            if digest not in new and not (target.exists() and self.verify(digest)):
                new[digest] = (target, data)
            if progress is not None:
                progress(n)
        write_many_checked(list(new.values()))
        return hashes

    def get(self, digest: bytes) -> dict[str, Any] | None:
        """The stored event, or ``None`` if there is none (unchecked: see :meth:`verify`)."""
        target = self.path_of(digest)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            return None
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError("the stored event is not valid JSON (damaged or tampered)", file=str(target)) from None
        if not isinstance(value, dict):
            raise InputError("the stored event is not a JSON object (damaged or tampered)", file=str(target))
        return value

    def has(self, digest: bytes) -> bool:
        """Is an event with this hash stored (whether or not intact)?"""
        return self.path_of(digest).is_file()

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, bytes | bytearray) and len(digest) == 32 and self.has(bytes(digest))

    def verify(self, digest: bytes) -> bool:
        """Does the stored event still hash to ``digest``? False if missing, unreadable or changed.

        The stored JSON is re-canonicalised before hashing, so re-indenting the file is not
        taken for tampering; changing any value is.
        """
        try:
            value = json.loads(self.path_of(digest).read_bytes().decode("utf-8"), parse_constant=_refuse_constant)
            return content_hash(value) == bytes(digest)
        except (OSError, UnicodeDecodeError, ValueError, InputError, RecursionError):
            return False

    def hashes(self) -> Iterator[bytes]:
        """Every stored hash (in no particular order)."""
        for file in self.root.glob("??/*.json"):
            name = file.stem
            if len(name) == 64 and re.fullmatch(r"[0-9a-f]{64}", name):
                yield bytes.fromhex(name)


class _NonFinite(ValueError):
    """JSON has no NaN or Infinity; Python's json module would accept them."""


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)
