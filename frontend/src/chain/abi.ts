/** ABIs from the shipped artifacts (src/o2ochain/abi/), the `abi` key only (see vite.config.ts). */
import productRegistry from '../../../src/o2ochain/abi/ProductRegistry.json?abi'
import traceLedger from '../../../src/o2ochain/abi/TraceLedger.json?abi'

export const productRegistryAbi = productRegistry
export const traceLedgerAbi = traceLedger
