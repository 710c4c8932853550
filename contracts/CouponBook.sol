// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";

import {ChannelAccess} from "./ChannelAccess.sol";
import {ICouponBook} from "./interfaces/ICouponBook.sol";
import {IPriceGuarantee} from "./interfaces/IPriceGuarantee.sol";
import {
    CampaignView,
    ChannelId,
    MAX_VOUCHERS,
    RetailerId,
    VOUCHER_AMOUNT_OFF,
    VOUCHER_PERCENT_OFF,
    Voucher
} from "./Types.sol";

/**
 * @dev Coupon book of o2ochain: see {ICouponBook} for campaigns, vouchers, who signs and who
 * redeems. Deploy with the {IPriceGuarantee} whose channels are the merchants and shops; it has no
 * admin of its own. The EIP-712 domain is name "o2ochain CouponBook", version "1", the chain id
 * and this contract's address (ERC-5267 `eip712Domain()` returns it).
 *
 * Storage, laid out for the gas of a redemption (the frequent write, made at the till):
 *
 * - a campaign is one word ({CampaignRecord}) and its terms hash a second;
 * - its redemptions are ceil(issued / 255) bitmap words in {_redeemed}, keyed by
 *   `campaign << 32 | index / 255` (one keccak256 per lookup), each holding the sentinel bit 255
 *   from the campaign's creation.
 *
 * A redemption reads the campaign word, the shop's and the signer's key records in the guarantee
 * (two calls, the first to a cold account), recovers the signer (one `ecrecover`), then rewrites
 * one bitmap word, nonzero thanks to its sentinel: no storage is created. It keeps no redemption
 * counter (a second rewrite, 2,900 gas, would break the 50,000-gas target): {campaign} counts the
 * set bits of the campaign's bitmap instead, a view's loop of one SLOAD per 255 vouchers.
 *
 * The only external calls are reads (`view`) of the immutable guarantee, made during the checks:
 * nothing is called after state changes.
 */
