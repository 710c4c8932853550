"""``o2ochain trace …``: EPCIS 2.0 events anchored on chain, and an item's full history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from o2ochain.cli._common import Context, F, common, err, handled, make_context, out, progress_bar
from o2ochain.client import O2OChain


# -- traceability ---------------------------------------------------------------------------
@click.group()
def trace() -> None:
    """Supply-chain history: EPCIS 2.0 events anchored on chain, and an item's full history.

    The full events are kept in a content-addressed local store (--store, default
    $O2O_STORE or ./.o2ochain/events); the chain holds their hashes, so a copy of a history
    from anywhere is checked against the chain.
    """


def store_option(f: F) -> F:
    return click.option(
        "--store",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="O2O_STORE",
        default=None,
        help="Folder of the content-addressed EPCIS event store [default: ./.o2ochain/events] ($O2O_STORE).",
    )(f)


def _traced(ctx: Context, store: Path | None) -> O2OChain:
    chain = ctx.chain()
    if store is not None:
        chain.use_store(store)
    return chain


@trace.group("actor")
def trace_actor() -> None:
    """Authorise or revoke a brand's supply-chain actors (brand admin only)."""


@trace_actor.command("grant")
@common
@click.argument("address")
@click.option("--brand", "brand_id", type=int, required=True, help="Brand id.")
@click.option("--kind", type=click.Choice(["farm", "plant", "logistics", "store", "other"]), required=True, help="What the actor is.")
@click.option("--gln", default=None, help="The actor's GLN (13 digits) or SGLN, as its location.")
def trace_actor_grant(address: str, brand_id: int, kind: str, gln: str | None, **kwargs: Any) -> None:
    """Let ADDRESS record supply-chain events on the brand's goods."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.epcis import location_id

        location = location_id(gln) if gln else b"\x00" * 32
        ctx.chain().trace_admin(ctx.account(), brand_id).grant(address, kind, location)
        ctx.emit(
            {"brand": brand_id, "actor": address, "kind": kind},
            lambda: out.print(f"{address} may record events for brand {brand_id} ({kind})"),
        )


@trace_actor.command("revoke")
@common
@click.argument("address")
@click.option("--brand", "brand_id", type=int, required=True, help="Brand id.")
def trace_actor_revoke(address: str, brand_id: int, **kwargs: Any) -> None:
    """Withdraw ADDRESS's right to record events for the brand."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        ctx.chain().trace_admin(ctx.account(), brand_id).revoke(address)
        ctx.emit({"brand": brand_id, "actor": address, "revoked": True}, lambda: out.print(f"{address} revoked for brand {brand_id}"))


@trace_actor.command("repository")
@common
@click.argument("uri")
@click.option("--brand", "brand_id", type=int, required=True, help="Brand id.")
def trace_actor_repository(uri: str, brand_id: int, **kwargs: Any) -> None:
    """Announce URI as where this actor publishes its full EPCIS events (URI + content hash)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        ctx.chain().actor(ctx.account()).set_repository(brand_id, uri)
        ctx.emit({"brand": brand_id, "repository": uri}, lambda: out.print(f"events for brand {brand_id} are published under {uri}"))


@trace.command("import")
@common
@store_option
@click.argument("document", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--brand", "brand_id", type=int, default=None, help="Brand for events that name no registered product (only containers).")
def trace_import(document: Path, store: Path | None, brand_id: int | None, **kwargs: Any) -> None:
    """Import an EPCIS 2.0 JSON / JSON-LD DOCUMENT: validate, store, anchor each event.

    The document is validated against GS1's EPCIS 2.0 JSON Schema first; if anything is wrong,
    every problem is reported with its JSON path and nothing is written. Events already on chain
    are skipped, so a rerun after a failure records each event exactly once.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.epcis import load_document

        parsed = load_document(document)
        actor = _traced(ctx, store).actor(ctx.account())
        with progress_bar("anchoring events", not ctx.as_json and err.is_terminal) as update:
            report = actor.record_events(parsed.events, brand=brand_id, progress=update, source=str(document))

        def human() -> None:
            out.print(
                f"{report.events} event(s), {report.entries} chain entr{'y' if report.entries == 1 else 'ies'}: "
                f"{report.recorded} recorded in {report.transactions} transaction(s), {report.already} already on chain; "
                f"{report.gas_used:,} gas"
            )

        ctx.emit(report.to_json(), human)


