/**
 * PriceGuarantee reads for the page (contracts/interfaces/IPriceGuarantee.sol): a retailer's
 * channels and currency, the prices its channels published for a GTIN (from PricePublished and
 * PriceEnded, as src/o2ochain/guarantee.py `GuaranteeReader.published_prices` assembles them) and
 * the guarantee policy a purchase made now would get.
 */
import { erc20Abi, getAbiItem, zeroAddress, type AbiEvent, type Address, type PublicClient } from 'viem'
import { priceGuaranteeAbi } from './abi'
import { contractOf, type Config } from './config'

/** Price types by their number on chain (PRICE_* in contracts/Types.sol). */
export const PRICE_TYPES = ['regular', 'promotion', 'clearance', 'limited-quantity', 'price-error'] as const
export type PriceType = (typeof PRICE_TYPES)[number]
/** Channel kinds by their number on chain (CHANNEL_* in contracts/Types.sol). */
export const CHANNEL_KINDS: Record<number, string> = { 1: 'online-shop', 2: 'store', 3: 'marketplace', 4: 'app' }
/** A published price with no end of its own: it stands until the channel ends it. */
export const UNTIL_ENDED = 2 ** 40 - 1

const publishedEvent = getAbiItem({ abi: priceGuaranteeAbi, name: 'PricePublished' }) as AbiEvent
const endedEvent = getAbiItem({ abi: priceGuaranteeAbi, name: 'PriceEnded' }) as AbiEvent
const channelAddedEvent = getAbiItem({ abi: priceGuaranteeAbi, name: 'ChannelAdded' }) as AbiEvent

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

interface PublishedArgs {
  gtin: bigint
  channel: number
  price: bigint
  priceType: number
  validUntil: number
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
}
interface PolicyView {
  retailer: number
  terms: { window: number; toleranceBps: number; toleranceAmount: bigint; maxPayout: bigint; excludedPriceTypes: number }
}

/** The decoded arguments of a log read with an event of an untyped ABI. */
function argsOf<T>(log: unknown): T {
  return (log as { args: T }).args
}

export class GuaranteeReader {
  readonly address: Address
  private readonly fromBlock: bigint
  private readonly channelCache = new Map<number, Promise<Channel | undefined>>()
  private readonly currencyCache = new Map<number, Promise<Currency>>()
  private readonly timestampCache = new Map<bigint, Promise<number>>()
  private nowPromise?: Promise<number>

  constructor(
    private readonly client: PublicClient,
    config: Config,
  ) {
    const deployed = contractOf(config, 'PriceGuarantee')
    this.address = deployed.address
    this.fromBlock = deployed.block
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

  /** Every price published for `gtin` (on `channel`, or any), oldest first, with its end if ended. */
  async publishedPrices(gtin: bigint, channel?: number): Promise<Offer[]> {
    const args = channel === undefined ? { gtin } : { gtin, channel }
    const [ended, published] = await Promise.all([
      this.client.getLogs({ address: this.address, event: endedEvent, args, fromBlock: this.fromBlock }),
      this.client.getLogs({ address: this.address, event: publishedEvent, args, fromBlock: this.fromBlock }),
    ])
    const ends = new Map<string, { at: number; error: boolean }>()
    for (const log of ended) {
      const a = argsOf<EndedArgs>(log)
      ends.set(`${Number(a.channel)}:${BigInt(a.gtin)}:${Number(a.validFrom)}`, { at: Number(a.endedAt), error: a.priceError })
    }
    const channels = await this.channels([...new Set(published.map((log) => Number(argsOf<PublishedArgs>(log).channel)))])
    const offers = await Promise.all(
      published.map(async (log): Promise<Offer | undefined> => {
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
        }
      }),
    )
    return offers.filter((o): o is Offer => o !== undefined)
  }

  /** Channels by id, from their ChannelAdded logs (unknown ids are left out). */
  async channels(ids: number[]): Promise<Map<number, Channel>> {
    const missing = ids.filter((id) => !this.channelCache.has(id))
    if (missing.length > 0) {
      const logs = this.client
        .getLogs({ address: this.address, event: channelAddedEvent, args: { channel: missing }, fromBlock: this.fromBlock })
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
    const logs = await this.client.getLogs({ address: this.address, event: channelAddedEvent, args: { retailer }, fromBlock: this.fromBlock })
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
    if (id === 0) return undefined
    const view = (await this.client.readContract({ address: this.address, abi: priceGuaranteeAbi, functionName: 'policy', args: [id] })) as PolicyView
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
  }
}

function channelFrom(a: ChannelAddedArgs): Channel {
  return { id: Number(a.channel), retailer: Number(a.retailer), kind: CHANNEL_KINDS[Number(a.kind)] ?? String(a.kind), name: a.name }
}
