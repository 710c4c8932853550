"""Fixtures of the contract tests: an in-process eth-tester chain (py-evm, Prague rules) with a
ProductRegistry deployed from the shipped artifact, its actors, and a few GS1 / Merkle helpers.

The chain is built once per session; every test runs against a snapshot taken after the common
setup and reverted afterwards, so tests are independent and fast.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.main import get_default_account_keys
from eth_tester.exceptions import TransactionFailed
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.providers.eth_tester import EthereumTesterProvider

ROOT = Path(__file__).resolve().parents[2]
ABI_DIR = ROOT / "src" / "o2ochain" / "abi"
ARTIFACT = json.loads((ABI_DIR / "ProductRegistry.json").read_text())
ERRORS_ABI: list[dict[str, Any]] = json.loads((ABI_DIR / "Errors.json").read_text())["abi"]

# The demo brand: GS1 company prefix 9506000, two products of it.
PREFIX = "9506000"
GTIN = 9506000134352  # 09506000134352
GTIN_2 = 9506000134369  # 09506000134369
# Another brand's prefix and product.
OTHER_PREFIX = "4006381"
OTHER_GTIN = 4006381333931  # 04006381333931
EXPIRY = 261231
URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
DEFAULT_ADMIN_ROLE = b"\x00" * 32


# --------------------------------------------------------------------------------------------
# GS1 identifiers, computed as the library does
# --------------------------------------------------------------------------------------------


def code(text: str | bytes) -> bytes:
    """A serial or lot code as the contract takes it: ASCII, left aligned, zero padded to 32 bytes."""
    raw = text.encode() if isinstance(text, str) else text
    return raw.ljust(32, b"\0")


def gtin_check_digit(body13: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body13)))
    return (10 - total % 10) % 10


def item_id(gtin: int, serial: str) -> bytes:
    return keccak(f"/01/{gtin:014d}/21/{serial}".encode())


def lot_id(gtin: int, lot: str) -> bytes:
    return keccak(f"/01/{gtin:014d}/10/{lot}".encode())


def brand_role(tag: str, brand: int) -> bytes:
    return keccak(abi_encode(["string", "uint32"], [f"o2ochain.identity.{tag}", brand]))


# --------------------------------------------------------------------------------------------
# OpenZeppelin StandardMerkleTree of (bytes32 item, bytes32 lot) leaves
# --------------------------------------------------------------------------------------------


def merkle_leaf(item: bytes, lot: bytes) -> bytes:
    return keccak(keccak(abi_encode(["bytes32", "bytes32"], [item, lot])))


class MerkleTree:
    """The tree of @openzeppelin/merkle-tree's StandardMerkleTree (sorted leaves, array layout)."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = sorted(leaves)
        n = len(self.leaves)
        tree: list[bytes] = [b""] * (2 * n - 1)
        for i, leaf in enumerate(self.leaves):
            tree[len(tree) - 1 - i] = leaf
        for i in range(len(tree) - 1 - n, -1, -1):
            a, b = tree[2 * i + 1], tree[2 * i + 2]
            tree[i] = keccak(min(a, b) + max(a, b))
        self.tree = tree

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def proof(self, leaf: bytes) -> list[bytes]:
        index = len(self.tree) - 1 - self.leaves.index(leaf)
        proof = []
        while index > 0:
            proof.append(self.tree[index + 1 if index % 2 else index - 1])
            index = (index - 1) // 2
        return proof


# --------------------------------------------------------------------------------------------
# Reverts
# --------------------------------------------------------------------------------------------


def _selectors(abi: list[dict[str, Any]]) -> dict[bytes, dict[str, Any]]:
    table = {}
    for entry in abi:
        if entry.get("type") == "error":
            types = ",".join(_abi_type(i) for i in entry["inputs"])
            table[function_signature_to_4byte_selector(f"{entry['name']}({types})")] = entry
    return table


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return param["type"]


def _normalise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    if isinstance(value, str) and value.startswith("0x"):
        return bytes.fromhex(value[2:])
    return value


def decode_revert(abi: list[dict[str, Any]], data: bytes) -> tuple[str, dict[str, Any]]:
    """Name and arguments of the custom error encoded in `data`, looked up in `abi` and Errors.json."""
    table = _selectors(ERRORS_ABI) | _selectors(abi)
    entry = table.get(data[:4])
    if entry is None:
        raise AssertionError(f"revert data {data.hex()} matches no known custom error")
    values = abi_decode([_abi_type(i) for i in entry["inputs"]], data[4:])
    return entry["name"], {i["name"]: _normalise(v) for i, v in zip(entry["inputs"], values, strict=True)}


