"""``o2ochain serve``'s EPCIS interface against GS1's own REST binding, driven by schemathesis.

A partner's EPCIS client is written against ``openapi.yaml``, not against us: every answer of
the operations we implement must be one the binding allows (status code, content type, headers,
body valid against its schema) and none may be a server error. The server runs as partners run
it (``o2ochain serve --tokens``) on a real Anvil, with GS1's examples captured first so that
queries answer real events; schemathesis then sends the binding's own examples, generated valid
requests and generated invalid ones to each implemented operation, a bounded and seeded number
of them, and the test lists every distinct failure (operation, request as curl, response, why).

GS1's binding is used as published (``tests/e2e/epcis_openapi.py`` only makes it loadable
offline) except where it cannot be met by any server; each such place is patched narrowly in
:func:`conformance_spec`, with the reason beside it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lxml import etree
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from o2ochain import epcis
from o2ochain._chain.connection import Anvil
from tests import gs1_epcis
from tests.conftest import anvil_brand
from tests.e2e.epcis_openapi import epcis_validator, load_openapi

pytestmark = pytest.mark.e2e

ANVIL_PORT, SERVE_PORT = 24010, 24020
TOKEN = "conformance-partner-token-0001"
EXAMPLES = [
    gs1_epcis.example("Example_9.6.1-ObjectEvent.jsonld"),  # its eventID and EPCs are the binding's own examples
    gs1_epcis.example("WithDigitalLinkID_Example_9.6.1-ObjectEventWithDigitalLink.jsonld"),
]
ALL_EXAMPLES = sorted(gs1_epcis.EXAMPLES.glob("*.jsonld"))
# The operations `o2ochain serve` implements (the README lists them); the rest of the binding
# (named queries, subscriptions, POST /events, DELETE /nextPageToken) is not implemented.
OPERATIONS = [
    ("POST", "/capture"),  # first: the jobs it starts (most fail: products of no brand) are then listed and read
    ("GET", "/"),
    ("GET", "/events"),
    ("GET", "/events/{eventID}"),
    ("GET", "/eventTypes"),
    ("GET", "/bizSteps"),
    ("GET", "/dispositions"),
    ("GET", "/readPoints"),
    ("GET", "/bizLocations"),
    ("GET", "/epcs"),
    ("GET", "/epcs/{epc}/events"),
    ("GET", "/capture"),
    ("GET", "/capture/{captureID}"),
]
# Generated requests per operation and generation mode, besides the binding's examples and the
# known cases (:func:`known_cases`); this keeps the module near a minute. Hypothesis is
# derandomized: the same requests on every run.
POSITIVE_EXAMPLES = 12
NEGATIVE_EXAMPLES = 6
POST_EXAMPLES = 2  # an EPCIS document drawn from GS1's schema is large and slow to draw (~2 s each)
# Invalid EPCIS documents, sent to POST /capture instead of schemathesis' negative ones (which take
# ~5 s each to draw); each is refused 400 with the binding's ValidationException problem.
INVALID_DOCUMENTS: list[Any] = [
    "not an EPCIS document",
    {"type": "EPCISDocument", "epcisBody": {"eventList": []}},  # no @context, schemaVersion, creationDate
    {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-20T00:00:00Z",
        "epcisBody": {"eventList": [{"type": "ObjectEvent", "action": "SHOUT", "eventTime": "yesterday", "epcList": ["not a URI"]}]},
    },
]


def conformance_spec() -> dict[str, Any]:
    """GS1's binding, loadable offline, with the narrow corrections no server could do without."""
    spec = load_openapi()
    components = spec["components"]
    # 1. CaptureJob ends in `oneOf: [{properties: {errors}}, {properties: {errorFile}}]`: neither
    #    branch requires its property, so every object matches both and no capture job can be
    #    valid. What the binding means ("`errors` or `errorFile`") is each branch requiring its own.
    branches = components["schemas"]["CaptureJob"]["allOf"][1]["oneOf"]
    for branch in branches:
        branch["required"] = list(branch["properties"])
    # 2. The Link header's schema says `format: uri`, but a Link header (RFC 8288) is
    #    `<URI>; rel="next"`, never a URI: the binding's own example fails it. The value is a string.
    del components["schemas"]["Link"]["format"]
    # 3. A QueryParameterException (a bad perPage, an expired nextPageToken, a malformed time) is
    #    answered 400 with `400QueryIssues` on /epcs/{epc}/events and the other event lists, but the
    #    binding forgot it on GET /events and on the top-level lists and /capture, whose paging
    #    parameters can be just as wrong: those operations get the same response.
    for method, path in OPERATIONS:
        operation = spec["paths"][path][method.lower()]
        queried = any(_parameter(spec, p).get("in") == "query" for p in operation.get("parameters", []))
        if method == "GET" and queried and "400" not in operation["responses"]:
            operation["responses"]["400"] = {"$ref": "#/components/responses/400QueryIssues"}
    return spec


