"""The gateway's GS1 Digital Link resolver over HTTP, on a real chain: what a phone scanning a
pack and a partner's system holding a Digital Link get, and that every answer comes from the
chain (registered, Merkle, recalled, certified by an anchored event) and never from a guess."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

import o2ochain
from o2ochain import epcis, gs1
from o2ochain._chain.connection import Anvil
from o2ochain.deployments import Deployment
from o2ochain.identity import catalogue_from_rows
from o2ochain.serve import BackgroundServer, Gateway, create_app, page_url
from tests.conftest import GTIN_A, GTIN_B, PREFIX, anvil_brand, build_world, gtin

VOC = "https://gs1.org/voc/"
CERTIFICATE = "https://cert.example/organic/2026/4711"
#: Ports of this test module (its range: 31000-31499).
PORT, DEAD_PORT, ANVIL_PORT, SERVE_PORT = 31010, 31499, 31020, 31030  # and PORT + 1, PORT + 2

#: RFC 9264's JSON linkset as the GS1-Conformant resolver standard's linkset schema constrains it:
#: one context object per anchor, every other member a link relation type (a URI) whose value is a
#: non-empty list of target objects, each with an absolute ``href`` and a ``title``.
LINKSET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["linkset"],
    "properties": {
        "linkset": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["anchor"],
                "properties": {"anchor": {"type": "string", "pattern": "^https?://"}, "description": {"type": "string"}},
                "patternProperties": {
                    "^https?://": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["href", "title"],
                            "properties": {
                                "href": {"type": "string", "pattern": "^https?://"},
                                "title": {"type": "string", "minLength": 1},
                                "type": {"type": "string", "pattern": "^[a-z]+/[a-z0-9.+-]+$"},
                                "hreflang": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]{2}(-[A-Z]{2})?$"}},
                            },
                            "additionalProperties": False,
                        },
                    }
                },
                "additionalProperties": False,
            },
        }
    },
}
#: The resolver description file schema's required members and their types (resolver standard, section 3).
DESCRIPTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resolverRoot", "supportedPrimaryKeys"],
    "properties": {
        "resolverRoot": {"type": "string", "pattern": "^https?://"},
        "supportedPrimaryKeys": {"type": "array", "items": {"enum": ["all", "01", "00", "414", "8003", "8004"]}},
        "name": {"type": "string"},
        "supportedLinkType": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"namespace": {"type": "string"}, "prefix": {"pattern": "^[a-zA-Z_][A-Za-z0-9_-]*?:$"}},
            },
        },
        "linkTypeDefaultCanBeLinkset": {"type": "boolean"},
        "linkTypeDefaultCanBeAll": {"type": "boolean"},
    },
}


@dataclass
class Site:
    url: str
    merkle_serials: list[str]


def _dl(serial: str | None = None, lot: str | None = None, g: str = GTIN_A) -> str:
    return gs1.DigitalLink(gtin=g, serial=serial, lot=lot).uri()


def _path(serial: str | None = None, lot: str | None = None, g: str = GTIN_A) -> str:
    return _dl(serial, lot, g).removeprefix(gs1.DEFAULT_RESOLVER)


def _linkset(url: str, path: str, accept: str = "application/linkset+json") -> dict[str, Any]:
    answer = requests.get(url + path, headers={"accept": accept}, timeout=30, allow_redirects=False)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].split(";")[0] == accept
    body: dict[str, Any] = answer.json()
    jsonschema.validate(body, LINKSET_SCHEMA)
    return body


def _links(body: dict[str, Any], rel: str) -> list[dict[str, Any]]:
    return list(body["linkset"][0].get(VOC + rel, []))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Items S1 (lot L1; an event names its certificate), S2 (recalled), S3 (lot L2, recalled as a
    lot), a Merkle lot M1 whose proofs the gateway holds, and the gateway on this chain (one for
    the module: the resolver only reads)."""
    tmp_path = tmp_path_factory.mktemp("resolver")
    world = build_world(o2ochain.connect("tester"), tmp_path / "deployments")
    chain = world.chain
    chain.use_store(tmp_path / "events")
    registrant = chain.registrant(world.registrant)
    registrant.register_items(catalogue_from_rows([(GTIN_A, "S1", "L1"), (GTIN_A, "S2", "L1"), (GTIN_A, "S3", "L2")]))
    registrant.recall_item(gs1.item_id(GTIN_A, "S2"), reason=2)
    registrant.recall_lot(GTIN_A, "L2", reason=4)
    merkle = catalogue_from_rows([(GTIN_A, f"M{n:03d}", "M1") for n in range(8)])
    registrant.commit_lots(merkle, proofs_dir=tmp_path / "proofs")
    farm = chain.accounts[7]
    chain.trace_admin(world.brand_admin, world.brand).grant(farm.address, "farm")
    event = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "disposition": "active",
        "epcList": [_dl("S1")],
        "eventTime": "2026-11-02T06:00:00.000+08:00",
        "eventTimeZoneOffset": "+08:00",
        "certificationInfo": CERTIFICATE,
    }
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-20T00:00:00Z",
        "epcisBody": {"eventList": [event]},
    }
    chain.actor(farm).import_document(document)
    gateway = Gateway(
        "https://rpc.example/",
        chain.deployment,
        tmp_path / "events",
        tmp_path / "content",
        dist=tmp_path / "dist",
        proofs=tmp_path / "proofs",
        chain=chain,
    )
    with BackgroundServer(create_app(gateway), port=PORT) as server:
        yield Site(server.url, [item.serial for item in merkle])


