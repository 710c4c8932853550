"""The o2ochain command line, end to end on a real Anvil: deploy → register → verify → claim → recall."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2ochain._chain.connection import Anvil, dev_accounts
from o2ochain.cli import main
from tests.conftest import GTIN_A, GTIN_B, OTHER_PREFIX, PREFIX, sample_rows, write_csv

pytestmark = pytest.mark.e2e
ACCOUNTS = dev_accounts(10)
OPERATOR, BRAND_ADMIN, REGISTRANT, SELLER, BUYER, OUTSIDER = ("dev:0", "dev:1", "dev:2", "dev:3", "dev:4", "dev:5")


@dataclass
class Cli:
    rpc: str
    deployments: Path
    runner: CliRunner

    def __call__(self, *args: str, account: str | None = None, expect: int = 0) -> Result:
        argv = [*args, "--rpc", self.rpc, "--deployment", str(self.deployments)]
        if account:
            argv += ["--account", account]
        result = self.runner.invoke(main, argv, catch_exceptions=False)
        assert result.exit_code == expect, f"exit {result.exit_code}, wanted {expect}\n{result.output}\n{result.stderr}"
        return result

    def json(self, *args: str, account: str | None = None, expect: int = 0) -> Any:
        return json.loads(self(*args, "--json", account=account, expect=expect).stdout)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    folder = tmp_path_factory.mktemp("cli")
    with Anvil() as node:
        c = Cli(node.url, folder / "deployments", CliRunner(mix_stderr=False))
        c("deploy", account=OPERATOR)
        c("brand", "add", "Dalian Coast Snacks", "--admin", ACCOUNTS[1].address, "--prefix", PREFIX, account=OPERATOR)
        c("brand", "registrant", "grant", "--brand", "1", ACCOUNTS[2].address, account=BRAND_ADMIN)
        c("brand", "seller", "grant", "--brand", "1", ACCOUNTS[3].address, account=BRAND_ADMIN)
        c("product", "add", GTIN_A, "--brand", "1", account=BRAND_ADMIN)
        c("product", "add", GTIN_B, "--brand", "1", account=REGISTRANT)
        yield c


def uri(gtin: str, serial: str) -> str:
    return f"https://id.gs1.org/01/{gtin}/21/{serial}"


def test_register_verify_claim_recall_flow(cli: Cli, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "items.csv", sample_rows(40, lot="FLOW1", prefix="F"))
    report = cli.json("item", "register", str(csv_path), account=REGISTRANT)
    assert (report["registered"], report["alreadyRegistered"]) == (40, 0)

    verified = cli.json("item", "verify", uri(GTIN_A, "F000003"))
    assert verified["verdict"] == "authentic"
    assert (verified["gtin"], verified["lot"], verified["brandName"]) == (GTIN_A, "FLOW1", "Dalian Coast Snacks")

    cli("item", "claim", uri(GTIN_A, "F000003"), "--owner", ACCOUNTS[4].address, account=SELLER)
    second = cli("item", "claim", uri(GTIN_A, "F000003"), "--owner", ACCOUNTS[5].address, account=SELLER, expect=1)
    # IdentityItemAlreadyClaimed(item, owner), in words: the item as it was given, its owner
    assert f"Item {uri(GTIN_A, 'F000003')} was already claimed, by {ACCOUNTS[4].address}." in second.stderr
    assert "0x" + "00" * 12 not in second.stderr  # decoded, no raw revert data
    assert cli.json("item", "verify", uri(GTIN_A, "F000003"))["verdict"] == "claimed"

    cli("lot", "recall", GTIN_A, "FLOW1", "--reason", "3", account=REGISTRANT)
    recalled = cli.json("item", "verify", uri(GTIN_A, "F000010"))
    assert recalled["verdict"] == "recalled" and recalled["lotRecalled"]


def test_register_rerun_reports_items_already_on_chain(cli: Cli, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "items.csv", sample_rows(12, lot="AGAIN", prefix="R"))
    assert cli.json("item", "register", str(csv_path), account=REGISTRANT)["registered"] == 12
    again = cli.json("item", "register", str(csv_path), account=REGISTRANT)
    assert (again["registered"], again["alreadyRegistered"], again["transactions"]) == (0, 12, 0)


def test_register_merkle_writes_proofs_and_qr_codes(cli: Cli, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "lot.csv", sample_rows(300, gtin14=GTIN_B, lot="MK1", prefix="K"))
    out = cli.json(
        "item", "register", str(csv_path), "--merkle", "--proofs", str(tmp_path / "proofs"), "--qr", str(tmp_path / "qr"), account=REGISTRANT
    )
    assert out["lots"][0]["count"] == 300 and not out["lots"][0]["alreadyCommitted"]
    assert out["qr"]["count"] == 300
    assert len(list((tmp_path / "qr").glob("*.png"))) == 300
    with_proof = cli.json("item", "verify", uri(GTIN_B, "K000007"), "--proofs", str(tmp_path / "proofs"))
    assert with_proof["verdict"] == "authentic" and with_proof["merkle"]
    assert cli.json("item", "verify", uri(GTIN_B, "K000007"))["verdict"] == "not registered"


def test_verify_proof_for_another_item_is_refused(cli: Cli, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "lot.csv", sample_rows(4, gtin14=GTIN_B, lot="MK2", prefix="P"))
    cli("item", "register", str(csv_path), "--merkle", "--proofs", str(tmp_path / "proofs"), account=REGISTRANT)
    proofs = next((tmp_path / "proofs").glob("*.jsonl"))
    lines = proofs.read_text().splitlines()
    record = json.loads(lines[1])
    record["proof"] = json.loads(lines[2])["proof"]  # the sibling's proof under this item's id
    proofs.write_text("\n".join([lines[0], json.dumps(record)]) + "\n")
    result = cli("item", "verify", uri(GTIN_B, record["serial"]), "--proofs", str(proofs), expect=1)
    assert "The proof does not show item" in result.stderr  # IdentityProofInvalid(item, root)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"gtin,serial,lot\n09506000134353,A1,L1\n", "items.csv:2, field 'gtin'"),
        (b"gtin,serial,lot\n" + GTIN_A.encode() + b",A1,L1\n" + GTIN_A.encode() + b",A1,L1\n", "items.csv:3, field 'serial'"),
        (b"", "empty"),
        (b"gtin,lot\n" + GTIN_A.encode() + b",L1\n", "serial"),
        (b"gtin,serial,lot\n" + GTIN_A.encode() + b",A\xff1,L1\n", "items.csv:2"),
    ],
    ids=["check-digit", "duplicate-serial", "empty-file", "missing-column", "non-utf8"],
)
def test_register_bad_csv_exits_2_and_writes_nothing(cli: Cli, tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(content)
    before = cli.json("item", "verify", uri(GTIN_A, "A1"))
    result = cli("item", "register", str(path), account=REGISTRANT, expect=2)
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert cli.json("item", "verify", uri(GTIN_A, "A1")) == before


def test_verify_unknown_item_says_not_registered(cli: Cli) -> None:
    result = cli("item", "verify", uri(GTIN_A, "NOSUCHITEM"))
    assert "NOT REGISTERED" in result.stdout


def test_verify_garbage_reference_exits_2(cli: Cli) -> None:
    result = cli("item", "verify", "https://example.com/not-a-digital-link", expect=2)
    assert "01" in result.stderr


def test_wrong_chain_id_manifest_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    manifest = json.loads(next(cli.deployments.glob("*.json")).read_text())
    manifest["chainId"] = 10
    wrong = tmp_path / "optimism.json"
    wrong.write_text(json.dumps(manifest))
    result = cli.runner.invoke(main, ["item", "verify", uri(GTIN_A, "X"), "--rpc", cli.rpc, "--deployment", str(wrong)])
    assert result.exit_code == 1
    assert "wrong chain" in result.stderr and "chain id 10" in result.stderr


def test_write_without_account_is_a_clear_error(cli: Cli) -> None:
    result = cli("item", "recall", uri(GTIN_A, "F000001"), "--reason", "1", expect=1)
    assert "--account" in result.stderr


def test_outsider_cannot_register_products(cli: Cli) -> None:
    result = cli("product", "add", "09506000000121", "--brand", "1", account=OUTSIDER, expect=1)
    # AccessControlUnauthorizedAccount(account, neededRole), the role named
    assert f"{ACCOUNTS[5].address} does not hold the registrant role of brand 1." in result.stderr


def test_help_explains_every_command() -> None:
    runner = CliRunner(mix_stderr=False)
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    for command in ("deploy", "item", "lot", "brand", "product", "demo"):
        assert command in top.output
        sub = runner.invoke(main, [command, "--help"])
        assert sub.exit_code == 0 and len(sub.output) > 200


def test_account_from_encrypted_keystore(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eth_account import Account

    keystore = tmp_path / "registrant.json"
    keystore.write_text(json.dumps(Account.encrypt(ACCOUNTS[2].key, "correct horse")))
    monkeypatch.setenv("O2O_PASSWORD", "correct horse")
    csv_path = write_csv(tmp_path / "items.csv", sample_rows(2, lot="KS1", prefix="KS"))
    assert cli.json("item", "register", str(csv_path), account=str(keystore))["registered"] == 2
    monkeypatch.setenv("O2O_PASSWORD", "wrong")
    result = cli("item", "register", str(csv_path), account=str(keystore), expect=1)
    assert "wrong password" in result.stderr


# -- traceability -----------------------------------------------------------------------------
def _epcis(*events: dict[str, Any]) -> str:
    return json.dumps(
        {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-20T00:00:00Z",
            "epcisBody": {"eventList": list(events)},
        }
    )


def test_trace_import_show_export_record(cli: Cli, tmp_path: Path) -> None:
    store = str(tmp_path / "events")
    cli(
        "trace", "actor", "grant", ACCOUNTS[6].address, "--brand", "1", "--kind", "logistics", "--gln", "9506000000015", account=BRAND_ADMIN
    )
    item = uri(GTIN_A, "TRC1")
    document = tmp_path / "events.jsonld"
    document.write_text(
        _epcis(
            {
                "type": "ObjectEvent",
                "action": "ADD",
                "bizStep": "commissioning",
                "epcList": [item],
                "eventTime": "2026-11-02T06:00:00.000+08:00",
                "eventTimeZoneOffset": "+08:00",
            },
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "epcList": [item],
                "readPoint": {"id": "urn:epc:id:sgln:9506000.00001.0"},
                "eventTime": "2026-11-02T09:00:00.000+08:00",
                "eventTimeZoneOffset": "+08:00",
            },
        )
    )
    report = cli.json("trace", "import", str(document), "--store", store, account="dev:6")
    assert (report["events"], report["recorded"]) == (2, 2)
    assert cli.json("trace", "import", str(document), "--store", store, account="dev:6")["alreadyRecorded"] == 2

    cli("trace", "repository", "set", "https://epcis.carrier.example/events/", "--brand", "1", account="dev:6")
    cli.json("trace", "record", item, "--biz-step", "receiving", "--disposition", "in_progress", "--store", store, account="dev:6")
    history = cli.json("trace", "show", item, "--store", store)
    assert [h["bizStep"] for h in history] == ["commissioning", "shipping", "receiving"]
    assert all(h["verified"] for h in history)
    assert history[1]["readPointUri"] == "urn:epc:id:sgln:9506000.00001.0"
    assert history[2]["uri"] == "https://epcis.carrier.example/events/" + history[2]["contentHash"]
    shown = cli("trace", "show", item, "--store", store)
    assert "shipping" in shown.stdout and "yes" in shown.stdout

    exported = tmp_path / "export.jsonld"
    cli("trace", "export", item, "--store", store, "-o", str(exported))
    from o2ochain import epcis

    assert len(epcis.load_document(exported).events) == 3

    # A cold store's temperature log names only a place (a geo: URI): anchored under --brand.
    cold = tmp_path / "cold.jsonld"
    reading = {"sensorReport": [{"type": "Temperature", "value": -18.5, "uom": "CEL"}]}
    cold.write_text(
        _epcis(
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "sensor_reporting",
                "readPoint": {"id": "geo:38.914,121.6147"},
                "sensorElementList": [reading],
                "eventTime": "2026-11-02T10:00:00.000+08:00",
                "eventTimeZoneOffset": "+08:00",
            }
        )
    )
    unbranded = cli("trace", "import", str(cold), "--store", store, account="dev:6", expect=2)
    assert "names only a place (readPoint geo:38.914,121.6147)" in unbranded.stderr and "pass --brand" in unbranded.stderr
    assert cli.json("trace", "import", str(cold), "--store", store, "--brand", "1", account="dev:6")["recorded"] == 1

    cli("trace", "actor", "revoke", ACCOUNTS[6].address, "--brand", "1", account=BRAND_ADMIN)
    refused = cli("trace", "record", item, "--biz-step", "shipping", "--store", store, account="dev:6", expect=2)
    assert "not an authorised actor of brand 1" in refused.stderr


def test_trace_import_bad_document_names_json_paths(cli: Cli, tmp_path: Path) -> None:
    document = tmp_path / "bad.jsonld"
    document.write_text(
        _epcis(
            {
                "type": "ObjectEvent",
                "action": "SHOUT",
                "epcList": [uri(GTIN_A, "B1")],
                "eventTime": "2026-11-02T06:00:00Z",
                "eventTimeZoneOffset": "+08:00",
            },
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "epcList": ["urn:vendor:thing:9"],
                "eventTime": "2026-13-02T06:00:00Z",
                "eventTimeZoneOffset": "+25:00",
            },
        )
    )
    result = cli("trace", "import", str(document), "--store", str(tmp_path / "events"), account="dev:6", expect=2)
    for path in ("$.epcisBody.eventList[0].action", "$.epcisBody.eventList[1].eventTime", "$.epcisBody.eventList[1].epcList[0]"):
        assert path in result.stderr, result.stderr
    assert not (tmp_path / "events").exists() or not any((tmp_path / "events").rglob("*.json"))


def test_trace_show_ignores_what_another_brands_actor_wrote_about_an_item(cli: Cli, tmp_path: Path) -> None:
    """Brand 2's actor packs brand 1's item onto a pallet in its own records and declares the
    pallet recalled: ``trace show`` keeps to the links brand 1's actors recorded."""
    import o2ochain
    from o2ochain import epcis, gs1
    from tests.library.test_trace import hostile_entry

    store = str(tmp_path / "events")
    other_brand = cli.json("brand", "add", "Jinzhou Orchard", "--admin", ACCOUNTS[8].address, "--prefix", OTHER_PREFIX, account=OPERATOR)
    brand2 = other_brand["brand"]
    cli("trace", "actor", "grant", ACCOUNTS[9].address, "--brand", str(brand2), "--kind", "logistics", account="dev:8")
    cli("trace", "actor", "grant", ACCOUNTS[6].address, "--brand", "1", "--kind", "logistics", account=BRAND_ADMIN)
    item, pallet = uri(GTIN_A, "PAL1"), f"https://id.gs1.org/00/{gs1.make_sscc(PREFIX, 41)}"
    packed = {"type": "AggregationEvent", "action": "ADD", "bizStep": "packing", "parentID": pallet, "childEPCs": [item]}
    at = {"eventTimeZoneOffset": "+08:00"}
    own = tmp_path / "own.jsonld"
    own.write_text(
        _epcis(
            {**packed, "eventTime": "2026-11-02T06:00:00.000+08:00", **at},
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "shipping",
                "epcList": [pallet],
                "eventTime": "2026-11-02T07:00:00.000+08:00",
                **at,
            },
        )
    )
    cli("trace", "import", str(own), "--brand", "1", "--store", store, account="dev:6")
    hostile = epcis.parse_document(
        _epcis(
            {**packed, "eventTime": "2026-11-02T08:00:00.000+08:00", **at},
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "holding",
                "disposition": "recalled",
                "epcList": [pallet],
                "eventTime": "2026-11-02T09:00:00.000+08:00",
                **at,
            },
        )
    ).events
    chain = o2ochain.connect(cli.rpc, deployment=cli.deployments)
    chain.use_store(store)
    for event in hostile:
        chain.trace.store.put(event.raw)
    entries = [hostile_entry(e, e.primary_subjects()[0], bind=n == 0) for n, e in enumerate(hostile)]
    chain.actor(ACCOUNTS[9]).sender.transact(chain.trace.contract.functions.record(brand2, entries))

    history = cli.json("trace", "show", item, "--store", store)
    assert [(h["bizStep"], h["disposition"], h["actor"]) for h in history] == [
        ("packing", None, ACCOUNTS[6].address),
        ("shipping", None, ACCOUNTS[6].address),
    ]
    shown = cli("trace", "show", item, "--store", store).stdout
    assert "shipping" in shown and "recalled" not in shown and "holding" not in shown


