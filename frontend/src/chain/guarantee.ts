/**
 * PriceGuarantee reads for the page (contracts/interfaces/IPriceGuarantee.sol): a retailer's
 * channels and currency, the prices its channels published for a GTIN (from PricePublished and
 * PriceEnded, as src/o2ochain/guarantee/_reader.py `GuaranteeReader.published_prices` assembles them),
 * the guarantee policy a purchase made at a given time gets (and the changes a retailer announced
 * ahead), its pool (what is set aside for earlier purchases and what is free), and a buyer's
 * recorded purchases with the cover each one got and what was paid on it.
 *
 * A price the index listed is shown only as the contract's `price` view states it (published, at
 * that price, of that type, until then, ended when): a row the index forged or shifted is not a
 * recorded price, and is counted out loud rather than shown. What a purchase is owed is never
 * taken from a list: each claim is simulated on chain first (features/account/page.ts).
 */
import { erc20Abi, getAbiItem, zeroAddress, type AbiEvent, type Address, type Hex, type PublicClient } from 'viem'
import { priceGuaranteeAbi } from './abi'
import { contractOf, type Config } from './config'
import { fromIndex, logReader, type EventLog, type LogReader } from './logs'

/** Price types by their number on chain (PRICE_* in contracts/Types.sol). */
export const PRICE_TYPES = ['regular', 'promotion', 'clearance', 'limited-quantity', 'price-error'] as const
export type PriceType = (typeof PRICE_TYPES)[number]
/** Channel kinds by their number on chain (CHANNEL_* in contracts/Types.sol). */
export const CHANNEL_KINDS: Record<number, string> = { 1: 'online-shop', 2: 'store', 3: 'marketplace', 4: 'app' }
/** A published price with no end of its own: it stands until the channel ends it. */
export const UNTIL_ENDED = 2 ** 40 - 1
/**
 * contracts/Types.sol PAYOUT_DELAY (not exposed by a view): compensation for a purchase is paid
 * from `recordedAt + PAYOUT_DELAY` until `purchasedAt + window + PAYOUT_DELAY` (inclusive).
 */
export const PAYOUT_DELAY = 86_400

const publishedEvent = getAbiItem({ abi: priceGuaranteeAbi, name: 'PricePublished' }) as AbiEvent
const endedEvent = getAbiItem({ abi: priceGuaranteeAbi, name: 'PriceEnded' }) as AbiEvent
const channelAddedEvent = getAbiItem({ abi: priceGuaranteeAbi, name: 'ChannelAdded' }) as AbiEvent
const purchaseRecordedEvent = getAbiItem({ abi: priceGuaranteeAbi, name: 'PurchaseRecorded' }) as AbiEvent
const compensationPaidEvent = getAbiItem({ abi: priceGuaranteeAbi, name: 'CompensationPaid' }) as AbiEvent
const policySetEvent = getAbiItem({ abi: priceGuaranteeAbi, name: 'PolicySet' }) as AbiEvent

export interface Channel {
  id: number
  retailer: number
  /** online-shop, store, marketplace, app (or the number of an unknown kind). */
  kind: string
  /** The name its retailer gave it when adding it (logged on chain). */
  name: string
}

export interface Currency {
  address: Address
  native: boolean
  symbol: string
  decimals: number
}

/** A price a channel published on chain. Times are unix seconds of chain time. */
export interface Offer {
  retailer: number
  channel: number
  gtin: bigint
  price: bigint
  priceType: PriceType
  validFrom: number
  validUntil: number
  /** When the channel ended it early (exclusive), 0 when it did not. */
  endedAt: number
  block: bigint
}

/** The offers of a list, and how many prices the index listed that the chain does not hold (left out). */
export type Offers = Offer[] & { unconfirmed: number }

/** When an offer stopped (exclusive): its own end, or when it was ended early. */
export function offerUntil(offer: Offer): number {
  return offer.endedAt ? Math.min(offer.validUntil, offer.endedAt) : offer.validUntil
}

export function isLive(offer: Offer, now: number): boolean {
  return offer.validFrom <= now && now < offerUntil(offer)
}

export interface Policy {
  id: number
  /** Seconds after a purchase during which a lower offer counts; 0: no guarantee. */
  window: number
  toleranceBps: number
  toleranceAmount: bigint
  maxPayout: bigint
  excluded: PriceType[]
}

