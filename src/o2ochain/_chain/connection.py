"""Connections to a chain: in-process eth-tester, a local Anvil we start, or any JSON-RPC URL.

    chain = connect("tester")                   # in-process py-evm, for tests
    chain = connect("anvil")                    # starts Anvil from node_modules, stops it on close
    chain = connect("http://127.0.0.1:8545")    # any node: Anvil, a testnet, an L2, mainnet

Every JSON-RPC call over HTTP has a timeout and is retried with backoff on transient failures
(connection refused or dropped, no answer within the timeout, HTTP 5xx, 429, 408), whatever the
method: the defaults (:class:`RetryPolicy`) are a 30 s timeout per request, 5 attempts, pauses
of 0.25, 0.5, 1 and 2 s between them, and no new attempt once 60 s have passed since the first.
When the node stays down, :class:`~o2ochain.errors.RPCUnavailable` (a ``ChainError``) names
the endpoint, the method, how often and how long it was tried and what went wrong, in words.
The retries are web3 middleware (:class:`RetryMiddleware`, the innermost layer) over web3's own
``HTTPProvider``, whose built-in retries are switched off. Retrying ``eth_sendRawTransaction``
is safe: the same signed bytes can be mined only once, and the sender treats "already known"
as success. This is the only retry layer for transport failures;
``o2ochain._chain.tx.with_retries`` adds retries only for JSON-RPC answers that say "try again"
(rate limits, "header not found"), so the two never multiply. A 429 waits what its
``Retry-After`` asks (at most :data:`MAX_RETRY_AFTER` s, within the budget) rather than the
backoff: asking again sooner only spends the provider's quota on refusals. Any other HTTP 4xx
is final, but when its body is a JSON-RPC error (QuickNode answers an over-wide ``eth_getLogs``
with HTTP 413 and "eth_getLogs is limited to a 10,000 range") that error is the answer, as a
200 would have carried it: the caller sees the provider's words (and the log reader follows
them); a 4xx without one stays :class:`~o2ochain.errors.RPCUnavailable`. JSON-RPC batches
(``w3.batch_requests()``) are retried the same way, as one request. The node's chain id is asked
once per connection (:class:`ChainIdOnce`; web3 would ask before every call it validates).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.middleware import Web3Middleware
from web3.types import MakeBatchRequestFn, MakeRequestFn, RPCEndpoint, RPCResponse

from o2ochain._chain.retry import MAX_RETRY_AFTER, RetryPolicy, endpoint_name, retry_after
from o2ochain.errors import ChainError, ConfigError, RPCUnavailable

__all__ = [
    "ANVIL_MNEMONIC",
    "LOCAL_CHAIN_IDS",
    "MAX_RETRY_AFTER",
    "Anvil",
    "RetryMiddleware",
    "RetryPolicy",
    "dev_accounts",
    "find_anvil",
    "http_web3",
    "retry_after",
    "tester_web3",
]

#: Chain ids of throwaway local chains, where the well-known development keys may be used.
LOCAL_CHAIN_IDS = frozenset({31337, 1337, 131277322940537})
#: Anvil's (and Hardhat's) public development mnemonic. Never use these keys on a real network.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"

_log = logging.getLogger("o2ochain.rpc")
T = TypeVar("T")


class RetryMiddleware(Web3Middleware):
    """web3 middleware that retries every JSON-RPC call by a :class:`RetryPolicy` and raises
    :class:`~o2ochain.errors.RPCUnavailable` (never a ``requests`` exception) when it gives up.

    It sits innermost in the onion, right above the provider (an ``HTTPProvider`` with its own
    retries switched off), so each attempt is one plain HTTP request and web3's other middleware
    sees only the answer that came through.
    """

    def __init__(self, w3: Web3, policy: RetryPolicy, endpoint: str) -> None:
        super().__init__(w3)
        self.policy = policy
        self.endpoint = endpoint

    def wrap_make_request(self, make_request: MakeRequestFn) -> MakeRequestFn:
        def retrying(method: RPCEndpoint, params: Any) -> RPCResponse:
            return self._retried(str(method), lambda: make_request(method, params))

        return retrying

    def wrap_make_batch_request(self, make_batch_request: MakeBatchRequestFn) -> MakeBatchRequestFn:
        def retrying(requests_info: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
            methods = sorted({str(method) for method, _ in requests_info})
            return self._retried(f"a batch of {len(requests_info)} ({', '.join(methods)})", lambda: make_batch_request(requests_info))

        return retrying

    def _retried(self, what: str, request: Callable[[], T]) -> T:
        """``request()`` tried by the policy (a 429 waits its ``Retry-After``); a final 4xx whose
        body is a JSON-RPC error answers with that error."""

        def unavailable(attempts: int, seconds: float, problem: str) -> Exception:
            return RPCUnavailable(self.endpoint, what, attempts, seconds, problem)

        def answered() -> T:
            try:
                return request()
            except requests.exceptions.HTTPError as exc:
                error = _rpc_error_answer(exc)
                if error is None:
                    raise
                _log.info("%s %s: HTTP %s with a JSON-RPC error: %s", self.endpoint, what, exc.response.status_code, error["error"])
                return cast(T, error)

        return self.policy.run(answered, endpoint=self.endpoint, what=what, fail=unavailable, not_json=True)


def _rpc_error_answer(exc: requests.exceptions.HTTPError) -> RPCResponse | None:
    """The JSON-RPC error a final HTTP 4xx (not 408 or 429, which are tried again) carries in its
    body, as a JSON-RPC answer web3 turns into ``Web3RPCError``; ``None`` when there is none."""
    response = exc.response
    if response is None or not 400 <= response.status_code < 500 or response.status_code in (408, 429):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, list) and len(body) == 1:  # a batch of one, refused whole
        body = body[0]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str) or not error["message"].strip():
        return None
    code = error.get("code")
    shaped: dict[str, Any] = {"code": code if isinstance(code, int) and not isinstance(code, bool) else -32000, "message": error["message"]}
    if error.get("data") is not None:
        shaped["data"] = error["data"]
    answer_id = body.get("id")
    # web3 takes an error with a null id (JSON-RPC 2.0 allows it) but not an id of another shape.
    return cast(RPCResponse, {"jsonrpc": "2.0", "id": answer_id if type(answer_id) is int else None, "error": shaped})


class ChainIdOnce(Web3Middleware):
    """web3 middleware answering ``eth_chainId`` from the first answer the node gave (kept in
    ``known``, shared by every thread of the connection)."""

    def __init__(self, w3: Web3, known: list[RPCResponse]) -> None:
        super().__init__(w3)
        self.known = known

    def wrap_make_request(self, make_request: MakeRequestFn) -> MakeRequestFn:
        def once(method: RPCEndpoint, params: Any) -> RPCResponse:
            if method != "eth_chainId":
                return make_request(method, params)
            if self.known:
                return self.known[0]
            answer = make_request(method, params)
            if "result" in answer:
                self.known[:] = [answer]
            return answer

        return once


def http_web3(url: str, *, timeout: float = 30.0, retries: int = 5, policy: RetryPolicy | None = None) -> Web3:
    """A Web3 on a JSON-RPC URL whose every call has ``timeout`` and up to ``retries`` attempts
    (or the full ``policy``); see :class:`RetryPolicy`."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"unsupported RPC URL {url!r}: give an http:// or https:// URL")
    chosen = policy or RetryPolicy.from_env(timeout=timeout, attempts=retries)
    # web3's own retries are off: the middleware below is the one retry layer, with a budget
    # and an error in words.
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": chosen.timeout}, exception_retry_configuration=None))
    endpoint = endpoint_name(url)
    # web3 builds each middleware by calling what the onion holds with the Web3 (a class, or a
    # builder curried like this one); its type names only the class.
    build = partial(RetryMiddleware, policy=chosen, endpoint=endpoint)
    # The chain id is asked once per connection: web3's validation asks before every eth_call
    # (a round trip each, 50-100 ms on a public RPC), and its own request cache once per thread.
    known: list[RPCResponse] = []
    w3.middleware_onion.inject(cast("type[Web3Middleware]", partial(ChainIdOnce, known=known)), name="o2ochain chain id", layer=0)
    w3.middleware_onion.inject(cast("type[Web3Middleware]", build), name="o2ochain retries", layer=0)
    return w3


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
        self._proc = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=dies_with_parent(signal.SIGTERM),  # noqa: PLW1509 - one prctl call, looked up before the fork
        )
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
        stop_process(proc, sig, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def dies_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux send ``sig`` to the child when we die, even by SIGKILL.

    A node or index we start lives in its own session (Ctrl-C reaches it through us only), so
    without this a killed demo or test run would leave it running. Between fork and exec the
    child only calls ``prctl`` (looked up before the fork) and asks for its parent's pid: it takes
    none of the locks our other threads might have held at the fork. Linux ties the signal to the
    *thread* that started the child: it is asked for only from the main thread, whose end is the
    process's end. Elsewhere (or on another system) there is nothing to ask: ``None``.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork: the child only calls it
    parent = os.getpid()

    def ask() -> None:
        prctl(_PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:  # we died between fork and prctl: nobody is left to signal it
            os.kill(os.getpid(), sig)

    return ask


_PR_SET_PDEATHSIG = 1


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> None:
    """Send ``sig`` to ``proc`` (when it still runs) and wait; kill it if it is not gone within ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


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
