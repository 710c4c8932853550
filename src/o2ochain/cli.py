"""The ``o2ochain`` command line.

Every command that touches a chain takes ``--rpc`` (default ``$O2O_RPC`` or
http://127.0.0.1:8545), ``--deployment`` (a manifest file or directory, default
``$O2O_DEPLOYMENTS`` or ./deployments) and, when it writes, ``--account`` (``dev:N`` on a local
chain, a keystore file, an ape account alias, or ``env:VAR``). ``--json`` prints machine-readable
output. Errors are one clear message on stderr and a non-zero exit: 2 for bad input, 1 otherwise.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from o2ochain import __version__, gs1
from o2ochain.accounts import load_account
from o2ochain.client import O2OChain, connect
from o2ochain.errors import ConfigError, InputError, InputErrors, O2OError
from o2ochain.identity import MerkleItem, Verification

F = TypeVar("F", bound=Callable[..., Any])

out = Console()
err = Console(stderr=True)


class Context:
    """Options shared by every command."""

    def __init__(self, rpc: str, deployment: str | None, account: str | None, password_file: Path | None, as_json: bool) -> None:
        self.rpc = rpc
        self.deployment = deployment
        self.account_spec = account
        self.password_file = password_file
        self.as_json = as_json
        self._chain: O2OChain | None = None

    def chain(self) -> O2OChain:
        if self._chain is None:
            self._chain = connect(self.rpc, deployment=self.deployment)
        return self._chain

    def account(self) -> LocalAccount:
        if not self.account_spec:
            raise ConfigError("this command sends a transaction: give --account (or set O2O_ACCOUNT)")
        return load_account(
            self.account_spec, chain_id=self.chain().chain_id, password_file=self.password_file, interactive=sys.stdin.isatty()
        )

    def emit(self, data: Any, human: Callable[[], None]) -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=2, default=str))
        else:
            human()


def common(f: F) -> F:
    """The options every chain command takes."""
    options = [
        click.option(
            "--rpc", envvar="O2O_RPC", default="http://127.0.0.1:8545", show_default=True, help="JSON-RPC URL of the node ($O2O_RPC)."
        ),
        click.option(
            "--deployment",
            envvar="O2O_DEPLOYMENTS",
            default=None,
            help="Deployment manifest file or directory [default: ./deployments] ($O2O_DEPLOYMENTS).",
        ),
        click.option(
            "--account",
            envvar="O2O_ACCOUNT",
            default=None,
            help="Signer: dev:N (local chains only), a keystore file, an ape account alias, or env:VAR ($O2O_ACCOUNT).",
        ),
        click.option(
            "--password-file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="File holding the keystore password (else $O2O_PASSWORD, else a prompt).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_context(kwargs: dict[str, Any]) -> Context:
    return Context(kwargs.pop("rpc"), kwargs.pop("deployment"), kwargs.pop("account"), kwargs.pop("password_file"), kwargs.pop("as_json"))


def fail(exc: BaseException, as_json: bool) -> NoReturn:
    code = 2 if isinstance(exc, InputError) else 1
    if as_json:
        payload: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, InputErrors):
            payload["problems"] = [e.to_dict() for e in exc.errors]
        elif isinstance(exc, InputError):
            payload["problem"] = exc.to_dict()
        click.echo(json.dumps(payload, indent=2, default=str))
    else:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    sys.exit(code)


@contextmanager
def handled(as_json: bool) -> Iterator[None]:
    try:
        yield
    except O2OError as exc:
        fail(exc, as_json)
    except KeyboardInterrupt:
        err.print("interrupted: rerun the same command to finish; nothing will be done twice")
        sys.exit(130)


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    if not enabled:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


# ------------------------------------------------------------------------------------------
@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="o2ochain")
def main() -> None:
    """o2ochain: verifiable product identity, traceability and consent for online-and-offline retail.

    Brands register their goods (GTIN + serial) on an Ethereum-compatible chain; anyone can
    then verify an item from the GS1 Digital Link in its QR code, see whether it was recalled,
    and whether it was already sold to someone else (a copied QR code). Supply-chain actors
    anchor GS1 EPCIS 2.0 events (`trace`), and consumers grant, revoke and audit the use of
    their personal data (`consent`).

    Typical flow on a local chain (see `o2ochain demo` for all of it at once):

    \b
      o2ochain deploy --account dev:0
      o2ochain brand add "Acme Foods" --admin 0x… --prefix 9506000 --account dev:0
      o2ochain product add 09506000134352 --brand 1 --account dev:1
      o2ochain register items.csv --account dev:2
      o2ochain verify https://id.gs1.org/01/09506000134352/21/ABC123
    """


@main.command()
@common
@click.option("--admin", default=None, help="Address that administers the registry [default: the deployer].")
@click.option(
    "--save-to",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the manifest [default: --deployment or ./deployments].",
)
def deploy(admin: str | None, save_to: Path | None, **kwargs: Any) -> None:
    """Deploy the o2ochain contracts and write the deployment manifest for this chain."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        chain = ctx.chain()
        account = ctx.account()
        folder = save_to or (Path(ctx.deployment) if ctx.deployment and not ctx.deployment.endswith(".json") else Path("deployments"))
        deployment = chain.deploy(account, admin=admin, save_to=folder)

        def human() -> None:
            out.print(f"deployed on chain {deployment.chain_id} by {deployment.deployer}")
            for name, c in deployment.contracts.items():
                out.print(f"  {name}: {c.address} (block {c.block})")
            out.print(f"manifest: {deployment.path}")

        ctx.emit({**deployment.to_json(), "manifest": str(deployment.path)}, human)


