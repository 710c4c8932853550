/**
 * ABIs from the shipped artifacts (src/o2ochain/abi/), the `abi` key only (see vite.config.ts).
 *
 * Re-exports only, so that each ABI goes with the code that uses it: a module of constants here
 * would put every contract's ABI in the page's first download (about 130 kB before gzip), where
 * the verdict and the history need two.
 */
export { default as productRegistryAbi } from '../../../src/o2ochain/abi/ProductRegistry.json?abi'
export { default as traceLedgerAbi } from '../../../src/o2ochain/abi/TraceLedger.json?abi'
export { default as consentRegistryAbi } from '../../../src/o2ochain/abi/ConsentRegistry.json?abi'
export { default as priceGuaranteeAbi } from '../../../src/o2ochain/abi/PriceGuarantee.json?abi'
export { default as reviewBoardAbi } from '../../../src/o2ochain/abi/ReviewBoard.json?abi'
export { default as couponBookAbi } from '../../../src/o2ochain/abi/CouponBook.json?abi'
/** The ERC-2771 forwarder through which derived shopper addresses act (src/wallet/relay.ts). */
export { default as forwarderAbi } from '../../../src/o2ochain/abi/Forwarder.json?abi'
/** Every custom error of every contract (ours and OpenZeppelin's), to decode a revert. */
export { default as errorsAbi } from '../../../src/o2ochain/abi/Errors.json?abi'
