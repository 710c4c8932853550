"""The ``o2ochain`` command line.

Every command that touches a chain takes ``--rpc`` (default ``$O2O_RPC`` or
http://127.0.0.1:8545), ``--deployment`` (a manifest file or directory, default
``$O2O_DEPLOYMENTS`` or ./deployments), ``--index`` (the URL of an o2ochain index to read
lists and histories from, default ``$O2O_INDEX`` or none: the node alone) and, when it writes,
``--account`` (``dev:N`` on a local chain, a keystore file, an ape account alias, or
``env:VAR``). ``--json`` prints machine-readable output. Errors are one clear message on stderr
and a non-zero exit: 2 for bad input, 1 otherwise.

This module holds the top-level group, :func:`main` (the ``o2ochain`` entry point), and attaches
every command group to it. The commands live in one module per group and share their options
and error handling through ``_common``; none of them imports this module.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from o2ochain import __version__

__all__ = ["main"]


#: Where each top-level command is defined: its module in this package, and the attribute that
#: holds it (or a tuple of commands holding it by name). A command's module is imported when the
#: command is run, or when the whole list is needed (`o2ochain --help`): `o2ochain trace show`
#: loads neither the consent nor the guarantee commands, nor what they import.
_COMMANDS: dict[str, tuple[str, str]] = {
    "deploy": ("_deploy", "deploy"),
    "demo": ("_demo", "demo"),
    "serve": ("_serve", "serve"),
    "keeper": ("_guarantee", "keeper"),
    "brand": ("_identity", "brand"),
    "product": ("_identity", "product"),
    "item": ("_identity", "item_group"),
    "lot": ("_identity", "lot_group"),
    "trace": ("_trace", "trace"),
    "consent": ("_consent", "consent"),
    "guarantee": ("_guarantee", "guarantee"),
    "merchant": ("_loop", "merchant"),
    "review": ("_loop", "review"),
    "coupon": ("_loop", "coupon"),
    "shopper": ("_shopper", "shopper"),
    # Hidden aliases of retired spellings (`o2ochain verify` for `o2ochain item verify`, …).
    **dict.fromkeys(("register", "verify", "claim", "decommission", "recall"), ("_identity", "OLD_COMMANDS")),
}


class _LazyGroup(click.Group):
    """A click group whose commands are imported on first use (see :data:`_COMMANDS`).

    ``commands`` stays a plain dict for whoever reads it whole (the tests, ``--help``): reading it
    loads every command first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = dict(_COMMANDS)

    def _load(self, name: str) -> None:
        module_name, attribute = self._pending.pop(name)
        found = getattr(importlib.import_module(f"o2ochain.cli.{module_name}"), attribute)
        candidates = found if isinstance(found, tuple) else (found,)
        command = next((c for c in candidates if c.name == name), None)
        if command is None:  # pragma: no cover - a slip in _COMMANDS, caught by the CLI tests
            raise RuntimeError(f"o2ochain.cli.{module_name}.{attribute} holds no command named {name!r}")
        self.__dict__["commands"][name] = command

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._pending:
            self._load(cmd_name)
        command: click.Command | None = self.__dict__["commands"].get(cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.__dict__["commands"], *self._pending})

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        pending = self.__dict__.get("_pending", {})
        while pending:
            self._load(next(iter(pending)))
        return self.__dict__["commands"]  # type: ignore[no-any-return]

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self.__dict__["commands"] = value


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="o2ochain")
def main() -> None:
    """o2ochain: verifiable product identity, traceability and consent for online-and-offline retail.

    Brands register their goods (GTIN + serial) on an Ethereum-compatible chain; anyone can
    then verify an item from the GS1 Digital Link in its QR code, see whether it was recalled,
    and whether it was already sold to someone else (a copied QR code). Supply-chain actors
    anchor GS1 EPCIS 2.0 events (`trace`), and consumers grant, revoke and audit the use of
    their personal data (`consent`).

    Typical flow on a local chain (see `o2ochain demo` for all of it at once):

    \b
      o2ochain deploy --account dev:0
      o2ochain brand add "Acme Foods" --admin 0x… --prefix 9506000 --account dev:0
      o2ochain product add 09506000134352 --brand 1 --account dev:1
      o2ochain item register items.csv --account dev:2
      o2ochain item verify https://id.gs1.org/01/09506000134352/21/ABC123

    Commands read `o2ochain NOUN VERB [THING] [--SCOPE N]`: the group names the kind of thing,
    the command what is done to it; `deploy`, `demo`, `serve` and `keeper` are the four programs.
    """
