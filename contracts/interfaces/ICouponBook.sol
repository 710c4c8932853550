// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IPriceGuarantee} from "./IPriceGuarantee.sol";
import {CampaignView, ChannelId, RetailerId, Voucher} from "../Types.sol";

/**
 * @dev Coupon campaigns and one-time vouchers: the "traffic conversion" and "offline consumption"
 * steps of the O2O loop. A merchant hands out vouchers online; a consumer shows one as a QR code
 * in a shop; the shop redeems it on chain, once.
 *
 * Merchants and shops are channels of {IPriceGuarantee}; a key is live at time t when
 * `activeFrom <= t` and (`revokedAt == 0` or `t < revokedAt`), as `guarantee.channelKey` tells.
 *
 * Campaigns. An admin of a retailer (a holder of `guarantee.retailerAdminRole(retailer)`) creates
 * a campaign for one of its channels, the MERCHANT ({createCampaign}): how many vouchers it may
 * sign (`issued`, 1..MAX_VOUCHERS = 180,000, so that creating it fits one transaction), the period its vouchers may be redeemed in (`validFrom` ..
 * `validUntil`, both inclusive), and the hash and uri of its terms document. Campaigns are
 * numbered from 1 and never change.
 *
 * Who signs. A key of the merchant channel signs each voucher off chain (EIP-712 `Voucher`, below):
 * its campaign, its number `index` (0..issued-1), its kind and value (VOUCHER_AMOUNT_OFF: `value`
 * base units of the retailer's currency off; VOUCHER_PERCENT_OFF: `value` basis points off,
 * 1..10,000), its product (`gtin`, 0 for the whole store) and its own validity, which counts only
 * within the campaign's. What the key signed is judged at redemption by the guarantee's one rule
 * (`channelKeyAccepts`, Types.sol): the key was live at the voucher's `validFrom`, and is live
 * now or within the grace its rotation gave (at most 7 days); a key rotated as compromised (no
 * grace) makes every voucher it signed worthless at once, so a stolen key signs nothing a shop
 * will redeem. The campaign number and the EIP-712 domain (name "o2ochain CouponBook",
 * version "1", chain id, this contract) keep a voucher to one campaign, chain and contract.
 *
 * Who redeems. A key live now of ANY channel of the campaign's retailer ({redeem}): the voucher
 * of an online shop is good in the retailer's stores. The shop names the till receipt it was used
 * on (`receiptHash`, may be 0), so the discount is tied to the sale. A consumer or a third party
 * cannot redeem, so a voucher seen over someone's shoulder cannot be burnt remotely.
 *
 * Once. Redemptions are a BITMAP per campaign, in the style of Permit2's unordered nonces, with 255
 * vouchers per 256-bit word: voucher `index` is bit `index % 255` of word `index / 255`. Bit 255
 * of every word is a SENTINEL that {createCampaign} sets, so every word of a campaign is nonzero
 * from its creation. Why: writing a zero slot costs 22,100 gas, rewriting a nonzero one 5,000. With
 * the sentinel, the issuer pays for the storage of all its vouchers up front (ceil(N/255) slots,
 * some 87 gas per voucher), and each redemption, made by a shop at the till, costs the same small
 * amount whether it is the first of its word or not. A campaign of MAX_VOUCHERS writes 706 words
 * (some 15.8M gas): under the 16,777,216 gas a transaction may use (EIP-7825); a larger one is
 * split into several campaigns.
 *
 * EIP-712 type (on one line, without spaces):
 *
 *     Voucher(uint32 campaign,uint32 index,uint8 kind,uint96 value,uint64 gtin,uint40 validFrom,
 *             uint40 validUntil)
 */
interface ICouponBook {
    // --------------------------------------------------------------------------------------------
    // Errors
    // --------------------------------------------------------------------------------------------