/**
 * A recorded purchase: the contract's `Purchase` struct (11 fields, in the order of
 * contracts/Types.sol), exactly as PurchaseRecorded logged it. A claim or a review passes it whole.
 */
export interface Purchase {
  retailer: number
  channel: number
  buyer: Address
  gtin: bigint
  quantity: number
  unitPrice: bigint
  purchasedAt: number
  receiptHash: Hex
  /** The policy in effect when it was bought (0: none). */
  policy: number
  /** What the pool set aside for it when it was recorded: the most its claims can pay (0: not covered). */
  cover: bigint
  recordedAt: number
}

export interface RecordedPurchase {
  /** PurchaseId: keccak256 of its Receipt (the first eight fields). */
  id: Hex
  purchase: Purchase
  block: bigint
}

/** A retailer's guarantee pool (RetailerView): `reserved` is the cover promised to recorded purchases. */
export interface Pool {
  balance: bigint
  reserved: bigint
  /** balance - reserved: what new purchases can be covered from (and all a withdrawal may take). */
  free: bigint
  /** An announced withdrawal (0 when none) and when it may be executed. */
  withdrawalAmount: bigint
  withdrawalAt: number
}

/** A policy record a retailer set that applies from a later time (a reduction announced ahead). */
export interface AnnouncedPolicy {
  since: number
  /** What a purchase from `since` gets, as the contract answers policyFor at that time; undefined: none. */
  policy: Policy | undefined
}

interface PublishedArgs {
  gtin: bigint
  channel: number
  price: bigint
  priceType: number
  validUntil: number
}
interface PriceView {
  published: boolean
  price: bigint
  priceType: number
  validUntil: number
  endedAt: number
  lodged: boolean
}
interface EndedArgs {
  channel: number
  gtin: bigint
  validFrom: number
  endedAt: number
  priceError: boolean
}
interface ChannelAddedArgs {
  retailer: number
  channel: number
  kind: number
  key: Address
  name: string
}
interface RetailerView {
  currency: Address
  balance: bigint
  reserved: bigint
  withdrawalAmount: bigint
  withdrawalTo: Address
  withdrawalAt: number
}
interface PolicyView {
  retailer: number
  since: number
  terms: { window: number; toleranceBps: number; toleranceAmount: bigint; maxPayout: bigint; excludedPriceTypes: number }
}
type PurchaseArgs = Purchase & { purchase: Hex }
interface CompensationArgs {
  purchase: Hex
  compensated: bigint
}
interface PolicySetArgs {
  since: number
}

/** The decoded arguments of a log read with an event of an untyped ABI. */
function argsOf<T>(log: unknown): T {
  return (log as { args: T }).args
}

export class GuaranteeReader {
  readonly address: Address
  private readonly fromBlock: bigint
  private readonly logs: LogReader
  private readonly channelCache = new Map<number, Promise<Channel | undefined>>()
  private readonly currencyCache = new Map<number, Promise<Currency>>()
  private readonly timestampCache = new Map<bigint, Promise<number>>()
  private readonly policyCache = new Map<number, Promise<Policy | undefined>>()
  private nowPromise?: Promise<number>

  constructor(
    private readonly client: PublicClient,
    config: Config,
  ) {
    const deployed = contractOf(config, 'PriceGuarantee')
    this.address = deployed.address
    this.fromBlock = deployed.block
    this.logs = logReader(client, config)
  }

  /** Chain time: the latest block's timestamp (what the contract compares with). */
  now(): Promise<number> {
    this.nowPromise ??= this.client.getBlock({ blockTag: 'latest' }).then((b) => Number(b.timestamp))
    return this.nowPromise
  }

  timestamp(block: bigint): Promise<number> {
    let found = this.timestampCache.get(block)
    if (!found) {
      found = this.client.getBlock({ blockNumber: block }).then((b) => Number(b.timestamp))
      this.timestampCache.set(block, found)
    }
    return found
  }

