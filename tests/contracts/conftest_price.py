"""Fixtures of the PriceGuarantee contract tests (version 2): the session chain of ``conftest.py``
with a PriceGuarantee and a TestStablecoin, two retailers (one paying in the native coin, one in
tUSD), three channels with their price-signing keys, and helpers that sign quotes and receipts,
record purchases (each reserving its cover), wait out the payout delay and claim, as the library
does.

Imported by ``test_price_guarantee.py``, which declares the pytest fixtures (so that this module
stays a plain helper module and ``conftest.py`` is untouched).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from web3.logs import DISCARD

from .conftest import ABI_DIR, EIP712_DOMAIN_FIELDS, ROOT, Env

PG_ARTIFACT = json.loads((ABI_DIR / "PriceGuarantee.json").read_text())
STABLECOIN_ARTIFACT = json.loads((ABI_DIR / "TestStablecoin.json").read_text())
TEST_ARTIFACTS = ROOT / "tests" / "fixtures" / "artifacts"
REJECTING_ARTIFACT = json.loads((TEST_ARTIFACTS / "RejectingBuyer.json").read_text())
REENTRANT_ARTIFACT = json.loads((TEST_ARTIFACTS / "ReentrantBuyer.json").read_text())
BATCH_CALLER_ARTIFACT = json.loads((TEST_ARTIFACTS / "BatchCaller.json").read_text())

DOMAIN_NAME = "o2ochain PriceGuarantee"
DOMAIN_VERSION = "2"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
DAY = 86_400
MAX_WINDOW = 366 * DAY
DECLARATION_PERIOD = DAY
PAYOUT_GAS = 50_000
# Types.sol: a withdrawal waits WITHDRAWAL_DELAY after its announcement, compensation for a
# purchase is paid from PAYOUT_DELAY after it was recorded (the same day), a policy that reduces
# coverage applies POLICY_NOTICE after it was set, a rotation gives at most MAX_KEY_GRACE.
WITHDRAWAL_DELAY = DAY
PAYOUT_DELAY = WITHDRAWAL_DELAY
POLICY_NOTICE = 7 * DAY
MAX_KEY_GRACE = 7 * DAY
# A generous gas limit for every transaction: skips eth-tester's gas estimate (a binary search
# that runs the transaction many times) and gives a buyer's payout its full PAYOUT_GAS.
GAS = 3_000_000

# The snack gift bag of the paper's example, and another product of the same brand.
GIFT_BAG = 9506000134352
OTHER_GTIN = 9506000134369
# One "yuan" in base units: 10^12 wei for the native-coin retailer, 10^6 for tUSD (6 decimals).
NATIVE_UNIT = 10**12
TOKEN_UNIT = 10**6

# Types.sol constants.
CHANNEL_ONLINE_SHOP, CHANNEL_STORE, CHANNEL_MARKETPLACE, CHANNEL_APP = 1, 2, 3, 4
PRICE_REGULAR, PRICE_PROMOTION, PRICE_CLEARANCE, PRICE_LIMITED_QUANTITY, PRICE_ERROR = range(5)
PRICE_TYPES_KNOWN = 0x1F

# The session's retailers and channels.
NATIVE, TOKEN = 1, 2  # retailer ids
ONLINE, STORE, TOKEN_SHOP = 1, 2, 3  # channel ids: ONLINE and STORE of NATIVE, TOKEN_SHOP of TOKEN

# A Purchase as PurchaseRecorded logs it and a claim passes it: its first eight fields are its
# Receipt, whose keccak256(abi.encode(...)) is the PurchaseId.
RECEIPT_NAMES = ("retailer", "channel", "buyer", "gtin", "quantity", "unitPrice", "purchasedAt", "receiptHash")
PURCHASE_FIELDS = (*RECEIPT_NAMES, "policy", "cover", "recordedAt")
RECEIPT_TYPES = ["uint32", "uint32", "address", "uint64", "uint32", "uint96", "uint40", "bytes32"]
PURCHASE_TYPES = [*RECEIPT_TYPES, "uint32", "uint96", "uint40"]
# Indexes into a Purchase tuple.
P_RETAILER, P_CHANNEL, P_BUYER, P_GTIN, P_QUANTITY, P_UNIT_PRICE, P_PURCHASED_AT, P_RECEIPT_HASH = range(8)
P_POLICY, P_COVER, P_RECORDED_AT = 8, 9, 10
QUOTE_FIELDS = [
    {"name": "retailer", "type": "uint32"},
    {"name": "channel", "type": "uint32"},
    {"name": "gtin", "type": "uint64"},
    {"name": "currency", "type": "address"},
    {"name": "price", "type": "uint96"},
    {"name": "priceType", "type": "uint8"},
    {"name": "validFrom", "type": "uint40"},
    {"name": "validUntil", "type": "uint40"},
    {"name": "nonce", "type": "uint64"},
]
RECEIPT_FIELDS = [{"name": n, "type": t} for n, t in zip(RECEIPT_NAMES, RECEIPT_TYPES, strict=True)]
RETAILER_VIEW_FIELDS = (
    "currency",
    "balance",
    "reserved",
    "withdrawalAmount",
    "withdrawalTo",
    "withdrawalAt",
    "funded",
    "paid",
    "withdrawn",
)
PRICE_VIEW_FIELDS = ("published", "price", "priceType", "validUntil", "endedAt", "lodged")


def terms(window: int = 30 * DAY, bps: int = 0, amount: int = 0, max_payout: int = 10**24, excluded: int = 0) -> tuple[int, ...]:
    """A PolicyTerms tuple (window, toleranceBps, toleranceAmount, maxPayout, excludedPriceTypes)."""
    return (window, bps, amount, max_payout, excluded)


def bit(*price_types: int) -> int:
    mask = 0
    for t in price_types:
        mask |= 1 << t
    return mask


def receipt_hash(text: str) -> bytes:
    """The hash of a till receipt or order number, as a retailer's till computes it."""
    return keccak(text.encode())


