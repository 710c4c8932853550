"""``ape run deploy``: deploy o2ochain with ape's network and account selection.

    ape run deploy --network ethereum:local:test --account TEST::0
    ape run deploy --network ethereum:sepolia:node --account my-deployer

It calls the library's one deploy routine (``o2ochain.deployments.deploy``), so ape, the CLI and the
tests deploy the same bytecode the library ships, and writes the manifest to ``deployments/``.
The ape account signs each transaction itself (:class:`o2ochain.ApeSigner`): a keyfile account
asks for its passphrase and to confirm each signature as ape always does (unless it is unlocked
with autosign), a hardware-wallet plugin asks its device; the script never sees a key.
"""

from __future__ import annotations

from typing import Any

import click
from ape.cli import ConnectedProviderCommand, account_option


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--admin", default=None, help="Registry administrator [default: the deployer].")
@click.option("--save-to", default="deployments", show_default=True, help="Folder of deployment manifests.")
def cli(provider: Any, account: Any, admin: str | None, save_to: str) -> None:
    """Deploy the o2ochain contracts and write the manifest for this chain."""
    from o2ochain import ApeSigner
    from o2ochain.deployments import deploy

    deployment = deploy(provider.web3, ApeSigner(account), admin=admin)
    path = deployment.save(save_to)
    for name, c in deployment.contracts.items():
        click.echo(f"{name}: {c.address} (block {c.block})")
    click.echo(f"manifest: {path}")
