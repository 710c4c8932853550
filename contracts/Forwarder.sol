// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";

/**
 * @dev The o2ochain ERC-2771 forwarder: OpenZeppelin's ERC2771Forwarder under the EIP-712 domain
 * name "o2ochain Forwarder" (version "1"), trusted by the ReviewBoard. A relayer (the gateway, a
 * store, a keeper) sends a consumer's signed `ForwardRequest` and pays its gas, so that a
 * one-purchase address that holds no coin can review and vote, and nothing on chain ties it to
 * the consumer's other addresses. It holds no funds and has no admin.
 */
contract Forwarder is ERC2771Forwarder {
    constructor() ERC2771Forwarder("o2ochain Forwarder") {}

    /// @notice Version of this contract, "1".
    function version() external pure returns (string memory) {
        return "1";
    }
}
