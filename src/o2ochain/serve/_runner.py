"""An ASGI application served by uvicorn in a background thread (the demo, the tests, benchmarks).

``o2ochain serve`` runs uvicorn in the foreground; a program that serves the gateway beside other
work (the demo beside its chain and index, a test beside its browser) uses :class:`BackgroundServer`::

    with BackgroundServer(create_app(gateway), port=0) as server:
        server.url  # http://127.0.0.1:<the port it got>
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp

from o2ochain.errors import ConfigError

#: How long the server may take to start listening, and to finish its open requests on stop.
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


class BackgroundServer:
    """``app`` on ``http://host:port`` in a daemon thread until :meth:`stop`.

    ``port`` 0 picks a free port; a taken port falls back to a free one (``fixed_port=True``
    makes it an error instead). Closed connections and the like are logged by uvicorn at debug
    level only: a reader closing a tab mid-load is not news."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, fixed_port: bool = False) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.fixed_port = fixed_port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    def start(self) -> BackgroundServer:
        sock = self._bind()
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            loop="asyncio",
            timeout_graceful_shutdown=int(STOP_TIMEOUT),
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="o2ochain-gateway", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"the gateway did not start on {self.url} within {START_TIMEOUT:g} s")
            time.sleep(0.01)
        return self

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            if self.fixed_port or self.port == 0:
                sock.close()
                raise ConfigError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
            sock.bind((self.host, 0))
        sock.set_inheritable(True)
        return sock

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT + 5)
        self._server = None
        self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
