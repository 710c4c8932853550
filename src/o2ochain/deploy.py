"""The one deploy routine, used by the CLI, the ape script (``ape run deploy``) and the tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from o2ochain import __version__
from o2ochain._artifacts import artifact
from o2ochain._tx import Sender
from o2ochain.deployments import ContractDeployment, Deployment
from o2ochain.errors import ChainError

__all__ = ["CONTRACTS", "DEPLOY_ORDER", "deploy"]

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


def deploy(w3: Web3, account: LocalAccount, *, admin: str | None = None) -> Deployment:
    """Deploy every o2ochain contract from ``account``; ``admin`` (default: the deployer) runs them.

    Returns the :class:`Deployment`; saving its manifest is the caller's choice
    (:meth:`Deployment.save`).
    """
    sender = Sender(w3, account)
    admin_address = Web3.to_checksum_address(admin or account.address)
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
    return Deployment(chain_id=sender.chain_id, contracts=deployed, deployer=account.address, version=__version__, genesis=genesis)
