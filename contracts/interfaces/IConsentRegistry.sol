// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ConsentView, DataUse, Terms} from "../Types.sol";

/**
 * @dev Consumer data consent: a consumer's consent to a data user (a retailer), per purpose, data
 * category and expiry, granted and revoked directly or by an EIP-712 signature that anyone relays;
 * and a receipt for each use of the consumer's data, refused unless a live consent covers it.
 *
 * Nothing personal is on chain: addresses, purpose and category codes (see PURPOSE_* and
 * CATEGORY_* in Types.sol) and hashes. The personal data itself travels off chain, encrypted to
 * the data user's key; its commitment may be logged with the grant (`Terms.dataHash`).
 *
 * Identity. A consumer is their address: nothing to register. Like ERC-1056, a consumer may name
 * delegates (a phone, a wallet app) until a time ({addDelegate}, {revokeDelegate}); a delegate
 * valid at the time (`block.timestamp < validUntil`) may grant and revoke for the consumer,
 * directly or by signature. A consumer that is a contract (a smart wallet) signs by ERC-1271.
 *
 * Consent. One record per (consumer, data user) pair. A grant replaces the previous terms; a
 * revocation keeps them, marked revoked. A consent is live while granted, not revoked and its
 * expiry after `block.timestamp`.
 *
 * Nonces. Each pair counts its grants and revocations: {nonce} is that count. A signed grant or
 * revocation must carry the current count (which it then increments), so it is used at most once
 * and is void after any later grant or revocation of the pair, signed or direct: a consumer
 * cancels a signed grant not yet relayed by revoking. A grant's {ConsentGranted} carries the
 * count after it (the consent's number), and every {DataUsed} under that consent carries the
 * same number. The EIP-712 domain (name "o2ochain ConsentRegistry", version "1", chain id,
 * this contract) keeps a signature to one chain and one contract.
 *
 * EIP-712 types:
 *
 *     Grant(address consumer,address dataUser,uint64 purposes,uint64 categories,uint64 expiry,
 *           bytes32 notice,bytes8 language,bytes32 dataHash,uint64 nonce,uint64 deadline)
 *     Revoke(address consumer,address dataUser,uint64 nonce,uint64 deadline)
 *
 * (each on one line, without spaces). A signature is refused after `deadline` (unix seconds).
 */
interface IConsentRegistry {
    // --------------------------------------------------------------------------------------------
    // Errors
    // --------------------------------------------------------------------------------------------

    /// @notice `caller` is neither `consumer` nor a delegate of `consumer` valid now.
    error ConsentNotAuthorised(address consumer, address caller);
    /// @notice The signature is neither `consumer`'s nor that of a delegate of `consumer` valid
    /// now; `signer` is the address recovered from it (0 when malformed), or the consumer contract
    /// that refused it by ERC-1271.
    error ConsentSignerNotAuthorised(address consumer, address signer);
    /// @notice A signature's `deadline` has passed (`now` is the block's timestamp).
    error ConsentSignatureExpired(uint64 deadline, uint256 now);
    /// @notice A signature for (`consumer`, `dataUser`) carries `nonce`, but the pair is at `expected`.
    error ConsentNonceInvalid(address consumer, address dataUser, uint64 nonce, uint64 expected);
    /// @notice {grant} names data user `dataUser` but its terms name `termsDataUser`.
    error ConsentDataUserMismatch(address dataUser, address termsDataUser);
    /// @notice A consent cannot be given to the zero address.
    error ConsentDataUserInvalid(address dataUser);
    /// @notice `purposes` is empty or has bits other than the known purposes (PURPOSES_KNOWN).
    error ConsentPurposesInvalid(uint64 purposes);
    /// @notice `categories` is empty or has bits other than the known categories (CATEGORIES_KNOWN).
    error ConsentCategoriesInvalid(uint64 categories);
    /// @notice `expiry` is not after `now`, or does not fit in 40 bits.
    error ConsentExpiryInvalid(uint64 expiry, uint256 now);
    /// @notice `delegate` is the zero address or the consumer itself.
    error ConsentDelegateInvalid(address delegate);
    /// @notice A delegate's `validUntil` is not after `now`.
    error ConsentDelegateExpiryInvalid(uint64 validUntil, uint256 now);
    /// @notice `delegate` is not a delegate of `consumer` valid now.
    error ConsentDelegateUnknown(address consumer, address delegate);
    /// @notice A use: `consumer` has never granted consent to `dataUser`.
    error ConsentNotGranted(address consumer, address dataUser, uint8 purpose, uint8 category);
    /// @notice A use: the consent of `consumer` to `dataUser` has been revoked (withdrawn).
    error ConsentWithdrawn(address consumer, address dataUser, uint8 purpose, uint8 category);
    /// @notice A use: the consent of `consumer` to `dataUser` expired at `expiry`.
    error ConsentExpired(address consumer, address dataUser, uint8 purpose, uint8 category, uint64 expiry);
    /// @notice A use: the live consent of `consumer` to `dataUser` does not cover `purpose` or `category`.
    error ConsentNotCovered(address consumer, address dataUser, uint8 purpose, uint8 category);
    /// @notice {recordUses} was called without uses.
    error ConsentBatchEmpty();

