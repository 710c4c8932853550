// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {
    ChannelId,
    ChannelKey,
    ChannelView,
    PolicyId,
    PolicyTerms,
    PolicyView,
    PriceView,
    Purchase,
    PurchaseId,
    Quote,
    Receipt,
    RetailerId,
    RetailerView,
    Sale
} from "../Types.sol";

/**
 * @dev Cross-channel price guarantee: when a retailer offers a product class (GTIN) on any of its
 * channels below what a consumer paid, by more than a tolerance, within the guarantee window, the
 * consumer is compensated from a pool the retailer funded. Anyone (a keeper) may trigger the
 * payout, which always goes to the buyer; the retailer's consent is not needed at claim time.
 *
 * Retailers and currency. Registration is permissionless ({registerRetailer}); retailers are
 * numbered from 1. A retailer prices and pays in ONE currency fixed at registration: address(0)
 * for the native coin, else an ERC-20 (a stablecoin), since only prices in one currency compare.
 * A retailer selling in two currencies registers twice. Amounts are the currency's base units.
 *
 * Roles (OpenZeppelin AccessControl). {retailerAdminRole}(r) =
 * `keccak256(abi.encode("o2ochain.guarantee.admin", uint32 r))` is granted to the registering
 * `admin` and is its own admin role, so a retailer's admins add and remove each other with the
 * plain `grantRole` / `revokeRole`; nobody holds `DEFAULT_ADMIN_ROLE`. A refused caller gets
 * `AccessControlUnauthorizedAccount(caller, role)`; an unknown retailer is reported first
 * ({GuaranteeRetailerUnknown}).
 *
 * Channels and keys. A channel (CHANNEL_*) belongs to one retailer; channels are numbered from 1
 * across retailers. Each has at most one live key, an EOA that publishes prices, ends them,
 * records sales and signs quotes, receipts and (CouponBook) vouchers. A key address serves once
 * ever ({channelKey} keeps its retailer, channel and life). {rotateChannelKey} revokes the old key
 * at `block.timestamp` and activates the new one at the same instant (or leaves the channel
 * without a key), giving the old key's receipts and vouchers a GRACE of at most MAX_KEY_GRACE.
 * What a key signed is judged NOW, by `channelKeyAccepts` (Types.sol): a message counts while its
 * key is live; after the revocation, only receipts and vouchers signed while the key was live,
 * and only within the grace; a rotation with no grace (a compromised key) refuses at once
 * everything the key signed that was not used. A quote therefore never counts past its key's
 * revocation, unless it was lodged on chain before ({lodgeQuote}).
 *
 * Policies. Per retailer a default policy (gtin 0) and optionally one per product class. Each
 * {setPolicy} creates a new immutable record (numbered from 1 across retailers); records of one
 * (retailer, gtin) scope chain back by `previous`. A record applies to purchases made from its
 * `since`: the time it was set, or POLICY_NOTICE later when its terms reduce the coverage in
 * effect for the scope when it was set (a shorter window, a larger tolerance, a lower cap, more
 * excluded price types), so a retailer cannot switch a class to "no guarantee" for a day's sales:
 * buyers see the reduction coming in {PolicySet}. A purchase made at t gets the class policy in
 * effect at t (the newest record of the scope with `since <= t`), else the default in effect at
 * t, else none (0), and keeps it. A record with `window == 0` means "no guarantee"; every other
 * record has a nonzero `maxPayout`, so every purchase's exposure is finite.
 *
 * The rule (exact integers). For a purchase of `quantity` at `unitPrice` and an offer at `price`:
 * `tolerance = max(toleranceAmount, unitPrice * toleranceBps / 10_000)`; the offer qualifies iff
 * `unitPrice > price` and `unitPrice - price > tolerance`; then
 * `total = min((unitPrice - price) * quantity, maxPayout, cover)`. A claim pays
 * `total - compensated` and is refused when `total <= compensated`
 * ({GuaranteeAlreadyCompensated}): a purchase is compensated once for the lowest qualifying price,
 * an early claim at a higher price never reduces the final amount, and the same evidence twice
 * pays nothing.
 *
 * Offers. A price a channel offers for a GTIN from `validFrom` until `validUntil` (exclusive) or
 * until it was ended (`endedAt`, exclusive). Evidence is a price published on chain by a live key
 * ({publishPrice}, `validFrom` = the block's timestamp; a new publication does not end the
 * previous one, the publisher ends it), an EIP-712 quote its key accepts now ({claimWithQuote}),
 * or a quote lodged on chain while its key accepted it ({lodgeQuote}: it then counts like a
 * published price that cannot be ended early). The retailer may declare a published price or a
 * lodged quote a price error within PRICE_ERROR_DECLARATION_PERIOD of its start
 * ({declarePriceError}); it is then of type PRICE_ERROR, which a policy may exclude; claims paid
 * before stay paid. An offer qualifies for a purchase when it is of the same retailer (any of its
 * channels, including the purchase's), the same GTIN, a type the purchase's policy does not
 * exclude, it has started, and it overlaps the window: `validFrom <= purchasedAt + window` and
 * `until > purchasedAt`, and it is not empty (`until > validFrom`: a quote lodged ahead and
 * declared a price error before its start was never on offer).
 *
 * Purchases. `PurchaseId = keccak256(abi.encode(receipt))`, the {Receipt} of the sale: retailer,
 * channel, buyer, GTIN, quantity, unit price, time and `receiptHash` (a hash of the till receipt
 * or order number, never personal data). A sale recorded by its channel ({recordPurchase}, at the
 * block's time) and a signed receipt of the same sale ({registerPurchase}) are one purchase when
 * they state the same sale; a key recording another buyer, price or time under the same receipt
 * hash makes another purchase, so a receipt handed to a buyer always registers as that buyer's.
 * Storage binds every field of {Purchase} by a 160-bit hash; a claim passes the whole struct
 * (from {PurchaseRecorded}).
 *
 * Why the pool holds (the retailer is the party this is written against: its admins and every
 * one of its channel keys may be hostile, and may record sales to accomplices at any price,
 * publish any price and claim):
 *
 * - COVER IS RESERVED. When a purchase is recorded under a policy with a window still open, the
 *   pool reserves its COVER: its exposure `min(maxPayout, (unitPrice - 1) * quantity)`, or what
 *   the pool's free funds (`balance - reserved`) allow when less. The cover is in the purchase
 *   ({PurchaseRecorded}) for the buyer to see; the pool's promised coverage is `reserved`
 *   ({retailer}). Claims are paid from the purchase's own cover only, so nothing recorded later,
 *   by anyone, can take what an earlier purchase was promised: what an honest buyer is owed for a
 *   purchase recorded before an attack is paid in full, and no later than anything the attack
 *   creates (next point). A purchase's unclaimed cover returns to the free funds once its claims
 *   close ({release}, by anyone).
 * - NOTHING LEAVES FASTER THAN A WITHDRAWAL. A withdrawal takes only free funds, and only
 *   WITHDRAWAL_DELAY after it was announced ({announceWithdrawal}). Compensation for a purchase is
 *   paid from `recordedAt + PAYOUT_DELAY` (= WITHDRAWAL_DELAY) on, and its cover came from the
 *   free funds at `recordedAt`: a sale the retailer records to itself and "compensates" moves the
 *   same free funds out no sooner than an announced withdrawal made at the same moment would.
 *   Claims are accepted from `recordedAt + PAYOUT_DELAY` until `purchasedAt + window +
 *   PAYOUT_DELAY` (inclusive), so a purchase recorded when it is made has its full window to be
 *   claimed in; a receipt registered late has what is left of it (one registered after its
 *   window closed gets no cover at all).
 *
 * Pool and payouts. Per retailer, in its currency; anyone funds it ({fund}). Invariants:
 * `paid + balance + withdrawn == funded`; `reserved <= balance`; `reserved` is the sum of the
 * purchases' unclaimed cover. A buyer is paid by ERC-20 transfer or by a native call with 50,000
 * gas; if that fails, the amount is credited to the buyer ({CreditAdded}), who pulls it with
 * {withdrawCredit}.
 *
 * EIP-712 (domain name "o2ochain PriceGuarantee", version "2", chain id, this contract):
 *
 *     Quote(uint32 retailer,uint32 channel,uint64 gtin,address currency,uint96 price,uint8 priceType,
 *           uint40 validFrom,uint40 validUntil,uint64 nonce)
 *     Receipt(uint32 retailer,uint32 channel,address buyer,uint64 gtin,uint32 quantity,uint96 unitPrice,
 *             uint40 purchasedAt,bytes32 receiptHash)
 *
 * (each on one line, without spaces).
 */
