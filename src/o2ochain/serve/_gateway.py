"""The gateway: one HTTP application that serves the consumer page and the off-chain copies.

An ASGI application (Starlette; :func:`create_app`) that ``o2ochain serve`` runs on uvicorn and
the demo runs in a thread (:class:`~o2ochain.serve.BackgroundServer`). It serves:

- ``/`` — the built page (``frontend/dist``, made by ``npx vite build frontend``);
- ``/config.json`` — what the page needs to find the chain: the RPC URL, the deployment manifest
  (:mod:`o2ochain.deployments`), where the off-chain content is and, when there is one, the index
  (``"index"``: the Ponder app of ``indexer/``) the page reads its lists from and checks on chain;
- ``/events/`` — the EPCIS event store (``<2 hex>/<64 hex>.json``), whose files the page checks
  against the hashes anchored on chain; ``POST /events/batch`` with ``{"hashes": [...]}`` answers
  every asked file's text (or null) in one response, so a 100-event history is one request;
- ``/content/`` — the content store (review texts, merchant profiles); a ``POST /content/`` of a
  review document (``{"type": "o2ochain.review", ...}``) stores it under its keccak256 and answers
  ``{"hash", "uri"}``, which is how the page's review form publishes a text before the review
  transaction records its hash;
- ``/proofs/<item id>.json`` — an item's Merkle proof (``null`` when it is in no Merkle lot);
- ``POST /relay`` — when the gateway has a relayer account: ``{"to", "data"}`` of a call that a
  consumer's signature authorises (an ERC-2771 request of a derived shopper address, a store's
  claim code, a signed consent, a signed receipt, a claim that pays a buyer), sent and paid for
  by the relayer (:class:`o2ochain.shopper.RelayService`), answered with ``{"txHash", "call"}``
  once mined; a contract's refusal answers 422 ``{"error": <custom error>, "message", "args"}``.
  A shopper's one-record addresses hold no coin; this is how they act without anyone funding
  them, which would tie them together on chain.
- ``/01/…`` and ``/.well-known/gs1resolver`` — the GS1 Digital Link resolver, answering from the
  chain (:class:`~o2ochain.serve.Resolver`);
- ``/epcis/…`` — when the gateway has one, the EPCIS 2.0 REST interface
  (:class:`~o2ochain.serve.EpcisService`): capture into the chain, queries of the repository.

On a local chain the demo also lists, in ``config.json``, built-in test accounts (Anvil's public
development keys, clearly labelled) so the page's wallet actions can be tried without a wallet
extension, and the data users a consumer may grant consent to.

The page reads the chain itself: the gateway is only where the page and the off-chain copies
come from, so it needs no more trust than a file server.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from o2ochain.deployments import Deployment
from o2ochain.errors import ConfigError, ContractRevert, InputError
from o2ochain.serve._resolver import Resolver
from o2ochain.shopper import RelayService

if TYPE_CHECKING:
    from o2ochain.client import O2OChain
    from o2ochain.serve._epcis import EpcisService

#: Anvil's (and Hardhat's) chain id: the only chain the page's built-in test accounts are offered on.
LOCAL_CHAIN_ID = 31337
#: The largest review document the page may post.
MAX_POST = 32_768
#: The most event files one batch read answers.
MAX_BATCH = 2_000
#: How long (s) whether the index answers is taken as known, and how long asking it may take.
INDEX_RECHECK = 1.0
INDEX_PROBE_TIMEOUT = 0.5
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")

_NOT_BUILT = b"""<!doctype html><html lang="en"><meta charset="utf-8"><title>o2ochain: page not built</title>
<h1>The page is not built</h1><p>Run <code>npx vite build frontend</code> in the repository (or <code>./run demo</code>),
then reload.</p></html>"""


def default_dist() -> Path:
    """Where the built page is: ``$O2O_WEB_DIST``, or ``frontend/dist`` of this source tree."""
    env = os.environ.get("O2O_WEB_DIST")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "frontend" / "dist"


def page_url(base: str, item: str | None = None) -> str:
    """The page's URL, opening ``item`` (a Digital Link or an item id) when given."""
    if item is None:
        return base + "/"
    return f"{base}/?item={urllib.parse.quote(item, safe=':/')}"


