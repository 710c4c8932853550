"""The page's wallet actions in a real Chromium against the demo's Anvil, with its built-in test shopper.

The demo (src/o2ochain/demo/_page.py) gives the shopper a claim code for one item, a purchase the
price guarantee owes on, a consent with two recorded uses, and a coupon, each at one of the
shopper's derived addresses (o2ochain.shopper; the page derives the same ones from the same key).
Before the browser runs, a kiosk the brand does not recognise is set up on the same chain
(:func:`_kiosk`): it sells the shopper two packs of another product (one covered by its small
pool, one after the pool ran dry) at two purchase addresses, a stranger's review of that product
posted while the brand still recognised the kiosk, and a cut of its guarantee announced ahead.
frontend/e2e/wallet.mjs connects the test account (one signature opens its derived addresses)
and goes through claim → review → compensation → a review on a purchase → a vote and two
reports with the shopper's ticket → the kiosk's product page → a refused grant → revoke → grant
→ coupon → an extension → a reader with no ticket → a reinstall → moving the compensation to the
wallet; each state's screenshot is in test-output/wallet-*.png. The extension and the reinstall run
in a browser whose language is Chinese: the account page, a refusal and a revoke in Chinese words,
and the same addresses opened (the message the wallet signs is the same in every language). Every
write is signed by a derived address and sent by the page's relay. The chain is then asked whether each write really happened,
at which address, and whether the test account's own address appears anywhere on it (it must not).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any
from urllib.parse import unquote
from urllib.request import urlopen

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3

from o2ochain import gs1
from o2ochain._chain.artifacts import artifact
from o2ochain.shopper import SEED_MESSAGE, Shopper, ShopperView
from tests.e2e.browser import drive_script

pytestmark = pytest.mark.e2e

MILLI = 10**15
DAY = 86_400
#: What the kiosk's guarantee covers per purchase, and what its pool holds: two covers.
KIOSK_CAP = 20 * MILLI


def _fresh(name: str) -> LocalAccount:
    """A key of this test's own (never a demo account), the same on every run."""
    account: LocalAccount = Account.from_key(keccak(f"o2ochain e2e {name}".encode()))
    return account


def _kiosk(page_demo: dict[str, Any], config: dict[str, Any], shopper: Shopper) -> dict[str, Any]:
    """A kiosk registered as a retailer of its own, whose purchases the brand stops recognising.

    It sells the product of the demo's Merkle-committed item (the brand's "Dried squid"): first to
    a stranger, who reviews it while the brand recognises the kiosk; then twice to the shopper (at
    its first two purchase addresses of the kiosk, as the page shows them at the till), the first
    covered by the last free funds of its pool, the second not; then it offers the
    product cheaper (owed, once claims open), the brand withdraws its recognition (the stranger's
    review no longer counts, and the shopper's could not be posted), and it announces a cut of its
    guarantee (shown ahead, for later purchases only).
    """
    from o2ochain._chain.connection import dev_accounts, http_web3
    from o2ochain.client import O2OChain
    from o2ochain.deployments import Deployment
    from o2ochain.guarantee import Policy

    w3 = http_web3(config["rpcUrl"])
    chain = O2OChain(w3, deployment=Deployment.from_json(config["deployment"]))
    chain.use_content(page_demo["out"] / "content")
    admin, key, reviewer = _fresh("kiosk admin"), _fresh("kiosk till"), _fresh("kiosk reviewer")
    for account in (admin, key, reviewer):
        w3.provider.make_request("anvil_setBalance", [account.address, hex(10**19)])  # type: ignore[arg-type]
    item = page_demo["items"]["merkle"]
    gtin = gs1.parse_digital_link(item).gtin
    brand = chain.identity.brand_of_gtin(gtin)
    role = chain.identity.brand_admin_role(brand)
    (brand_admin,) = [a for a in dev_accounts(25) if chain.identity.has_role(role, a.address)]
    kiosk = chain.register_retailer(admin, uri="https://example.com/pier-9-kiosk")
    channel = kiosk.add_channel("store", key.address, "Pier 9 kiosk")
    kiosk.set_policy(Policy(window=30 * DAY, tolerance_bps=500, max_payout=KIOSK_CAP))
    kiosk.fund(2 * KIOSK_CAP)
    brand_admin_role = chain.brand(brand_admin, brand)
    brand_admin_role.authorise_seller(kiosk.retailer)
    till = chain.channel(key)
    bought = till.record_sale(reviewer.address, gtin, 1, 100 * MILLI, "PIER9-0001")
    hidden = chain.reviewer(reviewer).review_purchase(bought, 1, "Stale and chewy: not what the brand sells in its own shops.")
    covered = till.record_sale(shopper.purchase_account(kiosk.retailer, 0).address, gtin, 1, 100 * MILLI, "PIER9-0002")
    uncovered = till.record_sale(shopper.purchase_account(kiosk.retailer, 1).address, gtin, 1, 100 * MILLI, "PIER9-0003")
    till.publish_price(gtin, 80 * MILLI)
    brand_admin_role.authorise_seller(kiosk.retailer, authorised=False)
    announced = kiosk.set_policy(Policy(window=7 * DAY, tolerance_bps=500, max_payout=KIOSK_CAP))
    return {
        "item": f"{page_demo['base']}/?item={item}",
        "retailer": kiosk.retailer,
        "channel": channel,
        "purchases": ["0x" + covered.id.hex(), "0x" + uncovered.id.hex()],
        "cover": (covered.cover, uncovered.cover),
        "recordedAt": covered.recorded_at,
        "hidden": "0x" + hidden.hex(),
        "announced": announced,
    }


