"""Every page of the demo, at a phone's size and a desktop's, checked for accessibility.

frontend/e2e/a11y.mjs opens each page in Debian's Chromium, runs axe-core (npm) against WCAG 2.0,
2.1 and 2.2 A and AA (colour contrast and tap-target size included) and tries the page by
keyboard alone: Tab reaches every control, each with a visible focus ring, and Enter opens a
disclosure. Screenshots: test-output/a11y-<page>-<phone|desktop>.png.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser import demo_paths, drive_script

pytestmark = pytest.mark.e2e

#: Impacts that fail the test (axe's scale: minor, moderate, serious, critical).
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def checked(page_demo: dict[str, Any]) -> list[dict[str, Any]]:
    base, paths = page_demo["base"], demo_paths(page_demo)
    pages = [
        {"name": "home", "path": "/"},
        *({"name": case, "path": paths[f"item:{case}"]} for case in ("authentic", "claimed", "recalled", "jam", "recalled-jam", "unknown")),
        {"name": "merchant", "path": paths["merchant"], "wait": ".merchant"},
        {"name": "voucher", "path": paths["voucher"]},
        {"name": "account", "path": "/?account"},
    ]
    found: list[dict[str, Any]] = drive_script("a11y.mjs", {"base": base, "pages": pages})
    assert {(r["name"], r["viewport"]) for r in found} == {(p["name"], v) for p in pages for v in ("phone", "desktop")}
    return found


def test_axe_finds_no_serious_or_critical_violation_on_any_page(checked: list[dict[str, Any]]) -> None:
    blocking = [
        f"{r['name']} ({r['viewport']}): {v['id']} [{v['impact']}] {v['help']} at {v['nodes']}"
        for r in checked
        for v in r["violations"]
        if v["impact"] in BLOCKING
    ]
    assert blocking == [], "\n".join(blocking)
    assert all(r["consoleErrors"] == [] for r in checked), [(r["name"], r["consoleErrors"]) for r in checked if r["consoleErrors"]]


def test_every_control_is_reached_by_tab_and_shows_its_focus(checked: list[dict[str, Any]]) -> None:
    assert all(r["controls"] > 0 for r in checked)
    unreachable = {(r["name"], r["viewport"]): r["unreachable"] for r in checked if r["unreachable"]}
    assert unreachable == {}
    invisible = {(r["name"], r["viewport"]): r["focusInvisible"] for r in checked if r["focusInvisible"]}
    assert invisible == {}


def test_the_record_behind_a_step_opens_by_keyboard(checked: list[dict[str, Any]]) -> None:
    with_history = [r for r in checked if r["name"] in ("jam", "recalled-jam")]
    assert len(with_history) == 4 and all(r["disclosureOpens"] is True for r in with_history)
