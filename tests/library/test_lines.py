"""Production lines from the library (eth-tester): open a line, register items one at a time,
commit a lot's root from the line, close it; revocation and recalls as the chain enforces them."""

from __future__ import annotations

from pathlib import Path

import pytest

from o2ochain import gs1
from o2ochain.errors import InputError, by_name
from o2ochain.identity import ItemStatus, find_proof, read_catalogue
from tests.conftest import GTIN_A, GTIN_B, GTIN_OTHER_BRAND, World, sample_rows, write_csv

EXPIRY = "2027-06-30"
MANIFESTS = "https://brand.example/manifests/line-7"


def test_open_line_returns_the_line_the_chain_holds(world: World) -> None:
    registrant = world.chain.registrant(world.registrant)
    assert world.chain.identity.line(world.registrant.address) is None
    line = registrant.open_line(GTIN_A, "L1", EXPIRY)
    assert line == world.chain.identity.line(world.registrant.address)
    assert (line.brand, line.gtin, line.lot, line.expiry_yymmdd) == (world.brand, GTIN_A, "L1", 270630)
    assert line.lot_id == "0x" + gs1.lot_id(GTIN_A, "L1").hex()
    assert line.expiry is not None and line.expiry.isoformat() == EXPIRY
    assert line.to_json()["lot"] == "L1"
    assert line.manifests == "" and line.manifest_uri(b"\x01" * 32) == ""


def test_open_line_with_manifests_publishes_the_base_in_line_opened(world: World) -> None:
    registrant = world.chain.registrant(world.registrant)
    registrant.open_line(GTIN_A, "L0", EXPIRY, manifests="https://brand.example/old")
    line = registrant.open_line(GTIN_A, "L1", EXPIRY, manifests=MANIFESTS + "/")  # the trailing "/" is dropped
    assert line.manifests == MANIFESTS
    assert line.manifest_uri(b"\xab" * 32) == f"{MANIFESTS}/0x{'ab' * 32}.json"
    identity = world.chain.identity
    assert identity.line(world.registrant.address).manifests is None  # type: ignore[union-attr] # not read by default
    read = identity.line(world.registrant.address, manifests=True)
    assert read == line and read is not None and read.manifests == MANIFESTS
    assert read.to_json()["manifests"] == MANIFESTS
    with pytest.raises(InputError):
        registrant.open_line(GTIN_A, "L2", manifests="//")


def test_register_one_registers_on_the_open_line_within_the_gas_target(world: World) -> None:
    registrant = world.chain.registrant(world.registrant)
    registrant.open_line(GTIN_A, "L1", EXPIRY)
    report = registrant.register_one("SN0000000001")
    assert (report.total, report.registered, report.already, report.transactions) == (1, 1, 0, 1)
    assert 0 < report.gas_used <= 50_000
    result = world.chain.identity.verify(gs1.DigitalLink(gtin=GTIN_A, serial="SN0000000001").uri())
    assert (result.verdict, result.lot, result.status, result.merkle) == ("authentic", "L1", ItemStatus.ACTIVE, False)
    assert result.expiry is not None and result.expiry.isoformat() == EXPIRY


def test_register_one_opens_the_line_it_is_given(world: World) -> None:
    registrant = world.chain.registrant(world.registrant)
    registrant.register_one("A1", gtin=GTIN_A, lot="L1", expiry=EXPIRY)
    first = world.chain.identity.line(world.registrant.address)
    assert first is not None and first.lot == "L1"
    registrant.register_one("A2", gtin=GTIN_A, lot="L1", expiry=EXPIRY)  # same line: not reopened
    assert world.chain.identity.line(world.registrant.address) == first
    registrant.register_one("B1", gtin=GTIN_B, lot="L2")  # another lot: the line moves there
    line = world.chain.identity.line(world.registrant.address)
    assert line is not None and (line.gtin, line.lot, line.expiry) == (GTIN_B, "L2", None)
    assert world.chain.identity.registered([gs1.item_id(GTIN_A, "A1"), gs1.item_id(GTIN_A, "A2"), gs1.item_id(GTIN_B, "B1")]) == [True] * 3
    assert world.chain.identity.verify(gs1.item_id(GTIN_B, "B1")).lot == "L2"


