"""PriceGuarantee against the retailer itself: a hypothesis state machine whose actor is the
retailer (its admin and every one of its channel keys), beside honest buyers and a keeper, on a
real Anvil, checked after every step against a Python model of the contract.

The retailer may set any policy (switch a class to "no guarantee" and back, caps up to 2^96 - 1),
publish any price (1 wei included) and end it or declare it a price error, record sales to its
accomplices at any unit price and quantity, sign quotes and receipts with live and revoked keys
(back-dated or not) and lodge or claim with them, rotate its keys with any grace (0 included, or
more than allowed), fund, announce, execute and cancel withdrawals, claim for any purchase, and
release covers. Honest buyers buy at realistic prices, recorded by the retailer's till; the keeper
lodges every quote shown to shoppers and claims every honest purchase as soon as a qualifying offer
exists and its payout delay has passed (it wakes at every purchase's claimable time).

What must hold (issue 14, point 1), after every step:

1. Accounting: ``paid + balance + withdrawn == funded``, ``reserved <= balance``, ``reserved`` is
   the sum of the unclaimed cover of the purchases, and every figure is the model's.
2. Nothing leaves faster than a withdrawal: every payment for an accomplice's purchase comes at
   least PAYOUT_DELAY (= WITHDRAWAL_DELAY) after the purchase was recorded, and all it is paid is
   within its cover, which was within the pool's free funds when it was recorded; every withdrawal
   is executed at least WITHDRAWAL_DELAY after its announcement and takes at most the free funds.
3. Honest buyers first: an honest purchase keeps the cover it was recorded with (nothing the
   retailer does later shrinks it), and whenever the keeper finds it owed, the claim succeeds and
   pays exactly ``min(rule, cover) - compensated``; the keeper sweeps right after every payment
   to an accomplice, so what honest purchases are owed then is paid in full then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from tests.contracts.conftest_price import (
    DAY,
    DOMAIN_NAME,
    DOMAIN_VERSION,
    GIFT_BAG,
    MAX_KEY_GRACE,
    NATIVE,
    NATIVE_UNIT,
    ONLINE,
    OTHER_GTIN,
    P_COVER,
    P_GTIN,
    P_PURCHASED_AT,
    P_QUANTITY,
    P_RECORDED_AT,
    P_UNIT_PRICE,
    PAYOUT_DELAY,
    POLICY_NOTICE,
    PRICE_CLEARANCE,
    PRICE_ERROR,
    PRICE_LIMITED_QUANTITY,
    PRICE_PROMOTION,
    PRICE_REGULAR,
    PURCHASE_FIELDS,
    RETAILER_VIEW_FIELDS,
    STORE,
    WITHDRAWAL_DELAY,
    ZERO_ADDRESS,
    bit,
    purchase_digest,
    purchase_id,
    receipt_hash,
)
from tests.properties._chain import Abi, Tx
from tests.properties.conftest import World, machine_settings

U = NATIVE_UNIT
HOUR = 3_600
# Steps per example: enough for a sale, a day's wait, a claim and a release, with attacks between.
STEPS = 20
NO_TERMS = (0, 0, 0, 0, 0)
MAX_UINT96 = 2**96 - 1
QUOTE_TYPES = ["uint32", "uint32", "uint64", "address", "uint96", "uint8", "uint40", "uint40", "uint64"]
RECEIPT_TYPES = ["uint32", "uint32", "address", "uint64", "uint32", "uint96", "uint40", "bytes32"]
QUOTE_TYPEHASH = keccak(
    text="Quote(uint32 retailer,uint32 channel,uint64 gtin,address currency,uint96 price,uint8 priceType,"
    "uint40 validFrom,uint40 validUntil,uint64 nonce)"
)
RECEIPT_TYPEHASH = keccak(
    text="Receipt(uint32 retailer,uint32 channel,address buyer,uint64 gtin,uint32 quantity,uint96 unitPrice,"
    "uint40 purchasedAt,bytes32 receiptHash)"
)
DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")


def machine_key(n: int) -> tuple[str, bytes]:
    """The n-th channel key the retailer rotates to (the same in every example: each reverts)."""
    private = keccak(f"o2ochain retailer machine key {n}".encode())
    return Account.from_key(private).address, private


ACCOMPLICES = tuple(Account.from_key(keccak(f"o2ochain retailer accomplice {i}".encode())).address for i in range(3))

# What the retailer draws from: any terms (switching a class to "no guarantee", a tolerance of the
# whole price, every type excluded, a cap of 1 wei or of 2^96 - 1) ...
WINDOWS = st.sampled_from([0, HOUR, DAY, 3 * DAY, 10 * DAY, 10 * DAY])
TERMS = st.tuples(
    WINDOWS,
    st.sampled_from([0, 0, 500, 3_000, 10_000]),
    st.sampled_from([0, 5 * U, 50 * U]),
    st.sampled_from([1, 30 * U, 100 * U, 400 * U, MAX_UINT96]),
    st.sampled_from([0, 0, bit(PRICE_CLEARANCE), bit(PRICE_ERROR), bit(PRICE_CLEARANCE, PRICE_ERROR), 0x1F]),
)
# ... and the terms it opens its shop with: a guarantee worth the name.
OPENING_TERMS = st.tuples(
    st.sampled_from([DAY, 3 * DAY, 10 * DAY]),
    st.sampled_from([0, 500]),
    st.sampled_from([0, 5 * U, 20 * U]),
    st.sampled_from([30 * U, 100 * U, 400 * U, MAX_UINT96]),
    st.sampled_from([0, bit(PRICE_CLEARANCE), bit(PRICE_ERROR)]),
)
GTINS = st.sampled_from([GIFT_BAG, OTHER_GTIN])
PRICE_TYPES = st.sampled_from([PRICE_REGULAR, PRICE_PROMOTION, PRICE_CLEARANCE, PRICE_LIMITED_QUANTITY, PRICE_ERROR])
ANY_PRICE = st.sampled_from([1, 2, 10 * U, 100 * U, 133 * U, 150 * U, 187 * U, 250 * U, 2**80, MAX_UINT96])
ANY_UNIT_PRICE = st.sampled_from([1, 2, 100 * U, 188 * U, 2**80, MAX_UINT96])
ANY_QUANTITY = st.sampled_from([1, 2, 1_000, 2**32 - 1])
AMOUNTS = st.sampled_from([1, 10 * U, 100 * U, 300 * U, 1_000 * U])
GRACES = st.sampled_from([0, 0, 1, HOUR, DAY, MAX_KEY_GRACE, MAX_KEY_GRACE + 1])
BACK = st.sampled_from([0, 1, 60, HOUR, DAY, 3 * DAY])
# Time passing after an action (the keeper wakes on the way): most rules draw one, so that days go
# by in most examples (hypothesis leaves a random set of rules out of each example).
THEN = st.sampled_from([0, 0, 60, HOUR, DAY, DAY + 1, 2 * DAY])
PICK = st.integers(0, 2**16)


@dataclass
class Key:
    """A channel key as the contract keeps it (``channelKey``), with its private key."""

    address: str
    private: bytes
    channel: int
    active_from: int
    revoked_at: int = 0
    grace: int = 0

    @property
    def live(self) -> bool:
        return self.revoked_at == 0

    def accepts(self, signed_at: int, now: int, consumer_held: bool) -> bool:
        """Types.sol ``channelKeyAccepts``."""
        if self.active_from == 0 or self.active_from > signed_at:
            return False
        if self.revoked_at == 0:
            return True
        return signed_at < self.revoked_at and consumer_held and now < self.revoked_at + self.grace


@dataclass
class Policy:
    id: int
    gtin: int
    terms: tuple[int, ...]
    since: int


@dataclass
class Offer:
    """A price record on chain: published by a key, or a lodged quote."""

    channel: int
    gtin: int
    valid_from: int
    price: int
    price_type: int
    valid_until: int
    ended_at: int = 0
    lodged: bool = False

    @property
    def until(self) -> int:
        return self.ended_at or self.valid_until


@dataclass
class Quote:
    """A quote the retailer signed: ``shown`` to shoppers (the keeper lodges it) or kept for itself."""

    values: tuple[Any, ...]
    signature: bytes
    key: Key
    shown: bool
    lodged: bool = False

    @property
    def offer(self) -> Offer:
        _, channel, gtin, _, price, price_type, valid_from, valid_until, _ = self.values
        return Offer(channel, gtin, valid_from, price, price_type, valid_until)


@dataclass
class Bought:
    """A recorded purchase and what the model knows of it."""

    purchase: tuple[Any, ...]
    honest: bool
    terms: tuple[int, ...]
    free_at_recording: int
    unclaimed: int = 0
    released: bool = False
    paid: int = 0  # every CompensationPaid amount for it
    id: bytes = b""
    digest: int = 0  # purchaseDigest(id): binds every field, the cover included
    views: tuple[str, str] = ("", "")  # calldata of purchaseState(id) and purchaseDigest(id)

    def __post_init__(self) -> None:
        self.unclaimed = self.cover
        self.id = purchase_id(self.purchase)
        self.digest = purchase_digest(self.purchase)

    @property
    def cover(self) -> int:
        return int(self.purchase[P_COVER])

    @property
    def compensated(self) -> int:
        return self.cover - self.unclaimed

    @property
    def claimable_at(self) -> int:
        return int(self.purchase[P_RECORDED_AT]) + PAYOUT_DELAY

    @property
    def closes_at(self) -> int:
        return int(self.purchase[P_PURCHASED_AT]) + self.terms[0] + PAYOUT_DELAY


@dataclass
class Withdrawal:
    amount: int
    to: str
    announced_at: int


@dataclass
class Pool:
    funded: int = 0
    balance: int = 0
    reserved: int = 0
    paid: int = 0
    withdrawn: int = 0

    @property
    def free(self) -> int:
        return self.balance - self.reserved


@dataclass
class Claim:
    """The model's verdict on a claim now: the error, or the total and what it pays."""

    error: str
    total: int = 0
    pay: int = 0


