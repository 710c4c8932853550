"""``o2ochain merchant …``, ``o2ochain review …`` and ``o2ochain coupon …``: the O2O loop.

Online attraction (coupons) → information (merchant pages, useful reviews) → conversion (a coupon
redeemed in the shop) → feedback (a verified buyer's review).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from o2ochain.cli._common import Context, common, handled, make_context, out, parse_duration, parse_percent
from o2ochain.errors import InputError
from o2ochain.loop import MAX_VOUCHERS, REPORT_REASONS, ReviewList, parse_review_id

content_option = click.option(
    "--content",
    "content_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="O2O_CONTENT",
    default=None,
    help="Where review texts and profiles are kept [default: ./.o2ochain/content] ($O2O_CONTENT).",
)


def _chain(ctx: Context, content_dir: Path | None) -> Any:
    chain = ctx.chain()
    if content_dir is not None:
        chain.use_content(content_dir)
    return chain


def _stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def _print_reviews(rows: ReviewList) -> None:
    if not rows:
        out.print("no reviews yet" if not rows.hidden else "no reviews that count")
    for r in rows:
        when = datetime.fromtimestamp(r.posted_at).strftime("%Y-%m-%d")
        fold = " [dim](folded)[/]" if r.folded else ""
        out.print(
            f"{_stars(r.rating)}  verified buyer {r.author[:10]}…  {when}  helpful {r.helpful}/{r.helpful + r.not_helpful}{fold}",
            highlight=False,
        )
        out.print(f"   {r.text if r.text is not None else '[text unavailable or altered]'}", highlight=False, soft_wrap=True)
        for reply in r.replies:
            out.print(f"   [bold]merchant reply:[/] {reply['text']}", highlight=False)
        out.print(f"   [dim]{r.to_json()['review']}  usefulness {r.score:.2f}[/]")
    if rows.note:
        out.print(f"[dim]{rows.note}[/]", highlight=False, soft_wrap=True)


# -- merchants ------------------------------------------------------------------------------
@click.group()
def merchant() -> None:
    """Merchant pages: a retailer's stores and online shops, with their profile and rating."""


@merchant.command("profile")
@common
@content_option
@click.argument("merchant_id", type=int)
@click.option("--name", required=True, help="The merchant's public name.")
@click.option("--address", "street", default="", help="The shop's street address (a business's, public).")
@click.option("--hours", default="", help="Opening hours, e.g. 'Mo-Su 09:00-21:00'.")
@click.option("--gln", default=None, help="The shop's GS1 GLN (13 digits).")
@click.option("--lat", "latitude", type=float, default=0.0, help="Latitude, degrees.")
@click.option("--lon", "longitude", type=float, default=0.0, help="Longitude, degrees.")
def merchant_profile(
    merchant_id: int,
    content_dir: Path | None,
    name: str,
    street: str,
    hours: str,
    gln: str | None,
    latitude: float,
    longitude: float,
    **kwargs: Any,
) -> None:
    """Publish MERCHANT_ID's profile (as its retailer's admin)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        profile = {"name": name, "address": street, "hours": hours}
        tx = (
            _chain(ctx, content_dir)
            .merchant_desk(ctx.account())
            .set_profile(merchant_id, profile, gln=gln, latitude=latitude, longitude=longitude)
        )
        ctx.emit({"merchant": merchant_id, "tx": tx}, lambda: out.print(f"profile of merchant {merchant_id} published ({tx})"))


@merchant.command("show")
@common
@content_option
@click.argument("merchant_id", type=int)
def merchant_show(merchant_id: int, content_dir: Path | None, **kwargs: Any) -> None:
    """MERCHANT_ID's page: profile, average rating with its count, reviews ranked by usefulness."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        chain = _chain(ctx, content_dir)
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
            out.print(f"[bold]{name}[/]  {(document or {}).get('address', '')}", highlight=False)
            if rating and rating.average is not None:
                out.print(f"{rating.average:.1f} / 5 from {rating.count} verified buyer(s)")
            _print_reviews(rows)

        ctx.emit(data, human)