@pytest.fixture(scope="module")
def wallet_run(page_demo: dict[str, Any]) -> dict[str, Any]:
    output = page_demo["output"]
    claim = re.search(r"^\s+(http://127\.0\.0\.1:\d+/\?item=\S+&claim=\S+)$", output, re.M)
    voucher = re.search(r"^\s+(http://127\.0\.0\.1:\d+/\?voucher=\S+)$", output, re.M)
    assert claim and voucher, output
    with urlopen(page_demo["base"] + "/config.json", timeout=10) as response:
        config = json.load(response)
    from o2ochain._chain.connection import dev_accounts
    from o2ochain.demo import SHOPPER

    test_account = dev_accounts(SHOPPER + 1)[SHOPPER]
    me = Shopper.from_account(test_account)
    w3 = Web3(Web3.HTTPProvider(config["rpcUrl"]))
    first_block = w3.eth.block_number + 1
    kiosk = _kiosk(page_demo, config, me)
    shopper = test_account.address
    spec = {"base": page_demo["base"], "claim": claim.group(1), "voucher": voucher.group(1), "rpc": config["rpcUrl"], "shopper": shopper}
    spec["product"] = f"{page_demo['base']}/?item={page_demo['items']['authentic']}"  # a gift bag, which the shopper bought
    spec["kiosk"] = {"item": kiosk["item"], "retailer": kiosk["retailer"], "purchases": kiosk["purchases"]}
    stranger = _fresh("stranger")
    spec["stranger"] = stranger.address  # bought nothing, claimed nothing
    spec["strangerSignature"] = "0x" + bytes(stranger.sign_message(encode_defunct(text=SEED_MESSAGE)).signature).hex()
    balance_before = w3.eth.get_balance(shopper)
    result = drive_script("wallet.mjs", spec)
    assert "failure" not in result, result.get("failure")
    result["config"] = config
    result["claimUrl"] = claim.group(1)
    result["kiosk"] = kiosk
    result["shopper"] = shopper
    result["productItem"] = page_demo["items"]["authentic"]
    result["me"] = me
    result["blocks"] = (first_block, w3.eth.block_number)
    result["balanceBefore"] = balance_before
    return result


def _contract(run: dict[str, Any], name: str) -> Any:
    config = run["config"]
    w3 = Web3(Web3.HTTPProvider(config["rpcUrl"]))
    return w3.eth.contract(address=config["deployment"]["contracts"][name]["address"], abi=artifact(name)["abi"])


def test_config_offers_the_test_shopper_on_the_local_chain_only(wallet_run: dict[str, Any]) -> None:
    (account,) = wallet_run["config"]["testAccounts"]
    assert "local chain only" in account["label"] and re.fullmatch(r"0x[0-9a-f]{64}", account["privateKey"])
    assert wallet_run["config"]["dataUsers"][0]["name"] == "Dalian Coast (retailer)"


