"""The ProductRegistry's reader and roles: brands, product classes, items, lots, first-sale
claims, recalls.

Read-only access is :class:`Identity` (``chain.identity``); every write goes through a role
object holding a signer:

* :class:`RegistryAdmin` registers brands and assigns GS1 company prefixes;
* :class:`BrandAdmin` grants registrant and seller keys, registers product classes, recalls;
* :class:`Registrant` registers items (explicit batches, one at a time from a production line,
  or Merkle-committed lots) and recalls;
* :class:`Seller` binds an item to its buyer at the till, or signs a claim the buyer submits;
* :class:`Consumer` submits a store-signed claim and verifies items.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from o2ochain import errors, gs1, inputs
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.logs import get_logs
from o2ochain._chain.signers import Signer, typed_signature
from o2ochain._chain.tx import PendingTx, Sender, call_view
from o2ochain._chain.util import hex0x
from o2ochain._chain.words import name_codes
from o2ochain.deployments import Deployment
from o2ochain.errors import ChainError, ConfigError, ContractRevert, InputError, InputErrors
from o2ochain.identity._catalogue import CatalogueItem, group_by_lot
from o2ochain.identity._merkle import MerkleTree, leaf_hash
from o2ochain.identity._refs import resolve_ref

ProgressFn = Callable[[int, int], None]
StageFn = Callable[[str, int, int], None]
"""``stages(stage, done, total)``: how far each stage of a long job is, named in words."""

#: Items per explicit-registration transaction: ~25,000 gas each keeps a full batch near 12.5M
#: gas, under mainnet's 16,777,216 per-transaction cap with room for the lot records.
ITEMS_PER_TX = 500
#: Items per ``registered(ItemId[])`` view call when reading what is already on chain.
READ_CHUNK = 2_000
#: Send → confirm → read back rounds of one ``register_items`` call before it gives up.
RECONCILE_PASSES = 3


class ItemStatus(enum.IntEnum):
    """The on-chain status of an item (``ItemStatus`` in Solidity)."""

    UNREGISTERED = 0
    ACTIVE = 1
    RECALLED = 2
    DECOMMISSIONED = 3


name_codes("status", [s.name.lower() for s in ItemStatus])  # refusals say "status recalled"


@dataclass(frozen=True)
class MerkleItem:
    """An item of a Merkle-committed lot, with its proof of membership."""

    gtin: str
    serial: str
    lot: str
    root: bytes
    proof: tuple[bytes, ...]

    @property
    def item_id(self) -> bytes:
        return gs1.item_id(self.gtin, self.serial)

    def as_struct(self) -> tuple[int, bytes, bytes, bytes, list[bytes]]:
        return (gs1.gtin_to_int(self.gtin), gs1.to_bytes32(self.serial), gs1.to_bytes32(self.lot), self.root, list(self.proof))


@dataclass(frozen=True)
class Verification:
    """What the chain says about one item: the consumer's verdict and its evidence."""

    item_id: str
    registered: bool
    brand: int
    gtin: str | None
    lot_id: str | None
    lot: str | None
    status: ItemStatus
    lot_recalled: bool
    claimed_by: str | None
    registered_block: int | None
    merkle: bool
    expiry: date | None = None
    root: str | None = None
    digital_link: str | None = None
    #: A supply-chain event with the CBV disposition "recalled" is the latest disposition on the
    #: item's or its lot's trace chain, a chain that ends at the head the TraceLedger stores.
    recalled_in_trace: bool = False
    #: Some of the item's or its lot's trace could not be checked against the head the TraceLedger
    #: stores (an index that lags, lost or altered entries): a recall recorded there is neither
    #: shown nor ruled out, and ``verdict`` says only what the registry and the checked chains say.
    trace_unverified: bool = False

    @property
    def verdict(self) -> str:
        """``authentic``, ``not registered``, ``recalled``, ``decommissioned`` or ``claimed``."""
        if not self.registered:
            return "not registered"
        if self.status == ItemStatus.RECALLED or self.lot_recalled or self.recalled_in_trace:
            return "recalled"
        if self.status == ItemStatus.DECOMMISSIONED:
            return "decommissioned"
        if self.claimed_by:
            return "claimed"
        return "authentic"

    def to_json(self) -> dict[str, Any]:
        return {
            "itemId": self.item_id,
            "verdict": self.verdict,
            "registered": self.registered,
            "brand": self.brand,
            "gtin": self.gtin,
            "lotId": self.lot_id,
            "lot": self.lot,
            "status": self.status.name.lower(),
            "lotRecalled": self.lot_recalled,
            "recalledInTrace": self.recalled_in_trace,
            "traceUnverified": self.trace_unverified,
            "claimedBy": self.claimed_by,
            "registeredBlock": self.registered_block,
            "merkle": self.merkle,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "root": self.root,
            "digitalLink": self.digital_link,
        }


