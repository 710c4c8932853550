"""The Python library against an in-process chain (eth-tester): roles, import, verify, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

import o2ochain
from o2ochain import gs1
from o2ochain._chain.revert import decode_revert
from o2ochain.errors import ConfigError, ContractRevert, InputError, InputErrors, by_name
from o2ochain.identity import ItemStatus, MerkleItem, MerkleTree, leaf_hash, read_catalogue
from tests.conftest import GTIN_A, GTIN_B, GTIN_OTHER_BRAND, OTHER_PREFIX, World, gtin, sample_rows, write_csv


def link(gtin: str, serial: str, lot: str | None = None) -> str:
    return gs1.DigitalLink(gtin=gtin, serial=serial, lot=lot).uri()


# -- deployment manifests ------------------------------------------------------------------
def test_deploy_writes_manifest_that_connect_reads(world: World, tmp_path: Path) -> None:
    manifest = tmp_path / "deployments" / f"{world.chain.chain_id}.json"
    data = json.loads(manifest.read_text())
    assert data["chainId"] == world.chain.chain_id
    assert data["contracts"]["ProductRegistry"]["address"] == world.chain.identity.address
    assert data["contracts"]["ProductRegistry"]["block"] >= 1
    loaded = o2ochain.load_deployment(world.chain.w3, tmp_path / "deployments")
    assert loaded.address("ProductRegistry") == world.chain.identity.address


def test_load_deployment_refuses_wrong_chain_id(world: World, tmp_path: Path) -> None:
    manifest = tmp_path / "deployments" / f"{world.chain.chain_id}.json"
    data = json.loads(manifest.read_text())
    data["chainId"] = 11155111
    wrong = tmp_path / "sepolia.json"
    wrong.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"wrong chain: .* chain id 11155111, but the node answers chain id"):
        o2ochain.load_deployment(world.chain.w3, wrong)


def test_load_deployment_refuses_manifest_of_another_chain_with_same_id(world: World, tmp_path: Path) -> None:
    fresh = o2ochain.connect("tester")  # same chain id, different chain
    fresh.w3.eth.send_transaction({"from": fresh.accounts[0].address, "to": fresh.accounts[1].address, "value": 1})
    with pytest.raises(ConfigError, match=r"no contract at|genesis"):
        o2ochain.load_deployment(fresh.w3, tmp_path / "deployments")


def test_load_deployment_reports_missing_manifest(world: World, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no o2ochain deployment for chain"):
        o2ochain.load_deployment(world.chain.w3, tmp_path / "nowhere")


# -- registration from CSV -------------------------------------------------------------------
def test_register_items_registers_each_row_once(world: World, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "items.csv", sample_rows(120) + sample_rows(30, gtin14=GTIN_B, lot="L2"))
    items = read_catalogue(csv_path)
    registrant = world.chain.registrant(world.registrant)
    seen: list[tuple[int, int]] = []
    report = registrant.register_items(items, items_per_tx=50, progress=lambda d, t: seen.append((d, t)))
    assert (report.total, report.registered, report.already) == (150, 150, 0)
    assert report.transactions == 3
    assert seen[-1] == (150, 150)
    assert all(world.chain.identity.registered([it.item_id for it in items]))


def test_register_items_rerun_registers_nothing_twice(world: World, tmp_path: Path) -> None:
    rows = sample_rows(80)
    registrant = world.chain.registrant(world.registrant)
    first = registrant.register_items(read_catalogue(write_csv(tmp_path / "half.csv", rows[:35])))
    assert first.registered == 35
    again = registrant.register_items(read_catalogue(write_csv(tmp_path / "all.csv", rows)))
    assert (again.registered, again.already) == (45, 35)
    events = world.chain.identity.contract.events.ItemRegistered().get_logs(from_block=0)
    assert len(events) == 80
    assert len({e["args"]["item"] for e in events}) == 80


def test_register_items_refuses_unregistered_product_before_sending(world: World, tmp_path: Path) -> None:
    unknown = "09506000999990"
    unknown = unknown[:13] + str(gs1.gtin_check_digit(unknown[:13]))
    csv_path = write_csv(tmp_path / "items.csv", [*sample_rows(3), [unknown, "X1", "L9", ""]])
    with pytest.raises(InputErrors) as info:
        world.chain.registrant(world.registrant).register_items(read_catalogue(csv_path))
    (problem,) = info.value.errors
    assert (problem.line, problem.field) == (5, "gtin")
    assert "not registered on chain" in problem.message
    assert not any(world.chain.identity.registered([gs1.item_id(GTIN_A, "S000000")]))


def test_register_items_refuses_account_without_registrant_role(world: World, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "items.csv", sample_rows(2))
    with pytest.raises(InputErrors, match="is not a registrant of brand"):
        world.chain.registrant(world.outsider).register_items(read_catalogue(csv_path))


def test_register_items_refuses_other_brands_gtin(world: World, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "items.csv", sample_rows(2, gtin14=GTIN_OTHER_BRAND))
    with pytest.raises(InputErrors, match=f"not a registrant of brand {world.other_brand}"):
        world.chain.registrant(world.registrant).register_items(read_catalogue(csv_path))


def test_register_product_outside_brand_prefix_raises_decoded_error(world: World) -> None:
    foreign = gtin(OTHER_PREFIX, 99)
    with pytest.raises(by_name("IdentityGtinNotOfBrand")) as info:
        world.chain.brand(world.brand_admin, world.brand).add_product(foreign)
    assert info.value.gtin == gs1.gtin_to_int(foreign)
    assert info.value.brand == world.brand
    assert "0x" + info.value.selector.hex() not in str(info.value)


# -- verification ----------------------------------------------------------------------------
def test_verify_unknown_item_is_not_registered(world: World) -> None:
    result = world.chain.identity.verify(link(GTIN_A, "NEVER"))
    assert not result.registered
    assert result.verdict == "not registered"
    assert result.gtin == GTIN_A


def test_verify_registered_item_by_uri_and_by_id(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(3)))
    world.chain.registrant(world.registrant).register_items(items)
    by_uri = world.chain.identity.verify(items[0].digital_link().uri())
    by_id = world.chain.identity.verify("0x" + items[0].item_id.hex())
    assert by_uri.verdict == by_id.verdict == "authentic"
    assert (by_uri.brand, by_uri.gtin, by_uri.lot, by_uri.status) == (world.brand, GTIN_A, "L1", ItemStatus.ACTIVE)
    assert by_uri.expiry is not None and by_uri.expiry.isoformat() == "2027-06-30"
    assert by_id.item_id == by_uri.item_id


def test_claim_then_second_claim_refused_and_shown(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(2)))
    world.chain.registrant(world.registrant).register_items(items)
    seller = world.chain.seller(world.seller)
    uri = items[0].digital_link().uri()
    seller.claim(uri, world.buyer.address)
    with pytest.raises(by_name("IdentityItemAlreadyClaimed")) as info:
        seller.claim(uri, world.outsider.address)
    assert info.value.owner == world.buyer.address
    assert bytes(info.value.item) == items[0].item_id
    result = world.chain.identity.verify(uri)
    assert result.verdict == "claimed"
    assert result.claimed_by == world.buyer.address


def test_claim_refused_to_outsider(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(1)))
    world.chain.registrant(world.registrant).register_items(items)
    with pytest.raises(ContractRevert) as info:
        world.chain.seller(world.outsider).claim(items[0].item_id, world.outsider.address)
    assert info.value.error_name in {"AccessControlUnauthorizedAccount", "IdentityNotSeller"}


def test_signed_claim_submitted_by_buyer(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(1)))
    world.chain.registrant(world.registrant).register_items(items)
    signed = world.chain.seller(world.seller).sign_claim(items[0].item_id, world.buyer.address)
    world.chain.consumer(world.buyer).claim_with_signature(signed)
    assert world.chain.identity.verify(items[0].item_id).claimed_by == world.buyer.address


def test_signed_claim_by_non_seller_refused(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(1)))
    world.chain.registrant(world.registrant).register_items(items)
    forged = world.chain.seller(world.outsider).sign_claim(items[0].item_id, world.outsider.address)
    with pytest.raises(by_name("IdentitySignerNotSeller")) as info:
        world.chain.consumer(world.outsider).claim_with_signature(forged)
    assert (info.value.signer, info.value.brand) == (world.outsider.address, world.brand)


def test_recall_lot_shows_in_verify(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(3)))
    world.chain.registrant(world.registrant).register_items(items)
    world.chain.registrant(world.registrant).recall_lot(GTIN_A, "L1", reason=4)
    result = world.chain.identity.verify(items[2].digital_link())
    assert result.lot_recalled
    assert result.verdict == "recalled"


def test_recall_and_decommission_single_items(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(2)))
    registrant = world.chain.registrant(world.registrant)
    registrant.register_items(items)
    registrant.recall_item(items[0].item_id, reason=2)
    registrant.decommission(items[1].item_id, reason=3)
    assert world.chain.identity.verify(items[0].item_id).status == ItemStatus.RECALLED
    assert world.chain.identity.verify(items[1].item_id).verdict == "decommissioned"


# -- Merkle lots -------------------------------------------------------------------------------
def test_commit_lots_then_verify_and_claim_with_proof(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "lot.csv", sample_rows(64, lot="M1")))
    registrant = world.chain.registrant(world.registrant)
    (lot,) = registrant.commit_lots(items, proofs_dir=tmp_path / "proofs")
    assert lot.count == 64 and not lot.already
    again = registrant.commit_lots(items, proofs_dir=tmp_path / "proofs")
    assert again[0].already and again[0].root == lot.root

    from o2ochain.identity import find_proof

    proof = find_proof(tmp_path / "proofs", items[5].item_id)
    assert proof is not None and proof.root == lot.root
    result = world.chain.identity.verify(items[5].digital_link(), merkle=proof)
    assert result.registered and result.merkle and result.verdict == "authentic"
    assert not world.chain.identity.verify(items[5].item_id).registered  # not proven yet

    world.chain.seller(world.seller).claim(items[5].item_id, world.buyer.address, merkle=proof)
    after = world.chain.identity.verify(items[5].item_id)
    assert after.registered and after.claimed_by == world.buyer.address


def test_verify_with_proof_of_another_item_refused(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "lot.csv", sample_rows(8, lot="M1")))
    world.chain.registrant(world.registrant).commit_lots(items, proofs_dir=tmp_path / "proofs")
    leaves = [leaf_hash(it.item_id, it.lot_id) for it in items]
    tree = MerkleTree(leaves)
    wrong = MerkleItem(GTIN_A, items[1].serial, "M1", tree.root, tuple(tree.proof(leaves[0])))
    with pytest.raises(by_name("IdentityProofInvalid")) as info:
        world.chain.identity.verify(items[1].item_id, merkle=wrong)
    assert bytes(info.value.item) == items[1].item_id
    assert bytes(info.value.root) == tree.root
    with pytest.raises(InputError, match="the proof given is for item"):
        world.chain.identity.verify(items[2].item_id, merkle=wrong)


# -- errors --------------------------------------------------------------------------------------
def test_every_custom_error_has_a_class_with_named_fields() -> None:
    cls = by_name("IdentityItemAlreadyClaimed")
    assert issubclass(cls, ContractRevert)
    assert cls.field_names == ("item", "owner")
    assert by_name("AccessControlUnauthorizedAccount").field_names == ("account", "neededRole")


def test_decode_revert_unknown_selector_has_no_raw_payload_in_message() -> None:
    exc = decode_revert("0xdeadbeef" + "00" * 64)
    assert "deadbeef" in str(exc)  # the selector names it...
    assert "00" * 32 not in str(exc)  # ...but the payload is not dumped on the user


def test_dev_key_refused_on_public_chain() -> None:
    from o2ochain._chain.accounts import load_account

    with pytest.raises(ConfigError, match="refused on chain 1"):
        load_account("dev:0", chain_id=1)
    assert (
        load_account("dev:0", chain_id=31337).address
        == Account.from_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").address
    )


def test_transaction_reverted_on_chain_is_replayed_for_its_reason(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(1)))
    world.chain.registrant(world.registrant).register_items(items)
    seller = world.chain.seller(world.seller)
    seller.claim(items[0].item_id, world.buyer.address)
    # Skip the simulation (an explicit gas limit) so the failing claim is mined with status 0.
    fn = world.chain.identity.contract.functions.claim(items[0].item_id, world.outsider.address)
    pending = seller.sender.send(fn, gas=200_000)
    with pytest.raises(by_name("IdentityItemAlreadyClaimed")) as info:
        seller.sender.wait([pending])
    assert info.value.owner == world.buyer.address
    receipt = world.chain.w3.eth.get_transaction_receipt(pending.tx_hash)
    assert receipt["status"] == 0


def test_with_retries_retries_transient_errors_then_gives_a_clear_error() -> None:
    import requests

    from o2ochain._chain.tx import with_retries
    from o2ochain.errors import ChainError

    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise requests.exceptions.ConnectionError("connection reset")
        return "ok"

    assert with_retries(flaky, what="eth_blockNumber", base_delay=0.001) == "ok"
    assert len(calls) == 3

    def down() -> str:
        raise requests.exceptions.Timeout("read timed out")

    with pytest.raises(ChainError, match="eth_blockNumber failed after 4 attempts"):
        with_retries(down, what="eth_blockNumber", attempts=4, base_delay=0.001)


def test_nonces_are_assigned_locally_without_waiting(world: World) -> None:
    # Recalling lots no item was registered in yet: cheap writes only the brand's admin may make.
    sender = world.chain.brand(world.brand_admin, world.brand).sender
    contract = world.chain.identity.contract
    start = world.chain.w3.eth.get_transaction_count(world.brand_admin.address)
    fns = [contract.functions.recallLot(gs1.gtin_to_int(GTIN_A), gs1.to_bytes32(f"N{n}"), 1, b"\x00" * 32) for n in range(5)]
    pending = [sender.send(fn) for fn in fns]
    assert [p.nonce for p in pending] == list(range(start, start + 5))
    assert all(r["status"] == 1 for r in sender.wait(pending))
