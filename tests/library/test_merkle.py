"""Merkle trees compatible with OpenZeppelin's MerkleProof, and the proofs file."""

from __future__ import annotations

import json
import os
import time
from datetime import date
from pathlib import Path

import pytest
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from o2ochain.errors import InputError
from o2ochain.gs1 import item_id, lot_id
from o2ochain.identity import PROOFS_FORMAT, CatalogueItem, MerkleTree, leaf_hash, read_proofs, write_proofs

GTIN = "09506000134352"
leaf_lists = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70, unique=True)


def pair(a: bytes, b: bytes) -> bytes:
    """Independent sorted-pair hash, as OpenZeppelin's Hashes.commutativeKeccak256."""
    return keccak(min(a, b) + max(a, b))


def leaf(n: int) -> bytes:
    return keccak(n.to_bytes(32, "big"))


def make_items(count: int, lot: str = "L1") -> list[CatalogueItem]:
    return [CatalogueItem(GTIN, f"S{i:06d}", lot, date(2026, 12, 31), i + 2) for i in range(count)]


# --------------------------------------------------------------------------------------------
# leaf and layout


def test_leaf_hash_is_openzeppelin_standard_leaf() -> None:
    item, lot = item_id(GTIN, "ABC"), lot_id(GTIN, "L1")
    # keccak256(bytes.concat(keccak256(abi.encode(bytes32, bytes32)))): abi.encode is concat.
    assert leaf_hash(item, lot) == keccak(keccak(item + lot))


def test_leaf_hash_refuses_short_ids() -> None:
    with pytest.raises(InputError, match="32 bytes"):
        leaf_hash(b"\x01", bytes(32))


def test_merkle_tree_single_leaf_is_its_own_root() -> None:
    tree = MerkleTree([leaf(1)])
    assert tree.root == leaf(1)
    assert tree.proof(leaf(1)) == []
    assert MerkleTree.verify([], tree.root, leaf(1))


def test_merkle_tree_matches_openzeppelin_layout_for_three_leaves() -> None:
    a, b, c = sorted([leaf(1), leaf(2), leaf(3)])
    tree = MerkleTree([c, a, b])
    # StandardMerkleTree: tree[4]=a, tree[3]=b, tree[2]=c, tree[1]=H(b,a), tree[0]=H(tree[1],c)
    assert tree.root == pair(pair(a, b), c)
    assert tree.proof(a) == [b, c]
    assert tree.proof(c) == [pair(a, b)]
    assert tree.leaves == [a, b, c]


def test_merkle_tree_root_does_not_depend_on_input_order() -> None:
    leaves = [leaf(i) for i in range(25)]
    assert MerkleTree(leaves).root == MerkleTree(reversed(leaves)).root


def test_merkle_tree_refuses_duplicates_and_empty_and_bad_leaves() -> None:
    with pytest.raises(InputError, match="appears twice"):
        MerkleTree([leaf(1), leaf(2), leaf(1)])
    with pytest.raises(InputError, match="at least one leaf"):
        MerkleTree([])
    with pytest.raises(InputError, match="32 bytes"):
        MerkleTree([b"short"])


def test_merkle_tree_refuses_more_than_2_pow_20_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("o2ochain.identity._merkle.MAX_LEAVES", 4)
    with pytest.raises(InputError, match="more than the 4"):
        MerkleTree([leaf(i) for i in range(5)])


def test_merkle_tree_proof_of_unknown_leaf_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not in this tree"):
        MerkleTree([leaf(1), leaf(2)]).proof(leaf(3))


@settings(max_examples=150, deadline=None)
@given(leaf_lists)
def test_merkle_tree_every_proof_verifies(leaves: list[bytes]) -> None:
    tree = MerkleTree(leaves)
    proofs = tree.proofs()
    assert set(proofs) == set(leaves)
    for value in leaves:
        assert proofs[value] == tree.proof(value)
        assert MerkleTree.verify(proofs[value], tree.root, value)
        # Independent fold, as MerkleProof.processProof does it.
        node = value
        for sibling in proofs[value]:
            node = pair(node, sibling)
        assert node == tree.root


