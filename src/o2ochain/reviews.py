"""Verified-buyer reviews and merchant pages: the O2O loop's online feedback.

Only a buyer can review: the proof is a purchase recorded by the retailer's channel (see
:mod:`o2ochain.guarantee`) or a first-sale claim of the item (see :mod:`o2ochain.identity`), and
each proof gives one review (per subject: the product, or the merchant it was bought from).
Texts and photos stay off chain in a content-addressed store (:class:`ContentStore`); the chain
holds their keccak256 and where they are. An edit is a new version; nothing is deleted; reviews
that readers found useless fold.

Ranking (:func:`usefulness`), the same for everyone and deterministic for a given moment::

    usefulness = 2 x wilson(helpful, helpful + not helpful)     # what readers said, 0..1
               + 1 x content                                   # min(words / 80, 1) x 0.7 + 0.3 if photos
               + 1 x 0.5 ** (age in days / 90)                 # recency, halving every 90 days
               + 1 x intact                                    # the text is available and matches its hash

``wilson`` is the lower bound of the Wilson score interval at 95% (a review with 3 of 3 helpful
votes ranks below one with 90 of 100). Every review on chain is a verified buyer's (the contract
refuses anyone else), so being verified is shown on each review rather than weighed; what is
weighed is whether the text a reader gets is the one the buyer posted (``intact``). Folded reviews come last; ties go to the newer review, then
to the review id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from o2ochain import gs1
from o2ochain._artifacts import artifact
from o2ochain._logs import get_logs
from o2ochain._tx import Sender, call_view
from o2ochain._util import hex0x, write_atomic
from o2ochain.deployments import Deployment
from o2ochain.errors import InputError
from o2ochain.guarantee import Purchase, events_in, gtin_number

__all__ = [
    "REPORT_REASONS",
    "SUBJECTS",
    "ContentStore",
    "MerchantDesk",
    "MerchantRating",
    "Review",
    "ReviewBoardReader",
    "Reviewer",
    "usefulness",
    "wilson",
]

SUBJECTS = {"product": 1, "merchant": 2}
REPORT_REASONS = {"spam": 1, "offensive": 2, "off-topic": 3, "fake": 4, "other": 5}
MAX_TEXT = 5_000


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
    """A review as its readers see it: the latest version, its votes, and its text when available."""

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

    def to_json(self) -> dict[str, Any]:
        return {
            "review": hex0x(self.id),
            "author": self.author,
            "subject": self.subject,
            "gtin": f"{self.gtin:014d}",
            "merchant": self.merchant,
            "rating": self.rating,
            "version": self.version,
            "contentHash": hex0x(self.content_hash),
            "uri": self.uri,
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


@dataclass(frozen=True)
class MerchantRating:
    merchant: int
    average: float | None
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"merchant": self.merchant, "average": None if self.average is None else round(self.average, 2), "count": self.count}


class ReviewBoardReader:
    """Read reviews, replies and merchant profiles; rank reviews."""

    def __init__(self, w3: Web3, deployment: Deployment, content: ContentStore) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(deployment.address("ReviewBoard"))
        self.contract: Contract = w3.eth.contract(address=self.address, abi=artifact("ReviewBoard")["abi"], decode_tuples=True)
        self.from_block = deployment.contracts["ReviewBoard"].block
        self.content = content

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def review_id(self, ticket: bytes, subject: str) -> bytes:
        return bytes(call_view(self.contract.functions.reviewIdOf(ticket, _subject(subject))))

    def merchant_profile(self, merchant: int) -> dict[str, Any]:
        p = call_view(self.contract.functions.merchantProfile(merchant))
        uri = ""
        event = self.contract.events.MerchantProfileSet()
        logs = get_logs(self.w3, address=self.address, topics=[event.topic, "0x" + f"{merchant:064x}"], from_block=self.from_block)
        if logs:
            uri = str(event.process_log(logs[-1])["args"]["uri"])
        return {
            "merchant": merchant,
            "retailer": int(p.retailer),
            "profileHash": hex0x(p.profileHash),
            "uri": uri,
            "gln": f"{int(p.gln):013d}" if int(p.gln) else None,
            "latitude": int(p.latitudeE6) / 1e6,
            "longitude": int(p.longitudeE6) / 1e6,
            "updatedAt": int(p.updatedAt),
        }

    def reviews(self, *, gtin: str | int | None = None, merchant: int | None = None, now: int | None = None) -> list[Review]:
        """Reviews of a product (``gtin``) or of a merchant, ranked by usefulness (best first).

        For a GTIN: the product reviews of it. For a merchant: the reviews of the merchant.
        """
        if (gtin is None) == (merchant is None):
            raise InputError("list the reviews of a product (gtin) or of a merchant, one of the two")
        posted = self.contract.events.ReviewPosted()
        g = None if gtin is None else "0x" + f"{gtin_number(gtin):064x}"
        m = None if merchant is None else "0x" + f"{merchant:064x}"
        found: dict[bytes, Review] = {}
        for log in get_logs(self.w3, address=self.address, topics=[posted.topic, None, g, m], from_block=self.from_block):
            a = posted.process_log(log)["args"]
            subject = "product" if int(a["subject"]) == 1 else "merchant"
            if (gtin is not None and subject != "product") or (merchant is not None and subject != "merchant"):
                continue
            rid = bytes(a["review"])
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
        if not found:
            return []
        self._apply_edits_and_replies(found)
        for review in found.values():
            view = call_view(self.contract.functions.review(review.id))
            review.helpful, review.not_helpful, review.reports = int(view.helpful), int(view.notHelpful), int(view.reports)
            review.folded, review.posted_at, review.version = bool(view.folded), int(view.postedAt), int(view.version)
            document = self.content.get(review.content_hash)
            if document is not None:
                review.text = str(document.get("text", ""))
                review.photos = len(document.get("photos") or [])
        moment = self.now() if now is None else now
        for review in found.values():
            review.score = usefulness(review, moment)
        return sorted(found.values(), key=lambda r: (r.folded, -r.score, -r.posted_at, r.id))

    def _apply_edits_and_replies(self, found: dict[bytes, Review]) -> None:
        edited = self.contract.events.ReviewEdited()
        replied = self.contract.events.ReviewReplied()
        ids = [hex0x(rid) for rid in found]
        for start in range(0, len(ids), 100):  # topic lists stay short for public nodes
            chunk = ids[start : start + 100]
            for log in get_logs(self.w3, address=self.address, topics=[edited.topic, chunk], from_block=self.from_block):
                a = edited.process_log(log)["args"]
                r = found[bytes(a["review"])]
                r.rating, r.content_hash, r.uri = int(a["rating"]), bytes(a["contentHash"]), str(a["uri"])
            for log in get_logs(self.w3, address=self.address, topics=[replied.topic, chunk], from_block=self.from_block):
                a = replied.process_log(log)["args"]
                document = self.content.get(bytes(a["contentHash"]))
                found[bytes(a["review"])].replies.append(
                    {"by": a["by"], "merchant": int(a["merchant"]), "text": document.get("text") if document else None, "uri": a["uri"]}
                )

    def merchant_rating(self, merchant: int) -> MerchantRating:
        """The average of the latest ratings of the merchant's reviews (folded ones included), with their count."""
        rows = self.reviews(merchant=merchant)
        if not rows:
            return MerchantRating(merchant, None, 0)
        return MerchantRating(merchant, sum(r.rating for r in rows) / len(rows), len(rows))


class _Role:
    def __init__(self, reader: ReviewBoardReader, account: LocalAccount) -> None:
        self.reader = reader
        self.account = account
        self.address = account.address
        self.sender = Sender(reader.w3, account)

    @property
    def contract(self) -> Contract:
        return self.reader.contract


class Reviewer(_Role):
    """A buyer: review what they bought (or the shop they bought it at), vote, report."""

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
        """Review a recorded purchase (the product, or the merchant); returns the review id."""
        _check_rating(rating)
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

    def vote(self, review: bytes, helpful: bool) -> str:
        return hex0x(self.sender.transact(self.contract.functions.vote(review, helpful), label="vote on a review")["transactionHash"])

    def report(self, review: bytes, reason: str) -> str:
        key = reason.strip().lower()
        if key not in REPORT_REASONS:
            raise InputError(f"unknown reason {reason!r}: use one of {', '.join(REPORT_REASONS)}", field="reason", value=reason)
        fn = self.contract.functions.report(review, REPORT_REASONS[key])
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
