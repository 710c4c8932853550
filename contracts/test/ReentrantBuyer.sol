// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IPriceGuarantee} from "../interfaces/IPriceGuarantee.sol";

/**
 * @dev Test buyer that attacks: when paid, its `receive` calls the price guarantee once more
 * with the calldata stored by {arm} (a claim of the same purchase, a credit withdrawal…) and
 * records whether that re-entry succeeded and the selector of the error it failed with, then
 * accepts the payment. It can also refuse payments ({setRejecting}), to get a credit.
 *
 * The flags share one slot, made nonzero by {arm} (`armed`), so that recording costs 2,900 gas
 * and `receive` stays within the 50,000 gas a payout gives (reading the stored calldata costs
 * 2,100 per word).
 */
contract ReentrantBuyer {
    /// @notice The price guarantee contract.
    IPriceGuarantee public immutable guarantee;
    /// @notice Whether {arm} stored a call to try.
    bool public armed;
    /// @notice Whether `receive` has tried the call since {arm}.
    bool public attempted;
    /// @notice Whether that re-entry succeeded.
    bool public reentered;
    /// @notice The first four bytes of the re-entry's revert data (0 when none).
    bytes4 public reason;
    /// @notice Whether `receive` refuses payments (without trying anything).
    bool public rejecting;
    /// @notice The calldata `receive` sends to the price guarantee.
    bytes public payload;

    constructor(IPriceGuarantee guarantee_) {
        guarantee = guarantee_;
    }

    /// @notice Makes the next payment re-enter the price guarantee with `payload_`.
    function arm(bytes calldata payload_) external {
        payload = payload_;
        armed = true;
        attempted = false;
        reentered = false;
        reason = 0;
    }

    /// @notice Refuse payments (`true`) or accept them again (`false`).
    function setRejecting(bool rejecting_) external {
        rejecting = rejecting_;
    }

    /// @notice Withdraws this buyer's credit in `currency` (its `receive` then re-enters if armed).
    function withdrawCredit(address currency) external {
        guarantee.withdrawCredit(currency);
    }

    /// @notice Tries the stored call once, records the outcome, accepts the payment.
    receive() external payable {
        if (rejecting) revert();
        if (!armed || attempted) return;
        (bool ok, bytes memory data) = address(guarantee).call(payload);
        attempted = true;
        reentered = ok;
        reason = data.length >= 4 ? bytes4(data) : bytes4(0);
    }
}
