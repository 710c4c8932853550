"""``o2ochain merchant …``, ``o2ochain review …`` and ``o2ochain coupon …``: the O2O loop.

Online attraction (coupons) → information (merchant pages, useful reviews) → conversion (a coupon
redeemed in the shop) → feedback (a verified buyer's review).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from o2ochain import inputs
from o2ochain._chain.util import hex0x
from o2ochain.cli._common import (
    AMOUNT,
    DURATION,
    GTIN,
    PERCENT,
    ChoiceType,
    Context,
    DegreesType,
    F,
    GlnType,
    HashType,
    InputType,
    NounGroup,
    NumberType,
    common,
    handled,
    keep_old,
    make_context,
    notice_renamed,
    out,
    renamed,
    renamed_option,
    scope_option,
    store_option,
    stored,
    thing_argument,
)
from o2ochain.cli._guarantee import PURCHASE
from o2ochain.cli._identity import ITEM
from o2ochain.cli._output import Stages, day, plural, short, span, table, when
from o2ochain.errors import InputError
from o2ochain.loop import MAX_VOUCHERS, REPORT_REASONS, ReviewList, Voucher

REVIEW = HashType("review id")
RATING = NumberType(1, 5, "rating")


def content_option(f: F) -> F:
    """``--store`` (review texts and profiles in its content/), and the old ``--content DIR``."""
    return store_option(renamed_option("--content", "--store", "content_dir", type=click.Path(file_okay=False, path_type=Path))(f))


def _chain(ctx: Context, store: Path | None, content_dir: Path | None) -> Any:
    return stored(ctx, store, content_dir)


def _stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def _print_reviews(rows: ReviewList, subject: str) -> None:
    """Reviews, most useful first; ``subject`` names what they are of (``this product``)."""
    if not rows:
        out.print(f"no reviews of {subject} yet" if not rows.hidden else f"no reviews of {subject} that count")
    for r in rows:
        fold = " [dim](folded)[/]" if r.folded else ""
        out.print(
            f"{_stars(r.rating)}  verified buyer {short(r.author)}  {day(r.posted_at)}  helpful {r.helpful}/{r.helpful + r.not_helpful}{fold}",
            highlight=False,
        )
        text = escape(r.text) if r.text is not None else "[italic]text unavailable or altered[/]"
        out.print(f"   {text}", highlight=False, soft_wrap=True)
        for reply in r.replies:
            said = escape(str(reply["text"])) if reply.get("text") is not None else "[italic]text unavailable or altered[/]"
            out.print(f"   [bold]merchant reply:[/] {said}", highlight=False, soft_wrap=True)
        out.print(f"   [dim]review {hex0x(r.id)}  usefulness {r.score:.2f}[/]", highlight=False, soft_wrap=True)
    if rows.note:
        out.print(f"[dim]{escape(rows.note)}[/]", highlight=False, soft_wrap=True)


# -- merchants ------------------------------------------------------------------------------
@click.group()
def merchant() -> None:
    """Merchant pages: a retailer's stores and online shops, with their profile and rating."""


