/** ProductRegistry reads: what a scan of an item shows (contracts/interfaces/IProductRegistry.sol). */
import type { Address, Hex, PublicClient } from 'viem'
import { getAbiItem, zeroAddress, type AbiEvent } from 'viem'
import { productRegistryAbi } from './abi'
import { contractOf, type Config } from './config'
import { logReader } from './logs'
import { fromBytes32, yymmddToDate } from './gs1'

/** ItemStatus in contracts/Types.sol. */
export const ItemStatus = { Unregistered: 0, Active: 1, Recalled: 2, Decommissioned: 3 } as const

export type Verdict = 'authentic' | 'not registered' | 'recalled' | 'claimed' | 'decommissioned'

export interface ItemView {
  registered: boolean
  brand: bigint
  gtin: bigint
  lot: Hex
  lotCode: Hex
  expiry: number
  status: number
  lotRecalled: boolean
  claimedBy: Address
  registeredAt: bigint
}

export interface BrandView {
  name: string
  prefixes: readonly string[]
  registeredAt: bigint
}

export interface Verification {
  item: Hex
  verdict: Verdict
  view: ItemView
  /** True when the item is known by its Merkle proof (a committed lot), checked on chain. */
  merkle?: boolean
  /** The item's brand, once {@link brandView} has read it (the verdict shows before it). */
  brand?: BrandView
  gtin?: string
  lot?: string
  expiry?: string
}

/** The verdict, as `o2ochain verify` gives it: recalled first, then claimed, then authentic. */
export function verdictOf(view: ItemView): Verdict {
  if (!view.registered) return 'not registered'
  if (view.status === ItemStatus.Recalled || view.lotRecalled) return 'recalled'
  if (view.status === ItemStatus.Decommissioned) return 'decommissioned'
  if (view.claimedBy !== zeroAddress) return 'claimed'
  return 'authentic'
}

/**
 * The verdict: one eth_call of `verify` (and, for an item not in storage, of `verifyMerkle` with
 * the proof the server gives). The brand's name is not part of it: {@link brandView} reads it
 * after, so that the verdict takes one round trip to the node.
 */
export async function verifyItem(client: PublicClient, config: Config, item: Hex): Promise<Verification> {
  const address = contractOf(config, 'ProductRegistry').address
  let view = (await client.readContract({ address, abi: productRegistryAbi, functionName: 'verify', args: [item] })) as ItemView
  let merkle = false
  if (!view.registered) {
    // Not in item storage: it may belong to a Merkle-committed lot. The proof comes from the
    // server, and the contract decides whether it holds, so the server is trusted with nothing.
    const proven = await verifyByProof(client, config, address, item)
    if (proven) {
      view = proven
      merkle = true
    }
  }
  const result: Verification = { item, verdict: verdictOf(view), view, merkle }
  if (view.registered) {
    result.gtin = view.gtin.toString().padStart(14, '0')
    result.lot = fromBytes32(view.lotCode)
    result.expiry = yymmddToDate(view.expiry)
  }
  return result
}

/** Brand `brand` as the registry holds it (its name and GS1 company prefixes). */
export async function brandView(client: PublicClient, config: Config, brand: bigint): Promise<BrandView> {
  const address = contractOf(config, 'ProductRegistry').address
  return (await client.readContract({ address, abi: productRegistryAbi, functionName: 'brand', args: [brand] })) as BrandView
}

interface ProofJson {
  gtin: string
  serial: Hex
  lot: Hex
  root: Hex
  proof: Hex[]
}

async function verifyByProof(client: PublicClient, config: Config, address: Address, item: Hex): Promise<ItemView | undefined> {
  if (!config.proofs) return undefined
  let found: ProofJson | null
  try {
    const response = await fetch(`${config.proofs}${item.toLowerCase()}.json`, { cache: 'no-store' })
    if (!response.ok) return undefined
    found = (await response.json()) as ProofJson | null
  } catch {
    return undefined
  }
  if (!found) return undefined
  const merkleItem = { gtin: BigInt(found.gtin), serial: found.serial, lot: found.lot, root: found.root, proof: found.proof }
  const view = (await client.readContract({
    address,
    abi: productRegistryAbi,
    functionName: 'verifyMerkle',
    args: [merkleItem],
  })) as ItemView
  return view.registered ? view : undefined
}

/** The product's name, from the `name` parameter of the URI its brand registered it with (if any). */
export async function productName(client: PublicClient, config: Config, gtin: string): Promise<string | undefined> {
  const registry = contractOf(config, 'ProductRegistry')
  const event = getAbiItem({ abi: productRegistryAbi, name: 'ProductRegistered' }) as AbiEvent
  const logs = await logReader(client, config).get({ address: registry.address, event, args: { gtin: BigInt(gtin) }, fromBlock: registry.block })
  const uri = (logs[0] as unknown as { args?: { uri?: string } } | undefined)?.args?.uri
  if (!uri) return undefined
  try {
    return new URL(uri.replace(/^[a-z0-9+.-]+:\/\//i, 'http://x/')).searchParams.get('name') ?? undefined
  } catch {
    return undefined
  }
}

/** The brand that registered product class `gtin` (GTIN-14 digits), undefined when none did. */
export async function brandOfGtin(client: PublicClient, config: Config, gtin: string): Promise<bigint | undefined> {
  const address = contractOf(config, 'ProductRegistry').address
  const view = (await client.readContract({ address, abi: productRegistryAbi, functionName: 'product', args: [BigInt(gtin)] })) as { brand: number | bigint }
  return BigInt(view.brand) === 0n ? undefined : BigInt(view.brand)
}
