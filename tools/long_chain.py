"""A long chain: Anvil with the demo's data spread over ``blocks`` blocks after the deployment.

A year of an L2 is some 15 million blocks; what a reader of logs meets there is not the data but
the empty blocks around it. :func:`long_chain` starts Anvil (history pruned, or a million blocks
take gigabytes), deploys and loads the demo (``o2ochain.demo._run``) and whatever ``extra`` loads
after it while mining empty blocks before each transaction (``anvil_mine``, no clock change, so
the demo's dates hold), then mines the rest up to ``deployment block + blocks``. One million
blocks with the demo's data took 150 s and 1.9 GB of Anvil's memory when measured.

Anvil recomputes its state root at every block, so an empty block costs time in proportion to
the chain's state: 0.07 ms with the contracts alone, about 1 ms with the demo, 12 ms with 10,000
purchases recorded (measured). Bulk data (a year of sales) is therefore loaded after the empty
blocks, not spread among them::

    with long_chain(tmp_path, blocks=100_000) as world:
        world.node.url, world.deployment_block, world.head, world.deployments  # deployments/<chainId>.json
        world.summary  # what the demo loaded (items to verify, traces, …)

``python -m tools.long_chain OUT_DIR --blocks 1000000`` builds one and keeps it running.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import requests
from rich.console import Console
from web3 import Web3
from web3.middleware import Web3Middleware
from web3.types import MakeRequestFn, RPCEndpoint, RPCResponse

from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain.client import O2OChain
from o2ochain.demo._run import ACCOUNTS, _load
from o2ochain.deployments import Deployment
from tools.public_rpc import wait_for_ctrl_c

__all__ = ["DEMO_TRANSACTIONS", "LongChain", "long_chain", "long_chain_anvil", "mine"]

#: About how many transactions the demo's loading sends with its default counts (measured), so
#: the gaps between them spread the data over the whole chain.
DEMO_TRANSACTIONS = 175
#: Blocks per ``anvil_mine`` call: each is one HTTP request that must answer within its timeout.
_MINE_STEP = 20_000
#: States a pruned Anvil keeps in memory (see :func:`long_chain_anvil`).
_STATES_KEPT = 16


@dataclass
class LongChain:
    """A running Anvil with the demo deployed and ``head - deployment_block`` blocks after it."""

    node: Anvil
    out_dir: Path
    deployment: Deployment
    summary: dict[str, Any]
    transactions: int
    seconds: float

    @property
    def deployments(self) -> Path:
        return self.out_dir / "deployments"

    @property
    def deployment_block(self) -> int:
        return min(contract.block for contract in self.deployment.contracts.values())

    @property
    def head(self) -> int:
        return int(http_web3(self.node.url).eth.block_number)


def long_chain_anvil(*, accounts: int = ACCOUNTS, **kwargs: Any) -> Anvil:
    """An Anvil that can hold a million blocks: Cancun rules, history pruned (state kept).

    The last few states stay in memory: with none, a gas estimate made as the next block is
    mined fails now and then ("BlockOutOfRangeError: block height is N but requested was N-1")."""
    extra = ("--hardfork", "cancun", "--prune-history", str(_STATES_KEPT), *kwargs.pop("extra_args", ()))
    return Anvil(accounts=accounts, extra_args=extra, **kwargs)


def mine(w3: Web3, count: int) -> None:
    """Mine ``count`` empty blocks without moving the chain's clock.

    Each block costs Anvil time in proportion to the chain's state (about 0.3 ms a block with
    only the contracts deployed, 1 ms with 400 items registered, more on a busy machine), so
    the blocks go in steps, each one HTTP request with a generous timeout of its own."""
    url = str(getattr(w3.provider, "endpoint_uri", ""))
    while count > 0:
        step = min(count, _MINE_STEP)
        answer = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": [hex(step), "0x0"]}, timeout=600)
        answer.raise_for_status()
        if "error" in answer.json():
            raise RuntimeError(f"anvil_mine failed: {answer.json()['error']}")
        count -= step


class _Spread(Web3Middleware):
    """Mines ``gap`` empty blocks before each transaction is sent (and counts the transactions)."""

    def __init__(self, w3: Web3, gap: Callable[[], int], sent: list[int]) -> None:
        super().__init__(w3)
        self.gap = gap
        self.sent = sent

    def wrap_make_request(self, make_request: MakeRequestFn) -> MakeRequestFn:
        def spread(method: RPCEndpoint, params: Any) -> RPCResponse:
            if method == "eth_sendRawTransaction":
                gap = self.gap()
                if gap > 0:
                    make_request(RPCEndpoint("anvil_mine"), [hex(gap), "0x0"])
                self.sent[0] += 1
            return make_request(method, params)

        return spread


@contextlib.contextmanager
def long_chain(
    out_dir: Path,
    *,
    blocks: int,
    merkle_items: int = 10_000,
    explicit_items: int = 500,
    transactions: int = DEMO_TRANSACTIONS,
    port: int | None = None,
    quiet: bool = True,
    accounts: int = ACCOUNTS,
    extra: Callable[[O2OChain], dict[str, Any]] | None = None,
    extra_transactions: int = 0,
) -> Iterator[LongChain]:
    """Anvil with the demo loaded and spread over ``blocks`` blocks after its deployment; the
    deployment manifest is written to ``out_dir/deployments``. Stops Anvil on exit.

    ``extra(chain)`` loads more after the demo (on the demo's deployment, its event store and
    content under ``out_dir``), its ``extra_transactions`` (about) spread with the demo's; what
    it returns is kept as ``summary["extra"]``. ``accounts`` funded accounts (the demo uses the
    first ``ACCOUNTS``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    transactions += extra_transactions
    node = long_chain_anvil(accounts=accounts, port=port, log_path=out_dir / "anvil.log")
    node.start()
    try:
        started = time.monotonic()
        w3 = http_web3(node.url, timeout=120)
        sent = [0]
        budget = max(0, blocks - 1)  # blocks spent on gaps, leaving room for the data's own blocks
        first = [0]

        def gap() -> int:
            if sent[0] == 0:
                first[0] = int(w3.eth.block_number)
            spent = int(w3.eth.block_number) - first[0]
            if sent[0] >= transactions or spent >= budget:
                return 0
            return max(0, min(budget - spent, budget // transactions))

        w3.middleware_onion.add(cast("type[Web3Middleware]", partial(_Spread, gap=gap, sent=sent)), name="spread")
        chain = O2OChain(w3, accounts=dev_accounts(accounts))
        console = Console(file=io.StringIO()) if quiet else Console()
        with contextlib.chdir(out_dir):
            summary = _load(chain, out_dir, merkle_items=merkle_items, explicit_items=explicit_items, console=console)
            if extra is not None:
                summary["extra"] = extra(chain)
        deployment = Deployment.from_json(summary["deployment"])
        start = min(contract.block for contract in deployment.contracts.values())
        head = int(w3.eth.block_number)
        mine(w3, start + blocks - head)
        (out_dir / "long-chain.json").write_text(json.dumps({"blocks": blocks, "transactions": sent[0], "summary": summary}, indent=1))
        yield LongChain(node, out_dir, deployment, summary, sent[0], time.monotonic() - started)
    finally:
        node.stop()


def _main() -> None:  # pragma: no cover - a manual tool
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--blocks", type=int, default=1_000_000)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--items", type=int, default=10_000, help="Merkle-committed sample items")
    parser.add_argument("--explicit", type=int, default=500, help="explicitly registered sample items")
    args = parser.parse_args()
    with long_chain(
        args.out_dir, blocks=args.blocks, port=args.port, merkle_items=args.items, explicit_items=args.explicit, quiet=False
    ) as world:
        print(
            f"{world.node.url}: deployed at block {world.deployment_block}, head {world.head}; {world.transactions} transactions "
            f"in {world.seconds:.0f} s; manifest in {world.deployments}. Ctrl-C stops it.",
            flush=True,
        )
        wait_for_ctrl_c()


if __name__ == "__main__":
    _main()