    /// @notice `campaign` has not been created.
    error CouponCampaignUnknown(uint32 campaign);
    /// @notice A campaign must issue 1..180,000 vouchers and have `validFrom <= validUntil`,
    /// with `validUntil` not in the past.
    error CouponCampaignInvalid(uint32 issued, uint40 validFrom, uint40 validUntil);
    /// @notice `caller` is not a live key of a channel of the campaign's retailer.
    error CouponNotShop(address caller);
    /// @notice Voucher number `index` is not below the campaign's `issued`.
    error CouponIndexInvalid(uint32 index, uint32 issued);
    /// @notice `kind` is not VOUCHER_AMOUNT_OFF or VOUCHER_PERCENT_OFF, or `value` is 0, or a
    /// percentage above 10,000 basis points.
    error CouponTermsInvalid(uint8 kind, uint96 value);
    /// @notice The voucher may be redeemed from `validFrom` (the later of its own and its
    /// campaign's start); it is `now`.
    error CouponNotYetValid(uint40 validFrom, uint256 now);
    /// @notice The voucher could be redeemed until `validUntil` (the earlier of its own and its
    /// campaign's end); it is `now`.
    error CouponExpired(uint40 validUntil, uint256 now);
    /// @notice `signer` (0 for a malformed signature) is not a key of the campaign's merchant
    /// channel that was live at the voucher's `validFrom` and still counts now (live, or within
    /// its rotation's grace).
    error CouponSignatureInvalid(address signer);
    /// @notice Voucher `index` of `campaign` has already been redeemed.
    error CouponAlreadyRedeemed(uint32 campaign, uint32 index);
    /// @notice OpenZeppelin's error (IAccessControl), raised when `account` lacks `neededRole`:
    /// here, the admin role of the merchant's retailer.
    error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);

    // --------------------------------------------------------------------------------------------
    // Events
    // --------------------------------------------------------------------------------------------

    /// @notice An admin of `retailer` created `campaign` of `issued` vouchers signed by `merchant`,
    /// redeemable from `validFrom` to `validUntil`, with terms `termsHash` at `uri`.
    event CampaignCreated(
        uint32 indexed campaign,
        ChannelId indexed merchant,
        RetailerId indexed retailer,
        uint32 issued,
        uint40 validFrom,
        uint40 validUntil,
        bytes32 termsHash,
        string uri
    );
    /// @notice Voucher `index` of `campaign` (`kind`, `value`, `gtin` as signed) was redeemed by
    /// channel `shop` on the till receipt `receiptHash` (0: none given).
    event CouponRedeemed(
        uint32 indexed campaign,
        uint32 indexed index,
        ChannelId indexed shop,
        uint8 kind,
        uint96 value,
        uint64 gtin,
        bytes32 receiptHash
    );

    // --------------------------------------------------------------------------------------------
    // Functions
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Creates a campaign of `issued` vouchers (numbers 0..issued-1) that keys of channel
     * `merchant` sign, redeemable from `validFrom` to `validUntil` (both inclusive), with terms
     * `termsHash` at `uri` (logged only).
     * @dev Only an admin of the merchant's retailer. Reverts with `GuaranteeChannelUnknown`
     * (IPriceGuarantee's error) for an unknown channel, {AccessControlUnauthorizedAccount},
     * {CouponCampaignInvalid}. Writes the campaign and ceil(issued / 255) bitmap words, each with
     * its sentinel: about 22,100 gas per 255 vouchers. Emits {CampaignCreated}.
     * @return campaign The new campaign's number (sequential from 1).
     */
    function createCampaign(
        ChannelId merchant,
        uint32 issued,
        uint40 validFrom,
        uint40 validUntil,
        bytes32 termsHash,
        string calldata uri
    ) external returns (uint32 campaign);

    /**
     * @notice Redeems `voucher`, signed by the campaign's merchant, in the caller's shop, on the
     * till receipt `receiptHash` (0: none given).
     * @dev Checks, in order: {CouponCampaignUnknown}; {CouponNotShop} unless the caller is a key,
     * live now, of a channel of the campaign's retailer; {CouponIndexInvalid}; {CouponTermsInvalid};
     * {CouponNotYetValid} / {CouponExpired} unless now is within both the voucher's and the
     * campaign's validity; {CouponSignatureInvalid} unless signed by a key of the merchant channel
     * live at `voucher.validFrom` and live now or within its rotation's grace; {CouponAlreadyRedeemed}. Then sets the voucher's bit and emits
     * {CouponRedeemed} with the caller's channel as `shop`.
     */
    function redeem(Voucher calldata voucher, bytes calldata signature, bytes32 receiptHash) external;

    /**
     * @notice `campaign` with its redemption count; `merchant == 0` and zeros when unknown.
     * @dev `redeemed` is counted from the campaign's bitmap (no counter is written on a
     * redemption): one SLOAD per 255 vouchers, some 1.5M gas for the largest campaign. Cheap
     * in `eth_call`; a contract that needs it on chain pays for the loop.
     */
    function campaign(uint32 campaign) external view returns (CampaignView memory);

    /// @notice Number of campaigns created: the numbers are 1..campaignCount.
    function campaignCount() external view returns (uint32);

    /// @notice Whether voucher `index` of `campaign` has been redeemed (false for an unknown
    /// campaign or an index out of range).
    function isRedeemed(uint32 campaign, uint32 index) external view returns (bool);

    /// @notice The EIP-712 digest a merchant key signs for `voucher`.
    function voucherDigest(Voucher calldata voucher) external view returns (bytes32);

    /// @notice The price guarantee whose channels are the merchants and shops.
    function guarantee() external view returns (IPriceGuarantee);

    /// @notice Version of this contract, "1".
    function version() external pure returns (string memory);
}
