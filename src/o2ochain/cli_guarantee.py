"""``o2ochain guarantee …`` and ``o2ochain keeper``: the cross-channel price guarantee.

Amounts on the command line are decimal amounts of the retailer's currency (``188``, ``1.25``);
the commands convert them to base units with the currency's decimals.
"""

from __future__ import annotations

import json
import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from o2ochain.cli import Context, common, err, handled, main, make_context, out, parse_duration, parse_percent, progress_bar
from o2ochain.errors import InputError
from o2ochain.guarantee import (
    CHANNEL_KINDS,
    NATIVE,
    PRICE_TYPES,
    UNTIL_ENDED,
    Entitlement,
    GuaranteeReader,
    Offer,
    Policy,
    SignedReceipt,
    load_quotes,
    read_sales_csv,
)


def _when(ts: int) -> str:
    return "—" if not ts or ts >= UNTIL_ENDED else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _reader(ctx: Context) -> GuaranteeReader:
    return ctx.chain().guarantee


@main.group()
def guarantee() -> None:
    """Cross-channel price guarantee: a buyer is paid when the retailer sells for less elsewhere.

    A retailer declares its channels (online shops, stores), each with a price-signing key, sets a
    policy (window, tolerance, cap, excluded price types) and funds a pool. Channels publish prices
    and record sales. When any channel of the same retailer offers the same product below what a
    buyer paid, by more than the tolerance, within the window, the buyer is owed the difference;
    `o2ochain keeper` pays it automatically, and anyone may trigger a payout (`guarantee claim`).
    """


# -- retailer -------------------------------------------------------------------------------
@guarantee.group()
def retailer() -> None:
    """Register a retailer and see its pool."""


@retailer.command("register")
@common
@click.option("--currency", default="native", show_default=True, help="'native' (the chain's coin) or an ERC-20 token address.")
@click.option("--uri", default="", help="Where the retailer's public profile lives (https:// or ipfs://).")
def retailer_register(currency: str, uri: str, **kwargs: Any) -> None:
    """Register a retailer; the --account becomes its admin. Prints the retailer id."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        token = NATIVE if currency.lower() == "native" else currency
        admin = ctx.chain().register_retailer(ctx.account(), currency=token, uri=uri)
        ctx.emit({"retailer": admin.retailer, "currency": admin.currency}, lambda: out.print(f"retailer {admin.retailer} registered"))


@retailer.command("show")
@common
@click.argument("retailer_id", type=int)
def retailer_show(retailer_id: int, **kwargs: Any) -> None:
    """The retailer's pool (available, owed, queued), pending withdrawal and channels."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        info = reader.retailer(retailer_id)
        channels = reader.channels(retailer_id)
        data = info.to_json() | {"channels": [c.to_json() for c in channels]}

        def human() -> None:
            def fmt(units: int) -> str:
                return reader.format(units, info.currency)

            out.print(f"retailer {retailer_id}, currency {'native coin' if int(info.currency, 16) == 0 else info.currency}")
            out.print(f"  pool: {fmt(info.available)} available, {fmt(info.owed)} owed to {info.queue_tail - info.queue_head} buyer(s)")
            out.print(f"  funded {fmt(info.funded)}, paid out {fmt(info.paid)}; withdrawal delay {info.max_window // 86_400} day(s)")
            if info.withdrawal_at:
                out.print(
                    f"  withdrawal of {fmt(info.withdrawal_amount)} to {info.withdrawal_to} executable at {_when(info.withdrawal_at)}"
                )
            for c in channels:
                out.print(f"  channel {c.id}: {c.name} ({c.kind}), key {c.key}")

        ctx.emit(data, human)


# -- channels -------------------------------------------------------------------------------
@guarantee.group()
def channel() -> None:
    """Declare a retailer's channels and rotate their price-signing keys."""


