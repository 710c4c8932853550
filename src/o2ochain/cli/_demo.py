"""``o2ochain demo``: the sample world on a local chain and the consumer page (imported lazily)."""

from __future__ import annotations

from pathlib import Path

import click

from o2ochain.cli._common import NumberType, handled, out


@click.command()
@click.option("--port", type=NumberType(1, 65_535, "port"), default=8545, show_default=True, help="Port for the local Anvil.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Where the sample catalogue, proofs and QR codes go.",
)
@click.option("--items", "merkle_items", type=NumberType(1, 1_000_000, "item count"), default=10_000, show_default=True, help="Merkle-registered sample items.")
@click.option("--explicit", "explicit_items", type=NumberType(1, 100_000, "item count"), default=500, show_default=True, help="Explicitly registered sample items.")
@click.option("--exit", "exit_after", is_flag=True, help="Stop the chain and exit when loaded, instead of serving until Ctrl-C.")
@click.option("--web-port", type=NumberType(1, 65_535, "port"), default=8080, show_default=True, help="Port for the consumer page (a free one if taken).")
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
