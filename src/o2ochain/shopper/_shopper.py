"""A shopper's many addresses from one key, so that one scanned item does not reveal a person.

Everything on a public chain is public: if one address bought at the till, claimed the item,
consented to a shop's use of data and was compensated, then whoever scans that item's QR code
reads the item's owner on chain and, from that address, lists every purchase, consent and data
use of the same person. o2ochain therefore never uses a shopper's own address on chain. Each
record gets an address of its own, derived from the shopper's key:

======================  =====================================================================
context                  used for
======================  =====================================================================
``purchase/R/I``         the buyer of the I-th purchase (I = 0, 1, ...) at retailer R: shown at
                         the till, paid the price guarantee's compensation, author of reviews
                         and votes resting on that purchase
``item/0x<item id>``     the first owner of a claimed item, author of its review
``consent/0x<address>``  the consumer in every consent to, and data use by, that data user
======================  =====================================================================

Derivation (the consumer page implements the same, ``frontend/src/wallet/shopper.ts``):

1. ``seed = keccak256(signature)``, the signature being the shopper's EIP-191 ``personal_sign``
   of :data:`SEED_MESSAGE`. Ethereum keys sign deterministically (RFC 6979), so the same key —
   in the library, or in a browser wallet — always gives the same seed: after a reinstall the
   account page finds every record again. The signature never leaves the device.
2. the private key of a context is ``keccak256(seed ‖ utf8(context)) mod (n - 1) + 1``, ``n`` the
   order of secp256k1: always a valid key.

A derived address holds no coin and needs none: the till records the sale to it, a keeper
triggers compensation to it, a claim code and a consent are signatures anyone may submit, and
reviews and votes are ERC-2771 requests the shopper's address signs and a relayer sends
(:class:`Relay`). Nothing on chain then ties two of a shopper's addresses together; funding a
derived address from another of one's addresses would, and the library never does.

Finding one's records again: purchase addresses are numbered per retailer, so
:meth:`ShopperView.purchases` asks for the purchases of addresses 0, 1, 2, ... of each retailer
until :data:`GAP` addresses in a row have none (the BIP-44 "gap limit"), and
:meth:`ShopperView.next_purchase_address` gives the first unused one, to show at the till.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils.abi import function_abi_to_4byte_selector
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxParams

from o2ochain import inputs
from o2ochain._chain.artifacts import artifact
from o2ochain._chain.logs import get_logs
from o2ochain._chain.signers import MessageSigner, Signer, message_signature, typed_signature
from o2ochain._chain.tx import Sender, call_view, decode_web3_error
from o2ochain._chain.util import hex0x
from o2ochain.deployments import Deployment
from o2ochain.errors import InputError

#: What the shopper's key signs (EIP-191 personal message) to open its derived addresses.
SEED_MESSAGE = "o2ochain: open my shopping addresses (v1)"
#: Unused purchase addresses in a row after which a retailer's numbering is taken to end.
GAP = 20
#: Default gas cap of a relayed call (a review, an edit, a vote).
RELAYED_GAS = 1_000_000
#: Order of the secp256k1 group.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_FORWARD_REQUEST_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "gas", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint48"},
    {"name": "data", "type": "bytes"},
]


def derive_key(seed: bytes, context: str) -> bytes:
    """The private key of ``context`` under ``seed``: ``keccak256(seed ‖ context) mod (n-1) + 1``."""
    if len(seed) != 32:
        raise InputError(f"a shopper seed is 32 bytes, not {len(seed)}", field="seed")
    value = int.from_bytes(keccak(seed + context.encode("utf-8")), "big") % (SECP256K1_N - 1) + 1
    return value.to_bytes(32, "big")


class Shopper:
    """The derived addresses of one shopper (see the module docstring)."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise InputError(f"a shopper seed is 32 bytes, not {len(seed)}", field="seed")
        self._seed = seed

    @classmethod
    def from_account(cls, account: MessageSigner) -> Shopper:
        """The shopper of ``account`` (any signer of personal messages: a key, an ape account, a
        hardware wallet): its signature of :data:`SEED_MESSAGE`, hashed."""
        return cls.from_signature(message_signature(account, encode_defunct(text=SEED_MESSAGE)))

    @classmethod
    def from_signature(cls, signature: bytes) -> Shopper:
        """The shopper whose key signed :data:`SEED_MESSAGE` with ``signature`` (65 bytes)."""
        if len(signature) != 65:
            raise InputError(f"a signature is 65 bytes, not {len(signature)}", field="signature")
        return cls(keccak(signature))

    def account(self, context: str) -> LocalAccount:
        """The derived account of ``context``."""
        account: LocalAccount = Account.from_key(derive_key(self._seed, context))
        return account

    def purchase_account(self, retailer: int, index: int) -> LocalAccount:
        """The buyer address of the ``index``-th purchase (from 0) at ``retailer``."""
        if retailer <= 0 or index < 0:
            raise InputError(f"no purchase address {retailer}/{index}: retailers count from 1, purchases from 0", field="retailer")
        return self.account(f"purchase/{retailer}/{index}")

    def item_account(self, item: bytes) -> LocalAccount:
        """The owner address of ``item`` (its first-sale claim)."""
        if len(item) != 32:
            raise InputError(f"an item id is 32 bytes, not {len(item)}", field="item")
        return self.account(f"item/{hex0x(item)}")

    def consent_account(self, data_user: str) -> LocalAccount:
        """The consumer address of this shopper's consents to ``data_user``."""
        return self.account(f"consent/{inputs.address(data_user, 'data_user').lower()}")


