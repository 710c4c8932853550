"""Every page of the demo, at a phone's size and a desktop's, checked for accessibility.

frontend/e2e/a11y.mjs opens each page in Debian's Chromium, runs axe-core (npm) against WCAG 2.0,
2.1 and 2.2 A and AA (colour contrast and tap-target size included) and tries the page by
keyboard alone: Tab reaches every control, each with a visible focus ring, and Enter opens a
disclosure. The timeline, recall and voucher views are also opened in Chinese, and in both
languages at both sizes they show words only: no address, no GS1 URI or URN, no EPCIS type name.
Screenshots: test-output/a11y-<page>-<phone|desktop>.png.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser import demo_paths, drive_script
from tests.e2e.test_frontend import IDENTIFIERS

pytestmark = pytest.mark.e2e

#: Impacts that fail the test (axe's scale: minor, moderate, serious, critical).
BLOCKING = {"serious", "critical"}
#: A page that has drawn what it read.
READY = 'body[data-state="ready"]'


@pytest.fixture(scope="module")
def checked(page_demo: dict[str, Any]) -> list[dict[str, Any]]:
    base, paths = page_demo["base"], demo_paths(page_demo)
    pages = [
        {"name": "home", "path": "/"},
        *({"name": case, "path": paths[f"item:{case}"]} for case in ("authentic", "claimed", "recalled", "jam", "recalled-jam", "unknown")),
        {"name": "merchant", "path": paths["merchant"], "wait": ".merchant"},
        # These pages say "idle" while their code loads, then "loading": checked once they are drawn.
        {"name": "voucher", "path": paths["voucher"], "wait": READY},
        {"name": "account", "path": "/?account", "wait": READY},
        # The same views in Chinese: axe and the words; Tab reaches the same controls in any language.
        *(
            {"name": f"zh-{case}", "path": paths[f"item:{case}"] + "&lang=zh-CN", "keyboard": False}
            for case in ("jam", "recalled-jam", "recalled")
        ),
        {"name": "zh-voucher", "path": paths["voucher"] + "&lang=zh-CN", "wait": READY, "keyboard": False},
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


#: The views whose default words the issue names: a timeline, a recall, a voucher.
WORDS_ONLY = ("jam", "recalled-jam", "recalled", "voucher")


def test_timeline_recall_and_voucher_show_words_only_in_both_languages_at_both_sizes(checked: list[dict[str, Any]]) -> None:
    views = [r for r in checked if r["name"].removeprefix("zh-") in WORDS_ONLY]
    assert len(views) == 2 * 2 * len(WORDS_ONLY)
    assert {r["lang"] for r in views if r["name"].startswith("zh-")} == {"zh-CN"}
    assert {r["lang"] for r in views if not r["name"].startswith("zh-")} == {"en"}
    for r in views:
        assert r["state"] == "ready" and len(r["productText"]) > 40, (r["name"], r["viewport"], r["productText"])
        found = IDENTIFIERS.search(r["productText"])
        assert found is None, f"{r['name']} ({r['viewport']}) shows {found.group(0)!r}: {r['productText']!r}"


def test_every_control_is_reached_by_tab_and_shows_its_focus(checked: list[dict[str, Any]]) -> None:
    assert all(r["controls"] > 0 for r in checked)
    assert {r["name"] for r in checked if r["keyboard"]} == {r["name"] for r in checked if not r["name"].startswith("zh-")}
    unreachable = {(r["name"], r["viewport"]): r["unreachable"] for r in checked if r["unreachable"]}
    assert unreachable == {}
    invisible = {(r["name"], r["viewport"]): r["focusInvisible"] for r in checked if r["focusInvisible"]}
    assert invisible == {}


def test_the_record_behind_a_step_opens_by_keyboard(checked: list[dict[str, Any]]) -> None:
    with_history = [r for r in checked if r["name"] in ("jam", "recalled-jam")]
    assert len(with_history) == 4 and all(r["disclosureOpens"] is True for r in with_history)
