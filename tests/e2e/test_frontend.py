"""The consumer page in a real Chromium against a real Anvil loaded with the demo's sample data.

``o2ochain demo`` (small counts) starts the chain and serves the built page; a node script
(frontend/e2e/product.mjs, playwright-core driving Debian's Chromium) opens each case at a
phone's width and prints what the page shows. Screenshots go to test-output/. No browser means a
failure, not a skip: the page is part of the product.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from o2ochain import gs1
from tests.e2e.browser import drive

pytestmark = pytest.mark.e2e

JAM_STEPS = ["commissioning", "shipping", "receiving", "commissioning", "packing", "shipping", "receiving", "unpacking", "stocking"]
JAM_WORDS = ["Harvested", "Shipped", "Received", "Made from its ingredients", "Packed", "Shipped", "Received", "Unpacked", "On the shelf"]


@pytest.fixture(scope="module")
def shown(page_demo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    qr = page_demo["out"] / "qr"
    cases = [{"name": name, "item": item} for name, item in page_demo["items"].items()]
    cases.append({"name": "scan-qr-image", "qr": str(next(iter(sorted(qr.glob("*.png")))))})
    cases.append({"name": "bad-input", "item": "https://id.gs1.org/01/09506000000108/21/X1"})
    # the same pages for a shopper whose phone speaks Chinese, and one who switches to English
    for name in ("jam", "recalled-jam", "recalled"):
        cases.append({"name": f"zh-{name}", "item": page_demo["items"][name], "locale": "zh-CN"})
    cases.append({"name": "zh-bad-input", "item": "https://id.gs1.org/01/09506000000108/21/X1", "locale": "zh-CN"})
    cases.append({"name": "zh-to-en", "item": page_demo["items"]["jam"], "locale": "zh-CN", "switchTo": "English"})
    return drive(page_demo["base"], cases)


def test_page_serves_config_with_the_deployment(page_demo: dict[str, Any]) -> None:
    from urllib.request import urlopen

    with urlopen(page_demo["base"] + "/config.json", timeout=10) as response:
        config = json.load(response)
    assert config["rpcUrl"].startswith("http://127.0.0.1:") and "ProductRegistry" in config["deployment"]["contracts"]
    with urlopen(page_demo["base"] + "/", timeout=10) as response:
        assert b'id="lookup-form"' in response.read()


@pytest.mark.parametrize(
    ("case", "verdict", "title"),
    [
        ("authentic", "authentic", "Authentic"),
        ("merkle", "authentic", "Authentic"),
        ("unknown", "not registered", "Not registered"),
        ("recalled", "recalled", "Recalled"),
        ("claimed", "claimed", "Already sold to someone else"),
    ],
)
def test_product_page_shows_the_verdict_first(shown: dict[str, dict[str, Any]], case: str, verdict: str, title: str) -> None:
    page = shown[case]
    assert page["state"] == "ready", page
    assert (page["verdict"], page["verdictTitle"]) == (verdict, title)
    assert page["consoleErrors"] == []
    assert page["scrollWidth"] <= 375, "the page scrolls sideways on a phone"
    assert Path(page["screenshot"]).is_file()
    if verdict == "not registered":
        assert page["facts"] == {}
    else:
        assert page["facts"]["brand"] and re.fullmatch(r"\d{14}", page["facts"]["gtin"]) and page["facts"]["lot"]
        assert re.fullmatch(r"20\d\d-\d\d-\d\d", page["facts"]["expiry"])


def test_product_page_shows_brand_product_lot_and_expiry(shown: dict[str, dict[str, Any]]) -> None:
    facts = shown["authentic"]["facts"]
    assert facts["brand"] == "Dalian Coast Seafood Snacks" and facts["product"] == "Snack gift bag 500 g"
    assert facts["gtin"] == "09506000000107" and facts["lot"] == "E2611-000"


def test_scan_of_a_qr_image_file_opens_the_item(shown: dict[str, dict[str, Any]], page_demo: dict[str, Any]) -> None:
    page = shown["scan-qr-image"]
    assert page["state"] == "ready" and page["consoleErrors"] == []
    assert page["input"] == page_demo["items"]["authentic"] and page["verdict"] == "authentic"


def test_timeline_of_the_jam_jar_has_every_step_verified(shown: dict[str, dict[str, Any]]) -> None:
    page = shown["jam"]
    assert page["verdict"] == "authentic" and page["consoleErrors"] == []
    assert [e["step"] for e in page["events"]] == JAM_STEPS
    assert all(e["verified"] for e in page["events"])
    assert page["timelineSummary"] == "9 events, 9 verified against the chain."
    texts = [e["text"] for e in page["events"]]
    assert "On an ingredient" in texts[0]  # the strawberries that went into the jam
    assert "On this item and its lot" in texts[3]  # the transformation that made the jar
    assert "On its case or pallet" in texts[4]  # packed on a pallet


def test_timeline_says_in_words_what_happened_and_who_did_it(shown: dict[str, dict[str, Any]]) -> None:
    page = shown["jam"]
    assert [e["heading"] for e in page["events"]] == JAM_WORDS
    # each party by the name and kind its brand published (checked against the ledger's hash), each place by name and city
    assert "Recorded by Hillside Strawberry Farm (farm)" in page["events"][0]["text"]
    assert "Recorded by Bohai Cold Chain (carrier)" in page["events"][5]["text"]
    assert "At Hillside Farm fields, Jinzhou" in page["events"][0]["text"]
    assert "At the jam kitchen's loading dock, Jinzhou" in page["events"][5]["text"]  # the plant's dock, named by the brand
    assert "At Zhongshan Road store, Dalian" in page["events"][8]["text"]
    assert "on the way" in page["events"][1]["text"] and "for sale" in page["events"][8]["text"]
    assert_words_only(page["visibleText"]["timeline"])
    # the record behind each step is one tap away: the EPCIS event, its type, the recording key
    assert all("Show the record" in e["text"] for e in page["events"])
    assert "TransformationEvent" in page["events"][3]["text"] and "TransformationEvent" not in page["visibleText"]["timeline"]


#: What no shopper should have to read: addresses and hashes, GS1 URIs and URNs, EPCIS type names and CBV codes.
IDENTIFIERS = re.compile(
    r"0x[0-9a-fA-F]{6,}|urn:|https?://id\.gs1\.org|\b(?:Object|Aggregation|Transformation|Transaction|Association)Event\b"
    r"|\b(?:OBSERVE|in_transit|in_progress|sellable_accessible|bizStep|commissioning)\b"
)


def assert_words_only(text: str) -> None:
    assert text.strip()
    assert not IDENTIFIERS.search(text), f"an identifier is visible: {IDENTIFIERS.search(text)!r} in {text!r}"


def test_a_chinese_phone_gets_the_page_in_chinese(shown: dict[str, dict[str, Any]]) -> None:
    page = shown["zh-jam"]
    assert page["lang"] == "zh-CN" and page["languageSwitch"] == ["English"] and page["consoleErrors"] == []
    assert page["verdictTitle"] == "正品"
    assert [e["heading"] for e in page["events"]] == ["采收", "已发货", "已收货", "由原料制成", "已装箱", "已发货", "已收货", "已拆箱", "已上架"]
    assert page["timelineSummary"] == "共 9 条记录，9 条已与区块链核对。"
    assert "记录方：Hillside Strawberry Farm（农场）" in page["events"][0]["text"] and "运输途中" in page["events"][1]["text"]
    assert "年" in page["events"][0]["text"]  # dates as Chinese readers write them (Intl)
    assert_words_only(page["visibleText"]["timeline"])
    recalled = shown["zh-recalled-jam"]
    assert recalled["verdictTitle"] == "已召回" and recalled["recall"]["notice"] == "verified"
    assert recalled["recall"]["facts"]["scope"] == "批次 JAM2611-02 的全部商品"
    # the brand's notice in the shopper's language, when the brand wrote it in more than one
    assert "李斯特菌" in recalled["recall"]["facts"]["reason"] and recalled["recall"]["facts"]["action"].startswith("请勿食用")
    assert shown["zh-recalled"]["recall"]["facts"]["action"] == "请勿使用。请退回购买的商店，或联系品牌方。"
    assert "Who had it" not in recalled["visibleText"]["custody"] and "经手方" in recalled["visibleText"]["custody"]
    assert "校验位" in shown["zh-bad-input"]["error"]  # the check digit, in Chinese
    assert all(shown[n]["scrollWidth"] <= 375 for n in ("zh-jam", "zh-recalled-jam"))


def test_the_language_switch_shows_the_page_in_english(shown: dict[str, dict[str, Any]]) -> None:
    page = shown["zh-to-en"]
    assert page["lang"] == "en" and page["languageSwitch"] == ["中文"]
    assert page["verdictTitle"] == "Authentic" and [e["heading"] for e in page["events"]] == JAM_WORDS


def test_bad_input_says_what_is_wrong(shown: dict[str, dict[str, Any]]) -> None:
    page = shown["bad-input"]
    assert page["state"] == "error" and page["verdict"] is None
    assert "check digit" in page["error"]


def test_recalled_jar_shows_who_had_it_at_each_step(shown: dict[str, dict[str, Any]]) -> None:
    page = shown["recalled-jam"]
    assert page["state"] == "ready" and page["verdict"] == "recalled" and page["consoleErrors"] == []
    assert [row["step"] for row in page["custody"]] == [e["step"] for e in page["events"]]
    # the contaminated strawberries came from the farm; the jars of lot 2 never left the plant, which held them
    assert [(row["step"], row["kind"]) for row in page["custody"]] == [
        ("commissioning", "farm"),
        ("shipping", "farm"),
        ("receiving", "plant"),
        ("commissioning", "plant"),
        ("holding", "plant"),
    ]
    # the custody table says each step as the timeline does
    assert [row["words"][0] for row in page["custody"]] == [e["heading"] for e in page["events"]]
    farm, kitchen = "Hillside Strawberry Farm (farm)", "Jinzhou Orchard Co-op jam kitchen (factory)"
    assert [row["words"][1] for row in page["custody"]] == [farm, farm, kitchen, kitchen, kitchen]
    assert page["events"][-1]["heading"] == "Recalled" and page["events"][-1]["recall"]
    assert page["scrollWidth"] <= 375
    assert_words_only(page["visibleText"]["custody"])


def test_a_recall_says_why_when_by_whom_which_lot_and_what_to_do_first(shown: dict[str, dict[str, Any]]) -> None:
    recall = shown["recalled-jam"]["recall"]
    assert recall["afterVerdict"] and recall["notice"] == "verified"  # the notice is the plant's anchored recall event
    facts = recall["facts"]
    assert "Listeria" in facts["reason"] and facts["action"].startswith("Do not eat it")  # the notice's English
    assert facts["by"] == "Jinzhou Orchard Co-op — notice recorded by Jinzhou Orchard Co-op jam kitchen (factory)"
    assert facts["scope"] == "Every item of lot JAM2611-02" and "quality line" in facts["contact"]
    assert re.search(r"20\d\d", facts["when"])
    assert_words_only(shown["recalled-jam"]["visibleText"]["recall"])


def test_a_recall_without_a_notice_or_history_still_says_what_to_do(shown: dict[str, dict[str, Any]]) -> None:
    page = shown["recalled"]
    recall = page["recall"]
    assert recall["afterVerdict"] and recall["notice"] == "none"
    assert recall["facts"]["reason"] == "The brand gave reason code 1 and published no notice with it."
    assert recall["facts"]["action"].startswith("Do not use it") and recall["facts"]["by"] == "Dalian Coast Seafood Snacks"
    assert recall["facts"]["scope"].startswith("Every item of lot ")
    # no history recorded: no custody section that would contradict the timeline
    assert page["custody"] == [] and "Who had it" not in page["visibleText"]["custody"]
    assert_words_only(page["visibleText"]["recall"])


def test_the_sold_verdict_does_not_show_the_first_buyers_address(shown: dict[str, dict[str, Any]]) -> None:
    assert_words_only(shown["claimed"]["visibleText"]["verdict"])


@pytest.fixture(scope="module")
def foreign_packing(page_demo: dict[str, Any], shown: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The jam brand's carrier (an actor of that brand only) "packs" the gift bag, an item of
    another brand, onto a pallet of its own and onto one numbered in the gift bag brand's
    namespace, then declares both pallets recalled, straight to the ledger under its own brand:
    the events are anchored and stored, so they would even verify. The gift bag's page is then
    opened again (after ``shown`` read it untouched)."""
    from o2ochain import epcis
    from o2ochain._chain.connection import dev_accounts, http_web3
    from o2ochain.client import O2OChain
    from o2ochain.deployments import Deployment

    with urlopen(page_demo["base"] + "/config.json", timeout=10) as response:
        config = json.load(response)
    chain = O2OChain(http_web3(config["rpcUrl"]), deployment=Deployment.from_json(config["deployment"]))
    chain.use_store(page_demo["out"] / "events")
    carrier = dev_accounts(11)[10]  # the demo's carrier (src/o2ochain/demo/_run.py), an actor of the jam's brand
    jam_brand = chain.identity.brand_of_gtin(gs1.parse_digital_link(page_demo["items"]["jam"]).gtin)
    link = gs1.parse_digital_link(page_demo["items"]["authentic"])
    assert link.serial is not None and chain.identity.brand_of_gtin(link.gtin) != jam_brand
    item = f"{gs1.DEFAULT_RESOLVER}/01/{link.gtin}/21/{link.serial}"
    pallets = [f"{gs1.DEFAULT_RESOLVER}/00/{gs1.make_sscc(prefix, 991)}" for prefix in ("9506001", "9506000")]
    t0 = datetime.now(UTC).replace(microsecond=0)

    def when(minutes: int) -> dict[str, str]:
        return {"eventTime": (t0 + timedelta(minutes=minutes)).isoformat(timespec="milliseconds"), "eventTimeZoneOffset": "+00:00"}

    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": t0.isoformat(),
        "epcisBody": {
            "eventList": [
                *(
                    {"type": "AggregationEvent", "action": "ADD", "bizStep": "packing", "parentID": p, "childEPCs": [item], **when(1)}
                    for p in pallets
                ),
                *(
                    {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "holding", "disposition": "recalled", "epcList": [p], **when(2)}
                    for p in pallets
                ),
            ]
        },
    }
    events = epcis.parse_document(document).events
    for event in events:
        chain.trace.store.put(event.raw)

    def entry(event: epcis.EpcisEvent, bind: bool) -> tuple[Any, ...]:
        subject = event.primary_subjects()[0]
        binding = (4, 0, gs1.to_bytes32(subject.code or "")) if bind else (0, 0, b"\x00" * 32)
        zero = b"\x00" * 32
        return (subject.id, event.content_hash, epcis.pack_meta(event), zero, zero, zero, binding, [s.id for s in event.related_subjects()])

    ledger, sender = chain.trace.contract, chain.actor(carrier).sender
    sender.transact(ledger.functions.record(jam_brand, [entry(e, True) for e in events[:2]]))
    sender.transact(ledger.functions.record(jam_brand, [entry(e, False) for e in events[2:]]))
    item_id = gs1.item_id(link.gtin, link.serial)
    linked = ledger.events.Linked.get_logs(argument_filters={"related": item_id}, from_block=0)
    page = drive(page_demo["base"], [{"name": "authentic-after-foreign-packing", "item": page_demo["items"]["authentic"]}])
    return {"linked": linked, "brand": jam_brand, "page": page["authentic-after-foreign-packing"], "before": shown["authentic"]}


def test_another_brands_actor_cannot_write_into_an_items_timeline(foreign_packing: dict[str, Any]) -> None:
    # the attack is on chain: two links naming the gift bag, under the jam's brand
    assert [(log["args"]["brand"]) for log in foreign_packing["linked"]] == [foreign_packing["brand"]] * 2
    page, before = foreign_packing["page"], foreign_packing["before"]
    assert page["state"] == "ready" and page["consoleErrors"] == []
    assert (page["verdict"], page["verdictTitle"]) == ("authentic", "Authentic")
    # links another brand recorded are not followed: no packing, no "recalled" pallet, no custody table
    assert page["events"] == before["events"] == [] and page["timelineSummary"] is None
    assert page["custody"] == []
