"""An item's history with its containers' in one answer of the index (``POST /o2o/trace``).

The page otherwise reads an item's containers one level after another (the item's links, then
the case's, then the pallet's), a round trip to the index each. An index that offers
``/o2o/trace`` (indexer/src/api/index.ts) answers the chains of the item and of every container
it was linked into under its brand, some levels out, at once; the page takes each of its lists
from that answer as it would take ``/o2o/logs``' answer to that list (frontend/src/chain/trace.ts,
logs.ts). These tests show that the answers are the same as the old path's and the node's, that
an index without the route is still read list by list, and that a lying answer is no more
believed than a lying ``/o2o/logs``: a chain it cut or padded is shown unverified.

The page runs against tests/e2e/test_frontend_index.py's ``FakeIndex`` (``/o2o/trace`` answered
from the node's own logs; that module's tampered-index tests go through it too); the real
index's route is compared with the lists ``/o2o/logs`` gives for the demo's jam (the PGlite index
the read-only modules share).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from o2ochain import gs1
from tests.e2e.indexed_demo import CHAIN_ID, DemoIndexes
from tests.e2e.test_frontend_index import (  # noqa: F401 - `demo` is that module's fixture, shared here
    CHAIN_BROKEN,
    LINKED,
    RECORDED,
    FakeIndex,
    Log,
    _drop_an_entry,
    _forge_entry,
    _jam_item,
    assert_bounded,
    containers_and_chains,
    demo,
    lists,
    rpc,
    run,
)

pytestmark = pytest.mark.e2e

#: How many levels of containers the page asks for (frontend/src/chain/trace.ts CONTAINER_DEPTH).
DEPTH = 3


def _container_posts(index: FakeIndex) -> list[dict[str, Any]]:
    """The ``/o2o/logs`` bodies that asked for the containers a subject was linked into (Linked by related id)."""
    return [p for p in index.posts if (p.get("topics") or [None])[0] == LINKED and len(p["topics"]) > 1 and p["topics"][1] is not None]


@pytest.fixture(scope="module")
def honest(demo: dict[str, Any]) -> dict[str, Any]:  # noqa: F811 - the shared fixture, by name
    """The jam's page read from the node alone: the answer every index must give."""
    page = run(demo, "containers-node", None, ["jam"])["jam"]
    assert page["state"] == "ready", page["error"]
    # the jam was packed (case, pallet): there are containers to follow
    assert _pallet_subjects(demo), "the jam has no container"
    return page


@pytest.mark.parametrize("lag", [0, 3])
def test_page_reads_an_items_containers_in_one_answer(demo: dict[str, Any], honest: dict[str, Any], lag: int) -> None:  # noqa: F811
    """One ``/o2o/trace`` per view of the jam, no container asked for level by level, the same
    lists as from the node (a lagging index too: the blocks it has not indexed come from the node)."""
    index = FakeIndex(demo["rpc"], demo["chainId"], lag=lag, page_size=7)
    with index:
        page = run(demo, f"containers-trace-{lag}", index.url, ["jam"])["jam"]
    assert_bounded({"jam": page})
    assert page["consoleErrors"] == []
    assert lists(page) == lists(honest)
    # one answer, in pages (of 7 logs): its first page, then each after the one before
    assert len(index.traced) > 1 and not index.traced[0].get("after") and all(b.get("after") for b in index.traced[1:])
    assert len([u for u in page["indexRequests"] if u.endswith("/o2o/trace")]) == len(index.traced)
    assert _container_posts(index) == []
    if lag:
        assert page["getLogs"], "the blocks the index lags behind were not read from the node"


def test_page_reads_containers_list_by_list_from_an_index_without_the_route(demo: dict[str, Any], honest: dict[str, Any]) -> None:  # noqa: F811
    """An index older than the page (``/o2o/trace`` answers 404): the lists are asked one by one, the
    same answers; the browser's line about the 404 is the only one on the console."""
    index = FakeIndex(demo["rpc"], demo["chainId"])
    del index.routes["/o2o/trace"]
    with index:
        page = run(demo, "containers-old-index", index.url, ["jam"])["jam"]
    assert_bounded({"jam": page})
    assert lists(page) == lists(honest)
    assert len(page["consoleErrors"]) <= 1 and all("404" in e for e in page["consoleErrors"]), page["consoleErrors"]
    assert index.traced == []
    assert _container_posts(index), "the containers were not asked for level by level"
    assert not any("did not answer" in w for w in page["warnings"])  # a missing route is not a failing index


def _pallet_subjects(demo: dict[str, Any]) -> list[str]:  # noqa: F811 - the shared fixture's value
    """The jam's containers (under its brand), from the node."""
    item = _jam_item(demo)
    node = demo["rpc"]
    recorded = rpc(node, "eth_getLogs", [{"topics": [RECORDED, item], "fromBlock": "0x0", "toBlock": "latest"}])
    brand = int(recorded[0]["topics"][2], 16)

    def get(topics: list[Any]) -> list[Log]:
        return list(rpc(node, "eth_getLogs", [{"topics": topics, "fromBlock": "0x0", "toBlock": "latest"}]))

    found = containers_and_chains(get, [item], [item], brand, DEPTH)
    return [s for s in found["listed"] if s != item.lower()]


