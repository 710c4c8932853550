"""Verified-buyer reviews and merchant pages: the O2O loop's online feedback.

Only a buyer can review: the proof is a purchase recorded by the retailer's channel (see
:mod:`o2ochain.guarantee`) or a first-sale claim of the item (see :mod:`o2ochain.identity`), and
each proof gives one review (per subject: the product, or the merchant it was bought from).
Texts and photos stay off chain in a content-addressed store (:class:`ContentStore`); the chain
holds their keccak256 and where they are. An edit is a new version; nothing is deleted; reviews
that readers found useless fold.

Verified means bought from a seller the brand recognises. Anyone may register as a retailer and
record "sales" to addresses of its own, so a brand's admin authorises the retailers that sell its
products (:meth:`o2ochain.identity.BrandAdmin.authorise_seller`); a review of a product on a
purchase is accepted only from an authorised retailer's buyer, and counts only while the brand
still authorises that retailer. The reader shows only reviews that count and says how many it
left out and why (:class:`ReviewList`). Votes and reports need a proof of buying what the review
is about (a :class:`Ticket`): for a product review, an item of that product claimed at first sale
or a purchase of it from a seller its brand authorised; for a merchant review, a purchase from
the merchant's retailer. :class:`Reviewer` finds one among the account's own claims and
purchases, so neither fresh addresses nor another brand's sellers can bury or fold a review.

When a review was posted is the time of the block of its ``ReviewPosted`` log (the board keeps
no time): lists read the blocks of their reviews, each block once, in JSON-RPC batches where the
node takes them, as they read the reviews' counters.

Ranking (:func:`usefulness`), the same for everyone and deterministic for a given moment::

    usefulness = 2 x wilson(helpful, helpful + not helpful)     # what readers said, 0..1
               + 1 x content                                   # min(words / 80, 1) x 0.7 + 0.3 if photos
               + 1 x 0.5 ** (age in days / 90)                 # recency, halving every 90 days
               + 1 x intact                                    # the text is available and matches its hash

``wilson`` is the lower bound of the Wilson score interval at 95% (a review with 3 of 3 helpful
votes ranks below one with 90 of 100). Every review shown is a verified buyer's (the contract
refuses anyone else, and the reader leaves out the reviews that no longer count), so being
verified is shown on each review rather than weighed; what is weighed is whether the text a
reader gets is the one the buyer posted (``intact``). Folded reviews come last; ties go to the
newer review, then to the review id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from o2ochain import gs1
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.logs import confirmed, get_logs
from o2ochain._chain.signers import Signer
from o2ochain._chain.tx import Sender, call_view, read_all
from o2ochain._chain.util import address_topic, hex0x, write_atomic
from o2ochain.deployments import Deployment
from o2ochain.errors import ConfigError, InputError, by_name
from o2ochain.guarantee import GuaranteeReader, Purchase, events_in, gtin_number
from o2ochain.identity import Identity

SUBJECTS = {"product": 1, "merchant": 2}
REPORT_REASONS = {"spam": 1, "offensive": 2, "off-topic": 3, "fake": 4, "other": 5}
MAX_TEXT = 5_000
# Requests per JSON-RPC batch: public nodes cap batches (often at 50 or 100 calls).
BATCH_SIZE = 50


class ContentStore:
    """Review texts and photos, addressed by the keccak256 of their canonical JSON.

    A document is ``{"type": "o2ochain.review", "text": ..., "photos": [{"sha256": ..., "name": ...}]}``
    written to ``<root>/0x<hash>.json``; photo files are copied to ``<root>/photos/<sha256>``.
    The URI recorded on chain is ``<base>/0x<hash>.json`` (``base`` is where the folder is served).
    """

    def __init__(self, root: Path | str, base: str = "content") -> None:
        self.root = Path(root)
        self.base = base.rstrip("/")

    def put(self, document: dict[str, Any]) -> tuple[bytes, str]:
        """Store ``document``; returns (its hash, its URI). Storing it again changes nothing."""
        from o2ochain.epcis import canonical_json

        data = canonical_json(document)
        digest = gs1.keccak256(data)
        target = self.root / f"{hex0x(digest)}.json"
        if not target.exists():
            write_atomic(target, data)
        return digest, f"{self.base}/{hex0x(digest)}.json"

    def put_photo(self, path: Path) -> dict[str, str]:
        import hashlib

        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the photo: {exc.strerror}", file=str(path)) from None
        sha = hashlib.sha256(data).hexdigest()
        target = self.root / "photos" / sha
        if not target.exists():
            write_atomic(target, data)
        return {"sha256": sha, "name": path.name}

    def get(self, digest: bytes) -> dict[str, Any] | None:
        """The document of ``digest`` if it is here and intact (its hash matches), else None."""
        from o2ochain.epcis import canonical_json

        target = self.root / f"{hex0x(digest)}.json"
        try:
            document = json.loads(target.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(document, dict) or gs1.keccak256(canonical_json(document)) != digest:
            return None
        return document


def review_document(text: str, photos: Sequence[dict[str, str]] = (), language: str = "en") -> dict[str, Any]:
    text = text.strip()
    if not text:
        raise InputError("a review needs some text", field="text")
    if len(text) > MAX_TEXT:
        raise InputError(f"a review's text is at most {MAX_TEXT} characters", field="text", value=len(text))
    return {"type": "o2ochain.review", "text": text, "language": language, "photos": list(photos)}


def wilson(positive: int, total: int, z: float = 1.96) -> float:
    """Lower bound of the Wilson score interval: how useful a review is, given its votes."""
    if total <= 0:
        return 0.0
    p = positive / total
    centre = p + z * z / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return float((centre - spread) / (1 + z * z / total))


@dataclass
class Review:
    """A review as its readers see it: the latest version, its votes, and its text when available.

    ``posted_at`` is the timestamp of ``block``, the block of its ``ReviewPosted`` log.
    """

    id: bytes
    author: str
    subject: str
    gtin: int
    merchant: int
    rating: int
    version: int
    content_hash: bytes
    uri: str
    ticket: bytes
    posted_at: int
    helpful: int = 0
    not_helpful: int = 0
    reports: int = 0
    folded: bool = False
    text: str | None = None
    photos: int = 0
    replies: list[dict[str, Any]] = field(default_factory=list)
    score: float = 0.0
    block: int = 0
    #: Whether the chain confirms the log that gave ``content_hash`` and ``uri`` (checked at its
    #: block when the logs came from an index). When not, the hash is no fact: no text is shown
    #: for it, and the JSON gives no hash.
    content_confirmed: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "review": hex0x(self.id),
            "author": self.author,
            "subject": self.subject,
            "gtin": f"{self.gtin:014d}",
            "merchant": self.merchant,
            "rating": self.rating,
            "version": self.version,
            "contentHash": hex0x(self.content_hash) if self.content_confirmed else None,
            "uri": self.uri if self.content_confirmed else None,
            "contentConfirmed": self.content_confirmed,
            "text": self.text,
            "photos": self.photos,
            "postedAt": self.posted_at,
            "helpful": self.helpful,
            "notHelpful": self.not_helpful,
            "reports": self.reports,
            "folded": self.folded,
            "verifiedBuyer": True,
            "replies": self.replies,
            "usefulness": round(self.score, 4),
        }


def usefulness(review: Review, now: int) -> float:
    """The ranking score of a review at time ``now`` (see the module's documentation)."""
    votes = wilson(review.helpful, review.helpful + review.not_helpful)
    words = len(review.text.split()) if review.text else 0
    content = min(words / 80, 1.0) * 0.7 + (0.3 if review.photos else 0.0)
    age_days = max(0, now - review.posted_at) / 86_400
    recency = 0.5 ** (age_days / 90)
    intact = 1.0 if review.text is not None else 0.0
    return float(2 * votes + content + recency + intact)


class ReviewList(list[Review]):
    """Reviews that count, ranked; ``hidden`` more were posted but left out, for ``reason``.

    A product review on a purchase counts only while the product's brand authorises the
    retailer that sold it (``ReviewBoard.counts``): the reviews of a seller the brand never
    recognised, or no longer does, stay on chain but are not shown as verified.
    """

    def __init__(self, rows: Iterable[Review] = (), *, hidden: int = 0, reason: str | None = None) -> None:
        super().__init__(rows)
        self.hidden = hidden
        self.reason = reason if hidden else None

    @property
    def note(self) -> str | None:
        """What was left out, in words ("2 reviews hidden: their seller is not authorised by …")."""
        if not self.hidden:
            return None
        if self.hidden == 1:
            return f"1 review hidden: {self.reason}".replace("their seller is", "its seller is")
        return f"{self.hidden} reviews hidden: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"reviews": [r.to_json() for r in self], "hidden": self.hidden, "hiddenReason": self.reason}


@dataclass(frozen=True)
class Ticket:
    """A voter's or reporter's proof of buying what a review is about (exactly one of the two):
    an item it claimed at first sale (of the reviewed product), or a purchase it is the buyer of
    (of the reviewed product from a retailer the product's brand authorised; for a merchant
    review, any purchase from the merchant's retailer)."""

    item: bytes | None = None
    purchase: Purchase | None = None

    def as_struct(self) -> tuple[bytes, tuple[Any, ...]]:
        """The ``Ticket`` struct: an item and a zero Purchase, or a zero item and the Purchase."""
        if (self.item is None) == (self.purchase is None):
            raise InputError("a ticket is an item claimed or a purchase, one of the two", field="ticket")
        if self.purchase is None:
            return (bytes(self.item or b""), _empty_purchase())
        return (b"\x00" * 32, tuple(self.purchase.as_struct()))


@cache
def _empty_purchase() -> tuple[Any, ...]:
    """The zero Purchase an item's ticket carries, shaped from the board's ABI."""
    (vote,) = [f for f in artifact("ReviewBoard")["abi"] if f.get("type") == "function" and f.get("name") == "vote"]
    fields = vote["inputs"][2]["components"][1]["components"]
    return tuple("0x" + "00" * 20 if f["type"] == "address" else b"\x00" * 32 if f["type"].startswith("bytes") else 0 for f in fields)


@dataclass(frozen=True)
class MerchantRating:
    merchant: int
    average: float | None
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"merchant": self.merchant, "average": None if self.average is None else round(self.average, 2), "count": self.count}