  /**
   * Every price published for `gtin` (on `channel`, or any), oldest first, with its end if ended.
   * The ones the index listed are as the contract's `price` view states them; those it does not
   * hold as published are left out and counted (`unconfirmed`).
   */
  async publishedPrices(gtin: bigint, channel?: number): Promise<Offers> {
    const args = channel === undefined ? { gtin } : { gtin, channel }
    const [ended, published] = await Promise.all([
      this.logs.get({ address: this.address, event: endedEvent, args, fromBlock: this.fromBlock }),
      this.logs.get({ address: this.address, event: publishedEvent, args, fromBlock: this.fromBlock }),
    ])
    const ends = new Map<string, { at: number; error: boolean }>()
    for (const log of ended) {
      const a = argsOf<EndedArgs>(log)
      ends.set(`${Number(a.channel)}:${BigInt(a.gtin)}:${Number(a.validFrom)}`, { at: Number(a.endedAt), error: a.priceError })
    }
    const channels = await this.channels([...new Set(published.map((log) => Number(argsOf<PublishedArgs>(log).channel)))])
    const offers = await Promise.all(
      published.map(async (log): Promise<(Offer & { log: EventLog }) | undefined> => {
        const a = argsOf<PublishedArgs>(log)
        const ch = channels.get(Number(a.channel))
        if (!ch || log.blockNumber === null) return undefined
        const validFrom = await this.timestamp(log.blockNumber)
        const end = ends.get(`${ch.id}:${BigInt(a.gtin)}:${validFrom}`)
        const typeNumber = end?.error ? PRICE_TYPES.indexOf('price-error') : Number(a.priceType)
        return {
          retailer: ch.retailer,
          channel: ch.id,
          gtin: BigInt(a.gtin),
          price: BigInt(a.price),
          priceType: PRICE_TYPES[typeNumber] ?? 'regular',
          validFrom,
          validUntil: Number(a.validUntil),
          endedAt: end?.at ?? 0,
          block: log.blockNumber,
          log,
        }
      }),
    )
    return this.asRecorded(offers.filter((o): o is Offer & { log: EventLog } => o !== undefined))
  }

  /**
   * `offers` as the chain records them: each one whose log the index gave is read back from the
   * `price` view at its (channel, GTIN, start), and shown with the view's price, type and end
   * when the view holds a published price there (a signed quote lodged there is not one), else
   * left out and counted. The contract holds one price per (channel, GTIN, start): a second row
   * at the same place is the same price, shown once.
   */
  private async asRecorded(offers: Array<Offer & { log: EventLog }>): Promise<Offers> {
    const views = await Promise.all(
      offers.map((o) =>
        fromIndex(o.log)
          ? (this.client.readContract({ address: this.address, abi: priceGuaranteeAbi, functionName: 'price', args: [o.channel, o.gtin, o.validFrom] }) as Promise<PriceView>).catch(
              () => undefined, // the node did not answer: not confirmed
            )
          : Promise.resolve(null),
      ),
    )
    const seen = new Set<string>()
    const out = Object.assign([] as Offer[], { unconfirmed: 0 })
    offers.forEach(({ log: _log, ...offer }, i) => {
      const view = views[i]
      const place = `${offer.channel}:${offer.gtin}:${offer.validFrom}`
      if (view === undefined || (view !== null && (!view.published || view.lodged))) {
        out.unconfirmed += 1
        return
      }
      if (seen.has(place)) return
      seen.add(place)
      if (view !== null) {
        offer.price = BigInt(view.price)
        offer.priceType = PRICE_TYPES[Number(view.priceType)] ?? 'regular'
        offer.validUntil = Number(view.validUntil)
        offer.endedAt = Number(view.endedAt)
      }
      out.push(offer)
    })
    return out
  }

  /** Channels by id, from their ChannelAdded logs (unknown ids are left out). */
  async channels(ids: number[]): Promise<Map<number, Channel>> {
    const missing = ids.filter((id) => !this.channelCache.has(id))
    if (missing.length > 0) {
      const logs = this.logs
        .get({ address: this.address, event: channelAddedEvent, args: { channel: missing }, fromBlock: this.fromBlock })
        .then((found) => found.map((log) => channelFrom(argsOf<ChannelAddedArgs>(log))))
      for (const id of missing) this.channelCache.set(id, logs.then((all) => all.find((c) => c.id === id)))
    }
    const found = new Map<number, Channel>()
    for (const id of ids) {
      const channel = await this.channelCache.get(id)
      if (channel) found.set(id, channel)
    }
    return found
  }

