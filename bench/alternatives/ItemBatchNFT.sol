// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC721A} from "erc721a/contracts/ERC721A.sol";

/**
 * @dev The batch alternative to o2ochain's ProductRegistry: ERC721A (Azuki), whose `_mint` of `n`
 * tokens writes one ownership record and one balance update for the whole run. Benchmark only
 * (bench/compare.py); everything but `mintBatch` is ERC721A's, imported from the npm package.
 *
 * Token ids are sequential, so the token does not name its item: which serial is which token is
 * kept off chain. Only the owner (the brand's key) mints.
 */
contract ItemBatchNFT is ERC721A, Ownable {
    constructor(address brand) ERC721A("o2ochain bench item", "ITEM") Ownable(brand) {}

    /// @notice Mints `quantity` consecutive tokens to `to`.
    function mintBatch(address to, uint256 quantity) external onlyOwner {
        _mint(to, quantity);
    }
}