def purchase_id(purchase: tuple[Any, ...] | list[Any]) -> bytes:
    """The PurchaseId of a Purchase or Receipt tuple: keccak256(abi.encode(its Receipt))."""
    return keccak(abi_encode(RECEIPT_TYPES, list(purchase[:8])))


def purchase_digest(purchase: tuple[Any, ...] | list[Any]) -> int:
    """The low 160 bits of keccak256(abi.encode(purchase)), as ``purchaseDigest`` returns them."""
    return int.from_bytes(keccak(abi_encode(PURCHASE_TYPES, list(purchase)))[12:])


def expected_cover(unit_price: int, quantity: int, max_payout: int, free: int) -> int:
    """The cover a purchase recorded under an open window reserves: its exposure
    min(maxPayout, (unitPrice - 1) * quantity), or the pool's free funds when less."""
    return min(max_payout, (unit_price - 1) * quantity, free)


def admin_role(retailer: int) -> bytes:
    return keccak(abi_encode(["string", "uint32"], ["o2ochain.guarantee.admin", retailer]))


def rule_total(unit_price: int, quantity: int, price: int, t: tuple[int, ...]) -> int | None:
    """The compensation total the rule gives (before the purchase's cover), or None when the
    offer does not qualify."""
    _, bps, amount, max_payout, _ = t
    tolerance = max(amount, unit_price * bps // 10_000)
    if unit_price <= price or unit_price - price <= tolerance:
        return None
    return min((unit_price - price) * quantity, max_payout)


@dataclass
class PriceEnv:
    """The session chain of :class:`Env` with a PriceGuarantee and a TestStablecoin.

    Retailer NATIVE (admin ``native_admin``) prices in the native coin and has channels ONLINE
    (key ``online``) and STORE (key ``store``); retailer TOKEN (admin ``token_admin``) prices in
    tUSD and has channel TOKEN_SHOP (key ``token_key``). No policy is set and no pool is funded:
    each test sets what it needs. ``buyer`` and ``buyer2`` are consumers, ``keeper`` triggers
    payouts, ``outsider`` is nobody.
    """

    env: Env
    pg: Contract
    token: Contract
    native_admin: str
    token_admin: str
    online: str
    store: str
    token_key: str
    buyer: str
    buyer2: str
    keeper: str
    outsider: str
    keys: dict[str, bytes] = field(default_factory=dict)  # private keys of the channel keys
    _receipts: int = 0

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def abi(self) -> list[dict[str, Any]]:
        return PG_ARTIFACT["abi"]

    @property
    def w3(self) -> Any:
        return self.env.w3

    @property
    def f(self) -> Any:
        return self.pg.functions

    def send(self, fn: Any, sender: str, value: int = 0, gas: int = GAS) -> Any:
        """Transact `fn` from `sender` with an explicit gas limit and return the successful receipt."""
        receipt = self.w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "value": value, "gas": gas}))
        assert receipt["status"] == 1
        return receipt

    def tx(self, fn: Any, sender: str, value: int = 0) -> Callable[[], Any]:
        """A transaction to hand to ``expect_revert`` (its gas estimate fails with the revert data)."""
        return lambda: fn.transact({"from": sender, "value": value})

    def events(self, receipt: Any, name: str, contract: Contract | None = None) -> list[Any]:
        event = getattr((contract or self.pg).events, name)()
        return [e["args"] for e in event.process_receipt(receipt, errors=DISCARD)]

    def now(self) -> int:
        return self.env.now()

    def block_time(self, receipt: Any) -> int:
        return int(self.w3.eth.get_block(receipt["blockNumber"])["timestamp"])

    def at(self, timestamp: int) -> None:
        """Make the next transaction land in a block with this timestamp (after the latest one)."""
        assert timestamp > self.now(), (timestamp, self.now())
        self.env.tester.time_travel(timestamp)

    def balance(self, account: str) -> int:
        return int(self.w3.eth.get_balance(account))

    def deploy(self, artifact: dict[str, Any], *args: Any) -> Contract:
        return deploy(self.env, artifact, self.outsider, *args)

    def new_key(self, label: str, fund: bool = True) -> str:
        """A new channel key with a deterministic private key, known to the tester (and funded)."""
        private = keccak(f"o2ochain test channel key: {label}".encode())
        address = Account.from_key(private).address
        if address not in self.keys:
            self.env.tester.add_account("0x" + private.hex())
            self.keys[address] = private
        if fund:
            self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_transaction({"from": self.outsider, "to": address, "value": 10**20}))
        return address

    # -- retailers, policies, prices --------------------------------------------------------------

    def admin_of(self, retailer: int) -> str:
        return self.native_admin if retailer == NATIVE else self.token_admin

    def unit(self, retailer: int) -> int:
        return NATIVE_UNIT if retailer == NATIVE else TOKEN_UNIT

    def currency(self, retailer: int) -> str:
        return ZERO_ADDRESS if retailer == NATIVE else self.token.address

    def set_policy(self, t: tuple[int, ...], retailer: int = NATIVE, gtin: int = 0) -> int:
        """Set a policy (the retailer's default unless ``gtin``); returns its id. A reducing
        policy applies only from its ``since`` (see :meth:`since`)."""
        receipt = self.send(self.f.setPolicy(retailer, gtin, t), self.admin_of(retailer))
        return int(self.events(receipt, "PolicySet")[0]["policy"])

    def since(self, policy: int) -> int:
        """From when policy record ``policy`` applies."""
        return int(self.f.policy(policy).call()[2])

    def publish(self, key: str, price: int, price_type: int = PRICE_REGULAR, gtin: int = GIFT_BAG, valid_for: int = 10 * DAY) -> int:
        """Publish a price from `key`, valid `valid_for` seconds; returns its validFrom."""
        until = self.now() + 1 + valid_for
        receipt = self.send(self.f.publishPrice(gtin, price, price_type, until), key)
        return self.block_time(receipt)

    def price(self, channel: int, valid_from: int, gtin: int = GIFT_BAG) -> dict[str, Any]:
        return dict(zip(PRICE_VIEW_FIELDS, self.f.price(channel, gtin, valid_from).call(), strict=True))

    def retailer(self, retailer: int = NATIVE) -> dict[str, Any]:
        return dict(zip(RETAILER_VIEW_FIELDS, self.f.retailer(retailer).call(), strict=True))

    def free(self, retailer: int = NATIVE) -> int:
        """The pool's free funds: what a withdrawal or a new purchase's cover may take."""
        view = self.retailer(retailer)
        return int(view["balance"] - view["reserved"])

    def fund(self, amount: int, retailer: int = NATIVE, sender: str | None = None) -> Any:
        sender = sender or self.keeper
        if retailer == NATIVE:
            return self.send(self.f.fund(retailer, amount), sender, value=amount)
        self.send(self.token.functions.mint(sender, amount), sender)
        self.send(self.token.functions.approve(self.pg.address, amount), sender)
        return self.send(self.f.fund(retailer, amount), sender)

    def rotate(self, channel: int, new_key: str, grace: int = 0) -> int:
        """Rotate ``channel``'s key to ``new_key`` with ``grace``; returns the revocation time."""
        retailer = int(self.f.channel(channel).call()[0])
        return self.block_time(self.send(self.f.rotateChannelKey(channel, new_key, grace), self.admin_of(retailer)))

    # -- purchases and claims -------------------------------------------------------------------

    def next_receipt(self) -> bytes:
        self._receipts += 1
        return receipt_hash(f"till 7 / receipt {self._receipts:06d}")

    def record(
        self,
        key: str | None = None,
        unit_price: int = 188,
        quantity: int = 1,
        buyer: str | None = None,
        gtin: int = GIFT_BAG,
        receipt: bytes | None = None,
        retailer: int = NATIVE,
    ) -> tuple[Any, ...]:
        """Record a sale through `key` (default: the retailer's first channel) at `unit_price`
        units; returns the Purchase tuple from PurchaseRecorded."""
        key = key or (self.store if retailer == NATIVE else self.token_key)
        sale = (buyer or self.buyer, gtin, quantity, unit_price * self.unit(retailer), receipt or self.next_receipt())
        rec = self.send(self.f.recordPurchase(sale), key)
        return purchase_of(self.events(rec, "PurchaseRecorded")[0])

    def register(self, receipt: tuple[Any, ...], signature: bytes, sender: str | None = None) -> tuple[Any, ...]:
        """Register a signed receipt; returns the Purchase tuple from PurchaseRecorded."""
        rec = self.send(self.f.registerPurchase(receipt, signature), sender or self.keeper)
        return purchase_of(self.events(rec, "PurchaseRecorded")[0])

    def vest(self, *purchases: tuple[Any, ...]) -> int:
        """Wait out the payout delay of ``purchases``: the next transaction is at the earliest
        time all of them may be claimed (or the next second, when that has passed)."""
        claimable = max(p[P_RECORDED_AT] for p in purchases) + PAYOUT_DELAY
        if claimable > self.now():
            self.at(claimable)
        return claimable

    def claim(self, purchase: tuple[Any, ...], channel: int, valid_from: int, sender: str | None = None, gas: int = GAS) -> Any:
        return self.send(self.f.claimWithPrice(purchase, channel, valid_from), sender or self.keeper, gas=gas)

    def state(self, purchase: tuple[Any, ...]) -> tuple[bool, int]:
        """(recorded, unclaimed cover) of ``purchase``."""
        recorded, unclaimed = self.f.purchaseState(purchase_id(purchase)).call()
        return bool(recorded), int(unclaimed)

    def compensated(self, purchase: tuple[Any, ...]) -> int:
        """What ``purchase`` was compensated so far (its cover less the unclaimed part; before a release)."""
        recorded, unclaimed = self.state(purchase)
        assert recorded
        return int(purchase[P_COVER]) - unclaimed

    # -- signatures -----------------------------------------------------------------------------

    def domain(self, *, chain_id: int | None = None, contract: str | None = None, version: str = DOMAIN_VERSION) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": version,
            "chainId": self.w3.eth.chain_id if chain_id is None else chain_id,
            "verifyingContract": contract or self.pg.address,
        }

    def typed(self, primary: str, message: dict[str, Any], **domain: Any) -> dict[str, Any]:
        fields = QUOTE_FIELDS if primary == "Quote" else RECEIPT_FIELDS
        return {
            "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, primary: fields},
            "primaryType": primary,
            "domain": self.domain(**domain),
            "message": message,
        }

    def sign(self, signer: str | bytes, primary: str, message: dict[str, Any], **domain: Any) -> bytes:
        key = signer if isinstance(signer, bytes) else self.keys[to_checksum_address(signer)]
        return bytes(Account.sign_message(encode_typed_data(full_message=self.typed(primary, message, **domain)), key).signature)

    def quote(self, **overrides: Any) -> dict[str, Any]:
        """A quote of the online shop: the gift bag at 133 units, from now for a day."""
        now = self.now()
        base = {
            "retailer": NATIVE,
            "channel": ONLINE,
            "gtin": GIFT_BAG,
            "currency": ZERO_ADDRESS,
            "price": 133 * NATIVE_UNIT,
            "priceType": PRICE_PROMOTION,
            "validFrom": now,
            "validUntil": now + DAY,
            "nonce": 1,
        }
        return base | overrides

    def signed_quote(self, signer: str | bytes | None = None, **overrides: Any) -> tuple[tuple[Any, ...], bytes]:
        """A quote tuple (see :meth:`quote`) and its signature by ``signer`` (default: the online key)."""
        message = self.quote(**overrides)
        return as_tuple(message, QUOTE_FIELDS), self.sign(signer or self.online, "Quote", message)

    def signed_receipt(self, signer: str | bytes, **overrides: Any) -> tuple[tuple[Any, ...], bytes]:
        base = {
            "retailer": NATIVE,
            "channel": STORE,
            "buyer": self.buyer,
            "gtin": GIFT_BAG,
            "quantity": 1,
            "unitPrice": 188 * NATIVE_UNIT,
            "purchasedAt": self.now(),
            "receiptHash": self.next_receipt(),
        }
        message = base | overrides
        return as_tuple(message, RECEIPT_FIELDS), self.sign(signer, "Receipt", message)


