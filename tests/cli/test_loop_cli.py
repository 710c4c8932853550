"""``o2ochain merchant | review | coupon`` end to end on a real Anvil: the O2O loop from the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from o2ochain._chain.connection import Anvil, dev_accounts
from o2ochain.cli import main
from tests.cli.test_cli import Cli
from tests.conftest import GTIN_A, PREFIX

pytestmark = pytest.mark.e2e
ACCOUNTS = dev_accounts(10)
RETAILER, BRAND_ADMIN, BUYER, OTHER, STORE_KEY, WEB_KEY, OUTSIDER = ("dev:1", "dev:2", "dev:4", "dev:5", "dev:6", "dev:7", "dev:8")


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    folder = tmp_path_factory.mktemp("loop-cli")
    with Anvil() as node:
        c = Cli(node.url, folder / "deployments", CliRunner(mix_stderr=False, env={"O2O_CONTENT": str(folder / "content")}))
        c("deploy", account="dev:0")
        c("brand", "add", "Dalian Coast Snacks", "--admin", ACCOUNTS[2].address, "--prefix", PREFIX, account="dev:0")
        c("product", "add", GTIN_A, "--brand", "1", account=BRAND_ADMIN)
        c("guarantee", "retailer", "register", account=RETAILER)
        c("review", "retailer", "grant", "1", "--brand", "1", account=BRAND_ADMIN)
        c(
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
            "store",
            account=RETAILER,
        )
        c(
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
            "web",
            account=RETAILER,
        )
        for who, receipt in ((ACCOUNTS[4].address, "R-1"), (ACCOUNTS[5].address, "R-2")):
            c("guarantee", "sale", "record", "--buyer", who, "--gtin", GTIN_A, "--price", "0.188", "--receipt", receipt, account=STORE_KEY)
        yield c


def _purchase(cli: Cli, account: str) -> str:
    (row,) = cli.json("guarantee", "purchase", "list", account=account)
    return str(row["purchase"])


def test_reviews_votes_replies_and_a_merchant_page(cli: Cli) -> None:
    cli(
        "merchant",
        "publish",
        "1",
        "--name",
        "Zhongshan Road store",
        "--gln",
        "9506000000015",
        "--lat",
        "38.914",
        "--lon",
        "121.6147",
        account=RETAILER,
    )
    mine = cli.json(
        "review",
        "write",
        "--purchase",
        _purchase(cli, BUYER),
        "--rating",
        "5",
        "--text",
        "Fresh and crisp; good value for a gift.",
        account=BUYER,
    )
    cli.json(
        "review",
        "write",
        "--purchase",
        _purchase(cli, BUYER),
        "--subject",
        "merchant",
        "--rating",
        "4",
        "--text",
        "Friendly staff.",
        account=BUYER,
    )
    again = cli("review", "write", "--purchase", _purchase(cli, BUYER), "--rating", "1", "--text", "again", account=BUYER, expect=1)
    assert "The ticket was already used for review 0x" in again.stderr  # ReviewAlreadyPosted
    stranger = cli(
        "review", "write", "--purchase", _purchase(cli, BUYER), "--rating", "1", "--text", "never bought", account=OUTSIDER, expect=1
    )
    assert f"{ACCOUNTS[8].address} is not the ticket's holder" in stranger.stderr  # ReviewNotBuyer
    cli("review", "vote", mine["review"], "--helpful", account=OTHER)  # OTHER's purchase is its ticket
    voted = cli("review", "vote", mine["review"], "--not-helpful", account=OTHER, expect=1)
    assert f"{ACCOUNTS[5].address} has already voted on review {mine['review']}." in voted.stderr  # ReviewAlreadyVoted
    refused = cli("review", "report", mine["review"], "--reason", "spam", account=OUTSIDER, expect=1)
    assert f"you can report this review only as a buyer of product {GTIN_A} of Dalian Coast Snacks (brand 1)" in refused.stderr
    cli("review", "report", mine["review"], "--reason", "spam", account=OTHER)
    cli("review", "edit", mine["review"], "--rating", "4", "--text", "Fresh and crisp; one bag was a little stale.", account=BUYER)
    listing = cli.json("review", "list", "--gtin", GTIN_A)
    (listed,) = listing["reviews"]
    assert (listing["hidden"], listing["hiddenReason"]) == (0, None)
    assert (listed["rating"], listed["version"], listed["helpful"], listed["reports"]) == (4, 2, 1, 1)
    assert listed["text"] == "Fresh and crisp; one bag was a little stale."
    assert listed["postedAt"] > 0  # the time of the block its ReviewPosted log is in
    merchant_review = cli.json("review", "list", "--merchant", "1")["reviews"][0]["review"]
    cli("review", "reply", merchant_review, "--text", "Thank you!", account=STORE_KEY)
    # A vote on a review of the shop takes a purchase from its retailer: OTHER has one, OUTSIDER none.
    cli("review", "vote", merchant_review, "--helpful", account=OTHER)
    stranger = cli("review", "vote", merchant_review, "--helpful", account=OUTSIDER, expect=1)
    assert "you can vote on this review only as a customer of retailer 1, whose shop 'store' it reviews" in stranger.stderr
    page = cli.json("merchant", "show", "1")
    assert page["profile"]["details"]["name"] == "Zhongshan Road store" and page["profile"]["gln"] == "9506000000015"
    assert page["rating"] == {"merchant": 1, "average": 4.0, "count": 1}
    assert page["reviews"][0]["replies"][0]["text"] == "Thank you!"
    text = cli("merchant", "show", "1").stdout
    assert "4.0 / 5 from 1 verified buyer" in text and "Friendly staff." in text
    bad = cli("review", "vote", "0x1234", account=OTHER, expect=2)
    assert "not a review id" in bad.stderr


def test_review_retailer_grant_decides_which_product_reviews_count(cli: Cli) -> None:
    help_text = " ".join(cli.runner.invoke(main, ["review", "retailer", "--help"]).output.split())
    assert "only the buyers of retailers the brand grants may review" in help_text and "revoke" in help_text
    outsider = cli("review", "retailer", "grant", "1", "--brand", "1", account=OUTSIDER, expect=1)
    assert f"{ACCOUNTS[8].address} does not hold the brand admin role of brand 1." in outsider.stderr  # AccessControlUnauthorizedAccount
    third = ACCOUNTS[3].address
    cli("guarantee", "sale", "record", "--buyer", third, "--gtin", GTIN_A, "--price", "0.188", "--receipt", "R-3", account=STORE_KEY)
    cli("review", "write", "--purchase", _purchase(cli, "dev:3"), "--rating", "5", "--text", "Tasty and fresh.", account="dev:3")
    shown = len(cli.json("review", "list", "--gtin", GTIN_A)["reviews"])
    withdrawn = cli.json("review", "retailer", "revoke", "1", "--brand", "1", account=BRAND_ADMIN)
    assert (withdrawn["brand"], withdrawn["retailer"], withdrawn["authorised"]) == (1, 1, False)
    try:
        listing = cli.json("review", "list", "--gtin", GTIN_A)
        assert (listing["reviews"], listing["hidden"]) == ([], shown)
        assert listing["hiddenReason"] == "their seller is not authorised by Dalian Coast Snacks (brand 1)"
        text = cli("review", "list", "--gtin", GTIN_A).stdout
        assert "hidden:" in text and "seller is not authorised by Dalian Coast Snacks (brand 1)" in text
        # OTHER bought from the same retailer: its product review is refused before anything is sent.
        refused = cli("review", "write", "--purchase", _purchase(cli, OTHER), "--rating", "1", "--text", "meh", account=OTHER, expect=1)
        assert "Dalian Coast Snacks (brand 1) has not authorised retailer 1 to sell its product" in refused.stderr
        assert cli.json("review", "list", "--merchant", "1")["hidden"] == 0  # merchant reviews need no authorisation
    finally:
        restored = cli("review", "retailer", "grant", "1", "--brand", "1", account=BRAND_ADMIN).stdout
    assert "Dalian Coast Snacks (brand 1) authorises retailer 1" in restored
    assert cli.json("review", "list", "--gtin", GTIN_A)["hidden"] == 0


def test_coupon_campaign_issue_redeem_once_and_conversion(cli: Cli, tmp_path: Path) -> None:
    campaign = cli.json(
        "coupon", "campaign", "open", "--merchant", "2", "--vouchers", "100", "--for", "7d", "--terms", "10% off", account=RETAILER
    )["campaign"]
    vouchers = tmp_path / "vouchers.jsonl"
    issued = cli.json(
        "coupon",
        "issue",
        str(campaign),
        "--count",
        "4",
        "--percent",
        "10%",
        "-o",
        str(vouchers),
        "--qr",
        str(tmp_path / "qr"),
        account=WEB_KEY,
    )
    assert issued["vouchers"] == 4 and len(list((tmp_path / "qr").glob("*.png"))) == 4
    payloads = [json.loads(line)["payload"] for line in vouchers.read_text().splitlines()]
    cli("coupon", "redeem", payloads[0], "--receipt", "R-77", account=STORE_KEY)
    twice = cli("coupon", "redeem", payloads[0], account=STORE_KEY, expect=1)
    assert "has already been redeemed." in twice.stderr  # CouponAlreadyRedeemed
    not_shop = cli("coupon", "redeem", payloads[1], account=OUTSIDER, expect=1)
    assert f"{ACCOUNTS[8].address} is not a live key of a channel of the campaign's retailer." in not_shop.stderr  # CouponNotShop
    assert "damaged" in cli("coupon", "redeem", "o2ochain:voucher:xyz", account=STORE_KEY, expect=2).stderr
    assert cli.json("coupon", "redeem", str(vouchers), account=STORE_KEY)["index"] == 1  # the file's first voucher not yet used
    cli("coupon", "redeem", payloads[2], account=WEB_KEY)
    stats = cli.json("coupon", "campaign", "show", str(campaign), "--signed", str(vouchers))
    assert (stats["capacity"], stats["signed"], stats["redeemed"], stats["conversion"], stats["merchant"]) == (100, 4, 3, 0.75, 2)
