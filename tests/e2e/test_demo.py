"""README command 1: the demo loads the sample catalogue and prints commands that work."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from o2ochain._chain.connection import free_port

pytestmark = pytest.mark.e2e


def test_demo_loads_catalogue_and_its_verify_commands_give_the_promised_verdicts(tmp_path: Path) -> None:
    port = free_port()
    cli = [sys.executable, "-m", "o2ochain.cli"]
    demo = subprocess.run(
        [*cli, "demo", "--port", str(port), "--out", str(tmp_path / "out"), "--items", "3000", "--explicit", "200", "--exit"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    assert "items committed" in demo.stdout and "items registered" in demo.stdout
    assert len(list((tmp_path / "out" / "qr").glob("*.png"))) == 10
    assert (tmp_path / "out" / "deployments" / "31337.json").is_file()  # the manifest too stays in --out
    commands = [line.strip() for line in demo.stdout.splitlines() if line.strip().startswith("o2ochain item verify")]
    traces = [line.strip() for line in demo.stdout.splitlines() if line.strip().startswith("o2ochain trace")]
    guarantees = [line.strip() for line in demo.stdout.splitlines() if line.strip().startswith("o2ochain guarantee")]
    loops = [
        line.strip()
        for line in demo.stdout.splitlines()
        if line.strip().startswith(("o2ochain merchant", "o2ochain review", "o2ochain coupon"))
    ]
    assert len(commands) == 5 and len(traces) == 3 and len(guarantees) == 3 and len(loops) == 4
    assert re.search(r"the keeper paid (\d+) buyers", demo.stdout)
    # The demo stopped its chain (--exit): run it again, serving, and check each command.
    server = subprocess.Popen(
        [
            *cli,
            "demo",
            "--port",
            str(port),
            "--web-port",
            str(free_port()),
            "--out",
            str(tmp_path / "out"),
            "--items",
            "3000",
            "--explicit",
            "200",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        served: list[str] = []
        for line in server.stdout:
            served.append(line)
            if "keeps running" in line:
                break
        # The second run reused the chain the first one kept (out/chain-state.json): no loading.
        assert "reusing the sample data loaded by an earlier run" in "".join(served), "".join(served)
        assert "items committed" not in "".join(served)
        # how long it took, counted from the process's start (test_demo_promises.py holds the warm
        # start to its budget, in CPU seconds: a wall clock here measures the machine's load)
        assert re.search(r"ready in \d+\.\d s since the command started", "".join(served)), "".join(served)
        # The consumer page is served, with its config and a page URL per sample item.
        page = re.search(r"Consumer page: (http://127\.0\.0\.1:\d+)/", "".join(served))
        assert page, "".join(served)
        assert len(re.findall(r"^\s+http://127\.0\.0\.1:\d+/\?item=https\S+$", "".join(served), re.M)) == 8  # 7 items + 1 claim link
        assert re.search(r"^\s+http://127\.0\.0\.1:\d+/\?account$", "".join(served), re.M)
        from urllib.request import urlopen

        with urlopen(page.group(1) + "/config.json", timeout=10) as response:
            assert json.load(response)["deployment"]["chainId"] == 31337
        verdicts = []
        for command in commands:
            result = subprocess.run(
                [*cli, *shlex.split(command)[1:], "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
            )
            assert result.returncode == 0, result.stderr
            verdicts.append(re.search(r'"verdict": "([a-z ]+)"', result.stdout).group(1))  # type: ignore[union-attr]
        assert verdicts == ["authentic", "authentic", "claimed", "recalled", "not registered"]
        show, responsibility, export = (shlex.split(c)[1:] for c in traces)
        history = json.loads(
            subprocess.run([*cli, *show, "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True).stdout
        )
        assert [h["bizStep"] for h in history] == [
            "commissioning",
            "shipping",
            "receiving",
            "commissioning",
            "packing",
            "shipping",
            "receiving",
            "unpacking",
            "stocking",
        ]
        assert all(h["verified"] for h in history)
        assert sorted(history[3]["relations"]) == ["item", "lot"]  # one transformation, anchored on the jar and on its lot
        rows = json.loads(
            subprocess.run([*cli, *responsibility, "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True).stdout
        )
        assert rows[-1]["disposition"] == "recalled" and rows[-1]["actorKind"] == "plant"
        assert {r["actorKind"] for r in rows} >= {"farm", "plant"}
        document = subprocess.run([*cli, *export], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True).stdout
        from o2ochain import epcis

        epcis.validate_document(json.loads(document), source="demo export")

        prices, owed, pool = (
            json.loads(
                subprocess.run(
                    [*cli, *shlex.split(c)[1:], "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True
                ).stdout
            )
            for c in guarantees
        )
        assert sorted({p["channel"] for p in prices}) == [1, 2, 3] and min(int(p["price"]) for p in prices) == 133 * 10**15
        assert [(o["due"], o["compensated"], o["reason"]) for o in owed] == [
            ("0", str(55 * 10**15), "already compensated for this price or a lower one")
        ]
        assert int(pool["paid"]) > 0 and int(pool["reserved"]) > 0  # the cover of purchases whose claims are open
        assert int(pool["free"]) == int(pool["balance"]) - int(pool["reserved"]) > 0

        page, reviews, stats, redeem = (
            subprocess.run([*cli, *shlex.split(c)[1:], "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
            for c in loops
        )
        assert page.returncode == reviews.returncode == stats.returncode == redeem.returncode == 0, (
            page.stderr + reviews.stderr + redeem.stderr
        )
        page_data = json.loads(page.stdout)
        assert page_data["profile"]["details"]["name"] == "Dalian Coast, Zhongshan Road store"
        assert page_data["rating"]["count"] == 2 and all(r["verifiedBuyer"] for r in page_data["reviews"])
        listed = json.loads(reviews.stdout)
        ranked = listed["reviews"]
        assert listed["hidden"] == 0  # every buyer bought from a seller the brand authorised
        assert len(ranked) == 5 and ranked[0]["text"] and ranked[-1]["folded"]  # "Fine." and "Too salty" sink
        assert [r["usefulness"] for r in ranked if not r["folded"]] == sorted(
            (r["usefulness"] for r in ranked if not r["folded"]), reverse=True
        )
        figures = json.loads(stats.stdout)
        assert (figures["capacity"], figures["signed"], figures["redeemed"], figures["conversion"]) == (500, 60, 12, 0.2)
        assert json.loads(redeem.stdout)["index"] == 0
    finally:
        server.terminate()
        server.wait(30)


def test_demo_killed_while_loading_starts_over_and_finishes(tmp_path: Path) -> None:
    """A run killed before it finished loading leaves no usable saved demo: the next run loads from scratch, once."""
    import signal
    import time

    command = [sys.executable, "-m", "o2ochain.cli", "demo", "--port", str(free_port()), "--out", str(tmp_path / "out")]
    command += ["--items", "1000", "--explicit", "100", "--exit"]
    first = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert first.stdout is not None
    for line in first.stdout:
        if "items registered" in line:  # well into loading, far from done
            break
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    time.sleep(0.5)
    subprocess.run(["pkill", "-f", "--", f"--state {tmp_path / 'out' / 'chain-state.json'}"], check=False)  # its orphaned Anvil
    assert not (tmp_path / "out" / "demo.json").exists()
    second = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert second.returncode == 0, second.stderr
    assert "reusing" not in second.stdout and "items committed" in second.stdout
    assert (tmp_path / "out" / "demo.json").is_file()
    third = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert third.returncode == 0 and "reusing the sample data" in third.stdout
    verify = next(
        line.strip() for line in third.stdout.splitlines() if line.strip().startswith("o2ochain item verify") and "FAKE" not in line
    )
    result = subprocess.run(
        [sys.executable, "-m", "o2ochain.cli", *shlex.split(verify)[1:], "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # the --exit run stopped its chain: the command names it, and the chain is gone, so this is a clean connection error
    assert result.returncode != 0 and "Traceback" not in result.stderr
