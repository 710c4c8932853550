"""A public-RPC stand-in: a JSON-RPC proxy in front of a local node that behaves like a hosted provider.

Hosted providers (Alchemy, Infura, QuickNode, Ankr) refuse an ``eth_getLogs`` over more than
10,000 blocks or with more than 10,000 results, each with its own error text (the texts below are
the ones their users quote; clients such as Ponder's ``getLogsRetryHelper`` parse them), answer
HTTP 429 above a request rate and now and then fail a request with a 5xx. Tests and benchmarks put
this proxy between the code under test and Anvil::

    with PublicRPC(node.url, flavour="alchemy", rate=200, error_rate=0.01, seed=7) as rpc:
        w3 = http_web3(rpc.url)
        ...
        rpc.stats()  # {"requests": …, "calls": …, "refused_range": …, "rate_limited": …, …}

``GET <url>/stats`` answers the same counters as JSON (``POST <url>/stats/reset`` zeroes them).
A ``fromBlock``/``toBlock`` that is missing or a tag (``latest``, ``safe``, …) counts as the
node's head, as providers count it. JSON-RPC batches are answered call by call (a refused call is
an error in its slot); the rate limit counts every call of a batch. Like hosted providers it
answers browsers' CORS preflights and allows any origin (the page reads through it). Run it on its own with
``python -m tools.public_rpc UPSTREAM [--flavour …] [--port …]``.
"""

from __future__ import annotations

import argparse
import http.server
import json
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import requests

__all__ = ["FLAVOURS", "Flavour", "PublicRPC", "QuietHandler", "TokenBucket", "wait_for_ctrl_c"]

Flavour = Literal["alchemy", "infura", "quicknode", "ankr"]
FLAVOURS: tuple[Flavour, ...] = ("alchemy", "infura", "quicknode", "ankr")

_TAGS = ("latest", "pending", "safe", "finalized")

#: What each provider answers when it is asked too much, per limit: (JSON-RPC code, message).
#: ``{limit}`` is the cap, ``{span}`` the blocks asked for, ``{lo}``/``{hi}`` a range that works.
_RANGE_REFUSAL: dict[Flavour, tuple[int, str]] = {
    "alchemy": (
        -32600,
        "You can make eth_getLogs requests with up to a {limit} block range. Based on your parameters, "
        "this block range should work: [{lo}, {hi}]",
    ),
    "infura": (-32602, "range {span} exceeds limit of {limit}"),
    "quicknode": (-32614, "eth_getLogs is limited to a {limit_commas} range"),
    "ankr": (-32600, "block range is too wide"),
}
_RESULTS_REFUSAL: dict[Flavour, tuple[int, str]] = {
    "alchemy": (
        -32602,
        "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on "
        "the response size, or you can request any block range with a cap of 10K logs in the response. Based on "
        "your parameters, this block range should work: [{lo}, {hi}]",
    ),
    "infura": (-32005, "query returned more than {results} results. Try with this block range [{lo}, {hi}]."),
    "quicknode": (-32005, "query returned more than {results} results"),
    "ankr": (-32005, "query exceeds max results {results}, retry with the smaller block range"),
}
_RATE_LIMITED: dict[Flavour, str] = {
    "alchemy": "Your app has exceeded its compute units per second capacity. If you have retries enabled, you can "
    "safely ignore this message. If not, check out https://docs.alchemy.com/reference/throughput",
    "infura": "project ID request rate exceeded",
    "quicknode": "request limit reached - reduce calls per second or upgrade your account at quicknode.com",
    "ankr": "Too Many Requests",
}


@dataclass
class TokenBucket:
    """``rate`` requests per second on average, bursts of up to ``burst``."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        self._tokens = self.burst
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self, n: int = 1) -> float:
        """Take ``n`` tokens: 0 when granted, else the seconds until they would be there."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= n:
                self._tokens -= n
                return 0.0
            return (n - self._tokens) / self.rate


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A keep-alive JSON-RPC handler that logs nothing and sends small answers without delay."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args: object) -> None:  # quiet
        return


