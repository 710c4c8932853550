// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IPriceGuarantee} from "./interfaces/IPriceGuarantee.sol";
import {
    CHANNEL_APP,
    CHANNEL_ONLINE_SHOP,
    ChannelId,
    ChannelKey,
    ChannelView,
    MAX_KEY_GRACE,
    MAX_WINDOW,
    PAYOUT_DELAY,
    POLICY_NOTICE,
    PRICE_ERROR,
    PRICE_ERROR_DECLARATION_PERIOD,
    PRICE_TYPES_KNOWN,
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
    Sale,
    WITHDRAWAL_DELAY,
    channelKeyAccepts
} from "./Types.sol";

/**
 * @dev Price guarantee of o2ochain: see {IPriceGuarantee} for what it does, who may do it, the
 * rule, why the pool holds against the retailer itself, and the EIP-712 types. No constructor
 * arguments and no central admin: retailers register themselves and administer their own role.
 * The EIP-712 domain is name "o2ochain PriceGuarantee", version "2", the chain id and this
 * contract's address (ERC-5267 `eip712Domain()` returns it).
 *
 * Why reservation and a payout delay, rather than a queue or a rate limit. The retailer's own keys
 * can always make a purchase look genuine (an accomplice, a high price, a low offer), so the
 * contract cannot tell a fake claim from a real one; it can only make sure a fake claim gains
 * nothing a withdrawal would not, and takes nothing an honest buyer was promised. Reserving each
 * purchase's cover when it is recorded does the second: an honest buyer's cover is set aside
 * before anything recorded later exists, and only that buyer's claims spend it (a FIFO queue of
 * unpaid compensation, as in version 1, let a fake claim recorded later sit ahead of honest
 * ones). Paying compensation only PAYOUT_DELAY (= WITHDRAWAL_DELAY) after a purchase is recorded
 * does the first: the cover of a fake purchase came from free funds, which an announced
 * withdrawal would have paid out after the same delay. A rate limit would bound the speed of the
 * drain but not who is paid first; vesting over the whole window would keep honest buyers
 * waiting for a month.
 *
 * Storage is laid out for the gas of the frequent writes, as packed `uint256` words, each with a
 * struct documenting it:
 *
 * - a published price (or lodged quote) is one new word ({PriceRecord}) keyed by
 *   `keccak256(abi.encode(channel, gtin, validFrom))`; it also carries the channel's retailer, so
 *   a claim need not read the channel. Publishing reads only the caller's key word ({KeyRecord}),
 *   which names its retailer and channel;
 * - a purchase is one new word ({PurchaseRecord}): a 160-bit hash of the whole {Purchase} and
 *   its unclaimed cover. Recording it reads the key word, the latest policy word of the class
 *   (and of the default when the class has none), which carries the window and cap the cover
 *   needs, and the retailer's pool word, which it updates with the cover reserved;
 * - a claim reads the purchase, its policy's terms (one word), the offer, and two words of the
 *   retailer's pool ({RetailerRecord}: currency; balance and reserved), writes the purchase and
 *   the pool word, and pays the buyer.
 *
 * Every function that moves money is `nonReentrant` and follows checks-effects-interactions: a
 * payment to a buyer is the last step, and its failure only credits the buyer (the failed call's
 * own effects are undone, and no money function can be entered meanwhile).
 */
