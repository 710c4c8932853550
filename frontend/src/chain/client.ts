/**
 * One viem public client per page: reads only, straight from the node named in config.json.
 *
 * viem's `createPublicClient` binds every public action (simulation, ENS, signature checks,
 * watchers…), which costs a phone about half of the page's up-front code. The product page's first
 * paint needs three of them: `readContract` (the verdict), `getBlockNumber` (the head the lists are
 * read to) and `getBlock`; those are bound here at once. The others are bound as the same client's
 * methods that load viem's full set of public actions on first use (./publicActions.ts, a chunk of
 * its own), so the code that calls them (wallet writes, the account page) is unchanged.
 *
 * `readContract` itself is {@link readView}, viem's own steps (encodeFunctionData, eth_call,
 * decodeFunctionResult, getContractError for a revert) without viem's `call`, whose extras (ENS
 * off-chain lookups, deployless calls and their bytecode, state overrides) a view read of our
 * contracts never uses; a read that asks for more than a view read is viem's.
 */
import { createClient, decodeFunctionResult, defineChain, encodeFunctionData, getContractError, http, numberToHex, type BaseError, type Chain, type Client, type Hex, type PublicClient } from 'viem'
import { getBlock, getBlockNumber } from 'viem/actions'
import type { Config } from './config'

export function chainFor(config: Config): Chain {
  return defineChain({
    id: config.deployment.chainId,
    name: config.deployment.chainId === 31337 ? 'Local chain (Anvil)' : `Chain ${config.deployment.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  })
}

/**
 * The public actions bound on first use (every one of viem's that returns a promise, besides the
 * three bound at once). viem's watchers answer synchronously and are left out: nothing here
 * watches, and a lazily loaded watcher could not return its `unwatch`.
 */
const LATER = [
  'call',
  'createAccessList',
  'createBlockFilter',
  'createContractEventFilter',
  'createEventFilter',
  'createPendingTransactionFilter',
  'estimateContractGas',
  'estimateFeesPerGas',
  'estimateGas',
  'estimateMaxPriorityFeePerGas',
  'fillTransaction',
  'getBalance',
  'getBlobBaseFee',
  'getBlockReceipts',
  'getBlockTransactionCount',
  'getBytecode',
  'getChainId',
  'getCode',
  'getContractEvents',
  'getDelegation',
  'getEip712Domain',
  'getEnsAddress',
  'getEnsAvatar',
  'getEnsName',
  'getEnsResolver',
  'getEnsText',
  'getFeeHistory',
  'getFilterChanges',
  'getFilterLogs',
  'getGasPrice',
  'getLogs',
  'getProof',
  'getRawTransaction',
  'getStorageAt',
  'getTransaction',
  'getTransactionConfirmations',
  'getTransactionCount',
  'getTransactionReceipt',
  'multicall',
  'prepareTransactionRequest',
  'sendRawTransaction',
  'simulateBlocks',
  'simulateCalls',
  'simulateContract',
  'uninstallFilter',
  'verifyHash',
  'verifyMessage',
  'verifySiweMessage',
  'verifyTypedData',
  'waitForTransactionReceipt',
] as const satisfies ReadonlyArray<keyof PublicClient>

/** What {@link readView} takes of viem's readContract parameters: anything else goes to viem's readContract. */
const VIEW_READ_KEYS = new Set(['address', 'abi', 'functionName', 'args', 'blockNumber', 'blockTag'])

/**
 * A view function's answer by one eth_call at `blockNumber` (or `blockTag`, default "latest"),
 * decoded as viem decodes it; a revert or a node error is thrown as viem's readContract throws it
 * (ContractFunctionExecutionError, the revert decoded with the ABI's errors).
 */
export async function readView(client: Client, parameters: Parameters<PublicClient['readContract']>[0]): Promise<unknown> {
  const { address, abi, functionName, args, blockNumber, blockTag } = parameters as {
    address: Hex
    abi: readonly unknown[]
    functionName: string
    args?: readonly unknown[]
    blockNumber?: bigint
    blockTag?: string
  }
  const data = encodeFunctionData({ abi, functionName, args } as Parameters<typeof encodeFunctionData>[0])
  const block = blockNumber === undefined ? (blockTag ?? 'latest') : numberToHex(blockNumber)
  try {
    const answer = (await client.request({ method: 'eth_call', params: [{ to: address, data }, block] } as never)) as Hex | null
    return decodeFunctionResult({ abi, functionName, args, data: answer || '0x' } as Parameters<typeof decodeFunctionResult>[0])
  } catch (error) {
    throw getContractError(error as BaseError, { abi: abi as never, address, args, docsPath: '/docs/contract/readContract', functionName })
  }
}

export function publicClientFor(config: Config): PublicClient {
  const base = createClient({ chain: chainFor(config), transport: http(config.rpcUrl, { batch: true, retryCount: 2 }) })
  let all: Promise<Record<string, (args?: unknown) => Promise<unknown>>> | undefined
  const full = () =>
    (all ??= import('./publicActions').then(({ publicActions }) => publicActions(base) as unknown as Record<string, (args?: unknown) => Promise<unknown>>))
  const later = (name: string) => async (args?: unknown) => (await full())[name](args)
  // The eager actions run on `base`: viem's actions look their helpers up on the client they are
  // given, and a lazy one would load the whole set for every call.
  const eager = {
    readContract: (args: Parameters<PublicClient['readContract']>[0]) =>
      Object.keys(args).every((key) => VIEW_READ_KEYS.has(key) || (args as Record<string, unknown>)[key] === undefined) ? readView(base, args) : later('readContract')(args),
    getBlockNumber: (args?: Parameters<PublicClient['getBlockNumber']>[0]) => getBlockNumber(base, args),
    getBlock: (args?: Parameters<PublicClient['getBlock']>[0]) => getBlock(base, args),
  } as unknown as Pick<PublicClient, 'readContract' | 'getBlockNumber' | 'getBlock'>
  // viem's `extend` (a client's own properties stay, the actions are added) is typed for its own
  // action sets only; the result is a PublicClient with every action, whichever way it is bound.
  const client = base.extend(() => ({ ...(Object.fromEntries(LATER.map((name) => [name, later(name)])) as Pick<PublicClient, (typeof LATER)[number]>), ...eager }) as never)
  return client as unknown as PublicClient
}