  async channel(id: number): Promise<Channel | undefined> {
    return (await this.channels([id])).get(id)
  }

  /** Every channel of `retailer`, in the order they were added. */
  async channelsOf(retailer: number): Promise<Channel[]> {
    const logs = await this.logs.get({ address: this.address, event: channelAddedEvent, args: { retailer }, fromBlock: this.fromBlock })
    const channels = logs.map((log) => channelFrom(argsOf<ChannelAddedArgs>(log)))
    for (const c of channels) if (!this.channelCache.has(c.id)) this.channelCache.set(c.id, Promise.resolve(c))
    return channels
  }

  /** The one currency `retailer` prices and pays in: the native coin or an ERC-20. */
  currency(retailer: number): Promise<Currency> {
    let found = this.currencyCache.get(retailer)
    if (!found) {
      found = this.readCurrency(retailer)
      this.currencyCache.set(retailer, found)
    }
    return found
  }

  private async readCurrency(retailer: number): Promise<Currency> {
    const view = (await this.client.readContract({
      address: this.address,
      abi: priceGuaranteeAbi,
      functionName: 'retailer',
      args: [retailer],
    })) as RetailerView
    if (view.currency === zeroAddress) {
      const native = this.client.chain?.nativeCurrency ?? { symbol: 'ETH', decimals: 18 }
      return { address: zeroAddress, native: true, symbol: native.symbol, decimals: native.decimals }
    }
    const [symbol, decimals] = await Promise.all([
      this.client.readContract({ address: view.currency, abi: erc20Abi, functionName: 'symbol' }),
      this.client.readContract({ address: view.currency, abi: erc20Abi, functionName: 'decimals' }),
    ])
    return { address: view.currency, native: false, symbol, decimals }
  }

  /** The policy a purchase of `gtin` from `retailer` made at `at` gets; undefined when none. */
  async policyFor(retailer: number, gtin: bigint, at: number): Promise<Policy | undefined> {
    const id = Number(
      await this.client.readContract({ address: this.address, abi: priceGuaranteeAbi, functionName: 'policyFor', args: [retailer, gtin, at] }),
    )
    return this.policy(id)
  }

  /** Policy record `id` (undefined for 0: none). */
  policy(id: number): Promise<Policy | undefined> {
    if (id === 0) return Promise.resolve(undefined)
    let found = this.policyCache.get(id)
    if (!found) {
      found = (this.client.readContract({ address: this.address, abi: priceGuaranteeAbi, functionName: 'policy', args: [id] }) as Promise<PolicyView>).then(
        (view) => {
          const t = view.terms
          const mask = Number(t.excludedPriceTypes)
          return {
            id,
            window: Number(t.window),
            toleranceBps: Number(t.toleranceBps),
            toleranceAmount: BigInt(t.toleranceAmount),
            maxPayout: BigInt(t.maxPayout),
            excluded: PRICE_TYPES.filter((_, i) => (mask >> i) & 1),
          }
        },
      )
      this.policyCache.set(id, found)
    }
    return found
  }

  /**
   * The policy changes `retailer` announced for `gtin` (its class record or its default) that
   * apply to purchases made after `now`, oldest first, each with what a purchase made then gets
   * (the contract's policyFor: a class record wins over the default). A reduction of coverage
   * takes effect only POLICY_NOTICE after it was set, so buyers see it coming here.
   */
  async announcedPolicies(retailer: number, gtin: bigint, now: number): Promise<AnnouncedPolicy[]> {
    const logs = await this.logs.get({ address: this.address, event: policySetEvent, args: { retailer, gtin: [gtin, 0n] }, fromBlock: this.fromBlock })
    const times = [...new Set(logs.map((log) => Number(argsOf<PolicySetArgs>(log).since)).filter((since) => since > now))].sort((a, b) => a - b)
    return Promise.all(times.map(async (since) => ({ since, policy: await this.policyFor(retailer, gtin, since) })))
  }

  /** The pool of `retailer`: its balance, what is reserved as cover of recorded purchases, and what is free. */
  async pool(retailer: number): Promise<Pool> {
    const view = (await this.client.readContract({ address: this.address, abi: priceGuaranteeAbi, functionName: 'retailer', args: [retailer] })) as RetailerView
    const balance = BigInt(view.balance)
    const reserved = BigInt(view.reserved)
    return { balance, reserved, free: balance - reserved, withdrawalAmount: BigInt(view.withdrawalAmount), withdrawalAt: Number(view.withdrawalAt) }
  }

