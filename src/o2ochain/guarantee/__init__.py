"""The cross-channel price guarantee: a buyer is paid when the same retailer offers the same
product for less, on any of its channels, within the guarantee window.

* :class:`GuaranteeReader` reads retailers, channels, keys, policies, published prices (and quotes
  lodged on chain), purchases, payouts and releases, and applies the rule (:func:`evaluate`)
  exactly as the contract does.
* :class:`RetailerAdmin` is the retailer's hand: channels and their keys (rotated with a grace for
  what the old key signed, or none when it was compromised), the policy (a reduction of coverage
  takes effect only after POLICY_NOTICE), the pool (fund, announce and execute a withdrawal of
  free funds), declaring a price error, releasing the cover of purchases whose claims closed.
* :class:`ChannelKey` is a channel's key: publish prices, sign quotes, record sales (one by one
  or a whole CSV, pipelined and resumable), sign receipts for buyers.
* :class:`Buyer` is the consumer: their purchases, what they are owed, when and why, claim it,
  register a signed receipt, withdraw a credit.

Every role may lodge a signed quote on chain (:meth:`ChannelKey.lodge_quote`): it then counts like
a published price whatever becomes of its key. The keeper that makes compensation automatic is
:class:`Keeper`; sales and quotes from files are :func:`read_sales_csv` and :func:`load_quotes`.

Version 2 of the contract reserves each purchase's COVER from the pool's free funds when it is
recorded, and pays compensation from PAYOUT_DELAY (a day) after the recording until PAYOUT_DELAY
after the window closes; see ``contracts/interfaces/IPriceGuarantee.sol``.

Amounts are integers in the currency's base units (wei for the native coin, 10**-6 of a dollar for
a 6-decimal stablecoin); :meth:`GuaranteeReader.units` and :meth:`GuaranteeReader.format` convert
to and from the decimal amounts people read. Receipts are identified by the hash of the receipt
number (never of personal data).
"""

from __future__ import annotations

from o2ochain.guarantee._keeper import Keeper, KeeperAction, open_log
from o2ochain.guarantee._reader import GuaranteeReader
from o2ochain.guarantee._roles import Buyer, ChannelKey, RetailerAdmin, events_in
from o2ochain.guarantee._sales import load_quotes, read_sales_csv
from o2ochain.guarantee._terms import (
    CHANNEL_KINDS,
    MAX_KEY_GRACE,
    NATIVE,
    PAYOUT_DELAY,
    POLICY_NOTICE,
    PRICE_TYPES,
    QUOTE_TYPES,
    UNTIL_ENDED,
    WITHDRAWAL_DELAY,
    ChannelInfo,
    Entitlement,
    KeyInfo,
    Offer,
    Payout,
    Policy,
    PolicyRecord,
    Purchase,
    Release,
    RetailerInfo,
    Sale,
    SignedReceipt,
    evaluate,
    format_time,
    gtin_number,
    purchase_id,
    receipt_hash,
)

__all__ = [
    "CHANNEL_KINDS",
    "MAX_KEY_GRACE",
    "NATIVE",
    "PAYOUT_DELAY",
    "POLICY_NOTICE",
    "PRICE_TYPES",
    "QUOTE_TYPES",
    "UNTIL_ENDED",
    "WITHDRAWAL_DELAY",
    "Buyer",
    "ChannelInfo",
    "ChannelKey",
    "Entitlement",
    "GuaranteeReader",
    "Keeper",
    "KeeperAction",
    "KeyInfo",
    "Offer",
    "Payout",
    "Policy",
    "PolicyRecord",
    "Purchase",
    "Release",
    "RetailerAdmin",
    "RetailerInfo",
    "Sale",
    "SignedReceipt",
    "evaluate",
    "events_in",
    "format_time",
    "gtin_number",
    "load_quotes",
    "open_log",
    "purchase_id",
    "read_sales_csv",
    "receipt_hash",
]