def test_register_one_rerun_registers_nothing_twice(world: World, tmp_path: Path) -> None:
    registrant = world.chain.registrant(world.registrant)
    registrant.open_line(GTIN_A, "L1", EXPIRY)
    assert registrant.register_one("A1").registered == 1
    again = registrant.register_one("A1")
    assert (again.registered, again.already, again.transactions, again.tx_hashes) == (0, 1, 0, [])
    # An item registered by a batch is recognised the same way.
    items = read_catalogue(write_csv(tmp_path / "items.csv", sample_rows(1, lot="L1")))
    registrant.register_items(items)
    assert registrant.register_one(items[0].serial).already == 1


def test_register_one_without_an_open_line_is_an_input_error(world: World) -> None:
    registrant = world.chain.registrant(world.registrant)
    with pytest.raises(InputError, match="no production line open"):
        registrant.register_one("A1")
    with pytest.raises(InputError, match="give both gtin and lot"):
        registrant.register_one("A1", gtin=GTIN_A)


def test_register_one_refuses_a_bad_serial_before_sending(world: World) -> None:
    registrant = world.chain.registrant(world.registrant)
    registrant.open_line(GTIN_A, "L1")
    with pytest.raises(InputError) as info:
        registrant.register_one("S" * 21)
    assert info.value.field == "serial"


def test_open_line_refused_for_another_brands_gtin_with_a_decoded_error(world: World) -> None:
    with pytest.raises(by_name("AccessControlUnauthorizedAccount")) as info:
        world.chain.registrant(world.registrant).open_line(GTIN_OTHER_BRAND, "L1")
    assert info.value.account == world.registrant.address
    assert bytes(info.value.neededRole) == world.chain.identity.registrant_role(world.other_brand)


def test_revoked_key_can_register_nothing_more(world: World) -> None:
    registrant = world.chain.registrant(world.registrant)
    registrant.open_line(GTIN_A, "L1", EXPIRY)
    registrant.register_one("A1")
    world.chain.brand(world.brand_admin, world.brand).revoke_registrant(world.registrant.address)
    assert world.chain.identity.line(world.registrant.address) is None
    with pytest.raises(InputError, match="no production line open"):
        registrant.register_one("A2")
    # Straight to the contract, past the library's checks: the chain refuses it.
    with pytest.raises(by_name("IdentityNoOpenLine")) as info:
        registrant.sender.transact(registrant.contract.functions.registerItem(gs1.to_bytes32("A2")))
    assert info.value.account == world.registrant.address
    assert not world.chain.identity.registered([gs1.item_id(GTIN_A, "A2")])[0]


def test_register_one_after_the_lot_is_recalled_is_refused(world: World) -> None:
    registrant = world.chain.registrant(world.registrant)
    registrant.open_line(GTIN_A, "L1", EXPIRY)
    registrant.register_one("A1")
    world.chain.brand(world.brand_admin, world.brand).recall_lot(GTIN_A, "L1", 3)
    with pytest.raises(by_name("IdentityLotRecalled")) as info:
        registrant.register_one("A2")
    assert bytes(info.value.lot) == gs1.lot_id(GTIN_A, "L1")
    assert world.chain.identity.verify(gs1.item_id(GTIN_A, "A1")).verdict == "recalled"


def test_close_line(world: World) -> None:
    registrant = world.chain.registrant(world.registrant)
    registrant.open_line(GTIN_A, "L1")
    assert registrant.close_line().startswith("0x")
    assert world.chain.identity.line(world.registrant.address) is None
    with pytest.raises(by_name("IdentityNoOpenLine")):
        registrant.close_line()