# -- consent ----------------------------------------------------------------------------------
def test_consent_sign_relay_use_revoke(cli: Cli, tmp_path: Path) -> None:
    consumer, retailer = "dev:7", "dev:3"
    key = cli.json("consent", "key", "show", account=retailer)["publicKey"]
    personal = tmp_path / "me.json"
    personal.write_text(json.dumps({"name": "Zhang Xiao-Hong", "phone": "+86 139 0041 2277"}))
    sealed = tmp_path / "sealed.json"
    grant_file = tmp_path / "grant.json"
    cli(
        "consent",
        "grant",
        ACCOUNTS[3].address,
        "--purpose",
        "delivery",
        "--category",
        "contact",
        "--category",
        "postal_address",
        "--language",
        "zh-CN",
        "--seal",
        str(personal),
        "--public-key",
        key,
        "--sealed-out",
        str(sealed),
        "--sign",
        "-o",
        str(grant_file),
        account=consumer,
    )
    cli("consent", "relay", str(grant_file), account=retailer)
    opened = cli.json("consent", "open", str(sealed), account=retailer)  # text mode prints fields, not JSON
    assert opened["phone"] == "+86 139 0041 2277"
    cli(
        "consent",
        "use",
        ACCOUNTS[7].address,
        "--purpose",
        "delivery",
        "--category",
        "contact",
        "--request",
        "order 7781 courier",
        account=retailer,
    )
    refused = cli(
        "consent",
        "use",
        ACCOUNTS[7].address,
        "--purpose",
        "marketing",
        "--category",
        "contact",
        "--request",
        "promo",
        account=retailer,
        expect=1,
    )
    assert f"the live consent of {ACCOUNTS[7].address} to " in refused.stderr  # ConsentNotCovered(consumer, dataUser, …)
    assert "does not cover marketing or contact." in refused.stderr  # … purpose, category
    uses = cli.json("consent", "audit", "--consumer", ACCOUNTS[7].address)
    assert [(u["purpose"], u["category"]) for u in uses] == [("delivery", "contact")]
    cli("consent", "revoke", ACCOUNTS[3].address, account=consumer)
    after = cli(
        "consent",
        "use",
        ACCOUNTS[7].address,
        "--purpose",
        "delivery",
        "--category",
        "contact",
        "--request",
        "order 7782",
        account=retailer,
        expect=1,
    )
    assert "has been revoked (withdrawn); purpose: delivery, category: contact." in after.stderr  # ConsentWithdrawn
    assert [row["event"] for row in cli.json("consent", "list", "--consumer", ACCOUNTS[7].address)] == ["granted", "revoked"]


