"""The consumer page has words, in each of its languages, for every CBV business step and
disposition a partner may record, and its two catalogues have the same sentences.

frontend/src/i18n/en.ts and zh-CN.ts hold them; a step with no words would show its CBV code (or
"Other step") to a shopper. The CBV lists are src/o2ochain/epcis/_vocabulary.py's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from o2ochain.epcis._vocabulary import BIZ_STEPS, DISPOSITIONS

I18N = Path(__file__).resolve().parents[2] / "frontend" / "src" / "i18n"
LANGUAGES = ["en", "zh-CN"]


def _table(language: str, name: str, key: str = r"\w+") -> dict[str, str]:
    path = I18N / f"{language}.ts"
    body = re.search(rf"export const {name}(?:: Record<[\w, ]+>)? = \{{(.*?)\n\}}", path.read_text(encoding="utf-8"), re.S)
    assert body, f"{name} not found in {path}"
    return dict(re.findall(rf"^\s+'?({key})'?: ['\"](.*)['\"],$", body.group(1), re.M))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_cbv_business_step_has_words(language: str) -> None:
    words = _table(language, "STEP_WORDS")
    assert set(words) == set(BIZ_STEPS)
    assert all(w and "_" not in w and not w[0].islower() for w in words.values())


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_cbv_disposition_has_words_or_says_nothing_on_purpose(language: str) -> None:
    words = _table(language, "DISPOSITION_WORDS")
    assert set(words) == set(DISPOSITIONS)
    assert all("_" not in w for w in words.values())
    assert {code for code, w in words.items() if not w} == {"active", "in_progress"}  # the everyday states add nothing


def test_both_catalogues_have_every_sentence_with_the_same_placeholders() -> None:
    english = _table("en", "EN", r"[\w.]+").items()
    chinese = _table("zh-CN", "ZH", r"[\w.]+")
    assert len(english) > 100 and set(dict(english)) == set(chinese)
    for key, text in english:
        assert sorted(re.findall(r"\{\w+\}", text)) == sorted(re.findall(r"\{\w+\}", chinese[key])), key
    # the Chinese catalogue is Chinese: every sentence with letters has Han characters
    untranslated = [k for k, v in chinese.items() if re.search(r"[A-Za-z]{4,}", re.sub(r"\{\w+\}|https?://\S+|EPCIS", "", v))]
    assert untranslated == []
