"""The consumer page has words, in each of its languages, for every CBV business step and
disposition a partner may record, and its two catalogues have the same sentences.

frontend/src/i18n/en.ts and zh-CN.ts hold them; a step with no words would show its CBV code (or
"Other step") to a shopper. The CBV lists are src/o2ochain/epcis/_vocabulary.py's. Every sentence
the page shows is in them: the page's sources hold no English sentence of their own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from o2ochain.epcis._vocabulary import BIZ_STEPS, DISPOSITIONS

ROOT = Path(__file__).resolve().parents[2]
I18N = ROOT / "frontend" / "src" / "i18n"
LANGUAGES = ["en", "zh-CN"]
CATALOGUES = {"en": "EN", "zh-CN": "ZH"}


def _body(language: str, name: str) -> str:
    path = I18N / f"{language}.ts"
    body = re.search(rf"export const {name}(?:: Record<[\w, ]+>)? = \{{(.*?)\n\}}", path.read_text(encoding="utf-8"), re.S)
    assert body, f"{name} not found in {path}"
    return body.group(1)


def _table(language: str, name: str, key: str = r"\w+") -> dict[str, str]:
    return dict(re.findall(rf"^\s+'?({key})'?: ['\"](.*)['\"],$", _body(language, name), re.M))


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


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sentence_is_one_line_the_checks_above_read(language: str) -> None:
    """A sentence written over several lines would escape the placeholder and language checks."""
    written = re.findall(r"^\s+'([\w.]+)':", _body(language, CATALOGUES[language]), re.M)
    assert len(written) == len(set(written)) == len(_table(language, CATALOGUES[language], r"[\w.]+"))


def test_every_contract_refusal_the_page_words_is_a_real_custom_error() -> None:
    """wallet/write.ts words a refusal by the catalogue's `error.<name>`: a misspelt name would never be shown."""
    abi = json.loads((ROOT / "src" / "o2ochain" / "abi" / "Errors.json").read_text(encoding="utf-8"))
    errors = {e["name"] for e in (abi["abi"] if isinstance(abi, dict) else abi) if e["type"] == "error"}
    worded = {k.removeprefix("error.") for k in _table("en", "EN", r"[\w.]+") if k.startswith("error.")}
    assert len(worded) > 40 and worded <= errors, sorted(worded - errors)


#: A string literal that is an English sentence: a capitalised word and two more words.
SENTENCE = re.compile(r"""(['`])[A-Z][a-z]+(?: [a-z’']+){2,}[^'`\n]*\1""")


def test_the_pages_sources_hold_no_sentence_outside_the_catalogues() -> None:
    source = ROOT / "frontend" / "src"
    found = []
    for path in sorted(source.rglob("*.ts")):
        name = path.relative_to(source).as_posix()
        if name.startswith("i18n/"):
            continue
        code = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith(("//", "*", "/*")))
        found += [f"{name}: {m.group(0)}" for m in SENTENCE.finditer(code)]
    assert found == []