def test_connecting_explains_the_one_signature_in_plain_words(wallet_run: dict[str, Any]) -> None:
    explanation = wallet_run["steps"]["claim-confirmed"]["explanation"]
    assert explanation.startswith("Connecting asks your wallet for one signature. It opens your private shopping addresses on this device")
    assert "It costs nothing and moves no funds" in explanation and "never stored or sent" in explanation
    assert wallet_run["steps"]["connect-dialog"]["explanation"] == explanation  # shown before the wallet is picked


def test_unclaimed_items_page_shows_the_shoppers_address_of_that_item_for_the_store(wallet_run: dict[str, Any]) -> None:
    shown = wallet_run["steps"]["product-purchases"]["itemAddress"]
    gift_bag = gs1.parse_digital_link(wallet_run["productItem"])
    assert shown["address"] == wallet_run["me"].item_account(gift_bag.item_id).address
    assert shown["address"] in shown["text"] and "it signs a claim code for your address of this item" in shown["text"]


def test_claim_at_first_sale_with_the_stores_code(wallet_run: dict[str, Any]) -> None:
    steps = wallet_run["steps"]
    assert steps["claim-before"]["verdict"] == "authentic"
    assert "Connect your wallet (top right) to claim the item" in steps["claim-before"]["hint"]
    assert steps["claim-confirmed"]["label"] == "Test shopper (local chain only)"
    status = steps["claim-confirmed"]["status"]
    assert status["step"] == "confirmed" and "In block" in status["text"] and "Transaction 0x" in status["text"]
    assert steps["claimed"]["verdictTitle"] == "Yours"
    registry = _contract(wallet_run, "ProductRegistry")
    item = gs1.item_id(*_gtin_serial(_claimed_item(wallet_run)))
    view = registry.functions.verify(item).call()
    claimed_by = view[8] if isinstance(view, tuple | list) else view["claimedBy"]
    # the owner is the shopper's address for this one item, never the wallet's
    assert claimed_by == wallet_run["me"].item_account(item).address != steps["claim-confirmed"]["wallet"]
    # sent by the page's relay, which paid: the item's address holds no coin
    tx = registry.w3.eth.get_transaction(_claim_tx(wallet_run, item))
    assert tx["from"] == _relayer() and registry.w3.eth.get_balance(claimed_by) == 0


def _claimed_item(run: dict[str, Any]) -> str:
    item = re.search(r"\?item=([^&]+)", run["claimUrl"])
    assert item
    return unquote(item.group(1))


def _claim_tx(run: dict[str, Any], item: bytes) -> Any:
    registry = _contract(run, "ProductRegistry")
    (log,) = registry.events.ItemClaimed.get_logs(argument_filters={"item": item}, from_block=0)
    return log["transactionHash"]


def _relayer() -> str:
    from o2ochain._chain.connection import dev_accounts
    from o2ochain.demo import ACCOUNTS, RELAYER

    return str(dev_accounts(ACCOUNTS)[RELAYER].address)


def _gtin_serial(uri: str) -> tuple[str, str]:
    link = gs1.parse_digital_link(uri)
    assert link.serial is not None
    return link.gtin, link.serial


def test_review_by_the_verified_buyer(wallet_run: dict[str, Any]) -> None:
    step = wallet_run["steps"]["reviewed"]
    assert step["status"]["step"] == "confirmed"
    assert step["rating"] == "4" and "★★★★" in step["reviewed"]