@trace.command("record")
@common
@store_option
@click.argument("subject")
@click.option("--biz-step", required=True, help="CBV business step, e.g. shipping, receiving, commissioning.")
@click.option("--disposition", default=None, help="CBV disposition, e.g. in_transit, active, recalled.")
@click.option("--action", type=click.Choice(["ADD", "OBSERVE", "DELETE"]), default="OBSERVE", show_default=True, help="EPCIS action.")
@click.option("--read-point", default=None, help="Where it was seen: SGLN URN or GS1 Digital Link (/414/…).")
@click.option("--biz-location", default=None, help="Where it is now: SGLN URN or GS1 Digital Link (/414/…).")
@click.option("--time", "when", default=None, help="Event time, ISO 8601 with offset [default: now].")
@click.option("--brand", "brand_id", type=int, default=None, help="Brand, for a container (SSCC) subject.")
def trace_record(
    subject: str,
    store: Path | None,
    biz_step: str,
    disposition: str | None,
    action: str,
    read_point: str | None,
    biz_location: str | None,
    when: str | None,
    brand_id: int | None,
    **kwargs: Any,
) -> None:
    """Record one ObjectEvent on SUBJECT (an item, lot or SSCC as URN or Digital Link)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.epcis import object_event_document, parse_document

        doc = object_event_document(
            subject, biz_step=biz_step, disposition=disposition, action=action, read_point=read_point, biz_location=biz_location, when=when
        )
        parsed = parse_document(doc, source="trace record")
        report = _traced(ctx, store).actor(ctx.account()).record_events(parsed.events, brand=brand_id, source="trace record")
        ctx.emit({**report.to_json(), "event": parsed.events[0].raw}, lambda: out.print(f"recorded {biz_step} on {subject}"))


def _print_history(events: list[Any], title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("when", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("step / disposition", no_wrap=True)
    table.add_column("via")
    table.add_column("recorded by")
    table.add_column("ok", no_wrap=True)
    for h in events:
        mark = "[green]yes[/]" if h.verified else "[red]NO[/]" if h.stored else "[yellow]no copy[/]"
        who = f"{h.actor_kind or 'actor'} {h.actor[:6]}…{h.actor[-4:]}"
        kind = h.event_type.removesuffix("Event") + (f"\n{h.action}" if h.action else "") + ("\n(correction)" if h.correction else "")
        step = (h.biz_step or "-") + (f"\n{h.disposition}" if h.disposition else "")
        table.add_row(h.time.strftime("%m-%d %H:%M"), kind, step, ", ".join(h.relations), who, mark)
    out.print(table)
    if events:
        first = events[0].time
        out.print(
            f"[dim]{len(events)} event(s) from {first:%Y-%m-%d} (times in each event's own zone, {first:%z}); "
            f"{sum(1 for h in events if h.verified)} verified against the chain[/]"
        )


@trace.command("show")
@common
@store_option
@click.argument("item")
@click.option("--responsibility", is_flag=True, help="Show who had custody at each step and who recorded what.")
def trace_show(item: str, store: Path | None, responsibility: bool, **kwargs: Any) -> None:
    """The complete history of ITEM (Digital Link URI or item id), each event verified or not."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tracer = _traced(ctx, store).trace
        if responsibility:
            rows = tracer.responsibility(item)
            ctx.emit(rows, lambda: out.print_json(data=rows))
            return
        events = tracer.history(item, include_events=ctx.as_json)
        ctx.emit([h.to_json() for h in events], lambda: _print_history(events, f"history of {item}"))


@trace.command("export")
@common
@store_option
@click.argument("item")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the document here [default: stdout]."
)
def trace_export(item: str, store: Path | None, output: Path | None, **kwargs: Any) -> None:
    """Export ITEM's history as an EPCIS 2.0 document (valid against GS1's schema)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.epcis import dumps_document

        text = dumps_document(_traced(ctx, store).trace.export(item))
        if output is None:
            click.echo(text)
        else:
            output.write_text(text, encoding="utf-8")
            err.print(f"wrote {output}")
