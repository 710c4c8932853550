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

import click

from o2ochain import __version__
from o2ochain.cli._consent import consent
from o2ochain.cli._demo import demo
from o2ochain.cli._deploy import deploy
from o2ochain.cli._guarantee import guarantee, keeper
from o2ochain.cli._identity import OLD_COMMANDS as OLD_ITEM_COMMANDS
from o2ochain.cli._identity import brand, item_group, lot_group, product
from o2ochain.cli._loop import coupon, merchant, review
from o2ochain.cli._shopper import shopper
from o2ochain.cli._trace import trace

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    the command what is done to it; `deploy`, `demo` and `keeper` are the three programs.
    """


for _command in (
    deploy,
    demo,
    keeper,
    brand,
    product,
    item_group,
    lot_group,
    trace,
    consent,
    guarantee,
    merchant,
    review,
    coupon,
    shopper,
    *OLD_ITEM_COMMANDS,
):
    main.add_command(_command)
