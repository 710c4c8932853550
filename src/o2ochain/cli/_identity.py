"""Product identity commands: ``brand``, ``product``, ``register``, ``verify``, ``claim``, ``recall``,
``decommission``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from o2ochain import gs1
from o2ochain.cli._common import common, err, handled, make_context, out, progress_bar
from o2ochain.errors import InputError
from o2ochain.identity import MerkleItem, Verification


# -- brands and products --------------------------------------------------------------------
@click.group()
def brand() -> None:
    """Brands, their GS1 company prefixes, and the keys they authorise."""


@brand.command("add")
@common
@click.argument("name")
@click.option("--admin", "brand_admin", required=True, help="Address of the brand's administrator.")
@click.option("--prefix", "prefixes", multiple=True, required=True, help="GS1 company prefix (4-12 digits); repeat for several.")
def brand_add(name: str, brand_admin: str, prefixes: tuple[str, ...], **kwargs: Any) -> None:
    """Register a brand (registry admin only)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        brand_id = ctx.chain().admin(ctx.account()).register_brand(brand_admin, name, list(prefixes))
        ctx.emit(
            {"brand": brand_id, "name": name, "admin": brand_admin, "prefixes": list(prefixes)},
            lambda: out.print(f"brand {brand_id}: {name}"),
        )


def _role_command(name: str, doc: str, action: Callable[[Any, str], None]) -> None:
    @brand.command(name, help=doc)
    @common
    @click.option("--brand", "brand_id", type=int, required=True, help="Brand id.")
    @click.argument("address")
    def command(brand_id: int, address: str, **kwargs: Any) -> None:
        ctx = make_context(kwargs)
        with handled(ctx.as_json):
            action(ctx.chain().brand(ctx.account(), brand_id), address)
            ctx.emit({"brand": brand_id, "account": address, "done": name}, lambda: out.print(f"{name}: {address} (brand {brand_id})"))


_role_command("grant-registrant", "Let ADDRESS register the brand's items (brand admin only).", lambda b, a: b.grant_registrant(a))
_role_command("revoke-registrant", "Withdraw ADDRESS's registrant key (brand admin only).", lambda b, a: b.revoke_registrant(a))
_role_command("grant-seller", "Let ADDRESS (a store's till) record first sales (brand admin only).", lambda b, a: b.grant_seller(a))
_role_command("revoke-seller", "Withdraw ADDRESS's seller key (brand admin only).", lambda b, a: b.revoke_seller(a))


@click.group()
def product() -> None:
    """Product classes (GTINs)."""


