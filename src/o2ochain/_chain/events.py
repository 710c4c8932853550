"""Decoding event logs fast: the event's ABI types read once, each log decoded with eth_abi.

web3's ``contract.events.X().process_log(log)`` parses the event's ABI again for every log and
checksums every address it meets (about a millisecond a log), which dominates a read of a year
of purchases through an index. :func:`event_decoder` gives an object with the same ``topic`` and
``process_log`` whose result is the same ``EventData`` (``args`` by name, ``event``,
``logIndex``, ``transactionIndex``, ``transactionHash``, ``address``, ``blockHash``,
``blockNumber``), so a reader swaps one for the other without another change. Events with tuple
arguments are left to web3 (their named tuples come from ``decode_tuples``).
"""

from __future__ import annotations

import functools
from typing import Any, cast

from eth_abi.abi import decode as abi_decode
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.datastructures import AttributeDict
from web3.types import EventData, LogReceipt

from o2ochain._chain.util import eip55

__all__ = ["EventDecoder", "attribute_dict", "checksum_address", "event_decoder", "hex_bytes", "log_timestamp"]


@functools.lru_cache(maxsize=65536)
def checksum_address(address: str) -> str:
    """``address`` (0x and 40 hex digits) in EIP-55 mixed case, as web3 gives addresses: the same
    result as ``Web3.to_checksum_address`` at a fraction of its cost (no input checks: the
    words come from logs, 20 bytes each)."""
    low = address[2:].lower()
    if len(low) != 40:
        return str(Web3.to_checksum_address(address))  # let web3 say what is wrong with it
    return eip55(low)


def attribute_dict(values: dict[str, Any]) -> AttributeDict[str, Any]:
    """``AttributeDict(values)`` without its copies and checks (``values`` is taken, not copied):
    a read of a year of logs makes hundreds of thousands of them."""
    made: AttributeDict[str, Any] = AttributeDict.__new__(AttributeDict)
    object.__setattr__(made, "__dict__", values)
    return made


def hex_bytes(value: str) -> HexBytes:
    """A 0x hex string as HexBytes, as web3 gives hashes and data (HexBytes' own checks skipped
    when it is plain hex)."""
    try:
        return bytes.__new__(HexBytes, bytes.fromhex(value[2:] if value[:2] in ("0x", "0X") else value))
    except (ValueError, TypeError):
        return HexBytes(value)  # raises its own words for what is not hex


def _value(kind: str, value: Any) -> Any:
    """A decoded value as web3 gives it: addresses checksummed, the rest as eth_abi decodes it."""
    if kind == "address":
        return checksum_address(value)
    if kind.startswith("address["):
        return [checksum_address(v) for v in value]
    return value


def _word_reader(kind: str) -> Any:
    """How to read a static ``kind`` from its 32-byte word directly (None: leave it to eth_abi).
    A word that is not a valid ``kind`` (bits beyond its size) raises ValueError, as eth_abi would."""
    if kind.startswith("uint"):
        bound = 1 << int(kind[len("uint") :] or 256)

        def uint(word: bytes) -> int:
            value = int.from_bytes(word, "big")
            if value >= bound:
                raise ValueError(f"{kind} out of range")
            return value

        return uint
    if kind.startswith("int"):
        half = 1 << (int(kind[len("int") :] or 256) - 1)

        def sint(word: bytes) -> int:
            value = int.from_bytes(word, "big", signed=True)
            if not -half <= value < half:
                raise ValueError(f"{kind} out of range")
            return value

        return sint
    if kind == "address":

        def address(word: bytes) -> str:
            if word[:12] != _ZERO_WORD[:12]:
                raise ValueError("address with non-zero padding")
            return checksum_address("0x" + word[12:].hex())

        return address
    if kind == "bool":

        def boolean(word: bytes) -> bool:
            value = int.from_bytes(word, "big")
            if value > 1:
                raise ValueError("bool out of range")
            return value == 1

        return boolean
    if kind.startswith("bytes") and kind != "bytes" and not kind.endswith("]"):
        size = int(kind[len("bytes") :])

        def fixed(word: bytes) -> bytes:
            if word[size:] != _ZERO_WORD[size:]:
                raise ValueError(f"{kind} with non-zero padding")
            return bytes(word[:size])

        return fixed
    return None


