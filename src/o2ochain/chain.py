"""Connections to a chain: in-process eth-tester, a local Anvil we start, or any JSON-RPC URL.

    chain = connect("tester")                   # in-process py-evm, for tests
    chain = connect("anvil")                    # starts Anvil from node_modules, stops it on close
    chain = connect("http://127.0.0.1:8545")    # any node: Anvil, a testnet, an L2, mainnet

RPC calls have a timeout and are retried with backoff on transient failures (connection
refused, timeouts, HTTP 5xx); after the last retry a :class:`~o2ochain.errors.ChainError` says
what failed and where.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from o2ochain.errors import ChainError, ConfigError

__all__ = [
    "ANVIL_MNEMONIC",
    "LOCAL_CHAIN_IDS",
    "Anvil",
    "dev_accounts",
    "find_anvil",
    "http_web3",
    "tester_web3",
]

#: Chain ids of throwaway local chains, where the well-known development keys may be used.
LOCAL_CHAIN_IDS = frozenset({31337, 1337, 131277322940537})
#: Anvil's (and Hardhat's) public development mnemonic. Never use these keys on a real network.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"

_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.HTTPError,
)


def http_web3(url: str, *, timeout: float = 30.0, retries: int = 5) -> Web3:
    """A Web3 on a JSON-RPC URL, with a request timeout and retries for read calls."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"unsupported RPC URL {url!r}: give an http:// or https:// URL")
    provider = HTTPProvider(
        url,
        request_kwargs={"timeout": timeout},
        exception_retry_configuration=ExceptionRetryConfiguration(errors=_TRANSIENT, retries=retries, backoff_factor=0.25),
    )
    return Web3(provider)


def tester_web3() -> tuple[Web3, list[LocalAccount]]:
    """An in-process py-evm chain (eth-tester) and its funded accounts."""
    try:
        from eth_tester import EthereumTester, PyEVMBackend
        from web3.providers.eth_tester import EthereumTesterProvider
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("the in-process chain needs eth-tester: pip install 'o2ochain[tester]'") from exc
    backend = PyEVMBackend()
    tester = EthereumTester(backend)
    w3 = Web3(EthereumTesterProvider(tester))
    keys = backend.account_keys
    return w3, [Account.from_key(k.to_bytes()) for k in keys]


def dev_accounts(count: int = 10) -> list[LocalAccount]:
    """Anvil's development accounts (derived from :data:`ANVIL_MNEMONIC`)."""
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)]


def find_anvil() -> Path:
    """Where Anvil is: $O2O_ANVIL, the project's node_modules (npm), or PATH."""
    env = os.environ.get("O2O_ANVIL")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"O2O_ANVIL points to {env}, which is not a file")
        return path
    # `@foundry-rs/anvil` installs the binary of this platform as @foundry-rs/anvil-<os>-<arch>.
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            found = sorted((folder / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))
            if found:
                return found[0]
    which = shutil.which("anvil")
    if which:
        return Path(which)
    raise ConfigError(
        "Anvil not found: run `./run setup` (or `npm ci`) in the o2ochain checkout, which installs "
        "@foundry-rs/anvil, put `anvil` on PATH, or set O2O_ANVIL"
    )


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Anvil:
    """A local Anvil node that we start and stop.

    ``state`` persists the chain to a file (written on exit and every ``state_interval``
    seconds, so a killed node loses at most that much). Used as a context manager it stops the
    node on exit; otherwise it is stopped when the interpreter exits.
    """

    port: int | None = None
    chain_id: int = 31337
    state: Path | None = None
    state_interval: int = 5
    block_time: float | None = None
    accounts: int = 10
    balance_eth: int = 10_000
    gas_limit: int | None = None
    binary: Path | None = None
    extra_args: tuple[str, ...] = ()
    log_path: Path | None = None

    def __post_init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        binary = self.binary or find_anvil()
        cmd = [
            str(binary),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--accounts",
            str(self.accounts),
            "--balance",
            str(self.balance_eth),
            "--mnemonic",
            ANVIL_MNEMONIC,
        ]
        if self.state is not None:
            cmd += ["--state", str(self.state), "--state-interval", str(self.state_interval)]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        if self.gas_limit:
            cmd += ["--gas-limit", str(self.gas_limit)]
        return cmd + list(self.extra_args)

    def start(self, timeout: float = 30.0) -> Anvil:
        if self._proc is not None:
            return self
        if self.port is None:
            self.port = free_port()
        log_path = self.log_path or Path(tempfile.gettempdir()) / f"o2ochain-anvil-{self.port}.log"
        self._log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
        self._proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                self._proc = None
                raise ChainError(f"Anvil exited at start (code {self._proc_code(tail)}):\n{tail}")
            if _answers(self.url):
                return self
            time.sleep(0.05)
        self.stop()
        raise ChainError(f"Anvil did not answer on {self.url} within {timeout:.0f} s (log: {log_path})")

    @staticmethod
    def _proc_code(_tail: str) -> str:
        return "non-zero"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Stop the node (SIGTERM lets Anvil write its state file)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _answers(url: str) -> bool:
    try:
        r = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
        return r.ok and "result" in r.json()
    except (requests.RequestException, ValueError):
        return False


@contextlib.contextmanager
def running_anvil(**kwargs: Any) -> Iterator[Anvil]:
    node = Anvil(**kwargs)
    try:
        yield node.start()
    finally:
        node.stop()
