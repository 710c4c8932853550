"""Merkle trees that OpenZeppelin's ``MerkleProof`` verifies, for registering lots by one root.

A brand with 100,000 items need not write 100,000 storage slots: it commits the root of a Merkle
tree over its items, and each item later proves membership with a proof of about 17 hashes.
The tree is built exactly like OpenZeppelin's ``StandardMerkleTree`` (``@openzeppelin/merkle-tree``)
for leaves of type ``(bytes32 itemId, bytes32 lotId)``:

- leaf = ``keccak256(bytes.concat(keccak256(abi.encode(itemId, lotId))))`` — hashed twice so
  that a leaf can never be mistaken for an inner node (second pre-image attack);
- leaves sorted ascending by hash, laid out as a complete binary tree in an array (root at 0,
  leaf ``i`` at ``len - 1 - i``), inner node = ``keccak256(sort(left, right))``;

so the root equals ``StandardMerkleTree.of(values, ["bytes32", "bytes32"]).root`` and every proof
passes ``MerkleProof.verify(proof, root, leaf)`` on chain.

Proof files are JSON Lines (one JSON object per line) so that a million proofs can be written
and read in constant memory and a printing line can take one item at a time; see
:func:`write_proofs`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TypedDict, cast

from o2ochain._chain.util import atomic_file, hex0x
from o2ochain.errors import InputError
from o2ochain.gs1 import DEFAULT_RESOLVER, check_resolver, keccak256, render_uri
from o2ochain.identity._catalogue import CatalogueItem

MAX_LEAVES: Final = 2**20
"""Largest tree we build: proofs stay at most 20 hashes, and memory at about 200 MB."""

PROOFS_FORMAT: Final = "o2ochain.proofs/1"
"""Value of ``format`` in the header line of a proofs file."""


def leaf_hash(item_id: bytes, lot_id: bytes) -> bytes:
    """OpenZeppelin standard leaf of ``(bytes32 itemId, bytes32 lotId)``.

    ``abi.encode`` of two ``bytes32`` is their plain concatenation, so this is
    ``keccak256(keccak256(item_id + lot_id))``.
    """
    if len(item_id) != 32 or len(lot_id) != 32:
        raise InputError("item id and lot id must be 32 bytes each", field="leaf")
    return keccak256(keccak256(item_id + lot_id))


def _hash_pair(a: bytes, b: bytes) -> bytes:
    """Commutative node hash, as ``MerkleProof`` computes it."""
    return keccak256(a + b if a < b else b + a)


class MerkleTree:
    """An OpenZeppelin-compatible Merkle tree over distinct 32-byte leaf hashes.

    Build it from :func:`leaf_hash` values; the order given does not matter (leaves are
    sorted), so the same items always give the same root — which lets an interrupted import be
    rerun and recognise a root it already committed.
    """

    __slots__ = ("_index", "_tree")

    def __init__(self, leaves: Iterable[bytes]) -> None:
        ordered = sorted(bytes(leaf) for leaf in leaves)
        count = len(ordered)
        if count == 0:
            raise InputError("a Merkle tree needs at least one leaf", field="leaf")
        if count > MAX_LEAVES:
            raise InputError(
                f"{count} leaves is more than the {MAX_LEAVES} a tree may hold; split the lot",
                field="leaf",
            )
        for position, leaf in enumerate(ordered):
            if len(leaf) != 32:
                raise InputError(f"a leaf must be 32 bytes, got {len(leaf)}", field="leaf")
            if position and leaf == ordered[position - 1]:
                raise InputError(
                    f"leaf 0x{leaf.hex()} appears twice; every item must be in the tree once",
                    field="leaf",
                    value="0x" + leaf.hex(),
                )
        size = 2 * count - 1
        tree: list[bytes] = [b""] * size
        tree[size - count :] = ordered[::-1]
        keccak = keccak256
        for i in range(size - count - 1, -1, -1):
            left = tree[2 * i + 1]
            right = tree[2 * i + 2]
            tree[i] = keccak(left + right if left < right else right + left)
        self._tree = tree
        self._index = {leaf: size - 1 - i for i, leaf in enumerate(ordered)}

    def __len__(self) -> int:
        """Number of leaves."""
        return len(self._index)

    def __contains__(self, leaf: object) -> bool:
        return leaf in self._index

    @property
    def root(self) -> bytes:
        """The 32-byte root to commit on chain."""
        return self._tree[0]

    @property
    def leaves(self) -> list[bytes]:
        """Leaves in tree order (ascending by hash)."""
        size = len(self._tree)
        return [self._tree[size - 1 - i] for i in range(len(self._index))]

    def proof(self, leaf: bytes) -> list[bytes]:
        """Sibling hashes from ``leaf`` up to the root, as ``MerkleProof.verify`` takes them."""
        index = self._index.get(bytes(leaf))
        if index is None:
            raise InputError(f"leaf 0x{bytes(leaf).hex()} is not in this tree", field="leaf")
        tree = self._tree
        path: list[bytes] = []
        while index > 0:
            path.append(tree[index + 1 if index % 2 else index - 1])
            index = (index - 1) // 2
        return path

    def proofs(self) -> dict[bytes, list[bytes]]:
        """Every leaf's proof, computed top-down so that shared upper paths are built once.

        Holds every proof in memory (about 40 MB per 100,000 leaves); :func:`write_proofs`
        streams instead and is the way to handle a million items.
        """
        tree = self._tree
        size = len(tree)
        # paths[i] is the proof of node i; a child's proof is its sibling + its parent's proof.
        paths: list[list[bytes]] = [[]] * size
        for i in range(1, size):
            sibling = tree[i + 1 if i % 2 else i - 1]
            paths[i] = [sibling, *paths[(i - 1) // 2]]
        return {leaf: paths[index] for leaf, index in self._index.items()}

    @staticmethod
    def verify(proof: Sequence[bytes], root: bytes, leaf: bytes) -> bool:
        """True when ``proof`` takes ``leaf`` to ``root`` (what ``MerkleProof.verify`` checks)."""
        node = bytes(leaf)
        for sibling in proof:
            node = _hash_pair(node, bytes(sibling))
        return node == bytes(root)


class ProofsHeader(TypedDict):
    """First line of a proofs file."""

    format: str
    root: str
    lot_id: str | None
    count: int
    leaf: str
    tree: str


class ProofRecord(TypedDict):
    """One item line of a proofs file; hex values are ``0x``-prefixed."""

    gtin: str
    serial: str
    lot: str
    expiry: str | None
    item_id: str
    lot_id: str
    leaf: str
    proof: list[str]
    digital_link: str


def _json_string(text: str) -> str:
    """JSON string literal for a GS1 value; set 82 has no backslash or control character."""
    return f'"{text}"' if '"' not in text else json.dumps(text)


_SHARED_PROOF_NODES: Final = 1 << 12


def _hex_prover(tree: MerkleTree) -> Callable[[bytes], str]:
    """Return ``leaf -> proof`` rendered as the inside of a JSON array of hex strings.

    Every leaf under the same upper node shares that node's part of the proof, so the rendered
    proofs of the top 4,096 nodes are computed once (a few MB whatever the tree size) and each
    leaf only walks up to the first of them. This keeps a million-item proofs file fast and in
    bounded extra memory.
    """
    nodes = tree._tree
    index_of = tree._index
    shared = min(len(nodes), _SHARED_PROOF_NODES)
    upper: list[str] = [""] * shared
    for i in range(1, shared):
        sibling = f'"0x{nodes[i + 1 if i % 2 else i - 1].hex()}"'
        above = upper[(i - 1) // 2]
        upper[i] = f"{sibling},{above}" if above else sibling

    def prove(leaf: bytes) -> str:
        index = index_of[leaf]
        path: list[str] = []
        while index >= shared:
            path.append(f'"0x{nodes[index + 1 if index % 2 else index - 1].hex()}"')
            index = (index - 1) // 2
        if upper[index]:
            path.append(upper[index])
        return ",".join(path)

    return prove


def write_proofs(
    path: str | Path,
    tree: MerkleTree,
    items: Sequence[CatalogueItem],
    resolver: str = DEFAULT_RESOLVER,
) -> Path:
    """Write every item's Merkle proof to ``path`` as JSON Lines, atomically.

    Line 1 is a :class:`ProofsHeader` (``root``, ``count``, and ``lot_id`` when all items share
    one lot, else ``null``); each further line is a :class:`ProofRecord` in the order of
    ``items``. The file is written to a temporary name in the same directory and renamed over
    ``path`` only when complete, so a crash never leaves half a proofs file behind. Every item
    must be a leaf of ``tree`` and every leaf must have its item; otherwise nothing is written.
    """
    if len(items) != len(tree):
        raise InputError(f"the tree has {len(tree)} leaves but {len(items)} items were given", field="items")
    lots = {(item.gtin, item.lot) for item in items}
    common_lot = next(iter(lots)) if len(lots) == 1 else None
    header: ProofsHeader = {
        "format": PROOFS_FORMAT,
        "root": hex0x(tree.root),
        "lot_id": hex0x(items[0].lot_id) if common_lot is not None else None,
        "count": len(items),
        "leaf": "keccak256(bytes.concat(keccak256(abi.encode(bytes32 itemId, bytes32 lotId))))",
        "tree": "OpenZeppelin StandardMerkleTree (sorted leaves, sorted-pair keccak256)",
    }
    link_base = check_resolver(resolver)
    target = Path(path)
    hex_proof = _hex_prover(tree)
    index_of = tree._index
    written = bytearray(len(tree._tree))  # one byte per node: bounded, unlike a set of leaves
    quote = _json_string
    with atomic_file(target, text=True) as out:
        out.write(json.dumps(header, separators=(",", ":")) + "\n")
        lot_ids: dict[tuple[str, str], tuple[bytes, str]] = {}
        for item in items:
            key = (item.gtin, item.lot)
            lot = lot_ids.get(key)
            if lot is None:
                lot_bytes = item.lot_id
                lot = lot_ids[key] = (lot_bytes, "0x" + lot_bytes.hex())
            ident = item.item_id
            leaf = keccak256(keccak256(ident + lot[0]))
            index = index_of.get(leaf)
            if index is None or written[index]:
                problem = "is not in the tree" if index is None else "is given twice"
                raise InputError(
                    f"item GTIN {item.gtin} serial {item.serial!r} {problem}",
                    line=item.line,
                    field="serial",
                )
            written[index] = 1
            expiry = item.expiry
            expiry_json = "null" if expiry is None else f'"{expiry.isoformat()}"'
            uri = render_uri(link_base, item.gtin, item.serial, item.lot, expiry)
            out.write(
                f'{{"gtin":"{item.gtin}","serial":{quote(item.serial)},"lot":{quote(item.lot)},'
                f'"expiry":{expiry_json},"item_id":"0x{ident.hex()}","lot_id":"{lot[1]}",'
                f'"leaf":"0x{leaf.hex()}","proof":[{hex_proof(leaf)}],"digital_link":"{uri}"}}\n'
            )
    return target


def read_proofs(path: str | Path) -> tuple[ProofsHeader, Iterator[ProofRecord]]:
    """Open a proofs file: its header now, its records lazily (constant memory)."""
    name = str(path)
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the generator below
    except OSError as exc:
        raise InputError(f"cannot read proofs file: {exc.strerror or exc}", file=name) from None
    try:
        first = handle.readline()
        header: Any = json.loads(first) if first.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        handle.close()
        raise InputError(f"not a proofs file: {exc}", file=name, line=1) from None
    if not isinstance(header, dict) or header.get("format") != PROOFS_FORMAT:
        handle.close()
        raise InputError(f"not a proofs file (expected format {PROOFS_FORMAT})", file=name, line=1)

    def records() -> Iterator[ProofRecord]:
        with handle:
            for number, line in enumerate(handle, start=2):
                if not line.strip():
                    continue
                try:
                    record: ProofRecord = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"broken line: {exc}", file=name, line=number) from None
                yield record

    return cast(ProofsHeader, header), records()
