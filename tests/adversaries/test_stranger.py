"""The stranger holding one scanned QR code (issue 14, point 6).

A shopper buys three times at two retailers, claims one item, consents to one shop's use of
data (which the shop then uses), is compensated by the price guarantee, reviews what they
bought and votes on someone else's review: every step o2ochain has. A stranger then scans the
claimed item's QR code and reads EVERYTHING public — every log and every transaction (sender,
recipient, value) of the chain — and follows every trail an analyst would: the item's owner,
any record naming that address, whatever that address sent or was sent, and on from each
address found, transitively.

With the shopper's addresses derived per record (:mod:`o2ochain.shopper`) the stranger finds
the claim of that one item and what rests on it (its review), and no second record of the
person: no purchase, no other claim, no consent, no data use, no compensation. In the control
case the same shopper uses one address for everything (what the library and the page did before
issue 14): the same stranger then finds all of them, so the stranger of this test is not blind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

import o2ochain
from o2ochain import gs1
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.tx import Sender
from o2ochain.identity import CatalogueItem
from o2ochain.shopper import Relay, Shopper, ShopperView

PREFIX = "9506000"
GTIN = gs1.make_gtin(PREFIX, 10)
UNIT = 10**15
DAY = 86_400
NATIVE = "0x" + "00" * 20
STORE, ONLINE_SHOP = 2, 1
#: Channels: 1 and 2 are the retailers' stores, 3 retailer 1's web shop.
WEB_SHOP_CHANNEL = 3

#: The fields of o2ochain's events that name a consumer-side party, by event name.
PERSON_FIELDS: dict[str, tuple[str, ...]] = {
    "ItemClaimed": ("owner",),
    "PurchaseRecorded": ("buyer",),
    "CompensationPaid": ("buyer",),
    "CreditAdded": ("buyer",),
    "ConsentGranted": ("consumer",),
    "ConsentRevoked": ("consumer",),
    "DataUsed": ("consumer",),
    "DelegateAdded": ("consumer", "delegate"),
    "ReviewPosted": ("author",),
    "ReviewVoted": ("voter",),
    "ReviewReported": ("reporter",),
    "ExecutedForwardRequest": ("signer",),
}
#: What the issue counts as a record of a person: purchases, claims, consents, data uses (and
#: the compensation paid for a purchase, which names its buyer).
RECORD_EVENTS = frozenset({"ItemClaimed", "PurchaseRecorded", "CompensationPaid", "ConsentGranted", "DataUsed"})


# --------------------------------------------------------------------------------------------
# The world: one brand, two retailers (one with a web shop), a data user, a relayer, a keeper
# --------------------------------------------------------------------------------------------


@dataclass
class World:
    chain: o2ochain.O2OChain
    guarantee: Contract
    board: Contract
    brand: int
    brand_admin: LocalAccount
    seller: LocalAccount
    relayer: LocalAccount
    keeper: LocalAccount
    data_user: LocalAccount
    tills: dict[int, LocalAccount]
    web_shop: LocalAccount
    items: list[bytes]

    @property
    def w3(self) -> Web3:
        return self.chain.w3

    def send(self, account: LocalAccount, fn: Any, value: int = 0) -> Any:
        return Sender(self.w3, account).transact(fn, value=value)

    def advance(self, seconds: int) -> None:
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        self.w3.provider.ethereum_tester.time_travel(now + seconds)  # type: ignore[attr-defined]

    def record_sale(self, retailer: int, buyer: str, receipt: str) -> tuple[Any, ...]:
        """The retailer's till records a sale of one gift bag at 188 to ``buyer``: the Purchase logged."""
        sale = (buyer, int(GTIN), 1, 188 * UNIT, keccak(text=receipt))
        receipt_ = self.send(self.tills[retailer], self.guarantee.functions.recordPurchase(sale))
        (log,) = self.guarantee.events.PurchaseRecorded().process_receipt(receipt_, errors=DISCARD)
        a = log["args"]
        return (
            a["retailer"], a["channel"], a["buyer"], a["gtin"], a["quantity"], a["unitPrice"],
            a["purchasedAt"], a["receiptHash"], a["policy"], a["cover"], a["recordedAt"],
        )  # fmt: skip


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    chain = o2ochain.connect("tester")
    a = chain.accounts
    operator, brand_admin, seller, relayer, keeper, data_user = a[0], a[1], a[2], a[3], a[4], a[5]
    admins, tills = {1: a[6], 2: a[7]}, {1: a[8], 2: a[9]}
    web_shop = Account.create()
    chain.w3.eth.send_transaction({"from": operator.address, "to": web_shop.address, "value": 10**18})
    chain.deploy(operator, save_to=tmp_path / "deployments")
    brand = chain.admin(operator).register_brand(brand_admin.address, "Dalian Coast Snacks", [PREFIX])
    ba = chain.brand(brand_admin, brand)
    ba.grant_seller(seller.address)
    ba.grant_registrant(brand_admin.address)
    ba.add_product(GTIN, "o2ochain://product/gift-bag")
    serials = ["GB-0001", "GB-0002"]
    rows = [CatalogueItem(gtin=GTIN, serial=s, lot="L1", expiry=date(2027, 6, 30), line=n) for n, s in enumerate(serials, 2)]
    chain.registrant(brand_admin).register_items(rows)
    d = chain.deployment
    guarantee = chain.w3.eth.contract(address=d.address("PriceGuarantee"), abi=artifact("PriceGuarantee")["abi"])
    board = chain.w3.eth.contract(address=d.address("ReviewBoard"), abi=artifact("ReviewBoard")["abi"])
    world = World(chain, guarantee, board, brand, brand_admin, seller, relayer, keeper, data_user, tills, web_shop,
                  [gs1.item_id(GTIN, s) for s in serials])  # fmt: skip
    f = guarantee.functions
    for retailer in (1, 2):
        admin = admins[retailer]
        world.send(admin, f.registerRetailer(admin.address, NATIVE, f"o2ochain://retailer/{retailer}"))
        world.send(admin, f.addChannel(retailer, STORE, tills[retailer].address, "store"))
        world.send(admin, f.setPolicy(retailer, 0, (30 * DAY, 0, 50 * UNIT, 500 * UNIT, 0)))
        world.send(admin, f.fund(retailer, 10_000 * UNIT), value=10_000 * UNIT)
        world.send(brand_admin, board.functions.setSellerAuthorised(brand, retailer, True))
    world.send(admins[1], f.addChannel(1, ONLINE_SHOP, web_shop.address, "web shop"))
    yield world
    chain.close()