@dataclass(frozen=True)
class TraceRecall:
    """What an item's (and its lot's) trace chains say of a recall.

    Only a chain recomputed from its entries that ends at the head the TraceLedger stores counts
    (an index is a cache: its entries may lag, be lost or be altered). ``recalled``: the latest
    disposition on such a chain is CBV ``recalled``. ``unverified``: some chain does not end at
    its stored head, so what it says of a recall is unknown.
    """

    recalled: bool = False
    unverified: bool = False


@dataclass(frozen=True)
class BrandInfo:
    """A registered brand (``registered_block`` is None for an unknown id)."""

    brand: int
    name: str
    prefixes: tuple[str, ...]
    registered_block: int | None


@dataclass
class RegistrationReport:
    """What an import did: ``registered`` now, ``already`` on chain before, in ``transactions``."""

    total: int
    registered: int = 0
    already: int = 0
    transactions: int = 0
    gas_used: int = 0
    tx_hashes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "registered": self.registered,
            "alreadyRegistered": self.already,
            "transactions": self.transactions,
            "gasUsed": self.gas_used,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class ProductionLine:
    """The production line a registrant key has open: the lot its single items and roots go to.

    ``expiry_yymmdd`` is the expiry as the contract holds it (``YYMMDD``, 0 for none), kept
    beside the date so that a lot is matched exactly as the chain matches it.

    ``manifests`` is the base URI the line publishes its Merkle manifests under (one file per
    root: :meth:`manifest_uri`), "" for a line that registers items one by one. The chain keeps
    it in the line's ``LineOpened`` event only, so it is None until read
    (``Identity.line(account, manifests=True)``); it takes no part in comparing two lines.
    """

    registrant: str
    brand: int
    gtin: str
    lot: str
    lot_id: str
    expiry: date | None
    expiry_yymmdd: int
    manifests: str | None = field(default=None, compare=False)

    def is_for(self, gtin: str, lot: str, expiry_yymmdd: int) -> bool:
        """Whether this line registers items of ``gtin`` in ``lot`` with that expiry."""
        return (self.gtin, self.lot, self.expiry_yymmdd) == (gtin, lot, expiry_yymmdd)

    def manifest_uri(self, root: bytes) -> str:
        """Where the manifest of ``root`` committed from this line is published:
        ``<manifests>/<0x root>.json``; "" when the line has no manifests base (or it was not read)."""
        return f"{self.manifests}/{hex0x(root)}.json" if self.manifests else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "registrant": self.registrant,
            "brand": self.brand,
            "gtin": self.gtin,
            "lot": self.lot,
            "lotId": self.lot_id,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "manifests": self.manifests,
        }


@dataclass(frozen=True)
class LotCommitment:
    """One Merkle-committed lot: its root and where its proofs were written.

    ``via_line`` says the root was committed from the signer's open production line
    (``commitLineRoot``, event ``LineRootCommitted``; ``uri`` is then the line's manifest URI of
    the root) rather than by ``commitLot`` (event ``LotCommitted``, which carries ``uri``).
    """

    gtin: str
    lot: str
    root: bytes
    count: int
    uri: str
    already: bool
    tx_hash: str | None
    proofs_path: str | None
    via_line: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "gtin": self.gtin,
            "lot": self.lot,
            "root": "0x" + self.root.hex(),
            "count": self.count,
            "uri": self.uri,
            "alreadyCommitted": self.already,
            "txHash": self.tx_hash,
            "proofs": self.proofs_path,
            "viaLine": self.via_line,
        }