@product.command("add")
@common
@click.argument("gtin")
@click.option("--brand", "brand_id", type=int, required=True, help="Brand id owning the GTIN's company prefix.")
@click.option("--uri", default="", help="URI of the product's off-chain description.")
def product_add(gtin: str, brand_id: int, uri: str, **kwargs: Any) -> None:
    """Register the product class GTIN (brand admin or registrant)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        g = gs1.normalize_gtin(gtin)
        ctx.chain().registrant(ctx.account()).register_product(brand_id, g, uri)
        ctx.emit({"gtin": g, "brand": brand_id, "uri": uri}, lambda: out.print(f"product {g} registered to brand {brand_id}"))


# -- registration ---------------------------------------------------------------------------
@click.command()
@common
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--merkle", is_flag=True, help="Commit each lot as one Merkle root (cheap for large lots) instead of one record per item.")
@click.option(
    "--proofs",
    "proofs_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("proofs"),
    show_default=True,
    help="With --merkle: where to write each item's proof and Digital Link.",
)
@click.option(
    "--qr",
    "qr_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write a QR code (PNG) of each item's GS1 Digital Link into this folder.",
)
@click.option("--resolver", default=gs1.DEFAULT_RESOLVER, show_default=True, help="Base of the Digital Link URIs printed in QR codes.")
@click.option(
    "--uri",
    "uri_template",
    default="o2ochain://lot/{root}",
    show_default=True,
    help="With --merkle: URI of each lot's manifest ({root}, {gtin}, {lot} are filled in).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 600),
    default=500,
    show_default=True,
    help="Items per transaction (500 keeps each under the 16,777,216 gas cap).",
)
def register(
    csv_file: Path, merkle: bool, proofs_dir: Path, qr_dir: Path | None, resolver: str, uri_template: str, batch_size: int, **kwargs: Any
) -> None:
    """Register the items of CSV_FILE (columns gtin, serial, lot[, expiry]).

    Every row is checked first (GTIN check digit, serial and lot characters, duplicates in the
    file); if any row is bad, each problem is reported with its line and field and nothing is
    written. Items already on chain are skipped, so rerunning after a crash or an interrupt
    registers every item exactly once.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.identity import read_catalogue

        items = read_catalogue(csv_file)
        registrant = ctx.chain().registrant(ctx.account())
        show = not ctx.as_json and err.is_terminal
        if merkle:
            with progress_bar("committing lots", show) as update:
                lots = registrant.commit_lots(items, proofs_dir=proofs_dir, uri_template=uri_template, resolver=resolver, progress=update)
            data: dict[str, Any] = {"items": len(items), "lots": [lot.to_json() for lot in lots]}
        else:
            with progress_bar("registering items", show) as update:
                report = registrant.register_items(items, progress=update, items_per_tx=batch_size)
            data = report.to_json()
        if qr_dir is not None:
            from o2ochain.gs1 import write_qr_images

            links = [(f"{it.gtin}-{it.lot}-{it.serial}", it.digital_link(resolver).uri()) for it in items]
            data["qr"] = {"directory": str(qr_dir), "count": len(write_qr_images(links, qr_dir))}

        def human() -> None:
            if merkle:
                new = sum(1 for lot in lots if not lot.already)
                out.print(f"{len(items)} items in {len(lots)} lot(s): {new} root(s) committed, {len(lots) - new} already on chain")
                out.print(f"proofs written to {proofs_dir}/")
            else:
                out.print(
                    f"{report.registered} item(s) registered in {report.transactions} transaction(s), "
                    f"{report.already} already on chain; {report.gas_used:,} gas"
                )
            if qr_dir is not None:
                out.print(f"QR codes written to {qr_dir}/")

        ctx.emit(data, human)


# -- verification, claims, recalls ----------------------------------------------------------
def _merkle_from(proofs: Path | None, ref: str) -> MerkleItem | None:
    if proofs is None:
        return None
    from o2ochain.identity import find_proof

    item, _ = _resolve(ref)
    found = find_proof(proofs, item)
    if found is None:
        raise InputError(f"no proof for item 0x{item.hex()} in {proofs}", file=str(proofs))
    return found


def _resolve(ref: str) -> tuple[bytes, gs1.DigitalLink | None]:
    from o2ochain.identity import resolve_ref

    return resolve_ref(ref)


def _print_verification(v: Verification, brand_name: str | None = None) -> None:
    colour = {"authentic": "green", "claimed": "yellow", "not registered": "red", "recalled": "red", "decommissioned": "red"}[v.verdict]
    out.print(f"[bold {colour}]{v.verdict.upper()}[/]")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    rows: list[tuple[str, str]] = [("item id", v.item_id)]
    if v.registered:
        rows += [
            ("brand", f"{brand_name} (id {v.brand})" if brand_name else str(v.brand)),
            ("GTIN", v.gtin or "?"),
            ("lot", v.lot or (v.lot_id or "?")),
            ("expiry", v.expiry.isoformat() if v.expiry else "none"),
            ("status", v.status.name.lower() + (" (lot recalled)" if v.lot_recalled else "")),
            ("claimed by", v.claimed_by or "nobody yet"),
            ("registered in block", str(v.registered_block)),
            ("mode", "Merkle-committed lot" if v.merkle else "explicit"),
        ]
    else:
        rows.append(("note", "unknown to the registry: not genuine, or a Merkle item checked without its proof (--proofs)"))
    for k, val in rows:
        table.add_row(f"[dim]{k}[/]", val)
    out.print(table)
    if v.verdict == "claimed":
        out.print("This item was already sold. If you are buying it new, the QR code may be a copy.")


