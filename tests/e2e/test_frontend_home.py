"""The home page and forgiving scanning, on the BUILT page (minified, as shoppers get it).

frontend/e2e/home.mjs opens the page at a phone's width (375 px) against ``o2ochain demo``: the
home page says what the page is for, offers the camera first, and lists the demo's sample items
and merchant pages from config.json (none when config.json has none); every way a product code
reaches the page — a GS1 element string with or without brackets, as a scanner emits it with
its GS separators, a Digital Link on any host in any case, an EPC URN — opens the same item as
the CLI computes; and what cannot be read is said in a shopper's words. The error checks are
made on the minified bundle, where class names are renamed: the test that once read "could not
read this picture: e". Screenshots: test-output/home*.png.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from o2ochain import gs1
from tests.e2e.browser import ROOT, build_page, drive_script

pytestmark = pytest.mark.e2e

#: The sentences a shopper reads (frontend/src/scan/messages.ts), each checked word for word.
NO_QR = "This picture has no QR code we can read — try again closer, with more light."
NOT_A_PICTURE = "This file is not a picture we can open. Take a photo of the QR code, or use the camera."
NOT_A_CODE = "This code is not a product code. Scan the QR code printed on the product's pack."
OTHER_LINK = "This QR code is a link to a website, not a product code. Look for the product's own QR code on the pack."
NO_SERIAL = "This code names a kind of product, not one item, so it cannot tell whether yours is genuine. Look for the QR code printed on the item itself."
CAMERA_DENIED = "The camera is not allowed. Allow it in your browser's settings, or choose a photo of the QR code instead."
#: Developer wording that must never reach a shopper.
JARGON = ("http(s)", "URI", "AI ", "GTIN", "could not read this picture", "Error", "undefined", "exception")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_png(path: Path, size: int = 120) -> Path:
    """A light grey PNG with no QR code in it (made by hand: no imaging library needed)."""
    row = b"\x00" + b"\xdd" * size
    chunk = _chunk
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))
    return path


def forms_of(link: gs1.DigitalLink) -> dict[str, str]:
    """The same item written every way a shopper's scanner, camera or keyboard may give it."""
    g, s, lot = link.gtin, link.serial, link.lot
    assert s is not None and lot is not None
    cp, ref = g[1:8], g[0] + g[8:13]  # a 7-digit company prefix; the indicator digit leads the item reference
    return {
        "element-string": f"(01){g}(21){s}",
        "element-string-spaced": f" (01) {g} (10) {lot} (21) {s} ",
        "scanner-gs": f"]Q3\x1d01{g}10{lot}\x1d21{s}",
        "scanner-no-brackets": f"01{g}21{s}",
        "link-uppercase-host-slash": f"HTTPS://ID.GS1.ORG/01/{g}/21/{s}/",
        "link-http-other-host-query": f"http://shop.example/products/01/{g}/21/{s}?linkType=gs1:pip&17=291231",
        "link-alphas-fragment": f"https://brand.example/gtin/{g}/lot/{lot}/ser/{s}#top",
        "link-serial-in-query": f"https://id.gs1.org/01/{g}?21={s}",
        "link-without-scheme": f"id.gs1.org/01/{g}/21/{s}",
        "epc-urn": f"urn:epc:id:sgtin:{cp}.{ref}.{s}",
    }