class Identity:
    """Read-only view of the ProductRegistry contract."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.address = deployment.address("ProductRegistry")
        self.contract: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(self.address), abi=artifact("ProductRegistry")["abi"], decode_tuples=True
        )
        #: Set by the client when a TraceLedger is deployed: (brand, subjects) -> what their trace
        #: chains say of a recall, so a supply-chain recall (or an unverified trace) shows in verify().
        self.recall_check: Callable[[int, Sequence[bytes]], TraceRecall] | None = None
        #: GTIN -> brand of the products found registered: the registry has no function that undoes
        #: or moves a registration, so a server capturing document after document asks the chain
        #: once per product, not once per document (unknown GTINs are asked again). A reorg that
        #: undid one makes the ledger refuse the record (TraceSubjectNotOfBrand, in words).
        self._gtin_brands: dict[int, int] = {}

    # -- roles -------------------------------------------------------------------------------
    def brand_admin_role(self, brand: int) -> bytes:
        return bytes(call_view(self.contract.functions.brandAdminRole(brand)))

    def registrant_role(self, brand: int) -> bytes:
        return bytes(call_view(self.contract.functions.registrantRole(brand)))

    def seller_role(self, brand: int) -> bytes:
        return bytes(call_view(self.contract.functions.sellerRole(brand)))

    def has_role(self, role: bytes, account: str) -> bool:
        return bool(call_view(self.contract.functions.hasRole(role, inputs.address(account, "account"))))

    # -- reads -------------------------------------------------------------------------------
    def brand_of_gtin(self, gtin: str) -> int:
        """The brand a product class (GTIN) is registered to; 0 when the GTIN is unknown."""
        number = gs1.gtin_to_int(gs1.normalize_gtin(gtin))
        known = self._gtin_brands.get(number)
        if known is not None:
            return known
        record = call_view(self.contract.functions.product(number))
        brand = int(record.brand if hasattr(record, "brand") else record[0])
        if brand:
            self._gtin_brands[number] = brand
        return brand

    def brand(self, brand: int) -> BrandInfo:
        record = call_view(self.contract.functions.brand(brand))
        block = int(record.registeredAt)
        return BrandInfo(brand=brand, name=str(record.name), prefixes=tuple(record.prefixes), registered_block=block or None)

    def registered(self, item_ids: Sequence[bytes], *, progress: ProgressFn | None = None) -> list[bool]:
        """Which of ``item_ids`` are registered (explicitly or proven), read in chunks."""
        out: list[bool] = []
        for start in range(0, len(item_ids), READ_CHUNK):
            chunk = list(item_ids[start : start + READ_CHUNK])
            out.extend(bool(x) for x in call_view(self.contract.functions.registered(chunk), what="reading registered items"))
            if progress:
                progress(len(out), len(item_ids))
        return out

    def line(self, account: str, *, manifests: bool = False) -> ProductionLine | None:
        """The production line ``account`` has open, or None.

        With ``manifests``, also its manifests base URI, from the line's ``LineOpened`` event (a
        log query from the deployment block; without it, one view call and ``manifests`` None).
        """
        registrant = inputs.address(account, "account")
        view = call_view(self.contract.functions.line(registrant), what="reading a production line")
        if not view.open:
            return None
        expiry = int(view.expiry)
        line = ProductionLine(
            registrant=registrant,
            brand=int(view.brand),
            gtin=f"{int(view.gtin):014d}",
            lot=gs1.from_bytes32(bytes(view.lotCode)),
            lot_id=hex0x(bytes(view.lot)),
            expiry=_expiry(expiry),
            expiry_yymmdd=expiry,
        )
        return replace(line, manifests=self._line_manifests(registrant, bytes(view.lot))) if manifests else line

    def _line_manifests(self, registrant: str, lot_id: bytes) -> str:
        """``manifests`` of the last ``LineOpened`` of ``registrant`` for ``lot_id``: the open line's."""
        event = self.contract.events.LineOpened()
        topics = [event.topic, "0x" + registrant[2:].lower().rjust(64, "0"), None, hex0x(lot_id)]
        logs = get_logs(self.w3, address=self.address, topics=topics, from_block=self.deployment.contracts["ProductRegistry"].block)
        if not logs:  # pragma: no cover - an open line has its LineOpened
            raise ChainError(f"no LineOpened event of {registrant} for lot {hex0x(lot_id)} since the deployment block")
        return str(event.process_log(logs[-1])["args"]["manifests"])

    def root_committed(self, root: bytes) -> bool:
        record = call_view(self.contract.functions.lotRoot(root))
        return int(record.committedAt) > 0

    def verify(self, ref: str | bytes | gs1.DigitalLink, *, merkle: MerkleItem | None = None, recall: bool = True) -> Verification:
        """Verify an item from its Digital Link URI, item id, or Merkle proof.

        An unknown item is a normal answer (``registered`` is False), not an exception.
        ``recall=False`` leaves out the trace's recall check (a round trip of its own): for a
        caller that reads the item's trace chains itself, as a history does.
        """
        item, link = resolve_ref(ref)
        if merkle is not None:
            if merkle.item_id != item:
                raise InputError(f"the proof given is for item {hex0x(merkle.item_id)}, not {hex0x(item)}", field="proof")
            view = call_view(self.contract.functions.verifyMerkle(merkle.as_struct()), what="verifying with a Merkle proof")
        else:
            view = call_view(self.contract.functions.verify(item), what="verifying an item")
        result = self._verification(item, view, link)
        if recall and self.recall_check is not None and result.brand:
            subjects = [item] + ([bytes.fromhex(result.lot_id[2:])] if result.lot_id else [])
            if link is not None and link.lot and result.gtin:
                subjects.append(gs1.lot_id(result.gtin, link.lot))
            trace = self.recall_check(result.brand, list(dict.fromkeys(subjects)))
            result = replace(result, recalled_in_trace=trace.recalled, trace_unverified=trace.unverified)
        return result

    def _verification(self, item: bytes, view: Any, link: gs1.DigitalLink | None) -> Verification:
        registered = bool(view.registered)
        gtin_int = int(view.gtin)
        lot_id = bytes(view.lot)
        claimed = str(view.claimedBy)
        return Verification(
            item_id=hex0x(item),
            registered=registered,
            brand=int(view.brand),
            gtin=f"{gtin_int:014d}" if registered and gtin_int else (link.gtin if link else None),
            lot_id=hex0x(lot_id) if registered and any(lot_id) else None,
            lot=(link.lot if link else None) or (_lot_text(view) if registered else None),
            status=ItemStatus(int(view.status)),
            lot_recalled=bool(view.lotRecalled),
            claimed_by=None if int(claimed, 16) == 0 else Web3.to_checksum_address(claimed),
            registered_block=int(view.registeredAt) if registered else None,
            merkle=bool(view.merkle),
            expiry=_expiry(int(view.expiry)),
            root=hex0x(bytes(view.root)) if any(bytes(view.root)) else None,
            digital_link=link.uri() if link else None,
        )


