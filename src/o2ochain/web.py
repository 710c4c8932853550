"""The consumer page's local web server, as ``o2ochain demo`` runs it.

A small :mod:`http.server` in a thread, on 127.0.0.1 only. It serves:

- ``/`` — the built page (``frontend/dist``, made by ``npx vite build frontend``);
- ``/config.json`` — what the page needs to find the chain: the RPC URL, the deployment manifest
  (:mod:`o2ochain.deployments`) and where the off-chain content is;
- ``/events/`` — the EPCIS event store (``<2 hex>/<64 hex>.json``), whose files the page checks
  against the hashes anchored on chain;
- ``/content/`` — the content store (review texts, merchant profiles).

The page reads the chain itself: this server is only where the page and the off-chain copies
come from, so it needs no more trust than a file server.
"""

from __future__ import annotations

import json
import os
import posixpath
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from o2ochain.deployments import Deployment

__all__ = ["PageServer", "default_dist", "page_url"]

_NOT_BUILT = b"""<!doctype html><html lang="en"><meta charset="utf-8"><title>o2ochain: page not built</title>
<h1>The page is not built</h1><p>Run <code>npx vite build frontend</code> in the repository (or <code>./run demo</code>),
then reload.</p></html>"""


def default_dist() -> Path:
    """Where the built page is: ``$O2O_WEB_DIST``, or ``frontend/dist`` of this source tree."""
    env = os.environ.get("O2O_WEB_DIST")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "frontend" / "dist"


def page_url(base: str, item: str | None = None) -> str:
    """The page's URL, opening ``item`` (a Digital Link or an item id) when given."""
    if item is None:
        return base + "/"
    return f"{base}/?item={urllib.parse.quote(item, safe=':/')}"


@dataclass
class PageServer:
    """Serves the page, its config and the stores on ``http://127.0.0.1:<port>`` until stopped."""

    rpc_url: str
    deployment: Deployment
    events: Path
    content: Path
    dist: Path = field(default_factory=default_dist)
    #: Folder of ``*.proofs.jsonl`` (Merkle lots): ``/proofs/<item id>.json`` answers with an item's proof.
    proofs: Path | None = None
    port: int = 0
    _server: ThreadingHTTPServer | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _proof_index: dict[str, dict[str, Any]] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        config = {"rpcUrl": self.rpc_url, "deployment": self.deployment.to_json(), "events": "./events/", "content": "./content/"}
        if self.proofs is not None:
            config["proofs"] = "./proofs/"
        return config

    def proof(self, item_hex: str) -> dict[str, Any] | None:
        """The Merkle proof of an item, shaped as ProductRegistry's MerkleItem (None if unknown).

        The page checks it on chain (``verifyMerkle``), so the server is trusted with nothing: a
        wrong proof is simply not accepted by the contract.
        """
        if self.proofs is None:
            return None
        with self._lock:
            if self._proof_index is None:
                self._proof_index = _index_proofs(self.proofs)
        return self._proof_index.get(item_hex.lower())

    def start(self) -> PageServer:
        """Bind (``port`` 0 picks a free one; a taken port falls back to a free one) and serve in a thread."""
        handler = _handler(self)
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        except OSError:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="o2ochain-web", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> PageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _index_proofs(folder: Path) -> dict[str, dict[str, Any]]:
    """Every item of every proofs file in ``folder``, by item id, as a MerkleItem for the contract."""
    from o2ochain import gs1
    from o2ochain.merkle import read_proofs

    index: dict[str, dict[str, Any]] = {}
    for file in sorted(folder.glob("*.proofs.jsonl")):
        header, records = read_proofs(file)
        for record in records:
            index[str(record["item_id"]).lower()] = {
                "gtin": str(gs1.gtin_to_int(record["gtin"])),
                "serial": "0x" + gs1.to_bytes32(record["serial"]).hex(),
                "lot": "0x" + gs1.to_bytes32(record["lot"]).hex(),
                "root": header["root"],
                "proof": list(record["proof"]),
            }
    return index


def _handler(site: PageServer) -> type[SimpleHTTPRequestHandler]:
    mounts = {"events": site.events, "content": site.content}

    class Handler(SimpleHTTPRequestHandler):
        def guess_type(self, path: str | os.PathLike[str]) -> str:
            return "text/javascript" if str(path).endswith((".js", ".mjs")) else super().guess_type(path)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(site.dist), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the demo's console is for the demo; requests are not news

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-cache")
            super().end_headers()

        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path == "/config.json":
                body = json.dumps(site.config()).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if path.startswith("/proofs/") and path.endswith(".json"):
                # No proof is an answer, not an error: `null` (the item is simply not in a Merkle lot).
                found = site.proof(path[len("/proofs/") : -len(".json")])
                body = json.dumps(found).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if path in ("/", "/index.html") and not (site.dist / "index.html").is_file():
                self.send_response(503)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(_NOT_BUILT)))
                self.end_headers()
                self.wfile.write(_NOT_BUILT)
                return
            super().do_GET()

        def translate_path(self, path: str) -> str:
            clean = posixpath.normpath(urllib.parse.unquote(urllib.parse.urlsplit(path).path))
            parts = [p for p in clean.split("/") if p and p not in (".", "..")]
            if parts and parts[0] in mounts:
                return str(mounts[parts[0]].joinpath(*parts[1:]))
            return str(site.dist.joinpath(*parts))

        def list_directory(self, path: str | os.PathLike[str]) -> None:
            self.send_error(404, "Not found")

    return Handler
