"""An item reference as the registry's reader and the history read it: its item id and link.

Apart from :mod:`o2ochain.identity._registry` (which stands on web3), so that what reads an item
without web3 (a history through an index, :mod:`o2ochain.trace._light`) reads it the same way.
"""

from __future__ import annotations

from o2ochain.errors import InputError
from o2ochain.gs1 import DigitalLink, parse_item_reference


def resolve_ref(ref: str | bytes | DigitalLink) -> tuple[bytes, DigitalLink | None]:
    """An item reference (Digital Link URI, EPC URN, 0x item id, DigitalLink) as (item id, link)."""

    if isinstance(ref, DigitalLink):
        return ref.item_id, ref
    if isinstance(ref, bytes | bytearray):
        if len(ref) != 32:
            raise InputError(f"an item id is 32 bytes, got {len(ref)}", field="item")
        return bytes(ref), None
    if ref.strip().lower().startswith("urn:epc:"):
        from o2ochain.epcis import parse_identifier

        subject = parse_identifier(ref.strip())
        if subject.kind != "item" or not subject.gtin or not subject.code:
            raise InputError(f"this EPC URN names a {subject.kind}, not one item", field="item", value=ref)
        link = DigitalLink(gtin=subject.gtin, serial=subject.code)
        return link.item_id, link
    parsed = parse_item_reference(ref)
    if isinstance(parsed, DigitalLink):
        if parsed.serial is None:
            raise InputError("this Digital Link names a product class or a lot, not one item (no /21/ serial)", field="item", value=ref)
        return parsed.item_id, parsed
    return bytes(parsed), None