# -- brands and products --------------------------------------------------------------------
@main.group()
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


@main.group()
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
@main.command()
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
        from o2ochain.catalogue import read_catalogue

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
            from o2ochain.qr import write_qr_images

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


@main.command()
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


@main.command()
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


@main.group()
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


@main.command()
@common
@click.argument("item")
@click.option("--reason", type=click.IntRange(0, 65535), default=0, show_default=True, help="Reason code.")
def decommission(item: str, reason: int, **kwargs: Any) -> None:
    """Mark ITEM destroyed or decommissioned (brand admin or registrant)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().registrant(ctx.account()).decommission(item, reason)
        ctx.emit({"item": item, "tx": tx}, lambda: out.print(f"item decommissioned (transaction {tx})"))


@main.command()
@click.option("--port", type=int, default=8545, show_default=True, help="Port for the local Anvil.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Where the sample catalogue, proofs and QR codes go.",
)
@click.option("--items", "merkle_items", type=int, default=10_000, show_default=True, help="Merkle-registered sample items.")
@click.option("--explicit", "explicit_items", type=int, default=500, show_default=True, help="Explicitly registered sample items.")
@click.option("--exit", "exit_after", is_flag=True, help="Stop the chain and exit when loaded, instead of serving until Ctrl-C.")
@click.option("--web-port", type=int, default=8080, show_default=True, help="Port for the consumer page (a free one if taken).")
@click.option("--fresh", is_flag=True, help="Load the sample data again on a new chain, even when an earlier run's chain is kept in --out.")
def demo(port: int, out_dir: Path, merkle_items: int, explicit_items: int, exit_after: bool, web_port: int, fresh: bool) -> None:
    """The main job: a local chain, the contracts, a realistic sample catalogue, the consumer page.

    Starts Anvil on localhost, deploys, registers a few brands with dozens of products,
    10,000 Merkle-committed and 500 explicit items, writes QR codes for a handful, runs a supply
    chain, a price guarantee, reviews and coupons, then serves the consumer page and prints what
    to try. The chain is kept in OUT/chain-state.json: a second run reuses it and starts in
    seconds (--fresh starts over). Ctrl-C stops everything (--exit stops once loaded).
    """
    with handled(False):
        from o2ochain.demo import run_demo

        run_demo(
            port=port,
            out_dir=out_dir,
            merkle_items=merkle_items,
            explicit_items=explicit_items,
            serve=not exit_after,
            console=out,
            web_port=web_port,
            fresh=fresh,
        )


# -- traceability ---------------------------------------------------------------------------
@main.group()
def trace() -> None:
    """Supply-chain history: EPCIS 2.0 events anchored on chain, and an item's full history.

    The full events are kept in a content-addressed local store (--store, default
    $O2O_STORE or ./.o2ochain/events); the chain holds their hashes, so a copy of a history
    from anywhere is checked against the chain.
    """


def store_option(f: F) -> F:
    return click.option(
        "--store",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="O2O_STORE",
        default=None,
        help="Folder of the content-addressed EPCIS event store [default: ./.o2ochain/events] ($O2O_STORE).",
    )(f)


def _traced(ctx: Context, store: Path | None) -> O2OChain:
    chain = ctx.chain()
    if store is not None:
        chain.use_store(store)
    return chain


@trace.group("actor")
def trace_actor() -> None:
    """Authorise or revoke a brand's supply-chain actors (brand admin only)."""


