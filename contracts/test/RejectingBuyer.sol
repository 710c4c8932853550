// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IPriceGuarantee} from "../interfaces/IPriceGuarantee.sol";

/**
 * @dev Test buyer: a contract account whose `receive` reverts while it refuses payments (from
 * deployment until {setAccepting}(true)), so that a price-guarantee payout to it fails and is
 * credited; it pulls the credit with {withdrawCredit}.
 */
contract RejectingBuyer {
    /// @notice The price guarantee contract this buyer withdraws from.
    IPriceGuarantee public immutable guarantee;
    /// @notice Whether `receive` accepts payments.
    bool public accepting;

    /// @notice Thrown by `receive` while payments are refused.
    error RejectingBuyerRefused(uint256 amount);

    constructor(IPriceGuarantee guarantee_) {
        guarantee = guarantee_;
    }

    /// @notice Refuses every payment while `accepting` is false.
    receive() external payable {
        if (!accepting) revert RejectingBuyerRefused(msg.value);
    }

    /// @notice Accept payments from now on (`true`) or refuse them again (`false`).
    function setAccepting(bool accepting_) external {
        accepting = accepting_;
    }

    /// @notice Withdraws this buyer's credit in `currency` from the price guarantee.
    function withdrawCredit(address currency) external {
        guarantee.withdrawCredit(currency);
    }
}
