"""The index on a real PostgreSQL server (issue 16, point 6) answers like the index on PGlite.

The demo's sample world (small) on an Anvil, indexed twice: on PGlite (the default) and on a
PostgreSQL 15 server from Debian's package, started as its own user (``tests/postgres.py``); the
chain and both indexes are shared with the other modules that only read them (tests/e2e/conftest.py). Both must serve the same logs of every contract (and the node's own),
the same rows of every typed table over GraphQL, and the library must read the same answers through
either.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import Any

import pytest
import requests

import o2ochain
from o2ochain._chain.connection import http_web3
from o2ochain.demo._indexer import Indexer
from tests.e2e.indexed_demo import DemoChain, DemoIndexes
from tests.postgres import PostgresServer

pytestmark = pytest.mark.e2e

#: The contracts the index follows (the Forwarder emits nothing of ours).
INDEXED = ("ProductRegistry", "TraceLedger", "ConsentRegistry", "PriceGuarantee", "ReviewBoard", "CouponBook")
CHAIN_ID = 31337


@pytest.fixture(scope="module")
def demo(shared_indexes: DemoIndexes) -> DemoChain:
    return shared_indexes.demo


@pytest.fixture(scope="module")
def indexes(shared_indexes: DemoIndexes) -> dict[str, Indexer]:
    """The demo indexed on PGlite and on PostgreSQL, both caught up with the chain's head."""
    shared_indexes.caught_up()
    return {"pglite": shared_indexes.pglite, "postgres": shared_indexes.postgres}


def all_logs(index: str, **query: Any) -> list[dict[str, Any]]:
    """Every log ``/o2o/logs`` answers for ``query``, following ``next``."""
    body: dict[str, Any] = {"chainId": CHAIN_ID, "fromBlock": 0, "toBlock": None, "after": None, **query}
    out: list[dict[str, Any]] = []
    while True:
        response = requests.post(f"{index}/o2o/logs", json=body, timeout=30)
        assert response.status_code == 200, response.text
        answer = response.json()
        out.extend(answer["logs"])
        if not answer["next"]:
            return out
        body["after"] = answer["next"]


def node_logs(demo: DemoChain, address: str) -> list[dict[str, Any]]:
    """The node's own answer, shaped like the index's (hex quantities, lower-case hex)."""
    w3 = http_web3(demo.url)
    raw = w3.provider.make_request("eth_getLogs", [{"address": address, "fromBlock": "0x0", "toBlock": "latest"}])  # type: ignore[arg-type]
    return [canonical(log) for log in raw["result"]]


def canonical(log: dict[str, Any]) -> dict[str, Any]:
    keys = ("address", "topics", "data", "blockNumber", "blockHash", "transactionHash", "transactionIndex", "logIndex", "removed")
    out = {k: log.get(k, False if k == "removed" else None) for k in keys}
    out["address"] = str(out["address"]).lower()
    for k in ("blockNumber", "transactionIndex", "logIndex"):
        out[k] = hex(int(str(out[k]), 16))
    return out


