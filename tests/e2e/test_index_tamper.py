"""A tampered index can hide freshness, never forge a verified fact (issue 16).

The demo's sample world (small) indexed on PostgreSQL (the index the modules that only read it
share: tests/e2e/conftest.py); each test edits rows of the RUNNING index's raw ``log`` table with
SQL (what ``/o2o/logs`` serves, what the library reads) the way whoever runs the index could, then
reads through the index with the library and compares with what the chain says (the same library
without an index). The rows are put back after each test, the backup dropped after the module.

The party that would break the promise is the index's operator (or whoever got into its
database): they can edit a trace entry, delete one, insert forged purchases, reviews and prices,
shift a price; and the index's server can answer logs that were never asked for.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.exceptions import ContractLogicError
from web3.types import LogReceipt

import o2ochain
from o2ochain import epcis
from o2ochain._chain.connection import dev_accounts
from o2ochain._chain.index import IndexClient, LogSource, attach_index
from o2ochain._chain.logs import get_logs
from o2ochain._chain.tx import decode_web3_error
from o2ochain.demo._indexer import Indexer
from o2ochain.demo._run import ACCOUNTS, SHOPPER
from o2ochain.errors import O2OError
from o2ochain.guarantee import Entitlement
from o2ochain.shopper import Shopper
from o2ochain.trace import HistoryEvent
from tests.e2e.indexed_demo import DemoChain, DemoIndexes
from tests.postgres import PostgresServer

pytestmark = pytest.mark.e2e

CHAIN_ID = 31337
BACKUP = "o2o_tamper.log_backup"


class IndexRows:
    """The running index's raw ``log`` table, edited with SQL as its operator could."""

    def __init__(self, pg: PostgresServer) -> None:
        self.pg = pg
        found = pg.query(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'log' AND table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema', 'o2o_tamper')"
        )
        assert len(found) == 1, f"expected one `log` table in the index's database, found {found}"
        self.table = f'"{found[0]["table_schema"]}"."log"'
        columns = pg.query(
            f"SELECT column_name FROM information_schema.columns WHERE table_schema = '{found[0]['table_schema']}' AND table_name = 'log'"
        )
        # Ponder names columns in snake_case (chain_id); the contract's names are camelCase.
        self.column = {c["column_name"].replace("_", "").lower(): c["column_name"] for c in columns}

    def edit(self, sql: str) -> None:
        """Run ``sql`` with the table's triggers off (Ponder's fire into tables of its own
        connections only: live queries, reorg bookkeeping): the rows change, nothing else."""
        self.pg.execute(f"SET session_replication_role = replica; {sql}")

    def col(self, name: str) -> str:
        return f'"{self.column[name.lower()]}"'

    def backup(self) -> None:
        self.edit(f"CREATE SCHEMA IF NOT EXISTS o2o_tamper; DROP TABLE IF EXISTS {BACKUP}; CREATE TABLE {BACKUP} AS TABLE {self.table};")

    def restore(self) -> None:
        self.edit(f"BEGIN; DELETE FROM {self.table}; INSERT INTO {self.table} SELECT * FROM {BACKUP}; COMMIT;")

    def rows(self, *, address: str, topics: Sequence[str | None] = ()) -> list[dict[str, Any]]:
        """The rows of ``address`` whose topics are ``topics`` (None: any), in chain order; block
        numbers as text (numeric columns)."""
        where = [f"lower({self.col('address')}) = '{address.lower()}'"]
        where += [f"lower({self.col(f'topic{i}')}) = '{t.lower()}'" for i, t in enumerate(topics) if t is not None]
        names = ", ".join(f"{self.col(c)}::text AS {c}" for c in ("id", "blockNumber", "logIndex"))
        rest = ", ".join(f"{self.col(c)} AS {c}" for c in ("address", "topic0", "topic1", "topic2", "topic3", "data"))
        return self.pg.query(
            f"SELECT {names}, {rest} FROM {self.table} WHERE {' AND '.join(where)} "
            f"ORDER BY {self.col('blockNumber')}, {self.col('logIndex')}"
        )

    def set_data(self, row_id: str, data: str) -> None:
        self.edit(f"UPDATE {self.table} SET {self.col('data')} = '{data}' WHERE {self.col('id')} = '{row_id}';")

    def delete(self, row_id: str) -> None:
        self.edit(f"DELETE FROM {self.table} WHERE {self.col('id')} = '{row_id}';")

    def forge(self, row_id: str, *, log_index: int, **changes: str) -> str:
        """A copy of row ``row_id`` in the same block at ``log_index`` with ``changes`` (topic1=…,
        data=…): a log the chain never emitted. Returns its id."""
        new_id = row_id.rsplit(":", 1)[0] + f":{log_index}"
        names = [c for c in self.column.values()]
        values = []
        for name in names:
            key = name.replace("_", "").lower()
            if key == "id":
                values.append(f"'{new_id}'")
            elif key == "logindex":
                values.append(str(log_index))
            elif key in {k.lower() for k in changes}:
                value = next(v for k, v in changes.items() if k.lower() == key)
                values.append(f"'{value}'")
            else:
                values.append(f'"{name}"')
        quoted = ", ".join(f'"{n}"' for n in names)
        self.edit(f"INSERT INTO {self.table} ({quoted}) SELECT {', '.join(values)} FROM {self.table} WHERE {self.col('id')} = '{row_id}';")
        return new_id