# -- reviews --------------------------------------------------------------------------------
@click.group()
def review() -> None:
    """Verified-buyer reviews: only a buyer may review, once per purchase; nothing is deleted.

    Verified means bought from a seller the brand recognises: a brand's admin authorises the
    retailers that sell its products (`review authorise-seller`). A product review on a purchase
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
@click.option("--purchase", "purchase_id", default=None, help="The purchase (id from `guarantee purchases`).")
@click.option("--item", default=None, help="Or an item claimed at first sale (its Digital Link).")
@click.option(
    "--subject", type=click.Choice(["product", "merchant"]), default="product", show_default=True, help="Review the product or the shop."
)
@click.option("--rating", type=click.IntRange(1, 5), required=True, help="1 to 5 stars.")
@click.option("--text", required=True, help="The review.")
@click.option("--photo", "photos", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A photo (repeat).")
def review_write(
    content_dir: Path | None,
    purchase_id: str | None,
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
        chain = _chain(ctx, content_dir)
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
@click.option("--gtin", default=None, help="Reviews of this product.")
@click.option("--merchant", "merchant_id", type=int, default=None, help="Reviews of this merchant.")
def review_list(content_dir: Path | None, gtin: str | None, merchant_id: int | None, **kwargs: Any) -> None:
    """Reviews of a product or a merchant that count, most useful first.

    A product review counts while the product's brand authorises the retailer it was bought
    from; the others are left out, and the list says how many and why (JSON: `hidden`,
    `hiddenReason`).
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        rows = _chain(ctx, content_dir).reviews.reviews(gtin=gtin, merchant=merchant_id)
        ctx.emit(rows.to_json(), lambda: _print_reviews(rows))


@review.command("authorise-seller")
@common
@click.option("--brand", "brand_id", type=int, required=True, help="Brand id (you are its admin).")
@click.option("--retailer", "retailer_id", type=int, required=True, help="The retailer (its number in the price guarantee).")
@click.option("--withdraw", is_flag=True, help="Withdraw the authorisation instead.")
def review_authorise_seller(brand_id: int, retailer_id: int, withdraw: bool, **kwargs: Any) -> None:
    """Recognise a retailer as a seller of the brand's products (brand admin only).

    Anyone may register as a retailer and record sales, so a purchase alone does not make a
    verified buyer of a product: only the buyers of retailers the brand authorises may review
    its products on a purchase, and their product reviews count only while the authorisation
    stands. --withdraw hides its buyers' product reviews from every reader (they stay on
    chain). Reviews of the retailer's own stores (merchant reviews) need no authorisation.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        chain = ctx.chain()
        tx = chain.brand(ctx.account(), brand_id).authorise_seller(retailer_id, authorised=not withdraw)
        name = chain.reviews.brand_name(brand_id)

        def human() -> None:
            if withdraw:
                out.print(f"{name} no longer authorises retailer {retailer_id}: its buyers' product reviews are hidden ({tx})")
            else:
                out.print(f"{name} authorises retailer {retailer_id}: its buyers' reviews of the brand's products count ({tx})")

        ctx.emit({"brand": brand_id, "retailer": retailer_id, "authorised": not withdraw, "tx": tx}, human)


@review.command("edit")
@common
@content_option
@click.argument("review_id")
@click.option("--rating", type=click.IntRange(1, 5), required=True, help="1 to 5 stars.")
@click.option("--text", required=True, help="The new text (the old version stays on record).")
def review_edit(review_id: str, content_dir: Path | None, rating: int, text: str, **kwargs: Any) -> None:
    """Post a new version of your review."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = _chain(ctx, content_dir).reviewer(ctx.account()).edit(parse_review_id(review_id), rating, text)
        ctx.emit({"tx": tx}, lambda: out.print(f"new version posted ({tx})"))


@review.command("vote")
@common
@click.argument("review_id")
@click.option("--helpful/--not-helpful", default=True, help="Was it useful to you?")
def review_vote(review_id: str, helpful: bool, **kwargs: Any) -> None:
    """Say whether a review helped (one vote per address, as a buyer of what it reviews).

    The vote carries proof, found among --account's own, that it bought what the review is
    about: for a product review, an item of that product it claimed at first sale or its purchase
    of the product from a retailer the brand authorises; for a review of a shop, its purchase from
    the shop's retailer. Without one, nothing is sent and the refusal says what would serve.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().reviewer(ctx.account()).vote(parse_review_id(review_id), helpful)
        ctx.emit({"tx": tx}, lambda: out.print(f"vote recorded ({tx})"))


@review.command("report")
@common
@click.argument("review_id")
@click.option("--reason", type=click.Choice(list(REPORT_REASONS)), required=True, help="What is wrong with it.")
def review_report(review_id: str, reason: str, **kwargs: Any) -> None:
    """Report a review (one report per address, as a buyer of what it reviews; three fold it).

    Like a vote, a report carries proof that --account bought what the review is about, so
    neither fresh addresses nor the customers of another brand's sellers can fold a review.
    """
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = ctx.chain().reviewer(ctx.account()).report(parse_review_id(review_id), reason)
        ctx.emit({"tx": tx}, lambda: out.print(f"report recorded ({tx})"))


@review.command("reply")
@common
@content_option
@click.argument("review_id")
@click.option("--text", required=True, help="The merchant's reply.")
def review_reply(review_id: str, content_dir: Path | None, text: str, **kwargs: Any) -> None:
    """Reply to a review of your shop (as the merchant's key or its retailer's admin)."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        tx = _chain(ctx, content_dir).merchant_desk(ctx.account()).reply(parse_review_id(review_id), text)
        ctx.emit({"tx": tx}, lambda: out.print(f"reply posted ({tx})"))


