"""Shared by the browser tests: the built page, one demo serving it for the whole session, and
driving Chromium through a node script of frontend/e2e/ that prints what the page shows as JSON."""

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

from o2ochain._chain.connection import free_port

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output"
#: The sample item URLs the demo prints under "Consumer page:", in order.
ITEM_CASES = ["authentic", "merkle", "claimed", "recalled", "unknown", "jam", "recalled-jam"]


def build_page() -> None:
    """Build frontend/dist when it is missing or older than a source (``./run test`` builds it first)."""
    dist = ROOT / "frontend" / "dist" / "index.html"
    sources = [p for p in (ROOT / "frontend").rglob("*") if p.is_file() and "dist" not in p.parts and "e2e" not in p.parts]
    if dist.is_file() and all(p.stat().st_mtime <= dist.stat().st_mtime for p in sources):
        return
    npx = shutil.which("npx")
    assert npx, "npx (Node.js) is needed to build the page"
    subprocess.run([npx, "vite", "build", "frontend", "--logLevel", "warn"], cwd=ROOT, check=True, timeout=300)


def serve_demo(work: Path) -> Iterator[dict[str, Any]]:
    build_page()
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
        pages = [p for p in re.findall(r"^\s+(http://127\.0\.0\.1:\d+/\?item=\S+)$", output, re.M) if "&claim=" not in p]
        assert len(pages) == len(ITEM_CASES), output
        from urllib.parse import parse_qs, urlsplit

        items = [parse_qs(urlsplit(p).query)["item"][0] for p in pages]
        yield {
            "base": base.group(1),
            "items": dict(zip(ITEM_CASES, items, strict=True)),
            "out": work / "out",
            "output": output,
        }
    finally:
        server.terminate()
        server.wait(30)


def drive(base: str, cases: list[dict[str, Any]], script: str = "product.mjs") -> dict[str, dict[str, Any]]:
    """Run a script that opens each of ``cases`` and prints a JSON list of results; by case name."""
    results: list[dict[str, Any]] = drive_script(script, {"base": base, "cases": cases})
    return {r["name"]: r for r in results}


def drive_script(script: str, spec: dict[str, Any]) -> Any:
    """Run frontend/e2e/<script> with ``spec`` (plus the screenshot folder) and return the JSON it prints."""
    node = shutil.which("node")
    assert node, "Node.js is needed for the browser tests"
    env = {**os.environ, "CHROMIUM": os.environ.get("CHROMIUM", "/usr/bin/chromium")}
    assert Path(env["CHROMIUM"]).is_file(), f"no Chromium at {env['CHROMIUM']}: ./run test installs Debian's chromium"
    result = subprocess.run(
        [node, str(ROOT / "frontend" / "e2e" / script), json.dumps({"out": str(OUT), **spec})],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, f"the browser run failed:\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def demo_paths(page_demo: dict[str, Any]) -> dict[str, str]:
    """The demo's pages as paths with their query (what a browser test opens on ``base``): each
    sample item by its case (``item:jam``), a merchant page (``merchant``) and the voucher the
    demo printed (``voucher``)."""
    from urllib.parse import quote

    base, output = page_demo["base"], page_demo["output"]
    voucher = re.search(r"^\s+(http://127\.0\.0\.1:\d+/\?voucher=\S+)$", output, re.M)
    merchant = re.search(r"o2ochain merchant show (\d+)", output)
    assert voucher and merchant, output
    paths = {f"item:{case}": "/?item=" + quote(item, safe="") for case, item in page_demo["items"].items()}
    return {**paths, "merchant": f"/?merchant={merchant.group(1)}", "voucher": voucher.group(1)[len(base) :]}
