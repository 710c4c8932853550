"""Revert data decoded into the exceptions of :mod:`o2ochain.errors`.

The selector (first four bytes) picks the class: ``Error(string)`` is a
:class:`~o2ochain.errors.RevertMessage`, ``Panic(uint256)`` a :class:`~o2ochain.errors.Panic`, a
custom error of our ABIs its generated class, anything else an
:class:`~o2ochain.errors.UnknownRevert`; the arguments are decoded by name, and the exception's
message says them in words (:mod:`o2ochain._chain.words`). The ABI is read by
:func:`o2ochain._chain.light.abi_decode` (no web3 needed to say why a call reverted).
"""

from __future__ import annotations

import functools
from typing import Any

from o2ochain._chain.light import abi_decode, checksum_address
from o2ochain.errors import ContractRevert, Panic, RevertMessage, UnknownRevert, _contract_errors

__all__ = ["decode_revert"]


@functools.cache
def _by_selector() -> dict[bytes, type[ContractRevert]]:
    table: dict[bytes, type[ContractRevert]] = {RevertMessage.selector: RevertMessage, Panic.selector: Panic}
    for cls in _contract_errors():
        table[cls.selector] = cls
    return table


def decode_revert(data: bytes | str | None) -> ContractRevert:
    """Turn revert data (bytes or 0x-hex) into the matching exception instance."""
    if isinstance(data, str):
        text = data[2:] if data.startswith("0x") else data
        try:
            data = bytes.fromhex(text)
        except ValueError:
            return UnknownRevert(b"")
    raw = bytes(data or b"")
    cls = _by_selector().get(raw[:4])
    if cls is None:
        return UnknownRevert(raw)
    types: tuple[str, ...] = getattr(cls, "abi_types", ("string",) if cls is RevertMessage else ("uint256",))
    try:
        values = abi_decode(list(types), raw[4:])
    except (OverflowError, ValueError):  # UnicodeDecodeError is a ValueError
        return UnknownRevert(raw)
    return cls(**dict(zip(cls.field_names, (_pythonic(t, v) for t, v in zip(types, values, strict=True)), strict=True)))


def _pythonic(abi_type: str, value: Any) -> Any:
    """Decoded values as a user expects them: checksummed addresses, bytes as bytes."""
    if abi_type == "address" and isinstance(value, str):
        return checksum_address(value)
    if isinstance(value, tuple):
        return tuple(value)
    return value
