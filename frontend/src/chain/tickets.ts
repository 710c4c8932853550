/**
 * Proofs of buying, as the ReviewBoard asks for them (contracts/interfaces/IReviewBoard.sol).
 *
 * A vote or a report carries a TICKET {item, purchase} showing that the caller bought what the
 * review is about: for a product review, an item of that product the caller claimed at its first
 * sale (item != 0), or the caller's purchase of that product from a seller the product's brand
 * authorised (item == 0); for a merchant review, the caller's purchase from the merchant's
 * retailer. Anything else is refused (ReviewTicketUnrelated, ReviewSellerNotAuthorised). A review
 * of a product on a purchase needs the same authorisation. The page finds the connected person's
 * tickets here, by the addresses the chain knows them by (wallet/addresses.ts: the derived
 * purchase addresses with a purchase, and the addresses of the items at hand), and
 * checks each the way the contract will.
 */
import { encodeAbiParameters, getAbiItem, keccak256, zeroAddress, zeroHash, type AbiEvent, type Address, type Hex, type PublicClient } from 'viem'
import { productRegistryAbi, reviewBoardAbi } from './abi'
import { contractOf, type Config } from './config'
import { logReader, type LogReader } from './logs'
import type { GuaranteeReader, Purchase, RecordedPurchase } from './guarantee'

export interface Ticket {
  item: Hex
  purchase: Purchase
}

export interface FoundTicket {
  ticket: Ticket
  /** The address that must send the vote or report: the item's claimer or the purchase's buyer. */
  holder: Address
  kind: 'item' | 'purchase'
}

/** What a review is about, which the ticket must match: a product (by GTIN), or a shop's retailer. */
export type TicketFor = { gtin: bigint } | { retailer: number }

/** The purchase of an item ticket: all zeros (the contract reads only `item`). */
const NO_PURCHASE: Purchase = {
  retailer: 0,
  channel: 0,
  buyer: zeroAddress,
  gtin: 0n,
  quantity: 0,
  unitPrice: 0n,
  purchasedAt: 0,
  receiptHash: zeroHash,
  policy: 0,
  cover: 0n,
  recordedAt: 0,
}

const claimedEvent = getAbiItem({ abi: productRegistryAbi, name: 'ItemClaimed' }) as AbiEvent

/** `keccak256(abi.encode(bytes32 ticket, uint8 subject))`, as ReviewBoard.reviewIdOf. */
export function reviewIdOf(ticket: Hex, subject: number): Hex {
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint8' }], [ticket, subject]))
}

/** Whether `gtin`'s brand authorised `retailer` to sell it (brand 0: the GTIN is not registered). */
export interface SellerCheck {
  brand: number
  authorised: boolean
}

export class TicketReader {
  private readonly registry: Address
  private readonly registryBlock: bigint
  private readonly board: Address
  private readonly logs: LogReader
  private readonly brands = new Map<bigint, Promise<number>>()
  private readonly sellers = new Map<string, Promise<boolean>>()
  private items?: Promise<Array<{ item: Hex; holder: Address; gtin: bigint }>>
  private bought?: Promise<RecordedPurchase[]>

  constructor(
    private readonly client: PublicClient,
    config: Config,
    private readonly guarantee: GuaranteeReader,
  ) {
    const registry = contractOf(config, 'ProductRegistry')
    this.registry = registry.address
    this.registryBlock = registry.block
    this.board = contractOf(config, 'ReviewBoard').address
    this.logs = logReader(client, config)
  }

  /** The brand that registered `gtin` in the product registry, 0 when none did. */
  brandOf(gtin: bigint): Promise<number> {
    let found = this.brands.get(gtin)
    if (!found) {
      found = (this.client.readContract({ address: this.registry, abi: productRegistryAbi, functionName: 'product', args: [gtin] }) as Promise<{ brand: number }>).then(
        (view) => Number(view.brand),
      )
      this.brands.set(gtin, found)
    }
    return found
  }

  /** ReviewBoard.isSellerAuthorised for the brand of `gtin` and `retailer`. */
  async seller(retailer: number, gtin: bigint): Promise<SellerCheck> {
    const brand = await this.brandOf(gtin)
    if (brand === 0) return { brand, authorised: false }
    const key = `${brand}:${retailer}`
    let found = this.sellers.get(key)
    if (!found) {
      found = this.client.readContract({ address: this.board, abi: reviewBoardAbi, functionName: 'isSellerAuthorised', args: [brand, retailer] }) as Promise<boolean>
      this.sellers.set(key, found)
    }
    return { brand, authorised: await found }
  }

  /** The items one of `holders` claimed at their first sale and still holds the claim of, with their GTIN. */
  async claimedItems(holders: Address[]): Promise<Array<{ item: Hex; holder: Address; gtin: bigint }>> {
    if (holders.length === 0) return []
    const logs = await this.logs.get({
      address: this.registry,
      event: claimedEvent,
      args: { owner: holders.length === 1 ? holders[0] : holders },
      fromBlock: this.registryBlock,
    })
    const items = [...new Set(logs.map((log) => (log as unknown as { args: { item: Hex } }).args.item))]
    const views = await Promise.all(
      items.map(
        (item) =>
          this.client.readContract({ address: this.registry, abi: productRegistryAbi, functionName: 'verify', args: [item] }) as Promise<{ claimedBy: Address; gtin: bigint }>,
      ),
    )
    const mine = new Set(holders.map((h) => h.toLowerCase()))
    return items.flatMap((item, i) => (mine.has(views[i].claimedBy.toLowerCase()) ? [{ item, holder: views[i].claimedBy, gtin: BigInt(views[i].gtin) }] : []))
  }

  /**
   * The ticket of the person known by `holders` for a vote on, or a report of, a review of `about`:
   * an item of the product they claimed, else their latest purchase of it from a seller the
   * brand authorised; for a merchant review, their latest purchase from its retailer. Undefined
   * when they have none (the contract would refuse their vote).
   */
  async find(holders: Address[], about: TicketFor): Promise<FoundTicket | undefined> {
    this.items ??= this.claimedItems(holders)
    this.bought ??= this.guarantee.purchasesOf(holders)
    const [items, bought] = await Promise.all([this.items, this.bought])
    if ('retailer' in about) {
      const p = [...bought].reverse().find((b) => b.purchase.retailer === about.retailer)
      return p && { ticket: { item: zeroHash, purchase: p.purchase }, holder: p.purchase.buyer, kind: 'purchase' }
    }
    const item = items.find((i) => i.gtin === about.gtin)
    if (item) return { ticket: { item: item.item, purchase: NO_PURCHASE }, holder: item.holder, kind: 'item' }
    for (const p of [...bought].reverse()) {
      if (p.purchase.gtin === about.gtin && (await this.seller(p.purchase.retailer, p.purchase.gtin)).authorised) {
        return { ticket: { item: zeroHash, purchase: p.purchase }, holder: p.purchase.buyer, kind: 'purchase' }
      }
    }
    return undefined
  }
}
