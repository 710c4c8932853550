"""The compiled contracts shipped with the package (written by tools/build.py)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, cast

__all__ = ["Artifact", "artifact", "error_abi"]

Artifact = dict[str, Any]


@cache
def artifact(name: str) -> Artifact:
    """The artifact (abi, bytecode, deployedBytecode, compiler settings) of contract ``name``."""
    try:
        text = resources.files("o2ochain").joinpath("abi", f"{name}.json").read_text(encoding="utf-8")
    except FileNotFoundError as exc:  # pragma: no cover - a broken install
        from o2ochain.errors import ConfigError

        raise ConfigError(f"o2ochain is installed without the compiled contract {name!r}") from exc
    return cast(Artifact, json.loads(text))


def error_abi() -> list[dict[str, Any]]:
    """Every custom error declared by our contracts and the OpenZeppelin code they use."""
    return cast(list[dict[str, Any]], artifact("Errors")["abi"])
