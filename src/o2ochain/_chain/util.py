"""Small helpers shared by the library's modules: keccak-256, atomic file writes and hex rendering."""

from __future__ import annotations

import gc
import importlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final

__all__ = ["address_topic", "atomic_file", "eip55", "gc_paused", "hex0x", "keccak256", "write_atomic", "write_many_checked"]


#: keccak-256 of the empty string: how a backend is checked to be Ethereum's keccak (not NIST SHA3-256).
_EMPTY_KECCAK = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")


def _pick_keccak() -> Callable[[bytes], bytes]:
    """Choose the fastest keccak-256 available; all give the same digest.

    ``safe-pysha3`` (installed alongside ape) is about five times faster than pycryptodome for
    the short inputs we hash, which matters when 100,000 items are hashed three times each. It is
    optional: without it pycryptodome's ``Crypto.Hash.keccak`` (what eth-hash, and so web3.py,
    uses), and eth-hash only when neither imports. Neither brings eth-hash's package metadata
    scan at start-up (a command that reads a Digital Link should not pay for it).
    """
    try:
        keccak_256 = importlib.import_module("sha3").keccak_256

        def fast(data: bytes) -> bytes:
            digest: bytes = keccak_256(data).digest()
            return digest

        if fast(b"") == _EMPTY_KECCAK:
            return fast
    except (ImportError, AttributeError):
        pass
    try:
        crypto_keccak = importlib.import_module("Crypto.Hash.keccak")

        def pycryptodome(data: bytes) -> bytes:
            digest: bytes = crypto_keccak.new(data=data, digest_bits=256).digest()
            return digest

        if pycryptodome(b"") == _EMPTY_KECCAK:
            return pycryptodome
    except (ImportError, AttributeError):
        pass
    from eth_hash.auto import keccak as eth_keccak

    return eth_keccak


keccak256: Final[Callable[[bytes], bytes]] = _pick_keccak()
"""Ethereum's keccak-256 (not NIST SHA3-256) of ``data``."""


def eip55(low: str) -> str:
    """An address's 40 lower-case hex digits in EIP-55 mixed case, with 0x (the caller checks the
    digits: the light reader refuses what is not an address, the log decoder leaves it to web3)."""
    digest = keccak256(low.encode()).hex()
    return "0x" + "".join([c.upper() if d > "7" else c for c, d in zip(low, digest[:40], strict=True)])


def hex0x(value: bytes) -> str:
    """``0x`` followed by the lower-case hex of ``value``."""
    return "0x" + bytes(value).hex()


def address_topic(address: str | None) -> str | None:
    """An address as a 32-byte log topic (``None`` matches any)."""
    return None if address is None else "0x" + address.removeprefix("0x").lower().rjust(64, "0")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off while a bulk read makes hundreds of thousands of objects that
    live on (a keeper's year of purchases, their logs): each collection it would start walks every
    object made so far, a third of such a read's time. The objects made are plain values (no
    cycles to collect); the collector is on again after, as it was (nested use is fine)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@contextmanager
def atomic_file(target: Path, *, text: bool = False) -> Iterator[IO[Any]]:
    """A file that appears at ``target`` only if the ``with`` block completes, whole and on disk.

    It is written under a temporary name in the same directory (same file system, so the final
    ``os.replace`` is atomic), fsynced, made world-readable (mkstemp gives 0600) and renamed.
    A crash at any point leaves either the old file or the new one, never half of one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temp = Path(name)
    try:
        if text:
            handle: IO[Any] = os.fdopen(fd, "w", encoding="utf-8", newline="\n", buffering=1 << 20)
        else:
            handle = os.fdopen(fd, "wb")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (see :func:`atomic_file`)."""
    with atomic_file(target) as handle:
        handle.write(data)


def write_many_checked(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write many files of a content-addressed store, then one ``os.sync`` makes them durable.

    Not atomic file by file, on purpose: each file's name is the hash of its content, so a file
    a crash left short is found (its content does not hash to its name) and written again by the
    next run, and nothing reads these files before the transaction that anchors their hashes is
    sent, after this returns. What atomicity costs (a temporary file, a rename and an fsync each)
    was most of the time a capture of thousands of events spent.
    """
    for target, data in files:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(data)
    if files:
        os.sync()