def _expiry(yymmdd: int) -> date | None:
    if not yymmdd:
        return None
    try:
        return gs1.yymmdd_to_date(f"{yymmdd:06d}")
    except InputError:
        return None


def _lot_text(view: Any) -> str | None:
    code = getattr(view, "lotCode", None)
    if code is None:
        return None
    text = gs1.from_bytes32(bytes(code))
    return text or None


class _Role:
    """A role object: the read view plus a sender holding the role's key."""

    def __init__(self, identity: Identity, account: Signer, sender: Sender | None = None) -> None:
        self.identity = identity
        self.account = account
        self.address = Web3.to_checksum_address(account.address)
        self.sender = sender or Sender(identity.w3, account)

    @property
    def contract(self) -> Contract:
        return self.identity.contract


class RegistryAdmin(_Role):
    """The registry operator: admits brands and their GS1 company prefixes."""

    def register_brand(self, admin: str, name: str, prefixes: Sequence[str]) -> int:
        """Register a brand run by ``admin`` owning ``prefixes``; returns the new brand id."""
        for p in prefixes:
            if not (p.isascii() and p.isdigit() and 4 <= len(p) <= 12):
                raise InputError(f"a GS1 company prefix is 4 to 12 digits, got {p!r}", field="prefix", value=p)
        receipt = self.sender.transact(
            self.contract.functions.registerBrand(inputs.address(admin, "admin"), name, list(prefixes)),
            label=f"registerBrand({name})",
        )
        events = self.contract.events.BrandRegistered().process_receipt(receipt, errors=DISCARD)
        return int(events[0]["args"]["brand"])

    def assign_prefix(self, brand: int, prefix: str) -> None:
        self.sender.transact(self.contract.functions.assignCompanyPrefix(brand, prefix), label=f"assignCompanyPrefix({prefix})")


class _BrandOps(_Role):
    """Writes that both a brand's admin and its registrants may make."""

    def register_product(self, brand: int, gtin: str, uri: str = "") -> None:
        """Register a product class (GTIN) of ``brand``; its company prefix must be the brand's."""
        g = gs1.normalize_gtin(gtin)
        self.sender.transact(self.contract.functions.registerProduct(brand, gs1.gtin_to_int(g), uri), label=f"registerProduct({g})")

    def recall_item(self, ref: str | bytes | gs1.DigitalLink, reason: int, document: bytes = b"\x00" * 32) -> str:
        item, _ = resolve_ref(ref)
        receipt = self.sender.transact(self.contract.functions.recallItem(item, reason, document), label="recallItem")
        return hex0x(receipt["transactionHash"])

    def recall_lot(self, gtin: str, lot: str, reason: int, document: bytes = b"\x00" * 32) -> str:
        g = gs1.normalize_gtin(gtin)
        gs1.validate_lot(lot)
        receipt = self.sender.transact(
            self.contract.functions.recallLot(gs1.gtin_to_int(g), gs1.to_bytes32(lot), reason, document), label=f"recallLot({g}, {lot})"
        )
        return hex0x(receipt["transactionHash"])

    def decommission(self, ref: str | bytes | gs1.DigitalLink, reason: int) -> str:
        item, _ = resolve_ref(ref)
        receipt = self.sender.transact(self.contract.functions.decommission(item, reason), label="decommission")
        return hex0x(receipt["transactionHash"])

    def prove(self, merkle: MerkleItem) -> str:
        """Write a Merkle-committed item into item storage (needed before recalling it alone)."""
        receipt = self.sender.transact(self.contract.functions.proveItem(merkle.as_struct()), label="proveItem")
        return hex0x(receipt["transactionHash"])


