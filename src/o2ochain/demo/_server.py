"""The consumer page's local web server, as ``o2ochain demo`` runs it: the gateway
(:mod:`o2ochain.serve`) in a thread, on 127.0.0.1 only."""

from __future__ import annotations

from dataclasses import dataclass, field

from o2ochain.serve import BackgroundServer, Gateway, create_app


@dataclass
class PageServer(Gateway):
    """Serves the page, its config and the stores on ``http://127.0.0.1:<port>`` until stopped
    (``port`` 0 picks a free one; a taken port falls back to a free one)."""

    port: int = 0
    _server: BackgroundServer | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PageServer:
        self._server = BackgroundServer(create_app(self), host="127.0.0.1", port=self.port).start()
        self.port = self._server.port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> PageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
