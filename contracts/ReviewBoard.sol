// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";

import {ChannelAccess} from "./ChannelAccess.sol";
import {IPriceGuarantee} from "./interfaces/IPriceGuarantee.sol";
import {IProductRegistry} from "./interfaces/IProductRegistry.sol";
import {IReviewBoard} from "./interfaces/IReviewBoard.sol";
import {
    ChannelId,
    FOLD_MARGIN,
    FOLD_REPORTS,
    ItemId,
    ItemView,
    MerchantProfile,
    Purchase,
    PurchaseId,
    REPORT_OTHER,
    REPORT_SPAM,
    RetailerId,
    ReviewId,
    ReviewView,
    SUBJECT_MERCHANT,
    SUBJECT_PRODUCT
} from "./Types.sol";

/**
 * @dev Review board of o2ochain: see {IReviewBoard} for tickets, versions, votes, folding and who
 * may do what. Deploy with the {IProductRegistry} whose first-sale claims and the
 * {IPriceGuarantee} whose purchases are tickets; it has no admin of its own: a retailer's admins
 * in the guarantee speak for its channels here.
 *
 * Storage, laid out for the gas of a post (the one frequent write):
 *
 * - a review is ONE new word ({ReviewRecord}): posting it reads the purchase's digest from the
 *   guarantee (a call to a cold account and a cold SLOAD there), hashes the Purchase given, and
 *   writes the word; the rest is the {ReviewPosted} log;
 * - votes and reports add to a second word of counters ({_counters}) and set one flag word per
 *   (review, account);
 * - a merchant profile is two words ({ProfileRecord}); its uri is only logged.
 *
 * The only external calls are reads (`view`) of the two immutable contracts above, made during
 * the checks: nothing is called after state changes.
 */
