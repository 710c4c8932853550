"""Identifiers in EPCIS documents: EPC URNs and GS1 Digital Links of every GS1 key, mapped to
the 32-byte subject ids the contracts use (see the table in :mod:`o2ochain.epcis`)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import quote, unquote

from o2ochain import gs1
from o2ochain.epcis._vocabulary import _BAD_ESCAPE, _URI_RE, _short
from o2ochain.errors import InputError

#: ``keccak256("o2ochain.trace.asset")``: the domain of asset chain ids (TRACE_ASSET_DOMAIN in
#: contracts/Types.sol).
TRACE_ASSET_DOMAIN: Final = bytes.fromhex("59a647154a900f8c9bd535b9965b9d718c223b42a52cd509dca906e984cc1c25")
SubjectKind = Literal["item", "lot", "class", "container", "location", "other-gs1"]

_KIND_NAMES: Final[dict[str, str]] = {
    "item": "an item (SGTIN)",
    "lot": "a lot (LGTIN)",
    "class": "a product class (GTIN)",
    "container": "a container (SSCC)",
    "location": "a location",
    "other-gs1": "another GS1 key",
}


@dataclass(frozen=True, slots=True)
class Subject:
    """A GS1-keyed thing an event is about, or a location, with the id the contracts use.

    ``id`` is ``keccak256(dl_path)``; ``dl_path`` is the canonical GS1 Digital Link path with
    values unescaped (``/01/09506000134352/21/ABC``), the same whether the document wrote an EPC
    URN or a Digital Link, so both spellings name one subject on chain. Compare subjects by
    ``id``: ``uri`` keeps the spelling the document used.

    ``gtin`` is set for GTIN-based keys (item, lot, class, ITIP, UPUI); ``code`` is the part
    that makes the key an instance or a lot: the serial, the lot, the SSCC of a container, the
    GLN extension of a location (``None`` when the extension is ``0``), an asset's serial.
    ``elements`` are the (AI, value) pairs of the path, primary key first. ``instance`` is
    false for class-level identifiers (a GTIN, a lot, a GRAI without serial, ...), which EPCIS
    allows only in quantity lists.

    A location may also be named by a URI that is no GS1 key (CBV 2.0 section 8.4: a ``geo:``
    URI of RFC 5870, or a private or industry URI such as ``urn:example:loc:7`` or
    ``https://example.com/locations/cold-store-1``): then ``elements`` is empty, ``dl_path`` is
    ``""`` and ``id`` is ``keccak256`` of the URI exactly as written (see :func:`parse_location`).
    Such a URI starts with its scheme, a GS1 path with ``/``: the two never hash the same text.
    """

    kind: SubjectKind
    id: bytes
    gtin: str | None
    code: str | None
    uri: str
    dl_path: str
    elements: tuple[tuple[str, str], ...]
    instance: bool

    @property
    def is_gs1(self) -> bool:
        """Is the subject a GS1 key (false only for a location named by a non-GS1 URI)?"""
        return bool(self.elements)

    @property
    def ai(self) -> str:
        """The GS1 Application Identifier of the primary key (``01``, ``00``, ``414``, ``8003`` …)."""
        return self._primary()[0]

    def _primary(self) -> tuple[str, str]:
        if not self.elements:
            raise InputError(f"{_short(self.uri)} is a location URI, not a GS1 key: it has no Application Identifier", value=self.uri)
        return self.elements[0]

    @property
    def chain_subject(self) -> bytes:
        """The id of this subject's own chain in the TraceLedger: ``id`` for an item, lot, product
        class or container (the ledger recomputes them from their binding); for an asset, a
        document or a location (binding kind 5) ``keccak256(abi.encode(TRACE_ASSET_DOMAIN, id))``,
        an id space of its own, so that no brand can start such a chain on another brand's goods.
        ``id`` stays what events name (read points, business locations, children)."""
        if self.kind in ("location", "other-gs1"):
            return gs1.keccak256(TRACE_ASSET_DOMAIN + self.id)
        return self.id

    @property
    def key(self) -> str:
        """The value of the primary key (a GTIN-14, an SSCC-18, a GLN-13 …)."""
        return self._primary()[1]

    @property
    def id_hex(self) -> str:
        """The id as ``0x`` + 64 hex digits."""
        return "0x" + self.id.hex()

    def digital_link(self, resolver: str = gs1.DEFAULT_RESOLVER) -> str:
        """Render the subject as a GS1 Digital Link under ``resolver`` (values percent-encoded).

        A location named by a non-GS1 URI has no Digital Link: an InputError says so.
        """
        self._primary()
        base = gs1.check_resolver(resolver)
        return base + "".join(f"/{ai}/{quote(value, safe='')}" for ai, value in self.elements)


def _subject(
    kind: SubjectKind,
    uri: str,
    elements: tuple[tuple[str, str], ...],
    *,
    gtin: str | None = None,
    code: str | None = None,
    instance: bool = True,
    path: str | None = None,
) -> Subject:
    """The Subject of a GS1 key: ``elements`` (AI, value), primary key first; ``path``, when the
    caller has it, is their Digital Link path (``/01/…/21/…``)."""
    if path is None:
        path = "".join([f"/{ai}/{value}" for ai, value in elements])
    # Positional: a frozen dataclass sets each keyword argument by name, a third slower, and
    # 100,000 events make 150,000 subjects.
    return Subject(kind, gs1.keccak256(path.encode("utf-8")), gtin, code, uri, path, elements, instance)


_DIGITS_RE: Final = re.compile(r"[0-9]+")
_CP_RE: Final = re.compile(r"[0-9]{6,12}")
_CPID_CHARS: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ#-/")
_EPC_URN: Final = re.compile(r"urn:epc:(id|class|idpat):([A-Za-z0-9]+):(.*)", re.IGNORECASE | re.DOTALL)
_NON_GS1_EPC: Final = frozenset({"gid", "usdod", "adi", "bic", "imovn"})


def _decode_escapes(text: str, what: str) -> str:
    """Decode ``%xx`` escapes (EPC URN and Digital Link values); a stray ``%`` is an error."""
    if "%" not in text:
        return text
    if _BAD_ESCAPE.search(text):
        raise InputError(f"{what} has a '%' that is not followed by two hex digits", value=text)
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise InputError(f"{what} has %-escapes that are not UTF-8", value=text) from None


def _x_chars(value: str, what: str, max_length: int) -> str:
    """Check a GS1 alphanumeric value: 1..max_length characters of GS1 character set 82."""
    if not value:
        raise InputError(f"{what} is empty", value=value)
    bad = next((c for c in value if c not in gs1.GS1_CHARSET_82), None)
    if bad is not None:
        raise InputError(f"{what} has {bad!r}, which is not in GS1 character set 82", value=value)
    if len(value) > max_length:
        raise InputError(f"{what} is {len(value)} characters, at most {max_length} allowed", value=value)
    return value


def _n_chars(value: str, what: str, length: int | None = None, max_length: int | None = None) -> str:
    """Check a GS1 numeric value: exactly ``length`` digits, or 1..``max_length`` digits."""
    if _DIGITS_RE.fullmatch(value) is None:
        raise InputError(f"{what} must be digits, got {_short(value)}", value=value)
    if length is not None and len(value) != length:
        raise InputError(f"{what} must be {length} digits, got {len(value)}", value=value)
    if max_length is not None and len(value) > max_length:
        raise InputError(f"{what} must be at most {max_length} digits, got {len(value)}", value=value)
    return value


def _with_check_digit(body: str) -> str:
    return body + str(gs1.gtin_check_digit(body))


def _check_key(value: str, what: str, length: int) -> str:
    """Check a numeric GS1 key whose last digit is a mod-10 check digit (SSCC, GLN, GSRN …)."""
    _n_chars(value, what, length)
    expected = gs1.gtin_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise InputError(f"{what} check digit should be {expected}, got {value[-1]}", value=value)
    return value


def _epc_fields(body: str, count: int, scheme: str) -> list[str]:
    """Split an EPC URN body at dots into ``count`` fields; the last may itself contain dots."""
    fields = body.split(".", count - 1)
    if len(fields) != count:
        raise InputError(f"an EPC {scheme} URN has {count} dot-separated fields after 'urn:epc:…:{scheme}:'", value=body)
    return fields


def _company_prefix(cp: str, rest: str, total: int, scheme: str) -> None:
    """Check a GS1 Company Prefix (6..12 digits) and that it and ``rest`` are ``total`` digits together."""
    if _CP_RE.fullmatch(cp) is None:
        raise InputError(f"the GS1 Company Prefix of an EPC {scheme} must be 6 to 12 digits, got {_short(cp)}", value=cp)
    if (rest and _DIGITS_RE.fullmatch(rest) is None) or len(cp) + len(rest) != total:
        raise InputError(
            f"in an EPC {scheme}, the company prefix and the reference after it must be {total} digits together, got {_short(cp + '.' + rest)}",
            value=rest,
        )


def _gtin_from_epc(cp: str, item_ref: str, scheme: str) -> str:
    """Rebuild a GTIN-14 from an EPC's company prefix and item reference (indicator digit first)."""
    _company_prefix(cp, item_ref, 13, scheme)
    return _with_check_digit(item_ref[0] + cp + item_ref[1:])


def _parse_epc_urn(uri: str, match: re.Match[str]) -> Subject:
    """Map an EPC pure-identity, class or pattern URN (EPC Tag Data Standard 2.x) to a Subject."""
    family, scheme, body = match.group(1).lower(), match.group(2).lower(), match.group(3)
    if family == "id":
        if scheme == "sgtin":
            cp, ir, serial = _epc_fields(body, 3, scheme)
            gtin = _gtin_from_epc(cp, ir, scheme)
            serial = gs1.validate_serial(_decode_escapes(serial, "serial"))
            return _subject("item", uri, (("01", gtin), ("21", serial)), gtin=gtin, code=serial)
        if scheme == "sscc":
            cp, sr = _epc_fields(body, 2, scheme)
            _company_prefix(cp, sr, 17, scheme)
            sscc = _with_check_digit(sr[0] + cp + sr[1:])
            return _subject("container", uri, (("00", sscc),), code=sscc)
        if scheme == "sgln":
            cp, lr, ext = _epc_fields(body, 3, scheme)
            _company_prefix(cp, lr, 12, scheme)
            gln = _with_check_digit(cp + lr)
            ext = _x_chars(_decode_escapes(ext, "GLN extension"), "GLN extension", 20)
            if ext == "0":
                return _subject("location", uri, (("414", gln),))
            return _subject("location", uri, (("414", gln), ("254", ext)), code=ext)
        if scheme == "grai":
            cp, asset_type, serial = _epc_fields(body, 3, scheme)
            _company_prefix(cp, asset_type, 12, scheme)
            serial = _x_chars(_decode_escapes(serial, "GRAI serial"), "GRAI serial", 16)
            return _subject("other-gs1", uri, (("8003", _with_check_digit("0" + cp + asset_type) + serial),), code=serial)
        if scheme == "giai":
            cp, asset_ref = _epc_fields(body, 2, scheme)
            _company_prefix(cp, "", len(cp), scheme)
            giai = _x_chars(cp + _decode_escapes(asset_ref, "GIAI asset reference"), "GIAI", 30)
            return _subject("other-gs1", uri, (("8004", giai),))
        if scheme in ("gsrn", "gsrnp"):
            cp, ref = _epc_fields(body, 2, scheme)
            _company_prefix(cp, ref, 17, scheme)
            return _subject("other-gs1", uri, (("8018" if scheme == "gsrn" else "8017", _with_check_digit(cp + ref)),))
        if scheme == "gdti":
            cp, doc_type, serial = _epc_fields(body, 3, scheme)
            _company_prefix(cp, doc_type, 12, scheme)
            serial = _x_chars(_decode_escapes(serial, "GDTI serial"), "GDTI serial", 17)
            return _subject("other-gs1", uri, (("253", _with_check_digit(cp + doc_type) + serial),), code=serial)
        if scheme == "sgcn":
            cp, coupon_ref, serial = _epc_fields(body, 3, scheme)
            _company_prefix(cp, coupon_ref, 12, scheme)
            _n_chars(serial, "SGCN serial", max_length=12)
            return _subject("other-gs1", uri, (("255", _with_check_digit(cp + coupon_ref) + serial),), code=serial)
        if scheme == "cpi":
            cp, part_ref, serial = _epc_fields(body, 3, scheme)
            _company_prefix(cp, "", len(cp), scheme)
            cpid = cp + _decode_escapes(part_ref, "CPI part reference")
            if not part_ref or len(cpid) > 30 or any(c not in _CPID_CHARS for c in cpid):
                raise InputError(
                    "a CPI part reference is digits, capitals, '#', '-' and '/', at most 30 characters with the prefix", value=body
                )
            _n_chars(serial, "CPI serial", max_length=12)
            return _subject("other-gs1", uri, (("8010", cpid), ("8011", serial)), code=serial)
        if scheme == "pgln":
            cp, party_ref = _epc_fields(body, 2, scheme)
            _company_prefix(cp, party_ref, 12, scheme)
            return _subject("other-gs1", uri, (("417", _with_check_digit(cp + party_ref)),))
        if scheme == "ginc":
            cp, ref = _epc_fields(body, 2, scheme)
            _company_prefix(cp, "", len(cp), scheme)
            return _subject("other-gs1", uri, (("401", _x_chars(cp + _decode_escapes(ref, "GINC reference"), "GINC", 30)),))
        if scheme == "gsin":
            cp, ref = _epc_fields(body, 2, scheme)
            _company_prefix(cp, ref, 16, scheme)
            return _subject("other-gs1", uri, (("402", _with_check_digit(cp + ref)),))
        if scheme == "itip":
            cp, ir, piece, total, serial = _epc_fields(body, 5, scheme)
            gtin = _gtin_from_epc(cp, ir, scheme)
            _n_chars(piece, "ITIP piece number", 2)
            _n_chars(total, "ITIP total count", 2)
            serial = gs1.validate_serial(_decode_escapes(serial, "serial"))
            return _subject("other-gs1", uri, (("8006", gtin + piece + total), ("21", serial)), gtin=gtin, code=serial)
        if scheme == "upui":
            cp, ir, tpx = _epc_fields(body, 3, scheme)
            gtin = _gtin_from_epc(cp, ir, scheme)
            tpx = _x_chars(_decode_escapes(tpx, "UPUI third-party serial"), "UPUI third-party serial", 28)
            return _subject("other-gs1", uri, (("01", gtin), ("235", tpx)), gtin=gtin, code=tpx)
    elif family == "class" and scheme == "lgtin":
        cp, ir, lot = _epc_fields(body, 3, scheme)
        gtin = _gtin_from_epc(cp, ir, scheme)
        lot = gs1.validate_lot(_decode_escapes(lot, "lot"))
        return _subject("lot", uri, (("01", gtin), ("10", lot)), gtin=gtin, code=lot, instance=False)
    elif family == "idpat":
        return _parse_epc_pattern(uri, scheme, body)
    if scheme in _NON_GS1_EPC:
        raise InputError(f"EPC scheme {scheme!r} has no GS1 key (no Digital Link form) and is not supported", value=uri)
    raise InputError(f"unknown identifier scheme: 'urn:epc:{family}:{scheme}' is not an EPC scheme o2ochain can map", value=uri)


def _parse_epc_pattern(uri: str, scheme: str, body: str) -> Subject:
    """Map an EPC pattern URN that names a whole class (``urn:epc:idpat:sgtin:CP.IR.*``).

    Wider patterns (``CP.*.*``: everything of a company) name no one class and are refused.
    """
    if "*" in body.rsplit(".", 1)[0] or not body.endswith(".*"):
        raise InputError(
            "only EPC patterns that name one class are supported (urn:epc:idpat:sgtin:CP.IR.* and the GRAI, GDTI, SGCN, CPI, ITIP equivalents)",
            value=uri,
        )
    if scheme == "sgtin":
        cp, ir, star = _epc_fields(body, 3, scheme)
        if star == "*":
            gtin = _gtin_from_epc(cp, ir, scheme)
            return _subject("class", uri, (("01", gtin),), gtin=gtin, instance=False)
    elif scheme in ("grai", "gdti", "sgcn"):
        cp, ref, star = _epc_fields(body, 3, scheme)
        if star == "*":
            _company_prefix(cp, ref, 12, scheme)
            key = _with_check_digit(("0" if scheme == "grai" else "") + cp + ref)
            ai = {"grai": "8003", "gdti": "253", "sgcn": "255"}[scheme]
            return _subject("other-gs1", uri, ((ai, key),), instance=False)
    elif scheme == "cpi":
        cp, part_ref, star = _epc_fields(body, 3, scheme)
        if star == "*" and part_ref != "*":
            return _subject("other-gs1", uri, (("8010", cp + _decode_escapes(part_ref, "CPI part reference")),), instance=False)
    elif scheme == "itip":
        cp, ir, piece, total, star = _epc_fields(body, 5, scheme)
        if star == "*":
            gtin = _gtin_from_epc(cp, ir, scheme)
            _n_chars(piece, "ITIP piece number", 2)
            _n_chars(total, "ITIP total count", 2)
            return _subject("other-gs1", uri, (("8006", gtin + piece + total),), gtin=gtin, instance=False)
    raise InputError(
        "only EPC patterns that name one class are supported (urn:epc:idpat:sgtin:CP.IR.* and the GRAI, GDTI, SGCN, CPI, ITIP equivalents)",
        value=uri,
    )


# Digital Link primary keys other than the GTIN, with the key qualifiers each may carry.
_DL_PRIMARY: Final[dict[str, tuple[str, ...]]] = {
    "00": (),
    "414": ("254",),
    "417": (),
    "8003": (),
    "8004": (),
    "8006": ("10", "21"),
    "8010": ("8011",),
    "8013": (),
    "8017": (),
    "8018": (),
    "253": (),
    "255": (),
    "401": (),
    "402": (),
}
_GTIN_KEYS: Final = frozenset({"01", "gtin"})


def _dl_candidates(uri: str) -> tuple[list[str], list[int]] | None:
    """Split an http(s) URI's path and find where a GS1 primary key could start; ``None`` if not DL-shaped."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    rest = rest.split("#", 1)[0].split("?", 1)[0]
    _authority, slash, path = rest.partition("/")
    if not slash:
        return None
    segments = path.split("/")
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()
    candidates = [
        i
        for i, segment in enumerate(segments)
        if (segment in _DL_PRIMARY or segment.lower() in _GTIN_KEYS) and (len(segments) - i) % 2 == 0
    ]
    return (segments, candidates) if candidates else None


def _parse_dl_gtin(uri: str, segments: list[str]) -> Subject:
    """Map a Digital Link on a GTIN (items, lots, classes) with :func:`gs1.parse_digital_link`.

    Going through gs1 keeps one reading of a Digital Link across o2ochain: the QR code a
    shopper scans and the EPCIS event that mentions it name the same item. The one EPC form
    gs1 does not read, ``/01/{gtin}/235/{tpx}`` (UPUI), is handled here.
    """
    if len(segments) == 4 and segments[2] == "235":
        gtin = gs1.normalize_gtin(_decode_escapes(segments[1], "GTIN"))
        tpx = _x_chars(_decode_escapes(segments[3], "UPUI third-party serial"), "UPUI third-party serial", 28)
        return _subject("other-gs1", uri, (("01", gtin), ("235", tpx)), gtin=gtin, code=tpx)
    link = gs1.parse_digital_link(uri)
    if link.serial is not None:
        return _subject("item", uri, (("01", link.gtin), ("21", link.serial)), gtin=link.gtin, code=link.serial)
    if link.lot is not None:
        return _subject("lot", uri, (("01", link.gtin), ("10", link.lot)), gtin=link.gtin, code=link.lot, instance=False)
    return _subject("class", uri, (("01", link.gtin),), gtin=link.gtin, instance=False)


def _parse_dl_key(uri: str, pairs: list[tuple[str, str]]) -> Subject:
    """Map a Digital Link on a GS1 key other than the GTIN (``pairs`` = decoded (AI, value), primary first)."""
    ai, value = pairs[0]
    qualifiers = dict(pairs[1:])
    if ai == "00":
        sscc = _check_key(value, "SSCC", 18)
        return _subject("container", uri, (("00", sscc),), code=sscc)
    if ai == "414":
        gln = _check_key(value, "GLN", 13)
        ext = qualifiers.get("254")
        if ext is None or ext == "0":
            return _subject("location", uri, (("414", gln),))
        return _subject("location", uri, (("414", gln), ("254", _x_chars(ext, "GLN extension", 20))), code=ext)
    if ai == "417":
        return _subject("other-gs1", uri, (("417", _check_key(value, "party GLN", 13)),))
    if ai == "8003":
        if len(value) < 14 or value[0] != "0":
            raise InputError("a GRAI (AI 8003) starts with 0 and 13 digits ending in a check digit", value=value)
        _check_key(value[:14], "GRAI", 14)
        serial = value[14:]
        if serial:
            _x_chars(serial, "GRAI serial", 16)
        return _subject("other-gs1", uri, (("8003", value),), code=serial or None, instance=bool(serial))
    if ai in ("8004", "401"):
        return _subject("other-gs1", uri, ((ai, _x_chars(value, "GIAI" if ai == "8004" else "GINC", 30)),))
    if ai in ("8017", "8018"):
        return _subject("other-gs1", uri, ((ai, _check_key(value, "GSRN", 18)),))
    if ai == "253":
        _check_key(value[:13], "GDTI", 13)
        serial = value[13:]
        if serial:
            _x_chars(serial, "GDTI serial", 17)
        return _subject("other-gs1", uri, (("253", value),), code=serial or None, instance=bool(serial))
    if ai == "255":
        _check_key(value[:13], "GCN", 13)
        serial = value[13:]
        if serial:
            _n_chars(serial, "GCN serial", max_length=12)
        return _subject("other-gs1", uri, (("255", value),), code=serial or None, instance=bool(serial))
    if ai == "402":
        return _subject("other-gs1", uri, (("402", _check_key(value, "GSIN", 17)),))
    if ai == "8006":
        _n_chars(value, "ITIP", 18)
        gtin = gs1.normalize_gtin(value[:14], field="itip")
        piece_serial = qualifiers.get("21")
        if piece_serial is None:
            return _subject("other-gs1", uri, (("8006", value),), gtin=gtin, instance=False)
        gs1.validate_serial(piece_serial)
        return _subject("other-gs1", uri, (("8006", value), ("21", piece_serial)), gtin=gtin, code=piece_serial)
    if ai == "8010":
        if len(value) > 30 or any(c not in _CPID_CHARS for c in value):
            raise InputError("a CPID (AI 8010) is digits, capitals, '#', '-' and '/', at most 30 characters", value=value)
        cpi_serial = qualifiers.get("8011")
        if cpi_serial is None:
            return _subject("other-gs1", uri, (("8010", value),), instance=False)
        _n_chars(cpi_serial, "CPI serial", max_length=12)
        return _subject("other-gs1", uri, (("8010", value), ("8011", cpi_serial)), code=cpi_serial)
    if ai == "8013":
        return _subject("other-gs1", uri, (("8013", _x_chars(value, "GMN", 25)),), instance=False)
    raise AssertionError(ai)  # pragma: no cover - _DL_PRIMARY and this function list the same keys


def _parse_digital_link(uri: str, segments: list[str], candidates: list[int]) -> Subject:
    """Map a GS1 Digital Link URI; try each place a primary key could start, first success wins."""
    first_error: InputError | None = None
    for start in candidates:
        tail = segments[start:]
        try:
            if tail[0].lower() in _GTIN_KEYS:
                return _parse_dl_gtin(uri, tail)
            allowed = _DL_PRIMARY[tail[0]]
            pairs = [(tail[k], _decode_escapes(tail[k + 1], f"AI {tail[k]}")) for k in range(0, len(tail), 2)]
            seen: set[str] = set()
            for ai, value in pairs[1:]:
                if ai not in allowed or ai in seen:
                    raise InputError(f"AI {ai} cannot follow AI {tail[0]} in a Digital Link path", value=uri)
                if not value:
                    raise InputError(f"AI {ai} has an empty value", value=uri)
                seen.add(ai)
            if not pairs[0][1]:
                raise InputError(f"AI {tail[0]} has an empty value", value=uri)
            return _parse_dl_key(uri, pairs)
        except InputError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise InputError(f"not a valid GS1 Digital Link: {first_error.message}", value=uri) from None


_COMMON_X20: Final = "[!\"&'()*+,\\-./0-9:;<=>?A-Z_a-z]{1,20}"
_COMMON_EPC: Final = re.compile(
    rf"urn:epc:(?:id:(?P<item>sgtin)|class:(?P<lot>lgtin)):(?P<cp>[0-9]{{6,12}})\.(?P<ref>[0-9]{{1,7}})\.(?P<code>{_COMMON_X20})"
    rf"|urn:epc:id:sscc:(?P<sscc_cp>[0-9]{{6,12}})\.(?P<sscc_ref>[0-9]{{5,11}})"
    rf"|urn:epc:id:sgln:(?P<gln_cp>[0-9]{{6,12}})\.(?P<gln_ref>[0-9]{{0,6}})\.(?P<ext>{_COMMON_X20})"
)
"""The four EPC URNs most events name, spelt so that :func:`_parse_epc_urn` surely accepts them when the
company prefix and the reference have the right number of digits together: lower-case scheme, and a
serial, lot or extension of GS1 character set 82 without ``%`` (no escapes to decode)."""


def _mod10(body: str) -> str:
    """:func:`gs1.gtin_check_digit` of a string of ASCII digits, as a digit, summed in C."""
    odd, even = body[::-2].encode("ascii"), body[-2::-2].encode("ascii")
    total = 3 * (sum(odd) - 48 * len(odd)) + sum(even) - 48 * len(even)
    return "0123456789"[-total % 10]


def _common_epc(uri: str) -> Subject | None:
    """:func:`_parse_epc_urn` of an SGTIN, LGTIN, SSCC or SGLN URN that certainly is valid (see
    :data:`_COMMON_EPC`), several times faster; ``None`` for anything else, which takes the long way.

    The Subject is the very one the long way makes: same key with its check digit, same path.
    """
    match = _COMMON_EPC.fullmatch(uri)
    if match is None:
        return None
    item, _lot, cp, ref, code, sscc_cp, sscc_ref, gln_cp, gln_ref, ext = match.groups()
    if cp is not None:
        if len(cp) + len(ref) != 13:
            return None
        body = ref[0] + cp + ref[1:]
        gtin = body + _mod10(body)
        if item is not None:
            return _subject("item", uri, (("01", gtin), ("21", code)), gtin=gtin, code=code, path=f"/01/{gtin}/21/{code}")
        return _subject("lot", uri, (("01", gtin), ("10", code)), gtin=gtin, code=code, instance=False, path=f"/01/{gtin}/10/{code}")
    if sscc_cp is not None:
        if len(sscc_cp) + len(sscc_ref) != 17:
            return None
        body = sscc_ref[0] + sscc_cp + sscc_ref[1:]
        sscc = body + _mod10(body)
        return _subject("container", uri, (("00", sscc),), code=sscc, path=f"/00/{sscc}")
    if len(gln_cp) + len(gln_ref) != 12:
        return None
    gln = gln_cp + gln_ref + _mod10(gln_cp + gln_ref)
    if ext == "0":
        return _subject("location", uri, (("414", gln),), path=f"/414/{gln}")
    return _subject("location", uri, (("414", gln), ("254", ext)), code=ext, path=f"/414/{gln}/254/{ext}")


@functools.lru_cache(maxsize=65536)
def parse_identifier(uri: str) -> Subject:
    """Map an EPC URN or a GS1 Digital Link URI to a :class:`Subject`, or raise InputError.

    See the module docstring for the schemes. Results are cached: a document of 10,000 events
    usually names the same locations and lots over and over. The URNs most events name (items,
    lots, containers, places) go through :func:`_common_epc` first.
    """
    if not isinstance(uri, str):
        raise InputError(f"an identifier must be a string, got {type(uri).__name__}", value=uri)
    common = _common_epc(uri)
    if common is not None:
        return common
    match = _EPC_URN.fullmatch(uri)
    if match is not None:
        return _parse_epc_urn(uri, match)
    found = _dl_candidates(uri)
    if found is not None:
        return _parse_digital_link(uri, *found)
    raise InputError(
        f"unknown identifier scheme: {_short(uri)} is neither an EPC URN (urn:epc:…) nor a GS1 Digital Link (https://…/01/…)",
        value=uri,
    )


_GEO_URI: Final = re.compile(
    r"geo:(?P<lat>-?[0-9]+(?:\.[0-9]+)?),(?P<lon>-?[0-9]+(?:\.[0-9]+)?)(?:,-?[0-9]+(?:\.[0-9]+)?)?"
    r"(?P<params>(?:;[A-Za-z0-9-]+(?:=(?:[A-Za-z0-9\-_.!~*'()\[\]:&+$]|%[0-9A-Fa-f]{2})+)?)*)",
    re.IGNORECASE,
)
_LOCATION_WORDS: Final = (
    "a location must be an SGLN (urn:epc:id:sgln:…), a Digital Link on a GLN (…/414/…), a geo: URI or another absolute URI (CBV 2.0, 8.4)"
)


def _is_gs1_link(uri: str) -> bool:
    """Does an http(s) URI claim to be a GS1 Digital Link (and so must be a valid one)?

    Yes on GS1's own resolver (``id.gs1.org``), and where a primary-key AI segment is followed
    by a value starting with a digit (every GS1 key starts with digits: a GTIN, a GLN, a company
    prefix): ``https://example.com/sites/01/dock`` is a private URI, ``…/414/952…`` a GLN.
    """
    found = _dl_candidates(uri)
    if found is None:
        return False
    segments, candidates = found
    host = uri.partition("://")[2].split("/", 1)[0].rsplit("@", 1)[-1].lower()
    return host in ("id.gs1.org", "id.gs1.org:443") or any(segments[i + 1][:1].isdigit() for i in candidates)


def _check_geo(uri: str) -> None:
    """Check a ``geo:`` URI against RFC 5870: ``geo:lat,lon[,alt][;crs=…][;u=…][;…]``, WGS-84
    coordinates in range unless another ``crs`` is named."""
    match = _GEO_URI.fullmatch(uri)
    if match is None:
        raise InputError(f"{_short(uri)} is not a geo: URI of RFC 5870 (geo:latitude,longitude[,altitude][;u=uncertainty]…)", value=uri)
    params = match.group("params").lower()
    if "crs=" in params and "crs=wgs84" not in params:
        return
    if not -90 <= float(match.group("lat")) <= 90 or not -180 <= float(match.group("lon")) <= 180:
        raise InputError(f"{_short(uri)}: a WGS-84 latitude is within ±90 and a longitude within ±180", value=uri)


@functools.lru_cache(maxsize=65536)
def parse_location(uri: str) -> Subject:
    """Map a ``readPoint`` / ``bizLocation`` id to a location :class:`Subject`, or raise InputError.

    CBV 2.0 (section 8.4) names locations by SGLN URNs, Digital Links on a GLN, geographic
    location URIs (``geo:``, RFC 5870) and private or industry URIs. A GS1 spelling (any
    ``urn:epc:`` URN, a Digital Link: see :func:`_is_gs1_link`) must be a valid GLN: a wrong
    check digit is refused as a wrong check digit, never taken for a private URI. Any other
    absolute URI (RFC 3986 ``scheme:…``) names a location whose id is ``keccak256`` of its text
    as written: two spellings (``GEO:`` and ``geo:``, a trailing ``/``) are two locations, so
    partners must agree on one spelling, as they must on the URI itself. ``geo:`` URIs are
    checked against RFC 5870.
    """
    if not isinstance(uri, str):
        raise InputError(f"a location id must be a string, got {type(uri).__name__}", value=uri)
    if _EPC_URN.fullmatch(uri) is not None or uri[:8].lower() == "urn:epc:" or _is_gs1_link(uri):
        found = parse_identifier(uri)
        if found.kind != "location":
            raise InputError(f"{_LOCATION_WORDS}, got {_KIND_NAMES[found.kind]}", value=uri)
        return found
    if _URI_RE.fullmatch(uri) is None or _BAD_ESCAPE.search(uri) is not None or uri.endswith(":"):
        raise InputError(f"{_LOCATION_WORDS}; {_short(uri)} is not an absolute URI", value=uri)
    if uri[:4].lower() == "geo:":
        _check_geo(uri)
    return Subject(
        kind="location",
        id=gs1.keccak256(uri.encode("utf-8")),
        gtin=None,
        code=None,
        uri=uri,
        dl_path="",
        elements=(),
        instance=True,
    )


def _location(value: str) -> Subject:
    """A location from a GLN (13 digits) or anything :func:`parse_location` reads."""
    text = value.strip()
    if _DIGITS_RE.fullmatch(text):
        gln = _check_key(text, "GLN", 13)
        return _subject("location", f"{gs1.DEFAULT_RESOLVER}/414/{gln}", (("414", gln),))
    return parse_location(text)


def location_id(value: str) -> bytes:
    """The 32-byte id of a location named by a GLN (13 digits), an SGLN URN, a ``/414/`` Digital
    Link, a ``geo:`` URI or another absolute URI (see :func:`parse_location`).

    The same id an event's ``readPoint`` or ``bizLocation`` maps to, so an actor's registered
    location and the places of its events can be compared on chain.
    """
    return _location(value).id
