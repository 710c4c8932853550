"""The EPCIS 2.0 REST interface of the gateway: capture into the chain, query the repository.

Trading partners' systems speak EPCIS 2.0 over HTTP (GS1's REST binding, ``openapi.yaml``), not
our CLI. :class:`EpcisService` answers them under ``/epcis`` of the gateway:

- ``POST /capture`` takes an EPCIS 2.0 JSON-LD document, or an EPCIS 2.0 or 1.x XML document,
  from a partner holding an API token (``Authorization: Bearer …``, see :func:`load_tokens`).
  Each token is bound to one actor's signer and one brand: what is captured is recorded on the
  TraceLedger by that actor under that brand. The document is validated (GS1's JSON Schema or
  XSD, then what EPCIS 2.0 asks beyond them) before anything is stored: a document that does
  not validate is answered 400 with every problem, each naming its event and field; a missing
  or unknown token 401; a node that does not answer 503 with ``Retry-After``; in none of these
  cases is anything written. Otherwise the answer is 202 with the capture job's URL.
- A capture job (``GET /capture/{id}``) runs in the background: the chain's checks are made
  first (products of the brand, an authorised actor, an eventID not already captured with other
  content) and refuse the events they concern, with ``rollback`` (the standard's default) the
  whole job; then the events are stored, anchored on chain in batched transactions, and the job
  ends ``success``. Jobs of one actor queue behind each other and are sent together (one
  ``TraceLedger.record`` carries hundreds of entries), which is what makes capture fast.
- Events without an ``eventID`` get their CBV 2.0 event hash (``ni:///sha-256;…?ver=CBV2.0``)
  as ``eventID`` before anything else happens, so they can be read back by id, and the same
  event sent twice, in any document, in JSON or XML, is captured once. An event whose document
  declares extension prefixes in ``@context`` keeps those entries as its own ``@context``, so
  that it stays meaningful on its own, in the store and on the page. What is anchored is the
  event so completed: the stored, served and anchored texts are one.
- ``GET /events`` (and ``/events/{eventID}``, ``/epcs/{epc}/events``, ``/bizSteps/{step}/events``
  …) answers an ``EPCISQueryDocument`` of the anchored events that match the standard's query
  parameters (:meth:`~o2ochain.serve.EventRepository.query`), page by page (``perPage``, the
  ``Link: <…>; rel="next"`` header), as JSON-LD or, for ``Accept: application/xml``, as EPCIS 2.0
  XML. Every event carries its anchor as the extension ``o2o:anchor``: transaction, block, the
  content hash the ledger holds, and ``verified``, true when this server saw the transaction
  mined with that entry; a partner can check the content hash on chain itself.
- The discovery lists (``/eventTypes``, ``/bizSteps``, ``/dispositions``, ``/readPoints``,
  ``/bizLocations``, ``/epcs``) list what the anchored events use.

Every answer carries ``GS1-EPCIS-Version`` and ``GS1-CBV-Version``; errors are RFC 7807 problem
documents with the standard's ``epcisException:…`` types. Named queries, subscriptions and
``POST /events`` are not implemented (501).

A job interrupted by a server stop is failed when the server starts again (its error says so);
sending the document again captures what is missing, once: the chain is asked what it holds
before anything is sent.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import queue
import re
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from web3 import HTTPProvider
from web3.exceptions import BlockNotFound

from o2ochain import epcis
from o2ochain._chain.light import JsonRpc
from o2ochain.errors import ChainError, ConfigError, InputError, InputErrors, O2OError
from o2ochain.serve._repository import Anchor, CaptureJob, DiscoveryList, ErrorBehaviour, EventRepository, NewEvent, StoredEvent

if TYPE_CHECKING:
    from o2ochain._chain.signers import Signer
    from o2ochain.client import O2OChain
    from o2ochain.serve._capture import CaptureProcess
    from o2ochain.trace import Actor, ImportReport

log = logging.getLogger("o2ochain.serve.epcis")

EPCIS_VERSION: Final = "2.0.0"
CBV_VERSION: Final = "2.0.0"
O2O_NAMESPACE: Final = "urn:o2ochain:epcis:"
"""The namespace of the ``o2o:`` extension terms the repository adds (``o2o:anchor``)."""
CAPTURE_LIMIT: Final = 10_000
"""The most events one capture may hold (``GS1-EPCIS-Capture-Limit``); split bigger documents."""
CAPTURE_FILE_SIZE_LIMIT: Final = 64 * 1024 * 1024
"""The largest document a capture may post, in bytes (``GS1-EPCIS-Capture-File-Size-Limit``)."""
RETRY_AFTER: Final = 5
"""Seconds a client is asked to wait (``Retry-After``) while the node does not answer."""
MERGE_EVENTS: Final = 5_000
"""The most events one actor's queued jobs are sent together in."""
_NODE_PROBE_TIMEOUT: Final = 2.0
_NODE_RECHECK: Final = 1.0
_RETRY_PAUSES: Final = (0.5, 1.0, 2.0, 4.0, 5.0)
_RECHECK_IDLE: Final = 5.0
"""Seconds between checks, while no job comes, that the blocks of the kept anchors are still the node's."""
_KEEP_SENT: Final = 30.0
_FINAL_DEPTH: Final = 64
"""A sent batch is checked (a node restarted without its last blocks, a reorg) while it is in the
last _FINAL_DEPTH blocks or was sent in the last _KEEP_SENT seconds."""

_JSON_TYPES: Final = ("application/json", "application/ld+json")
_XML_TYPES: Final = ("application/xml", "text/xml")
_DISCOVERY: Final[Mapping[str, tuple[DiscoveryList, str | None]]] = {
    # list -> (repository list, the query parameter of its /{value}/events)
    "eventTypes": ("eventTypes", "eventType"),
    "bizSteps": ("bizSteps", "EQ_bizStep"),
    "dispositions": ("dispositions", "EQ_disposition"),
    "readPoints": ("readPoints", "EQ_readPoint"),
    "bizLocations": ("bizLocations", "EQ_bizLocation"),
    "epcs": ("epcs", "MATCH_anyEPC"),
}
_TOP_LEVEL: Final = ("events", "eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints", "dispositions", "capture", "queries")
_EVENT_INDEX: Final = re.compile(r"eventList\[(\d+)\]")
_TOKEN_MIN_LENGTH: Final = 16