@channel.command("add")
@common
@click.option("--retailer", "retailer_id", type=int, required=True, help="Retailer id.")
@click.option("--kind", type=click.Choice(list(CHANNEL_KINDS.values())), required=True, help="What the channel is.")
@click.option("--key", required=True, help="Address of the channel's price-signing key.")
@click.option("--name", required=True, help="The channel's name, e.g. 'Acme web shop'.")
def channel_add(retailer_id: int, kind: str, key: str, name: str, **kwargs: Any) -> None:
    """Declare a channel of the retailer (as its admin). Prints the channel id."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        number = ctx.chain().retailer(ctx.account(), retailer_id).add_channel(kind, key, name)
        ctx.emit({"channel": number, "retailer": retailer_id, "kind": kind, "key": key}, lambda: out.print(f"channel {number} added"))


@channel.command("rotate")
@common
@click.argument("channel_id", type=int)
@click.option("--key", "new_key", required=True, help="The new key's address, or 'none' to revoke the key.")
@click.option("--retailer", "retailer_id", type=int, required=True, help="Retailer id.")
def channel_rotate(channel_id: int, new_key: str, retailer_id: int, **kwargs: Any) -> None:
    """Replace (or revoke) a channel's key; quotes it signed before stay valid for their time."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = None if new_key.lower() == "none" else new_key
        tx = ctx.chain().retailer(ctx.account(), retailer_id).rotate_key(channel_id, key)
        ctx.emit({"channel": channel_id, "key": key, "tx": tx}, lambda: out.print(f"key of channel {channel_id} changed ({tx})"))


# -- policy ---------------------------------------------------------------------------------
@guarantee.group()
def policy() -> None:
    """The guarantee's terms: window, tolerance, cap, excluded price types."""