_ZERO_WORD = bytes(32)


class EventDecoder:
    """``process_log`` for one event of a contract, decoding with eth_abi directly."""

    def __init__(self, contract: Contract, name: str) -> None:
        self.event = contract.events[name]()
        self.topic: Any = self.event.topic
        self.name = name
        inputs = self.event.abi["inputs"]
        self._fallback = any(str(i["type"]).startswith("tuple") for i in inputs)
        self._names = [str(i["name"]) for i in inputs]
        self._indexed = [(str(i["name"]), str(i["type"])) for i in inputs if i.get("indexed")]
        self._data = [(str(i["name"]), str(i["type"])) for i in inputs if not i.get("indexed")]
        self._data_types = [kind for _, kind in self._data]
        # Indexed values of static types are their topic; static data fields are one word each.
        self._topic_readers = [(name, _word_reader(kind), kind) for name, kind in self._indexed]
        readers = [_word_reader(kind) for kind in self._data_types]
        self._data_readers = readers if all(r is not None for r in readers) else None
        self._topic0 = bytes(HexBytes(self.topic))

    def process_log(self, log: LogReceipt) -> EventData:
        """The event's arguments by name, with where the log was: as web3's ``process_log``."""
        topics = log["topics"]
        if self._fallback or not topics or bytes(topics[0]) != self._topic0 or len(topics) != len(self._indexed) + 1:
            return cast(EventData, self.event.process_log(log))  # tuples; or web3 says why it is not this event
        try:
            found = self._args(topics, bytes(log["data"]))
        except (ValueError, TypeError):
            return cast(EventData, self.event.process_log(log))  # malformed: web3 raises its own error
        return cast(
            EventData,
            attribute_dict(
                {
                    "args": attribute_dict({name: found[name] for name in self._names}),
                    "event": self.name,
                    "logIndex": log["logIndex"],
                    "transactionIndex": log["transactionIndex"],
                    "transactionHash": log["transactionHash"],
                    "address": log["address"],
                    "blockHash": log["blockHash"],
                    "blockNumber": log["blockNumber"],
                }
            ),
        )

    def _args(self, topics: Any, data: bytes) -> dict[str, Any]:
        """The arguments by name: topics and data words read directly where static, else by eth_abi."""
        found: dict[str, Any] = {}
        for (name, read, kind), topic in zip(self._topic_readers, topics[1:], strict=True):
            word = bytes(topic)
            found[name] = read(word) if read is not None else word if not _static(kind) else abi_decode([kind], word)[0]
        if self._data:
            if self._data_readers is not None and len(data) == 32 * len(self._data):
                for n, ((name, _), read) in enumerate(zip(self._data, self._data_readers, strict=True)):
                    found[name] = read(data[32 * n : 32 * n + 32])
            else:
                values = abi_decode(self._data_types, data)
                for (name, kind), value in zip(self._data, values, strict=True):
                    found[name] = _value(kind, value)
        return found


def _static(kind: str) -> bool:
    """Whether an indexed argument of ``kind`` is its value in the topic (not a hash of it)."""
    return not (kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("tuple"))


def event_decoder(contract: Contract, name: str) -> EventDecoder:
    """The decoder of event ``name`` of ``contract`` (made once per contract and event)."""
    cache: dict[str, EventDecoder] = contract.__dict__.setdefault("_o2o_decoders", {})
    if name not in cache:
        cache[name] = EventDecoder(contract, name)
    return cache[name]


def log_timestamp(log: Any) -> int | None:
    """The block timestamp a log carries (``blockTimestamp``: Anvil, recent geth, the index), if any."""
    value = log.get("blockTimestamp") if hasattr(log, "get") else None
    if value is None:
        return None
    return int(value, 16) if isinstance(value, str) else int(value)
