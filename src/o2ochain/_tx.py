"""Sending transactions: simulate, sign locally, pipeline with a local nonce counter, retry.

A :class:`Sender` belongs to one account. ``send`` simulates the call (a revert is raised as the
decoded custom error before anything is signed), assigns the next nonce from a local counter and
broadcasts without waiting, so thousands of transactions go out back to back; ``wait`` collects
the receipts, re-broadcasts a transaction the node lost (a dropped or reorged-out transaction)
and, for one that reverted on chain, replays it with ``eth_call`` to raise its decoded reason.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

import requests
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import Nonce, TxParams, TxReceipt

from o2ochain.errors import ChainError, ContractRevert, TransactionFailed
from o2ochain.revert import UnknownRevert, decode_revert

__all__ = ["PendingTx", "Sender", "call_view", "decode_web3_error", "with_retries"]

T = TypeVar("T")

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


class Sendable(Protocol):
    """A contract call or constructor web3 can estimate and build (ContractFunction, ContractConstructor)."""

    def estimate_gas(self, transaction: TxParams | None = None) -> int: ...

    def build_transaction(self, transaction: TxParams | None = None) -> TxParams: ...


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
            from o2ochain.revert import RevertMessage

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
    if isinstance(exc, Web3RPCError | OSError):
        text = str(exc).lower()
        return any(w in text for w in _TRANSIENT_WORDS)
    return False


def with_retries(action: Callable[[], T], *, what: str, attempts: int = 6, base_delay: float = 0.2) -> T:
    """Run ``action``, retrying transient RPC failures with exponential backoff."""
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


@dataclass
class PendingTx:
    """A signed, broadcast transaction that we have not yet seen mined."""

    tx_hash: HexBytes
    nonce: int
    raw: bytes
    params: TxParams
    label: str
    sent_at: float = field(default_factory=time.monotonic)

    @property
    def hash_hex(self) -> str:
        return "0x" + bytes(self.tx_hash).hex()


class Sender:
    """Signs and sends one account's transactions, several in flight at once."""

    def __init__(self, w3: Web3, account: LocalAccount, *, gas_margin: float = 1.25, receipt_timeout: float = 120.0) -> None:
        self.w3 = w3
        self.account = account
        self.address = account.address
        self.gas_margin = gas_margin
        self.receipt_timeout = receipt_timeout
        self.chain_id = with_retries(lambda: w3.eth.chain_id, what="eth_chainId")
        self._nonce: int | None = None

    # -- nonces ------------------------------------------------------------------------------
    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = with_retries(lambda: self.w3.eth.get_transaction_count(self.address, "pending"), what="eth_getTransactionCount")
        nonce = self._nonce
        self._nonce += 1
        return nonce

    def resync_nonce(self) -> None:
        """Forget the local counter; the next send asks the node again."""
        self._nonce = None

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
        block = with_retries(lambda: self.w3.eth.get_block("latest"), what="eth_getBlockByNumber")
        base = block.get("baseFeePerGas")
        if base is None:
            return {"gasPrice": with_retries(lambda: self.w3.eth.gas_price, what="eth_gasPrice")}
        try:
            tip = with_retries(lambda: self.w3.eth.max_priority_fee, what="eth_maxPriorityFeePerGas")
        except Exception:  # noqa: BLE001 - nodes without the method: fall back to 1 gwei
            tip = Web3.to_wei(1, "gwei")
        return {"maxFeePerGas": Web3.to_wei(2 * int(base) + int(tip), "wei"), "maxPriorityFeePerGas": tip}

    # -- sending -----------------------------------------------------------------------------
    def simulate(self, fn: Sendable, *, value: int = 0) -> int:
        """Estimate gas; a revert raises the decoded contract error and nothing is sent."""
        params: TxParams = {"from": self.address, "value": Web3.to_wei(value, "wei")}

        def run() -> int:
            try:
                return int(fn.estimate_gas(params))
            except Exception as exc:
                decoded = decode_web3_error(exc)
                if decoded is not None:
                    raise decoded from None
                raise

        return with_retries(run, what=f"simulating {_name(fn)}")

    def send(
        self, fn: Sendable, *, gas: int | None = None, value: int = 0, label: str | None = None, fees: TxParams | None = None
    ) -> PendingTx:
        """Simulate (unless ``gas`` is given), sign and broadcast; do not wait."""
        if gas is None:
            needed = self.simulate(fn, value=value)
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
        tx = fn.build_transaction(params)
        signed = self.account.sign_transaction(cast(dict[str, Any], tx))
        pending = PendingTx(
            tx_hash=HexBytes(signed.hash),
            nonce=int(params["nonce"]),
            raw=bytes(signed.raw_transaction),
            params=tx,
            label=label or _name(fn),
        )
        self._broadcast(pending)
        return pending

    def _broadcast(self, pending: PendingTx) -> None:
        def run() -> None:
            try:
                self.w3.eth.send_raw_transaction(pending.raw)
            except Web3RPCError as exc:
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

    # -- waiting -----------------------------------------------------------------------------
    def wait(self, pending: Sequence[PendingTx], *, on_mined: Callable[[PendingTx, TxReceipt], None] | None = None) -> list[TxReceipt]:
        """Receipts of ``pending``, in order. Lost transactions are re-broadcast; reverts raised."""
        receipts: list[TxReceipt] = []
        for tx in pending:
            receipt = self._receipt(tx)
            if receipt["status"] != 1:
                raise self._failure(tx, receipt)
            if on_mined:
                on_mined(tx, receipt)
            receipts.append(receipt)
        return receipts

    def _receipt(self, tx: PendingTx) -> TxReceipt:
        deadline = time.monotonic() + self.receipt_timeout
        rebroadcast_after = 10.0
        last_seen = time.monotonic()
        while True:
            try:
                return with_retries(lambda: self.w3.eth.get_transaction_receipt(tx.tx_hash), what="eth_getTransactionReceipt")
            except TransactionNotFound:
                pass
            now = time.monotonic()
            if self._known(tx.tx_hash):
                last_seen = now
            elif now - last_seen > rebroadcast_after or now - tx.sent_at > rebroadcast_after:
                # Not in the node's pool and not mined: dropped (or reorged out). Send it again;
                # the same signed bytes can only ever be mined once.
                self._rebroadcast(tx)
                last_seen = now
            if now > deadline:
                raise ChainError(f"{tx.label} ({tx.hash_hex}) was not mined within {self.receipt_timeout:.0f} s")
            time.sleep(0.05 if now - tx.sent_at < 2 else 0.5)

    def _rebroadcast(self, tx: PendingTx) -> None:
        try:
            self.w3.eth.send_raw_transaction(tx.raw)
        except Web3RPCError as exc:
            text = str(exc).lower()
            if "nonce too low" in text:
                # Our nonce was used: by this transaction (its receipt will show) or by another.
                return
            if "already known" not in text:
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
