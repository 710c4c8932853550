"""Sending transactions: simulate, sign, pipeline with a local nonce counter, confirm.

A :class:`Sender` belongs to one account, a :class:`~o2ochain._chain.signers.Signer` (a key in
memory, an ape account, a hardware wallet, a KMS: the sender never sees a key). ``send``
simulates the call (a revert is raised as the decoded custom error before anything is signed),
assigns the next nonce from a local counter, lets web3 fill the EIP-1559 fees, has the signer
sign and broadcasts without waiting, so thousands of transactions go out back to back; ``wait``
collects the receipts and then *confirms* them; a transaction that reverted on chain is replayed with
``eth_call`` to raise its decoded reason.

Dropped transactions and reorgs. Every transaction a sender signs is kept (its signed bytes, by
nonce) until it is confirmed. A transaction is *dropped* when the node neither has it in its
pool nor in a block: the node lost it, or a reorg took its block away and did not put it back
(Anvil's ``anvil_reorg`` does exactly that; the account's nonce then goes back). A dropped
transaction is sent again with the **same signed bytes**: same nonce, same content, so it can
be mined at most once and nothing is ever counted twice; any lower-nonce transactions of ours
the node also lost are sent again first, so the nonce sequence has no gap. If the nonce has
meanwhile been used by another transaction of the account (another process with the same key),
the transaction can never be mined and :class:`~o2ochain.errors.TransactionDropped` says so;
rerunning the command reads the chain and finishes the job.

Confirming (``confirm``, which ``wait`` runs unless told not to): wait until the newest receipt is
``confirmations`` blocks deep, then check that every receipt is still there and its block is
the canonical block at that height; re-send what left the chain, wait again, and repeat until
all hold (within ``receipt_timeout``). ``confirmations`` defaults to 1 on local chains (chain ids
in :data:`o2ochain._chain.connection.LOCAL_CHAIN_IDS`: Anvil and eth-tester mine on demand, so a deeper
wait would never end without other traffic) and to 3 elsewhere. What ``wait`` returns has
passed that check; a reorg deeper than ``confirmations`` after it can still undo it, and a rerun
(which reads the chain) is then the remedy.
"""

from __future__ import annotations

import ast
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

import requests
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.abi import collapse_if_tuple, function_abi_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.transactions import fill_transaction_defaults
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    BlockNotFound,
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import Nonce, RPCEndpoint, TxParams, TxReceipt

from o2ochain._chain.connection import LOCAL_CHAIN_IDS
from o2ochain._chain.revert import decode_revert
from o2ochain._chain.signers import Signer, signed_transaction
from o2ochain.errors import ChainError, ContractRevert, TransactionDropped, TransactionFailed, UnknownRevert
from o2ochain.inputs import format_amount

__all__ = ["PendingTx", "Sender", "call_view", "decode_web3_error", "read_all", "with_retries"]

T = TypeVar("T")
_log = logging.getLogger("o2ochain.tx")

#: Mainnet's per-transaction gas cap (EIP-7825); we keep every transaction under it.
TX_GAS_CAP = 16_777_216
_TRANSIENT_WORDS = (
    "timeout",
    "timed out",
    "connection",
    "temporarily",
    "503",
    "502",
    "504",
    "rate limit",
    "too many requests",
    "header not found",
)
#: The words as whole words: a transaction hash holding "502" is no HTTP 502.
_TRANSIENT_RE = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in _TRANSIENT_WORDS) + ")")


class Sendable(Protocol):
    """A contract call or constructor web3 can estimate and build (ContractFunction, ContractConstructor)."""

    def estimate_gas(self, transaction: TxParams | None = None) -> int: ...

    def build_transaction(self, transaction: TxParams | None = None) -> TxParams: ...


