// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @dev A stablecoin for tests and local demos: "Test USD" (tUSD), 6 decimals like USDC, and a
 * {mint} open to anyone. Never deploy it where its tokens could be taken for money.
 */
contract TestStablecoin is ERC20 {
    constructor() ERC20("Test USD", "tUSD") {}

    /// @notice Creates `amount` base units (10^-6 tUSD) for `to`; anyone may call.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