def word(data: str, n: int) -> str:
    """The ``n``-th 32-byte word of hex ``data`` (no 0x)."""
    return data[2 + 64 * n : 2 + 64 * (n + 1)]


def with_word(data: str, n: int, value: str) -> str:
    assert len(value) == 64
    return data[: 2 + 64 * n] + value + data[2 + 64 * (n + 1) :]


def uint_word(value: int) -> str:
    return f"{value:064x}"


@dataclass
class Tamper:
    demo: DemoChain
    rows: IndexRows
    indexer: Indexer

    def chain(self, index: str | LogSource | None) -> o2ochain.O2OChain:
        chain = o2ochain.connect(self.demo.url, deployment=self.demo.deployments, index=index)
        chain.use_store(self.demo.out / "events")
        chain.use_content(self.demo.out / "content")
        return chain

    def address(self, contract: str) -> str:
        return str(self.demo.manifest["contracts"][contract]["address"])


@pytest.fixture(scope="module")
def tamper(shared_indexes: DemoIndexes, postgres_server: PostgresServer) -> Iterator[Tamper]:
    """The shared index on PostgreSQL, caught up with the chain, its ``log`` rows backed up."""
    shared_indexes.caught_up()
    rows = IndexRows(postgres_server)
    rows.backup()
    try:
        yield Tamper(shared_indexes.demo, rows, shared_indexes.postgres)
    finally:
        rows.restore()
        rows.edit(f"DROP TABLE {BACKUP}; DROP SCHEMA o2o_tamper;")


@pytest.fixture
def index(tamper: Tamper) -> Iterator[Tamper]:
    """The running index, its rows put back as they were after the test."""
    try:
        yield tamper
    finally:
        tamper.rows.restore()


@pytest.fixture
def truth(tamper: Tamper) -> Iterator[o2ochain.O2OChain]:
    """The library on the node alone: what the chain says."""
    chain = tamper.chain(None)
    yield chain
    chain.close()


@pytest.fixture
def through_index(tamper: Tamper) -> Iterator[o2ochain.O2OChain]:
    chain = tamper.chain(tamper.indexer.url)
    yield chain
    chain.close()


@dataclass(frozen=True)
class TraceChain:
    """One trace chain (brand, subject) in the jar of jam's history, with its ``Recorded`` rows in the index."""

    brand: int
    subject: bytes
    rows: list[dict[str, Any]]

    @property
    def contents(self) -> set[str]:
        """The content hashes of its entries (0x hex), as the history reports them."""
        return {"0x" + word(row["data"], 0) for row in self.rows}


def recorded_rows(index: Tamper, truth: o2ochain.O2OChain, subject: str) -> dict[int, list[dict[str, Any]]]:
    """The index's ``Recorded`` rows of ``subject`` (0x hex), by brand."""
    recorded = truth.trace.contract.events.Recorded().topic
    by_brand: dict[int, list[dict[str, Any]]] = {}
    for row in index.rows.rows(address=index.address("TraceLedger"), topics=[recorded, subject]):
        by_brand.setdefault(int(row["topic2"], 16), []).append(row)
    return by_brand


