"""The shipped artifacts are what contracts/ compiles to, with the one set of compiler settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools import build

ROOT = Path(__file__).resolve().parents[2]


def _strip_metadata(hex_code: str) -> bytes:
    """Bytecode without its CBOR metadata trailer (which hashes the source file names)."""
    code = bytes.fromhex(hex_code.removeprefix("0x"))
    return code[: -(int.from_bytes(code[-2:], "big") + 2)]


def test_shipped_artifacts_match_a_fresh_compile() -> None:
    result = subprocess.run(
        [sys.executable, "tools/build.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ape_config_uses_the_build_settings() -> None:
    config = yaml.safe_load((ROOT / "ape-config.yaml").read_text())["solidity"]
    assert str(config["version"]) == build.SOLC_VERSION
    assert config["evm_version"] == build.EVM_VERSION
    assert config["optimize"] is True
    assert config["optimization_runs"] == build.OPTIMIZER_RUNS
    shipped = json.loads((ROOT / "src/o2ochain/abi/ProductRegistry.json").read_text())
    assert shipped["compiler"] == {"version": build.SOLC_VERSION, "evmVersion": build.EVM_VERSION, "optimizerRuns": build.OPTIMIZER_RUNS}


def test_library_works_without_a_compiler_or_ape() -> None:
    code = (
        "import sys, o2ochain, o2ochain.cli, o2ochain.identity;"
        "c = o2ochain.connect('tester'); c.deploy(c.accounts[0]);"
        "bad = [m for m in ('solcx', 'ape', 'ape_solidity') if m in sys.modules];"
        "assert not bad, bad"
    )
    env = {**os.environ, "PATH": os.path.dirname(sys.executable), "SOLCX_BINARY_PATH": "/nonexistent"}
    result = subprocess.run([sys.executable, "-c", code], cwd="/", env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.e2e
def test_ape_compile_gives_the_shipped_abi_and_code(tmp_path: Path) -> None:
    ape = Path(sys.executable).with_name("ape")
    result = subprocess.run([str(ape), "compile", "--force"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((ROOT / ".build" / "__local__.json").read_text())
    compiled = manifest["contractTypes"]["ProductRegistry"]
    shipped = json.loads((ROOT / "src/o2ochain/abi/ProductRegistry.json").read_text())
    assert compiled["abi"] == shipped["abi"]
    assert _strip_metadata(compiled["runtimeBytecode"]["bytecode"]) == _strip_metadata(shipped["deployedBytecode"])


@pytest.mark.e2e
def test_ape_run_deploy_uses_the_library_routine(tmp_path: Path) -> None:
    ape = Path(sys.executable).with_name("ape")
    result = subprocess.run(
        [str(ape), "run", "deploy", "--network", "ethereum:local:test", "--account", "TEST::0", "--save-to", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert manifest["contracts"]["ProductRegistry"]["address"].startswith("0x")