class BrandAdmin(_BrandOps):
    """A brand's administrator: manages the brand's keys and product classes."""

    def __init__(self, identity: Identity, account: Signer, brand: int, sender: Sender | None = None) -> None:
        super().__init__(identity, account, sender)
        self.brand = brand

    def _grant(self, role: bytes, account: str, label: str) -> None:
        self.sender.transact(self.contract.functions.grantRole(role, inputs.address(account, "account")), label=label)

    def _revoke(self, role: bytes, account: str, label: str) -> None:
        self.sender.transact(self.contract.functions.revokeRole(role, inputs.address(account, "account")), label=label)

    def grant_registrant(self, account: str) -> None:
        self._grant(self.identity.registrant_role(self.brand), account, "grant registrant")

    def revoke_registrant(self, account: str) -> None:
        self._revoke(self.identity.registrant_role(self.brand), account, "revoke registrant")

    def grant_seller(self, account: str) -> None:
        self._grant(self.identity.seller_role(self.brand), account, "grant seller")

    def revoke_seller(self, account: str) -> None:
        self._revoke(self.identity.seller_role(self.brand), account, "revoke seller")

    def add_product(self, gtin: str, uri: str = "") -> None:
        self.register_product(self.brand, gtin, uri)

    def authorise_seller(self, retailer: int, *, authorised: bool = True) -> str:
        """Recognise ``retailer`` (a retailer of the price guarantee) as a seller of the brand's
        products in the review board, or withdraw that (``authorised=False``); returns the tx hash.

        Only the buyers of a recognised retailer may review the brand's products on a purchase,
        and their product reviews count only while it stays recognised: withdrawing hides them
        from every reader (they stay on chain). Unlike :meth:`grant_seller` (a till key that
        records first-sale claims in the registry), this names a retailer by its number.
        """
        guarantee = self.identity.w3.eth.contract(
            address=Web3.to_checksum_address(self.identity.deployment.address("PriceGuarantee")), abi=artifact("PriceGuarantee")["abi"]
        )
        if authorised and not 1 <= retailer <= int(call_view(guarantee.functions.retailerCount())):
            raise InputError(
                f"there is no retailer {retailer} in the price guarantee: a brand recognises a registered retailer "
                "(authorising a number before it exists would authorise whoever registers it next)",
                field="retailer",
                value=retailer,
            )
        board = self.identity.w3.eth.contract(
            address=Web3.to_checksum_address(self.identity.deployment.address("ReviewBoard")), abi=artifact("ReviewBoard")["abi"]
        )
        label = f"{'authorise' if authorised else 'withdraw'} retailer {retailer} as a seller of brand {self.brand}"
        receipt = self.sender.transact(board.functions.setSellerAuthorised(self.brand, retailer, authorised), label=label)
        return hex0x(receipt["transactionHash"])


