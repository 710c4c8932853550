"""The EPCIS 2.0 REST interface over HTTP on an in-process chain: capture into the chain, query
back, and what each party who would abuse it gets — a stranger without a token, a partner
posting another brand's goods, an actor its brand never authorised, an event id reused for
other content — before anything is written or sent."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import o2ochain
from o2ochain import epcis
from o2ochain.errors import InputError
from o2ochain.serve import BackgroundServer, EpcisService, EventRepository, Gateway, create_app, load_tokens
from tests.conftest import GTIN_A, GTIN_OTHER_BRAND, PREFIX, World, build_world
from tests.postgres import PostgresServer, postgres_server

__all__ = ["postgres_server"]  # the fixture, shared from tests/postgres.py

ENGINES = ("sqlite", "postgresql")
TOKEN = "farm-token-0123456789abcdef"
STRANGER_TOKEN = "stranger-token-0123456789abcdef"
SGLN = f"urn:epc:id:sgln:{PREFIX}.00001.0"


@dataclass
class Service:
    world: World
    url: str
    service: EpcisService
    repository: EventRepository
    farm: Any
    stranger: Any

    def post(self, document: dict[str, Any] | bytes, *, token: str | None = TOKEN, **headers: str) -> requests.Response:
        sent = {"Content-Type": "application/ld+json", **headers}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        return requests.post(f"{self.url}/epcis/capture", data=body, headers=sent, timeout=30)

    def capture(self, document: dict[str, Any] | bytes, **headers: str) -> dict[str, Any]:
        answer = self.post(document, **headers)
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["captureID"]
        assert answer.headers["Location"] == f"/epcis/capture/{job_id}"
        self.service.wait(job_id)
        job: dict[str, Any] = requests.get(f"{self.url}{answer.headers['Location']}", timeout=10).json()
        return job

    def query(self, **params: str) -> dict[str, Any]:
        answer = requests.get(f"{self.url}/epcis/events", params=params, timeout=10)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def nonce(self, account: Any) -> int:
        return int(self.world.chain.w3.eth.get_transaction_count(account.address))


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """One chain for the module (each test names its own items, and has its own repository)."""
    world = build_world(o2ochain.connect("tester"), tmp_path_factory.mktemp("epcis-service") / "deployments")
    world.chain.trace_admin(world.brand_admin, world.brand).grant(world.chain.accounts[7].address, "farm")
    return world


_databases = itertools.count()


@pytest.fixture
def svc(shared_world: World, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Service]:
    """The interface on ``o2ochain serve``'s gateway, its repository SQLite (the default) or, for a
    test parametrised with ``svc`` = "postgresql", a database of its own on a real PostgreSQL."""
    world = shared_world
    chain = world.chain
    chain.use_store(tmp_path / "events")
    farm, stranger = chain.accounts[7], chain.accounts[8]
    lines = [
        {"token": TOKEN, "account": "farm", "brand": world.brand},
        {"token": STRANGER_TOKEN, "account": "stranger", "brand": world.brand},
    ]
    (tmp_path / "tokens.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    signers = {"farm": farm, "stranger": stranger}
    tokens = load_tokens(tmp_path / "tokens.jsonl", chain_id=chain.chain_id, load_signer=lambda spec, _chain, _pw: signers[spec])
    if getattr(request, "param", "sqlite") == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = f"epcis_service_{next(_databases)}"
        server.execute(f"CREATE DATABASE {name} OWNER {server.role};", database="postgres")
        repository = EventRepository.open(server.url.rsplit("/", 1)[0] + f"/{name}")
    else:
        repository = EventRepository.open(tmp_path / "epcis.sqlite")
    service = EpcisService(chain, repository, tokens)
    gateway = Gateway(rpc_url="http://127.0.0.1:1", deployment=chain.deployment, events=tmp_path / "events", content=tmp_path / "c")
    gateway.epcis = service
    with BackgroundServer(create_app(gateway)) as server:
        yield Service(world, server.url, service, repository, farm, stranger)
    service.close()
    repository.close()


def document(*events: dict[str, Any], context: list[Any] | None = None) -> dict[str, Any]:
    return {
        "@context": context or [epcis.EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-20T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def object_event(serial: str, *, step: str = "commissioning", gtin: str = GTIN_A, **more: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": "2026-11-02T06:00:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": [epcis.parse_identifier(f"https://id.gs1.org/01/{gtin}/21/{serial}").uri],
        "action": "ADD",
        "bizStep": step,
        "readPoint": {"id": SGLN},
        **more,
    }


@pytest.mark.parametrize("svc", ENGINES, indirect=True)
def test_capture_anchors_on_chain_and_queries_back_with_the_anchor(svc: Service) -> None:
    with_id = object_event("A1", eventID="urn:uuid:8d4f2a3c-0b1e-4d7a-9c55-1f2e3d4c5b6a")
    without_id = object_event("A2", step="shipping", **{"example:batch": "7", "@context": {"example": "https://ns.example.com/"}})
    job = svc.capture(document(with_id, without_id))
    assert (job["running"], job["success"], job["errors"]) == (False, True, [])
    assert len(job["eventIDs"]) == 2
    hashed = job["eventIDs"][1]
    assert hashed.startswith("ni:///sha-256;") and hashed.endswith("?ver=CBV2.0")

    shipped = svc.query(EQ_bizStep="shipping")
    [event] = shipped["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert event["eventID"] == hashed and event["example:batch"] == "7"
    anchor = event["o2o:anchor"]
    assert anchor["verified"] is True
    # The anchor is the chain's: the receipt is mined in that block, and the content hash is
    # the ledger's for this very text (the served event minus the anchor the server adds).
    receipt = svc.world.chain.w3.eth.get_transaction_receipt(anchor["transaction"])
    assert receipt["status"] == 1 and receipt["blockNumber"] == anchor["block"]
    served = {k: v for k, v in event.items() if k != "o2o:anchor"}
    assert anchor["contentHash"] == "0x" + epcis.content_hash(served).hex()
    history = svc.world.chain.trace.history(epcis.parse_identifier(event["epcList"][0]).id)
    assert [h.content_hash for h in history] == [anchor["contentHash"]]

    by_epc = svc.query(MATCH_epc=with_id["epcList"][0])
    assert [e["eventID"] for e in by_epc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]] == [with_id["eventID"]]
    one = requests.get(f"{svc.url}/epcis/events/{with_id['eventID']}", timeout=10)
    assert one.status_code == 200 and one.headers["GS1-EPCIS-Version"] == "2.0.0" and one.headers["GS1-CBV-Version"] == "2.0.0"
    epcis.validate_document(one.json(), source="answer")


@pytest.mark.parametrize("svc", ENGINES, indirect=True)
def test_the_same_document_twice_is_captured_once(svc: Service) -> None:
    sent = document(object_event("B1"), object_event("B2", step="shipping"))
    first = svc.capture(sent)
    nonce = svc.nonce(svc.farm)
    again = svc.capture(sent)
    assert again["success"] is True and again["eventIDs"] == first["eventIDs"]
    assert svc.nonce(svc.farm) == nonce, "a second capture of the same events sent a transaction"
    listed = svc.query(perPage="10")["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert sorted(e["eventID"] for e in listed) == sorted(first["eventIDs"])


def test_a_stranger_without_a_valid_token_gets_401_and_nothing_is_written(svc: Service) -> None:
    nonce = svc.nonce(svc.farm)
    for token in (None, "not-a-token-at-all-0000", TOKEN + "x"):
        answer = svc.post(document(object_event("C1")), token=token)
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"] == "epcisException:SecurityException"
    assert svc.repository.jobs()[0] == []
    assert svc.nonce(svc.farm) == nonce


def test_an_invalid_document_is_refused_with_its_field_and_nothing_is_written(svc: Service) -> None:
    bad = object_event("D1")
    bad["action"] = "SOMETIMES"
    answer = svc.post(document(bad))
    assert answer.status_code == 400
    problem = answer.json()
    assert problem["type"] == "epcisException:ValidationException"
    assert any("action" in (error.get("field") or "") for error in problem["errors"])
    assert svc.repository.jobs()[0] == []
    assert svc.post(b"{not json", token=TOKEN).status_code == 400
    assert svc.post(b"<x/>", token=TOKEN, **{"Content-Type": "text/plain"}).status_code == 415


@pytest.mark.parametrize("svc", ENGINES, indirect=True)
def test_another_brands_goods_are_refused_before_anything_is_sent(svc: Service) -> None:
    nonce = svc.nonce(svc.farm)
    job = svc.capture(document(object_event("E1"), object_event("E2", gtin=GTIN_OTHER_BRAND)))
    assert (job["running"], job["success"]) == (False, False)
    [error] = job["errors"]
    assert error["field"].startswith("$.epcisBody.eventList[1]") and GTIN_OTHER_BRAND in error["detail"]
    assert error["type"] == "epcisException:ValidationException" and error["title"]
    assert svc.nonce(svc.farm) == nonce, "rollback: nothing may be sent"
    assert svc.query()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []

    # proceed: the good event is captured, the other still refused by name
    job = svc.capture(document(object_event("E1"), object_event("E2", gtin=GTIN_OTHER_BRAND)), **{"GS1-Capture-Error-Behaviour": "proceed"})
    assert (job["success"], job["captureErrorBehaviour"], len(job["errors"]), len(job["eventIDs"])) == (False, "proceed", 1, 1)
    assert len(svc.query()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1


def test_an_actor_its_brand_never_authorised_is_refused_before_sending(svc: Service) -> None:
    nonce = svc.nonce(svc.stranger)
    job = svc.capture(document(object_event("F1")), token=STRANGER_TOKEN)
    assert job["success"] is False
    assert "not an authorised actor" in job["errors"][0]["detail"]
    assert svc.nonce(svc.stranger) == nonce


def test_an_event_id_captured_before_is_not_replaced_by_other_content(svc: Service) -> None:
    event_id = "urn:uuid:11111111-2222-4333-8444-555555555555"
    svc.capture(document(object_event("G1", eventID=event_id)))
    job = svc.capture(document(object_event("G2", eventID=event_id)))
    assert job["success"] is False and "another event" in job["errors"][0]["detail"]
    [event] = svc.query(EQ_eventID=event_id)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert event["epcList"][0].endswith("G1")


def test_xml_in_and_out(svc: Service) -> None:
    job = svc.capture(document(object_event("H1")))
    sent_xml = epcis.document_to_xml(document(object_event("H2", step="receiving")))
    answer = svc.post(sent_xml, **{"Content-Type": "application/xml"})
    assert answer.status_code == 202, answer.text
    assert svc.service.wait(answer.json()["captureID"]).status == "success"
    xml = requests.get(f"{svc.url}/epcis/events", headers={"Accept": "application/xml"}, timeout=10)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    read = epcis.xml_to_document(xml.content)  # XSD-checked on the way in
    events = read["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert {e["eventID"] for e in events} == {job["eventIDs"][0], *svc.service.wait(answer.json()["captureID"]).event_ids}
    assert requests.get(f"{svc.url}/epcis/events", headers={"Accept": "image/png"}, timeout=10).status_code == 406


@pytest.mark.parametrize("svc", ENGINES, indirect=True)
def test_discovery_lists_and_the_rest_of_the_binding(svc: Service) -> None:
    svc.capture(document(object_event("K1"), object_event("K2", step="shipping")))
    top = requests.get(f"{svc.url}/epcis/", timeout=10).json()
    assert top["type"] == "Collection" and "events" in top["member"]
    steps = requests.get(f"{svc.url}/epcis/bizSteps", timeout=10).json()
    assert steps["member"] == ["commissioning", "shipping"]
    assert requests.get(f"{svc.url}/epcis/eventTypes", timeout=10).json()["member"] == ["ObjectEvent"]
    assert requests.get(f"{svc.url}/epcis/readPoints", timeout=10).json()["member"] == [SGLN]
    by_step = requests.get(f"{svc.url}/epcis/bizSteps/shipping/events", timeout=10).json()
    assert len(by_step["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1
    epc = object_event("K1")["epcList"][0]
    by_epc = requests.get(f"{svc.url}/epcis/epcs/{epc}/events", timeout=10).json()
    assert len(by_epc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1
    page = requests.get(f"{svc.url}/epcis/events", params={"perPage": "1"}, timeout=10)
    assert 'rel="next"' in page.headers["Link"]
    following = requests.get(page.headers["Link"].split(">")[0].lstrip("<"), timeout=10).json()
    assert len(following["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1
    bad = requests.get(f"{svc.url}/epcis/events", params={"EQ_colour": "red"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["type"] == "epcisException:QueryParameterException"
    assert requests.get(f"{svc.url}/epcis/events/urn:uuid:nothing", timeout=10).status_code == 404
    assert requests.get(f"{svc.url}/epcis/capture/nope", timeout=10).status_code == 404
    assert requests.get(f"{svc.url}/epcis/queries", timeout=10).status_code == 501
    options = requests.options(f"{svc.url}/epcis/capture", timeout=10)
    assert options.status_code == 204 and "POST" in options.headers["Allow"]
    jobs = requests.get(f"{svc.url}/epcis/capture", timeout=10).json()
    assert len(jobs) == 1 and jobs[0]["success"] is True


def test_a_capture_while_the_node_is_away_is_answered_503_with_retry_after(svc: Service) -> None:
    away = EpcisService(svc.world.chain, svc.repository, svc.service.tokens, node_url="http://127.0.0.1:9")
    gateway = Gateway(rpc_url="http://127.0.0.1:1", deployment=svc.world.chain.deployment, events=Path("/nonexistent"), content=Path("/n"))
    gateway.epcis = away
    with BackgroundServer(create_app(gateway)) as server:
        answer = requests.post(
            f"{server.url}/epcis/capture",
            data=json.dumps(document(object_event("M1"))),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
    assert svc.repository.jobs()[0] == []


def test_tokens_file_problems_name_the_line_and_field(tmp_path: Path) -> None:
    cases = {
        "not json": "line",
        '{"token": "short", "account": "x", "brand": 1}': "token",
        '{"token": "long-enough-token-000", "account": "", "brand": 1}': "account",
        '{"token": "long-enough-token-000", "account": "x", "brand": 0}': "brand",
        '{"token": "long-enough-token-000", "account": "x", "brand": 1, "colour": 1}': "colour",
    }
    for line, field in cases.items():
        path = tmp_path / "tokens.jsonl"
        path.write_text(f"# partners\n\n{line}\n")
        with pytest.raises(InputError) as caught:
            load_tokens(path, chain_id=31337, load_signer=lambda *_: object())  # type: ignore[arg-type,return-value]
        assert caught.value.line == 3 and caught.value.file == str(path)
        if field != "line":
            assert caught.value.field == field
    twice = '{"token": "long-enough-token-000", "account": "x", "brand": 1}'
    (tmp_path / "tokens.jsonl").write_text(f"{twice}\n{twice}\n")
    with pytest.raises(InputError, match="given twice"):
        load_tokens(tmp_path / "tokens.jsonl", chain_id=31337, load_signer=lambda *_: object())  # type: ignore[arg-type,return-value]


def test_an_index_of_the_first_release_is_migrated_with_its_jobs(tmp_path: Path) -> None:
    """A database made by revision 0001 (before jobs had an error behaviour) opens at the newest
    revision with its jobs intact; they were all-or-nothing, so they read as ``rollback``."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    config = Config()
    config.set_main_option("script_location", "o2ochain.serve:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(sa.text("INSERT INTO epcis_capture_jobs (id, status, created, errors) VALUES ('old', 'success', 1, '[]')"))
    engine.dispose()
    with EventRepository.open(tmp_path / "old.sqlite") as repository:
        job = repository.job("old")
        assert job is not None and (job.status, job.error_behaviour) == ("success", "rollback")
        assert repository.job(repository.start_job(error_behaviour="proceed")).error_behaviour == "proceed"  # type: ignore[union-attr]


def test_a_document_over_the_capture_limit_is_refused_before_it_is_read(svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """413 with the count, and the document never parsed (a 50 MB one took seconds to be told so)."""
    small = EpcisService(svc.world.chain, svc.repository, svc.service.tokens, capture_limit=3)
    parsed: list[bytes] = []
    monkeypatch.setattr(small, "read_document", lambda data, **_: parsed.append(data))
    gateway = Gateway(rpc_url="http://127.0.0.1:1", deployment=svc.world.chain.deployment, events=Path("/nonexistent"), content=Path("/n"))
    gateway.epcis = small
    with BackgroundServer(create_app(gateway)) as server:
        body = json.dumps(document(*(object_event(f"L{n}") for n in range(5)))).encode()
        answer = requests.post(
            f"{server.url}/epcis/capture",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
    assert answer.status_code == 413 and "5 events" in answer.json()["detail"]
    assert answer.json()["type"] == "epcisException:CaptureLimitExceededException"
    assert parsed == [] and svc.repository.jobs()[0] == []
