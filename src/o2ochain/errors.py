"""The o2ochain exception tree.

Every error o2ochain raises derives from :class:`O2OError`, so one ``except O2OError`` catches
them all::

    O2OError
    ├── InputError              bad input: names the file, line and field at fault
    │   └── InputErrors         several InputErrors found in one pass (nothing was written)
    ├── ConfigError             missing deployment, wrong chain id, unknown account, no toolchain
    ├── ChainError              the node: RPC failures, timeouts, dropped transactions
    │   └── TransactionFailed   a transaction was mined but reverted without a decodable reason
    └── ContractRevert          a contract refused a call; one subclass per Solidity custom error
        ├── IdentityItemAlreadyRegistered(item)        (generated from the ABIs, see ``revert``)
        ├── AccessControlUnauthorizedAccount(account, neededRole)
        └── ...

Contract errors are generated at import time from the ABIs shipped in ``o2ochain/abi``, so a
new custom error in Solidity becomes a Python class with the same name and named fields without
hand-written code. They are reachable as ``o2ochain.errors.revert.<Name>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "ChainError",
    "ConfigError",
    "ContractRevert",
    "InputError",
    "InputErrors",
    "O2OError",
    "TransactionFailed",
]


class O2OError(Exception):
    """Base class of every error raised by o2ochain."""


class InputError(O2OError, ValueError):
    """Bad input, located as precisely as we can: ``file:line: field: message``.

    ``file``, ``line`` and ``field`` are ``None`` when they do not apply (a value passed from
    Python rather than read from a file).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.value = value
        super().__init__(self.__str__())

    def where(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class InputErrors(InputError):
    """Several input errors found in one validation pass. Nothing was written."""

    def __init__(self, errors: Sequence[InputError], *, limit: int = 20) -> None:
        self.errors: list[InputError] = list(errors)
        shown = "\n".join(f"  {e}" for e in self.errors[:limit])
        more = len(self.errors) - limit
        tail = f"\n  ... and {more} more" if more > 0 else ""
        files = {e.file for e in self.errors if e.file}
        super().__init__(
            f"{len(self.errors)} problem(s) found, nothing was written:\n{shown}{tail}",
            file=files.pop() if len(files) == 1 else None,
        )

    def __str__(self) -> str:
        return self.message

    def __iter__(self) -> Any:
        return iter(self.errors)

    @classmethod
    def raise_if_any(cls, errors: Iterable[InputError]) -> None:
        found = list(errors)
        if found:
            raise cls(found)


class ConfigError(O2OError):
    """The environment is not as needed: no deployment for this chain, wrong chain id, no key."""


class ChainError(O2OError):
    """The node failed us: connection refused, timeout, 5xx, a transaction dropped."""


class TransactionFailed(ChainError):
    """A transaction was mined with status 0 and replaying it gave no decodable reason."""

    def __init__(self, message: str, *, tx_hash: str | None = None) -> None:
        self.tx_hash = tx_hash
        super().__init__(message if tx_hash is None else f"{message} (transaction {tx_hash})")


class ContractRevert(O2OError):
    """A contract refused the call. Subclasses carry the custom error's name and arguments.

    ``args_by_name`` maps each Solidity parameter name to its decoded Python value.
    """

    error_name: str = "ContractRevert"
    signature: str = ""
    selector: bytes = b""
    field_names: tuple[str, ...] = ()

    def __init__(self, message: str | None = None, /, **fields: Any) -> None:
        self.args_by_name: dict[str, Any] = dict(fields)
        for name, value in fields.items():
            setattr(self, name, value)
        super().__init__(message or self._describe())

    def _describe(self) -> str:
        if not self.args_by_name:
            return self.error_name
        inner = ", ".join(f"{k}={_show(v)}" for k, v in self.args_by_name.items())
        return f"{self.error_name}({inner})"


def _show(value: Any) -> str:
    """Render a decoded argument for people: ids as 0x-prefixed hex, text as text."""
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
        stripped = raw.rstrip(b"\x00")
        if stripped and all(32 <= b < 127 for b in stripped) and len(raw) == 32 and len(stripped) < 32:
            return repr(stripped.decode("ascii"))
        return "0x" + raw.hex()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


# --- faults ---
class RPCUnavailable(ChainError):
    """The node did not answer usefully after every retry: ``endpoint``, ``method``, ``attempts``,
    ``seconds`` spent and the last ``problem`` in words ("HTTP 503 Service Unavailable", "no answer
    within 30 s", "connection refused", "connection dropped before an answer")."""

    def __init__(self, endpoint: str, method: str, attempts: int, seconds: float, problem: str) -> None:
        self.endpoint = endpoint
        self.method = method
        self.attempts = attempts
        self.seconds = seconds
        self.problem = problem
        tries = "once" if attempts == 1 else f"{attempts} times over {seconds:.1f} s"
        super().__init__(f"the node at {endpoint} failed {method} {tries}: {problem}")


class TransactionDropped(ChainError):
    """A transaction of ours left the chain (a reorg, a node that lost blocks) and could not be
    sent again because its nonce now belongs to another transaction of the same account."""

    def __init__(self, message: str, *, tx_hash: str, nonce: int) -> None:
        self.tx_hash = tx_hash
        self.nonce = nonce
        super().__init__(f"{message} (transaction {tx_hash}, nonce {nonce})")


__all__ += ["RPCUnavailable", "TransactionDropped"]