interface IPriceGuarantee {
    // --------------------------------------------------------------------------------------------
    // Errors
    // --------------------------------------------------------------------------------------------

    /// @notice `retailer` has not been registered.
    error GuaranteeRetailerUnknown(RetailerId retailer);
    /// @notice A retailer cannot be registered with the zero address as admin.
    error GuaranteeAdminInvalid(address admin);
    /// @notice `channel` has not been added.
    error GuaranteeChannelUnknown(ChannelId channel);
    /// @notice `kind` is not one of CHANNEL_* (1..4).
    error GuaranteeChannelKindInvalid(uint8 kind);
    /// @notice `key` is the zero address (a new channel needs a key) or has served a channel before.
    error GuaranteeKeyInvalid(address key);
    /// @notice A key rotation's grace of `grace` seconds is above the most allowed, `max`.
    error GuaranteeKeyGraceInvalid(uint32 grace, uint32 max);
    /// @notice `caller` is not a live channel key.
    error GuaranteeNotChannelKey(address caller);
    /// @notice A policy's `window` exceeds `max` (MAX_WINDOW).
    error GuaranteeWindowInvalid(uint32 window, uint32 max);
    /// @notice A policy's `toleranceBps` exceeds 10,000.
    error GuaranteeToleranceInvalid(uint16 toleranceBps);
    /// @notice A policy with a nonzero window has `maxPayout == 0`: every guarantee needs a cap.
    error GuaranteeMaxPayoutInvalid(uint96 maxPayout);
    /// @notice A policy's excluded price types `priceTypes` have bits outside PRICE_TYPES_KNOWN.
    error GuaranteePriceTypesInvalid(uint8 priceTypes);
    /// @notice `priceType` of a price or quote is not one of PRICE_* (0..4).
    error GuaranteePriceTypeInvalid(uint8 priceType);
    /// @notice An amount is zero where it must not be: a price, a unit price, a funding or a withdrawal.
    error GuaranteeAmountInvalid(uint256 amount);
    /// @notice A sale's `quantity` is zero.
    error GuaranteeQuantityInvalid(uint32 quantity);
    /// @notice A sale's buyer is the zero address.
    error GuaranteeBuyerInvalid(address buyer);
    /// @notice An offer ends (`validUntil`) no later than it starts (`validFrom`).
    error GuaranteeValidityInvalid(uint40 validFrom, uint40 validUntil);
    /// @notice `channel` already has a price of `gtin` from `validFrom` (published or lodged).
    error GuaranteePriceExists(ChannelId channel, uint64 gtin, uint40 validFrom);
    /// @notice `channel` has no price of `gtin` from `validFrom`.
    error GuaranteePriceUnknown(ChannelId channel, uint64 gtin, uint40 validFrom);
    /// @notice The price of `gtin` of `channel` from `validFrom` has ended, expired, or is a
    /// lodged quote, which its channel cannot end early.
    error GuaranteePriceNotLive(ChannelId channel, uint64 gtin, uint40 validFrom);
    /// @notice The price error declaration period of that price closed at `closedAt`.
    error GuaranteeDeclarationClosed(ChannelId channel, uint64 gtin, uint40 validFrom, uint256 closedAt);
    /// @notice `purchase` has already been recorded.
    error GuaranteePurchaseExists(PurchaseId purchase);
    /// @notice `purchase` has not been recorded.
    error GuaranteePurchaseUnknown(PurchaseId purchase);
    /// @notice The Purchase given for `purchase` differs from the one recorded.
    error GuaranteePurchaseMismatch(PurchaseId purchase);
    /// @notice A receipt's `purchasedAt` is after `now`.
    error GuaranteePurchaseInFuture(uint40 purchasedAt, uint256 now);
    /// @notice {recordPurchases} or {release} was called without purchases.
    error GuaranteeBatchEmpty();
    /// @notice `signer` (0 for a malformed signature) is not a key of `channel` whose signature
    /// of a message dated `at` counts now: it was not live then, or it has been revoked since.
    error GuaranteeSignerInvalid(ChannelId channel, address signer, uint40 at);
    /// @notice `purchase` has no cover: its policy `policy` is none or has a zero window, it was
    /// registered after its window had closed, its unit price is 1 (nothing can be offered
    /// below it), or the pool had no free funds when it was recorded.
    error GuaranteeNotCovered(PurchaseId purchase, PolicyId policy);
    /// @notice Compensation for `purchase` is paid from `claimableAt` (a day after it was
    /// recorded); it is `now`.
    error GuaranteeClaimTooEarly(PurchaseId purchase, uint256 claimableAt, uint256 now);
    /// @notice Claims for `purchase` closed at `closedAt` (inclusive); it is `now`.
    error GuaranteeWindowClosed(PurchaseId purchase, uint256 closedAt, uint256 now);
    /// @notice Claims for `purchase` are open until `closesAt`: its cover cannot be released yet.
    error GuaranteeCoverOpen(PurchaseId purchase, uint256 closesAt);
    /// @notice The offer is of retailer `given`, the purchase of retailer `expected`.
    error GuaranteeRetailerMismatch(RetailerId expected, RetailerId given);
    /// @notice The offer is for GTIN `given`, the purchase for `expected`.
    error GuaranteeProductMismatch(uint64 expected, uint64 given);
    /// @notice The quote is in currency `given`, the retailer's is `expected`.
    error GuaranteeCurrencyMismatch(address expected, address given);
    /// @notice The purchase's `policy` excludes offers of `priceType`.
    error GuaranteePriceTypeExcluded(PolicyId policy, uint8 priceType);
    /// @notice The offer [`offeredFrom`, `offeredUntil`) misses the window: it starts after
    /// `windowEnd` or ends at or before `windowStart` (the purchase time).
    error GuaranteeOfferOutsideWindow(uint40 offeredFrom, uint40 offeredUntil, uint40 windowStart, uint40 windowEnd);
    /// @notice The offer starts at `validFrom`, after `now`.
    error GuaranteeOfferNotStarted(uint40 validFrom, uint256 now);
    /// @notice The offer at `offered` is not below the price `paid` by more than `tolerance`.
    error GuaranteeWithinTolerance(uint96 paid, uint96 offered, uint256 tolerance);
    /// @notice `purchase` has been compensated `compensated` already, not less than the offer's `total`.
    error GuaranteeAlreadyCompensated(PurchaseId purchase, uint96 compensated, uint96 total);
    /// @notice {fund} was sent `sent` wei where `expected` was due (the amount, or 0 for an ERC-20 pool).
    error GuaranteeValueMismatch(uint256 expected, uint256 sent);
    /// @notice A withdrawal cannot be sent to `to`, the zero address (the coin would be burnt).
    error GuaranteeRecipientInvalid(address to);
    /// @notice `retailer` already has a withdrawal announced.
    error GuaranteeWithdrawalPending(RetailerId retailer);
    /// @notice `retailer` has no withdrawal announced.
    error GuaranteeNoWithdrawal(RetailerId retailer);
    /// @notice The withdrawal of `retailer` may be executed from `executableAt`; it is `now`.
    error GuaranteeWithdrawalTooEarly(RetailerId retailer, uint256 executableAt, uint256 now);
    /// @notice `account` has no credit in `currency`.
    error GuaranteeNothingToWithdraw(address account, address currency);
    /// @notice Sending `amount` to `to` failed.
    error GuaranteeTransferFailed(address to, uint256 amount);