@dataclass(frozen=True)
class ShopperPurchase:
    """One of a shopper's purchases: which address bought, at which retailer, the purchase id."""

    retailer: int
    index: int
    buyer: str
    purchase: bytes


class ShopperView:
    """What the chain holds of one shopper, found from its derived addresses."""

    def __init__(self, w3: Web3, deployment: Deployment, shopper: Shopper) -> None:
        self.w3 = w3
        self.shopper = shopper
        self.guarantee: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(deployment.address("PriceGuarantee")), abi=artifact("PriceGuarantee")["abi"]
        )
        self.from_block = deployment.contracts["PriceGuarantee"].block

    @cached_property
    def _recorded_topic(self) -> str:
        return str(self.guarantee.events.PurchaseRecorded().topic)

    def _buyers_with_purchases(self, addresses: Sequence[str]) -> dict[str, list[bytes]]:
        topics: list[Any] = [self._recorded_topic, None, ["0x" + "00" * 12 + a[2:].lower() for a in addresses]]
        found: dict[str, list[bytes]] = {a.lower(): [] for a in addresses}
        for log in get_logs(self.w3, address=self.guarantee.address, topics=topics, from_block=self.from_block):
            buyer = "0x" + bytes(log["topics"][2])[12:].hex()
            found.setdefault(buyer, []).append(bytes(log["topics"][1]))
        return found

    def retailers(self) -> list[int]:
        return list(range(1, int(call_view(self.guarantee.functions.retailerCount())) + 1))

    def purchases(self, retailers: Iterable[int] | None = None) -> list[ShopperPurchase]:
        """Every purchase recorded to one of this shopper's purchase addresses."""
        found: list[ShopperPurchase] = []
        for retailer in self.retailers() if retailers is None else retailers:
            start = 0
            while True:
                accounts = [self.shopper.purchase_account(retailer, start + i) for i in range(GAP)]
                hits = self._buyers_with_purchases([a.address for a in accounts])
                used = False
                for i, acct in enumerate(accounts):
                    for purchase in hits.get(acct.address.lower(), []):
                        used = True
                        found.append(ShopperPurchase(retailer, start + i, acct.address, purchase))
                if not used:
                    break
                start += GAP
        return found

    def next_purchase_address(self, retailer: int) -> str:
        """The first purchase address at ``retailer`` that no purchase was recorded to yet."""
        used = {p.index for p in self.purchases([retailer])}
        index = 0
        while index in used:
            index += 1
        return str(self.shopper.purchase_account(retailer, index).address)


