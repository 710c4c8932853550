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
import email.utils
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.middleware import Web3Middleware
from web3.types import MakeBatchRequestFn, MakeRequestFn, RPCEndpoint, RPCResponse

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

#: The longest ``Retry-After`` of a 429 that is waited out (a longer one waits this long).
MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """How a JSON-RPC call over HTTP is retried.

    ``timeout`` bounds each request (seconds until the first byte of the answer); a call is tried
    at most ``attempts`` times, pausing ``backoff`` seconds after the first failure and twice as
    long after each next one (at most ``max_backoff``); no attempt starts once ``budget`` seconds
    have passed since the first, so a call gives up after about ``budget + timeout`` at worst
    (65 s with a 5 s timeout, 90 s with the default 30 s) and after about 4 s when the node
    refuses connections or answers 5xx. ``O2O_RPC_TIMEOUT`` and ``O2O_RPC_ATTEMPTS`` in the
    environment override ``timeout`` and ``attempts`` (the command line has no flags for them).
    """

    timeout: float = 30.0
    attempts: int = 5
    backoff: float = 0.25
    max_backoff: float = 4.0
    budget: float = 60.0

    def pauses(self) -> Iterator[float]:
        """The pauses between attempts: 0.25, 0.5, 1, 2 s with the defaults."""
        pause = self.backoff
        for _ in range(self.attempts - 1):
            yield pause
            pause = min(pause * 2, self.max_backoff)

    def next_pause(self, pauses: Iterator[float], started: float, transient: bool, asked: float | None = None) -> float | None:
        """The pause before the next attempt of a call begun at ``started`` (``time.monotonic()``),
        or ``None`` to give up: the problem is not transient, or the attempts or budget are spent.
        ``asked``: what the server asked for (a 429's ``Retry-After``), waited instead when longer."""
        pause = next(pauses, None) if transient else None
        if pause is not None and asked is not None:
            pause = max(pause, asked)
        if pause is None or time.monotonic() - started + pause > self.budget:
            return None
        return pause

    def run(
        self,
        request: Callable[[], T],
        *,
        endpoint: str,
        what: str,
        fail: Callable[[int, float, str], Exception],
        not_json: bool = False,
        log: logging.Logger | None = None,
        keep_cause: bool = True,
    ) -> T:
        """``request()`` tried by this policy: transport failures (connection, timeout, HTTP 5xx,
        429, 408) again after a pause (a 429's ``Retry-After`` when it asks longer); when it gives
        up, ``fail(attempts, seconds, problem in words)`` is raised. ``not_json``: a ``ValueError``
        (an answer that is not JSON) fails at once, in words, rather than escaping as it is.
        ``keep_cause``: the transport's exception stays attached as the cause (else the error in
        words stands alone)."""
        started = time.monotonic()
        pauses = self.pauses()
        attempt = 0
        while True:
            attempt += 1
            try:
                return request()
            except (requests.exceptions.RequestException, OSError) as exc:
                problem, transient = _problem(exc, self.timeout)
                pause = self.next_pause(pauses, started, transient, retry_after(exc))
                if pause is None:
                    raise fail(attempt, time.monotonic() - started, problem) from (exc if keep_cause else None)
                (log or _log).info("%s %s: %s; retrying in %.2f s (attempt %d)", endpoint, what, problem, pause, attempt + 1)
                time.sleep(pause)
            except ValueError as exc:
                if not not_json:
                    raise
                raise fail(attempt, time.monotonic() - started, f"the answer is not JSON-RPC ({exc})") from None

    @classmethod
    def from_env(cls, *, timeout: float = 30.0, attempts: int = 5) -> RetryPolicy:
        """The policy for ``timeout`` and ``attempts``, unless the environment overrides them."""
        try:
            timeout = float(os.environ.get("O2O_RPC_TIMEOUT") or timeout)
            attempts = int(os.environ.get("O2O_RPC_ATTEMPTS") or attempts)
        except ValueError as exc:
            raise ConfigError(f"O2O_RPC_TIMEOUT / O2O_RPC_ATTEMPTS must be numbers: {exc}") from None
        if timeout <= 0 or attempts < 1:
            raise ConfigError("O2O_RPC_TIMEOUT must be positive and O2O_RPC_ATTEMPTS at least 1")
        return cls(timeout=timeout, attempts=attempts)


def endpoint_name(url: str) -> str:
    """``scheme://host:port`` of ``url``, with ``/…`` for a path: API keys in paths or user info
    stay out of error messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    tail = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"


def retry_after(exc: BaseException) -> float | None:
    """The seconds a 429 (or 503) answer asks to wait in its ``Retry-After`` header (seconds or an
    HTTP date), at most :data:`MAX_RETRY_AFTER`; ``None`` when it asks nothing."""
    response = exc.response if isinstance(exc, requests.exceptions.HTTPError) else None
    if response is None or response.status_code not in (429, 503):
        return None
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def _problem(exc: BaseException, timeout: float) -> tuple[str, bool]:
    """What went wrong, in words, and whether another attempt may help."""
    if isinstance(exc, requests.exceptions.HTTPError):
        response = exc.response
        status = response.status_code if response is not None else 0
        reason = (response.reason if response is not None else "") or ""
        return f"HTTP {status} {reason}".strip(), status >= 500 or status in (408, 429)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection within {timeout:g} s", True
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer within {timeout:g} s", True
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off", True
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc).lower()
        if "refused" in text:
            return "connection refused", True
        if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return "unknown host", False
        return "connection dropped before an answer", True
    if isinstance(exc, requests.exceptions.RequestException):
        return f"request failed ({type(exc).__name__})", False
    return f"{type(exc).__name__}: {exc}", False


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
        stop_process(proc, sig, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
