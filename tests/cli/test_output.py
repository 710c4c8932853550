"""What the command line prints, on a real Anvil: words, tables and units in text mode, raw values
with ``--json``, ids never wrapped when piped, an empty result said in a sentence, and progress
bars only on a terminal."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from o2ochain._chain.connection import Anvil, dev_accounts
from o2ochain.cli import main
from o2ochain.cli._output import Stages, fields, local_time, span, when
from tests.cli.test_cli import Cli, _epcis
from tests.conftest import GTIN_A, GTIN_B, PREFIX, World

pytestmark = pytest.mark.e2e
ACCOUNTS = dev_accounts(10)
OPERATOR, BRAND_ADMIN, RETAILER, STORE_KEY, WEB_KEY, ACTOR, CONSUMER, STRANGER = (
    "dev:0",
    "dev:1",
    "dev:3",
    "dev:4",
    "dev:5",
    "dev:6",
    "dev:7",
    "dev:8",
)
ITEM = f"https://id.gs1.org/01/{GTIN_A}/21/OUT1"

#: A unix time of these years (2020–2033) standing alone, not inside an id or a decimal.
UNIX_TIME = re.compile(r"(?<![\w.,:-])1[6-9]\d{8}(?![\w.])")
#: An integer of base units (15 digits or more: wei), not a GTIN (14) nor the decimals of an amount.
BASE_UNITS = re.compile(r"(?<![\w.,])\d{15,}(?![\w.])")
HEX64 = re.compile(r"0x[0-9a-fA-F]{64}")


def _shipped(epc: str, hour: int, **more: Any) -> dict[str, Any]:
    """An EPCIS ObjectEvent: ``epc`` seen shipping on 2 November 2026 at ``hour``:00 (+08:00)."""
    at = {"eventTime": f"2026-11-02T{hour:02d}:00:00.000+08:00", "eventTimeZoneOffset": "+08:00"}
    return {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "epcList": [epc], **at, **more}


def _document(events: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(json.loads(_epcis(*events)))


def assert_words(text: str) -> None:
    """Text mode: no JSON, no unix times, no amounts in base units."""
    assert "{" not in text and "}" not in text, text
    assert not UNIX_TIME.search(text), UNIX_TIME.search(text)
    assert not BASE_UNITS.search(text), BASE_UNITS.search(text)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    folder = tmp_path_factory.mktemp("output-cli")
    with Anvil() as node:
        c = Cli(node.url, folder / "deployments", CliRunner(mix_stderr=False, env={"O2O_STORE": str(folder / "store")}))
        c("deploy", account=OPERATOR)
        c("brand", "add", "Dalian Coast Snacks", "--admin", ACCOUNTS[1].address, "--prefix", PREFIX, account=OPERATOR)
        c("product", "add", GTIN_A, "--brand", "1", account=BRAND_ADMIN)
        c("product", "add", GTIN_B, "--brand", "1", account=BRAND_ADMIN)
        c("guarantee", "retailer", "register", account=RETAILER)
        c("review", "retailer", "grant", "1", "--brand", "1", account=BRAND_ADMIN)
        for kind, key, name in (("store", 4, "Zhongshan Road store"), ("online-shop", 5, "web shop")):
            c("guarantee", "channel", "add", "--retailer", "1", "--kind", kind, "--key", ACCOUNTS[key].address, "--name", name, account=RETAILER)
        c("guarantee", "policy", "set", "--retailer", "1", "--window", "30d", "--max-payout", "0.5", account=RETAILER)
        c("guarantee", "pool", "fund", "--retailer", "1", "1", account=RETAILER)
        c("trace", "actor", "grant", ACCOUNTS[6].address, "--brand", "1", "--kind", "logistics", account=BRAND_ADMIN)
        yield c


# -- values in words ----------------------------------------------------------------------------
def test_times_and_durations_read_as_words() -> None:
    assert when(1_811_736_805) == "2027-05-31 04:13 UTC"
    assert when(0) == "—" and when(None, never="never") == "never"
    assert local_time("2026-11-02T09:00:00+08:00") == "2026-11-02 09:00 +08:00"
    assert local_time("2026-11-02T01:00:00+00:00") == "2026-11-02 01:00 UTC"
    assert (span(86_400), span(7 * 86_400), span(90 * 60), span(129_600)) == ("1 day", "7 days", "1 hour 30 minutes", "1 day 12 hours")


def test_amounts_read_in_the_currency_with_its_symbol(world: World) -> None:
    from o2ochain._chain.artifacts import artifact
    from o2ochain._chain.tx import Sender
    from o2ochain.guarantee import NATIVE

    art = artifact("TestStablecoin")
    factory = world.chain.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    token = Sender(world.chain.w3, world.other_admin).transact(factory.constructor())["contractAddress"]
    reader = world.chain.guarantee
    assert (reader.symbol(token), reader.money(12_500_000, token), reader.money(1_234_567 * 10**6, token)) == (
        "tUSD",
        "12.5 tUSD",
        "1,234,567 tUSD",
    )
    assert (reader.symbol(NATIVE), reader.money(55 * 10**15, NATIVE)) == ("ETH", "0.055 ETH")


def test_fields_align_keys_and_never_cut_a_value() -> None:
    buffer = io.StringIO()
    narrow = Console(file=buffer, width=40, color_system=None)
    long_id = "0x" + "ab" * 32
    fields([("item id", long_id), ("status", "active"), ("left out", None)], console=narrow)
    assert buffer.getvalue().splitlines() == [f"item id  {long_id}", "status   active"]


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def test_every_command_but_the_demo_takes_json() -> None:
    """``--json`` comes with the common options; the demo serves a page and prints no data."""
    without = [name for name, command in _commands(main) if not any("--json" in getattr(p, "opts", ()) for p in command.params)]
    assert without == ["demo"]


# -- progress -----------------------------------------------------------------------------------
def test_stages_draw_one_bar_per_stage_with_its_total_only_on_a_terminal() -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=100, color_system=None)
    with Stages(as_json=False, console=terminal) as stages:
        stages.report("checking events", 10, 10)
        tick = stages.stage("signing vouchers", 4)
        for _ in range(4):
            tick()
        assert list(stages.each("lodging quotes", ["a", "b"])) == ["a", "b"]
    drawn = buffer.getvalue()
    assert "checking events" in drawn and "10/10" in drawn and "4/4" in drawn and "2/2" in drawn

    for quiet in (Stages(as_json=True, console=terminal), Stages(as_json=False, console=Console(file=io.StringIO()))):
        with quiet as stages:
            stages.stage("anything", 3)()
        assert not quiet.enabled
    assert buffer.getvalue() == drawn  # --json draws nothing, even on a terminal


def test_trace_import_reports_each_stage_with_its_total_and_finishes_it(world: World, tmp_path: Path) -> None:
    """What ``trace import`` draws: every stage reaches its total, the already recorded counted."""
    from tests.library.test_trace import _grant

    tw = _grant(world, tmp_path / "events")
    events = [_shipped(f"https://id.gs1.org/01/{GTIN_A}/21/STAGE{n}", n) for n in range(5)]
    seen: dict[str, list[tuple[int, int]]] = {}

    def progress(stage: str, done: int, total: int) -> None:
        seen.setdefault(stage, []).append((done, total))

    world.chain.actor(tw.carrier).import_document(_document(events[:2]))
    world.chain.actor(tw.carrier).import_document(_document(events), progress=progress)
    assert list(seen) == ["checking events", "storing events", "sending entries", "anchoring entries"]
    assert {stage: reports[-1] for stage, reports in seen.items()} == {
        "checking events": (5, 5),
        "storing events": (5, 5),
        "sending entries": (3, 3),
        "anchoring entries": (5, 5),
    }
    assert seen["anchoring entries"][0] == (2, 5)  # the two already on chain, counted from the start


def test_long_jobs_draw_no_bar_when_stderr_is_not_a_terminal(cli: Cli, tmp_path: Path) -> None:
    document = tmp_path / "events.jsonld"
    document.write_text(_epcis(*(_shipped(f"https://id.gs1.org/01/{GTIN_B}/21/BAR{n}", n) for n in range(3))))
    imported = cli("trace", "import", str(document), account=ACTOR)
    assert "━" not in imported.stderr and "3 events, 3 chain entries: 3 recorded" in imported.stdout
    report = cli.json("trace", "import", str(document), account=ACTOR)
    assert (report["events"], report["alreadyRecorded"]) == (3, 3)


# -- consent ------------------------------------------------------------------------------------
def test_consent_list_and_uses_are_records_in_words_and_say_when_empty(cli: Cli, tmp_path: Path) -> None:
    nobody = ACCOUNTS[9].address
    assert cli("consent", "list", "--consumer", nobody).stdout.strip() == "no consents"
    assert cli("consent", "audit", "--consumer", nobody).stdout.strip() == "no recorded uses of data"
    assert cli.json("consent", "list", "--consumer", nobody) == [] and cli.json("consent", "audit", "--consumer", nobody) == []

    key = cli.json("consent", "key", "show", account=RETAILER)["publicKey"]
    personal = tmp_path / "me.json"
    personal.write_text(json.dumps({"name": "Zhang Xiao-Hong", "address": {"city": "Dalian", "street": "Zhongshan Road 8"}}))
    sealed = tmp_path / "sealed.json"
    consumer, data_user = ACCOUNTS[7].address, ACCOUNTS[3].address
    grant = ("consent", "grant", data_user, "--purpose", "delivery", "--category", "contact", "--category", "postal_address")
    cli(*grant, "--seal", str(personal), "--public-key", key, "--sealed-out", str(sealed), account=CONSUMER)
    cli("consent", "use", consumer, "--purpose", "delivery", "--category", "contact", "--request", "order 7781", account=RETAILER)

    listed = cli("consent", "list", "--consumer", consumer).stdout
    assert_words(listed)
    assert "granted: consent 1" in listed and "delivery" in listed and "contact, postal_address" in listed
    assert consumer in listed and data_user in listed and re.search(r"expires\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", listed)
    (row,) = cli.json("consent", "list", "--consumer", consumer)
    assert (row["event"], row["purposes"], isinstance(row["expiry"], int)) == ("granted", ["delivery"], True)  # raw values

    uses = cli("consent", "audit", "--consumer", consumer).stdout
    assert_words(uses)
    assert "contact used for delivery under consent 1" in uses and HEX64.search(uses)
    (use,) = cli.json("consent", "audit", "--consumer", consumer)
    assert (use["purpose"], use["consentNonce"]) == ("delivery", 1)

    opened = cli("consent", "open", str(sealed), account=RETAILER).stdout
    assert_words(opened)
    assert re.search(r"address\.city\s+Dalian", opened) and re.search(r"name\s+Zhang Xiao-Hong", opened)
    assert cli.json("consent", "open", str(sealed), account=RETAILER)["address"]["street"] == "Zhongshan Road 8"


# -- traceability -------------------------------------------------------------------------------
def test_trace_show_responsibility_is_a_table_naming_each_actor_in_full(cli: Cli, tmp_path: Path) -> None:
    unknown = f"https://id.gs1.org/01/{GTIN_A}/21/NOTHING"
    assert cli("trace", "show", unknown).stdout.strip() == f"no events recorded for {unknown}"
    assert cli("trace", "show", unknown, "--responsibility").stdout.strip() == f"no events recorded for {unknown}"
    assert cli.json("trace", "show", unknown) == [] and cli.json("trace", "show", unknown, "--responsibility") == []

    document = tmp_path / "events.jsonld"
    document.write_text(_epcis(_shipped(ITEM, 9, disposition="in_transit", readPoint={"id": "urn:epc:id:sgln:9506000.00001.0"})))
    cli("trace", "import", str(document), account=ACTOR)
    shown = cli("trace", "show", ITEM, "--responsibility").stdout
    assert_words(shown)
    assert "custody of" in shown and "2026-11-02 09:00 +08:00" in shown and "shipping" in shown and "in_transit" in shown
    assert "urn:epc:id:sgln:9506000.00001.0" in shown and ACCOUNTS[6].address in shown and "yes" in shown
    (row,) = cli.json("trace", "show", ITEM, "--responsibility")
    assert (row["step"], row["recordedBy"], row["verified"]) == ("shipping", ACCOUNTS[6].address, True)
    history = cli("trace", "show", ITEM).stdout
    assert "history of" in history and "2026-11-02 09:00 +08:00" in history and ACCOUNTS[6].address in history


# -- amounts, times and empty lists of the guarantee and the loop ------------------------------
def test_guarantee_shows_amounts_with_their_symbol_and_times_in_utc(cli: Cli) -> None:
    assert cli("guarantee", "price", "list", GTIN_B).stdout.strip() == f"no prices published for {GTIN_B}"
    assert cli.json("guarantee", "price", "list", GTIN_B) == []
    assert cli("guarantee", "purchase", "list", "--buyer", ACCOUNTS[9].address).stdout.strip() == "no purchases recorded"

    cli("guarantee", "price", "publish", GTIN_A, "0.15", account=WEB_KEY)
    prices = cli("guarantee", "price", "list", GTIN_A).stdout
    assert_words(prices)
    assert "0.15 ETH" in prices and "UTC" in prices
    assert cli.json("guarantee", "price", "list", GTIN_A)[0]["price"] == str(150 * 10**15)  # base units, as before

    buyer = ACCOUNTS[7].address
    sold = cli("guarantee", "sale", "record", "--buyer", buyer, "--gtin", GTIN_A, "--price", "0.188", "--receipt", "OUT-1", account=STORE_KEY)
    assert_words(sold.stdout)
    (purchase_id,) = HEX64.findall(sold.stdout)
    bought = cli("guarantee", "purchase", "list", "--buyer", buyer).stdout
    assert_words(bought)
    assert f"{purchase_id} {GTIN_A} x1 at 0.188 ETH on " in bought and "cover 0.187999999999999999 ETH" in bought
    shown = cli("guarantee", "retailer", "show", "1").stdout
    assert_words(shown)
    assert "currency ETH (the chain's coin)" in shown and "1 ETH held" in " ".join(shown.split())
    assert "a withdrawal waits 1 day" in " ".join(shown.split())
    announced = cli("guarantee", "withdrawal", "announce", "--retailer", "1", "0.01", account=RETAILER).stdout
    assert_words(announced)
    assert re.search(r"may execute from \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", announced)
    cli("guarantee", "withdrawal", "cancel", "--retailer", "1", account=RETAILER)


def test_coupon_redeem_says_the_amount_off_in_the_currency_not_in_base_units(cli: Cli, tmp_path: Path) -> None:
    campaign = cli.json("coupon", "campaign", "open", "--merchant", "2", "--vouchers", "10", "--for", "7d", account=RETAILER)["campaign"]
    vouchers = tmp_path / "vouchers.jsonl"
    issued = cli("coupon", "issue", str(campaign), "--count", "3", "--amount", "0.01", "-o", str(vouchers), account=WEB_KEY)
    assert "3 vouchers written to" in issued.stdout and "━" not in issued.stderr
    payload = json.loads(vouchers.read_text().splitlines()[0])["payload"]
    redeemed = cli("coupon", "redeem", payload, account=STORE_KEY).stdout
    assert_words(redeemed)
    assert "0.01 ETH off the whole store" in redeemed
    unsigned = cli("coupon", "campaign", "show", str(campaign)).stdout
    assert_words(unsigned)
    assert "UTC" in unsigned and "%" not in unsigned and "pass the files `coupon issue` wrote with --signed" in unsigned
    stats = cli("coupon", "campaign", "show", str(campaign), "--signed", str(vouchers)).stdout
    assert_words(stats)
    assert "UTC" in stats and "33.3%" in stats  # 1 redeemed of the 3 signed, not of the capacity of 10
    assert cli.json("coupon", "campaign", "show", str(campaign))["redeemed"] == 1


def test_empty_review_lists_say_so_and_json_keeps_its_shape(cli: Cli) -> None:
    assert cli("review", "list", "--gtin", GTIN_B).stdout.strip() == "no reviews of this product yet"
    assert cli("review", "list", "--merchant", "1").stdout.strip() == "no reviews of this merchant yet"
    assert cli.json("review", "list", "--gtin", GTIN_B) == {"reviews": [], "hidden": 0, "hiddenReason": None}


# -- ids are never wrapped when piped --------------------------------------------------------------
def test_piped_output_keeps_every_id_whole_on_its_line(cli: Cli) -> None:
    """CliRunner's stdout is no terminal, like a pipe: rich must not wrap at 80 columns there."""
    long_name = "Dalian Coast Snacks flagship store on Zhongshan Road, " * 5
    key = ACCOUNTS[2].address
    cli("guarantee", "channel", "add", "--retailer", "1", "--kind", "app", "--key", key, "--name", long_name.strip(), account=RETAILER)
    shown = cli("guarantee", "retailer", "show", "1").stdout
    (line,) = [line for line in shown.splitlines() if long_name.strip() in line]
    assert len(line) > 300 and line.endswith(f"key {key}")

    receipts = [f"PIPE-{n}" for n in range(3)]
    for receipt in receipts:
        args = ("--buyer", ACCOUNTS[9].address, "--gtin", GTIN_A, "--price", "0.188", "--receipt", receipt)
        cli("guarantee", "sale", "record", *args, account=STORE_KEY)
    listed = cli("guarantee", "purchase", "list", "--buyer", ACCOUNTS[9].address).stdout.splitlines()
    ids = {p["purchase"] for p in cli.json("guarantee", "purchase", "list", "--buyer", ACCOUNTS[9].address)}
    assert len(listed) == 3 and {line.split()[0] for line in listed} == ids
    assert all(HEX64.fullmatch(line.split()[0]) and len(line) > 150 and "compensation paid from" in line for line in listed)