@dataclass(frozen=True)
class EncodedCall:
    """A contract call whose calldata is ABI-encoded once, by ``eth_abi``, for :meth:`Sender.send`.

    web3's own encoder walks every value through several layers of Python formatters, and does
    so for the estimate and again for the build: for a ``TraceLedger.record`` of a few hundred
    entries that is most of a second per transaction, the bulk of what a capture of thousands of
    events spends. The calldata is the same bytes (a test compares them).
    """

    w3: Web3
    to: str
    data: bytes
    fn_name: str
    outputs: tuple[str, ...] = ()

    @classmethod
    def of(cls, contract: Contract, name: str, args: Sequence[Any]) -> EncodedCall:
        """``contract.functions.<name>(*args)``, encoded (the function must not be overloaded)."""
        selector, types, outputs = _function_parts(cast(list[dict[str, Any]], contract.abi), name)
        return cls(contract.w3, Web3.to_checksum_address(contract.address), selector + abi_encode(types, list(args)), name, outputs)

    def call(self, *, what: str | None = None) -> tuple[Any, ...]:
        """The view's outputs (decoded by ``eth_abi``: tuples, bytes, ints), with retries; a revert
        becomes its decoded exception, as :func:`call_view`'s."""

        def run() -> tuple[Any, ...]:
            try:
                raw = self.w3.eth.call({"to": self.to, "data": HexBytes(self.data)})
            except Exception as exc:
                decoded = decode_web3_error(exc)
                if decoded is not None:
                    raise decoded from None
                raise
            return tuple(abi_decode(list(self.outputs), bytes(raw)))

        return with_retries(run, what=what or self.fn_name)

    def estimate_gas(self, transaction: TxParams | None = None) -> int:
        return int(self.w3.eth.estimate_gas({**(transaction or {}), "to": self.to, "data": HexBytes(self.data)}))

    def build_transaction(self, transaction: TxParams | None = None) -> TxParams:
        params: TxParams = {**(transaction or {}), "to": self.to, "data": HexBytes(self.data)}
        return cast(TxParams, fill_transaction_defaults(self.w3, params))


#: A function's selector, input and output types by (its ABI list, its name); each ABI list is
#: kept with them, so the id of one that is gone is never met again. A capture worker encodes a
#: few calls a document: their selectors are one keccak each, their types a walk of the ABI.
_FUNCTION_PARTS: dict[tuple[int, str], tuple[list[dict[str, Any]], bytes, list[str], tuple[str, ...]]] = {}


def _function_parts(abi: list[dict[str, Any]], name: str) -> tuple[bytes, list[str], tuple[str, ...]]:
    """The selector, input types and output types of function ``name`` of ``abi`` (not overloaded)."""
    known = _FUNCTION_PARTS.get((id(abi), name))
    if known is None or known[0] is not abi:
        (entry,) = [e for e in abi if e.get("type") == "function" and e.get("name") == name]
        types = [collapse_if_tuple(item) for item in entry.get("inputs", [])]
        outputs = tuple(collapse_if_tuple(item) for item in entry.get("outputs", []))
        if len(_FUNCTION_PARTS) >= 512:  # a program making contracts from fresh ABI lists: never more than a few
            _FUNCTION_PARTS.clear()
        known = _FUNCTION_PARTS[(id(abi), name)] = (abi, bytes(function_abi_to_4byte_selector(cast(Any, entry))), types, outputs)
    return known[1], known[2], known[3]


def decode_web3_error(exc: BaseException) -> ContractRevert | None:
    """The decoded contract error inside a web3 exception, if it carries revert data."""
    data: Any = None
    if isinstance(exc, ContractCustomError | ContractLogicError | ContractPanicError):
        data = exc.data
    elif isinstance(exc, Web3RPCError):
        err = exc.rpc_response.get("error") if exc.rpc_response else None
        if isinstance(err, dict):
            data = err.get("data")
    if isinstance(data, dict):
        data = data.get("data") or next((v for v in data.values() if isinstance(v, str) and v.startswith("0x")), None)
    if isinstance(data, str | bytes | bytearray) and data:
        return decode_revert(data if isinstance(data, str) else bytes(data))
    raw = _raw_revert_in_chain(exc)
    if raw is not None:
        return decode_revert(raw)
    if isinstance(exc, ContractLogicError):
        message = (exc.message or "").removeprefix("execution reverted").strip(": ")
        if message:
            from o2ochain.errors import RevertMessage

            return RevertMessage(message=message)
        return UnknownRevert(b"")
    return None


