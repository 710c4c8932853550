"""``o2ochain guarantee`` and ``o2ochain keeper`` end to end on a real Anvil: the paper's case.

A retailer with a store and a web shop; gift bags sold in the store at 0.188 (native coin) while
the web shop drops its price to 0.133; the keeper pays each buyer the difference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from o2ochain.chain import Anvil, dev_accounts
from o2ochain.cli import main
from tests.cli.test_cli import Cli
from tests.conftest import GTIN_A

pytestmark = pytest.mark.e2e
ACCOUNTS = dev_accounts(10)
RETAILER, BUYER, OTHER_BUYER, STORE_KEY, WEB_KEY, KEEPER, OUTSIDER = ("dev:1", "dev:4", "dev:5", "dev:6", "dev:7", "dev:9", "dev:8")
ETHER = 10**18


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    folder = tmp_path_factory.mktemp("guarantee-cli")
    with Anvil() as node:
        c = Cli(node.url, folder / "deployments", CliRunner(mix_stderr=False))
        c("deploy", account="dev:0")
        assert c.json("guarantee", "retailer", "register", "--uri", "https://dalian-coast.example", account=RETAILER)["retailer"] == 1
        store = c.json(
            "guarantee",
            "channel",
            "add",
            "--retailer",
            "1",
            "--kind",
            "store",
            "--key",
            ACCOUNTS[6].address,
            "--name",
            "Zhongshan Road store",
            account=RETAILER,
        )
        web = c.json(
            "guarantee",
            "channel",
            "add",
            "--retailer",
            "1",
            "--kind",
            "online-shop",
            "--key",
            ACCOUNTS[7].address,
            "--name",
            "web shop",
            account=RETAILER,
        )
        assert (store["channel"], web["channel"]) == (1, 2)
        c(
            "guarantee",
            "policy",
            "set",
            "--retailer",
            "1",
            "--window",
            "30d",
            "--tolerance-amount",
            "0.05",
            "--max-payout",
            "0.5",
            account=RETAILER,
        )
        c("guarantee", "fund", "--retailer", "1", "1", account=RETAILER)
        yield c


def test_sales_prices_and_the_keeper_pay_each_buyer_the_difference(cli: Cli, tmp_path: Path) -> None:
    cli("guarantee", "price", "publish", GTIN_A, "0.150", account=WEB_KEY)
    sales = tmp_path / "sales.csv"
    sales.write_text(
        "buyer,gtin,quantity,unit_price,receipt\n"
        f"{ACCOUNTS[4].address},{GTIN_A},1,0.188,ZS-0042\n"
        f"{ACCOUNTS[5].address},{GTIN_A},2,0.188,ZS-0043\n"
    )
    assert cli.json("guarantee", "sale", "import", str(sales), account=STORE_KEY) == {"recorded": 2, "alreadyRecorded": 0}
    assert cli.json("guarantee", "sale", "import", str(sales), account=STORE_KEY) == {"recorded": 0, "alreadyRecorded": 2}
    cli("guarantee", "price", "publish", GTIN_A, "0.133", account=WEB_KEY)

    history = cli.json("guarantee", "price", "list", GTIN_A)
    assert [(h["price"], h["endedAt"] > 0) for h in history] == [(str(150 * 10**15), True), (str(133 * 10**15), False)]

    (owed,) = cli.json("guarantee", "owed", account=BUYER)
    assert (owed["due"], owed["difference"], owed["tolerance"], owed["reason"]) == (
        str(55 * 10**15),
        str(55 * 10**15),
        str(50 * 10**15),
        "owed",
    )
    text = cli("guarantee", "owed", account=BUYER).stdout
    assert "owed 0.055" in text and "channel 2 offered 0.133" in text

    log = tmp_path / "keeper.jsonl"
    lines = cli("keeper", "--once", "--json", "--log", str(log), account=KEEPER).stdout.splitlines()
    paid = sorted((json.loads(line)["buyer"], json.loads(line)["amount"]) for line in lines)
    assert paid == sorted([(ACCOUNTS[4].address, str(55 * 10**15)), (ACCOUNTS[5].address, str(110 * 10**15))])
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert {(entry["kind"], entry["evidence"], entry["offerPrice"]) for entry in logged} == {("paid", "published price", str(133 * 10**15))}
    assert cli("keeper", "--once", "--json", account=KEEPER).stdout.strip() == ""  # nothing is paid twice

    pool = cli.json("guarantee", "retailer", "show", "1")
    assert (pool["paid"], pool["available"], pool["owed"]) == (str(165 * 10**15), str(ETHER - 165 * 10**15), "0")
    assert [c["name"] for c in pool["channels"]] == ["Zhongshan Road store", "web shop"]
    (mine,) = cli.json("guarantee", "purchases", account=BUYER)
    assert mine["unitPrice"] == str(188 * 10**15)


def test_bad_sales_file_names_each_bad_row_and_records_nothing(cli: Cli, tmp_path: Path) -> None:
    sales = tmp_path / "bad.csv"
    sales.write_text(
        "buyer,gtin,quantity,unit_price,receipt\n"
        f"{ACCOUNTS[4].address},{GTIN_A},1,0.188,BAD-1\n"
        f"{ACCOUNTS[4].address},{GTIN_A},1,-3,BAD-2\n"
        f"{ACCOUNTS[4].address},12345,1,0.188,BAD-3\n"
    )
    before = len(cli.json("guarantee", "purchases"))
    result = cli("guarantee", "sale", "import", str(sales), account=STORE_KEY, expect=2)
    assert f"{sales}:3" in result.stderr and "unit_price" in result.stderr and f"{sales}:4" in result.stderr
    assert len(cli.json("guarantee", "purchases")) == before


def test_outsiders_and_wrong_keys_are_refused_with_clear_messages(cli: Cli) -> None:
    refused = cli("guarantee", "policy", "set", "--retailer", "1", "--max-payout", "1", account=OUTSIDER, expect=1)
    assert "AccessControlUnauthorizedAccount" in refused.stderr and ACCOUNTS[8].address in refused.stderr
    not_key = cli("guarantee", "price", "publish", GTIN_A, "0.1", account=OUTSIDER, expect=1)
    assert "not the key of any channel" in not_key.stderr
    bad = cli("guarantee", "policy", "set", "--retailer", "1", "--window", "soon", "--max-payout", "1", account=RETAILER, expect=2)
    assert "--window" in bad.stderr and "not a duration" in bad.stderr
    early = cli("guarantee", "withdraw", "--retailer", "1", "announce", "0.1", account=RETAILER)
    assert "may execute from" in early.stdout
    too_early = cli("guarantee", "withdraw", "--retailer", "1", "execute", account=RETAILER, expect=1)
    assert "GuaranteeWithdrawalTooEarly" in too_early.stderr
    cli("guarantee", "withdraw", "--retailer", "1", "cancel", account=RETAILER)


def test_help_explains_the_guarantee_and_the_keeper(cli: Cli) -> None:
    text = " ".join(cli.runner.invoke(main, ["guarantee", "--help"]).stdout.split())
    assert "the buyer is owed the difference" in text and "o2ochain keeper" in text
    text = " ".join(cli.runner.invoke(main, ["keeper", "--help"]).stdout.split())
    assert "so nothing is paid twice" in text
