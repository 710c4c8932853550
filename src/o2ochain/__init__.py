"""o2ochain: verifiable product identity and traceability for online-and-offline retail.

::

    import o2ochain
    chain = o2ochain.connect("http://127.0.0.1:8545")
    print(chain.identity.verify("https://id.gs1.org/01/09506000134352/21/ABC123").verdict)

The names here are the everyday API: :func:`connect` and :class:`O2OChain`, the role objects
that hold a :class:`Signer` (an eth-account key, an ape account through :class:`ApeSigner`, a
hardware wallet or a KMS: the library never needs the key itself), and the exceptions (the whole tree is drawn in :mod:`o2ochain.errors`). Each
concern is a subpackage with public names of its own: :mod:`~o2ochain.gs1` and
:mod:`~o2ochain.epcis` (the standards), :mod:`~o2ochain.identity`, :mod:`~o2ochain.trace`,
:mod:`~o2ochain.consent`, :mod:`~o2ochain.guarantee`, :mod:`~o2ochain.loop` and
:mod:`~o2ochain.shopper`. The command line (:mod:`o2ochain.cli`) and the sample world
(:mod:`o2ochain.demo`) build on the library; importing ``o2ochain`` loads neither.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from o2ochain.errors import (
    ChainError,
    ConfigError,
    ContractRevert,
    InputError,
    InputErrors,
    O2OError,
    TransactionFailed,
)

# The rest loads on first use (PEP 562): web3, eth-account and the role modules take most of a
# second to import, which a command such as `o2ochain trace show` should not pay for what it
# never touches. Type checkers read the imports below; tests/library/test_layout.py checks that
# they and _LAZY name the same things.
if TYPE_CHECKING:
    from o2ochain._chain.signers import ApeSigner, Signer
    from o2ochain.client import O2OChain, connect
    from o2ochain.deployments import Deployment, load_deployment
    from o2ochain.guarantee import (
        Buyer,
        ChannelKey,
        Entitlement,
        GuaranteeReader,
        Keeper,
        KeeperAction,
        KeyInfo,
        Offer,
        Policy,
        PolicyRecord,
        Purchase,
        Release,
        RetailerAdmin,
        RetailerInfo,
    )
    from o2ochain.identity import (
        BrandAdmin,
        Consumer,
        Identity,
        ItemStatus,
        MerkleItem,
        Registrant,
        RegistrationReport,
        RegistryAdmin,
        Seller,
        Verification,
    )

__all__ = [
    "ApeSigner",
    "BrandAdmin",
    "Buyer",
    "ChainError",
    "ChannelKey",
    "ConfigError",
    "Consumer",
    "ContractRevert",
    "Deployment",
    "Entitlement",
    "GuaranteeReader",
    "Identity",
    "InputError",
    "InputErrors",
    "ItemStatus",
    "Keeper",
    "KeeperAction",
    "KeyInfo",
    "MerkleItem",
    "O2OChain",
    "O2OError",
    "Offer",
    "Policy",
    "PolicyRecord",
    "Purchase",
    "Registrant",
    "RegistrationReport",
    "RegistryAdmin",
    "Release",
    "RetailerAdmin",
    "RetailerInfo",
    "Seller",
    "Signer",
    "TransactionFailed",
    "Verification",
    "__version__",
    "connect",
    "load_deployment",
]


#: Where each public name lives (imported on first access).
_LAZY: dict[str, str] = {
    **dict.fromkeys(("ApeSigner", "Signer"), "o2ochain._chain.signers"),
    **dict.fromkeys(("O2OChain", "connect"), "o2ochain.client"),
    **dict.fromkeys(("Deployment", "load_deployment"), "o2ochain.deployments"),
    **dict.fromkeys(
        (
            "Buyer",
            "ChannelKey",
            "Entitlement",
            "GuaranteeReader",
            "Keeper",
            "KeeperAction",
            "KeyInfo",
            "Offer",
            "Policy",
            "PolicyRecord",
            "Purchase",
            "Release",
            "RetailerAdmin",
            "RetailerInfo",
        ),
        "o2ochain.guarantee",
    ),
    **dict.fromkeys(
        (
            "BrandAdmin",
            "Consumer",
            "Identity",
            "ItemStatus",
            "MerkleItem",
            "Registrant",
            "RegistrationReport",
            "RegistryAdmin",
            "Seller",
            "Verification",
        ),
        "o2ochain.identity",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'o2ochain' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
