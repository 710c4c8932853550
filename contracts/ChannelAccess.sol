// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {IPriceGuarantee} from "./interfaces/IPriceGuarantee.sol";
import {ChannelId, RetailerId} from "./Types.sol";

/**
 * @dev Who may act for a merchant, as {IPriceGuarantee} says, for the contracts built on its
 * channels (ReviewBoard, CouponBook): a channel's keys and its retailer's admins. Reads only.
 *
 * A key is live at time `t` when `activeFrom <= t` and (`revokedAt == 0` or `t < revokedAt`),
 * the guarantee's own rule; a key that never served reads as zeros and is live at no time.
 */
library ChannelAccess {
    /**
     * @dev The retailer and channel that `key` serves in `guarantee`, when it is live at time `at`;
     * (0, 0) otherwise. One `channelKey` call, made in scratch memory (on a coupon's redemption
     * path, called twice, this saves some 400 gas over the high-level call and its struct).
     */
    function liveKey(IPriceGuarantee guarantee, address key, uint256 at)
        internal
        view
        returns (RetailerId retailer, ChannelId channel)
    {
        bytes4 selector = IPriceGuarantee.channelKey.selector;
        assembly ("memory-safe") {
            // The call's input and its four return words (retailer, channel, activeFrom,
            // revokedAt) use the free memory without allocating it: nothing is kept there.
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), key)
            if iszero(staticcall(gas(), guarantee, m, 0x24, m, 0x80)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            if lt(returndatasize(), 0x80) { revert(0, 0) }
            let activeFrom := mload(add(m, 0x40))
            let revokedAt := mload(add(m, 0x60))
            if and(iszero(gt(activeFrom, at)), or(iszero(revokedAt), lt(at, revokedAt))) {
                retailer := and(mload(m), 0xffffffff)
                channel := and(mload(add(m, 0x20)), 0xffffffff)
            }
        }
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
