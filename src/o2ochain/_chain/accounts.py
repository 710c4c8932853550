"""Resolving ``--account`` into a signing key.

Accepted forms:

* ``dev:N`` (or ``anvil:N``) — the N-th well-known development key. Refused on any chain that
  is not a throwaway local one (chain ids 31337, 1337), because those keys are public.
* a path to an encrypted JSON keystore (``geth account new``, ``cast wallet new``, ape) — the
  password comes from ``$O2O_PASSWORD``, ``--password-file``, or a prompt.
* the alias of an ape account (``~/.ape/accounts/<alias>.json``), same password rules.
* ``env:VAR`` — a hex private key held in the environment variable VAR (for CI/keepers).
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from o2ochain._chain.connection import LOCAL_CHAIN_IDS, dev_accounts
from o2ochain.errors import ConfigError

__all__ = ["load_account"]


def load_account(spec: str, *, chain_id: int, password_file: Path | None = None, interactive: bool = True) -> LocalAccount:
    """The account named by ``spec`` (see the module docstring)."""
    spec = spec.strip()
    kind, _, rest = spec.partition(":")
    if kind in {"dev", "anvil"} and rest.isdigit():
        if chain_id not in LOCAL_CHAIN_IDS:
            raise ConfigError(f"--account {spec} is a public development key and is refused on chain {chain_id}; use an encrypted keystore")
        index = int(rest)
        if index >= 20:
            raise ConfigError(f"--account {spec}: development keys go from dev:0 to dev:19")
        return dev_accounts(index + 1)[index]
    if kind == "env" and rest:
        key = os.environ.get(rest)
        if not key:
            raise ConfigError(f"--account {spec}: environment variable {rest} is not set")
        try:
            signer: LocalAccount = Account.from_key(key.strip())
            return signer
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"--account {spec}: {rest} does not hold a valid private key") from exc
    path = Path(spec).expanduser()
    if not path.is_file():
        ape = Path.home() / ".ape" / "accounts" / f"{spec}.json"
        if ape.is_file():
            path = ape
        else:
            raise ConfigError(f"--account {spec!r}: not a keystore file, not an ape account alias, and not dev:N / env:VAR")
    try:
        keystore = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--account {spec}: cannot read keystore {path}: {exc}") from exc
    password = _password(path, password_file, interactive)
    try:
        secret = Account.decrypt(keystore, password)
    except ValueError as exc:
        raise ConfigError(f"--account {spec}: wrong password for keystore {path}") from exc
    decrypted: LocalAccount = Account.from_key(secret)
    return decrypted


def _password(path: Path, password_file: Path | None, interactive: bool) -> str:
    if password_file is not None:
        try:
            return password_file.read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            raise ConfigError(f"cannot read password file {password_file}: {exc}") from exc
    env = os.environ.get("O2O_PASSWORD")
    if env is not None:
        return env
    if not interactive:
        raise ConfigError(f"keystore {path} needs a password: set O2O_PASSWORD or pass --password-file")
    return getpass.getpass(f"Password for {path.name}: ")
