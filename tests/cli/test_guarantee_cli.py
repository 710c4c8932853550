"""``o2ochain guarantee`` and ``o2ochain keeper`` end to end on a real Anvil: the paper's case.

A retailer with a store and a web shop; gift bags sold in the store at 0.188 (native coin) while
the web shop drops its price to 0.133; a day later (the payout delay) the keeper pays each buyer
the difference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain.cli import main
from tests.cli.test_cli import Cli
from tests.conftest import GTIN_A

pytestmark = pytest.mark.e2e
ACCOUNTS = dev_accounts(10)
RETAILER, BUYER, OTHER_BUYER, STORE_KEY, WEB_KEY, KEEPER, OUTSIDER = ("dev:1", "dev:4", "dev:5", "dev:6", "dev:7", "dev:9", "dev:8")
ETHER = 10**18
DAY = 86_400
COVERS = (188 * 10**15 - 1, 2 * (188 * 10**15 - 1))  # what the pool reserved: (unit price - 1) x quantity


def travel(cli: Cli, seconds: int) -> None:
    """Move the Anvil's clock ahead and mine a block there."""
    provider = http_web3(cli.rpc).provider
    provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    provider.make_request("evm_mine", [])  # type: ignore[arg-type]


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
        c("guarantee", "pool", "fund", "--retailer", "1", "1", account=RETAILER)
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

    # Owed, but paid only from a day after the sale was recorded: the keeper says so and waits.
    (owed,) = cli.json("guarantee", "compensation", "show", account=BUYER)
    assert (owed["due"], owed["pending"], owed["cover"]) == ("0", str(55 * 10**15), str(COVERS[0]))
    assert owed["reason"].startswith("claimable from ") and owed["claimableAt"] > 0
    assert "0.055 ETH owed, claimable from" in " ".join(cli("guarantee", "compensation", "show", account=BUYER).stdout.split())
    early = [json.loads(line) for line in cli("keeper", "--once", "--json", account=KEEPER).stdout.splitlines()]
    assert sorted((e["kind"], int(e["amount"])) for e in early) == [("pending", 55 * 10**15), ("pending", 110 * 10**15)]
    too_early = cli("guarantee", "compensation", "claim", owed["purchase"], account=OUTSIDER, expect=2)
    assert "nothing is claimable yet" in too_early.stderr

    travel(cli, DAY)
    (owed,) = cli.json("guarantee", "compensation", "show", account=BUYER)
    assert (owed["due"], owed["difference"], owed["tolerance"], owed["reason"]) == (
        str(55 * 10**15),
        str(55 * 10**15),
        str(50 * 10**15),
        "owed",
    )
    text = " ".join(cli("guarantee", "compensation", "show", account=BUYER).stdout.split())
    assert "owed 0.055 ETH" in text and "channel 2 offered 0.133 ETH" in text

    log = tmp_path / "keeper.jsonl"
    lines = cli("keeper", "--once", "--json", "--log", str(log), account=KEEPER).stdout.splitlines()
    paid = sorted((json.loads(line)["buyer"], json.loads(line)["amount"]) for line in lines)
    assert paid == sorted([(ACCOUNTS[4].address, str(55 * 10**15)), (ACCOUNTS[5].address, str(110 * 10**15))])
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert {(entry["kind"], entry["evidence"], entry["offerPrice"]) for entry in logged} == {("paid", "published price", str(133 * 10**15))}
    assert cli("keeper", "--once", "--json", account=KEEPER).stdout.strip() == ""  # nothing is paid twice

    pool = cli.json("guarantee", "retailer", "show", "1")
    reserved = sum(COVERS) - 165 * 10**15  # the covers less what was paid from them
    assert (pool["paid"], pool["balance"], pool["reserved"]) == (str(165 * 10**15), str(ETHER - 165 * 10**15), str(reserved))
    assert pool["free"] == str(ETHER - 165 * 10**15 - reserved)
    assert [c["name"] for c in pool["channels"]] == ["Zhongshan Road store", "web shop"]
    shown = " ".join(cli("guarantee", "retailer", "show", "1").stdout.split())
    assert "0.835 ETH held; 0.398999999999999997 ETH promised to buyers" in shown and "0.436000000000000003 ETH free" in shown
    assert "a withdrawal waits 1 day and takes only free funds" in shown
    (mine,) = cli.json("guarantee", "purchase", "list", account=BUYER)
    assert (mine["unitPrice"], mine["cover"]) == (str(188 * 10**15), str(COVERS[0]))
    listed = " ".join(cli("guarantee", "purchase", "list", account=BUYER).stdout.split())
    assert "x1 at 0.188 ETH" in listed and "cover 0.187999999999999999 ETH, compensation paid from" in listed