@dataclass
class Gateway:
    """What the gateway serves, and the answers that are more than a file (see the module's
    docstring); :func:`create_app` puts it on HTTP."""

    rpc_url: str
    deployment: Deployment
    events: Path
    content: Path
    dist: Path = field(default_factory=default_dist)
    #: Folder of ``*.proofs.jsonl`` (Merkle lots): ``/proofs/<item id>.json`` answers with an item's proof.
    proofs: Path | None = None
    #: Built-in test accounts for the page's wallet (local chains only): ``{"label", "privateKey"}``.
    test_accounts: list[dict[str, str]] = field(default_factory=list)
    #: Data users (retailers) the page offers for consent: ``{"name", "address"}``.
    data_users: list[dict[str, str]] = field(default_factory=list)
    #: A demo's sample items and merchant pages, listed on the page's home page:
    #: ``{"label", "item": <Digital Link>}`` or ``{"label", "merchant": <channel>}``. Empty: no list.
    samples: list[dict[str, str]] = field(default_factory=list)
    #: Sends the page's relayed calls (``POST /relay``); None: the page has no relay.
    relay_service: RelayService | None = None
    #: Base URL of the index the page reads its lists from (``POST <index>/o2o/logs``); None: the node only.
    #: It is offered to the page only while it answers (see :meth:`index_answers`).
    index_url: str | None = None
    #: The gateway's own client of the chain (the resolver's answers); None: one is made on first use,
    #: on ``node_url`` (default ``rpc_url``, the URL the page is told, which may be public where this one is local).
    chain: O2OChain | None = None
    node_url: str | None = None
    #: The EPCIS 2.0 REST interface (capture and queries) served under ``/epcis``; None: not served.
    epcis: EpcisService | None = None
    _proof_index: dict[str, dict[str, Any]] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _index_seen: tuple[float, bool] = field(default=(-INDEX_RECHECK, False), init=False, repr=False)

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "rpcUrl": self.rpc_url,
            "deployment": self.deployment.to_json(),
            "events": "./events/",
            "eventsBatch": "./events/batch",
            "content": "./content/",
        }
        if self.proofs is not None:
            config["proofs"] = "./proofs/"
        if self.test_accounts:
            if self.deployment.chain_id != LOCAL_CHAIN_ID:
                raise ConfigError(
                    f"built-in test accounts are for the local chain {LOCAL_CHAIN_ID} only, not chain {self.deployment.chain_id}"
                )
            config["testAccounts"] = self.test_accounts
        if self.data_users:
            config["dataUsers"] = self.data_users
        if self.samples:
            config["samples"] = self.samples
        if self.relay_service is not None:
            config["relay"] = "./relay"
        if self.index_url and self.index_answers():
            config["index"] = self.index_url.rstrip("/")
        return config

    def index_answers(self) -> bool:
        """Whether the index answers ``GET /o2o/head`` now (asked at most every :data:`INDEX_RECHECK` s).

        An index that is still starting (or has stopped) is not offered to the page: the page would
        read the node anyway, after a failed request its browser reports as an error.
        """
        if not self.index_url:
            return False
        at, answered = self._index_seen
        now = time.monotonic()
        if now - at < INDEX_RECHECK:
            return answered
        try:
            with urllib.request.urlopen(self.index_url.rstrip("/") + "/o2o/head", timeout=INDEX_PROBE_TIMEOUT) as response:
                answered = response.status == 200
        except (OSError, ValueError):
            answered = False
        self._index_seen = (now, answered)
        return answered

    def relay(self, body: bytes) -> dict[str, str]:
        """Send a posted ``{"to", "data"}`` through the relay (see :class:`RelayService`)."""
        if self.relay_service is None:
            raise InputError("this server relays nothing", field="relay")
        if len(body) > MAX_POST:
            raise InputError(f"a relayed call is at most {MAX_POST} bytes", field="body", value=len(body))
        try:
            request = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"the posted call is not JSON: {exc}", field="body") from None
        if not isinstance(request, dict):
            raise InputError('post {"to": "0x…", "data": "0x…"}', field="body")
        with self._lock:  # one relayer, one nonce sequence
            return self.relay_service.relay(request)

    def stored_events(self, body: bytes) -> dict[str, str | None]:
        """The event store's files for a posted ``{"hashes": [...]}``: each file's text, or None.

        The page hashes each text itself and compares with the chain, so this answers what is on
        disk and vouches for nothing. At most :data:`MAX_BATCH` hashes per request.
        """
        try:
            asked = json.loads(body)["hashes"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f'post {{"hashes": ["0x…", …]}}: {exc}', field="hashes") from None
        if not isinstance(asked, list) or len(asked) > MAX_BATCH:
            raise InputError(f"hashes must be a list of at most {MAX_BATCH}", field="hashes")
        found: dict[str, str | None] = {}
        for value in asked:
            if not isinstance(value, str) or not _HASH.fullmatch(value):
                raise InputError("each hash is 0x and 64 hex digits", field="hashes", value=str(value)[:80])
            hex64 = value[2:].lower()
            target = self.events / hex64[:2] / f"{hex64}.json"
            try:
                found["0x" + hex64] = target.read_bytes().decode("utf-8", errors="replace")
            except OSError:
                found["0x" + hex64] = None
        return found

    def store_content(self, body: bytes) -> dict[str, str]:
        """Store a posted review document in the content store; returns its hash and URI.

        Only review documents are accepted (``reviews.review_document``'s shape, text checked the
        same way), at most :data:`MAX_POST` bytes; anything else is a :class:`InputError`.
        """
        from o2ochain.loop import ContentStore, review_document

        if len(body) > MAX_POST:
            raise InputError(f"a posted document is at most {MAX_POST} bytes", field="body", value=len(body))
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"the posted document is not JSON: {exc}", field="body") from None
        if not isinstance(document, dict) or document.get("type") != "o2ochain.review":
            raise InputError('only review documents ({"type": "o2ochain.review", ...}) may be posted', field="type")
        text, language = document.get("text"), document.get("language", "en")
        if not isinstance(text, str) or not isinstance(language, str) or document.get("photos", []) != []:
            raise InputError("a posted review has a text, a language and no photos", field="text")
        digest, uri = ContentStore(self.content, base="content").put(review_document(text, (), language))
        return {"hash": "0x" + digest.hex(), "uri": uri}

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