# --------------------------------------------------------------------------------------------
# API tokens


@dataclass(frozen=True)
class ApiToken:
    """What one API token may do: record events as ``signer`` (an actor of the TraceLedger) for
    ``brand``. ``where`` names the line of the tokens file it came from (never the token)."""

    signer: Signer
    brand: int
    where: str

    @property
    def address(self) -> str:
        return str(self.signer.address)


def token_digest(token: str) -> bytes:
    """How a token is looked up: its SHA-256, so that the server keeps no token in memory as text
    and a lookup compares digests, not the secret itself."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def load_tokens(
    path: str | Path, *, chain_id: int, load_signer: Callable[[str, int, Path | None], Signer] | None = None
) -> dict[bytes, ApiToken]:
    """Read a tokens file: JSON lines ``{"token": "…", "account": "<signer>", "brand": N}``
    (``account`` as ``--account`` takes it; a keystore may add ``"passwordFile"``). Blank lines
    and lines starting with ``#`` are skipped. Returns the tokens by :func:`token_digest`.

    Every problem is an :class:`~o2ochain.errors.InputError` naming the file, line and field: a
    line that is not a JSON object, a token shorter than 16 characters or given twice, a brand
    that is not a positive integer, an account that does not load.
    """
    from o2ochain._chain.accounts import load_account

    def default_loader(spec: str, chain: int, password_file: Path | None) -> Signer:
        return load_account(spec, chain_id=chain, password_file=password_file, interactive=False)

    loader = load_signer or default_loader
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the tokens file: {getattr(exc, 'strerror', None) or exc}", file=str(file)) from None
    tokens: dict[bytes, ApiToken] = {}
    signers: dict[tuple[str, str | None], Signer] = {}
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue

        def bad(message: str, field: str | None = None, *, at: int = number) -> InputError:
            return InputError(message, file=str(file), line=at, field=field)

        try:
            entry = json.loads(text)
        except json.JSONDecodeError as exc:
            raise bad(f"not a JSON object: {exc.msg}") from None
        if not isinstance(entry, dict):
            raise bad('each line is a JSON object {"token": "…", "account": "…", "brand": N}')
        unknown = sorted(set(entry) - {"token", "account", "brand", "passwordFile"})
        if unknown:
            raise bad(f"unknown key {unknown[0]!r} (a line has token, account, brand and, for a keystore, passwordFile)", unknown[0])
        token, account, brand, password = entry.get("token"), entry.get("account"), entry.get("brand"), entry.get("passwordFile")
        if not isinstance(token, str) or len(token) < _TOKEN_MIN_LENGTH or token != token.strip():
            raise bad(f"a token is a string of at least {_TOKEN_MIN_LENGTH} characters without surrounding spaces", "token")
        if not isinstance(account, str) or not account.strip():
            raise bad("the account that records the captured events (as --account takes it)", "account")
        if not isinstance(brand, int) or isinstance(brand, bool) or brand < 1:
            raise bad("the brand (a positive integer) the captured events are recorded for", "brand")
        if password is not None and not isinstance(password, str):
            raise bad("a path to the keystore's password file", "passwordFile")
        digest = token_digest(token)
        if digest in tokens:
            raise bad(f"this token is given twice (first at {tokens[digest].where})", "token")
        key = (account, password)
        if key not in signers:
            try:
                password_file = None if password is None else (file.parent / password)
                signers[key] = loader(account, chain_id, password_file)
            except (ConfigError, InputError) as exc:
                raise bad(f"cannot load the account: {exc}", "account") from None
        tokens[digest] = ApiToken(signers[key], brand, f"{file.name}:{number}")
    return tokens


# --------------------------------------------------------------------------------------------
# Capture


@dataclass
class _Job:
    id: str
    token: ApiToken
    behaviour: ErrorBehaviour
    events: list[epcis.EpcisEvent]
    ids: list[str]
    source: str
    #: Events whose id is their CBV 2.0 event hash (they came without an ``eventID``).
    hashed: set[int] = field(default_factory=set)
    keep: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


class _BlockHashes:
    """The node's block hashes, each asked once for all of a process's capture workers.

    A block's hash covers its parent's, so while the newest block asked (the top) keeps its hash,
    every block below it keeps its own: a look asks the node for its head and the top (one batch),
    forgets everything when the top changed (a restart that lost blocks, a reorg) and asks only
    for the blocks it does not know yet.
    """

    _KEEP: Final = 10_000

    def __init__(self, chain: O2OChain) -> None:
        self._w3 = chain.w3
        provider = chain.w3.provider
        self._rpc = JsonRpc(str(provider.endpoint_uri)) if isinstance(provider, HTTPProvider) else None
        self._lock = threading.Lock()
        self._known: dict[int, bytes] = {}
        self._top = -1
        self._failed = -_NODE_RECHECK  # time.monotonic() of the last look that failed

    def _blocks(self, which: Sequence[int | str]) -> list[tuple[int, bytes] | None]:
        """(number, hash) of each block (a number or ``"latest"``); ``None`` for one the node lacks."""
        if self._rpc is None:  # eth-tester: no JSON-RPC batches
            out: list[tuple[int, bytes] | None] = []
            for block in which:
                try:
                    found = self._w3.eth.get_block(block)  # type: ignore[arg-type]  # "latest" or a number
                except BlockNotFound:
                    out.append(None)
                    continue
                out.append((int(found["number"]), bytes(found["hash"])))
            return out
        calls = [("eth_getBlockByNumber", [block if isinstance(block, str) else hex(block), False]) for block in which]
        answers = self._rpc.batch(calls, what="block hashes")
        return [None if answer is None else (int(answer["number"], 16), bytes.fromhex(answer["hash"][2:])) for answer in answers]

    def of(self, numbers: Iterable[int]) -> tuple[int, dict[int, bytes]]:
        """The node's head and the hash of each of ``numbers`` it has (those above its head it has not).
        Raises ChainError while the node does not answer: at once for :data:`_NODE_RECHECK` s
        after a look failed (the workers that waited for it do not each spend the retries again)."""
        with self._lock:
            if time.monotonic() - self._failed < _NODE_RECHECK:
                raise ChainError("the node did not answer a moment ago")
            try:
                return self._look(numbers)
            except ChainError:
                self._failed = time.monotonic()
                raise

    def _look(self, numbers: Iterable[int]) -> tuple[int, dict[int, bytes]]:
        """:meth:`of`, under the lock."""
        asked: list[int | str] = ["latest"] if self._top < 0 else ["latest", self._top]
        answers = self._blocks(asked)
        head = answers[0]
        if head is None:
            raise ChainError("the node has no latest block")
        if self._top >= 0 and answers[1] != (self._top, self._known[self._top]):
            self._known.clear()  # also when the head moved back below the top (the node lacks it)
        number, block_hash = head
        self._known[number] = block_hash
        self._top = number
        wanted = sorted({n for n in numbers if n <= number})
        missing = [n for n in wanted if n not in self._known]
        for found in self._blocks(missing) if missing else []:
            if found is not None:
                self._known[found[0]] = found[1]
        if len(self._known) > self._KEEP:
            for n in sorted(self._known)[: len(self._known) - self._KEEP]:
                del self._known[n]
        return number, {n: self._known[n] for n in wanted if n in self._known}


@dataclass
class _Core:
    """What a capture worker needs: the chain, the repository, whether to stop, and whom to tell a
    job ended (and the node's block hashes, shared by the workers)."""

    chain: O2OChain
    repository: EventRepository
    closed: threading.Event
    ended: Callable[[str, list[dict[str, Any]]], None]
    hashes: _BlockHashes = field(init=False)

    def __post_init__(self) -> None:
        self.hashes = _BlockHashes(self.chain)


def _finish_job(repository: EventRepository, job_id: str, errors: list[dict[str, Any]]) -> None:
    """Record the end of job ``job_id`` in ``repository``, failed when there are ``errors``."""
    try:
        repository.finish_job(job_id, "failed" if errors else "success", errors)
    except InputError:
        pass  # already finished (a failure after its events were anchored)


class EpcisService:
    """The EPCIS REST interface over ``repository``, capturing onto ``chain`` (see the module).

    ``tokens`` are the API tokens (:func:`load_tokens`); without any, capture answers 401 to
    everyone and the interface is read-only. ``node_url`` is the node probed before a capture is
    accepted (default: ``chain``'s own endpoint). Call :meth:`close` to stop the capture workers:
    a job they are sending finishes first.

    With ``capture_process`` (what ``o2ochain serve`` asks for), the workers run in a process of
    their own (:mod:`o2ochain.serve._capture`) when the chain is a node over HTTP and every
    token's signer is a local key: checking, signing and sending a capture is CPU work that,
    in this process, would hold the interpreter's lock the queries need. Otherwise (eth-tester,
    a hardware or ape signer) they are threads here.
    """

    def __init__(
        self,
        chain: O2OChain,
        repository: EventRepository,
        tokens: Mapping[bytes, ApiToken] | None = None,
        *,
        node_url: str | None = None,
        capture_limit: int = CAPTURE_LIMIT,
        file_size_limit: int = CAPTURE_FILE_SIZE_LIMIT,
        capture_process: bool = False,
    ) -> None:
        self.chain = chain
        self.repository = repository
        self.tokens = dict(tokens or {})
        self.capture_limit = capture_limit
        self.file_size_limit = file_size_limit
        self._node_url = node_url if node_url is not None else getattr(chain.w3.provider, "endpoint_uri", None)
        self._node_seen: tuple[float, bool] = (-_NODE_RECHECK, False)
        self._workers: dict[str, _Worker] = {}
        # This server's running jobs as GET /capture/{id} shows them until they end: each
        # partner polls its job while it runs, and those answers need no database.
        self._running: dict[str, CaptureJob] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._core = _Core(chain, repository, self._closed, self._ended)
        abandoned = repository.abandon_running_jobs(
            "the server stopped before this capture finished; send the document again: what is already on chain is not sent twice"
        )
        if abandoned:
            log.warning("failed %d capture job(s) left running by an earlier server", len(abandoned))
        self._process: CaptureProcess | None = None
        if capture_process and self.tokens:
            from o2ochain.serve._capture import CaptureProcess

            self._process = CaptureProcess.for_service(self)

    # ---------------------------------------------------------------------------------------
    # Capture

    def authorise(self, header: str | None) -> ApiToken | None:
        """The token an ``Authorization: Bearer …`` header names, or ``None``."""
        if not header:
            return None
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.tokens.get(token_digest(token.strip()))

    def node_answers(self) -> bool:
        """Whether the node answers ``eth_blockNumber`` now (asked at most once a second)."""
        if not self._node_url:
            return True  # an in-process chain (eth-tester) is always there
        at, answered = self._node_seen
        now = time.monotonic()
        if now - at < _NODE_RECHECK:
            return answered
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}).encode()
        request = urllib.request.Request(self._node_url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=_NODE_PROBE_TIMEOUT) as response:
                answered = response.status == 200 and "result" in json.loads(response.read())
        except (OSError, ValueError):
            answered = False
        self._node_seen = (now, answered)
        return answered

    def read_document(self, data: bytes, *, xml: bool, source: str = "<capture>") -> epcis.EpcisDocument:
        """Validate and read a posted document (JSON-LD, or XML when ``xml``): the
        :class:`~o2ochain.errors.InputError` (s) of :mod:`o2ochain.epcis` when it is not valid."""
        if xml:
            return epcis.parse_xml_document(data, source=source)
        return epcis.parse_document(data, source=source)

    def events_over_limit(self, data: bytes) -> int | None:
        """How many events a JSON document holds when that is more than ``capture_limit``, else
        ``None``; found before the document is read whole (reading 50 MB takes seconds, to be
        told "too many" after). Every event has exactly one ``eventTime`` key, so their count
        bounds the events', and the document is counted exactly only when that bound is over."""
        if data.count(b'"eventTime"') <= self.capture_limit:
            return None
        try:
            loaded = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None  # not JSON: parse_document says where
        body = loaded.get("epcisBody") if isinstance(loaded, dict) else None
        if isinstance(body, dict) and isinstance(body.get("queryResults"), dict):
            body = body["queryResults"].get("resultsBody")
        events = body.get("eventList") if isinstance(body, dict) else None
        return len(events) if isinstance(events, list) and len(events) > self.capture_limit else None

    def capture(self, document: epcis.EpcisDocument, token: ApiToken, *, behaviour: ErrorBehaviour = "rollback") -> str:
        """Start a capture job of ``document``'s events for ``token``; returns its id.

        Raises :class:`~o2ochain.errors.ChainError` when the node does not answer (nothing is written), and an
        :class:`~o2ochain.errors.InputError` for a document of more than ``capture_limit`` events.
        """
        if len(document.events) > self.capture_limit:
            raise InputError(
                f"the document holds {len(document.events):,} events; one capture takes at most {self.capture_limit:,}: split it",
                field="epcisBody.eventList",
            )
        if self._closed.is_set():
            raise ChainError("the server is stopping")
        if not self.node_answers():
            raise ChainError(f"the node at {self._node_url} does not answer")
        events, ids, hashed = _completed(document)
        job_id = self.repository.start_job(error_behaviour=behaviour)
        started = self.repository.job(job_id)
        if started is not None:
            self._running[job_id] = started
        job = _Job(job_id, token, behaviour, events, ids, document.source, hashed)
        if self._process is not None:
            self._process.submit(job)
            return job_id
        with self._lock:
            worker = self._workers.get(token.address)
            if worker is None:
                worker = self._workers[token.address] = _Worker(self._core, token.signer)
                worker.start()
        worker.jobs.put(job)
        return job_id

    def job(self, job_id: str) -> CaptureJob | None:
        """The capture job ``job_id`` as it stands (``None``: there is none); one this server is
        running is answered from memory."""
        return self._running.get(job_id) or self.repository.job(job_id)

    def _ended(self, job_id: str, errors: list[dict[str, Any]]) -> None:
        """Record the end of job ``job_id``, failed when there are ``errors`` (then its answers
        come from the repository)."""
        try:
            _finish_job(self.repository, job_id, errors)
        finally:
            self._running.pop(job_id, None)

    def _forget(self, job_id: str) -> None:
        """Job ``job_id`` ended in the capture process: its answers come from the repository now."""
        self._running.pop(job_id, None)

    def wait(self, job_id: str, timeout: float = 60.0) -> CaptureJob:
        """The job ``job_id`` once it has finished (polling the repository), for scripts and tests."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job is None:
                raise InputError(f"no capture job {job_id}", field="captureID", value=job_id)
            if job.status != "running":
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"capture job {job_id} still running after {timeout:.0f} s")
            time.sleep(0.05)

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking captures and stop the workers once their current jobs are done."""
        self._closed.set()
        if self._process is not None:
            self._process.close(timeout)
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.jobs.put(None)
        for worker in workers:
            worker.join(timeout)

    # ---------------------------------------------------------------------------------------
    # Reading

    def query_document(self, events: Sequence[StoredEvent], *, query_name: str = "SimpleEventQuery") -> dict[str, Any]:
        """An ``EPCISQueryDocument`` of stored events, each with its ``o2o:anchor``."""
        listed = [_with_anchor(stored) for stored in events]
        return {**_query_head(), "epcisBody": {"queryResults": {"queryName": query_name, "resultsBody": {"eventList": listed}}}}

    def query_json(self, events: Sequence[StoredEvent], *, query_name: str = "SimpleEventQuery") -> bytes:
        """:meth:`query_document` as the JSON text a query answers, made from the stored texts
        of the events without reading them: each event's text is sent as stored with its
        ``o2o:anchor`` written in before its closing brace, which is the text ``json.dumps`` of the
        document would give, in a fraction of the time (a page of a hundred events is read,
        completed and written again otherwise, many times a second)."""
        head = orjson.dumps(_query_head())
        listed = ",".join(_spliced_with_anchor(stored) for stored in events)
        tail = f',"epcisBody":{{"queryResults":{{"queryName":{_json_text(query_name)},"resultsBody":{{"eventList":[{listed}]}}}}}}}}'
        return head[:-1] + tail.encode("utf-8")

    # ---------------------------------------------------------------------------------------
    # HTTP

    def routes(self) -> list[BaseRoute]:
        """The interface's routes, relative to where it is mounted (``/epcis`` on the gateway)."""
        return _Routes(self).routes()

    def app(self) -> ASGIApp:
        """The interface as an ASGI application (its routes, with the GS1 version headers)."""
        from starlette.applications import Starlette

        return _VersionHeaders(Starlette(routes=self.routes()), capture_limit=self.capture_limit, file_size_limit=self.file_size_limit)