@dataclass
class PublicRPC:
    """A threaded HTTP JSON-RPC proxy in front of ``upstream`` with a hosted provider's limits.

    ``rate`` (calls per second, ``None``: unlimited) and ``burst`` shape the 429s;
    ``error_rate`` of the HTTP requests (seeded by ``seed``) fail with a 5xx before reaching the
    node; ``max_range`` and ``max_results`` bound ``eth_getLogs``; ``flavour`` picks the words.
    """

    upstream: str
    flavour: Flavour = "alchemy"
    max_range: int = 10_000
    max_results: int = 10_000
    rate: float | None = None
    burst: float | None = None
    error_rate: float = 0.0
    seed: int = 0
    port: int = 0
    host: str = "127.0.0.1"
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.flavour not in FLAVOURS:
            raise ValueError(f"unknown provider flavour {self.flavour!r}: one of {', '.join(FLAVOURS)}")
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)
        self._bucket = TokenBucket(self.rate, self.burst or max(1.0, self.rate)) if self.rate else None
        self._local = threading.local()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> PublicRPC:
        if self._server is not None:
            return self
        proxy = self

        class Handler(QuietHandler):
            def do_OPTIONS(self) -> None:  # a browser's CORS preflight: hosted providers allow any origin
                self.send_response(204)
                self.send_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers") or "Content-Type")
                self.send_header("Access-Control-Max-Age", "86400")
                self.send_header("Content-Length", "0")
                self._cors()
                self.end_headers()

            def _cors(self) -> None:
                self.send_header("Access-Control-Allow-Origin", "*")

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/stats":
                    self._reply(200, proxy.stats())
                else:
                    self._reply(404, {"error": "not found: GET /stats, or POST JSON-RPC"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.rstrip("/") == "/stats/reset":
                    proxy.reset_stats()
                    self._reply(200, proxy.stats())
                    return
                status, answer, headers = proxy.handle(body)
                self._reply(status, answer, headers)

            def _reply(self, status: int, answer: Any, headers: dict[str, str] | None = None) -> None:
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self._cors()
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up and left

        self._server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"public-rpc-{self.port}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> PublicRPC:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- counters -------------------------------------------------------------------------------

    def _count(self, *names: str, by: int = 1) -> None:
        with self._lock:
            for name in names:
                self.counts[name] += by

    def stats(self) -> dict[str, int]:
        """HTTP ``requests``, JSON-RPC ``calls`` (and ``calls:<method>``), ``batches``,
        ``refused_range``, ``refused_results``, ``rate_limited``, ``server_errors``, ``forwarded``."""
        with self._lock:
            keys = ("requests", "calls", "batches", "refused_range", "refused_results", "rate_limited", "server_errors", "forwarded")
            return {k: 0 for k in keys} | dict(self.counts)

    def reset_stats(self) -> None:
        with self._lock:
            self.counts.clear()

    # -- answering ------------------------------------------------------------------------------

    def handle(self, body: bytes) -> tuple[int, Any, dict[str, str]]:
        """The HTTP status, JSON answer and extra headers for one HTTP request's ``body``."""
        self._count("requests")
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}, {}
        calls = payload if isinstance(payload, list) else [payload]
        if isinstance(payload, list):
            self._count("batches")
        if self._bucket is not None:
            wait = self._bucket.take(max(1, len(calls)))
            if wait > 0:
                self._count("rate_limited")
                first = calls[0] if calls and isinstance(calls[0], dict) else {}
                error = {"jsonrpc": "2.0", "id": first.get("id"), "error": {"code": 429, "message": _RATE_LIMITED[self.flavour]}}
                return 429, error, {"Retry-After": str(max(1, math.ceil(wait)))}
        with self._lock:
            fail = self.error_rate > 0 and self._rng.random() < self.error_rate
            status = self._rng.choice((500, 502, 503)) if fail else 200
        if fail:
            self._count("server_errors")
            return status, b'{"message":"upstream unavailable"}', {}
        answers = [self._answer(call) for call in calls]
        return 200, (answers if isinstance(payload, list) else answers[0]), {}

    def _answer(self, call: Any) -> dict[str, Any]:
        if not isinstance(call, dict) or "method" not in call:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}}
        method = str(call["method"])
        self._count("calls", f"calls:{method}")
        if method == "eth_getLogs":
            return self._get_logs(call)
        return self._forward(call)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _forward(self, call: dict[str, Any]) -> dict[str, Any]:
        self._count("forwarded")
        answer = self._session().post(self.upstream, json=call, timeout=120)
        result: dict[str, Any] = answer.json()
        return result

    def _head(self) -> int:
        answer = self._forward({"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []})
        return int(answer["result"], 16)

    def _get_logs(self, call: dict[str, Any]) -> dict[str, Any]:
        """The node's answer to this ``eth_getLogs``, or the provider's refusal."""
        refusal, answer = self._check_logs(call)
        if refusal is not None:
            return {"jsonrpc": "2.0", "id": call.get("id"), "error": refusal}
        return answer if answer is not None else self._forward(call)

    def _check_logs(self, call: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The provider's refusal of this ``eth_getLogs`` or the node's answer (or neither: forward it)."""
        params = call.get("params") or [{}]
        query = dict(params[0]) if params and isinstance(params[0], dict) else {}
        if query.get("blockHash"):
            return None, None  # one block: within every limit
        head: int | None = None

        def block(value: Any) -> int:
            nonlocal head
            if value is None or value in _TAGS:
                if head is None:
                    head = self._head()
                return head
            if value == "earliest":
                return 0
            return int(value, 16) if isinstance(value, str) else int(value)

        lo, hi = block(query.get("fromBlock")), block(query.get("toBlock"))
        span = hi - lo + 1
        if span > self.max_range:
            self._count("refused_range")
            code, text = _RANGE_REFUSAL[self.flavour]
            message = text.format(
                limit=self.max_range, limit_commas=f"{self.max_range:,}", span=span, lo=hex(lo), hi=hex(lo + self.max_range - 1)
            )
            return {"code": code, "message": message}, None
        if span <= 0:
            return None, None
        # Within the range cap: ask the node for exactly these blocks and count what comes back.
        answer = self._forward({**call, "params": [query | {"fromBlock": hex(lo), "toBlock": hex(hi)}]})
        logs = answer.get("result")
        if not isinstance(logs, list) or len(logs) <= self.max_results:
            return None, answer
        self._count("refused_results")
        # The widest range from ``lo`` whose logs fit (at least one block, as providers suggest).
        fits = max(lo, int(logs[self.max_results]["blockNumber"], 16) - 1)
        code, text = _RESULTS_REFUSAL[self.flavour]
        error: dict[str, Any] = {"code": code, "message": text.format(results=self.max_results, lo=hex(lo), hi=hex(fits))}
        if self.flavour == "infura":
            error["data"] = {"from": hex(lo), "to": hex(fits), "limit": self.max_results}
        return error, None


def wait_for_ctrl_c() -> None:  # pragma: no cover - for the manual tools
    """Sleep until Ctrl-C (what keeps a tool's servers up)."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def _main() -> None:  # pragma: no cover - a manual tool
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("upstream", help="the node's JSON-RPC URL, e.g. http://127.0.0.1:8545")
    parser.add_argument("--flavour", choices=FLAVOURS, default="alchemy")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate", type=float, default=None, help="calls per second before 429 (default: unlimited)")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests failed with a 5xx")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with PublicRPC(args.upstream, flavour=args.flavour, port=args.port, rate=args.rate, error_rate=args.error_rate, seed=args.seed) as rpc:
        print(f"public-RPC stand-in ({args.flavour}) on {rpc.url} in front of {args.upstream}; Ctrl-C stops it", flush=True)
        wait_for_ctrl_c()


if __name__ == "__main__":
    _main()