class ReviewBoardReader:
    """Read reviews, replies and merchant profiles; rank reviews."""

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        content: ContentStore,
        *,
        identity: Identity | None = None,
        guarantee: GuaranteeReader | None = None,
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.address = Web3.to_checksum_address(deployment.address("ReviewBoard"))
        self.contract: Contract = w3.eth.contract(address=self.address, abi=artifact("ReviewBoard")["abi"], decode_tuples=True)
        self.from_block = deployment.contracts["ReviewBoard"].block
        self.content = content
        self._identity = identity
        self._guarantee = guarantee
        self._brands: dict[int, int] = {}
        self._brand_names: dict[int, str] = {}
        self._block_times: dict[int, int] = {}  # block number -> timestamp (a block never changes)
        self._channels: dict[int, tuple[int, str]] = {}  # merchant -> (retailer, name)

    @property
    def identity(self) -> Identity:
        """The product registry: which brand a GTIN is, and who claimed an item."""
        if self._identity is None:
            self._identity = Identity(self.w3, self.deployment)
        return self._identity

    @property
    def guarantee(self) -> GuaranteeReader:
        """The price guarantee: the purchases that are tickets."""
        if self._guarantee is None:
            self._guarantee = GuaranteeReader(self.w3, self.deployment)
        return self._guarantee

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def brand_of(self, gtin: int) -> int:
        """The brand of product ``gtin`` in the registry; 0 for an unregistered GTIN."""
        if gtin not in self._brands:
            brand = self.identity.brand_of_gtin(f"{gtin:014d}")
            if not brand:
                return 0  # not cached: the product may be registered later
            self._brands[gtin] = brand  # a product's brand never changes
        return self._brands[gtin]

    def brand_name(self, brand: int) -> str:
        """``"Dalian Coast Snacks (brand 1)"``: how messages name a brand."""
        if brand not in self._brand_names:
            name = self.identity.brand(brand).name if brand else ""
            self._brand_names[brand] = f"{name} (brand {brand})" if name else f"brand {brand}"
        return self._brand_names[brand]

    def is_seller_authorised(self, brand: int, retailer: int) -> bool:
        """Whether ``brand`` recognises ``retailer`` as a seller of its products."""
        return bool(call_view(self.contract.functions.isSellerAuthorised(brand, retailer)))

    def seller_refusal(self, retailer: int, gtin: int) -> str | None:
        """Why a product review of ``gtin`` bought from ``retailer`` would not count, in words;
        None when the product's brand authorises the retailer."""
        brand = self.brand_of(gtin)
        if brand == 0:
            return (
                f"GTIN {gtin:014d} is not a registered product: no brand vouches for its sellers, so a purchase of it "
                "is not a verified ticket for a product review"
            )
        if self.is_seller_authorised(brand, retailer):
            return None
        return (
            f"{self.brand_name(brand)} has not authorised retailer {retailer} to sell its product {gtin:014d}: "
            "its buyers' reviews of the product are not verified"
        )

    def counts(self, review: bytes, gtin: int) -> bool:
        """Whether ``review`` (posted with product ``gtin``) counts as verified now, on chain."""
        return bool(call_view(self.contract.functions.counts(review, gtin)))

    def review_view(self, review: bytes) -> Any:
        """The board's ``ReviewView`` of ``review`` (``posted`` False when there is none)."""
        return call_view(self.contract.functions.review(review))

    def merchant(self, merchant: int) -> tuple[int, str]:
        """(retailer, name) of channel ``merchant``: whose shop it is (the guarantee's ``channel``
        view) and what it is called (its ``ChannelAdded`` log: the name is only logged)."""
        if merchant not in self._channels:
            retailer = self.guarantee.channel_retailer(merchant)
            if not retailer:
                return 0, f"channel {merchant}"  # not cached: not added (yet)
            added = self.guarantee.contract.events.ChannelAdded()
            logs = get_logs(
                self.w3,
                address=self.guarantee.address,
                topics=[added.topic, "0x" + f"{retailer:064x}", "0x" + f"{merchant:064x}"],
                from_block=self.guarantee.from_block,
            )
            if not logs:
                return retailer, f"channel {merchant}"  # not cached: its log not read (an index behind)
            if not confirmed(self.w3, logs[:1])[0]:
                return retailer, f"channel {merchant}"  # an index's log the node does not hold: its name is not shown
            self._channels[merchant] = (retailer, str(added.process_log(logs[0])["args"]["name"]))
        return self._channels[merchant]

    def block_times(self, blocks: Iterable[int]) -> dict[int, int]:
        """The timestamp of each of ``blocks``: each block read once (then kept), in batches."""
        blocks = list(blocks)
        wanted = sorted(set(blocks) - self._block_times.keys())
        headers = read_all(self.w3, [partial(self.w3.eth.get_block, n) for n in wanted], what="eth_getBlockByNumber", batch_size=BATCH_SIZE)
        for number, header in zip(wanted, headers, strict=True):
            self._block_times[number] = int(header["timestamp"])
        return {n: self._block_times[n] for n in blocks}

    def review_id(self, ticket: bytes, subject: str) -> bytes:
        return bytes(call_view(self.contract.functions.reviewIdOf(ticket, _subject(subject))))

    def merchant_profile(self, merchant: int) -> dict[str, Any]:
        """The merchant's profile as the board holds it (``merchantProfile``: its hash, GLN,
        place), with the URI it was published at: only logged, so taken from the latest
        ``MerchantProfileSet`` log of that hash that the chain confirms (``uriConfirmed``; else
        the URI is ``""``: a URI an index forged or altered is not shown as the merchant's)."""
        p = call_view(self.contract.functions.merchantProfile(merchant))
        event = self.contract.events.MerchantProfileSet()
        logs = get_logs(self.w3, address=self.address, topics=[event.topic, "0x" + f"{merchant:064x}"], from_block=self.from_block)
        of_this = [log for log in logs if bytes(event.process_log(log)["args"]["profileHash"]) == bytes(p.profileHash)]

        def stated(log: Any) -> tuple[Any, ...]:
            return tuple(event.process_log(log)["args"].values())

        held = [log for log, ok in zip(of_this, confirmed(self.w3, of_this, fact=stated), strict=True) if ok]
        return {
            "merchant": merchant,
            "retailer": int(p.retailer),
            "profileHash": hex0x(p.profileHash),
            "uri": str(event.process_log(held[-1])["args"]["uri"]) if held else "",
            "uriConfirmed": bool(held),
            "gln": f"{int(p.gln):013d}" if int(p.gln) else None,
            "latitude": int(p.latitudeE6) / 1e6,
            "longitude": int(p.longitudeE6) / 1e6,
            "updatedAt": int(p.updatedAt),
        }

    def reviews(self, *, gtin: str | int | None = None, merchant: int | None = None, now: int | None = None) -> ReviewList:
        """Reviews of a product (``gtin``) or of a merchant that count, ranked by usefulness (best first).

        For a GTIN: the product reviews of it. For a merchant: the reviews of the merchant.
        Reviews that do not count on chain (``ReviewBoard.counts``: a product review whose seller
        the brand does not authorise) are left out; the list's ``hidden`` and ``note`` say how
        many and why. The logs (an index's, when there is one) say which reviews there are and
        where their texts are; author, subject, product, merchant, rating, version and votes are
        the board's (``ReviewBoard.review``), and a log the board contradicts is dropped.
        """
        if (gtin is None) == (merchant is None):
            raise InputError("list the reviews of a product (gtin) or of a merchant, one of the two")
        posted = self.contract.events.ReviewPosted()
        g = None if gtin is None else "0x" + f"{gtin_number(gtin):064x}"
        m = None if merchant is None else "0x" + f"{merchant:064x}"
        found: dict[bytes, Review] = {}
        posted_logs: dict[bytes, Any] = {}
        for log in get_logs(self.w3, address=self.address, topics=[posted.topic, None, g, m], from_block=self.from_block):
            a = posted.process_log(log)["args"]
            subject = "product" if int(a["subject"]) == 1 else "merchant"
            if (gtin is not None and subject != "product") or (merchant is not None and subject != "merchant"):
                continue
            rid = bytes(a["review"])
            posted_logs[rid] = log
            found[rid] = Review(
                id=rid,
                author=Web3.to_checksum_address(a["author"]),
                subject=subject,
                gtin=int(a["gtin"]),
                merchant=int(a["merchant"]),
                rating=int(a["rating"]),
                version=1,
                content_hash=bytes(a["contentHash"]),
                uri=str(a["uri"]),
                ticket=bytes(a["ticket"]),
                posted_at=0,
                block=int(log["blockNumber"]),
            )
        # The logs (an index's, maybe) only list the reviews: the facts shown are the board's,
        # and a review whose log the board contradicts is not a review (a forged or altered row).
        fn = self.contract.functions
        views = dict(
            zip(found, read_all(self.w3, [fn.review(rid).call for rid in found], what="review", batch_size=BATCH_SIZE), strict=True)
        )
        for rid, view in views.items():
            if not _posted_as_logged(found[rid], view):
                del found[rid]
        verdicts = read_all(self.w3, [fn.counts(r.id, r.gtin).call for r in found.values()], what="counts", batch_size=BATCH_SIZE)
        left_out = [rid for rid, counted in zip(list(found), verdicts, strict=True) if not counted]
        for rid in left_out:
            del found[rid]
        reason = None
        if left_out:
            brand = self.brand_of(gtin_number(gtin)) if gtin is not None else 0
            reason = f"their seller is not authorised by {self.brand_name(brand) if brand else 'the brand'}"
        if not found:
            return ReviewList(hidden=len(left_out), reason=reason)
        content_logs = self._apply_edits_and_replies(found, {rid: int(views[rid].version) for rid in found}, posted_logs)
        self._confirm_content(found, content_logs)
        times = self.block_times(r.block for r in found.values())
        for review in found.values():
            view = views[review.id]
            review.rating, review.version = int(view.rating), int(view.version)
            review.helpful, review.not_helpful, review.reports = int(view.helpful), int(view.notHelpful), int(view.reports)
            review.folded = bool(view.folded)
            review.posted_at = times[review.block]
            # The text is shown only when it is the latest version's (an edit missing from the
            # logs would leave an older text, which the board's version gives away) and the chain
            # confirms the log that gave its hash (an index could swap in another text's hash).
            document = self.content.get(review.content_hash) if review.id in content_logs and review.content_confirmed else None
            if document is not None:
                review.text = str(document.get("text", ""))
                review.photos = len(document.get("photos") or [])
        moment = self.now() if now is None else now
        for review in found.values():
            review.score = usefulness(review, moment)
        ranked = sorted(found.values(), key=lambda r: (r.folded, -r.score, -r.posted_at, r.id))
        return ReviewList(ranked, hidden=len(left_out), reason=reason)

    def _apply_edits_and_replies(
        self, found: dict[bytes, Review], versions: dict[bytes, int], posted: dict[bytes, Any]
    ) -> dict[bytes, Any]:
        """Take each review's content from its edit of version ``versions[id]`` (the board's
        latest; version 1 is the posted one, its log in ``posted``) and its replies (each with its
        log under ``"log"``, taken out by :meth:`_confirm_content`); returns the log that gave each
        review's latest content, for the reviews whose latest version's content was found."""
        edited = self.contract.events.ReviewEdited()
        replied = self.contract.events.ReviewReplied()
        latest = {rid: posted[rid] for rid in found if versions[rid] == 1}
        ids = [hex0x(rid) for rid in found]
        for start in range(0, len(ids), 100):  # topic lists stay short for public nodes
            chunk = ids[start : start + 100]
            for log in get_logs(self.w3, address=self.address, topics=[edited.topic, chunk], from_block=self.from_block):
                a = edited.process_log(log)["args"]
                rid = bytes(a["review"])
                if int(a["version"]) == versions[rid]:
                    r = found[rid]
                    r.content_hash, r.uri = bytes(a["contentHash"]), str(a["uri"])
                    latest[rid] = log
            for log in get_logs(self.w3, address=self.address, topics=[replied.topic, chunk], from_block=self.from_block):
                a = replied.process_log(log)["args"]
                found[bytes(a["review"])].replies.append(
                    {"by": a["by"], "merchant": int(a["merchant"]), "contentHash": bytes(a["contentHash"]), "uri": a["uri"], "log": log}
                )
        return latest

    def _content_fact(self, log: Any) -> tuple[Any, ...]:
        """What a review's, an edit's or a reply's log states of its text: the content hash and
        URI, with an edit's version and a reply's author (the rest is the board's, or a topic)."""
        events = [self.contract.events.ReviewPosted(), self.contract.events.ReviewEdited(), self.contract.events.ReviewReplied()]
        (event,) = [e for e in events if HexBytes(e.topic) == HexBytes(log["topics"][0])]
        a = event.process_log(log)["args"]
        return (bytes(a["contentHash"]), str(a["uri"]), a.get("version"), a.get("by"))

    def _confirm_content(self, found: dict[bytes, Review], content_logs: dict[bytes, Any]) -> None:
        """Confirm on chain, in one batch, the logs that gave the reviews' latest content and their
        replies (:func:`~o2ochain._chain.logs.confirmed`): a review whose log the chain does not
        confirm shows no text (``content_confirmed`` False); such a reply is listed with
        ``confirmed`` False and neither text nor URI. A confirmed reply's text is its document's."""
        replies = [reply for review in found.values() for reply in review.replies]
        answers = confirmed(self.w3, [*content_logs.values(), *(reply.pop("log") for reply in replies)], fact=self._content_fact)
        for rid, ok in zip(content_logs, answers[: len(content_logs)], strict=True):
            found[rid].content_confirmed = ok
        for reply, ok in zip(replies, answers[len(content_logs) :], strict=True):
            digest = reply.pop("contentHash")
            document = self.content.get(digest) if ok else None
            reply["text"] = document.get("text") if document else None
            reply["confirmed"] = ok
            if not ok:
                reply["uri"] = None

    def merchant_rating(self, merchant: int) -> MerchantRating:
        """The average of the latest ratings of the merchant's reviews (folded ones included), with their count."""
        rows = self.reviews(merchant=merchant)
        if not rows:
            return MerchantRating(merchant, None, 0)
        return MerchantRating(merchant, sum(r.rating for r in rows) / len(rows), len(rows))


