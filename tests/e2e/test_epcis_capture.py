"""``o2ochain serve`` as a trading partner meets it: GS1's own example documents (JSON-LD and
XML) posted to ``/epcis/capture`` on a real Anvil, read back by EPC and by business step, exported
valid, captured once however often they are sent; and a node that goes away and comes back."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from web3.exceptions import TransactionNotFound

import o2ochain
from o2ochain import epcis
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from tests import gs1_epcis
from tests.postgres import PostgresServer

#: GS1's examples, JSON-LD and XML.
EXAMPLES = [*sorted(gs1_epcis.EXAMPLES.glob("*.jsonld")), *sorted(gs1_epcis.XML_EXAMPLES.glob("*.xml"))]
#: Documents of GS1's that give an eventID of another example to another event (see the test).
CLASHES = {"Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld", "ErrorDeclarationAndCorrectiveEvent.xml"}
TOKEN = "packing-line-token-5f0c1e9a2b7d"
ACTOR = 9  # dev:9 records what the token captures


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Partner:
    node: Anvil
    chain: o2ochain.O2OChain
    url: str
    process: subprocess.Popen[str]
    tmp: Path

    def post(self, body: bytes, content_type: str) -> requests.Response:
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {TOKEN}"}
        return requests.post(f"{self.url}/epcis/capture", data=body, headers=headers, timeout=60)

    def capture(self, body: bytes, content_type: str, timeout: float = 120) -> dict[str, Any]:
        answer = self.post(body, content_type)
        assert answer.status_code == 202, answer.text
        return self.job(answer.headers["Location"], timeout)

    def job(self, location: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job: dict[str, Any] = requests.get(self.url + location, timeout=10).json()
            if not job["running"]:
                return job
            assert time.monotonic() < deadline, f"capture job still running: {job}"
            time.sleep(0.1)

    def events(self, **params: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/epcis/events", params={"perPage": "1000", **params}, timeout=30)
        assert answer.status_code == 200, answer.text
        document = answer.json()
        epcis.validate_document({k: v for k, v in document.items()}, source="/epcis/events")
        found: list[dict[str, Any]] = document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        return found

    def nonce(self) -> int:
        return int(self.chain.w3.eth.get_transaction_count(dev_accounts(ACTOR + 1)[ACTOR].address))


def _documents() -> list[tuple[Path, epcis.EpcisDocument]]:
    return [
        (path, epcis.parse_xml_document(path.read_bytes()) if path.suffix == ".xml" else epcis.load_document(path)) for path in EXAMPLES
    ]


@pytest.fixture(scope="module")
def partner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Partner]:
    """A brand owning every GS1 company prefix of the examples and their products, dev:9 its
    authorised actor, and ``o2ochain serve --tokens`` with one token for dev:9 and that brand."""
    tmp = tmp_path_factory.mktemp("epcis-capture")
    node = Anvil(port=_free_port(), state=tmp / "anvil-state.json", state_interval=1).start()
    accounts = dev_accounts(ACTOR + 1)
    chain = o2ochain.O2OChain(http_web3(node.url), accounts=accounts)
    chain.deploy(accounts[0], save_to=tmp / "deployments")
    gtins = sorted({s.subject.gtin for _, d in _documents() for e in d.events for s in e.subjects if s.subject.gtin})
    prefixes = sorted({g[1:8] for g in gtins})
    brand = chain.admin(accounts[0]).register_brand(accounts[1].address, "GS1 examples", prefixes)
    admin = chain.brand(accounts[1], brand)
    for gtin in gtins:
        admin.add_product(gtin)
    chain.trace_admin(accounts[1], brand).grant(accounts[ACTOR].address, "other")
    (tmp / "tokens.jsonl").write_text(json.dumps({"token": TOKEN, "account": f"dev:{ACTOR}", "brand": brand}) + "\n")
    process, url = _serve(node, tmp, tmp / "store")
    try:
        yield Partner(node, chain, url, process, tmp)
    finally:
        node.stop()
        _stop(process)


def _serve(node: Anvil, tmp: Path, store: Path, *, database_url: str | None = None) -> tuple[subprocess.Popen[str], str]:
    """``o2ochain serve --tokens`` on ``node`` with its own ``store`` (and so its own repository;
    in ``database_url``'s database when given)."""
    port = _free_port()
    command = [sys.executable, "-m", "o2ochain.cli", "serve", "--rpc", node.url, "--deployment", str(tmp / "deployments")]
    command += ["--store", str(store), "--port", str(port), "--tokens", str(tmp / "tokens.jsonl")]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | ({"DATABASE_URL": database_url} if database_url else {})
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            requests.get(url + "/epcis/", timeout=1)
            return process, url
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "o2ochain serve did not answer within 60 s"
            time.sleep(0.1)


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr


def _id(event: dict[str, Any]) -> str:
    """An event's id: ``eventID``, or ``id``, its JSON-LD alias, as one of GS1's examples writes it."""
    return str(event.get("eventID", event.get("id")))


def _identifiers(event: dict[str, Any]) -> tuple[str, str] | None:
    """A query parameter and value that names this event by what it is about."""
    for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        if event.get(name):
            return "MATCH_anyEPC", str(event[name][0])
    if event.get("parentID"):
        return "MATCH_anyEPC", str(event["parentID"])
    for name in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        if event.get(name):
            return "MATCH_anyEPCClass", str(event[name][0]["epcClass"])
    return None


def test_every_gs1_example_is_captured_queried_back_and_exported_once(partner: Partner) -> None:
    assert len(EXAMPLES) == 26
    captured: dict[str, dict[str, Any]] = {}
    clashing: list[Path] = []
    for path in EXAMPLES:
        kind = "application/xml" if path.suffix == ".xml" else "application/ld+json"
        job = partner.capture(path.read_bytes(), kind)
        if not job["success"] and all("captured before for another event" in e["detail"] for e in job["errors"]):
            clashing.append(path)  # GS1's example reuses an eventID of another example for another event
            continue
        assert (job["success"], job["errors"]) == (True, []), f"{path.name}: {job}"
        for event_id in job["eventIDs"]:
            captured[event_id] = {"file": path.name}
    # GS1's examples give one eventID to two different events twice (AssociationEvent-f and the
    # source/destination example; the JSON and XML error-declaration examples, whose read points
    # differ). A repository must refuse the second: here each such document is checked to be a
    # real clash, then captured into a repository of its own.
    assert {p.name for p in clashing} == {p.name for p in EXAMPLES} & CLASHES
    second, second_url = _serve(partner.node, partner.tmp, partner.tmp / "second-store")
    try:
        for path in clashing:
            kind = "application/xml" if path.suffix == ".xml" else "application/ld+json"
            own = Partner(partner.node, partner.chain, second_url, second, partner.tmp)
            job = own.capture(path.read_bytes(), kind)
            assert (job["success"], job["errors"]) == (True, []), f"{path.name}: {job}"
            assert set(job["eventIDs"]) & set(captured), "not a clash: no eventID in common"
            for event_id in job["eventIDs"]:
                [event] = own.events(EQ_eventID=event_id)
                assert event["o2o:anchor"]["verified"] is True
    finally:
        _stop(second)
    for event_id, where in captured.items():
        [event] = partner.events(EQ_eventID=event_id)
        anchor = event.pop("o2o:anchor")
        assert anchor["verified"] is True and anchor["contentHash"] == "0x" + epcis.content_hash(event).hex(), where
        named = _identifiers(event)
        if named is not None:
            assert event_id in {_id(e) for e in partner.events(**{named[0]: named[1]})}, (where, named)
        if event.get("bizStep"):
            assert event_id in {_id(e) for e in partner.events(EQ_bizStep=event["bizStep"])}, where
        as_xml = requests.get(f"{partner.url}/epcis/events/{quote(event_id, safe='')}", headers={"Accept": "application/xml"}, timeout=30)
        assert as_xml.status_code == 200, (where, as_xml.text)
        epcis.xml_to_document(as_xml.content, source=where["file"])  # checked against GS1's XSD

    # Sent again, every document: the same events, nothing sent to the chain.
    nonce = partner.nonce()
    for path in EXAMPLES:
        kind = "application/xml" if path.suffix == ".xml" else "application/ld+json"
        job = partner.capture(path.read_bytes(), kind)
        if path in clashing:  # still refused, still by name
            assert job["success"] is False and all("captured before for another event" in e["detail"] for e in job["errors"])
            continue
        assert job["success"] is True and set(job["eventIDs"]) <= set(captured), path.name
    assert partner.nonce() == nonce
    assert {_id(e) for e in partner.events()} == set(captured)


def _document(count: int, start: int) -> bytes:
    events = [
        {
            "type": "ObjectEvent",
            "eventTime": f"2026-11-02T06:{(start + n) // 60 % 60:02d}:{(start + n) % 60:02d}+08:00",
            "eventTimeZoneOffset": "+08:00",
            "epcList": [f"urn:epc:id:giai:4000001.NODE{start + n}"],
            "action": "OBSERVE",
            "bizStep": "inspecting",
        }
        for n in range(count)
    ]
    document = {"@context": [epcis.EPCIS_CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0"}
    document |= {"creationDate": "2026-11-20T00:00:00Z", "epcisBody": {"eventList": events}}
    return json.dumps(document).encode()


def test_a_node_that_goes_away_gets_503_and_a_running_job_finishes_once_it_is_back(partner: Partner) -> None:
    running = partner.post(_document(600, 0), "application/ld+json")
    assert running.status_code == 202
    partner.node.stop()  # SIGTERM: Anvil writes its state; what was not mined is lost
    time.sleep(1.2)  # the server asks the node at most once a second
    away = partner.post(_document(5, 10_000), "application/ld+json")
    assert away.status_code == 503 and int(away.headers["Retry-After"]) > 0
    assert away.json()["type"].startswith("epcisException:")
    time.sleep(2)
    partner.node.start()
    job = partner.job(running.headers["Location"], timeout=180)
    assert (job["success"], len(job["eventIDs"])) == (True, 600), job
    # Exactly once on chain: one ledger entry per event, whatever was sent before the node left.
    contents = [bytes.fromhex(e["o2o:anchor"]["contentHash"][2:]) for e in partner.events(EQ_bizStep="inspecting")]
    assert len(contents) == 600
    entries = partner.chain.trace.chains([epcis.parse_identifier(f"urn:epc:id:giai:4000001.NODE{n}").chain_subject for n in range(600)])
    on_chain = [entry.content for chain in entries.values() for entry in chain]
    assert sorted(on_chain) == sorted(contents)
    after = partner.capture(_document(5, 10_000), "application/ld+json")
    assert after["success"] is True


def _capture_children(server: int) -> list[int]:
    """The capture process(es) of ``o2ochain serve`` ``server`` (see o2ochain.serve._capture)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if parent == server and b"o2ochain.serve._capture" in command:
            found.append(int(entry.name))
    return found


def test_a_repository_on_postgresql_behind_a_password_captures(partner: Partner, postgres_server: PostgresServer, tmp_path: Path) -> None:
    # The capture process opens the repository itself: it must be given the password the URL
    # the server was started with holds (a URL printed or logged hides it).
    database = "epcis_password"
    postgres_server.execute(f"DROP DATABASE IF EXISTS {database}")
    postgres_server.execute(f"CREATE DATABASE {database} OWNER {postgres_server.role}")
    url = postgres_server.url.rsplit("/", 1)[0] + "/" + database
    assert ":" + postgres_server.password + "@" in url
    process, served = _serve(partner.node, partner.tmp, tmp_path / "store", database_url=url)
    try:
        on_postgres = dataclasses.replace(partner, url=served, process=process)
        job = on_postgres.capture(_document(3, 40_000), "application/ld+json")
        assert job["success"] is True, job
        found = on_postgres.events(EQ_bizStep="inspecting")  # this repository holds only these
        assert sorted(event["epcList"][0] for event in found) == [f"urn:epc:id:giai:4000001.NODE{n}" for n in range(40_000, 40_003)]
        assert all(event["o2o:anchor"]["status"] == "anchored" for event in found)
        rows = postgres_server.query("SELECT count(*) AS n FROM epcis_events", database=database)
        assert rows == [{"n": 3}]
    finally:
        _stop(process)


def test_a_server_killed_outright_leaves_no_capture_process(partner: Partner, tmp_path: Path) -> None:
    process, _url = _serve(partner.node, partner.tmp, tmp_path / "store")
    try:
        (child,) = _capture_children(process.pid)
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, f"capture process {child} outlived its server"
        time.sleep(0.1)


def test_captures_run_in_a_process_of_their_own_and_one_that_dies_fails_its_jobs_not_the_server(partner: Partner) -> None:
    # The party: the operating system, killing the capture process (out of memory, say) while
    # it holds a job: the job must end failed, in words, and a resend must capture it once.
    (child,) = _capture_children(partner.process.pid)
    held = partner.post(_document(40, 20_000), "application/ld+json")
    assert held.status_code == 202
    partner.node.stop()  # the job now waits for the node inside the capture process
    time.sleep(1)
    os.kill(child, signal.SIGKILL)
    job = partner.job(held.headers["Location"], timeout=60)
    assert job["success"] is False and "capture process stopped" in job["errors"][0]["detail"], job
    assert "0x" not in json.dumps(job["errors"])
    partner.node.start()
    time.sleep(1.2)  # the server asks the node at most once a second
    again = partner.capture(_document(40, 20_000), "application/ld+json")
    assert again["success"] is True and len(again["eventIDs"]) == 40, again
    (restarted,) = _capture_children(partner.process.pid)
    assert restarted != child
    subjects = [epcis.parse_identifier(f"urn:epc:id:giai:4000001.NODE{n}").chain_subject for n in range(20_000, 20_040)]
    assert sorted(len(chain) for chain in partner.chain.trace.chains(subjects).values()) == [1] * 40


def test_events_in_blocks_the_node_lost_are_sent_again_and_their_anchors_follow(partner: Partner) -> None:
    # The party: the node itself, which gave receipts for blocks it then lost (Anvil restarted
    # while it still mined, a reorg). The job said success; the events must end on chain anyway.
    w3 = partner.chain.w3
    before = w3.provider.make_request("evm_snapshot", [])["result"]
    job = partner.capture(_document(30, 30_000), "application/ld+json")
    assert job["success"] is True
    subjects = [epcis.parse_identifier(f"urn:epc:id:giai:4000001.NODE{n}").chain_subject for n in range(30_000, 30_030)]
    assert w3.provider.make_request("evm_revert", [before])["result"] is True  # the blocks are gone
    assert sum(len(chain) for chain in partner.chain.trace.chains(subjects).values()) == 0
    w3.provider.make_request("evm_mine", [])  # the node goes on, with another block where the lost one was
    deadline = time.monotonic() + 60
    while not _on_chain_where_anchored(partner, range(30_000, 30_030)):
        assert time.monotonic() < deadline, "the lost events were not sent again, or their anchors not moved"
        time.sleep(0.5)
    assert sorted(len(chain) for chain in partner.chain.trace.chains(subjects).values()) == [1] * 30


def _on_chain_where_anchored(partner: Partner, numbers: range) -> bool:
    """Whether each of these events' anchors names a transaction the node has, in the block it says."""
    anchors = [e["o2o:anchor"] for e in partner.events(EQ_bizStep="inspecting") if int(e["epcList"][0].rsplit("NODE", 1)[1]) in numbers]
    assert len(anchors) == len(numbers)
    for anchor in anchors:
        try:
            receipt = partner.chain.w3.eth.get_transaction_receipt(anchor["transaction"])
        except TransactionNotFound:
            return False
        if receipt["blockNumber"] != anchor["block"]:
            return False
    return True