  /**
   * Every purchase recorded for one of `buyers` (of `gtin` when given), oldest first, from
   * PurchaseRecorded: the whole struct a claim or a review passes.
   */
  async purchasesOf(buyers: Address[], gtin?: bigint): Promise<RecordedPurchase[]> {
    const chunks: Address[][] = []
    for (let start = 0; start < buyers.length; start += 100) chunks.push(buyers.slice(start, start + 100)) // topic lists stay short for public nodes
    const found = await Promise.all(
      chunks.map((chunk) => {
        const buyer = chunk.length === 1 ? chunk[0] : chunk
        const args = gtin === undefined ? { buyer } : { buyer, gtin }
        return this.logs.get({ address: this.address, event: purchaseRecordedEvent, args, fromBlock: this.fromBlock })
      }),
    )
    const logs = found.flat().sort((a, b) => Number((a.blockNumber ?? 0n) - (b.blockNumber ?? 0n)) || (a.logIndex ?? 0) - (b.logIndex ?? 0))
    return logs.map((log) => {
      const a = argsOf<PurchaseArgs>(log)
      return {
        id: a.purchase,
        block: log.blockNumber ?? 0n,
        purchase: {
          retailer: Number(a.retailer),
          channel: Number(a.channel),
          buyer: a.buyer,
          gtin: BigInt(a.gtin),
          quantity: Number(a.quantity),
          unitPrice: BigInt(a.unitPrice),
          purchasedAt: Number(a.purchasedAt),
          receiptHash: a.receiptHash,
          policy: Number(a.policy),
          cover: BigInt(a.cover),
          recordedAt: Number(a.recordedAt),
        },
      }
    })
  }

  /** How many retailers have registered (they are numbered 1 to this). */
  async retailerCount(): Promise<number> {
    return Number(await this.client.readContract({ address: this.address, abi: priceGuaranteeAbi, functionName: 'retailerCount' }))
  }

  /** What was paid so far on each of `purchases` (the latest CompensationPaid total; absent: nothing). */
  async compensated(purchases: Hex[]): Promise<Map<Hex, bigint>> {
    const paid = new Map<Hex, bigint>()
    for (let start = 0; start < purchases.length; start += 100) {
      // topic lists stay short for public nodes
      const chunk = purchases.slice(start, start + 100)
      const logs = await this.logs.get({ address: this.address, event: compensationPaidEvent, args: { purchase: chunk }, fromBlock: this.fromBlock })
      for (const log of logs) {
        const a = argsOf<CompensationArgs>(log)
        const total = BigInt(a.compensated)
        if (total > (paid.get(a.purchase) ?? 0n)) paid.set(a.purchase, total)
      }
    }
    return paid
  }
}

/** When compensation for `p` can be paid: from `opensAt` (a day after it was recorded) until `closesAt` (inclusive). */
export function claimPeriod(p: Purchase, policy: Policy | undefined): { opensAt: number; closesAt: number } {
  return { opensAt: p.recordedAt + PAYOUT_DELAY, closesAt: p.purchasedAt + (policy?.window ?? 0) + PAYOUT_DELAY }
}

/**
 * Why a purchase has the cover it has: `covered`, or why not: no guarantee (no policy, or one with
 * no window), its window had closed when it was recorded (a late receipt), or the pool had no
 * free funds then (IPriceGuarantee: cover = min(maxPayout, (unitPrice - 1) x quantity, free)).
 */
export function coverStatus(p: Purchase, policy: Policy | undefined): 'covered' | 'no-guarantee' | 'recorded-late' | 'pool-empty' {
  if (p.cover > 0n) return 'covered'
  if (!policy || policy.window === 0) return 'no-guarantee'
  if (p.recordedAt > p.purchasedAt + policy.window) return 'recorded-late'
  return 'pool-empty'
}

function channelFrom(a: ChannelAddedArgs): Channel {
  return { id: Number(a.channel), retailer: Number(a.retailer), kind: CHANNEL_KINDS[Number(a.kind)] ?? String(a.kind), name: a.name }
}
