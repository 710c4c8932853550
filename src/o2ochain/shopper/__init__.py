"""A shopper's many addresses from one key, so that one scanned item does not reveal a person.

:class:`Shopper` derives an address per purchase, per claimed item and per data user from the
shopper's key (the consumer page derives the same, ``frontend/src/wallet/shopper.ts``);
:class:`ShopperView` finds every purchase again from the key alone; :class:`Relay` and
:class:`RelayService` send what those coin-less addresses sign. The derivation and the reasons
for it are in ``shopper/_shopper.py``.
"""

from __future__ import annotations

from o2ochain.shopper._shopper import GAP, SEED_MESSAGE, Relay, RelayService, Shopper, ShopperPurchase, ShopperView, derive_key

__all__ = [
    "GAP",
    "SEED_MESSAGE",
    "Relay",
    "RelayService",
    "Shopper",
    "ShopperPurchase",
    "ShopperView",
    "derive_key",
]
