"""``o2ochain guarantee …`` and ``o2ochain keeper``: the cross-channel price guarantee.

Amounts on the command line are decimal amounts of the retailer's currency (``188``, ``1.25``);
the commands convert them to base units with the currency's decimals, and print amounts in the
same units (``--json`` gives base units, as strings).
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from o2ochain import inputs
from o2ochain._chain.util import hex0x
from o2ochain.cli._common import (
    ADDRESS,
    AMOUNT,
    DURATION,
    GTIN,
    PERCENT,
    AddressType,
    ChoiceType,
    Context,
    DurationType,
    HashType,
    NumberType,
    SecondsType,
    common,
    err,
    fail,
    handled,
    make_context,
    notice_renamed,
    out,
    renamed,
    renamed_option,
    scope_option,
    thing_argument,
)
from o2ochain.cli._output import Stages, plural, span, table, when
from o2ochain.errors import InputError
from o2ochain.guarantee import (
    CHANNEL_KINDS,
    MAX_KEY_GRACE,
    NATIVE,
    PRICE_TYPES,
    UNTIL_ENDED,
    WITHDRAWAL_DELAY,
    Entitlement,
    GuaranteeReader,
    Offer,
    Policy,
    Purchase,
    RetailerAdmin,
    SignedReceipt,
    load_quotes,
    read_sales_csv,
)

CURRENCY = AddressType({"native": NATIVE})
QUANTITY = NumberType(1, 2**32 - 1, "quantity")
PURCHASE = HashType("purchase id")


def _when(ts: int) -> str:
    """A chain time in UTC words; none (0) or a price's open end is a dash."""
    return "—" if ts >= UNTIL_ENDED else when(ts)


def _reader(ctx: Context) -> GuaranteeReader:
    return ctx.chain().guarantee


def _currency_name(reader: GuaranteeReader, currency: str) -> str:
    symbol = reader.symbol(currency) or "a token without a symbol"
    return f"{symbol} (the chain's coin)" if int(currency, 16) == 0 else f"{symbol} (token {currency})"


@click.group()
def guarantee() -> None:
    """Cross-channel price guarantee: a buyer is paid when the retailer sells for less elsewhere.

    A retailer declares its channels (online shops, stores), each with a price-signing key, sets a
    policy (window, tolerance, cap, excluded price types) and funds a pool. Channels publish prices
    and record sales; each sale reserves its cover (the most it can be paid) from the pool's free
    funds. When any channel of the same retailer offers the same product below what a buyer paid,
    by more than the tolerance, within the window, the buyer is owed the difference, paid from a
    day after the sale was recorded; `o2ochain keeper` pays it automatically, and anyone may
    trigger a payout (`guarantee compensation claim`).
    """


# -- retailer -------------------------------------------------------------------------------
@guarantee.group()
def retailer() -> None:
    """Register a retailer and see its pool."""


@retailer.command("register")
@common
@click.option("--currency", type=CURRENCY, default="native", show_default=True, help="'native' (the chain's coin) or an ERC-20 token address.")
@click.option("--uri", default="", help="Where the retailer's public profile lives (https:// or ipfs://).")
def retailer_register(currency: str, uri: str, **kwargs: Any) -> None:
    """Register a retailer; the --account becomes its admin. Prints the retailer id."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        admin = ctx.chain().register_retailer(ctx.account(), currency=currency, uri=uri)
        ctx.emit({"retailer": admin.retailer, "currency": admin.currency}, lambda: out.print(f"retailer {admin.retailer} registered"))


@retailer.command("show")
@common
@thing_argument("retailer")
def retailer_show(retailer_id: int, **kwargs: Any) -> None:
    """The retailer's pool: what it holds, the coverage it promised buyers (reserved) and what is
    free; its pending withdrawal and channels."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        info = reader.retailer(retailer_id)
        channels = reader.channels(retailer_id)
        data = info.to_json() | {"channels": [c.to_json() for c in channels]}

        def human() -> None:
            def fmt(units: int) -> str:
                return reader.money(units, info.currency)

            out.print(f"retailer {retailer_id}, currency {_currency_name(reader, info.currency)}")
            out.print(
                f"  pool: {fmt(info.balance)} held; {fmt(info.reserved)} promised to buyers (the cover of their purchases), "
                f"{fmt(info.free)} free"
            )
            out.print(
                f"  funded {fmt(info.funded)}, paid to buyers {fmt(info.paid)}, withdrawn {fmt(info.withdrawn)}; "
                f"a withdrawal waits {span(WITHDRAWAL_DELAY)} and takes only free funds"
            )
            if info.withdrawal_at:
                out.print(
                    f"  withdrawal of {fmt(info.withdrawal_amount)} to {info.withdrawal_to} executable at {_when(info.withdrawal_at)}"
                )
            for c in channels:
                out.print(f"  channel {c.id}: {escape(c.name)} ({c.kind}), key {c.key}", soft_wrap=True)
            if not channels:
                out.print("  no channels yet")

        ctx.emit(data, human)