# --------------------------------------------------------------------------------------------
# The shopper's life
# --------------------------------------------------------------------------------------------


@dataclass
class Addresses:
    """Which account a shopper uses for each kind of record."""

    purchase: Callable[[int, int], LocalAccount]  # (retailer, index) -> buyer
    item: Callable[[bytes], LocalAccount]  # item -> owner
    consent: Callable[[str], LocalAccount]  # data user -> consumer


def derived(shopper: Shopper) -> Addresses:
    return Addresses(shopper.purchase_account, shopper.item_account, shopper.consent_account)


def one_address(account: LocalAccount) -> Addresses:
    return Addresses(lambda _r, _i: account, lambda _item: account, lambda _user: account)


def live(world: World, me: Addresses) -> None:
    """Everything a shopper does with o2ochain, relayed where the shopper's address would pay gas."""
    chain, relay = world.chain, Relay(world.w3, world.chain.deployment, world.relayer)
    # Three purchases: two at retailer 1 (store), one at retailer 2; the till records each to the
    # address the shopper's app shows for it.
    bought = [world.record_sale(1, me.purchase(1, 0).address, "r1/till/0001")]
    bought.append(world.record_sale(1, me.purchase(1, 1).address, "r1/till/0002"))
    bought.append(world.record_sale(2, me.purchase(2, 0).address, "r2/till/0001"))
    # The first purchase was the item GB-0001: the store signs a claim code for the shopper's
    # owner address of that item, and a relayer submits it.
    item = world.items[0]
    claim = chain.seller(world.seller).sign_claim(item, me.item(item).address)
    chain.consumer(world.relayer).claim_with_signature(claim)
    # Consent to retailer 1's data user, signed by the shopper, relayed by the data user, used.
    consumer = me.consent(world.data_user.address)
    signed = chain.consumer_consent(consumer).sign_grant(world.data_user.address, ["delivery"], ["postal_address"])
    desk = chain.data_user(world.data_user)
    desk.relay_grant(signed)
    desk.record_use(consumer.address, "delivery", "postal_address", b"delivery of order r1/0001".ljust(32, b"\0"))
    # A neighbour bought the other bag and reviewed it.
    neighbour = Shopper.from_account(Account.create())
    other = world.items[1]
    chain.consumer(world.relayer).claim_with_signature(chain.seller(world.seller).sign_claim(other, neighbour.item_account(other).address))
    relay.send(neighbour.item_account(other), world.board.functions.reviewItem(other, 2, keccak(text="stale"), "o2ochain://review/3"))
    # Retailer 1's web shop sells the gift bag at 133: a day later a keeper claims 55 for the
    # first purchase, paid to its buyer address.
    world.send(world.web_shop, world.guarantee.functions.publishPrice(int(GTIN), 133 * UNIT, 0, 2**40 - 1))
    valid_from = int(world.w3.eth.get_block("latest")["timestamp"])
    world.advance(DAY + 1)
    world.send(world.keeper, world.guarantee.functions.claimWithPrice(bought[0], WEB_SHOP_CHANNEL, valid_from))
    # Reviews: the item's owner reviews the item; the second purchase's buyer reviews the shop;
    # the third purchase's buyer votes the item's review helpful. Relayed, as from the page.
    review_item = world.board.functions.reviewItem(item, 5, keccak(text="crisp and fresh"), "o2ochain://review/1")
    relay.send(me.item(item), review_item)
    relay.send(me.purchase(1, 1), world.board.functions.reviewPurchase(bought[1], 2, 4, keccak(text="kind staff"), "o2ochain://review/2"))
    # The shopper votes a neighbour's review (below) helpful, as the buyer of the third purchase.
    review_id = world.board.functions.reviewIdOf(other, 1).call()
    relay.send(me.purchase(2, 0), world.board.functions.vote(review_id, True, (b"\0" * 32, bought[2])))


