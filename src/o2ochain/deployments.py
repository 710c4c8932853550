"""Deployment manifests, where our contracts live on each chain, and the one deploy routine.

One JSON file per chain id, ``<dir>/<chainId>.json``, read by the library, the CLI and the
consumer page::

    {"chainId": 31337, "genesis": "0x…", "deployer": "0x…", "version": "0.1.0",
     "contracts": {"ProductRegistry": {"address": "0x…", "block": 1, "txHash": "0x…"}}}

The directory is ``$O2O_DEPLOYMENTS`` or ``./deployments``. ``genesis`` (the hash of block 0)
tells a restarted local chain, which reuses chain id 31337, from the one the manifest was made on.

:func:`deploy` is the one routine that deploys the contracts, used by the CLI, the ape script
(``ape run deploy``) and the tests.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from o2ochain import __version__, inputs
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.light import checksum_address
from o2ochain._chain.util import write_atomic
from o2ochain.errors import ChainError, ConfigError

# web3 is imported by what connects or deploys: reading a manifest (`o2ochain trace show --index`,
# which reads the chain without web3) does not pay for it.
if TYPE_CHECKING:
    from web3 import Web3

    from o2ochain._chain.signers import Signer

__all__ = ["CONTRACTS", "DEPLOY_ORDER", "ContractDeployment", "Deployment", "default_dir", "deploy", "load_deployment"]


def default_dir() -> Path:
    return Path(os.environ.get("O2O_DEPLOYMENTS", "deployments"))


@dataclass(frozen=True)
class ContractDeployment:
    address: str
    block: int
    tx_hash: str

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "block": self.block, "txHash": self.tx_hash}


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    contracts: dict[str, ContractDeployment]
    deployer: str
    version: str
    genesis: str | None = None
    path: Path | None = field(default=None, compare=False)

    def address(self, name: str) -> str:
        try:
            return self.contracts[name].address
        except KeyError:
            raise ConfigError(
                f"the deployment for chain {self.chain_id} has no {name} "
                f"(it has: {', '.join(sorted(self.contracts)) or 'nothing'}); deploy it with `o2ochain deploy`"
            ) from None

    @property
    def first_block(self) -> int:
        """The earliest deployment block: where log queries start."""
        return min((c.block for c in self.contracts.values()), default=0)

    def to_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "genesis": self.genesis,
            "deployer": self.deployer,
            "version": self.version,
            "contracts": {k: v.to_json() for k, v in sorted(self.contracts.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, path: Path | None = None) -> Deployment:
        where = f" in {path}" if path else ""
        try:
            return cls(
                chain_id=int(data["chainId"]),
                genesis=data.get("genesis"),
                deployer=str(data["deployer"]),
                version=str(data.get("version", "")),
                contracts={
                    name: ContractDeployment(address=checksum_address(c["address"]), block=int(c["block"]), tx_hash=str(c["txHash"]))
                    for name, c in data["contracts"].items()
                },
                path=path,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"malformed deployment manifest{where}: {exc!r}") from exc

    def save(self, directory: Path | str | None = None) -> Path:
        """Write ``<dir>/<chainId>.json`` atomically."""
        folder = Path(directory) if directory is not None else default_dir()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{self.chain_id}.json"
        write_atomic(target, (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8"))
        return target


def load_deployment(w3: Web3, source: Path | str | Deployment | None = None) -> Deployment:
    """The deployment for the chain ``w3`` is connected to, checked against that chain.

    ``source`` is a manifest file, a directory of manifests, or None for :func:`default_dir`.
    """
    from web3 import Web3

    from o2ochain._chain.tx import read_all

    chain_id = int(w3.eth.chain_id)
    deployment = read_manifest(chain_id, source)
    # Block 0 and the code of every contract in one round trip (one JSON-RPC batch) where the node takes batches.
    contracts = list(deployment.contracts.items())
    block0, *codes = read_all(
        w3,
        [partial(w3.eth.get_block, 0)] + [partial(w3.eth.get_code, Web3.to_checksum_address(c.address)) for _, c in contracts],
        what="checking the deployment",
    )
    check_deployed(deployment, "0x" + bytes(block0["hash"]).hex(), [bytes(code) for code in codes])
    return deployment


def read_manifest(chain_id: int, source: Path | str | Deployment | None = None) -> Deployment:
    """The manifest for chain ``chain_id`` from ``source`` (see :func:`load_deployment`), not yet
    checked against the chain's genesis and code (:func:`check_deployed`)."""
    if isinstance(source, Deployment):
        deployment = source
    else:
        path = Path(source) if source is not None else default_dir()
        if path.is_dir() or source is None:
            path = path / f"{chain_id}.json"
        if not path.is_file():
            raise ConfigError(
                f"no o2ochain deployment for chain {chain_id}: {path} does not exist. "
                "Deploy with `o2ochain deploy`, or point --deployment / O2O_DEPLOYMENTS at the manifest"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read deployment manifest {path}: {exc}") from exc
        deployment = Deployment.from_json(data, path=path)
    if deployment.chain_id != chain_id:
        where = f" ({deployment.path})" if deployment.path else ""
        raise ConfigError(
            f"wrong chain: the deployment manifest{where} is for chain id {deployment.chain_id}, but the node answers chain id {chain_id}"
        )
    return deployment


def check_deployed(deployment: Deployment, genesis: str, codes: list[bytes]) -> None:
    """That ``deployment`` was made on this chain: its hash of block 0 is ``genesis`` and each of
    its contracts (in manifest order) has code (``codes``)."""
    chain_id = deployment.chain_id
    if deployment.genesis and deployment.genesis != genesis:
        raise ConfigError(
            f"the deployment manifest {deployment.path or ''} was made on another chain with id {chain_id} "
            "(its genesis block differs: a local chain was restarted?). Deploy again with `o2ochain deploy`"
        )
    for (name, c), code in zip(deployment.contracts.items(), codes, strict=True):
        if not code:
            raise ConfigError(
                f"no contract at {c.address} ({name}) on chain {chain_id}: the chain was reset or the "
                "manifest is stale. Deploy again with `o2ochain deploy`"
            )


# ------------------------------------------------------------------------------------------
# Deploying

#: Constructor arguments of a contract, from the admin's address and the contracts deployed before it.
ConstructorArgs = Callable[[str, Mapping[str, ContractDeployment]], tuple[Any, ...]]

#: Contracts in deployment order, each with a function giving its constructor arguments.
CONTRACTS: tuple[tuple[str, ConstructorArgs], ...] = (
    ("ProductRegistry", lambda admin, _deployed: (admin,)),
    ("TraceLedger", lambda _admin, deployed: (deployed["ProductRegistry"].address,)),
    ("ConsentRegistry", lambda _admin, _deployed: ()),
    ("PriceGuarantee", lambda _admin, _deployed: ()),
    ("Forwarder", lambda _admin, _deployed: ()),
    (
        "ReviewBoard",
        lambda _admin, d: (d["ProductRegistry"].address, d["PriceGuarantee"].address, d["Forwarder"].address),
    ),
    ("CouponBook", lambda _admin, d: (d["PriceGuarantee"].address,)),
)
#: The names of :data:`CONTRACTS`, in deployment order.
DEPLOY_ORDER = tuple(name for name, _ in CONTRACTS)


def deploy(w3: Web3, account: Signer, *, admin: str | None = None) -> Deployment:
    """Deploy every o2ochain contract from ``account``; ``admin`` (default: the deployer) runs them.

    Returns the :class:`Deployment`; saving its manifest is the caller's choice
    (:meth:`Deployment.save`).
    """
    from web3 import Web3

    from o2ochain._chain.tx import Sender

    sender = Sender(w3, account)
    admin_address = inputs.address(admin, "admin") if admin else Web3.to_checksum_address(sender.address)
    deployed: dict[str, ContractDeployment] = {}
    for name, constructor_args in CONTRACTS:
        art = artifact(name)
        factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        args = constructor_args(admin_address, deployed)
        receipt = sender.transact(factory.constructor(*args), label=f"deploying {name}")
        address = receipt.get("contractAddress")
        if not address:
            raise ChainError(f"deploying {name} created no contract (transaction 0x{bytes(receipt['transactionHash']).hex()})")
        deployed[name] = ContractDeployment(
            address=Web3.to_checksum_address(address),
            block=int(receipt["blockNumber"]),
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        )
    genesis = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    return Deployment(chain_id=sender.chain_id, contracts=deployed, deployer=sender.address, version=__version__, genesis=genesis)