# -- channels -------------------------------------------------------------------------------
@guarantee.group()
def channel() -> None:
    """Declare a retailer's channels and rotate their price-signing keys."""


@channel.command("add")
@common
@scope_option("retailer")
@click.option("--kind", type=ChoiceType(list(CHANNEL_KINDS.values())), required=True, help="What the channel is.")
@click.option("--key", type=ADDRESS, required=True, help="Address of the channel's price-signing key.")
@click.option("--name", required=True, help="The channel's name, e.g. 'Acme web shop'.")
def channel_add(retailer_id: int, kind: str, key: str, name: str, **kwargs: Any) -> None:
    """Declare a channel of the retailer (as its admin). Prints the channel id."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        number = ctx.chain().retailer(ctx.account(), retailer_id).add_channel(kind, key, name)
        ctx.emit({"channel": number, "retailer": retailer_id, "kind": kind, "key": key}, lambda: out.print(f"channel {number} added"))


@channel.command("rotate")
@common
@thing_argument("channel")
@click.option("--key", "new_key", type=AddressType({"none": NATIVE}), required=True, help="The new key's address, or 'none' to revoke the key.")
@scope_option("retailer")
@click.option(
    "--grace",
    type=DurationType(maximum=MAX_KEY_GRACE),
    default="1d",
    show_default=True,
    help="How long receipts and vouchers the old key signed before now stay valid (at most 7d), so that buyers "
    "holding them can still register or redeem them.",
)
@click.option(
    "--compromised",
    is_flag=True,
    help="The old key may be in someone else's hands: no grace (same as --grace 0); everything it signed "
    "that was not used yet is refused at once.",
)
def channel_rotate(channel_id: int, new_key: str, retailer_id: int, grace: int, compromised: bool, **kwargs: Any) -> None:
    """Replace (or revoke) a channel's key; the old key is revoked now.

    Nothing the old key signs from now on counts. Quotes it signed stop counting at once (but for
    quotes lodged on chain before, e.g. by a keeper, which count like published prices). Receipts
    and vouchers it signed while it was the channel's key stay valid for the --grace (default 1
    day), or not at all with --compromised.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = None if new_key == NATIVE else new_key  # 'none': the channel has no key until the next rotation
        seconds = 0 if compromised else grace
        tx = ctx.chain().retailer(ctx.account(), retailer_id).rotate_key(channel_id, key, grace=seconds, compromised=compromised)

        def human() -> None:
            out.print(f"key of channel {channel_id} changed ({tx})")
            if seconds:
                out.print(f"  receipts and vouchers the old key signed stay valid for {span(seconds)}; its quotes no longer count")
            else:
                out.print("  everything the old key signed that was not used is refused from now on")

        ctx.emit({"channel": channel_id, "key": key, "grace": seconds, "compromised": compromised or seconds == 0, "tx": tx}, human)


# -- policy ---------------------------------------------------------------------------------
@guarantee.group()
def policy() -> None:
    """The guarantee's terms: window, tolerance, cap, excluded price types."""


