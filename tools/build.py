"""Compile contracts/ into the artifacts shipped inside the Python package.

One build, one set of settings: the standard-JSON input below is the single source of truth for
the compiler version, optimizer and EVM version. The compiler is found through py-solc-x: a native
``solc-v<version>`` when the user has one, else the wasm-backed executable that ``./run setup``
installs (tools/solc/solc.js). Both give the same bytecode for the same input.

    python tools/build.py           # write src/o2ochain/abi/*.json and tests/fixtures/artifacts/*.json
    python tools/build.py --check   # exit 1 when either differs from a fresh build

Contracts under contracts/test/ are test doubles: their artifacts go to tests/fixtures/artifacts/,
not into the package, and their own errors stay out of Errors.json; a test double that the demo
deploys on local chains (TestStablecoin) is listed in DEPLOYABLES and ships. Errors.json holds
every custom error the contracts may raise (ours and OpenZeppelin's) and, in ``userdoc``, the
``@notice`` of each of ours: the words a refusal is shown in.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
OUT = ROOT / "src" / "o2ochain" / "abi"
TEST_OUT = ROOT / "tests" / "fixtures" / "artifacts"
TEST_SOURCES = "contracts/test/"
SOLC_VERSION = "0.8.30"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 10_000
REMAPPINGS = ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"]
# Contracts whose artifacts ship (deployables); every other ABI contributes only its errors.
DEPLOYABLES = (
    "ProductRegistry",
    "TraceLedger",
    "ConsentRegistry",
    "PriceGuarantee",
    "Forwarder",
    "ReviewBoard",
    "CouponBook",
    "TestStablecoin",
)


def standard_input() -> dict[str, Any]:
    sources = {
        p.relative_to(ROOT).as_posix(): {"content": p.read_text(encoding="utf-8")}
        for p in sorted(CONTRACTS.rglob("*.sol"))
        if not any(part.startswith(".") for part in p.relative_to(CONTRACTS).parts)  # ape's .cache
    }
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "evmVersion": EVM_VERSION,
            "remappings": REMAPPINGS,
            "outputSelection": {
                "*": {
                    "*": [
                        "abi",
                        "evm.bytecode.object",
                        "evm.deployedBytecode.object",
                        "evm.methodIdentifiers",
                        "devdoc",
                        "userdoc",
                    ]
                }
            },
        },
    }


def compile_all() -> dict[str, Any]:
    import solcx

    try:
        solcx.set_solc_version(SOLC_VERSION, silent=True)
    except solcx.exceptions.SolcNotInstalled:
        sys.exit(
            f"solc {SOLC_VERSION} is not installed for py-solc-x. Run ./run setup (it installs a "
            "wasm-backed solc from npm when no native one is present)."
        )
    return solcx.compile_standard(  # type: ignore[no-any-return]
        standard_input(), base_path=str(ROOT), allow_paths=[str(ROOT)]
    )


def _artifact(name: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "contractName": name,
        "sourceName": source,
        "compiler": {
            "version": SOLC_VERSION,
            "evmVersion": EVM_VERSION,
            "optimizerRuns": OPTIMIZER_RUNS,
        },
        "abi": data["abi"],
        "bytecode": "0x" + data["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
        "methodIdentifiers": data["evm"]["methodIdentifiers"],
        "devdoc": data.get("devdoc", {}),
        "userdoc": data.get("userdoc", {}),
    }


def artifacts(output: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Artifacts by contract name: the deployables, plus an error-only ABI of everything else
    (but the test doubles' own errors)."""
    result: dict[str, dict[str, Any]] = {}
    errors: dict[str, dict[str, Any]] = {}
    notices: dict[str, list[dict[str, str]]] = {}
    for source, contracts in sorted(output["contracts"].items()):
        for name, data in sorted(contracts.items()):
            if source.startswith(TEST_SOURCES) and name not in DEPLOYABLES:
                continue
            for entry in data["abi"]:
                if entry["type"] == "error":
                    sig = entry["name"] + "(" + ",".join(i["type"] for i in entry["inputs"]) + ")"
                    errors.setdefault(sig, entry)
            # Our contracts' words for their errors (`@notice`); OpenZeppelin's have none, the
            # library words those itself (o2ochain/_chain/words.py).
            for sig, docs in data.get("userdoc", {}).get("errors", {}).items():
                said = [{"notice": d["notice"]} for d in docs if d.get("notice")]
                if said and not source.startswith("node_modules/"):
                    notices.setdefault(sig, said)
            if name in DEPLOYABLES and source.startswith("contracts/"):
                result[name] = _artifact(name, source, data)
    missing = set(DEPLOYABLES) - set(result)
    if missing:
        sys.exit(f"contracts not found in contracts/: {', '.join(sorted(missing))}")
    result["Errors"] = {
        "contractName": "Errors",
        "abi": [errors[k] for k in sorted(errors)],
        "userdoc": {"errors": {k: notices[k] for k in sorted(notices) if k in errors}},
    }
    return result


def test_artifacts(output: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Artifacts of the test doubles (contracts/test/) that do not ship, by contract name."""
    return {
        name: _artifact(name, source, data)
        for source, contracts in sorted(output["contracts"].items())
        if source.startswith(TEST_SOURCES)
        for name, data in sorted(contracts.items())
        if name not in DEPLOYABLES and data["evm"]["bytecode"]["object"]
    }


def render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def _stale(out: Path, built: dict[str, str]) -> list[str]:
    """Files of `out` that differ from `built`, are missing, or are not built any more."""
    stale = [n for n, text in built.items() if not (out / f"{n}.json").is_file() or (out / f"{n}.json").read_text() != text]
    return stale + sorted(p.stem for p in out.glob("*.json") if p.stem not in built)


def _write(out: Path, built: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in built.items():
        (out / f"{name}.json").write_text(text)
    for path in out.glob("*.json"):
        if path.stem not in built:
            path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the shipped artifacts, write nothing")
    args = parser.parse_args(argv)
    output = compile_all()
    built = {name: render(a) for name, a in artifacts(output).items()}
    test_built = {name: render(a) for name, a in test_artifacts(output).items()}
    if args.check:
        stale = _stale(OUT, built) + [f"tests/fixtures/artifacts/{n}" for n in _stale(TEST_OUT, test_built)]
        if stale:
            print(f"shipped artifacts differ from contracts/: {', '.join(stale)}. Run: python tools/build.py")
            return 1
        print(f"shipped artifacts match a fresh compile ({len(built)} + {len(test_built)} test files, solc {SOLC_VERSION})")
        return 0
    _write(OUT, built)
    _write(TEST_OUT, test_built)
    for name in DEPLOYABLES:
        size = (len(json.loads(built[name])["deployedBytecode"]) - 2) // 2
        print(f"{name}: {size} bytes deployed (limit 24576)")
    print(f"wrote {len(built)} artifacts to {OUT.relative_to(ROOT)}, {len(test_built)} to {TEST_OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