_hostile_cells = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["", "09506000134353", "0950600013435", "A" * 21, "A B", "ÄÖ", "=cmd|' /C calc'!A0", '"', "\r", "\x00"]),
)


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_csv_is_refused_whole_or_registered_whole(cli: Cli, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    """A CSV with one hostile cell or line among good rows: either every row is good and all are
    registered, or the command exits 2 naming the place and nothing at all reaches the chain."""
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(cli.rpc))
    tag = f"H{data.draw(st.integers(0, 10**9))}"
    rows = [[GTIN_A, f"{tag}{n:03d}", "HL1", ""] for n in range(data.draw(st.integers(1, 6)))]
    lines = ["gtin,serial,lot,expiry", *(",".join(r) for r in rows)]
    if data.draw(st.booleans()):  # one cell of one row
        where = data.draw(st.integers(1, len(rows)))
        row = list(rows[where - 1])
        row[data.draw(st.integers(0, 3))] = data.draw(_hostile_cells).replace(",", ";").replace("\n", " ")
        lines[where] = ",".join(row)
    else:  # a whole line anywhere, the header's place included
        lines.insert(data.draw(st.integers(0, len(lines))), data.draw(_hostile_cells))
    path = tmp_path_factory.mktemp("hostile") / "items.csv"
    path.write_bytes("\n".join(lines).encode("utf-8", errors="surrogatepass") + b"\n")
    block = w3.eth.block_number
    result = cli.runner.invoke(main, ["item", "register", str(path), "--json", "--rpc", cli.rpc, "--deployment", str(cli.deployments), "--account", REGISTRANT])
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code in (0, 2), result.output + result.stderr
    if result.exit_code == 2:
        assert "items.csv" in result.stdout + result.stderr and w3.eth.block_number == block  # refused whole: nothing sent
    else:
        assert json.loads(result.stdout)["registered"] + json.loads(result.stdout)["alreadyRegistered"] >= 1