def test_commit_lots_commits_the_open_lines_lot_from_the_line(world: World, tmp_path: Path) -> None:
    rows = sample_rows(40, lot="M1") + sample_rows(24, lot="M2", prefix="T")
    items = read_catalogue(write_csv(tmp_path / "lots.csv", rows))
    registrant = world.chain.registrant(world.registrant)
    registrant.open_line(GTIN_A, "M1", EXPIRY, manifests=MANIFESTS)
    m1, m2 = registrant.commit_lots(items, proofs_dir=tmp_path / "proofs", uri_template="https://brand.example/lots/{root}.json")
    assert (m1.lot, m1.via_line, m2.lot, m2.via_line) == ("M1", True, "M2", False)
    assert m1.to_json()["viaLine"] is True
    # The line's root is published under the line's manifests base; the other lot's at its template.
    assert m1.uri == f"{MANIFESTS}/0x{m1.root.hex()}.json"
    assert m2.uri == f"https://brand.example/lots/0x{m2.root.hex()}.json"
    receipts = {c.lot: world.chain.w3.eth.get_transaction_receipt(c.tx_hash) for c in (m1, m2)}
    assert receipts["M1"]["gasUsed"] < receipts["M2"]["gasUsed"] and receipts["M1"]["gasUsed"] <= 50_000
    contract = world.chain.identity.contract
    (by_line,) = contract.events.LineRootCommitted().process_receipt(receipts["M1"])
    assert dict(by_line["args"]) == {"brand": world.brand, "lot": gs1.lot_id(GTIN_A, "M1"), "root": m1.root, "count": m1.count}
    (by_lot,) = contract.events.LotCommitted().process_receipt(receipts["M2"])
    assert (by_lot["args"]["root"], by_lot["args"]["uri"]) == (m2.root, m2.uri)
    # Both roots record the same commitment: GTIN, count, expiry; their items verify and claim.
    for commitment, item in ((m1, items[3]), (m2, items[45])):
        root = world.chain.identity.contract.functions.lotRoot(commitment.root).call()
        assert (root.gtin, root.count, root.expiry) == (gs1.gtin_to_int(GTIN_A), commitment.count, 270630)
        proof = find_proof(tmp_path / "proofs", item.item_id)
        assert proof is not None and world.chain.identity.verify(item.item_id, merkle=proof).verdict == "authentic"
        world.chain.seller(world.seller).claim(item.item_id, world.buyer.address, merkle=proof)
        assert world.chain.identity.verify(item.item_id).lot == commitment.lot
    # A rerun finds both roots on chain and sends nothing.
    again = registrant.commit_lots(items, proofs_dir=tmp_path / "proofs")
    assert [(c.already, c.via_line, c.tx_hash) for c in again] == [(True, False, None)] * 2


def test_commit_lots_does_not_use_a_line_without_manifests(world: World, tmp_path: Path) -> None:
    """A line opened for items one by one has no place to publish manifests: its lot goes by commitLot, with its URI."""
    items = read_catalogue(write_csv(tmp_path / "lot.csv", sample_rows(8, lot="M1")))
    registrant = world.chain.registrant(world.registrant)
    registrant.open_line(GTIN_A, "M1", EXPIRY)
    (lot,) = registrant.commit_lots(items, proofs_dir=tmp_path / "proofs")
    assert not lot.via_line and lot.uri == f"o2ochain://lot/0x{lot.root.hex()}"


def test_commit_lots_does_not_use_a_line_of_another_expiry(world: World, tmp_path: Path) -> None:
    items = read_catalogue(write_csv(tmp_path / "lot.csv", sample_rows(8, lot="M1")))
    registrant = world.chain.registrant(world.registrant)
    registrant.open_line(GTIN_A, "M1", manifests=MANIFESTS)  # no expiry: another line than the CSV's lot
    (lot,) = registrant.commit_lots(items, proofs_dir=tmp_path / "proofs")
    assert not lot.via_line
    assert world.chain.identity.contract.functions.lotRoot(lot.root).call().expiry == 270630
