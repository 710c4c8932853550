"""Nothing personal on chain: the demo's sample data is loaded on an Anvil (as ``o2ochain demo``
does, without serving), then every transaction's calldata and every log's data and topics are
scanned for the personal values the demo itself uses — collected from the demo's sources, not
copied here — in any letter case, as UTF-8 or as ASCII hex (``o2ochain.consent.contains_plaintext``), and
for anything shaped like an e-mail address or a phone number in printable runs of 6 bytes or more.

The scanner is shown to catch a leak: a planted transaction with an e-mail address in its
calldata, and a planted log-free transaction carrying a review text as hex, are flagged.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

import o2ochain
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain.consent import CATEGORIES, PURPOSES, contains_plaintext
from o2ochain.demo import ACCOUNTS, _run

# The sample world's sources (the page server's are not sample data).
DEMO_SOURCES = sorted(p for p in Path(_run.__file__).parent.glob("*.py") if p.name != "_server.py")
# Calls whose string arguments are people's data: reviews and replies, consent notices and
# requests, merchant profiles, sealed personal records.
PERSONAL_CALLS = {"review_purchase", "review_item", "reply", "record_use", "grant", "sign_grant", "seal", "publish_profile", "set_profile"}
# Module constants that hold sample people, consents, reviews or profiles.
PERSONAL_NAMES = re.compile(r"REVIEW|PROFILE|NOTICE|PEOPLE|PERSON|CUSTOMER|SHOPPER|CONTACT|CONSENT", re.IGNORECASE)
# Calls whose string arguments are public by design: a shop's name as its channel is registered
# (a business, not a person). The same names appear in the merchant profiles; they are left out.
PUBLIC_CALLS = {"add_channel", "register_brand", "add_product"}
MIN_LENGTH = 8  # shorter values ("Fine.") would match by chance; the detectors below cover shapes
EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(rb"(?:\+|\b00)\d[\d ()-]{7,}\d|\b1[3-9]\d{9}\b|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")
PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{6,}")


def _strings(node: ast.AST) -> Iterator[str]:
    """String values under ``node`` (dictionary values, not keys)."""
    if isinstance(node, ast.Dict):
        for value in node.values:
            yield from _strings(value)
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
        return
    if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts
        for part in node.values:
            yield from _strings(part)
        return
    for child in ast.iter_child_nodes(node):
        yield from _strings(child)


def personal_values() -> list[str]:
    """Every personal value in the demo's sources (see PERSONAL_CALLS and PERSONAL_NAMES)."""
    public = {*PURPOSES, *CATEGORIES}
    found: dict[str, None] = {}
    for source in DEMO_SOURCES:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if node.value is not None and any(isinstance(t, ast.Name) and PERSONAL_NAMES.search(t.id) for t in targets):
                    found.update(dict.fromkeys(_strings(node.value)))
            elif isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in PERSONAL_CALLS | PUBLIC_CALLS:
                    strings = [v for arg in [*node.args, *(k.value for k in node.keywords)] for v in _strings(arg)]
                    if name in PUBLIC_CALLS:
                        public.update(strings)
                    else:
                        found.update(dict.fromkeys(strings))
    return [v.strip() for v in found if len(v.strip()) >= MIN_LENGTH and v.strip() not in public]


@dataclass
class Blob:
    where: str
    data: bytes


def chain_blobs(w3: object, first_block: int = 0) -> list[Blob]:
    """Every transaction's calldata and every log's topics and data from ``first_block`` on."""
    from web3 import Web3

    assert isinstance(w3, Web3)
    blobs: list[Blob] = []
    latest = int(w3.eth.block_number)
    for number in range(first_block, latest + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            assert not isinstance(tx, bytes)
            blobs.append(Blob(f"tx {bytes(tx['hash']).hex()} input", bytes(tx["input"])))
    for log in w3.eth.get_logs({"fromBlock": first_block, "toBlock": latest}):
        where = f"log {int(log['logIndex'])} of tx {bytes(log['transactionHash']).hex()}"
        blobs.append(Blob(where + " data", bytes(log["data"])))
        for i, topic in enumerate(log["topics"]):
            blobs.append(Blob(f"{where} topic {i}", bytes(topic)))
    return blobs


def leaks(blobs: list[Blob], values: list[str]) -> list[str]:
    """What looks personal in ``blobs``: a known value (any case, UTF-8 or hex), an e-mail address
    or a phone number in a printable run of 6 bytes or more."""
    found = []
    for blob in blobs:
        for value in contains_plaintext(blob.data, values):
            found.append(f"{blob.where}: the demo's personal value {value!r}")
        for run in PRINTABLE_RUN.findall(blob.data):
            for pattern, kind in ((EMAIL, "an e-mail address"), (PHONE, "a phone number")):
                for match in pattern.findall(run):
                    found.append(f"{blob.where}: {kind} {match!r}")
    return found


@dataclass
class DemoChain:
    node: Anvil
    chain: o2ochain.O2OChain
    blobs: list[Blob]


@pytest.fixture(scope="module")
def demo_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoChain]:
    """The demo's sample data on a fresh Anvil (fewer items than the demo's default: the
    personal data is the same), and what the chain holds."""
    out = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp, Anvil(accounts=ACCOUNTS) as node:
        mp.chdir(out)  # the demo writes deployments/ in the working directory
        chain = o2ochain.O2OChain(http_web3(node.url), accounts=dev_accounts(ACCOUNTS))
        _run._load(chain, out, merkle_items=200, explicit_items=40, console=Console(quiet=True))
        yield DemoChain(node, chain, chain_blobs(chain.w3))


def test_the_demo_has_personal_values_to_look_for() -> None:
    values = personal_values()
    # Reviews, replies, the privacy notice, data-use requests and a street address at least.
    assert len(values) >= 8, values
    assert any("Zhongshan Road, Dalian" in v for v in values), values


def test_nothing_personal_in_any_transaction_or_log_of_the_demo(demo_chain: DemoChain) -> None:
    blobs = demo_chain.blobs
    assert sum(b.where.endswith("input") for b in blobs) >= 50 and any("log" in b.where for b in blobs)
    assert leaks(blobs, personal_values()) == []


def test_the_scan_flags_a_planted_leak(demo_chain: DemoChain) -> None:
    w3 = demo_chain.chain.w3
    first = int(w3.eth.block_number) + 1
    sender, to = w3.eth.accounts[0], w3.eth.accounts[1]
    review = next(v for v in personal_values() if " " in v and len(v) > 30)
    for data in (b"contact: jane.doe@example.com, +86 138 0013 8000", review.encode().hex().encode()):
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": sender, "to": to, "data": "0x" + data.hex()}))
    found = leaks(chain_blobs(w3, first), personal_values())
    assert any("e-mail address b'jane.doe@example.com'" in f for f in found), found
    assert any("phone number" in f for f in found), found
    assert any(repr(review) in f for f in found), found