def jam_chain(index: Tamper, truth: o2ochain.O2OChain) -> TraceChain:
    """The longest chain in the jar of jam's history (its lot's, its pallet's...)."""
    found: list[TraceChain] = []
    for subject in {h.subject for h in truth.trace.history(index.demo.jam)}:
        for brand, rows in recorded_rows(index, truth, subject).items():
            found.append(TraceChain(brand, bytes.fromhex(subject[2:]), rows))
    longest = max(found, key=lambda c: len(c.rows))
    assert len(longest.rows) >= 2, "no chain of the jar's history has two entries"
    return longest


def jam_item_chain(index: Tamper, truth: o2ochain.O2OChain) -> TraceChain:
    """The jar's own chain (an item's: what the verdict's recall check reads first)."""
    v = truth.identity.verify(index.demo.jam)
    rows = recorded_rows(index, truth, v.item_id)[v.brand]
    return TraceChain(v.brand, bytes.fromhex(v.item_id[2:]), rows)


def verified_events(history: Sequence[Any]) -> list[dict[str, Any]]:
    return [h.to_json() for h in history if h.verified]


def assert_no_forged_fact(tampered: Sequence[Any], truth: Sequence[Any]) -> None:
    """Every event the tampered index lets the library report as verified is one the chain verifies."""
    genuine = verified_events(truth)
    for event in verified_events(tampered):
        assert event in genuine, f"a tampered index got this event reported verified: {event}"


def assert_history_unverified(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain, contents: set[str]
) -> list[HistoryEvent]:
    """The jar's history read through the tampered index: nothing verified that the chain does not
    verify, and none of the events with ``contents`` (the tampered chain's) verified. Returns it."""
    history = through_index.trace.history(index.demo.jam)
    assert_no_forged_fact(history, truth.trace.history(index.demo.jam))
    on_chain = [h for h in history if h.content_hash in contents]
    assert on_chain and not any(h.verified for h in on_chain), "events of the tampered chain are still reported verified"
    return history


# -- the baseline ---------------------------------------------------------------------------------


def test_untampered_index_gives_the_chains_answers(index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain) -> None:
    history = through_index.trace.history(index.demo.jam)
    assert history and all(h.verified for h in history)
    assert [h.to_json() for h in history] == [h.to_json() for h in truth.trace.history(index.demo.jam)]


# -- trace: a history recomputed from tampered entries is reported unverified ---------------------


