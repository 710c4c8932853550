"""End-to-end fixtures: a fresh Anvil with one brand set up, and killing a CLI run mid-way."""

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


@pytest.fixture(scope="session")
def page_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``o2ochain demo`` (small counts) serving the built page, shared by every browser test:
    ``base`` URL, the sample ``items`` by case, the demo's ``out`` folder and its printed ``output``."""
    yield from serve_demo(tmp_path_factory.mktemp("page-demo"))
