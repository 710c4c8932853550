"""``o2ochain serve`` as a brand runs it: a process on a real Anvil, serving the page's config,
the stores and the relay, stopped with Ctrl-C; refusing what it cannot do before it listens."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from o2ochain import gs1
from tests.conftest import GTIN_A
from tests.e2e.conftest import FreshBrand


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(fresh_brand: FreshBrand, store: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    command = [sys.executable, "-m", "o2ochain.cli", "serve", "--rpc", fresh_brand.node.url, "--deployment", str(fresh_brand.deployments)]
    process = subprocess.Popen([*command, "--store", str(store), "--port", str(port), *extra], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            requests.get(url + "/config.json", timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("o2ochain serve did not answer within 60 s")


def test_serve_answers_the_page_and_the_relay_until_ctrl_c(fresh_brand: FreshBrand, tmp_path: Path) -> None:
    process, url = _serve(fresh_brand, tmp_path / "store", "--relay", "--account", "dev:3", "--page-rpc", "https://rpc.example/")
    try:
        config = requests.get(url + "/config.json", timeout=10).json()
        assert config["rpcUrl"] == "https://rpc.example/", "the page is told the RPC its browsers can reach"
        assert config["deployment"]["chainId"] == fresh_brand.chain.chain_id and config["relay"] == "./relay"
        stored = requests.post(url + "/content/", json={"type": "o2ochain.review", "text": "Crisp.", "language": "en"}, timeout=10)
        assert stored.status_code == 201 and (tmp_path / "store" / stored.json()["uri"]).is_file()
        # A relayed call the contract refuses comes back as its custom error, by name, with its
        # arguments, and costs the relayer nothing (it is simulated before it is sent).
        registry = fresh_brand.chain.identity.contract
        item = gs1.item_id(GTIN_A, "NEVER-REGISTERED")
        data = registry.encode_abi("claimWithSignature", args=[item, fresh_brand.accounts[2].address, 2**40, b"\x00" * 65])
        balance = fresh_brand.chain.w3.eth.get_balance(fresh_brand.accounts[3].address)
        refused = requests.post(url + "/relay", json={"to": registry.address, "data": data}, timeout=30)
        assert refused.status_code == 422 and refused.json()["error"] == "IdentityItemUnknown"
        assert fresh_brand.chain.w3.eth.get_balance(fresh_brand.accounts[3].address) == balance
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and f"on {url}" in stderr


def test_serve_refuses_a_taken_port_and_a_signer_it_would_not_use(fresh_brand: FreshBrand, tmp_path: Path) -> None:
    base = [sys.executable, "-m", "o2ochain.cli", "serve", "--rpc", fresh_brand.node.url, "--deployment", str(fresh_brand.deployments)]
    unused = subprocess.run([*base, "--account", "dev:3"], capture_output=True, text=True, timeout=60, check=False)
    assert unused.returncode == 1 and "--account is used only with --relay" in unused.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        clash = subprocess.run([*base, "--port", str(port)], capture_output=True, text=True, timeout=60, check=False)
    assert clash.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in clash.stderr
    assert "Traceback" not in clash.stderr