class Relay:
    """Sends calls that derived addresses sign, through the ERC-2771 Forwarder, paying their gas.

    ``relayer`` is the account that pays (the gateway's, a store's, a keeper's): it appears on
    chain as the sender of everyone's requests, so it links nobody. The request is signed by the
    derived account (OpenZeppelin ``ForwardRequest``, domain "o2ochain Forwarder", version "1"),
    whose address the target contract sees as the caller.
    """

    def __init__(self, w3: Web3, deployment: Deployment, relayer: Signer | Sender, *, ttl: int = 3_600) -> None:
        self.w3 = w3
        self.sender = relayer if isinstance(relayer, Sender) else Sender(w3, relayer)
        self.forwarder: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(deployment.address("Forwarder")), abi=artifact("Forwarder")["abi"]
        )
        self.ttl = ttl
        self._nonces: dict[str, int] = {}

    def domain(self) -> dict[str, Any]:
        return {"name": "o2ochain Forwarder", "version": "1", "chainId": self.sender.chain_id, "verifyingContract": self.forwarder.address}

    def request(self, signer: Signer, fn: ContractFunction, *, gas: int = RELAYED_GAS) -> ContractFunction:
        """``forwarder.execute`` of ``fn`` signed by ``signer``, ready for :class:`Sender`.

        ``gas`` is the most the relayed call may use (its cap, signed with it): the relayer pays
        only what it uses. A derived address holds no coin, so the call is not estimated on its
        own; the relayer's :class:`Sender` estimates the whole ``execute``, which surfaces the
        target's refusal, decoded, before anything is sent.
        """
        to = Web3.to_checksum_address(fn.address)
        data = fn._encode_transaction_data()
        key = signer.address.lower()
        if key not in self._nonces:
            self._nonces[key] = int(call_view(self.forwarder.functions.nonces(signer.address)))
        nonce = self._nonces[key]
        self._nonces[key] = nonce + 1
        deadline = int(time.time()) + self.ttl
        latest = int(self.w3.eth.get_block("latest")["timestamp"])
        deadline = max(deadline, latest + self.ttl)  # a local chain's clock may run ahead
        message = {"from": signer.address, "to": to, "value": 0, "gas": gas, "nonce": nonce, "deadline": deadline, "data": data}
        signature = typed_signature(signer, self.domain(), {"ForwardRequest": _FORWARD_REQUEST_FIELDS}, message)
        return self.forwarder.functions.execute((signer.address, to, 0, gas, deadline, data, bytes(signature)))

    def check(self, signer: Signer, fn: ContractFunction) -> None:
        """Raise the target's decoded refusal of ``fn`` called by ``signer``, if it refuses.

        The forwarder reports a failed call only as ``FailedCall``; the same call made by the
        signer itself (``eth_call``, which needs no coin on a node) tells why. Where the node
        will not run a call from an account without coin (eth-tester charges calls the base
        fee), the check is skipped and the forwarder's ``FailedCall`` is what remains.
        """
        call: TxParams = {"from": signer.address, "to": Web3.to_checksum_address(fn.address), "data": fn._encode_transaction_data()}
        try:
            self.w3.eth.call(call)
        except Exception as exc:  # noqa: BLE001 - any refusal is decoded below; the rest is left to the forwarder
            decoded = decode_web3_error(exc)
            if decoded is not None:
                raise decoded from None

    def send(self, signer: Signer, fn: ContractFunction, *, label: str | None = None) -> Any:
        """Relay ``fn`` for ``signer`` and wait for the receipt (a refusal raises its decoded error)."""
        self.check(signer, fn)
        try:
            return self.sender.transact(self.request(signer, fn), label=label or "relayed call")
        except Exception:
            self._nonces.pop(signer.address.lower(), None)  # re-read the nonce next time
            raise


#: The calls a relay sends for anyone: each takes its authority from a signature it carries (or
#: pays a buyer), so the relayer spends only gas. By contract, the functions it may call.
RELAYABLE: dict[str, tuple[str, ...]] = {
    "Forwarder": ("execute",),
    "ProductRegistry": ("claimWithSignature",),
    "ConsentRegistry": ("grantWithSignature", "revokeWithSignature"),
    "PriceGuarantee": ("registerPurchase", "claimWithPrice", "claimWithQuote", "lodgeQuote"),
}


class RelayService:
    """What a relay endpoint (the page server's ``POST /relay``) does with ``{"to", "data"}``.

    Only the calls in :data:`RELAYABLE` are sent, each to the deployment's own contract: a call a
    consumer's signature authorises (an ERC-2771 request, a store's claim code, a consent), or
    one that pays a buyer. The relayer pays the gas and gains no power: whatever it relays, it
    could have sent as itself. A refused call is simulated first and raised, decoded, before
    anything is sent.
    """

    def __init__(self, w3: Web3, deployment: Deployment, relayer: Signer | Sender) -> None:
        self.w3 = w3
        self.sender = relayer if isinstance(relayer, Sender) else Sender(w3, relayer)
        self._allowed: dict[tuple[str, bytes], str] = {}
        for name, functions in RELAYABLE.items():
            if name not in deployment.contracts:
                continue
            address = deployment.address(name).lower()
            for entry in artifact(name)["abi"]:
                if entry["type"] == "function" and entry["name"] in functions:
                    self._allowed[(address, function_abi_to_4byte_selector(entry))] = f"{name}.{entry['name']}"

    def relay(self, request: dict[str, Any]) -> dict[str, str]:
        """Send one allowed call; returns ``{"txHash", "call"}`` once it is mined."""
        to, data = request.get("to"), request.get("data")
        to = inputs.address(to, "to")  # the contract called
        if not isinstance(data, str) or not data.startswith("0x") or len(data) < 10 or len(data) % 2:
            raise InputError("the relayed call needs its calldata as 0x-hex", field="data", value=str(data)[:80])
        try:
            calldata = bytes.fromhex(data[2:])
        except ValueError:
            raise InputError("the relayed calldata is not hex", field="data") from None
        call = self._allowed.get((to.lower(), calldata[:4]))
        if call is None:
            raise InputError("this relay sends only signed o2ochain calls (claims, consents, purchases, ERC-2771 requests)", field="data")
        # The call as the contract function it is, so web3 estimates and builds it like any other.
        contract = self.w3.eth.contract(address=Web3.to_checksum_address(to), abi=artifact(call.split(".")[0])["abi"])
        try:
            function, arguments = contract.decode_function_input(HexStr(data))
        except Exception:  # noqa: BLE001 - eth-abi's decoding errors: calldata that is not this function's
            raise InputError(f"the relayed calldata is not a {call} call", field="data") from None
        receipt = self.sender.transact(cast(ContractFunction, function(**arguments)), label=call)
        return {"txHash": "0x" + bytes(receipt["transactionHash"]).hex(), "call": call}
