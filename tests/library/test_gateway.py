"""The gateway over HTTP (o2ochain.serve): what the page and the stores answer, and what a
stranger with a URL cannot make it do (read outside its folders, list them, write anything but a
review document, post a body of any size)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from o2ochain.deployments import Deployment
from o2ochain.serve import BackgroundServer, Gateway, create_app

DEPLOYMENT = Deployment.from_json(
    {
        "chainId": 31337,
        "deployer": "0x" + "11" * 20,
        "version": "test",
        "contracts": {"ProductRegistry": {"address": "0x" + "22" * 20, "block": 1, "txHash": "0x" + "33" * 32}},
    }
)
HASH = "ab" * 32


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    dist, events, content = tmp_path / "dist", tmp_path / "events", tmp_path / "content"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>o2ochain</title>", encoding="utf-8")
    (dist / "assets" / "main.js").write_text("export {}", encoding="utf-8")
    (events / HASH[:2]).mkdir(parents=True)
    (events / HASH[:2] / f"{HASH}.json").write_text('{"type": "ObjectEvent"}', encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for strangers", encoding="utf-8")
    gateway = Gateway("http://127.0.0.1:8545", DEPLOYMENT, events, content, dist=dist)
    with BackgroundServer(create_app(gateway)) as server:
        yield server.url, tmp_path


def test_the_page_its_config_and_the_event_store_are_served(site: tuple[str, Path]) -> None:
    url, _ = site
    home = requests.get(url + "/", timeout=10)
    assert home.status_code == 200 and "<title>o2ochain</title>" in home.text
    assert home.headers["cache-control"] == "no-cache"
    script = requests.get(url + "/assets/main.js", timeout=10)
    assert script.headers["content-type"].startswith("text/javascript")
    config = requests.get(url + "/config.json", timeout=10).json()
    assert config["deployment"]["chainId"] == 31337 and config["events"] == "./events/" and "relay" not in config
    event = requests.get(f"{url}/events/{HASH[:2]}/{HASH}.json", timeout=10)
    assert event.json() == {"type": "ObjectEvent"}
    batch = requests.post(url + "/events/batch", json={"hashes": ["0x" + HASH, "0x" + "cd" * 32]}, timeout=10)
    assert batch.json() == {"0x" + HASH: '{"type": "ObjectEvent"}', "0x" + "cd" * 32: None}
    assert requests.get(url + "/proofs/0x" + "12" * 32 + ".json", timeout=10).json() is None


def test_a_review_document_is_stored_under_its_hash_and_nothing_else_is(site: tuple[str, Path]) -> None:
    url, root = site
    stored = requests.post(url + "/content/", json={"type": "o2ochain.review", "text": "Good jam.", "language": "en"}, timeout=10)
    assert stored.status_code == 201
    digest = stored.json()["hash"]
    assert requests.get(f"{url}/{stored.json()['uri']}", timeout=10).json()["text"] == "Good jam."
    assert len(list((root / "content").rglob("*.json"))) == 1
    for body, words in [
        ({"type": "o2ochain.profile", "name": "x"}, "only review documents"),
        ({"type": "o2ochain.review", "text": "x", "photos": ["a.png"]}, "no photos"),
    ]:
        refused = requests.post(url + "/content/", json=body, timeout=10)
        assert refused.status_code == 400 and words in refused.json()["error"]
    assert requests.post(url + "/content/", data=b"{not json", timeout=10).json()["error"].startswith("field 'body': the posted document is not JSON")
    assert requests.post(url + "/events/batch", json={"hashes": ["../../secret.txt"]}, timeout=10).status_code == 400
    assert len(list((root / "content").rglob("*.json"))) == 1, "a refused post wrote nothing"
    assert digest.startswith("0x") and len(digest) == 66


def test_a_stranger_reads_nothing_outside_the_folders_and_posts_nothing_large(site: tuple[str, Path]) -> None:
    url, _ = site
    for path in ("/events/../secret.txt", "/events/%2e%2e/secret.txt", "/../secret.txt", "/content/..%2fsecret.txt"):
        answer = requests.get(url + path, timeout=10)
        assert answer.status_code == 404 and "not for strangers" not in answer.text, path
    assert requests.get(url + "/events/", timeout=10).status_code == 404, "no directory listing"
    assert requests.get(url + f"/events/{HASH[:2]}/", timeout=10).status_code == 404
    assert requests.post(url + "/elsewhere", json={}, timeout=10).status_code == 405
    assert requests.post(url + "/relay", json={"to": "0x", "data": "0x"}, timeout=10).json() == {"error": "field 'relay': this server relays nothing"}
    huge = requests.post(url + "/events/batch", data=b"x" * 200_000, timeout=10)
    assert huge.status_code == 400 and "too large" in huge.json()["error"]


def test_an_unbuilt_page_says_how_to_build_it(tmp_path: Path) -> None:
    gateway = Gateway("http://127.0.0.1:8545", DEPLOYMENT, tmp_path / "e", tmp_path / "c", dist=tmp_path / "missing")
    with BackgroundServer(create_app(gateway)) as server:
        answer = requests.get(server.url + "/", timeout=10)
        assert answer.status_code == 503 and "npx vite build frontend" in answer.text
        assert requests.get(server.url + "/config.json", timeout=10).status_code == 200


def test_a_taken_port_falls_back_to_a_free_one_unless_it_must_be_that_port(tmp_path: Path) -> None:
    gateway = Gateway("http://127.0.0.1:8545", DEPLOYMENT, tmp_path / "e", tmp_path / "c", dist=tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with BackgroundServer(create_app(gateway), port=port) as server:
            assert server.port != port
            assert json.loads(requests.get(server.url + "/config.json", timeout=10).text)["rpcUrl"] == "http://127.0.0.1:8545"
        with pytest.raises(Exception, match=f"cannot listen on 127.0.0.1:{port}"):
            BackgroundServer(create_app(gateway), port=port, fixed_port=True).start()


def test_the_pages_code_goes_out_gzipped_to_a_browser_that_takes_it(site: tuple[str, Path]) -> None:
    """A phone on a slow network downloads a quarter of the page's JavaScript (bench/page.py)."""
    url, folder = site
    code = "export const words = " + json.dumps(["a sentence of the page"] * 500) + "\n"
    (folder / "dist" / "assets" / "big.js").write_text(code, encoding="utf-8")
    zipped = requests.get(url + "/assets/big.js", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert zipped.headers["content-encoding"] == "gzip" and zipped.text == code  # requests undoes the gzip
    assert int(zipped.headers["content-length"]) < len(code) / 10
    assert zipped.headers["cache-control"] == "no-cache"
    plain = requests.get(url + "/assets/big.js", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "content-encoding" not in plain.headers and plain.text == code
    # small answers are not worth it
    small = requests.get(url + "/assets/main.js", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert "content-encoding" not in small.headers
