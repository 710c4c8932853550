"""bench/compare.py: its arithmetic, its tables and JSON, and one alternative measured on Anvil."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bench.compare import (
    NODE_MODULES,
    SCENARIOS,
    Bench,
    Operation,
    brand_costs,
    chart,
    client_table,
    compile_wrappers,
    cost_table,
    fit_line,
    gas_table,
    item_id_int,
    markdown,
    max_per_tx,
    operation_rows,
    percentile,
    pinned_compiler,
    usd,
)
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain._chain.tx import TX_GAS_CAP
from o2ochain.client import O2OChain
from tools import build


def test_usd_is_gas_times_gas_price_times_eth_price() -> None:
    assert usd(1_000_000_000, 1.0, 3_000.0) == pytest.approx(3_000.0)  # 1e9 gas at 1 gwei is 1 ETH
    assert usd(21_000, 2.0, 2_500.0) == pytest.approx(0.105)
    assert usd(0, 50.0, 4_000.0) == 0


def test_fit_line_recovers_fixed_and_marginal_gas_and_the_batch_that_fits_under_the_cap() -> None:
    fixed, marginal = fit_line((500, 80_000 + 500 * 24_000), (100, 80_000 + 100 * 24_000))
    assert (fixed, marginal) == (80_000, 24_000)
    assert max_per_tx(fixed, marginal) == (16_777_216 - 80_000) // 24_000 == 695
    assert max_per_tx(20_000_000, 1_000) == 0
    with pytest.raises(ValueError, match="two different batch sizes"):
        fit_line((10, 1), (10, 2))
    with pytest.raises(ValueError, match="positive"):
        max_per_tx(0, 0)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile([7.0], 95) == 7
    with pytest.raises(ValueError):
        percentile([], 50)


def test_pinned_compiler_reads_an_exact_pragma_and_eas_has_its_compiler_installed() -> None:
    assert pinned_compiler("// x\npragma solidity 0.8.29;\ncontract A {}") == "0.8.29"
    assert pinned_compiler("pragma solidity ^0.8.4;") == build.SOLC_VERSION
    eas = NODE_MODULES / "@ethereum-attestation-service" / "eas-contracts" / "contracts" / "EAS.sol"
    version = pinned_compiler(eas.read_text())
    assert version == build.SOLC_VERSION or (NODE_MODULES / f"solc-{version}" / "package.json").is_file()


def _operations() -> dict[str, Operation]:
    """Every operation the scenarios name, with round figures."""
    ops = [
        Operation("ours.register_item_single", "o2ochain", "item", "one", 50_000, 1, max_per_tx=1),
        Operation("ours.register_items_batch_100", "o2ochain", "item", "batch", 2_500_000, 100, max_per_tx=697),
        Operation("ours.register_items_merkle_10000", "o2ochain", "item", "merkle", 50_000, 10_000),
        Operation("ours.trace_event_single", "o2ochain", "event", "one", 40_000, 1),
        Operation("ours.trace_events_batch_50", "o2ochain", "event", "batch", 700_000, 50),
        Operation("erc721.mint", "OZ", "item", "mint", 55_000, 1, "ours.register_item_single"),
        Operation("erc721.mint_batch_100", "OZ", "item", "batch", 2_600_000, 100, "ours.register_items_batch_100"),
        Operation("erc721a.mint_batch_100", "ERC721A", "item", "batch", 250_000, 100, "ours.register_items_batch_100"),
        Operation("eas.attest", "EAS", "event", "attest", 320_000, 1, "ours.trace_event_single"),
        Operation("eas.multi_attest_50", "EAS", "event", "multi", 14_000_000, 50, "ours.trace_events_batch_50"),
    ]
    return {op.key: op for op in ops}


def test_brand_costs_add_items_and_five_events_each_and_compare_with_the_same_shape() -> None:
    rows = {r["scenario"]: r for r in brand_costs(_operations(), gas_price_gwei=2.0, eth_usd=1_000.0, items=1_000, events_per_item=5)}
    assert len(rows) == len(SCENARIOS)
    merkle = rows["o2ochain: Merkle lots of 10,000 + events in batches of 50"]
    assert merkle["items_gas"] == 1_000 * 5  # 5 gas per item
    assert merkle["events_gas"] == 5_000 * 14_000
    assert merkle["gas"] == 5_000 + 70_000_000
    assert merkle["eth"] == pytest.approx(70_005_000 * 2e-9)
    assert merkle["usd"] == pytest.approx(70_005_000 * 2e-9 * 1_000)
    assert merkle["ratio_to_ours"] is None
    single = rows["OpenZeppelin ERC721 mint + EAS attest, one per transaction"]
    assert single["gas"] == 1_000 * 55_000 + 5_000 * 320_000
    assert single["ratio_to_ours"] == round(single["gas"] / (1_000 * 50_000 + 5_000 * 40_000), 2) == 6.62
    batch = rows["ERC721A batches of 100 + EAS multiAttest of 50"]
    assert batch["gas"] == 1_000 * 2_500 + 5_000 * 280_000
    assert batch["versus"] == "o2ochain: batches of 100 + events in batches of 50"


def _result() -> dict[str, Any]:
    ops = _operations()
    return {
        "assumptions": {"gas_price_gwei": 1.5, "eth_usd": 2_500.0, "items": 1_000_000, "events_per_item": 5, "tx_gas_cap": TX_GAS_CAP},
        "environment": {
            "anvil": "anvil/v1.7.1",
            "solc": {"o2ochain": "0.8.30", "EAS": "0.8.29"},
            "optimizer_runs": 10_000,
            "evm_version": "cancun",
        },
        "operations": operation_rows(ops),
        "brand_cost": brand_costs(ops, gas_price_gwei=1.5, eth_usd=2_500.0),
        "throughput": {
            key: {
                "count": 2_000,
                "library_seconds": 4.0,
                "library_per_second": 500.0,
                "library_transactions": 4,
                "naive_count": 500,
                "naive_seconds": 50.0,
                "naive_per_second": 10.0,
                "speedup": 50.0,
            }
            for key in ("registration", "trace")
        },
        "history": {
            "history_events": 100_000,
            "history_items": 20_000,
            "events_per_item": 5,
            "events_on_chain": 104_000,
            "setup_seconds": 200.0,
            "setup_per_second": 500.0,
            "reads": 200,
            "item_events": 5,
            "p50_ms": 40.0,
            "p95_ms": 80.0,
        },
    }


def test_operation_rows_carry_gas_per_op_and_the_ratio_to_ours() -> None:
    rows = {r["key"]: r for r in operation_rows(_operations())}
    assert rows["erc721a.mint_batch_100"]["gas_per_op"] == 2_500
    assert rows["erc721a.mint_batch_100"]["ratio_to_ours"] == 0.1
    assert rows["eas.multi_attest_50"]["ratio_to_ours"] == 20.0
    assert rows["ours.register_items_batch_100"]["ratio_to_ours"] is None
    assert rows["ours.register_items_batch_100"]["max_per_tx"] == 697
    assert set(rows["eas.attest"]) >= {"key", "system", "kind", "label", "gas", "ops", "gas_per_op", "ratio_to_ours", "max_per_tx"}


def test_tables_state_the_assumptions_and_every_row_and_the_result_is_json(tmp_path: Path) -> None:
    result = _result()
    console = Console(record=True, width=200)
    for table in (gas_table(result), cost_table(result), client_table(result)):
        console.print(table)
    text = console.export_text()
    assert "1.5 gwei" in text and "2,500 USD/ETH" in text and "1,000,000 items with 5 events each" in text
    assert "20.00x" in text  # EAS multiAttest against o2ochain's batch of 50
    assert "p50 40.0 ms, p95 80.0 ms" in text and "50.0x" in text
    for row in result["brand_cost"]:
        assert row["scenario"] in text
    assert json.loads(json.dumps(result)) == result
    md = markdown(result)
    assert "| EAS | multi | 50 | 280,000 | 20.00× |  |" in md
    assert "| OpenZeppelin ERC721 mint + EAS attest, one per transaction | 1,655,000,000,000 |" in md  # 1e6 x 55,000 + 5e6 x 320,000
    assert "p50 40 ms, p95 80 ms" in md and md.count("\n|---") == 3
    png = tmp_path / "chart.png"
    chart(result, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.e2e
def test_wrappers_compile_and_an_erc721_mint_and_an_erc721a_batch_are_measured_on_anvil() -> None:
    wrappers = compile_wrappers()
    assert {a.compiler for a in wrappers.values()} == {build.SOLC_VERSION}
    assert len(wrappers["ItemNFT"].bytecode) > 2_000 and len(wrappers["ItemBatchNFT"].bytecode) > 2_000
    with Anvil() as node:
        accounts = dev_accounts(2)
        b = Bench(node, O2OChain(http_web3(node.url), accounts=accounts), accounts)
        brand = accounts[1]
        s = b.sender(brand)
        nft = b.deploy(s, wrappers["ItemNFT"], brand.address)
        s.transact(nft.functions.mint(brand.address, item_id_int("FIRST")))
        token = item_id_int("SN0000000001")
        b.record("erc721.mint", "OZ", "item", "mint", s, nft.functions.mint(brand.address, token), 1)
        gas = b.operations["erc721.mint"].gas
        # 21,000 intrinsic + 22,100 for the owner's new slot + the balance update and the event.
        assert 21_000 + 22_100 + 2_900 < gas < 70_000
        assert nft.functions.ownerOf(token).call() == brand.address
        assert nft.functions.balanceOf(brand.address).call() == 2

        batch = b.deploy(s, wrappers["ItemBatchNFT"], brand.address)
        s.transact(batch.functions.mintBatch(brand.address, 1))
        for size in (100, 500):
            b.record(f"erc721a.mint_batch_{size}", "ERC721A", "item", "batch", s, batch.functions.mintBatch(brand.address, size), size)
        small, large = b.operations["erc721a.mint_batch_100"], b.operations["erc721a.mint_batch_500"]
        assert large.per_op < small.per_op < 5_000  # one ownership record per batch, one Transfer log per token
        fixed, marginal = fit_line((100, small.gas), (500, large.gas))
        n = b.check_capacity("erc721a.mint_batch_100", s, lambda k: batch.functions.mintBatch(brand.address, k), fixed, marginal)
        (check,) = b.checks
        assert check["ok"] and check["max"] == n > 5_000
        assert check["gas_used"] <= TX_GAS_CAP < check["one_more_needs"]
        assert batch.functions.balanceOf(brand.address).call() == 1 + 100 + 500 + n