@policy.command("set")
@common
@click.option("--retailer", "retailer_id", type=int, required=True, help="Retailer id.")
@click.option("--gtin", default=None, help="Only for this product class [default: the retailer's default policy].")
@click.option(
    "--window", default="30d", show_default=True, help="How long after a purchase a lower price counts: 30d, 12h, 0 = no guarantee."
)
@click.option("--tolerance", default="0%", show_default=True, help="Differences up to this share of the price paid do not count.")
@click.option("--tolerance-amount", default="0", show_default=True, help="Differences up to this amount do not count.")
@click.option("--max-payout", required=True, help="At most this much per purchase.")
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
    window: str,
    tolerance: str,
    tolerance_amount: str,
    max_payout: str,
    excluded: tuple[str, ...],
    **kwargs: Any,
) -> None:
    """Set a policy (as the retailer's admin); it applies to purchases made from now on."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        currency = reader.currency(retailer_id)
        terms = Policy(
            window=parse_duration(window, "--window"),
            tolerance_bps=parse_percent(tolerance, "--tolerance"),
            tolerance_amount=reader.units(tolerance_amount, currency, field="--tolerance-amount"),
            max_payout=reader.units(max_payout, currency, field="--max-payout"),
            excluded=tuple(e for e in excluded if e.lower() != "none"),
        )
        number = ctx.chain().retailer(ctx.account(), retailer_id).set_policy(terms, gtin=gtin)
        ctx.emit({"policy": number} | terms.to_json(), lambda: out.print(f"policy {number} set; it applies to purchases from now on"))


# -- prices ---------------------------------------------------------------------------------
@guarantee.group()
def price() -> None:
    """Prices a channel publishes on chain (as the channel's key)."""


@price.command("publish")
@common
@click.argument("gtin")
@click.argument("amount")
@click.option("--type", "price_type", type=click.Choice(PRICE_TYPES), default="regular", show_default=True, help="What kind of price.")
@click.option("--for", "valid_for", default=None, help="Offered for this long (30d, 12h) [default: until the next price].")
def price_publish(gtin: str, amount: str, price_type: str, valid_for: str | None, **kwargs: Any) -> None:
    """Publish the channel's price AMOUNT for GTIN, ending its previous one."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = ctx.chain().channel(ctx.account())
        reader = key.reader
        until = UNTIL_ENDED if valid_for is None else reader.now() + parse_duration(valid_for, "--for")
        offer = key.publish_price(gtin, reader.units(amount, key.currency, field="AMOUNT"), price_type=price_type, valid_until=until)
        ctx.emit(
            offer.to_json(), lambda: out.print(f"channel {key.channel}: {gtin} at {amount} ({price_type}) from {_when(offer.valid_from)}")
        )


@price.command("end")
@common
@click.argument("gtin")
def price_end(gtin: str, **kwargs: Any) -> None:
    """Stop offering the channel's current price for GTIN."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        ended = ctx.chain().channel(ctx.account()).end_price(gtin)
        ctx.emit(ended.to_json() if ended else None, lambda: out.print("ended" if ended else "no live price to end"))


@price.command("list")
@common
@click.argument("gtin")
@click.option("--channel", "channel_id", type=int, default=None, help="Only this channel.")
def price_list(gtin: str, channel_id: int | None, **kwargs: Any) -> None:
    """Every price published for GTIN (oldest first): the history the guarantee checks against."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        offers = reader.published_prices(gtin=gtin, channel=channel_id)

        def human() -> None:
            table = Table("channel", "price", "type", "from", "until")
            for o in offers:
                table.add_row(str(o.channel), reader.format(o.price, o.currency), o.type_name, _when(o.valid_from), _when(o.until))
            out.print(table)

        ctx.emit([o.to_json() for o in offers], human)


@guarantee.command("quote")
@common
@click.argument("gtin")
@click.argument("amount")
@click.option("--type", "price_type", type=click.Choice(PRICE_TYPES), default="regular", show_default=True, help="What kind of price.")
@click.option("--for", "valid_for", default="1d", show_default=True, help="How long the quote is valid from now.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write it here [default: stdout].")
def quote(gtin: str, amount: str, price_type: str, valid_for: str, output: Path | None, **kwargs: Any) -> None:
    """Sign a price quote for GTIN (as the channel's key): what a web shop shows, provable later."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = ctx.chain().channel(ctx.account())
        offer = key.sign_quote(
            gtin,
            key.reader.units(amount, key.currency, field="AMOUNT"),
            price_type=price_type,
            valid_for=parse_duration(valid_for, "--for"),
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
@click.option("--buyer", required=True, help="The buyer's address (their wallet; nothing personal).")
@click.option("--gtin", required=True, help="GTIN of the product.")
@click.option("--quantity", type=click.IntRange(1), default=1, show_default=True, help="How many.")
@click.option("--price", "unit_price", required=True, help="Unit price paid.")
@click.option("--receipt", required=True, help="The receipt or order number (only its hash goes on chain).")
def sale_record(buyer: str, gtin: str, quantity: int, unit_price: str, receipt: str, **kwargs: Any) -> None:
    """Record one sale made now."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = ctx.chain().channel(ctx.account())
        purchase = key.record_sale(buyer, gtin, quantity, key.reader.units(unit_price, key.currency, field="--price"), receipt)
        ctx.emit(purchase.to_json(), lambda: out.print(f"purchase {purchase.to_json()['purchase']} recorded (policy {purchase.policy})"))


@sale.command("import")
@common
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--batch", type=click.IntRange(1, 300), default=100, show_default=True, help="Sales per transaction.")
def sale_import(csv_file: Path, batch: int, **kwargs: Any) -> None:
    """Record the sales of CSV_FILE (columns buyer, gtin, quantity, unit_price, receipt).

    Every row is checked first; a bad file records nothing. Rerunning after a failure records
    only what is missing: a receipt is recorded once.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = ctx.chain().channel(ctx.account())
        sales = read_sales_csv(csv_file, lambda text: key.reader.units(text, key.currency, field="unit_price"))
        with progress_bar("recording sales", not ctx.as_json) as update:
            done = 0

            def advance(n: int) -> None:
                nonlocal done
                done += n
                update(done, len(sales))

            recorded, skipped = key.record_sales(sales, batch=batch, progress=advance)
        ctx.emit(
            {"recorded": recorded, "alreadyRecorded": skipped},
            lambda: out.print(f"{recorded} sale(s) recorded, {skipped} already on chain"),
        )


@guarantee.group()
def receipt() -> None:
    """Receipts a channel signs for buyers, who register them themselves."""


@receipt.command("sign")
@common
@click.option("--buyer", required=True, help="The buyer's address.")
@click.option("--gtin", required=True, help="GTIN of the product.")
@click.option("--quantity", type=click.IntRange(1), default=1, show_default=True, help="How many.")
@click.option("--price", "unit_price", required=True, help="Unit price paid.")
@click.option("--receipt", "number", required=True, help="The receipt or order number.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write it here [default: stdout].")
def receipt_sign(buyer: str, gtin: str, quantity: int, unit_price: str, number: str, output: Path | None, **kwargs: Any) -> None:
    """Sign a receipt for a sale made now (as the channel's key)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        key = ctx.chain().channel(ctx.account())
        signed = key.sign_receipt(buyer, gtin, quantity, key.reader.units(unit_price, key.currency, field="--price"), number)
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
        ctx.emit(purchase.to_json(), lambda: out.print(f"purchase {purchase.to_json()['purchase']} registered"))


# -- pool -----------------------------------------------------------------------------------
@guarantee.command("fund")
@common
@click.option("--retailer", "retailer_id", type=int, required=True, help="Retailer id.")
@click.argument("amount")
def fund(retailer_id: int, amount: str, **kwargs: Any) -> None:
    """Add AMOUNT to the retailer's compensation pool (owed compensation is paid from it first)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        admin = ctx.chain().retailer(ctx.account(), retailer_id)
        tx = admin.fund(admin.reader.units(amount, admin.currency))
        ctx.emit({"retailer": retailer_id, "amount": amount, "tx": tx}, lambda: out.print(f"pool of retailer {retailer_id} funded ({tx})"))


@guarantee.command("withdraw")
@common
@click.option("--retailer", "retailer_id", type=int, required=True, help="Retailer id.")
@click.argument("action", type=click.Choice(["announce", "cancel", "execute"]))
@click.argument("amount", required=False)
@click.option("--to", "to", default=None, help="Where the withdrawal goes [default: the --account].")
def withdraw(retailer_id: int, action: str, amount: str | None, to: str | None, **kwargs: Any) -> None:
    """Withdraw from the pool: announce AMOUNT, then execute once the guarantee window has passed."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        admin = ctx.chain().retailer(ctx.account(), retailer_id)
        if action == "announce":
            if amount is None:
                raise InputError("announce needs the AMOUNT to withdraw", field="AMOUNT")
            at = admin.announce_withdrawal(admin.reader.units(amount, admin.currency), to)
            ctx.emit({"executableAt": at}, lambda: out.print(f"withdrawal announced; it may execute from {_when(at)}"))
        elif action == "cancel":
            tx = admin.cancel_withdrawal()
            ctx.emit({"tx": tx}, lambda: out.print("withdrawal cancelled"))
        else:
            tx = admin.execute_withdrawal()
            ctx.emit({"tx": tx}, lambda: out.print(f"withdrawn ({tx})"))


# -- buyers ---------------------------------------------------------------------------------
@guarantee.command("purchases")
@common
@click.option("--buyer", default=None, help="Only this buyer's [default: the --account's, if given].")
def purchases(buyer: str | None, **kwargs: Any) -> None:
    """Recorded purchases (oldest first)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        who = buyer or (ctx.account().address if ctx.account_spec else None)
        rows = [p.to_json() for p in _reader(ctx).purchases(buyer=who)]
        ctx.emit(rows, lambda: out.print_json(data=rows))


def _quotes(path: Path | None) -> list[Offer]:
    return load_quotes(path) if path is not None else []


quotes_option = click.option(
    "--quotes",
    "quotes_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Signed quotes to use as evidence too (JSON Lines, from `guarantee quote`).",
)


def _explain(reader: GuaranteeReader, e: Entitlement) -> str:
    c = reader.currency(e.purchase.retailer)

    def fmt(units: int) -> str:
        return reader.format(units, c)

    head = f"{e.purchase.gtin14} x{e.purchase.quantity} at {fmt(e.purchase.unit_price)}"
    offer = f"channel {e.offer.channel} offered {fmt(e.offer.price)} ({e.offer.type_name}, {'quote' if e.offer.signature else 'published'})"
    if e.due:
        return f"{head}: owed {fmt(e.due)} — {offer}; difference {fmt(e.difference)} > tolerance {fmt(e.tolerance)}"
    return f"{head}: nothing owed — {e.reason} ({offer})"


@guarantee.command("owed")
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
                out.print(_explain(reader, r))
            if not rows:
                out.print("no purchases recorded for this account")

        ctx.emit([r.to_json() for r in rows], human)


@guarantee.command("claim")
@common
@quotes_option
@click.argument("purchase_id")
def claim(purchase_id: str, quotes_file: Path | None, **kwargs: Any) -> None:
    """Trigger the payout of PURCHASE_ID (anyone may: the money goes to the buyer)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        reader = _reader(ctx)
        e = ctx.chain().buyer(ctx.account()).claim(purchase_id, _quotes(quotes_file))
        ctx.emit(e.to_json(), lambda: out.print(_explain(reader, e)))


@guarantee.command("withdraw-credit")
@common
@click.option("--currency", default="native", show_default=True, help="'native' or the ERC-20 address.")
def withdraw_credit(currency: str, **kwargs: Any) -> None:
    """Withdraw compensation credited to the --account when paying it directly failed."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().buyer(ctx.account()).withdraw_credit(NATIVE if currency == "native" else currency)
        ctx.emit({"tx": tx}, lambda: out.print(f"credit withdrawn ({tx})"))


# -- keeper ---------------------------------------------------------------------------------
@main.command("keeper")
@common
@quotes_option
@click.option("--once", is_flag=True, help="One round, then exit.")
@click.option("--interval", type=click.FloatRange(0.1), default=5.0, show_default=True, help="Seconds between rounds.")
@click.option(
    "--log", "log_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Append each payout as a JSON line here."
)
def keeper(quotes_file: Path | None, once: bool, interval: float, log_file: Path | None, **kwargs: Any) -> None:
    """Pay price-guarantee compensation automatically.

    Follows purchases and prices on chain, finds every purchase a lower price of the same retailer
    entitles to compensation, and triggers the payout to the buyer (the --account pays the gas).
    Pays owed compensation when a pool is refilled. Restart it at any time: it reads its state
    from the chain, so nothing is paid twice. Stop with Ctrl-C.
    """
    from o2ochain.keeper import KeeperAction, open_log

    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        chain = ctx.chain()
        log = open_log(log_file)
        bot = chain.keeper(ctx.account(), quotes=_quotes(quotes_file), log=log)
        reader = chain.guarantee
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

        def report(actions: list[KeeperAction]) -> None:
            for a in actions:
                if ctx.as_json:
                    click.echo(json.dumps(a.to_json()))
                    continue
                amount = reader.format(a.amount, reader.currency(int((a.detail or {}).get("retailer", 1))))
                if a.kind == "paid":
                    out.print(f"paid {amount} to {a.buyer} for purchase {a.purchase[:10]}…: {a.reason} ({a.tx_hash})")
                elif a.kind == "owed":
                    out.print(f"owed {amount} to {a.buyer} for purchase {a.purchase[:10]}…: {a.reason}")
                elif a.kind == "settled":
                    out.print(f"paid {amount} owed to {a.buyer} for purchase {a.purchase[:10]}… ({a.tx_hash})")
                else:
                    out.print(f"skipped purchase {a.purchase[:10]}…: {a.reason}")

        def problem(exc: Exception) -> None:
            err.print(f"[yellow]round failed, retrying in {interval:g} s:[/] {exc}")

        if not ctx.as_json and not once:
            err.print(f"keeper running as {bot.sender.address}, every {interval:g} s; Ctrl-C stops it")
        try:
            bot.run(interval=interval, stop=stop, rounds=1 if once else None, on_round=report, on_error=None if once else problem)
        except KeyboardInterrupt:
            err.print("keeper stopped")
        finally:
            if log is not None:
                log.close()