def as_tuple(message: dict[str, Any], fields: list[dict[str, str]]) -> tuple[Any, ...]:
    return tuple(message[f["name"]] for f in fields)


def purchase_of(event: Any) -> tuple[Any, ...]:
    """The Purchase tuple a claim passes, from a PurchaseRecorded event."""
    return tuple(event[name] for name in PURCHASE_FIELDS)


def deploy(env: Env, artifact: dict[str, Any], sender: str, *args: Any) -> Contract:
    factory = env.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(*args).transact({"from": sender, "gas": 8_000_000})
    receipt = env.w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1
    return env.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def build_price_session(env: Env) -> PriceEnv:
    """Deploy and set up the PriceGuarantee world on the session chain (see :class:`PriceEnv`)."""
    accounts = env.w3.eth.accounts
    actors = env.actors
    p = PriceEnv(
        env=env,
        pg=deploy(env, PG_ARTIFACT, actors.outsider),
        token=deploy(env, STABLECOIN_ARTIFACT, actors.outsider),
        native_admin=actors.brand_admin,
        token_admin=actors.other_admin,
        online=ZERO_ADDRESS,
        store=ZERO_ADDRESS,
        token_key=ZERO_ADDRESS,
        buyer=actors.consumer,
        buyer2=accounts[9],
        keeper=accounts[8],
        outsider=actors.outsider,
    )
    p.online = p.new_key("online shop")
    p.store = p.new_key("store")
    p.token_key = p.new_key("tUSD shop")
    open_shops(p)
    return p


def open_shops(p: PriceEnv) -> None:
    """Register retailers NATIVE (native coin) and TOKEN (tUSD) from their admins, and channels
    ONLINE and STORE of NATIVE and TOKEN_SHOP of TOKEN with the keys ``p`` holds, in that order."""
    f = p.pg.functions
    p.send(f.registerRetailer(p.native_admin, ZERO_ADDRESS, "ipfs://retailer/acme-mart"), p.native_admin)
    p.send(f.registerRetailer(p.token_admin, p.token.address, "ipfs://retailer/other-mart"), p.token_admin)
    p.send(f.addChannel(NATIVE, CHANNEL_ONLINE_SHOP, p.online, "Acme Mart online"), p.native_admin)
    p.send(f.addChannel(NATIVE, CHANNEL_STORE, p.store, "Acme Mart Nanjing Road"), p.native_admin)
    p.send(f.addChannel(TOKEN, CHANNEL_ONLINE_SHOP, p.token_key, "Other Mart online"), p.token_admin)