def revert_data(exc: Exception) -> bytes:
    """The raw revert data carried by a web3 or eth-tester exception.

    Over JSON-RPC (Anvil) web3 raises ContractCustomError / ContractLogicError with the data as
    hex. Over EthereumTesterProvider (eth-tester 0.13) web3 re-raises eth-tester's
    TransactionFailed as ``TransactionFailed("execution reverted: <reason>")``, where the
    original exception (its ``__context__``) holds the data: as bytes after a failed gas
    estimate (``transact``), as the ``repr`` of the bytes after a failed ``eth_call``. The
    deepest exception is tried first, since the outer message may hold a failed decoding.
    """
    if isinstance(exc, ContractLogicError):
        raw = exc.data if isinstance(exc.data, str) else (exc.data or {}).get("data", "")
        if raw:
            return bytes.fromhex(raw[2:] if raw.startswith("0x") else raw)
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__context__
    for candidate in reversed(chain):
        if not isinstance(candidate, TransactionFailed) or not candidate.args:
            continue
        first = candidate.args[0]
        if isinstance(first, Exception) and first.args:
            first = first.args[0]
        if isinstance(first, bytes):
            return first
        if isinstance(first, str):
            text = first.removeprefix("execution reverted: ")
            if text[:2] in ("b'", 'b"'):
                value = ast.literal_eval(text)
                if isinstance(value, bytes):
                    return value
    raise AssertionError(f"no revert data in {exc!r}") from exc


def expect_revert(abi: list[dict[str, Any]], fn: Callable[[], Any], error_name: str, **expected_args: Any) -> dict[str, Any]:
    """Call `fn`, which must revert with custom error `error_name` and the given arguments.

    Arguments left out are not checked; all decoded arguments are returned, so that a test can
    check the ones it cannot predict (the block time, a recovered signer) another way.
    """
    try:
        fn()
    except (ContractCustomError, ContractLogicError, TransactionFailed) as exc:
        data = revert_data(exc)
    else:
        raise AssertionError(f"expected a revert with {error_name}, but the call succeeded")
    name, args = decode_revert(abi, data)
    assert name == error_name, f"reverted with {name}{args}, expected {error_name}"
    for key, expected in expected_args.items():
        assert key in args, f"{error_name} has no argument {key!r} (has {sorted(args)})"
        assert args[key] == _normalise(expected), f"{error_name}.{key} = {args[key]!r}, expected {expected!r}"
    return args


# --------------------------------------------------------------------------------------------
# Chain, contract and actors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actors:
    admin: str
    brand_admin: str
    registrant: str
    seller: str
    consumer: str
    outsider: str
    other_admin: str  # admin of the other brand
    other_seller: str  # seller of the other brand
    keys: dict[str, bytes]  # private key by address


@dataclass
class Env:
    w3: Web3
    tester: EthereumTester
    registry: Contract
    actors: Actors
    brand: int = 1
    other_brand: int = 2

    @property
    def abi(self) -> list[dict[str, Any]]:
        return ARTIFACT["abi"]

    def send(self, fn: Any, sender: str) -> Any:
        """Transact `fn` from `sender` and return the (successful) receipt."""
        receipt = self.w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender}))
        assert receipt["status"] == 1
        return receipt

    def events(self, receipt: Any, name: str) -> list[Any]:
        from web3.logs import DISCARD

        return [e["args"] for e in getattr(self.registry.events, name)().process_receipt(receipt, errors=DISCARD)]

    def register(self, gtin: int, lot: str, serials: list[str], expiry: int = EXPIRY) -> Any:
        batch = (gtin, code(lot), expiry, [code(s) for s in serials])
        return self.send(self.registry.functions.registerItems([batch]), self.actors.registrant)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


