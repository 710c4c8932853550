"""The keeper: what makes the price guarantee automatic.

It follows the chain's purchases and offers (prices published, quotes lodged, and any signed
quotes it was given), finds every purchase that a lower price of the same retailer entitles to
compensation, and triggers the payouts: anyone may, and the money always goes to the buyer.

* Compensation is paid from a day after a purchase was recorded (the payout delay) until a day
  after its window closed. An entitlement found earlier is reported once (``pending``, with the
  date) and kept: the keeper pays it in the first round once it is claimable, without anyone
  asking. So in the paper's case the store records the sale at 188, the web shop drops to 133,
  and a day later the buyer is paid 55 per unit.
* Signed quotes it is given are lodged on chain (``lodgeQuote``) as soon as it sees them: a quote
  counts only while its key is live, and a lodged one counts whatever becomes of the key, so a
  key rotation (or a retailer revoking the key on purpose) cannot void a buyer's evidence.
* Once the claims of a purchase have closed, its unclaimed cover is released (``release``, in
  batches), so that the retailer's free funds return.

Nothing is remembered but the chain: after a restart the keeper reads the purchases and offers
again, and each purchase's unclaimed cover from the contract, so nothing is paid twice (the
contract refuses a second payout for the same price anyway). Every action is logged as one JSON
line: what was paid, to whom, and why (the offer and the rule's figures).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from web3 import HTTPProvider
from web3.exceptions import TransactionNotFound

from o2ochain._chain.events import event_decoder
from o2ochain._chain.logs import get_logs
from o2ochain._chain.signers import Signer
from o2ochain._chain.tx import PendingTx, Sender, with_retries
from o2ochain._chain.util import gc_paused, hex0x
from o2ochain.errors import ChainError, ContractRevert, InputError
from o2ochain.guarantee._reader import GuaranteeReader
from o2ochain.guarantee._roles import events_in
from o2ochain.guarantee._terms import Entitlement, Offer, Purchase

#: Purchases released per transaction.
RELEASE_BATCH = 50
#: The events besides purchases that a round follows.
_FOLLOWED = ("CompensationPaid", "CoverReleased", "PricePublished", "QuoteLodged", "PriceEnded")


@dataclass(frozen=True)
class KeeperAction:
    """One thing the keeper did, found, or could not do.

    ``kind``: ``paid`` (compensation paid to the buyer), ``pending`` (an entitlement that is
    claimable only from a later date: the keeper will pay it then), ``lodged`` (a signed quote
    lodged on chain), ``released`` (the unclaimed cover of a closed purchase returned to the
    retailer's free funds), ``skipped`` (refused by the chain; ``reason`` says why).
    """

    kind: str
    purchase: str
    buyer: str
    amount: int
    reason: str
    tx_hash: str = ""
    detail: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "purchase": self.purchase,
            "buyer": self.buyer,
            "amount": str(self.amount),
            "reason": self.reason,
        }
        if self.tx_hash:
            out["txHash"] = self.tx_hash
        if self.detail:
            out |= self.detail
        return out


class Keeper:
    """Finds owed compensation and triggers it. One instance per signer; see :meth:`run`."""

    def __init__(
        self,
        reader: GuaranteeReader,
        account: Signer,
        *,
        quotes: Sequence[Offer] = (),
        log: TextIO | None = None,
        sender: Sender | None = None,
        lodge: bool = True,
        release: bool = True,
        retailer: int | None = None,
    ) -> None:
        self.reader = reader
        #: Only this retailer's purchases are paid and released (a retailer's own keeper), or every one's.
        self.retailer = retailer
        self.sender = sender or Sender(reader.w3, account)
        self.quotes = [reader.check_quote(q) for q in quotes]
        self.log = log
        self.lodge = lodge
        self.release = release
        self._cursor = reader.from_block
        #: Purchases with a cover whose claims are open, or closed with their cover not yet released.
        self._purchases: dict[bytes, Purchase] = {}
        self._offers: dict[tuple[int, int, int], Offer] = {}
        #: Compensation paid so far, by purchase (from ``CompensationPaid``), of the followed purchases.
        self._paid: dict[bytes, int] = {}
        #: Signed quotes not lodged yet (lodged at the start of the next round).
        self._to_lodge: list[Offer] = list(self.quotes) if lodge else []
        #: Not-yet-claimable entitlements found, by purchase: the total reported, so that each is
        #: reported once (and again only when a lower offer raises it).
        self._announced: dict[bytes, int] = {}
        #: Claims sent in a round that ended (the node went away) before they were reported.
        self._unreported: list[tuple[PendingTx, Entitlement]] = []
        #: Entitlements found in the last :meth:`due` that become claimable later.
        self.upcoming: list[Entitlement] = []
        self.rounds = 0

    # -- following the chain -----------------------------------------------------------------
    def _follow(self) -> int:
        """Read what happened since the last round; returns the block read up to."""
        head = int(with_retries(lambda: self.reader.w3.eth.block_number, what="eth_blockNumber"))
        if head < self._cursor - 1:
            # The chain went back (a node restarted from an older state, a reorg): what we read
            # may be gone, and new purchases may come at heights we already passed. Read again.
            self._cursor = self.reader.from_block
            self._purchases.clear()
            self._offers.clear()
            self._paid.clear()
        if head < self._cursor:
            return head
        reader = self.reader
        with gc_paused():  # a year of purchases the first time: hundreds of thousands of objects kept
            purchases, logs = self._read_logs(lambda: reader.purchases(from_block=self._cursor, to_block=head), head)
        for purchase in purchases:
            if purchase.cover and self.retailer in (None, purchase.retailer):  # a purchase without cover is never owed anything
                self._purchases[purchase.id] = purchase
        # What was paid, and what was released (its claims closed: nothing is owed or left to
        # release), so that a year of closed purchases is not asked of the chain one by one.
        for log in logs["CompensationPaid"]:
            paid = event_decoder(self.reader.contract, "CompensationPaid").process_log(log)["args"]
            pid = bytes(paid["purchase"])
            if pid in self._purchases:
                self._paid[pid] = self._paid.get(pid, 0) + int(paid["amount"])
        for log in logs["CoverReleased"]:
            self._forget(bytes(log["topics"][1]))
        # Ends may refer to prices published before the cursor: read all offers of the touched
        # GTINs again from the start (offers are few next to purchases), a hundred GTINs a query.
        # Read from the start, the logs in hand are every offer already.
        if self._cursor == reader.from_block:
            offers = reader.offers_in(published=logs["PricePublished"], lodged=logs["QuoteLodged"], ended=logs["PriceEnded"])
        else:
            touched: set[int] = set()
            for name, position in (("PricePublished", 1), ("QuoteLodged", 1), ("PriceEnded", 2)):  # the GTIN's topic
                touched.update(int.from_bytes(bytes(log["topics"][position]), "big") for log in logs[name])
            offers = reader.published_prices(gtins=sorted(touched))
        for offer in offers:
            self._offers[(offer.channel, offer.gtin, offer.valid_from)] = offer
        self._cursor = head + 1
        return head

    def _read_logs(self, purchases: Callable[[], list[Purchase]], head: int) -> tuple[list[Purchase], dict[str, list[Any]]]:
        """``purchases()`` and the logs of :data:`_FOLLOWED` since the last round: over HTTP the
        logs are read in threads while the purchases are, so a round waits for the longest read
        (a year of purchases: pages of the index one after another), not for the sum of all."""
        if not isinstance(self.reader.w3.provider, HTTPProvider):  # an in-process chain is not made for threads
            return purchases(), {name: self._logs(name, head) for name in _FOLLOWED}
        with ThreadPoolExecutor(len(_FOLLOWED), thread_name_prefix="o2o-keeper") as pool:
            pending = {name: pool.submit(self._logs, name, head) for name in _FOLLOWED}
            return purchases(), {name: future.result() for name, future in pending.items()}

    def _logs(self, event: str, head: int) -> list[Any]:
        """The logs of ``event`` since the last round, up to ``head``."""
        topic = event_decoder(self.reader.contract, event).topic
        return get_logs(self.reader.w3, address=self.reader.address, topics=[topic], from_block=self._cursor, to_block=head)

    def add_quotes(self, quotes: Sequence[Offer]) -> None:
        """Give the keeper signed quotes (each is checked against its channel's key first); they
        are lodged on chain at the next round."""
        checked = [self.reader.check_quote(q) for q in quotes]
        self.quotes.extend(checked)
        if self.lodge:
            self._to_lodge.extend(checked)

    def due(self) -> list[Entitlement]:
        """Every purchase owed something now, with the best evidence, oldest purchase first.

        Entitlements that become claimable only later (the payout delay) are kept in
        :attr:`upcoming`; the purchase stays followed, so they are paid once claimable.
        """
        self._follow()
        now = self.reader.now()
        offers_by: dict[tuple[int, int], list[Offer]] = {}
        for offer in [*self._offers.values(), *self.quotes]:
            offers_by.setdefault((offer.retailer, offer.gtin), []).append(offer)
        # The lowest price of each retailer and GTIN: a purchase whose tolerance that price does
        # not beat is owed nothing by any offer, and is passed over without evaluating each.
        lowest = {key: min(offer.price for offer in offers) for key, offers in offers_by.items()}
        out: list[Entitlement] = []
        upcoming: list[Entitlement] = []
        for purchase in self._purchases.values():
            key = (purchase.retailer, purchase.gtin)
            if key not in lowest:
                continue
            policy = self.reader.policy(purchase.policy)
            if policy is None or purchase.unit_price - lowest[key] <= policy.tolerance(purchase.unit_price):
                continue
            if self.reader.closed(purchase, now):
                continue  # left for the release
            offers = offers_by[key]
            # First without asking the chain what was already paid: most purchases are owed nothing.
            rows = self.reader.entitlements(purchase, offers, compensated=0, now=now)
            if not rows or rows[0].owed == 0:
                continue
            # Claims are open, so nothing was released: what was paid is the cover not unclaimed.
            # Before the payout delay is over the chain pays nothing (GuaranteeClaimTooEarly), so
            # there is nothing to ask: a year of new sales owed on a price cut costs no call each.
            compensated = 0 if now < purchase.claimable_at else purchase.cover - self.reader.purchase_state(purchase.id)[1]
            best = self.reader.entitlements(purchase, offers, compensated=compensated, now=now)[0]
            if best.due:
                out.append(best)
            elif best.pending:
                upcoming.append(best)
        out.sort(key=lambda e: (e.purchase.purchased_at, e.purchase.id))
        upcoming.sort(key=lambda e: (e.claimable_at, e.purchase.id))
        self.upcoming = upcoming
        return out

    # -- acting ------------------------------------------------------------------------------
    def run_once(self) -> list[KeeperAction]:
        """One round: lodge the quotes given, claim every compensation claimable now (pipelined),
        report what becomes claimable later, and release the cover of purchases whose claims
        closed.

        The round starts from the chain: the nonce is read again (a node restarted from an older
        state, or a reorg, may have taken back transactions of an earlier round, and the
        purchases they paid are then simply owed again). Payouts are reported only once their
        transactions are confirmed (:meth:`o2ochain._chain.tx.Sender.confirm`: a claim a reorg dropped
        is sent again, same bytes, before anything is logged), and each is reported from the
        ``CompensationPaid`` event in its final receipt, so none is reported twice.
        """
        self.sender.resync_nonce()
        actions = self._report_earlier()
        actions.extend(self._lodge())
        sent: list[tuple[PendingTx, Entitlement]] = []
        for entitlement in self.due():
            try:
                tx = self.sender.send(
                    self.reader.claim_call(entitlement), label=f"claim for purchase {hex0x(entitlement.purchase.id)[:10]}"
                )
            except ContractRevert as exc:  # paid meanwhile by someone else, claims just closed...
                actions.append(self._record("skipped", entitlement, 0, str(exc)))
                continue
            sent.append((tx, entitlement))
            self._unreported.append((tx, entitlement))
        mined: list[tuple[PendingTx, Entitlement]] = []
        for tx, entitlement in sent:
            try:
                self.sender.wait([tx], confirm=False)
            except ContractRevert as exc:
                actions.append(self._record("skipped", entitlement, 0, str(exc), tx.hash_hex))
                continue
            mined.append((tx, entitlement))
        receipts = self.sender.confirm([tx for tx, _ in mined])
        for (tx, entitlement), receipt in zip(mined, receipts, strict=True):
            actions.extend(self._report(tx, entitlement, receipt))
        self._unreported.clear()
        actions.extend(self._announce())
        if self.release:
            actions.extend(self._release())
        self.rounds += 1
        return actions

    def _lodge(self) -> list[KeeperAction]:
        """Lodge the signed quotes not lodged yet. A quote already on chain is simply dropped from
        the queue; one the chain refuses is reported and kept as off-chain evidence."""
        out: list[KeeperAction] = []
        queue, self._to_lodge = self._to_lodge, []
        for n, quote in enumerate(queue):
            detail = {"retailer": quote.retailer, "channel": quote.channel, "gtin": f"{quote.gtin:014d}", "price": str(quote.price)}
            detail |= {"validFrom": quote.valid_from, "validUntil": quote.valid_until}
            try:
                if self.reader.is_lodged(quote):
                    self._drop_quote(quote)
                    continue
                receipt = self.sender.transact(self.reader.lodge_call(quote), label=f"lodge a quote of channel {quote.channel}")
            except ContractRevert as exc:
                action = KeeperAction("skipped", "", "", 0, f"lodging a quote of channel {quote.channel}: {exc}", detail=detail)
                self._write(action)
                out.append(action)
                continue
            except ChainError:
                self._to_lodge = [*queue[n:], *self._to_lodge]  # the next round tries again
                raise
            self._drop_quote(quote)
            action = KeeperAction(
                "lodged",
                "",
                "",
                0,
                "the signed quote now counts like a published price, whatever becomes of its key",
                hex0x(receipt["transactionHash"]),
                detail,
            )
            self._write(action)
            out.append(action)
        return out

    def _drop_quote(self, quote: Offer) -> None:
        """A lodged quote is evidence on chain (read by :meth:`_follow`): no longer held off chain."""
        self.quotes = [q for q in self.quotes if q != quote]

    def _report(self, tx: PendingTx, entitlement: Entitlement, receipt: Any) -> list[KeeperAction]:
        """The payout a mined claim made, from its receipt's events."""
        out: list[KeeperAction] = []
        for log in events_in(self.reader.contract, "CompensationPaid", receipt):
            if log["args"]["amount"]:
                out.append(self._record("paid", entitlement, int(log["args"]["amount"]), entitlement.reason, tx.hash_hex))
                self._announced.pop(entitlement.purchase.id, None)
        return out

    def _report_earlier(self) -> list[KeeperAction]:
        """Report the claims of a round that failed before reporting them, as far as the chain kept
        them: a node that went away mid-round may have mined and kept some. One the chain does not
        have was dropped; its purchase is simply owed again and claimed anew this round."""
        out: list[KeeperAction] = []
        while self._unreported:  # one at a time: a node still away leaves the rest for the next round
            tx, entitlement = self._unreported[0]
            try:
                receipt = with_retries(partial(self.reader.w3.eth.get_transaction_receipt, tx.tx_hash), what="eth_getTransactionReceipt")
            except TransactionNotFound:
                receipt = None
            self._unreported.pop(0)
            if receipt is not None and receipt["status"] == 1:
                out.extend(self._report(tx, entitlement, receipt))
        return out

    def _announce(self) -> list[KeeperAction]:
        """Report each entitlement that becomes claimable later, once (again when it grows)."""
        out: list[KeeperAction] = []
        for e in self.upcoming:
            if self._announced.get(e.purchase.id) == e.total:
                continue
            self._announced[e.purchase.id] = e.total
            out.append(self._record("pending", e, e.pending, f"{e.reason}; the keeper pays it then"))
        return out

    def _release(self) -> list[KeeperAction]:
        """Release the unclaimed cover of the followed purchases whose claims have closed."""
        now = self.reader.now()
        closed = [p for p in self._purchases.values() if self.reader.closed(p, now)]
        if not closed:
            return []
        releasable: list[Purchase] = []
        for p in closed:
            # Paid in full (by the chain's events), nothing is left: no need to ask. Otherwise the
            # chain says what is unclaimed (a release of nothing would only cost gas).
            if self._paid.get(p.id, 0) < p.cover and self.reader.purchase_state(p.id)[1] > 0:
                releasable.append(p)
            else:
                self._forget(p.id)  # paid in full, or released by someone else
        out: list[KeeperAction] = []
        for start in range(0, len(releasable), RELEASE_BATCH):
            batch = releasable[start : start + RELEASE_BATCH]
            try:
                receipt = self.sender.transact(self.reader.release_call(batch), label=f"release the cover of {len(batch)} purchase(s)")
            except ContractRevert as exc:  # a reorg moved the clock back, say: the next round tries again
                action = KeeperAction("skipped", "", "", 0, f"releasing the cover of {len(batch)} purchase(s): {exc}")
                self._write(action)
                out.append(action)
                continue
            by_id = {p.id: p for p in batch}
            for log in events_in(self.reader.contract, "CoverReleased", receipt):
                a = log["args"]
                p = by_id[bytes(a["purchase"])]
                action = KeeperAction(
                    "released",
                    hex0x(p.id),
                    p.buyer,
                    int(a["amount"]),
                    "its claims closed: the unclaimed cover returned to the retailer's free funds",
                    hex0x(receipt["transactionHash"]),
                    {"retailer": p.retailer, "gtin": p.gtin14, "cover": str(p.cover)},
                )
                self._write(action)
                out.append(action)
            for p in batch:
                self._forget(p.id)
        return out

    def _forget(self, purchase: bytes) -> None:
        self._purchases.pop(purchase, None)
        self._announced.pop(purchase, None)
        self._paid.pop(purchase, None)

    def _record(self, kind: str, e: Entitlement, amount: int, reason: str, tx_hash: str = "") -> KeeperAction:
        offer = e.offer
        action = KeeperAction(
            kind=kind,
            purchase=hex0x(e.purchase.id),
            buyer=e.purchase.buyer,
            amount=amount,
            reason=reason,
            tx_hash=tx_hash,
            detail={
                "retailer": e.purchase.retailer,
                "gtin": e.purchase.gtin14,
                "paidPrice": str(e.purchase.unit_price),
                "quantity": e.purchase.quantity,
                "cover": str(e.purchase.cover),
                "offerChannel": offer.channel,
                "offerPrice": str(offer.price),
                "offerType": offer.type_name,
                "offerFrom": offer.valid_from,
                "evidence": offer.evidence,
                "difference": str(e.difference),
                "tolerance": str(e.tolerance),
                "total": str(e.total),
                "claimableAt": e.claimable_at,
            },
        )
        self._write(action)
        return action

    def _write(self, action: KeeperAction) -> None:
        if self.log is not None:
            self.log.write(json.dumps({"time": int(time.time()), **action.to_json()}) + "\n")
            self.log.flush()

    def run(
        self,
        *,
        interval: float = 5.0,
        stop: threading.Event | None = None,
        rounds: int | None = None,
        on_round: Callable[[list[KeeperAction]], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """Run rounds every ``interval`` seconds until ``stop`` is set (or ``rounds`` are done).

        A node that is down or a round that fails is reported to ``on_error`` and retried at
        the next round; state lives on the chain, so a failed round loses nothing. This is the
        behaviour users want of a long-running keeper: a node restart or a network blip costs
        a round or two, not the process. Without ``on_error`` (``keeper --once``) the error is
        raised, so a one-shot run fails clearly and is simply run again.
        """
        stop = stop or threading.Event()
        done = 0
        while not stop.is_set():
            try:
                actions = self.run_once()
                if on_round is not None:
                    on_round(actions)
            except (ChainError, ContractRevert, InputError, OSError) as exc:
                self.sender.resync_nonce()
                if on_error is None:
                    raise
                on_error(exc)
            done += 1
            if rounds is not None and done >= rounds:
                return
            stop.wait(interval)


def open_log(path: Path | None) -> TextIO | None:
    """The keeper's JSON Lines log, appended to (None: no log)."""
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8")
