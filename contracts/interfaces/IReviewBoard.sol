// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IPriceGuarantee} from "./IPriceGuarantee.sol";
import {IProductRegistry} from "./IProductRegistry.sol";
import {
    BrandId,
    ChannelId,
    ItemId,
    MerchantProfile,
    Purchase,
    PurchaseId,
    RetailerId,
    ReviewId,
    ReviewView,
    Ticket
} from "../Types.sol";

/**
 * @dev Verified-buyer reviews of products and merchants, merchant profiles and merchant replies:
 * the "information collection" and "online feedback" steps of the O2O loop. Only someone who
 * bought may review, once per purchase; only someone who bought may vote on and report a review;
 * nothing is ever deleted.
 *
 * Verified means a real purchase from a seller the brand recognises. Anyone may register as a
 * retailer in {IPriceGuarantee} and record "sales" of any GTIN to addresses of its own, so a
 * purchase alone proves nothing about a product. A brand's admin (in {IProductRegistry})
 * authorises the retailers that sell its products ({setSellerAuthorised}); a review of a PRODUCT
 * on a purchase is accepted only when the product's brand authorised the purchase's retailer,
 * and counts ({counts}) only while it still does (a brand withdrawing a seller's authorisation
 * withdraws its buyers' product reviews from every reader). A first-sale claim of an item (which
 * only the brand's sellers sign) is always a verified ticket. A review of a MERCHANT (one of a
 * retailer's channels) may rest on any purchase of that retailer: the retailer's own sales are
 * what a merchant review is about.
 *
 * Merchants. A MERCHANT is a channel of {IPriceGuarantee} (a store or an online shop of a
 * retailer). Its retailer's admins (holders of `guarantee.retailerAdminRole(retailer)`) publish
 * its profile ({setMerchantProfile}): a hash and uri of the profile document, its GS1 GLN and its
 * coordinates. A shop's location is public business data, not personal data.
 *
 * Tickets. A review is posted with a proof of buying, its TICKET:
 *
 * - a purchase recorded in {IPriceGuarantee}: the reviewer passes the whole {Purchase} (as logged
 *   by `PurchaseRecorded`), is its `buyer`, and the struct must hash to what the guarantee stored
 *   (`guarantee.purchaseDigest(id)`, id = `keccak256(abi.encode(receipt))`, the Purchase's first
 *   eight fields).
 *   The ticket is the PurchaseId; the review is of the product (its GTIN, SUBJECT_PRODUCT) or of
 *   the channel it was bought on (SUBJECT_MERCHANT), and names that channel as its merchant either
 *   way, so the merchant may reply to both;
 * - a first-sale claim in {IProductRegistry}: the reviewer is the item's `claimedBy`
 *   (`registry.verify(item)`). The ticket is the ItemId; the review is of the item's product
 *   (SUBJECT_PRODUCT) and has no merchant.
 *
 * One review per ticket and subject. `ReviewId = keccak256(abi.encode(bytes32 ticket, uint8
 * subject))` ({reviewIdOf}): a purchase gives at most one product review and one merchant review,
 * a claimed item one product review; a second is refused with {ReviewAlreadyPosted}. Whoever holds
 * the ticket (the buyer recorded by the till, the item's first owner) is the author; an address is
 * not an identity, but every review costs a purchase.
 *
 * Content. The text and photos live off chain: a review carries `contentHash`, the keccak256 of
 * its content document, and `uri`, where that document is. A rating is 1..5.
 *
 * Versions. Only the author edits ({editReview}); an edit is a new version (versions count from 1,
 * at most 255) with a new rating, hash and uri, logged by {ReviewEdited}. Storage keeps the latest
 * rating and the version number; every version stays in the logs, and its hash lets anyone check
 * a copy.
 *
 * Votes and reports. Someone who bought what the review is about, but the author, votes once per
 * review, helpful or not ({ReviewSelfVote}, {ReviewAlreadyVoted}), and reports once per review with
 * a reason (REPORT_*: 1 spam, 2 offensive, 3 off-topic, 4 fake, 5 other). The caller shows it
 * bought with a {Ticket}: for a product review, an item of the same product it claimed, or its
 * purchase of the same product from a seller the product's brand authorised; for a merchant
 * review, its purchase from the merchant's retailer ({ReviewTicketUnrelated} otherwise). Fresh
 * addresses hold no ticket, and a seller another brand authorised holds none for this product, so
 * neither can bury or fold a product's reviews. (A retailer can always record sales of its own, so
 * its own buyers' votes on reviews of its own shops are as good as its word.)
 *
 * Folding. A review is FOLDED when `reports >= 3 || notHelpful >= helpful + 3`: front ends show it
 * collapsed, behind a click. The flag is computed by the view {review} from the counters, never
 * stored, and it is not final: more helpful votes unfold it. Nothing is deleted: a folded review,
 * its versions, replies, votes and reports all stay on chain.
 *
 * Replies. A live key of the review's merchant channel or an admin of its retailer replies
 * ({reply}), any number of times; replies live in the logs ({ReviewReplied}). A review of a
 * claimed item has no merchant and takes no reply ({ReviewNoMerchant}).
 *
 * Storage. One new slot per review (author, rating, subject, version, merchant, GTIN), one for its
 * counters once voted on or reported, and one per vote and per report; everything else is in the
 * events, which carry every field a front end shows (the time a review was posted is its
 * {ReviewPosted} log's block).
 */
