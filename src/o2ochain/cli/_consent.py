"""``o2ochain consent …``: consumer data consent, its uses, and sealed personal data."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from o2ochain.cli._common import (
    ADDRESS,
    DurationType,
    NounGroup,
    PublicKeyType,
    ReadType,
    common,
    err,
    handled,
    keep_old,
    make_context,
    out,
    renamed,
    renamed_option,
)
from o2ochain.cli._output import fields, when
from o2ochain.consent import category_name, purpose_name
from o2ochain.errors import InputError
from o2ochain.gs1 import keccak256

PURPOSE = ReadType("purpose", purpose_name)
CATEGORY = ReadType("category", category_name)


# -- consent --------------------------------------------------------------------------------
@click.group()
def consent() -> None:
    """Consumer data consent: grants and revocations, and every use of the data.

    A consumer grants a data user (a retailer) consent for purposes and categories of data,
    directly or by a signature the data user relays (the consumer pays nothing), and revokes it
    the same two ways. The data user records each use; a use no live consent covers is refused
    on chain. Personal data never goes on chain: it is sealed (ECIES) to the data user's key.
    """


def _write_or_print(data: dict[str, Any], output: Path | None) -> None:
    text = json.dumps(data, indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {output}")


@consent.command("grant")
@common
@click.argument("data_user", type=ADDRESS)
@click.option(
    "--purpose",
    "purposes",
    type=PURPOSE,
    multiple=True,
    required=True,
    help="Purpose (repeat): order_fulfilment, delivery, personalised_recommendations, marketing, analytics, third_party_sharing.",
)
@click.option(
    "--category",
    "categories",
    type=CATEGORY,
    multiple=True,
    required=True,
    help="Data category (repeat): contact, postal_address, purchase_history, location, payment, demographics, preferences, device_identifiers.",
)
@click.option(
    "--for",
    "valid_for",
    type=DurationType(minimum=86_400, maximum=3650 * 86_400),
    default="365d",
    show_default=True,
    help="How long the consent lasts (1d to 3650d).",
)
@renamed_option("--valid-days", "--for", "valid_for", type=click.IntRange(1, 3650), convert=lambda days: days * 86_400)
@click.option(
    "--notice",
    "notice_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The privacy notice shown (its hash is recorded).",
)
@click.option("--language", default="en", show_default=True, help="Language of the notice (BCP 47, e.g. zh-CN).")
@click.option(
    "--seal",
    "personal_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON of personal data to seal to the data user's key (--public-key); its commitment goes in the grant.",
)
@click.option(
    "--public-key",
    "public_key",
    type=PublicKeyType(),
    default=None,
    help="The data user's public key (from `o2ochain consent key show`), for --seal.",
)
@renamed_option("--to", "--public-key", "public_key", type=PublicKeyType())
@click.option(
    "--sealed-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the sealed personal data [default: sealed.json].",
)
@click.option("--sign", "sign_only", is_flag=True, help="Only sign: write the grant for the data user to relay; no gas is spent.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --sign: write the signed grant here [default: stdout].",
)
def consent_grant(
    data_user: str,
    purposes: tuple[str, ...],
    categories: tuple[str, ...],
    valid_for: int,
    notice_file: Path | None,
    language: str,
    personal_file: Path | None,
    public_key: bytes | None,
    sealed_out: Path | None,
    sign_only: bool,
    output: Path | None,
    **kwargs: Any,
) -> None:
    """Grant DATA_USER consent (as the consumer: --account is the consumer's key)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.consent import seal

        data_hash = b"\x00" * 32
        if personal_file is not None:
            if not public_key:
                raise InputError(
                    "--seal needs the data user's public key: --public-key 0x… (see `o2ochain consent key show`)", field="--public-key"
                )
            try:
                personal = json.loads(personal_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"not a JSON object of personal data: {exc}", file=str(personal_file)) from exc
            sealed = seal(personal, public_key)
            target = sealed_out or Path("sealed.json")
            target.write_text(sealed.dumps(), encoding="utf-8")
            err.print(
                f"personal data sealed to the data user's key: {target} (give it to the data user; only its commitment goes on chain)"
            )
            data_hash = sealed.commitment
        notice = notice_file.read_text(encoding="utf-8") if notice_file else ""
        consumer = ctx.chain().consumer_consent(ctx.account())
        terms: dict[str, Any] = {"valid_for": valid_for, "notice": notice, "language": language, "data_hash": data_hash}
        if sign_only:
            signed = consumer.sign_grant(data_user, purposes, categories, **terms)
            _write_or_print(signed.to_json(), output)
            return
        tx = consumer.grant(data_user, purposes, categories, **terms)
        ctx.emit(
            {"tx": tx, "dataUser": data_user, "purposes": list(purposes), "categories": list(categories)},
            lambda: out.print(f"consent granted to {data_user} (transaction {tx})"),
        )


@consent.command("revoke")
@common
@click.argument("data_user", type=ADDRESS)
@click.option("--sign", "sign_only", is_flag=True, help="Only sign the revocation for anyone to relay; no gas is spent.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="With --sign: write it here [default: stdout]."
)
def consent_revoke(data_user: str, sign_only: bool, output: Path | None, **kwargs: Any) -> None:
    """Revoke the consent given to DATA_USER (as the consumer)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        consumer = ctx.chain().consumer_consent(ctx.account())
        if sign_only:
            _write_or_print(consumer.sign_revoke(data_user).to_json(), output)
            return
        tx = consumer.revoke(data_user)
        ctx.emit(
            {"tx": tx, "dataUser": data_user, "revoked": True}, lambda: out.print(f"consent to {data_user} revoked (transaction {tx})")
        )


@consent.command("relay")
@common
@click.argument("signed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def consent_relay(signed_file: Path, **kwargs: Any) -> None:
    """Send a consumer's signed grant or revocation (SIGNED_FILE), paying its gas."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.consent import SignedGrant, SignedRevoke

        try:
            data = json.loads(signed_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"not a signed consent file: {exc}", file=str(signed_file)) from exc
        user = ctx.chain().data_user(ctx.account())
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "o2ochain.consent.grant":
            tx = user.relay_grant(SignedGrant.from_json(data))
        elif kind == "o2ochain.consent.revoke":
            tx = user.relay_revoke(SignedRevoke.from_json(data))
        else:
            raise InputError(
                "expected a signed grant or revocation made by `o2ochain consent grant|revoke --sign`", file=str(signed_file), field="type"
            )
        ctx.emit({"tx": tx, "type": kind}, lambda: out.print(f"relayed ({tx})"))


@consent.command("use")
@common
@click.argument("consumer", type=ADDRESS)
@click.option("--purpose", type=PURPOSE, required=True, help="The purpose of this use.")
@click.option("--category", type=CATEGORY, required=True, help="The category of data used.")
@click.option("--request", required=True, help="The request or job this use serves (only its hash goes on chain).")
def consent_use(consumer: str, purpose: str, category: str, request: str, **kwargs: Any) -> None:
    """Record one use of CONSUMER's data (as the data user); refused without a live consent."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().data_user(ctx.account()).record_use(consumer, purpose, category, request)
        ctx.emit({"tx": tx, "consumer": consumer, "purpose": purpose, "category": category}, lambda: out.print(f"use recorded ({tx})"))


def _consent_rows(what: str) -> Callable[..., None]:
    """``consent list`` and ``consent audit``: the same filters over grants or uses."""

    def command(consumer: str | None, data_user: str | None, **kwargs: Any) -> None:
        ctx = make_context(kwargs)
        with handled(ctx.as_json):
            who = consumer or (ctx.account().address if ctx.account_spec else None)
            reader = ctx.chain().consent
            rows = (
                reader.grants(consumer=who, data_user=data_user)
                if what == "grants"
                else [u.to_json() for u in reader.uses(consumer=who, data_user=data_user)]
            )
            ctx.emit(rows, lambda: (_print_grants if what == "grants" else _print_uses)(rows))

    return command


def _zero(value: str | None) -> bool:
    """No hash recorded: zero, or (for a notice) the hash of no text."""
    return not value or int(value, 16) == 0 or value == _NO_TEXT


_NO_TEXT = "0x" + keccak256(b"").hex()


def _print_grants(rows: list[dict[str, Any]]) -> None:
    """Each grant or revocation: what it covers, until when, by whom, in which transaction."""
    if not rows:
        out.print("no consents")
        return
    for r in rows:
        out.print(f"[bold]{r['event']}[/]: consent {r['nonce']} (block {r['block']:,})", highlight=False)
        granted = r["event"] == "granted"
        fields(
            [
                ("consumer", r["consumer"]),
                ("data user", r["dataUser"]),
                ("purposes", ", ".join(r["purposes"]) if granted else None),
                ("categories", ", ".join(r["categories"]) if granted else None),
                ("expires", when(r["expiry"], never="never") if granted else None),
                ("notice", None if not granted or _zero(r["notice"]) else f"{r['notice']} ({r['language']})"),
                ("sealed data", None if not granted or _zero(r["dataHash"]) else r["dataHash"]),
                ("by", r["by"] if r["by"] and r["by"] != r["consumer"] else None),
                ("transaction", r["txHash"]),
            ],
            indent=2,
        )


def _print_uses(rows: list[dict[str, Any]]) -> None:
    """Each recorded use: what was used for what, under which consent, for which request."""
    if not rows:
        out.print("no recorded uses of data")
        return
    for r in rows:
        out.print(
            f"[bold]{r['category']}[/] used for [bold]{r['purpose']}[/] under consent {r['consentNonce']} (block {r['block']:,})",
            highlight=False,
        )
        fields(
            [("consumer", r["consumer"]), ("data user", r["dataUser"]), ("request", r["requestHash"]), ("transaction", r["txHash"])],
            indent=2,
        )


for _name, _what, _doc in (
    ("list", "grants", "Every grant and revocation (oldest first)."),
    ("audit", "uses", "Every recorded use of data (oldest first): what was used, for what, under which consent."),
):
    _listing = consent.command(_name, help=_doc)(
        common(
            click.option(
                "--consumer", type=ADDRESS, default=None, help=f"Only this consumer's {_what} [default: the --account's, if given]."
            )(click.option("--data-user", type=ADDRESS, default=None, help=f"Only {_what} of this data user.")(_consent_rows(_what)))
        )
    )
consent.add_command(renamed(_listing, "consent uses", "consent audit"))


@consent.group("key", cls=NounGroup)
def consent_key_group() -> None:
    """The data user's public key, which consumers seal their personal data to."""


@consent_key_group.command("show")
@common
def consent_key(**kwargs: Any) -> None:
    """Print the data user's public key, which consumers seal their personal data to."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        user = ctx.chain().data_user(ctx.account())
        key = "0x" + user.public_key.hex()
        ctx.emit({"address": user.address, "publicKey": key}, lambda: click.echo(key))


keep_old(consent_key_group, consent_key, "consent key", "consent key show")


@consent.command("open")
@common
@click.argument("sealed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def consent_open(sealed_file: Path, **kwargs: Any) -> None:
    """Decrypt personal data sealed to the data user's key, and check its commitment."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        from o2ochain.consent import Sealed

        record = ctx.chain().data_user(ctx.account()).open(Sealed.from_json(sealed_file.read_text(encoding="utf-8")))
        ctx.emit(record, lambda: fields(list(_flat(record))) if record else out.print("no personal data in it"))


def _flat(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """A JSON value as ``(dotted key, text)`` pairs: ``address.city``, ``phones.0``."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from _flat(v, f"{key}.{n}" if key else str(n))
    else:
        yield key, "" if value is None else str(value)