def test_index_operator_editing_a_trace_entry_gets_it_reported_unverified(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    chain = jam_chain(index, truth)
    edited = chain.rows[-1]
    content = word(edited["data"], 0)
    changed = content[:-2] + f"{int(content[-2:], 16) ^ 1:02x}"
    index.rows.set_data(edited["id"], with_word(edited["data"], 0, changed))
    entries = through_index.trace.chain(chain.brand, chain.subject)[chain.brand]
    assert not through_index.trace.check_chain(chain.brand, chain.subject, entries).intact
    assert_history_unverified(index, truth, through_index, chain.contents | {"0x" + changed})


def test_index_operator_deleting_a_trace_entry_leaves_the_chain_short_of_the_ledgers_head(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    chain = jam_chain(index, truth)
    index.rows.delete(chain.rows[-1]["id"])
    entries = through_index.trace.chain(chain.brand, chain.subject)[chain.brand]
    check = through_index.trace.check_chain(chain.brand, chain.subject, entries)
    assert (check.entries, check.on_chain_count, check.intact) == (len(chain.rows) - 1, len(chain.rows), False)
    assert_history_unverified(index, truth, through_index, chain.contents)


def test_index_operator_inserting_a_forged_trace_entry_gets_it_reported_unverified(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    chain = jam_chain(index, truth)
    last = chain.rows[-1]
    forged_content = secrets.token_hex(32)
    index.rows.forge(last["id"], log_index=int(last["logindex"]) + 500, data=with_word(last["data"], 0, forged_content))
    history = assert_history_unverified(index, truth, through_index, chain.contents | {"0x" + forged_content})
    assert any(h.content_hash == "0x" + forged_content for h in history), "the forged entry was not read at all"


# -- verdicts: by eth_call, whatever the index says ---------------------------------------------------


def test_index_operator_cannot_change_a_verdict_by_deleting_registry_logs(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    registry = index.address("ProductRegistry")
    index.rows.edit(f"DELETE FROM {index.rows.table} WHERE lower({index.rows.col('address')}) = '{registry.lower()}';")
    for uri, words in index.demo.summary["pages"]:
        if "Merkle" in words:
            continue  # verified with its proof file; the index is not asked either way
        assert through_index.identity.verify(uri).verdict == truth.identity.verify(uri).verdict, words


def test_index_operator_cannot_make_an_item_recalled_by_editing_its_trace(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    """A recall in the trace counts only from a chain that ends at the ledger's stored head: an
    entry's disposition edited to "recalled" in the index must not turn the verdict."""
    last = jam_item_chain(index, truth).rows[-1]
    meta = bytes.fromhex(word(last["data"], 1))
    recalled = epcis.code_of_disposition("recalled").to_bytes(2, "big")
    index.rows.set_data(last["id"], with_word(last["data"], 1, (meta[:4] + recalled + meta[6:]).hex()))
    expected = truth.identity.verify(index.demo.jam)
    assert expected.verdict != "recalled" and not expected.recalled_in_trace
    got = through_index.identity.verify(index.demo.jam)
    assert (got.verdict, got.recalled_in_trace) == (expected.verdict, expected.recalled_in_trace)


# -- logs that do not match the query are dropped -------------------------------------------------


class ForgingServer:
    """An index server that adds logs nobody asked for to every answer: another contract's, another
    event's, another subject's (a copy of real logs with one field changed)."""

    def __init__(self, inner: IndexClient, foreign: list[LogReceipt]) -> None:
        self.inner, self.foreign, self.added = inner, foreign, 0

    def get_logs(
        self, *, chain_id: int, address: str | Sequence[str], topics: Sequence[Any], from_block: int, to_block: int | None
    ) -> tuple[list[LogReceipt], int]:
        logs, covered = self.inner.get_logs(chain_id=chain_id, address=address, topics=topics, from_block=from_block, to_block=to_block)
        self.added += len(self.foreign)
        merged = sorted([*logs, *self.foreign], key=lambda x: (x["blockNumber"], x["logIndex"]))
        return merged, covered


def essence(log: LogReceipt) -> tuple[Any, ...]:
    """What a log says, whichever way it was read (node or index)."""
    return (
        str(log["address"]).lower(),
        [bytes(t).hex() for t in log["topics"]],
        bytes(log["data"]).hex(),
        int(log["blockNumber"]),
        int(log["logIndex"]),
        bytes(log["transactionHash"]).hex(),
    )


def test_index_server_answering_logs_that_do_not_match_the_query_gets_them_dropped(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    from web3.datastructures import AttributeDict

    ledger = index.address("TraceLedger")
    subject = jam_chain(index, truth).subject
    genuine = get_logs(truth.w3, address=ledger, topics=[truth.trace.contract.events.Recorded().topic], from_block=0)
    sample = genuine[-1]
    asked = {bytes.fromhex(h.subject[2:]) for h in truth.trace.history(index.demo.jam)}
    other = next(log for log in genuine if bytes(log["topics"][1]) not in asked)  # an item nobody asks about here

    def changed(log: LogReceipt, **fields: Any) -> LogReceipt:
        return AttributeDict({**dict(log), "logIndex": int(log["logIndex"]) + 700, **fields})  # type: ignore[return-value]

    foreign = [
        changed(sample, address=index.address("ReviewBoard")),  # another contract's
        changed(sample, topics=[bytes(32), *sample["topics"][1:]]),  # another event's
        changed(sample, topics=[sample["topics"][0], secrets.token_bytes(32), *sample["topics"][2:]]),  # a subject nobody asked for
        changed(other, blockNumber=int(other["blockNumber"])),  # another chain's entry, re-numbered
    ]
    server = ForgingServer(IndexClient(index.indexer.url), foreign)
    attach_index(through_index.w3, server)
    through_index.index = server
    recorded = truth.trace.contract.events.Recorded().topic
    subject_topic = "0x" + subject.hex()
    logs = get_logs(through_index.w3, address=ledger, topics=[recorded, subject_topic], from_block=0)
    assert server.added
    assert [essence(x) for x in logs] == [
        essence(x) for x in get_logs(truth.w3, address=ledger, topics=[recorded, subject_topic], from_block=0)
    ]
    assert [h.to_json() for h in through_index.trace.history(index.demo.jam)] == [h.to_json() for h in truth.trace.history(index.demo.jam)]


# -- reviews: what the chain holds of a review wins -----------------------------------------------


def gift_bag_reviews(index: Tamper, truth: o2ochain.O2OChain) -> list[dict[str, Any]]:
    """The index's ``ReviewPosted`` rows of the gift bag."""
    posted = truth.reviews.contract.events.ReviewPosted().topic
    rows = index.rows.rows(address=index.address("ReviewBoard"), topics=[posted, None, "0x" + uint_word(int(index.demo.gift_bag))])
    assert rows, "the demo left no reviews of the gift bag"
    return rows


def test_index_operator_shifting_a_reviews_rating_does_not_change_the_listed_rating(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    row = gift_bag_reviews(index, truth)[0]
    rating = int(word(row["data"], 2), 16)
    index.rows.set_data(row["id"], with_word(row["data"], 2, uint_word(1 if rating != 1 else 5)))
    listed = {r.id: r for r in through_index.reviews.reviews(gtin=index.demo.gift_bag)}
    review_id = bytes.fromhex(row["topic1"][2:])
    assert review_id in listed
    on_chain = truth.reviews.review_view(review_id)
    assert listed[review_id].rating == int(on_chain.rating), "the index's rating was shown, not the chain's"
    assert through_index.reviews.reviews(gtin=index.demo.gift_bag).to_json() == truth.reviews.reviews(gtin=index.demo.gift_bag).to_json()


def test_index_operator_inserting_a_forged_review_gets_it_left_out(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    row = gift_bag_reviews(index, truth)[-1]
    forged = "0x" + secrets.token_hex(32)
    index.rows.forge(row["id"], log_index=int(row["logindex"]) + 500, topic1=forged, data=with_word(row["data"], 2, uint_word(5)))
    listed = through_index.reviews.reviews(gtin=index.demo.gift_bag)
    assert bytes.fromhex(forged[2:]) not in {r.id for r in listed}
    reference = truth.reviews.reviews(gtin=index.demo.gift_bag)
    assert [r.to_json() for r in listed] == [r.to_json() for r in reference]


# -- review texts, replies and profile URIs: hashes only logged are confirmed at their block ---------


def other_text_hash(rows: Sequence[dict[str, Any]], target: dict[str, Any]) -> str:
    """The content hash (hex word, no 0x) of a review among ``rows`` whose text differs from
    ``target``'s: content-addressed, so the store holds its document."""
    return next(word(r["data"], 3) for r in rows if word(r["data"], 3) != word(target["data"], 3))


def test_index_operator_swapping_a_reviews_text_hash_gets_it_shown_unconfirmed(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    reference = truth.reviews.reviews(gtin=index.demo.gift_bag)
    texts = {r.id: r.text for r in reference}
    rows = [r for r in gift_bag_reviews(index, truth) if texts.get(bytes.fromhex(r["topic1"][2:]))]  # its product reviews, with texts
    target = rows[0]
    target_id = bytes.fromhex(target["topic1"][2:])
    swapped_in = other_text_hash(rows, target)
    stolen = next(r.text for r in reference if r.content_hash.hex() == swapped_in)
    index.rows.set_data(target["id"], with_word(target["data"], 3, swapped_in))  # another buyer's text, as this one's
    listed = through_index.reviews.reviews(gtin=index.demo.gift_bag)
    (shown,) = [r for r in listed if r.id == target_id]
    assert shown.text is None and not shown.content_confirmed, f"a swapped text hash was shown as the author's: {shown.text!r}"
    assert (shown.to_json()["contentHash"], shown.to_json()["contentConfirmed"]) == (None, False)
    assert shown.rating == int(truth.reviews.review_view(target_id).rating)  # still listed, with the chain's facts
    assert stolen not in [r.text for r in listed if r.content_hash.hex() != swapped_in]
    assert [r.to_json() for r in listed if r.id != target_id] == [r.to_json() for r in reference if r.id != target_id]


def reply_row(index: Tamper, truth: o2ochain.O2OChain) -> dict[str, Any]:
    replied = truth.reviews.contract.events.ReviewReplied().topic
    rows = index.rows.rows(address=index.address("ReviewBoard"), topics=[replied])
    assert rows, "the demo left no merchant reply"
    return rows[0]


@pytest.mark.parametrize("lie", ["swap", "forge"])
def test_index_operator_swapping_or_forging_a_merchant_reply_gets_it_shown_unconfirmed(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain, lie: str
) -> None:
    row = reply_row(index, truth)
    review_id = bytes.fromhex(row["topic1"][2:])
    (genuine,) = [r for r in truth.reviews.reviews(gtin=index.demo.gift_bag) if r.id == review_id]
    assert [(reply["text"], reply["confirmed"]) for reply in genuine.replies] == [
        ("Thank you: the low-salt version arrives in January.", True)
    ]
    # a buyer's review text (in the store, content-addressed) put in the merchant's mouth
    review_text = word(gift_bag_reviews(index, truth)[0]["data"], 3)
    if lie == "swap":
        index.rows.set_data(row["id"], with_word(row["data"], 1, review_text))
    else:
        index.rows.forge(row["id"], log_index=int(row["logindex"]) + 500, data=with_word(row["data"], 1, review_text))
    (shown,) = [r for r in through_index.reviews.reviews(gtin=index.demo.gift_bag) if r.id == review_id]
    kept = [] if lie == "swap" else genuine.replies
    assert [reply for reply in shown.replies if reply["confirmed"]] == kept
    unconfirmed = [reply for reply in shown.replies if not reply["confirmed"]]
    assert len(unconfirmed) == 1, shown.replies  # listed, not dropped silently
    assert (unconfirmed[0]["text"], unconfirmed[0]["uri"]) == (None, None), "an unconfirmed reply was shown as the merchant's"


def test_index_operator_altering_a_profiles_uri_gets_it_left_unconfirmed(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    from eth_abi import decode, encode

    profile_set = truth.reviews.contract.events.MerchantProfileSet().topic
    (row,) = index.rows.rows(address=index.address("ReviewBoard"), topics=[profile_set, "0x" + uint_word(1)])
    expected = truth.reviews.merchant_profile(1)
    assert expected["uri"] and expected["uriConfirmed"]
    kinds = ["bytes32", "string", "uint64", "int32", "int32"]
    fields = list(decode(kinds, bytes.fromhex(row["data"][2:])))
    fields[1] = "https://forged.example/" + fields[1].rsplit("/", 1)[-1]
    forged = "0x" + encode(kinds, fields).hex()
    copy = index.rows.forge(row["id"], log_index=int(row["logindex"]) + 500, data=forged)  # a later log, of the same hash
    assert through_index.reviews.merchant_profile(1) == expected  # the uri the chain confirms stands
    index.rows.delete(copy)
    index.rows.set_data(row["id"], forged)
    assert through_index.reviews.merchant_profile(1) == {**expected, "uri": "", "uriConfirmed": False}


# -- the price guarantee: what is offered as claimable is simulated on chain first -------------------


def page_shopper_purchase(index: Tamper, truth: o2ochain.O2OChain) -> tuple[LocalAccount, dict[str, Any]]:
    """The page's test shopper's first purchase address at the retailer that owes it (its signer)
    and that purchase's row in the index."""
    shopper = Shopper.from_account(dev_accounts(ACCOUNTS)[SHOPPER])
    recorded = truth.guarantee.contract.events.PurchaseRecorded().topic
    for retailer in range(1, truth.guarantee.retailer_count() + 1):
        account = shopper.purchase_account(retailer, 0)
        buyer_topic = "0x" + "00" * 12 + account.address[2:].lower()
        rows = index.rows.rows(address=index.address("PriceGuarantee"), topics=[recorded, None, buyer_topic])
        if rows:
            return account, rows[0]
    raise AssertionError("the page's shopper has no purchase")


def claims_as_offered(chain: o2ochain.O2OChain, account: LocalAccount, offered: list[Entitlement]) -> list[tuple[str, int, int | str]]:
    """Each entitlement offered as claimable now: (purchase, due, what simulating its claim pays or why it reverts)."""
    out: list[tuple[str, int, int | str]] = []
    for e in offered:
        if e.due == 0:
            continue
        try:
            paid: int | str = int(chain.guarantee.claim_call(e).call({"from": account.address}))
        except (ContractLogicError, O2OError) as exc:
            paid = f"reverts: {decode_web3_error(exc) or exc}"
        out.append(("0x" + e.purchase.id.hex(), e.due, paid))
    return out


def test_page_shopper_is_offered_what_the_chain_pays(index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain) -> None:
    account, _row = page_shopper_purchase(index, truth)
    offered = claims_as_offered(through_index, account, through_index.buyer(account).owed())
    assert offered and all(due == paid for _, due, paid in offered), offered


def test_index_operator_inserting_a_forged_purchase_gets_nothing_offered_for_it(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    account, row = page_shopper_purchase(index, truth)
    forged = "0x" + secrets.token_hex(32)
    unit_price = int(word(row["data"], 3), 16)
    index.rows.forge(
        row["id"], log_index=int(row["logindex"]) + 500, topic1=forged, data=with_word(row["data"], 3, uint_word(unit_price * 3))
    )
    assert truth.guarantee.purchase_state(bytes.fromhex(forged[2:])) == (False, 0)
    owed = through_index.buyer(account).owed()
    offered = claims_as_offered(through_index, account, owed)
    assert forged not in [p for p, _, _ in offered], f"a forged purchase is offered as claimable: {offered}"
    assert all(due == paid for _, due, paid in offered), offered


def test_index_operator_shifting_a_price_does_not_change_what_is_offered(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    account, _row = page_shopper_purchase(index, truth)
    published = truth.guarantee.contract.events.PricePublished().topic
    gtin_topic = "0x" + uint_word(int(index.demo.gift_bag))
    prices = index.rows.rows(address=index.address("PriceGuarantee"), topics=[published, gtin_topic])
    assert prices, "the demo published no price of the gift bag"
    lowest = min(prices, key=lambda r: int(word(r["data"], 0), 16))
    index.rows.set_data(lowest["id"], with_word(lowest["data"], 0, uint_word(int(word(lowest["data"], 0), 16) // 10)))
    expected = claims_as_offered(truth, account, truth.buyer(account).owed())
    offered = claims_as_offered(through_index, account, through_index.buyer(account).owed())
    assert all(due == paid for _, due, paid in offered), f"offered more (or less) than the chain pays: {offered}"
    assert offered == expected


def test_index_operator_shifting_or_forging_a_price_is_not_listed_as_offered(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    """``price list`` (and a channel's live price) read back through the contract's price view:
    a shifted price shows the chain's amount, an invented offer is not listed at all."""
    published = truth.guarantee.contract.events.PricePublished().topic
    gtin_topic = "0x" + uint_word(int(index.demo.gift_bag))
    prices = index.rows.rows(address=index.address("PriceGuarantee"), topics=[published, gtin_topic])
    expected = truth.guarantee.published_prices(gtin=index.demo.gift_bag)
    assert expected and through_index.guarantee.published_prices(gtin=index.demo.gift_bag, checked=True) == expected
    lowest = min(prices, key=lambda r: int(word(r["data"], 0), 16))
    index.rows.set_data(lowest["id"], with_word(lowest["data"], 0, uint_word(int(word(lowest["data"], 0), 16) // 10)))
    index.rows.forge(
        prices[0]["id"], log_index=int(prices[0]["logindex"]) + 500, topic2="0x" + uint_word(77)
    )  # a channel that does not exist
    unchecked = through_index.guarantee.published_prices(gtin=index.demo.gift_bag)
    assert unchecked != expected, "the tampering did not reach the library: the test proves nothing"
    assert through_index.guarantee.published_prices(gtin=index.demo.gift_bag, checked=True) == expected


def test_index_operator_renaming_a_channel_gets_its_name_left_unconfirmed(
    index: Tamper, truth: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    """A channel's name is only logged: an index that renames a shop (or invents one) does not
    get its name shown, in the retailer's channel list or on its merchant page."""
    added = truth.guarantee.contract.events.ChannelAdded().topic
    rows = index.rows.rows(address=index.address("PriceGuarantee"), topics=[added])
    row = rows[0]
    retailer, channel = int(row["topic1"], 16), int(row["topic2"], 16)
    (genuine,) = [c for c in truth.guarantee.channels(retailer) if c.id == channel]
    from eth_abi import decode, encode

    kind, key, name = decode(["uint8", "address", "string"], bytes.fromhex(row["data"][2:]))
    index.rows.set_data(row["id"], "0x" + encode(["uint8", "address", "string"], [kind, key, "Official flagship store"]).hex())
    (shown,) = [c for c in through_index.guarantee.channels(retailer) if c.id == channel]
    assert shown.name != "Official flagship store" and "unconfirmed" in shown.name and shown.key == genuine.key
    assert through_index.reviews.merchant(channel) == (retailer, f"channel {channel}")
    assert truth.reviews.merchant(channel) == (retailer, name)