def test_compensation_claimed_from_the_account_page(wallet_run: dict[str, Any]) -> None:
    steps = wallet_run["steps"]
    kiosk = wallet_run["kiosk"]["purchases"]
    (before,) = [p for p in steps["account"]["purchases"] if p["id"] not in kiosk]
    # the demo moved the chain's clock past the payout delay: claims for the shopper's gift bags are open
    assert (before["coverStatus"], before["claim"]) == ("covered", "open") and int(before["cover"]) >= 2 * 55 * MILLI
    purchases = steps["account"]["purchases"]
    due = [p for p in purchases if p["owed"]]
    assert len(due) == 1 and due[0]["id"] == before["id"], purchases
    owed = int(due[0]["owed"])
    assert owed > 0 and "the guarantee owes you" in due[0]["text"] and "Claims for this purchase are open until" in due[0]["text"]
    assert steps["compensated"]["status"]["step"] == "confirmed"
    assert steps["compensated"]["after"]["compensated"] == str(owed)
    # the gift bags were recorded to the shopper's first purchase address at the demo's retailer, and paid there
    buyer = wallet_run["me"].purchase_account(1, 0).address
    assert before["buyer"] == steps["compensated"]["after"]["buyer"] == buyer
    (held,) = steps["compensated"]["money"]
    assert (held["address"], held["balance"], held["canMove"]) == (buyer, str(owed), True)
    assert "0.11 ETH at your address of purchase 1 at Dalian Coast, Zhongshan Road store and 2 more shops" in held["text"]
    guarantee = _contract(wallet_run, "PriceGuarantee")
    recorded, unclaimed = guarantee.functions.purchaseState(bytes.fromhex(due[0]["id"][2:])).call()
    assert owed == 2 * 55 * MILLI  # two gift bags, 188 in the store, 133 online
    assert recorded and unclaimed == int(before["cover"]) - owed  # paid from the purchase's own cover
    on_product = steps["product-purchases"]
    assert on_product["title"] == "Your purchases of this product"
    (bought,) = [p for p in on_product["purchases"] if p["id"] not in kiosk]  # the kiosk sold another product
    assert bought["id"] == due[0]["id"] and bought["compensated"] == str(owed)
    # after the payout the page says the lower price was paid, not that none qualified
    assert "Nothing more is owed now: the lower price was compensated, 0.11 ETH paid." in bought["text"]
    assert "no lower price" not in bought["text"]


def test_purchase_shows_its_cover_and_when_compensation_is_paid(wallet_run: dict[str, Any]) -> None:
    kiosk = wallet_run["kiosk"]
    covered, uncovered = kiosk["purchases"]
    assert kiosk["cover"] == (KIOSK_CAP, 0)  # the pool's free funds covered one purchase, then ran dry
    shown = {p["id"]: p for p in wallet_run["steps"]["kiosk"]["purchases"]}
    first, second = shown[covered], shown[uncovered]
    assert (first["coverStatus"], first["cover"], first["claim"]) == ("covered", str(KIOSK_CAP), "soon")
    assert "Covered up to 0.02 ETH" in first["text"] and "Compensated so far: 0 ETH." in first["text"]
    # 100 paid, 80 offered since: 20, within the cover; claims open a day after the sale was recorded
    assert first["owedLater"] == str(KIOSK_CAP) and first["owed"] is None
    assert int(first["from"]) == kiosk["recordedAt"] + DAY
    opens = _utc(kiosk["recordedAt"] + DAY)
    assert f"Compensation is paid from {opens}, a day after the purchase was recorded." in first["text"]
    assert (second["coverStatus"], second["cover"], second["claim"]) == ("pool-empty", "0", "none")
    assert "Not covered: the shop’s guarantee pool had no free funds when you bought." in second["text"]
    assert second["owed"] is None and second["owedLater"] is None and second["from"] is None
    # the pool, as the product's prices show it: everything set aside, nothing free
    pool = wallet_run["steps"]["kiosk"]["pool"]
    assert (pool["free"], pool["reserved"], pool["balance"]) == ("0", str(2 * KIOSK_CAP), str(2 * KIOSK_CAP))
    assert "A purchase made now would not be covered." in pool["text"]


def _utc(seconds: int) -> str:
    """A contract time as the page writes it in English (Intl's medium date and short time, UTC): "Dec 4, 2026, 10:04 AM UTC"."""
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(seconds, UTC)
    return f"{at:%b} {at.day}, {at.year}, {at.hour % 12 or 12}:{at:%M} {'AM' if at.hour < 12 else 'PM'} UTC"


def test_retailer_announced_cut_of_its_guarantee_is_shown_before_it_applies(wallet_run: dict[str, Any]) -> None:
    announced = wallet_run["kiosk"]["announced"]
    change = wallet_run["steps"]["kiosk"]["policyChange"]
    assert change is not None and int(change["since"]) == announced.since > wallet_run["kiosk"]["recordedAt"] + 6 * DAY
    assert change["text"].startswith("Announced change. For purchases from ") and "within 7 days" in change["text"]
    assert "cannot reduce the guarantee of purchases made before that" in change["text"]