@trace_actor.command("grant")
@common
@click.argument("address")
@click.option("--brand", "brand_id", type=int, required=True, help="Brand id.")
@click.option("--kind", type=click.Choice(["farm", "plant", "logistics", "store", "other"]), required=True, help="What the actor is.")
@click.option("--gln", default=None, help="The actor's GLN (13 digits) or SGLN, as its location.")
def trace_actor_grant(address: str, brand_id: int, kind: str, gln: str | None, **kwargs: Any) -> None:
    """Let ADDRESS record supply-chain events on the brand's goods."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.epcis import location_id

        location = location_id(gln) if gln else b"\x00" * 32
        ctx.chain().trace_admin(ctx.account(), brand_id).grant(address, kind, location)
        ctx.emit(
            {"brand": brand_id, "actor": address, "kind": kind},
            lambda: out.print(f"{address} may record events for brand {brand_id} ({kind})"),
        )


@trace_actor.command("revoke")
@common
@click.argument("address")
@click.option("--brand", "brand_id", type=int, required=True, help="Brand id.")
def trace_actor_revoke(address: str, brand_id: int, **kwargs: Any) -> None:
    """Withdraw ADDRESS's right to record events for the brand."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        ctx.chain().trace_admin(ctx.account(), brand_id).revoke(address)
        ctx.emit({"brand": brand_id, "actor": address, "revoked": True}, lambda: out.print(f"{address} revoked for brand {brand_id}"))


@trace_actor.command("repository")
@common
@click.argument("uri")
@click.option("--brand", "brand_id", type=int, required=True, help="Brand id.")
def trace_actor_repository(uri: str, brand_id: int, **kwargs: Any) -> None:
    """Announce URI as where this actor publishes its full EPCIS events (URI + content hash)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        ctx.chain().actor(ctx.account()).set_repository(brand_id, uri)
        ctx.emit({"brand": brand_id, "repository": uri}, lambda: out.print(f"events for brand {brand_id} are published under {uri}"))


@trace.command("import")
@common
@store_option
@click.argument("document", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--brand", "brand_id", type=int, default=None, help="Brand for events that name no registered product (only containers).")
def trace_import(document: Path, store: Path | None, brand_id: int | None, **kwargs: Any) -> None:
    """Import an EPCIS 2.0 JSON / JSON-LD DOCUMENT: validate, store, anchor each event.

    The document is validated against GS1's EPCIS 2.0 JSON Schema first; if anything is wrong,
    every problem is reported with its JSON path and nothing is written. Events already on chain
    are skipped, so a rerun after a failure records each event exactly once.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.epcis import load_document

        parsed = load_document(document)
        actor = _traced(ctx, store).actor(ctx.account())
        with progress_bar("anchoring events", not ctx.as_json and err.is_terminal) as update:
            report = actor.record_events(parsed.events, brand=brand_id, progress=update, source=str(document))

        def human() -> None:
            out.print(
                f"{report.events} event(s), {report.entries} chain entr{'y' if report.entries == 1 else 'ies'}: "
                f"{report.recorded} recorded in {report.transactions} transaction(s), {report.already} already on chain; "
                f"{report.gas_used:,} gas"
            )

        ctx.emit(report.to_json(), human)