def graphql(index: str, query: str) -> dict[str, Any]:
    response = requests.post(f"{index}/graphql", json={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert not answer.get("errors"), answer["errors"]
    data: dict[str, Any] = answer["data"]
    return data


def typed_tables(index: str) -> dict[str, list[str]]:
    """Ponder's GraphQL list fields (``<table>s`` returning a page of ``items``) with their scalar columns."""
    schema = graphql(
        index,
        "{ __schema { queryType { fields { name type { name kind ofType { name } } } } "
        "types { name fields { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }",
    )["__schema"]
    types = {t["name"]: t for t in schema["types"]}
    out: dict[str, list[str]] = {}
    for field in schema["queryType"]["fields"]:
        page = field["type"]["name"] or (field["type"]["ofType"] or {}).get("name")
        page_type = types.get(page or "")
        if not page or not page.endswith("Page") or not page_type or not page_type["fields"]:
            continue
        items = next((f for f in page_type["fields"] if f["name"] == "items"), None)
        if items is None:
            continue
        row_name = _innermost(items["type"])
        columns = []
        for column in types[row_name]["fields"] or []:
            kind = column["type"]["kind"] if column["type"]["kind"] != "NON_NULL" else column["type"]["ofType"]["kind"]
            if kind in ("SCALAR", "ENUM"):
                columns.append(column["name"])
        out[field["name"]] = columns
    return out


def _innermost(t: dict[str, Any]) -> str:
    while t.get("ofType"):
        t = t["ofType"]
    return str(t["name"])


def table_rows(index: str, field: str, columns: list[str]) -> list[dict[str, Any]]:
    """Every row of one typed table (Ponder pages 1,000 at most), sorted by id."""
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        cursor = f', after: "{after}"' if after else ""
        page = graphql(
            index,
            f'{{ {field}(limit: 1000, orderBy: "id"{cursor}) {{ items {{ {" ".join(columns)} }} pageInfo {{ hasNextPage endCursor }} }} }}',
        )[field]
        rows.extend(page["items"])
        if not page["pageInfo"]["hasNextPage"]:
            return rows
        after = page["pageInfo"]["endCursor"]


def test_postgres_server_runs_as_its_own_user_on_its_own_port(postgres_server: PostgresServer) -> None:
    pid = int((postgres_server.data_dir / "postmaster.pid").read_text().split()[0])
    owner = Path(f"/proc/{pid}").stat().st_uid
    assert owner == (pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid())
    assert owner != 0
    (row,) = postgres_server.query("SELECT current_setting('port') AS port, current_setting('listen_addresses') AS listen")
    assert (int(row["port"]), row["listen"]) == (postgres_server.port, "127.0.0.1")
    assert postgres_server.started_in is not None and postgres_server.started_in < 15


def test_index_on_postgres_serves_the_same_logs_as_on_pglite_for_every_contract(demo: DemoChain, indexes: dict[str, Indexer]) -> None:
    contracts = demo.manifest["contracts"]
    for name in INDEXED:
        address = contracts[name]["address"]
        on_pglite = [canonical(x) for x in all_logs(indexes["pglite"].url, address=address)]
        on_postgres = [canonical(x) for x in all_logs(indexes["postgres"].url, address=address)]
        assert on_pglite, f"the demo left no {name} events"
        assert on_postgres == on_pglite, name
        assert on_postgres == node_logs(demo, address), name
    # Pages: a small limit walks the same logs through `next` on both.
    ledger = contracts["TraceLedger"]["address"]
    paged = {k: [canonical(x) for x in all_logs(i.url, address=ledger, limit=7)] for k, i in indexes.items()}
    assert paged["postgres"] == paged["pglite"] == node_logs(demo, ledger)
    # A topic filter (one event, an OR of two subjects) gets the same answer from both.
    recorded = node_logs(demo, ledger)[0]["topics"][0]
    subjects = sorted({x["topics"][1] for x in node_logs(demo, ledger) if x["topics"][0] == recorded})[:2]
    filtered = {k: all_logs(i.url, address=ledger, topics=[recorded, subjects]) for k, i in indexes.items()}
    assert filtered["postgres"] == filtered["pglite"] and filtered["postgres"]


def test_index_on_postgres_serves_the_same_typed_rows_as_on_pglite(indexes: dict[str, Indexer]) -> None:
    tables = typed_tables(indexes["postgres"].url)
    assert tables == typed_tables(indexes["pglite"].url)
    wanted = [f for f in tables if "recorded" in f.lower() or "purchase" in f.lower() or "reviewposted" in f.lower()]
    assert len(wanted) >= 2, sorted(tables)
    for field in tables:
        on_postgres = table_rows(indexes["postgres"].url, field, tables[field])
        assert on_postgres == table_rows(indexes["pglite"].url, field, tables[field]), field
        if field in wanted:
            assert on_postgres, f"{field} is empty"


def test_library_reads_the_same_answers_through_either_index(demo: DemoChain, indexes: dict[str, Indexer]) -> None:
    jam, gift_bag = demo.jam, demo.gift_bag

    def answers(index: str | None) -> dict[str, Any]:
        chain = o2ochain.connect(demo.url, deployment=demo.deployments, index=index)
        try:
            chain.use_store(demo.out / "events")
            chain.use_content(demo.out / "content")
            return {
                "history": [h.to_json() for h in chain.trace.history(jam)],
                "prices": [repr(o) for o in chain.guarantee.published_prices(gtin=gift_bag)],
                "purchases": [repr(p) for p in chain.guarantee.purchases()],
                "reviews": chain.reviews.reviews(gtin=gift_bag).to_json(),
            }
        finally:
            chain.close()

    on_postgres = answers(indexes["postgres"].url)
    assert on_postgres["history"] and all(h["verified"] for h in on_postgres["history"])
    assert on_postgres["purchases"] and on_postgres["prices"]
    assert on_postgres == answers(indexes["pglite"].url)
    assert on_postgres == answers(None)