def test_product_review_on_a_purchase_from_an_authorised_seller(wallet_run: dict[str, Any]) -> None:
    step = wallet_run["steps"]["purchase-reviewed"]
    assert step["status"]["step"] == "confirmed" and step["reviewed"] == "You reviewed this product: ★★★★★. Thank you."
    (own,) = [r for r in step["reviews"] if r["own"]]
    assert own["text"].startswith("Bought two in the store") and not own["canVote"]
    board = _contract(wallet_run, "ReviewBoard")
    view = board.functions.review(bytes.fromhex(own["id"][2:])).call()
    # posted, by the shopper's address of that purchase (the gift bags), 5 stars
    assert view[0] and view[1] == wallet_run["me"].purchase_account(1, 0).address and view[2] == 5
    assert board.functions.counts(bytes.fromhex(own["id"][2:]), int("09506000000107")).call()


def test_shop_the_brand_does_not_recognise_carries_no_product_review(wallet_run: dict[str, Any]) -> None:
    kiosk = wallet_run["steps"]["kiosk"]
    for purchase in kiosk["purchases"]:
        assert purchase["review"] == "seller-not-authorised" and purchase["shopReview"]
        assert "Dalian Coast Seafood Snacks has not authorised this shop to sell its products" in purchase["text"]
        assert "Review the shop instead" in purchase["text"]
    # the stranger's review, posted while the brand recognised the kiosk, no longer counts
    assert kiosk["hidden"] is not None and kiosk["hidden"]["count"] == "1"
    assert kiosk["hidden"]["text"].startswith("1 review hidden: its seller is not authorised by the brand (bought at Pier 9 kiosk).")
    assert kiosk["reviewsEmpty"].startswith("No buyer has reviewed this product yet.")
    board = _contract(wallet_run, "ReviewBoard")
    hidden = bytes.fromhex(wallet_run["kiosk"]["hidden"][2:])
    assert board.functions.review(hidden).call()[0] and not board.functions.counts(hidden, int(_kiosk_gtin(wallet_run))).call()


def _kiosk_gtin(run: dict[str, Any]) -> str:
    item = unquote(run["kiosk"]["item"].split("?item=", 1)[1])
    return gs1.parse_digital_link(item).gtin


def test_vote_and_report_with_the_buyers_ticket(wallet_run: dict[str, Any]) -> None:
    steps = wallet_run["steps"]
    assert steps["purchase-reviewed"]["voteNote"].startswith("You may vote on these reviews and report them as a verified buyer")
    # the item the shopper claimed is a jar of jam, no proof of buying a gift bag: its gift-bag purchase is
    assert steps["purchase-reviewed"]["voteTicket"] == "purchase"
    voted = steps["voted"]
    assert voted["status"]["step"] == "confirmed"
    assert voted["review"]["voted"] and not voted["review"]["canVote"] and voted["review"]["helpful"] == voted["before"]["helpful"] + 1
    board = _contract(wallet_run, "ReviewBoard")
    review = bytes.fromhex(voted["review"]["id"][2:])
    voter = wallet_run["me"].purchase_account(1, 0).address  # the ticket's holder: the gift bags' buyer address
    assert board.functions.hasVoted(review, voter).call() and not board.functions.hasVoted(review, wallet_run["shopper"]).call()
    assert steps["reported"]["status"]["step"] == "confirmed" and "reported 1 time" in steps["reported"]["review"]["votes"]
    refused = steps["report-refused"]["status"]
    assert refused["step"] == "reverted" and refused["error"] == "ReviewAlreadyReported"
    assert "You have already reported this review." in refused["text"] and "0x" not in refused["text"]
    reports = board.events.ReviewReported.get_logs(argument_filters={"review": review}, from_block=0)
    assert [(r["args"]["reporter"], r["args"]["reason"]) for r in reports] == [(voter, 4)]  # 4: fake


