"""The main job: a local chain with the contracts deployed and a realistic sample catalogue.

Three brands under GS1's demonstration prefixes (950…), a dozen products each, 500 items
registered one record each and 10,000 committed as Merkle lots, QR codes for a handful, one item
sold, one lot recalled, a supply chain (:mod:`o2ochain.demo_trace`) and a retailer's price
guarantee (:mod:`o2ochain.demo_guarantee`), merchant pages, reviews and a coupon campaign
(:mod:`o2ochain.demo_loop`) — then instructions to try them, while the chain keeps
running.
"""

from __future__ import annotations

import csv
import random
import signal
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console

from o2ochain import gs1
from o2ochain.catalogue import CatalogueItem, read_catalogue
from o2ochain.chain import Anvil, dev_accounts, http_web3
from o2ochain.client import O2OChain
from o2ochain.errors import ConfigError

__all__ = ["SAMPLE_BRANDS", "SampleBrand", "make_catalogue", "run_demo"]


@dataclass(frozen=True)
class SampleBrand:
    name: str
    prefix: str
    products: tuple[str, ...]


SAMPLE_BRANDS = (
    SampleBrand(
        "Dalian Coast Seafood Snacks",
        "9506000",
        (
            "Snack gift bag 500 g",
            "Dried squid 200 g",
            "Seaweed crisps 80 g",
            "Fish tofu 300 g",
            "Kelp jerky 120 g",
            "Scallop floss 100 g",
            "Shrimp crackers 150 g",
            "Sea cucumber gift box",
            "Anchovy nuts 250 g",
            "Crab roe sauce 180 g",
            "Oyster sauce 500 ml",
            "Seafood noodles 5-pack",
        ),
    ),
    SampleBrand(
        "Jinzhou Orchard Co-op",
        "9506001",
        (
            "Apple juice 1 l",
            "Pear slices 200 g",
            "Strawberry jam 340 g",
            "Blueberry jam 340 g",
            "Dried apricots 250 g",
            "Honey 500 g",
            "Apple cider vinegar 500 ml",
            "Fruit tea sampler",
            "Cherry preserve 300 g",
            "Fresh strawberries 10 kg crate",
            "Plum wine 750 ml",
            "Hawthorn rolls 150 g",
        ),
    ),
    SampleBrand(
        "Liaoning Leaf Tea House",
        "9506002",
        (
            "Green tea 100 g",
            "Oolong tea 100 g",
            "Jasmine tea 100 g",
            "Black tea 100 g",
            "Pu-erh cake 357 g",
            "White tea 50 g",
            "Tea gift set",
            "Chrysanthemum tea 50 g",
            "Barley tea 20 bags",
            "Ginger tea 20 bags",
            "Matcha 30 g",
            "Tea cups, pair",
        ),
    ),
)