class _Role:
    def __init__(self, reader: ReviewBoardReader, account: Signer) -> None:
        self.reader = reader
        self.account = account
        self.address = Web3.to_checksum_address(account.address)
        self.sender = Sender(reader.w3, account)

    @property
    def contract(self) -> Contract:
        return self.reader.contract


class Reviewer(_Role):
    """A buyer: review what they bought (or the shop they bought it at), vote, report.

    Votes and reports carry a :class:`Ticket` for what the review is about, found among the
    account's own first-sale claims and purchases (:meth:`ticket_for`): an account that did not
    buy the reviewed product from a seller its brand recognises (or, for a merchant review, from
    the merchant's retailer) cannot vote or report, so neither fresh addresses nor the buyers of
    another brand's seller can bury or fold a review.
    """

    def __init__(self, reader: ReviewBoardReader, account: Signer) -> None:
        super().__init__(reader, account)
        # Tickets found, by what they are for: ("product", gtin) or ("merchant", retailer). Only
        # found ones are kept (a purchase may come later).
        self._tickets: dict[tuple[str, int], Ticket] = {}
        self._item_gtins: dict[bytes, int] = {}  # items this account claimed -> their GTIN

    def _content(self, text: str, photos: Sequence[Path], language: str) -> tuple[bytes, str]:
        stored = [self.reader.content.put_photo(p) for p in photos]
        return self.reader.content.put(review_document(text, stored, language))

    def review_purchase(
        self,
        purchase: Purchase,
        rating: int,
        text: str,
        *,
        subject: str = "product",
        photos: Sequence[Path] = (),
        language: str = "en",
    ) -> bytes:
        """Review a recorded purchase (the product, or the merchant); returns the review id.

        A product review is checked first: the product's brand must authorise the retailer the
        purchase was made from, else ``ReviewSellerNotAuthorised`` says so in words and nothing
        is sent. A merchant review needs no authorisation.
        """
        _check_rating(rating)
        if _subject(subject) == SUBJECTS["product"]:
            refusal = self.reader.seller_refusal(purchase.retailer, purchase.gtin)
            if refusal is not None:
                raise by_name("ReviewSellerNotAuthorised")(
                    f"{refusal}; you may still review where you bought it (subject 'merchant')",
                    retailer=purchase.retailer,
                    brand=self.reader.brand_of(purchase.gtin),
                    gtin=purchase.gtin,
                )
        digest, uri = self._content(text, photos, language)
        fn = self.contract.functions.reviewPurchase(purchase.as_struct(), _subject(subject), rating, digest, uri)
        receipt = self.sender.transact(fn, label=f"review a purchase ({subject})")
        (log,) = events_in(self.contract, "ReviewPosted", receipt)
        return bytes(log["args"]["review"])

    def review_item(self, item: bytes, rating: int, text: str, *, photos: Sequence[Path] = (), language: str = "en") -> bytes:
        """Review an item claimed at first sale (its id from its Digital Link)."""
        _check_rating(rating)
        digest, uri = self._content(text, photos, language)
        receipt = self.sender.transact(self.contract.functions.reviewItem(item, rating, digest, uri), label="review an item")
        (log,) = events_in(self.contract, "ReviewPosted", receipt)
        return bytes(log["args"]["review"])

    def edit(self, review: bytes, rating: int, text: str, *, photos: Sequence[Path] = (), language: str = "en") -> str:
        _check_rating(rating)
        digest, uri = self._content(text, photos, language)
        return hex0x(
            self.sender.transact(self.contract.functions.editReview(review, rating, digest, uri), label="edit a review")["transactionHash"]
        )

    def ticket_for(self, review: bytes) -> Ticket | None:
        """One of this account's tickets that fits ``review``, or None when it holds none.

        For a product review (of GTIN ``g``): an item of ``g`` it claimed at first sale, else its
        newest purchase of ``g`` from a retailer that ``g``'s brand authorises. For a merchant
        review: its newest purchase, of anything, from the merchant's retailer (a claimed item
        does not serve: it names no shop). ``ReviewUnknown`` when there is no such review.
        """
        return self._fitting(self._posted(review))

    def _posted(self, review: bytes) -> Any:
        view = self.reader.review_view(review)
        if not bool(view.posted):
            raise by_name("ReviewUnknown")(f"there is no review {hex0x(review)} on this board", review=review)
        return view

    def _fitting(self, view: Any) -> Ticket | None:
        if int(view.subject) == SUBJECTS["merchant"]:
            retailer, _ = self.reader.merchant(int(view.merchant))
            key = ("merchant", retailer)
        else:
            key = ("product", int(view.gtin))
        if key not in self._tickets:
            found = self._customer_of(key[1]) if key[0] == "merchant" else self._claimed_item(key[1]) or self._buyer_of(key[1])
            if found is None:
                return None
            self._tickets[key] = found
        return self._tickets[key]

    def _claimed_item(self, gtin: int) -> Ticket | None:
        """The newest item of ``gtin`` this account claimed at first sale, as a ticket."""
        identity = self.reader.identity
        event = identity.contract.events.ItemClaimed()
        logs = get_logs(
            self.reader.w3,
            address=identity.address,
            topics=[event.topic, None, address_topic(self.address)],
            from_block=identity.deployment.contracts["ProductRegistry"].block,
        )
        for log in reversed(logs):
            item = bytes(event.process_log(log)["args"]["item"])
            if item not in self._item_gtins:
                view = call_view(identity.contract.functions.verify(item))
                if str(view.claimedBy).lower() != self.address.lower():
                    continue
                self._item_gtins[item] = int(view.gtin)  # claimed once, for good
            if self._item_gtins[item] == gtin:
                return Ticket(item=item)
        return None

    def _buyer_of(self, gtin: int) -> Ticket | None:
        """This account's newest purchase of ``gtin`` from a seller its brand authorises."""
        brand = self.reader.brand_of(gtin)
        if brand == 0:
            return None
        authorised: dict[int, bool] = {}
        for purchase in reversed(self.reader.guarantee.purchases(buyer=self.address, gtin=gtin)):
            if purchase.retailer not in authorised:
                authorised[purchase.retailer] = self.reader.is_seller_authorised(brand, purchase.retailer)
            if authorised[purchase.retailer]:
                return Ticket(purchase=purchase)
        return None

    def _customer_of(self, retailer: int) -> Ticket | None:
        """This account's newest purchase from ``retailer``, of anything."""
        for purchase in reversed(self.reader.guarantee.purchases(buyer=self.address)):
            if purchase.retailer == retailer:
                return Ticket(purchase=purchase)
        return None

    def _refusal(self, view: Any, what: str) -> str:
        """Why this account cannot ``what`` (vote on, report) the review ``view``, in words."""
        if int(view.subject) == SUBJECTS["merchant"]:
            retailer, name = self.reader.merchant(int(view.merchant))
            return (
                f"you can {what} only as a customer of retailer {retailer}, whose shop {name!r} it reviews: "
                f"{self.address} has no purchase from that retailer"
            )
        gtin = int(view.gtin)
        return (
            f"you can {what} only as a buyer of product {gtin:014d} of {self.reader.brand_name(self.reader.brand_of(gtin))}: "
            f"an item of it claimed at first sale, or a purchase of it from a retailer the brand authorised; {self.address} has neither"
        )

    def _ticket_for(self, review: bytes, what: str, ticket: Ticket | None) -> tuple[bytes, tuple[Any, ...]]:
        view = self._posted(review)
        found = ticket or self._fitting(view)
        if found is None:
            raise ConfigError(self._refusal(view, what))
        return found.as_struct()

    def vote(self, review: bytes, helpful: bool, *, ticket: Ticket | None = None) -> str:
        """Say whether ``review`` helped, once, showing ``ticket`` or one of this account's that fits
        (:meth:`ticket_for`); ConfigError, before anything is sent, when it holds none."""
        proof = self._ticket_for(review, "vote on this review", ticket)
        fn = self.contract.functions.vote(review, helpful, proof)
        return hex0x(self.sender.transact(fn, label="vote on a review")["transactionHash"])

    def report(self, review: bytes, reason: str, *, ticket: Ticket | None = None) -> str:
        """Report ``review`` for ``reason`` (REPORT_REASONS), once, showing a ticket as :meth:`vote` does."""
        key = reason.strip().lower()
        if key not in REPORT_REASONS:
            raise InputError(f"unknown reason {reason!r}: use one of {', '.join(REPORT_REASONS)}", field="reason", value=reason)
        proof = self._ticket_for(review, "report this review", ticket)
        fn = self.contract.functions.report(review, REPORT_REASONS[key], proof)
        return hex0x(self.sender.transact(fn, label="report a review")["transactionHash"])


