// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {IPriceGuarantee} from "./interfaces/IPriceGuarantee.sol";
import {ChannelId, RetailerId, channelKeyAccepts} from "./Types.sol";

/**
 * @dev Who may act for a merchant, as {IPriceGuarantee} says, for the contracts built on its
 * channels (ReviewBoard, CouponBook): a channel's keys and its retailer's admins. Reads only.
 *
 * What a key signed is judged by the guarantee's own rule, `channelKeyAccepts` (Types.sol): the
 * key was live when the message is dated, and is live now, or (for what consumers hold) its
 * rotation's grace has not run out. A key that never served reads as zeros and counts for nothing.
 */
library ChannelAccess {
    /**
     * @dev The retailer and channel that `key` serves in `guarantee`, when a message it signed
     * dated `signedAt` counts now (`consumerHeld`: a receipt or voucher, which the rotation's grace
     * covers); (0, 0) otherwise. With `signedAt == block.timestamp` and `consumerHeld == false`:
     * whether `key` is live now. One `channelKey` call, made in scratch memory (on a coupon's
     * redemption path, called twice, this saves some 400 gas over the high-level call and its
     * struct).
     */
    function acceptedKey(IPriceGuarantee guarantee, address key, uint256 signedAt, bool consumerHeld)
        internal
        view
        returns (RetailerId retailer, ChannelId channel)
    {
        (uint256 r, uint256 c, uint256 activeFrom, uint256 revokedAt, uint256 grace) = _channelKey(guarantee, key);
        if (channelKeyAccepts(activeFrom, revokedAt, grace, signedAt, consumerHeld)) {
            (retailer, channel) = (RetailerId.wrap(uint32(r)), ChannelId.wrap(uint32(c)));
        }
    }

    /// @dev `guarantee.channelKey(key)`'s five words, the call and its return data in the free
    /// memory without allocating it: nothing is kept there.
    function _channelKey(IPriceGuarantee guarantee, address key)
        private
        view
        returns (uint256 r, uint256 c, uint256 activeFrom, uint256 revokedAt, uint256 grace)
    {
        bytes4 selector = IPriceGuarantee.channelKey.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), key)
            if iszero(staticcall(gas(), guarantee, m, 0x24, m, 0xa0)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            if lt(returndatasize(), 0xa0) { revert(0, 0) }
            r := and(mload(m), 0xffffffff)
            c := and(mload(add(m, 0x20)), 0xffffffff)
            activeFrom := mload(add(m, 0x40))
            revokedAt := mload(add(m, 0x60))
            grace := mload(add(m, 0x80))
        }
    }

    /// @dev The retailer and channel that `key` serves in `guarantee` when it is live now; (0, 0)
    /// otherwise. A key is live now when it was activated (at a past block's time) and not revoked:
    /// what `channelKeyAccepts(activeFrom, revokedAt, grace, block.timestamp, false)` says, read
    /// without the rest of the rule, which judges signed messages (this judges the caller).
    function liveKey(IPriceGuarantee guarantee, address key) internal view returns (RetailerId retailer, ChannelId channel) {
        (uint256 r, uint256 c, uint256 activeFrom, uint256 revokedAt,) = _channelKey(guarantee, key);
        if (activeFrom != 0 && revokedAt == 0) (retailer, channel) = (RetailerId.wrap(uint32(r)), ChannelId.wrap(uint32(c)));
    }

    /// @dev Whether `account` holds the admin role of `retailer` in `guarantee`; also returns the role.
    function isRetailerAdmin(IPriceGuarantee guarantee, RetailerId retailer, address account)
        internal
        view
        returns (bool, bytes32 role)
    {
        role = guarantee.retailerAdminRole(retailer);
        return (IAccessControl(address(guarantee)).hasRole(role, account), role);
    }

    /// @dev Reverts with OpenZeppelin's `AccessControlUnauthorizedAccount(account, role)` unless
    /// `account` is an admin of `retailer` in `guarantee`.
    function checkRetailerAdmin(IPriceGuarantee guarantee, RetailerId retailer, address account) internal view {
        (bool admin, bytes32 role) = isRetailerAdmin(guarantee, retailer, account);
        if (!admin) revert IAccessControl.AccessControlUnauthorizedAccount(account, role);
    }
}