class Registrant(_BrandOps):
    """A production line or co-packer key: registers the brand's items."""

    # -- explicit registration ---------------------------------------------------------------
    def register_items(
        self,
        items: Sequence[CatalogueItem],
        *,
        progress: ProgressFn | None = None,
        items_per_tx: int = ITEMS_PER_TX,
        stages: StageFn | None = None,
    ) -> RegistrationReport:
        """Register ``items`` one slot each, exactly once, however often this is rerun.

        Every product class must be registered and the signer must be a registrant of its brand;
        both are checked for all items before anything is sent. What the chain already holds is
        skipped, so rerunning after a crash at any point finishes the job.

        The batches go out pipelined; their receipts are then confirmed (see
        :meth:`o2ochain._chain.tx.Sender.confirm`: a batch a reorg dropped is sent again, same bytes),
        and the chain is read back: items still missing (a batch refused because someone else
        registered some of its items meanwhile) go out in new batches, at most
        ``RECONCILE_PASSES`` times. ``registered`` counts the items that are on chain now and
        were not when the run began, so a batch sent twice is never counted twice.

        ``progress(done, total)`` counts items on chain; ``stages`` names the stages as well:
        ``checking what the chain holds`` (items read), then ``sending items`` (items on chain).
        """
        started = time.monotonic()
        report = RegistrationReport(total=len(items))
        if not items:
            return report
        self._check_products(items)
        # A previous run that died may have left transactions in flight: let them land first,
        # then read the chain, so that nothing is sent twice.
        self.sender.wait_until_settled()
        self.sender.resync_nonce()
        ids = [it.item_id for it in items]
        checking = (lambda done, total: stages("checking what the chain holds", done, total)) if stages else None
        on_chain = self.identity.registered(ids, progress=checking)
        todo = [it for it, done in zip(items, on_chain, strict=True) if not done]
        report.already = len(items) - len(todo)
        if stages:
            outer = progress

            def both(done: int, total: int) -> None:
                stages("sending items", done, total)
                if outer:
                    outer(done, total)

            progress = both
        if progress:
            progress(report.already, report.total)
        for _ in range(RECONCILE_PASSES):
            if not todo:
                break
            self._send_and_confirm(todo, items_per_tx, report, progress)
            still = self.identity.registered([it.item_id for it in todo])
            todo = [it for it, done in zip(todo, still, strict=True) if not done]
        if todo:
            raise ChainError(
                f"{len(todo)} item(s) are still not registered after {RECONCILE_PASSES} passes "
                f"(first: {todo[0].gtin} {todo[0].serial}); run again"
            )
        report.registered = len(items) - report.already
        report.seconds = time.monotonic() - started
        return report

    def _send_and_confirm(
        self, todo: Sequence[CatalogueItem], items_per_tx: int, report: RegistrationReport, progress: ProgressFn | None
    ) -> None:
        """One pass: send ``todo`` in batches, wait for each, confirm them all; count into ``report``."""
        pending: list[tuple[PendingTx, int]] = []
        for batch in _pack_batches(todo, items_per_tx):
            count = sum(len(group[3]) for group in batch)
            tx = self.sender.send(self.contract.functions.registerItems(batch), label=f"registerItems({count} items)")
            pending.append((tx, count))
        done = report.total - len(todo)
        mined: list[PendingTx] = []
        for tx, count in pending:
            try:
                self.sender.wait([tx], confirm=False)
            except errors.IdentityItemAlreadyRegistered:
                continue  # someone registered some of these meanwhile: the read-back sorts it out
            mined.append(tx)
            done += count
            if progress:
                progress(done, report.total)
        for receipt in self.sender.confirm(mined):
            report.transactions += 1
            report.gas_used += int(receipt["gasUsed"])
            report.tx_hashes.append(hex0x(receipt["transactionHash"]))

    # -- production lines --------------------------------------------------------------------
    def open_line(self, gtin: str, lot: str, expiry: date | str | None = None, *, manifests: str = "") -> ProductionLine:
        """Open this key's production line for ``lot`` of ``gtin``: the chain checks once what a
        batch checks (role, product, lot code, expiry, not recalled), then takes single items
        (:meth:`register_one`) and Merkle roots (:meth:`commit_lots`) of that lot cheaply.

        ``manifests`` is the base URI under which the line's Merkle manifests are published, one
        per committed root at ``<manifests>/<0x root>.json`` (a trailing "/" is dropped); leave it
        "" for a line that registers items one by one: :meth:`commit_lots` commits from a line
        only when it has one. The chain keeps it in the ``LineOpened`` event.

        A key has one line; opening another closes it. It stays open until :meth:`close_line`,
        the next ``open_line``, or the revocation of the key's registrant role.
        """
        g, code, yymmdd = _line_args(gtin, lot, expiry)
        base = manifests.rstrip("/")
        if manifests and not base:
            raise InputError("the manifests base URI is only slashes", field="manifests", value=manifests)
        fn = self.contract.functions.openLine(gs1.gtin_to_int(g), gs1.to_bytes32(code), yymmdd, base)
        self.sender.transact(fn, label=f"openLine({g}, {code})")
        line = self.identity.line(self.address)
        if line is None:  # pragma: no cover - the transaction succeeded, so the line is open
            raise ConfigError(f"openLine succeeded but no line is open for {self.address}")
        return replace(line, manifests=base)

    def close_line(self) -> str:
        """Close this key's production line; returns the transaction hash."""
        receipt = self.sender.transact(self.contract.functions.closeLine(), label="closeLine")
        return hex0x(receipt["transactionHash"])

    def register_one(
        self, serial: str, *, gtin: str | None = None, lot: str | None = None, expiry: date | str | None = None
    ) -> RegistrationReport:
        """Register one item, as a production line does when the item leaves it.

        Without ``gtin`` and ``lot`` the item goes to the line this key has open; with them, to
        that lot, opening a line for it first when the open line is another (or none). An item
        already on chain is reported as ``already`` and nothing is sent, so a rerun after a crash
        registers it exactly once.
        """
        started = time.monotonic()
        serial = gs1.validate_serial(serial)
        report = RegistrationReport(total=1)
        # A transaction of a process that died may still be pending: let it land first.
        self.sender.wait_until_settled()
        self.sender.resync_nonce()
        line = self.identity.line(self.address)
        if gtin is not None or lot is not None:
            if gtin is None or lot is None:
                raise InputError(
                    "give both gtin and lot to choose the line, or neither to use the open one", field="lot" if lot is None else "gtin"
                )
            g, code, yymmdd = _line_args(gtin, lot, expiry)
            if line is None or not line.is_for(g, code, yymmdd):
                line = self.open_line(g, code, expiry)
        elif line is None:
            raise InputError(f"{self.address} has no production line open: open one (open_line) or give gtin and lot")
        item = gs1.item_id(line.gtin, serial)
        if self.identity.registered([item])[0]:
            report.already = 1
        else:
            fn = self.contract.functions.registerItem(gs1.to_bytes32(serial))
            receipt = self.sender.transact(fn, label=f"registerItem({serial})")
            report.registered = report.transactions = 1
            report.gas_used = int(receipt["gasUsed"])
            report.tx_hashes.append(hex0x(receipt["transactionHash"]))
        report.seconds = time.monotonic() - started
        return report

    def _check_products(self, items: Sequence[CatalogueItem]) -> None:
        rows: dict[str, list[CatalogueItem]] = {}
        for it in items:
            found = rows.setdefault(it.gtin, [])
            if len(found) < _LINES_NAMED + 1:
                found.append(it)
        problems: list[InputError] = []
        brands: set[int] = set()
        for gtin, its in rows.items():
            brand = self.identity.brand_of_gtin(gtin)
            if brand == 0:
                problems.append(
                    InputError(
                        f"product class {gtin} is not registered on chain: register it first (o2ochain product add); "
                        f"{_lines_naming(its, gtin, items)}",
                        file=its[0].file,
                        line=its[0].line,
                        field="gtin",
                        value=gtin,
                    )
                )
                continue
            brands.add(brand)
        for brand in sorted(brands):
            if not self.identity.has_role(self.identity.registrant_role(brand), self.address):
                problems.append(
                    InputError(f"{self.address} is not a registrant of brand {brand}; its brand admin must grant the role first")
                )
        InputErrors.raise_if_any(problems)

    # -- Merkle lots -------------------------------------------------------------------------
    def commit_lots(
        self,
        items: Sequence[CatalogueItem],
        *,
        proofs_dir: Any,
        uri_template: str = "o2ochain://lot/{root}",
        resolver: str = gs1.DEFAULT_RESOLVER,
        progress: ProgressFn | None = None,
        stages: StageFn | None = None,
    ) -> list[LotCommitment]:
        """Commit each lot of ``items`` as one Merkle root; write every item's proof first.

        The tree of a lot is a pure function of its items, so a rerun rebuilds the same root and
        skips a lot whose root is already on chain. The lot this key has its production line open
        on (same GTIN, lot and expiry), when the line was opened with a manifests base URI, is
        committed from the line (``commitLineRoot``: one read of the line's lot in place of the
        product and the role, no URI on chain); its ``uri`` is then the line's
        ``<manifests>/<0x root>.json``, not ``uri_template``'s. Any other lot goes by ``commitLot``
        with ``uri_template``. No line is opened here: opening one to commit a single root costs
        more than it saves.

        ``progress(done, total)`` counts lots built and sent; ``stages`` names the stages:
        ``building Merkle trees and proofs`` (items), then ``confirming roots`` (roots mined).
        """
        from pathlib import Path

        from o2ochain.identity._merkle import write_proofs

        self._check_products(items)
        self.sender.wait_until_settled()
        self.sender.resync_nonce()
        folder = Path(proofs_dir)
        folder.mkdir(parents=True, exist_ok=True)
        results: list[LotCommitment] = []
        pending: list[tuple[int, PendingTx]] = []
        groups = group_by_lot(items)
        line = self.identity.line(self.address)
        if line is not None and (line.gtin, line.lot) in groups:
            line = self.identity.line(self.address, manifests=True)  # its manifests base, from its event
        built = 0
        for n, ((gtin, lot), lot_items) in enumerate(groups.items()):
            leaves = [leaf_hash(it.item_id, it.lot_id) for it in lot_items]
            tree = MerkleTree(leaves)
            path = folder / f"{gtin}-{_safe(lot)}.proofs.jsonl"
            write_proofs(path, tree, lot_items, resolver=resolver)
            expiry = gs1.expiry_to_yymmdd(lot_items[0].expiry)
            already = self.identity.root_committed(tree.root)
            on_line = line if line is not None and line.manifests and line.is_for(gtin, lot, expiry) else None
            uri = on_line.manifest_uri(tree.root) if on_line else uri_template.format(root=hex0x(tree.root), gtin=gtin, lot=lot)
            tx_hash = None
            if not already:
                if on_line:
                    fn = self.contract.functions.commitLineRoot(HexBytes(on_line.lot_id), tree.root, len(lot_items))
                    label = f"commitLineRoot({gtin}, {lot})"
                else:
                    args = (gs1.gtin_to_int(gtin), gs1.to_bytes32(lot), expiry, tree.root, len(lot_items), uri)
                    fn, label = self.contract.functions.commitLot(*args), f"commitLot({gtin}, {lot})"
                tx = self.sender.send(fn, label=label)
                pending.append((len(results), tx))
                tx_hash = tx.hash_hex
            via_line = on_line is not None and not already
            results.append(LotCommitment(gtin, lot, tree.root, len(lot_items), uri, already, tx_hash, str(path), via_line))
            built += len(lot_items)
            if progress:
                progress(n + 1, len(groups))
            if stages:
                stages("building Merkle trees and proofs", built, len(items))
        mined = 0

        def confirmed(_tx: PendingTx, _receipt: Any) -> None:
            nonlocal mined
            mined += 1
            if stages:
                stages("confirming roots", mined, len(pending))

        if stages and pending:
            stages("confirming roots", 0, len(pending))
        self.sender.wait([tx for _, tx in pending], on_mined=confirmed)
        return results


