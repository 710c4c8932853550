"""The consumer page in a real Chromium against a real Anvil loaded with the demo's sample data.

``o2ochain demo`` (small counts) starts the chain and serves the built page; a node script
(frontend/e2e/product.mjs, playwright-core driving Debian's Chromium) opens each case at a
phone's width and prints what the page shows. Screenshots go to test-output/. No browser means a
failure, not a skip: the page is part of the product.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from o2ochain.chain import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output"
JAM_STEPS = ["commissioning", "shipping", "receiving", "commissioning", "packing", "shipping", "receiving", "unpacking", "stocking"]


def _build_page() -> None:
    """Build frontend/dist when it is missing or older than a source (``./run test`` builds it first)."""
    dist = ROOT / "frontend" / "dist" / "index.html"
    sources = [p for p in (ROOT / "frontend").rglob("*") if p.is_file() and "dist" not in p.parts and "e2e" not in p.parts]
    if dist.is_file() and all(p.stat().st_mtime <= dist.stat().st_mtime for p in sources):
        return
    npx = shutil.which("npx")
    assert npx, "npx (Node.js) is needed to build the page"
    subprocess.run([npx, "vite", "build", "frontend", "--logLevel", "warn"], cwd=ROOT, check=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    _build_page()
    work = tmp_path_factory.mktemp("frontend-demo")
    web_port = free_port()
    command = [sys.executable, "-m", "o2ochain.cli", "demo", "--port", str(free_port()), "--web-port", str(web_port)]
    command += ["--out", str(work / "out"), "--items", "1000", "--explicit", "100"]
    server = subprocess.Popen(command, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 240
        for line in server.stdout:
            lines.append(line)
            if "keeps running" in line or time.monotonic() > deadline:
                break
        output = "".join(lines)
        assert "keeps running" in output, output
        base = re.search(r"Consumer page: (http://127\.0\.0\.1:\d+)/", output)
        assert base, output
        pages = re.findall(r"^\s+(http://127\.0\.0\.1:\d+/\?item=\S+)$", output, re.M)
        assert len(pages) == 6, output
        from urllib.parse import parse_qs, urlsplit

        items = [parse_qs(urlsplit(p).query)["item"][0] for p in pages]
        yield {
            "base": base.group(1),
            "items": dict(zip(["authentic", "merkle", "claimed", "recalled", "unknown", "jam"], items, strict=True)),
            "out": work / "out",
        }
    finally:
        server.terminate()
        server.wait(30)


def drive(base: str, cases: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the browser tests"
    env = {**os.environ, "CHROMIUM": os.environ.get("CHROMIUM", "/usr/bin/chromium")}
    assert Path(env["CHROMIUM"]).is_file(), f"no Chromium at {env['CHROMIUM']}: ./run test installs Debian's chromium"
    spec = {"base": base, "out": str(OUT), "cases": cases}
    result = subprocess.run(
        [node, str(ROOT / "frontend" / "e2e" / "product.mjs"), json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    assert result.returncode == 0, f"the browser run failed:\n{result.stderr}"
    return {r["name"]: r for r in json.loads(result.stdout.strip().splitlines()[-1])}


@pytest.fixture(scope="module")
def shown(demo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    qr = demo["out"] / "qr"
    cases = [{"name": name, "item": item} for name, item in demo["items"].items()]
    cases.append({"name": "scan-qr-image", "qr": str(next(iter(sorted(qr.glob("*.png")))))})
    cases.append({"name": "bad-input", "item": "https://id.gs1.org/01/09506000000108/21/X1"})
    return drive(demo["base"], cases)


def test_page_serves_config_with_the_deployment(demo: dict[str, Any]) -> None:
    from urllib.request import urlopen

    with urlopen(demo["base"] + "/config.json", timeout=10) as response:
        config = json.load(response)
    assert config["rpcUrl"].startswith("http://127.0.0.1:") and "ProductRegistry" in config["deployment"]["contracts"]
    with urlopen(demo["base"] + "/", timeout=10) as response:
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


def test_scan_of_a_qr_image_file_opens_the_item(shown: dict[str, dict[str, Any]], demo: dict[str, Any]) -> None:
    page = shown["scan-qr-image"]
    assert page["state"] == "ready" and page["consoleErrors"] == []
    assert page["input"] == demo["items"]["authentic"] and page["verdict"] == "authentic"


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
