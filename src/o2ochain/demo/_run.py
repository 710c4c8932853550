"""The main job: a local chain with the contracts deployed and a realistic sample catalogue.

Three brands under GS1's demonstration prefixes (950…), a dozen products each, 500 items
registered one record each and 10,000 committed as Merkle lots, QR codes for a handful, one item
sold, one lot recalled, a supply chain (``demo/_trace.py``) and a retailer's price
guarantee (``demo/_guarantee.py``), merchant pages, reviews and a coupon campaign
(``demo/_loop.py``) — then instructions to try them, while the chain keeps
running.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from o2ochain import gs1
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain._chain.util import write_atomic
from o2ochain.client import O2OChain
from o2ochain.demo._indexer import Indexer
from o2ochain.deployments import Deployment
from o2ochain.errors import ConfigError, O2OError
from o2ochain.identity import CatalogueItem, read_catalogue

if TYPE_CHECKING:
    from o2ochain.serve import EpcisService


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


#: Anvil accounts the demo uses: operators and shoppers 0-23, the page's test shopper 24, 25
#: the page server's relayer, which sends (and pays for) what the shopper's derived addresses sign
#: and does nothing else, and 26-28 a second retailer (admin, farm shop, web shop) whose buyers the
#: printed keeper command pays.
ACCOUNTS = 29
SHOPPER = 24
RELAYER = 25


#: Bump when what :func:`_load` saves changes shape, or what it deployed changes (2: PriceGuarantee
#: version 2; 3: the page's shopper at derived addresses, a relayer; 4: the manifest in the out
#: folder, a chain clock behind the wall clock, the page's voucher apart from the printed ones): an
#: older saved demo is then loaded again.
SUMMARY_VERSION = 4
#: How far behind the wall clock the demo's chain starts: loading moves its clock on by about four
#: days (two before the web shop's price cut, the payout delay twice), so that the chain's last
#: block, what the page dates reviews and prices by, is still in the past when the page is served.
CLOCK_BEHIND = 5 * 86_400


def manifest_dir(out_dir: Path) -> Path:
    """Where the demo keeps its deployment manifest: inside its out folder, like everything it writes."""
    return out_dir / "deployments"


def process_age() -> float:
    """Seconds since this process started (Linux: /proc), so that "ready in" counts Python's own
    start and imports too; elsewhere, since this module was imported. ``./run demo`` sets
    ``$O2O_DEMO_STARTED`` (Unix time) before its setup steps, which then count as well."""
    try:
        age = time.time() - float(os.environ.get("O2O_DEMO_STARTED", "").replace(",", "."))
        if 0 <= age < 3_600:
            return age
    except ValueError:
        pass
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


_IMPORTED = time.monotonic()


def run_demo(
    *,
    port: int,
    out_dir: Path,
    merkle_items: int,
    explicit_items: int,
    serve: bool,
    console: Console,
    web_port: int = 8080,
    fresh: bool = False,
) -> None:
    """Start the chain (persisted in ``out_dir``), load the sample data unless an earlier run did,
    print how to try it, and serve the page until Ctrl-C (unless ``serve`` is false).

    The chain is kept in ``<out_dir>/chain-state.json`` (written every few seconds and on exit) and
    what the loading produced in ``<out_dir>/demo.json``, written last: a second run with both
    starts the same chain in seconds. A run that stopped before ``demo.json`` was written (a
    crash, Ctrl-C) left no usable state, so the next run starts over; ``fresh`` forces that.
    """
    started = time.monotonic() - process_age()
    out_dir.mkdir(parents=True, exist_ok=True)
    state, saved_at = out_dir / "chain-state.json", out_dir / "demo.json"
    summary = None if fresh else _saved_summary(saved_at, state, merkle_items=merkle_items, explicit_items=explicit_items)
    if summary is None:
        for stale in (saved_at, state):
            stale.unlink(missing_ok=True)
    # A new chain starts in the past (see CLOCK_BEHIND); a kept one starts where it stopped.
    past = () if summary is not None else ("--timestamp", str(int(time.time()) - CLOCK_BEHIND))
    node = Anvil(port=port or None, accounts=ACCOUNTS, log_path=out_dir / "anvil.log", state=state, state_interval=5, extra_args=past)
    try:
        node.start()
    except Exception as exc:
        raise ConfigError(f"could not start Anvil on port {port} (in use? pass --port): {exc}") from exc
    try:
        chain = O2OChain(http_web3(node.url), accounts=dev_accounts(ACCOUNTS))
        if summary is not None and not _deployed(chain, summary):
            console.print(f"[yellow]the saved chain in {state} does not hold the saved deployment: loading again[/]")
            node.stop()
            state.unlink(missing_ok=True)
            saved_at.unlink(missing_ok=True)
            node.extra_args = ("--timestamp", str(int(time.time()) - CLOCK_BEHIND))
            node.start()
            chain = O2OChain(http_web3(node.url), accounts=dev_accounts(ACCOUNTS))
            summary = None
        console.print(f"[bold]local chain[/] {node.url} (chain id {chain.chain_id}), kept in {state}")
        if summary is None:
            summary = _load(chain, out_dir, merkle_items=merkle_items, explicit_items=explicit_items, console=console)
            write_atomic(saved_at, json.dumps(summary, indent=1).encode())
        else:
            # Anvil rebuilds block 0 when it loads a state file, so the manifest's genesis (which
            # tells a restarted chain from the one deployed on) is updated: the contracts were
            # just checked to be on this chain.
            # Anvil does not keep a time offset across a restart: its next block takes the wall
            # clock's time, after the kept blocks (which are in the past, see CLOCK_BEHIND).
            kept = Deployment.from_json(summary["deployment"])
            genesis = "0x" + bytes(chain.w3.eth.get_block(0)["hash"]).hex()
            if kept.genesis != genesis:
                summary["deployment"] = replace(kept, genesis=genesis).to_json()
                write_atomic(saved_at, json.dumps(summary, indent=1).encode())
            Deployment.from_json(summary["deployment"]).save(manifest_dir(out_dir))
            console.print(f"[bold]reusing[/] the sample data loaded by an earlier run ({saved_at}; `--fresh` loads it again)")
        _present(summary, node, out_dir, port=port, serve=serve, console=console, web_port=web_port, started=started)
    finally:
        node.stop()


def _saved_summary(saved_at: Path, state: Path, *, merkle_items: int, explicit_items: int) -> dict[str, Any] | None:
    """What an earlier complete run loaded, if it matches this run's counts and its chain was kept."""
    if not (saved_at.is_file() and state.is_file()):
        return None
    try:
        summary = json.loads(saved_at.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(summary, dict) or summary.get("version") != SUMMARY_VERSION:
        return None
    if summary.get("counts") != {"merkle": merkle_items, "explicit": explicit_items}:
        return None
    return summary


def _deployed(chain: O2OChain, summary: dict[str, Any]) -> bool:
    """The saved deployment's contracts have code on this chain."""
    try:
        deployment = Deployment.from_json(summary["deployment"])
        return all(len(chain.w3.eth.get_code(chain.w3.to_checksum_address(deployment.address(name)))) > 0 for name in deployment.contracts)
    except (KeyError, TypeError, ValueError, O2OError):
        return False


def _load(chain: O2OChain, out_dir: Path, *, merkle_items: int, explicit_items: int, console: Console) -> dict[str, Any]:
    """Deploy and load every sample; returns what :func:`_present` prints (JSON-able)."""
    accounts = dev_accounts(ACCOUNTS)
    operator, store, buyer = accounts[0], accounts[7], accounts[8]
    chain.use_store(out_dir / "events")
    chain.use_content(out_dir / "content")
    deployment = chain.deploy(operator, save_to=manifest_dir(out_dir))
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
    from o2ochain.gs1 import write_qr_images

    showcase = explicit[:5] + merkle[:5]
    write_qr_images([(f"{it.gtin}-{it.serial}", it.digital_link(gs1.DEFAULT_RESOLVER).uri()) for it in showcase], out_dir / "qr")

    sold = explicit[1]
    chain.seller(store).claim(sold.digital_link(gs1.DEFAULT_RESOLVER), buyer.address)
    recalled = explicit[-1]
    chain.registrant(accounts[4 + products[recalled.gtin][0]]).recall_lot(recalled.gtin, recalled.lot, reason=1)

    from o2ochain.demo._trace import run_supply_chain

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
    # The plant's recall of jam lot 2 (an EPCIS event in its history) is also a recall in the
    # registry, so every jar of that lot checks as recalled; it names that event as its notice.
    recalled_jar = supply.recalled_items[0]
    chain.registrant(accounts[5]).recall_lot(recalled_jar.gtin, recalled_jar.lot, reason=2, document=supply.recall_notice)
    console.print(
        f"  supply chain: farm -> plant -> carrier -> store, {supply.events} EPCIS events anchored as {supply.entries} chain entries "
        f"(events kept in {out_dir}/events)"
    )

    from o2ochain.demo._guarantee import MILLI, run_price_guarantee

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
        days_before_drop=2,
    )
    console.print(
        f"  price guarantee: {guarantee.sales} store sales; the web shop sells the gift bag at 0.133 (0.188 in the store): "
        f"the keeper paid {guarantee.paid_buyers} buyers {guarantee.paid_total / MILLI / 1000:g} in all (paid from a day after each sale)"
    )

    from o2ochain.demo._loop import run_loop

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
        f"{loop.redeemed} of the {loop.signed} vouchers signed (of up to {loop.capacity}) redeemed in the store"
    )

    from o2ochain.demo._page import run_page_scenario

    # a jar of jam from the supply chain (not the gift bag, whose reviews the demo made): the shopper claims and reviews it
    page_item = supply.good_items[1]
    wallet = run_page_scenario(
        chain,
        shopper=accounts[SHOPPER],
        seller=store,
        store_key=accounts[12],
        data_user=accounts[11],
        item=page_item.digital_link(gs1.DEFAULT_RESOLVER),
        gtin=gift_bag,
        voucher=loop.page_voucher.payload(),
    )
    # The shopper's gift bags (and the second retailer's honey) are paid for a day after the sale
    # was recorded (the payout delay): the local chain's clock moves past it, so the page can claim
    # them now. The chain started CLOCK_BEHIND in the past, so its clock is still behind the wall's.
    from o2ochain.demo._guarantee import advance_clock, run_keeper_share
    from o2ochain.guarantee import PAYOUT_DELAY

    orchard = SAMPLE_BRANDS[1]
    keeper_retailer = run_keeper_share(
        chain,
        admin=accounts[26],
        store_key=accounts[27],
        web_key=accounts[28],
        gtin=gs1.make_gtin(orchard.prefix, 10 + orchard.products.index("Honey 500 g")),
    )
    advance_clock(chain, PAYOUT_DELAY + 60)
    console.print(
        f"  page's test shopper {wallet.shopper}, at addresses derived from its key: a claim code for one item, a purchase the guarantee owes on, "
        "a consent with 2 recorded data uses, a coupon"
    )

    def uri(it: CatalogueItem) -> str:
        return it.digital_link(gs1.DEFAULT_RESOLVER).uri()

    rpc = "{rpc}"  # filled in when printed (the manifest, the node's URL): they may differ on a later run
    tries = [
        (f"o2ochain item verify '{uri(explicit[0])}'{rpc}", "authentic"),
        (f"o2ochain item verify '{uri(merkle[0])}' --proofs {out_dir}/proofs{rpc}", "authentic, from a Merkle-committed lot"),
        (f"o2ochain item verify '{uri(sold)}'{rpc}", "already sold: a copied QR code shows up"),
        (f"o2ochain item verify '{uri(recalled)}'{rpc}", "its lot was recalled"),
        (f"o2ochain item verify '{gs1.DEFAULT_RESOLVER}/01/{explicit[0].gtin}/21/FAKE0001'{rpc}", "not registered"),
    ]
    store_opt = f" --store {out_dir}"  # events in {out_dir}/events, review texts in {out_dir}/content
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
        (f"o2ochain guarantee compensation show --account dev:8{rpc}", "what a buyer of the gift bag was owed, and why"),
        (
            f"o2ochain guarantee retailer show {guarantee.retailer}{rpc}",
            "the retailer's pool: funded, paid, the coverage promised to buyers and its free funds",
        ),
        (
            f"o2ochain keeper --retailer {keeper_retailer} --account dev:15{rpc}",
            "a retailer's keeper: it pays the farm shop's honey buyers what the web shop's cut owes them (Ctrl-C stops it)",
        ),
    ]
    loops = [
        (
            f"o2ochain merchant show {loop.store_channel}{store_opt}{rpc}",
            "the store's page: profile, rating, reviews ranked by usefulness",
        ),
        (f"o2ochain review list --gtin {gift_bag}{store_opt}{rpc}", "what verified buyers say about the gift bag"),
        (
            f"o2ochain coupon campaign show {loop.campaign} --signed {loop.coupon_dir}/signed.jsonl{rpc}",
            "the coupon campaign's conversion: redeemed on chain, of the vouchers the web shop signed",
        ),
        (
            f"o2ochain coupon redeem {loop.coupon_dir}/vouchers.jsonl --account dev:12{rpc}",
            f"the store's till redeems the next unused voucher of five (QR codes in {loop.coupon_dir}/qr)",
        ),
    ]
    pages = [
        (uri(explicit[0]), "authentic"),
        (uri(merkle[0]), "authentic, from a Merkle-committed lot (its proof checked on chain)"),
        (uri(sold), "already sold to someone else: a copied QR code shows up"),
        (uri(recalled), "recalled"),
        (f"{gs1.DEFAULT_RESOLVER}/01/{explicit[0].gtin}/21/FAKE0001", "not registered"),
        (uri(supply.good_items[0]), "a jar of jam with its supply-chain history"),
        (uri(supply.recalled_items[0]), "a recalled jar: who had it at each step"),
    ]
    summary: dict[str, Any] = {
        "version": SUMMARY_VERSION,
        "counts": {"merkle": merkle_items, "explicit": explicit_items},
        "deployment": deployment.to_json(),
        "tries": tries,
        "traces": traces,
        "guarantees": guarantees,
        "loops": loops,
        "pages": pages,
        "wallet": {"claimItem": wallet.claim_item, "claimCode": wallet.claim_code, "voucher": wallet.voucher, "dataUser": wallet.data_user},
    }
    return summary


