"""The consumer page reads every list through the index, checks what matters on chain, and never
asks the node for an unbounded or over-wide ``eth_getLogs``.

frontend/e2e/index.mjs opens every kind of page of the demo (an authentic, a Merkle-committed, a
sold and a recalled item, the jam jar with its full history, a merchant, a coupon, the account of
the connected test shopper and a product page seen by it) in a real Chromium, watching every
request the page sends: any ``eth_getLogs`` without numeric ``fromBlock`` and ``toBlock``, or over
more than 10,000 blocks, fails the test, with an index and without one.

The index here is :class:`FakeIndex`, a small server in the test process that answers the
index's HTTP contract (``POST /o2o/logs``, ``POST /o2o/trace``, ``GET /o2o/head``; see
indexer/src/api/index.ts) from
the node's own logs, in small pages so that ``next`` is followed, and that can lag, be down, or
lie (drop or forge a trace entry, swap the hash of a review's or a reply's text, shift or forge
a price). A lie may hide freshness, never forge a verified fact: the verdict is the chain's
(eth_call), a history whose chain does not end at the head the ledger stores is shown unverified,
a text hash the chain does not confirm at its log's block is shown unconfirmed (not as the
author's), and a price is shown as the contract's ``price`` view states it. When
``o2ochain.demo._indexer`` exists, one test runs the real index (Ponder) against the same chain.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak

from o2ochain import gs1
from tests.e2e.browser import OUT, demo_paths, drive_script

pytestmark = pytest.mark.e2e

#: The Recorded event's topic (contracts/interfaces/ITraceLedger.sol); Linked's (topics: related, subject, brand).
RECORDED = "0x" + keccak(text="Recorded(bytes32,uint32,address,bytes32,bytes32,bytes32,bytes32,bytes32)").hex()
LINKED = "0x" + keccak(text="Linked(bytes32,bytes32,uint32,bytes32)").hex()
#: ReviewPosted, ReviewReplied (contracts/interfaces/IReviewBoard.sol), PricePublished (IPriceGuarantee.sol).
REVIEW_POSTED = "0x" + keccak(text="ReviewPosted(bytes32,uint64,uint32,address,uint8,uint8,bytes32,string,bytes32)").hex()
REVIEW_REPLIED = "0x" + keccak(text="ReviewReplied(bytes32,uint32,address,bytes32,string)").hex()
PRICE_PUBLISHED = "0x" + keccak(text="PricePublished(uint64,uint32,uint96,uint8,uint40)").hex()
#: What the page says of an entry whose chain does not end at its stored head (frontend/src/chain/trace.ts CHAIN_BROKEN).
CHAIN_BROKEN = "does not end at the head the ledger stores"
#: The lists compared between runs (frontend/e2e/index.mjs readLists).
LISTS = [
    "verdict",
    "facts",
    "events",
    "custody",
    "livePrices",
    "priceHistory",
    "unconfirmedPrices",
    "policyChanges",
    "reviews",
    "reviewTexts",
    "replies",
    "replyTexts",
    "channels",
    "merchant",
    "purchases",
    "owed",
    "held",
    "consents",
    "uses",
    "voucher",
    "signed",
    "missing",
]

Log = dict[str, Any]


def rpc(url: str, method: str, params: list[Any]) -> Any:
    request = urllib.request.Request(
        url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return answer["result"]


def containers_and_chains(
    get: Callable[[list[Any]], list[Log]], subjects: list[str], follow: list[str], brand: int, depth: int
) -> dict[str, Any]:
    """What ``/o2o/trace`` answers, worked out from plain log lists (``get(topics)``): the
    containers reachable from ``follow`` under ``brand`` (``depth`` levels of Linked logs whose
    related id is the one before), and the Recorded and Linked logs of those and of ``subjects``
    under ``brand``, in chain order."""
    brand_topic = f"0x{brand:064x}"
    reached = {s.lower() for s in follow}
    followed: list[str] = []
    frontier = sorted(reached)
    for _ in range(depth):
        if not frontier:
            break
        found = {log["topics"][2].lower() for log in get([LINKED, frontier, None, brand_topic])} - reached
        followed += frontier
        reached |= found
        frontier = sorted(found)
    listed = sorted({s.lower() for s in subjects} | reached)
    logs = get([RECORDED, listed, brand_topic]) + get([LINKED, None, listed, brand_topic])
    logs.sort(key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)))
    return {"logs": logs, "listed": listed, "followed": sorted(followed)}


class FakeIndex:
    """The index's HTTP contract, answered from the node's logs (which this server may read whole).

    ``page_size`` caps each answer (so the page follows ``next``); ``lag`` keeps its head that
    many blocks behind the node's; ``tamper`` rewrites every answer's logs; ``down`` answers 500.
    ``heads`` are the heads it answered with, ``posts`` the bodies it was sent (``traced``: those
    to ``/o2o/trace``); ``routes`` the POST paths it answers (an index without one is made by
    removing it).
    """

    def __init__(
        self,
        node: str,
        chain_id: int,
        *,
        page_size: int = 25,
        lag: int = 0,
        tamper: Callable[[list[Log]], list[Log]] | None = None,
        down: bool = False,
    ) -> None:
        self.node, self.chain_id, self.page_size, self.lag, self.tamper, self.down = node, chain_id, page_size, lag, tamper, down
        self.heads: list[int] = []
        self.posts: list[dict[str, Any]] = []
        self.traced: list[dict[str, Any]] = []
        self.routes: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"/o2o/logs": self.logs, "/o2o/trace": self.trace}
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_OPTIONS(self) -> None:
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", "content-type")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                if index.down:
                    self.answer(500, {"error": "down"})
                elif self.path == "/o2o/head":
                    self.answer(200, {"chains": {str(index.chain_id): {"block": index.head(), "hash": None}}})
                else:
                    self.answer(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if index.down:
                    self.answer(500, {"error": "down"})
                elif self.path not in index.routes:
                    self.answer(404, {"error": "not found"})
                else:
                    index.posts.append(body)
                    self.answer(200, index.routes[self.path](body))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def head(self) -> int:
        return max(0, int(rpc(self.node, "eth_blockNumber", []), 16) - self.lag)

    def logs(self, body: dict[str, Any]) -> dict[str, Any]:
        head = self.head()
        self.heads.append(head)
        last = head if body.get("toBlock") is None else min(head, int(body["toBlock"]))
        first = int(body.get("fromBlock") or 0)
        found: list[Log] = []
        if first <= last:
            found = rpc(
                self.node,
                "eth_getLogs",
                [{"address": body["address"], "topics": body.get("topics") or [], "fromBlock": hex(first), "toBlock": hex(last)}],
            )
        return self.page(found, body, head)

    def trace(self, body: dict[str, Any]) -> dict[str, Any]:
        """``/o2o/trace``: an item's chains and its containers', from the node (:func:`containers_and_chains`)."""
        self.traced.append(body)
        head = self.head()
        self.heads.append(head)
        last = head if body.get("toBlock") is None else min(head, int(body["toBlock"]))
        first = int(body.get("fromBlock") or 0)

        def get(topics: list[Any]) -> list[Log]:
            if first > last:
                return []
            query = {"address": body["address"], "topics": topics, "fromBlock": hex(first), "toBlock": hex(last)}
            return list(rpc(self.node, "eth_getLogs", [query]))

        found = containers_and_chains(get, body["subjects"], body.get("follow") or [], int(body["brand"]), int(body["depth"]))
        return self.page(found["logs"], body, head) | {"listed": found["listed"], "followed": found["followed"]}

    def page(self, found: list[Log], body: dict[str, Any], head: int) -> dict[str, Any]:
        """The page of ``found`` (tampered with, if this index lies) that ``body`` asks for (``after``: an offset)."""
        if self.tamper is not None:
            found = self.tamper(found)
        start = int(body.get("after") or 0)
        size = min(int(body.get("limit") or 10_000), self.page_size)
        page = found[start : start + size]
        return {"head": head, "logs": page, "next": str(start + size) if start + size < len(found) else None}

    def __enter__(self) -> FakeIndex:
        threading.Thread(target=self._server.serve_forever, name="fake-index", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def demo(page_demo: dict[str, Any]) -> dict[str, Any]:
    """The demo's node, chain id and every kind of page, as paths with their query."""

    with urllib.request.urlopen(page_demo["base"] + "/config.json", timeout=10) as response:
        config = json.load(response)
    base, output = page_demo["base"], page_demo["output"]
    paths = demo_paths(page_demo)

    def item(case: str) -> str:
        return paths[f"item:{case}"]

    cases = [
        {"name": "authentic", "path": item("authentic")},
        {"name": "merkle", "path": item("merkle")},
        {"name": "sold", "path": item("claimed")},
        {"name": "recalled", "path": item("recalled")},
        {"name": "jam", "path": item("jam")},
        {"name": "merchant", "path": paths["merchant"]},
        {"name": "coupon", "path": paths["voucher"]},
        {"name": "account", "path": "/?account", "connect": True},
        {"name": "product-connected", "path": item("merkle"), "connect": True},
    ]
    return {
        "base": base,
        "rpc": config["rpcUrl"],
        "chainId": int(config["deployment"]["chainId"]),
        "config": config,
        "cases": cases,
        "items": page_demo["items"],
        "output": output,
    }