@policy.command("set")
@common
@scope_option("retailer")
@click.option("--gtin", type=GTIN, default=None, help="Only for this product class [default: the retailer's default policy].")
@click.option(
    "--window",
    type=DURATION,
    default="30d",
    show_default=True,
    help="How long after a purchase a lower price counts: 30d, 12h, 0 = no guarantee.",
)
@click.option(
    "--tolerance", type=PERCENT, default="0%", show_default=True, help="Differences up to this share of the price paid do not count."
)
@click.option("--tolerance-amount", type=AMOUNT, default="0", show_default=True, help="Differences up to this amount do not count.")
@click.option("--max-payout", type=AMOUNT, required=True, help="At most this much per purchase.")
@click.option(
    "--exclude",
    "excluded",
    multiple=True,
    default=("clearance", "limited-quantity", "price-error"),
    show_default=True,
    help=f"Price types that never count (repeat; 'none' for none): {', '.join(PRICE_TYPES)}.",
)
def policy_set(
    retailer_id: int,
    gtin: str | None,
    window: int,
    tolerance: int,
    tolerance_amount: inputs.Amount,
    max_payout: inputs.Amount,
    excluded: tuple[str, ...],
    **kwargs: Any,
) -> None:
    """Set a policy (as the retailer's admin) for purchases made from now on.

    A policy that reduces the coverage in effect (a shorter window, a larger tolerance, a lower
    cap, more excluded price types) takes effect only after 7 days' notice, so buyers see it coming.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        currency = reader.currency(retailer_id)
        terms = Policy(
            window=window,
            tolerance_bps=tolerance,
            tolerance_amount=reader.units(tolerance_amount, currency),
            max_payout=reader.units(max_payout, currency),
            excluded=tuple(e for e in excluded if e.lower() != "none"),
        )
        record = ctx.chain().retailer(ctx.account(), retailer_id).set_policy(terms, gtin=gtin)

        def human() -> None:
            if record.reduces:
                out.print(
                    f"policy {record.id} set; it reduces coverage: takes effect on {_when(record.since)}, "
                    f"{span(record.notice)}' notice (purchases until then keep the terms in effect now)"
                )
            else:
                out.print(f"policy {record.id} set; it applies to purchases from now on")

        ctx.emit(record.to_json(), human)


# -- prices ---------------------------------------------------------------------------------
@guarantee.group()
def price() -> None:
    """Prices a channel publishes on chain (as the channel's key)."""


@price.command("publish")
@common
@click.argument("gtin", type=GTIN)
@click.argument("amount", type=AMOUNT)
@click.option("--type", "price_type", type=ChoiceType(PRICE_TYPES), default="regular", show_default=True, help="What kind of price.")
@click.option("--for", "valid_for", type=DURATION, default=None, help="Offered for this long (30d, 12h) [default: until the next price].")
def price_publish(gtin: str, amount: inputs.Amount, price_type: str, valid_for: int | None, **kwargs: Any) -> None:
    """Publish the channel's price AMOUNT for GTIN, ending its previous one."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = ctx.chain().channel(ctx.account())
        reader = key.reader
        until = UNTIL_ENDED if valid_for is None else reader.now() + valid_for
        offer = key.publish_price(gtin, reader.units(amount, key.currency), price_type=price_type, valid_until=until)
        ctx.emit(
            offer.to_json(),
            lambda: out.print(
                f"channel {key.channel}: {gtin} at {reader.money(offer.price, offer.currency)} ({price_type}) from {_when(offer.valid_from)}"
            ),
        )


@price.command("end")
@common
@click.argument("gtin", type=GTIN)
def price_end(gtin: str, **kwargs: Any) -> None:
    """Stop offering the channel's current price for GTIN."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        ended = ctx.chain().channel(ctx.account()).end_price(gtin)
        reader = ctx.chain().guarantee

        def human() -> None:
            if ended is None:
                out.print(f"no live price of {gtin} to end")
            else:
                out.print(f"ended the price of {gtin} at {reader.money(ended.price, ended.currency)} ({ended.type_name})")

        ctx.emit(ended.to_json() if ended else None, human)


@price.command("list")
@common
@click.argument("gtin", type=GTIN)
@scope_option("channel", required=False, help="Only this channel's prices.")
def price_list(gtin: str, channel_id: int | None, **kwargs: Any) -> None:
    """Every price published for GTIN (oldest first): the history the guarantee checks against."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        offers = reader.published_prices(gtin=gtin, channel=channel_id, checked=True)

        def human() -> None:
            if not offers:
                out.print(f"no prices published for {gtin}" + (f" by channel {channel_id}" if channel_id is not None else ""))
                return
            grid = table("channel", "price", "type", "from", "until")
            for o in offers:
                grid.add_row(str(o.channel), reader.money(o.price, o.currency), o.type_name, _when(o.valid_from), _when(o.until))
            out.print(grid)

        ctx.emit([o.to_json() for o in offers], human)


@price.command("quote")
@common
@click.argument("gtin", type=GTIN)
@click.argument("amount", type=AMOUNT)
@click.option("--type", "price_type", type=ChoiceType(PRICE_TYPES), default="regular", show_default=True, help="What kind of price.")
@click.option("--for", "valid_for", type=DURATION, default="1d", show_default=True, help="How long the quote is valid from now.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write it here [default: stdout].")
def quote(gtin: str, amount: inputs.Amount, price_type: str, valid_for: int, output: Path | None, **kwargs: Any) -> None:
    """Sign a price quote for GTIN (as the channel's key): what a web shop shows, provable later."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = ctx.chain().channel(ctx.account())
        offer = key.sign_quote(
            gtin,
            key.reader.units(amount, key.currency),
            price_type=price_type,
            valid_for=valid_for,
        )
        text = json.dumps(offer.to_json())
        if output is None:
            click.echo(text)
        else:
            output.write_text(text + "\n", encoding="utf-8")
            err.print(f"wrote {output}")


# -- sales ----------------------------------------------------------------------------------
@guarantee.group()
def sale() -> None:
    """Record sales (as a channel's key): each is a purchase the guarantee covers."""


@sale.command("record")
@common
@click.option("--buyer", type=ADDRESS, required=True, help="The buyer's address (their wallet; nothing personal).")
@click.option("--gtin", type=GTIN, required=True, help="GTIN of the product.")
@click.option("--quantity", type=QUANTITY, default=1, show_default=True, help="How many.")
@click.option("--price", "unit_price", type=AMOUNT, required=True, help="Unit price paid.")
@click.option("--receipt", required=True, help="The receipt or order number (only its hash goes on chain).")
def sale_record(buyer: str, gtin: str, quantity: int, unit_price: inputs.Amount, receipt: str, **kwargs: Any) -> None:
    """Record one sale made now."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = ctx.chain().channel(ctx.account())
        purchase = key.record_sale(buyer, gtin, quantity, key.reader.units(unit_price, key.currency), receipt)
        ctx.emit(purchase.to_json(), lambda: out.print(f"purchase {hex0x(purchase.id)} recorded: {_cover(key.reader, purchase)}"))


@sale.command("import")
@common
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--batch-size", type=NumberType(1, 300, "batch size"), default=100, show_default=True, help="Sales per transaction.")
@renamed_option("--batch", "--batch-size", "batch_size", type=NumberType(1, 300, "batch size"))
def sale_import(csv_file: Path, batch_size: int, **kwargs: Any) -> None:
    """Record the sales of CSV_FILE (columns buyer, gtin, quantity, unit_price, receipt).

    Every row is checked first; a bad file records nothing. Rerunning after a failure records
    only what is missing: a receipt is recorded once.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = ctx.chain().channel(ctx.account())
        sales = read_sales_csv(csv_file, lambda text: key.reader.units(text, key.currency, field="unit_price"))
        with Stages(as_json=ctx.as_json) as stages:  # a receipt given twice is one sale
            advance = stages.stage("recording sales", len({s.receipt for s in sales}))
            recorded, skipped = key.record_sales(sales, batch=batch_size, progress=advance)
        ctx.emit(
            {"recorded": recorded, "alreadyRecorded": skipped},
            lambda: out.print(f"{plural(recorded, 'sale')} recorded, {skipped:,} already on chain"),
        )


@guarantee.group()
def receipt() -> None:
    """Receipts a channel signs for buyers, who register them themselves."""


@receipt.command("sign")
@common
@click.option("--buyer", type=ADDRESS, required=True, help="The buyer's address.")
@click.option("--gtin", type=GTIN, required=True, help="GTIN of the product.")
@click.option("--quantity", type=QUANTITY, default=1, show_default=True, help="How many.")
@click.option("--price", "unit_price", type=AMOUNT, required=True, help="Unit price paid.")
@click.option("--receipt", required=True, help="The receipt or order number.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write it here [default: stdout].")
def receipt_sign(buyer: str, gtin: str, quantity: int, unit_price: inputs.Amount, receipt: str, output: Path | None, **kwargs: Any) -> None:
    """Sign a receipt for a sale made now (as the channel's key)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = ctx.chain().channel(ctx.account())
        signed = key.sign_receipt(buyer, gtin, quantity, key.reader.units(unit_price, key.currency), receipt)
        text = json.dumps(signed.to_json())
        if output is None:
            click.echo(text)
        else:
            output.write_text(text + "\n", encoding="utf-8")
            err.print(f"wrote {output}")


@receipt.command("register")
@common
@click.argument("receipt_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def receipt_register(receipt_file: Path, **kwargs: Any) -> None:
    """Register a signed receipt as a purchase (anyone may send it; it names the buyer)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        try:
            data = json.loads(receipt_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"not a signed receipt file: {exc}", file=str(receipt_file)) from exc
        signed = SignedReceipt.from_json(data, where=str(receipt_file))
        purchase = ctx.chain().buyer(ctx.account()).register(signed)
        reader = _reader(ctx)
        ctx.emit(purchase.to_json(), lambda: out.print(f"purchase {hex0x(purchase.id)} registered: {_cover(reader, purchase)}"))


# -- pool -----------------------------------------------------------------------------------
@guarantee.group()
def pool() -> None:
    """A retailer's compensation pool: fund it (see it with `guarantee retailer show`)."""


@pool.command("fund")
@common
@scope_option("retailer")
@click.argument("amount", type=AMOUNT)
def fund(retailer_id: int, amount: inputs.Amount, **kwargs: Any) -> None:
    """Add AMOUNT to the retailer's compensation pool (its free funds: sales recorded from now on reserve their cover from them)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        admin = ctx.chain().retailer(ctx.account(), retailer_id)
        units = admin.reader.units(amount, admin.currency)
        tx = admin.fund(units)
        ctx.emit(
            {"retailer": retailer_id, "amount": amount.text, "tx": tx},
            lambda: out.print(f"{admin.reader.money(units, admin.currency)} added to the pool of retailer {retailer_id} ({tx})"),
        )


@guarantee.group()
def withdrawal() -> None:
    """Take free funds out of a retailer's pool: announce, then execute a day later (or cancel).

    Execution sends what is free then, up to the amount announced: never the cover reserved for
    purchases, which returns to the free funds once their claims close (`guarantee purchase release`).
    """


@withdrawal.command("announce")
@common
@scope_option("retailer")
@click.argument("amount", type=AMOUNT)
@click.option("--to", "to", type=ADDRESS, default=None, help="Where the withdrawal goes [default: the --account].")
def withdrawal_announce(retailer_id: int, amount: inputs.Amount, to: str | None, **kwargs: Any) -> None:
    """Announce a withdrawal of AMOUNT from the pool; it may execute a day later."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        admin = ctx.chain().retailer(ctx.account(), retailer_id)
        at = admin.announce_withdrawal(admin.reader.units(amount, admin.currency), to)
        ctx.emit({"executableAt": at}, lambda: out.print(f"withdrawal announced; it may execute from {_when(at)}"))


def _withdrawal_step(verb: str, doc: str, step: Callable[[RetailerAdmin], str], said: Callable[[str], str]) -> click.Command:
    """``guarantee withdrawal cancel|execute``: one step of an announced withdrawal, by its admin."""

    @withdrawal.command(verb, help=doc)
    @common
    @scope_option("retailer")
    def command(retailer_id: int, **kwargs: Any) -> None:
        ctx = make_context(kwargs)
        with handled(ctx.as_json):
            tx = step(ctx.chain().retailer(ctx.account(), retailer_id))
            ctx.emit({"tx": tx}, lambda: out.print(said(tx)))

    return command


withdrawal_cancel = _withdrawal_step(
    "cancel", "Cancel the announced withdrawal.", lambda admin: admin.cancel_withdrawal(), lambda tx: "withdrawal cancelled"
)
withdrawal_execute = _withdrawal_step(
    "execute",
    "Execute the announced withdrawal: what is free now, up to the amount announced.",
    lambda admin: admin.execute_withdrawal(),
    lambda tx: f"withdrawn ({tx})",
)


@guarantee.command("withdraw", hidden=True)
@common
@scope_option("retailer")
@click.argument("action", type=ChoiceType(["announce", "cancel", "execute"]))
@click.argument("amount", type=AMOUNT, required=False)
@click.option("--to", "to", type=ADDRESS, default=None)
@click.pass_context
def withdraw(click_ctx: click.Context, /, action: str, amount: inputs.Amount | None, to: str | None, **kwargs: Any) -> None:
    """Old spelling of `guarantee withdrawal announce|cancel|execute`."""
    notice_renamed(f"o2ochain guarantee withdraw {action}", f"o2ochain guarantee withdrawal {action}")
    if action == "announce":
        if amount is None:
            fail(InputError("announce needs the AMOUNT to withdraw", field="AMOUNT"), bool(kwargs.get("as_json")))
        click_ctx.invoke(withdrawal_announce, amount=amount, to=to, **kwargs)
    else:
        click_ctx.invoke(withdrawal_cancel if action == "cancel" else withdrawal_execute, **kwargs)


# -- buyers ---------------------------------------------------------------------------------
@guarantee.group()
def purchase() -> None:
    """Purchases the guarantee covers: list them, release the cover of those whose claims closed."""


@guarantee.group()
def compensation() -> None:
    """What buyers are owed: see it and why, trigger its payout, withdraw what was credited."""


@purchase.command("list")
@common
@click.option("--buyer", type=ADDRESS, default=None, help="Only this buyer's [default: the --account's, if given].")
def purchases(buyer: str | None, **kwargs: Any) -> None:
    """Recorded purchases (oldest first), each with its cover: the most the pool reserved for it."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        who = buyer or (ctx.account().address if ctx.account_spec else None)
        found = reader.purchases(buyer=who)

        def human() -> None:
            for p in found:
                c = reader.currency(p.retailer)
                out.print(
                    f"{hex0x(p.id)} {p.gtin14} x{p.quantity} at {reader.money(p.unit_price, c)} on {_when(p.purchased_at)} "
                    f"(channel {p.channel}, policy {p.policy or 'none'}): {_cover(reader, p)}",
                    soft_wrap=True,
                )
            if not found:
                out.print("no purchases recorded")

        ctx.emit([p.to_json() for p in found], human)


def _quotes(path: Path | None) -> list[Offer]:
    return load_quotes(path) if path is not None else []


quotes_option = click.option(
    "--quotes",
    "quotes_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Signed quotes to use as evidence too (JSON Lines, from `guarantee price quote`).",
)


def _cover(reader: GuaranteeReader, p: Purchase) -> str:
    if not p.cover:
        return "not covered (no policy with an open window, or no free funds in the pool)"
    return f"cover {reader.money(p.cover, reader.currency(p.retailer))}, compensation paid from {_when(p.claimable_at)}"


def explain(reader: GuaranteeReader, e: Entitlement) -> str:
    c = reader.currency(e.purchase.retailer)

    def fmt(units: int) -> str:
        return reader.money(units, c)

    head = f"{e.purchase.gtin14} x{e.purchase.quantity} at {fmt(e.purchase.unit_price)} (cover {fmt(e.purchase.cover)})"
    offer = f"channel {e.offer.channel} offered {fmt(e.offer.price)} ({e.offer.type_name}, {e.offer.evidence})"
    rule = f"difference {fmt(e.difference)} > tolerance {fmt(e.tolerance)}"
    if e.due:
        return f"{head}: owed {fmt(e.due)} — {offer}; {rule}"
    if e.pending:
        return f"{head}: {fmt(e.pending)} owed, claimable from {_when(e.claimable_at)} — {offer}; {rule}"
    return f"{head}: nothing owed — {e.reason} ({offer})"


@compensation.command("show")
@common
@quotes_option
def owed(quotes_file: Path | None, **kwargs: Any) -> None:
    """What the --account is owed for each purchase, and why (or why not)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        rows = ctx.chain().buyer(ctx.account()).owed(_quotes(quotes_file))

        def human() -> None:
            for r in rows:
                out.print(explain(reader, r))
            if not rows:
                out.print("no purchases recorded for this account")

        ctx.emit([r.to_json() for r in rows], human)


@compensation.command("claim")
@common
@quotes_option
@click.argument("purchase_id", metavar="PURCHASE", type=PURCHASE)
def claim(purchase_id: bytes, quotes_file: Path | None, **kwargs: Any) -> None:
    """Trigger the payout of PURCHASE, its 0x id (anyone may: the money goes to the buyer)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        e = ctx.chain().buyer(ctx.account()).claim(purchase_id, _quotes(quotes_file))
        ctx.emit(e.to_json(), lambda: out.print(explain(reader, e)))


@price.command("lodge")
@common
@click.argument("quotes_file", type=click.Path(dir_okay=False, path_type=Path))
def lodge(quotes_file: Path, **kwargs: Any) -> None:
    """Lodge the signed quotes of QUOTES_FILE on chain (anyone may).

    A signed quote counts only while the key that signed it is the channel's key; lodged on chain,
    it counts like a published price (that its channel cannot end) whatever becomes of the key.
    Quotes already lodged are skipped. The keeper lodges the quotes it is given by itself.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        anyone = ctx.chain().buyer(ctx.account())
        rows: list[dict[str, Any]] = []
        quotes = load_quotes(quotes_file)
        with Stages(as_json=ctx.as_json) as stages:
            for q in stages.each("lodging quotes", quotes):
                if reader.is_lodged(q):
                    rows.append({"lodged": False, "already": True} | q.to_json())
                    continue
                reader.check_quote(q)
                rows.append({"lodged": True, "already": False} | anyone.lodge_quote(q).to_json())

        def human() -> None:
            if not rows:
                out.print(f"no quotes in {quotes_file}")
            for r in rows:
                state = "lodged" if r["lodged"] else "already lodged"
                price = reader.money(int(r["price"]), str(r["currency"]))
                out.print(f"{state}: channel {r['channel']}, {r['gtin']} at {price} from {_when(int(r['validFrom']))}")

        ctx.emit(rows, human)


@purchase.command("release")
@common
@scope_option("retailer", required=False, help="Only this retailer's purchases [default: every retailer's].")
def release(retailer_id: int | None, **kwargs: Any) -> None:
    """Return the unclaimed cover of purchases whose claims have closed to the retailers' free funds.

    Claims for a purchase close a day after its guarantee window; until then its cover stays
    reserved for the buyer. Anyone may release (the keeper does it by itself).
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        closed = reader.releasable(retailer=retailer_id)
        done = []
        if closed:  # nothing to release needs no --account
            anyone = ctx.chain().buyer(ctx.account())
            with Stages(as_json=ctx.as_json) as stages:
                done = anyone.release(closed, progress=stages.stage("releasing cover", len(closed)))

        def human() -> None:
            if not done:
                out.print("no purchase has claims closed with cover left to release")
            for r in done:
                out.print(
                    f"released {reader.money(r.amount, reader.currency(r.retailer))} of purchase {hex0x(r.purchase)} to retailer {r.retailer}",
                    soft_wrap=True,
                )

        ctx.emit([r.to_json() for r in done], human)


@compensation.command("withdraw")
@common
@click.option("--currency", type=CURRENCY, default="native", show_default=True, help="'native' or the ERC-20 address.")
def withdraw_credit(currency: str, **kwargs: Any) -> None:
    """Withdraw compensation credited to the --account when paying it directly failed."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().buyer(ctx.account()).withdraw_credit(currency)
        ctx.emit({"tx": tx}, lambda: out.print(f"credit withdrawn ({tx})"))


# The guarantee's commands as they were spelled before they were grouped by what they act on.
for _command, _old, _new in (
    (quote, "quote", "price quote"),
    (lodge, "lodge", "price lodge"),
    (fund, "fund", "pool fund"),
    (purchases, "purchases", "purchase list"),
    (release, "release", "purchase release"),
    (owed, "owed", "compensation show"),
    (claim, "claim", "compensation claim"),
    (withdraw_credit, "withdraw-credit", "compensation withdraw"),
):
    guarantee.add_command(renamed(_command, f"guarantee {_old}", f"guarantee {_new}"))


# -- keeper ---------------------------------------------------------------------------------
@click.command("keeper")
@common
@quotes_option
@click.option("--once", is_flag=True, help="One round, then exit.")
@click.option("--interval", type=SecondsType(0.1), default=5.0, show_default=True, help="Seconds between rounds.")
@click.option(
    "--log", "log_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Append each action as a JSON line here."
)
@scope_option("retailer", required=False, help="Pay only this retailer's buyers (a retailer's own keeper) [default: every retailer's].")
def keeper(quotes_file: Path | None, once: bool, interval: float, log_file: Path | None, retailer_id: int | None, **kwargs: Any) -> None:
    """Pay price-guarantee compensation automatically.

    Follows purchases and prices on chain, finds every purchase a lower price of the same retailer
    entitles to compensation, and triggers the payout to the buyer (the --account pays the gas).
    Compensation is paid from a day after a sale was recorded: what is owed earlier is reported
    and paid as soon as it may be. The --quotes it is given are lodged on chain first, so that a
    rotation of the key that signed them cannot void them. Once a purchase's claims close, its
    unclaimed cover is released to the retailer's free funds. Restart it at any time: it reads
    its state from the chain, so nothing is paid twice. Stop with Ctrl-C.
    """
    from o2ochain.guarantee import KeeperAction, open_log

    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        chain = ctx.chain()
        log = open_log(log_file)
        bot = chain.keeper(ctx.account(), quotes=_quotes(quotes_file), log=log, retailer=retailer_id)
        reader = chain.guarantee
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

        seen: list[KeeperAction] = []

        def report(actions: list[KeeperAction]) -> None:
            seen.extend(actions)
            for a in actions:
                if ctx.as_json:
                    click.echo(json.dumps(a.to_json()))
                    continue
                retailer = (a.detail or {}).get("retailer")
                amount = reader.money(a.amount, reader.currency(int(retailer))) if retailer else f"{a.amount:,} base units"
                if a.kind == "paid":
                    line = f"paid {amount} to {a.buyer} for purchase {a.purchase}: {a.reason} ({a.tx_hash})"
                elif a.kind == "pending":
                    line = f"{amount} owed to {a.buyer} for purchase {a.purchase}: {a.reason}"
                elif a.kind == "released":
                    line = f"released {amount} of purchase {a.purchase} to retailer {retailer}: {a.reason}"
                elif a.kind == "lodged":
                    line = f"lodged a quote of channel {(a.detail or {}).get('channel')} on chain ({a.tx_hash})"
                elif a.purchase:
                    line = f"skipped purchase {a.purchase}: {a.reason}"
                else:
                    line = f"skipped: {a.reason}"
                out.print(line, soft_wrap=True, highlight=False, markup=False)

        def problem(exc: Exception) -> None:
            err.print(f"[yellow]round failed, retrying in {interval:g} s:[/] {exc}")

        if not ctx.as_json and not once:
            err.print(f"keeper running as {bot.sender.address}, every {interval:g} s; Ctrl-C stops it")
        try:
            bot.run(interval=interval, stop=stop, rounds=1 if once else None, on_round=report, on_error=None if once else problem)
            if once and not seen and not ctx.as_json:
                out.print("nothing to do: no compensation owed, no cover to release, no quote to lodge")
        except KeyboardInterrupt:
            err.print("keeper stopped")
        finally:
            if log is not None:
                log.close()
