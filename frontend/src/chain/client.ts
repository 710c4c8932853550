/** One viem public client per page: reads only, straight from the node named in config.json. */
import { createPublicClient, defineChain, http, type Chain, type PublicClient } from 'viem'
import type { Config } from './config'

export function chainFor(config: Config): Chain {
  return defineChain({
    id: config.deployment.chainId,
    name: config.deployment.chainId === 31337 ? 'Local chain (Anvil)' : `Chain ${config.deployment.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  })
}

export function publicClientFor(config: Config): PublicClient {
  return createPublicClient({ chain: chainFor(config), transport: http(config.rpcUrl, { batch: true, retryCount: 2 }) })
}
