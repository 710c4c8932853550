"""The keeper: what makes the price guarantee automatic.

It follows the chain's purchases and price publications (and any signed quotes it was given),
finds every purchase that a lower price of the same retailer entitles to compensation, and
triggers the payouts: anyone may, and the money always goes to the buyer. It also pays owed
compensation from the queue once a retailer's pool is refilled.

Nothing is remembered but the chain: after a restart the keeper reads the purchases again and
each purchase's ``compensated`` amount from the contract, so nothing is paid twice (the contract
refuses a second payout for the same price anyway). Every payout is logged as one JSON line:
what was paid, to whom, and why (the offer and the rule's figures).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from eth_account.signers.local import LocalAccount
from web3.exceptions import TransactionNotFound

from o2ochain._tx import PendingTx, Sender, with_retries
from o2ochain._util import hex0x
from o2ochain.errors import ChainError, ContractRevert
from o2ochain.guarantee import Entitlement, GuaranteeReader, Offer, Purchase, events_in

__all__ = ["Keeper", "KeeperAction"]


@dataclass(frozen=True)
class KeeperAction:
    """One thing the keeper did (or found it could not do)."""

    kind: str  # "paid" | "owed" | "settled" | "skipped"
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
        account: LocalAccount,
        *,
        quotes: Sequence[Offer] = (),
        log: TextIO | None = None,
        sender: Sender | None = None,
    ) -> None:
        self.reader = reader
        self.sender = sender or Sender(reader.w3, account)
        self.quotes = [reader.check_quote(q) for q in quotes]
        self.log = log
        self._cursor = reader.from_block
        self._purchases: dict[bytes, Purchase] = {}
        self._offers: dict[tuple[int, int, int], Offer] = {}
        #: Claims sent in a round that ended (the node went away) before they were reported.
        self._unreported: list[tuple[PendingTx, Entitlement]] = []
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
        if head < self._cursor:
            return head
        for purchase in self.reader.purchases(from_block=self._cursor):
            self._purchases[purchase.id] = purchase
        # Ends may refer to prices published before the cursor: read all prices of the touched
        # GTINs again from the start (prices are few next to purchases).
        fresh = self.reader.published_prices(from_block=self._cursor)
        ended = self.reader.contract.events.PriceEnded()
        touched = {o.gtin for o in fresh}
        from o2ochain._logs import get_logs

        for log in get_logs(self.reader.w3, address=self.reader.address, topics=[ended.topic], from_block=self._cursor, to_block=head):
            touched.add(int(ended.process_log(log)["args"]["gtin"]))
        for gtin in touched:
            for offer in self.reader.published_prices(gtin=gtin):
                self._offers[(offer.channel, offer.gtin, offer.valid_from)] = offer
        self._cursor = head + 1
        return head

    def add_quotes(self, quotes: Sequence[Offer]) -> None:
        """Give the keeper signed quotes (each is checked against its channel's key first)."""
        self.quotes.extend(self.reader.check_quote(q) for q in quotes)

    def due(self) -> list[Entitlement]:
        """Every purchase owed something now, with the best evidence, oldest purchase first."""
        self._follow()
        now = self.reader.now()
        offers_by: dict[tuple[int, int], list[Offer]] = {}
        for offer in [*self._offers.values(), *self.quotes]:
            offers_by.setdefault((offer.retailer, offer.gtin), []).append(offer)
        out: list[Entitlement] = []
        closed: list[bytes] = []
        for pid, purchase in self._purchases.items():
            policy = self.reader.policy(purchase.policy)
            if policy is None or policy.window == 0 or now > purchase.purchased_at + policy.window:
                closed.append(pid)  # never owed anything again
                continue
            offers = offers_by.get((purchase.retailer, purchase.gtin), [])
            if not offers:
                continue
            # First without asking the chain what was already paid: most purchases are owed nothing.
            if self.reader.best(purchase, offers, compensated=0, now=now) is None:
                continue
            best = self.reader.best(purchase, offers, now=now)
            if best is not None:
                out.append(best)
        for pid in closed:
            del self._purchases[pid]
        out.sort(key=lambda e: (e.purchase.purchased_at, e.purchase.id))
        return out

    # -- acting ------------------------------------------------------------------------------
    def run_once(self) -> list[KeeperAction]:
        """One round: claim every owed compensation (pipelined), then pay queues that can be paid.

        The round starts from the chain: the nonce is read again (a node restarted from an older
        state, or a reorg, may have taken back transactions of an earlier round, and the
        purchases they paid are then simply owed again). Payouts are reported only once their
        transactions are confirmed (:meth:`o2ochain._tx.Sender.confirm`: a claim a reorg dropped
        is sent again, same bytes, before anything is logged), and each is reported from the
        ``CompensationPaid`` event in its final receipt, so none is reported twice.
        """
        self.sender.resync_nonce()
        actions = self._report_earlier()
        sent: list[tuple[PendingTx, Entitlement]] = []
        for entitlement in self.due():
            try:
                tx = self.sender.send(
                    self.reader.claim_call(entitlement), label=f"claim for purchase {hex0x(entitlement.purchase.id)[:10]}"
                )
            except ContractRevert as exc:  # paid meanwhile by someone else, window just closed...
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
        actions.extend(self._settle())
        self.rounds += 1
        return actions

    def _report(self, tx: PendingTx, entitlement: Entitlement, receipt: Any) -> list[KeeperAction]:
        """The payout (or queued compensation) a mined claim made, from its receipt's events."""
        out: list[KeeperAction] = []
        for log in events_in(self.reader.contract, "CompensationPaid", receipt):
            if log["args"]["amount"]:
                out.append(self._record("paid", entitlement, int(log["args"]["amount"]), entitlement.reason, tx.hash_hex))
        for log in events_in(self.reader.contract, "CompensationOwed", receipt):
            out.append(
                self._record("owed", entitlement, int(log["args"]["amount"]), "the pool is short: queued until it is refilled", tx.hash_hex)
            )
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

    def _settle(self) -> list[KeeperAction]:
        """Pay queued compensation of every retailer whose pool has money again."""
        out: list[KeeperAction] = []
        for retailer in range(1, self.reader.retailer_count() + 1):
            info = self.reader.retailer(retailer)
            if info.queue_tail == info.queue_head or info.available == 0:
                continue
            try:
                receipt = self.sender.transact(self.reader.contract.functions.settle(retailer, 50), label=f"settle retailer {retailer}")
            except ContractRevert as exc:
                out.append(KeeperAction("skipped", "", "", 0, f"settling retailer {retailer}: {exc}"))
                continue
            for log in events_in(self.reader.contract, "OwedPaid", receipt):
                a = log["args"]
                action = KeeperAction(
                    "settled",
                    hex0x(a["purchase"]),
                    a["buyer"],
                    int(a["amount"]),
                    "owed compensation paid from the refilled pool",
                    hex0x(receipt["transactionHash"]),
                    {"remaining": str(a["remaining"])},
                )
                self._write(action)
                out.append(action)
        return out

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
                "offerChannel": offer.channel,
                "offerPrice": str(offer.price),
                "offerType": offer.type_name,
                "offerFrom": offer.valid_from,
                "evidence": "published price" if offer.published else "signed quote",
                "difference": str(e.difference),
                "tolerance": str(e.tolerance),
                "total": str(e.total),
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
            except (ChainError, ContractRevert, OSError) as exc:
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