def _parameter(spec: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    reference = parameter.get("$ref")
    if reference is None:
        return parameter
    found: dict[str, Any] = spec["components"]["parameters"][reference.rsplit("/", 1)[-1]]
    return found


# --------------------------------------------------------------------------------------------
# The server: `o2ochain serve --tokens` on a fresh Anvil, GS1's examples captured


@dataclass
class Server:
    url: str  # the EPCIS interface's base: http://127.0.0.1:PORT/epcis
    captures: list[str]  # capture jobs of the examples, in EXAMPLES' order

    def auth(self, token: str = TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def _gtins(paths: list[Path]) -> list[str]:
    return sorted(
        {s.gtin for p in paths for e in epcis.load_document(p).events for s in (*e.primary_subjects(), *e.related_subjects()) if s.gtin}
    )


def _wait_for_job(url: str, location: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = requests.get(urljoin(url + "/", location), timeout=10).json()
        if not job["running"] or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def capture(server: Server, document: bytes, *, headers: dict[str, str] | None = None) -> requests.Response:
    sent = {"Content-Type": "application/ld+json", **server.auth(), **(headers or {})}
    return requests.post(f"{server.url}/capture", data=document, headers=sent, timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("epcis-conformance")
    with Anvil(port=ANVIL_PORT) as node:
        chain, accounts, _ = anvil_brand(node, folder / "deployments", "Conformance Foods")
        gtins = _gtins(EXAMPLES)
        # The examples' products belong to a brand of their own, administered by dev:3; the
        # partner holding TOKEN records as dev:2, an actor of that brand.
        brand = chain.admin(accounts[0]).register_brand(accounts[3].address, "GS1 examples", sorted({g[1:8] for g in gtins}))
        products = chain.brand(accounts[3], brand)
        for gtin in gtins:
            products.add_product(gtin)
        chain.trace_admin(accounts[3], brand).grant(accounts[2].address, "other")
        tokens = folder / "tokens.jsonl"
        tokens.write_text(json.dumps({"token": TOKEN, "account": "dev:2", "brand": brand}) + "\n", encoding="utf-8")
        log = folder / "serve.log"
        command = [sys.executable, "-m", "o2ochain.cli", "serve", "--rpc", node.url, "--deployment", str(folder / "deployments")]
        command += ["--store", str(folder / "store"), "--port", str(SERVE_PORT), "--tokens", str(tokens)]
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{SERVE_PORT}/epcis"
            _wait_until_serving(process, url, log)
            running = Server(url, [])
            for path in EXAMPLES:
                sent = capture(running, path.read_bytes())
                assert sent.status_code == 202, f"{path.name}: {sent.status_code} {sent.text}"
                job = _wait_for_job(url, sent.headers["Location"])
                assert job["success"] and not job["running"], f"{path.name}: {job}"
                running.captures.append(job["captureID"])
            yield running
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        # Whatever the answers, the server's own log must show no crash.
        assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace"), log.read_text(encoding="utf-8", errors="replace")


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
        try:
            requests.get(url + "/", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"o2ochain serve did not answer within 60 s:\n{log.read_text(encoding='utf-8', errors='replace')}")


# --------------------------------------------------------------------------------------------
# Checks beyond schemathesis' own

QUERY_DOCUMENT_OPERATIONS = {"GET /events", "GET /events/{eventID}", "GET /epcs/{epc}/events"}


def epcis_query_document_conformance(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 200 JSON answer listing events validates against GS1's EPCIS JSON Schema as GS1 wrote it
    (draft-07, formats asserted): the binding's OpenAPI 3.0 layer is read as draft 4, which
    ignores the schema's ``if``/``then`` and ``propertyNames`` rules."""
    if case.operation.label not in QUERY_DOCUMENT_OPERATIONS or response.status_code != 200:
        return None
    if "json" not in response.headers.get("content-type", [""])[0]:
        return None
    errors = sorted(epcis_validator().iter_errors(json.loads(response.content)), key=lambda e: list(e.absolute_path))
    if errors:
        shown = "\n".join(f"  at {'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message[:300]}" for e in errors[:10])
        raise AssertionError(f"the EPCIS query document does not validate against GS1's JSON Schema:\n{shown}")
    return None


def gs1_version_headers(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every answer names the EPCIS and CBV versions it speaks (``GS1-EPCIS-Version`` 2.0.0, ``GS1-CBV-Version``)."""
    epcis_version = response.headers.get("gs1-epcis-version", [None])[0]
    cbv_version = response.headers.get("gs1-cbv-version", [None])[0]
    if epcis_version != "2.0.0" or not cbv_version:
        raise AssertionError(f"GS1-EPCIS-Version {epcis_version!r} (2.0.0 expected), GS1-CBV-Version {cbv_version!r}")
    return None


CONFORMANCE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    epcis_query_document_conformance,
    gs1_version_headers,
]
# Invalid requests: whatever the answer, not a server error (which 4xx is the binding's business
# only for valid requests).
NEGATIVE_CHECKS = [not_a_server_error, gs1_version_headers]


# --------------------------------------------------------------------------------------------
# The conformance run


@pytest.fixture(scope="module")
def schema() -> Any:
    return schemathesis.openapi.from_dict(conformance_spec(), config=schemathesis.Config(seed=17))


@dataclass
class Findings:
    """Distinct failures of one operation: the first request and answer of each kind, and how often."""

    label: str
    first: dict[tuple[str, ...], str] = field(default_factory=dict)
    count: dict[tuple[str, ...], int] = field(default_factory=dict)

    def add(self, kind: tuple[str, ...], report: str) -> None:
        self.first.setdefault(kind, report)
        self.count[kind] = self.count.get(kind, 0) + 1

    def report(self) -> str:
        parts = [f"{self.label}: {len(self.first)} distinct failure(s)"]
        for kind, text in self.first.items():
            parts.append(f"--- {' + '.join(kind)} (x{self.count[kind]})\n{text}")
        return "\n".join(parts)


def _run(strategy: st.SearchStrategy[Any], examples: int, send: Callable[[Any], None]) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every distinct failure is kept as first seen
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        send(case)

    run()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_gs1_binding(server: Server, schema: Any, method: str, path: str) -> None:
    operation = schema[path][method]
    findings = Findings(operation.label)
    headers = server.auth() if (method, path) == ("POST", "/capture") else None

    def sender(checks: list[Any]) -> Callable[[Any], None]:
        def send(case: Any) -> None:
            try:
                case.call_and_validate(base_url=server.url, headers=headers, checks=checks, timeout=60)
            except FailureGroup as group:
                findings.add(tuple(sorted({f.title for f in group.exceptions})), group.message)
            except requests.RequestException as exc:
                findings.add(("no answer",), f"{case.as_curl_command(headers=headers, base_url=server.url)}\n{exc!r}")

        return send

    send = sender(CONFORMANCE_CHECKS)
    for case in known_cases(server, operation):
        send(case)
    explicit = operation.get_strategies_from_examples()
    if explicit:  # the binding's own examples (its eventID and EPCs are those of the captured example)
        _run(st.one_of(explicit), 4 * len(explicit), send)
    positive = POST_EXAMPLES if method == "POST" else POSITIVE_EXAMPLES
    _run(operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE), positive, send)
    if method != "POST":  # POST /capture's invalid documents are INVALID_DOCUMENTS, among the known cases
        _run(operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE), NEGATIVE_EXAMPLES, sender(NEGATIVE_CHECKS))
    if findings.first:
        pytest.fail(findings.report(), pytrace=False)


def known_cases(server: Server, operation: Any) -> list[Any]:
    """Requests that reach what is stored, which generated values rarely do: every GS1 example
    captured (again, or for the first time under a brand that does not own its products) and
    invalid documents, the captured events by id and EPC (Digital Link EPCs too), the capture
    jobs, a second page."""
    captured = [epcis.load_document(p) for p in EXAMPLES]
    event_ids = sorted({e.event_id for d in captured for e in d.events if e.event_id})
    epcs = sorted({s.uri for d in captured for e in d.events for s in e.primary_subjects()})
    match operation.label:
        case "POST /capture":
            bodies = [json.loads(p.read_bytes()) for p in ALL_EXAMPLES] + INVALID_DOCUMENTS
            return [operation.Case(body=body, media_type="application/json") for body in bodies]
        case "GET /events":
            first = requests.get(f"{server.url}/events", params={"perPage": 1}, timeout=10)
            token = parse_qs(urlsplit(first.links["next"]["url"]).query)["nextPageToken"][0]
            queries: list[dict[str, Any]] = [{"perPage": 1}, {"perPage": 1, "nextPageToken": token}, {"EQ_bizStep": "shipping"}]
            queries += [{"MATCH_epc": epc} for epc in epcs]
            return [operation.Case(query=query) for query in queries]
        case "GET /events/{eventID}":
            return [operation.Case(path_parameters={"eventID": _segment(event_id)}) for event_id in event_ids]
        case "GET /epcs/{epc}/events":
            return [operation.Case(path_parameters={"epc": _segment(epc)}) for epc in epcs]
        case "GET /capture/{captureID}":
            return [operation.Case(path_parameters={"captureID": _segment(job)}) for job in server.captures]
        case _:
            return []


def _segment(value: str) -> str:
    """``value`` as one path segment: a case built by hand is sent as formatted, unescaped (an
    eventID's ``?`` would start the query, a Digital Link's ``/`` would split the path)."""
    return quote(value, safe="")


# --------------------------------------------------------------------------------------------
# Explicit cases


def test_capture_without_a_valid_token_is_refused_and_writes_nothing(server: Server) -> None:
    def job_ids() -> set[str]:  # jobs still running change state meanwhile: compare which jobs exist
        return {job["captureID"] for job in requests.get(f"{server.url}/capture", params={"perPage": 1000}, timeout=10).json()}

    jobs = job_ids()
    events = requests.get(f"{server.url}/events", params={"perPage": 1000}, timeout=10).json()
    document = gs1_epcis.example("Example_9.6.2-ObjectEvent.jsonld").read_bytes()
    for headers in ({}, {"Authorization": "Bearer not-a-token-of-this-server"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = requests.post(f"{server.url}/capture", data=document, headers={"Content-Type": "application/json", **headers}, timeout=10)
        assert refused.status_code == 401, (headers, refused.status_code, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["type"] == "epcisException:SecurityException" and problem["title"], problem
    assert job_ids() == jobs
    assert requests.get(f"{server.url}/events", params={"perPage": 1000}, timeout=10).json()["epcisBody"] == events["epcisBody"]


def test_invalid_documents_are_refused_with_a_validation_problem(server: Server) -> None:
    for document in INVALID_DOCUMENTS:
        refused = capture(server, json.dumps(document).encode())
        assert refused.status_code == 400, (document, refused.status_code, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["type"] == "epcisException:ValidationException" and problem["title"] and problem["status"] == 400, problem


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_captured_example_is_answered_by_epc_with_its_anchor(server: Server, example: Path) -> None:
    sent = epcis.load_document(example)
    job = requests.get(f"{server.url}/capture/{server.captures[EXAMPLES.index(example)]}", timeout=10)
    assert job.status_code == 200 and job.json()["success"] is True and job.json()["running"] is False, job.text
    for epc in sorted({s.uri for e in sent.events for s in e.primary_subjects()}):
        # A Digital Link EPC holds slashes: the binding's own example escapes them (%2F) in the path.
        answer = requests.get(f"{server.url}/epcs/{quote(epc, safe='')}/events", timeout=10)
        assert answer.status_code == 200, (epc, answer.status_code, answer.text)
        assert answer.headers["GS1-EPCIS-Version"] == "2.0.0"
        body = answer.json()
        assert not [e.message for e in epcis_validator().iter_errors(body)], epc
        listed = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        expected = {e.event_id for e in sent.events if any(s.uri == epc for s in e.primary_subjects())}
        assert expected <= {e["eventID"] for e in listed}, (epc, listed)
        for event in listed:
            anchor = event["o2o:anchor"]
            assert anchor["transaction"].startswith("0x") and anchor["block"] > 0 and anchor["verified"] is True, anchor
        same = requests.get(f"{server.url}/events", params={"MATCH_epc": epc}, timeout=10).json()
        assert [e["eventID"] for e in same["epcisBody"]["queryResults"]["resultsBody"]["eventList"]] == [e["eventID"] for e in listed]


def test_events_as_xml_are_a_query_document_valid_against_gs1_xsd(server: Server) -> None:
    """``Accept: application/xml`` answers the binding's other representation: an EPCIS 2.0
    ``EPCISQueryDocument`` that GS1's query XSD accepts (schemathesis checks JSON bodies only)."""
    answer = requests.get(f"{server.url}/events", params={"perPage": 100}, headers={"Accept": "application/xml"}, timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml"), (answer.status_code, answer.text)
    assert answer.headers["GS1-EPCIS-Version"] == "2.0.0"
    document = etree.fromstring(answer.content)
    schema = etree.XMLSchema(etree.parse(str(gs1_epcis.XSD / "EPCglobal-epcis-query-2_0.xsd")))
    assert schema.validate(document), "\n".join(f"line {e.line}: {e.message}" for e in schema.error_log)
    assert etree.QName(document).localname == "EPCISQueryDocument"
    ids = {e.text for e in document.iter("eventID")}
    assert {e.event_id for p in EXAMPLES for e in epcis.load_document(p).events} <= ids, ids
