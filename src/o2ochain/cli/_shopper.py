"""``o2ochain shopper …``: a shopper's own addresses, one per record, from one key.

A shopper's key never appears on chain: each purchase, claimed item and consent gets an address
of its own, derived from the key (see :mod:`o2ochain.shopper`), so that whoever scans one item
cannot list the person's other records. These commands show the address to give at the till or
to the store, and find every purchase of the shopper again from the key alone.
"""

from __future__ import annotations

from typing import Any

import click

from o2ochain._chain.util import hex0x
from o2ochain.cli._common import ADDRESS, NounGroup, common, handled, keep_old, make_context, out, renamed, scope_option
from o2ochain.cli._guarantee import explain
from o2ochain.cli._identity import ITEM
from o2ochain.cli._output import Stages
from o2ochain.errors import InputError
from o2ochain.identity import resolve_ref
from o2ochain.shopper import Shopper, ShopperView


@click.group()
def shopper() -> None:
    """A shopper's own addresses: one per purchase, item and data user, all from --account's key.

    The key itself is never used on chain. Give the till the address `shopper address show
    --retailer R` prints (a new one per purchase), the store the one `--item` prints when it signs
    a claim code, and a shop asking for consent the one `--data-user` prints. `shopper purchase
    list` finds every purchase again from the key alone and says what the price guarantee owes on each.
    """


@shopper.group("address", cls=NounGroup)
def shopper_address() -> None:
    """Your address for one record: a purchase at a retailer, an item, a data user."""


@shopper.group("purchase")
def shopper_purchase() -> None:
    """Your purchases, found again from your key alone."""


@shopper_address.command("show")
@common
@scope_option("retailer", required=False, help="The retailer you buy from: the next unused purchase address.")
@click.option("--item", "item_ref", type=ITEM, default=None, help="An item (its Digital Link or id): the address that will own it.")
@click.option("--data-user", "data_user", type=ADDRESS, default=None, help="A data user's address: the address your consents to it are in.")
def address(retailer_id: int | None, item_ref: str | None, data_user: str | None, **kwargs: Any) -> None:
    """The address to give for one record: exactly one of --retailer, --item, --data-user."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        if sum(x is not None for x in (retailer_id, item_ref, data_user)) != 1:
            raise InputError("give exactly one of --retailer, --item and --data-user", field="--retailer")
        me = Shopper.from_account(ctx.account())
        if retailer_id is not None:
            chain = ctx.chain()
            if not 1 <= retailer_id <= chain.guarantee.retailer_count():
                raise InputError(f"there is no retailer {retailer_id}", field="--retailer", value=retailer_id)
            found = ShopperView(chain.w3, chain.deployment, me).next_purchase_address(retailer_id)
            what = f"your next purchase at retailer {retailer_id}"
        elif item_ref is not None:
            item, _ = resolve_ref(item_ref)
            found = me.item_account(item).address
            what = "the owner of this item, once claimed"
        else:
            assert data_user is not None
            found = me.consent_account(data_user).address
            what = f"your consents to {data_user}"
        ctx.emit({"address": found, "for": what}, lambda: out.print(f"{found}  ({what})"))


@shopper_purchase.command("list")
@common
def purchases(**kwargs: Any) -> None:
    """Every purchase recorded to one of your addresses, and what the price guarantee owes on it."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        chain = ctx.chain()
        me = Shopper.from_account(ctx.account())
        found = ShopperView(chain.w3, chain.deployment, me).purchases()
        reader = chain.guarantee
        rows: list[dict[str, Any]] = []
        lines: list[str] = []
        with Stages(as_json=ctx.as_json) as stages:
            for p in stages.each("checking purchases", found):
                where = {"retailer": p.retailer, "index": p.index, "buyer": p.buyer}
                evaluated = [e for e in chain.buyer(me.purchase_account(p.retailer, p.index)).owed() if e.purchase.id == p.purchase]
                if evaluated:
                    rows.append(where | evaluated[0].to_json())
                    lines.append(f"retailer {p.retailer} #{p.index} ({p.buyer}): {explain(reader, evaluated[0])}")
                else:
                    bought = reader.purchase(p.purchase)
                    money = reader.money(bought.cover, reader.currency(p.retailer))
                    rows.append(where | {"purchase": hex0x(p.purchase), "cover": str(bought.cover), "reason": "no lower price yet"})
                    lines.append(f"retailer {p.retailer} #{p.index} ({p.buyer}): {bought.gtin14} x{bought.quantity}, cover {money}: no lower price yet")

        def human() -> None:
            for line in lines:
                out.print(line, soft_wrap=True, highlight=False, markup=False)
            if not lines:
                out.print("no purchases recorded to any of your addresses")

        ctx.emit(rows, human)


keep_old(shopper_address, address, "shopper address", "shopper address show")
shopper.add_command(renamed(purchases, "shopper purchases", "shopper purchase list"))
