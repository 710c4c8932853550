/** ABIs from the shipped artifacts (src/o2ochain/abi/), the `abi` key only (see vite.config.ts). */
import consentRegistry from '../../../src/o2ochain/abi/ConsentRegistry.json?abi'
import couponBook from '../../../src/o2ochain/abi/CouponBook.json?abi'
import errors from '../../../src/o2ochain/abi/Errors.json?abi'
import forwarder from '../../../src/o2ochain/abi/Forwarder.json?abi'
import priceGuarantee from '../../../src/o2ochain/abi/PriceGuarantee.json?abi'
import productRegistry from '../../../src/o2ochain/abi/ProductRegistry.json?abi'
import reviewBoard from '../../../src/o2ochain/abi/ReviewBoard.json?abi'
import traceLedger from '../../../src/o2ochain/abi/TraceLedger.json?abi'

export const productRegistryAbi = productRegistry
export const traceLedgerAbi = traceLedger
export const consentRegistryAbi = consentRegistry
export const priceGuaranteeAbi = priceGuarantee
export const reviewBoardAbi = reviewBoard
export const couponBookAbi = couponBook
/** The ERC-2771 forwarder through which derived shopper addresses act (src/wallet/relay.ts). */
export const forwarderAbi = forwarder
/** Every custom error of every contract (ours and OpenZeppelin's), to decode a revert. */
export const errorsAbi = errors