    // --------------------------------------------------------------------------------------------
    // Events
    // --------------------------------------------------------------------------------------------

    /// @notice `retailer` was registered with first admin `admin`, pricing in `currency`
    /// (address(0): the native coin), described at `uri`.
    event RetailerRegistered(RetailerId indexed retailer, address indexed admin, address currency, string uri);
    /// @notice `retailer` added `channel` of `kind` (CHANNEL_*) named `name`, with key `key`.
    event ChannelAdded(RetailerId indexed retailer, ChannelId indexed channel, uint8 kind, address key, string name);
    /// @notice The key of `channel` changed from `previousKey` to `newKey` (0: no key), both at
    /// the block's timestamp; the receipts and vouchers `previousKey` signed while live count for
    /// `grace` more seconds (0: the key is treated as compromised).
    event ChannelKeyChanged(ChannelId indexed channel, address indexed previousKey, address indexed newKey, uint32 grace);
    /// @notice `retailer` set `policy` with `terms` for `gtin` (0: its default), replacing
    /// `previous` (0: none) for purchases made from `since` on.
    event PolicySet(
        RetailerId indexed retailer,
        uint64 indexed gtin,
        PolicyId indexed policy,
        PolicyTerms terms,
        PolicyId previous,
        uint40 since
    );
    /// @notice `channel` offers `gtin` at `price` of `priceType` from the block's timestamp
    /// (`validFrom`, kept out of the log for gas) until `validUntil`.
    event PricePublished(uint64 indexed gtin, ChannelId indexed channel, uint96 price, uint8 priceType, uint40 validUntil);
    /// @notice A quote of `channel` offering `gtin` at `price` of `priceType` from `validFrom`
    /// until `validUntil` was lodged on chain: it now counts like a published price.
    event QuoteLodged(
        uint64 indexed gtin,
        ChannelId indexed channel,
        uint96 price,
        uint8 priceType,
        uint40 validFrom,
        uint40 validUntil
    );
    /// @notice The price of `gtin` of `channel` from `validFrom` ended at `endedAt`;
    /// `priceError` when the retailer declared it a price error.
    event PriceEnded(ChannelId indexed channel, uint64 indexed gtin, uint40 validFrom, uint40 endedAt, bool priceError);
    /// @notice A sale was recorded: every field of the {Purchase} a claim must pass. `cover` is
    /// what the pool reserved for it; compensation is paid from `recordedAt + PAYOUT_DELAY`.
    event PurchaseRecorded(
        PurchaseId indexed purchase,
        address indexed buyer,
        uint64 indexed gtin,
        RetailerId retailer,
        ChannelId channel,
        uint32 quantity,
        uint96 unitPrice,
        uint40 purchasedAt,
        bytes32 receiptHash,
        PolicyId policy,
        uint96 cover,
        uint40 recordedAt
    );
    /**
     * @notice `purchase` was compensated for the offer of `offerChannel` at `offerPrice` from
     * `offerFrom` (`quote`: a signed quote, else a published price or lodged quote): its total is
     * now `compensated`, of which `amount` was paid to `buyer` now.
     */
    event CompensationPaid(
        PurchaseId indexed purchase,
        address indexed buyer,
        RetailerId indexed retailer,
        uint96 amount,
        uint96 compensated,
        ChannelId offerChannel,
        uint96 offerPrice,
        uint40 offerFrom,
        bool quote
    );
    /// @notice The claims of `purchase` closed with `amount` of its cover unclaimed, which
    /// returned to the free funds of `retailer`.
    event CoverReleased(PurchaseId indexed purchase, RetailerId indexed retailer, uint96 amount);
    /// @notice A payment of `amount` to `buyer` failed and was credited to them instead.
    event CreditAdded(address indexed buyer, address indexed currency, uint256 amount);
    /// @notice `buyer` withdrew their credit of `amount`.
    event CreditWithdrawn(address indexed buyer, address indexed currency, uint256 amount);
    /// @notice `from` funded the pool of `retailer` with `amount` (as received).
    event PoolFunded(RetailerId indexed retailer, address indexed from, uint256 amount);
    /// @notice `retailer` announced a withdrawal of `amount` to `to`, executable from `executableAt`.
    event WithdrawalAnnounced(RetailerId indexed retailer, uint256 amount, address to, uint40 executableAt);
    /// @notice `retailer` cancelled its announced withdrawal.
    event WithdrawalCancelled(RetailerId indexed retailer);
    /// @notice `retailer` withdrew `amount` from its pool to `to`.
    event WithdrawalExecuted(RetailerId indexed retailer, address to, uint256 amount);