def test_bad_sales_file_names_each_bad_row_and_records_nothing(cli: Cli, tmp_path: Path) -> None:
    sales = tmp_path / "bad.csv"
    sales.write_text(
        "buyer,gtin,quantity,unit_price,receipt\n"
        f"{ACCOUNTS[4].address},{GTIN_A},1,0.188,BAD-1\n"
        f"{ACCOUNTS[4].address},{GTIN_A},1,-3,BAD-2\n"
        f"{ACCOUNTS[4].address},12345,1,0.188,BAD-3\n"
    )
    before = len(cli.json("guarantee", "purchase", "list"))
    result = cli("guarantee", "sale", "import", str(sales), account=STORE_KEY, expect=2)
    assert f"{sales}:3" in result.stderr and "unit_price" in result.stderr and f"{sales}:4" in result.stderr
    assert len(cli.json("guarantee", "purchase", "list")) == before


def test_outsiders_and_wrong_keys_are_refused_with_clear_messages(cli: Cli) -> None:
    refused = cli("guarantee", "policy", "set", "--retailer", "1", "--max-payout", "1", account=OUTSIDER, expect=1)
    assert f"{ACCOUNTS[8].address} does not hold the admin role of retailer 1." in refused.stderr  # AccessControlUnauthorizedAccount
    not_key = cli("guarantee", "price", "publish", GTIN_A, "0.1", account=OUTSIDER, expect=1)
    assert "not the key of any channel" in not_key.stderr
    bad = cli("guarantee", "policy", "set", "--retailer", "1", "--window", "soon", "--max-payout", "1", account=RETAILER, expect=2)
    assert "--window" in bad.stderr and "not a duration" in bad.stderr
    early = cli("guarantee", "withdrawal", "announce", "--retailer", "1", "0.1", account=RETAILER)
    assert "may execute from" in early.stdout
    too_early = cli("guarantee", "withdrawal", "execute", "--retailer", "1", account=RETAILER, expect=1)
    assert "The withdrawal of retailer 1 may be executed from 20" in too_early.stderr  # GuaranteeWithdrawalTooEarly
    cli("guarantee", "withdrawal", "cancel", "--retailer", "1", account=RETAILER)


def test_a_refusal_is_said_in_words_and_named_for_machines(cli: Cli) -> None:
    """The contract's refusal reads as its NatSpec notice, its arguments said for people; --json
    keeps the Solidity name and the arguments beside the words."""
    unknown = cli("guarantee", "retailer", "show", "99", expect=1)
    assert "Retailer 99 has not been registered." in unknown.stderr and "GuaranteeRetailerUnknown" not in unknown.stderr
    assert cli.json("guarantee", "retailer", "show", "99", expect=1) == {
        "error": "GuaranteeRetailerUnknown",
        "message": "Retailer 99 has not been registered.",
        "arguments": {"retailer": 99},
    }
    refused = cli.json("guarantee", "policy", "set", "--retailer", "1", "--max-payout", "1", account=OUTSIDER, expect=1)
    assert refused["error"] == "AccessControlUnauthorizedAccount"
    assert refused["message"] == f"{ACCOUNTS[8].address} does not hold the admin role of retailer 1."
    assert refused["arguments"]["account"] == ACCOUNTS[8].address and refused["arguments"]["neededRole"].startswith("0x")


def test_help_explains_the_guarantee_the_keeper_and_key_rotation(cli: Cli) -> None:
    text = " ".join(cli.runner.invoke(main, ["guarantee", "--help"]).stdout.split())
    assert "the buyer is owed the difference" in text and "o2ochain keeper" in text and "reserves its cover" in text
    text = " ".join(cli.runner.invoke(main, ["keeper", "--help"]).stdout.split())
    assert "so nothing is paid twice" in text and "lodged on chain" in text and "released" in text
    text = " ".join(cli.runner.invoke(main, ["guarantee", "channel", "rotate", "--help"]).stdout.split())
    assert "Quotes it signed stop counting at once" in text and "Receipts and vouchers it signed" in text
    assert "--grace" in text and "[default: 1d]" in text and "--compromised" in text and "refused at once" in text


