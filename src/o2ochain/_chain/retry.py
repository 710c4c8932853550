"""How a request to a node or an index is retried (:class:`RetryPolicy`), and its failures in words.

Shared by every transport: web3's ``HTTPProvider`` and the index client (``requests``) and the
standard-library transport of :mod:`o2ochain._chain.light` (``http.client``), so a command reads
the same timeouts, attempts, pauses and error texts whichever one it uses. Nothing here imports
web3 or ``requests``: ``o2ochain trace show --index`` starts without them.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from o2ochain.errors import ConfigError

__all__ = ["MAX_RETRY_AFTER", "HTTPStatusError", "RetryPolicy", "endpoint_name", "retry_after"]

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
            except OSError as exc:  # requests' exceptions are OSErrors too
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
    status, headers = _status(exc)
    if status not in (429, 503):
        return None
    value = (headers.get("Retry-After") or "").strip()
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


class HTTPStatusError(OSError):
    """An HTTP answer that is not a success, from the standard-library transport
    (:mod:`o2ochain._chain.light`): its status, reason, headers and body, classified like a
    ``requests`` ``HTTPError`` (5xx, 429 and 408 are tried again)."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str], body: bytes) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.reason = reason
        self.headers = dict(headers)
        self.body = body


def _status(exc: BaseException) -> tuple[int, Mapping[str, str]]:
    """The HTTP status and headers of a failed answer (0 and none when ``exc`` is not one)."""
    if isinstance(exc, HTTPStatusError):
        return exc.status, exc.headers
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "status_code"):  # requests' HTTPError
        return int(response.status_code), response.headers
    return 0, {}


def _problem(exc: BaseException, timeout: float) -> tuple[str, bool]:
    """What went wrong, in words, and whether another attempt may help: for ``requests``'
    exceptions (web3's transport, the index client) and the standard library's alike."""
    if isinstance(exc, HTTPStatusError):
        return str(exc), exc.status >= 500 or exc.status in (408, 429)
    requests = sys.modules.get("requests")  # only a transport that imported requests raises its exceptions
    if requests is not None and isinstance(exc, requests.exceptions.RequestException):
        return _requests_problem(exc, timeout, requests.exceptions)
    if isinstance(exc, socket.gaierror):
        return "unknown host", False
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s", True
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused", True
    if isinstance(exc, ConnectionError | http.client.HTTPException):
        return "connection dropped before an answer", True
    return f"{type(exc).__name__}: {exc}", False


def _requests_problem(exc: BaseException, timeout: float, errors: Any) -> tuple[str, bool]:
    if isinstance(exc, errors.HTTPError):
        response = exc.response
        status = response.status_code if response is not None else 0
        reason = (response.reason if response is not None else "") or ""
        return f"HTTP {status} {reason}".strip(), status >= 500 or status in (408, 429)
    if isinstance(exc, errors.ConnectTimeout):
        return f"no connection within {timeout:g} s", True
    if isinstance(exc, errors.Timeout):
        return f"no answer within {timeout:g} s", True
    if isinstance(exc, errors.ChunkedEncodingError):
        return "the answer was cut off", True
    if isinstance(exc, errors.ConnectionError):
        text = str(exc).lower()
        if "refused" in text:
            return "connection refused", True
        if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return "unknown host", False
        return "connection dropped before an answer", True
    if isinstance(exc, errors.RequestException):
        return f"request failed ({type(exc).__name__})", False
    return f"{type(exc).__name__}: {exc}", False
