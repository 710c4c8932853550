"""The page's shopper derivation (frontend/src/wallet/shopper.ts) against the library's vectors.

The page and the library (src/o2ochain/shopper/_shopper.py) must derive the very same addresses from a
wallet's key: a shopper who bought with the page and later uses the CLI (or reinstalls either)
finds every record at the addresses they derive. The TypeScript module is compiled with the
repository's TypeScript into test-output/ (inside the repository, so that node finds viem in
node_modules) and run by frontend/e2e/shopper.mjs with node; what it prints is compared with
tests/fixtures/shopper-vectors.json, which tests/library/test_shopper.py checks the library against.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from o2ochain.shopper import GAP, SEED_MESSAGE
from tests.e2e.browser import OUT, ROOT

pytestmark = pytest.mark.e2e

VECTORS_FILE = ROOT / "tests" / "fixtures" / "shopper-vectors.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text())


@pytest.fixture(scope="module")
def derived() -> dict[str, Any]:
    npx, node = shutil.which("npx"), shutil.which("node")
    assert npx and node, "Node.js is needed to run the page's code"
    build = OUT / "shopper-ts"
    shutil.rmtree(build, ignore_errors=True)
    compile_ = [npx, "--no-install", "tsc", "--outDir", str(build), "--module", "es2022", "--target", "es2022"]
    compile_ += ["--moduleResolution", "bundler", "--strict", "--skipLibCheck", "--noUnusedLocals", "frontend/src/wallet/shopper.ts"]
    compiled = subprocess.run(compile_, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (build / "package.json").write_text('{"type": "module"}\n')  # the compiled file is an ES module
    module = build / "shopper.js"
    assert module.is_file(), sorted(p.name for p in build.rglob("*"))
    spec = {"module": str(module), "vectors": str(VECTORS_FILE)}
    run = subprocess.run(
        [node, str(ROOT / "frontend" / "e2e" / "shopper.mjs"), json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def test_page_signs_the_same_seed_message_as_the_library(derived: dict[str, Any]) -> None:
    assert derived["message"] == SEED_MESSAGE == VECTORS["message"]
    assert derived["gap"] == GAP
    # viem's signMessage of the message with the vector's key: the signature every wallet gives (RFC 6979)
    assert derived["address"] == VECTORS["address"]
    assert derived["signature"] == VECTORS["signature"]
    assert derived["seed"] == VECTORS["seed"]


def test_page_derives_every_vectors_address_and_key(derived: dict[str, Any]) -> None:
    assert derived["contexts"] == VECTORS["contexts"]


def test_page_helpers_name_the_same_contexts_in_any_letter_case(derived: dict[str, Any]) -> None:
    by_context = {v["context"]: v["address"] for v in VECTORS["contexts"]}
    purchase = next(a for c, a in by_context.items() if c.startswith("purchase/"))
    item = next(a for c, a in by_context.items() if c.startswith("item/"))
    consent = next(a for c, a in by_context.items() if c.startswith("consent/"))
    assert derived["helpers"] == {"purchase": purchase, "item": item, "consent": consent, "known": purchase}


def test_page_refuses_bad_input_in_words(derived: dict[str, Any]) -> None:
    retailer, index, item, user, signature = derived["refusals"]
    assert retailer is not None and "retailers count from 1" in retailer
    assert index is not None and "purchases from 0" in index
    assert item == "an item id is 32 bytes"
    assert user == "nope is not an address"
    assert signature is not None and "65 bytes" in signature


def test_page_servers_relay_names_a_refusal_and_its_arguments(page_demo: dict[str, Any]) -> None:
    """What the page words a relayed refusal from: the custom error's name and its arguments."""
    import urllib.error
    import urllib.request

    from eth_utils.crypto import keccak
    from web3 import Web3

    from o2ochain._chain.artifacts import artifact

    with urllib.request.urlopen(page_demo["base"] + "/config.json", timeout=10) as response:
        config = json.load(response)
    assert config["relay"] == "./relay"
    registry = Web3().eth.contract(abi=artifact("ProductRegistry")["abi"])
    item = keccak(text="no such item")
    data = registry.encode_abi("claimWithSignature", args=[item, "0x" + "11" * 20, 2**40, b"\0" * 65])
    to = config["deployment"]["contracts"]["ProductRegistry"]["address"]
    body = json.dumps({"to": to, "data": data}).encode()
    request = urllib.request.Request(page_demo["base"] + "/relay", data=body, headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 422
    reply = json.loads(refused.value.read())
    assert (reply["error"], reply["args"]) == ("IdentityItemUnknown", ["0x" + item.hex()])