class MerchantDesk(_Role):
    """A merchant's hand: its public profile, and replies to its reviews."""

    def set_profile(
        self, merchant: int, profile: dict[str, Any], *, gln: str | None = None, latitude: float = 0.0, longitude: float = 0.0
    ) -> str:
        """Publish the merchant's profile (name, hours, …) and location (as the retailer's admin)."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise InputError("latitude is -90..90 and longitude -180..180", field="location", value=(latitude, longitude))
        digest, uri = self.reader.content.put({"type": "o2ochain.merchant", **profile})
        gln_number = 0
        if gln:
            text = gln.strip()
            if len(text) != 13 or not text.isdigit() or gs1.gtin_check_digit(text[:-1]) != int(text[-1]):
                raise InputError(f"{gln!r} is not a GLN (13 digits with a valid check digit)", field="gln", value=gln)
            gln_number = int(text)
        fn = self.contract.functions.setMerchantProfile(merchant, digest, uri, gln_number, round(latitude * 1e6), round(longitude * 1e6))
        return hex0x(self.sender.transact(fn, label="set merchant profile")["transactionHash"])

    def reply(self, review: bytes, text: str) -> str:
        digest, uri = self.reader.content.put(review_document(text))
        return hex0x(self.sender.transact(self.contract.functions.reply(review, digest, uri), label="reply to a review")["transactionHash"])


def _posted_as_logged(review: Review, view: Any) -> bool:
    """Whether the board holds ``review`` as its ``ReviewPosted`` log says: posted, by its author,
    of its subject, merchant and product (the board keeps a GTIN's low 48 bits), its id the one
    its ticket makes (``reviewIdOf``, computed here)."""
    subject = SUBJECTS[review.subject]
    return (
        bool(view.posted)
        and str(view.author).lower() == review.author.lower()
        and int(view.subject) == subject
        and int(view.merchant) == review.merchant
        and int(view.gtin) == review.gtin % (1 << 48)
        and gs1.keccak256(review.ticket + subject.to_bytes(32, "big")) == review.id
    )


def _subject(subject: str) -> int:
    key = subject.strip().lower()
    if key not in SUBJECTS:
        raise InputError(f"a review is of a 'product' or a 'merchant', not {subject!r}", field="subject", value=subject)
    return SUBJECTS[key]


def _check_rating(rating: int) -> None:
    if not 1 <= rating <= 5:
        raise InputError("a rating is 1 to 5 stars", field="rating", value=rating)


def parse_review_id(text: str) -> bytes:
    try:
        raw = bytes(HexBytes(text))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InputError(f"{text!r} is not a review id (0x and 64 hex digits)", field="review", value=text)
    return raw
