"""Access-control matrix of o2ochain: every state-changing function of every deployable contract
(the ABIs in ``src/o2ochain/abi/``), who may call it, and what an outsider gets.

An *outsider* holds no role anywhere, is no brand, retailer, channel key, merchant, consumer,
buyer, author, delegate or data user, and has no balance, credit or consent of its own.

Each function is one of three kinds:

- ``RESTRICTED``: an access check refuses the outsider; ``outsider`` is the exact custom error and
  its key arguments.
- ``SIGNED``: anyone may send it, but it acts on the authority of a signature (or a Merkle proof)
  carried in the call; ``outsider`` is what a credential the outsider made itself gets, and
  ``absent`` what an empty one gets.
- ``OPEN``: permissionless by design, for the reason given; ``outsider`` is ``ALLOWED`` when the
  outsider's call goes through, or the error it gets because the function acts only on the
  caller's own records (which the outsider does not have).

A function may also carry a ``signature`` check on top of its access check (a coupon is redeemed
by a shop, and must be signed by the campaign's merchant).

``tests/security/test_access_matrix.py`` keeps this table honest: it fails when an ABI function
has no entry here or an entry names a function the ABI no longer has, and it calls every function
from the outsider on an eth-tester chain and checks the outcome written here. Argument values
are symbolic (:class:`Ref`), resolved against that chain: ``Ref("outsider")`` is the outsider's
address, ``Ref("registrant role of brand 1")`` the role id, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TypeAlias


class Kind(Enum):
    RESTRICTED = "restricted"
    SIGNED = "signed"
    OPEN = "open"


@dataclass(frozen=True)
class Ref:
    """A value of the test chain, by name (an account, a role id, an id made by the setup)."""

    name: str

    def __str__(self) -> str:
        return f"<{self.name}>"


Arg: TypeAlias = Ref | int | str | bytes


@dataclass(frozen=True)
class Refused:
    """A revert with custom error `error` and (some of) its arguments."""

    error: str
    args: dict[str, Arg] = field(default_factory=dict)

    def __str__(self) -> str:
        shown = {k: "0x" + v.hex() if isinstance(v, bytes) else str(v) for k, v in self.args.items()}
        return f"{self.error}({', '.join(f'{k}={v}' for k, v in shown.items())})"


@dataclass(frozen=True)
class Allowed:
    """The call goes through."""

    def __str__(self) -> str:
        return "allowed"


ALLOWED = Allowed()
Outcome: TypeAlias = Refused | Allowed


@dataclass(frozen=True)
class SignatureCheck:
    """A credential carried in the call: one the outsider made, and an empty one, are refused."""

    forged: Refused
    absent: Refused


@dataclass(frozen=True)
class Access:
    kind: Kind
    rule: str  # who may call it, or why anyone may
    outsider: Outcome
    signature: SignatureCheck | None = None


OUTSIDER = Ref("outsider")
ZERO = Ref("zero address")
DEFAULT_ADMIN = Ref("DEFAULT_ADMIN_ROLE")
BRAND_ADMIN = Ref("brand-admin role of brand 1")
REGISTRANT = Ref("registrant role of brand 1")
SELLER = Ref("seller role of brand 1")
RETAILER_ADMIN = Ref("admin role of retailer 1")
BRAND = 1
ONLINE, STORE = 1, 2  # channels of retailer 1


def restricted(rule: str, error: str, signature: SignatureCheck | None = None, **args: Arg) -> Access:
    return Access(Kind.RESTRICTED, rule, Refused(error, args), signature)


def signed(rule: str, forged: Refused, absent: Refused) -> Access:
    return Access(Kind.SIGNED, rule, forged, SignatureCheck(forged, absent))


def open_(rule: str, outsider: Outcome = ALLOWED) -> Access:
    return Access(Kind.OPEN, rule, outsider)


def unauthorized(role: Ref) -> Refused:
    return Refused("AccessControlUnauthorizedAccount", {"account": OUTSIDER, "neededRole": role})


def role_admin(rule: str, role: Ref) -> Access:
    return Access(Kind.RESTRICTED, rule, unauthorized(role))


MATRIX: dict[str, dict[str, Access]] = {
    "ProductRegistry": {
        "registerBrand": role_admin("registry admin (DEFAULT_ADMIN_ROLE)", DEFAULT_ADMIN),
        "assignCompanyPrefix": role_admin("registry admin (DEFAULT_ADMIN_ROLE)", DEFAULT_ADMIN),
        "registerProduct": role_admin("the brand's registrants and brand admins", REGISTRANT),
        "registerItems": role_admin("the brand's registrants", REGISTRANT),
        "commitLot": role_admin("the brand's registrants", REGISTRANT),
        "openLine": role_admin("the brand's registrants", REGISTRANT),
        "registerItem": restricted(
            "a registrant key with an open line (openLine checks the role; losing it closes the line)",
            "IdentityNoOpenLine",
            account=OUTSIDER,
        ),
        "commitLineRoot": restricted(
            "a registrant key with an open line for the lot (openLine checks the role; losing it closes the line)",
            "IdentityNoOpenLine",
            account=OUTSIDER,
        ),
        "closeLine": restricted("a key with an open line (its own line only)", "IdentityNoOpenLine", account=OUTSIDER),
        "proveItem": signed(
            "anyone holding a Merkle proof of the item under a root the brand's registrant committed",
            Refused("IdentityProofInvalid", {"item": Ref("item"), "root": Ref("root")}),
            Refused("IdentityProofInvalid", {"item": Ref("item"), "root": Ref("root")}),
        ),
        "claim": role_admin("the brand's sellers and registrants", SELLER),
        "claimWithSignature": signed(
            "anyone relaying a first-sale claim a seller of the item's brand signed (EIP-712 Claim)",
            Refused("IdentitySignerNotSeller", {"signer": OUTSIDER, "brand": BRAND}),
            Refused("ECDSAInvalidSignatureLength", {"length": 0}),
        ),
        "recallItem": role_admin("the brand's registrants and brand admins", REGISTRANT),
        "recallLot": role_admin(
            "the brand's registrants and brand admins; a lot nothing was registered in yet, brand admins only", REGISTRANT
        ),
        "decommission": role_admin("the brand's registrants and brand admins", REGISTRANT),
        "grantRole": role_admin("the role's admin (brand admin for registrant and seller roles)", BRAND_ADMIN),
        "revokeRole": role_admin("the role's admin (brand admin for registrant and seller roles)", BRAND_ADMIN),
        "renounceRole": restricted(
            "the role holder, for itself only (callerConfirmation must be the caller)", "AccessControlBadConfirmation"
        ),
        "multicall": open_(
            "batches calls to this contract by delegatecall, so each call keeps the caller as msg.sender "
            "and its own access check: an outsider's batch is refused by the first restricted call",
            unauthorized(DEFAULT_ADMIN),
        ),
    },
    "TraceLedger": {
        "grantActor": restricted(
            "the brand's admin in the registry", "TraceNotBrandAdmin", brand=BRAND, account=OUTSIDER
        ),
        "revokeActor": restricted(
            "the brand's admin in the registry", "TraceNotBrandAdmin", brand=BRAND, account=OUTSIDER
        ),
        "setActorProfile": restricted(
            "the brand's admin in the registry: the names a shopper reads are the brand's", "TraceNotBrandAdmin", brand=BRAND, account=OUTSIDER
        ),
        "setRepository": restricted("an active actor of the brand", "TraceNotActor", brand=BRAND, account=OUTSIDER),
        "record": restricted("an active actor of the brand", "TraceNotActor", brand=BRAND, account=OUTSIDER),
    },
    "ConsentRegistry": {
        "addDelegate": open_("a consumer names a delegate of its own; it acts on no one else's consents"),
        "revokeDelegate": open_(
            "a consumer revokes a delegate of its own: the outsider, naming someone else's delegate, has none",
            Refused("ConsentDelegateUnknown", {"consumer": OUTSIDER, "delegate": Ref("delegate")}),
        ),
        "grant": restricted(
            "the consumer named in the terms, or its valid delegate",
            "ConsentNotAuthorised",
            consumer=Ref("consumer"),
            caller=OUTSIDER,
        ),
        "grantWithSignature": signed(
            "anyone relaying a Grant the consumer (or its valid delegate, or its ERC-1271 wallet) signed",
            Refused("ConsentSignerNotAuthorised", {"consumer": Ref("consumer"), "signer": OUTSIDER}),
            Refused("ConsentSignerNotAuthorised", {"consumer": Ref("consumer"), "signer": ZERO}),
        ),
        "revoke": open_("a consumer revokes its own consent to a data user; no one else's is touched"),
        "revokeFor": restricted(
            "the consumer's valid delegate (or the consumer)",
            "ConsentNotAuthorised",
            consumer=Ref("consumer"),
            caller=OUTSIDER,
        ),
        "revokeWithSignature": signed(
            "anyone relaying a Revoke the consumer (or its valid delegate, or its ERC-1271 wallet) signed",
            Refused("ConsentSignerNotAuthorised", {"consumer": Ref("consumer"), "signer": OUTSIDER}),
            Refused("ConsentSignerNotAuthorised", {"consumer": Ref("consumer"), "signer": ZERO}),
        ),
        "recordUse": restricted(
            "a data user the consumer's live consent covers for the purpose and category (the caller is the data user)",
            "ConsentNotGranted",
            consumer=Ref("consumer"),
            dataUser=OUTSIDER,
            purpose=1,
            category=0,
        ),
        "recordUses": restricted(
            "a data user the consumer's live consent covers, for every use of the batch",
            "ConsentNotGranted",
            consumer=Ref("consumer"),
            dataUser=OUTSIDER,
            purpose=1,
            category=0,
        ),
    },
    "PriceGuarantee": {
        "registerRetailer": open_("anyone may register a retailer; it administers only its own pool, channels and policies"),
        "addChannel": role_admin("the retailer's admins", RETAILER_ADMIN),
        "rotateChannelKey": role_admin(
            "the channel's retailer's admins (the grace they give the old key's receipts and vouchers is at most 7 days)",
            RETAILER_ADMIN,
        ),
        "setPolicy": role_admin("the retailer's admins", RETAILER_ADMIN),
        "publishPrice": restricted("a live channel key (for its own channel)", "GuaranteeNotChannelKey", caller=OUTSIDER),
        "endPrice": restricted("a live channel key (for its own channel's prices)", "GuaranteeNotChannelKey", caller=OUTSIDER),
        "declarePriceError": role_admin("the channel's retailer's admins", RETAILER_ADMIN),
        "lodgeQuote": signed(
            "anyone (a keeper keeping a buyer's evidence) lodging a Quote signed by a key of its channel that "
            "accepts it now (live at the quote's start and live now)",
            Refused("GuaranteeSignerInvalid", {"channel": ONLINE, "signer": OUTSIDER}),
            Refused("GuaranteeSignerInvalid", {"channel": ONLINE, "signer": ZERO}),
        ),
        "recordPurchase": restricted("a live channel key (the sale is on its channel)", "GuaranteeNotChannelKey", caller=OUTSIDER),
        "recordPurchases": restricted("a live channel key (the sales are on its channel)", "GuaranteeNotChannelKey", caller=OUTSIDER),
        "registerPurchase": signed(
            "anyone (the buyer) registering a Receipt signed by a key of the sale's channel that accepts it now "
            "(live at the sale, and live now or within its rotation's grace)",
            Refused("GuaranteeSignerInvalid", {"channel": STORE, "signer": OUTSIDER}),
            Refused("GuaranteeSignerInvalid", {"channel": STORE, "signer": ZERO}),
        ),
        "claimWithPrice": open_(
            "any keeper may trigger a claim: the rule is checked against a price published on chain, "
            "and the payout always goes to the purchase's buyer"
        ),
        "claimWithQuote": signed(
            "any keeper, with a Quote signed by a key of the offering channel live at the quote's start and live now; "
            "the payout goes to the buyer",
            Refused("GuaranteeSignerInvalid", {"channel": ONLINE, "signer": OUTSIDER}),
            Refused("GuaranteeSignerInvalid", {"channel": ONLINE, "signer": ZERO}),
        ),
        "fund": open_("anyone may add money to a retailer's pool (money only comes in)"),
        "release": open_(
            "anyone may return the unclaimed cover of purchases whose claims have closed to their retailer's free "
            "funds: nothing leaves the pool, nobody is paid"
        ),
        "announceWithdrawal": role_admin("the retailer's admins", RETAILER_ADMIN),
        "cancelWithdrawal": role_admin("the retailer's admins", RETAILER_ADMIN),
        "executeWithdrawal": role_admin("the retailer's admins", RETAILER_ADMIN),
        "withdrawCredit": open_(
            "a buyer pulls its own credit (a payout its wallet refused): the outsider has none",
            Refused("GuaranteeNothingToWithdraw", {"account": OUTSIDER, "currency": ZERO}),
        ),
        "grantRole": role_admin("the role's admin (a retailer's admin role administers itself)", RETAILER_ADMIN),
        "revokeRole": role_admin("the role's admin (a retailer's admin role administers itself)", RETAILER_ADMIN),
        "renounceRole": restricted(
            "the role holder, for itself only (callerConfirmation must be the caller)", "AccessControlBadConfirmation"
        ),
    },
    "ReviewBoard": {
        "setSellerAuthorised": role_admin("the brand's admins in the product registry (brand 0 has none)", BRAND_ADMIN),
        "setMerchantProfile": role_admin("the admins of the channel's retailer in the guarantee", RETAILER_ADMIN),
        "reviewPurchase": restricted(
            "the buyer of a purchase the guarantee recorded", "ReviewNotBuyer", account=OUTSIDER, buyer=Ref("buyer")
        ),
        "reviewItem": restricted(
            "the first buyer who claimed the item at its first sale", "ReviewNotBuyer", account=OUTSIDER, buyer=Ref("buyer")
        ),
        "editReview": restricted("the review's author", "ReviewNotAuthor", review=Ref("review"), account=OUTSIDER),
        "reply": restricted(
            "a live key of the reviewed merchant channel, or its retailer's admins",
            "ReviewNotMerchant",
            review=Ref("review"),
            account=OUTSIDER,
        ),
        "vote": restricted(
            "a verified buyer of what the review is about but the author, once per review: the caller holds the ticket "
            "it shows (for a product review, an item of the product it claimed, or its purchase of the product from a "
            "seller the product's brand authorised; for a merchant review, its purchase from the merchant's retailer)",
            "ReviewNotBuyer",
            account=OUTSIDER,
            buyer=Ref("voter"),
        ),
        "report": restricted(
            "a verified buyer of what the review is about, once per review, with a ticket it holds (as vote); three "
            "reports fold it (it stays readable)",
            "ReviewNotBuyer",
            account=OUTSIDER,
            buyer=Ref("voter"),
        ),
    },
    "CouponBook": {
        "createCampaign": role_admin("the admins of the merchant channel's retailer in the guarantee", RETAILER_ADMIN),
        "redeem": restricted(
            "a live channel key (a shop) of the campaign's retailer, with a voucher a key of the campaign's merchant signed",
            "CouponNotShop",
            signature=SignatureCheck(
                forged=Refused("CouponSignatureInvalid", {"signer": OUTSIDER}),
                absent=Refused("CouponSignatureInvalid", {"signer": ZERO}),
            ),
            caller=OUTSIDER,
        ),
    },
    "Forwarder": {
        "execute": signed(
            "anyone (a relayer) sending a ForwardRequest its `from` signed (EIP-712, per-signer nonce, deadline) to a "
            "contract that trusts the forwarder (the ReviewBoard): the call acts for the signer only",
            Refused("ERC2771ForwarderInvalidSigner", {"signer": OUTSIDER, "from": Ref("voter")}),
            Refused("ERC2771ForwarderInvalidSigner", {"signer": ZERO, "from": Ref("voter")}),
        ),
        "executeBatch": signed(
            "anyone (a relayer) sending signed ForwardRequests, as execute; with a zero refund receiver every request "
            "must be valid, else an invalid one is skipped (nothing is done on its behalf)",
            Refused("ERC2771ForwarderInvalidSigner", {"signer": OUTSIDER, "from": Ref("voter")}),
            Refused("ERC2771ForwarderInvalidSigner", {"signer": ZERO, "from": Ref("voter")}),
        ),
    },
    "TestStablecoin": {
        "mint": open_("test token of local chains and tests only, minted by anyone (never deploy it where it could pass for money)"),
        "approve": open_("ERC-20: sets the caller's own allowance"),
        "transfer": open_(
            "ERC-20: moves the caller's own balance: the outsider has none",
            Refused("ERC20InsufficientBalance", {"sender": OUTSIDER, "balance": 0, "needed": 1_000_000}),
        ),
        "transferFrom": restricted(
            "a spender the owner approved, up to its allowance",
            "ERC20InsufficientAllowance",
            spender=OUTSIDER,
            allowance=0,
            needed=1_000_000,
        ),
    },
}


def markdown() -> str:
    """The matrix as a Markdown table: ``python -m tests.security.access_matrix``."""
    lines = ["| function | kind | who may call it | an outsider gets |", "|---|---|---|---|"]
    for contract, table in MATRIX.items():
        for name, access in table.items():
            outcome = str(access.outsider)
            if access.signature is not None:
                outcome += f"; forged credential: {access.signature.forged}; none: {access.signature.absent}"
            lines.append(f"| `{contract}.{name}` | {access.kind.value} | {access.rule} | {outcome} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
