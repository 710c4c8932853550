/** One viem public client per page: reads only, straight from the node named in config.json. */
import { createPublicClient, defineChain, http, type PublicClient } from 'viem'
import type { Config } from './config'

export function publicClientFor(config: Config): PublicClient {
  const chain = defineChain({
    id: config.deployment.chainId,
    name: config.deployment.chainId === 31337 ? 'Local chain (Anvil)' : `Chain ${config.deployment.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  })
  return createPublicClient({ chain, transport: http(config.rpcUrl, { batch: true, retryCount: 2 }) })
}
