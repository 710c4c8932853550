"""bench/network.py's pieces at a tiny size: the 100-event item (here 20), a year of sales (here a
few hundred), a keeper round over them, the lag sampler, and the report's targets."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from bench.network import (
    ALL_ACCOUNTS,
    JAR_ACCOUNTS,
    KEEPER,
    MARKET_KEY,
    RETAILER_ADMIN,
    STORE_KEY,
    TARGET_PRICES,
    TARGET_PURCHASES,
    WEB_KEY,
    _low_gtins,
    count_events,
    keeper_round,
    met,
    print_report,
    record_item,
    record_sales,
    rpc,
    sample_lag,
)
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain.client import O2OChain
from tools.long_chain import long_chain_anvil, long_chain_web3
from tools.public_rpc import PublicRPC

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with long_chain_anvil(accounts=ALL_ACCOUNTS) as anvil:
        yield anvil


def test_item_and_sales_are_recorded_and_the_keeper_finds_what_is_owed(node: Anvil, tmp_path: Any) -> None:
    accounts = dev_accounts(ALL_ACCOUNTS)
    chain = O2OChain(long_chain_web3(node.url, timeout=120), accounts=accounts)  # pipelined sends race the next block
    chain.use_store(tmp_path / "events")
    chain.deploy(accounts[0])
    item = record_item(chain, accounts[0], [accounts[n] for n in JAR_ACCOUNTS], 20)
    history = chain.trace.history(item["uri"], include_events=False)
    assert len(history) == 20 and all(h.verified for h in history)

    keys = [accounts[n] for n in (RETAILER_ADMIN, STORE_KEY, WEB_KEY, MARKET_KEY)]
    sales = record_sales(chain, keys, purchases=1_000, prices=1_002, gtins=20)
    # 400 sales a transaction, and a round of prices (a GTIN's price per channel) mined a second apart
    assert (sales.purchases, sales.prices, sales.low_prices) == (1_000, 1_002, 2)
    assert sales.transactions == 3 + 1_002 and sales.blocks < 60
    assert len(chain.guarantee.purchases()) >= 1_000
    assert len([o for o in chain.guarantee.published_prices(channel=2) + chain.guarantee.published_prices(channel=3)]) == 1_002
    assert sales.owed_purchases == 1_000 // 20 * len(_low_gtins(1_002, 20, 2))

    head = int(chain.w3.eth.block_number)
    addresses = [chain.deployment.address(name) for name in chain.deployment.contracts]
    assert count_events(node.url, addresses, 0, head) > 1_000 + 1_002

    class Counting:  # what keeper_round reads of an index client: its request count
        requests = 0

    with PublicRPC(node.url, rate=1_000, burst=2_000) as proxy:
        reader = O2OChain(http_web3(proxy.url, timeout=120), deployment=chain.deployment)
        found = keeper_round(reader, accounts[KEEPER], Counting(), proxy)
    # every owed purchase is within its payout delay: found, reported pending, nothing paid yet
    assert found["actions"] == {"pending": sales.owed_purchases}
    assert found["followed"] == 1_000 and found["proxy"]["calls"] > 0


def test_sample_lag_mines_a_block_a_second(node: Anvil) -> None:
    w3 = http_web3(node.url)
    start = int(w3.eth.block_number)
    lags = sample_lag(node.url, lambda: int(w3.eth.block_number), 2.6)
    assert lags and max(lags) <= 1
    assert 1 <= int(w3.eth.block_number) - start <= 4
    assert rpc(node.url, "anvil_getAutomine") is True  # left as it was found


def test_low_prices_fall_on_ten_gtins_at_the_issues_size() -> None:
    assert len(_low_gtins(TARGET_PRICES, 1_000, 2)) == 10


def test_report_shows_each_target_and_whether_it_was_met() -> None:
    result: dict[str, Any] = {
        "blocks": 1_000_000,
        "flavour": "alchemy",
        "setup": {"events": 110_500, "item": {"events": 100}},
        "page_verdict_p95_ms": 640.0,
        "page_full_p95_ms": 1_250.0,
        "page_failures": 0,
        "trace_show_p95_ms": 900.0,
        "trace_show_failures": [],
        "trace_show_no_index_s": 191.4,
        "trace_show_no_index": {"outcome": "ok"},
        "index_blocks_per_s": 6_959.0,
        "index_events_per_s": 800.0,
        "index_lag_blocks": 1,
        "keeper_round_s": 8.0,
        "keeper_round": {"purchases": TARGET_PURCHASES, "prices": TARGET_PRICES},
    }
    result["met"] = met(result)
    assert result["met"] == {
        "page_verdict_p95_ms": True,
        "page_full_p95_ms": False,
        "trace_show_p95_ms": True,
        "index_lag_blocks": True,
        "keeper_round_s": True,
    }
    # a fast round over fewer sales than the target's does not meet it; a part that did not run neither
    assert not met(result | {"keeper_round": {"purchases": 10_000, "prices": 1_000}})["keeper_round_s"]
    assert not met({k: v for k, v in result.items() if not k.startswith("page_")} | {"page_failures": 10})["page_verdict_p95_ms"]
    out = io.StringIO()
    print_report(Console(file=out, width=200), result)
    text = out.getvalue()
    assert "1,250.0 ms" in text and "≤ 1,000 ms" in text and "no" in text and "a 100-event item" in text