    // --------------------------------------------------------------------------------------------
    // Retailers, channels and policies
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Registers a retailer pricing and paying in `currency` (address(0): the native coin,
     * else an ERC-20), with first admin `admin` and a description at `uri` (logged only).
     * @dev Anyone. Ids are sequential from 1. Grants {retailerAdminRole} to `admin` and makes it
     * its own admin role. Reverts with {GuaranteeAdminInvalid} for a zero admin. Emits
     * {RetailerRegistered} (and OpenZeppelin's `RoleAdminChanged`, `RoleGranted`).
     * @return retailer The new retailer's id.
     */
    function registerRetailer(address admin, address currency, string calldata uri)
        external
        returns (RetailerId retailer);

    /// @notice Role id of the admins of `retailer`:
    /// `keccak256(abi.encode("o2ochain.guarantee.admin", uint32 retailer))`.
    function retailerAdminRole(RetailerId retailer) external pure returns (bytes32);

    /**
     * @notice Adds a channel of `kind` (CHANNEL_*) named `name` (logged only) to `retailer`, with
     * key `key`, live from now.
     * @dev Only an admin of `retailer`. Reverts with {GuaranteeRetailerUnknown},
     * `AccessControlUnauthorizedAccount`, {GuaranteeChannelKindInvalid}, or {GuaranteeKeyInvalid}
     * for a zero key or one that served before. Emits {ChannelAdded}.
     * @return channel The new channel's id (sequential from 1 across retailers).
     */
    function addChannel(RetailerId retailer, uint8 kind, address key, string calldata name)
        external
        returns (ChannelId channel);

    /**
     * @notice Replaces the key of `channel` by `newKey` (address(0): no key) as of now. The old
     * key is revoked now: nothing it signs counts any more, but for the receipts and vouchers it
     * signed while live, which count for `grace` more seconds (at most MAX_KEY_GRACE). Give 0
     * when the old key may be in someone else's hands: everything it signed that was not used is
     * refused at once.
     * @dev Only an admin of the channel's retailer. Reverts with {GuaranteeChannelUnknown},
     * `AccessControlUnauthorizedAccount`, {GuaranteeKeyGraceInvalid}, or {GuaranteeKeyInvalid}
     * for a key that served before. Emits {ChannelKeyChanged}.
     */
    function rotateChannelKey(ChannelId channel, address newKey, uint32 grace) external;

    /**
     * @notice Sets the policy of `retailer` for product class `gtin` (0: its default) to `terms`,
     * for purchases made from now on, or from POLICY_NOTICE from now when `terms` reduce the
     * coverage in effect for that class now; earlier purchases keep theirs.
     * @dev Only an admin of `retailer`. Reverts with {GuaranteeRetailerUnknown},
     * `AccessControlUnauthorizedAccount`, {GuaranteeWindowInvalid} (above MAX_WINDOW),
     * {GuaranteeToleranceInvalid} (above 10,000 bps), {GuaranteeMaxPayoutInvalid} (0 with a
     * nonzero window), {GuaranteePriceTypesInvalid} (unknown bits). Emits {PolicySet} with the
     * record's `since`.
     * @return policy The new policy record's id (sequential from 1 across retailers).
     */
    function setPolicy(RetailerId retailer, uint64 gtin, PolicyTerms calldata terms)
        external
        returns (PolicyId policy);

    // --------------------------------------------------------------------------------------------
    // Prices
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Publishes that the caller's channel offers `gtin` at `price` of `priceType` from
     * now until `validUntil` (exclusive). Earlier prices of the channel stay as they are: end
     * them with {endPrice}.
     * @dev The caller is a live channel key ({GuaranteeNotChannelKey}). Reverts with
     * {GuaranteeAmountInvalid} for a zero price, {GuaranteePriceTypeInvalid},
     * {GuaranteeValidityInvalid} unless `validUntil` is after now, {GuaranteePriceExists} for a
     * second price of `gtin` by the channel from the same second. Emits {PricePublished}.
     */
    function publishPrice(uint64 gtin, uint96 price, uint8 priceType, uint40 validUntil) external;

    /**
     * @notice Ends now the price of `gtin` the caller's channel published at `validFrom`.
     * @dev The caller is a live key of that channel ({GuaranteeNotChannelKey}). Reverts with
     * {GuaranteePriceUnknown}, or {GuaranteePriceNotLive} when it has ended or expired, or is a
     * lodged quote. Emits {PriceEnded} with `priceError == false`.
     */
    function endPrice(uint64 gtin, uint40 validFrom) external;

    /**
     * @notice Declares the price of `gtin` that `channel` offers from `validFrom` (published or
     * lodged) a price error: its type becomes PRICE_ERROR and it ends now. Claims already paid
     * for it stay paid.
     * @dev Only an admin of the channel's retailer, while the price is live and at most
     * PRICE_ERROR_DECLARATION_PERIOD after `validFrom`. Reverts with {GuaranteeChannelUnknown},
     * `AccessControlUnauthorizedAccount`, {GuaranteePriceUnknown}, {GuaranteeDeclarationClosed},
     * {GuaranteePriceNotLive}, in that order. Emits {PriceEnded} with `priceError == true`.
     */
    function declarePriceError(ChannelId channel, uint64 gtin, uint40 validFrom) external;

    /**
     * @notice Lodges `quote`, signed by a key of its channel that accepts it now, on chain: from
     * then on it is evidence like a published price, whatever becomes of the key. Anyone may
     * lodge a quote (a keeper keeping a buyer's evidence).
     * @dev Reverts with {GuaranteeChannelUnknown}, {GuaranteeRetailerMismatch} (the channel is not
     * of `quote.retailer`), {GuaranteeCurrencyMismatch}, {GuaranteeAmountInvalid},
     * {GuaranteePriceTypeInvalid}, {GuaranteeValidityInvalid}, {GuaranteeSignerInvalid} (forged,
     * another chain or contract, a key not live at `validFrom` or not live now),
     * {GuaranteePriceExists} when the channel has a price of the GTIN from the same second.
     * Emits {QuoteLodged}.
     */
    function lodgeQuote(Quote calldata quote, bytes calldata signature) external;

    // --------------------------------------------------------------------------------------------
    // Purchases
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Records `sale` as made now on the caller's channel, under the policy in effect now
     * for its GTIN, reserving its cover from the pool's free funds.
     * @dev The caller is a live channel key ({GuaranteeNotChannelKey}). Reverts with
     * {GuaranteeBuyerInvalid}, {GuaranteeQuantityInvalid}, {GuaranteeAmountInvalid} (zero unit
     * price), {GuaranteePurchaseExists}. Emits {PurchaseRecorded}.
     * @return purchase The purchase's id.
     */
    function recordPurchase(Sale calldata sale) external returns (PurchaseId purchase);

    /**
     * @notice {recordPurchase} for each of `sales`, in order, all or nothing.
     * @dev {GuaranteeBatchEmpty} for an empty batch; the first refused sale reverts the batch.
     */
    function recordPurchases(Sale[] calldata sales) external;

    /**
     * @notice Registers the purchase of `receipt`, signed (EIP-712 `Receipt`) by a key of its
     * channel that accepts it now (live at `purchasedAt`, and live now or within its rotation's
     * grace), under the policy in effect at `purchasedAt`, reserving its cover from the pool's
     * free funds when its window is still open; anyone may submit it (the consumer, a keeper).
     * @dev Reverts with {GuaranteePurchaseInFuture}, {GuaranteeBuyerInvalid},
     * {GuaranteeQuantityInvalid}, {GuaranteeAmountInvalid}, {GuaranteeSignerInvalid},
     * {GuaranteeRetailerMismatch} when the channel is not of `receipt.retailer`,
     * {GuaranteePurchaseExists}. Emits {PurchaseRecorded}.
     * @return purchase The purchase's id.
     */
    function registerPurchase(Receipt calldata receipt, bytes calldata signature)
        external
        returns (PurchaseId purchase);

    // --------------------------------------------------------------------------------------------
    // Claims
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Compensates `purchase` for the price of its GTIN that `channel` offers from
     * `validFrom` (published or lodged); anyone may call, the buyer is paid.
     * @dev Checks, in order: the purchase ({GuaranteePurchaseUnknown},
     * {GuaranteePurchaseMismatch}), its cover and time ({GuaranteeNotCovered},
     * {GuaranteeClaimTooEarly}, {GuaranteeWindowClosed}), the offer ({GuaranteePriceUnknown},
     * {GuaranteeRetailerMismatch} for a channel of another retailer, {GuaranteePriceTypeExcluded},
     * {GuaranteeOfferOutsideWindow}, {GuaranteeOfferNotStarted}), the rule
     * ({GuaranteeWithinTolerance}, {GuaranteeAlreadyCompensated}). Emits {CompensationPaid}, and
     * {CreditAdded} when the payment fails.
     * @return paid What left the pool for the buyer (transferred or credited).
     */
    function claimWithPrice(Purchase calldata purchase, ChannelId channel, uint40 validFrom)
        external
        returns (uint256 paid);

    /**
     * @notice Compensates `purchase` for `quote`, signed (EIP-712 `Quote`) by a key of
     * `quote.channel` that accepts it now (live at `quote.validFrom` and live now); anyone may
     * call, the buyer is paid.
     * @dev As {claimWithPrice}, with these offer checks instead: {GuaranteeRetailerMismatch},
     * {GuaranteeProductMismatch}, {GuaranteeCurrencyMismatch}, {GuaranteeAmountInvalid} (zero
     * price), {GuaranteePriceTypeInvalid}, {GuaranteeValidityInvalid}, {GuaranteeSignerInvalid},
     * {GuaranteeRetailerMismatch} (a key of another retailer's channel), then
     * {GuaranteePriceTypeExcluded}, {GuaranteeOfferOutsideWindow}, {GuaranteeOfferNotStarted}.
     * The same quote may serve any number of purchases (it is evidence, not a voucher); for one
     * purchase it pays at most once ({GuaranteeAlreadyCompensated}).
     * @return paid What left the pool for the buyer (transferred or credited).
     */
    function claimWithQuote(Purchase calldata purchase, Quote calldata quote, bytes calldata signature)
        external
        returns (uint256 paid);

    /**
     * @notice Returns the unclaimed cover of each of `purchases`, whose claims have closed, to
     * the free funds of its retailer. Anyone may call (the retailer, to free its funds).
     * @dev Reverts with {GuaranteeBatchEmpty}, {GuaranteePurchaseUnknown},
     * {GuaranteePurchaseMismatch}; a purchase with no unclaimed cover left is skipped (whether its
     * claims are open or not); then {GuaranteeCoverOpen} while claims are open. Emits
     * {CoverReleased} per purchase released.
     * @return released The total returned to free funds, across retailers.
     */
    function release(Purchase[] calldata purchases) external returns (uint256 released);

    // --------------------------------------------------------------------------------------------
    // Pool
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Adds `amount` to the pool of `retailer`.
     * @dev Anyone. Native pool: send `amount` as value; ERC-20 pool: approve `amount` first and
     * send no value (the balance increase actually received is credited). Reverts with
     * {GuaranteeRetailerUnknown}, {GuaranteeAmountInvalid} (0), {GuaranteeValueMismatch}, or the
     * token's error. Emits {PoolFunded}.
     */
    function fund(RetailerId retailer, uint256 amount) external payable;

    /**
     * @notice Announces a withdrawal of up to `amount` from the free funds of `retailer`'s pool
     * to `to`, executable WITHDRAWAL_DELAY from now.
     * @dev Only an admin of `retailer`. Reverts with {GuaranteeRetailerUnknown},
     * `AccessControlUnauthorizedAccount`, {GuaranteeAmountInvalid} (0), {GuaranteeRecipientInvalid}
     * (the zero address), {GuaranteeWithdrawalPending}. Emits {WithdrawalAnnounced}. The amount is
     * not checked against the pool: execution sends what is free then, up to it.
     */
    function announceWithdrawal(RetailerId retailer, uint256 amount, address to) external;

    /**
     * @notice Cancels the announced withdrawal of `retailer`.
     * @dev Only an admin of `retailer`. Reverts with {GuaranteeRetailerUnknown},
     * `AccessControlUnauthorizedAccount`, {GuaranteeNoWithdrawal}. Emits {WithdrawalCancelled}.
     */
    function cancelWithdrawal(RetailerId retailer) external;

    /**
     * @notice Executes the announced withdrawal of `retailer`: sends the smaller of its amount
     * and the pool's free funds (never the cover reserved for purchases) to its recipient.
     * @dev Only an admin of `retailer`. Reverts with {GuaranteeRetailerUnknown},
     * `AccessControlUnauthorizedAccount`, {GuaranteeNoWithdrawal}, {GuaranteeWithdrawalTooEarly},
     * {GuaranteeTransferFailed}. Emits {WithdrawalExecuted}.
     */
    function executeWithdrawal(RetailerId retailer) external;

    /**
     * @notice Sends the caller their credit in `currency` (payments that failed earlier).
     * @dev Reverts with {GuaranteeNothingToWithdraw}, {GuaranteeTransferFailed} (the credit then
     * stays). Emits {CreditWithdrawn}.
     */
    function withdrawCredit(address currency) external;

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @notice The pool and settings of `retailer`; reverts with {GuaranteeRetailerUnknown}
    /// (zeros would read as a native-coin retailer).
    function retailer(RetailerId retailer) external view returns (RetailerView memory);

    /// @notice Number of retailers registered: the ids are 1..retailerCount.
    function retailerCount() external view returns (uint32);

    /// @notice The channel `channel`; `retailer == 0` when unknown.
    function channel(ChannelId channel) external view returns (ChannelView memory);

    /// @notice Number of channels added: the ids are 1..channelCount.
    function channelCount() external view returns (uint32);

    /// @notice What `key` serves and when; `retailer == 0` when it never served.
    function channelKey(address key) external view returns (ChannelKey memory);

    /// @notice The policy record `policy`; `retailer == 0` when unknown.
    function policy(PolicyId policy) external view returns (PolicyView memory);

    /// @notice Number of policy records: the ids are 1..policyCount.
    function policyCount() external view returns (uint32);

    /// @notice The policy a purchase of `gtin` from `retailer` made at `at` gets (0: none); for
    /// `gtin == 0`, the default policy in effect at `at`.
    function policyFor(RetailerId retailer, uint64 gtin, uint40 at) external view returns (PolicyId);

    /// @notice The price of `gtin` that `channel` offers from `validFrom`; `published == false` when none.
    function price(ChannelId channel, uint64 gtin, uint40 validFrom) external view returns (PriceView memory);

    /// @notice `keccak256(abi.encode(receipt))`: the id of the purchase `receipt` states.
    function purchaseId(Receipt calldata receipt) external pure returns (PurchaseId);

    /// @notice Whether `purchase` was recorded, and how much of its cover is neither claimed nor
    /// released (its compensation so far is `cover - unclaimed` until its cover is released).
    function purchaseState(PurchaseId purchase) external view returns (bool recorded, uint96 unclaimed);

    /**
     * @notice The low 160 bits of `keccak256(abi.encode(p))`, `p` the {Purchase} recorded as
     * `purchase`; 0 when `purchase` was not recorded.
     * @dev Lets another contract check a Purchase passed to it in calldata (as a claim does):
     * `uint160(uint256(keccak256(abi.encode(p)))) == purchaseDigest(id)` with a nonzero digest.
     */
    function purchaseDigest(PurchaseId purchase) external view returns (uint160 digest);

    /// @notice The credit of `buyer` in `currency` (see {withdrawCredit}).
    function credit(address buyer, address currency) external view returns (uint256);

    /// @notice The EIP-712 digest a channel key signs for `quote`.
    function quoteDigest(Quote calldata quote) external view returns (bytes32);

    /// @notice The EIP-712 digest a channel key signs for `receipt`.
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32);

    /// @notice Version of this contract, "2".
    function version() external pure returns (string memory);
}