def _completed(document: epcis.EpcisDocument) -> tuple[list[epcis.EpcisEvent], list[str], set[int]]:
    """The document's events as they are anchored (an ``eventID`` for each: its own or its CBV 2.0
    event hash; the document's extension context as its own ``@context``), their ids, and which
    of them got their hash as their id."""
    extra = _extra_context(document.context)
    events: list[epcis.EpcisEvent] = []
    ids: list[str] = []
    hashed: set[int] = set()
    for n, event in enumerate(document.events):
        raw = event.raw
        changes: dict[str, Any] = {}
        if extra and "@context" not in raw:
            changes["@context"] = extra
        event_id = event.event_id
        if not event_id:
            event_id = epcis.event_hash(raw, document.context)
            changes["eventID"] = event_id
            hashed.add(n)
        if changes:
            raw = {**raw, **changes}
            events.append(dataclasses.replace(event, raw=raw, event_id=event_id, content_hash=epcis.content_hash(raw)))
        else:
            events.append(event)
        ids.append(event_id)
    return events, ids, hashed


def _same_event(stored: Mapping[str, Any], event: epcis.EpcisEvent) -> bool:
    """Whether a stored event and ``event`` are one event: the same text, or the same CBV 2.0
    event hash (each read with its own ``@context``)."""
    if epcis.content_hash(stored) == event.content_hash:
        return True
    try:
        return epcis.event_hash(stored) == epcis.event_hash(event.raw)
    except InputError:
        return False