contract ReviewBoard is IReviewBoard, ERC165 {
    using ChannelAccess for IPriceGuarantee;

    /**
     * @dev A review; word bits: author 0..159, rating 160..167, version 168..183, subject
     * 184..191, merchant 192..223, postedAt 224..255. Nonzero once posted (the author is not 0).
     */
    struct ReviewRecord {
        address author;
        uint8 rating;
        uint16 version;
        uint8 subject;
        ChannelId merchant;
        uint32 postedAt;
    }

    /// @dev A merchant profile, two slots; `updatedAt == 0` when none was set.
    struct ProfileRecord {
        RetailerId retailer;
        uint64 gln;
        int32 latitudeE6;
        int32 longitudeE6;
        uint40 updatedAt;
        bytes32 profileHash;
    }

    // ReviewRecord
    uint256 private constant RATING_SHIFT = 160;
    uint256 private constant VERSION_SHIFT = 168;
    uint256 private constant SUBJECT_SHIFT = 184;
    uint256 private constant MERCHANT_SHIFT = 192;
    uint256 private constant POSTED_AT_SHIFT = 224;
    /// @dev Rating and version bits of a ReviewRecord, which an edit replaces.
    uint256 private constant EDIT_MASK = uint256(type(uint24).max) << RATING_SHIFT;
    // Counters: helpful 0..63, notHelpful 64..127, reports 128..191
    uint256 private constant NOT_HELPFUL_SHIFT = 64;
    uint256 private constant REPORTS_SHIFT = 128;

    /// @dev The product registry: item claims.
    IProductRegistry private immutable _registry;
    /// @dev The price guarantee: purchases, channels, keys and retailer admins.
    IPriceGuarantee private immutable _guarantee;

    mapping(ReviewId review => uint256 record) private _reviews; // packed ReviewRecord
    /// @dev Packed helpful, notHelpful and reports counts; 0 until the first vote or report.
    mapping(ReviewId review => uint256 counters) private _counters;
    mapping(ReviewId review => mapping(address account => bool)) private _voted;
    mapping(ReviewId review => mapping(address account => bool)) private _reported;
    mapping(ChannelId merchant => ProfileRecord) private _profiles;

    /// @param registry_ The product registry whose first-sale claims are tickets.
    /// @param guarantee_ The price guarantee whose purchases are tickets and channels merchants.
    constructor(IProductRegistry registry_, IPriceGuarantee guarantee_) {
        _registry = registry_;
        _guarantee = guarantee_;
    }

    // --------------------------------------------------------------------------------------------
    // Merchants
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IReviewBoard
    function setMerchantProfile(
        ChannelId merchant,
        bytes32 profileHash,
        string calldata uri,
        uint64 gln,
        int32 latitudeE6,
        int32 longitudeE6
    ) external {
        RetailerId retailer = _guarantee.channel(merchant).retailer;
        if (RetailerId.unwrap(retailer) == 0) revert ReviewMerchantUnknown(merchant);
        _guarantee.checkRetailerAdmin(retailer, msg.sender);
        _profiles[merchant] =
            ProfileRecord(retailer, gln, latitudeE6, longitudeE6, uint40(block.timestamp), profileHash);
        emit MerchantProfileSet(merchant, retailer, profileHash, uri, gln, latitudeE6, longitudeE6);
    }

    // --------------------------------------------------------------------------------------------
    // Reviews
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IReviewBoard
    function reviewPurchase(
        Purchase calldata purchase,
        uint8 subject,
        uint8 rating,
        bytes32 contentHash,
        string calldata uri
    ) external returns (ReviewId review_) {
        if (subject != SUBJECT_PRODUCT && subject != SUBJECT_MERCHANT) revert ReviewSubjectInvalid(subject);
        _checkContent(rating, contentHash);
        return _post(_checkPurchase(purchase), subject, rating, purchase.channel, purchase.gtin, contentHash, uri);
    }

    /// @inheritdoc IReviewBoard
    function reviewItem(ItemId item, uint8 rating, bytes32 contentHash, string calldata uri)
        external
        returns (ReviewId review_)
    {
        _checkContent(rating, contentHash);
        return _post(ItemId.unwrap(item), SUBJECT_PRODUCT, rating, ChannelId.wrap(0), _claimedGtin(item), contentHash, uri);
    }

    /// @inheritdoc IReviewBoard
    function editReview(ReviewId review_, uint8 rating, bytes32 contentHash, string calldata uri) external {
        uint256 word = _record(review_);
        if (address(uint160(word)) != msg.sender) revert ReviewNotAuthor(review_, msg.sender);
        _checkContent(rating, contentHash);
        // Checked: the 65,536th version overflows the 16-bit counter and panics.
        uint16 version_ = uint16(word >> VERSION_SHIFT) + 1;
        _reviews[review_] = (word & ~EDIT_MASK) | (uint256(rating) << RATING_SHIFT)
            | (uint256(version_) << VERSION_SHIFT);
        emit ReviewEdited(review_, version_, rating, contentHash, uri);
    }

    /// @inheritdoc IReviewBoard
    function reply(ReviewId review_, bytes32 contentHash, string calldata uri) external {
        ChannelId merchant = ChannelId.wrap(uint32(_record(review_) >> MERCHANT_SHIFT));
        if (ChannelId.unwrap(merchant) == 0) revert ReviewNoMerchant(review_);
        if (!_speaksFor(merchant, msg.sender)) revert ReviewNotMerchant(review_, msg.sender);
        if (contentHash == 0) revert ReviewContentMissing();
        emit ReviewReplied(review_, merchant, msg.sender, contentHash, uri);
    }

    /// @inheritdoc IReviewBoard
    function vote(ReviewId review_, bool helpful) external {
        if (address(uint160(_record(review_))) == msg.sender) revert ReviewSelfVote(review_);
        if (_voted[review_][msg.sender]) revert ReviewAlreadyVoted(review_, msg.sender);
        _voted[review_][msg.sender] = true;
        // Safe: one vote per address, so neither 64-bit count can reach 2^64.
        unchecked {
            _counters[review_] += helpful ? 1 : 1 << NOT_HELPFUL_SHIFT;
        }
        emit ReviewVoted(review_, msg.sender, helpful);
    }

    /// @inheritdoc IReviewBoard
    function report(ReviewId review_, uint8 reason) external {
        _record(review_);
        if (reason < REPORT_SPAM || reason > REPORT_OTHER) revert ReviewReasonInvalid(reason);
        if (_reported[review_][msg.sender]) revert ReviewAlreadyReported(review_, msg.sender);
        _reported[review_][msg.sender] = true;
        // Safe: one report per address, so the 64-bit count cannot reach 2^64.
        unchecked {
            _counters[review_] += 1 << REPORTS_SHIFT;
        }
        emit ReviewReported(review_, msg.sender, reason);
    }

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IReviewBoard
    function review(ReviewId review_) external view returns (ReviewView memory v) {
        uint256 word = _reviews[review_];
        uint256 counters = _counters[review_];
        v.posted = word != 0;
        v.author = address(uint160(word));
        v.rating = uint8(word >> RATING_SHIFT);
        v.version = uint16(word >> VERSION_SHIFT);
        v.subject = uint8(word >> SUBJECT_SHIFT);
        v.merchant = ChannelId.wrap(uint32(word >> MERCHANT_SHIFT));
        v.postedAt = uint32(word >> POSTED_AT_SHIFT);
        v.helpful = uint64(counters);
        v.notHelpful = uint64(counters >> NOT_HELPFUL_SHIFT);
        v.reports = uint64(counters >> REPORTS_SHIFT);
        // In 256 bits: `helpful + FOLD_MARGIN` cannot overflow.
        v.folded = v.reports >= FOLD_REPORTS || uint256(v.notHelpful) >= uint256(v.helpful) + FOLD_MARGIN;
    }

    /// @inheritdoc IReviewBoard
    function merchantProfile(ChannelId merchant) external view returns (MerchantProfile memory) {
        ProfileRecord storage p = _profiles[merchant];
        return MerchantProfile(p.retailer, p.profileHash, p.gln, p.latitudeE6, p.longitudeE6, p.updatedAt);
    }

    /// @inheritdoc IReviewBoard
    function reviewIdOf(bytes32 ticket, uint8 subject) external pure returns (ReviewId) {
        return _reviewId(ticket, subject);
    }

    /// @inheritdoc IReviewBoard
    function hasVoted(ReviewId review_, address account) external view returns (bool) {
        return _voted[review_][account];
    }

    /// @inheritdoc IReviewBoard
    function registry() external view returns (IProductRegistry) {
        return _registry;
    }

    /// @inheritdoc IReviewBoard
    function guarantee() external view returns (IPriceGuarantee) {
        return _guarantee;
    }

    /// @inheritdoc IReviewBoard
    function version() external pure returns (string memory) {
        return "1";
    }

    /// @dev ERC-165: IReviewBoard and IERC165.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IReviewBoard).interfaceId || super.supportsInterface(interfaceId);
    }

    // --------------------------------------------------------------------------------------------
    // Internal
    // --------------------------------------------------------------------------------------------

    /**
     * @dev Writes the caller's review of `subject` on `ticket`, version 1, with `rating` and
     * `merchant`, posted now, and emits {ReviewPosted}; reverts with {ReviewAlreadyPosted} when the
     * ticket was used for `subject` before.
     */
    function _post(
        bytes32 ticket,
        uint8 subject,
        uint8 rating,
        ChannelId merchant,
        uint64 gtin,
        bytes32 contentHash,
        string calldata uri
    ) private returns (ReviewId review_) {
        review_ = _reviewId(ticket, subject);
        if (_reviews[review_] != 0) revert ReviewAlreadyPosted(review_);
        _reviews[review_] = uint256(uint160(msg.sender)) | (uint256(rating) << RATING_SHIFT)
            | (uint256(1) << VERSION_SHIFT) | (uint256(subject) << SUBJECT_SHIFT)
            | (uint256(ChannelId.unwrap(merchant)) << MERCHANT_SHIFT)
            | (uint256(uint32(block.timestamp)) << POSTED_AT_SHIFT);
        bytes32 topic = ReviewPosted.selector;
        // emit ReviewPosted(review_, gtin, merchant, msg.sender, subject, rating, contentHash, uri,
        // ticket), encoded by hand: the event has more arguments than the stack can reach. The
        // data is abi.encode(author, subject, rating, contentHash, uri, ticket), built in free
        // memory (not allocated: nothing runs after the log). The parameters were range-checked
        // by the ABI decoder, so their upper bits are clean.
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, caller())
            mstore(add(m, 0x20), subject)
            mstore(add(m, 0x40), rating)
            mstore(add(m, 0x60), contentHash)
            mstore(add(m, 0x80), 0xc0) // offset of uri
            mstore(add(m, 0xa0), ticket)
            mstore(add(m, 0xc0), uri.length)
            // uri, zero padded to a multiple of 32 bytes
            let padded := and(add(uri.length, 31), not(31))
            mstore(add(m, add(0xc0, padded)), 0)
            calldatacopy(add(m, 0xe0), uri.offset, uri.length)
            log4(m, add(0xe0, padded), topic, review_, gtin, merchant)
        }
    }

    /**
     * @dev The id of `purchase`, when the caller is its buyer and the guarantee recorded it as
     * given; reverts with {ReviewNotBuyer} or {ReviewPurchaseUnknown} otherwise.
     */
    function _checkPurchase(Purchase calldata purchase) private view returns (bytes32 id) {
        address buyer = purchase.buyer;
        if (msg.sender != buyer) revert ReviewNotBuyer(msg.sender, buyer);
        id = PurchaseId.unwrap(_purchaseId(RetailerId.unwrap(purchase.retailer), purchase.receiptHash));
        IPriceGuarantee g = _guarantee;
        bytes4 selector = IPriceGuarantee.purchaseDigest.selector;
        bool known;
        // For the 60,000-gas target: the Purchase's nine words are hashed as they are in calldata
        // (its abi.encode: words with dirty upper bits hash differently from what the guarantee
        // recorded, and the ABI decoder refuses them on every other read), and purchaseDigest(id)
        // is called in scratch memory.
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, purchase, 0x120)
            let hash := and(keccak256(m, 0x120), 0xffffffffffffffffffffffffffffffffffffffff)
            mstore(0x00, selector)
            mstore(0x04, id)
            if iszero(staticcall(gas(), g, 0x00, 0x24, 0x00, 0x20)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            if lt(returndatasize(), 0x20) { revert(0, 0) }
            let digest := mload(0x00)
            known := and(iszero(iszero(digest)), eq(digest, hash))
        }
        if (!known) revert ReviewPurchaseUnknown(PurchaseId.wrap(id));
    }

    /// @dev The GTIN of `item`, when the caller claimed it as its first buyer; reverts with
    /// {ReviewItemNotClaimed} or {ReviewNotBuyer} otherwise.
    function _claimedGtin(ItemId item) private view returns (uint64) {
        ItemView memory v = _registry.verify(item);
        address claimer = v.claimedBy;
        if (claimer == address(0)) revert ReviewItemNotClaimed(item);
        if (msg.sender != claimer) revert ReviewNotBuyer(msg.sender, claimer);
        return v.gtin;
    }

    /// @dev The record of `review_`; reverts with {ReviewUnknown} when it was not posted.
    function _record(ReviewId review_) private view returns (uint256 word) {
        word = _reviews[review_];
        if (word == 0) revert ReviewUnknown(review_);
    }

    /// @dev Whether `account` is a key of channel `merchant` live now, or an admin of its retailer.
    function _speaksFor(ChannelId merchant, address account) private view returns (bool admin) {
        IPriceGuarantee g = _guarantee;
        (, ChannelId channel) = g.liveKey(account, block.timestamp);
        if (channel == merchant) return true;
        (admin,) = g.isRetailerAdmin(g.channel(merchant).retailer, account);
    }

    /// @dev Reverts with {ReviewRatingInvalid} unless `rating` is 1..5, {ReviewContentMissing} for
    /// a zero `contentHash`.
    function _checkContent(uint8 rating, bytes32 contentHash) private pure {
        if (rating == 0 || rating > 5) revert ReviewRatingInvalid(rating);
        if (contentHash == 0) revert ReviewContentMissing();
    }

    /// @dev `keccak256(abi.encode(ticket, subject))`, in scratch memory.
    function _reviewId(bytes32 ticket, uint8 subject) private pure returns (ReviewId id) {
        assembly ("memory-safe") {
            mstore(0x00, ticket)
            mstore(0x20, subject)
            id := keccak256(0x00, 0x40)
        }
    }

    /// @dev `keccak256(abi.encode(uint32 retailer, receiptHash))`: the guarantee's PurchaseId.
    function _purchaseId(uint256 retailer, bytes32 receiptHash) private pure returns (PurchaseId id) {
        assembly ("memory-safe") {
            mstore(0x00, retailer)
            mstore(0x20, receiptHash)
            id := keccak256(0x00, 0x40)
        }
    }
}
