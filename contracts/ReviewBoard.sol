// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";

import {ChannelAccess} from "./ChannelAccess.sol";
import {IPriceGuarantee} from "./interfaces/IPriceGuarantee.sol";
import {IProductRegistry} from "./interfaces/IProductRegistry.sol";
import {IReviewBoard} from "./interfaces/IReviewBoard.sol";
import {
    BrandId,
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
    SUBJECT_PRODUCT,
    Ticket
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
 *   guarantee (a call to a cold account and a cold SLOAD there), hashes the Purchase given, reads
 *   the product's brand (copied from the registry the first time the board meets the GTIN: a
 *   product's brand never changes) and whether that brand authorised the seller, and writes the
 *   word; the rest is the {ReviewPosted} log;
 * - votes and reports add to a second word of counters ({_counters}) and set one flag word per
 *   (review, account);
 * - a merchant profile is two words ({ProfileRecord}); its uri is only logged.
 *
 * The only external calls are reads (`view`) of the two immutable contracts above, made during
 * the checks: nothing is called after state changes.
 *
 * Relayed calls (ERC-2771). Every function also takes calls relayed by the board's trusted
 * forwarder (OpenZeppelin's ERC2771Forwarder, deployed with it), which acts for the account that
 * signed the request: a buyer's review or vote from a one-purchase address that holds no coin is
 * sent, and paid for, by a relayer, so that no funding transfer ties the buyer's addresses
 * together. The acting account is `_msgSender()` throughout.
 */
contract ReviewBoard is IReviewBoard, ERC165, ERC2771Context {
    using ChannelAccess for IPriceGuarantee;

    /**
     * @dev A review; word bits: author 0..159, rating 160..163, subject 164..167, version
     * 168..175, merchant 176..207, gtin 208..255. Nonzero once posted (the author is not 0).
     * The product's GTIN is kept (a vote on a product review needs a ticket for the same
     * product); when it was posted is the block of its {ReviewPosted} log.
     */
    struct ReviewRecord {
        address author;
        uint8 rating;
        uint8 subject;
        uint8 version;
        ChannelId merchant;
        uint48 gtin;
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
    uint256 private constant SUBJECT_SHIFT = 164;
    uint256 private constant VERSION_SHIFT = 168;
    uint256 private constant MERCHANT_SHIFT = 176;
    uint256 private constant GTIN_SHIFT = 208;
    /// @dev Rating and version bits of a ReviewRecord, which an edit replaces.
    uint256 private constant EDIT_MASK = (uint256(0xf) << RATING_SHIFT) | (uint256(0xff) << VERSION_SHIFT);
    /// @dev Most versions a review has (an edit is a version).
    uint256 private constant MAX_VERSION = 255;
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
    /// @dev Whether a brand authorised a retailer to sell its products.
    mapping(BrandId brand => mapping(RetailerId retailer => bool)) private _authorised;
    /// @dev The brand of each product (GTIN) the board has met, as the registry has it.
    mapping(uint64 gtin => BrandId brand) private _productBrands;

    /// @param registry_ The product registry whose first-sale claims are tickets.
    /// @param guarantee_ The price guarantee whose purchases are tickets and channels merchants.
    /// @param forwarder The ERC-2771 forwarder whose relayed calls act for their signer.
    constructor(IProductRegistry registry_, IPriceGuarantee guarantee_, address forwarder)
        ERC2771Context(forwarder)
    {
        _registry = registry_;
        _guarantee = guarantee_;
    }

    // --------------------------------------------------------------------------------------------
    // Sellers and merchants
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IReviewBoard
    function setSellerAuthorised(BrandId brand, RetailerId retailer, bool authorised) external {
        address sender = _msgSender();
        bytes32 role = _registry.brandAdminRole(brand);
        if (BrandId.unwrap(brand) == 0 || !IAccessControl(address(_registry)).hasRole(role, sender)) {
            revert AccessControlUnauthorizedAccount(sender, role);
        }
        // Retailers are numbered as they register: authorising a number not yet taken would
        // authorise whoever registers next.
        uint32 id = RetailerId.unwrap(retailer);
        if (id == 0 || id > _guarantee.retailerCount()) revert IPriceGuarantee.GuaranteeRetailerUnknown(retailer);
        _authorised[brand][retailer] = authorised;
        emit SellerAuthorised(brand, retailer, authorised, sender);
    }

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
        _guarantee.checkRetailerAdmin(retailer, _msgSender());
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
        bytes32 ticket = _checkPurchase(purchase);
        // A product's reviews are its brand's authorised sellers' buyers'; a merchant's, its own.
        if (subject == SUBJECT_PRODUCT) _checkSeller(purchase.retailer, purchase.gtin);
        return _post(ticket, subject, rating, purchase.channel, purchase.gtin, contentHash, uri);
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
        address sender = _msgSender();
        if (address(uint160(word)) != sender) revert ReviewNotAuthor(review_, sender);
        _checkContent(rating, contentHash);
        uint256 version_ = uint256(uint8(word >> VERSION_SHIFT)) + 1; // in 256 bits: 255 + 1 must not wrap
        if (version_ > MAX_VERSION) revert ReviewVersionLimit(review_, uint16(MAX_VERSION));
        _reviews[review_] = (word & ~EDIT_MASK) | (uint256(rating) << RATING_SHIFT) | (version_ << VERSION_SHIFT);
        emit ReviewEdited(review_, uint16(version_), rating, contentHash, uri);
    }

    /// @inheritdoc IReviewBoard
    function reply(ReviewId review_, bytes32 contentHash, string calldata uri) external {
        ChannelId merchant = ChannelId.wrap(uint32(_record(review_) >> MERCHANT_SHIFT));
        if (ChannelId.unwrap(merchant) == 0) revert ReviewNoMerchant(review_);
        address sender = _msgSender();
        if (!_speaksFor(merchant, sender)) revert ReviewNotMerchant(review_, sender);
        if (contentHash == 0) revert ReviewContentMissing();
        emit ReviewReplied(review_, merchant, sender, contentHash, uri);
    }

    /// @inheritdoc IReviewBoard
    function vote(ReviewId review_, bool helpful, Ticket calldata ticket) external {
        address sender = _msgSender();
        uint256 word = _record(review_);
        if (address(uint160(word)) == sender) revert ReviewSelfVote(review_);
        _checkTicket(review_, word, ticket);
        if (_voted[review_][sender]) revert ReviewAlreadyVoted(review_, sender);
        _voted[review_][sender] = true;
        // Safe: one vote per address, so neither 64-bit count can reach 2^64.
        unchecked {
            _counters[review_] += helpful ? 1 : 1 << NOT_HELPFUL_SHIFT;
        }
        emit ReviewVoted(review_, sender, helpful);
    }

    /// @inheritdoc IReviewBoard
    function report(ReviewId review_, uint8 reason, Ticket calldata ticket) external {
        uint256 word = _record(review_);
        if (reason < REPORT_SPAM || reason > REPORT_OTHER) revert ReviewReasonInvalid(reason);
        _checkTicket(review_, word, ticket);
        address sender = _msgSender();
        if (_reported[review_][sender]) revert ReviewAlreadyReported(review_, sender);
        _reported[review_][sender] = true;
        // Safe: one report per address, so the 64-bit count cannot reach 2^64.
        unchecked {
            _counters[review_] += 1 << REPORTS_SHIFT;
        }
        emit ReviewReported(review_, sender, reason);
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
        v.rating = uint8(word >> RATING_SHIFT) & 0xf;
        v.version = uint8(word >> VERSION_SHIFT);
        v.subject = uint8(word >> SUBJECT_SHIFT) & 0xf;
        v.merchant = ChannelId.wrap(uint32(word >> MERCHANT_SHIFT));
        v.gtin = uint64(word >> GTIN_SHIFT);
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
    function isSellerAuthorised(BrandId brand, RetailerId retailer) external view returns (bool) {
        return _authorised[brand][retailer];
    }

    /// @inheritdoc IReviewBoard
    function counts(ReviewId review_, uint64 gtin) external view returns (bool) {
        uint256 word = _reviews[review_];
        if (word == 0) return false;
        ChannelId merchant = ChannelId.wrap(uint32(word >> MERCHANT_SHIFT));
        // A claimed item's review (no merchant) and a merchant review always count.
        if (ChannelId.unwrap(merchant) == 0 || (word >> SUBJECT_SHIFT) & 0xf == SUBJECT_MERCHANT) return true;
        BrandId brand = _productBrands[gtin];
        if (BrandId.unwrap(brand) == 0) brand = _registry.product(gtin).brand;
        return _authorised[brand][_guarantee.channel(merchant).retailer];
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
        address author = _msgSender();
        // A GTIN is below 10^14 < 2^48 (a product review's is a registered product's; a merchant
        // review keeps the low 48 bits of whatever was sold).
        _reviews[review_] = uint256(uint160(author)) | (uint256(rating) << RATING_SHIFT)
            | (uint256(subject) << SUBJECT_SHIFT) | (uint256(1) << VERSION_SHIFT)
            | (uint256(ChannelId.unwrap(merchant)) << MERCHANT_SHIFT) | (uint256(uint48(gtin)) << GTIN_SHIFT);
        bytes32 topic = ReviewPosted.selector;
        // emit ReviewPosted(review_, gtin, merchant, author, subject, rating, contentHash, uri,
        // ticket), encoded by hand: the event has more arguments than the stack can reach. The
        // data is abi.encode(author, subject, rating, contentHash, uri, ticket), built in free
        // memory (not allocated: nothing runs after the log). The parameters were range-checked
        // by the ABI decoder, so their upper bits are clean.
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, author)
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
        address sender = _msgSender();
        if (sender != buyer) revert ReviewNotBuyer(sender, buyer);
        IPriceGuarantee g = _guarantee;
        bytes4 selector = IPriceGuarantee.purchaseDigest.selector;
        bool known;
        // The Purchase's eleven words are hashed as they are in calldata (its abi.encode: words
        // with dirty upper bits hash differently from what the guarantee recorded, and the ABI
        // decoder refuses them on every other read); its first eight, its Receipt, are its id.
        // purchaseDigest(id) is called in scratch memory.
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, purchase, 0x160)
            id := keccak256(m, 0x100)
            let hash := and(keccak256(m, 0x160), 0xffffffffffffffffffffffffffffffffffffffff)
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

    /**
     * @dev Reverts with {ReviewSellerNotAuthorised} unless the brand of `gtin` authorised
     * `retailer` to sell it (an unregistered product has brand 0, which authorises nobody).
     */
    function _checkSeller(RetailerId retailer, uint64 gtin) private {
        BrandId brand = _productBrands[gtin];
        if (BrandId.unwrap(brand) == 0) {
            brand = _registry.product(gtin).brand;
            if (BrandId.unwrap(brand) != 0) _productBrands[gtin] = brand;
        }
        if (!_authorised[brand][retailer]) revert ReviewSellerNotAuthorised(retailer, brand, gtin);
    }

    /**
     * @dev Reverts unless `ticket` shows the caller bought what `review_` (word `word`) is about.
     * A product review: an item of the same product the caller claimed as first buyer
     * ({ReviewItemNotClaimed}, {ReviewNotBuyer}), or a purchase of the same product the caller is
     * the buyer of, recorded as given ({ReviewPurchaseUnknown}) by a retailer the product's brand
     * authorised ({ReviewSellerNotAuthorised}). A merchant review: a purchase of the caller's from
     * the merchant's retailer. Anything else: {ReviewTicketUnrelated}.
     */
    function _checkTicket(ReviewId review_, uint256 word, Ticket calldata ticket) private {
        uint64 gtin = uint64(word >> GTIN_SHIFT);
        bool merchantReview = (word >> SUBJECT_SHIFT) & 0xf == SUBJECT_MERCHANT;
        if (ItemId.unwrap(ticket.item) != 0) {
            if (merchantReview || _claimedGtin(ticket.item) != gtin) revert ReviewTicketUnrelated(review_);
            return;
        }
        _checkPurchase(ticket.purchase);
        if (merchantReview) {
            RetailerId retailer = _guarantee.channel(ChannelId.wrap(uint32(word >> MERCHANT_SHIFT))).retailer;
            if (ticket.purchase.retailer != retailer) revert ReviewTicketUnrelated(review_);
        } else {
            if (ticket.purchase.gtin != gtin) revert ReviewTicketUnrelated(review_);
            _checkSeller(ticket.purchase.retailer, gtin);
        }
    }

    /// @dev The GTIN of `item`, when the caller claimed it as its first buyer; reverts with
    /// {ReviewItemNotClaimed} or {ReviewNotBuyer} otherwise.
    function _claimedGtin(ItemId item) private view returns (uint64) {
        ItemView memory v = _registry.verify(item);
        address claimer = v.claimedBy;
        if (claimer == address(0)) revert ReviewItemNotClaimed(item);
        address sender = _msgSender();
        if (sender != claimer) revert ReviewNotBuyer(sender, claimer);
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
        (, ChannelId channel) = g.liveKey(account);
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
}