def test_reader_without_a_ticket_is_told_only_verified_buyers_vote(wallet_run: dict[str, Any]) -> None:
    step = wallet_run["steps"]["stranger"]
    assert step["wallet"].lower() == _fresh("stranger").address.lower()
    assert step["note"]["ticket"] == "none" and step["note"]["text"].startswith("Only verified buyers can vote on reviews or report them")
    assert step["reviews"] > 0 and step["buttons"] == 0


def test_consent_revoke_and_grant_with_every_use_listed(wallet_run: dict[str, Any]) -> None:
    steps = wallet_run["steps"]
    refused = steps["grant-refused"]
    assert refused["status"]["step"] == "reverted" and refused["status"]["error"] == "ConsentPurposesInvalid"
    assert "Choose at least one purpose." in refused["status"]["text"] and "0x" not in refused["status"]["text"]
    (before,) = refused["consentsBefore"]
    assert before["state"] == "live" and "Order fulfilment" in before["text"] and "Marketing" in before["text"]
    assert len(refused["uses"]) == 2 and any("Marketing" in u and "Purchase history" in u for u in refused["uses"])
    assert steps["revoked"]["status"]["step"] == "confirmed"
    assert steps["granted"]["status"]["step"] == "confirmed"
    (after,) = steps["granted"]["consents"]
    assert after["state"] == "live" and "Order fulfilment" in after["text"] and "Marketing" not in after["text"]
    consent = _contract(wallet_run, "ConsentRegistry")
    user = wallet_run["config"]["dataUsers"][0]["address"]
    shopper = wallet_run["me"].consent_account(user).address  # the shopper's address for this data user alone
    assert after["consumer"] == before["consumer"] == shopper
    grants = consent.events.ConsentGranted.get_logs(argument_filters={"consumer": shopper}, from_block=0)
    latest = grants[-1]["args"]
    assert len(grants) == 2 and latest["dataUser"] == user  # the demo's, then the page's
    assert (latest["purposes"], latest["categories"]) == (1 << 0, 1 << 2)  # order fulfilment; purchase history
    assert consent.events.ConsentRevoked.get_logs(argument_filters={"consumer": shopper}, from_block=0)


def test_coupon_shown_as_a_qr_code(wallet_run: dict[str, Any]) -> None:
    step = wallet_run["steps"]["voucher"]
    assert step["voucherState"] == "valid" and step["signed"] == "true" and step["qrSvg"]
    # the product by its name, not its GTIN
    assert step["facts"]["gives"] == "0.01 ETH off Snack gift bag 500 g" and step["facts"]["merchant"] == "Dalian Coast web shop"


def test_a_wallet_extension_found_by_eip6963_connects_and_signs(wallet_run: dict[str, Any]) -> None:
    step = wallet_run["steps"]["extension"]
    assert "Stand-in Wallet" in step["offered"] and "Test shopper (local chain only)" in step["offered"]
    assert step["who"].startswith("Stand-in Wallet: ") and step["wallet"] == wallet_run["steps"]["granted"]["wallet"]
    assert step["status"]["step"] == "confirmed" and "(Stand-in Wallet)" not in step["status"]["text"]
    consent = _contract(wallet_run, "ConsentRegistry")
    user = wallet_run["config"]["dataUsers"][0]["address"]
    consumer = wallet_run["me"].consent_account(user).address  # the extension's key opens the same addresses
    assert consent.functions.isLive(consumer, user, 0, 2).call() is False  # revoked through the extension
    # on the tab's next page the extension is offered again with one click, and opens the same addresses
    assert step["reconnectLabel"] == "重新连接 Stand-in Wallet" and step["consumerAfterReconnect"] == consumer


