"""End-to-end fixtures: a fresh Anvil with one brand set up, killing a CLI run mid-way, the demo
serving the page, and the demo's chain indexed on PGlite and PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

import o2ochain
from o2ochain._chain.connection import Anvil
from tests.conftest import anvil_brand
from tests.e2e.browser import serve_demo
from tests.e2e.indexed_demo import DemoIndexes, demo_folder, demo_indexes
from tests.postgres import PostgresServer, postgres_server

__all__ = ["postgres_server"]  # the fixture, shared from tests/postgres.py (one server for every e2e module)


@dataclass
class FreshBrand:
    """A fresh Anvil: registry operator dev:0, brand admin dev:1, brand 1 owning GTIN_A."""

    node: Anvil
    chain: o2ochain.O2OChain
    accounts: list[LocalAccount]
    brand: int
    deployments: Path

    def cli(self, *args: str, account: str = "dev:2") -> list[str]:
        """An ``o2ochain`` command line against this chain."""
        return [
            sys.executable,
            "-m",
            "o2ochain.cli",
            *args,
            "--rpc",
            self.node.url,
            "--deployment",
            str(self.deployments),
            "--account",
            account,
            "--json",
        ]


@pytest.fixture
def fresh_brand(tmp_path: Path) -> Iterator[FreshBrand]:
    with Anvil() as node:
        chain, accounts, brand = anvil_brand(node, tmp_path / "deployments", "Crash Test Foods")
        yield FreshBrand(node, chain, accounts, brand, tmp_path / "deployments")


def kill_midrun(command: list[str], progress: Callable[[], int], target: int, timeout: float = 180) -> None:
    """Start ``command``; SIGKILL it once ``progress()`` reaches ``target``; insist it was killed."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if progress() >= target:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"


@pytest.fixture(scope="package")
def page_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``o2ochain demo`` (small counts) serving the built page, shared by every browser test:
    ``base`` URL, the sample ``items`` by case, the demo's ``out`` folder and its printed ``output``.
    Package scope: the demo (its Anvil and its index) stops after the e2e tests, not at the end of
    the session (it kept using CPU through every later directory)."""
    yield from serve_demo(tmp_path_factory.mktemp("page-demo"))


@pytest.fixture(scope="package")
def shared_indexes(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoIndexes]:
    """The demo's chain (small counts) on one Anvil, indexed on PGlite and on PostgreSQL, for
    the modules that only read the chain (test_index_answers, test_index_postgres, and
    test_index_tamper, which puts the rows it edits back); stopped after the e2e tests."""
    with demo_indexes(demo_folder(tmp_path_factory), tmp_path_factory.mktemp("shared-indexes"), postgres_server.url) as indexes:
        yield indexes
