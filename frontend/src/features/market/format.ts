/** Amounts, times and names as people read them on the market sections and merchant pages. */
import { formatUnits } from 'viem'
import type { Currency, PriceType } from '../../chain/guarantee'

/** Most decimals an amount shows; a longer one is rounded and marked "≈" (the exact value in a title). */
const MAX_DECIMALS = 6

export interface Amount {
  /** "0.133 ETH", "≈ 0.333333 USDC". */
  text: string
  /** The exact decimal amount without symbol. */
  exact: string
  /** For the chart: the amount as a number (display only). */
  value: number
}

export function formatAmount(units: bigint, currency: Currency): Amount {
  const exact = formatUnits(units, currency.decimals)
  const fraction = exact.split('.')[1] ?? ''
  let shown = exact
  let approx = false
  if (fraction.length > MAX_DECIMALS) {
    const scale = 10n ** BigInt(currency.decimals - MAX_DECIMALS)
    const rounded = (units + scale / 2n) / scale
    shown = formatUnits(rounded, MAX_DECIMALS)
    approx = true
  }
  return { text: `${approx ? '≈ ' : ''}${shown} ${currency.symbol}`, exact, value: Number(exact) }
}

export const PRICE_TYPE_TEXT: Record<PriceType, string> = {
  regular: 'Regular price',
  promotion: 'Promotion',
  clearance: 'Clearance',
  'limited-quantity': 'Limited quantity',
  'price-error': 'Declared a price error',
}

export const KIND_TEXT: Record<string, string> = {
  'online-shop': 'Online shop',
  store: 'Store',
  marketplace: 'Marketplace shop',
  app: 'App',
}

const KIND_SHORT: Record<string, string> = { 'online-shop': 'Online', store: 'Store', marketplace: 'Marketplace', app: 'App' }

/** A channel kind in one word, for chart labels. */
export function kindShort(kind: string): string {
  return KIND_SHORT[kind] ?? kindText(kind)
}

export function kindText(kind: string): string {
  return KIND_TEXT[kind] ?? `Channel kind ${kind}`
}

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })

/** "1 Dec 2026" (UTC). */
export function formatDate(seconds: number): string {
  return DATE.format(new Date(seconds * 1000))
}

/** "2026-12-01 10:04 UTC", with seconds when `withSeconds`. */
export function formatDateTime(seconds: number, withSeconds = false): string {
  const iso = new Date(seconds * 1000).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, withSeconds ? 19 : 16)} UTC`
}

export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString()
}

/** "30 days", "12 hours", "90 minutes". */
export function formatDuration(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`
  if (seconds % 86_400 === 0) return plural(seconds / 86_400, 'day')
  if (seconds % 3_600 === 0) return plural(seconds / 3_600, 'hour')
  return plural(Math.round(seconds / 60), 'minute')
}

export function merchantHref(channel: number): string {
  return `?merchant=${channel}`
}

/** "0x1234…abcd": the page's one way to shorten an address. */
export { short as shortAddress } from '../../wallet/widget'
