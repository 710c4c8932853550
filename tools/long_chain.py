"""A long chain: Anvil with the demo's data spread over ``blocks`` blocks after the deployment.

A year of an L2 is some 15 million blocks; what a reader of logs meets there is not the data but
the empty blocks around it. :func:`long_chain` starts Anvil (past states pruned, or a million blocks
take gigabytes), deploys and loads the demo (``o2ochain.demo._run``) and whatever ``extra`` loads
after it while mining empty blocks before each transaction (``anvil_mine``, no clock change, so
the demo's dates hold), then mines the rest up to ``deployment block + blocks``. One million
blocks with the demo's data (and bench/network.py's 100-event jar: 189 transactions) took 855 s
and 2.1 GB of Anvil's memory when measured on two cores shared with other work.

Anvil recomputes its state root at every block, so an empty block costs time in proportion to
the chain's state: 0.07 ms with the contracts alone, about 1.1 ms with the demo (900 blocks a
second), 12 ms with 10,000 purchases recorded (measured). Bulk data (a year of sales) is
therefore loaded after the empty blocks, not spread among them::

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
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final, cast

import requests
from rich.console import Console
from web3 import Web3
from web3.middleware import Web3Middleware
from web3.types import MakeBatchRequestFn, MakeRequestFn, RPCEndpoint, RPCResponse

from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain.client import O2OChain
from o2ochain.demo._run import ACCOUNTS, _load
from o2ochain.deployments import Deployment
from tools.public_rpc import wait_for_ctrl_c

__all__ = ["DEMO_TRANSACTIONS", "LongChain", "long_chain", "long_chain_anvil", "long_chain_web3", "mine"]

#: About how many transactions the demo's loading sends with its default counts (measured), so
#: the gaps between them spread the data over the whole chain.
DEMO_TRANSACTIONS = 175
#: Blocks per ``anvil_mine`` call: each is one HTTP request that must answer within its timeout.
_MINE_STEP = 20_000
#: What Anvil 1.7 answers a read of the head's state that lost a race with the next block: with
#: history pruned only the head's state is kept, and "latest" resolved to block N-1 just before
#: block N was mined finds no state (JSON-RPC error -32602).
_STATE_GONE = re.compile(r"BlockOutOfRangeError: block height is (\d+) but requested was (\d+)")
#: Attempts at a request that lost that race, and the first pause between them (doubling).
_STATE_ATTEMPTS = 9
_STATE_PAUSE = 0.02


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
    """An Anvil that can hold a million blocks: Cancun rules, history pruned to the head's state
    (blocks, receipts and logs all kept).

    No older state is kept: with ``--prune-history 16`` (or even 1) Anvil mines slower and slower
    as the chain grows (with the demo loaded: 740 empty blocks a second at block 20,000, 135 at
    100,000, 48 at 140,000), against a steady 350-900 a second with none kept (measured, on two
    shared cores), so a million blocks took hours instead of minutes. The price: a read of
    "latest" made while the next block is mined fails now and then, which :func:`long_chain_web3`
    asks again."""
    extra = ("--hardfork", "cancun", "--prune-history", *kwargs.pop("extra_args", ()))
    return Anvil(accounts=accounts, extra_args=extra, **kwargs)


def long_chain_web3(url: str, **kwargs: Any) -> Web3:
    """``http_web3(url, **kwargs)`` that retries a read whose state went with the next block (see
    :class:`_StateRace`): what sends transactions to :func:`long_chain_anvil` uses this."""
    w3 = http_web3(url, **kwargs)
    w3.middleware_onion.add(_StateRace, name="state race")
    return w3


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


class _StateRace(Web3Middleware):
    """Asks again (a few times, after a short pause) a request Anvil refused because the state it
    read went while it was answered (:data:`_STATE_GONE`).

    With history pruned Anvil keeps the head's state alone, and it mines an automined block after
    ``eth_sendRawTransaction`` has answered: the next estimate or call at "latest", made at once,
    may be resolved to the old head and find its state dropped (measured: 18 reads in 5,860 made
    right after a send failed, none when the send's receipt was awaited first; 1 in 35 with blocks
    mined back to back). A read of an older block than the one before the head is left
    to fail: that state is gone for good. In a batch, only the refused calls are asked again."""

    def wrap_make_request(self, make_request: MakeRequestFn) -> MakeRequestFn:
        def ask(method: RPCEndpoint, params: Any) -> RPCResponse:
            return _again([(method, params)], lambda requests: [make_request(*requests[0])])[0]

        return ask

    def wrap_make_batch_request(self, make_batch_request: MakeBatchRequestFn) -> MakeBatchRequestFn:
        def ask(requests_info: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
            answers = make_batch_request(requests_info)
            if not isinstance(answers, list):  # the batch refused whole
                return answers

            def batch(requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse]:
                again = make_batch_request(requests)
                return again if isinstance(again, list) else [again] * len(requests)

            return _again(requests_info, batch, answers)

        return ask


def _again(
    requests: list[tuple[RPCEndpoint, Any]],
    ask: Callable[[list[tuple[RPCEndpoint, Any]]], list[RPCResponse]],
    answers: list[RPCResponse] | None = None,
) -> list[RPCResponse]:
    """The answers to ``requests`` (``answers`` when already asked), those that lost the race
    (:func:`_lost_race`) asked again, up to :data:`_STATE_ATTEMPTS` times in all."""
    answers = list(ask(requests) if answers is None else answers)
    pause = _STATE_PAUSE
    for _ in range(_STATE_ATTEMPTS - 1):
        lost = [k for k, answer in enumerate(answers) if _lost_race(requests[k], answer)]
        if not lost:
            break
        time.sleep(pause)
        pause *= 2
        for k, answer in zip(lost, ask([requests[k] for k in lost]), strict=True):
            answers[k] = answer
    return answers


_MOVING_TAGS: Final = frozenset({"latest", "pending", "safe", "finalized"})


def _lost_race(request: tuple[RPCEndpoint, Any], answer: RPCResponse) -> bool:
    """Whether ``answer`` refuses a read whose state went with the next block (:data:`_STATE_GONE`):
    a read of "latest" (which the node resolved to a head that has moved on since, by one block
    or, on a busy machine, more), or of the block just before the head."""
    error = answer.get("error")
    found = _STATE_GONE.search(str(error.get("message", ""))) if isinstance(error, dict) else None
    if found is None:
        return False
    params = request[1] if isinstance(request[1], list | tuple) else []
    if any(isinstance(param, str) and param in _MOVING_TAGS for param in params):
        return int(found[1]) > int(found[2])
    return 0 < int(found[1]) - int(found[2]) <= 1


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
        w3 = long_chain_web3(node.url, timeout=120)
        sent = [0]
        budget = max(0, blocks - 1)  # blocks spent on gaps, leaving room for the data's own blocks
        first = [0]

        def gap() -> int:
            if sent[0] == 0:  # the first transaction deploys: blocks before it would be no blocks after the deployment
                first[0] = int(w3.eth.block_number)
                return 0
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
