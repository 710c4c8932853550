"""The page's wallet actions in a real Chromium against the demo's Anvil, with its built-in test shopper.

The demo (src/o2ochain/demo_page.py) gives the shopper a claim code for one item, a purchase the
price guarantee owes on, a consent with two recorded uses, and a coupon. frontend/e2e/wallet.mjs
connects the test account and goes through claim → review → compensation → a refused grant →
revoke → grant → coupon; each state's screenshot is in test-output/wallet-*.png. The chain is then
asked whether each write really happened.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.request import urlopen

import pytest
from web3 import Web3

from o2ochain import gs1
from o2ochain._artifacts import artifact
from tests.e2e.browser import drive_script

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wallet_run(page_demo: dict[str, Any]) -> dict[str, Any]:
    output = page_demo["output"]
    claim = re.search(r"^\s+(http://127\.0\.0\.1:\d+/\?item=\S+&claim=\S+)$", output, re.M)
    voucher = re.search(r"^\s+(http://127\.0\.0\.1:\d+/\?voucher=\S+)$", output, re.M)
    assert claim and voucher, output
    with urlopen(page_demo["base"] + "/config.json", timeout=10) as response:
        config = json.load(response)
    from o2ochain.chain import dev_accounts
    from o2ochain.demo import SHOPPER

    shopper = dev_accounts(SHOPPER + 1)[SHOPPER].address
    spec = {"base": page_demo["base"], "claim": claim.group(1), "voucher": voucher.group(1), "rpc": config["rpcUrl"], "shopper": shopper}
    spec["product"] = f"{page_demo['base']}/?item={page_demo['items']['authentic']}"  # a gift bag, which the shopper bought
    result = drive_script("wallet.mjs", spec)
    assert "failure" not in result, result.get("failure")
    result["config"] = config
    result["claimUrl"] = claim.group(1)
    return result


def _contract(run: dict[str, Any], name: str) -> Any:
    config = run["config"]
    w3 = Web3(Web3.HTTPProvider(config["rpcUrl"]))
    return w3.eth.contract(address=config["deployment"]["contracts"][name]["address"], abi=artifact(name)["abi"])


def test_config_offers_the_test_shopper_on_the_local_chain_only(wallet_run: dict[str, Any]) -> None:
    (account,) = wallet_run["config"]["testAccounts"]
    assert "local chain only" in account["label"] and re.fullmatch(r"0x[0-9a-f]{64}", account["privateKey"])
    assert wallet_run["config"]["dataUsers"][0]["name"] == "Dalian Coast (retailer)"


def test_claim_at_first_sale_with_the_stores_code(wallet_run: dict[str, Any]) -> None:
    steps = wallet_run["steps"]
    assert steps["claim-before"]["verdict"] == "authentic"
    assert "Connect that account" in steps["claim-before"]["hint"]
    assert steps["claim-confirmed"]["label"] == "Test shopper (local chain only)"
    status = steps["claim-confirmed"]["status"]
    assert status["step"] == "confirmed" and "In block" in status["text"] and "Transaction 0x" in status["text"]
    assert steps["claimed"]["verdictTitle"] == "Yours"
    registry = _contract(wallet_run, "ProductRegistry")
    item = re.search(r"\?item=([^&]+)", wallet_run["claimUrl"])
    assert item
    from urllib.parse import unquote

    view = registry.functions.verify(gs1.item_id(*_gtin_serial(unquote(item.group(1))))).call()
    claimed_by = view[8] if isinstance(view, tuple | list) else view["claimedBy"]
    assert claimed_by == steps["claim-confirmed"]["wallet"]


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
    due = [p for p in steps["account"]["purchases"] if p["owed"]]
    assert len(due) == 1, steps["account"]["purchases"]
    owed = int(due[0]["owed"])
    assert owed > 0 and "the guarantee owes you" in due[0]["text"]
    assert steps["compensated"]["status"]["step"] == "confirmed"
    assert steps["compensated"]["after"]["compensated"] == str(owed)
    guarantee = _contract(wallet_run, "PriceGuarantee")
    recorded, compensated = guarantee.functions.purchaseState(bytes.fromhex(due[0]["id"][2:])).call()
    assert recorded and compensated == owed == 2 * 55 * 10**15  # two gift bags, 188 in the store, 133 online
    on_product = steps["product-purchases"]
    assert on_product["title"] == "Your purchases of this product"
    (bought,) = on_product["purchases"]
    assert bought["id"] == due[0]["id"] and bought["compensated"] == str(owed) and "Nothing is owed now" in bought["text"]


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
    shopper = steps["granted"]["wallet"]
    user = wallet_run["config"]["dataUsers"][0]["address"]
    grants = consent.events.ConsentGranted.get_logs(argument_filters={"consumer": shopper}, from_block=0)
    latest = grants[-1]["args"]
    assert len(grants) == 2 and latest["dataUser"] == user  # the demo's, then the page's
    assert (latest["purposes"], latest["categories"]) == (1 << 0, 1 << 2)  # order fulfilment; purchase history
    assert consent.events.ConsentRevoked.get_logs(argument_filters={"consumer": shopper}, from_block=0)


def test_coupon_shown_as_a_qr_code(wallet_run: dict[str, Any]) -> None:
    step = wallet_run["steps"]["voucher"]
    assert step["voucherState"] == "valid" and step["signed"] == "true" and step["qrSvg"]
    assert "off" in step["facts"]["gives"] and step["facts"]["merchant"] == "Dalian Coast web shop"


def test_a_wallet_extension_found_by_eip6963_connects_and_signs(wallet_run: dict[str, Any]) -> None:
    step = wallet_run["steps"]["extension"]
    assert "Stand-in Wallet" in step["offered"] and "Test shopper (local chain only)" in step["offered"]
    assert step["who"].startswith("Stand-in Wallet: ") and step["wallet"] == wallet_run["steps"]["granted"]["wallet"]
    assert step["status"]["step"] == "confirmed" and "(Stand-in Wallet)" not in step["status"]["text"]
    consent = _contract(wallet_run, "ConsentRegistry")
    user = wallet_run["config"]["dataUsers"][0]["address"]
    assert consent.functions.isLive(step["wallet"], user, 0, 2).call() is False  # revoked through the extension


def test_every_state_fits_a_phone_without_console_errors(wallet_run: dict[str, Any]) -> None:
    assert wallet_run["consoleErrors"] == []
    for name, step in wallet_run["steps"].items():
        assert step["scrollWidth"] <= 375, f"{name} scrolls sideways on a phone"
