"""What the demo prepares for the consumer page's wallet actions.

A shopper (the page's built-in test account on the local chain, Anvil's dev account 24) is given
what a store hands a real buyer:

- a claim code for an item, signed by the store at the till (EIP-712, see
  :meth:`o2ochain.identity.Seller.sign_claim`): the page submits it to claim the item at its first
  sale, after which the shopper may review the item;
- two gift bags bought in the store at 188 after the keeper's round, while the web shop sells them
  at 133: the page shows what the price guarantee owes (2 x 55) and claims it;
- a consent to the retailer with two recorded uses of the shopper's data: the page lists them and
  revokes or grants again;
- an unredeemed coupon voucher to show at the till as a QR code.

Nothing personal goes on chain: the shopper is an address, the claim code and the voucher are
signatures, the consent's notice is a hash.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from o2ochain import gs1
from o2ochain.client import O2OChain
from o2ochain.guarantee import Sale, receipt_hash

__all__ = ["PRIVACY_NOTICE", "PageScenario", "claim_code", "run_page_scenario"]

MILLI = 10**15
#: The privacy notice the demo's retailer shows; its keccak256 is what a consent records.
PRIVACY_NOTICE = (
    "Dalian Coast uses your contact details to fulfil your orders and, if you agree, your purchase "
    "history to send you offers. You can revoke this consent at any time from the o2ochain page."
)


@dataclass(frozen=True)
class PageScenario:
    shopper: str
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
    vouchers: Path,
) -> PageScenario:
    permit = chain.seller(seller).sign_claim(item, shopper.address, valid_for=30 * 86_400)
    # Bought in the store at the store's price after the web shop's cut: the guarantee matches it.
    sale = Sale(shopper.address, int(gtin), 2, 188 * MILLI, receipt_hash("ZS-12/2026-12-03/P0001"))
    chain.channel(store_key).record_sales([sale])
    consent = chain.consumer_consent(shopper)
    consent.grant(
        data_user.address,
        ["order_fulfilment", "marketing"],
        ["contact", "purchase_history"],
        valid_for=180 * 86_400,
        notice=PRIVACY_NOTICE,
    )
    user = chain.data_user(data_user)
    user.record_use(shopper.address, "order_fulfilment", "contact", "order ZS-12/2026-12-01/P0001")
    user.record_use(shopper.address, "marketing", "purchase_history", "newsletter 2026-12")
    voucher = str(json.loads(vouchers.read_text(encoding="utf-8").splitlines()[0])["payload"])  # not redeemed by the demo
    return PageScenario(shopper.address, item.uri(), claim_code(permit), gtin, data_user.address, voucher)