def _present(
    summary: dict[str, Any], node: Anvil, out_dir: Path, *, port: int, serve: bool, console: Console, web_port: int, started: float
) -> None:
    """Print how to try the demo, then serve the page until Ctrl-C (when ``serve``)."""
    # Every command names the demo's manifest (kept in the out folder) and, off the default port, its node.
    rpc = f" --deployment {manifest_dir(out_dir)}" + ("" if port == 8545 else f" --rpc {node.url}")
    tries, traces, guarantees, loops, pages = (
        [(str(c).replace("{rpc}", rpc), str(m)) for c, m in summary[key]] for key in ("tries", "traces", "guarantees", "loops", "pages")
    )
    from o2ochain.demo._page import PRIVACY_NOTICE

    wallet = summary["wallet"]
    deployment = Deployment.from_json(summary["deployment"])
    accounts = dev_accounts(ACCOUNTS)
    console.print("\nTry, in another terminal (after `source .venv/bin/activate`):")
    _print_rows(console, None, tries)
    _print_rows(console, "Supply-chain history:", traces)
    _print_rows(console, "Price guarantee:", guarantees)
    _print_rows(console, "O2O loop:", loops)
    console.print(f"QR codes: {out_dir}/qr/   catalogue: {out_dir}/catalogue/   RPC: {node.url}", soft_wrap=True)

    def ready(what: str) -> None:
        console.print(f"[bold green]ready[/] in {time.monotonic() - started:.1f} s since the command started ({what})")

    if not serve:
        ready("the chain and its sample data")
    if serve:
        from o2ochain.demo._loop import PROFILES
        from o2ochain.demo._server import PageServer
        from o2ochain.serve import page_url
        from o2ochain.shopper import RelayService

        index = _start_index(node, out_dir, console)
        epcis_service, partner = _epcis(node, deployment, out_dir)
        site = PageServer(
            rpc_url=node.url,
            deployment=deployment,
            events=out_dir / "events",
            content=out_dir / "content",
            proofs=out_dir / "proofs",
            port=web_port,
            test_accounts=[
                {"label": "Test shopper (local chain only)", "privateKey": "0x" + accounts[SHOPPER].key.hex().removeprefix("0x")}
            ],
            data_users=[{"name": "Dalian Coast (retailer)", "address": wallet["dataUser"], "notice": PRIVACY_NOTICE}],
            relay_service=RelayService(http_web3(node.url), deployment, accounts[RELAYER]),
            index_url=index.url if index else None,
            epcis=epcis_service,
            # The page's home lists them: each sample item, and the merchant pages (channels 1.. in PROFILES order).
            samples=[{"label": meaning, "item": item} for item, meaning in pages]
            + [{"label": str(profile[0]["name"]), "merchant": str(channel)} for channel, profile in enumerate(PROFILES, start=1)],
        ).start()
        console.print(f"[bold]Consumer page:[/] {page_url(site.url)}  (scan a QR image from {out_dir}/qr/)", soft_wrap=True)
        _print_rows(console, None, [(page_url(site.url, item), meaning) for item, meaning in pages])
        actions = [
            (f"{page_url(site.url, wallet['claimItem'])}&claim={wallet['claimCode']}", "claim this item at its first sale, then review it"),
            (f"{site.url}/?account", "your purchases and the price guarantee, your consents and every use of your data"),
            (f"{site.url}/?voucher={wallet['voucher']}", "a coupon to show at the till"),
        ]
        _print_rows(console, "Wallet actions (connect the built-in test shopper, or a wallet extension on this chain):", actions)
        bearer = f"-H 'Authorization: Bearer {DEMO_EPCIS_TOKEN}'"
        partners = [
            (
                f"curl -i -X POST {site.url}/epcis/capture {bearer} -H 'Content-Type: application/ld+json' --data-binary @{partner}",
                "a partner's system (the carrier) posts EPCIS 2.0: a cold-store temperature log and a pallet inspection",
            ),
            (f"curl '{site.url}/epcis/events?EQ_bizStep=sensor_reporting'", "query it back, anchored on chain (o2o:anchor)"),
            (f"curl -H 'Accept: application/xml' '{site.url}/epcis/events?perPage=5'", "the same as EPCIS 2.0 XML"),
        ]
        _print_rows(console, "EPCIS 2.0 REST (GS1's binding, under /epcis):", partners)
        ready("the chain, its sample data and the page; the index catches up in the background")
        console.print("[dim]The chain keeps running; Ctrl-C stops it.[/]")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            while node.running:
                time.sleep(1)
        except KeyboardInterrupt:
            console.print("stopping the local chain")
        finally:
            site.stop()
            epcis_service.close()
            epcis_service.repository.close()
            if index is not None:
                index.stop()


