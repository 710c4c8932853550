// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/**
 * @dev Test helper: makes several calls to one contract in one transaction, so that they share a
 * block and its timestamp (eth-tester mines one transaction per block), reverting with the first
 * failure's own revert data. Made a channel key, it publishes two prices in the same second.
 */
contract BatchCaller {
    /// @notice Calls `target` with each of `calls`, in order, all or nothing.
    function callAll(address target, bytes[] calldata calls) external {
        for (uint256 i; i < calls.length; ++i) {
            (bool ok, bytes memory data) = target.call(calls[i]);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(data, 0x20), mload(data))
                }
            }
        }
    }
}