_LINES_NAMED = 5
"""Lines of a catalogue named in an error about all the rows of one product."""


def _lines_naming(found: Sequence[CatalogueItem], gtin: str, items: Sequence[CatalogueItem]) -> str:
    """``"it is on line 2"``, ``"it is on lines 2, 5 and 9"`` or ``"it is on 1,204 rows: lines 2, 5, 9, 11, 12, …"``."""
    lines = [f"{it.line:,}" for it in found[:_LINES_NAMED]]
    if len(found) <= _LINES_NAMED:
        return f"it is on line {lines[0]}" if len(lines) == 1 else f"it is on lines {', '.join(lines[:-1])} and {lines[-1]}"
    count = sum(1 for it in items if it.gtin == gtin)
    return f"it is on {count:,} rows: lines {', '.join(lines)}, …"


def _line_args(gtin: str, lot: str, expiry: date | str | None) -> tuple[str, str, int]:
    """GTIN-14, lot code and ``YYMMDD`` expiry (0 for none) of a line, checked as a CSV row is."""
    g = gs1.normalize_gtin(gtin)
    code = gs1.validate_lot(lot)
    when = gs1.parse_expiry(expiry) if isinstance(expiry, str) else expiry
    return g, code, gs1.expiry_to_yymmdd(when)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _pack_batches(items: Sequence[CatalogueItem], items_per_tx: int) -> Iterable[list[tuple[int, bytes, int, list[bytes]]]]:
    """Group items by lot into ``ItemBatch`` structs, at most ``items_per_tx`` items a call."""
    batch: list[tuple[int, bytes, int, list[bytes]]] = []
    size = 0
    for (gtin, lot), lot_items in group_by_lot(items).items():
        expiry = lot_items[0].expiry
        head = (gs1.gtin_to_int(gtin), gs1.to_bytes32(lot), gs1.expiry_to_yymmdd(expiry) if expiry else 0)
        serials = [gs1.to_bytes32(it.serial) for it in lot_items]
        while serials:
            room = items_per_tx - size
            take, serials = serials[:room], serials[room:]
            batch.append((*head, take))
            size += len(take)
            if size >= items_per_tx:
                yield batch
                batch, size = [], 0
    if batch:
        yield batch