#: The demo partner's API token (a local chain's demo only: it is printed for anyone to try).
DEMO_EPCIS_TOKEN = "demo-carrier-token-local-chain-only"
#: The demo's carrier (a logistics actor of the jam brand), whose system posts EPCIS documents.
CARRIER = 10


def _epcis(node: Anvil, deployment: Deployment, out_dir: Path) -> tuple[EpcisService, Path]:
    """The EPCIS interface of the demo: its event index in ``out_dir/epcis.sqlite``, one token for
    the carrier (recording for the jam brand), and a sample document for it to post."""
    from o2ochain.demo._trace import CST, partner_sample
    from o2ochain.serve import ApiToken, EpcisService, EventRepository, token_digest

    chain = O2OChain(http_web3(node.url), deployment=deployment)
    chain.use_store(out_dir / "events")
    coop = SAMPLE_BRANDS[1]
    brand = chain.identity.brand_of_gtin(gs1.make_gtin(coop.prefix, 10))
    carrier = dev_accounts(CARRIER + 1)[CARRIER]
    tokens = {token_digest(DEMO_EPCIS_TOKEN): ApiToken(carrier, brand, "the demo's carrier")}
    sample = out_dir / "epcis-partner-sample.jsonld"
    today = datetime.now(CST).replace(microsecond=0) - timedelta(hours=1)
    write_atomic(sample, (json.dumps(partner_sample(coop.prefix, today), indent=2) + "\n").encode())
    return EpcisService(chain, EventRepository.open(out_dir / "epcis.sqlite"), tokens), sample


def _start_index(node: Anvil, out_dir: Path, console: Console) -> Indexer | None:
    """Start the index of the demo's chain (PGlite in ``<out_dir>/index``) without waiting for it:
    it takes seconds to start and to catch up, and the page reads from the node meanwhile."""
    index = Indexer(deployments=manifest_dir(out_dir), rpc=node.url, state_dir=out_dir / "index", log_path=out_dir / "index.log")
    try:
        index.launch()
    except (ConfigError, OSError) as exc:
        console.print(f"[yellow]the index did not start ({exc}); the page reads from the node only[/]")
        return None
    console.print(f"[bold]Index:[/] {index.url}  (GraphQL at {index.url}/graphql; starting, log {out_dir}/index.log)", soft_wrap=True)
    return index


def _print_rows(console: Console, title: str | None, rows: list[tuple[str, str]]) -> None:
    """Each (command or link, what it shows) as a dimmed comment line, then the line itself unwrapped."""
    if title:
        console.print(title)
    for line, meaning in rows:
        console.print(f"  [dim]# {meaning}[/]")
        console.print(f"  {line}", soft_wrap=True, highlight=False)
