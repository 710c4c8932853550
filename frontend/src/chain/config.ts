/**
 * The page's configuration, served as config.json next to index.html by whoever serves the page
 * (`o2ochain demo` locally): the RPC URL, the deployment manifest (src/o2ochain/deployments.py)
 * and where the off-chain content lives. The chain is the source of truth; the server only says
 * where to find it.
 */
import { getAddress, type Address } from 'viem'

export interface ContractDeployment {
  address: Address
  block: bigint
  txHash: string
}

export interface Deployment {
  chainId: number
  genesis?: string | null
  contracts: Record<string, ContractDeployment>
}

export interface Config {
  rpcUrl: string
  deployment: Deployment
  /** Base URL of the EPCIS event store: `<events>/<2 hex>/<64 hex>.json`. */
  events?: string
  /** Where the store answers a POST of `{"hashes": [...]}` with each file's text (or null), in one request. */
  eventsBatch?: string
  /** Base URL of the content store (reviews, merchant pages). */
  content?: string
  /** Base URL of Merkle proofs by item id: `<proofs><0x item id>.json` (checked on chain). */
  proofs?: string
  /**
   * Where the page posts `{"to", "data"}` of a call a derived shopper address signed (or that
   * carries its own authority), for a relayer to send and pay for (src/o2ochain/demo/_server.py `POST
   * /relay`). Without one, the page cannot write.
   */
  relay?: string
  /**
   * Base URL of the index (the Ponder app in indexer/): lists are read from its `POST /o2o/logs`
   * and checked on chain (chain/logs.ts). Without one, the page reads the node in bounded chunks.
   */
  index?: string
  /** Built-in test accounts, offered by the wallet menu on a local chain only. */
  testAccounts: TestAccount[]
  /** Data users (retailers) a consumer may grant consent to, with the notice they show. */
  dataUsers: DataUser[]
  /** A demo's sample items and merchant pages, listed on the home page; empty on a real deployment. */
  samples: Sample[]
}

/** One entry of the home page's demo list: an item (its Digital Link) or a merchant page (its channel). */
export type Sample = { label: string; item: string } | { label: string; merchant: string }

export interface TestAccount {
  label: string
  privateKey: `0x${string}`
}

export interface DataUser {
  name: string
  address: Address
  /** The privacy notice shown before a grant; its keccak256 is what the consent records. */
  notice?: string
}

/** Anvil's and Hardhat's chain id: built-in test accounts are honoured on it only. */
export const LOCAL_CHAIN_ID = 31337

interface RawConfig {
  rpcUrl: string
  deployment: {
    chainId: number
    genesis?: string | null
    contracts: Record<string, { address: string; block: number; txHash: string }>
  }
  events?: string
  eventsBatch?: string
  content?: string
  proofs?: string
  relay?: string
  index?: string
  testAccounts?: Array<{ label: string; privateKey: string }>
  dataUsers?: Array<{ name: string; address: string; notice?: string }>
  samples?: Array<{ label?: unknown; item?: unknown; merchant?: unknown }>
}

/** The well-formed entries of config.json's optional "samples" (anything else is left out, not an error: it is only a list of links). */
function samplesOf(raw: RawConfig['samples']): Sample[] {
  const out: Sample[] = []
  for (const s of Array.isArray(raw) ? raw : []) {
    if (typeof s?.label !== 'string' || !s.label) continue
    if (typeof s.item === 'string' && s.item) out.push({ label: s.label, item: s.item })
    else if ((typeof s.merchant === 'string' && s.merchant) || typeof s.merchant === 'number') out.push({ label: s.label, merchant: String(s.merchant) })
  }
  return out
}

export async function loadConfig(url = './config.json'): Promise<Config> {
  // index.html started the request before the code arrived; take it (once), else ask now.
  const early = (window as { o2ochainConfig?: Promise<Response> }).o2ochainConfig
  delete (window as { o2ochainConfig?: Promise<Response> }).o2ochainConfig
  const response = url === './config.json' && early ? await early.catch(() => fetch(url, { cache: 'no-store' })) : await fetch(url, { cache: 'no-store' })
  if (!response.ok) throw new Error(`could not load ${url}: HTTP ${response.status}`)
  const raw = (await response.json()) as RawConfig
  if (!raw.rpcUrl || !raw.deployment?.contracts) throw new Error(`${url} has no rpcUrl or deployment`)
  const contracts: Record<string, ContractDeployment> = {}
  for (const [name, c] of Object.entries(raw.deployment.contracts)) {
    contracts[name] = { address: getAddress(c.address), block: BigInt(c.block), txHash: c.txHash }
  }
  return {
    rpcUrl: raw.rpcUrl,
    deployment: { chainId: Number(raw.deployment.chainId), genesis: raw.deployment.genesis, contracts },
    events: raw.events,
    eventsBatch: raw.eventsBatch,
    content: raw.content,
    proofs: raw.proofs,
    relay: raw.relay,
    index: typeof raw.index === 'string' && raw.index ? new URL(raw.index, new URL(url, window.location.href)).href : undefined,
    testAccounts:
      Number(raw.deployment.chainId) === LOCAL_CHAIN_ID
        ? (raw.testAccounts ?? []).filter((a) => /^0x[0-9a-fA-F]{64}$/.test(a.privateKey)).map((a) => ({ label: a.label, privateKey: a.privateKey as `0x${string}` }))
        : [],
    dataUsers: (raw.dataUsers ?? []).map((u) => ({ name: u.name, address: getAddress(u.address), notice: u.notice })),
    samples: samplesOf(raw.samples),
  }
}

export function contractOf(config: Config, name: string): ContractDeployment {
  const found = config.deployment.contracts[name]
  if (!found) throw new Error(`the deployment for chain ${config.deployment.chainId} has no ${name}`)
  return found
}