@merchant.command("publish")
@common
@content_option
@thing_argument("merchant")
@click.option("--name", required=True, help="The merchant's public name.")
@click.option("--street", "street", default="", help="The shop's street address (a business's, public).")
@renamed_option("--address", "--street", "street")
@click.option("--hours", default="", help="Opening hours, e.g. 'Mo-Su 09:00-21:00'.")
@click.option("--gln", type=GlnType(), default=None, help="The shop's GS1 GLN (13 digits).")
@click.option("--lat", "latitude", type=DegreesType(90), default=0.0, help="Latitude, degrees.")
@click.option("--lon", "longitude", type=DegreesType(180), default=0.0, help="Longitude, degrees.")
def merchant_profile(
    merchant_id: int,
    store: Path | None,
    content_dir: Path | None,
    name: str,
    street: str,
    hours: str,
    gln: str | None,
    latitude: float,
    longitude: float,
    **kwargs: Any,
) -> None:
    """Publish MERCHANT's profile (as its retailer's admin)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        profile = {"name": name, "address": street, "hours": hours}
        tx = (
            _chain(ctx, store, content_dir)
            .merchant_desk(ctx.account())
            .set_profile(merchant_id, profile, gln=gln, latitude=latitude, longitude=longitude)
        )
        ctx.emit({"merchant": merchant_id, "tx": tx}, lambda: out.print(f"profile of merchant {merchant_id} published ({tx})"))


@merchant.command("show")
@common
@content_option
@thing_argument("merchant")
def merchant_show(merchant_id: int, store: Path | None, content_dir: Path | None, **kwargs: Any) -> None:
    """MERCHANT's page: profile, average rating with its count, reviews ranked by usefulness."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        chain = _chain(ctx, store, content_dir)
        board = chain.reviews
        profile = board.merchant_profile(merchant_id)
        document = board.content.get(bytes.fromhex(profile["profileHash"][2:])) if int(profile["profileHash"], 16) else None
        rows = board.reviews(merchant=merchant_id)
        rating = chain.reviews.merchant_rating(merchant_id) if rows else None
        data = {
            "profile": profile | {"details": document},
            "rating": rating.to_json() if rating else {"merchant": merchant_id, "average": None, "count": 0},
            "reviews": [r.to_json() for r in rows],
            "hidden": rows.hidden,
            "hiddenReason": rows.reason,
        }

        def human() -> None:
            name = (document or {}).get("name", f"merchant {merchant_id}")
            street = str((document or {}).get("address") or ("" if document else "(no profile published)"))
            out.print(f"[bold]{escape(str(name))}[/]" + (f"  {escape(street)}" if street else ""), highlight=False, soft_wrap=True)
            if rating and rating.average is not None:
                out.print(f"{rating.average:.1f} / 5 from {rating.count} verified buyer(s)")
            _print_reviews(rows, "this merchant")

        ctx.emit(data, human)


# -- reviews --------------------------------------------------------------------------------
@click.group()
def review() -> None:
    """Verified-buyer reviews: only a buyer may review, once per purchase; nothing is deleted.

    Verified means bought from a seller the brand recognises: a brand's admin authorises the
    retailers that sell its products (`review retailer grant`). A product review on a purchase
    is accepted only from an authorised retailer's buyer and counts only while the brand still
    authorises that retailer; lists show only reviews that count and say how many were left
    out. Votes and reports come only from buyers of what the review is about, found among the
    account's own claims and purchases: for a product review, an item of the product claimed at
    first sale or a purchase of it from a retailer its brand authorised; for a review of a shop,
    a purchase from that shop's retailer.

    Reviews are ranked by usefulness: readers' votes (Wilson lower bound), the content's
    substance, recency, and whether the text matches the hash on chain. Reviews that readers
    found useless or reported fold, and stay readable.
    """


