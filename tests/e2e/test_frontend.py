"""The consumer page in a real Chromium against a real Anvil loaded with the demo's sample data.

``o2ochain demo`` (small counts) starts the chain and serves the built page; a node script
(frontend/e2e/product.mjs, playwright-core driving Debian's Chromium) opens each case at a
phone's width and prints what the page shows. Screenshots go to test-output/. No browser means a
failure, not a skip: the page is part of the product.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import drive

pytestmark = pytest.mark.e2e

JAM_STEPS = ["commissioning", "shipping", "receiving", "commissioning", "packing", "shipping", "receiving", "unpacking", "stocking"]


@pytest.fixture(scope="module")
def shown(page_demo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    qr = page_demo["out"] / "qr"
    cases = [{"name": name, "item": item} for name, item in page_demo["items"].items()]
    cases.append({"name": "scan-qr-image", "qr": str(next(iter(sorted(qr.glob("*.png")))))})
    cases.append({"name": "bad-input", "item": "https://id.gs1.org/01/09506000000108/21/X1"})
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
    assert "on an ingredient" in texts[0]  # the strawberries that went into the jam
    assert "on this item and its lot" in texts[3]  # the transformation that made the jar
    assert "on its case or pallet" in texts[4]  # packed on a pallet


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
    assert page["scrollWidth"] <= 375
    # an item recalled without a recorded history shows no custody table
    assert shown["recalled"]["custody"] == []