# -- coupons --------------------------------------------------------------------------------
@click.group()
def coupon() -> None:
    """Coupons issued online and redeemed once in the shop: the loop's conversion, measured."""


@coupon.command("campaign")
@common
@click.option("--merchant", "merchant_id", type=int, required=True, help="The merchant (channel) whose vouchers these are.")
@click.option(
    "--vouchers",
    "issued",
    type=click.IntRange(1, MAX_VOUCHERS),
    required=True,
    help=f"How many vouchers it may issue (1 to {MAX_VOUCHERS:,}).",
)
@click.option("--for", "valid_for", default="30d", show_default=True, help="How long it runs from now.")
@click.option("--terms", default="", help="The campaign's terms (their hash goes on chain).")
@click.option("--uri", default="", help="Where the campaign's page is.")
def coupon_campaign(merchant_id: int, issued: int, valid_for: str, terms: str, uri: str, **kwargs: Any) -> None:
    """Open a campaign (as the merchant's retailer's admin). Prints its number."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        number = (
            ctx.chain()
            .coupon_issuer(ctx.account())
            .create_campaign(merchant_id, issued, valid_for=parse_duration(valid_for, "--for"), terms=terms, uri=uri)
        )
        ctx.emit({"campaign": number}, lambda: out.print(f"campaign {number} opened: {issued} vouchers"))


@coupon.command("issue")
@common
@click.argument("campaign_id", type=int)
@click.option("--first", type=click.IntRange(0), default=0, show_default=True, help="First voucher number.")
@click.option("--count", type=click.IntRange(1, 100_000), required=True, help="How many vouchers to sign.")
@click.option("--amount", default=None, help="Amount off, in the retailer's currency.")
@click.option("--percent", default=None, help="Or a percentage off, e.g. 10%.")
@click.option("--gtin", default=None, help="Only for this product [default: the whole store].")
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
    amount: str | None,
    percent: str | None,
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
        off = chain.guarantee.units(amount, currency, field="--amount") if amount else 0
        bps = parse_percent(percent, "--percent") if percent else 0
        vouchers = chain.coupon_issuer(ctx.account()).sign(
            campaign_id, range(first, first + count), amount=off, percent_bps=bps, gtin=gtin_number(gtin) if gtin else 0
        )
        write_vouchers(vouchers, output, qr_dir)
        ctx.emit(
            {"campaign": campaign_id, "vouchers": len(vouchers), "file": str(output), "qr": str(qr_dir) if qr_dir else None},
            lambda: out.print(f"{len(vouchers)} voucher(s) written to {output}" + (f", QR codes in {qr_dir}" if qr_dir else "")),
        )


@coupon.command("redeem")
@common
@click.argument("voucher")
@click.option("--receipt", default=None, help="The till receipt it was used on (only its hash goes on chain).")
def coupon_redeem(voucher: str, receipt: str | None, **kwargs: Any) -> None:
    """Redeem VOUCHER (the QR code's text, or a file holding it) at the till (as a shop's key)."""
    from o2ochain.loop import Voucher

    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        text = voucher
        path = Path(voucher)
        if not voucher.startswith("o2ochain:") and path.is_file():
            first = path.read_text(encoding="utf-8").strip().splitlines()[0]
            text = json.loads(first)["payload"] if first.startswith("{") else first
        parsed = Voucher.from_payload(text)
        tx = ctx.chain().shop(ctx.account()).redeem(parsed, receipt)
        ctx.emit({"tx": tx, **parsed.to_json()}, lambda: out.print(f"redeemed: {parsed.describe()} ({tx})"))


@coupon.command("stats")
@common
@click.argument("campaign_id", type=int)
def coupon_stats(campaign_id: int, **kwargs: Any) -> None:
    """A campaign's figures: issued, redeemed, conversion rate."""
    ctx = make_context(kwargs)
    with handled(ctx.as_json):
        figures = ctx.chain().coupons.figures(campaign_id)

        def human() -> None:
            table = Table("campaign", "merchant", "issued", "redeemed", "conversion")
            table.add_row(
                str(figures.campaign), str(figures.merchant), f"{figures.issued:,}", f"{figures.redeemed:,}", f"{figures.conversion:.1%}"
            )
            out.print(table)

        ctx.emit(figures.to_json(), human)
