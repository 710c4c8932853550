/**
 * Which addresses on chain are the connected person's: decided here, for every reader that asks
 * "is this mine?" and every write that must be signed by the right one.
 *
 * They are the derived addresses of ./shopper.ts, never the wallet's own. Purchase addresses are
 * numbered per retailer, so the person's purchases are found as src/o2ochain/shopper/_shopper.py
 * `ShopperView.purchases` finds them: for each retailer (1 to retailerCount), the purchases of
 * addresses 0..19, then of the next 20 while the last window had one (the "gap limit", GAP).
 * Each window of every retailer is one PurchaseRecorded getLogs on the buyer topic (at most 100
 * addresses a request; viem batches them into one HTTP round trip). An item's address is derived
 * from the item id, so it is known where the item is (its page); a consent address from the
 * data user's address (config.json `dataUsers`).
 */
import type { Address, Hex } from 'viem'
import type { PrivateKeyAccount } from 'viem/accounts'
import type { GuaranteeReader, RecordedPurchase } from '../chain/guarantee'
import { GAP } from './shopper'
import type { Connection } from './wallet'

/** A purchase recorded to one of the person's purchase addresses: which retailer's, and which number. */
export interface ShopperPurchase extends RecordedPurchase {
  index: number
}

export class ShopperAddresses {
  private found?: Promise<{ purchases: ShopperPurchase[]; used: Map<number, Set<number>>; retailers: number }>

  constructor(
    readonly connection: Connection,
    private readonly guarantee: GuaranteeReader,
  ) {}

  /** Every purchase recorded to one of the person's purchase addresses, oldest first (read once). */
  async purchases(gtin?: bigint): Promise<ShopperPurchase[]> {
    const { purchases } = await this.scan()
    return gtin === undefined ? purchases : purchases.filter((p) => p.purchase.gtin === gtin)
  }

  /** How many retailers there are (numbered 1 to this). */
  async retailers(): Promise<number> {
    return (await this.scan()).retailers
  }

  /** The first purchase address of `retailer` that no purchase was recorded to: the one to show at the till. */
  async next(retailer: number): Promise<{ index: number; account: PrivateKeyAccount }> {
    const used = (await this.scan()).used.get(retailer) ?? new Set<number>()
    let index = 0
    while (used.has(index)) index += 1
    return { index, account: this.connection.shopper.purchaseAccount(retailer, index) }
  }

  /** The person's addresses that may hold a ticket: their purchase addresses with a purchase, and the addresses of `items`. */
  async holders(items: Hex[] = []): Promise<Address[]> {
    const buyers = new Set((await this.purchases()).map((p) => p.purchase.buyer))
    return [...buyers, ...items.map((item) => this.connection.shopper.itemAccount(item).address)]
  }

  /** The derived account at `holder` (the buyer of a purchase, the owner of an item), or undefined when it is not the person's. */
  signerFor(holder: Address): PrivateKeyAccount | undefined {
    return this.connection.shopper.known(holder)
  }

  private scan() {
    this.found ??= this.read()
    return this.found
  }

  private async read(): Promise<{ purchases: ShopperPurchase[]; used: Map<number, Set<number>>; retailers: number }> {
    const shopper = this.connection.shopper
    const retailers = await this.guarantee.retailerCount()
    const used = new Map<number, Set<number>>()
    const purchases: ShopperPurchase[] = []
    let open = Array.from({ length: retailers }, (_, i) => ({ retailer: i + 1, start: 0 }))
    while (open.length > 0) {
      const window = open.flatMap(({ retailer, start }) =>
        Array.from({ length: GAP }, (_, i) => ({ retailer, index: start + i, address: shopper.purchaseAccount(retailer, start + i).address })),
      )
      const byAddress = new Map(window.map((w) => [w.address.toLowerCase(), w]))
      const hits = new Set<number>()
      for (const bought of await this.guarantee.purchasesOf(window.map((w) => w.address))) {
        const at = byAddress.get(bought.purchase.buyer.toLowerCase())
        if (!at) continue
        purchases.push({ ...bought, index: at.index })
        hits.add(at.retailer)
        let numbers = used.get(at.retailer)
        if (!numbers) used.set(at.retailer, (numbers = new Set()))
        numbers.add(at.index)
      }
      // A retailer's numbering goes on while its last window had a purchase (as the library's).
      open = open.filter((o) => hits.has(o.retailer)).map((o) => ({ retailer: o.retailer, start: o.start + GAP }))
    }
    purchases.sort((a, b) => Number(a.block - b.block))
    return { purchases, used, retailers }
  }
}