CLAIM_TYPES = {
    "Claim": [
        {"name": "item", "type": "bytes32"},
        {"name": "owner", "type": "address"},
        {"name": "deadline", "type": "uint256"},
    ]
}


class Seller(_Role):
    """A store's till key: first-sale claims for the brands that granted it the seller role."""

    def claim(self, ref: str | bytes | gs1.DigitalLink, owner: str, *, merkle: MerkleItem | None = None) -> str:
        """Bind the item to ``owner`` (once). A Merkle item is proven in the same transaction."""
        item, _ = resolve_ref(ref)
        owner = inputs.address(owner, "owner")
        claim_call = self.contract.encode_abi("claim", args=[item, owner])
        if merkle is not None and not self.identity.registered([item])[0]:
            prove_call = self.contract.encode_abi("proveItem", args=[merkle.as_struct()])
            fn = self.contract.functions.multicall([prove_call, claim_call])
        else:
            fn = self.contract.functions.claim(item, owner)
        receipt = self.sender.transact(fn, label="claim")
        return hex0x(receipt["transactionHash"])

    def sign_claim(self, ref: str | bytes | gs1.DigitalLink, owner: str, *, valid_for: int = 86_400) -> dict[str, Any]:
        """An EIP-712 claim the buyer submits (paying the gas): ``{item, owner, deadline, signature}``."""
        item, _ = resolve_ref(ref)
        deadline = int(time.time()) + valid_for
        message = {"item": item, "owner": inputs.address(owner, "owner"), "deadline": deadline}
        domain = {
            "name": "o2ochain ProductRegistry",
            "version": "1",
            "chainId": self.sender.chain_id,
            "verifyingContract": Web3.to_checksum_address(self.identity.address),
        }
        signature = typed_signature(self.account, domain, CLAIM_TYPES, message)
        return {"item": hex0x(item), "owner": message["owner"], "deadline": deadline, "signature": hex0x(signature)}


class Consumer(_Role):
    """A buyer: submits a store-signed claim and verifies what they bought."""

    def claim_with_signature(self, claim: dict[str, Any], *, merkle: MerkleItem | None = None) -> str:
        item = HexBytes(claim["item"])
        args = [bytes(item), inputs.address(claim["owner"], "owner"), int(claim["deadline"]), bytes(HexBytes(claim["signature"]))]
        if merkle is not None and not self.identity.registered([bytes(item)])[0]:
            calls = [
                self.contract.encode_abi("proveItem", args=[merkle.as_struct()]),
                self.contract.encode_abi("claimWithSignature", args=args),
            ]
            fn = self.contract.functions.multicall(calls)
        else:
            fn = self.contract.functions.claimWithSignature(*args)
        receipt = self.sender.transact(fn, label="claimWithSignature")
        return hex0x(receipt["transactionHash"])

    def verify(self, ref: str | bytes | gs1.DigitalLink, *, merkle: MerkleItem | None = None) -> Verification:
        return self.identity.verify(ref, merkle=merkle)


def revert_reason(exc: BaseException) -> str:
    """A one-line, human message for an error raised by this module."""
    if isinstance(exc, ContractRevert | InputError | ConfigError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def find_proof(source: Any, item: bytes) -> MerkleItem | None:
    """The Merkle proof of ``item`` in a proofs file, or in any ``*.proofs.jsonl`` of a folder."""
    from pathlib import Path

    from o2ochain.identity._merkle import read_proofs

    path = Path(source)
    files = sorted(path.glob("*.proofs.jsonl")) if path.is_dir() else [path]
    wanted = hex0x(item)
    for file in files:
        header, records = read_proofs(file)
        for record in records:
            if record["item_id"] == wanted:
                return MerkleItem(
                    gtin=record["gtin"],
                    serial=record["serial"],
                    lot=record["lot"],
                    root=bytes(HexBytes(header["root"])),
                    proof=tuple(bytes(HexBytes(p)) for p in record["proof"]),
                )
    return None