@pytest.fixture(scope="session")
def _session_env() -> Env:
    # PyEVMBackend's default chain runs the latest fork it knows (Prague), which has every
    # Cancun opcode (mcopy, transient storage) the compiler may emit for evmVersion cancun.
    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    accounts = w3.eth.accounts
    keys = {to_checksum_address(a): k.to_bytes() for a, k in zip(accounts, get_default_account_keys(), strict=False)}
    actors = Actors(
        admin=accounts[0],
        brand_admin=accounts[1],
        registrant=accounts[2],
        seller=accounts[3],
        consumer=accounts[4],
        outsider=accounts[5],
        other_admin=accounts[6],
        other_seller=accounts[7],
        keys=keys,
    )
    factory = w3.eth.contract(abi=ARTIFACT["abi"], bytecode=ARTIFACT["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(actors.admin).transact({"from": actors.admin}))
    registry = w3.eth.contract(address=receipt["contractAddress"], abi=ARTIFACT["abi"])
    env = Env(w3=w3, tester=tester, registry=registry, actors=actors)

    f = registry.functions
    env.send(f.registerBrand(actors.brand_admin, "Acme Foods", [PREFIX]), actors.admin)
    env.send(f.registerBrand(actors.other_admin, "Other Co", [OTHER_PREFIX]), actors.admin)
    env.send(f.grantRole(brand_role("registrant", 1), actors.registrant), actors.brand_admin)
    env.send(f.grantRole(brand_role("seller", 1), actors.seller), actors.brand_admin)
    env.send(f.grantRole(brand_role("seller", 2), actors.other_seller), actors.other_admin)
    env.send(f.registerProduct(1, GTIN, URI), actors.registrant)
    env.send(f.registerProduct(1, GTIN_2, URI), actors.registrant)
    env.send(f.registerProduct(2, OTHER_GTIN, URI), actors.other_admin)
    return env


@pytest.fixture
def env(_session_env: Env) -> Iterator[Env]:
    snapshot = _session_env.tester.take_snapshot()
    try:
        yield _session_env
    finally:
        _session_env.tester.revert_to_snapshot(snapshot)


@pytest.fixture
def registry(env: Env) -> Contract:
    return env.registry


@pytest.fixture
def actors(env: Env) -> Actors:
    return env.actors


# --------------------------------------------------------------------------------------------
# TraceLedger: deployed on the session chain, over the registry, with one actor per brand
# --------------------------------------------------------------------------------------------

TRACE_ARTIFACT = json.loads((ABI_DIR / "TraceLedger.json").read_text())
# GLN-derived location ids of the two actors (keccak of their SGLN Digital Link paths).
GROWER_LOCATION = keccak(b"/414/9506000000005/254/0")
CARRIER_LOCATION = keccak(b"/414/4006381000009/254/0")
# Actor kinds of ITraceLedger.grantActor.
GROWER, PROCESSOR, LOGISTICS, RETAIL, OTHER_KIND = 1, 2, 3, 4, 5


@dataclass
class TraceEnv:
    """The session chain of :class:`Env` with a TraceLedger on its registry.

    ``grower`` is an actor of brand 1 (kind GROWER), ``carrier`` an actor of brand 2 (kind
    LOGISTICS); the other accounts are those of :class:`Actors`.
    """

    env: Env
    ledger: Contract
    grower: str
    carrier: str

    @property
    def abi(self) -> list[dict[str, Any]]:
        return TRACE_ARTIFACT["abi"]

    @property
    def actors(self) -> Actors:
        return self.env.actors

    def send(self, fn: Any, sender: str) -> Any:
        return self.env.send(fn, sender)

    def record(self, entries: list[Any], sender: str | None = None, brand: int = 1) -> Any:
        """Record `entries` (ABI tuples) for `brand` from `sender` (the grower) and return the receipt.

        The gas limit is given, which skips eth-tester's gas estimate (a binary search that runs
        the transaction many times); a failure is then a mined revert, refused here.
        """
        tx = self.ledger.functions.record(brand, entries).transact({"from": sender or self.grower, "gas": 15_000_000})
        receipt = self.env.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt["status"] == 1
        return receipt

    def events(self, receipt: Any, name: str) -> list[Any]:
        from web3.logs import DISCARD

        return [e["args"] for e in getattr(self.ledger.events, name)().process_receipt(receipt, errors=DISCARD)]


@pytest.fixture(scope="session")
def _trace_session(_session_env: Env) -> TraceEnv:
    env = _session_env
    accounts = env.w3.eth.accounts
    grower, carrier = accounts[8], accounts[9]
    factory = env.w3.eth.contract(abi=TRACE_ARTIFACT["abi"], bytecode=TRACE_ARTIFACT["bytecode"])
    receipt = env.send(factory.constructor(env.registry.address), env.actors.admin)
    ledger = env.w3.eth.contract(address=receipt["contractAddress"], abi=TRACE_ARTIFACT["abi"])
    env.send(ledger.functions.grantActor(1, grower, GROWER, GROWER_LOCATION), env.actors.brand_admin)
    env.send(ledger.functions.grantActor(2, carrier, LOGISTICS, CARRIER_LOCATION), env.actors.other_admin)
    return TraceEnv(env=env, ledger=ledger, grower=grower, carrier=carrier)


@pytest.fixture
def trace(_trace_session: TraceEnv, env: Env) -> TraceEnv:
    """The TraceLedger environment, reverted after the test (through ``env``'s snapshot)."""
    return _trace_session


# --------------------------------------------------------------------------------------------
# ConsentRegistry: deployed on the session chain; a consumer, two data users and a delegate
# --------------------------------------------------------------------------------------------

CONSENT_ARTIFACT = json.loads((ABI_DIR / "ConsentRegistry.json").read_text())
CONSENT_DOMAIN_NAME = "o2ochain ConsentRegistry"
GRANT_FIELDS = [
    {"name": "consumer", "type": "address"},
    {"name": "dataUser", "type": "address"},
    {"name": "purposes", "type": "uint64"},
    {"name": "categories", "type": "uint64"},
    {"name": "expiry", "type": "uint64"},
    {"name": "notice", "type": "bytes32"},
    {"name": "language", "type": "bytes8"},
    {"name": "dataHash", "type": "bytes32"},
    {"name": "nonce", "type": "uint64"},
    {"name": "deadline", "type": "uint64"},
]
REVOKE_FIELDS = [
    {"name": "consumer", "type": "address"},
    {"name": "dataUser", "type": "address"},
    {"name": "nonce", "type": "uint64"},
    {"name": "deadline", "type": "uint64"},
]
TERMS_NAMES = ("consumer", "dataUser", "purposes", "categories", "expiry", "notice", "language", "dataHash")
EIP712_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass
class ConsentEnv:
    """The session chain of :class:`Env` with a ConsentRegistry.

    ``consumer`` grants to ``data_user`` (a retailer) or ``other_data_user``; ``delegate`` is an
    account the consumer may name as delegate (none is named at the start); ``outsider`` is nobody.
    """

    env: Env
    registry: Contract
    consumer: str
    data_user: str
    other_data_user: str
    delegate: str
    outsider: str

    @property
    def abi(self) -> list[dict[str, Any]]:
        return CONSENT_ARTIFACT["abi"]

    @property
    def w3(self) -> Web3:
        return self.env.w3

    def send(self, fn: Any, sender: str) -> Any:
        return self.env.send(fn, sender)

    def events(self, receipt: Any, name: str) -> list[Any]:
        from web3.logs import DISCARD

        return [e["args"] for e in getattr(self.registry.events, name)().process_receipt(receipt, errors=DISCARD)]

    def now(self) -> int:
        return self.env.now()

    def advance(self, seconds: int) -> int:
        """Mine a block ``seconds`` after the latest one and return its timestamp."""
        target = self.now() + seconds
        self.env.tester.time_travel(target)
        return target

    def domain(self, *, chain_id: int | None = None, contract: str | None = None) -> dict[str, Any]:
        return {
            "name": CONSENT_DOMAIN_NAME,
            "version": "1",
            "chainId": self.w3.eth.chain_id if chain_id is None else chain_id,
            "verifyingContract": contract or self.registry.address,
        }

    def _sign(self, key: bytes, primary: str, fields: list[dict[str, str]], message: dict[str, Any], **domain: Any) -> bytes:
        from eth_account import Account
        from eth_account.messages import encode_typed_data

        typed = {
            "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, primary: fields},
            "primaryType": primary,
            "domain": self.domain(**domain),
            "message": message,
        }
        return bytes(Account.sign_message(encode_typed_data(full_message=typed), key).signature)

    def key(self, signer: str | bytes) -> bytes:
        return signer if isinstance(signer, bytes) else self.env.actors.keys[to_checksum_address(signer)]

    def sign_grant(self, signer: str | bytes, terms: tuple[Any, ...], nonce: int, deadline: int, **domain: Any) -> bytes:
        """EIP-712 signature of a ``Grant`` by ``signer`` (an account of the chain, or a private key)."""
        message = dict(zip(TERMS_NAMES, terms, strict=True)) | {"nonce": nonce, "deadline": deadline}
        return self._sign(self.key(signer), "Grant", GRANT_FIELDS, message, **domain)

    def sign_revoke(self, signer: str | bytes, consumer: str, data_user: str, nonce: int, deadline: int, **domain: Any) -> bytes:
        message = {"consumer": consumer, "dataUser": data_user, "nonce": nonce, "deadline": deadline}
        return self._sign(self.key(signer), "Revoke", REVOKE_FIELDS, message, **domain)


@pytest.fixture(scope="session")
def _consent_session(_session_env: Env) -> ConsentEnv:
    env = _session_env
    accounts = env.w3.eth.accounts
    factory = env.w3.eth.contract(abi=CONSENT_ARTIFACT["abi"], bytecode=CONSENT_ARTIFACT["bytecode"])
    receipt = env.send(factory.constructor(), env.actors.admin)
    registry = env.w3.eth.contract(address=receipt["contractAddress"], abi=CONSENT_ARTIFACT["abi"])
    return ConsentEnv(
        env=env,
        registry=registry,
        consumer=env.actors.consumer,
        data_user=env.actors.seller,
        other_data_user=env.actors.other_seller,
        delegate=accounts[8],
        outsider=env.actors.outsider,
    )


@pytest.fixture
def consent(_consent_session: ConsentEnv, env: Env) -> ConsentEnv:
    """The ConsentRegistry environment, reverted after the test (through ``env``'s snapshot)."""
    return _consent_session