@pytest.mark.parametrize("lie", ["drop", "forge"])
def test_a_lying_trace_answer_cannot_make_a_containers_events_look_verified(demo: dict[str, Any], honest: dict[str, Any], lie: str) -> None:  # noqa: F811
    """The answer loses an entry of its longest chain, or gains a forged one on a container's
    chain: that chain no longer ends at the head the ledger stores, and its events are shown
    unverified (saying why); the verdict is the chain's."""
    containers = _pallet_subjects(demo)
    assert containers
    forged = _forge_entry(containers[-1])

    def tamper(logs: list[Log]) -> list[Log]:
        return _drop_an_entry(logs) if lie == "drop" else forged(logs)

    index = FakeIndex(demo["rpc"], demo["chainId"], page_size=10_000)
    index.routes["/o2o/trace"] = _tampered(index, tamper)
    with index:
        page = run(demo, f"containers-lie-{lie}", index.url, ["jam"])["jam"]
    assert_bounded({"jam": page})
    assert (page["verdict"], page["facts"]) == (honest["verdict"], honest["facts"])
    unverified = [e for e in page["events"] if not e["verified"]]
    assert unverified and all(CHAIN_BROKEN in (e["problem"] or "") for e in unverified)
    assert len([e for e in page["events"] if e["verified"]]) < len(honest["events"])
    if lie == "forge":
        # the item's own chain is whole: what is unverified is the forged container's
        assert len(unverified) < len(page["events"])
        # the forged entry is shown (unverified) when it falls while the jam was packed
        assert len(page["events"]) in (len(honest["events"]), len(honest["events"]) + 1)
    assert Path(page["screenshot"]).is_file()


def _tampered(index: FakeIndex, tamper: Callable[[list[Log]], list[Log]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The index's ``/o2o/trace`` with every answer's logs rewritten by ``tamper`` (its ``/o2o/logs`` stays honest)."""
    honest_trace = index.trace

    def trace(body: dict[str, Any]) -> dict[str, Any]:
        answer = honest_trace(body)
        return answer | {"logs": tamper(answer["logs"])}

    return trace


# -- the real index's route ------------------------------------------------------------------------
def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def _all_pages(url: str, body: dict[str, Any]) -> tuple[list[Log], dict[str, Any]]:
    """Every page of an index answer (``next`` followed, read to the first page's head), and the first page."""
    status, first = _post(url, body)
    assert status == 200, first
    logs, answer = list(first["logs"]), first
    while answer["next"]:
        status, answer = _post(url, body | {"after": answer["next"], "toBlock": first["head"]})
        assert status == 200, answer
        logs += answer["logs"]
    return logs, first


def test_the_real_index_answers_the_lists_its_trace_stands_for(shared_indexes: DemoIndexes) -> None:
    """``/o2o/trace`` of the real index (PGlite) holds what ``/o2o/logs`` answers to each list the page
    would otherwise ask for (the containers level by level, then each chain), in pages too, and
    names what it covers; a body it cannot read is refused, naming the field."""
    indexes = shared_indexes.caught_up()
    url = indexes.pglite.url
    ledger = indexes.demo.manifest["contracts"]["TraceLedger"]
    link = gs1.parse_digital_link(indexes.demo.jam)
    assert link.serial is not None
    item = "0x" + gs1.item_id(link.gtin, link.serial).hex()
    base = {"chainId": CHAIN_ID, "address": ledger["address"], "fromBlock": ledger["block"]}
    head = _post(url + "/o2o/logs", base | {"topics": [RECORDED]})[1]["head"]

    def get(topics: list[Any]) -> list[Log]:
        return _all_pages(url + "/o2o/logs", base | {"topics": topics, "toBlock": head, "limit": 50})[0]

    brand = int(get([RECORDED, item])[0]["topics"][2], 16)
    expected = containers_and_chains(get, [item], [item], brand, DEPTH)
    assert len(expected["listed"]) >= 2, "the jam has no container to follow"
    body = base | {"brand": brand, "subjects": [item], "follow": [item], "depth": DEPTH, "toBlock": head}
    whole, first = _all_pages(url + "/o2o/trace", body)
    paged, _ = _all_pages(url + "/o2o/trace", body | {"limit": 4})
    assert whole == paged == expected["logs"]
    assert (sorted(first["listed"]), sorted(first["followed"])) == (expected["listed"], expected["followed"])
    # a depth of 0 lists the subjects asked for alone
    alone, first = _all_pages(url + "/o2o/trace", body | {"depth": 0})
    assert first["listed"] == [item] and first["followed"] == []
    own = [log for log in expected["logs"] if log["topics"][1 if log["topics"][0] == RECORDED else 2].lower() == item]
    assert alone == own and own
    for mistake, field in (
        ({"brand": 2**32}, "brand"),
        ({"depth": 9}, "depth"),
        ({"subjects": ["0x12"]}, "subjects"),
        ({"extra": 1}, "extra"),
    ):
        status, answer = _post(url + "/o2o/trace", body | mistake)
        assert status == 400 and field in answer["error"], (mistake, answer)