@trace.command("record")
@common
@store_option
@click.argument("subject")
@click.option("--biz-step", required=True, help="CBV business step, e.g. shipping, receiving, commissioning.")
@click.option("--disposition", default=None, help="CBV disposition, e.g. in_transit, active, recalled.")
@click.option("--action", type=click.Choice(["ADD", "OBSERVE", "DELETE"]), default="OBSERVE", show_default=True, help="EPCIS action.")
@click.option("--read-point", default=None, help="Where it was seen: SGLN URN or GS1 Digital Link (/414/…).")
@click.option("--biz-location", default=None, help="Where it is now: SGLN URN or GS1 Digital Link (/414/…).")
@click.option("--time", "when", default=None, help="Event time, ISO 8601 with offset [default: now].")
@click.option("--brand", "brand_id", type=int, default=None, help="Brand, for a container (SSCC) subject.")
def trace_record(
    subject: str,
    store: Path | None,
    biz_step: str,
    disposition: str | None,
    action: str,
    read_point: str | None,
    biz_location: str | None,
    when: str | None,
    brand_id: int | None,
    **kwargs: Any,
) -> None:
    """Record one ObjectEvent on SUBJECT (an item, lot or SSCC as URN or Digital Link)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.epcis import object_event_document, parse_document

        doc = object_event_document(
            subject, biz_step=biz_step, disposition=disposition, action=action, read_point=read_point, biz_location=biz_location, when=when
        )
        parsed = parse_document(doc, source="trace record")
        report = _traced(ctx, store).actor(ctx.account()).record_events(parsed.events, brand=brand_id, source="trace record")
        ctx.emit({**report.to_json(), "event": parsed.events[0].raw}, lambda: out.print(f"recorded {biz_step} on {subject}"))


def _print_history(events: list[Any], title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("when", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("step / disposition", no_wrap=True)
    table.add_column("via")
    table.add_column("recorded by")
    table.add_column("ok", no_wrap=True)
    for h in events:
        mark = "[green]yes[/]" if h.verified else "[red]NO[/]" if h.stored else "[yellow]no copy[/]"
        who = f"{h.actor_kind or 'actor'} {h.actor[:6]}…{h.actor[-4:]}"
        kind = h.event_type.removesuffix("Event") + (f"\n{h.action}" if h.action else "") + ("\n(correction)" if h.correction else "")
        step = (h.biz_step or "-") + (f"\n{h.disposition}" if h.disposition else "")
        table.add_row(h.time.strftime("%m-%d %H:%M"), kind, step, ", ".join(h.relations), who, mark)
    out.print(table)
    if events:
        first = events[0].time
        out.print(
            f"[dim]{len(events)} event(s) from {first:%Y-%m-%d} (times in each event's own zone, {first:%z}); "
            f"{sum(1 for h in events if h.verified)} verified against the chain[/]"
        )


@trace.command("show")
@common
@store_option
@click.argument("item")
@click.option("--responsibility", is_flag=True, help="Show who had custody at each step and who recorded what.")
def trace_show(item: str, store: Path | None, responsibility: bool, **kwargs: Any) -> None:
    """The complete history of ITEM (Digital Link URI or item id), each event verified or not."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tracer = _traced(ctx, store).trace
        if responsibility:
            rows = tracer.responsibility(item)
            ctx.emit(rows, lambda: out.print_json(data=rows))
            return
        events = tracer.history(item, include_events=ctx.as_json)
        ctx.emit([h.to_json() for h in events], lambda: _print_history(events, f"history of {item}"))


