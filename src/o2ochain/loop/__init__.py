"""The O2O loop: merchant pages, verified-buyer reviews and coupons.

* Reviews (the ReviewBoard): only a buyer can review, on a purchase the retailer recorded or an
  item claimed at first sale, one review per proof and subject. :class:`ReviewBoardReader` lists
  and ranks them (:func:`usefulness`), :class:`Reviewer` writes, edits, votes and reports,
  :class:`MerchantDesk` publishes a merchant's profile and replies. Texts and photos stay off
  chain in a content-addressed :class:`ContentStore`; the chain holds their keccak256.
* Coupons (the CouponBook): a retailer opens a campaign (:class:`CouponIssuer`), a merchant's key
  signs vouchers off chain, each shown as a QR code, and any shop of the same retailer redeems
  one on chain, once (:class:`Shop`); :class:`CouponBookReader` reads the campaign's figures.
"""

from __future__ import annotations

from o2ochain.loop._coupons import (
    MAX_VOUCHERS,
    PAYLOAD_PREFIX,
    CampaignFigures,
    CouponBookReader,
    CouponIssuer,
    Shop,
    Voucher,
    read_vouchers,
    write_vouchers,
)
from o2ochain.loop._reviews import (
    REPORT_REASONS,
    SUBJECTS,
    ContentStore,
    MerchantDesk,
    MerchantRating,
    Review,
    ReviewBoardReader,
    Reviewer,
    ReviewList,
    Ticket,
    parse_review_id,
    review_document,
    usefulness,
    wilson,
)

__all__ = [
    "MAX_VOUCHERS",
    "PAYLOAD_PREFIX",
    "REPORT_REASONS",
    "SUBJECTS",
    "CampaignFigures",
    "ContentStore",
    "CouponBookReader",
    "CouponIssuer",
    "MerchantDesk",
    "MerchantRating",
    "Review",
    "ReviewBoardReader",
    "ReviewList",
    "Reviewer",
    "Shop",
    "Ticket",
    "Voucher",
    "parse_review_id",
    "read_vouchers",
    "review_document",
    "usefulness",
    "wilson",
    "write_vouchers",
]