    // --------------------------------------------------------------------------------------------
    // Events
    // --------------------------------------------------------------------------------------------

    /// @notice `consumer` named `delegate` to act for them until `validUntil` (unix seconds,
    /// exclusive), replacing any earlier validity of the same delegate.
    event DelegateAdded(address indexed consumer, address indexed delegate, uint64 validUntil);
    /// @notice `consumer` withdrew `delegate`.
    event DelegateRevoked(address indexed consumer, address indexed delegate);
    /**
     * @notice `consumer` consented to `dataUser` using the `categories` of their data for the
     * `purposes` until `expiry`, after privacy notice `notice` in `language`, with `dataHash` the
     * commitment to the encrypted data handed over (0 when none). `nonce` is the pair's count
     * after this grant (the consent's number, see {DataUsed}); `by` is who authorised it: the
     * consumer or their delegate (the caller, or the signer of a relayed grant).
     */
    event ConsentGranted(
        address indexed consumer,
        address indexed dataUser,
        uint64 purposes,
        uint64 categories,
        uint64 expiry,
        bytes32 notice,
        bytes8 language,
        bytes32 dataHash,
        uint32 nonce,
        address by
    );
    /// @notice The consent of `consumer` to `dataUser` was revoked by `by` (the consumer or their
    /// delegate); `nonce` is the pair's count after this revocation.
    event ConsentRevoked(address indexed consumer, address indexed dataUser, uint32 nonce, address by);
    /// @notice `dataUser` used the `category` data of `consumer` for `purpose`, for the request
    /// hashed `requestHash`, under the consent numbered `consentNonce` (see {ConsentGranted}).
    event DataUsed(
        address indexed consumer,
        address indexed dataUser,
        uint8 purpose,
        uint8 category,
        bytes32 requestHash,
        uint32 consentNonce
    );

    // --------------------------------------------------------------------------------------------
    // Delegates
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Lets `delegate` grant and revoke for the caller until `validUntil` (unix seconds,
     * exclusive); calling again changes the validity.
     * @dev The caller is the consumer. Refuses the zero address or the caller itself
     * ({ConsentDelegateInvalid}) and a `validUntil` not after now ({ConsentDelegateExpiryInvalid}).
     * Emits {DelegateAdded}.
     */
    function addDelegate(address delegate, uint64 validUntil) external;

    /**
     * @notice Withdraws `delegate`'s right to act for the caller, at once.
     * @dev {ConsentDelegateUnknown} unless `delegate` is valid now. Emits {DelegateRevoked}.
     */
    function revokeDelegate(address delegate) external;

    // --------------------------------------------------------------------------------------------
    // Consent
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Grants consent on `terms` to `dataUser`, replacing any earlier terms of the pair.
     * @dev The caller is `terms.consumer` or a delegate of it valid now ({ConsentNotAuthorised});
     * `dataUser` must be `terms.dataUser` ({ConsentDataUserMismatch}). Terms are checked:
     * {ConsentDataUserInvalid}, {ConsentPurposesInvalid}, {ConsentCategoriesInvalid},
     * {ConsentExpiryInvalid}. Increments the pair's nonce. Emits {ConsentGranted} with `by` the caller.
     */
    function grant(address dataUser, Terms calldata terms) external;

