"""Contract reverts decoded into Python exceptions.

A class is generated for every Solidity custom error in the shipped ABIs (ours and
OpenZeppelin's): ``IdentityItemAlreadyRegistered`` becomes a subclass of
:class:`~o2ochain.errors.ContractRevert` with the same name, whose instances carry the decoded
arguments as attributes (``exc.item``). ``Error(string)`` and ``Panic(uint256)`` decode to
:class:`RevertMessage` and :class:`Panic`.

    try:
        registrant.register_items(items)
    except revert.IdentityItemAlreadyRegistered as exc:
        print(exc.item)
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from o2ochain._artifacts import error_abi
from o2ochain.errors import ContractRevert

__all__ = ["Panic", "RevertMessage", "UnknownRevert", "by_name", "decode_revert"]

_PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupted storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised internal function",
}


class RevertMessage(ContractRevert):
    """``revert("...")`` / ``require(cond, "...")`` with a text reason."""

    error_name = "Error"
    signature = "Error(string)"
    selector = bytes.fromhex("08c379a0")
    field_names = ("message",)

    def _describe(self) -> str:
        return f"reverted: {self.args_by_name.get('message', '')}"


class Panic(ContractRevert):
    """A Solidity panic (failed assert, overflow, out-of-bounds…)."""

    error_name = "Panic"
    signature = "Panic(uint256)"
    selector = bytes.fromhex("4e487b71")
    field_names = ("code",)

    def _describe(self) -> str:
        code = int(self.args_by_name.get("code", 0))
        return f"panic 0x{code:02x}: {_PANIC_REASONS.get(code, 'unknown panic code')}"


class UnknownRevert(ContractRevert):
    """A revert whose data matches no error we know (another contract's, or no data at all)."""

    error_name = "UnknownRevert"

    def __init__(self, data: bytes) -> None:
        self.data = data
        if not data:
            text = "the call reverted without a reason"
        else:
            text = f"the call reverted with an error unknown to o2ochain (selector 0x{data[:4].hex()})"
        super().__init__(text, data=data)


def _type_string(param: dict[str, Any]) -> str:
    """ABI type of a parameter, expanding tuples: ``(uint64,bytes32)[]``."""
    t = str(param["type"])
    if t.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param.get("components", []))
        return f"({inner}){t[len('tuple') :]}"
    return t


def _make_classes() -> tuple[dict[bytes, type[ContractRevert]], dict[str, type[ContractRevert]]]:
    by_selector: dict[bytes, type[ContractRevert]] = {
        RevertMessage.selector: RevertMessage,
        Panic.selector: Panic,
    }
    names: dict[str, type[ContractRevert]] = {"Error": RevertMessage, "Panic": Panic}
    for entry in error_abi():
        types = [_type_string(i) for i in entry["inputs"]]
        signature = f"{entry['name']}({','.join(types)})"
        selector = keccak(text=signature)[:4]
        fields = tuple(i["name"] or f"arg{n}" for n, i in enumerate(entry["inputs"]))
        cls = type(
            entry["name"],
            (ContractRevert,),
            {
                "__doc__": f"Solidity custom error ``{signature}``.",
                "__module__": __name__,
                "error_name": entry["name"],
                "signature": signature,
                "selector": selector,
                "field_names": fields,
                "abi_types": tuple(types),
            },
        )
        by_selector[selector] = cls
        names.setdefault(entry["name"], cls)
    return by_selector, names


_BY_SELECTOR, _BY_NAME = _make_classes()


def by_name(name: str) -> type[ContractRevert]:
    """The exception class of the custom error ``name`` (KeyError when unknown)."""
    return _BY_NAME[name]


def decode_revert(data: bytes | str | None) -> ContractRevert:
    """Turn revert data (bytes or 0x-hex) into the matching exception instance."""
    if isinstance(data, str):
        text = data[2:] if data.startswith("0x") else data
        try:
            data = bytes.fromhex(text)
        except ValueError:
            return UnknownRevert(b"")
    raw = bytes(data or b"")
    cls = _BY_SELECTOR.get(raw[:4])
    if cls is None:
        return UnknownRevert(raw)
    types: tuple[str, ...] = getattr(cls, "abi_types", ("string",) if cls is RevertMessage else ("uint256",))
    try:
        values = abi_decode(list(types), raw[4:])
    except (DecodingError, OverflowError, ValueError):
        return UnknownRevert(raw)
    return cls(**dict(zip(cls.field_names, (_pythonic(t, v) for t, v in zip(types, values, strict=True)), strict=True)))


def _pythonic(abi_type: str, value: Any) -> Any:
    """Decoded values as a user expects them: checksummed addresses, bytes as bytes."""
    if abi_type == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if isinstance(value, tuple):
        return tuple(value)
    return value


def __getattr__(name: str) -> type[ContractRevert]:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise AttributeError(f"no contract error named {name!r}") from None