def test_a_chinese_browser_reads_and_writes_the_account_in_chinese(wallet_run: dict[str, Any]) -> None:
    """The extension's browser speaks Chinese: what the one signature is, the account page, a
    refusal and a revoke, in Chinese; the wallet signs the same message, so the same addresses open."""
    step = wallet_run["steps"]["extension"]
    assert step["explanation"].startswith("连接时，钱包会请您签名一次。") and "不会转出任何资金" in step["explanation"]
    account = step["account"]
    assert account["lang"] == "zh-CN" and account["title"] == "我的账户"
    assert account["headings"] == ["结账时出示", "我的赔付", "我的购买与价格保障", "我的数据授权", "您数据的每一次使用"]
    # the consent granted in step 3 (order fulfilment; purchase history), and the demo's two recorded uses
    assert "用途：订单履行。数据：购买记录。" in account["consent"] and "有效" in account["consent"] and "年" in account["consent"]
    assert "共 2 条记录" in account["uses"] and "营销推广" in account["uses"] and "购买记录" in account["uses"]
    purchases = " ".join(account["purchases"])
    assert "最高保障 0.02 ETH" in purchases and "不享受保价：您购买时门店的保价资金池没有可用资金。" in purchases
    assert "已赔付：0.11 ETH。" in purchases and "目前没有更多应付款：更低的价格已经赔付，共付 0.11 ETH。" in purchases
    refused = step["grantRefused"]
    assert (refused["step"], refused["error"]) == ("reverted", "ConsentPurposesInvalid")
    assert refused["text"].startswith("被拒绝。") and "请至少选择一项用途。" in refused["text"] and "0x" not in refused["text"]
    assert step["status"]["text"].startswith("已完成。 已写入第") and "交易 0x" in step["status"]["text"]
    assert step["badgeAfterReconnect"] == "已撤回"


def test_every_state_fits_a_phone_without_console_errors(wallet_run: dict[str, Any]) -> None:
    assert wallet_run["consoleErrors"] == []
    for name, step in wallet_run["steps"].items():
        assert step["scrollWidth"] <= 375, f"{name} scrolls sideways on a phone"


def test_till_shows_the_next_unused_purchase_address(wallet_run: dict[str, Any]) -> None:
    me, config = wallet_run["me"], wallet_run["config"]
    till = wallet_run["steps"]["account"]["till"]
    # retailer 1's first address holds the demo's gift bags: the next one is shown, as a QR code and text
    assert (till["retailer"], till["index"]) == ("1", "1") and till["qr"]
    assert till["address"] == me.purchase_account(1, 1).address
    from o2ochain.deployments import Deployment

    view = ShopperView(Web3(Web3.HTTPProvider(config["rpcUrl"])), Deployment.from_json(config["deployment"]), me)
    assert view.next_purchase_address(1) == till["address"]  # the library agrees
    assert "The shop records your purchase to this one-time address" in till["text"]
    assert "compensation" in till["text"] and "It is yours because it comes from your key" in till["text"]


def test_reinstall_finds_the_same_purchases_from_the_key_alone(wallet_run: dict[str, Any]) -> None:
    steps, me, config = wallet_run["steps"], wallet_run["me"], wallet_run["config"]
    again = steps["reinstall"]
    assert again["purchases"] == [{"id": p["id"], "buyer": p["buyer"]} for p in steps["account"]["purchases"]]
    from o2ochain.deployments import Deployment

    view = ShopperView(Web3(Web3.HTTPProvider(config["rpcUrl"])), Deployment.from_json(config["deployment"]), me)
    found = {"0x" + p.purchase.hex() for p in view.purchases()}
    assert {p["id"] for p in again["purchases"]} == found and len(found) == 3  # the gift bags, and the kiosk's two
    assert {p["buyer"] for p in again["purchases"]} == {
        me.purchase_account(1, 0).address,
        me.purchase_account(wallet_run["kiosk"]["retailer"], 0).address,
        me.purchase_account(wallet_run["kiosk"]["retailer"], 1).address,
    }
    user = config["dataUsers"][0]["address"]
    assert again["consents"] == [{"consumer": me.consent_account(user).address, "state": "revoked"}]  # as the extension left it
    assert again["uses"] == 2 and again["till"]["address"] == steps["account"]["till"]["address"]
    # the reinstall's browser speaks Chinese: the same key, the same addresses, in Chinese words
    assert again["explanation"] == steps["extension"]["explanation"]
    assert "这是您在该零售商的第 2 笔购买。" in again["till"]["text"] and again["till"]["address"] in again["till"]["text"]
    assert again["money"] is not None and "第 1 笔购买的地址" in again["money"] and "中有 0.11 ETH。" in again["money"]


