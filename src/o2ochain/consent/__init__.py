"""Consumer data consent: the consumer's key, their consent, and every use of their data.

* :class:`ConsentReader` reads consents and data-use receipts (for anyone: a consumer's own
  dashboard, an auditor).
* :class:`ConsumerConsent` is the consumer's hand: grant and revoke, directly (paying gas) or by
  an EIP-712 signature the data user relays (paying nothing), and list every grant and every
  recorded use of their data.
* :class:`DataUser` is a retailer's hand: relay a signed grant or revoke, check that a live
  consent covers a purpose and category, record each use, and open the personal data a consumer
  sealed to its key.

Nothing personal reaches the chain: addresses, purpose and category codes, and hashes. The data
itself travels sealed (ECIES) to the data user's public key (:func:`seal`, :func:`open_sealed`),
committed on chain by a salted hash (:func:`commitment_of`); :data:`PURPOSES` and
:data:`CATEGORIES` mirror the contract's bit masks, and :func:`contains_plaintext` lets a test
prove that no personal value reached the chain. The canonical forms chosen, and why, are in
``consent/_privacy.py``.
"""

from __future__ import annotations

from o2ochain.consent._privacy import (
    ALGORITHM,
    CATEGORIES,
    CATEGORY_IRIS,
    ENVELOPE_VERSION,
    PURPOSE_IRIS,
    PURPOSES,
    SALT_BYTES,
    PrivateKeyLike,
    Sealed,
    address_of_public_key,
    canonical_record,
    category_index,
    category_mask,
    category_name,
    commitment_of,
    contains_plaintext,
    language_bytes8,
    language_from_bytes8,
    names_of_categories,
    names_of_purposes,
    normalize_public_key,
    notice_hash,
    open_sealed,
    public_key_of,
    purpose_index,
    purpose_mask,
    purpose_name,
    seal,
)
from o2ochain.consent._registry import ConsentReader, ConsentRecord, ConsumerConsent, DataUse, DataUser, SignedGrant, SignedRevoke
from o2ochain.errors import PrivacyError

__all__ = [
    "ALGORITHM",
    "CATEGORIES",
    "CATEGORY_IRIS",
    "ENVELOPE_VERSION",
    "PURPOSES",
    "PURPOSE_IRIS",
    "SALT_BYTES",
    "ConsentReader",
    "ConsentRecord",
    "ConsumerConsent",
    "DataUse",
    "DataUser",
    "PrivacyError",
    "PrivateKeyLike",
    "Sealed",
    "SignedGrant",
    "SignedRevoke",
    "address_of_public_key",
    "canonical_record",
    "category_index",
    "category_mask",
    "category_name",
    "commitment_of",
    "contains_plaintext",
    "language_bytes8",
    "language_from_bytes8",
    "names_of_categories",
    "names_of_purposes",
    "normalize_public_key",
    "notice_hash",
    "open_sealed",
    "public_key_of",
    "purpose_index",
    "purpose_mask",
    "purpose_name",
    "seal",
]
