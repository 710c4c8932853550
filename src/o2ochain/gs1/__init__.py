"""GS1 identifiers as o2ochain uses them: GTINs, serials, lots, expiry dates, Digital Links and
the QR codes that carry them.

A product on the chain is named the way GS1 names it on the pack, so that the QR code a shopper
scans, the CSV a brand uploads and the id a contract stores all agree:

- **GTIN** (AI 01) — 8, 12, 13 or 14 digits with a mod-10 check digit; always kept in its
  14-digit form so that one product has exactly one spelling.
- **serial** (AI 21) and **lot** (AI 10) — 1 to 20 characters of GS1's "encodable character set
  82"; the contracts carry them as left-aligned ``bytes32``.
- **item id** = ``keccak256("/01/{gtin14}/21/{serial}")`` and **lot id** =
  ``keccak256("/01/{gtin14}/10/{lot}")`` — the same strings the Solidity contracts hash, with the
  values *unescaped*, so an id computed here equals the id computed on chain.
- **GS1 Digital Link** — the web address in the QR code:
  ``https://id.gs1.org/01/09506000134352/10/LOT1/21/SN1?17=261231``. Rendering follows the GS1
  Digital Link URI Syntax standard (key qualifiers in the order 22, 10, 21; values
  percent-encoded outside RFC 3986's unreserved set; data attributes in the query string).
  Parsing is tolerant where the standard allows variation (any resolver host and path prefix,
  GTIN-8/12/13, the 1.1 "convenience alphas" ``gtin``/``lot``/``ser``/``exp``, 10 and 21 in the
  query string) and strict where a wrong reading would name a different item.
- **expiry** (AI 17) — ``YYMMDD`` with GS1's sliding century window and ``DD = 00`` meaning the
  last day of the month; the contracts store it as the integer ``YYMMDD`` (0 = none).
- **QR codes** — one PNG per item carrying its Digital Link, sized for printing on a pack
  (:func:`write_qr_images`).

EPC URNs and the Digital Links of the other GS1 keys (SSCC, GLN, GRAI …), as EPCIS documents
spell them, are mapped to the same ids by :func:`o2ochain.epcis.parse_identifier`.

Every rejection is an :class:`~o2ochain.errors.InputError` that says what is wrong with which
value, so a brand fixing a spreadsheet of 100,000 rows knows where to look.
"""

from __future__ import annotations

from o2ochain.gs1._digital_link import (
    DEFAULT_RESOLVER,
    DigitalLink,
    check_resolver,
    parse_digital_link,
    parse_item_reference,
    render_uri,
)
from o2ochain.gs1._keys import (
    GS1_CHARSET_82,
    MAX_SERIAL_LENGTH,
    expiry_to_yymmdd,
    from_bytes32,
    gtin_check_digit,
    gtin_to_int,
    is_gs1_x20,
    item_id,
    keccak256,
    lot_id,
    make_gln,
    make_gtin,
    make_sscc,
    normalize_gtin,
    parse_expiry,
    to_bytes32,
    validate_lot,
    validate_serial,
    yymmdd_to_date,
)
from o2ochain.gs1._qr import (
    PRINT_DPI,
    TARGET_WIDTH_MM,
    qr_png_bytes,
    safe_file_stem,
    write_qr_images,
)

__all__ = [
    "DEFAULT_RESOLVER",
    "GS1_CHARSET_82",
    "MAX_SERIAL_LENGTH",
    "PRINT_DPI",
    "TARGET_WIDTH_MM",
    "DigitalLink",
    "check_resolver",
    "expiry_to_yymmdd",
    "from_bytes32",
    "gtin_check_digit",
    "gtin_to_int",
    "is_gs1_x20",
    "item_id",
    "keccak256",
    "lot_id",
    "make_gln",
    "make_gtin",
    "make_sscc",
    "normalize_gtin",
    "parse_digital_link",
    "parse_expiry",
    "parse_item_reference",
    "qr_png_bytes",
    "render_uri",
    "safe_file_stem",
    "to_bytes32",
    "validate_lot",
    "validate_serial",
    "write_qr_images",
    "yymmdd_to_date",
]
