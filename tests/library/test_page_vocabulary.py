"""The consumer page has words for every CBV business step and disposition a partner may record.

frontend/src/features/product/words.ts holds them; a step with no words would show its CBV code
(or "Other step") to a shopper. The CBV lists are src/o2ochain/epcis/_vocabulary.py's.
"""

from __future__ import annotations

import re
from pathlib import Path

from o2ochain.epcis._vocabulary import BIZ_STEPS, DISPOSITIONS

WORDS_TS = Path(__file__).resolve().parents[2] / "frontend" / "src" / "features" / "product" / "words.ts"


def _table(name: str) -> dict[str, str]:
    text = WORDS_TS.read_text(encoding="utf-8")
    body = re.search(rf"export const {name}: Record<string, string> = \{{(.*?)\n\}}", text, re.S)
    assert body, f"{name} not found in {WORDS_TS}"
    return dict(re.findall(r"^\s+(\w+): '([^']*)',$", body.group(1), re.M))


def test_every_cbv_business_step_has_words() -> None:
    words = _table("STEP_WORDS")
    assert set(words) == set(BIZ_STEPS)
    assert all(w and w[0].isupper() and "_" not in w for w in words.values())


def test_every_cbv_disposition_has_words_or_says_nothing_on_purpose() -> None:
    words = _table("DISPOSITION_WORDS")
    assert set(words) == set(DISPOSITIONS)
    assert all("_" not in w for w in words.values())
    assert {code for code, w in words.items() if not w} == {"active", "in_progress"}  # the everyday states add nothing