def _extra_context(context: Any) -> list[Any]:
    """The entries of a document's ``@context`` beyond the EPCIS context (its extension prefixes)."""
    entries = context if isinstance(context, list) else [context]
    return [entry for entry in entries if entry is not None and entry != epcis.EPCIS_CONTEXT and not _is_epcis_context(entry)]


def _is_epcis_context(entry: Any) -> bool:
    return isinstance(entry, str) and entry.rstrip("/").endswith(("epcis-context.jsonld", "epcis-context-simple.jsonld"))


def _query_head() -> dict[str, Any]:
    """The members of a query answer before its ``epcisBody``."""
    return {
        "@context": [epcis.EPCIS_CONTEXT, {"o2o": O2O_NAMESPACE}],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": epcis.format_time(datetime.now(UTC)),
    }


def _anchor_json(anchor: Anchor) -> dict[str, Any]:
    return {
        "status": anchor.status,
        "transaction": anchor.transaction,
        "block": anchor.block,
        "contentHash": anchor.content_hash,
        "verified": anchor.status == "anchored",
    }


def _with_anchor(stored: StoredEvent) -> dict[str, Any]:
    event = stored.event
    event["o2o:anchor"] = _anchor_json(stored.anchor)
    return event


_ANCHOR_KEY: Final = '"o2o:anchor"'


