"""PriceGuarantee: the pool never pays more than was funded and no purchase is paid twice, through
any sequence of sales, prices, claims, funding, settlement, withdrawals and time, against a
Python model of the rule and the FIFO queue.

Moved here from ``tests/contracts/test_price_guarantee.py`` (where it ran 15 examples on
eth-tester) and run on Anvil; extended with repeated sales (recorded once), repeated claims
(paid once) and a per-purchase account of every payment from the events.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from tests.contracts.conftest_price import (
    DAY,
    GIFT_BAG,
    NATIVE,
    NATIVE_UNIT,
    ONLINE,
    PRICE_CLEARANCE,
    PRICE_PROMOTION,
    PRICE_REGULAR,
    PURCHASE_FIELDS,
    RETAILER_VIEW_FIELDS,
    STORE,
    bit,
    purchase_id,
    receipt_hash,
    rule_total,
    terms,
)
from tests.properties._chain import Tx
from tests.properties.conftest import World, machine_settings

U = NATIVE_UNIT
MODEL_WINDOW = 3 * DAY
MODEL_TERMS = terms(window=MODEL_WINDOW, bps=1_000, amount=5 * U, max_payout=120 * U, excluded=bit(PRICE_CLEARANCE))


@dataclass
class ModelPurchase:
    purchase: tuple[Any, ...]
    compensated: int = 0


@dataclass
class ModelOffer:
    channel: int
    key: str
    valid_from: int
    price: int
    price_type: int
    valid_until: int
    ended_at: int = 0

    @property
    def until(self) -> int:
        return self.ended_at or self.valid_until


class PoolMachine(RuleBasedStateMachine):
    """One native-coin retailer with a fixed default policy, two channels and two buyers."""

    world: World  # set by the test

    purchases = Bundle("purchases")
    offers = Bundle("offers")

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.node, self.pg = w.node, w.pg
        self.snapshot = self.node.snapshot()
        # Ahead of the wall clock; every block is exactly one second after the previous one.
        self.node.at(self.node.time + 10_000)
        self.policy = int(self.send("setPolicy", [NATIVE, 0, MODEL_TERMS], w.brand_admin).events("PolicySet")[0]["policy"])
        self.buyers = w.consumers
        self.start_balances = dict(zip(self.buyers, self.balances(), strict=True))
        self.received = dict.fromkeys(self.buyers, 0)
        self.funded = self.available = self.paid = self.withdrawn = 0
        self.queue: deque[list[Any]] = deque()  # [purchase id, buyer, amount]
        self.head = 0
        self.bought: list[ModelPurchase] = []
        self.offered: list[ModelOffer] = []
        self.receipts = 0
        self.paid_for: dict[bytes, int] = defaultdict(int)  # purchase id -> every amount paid to it, from the events

    def teardown(self) -> None:
        self.node.revert(self.snapshot)

    # -- plumbing -------------------------------------------------------------------------------

    def send(self, fn: str, args: list[Any], sender: str, value: int = 0) -> _Sent:
        tx = self.node.send(self.pg, fn, args, sender, value=value)
        # Every payment to a purchase, whichever rule sent it.
        for e in self.node.events(self.pg, tx, "CompensationPaid"):
            self.paid_for[e["purchase"]] += e["amount"]
        for e in self.node.events(self.pg, tx, "OwedPaid"):
            self.paid_for[e["purchase"]] += e["amount"]
        return _Sent(self, tx)

    def refused(self, fn: str, args: list[Any], sender: str, error: str) -> None:
        name, values = self.node.refusal(self.pg, fn, args, sender)
        assert name == error, (name, values, error)

    def balances(self) -> list[int]:
        return [int(b, 16) for b in self.node.batch([("eth_getBalance", [b, "latest"]) for b in self.buyers])]

    # -- the model's pool ---------------------------------------------------------------------

    def model_settle(self, max_entries: int) -> list[tuple[bytes, int, int, int]]:
        """Pay queue entries FIFO; returns the expected OwedPaid (purchase, amount, position, remaining)."""
        events = []
        for _ in range(min(max_entries, len(self.queue))):
            if self.available == 0:
                break
            entry = self.queue[0]
            pay = min(entry[2], self.available)
            self.available -= pay
            self.paid += pay
            entry[2] -= pay
            self.received[entry[1]] += pay
            events.append((entry[0], pay, self.head, entry[2]))
            if entry[2] == 0:
                self.queue.popleft()
                self.head += 1
        return events

    def check_owed_paid(self, sent: _Sent, expected: list[tuple[bytes, int, int, int]]) -> None:
        got = [(e["purchase"], e["amount"], e["position"], e["remaining"]) for e in sent.events("OwedPaid")]
        assert got == expected

    # -- rules ----------------------------------------------------------------------------------

    @initialize(target=purchases)
    def first_sales(self) -> MultipleResults[int]:
        return multiple(self.record(0, 1, 188), self.record(1, 2, 150))

    @initialize(target=offers)
    def first_offer(self) -> int:
        return self.publish(True, 133, PRICE_PROMOTION, DAY)

    @initialize(amount=st.integers(1, 150))
    def first_funds(self, amount: int) -> None:
        self.fund(amount)

    @rule(target=purchases, buyer=st.sampled_from([0, 1]), quantity=st.integers(1, 3), unit_price=st.integers(40, 200))
    def record(self, buyer: int, quantity: int, unit_price: int) -> int:
        self.receipts += 1
        sale = (self.buyers[buyer], GIFT_BAG, quantity, unit_price * U, receipt_hash(f"till 7 / receipt {self.receipts:06d}"))
        event = self.send("recordPurchase", [sale], self.world.store).events("PurchaseRecorded")[0]
        purchase = tuple(event[name] for name in PURCHASE_FIELDS)
        assert purchase[2] == self.policy
        self.bought.append(ModelPurchase(purchase))
        return len(self.bought) - 1

    @rule(purchase=purchases, online=st.booleans())
    def record_again(self, purchase: int, online: bool) -> None:
        # The same receipt through any channel of the retailer: refused, the purchase stays one.
        _, _, _, buyer, gtin, quantity, unit_price, _, receipt = self.bought[purchase].purchase
        key = self.world.online if online else self.world.store
        self.refused("recordPurchase", [(buyer, gtin, quantity, unit_price, receipt)], key, "GuaranteePurchaseExists")

    @rule(
        target=offers,
        online=st.booleans(),
        price=st.integers(10, 200),
        price_type=st.sampled_from([PRICE_REGULAR, PRICE_PROMOTION, PRICE_CLEARANCE]),
        valid_for=st.integers(60, 2 * DAY),
        delay=st.sampled_from([0, 0, 600, DAY]),
    )
    def publish(self, online: bool, price: int, price_type: int, valid_for: int, delay: int = 0) -> int:
        node, w = self.node, self.world
        if delay:  # time passes: offers and windows end
            node.at(node.time + delay)
        key, channel = (w.online, ONLINE) if online else (w.store, STORE)
        valid_from = node.next_time
        self.send("publishPrice", [GIFT_BAG, price * U, price_type, valid_from + valid_for], key)
        self.offered.append(ModelOffer(channel, key, valid_from, price * U, price_type, valid_from + valid_for))
        return len(self.offered) - 1

    @rule(offer=offers)
    def end(self, offer: int) -> None:
        o = self.offered[offer]
        if o.ended_at == 0 and self.node.next_time < o.valid_until:
            o.ended_at = self.node.next_time
            self.send("endPrice", [GIFT_BAG, o.valid_from], o.key)
        else:
            self.refused("endPrice", [GIFT_BAG, o.valid_from], o.key, "GuaranteePriceNotLive")

    @rule(purchase=purchases, offer=offers, twice=st.booleans())
    def claim(self, purchase: int, offer: int, twice: bool) -> None:
        self.claim_and_check(purchase, offer)
        if twice:  # the same evidence again, at once: nothing more is paid
            self.claim_and_check(purchase, offer)

    @rule(offer=offers)
    def claim_all(self, offer: int) -> None:
        # A keeper's sweep: every purchase against one offer, oldest first.
        for purchase in range(len(self.bought)):
            self.claim_and_check(purchase, offer)

    def claim_and_check(self, purchase: int, offer: int) -> None:
        w, p, o = self.world, self.bought[purchase], self.offered[offer]
        _, _, _, buyer, _, quantity, unit_price, bought_at, receipt = p.purchase
        now = self.node.next_time
        total = rule_total(unit_price, quantity, o.price, MODEL_TERMS)
        if now > bought_at + MODEL_WINDOW:
            error = "GuaranteeWindowClosed"
        elif bit(o.price_type) & MODEL_TERMS[4]:
            error = "GuaranteePriceTypeExcluded"
        elif o.valid_from > bought_at + MODEL_WINDOW or o.until <= bought_at:
            error = "GuaranteeOfferOutsideWindow"
        elif total is None:
            error = "GuaranteeWithinTolerance"
        elif total <= p.compensated:
            error = "GuaranteeAlreadyCompensated"
        else:
            error = ""
        args = [p.purchase, o.channel, o.valid_from]
        if error:
            self.refused("claimWithPrice", args, w.keeper, error)
            return
        assert total is not None
        due = total - p.compensated
        pay = min(due, self.available) if not self.queue else 0
        sent = self.send("claimWithPrice", args, w.keeper)
        event = sent.events("CompensationPaid")[0]
        assert (event["amount"], event["compensated"], event["buyer"]) == (pay, total, buyer)
        self.available -= pay
        self.paid += pay
        self.received[buyer] += pay
        p.compensated = total
        pid = purchase_id(NATIVE, receipt)
        if due > pay:
            owed_event = sent.events("CompensationOwed")[0]
            assert (owed_event["amount"], owed_event["position"]) == (due - pay, self.head + len(self.queue))
            self.queue.append([pid, buyer, due - pay])
        else:
            assert sent.events("CompensationOwed") == []

    @rule(amount=st.integers(1, 100))
    def fund(self, amount: int) -> None:
        sent = self.send("fund", [NATIVE, amount * U], self.world.keeper, value=amount * U)
        self.funded += amount * U
        self.available += amount * U
        self.check_owed_paid(sent, self.model_settle(16))

    @rule(max_entries=st.integers(0, 3))
    def settle(self, max_entries: int) -> None:
        sent = self.send("settle", [NATIVE, max_entries], self.world.keeper)
        self.check_owed_paid(sent, self.model_settle(max_entries))

    @rule(amount=st.integers(1, 300))
    def withdraw(self, amount: int) -> None:
        w, node = self.world, self.node
        self.send("announceWithdrawal", [NATIVE, amount * U, w.outsider], w.brand_admin)
        node.at(node.time + MODEL_WINDOW)
        sent = self.send("executeWithdrawal", [NATIVE], w.brand_admin)
        expected = min(amount * U, self.available)
        assert sent.events("WithdrawalExecuted")[0]["amount"] == expected
        self.available -= expected
        self.withdrawn += expected

    # -- invariants -------------------------------------------------------------------------------

    @invariant()
    def pool_matches_the_model(self) -> None:
        node, pg = self.node, self.pg
        calls: list[Any] = [(pg, "retailer", [NATIVE]), (pg, "owedEntries", [NATIVE, self.head, len(self.queue)])]
        calls += [(pg, "purchaseState", [purchase_id(NATIVE, p.purchase[8])]) for p in self.bought]
        retailer, entries, *states = node.views(calls)
        view = dict(zip(RETAILER_VIEW_FIELDS, retailer, strict=True))
        owed = sum(e[2] for e in self.queue)
        # The pool never pays more than was funded: every unit funded is paid, available or withdrawn.
        assert (view["funded"], view["available"], view["paid"], view["owed"]) == (self.funded, self.available, self.paid, owed)
        assert view["paid"] <= view["funded"]
        assert view["paid"] + view["available"] + self.withdrawn == view["funded"]
        assert node.balance(pg.address) == view["available"]  # nothing else is held: no credits here
        # The queue, entry by entry, and its sum.
        assert [list(e) for e in entries] == list(self.queue)
        assert (view["queueHead"], view["queueTail"]) == (self.head, self.head + len(self.queue))
        # Every purchase: compensated as the model says, never beyond its rule's best or the cap;
        # no purchase paid twice: what the events paid it plus what it is still owed is exactly
        # its compensation.
        still_owed: dict[bytes, int] = defaultdict(int)
        for pid, _, amount in self.queue:
            still_owed[pid] += amount
        compensated = 0
        for p, (recorded, on_chain) in zip(self.bought, states, strict=True):
            pid = purchase_id(NATIVE, p.purchase[8])
            assert recorded and on_chain == p.compensated
            assert p.compensated <= min((p.purchase[6] - 1) * p.purchase[5], MODEL_TERMS[3])
            assert self.paid_for[pid] + still_owed[pid] == p.compensated
            compensated += p.compensated
        assert view["paid"] + view["owed"] == compensated
        assert set(self.paid_for) <= {purchase_id(NATIVE, p.purchase[8]) for p in self.bought}
        # Buyers received exactly what the model paid them.
        for b, balance in zip(self.buyers, self.balances(), strict=True):
            assert balance - self.start_balances[b] == self.received[b]


@dataclass
class _Sent:
    machine: PoolMachine
    tx: Tx

    def events(self, name: str) -> list[dict[str, Any]]:
        return self.machine.node.events(self.machine.pg, self.tx, name)


def test_pool_never_pays_more_than_funded_nor_a_purchase_twice(world: World) -> None:
    PoolMachine.world = world
    run_state_machine_as_test(PoolMachine, settings=machine_settings(steps=5))
