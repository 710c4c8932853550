"""``connect()``: the entry point of the library."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from o2ochain._chain.connection import Anvil, http_web3, tester_web3
from o2ochain._chain.index import IndexClient, LogSource, attach_index
from o2ochain._chain.signers import Signer
from o2ochain.deployments import Deployment, load_deployment
from o2ochain.deployments import deploy as _deploy
from o2ochain.errors import ChainError, ConfigError
from o2ochain.identity import BrandAdmin, Consumer, Identity, Registrant, RegistryAdmin, Seller
from o2ochain.trace import Actor, Trace, TraceAdmin

# Consent, the guarantee and the loop are imported where they are first used: a command that
# only verifies items or shows a history (most of what a shop's till or a shopper runs) should
# not pay for their imports (ECIES and more, about a fifth of a second).
if TYPE_CHECKING:
    from o2ochain.consent import ConsentReader, ConsumerConsent, DataUser, PrivateKeyLike
    from o2ochain.guarantee import Buyer, ChannelKey, GuaranteeReader, Keeper, RetailerAdmin
    from o2ochain.loop import CouponBookReader, CouponIssuer, MerchantDesk, ReviewBoardReader, Reviewer, Shop

__all__ = ["O2OChain", "connect"]


class O2OChain:
    """A connection to one chain and the o2ochain deployment on it.

    Role objects (``admin``, ``brand``, ``registrant``, ``seller``, ``consumer``, …) hold a
    :class:`~o2ochain.Signer`: an eth-account key, an ape account (:class:`~o2ochain.ApeSigner`),
    or a hardware wallet or KMS behind a class of one's own; the library never needs the key
    itself. ``identity`` reads without one. Use as a context manager to stop an Anvil it started.

    With an ``index`` (see :func:`connect`), every list and history is read from it, and only the
    blocks it has not indexed yet from the node.
    """

    def __init__(
        self,
        w3: Web3,
        *,
        deployment: Deployment | Path | str | None = None,
        anvil: Anvil | None = None,
        accounts: list[LocalAccount] | None = None,
        lazy: bool = True,
    ) -> None:
        self.w3 = w3
        self.anvil = anvil
        #: Funded accounts of a local chain (eth-tester or an Anvil we started); empty otherwise.
        self.accounts: list[LocalAccount] = list(accounts or [])
        self._deployment_source = deployment
        self._deployment: Deployment | None = deployment if isinstance(deployment, Deployment) else None
        self._identity: Identity | None = None
        self._trace: Trace | None = None
        self._consent: ConsentReader | None = None
        self._guarantee: GuaranteeReader | None = None
        self._reviews: ReviewBoardReader | None = None
        self._coupons: CouponBookReader | None = None
        #: Where review texts and merchant profiles are kept: ``content/`` in the folder of local
        #: files (``$O2O_STORE`` or ./.o2ochain), or ``$O2O_CONTENT`` where that is still set.
        self.content_path = Path(os.environ.get("O2O_CONTENT") or Path(os.environ.get("O2O_STORE", ".o2ochain")) / "content")
        self.store_path: Path | None = None
        self.chain_id = int(w3.eth.chain_id)
        #: Where lists and histories are read from before the node (None: the node alone).
        self.index: LogSource | None = None
        if not lazy:
            _ = self.deployment

    @property
    def deployment(self) -> Deployment:
        """The checked deployment manifest of this chain (ConfigError when there is none)."""
        if self._deployment is None:
            self._deployment = load_deployment(self.w3, self._deployment_source)
        return self._deployment

    def use(self, deployment: Deployment) -> None:
        """Switch to ``deployment`` (after deploying, say)."""
        self._deployment = load_deployment(self.w3, deployment)
        self._identity = None
        self._trace = None
        self._consent = None
        self._guarantee = None
        self._reviews = None
        self._coupons = None

    def deploy(self, account: Signer, *, admin: str | None = None, save_to: Path | str | None = None) -> Deployment:
        """Deploy every contract, use the new deployment, and save its manifest if asked."""
        deployment = _deploy(self.w3, account, admin=admin)
        if save_to is not None:
            path = deployment.save(save_to)
            deployment = Deployment(**{**deployment.__dict__, "path": path})
        self.use(deployment)
        return deployment

    @property
    def identity(self) -> Identity:
        if self._identity is None:
            self._identity = Identity(self.w3, self.deployment)
            if "TraceLedger" in self.deployment.contracts:
                self._identity.recall_check = lambda brand, subjects: self.trace.recalled(brand, subjects)  # noqa: PLW0108 - the ledger is opened on first use
        return self._identity

    @property
    def trace(self) -> Trace:
        """The traceability ledger and the local store of EPCIS events (``store_path``)."""
        if self._trace is None:
            from o2ochain.epcis import EventStore
            from o2ochain.trace import default_store

            self._trace = Trace(self.w3, self.deployment, self.identity, EventStore(self.store_path or default_store()))
        return self._trace

    def use_store(self, path: Path | str) -> None:
        """Keep imported EPCIS events under ``path`` (default: ``events/`` in ``$O2O_STORE`` or ./.o2ochain)."""
        self.store_path = Path(path)
        self._trace = None

    def actor(self, account: Signer) -> Actor:
        """A supply-chain actor (farm, plant, logistics, store) recording events."""
        return Actor(self.trace, account)

    def trace_admin(self, account: Signer, brand: int) -> TraceAdmin:
        """A brand admin authorising the brand's supply-chain actors."""
        return TraceAdmin(self.trace, account, brand)

    @property
    def consent(self) -> ConsentReader:
        """Consents and data-use receipts (read-only)."""
        from o2ochain.consent import ConsentReader

        if self._consent is None:
            self._consent = ConsentReader(self.w3, self.deployment)
        return self._consent

    def consumer_consent(self, account: Signer) -> ConsumerConsent:
        """A consumer granting, revoking and auditing the use of their data."""
        from o2ochain.consent import ConsumerConsent

        return ConsumerConsent(self.consent, account)

    def data_user(self, account: Signer, *, sealing_key: PrivateKeyLike | None = None) -> DataUser:
        """A retailer relaying signed consents, checking them and recording each use of data
        (and opening sealed data with ``sealing_key``, by default an eth-account signer's key)."""
        from o2ochain.consent import DataUser

        return DataUser(self.consent, account, sealing_key=sealing_key)

    @property
    def guarantee(self) -> GuaranteeReader:
        """The cross-channel price guarantee (read-only; the rule in :func:`o2ochain.guarantee.evaluate`)."""
        from o2ochain.guarantee import GuaranteeReader

        if self._guarantee is None:
            self._guarantee = GuaranteeReader(self.w3, self.deployment)
        return self._guarantee

    def retailer(self, account: Signer, retailer: int) -> RetailerAdmin:
        """A retailer's admin: channels and keys, policy, the compensation pool."""
        from o2ochain.guarantee import RetailerAdmin

        return RetailerAdmin(self.guarantee, account, retailer)

    def register_retailer(self, account: Signer, *, currency: str = "0x" + "00" * 20, uri: str = "") -> RetailerAdmin:
        """Register a new retailer (anyone may) pricing and paying in ``currency`` (native coin by default)."""
        from o2ochain.guarantee import RetailerAdmin

        return RetailerAdmin.register(self.guarantee, account, currency=currency, uri=uri)

    def channel(self, account: Signer) -> ChannelKey:
        """A channel's price-signing key: prices, quotes, sales, receipts."""
        from o2ochain.guarantee import ChannelKey

        return ChannelKey(self.guarantee, account)

    def buyer(self, account: Signer) -> Buyer:
        """A consumer: purchases, what is owed and why, claims."""
        from o2ochain.guarantee import Buyer

        return Buyer(self.guarantee, account)

    def keeper(self, account: Signer, **options: Any) -> Keeper:
        """The keeper that pays owed compensation automatically (see :class:`o2ochain.guarantee.Keeper`)."""
        from o2ochain.guarantee import Keeper

        return Keeper(self.guarantee, account, **options)

    def use_content(self, path: Path | str) -> None:
        """Keep review texts and merchant profiles under ``path``."""
        self.content_path = Path(path)
        self._reviews = None

    @property
    def reviews(self) -> ReviewBoardReader:
        """Verified-buyer reviews, replies and merchant profiles (read-only), ranked by usefulness."""
        from o2ochain.loop import ContentStore, ReviewBoardReader

        if self._reviews is None:
            self._reviews = ReviewBoardReader(self.w3, self.deployment, ContentStore(self.content_path))
        return self._reviews

    def reviewer(self, account: Signer) -> Reviewer:
        """A buyer writing, editing, voting on and reporting reviews."""
        from o2ochain.loop import Reviewer

        return Reviewer(self.reviews, account)

    def merchant_desk(self, account: Signer) -> MerchantDesk:
        """A merchant's profile (as the retailer's admin) and replies (as its key or admin)."""
        from o2ochain.loop import MerchantDesk

        return MerchantDesk(self.reviews, account)

    @property
    def coupons(self) -> CouponBookReader:
        """Coupon campaigns and their figures (read-only)."""
        from o2ochain.loop import CouponBookReader

        if self._coupons is None:
            self._coupons = CouponBookReader(self.w3, self.deployment, self.guarantee)
        return self._coupons

    def coupon_issuer(self, account: Signer) -> CouponIssuer:
        """A retailer's admin opening campaigns, or a merchant's key signing vouchers."""
        from o2ochain.loop import CouponIssuer

        return CouponIssuer(self.coupons, account)

    def shop(self, account: Signer) -> Shop:
        """A shop's till (a channel key) redeeming vouchers."""
        from o2ochain.loop import Shop

        return Shop(self.coupons, account)

    def admin(self, account: Signer) -> RegistryAdmin:
        return RegistryAdmin(self.identity, account)

    def brand(self, account: Signer, brand: int) -> BrandAdmin:
        return BrandAdmin(self.identity, account, brand)

    def registrant(self, account: Signer) -> Registrant:
        return Registrant(self.identity, account)

    def seller(self, account: Signer) -> Seller:
        return Seller(self.identity, account)

    def consumer(self, account: Signer) -> Consumer:
        return Consumer(self.identity, account)

    def use_index(self, index: str | LogSource | None, *, timeout: float = 30.0) -> None:
        """Read logs through ``index`` (an index URL, or any :class:`~o2ochain._chain.index.LogSource`;
        ``None``: the node alone). An :class:`~o2ochain._chain.index.IndexClient` is asked for its
        head first, so an index that does not answer, or does not index this chain, is refused
        here, naming it, rather than in the middle of a command."""
        source = IndexClient(index, timeout=timeout) if isinstance(index, str) else index
        if isinstance(source, IndexClient):
            source.head(self.chain_id)
        if isinstance(self.index, IndexClient) and self.index is not source:
            self.index.close()
        self.index = source
        attach_index(self.w3, source)

    def close(self) -> None:
        if isinstance(self.index, IndexClient):
            self.index.close()
        if self.anvil is not None:
            self.anvil.stop()
            self.anvil = None

    def __enter__(self) -> O2OChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    target: str = "tester",
    *,
    deployment: Deployment | Path | str | None = None,
    timeout: float = 30.0,
    anvil_options: dict[str, Any] | None = None,
    index: str | LogSource | None = None,
) -> O2OChain:
    """Connect to a chain.

    ``target`` is ``"tester"`` (in-process py-evm, the default for tests), ``"anvil"`` (start a
    local Anvil on a free port; stopped by :meth:`O2OChain.close`), or a JSON-RPC URL.
    ``deployment`` is a manifest, a file, or a directory of manifests (default: ``deployments/``).
    ``index`` is the URL of an o2ochain index (the Ponder app in ``indexer/``) or any
    :class:`~o2ochain._chain.index.LogSource` (an ``IndexClient`` with its own timeouts, say): lists and histories are then read from it (and
    the few blocks it has not indexed yet from the node), what matters still checked on chain.
    An index that does not answer is an error naming it, not a silent fall back to the node:
    on a public RPC the node alone takes minutes (or fails) where the index takes a second.
    """
    chain = _connect(target, deployment=deployment, timeout=timeout, anvil_options=anvil_options)
    if index is not None:
        try:
            chain.use_index(index, timeout=timeout)
        except BaseException:
            chain.close()
            raise
    return chain


def _connect(target: str, *, deployment: Deployment | Path | str | None, timeout: float, anvil_options: dict[str, Any] | None) -> O2OChain:
    if target == "tester":
        w3, accounts = tester_web3()
        return O2OChain(w3, deployment=deployment, accounts=accounts)
    if target == "anvil":
        node = Anvil(**(anvil_options or {})).start()
        from o2ochain._chain.connection import dev_accounts

        return O2OChain(http_web3(node.url, timeout=timeout), deployment=deployment, anvil=node, accounts=dev_accounts(node.accounts))
    if target.startswith(("http://", "https://")):
        w3 = http_web3(target, timeout=timeout)
        try:
            w3.eth.chain_id  # noqa: B018 - fail here, with the URL in the message
        except Exception as exc:
            raise ChainError(f"cannot reach a node at {target}: {_reason(exc)}") from exc
        return O2OChain(w3, deployment=deployment)
    raise ConfigError(f"unknown chain target {target!r}: use 'tester', 'anvil' or an http(s):// RPC URL")


def _reason(exc: BaseException) -> str:
    """The root cause of a connection failure, in a few words."""
    text = str(exc)
    for words in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if words in text:
            return words.lower()
    return text.splitlines()[0][:200] if text else type(exc).__name__
