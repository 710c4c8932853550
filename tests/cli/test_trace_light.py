"""``o2ochain trace show --index`` reads the history without web3 (issue 16): a new process on a
till must not spend most of its second importing web3, eth-abi, eth-account and aiohttp.

The history read through the index by :class:`o2ochain.trace._light.LightTrace` (JSON-RPC on the
standard library, the ABI by hand) is compared with the web3 reader's through the same command,
same chain, same index: the demo's supply chain (a jar with its lot, pallet and the strawberries
it was made from; a jar of the recalled lot), text and ``--json``, custody (``--responsibility``),
an index that lies (a dropped entry, an edited disposition: the history is shown unverified, the
same way), and the errors of an index that does not index this chain or does not answer.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import o2ochain
from o2ochain import epcis, gs1
from o2ochain._chain.connection import Anvil, dev_accounts
from o2ochain.cli import main
from o2ochain.demo._trace import run_supply_chain
from o2ochain.trace import default_store
from tests.e2e.test_frontend_index import RECORDED, FakeIndex

pytestmark = pytest.mark.e2e

PREFIX = "6921234"
#: What the indexed path must not import (the point of it).
WEB3_SIDE = ("web3", "eth_abi", "eth_account", "aiohttp", "requests", "eth_utils", "pydantic", "o2ochain.client")


@dataclass
class Supply:
    rpc: str
    chain_id: int
    deployments: Path
    store: Path
    good: str
    recalled: str
    pallet_child: str


@pytest.fixture(scope="module")
def supply(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supply]:
    folder = tmp_path_factory.mktemp("light")
    accounts = dev_accounts(6)
    with Anvil() as node:
        chain = o2ochain.connect(node.url)
        chain.use_store(folder / "events")
        chain.use_content(folder / "content")
        chain.deploy(accounts[0], save_to=folder / "deployments")
        brand = chain.admin(accounts[0]).register_brand(accounts[1].address, "Jinzhou Orchard Co-op", [PREFIX])
        admin = chain.brand(accounts[1], brand)
        admin.grant_registrant(accounts[2].address)
        jam, strawberries = gs1.make_gtin(PREFIX, 10), gs1.make_gtin(PREFIX, 11)
        admin.add_product(jam)
        admin.add_product(strawberries)
        made = run_supply_chain(
            chain,
            brand=brand,
            prefix=PREFIX,
            brand_admin=accounts[1],
            registrant=accounts[2],
            farm=accounts[3],
            plant=accounts[2],
            carrier=accounts[4],
            store=accounts[5],
            jam_gtin=jam,
            strawberry_gtin=strawberries,
            sugar_gtin=gs1.make_gtin("6901234", 1),
        )
        bad = made.recalled_items[0]
        chain.registrant(accounts[2]).recall_lot(bad.gtin, bad.lot, reason=2, document=made.recall_notice)
        good = made.good_items[0]
        yield Supply(
            node.url,
            chain.chain_id,
            folder / "deployments",
            folder / "events",
            good.digital_link(gs1.DEFAULT_RESOLVER).uri(),
            bad.digital_link(gs1.DEFAULT_RESOLVER).uri(),
            "0x" + gs1.item_id(made.good_items[1].gtin, made.good_items[1].serial).hex(),
        )
        chain.close()


def _web3_trace(rpc: str, deployment: Any, index: str, store: Path | None, **_: Any) -> Any:
    """What ``trace show --index`` read before: the web3 reader through o2ochain.connect."""
    chain = o2ochain.connect(rpc, deployment=deployment, index=index)
    if store is not None:
        chain.use_store(default_store(store))
    return chain.trace


def show(supply: Supply, index: str, *args: str, web3: bool, monkeypatch: pytest.MonkeyPatch, expect: int = 0) -> tuple[str, str]:
    """``o2ochain trace show ARGS --index INDEX`` (through the web3 reader when ``web3``): stdout, stderr."""
    with monkeypatch.context() as patched:
        if web3:
            patched.setattr("o2ochain.trace._light.open_trace", _web3_trace)
        argv = ["trace", "show", *args, "--rpc", supply.rpc, "--deployment", str(supply.deployments), "--store", str(supply.store)]
        result = CliRunner(mix_stderr=False).invoke(main, [*argv, "--index", index], catch_exceptions=False)
    assert result.exit_code == expect, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result.stdout, result.stderr


def both(supply: Supply, index: str, *args: str, monkeypatch: pytest.MonkeyPatch, expect: int = 0) -> tuple[str, str]:
    """The command's output through the light reader, checked equal to the web3 reader's."""
    light = show(supply, index, *args, web3=False, monkeypatch=monkeypatch, expect=expect)
    old = show(supply, index, *args, web3=True, monkeypatch=monkeypatch, expect=expect)
    assert light == old
    return light


def test_the_history_through_the_index_is_the_web3_readers_text_json_and_custody(supply: Supply, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeIndex(supply.rpc, supply.chain_id, page_size=7) as index:
        for item in (supply.good, supply.recalled, supply.pallet_child):
            text, _ = both(supply, index.url, item, monkeypatch=monkeypatch)
            assert "history of" in text and "verified against the chain" in text
            history = json.loads(both(supply, index.url, item, "--json", monkeypatch=monkeypatch)[0])
            assert history and all(h["verified"] for h in history)
            assert history[0]["event"] is not None  # --json carries the stored EPCIS events
            custody = json.loads(both(supply, index.url, item, "--responsibility", "--json", monkeypatch=monkeypatch)[0])
            assert [row["step"] for row in custody] == [h["bizStep"] for h in history]
            both(supply, index.url, item, "--responsibility", monkeypatch=monkeypatch)
        good = json.loads(show(supply, index.url, supply.good, "--json", web3=False, monkeypatch=monkeypatch)[0])
        assert {"item", "lot", "container", "input"} <= {r for h in good for r in h["relations"]}
        assert good[0]["actorKind"] == "farm" and good[-1]["bizStep"] == "stocking"
        recalled = json.loads(show(supply, index.url, supply.recalled, "--json", web3=False, monkeypatch=monkeypatch)[0])
        assert recalled[-1]["disposition"] == "recalled"
        unknown = "https://id.gs1.org/01/" + gs1.make_gtin(PREFIX, 10) + "/21/NOPE"
        assert "no events recorded for" in both(supply, index.url, unknown, monkeypatch=monkeypatch)[0]


def _drop_first_recorded(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    first = next((n for n, log in enumerate(logs) if log["topics"][0] == RECORDED), None)
    return [log for n, log in enumerate(logs) if n != first]


def _recalled_everywhere(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every Recorded entry's disposition edited to "recalled" (its meta word, bytes 4-5)."""
    code = epcis.code_of_disposition("recalled").to_bytes(2, "big").hex()
    out = []
    for log in logs:
        data = log["data"][2:]
        meta = data[64:128]
        edited = {**log, "data": "0x" + data[:64] + meta[:8] + code + meta[12:] + data[128:]}
        out.append(edited if log["topics"][0] == RECORDED else log)
    return out


