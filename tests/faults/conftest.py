"""Fault-injection fixtures: a chain with a registrant ready, a reorg, a flaky JSON-RPC proxy.

The proxy sits between a client and Anvil and answers each request by a schedule: forward it
(``ok``), hold it past the client's timeout (``delay``), answer ``502``/``503`` without
forwarding, or close the connection without an answer (``drop``). ``down`` makes every request
fail one way until ``up`` is called.
"""

from __future__ import annotations

import http.server
import os
import random
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from eth_account.signers.local import LocalAccount

import o2ochain
from o2ochain._chain.connection import Anvil
from tests.conftest import anvil_brand
from tools.public_rpc import QuietHandler

FAULTS = ("ok", "delay", "502", "503", "drop")


def seeded(name: str, default: int) -> random.Random:
    """A random generator seeded from ``$O2O_FAULT_SEED`` (or ``default``); prints the seed so
    that a failure can be replayed with the same faults."""
    seed = int(os.environ.get("O2O_FAULT_SEED", default))
    print(f"{name}: seed {seed} (replay with O2O_FAULT_SEED={seed})", file=sys.stderr)
    return random.Random(seed)


def reorg(node: Anvil, depth: int = 3) -> None:
    """Replace the last ``depth`` blocks with empty ones; their transactions leave the chain."""
    answer = requests.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_reorg", "params": [depth, []]}, timeout=10).json()
    assert "error" not in answer, answer


def item_registrations(chain: o2ochain.O2OChain) -> Counter[bytes]:
    """How many ``ItemRegistered`` events each item id has on chain."""
    event = chain.identity.contract.events.ItemRegistered()
    logs = chain.w3.eth.get_logs({"address": chain.identity.contract.address, "topics": [event.topic], "fromBlock": 0})
    return Counter(bytes(event.process_log(log)["args"]["item"]) for log in logs)


@dataclass
class RegistrantChain:
    """A fresh Anvil: operator dev:0, brand admin dev:1 of brand 1 owning GTIN_A, registrant dev:2."""

    node: Anvil
    chain: o2ochain.O2OChain
    accounts: list[LocalAccount]
    deployments: Path

    @property
    def registrant(self) -> LocalAccount:
        return self.accounts[2]

    def cli(self, *args: str, rpc: str | None = None) -> list[str]:
        return [
            sys.executable,
            "-m",
            "o2ochain.cli",
            *args,
            "--rpc",
            rpc or self.node.url,
            "--deployment",
            str(self.deployments),
            "--account",
            "dev:2",
            "--json",
        ]


@pytest.fixture
def registrant_chain(tmp_path: Path) -> Iterator[RegistrantChain]:
    with Anvil() as node:
        chain, accounts, brand = anvil_brand(node, tmp_path / "deployments", "Fault Foods")
        chain.brand(accounts[1], brand).grant_registrant(accounts[2].address)
        yield RegistrantChain(node, chain, accounts, tmp_path / "deployments")


@dataclass
class FlakyProxy:
    """A JSON-RPC proxy in front of ``upstream`` that misbehaves by ``schedule`` (then forwards)."""

    upstream: str
    delay: float = 2.0
    schedule: list[str] = field(default_factory=list)
    down_with: str | None = None
    seen: list[tuple[str, str]] = field(default_factory=list)  # (fault applied, JSON-RPC method)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        proxy = self

        class Handler(QuietHandler):

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fault = proxy._next(body)
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault in ("502", "503"):
                    text = b"<html>bad gateway</html>"
                    self.send_response(int(fault))
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                    return
                if fault == "delay":
                    time.sleep(proxy.delay)  # the client has given up by now; forward anyway
                answer = requests.post(proxy.upstream, data=body, headers={"Content-Type": "application/json"}, timeout=30)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                try:
                    self.wfile.write(answer.content)
                except OSError:
                    pass  # the client timed out and left

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _next(self, body: bytes) -> str:
        method = body.split(b'"method":', 1)[-1].split(b'"')[1].decode() if b'"method":' in body else "?"
        with self._lock:
            fault = self.down_with or (self.schedule.pop(0) if self.schedule else "ok")
            self.seen.append((fault, method))
        return fault

    def faults(self) -> Counter[str]:
        with self._lock:
            return Counter(f for f, _ in self.seen)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def flaky_proxy() -> Iterator[type[FlakyProxy]]:
    """A factory of proxies (``flaky_proxy(upstream, ...)``), all closed at the end."""
    made: list[FlakyProxy] = []

    class Tracked(FlakyProxy):
        def __post_init__(self) -> None:
            super().__post_init__()
            made.append(self)

    yield Tracked
    for proxy in made:
        proxy.close()
