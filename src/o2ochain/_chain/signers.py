"""Signers: what the library asks of a key, so that the key can live anywhere.

The library never holds a private key. :class:`~o2ochain._chain.tx.Sender`,
:func:`~o2ochain.deployments.deploy` and every role object take a :class:`Signer`, which has

* ``address``: the account's checksummed address;
* ``sign_transaction(tx)``: a transaction as web3 builds it (a dict with ``chainId``, ``nonce``,
  ``gas``, EIP-1559 fees, ``to``, ``data``, ``value``; no ``to`` when it deploys a contract) →
  the signed transaction;
* ``sign_typed_data(domain, types, message)``: EIP-712 data (``types`` without ``EIP712Domain``)
  → the signature. Brands' claim codes, channels' quotes and receipts, coupon vouchers, consents
  and ERC-2771 forwarder requests are all signed this way.

eth-account's ``LocalAccount`` is a signer as it is (``dev:N``, ``env:VAR``, a decrypted keystore);
an ape account (a keyfile that asks for its passphrase, a hardware-wallet plugin, a test account)
becomes one through :class:`ApeSigner`; a hardware wallet or a cloud KMS through a small class of
one's own. A signer may return eth-account's result objects (``raw_transaction``, ``signature``)
or the bytes themselves. What a signer other than a ``LocalAccount`` returns is checked before it
is used: a transaction or signature that does not recover to ``address`` is refused with a
:class:`~o2ochain.errors.ConfigError`, so a misconfigured device never costs a transaction.

A shopper's addresses come from a personal-message (EIP-191) signature, so
:meth:`o2ochain.shopper.Shopper.from_account` asks for one more method, ``sign_message``
(:class:`MessageSigner`); ``LocalAccount`` and :class:`ApeSigner` have it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from o2ochain.errors import ConfigError


class SignedTransactionLike(Protocol):
    """A signed transaction as eth-account returns it: what the library reads of it."""

    @property
    def raw_transaction(self) -> bytes: ...


class SignedMessageLike(Protocol):
    """A signed message as eth-account returns it: what the library reads of it."""

    @property
    def signature(self) -> bytes: ...


@runtime_checkable
class Signer(Protocol):
    """An account that signs transactions and EIP-712 data without handing out its key."""

    @property
    def address(self) -> ChecksumAddress: ...

    def sign_transaction(self, transaction_dict: dict[str, Any], /) -> SignedTransactionLike | bytes:
        """The signed transaction (its raw bytes, or an object with ``raw_transaction``)."""
        ...

    def sign_typed_data(
        self, domain_data: dict[str, Any], message_types: dict[str, Any], message_data: dict[str, Any], /
    ) -> SignedMessageLike | bytes:
        """The 65-byte signature (r ‖ s ‖ v) of EIP-712 data, or an object with ``signature``."""
        ...


@runtime_checkable
class MessageSigner(Protocol):
    """An account that signs EIP-191 personal messages (what a shopper's seed is made of)."""

    @property
    def address(self) -> ChecksumAddress: ...

    def sign_message(self, signable_message: SignableMessage, /) -> SignedMessageLike | bytes:
        """The 65-byte signature of ``signable_message``, or an object with ``signature``."""
        ...


def signed_transaction(signer: Signer, transaction: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """``transaction`` signed by ``signer``: its raw bytes and its hash."""
    signed = signer.sign_transaction(dict(transaction))
    raw = bytes(signed) if isinstance(signed, bytes | bytearray) else bytes(signed.raw_transaction)
    if not isinstance(signer, LocalAccount):
        try:
            recovered = Account.recover_transaction(raw)
        except Exception as exc:  # noqa: BLE001 - whatever the signer returned, it is no signed transaction
            raise ConfigError(f"the signer of {signer.address} returned no valid signed transaction ({type(exc).__name__})") from None
        _check(signer, recovered, "a transaction")
    return raw, keccak(raw)


def typed_signature(signer: Signer, domain: Mapping[str, Any], types: Mapping[str, Any], message: Mapping[str, Any]) -> bytes:
    """The EIP-712 signature (65 bytes) of ``message`` by ``signer``."""
    message_types = {name: fields for name, fields in types.items() if name != "EIP712Domain"}
    signed = signer.sign_typed_data(dict(domain), message_types, dict(message))
    signature = _signature(signed)
    if not isinstance(signer, LocalAccount):
        signable = encode_typed_data(domain_data=dict(domain), message_types=message_types, message_data=dict(message))
        _check(signer, _recover(signable, signature), "an EIP-712 signature")
    return signature


def message_signature(signer: MessageSigner, signable: SignableMessage) -> bytes:
    """The signature (65 bytes) of the EIP-191 message ``signable`` by ``signer``."""
    signature = _signature(signer.sign_message(signable))
    if not isinstance(signer, LocalAccount):
        _check(signer, _recover(signable, signature), "a message signature")
    return signature


def _signature(signed: SignedMessageLike | bytes) -> bytes:
    return bytes(signed) if isinstance(signed, bytes | bytearray) else bytes(signed.signature)


def _recover(signable: SignableMessage, signature: bytes) -> str:
    if len(signature) != 65:
        return f"nobody (a signature is 65 bytes, this one {len(signature)})"
    try:
        return str(Account.recover_message(signable, signature=signature))
    except Exception:  # noqa: BLE001 - a malformed signature recovers to nobody
        return "nobody (the signature is malformed)"


def _check(signer: Signer | MessageSigner, recovered: str, what: str) -> None:
    expected = to_checksum_address(str(signer.address))
    if recovered != expected:
        raise ConfigError(f"the signer of {expected} returned {what} by {recovered}: check the device or key it uses")


class ApeSigner:
    """An ape account (``AccountAPI``: a keyfile, a hardware-wallet plugin, a test account) as a
    :class:`Signer`. The account signs; the key, wherever it is, stays with it.

    A keyfile account asks for its passphrase and for a confirmation of each signature unless
    it was unlocked with autosign (``account.set_autosign(True, passphrase=...)``); a refused
    signature is a :class:`~o2ochain.errors.ConfigError`. ape is imported by the caller, not here.
    """

    def __init__(self, account: Any) -> None:
        self.account = account

    def __repr__(self) -> str:
        return f"ApeSigner({self.account!r})"

    @property
    def address(self) -> ChecksumAddress:
        return to_checksum_address(str(self.account.address))

    @property
    def _name(self) -> str:
        return str(getattr(self.account, "alias", None) or self.address)

    def sign_transaction(self, transaction_dict: dict[str, Any], /) -> bytes:
        # No "to" at all for a contract creation: ape reads web3's empty one as the zero address.
        fields = {key: value for key, value in transaction_dict.items() if key != "from" and not (key == "to" and not value)}
        networks = self.account.network_manager
        provider = networks.active_provider
        ecosystem = provider.network.ecosystem if provider is not None else networks.ethereum
        signed = self.account.sign_transaction(ecosystem.create_transaction(**fields))
        if signed is None:
            raise ConfigError(f"ape account {self._name} did not sign the transaction")
        return bytes(signed.serialize_transaction())

    def sign_typed_data(self, domain_data: dict[str, Any], message_types: dict[str, Any], message_data: dict[str, Any], /) -> bytes:
        return self.sign_message(encode_typed_data(domain_data=domain_data, message_types=message_types, message_data=message_data))

    def sign_message(self, signable_message: SignableMessage, /) -> bytes:
        signature = self.account.sign_message(signable_message)
        if signature is None:
            raise ConfigError(f"ape account {self._name} did not sign the message")
        return bytes(signature.encode_rsv())