contract CouponBook is ICouponBook, EIP712, ERC165 {
    using ChannelAccess for IPriceGuarantee;

    /**
     * @dev A campaign; word bits: merchant 0..31, retailer 32..63, issued 64..95, validFrom
     * 96..135, validUntil 136..175. Nonzero once created (merchant > 0). It holds no redemption
     * count: {campaign} counts the bitmap's bits instead (see {_countRedeemed}).
     */
    struct CampaignRecord {
        ChannelId merchant;
        RetailerId retailer;
        uint32 issued;
        uint40 validFrom;
        uint40 validUntil;
    }

    /// @dev EIP-712 type of a signed voucher.
    bytes32 public constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(uint32 campaign,uint32 index,uint8 kind,uint96 value,uint64 gtin,uint40 validFrom,uint40 validUntil)"
    );
    /// @dev Vouchers per bitmap word: bits 0..254; bit 255 is the sentinel.
    uint256 private constant VOUCHERS_PER_WORD = 255;
    /// @dev The sentinel bit that keeps every bitmap word of a campaign nonzero.
    uint256 private constant SENTINEL = 1 << 255;
    /// @dev Largest percentage off, in basis points.
    uint256 private constant MAX_BPS = 10_000;

    // CampaignRecord
    uint256 private constant RETAILER_SHIFT = 32;
    uint256 private constant ISSUED_SHIFT = 64;
    uint256 private constant VALID_FROM_SHIFT = 96;
    uint256 private constant VALID_UNTIL_SHIFT = 136;

    /// @dev The price guarantee: channels, keys and retailer admins.
    IPriceGuarantee private immutable _guarantee;

    mapping(uint32 campaign => uint256 record) private _campaigns; // packed CampaignRecord
    mapping(uint32 campaign => bytes32 termsHash) private _terms;
    /// @dev Redemption bitmaps, keyed by `campaign << 32 | word`; see {ICouponBook}.
    mapping(uint256 key => uint256 word) private _redeemed;
    uint32 private _campaignCount;

    /// @param guarantee_ The price guarantee whose channels are the merchants and shops.
    constructor(IPriceGuarantee guarantee_) EIP712("o2ochain CouponBook", "1") {
        _guarantee = guarantee_;
    }

    // --------------------------------------------------------------------------------------------
    // Campaigns
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc ICouponBook
    function createCampaign(
        ChannelId merchant,
        uint32 issued,
        uint40 validFrom,
        uint40 validUntil,
        bytes32 termsHash,
        string calldata uri
    ) external returns (uint32 campaign_) {
        RetailerId retailer = _guarantee.channel(merchant).retailer;
        if (RetailerId.unwrap(retailer) == 0) revert IPriceGuarantee.GuaranteeChannelUnknown(merchant);
        _guarantee.checkRetailerAdmin(retailer, msg.sender);
        if (issued == 0 || issued > MAX_VOUCHERS || validFrom > validUntil || validUntil < block.timestamp) {
            revert CouponCampaignInvalid(issued, validFrom, validUntil);
        }
        campaign_ = ++_campaignCount;
        _campaigns[campaign_] = uint256(ChannelId.unwrap(merchant))
            | (uint256(RetailerId.unwrap(retailer)) << RETAILER_SHIFT) | (uint256(issued) << ISSUED_SHIFT)
            | (uint256(validFrom) << VALID_FROM_SHIFT) | (uint256(validUntil) << VALID_UNTIL_SHIFT);
        _terms[campaign_] = termsHash;
        uint256 first = uint256(campaign_) << 32;
        // Safe: `issued` is at most MAX_VOUCHERS, so the word count and `first + i` stay small.
        unchecked {
            uint256 end = first + (uint256(issued) + VOUCHERS_PER_WORD - 1) / VOUCHERS_PER_WORD;
            for (uint256 key = first; key < end; ++key) {
                _redeemed[key] = SENTINEL;
            }
        }
        emit CampaignCreated(campaign_, merchant, retailer, issued, validFrom, validUntil, termsHash, uri);
    }

    /// @inheritdoc ICouponBook
    function redeem(Voucher calldata voucher, bytes calldata signature, bytes32 receiptHash) external {
        (Voucher memory v, bytes32 structHash) = _load(voucher);
        uint256 record = _campaigns[v.campaign];
        if (record == 0) revert CouponCampaignUnknown(v.campaign);
        // A key not live now reads as retailer 0, never a campaign's.
        (RetailerId retailer, ChannelId shop) = _guarantee.liveKey(msg.sender);
        if (RetailerId.unwrap(retailer) != uint32(record >> RETAILER_SHIFT)) revert CouponNotShop(msg.sender);
        _checkVoucher(v, record);
        (address signer,,) = ECDSA.tryRecoverCalldata(_hashTypedDataV4(structHash), signature);
        // A malformed signature recovers 0, which is never a key. A voucher is held by a consumer:
        // its key counts if it was live at the voucher's start and is live now, or within the
        // grace of its rotation (see `channelKeyAccepts`).
        (, ChannelId signedBy) = _guarantee.acceptedKey(signer, v.validFrom, true);
        if (ChannelId.unwrap(signedBy) != uint32(record)) revert CouponSignatureInvalid(signer);
        _setRedeemed(v.campaign, v.index);
        emit CouponRedeemed(v.campaign, v.index, shop, v.kind, v.value, v.gtin, receiptHash);
    }

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc ICouponBook
    function campaign(uint32 campaign_) external view returns (CampaignView memory) {
        uint256 record = _campaigns[campaign_];
        uint32 issued = uint32(record >> ISSUED_SHIFT);
        return CampaignView(
            ChannelId.wrap(uint32(record)),
            RetailerId.wrap(uint32(record >> RETAILER_SHIFT)),
            issued,
            _countRedeemed(campaign_, issued),
            uint40(record >> VALID_FROM_SHIFT),
            uint40(record >> VALID_UNTIL_SHIFT),
            _terms[campaign_]
        );
    }

    /// @inheritdoc ICouponBook
    function campaignCount() external view returns (uint32) {
        return _campaignCount;
    }

    /// @inheritdoc ICouponBook
    function isRedeemed(uint32 campaign_, uint32 index) external view returns (bool) {
        if (index >= uint32(_campaigns[campaign_] >> ISSUED_SHIFT)) return false;
        return _redeemed[(uint256(campaign_) << 32) | (index / VOUCHERS_PER_WORD)] & (1 << (index % VOUCHERS_PER_WORD))
            != 0;
    }

    /// @inheritdoc ICouponBook
    function voucherDigest(Voucher calldata voucher) external view returns (bytes32) {
        return _voucherDigest(voucher);
    }

    /// @inheritdoc ICouponBook
    function guarantee() external view returns (IPriceGuarantee) {
        return _guarantee;
    }

    /// @inheritdoc ICouponBook
    function version() external pure returns (string memory) {
        return "1";
    }

    /// @dev ERC-165: ICouponBook and IERC165.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(ICouponBook).interfaceId || super.supportsInterface(interfaceId);
    }

    // --------------------------------------------------------------------------------------------
    // Internal
    // --------------------------------------------------------------------------------------------

    /**
     * @dev Number of vouchers of `campaign_` (of `issued`) redeemed: the set bits of its bitmap
     * words but the sentinels. A view's loop, one SLOAD per 255 vouchers (706 words for the
     * largest campaign), so that a redemption need not write a counter (it would cost 2,900 gas more).
     */
    function _countRedeemed(uint32 campaign_, uint32 issued) private view returns (uint32 count) {
        uint256 first = uint256(campaign_) << 32;
        // Safe: at most 706 words of at most 255 set bits each.
        unchecked {
            uint256 end = first + (uint256(issued) + VOUCHERS_PER_WORD - 1) / VOUCHERS_PER_WORD;
            for (uint256 key = first; key < end; ++key) {
                count += uint32(_popCount(_redeemed[key] & ~SENTINEL));
            }
        }
    }

    /// @dev Number of set bits of `x`, which has at most 255 (bit 255 clear): SWAR, as in
    /// "Hacker's Delight" 5-1, with the byte sums added by one multiplication (at most 255, so the
    /// top byte does not overflow).
    function _popCount(uint256 x) private pure returns (uint256 count) {
        assembly ("memory-safe") {
            let m1 := 0x5555555555555555555555555555555555555555555555555555555555555555
            let m2 := 0x3333333333333333333333333333333333333333333333333333333333333333
            let m4 := 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
            x := sub(x, and(shr(1, x), m1))
            x := add(and(x, m2), and(shr(2, x), m2))
            x := and(add(x, shr(4, x)), m4)
            count := shr(248, mul(x, 0x0101010101010101010101010101010101010101010101010101010101010101))
        }
    }

    /**
     * @dev `voucher` copied to memory, and its EIP-712 struct hash. The struct's seven fields are
     * the type's, in order, so the hash is that of the type hash followed by the seven words; the
     * words are range-checked here at once, as the ABI decoder would one by one, since a copy of
     * the whole calldata struct in Solidity costs some 2,000 gas more on a redemption.
     */
    function _load(Voucher calldata voucher) private pure returns (Voucher memory v, bytes32 structHash) {
        structHash = VOUCHER_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, structHash)
            calldatacopy(add(m, 0x20), voucher, 0xe0)
            mstore(0x40, add(m, 0x100))
            v := add(m, 0x20)
            // campaign, index: uint32; kind: uint8; value: uint96; gtin: uint64; validFrom, validUntil: uint40
            let dirty := or(shr(32, mload(v)), shr(32, mload(add(v, 0x20))))
            dirty := or(dirty, or(shr(8, mload(add(v, 0x40))), shr(96, mload(add(v, 0x60)))))
            dirty := or(dirty, or(shr(64, mload(add(v, 0x80))), or(shr(40, mload(add(v, 0xa0))), shr(40, mload(add(v, 0xc0))))))
            if dirty { revert(0, 0) }
            structHash := keccak256(m, 0x100)
        }
    }

    /**
     * @dev Reverts unless `v` is in range and well formed for campaign `record` and valid now
     * within the campaign's validity: {CouponIndexInvalid}, {CouponTermsInvalid},
     * {CouponNotYetValid}, {CouponExpired}.
     */
    function _checkVoucher(Voucher memory v, uint256 record) private view {
        uint32 issued = uint32(record >> ISSUED_SHIFT);
        if (v.index >= issued) revert CouponIndexInvalid(v.index, issued);
        uint8 kind = v.kind;
        uint96 value = v.value;
        if (value == 0 || (kind != VOUCHER_AMOUNT_OFF && (kind != VOUCHER_PERCENT_OFF || value > MAX_BPS))) {
            revert CouponTermsInvalid(kind, value);
        }
        uint40 from = v.validFrom;
        uint40 campaignFrom = uint40(record >> VALID_FROM_SHIFT);
        if (campaignFrom > from) from = campaignFrom;
        if (block.timestamp < from) revert CouponNotYetValid(from, block.timestamp);
        uint40 until = v.validUntil;
        uint40 campaignUntil = uint40(record >> VALID_UNTIL_SHIFT);
        if (campaignUntil < until) until = campaignUntil;
        if (block.timestamp > until) revert CouponExpired(until, block.timestamp);
    }

    /// @dev Sets the bit of voucher `index` of `campaign_`; reverts with {CouponAlreadyRedeemed}
    /// when it is set. The word's slot is derived once for the read and the write.
    function _setRedeemed(uint32 campaign_, uint32 index) private {
        uint256 slot;
        uint256 word;
        uint256 bit;
        // Safe: `index < issued <= MAX_VOUCHERS`.
        unchecked {
            uint256 key = (uint256(campaign_) << 32) | (index / VOUCHERS_PER_WORD);
            bit = 1 << (index % VOUCHERS_PER_WORD);
            assembly ("memory-safe") {
                mstore(0x00, key)
                mstore(0x20, _redeemed.slot)
                slot := keccak256(0x00, 0x40)
                word := sload(slot)
            }
        }
        if (word & bit != 0) revert CouponAlreadyRedeemed(campaign_, index);
        assembly ("memory-safe") {
            sstore(slot, or(word, bit))
        }
    }

    /// @dev EIP-712 digest of a `Voucher` (see {_load}).
    function _voucherDigest(Voucher calldata voucher) private view returns (bytes32) {
        (, bytes32 structHash) = _load(voucher);
        return _hashTypedDataV4(structHash);
    }
}