def test_compensation_moves_from_the_purchase_address_to_the_wallet_after_a_warning(wallet_run: dict[str, Any]) -> None:
    step, me = wallet_run["steps"]["moved"], wallet_run["me"]
    buyer = me.purchase_account(1, 0).address
    assert step["held"]["address"] == buyer and int(step["held"]["balance"]) == 2 * 55 * MILLI
    assert "anyone can then see on the chain that this purchase is yours" in step["warning"]
    assert step["status"]["step"] == "confirmed" and step["money"] == [] and step["empty"].startswith("Compensation is paid to the address")
    w3 = Web3(Web3.HTTPProvider(wallet_run["config"]["rpcUrl"]))
    assert w3.eth.get_balance(buyer) == 0  # all of it, less the fee it paid itself
    (move,) = [t for t in _transactions(w3, *wallet_run["blocks"]) if t["from"] == buyer]
    assert move["to"] == wallet_run["shopper"] and move["input"] in ("0x", b"", "")
    assert w3.eth.get_balance(wallet_run["shopper"]) == wallet_run["balanceBefore"] + move["value"]


def _transactions(w3: Web3, first: int, last: int) -> list[dict[str, Any]]:
    """Every transaction of blocks ``first``..``last``: hash, from, to (None for a creation), value, input as 0x-hex."""
    found = []
    for number in range(first, last + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            found.append(
                {
                    "hash": "0x" + bytes(tx["hash"]).hex(),
                    "from": tx["from"],
                    "to": tx["to"],
                    "value": int(tx["value"]),
                    "input": "0x" + bytes(tx["input"]).hex(),
                }
            )
    return found


def test_test_accounts_own_address_appears_nowhere_on_chain(wallet_run: dict[str, Any]) -> None:
    """Issue 14, point 6, on the page: after every wallet flow above, the wallet's own address is in
    no log of an o2ochain contract (topics or data), no transaction's calldata, and sent nothing;
    all it ever received is the compensation it was asked to move to it."""
    config, shopper = wallet_run["config"], wallet_run["shopper"]
    w3 = Web3(Web3.HTTPProvider(config["rpcUrl"]))
    needle = shopper.lower()[2:]
    contracts = [Web3.to_checksum_address(c["address"]) for c in config["deployment"]["contracts"].values()]
    logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": contracts})
    assert len(logs) > 500  # the demo's and the flows' records are all here
    for log in logs:
        words = [bytes(t).hex() for t in log["topics"]] + [bytes(log["data"]).hex()]
        assert not any(needle in w for w in words), log
    txs = _transactions(w3, 0, w3.eth.block_number)
    assert not [t for t in txs if t["from"] == shopper]
    assert not [t for t in txs if needle in t["input"].lower()]
    received = [t for t in txs if t["to"] == shopper]
    assert [t["from"] for t in received] == [wallet_run["me"].purchase_account(1, 0).address]  # the move, and nothing else
    # every write of the flows was sent by the page's relay (the kiosk's setup aside): an ERC-2771
    # request for each review, vote and report, the claim code and the compensation claim as they
    # are, the consents as signed; the page moved the compensation from the purchase address itself
    first, last = wallet_run["blocks"]
    by_name = {Web3.to_checksum_address(c["address"]): name for name, c in config["deployment"]["contracts"].items()}
    flows = [t for t in _transactions(w3, first, last) if t["from"] not in _kiosk_accounts()]
    assert {t["from"] for t in flows} == {_relayer(), wallet_run["me"].purchase_account(1, 0).address}
    relayed = Counter(by_name.get(str(t["to"]), str(t["to"])) for t in flows if t["from"] == _relayer())
    # item review, product review, vote, report; the claim; the compensation; revoke, grant, the extension's revoke
    assert relayed == {"Forwarder": 4, "ProductRegistry": 1, "PriceGuarantee": 1, "ConsentRegistry": 3}


def _kiosk_accounts() -> list[str]:
    """Who sent the kiosk's setup (before the browser ran): the test's own keys and the brand's admin."""
    from o2ochain._chain.connection import dev_accounts
    from o2ochain.demo import SHOPPER

    return [_fresh(n).address for n in ("kiosk admin", "kiosk till", "kiosk reviewer")] + [a.address for a in dev_accounts(SHOPPER)]
