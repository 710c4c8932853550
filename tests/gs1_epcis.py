"""GS1's EPCIS 2.0 material, as every test reads it: the same committed copy on every machine.

The tests never read ``../shared`` directly: a clone alone (CI's, a contributor's) has no
``../shared`` beside it, and a test that silently switches to fewer files there tests less than
it claims. The copy lives in ``tests/fixtures/gs1-epcis`` (GS1's examples, XML examples and REST
binding, unmodified), and the JSON Schemas and XSDs are the ones the package ships.
``tests/library/test_gs1_copy.py`` checks that all of them are byte for byte GS1's, wherever
``../shared`` is present.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPY = ROOT / "tests" / "fixtures" / "gs1-epcis"
#: Where the originals are on the machine the project is developed on (absent in a bare clone).
ORIGINAL = ROOT.parent / "shared" / "data" / "epcis"

EXAMPLES = COPY / "examples"
XML_EXAMPLES = COPY / "xml-examples"
REST = COPY / "rest"
OPENAPI = REST / "openapi.yaml"
SCHEMA = Path(str(resources.files("o2ochain.epcis").joinpath("schema")))
XSD = Path(str(resources.files("o2ochain.epcis").joinpath("xsd")))

#: Each folder of the copy and the folder of the original it copies.
FOLDERS = {"examples": EXAMPLES, "xml-examples": XML_EXAMPLES, "rest": REST, "schema": SCHEMA, "xsd": XSD}


def example(name: str) -> Path:
    """One of GS1's JSON-LD examples, by file name."""
    path = EXAMPLES / name
    if not path.is_file():
        raise FileNotFoundError(f"{name} is not among GS1's examples in {EXAMPLES}")
    return path


def xml_example(name: str) -> Path:
    """One of GS1's XML examples, by file name."""
    path = XML_EXAMPLES / name
    if not path.is_file():
        raise FileNotFoundError(f"{name} is not among GS1's XML examples in {XML_EXAMPLES}")
    return path
