"""Compile contracts/ into the artifacts shipped inside the Python package.

One build, one set of settings: the standard-JSON input below is the single source of truth for
the compiler version, optimizer and EVM version. The compiler is found through py-solc-x: a native
``solc-v<version>`` when the user has one, else the wasm-backed executable that ``./run setup``
installs (tools/solc/solc.js). Both give the same bytecode for the same input.

    python tools/build.py           # write src/o2ochain/abi/*.json
    python tools/build.py --check   # exit 1 when the shipped artifacts differ from a fresh build
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
SOLC_VERSION = "0.8.30"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 10_000
REMAPPINGS = ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"]
# Contracts whose artifacts ship (deployables); every other ABI contributes only its errors.
DEPLOYABLES = ("ProductRegistry", "TraceLedger", "ConsentRegistry")


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


def artifacts(output: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Artifacts by contract name: the deployables, plus an error-only ABI of everything else."""
    result: dict[str, dict[str, Any]] = {}
    errors: dict[str, dict[str, Any]] = {}
    for source, contracts in sorted(output["contracts"].items()):
        for name, data in sorted(contracts.items()):
            for entry in data["abi"]:
                if entry["type"] == "error":
                    sig = entry["name"] + "(" + ",".join(i["type"] for i in entry["inputs"]) + ")"
                    errors.setdefault(sig, entry)
            if name in DEPLOYABLES and source.startswith("contracts/"):
                result[name] = {
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
    missing = set(DEPLOYABLES) - set(result)
    if missing:
        sys.exit(f"contracts not found in contracts/: {', '.join(sorted(missing))}")
    result["Errors"] = {"contractName": "Errors", "abi": [errors[k] for k in sorted(errors)]}
    return result


def render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the shipped artifacts, write nothing")
    args = parser.parse_args(argv)
    built = {name: render(a) for name, a in artifacts(compile_all()).items()}
    if args.check:
        stale = [n for n, text in built.items() if not (OUT / f"{n}.json").is_file() or (OUT / f"{n}.json").read_text() != text]
        extra = sorted(p.stem for p in OUT.glob("*.json") if p.stem not in built)
        if stale or extra:
            print(f"shipped artifacts differ from contracts/: {', '.join(stale + extra)}. Run: python tools/build.py")
            return 1
        print(f"shipped artifacts match a fresh compile ({len(built)} files, solc {SOLC_VERSION})")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in built.items():
        (OUT / f"{name}.json").write_text(text)
    for path in OUT.glob("*.json"):
        if path.stem not in built:
            path.unlink()
    for name in DEPLOYABLES:
        size = (len(json.loads(built[name])["deployedBytecode"]) - 2) // 2
        print(f"{name}: {size} bytes deployed (limit 24576)")
    print(f"wrote {len(built)} artifacts to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