def test_a_browser_is_sent_to_the_page_with_every_link_in_the_header(site: Site) -> None:
    browser = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    answer = requests.get(site.url + _path("S1"), headers=browser, timeout=30, allow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == page_url(site.url, _dl("S1"))
    opened = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.headers["location"]).query)["item"][0]
    assert gs1.parse_digital_link(opened).item_id == gs1.item_id(GTIN_A, "S1"), "the page opens the very item"
    header = answer.headers["link"]
    for rel in ("pip", "defaultLink", "traceability", "recallStatus", "review", "certificationInfo"):
        assert f'rel="{VOC}{rel}"' in header
    assert 'rel="linkset"; type="application/linkset+json"' in header
    assert answer.headers["access-control-allow-origin"] == "*"
    # No Accept at all is the same; the GTIN-13 spelling, the lot and the query string are read
    # as GS1 Digital Link says, and the query string goes on to the page.
    plain = requests.get(f"{site.url}/01/{GTIN_A[1:]}/10/L1/21/S1?17=271231", timeout=30, allow_redirects=False)
    assert plain.status_code == 307
    assert plain.headers["location"] == page_url(site.url, _dl("S1", "L1")) + "&17=271231"
    assert requests.get(site.url + _path("S1", "L9"), timeout=30, allow_redirects=False).status_code == 404, "S1 is not of lot L9"