#: For :func:`run`: the page's config.json as the demo serves it.
AS_SERVED = "as served"


def run(
    demo: dict[str, Any], tag: str, index: str | None, names: list[str] | None = None, limit: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Open the cases named (all by default) with `index` in the page's config (None: none; AS_SERVED:
    the demo's own); `limit`: the node refuses wider getLogs."""
    cases = [c for c in demo["cases"] if names is None or c["name"] in names]
    spec: dict[str, Any] = {"base": demo["base"], "rpc": demo["rpc"], "tag": tag, "cases": cases}
    if index != AS_SERVED:
        spec["index"] = index
    if limit is not None:
        spec["limit"] = limit
    shown = drive_script("index.mjs", spec)
    summary = {
        p["name"]: {k: p[k] if isinstance(p[k], int) else len(p[k]) for k in ("elapsedMs", "getLogs", "indexRequests", "refused")}
        for p in shown
    }
    (OUT / f"index-{tag}.json").write_text(json.dumps(summary, indent=1))
    return {page["name"]: page for page in shown}


def lists(page: dict[str, Any]) -> dict[str, Any]:
    return {key: page[key] for key in LISTS}


def assert_bounded(pages: dict[str, dict[str, Any]]) -> None:
    for name, page in pages.items():
        assert page["state"] == "ready", (name, page["error"])
        assert page["violations"] == [], (name, page["violations"][:3])


@pytest.fixture(scope="module")
def without_index(demo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return run(demo, "node", None)


@pytest.fixture(scope="module")
def with_index(demo: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], FakeIndex]:
    with FakeIndex(demo["rpc"], demo["chainId"]) as index:
        return run(demo, "fake", index.url), index


def test_page_without_an_index_asks_only_bounded_log_ranges(without_index: dict[str, dict[str, Any]]) -> None:
    assert_bounded(without_index)
    for name, page in without_index.items():
        assert page["consoleErrors"] == [], name
        assert page["indexRequests"] == []
        assert all(int(q["toBlock"], 16) - int(q["fromBlock"], 16) < 10_000 for q in page["getLogs"])
    # every kind of page read lists, and showed them
    assert all(without_index[name]["getLogs"] for name in ("jam", "merchant", "coupon", "account"))
    jam = without_index["jam"]
    assert jam["verdict"] == "authentic" and len(jam["events"]) == 9 and all(e["verified"] for e in jam["events"])
    assert without_index["merchant"]["reviews"] and without_index["merchant"]["channels"]
    assert without_index["account"]["purchases"] and without_index["account"]["consents"] and without_index["account"]["uses"]
    assert without_index["coupon"]["voucher"] and without_index["coupon"]["signed"] == "true"
    assert without_index["recalled"]["verdict"] == "recalled" and without_index["sold"]["verdict"] == "claimed"


def test_page_with_an_index_reads_it_and_shows_the_same_lists(
    with_index: tuple[dict[str, dict[str, Any]], FakeIndex], without_index: dict[str, dict[str, Any]]
) -> None:
    pages, index = with_index
    assert_bounded(pages)
    for name, page in pages.items():
        assert page["consoleErrors"] == [], name
        assert lists(page) == lists(without_index[name]), name
    for name in ("authentic", "jam", "merchant", "coupon", "account", "product-connected"):
        assert pages[name]["indexRequests"], name
    # answers came in pages of 25: the page followed `next`
    assert any(post.get("after") for post in index.posts)
    # the node was asked only for blocks after what the index had indexed, but for the logs the
    # index gave whose facts live only in logs (review texts, replies): each confirmed at its own
    # block, all of a list in one JSON-RPC batch
    lowest = min(index.heads)
    assert all(int(q["fromBlock"], 16) > lowest or q["fromBlock"] == q["toBlock"] for page in pages.values() for q in page["getLogs"])
    merchant = pages["merchant"]
    confirmations = [q for q in merchant["getLogs"] if q["fromBlock"] == q["toBlock"] and int(q["fromBlock"], 16) <= lowest]
    assert len(confirmations) >= len(merchant["reviews"]) > 0
    assert len({q["http"] for q in confirmations}) <= 2, confirmations  # one batch (two when a reply's list comes later)


def test_page_reads_the_blocks_a_lagging_index_has_not_indexed_from_the_node(
    demo: dict[str, Any], without_index: dict[str, dict[str, Any]]
) -> None:
    head = int(rpc(demo["rpc"], "eth_blockNumber", []), 16)
    start = min(c["block"] for c in demo["config"]["deployment"]["contracts"].values())
    with FakeIndex(demo["rpc"], demo["chainId"], lag=(head - start) // 2, page_size=10_000) as index:
        pages = run(demo, "lagging", index.url, ["jam", "merchant", "account"])
    assert_bounded(pages)
    for name, page in pages.items():
        assert page["consoleErrors"] == [], name
        assert page["indexRequests"] and page["getLogs"], name
        assert lists(page) == lists(without_index[name]), name


@pytest.mark.parametrize("style", ["alchemy", "plain"])
def test_page_follows_a_providers_range_limit(demo: dict[str, Any], without_index: dict[str, dict[str, Any]], style: str) -> None:
    """A node that refuses more than 40 blocks a request, saying so as Alchemy does (with the range to
    ask for) or as others do (with its limit): the page reads within it and shows the same lists."""
    pages = run(demo, f"limited-{style}", None, ["jam", "merchant", "account"], limit={"span": 40, "style": style})
    assert_bounded(pages)
    for name, page in pages.items():
        assert page["consoleErrors"] == [], name
        assert 0 < page["refused"] <= 8, (name, page["refused"])  # learnt once per page view (8 chunks are in flight at most)
        assert lists(page) == lists(without_index[name]), name
        spans = [int(q["toBlock"], 16) - int(q["fromBlock"], 16) + 1 for q in page["getLogs"]]
        assert len([s for s in spans if s > 40]) == page["refused"], name


def test_page_falls_back_to_the_node_quietly_when_the_index_is_down(demo: dict[str, Any], without_index: dict[str, dict[str, Any]]) -> None:
    with FakeIndex(demo["rpc"], demo["chainId"], down=True) as index:
        pages = run(demo, "down", index.url, ["jam", "merchant", "coupon", "account"])
    assert_bounded(pages)
    for name, page in pages.items():
        assert lists(page) == lists(without_index[name]), name
        assert any("did not answer" in w for w in page["warnings"]), name
        # the only errors on the console are the browser's own lines about the failed index requests
        assert len(page["consoleErrors"]) <= len([u for u in page["failedLoads"] if u.startswith(index.url)]), (name, page["consoleErrors"])
        assert all("Failed to load resource" in e for e in page["consoleErrors"]), name


def run_tampered(demo: dict[str, Any], tag: str, tamper: Callable[[list[Log]], list[Log]], names: list[str]) -> dict[str, dict[str, Any]]:
    """Open the cases ``names`` with an index that rewrites every answer with ``tamper``: each page
    read the index, asked the node only bounded ranges and logged no error."""
    with FakeIndex(demo["rpc"], demo["chainId"], tamper=tamper, page_size=10_000) as index:
        pages = run(demo, tag, index.url, names)
    assert_bounded(pages)
    for name, page in pages.items():
        assert page["indexRequests"] and page["consoleErrors"] == [], name
    return pages


def _jam_item(demo: dict[str, Any]) -> str:
    link = gs1.parse_digital_link(demo["items"]["jam"])
    assert link.serial is not None
    return "0x" + gs1.item_id(link.gtin, link.serial).hex()


def _drop_an_entry(logs: list[Log]) -> list[Log]:
    """Every answer loses the first entry of its longest trace chain (of two entries or more): the chain stays listed, shorter."""
    chains: dict[tuple[str, str], list[int]] = {}
    for i, log in enumerate(logs):
        if log["topics"][0] == RECORDED:
            chains.setdefault((log["topics"][1].lower(), log["topics"][2]), []).append(i)
    longest = max(chains.values(), key=len, default=[])
    return logs if len(longest) < 2 else logs[: longest[0]] + logs[longest[0] + 1 :]


def _forge_entry(subject: str) -> Callable[[list[Log]], list[Log]]:
    """A Recorded log on `subject` the ledger never saw, next to a real one (same block, a log index of its own)."""

    def tamper(logs: list[Log]) -> list[Log]:
        for i, log in enumerate(logs):
            if log["topics"][0] == RECORDED and log["topics"][1].lower() == subject.lower():
                forged = {
                    **log,
                    "data": "0x" + keccak(text="forged").hex() + log["data"][66:],
                    "logIndex": hex(int(log["logIndex"], 16) + 500),
                }
                return [*logs[: i + 1], forged, *logs[i + 1 :]]
        return logs

    return tamper


@pytest.mark.parametrize("lie", ["drop", "forge"])
def test_tampered_index_cannot_make_a_history_look_verified(
    demo: dict[str, Any], without_index: dict[str, dict[str, Any]], lie: str
) -> None:
    subject = _jam_item(demo)
    tamper = _drop_an_entry if lie == "drop" else _forge_entry(subject)
    page, honest = run_tampered(demo, f"tampered-{lie}", tamper, ["jam"])["jam"], without_index["jam"]
    # the verdict is the chain's answer, whatever the index says
    assert (page["verdict"], page["facts"]) == (honest["verdict"], honest["facts"])
    # the item's chain no longer ends at its stored head: its events are shown unverified, and why
    unverified = [e for e in page["events"] if not e["verified"]]
    assert unverified and all(CHAIN_BROKEN in (e["problem"] or "") for e in unverified)
    assert len([e for e in page["events"] if e["verified"]]) < len(honest["events"])
    if lie == "forge":
        assert len(page["events"]) == len(honest["events"]) + 1  # the forged one is shown, unverified
    assert Path(page["screenshot"]).is_file()


def _rpc_logs(demo: dict[str, Any], topic: str) -> list[Log]:
    """Every log of ``topic`` on the demo's chain, from the node."""
    return list(rpc(demo["rpc"], "eth_getLogs", [{"topics": [topic], "fromBlock": "0x0", "toBlock": "latest"}]))


def _with_word(data: str, n: int, value: str) -> str:
    """Hex ``data`` with its ``n``-th 32-byte word replaced by ``value`` (0x and 64 hex digits)."""
    return data[: 2 + 64 * n] + value[2:] + data[2 + 64 * (n + 1) :]


def _word(data: str, n: int) -> str:
    return "0x" + data[2 + 64 * n : 2 + 64 * (n + 1)]


def _swap_texts(demo: dict[str, Any]) -> Callable[[list[Log]], list[Log]]:
    """Every review's text hash replaced with another review's (a text the store holds, written by
    someone else), every reply's with a review's: content-addressed texts, in the wrong mouths."""
    hashes = sorted({_word(log["data"], 3) for log in _rpc_logs(demo, REVIEW_POSTED)})
    assert len(hashes) >= 2, "the demo's reviews have fewer than two different texts"
    other = {h: hashes[(i + 1) % len(hashes)] for i, h in enumerate(hashes)}

    def tamper(logs: list[Log]) -> list[Log]:
        def swapped(log: Log) -> Log:
            if log["topics"][0] == REVIEW_POSTED:
                return {**log, "data": _with_word(log["data"], 3, other[_word(log["data"], 3)])}
            if log["topics"][0] == REVIEW_REPLIED:
                return {**log, "data": _with_word(log["data"], 1, hashes[0])}
            return log

        return [swapped(log) for log in logs]

    return tamper


def test_tampered_index_cannot_put_a_text_in_a_buyers_or_a_merchants_mouth(
    demo: dict[str, Any], without_index: dict[str, dict[str, Any]]
) -> None:
    names = [name for name, page in without_index.items() if page["reviews"] and not name.startswith("product-connected")]
    assert any(without_index[name]["replies"] for name in names), "no page of the demo shows a reply"
    pages = run_tampered(demo, "tampered-texts", _swap_texts(demo), names)
    for name, page in pages.items():
        honest = without_index[name]
        # every review and reply is still listed, with the chain's facts; none with a text as its author's
        assert sorted(page["reviews"]) == sorted(honest["reviews"]), name
        assert page["reviewTexts"] and all(
            t == f"{rid}:unconfirmed:" for rid, t in zip(page["reviews"], page["reviewTexts"], strict=True)
        ), name
        assert page["replyTexts"] == ["unconfirmed:"] * len(honest["replies"]), name
        assert all(text.split(":", 2)[2] for text in honest["reviewTexts"]), name  # the honest page shows every text
        assert Path(page["screenshot"]).is_file()


def _forge_prices(demo: dict[str, Any]) -> Callable[[list[Log]], list[Log]]:
    """Every published price shifted to a tenth, and one more price (a twentieth) at the block the
    guarantee was deployed in, where no channel published anything."""
    deployed = demo["config"]["deployment"]["contracts"]["PriceGuarantee"]["block"]

    def tamper(logs: list[Log]) -> list[Log]:
        prices = [log for log in logs if log["topics"][0] == PRICE_PUBLISHED]
        out = [log for log in logs if log["topics"][0] != PRICE_PUBLISHED]
        for log in prices:
            out.append({**log, "data": _with_word(log["data"], 0, f"0x{int(_word(log['data'], 0), 16) // 10:064x}")})
        if prices:
            first = prices[0]
            forged = {
                **first,
                "blockNumber": hex(deployed),
                "logIndex": hex(900),
                "data": _with_word(first["data"], 0, f"0x{int(_word(first['data'], 0), 16) // 20:064x}"),
            }
            out.insert(0, forged)
        return out

    return tamper


def test_tampered_index_cannot_show_a_price_the_chain_does_not_hold_or_get_it_offered(
    demo: dict[str, Any], without_index: dict[str, dict[str, Any]]
) -> None:
    names = [name for name, page in without_index.items() if page["priceHistory"]]
    assert names, "no page of the demo shows prices"
    names.append("account")
    assert without_index["account"]["purchases"]
    pages = run_tampered(demo, "tampered-prices", _forge_prices(demo), names)
    for name, page in pages.items():
        honest = without_index[name]
        # shifted prices are shown as the chain holds them; the forged one is not shown, but counted
        assert (page["livePrices"], page["priceHistory"]) == (honest["livePrices"], honest["priceHistory"]), name
        assert page["unconfirmedPrices"] == (1 if honest["priceHistory"] else 0), name
        # what is offered as owed is what simulating the claim on chain pays
        assert (page["purchases"], page["owed"]) == (honest["purchases"], honest["owed"]), name


def test_tampered_index_hiding_an_items_whole_chain_is_noticed(demo: dict[str, Any], without_index: dict[str, dict[str, Any]]) -> None:
    subject = _jam_item(demo)

    def hide(logs: list[Log]) -> list[Log]:
        return [log for log in logs if not (len(log["topics"]) > 1 and subject.lower() in (t.lower() for t in log["topics"][1:]))]

    with FakeIndex(demo["rpc"], demo["chainId"], tamper=hide, page_size=10_000) as index:
        pages = run(demo, "tampered-hide", index.url, ["jam"])
    page = pages["jam"]
    assert page["verdict"] == without_index["jam"]["verdict"]
    assert page["missing"] > 0


def test_page_reads_the_real_index(demo: dict[str, Any], without_index: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    indexer = pytest.importorskip("o2ochain.demo._indexer", reason="the index runner (o2ochain.demo._indexer) is not there yet")
    deployments = tmp_path / "deployments"
    deployments.mkdir()
    (deployments / f"{demo['chainId']}.json").write_text(json.dumps(demo["config"]["deployment"]))
    head = int(rpc(demo["rpc"], "eth_blockNumber", []), 16)
    index = indexer.Indexer(deployments=deployments, rpc=demo["rpc"], state_dir=tmp_path / "index", log_path=tmp_path / "index.log")
    index.start(timeout=240)
    try:
        index.wait_for_block(demo["chainId"], head, timeout=240)
        pages = run(demo, "ponder", index.url, ["jam", "merchant", "coupon", "account"])
    finally:
        index.stop()
    assert_bounded(pages)
    for name, page in pages.items():
        assert page["indexRequests"], name
        assert page["consoleErrors"] == [], name
        assert lists(page) == lists(without_index[name]), name


def test_demo_page_reads_the_demos_own_index(demo: dict[str, Any], without_index: dict[str, dict[str, Any]]) -> None:
    """`o2ochain demo` starts the index (Ponder) beside the chain; its page server offers it in
    config.json once it answers, and the page then reads its lists from it."""
    assert "Index:" in demo["output"], "the demo printed no index URL: it did not start its index"
    deadline = time.monotonic() + 240
    while True:
        with urllib.request.urlopen(demo["base"] + "/config.json", timeout=10) as response:
            offered = json.load(response).get("index")
        if offered or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert offered, "the demo's index never answered"
    head = int(rpc(demo["rpc"], "eth_blockNumber", []), 16)
    while time.monotonic() < deadline:  # caught up: the page would read the rest from the node anyway
        with urllib.request.urlopen(offered + "/o2o/head", timeout=10) as response:
            if json.load(response)["chains"][str(demo["chainId"])]["block"] >= head:
                break
        time.sleep(1)
    pages = run(demo, "demo", AS_SERVED, ["jam", "merchant", "coupon", "account"])
    assert_bounded(pages)
    for name, page in pages.items():
        assert page["indexRequests"] and page["consoleErrors"] == [], name
        assert lists(page) == lists(without_index[name]), name
