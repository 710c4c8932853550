// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/**
 * @dev The alternative a brand might pick instead of o2ochain's ProductRegistry: one OpenZeppelin
 * ERC-721 token per item. Benchmark only (bench/compare.py); everything but the two entry points
 * below is OpenZeppelin's, imported from the npm package.
 *
 * The token id is the item's o2ochain id (keccak256 of its GS1 Digital Link path), so a token names
 * its item as an o2ochain registration does. Only the owner (the brand's key) mints, the access
 * check o2ochain's registrant role stands for. `_mint`, not `_safeMint`: the brand mints to its own
 * account, so there is no receiver to call.
 */
contract ItemNFT is ERC721, Ownable {
    constructor(address brand) ERC721("o2ochain bench item", "ITEM") Ownable(brand) {}

    /// @notice Mints the token of `item` to `to`.
    function mint(address to, uint256 item) external onlyOwner {
        _mint(to, item);
    }

    /// @notice Mints the tokens of `items` to `to`, one `_mint` each: the batch a brand would write.
    function mintBatch(address to, uint256[] calldata items) external onlyOwner {
        for (uint256 i = 0; i < items.length; ++i) {
            _mint(to, items[i]);
        }
    }
}