def test_a_linkset_client_gets_the_items_links_from_the_chain(site: Site) -> None:
    body = _linkset(site.url, _path("S1"))
    (context,) = body["linkset"]
    assert context["anchor"] == site.url + _path("S1")
    assert gs1.parse_digital_link(context["anchor"]).item_id == gs1.item_id(GTIN_A, "S1")
    (pip,) = _links(body, "pip")
    assert pip == {"href": page_url(site.url, _dl("S1")), "title": pip["title"], "type": "text/html", "hreflang": ["en"]}
    assert _links(body, "defaultLink")[0]["href"] == pip["href"], "the default link is also typed as what it is"
    assert _links(body, "review")[0]["href"] == pip["href"] + "#reviews-title"
    assert _links(body, "recallStatus")[0]["title"] == "Not recalled"
    assert [link["href"] for link in _links(body, "certificationInfo")] == [CERTIFICATE]
    (trace,) = _links(body, "traceability")
    split = urllib.parse.urlsplit(trace["href"])
    assert split.path == "/epcis/events" and trace["type"] == "application/ld+json"
    spellings = urllib.parse.parse_qs(split.query)["MATCH_epc"][0].split("|")
    urn = f"urn:epc:id:sgtin:{PREFIX}.{GTIN_A[0]}{GTIN_A[1 + len(PREFIX) : 13]}.S1"
    assert spellings == [_dl("S1"), urn]
    assert {epcis.parse_identifier(spelling).id for spelling in spellings} == {gs1.item_id(GTIN_A, "S1")}
    assert _links(body, "epcis")[0]["href"] == site.url + "/epcis"
    # The same linkset for ?linkType=linkset (and its older name all), for plain JSON, and as
    # JSON-LD with the resolver standard's context.
    for path, accept in [
        (_path("S1") + "?linkType=linkset", "application/linkset+json"),
        (_path("S1") + "?linkType=all", "application/linkset+json"),
    ]:
        assert requests.get(site.url + path, headers={"accept": "text/html"}, timeout=30).json() == body
        assert _linkset(site.url, path, accept) == body
    assert _linkset(site.url, _path("S1"), "application/json") == body
    as_ld = requests.get(site.url + _path("S1"), headers={"accept": "application/ld+json"}, timeout=30).json()
    assert as_ld == {"@context": "https://ref.gs1.org/standards/resolver/linkset-context", **body}


def test_a_link_type_asked_for_redirects_to_it_and_one_not_there_is_404(site: Site) -> None:
    traceability = _links(_linkset(site.url, _path("S1")), "traceability")[0]["href"]
    for spelling in ("gs1:traceability", "https://gs1.org/voc/traceability", "https://ref.gs1.org/voc/traceability"):
        answer = requests.get(site.url + _path("S1"), params={"linkType": spelling}, timeout=30, allow_redirects=False)
        assert answer.status_code == 307 and answer.headers["location"] == traceability, spelling
    pip = requests.get(site.url + _path("S1") + "?linkType=gs1:pip&17=271231", timeout=30, allow_redirects=False)
    assert pip.headers["location"] == page_url(site.url, _dl("S1")) + "&17=271231"
    for wanted in ("gs1:smpc", "schema:offers", "gs1:certificationInfo"):  # S2 names no certificate
        missing = requests.get(site.url + _path("S2"), params={"linkType": wanted}, timeout=30, allow_redirects=False)
        assert missing.status_code == 404, wanted
        jsonschema.validate(missing.json(), LINKSET_SCHEMA)
        (context,) = missing.json()["linkset"]
        assert wanted in context["description"] and "gs1:pip" in context["description"]
        assert VOC + "pip" in context and VOC + "certificationInfo" not in context


def test_recall_status_says_what_the_chain_says(site: Site) -> None:
    def recall(path: str) -> str:
        return str(_links(_linkset(site.url, path), "recallStatus")[0]["title"])

    assert recall(_path("S2")) == "Recalled: the brand recalled this item"
    assert recall(_path("S3")) == "Recalled: the brand recalled its lot L2"
    assert recall(_path(lot="L2")) == "Recalled: the brand recalled lot L2"
    assert recall(_path(lot="L1")) == "Not recalled"
    assert recall(_path()).startswith("Not recalled as a whole")
    # A Merkle item the gateway holds a proof of is known (verifyMerkle), and so is its lot.
    assert recall(_path(site.merkle_serials[3])) == "Not recalled"
    assert recall(_path(lot="M1")) == "Not recalled"
    urns = urllib.parse.parse_qs(urllib.parse.urlsplit(_links(_linkset(site.url, _path(lot="L1")), "traceability")[0]["href"]).query)
    assert urns["MATCH_epcClass"][0].split("|")[1] == f"urn:epc:class:lgtin:{PREFIX}.{GTIN_A[0]}{GTIN_A[1 + len(PREFIX) : 13]}.L1"