def _json_text(value: Any) -> str:
    """``value`` as JSON text the way the repository stores events and Starlette answers (compact,
    UTF-8 rather than escapes)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _spliced_with_anchor(stored: StoredEvent) -> str:
    """The stored text of an event with its ``o2o:anchor`` as the last member; an event whose text
    names ``o2o:anchor`` itself (its own member is replaced, where it stands) is read and written."""
    text = stored.document.rstrip()
    if not text.endswith("}") or _ANCHOR_KEY in text:
        return _json_text(_with_anchor(stored))
    anchor = orjson.dumps(_anchor_json(stored.anchor)).decode()
    body = text[:-1].rstrip()
    return f"{body}{'' if body.endswith('{') else ','}{_ANCHOR_KEY}:{anchor}}}"


@dataclass
class _Sent:
    """Events anchored in one block, kept a while to be sent again should the block go."""

    at: float  # time.monotonic() when sent
    block: int
    block_hash: bytes | None
    brand: int
    events: dict[str, epcis.EpcisEvent]  # by event id


class _Worker(threading.Thread):
    """Sends one actor's capture jobs, in order, several at once when they queue up.

    A receipt is not the end of it: a node restarted without its last blocks (Anvil writing its
    state while it still mines), or a reorg, takes mined entries away. The worker keeps the
    blocks it sent to while they are among the node's last :data:`_FINAL_DEPTH` or younger than
    :data:`_KEEP_SENT` seconds and, before each batch and every :data:`_RECHECK_IDLE` seconds
    while idle, asks the node for their hashes (:class:`_BlockHashes`); the events of every block the node
    no longer has are sent again (what is on chain is not sent twice) and their anchors moved to
    where they now are.
    """

    def __init__(self, core: _Core, signer: Signer) -> None:
        super().__init__(name=f"epcis-capture-{signer.address}", daemon=True)
        self.core = core
        self.jobs: queue.Queue[_Job | None] = queue.Queue()
        self.actor: Actor = core.chain.actor(signer)
        self.sent: list[_Sent] = []

    def run(self) -> None:
        stopping = False
        while not stopping:
            try:
                job = self.jobs.get(timeout=_RECHECK_IDLE if self.sent else None)
            except queue.Empty:
                self._recheck()
                continue
            if job is None:
                return
            batch = [job]
            total = len(job.events)
            while total < MERGE_EVENTS:
                try:
                    more = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
                total += len(more.events)
            try:
                self._capture(batch)
            except Exception as exc:  # a bug must not leave jobs running forever
                log.exception("capture of %d job(s) failed", len(batch))
                for failed in batch:
                    self._finish(failed, [_problem("capture failed", f"the server failed: {type(exc).__name__}: {exc}", status=500)])

    def _while_node_away(self, step: Callable[[], object]) -> bool:
        """Run ``step`` until it does not fail for the node's sake (the node stopped, a provider's
        5xx): what a capture sends is checked against the chain again on each try, so a retry
        sends nothing twice. False if the service is stopping before it succeeded."""
        pauses = iter(_RETRY_PAUSES)
        while True:
            try:
                step()
                return True
            except ChainError as exc:
                if self.core.closed.is_set():
                    return False
                pause = next(pauses, _RETRY_PAUSES[-1])
                log.warning("capture waits for the node (%s); retrying in %.1f s", exc, pause)
                time.sleep(pause)

    def _finish(self, job: _Job, errors: list[dict[str, Any]]) -> None:
        self.core.ended(job.id, errors)

    def _capture(self, batch: list[_Job]) -> None:
        self._recheck()
        repository = self.core.repository
        ready: list[_Job] = []
        for job in batch:
            if not self._while_node_away(functools.partial(self._check, job)):
                return  # stopping: the jobs stay running; the next start fails them, a resend completes them
            if job.errors and (job.behaviour == "rollback" or not job.keep):
                self._finish(job, job.errors)
                continue
            repository.add_events([NewEvent(job.ids[n], job.events[n].raw) for n in job.keep], job_id=job.id)
            ready.append(job)
        by_brand: dict[int, list[_Job]] = defaultdict(list)
        for job in ready:
            by_brand[job.token.brand].append(job)
        for brand, jobs in by_brand.items():
            self._send(brand, jobs)

    def _check(self, job: _Job) -> None:
        """Find what the chain and the repository would refuse, per event; ``job.keep`` is the rest."""
        problems: dict[int, list[dict[str, Any]]] = defaultdict(list)
        general: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for n, (event, event_id) in enumerate(zip(job.events, job.ids, strict=True)):
            first = seen.setdefault(event_id, n)
            if first != n and n not in job.hashed and not _same_event(job.events[first].raw, event):
                problems[n].append(
                    _event_problem(event, event_id, "eventID", f"eventID {event_id} is used by another event in this document")
                )
        stored = self.core.repository.events(job.ids)
        for n, (event, event_id) in enumerate(zip(job.events, job.ids, strict=True)):
            known = stored.get(event_id)
            # The same event, however written (another time zone, list order, JSON or XML), is
            # captured once and keeps its first copy; an eventID its sender gave to another event
            # is refused (a correction is an error declaration, not a replacement).
            if known is not None and n not in job.hashed and not _same_event(known.event, event):
                problems[n].append(
                    _event_problem(
                        event, event_id, "eventID", f"eventID {event_id} was captured before for another event; it is not replaced"
                    )
                )
        try:
            self.actor.check_events(job.events, brand=job.token.brand, source=job.source)
        except InputErrors as exc:
            _sort_errors(exc.errors, job, problems, general)
        except InputError as exc:
            _sort_errors([exc], job, problems, general)
        job.errors = general + [problem for n in sorted(problems) for problem in problems[n]]
        job.keep = [] if general else [n for n in range(len(job.events)) if n not in problems]

    def _send(self, brand: int, jobs: list[_Job]) -> None:
        """Anchor the jobs' kept events (each content once), retrying while the node is away."""
        kept = {job.ids[n]: job.events[n] for job in jobs for n in job.keep}
        try:
            anchors = self._anchor(brand, kept)
        except O2OError as exc:
            for job in jobs:
                self._finish(job, [*job.errors, _problem("capture refused", str(exc))])
            self.core.repository.set_anchors({event_id: Anchor("failed") for event_id in kept})
            return
        if anchors is None:
            return  # stopping: the jobs stay running; the next start fails them, a resend completes them
        for job in jobs:
            missing = [job.ids[n] for n in job.keep if anchors[job.ids[n]].status != "anchored"]
            extra = [_problem("not anchored", f"event {event_id} was sent but is not on chain") for event_id in missing]
            self._finish(job, [*job.errors, *extra])

    def _anchor(self, brand: int, kept: Mapping[str, epcis.EpcisEvent], *, moved: bool = False) -> dict[str, Anchor] | None:
        """Record ``kept`` (by event id) on chain under ``brand`` and store where each is (``moved``:
        in place of anchors whose block the node lost): their anchors, or ``None`` when the service
        stopped first. Raises the chain's refusal."""
        events: dict[bytes, epcis.EpcisEvent] = {}
        for event in kept.values():
            events.setdefault(event.content_hash, event)
        reports: list[ImportReport] = []
        if not self._while_node_away(
            lambda: reports.append(self.actor.record_events(list(events.values()), brand=brand, source="<capture>"))
        ):
            return None
        found = reports[0].anchors
        anchors: dict[str, Anchor] = {}
        blocks: dict[int, dict[str, epcis.EpcisEvent]] = defaultdict(dict)
        for event_id, event in kept.items():
            where = found.get(event.content_hash)
            if where is None:
                anchors[event_id] = Anchor("failed")
            else:
                anchors[event_id] = Anchor("anchored", where[0], where[1], "0x" + event.content_hash.hex())
                blocks[where[1]][event_id] = event
        self.core.repository.set_anchors(anchors, moved=moved)
        now = time.monotonic()
        try:
            hashes = self.core.hashes.of(blocks.keys())[1]
        except ChainError:
            hashes = {}  # checked again (and the events found on chain) at the next recheck
        self.sent.extend(_Sent(now, number, hashes.get(number), brand, events) for number, events in blocks.items())
        return anchors

    def _recheck(self) -> None:
        """Send again the events of the kept blocks the node no longer has (see the class)."""
        if not self.sent:
            return
        try:
            head, hashes = self.core.hashes.of(sent.block for sent in self.sent)
        except ChainError:
            return  # the node is away: asked again before the next batch
        now = time.monotonic()
        self.sent = [sent for sent in self.sent if head - sent.block < _FINAL_DEPTH or now - sent.at < _KEEP_SENT]
        # Every block is checked, not only the newest: after a restart that lost blocks, the next
        # batch is mined on the shortened chain, and its block vouches for nothing sent before.
        kept: list[_Sent] = []
        gone: list[_Sent] = []
        for sent in self.sent:
            (kept if sent.block_hash is not None and hashes.get(sent.block) == sent.block_hash else gone).append(sent)
        if not gone:
            return
        self.sent = kept
        by_brand: dict[int, dict[str, epcis.EpcisEvent]] = defaultdict(dict)
        for sent in gone:
            by_brand[sent.brand].update(sent.events)
        for brand, events in by_brand.items():
            log.warning("%d captured event(s) were in blocks the node no longer has: sending them again", len(events))
            try:
                self._anchor(brand, events, moved=True)
            except O2OError as exc:
                log.error("%d captured event(s) could not be sent again: %s", len(events), exc)
                self.core.repository.set_anchors({event_id: Anchor("failed") for event_id in events}, moved=True)