contract PriceGuarantee is IPriceGuarantee, AccessControl, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /**
     * @dev A retailer's pool, three slots. `reserved <= balance` always; the free funds, which a
     * withdrawal or a new purchase's cover may take, are `balance - reserved`. What was paid
     * out is `funded - withdrawn - balance`.
     */
    struct RetailerRecord {
        // slot 0
        address currency;
        // slot 1
        uint128 balance;
        uint128 reserved;
        // slot 2
        uint128 funded;
        uint128 withdrawn;
    }

    /// @dev A retailer's announced withdrawal, two slots; `executableAt == 0` when none.
    struct Withdrawal {
        uint128 amount;
        uint40 executableAt;
        address to;
    }

    /// @dev A channel; word bits: retailer 0..31, kind 32..39, key 40..199. Nonzero once added.
    struct ChannelRecord {
        RetailerId retailer;
        uint8 kind;
        address key;
    }

    /// @dev A key; word bits: retailer 0..31, channel 32..63, activeFrom 64..103, revokedAt
    /// 104..143, grace 144..175. Nonzero once the key served. `revokedAt` is set to the block's
    /// timestamp, so a key is live now exactly when its word is nonzero and bits 104.. are zero.
    struct KeyRecord {
        RetailerId retailer;
        ChannelId channel;
        uint40 activeFrom;
        uint40 revokedAt;
        uint32 grace;
    }

    /// @dev A published price or lodged quote; word bits: price 0..95, priceType 96..103,
    /// validUntil 104..143, endedAt 144..183, retailer (of the channel) 184..215, lodged 216.
    /// Nonzero once published (price > 0).
    struct PriceRecord {
        uint96 price;
        uint8 priceType;
        uint40 validUntil;
        uint40 endedAt;
        RetailerId retailer;
        bool lodged;
    }

    /// @dev A policy record's scope and place; word bits: retailer 0..31, gtin 32..95, since
    /// 96..135, previous 136..167. Its terms are a second word (see `_terms`).
    struct PolicyRecord {
        RetailerId retailer;
        uint64 gtin;
        uint40 since;
        PolicyId previous;
    }

    /// @dev A purchase; word bits: low 160 bits of `keccak256(abi.encode(purchase))` 0..159,
    /// unclaimed cover 160..255. Nonzero once recorded (but for a 2^-160 chance).
    struct PurchaseRecord {
        uint160 hash;
        uint96 unclaimed;
    }

    /// @dev An offer as the rule sees it, from a published price or a quote.
    struct Offer {
        ChannelId channel;
        uint96 price;
        uint8 priceType;
        uint40 validFrom;
        /// End (exclusive): `endedAt` of an ended price, else `validUntil`.
        uint40 until;
        bool quote;
    }

    /// @dev EIP-712 type of a signed offer.
    bytes32 public constant QUOTE_TYPEHASH = keccak256(
        "Quote(uint32 retailer,uint32 channel,uint64 gtin,address currency,uint96 price,uint8 priceType,uint40 validFrom,uint40 validUntil,uint64 nonce)"
    );
    /// @dev EIP-712 type of a signed sale.
    bytes32 public constant RECEIPT_TYPEHASH = keccak256(
        "Receipt(uint32 retailer,uint32 channel,address buyer,uint64 gtin,uint32 quantity,uint96 unitPrice,uint40 purchasedAt,bytes32 receiptHash)"
    );
    /// @dev Gas given to a buyer's account with a native payment (a smart wallet may need some);
    /// if the call fails, the amount is credited instead.
    uint256 private constant PAYOUT_GAS = 50_000;

    // KeyRecord
    uint256 private constant KEY_CHANNEL_SHIFT = 32;
    uint256 private constant KEY_ACTIVE_FROM_SHIFT = 64;
    uint256 private constant KEY_REVOKED_AT_SHIFT = 104;
    uint256 private constant KEY_GRACE_SHIFT = 144;
    // ChannelRecord
    uint256 private constant CHANNEL_KIND_SHIFT = 32;
    uint256 private constant CHANNEL_KEY_SHIFT = 40;
    // PriceRecord
    uint256 private constant PRICE_TYPE_SHIFT = 96;
    uint256 private constant PRICE_VALID_UNTIL_SHIFT = 104;
    uint256 private constant PRICE_ENDED_AT_SHIFT = 144;
    uint256 private constant PRICE_RETAILER_SHIFT = 184;
    uint256 private constant PRICE_LODGED = 1 << 216;
    // PolicyRecord
    uint256 private constant POLICY_GTIN_SHIFT = 32;
    uint256 private constant POLICY_SINCE_SHIFT = 96;
    uint256 private constant POLICY_PREVIOUS_SHIFT = 136;
    // Policy terms (see _terms)
    uint256 private constant TERMS_BPS_SHIFT = 32;
    uint256 private constant TERMS_AMOUNT_SHIFT = 48;
    uint256 private constant TERMS_MAX_PAYOUT_SHIFT = 144;
    uint256 private constant TERMS_EXCLUDED_SHIFT = 240;
    // PurchaseRecord
    uint256 private constant PURCHASE_UNCLAIMED_SHIFT = 160;
    // The latest policy of a scope
    uint256 private constant LATEST_SINCE_SHIFT = 32;
    uint256 private constant LATEST_WINDOW_SHIFT = 72;
    uint256 private constant LATEST_MAX_PAYOUT_SHIFT = 104;
    /// @dev Size of a {Receipt} and of a {Purchase} in abi.encode: 8 and 11 words.
    uint256 private constant RECEIPT_SIZE = 0x100;
    uint256 private constant PURCHASE_SIZE = 0x160;

    mapping(RetailerId retailer => RetailerRecord) private _retailers;
    mapping(RetailerId retailer => Withdrawal) private _withdrawals;
    mapping(ChannelId channel => uint256 record) private _channels; // packed ChannelRecord
    mapping(address key => uint256 record) private _keys; // packed KeyRecord
    mapping(PolicyId policy => uint256 record) private _policies; // packed PolicyRecord
    /// @dev {PolicyTerms} packed; bits: window 0..31, toleranceBps 32..47, toleranceAmount 48..143,
    /// maxPayout 144..239, excludedPriceTypes 240..247. 0 for policy 0 (not covered).
    mapping(PolicyId policy => uint256 terms) private _terms;
    /// @dev The latest policy of each scope `retailer << 64 | gtin` (gtin 0: the default), with
    /// what recording a purchase needs of it, so that a sale reads one word: bits policy 0..31,
    /// since 32..71, window 72..103, maxPayout 104..199. 0 when the scope has none.
    mapping(uint256 scope => uint256 latest) private _latestPolicy;
    mapping(bytes32 offer => uint256 record) private _prices; // packed PriceRecord
    mapping(PurchaseId purchase => uint256 record) private _purchases; // packed PurchaseRecord
    mapping(address buyer => mapping(address currency => uint256)) private _credits;
    /// @dev The three counters share one slot.
    uint32 private _retailerCount;
    uint32 private _channelCount;
    uint32 private _policyCount;

    constructor() EIP712("o2ochain PriceGuarantee", "2") {}

    // --------------------------------------------------------------------------------------------
    // Retailers, channels and policies
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IPriceGuarantee
    function registerRetailer(address admin, address currency, string calldata uri)
        external
        returns (RetailerId retailer_)
    {
        if (admin == address(0)) revert GuaranteeAdminInvalid(admin);
        retailer_ = RetailerId.wrap(++_retailerCount);
        _retailers[retailer_].currency = currency;
        bytes32 role = retailerAdminRole(retailer_);
        _setRoleAdmin(role, role);
        _grantRole(role, admin);
        emit RetailerRegistered(retailer_, admin, currency, uri);
    }

    /// @inheritdoc IPriceGuarantee
    function addChannel(RetailerId retailer_, uint8 kind, address key, string calldata name)
        external
        returns (ChannelId channel_)
    {
        _checkAdmin(retailer_);
        if (kind < CHANNEL_ONLINE_SHOP || kind > CHANNEL_APP) revert GuaranteeChannelKindInvalid(kind);
        channel_ = ChannelId.wrap(++_channelCount);
        _activateKey(key, retailer_, channel_);
        _channels[channel_] = uint256(RetailerId.unwrap(retailer_)) | (uint256(kind) << CHANNEL_KIND_SHIFT)
            | (uint256(uint160(key)) << CHANNEL_KEY_SHIFT);
        emit ChannelAdded(retailer_, channel_, kind, key, name);
    }

    /// @inheritdoc IPriceGuarantee
    function rotateChannelKey(ChannelId channel_, address newKey, uint32 grace) external {
        uint256 record = _channelRecord(channel_);
        RetailerId retailer_ = RetailerId.wrap(uint32(record));
        _checkRole(retailerAdminRole(retailer_));
        if (grace > MAX_KEY_GRACE) revert GuaranteeKeyGraceInvalid(grace, MAX_KEY_GRACE);
        address previousKey = address(uint160(record >> CHANNEL_KEY_SHIFT));
        if (newKey != address(0)) _activateKey(newKey, retailer_, channel_);
        if (previousKey != address(0)) {
            // revokedAt and grace were 0
            _keys[previousKey] |= (block.timestamp << KEY_REVOKED_AT_SHIFT) | (uint256(grace) << KEY_GRACE_SHIFT);
        }
        _channels[channel_] = (record & ((1 << CHANNEL_KEY_SHIFT) - 1)) | (uint256(uint160(newKey)) << CHANNEL_KEY_SHIFT);
        emit ChannelKeyChanged(channel_, previousKey, newKey, grace);
    }

    /// @inheritdoc IPriceGuarantee
    function setPolicy(RetailerId retailer_, uint64 gtin, PolicyTerms calldata terms)
        external
        returns (PolicyId policy_)
    {
        _checkAdmin(retailer_);
        uint32 window = terms.window;
        uint16 toleranceBps = terms.toleranceBps;
        uint96 maxPayout = terms.maxPayout;
        uint8 excluded = terms.excludedPriceTypes;
        if (window > MAX_WINDOW) revert GuaranteeWindowInvalid(window, MAX_WINDOW);
        if (toleranceBps > 10_000) revert GuaranteeToleranceInvalid(toleranceBps);
        if (window != 0 && maxPayout == 0) revert GuaranteeMaxPayoutInvalid(maxPayout);
        if (excluded & ~PRICE_TYPES_KNOWN != 0) revert GuaranteePriceTypesInvalid(excluded);
        uint256 packed = uint256(window) | (uint256(toleranceBps) << TERMS_BPS_SHIFT)
            | (uint256(terms.toleranceAmount) << TERMS_AMOUNT_SHIFT) | (uint256(maxPayout) << TERMS_MAX_PAYOUT_SHIFT)
            | (uint256(excluded) << TERMS_EXCLUDED_SHIFT);
        // A reduction of what a purchase made now would get waits POLICY_NOTICE: buyers see it coming.
        uint256 since = block.timestamp;
        (PolicyId current,,) = _policyAt(retailer_, gtin, since);
        if (_reduces(_terms[current], packed)) since += POLICY_NOTICE;
        policy_ = PolicyId.wrap(++_policyCount);
        uint256 scope = _scope(retailer_, gtin);
        PolicyId previous = PolicyId.wrap(uint32(_latestPolicy[scope]));
        _latestPolicy[scope] = uint256(PolicyId.unwrap(policy_)) | (since << LATEST_SINCE_SHIFT)
            | (uint256(window) << LATEST_WINDOW_SHIFT) | (uint256(maxPayout) << LATEST_MAX_PAYOUT_SHIFT);
        _policies[policy_] = uint256(RetailerId.unwrap(retailer_)) | (uint256(gtin) << POLICY_GTIN_SHIFT)
            | (since << POLICY_SINCE_SHIFT) | (uint256(PolicyId.unwrap(previous)) << POLICY_PREVIOUS_SHIFT);
        _terms[policy_] = packed;
        emit PolicySet(retailer_, gtin, policy_, terms, previous, uint40(since));
    }

    // --------------------------------------------------------------------------------------------
    // Prices
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IPriceGuarantee
    function publishPrice(uint64 gtin, uint96 price_, uint8 priceType, uint40 validUntil) external {
        uint256 key = _liveKey();
        _checkOffer(price_, priceType, block.timestamp, validUntil);
        uint256 channel_ = uint32(key >> KEY_CHANNEL_SHIFT);
        uint256 record = uint256(price_) | (uint256(priceType) << PRICE_TYPE_SHIFT)
            | (uint256(validUntil) << PRICE_VALID_UNTIL_SHIFT) | (uint256(uint32(key)) << PRICE_RETAILER_SHIFT);
        bytes32 topic = PricePublished.selector;
        bool exists;
        // For the 50,000-gas target (some 160 gas below the Solidity equivalent): the slot of
        // `_prices[keccak256(abi.encode(channel, gtin, validFrom))]` is derived once, written only
        // when empty, and the event's data is laid out in the same scratch memory. The parameters
        // were range-checked by the ABI decoder, so their upper bits are clean.
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, channel_)
            mstore(add(m, 0x20), gtin)
            mstore(add(m, 0x40), timestamp())
            mstore(0x00, keccak256(m, 0x60))
            mstore(0x20, _prices.slot)
            let slot := keccak256(0x00, 0x40)
            exists := iszero(iszero(sload(slot)))
            if iszero(exists) {
                sstore(slot, record)
                // emit PricePublished(gtin, channel, price, priceType, validUntil)
                mstore(m, price_)
                mstore(add(m, 0x20), priceType)
                mstore(add(m, 0x40), validUntil)
                log3(m, 0x60, topic, gtin, channel_)
            }
        }
        if (exists) revert GuaranteePriceExists(ChannelId.wrap(uint32(channel_)), gtin, uint40(block.timestamp));
    }

    /// @inheritdoc IPriceGuarantee
    function endPrice(uint64 gtin, uint40 validFrom) external {
        ChannelId channel_ = ChannelId.wrap(uint32(_liveKey() >> KEY_CHANNEL_SHIFT));
        _endPrice(channel_, gtin, validFrom, false);
    }

    /// @inheritdoc IPriceGuarantee
    function declarePriceError(ChannelId channel_, uint64 gtin, uint40 validFrom) external {
        _checkRole(retailerAdminRole(RetailerId.wrap(uint32(_channelRecord(channel_)))));
        _endPrice(channel_, gtin, validFrom, true);
    }

    /// @inheritdoc IPriceGuarantee
    function lodgeQuote(Quote calldata quote, bytes calldata signature) external {
        RetailerId retailer_ = RetailerId.wrap(uint32(_channelRecord(quote.channel)));
        _checkRetailerMatch(retailer_, quote.retailer);
        _checkQuote(retailer_, quote, signature);
        bytes32 offer = _priceKey(ChannelId.unwrap(quote.channel), quote.gtin, quote.validFrom);
        if (_prices[offer] != 0) revert GuaranteePriceExists(quote.channel, quote.gtin, quote.validFrom);
        _prices[offer] = uint256(quote.price) | (uint256(quote.priceType) << PRICE_TYPE_SHIFT)
            | (uint256(quote.validUntil) << PRICE_VALID_UNTIL_SHIFT)
            | (uint256(RetailerId.unwrap(retailer_)) << PRICE_RETAILER_SHIFT) | PRICE_LODGED;
        emit QuoteLodged(quote.gtin, quote.channel, quote.price, quote.priceType, quote.validFrom, quote.validUntil);
    }

    // --------------------------------------------------------------------------------------------
    // Purchases
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IPriceGuarantee
    function recordPurchase(Sale calldata sale) external returns (PurchaseId) {
        return _recordSale(sale, _liveKey());
    }

    /// @inheritdoc IPriceGuarantee
    function recordPurchases(Sale[] calldata sales) external {
        uint256 key = _liveKey();
        if (sales.length == 0) revert GuaranteeBatchEmpty();
        for (uint256 i; i < sales.length; ++i) {
            _recordSale(sales[i], key);
        }
    }

    /// @inheritdoc IPriceGuarantee
    function registerPurchase(Receipt calldata receipt, bytes calldata signature) external returns (PurchaseId) {
        uint40 at = receipt.purchasedAt;
        if (at > block.timestamp) revert GuaranteePurchaseInFuture(at, block.timestamp);
        _checkSale(receipt.buyer, receipt.quantity, receipt.unitPrice);
        uint256 key = _signerKey(_receiptDigest(receipt), signature, receipt.channel, at, true);
        RetailerId retailer_ = RetailerId.wrap(uint32(key));
        _checkRetailerMatch(retailer_, receipt.retailer);
        (PolicyId policy_, uint256 window, uint256 maxPayout) = _policyAt(retailer_, receipt.gtin, at);
        return _recordPurchase(
            Purchase(
                retailer_,
                receipt.channel,
                receipt.buyer,
                receipt.gtin,
                receipt.quantity,
                receipt.unitPrice,
                at,
                receipt.receiptHash,
                policy_,
                0,
                uint40(block.timestamp)
            ),
            window,
            maxPayout
        );
    }

    // --------------------------------------------------------------------------------------------
    // Claims
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IPriceGuarantee
    function claimWithPrice(Purchase calldata purchase, ChannelId channel_, uint40 validFrom)
        external
        nonReentrant
        returns (uint256)
    {
        (PurchaseId id, uint256 word, uint256 terms) = _checkClaim(purchase);
        (, uint256 record) = _priceRecord(channel_, purchase.gtin, validFrom);
        _checkRetailerMatch(purchase.retailer, RetailerId.wrap(uint32(record >> PRICE_RETAILER_SHIFT)));
        uint40 endedAt = uint40(record >> PRICE_ENDED_AT_SHIFT);
        Offer memory offer = Offer({
            channel: channel_,
            price: uint96(record),
            priceType: uint8(record >> PRICE_TYPE_SHIFT),
            validFrom: validFrom,
            until: endedAt != 0 ? endedAt : uint40(record >> PRICE_VALID_UNTIL_SHIFT),
            quote: false
        });
        return _compensate(purchase, id, word, terms, offer);
    }

    /// @inheritdoc IPriceGuarantee
    function claimWithQuote(Purchase calldata purchase, Quote calldata quote, bytes calldata signature)
        external
        nonReentrant
        returns (uint256)
    {
        (PurchaseId id, uint256 word, uint256 terms) = _checkClaim(purchase);
        RetailerId retailer_ = purchase.retailer;
        _checkRetailerMatch(retailer_, quote.retailer);
        if (quote.gtin != purchase.gtin) revert GuaranteeProductMismatch(purchase.gtin, quote.gtin);
        _checkQuote(retailer_, quote, signature);
        Offer memory offer = Offer({
            channel: quote.channel,
            price: quote.price,
            priceType: quote.priceType,
            validFrom: quote.validFrom,
            until: quote.validUntil,
            quote: true
        });
        return _compensate(purchase, id, word, terms, offer);
    }

    /// @inheritdoc IPriceGuarantee
    function release(Purchase[] calldata purchases) external returns (uint256 released) {
        if (purchases.length == 0) revert GuaranteeBatchEmpty();
        for (uint256 i; i < purchases.length; ++i) {
            Purchase calldata p = purchases[i];
            (PurchaseId id, uint256 word) = _loadPurchase(p);
            uint256 unclaimed = word >> PURCHASE_UNCLAIMED_SHIFT;
            if (unclaimed == 0) continue; // nothing reserved is left: nothing to wait for
            uint256 closesAt = _claimsCloseAt(p, _terms[p.policy]);
            if (block.timestamp <= closesAt) revert GuaranteeCoverOpen(id, closesAt);
            _purchases[id] = uint160(word);
            // Safe: `reserved` is the sum of every purchase's unclaimed cover, this one's included.
            unchecked {
                _retailers[p.retailer].reserved -= uint128(unclaimed);
                released += unclaimed;
            }
            emit CoverReleased(id, p.retailer, uint96(unclaimed));
        }
    }

    // --------------------------------------------------------------------------------------------
    // Pool
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IPriceGuarantee
    function fund(RetailerId retailer_, uint256 amount) external payable nonReentrant {
        _checkRetailer(retailer_);
        _checkAmount(amount);
        RetailerRecord storage r = _retailers[retailer_];
        address currency = r.currency;
        uint256 value = currency == address(0) ? amount : 0;
        if (msg.value != value) revert GuaranteeValueMismatch(value, msg.value);
        uint256 received = amount;
        if (currency != address(0)) {
            // The one interaction before the effects: what arrived is known only after it (a
            // token may charge a fee). Nothing can re-enter a money function meanwhile.
            uint256 before = _balance(currency);
            IERC20(currency).safeTransferFrom(msg.sender, address(this), amount);
            received = _balance(currency) - before;
        }
        uint128 credited = SafeCast.toUint128(received);
        r.funded += credited;
        r.balance += credited; // balance <= funded
        emit PoolFunded(retailer_, msg.sender, received);
    }

    /// @inheritdoc IPriceGuarantee
    function announceWithdrawal(RetailerId retailer_, uint256 amount, address to) external {
        _checkAdmin(retailer_);
        _checkAmount(amount);
        if (to == address(0)) revert GuaranteeRecipientInvalid(to);
        if (_withdrawals[retailer_].executableAt != 0) revert GuaranteeWithdrawalPending(retailer_);
        uint40 executableAt = uint40(block.timestamp + WITHDRAWAL_DELAY);
        // More than the uint128 pool can hold withdraws the same as all of it.
        uint128 capped = amount > type(uint128).max ? type(uint128).max : uint128(amount);
        _withdrawals[retailer_] = Withdrawal(capped, executableAt, to);
        emit WithdrawalAnnounced(retailer_, amount, to, executableAt);
    }

    /// @inheritdoc IPriceGuarantee
    function cancelWithdrawal(RetailerId retailer_) external {
        _checkAdmin(retailer_);
        _pendingWithdrawal(retailer_);
        delete _withdrawals[retailer_];
        emit WithdrawalCancelled(retailer_);
    }

    /// @inheritdoc IPriceGuarantee
    function executeWithdrawal(RetailerId retailer_) external nonReentrant {
        _checkAdmin(retailer_);
        Withdrawal memory w = _pendingWithdrawal(retailer_);
        if (block.timestamp < w.executableAt) {
            revert GuaranteeWithdrawalTooEarly(retailer_, w.executableAt, block.timestamp);
        }
        delete _withdrawals[retailer_];
        RetailerRecord storage r = _retailers[retailer_];
        uint128 balance = r.balance;
        uint128 free = balance - r.reserved;
        uint128 amount = w.amount < free ? w.amount : free;
        // Safe: `amount <= free <= balance`, and `withdrawn + amount <= funded`, a uint128.
        unchecked {
            r.balance = balance - amount;
            r.withdrawn += amount;
        }
        emit WithdrawalExecuted(retailer_, w.to, amount);
        if (amount != 0) _sendOrRevert(w.to, r.currency, amount);
    }

    /// @inheritdoc IPriceGuarantee
    function withdrawCredit(address currency) external nonReentrant {
        uint256 amount = _credits[msg.sender][currency];
        if (amount == 0) revert GuaranteeNothingToWithdraw(msg.sender, currency);
        _credits[msg.sender][currency] = 0;
        emit CreditWithdrawn(msg.sender, currency, amount);
        _sendOrRevert(msg.sender, currency, amount);
    }

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IPriceGuarantee
    function retailerAdminRole(RetailerId retailer_) public pure returns (bytes32 role) {
        // keccak256(abi.encode("o2ochain.guarantee.admin", uint32 retailer)): the words
        // [0x40, retailer, 24, the tag left aligned], as {brandRoleId} does for brands.
        uint256 id = RetailerId.unwrap(retailer_);
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x40)
            mstore(add(m, 0x20), id)
            mstore(add(m, 0x40), 24)
            mstore(add(m, 0x60), "o2ochain.guarantee.admin")
            role := keccak256(m, 0x80)
        }
    }

    /// @inheritdoc IPriceGuarantee
    function retailer(RetailerId retailer_) external view returns (RetailerView memory v) {
        _checkRetailer(retailer_);
        RetailerRecord storage r = _retailers[retailer_];
        v.currency = r.currency;
        v.balance = r.balance;
        v.reserved = r.reserved;
        Withdrawal storage w = _withdrawals[retailer_];
        v.withdrawalAmount = w.amount;
        v.withdrawalTo = w.to;
        v.withdrawalAt = w.executableAt;
        v.funded = r.funded;
        v.withdrawn = r.withdrawn;
        v.paid = r.funded - r.withdrawn - r.balance;
    }

    /// @inheritdoc IPriceGuarantee
    function retailerCount() external view returns (uint32) {
        return _retailerCount;
    }

    /// @inheritdoc IPriceGuarantee
    function channel(ChannelId channel_) external view returns (ChannelView memory) {
        uint256 record = _channels[channel_];
        return ChannelView(
            RetailerId.wrap(uint32(record)),
            address(uint160(record >> CHANNEL_KEY_SHIFT)),
            uint8(record >> CHANNEL_KIND_SHIFT)
        );
    }

    /// @inheritdoc IPriceGuarantee
    function channelCount() external view returns (uint32) {
        return _channelCount;
    }

    /// @inheritdoc IPriceGuarantee
    function channelKey(address key) external view returns (ChannelKey memory) {
        uint256 record = _keys[key];
        return ChannelKey(
            RetailerId.wrap(uint32(record)),
            ChannelId.wrap(uint32(record >> KEY_CHANNEL_SHIFT)),
            uint40(record >> KEY_ACTIVE_FROM_SHIFT),
            uint40(record >> KEY_REVOKED_AT_SHIFT),
            uint32(record >> KEY_GRACE_SHIFT)
        );
    }

    /// @inheritdoc IPriceGuarantee
    function policy(PolicyId policy_) external view returns (PolicyView memory v) {
        uint256 record = _policies[policy_];
        uint256 terms = _terms[policy_];
        v.retailer = RetailerId.wrap(uint32(record));
        v.gtin = uint64(record >> POLICY_GTIN_SHIFT);
        v.since = uint40(record >> POLICY_SINCE_SHIFT);
        v.previous = PolicyId.wrap(uint32(record >> POLICY_PREVIOUS_SHIFT));
        v.terms = PolicyTerms({
            window: uint32(terms),
            toleranceBps: uint16(terms >> TERMS_BPS_SHIFT),
            toleranceAmount: uint96(terms >> TERMS_AMOUNT_SHIFT),
            maxPayout: uint96(terms >> TERMS_MAX_PAYOUT_SHIFT),
            excludedPriceTypes: uint8(terms >> TERMS_EXCLUDED_SHIFT)
        });
    }

    /// @inheritdoc IPriceGuarantee
    function policyCount() external view returns (uint32) {
        return _policyCount;
    }

    /// @inheritdoc IPriceGuarantee
    function policyFor(RetailerId retailer_, uint64 gtin, uint40 at) external view returns (PolicyId policy_) {
        (policy_,,) = _policyAt(retailer_, gtin, at);
    }

    /// @inheritdoc IPriceGuarantee
    function price(ChannelId channel_, uint64 gtin, uint40 validFrom) external view returns (PriceView memory) {
        uint256 record = _prices[_priceKey(ChannelId.unwrap(channel_), gtin, validFrom)];
        return PriceView(
            record != 0,
            uint96(record),
            uint8(record >> PRICE_TYPE_SHIFT),
            uint40(record >> PRICE_VALID_UNTIL_SHIFT),
            uint40(record >> PRICE_ENDED_AT_SHIFT),
            record & PRICE_LODGED != 0
        );
    }

    /// @inheritdoc IPriceGuarantee
    function purchaseId(Receipt calldata receipt) external pure returns (PurchaseId) {
        return PurchaseId.wrap(keccak256(abi.encode(receipt)));
    }

    /// @inheritdoc IPriceGuarantee
    function purchaseState(PurchaseId purchase) external view returns (bool recorded, uint96 unclaimed) {
        uint256 word = _purchases[purchase];
        return (word != 0, uint96(word >> PURCHASE_UNCLAIMED_SHIFT));
    }

    /// @inheritdoc IPriceGuarantee
    function purchaseDigest(PurchaseId purchase) external view returns (uint160) {
        return uint160(_purchases[purchase]);
    }

    /// @inheritdoc IPriceGuarantee
    function credit(address buyer, address currency) external view returns (uint256) {
        return _credits[buyer][currency];
    }

    /// @inheritdoc IPriceGuarantee
    function quoteDigest(Quote calldata quote) external view returns (bytes32) {
        return _quoteDigest(quote);
    }

    /// @inheritdoc IPriceGuarantee
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32) {
        return _receiptDigest(receipt);
    }

    /// @inheritdoc IPriceGuarantee
    function version() external pure returns (string memory) {
        return "2";
    }

    /// @dev ERC-165: IPriceGuarantee, plus what AccessControl supports (IAccessControl, IERC165).
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IPriceGuarantee).interfaceId || super.supportsInterface(interfaceId);
    }

    // --------------------------------------------------------------------------------------------
    // Internal: channels, keys, prices, purchases
    // --------------------------------------------------------------------------------------------

    /// @dev Makes `key` the key of `channel_` of `retailer_` from now; reverts with
    /// {GuaranteeKeyInvalid} unless it is nonzero and new.
    function _activateKey(address key, RetailerId retailer_, ChannelId channel_) private {
        if (key == address(0) || _keys[key] != 0) revert GuaranteeKeyInvalid(key);
        _keys[key] = uint256(RetailerId.unwrap(retailer_)) | (uint256(ChannelId.unwrap(channel_)) << KEY_CHANNEL_SHIFT)
            | (block.timestamp << KEY_ACTIVE_FROM_SHIFT);
    }

    /// @dev The caller's key word, when it is a live channel key; reverts with
    /// {GuaranteeNotChannelKey} otherwise.
    function _liveKey() private view returns (uint256 key) {
        key = _keys[msg.sender];
        if (key == 0 || key >> KEY_REVOKED_AT_SHIFT != 0) revert GuaranteeNotChannelKey(msg.sender);
    }

    /**
     * @dev The key word of the signer of `digest`, when it is a key of `channel_` whose signature
     * of a message dated `at` counts now (`channelKeyAccepts`; `consumerHeld` for a receipt);
     * reverts with {GuaranteeSignerInvalid} otherwise (a malformed signature recovers 0, which is
     * never a key).
     */
    function _signerKey(bytes32 digest, bytes calldata signature, ChannelId channel_, uint40 at, bool consumerHeld)
        private
        view
        returns (uint256 key)
    {
        (address signer,,) = ECDSA.tryRecoverCalldata(digest, signature);
        key = _keys[signer];
        if (
            uint32(key >> KEY_CHANNEL_SHIFT) != ChannelId.unwrap(channel_)
                || !channelKeyAccepts(
                    uint40(key >> KEY_ACTIVE_FROM_SHIFT),
                    uint40(key >> KEY_REVOKED_AT_SHIFT),
                    uint32(key >> KEY_GRACE_SHIFT),
                    at,
                    consumerHeld
                )
        ) revert GuaranteeSignerInvalid(channel_, signer, at);
    }

    /// @dev Ends the price of `gtin` that `channel_` offers from `validFrom` now, as a price error
    /// when `priceError`; see {endPrice} and {declarePriceError}.
    function _endPrice(ChannelId channel_, uint64 gtin, uint40 validFrom, bool priceError) private {
        (bytes32 offer, uint256 record) = _priceRecord(channel_, gtin, validFrom);
        if (priceError) {
            uint256 closedAt = uint256(validFrom) + PRICE_ERROR_DECLARATION_PERIOD;
            if (block.timestamp > closedAt) revert GuaranteeDeclarationClosed(channel_, gtin, validFrom, closedAt);
        }
        if (
            uint40(record >> PRICE_ENDED_AT_SHIFT) != 0 || uint40(record >> PRICE_VALID_UNTIL_SHIFT) <= block.timestamp
                || (!priceError && record & PRICE_LODGED != 0)
        ) revert GuaranteePriceNotLive(channel_, gtin, validFrom);
        record |= block.timestamp << PRICE_ENDED_AT_SHIFT; // endedAt was 0
        if (priceError) {
            record = (record & ~(uint256(0xff) << PRICE_TYPE_SHIFT)) | (uint256(PRICE_ERROR) << PRICE_TYPE_SHIFT);
        }
        _prices[offer] = record;
        emit PriceEnded(channel_, gtin, validFrom, uint40(block.timestamp), priceError);
    }

    /// @dev Records `sale` made now on the channel of key word `key`, under the policy in effect now.
    function _recordSale(Sale calldata sale, uint256 key) private returns (PurchaseId) {
        _checkSale(sale.buyer, sale.quantity, sale.unitPrice);
        RetailerId retailer_ = RetailerId.wrap(uint32(key));
        uint64 gtin = sale.gtin;
        (PolicyId policy_, uint256 window, uint256 maxPayout) = _policyAt(retailer_, gtin, block.timestamp);
        return _recordPurchase(
            Purchase(
                retailer_,
                ChannelId.wrap(uint32(key >> KEY_CHANNEL_SHIFT)),
                sale.buyer,
                gtin,
                sale.quantity,
                sale.unitPrice,
                uint40(block.timestamp),
                sale.receiptHash,
                policy_,
                0,
                uint40(block.timestamp)
            ),
            window,
            maxPayout
        );
    }

    /// @dev Reverts unless a sale has a buyer, a quantity and a unit price.
    function _checkSale(address buyer, uint32 quantity, uint96 unitPrice) private pure {
        if (buyer == address(0)) revert GuaranteeBuyerInvalid(buyer);
        if (quantity == 0) revert GuaranteeQuantityInvalid(quantity);
        _checkAmount(unitPrice);
    }

    /**
     * @dev Reserves the cover of `p` (its `cover` field is set here) from the free funds of its
     * retailer when its policy (`window`, `maxPayout`) has a window still open, stores it as a new
     * purchase and emits {PurchaseRecorded}.
     */
    function _recordPurchase(Purchase memory p, uint256 window, uint256 maxPayout) private returns (PurchaseId id) {
        bytes32 hash;
        assembly ("memory-safe") {
            // A Receipt is the first eight words of a Purchase in memory, as in its abi.encode.
            id := keccak256(p, RECEIPT_SIZE)
        }
        if (_purchases[id] != 0) revert GuaranteePurchaseExists(id);
        if (window != 0 && block.timestamp <= p.purchasedAt + window) {
            uint256 exposure;
            // Safe: a uint96 price times a uint32 quantity fits in 128 bits; unitPrice >= 1.
            unchecked {
                exposure = (uint256(p.unitPrice) - 1) * p.quantity;
            }
            if (exposure > maxPayout) exposure = maxPayout;
            RetailerRecord storage r = _retailers[p.retailer];
            uint256 reserved = r.reserved;
            uint256 free = r.balance - reserved;
            uint256 cover = exposure < free ? exposure : free;
            if (cover != 0) {
                r.reserved = uint128(reserved + cover); // <= balance
                p.cover = uint96(cover); // <= maxPayout, a uint96
            }
        }
        assembly ("memory-safe") {
            // A struct of eleven value fields is laid out in memory as its abi.encode.
            hash := keccak256(p, PURCHASE_SIZE)
        }
        _purchases[id] = (uint256(p.cover) << PURCHASE_UNCLAIMED_SHIFT) | uint160(uint256(hash));
        _emitRecorded(id, p);
    }

    /// @dev Emits {PurchaseRecorded} for `p` (its own frame, for the stack).
    function _emitRecorded(PurchaseId id, Purchase memory p) private {
        emit PurchaseRecorded(
            id,
            p.buyer,
            p.gtin,
            p.retailer,
            p.channel,
            p.quantity,
            p.unitPrice,
            p.purchasedAt,
            p.receiptHash,
            p.policy,
            p.cover,
            p.recordedAt
        );
    }

    // --------------------------------------------------------------------------------------------
    // Internal: claims
    // --------------------------------------------------------------------------------------------

    /// @dev The id and word of `purchase`, recorded as given; reverts with
    /// {GuaranteePurchaseUnknown} or {GuaranteePurchaseMismatch} otherwise.
    function _loadPurchase(Purchase calldata purchase) private view returns (PurchaseId id, uint256 word) {
        bytes32 hash;
        assembly ("memory-safe") {
            // The Purchase's words as they are in calldata: its abi.encode (words with dirty upper
            // bits hash differently from what was recorded; the ABI decoder refuses them on every
            // other read), its first eight words its Receipt.
            let m := mload(0x40)
            calldatacopy(m, purchase, PURCHASE_SIZE)
            id := keccak256(m, RECEIPT_SIZE)
            hash := keccak256(m, PURCHASE_SIZE)
        }
        word = _purchases[id];
        if (word == 0) revert GuaranteePurchaseUnknown(id);
        if (uint160(word) != uint160(uint256(hash))) revert GuaranteePurchaseMismatch(id);
    }

    /// @dev When the claims of `purchase` (policy terms `terms`) close (inclusive).
    function _claimsCloseAt(Purchase calldata purchase, uint256 terms) private pure returns (uint256) {
        return uint256(purchase.purchasedAt) + uint32(terms) + PAYOUT_DELAY;
    }

    /**
     * @dev Checks that `purchase` is recorded as given, covered and open to claims now; returns
     * its id, its word and its policy's terms. Reverts with {GuaranteePurchaseUnknown},
     * {GuaranteePurchaseMismatch}, {GuaranteeNotCovered}, {GuaranteeClaimTooEarly},
     * {GuaranteeWindowClosed}.
     */
    function _checkClaim(Purchase calldata purchase)
        private
        view
        returns (PurchaseId id, uint256 word, uint256 terms)
    {
        (id, word) = _loadPurchase(purchase);
        PolicyId policy_ = purchase.policy;
        terms = _terms[policy_];
        if (purchase.cover == 0) revert GuaranteeNotCovered(id, policy_); // a policy without a window has none
        uint256 claimableAt = uint256(purchase.recordedAt) + PAYOUT_DELAY;
        if (block.timestamp < claimableAt) revert GuaranteeClaimTooEarly(id, claimableAt, block.timestamp);
        uint256 closedAt = _claimsCloseAt(purchase, terms);
        if (block.timestamp > closedAt) revert GuaranteeWindowClosed(id, closedAt, block.timestamp);
    }

    /**
     * @dev Checks that `quote` is an offer of `retailer_` in its currency, well formed, and signed
     * by a key of its channel that accepts it now (the channel then is the retailer's).
     */
    function _checkQuote(RetailerId retailer_, Quote calldata quote, bytes calldata signature) private view {
        address currency = _retailers[retailer_].currency;
        if (quote.currency != currency) revert GuaranteeCurrencyMismatch(currency, quote.currency);
        _checkOffer(quote.price, quote.priceType, quote.validFrom, quote.validUntil);
        uint256 key = _signerKey(_quoteDigest(quote), signature, quote.channel, quote.validFrom, false);
        _checkRetailerMatch(retailer_, RetailerId.wrap(uint32(key)));
    }

    /**
     * @dev Applies the rule to `purchase` (id `id`, word `word`, policy terms `terms`) and
     * `offer`, records the new total and takes what is due from the purchase's cover; then pays
     * the buyer. Returns what was paid.
     */
    function _compensate(Purchase calldata purchase, PurchaseId id, uint256 word, uint256 terms, Offer memory offer)
        private
        returns (uint256 due)
    {
        uint256 total = _qualify(purchase, terms, offer);
        uint256 cover = purchase.cover;
        if (total > cover) total = cover;
        // Safe: the unclaimed cover never exceeds the cover.
        uint256 compensated;
        unchecked {
            compensated = cover - (word >> PURCHASE_UNCLAIMED_SHIFT);
        }
        if (total <= compensated) revert GuaranteeAlreadyCompensated(id, uint96(compensated), uint96(total));
        // Safe: `compensated < total <= cover`; the cover due is reserved, so within the balance.
        unchecked {
            due = total - compensated;
            _purchases[id] = ((cover - total) << PURCHASE_UNCLAIMED_SHIFT) | uint160(word);
            RetailerRecord storage r = _retailers[purchase.retailer];
            r.balance -= uint128(due);
            r.reserved -= uint128(due);
            _emitPaid(id, purchase.buyer, purchase.retailer, due, total, offer);
            _pay(purchase.buyer, r.currency, due);
        }
    }

    /// @dev Emits {CompensationPaid} (its own frame, for the stack).
    function _emitPaid(PurchaseId id, address buyer, RetailerId retailer_, uint256 pay, uint256 total, Offer memory offer)
        private
    {
        emit CompensationPaid(
            id, buyer, retailer_, uint96(pay), uint96(total), offer.channel, offer.price, offer.validFrom, offer.quote
        );
    }

    /**
     * @dev Checks that `offer` qualifies for `purchase` under `terms` and returns the rule's total
     * for it (before the cover). Reverts with {GuaranteePriceTypeExcluded},
     * {GuaranteeOfferOutsideWindow}, {GuaranteeOfferNotStarted}, {GuaranteeWithinTolerance}.
     */
    function _qualify(Purchase calldata purchase, uint256 terms, Offer memory offer)
        private
        view
        returns (uint256 total)
    {
        if ((terms >> (TERMS_EXCLUDED_SHIFT + offer.priceType)) & 1 != 0) {
            revert GuaranteePriceTypeExcluded(purchase.policy, offer.priceType);
        }
        uint256 purchasedAt = purchase.purchasedAt;
        uint256 windowEnd = purchasedAt + uint32(terms);
        // An offer ended before it started (a quote lodged ahead and declared a price error before
        // its start) was never on offer: it overlaps nothing.
        if (offer.validFrom > windowEnd || offer.until <= purchasedAt || offer.until <= offer.validFrom) {
            // Safe cast: a window end beyond 2^40 seconds (year 36812) is not a concern.
            revert GuaranteeOfferOutsideWindow(offer.validFrom, offer.until, uint40(purchasedAt), uint40(windowEnd));
        }
        if (offer.validFrom > block.timestamp) revert GuaranteeOfferNotStarted(offer.validFrom, block.timestamp);
        uint256 paid = purchase.unitPrice;
        uint256 offered = offer.price;
        uint256 tolerance = uint96(terms >> TERMS_AMOUNT_SHIFT);
        // Safe: a uint96 price times at most 10,000 fits in 110 bits.
        unchecked {
            uint256 relative = paid * uint16(terms >> TERMS_BPS_SHIFT) / 10_000;
            if (relative > tolerance) tolerance = relative;
        }
        if (paid <= offered || paid - offered <= tolerance) {
            revert GuaranteeWithinTolerance(uint96(paid), uint96(offered), tolerance);
        }
        uint256 maxPayout = uint96(terms >> TERMS_MAX_PAYOUT_SHIFT);
        // Safe: a uint96 difference times a uint32 quantity fits in 128 bits.
        unchecked {
            total = (paid - offered) * purchase.quantity;
        }
        if (total > maxPayout) total = maxPayout;
    }

    // --------------------------------------------------------------------------------------------
    // Internal: payments
    // --------------------------------------------------------------------------------------------

    /// @dev This contract's balance of ERC-20 `token`.
    function _balance(address token) private view returns (uint256) {
        return IERC20(token).balanceOf(address(this));
    }

    /// @dev Sends `amount` of `currency` to `to` with all the gas left; reverts with
    /// {GuaranteeTransferFailed} if that fails.
    function _sendOrRevert(address to, address currency, uint256 amount) private {
        if (!_send(to, currency, amount, gasleft())) revert GuaranteeTransferFailed(to, amount);
    }

    /**
     * @dev Sends `amount` to buyer `to`, or credits it to them if that fails ({CreditAdded}).
     * A keeper cannot turn a payment into a credit by withholding gas: a call given less than
     * PAYOUT_GAS that runs out of gas leaves under 1/64 of it (EIP-150), too little for the
     * credit's storage write (EIP-2200 refuses an SSTORE with 2,300 gas or less left), so the
     * whole transaction fails instead.
     */
    function _pay(address to, address currency, uint256 amount) private {
        if (!_send(to, currency, amount, PAYOUT_GAS)) {
            // After the failed call: its effects are undone, and money functions are nonReentrant.
            _credits[to][currency] += amount;
            emit CreditAdded(to, currency, amount);
        }
    }

    /**
     * @dev Sends `amount` of `currency` to `to`: an ERC-20 transfer (OpenZeppelin's
     * `trySafeTransfer`), or a native call with `gasLimit` gas that copies no return data.
     * Returns whether it succeeded.
     */
    function _send(address to, address currency, uint256 amount, uint256 gasLimit) private returns (bool ok) {
        if (currency != address(0)) return IERC20(currency).trySafeTransfer(to, amount);
        assembly ("memory-safe") {
            ok := call(gasLimit, to, amount, 0, 0, 0, 0)
        }
    }

    // --------------------------------------------------------------------------------------------
    // Internal: reads, checks and hashes
    // --------------------------------------------------------------------------------------------

    /// @dev Reverts with {GuaranteeRetailerUnknown} unless `retailer_` is registered.
    function _checkRetailer(RetailerId retailer_) private view {
        uint32 id = RetailerId.unwrap(retailer_);
        if (id == 0 || id > _retailerCount) revert GuaranteeRetailerUnknown(retailer_);
    }

    /// @dev The announced withdrawal of `retailer_`; reverts with {GuaranteeNoWithdrawal} when none.
    function _pendingWithdrawal(RetailerId retailer_) private view returns (Withdrawal memory w) {
        w = _withdrawals[retailer_];
        if (w.executableAt == 0) revert GuaranteeNoWithdrawal(retailer_);
    }

    /// @dev The record of `channel_`; reverts with {GuaranteeChannelUnknown} when none.
    function _channelRecord(ChannelId channel_) private view returns (uint256 record) {
        record = _channels[channel_];
        if (record == 0) revert GuaranteeChannelUnknown(channel_);
    }

    /// @dev The key and record of the price of `gtin` that `channel_` offers from `validFrom`;
    /// reverts with {GuaranteePriceUnknown} when none.
    function _priceRecord(ChannelId channel_, uint64 gtin, uint40 validFrom)
        private
        view
        returns (bytes32 offer, uint256 record)
    {
        offer = _priceKey(ChannelId.unwrap(channel_), gtin, validFrom);
        record = _prices[offer];
        if (record == 0) revert GuaranteePriceUnknown(channel_, gtin, validFrom);
    }

    /// @dev Reverts with {GuaranteeRetailerMismatch} unless `given` is `expected`.
    function _checkRetailerMatch(RetailerId expected, RetailerId given) private pure {
        if (given != expected) revert GuaranteeRetailerMismatch(expected, given);
    }

    /// @dev Reverts with {GuaranteeAmountInvalid} for a zero amount.
    function _checkAmount(uint256 amount) private pure {
        if (amount == 0) revert GuaranteeAmountInvalid(amount);
    }

    /**
     * @dev Reverts unless an offer at `price_` of `priceType` from `validFrom` until `validUntil`
     * is well formed: {GuaranteeAmountInvalid}, {GuaranteePriceTypeInvalid},
     * {GuaranteeValidityInvalid}.
     */
    function _checkOffer(uint256 price_, uint8 priceType, uint256 validFrom, uint256 validUntil) private pure {
        _checkAmount(price_);
        if (priceType > PRICE_ERROR) revert GuaranteePriceTypeInvalid(priceType);
        // Safe casts: both come from uint40 values (or the block's timestamp).
        if (validUntil <= validFrom) revert GuaranteeValidityInvalid(uint40(validFrom), uint40(validUntil));
    }

    /// @dev Reverts unless `retailer_` is registered and the caller is one of its admins.
    function _checkAdmin(RetailerId retailer_) private view {
        _checkRetailer(retailer_);
        _checkRole(retailerAdminRole(retailer_));
    }

    /**
     * @dev Whether packed terms `next` reduce what packed terms `current` give a purchase: a
     * shorter window, a larger tolerance (either kind), a lower cap or more excluded price
     * types. Nothing reduces "no guarantee" (a zero window).
     */
    function _reduces(uint256 current, uint256 next) private pure returns (bool) {
        if (uint32(current) == 0) return false;
        return uint32(next) < uint32(current)
            || uint16(next >> TERMS_BPS_SHIFT) > uint16(current >> TERMS_BPS_SHIFT)
            || uint96(next >> TERMS_AMOUNT_SHIFT) > uint96(current >> TERMS_AMOUNT_SHIFT)
            || uint96(next >> TERMS_MAX_PAYOUT_SHIFT) < uint96(current >> TERMS_MAX_PAYOUT_SHIFT)
            || (next >> TERMS_EXCLUDED_SHIFT) & ~(current >> TERMS_EXCLUDED_SHIFT) != 0;
    }

    /**
     * @dev The policy of a purchase of `gtin` from `retailer_` made at `at` (the class policy in
     * effect then, else the default in effect then, else 0), with its window and cap.
     */
    function _policyAt(RetailerId retailer_, uint64 gtin, uint256 at)
        private
        view
        returns (PolicyId policy_, uint256 window, uint256 maxPayout)
    {
        if (gtin != 0) {
            (policy_, window, maxPayout) = _policyInEffect(_latestPolicy[_scope(retailer_, gtin)], at);
            if (PolicyId.unwrap(policy_) != 0) return (policy_, window, maxPayout);
        }
        return _policyInEffect(_latestPolicy[_scope(retailer_, 0)], at);
    }

    /**
     * @dev The record of the scope whose latest word is `latest` in effect at `at` (the newest
     * with `since <= at`; a newer record supersedes an older one announced for later), or 0; with
     * its window and cap. The latest record, in effect in all but the days after a reduction was
     * announced, is read from `latest` alone.
     */
    function _policyInEffect(uint256 latest, uint256 at)
        private
        view
        returns (PolicyId policy_, uint256 window, uint256 maxPayout)
    {
        if (latest == 0) return (policy_, 0, 0);
        if (uint40(latest >> LATEST_SINCE_SHIFT) <= at) {
            return (PolicyId.wrap(uint32(latest)), uint32(latest >> LATEST_WINDOW_SHIFT), uint96(latest >> LATEST_MAX_PAYOUT_SHIFT));
        }
        policy_ = PolicyId.wrap(uint32(_policies[PolicyId.wrap(uint32(latest))] >> POLICY_PREVIOUS_SHIFT));
        while (PolicyId.unwrap(policy_) != 0) {
            uint256 record = _policies[policy_];
            if (uint40(record >> POLICY_SINCE_SHIFT) <= at) break;
            policy_ = PolicyId.wrap(uint32(record >> POLICY_PREVIOUS_SHIFT));
        }
        uint256 terms = _terms[policy_];
        return (policy_, uint32(terms), uint96(terms >> TERMS_MAX_PAYOUT_SHIFT));
    }

    /// @dev The key of a policy scope: `retailer << 64 | gtin`.
    function _scope(RetailerId retailer_, uint64 gtin) private pure returns (uint256) {
        return (uint256(RetailerId.unwrap(retailer_)) << 64) | gtin;
    }

    /// @dev `keccak256(abi.encode(channel, gtin, validFrom))`, in scratch memory.
    function _priceKey(uint256 channel_, uint256 gtin, uint256 validFrom) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, channel_)
            mstore(add(m, 0x20), gtin)
            mstore(add(m, 0x40), validFrom)
            key := keccak256(m, 0x60)
        }
    }

    /// @dev EIP-712 digest of a `Quote`: the struct's nine fields are the type's, in order.
    function _quoteDigest(Quote calldata quote) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(QUOTE_TYPEHASH, quote)));
    }

    /// @dev EIP-712 digest of a `Receipt`: the struct's eight fields are the type's, in order.
    function _receiptDigest(Receipt calldata receipt) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, receipt)));
    }
}