@settings(max_examples=100, deadline=None)
@given(leaf_lists.filter(lambda xs: len(xs) >= 2), st.data())
def test_merkle_tree_proof_fails_for_another_leaf(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    i, j = data.draw(st.lists(st.integers(0, len(leaves) - 1), min_size=2, max_size=2, unique=True))
    assert not MerkleTree.verify(tree.proof(leaves[i]), tree.root, leaves[j])


@settings(deadline=None)
@given(leaf_lists)
def test_merkle_tree_proof_fails_against_another_root(leaves: list[bytes]) -> None:
    tree = MerkleTree(leaves)
    other = keccak(tree.root)
    assert not MerkleTree.verify(tree.proof(leaves[0]), other, leaves[0])


def test_merkle_tree_builds_100k_leaves_and_all_proofs_quickly() -> None:
    leaves = [leaf(i) for i in range(100_000)]
    started = time.perf_counter()
    tree = MerkleTree(leaves)
    proofs = tree.proofs()
    elapsed = time.perf_counter() - started
    assert len(proofs) == 100_000
    assert max(len(p) for p in proofs.values()) == 17
    assert MerkleTree.verify(proofs[leaves[12345]], tree.root, leaves[12345])
    assert elapsed < 3.0, f"tree + proofs took {elapsed:.2f}s"


# --------------------------------------------------------------------------------------------
# proofs file


def tree_for(items: list[CatalogueItem]) -> MerkleTree:
    return MerkleTree(leaf_hash(i.item_id, i.lot_id) for i in items)


def test_write_proofs_writes_header_and_one_line_per_item(tmp_path: Path) -> None:
    items = [*make_items(5), CatalogueItem(GTIN, 'A"/%', "L1", date(2026, 12, 31), 99)]
    tree = tree_for(items)
    path = write_proofs(tmp_path / "lot.proofs.jsonl", tree, items, "https://brand.example")
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["format"] == PROOFS_FORMAT
    assert header["root"] == "0x" + tree.root.hex()
    assert header["lot_id"] == "0x" + lot_id(GTIN, "L1").hex()
    assert header["count"] == 6
    records = [json.loads(line) for line in lines[1:]]
    assert [r["serial"] for r in records] == [i.serial for i in items]
    last = records[-1]
    assert last["gtin"] == GTIN
    assert last["expiry"] == "2026-12-31"
    assert last["item_id"] == "0x" + item_id(GTIN, 'A"/%').hex()
    assert last["digital_link"] == ("https://brand.example/01/09506000134352/10/L1/21/A%22%2F%25?17=261231")
    for record in records:
        proof = [bytes.fromhex(p[2:]) for p in record["proof"]]
        assert MerkleTree.verify(proof, tree.root, bytes.fromhex(record["leaf"][2:]))


def test_write_proofs_header_lot_id_is_null_for_mixed_lots(tmp_path: Path) -> None:
    items = [*make_items(2, "A"), CatalogueItem(GTIN, "X", "B", None, 9)]
    path = write_proofs(tmp_path / "p.jsonl", tree_for(items), items)
    header, records = read_proofs(path)
    assert header["lot_id"] is None
    rows = list(records)
    assert rows[-1]["lot_id"] == "0x" + lot_id(GTIN, "B").hex()
    assert rows[-1]["expiry"] is None


def test_read_proofs_streams_what_write_proofs_wrote(tmp_path: Path) -> None:
    items = make_items(300)
    tree = tree_for(items)
    header, records = read_proofs(write_proofs(tmp_path / "p.jsonl", tree, items))
    assert header["count"] == 300
    assert sum(1 for _ in records) == 300


def test_write_proofs_refuses_items_not_in_tree_and_leaves_no_file(tmp_path: Path) -> None:
    items = make_items(4)
    tree = tree_for(items)
    stranger = [*items[:3], CatalogueItem(GTIN, "NOT-IN-TREE", "L1", None, 77)]
    target = tmp_path / "p.jsonl"
    with pytest.raises(InputError, match="not in the tree") as info:
        write_proofs(target, tree, stranger)
    assert info.value.line == 77
    assert os.listdir(tmp_path) == []


def test_write_proofs_refuses_repeated_item(tmp_path: Path) -> None:
    items = make_items(4)
    with pytest.raises(InputError, match="given twice") as info:
        write_proofs(tmp_path / "p.jsonl", tree_for(items), [*items[:3], items[1]])
    assert info.value.line == items[1].line
    assert os.listdir(tmp_path) == []


def test_write_proofs_refuses_count_mismatch(tmp_path: Path) -> None:
    items = make_items(4)
    with pytest.raises(InputError, match="4 leaves but 3 items"):
        write_proofs(tmp_path / "p.jsonl", tree_for(items), items[:3])


def test_write_proofs_keeps_old_file_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "p.jsonl"
    target.write_text("previous complete file\n")
    items = make_items(50)
    tree = tree_for(items)

    def crash(*_args: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr("o2ochain.identity._merkle.render_uri", crash)
    with pytest.raises(OSError, match="disk full"):
        write_proofs(target, tree, items)
    assert target.read_text() == "previous complete file\n"
    assert sorted(os.listdir(tmp_path)) == ["p.jsonl"]


def test_read_proofs_refuses_other_files(tmp_path: Path) -> None:
    other = tmp_path / "x.jsonl"
    other.write_text('{"format": "something else"}\n')
    with pytest.raises(InputError, match="not a proofs file"):
        read_proofs(other)
    with pytest.raises(InputError, match="cannot read"):
        read_proofs(tmp_path / "missing.jsonl")
