"""Resolving ``--account`` into a :class:`~o2ochain._chain.signers.Signer`.

Accepted forms:

* ``dev:N`` (or ``anvil:N``) — the N-th well-known development key. Refused on any chain that
  is not a throwaway local one (chain ids 31337, 1337), because those keys are public.
* a path to an encrypted JSON keystore (``geth account new``, ``cast wallet new``, ape) — the
  password comes from ``--password-file``, ``$O2O_PASSWORD``, or a prompt.
* the alias of an ape account — with ape installed, the account itself signs (an
  :class:`~o2ochain._chain.signers.ApeSigner`): a keyfile in ``$APE_DATA_FOLDER/accounts`` (default
  ``~/.ape/accounts``) unlocked once with the same password rules (or ape's own
  ``$APE_ACCOUNTS_<alias>_PASSPHRASE``), or an account of an ape plugin (a hardware wallet, a KMS),
  which asks its device. Without ape, the keyfile is read as the keystore it is.
* ``env:VAR`` — a hex private key held in the environment variable VAR (for CI/keepers).
"""

from __future__ import annotations

import getpass
import importlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any, TypeAlias

from eth_account import Account
from eth_account.signers.local import LocalAccount

from o2ochain._chain.connection import LOCAL_CHAIN_IDS, dev_accounts
from o2ochain._chain.signers import ApeSigner
from o2ochain.errors import ConfigError

__all__ = ["LoadedAccount", "ape_data_folder", "load_account"]

#: What ``--account`` gives: signers of transactions, EIP-712 data and personal messages alike.
LoadedAccount: TypeAlias = LocalAccount | ApeSigner


def load_account(spec: str, *, chain_id: int, password_file: Path | None = None, interactive: bool = True) -> LoadedAccount:
    """The signer named by ``spec`` (see the module docstring)."""
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
    if path.is_file():
        return _keystore(spec, path, password_file, interactive)
    keyfile = ape_data_folder() / "accounts" / f"{spec}.json"
    if importlib.util.find_spec("ape") is None:
        if keyfile.is_file():
            return _keystore(spec, keyfile, password_file, interactive)
    else:
        ape_signer = _ape_account(spec, keyfile, password_file, interactive)
        if ape_signer is not None:
            return ape_signer
    raise ConfigError(f"--account {spec!r}: not a keystore file, not an ape account alias, and not dev:N / env:VAR")


def ape_data_folder() -> Path:
    """Where ape keeps its accounts and settings: ``$APE_DATA_FOLDER``, else ``~/.ape``."""
    return Path(os.environ.get("APE_DATA_FOLDER") or Path.home() / ".ape")


def _keystore(spec: str, path: Path, password_file: Path | None, interactive: bool) -> LocalAccount:
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


def _ape_account(alias: str, keyfile: Path, password_file: Path | None, interactive: bool) -> ApeSigner | None:
    """The ape account ``alias`` as a signer, its keyfile unlocked for this process; None when ape
    knows no such account."""
    if not keyfile.is_file():
        try:
            account: Any = importlib.import_module("ape").accounts.load(alias)
        except KeyError:
            return None
        return ApeSigner(account)  # a plugin's account: its device asks, not us
    account = importlib.import_module("ape_accounts").KeyfileAccount(keyfile_path=keyfile)
    ape_variable = f"APE_ACCOUNTS_{alias}_PASSPHRASE"
    if password_file is None and "O2O_PASSWORD" not in os.environ and ape_variable in os.environ:
        password: str | None = None  # ape reads its own variable
    else:
        password = _password(keyfile, password_file, interactive)
    try:
        # Unlocked with autosign for this process only, as a decrypted keystore would be: a
        # command sends its transactions without asking about each one.
        account.set_autosign(True, passphrase=password)
    except Exception as exc:
        raise ConfigError(f"--account {alias}: wrong password for ape account {alias} ({keyfile})") from exc
    return ApeSigner(account)


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