def _problem(title: str, detail: str, *, status: int = 400, **members: Any) -> dict[str, Any]:
    """An RFC 7807 problem (what a capture job lists as its errors)."""
    problem: dict[str, Any] = {"type": "epcisException:ValidationException", "title": title, "status": status, "detail": detail}
    if status >= 500:
        problem["type"] = "epcisException:ImplementationException"
    problem.update({k: v for k, v in members.items() if v is not None})
    return problem


def _event_problem(event: epcis.EpcisEvent, event_id: str, field: str | None, message: str) -> dict[str, Any]:
    where = event.path if field is None else f"{event.path}.{field}"
    return _problem("event refused", message, eventID=event_id, field=where)


def _sort_errors(errors: Iterable[InputError], job: _Job, problems: dict[int, list[dict[str, Any]]], general: list[dict[str, Any]]) -> None:
    """File each error under the event its JSON path points into, or as the whole job's."""
    for error in errors:
        match = _EVENT_INDEX.search(error.field or "")
        if match is not None and int(match.group(1)) < len(job.events):
            n = int(match.group(1))
            problems[n].append(_problem("event refused", error.message, eventID=job.ids[n], field=error.field))
        else:
            general.append(_problem("capture refused", error.message, field=error.field))


# --------------------------------------------------------------------------------------------
# HTTP


