"""The GS1 material the tests run on is GS1's, unmodified, and complete."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests import gs1_epcis


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "README.md" and "__pycache__" not in p.parts
    }


def test_the_copy_has_what_the_tests_name() -> None:
    assert len(list(gs1_epcis.EXAMPLES.glob("*.jsonld"))) == 23
    assert len(list(gs1_epcis.XML_EXAMPLES.glob("*.xml"))) == 3
    assert gs1_epcis.OPENAPI.is_file() and (gs1_epcis.SCHEMA / "EPCIS-JSON-Schema-root.json").is_file()
    assert (gs1_epcis.XSD / "EPCglobal-epcis-query-2_0.xsd").is_file()
    with pytest.raises(FileNotFoundError, match="not among GS1's examples"):
        gs1_epcis.example("no-such-example.jsonld")


@pytest.mark.parametrize("folder", sorted(gs1_epcis.FOLDERS))
def test_the_copy_is_byte_for_byte_gs1s(folder: str) -> None:
    original = gs1_epcis.ORIGINAL / folder
    if not original.is_dir():
        # A bare clone: the copy is what was committed; the check runs where the originals are.
        assert _digests(gs1_epcis.FOLDERS[folder])
        return
    assert _digests(gs1_epcis.FOLDERS[folder]) == _digests(original)