@pytest.mark.parametrize("tamper", [_drop_first_recorded, _recalled_everywhere], ids=["dropped", "edited"])
def test_an_index_that_lies_gets_the_same_unverified_history_both_ways(
    supply: Supply, monkeypatch: pytest.MonkeyPatch, tamper: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
) -> None:
    with FakeIndex(supply.rpc, supply.chain_id, tamper=tamper) as index:
        text, _ = both(supply, index.url, supply.good, monkeypatch=monkeypatch)
        assert "NO" in text
        history = json.loads(both(supply, index.url, supply.good, "--json", monkeypatch=monkeypatch)[0])
        assert not all(h["verified"] for h in history) and any(not h["chainIntact"] for h in history)


def test_an_index_of_another_chain_or_down_is_the_same_error_in_words(supply: Supply, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2O_RPC_ATTEMPTS", "2")
    with FakeIndex(supply.rpc, 5) as other:
        _, said = both(supply, other.url, supply.good, monkeypatch=monkeypatch, expect=1)
        assert f"does not index chain {supply.chain_id} (it indexes: 5)" in said
    with FakeIndex(supply.rpc, supply.chain_id, down=True) as down:
        light = show(supply, down.url, supply.good, "--json", web3=False, monkeypatch=monkeypatch, expect=1)[0]
        old = show(supply, down.url, supply.good, "--json", web3=True, monkeypatch=monkeypatch, expect=1)[0]

        def steady(text: str) -> str:
            return re.sub(r"over \d+\.\d s", "over N s", text)

        assert steady(light) == steady(old)
        assert "failed GET /o2o/head 2 times" in json.loads(light)["message"] and "HTTP 500" in json.loads(light)["message"]


def test_trace_show_through_an_index_imports_no_web3(supply: Supply) -> None:
    """The point of the light path: a new process that shows a history through an index never
    imports web3, eth-abi, eth-account, aiohttp, requests or pydantic."""
    with FakeIndex(supply.rpc, supply.chain_id) as index:
        argv = ["trace", "show", supply.good, "--json", "--rpc", supply.rpc, "--deployment", str(supply.deployments)]
        argv += ["--store", str(supply.store), "--index", index.url]
        probe = (
            "import sys\nfrom o2ochain.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            f"print(sorted(name for name in {list(WEB3_SIDE)!r} if name in sys.modules))"
        )
        run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    *shown, imported = run.stdout.strip().splitlines()
    assert imported == "[]"
    assert all(h["verified"] for h in json.loads("\n".join(shown)))
