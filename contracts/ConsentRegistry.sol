// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {CATEGORIES_KNOWN, ConsentView, DataUse, PURPOSES_KNOWN, Terms} from "./Types.sol";

/**
 * @dev Consent registry of o2ochain: see {IConsentRegistry} for what it does, who may do it and
 * the EIP-712 types. It has no admin and no constructor arguments: every record belongs to its
 * consumer. The EIP-712 domain is name "o2ochain ConsentRegistry", version "1", the chain id and
 * this contract's address (ERC-5267 `eip712Domain()` returns it).
 *
 * Storage. One word per (consumer, data user) pair, the consent record (layout in
 * {ConsentRecord}), and one word per (consumer, delegate), its validity. The notice hash, its
 * language and the data commitment are only logged: nothing checks them later.
 *
 * Gas. A grant writes the pair's word once (22,100 gas the first time, 2,900 + the cold read
 * after) and logs {ConsentGranted}; a signed one adds the EIP-712 hashing and one `ecrecover`
 * (3,000), and reads the delegate slot only when the signer is not the consumer. A revocation
 * rewrites the word (nonzero to nonzero). A data-use receipt reads the word once and logs
 * {DataUsed}: no storage write, since history lives in the logs.
 */
contract ConsentRegistry is IConsentRegistry, EIP712, ERC165 {
    /**
     * @dev A consent record; word bits: purposes 0..63, categories 64..127, expiry 128..167
     * (unix seconds, uint40), nonce 168..199 (uint32), revoked 200, grantedAt 208..247 (block
     * number, uint40); bits 201..207 and 248..255 are zero. A word is 0 only before the pair's
     * first grant or revocation.
     */
    struct ConsentRecord {
        uint64 purposes;
        uint64 categories;
        uint40 expiry;
        uint32 nonce;
        bool revoked;
        uint40 grantedAt;
    }

    /// @dev EIP-712 type of a signed grant.
    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(address consumer,address dataUser,uint64 purposes,uint64 categories,uint64 expiry,bytes32 notice,bytes8 language,bytes32 dataHash,uint64 nonce,uint64 deadline)"
    );
    /// @dev EIP-712 type of a signed revocation.
    bytes32 public constant REVOKE_TYPEHASH =
        keccak256("Revoke(address consumer,address dataUser,uint64 nonce,uint64 deadline)");

    /// @dev Bit positions and masks of a packed {ConsentRecord}.
    uint256 private constant CATEGORIES_SHIFT = 64;
    uint256 private constant EXPIRY_SHIFT = 128;
    uint256 private constant NONCE_SHIFT = 168;
    uint256 private constant REVOKED = 1 << 200;
    uint256 private constant GRANTED_AT_SHIFT = 208;
    uint256 private constant UINT40_MAX = (1 << 40) - 1;
    uint256 private constant UINT32_MAX = (1 << 32) - 1;

    /// @dev The consent records, packed (see {ConsentRecord}).
    mapping(address consumer => mapping(address dataUser => uint256 record)) private _consents;
    /// @dev Until when (unix seconds, exclusive) a delegate may act for a consumer; 0 = not a delegate.
    mapping(address consumer => mapping(address delegate => uint256 validUntil)) private _delegates;

    constructor() EIP712("o2ochain ConsentRegistry", "1") {}

    // --------------------------------------------------------------------------------------------
    // Delegates
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function addDelegate(address delegate, uint64 validUntil) external {
        if (delegate == address(0) || delegate == msg.sender) revert ConsentDelegateInvalid(delegate);
        if (validUntil <= block.timestamp) revert ConsentDelegateExpiryInvalid(validUntil, block.timestamp);
        _delegates[msg.sender][delegate] = validUntil;
        emit DelegateAdded(msg.sender, delegate, validUntil);
    }

    /// @inheritdoc IConsentRegistry
    function revokeDelegate(address delegate) external {
        if (_delegates[msg.sender][delegate] <= block.timestamp) revert ConsentDelegateUnknown(msg.sender, delegate);
        delete _delegates[msg.sender][delegate];
        emit DelegateRevoked(msg.sender, delegate);
    }

    // --------------------------------------------------------------------------------------------
    // Consent
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function grant(address dataUser, Terms calldata terms) external {
        if (dataUser != terms.dataUser) revert ConsentDataUserMismatch(dataUser, terms.dataUser);
        address consumer = terms.consumer;
        _checkCaller(consumer);
        _grant(terms, _consents[consumer][dataUser], msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function grantWithSignature(Terms calldata terms, uint64 nonce_, uint64 deadline, bytes calldata signature)
        external
    {
        _checkDeadline(deadline);
        address consumer = terms.consumer;
        address signer = _checkSigner(consumer, _grantDigest(terms, nonce_, deadline), signature);
        uint256 word = _consents[consumer][terms.dataUser];
        _checkNonce(consumer, terms.dataUser, nonce_, word);
        _grant(terms, word, signer);
    }

    /// @inheritdoc IConsentRegistry
    function revoke(address dataUser) external {
        _revoke(msg.sender, dataUser, msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function revokeFor(address consumer, address dataUser) external {
        _checkCaller(consumer);
        _revoke(consumer, dataUser, msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function revokeWithSignature(
        address consumer,
        address dataUser,
        uint64 nonce_,
        uint64 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        address signer = _checkSigner(consumer, _revokeDigest(consumer, dataUser, nonce_, deadline), signature);
        _checkNonce(consumer, dataUser, nonce_, _consents[consumer][dataUser]);
        _revoke(consumer, dataUser, signer);
    }

    // --------------------------------------------------------------------------------------------
    // Data-use receipts
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function recordUse(address consumer, uint8 purpose, uint8 category, bytes32 requestHash) external {
        _recordUse(consumer, purpose, category, requestHash);
    }

    /// @inheritdoc IConsentRegistry
    function recordUses(DataUse[] calldata uses) external {
        if (uses.length == 0) revert ConsentBatchEmpty();
        for (uint256 i; i < uses.length; ++i) {
            DataUse calldata u = uses[i];
            _recordUse(u.consumer, u.purpose, u.category, u.requestHash);
        }
    }

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function consent(address consumer, address dataUser) external view returns (ConsentView memory v) {
        uint256 word = _consents[consumer][dataUser];
        ConsentRecord memory r = _unpack(word);
        v.purposes = r.purposes;
        v.categories = r.categories;
        v.expiry = r.expiry;
        v.nonce = r.nonce;
        v.revoked = r.revoked;
        v.grantedAt = r.grantedAt;
        v.live = r.grantedAt != 0 && !r.revoked && r.expiry > block.timestamp;
    }

    /// @inheritdoc IConsentRegistry
    function isLive(address consumer, address dataUser, uint8 purpose, uint8 category) external view returns (bool) {
        return _useError(_consents[consumer][dataUser], purpose, category) == 0;
    }

    /// @inheritdoc IConsentRegistry
    function nonce(address consumer, address dataUser) external view returns (uint64) {
        return uint32(_consents[consumer][dataUser] >> NONCE_SHIFT);
    }

    /// @inheritdoc IConsentRegistry
    function delegateValidUntil(address consumer, address delegate) external view returns (uint64) {
        return uint64(_delegates[consumer][delegate]);
    }

    /// @inheritdoc IConsentRegistry
    function grantDigest(Terms calldata terms, uint64 nonce_, uint64 deadline) external view returns (bytes32) {
        return _grantDigest(terms, nonce_, deadline);
    }

    /// @inheritdoc IConsentRegistry
    function revokeDigest(address consumer, address dataUser, uint64 nonce_, uint64 deadline)
        external
        view
        returns (bytes32)
    {
        return _revokeDigest(consumer, dataUser, nonce_, deadline);
    }

    /// @inheritdoc IConsentRegistry
    function version() external pure returns (string memory) {
        return "0.1.0";
    }

    /// @dev ERC-165: IConsentRegistry and IERC165.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IConsentRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    // --------------------------------------------------------------------------------------------
    // Internal
    // --------------------------------------------------------------------------------------------

    /**
     * @dev Checks `t` and writes it as the pair's consent over the record `word`, incrementing the
     * nonce and clearing the revoked flag; emits {ConsentGranted} with `by`.
     */
    function _grant(Terms calldata t, uint256 word, address by) private {
        address dataUser = t.dataUser;
        uint64 purposes = t.purposes;
        uint64 categories = t.categories;
        uint64 expiry = t.expiry;
        if (dataUser == address(0)) revert ConsentDataUserInvalid(dataUser);
        if (purposes == 0 || purposes & ~PURPOSES_KNOWN != 0) revert ConsentPurposesInvalid(purposes);
        if (categories == 0 || categories & ~CATEGORIES_KNOWN != 0) revert ConsentCategoriesInvalid(categories);
        if (expiry <= block.timestamp || expiry > UINT40_MAX) revert ConsentExpiryInvalid(expiry, block.timestamp);
        uint32 next = _nextNonce(word);
        _consents[t.consumer][dataUser] = uint256(purposes) | (uint256(categories) << CATEGORIES_SHIFT)
            | (uint256(expiry) << EXPIRY_SHIFT) | (uint256(next) << NONCE_SHIFT)
            | (uint256(uint40(block.number)) << GRANTED_AT_SHIFT);
        emit ConsentGranted(
            t.consumer, dataUser, purposes, categories, expiry, t.notice, t.language, t.dataHash, next, by
        );
    }

    /// @dev Marks the consent of (`consumer`, `dataUser`) revoked and increments its nonce; emits
    /// {ConsentRevoked} with `by`. The terms and grant block stay, for the record.
    function _revoke(address consumer, address dataUser, address by) private {
        uint256 word = _consents[consumer][dataUser];
        uint32 next = _nextNonce(word);
        _consents[consumer][dataUser] =
            (word & ~(UINT32_MAX << NONCE_SHIFT)) | (uint256(next) << NONCE_SHIFT) | REVOKED;
        emit ConsentRevoked(consumer, dataUser, next, by);
    }

    /// @dev Checks the caller's consent to use `consumer`'s data and emits {DataUsed}.
    function _recordUse(address consumer, uint8 purpose, uint8 category, bytes32 requestHash) private {
        uint256 word = _consents[consumer][msg.sender];
        uint256 problem = _useError(word, purpose, category);
        if (problem != 0) _revertUse(problem, word, consumer, purpose, category);
        emit DataUsed(consumer, msg.sender, purpose, category, requestHash, uint32(word >> NONCE_SHIFT));
    }

    /**
     * @dev Why record `word` does not allow a use for `purpose` and `category`: 0 when it does,
     * 1 never granted, 2 revoked, 3 expired, 4 not covered.
     */
    function _useError(uint256 word, uint8 purpose, uint8 category) private view returns (uint256) {
        if (word >> GRANTED_AT_SHIFT == 0) return 1;
        if (word & REVOKED != 0) return 2;
        if (uint40(word >> EXPIRY_SHIFT) <= block.timestamp) return 3;
        // A bit number of 64 or more shifts the 64-bit mask to 0: not covered.
        if ((uint64(word) >> purpose) & (uint64(word >> CATEGORIES_SHIFT) >> category) & 1 == 0) return 4;
        return 0;
    }

    /// @dev Reverts with the error of {_useError} code `problem`.
    function _revertUse(uint256 problem, uint256 word, address consumer, uint8 purpose, uint8 category)
        private
        view
    {
        if (problem == 1) revert ConsentNotGranted(consumer, msg.sender, purpose, category);
        if (problem == 2) revert ConsentWithdrawn(consumer, msg.sender, purpose, category);
        if (problem == 3) revert ConsentExpired(consumer, msg.sender, purpose, category, uint40(word >> EXPIRY_SHIFT));
        revert ConsentNotCovered(consumer, msg.sender, purpose, category);
    }

    /// @dev The nonce of record `word` plus one. Reverts (panic) at 2^32 - 1 grants and
    /// revocations of one pair, rather than wrap and revive old signatures.
    function _nextNonce(uint256 word) private pure returns (uint32) {
        return uint32(word >> NONCE_SHIFT) + 1;
    }

    /// @dev Reverts with {ConsentNotAuthorised} unless the caller is `consumer` or its valid delegate.
    function _checkCaller(address consumer) private view {
        if (msg.sender != consumer && _delegates[consumer][msg.sender] <= block.timestamp) {
            revert ConsentNotAuthorised(consumer, msg.sender);
        }
    }

    /// @dev Reverts with {ConsentSignatureExpired} once `deadline` has passed.
    function _checkDeadline(uint64 deadline) private view {
        if (block.timestamp > deadline) revert ConsentSignatureExpired(deadline, block.timestamp);
    }

    /// @dev Reverts with {ConsentNonceInvalid} unless `nonce_` is the nonce of record `word`.
    function _checkNonce(address consumer, address dataUser, uint64 nonce_, uint256 word) private pure {
        uint64 expected = uint32(word >> NONCE_SHIFT);
        if (nonce_ != expected) revert ConsentNonceInvalid(consumer, dataUser, nonce_, expected);
    }

    /**
     * @dev Who signed `digest` for `consumer`: the consumer itself (an ECDSA key, or a contract
     * accepting by ERC-1271) or a delegate of it valid now; reverts with
     * {ConsentSignerNotAuthorised} otherwise. ERC-1271 is tried only when the ECDSA signer is
     * neither, so an EOA consumer never pays for it.
     */
    function _checkSigner(address consumer, bytes32 digest, bytes calldata signature)
        private
        view
        returns (address)
    {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError) {
            // `recovered` is never 0 without an error, so a zero `consumer` never matches.
            if (recovered == consumer) return consumer;
            if (_delegates[consumer][recovered] > block.timestamp) return recovered;
        }
        if (consumer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(consumer, digest, signature))
        {
            return consumer;
        }
        revert ConsentSignerNotAuthorised(consumer, recovered);
    }

    /// @dev EIP-712 digest of a `Grant`. `Terms` is a static struct whose eight fields are the
    /// type's first eight members in order, so `abi.encode` of it is their encoding.
    function _grantDigest(Terms calldata terms, uint64 nonce_, uint64 deadline) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(GRANT_TYPEHASH, terms, nonce_, deadline)));
    }

    /// @dev EIP-712 digest of a `Revoke`.
    function _revokeDigest(address consumer, address dataUser, uint64 nonce_, uint64 deadline)
        private
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(REVOKE_TYPEHASH, consumer, dataUser, nonce_, deadline)));
    }

    /// @dev A packed record (layout in {ConsentRecord}) as a struct.
    function _unpack(uint256 word) private pure returns (ConsentRecord memory r) {
        r.purposes = uint64(word);
        r.categories = uint64(word >> CATEGORIES_SHIFT);
        r.expiry = uint40(word >> EXPIRY_SHIFT);
        r.nonce = uint32(word >> NONCE_SHIFT);
        r.revoked = word & REVOKED != 0;
        r.grantedAt = uint40(word >> GRANTED_AT_SHIFT);
    }
}
