"""An EPCIS import killed with SIGKILL mid-run, then rerun, anchors every event exactly once."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from o2ochain import gs1
from tests.conftest import GTIN_A
from tests.e2e.conftest import FreshBrand, kill_midrun

pytestmark = pytest.mark.e2e
EVENTS = 3_000


def test_trace_import_sigkill_midrun_then_rerun_anchors_each_event_once(fresh_brand: FreshBrand, tmp_path: Path) -> None:
    chain, brand = fresh_brand.chain, fresh_brand.brand
    chain.trace_admin(fresh_brand.accounts[1], brand).grant(fresh_brand.accounts[2].address, "logistics")
    events = [
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "epcList": [f"{gs1.DEFAULT_RESOLVER}/01/{GTIN_A}/21/K{n:06d}"],
            "eventTime": f"2026-11-02T06:{n // 60 % 60:02d}:{n % 60:02d}.000+08:00",
            "eventTimeZoneOffset": "+08:00",
        }
        for n in range(EVENTS)
    ]
    document = tmp_path / "events.jsonld"
    document.write_text(
        json.dumps(
            {
                "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2026-11-20T00:00:00Z",
                "epcisBody": {"eventList": events},
            }
        )
    )
    subjects = [gs1.item_id(GTIN_A, f"K{n:06d}") for n in range(EVENTS)]
    probes = subjects[::100]
    command = fresh_brand.cli("trace", "import", str(document), "--store", str(tmp_path / "events"))
    kill_midrun(command, lambda: sum(1 for word in chain.trace.heads(brand, probes) if any(word)), 4)
    partial = sum(1 for word in chain.trace.heads(brand, subjects) if any(word))
    assert 0 < partial < EVENTS, f"killed with {partial} of {EVENTS} events anchored: not mid-run"

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["recorded"] + report["alreadyRecorded"] == EVENTS
    counts = [int.from_bytes(word[24:], "big") for word in chain.trace.heads(brand, subjects)]
    assert counts == [1] * EVENTS