@click.command()
@common
@click.argument("item")
@click.option(
    "--proofs",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Proofs file or folder (from `register --merkle`) for Merkle-committed items.",
)
def verify(item: str, proofs: Path | None, **kwargs: Any) -> None:
    """Verify ITEM: a GS1 Digital Link URI (from the QR code) or a 0x item id."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        identity = ctx.chain().identity
        result = identity.verify(item, merkle=_merkle_from(proofs, item))
        name = identity.brand(result.brand).name if result.registered else None
        ctx.emit({**result.to_json(), "brandName": name}, lambda: _print_verification(result, name))


@click.command()
@common
@click.argument("item")
@click.option("--owner", required=True, help="The buyer's address.")
@click.option(
    "--proofs", type=click.Path(exists=True, path_type=Path), default=None, help="Proofs file or folder, for a Merkle-committed item."
)
def claim(item: str, owner: str, proofs: Path | None, **kwargs: Any) -> None:
    """First-sale claim: bind ITEM to its buyer OWNER, once (a brand's seller key)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().seller(ctx.account()).claim(item, owner, merkle=_merkle_from(proofs, item))
        ctx.emit({"item": item, "owner": owner, "tx": tx}, lambda: out.print(f"claimed for {owner} (transaction {tx})"))


@click.group()
def recall() -> None:
    """Recall an item or a whole lot (brand admin or registrant)."""


def _document(text: str | None) -> bytes:
    if not text:
        return b"\x00" * 32
    raw = text.removeprefix("0x")
    try:
        value = bytes.fromhex(raw)
    except ValueError:
        value = b""
    if len(value) != 32:
        raise InputError("the document hash must be 32 bytes in hex (0x + 64 hex digits)", field="--document", value=text)
    return value


@recall.command("item")
@common
@click.argument("item")
@click.option("--reason", type=click.IntRange(0, 65535), required=True, help="Reason code (your recall code list).")
@click.option("--document", default=None, help="Hash (0x…, 32 bytes) of the recall notice.")
def recall_item(item: str, reason: int, document: str | None, **kwargs: Any) -> None:
    """Recall one item."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().registrant(ctx.account()).recall_item(item, reason, _document(document))
        ctx.emit({"item": item, "reason": reason, "tx": tx}, lambda: out.print(f"item recalled (transaction {tx})"))


@recall.command("lot")
@common
@click.argument("gtin")
@click.argument("lot")
@click.option("--reason", type=click.IntRange(0, 65535), required=True, help="Reason code (your recall code list).")
@click.option("--document", default=None, help="Hash (0x…, 32 bytes) of the recall notice.")
def recall_lot(gtin: str, lot: str, reason: int, document: str | None, **kwargs: Any) -> None:
    """Recall every item of lot LOT of product GTIN, explicit or Merkle-committed."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().registrant(ctx.account()).recall_lot(gtin, lot, reason, _document(document))
        ctx.emit({"gtin": gtin, "lot": lot, "reason": reason, "tx": tx}, lambda: out.print(f"lot {lot} recalled (transaction {tx})"))


@click.command()
@common
@click.argument("item")
@click.option("--reason", type=click.IntRange(0, 65535), default=0, show_default=True, help="Reason code.")
def decommission(item: str, reason: int, **kwargs: Any) -> None:
    """Mark ITEM destroyed or decommissioned (brand admin or registrant)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().registrant(ctx.account()).decommission(item, reason)
        ctx.emit({"item": item, "tx": tx}, lambda: out.print(f"item decommissioned (transaction {tx})"))
