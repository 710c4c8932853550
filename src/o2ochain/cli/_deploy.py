"""``o2ochain deploy``: the contracts on a chain, and the deployment manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from o2ochain.cli._common import ADDRESS, common, handled, make_context, out


@click.command()
@common
@click.option("--admin", type=ADDRESS, default=None, help="Address that administers the registry [default: the deployer].")
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