def reduces(current: tuple[int, ...], new: tuple[int, ...]) -> bool:
    """PriceGuarantee._reduces: do ``new`` terms give a purchase less than ``current``?"""
    if current[0] == 0:
        return False
    return new[0] < current[0] or new[1] > current[1] or new[2] > current[2] or new[3] < current[3] or bool(new[4] & ~current[4])


class TestRetailerAgainstItsPool(RuleBasedStateMachine):
    """One native-coin retailer (admin, online shop and store keys) playing against its own pool."""

    __test__ = False  # run by test_retailer_cannot_drain_its_own_pool, not collected itself

    world: World  # set by the test
    domain_separator: bytes = b""
    start: tuple[int, int] = (0, 0)  # activeFrom of the online shop's and the store's keys

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.node, self.pg, self.abi = w.node, w.pg, Abi.of(w.pg)
        self.snapshot = self.node.snapshot()
        # Ahead of the wall clock; every block is exactly one second after the previous one.
        self.node.at(self.node.time + 10_000)
        self.admin, self.keeper, self.buyers = w.brand_admin, w.keeper, w.consumers
        if not all(self.start):  # the same in every example, which starts from the same state
            online, store = self.node.views([(self.pg, "channelKey", [w.online]), (self.pg, "channelKey", [w.store])])
            TestRetailerAgainstItsPool.start = (online[2], store[2])
        self.keys = [Key(w.online, w.keys[w.online], ONLINE, self.start[0]), Key(w.store, w.keys[w.store], STORE, self.start[1])]
        self.live: dict[int, Key | None] = {ONLINE: self.keys[0], STORE: self.keys[1]}
        self.rotations = 0
        self.policies: dict[int, list[Policy]] = {0: [], GIFT_BAG: [], OTHER_GTIN: []}  # newest last
        self.policy_count = 0
        self.offers: dict[tuple[int, int, int], Offer] = {}
        self.quotes: list[Quote] = []
        self.bought: list[Bought] = []
        self.by_id: dict[bytes, Bought] = {}
        self.pool = Pool()
        self.withdrawal: Withdrawal | None = None
        self.receipts = 0
        self.payees = (*self.buyers, *ACCOMPLICES)
        self.start_balances = dict(zip(self.payees, self.balances(), strict=True))
        self.received = dict.fromkeys(self.payees, 0)
        self.retailer_call = self.abi.encode("retailer", [NATIVE])
        self.clock = 0  # see now
        if not TestRetailerAgainstItsPool.domain_separator:
            chain_id = int(self.node.rpc("eth_chainId", []), 16)
            TestRetailerAgainstItsPool.domain_separator = keccak(
                abi_encode(
                    ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                    [DOMAIN_TYPEHASH, keccak(text=DOMAIN_NAME), keccak(text=DOMAIN_VERSION), chain_id, self.pg.address],
                )
            )

    def teardown(self) -> None:
        self.node.revert(self.snapshot)

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def now(self) -> int:
        """The time of the next transaction (``block.timestamp`` of what is sent next), or the
        time the keeper is considering waking at (see :meth:`advance`)."""
        return self.clock or self.node.next_time

    def send(self, fn: str, args: list[Any], sender: str, value: int = 0) -> Tx:
        tx = self.node.send(self.pg, fn, args, sender, value=value)
        at = self.node.time
        for event in self.node.events(self.pg, tx, "CompensationPaid"):
            b = self.by_id[event["purchase"]]
            b.paid += event["amount"]
            # Invariant 2: nothing leaves faster than a withdrawal.
            if not b.honest:
                assert at >= b.claimable_at == b.purchase[P_RECORDED_AT] + WITHDRAWAL_DELAY, (at, b.purchase)
                assert b.paid <= b.cover <= b.free_at_recording, (b.paid, b.cover, b.free_at_recording)
        return tx

    def refused(self, fn: str, args: list[Any], sender: str, error: str) -> None:
        name, values = self.node.refusal(self.pg, fn, args, sender)
        assert name == error, (fn, name, values, error)

    def balances(self) -> list[int]:
        return [int(b, 16) for b in self.node.batch([("eth_getBalance", [a, "latest"]) for a in self.payees])]

    def sign(self, typehash: bytes, types: list[str], values: tuple[Any, ...], key: Key) -> bytes:
        struct = keccak(abi_encode(["bytes32", *types], [typehash, *values]))
        digest = keccak(b"\x19\x01" + self.domain_separator + struct)
        return bytes(Account.unsafe_sign_hash(digest, key.private).signature)

    def next_receipt(self) -> bytes:
        self.receipts += 1
        return receipt_hash(f"machine till / receipt {self.receipts:06d}")

    # -- the model ------------------------------------------------------------------------------

    def policy_at(self, gtin: int, at: int) -> Policy | None:
        """PriceGuarantee._policyAt: the class policy in effect at ``at``, else the default's."""
        for scope in (gtin, 0) if gtin else (0,):
            for p in reversed(self.policies[scope]):
                if p.since <= at:
                    return p
        return None

    def cover(self, terms: tuple[int, ...], unit_price: int, quantity: int, purchased_at: int) -> int:
        if terms[0] == 0 or self.now > purchased_at + terms[0]:
            return 0
        return min(terms[3], (unit_price - 1) * quantity, self.pool.free)

    def claim_verdict(self, b: Bought, offer: Offer, quote: Quote | None = None) -> Claim:
        """What claiming ``b`` with ``offer`` (a price record, or the signed ``quote``) does now,
        in the contract's order of checks."""
        p, terms, now = b.purchase, b.terms, self.now
        if b.cover == 0:
            return Claim("GuaranteeNotCovered")
        if now < b.claimable_at:
            return Claim("GuaranteeClaimTooEarly")
        if now > b.closes_at:
            return Claim("GuaranteeWindowClosed")
        if quote is not None:
            if offer.gtin != p[P_GTIN]:
                return Claim("GuaranteeProductMismatch")
            if not quote.key.accepts(offer.valid_from, now, consumer_held=False):
                return Claim("GuaranteeSignerInvalid")
        if (terms[4] >> offer.price_type) & 1:
            return Claim("GuaranteePriceTypeExcluded")
        purchased_at = p[P_PURCHASED_AT]
        if offer.valid_from > purchased_at + terms[0] or offer.until <= purchased_at or offer.until <= offer.valid_from:
            return Claim("GuaranteeOfferOutsideWindow")  # the last: an offer ended before it started
        if offer.valid_from > now:
            return Claim("GuaranteeOfferNotStarted")
        unit_price, quantity = p[P_UNIT_PRICE], p[P_QUANTITY]
        tolerance = max(terms[2], unit_price * terms[1] // 10_000)
        if unit_price <= offer.price or unit_price - offer.price <= tolerance:
            return Claim("GuaranteeWithinTolerance")
        total = min((unit_price - offer.price) * quantity, terms[3], b.cover)
        if total <= b.compensated:
            return Claim("GuaranteeAlreadyCompensated", total)
        return Claim("", total, total - b.compensated)

    def claim(self, b: Bought, offer: Offer, quote: Quote | None, sender: str) -> Claim:
        """Claim ``b`` with ``offer`` as the model predicts: paid exactly, or refused with its error."""
        verdict = self.claim_verdict(b, offer, quote)
        if quote is not None:
            fn, args = "claimWithQuote", [b.purchase, quote.values, quote.signature]
        else:
            fn, args = "claimWithPrice", [b.purchase, offer.channel, offer.valid_from]
        if verdict.error:
            self.refused(fn, args, sender, verdict.error)
            return verdict
        tx = self.send(fn, args, sender)
        (event,) = self.node.events(self.pg, tx, "CompensationPaid")
        assert (event["amount"], event["compensated"], event["buyer"]) == (verdict.pay, verdict.total, b.purchase[2])
        assert (event["offerChannel"], event["offerPrice"], event["offerFrom"], event["quote"]) == (
            offer.channel,
            offer.price,
            offer.valid_from,
            quote is not None,
        )
        b.unclaimed -= verdict.pay
        self.pool.balance -= verdict.pay
        self.pool.reserved -= verdict.pay
        self.pool.paid += verdict.pay
        self.received[b.purchase[2]] += verdict.pay
        return verdict

    def lodge_verdict(self, q: Quote) -> str:
        if not q.key.accepts(q.values[6], self.now, consumer_held=False):
            return "GuaranteeSignerInvalid"
        if (q.values[1], q.values[2], q.values[6]) in self.offers:
            return "GuaranteePriceExists"
        return ""

    def lodge(self, q: Quote, sender: str) -> None:
        error = self.lodge_verdict(q)
        if error:
            self.refused("lodgeQuote", [q.values, q.signature], sender, error)
            return
        tx = self.send("lodgeQuote", [q.values, q.signature], sender)
        offer = q.offer
        (event,) = self.node.events(self.pg, tx, "QuoteLodged")
        assert event == {
            "gtin": offer.gtin,
            "channel": offer.channel,
            "price": offer.price,
            "priceType": offer.price_type,
            "validFrom": offer.valid_from,
            "validUntil": offer.valid_until,
        }
        offer.lodged = True
        self.offers[(offer.channel, offer.gtin, offer.valid_from)] = offer
        q.lodged = True

    def recorded(self, tx: Tx, expected: tuple[Any, ...], honest: bool, terms: tuple[int, ...], free: int) -> Bought:
        (event,) = self.node.events(self.pg, tx, "PurchaseRecorded")
        purchase = tuple(event[name] for name in PURCHASE_FIELDS)
        assert purchase == expected, (purchase, expected)
        b = Bought(purchase, honest, terms, free)
        b.views = (self.abi.encode("purchaseState", [b.id]), self.abi.encode("purchaseDigest", [b.id]))
        assert event["purchase"] == b.id
        assert b.cover <= free  # a cover only ever comes from free funds
        self.bought.append(b)
        self.by_id[b.id] = b
        self.pool.reserved += b.cover
        return b

    # -- the keeper -----------------------------------------------------------------------------

    def keeper_sweep(self) -> None:
        """The keeper lodges every quote shown to shoppers that it still can, then claims every
        honest purchase owed now with its best qualifying offer: paid exactly min(rule, cover)
        less what it was compensated."""
        for q in self.quotes:
            if q.shown and not q.lodged and not self.lodge_verdict(q):
                self.lodge(q, self.keeper)
        for b in self.bought:
            best = self.best_claim(b)
            if best is not None:
                verdict = self.claim(b, best[1], best[2], self.keeper)
                assert not verdict.error and b.compensated == min(best[0], b.cover)

    def best_claim(self, b: Bought) -> tuple[int, Offer, Quote | None] | None:
        """The keeper's best claim for ``b`` now (total, offer, quote), or None when it is not
        an honest purchase owed anything now."""
        if not b.honest or b.cover == 0 or not b.claimable_at <= self.now <= b.closes_at:
            return None
        best: tuple[int, Offer, Quote | None] | None = None
        candidates: list[tuple[Offer, Quote | None]] = [(o, None) for o in self.offers.values()]
        candidates += [(q.offer, q) for q in self.quotes if q.shown and not q.lodged]
        for offer, quote in candidates:
            if offer.gtin != b.purchase[P_GTIN]:
                continue
            verdict = self.claim_verdict(b, offer, quote)
            if not verdict.error and (best is None or verdict.total > best[0]):
                best = (verdict.total, offer, quote)
        return best

    def keeper_busy_at(self, at: int) -> bool:
        """Whether the keeper would lodge or claim anything at ``at`` (the model alone decides,
        so that the chain is asked to stop only where something happens)."""
        self.clock = at
        try:
            return any(q.shown and not q.lodged and not self.lodge_verdict(q) for q in self.quotes) or any(
                self.best_claim(b) is not None for b in self.bought
            )
        finally:
            self.clock = 0

    def wake_times(self, until: int) -> list[int]:
        """When the keeper must look again before ``until``: purchases becoming claimable and
        offers starting (anything else that makes a purchase owed is a step, after which it looks)."""
        times = {b.claimable_at for b in self.bought if b.honest}
        times |= {o.valid_from for o in self.offers.values()}
        times |= {q.values[6] for q in self.quotes if q.shown}
        return sorted(t for t in times if self.now <= t <= until)

    # -- rules: the retailer's admin ------------------------------------------------------------

    @initialize(
        terms=OPENING_TERMS,
        amount=st.sampled_from([100 * U, 300 * U, 1_000 * U]),
        gtins=st.tuples(GTINS, GTINS),
        unit_prices=st.tuples(st.integers(100, 200), st.integers(100, 200)),
    )
    def open_shop(self, terms: tuple[int, ...], amount: int, gtins: tuple[int, int], unit_prices: tuple[int, int]) -> None:
        # A default policy, a funded pool, and honest buyers recorded before anything the
        # retailer tries.
        self.set_policy(0, terms)
        self.fund(amount)
        for buyer, gtin, unit_price in zip(self.buyers, gtins, unit_prices, strict=True):
            self.record_sale(STORE, buyer, gtin, unit_price * U, 1, honest=True)

    @rule(scope=st.sampled_from([0, GIFT_BAG, OTHER_GTIN]), terms=TERMS)
    def set_policy(self, scope: int, terms: tuple[int, ...]) -> None:
        now = self.now
        current = self.policy_at(scope, now)
        since = now + POLICY_NOTICE if reduces(current.terms if current else NO_TERMS, terms) else now
        tx = self.send("setPolicy", [NATIVE, scope, terms], self.admin)
        (event,) = self.node.events(self.pg, tx, "PolicySet")
        self.policy_count += 1
        previous = self.policies[scope][-1].id if self.policies[scope] else 0
        assert (event["policy"], event["gtin"], event["previous"], event["since"]) == (self.policy_count, scope, previous, since)
        self.policies[scope].append(Policy(self.policy_count, scope, terms, since))
        self.keeper_sweep()

    @rule(amount=AMOUNTS)
    def fund(self, amount: int) -> None:
        self.send("fund", [NATIVE, amount], self.admin, value=amount)
        self.pool.funded += amount
        self.pool.balance += amount
        self.keeper_sweep()

    @rule(
        action=st.sampled_from(["announce", "announce and execute", "execute", "cancel"]),
        amount=st.sampled_from([1, 50 * U, 10**30, 2**256 - 1]),
        to=st.sampled_from(ACCOMPLICES),
        then=st.sampled_from([DAY - 1, DAY, DAY + HOUR, 3 * DAY]),
    )
    def withdraw(self, action: str, amount: int, to: str, then: int) -> None:
        if action.startswith("announce"):
            self.announce_withdrawal(amount, to)
        if action == "announce and execute":
            self.advance(then)
        if action.endswith("execute"):
            self.execute_withdrawal()
        elif action == "cancel":
            self.cancel_withdrawal()

    def announce_withdrawal(self, amount: int, to: str) -> None:
        if self.withdrawal is not None:
            self.refused("announceWithdrawal", [NATIVE, amount, to], self.admin, "GuaranteeWithdrawalPending")
            return
        now = self.now
        tx = self.send("announceWithdrawal", [NATIVE, amount, to], self.admin)
        (event,) = self.node.events(self.pg, tx, "WithdrawalAnnounced")
        assert event == {"retailer": NATIVE, "amount": amount, "to": to, "executableAt": now + WITHDRAWAL_DELAY}
        self.withdrawal = Withdrawal(min(amount, 2**128 - 1), to, now)

    def execute_withdrawal(self) -> None:
        w, now = self.withdrawal, self.now
        if w is None:
            self.refused("executeWithdrawal", [NATIVE], self.admin, "GuaranteeNoWithdrawal")
            return
        if now < w.announced_at + WITHDRAWAL_DELAY:
            self.refused("executeWithdrawal", [NATIVE], self.admin, "GuaranteeWithdrawalTooEarly")
            return
        free = self.pool.free
        tx = self.send("executeWithdrawal", [NATIVE], self.admin)
        (event,) = self.node.events(self.pg, tx, "WithdrawalExecuted")
        amount = event["amount"]
        # Invariant 2: a withdrawal waits its delay and takes free funds only.
        assert self.node.time >= w.announced_at + WITHDRAWAL_DELAY
        assert event == {"retailer": NATIVE, "to": w.to, "amount": min(w.amount, free)} and amount <= free
        self.pool.balance -= amount
        self.pool.withdrawn += amount
        self.received[w.to] += amount
        self.withdrawal = None
        self.keeper_sweep()

    def cancel_withdrawal(self) -> None:
        if self.withdrawal is None:
            self.refused("cancelWithdrawal", [NATIVE], self.admin, "GuaranteeNoWithdrawal")
            return
        self.send("cancelWithdrawal", [NATIVE], self.admin)
        self.withdrawal = None

    @rule(channel=st.sampled_from([ONLINE, STORE]), grace=GRACES, keyless=st.sampled_from([False, False, False, True]))
    def rotate_key(self, channel: int, grace: int, keyless: bool) -> None:
        # To a new key, or now and then to no key at all.
        new, private = (ZERO_ADDRESS, b"") if keyless else machine_key(self.rotations)
        if grace > MAX_KEY_GRACE:
            self.refused("rotateChannelKey", [channel, new, grace], self.admin, "GuaranteeKeyGraceInvalid")
            return
        self.rotations += 1
        now = self.now
        if new != ZERO_ADDRESS:
            self.node.set_balance(new, 10**21)
        self.send("rotateChannelKey", [channel, new, grace], self.admin)
        old = self.live[channel]
        if old is not None:
            old.revoked_at, old.grace = now, grace
        if new == ZERO_ADDRESS:
            self.live[channel] = None
        else:
            key = Key(new, private, channel, now)
            self.keys.append(key)
            self.live[channel] = key
        self.keeper_sweep()

    @precondition(lambda self: self.offers)
    @rule(pick=PICK)
    def declare_price_error(self, pick: int) -> None:
        o = list(self.offers.values())[pick % len(self.offers)]
        now, args = self.now, [o.channel, o.gtin, o.valid_from]
        if now > o.valid_from + DAY:
            self.refused("declarePriceError", args, self.admin, "GuaranteeDeclarationClosed")
        elif o.ended_at or o.valid_until <= now:
            self.refused("declarePriceError", args, self.admin, "GuaranteePriceNotLive")
        else:
            self.send("declarePriceError", args, self.admin)
            o.ended_at, o.price_type = now, PRICE_ERROR

    # -- rules: the retailer's channel keys -----------------------------------------------------

    @rule(
        channel=st.sampled_from([ONLINE, STORE]),
        gtin=GTINS,
        price=ANY_PRICE,
        price_type=PRICE_TYPES,
        valid_for=st.sampled_from([1, HOUR, DAY, 5 * DAY]),
    )
    def publish(self, channel: int, gtin: int, price: int, price_type: int, valid_for: int) -> None:
        key = self.live[channel]
        if key is None:
            return
        now = self.now
        args = [gtin, price, price_type, now + valid_for]
        if (channel, gtin, now) in self.offers:  # a quote lodged ahead holds that second
            self.refused("publishPrice", args, key.address, "GuaranteePriceExists")
            return
        self.send("publishPrice", args, key.address)
        self.offers[(channel, gtin, now)] = Offer(channel, gtin, now, price, price_type, now + valid_for)
        self.keeper_sweep()

    @rule(
        channel=st.sampled_from([ONLINE, STORE]),
        gtin=GTINS,
        price=st.integers(60, 199),
        price_type=st.sampled_from([PRICE_REGULAR, PRICE_PROMOTION, PRICE_CLEARANCE]),
        then=THEN,
    )
    def promotion(self, channel: int, gtin: int, price: int, price_type: int, then: int) -> None:
        # An ordinary price change, as every retailer makes them: a lower price for a few days.
        self.publish(channel, gtin, price * U, price_type, 3 * DAY)
        self.advance(then)

    @precondition(lambda self: self.offers)
    @rule(pick=PICK)
    def end_price(self, pick: int) -> None:
        o = list(self.offers.values())[pick % len(self.offers)]
        key = self.live[o.channel]
        if key is None:
            return
        now, args = self.now, [o.gtin, o.valid_from]
        if o.ended_at or o.valid_until <= now or o.lodged:
            self.refused("endPrice", args, key.address, "GuaranteePriceNotLive")
            return
        self.send("endPrice", args, key.address)
        o.ended_at = now

    @rule(
        channel=st.sampled_from([ONLINE, STORE]),
        accomplice=st.sampled_from(ACCOMPLICES),
        gtin=GTINS,
        unit_price=ANY_UNIT_PRICE,
        quantity=ANY_QUANTITY,
        then=THEN,
    )
    def record_accomplice_sale(self, channel: int, accomplice: str, gtin: int, unit_price: int, quantity: int, then: int) -> None:
        self.record_sale(channel, accomplice, gtin, unit_price, quantity, honest=False)
        self.advance(then)

    def record_sale(self, channel: int, buyer: str, gtin: int, unit_price: int, quantity: int, honest: bool) -> None:
        key = self.live[channel]
        if key is None:
            return
        now = self.now
        policy = self.policy_at(gtin, now)
        terms = policy.terms if policy else NO_TERMS
        free = self.pool.free
        cover = self.cover(terms, unit_price, quantity, now)
        r = self.next_receipt()
        tx = self.send("recordPurchase", [(buyer, gtin, quantity, unit_price, r)], key.address)
        expected = (NATIVE, channel, buyer, gtin, quantity, unit_price, now, r, policy.id if policy else 0, cover, now)
        self.recorded(tx, expected, honest, terms, free)
        self.keeper_sweep()

    @rule(pick=PICK, accomplice=st.sampled_from(ACCOMPLICES), gtin=GTINS, unit_price=ANY_UNIT_PRICE, back=BACK)
    def register_own_receipt(self, pick: int, accomplice: str, gtin: int, unit_price: int, back: int) -> None:
        # Any key the retailer ever had (revoked ones too) signs a receipt to an accomplice,
        # dated `back` seconds ago, and the retailer registers it.
        key = self.keys[pick % len(self.keys)]
        now = self.now
        purchased_at = max(now - back, 1)
        receipt = (NATIVE, key.channel, accomplice, gtin, 1, unit_price, purchased_at, self.next_receipt())
        signature = self.sign(RECEIPT_TYPEHASH, RECEIPT_TYPES, receipt, key)
        if not key.accepts(purchased_at, now, consumer_held=True):
            self.refused("registerPurchase", [receipt, signature], self.admin, "GuaranteeSignerInvalid")
            return
        policy = self.policy_at(gtin, purchased_at)
        terms = policy.terms if policy else NO_TERMS
        free = self.pool.free
        cover = self.cover(terms, unit_price, 1, purchased_at)
        tx = self.send("registerPurchase", [receipt, signature], self.admin)
        self.recorded(tx, (*receipt, policy.id if policy else 0, cover, now), False, terms, free)
        self.keeper_sweep()

    @rule(
        pick=PICK,
        gtin=GTINS,
        price=ANY_PRICE,
        price_type=PRICE_TYPES,
        back=BACK,
        ahead=st.sampled_from([0, 0, 60, HOUR]),
        valid_for=st.sampled_from([1, HOUR, DAY, 10 * DAY]),
        use=st.sampled_from(["show", "claim", "lodge"]),
        victim=PICK,
    )
    def sign_quote(
        self, pick: int, gtin: int, price: int, price_type: int, back: int, ahead: int, valid_for: int, use: str, victim: int
    ) -> None:
        # Any key the retailer ever had signs a quote, dated in the past (before its revocation,
        # for a revoked key) or ahead; it is shown to shoppers, or used for a claim or lodged by
        # the retailer itself.
        key = self.keys[pick % len(self.keys)]
        now = self.now
        valid_from = max(now - back, key.active_from) + ahead
        if not key.live:
            valid_from = min(valid_from, key.revoked_at - 1)
        self.receipts += 1
        values = (NATIVE, key.channel, gtin, ZERO_ADDRESS, price, price_type, valid_from, valid_from + valid_for, self.receipts)
        q = Quote(values, self.sign(QUOTE_TYPEHASH, QUOTE_TYPES, values, key), key, shown=use == "show")
        self.quotes.append(q)
        if use == "lodge":
            self.lodge(q, self.admin)
        elif use == "claim" and self.bought:
            b = self.bought[victim % len(self.bought)]
            self.claim(b, q.offer, q, self.admin)
        self.keeper_sweep()

    @precondition(lambda self: self.quotes)
    @rule(pick=PICK)
    def lodge_a_quote(self, pick: int) -> None:
        self.lodge(self.quotes[pick % len(self.quotes)], self.admin)
        self.keeper_sweep()

    @precondition(lambda self: self.bought and self.offers)
    @rule(pick=PICK, offer=PICK)
    def claim_with_price(self, pick: int, offer: int) -> None:
        # The retailer claims for a purchase (its accomplices', or anyone's) with any offer of
        # the purchase's product.
        b = self.bought[pick % len(self.bought)]
        offers = [o for o in self.offers.values() if o.gtin == b.purchase[P_GTIN]]
        if offers:
            self.claim(b, offers[offer % len(offers)], None, self.admin)
            self.keeper_sweep()

    @precondition(lambda self: any(not b.honest and b.cover for b in self.bought))
    @rule()
    def claim_everything_for_accomplices(self) -> None:
        # The retailer takes all it can: every accomplice purchase claimed with its best offer
        # (a price record, or any quote it ever signed, revoked keys' included) at once. Right
        # after each payment the keeper sweeps: honest buyers owed then are paid in full then.
        for b in self.bought:
            if b.honest or b.cover == 0:
                continue
            candidates: list[tuple[Offer, Quote | None]] = [(o, None) for o in self.offers.values()]
            candidates += [(q.offer, q) for q in self.quotes if not q.lodged]
            best: tuple[Claim, Offer, Quote | None] | None = None
            for offer, quote in candidates:
                if offer.gtin == b.purchase[P_GTIN]:
                    verdict = self.claim_verdict(b, offer, quote)
                    if best is None or (not verdict.error and (best[0].error or verdict.total > best[0].total)):
                        best = (verdict, offer, quote)
            if best is not None and not self.claim(b, best[1], best[2], self.admin).error:
                self.keeper_sweep()

    @rule(
        accomplice=st.sampled_from(ACCOMPLICES),
        cap=st.sampled_from([100 * U, MAX_UINT96]),
        unit_price=st.sampled_from([188 * U, 2**80, MAX_UINT96]),
        quantity=st.sampled_from([1, 2**32 - 1]),
        channel=st.sampled_from([ONLINE, STORE]),
        then=THEN,
    )
    def drain_attempt(self, accomplice: str, cap: int, unit_price: int, quantity: int, channel: int, then: int) -> None:
        # Version 1's drain in one step: a policy with a huge cap for a product nobody sells, a
        # sale of it to an accomplice at a huge price, a 1-wei price, a claim at once; and
        # again after a while.
        self.set_policy(OTHER_GTIN, (10 * DAY, 0, 0, cap, 0))
        self.record_sale(channel, accomplice, OTHER_GTIN, unit_price, quantity, honest=False)
        self.publish(ONLINE if channel == STORE else STORE, OTHER_GTIN, 1, PRICE_REGULAR, 2 * DAY)
        self.claim_everything_for_accomplices()
        if then:
            self.advance(then)
            self.claim_everything_for_accomplices()

    @precondition(lambda self: self.bought)
    @rule(picks=st.lists(PICK, min_size=1, max_size=3), closed=st.booleans())
    def release(self, picks: list[int], closed: bool) -> None:
        # Mostly purchases whose claims have closed (the retailer freeing its funds).
        now = self.now
        pool = [b for b in self.bought if now > b.closes_at] if closed else []
        pool = pool or self.bought
        batch = [pool[i % len(pool)] for i in picks]
        left = {b.id: b.unclaimed for b in batch}
        for b in batch:  # nothing left is skipped, open or not; else it waits for its claims to close
            if left[b.id] and now <= b.closes_at:
                self.refused("release", [[b.purchase for b in batch]], self.admin, "GuaranteeCoverOpen")
                return
            left[b.id] = 0
        tx = self.send("release", [[b.purchase for b in batch]], self.admin)
        expected = []
        for b in batch:
            if b.unclaimed:
                expected.append({"purchase": b.id, "retailer": NATIVE, "amount": b.unclaimed})
                self.pool.reserved -= b.unclaimed
                b.unclaimed = 0
                b.released = True
        assert self.node.events(self.pg, tx, "CoverReleased") == expected

    # -- rules: honest buyers and time ------------------------------------------------------------

    @rule(
        buyer=st.sampled_from([0, 1]),
        channel=st.sampled_from([ONLINE, STORE]),
        gtin=GTINS,
        quantity=st.integers(1, 3),
        unit_price=st.integers(100, 200),
        then=THEN,
    )
    def honest_sale(self, buyer: int, channel: int, gtin: int, quantity: int, unit_price: int, then: int) -> None:
        if self.live[channel] is None:
            channel = STORE if channel == ONLINE else ONLINE
        self.record_sale(channel, self.buyers[buyer], gtin, unit_price * U, quantity, honest=True)
        self.advance(then)

    @rule(seconds=st.sampled_from([1, 59, HOUR, DAY - 1]))
    def wait_a_little(self, seconds: int) -> None:
        self.advance(seconds)

    @rule(seconds=st.sampled_from([DAY, DAY + 1, 3 * DAY, 8 * DAY, 12 * DAY]))
    def wait_days(self, seconds: int) -> None:
        self.advance(seconds)

    def advance(self, seconds: int) -> None:
        """Let ``seconds`` pass; the keeper wakes at every moment something becomes claimable on
        the way."""
        if not seconds:
            return
        target = self.node.time + seconds
        for wake in self.wake_times(target):
            if wake >= self.now and self.keeper_busy_at(wake):
                if wake > self.now:
                    self.node.at(wake)
                self.keeper_sweep()
        if target > self.now:
            self.node.at(target)
        self.keeper_sweep()

    # -- invariants -------------------------------------------------------------------------------

    @invariant()
    def pool_matches_the_model(self) -> None:
        node, pg, abi = self.node, self.pg, self.abi
        calls: list[tuple[str, list[Any]]] = [("eth_call", [{"to": pg.address, "data": self.retailer_call}, "latest"])]
        for b in self.bought:
            calls += [("eth_call", [{"to": pg.address, "data": data}, "latest"]) for data in b.views]
        calls += [("eth_getBalance", [a, "latest"]) for a in (*self.payees, pg.address)]
        raw = node.batch(calls)
        view = dict(zip(RETAILER_VIEW_FIELDS, abi.decode_output("retailer", bytes.fromhex(raw[0][2:]))[0], strict=True))
        pool = self.pool
        # 1. Accounting.
        assert (view["funded"], view["balance"], view["reserved"], view["paid"], view["withdrawn"]) == (
            pool.funded,
            pool.balance,
            pool.reserved,
            pool.paid,
            pool.withdrawn,
        )
        assert view["paid"] + view["balance"] + view["withdrawn"] == view["funded"]
        assert view["reserved"] <= view["balance"]
        assert view["reserved"] == sum(b.unclaimed for b in self.bought)
        assert int(raw[-1], 16) == view["balance"]  # the contract holds the pool, nothing else
        for i, b in enumerate(self.bought):
            state, digest = raw[1 + 2 * i], raw[2 + 2 * i]  # (bool recorded, uint96 unclaimed); uint160
            # 3. Every purchase keeps the cover it was recorded with: its stored hash binds it,
            # and what is unclaimed is that cover less what it was paid (until released).
            assert int(state[2:66], 16) == 1 and int(digest, 16) == b.digest
            assert int(state[66:130], 16) == b.unclaimed
            assert b.paid == b.compensated or (b.released and b.paid <= b.cover)
            # 2. An accomplice's purchase never got more than its cover, taken from free funds.
            assert b.paid <= b.cover <= b.free_at_recording
        # Every payee (honest buyers, accomplices, withdrawal recipients) got what the model paid.
        for a, balance in zip(self.payees, raw[1 + 2 * len(self.bought) : -1], strict=True):
            assert int(balance, 16) - self.start_balances[a] == self.received[a], a


def test_retailer_cannot_drain_its_own_pool(world: World) -> None:
    TestRetailerAgainstItsPool.world = world
    run_state_machine_as_test(TestRetailerAgainstItsPool, settings=machine_settings(steps=STEPS))