def test_trace_actor_profile_publishes_a_name_the_page_can_check(cli: Cli, tmp_path: Path) -> None:
    cli("trace", "actor", "grant", ACCOUNTS[6].address, "--brand", "1", "--kind", "logistics", account=BRAND_ADMIN)
    store = tmp_path / "store"
    args = ("trace", "actor", "publish", ACCOUNTS[6].address, "--brand", "1", "--name", "Bohai Cold Chain", "--city", "Dalian")
    shown = cli.json(*args, "--place", "9506000000015=Bohai cold store", "--store", str(store), account=BRAND_ADMIN)
    stored = json.loads((store / "content" / f"{shown['profileHash']}.json").read_text())
    assert stored == {
        "type": "o2ochain.trace.actor",
        "name": "Bohai Cold Chain",
        "city": "Dalian",
        "places": [{"gln": "9506000000015", "name": "Bohai cold store", "city": "Dalian"}],
    }
    # a place that is not GLN=NAME, or whose GLN is wrong, is refused before anything is written
    bad = cli(*args, "--place", "9506000000015", account=BRAND_ADMIN, expect=2)
    assert "GLN=NAME" in bad.stderr
    wrong = cli(*args, "--place", "9506000000016=Shed", "--store", str(store), account=BRAND_ADMIN, expect=2)
    assert "check digit" in wrong.stderr and "places[0].gln" in wrong.stderr
    # another brand's admin (not this brand's) cannot name this brand's carrier
    refused = cli(*args, "--store", str(store), account="dev:8", expect=1)
    assert "brand admin role of brand 1" in refused.stderr
