"""The roles that write to the PriceGuarantee: the retailer, a channel's key, the buyer."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from eth_abi.abi import encode as abi_encode
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from o2ochain import gs1, inputs
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.signers import Signer, typed_signature
from o2ochain._chain.tx import PendingTx, Sender, call_view, decode_web3_error, with_retries
from o2ochain._chain.util import hex0x
from o2ochain.errors import ConfigError, ContractRevert, InputError
from o2ochain.guarantee._reader import GuaranteeReader
from o2ochain.guarantee._sales import _sale
from o2ochain.guarantee._terms import (
    _RECEIPT_ABI,
    _U96,
    MAX_KEY_GRACE,
    NATIVE,
    QUOTE_TYPES,
    RECEIPT_TYPES,
    UNTIL_ENDED,
    Entitlement,
    Offer,
    Policy,
    PolicyRecord,
    Purchase,
    Release,
    Sale,
    SignedReceipt,
    channel_kind_number,
    format_time,
    gtin_number,
    price_type_number,
    receipt_hash,
)


def events_in(contract: Contract, name: str, receipt: Any) -> list[Any]:
    """The ``name`` events of ``contract`` in ``receipt`` (other contracts' logs are skipped quietly)."""
    return list(contract.events[name]().process_receipt(receipt, errors=DISCARD))


class _Role:
    def __init__(self, reader: GuaranteeReader, account: Signer, sender: Sender | None = None) -> None:
        self.reader = reader
        self.account = account
        self.address = Web3.to_checksum_address(account.address)
        self.sender = sender or Sender(reader.w3, account)

    @property
    def contract(self) -> Contract:
        return self.reader.contract

    def lodge_quote(self, quote: Offer) -> Offer:
        """Lodge a signed quote on chain (anyone may): from then on it counts like a published
        price that its channel cannot end, whatever becomes of the key that signed it. Returns it
        as the offer on chain."""
        receipt = self.sender.transact(self.reader.lodge_call(quote), label=f"lodge a quote of channel {quote.channel}")
        (log,) = events_in(self.contract, "QuoteLodged", receipt)
        a = log["args"]
        return replace(quote, price_type=int(a["priceType"]), signature=None, lodged=True, block=int(receipt["blockNumber"]))

    def release(
        self, purchases: Sequence[Purchase], *, batch: int = 50, progress: Callable[[int], None] | None = None
    ) -> list[Release]:
        """Return the unclaimed cover of ``purchases`` (whose claims closed) to their retailers'
        free funds, ``batch`` purchases per transaction (anyone may); ``progress`` is told how many
        more purchases are done as each transaction is mined."""
        if batch < 1:
            raise InputError("the batch size must be at least 1", field="batch", value=batch)
        sizes: dict[str, int] = {}
        pending: list[PendingTx] = []
        for i in range(0, len(purchases), batch):
            rows = purchases[i : i + batch]
            tx = self.sender.send(self.reader.release_call(rows), label=f"release the cover of {len(rows)} purchase(s)")
            sizes[tx.hash_hex] = len(rows)
            pending.append(tx)
        out: list[Release] = []
        for receipt in self.sender.wait(pending, on_mined=(lambda tx, _r: progress(sizes[tx.hash_hex])) if progress else None):
            for log in events_in(self.contract, "CoverReleased", receipt):
                a = log["args"]
                out.append(
                    Release(
                        bytes(a["purchase"]),
                        int(a["retailer"]),
                        int(a["amount"]),
                        int(receipt["blockNumber"]),
                        hex0x(receipt["transactionHash"]),
                    )
                )
        return out


#: The grace a key rotation gives by default to the receipts and vouchers the old key signed.
DEFAULT_KEY_GRACE = 86_400


class RetailerAdmin(_Role):
    """A retailer's admin key: channels, keys, policy, pool."""

    def __init__(self, reader: GuaranteeReader, account: Signer, retailer: int, sender: Sender | None = None) -> None:
        super().__init__(reader, account, sender)
        self.retailer = retailer

    @classmethod
    def register(
        cls, reader: GuaranteeReader, account: Signer, *, currency: str = NATIVE, uri: str = "", admin: str | None = None
    ) -> RetailerAdmin:
        """Register a new retailer pricing and paying in ``currency`` (the native coin by default)."""
        sender = Sender(reader.w3, account)
        fn = reader.contract.functions.registerRetailer(
            inputs.address(admin, "admin") if admin else Web3.to_checksum_address(account.address),
            inputs.address(currency, "currency", allow_zero=True),
            uri,
        )
        receipt = sender.transact(fn, label="register retailer")
        (log,) = events_in(reader.contract, "RetailerRegistered", receipt)
        return cls(reader, account, int(log["args"]["retailer"]), sender)

    @property
    def currency(self) -> str:
        return self.reader.currency(self.retailer)

    def add_channel(self, kind: str | int, key: str, name: str) -> int:
        """Declare a channel (online shop, store, marketplace, app) with its key."""
        if not name.strip():
            raise InputError("a channel needs a name", field="name")
        fn = self.contract.functions.addChannel(self.retailer, channel_kind_number(kind), inputs.address(key, "key"), name.strip())
        receipt = self.sender.transact(fn, label=f"add channel {name!r}")
        (log,) = events_in(self.contract, "ChannelAdded", receipt)
        return int(log["args"]["channel"])

    def rotate_key(self, channel: int, new_key: str | None, *, grace: int = DEFAULT_KEY_GRACE, compromised: bool = False) -> str:
        """Replace a channel's key by ``new_key`` (``None``: the channel has no key until the next rotation).

        The old key is revoked now: nothing it signs counts any more, and the quotes it signed
        stop counting at once (unless they were lodged on chain before). The receipts and
        vouchers it signed while live, already in buyers' hands, still count for ``grace``
        seconds (at most MAX_KEY_GRACE, 7 days), so buyers can register and redeem them.
        ``compromised=True`` (the key may be in someone else's hands) gives no grace: everything
        it signed that was not used is refused at once.
        """
        if compromised:
            grace = 0
        if not 0 <= grace <= MAX_KEY_GRACE:
            raise InputError(f"the grace must be 0..{MAX_KEY_GRACE} seconds (7 days)", field="grace", value=grace)
        fn = self.contract.functions.rotateChannelKey(channel, inputs.address(new_key, "new_key", allow_zero=True) if new_key else NATIVE, grace)
        return hex0x(self.sender.transact(fn, label=f"rotate key of channel {channel}")["transactionHash"])

    def set_policy(self, policy: Policy, *, gtin: str | int | None = None) -> PolicyRecord:
        """Set the default policy (or one product class's) for purchases made from now on.

        When the new terms reduce the coverage in effect for that class now (a shorter window,
        a larger tolerance, a lower cap, more excluded price types), they apply only to purchases
        made POLICY_NOTICE (7 days) from now: the record's ``since`` says when (``reduces``).
        """
        fn = self.contract.functions.setPolicy(self.retailer, 0 if gtin is None else gtin_number(gtin), policy.as_struct())
        receipt = self.sender.transact(fn, label="set guarantee policy")
        (log,) = events_in(self.contract, "PolicySet", receipt)
        a = log["args"]
        record = PolicyRecord(
            id=int(a["policy"]),
            retailer=self.retailer,
            gtin=int(a["gtin"]),
            since=int(a["since"]),
            previous=int(a["previous"]),
            terms=policy,
            set_at=self.reader.timestamp(int(receipt["blockNumber"])),
        )
        return record

    def declare_price_error(self, channel: int, gtin: str | int, valid_from: int) -> str:
        fn = self.contract.functions.declarePriceError(channel, gtin_number(gtin), valid_from)
        return hex0x(self.sender.transact(fn, label="declare a price error")["transactionHash"])

    def fund(self, amount: int) -> str:
        """Add ``amount`` (base units) to the pool; an ERC-20 is approved first."""
        if amount <= 0:
            raise InputError("fund a positive amount", field="amount", value=amount)
        currency = self.currency
        if int(currency, 16) == 0:
            fn = self.contract.functions.fund(self.retailer, amount)
            return hex0x(self.sender.transact(fn, value=amount, label="fund the guarantee pool")["transactionHash"])
        token = self.reader.w3.eth.contract(address=Web3.to_checksum_address(currency), abi=artifact("TestStablecoin")["abi"])
        allowance = int(call_view(token.functions.allowance(self.address, self.reader.address)))
        pending: list[PendingTx] = []
        if allowance < amount:
            pending.append(self.sender.send(token.functions.approve(self.reader.address, amount), label="approve the pool"))
            self.sender.wait(pending)
        try:
            receipt = self.sender.transact(self.contract.functions.fund(self.retailer, amount), label="fund the guarantee pool")
        except ContractRevert as exc:  # e.g. ERC20InsufficientBalance: its amounts in the retailer's currency
            raise exc.with_amounts(lambda units: self.reader.money(units, currency)) from None
        return hex0x(receipt["transactionHash"])

    def announce_withdrawal(self, amount: int, to: str | None = None) -> int:
        """Announce a withdrawal from the pool's free funds; returns when it may execute (a day later)."""
        fn = self.contract.functions.announceWithdrawal(self.retailer, amount, inputs.address(to, "to") if to else self.address)
        receipt = self.sender.transact(fn, label="announce a withdrawal")
        (log,) = events_in(self.contract, "WithdrawalAnnounced", receipt)
        return int(log["args"]["executableAt"])

    def cancel_withdrawal(self) -> str:
        return hex0x(
            self.sender.transact(self.contract.functions.cancelWithdrawal(self.retailer), label="cancel the withdrawal")["transactionHash"]
        )

    def execute_withdrawal(self) -> str:
        """Execute the announced withdrawal: it sends what is free then (never reserved cover), up to its amount."""
        return hex0x(self.sender.transact(self.contract.functions.executeWithdrawal(self.retailer), label="withdraw")["transactionHash"])

    def release_closed(self, *, batch: int = 50) -> list[Release]:
        """Return to the free funds the unclaimed cover of every purchase of this retailer whose
        claims have closed."""
        closed = self.reader.releasable(retailer=self.retailer)
        return self.release(closed, batch=batch) if closed else []


class ChannelKey(_Role):
    """A channel's key: prices, quotes, sales, receipts."""

    def __init__(self, reader: GuaranteeReader, account: Signer, sender: Sender | None = None) -> None:
        super().__init__(reader, account, sender)
        key = reader.key(account.address)
        if key.channel == 0:
            raise ConfigError(f"{account.address} is not the key of any channel: the retailer's admin adds it with add_channel")
        if key.revoked_at:
            raise ConfigError(f"{account.address} was the key of channel {key.channel} but was revoked on {format_time(key.revoked_at)}")
        self.retailer = key.retailer
        self.channel = key.channel

    @property
    def currency(self) -> str:
        return self.reader.currency(self.retailer)

    def publish_price(
        self, gtin: str | int, price: int, *, price_type: str | int = "regular", valid_until: int = UNTIL_ENDED, end_previous: bool = True
    ) -> Offer:
        """Publish the channel's price for a GTIN; the previous live one is ended first (by default).

        A published price stands until ``valid_until`` or until it is ended, so raising a price
        means ending the lower one: left alone, it would still count for the buyers.
        """
        g = gtin_number(gtin)
        if not 0 < price < _U96:
            raise InputError("a price must be positive", field="price", value=price)
        pending: list[PendingTx] = []
        if end_previous:
            live = self.reader.live_price(self.channel, g)
            if (
                live is not None
                and live.price == price
                and live.price_type == price_type_number(price_type)
                and live.valid_until == valid_until
            ):
                return live  # unchanged: publishing again would only cost gas
            if live is not None:
                pending.append(self.sender.send(self.contract.functions.endPrice(g, live.valid_from), label="end the previous price"))
        fn = self.contract.functions.publishPrice(g, price, price_type_number(price_type), valid_until)
        self.sender.wait(pending)
        label = f"publish price of {g:014d}"
        for attempt in range(3):
            try:
                # A price is keyed by (channel, GTIN, second of chain time). A second change in
                # the same second (a node may mine several blocks a second) waits for the next
                # second; a node simulates in the latest block's second, so then it is sent
                # with a fixed gas limit rather than simulated again.
                tx = self.sender.send(fn, label=label) if attempt == 0 else self.sender.send(fn, gas=120_000, label=label)
                receipts = self.sender.wait([tx])
                break
            except ContractRevert as exc:
                if exc.error_name != "GuaranteePriceExists" or attempt == 2:
                    raise
                time.sleep(1.1)
        block = int(receipts[-1]["blockNumber"])
        return Offer(
            retailer=self.retailer,
            channel=self.channel,
            gtin=g,
            currency=self.currency,
            price=price,
            price_type=price_type_number(price_type),
            valid_from=self.reader.timestamp(block),
            valid_until=valid_until,
            block=block,
        )

    def end_price(self, gtin: str | int) -> Offer | None:
        """End the channel's live price for a GTIN (None when there is none)."""
        live = self.reader.live_price(self.channel, gtin)
        if live is None:
            return None
        receipt = self.sender.transact(self.contract.functions.endPrice(live.gtin, live.valid_from), label="end price")
        return replace(live, ended_at=self.reader.timestamp(int(receipt["blockNumber"])))

    def sign_quote(
        self,
        gtin: str | int,
        price: int,
        *,
        price_type: str | int = "regular",
        valid_from: int | None = None,
        valid_for: int = 86_400,
        nonce: int | None = None,
    ) -> Offer:
        """A price quote signed off chain (EIP-712): what the web shop shows, provable later."""
        start = self.reader.now() if valid_from is None else valid_from  # the chain's clock decides
        offer = Offer(
            retailer=self.retailer,
            channel=self.channel,
            gtin=gtin_number(gtin),
            currency=self.currency,
            price=price,
            price_type=price_type_number(price_type),
            valid_from=start,
            valid_until=start + valid_for,
            nonce=time.time_ns() % 2**64 if nonce is None else nonce,
        )
        message = {name["name"]: value for name, value in zip(QUOTE_TYPES["Quote"], offer.as_quote_struct(), strict=True)}
        return replace(offer, signature=typed_signature(self.account, self.reader.domain(), QUOTE_TYPES, message))

    def sign_receipt(
        self, buyer: str, gtin: str | int, quantity: int, unit_price: int, receipt: str | bytes, *, purchased_at: int | None = None
    ) -> SignedReceipt:
        """A receipt the buyer registers themselves (for a sale the till did not record on chain)."""
        values = SignedReceipt(
            retailer=self.retailer,
            channel=self.channel,
            buyer=inputs.address(buyer, "buyer"),
            gtin=gtin_number(gtin),
            quantity=quantity,
            unit_price=unit_price,
            purchased_at=self.reader.now() if purchased_at is None else purchased_at,
            receipt=receipt_hash(receipt),
            signature=b"",
        )
        message = {name["name"]: value for name, value in zip(RECEIPT_TYPES["Receipt"], values.as_struct(), strict=True)}
        return replace(values, signature=typed_signature(self.account, self.reader.domain(), RECEIPT_TYPES, message))

    def record_sale(self, buyer: str, gtin: str | int, quantity: int, unit_price: int, receipt: str | bytes) -> Purchase:
        """Record one sale now; returns the purchase as the chain recorded it, with its cover.

        A receipt is recorded once: a receipt already recorded for this retailer is refused
        (InputError), since recording it again later would be another purchase on chain.
        """
        sale = _sale(buyer, gtin, quantity, unit_price, receipt)
        for earlier in self.reader.purchases(buyer=sale.buyer):
            if earlier.retailer == self.retailer and earlier.receipt == sale.receipt:
                raise InputError(
                    f"receipt {hex0x(sale.receipt)} was already recorded as purchase {hex0x(earlier.id)}: one receipt is one purchase",
                    field="receipt",
                )
        tx = self.sender.transact(self.contract.functions.recordPurchase(sale.as_struct()), label="record a sale")
        (log,) = events_in(self.contract, "PurchaseRecorded", tx)
        return GuaranteeReader._purchase(log)

    def record_sales(self, sales: Sequence[Sale], *, batch: int = 100, progress: Callable[[int], None] | None = None) -> tuple[int, int]:
        """Record many sales, pipelined in batches; sales already on chain are skipped.

        Returns (recorded now, already recorded). Rerunning after a crash records each sale
        exactly once: the retailer's purchases on chain are read first, and a receipt hash
        already among them is not recorded again.
        """
        if batch < 1:
            raise InputError("the batch size must be at least 1", field="batch", value=batch)
        recorded = self.reader.recorded_receipts(self.retailer)
        seen: set[bytes] = set()
        fresh: list[Sale] = []
        for sale in sales:
            if sale.receipt in seen:
                continue
            seen.add(sale.receipt)
            if sale.receipt not in recorded:
                fresh.append(sale)
        skipped = len(seen) - len(fresh)
        if progress and skipped:
            progress(skipped)
        pending: list[PendingTx] = []
        sizes: dict[str, int] = {}
        for start in range(0, len(fresh), batch):
            rows = fresh[start : start + batch]
            tx = self.sender.send(self.contract.functions.recordPurchases([s.as_struct() for s in rows]), label=f"record {len(rows)} sales")
            sizes[tx.hash_hex] = len(rows)
            pending.append(tx)
        self.sender.wait(pending, on_mined=(lambda tx, _r: progress(sizes[tx.hash_hex])) if progress else None)
        return len(fresh), skipped


class Buyer(_Role):
    """The consumer: their purchases, what they are owed, when and why, and claims."""

    def purchases(self) -> list[Purchase]:
        """My recorded purchases, oldest first: only those the chain holds as their logs say
        (``purchaseDigest``, one view call each: a buyer has few). The logs list them (an index's,
        maybe, which may lag but must not add a purchase or change one)."""
        return [p for p in self.reader.purchases(buyer=self.address) if self._held(p)]

    def _held(self, purchase: Purchase) -> bool:
        """Whether the chain holds ``purchase`` with these very fields (what a claim checks)."""
        digest = gs1.keccak256(abi_encode([*_RECEIPT_ABI, "uint32", "uint96", "uint40"], list(purchase.as_struct())))
        return int(call_view(self.contract.functions.purchaseDigest(purchase.id), what="checking a purchase")) == int.from_bytes(
            digest[-20:], "big"
        )

    def register(self, receipt: SignedReceipt) -> Purchase:
        """Register a receipt a channel signed (anyone may send it; the buyer is in the receipt)."""
        tx = self.sender.transact(
            self.contract.functions.registerPurchase(receipt.as_struct(), receipt.signature), label="register a receipt"
        )
        (log,) = events_in(self.contract, "PurchaseRecorded", tx)
        return GuaranteeReader._purchase(log)

    def owed(self, quotes: Sequence[Offer] = ()) -> list[Entitlement]:
        """For each of my purchases, the best evaluation now: owed now, owed once claimable
        (``pending``, from ``claimable_at``), or why nothing is.

        What is owed now is what the chain pays: the claim is simulated (``eth_call`` from this
        account) before it is offered, so offers read from logs (an index's, maybe) that the
        chain does not hold as read change nothing offered (see :meth:`_as_paid`).
        """
        out: list[Entitlement] = []
        offers_by_gtin: dict[int, list[Offer]] = {}
        for purchase in self.purchases():
            if purchase.gtin not in offers_by_gtin:
                offers_by_gtin[purchase.gtin] = self.reader.published_prices(gtin=purchase.gtin)
            offers = offers_by_gtin[purchase.gtin] + [q for q in quotes if q.gtin == purchase.gtin]
            rows = self.reader.entitlements(purchase, offers)
            if rows:
                out.append(self._as_paid(rows) if rows[0].due > 0 else rows[0])
        return out

    def _as_paid(self, rows: Sequence[Entitlement]) -> Entitlement:
        """Of one purchase's ``rows`` (best first), the one whose claim pays most on chain, at what
        it pays; nothing owed now, with the chain's reason, when no claim goes through.

        Claims are simulated best first while a row's ``due`` could beat what a simulated claim
        pays: one call when the offers are as the chain holds them. A row whose claim pays other
        than its ``due`` took an offer the chain holds otherwise: it is evaluated again with the
        chain's offer (the ``price`` view) where the offer is on chain.
        """
        best: Entitlement | None = None
        refused: ContractRevert | None = None
        for row in rows:
            if row.due == 0 or (best is not None and row.due <= best.due):
                break
            paid = self._claim_pays(row)
            if isinstance(paid, ContractRevert):
                refused = refused or paid
                continue
            checked = row if paid == row.due else self._with_chains_offer(row, paid)
            if best is None or checked.due > best.due:
                best = checked
        if best is not None:
            return best
        return replace(rows[0], due=0, pending=0, reason=f"the chain refuses a claim now: {refused}")

    def _claim_pays(self, entitlement: Entitlement) -> int | ContractRevert:
        """What claiming ``entitlement`` pays now, simulated from this account, or why it reverts."""
        fn = self.reader.claim_call(entitlement)

        def run() -> int:
            try:
                return int(fn.call({"from": self.address}))
            except Exception as exc:
                decoded = decode_web3_error(exc)
                if decoded is not None:
                    raise decoded from None
                raise

        try:
            return with_retries(run, what="simulating a claim")
        except ContractRevert as exc:
            return exc

    def _with_chains_offer(self, row: Entitlement, paid: int) -> Entitlement:
        """``row`` evaluated with its offer as the chain holds it, when that pays ``paid``; else
        ``row`` owing ``paid`` (a signed quote is only what was passed in)."""
        offer = row.offer
        if offer.signature is None:
            view = call_view(self.contract.functions.price(offer.channel, offer.gtin, offer.valid_from), what="reading a price")
            held = replace(
                offer,
                price=int(view.price),
                price_type=int(view.priceType),
                valid_until=int(view.validUntil),
                ended_at=int(view.endedAt),
                lodged=bool(view.lodged),
            )
            again = self.reader.entitlements(row.purchase, [held])
            if again and again[0].due == paid:
                return again[0]
        return replace(row, due=paid)

    def claim(self, purchase: Purchase | bytes | str, quotes: Sequence[Offer] = ()) -> Entitlement:
        """Claim what ``purchase`` is owed now, with the best evidence; InputError when nothing is
        (saying from when it will be, when it will)."""
        p = purchase if isinstance(purchase, Purchase) else self.reader.purchase(purchase)
        offers = self.reader.published_prices(gtin=p.gtin) + [q for q in quotes if q.gtin == p.gtin]
        rows = self.reader.entitlements(p, offers)
        if rows and rows[0].due > 0 and (paid := self._as_paid(rows)).due > 0:
            rows = [paid]  # the offer the chain pays most for (a refused claim is sent below: its revert says why)
        if not rows or rows[0].due == 0:
            if rows and rows[0].pending:
                amount = self.reader.format(rows[0].pending, self.reader.currency(p.retailer))
                raise InputError(f"nothing is claimable yet for purchase {hex0x(p.id)}: {amount} is {rows[0].reason}", field="purchase")
            reason = rows[0].reason if rows else "no price of this product was offered by the retailer"
            raise InputError(f"nothing is owed for purchase {hex0x(p.id)}: {reason}", field="purchase")
        self.sender.transact(self.reader.claim_call(rows[0]), label="claim price-guarantee compensation")
        return rows[0]

    def credit(self, currency: str | None = None) -> int:
        return self.reader.credit(self.address, currency or NATIVE)

    def withdraw_credit(self, currency: str = NATIVE) -> str:
        fn = self.contract.functions.withdrawCredit(inputs.address(currency, "currency", allow_zero=True))
        return hex0x(self.sender.transact(fn, label="withdraw credited compensation")["transactionHash"])