def test_channel_rotate_gives_a_grace_or_none_and_a_lodged_quote_outlives_its_key(cli: Cli, tmp_path: Path) -> None:
    app = cli.json(
        "guarantee", "channel", "add", "--retailer", "1", "--kind", "app", "--key", ACCOUNTS[2].address, "--name", "app", account=RETAILER
    )
    quote = tmp_path / "quote.jsonl"
    cli("guarantee", "price", "quote", GTIN_A, "0.140", "--for", "30d", "-o", str(quote), account="dev:2")
    (lodged,) = cli.json("guarantee", "price", "lodge", str(quote), account=OUTSIDER)  # anyone may lodge it
    assert (lodged["lodged"], lodged["channel"], lodged["price"]) == (True, app["channel"], str(140 * 10**15))
    (again,) = cli.json("guarantee", "price", "lodge", str(quote), account=OUTSIDER)
    assert (again["lodged"], again["already"]) == (False, True)

    def rotate(key: str, *options: str) -> tuple[str, ...]:
        """A rotation of the app's channel to `key` by retailer 1."""
        return ("guarantee", "channel", "rotate", str(app["channel"]), "--key", key, "--retailer", "1", *options)

    too_long = cli(*rotate(ACCOUNTS[3].address, "--grace", "8d"), account=RETAILER, expect=2)
    assert "--grace" in too_long.stderr
    rotated = cli.json(*rotate(ACCOUNTS[3].address, "--grace", "2d"), account=RETAILER)
    assert (rotated["grace"], rotated["compromised"]) == (2 * DAY, False)
    revoked = cli(*rotate("none", "--compromised"), account=RETAILER)
    assert "everything the old key signed that was not used is refused from now on" in revoked.stdout
    offers = cli.json("guarantee", "price", "list", GTIN_A, "--channel", str(app["channel"]))
    assert [(o["price"], o["lodged"]) for o in offers] == [(str(140 * 10**15), True)]  # still evidence, on chain
    refused = cli("guarantee", "price", "quote", GTIN_A, "0.1", account="dev:2", expect=1)
    assert "revoked" in refused.stderr


def test_policy_set_says_when_a_reduction_takes_effect(cli: Cli) -> None:
    def policy(window: str) -> tuple[str, ...]:
        """A default policy of retailer 1 with this window (tolerance 0.05, cap 0.5)."""
        return ("guarantee", "policy", "set", "--retailer", "1", "--window", window, "--tolerance-amount", "0.05", "--max-payout", "0.5")

    wider = cli(*policy("40d"), account=RETAILER)
    assert "it applies to purchases from now on" in wider.stdout
    shorter = cli.json(*policy("7d"), account=RETAILER)
    assert (shorter["reduces"], shorter["notice"], shorter["window"]) == (True, 7 * DAY, 7 * DAY)
    text = " ".join(cli(*policy("6d"), account=RETAILER).stdout.split())
    assert "reduces coverage: takes effect on " in text and "7 days' notice" in text


def test_release_returns_the_unclaimed_cover_once_claims_close(cli: Cli) -> None:
    assert "no purchase has claims closed" in cli("guarantee", "purchase", "release", account=OUTSIDER).stdout
    reserved = int(cli.json("guarantee", "retailer", "show", "1")["reserved"])
    assert reserved > 0
    travel(cli, 32 * DAY)  # the 30-day window and the day after it
    released = cli.json("guarantee", "purchase", "release", "--retailer", "1", account=OUTSIDER)
    assert sum(int(r["amount"]) for r in released) == reserved and len(released) == 2
    pool = cli.json("guarantee", "retailer", "show", "1")
    assert (pool["reserved"], pool["free"]) == ("0", pool["balance"])


def test_shopper_gives_the_till_a_new_address_per_purchase_and_finds_them_again(cli: Cli, tmp_path: Path) -> None:
    shopper = "dev:3"  # a key this module uses for nothing else: it never appears on chain
    first = cli.json("shopper", "address", "show", "--retailer", "1", account=shopper)["address"]
    assert first != ACCOUNTS[3].address
    assert cli.json("shopper", "address", "show", "--retailer", "1", account=shopper)["address"] == first  # unused: the same
    sales = tmp_path / "shopper-sales.csv"
    sales.write_text(f"buyer,gtin,quantity,unit_price,receipt\n{first},{GTIN_A},1,0.188,ZS-7001\n")
    assert cli.json("guarantee", "sale", "import", str(sales), account=STORE_KEY)["recorded"] == 1
    second = cli.json("shopper", "address", "show", "--retailer", "1", account=shopper)["address"]
    assert second not in (first, ACCOUNTS[3].address)

    (bought,) = cli.json("shopper", "purchase", "list", account=shopper)
    assert (bought["retailer"], bought["index"], bought["buyer"], bought["cover"]) == (1, 0, first, str(COVERS[0]))
    assert "retailer 1 #0" in cli("shopper", "purchase", "list", account=shopper).stdout
    # The item's owner address and a data user's consent address: per record, all different.
    item = cli.json("shopper", "address", "show", "--item", f"https://id.gs1.org/01/{GTIN_A}/21/SHOP-1", account=shopper)["address"]
    consent = cli.json("shopper", "address", "show", "--data-user", ACCOUNTS[1].address, account=shopper)["address"]
    assert len({first, second, item, consent, ACCOUNTS[3].address}) == 5


def test_shopper_address_wants_exactly_one_record(cli: Cli) -> None:
    for args in ((), ("--retailer", "1", "--data-user", ACCOUNTS[1].address)):
        result = cli("shopper", "address", "show", *args, account="dev:3", expect=2)
        assert "exactly one of --retailer, --item and --data-user" in result.stderr
    assert "there is no retailer 9" in cli("shopper", "address", "show", "--retailer", "9", account="dev:3", expect=2).stderr