def _raw_revert_in_chain(exc: BaseException) -> bytes | None:
    """Revert bytes carried by an in-process EVM's exception (eth-tester / py-evm) or its causes."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if type(seen).__name__ in {"TransactionFailed", "Revert"} and seen.args:
            first = seen.args[0]
            if isinstance(first, BaseException) and first.args:  # eth-tester wraps py-evm's Revert
                first = first.args[0]
            if isinstance(first, bytes):
                return bytes(first)
            if isinstance(first, str):  # eth_call through eth-tester gives the bytes' repr
                text = first.removeprefix("execution reverted: ")
                if text.startswith(("b'", 'b"')):
                    try:
                        value = ast.literal_eval(text)
                    except (ValueError, SyntaxError):
                        value = None
                    if isinstance(value, bytes):
                        return value
        seen = seen.__cause__ or seen.__context__
    return None


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout | requests.exceptions.ChunkedEncodingError):
        return True
    if isinstance(exc, requests.exceptions.HTTPError):
        status = exc.response.status_code if exc.response is not None else 0
        return status >= 500 or status == 429
    if isinstance(exc, TransactionNotFound | BlockNotFound):
        return False  # an answer, not a failure (and its hash may well contain "502")
    if isinstance(exc, Web3RPCError | OSError):
        return _TRANSIENT_RE.search(str(exc).lower()) is not None
    return False


def with_retries(action: Callable[[], T], *, what: str, attempts: int = 6, base_delay: float = 0.2) -> T:
    """Run ``action``, retrying transient failures with exponential backoff (0.2 s doubling, at
    most 5 s, ``attempts`` in all).

    Over HTTP the middleware (:class:`o2ochain._chain.connection.RetryMiddleware`) already retried
    transport failures and raised :class:`~o2ochain.errors.RPCUnavailable`, which is final here;
    what this retries is a JSON-RPC answer that says "try again" (rate limits, "header not
    found") and transport errors of providers without their own retries.
    """
    delay = base_delay
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            if isinstance(exc, ContractRevert) or not _is_transient(exc):
                raise
            if attempt == attempts:
                raise ChainError(f"{what} failed after {attempts} attempts: {exc}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")  # pragma: no cover


def call_view(fn: ContractFunction, *, block: Any = "latest", what: str | None = None) -> Any:
    """Call a view function with retries; a revert becomes its decoded exception."""
    label = what or fn.fn_name

    def run() -> Any:
        try:
            return fn.call(block_identifier=block)
        except Exception as exc:
            decoded = decode_web3_error(exc)
            if decoded is not None:
                raise decoded from None
            raise

    return with_retries(run, what=label)


def read_all(w3: Web3, requests: Sequence[Callable[[], Any]], *, what: str, batch_size: int = 50) -> list[Any]:
    """The answers to ``requests`` (each makes one JSON-RPC call: a web3 method, or a view's
    ``call()``), in order.

    Sent in JSON-RPC batches of ``batch_size`` (public nodes cap batches, often at 50 or 100
    calls) where the provider takes batches (HTTP), so 100 reads cost a few round trips rather
    than 100; one by one, with retries, where it does not (an in-process chain) or when a node
    refuses or fails a batch.
    """
    out: list[Any] = []
    for start in range(0, len(requests), batch_size):
        chunk = requests[start : start + batch_size]
        answers = _one_batch(w3, chunk) if len(chunk) > 1 else None
        out.extend(answers if answers is not None else [with_retries(request, what=what) for request in chunk])
    return out


def _one_batch(w3: Web3, requests: Sequence[Callable[[], Any]]) -> list[Any] | None:
    """The answers to ``requests`` in one JSON-RPC batch, or None when the provider has no
    batches or the batch failed as a whole or in part (the caller then asks one by one)."""
    try:
        with w3.batch_requests() as batch:
            for request in requests:
                batch.add(request())
            answers = list(batch.execute())
    except Exception:  # noqa: BLE001 - no batches on this provider, a node that refuses them, a call that failed
        return None
    if len(answers) != len(requests) or any(isinstance(a, BaseException) for a in answers):
        return None
    return answers


@dataclass
class PendingTx:
    """A signed, broadcast transaction that we have not yet seen mined."""

    tx_hash: HexBytes
    nonce: int
    raw: bytes
    params: TxParams
    label: str
    sent_at: float = field(default_factory=time.monotonic)
    #: The last receipt seen for it (None until mined); kept to notice when it leaves the chain.
    receipt: TxReceipt | None = None

    @property
    def hash_hex(self) -> str:
        return "0x" + bytes(self.tx_hash).hex()


class Sender:
    """Signs and sends one account's transactions, several in flight at once.

    ``confirmations``: how deep a receipt must be before ``wait`` reports it (default 1 on local
    chains, 3 elsewhere); ``rebroadcast_after``: seconds a transaction may be unknown to the node
    before it is taken for dropped and sent again (default 1 s on local chains, 5 s elsewhere;
    at once when its receipt was seen and vanished); ``receipt_timeout``: the longest wait for one
    receipt, and for one ``confirm``. ``resent`` counts the transactions sent again.
    """

    def __init__(
        self,
        w3: Web3,
        account: Signer,
        *,
        gas_margin: float = 1.25,
        receipt_timeout: float = 120.0,
        confirmations: int | None = None,
        rebroadcast_after: float | None = None,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.address = Web3.to_checksum_address(account.address)
        self.gas_margin = gas_margin
        self.receipt_timeout = receipt_timeout
        self.chain_id = with_retries(lambda: w3.eth.chain_id, what="eth_chainId")
        local = self.chain_id in LOCAL_CHAIN_IDS
        self.confirmations = max(1, confirmations if confirmations is not None else (1 if local else 3))
        self.rebroadcast_after = rebroadcast_after if rebroadcast_after is not None else (1.0 if local else 5.0)
        self._poll = 0.05 if local else 1.0
        self._nonce: int | None = None
        self._london: bool | None = None
        #: Signed transactions not yet confirmed, by nonce: what a reorg may make us send again.
        self._sent: dict[int, PendingTx] = {}
        self.resent = 0

    # -- nonces ------------------------------------------------------------------------------
    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = with_retries(lambda: self.w3.eth.get_transaction_count(self.address, "pending"), what="eth_getTransactionCount")
        nonce = self._nonce
        self._nonce += 1
        return nonce

    def resync_nonce(self) -> None:
        """Forget the local counter (and the unconfirmed transactions); the next send asks the node."""
        self._nonce = None
        self._sent.clear()

    def wait_until_settled(self, timeout: float = 120.0) -> None:
        """Wait until no transaction of ours is pending (e.g. one sent by a process that died)."""
        deadline = time.monotonic() + timeout
        while True:
            latest = with_retries(lambda: self.w3.eth.get_transaction_count(self.address, "latest"), what="nonce")
            pending = with_retries(lambda: self.w3.eth.get_transaction_count(self.address, "pending"), what="nonce")
            if pending <= latest:
                return
            if time.monotonic() > deadline:
                raise ChainError(
                    f"{pending - latest} transaction(s) of {self.address} are still pending after {timeout:.0f} s; "
                    "wait for them to be mined (or replaced) and run again"
                )
            time.sleep(0.5)

    # -- fees --------------------------------------------------------------------------------
    def _fees(self) -> TxParams:
        """Fee fields for a chain without EIP-1559; empty where web3 fills them.

        On an EIP-1559 chain ``build_transaction`` fills ``maxPriorityFeePerGas`` (the node's
        ``eth_maxPriorityFeePerGas``, else web3's estimate from ``eth_feeHistory``) and
        ``maxFeePerGas`` (that tip plus twice the latest base fee), web3's own rule. A chain whose
        blocks carry no base fee gets the node's ``eth_gasPrice`` in a legacy transaction.
        """
        if self._london is None:
            block = with_retries(lambda: self.w3.eth.get_block("latest"), what="eth_getBlockByNumber")
            self._london = block.get("baseFeePerGas") is not None
        if self._london:
            return {}
        return {"gasPrice": with_retries(lambda: self.w3.eth.gas_price, what="eth_gasPrice")}

    # -- sending -----------------------------------------------------------------------------
    def simulate(self, fn: Sendable, *, value: int = 0, label: str | None = None) -> int:
        """Estimate gas; a revert raises the decoded contract error and nothing is sent."""
        params: TxParams = {"from": self.address, "value": Web3.to_wei(value, "wei")}

        def run() -> int:
            try:
                return int(fn.estimate_gas(params))
            except Exception as exc:
                decoded = decode_web3_error(exc)
                if decoded is not None:
                    raise decoded from None
                unpaid = self._cannot_pay(exc, label or _name(fn))
                if unpaid is not None:
                    raise unpaid from None
                raise

        return with_retries(run, what=f"simulating {_name(fn)}")

    def send(
        self, fn: Sendable, *, gas: int | None = None, value: int = 0, label: str | None = None, fees: TxParams | None = None
    ) -> PendingTx:
        """Simulate (unless ``gas`` is given), sign and broadcast; do not wait."""
        if gas is None:
            needed = self.simulate(fn, value=value, label=label)
            if needed > TX_GAS_CAP:
                raise ChainError(
                    f"{label or _name(fn)} needs {needed:,} gas, above the {TX_GAS_CAP:,} per-transaction cap: send it in smaller batches"
                )
            gas = min(int(needed * self.gas_margin) + 10_000, TX_GAS_CAP)
        params: TxParams = {
            "from": self.address,
            "gas": gas,
            "value": Web3.to_wei(value, "wei"),
            "chainId": self.chain_id,
            **(fees or self._fees()),
        }
        params["nonce"] = Nonce(self._next_nonce())
        try:
            tx = with_retries(lambda: fn.build_transaction(params), what=f"building {label or _name(fn)}")
            raw, tx_hash = signed_transaction(self.account, cast(dict[str, Any], tx))
        except BaseException:
            if self._nonce == params["nonce"] + 1:
                self._nonce -= 1  # nothing went out with this nonce: the next transaction takes it
            raise
        pending = PendingTx(
            tx_hash=HexBytes(tx_hash),
            nonce=int(params["nonce"]),
            raw=raw,
            params=tx,
            label=label or _name(fn),
        )
        self._sent[pending.nonce] = pending
        self._broadcast(pending)
        return pending

    def _cannot_pay(self, exc: BaseException, label: str) -> ChainError | None:
        """A node's "insufficient funds" (Anvil, geth) or "cannot afford" (py-evm), in words."""
        text = str(exc).lower()
        if "insufficient funds" not in text and "cannot afford" not in text:
            return None
        balance = with_retries(lambda: self.w3.eth.get_balance(self.address), what="eth_getBalance")
        return ChainError(
            f"account {self.address} cannot pay the gas of {label}: it holds {format_amount(balance, 18)} of the chain's "
            "native coin; fund it, or sign with an account that has funds"
        )

    def _broadcast(self, pending: PendingTx) -> None:
        def run() -> None:
            try:
                self.w3.eth.send_raw_transaction(pending.raw)
            except Exception as exc:
                unpaid = self._cannot_pay(exc, pending.label)
                if unpaid is not None:
                    self.resync_nonce()
                    raise unpaid from None
                if not isinstance(exc, Web3RPCError):
                    raise
                text = str(exc).lower()
                if "already known" in text or "already imported" in text:
                    return  # a retry of a send that did reach the node
                if "nonce too low" in text and self._known(pending.tx_hash):
                    return
                raise

        try:
            with_retries(run, what=f"sending {pending.label}")
        except Web3RPCError as exc:
            self.resync_nonce()
            raise ChainError(f"the node refused {pending.label} (nonce {pending.nonce}): {exc}") from exc

    def _known(self, tx_hash: HexBytes) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)
            return True
        except TransactionNotFound:
            return False

    def transact(self, fn: Sendable, *, value: int = 0, label: str | None = None) -> TxReceipt:
        """Send one transaction and wait for its receipt."""
        return self.wait([self.send(fn, value=value, label=label)])[0]

    # -- waiting ---------------------------------------------------------------------------
    def wait(
        self,
        pending: Sequence[PendingTx],
        *,
        on_mined: Callable[[PendingTx, TxReceipt], None] | None = None,
        confirm: bool = True,
    ) -> list[TxReceipt]:
        """Receipts of ``pending``, in order, confirmed (see :meth:`confirm`) unless ``confirm``
        is False. Dropped transactions are sent again; a revert is raised, decoded."""
        for tx in pending:
            receipt = self._receipt(tx)
            if receipt["status"] != 1:
                raise self._failure(tx, receipt)
            if on_mined:
                on_mined(tx, receipt)
        return self.confirm(pending) if confirm else [cast(TxReceipt, tx.receipt) for tx in pending]

    def confirm(self, txs: Sequence[PendingTx]) -> list[TxReceipt]:
        """The receipts of mined ``txs`` once each is ``confirmations`` deep in the canonical chain.

        A transaction whose receipt vanished, or sits in a block that is no longer canonical, is
        sent again (same signed bytes) and waited for; the check repeats until every receipt
        holds. Raises ``ChainError`` when that takes longer than ``receipt_timeout``, the decoded
        revert when a re-sent transaction now reverts, and ``TransactionDropped`` when its nonce
        was taken by another transaction.
        """
        if not txs:
            return []
        deadline = time.monotonic() + self.receipt_timeout
        while True:
            newest = max(int((tx.receipt if tx.receipt is not None else self._receipt(tx))["blockNumber"]) for tx in txs)
            self._wait_for_block(newest + self.confirmations - 1, deadline)
            dropped = [tx for tx in txs if not self._still_canonical(tx)]
            if not dropped:
                for tx in txs:
                    if self._sent.get(tx.nonce) is tx:
                        del self._sent[tx.nonce]
                return [cast(TxReceipt, tx.receipt) for tx in txs]
            if time.monotonic() > deadline:
                raise ChainError(f"{len(dropped)} transaction(s) kept leaving the chain for {self.receipt_timeout:.0f} s")
            _log.warning("%d transaction(s) of %s left the chain (reorg); sending them again", len(dropped), self.address)
            for tx in sorted(dropped, key=lambda t: t.nonce):
                tx.receipt = None
                self._resend(tx)
            for tx in dropped:
                receipt = self._receipt(tx)
                if receipt["status"] != 1:
                    raise self._failure(tx, receipt)

    def _wait_for_block(self, number: int, deadline: float) -> None:
        while int(with_retries(lambda: self.w3.eth.block_number, what="eth_blockNumber")) < number:
            if time.monotonic() > deadline:
                raise ChainError(f"the chain did not reach block {number} ({self.confirmations} confirmations) in time")
            time.sleep(self._poll)

    def _still_canonical(self, tx: PendingTx) -> bool:
        """Whether ``tx`` has a receipt whose block is the canonical one at its height (updates it).

        The receipt in hand is taken when the canonical block at its height is still the block it
        names (a block's hash fixes its transactions): only a receipt whose block was replaced is
        asked for again (a receipt of a big batch is hundreds of logs to read)."""
        if tx.receipt is not None:
            number = int(tx.receipt["blockNumber"])
            block = with_retries(lambda: self.w3.eth.get_block(number), what="eth_getBlockByNumber")
            if bytes(block["hash"]) == bytes(tx.receipt["blockHash"]):
                return True
        receipt = self._fetch_receipt(tx)
        if receipt is None:
            return False
        block = with_retries(lambda: self.w3.eth.get_block(int(receipt["blockNumber"])), what="eth_getBlockByNumber")
        if bytes(block["hash"]) != bytes(receipt["blockHash"]):
            return False
        tx.receipt = receipt
        return True

    def _fetch_receipt(self, tx: PendingTx) -> TxReceipt | None:
        try:
            return with_retries(lambda: self.w3.eth.get_transaction_receipt(tx.tx_hash), what="eth_getTransactionReceipt")
        except TransactionNotFound:
            return None

    def _receipt(self, tx: PendingTx) -> TxReceipt:
        """Wait for the receipt of ``tx``; send it again when the node lost it."""
        deadline = time.monotonic() + self.receipt_timeout
        missing_since: float | None = None
        pending_since: float | None = None
        while True:
            receipt = self._fetch_receipt(tx)
            if receipt is not None:
                tx.receipt = receipt
                return receipt
            now = time.monotonic()
            if self._known(tx.tx_hash):
                missing_since = None
                pending_since = pending_since or now
                if now - pending_since >= self.rebroadcast_after:
                    self._nudge(tx)
                    pending_since = None
            else:
                pending_since = None
                missing_since = missing_since or now
                # Neither mined nor pooled: dropped, or reorged out. At once when we had seen it
                # mined (the nonce went back); otherwise after a grace for slow pools.
                if tx.receipt is not None or now - missing_since >= self.rebroadcast_after:
                    tx.receipt = None
                    self._resend(tx)
                    missing_since = None
                    continue
            if now > deadline:
                raise ChainError(f"{tx.label} ({tx.hash_hex}) was not mined within {self.receipt_timeout:.0f} s")
            time.sleep(self._poll if now - tx.sent_at < 2 else max(self._poll, 0.5))

    def _nudge(self, tx: PendingTx) -> None:
        """On a local chain that mines on demand, mine a block for ``tx`` when it is next in line
        but the node left it pending: Anvil does, for the last of a burst of transactions that
        arrive while it re-mines after a reorg. Real networks mine blocks anyway."""
        if self.chain_id not in LOCAL_CHAIN_IDS:
            return
        latest = int(with_retries(lambda: self.w3.eth.get_transaction_count(self.address, "latest"), what="eth_getTransactionCount"))
        if latest != tx.nonce:
            return
        _log.warning("%s (%s) is next in line but was left pending; mining a block for it", tx.label, tx.hash_hex)
        try:
            self.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
        except Exception as exc:  # noqa: BLE001 - a node without evm_mine mines by itself
            _log.info("evm_mine failed: %s", exc)

    def _resend(self, tx: PendingTx) -> None:
        """Send ``tx`` again, after any lower-nonce transaction of ours the node lost too."""
        latest = int(with_retries(lambda: self.w3.eth.get_transaction_count(self.address, "latest"), what="eth_getTransactionCount"))
        if latest > tx.nonce:
            if self._fetch_receipt(tx) is not None:
                return  # mined after all, just now
            raise TransactionDropped(
                f"{tx.label} left the chain and its nonce was used by another transaction of {self.address}; "
                "rerun to finish (what is on chain is read first)",
                tx_hash=tx.hash_hex,
                nonce=tx.nonce,
            )
        for nonce in range(latest, tx.nonce):
            earlier = self._sent.get(nonce)
            if earlier is not None and not self._known(earlier.tx_hash) and self._fetch_receipt(earlier) is None:
                earlier.receipt = None
                self._rebroadcast(earlier)
        self._rebroadcast(tx)

    def _rebroadcast(self, tx: PendingTx) -> None:
        _log.warning("%s (%s, nonce %d) is neither mined nor pending; sending it again", tx.label, tx.hash_hex, tx.nonce)
        self.resent += 1
        tx.sent_at = time.monotonic()
        try:
            self.w3.eth.send_raw_transaction(tx.raw)
        except Web3RPCError as exc:
            text = str(exc).lower()
            if "nonce too low" in text:
                # Our nonce was used: by this transaction (its receipt will show) or by another.
                return
            if "already known" not in text and "already imported" not in text:
                raise ChainError(f"re-sending {tx.label} ({tx.hash_hex}) failed: {exc}") from exc

    def _failure(self, tx: PendingTx, receipt: TxReceipt) -> Exception:
        """Replay a reverted transaction with eth_call to recover its reason."""
        call = cast(TxParams, {key: tx.params[key] for key in ("to", "data", "value", "gas") if key in tx.params} | {"from": self.address})
        block = int(receipt["blockNumber"])
        for at in (block - 1, block):
            try:
                self.w3.eth.call(call, block_identifier=at)
            except Exception as exc:  # noqa: BLE001 - any failure may carry the revert data
                decoded = decode_web3_error(exc)
                if decoded is not None and not isinstance(decoded, UnknownRevert):
                    return decoded
        used, limit = receipt["gasUsed"], tx.params.get("gas")
        hint = " (it ran out of gas)" if limit is not None and used >= int(limit) else ""
        return TransactionFailed(f"{tx.label} reverted on chain{hint} and replaying it gave no reason", tx_hash=tx.hash_hex)


def _name(fn: object) -> str:
    return str(getattr(fn, "fn_name", None) or type(fn).__name__)


def chunked(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