@pytest.fixture(scope="module")
def shown(page_demo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("home")
    link = gs1.parse_digital_link(page_demo["items"]["authentic"])
    not_a_picture = folder / "notes.png"
    not_a_picture.write_text("not a picture")
    forms = [{"name": name, "text": text, "screenshot": name == "scanner-gs"} for name, text in forms_of(link).items()]
    problems = [
        {"name": "no-qr", "file": str(blank_png(folder / "blank.png"))},
        {"name": "not-a-picture", "file": str(not_a_picture)},
        {"name": "garbage", "text": "hello, is this genuine?"},
        {"name": "website", "text": "https://shop.example/about-us"},
        {"name": "barcode-number", "text": link.gtin},
        {"name": "camera-denied", "camera": True},
    ]
    result: dict[str, Any] = drive_script("home.mjs", {"base": page_demo["base"], "forms": forms, "problems": problems})
    assert "failure" not in result, result["failure"]
    return {**result, "link": link}


def test_home_says_what_the_page_does_and_offers_the_camera_first(shown: dict[str, Any]) -> None:
    home = shown["home"]
    assert home["view"] == "home" and home["title"] == "Check a product"
    assert home["intro"] == [
        "Scan the QR code on a product to see whether it is genuine and where it has been.",
        "The answer is read from a public record that no shop can change. No account needed.",
    ]
    assert (home["scan"], home["photo"]) == ("Scan a product", "Use a photo of the code")
    assert home["typeLabel"] == "Or type the code printed under the QR code" and home["checkButton"] == "Check"
    assert home["order"] == {"cameraBeforePhoto": True, "photoBeforeInput": True}
    # the camera is the big button: the page's full width, taller than the rest
    assert home["sizes"]["scan"]["width"] >= 300 and home["sizes"]["scan"]["height"] >= 56
    assert home["scrollWidth"] <= 375
    assert Path(ROOT / "test-output" / "home.png").is_file()


def test_home_controls_are_labelled_big_enough_and_readable(shown: dict[str, Any]) -> None:
    home = shown["home"]
    assert home["labelled"] == {"input": True, "file": True, "video": True}
    for name, size in home["sizes"].items():
        assert size["height"] >= 44 and size["width"] >= 44, (name, size)
    for link in home["items"] + home["shops"]:
        assert link["height"] >= 44, link
    contrasts = [*home["contrast"]["intro"], home["contrast"]["scan"], home["contrast"]["photo"], home["contrast"]["typeLabel"]]
    contrasts += [link["contrast"] for link in home["items"] + home["shops"]]
    assert min(contrasts) >= 4.5, home["contrast"]


def test_home_is_operable_by_keyboard(shown: dict[str, Any]) -> None:
    order = shown["home"]["tabOrder"]
    # the camera, then the photo, then the box: in the order they are offered
    assert order.index("camera-start") < order.index("qr-file") < order.index("item-input"), order
    sample = shown["sample"]  # the first sample, opened with Enter on its link
    assert sample["state"] == "ready" and sample["verdict"] == "authentic" and sample["view"] == "item"


def test_home_lists_the_demos_samples_and_merchant_pages_from_config(shown: dict[str, Any], page_demo: dict[str, Any]) -> None:
    home = shown["home"]
    assert home["samplesShown"] and home["samplesTitle"] == "Try it with the demo"
    opened = {item["href"] for item in home["items"]}
    from urllib.parse import quote

    for case in ("authentic", "merkle", "claimed", "recalled"):  # genuine, from a Merkle lot, sold, recalled
        assert f"?item={quote(page_demo['items'][case], safe='')}" in opened, case
    labels = [item["label"] for item in home["items"]]
    assert "Recalled" in labels and any("Merkle" in label for label in labels) and any("sold" in label for label in labels)
    assert [shop["href"] for shop in home["shops"]] == ["?merchant=1", "?merchant=2", "?merchant=3"]
    assert home["shops"][0]["label"] == "Dalian Coast, Zhongshan Road store"


def test_home_of_a_real_deployment_lists_no_samples(shown: dict[str, Any]) -> None:
    bare = shown["bare"]
    assert bare["view"] == "home" and not bare["samplesShown"] and bare["items"] == [] and bare["shops"] == []
    assert bare["scan"] == "Scan a product" and len(bare["intro"]) == 2


def test_every_form_of_a_product_code_opens_the_same_item(shown: dict[str, Any]) -> None:
    link: gs1.DigitalLink = shown["link"]
    expected = "0x" + link.item_id.hex()
    for name, page in shown["forms"].items():
        assert (page["state"], page["verdict"], page["itemId"], page["error"]) == ("ready", "authentic", expected, None), (name, page)
        assert page["scrollWidth"] <= 375, name
    # what is not a link already is shown, and linked, as its Digital Link
    canonical = f"https://id.gs1.org/01/{link.gtin}/21/{link.serial}"
    assert shown["forms"]["element-string"]["input"] == canonical
    assert shown["forms"]["epc-urn"]["input"] == canonical
    assert shown["forms"]["scanner-gs"]["input"] == f"https://id.gs1.org/01/{link.gtin}/10/{link.lot}/21/{link.serial}"
    assert shown["consoleErrors"] == []


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("no-qr", NO_QR),
        ("not-a-picture", NOT_A_PICTURE),
        ("garbage", NOT_A_CODE),
        ("website", OTHER_LINK),
        ("barcode-number", NO_SERIAL),
        ("camera-denied", CAMERA_DENIED),
    ],
)
def test_what_cannot_be_read_is_said_in_a_shoppers_words(shown: dict[str, Any], case: str, words: str) -> None:
    page = shown["problems"][case]
    assert page["state"] == "error" and page["verdict"] is None
    assert page["error"] == words
    assert not any(jargon in page["error"] for jargon in JARGON), page["error"]
    assert Path(ROOT / "test-output" / f"home-{case}.png").is_file()


def test_the_built_bundle_tells_errors_apart_by_a_stable_code() -> None:
    """The checks the page makes must survive minification: by `kind`, not by a class's name."""
    build_page()
    bundle = "".join(p.read_text() for p in (ROOT / "frontend" / "dist" / "assets").glob("*.js"))
    assert "o2ochain-input" in bundle and "o2ochain-scan" in bundle
    assert NO_QR in bundle and "could not read this picture" not in bundle
