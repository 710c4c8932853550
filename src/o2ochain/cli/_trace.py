"""``o2ochain trace …``: EPCIS 2.0 events anchored on chain, and an item's full history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from o2ochain.cli._common import (
    ADDRESS,
    ChoiceType,
    GlnType,
    MomentType,
    common,
    err,
    handled,
    make_context,
    out,
    renamed,
    scope_option,
    store_option,
    stored,
)
from o2ochain.cli._output import Stages, fields, local_time, plural, short, table

if TYPE_CHECKING:
    from o2ochain.trace._history import HistoryReader


# -- traceability ---------------------------------------------------------------------------
@click.group()
def trace() -> None:
    """Supply-chain history: EPCIS 2.0 events anchored on chain, and an item's full history.

    The full events are kept in a content-addressed local store (events/ in --store, default
    $O2O_STORE or ./.o2ochain); the chain holds their hashes, so a copy of a history from
    anywhere is checked against the chain.
    """


@trace.group("actor")
def trace_actor() -> None:
    """Authorise or revoke a brand's supply-chain actors (brand admin only)."""


@trace_actor.command("grant")
@common
@click.argument("address", type=ADDRESS)
@scope_option("brand", help="The brand's number.")
@click.option("--kind", type=ChoiceType(["farm", "plant", "logistics", "store", "other"]), required=True, help="What the actor is.")
@click.option("--gln", type=GlnType(sgln=True), default=None, help="The actor's GLN (13 digits) or SGLN, as its location.")
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
@click.argument("address", type=ADDRESS)
@scope_option("brand", help="The brand's number.")
def trace_actor_revoke(address: str, brand_id: int, **kwargs: Any) -> None:
    """Withdraw ADDRESS's right to record events for the brand."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        ctx.chain().trace_admin(ctx.account(), brand_id).revoke(address)
        ctx.emit({"brand": brand_id, "actor": address, "revoked": True}, lambda: out.print(f"{address} revoked for brand {brand_id}"))


class PlaceType(click.ParamType):
    """``GLN=name``: a place an actor records at, by its GLN, and the name a shopper reads."""

    name = "GLN=NAME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        gln, sep, place = str(value).partition("=")
        if not sep or not place.strip():
            self.fail(f"{value!r} is not GLN=NAME (e.g. 9506001002013='the jam kitchen')", param, ctx)
        return gln.strip(), place.strip()


@trace_actor.command("publish")
@common
@store_option
@click.argument("address", type=ADDRESS)
@scope_option("brand", help="The brand's number.")
@click.option("--name", required=True, help="The actor's business name, as shoppers will read it.")
@click.option("--city", default=None, help="The city it works in.")
@click.option("--place", "places", type=PlaceType(), multiple=True, help="A place it records at: GLN=NAME (repeatable; in --city).")
def trace_actor_profile(
    address: str, store: Path | None, brand_id: int, name: str, city: str | None, places: tuple[tuple[str, str], ...], **kwargs: Any
) -> None:
    """Publish who ADDRESS is (brand admin only): its name, city and places, so that the consumer
    page shows "Recorded by Hillside Farm (farm)", "At the jam kitchen, Jinzhou" instead of keys
    and codes. The profile goes to the content store (content/ in --store) and its hash on chain."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        profile: dict[str, Any] = {"name": name, "places": [{"gln": gln, "name": place, "city": city} for gln, place in places]}
        if city:
            profile["city"] = city
        chain = stored(ctx, store)
        digest = chain.trace_admin(ctx.account(), brand_id).set_profile(address, profile, chain.reviews.content)
        ctx.emit(
            {"brand": brand_id, "actor": address, "profileHash": "0x" + digest.hex()},
            lambda: out.print(f"profile of {address} published for brand {brand_id}: {name}"),
        )


@trace.group("repository")
def trace_repository() -> None:
    """Where an actor publishes its full EPCIS events."""


