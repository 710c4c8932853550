"""Product identity commands: ``brand``, ``product``, ``item`` (register, verify, claim, recall,
decommission) and ``lot`` (recall), and the old top-level spellings of the item commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from o2ochain import gs1, inputs
from o2ochain.cli._common import (
    ADDRESS,
    GTIN,
    HashType,
    InputType,
    NumberType,
    common,
    handled,
    make_context,
    out,
    renamed,
    scope_option,
)
from o2ochain.cli._output import Stages, fields
from o2ochain.errors import InputError

# The registry's module brings web3: imported when an item is read, not by `--help`.
if TYPE_CHECKING:
    from o2ochain.identity import MerkleItem, Verification


class ItemType(InputType):
    """An item: its GS1 Digital Link (the QR code's text), its EPC URN or its 0x id (kept as typed)."""

    name = "item"

    def parse(self, text: str, where: inputs.Where) -> str:
        from o2ochain.identity import resolve_ref

        try:
            resolve_ref(text)
        except InputError as exc:
            raise where.error(exc.message, text) from None
        return text


ITEM = ItemType()
REASON = NumberType(0, 65_535, "reason code")
_NO_DOCUMENT = b"\x00" * 32


# -- brands and products --------------------------------------------------------------------
@click.group()
def brand() -> None:
    """Brands, their GS1 company prefixes, and the keys they authorise."""


@brand.command("add")
@common
@click.argument("name")
@click.option("--admin", "brand_admin", type=ADDRESS, required=True, help="Address of the brand's administrator.")
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


@brand.group("registrant")
def brand_registrant() -> None:
    """Keys that register the brand's products and items (brand admin only)."""


@brand.group("seller")
def brand_seller() -> None:
    """Keys of stores' tills that record the first sale of the brand's items (brand admin only)."""


def _role_command(group: click.Group, role: str, verb: str, doc: str, action: Callable[[Any, str], None]) -> None:
    @group.command(verb, help=doc)
    @common
    @click.argument("address", type=ADDRESS)
    @scope_option("brand", help="The brand's number.")
    def command(address: str, brand_id: int, **kwargs: Any) -> None:
        ctx = make_context(kwargs)
        with handled(ctx.as_json):
            action(ctx.chain().brand(ctx.account(), brand_id), address)
            ctx.emit(
                {"brand": brand_id, "account": address, "done": f"{verb}-{role}"},
                lambda: out.print(f"{role} {'granted' if verb == 'grant' else 'revoked'}: {address} (brand {brand_id})"),
            )

    brand.add_command(renamed(command, f"brand {verb}-{role}", f"brand {role} {verb}"))


_role_command(brand_registrant, "registrant", "grant", "Let ADDRESS register the brand's items.", lambda b, a: b.grant_registrant(a))
_role_command(brand_registrant, "registrant", "revoke", "Withdraw ADDRESS's registrant key.", lambda b, a: b.revoke_registrant(a))
_role_command(brand_seller, "seller", "grant", "Let ADDRESS (a store's till) record first sales.", lambda b, a: b.grant_seller(a))
_role_command(brand_seller, "seller", "revoke", "Withdraw ADDRESS's seller key.", lambda b, a: b.revoke_seller(a))


@click.group()
def product() -> None:
    """Product classes (GTINs)."""


@product.command("add")
@common
@click.argument("gtin", type=GTIN)
@scope_option("brand", help="The number of the brand owning the GTIN's company prefix.")
@click.option("--uri", default="", help="URI of the product's off-chain description.")
def product_add(gtin: str, brand_id: int, uri: str, **kwargs: Any) -> None:
    """Register the product class GTIN (brand admin or registrant)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        g = gs1.normalize_gtin(gtin)
        ctx.chain().registrant(ctx.account()).register_product(brand_id, g, uri)
        ctx.emit({"gtin": g, "brand": brand_id, "uri": uri}, lambda: out.print(f"product {g} registered to brand {brand_id}"))


# -- items --------------------------------------------------------------------------------------
@click.group("item")
def item_group() -> None:
    """Items, one GTIN + serial each: register them, verify them, bind the first sale, recall them."""


@click.group("lot")
def lot_group() -> None:
    """Lots of a product: recall one whole."""


@item_group.command("register")
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
    type=NumberType(1, 600, "batch size"),
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
    # One bar per stage, each with its own total: reading the file, what the chain holds, trees,
    # sending, QR codes. The bars stop before the result or an error is printed.
    with handled(ctx.as_json):
        with Stages(as_json=ctx.as_json) as stages:
            from o2ochain.identity import read_catalogue

            reading = f"checking {csv_file.name} (kB)"
            items = read_catalogue(csv_file, progress=lambda done, total: stages.report(reading, -(-done // 1024), -(-total // 1024)))
            registrant = ctx.chain().registrant(ctx.account())
            if merkle:
                lots = registrant.commit_lots(
                    items, proofs_dir=proofs_dir, uri_template=uri_template, resolver=resolver, stages=stages.report
                )
                data: dict[str, Any] = {"items": len(items), "lots": [lot.to_json() for lot in lots]}
            else:
                report = registrant.register_items(items, items_per_tx=batch_size, stages=stages.report)
                data = report.to_json()
            if qr_dir is not None:
                from o2ochain.gs1 import write_qr_images

                links = [(f"{it.gtin}-{it.lot}-{it.serial}", it.digital_link(resolver).uri()) for it in items]
                data["qr"] = {"directory": str(qr_dir), "count": len(write_qr_images(links, qr_dir, progress=stages.report))}

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
    fields(rows)
    if v.verdict == "claimed":
        out.print("This item was already sold. If you are buying it new, the QR code may be a copy.")
    if v.trace_unverified:
        out.print(
            "[yellow]The supply-chain history could not be checked against the chain (the index may lag or have been altered):"
            " a recall recorded there would not show here.[/]"
        )


@item_group.command("verify")
@common
@click.argument("item", type=ITEM)
@click.option(
    "--proofs",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Proofs file or folder (from `item register --merkle`) for Merkle-committed items.",
)
def verify(item: str, proofs: Path | None, **kwargs: Any) -> None:
    """Verify ITEM: a GS1 Digital Link URI (from the QR code) or a 0x item id."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        identity = ctx.chain().identity
        result = identity.verify(item, merkle=_merkle_from(proofs, item))
        name = identity.brand(result.brand).name if result.registered else None
        ctx.emit({**result.to_json(), "brandName": name}, lambda: _print_verification(result, name))


@item_group.command("claim")
@common
@click.argument("item", type=ITEM)
@click.option("--owner", type=ADDRESS, required=True, help="The buyer's address.")
@click.option(
    "--proofs", type=click.Path(exists=True, path_type=Path), default=None, help="Proofs file or folder, for a Merkle-committed item."
)
def claim(item: str, owner: str, proofs: Path | None, **kwargs: Any) -> None:
    """First-sale claim: bind ITEM to its buyer OWNER, once (a brand's seller key)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().seller(ctx.account()).claim(item, owner, merkle=_merkle_from(proofs, item))
        ctx.emit({"item": item, "owner": owner, "tx": tx}, lambda: out.print(f"claimed for {owner} (transaction {tx})"))


@item_group.command("recall")
@common
@click.argument("item", type=ITEM)
@click.option("--reason", type=REASON, required=True, help="Reason code (your recall code list).")
@click.option("--document", type=HashType("document hash"), default=None, help="Hash (0x…, 32 bytes) of the recall notice.")
def recall_item(item: str, reason: int, document: bytes | None, **kwargs: Any) -> None:
    """Recall one item."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().registrant(ctx.account()).recall_item(item, reason, document or _NO_DOCUMENT)
        ctx.emit({"item": item, "reason": reason, "tx": tx}, lambda: out.print(f"item recalled (transaction {tx})"))


@lot_group.command("recall")
@common
@click.argument("gtin", type=GTIN)
@click.argument("lot")
@click.option("--reason", type=REASON, required=True, help="Reason code (your recall code list).")
@click.option("--document", type=HashType("document hash"), default=None, help="Hash (0x…, 32 bytes) of the recall notice.")
def recall_lot(gtin: str, lot: str, reason: int, document: bytes | None, **kwargs: Any) -> None:
    """Recall every item of lot LOT of product GTIN, explicit or Merkle-committed."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().registrant(ctx.account()).recall_lot(gtin, lot, reason, document or _NO_DOCUMENT)
        ctx.emit({"gtin": gtin, "lot": lot, "reason": reason, "tx": tx}, lambda: out.print(f"lot {lot} recalled (transaction {tx})"))


@item_group.command("decommission")
@common
@click.argument("item", type=ITEM)
@click.option("--reason", type=REASON, default=0, show_default=True, help="Reason code.")
def decommission(item: str, reason: int, **kwargs: Any) -> None:
    """Mark ITEM destroyed or decommissioned (brand admin or registrant)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().registrant(ctx.account()).decommission(item, reason)
        ctx.emit({"item": item, "tx": tx}, lambda: out.print(f"item decommissioned (transaction {tx})"))


#: The item commands' spellings before they were grouped under ``item`` and ``lot``: hidden,
#: still working, each saying what it is called now.
recall_group = click.Group("recall", hidden=True, help="Old spelling of `item recall` and `lot recall`.")
recall_group.add_command(renamed(recall_item, "recall item", "item recall"))
recall_group.add_command(renamed(recall_lot, "recall lot", "lot recall"))
OLD_COMMANDS: tuple[click.Command, ...] = (
    renamed(register, "register", "item register"),
    renamed(verify, "verify", "item verify"),
    renamed(claim, "claim", "item claim"),
    renamed(decommission, "decommission", "item decommission"),
    recall_group,
)
