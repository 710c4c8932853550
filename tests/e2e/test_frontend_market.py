"""The market side of the consumer page in a real Chromium against the demo's chain: prices on the
retailer's channels and their history, verified-buyer reviews, merchant pages.

``o2ochain demo`` (the session's ``page_demo``) runs the paper's price guarantee (a gift bag at
0.188 on three channels, then 0.133 in the web shop) and the O2O loop (merchant profiles, product
and merchant reviews, votes, a reply). frontend/e2e/market.mjs opens the pages at a phone's width
and prints what they show; the reviews' order is checked against the Python library's ranking
read from the same chain. The product and merchant pages are read again by a phone whose language
is Chinese (``zh-*`` cases): the same facts, in Chinese words, with amounts and dates written by
``Intl`` for that language. Screenshots go to test-output/market-*.png.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from o2ochain._chain.connection import http_web3
from o2ochain.deployments import Deployment
from o2ochain.guarantee import GuaranteeReader
from o2ochain.loop import ContentStore, Review, ReviewBoardReader
from tests.e2e.browser import drive

pytestmark = pytest.mark.e2e

GIFT_BAG = "09506000000107"  # "Snack gift bag 500 g" of Dalian Coast Seafood Snacks (src/o2ochain/demo/_run.py: make_gtin(prefix, 10))
STORE_PROFILE = {"name": "Dalian Coast, Zhongshan Road store", "address": "88 Zhongshan Road, Dalian", "gln": "9506000000015"}
REPLY = "Thank you: the low-salt version arrives in January."


@pytest.fixture(scope="module")
def store_channel(page_demo: dict[str, Any]) -> int:
    found = re.search(r"o2ochain merchant show (\d+)", page_demo["output"])
    assert found, page_demo["output"]
    return int(found.group(1))


@pytest.fixture(scope="module")
def shown(page_demo: dict[str, Any], store_channel: int) -> dict[str, dict[str, Any]]:
    gift_bag = page_demo["items"]["authentic"]
    assert f"/01/{GIFT_BAG}/" in gift_bag, gift_bag
    cases = [
        {"name": "gift-bag", "item": gift_bag, "open": True},
        {"name": "no-market", "item": page_demo["items"]["jam"]},
        {"name": "merchant-store", "merchant": str(store_channel), "open": True},
        {"name": "merchant-web", "merchant": str(store_channel + 1)},
        {"name": "merchant-unknown", "merchant": "999"},
        {"name": "merchant-bad", "merchant": "store"},
        {"name": "zh-gift-bag", "item": gift_bag, "locale": "zh-CN", "open": True},
        {"name": "zh-merchant-store", "merchant": str(store_channel), "locale": "zh-CN"},
    ]
    return drive(page_demo["base"], cases, script="market.mjs")


@pytest.fixture(scope="module")
def library(page_demo: dict[str, Any], shown: dict[str, dict[str, Any]]) -> tuple[GuaranteeReader, ReviewBoardReader]:
    """The Python readers on the chain and content store the page read (after the page read them)."""
    with urlopen(page_demo["base"] + "/config.json", timeout=10) as response:
        config = json.load(response)
    w3 = http_web3(config["rpcUrl"])
    deployment = Deployment.from_json(config["deployment"])
    return GuaranteeReader(w3, deployment), ReviewBoardReader(w3, deployment, ContentStore(page_demo["out"] / "content"))


def _hex(review: Review) -> str:
    return "0x" + review.id.hex()


def test_market_pages_fit_a_phone_and_log_no_errors(shown: dict[str, dict[str, Any]]) -> None:
    for name, page in shown.items():
        assert page["consoleErrors"] == [], name
        assert page["scrollWidth"] <= 375 and page["overflowing"] == [], (name, page["overflowing"])
        assert page.get("openScrollWidth", 0) <= 375, name  # with every <details> opened too
        assert Path(page["screenshot"]).is_file()


def test_product_page_adds_prices_then_reviews_below_the_timeline(shown: dict[str, dict[str, Any]]) -> None:
    page = shown["gift-bag"]
    assert page["state"] == "ready" and page["verdict"] == "authentic"
    sections = page["sections"]
    assert sections.index("Where it has been") < sections.index("Prices") < sections.index("Reviews")


def test_prices_show_each_channel_with_the_online_drop_marked_lowest(shown: dict[str, dict[str, Any]], store_channel: int) -> None:
    live = shown["gift-bag"]["prices"]["live"]
    assert [(p["kind"], p["price"], p["priceText"], p["lowest"]) for p in live] == [
        ("online-shop", "0.133", "0.133 ETH", True),
        ("store", "0.188", "0.188 ETH", False),
        ("marketplace", "0.188", "0.188 ETH", False),
    ]
    assert live[0]["lowestMark"] == "Lowest" and all(p["lowestMark"] is None for p in live[1:])
    assert [p["name"] for p in live] == ["Dalian Coast web shop", STORE_PROFILE["name"], "Dalian Coast on a marketplace"]
    assert all(p["type"] == "regular" and "no end date" in p["until"] for p in live)
    assert live[1]["href"] == f"?merchant={store_channel}"  # each channel links to its merchant page
    guarantee = shown["gift-bag"]["prices"]["guarantee"]
    assert "30 days" in guarantee and "5%" in guarantee and "0.5 ETH" in guarantee
    assert "Clearance, limited-quantity, and declared price-error prices do not count." in guarantee  # Intl's English list
    assert shown["gift-bag"]["prices"]["policyChanges"] == []  # the retailer announced no change ahead


def test_prices_show_what_the_pool_holds_free_for_a_purchase_made_now(page_demo: dict[str, Any], shown: dict[str, dict[str, Any]]) -> None:
    """Cover is set aside from the pool's free funds when a purchase is recorded: the page says
    how much is set aside for earlier purchases and how much is free, as the chain holds it."""
    from web3 import Web3

    from o2ochain._chain.artifacts import artifact

    with urlopen(page_demo["base"] + "/config.json", timeout=10) as response:
        config = json.load(response)
    w3 = Web3(Web3.HTTPProvider(config["rpcUrl"]))
    guarantee = w3.eth.contract(
        address=config["deployment"]["contracts"]["PriceGuarantee"]["address"], abi=artifact("PriceGuarantee")["abi"]
    )
    view = guarantee.functions.retailer(1).call()
    balance, reserved = view[1], view[2]  # RetailerView: currency, balance, reserved, …
    pool = shown["gift-bag"]["prices"]["pool"]
    assert (pool["balance"], pool["reserved"], pool["free"]) == (str(balance), str(reserved), str(balance - reserved))
    assert pool["text"].startswith("Its guarantee pool holds ") and "is set aside as cover for earlier purchases" in pool["text"]
    assert "is free to cover new ones." in pool["text"]


def test_prices_match_the_library(shown: dict[str, dict[str, Any]], library: tuple[GuaranteeReader, ReviewBoardReader]) -> None:
    reader, _ = library
    now = reader.now()
    offers = reader.published_prices(gtin=GIFT_BAG)
    live = {o.channel: reader.format(o.price, o.currency) for o in offers if o.valid_from <= now < o.until}
    assert {p["channel"]: p["price"] for p in shown["gift-bag"]["prices"]["live"]} == live
    table = shown["gift-bag"]["prices"]["chart"]["table"]
    assert sorted((r["channel"], r["price"], r["live"]) for r in table) == sorted(
        (o.channel, reader.format(o.price, o.currency), o.valid_from <= now < o.until) for o in offers
    )


def test_price_chart_has_one_step_line_per_channel_and_shows_the_drop(shown: dict[str, dict[str, Any]]) -> None:
    chart = shown["gift-bag"]["prices"]["chart"]
    assert chart["role"] == "img" and "3 channels" in chart["title"]
    by_label = {s["label"]: s for s in chart["series"]}
    assert sorted(by_label) == ["Marketplace", "Online", "Store"]
    assert by_label["Online"]["levels"] == ["0.188", "0.133"]
    assert by_label["Store"]["levels"] == ["0.188"] and by_label["Marketplace"]["levels"] == ["0.188"]
    before, after = by_label["Online"]["points"]
    assert after["from"] >= before["from"] and after["y"] > before["y"]  # the cut is drawn lower, later
    # two flat runs, no slope: a step down (joined by a vertical, or apart when the channel had no
    # price for a moment between ending the old price and publishing the new one)
    assert by_label["Online"]["path"].count("H") == 2 and "L" not in by_label["Online"]["path"], by_label["Online"]["path"]
    assert sorted(chart["labels"]) == ["Marketplace 0.188", "Online 0.133", "Store 0.188"]
    assert "0.188 ETH from" in chart["desc"] and "0.133 ETH from" in chart["desc"]  # the text alternative
    assert len(chart["legend"]) == 3
    ended = [r for r in chart["table"] if not r["live"]]
    assert len(chart["table"]) == 4 and [(r["price"], r["cells"][0]) for r in ended] == [("0.188", "Online")]
    assert "ended" in ended[0]["cells"][2]


def test_reviews_are_ranked_as_the_library_ranks_them(
    shown: dict[str, dict[str, Any]], library: tuple[GuaranteeReader, ReviewBoardReader]
) -> None:
    _, board = library
    expected = board.reviews(gtin=GIFT_BAG)
    reviews = shown["gift-bag"]["reviews"]["reviews"]
    assert [r["id"] for r in reviews] == [_hex(r) for r in expected]
    assert [(r["rating"], r["text"], r["folded"]) for r in reviews] == [(r.rating, r.text, r.folded) for r in expected]
    assert [(r["helpful"], r["notHelpful"]) for r in reviews] == [(r.helpful, r.not_helpful) for r in expected]
    # the same usefulness score, not only the same order (recency moves ~1e-7 a second of chain time)
    assert [r["usefulness"] for r in reviews] == pytest.approx([r.score for r in expected], abs=1e-5)
    # the demo's readers found the detailed reviews useful and the one-liners not: those fold, last
    assert [r["text"] for r in reviews if r["folded"]] == ["Too salty for me.", "Fine."]
    assert all(not r["folded"] for r in reviews[:3]) and all(r["folded"] for r in reviews[3:])
    assert all(r["foldReason"] == "Folded: 3 readers found it unhelpful, 0 helpful" for r in reviews[3:])
    summary = shown["gift-bag"]["reviews"]
    assert summary["count"] == 5 and summary["average"] == pytest.approx(sum(r.rating for r in expected) / 5, abs=0.005)
    assert summary["hidden"] is None  # the brand recognises the demo's retailer: every review counts
    assert summary["voteNote"] is None  # nobody is connected: no vote controls, no note


def test_every_review_is_by_a_verified_buyer_and_matches_its_hash(shown: dict[str, dict[str, Any]]) -> None:
    for review in shown["gift-bag"]["reviews"]["reviews"] + shown["merchant-store"]["reviews"]["reviews"]:
        assert review["verified"] == "✓ Verified buyer"
        assert "buyer of a purchase the shop recorded" in review["verifiedTitle"]
        assert review["hash"] == "ok" and review["text"]


def test_merchant_reply_is_shown_under_its_review(shown: dict[str, dict[str, Any]], store_channel: int) -> None:
    reviews = shown["gift-bag"]["reviews"]["reviews"]
    replied = [r for r in reviews if r["replies"]]
    assert [r["text"] for r in replied] == ["Too salty for me."]
    (reply,) = replied[0]["replies"]
    assert reply["text"] == REPLY and reply["hash"] == "intact"
    assert reply["by"] == f"Reply from {STORE_PROFILE['name']}" and reply["byHref"] == f"?merchant={store_channel}"
    assert all(r["boughtAt"] == f"?merchant={store_channel}" and r["boughtAtName"] == STORE_PROFILE["name"] for r in reviews)


def test_merchant_page_shows_profile_channels_and_ranked_reviews(
    shown: dict[str, dict[str, Any]], library: tuple[GuaranteeReader, ReviewBoardReader], store_channel: int
) -> None:
    page = shown["merchant-store"]
    assert page["state"] == "ready" and page["title"] == f"{STORE_PROFILE['name']} — o2ochain"
    merchant = page["merchant"]
    assert merchant["channel"] == store_channel and merchant["name"] == STORE_PROFILE["name"] and merchant["kind"].startswith("Store")
    assert merchant["facts"]["address"] == STORE_PROFILE["address"] and merchant["facts"]["gln"] == STORE_PROFILE["gln"]
    assert merchant["facts"]["hours"] == "Mo-Su 09:00-21:00" and merchant["facts"]["location"].startswith("38.9140, 121.6147")
    assert merchant["profileCheck"] == "ok"
    assert [(c["channel"], c["current"]) for c in merchant["channels"]] == [
        (store_channel, True),
        (store_channel + 1, False),
        (store_channel + 2, False),
    ]
    _, board = library
    expected = board.reviews(merchant=store_channel)
    reviews = page["reviews"]["reviews"]
    assert [r["id"] for r in reviews] == [_hex(r) for r in expected] and len(reviews) == 2
    assert [r["text"] for r in reviews] == [r.text for r in expected]
    rating = board.merchant_rating(store_channel)
    assert page["reviews"]["average"] == pytest.approx(rating.average, abs=0.005) and page["reviews"]["count"] == rating.count
    assert page["reviews"]["averageText"] == "4.5 out of 5 from 2 verified buyers."
    assert all(r["boughtAt"] is None for r in reviews)  # no link to the page you are on


def test_empty_states_are_worded_for_people(shown: dict[str, dict[str, Any]]) -> None:
    jam = shown["no-market"]
    assert jam["state"] == "ready" and jam["prices"]["live"] == [] and jam["prices"]["chart"] is None
    assert jam["prices"]["empty"] == "No shop has published a price for this product on the chain yet."
    assert jam["reviews"]["reviews"] == [] and jam["reviews"]["empty"].startswith("No buyer has reviewed this product yet.")
    web = shown["merchant-web"]
    assert web["state"] == "ready" and web["merchant"]["name"] == "Dalian Coast web shop"
    assert web["reviews"]["empty"].startswith("No buyer has reviewed this shop yet.")
    assert shown["merchant-unknown"]["state"] == "error" and shown["merchant-unknown"]["error"] == "There is no merchant 999 on this chain."
    assert shown["merchant-bad"]["state"] == "error" and "is not a merchant number" in shown["merchant-bad"]["error"]


def test_a_changed_or_missing_review_text_is_flagged_and_not_shown(
    page_demo: dict[str, Any], library: tuple[GuaranteeReader, ReviewBoardReader], shown: dict[str, dict[str, Any]]
) -> None:
    """The content server alters one review's text and loses another's: the page shows neither
    text, says why, and ranks them as the library does (they lose the "intact" point)."""
    _, board = library
    changed, lost = board.reviews(gtin=GIFT_BAG)[:2]
    store = page_demo["out"] / "content"
    files = [store / f"0x{r.content_hash.hex()}.json" for r in (changed, lost)]
    saved = {path: path.read_bytes() for path in files}
    try:
        document = json.loads(saved[files[0]])
        document["text"] += " Edited by the server."
        files[0].write_text(json.dumps(document), encoding="utf-8")
        files[1].unlink()
        page = drive(page_demo["base"], [{"name": "gift-bag-tampered", "item": page_demo["items"]["authentic"]}], script="market.mjs")[
            "gift-bag-tampered"
        ]
        expected = board.reviews(gtin=GIFT_BAG)
    finally:
        for path, data in saved.items():
            path.write_bytes(data)
    reviews = {r["id"]: r for r in page["reviews"]["reviews"]}
    assert (reviews[_hex(changed)]["hash"], reviews[_hex(changed)]["text"]) == ("mismatch", None)
    assert (reviews[_hex(lost)]["hash"], reviews[_hex(lost)]["text"]) == ("missing", None)
    assert [r["id"] for r in page["reviews"]["reviews"]] == [_hex(r) for r in expected]
    assert sum(r["hash"] == "ok" for r in reviews.values()) == 3
    # the browser itself logs the store's 404 for the lost text; the page logs nothing else
    assert all("404" in e for e in page["consoleErrors"]), page["consoleErrors"]
    assert page["scrollWidth"] <= 375


def test_a_chinese_phone_gets_prices_reviews_and_merchant_pages_in_chinese(shown: dict[str, dict[str, Any]], store_channel: int) -> None:
    english, page = shown["gift-bag"], shown["zh-gift-bag"]
    assert page["state"] == "ready" and page["lang"] == "zh-CN" and page["verdict"] == "authentic"
    sections = page["sections"]
    assert sections.index("流转记录") < sections.index("价格") < sections.index("评价")
    # the same prices, every digit kept; the words around them in Chinese
    live = page["prices"]["live"]
    assert [(p["channel"], p["price"], p["priceText"]) for p in live] == [
        (p["channel"], p["price"], p["priceText"]) for p in english["prices"]["live"]
    ]
    assert live[0]["lowestMark"] == "最低价" and all("长期有效" in p["until"] and "常规价" in p["until"] for p in live)
    guarantee = page["prices"]["guarantee"]
    assert (
        guarantee.startswith("价格保障。现在在以上任一渠道购买：")
        and "30天内" in guarantee
        and "5%" in guarantee
        and "0.5 ETH" in guarantee
    )
    assert "清仓价、限量价和已声明的错误标价不计入比价。" in guarantee
    assert page["prices"]["pool"]["text"].startswith("其保价资金池共有 ")
    chart = page["prices"]["chart"]
    assert chart["title"] == "3 个渠道的价格走势（ETH）" and sorted(chart["labels"]) == ["平台 0.188", "网店 0.133", "门店 0.188"]
    assert "0.133 ETH" in chart["desc"] and "目前仍在售" in chart["desc"]
    ended = [r for r in chart["table"] if not r["live"]]
    assert len(ended) == 1 and "年" in ended[0]["cells"][2] and "结束" in ended[0]["cells"][2]  # dates as Chinese readers write them
    # the same reviews in the same order, their marks and counts in Chinese
    reviews = page["reviews"]["reviews"]
    assert [r["id"] for r in reviews] == [r["id"] for r in english["reviews"]["reviews"]]
    assert all(r["verified"] == "✓ 认证买家" and r["hash"] == "ok" for r in reviews)
    assert all(r["foldReason"] == "已折叠：3 位读者觉得没用，0 位觉得有用" for r in reviews if r["folded"])
    assert page["reviews"]["averageText"].endswith(f"，来自 {page['reviews']['count']} 位认证买家。")
    (replied,) = [r for r in reviews if r["replies"]]
    assert replied["replies"][0]["by"] == f"{STORE_PROFILE['name']} 的回复"
    # the footer in Chinese, the chain's address still put in its place
    assert page["footer"].startswith("本页所有内容均直接读取自区块链节点 http://127.0.0.1:") and "中继" in page["footer"]
    assert english["footer"].startswith("Everything on this page is read from the chain at http://127.0.0.1:")
    merchant = shown["zh-merchant-store"]
    assert merchant["state"] == "ready" and merchant["lang"] == "zh-CN" and merchant["merchant"]["name"] == STORE_PROFILE["name"]
    assert merchant["merchant"]["kind"] == "零售商 1 的门店" and merchant["merchant"]["profileCheck"] == "ok"
    assert merchant["merchant"]["facts"]["address"] == STORE_PROFILE["address"]  # the shop's own words stay as it wrote them
    assert merchant["reviews"]["title"] == "买家怎么说" and merchant["reviews"]["averageText"] == "4.5 分（满分 5 分），来自 2 位认证买家。"
    assert [c["channel"] for c in merchant["merchant"]["channels"]] == [store_channel, store_channel + 1, store_channel + 2]