interface IReviewBoard {
    // --------------------------------------------------------------------------------------------
    // Errors
    // --------------------------------------------------------------------------------------------

    /// @notice `rating` is not 1..5.
    error ReviewRatingInvalid(uint8 rating);
    /// @notice `subject` is not SUBJECT_PRODUCT (1) or SUBJECT_MERCHANT (2).
    error ReviewSubjectInvalid(uint8 subject);
    /// @notice `account` is not the ticket's holder `buyer`: the purchase's buyer or the item's claimer.
    error ReviewNotBuyer(address account, address buyer);
    /// @notice The Purchase given for `purchase` was not recorded by the guarantee, or differs
    /// from the one recorded.
    error ReviewPurchaseUnknown(PurchaseId purchase);
    /// @notice `item` is unknown or has not been claimed by a first buyer.
    error ReviewItemNotClaimed(ItemId item);
    /// @notice The ticket was already used for `review`.
    error ReviewAlreadyPosted(ReviewId review);
    /// @notice `review` has not been posted.
    error ReviewUnknown(ReviewId review);
    /// @notice `account` is not the author of `review`.
    error ReviewNotAuthor(ReviewId review, address account);
    /// @notice `review` (of a claimed item) has no merchant to reply.
    error ReviewNoMerchant(ReviewId review);
    /// @notice `account` is neither a live key of the merchant channel of `review` nor an admin of
    /// its retailer.
    error ReviewNotMerchant(ReviewId review, address account);
    /// @notice The author of `review` cannot vote on it.
    error ReviewSelfVote(ReviewId review);
    /// @notice `account` has already voted on `review`.
    error ReviewAlreadyVoted(ReviewId review, address account);
    /// @notice `account` has already reported `review`.
    error ReviewAlreadyReported(ReviewId review, address account);
    /// @notice `reason` is not one of REPORT_* (1..5).
    error ReviewReasonInvalid(uint8 reason);
    /// @notice A review, an edit or a reply has a zero content hash.
    error ReviewContentMissing();
    /// @notice `merchant` is not a channel of the guarantee.
    error ReviewMerchantUnknown(ChannelId merchant);
    /// @notice `retailer` is not authorised by `brand`, the brand of product `gtin` (0: not a
    /// registered product), to sell it: its buyers' reviews of the product are not verified.
    error ReviewSellerNotAuthorised(RetailerId retailer, BrandId brand, uint64 gtin);
    /// @notice The ticket shown is not a purchase or claim of what `review` is about: the same
    /// product (a product review), or a purchase from the same retailer (a merchant review).
    error ReviewTicketUnrelated(ReviewId review);
    /// @notice `review` has `max` versions already: it cannot be edited again.
    error ReviewVersionLimit(ReviewId review, uint16 max);
    /// @notice OpenZeppelin's error (IAccessControl), raised when `account` lacks `neededRole`:
    /// here, the admin role of the merchant's retailer.
    error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);

    // --------------------------------------------------------------------------------------------
    // Events
    // --------------------------------------------------------------------------------------------

    /// @notice An admin of `retailer` set the profile of its channel `merchant`: the document
    /// hashed `profileHash` at `uri`, GLN `gln` and the shop's coordinates.
    event MerchantProfileSet(
        ChannelId indexed merchant,
        RetailerId indexed retailer,
        bytes32 profileHash,
        string uri,
        uint64 gln,
        int32 latitudeE6,
        int32 longitudeE6
    );
    /// @notice `author` posted `review` of `subject` with `rating`, content `contentHash` at `uri`,
    /// on `ticket` (a PurchaseId or an ItemId). `gtin` is the product bought (for a merchant review
    /// too, so a product's page finds what its buyers said of where they bought it); `merchant` is
    /// the purchase's channel, 0 for a review of a claimed item.
    event ReviewPosted(
        ReviewId indexed review,
        uint64 indexed gtin,
        ChannelId indexed merchant,
        address author,
        uint8 subject,
        uint8 rating,
        bytes32 contentHash,
        string uri,
        bytes32 ticket
    );
    /// @notice The author edited `review`: `version` (2 and up) has `rating` and content
    /// `contentHash` at `uri`.
    event ReviewEdited(ReviewId indexed review, uint16 version, uint8 rating, bytes32 contentHash, string uri);
    /// @notice `by`, for `merchant`, replied to `review` with content `contentHash` at `uri`.
    event ReviewReplied(ReviewId indexed review, ChannelId indexed merchant, address by, bytes32 contentHash, string uri);
    /// @notice `by`, an admin of `brand`, authorised `retailer` to sell the brand's products, or
    /// withdrew that authorisation (`authorised == false`).
    event SellerAuthorised(BrandId indexed brand, RetailerId indexed retailer, bool authorised, address by);
    /// @notice `voter` found `review` helpful or not.
    event ReviewVoted(ReviewId indexed review, address indexed voter, bool helpful);
    /// @notice `reporter` reported `review` for `reason` (REPORT_*).
    event ReviewReported(ReviewId indexed review, address indexed reporter, uint8 reason);

    // --------------------------------------------------------------------------------------------
    // Sellers and merchants
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Authorises `retailer` (of the guarantee) to sell the products of `brand`, or
     * withdraws that authorisation: only the buyers of authorised sellers review the brand's
     * products, and only their product reviews count.
     * @dev Only a holder of `registry.brandAdminRole(brand)` ({AccessControlUnauthorizedAccount};
     * brand 0 has no admin); `retailer` must be registered (`GuaranteeRetailerUnknown`, the
     * guarantee's error: authorising a number not yet taken would authorise whoever registers
     * next). Emits {SellerAuthorised}.
     */
    function setSellerAuthorised(BrandId brand, RetailerId retailer, bool authorised) external;

    /**
     * @notice Sets the public profile of channel `merchant`: `profileHash` (keccak256 of the
     * profile document) at `uri` (logged only), its GS1 GLN `gln` (0: none) and its WGS 84
     * coordinates in millionths of a degree. Replaces the previous profile.
     * @dev Only an admin of the channel's retailer. Reverts with {ReviewMerchantUnknown}, then
     * {AccessControlUnauthorizedAccount}. The fields are the retailer's to get right: nothing is
     * range-checked. Emits {MerchantProfileSet}.
     */
    function setMerchantProfile(
        ChannelId merchant,
        bytes32 profileHash,
        string calldata uri,
        uint64 gln,
        int32 latitudeE6,
        int32 longitudeE6
    ) external;

    // --------------------------------------------------------------------------------------------
    // Reviews
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Posts the caller's review of the product (`subject` SUBJECT_PRODUCT) or of the
     * merchant (SUBJECT_MERCHANT) of `purchase`, a purchase recorded by the guarantee, with
     * `rating` (1..5) and content `contentHash` at `uri`.
     * @dev Checks, in order: {ReviewSubjectInvalid}, {ReviewRatingInvalid}, {ReviewContentMissing},
     * {ReviewNotBuyer} (the caller is not `purchase.buyer`), {ReviewPurchaseUnknown} (not recorded,
     * or any field differs), for a product review {ReviewSellerNotAuthorised} (the product's brand
     * did not authorise the purchase's retailer), {ReviewAlreadyPosted}. The review's merchant is
     * `purchase.channel`.
     * Emits {ReviewPosted} with the purchase's GTIN and the PurchaseId as ticket.
     * @return review `reviewIdOf(purchaseId, subject)`.
     */
    function reviewPurchase(
        Purchase calldata purchase,
        uint8 subject,
        uint8 rating,
        bytes32 contentHash,
        string calldata uri
    ) external returns (ReviewId review);

    /**
     * @notice Posts the caller's review of the product of `item`, which the caller claimed as its
     * first buyer in the product registry, with `rating` (1..5) and content `contentHash` at `uri`.
     * @dev Checks, in order: {ReviewRatingInvalid}, {ReviewContentMissing},
     * {ReviewItemNotClaimed}, {ReviewNotBuyer} (the caller is not `claimedBy`),
     * {ReviewAlreadyPosted}. The item's status does not matter: the buyer of a recalled item may
     * review it. Emits {ReviewPosted} with the item's GTIN, merchant 0 and the ItemId as ticket.
     * @return review `reviewIdOf(item, SUBJECT_PRODUCT)`.
     */
    function reviewItem(ItemId item, uint8 rating, bytes32 contentHash, string calldata uri)
        external
        returns (ReviewId review);

    /**
     * @notice Replaces, as a new version, the rating and content of the caller's `review`.
     * @dev Only the author. Checks, in order: {ReviewUnknown}, {ReviewNotAuthor},
     * {ReviewRatingInvalid}, {ReviewContentMissing}, {ReviewVersionLimit} (255 versions). Emits
     * {ReviewEdited}.
     */
    function editReview(ReviewId review, uint8 rating, bytes32 contentHash, string calldata uri) external;

    /**
     * @notice Replies to `review` for its merchant, with content `contentHash` at `uri`.
     * @dev Only a key of the review's merchant channel live now, or an admin of that channel's
     * retailer. Checks, in order: {ReviewUnknown}, {ReviewNoMerchant}, {ReviewNotMerchant},
     * {ReviewContentMissing}. Any number of replies. Emits {ReviewReplied}.
     */
    function reply(ReviewId review, bytes32 contentHash, string calldata uri) external;

    /**
     * @notice Records the caller's vote on `review`: helpful or not. The caller shows with
     * `ticket` that it bought what the review is about (see "Votes and reports" above).
     * @dev A buyer of the reviewed product (or, for a merchant review, of the merchant's retailer)
     * but the author, once per review. Checks, in order: {ReviewUnknown}, {ReviewSelfVote}, the
     * ticket ({ReviewItemNotClaimed}, {ReviewNotBuyer}, {ReviewPurchaseUnknown},
     * {ReviewTicketUnrelated}, {ReviewSellerNotAuthorised}; on a merchant review an item ticket is
     * refused at once with {ReviewTicketUnrelated}, its claim unread), {ReviewAlreadyVoted}.
     * Emits {ReviewVoted}.
     */
    function vote(ReviewId review, bool helpful, Ticket calldata ticket) external;

    /**
     * @notice Reports `review` for `reason`: 1 spam, 2 offensive, 3 off-topic, 4 fake, 5 other.
     * The caller shows with `ticket` that it bought, as for {vote}.
     * @dev A buyer of what the review is about, once per review. Checks, in order:
     * {ReviewUnknown}, {ReviewReasonInvalid}, the ticket (as {vote}), {ReviewAlreadyReported}.
     * Emits {ReviewReported}.
     */
    function report(ReviewId review, uint8 reason, Ticket calldata ticket) external;

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @notice `review` with its counters and whether it is folded (see above); `posted == false`
    /// and zeros when unknown.
    function review(ReviewId review) external view returns (ReviewView memory);

    /// @notice The profile of `merchant`; `updatedAt == 0` and zeros when none was set.
    function merchantProfile(ChannelId merchant) external view returns (MerchantProfile memory);

    /// @notice `keccak256(abi.encode(ticket, subject))`: the id of the review of `subject` posted
    /// with `ticket` (a PurchaseId or an ItemId).
    function reviewIdOf(bytes32 ticket, uint8 subject) external pure returns (ReviewId);

    /// @notice Whether `brand` authorises `retailer` to sell its products.
    function isSellerAuthorised(BrandId brand, RetailerId retailer) external view returns (bool);

    /**
     * @notice Whether `review`, a review posted with product `gtin` (its {ReviewPosted} `gtin`),
     * counts as verified now: a claimed item's review or a merchant review always; a product
     * review on a purchase while the product's brand authorises the purchase's retailer.
     */
    function counts(ReviewId review, uint64 gtin) external view returns (bool);

    /// @notice Whether `account` has voted on `review`.
    function hasVoted(ReviewId review, address account) external view returns (bool);

    /// @notice The product registry whose first-sale claims are tickets.
    function registry() external view returns (IProductRegistry);

    /// @notice The price guarantee whose purchases are tickets and whose channels are merchants.
    function guarantee() external view returns (IPriceGuarantee);

    /// @notice Version of this contract, "1".
    function version() external pure returns (string memory);
}
