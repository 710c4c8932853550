"""Reading the PriceGuarantee: retailers, channels, keys, policies, prices, purchases, payouts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from o2ochain import inputs
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.events import checksum_address, event_decoder, log_timestamp
from o2ochain._chain.index import attached_index
from o2ochain._chain.logs import confirmed, get_logs
from o2ochain._chain.tx import call_view, read_all
from o2ochain._chain.util import address_topic, hex0x
from o2ochain.deployments import Deployment
from o2ochain.errors import InputError
from o2ochain.guarantee._terms import (
    _U96,
    CHANNEL_KINDS,
    DOMAIN_NAME,
    DOMAIN_VERSION,
    PRICE_TYPES,
    QUOTE_TYPES,
    ChannelInfo,
    Entitlement,
    KeyInfo,
    Offer,
    Payout,
    Policy,
    PolicyRecord,
    Purchase,
    Release,
    RetailerInfo,
    evaluate,
    format_time,
    gtin_number,
    purchase_id,
)

#: The bounds of ``PurchaseRecorded``'s data words (retailer, channel, quantity, unitPrice,
#: purchasedAt, receiptHash, policy, cover, recordedAt): uint32, uint32, uint32, uint96, uint40,
#: bytes32, uint32, uint96, uint40.
_PURCHASE_WORDS = (1 << 32, 1 << 32, 1 << 32, 1 << 96, 1 << 40, 1 << 256, 1 << 32, 1 << 96, 1 << 40)
#: The bits of a ``PurchaseRecorded`` log's data that are beyond each word's type: all zero in a valid one.
_PURCHASE_SPARE_BITS = sum(((1 << 256) - bound) << (256 * (len(_PURCHASE_WORDS) - 1 - n)) for n, bound in enumerate(_PURCHASE_WORDS))
#: Where each word of that data is, as a shift of the whole data read as one number.
_PURCHASE_SHIFTS = tuple(256 * (len(_PURCHASE_WORDS) - 1 - n) for n in range(len(_PURCHASE_WORDS)))
_WORD = (1 << 256) - 1
#: An address's padding in a topic.
_ZERO_PAD = bytes(12)

#: Blocks asked for in one JSON-RPC batch (providers cap batches at 50-1,000 calls).
_BLOCKS_PER_BATCH = 50

#: GTINs asked for in one log query (a topic list): nodes and the index take lists this long.
_GTINS_PER_QUERY = 100

#: The coin of the chains that do not use ether (the others, local chains included, use ETH).
_NATIVE_SYMBOLS = {56: "BNB", 97: "tBNB", 100: "xDAI", 137: "POL", 80002: "POL", 43114: "AVAX", 42220: "CELO"}


class GuaranteeReader:
    """Read the price-guarantee contract and apply its rule (no signer needed)."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(deployment.address("PriceGuarantee"))
        self.contract: Contract = w3.eth.contract(address=self.address, abi=artifact("PriceGuarantee")["abi"], decode_tuples=True)
        self.from_block = deployment.contracts["PriceGuarantee"].block
        self.chain_id = int(w3.eth.chain_id)
        self._timestamps: dict[int, int] = {}
        self._policies: dict[int, PolicyRecord] = {}
        self._currencies: dict[int, str] = {}
        self._decimals: dict[str, int] = {}
        self._symbols: dict[str, str | None] = {}
        self._channel_retailers: dict[int, int] = {}

    def domain(self) -> dict[str, Any]:
        return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": self.chain_id, "verifyingContract": self.address}

    def now(self) -> int:
        """The chain's clock: the latest block's timestamp (what the next block cannot be before)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    # -- amounts -----------------------------------------------------------------------------
    def decimals(self, currency: str) -> int:
        """18 for the native coin, else the ERC-20's ``decimals()``."""
        currency = Web3.to_checksum_address(currency)
        if currency not in self._decimals:
            if int(currency, 16) == 0:
                self._decimals[currency] = 18
            else:
                token = self.w3.eth.contract(address=currency, abi=artifact("TestStablecoin")["abi"])
                self._decimals[currency] = int(call_view(token.functions.decimals()))
        return self._decimals[currency]

    def units(self, amount: str | Decimal | int | inputs.Amount, currency: str, *, field: str = "amount") -> int:
        """A decimal amount (``"188"``, ``"1.25"``, ``"1.25 USDC"``) in the currency's base units.

        Zero is an amount here (a tolerance of nothing); more decimal places than the currency
        has, a unit other than its symbol, or more than the contract holds are refused with an
        :class:`InputError` naming ``field`` (or where an :class:`~o2ochain.inputs.Amount` was typed).
        """
        typed = inputs.decimal_amount(amount, field)
        symbol = self.symbol(currency) if typed.unit else None  # asked of the token only when a unit was written
        return typed.units(self.decimals(currency), symbol=symbol, maximum=_U96 - 1, allow_zero=True)

    def format(self, units: int, currency: str) -> str:
        """Base units as a decimal amount (``188000000`` -> ``"188"`` at 6 decimals)."""
        text = format(Decimal(units).scaleb(-self.decimals(currency)).normalize(), "f")
        return text

    def symbol(self, currency: str) -> str | None:
        """The currency's symbol: the chain's coin (``ETH`` unless the chain is known to use
        another), else the ERC-20's ``symbol()`` (``None`` if it has none that reads as text)."""
        currency = Web3.to_checksum_address(currency)
        if currency not in self._symbols:
            if int(currency, 16) == 0:
                self._symbols[currency] = _NATIVE_SYMBOLS.get(self.chain_id, "ETH")
            else:
                token = self.w3.eth.contract(address=currency, abi=artifact("TestStablecoin")["abi"])
                try:
                    found = str(call_view(token.functions.symbol())).strip()
                except Exception:  # noqa: BLE001 - a token without a readable symbol is shown without one
                    found = ""
                self._symbols[currency] = found if found.isprintable() and 0 < len(found) <= 12 else None
        return self._symbols[currency]

    def money(self, units: int, currency: str) -> str:
        """Base units as people read them, with the currency's symbol (``188000000`` -> ``"188 USDC"``)."""
        return inputs.format_amount(units, self.decimals(currency), self.symbol(currency))

    # -- retailers, channels, keys, policies -------------------------------------------------
    def retailer(self, retailer: int) -> RetailerInfo:
        v = call_view(self.contract.functions.retailer(retailer))
        return RetailerInfo(
            id=retailer,
            currency=Web3.to_checksum_address(v.currency),
            balance=int(v.balance),
            reserved=int(v.reserved),
            withdrawal_amount=int(v.withdrawalAmount),
            withdrawal_to=Web3.to_checksum_address(v.withdrawalTo),
            withdrawal_at=int(v.withdrawalAt),
            funded=int(v.funded),
            paid=int(v.paid),
            withdrawn=int(v.withdrawn),
        )

    def currency(self, retailer: int) -> str:
        if retailer not in self._currencies:
            self._currencies[retailer] = self.retailer(retailer).currency
        return self._currencies[retailer]

    def retailer_count(self) -> int:
        return int(call_view(self.contract.functions.retailerCount()))

    def admin_role(self, retailer: int) -> bytes:
        return bytes(call_view(self.contract.functions.retailerAdminRole(retailer)))

    def is_admin(self, retailer: int, account: str) -> bool:
        return bool(call_view(self.contract.functions.hasRole(self.admin_role(retailer), inputs.address(account, "account"))))

    def channels(self, retailer: int | None = None) -> list[ChannelInfo]:
        """The channels (of ``retailer``, or all), with their current keys."""
        event = event_decoder(self.contract, "ChannelAdded")
        topics = [event.topic, None if retailer is None else "0x" + f"{retailer:064x}"]
        out: list[ChannelInfo] = []
        logs = get_logs(self.w3, address=self.address, topics=topics, from_block=self.from_block)
        # The name is only logged: an index's log is confirmed by the node before its name is
        # shown (a tampered index cannot rename a scammer's channel "Official store").
        for log, named in zip(logs, confirmed(self.w3, logs), strict=True):
            a = event.process_log(log)["args"]
            view = call_view(self.contract.functions.channel(int(a["channel"])))
            if int(view.retailer) != int(a["retailer"]):
                continue  # no such channel of that retailer on chain: a log the index made up
            out.append(
                ChannelInfo(
                    id=int(a["channel"]),
                    retailer=int(view.retailer),
                    kind=CHANNEL_KINDS.get(int(view.kind), str(view.kind)),
                    key=Web3.to_checksum_address(view.key),
                    name=str(a["name"]) if named else f"channel {int(a['channel'])} (name unconfirmed)",
                )
            )
        return out

    def key(self, key: str) -> KeyInfo:
        """What ``key`` serves, since when, and whether (and when) it was revoked."""
        address = inputs.address(key, "key")
        v = call_view(self.contract.functions.channelKey(address))
        return KeyInfo(address, int(v.retailer), int(v.channel), int(v.activeFrom), int(v.revokedAt), int(v.grace))

    def key_info(self, key: str) -> tuple[int, int, int, int]:
        """(retailer, channel, active from, revoked at) of a channel key; zeros for an unknown one."""
        k = self.key(key)
        return k.retailer, k.channel, k.active_from, k.revoked_at

    def policy_record(self, policy: int) -> PolicyRecord | None:
        """Policy record ``policy`` with its scope and ``since`` (None for 0 or an unknown id)."""
        if policy == 0:
            return None
        if policy not in self._policies:  # immutable once set
            v = call_view(self.contract.functions.policy(policy))
            if int(v.retailer) == 0:
                return None
            self._policies[policy] = PolicyRecord(
                id=policy,
                retailer=int(v.retailer),
                gtin=int(v.gtin),
                since=int(v.since),
                previous=int(v.previous),
                terms=Policy.from_struct(v.terms),
            )
        return self._policies[policy]

    def policy(self, policy: int) -> Policy | None:
        """The terms of policy ``policy`` (None for 0: no guarantee)."""
        record = self.policy_record(policy)
        return None if record is None else record.terms

    def policy_for(self, retailer: int, gtin: str | int, at: int | None = None) -> int:
        """The policy a purchase of ``gtin`` made at ``at`` (default: now) gets (0: none)."""
        moment = self.now() if at is None else at
        return int(call_view(self.contract.functions.policyFor(retailer, gtin_number(gtin), moment)))

    # -- purchases ---------------------------------------------------------------------------
    @staticmethod
    def purchase_id(
        retailer: int, channel: int, buyer: str, gtin: str | int, quantity: int, unit_price: int, purchased_at: int, receipt: str | bytes
    ) -> bytes:
        """The id of the purchase the Receipt with these fields states (see :func:`purchase_id`)."""
        return purchase_id(retailer, channel, buyer, gtin, quantity, unit_price, purchased_at, receipt)

    def purchase_state(self, purchase: bytes) -> tuple[bool, int]:
        """(recorded, unclaimed cover) of a purchase id, as the contract's ``purchaseState``."""
        recorded, unclaimed = call_view(self.contract.functions.purchaseState(purchase))
        return bool(recorded), int(unclaimed)

    def recorded(self, purchase: bytes) -> bool:
        return self.purchase_state(purchase)[0]

    def compensated(self, purchase: Purchase | bytes | str) -> int:
        """What ``purchase`` was paid so far: its cover less what is unclaimed, and less what was
        released once its claims closed (read from ``CoverReleased``)."""
        p = purchase if isinstance(purchase, Purchase) else self.purchase(purchase)
        recorded, unclaimed = self.purchase_state(p.id)
        if not recorded:
            return 0
        if unclaimed or p.cover == 0 or not self.closed(p):
            return p.cover - unclaimed  # nothing was released
        return p.cover - sum(r.amount for r in self.releases(purchase=p.id))  # paid in full, or released

    def purchases(
        self, *, buyer: str | None = None, gtin: str | int | None = None, from_block: int | None = None, to_block: int | None = None
    ) -> list[Purchase]:
        """Recorded purchases (of ``buyer``, of a GTIN), oldest first."""
        event = event_decoder(self.contract, "PurchaseRecorded")
        who = None if buyer is None else inputs.address(buyer, "buyer")
        topics = [event.topic, None, address_topic(who), None if gtin is None else "0x" + f"{gtin_number(gtin):064x}"]
        start = self.from_block if from_block is None else from_block
        logs = get_logs(self.w3, address=self.address, topics=topics, from_block=start, to_block=to_block)
        topic0 = bytes(HexBytes(event.topic))
        out: list[Purchase] = []
        for log in logs:
            purchase = _read_purchase(log, topic0)
            out.append(purchase if purchase is not None else self._purchase(event.process_log(log)))
        return out

    def purchase(self, purchase_id: bytes | str) -> Purchase:
        """One recorded purchase by id (InputError when there is none)."""
        pid = bytes(HexBytes(purchase_id)) if isinstance(purchase_id, str) else purchase_id
        event = event_decoder(self.contract, "PurchaseRecorded")
        logs = get_logs(self.w3, address=self.address, topics=[event.topic, hex0x(pid)], from_block=self.from_block)
        if not logs:
            raise InputError(f"no purchase {hex0x(pid)} is recorded on this chain", field="purchase")
        return self._purchase(event.process_log(logs[0]))

    def recorded_receipts(self, retailer: int) -> dict[bytes, bytes]:
        """The receipt hashes ``retailer``'s purchases were recorded under, each with its purchase id.

        A purchase's id is its whole sale, time included, so a sale recorded again later would be
        another purchase: a till that resumes a file checks the receipts against this.
        """
        return {p.receipt: p.id for p in self.purchases() if p.retailer == retailer}

    @staticmethod
    def _purchase(log: Any) -> Purchase:
        a = log["args"]
        return Purchase(
            id=bytes(a["purchase"]),
            retailer=int(a["retailer"]),
            channel=int(a["channel"]),
            buyer=str(a["buyer"]),  # checksummed by the decoder
            gtin=int(a["gtin"]),
            quantity=int(a["quantity"]),
            unit_price=int(a["unitPrice"]),
            purchased_at=int(a["purchasedAt"]),
            receipt=bytes(a["receiptHash"]),
            policy=int(a["policy"]),
            cover=int(a["cover"]),
            recorded_at=int(a["recordedAt"]),
            block=int(log["blockNumber"]),
            tx_hash=hex0x(log["transactionHash"]),
        )

    def closed(self, purchase: Purchase, now: int | None = None) -> bool:
        """Whether the claims of ``purchase`` have closed (its cover may then be released)."""
        moment = self.now() if now is None else now
        return moment > purchase.closes_at(self.policy(purchase.policy))

    def releasable(
        self, purchases: Iterable[Purchase] | None = None, *, retailer: int | None = None, now: int | None = None
    ) -> list[Purchase]:
        """Of ``purchases`` (default: every recorded one), of ``retailer`` (default: any), those
        whose claims have closed with some of their cover unclaimed: :meth:`release_call` returns
        it to the retailer's free funds."""
        moment = self.now() if now is None else now
        out: list[Purchase] = []
        for p in self.purchases() if purchases is None else purchases:
            if p.cover == 0 or (retailer is not None and p.retailer != retailer) or not self.closed(p, moment):
                continue
            if self.purchase_state(p.id)[1] > 0:
                out.append(p)
        return out

    # -- prices ------------------------------------------------------------------------------
    def timestamp(self, block: int, log: Any = None) -> int:
        """The timestamp of ``block``: from ``log`` when it carries it (``blockTimestamp``), else asked once."""
        if block not in self._timestamps:
            carried = None if log is None else log_timestamp(log)
            self._timestamps[block] = carried if carried is not None else int(self.w3.eth.get_block(block)["timestamp"])
        return self._timestamps[block]

    def _ask_timestamps(self, blocks: Iterable[int]) -> None:
        """Ask the timestamps of ``blocks`` not known yet in JSON-RPC batches: a public RPC still
        counts each call, but answers a batch in one round trip instead of one each (a keeper's
        first round reads the offers of a year, in hundreds of blocks). A batch that fails, or
        an answer that is not that block's, is only a shortcut missed: :meth:`timestamp` asks."""
        missing = sorted({block for block in blocks if block not in self._timestamps})
        for start in range(0, len(missing) if len(missing) > 1 else 0, _BLOCKS_PER_BATCH):
            part = missing[start : start + _BLOCKS_PER_BATCH]
            try:
                with self.w3.batch_requests() as batch:
                    for block in part:
                        batch.add(self.w3.eth.get_block(block))
                    answers: Sequence[Any] = batch.execute()
            except Exception:  # noqa: BLE001 - asked one by one instead
                continue
            for block, answer in zip(part, answers, strict=False):
                try:
                    if int(answer["number"]) == block:
                        self._timestamps[block] = int(answer["timestamp"])
                except (KeyError, TypeError, ValueError):
                    continue

    def channel_retailer(self, channel: int) -> int:
        """The retailer ``channel`` belongs to (it never changes; 0 for an unknown channel)."""
        if channel not in self._channel_retailers:
            retailer = int(call_view(self.contract.functions.channel(channel)).retailer)
            if not retailer:
                return 0
            self._channel_retailers[channel] = retailer
        return self._channel_retailers[channel]

    def published_prices(
        self,
        *,
        gtin: str | int | None = None,
        channel: int | None = None,
        from_block: int | None = None,
        gtins: Collection[str | int] | None = None,
        checked: bool = False,
    ) -> list[Offer]:
        """Every offer on chain (for a GTIN, or any of ``gtins``; for a channel), oldest first, with
        its end if ended: prices published by channel keys, and signed quotes lodged on chain
        (``lodged``). Several GTINs are read in one query per event (a topic list).

        The offers come from logs, which an attached index serves. With ``checked``, each is read
        back through the contract's ``price`` view (in batches), which is the chain's word: an
        offer the contract does not hold is dropped, and price, type, end and whether it is
        lodged are the view's — so a tampered index can hide an offer but never show a price
        that was not offered. (What pays is simulated on chain anyway: a claim, the keeper.)"""
        published = event_decoder(self.contract, "PricePublished")
        lodged = event_decoder(self.contract, "QuoteLodged")
        ended = event_decoder(self.contract, "PriceEnded")
        wanted = [gtin] if gtin is not None else None if gtins is None else list(gtins)
        if wanted is not None and not wanted:
            return []
        out: list[tuple[int, int, Offer]] = []
        for part in [None] if wanted is None else [wanted[n : n + _GTINS_PER_QUERY] for n in range(0, len(wanted), _GTINS_PER_QUERY)]:
            g: str | list[str] | None = None
            if part is not None:
                topics = sorted({"0x" + f"{gtin_number(one):064x}" for one in part})
                g = topics[0] if len(topics) == 1 else topics
            out.extend(self._offers(published, lodged, ended, g, None if channel is None else "0x" + f"{channel:064x}", from_block))
        out.sort(key=lambda row: (row[0], row[1]))
        offers = [offer for _, _, offer in out]
        return self.held_by_chain(offers) if checked else offers

    def held_by_chain(self, offers: Sequence[Offer]) -> list[Offer]:
        """``offers`` as the contract's ``price`` view holds them (see :meth:`published_prices`):
        only when an index is attached (else they came from the node), in JSON-RPC batches."""
        if attached_index(self.w3) is None or not offers:
            return list(offers)
        fn = self.contract.functions
        views = read_all(self.w3, [fn.price(o.channel, o.gtin, o.valid_from).call for o in offers], what="price", batch_size=50)
        held: list[Offer] = []
        for offer, (published, price, price_type, valid_until, ended_at, lodged) in zip(offers, views, strict=True):
            if published:
                held.append(
                    replace(
                        offer,
                        price=int(price),
                        price_type=int(price_type),
                        valid_until=int(valid_until),
                        ended_at=int(ended_at),
                        lodged=bool(lodged),
                    )
                )
        return held

    def _offers(
        self, published: Any, lodged: Any, ended: Any, g: str | list[str] | None, c: str | None, from_block: int | None
    ) -> list[tuple[int, int, Offer]]:
        """The offers matching the GTIN and channel topics, each with its block and log index."""
        start = self.from_block if from_block is None else from_block
        ends = get_logs(self.w3, address=self.address, topics=[ended.topic, c, g], from_block=start)
        offered = [get_logs(self.w3, address=self.address, topics=[event.topic, g, c], from_block=start) for event in (published, lodged)]
        return self._offer_rows(ends, *offered)

    def offers_in(self, *, published: Iterable[Any], lodged: Iterable[Any], ended: Iterable[Any]) -> list[Offer]:
        """The offers that ``PricePublished`` and ``QuoteLodged`` logs state, with their ends from
        ``PriceEnded`` logs, oldest first: what :meth:`published_prices` reads, from logs in hand."""
        rows = self._offer_rows(ended, published, lodged)
        rows.sort(key=lambda row: (row[0], row[1]))
        return [offer for _, _, offer in rows]

    def _offer_rows(
        self, ended_logs: Iterable[Any], published_logs: Iterable[Any], lodged_logs: Iterable[Any]
    ) -> list[tuple[int, int, Offer]]:
        published = event_decoder(self.contract, "PricePublished")
        lodged = event_decoder(self.contract, "QuoteLodged")
        ended = event_decoder(self.contract, "PriceEnded")
        ends: dict[tuple[int, int, int], int] = {}
        errors: set[tuple[int, int, int]] = set()
        for log in ended_logs:
            a = ended.process_log(log)["args"]
            key = (int(a["channel"]), int(a["gtin"]), int(a["validFrom"]))
            ends[key] = int(a["endedAt"])
            if a["priceError"]:
                errors.add(key)
        published_logs = list(published_logs)
        self._ask_timestamps(int(log["blockNumber"]) for log in published_logs if log_timestamp(log) is None)
        rows: list[tuple[int, int, Offer]] = []
        for event, logs in ((published, published_logs), (lodged, lodged_logs)):
            for log in logs:
                a = event.process_log(log)["args"]
                ch = int(a["channel"])
                retailer = self.channel_retailer(ch)
                if not retailer:
                    continue  # a channel the contract does not know: a log an index made up
                block = int(log["blockNumber"])
                is_lodged = event is lodged
                key = (ch, int(a["gtin"]), int(a["validFrom"]) if is_lodged else self.timestamp(block, log))
                offer = Offer(
                    retailer=retailer,
                    channel=ch,
                    gtin=int(a["gtin"]),
                    currency=self.currency(retailer),
                    price=int(a["price"]),
                    price_type=PRICE_TYPES.index("price-error") if key in errors else int(a["priceType"]),
                    valid_from=key[2],
                    valid_until=int(a["validUntil"]),
                    ended_at=ends.get(key, 0),
                    block=block,
                    lodged=is_lodged,
                )
                rows.append((block, int(log["logIndex"]), offer))
        return rows

    def live_price(self, channel: int, gtin: str | int) -> Offer | None:
        """The channel's latest published price for a GTIN that is still offered now, if any
        (lodged quotes aside: the channel cannot end them)."""
        now = self.now()
        live = [
            o for o in self.published_prices(gtin=gtin, channel=channel, checked=True) if not o.lodged and o.valid_from <= now < o.until
        ]
        return live[-1] if live else None

    def quote_signer(self, quote: Offer) -> str:
        """The address that signed ``quote`` (EIP-712 under this contract's domain)."""
        if quote.signature is None:
            raise InputError("a quote needs a signature", field="signature")
        message = {name["name"]: value for name, value in zip(QUOTE_TYPES["Quote"], quote.as_quote_struct(), strict=True)}
        typed = encode_typed_data(domain_data=self.domain(), message_types=QUOTE_TYPES, message_data=message)
        try:
            return str(Account.recover_message(typed, signature=quote.signature))
        except (ValueError, TypeError) as exc:  # a malformed signature
            raise InputError(f"the quote's signature is not a signature: {exc}", field="signature") from None

    def is_lodged(self, quote: Offer) -> bool:
        """Whether ``quote`` (these terms, from its channel at its start) is lodged on chain."""
        v = call_view(self.contract.functions.price(quote.channel, quote.gtin, quote.valid_from))
        return bool(v.published and v.lodged and int(v.price) == quote.price and int(v.validUntil) == quote.valid_until)

    def check_quote(self, quote: Offer) -> Offer:
        """``quote`` if it counts as evidence now (InputError otherwise): signed by a key of its
        channel that was live at its start and is live now, or lodged on chain (it then counts
        whatever became of its key)."""
        signer = self.quote_signer(quote)
        key = self.key(signer)
        if key.channel != quote.channel or not key.live_at(quote.valid_from):
            raise InputError(f"the quote is not signed by a key of channel {quote.channel} live at its start (signer {signer})")
        if key.revoked_at and not self.is_lodged(quote):
            raise InputError(
                f"the quote's key {signer} of channel {quote.channel} was revoked on {format_time(key.revoked_at)}: a quote counts "
                "only while its key is live, or once lodged on chain before the key was revoked"
            )
        return quote

    # -- the rule ----------------------------------------------------------------------------
    def entitlements(
        self,
        purchase: Purchase,
        offers: Iterable[Offer],
        *,
        compensated: int | None = None,
        now: int | None = None,
    ) -> list[Entitlement]:
        """Every offer evaluated against ``purchase``: the best (largest ``due``, then ``pending``) first."""
        policy = self.policy(purchase.policy)
        done = self.compensated(purchase) if compensated is None else compensated
        moment = self.now() if now is None else now
        currency = self.currency(purchase.retailer)
        rows = [evaluate(purchase, policy, offer, compensated=done, now=moment, currency=currency) for offer in offers]
        rows.sort(key=lambda e: (-e.due, -e.pending, -e.total, e.offer.price, e.offer.valid_from))
        return rows

    def best(self, purchase: Purchase, offers: Iterable[Offer], **kwargs: Any) -> Entitlement | None:
        """The entitlement a claim should use now, or None when nothing is claimable now."""
        rows = self.entitlements(purchase, offers, **kwargs)
        return rows[0] if rows and rows[0].due > 0 else None

    def claim_call(self, entitlement: Entitlement) -> Any:
        """The contract call that claims ``entitlement`` (an offer on chain, or a signed quote)."""
        offer = entitlement.offer
        if offer.signature is None:
            return self.contract.functions.claimWithPrice(entitlement.purchase.as_struct(), offer.channel, offer.valid_from)
        return self.contract.functions.claimWithQuote(entitlement.purchase.as_struct(), offer.as_quote_struct(), offer.signature)

    def lodge_call(self, quote: Offer) -> Any:
        """The contract call that lodges signed ``quote`` on chain (anyone may send it)."""
        if quote.signature is None:
            raise InputError("only a signed quote can be lodged", field="signature")
        return self.contract.functions.lodgeQuote(quote.as_quote_struct(), quote.signature)

    def release_call(self, purchases: Sequence[Purchase]) -> Any:
        """The contract call that returns the unclaimed cover of ``purchases`` (claims closed) to
        their retailers' free funds (anyone may send it)."""
        if not purchases:
            raise InputError("nothing to release", field="purchases")
        return self.contract.functions.release([p.as_struct() for p in purchases])

    # -- payouts and releases ----------------------------------------------------------------
    def payouts(self, *, buyer: str | None = None, purchase: bytes | None = None, retailer: int | None = None) -> list[Payout]:
        """Every payout (``CompensationPaid``), oldest first."""
        event = event_decoder(self.contract, "CompensationPaid")
        r_topic = None if retailer is None else "0x" + f"{retailer:064x}"
        p_topic = None if purchase is None else hex0x(purchase)
        b_topic = None if buyer is None else address_topic(inputs.address(buyer, "buyer"))
        out: list[Payout] = []
        for log in get_logs(self.w3, address=self.address, topics=[event.topic, p_topic, b_topic, r_topic], from_block=self.from_block):
            a = event.process_log(log)["args"]
            out.append(
                Payout(
                    kind="paid",
                    purchase=bytes(a["purchase"]),
                    buyer=Web3.to_checksum_address(a["buyer"]),
                    retailer=int(a["retailer"]),
                    amount=int(a["amount"]),
                    block=int(log["blockNumber"]),
                    tx_hash=hex0x(log["transactionHash"]),
                    detail={
                        "compensated": str(a["compensated"]),
                        "offerChannel": int(a["offerChannel"]),
                        "offerPrice": str(a["offerPrice"]),
                        "offerFrom": int(a["offerFrom"]),
                        "quote": bool(a["quote"]),
                    },
                )
            )
        return out

    def releases(self, *, retailer: int | None = None, purchase: bytes | None = None) -> list[Release]:
        """Every release of unclaimed cover (``CoverReleased``), oldest first."""
        event = event_decoder(self.contract, "CoverReleased")
        topics = [event.topic, None if purchase is None else hex0x(purchase), None if retailer is None else "0x" + f"{retailer:064x}"]
        return [
            Release(
                purchase=bytes(a["purchase"]),
                retailer=int(a["retailer"]),
                amount=int(a["amount"]),
                block=int(log["blockNumber"]),
                tx_hash=hex0x(log["transactionHash"]),
            )
            for log in get_logs(self.w3, address=self.address, topics=topics, from_block=self.from_block)
            for a in [event.process_log(log)["args"]]
        ]

    def credit(self, buyer: str, currency: str) -> int:
        return int(
            call_view(self.contract.functions.credit(inputs.address(buyer, "buyer"), inputs.address(currency, "currency", allow_zero=True)))
        )