# --------------------------------------------------------------------------------------------
# The stranger
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    event: str
    persons: frozenset[str]
    tx: str


def everything_public(w3: Web3) -> tuple[list[Record], list[dict[str, Any]]]:
    """Every o2ochain event of the chain (decoded, with the consumer-side addresses it names) and
    every transaction."""
    by_topic: dict[bytes, Any] = {}
    for name in ("ProductRegistry", "TraceLedger", "ConsentRegistry", "PriceGuarantee", "Forwarder", "ReviewBoard", "CouponBook"):
        contract = w3.eth.contract(abi=artifact(name)["abi"])
        for entry in artifact(name)["abi"]:
            if entry["type"] == "event":
                event = getattr(contract.events, entry["name"])()
                by_topic[bytes(Web3.to_bytes(hexstr=event.topic))] = event
    records: list[Record] = []
    for log in w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest"}):
        event = by_topic.get(bytes(log["topics"][0]))
        if event is None:
            continue
        args = event.process_log(log)["args"]
        fields = PERSON_FIELDS.get(event.event_name, ())
        persons = frozenset(str(args[f]).lower() for f in fields)
        records.append(Record(event.event_name, persons, "0x" + bytes(log["transactionHash"]).hex()))
    txs = []
    for number in range(w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            txs.append({"hash": "0x" + bytes(tx["hash"]).hex(), "from": tx["from"].lower(), "to": (tx["to"] or "").lower(), "value": tx["value"]})
    return records, txs


def stranger_follows(w3: Web3, item: bytes) -> tuple[set[str], list[Record]]:
    """From one scanned item: every address an analyst ties to its owner, and every record of them."""
    records, txs = everything_public(w3)
    registry = w3.eth.contract(abi=artifact("ProductRegistry")["abi"])
    claimed = registry.events.ItemClaimed().topic
    (first,) = w3.eth.get_logs({"fromBlock": 0, "topics": [claimed, "0x" + item.hex()]})
    owner = "0x" + bytes(first["topics"][2])[12:].hex()
    persons = {owner}
    is_contract = {a: bool(w3.eth.get_code(Web3.to_checksum_address(a))) for t in txs for a in (t["from"], t["to"]) if a}
    while True:
        before = len(persons)
        for r in records:  # one record naming two consumer-side addresses ties them together
            if r.persons & persons:
                persons |= r.persons
        for t in txs:  # what a person sent ties its recipient to it; who paid a person, likewise
            if t["from"] in persons and t["to"] and not is_contract[t["to"]]:
                persons.add(t["to"])
            if t["to"] in persons and t["value"] > 0:
                persons.add(t["from"])
            if t["from"] in persons:  # the records of a transaction a person sent are the person's
                for r in records:
                    if r.tx == t["hash"]:
                        persons |= r.persons
        if len(persons) == before:
            break
    return persons, [r for r in records if r.persons & persons]


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_stranger_with_one_scanned_item_finds_no_second_record_of_its_owner(world: World) -> None:
    master = Account.create()
    shopper = Shopper.from_account(master)
    live(world, derived(shopper))

    persons, found = stranger_follows(world.w3, world.items[0])

    owner = shopper.item_account(world.items[0]).address.lower()
    assert persons == {owner}
    assert sorted(r.event for r in found) == ["ExecutedForwardRequest", "ItemClaimed", "ReviewPosted"]
    assert [r.event for r in found if r.event in RECORD_EVENTS] == ["ItemClaimed"]
    # The master key itself never appears on chain.
    _, txs = everything_public(world.w3)
    assert all(master.address.lower() not in (t["from"], t["to"]) for t in txs)


def test_stranger_finds_everything_when_a_shopper_uses_one_address(world: World) -> None:
    """The control: what one address for everything (o2ochain before issue 14) gives away."""
    me = Account.create()
    live(world, one_address(me))

    persons, found = stranger_follows(world.w3, world.items[0])

    assert persons == {me.address.lower()}
    events = sorted(r.event for r in found if r.event in RECORD_EVENTS)
    assert events == ["CompensationPaid", "ConsentGranted", "DataUsed", "ItemClaimed", "PurchaseRecorded", "PurchaseRecorded", "PurchaseRecorded"]


def test_shopper_finds_all_its_purchases_again_from_its_key_alone(world: World) -> None:
    master = Account.create()
    live(world, derived(Shopper.from_account(master)))

    # A reinstall: nothing but the key.
    view = ShopperView(world.w3, world.chain.deployment, Shopper.from_account(master))

    found = {(p.retailer, p.index) for p in view.purchases()}
    assert found == {(1, 0), (1, 1), (2, 0)}
    shopper = Shopper.from_account(master)
    assert view.next_purchase_address(1) == shopper.purchase_account(1, 2).address
    assert view.next_purchase_address(2) == shopper.purchase_account(2, 1).address