def _problem_response(status: int, kind: str, title: str, detail: str | None = None, **members: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"epcisException:{kind}", "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update({k: v for k, v in members.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _input_problem(exc: InputError, kind: str = "ValidationException") -> JSONResponse:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    listed = [{k: v for k, v in error.to_dict().items() if v is not None} for error in errors]
    title = "the document is not valid EPCIS 2.0" if kind == "ValidationException" else "a query parameter is wrong"
    return _problem_response(400, kind, title, str(exc), errors=listed)


def _media_type(request: Request) -> str | None:
    """What the client's ``Accept`` asks for among what a query answer can be: JSON (the
    binding's default), JSON-LD (the same text, labelled so), XML; ``None`` when none of them."""
    accept = request.headers.get("accept", "").lower()
    if not accept.strip():
        return "application/json"
    ranked: list[tuple[float, str]] = []
    for part in accept.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((quality, kind))
    for _, kind in sorted(ranked, key=lambda pair: -pair[0]):
        if kind in _JSON_TYPES or kind in _XML_TYPES:
            return "application/xml" if kind in _XML_TYPES else kind
        if kind in ("application/*", "*/*"):
            return "application/json"
    return None


def _not_acceptable() -> JSONResponse:
    return _problem_response(
        406, "NotAcceptableException", "this resource is served as application/ld+json, application/json or application/xml"
    )


def _collection(members: Sequence[str], status: int = 200) -> JSONResponse:
    return JSONResponse({"@context": epcis.EPCIS_CONTEXT, "type": "Collection", "member": list(members)}, status_code=status)


class _Routes:
    """The HTTP endpoints of one :class:`EpcisService`."""

    def __init__(self, service: EpcisService) -> None:
        self.service = service

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/", self.top_level, methods=["GET", "HEAD"]),
            Route("/capture", self.post_capture, methods=["POST"]),
            Route("/capture", self.list_jobs, methods=["GET", "HEAD"]),
            Route("/capture/{capture_id}", self.get_job, methods=["GET", "HEAD"]),
            Route("/events", self.events, methods=["GET", "HEAD"]),
            Route("/events", self.not_implemented, methods=["POST"]),
            Route("/events/{event_id:path}", self.event, methods=["GET", "HEAD"]),
            Route("/queries", self.not_implemented, methods=["GET", "HEAD", "POST"]),
            Route("/queries/{rest:path}", self.not_implemented, methods=["GET", "HEAD", "POST", "DELETE"]),
            Route("/nextPageToken/{token}", self.not_implemented, methods=["DELETE"]),
        ]
        for name in _DISCOVERY:
            routes.append(Route(f"/{name}", self.discovery(name), methods=["GET", "HEAD"]))
            routes.append(Route(f"/{name}/{{value:path}}", self.value_resource(name), methods=["GET", "HEAD"]))
        return routes

    async def top_level(self, request: Request) -> Response:
        return _collection(_TOP_LEVEL)

    async def not_implemented(self, request: Request) -> Response:
        return _problem_response(
            501, "ImplementationException", "not implemented", "named queries, subscriptions and POST /events are not implemented here"
        )

    async def post_capture(self, request: Request) -> Response:
        service = self.service
        token = service.authorise(request.headers.get("authorization"))
        if token is None:
            return _problem_response(
                401, "SecurityException", "Unauthorised request", "capture needs a valid API token: Authorization: Bearer <token>"
            )
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in (*_JSON_TYPES, *_XML_TYPES):
            return _problem_response(
                415,
                "UnsupportedMediaTypeException",
                "unsupported media type",
                f"capture takes application/ld+json, application/json or application/xml, not {media or 'a body without a type'}",
            )
        behaviour = request.headers.get("gs1-capture-error-behaviour", "rollback").strip().lower()
        if behaviour not in ("rollback", "proceed"):
            return _problem_response(400, "ValidationException", "bad GS1-Capture-Error-Behaviour", "it is rollback or proceed")
        try:
            declared = int(request.headers.get("content-length") or 0)
        except ValueError:
            declared = 0
        if declared > service.file_size_limit:
            return self._too_large(f"the document is {declared:,} bytes; a capture takes at most {service.file_size_limit:,}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > service.file_size_limit:
                return self._too_large(f"the document is over {service.file_size_limit:,} bytes, the most a capture takes")
            chunks.append(chunk)
        data = b"".join(chunks)
        if not await run_in_threadpool(service.node_answers):  # a probe may wait for the node: not on the event loop
            return self._node_away()
        over = None if media in _XML_TYPES else await run_in_threadpool(service.events_over_limit, data)
        if over is not None:
            return self._too_large(f"the document holds {over:,} events; a capture takes at most {service.capture_limit:,}: split it")
        try:
            document = await run_in_threadpool(service.read_document, data, xml=media in _XML_TYPES)
        except InputError as exc:
            return _input_problem(exc)
        if len(document.events) > service.capture_limit:
            return self._too_large(f"the document holds {len(document.events):,} events; a capture takes at most {service.capture_limit:,}")
        try:
            job_id = await run_in_threadpool(service.capture, document, token, behaviour=behaviour)  # type: ignore[arg-type]
        except ChainError:
            return self._node_away()
        location = f"{request.scope.get('root_path', '')}/capture/{quote(job_id)}"
        return JSONResponse({"captureID": job_id}, status_code=202, headers={"Location": location})

    def _too_large(self, detail: str) -> Response:
        return _problem_response(413, "CaptureLimitExceededException", "the capture is too large", detail)

    def _node_away(self) -> Response:
        response = _problem_response(
            503, "ImplementationException", "the chain node does not answer", "nothing was captured; send the document again later"
        )
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response

    async def list_jobs(self, request: Request) -> Response:
        params = request.query_params
        try:
            jobs, token = await run_in_threadpool(
                self.service.repository.jobs, per_page=params.get("perPage"), next_page_token=params.get("nextPageToken")
            )
        except InputError as exc:
            return _input_problem(exc, "QueryParameterException")
        headers = {}
        if token is not None:
            headers["Link"] = f'<{_next_url(request, {"perPage": params.get("perPage")}, token)}>; rel="next"'
        return JSONResponse([_job_json(job) for job in jobs], headers=headers)

    async def get_job(self, request: Request) -> Response:
        capture_id = request.path_params["capture_id"]
        # A running job of this server is answered here, without a worker thread: partners poll.
        job = self.service._running.get(capture_id) or await run_in_threadpool(self.service.job, capture_id)
        if job is None:
            return _problem_response(404, "NoSuchNameException", "no such capture job")
        return JSONResponse(_job_json(job))

    async def events(self, request: Request, fixed: Mapping[str, str] | None = None) -> Response:
        media = _media_type(request)
        if media is None:
            return _not_acceptable()
        parameters: dict[str, list[str]] = defaultdict(list)
        for name, value in request.query_params.multi_items():
            parameters[name].append(value)
        for name, value in (fixed or {}).items():
            if name in parameters:
                return _problem_response(
                    400, "QueryParameterException", "a query parameter is wrong", f"{name} is given by the path; do not repeat it"
                )
            parameters[name] = [value]
        query: dict[str, str | list[str]] = {k: v[0] if len(v) == 1 else v for k, v in parameters.items()}

        def answer() -> tuple[bytes, str | None]:
            page = self.service.repository.query(query)
            return self._render(page.events, media), page.next_page_token

        try:
            body, token = await run_in_threadpool(answer)
        except InputError as exc:
            return _input_problem(exc, "QueryParameterException")
        headers: dict[str, str] = {}
        if token is not None:
            kept = {k: v for k, v in query.items() if k != "nextPageToken" and k not in (fixed or {})}
            headers["Link"] = f'<{_next_url(request, kept, token)}>; rel="next"'
        return Response(body, media_type=media, headers=headers)

    def _render(self, events: Sequence[StoredEvent], media: str) -> bytes:
        """The query answer of ``events`` as ``media`` (run in a worker thread, beside the query)."""
        if media == "application/xml":
            return epcis.document_to_xml(self.service.query_document(events))
        return self.service.query_json(events)

    async def event(self, request: Request) -> Response:
        media = _media_type(request)
        if media is None:
            return _not_acceptable()

        def answer() -> bytes | None:
            stored = self.service.repository.event(request.path_params["event_id"])
            if stored is None or stored.anchor.status != "anchored":
                return None
            return self._render([stored], media)

        body = await run_in_threadpool(answer)
        if body is None:
            return _problem_response(404, "NoSuchNameException", "no such event", "no anchored event has this eventID")
        return Response(body, media_type=media)

    def discovery(self, name: str) -> Callable[[Request], Any]:
        listed, _ = _DISCOVERY[name]

        async def endpoint(request: Request) -> Response:
            params = request.query_params
            try:
                page = await run_in_threadpool(
                    self.service.repository.values, listed, per_page=params.get("perPage"), next_page_token=params.get("nextPageToken")
                )
            except InputError as exc:
                return _input_problem(exc, "QueryParameterException")
            response = _collection(page.values)
            if page.next_page_token is not None:
                response.headers["Link"] = f'<{_next_url(request, {"perPage": params.get("perPage")}, page.next_page_token)}>; rel="next"'
            return response

        return endpoint

    def value_resource(self, name: str) -> Callable[[Request], Any]:
        _, parameter = _DISCOVERY[name]

        async def endpoint(request: Request) -> Response:
            value: str = request.path_params["value"]
            if value.endswith("/events"):
                assert parameter is not None
                return await self.events(request, {parameter: value.removesuffix("/events")})
            return _collection(["events"])

        return endpoint


def _next_url(request: Request, parameters: Mapping[str, Any], token: str) -> str:
    pairs: list[tuple[str, str]] = []
    for name, value in parameters.items():
        if value is None:
            continue
        pairs.extend((name, v) for v in (value if isinstance(value, list) else [value]))
    pairs.append(("nextPageToken", token))
    return f"{request.url.scheme}://{request.url.netloc}{request.url.path}?{urlencode(pairs)}"


def _job_json(job: CaptureJob) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "captureID": job.id,
        "createdAt": epcis.format_time(job.created),
        "running": job.status == "running",
        "success": job.status != "failed",
        "captureErrorBehaviour": job.error_behaviour,
        "errors": [_as_problem(error) for error in job.errors],
    }
    if job.finished is not None:
        shown["finishedAt"] = epcis.format_time(job.finished)
    if job.status != "running":
        shown["eventIDs"] = job.event_ids
    return shown