@review.command("write")
@common
@content_option
@click.option("--purchase", "purchase_id", type=PURCHASE, default=None, help="The purchase (id from `guarantee purchase list`).")
@click.option("--item", type=ITEM, default=None, help="Or an item claimed at first sale (its Digital Link).")
@click.option(
    "--subject", type=ChoiceType(["product", "merchant"]), default="product", show_default=True, help="Review the product or the shop."
)
@click.option("--rating", type=RATING, required=True, help="1 to 5 stars.")
@click.option("--text", required=True, help="The review.")
@click.option("--photo", "photos", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A photo (repeat).")
def review_write(
    store: Path | None,
    content_dir: Path | None,
    purchase_id: bytes | None,
    item: str | None,
    subject: str,
    rating: int,
    text: str,
    photos: tuple[Path, ...],
    **kwargs: Any,
) -> None:
    """Review something you bought (as the buyer: --account is the buyer's key)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        if (purchase_id is None) == (item is None):
            raise InputError("name what you bought: --purchase ID or --item URI (one of the two)", field="--purchase")
        chain = _chain(ctx, store, content_dir)
        writer = chain.reviewer(ctx.account())
        if purchase_id is not None:
            rid = writer.review_purchase(chain.guarantee.purchase(purchase_id), rating, text, subject=subject, photos=photos)
        else:
            from o2ochain.identity import resolve_ref

            if subject != "product":
                raise InputError("an item claimed at first sale is reviewed as a product", field="--subject")
            rid = writer.review_item(resolve_ref(item or "")[0], rating, text, photos=photos)
        ctx.emit({"review": "0x" + rid.hex()}, lambda: out.print(f"review 0x{rid.hex()} posted"))


@review.command("list")
@common
@content_option
@click.option("--gtin", type=GTIN, default=None, help="Reviews of this product.")
@scope_option("merchant", required=False, help="Reviews of this merchant.")
def review_list(store: Path | None, content_dir: Path | None, gtin: str | None, merchant_id: int | None, **kwargs: Any) -> None:
    """Reviews of a product or a merchant that count, most useful first.

    A product review counts while the product's brand authorises the retailer it was bought
    from; the others are left out, and the list says how many and why (JSON: `hidden`,
    `hiddenReason`).
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        rows = _chain(ctx, store, content_dir).reviews.reviews(gtin=gtin, merchant=merchant_id)
        ctx.emit(rows.to_json(), lambda: _print_reviews(rows, "this product" if gtin else "this merchant"))


@review.group("retailer")
def review_retailer() -> None:
    """Retailers whose buyers may review a brand's products (brand admin only).

    Anyone may register as a retailer and record sales, so a purchase alone does not make a
    verified buyer of a product: only the buyers of retailers the brand grants may review its
    products on a purchase, and their product reviews count only while the grant stands. A
    revoke hides its buyers' product reviews from every reader (they stay on chain). Reviews of
    the retailer's own stores (merchant reviews) need no grant.
    """


def _authorise(retailer_id: int, brand_id: int, authorised: bool, kwargs: dict[str, Any]) -> None:
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        chain = ctx.chain()
        tx = chain.brand(ctx.account(), brand_id).authorise_seller(retailer_id, authorised=authorised)
        name = chain.reviews.brand_name(brand_id)

        def human() -> None:
            if authorised:
                out.print(f"{name} authorises retailer {retailer_id}: its buyers' reviews of the brand's products count ({tx})")
            else:
                out.print(f"{name} no longer authorises retailer {retailer_id}: its buyers' product reviews are hidden ({tx})")

        ctx.emit({"brand": brand_id, "retailer": retailer_id, "authorised": authorised, "tx": tx}, human)


def _retailer_command(verb: str, doc: str, authorised: bool) -> None:
    @review_retailer.command(verb, help=doc)
    @common
    @thing_argument("retailer")
    @scope_option("brand", help="The brand's number (you are its admin).")
    def command(retailer_id: int, brand_id: int, **kwargs: Any) -> None:
        _authorise(retailer_id, brand_id, authorised, kwargs)


_retailer_command("grant", "Let the buyers of RETAILER review the brand's products: recognise it as their seller.", True)
_retailer_command("revoke", "Stop counting the product reviews of RETAILER's buyers (they stay on chain, hidden).", False)


@review.command("authorise-seller", hidden=True)
@common
@scope_option("brand")
@scope_option("retailer")
@click.option("--withdraw", is_flag=True)
def review_authorise_seller(brand_id: int, retailer_id: int, withdraw: bool, **kwargs: Any) -> None:
    """Old spelling of `review retailer grant|revoke RETAILER --brand N`."""
    verb = "revoke" if withdraw else "grant"
    notice_renamed("o2ochain review authorise-seller", f"o2ochain review retailer {verb} RETAILER --brand N")
    _authorise(retailer_id, brand_id, not withdraw, kwargs)


@review.command("edit")
@common
@content_option
@click.argument("review_id", metavar="REVIEW", type=REVIEW)
@click.option("--rating", type=RATING, required=True, help="1 to 5 stars.")
@click.option("--text", required=True, help="The new text (the old version stays on record).")
def review_edit(review_id: bytes, store: Path | None, content_dir: Path | None, rating: int, text: str, **kwargs: Any) -> None:
    """Post a new version of your review."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = _chain(ctx, store, content_dir).reviewer(ctx.account()).edit(review_id, rating, text)
        ctx.emit({"tx": tx}, lambda: out.print(f"new version posted ({tx})"))


@review.command("vote")
@common
@click.argument("review_id", metavar="REVIEW", type=REVIEW)
@click.option("--helpful/--not-helpful", default=True, help="Was it useful to you?")
def review_vote(review_id: bytes, helpful: bool, **kwargs: Any) -> None:
    """Say whether a review helped (one vote per address, as a buyer of what it reviews).

    The vote carries proof, found among --account's own, that it bought what the review is
    about: for a product review, an item of that product it claimed at first sale or its purchase
    of the product from a retailer the brand authorises; for a review of a shop, its purchase from
    the shop's retailer. Without one, nothing is sent and the refusal says what would serve.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().reviewer(ctx.account()).vote(review_id, helpful)
        ctx.emit({"tx": tx}, lambda: out.print(f"vote recorded ({tx})"))


@review.command("report")
@common
@click.argument("review_id", metavar="REVIEW", type=REVIEW)
@click.option("--reason", type=ChoiceType(list(REPORT_REASONS)), required=True, help="What is wrong with it.")
def review_report(review_id: bytes, reason: str, **kwargs: Any) -> None:
    """Report a review (one report per address, as a buyer of what it reviews; three fold it).

    Like a vote, a report carries proof that --account bought what the review is about, so
    neither fresh addresses nor the customers of another brand's sellers can fold a review.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().reviewer(ctx.account()).report(review_id, reason)
        ctx.emit({"tx": tx}, lambda: out.print(f"report recorded ({tx})"))


@review.command("reply")
@common
@content_option
@click.argument("review_id", metavar="REVIEW", type=REVIEW)
@click.option("--text", required=True, help="The merchant's reply.")
def review_reply(review_id: bytes, store: Path | None, content_dir: Path | None, text: str, **kwargs: Any) -> None:
    """Reply to a review of your shop (as the merchant's key or its retailer's admin)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = _chain(ctx, store, content_dir).merchant_desk(ctx.account()).reply(review_id, text)
        ctx.emit({"tx": tx}, lambda: out.print(f"reply posted ({tx})"))


# -- coupons --------------------------------------------------------------------------------
@click.group()
def coupon() -> None:
    """Coupons issued online and redeemed once in the shop: the loop's conversion, measured."""


@coupon.group("campaign", cls=NounGroup)
def coupon_campaign_group() -> None:
    """Coupon campaigns: open one for a merchant, see its figures."""


@coupon_campaign_group.command("open")
@common
@scope_option("merchant", help="The merchant (channel) whose vouchers these are.")
@click.option(
    "--vouchers",
    "issued",
    type=NumberType(1, MAX_VOUCHERS, "number of vouchers"),
    required=True,
    help=f"How many vouchers it may issue (1 to {MAX_VOUCHERS:,}).",
)
@click.option("--for", "valid_for", type=DURATION, default="30d", show_default=True, help="How long it runs from now.")
@click.option("--terms", default="", help="The campaign's terms (their hash goes on chain).")
@click.option("--uri", default="", help="Where the campaign's page is.")
def coupon_campaign(merchant_id: int, issued: int, valid_for: int, terms: str, uri: str, **kwargs: Any) -> None:
    """Open a campaign (as the merchant's retailer's admin). Prints its number."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        seconds = valid_for
        number = ctx.chain().coupon_issuer(ctx.account()).create_campaign(merchant_id, issued, valid_for=seconds, terms=terms, uri=uri)
        ctx.emit({"campaign": number}, lambda: out.print(f"campaign {number} opened: {issued:,} vouchers, for {span(seconds)}"))


@coupon.command("issue")
@common
@thing_argument("campaign")
@click.option("--first", type=NumberType(0, what="voucher number"), default=0, show_default=True, help="First voucher number.")
@click.option("--count", type=NumberType(1, 100_000, "number of vouchers"), required=True, help="How many vouchers to sign.")
@click.option("--amount", type=AMOUNT, default=None, help="Amount off, in the retailer's currency.")
@click.option("--percent", type=PERCENT, default=None, help="Or a percentage off, e.g. 10%.")
@click.option("--gtin", type=GTIN, default=None, help="Only for this product [default: the whole store].")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Write the vouchers here (JSON Lines)."
)
@click.option(
    "--qr", "qr_dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Also write a QR image per voucher here."
)
def coupon_issue(
    campaign_id: int,
    first: int,
    count: int,
    amount: inputs.Amount | None,
    percent: int | None,
    gtin: str | None,
    output: Path,
    qr_dir: Path | None,
    **kwargs: Any,
) -> None:
    """Sign vouchers of a campaign (as the merchant's key) to hand out online."""
    from o2ochain.guarantee import gtin_number
    from o2ochain.loop import write_vouchers

    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        chain = ctx.chain()
        figures = chain.coupons.figures(campaign_id)
        currency = chain.guarantee.currency(figures.retailer)
        off = chain.guarantee.units(amount, currency) if amount is not None else 0
        bps = percent or 0
        issuer = chain.coupon_issuer(ctx.account())  # before the bars: a keystore may ask for its password
        with Stages(as_json=ctx.as_json) as stages:
            vouchers = issuer.sign(
                campaign_id,
                range(first, first + count),
                amount=off,
                percent_bps=bps,
                gtin=gtin_number(gtin) if gtin else 0,
                progress=stages.stage("signing vouchers", count),
            )
            write_vouchers(vouchers, output, qr_dir, progress=stages.stage("writing QR codes", len(vouchers)) if qr_dir else None)
        ctx.emit(
            {"campaign": campaign_id, "vouchers": len(vouchers), "file": str(output), "qr": str(qr_dir) if qr_dir else None},
            lambda: out.print(f"{plural(len(vouchers), 'voucher')} written to {output}" + (f", QR codes in {qr_dir}" if qr_dir else "")),
        )


class VoucherType(InputType):
    """A voucher: the text of its QR code (``o2ochain:voucher:…``), or a file of vouchers (as
    ``coupon issue`` writes them, or one QR text a line): a list of one or more."""

    name = "voucher"

    def parse(self, text: str, where: inputs.Where) -> list[Voucher]:
        from o2ochain.loop import read_vouchers

        try:
            if not text.startswith("o2ochain:") and Path(text).is_file():
                return read_vouchers(Path(text))
            return [Voucher.from_payload(text)]
        except InputError as exc:
            raise where.error(str(exc) if exc.file else exc.message, text) from None


@coupon.command("redeem")
@common
@click.argument("voucher", type=VoucherType())
@click.option("--receipt", default=None, help="The till receipt it was used on (only its hash goes on chain).")
def coupon_redeem(voucher: list[Voucher], receipt: str | None, **kwargs: Any) -> None:
    """Redeem VOUCHER at the till (as a shop's key): the QR code's text, or a file of vouchers,
    whose first voucher not yet redeemed is used (a stack of vouchers at the till)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        chain = ctx.chain()
        parsed = voucher[0]
        if len(voucher) > 1:
            unused = [v for v in voucher if not chain.coupons.is_redeemed(v)]
            if not unused:
                raise InputError(f"every voucher of the file ({len(voucher)}) has been redeemed already", field="voucher")
            parsed = unused[0]
        tx = chain.shop(ctx.account()).redeem(parsed, receipt)

        def human() -> None:
            currency = chain.guarantee.currency(chain.coupons.figures(parsed.campaign).retailer)
            out.print(f"redeemed: {parsed.describe(lambda units: chain.guarantee.money(units, currency))} ({tx})", soft_wrap=True)

        ctx.emit({"tx": tx, **parsed.to_json()}, human)


@coupon_campaign_group.command("show")
@common
@thing_argument("campaign")
@click.option(
    "--signed",
    "signed_files",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    multiple=True,
    help="A file of the vouchers signed for it (what `coupon issue -o` wrote; repeatable): the conversion counts them.",
)
def coupon_stats(campaign_id: int, signed_files: tuple[Path, ...], **kwargs: Any) -> None:
    """A campaign's figures: its capacity, the vouchers signed and redeemed, the conversion rate.

    The chain holds the capacity (the most vouchers the campaign may issue) and the redemptions;
    vouchers are signed off chain, so how many were handed out comes from the issuer's files
    (--signed). Without them the conversion is not known, and is not shown.
    """
    from o2ochain.loop import read_vouchers

    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        signed = [v for path in signed_files for v in read_vouchers(path)] if signed_files else None
        figures = ctx.chain().coupons.figures(campaign_id, signed=signed)

        def human() -> None:
            grid = table("campaign", "merchant", "runs", "capacity", "signed", "redeemed", "conversion")
            conversion = figures.conversion
            grid.add_row(
                str(figures.campaign),
                str(figures.merchant),
                f"{when(figures.valid_from)} to {when(figures.valid_until)}",
                f"{figures.capacity:,}",
                "not known" if figures.signed is None else f"{figures.signed:,}",
                f"{figures.redeemed:,}",
                "not known" if conversion is None else f"{conversion:.1%} of signed",
            )
            out.print(grid)
            if figures.signed is None:
                out.print("[dim]the conversion counts the vouchers signed: pass the files `coupon issue` wrote with --signed[/]")

        ctx.emit(figures.to_json(), human)


# The loop's commands as they were spelled before every command became a verb.
merchant.add_command(renamed(merchant_profile, "merchant profile", "merchant publish"))
coupon.add_command(renamed(coupon_stats, "coupon stats", "coupon campaign show"))
keep_old(coupon_campaign_group, coupon_campaign, "coupon campaign", "coupon campaign open")
