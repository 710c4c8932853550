"""``ape run deploy``: deploy o2ochain with ape's network and account selection.

    ape run deploy --network ethereum:local:test --account TEST::0
    ape run deploy --network ethereum:sepolia:node --account my-deployer

It calls the library's one deploy routine (``o2ochain.deployments.deploy``), so ape, the CLI and the
tests deploy the same bytecode the library ships, and writes the manifest to ``deployments/``.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import click
from ape.cli import ConnectedProviderCommand, account_option
from eth_account import Account
from eth_account.signers.local import LocalAccount


def local_signer(account: Any) -> LocalAccount:
    """An eth-account signer for an ape account: test accounts, or a keyfile (password asked)."""
    key = getattr(account, "private_key", None)
    if key:
        return Account.from_key(key)
    keyfile = getattr(account, "keyfile_path", None) or (Path.home() / ".ape" / "accounts" / f"{account.alias}.json")
    secret = Account.decrypt(json.loads(Path(keyfile).read_text()), getpass.getpass(f"Password for {account.alias}: "))
    return Account.from_key(secret)


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--admin", default=None, help="Registry administrator [default: the deployer].")
@click.option("--save-to", default="deployments", show_default=True, help="Folder of deployment manifests.")
def cli(provider: Any, account: Any, admin: str | None, save_to: str) -> None:
    """Deploy the o2ochain contracts and write the manifest for this chain."""
    from o2ochain.deployments import deploy

    deployment = deploy(provider.web3, local_signer(account), admin=admin)
    path = deployment.save(save_to)
    for name, c in deployment.contracts.items():
        click.echo(f"{name}: {c.address} (block {c.block})")
    click.echo(f"manifest: {path}")