    /**
     * @notice Grants consent on `terms` signed (EIP-712 `Grant`) by `terms.consumer` or a delegate
     * of it valid now; anyone relays it and pays the gas, so the consumer pays none.
     * @dev {ConsentSignatureExpired} after `deadline`; {ConsentSignerNotAuthorised} for any other
     * signer, a malformed signature, or a signature over another chain or contract;
     * {ConsentNonceInvalid} unless `nonce` is the pair's {nonce}. Terms are checked as by {grant}.
     * Emits {ConsentGranted} with `by` the signer (the consumer for an ERC-1271 wallet).
     */
    function grantWithSignature(Terms calldata terms, uint64 nonce, uint64 deadline, bytes calldata signature)
        external;

    /**
     * @notice Revokes the caller's consent to `dataUser`, at once.
     * @dev Always allowed: a pair never granted, already revoked or expired is (re)marked revoked,
     * and its nonce is incremented, which voids any signed grant not yet relayed. Emits
     * {ConsentRevoked} with `by` the caller.
     */
    function revoke(address dataUser) external;

    /**
     * @notice Revokes `consumer`'s consent to `dataUser`, for a delegate acting directly.
     * @dev The caller is `consumer` or a delegate of it valid now ({ConsentNotAuthorised});
     * otherwise as {revoke}.
     */
    function revokeFor(address consumer, address dataUser) external;

    /**
     * @notice Revokes `consumer`'s consent to `dataUser` as signed (EIP-712 `Revoke`) by `consumer`
     * or a delegate of it valid now; anyone relays it.
     * @dev {ConsentSignatureExpired}, {ConsentSignerNotAuthorised} and {ConsentNonceInvalid} as for
     * {grantWithSignature}; otherwise as {revoke}. Emits {ConsentRevoked} with `by` the signer.
     */
    function revokeWithSignature(
        address consumer,
        address dataUser,
        uint64 nonce,
        uint64 deadline,
        bytes calldata signature
    ) external;

    // --------------------------------------------------------------------------------------------
    // Data-use receipts
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Records that the caller, a data user, uses the `category` data of `consumer` for
     * `purpose`, for the request hashed `requestHash`.
     * @dev Refused unless the consent of `consumer` to the caller is live and covers both bits:
     * {ConsentNotGranted}, {ConsentWithdrawn}, {ConsentExpired}, {ConsentNotCovered}, checked in
     * that order. Emits {DataUsed}.
     */
    function recordUse(address consumer, uint8 purpose, uint8 category, bytes32 requestHash) external;

    /**
     * @notice {recordUse} for each of `uses`, in order, all or nothing.
     * @dev {ConsentBatchEmpty} for an empty batch; the first refused use reverts the whole batch.
     */
    function recordUses(DataUse[] calldata uses) external;

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @notice The consent of `consumer` to `dataUser`; `grantedAt == 0` when never granted.
    function consent(address consumer, address dataUser) external view returns (ConsentView memory);

    /// @notice Whether a live consent of `consumer` to `dataUser` covers `purpose` and `category`:
    /// exactly when {recordUse} by `dataUser` would be accepted now.
    function isLive(address consumer, address dataUser, uint8 purpose, uint8 category) external view returns (bool);

    /// @notice The nonce the next signed grant or revocation of (`consumer`, `dataUser`) must carry.
    function nonce(address consumer, address dataUser) external view returns (uint64);

    /// @notice Until when (unix seconds, exclusive) `delegate` may act for `consumer`; 0 when never
    /// named or revoked.
    function delegateValidUntil(address consumer, address delegate) external view returns (uint64);

    /// @notice The EIP-712 digest to sign for {grantWithSignature}.
    function grantDigest(Terms calldata terms, uint64 nonce, uint64 deadline) external view returns (bytes32);

    /// @notice The EIP-712 digest to sign for {revokeWithSignature}.
    function revokeDigest(address consumer, address dataUser, uint64 nonce, uint64 deadline)
        external
        view
        returns (bytes32);

    /// @notice Version of this contract, "0.1.0".
    function version() external pure returns (string memory);
}