def test_what_the_chain_does_not_know_is_a_linkset_shaped_404(site: Site) -> None:
    unregistered = gtin(PREFIX, 99)  # a valid GTIN no brand registered
    for path, words in [
        (_path("NOPE"), "not registered on chain"),
        (_path("M999", "M1"), "not registered on chain"),  # not in the Merkle lot
        (_path(lot="NOLOT"), "is not on chain"),
        (_path(g=unregistered), "not registered to any brand"),
        (_path("S1", g=GTIN_B), "not registered on chain"),
    ]:
        for accept in ("text/html", "application/linkset+json"):
            answer = requests.get(site.url + path, headers={"accept": accept}, timeout=30, allow_redirects=False)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"] == "application/linkset+json"
            assert answer.headers["access-control-allow-origin"] == "*"
            body = answer.json()
            jsonschema.validate(body, LINKSET_SCHEMA)
            assert body["linkset"] == [{"anchor": site.url + path, "description": body["linkset"][0]["description"]}]
            assert words in body["linkset"][0]["description"]


def test_a_path_that_is_no_digital_link_is_400_in_words(site: Site) -> None:
    wrong_check = GTIN_A[:-1] + str((int(GTIN_A[-1]) + 1) % 10)
    for path, words in [
        (f"/01/{wrong_check}/21/S1", "check digit should be"),
        (f"/01/{GTIN_A}/21/S1/10/L1", "out of order"),
        (f"/01/{GTIN_A}/17/271231", "AI 17 is not allowed in the path"),
        (f"/01/{GTIN_A}/21/S%FF", "not an ASCII character"),
        (f"/01/{GTIN_A}/21/{'X' * 21}", "serial"),
        (f"/01/{GTIN_A}/21", "has no value"),
        ("/01/", "has no value"),
        ("/01/95060000001", "8, 12, 13 or 14 digits"),
        (f"/01/{GTIN_A}?17=991340", "expiry"),
    ]:
        answer = requests.get(site.url + path, headers={"accept": "application/linkset+json"}, timeout=30, allow_redirects=False)
        assert answer.status_code == 400, path
        assert answer.headers["access-control-allow-origin"] == "*"
        assert words in answer.json()["message"], (path, answer.json())
        assert "Traceback" not in answer.text


def test_head_options_and_cors_as_the_standard_requires(site: Site) -> None:
    head = requests.head(site.url + _path("S1"), timeout=30, allow_redirects=False)
    assert head.status_code == 307 and head.headers["location"] == page_url(site.url, _dl("S1")) and head.text == ""
    listed = requests.head(site.url + _path("S1"), headers={"accept": "application/linkset+json"}, timeout=30)
    assert listed.status_code == 200 and listed.headers["content-type"] == "application/linkset+json" and listed.text == ""
    for path in (_path("S1"), _path("NOPE"), "/.well-known/gs1resolver"):
        options = requests.options(
            site.url + path, headers={"origin": "https://shop.example", "access-control-request-method": "GET"}, timeout=30
        )
        assert options.status_code == 204, path
        assert options.headers["allow"] == "GET, HEAD, OPTIONS"
        assert options.headers["access-control-allow-origin"] == "*"
        assert "GET" in options.headers["access-control-allow-methods"]
    linkset = requests.get(site.url + _path("S1"), headers={"accept": "application/json", "origin": "https://shop.example"}, timeout=30)
    assert linkset.headers["access-control-allow-origin"] == "*" and "Link" in linkset.headers["access-control-expose-headers"]
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in linkset.headers["link"]


def test_the_well_known_description_names_this_resolver(site: Site) -> None:
    answer = requests.get(site.url + "/.well-known/gs1resolver", timeout=30)
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"
    description = answer.json()
    jsonschema.validate(description, DESCRIPTION_SCHEMA)
    assert description["resolverRoot"] == site.url and description["supportedPrimaryKeys"] == ["01"]
    assert description["supportedLinkType"] == [{"namespace": VOC, "prefix": "gs1:"}]
    assert description["linkTypeDefaultCanBeLinkset"] is False and description["linkTypeDefaultCanBeAll"] is False