def _read_purchase(log: Any, topic0: bytes) -> Purchase | None:
    """A ``PurchaseRecorded`` log as a :class:`Purchase`, its words read directly: a keeper reads a
    year of them each time it starts (a tenth of the decoder's time). None when the log is not
    plainly one (another event, a word out of its type's range): the decoder then says why."""
    topics = log["topics"]
    data = bytes(log["data"])
    if len(topics) != 4 or len(data) != 32 * len(_PURCHASE_WORDS) or bytes(topics[0]) != topic0:
        return None
    buyer, gtin = bytes(topics[2]), int.from_bytes(bytes(topics[3]), "big")
    # The data as one number: every word within its type at once (no bit set beyond any word's
    # width), then each word shifted out of it.
    value = int.from_bytes(data, "big")
    if value & _PURCHASE_SPARE_BITS or buyer[:12] != _ZERO_PAD or gtin >> 64:
        return None
    retailer, channel, quantity, unit_price, purchased_at, _, policy, cover, recorded_at = [
        (value >> shift) & _WORD for shift in _PURCHASE_SHIFTS
    ]
    return Purchase(
        id=bytes(topics[1]),
        retailer=retailer,
        channel=channel,
        buyer=checksum_address("0x" + buyer[12:].hex()),
        gtin=gtin,
        quantity=quantity,
        unit_price=unit_price,
        purchased_at=purchased_at,
        receipt=data[160:192],
        policy=policy,
        cover=cover,
        recorded_at=recorded_at,
        block=int(log["blockNumber"]),
        tx_hash=hex0x(log["transactionHash"]),
    )