def _as_problem(error: Mapping[str, Any]) -> dict[str, Any]:
    """A stored job error as an RFC 7807 problem (older rows may lack ``type`` or ``title``)."""
    shown = dict(error)
    shown.setdefault("type", "epcisException:ValidationException")
    shown.setdefault("title", "capture error")
    return shown


class _VersionHeaders:
    """Every answer of the interface says which EPCIS and CBV versions it speaks; ``OPTIONS`` on
    any resource answers 204 with what it allows (the binding's discovery)."""

    def __init__(self, app: ASGIApp, *, capture_limit: int, file_size_limit: int) -> None:
        self.app = app
        self.headers = [
            (b"gs1-epcis-version", EPCIS_VERSION.encode()),
            (b"gs1-cbv-version", CBV_VERSION.encode()),
            (b"gs1-epcis-min", EPCIS_VERSION.encode()),
            (b"gs1-epcis-max", EPCIS_VERSION.encode()),
            (b"gs1-cbv-min", CBV_VERSION.encode()),
            (b"gs1-cbv-max", CBV_VERSION.encode()),
            (b"gs1-epcis-capture-limit", str(capture_limit).encode()),
            (b"gs1-epcis-capture-file-size-limit", str(file_size_limit).encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            path = scope.get("path", "")
            allow = "OPTIONS, GET, HEAD, POST" if path.rstrip("/").endswith("/capture") else "OPTIONS, GET, HEAD"
            response = Response(status_code=204, headers={"Allow": allow, "GS1-Capture-Error-Behaviour": "rollback, proceed"})
            await self._send_with_headers(response, scope, receive, send)
            return
        await self._send_with_headers(self.app, scope, receive, send)

    async def _send_with_headers(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await app(scope, receive, sending)