def test_a_node_that_does_not_answer_is_503_with_retry_after(tmp_path: Path) -> None:
    nowhere = Deployment.from_json(
        {
            "chainId": 31337,
            "deployer": "0x" + "11" * 20,
            "version": "test",
            "contracts": {"ProductRegistry": {"address": "0x" + "22" * 20, "block": 1, "txHash": "0x" + "33" * 32}},
        }
    )
    gateway = Gateway("https://rpc.example/", nowhere, tmp_path / "events", tmp_path / "content", node_url=f"http://127.0.0.1:{DEAD_PORT}")
    with BackgroundServer(create_app(gateway), port=PORT + 1) as server:
        started = time.monotonic()
        answer = requests.get(server.url + _path("S1"), timeout=60, allow_redirects=False)
        assert time.monotonic() - started < 15, "a scan is told soon that the node is away"
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
        assert answer.headers["access-control-allow-origin"] == "*" and "Traceback" not in answer.text
        assert answer.json()["anchor"] == server.url + _path("S1")
        # What needs no chain still answers.
        wrong_check = GTIN_A[:-1] + str((int(GTIN_A[-1]) + 1) % 10)
        assert requests.get(server.url + f"/01/{wrong_check}/21/S1", timeout=30).status_code == 400
        assert requests.get(server.url + "/.well-known/gs1resolver", timeout=30).status_code == 200


def test_on_anvil_o2ochain_serve_and_the_gateway_resolve_from_the_node_and_503_without_it(tmp_path: Path) -> None:
    """``o2ochain serve`` resolving through its --rpc, the gateway's own client made from
    ``node_url``, and what a scan gets while that node is away."""
    with Anvil(port=ANVIL_PORT) as node:
        chain, accounts, brand = anvil_brand(node, tmp_path / "deployments", "Resolver Foods")
        chain.brand(accounts[1], brand).grant_registrant(accounts[2].address)
        chain.registrant(accounts[2]).register_items(catalogue_from_rows([(GTIN_A, "A1", "LA"), (GTIN_A, "A2", "LA")]))
        command = [sys.executable, "-m", "o2ochain.cli", "serve", "--rpc", node.url, "--deployment", str(tmp_path / "deployments")]
        command += ["--store", str(tmp_path / "store"), "--port", str(SERVE_PORT), "--page-rpc", "https://rpc.example/"]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{SERVE_PORT}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None and time.monotonic() < deadline, "o2ochain serve did not start"
                try:
                    answer = requests.get(url + _path("A1"), timeout=30, allow_redirects=False)
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
            assert answer.status_code == 307 and answer.headers["location"] == page_url(url, _dl("A1"))
            recall = requests.get(url + _path("A1") + "?linkType=gs1:recallStatus", timeout=30, allow_redirects=False)
            assert recall.status_code == 307 and recall.headers["location"] == page_url(url, _dl("A1"))
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0 and "Traceback" not in stderr, stderr
        gateway = Gateway("https://rpc.example/", chain.deployment, tmp_path / "events", tmp_path / "content", node_url=node.url)
        with BackgroundServer(create_app(gateway), port=PORT + 2) as server:
            body = _linkset(server.url, _path("A1"))
            assert _links(body, "recallStatus")[0]["title"] == "Not recalled" and not _links(body, "certificationInfo")
            assert requests.get(server.url + _path("A9"), timeout=30).status_code == 404
            node.stop()
            started = time.monotonic()
            away = requests.get(server.url + _path("A2"), timeout=60, allow_redirects=False)
            assert time.monotonic() - started < 15, "a scan is told soon that the node is away"
            assert away.status_code == 503 and away.headers["retry-after"] == "5" and "Traceback" not in away.text