@trace_repository.command("set")
@common
@click.argument("uri")
@scope_option("brand", help="The brand's number.")
def trace_actor_repository(uri: str, brand_id: int, **kwargs: Any) -> None:
    """Announce URI as where this actor publishes its full EPCIS events (URI + content hash)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        ctx.chain().actor(ctx.account()).set_repository(brand_id, uri)
        ctx.emit({"brand": brand_id, "repository": uri}, lambda: out.print(f"events for brand {brand_id} are published under {uri}"))


trace_actor.add_command(renamed(trace_actor_repository, "trace actor repository", "trace repository set"))


@trace.command("import")
@common
@store_option
@click.argument("document", type=click.Path(dir_okay=False, path_type=Path))
@scope_option("brand", required=False, help="The brand of events that name no registered product (only containers, or only a place).")
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
        actor = stored(ctx, store).actor(ctx.account())  # before the bars: a keystore may ask for its password
        with Stages(as_json=ctx.as_json) as stages:
            report = actor.record_events(parsed.events, brand=brand_id, progress=stages.report, source=str(document))

        def human() -> None:
            out.print(
                f"{plural(report.events, 'event')}, {plural(report.entries, 'chain entry', 'chain entries')}: "
                f"{report.recorded:,} recorded in {plural(report.transactions, 'transaction')}, {report.already:,} already on chain; "
                f"{report.gas_used:,} gas"
            )

        ctx.emit(report.to_json(), human)


@trace.command("record")
@common
@store_option
@click.argument("subject")
@click.option("--biz-step", required=True, help="CBV business step, e.g. shipping, receiving, commissioning.")
@click.option("--disposition", default=None, help="CBV disposition, e.g. in_transit, active, recalled.")
@click.option("--action", type=ChoiceType(["ADD", "OBSERVE", "DELETE"]), default="OBSERVE", show_default=True, help="EPCIS action.")
@click.option("--read-point", default=None, help="Where it was seen: GLN, SGLN URN, GS1 Digital Link (/414/…), geo: URI or another URI.")
@click.option("--biz-location", default=None, help="Where it is now: GLN, SGLN URN, GS1 Digital Link (/414/…), geo: URI or another URI.")
@click.option("--time", "when", type=MomentType(zone_required=True), default=None, help="Event time, ISO 8601 with offset [default: now].")
@scope_option("brand", required=False, help="The brand, for a container (SSCC) subject.")
def trace_record(
    subject: str,
    store: Path | None,
    biz_step: str,
    disposition: str | None,
    action: str,
    read_point: str | None,
    biz_location: str | None,
    when: datetime | None,
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
        report = stored(ctx, store).actor(ctx.account()).record_events(parsed.events, brand=brand_id, source="trace record")
        ctx.emit({**report.to_json(), "event": parsed.events[0].raw}, lambda: out.print(f"recorded {biz_step} on {subject}"))


def _print_history(events: list[Any], item: str) -> None:
    if not events:
        out.print(f"no events recorded for {item}", highlight=False, soft_wrap=True)
        return
    grid = table("when", "event", "step / disposition", "via", "recorded by", "ok", title=f"history of {escape(item)}")
    for column in grid.columns:
        column.no_wrap = column.header != "via"
    for h in events:
        mark = "[green]yes[/]" if h.verified else "[red]NO[/]" if h.stored else "[yellow]no copy[/]"
        kind = h.event_type.removesuffix("Event") + (f"\n{h.action}" if h.action else "") + ("\n(correction)" if h.correction else "")
        step = (h.biz_step or "-") + (f"\n{h.disposition}" if h.disposition else "")
        grid.add_row(local_time(h.time), kind, step, ", ".join(h.relations), _who(h.actor_kind, h.actor), mark)
    out.print(grid)
    verified = sum(1 for h in events if h.verified)
    out.print(f"[dim]{plural(len(events), 'event')}, {verified:,} verified against the chain; times in each event's own zone[/]")
    _print_actors((h.actor_kind, h.actor) for h in events)


def _who(kind: str | None, actor: str) -> str:
    return f"{kind or 'actor'} {short(actor)}"


def _print_actors(actors: Iterable[tuple[str | None, str]]) -> None:
    """The full address of every actor a table shows by its ends."""
    seen = dict.fromkeys(actors)
    out.print("[dim]recorded by:[/]")
    fields([(_who(kind, actor), actor) for kind, actor in seen], indent=2)


def _print_responsibility(rows: list[dict[str, Any]], item: str) -> None:
    """Who had custody at each step (where the goods were) and who recorded it."""
    if not rows:
        out.print(f"no events recorded for {item}", highlight=False, soft_wrap=True)
        return
    grid = table("when", "step / disposition", "where", "recorded by", "verified", title=f"custody of {escape(item)}")
    for r in rows:
        step = (r["step"] or "-") + (f"\n{r['disposition']}" if r["disposition"] else "")
        where = str(r["location"]) if r["location"] and not str(r["location"]).startswith("0x") else short(str(r["location"] or "-"))
        mark = "[green]yes[/]" if r["verified"] else "[red]no[/]"
        grid.add_row(local_time(r["time"]), step, escape(where), _who(r["actorKind"], r["recordedBy"]), mark)
    out.print(grid)
    _print_actors((r["actorKind"], r["recordedBy"]) for r in rows)


@trace.command("show")
@common
@store_option
@click.argument("item")
@click.option("--responsibility", is_flag=True, help="Show who had custody at each step and who recorded what.")
def trace_show(item: str, store: Path | None, responsibility: bool, **kwargs: Any) -> None:
    """The complete history of ITEM (Digital Link URI or item id), each event verified or not."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tracer: HistoryReader
        if ctx.index:
            # Through an index the history is read without web3 (most of a second of imports on a
            # till): the same reader, checks and words over the standard library's HTTP.
            from o2ochain.trace._light import open_trace

            tracer = open_trace(ctx.rpc, ctx.deployment, ctx.index, store)
        else:
            tracer = stored(ctx, store).trace
        if responsibility:
            rows = tracer.responsibility(item)
            ctx.emit(rows, lambda: _print_responsibility(rows, item))
            return
        events = tracer.history(item, include_events=ctx.as_json)
        ctx.emit([h.to_json() for h in events], lambda: _print_history(events, item))


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

        text = dumps_document(stored(ctx, store).trace.export(item))
        if output is None:
            click.echo(text)
        else:
            output.write_text(text, encoding="utf-8")
            err.print(f"wrote {output}")