@trace.command("export")
@common
@store_option
@click.argument("item")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the document here [default: stdout]."
)
def trace_export(item: str, store: Path | None, output: Path | None, **kwargs: Any) -> None:
    """Export ITEM's history as an EPCIS 2.0 document (valid against GS1's schema)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.epcis import dumps_document

        text = dumps_document(_traced(ctx, store).trace.export(item))
        if output is None:
            click.echo(text)
        else:
            output.write_text(text, encoding="utf-8")
            err.print(f"wrote {output}")


# -- consent --------------------------------------------------------------------------------
@main.group()
def consent() -> None:
    """Consumer data consent: grants and revocations, and every use of the data.

    A consumer grants a data user (a retailer) consent for purposes and categories of data,
    directly or by a signature the data user relays (the consumer pays nothing), and revokes it
    the same two ways. The data user records each use; a use no live consent covers is refused
    on chain. Personal data never goes on chain: it is sealed (ECIES) to the data user's key.
    """


def _write_or_print(data: dict[str, Any], output: Path | None) -> None:
    text = json.dumps(data, indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {output}")


@consent.command("grant")
@common
@click.argument("data_user")
@click.option(
    "--purpose",
    "purposes",
    multiple=True,
    required=True,
    help="Purpose (repeat): order_fulfilment, delivery, personalised_recommendations, marketing, analytics, third_party_sharing.",
)
@click.option(
    "--category",
    "categories",
    multiple=True,
    required=True,
    help="Data category (repeat): contact, postal_address, purchase_history, location, payment, demographics, preferences, device_identifiers.",
)
@click.option("--valid-days", type=click.IntRange(1, 3650), default=365, show_default=True, help="Days until the consent expires.")
@click.option(
    "--notice",
    "notice_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The privacy notice shown (its hash is recorded).",
)
@click.option("--language", default="en", show_default=True, help="Language of the notice (BCP 47, e.g. zh-CN).")
@click.option(
    "--seal",
    "personal_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON of personal data to seal to the data user (--to); its commitment goes in the grant.",
)
@click.option("--to", "public_key", default=None, help="The data user's public key (from `o2ochain consent key`), for --seal.")
@click.option(
    "--sealed-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the sealed personal data [default: sealed.json].",
)
@click.option("--sign", "sign_only", is_flag=True, help="Only sign: write the grant for the data user to relay; no gas is spent.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --sign: write the signed grant here [default: stdout].",
)
def consent_grant(
    data_user: str,
    purposes: tuple[str, ...],
    categories: tuple[str, ...],
    valid_days: int,
    notice_file: Path | None,
    language: str,
    personal_file: Path | None,
    public_key: str | None,
    sealed_out: Path | None,
    sign_only: bool,
    output: Path | None,
    **kwargs: Any,
) -> None:
    """Grant DATA_USER consent (as the consumer: --account is the consumer's key)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain import privacy

        data_hash = b"\x00" * 32
        if personal_file is not None:
            if not public_key:
                raise InputError("--seal needs the data user's public key: --to 0x… (see `o2ochain consent key`)", field="--to")
            try:
                personal = json.loads(personal_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"not a JSON object of personal data: {exc}", file=str(personal_file)) from exc
            sealed = privacy.seal(personal, bytes.fromhex(public_key.removeprefix("0x")))
            target = sealed_out or Path("sealed.json")
            target.write_text(sealed.dumps(), encoding="utf-8")
            err.print(
                f"personal data sealed to the data user's key: {target} (give it to the data user; only its commitment goes on chain)"
            )
            data_hash = sealed.commitment
        notice = notice_file.read_text(encoding="utf-8") if notice_file else ""
        consumer = ctx.chain().consumer_consent(ctx.account())
        terms: dict[str, Any] = {"valid_for": valid_days * 86_400, "notice": notice, "language": language, "data_hash": data_hash}
        if sign_only:
            signed = consumer.sign_grant(data_user, purposes, categories, **terms)
            _write_or_print(signed.to_json(), output)
            return
        tx = consumer.grant(data_user, purposes, categories, **terms)
        ctx.emit(
            {"tx": tx, "dataUser": data_user, "purposes": list(purposes), "categories": list(categories)},
            lambda: out.print(f"consent granted to {data_user} (transaction {tx})"),
        )


@consent.command("revoke")
@common
@click.argument("data_user")
@click.option("--sign", "sign_only", is_flag=True, help="Only sign the revocation for anyone to relay; no gas is spent.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="With --sign: write it here [default: stdout]."
)
def consent_revoke(data_user: str, sign_only: bool, output: Path | None, **kwargs: Any) -> None:
    """Revoke the consent given to DATA_USER (as the consumer)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        consumer = ctx.chain().consumer_consent(ctx.account())
        if sign_only:
            _write_or_print(consumer.sign_revoke(data_user).to_json(), output)
            return
        tx = consumer.revoke(data_user)
        ctx.emit(
            {"tx": tx, "dataUser": data_user, "revoked": True}, lambda: out.print(f"consent to {data_user} revoked (transaction {tx})")
        )


@consent.command("relay")
@common
@click.argument("signed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def consent_relay(signed_file: Path, **kwargs: Any) -> None:
    """Send a consumer's signed grant or revocation (SIGNED_FILE), paying its gas."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.consent import SignedGrant, SignedRevoke

        try:
            data = json.loads(signed_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"not a signed consent file: {exc}", file=str(signed_file)) from exc
        user = ctx.chain().data_user(ctx.account())
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "o2ochain.consent.grant":
            tx = user.relay_grant(SignedGrant.from_json(data))
        elif kind == "o2ochain.consent.revoke":
            tx = user.relay_revoke(SignedRevoke.from_json(data))
        else:
            raise InputError(
                "expected a signed grant or revocation made by `o2ochain consent grant|revoke --sign`", file=str(signed_file), field="type"
            )
        ctx.emit({"tx": tx, "type": kind}, lambda: out.print(f"relayed ({tx})"))


@consent.command("use")
@common
@click.argument("consumer")
@click.option("--purpose", required=True, help="The purpose of this use.")
@click.option("--category", required=True, help="The category of data used.")
@click.option("--request", required=True, help="The request or job this use serves (only its hash goes on chain).")
def consent_use(consumer: str, purpose: str, category: str, request: str, **kwargs: Any) -> None:
    """Record one use of CONSUMER's data (as the data user); refused without a live consent."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().data_user(ctx.account()).record_use(consumer, purpose, category, request)
        ctx.emit({"tx": tx, "consumer": consumer, "purpose": purpose, "category": category}, lambda: out.print(f"use recorded ({tx})"))


def _consent_rows(what: str) -> Callable[..., None]:
    """``consent list`` and ``consent uses``: the same filters over grants or uses."""

    def command(consumer: str | None, data_user: str | None, **kwargs: Any) -> None:
        ctx = make_context(kwargs)
        with handled(ctx.as_json):
            who = consumer or (ctx.account().address if ctx.account_spec else None)
            reader = ctx.chain().consent
            rows = (
                reader.grants(consumer=who, data_user=data_user)
                if what == "grants"
                else [u.to_json() for u in reader.uses(consumer=who, data_user=data_user)]
            )
            ctx.emit(rows, lambda: out.print_json(data=rows))

    return command


for _name, _what, _doc in (
    ("list", "grants", "Every grant and revocation (oldest first)."),
    ("uses", "uses", "Every recorded use of data (oldest first)."),
):
    consent.command(_name, help=_doc)(
        common(
            click.option("--consumer", default=None, help=f"Only this consumer's {_what} [default: the --account's, if given].")(
                click.option("--data-user", default=None, help=f"Only {_what} of this data user.")(_consent_rows(_what))
            )
        )
    )


@consent.command("key")
@common
def consent_key(**kwargs: Any) -> None:
    """Print the data user's public key, which consumers seal their personal data to."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        user = ctx.chain().data_user(ctx.account())
        key = "0x" + user.public_key.hex()
        ctx.emit({"address": user.address, "publicKey": key}, lambda: click.echo(key))


@consent.command("open")
@common
@click.argument("sealed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def consent_open(sealed_file: Path, **kwargs: Any) -> None:
    """Decrypt personal data sealed to the data user's key, and check its commitment."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain import privacy

        record = ctx.chain().data_user(ctx.account()).open(privacy.Sealed.from_json(sealed_file.read_text(encoding="utf-8")))
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))


# -- values shared by the price-guarantee and O2O-loop commands ----------------------------
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def parse_duration(text: str, field: str) -> int:
    """``30d``, ``12h``, ``90m``, ``3600`` (seconds) as seconds."""
    match = _DURATION.match(text)
    if not match:
        raise InputError(f"{text!r} is not a duration: use e.g. 30d, 12h, 90m or seconds", field=field, value=text)
    return int(match.group(1)) * _SECONDS[match.group(2)]


def parse_percent(text: str, field: str) -> int:
    """``5%`` or ``2.5%`` as basis points."""
    body = text.strip().removesuffix("%")
    try:
        bps = round(float(body) * 100)
    except ValueError:
        raise InputError(f"{text!r} is not a percentage: use e.g. 5%", field=field, value=text) from None
    if not 0 <= bps <= 10_000:
        raise InputError("a tolerance is between 0% and 100%", field=field, value=text)
    return bps


# The price guarantee's, the O2O loop's and the shopper's commands live in their own modules;
# importing them attaches them to `main`.
from o2ochain import cli_guarantee, cli_loop, cli_shopper  # noqa: E402, F401

if __name__ == "__main__":  # pragma: no cover
    from o2ochain.cli import main as _main  # the module's own `main`, which holds every command

    _main()