def make_catalogue(folder: Path, *, merkle_items: int, explicit_items: int, seed: int = 7) -> tuple[Path, Path, dict[str, tuple[int, str]]]:
    """Write explicit.csv and merkle.csv; returns their paths and {gtin: (brand index, name)}."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    products: dict[str, tuple[int, str]] = {}
    for b, brand in enumerate(SAMPLE_BRANDS):
        for n, name in enumerate(brand.products):
            products[gs1.make_gtin(brand.prefix, 10 + n)] = (b, name)
    gtins = list(products)
    today = date(2026, 11, 1)

    def write(path: Path, count: int, lot_size: int, tag: str) -> None:
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["gtin", "serial", "lot", "expiry"])
            made = 0
            lot_no = 0
            while made < count:
                gtin = gtins[(lot_no * 5 + (1 if tag == "M" else 0)) % len(gtins)]
                lot = f"{tag}{today:%y%m}-{lot_no:03d}"
                expiry = today + timedelta(days=180 + rng.randrange(0, 365))
                for _ in range(min(lot_size, count - made)):
                    made += 1
                    w.writerow([gtin, f"{tag}{made:08d}", lot, expiry.isoformat()])
                lot_no += 1

    explicit = folder / "explicit.csv"
    merkle = folder / "merkle.csv"
    write(explicit, explicit_items, 50, "E")
    write(merkle, merkle_items, 1_000, "M")
    return explicit, merkle, products


def run_demo(
    *, port: int, out_dir: Path, merkle_items: int, explicit_items: int, serve: bool, console: Console, web_port: int = 8080
) -> None:
    started = time.monotonic()
    node = Anvil(port=port or None, accounts=24, log_path=out_dir / "anvil.log")
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        node.start()
    except Exception as exc:
        raise ConfigError(f"could not start Anvil on port {port} (in use? pass --port): {exc}") from exc
    try:
        accounts = dev_accounts(24)
        operator, store, buyer = accounts[0], accounts[7], accounts[8]
        chain = O2OChain(http_web3(node.url), accounts=accounts)
        chain.use_store(out_dir / "events")
        chain.use_content(out_dir / "content")
        console.print(f"[bold]local chain[/] {node.url} (chain id {chain.chain_id})")
        deployment = chain.deploy(operator, save_to=Path("deployments"))
        console.print(f"[bold]deployed[/] ProductRegistry at {deployment.address('ProductRegistry')}  manifest {deployment.path}")

        explicit_csv, merkle_csv, products = make_catalogue(out_dir / "catalogue", merkle_items=merkle_items, explicit_items=explicit_items)
        admin = chain.admin(operator)
        brand_ids: list[int] = []
        for b, sample in enumerate(SAMPLE_BRANDS):
            brand_admin, registrant = accounts[1 + b], accounts[4 + b]
            brand_id = admin.register_brand(brand_admin.address, sample.name, [sample.prefix])
            brand_ids.append(brand_id)
            ba = chain.brand(brand_admin, brand_id)
            ba.grant_registrant(registrant.address)
            ba.grant_seller(store.address)
            for gtin, (owner, name) in products.items():
                if owner == b:
                    ba.add_product(gtin, f"o2ochain://product/{gtin}?name={name.replace(' ', '%20')}")
            console.print(f"  brand {brand_id}: {sample.name} (prefix {sample.prefix}, {len(sample.products)} products)")

        by_brand: dict[int, list[CatalogueItem]] = {}
        for path, label in ((explicit_csv, "explicit"), (merkle_csv, "merkle")):
            items = read_catalogue(path)
            by_brand.clear()
            for it in items:
                by_brand.setdefault(products[it.gtin][0], []).append(it)
            for b, its in sorted(by_brand.items()):
                line = chain.registrant(accounts[4 + b])
                if label == "explicit":
                    report = line.register_items(its)
                    console.print(
                        f"  {SAMPLE_BRANDS[b].name}: {report.registered} items registered ({report.transactions} tx, {report.gas_used:,} gas)"
                    )
                else:
                    lots = line.commit_lots(its, proofs_dir=out_dir / "proofs")
                    console.print(f"  {SAMPLE_BRANDS[b].name}: {len(its)} items committed in {len(lots)} Merkle lot(s)")

        explicit = read_catalogue(explicit_csv)
        merkle = read_catalogue(merkle_csv)
        from o2ochain.qr import write_qr_images

        showcase = explicit[:5] + merkle[:5]
        write_qr_images([(f"{it.gtin}-{it.serial}", it.digital_link(gs1.DEFAULT_RESOLVER).uri()) for it in showcase], out_dir / "qr")

        sold = explicit[1]
        chain.seller(store).claim(sold.digital_link(gs1.DEFAULT_RESOLVER), buyer.address)
        recalled = explicit[-1]
        chain.registrant(accounts[4 + products[recalled.gtin][0]]).recall_lot(recalled.gtin, recalled.lot, reason=1)

        from o2ochain.demo_trace import run_supply_chain

        coop = SAMPLE_BRANDS[1]
        supply = run_supply_chain(
            chain,
            brand=brand_ids[1],
            prefix=coop.prefix,
            brand_admin=accounts[2],
            registrant=accounts[5],
            farm=accounts[9],
            plant=accounts[5],
            carrier=accounts[10],
            store=store,
            jam_gtin=gs1.make_gtin(coop.prefix, 10 + coop.products.index("Strawberry jam 340 g")),
            strawberry_gtin=gs1.make_gtin(coop.prefix, 10 + coop.products.index("Fresh strawberries 10 kg crate")),
            sugar_gtin=gs1.make_gtin("6901234", 1),
        )
        console.print(
            f"  supply chain: farm -> plant -> carrier -> store, {supply.events} EPCIS events anchored as {supply.entries} chain entries "
            f"(events kept in {out_dir}/events)"
        )

        from o2ochain.demo_guarantee import MILLI, run_price_guarantee

        seafood = SAMPLE_BRANDS[0]
        gift_bag = gs1.make_gtin(seafood.prefix, 10)  # "Snack gift bag 500 g"
        guarantee = run_price_guarantee(
            chain,
            admin=accounts[11],
            store_key=accounts[12],
            web_key=accounts[13],
            market_key=accounts[14],
            keeper=accounts[15],
            buyer=buyer,
            gift_bag=gift_bag,
            others=[gs1.make_gtin(seafood.prefix, 10 + n) for n in range(1, 6)],
            shoppers=accounts[16:21],
        )
        console.print(
            f"  price guarantee: {guarantee.sales} store sales; the web shop sells the gift bag at 0.133 (0.188 in the store): "
            f"the keeper paid {guarantee.paid_buyers} buyers {guarantee.paid_total / MILLI / 1000:g} in all"
        )

        from o2ochain.demo_loop import run_loop

        loop = run_loop(
            chain,
            admin=accounts[11],
            store_key=accounts[12],
            web_key=accounts[13],
            shoppers=accounts[16:21],
            voters=accounts[21:24],
            gift_bag=gift_bag,
            out_dir=out_dir,
        )
        console.print(
            f"  O2O loop: 3 merchant pages, {loop.reviews} verified-buyer reviews, {loop.votes} votes; coupon campaign {loop.campaign}: "
            f"{loop.redeemed} of {loop.issued} vouchers redeemed in the store"
        )

        def uri(it: CatalogueItem) -> str:
            return it.digital_link(gs1.DEFAULT_RESOLVER).uri()

        rpc = "" if port == 8545 else f" --rpc {node.url}"
        tries = [
            (f"o2ochain verify '{uri(explicit[0])}'{rpc}", "authentic"),
            (f"o2ochain verify '{uri(merkle[0])}' --proofs {out_dir}/proofs{rpc}", "authentic, from a Merkle-committed lot"),
            (f"o2ochain verify '{uri(sold)}'{rpc}", "already sold: a copied QR code shows up"),
            (f"o2ochain verify '{uri(recalled)}'{rpc}", "its lot was recalled"),
            (f"o2ochain verify '{gs1.DEFAULT_RESOLVER}/01/{explicit[0].gtin}/21/FAKE0001'{rpc}", "not registered"),
        ]
        store_opt = f" --store {out_dir}/events"
        traces = [
            (
                f"o2ochain trace show '{uri(supply.good_items[0])}'{store_opt}{rpc}",
                "a jar of jam: farm, plant, pallet, carrier, store, each event verified",
            ),
            (
                f"o2ochain trace show '{uri(supply.recalled_items[0])}' --responsibility{store_opt}{rpc}",
                "a recalled jar: who had custody at each step",
            ),
            (f"o2ochain trace export '{uri(supply.good_items[0])}'{store_opt}{rpc}", "its history as an EPCIS 2.0 document"),
        ]
        guarantees = [
            (f"o2ochain guarantee price list {gift_bag}{rpc}", "the gift bag's prices on the retailer's three channels"),
            (f"o2ochain guarantee owed --account dev:8{rpc}", "what a buyer of the gift bag was owed, and why"),
            (f"o2ochain guarantee retailer show {guarantee.retailer}{rpc}", "the retailer's pool: funded, paid, owed"),
            (f"o2ochain keeper --account dev:15{rpc}", "the keeper that pays compensation as prices drop (Ctrl-C stops it)"),
        ]
        console.print(
            f"\n[bold green]ready[/] in {time.monotonic() - started:.0f} s. Try, in another terminal (after `source .venv/bin/activate`):"
        )
        for command, meaning in tries:
            console.print(f"  [dim]# {meaning}[/]")
            console.print(f"  {command}", soft_wrap=True, highlight=False)
        console.print("Supply-chain history:")
        for command, meaning in traces:
            console.print(f"  [dim]# {meaning}[/]")
            console.print(f"  {command}", soft_wrap=True, highlight=False)
        content_opt = f" --content {out_dir}/content"
        loops = [
            (
                f"o2ochain merchant show {loop.store_channel}{content_opt}{rpc}",
                "the store's page: profile, rating, reviews ranked by usefulness",
            ),
            (f"o2ochain review list --gtin {gift_bag}{content_opt}{rpc}", "what verified buyers say about the gift bag"),
            (f"o2ochain coupon stats {loop.campaign}{rpc}", "the coupon campaign's conversion, from the chain"),
            (
                f"o2ochain coupon redeem {loop.coupon_dir}/vouchers.jsonl --account dev:12{rpc}",
                f"the store's till redeems a voucher (QR codes in {loop.coupon_dir}/qr)",
            ),
        ]
        console.print("Price guarantee:")
        for command, meaning in guarantees:
            console.print(f"  [dim]# {meaning}[/]")
            console.print(f"  {command}", soft_wrap=True, highlight=False)
        console.print("O2O loop:")
        for command, meaning in loops:
            console.print(f"  [dim]# {meaning}[/]")
            console.print(f"  {command}", soft_wrap=True, highlight=False)
        console.print(f"QR codes: {out_dir}/qr/   catalogue: {out_dir}/catalogue/   RPC: {node.url}", soft_wrap=True)
        if serve:
            from o2ochain.web import PageServer, page_url

            site = PageServer(
                rpc_url=node.url,
                deployment=deployment,
                events=out_dir / "events",
                content=out_dir / "content",
                proofs=out_dir / "proofs",
                port=web_port,
            ).start()
            pages = [
                (uri(explicit[0]), "authentic"),
                (uri(merkle[0]), "authentic, from a Merkle-committed lot (its proof checked on chain)"),
                (uri(sold), "already sold to someone else: a copied QR code shows up"),
                (uri(recalled), "recalled"),
                (f"{gs1.DEFAULT_RESOLVER}/01/{explicit[0].gtin}/21/FAKE0001", "not registered"),
                (uri(supply.good_items[0]), "a jar of jam with its supply-chain history"),
            ]
            console.print(f"[bold]Consumer page:[/] {page_url(site.url)}  (scan a QR image from {out_dir}/qr/)", soft_wrap=True)
            for item, meaning in pages:
                console.print(f"  [dim]# {meaning}[/]")
                console.print(f"  {page_url(site.url, item)}", soft_wrap=True, highlight=False)
            console.print("[dim]The chain keeps running; Ctrl-C stops it.[/]")
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            try:
                while node.running:
                    time.sleep(1)
            except KeyboardInterrupt:
                console.print("stopping the local chain")
            finally:
                site.stop()
    finally:
        node.stop()
