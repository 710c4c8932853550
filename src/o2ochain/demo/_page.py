"""What the demo prepares for the consumer page's wallet actions.

A shopper (the page's built-in test account on the local chain, Anvil's dev account 24) is given
what a store hands a real buyer, each at one of the shopper's derived addresses
(:mod:`o2ochain.shopper`), as the page derives them from the same key; the test account's own
address is never used on chain:

- a claim code for an item, signed by the store at the till (EIP-712, see
  :meth:`o2ochain.identity.Seller.sign_claim`) for the shopper's address of that item: the page
  has it submitted by its relay to claim the item at its first sale, after which the shopper may
  review the item;
- two gift bags bought in the store at 188 after the keeper's round, recorded to the shopper's
  first purchase address at the retailer, while the web shop sells them at 133: the page shows
  what the price guarantee owes (2 x 55) and claims it, paid to that address;
- a consent to the retailer, signed by the shopper's consent address for that retailer and relayed
  by the retailer, with two recorded uses of the shopper's data: the page lists them and revokes
  or grants again;
- an unredeemed coupon voucher to show at the till as a QR code, one that none of the demo's
  printed commands is given (they redeem theirs from another file).

Nothing personal goes on chain: the shopper is addresses that nothing ties together, the claim
code and the voucher are signatures, the consent's notice is a hash.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from o2ochain import gs1
from o2ochain.client import O2OChain
from o2ochain.guarantee import Sale, receipt_hash
from o2ochain.shopper import Shopper

MILLI = 10**15
#: The privacy notice the demo's retailer shows; its keccak256 is what a consent records.
PRIVACY_NOTICE = (
    "Dalian Coast uses your contact details to fulfil your orders and, if you agree, your purchase "
    "history to send you offers. You can revoke this consent at any time from the o2ochain page."
)


@dataclass(frozen=True)
class PageScenario:
    #: The test account (what the page connects as); on chain it appears nowhere.
    shopper: str
    #: Its derived addresses the demo used: the gift bags' buyer, the item's owner, the consumer.
    purchase_address: str
    item_address: str
    consent_address: str
    claim_item: str
    claim_code: str
    purchase_gtin: str
    data_user: str
    voucher: str


def claim_code(permit: dict[str, object]) -> str:
    """The store's signed claim as the page's ``claim=`` parameter: base64url of its JSON."""
    body = {"owner": permit["owner"], "deadline": int(str(permit["deadline"])), "signature": str(permit["signature"])}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")


def run_page_scenario(
    chain: O2OChain,
    *,
    shopper: LocalAccount,
    seller: LocalAccount,
    store_key: LocalAccount,
    data_user: LocalAccount,
    item: gs1.DigitalLink,
    gtin: str,
    voucher: str,
) -> PageScenario:
    me = Shopper.from_account(shopper)
    owner = me.item_account(item.item_id).address
    permit = chain.seller(seller).sign_claim(item, owner, valid_for=30 * 86_400)
    # Bought in the store at the store's price after the web shop's cut: the guarantee matches it.
    till = chain.channel(store_key)
    buyer = me.purchase_account(till.retailer, 0).address
    sale = Sale(buyer, int(gtin), 2, 188 * MILLI, receipt_hash("ZS-12/2026-12-03/P0001"))
    till.record_sales([sale])
    # The consent is signed by the shopper's address for this retailer (it pays nothing) and relayed
    # by the retailer. Its signature lasts an hour, counted from the chain's clock when that is
    # ahead of this one.
    consumer = me.consent_account(data_user.address)
    ahead = max(0, chain.guarantee.now() - int(time.time()))
    signed = chain.consumer_consent(consumer).sign_grant(
        data_user.address,
        ["order_fulfilment", "marketing"],
        ["contact", "purchase_history"],
        valid_for=180 * 86_400,
        notice=PRIVACY_NOTICE,
        deadline_in=ahead + 3_600,
    )
    user = chain.data_user(data_user)
    user.relay_grant(signed)
    user.record_use(consumer.address, "order_fulfilment", "contact", "order ZS-12/2026-12-01/P0001")
    user.record_use(consumer.address, "marketing", "purchase_history", "newsletter 2026-12")
    return PageScenario(shopper.address, buyer, owner, consumer.address, item.uri(), claim_code(permit), gtin, data_user.address, voucher)