def _json_args(error: ContractRevert) -> list[Any]:
    """A refusal's arguments in order, as JSON: numbers as decimal strings, bytes as 0x-hex."""
    shown: list[Any] = []
    for value in error.args_by_name.values():
        if isinstance(value, bool):
            shown.append(value)
        elif isinstance(value, int):
            shown.append(str(value))
        elif isinstance(value, bytes | bytearray):
            shown.append("0x" + bytes(value).hex())
        else:
            shown.append(str(value))
    return shown


def _index_proofs(folder: Path) -> dict[str, dict[str, Any]]:
    """Every item of every proofs file in ``folder``, by item id, as a MerkleItem for the contract."""
    from o2ochain import gs1
    from o2ochain.identity import read_proofs

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


#: The most a posted body may hold: a batch of MAX_BATCH hashes and its punctuation.
MAX_BODY = MAX_BATCH * 80 + 64


def create_app(gateway: Gateway) -> Starlette:
    """The gateway's ASGI application (routes in the module's docstring)."""
    # Modules load as JavaScript whatever the system's mime table says (a browser refuses a
    # module served as text/plain).
    mimetypes.add_type("text/javascript", ".js")
    mimetypes.add_type("text/javascript", ".mjs")

    async def config(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(gateway.config))

    async def proof(request: Request) -> Response:
        # No proof is an answer, not an error: `null` (the item is simply not in a Merkle lot).
        return JSONResponse(await run_in_threadpool(gateway.proof, request.path_params["item"]))

    async def home(request: Request) -> Response:
        if not (gateway.dist / "index.html").is_file():
            return HTMLResponse(_NOT_BUILT, status_code=503)
        return FileResponse(gateway.dist / "index.html")

    def posted(answer: Any, status: int) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                length = int(request.headers.get("content-length") or 0)
            except ValueError:
                length = MAX_BODY + 1
            if length > MAX_BODY:
                return JSONResponse({"error": f"the posted body is too large ({length} bytes)"}, status_code=400)
            body = await request.body()
            try:
                return JSONResponse(dict(await run_in_threadpool(answer, body)), status_code=status)
            except ContractRevert as exc:
                # The contract's refusal, by name and arguments (the page words it) and in words.
                reply = {"error": type(exc).__name__, "message": str(exc), "args": _json_args(exc)}
                return JSONResponse(reply, status_code=422)
            except (InputError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        return endpoint

    routes = [
        Route("/config.json", config, methods=["GET", "HEAD"]),
        Route("/proofs/{item}.json", proof, methods=["GET", "HEAD"]),
        Route("/events/batch", posted(gateway.stored_events, 200), methods=["POST"]),
        Route("/content/", posted(gateway.store_content, 201), methods=["POST"]),
        Route("/relay", posted(gateway.relay, 200), methods=["POST"]),
        *Resolver(gateway).routes(),  # /01/… and /.well-known/gs1resolver: the Digital Link resolver
        *([Mount("/epcis", app=gateway.epcis.app())] if gateway.epcis is not None else []),
        Route("/", home, methods=["GET", "HEAD"]),
        Route("/index.html", home, methods=["GET", "HEAD"]),
        Mount("/events", app=_static(gateway.events)),
        Mount("/content", app=_static(gateway.content)),
        Mount("/", app=_static(gateway.dist)),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_PageGzip), Middleware(_NoCache)])


class _PageGzip:
    """The page's answers (its code, config, stored events, content) of 1 kB or more gzipped for a
    browser that accepts it: on a phone's slow network the page's 0.5 MB of JavaScript is 0.13 MB
    (bench/page.py --gzip). The EPCIS interface (``/epcis``) answers as it does, uncompressed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzipped = GZipMiddleware(app, minimum_size=1024, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        epcis = scope["type"] == "http" and str(scope.get("path", "")).startswith("/epcis")
        await (self.app if epcis else self.gzipped)(scope, receive, send)


def _static(directory: Path, *, html: bool = False) -> StaticFiles:
    """Files under ``directory``; no directory listings, no path outside it."""
    return _Files(directory=directory, html=html, check_dir=False, follow_symlink=False)


class _Files(StaticFiles):
    """Starlette's static files, for a folder that may not exist yet (the stores fill as the
    chain is used, the page may not be built): a missing folder is 404, not a server error."""

    async def check_config(self) -> None:
        if self.directory is not None and Path(self.directory).exists():
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        if self.directory is None or not Path(self.directory).is_dir():
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)


class _NoCache:
    """Every answer says ``Cache-Control: no-cache``: the page and its stores change with the
    chain, and a browser must ask again (a 304 costs little)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": [*headers, (b"cache-control", b"no-cache")]}
            await send(message)

        await self.app(scope, receive, sending)
