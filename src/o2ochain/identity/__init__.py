"""Product identity: brands, product classes, items and lots on the ProductRegistry.

Read-only access is :class:`Identity` (``chain.identity``): an item's verdict (authentic,
claimed, recalled, decommissioned, not registered) from its Digital Link or id. Every write goes
through a role object holding a signer: :class:`RegistryAdmin` (brands and their GS1 company
prefixes), :class:`BrandAdmin` (keys, product classes, recalls), :class:`Registrant` (items, one
record each or a Merkle root per lot, and recalls), :class:`Seller` (first-sale claims at the
till) and :class:`Consumer`.

What a brand registers comes from its catalogue: :func:`read_catalogue` reads and checks a CSV
(every problem of every row at once, nothing written), :func:`check_catalogue` checks one of any
size in constant memory, :func:`catalogue_from_rows` the same rows built in Python. A lot registered by one root is a :class:`MerkleTree` that OpenZeppelin's
``MerkleProof`` verifies; each item's proof goes to a JSON Lines file (:func:`write_proofs`,
:func:`read_proofs`, :func:`find_proof`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from o2ochain.identity._catalogue import (
    COLUMN_ALIASES,
    CatalogueItem,
    CatalogueSummary,
    catalogue_from_rows,
    check_catalogue,
    group_by_lot,
    read_catalogue,
)
from o2ochain.identity._merkle import MAX_LEAVES, PROOFS_FORMAT, MerkleTree, ProofRecord, ProofsHeader, leaf_hash, read_proofs, write_proofs
from o2ochain.identity._refs import resolve_ref

# The reader and the roles stand on web3, imported when first asked for: what reads an item
# reference without web3 (o2ochain.trace._light, `o2ochain trace show --index`) does not pay for it.
if TYPE_CHECKING:
    from o2ochain.identity._registry import (
        CLAIM_TYPES,
        BrandAdmin,
        BrandInfo,
        Consumer,
        Identity,
        ItemStatus,
        LotCommitment,
        MerkleItem,
        ProductionLine,
        Registrant,
        RegistrationReport,
        RegistryAdmin,
        Seller,
        Verification,
        find_proof,
    )

_ON_WEB3 = frozenset(
    {
        "CLAIM_TYPES",
        "BrandAdmin",
        "BrandInfo",
        "Consumer",
        "Identity",
        "ItemStatus",
        "LotCommitment",
        "MerkleItem",
        "ProductionLine",
        "Registrant",
        "RegistrationReport",
        "RegistryAdmin",
        "Seller",
        "Verification",
        "find_proof",
    }
)


def __getattr__(name: str) -> Any:
    if name in _ON_WEB3:
        from o2ochain.identity import _registry

        return getattr(_registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CLAIM_TYPES",
    "COLUMN_ALIASES",
    "MAX_LEAVES",
    "PROOFS_FORMAT",
    "BrandAdmin",
    "BrandInfo",
    "CatalogueItem",
    "CatalogueSummary",
    "Consumer",
    "Identity",
    "ItemStatus",
    "LotCommitment",
    "MerkleItem",
    "MerkleTree",
    "ProductionLine",
    "ProofRecord",
    "ProofsHeader",
    "Registrant",
    "RegistrationReport",
    "RegistryAdmin",
    "Seller",
    "Verification",
    "catalogue_from_rows",
    "check_catalogue",
    "find_proof",
    "group_by_lot",
    "leaf_hash",
    "read_catalogue",
    "read_proofs",
    "resolve_ref",
    "write_proofs",
]
