"""The EPCIS repository, measured (issue 17): capture over HTTP into the chain, queries among
1,000,000 stored events, validation of a 50 MB document, and a load test with the node restarted.
Prints a table (each target, and whether this run met it) and writes bench/out/epcis.json.

1. Validation (``validate_50mb_s``): a partner's nightly upload of ``--validate-mb`` MB
   (bench/_epcis_docs.py's events: some 170,000 make 50 MB), timed through what ``POST /epcis/capture``
   does with the body before it answers or sends anything (:data:`CAPTURE_CHECKS`:
   ``parse_document``, which checks GS1's schema and EPCIS's rules and reads the events in one
   pass, from the request's bytes): the time the server takes to know the document is valid and
   what it holds. ``validate_document`` alone (the checks without reading) is measured beside it.
2. Queries (``query_p95_ms_sqlite``, ``query_p95_ms_postgres``): ``--stored`` synthetic events
   (bench/_epcis_data.py: a year of a supply chain) in the repository, on SQLite and on a
   PostgreSQL server of its own (tests/postgres.py: Debian's package, run as the ``postgres``
   user when we are root), then bench/_epcis_data.py's query mix (one item's history, a GTIN's
   items, a day of a step at a site …, first and second pages): the p95 of every query's time.
   The SQLite file is kept in ``--data-dir`` and reused by the next run when it holds as many.
3. Capture (``capture_events_per_s``, ``capture_speedup``): o2ochain deployed on Anvil, a brand
   with ``--gtins`` products, ``--actors`` authorised actors, ``o2ochain serve --tokens``; then
   ``--capture-events`` events (each commissioning one item) posted to ``/epcis/capture`` in
   documents of ``--doc-events`` from ``--capture-clients`` concurrent clients, timed from the
   first POST to the last job's ``success`` (its ``finishedAt``). The baseline: ``--naive-events``
   such events each recorded by its own ``Actor.record_events([event])`` call (one transaction
   per event, each waited for), a naive loop over the library; the speed-up is the ratio of rates.
4. Load (``load_5xx``, ``load_lost``, ``load_duplicated``, ``load_query_p95_ms``): on the same
   server, ``--load-clients`` capture clients (each posts a document of ``--load-doc-events``,
   waits for its job, posts the next; a 503 is sent again after its ``Retry-After``, as a
   partner does, but an accepted document never) and ``--load-qps`` queries a second (sent on
   schedule whether or not the last ones have answered, by up to 48 clients at once: when the
   server answers fewer, the rest wait and those still waiting at the end are not sent, counted
   in ``queries_not_sent``; the answered rate says whether it kept up) for ``--load-seconds``; halfway
   the node is stopped (SIGTERM: Anvil writes its ``--state`` file) and started again on the
   same port from that state after ``--outage`` seconds. Then, once every job has ended:
   ``load_5xx`` counts answers >= 500 other than 503 with ``Retry-After``; every event of every
   document a 202 accepted must be on chain exactly once (its item's chain under the brand holds
   one entry: ``load_lost`` counts those with none, or that ``GET /epcis/events/{eventID}`` does
   not answer with an anchor, the events of a job that failed among them; ``load_duplicated``
   those with more) and ``load_query_p95_ms`` is the queries' p95 (from sending to the answer).

    .venv/bin/python bench/epcis.py [--quick] [--parts validate,query,capture,load] [--port 0] [--out bench/out/epcis.json]

``--quick`` runs every part small (100,000 stored events, a 5 MB document, 2,000 captured events,
30 s of load); the figures of a quick run do not meet the targets by definition (they are for
1,000,000 events, 50 MB and 5 minutes). The load generator runs in this process on the same
machine as the server and the node: its own CPU use is part of the conditions recorded.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import requests
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ and tests/ are importable from the checkout's root
    sys.path.insert(0, str(ROOT))

from bench import _epcis_data, _epcis_docs  # noqa: E402
from bench.page import summarize  # noqa: E402
from o2ochain import epcis, gs1  # noqa: E402
from o2ochain._chain.connection import Anvil, dev_accounts, free_port, http_web3  # noqa: E402
from o2ochain.client import O2OChain  # noqa: E402
from o2ochain.serve import EventRepository  # noqa: E402

#: The issue's targets.
TARGET_CAPTURE_PER_S = 300.0
TARGET_SPEEDUP = 5.0
TARGET_QUERY_P95_MS = 100.0
TARGET_VALIDATE_S = 10.0
TARGET_STORED = 1_000_000
TARGET_VALIDATE_BYTES = 50_000_000
TARGET_LOAD_SECONDS = 300
TARGET_LOAD_CLIENTS = 20
TARGET_LOAD_QPS = 200

#: The keys of bench/out/epcis.json the issue names.
KEYS = (
    "capture_events_per_s",
    "capture_speedup",
    "query_p95_ms_sqlite",
    "query_p95_ms_postgres",
    "validate_50mb_s",
    "load_5xx",
    "load_lost",
    "load_duplicated",
    "load_query_p95_ms",
)

#: What ``POST /epcis/capture`` runs on a JSON-LD body before it answers or sends anything
#: (``EpcisService.read_document`` in src/o2ochain/serve/_epcis.py): ``parse_document`` validates
#: (GS1's schema, EPCIS's rules: all of ``validate_document``) and reads the events in one pass.
#: validate_50mb_s is the time of these; ``validate_document`` alone is measured beside them.
CAPTURE_CHECKS = ("parse_document",)
VALIDATION_STEPS = ("validate_document", "parse_document")

#: The brand's company prefix and the site its events happen at.
PREFIX = "9506070"
SITE = f"urn:epc:id:sgln:{PREFIX}.00001.0"
T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
#: Accounts (Anvil's development keys): the operator, the brand's admin, then actors.
OPERATOR, BRAND_ADMIN, FIRST_ACTOR = 0, 1, 2
EVENT_IDS = uuid.UUID("5f0c8a52-3c1b-4b7e-9d0e-017000000000")
#: How often a load test's client asks how its job is doing (seconds): a partner's system polls,
#: it does not hammer; the polls are requests the server answers beside the queries.
LOAD_JOB_POLL = 1.0
#: How long a job may take to end once its document is accepted (the node may be away meanwhile).
JOB_TIMEOUT = 600.0
ALL_PARTS = ("validate", "query", "capture", "load")


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


# -- 1. validation ---------------------------------------------------------------------------------
def events_for_size(megabytes: float) -> int:
    """How many of bench/_epcis_docs.py's events make a document of about ``megabytes`` MB
    (its docstring's "220,000 are about 50 MB" does not hold: 220,000 are some 65 MB)."""
    sample = 10_000
    return max(1, round(megabytes * 1e6 / (len(_epcis_docs.document_bytes(sample)) / sample)))


def measure_validation(events: int, runs: int, console: Console) -> dict[str, Any]:
    """:data:`VALIDATION_STEPS` on a document of ``events`` events from its bytes, ``runs`` times
    each; the medians of :data:`CAPTURE_CHECKS` add up to the key.

    Each run's processor time (this process's, user and system) is recorded beside its elapsed
    time: on a machine other work shares, the elapsed time grows with the load (the load after the
    part is recorded too), the processor time much less, so two runs can be compared by it."""
    data = _epcis_docs.document_bytes(events)
    console.print(f"   a document of {events:,} events, {len(data) / 1e6:.1f} MB")
    steps: dict[str, Callable[[], Any]] = {
        "validate_document": lambda: epcis.validate_document(data, source="capture"),
        "parse_document": lambda: epcis.parse_document(data, source="capture"),
    }
    seconds: dict[str, list[float]] = {}
    cpu_seconds: dict[str, list[float]] = {}
    for name in VALIDATION_STEPS:
        seconds[name], cpu_seconds[name] = [], []
        for _ in range(runs):
            cpu_started = time.process_time()
            took, _value = timed(steps[name])
            seconds[name].append(round(took, 2))
            cpu_seconds[name].append(round(time.process_time() - cpu_started, 2))
        elapsed, processor = (", ".join(f"{s:.2f}" for s in values) for values in (seconds[name], cpu_seconds[name]))
        console.print(f"   {name}: {elapsed} s (processor: {processor} s)")
    median = {name: sorted(values)[len(values) // 2] for name, values in seconds.items()}
    return {
        "events": events,
        "bytes": len(data),
        "megabytes": round(len(data) / 1e6, 1),
        "capture_runs": list(CAPTURE_CHECKS),
        "runs_s": seconds,
        "cpu_runs_s": cpu_seconds,
        "median_s": median,
        "total_s": round(sum(median[name] for name in CAPTURE_CHECKS), 2),
    }


# -- 2. queries ------------------------------------------------------------------------------------
def load_stored(database: str, stored: int, console: Console, *, loaded_mark: Path | None = None) -> float | None:
    """Store ``stored`` synthetic events in ``database`` unless ``loaded_mark`` says it holds them
    already; the seconds taken (None: kept from an earlier run)."""
    reuse = loaded_mark is not None and loaded_mark.is_file() and loaded_mark.read_text().strip() == str(stored)
    if loaded_mark is not None and not reuse:  # a file an interrupted run left half loaded: start it over
        for leftover in (Path(database), Path(database + "-wal"), Path(database + "-shm"), loaded_mark):
            leftover.unlink(missing_ok=True)
    with EventRepository.open(database) as repository:
        if reuse:
            console.print(f"   {stored:,} events already stored there (kept from an earlier run)")
            return None
        seconds = _epcis_data.load(repository, stored, progress=False)
        repository.optimize()  # PostgreSQL's statistics, as the repository refreshes them as it grows
    console.print(f"   stored {stored:,} events in {seconds:.0f} s ({stored / seconds:,.0f}/s)")
    if loaded_mark is not None:
        loaded_mark.write_text(f"{stored}\n")
    return round(seconds, 1)


def time_http_queries(base: str, queries: list[tuple[str, dict[str, str]]], *, per_page: int = 100) -> list[tuple[str, float, int]]:
    """bench/_epcis_data.py's :func:`time_queries` over HTTP: ``GET /epcis/events`` (first page,
    then the ``Link: rel="next"`` page when there is one), one at a time; (name, ms, events)."""
    session = requests.Session()
    timings: list[tuple[str, float, int]] = []

    def get(url: str, params: dict[str, str] | None) -> tuple[requests.Response, float]:
        began = time.perf_counter()
        answer = session.get(url, params=params, timeout=60)
        took = (time.perf_counter() - began) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"GET {answer.url}: {answer.status_code} {answer.text[:300]}")
        return answer, took

    for name, parameters in queries:
        first, ms = get(base + "/epcis/events", parameters | {"perPage": str(per_page)})
        timings.append((name, ms, len(_event_list(first.json()))))
        following = first.links.get("next", {}).get("url")
        if following:
            second, ms = get(following, None)
            timings.append((f"{name}, page 2", ms, len(_event_list(second.json()))))
    return timings


def _event_list(body: Any) -> list[Any]:
    events = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return events if isinstance(events, list) else []


def query_figures(timings: list[tuple[str, float, int]]) -> dict[str, Any]:
    """p95 of every query's time, the slowest kind of query, and each kind's p95."""
    every = [ms for _, ms, _ in timings]
    by_kind: dict[str, list[float]] = {}
    for name, ms, _ in timings:
        by_kind.setdefault(name, []).append(ms)
    worst = max(by_kind.items(), key=lambda kv: _epcis_data.percentile(kv[1], 0.95))
    return {
        "ms": summarize(every),
        "p95_ms": round(_epcis_data.percentile(every, 0.95), 1),
        "slowest_kind": {"name": worst[0], "p95_ms": round(_epcis_data.percentile(worst[1], 0.95), 1)},
        "by_kind_p95_ms": {name: round(_epcis_data.percentile(values, 0.95), 1) for name, values in by_kind.items()},
    }


def measure_queries(
    database: str,
    database_url: str,
    stored: int,
    queries: int,
    console: Console,
    args: argparse.Namespace,
    *,
    loaded_mark: Path | None = None,
) -> dict[str, Any]:
    """``stored`` events in ``database``; bench/_epcis_data.py's query mix through the library
    (``EventRepository.query``), then over HTTP from ``o2ochain serve`` on that database."""
    result: dict[str, Any] = {
        "stored": stored,
        "queries": queries,
        "load_s": load_stored(database, stored, console, loaded_mark=loaded_mark),
    }
    mix = _epcis_data.query_mix(_epcis_data.World(stored, 17), queries)
    with EventRepository.open(database) as repository:
        library = query_figures(_epcis_data.time_queries(repository, mix))
        result["discovery_ms"] = {name: round(ms, 1) for name, ms, _ in _epcis_data.time_discovery(repository)}
    result["library"] = library
    console.print(
        f"   library (EventRepository.query), {library['ms']['n']} queries: p50 {library['ms']['p50']} ms, p95 {library['p95_ms']} ms"
    )
    with workspace(None) as tmp:
        world = World(tmp, args.port + 2 if args.port else 0, 1, 1, database_url=database_url)
        try:
            world.start()
            http = query_figures(time_http_queries(world.serve_url, mix))
        finally:
            world.stop()
    result["http"] = http
    result["p95_ms"] = http["p95_ms"]
    console.print(
        f"   over HTTP (GET /epcis/events), {http['ms']['n']} queries: p50 {http['ms']['p50']} ms, p95 {http['p95_ms']} ms; "
        f"slowest kind {http['slowest_kind']['name']!r} (p95 {http['slowest_kind']['p95_ms']} ms)"
    )
    return result


@contextmanager
def postgres() -> Iterator[Any]:
    """A PostgreSQL server of its own (tests/postgres.py), or None with the reason printed."""
    from tests.postgres import PostgresServer, postgres_available

    reason = postgres_available()
    if reason is not None:
        raise RuntimeError(reason)
    with PostgresServer() as server:
        yield server


# -- the chain and the server ----------------------------------------------------------------------
def item_urn(gtin: str, serial: str) -> str:
    """The SGTIN URN of ``gtin`` (a GTIN-14 of :data:`PREFIX`) and ``serial``."""
    return f"urn:epc:id:sgtin:{PREFIX}.{gtin[0]}{gtin[1 + len(PREFIX) : 13]}.{serial}"


def goods_event(tag: str, n: int, gtins: Sequence[str]) -> dict[str, Any]:
    """Event ``n`` of series ``tag``: an item of one of ``gtins`` commissioned at the site, with
    an ``eventID`` (each event names an item of its own: its chain holds exactly this event)."""
    moment = T0 + timedelta(seconds=n, milliseconds=n % 1000)
    return {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{uuid.uuid5(EVENT_IDS, f'{tag}/{n}')}",
        "eventTime": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "epcList": [item_urn(gtins[n % len(gtins)], f"{tag}{n:08d}")],
        "readPoint": {"id": SITE},
        "bizLocation": {"id": SITE},
    }


def document(events: Sequence[dict[str, Any]]) -> bytes:
    """An EPCIS 2.0 JSON-LD document of ``events``, compact, as a partner's system posts it."""
    doc = {
        "@context": [_epcis_docs.EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "epcisBody": {"eventList": list(events)},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def serve_command(world: World, port: int) -> list[str]:
    """``o2ochain serve`` on ``world``'s node, deployment and tokens, listening on ``port``."""
    assert world.node is not None
    command = [sys.executable, "-m", "o2ochain.cli", "serve", "--rpc", world.node.url, "--deployment", str(world.tmp / "deployments")]
    return [*command, "--store", str(world.tmp / "store"), "--port", str(port), "--tokens", str(world.tmp / "tokens.jsonl")]


@dataclass
class World:
    """Anvil with o2ochain deployed, a brand with products and actors, and ``o2ochain serve``."""

    tmp: Path
    port: int
    actors: int
    gtins_count: int
    database_url: str | None = None
    node: Anvil | None = None
    chain: O2OChain | None = None
    brand: int = 0
    gtins: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    serve_url: str = ""
    _serve: subprocess.Popen[bytes] | None = None

    def start(self) -> World:
        accounts = dev_accounts(FIRST_ACTOR + self.actors + 1)
        # The state file lets the load test restart the node where it was (written on SIGTERM).
        self.node = Anvil(port=self.port or None, state=self.tmp / "anvil-state.json", state_interval=3600, log_path=self.tmp / "anvil.log")
        self.node.start()
        chain = O2OChain(http_web3(self.node.url), accounts=accounts)
        chain.use_store(self.tmp / "library-events")
        chain.deploy(accounts[OPERATOR], save_to=self.tmp / "deployments")
        self.brand = chain.admin(accounts[OPERATOR]).register_brand(accounts[BRAND_ADMIN].address, "Bench Capture Foods", [PREFIX])
        brand_admin = chain.brand(accounts[BRAND_ADMIN], self.brand)
        self.gtins = [gs1.make_gtin(PREFIX, 100 + k) for k in range(self.gtins_count)]
        for gtin in self.gtins:
            brand_admin.add_product(gtin)
        trace_admin = chain.trace_admin(accounts[BRAND_ADMIN], self.brand)
        for k in range(self.actors + 1):  # the last one records the naive baseline
            trace_admin.grant(accounts[FIRST_ACTOR + k].address, "plant")
        self.chain = chain
        self.tokens = [f"bench-token-{k}-{uuid.uuid4().hex}" for k in range(self.actors)]
        lines = [json.dumps({"token": t, "account": f"dev:{FIRST_ACTOR + k}", "brand": self.brand}) for k, t in enumerate(self.tokens)]
        (self.tmp / "tokens.jsonl").write_text("\n".join(lines) + "\n")
        self._start_serve()
        return self

    @property
    def naive_account(self) -> Any:
        return dev_accounts(FIRST_ACTOR + self.actors + 1)[FIRST_ACTOR + self.actors]

    def _start_serve(self) -> None:
        assert self.node is not None
        port = free_port() if not self.port else self.port + 1
        command = serve_command(self, port)
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # SQLite next to the store unless told
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        log = open(self.tmp / "serve.log", "wb")  # noqa: SIM115 - lives as long as the process
        self._serve = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.serve_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if self._serve.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"o2ochain serve did not start:\n{self.serve_log()[-3000:]}")
            try:
                requests.get(self.serve_url + "/epcis/", timeout=5)
                return
            except requests.ConnectionError:
                time.sleep(0.2)

    def serve_log(self) -> str:
        path = self.tmp / "serve.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def restart_node(self, outage: float) -> dict[str, float]:
        """Stop the node (SIGTERM: it writes its state), wait ``outage`` s, start it again on the same port."""
        assert self.node is not None
        began = time.perf_counter()
        self.node.stop()
        stopped = time.perf_counter()
        time.sleep(outage)
        self.node.start(timeout=120)
        return {"stop_s": round(stopped - began, 2), "away_s": round(time.perf_counter() - stopped, 2)}

    def stop(self) -> None:
        if self._serve is not None and self._serve.poll() is None:
            self._serve.terminate()
            try:
                self._serve.wait(30)
            except subprocess.TimeoutExpired:
                self._serve.kill()
                self._serve.wait(10)
        if self.node is not None:
            self.node.stop()


# -- HTTP capture ----------------------------------------------------------------------------------
@dataclass
class Tally:
    """Every answer the server gave, by kind, shared between the load's threads."""

    statuses: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # 5xx other than 503 with Retry-After
    failures: list[str] = field(default_factory=list)  # no answer at all, or an unexpected one
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str, answer: requests.Response) -> None:
        with self.lock:
            self.statuses[f"{what} {answer.status_code}"] += 1
            if answer.status_code >= 500 and not (answer.status_code == 503 and answer.headers.get("retry-after")):
                self.server_errors.append(f"{what} {answer.status_code}: {answer.text[:300]}")

    def fail(self, what: str, why: str) -> None:
        with self.lock:
            self.statuses[f"{what} failed"] += 1
            self.failures.append(f"{what}: {why[:300]}")


@dataclass
class Sent:
    """One document a client sent, the job a 202 gave it (None: refused) and how that job ended."""

    events: list[dict[str, Any]]
    job_url: str | None = None
    job: dict[str, Any] | None = None
    posts: int = 0


def post_document(
    session: requests.Session, url: str, token: str, body: bytes, tally: Tally, *, stop: Callable[[], bool] = lambda: False
) -> tuple[str | None, int]:
    """POST ``body`` to ``/epcis/capture`` until it is accepted: ``(job URL, posts)``; a 503 (the
    node is away) is sent again after its ``Retry-After``. None when refused otherwise."""
    posts = 0
    while True:
        posts += 1
        try:
            answer = session.post(
                url + "/epcis/capture",
                data=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/ld+json"},
                timeout=300,
            )
        except requests.RequestException as exc:
            tally.fail("capture", str(exc))
            if stop():
                return None, posts
            time.sleep(1)
            continue
        tally.note("capture", answer)
        if answer.status_code == 202:
            return urljoin(url + "/", answer.headers["location"]), posts
        if answer.status_code == 503 and not stop():
            time.sleep(min(float(answer.headers.get("retry-after") or 1), 30))
            continue
        if answer.status_code < 500:
            tally.fail("capture", f"{answer.status_code}: {answer.text[:300]}")
        return None, posts


def wait_job(session: requests.Session, job_url: str, tally: Tally, *, poll: float = 0.1, timeout: float = JOB_TIMEOUT) -> dict[str, Any]:
    """The capture job at ``job_url`` once it is no longer running (a ``timeout`` s wait at most)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = session.get(job_url, timeout=60)
            tally.note("job", answer)
            if answer.status_code == 200:
                job: dict[str, Any] = answer.json()
                if not job.get("running", True):
                    return job
        except requests.RequestException as exc:
            tally.fail("job", str(exc))
        if time.monotonic() > deadline:
            return {"running": True, "success": False, "errors": [{"message": f"still running after {timeout:g} s"}]}
        time.sleep(poll)


def _finished_at(job: dict[str, Any]) -> float | None:
    text = job.get("finishedAt")
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def measure_capture(world: World, events: int, per_doc: int, clients: int, console: Console) -> dict[str, Any]:
    """``events`` events in documents of ``per_doc`` from ``clients`` concurrent clients: events a second."""
    docs = [[goods_event("C", n, world.gtins) for n in range(start, min(events, start + per_doc))] for start in range(0, events, per_doc)]
    bodies = [document(d) for d in docs]
    tally = Tally()
    jobs: list[tuple[str | None, int]] = [(None, 0)] * len(bodies)
    work: queue.Queue[int] = queue.Queue()
    for k in range(len(bodies)):
        work.put(k)

    def client(token: str) -> None:
        session = requests.Session()
        while True:
            try:
                k = work.get_nowait()
            except queue.Empty:
                return
            jobs[k] = post_document(session, world.serve_url, token, bodies[k], tally)

    started_wall, started = time.time(), time.perf_counter()
    threads = [threading.Thread(target=client, args=(world.tokens[c % len(world.tokens)],)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    posted = time.perf_counter() - started
    session = requests.Session()
    ended: list[dict[str, Any]] = []
    seen_end = started
    for job_url, _ in jobs:
        if job_url is None:
            continue
        ended.append(wait_job(session, job_url, tally))
        seen_end = time.perf_counter()
    succeeded = [j for j in ended if j.get("success")]
    finished = [f for j in succeeded if (f := _finished_at(j)) is not None]
    seconds = (max(finished) - started_wall) if len(finished) == len(succeeded) and finished else seen_end - started
    captured = sum(len(docs[k]) for k, (url, _) in enumerate(jobs) if url is not None) if len(succeeded) == len(ended) else 0
    result = {
        "events": events,
        "documents": len(bodies),
        "events_per_document": per_doc,
        "clients": clients,
        "actors": len(world.tokens),
        "accepted_documents": sum(1 for url, _ in jobs if url is not None),
        "succeeded_jobs": len(succeeded),
        "failed_jobs": [j.get("errors", [])[:3] for j in ended if not j.get("success")][:5],
        "posting_s": round(posted, 2),
        "seconds": round(seconds, 2),
        "events_per_s": round(captured / seconds, 1) if seconds > 0 and captured else None,
        "statuses": dict(tally.statuses),
        "problems": (tally.server_errors + tally.failures)[:10],
    }
    console.print(
        f"   {result['accepted_documents']}/{len(bodies)} documents accepted, {len(succeeded)} jobs succeeded; "
        f"{seconds:.1f} s from the first POST to the last success: {result['events_per_s']} events/s"
    )
    return result


def measure_naive(world: World, events: int, console: Console) -> dict[str, Any]:
    """``events`` events each recorded by its own ``Actor.record_events([event])`` (a transaction each)."""
    assert world.chain is not None
    raw = [goods_event("N", n, world.gtins) for n in range(events)]
    parsed = epcis.parse_document(document(raw), source="naive").events
    actor = world.chain.actor(world.naive_account)
    seconds, _ = timed(lambda: [actor.record_events([e]) for e in parsed])
    result = {"events": events, "seconds": round(seconds, 2), "events_per_s": round(events / seconds, 2)}
    console.print(f"   naive loop: {events} events in {seconds:.1f} s ({result['events_per_s']} events/s)")
    return result


# -- 4. load ---------------------------------------------------------------------------------------
class Queries:
    """Queries a partner's systems send, at a steady rate, on the events captured so far.

    They run in a process of their own (:func:`query_process`): in the capture clients' process
    they would wait for its interpreter lock behind twenty clients building documents, and the
    time measured would be the load generator's as much as the server's."""

    def __init__(self, serve_url: str, gtins: Sequence[str], learned: Any, seed: int = 5) -> None:
        self.serve_url = serve_url
        self.gtins = list(gtins)
        self.tally = Tally()
        self.rng = random.Random(seed)
        self.learned = learned  # a multiprocessing queue of events accepted so far (a query names them)
        self.known: list[dict[str, Any]] = []
        self.latencies: list[float] = []
        self.late: list[float] = []  # how far behind schedule each query was sent (waiting for a free client)
        self.from_schedule: list[float] = []  # from when it was due to its answer: what an open-loop client sees
        self.lock = threading.Lock()
        self._local = threading.local()

    def _learn(self) -> None:
        while True:
            try:
                self.known.extend(self.learned.get_nowait())
            except queue.Empty:
                return

    def _pick(self) -> tuple[str, str, dict[str, str]]:
        """(kind, path, parameters) of the next query."""
        with self.lock:
            self._learn()
            known = self.rng.choice(self.known) if self.known else None
            roll = self.rng.random()
            gtin = self.rng.choice(self.gtins)
        pattern = f"urn:epc:idpat:sgtin:{PREFIX}.{gtin[0]}{gtin[1 + len(PREFIX) : 13]}.*"
        if known is not None and roll < 0.3:
            return "one item's history", "/epcis/events", {"MATCH_epc": known["epc"]}
        if known is not None and roll < 0.45:
            return "an event by id", f"/epcis/events/{quote(known['eventID'], safe='')}", {}
        if known is not None and roll < 0.6:
            moment = datetime.fromisoformat(known["eventTime"].replace("Z", "+00:00"))
            window = {"GE_eventTime": _iso(moment - timedelta(minutes=30)), "LT_eventTime": _iso(moment + timedelta(minutes=30))}
            return "an hour of events", "/epcis/events", window | {"perPage": "100"}
        if roll < 0.75:
            return "every item of a GTIN", "/epcis/events", {"MATCH_epc": pattern, "perPage": "100"}
        if roll < 0.9:
            return "a step at the site", "/epcis/events", {"EQ_bizStep": "commissioning", "EQ_bizLocation": SITE, "perPage": "30"}
        return "latest events", "/epcis/events", {"eventType": "ObjectEvent", "perPage": "30"}

    def one(self, scheduled: float) -> None:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        kind, path, params = self._pick()
        sent = time.perf_counter()
        try:
            answer = session.get(self.serve_url + path, params=params, timeout=60)
        except requests.RequestException as exc:
            self.tally.fail(f"query {kind}", str(exc))
            return
        took = (time.perf_counter() - sent) * 1000
        self.tally.note("query", answer)
        if answer.status_code != 200:
            self.tally.fail(f"query {kind}", f"{answer.status_code}: {answer.text[:200]}")
        with self.lock:
            self.latencies.append(took)
            self.late.append((sent - scheduled) * 1000)
            self.from_schedule.append((time.perf_counter() - scheduled) * 1000)

    def run(self, rate: float, until: float, pool: ThreadPoolExecutor) -> list[Future[None]]:
        """Send ``rate`` queries a second until ``until`` (perf_counter), each on schedule."""
        interval = 1.0 / rate
        sent: list[Future[None]] = []
        next_at = time.perf_counter()
        while next_at < until:
            now = time.perf_counter()
            if now < next_at:
                time.sleep(next_at - now)
            sent.append(pool.submit(self.one, next_at))
            next_at += interval
        return sent


def query_process(serve_url: str, gtins: list[str], rate: float, seconds: float, learned: Any, answer: Any) -> None:
    """The load's queries, in a process of their own: ``rate`` a second for ``seconds``, by up to
    48 clients at once; what was measured is put on ``answer``."""
    queries = Queries(serve_url, gtins, learned)
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=48, thread_name_prefix="query") as pool:
        scheduled = queries.run(rate, began + seconds, pool)
        # Queries still waiting for a free client when the time is up were never sent: the server
        # did not keep up with the rate (the answered rate says by how much). Only those in flight end.
        pool.shutdown(wait=True, cancel_futures=True)
    answer.put(
        {
            "asked": len(scheduled),
            "not_sent": sum(1 for f in scheduled if f.cancelled()),
            "seconds": time.perf_counter() - began,
            "latencies": queries.latencies,
            "late": queries.late,
            "from_schedule": queries.from_schedule,
            "statuses": dict(queries.tally.statuses),
            "server_errors": queries.tally.server_errors,
            "failures": queries.tally.failures,
        }
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def capture_client(
    world: World, number: int, per_doc: int, until: float, tally: Tally, learned: Any, sent: list[Sent], serial: Iterator[int]
) -> None:
    """One partner: post a document, wait for its job, post the next, until ``until``. A 503 is
    sent again after its ``Retry-After``; a document a 202 accepted is not sent again, whatever
    its job says: what was accepted must reach the chain (a failed job's events count as lost)."""
    session = requests.Session()
    token = world.tokens[number % len(world.tokens)]
    while time.perf_counter() < until:
        events = [goods_event(f"L{number:02d}-", next(serial), world.gtins) for _ in range(per_doc)]
        record = Sent(events)
        sent.append(record)
        job_url, record.posts = post_document(session, world.serve_url, token, document(events), tally)
        if job_url is None:
            continue
        record.job_url = job_url
        record.job = wait_job(session, job_url, tally, poll=LOAD_JOB_POLL)
        if record.job.get("success"):
            learned.put([{"eventID": e["eventID"], "epc": e["epcList"][0], "eventTime": e["eventTime"]} for e in events])


def measure_load(
    world: World, *, seconds: float, clients: int, per_doc: int, qps: float, outage: float, console: Console
) -> dict[str, Any]:
    tally = Tally()
    spawn = multiprocessing.get_context("spawn")
    learned, answered = spawn.Queue(), spawn.Queue()
    asker = spawn.Process(target=query_process, args=(world.serve_url, list(world.gtins), qps, seconds, learned, answered), daemon=True)
    asker.start()
    sent: list[Sent] = []
    counter = itertools.count()
    lock = threading.Lock()

    def serial() -> Iterator[int]:
        while True:
            with lock:
                value = next(counter)
            yield value

    began = time.perf_counter()
    until = began + seconds
    threads = [
        threading.Thread(target=capture_client, args=(world, c, per_doc, until, tally, learned, sent, serial()), daemon=True)
        for c in range(clients)
    ]
    for t in threads:
        t.start()
    restart: dict[str, Any] = {}

    def restarter() -> None:
        time.sleep(seconds / 2)
        restart["at_s"] = round(time.perf_counter() - began, 1)
        restart.update(world.restart_node(outage))

    restart_thread = threading.Thread(target=restarter, daemon=True)
    restart_thread.start()
    asked = answered.get(timeout=seconds + 120)
    asker.join(30)
    # Nobody reads what the capture clients still learn: do not wait at exit to hand it over.
    learned.cancel_join_thread()
    tally.statuses.update(asked["statuses"])
    tally.server_errors.extend(asked["server_errors"])
    tally.failures.extend(asked["failures"])
    queried = asked["seconds"]
    restart_thread.join()
    console.print(f"   {seconds:g} s of load done; waiting for the clients' last jobs")
    for t in threads:
        t.join(JOB_TIMEOUT + 60)
    drained = time.perf_counter() - began

    accepted = [s for s in sent if s.job_url is not None]
    check = check_on_chain(world, accepted, console)
    latencies = asked["latencies"]
    failed_jobs = [s.job for s in sent if s.job is not None and not s.job.get("success")]
    result = {
        "seconds": seconds,
        "clients": clients,
        "events_per_document": per_doc,
        "queries_per_s_asked": qps,
        "queries_sent": asked["asked"],
        "queries_answered": len(latencies),
        "queries_per_s": round(len(latencies) / queried, 1),
        "query_ms": summarize(latencies) if latencies else None,
        "query_sent_late_ms": summarize(asked["late"]) if asked["late"] else None,
        "query_from_schedule_ms": summarize(asked["from_schedule"]) if asked["from_schedule"] else None,
        "queries_not_sent": asked["not_sent"],
        "restart": restart,
        "documents_sent": len(sent),
        "documents_accepted": len(accepted),
        "documents_refused": len(sent) - len(accepted),
        "posts": sum(s.posts for s in sent),
        "failed_jobs": len(failed_jobs),
        "failed_job_errors": [j.get("errors", [])[:2] for j in failed_jobs[:5]],
        "events_accepted": sum(len(s.events) for s in accepted),
        "captured_events_per_s": round(sum(len(s.events) for s in accepted if s.job and s.job.get("success")) / drained, 1),
        "drain_s": round(drained - seconds, 1),
        "statuses": dict(tally.statuses),
        "server_errors": tally.server_errors[:10],
        "failures": tally.failures[:10],
        "5xx": len(tally.server_errors),
        **check,
    }
    return result


def check_on_chain(world: World, accepted: Sequence[Sent], console: Console) -> dict[str, Any]:
    """Each accepted event's item chain under the brand (one entry: captured once) and whether
    ``GET /epcis/events/{eventID}`` finds it with its anchor."""
    assert world.chain is not None
    events = [e for s in accepted for e in s.events]
    if not events:
        return {"lost": 0, "duplicated": 0, "not_on_chain": 0, "not_queryable": 0, "checked": 0, "jobs_listing_other_event_ids": 0}
    parsed = epcis.parse_document(document(events), source="check").events
    subjects = [e.primary_subjects()[0].chain_subject for e in parsed]
    chains = world.chain.trace.chains(subjects, world.brand)
    entries = Counter({subject: len(found) for (_brand, subject), found in chains.items()})
    on_chain = [entries.get(s, 0) for s in subjects]
    queryable = queryable_ids(world, {e["eventID"] for e in events})
    not_on_chain = sum(1 for n in on_chain if n == 0)
    not_queryable = sum(1 for e in events if e["eventID"] not in queryable)
    lost = sum(1 for e, n in zip(events, on_chain, strict=True) if n == 0 or e["eventID"] not in queryable)
    duplicated = sum(1 for n in on_chain if n > 1)
    # A finished job lists the eventIDs it captured: all of its document's, no other.
    listed_wrong = sum(
        1
        for s in accepted
        if s.job is not None and s.job.get("success") and set(s.job.get("eventIDs") or ()) != {e["eventID"] for e in s.events}
    )
    console.print(
        f"   {len(events):,} accepted events: {not_on_chain} not on chain, {duplicated} on chain more than once, "
        f"{not_queryable} not found by GET /epcis/events/{{eventID}} with an anchor"
    )
    return {
        "checked": len(events),
        "lost": lost,
        "duplicated": duplicated,
        "not_on_chain": not_on_chain,
        "not_queryable": not_queryable,
        "jobs_listing_other_event_ids": listed_wrong,
    }


def queryable_ids(world: World, wanted: set[str]) -> set[str]:
    """Those of ``wanted`` that ``GET /epcis/events/{eventID}`` answers with an anchored event."""

    def found(event_id: str) -> bool:
        session = requests.Session()
        for _ in range(3):
            try:
                answer = session.get(f"{world.serve_url}/epcis/events/{quote(event_id, safe='')}", timeout=60)
            except requests.RequestException:
                time.sleep(1)
                continue
            if answer.status_code != 200:
                return False
            body = answer.json()
            event = _only_event(body)
            anchor = event.get("o2o:anchor") if event else None
            return isinstance(anchor, dict) and bool(anchor.get("transaction"))
        return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        return {event_id for event_id, ok in zip(wanted, pool.map(found, list(wanted)), strict=True) if ok}


def _only_event(body: Any) -> dict[str, Any] | None:
    """The event of ``GET /epcis/events/{id}``: the event itself, or the one of a query document."""
    if isinstance(body, dict) and "eventTime" in body:
        return body
    try:
        events = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    except (KeyError, TypeError):
        return None
    return events[0] if isinstance(events, list) and len(events) == 1 and isinstance(events[0], dict) else None


# -- the report ------------------------------------------------------------------------------------
def met(result: dict[str, Any], args: argparse.Namespace) -> dict[str, bool]:
    """Whether each target was met (a part that did not run, or ran small, did not meet it)."""

    def value(key: str) -> float | None:
        v = result.get(key)
        return None if v is None else float(v)

    def at_least(key: str, limit: float) -> bool:
        v = value(key)
        return v is not None and v >= limit

    def at_most(key: str, limit: float) -> bool:
        v = value(key)
        return v is not None and v <= limit

    full_load = args.load_seconds >= TARGET_LOAD_SECONDS and args.load_clients >= TARGET_LOAD_CLIENTS and args.load_qps >= TARGET_LOAD_QPS
    load = result.get("load") or {}
    restarted = bool((load.get("restart") or {}).get("away_s"))
    validation = result.get("validation") or {}
    answered = (load.get("queries_per_s") or 0) >= 0.95 * args.load_qps
    return {
        "capture_events_per_s": at_least("capture_events_per_s", TARGET_CAPTURE_PER_S),
        "capture_speedup": at_least("capture_speedup", TARGET_SPEEDUP),
        "query_p95_ms_sqlite": at_most("query_p95_ms_sqlite", TARGET_QUERY_P95_MS) and args.stored >= TARGET_STORED,
        "query_p95_ms_postgres": at_most("query_p95_ms_postgres", TARGET_QUERY_P95_MS) and args.stored >= TARGET_STORED,
        "validate_50mb_s": at_most("validate_50mb_s", TARGET_VALIDATE_S) and validation.get("bytes", 0) >= TARGET_VALIDATE_BYTES * 0.95,
        "load_5xx": result.get("load_5xx") == 0 and full_load and restarted,
        "load_lost": result.get("load_lost") == 0 and full_load and restarted and bool(load.get("checked")),
        "load_duplicated": result.get("load_duplicated") == 0 and full_load and restarted and bool(load.get("checked")),
        "load_query_p95_ms": at_most("load_query_p95_ms", TARGET_QUERY_P95_MS) and full_load and answered,
    }


def print_report(console: Console, result: dict[str, Any]) -> None:
    def show(value: Any, unit: str = "") -> str:
        return "—" if value is None else f"{value:,.1f}{unit}" if isinstance(value, float) else f"{value:,}{unit}"

    def yes(ok: bool | None) -> str:
        return "" if ok is None else "yes" if ok else "[red]no[/]"

    ok = result["met"]
    validation = result.get("validation") or {}
    capture = result.get("capture") or {}
    naive = result.get("naive") or {}
    load = result.get("load") or {}
    stored = (result.get("query_sqlite") or result.get("query_postgres") or {}).get("stored")
    medians = validation.get("median_s", {})
    steps = " + ".join(f"{name} {medians.get(name, '?')} s" for name in validation.get("capture_runs", []))
    alone = f"; validate_document alone {medians['validate_document']} s" if "validate_document" in medians else ""
    table = Table(title="o2ochain as an EPCIS 2.0 repository")
    for column in ("measure", "value", "target", "met"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    rows = [
        (
            f"capture over HTTP into the chain ({show(capture.get('events'))} events, {capture.get('events_per_document', '?')} a document, "
            f"{capture.get('clients', '?')} clients)",
            show(result.get("capture_events_per_s"), " events/s"),
            "≥ 300 events/s",
            ok["capture_events_per_s"],
        ),
        (
            f"  against a naive loop, Actor.record_events(\\[event]) ({show(naive.get('events_per_s'))} events/s)",
            show(result.get("capture_speedup"), "×"),
            "≥ 5×",
            ok["capture_speedup"],
        ),
        *(
            (f"/events query p95 among {show(stored)} events, {engine}", show(result.get(key), " ms"), "≤ 100 ms", ok[key])
            for key, engine in (("query_p95_ms_sqlite", "SQLite"), ("query_p95_ms_postgres", "PostgreSQL"))
        ),
        (
            f"validating a {show(validation.get('megabytes'))} MB document ({show(validation.get('events'))} events) as POST /epcis/capture "
            f"does: {steps or '—'}{alone}",
            show(result.get("validate_50mb_s"), " s"),
            "≤ 10 s (50 MB)",
            ok["validate_50mb_s"],
        ),
        (
            f"load ({show(load.get('seconds'))} s, {load.get('clients', '?')} clients, {show(load.get('queries_per_s_asked'))} queries/s, "
            f"node restarted): 5xx but 503 + Retry-After",
            show(result.get("load_5xx")),
            "0",
            ok["load_5xx"],
        ),
        (
            f"  accepted events not on chain or not queryable (of {show(load.get('checked'))})",
            show(result.get("load_lost")),
            "0",
            ok["load_lost"],
        ),
        ("  accepted events on chain more than once", show(result.get("load_duplicated")), "0", ok["load_duplicated"]),
        (
            f"  query p95 under load ({show(load.get('queries_per_s'))} answered a second)",
            show(result.get("load_query_p95_ms"), " ms"),
            "≤ 100 ms",
            ok["load_query_p95_ms"],
        ),
    ]
    for name, value, target, met_ in rows:
        table.add_row(name, value, target, yes(met_))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every part small (see above)")
    parser.add_argument("--parts", default=",".join(ALL_PARTS), help=f"which parts to run, of {','.join(ALL_PARTS)}")
    parser.add_argument("--validate-mb", type=float, default=50.0, help="size of the validated document, in MB")
    parser.add_argument(
        "--validate-events", type=int, default=None, help="events of the validated document [default: --validate-mb's worth]"
    )
    parser.add_argument("--validate-runs", type=int, default=3)
    parser.add_argument("--stored", type=int, default=TARGET_STORED, help="events stored for the query benchmark")
    parser.add_argument("--queries", type=int, default=700)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "o2ochain-epcis-bench", help="where the SQLite file is kept"
    )
    parser.add_argument("--capture-events", type=int, default=20_000)
    parser.add_argument("--doc-events", type=int, default=500, help="events per captured document")
    parser.add_argument("--capture-clients", type=int, default=4)
    parser.add_argument("--actors", type=int, default=4, help="actor accounts (one API token each) the clients post as")
    parser.add_argument("--gtins", type=int, default=10, help="the brand's products the events are of")
    parser.add_argument("--naive-events", type=int, default=200)
    parser.add_argument("--load-seconds", type=float, default=TARGET_LOAD_SECONDS)
    parser.add_argument("--load-clients", type=int, default=TARGET_LOAD_CLIENTS)
    parser.add_argument("--load-doc-events", type=int, default=100)
    parser.add_argument("--load-qps", type=float, default=TARGET_LOAD_QPS)
    parser.add_argument("--outage", type=float, default=10.0, help="seconds the node is away in the load test")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite", help="the server's repository (capture, load)")
    parser.add_argument("--port", type=int, default=0, help="Anvil's port (the server takes the next one); 0: free ports")
    parser.add_argument("--keep", type=Path, default=None, help="keep the chain, server log and stores in this folder")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "epcis.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.validate_mb, args.validate_runs, args.stored, args.queries = 5.0, 1, 100_000, 280
        args.capture_events, args.naive_events, args.load_seconds = 2_000, 40, 30.0
        args.load_qps, args.outage = 50.0, 3.0
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if parts - set(ALL_PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(parts - set(ALL_PARTS)))}")
    console = Console(width=160)
    result: dict[str, Any] = {"quick": args.quick}
    begun = time.perf_counter()
    # The machine's load (1-minute average) after each part: the figures depend on what else ran.
    loads: dict[str, float] = {}

    def note_load(part: str) -> None:
        loads[part] = round(os.getloadavg()[0], 2)

    if "validate" in parts:
        console.print(f"[bold]1.[/] validation, as POST /epcis/capture does it ({', '.join(CAPTURE_CHECKS)}), and validate_document alone")
        validation = measure_validation(args.validate_events or events_for_size(args.validate_mb), args.validate_runs, console)
        result["validation"] = validation
        result["validate_50mb_s"] = validation["total_s"]
        note_load("validation")

    if "query" in parts:
        console.print(f"[bold]2.[/] queries among {args.stored:,} stored events, SQLite ({args.data_dir})")
        args.data_dir.mkdir(parents=True, exist_ok=True)
        sqlite = args.data_dir / f"events-{args.stored}.sqlite"
        result["query_sqlite"] = measure_queries(
            str(sqlite),
            f"sqlite:///{sqlite.resolve()}",
            args.stored,
            args.queries,
            console,
            args,
            loaded_mark=sqlite.with_suffix(".loaded"),
        )
        result["query_p95_ms_sqlite"] = result["query_sqlite"]["p95_ms"]
        note_load("query_sqlite")
        console.print(f"[bold]2b.[/] queries among {args.stored:,} stored events, PostgreSQL (a server of its own)")
        try:
            with postgres() as pg:
                result["query_postgres"] = measure_queries(pg.url, pg.url, args.stored, args.queries, console, args)
                result["query_p95_ms_postgres"] = result["query_postgres"]["p95_ms"]
                note_load("query_postgres")
        except RuntimeError as exc:
            console.print(f"   [red]PostgreSQL did not run[/]: {exc}")
            result["query_postgres"] = {"error": str(exc)}

    if parts & {"capture", "load"}:
        server_database = postgres() if args.database == "postgres" else _nothing()
        with workspace(args.keep) as tmp, server_database as pg:
            world = World(tmp, args.port, args.actors, args.gtins, database_url=pg.url if pg is not None else None)
            console.print(f"[bold]3.[/] o2ochain serve on Anvil ({tmp}), repository on {args.database}")
            try:
                world.start()
                console.print(f"   chain {world.node.url if world.node else '?'}, server {world.serve_url}, brand {world.brand}")
                if "capture" in parts:
                    capture = measure_capture(world, args.capture_events, args.doc_events, args.capture_clients, console)
                    result["capture"] = capture
                    result["capture_events_per_s"] = capture["events_per_s"]
                    note_load("capture")
                    naive = measure_naive(world, args.naive_events, console)
                    result["naive"] = naive
                    note_load("naive")
                    if capture["events_per_s"]:
                        result["capture_speedup"] = round(capture["events_per_s"] / naive["events_per_s"], 1)
                if "load" in parts:
                    console.print(
                        f"[bold]4.[/] load: {args.load_clients} capture clients and {args.load_qps:g} queries/s for {args.load_seconds:g} s, "
                        f"the node restarted halfway ({args.outage:g} s away)"
                    )
                    load = measure_load(
                        world,
                        seconds=args.load_seconds,
                        clients=args.load_clients,
                        per_doc=args.load_doc_events,
                        qps=args.load_qps,
                        outage=args.outage,
                        console=console,
                    )
                    result["load"] = load
                    result["load_5xx"] = load["5xx"]
                    result["load_lost"] = load["lost"]
                    result["load_duplicated"] = load["duplicated"]
                    result["load_query_p95_ms"] = (load.get("query_ms") or {}).get("p95")
                    note_load("load")
            finally:
                world.stop()
                log = world.serve_log()
                result["serve_log_tracebacks"] = log.count("Traceback")
                if log.count("Traceback"):
                    console.print(f"   [red]the server's log has {log.count('Traceback')} tracebacks[/] (--keep DIR keeps serve.log)")

    for key in KEYS:  # every key the issue names, null for a part that did not run
        result.setdefault(key, None)
    result["met"] = met(result, args)
    result["conditions"] = {
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "load_average_1m_after": loads,
        "bench_seconds": round(time.perf_counter() - begun, 1),
        "load_generator": "in this process, on the same machine as the server and the node",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print_report(console, result)
    console.print(f"written to {args.out}")
    return 0 if all(result["met"].values()) else 1


@contextmanager
def workspace(keep: Path | None) -> Iterator[Path]:
    """``keep`` (created) when given, else a temporary folder removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="o2o-epcis-bench-") as name:
        yield Path(name)


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    raise SystemExit(main())
